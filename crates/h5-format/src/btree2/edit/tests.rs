use super::*;
use crate::error::{Error, ErrorKind, Result};
use crate::reader::Sizes;
use crate::writer::Stored;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;

const SIZES: Sizes = Sizes::DEFAULT;
const GROUPS_LATEST: &[u8] = include_bytes!("../../../../../fixtures/files/groups_latest.h5");
const CHUNKIDX_LATEST: &[u8] = include_bytes!("../../../../../fixtures/files/chunkidx_latest.h5");
const ATTRS_LATEST: &[u8] = include_bytes!("../../../../../fixtures/files/attrs_latest.h5");

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// A record type under test: how to make the record of a key, and read the key back.
#[derive(Clone, Copy)]
struct Kind {
    record_type: u8,
    record_size: u16,
    node_size: u32,
    make: fn(u64) -> Vec<u8>,
    key: fn(&[u8]) -> u64,
}

fn le(b: &[u8]) -> u64 {
    crate::reader::le_uint(b)
}

/// Type 5: name hash + 7-byte heap ID (keys are distinct hashes).
const LINK_NAME: Kind = Kind {
    record_type: 5,
    record_size: 11,
    node_size: DENSE_NODE_SIZE,
    make: |k| {
        let mut v = (k as u32).to_le_bytes().to_vec();
        v.extend_from_slice(&(k.wrapping_mul(7) | 1).to_le_bytes()[..7]);
        v
    },
    key: |r| le(&r[..4]),
};

/// Type 6: creation order + 7-byte heap ID.
const LINK_ORDER: Kind = Kind {
    record_type: 6,
    record_size: 15,
    node_size: DENSE_NODE_SIZE,
    make: |k| {
        let mut v = k.to_le_bytes().to_vec();
        v.extend_from_slice(&[0, 1, 2, 3, 4, 5, k as u8]);
        v
    },
    key: |r| le(&r[..8]),
};

/// Type 10, rank 2: address + two scaled offsets (key = s0 · 2^32 + s1).
const CHUNK: Kind = Kind {
    record_type: 10,
    record_size: 24,
    node_size: CHUNK_NODE_SIZE,
    make: |k| {
        let mut v = (0x10_0000 + k * 64).to_le_bytes().to_vec();
        v.extend_from_slice(&(k >> 32).to_le_bytes());
        v.extend_from_slice(&(k & 0xffff_ffff).to_le_bytes());
        v
    },
    key: |r| (le(&r[8..16]) << 32) | le(&r[16..24]),
};

/// Type 1: huge object address, length, ID.
const HUGE: Kind = Kind {
    record_type: 1,
    record_size: 24,
    node_size: DENSE_NODE_SIZE,
    make: |k| {
        let mut v = (0x4000 + k * 8).to_le_bytes().to_vec();
        v.extend_from_slice(&(k + 5000).to_le_bytes());
        v.extend_from_slice(&k.to_le_bytes());
        v
    },
    key: |r| le(&r[16..24]),
};

/// Type 8: heap ID, flags, creation order, name hash.
const ATTR_NAME: Kind = Kind {
    record_type: 8,
    record_size: 17,
    node_size: DENSE_NODE_SIZE,
    make: |k| {
        let mut v = (k * 3 + 1).to_le_bytes().to_vec();
        v.push(0);
        v.extend_from_slice(&(k as u32 ^ 0x55).to_le_bytes());
        v.extend_from_slice(&(k as u32).to_le_bytes());
        v
    },
    key: |r| le(&r[13..17]),
};

fn cmp_key(kind: Kind, k: u64) -> impl FnMut(&[u8]) -> Result<Ordering> {
    move |r: &[u8]| Ok((kind.key)(r).cmp(&k))
}

fn new_tree(kind: Kind) -> TreeEdit {
    TreeEdit::new(
        kind.record_type,
        kind.record_size,
        kind.node_size,
        SPLIT_PERCENT,
        MERGE_PERCENT,
        SIZES,
    )
    .unwrap()
}

/// A file image in memory: a bump allocator that fills fresh space with garbage,
/// and (when `strict`) the set of extents it handed out, to catch double frees, leaks
/// and writes outside allocated space.
struct Disk {
    buf: Vec<u8>,
    live: BTreeMap<u64, u64>,
    strict: bool,
}

impl Disk {
    fn new() -> Disk {
        Disk {
            buf: vec![0; 0x100],
            live: BTreeMap::new(),
            strict: true,
        }
    }

    fn from_file(file: &[u8]) -> Disk {
        Disk {
            buf: file.to_vec(),
            live: BTreeMap::new(),
            strict: false,
        }
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let a = self.buf.len() as u64;
        self.buf.resize(self.buf.len() + size as usize, 0xcc);
        self.live.insert(a, size);
        a
    }

    fn apply(&mut self, st: &Stored) {
        for (a, bytes) in &st.writes {
            let a = *a as usize;
            if self.strict {
                let size = self.live.get(&(a as u64)).copied();
                assert!(
                    size.is_some_and(|s| s as usize >= bytes.len()),
                    "write at {a:#x}"
                );
            }
            self.buf[a..a + bytes.len()].copy_from_slice(bytes);
        }
        for &(a, size) in &st.freed {
            if self.strict {
                assert_eq!(self.live.remove(&a), Some(size), "free of {a:#x}");
            } else {
                self.live.remove(&a);
            }
            let a = a as usize;
            self.buf[a..a + size as usize].fill(0xee);
        }
    }

    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let a = addr as usize;
        self.buf
            .get(a..a.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or(Error::new("test file", addr, ErrorKind::Truncated))
    }

    fn load(&self, addr: u64) -> Result<TreeEdit> {
        TreeEdit::load(addr, SIZES, 1 << 20, &mut |a, n| self.read(a, n))
    }
}

fn store(tree: &mut TreeEdit, disk: &mut Disk) -> u64 {
    let (addr, st) = tree.store(None, &mut |n| disk.alloc(n)).unwrap();
    disk.apply(&st);
    addr
}

/// What a walk with the existing decoders finds.
struct Walk {
    header: Header,
    records: Vec<Vec<u8>>,
    /// Node addresses, children before parents.
    nodes: Vec<u64>,
    /// `(address, bytes up to the checksum)` of every node.
    used: Vec<(u64, usize)>,
}

/// Walk the tree at `addr` in `file` with the decoders, checking it is a valid tree: every
/// count and total right, leaves at one depth, no empty node but the root, zero tails.
fn walk(file: &[u8], addr: u64) -> Walk {
    let header = Header::decode(&file[addr as usize..], addr, SIZES).unwrap();
    let mut w = Walk {
        header: header.clone(),
        records: vec![],
        nodes: vec![],
        used: vec![],
    };
    match header.root_addr {
        None => {
            assert_eq!((header.depth, header.root_nrecords), (0, 0));
            assert_eq!(header.total_records, 0);
        }
        Some(root) => {
            if header.depth > 0 {
                assert!(header.root_nrecords > 0, "internal root without records");
            }
            let total = walk_node(
                file,
                &header,
                root,
                header.depth,
                header.root_nrecords.into(),
                &mut w,
            );
            assert_eq!(total, header.total_records);
        }
    }
    assert_eq!(w.records.len() as u64, header.total_records);
    w
}

fn walk_node(file: &[u8], h: &Header, addr: u64, level: u16, n: u64, w: &mut Walk) -> u64 {
    let buf = &file[addr as usize..addr as usize + h.node_size as usize];
    let rs = u64::from(h.record_size);
    let used = if level == 0 {
        let node = decode_leaf(buf, addr, SIZES, h, n).unwrap();
        w.records.extend(node.records.iter().map(|r| r.to_vec()));
        6 + n * rs + 4
    } else {
        let node = decode_internal(buf, addr, SIZES, h, level, n).unwrap();
        assert_eq!(node.children.len() as u64, n + 1);
        for (i, c) in node.children.iter().enumerate() {
            assert!(c.nrecords > 0, "empty child of {addr:#x}");
            let below = walk_node(file, h, c.addr, level - 1, c.nrecords, w);
            assert_eq!(below, c.total_records.unwrap_or(c.nrecords));
            assert_eq!(c.total_records.is_some(), level > 1);
            if let Some(r) = node.records.get(i) {
                w.records.push(r.to_vec());
            }
        }
        let ptr = h.geometry.pointer_size(level).unwrap() as u64;
        6 + n * rs + (n + 1) * ptr + 4
    };
    assert!(
        buf[used as usize..].iter().all(|&b| b == 0),
        "tail of {addr:#x}"
    );
    w.nodes.push(addr);
    w.used.push((addr, used as usize));
    // Subtree total: records counted so far below and in this node.
    let mut total = 0;
    let mut stack = vec![(addr, level, n)];
    while let Some((a, l, k)) = stack.pop() {
        total += k;
        if l > 0 {
            let b = &file[a as usize..a as usize + h.node_size as usize];
            let node = decode_internal(b, a, SIZES, h, l, k).unwrap();
            stack.extend(node.children.iter().map(|c| (c.addr, l - 1, c.nrecords)));
        }
    }
    total
}

/// Check the stored tree against the sorted keys of the model, and (strict disks) that
/// exactly the header and the tree's nodes are allocated.
fn check(disk: &Disk, addr: u64, kind: Kind, keys: &[u64]) -> Walk {
    let w = walk(&disk.buf, addr);
    let got: Vec<u64> = w.records.iter().map(|r| (kind.key)(r)).collect();
    assert_eq!(got, keys);
    for (r, k) in w.records.iter().zip(keys) {
        assert_eq!(r, &(kind.make)(*k));
    }
    if disk.strict {
        let mut live: Vec<u64> = disk.live.keys().copied().collect();
        let mut want = w.nodes.clone();
        want.push(addr);
        want.sort_unstable();
        live.sort_unstable();
        assert_eq!(live, want, "allocated extents are exactly the tree");
    }
    w
}

#[test]
fn header_encodes_what_decodes() {
    for sizes in [
        Sizes::DEFAULT,
        Sizes {
            offset: 4,
            length: 2,
        },
    ] {
        let h = Header {
            addr: 0x40,
            sizes,
            record_type: 10,
            node_size: 2048,
            record_size: 24,
            depth: 2,
            split_percent: 100,
            merge_percent: 40,
            root_addr: Some(0x1234),
            root_nrecords: 7,
            total_records: 999,
            geometry: Geometry::compute(2048, 24, 2, sizes.offset).unwrap(),
        };
        let b = h.encode();
        assert_eq!(b.len(), header_size(sizes));
        assert_eq!(Header::decode(&b, 0x40, sizes).unwrap(), h);
    }
}

#[test]
fn new_checks_parameters() {
    let t = new_tree(LINK_NAME);
    assert_eq!((t.len(), t.is_empty(), t.depth()), (0, true, 0));
    assert_eq!(
        (t.record_type(), t.record_size(), t.node_size()),
        (5, 11, 512)
    );
    let e = TreeEdit::new(5, 10, 512, 100, 40, SIZES).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Invalid("record size (too small for the record type)")
    );
    let e = TreeEdit::new(5, 11, 20, 100, 40, SIZES).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Invalid(_)));
    // A leaf of one record cannot be edited as a B-tree.
    let e = TreeEdit::new(5, 11, 31, 100, 40, SIZES).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
    assert!(TreeEdit::new(5, 11, 32, 100, 40, SIZES).is_ok());
    for (split, merge) in [(0, 0), (101, 40), (100, 0), (100, 50), (60, 40)] {
        let e = TreeEdit::new(5, 11, 512, split, merge, SIZES).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{split} {merge}");
    }
}

#[test]
fn empty_tree_is_what_libhdf5_leaves() {
    // libhdf5 2.0, after a 2-unlimited-dims chunked dataset was resized to nothing:
    // root undefined, depth 0, no records.
    let mut t = new_tree(CHUNK);
    let mut disk = Disk::new();
    let addr = store(&mut t, &mut disk);
    let w = check(&disk, addr, CHUNK, &[]);
    assert_eq!(w.header.root_addr, None);
    assert_eq!(w.header.node_size, 2048);
    assert_eq!((w.header.split_percent, w.header.merge_percent), (100, 40));
    // Storing again with nothing changed writes nothing.
    let (again, st) = t.store(None, &mut |n| disk.alloc(n)).unwrap();
    assert_eq!((again, st), (addr, Stored::default()));
    let loaded = disk.load(addr).unwrap();
    assert!(loaded.is_empty() && loaded.records().is_empty());
    assert_eq!(t.find(&mut cmp_key(CHUNK, 3)).unwrap(), None);
    assert_eq!(t.remove(&mut cmp_key(CHUNK, 3)).unwrap(), None);
    assert_eq!(t.get(0), None);
    assert_eq!(t.remove_at(0), None);
}

#[test]
fn inserts_round_trip_through_the_decoder() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for kind in [LINK_NAME, LINK_ORDER, CHUNK, HUGE, ATTR_NAME] {
        for n in [1usize, 2, 3, 20, 45, 46, 100, 500, 1149, 1150, 5000] {
            let mut keys: Vec<u64> = (0..n as u64)
                .map(|i| match kind.record_type {
                    5 | 8 => (rng.next() & 0xffff_ffff) | 1,
                    10 => ((i / 70) << 32) | (i % 70),
                    _ => i * 3,
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for order in 0..3 {
                let mut ins = keys.clone();
                match order {
                    0 => rng.shuffle(&mut ins),
                    1 => {}
                    _ => ins.reverse(),
                }
                let mut t = new_tree(kind);
                let mut disk = Disk::new();
                for (i, &k) in ins.iter().enumerate() {
                    assert!(t.insert((kind.make)(k), &mut cmp_key(kind, k)).unwrap());
                    // Store now and then: copy-on-write across many stores.
                    if i % 997 == 500 {
                        store(&mut t, &mut disk);
                    }
                }
                assert_eq!(t.len(), keys.len() as u64);
                let addr = store(&mut t, &mut disk);
                let w = check(&disk, addr, kind, &keys);
                assert_eq!(w.header.depth, t.depth());
                if keys.len() > 45 && kind.record_type == 5 {
                    assert!(t.depth() > 0);
                }
                // The in-memory view agrees.
                let mem: Vec<u64> = t.records().iter().map(|r| (kind.key)(r)).collect();
                assert_eq!(mem, keys);
                // Every key is found, with its rank.
                for (rank, &k) in keys.iter().enumerate().step_by(7) {
                    let rec = (kind.make)(k);
                    assert_eq!(t.find(&mut cmp_key(kind, k)).unwrap(), Some(&rec[..]));
                    assert_eq!(t.position(&mut cmp_key(kind, k)).unwrap(), Ok(rank as u64));
                    assert_eq!(t.get(rank as u64), Some(&rec[..]));
                }
                assert_eq!(t.find(&mut cmp_key(kind, u64::MAX)).unwrap(), None);
                // Equal records are refused.
                let k = keys[keys.len() / 2];
                assert!(!t.insert((kind.make)(k), &mut cmp_key(kind, k)).unwrap());
                // load() gives the same records and the same shape.
                let loaded = disk.load(addr).unwrap();
                assert_eq!(loaded.records(), t.records());
                assert_eq!((loaded.len(), loaded.depth()), (t.len(), t.depth()));
                assert!(!loaded.is_changed());
            }
        }
    }
}

#[test]
fn sequential_appends_fill_nodes() {
    // Chunk indexes grow by appending: nodes end up well filled, not half empty.
    let mut t = new_tree(CHUNK);
    let mut disk = Disk::new();
    for k in 0..5000u64 {
        assert!(t.insert((CHUNK.make)(k), &mut cmp_key(CHUNK, k)).unwrap());
    }
    let addr = store(&mut t, &mut disk);
    let keys: Vec<u64> = (0..5000).collect();
    let w = check(&disk, addr, CHUNK, &keys);
    // 84 records per leaf: 60 leaves would be full; even splits alone would need ~118.
    let leaves = w.nodes.len() - 1 - usize::from(t.depth() > 1);
    assert!(leaves <= 70, "{leaves} leaves");
}

#[test]
fn random_edits_match_a_model() {
    // Tiny nodes (leaves of 4, internal nodes of 2) make deep trees that split and
    // merge all the time; 512-byte nodes are what libhdf5 uses.
    for (node_size, seed) in [(64u32, 1u64), (64, 2), (96, 3), (512, 4)] {
        let kind = Kind {
            node_size,
            ..LINK_NAME
        };
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut model: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut t = new_tree(kind);
        let mut disk = Disk::new();
        let mut addr = None;
        // 64-byte nodes stop growing at depth 4 (at most 404 records).
        let space = match node_size {
            64 => 150,
            512 => 3000,
            _ => 400,
        };
        let mut max_depth = 0;
        for step in 0..12_000u32 {
            let k = rng.below(space) + 1;
            match rng.below(20) {
                0..=9 => {
                    let mut rec = (kind.make)(k);
                    rec[4] = step as u8;
                    let fresh = !model.contains_key(&k);
                    assert_eq!(t.insert(&rec, &mut cmp_key(kind, k)).unwrap(), fresh);
                    model.entry(k).or_insert(rec);
                }
                10..=16 => {
                    let got = t.remove(&mut cmp_key(kind, k)).unwrap();
                    assert_eq!(got, model.remove(&k));
                }
                17 => {
                    let mut rec = (kind.make)(k);
                    rec[10] = 0xab;
                    let there = model.contains_key(&k);
                    assert_eq!(t.replace(&rec, &mut cmp_key(kind, k)).unwrap(), there);
                    if there {
                        model.insert(k, rec);
                    }
                }
                18 => {
                    let got = t.find(&mut cmp_key(kind, k)).unwrap();
                    assert_eq!(got, model.get(&k).map(Vec::as_slice));
                }
                _ => {
                    // Remove by rank.
                    if !model.is_empty() {
                        let rank = rng.below(model.len() as u64);
                        let key = *model.keys().nth(rank as usize).unwrap();
                        assert_eq!(t.remove_at(rank), model.remove(&key));
                    }
                }
            }
            assert_eq!(t.len(), model.len() as u64);
            max_depth = max_depth.max(t.depth());
            if step % 53 == 0 {
                let (a, st) = t.store(addr, &mut |n| disk.alloc(n)).unwrap();
                disk.apply(&st);
                addr = Some(a);
                let w = walk(&disk.buf, a);
                let want: Vec<&Vec<u8>> = model.values().collect();
                assert_eq!(w.records.iter().collect::<Vec<_>>(), want);
                let mut live: Vec<u64> = disk.live.keys().copied().collect();
                let mut nodes = w.nodes.clone();
                nodes.push(a);
                nodes.sort_unstable();
                live.sort_unstable();
                assert_eq!(live, nodes);
            }
            if step % 1009 == 1008 {
                // Continue from what is on disk.
                let (a, st) = t.store(addr, &mut |n| disk.alloc(n)).unwrap();
                disk.apply(&st);
                addr = Some(a);
                t = disk.load(a).unwrap();
            }
        }
        if node_size == 64 {
            assert!(max_depth >= 4, "depth {max_depth}");
        }
        // Drain everything: the tree ends as libhdf5 leaves an empty one.
        let removed = t.retain(&mut |_| false);
        assert_eq!(removed, model.values().cloned().collect::<Vec<_>>());
        let (a, st) = t.store(addr, &mut |n| disk.alloc(n)).unwrap();
        disk.apply(&st);
        let w = walk(&disk.buf, a);
        assert_eq!(w.header.root_addr, None);
        assert_eq!(disk.live.keys().copied().collect::<Vec<_>>(), [a]);
    }
}

#[test]
fn retain_drops_what_it_is_told() {
    let mut t = new_tree(CHUNK);
    let mut disk = Disk::new();
    let keys: Vec<u64> = (0..40u64)
        .flat_map(|a| (0..40u64).map(move |b| (a << 32) | b))
        .collect();
    for &k in &keys {
        t.insert((CHUNK.make)(k), &mut cmp_key(CHUNK, k)).unwrap();
    }
    store(&mut t, &mut disk);
    // Shrink the dataset to 25 × 30 chunks.
    let removed = t.retain(&mut |r| (CHUNK.key)(r) >> 32 < 25 && (CHUNK.key)(r) & 0xffff_ffff < 30);
    let kept: Vec<u64> = keys
        .iter()
        .copied()
        .filter(|k| k >> 32 < 25 && k & 0xffff_ffff < 30)
        .collect();
    assert_eq!(removed.len(), keys.len() - kept.len());
    assert!(removed
        .windows(2)
        .all(|w| (CHUNK.key)(&w[0]) < (CHUNK.key)(&w[1])));
    let addr = store(&mut t, &mut disk);
    check(&disk, addr, CHUNK, &kept);
    assert!(t.retain(&mut |_| true).is_empty());
    assert!(!t.is_changed());
}

#[test]
fn copy_on_write_rewrites_only_the_path() {
    let mut t = new_tree(LINK_NAME);
    let mut disk = Disk::new();
    for k in 1..=2000u64 {
        t.insert(
            (LINK_NAME.make)(k * 1000),
            &mut cmp_key(LINK_NAME, k * 1000),
        )
        .unwrap();
    }
    let addr = store(&mut t, &mut disk);
    assert_eq!(t.depth(), 2);
    // One replace: a leaf, its parent and the root move; the header is rewritten in place.
    let mut rec = (LINK_NAME.make)(5000);
    rec[6] = 0x77;
    assert!(t.replace(&rec, &mut cmp_key(LINK_NAME, 5000)).unwrap());
    let (a, st) = t.store(None, &mut |n| disk.alloc(n)).unwrap();
    assert_eq!(a, addr);
    assert_eq!(st.writes.len(), 4);
    assert_eq!(st.freed.len(), 3);
    assert_eq!(st.writes.last().unwrap().0, addr);
    assert!(st.freed.iter().all(|&(_, s)| s == 512));
    disk.apply(&st);
    let w = walk(&disk.buf, addr);
    assert_eq!(w.records[4], rec);
    // A writer that names children before parents: every node written names only
    // nodes already written (or untouched).
    let written: Vec<u64> = st.writes.iter().map(|w| w.0).collect();
    let root = w.header.root_addr.unwrap();
    assert_eq!(written[2], root);
    // Wrong-sized records are refused.
    let e = t
        .insert(vec![0u8; 10], &mut cmp_key(LINK_NAME, 1))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid("record size"));
    // delete() names every extent of the tree.
    let mut all: Vec<u64> = t.delete().into_iter().map(|e| e.0).collect();
    all.sort_unstable();
    let mut live: Vec<u64> = disk.live.keys().copied().collect();
    live.sort_unstable();
    assert_eq!(all, live);
}

#[test]
fn growth_stops_where_nodes_get_too_small() {
    // 40-byte nodes: leaves hold 2 link records, an internal node only 1.
    let mut t = TreeEdit::new(5, 11, 40, 100, 40, SIZES).unwrap();
    for k in [10u64, 20] {
        assert!(t
            .insert((LINK_NAME.make)(k), &mut cmp_key(LINK_NAME, k))
            .unwrap());
    }
    let e = t
        .insert((LINK_NAME.make)(30), &mut cmp_key(LINK_NAME, 30))
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit { .. }));
    assert_eq!(t.len(), 2);
}

/// The keys of a type-5 record: hash, then heap ID.
fn link_cmp(rec: &[u8]) -> impl FnMut(&[u8]) -> Result<Ordering> + '_ {
    move |r: &[u8]| Ok((le(&r[..4]), &r[4..]).cmp(&(le(&rec[..4]), &rec[4..])))
}

/// Type-10 records of rank 2, by scaled offsets.
fn chunk_cmp(rec: &[u8]) -> impl FnMut(&[u8]) -> Result<Ordering> + '_ {
    move |r: &[u8]| Ok(r[8..].chunks(8).map(le).cmp(rec[8..].chunks(8).map(le)))
}

#[test]
fn byte_exact_with_libhdf5_leaves() {
    let mut rng = Rng(77);
    // groups_latest.h5: a dense group's name index (type 5), one leaf of 20 records;
    // chunkidx_latest.h5: a chunk index (type 10, rank 2), one leaf of 9 records.
    for (file, hdr, kind) in [
        (GROUPS_LATEST, 0x21d1u64, LINK_NAME),
        (CHUNKIDX_LATEST, 0x6b5, CHUNK),
    ] {
        let w = walk(file, hdr);
        assert_eq!(w.header.depth, 0);
        assert_eq!(w.header.record_type, kind.record_type);
        assert_eq!(
            (
                w.header.node_size,
                w.header.split_percent,
                w.header.merge_percent
            ),
            (kind.node_size, SPLIT_PERCENT, MERGE_PERCENT)
        );
        let leaf = w.header.root_addr.unwrap();
        let mut recs = w.records.clone();
        rng.shuffle(&mut recs);
        let mut t = new_tree(kind);
        for r in &recs {
            let inserted = if kind.record_type == 5 {
                t.insert(r, &mut link_cmp(r))
            } else {
                t.insert(r, &mut chunk_cmp(r))
            };
            assert!(inserted.unwrap());
        }
        let (a, st) = t
            .store(Some(hdr), &mut |n| {
                assert_eq!(n, u64::from(kind.node_size));
                leaf
            })
            .unwrap();
        assert_eq!(a, hdr);
        let hsize = header_size(SIZES);
        let ns = kind.node_size as usize;
        assert_eq!(
            st.writes,
            [
                (leaf, file[leaf as usize..leaf as usize + ns].to_vec()),
                (hdr, file[hdr as usize..hdr as usize + hsize].to_vec()),
            ]
        );
        assert!(st.freed.is_empty());
        assert_eq!(t.header(hdr).encode(), &file[hdr as usize..][..hsize]);
    }
}

#[test]
fn libhdf5_trees_load_and_reencode_byte_exact() {
    // Deep and shallow trees libhdf5 2.0 wrote, of types 1, 5, 6, 8, 9, 10, 11: loaded,
    // every node rewritten to where it was, bytes unchanged.
    let cases: [(&[u8], u64, u8, u16); 8] = [
        (GROUPS_LATEST, 0x2293, 5, 1),
        (GROUPS_LATEST, 0x7c7e, 6, 0),
        (CHUNKIDX_LATEST, 0x70e, 10, 1),
        (CHUNKIDX_LATEST, 0x3edf, 11, 1),
        (CHUNKIDX_LATEST, 0x131a, 11, 0),
        (ATTRS_LATEST, 0x553, 8, 1),
        (ATTRS_LATEST, 0x2083, 9, 0),
        (ATTRS_LATEST, 0x27b2, 1, 0),
    ];
    for (file, hdr, record_type, depth) in cases {
        let w = walk(file, hdr);
        assert_eq!((w.header.record_type, w.header.depth), (record_type, depth));
        let read = &mut |a: u64, n: usize| -> Result<Vec<u8>> {
            Ok(file[a as usize..a as usize + n].to_vec())
        };
        let mut t = TreeEdit::load(hdr, SIZES, 1000, read).unwrap();
        assert_eq!(
            t.records(),
            w.records.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        assert_eq!((t.len(), t.depth()), (w.header.total_records, depth));
        // Nothing changed: nothing to write.
        let (_, st) = t.store(None, &mut |_| panic!("no allocation")).unwrap();
        assert_eq!(st, Stored::default());
        t.touch_all();
        let mut addrs = w.nodes.clone().into_iter();
        let (a, st) = t.store(None, &mut |_| addrs.next().unwrap()).unwrap();
        assert_eq!(a, hdr);
        assert_eq!(st.writes.len(), w.nodes.len() + 1);
        for (addr, bytes) in &st.writes {
            assert_eq!(
                &file[*addr as usize..*addr as usize + bytes.len()],
                &bytes[..],
                "type {record_type} block at {addr:#x}"
            );
        }
        let mut freed: Vec<u64> = st.freed.iter().map(|f| f.0).collect();
        freed.sort_unstable();
        let mut nodes = w.nodes.clone();
        nodes.sort_unstable();
        assert_eq!(freed, nodes);
    }
}

#[test]
fn libhdf5_trees_stay_valid_under_edits() {
    // groups_latest.h5's 300-link index (depth 1), edited: remove most, add some.
    let mut disk = Disk::from_file(GROUPS_LATEST);
    let hdr = 0x2293;
    let mut t = disk.load(hdr).unwrap();
    let mut model: Vec<Vec<u8>> = t.records().iter().map(|r| r.to_vec()).collect();
    let mut rng = Rng(5);
    for _ in 0..260 {
        let i = rng.below(model.len() as u64) as usize;
        let rec = model.remove(i);
        let got = t.remove(&mut link_cmp(&rec)).unwrap();
        assert_eq!(got, Some(rec));
    }
    for k in 0..100u64 {
        let rec = (LINK_NAME.make)(rng.next() & 0xffff_ffff);
        if t.insert(&rec, &mut link_cmp(&rec)).unwrap() {
            model.push(rec);
        }
        if k == 50 {
            let (_, st) = t.store(None, &mut |n| disk.alloc(n)).unwrap();
            disk.apply(&st);
        }
    }
    model.sort_by(|a, b| (le(&a[..4]), &a[4..]).cmp(&(le(&b[..4]), &b[4..])));
    let (a, st) = t.store(None, &mut |n| disk.alloc(n)).unwrap();
    assert_eq!(a, hdr);
    disk.apply(&st);
    let w = walk(&disk.buf, hdr);
    assert_eq!(w.records, model);
}

/// A stored depth-2 tree of small nodes, its header address and the walk.
fn deep_sample() -> (Disk, u64, Walk) {
    let kind = Kind {
        node_size: 64,
        ..LINK_NAME
    };
    let mut t = new_tree(kind);
    let mut disk = Disk::new();
    for k in 1..=30u64 {
        t.insert((kind.make)(k), &mut cmp_key(kind, k)).unwrap();
    }
    let addr = store(&mut t, &mut disk);
    let w = walk(&disk.buf, addr);
    assert!(w.header.depth >= 2);
    (disk, addr, w)
}

fn reseal(buf: &mut [u8], at: usize, used: usize) {
    let sum = lookup3::checksum(&buf[at..at + used - 4]);
    buf[at + used - 4..at + used].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn load_rejects_bad_trees() {
    let (disk, addr, w) = deep_sample();
    let root = w.header.root_addr.unwrap();
    let hsize = header_size(SIZES);
    let load = |buf: &[u8], max: usize| {
        TreeEdit::load(addr, SIZES, max, &mut |a, n| {
            buf.get(a as usize..a as usize + n)
                .map(<[u8]>::to_vec)
                .ok_or(Error::new("test file", a, ErrorKind::Truncated))
        })
    };
    assert!(load(&disk.buf, 100).is_ok());
    // The read callback's errors come back.
    let e = load(&disk.buf[..addr as usize + 10], 100).unwrap_err();
    assert_eq!(e.structure, "test file");
    // Too many nodes.
    let e = load(&disk.buf, w.nodes.len() - 1).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit { .. }));
    // Garbage instead of the header.
    let mut bad = disk.buf.clone();
    bad[addr as usize..addr as usize + hsize].fill(0x5a);
    assert_eq!(load(&bad, 100).unwrap_err().kind, ErrorKind::BadSignature);
    // A node that fails its checksum.
    let mut bad = disk.buf.clone();
    bad[root as usize + 7] ^= 1;
    assert!(matches!(
        load(&bad, 100).unwrap_err().kind,
        ErrorKind::BadChecksum { .. }
    ));
    // The header's total disagrees with the tree.
    let mut bad = disk.buf.clone();
    let total_at = addr as usize + 26;
    bad[total_at] ^= 1;
    reseal(&mut bad, addr as usize, hsize);
    assert_eq!(
        load(&bad, 100).unwrap_err().kind,
        ErrorKind::Invalid("total number of records")
    );
    // An undefined root with records claimed.
    let mut bad = disk.buf.clone();
    bad[addr as usize + 16..addr as usize + 24].fill(0xff);
    reseal(&mut bad, addr as usize, hsize);
    assert!(load(&bad, 100).is_err());
    // The root's second child pointer names the first child: a cycle.
    let (_, used) = *w.used.iter().find(|u| u.0 == root).unwrap();
    let n = u64::from(w.header.root_nrecords);
    let first_ptr = root as usize + 6 + n as usize * 11;
    let ptr = w.header.geometry.pointer_size(w.header.depth).unwrap();
    let mut bad = disk.buf.clone();
    let first: [u8; 8] = bad[first_ptr..first_ptr + 8].try_into().unwrap();
    bad[first_ptr + ptr..first_ptr + ptr + 8].copy_from_slice(&first);
    reseal(&mut bad, root as usize, used);
    assert_eq!(load(&bad, 100).unwrap_err().kind, ErrorKind::Cycle);
    // ... or the root itself.
    let mut bad = disk.buf.clone();
    bad[first_ptr..first_ptr + 8].copy_from_slice(&root.to_le_bytes());
    reseal(&mut bad, root as usize, used);
    assert_eq!(load(&bad, 100).unwrap_err().kind, ErrorKind::Cycle);
    // A child count that disagrees with the child.
    let mut bad = disk.buf.clone();
    bad[first_ptr + 8] += 1;
    reseal(&mut bad, root as usize, used);
    assert!(load(&bad, 100).is_err());
    // Every prefix of the header is refused.
    for k in 0..hsize {
        let e = TreeEdit::load(addr, SIZES, 100, &mut |a, len| {
            Ok::<_, Error>(disk.buf[a as usize..a as usize + len.min(k)].to_vec())
        })
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {k}");
    }
    // Short node reads.
    let e = TreeEdit::load(addr, SIZES, 100, &mut |a, len| {
        let len = if a == addr { len } else { len - 1 };
        Ok::<_, Error>(disk.buf[a as usize..a as usize + len].to_vec())
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
}

#[test]
fn load_survives_corruption() {
    // Flip bytes anywhere in a node and re-seal it, or in the header: load either
    // refuses or yields a tree that can be edited and stored without panicking.
    let (disk, addr, w) = deep_sample();
    let hsize = header_size(SIZES);
    let mut rng = Rng(99);
    let mut loaded = 0;
    for _ in 0..3000 {
        let mut bad = disk.buf.clone();
        let (at, used) = if rng.below(4) == 0 {
            (addr as usize, hsize)
        } else {
            let (a, u) = w.used[rng.below(w.used.len() as u64) as usize];
            (a as usize, u)
        };
        for _ in 0..=rng.below(2) {
            let i = at + 4 + rng.below(used as u64 - 8) as usize;
            bad[i] = rng.next() as u8;
        }
        reseal(&mut bad, at, used);
        let r = TreeEdit::load(addr, SIZES, 1000, &mut |a, n| {
            bad.get(a as usize..(a as usize).saturating_add(n))
                .map(<[u8]>::to_vec)
                .ok_or(Error::new("test file", a, ErrorKind::Truncated))
        });
        if let Ok(mut t) = r {
            loaded += 1;
            let _ = t.records();
            for k in [0u64, 15, 99] {
                let _ = t.insert((LINK_NAME.make)(k), &mut cmp_key(LINK_NAME, k));
                let _ = t.remove(&mut cmp_key(LINK_NAME, k + 1));
            }
            let _ = t.remove_at(3);
            let mut end = bad.len() as u64;
            let _ = t.store(None, &mut |n| {
                end += n;
                end - n
            });
        }
    }
    assert!(loaded > 0);
}

use super::*;

/// The extents of a huge-object B-tree stored in `file` (header and nodes).
fn huge_tree_extents(file: &[u8], h: &Header) -> Vec<(u64, u64)> {
    let tree = TreeEdit::load(h.huge_btree_addr.unwrap(), SIZES, 1000, &mut |a, n| {
        Ok::<_, Error>(file[a as usize..a as usize + n].to_vec())
    })
    .unwrap();
    tree.delete()
}

/// The error of a load that must fail (without printing the heap when it does not).
fn load_err(r: Result<HeapEdit>) -> Error {
    match r {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    }
}

fn huge_key(id: &[u8]) -> u64 {
    assert_eq!(id[0], 0x10);
    crate::reader::le_uint(&id[1..])
}

#[test]
fn huge_objects_round_trip() {
    let mut rng = Rng(31);
    let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
    let mut objects: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut sizes = vec![5 << 10, 100 << 10];
    sizes.extend((0..28).map(|_| 4097 + rng.below(5000) as usize));
    let mut huge_bytes = 0;
    for (i, &n) in sizes.iter().enumerate() {
        // Managed and tiny objects in between.
        for m in [100, 2000, 5] {
            let obj = rng.bytes(m + i);
            objects.push((ed.insert(&obj).unwrap(), obj));
        }
        let obj = rng.bytes(n);
        let id = ed.insert(&obj).unwrap();
        // 8-byte IDs: type 1, then the huge object ID in 7 bytes.
        let mut want = vec![0x10];
        want.extend_from_slice(&(i as u64 + 1).to_le_bytes()[..7]);
        assert_eq!(id, want);
        assert_eq!(ed.get(&id).unwrap(), obj);
        huge_bytes += n as u64;
        objects.push((id, obj));
    }
    let h = ed.header();
    assert_eq!(
        (h.huge_count, h.huge_size, h.next_huge_id),
        (30, huge_bytes, 30)
    );
    assert_eq!(h.huge_btree_addr, None, "not stored yet");
    assert_eq!(ed.len(), 120);

    // Store: every huge object gets its own space, after the blocks, by ID.
    let mut mem = Mem::new();
    let mut allocs = Vec::new();
    let (addr, st) = ed
        .store(&mut |n| {
            allocs.push(n);
            mem.alloc(n)
        })
        .unwrap();
    mem.apply(&st);
    assert!(st.freed.is_empty());
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!(&h, ed.header());
    let bt = h.huge_btree_addr.unwrap();
    let bh = btree2::Header::decode(&mem.buf[bt as usize..], bt, SIZES).unwrap();
    assert_eq!(
        (bh.depth, bh.total_records),
        (1, 30),
        "30 records need two levels"
    );
    let first_huge = allocs.iter().position(|&n| n == 5 << 10).unwrap();
    assert_eq!(
        allocs[first_huge..first_huge + 30],
        sizes.iter().map(|&n| n as u64).collect::<Vec<_>>()[..]
    );
    assert_eq!(allocs[first_huge + 30], btree2::header_size(SIZES) as u64);
    assert!(allocs[first_huge + 31..].iter().all(|&n| n == 512));
    // Writes: huge objects before the B-tree nodes, nodes before the B-tree header, the
    // heap header last.
    let recs = huge_records(&mem.buf, &h);
    let pos = |a: u64| st.writes.iter().position(|w| w.0 == a).unwrap();
    let last_object = recs.iter().map(|r| pos(r.0)).max().unwrap();
    let tree: Vec<(u64, u64)> = huge_tree_extents(&mem.buf, &h);
    let first_node = tree[1..].iter().map(|e| pos(e.0)).min().unwrap();
    let last_node = tree[1..].iter().map(|e| pos(e.0)).max().unwrap();
    assert!(last_object < first_node);
    assert_eq!(pos(bt), last_node + 1);
    assert_eq!(pos(addr), st.writes.len() - 1);
    // Extents: the huge objects and the whole B-tree too, none overlapping.
    let mut ext = ed.extents().unwrap();
    for r in &recs {
        assert!(ext.contains(&(r.0, r.1)));
    }
    for e in &tree {
        assert!(ext.contains(e));
    }
    ext.sort_unstable();
    assert!(ext.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
    // Nothing changed: nothing to write.
    let (again, st) = mem.store(&mut ed);
    assert_eq!((again, st), (addr, Stored::default()));

    // Load, remove some, overwrite one, store again.
    let mut ed = mem.load(addr).unwrap();
    assert_eq!(ed.header(), &h);
    for (id, obj) in &objects {
        assert_eq!(&ed.get(id).unwrap(), obj);
    }
    let is_huge = |id: &[u8]| id[0] == 0x10;
    let huge_ids: Vec<Vec<u8>> = objects
        .iter()
        .filter(|o| is_huge(&o.0))
        .map(|o| o.0.clone())
        .collect();
    let gone: Vec<Vec<u8>> = [1, 4, 5, 6, 7, 8, 9, 20]
        .iter()
        .map(|&i| huge_ids[i].clone())
        .collect();
    let mut freed_objects = Vec::new();
    for id in &gone {
        let r = recs.iter().find(|r| r.2 == huge_key(id)).unwrap();
        freed_objects.push((r.0, r.1));
        ed.remove(id).unwrap();
        assert_eq!(
            invalid(ed.remove(id).unwrap_err()),
            "heap ID (no such huge object)"
        );
        assert!(ed.get(id).is_err());
    }
    objects.retain(|o| !gone.contains(&o.0));
    // Until stored, removed objects still count as the heap's space.
    let ext = ed.extents().unwrap();
    assert!(freed_objects.iter().all(|f| ext.contains(f)));
    let removed_bytes: u64 = freed_objects.iter().map(|f| f.1).sum();
    assert_eq!(ed.header().huge_count, 22);
    assert_eq!(ed.header().huge_size, huge_bytes - removed_bytes);
    assert_eq!(ed.header().next_huge_id, 30, "IDs are not reused");
    let first = objects.iter_mut().find(|o| is_huge(&o.0)).unwrap();
    let fresh = rng.bytes(first.1.len());
    ed.overwrite(&first.0, &fresh).unwrap();
    assert_eq!(ed.get(&first.0).unwrap(), fresh);
    assert_eq!(
        invalid(ed.overwrite(&first.0, &fresh[1..]).unwrap_err()),
        "heap object (overwritten with another length)"
    );
    first.1 = fresh.clone();
    let first_at = recs.iter().find(|r| r.2 == huge_key(&first.0)).unwrap().0;
    let managed = objects.iter().position(|o| o.0[0] == 0).unwrap();
    ed.remove(&objects.remove(managed).0).unwrap();
    let (_, st) = mem.store(&mut ed);
    // The removed objects are freed, the overwritten one rewritten where it is; the
    // B-tree's rewritten nodes go elsewhere, its header stays.
    for f in &freed_objects {
        assert!(st.freed.contains(f));
    }
    assert!(st.writes.contains(&(first_at, fresh)));
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!(h.huge_btree_addr, Some(bt));
    let live = ed.extents().unwrap();
    for &(a, n) in &st.freed {
        assert!(!live.iter().any(|&(b, m)| a < b + m && b < a + n));
    }

    // Removing every huge object deletes the B-tree and resets the huge-object fields.
    let mut ed = mem.load(addr).unwrap();
    let tree = huge_tree_extents(&mem.buf, &h);
    let huge_left: Vec<_> = objects.iter().filter(|o| is_huge(&o.0)).cloned().collect();
    for (id, _) in &huge_left {
        ed.remove(id).unwrap();
    }
    objects.retain(|o| !is_huge(&o.0));
    let (_, st) = mem.store(&mut ed);
    for e in &tree {
        assert!(st.freed.contains(e), "{e:?}");
    }
    assert_eq!(st.freed.len(), huge_left.len() + tree.len());
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!(
        (h.huge_btree_addr, h.next_huge_id, h.huge_count, h.huge_size),
        (None, 0, 0, 0)
    );
    let ext = ed.extents().unwrap();
    assert!(tree.iter().all(|e| !ext.contains(e)));
    assert!(huge_left
        .iter()
        .all(|o| !ext.iter().any(|e| e.1 == o.1.len() as u64)));
    // A new huge object starts the IDs again, in a new tree.
    let obj = rng.bytes(6000);
    let id = ed.insert(&obj).unwrap();
    assert_eq!(huge_key(&id), 1);
    objects.push((id, obj));
    let (_, st) = mem.store(&mut ed);
    assert!(st.freed.is_empty());
    let h = verify(&mem.buf, addr, &objects);
    assert_ne!(h.huge_btree_addr, Some(bt));
    assert_eq!((h.next_huge_id, h.huge_count), (1, 1));
}

#[test]
fn huge_objects_follow_libhdf5() {
    // Measured with h5py 3.16 / HDF5 2.0 (dense attributes of a group, libver latest):
    // attributes whose messages are 5044, 100044 and 8044 bytes get huge object IDs 1, 2,
    // 3; deleting the second leaves the next ID at 3; deleting the other two deletes the
    // B-tree (address undefined) and resets the next ID to 0; a 6056-byte one then gets
    // ID 1 in a new B-tree.
    let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
    let mut ids = Vec::new();
    for n in [5044, 100044, 8044] {
        ids.push(ed.insert(&vec![n as u8; n]).unwrap());
        ed.insert(&[1; 36]).unwrap();
    }
    assert_eq!(
        ids.iter().map(|i| huge_key(i)).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let mut mem = Mem::new();
    let (addr, _) = mem.store(&mut ed);
    let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (3, 3, 113132));
    ed.remove(&ids[1]).unwrap();
    mem.store(&mut ed);
    let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (3, 2, 13088));
    ed.remove(&ids[0]).unwrap();
    ed.remove(&ids[2]).unwrap();
    mem.store(&mut ed);
    let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    assert_eq!(
        (h.huge_btree_addr, h.next_huge_id, h.huge_count, h.huge_size),
        (None, 0, 0, 0)
    );
    let id = ed.insert(&[4; 6056]).unwrap();
    assert_eq!(huge_key(&id), 1);
    mem.store(&mut ed);
    let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (1, 1, 6056));
    assert!(h.huge_btree_addr.is_some());
}

#[test]
fn libhdf5_heap_with_a_huge_object_edits() {
    // The heap of attrs_large_latest: 2 managed attributes and a 65632-byte huge one at
    // 0x800, in a one-leaf B-tree (header 0x440, leaf 0x466).
    let addr = 0x136u64;
    let real = Header::decode(&ATTRS_LARGE_LATEST[addr as usize..], addr, SIZES).unwrap();
    let mut ed = load_from(ATTRS_LARGE_LATEST, addr).unwrap();
    assert_eq!(ed.header(), &real);
    let ext = ed.extents().unwrap();
    for e in [(0x800, 65632), (0x440, 38), (0x466, 512)] {
        assert!(ext.contains(&e), "{e:?}");
    }
    let ids = find_all(ATTRS_LARGE_LATEST, b"BTHD")
        .into_iter()
        .filter_map(|at| btree_ids(ATTRS_LARGE_LATEST, at))
        .find(|(k, _)| *k == 8)
        .unwrap()
        .1;
    assert_eq!(ids.len(), 3);
    let mut objects: Vec<(Vec<u8>, Vec<u8>)> = ids
        .iter()
        .map(|id| {
            let obj = read_via_decoders(ATTRS_LARGE_LATEST, addr, id).unwrap();
            assert_eq!(ed.get(id).unwrap(), obj);
            (id.clone(), obj)
        })
        .collect();
    let old = objects.iter().position(|o| o.0[0] == 0x10).unwrap();
    ed.track_free_space(ids.iter().map(Vec::as_slice)).unwrap();
    // Another huge object: ID 2, its space and a new leaf from the allocator, the
    // B-tree header rewritten in place.
    let obj = vec![0x42; 9000];
    let id = ed.insert(&obj).unwrap();
    assert_eq!(id, [0x10, 2, 0, 0, 0, 0, 0, 0]);
    objects.push((id, obj));
    let mut mem = Mem {
        buf: ATTRS_LARGE_LATEST.to_vec(),
    };
    let end = mem.buf.len() as u64;
    let (at, st) = mem.store(&mut ed);
    assert_eq!(at, addr);
    assert!(st.writes.iter().any(|w| w.0 == 0x440));
    assert!(st.freed.contains(&(0x466, 512)));
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!((h.next_huge_id, h.huge_count), (2, 2));
    assert_eq!(h.huge_size, 65632 + 9000);
    assert!(huge_records(&mem.buf, &h)[1].0 >= end);
    // Removing the old one frees its space; removing both deletes the B-tree.
    let mut ed = mem.load(addr).unwrap();
    ed.remove(&objects.remove(old).0).unwrap();
    let (_, st) = mem.store(&mut ed);
    assert!(st.freed.contains(&(0x800, 65632)));
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (2, 1, 9000));
    let last = objects.pop().unwrap();
    ed.remove(&last.0).unwrap();
    let (_, st) = mem.store(&mut ed);
    assert!(st.freed.contains(&(0x440, 38)));
    let h = verify(&mem.buf, addr, &objects);
    assert_eq!((h.huge_btree_addr, h.next_huge_id), (None, 0));
    // What is left is libhdf5's header with the huge-object fields of a heap that never
    // had one (its free-space manager kept: the managed objects did not change).
    let mut want = real.clone();
    want.huge_btree_addr = None;
    (want.next_huge_id, want.huge_count, want.huge_size) = (0, 0, 0);
    assert_eq!(h, want);
}

#[test]
fn huge_id_forms_and_counter_limits() {
    // IDs long enough for an address and a length: libhdf5 would put those in the ID
    // (with a type-3 B-tree); not supported.
    let mut p = HeapParams::dense_attributes();
    p.id_len = 17;
    let mut ed = HeapEdit::new(p, SIZES).unwrap();
    assert!(matches!(
        ed.insert(&[1; 5000]).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    let direct = [&[0x10][..], &0x800u64.to_le_bytes(), &5000u64.to_le_bytes()].concat();
    assert!(matches!(
        ed.get(&direct).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    assert!(matches!(
        ed.remove(&direct).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    // 16 bytes: still a key (8 bytes of it used).
    p.id_len = 16;
    let mut ed = HeapEdit::new(p, SIZES).unwrap();
    let id = ed.insert(&[1; 5000]).unwrap();
    assert_eq!(id, [&[0x10, 1][..], &[0; 14]].concat());
    // The counter's last value sets the wrapped flag; after that, no more huge objects.
    let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
    let mut mem = Mem::new();
    let (addr, _) = mem.store(&mut ed);
    let mut h = ed.header().clone();
    h.next_huge_id = (1 << 56) - 2;
    mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
    let mut ed = mem.load(addr).unwrap();
    let id = ed.insert(&[7; 4097]).unwrap();
    assert_eq!(id, [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        ed.header().flags & FLAG_HUGE_IDS_WRAPPED,
        FLAG_HUGE_IDS_WRAPPED
    );
    assert!(matches!(
        ed.insert(&[7; 4097]).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    // Managed and tiny objects still go in.
    ed.insert(&[7; 4096]).unwrap();
    mem.store(&mut ed);
    let mut ed = mem.load(addr).unwrap();
    assert_eq!(ed.get(&id).unwrap(), [7; 4097]);
    // The last one gone, the counter and the flag are reset.
    ed.remove(&id).unwrap();
    mem.store(&mut ed);
    let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    assert_eq!(
        (h.flags, h.next_huge_id),
        (FLAG_CHECKSUMMED_DIRECT_BLOCKS, 0)
    );
    // A counter beyond what the IDs hold.
    let mut h = ed.header().clone();
    h.next_huge_id = 1 << 56;
    mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
    let mut ed = mem.load(addr).unwrap();
    assert!(matches!(
        ed.insert(&[7; 4097]).unwrap_err().kind,
        ErrorKind::Limit { .. }
    ));
}

/// A heap ID and its object.
type Object = (Vec<u8>, Vec<u8>);

/// A stored heap of `small_table` with some managed objects and 25 huge ones (a B-tree of
/// two levels): the file, the header address, the objects.
fn huge_sample() -> (Mem, u64, Vec<Object>) {
    let mut rng = Rng(4242);
    let mut ed = HeapEdit::new(small_table(), SIZES).unwrap();
    let mut objects = Vec::new();
    for i in 0..75 {
        let n = if i % 3 == 0 {
            601 + rng.below(400)
        } else {
            20 + rng.below(500)
        };
        let obj = rng.bytes(n as usize);
        objects.push((ed.insert(&obj).unwrap(), obj));
    }
    let mut mem = Mem::new();
    let (addr, _) = mem.store(&mut ed);
    (mem, addr, objects)
}

/// Replace the huge-object B-tree of the heap at `addr` with one holding `records`
/// (address, length, ID) in this order, and the header's huge-object count and size
/// with theirs.
fn with_huge_records(mem: &mut Mem, addr: u64, records: &[(u64, u64, u64)]) {
    let mut tree = TreeEdit::new(1, 24, 512, 100, 40, SIZES).unwrap();
    for (i, &(a, n, id)) in records.iter().enumerate() {
        let rec = [a.to_le_bytes(), n.to_le_bytes(), id.to_le_bytes()].concat();
        tree.insert_at(i as u64, &rec).unwrap();
    }
    let (bt, st) = tree.store(None, &mut |n| mem.alloc(n)).unwrap();
    mem.apply(&st);
    let mut h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
    h.huge_btree_addr = Some(bt);
    h.huge_count = records.len() as u64;
    h.huge_size = records.iter().map(|r| r.1).fold(0, u64::wrapping_add);
    mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
}

#[test]
fn huge_load_rejects_bad_input() {
    let (good, addr, objects) = huge_sample();
    let ed = good.load(addr).unwrap();
    for (id, obj) in &objects {
        assert_eq!(&ed.get(id).unwrap(), obj);
    }
    let h = ed.header().clone();
    assert_eq!(h.huge_count, 25);
    let bt = h.huge_btree_addr.unwrap();
    let recs = huge_records(&good.buf, &h);
    let patched = |f: &dyn Fn(&mut Header)| {
        let mut h = h.clone();
        f(&mut h);
        let mut m = Mem {
            buf: good.buf.clone(),
        };
        m.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
        m.load(addr)
    };
    // Header fields that disagree with the B-tree.
    for (f, what) in [
        (
            &(|h: &mut Header| h.huge_count += 1) as &dyn Fn(&mut Header),
            "number of huge objects (unlike the B-tree's)",
        ),
        (
            &|h: &mut Header| h.huge_size -= 1,
            "size of huge objects (unlike the B-tree's)",
        ),
        (
            &|h: &mut Header| h.next_huge_id = 24,
            "huge object ID (beyond the next huge object ID)",
        ),
        (
            &|h: &mut Header| h.huge_btree_addr = None,
            "huge objects (without a huge object B-tree)",
        ),
    ] {
        assert_eq!(invalid(load_err(patched(f))), what);
    }
    // Once the counter wrapped, any ID the key holds is fine.
    patched(&|h| {
        h.next_huge_id = 3;
        h.flags |= FLAG_HUGE_IDS_WRAPPED;
    })
    .unwrap();
    // The B-tree address pointing at garbage, the heap header, a managed block, the end
    // of the file, another kind of B-tree.
    let block = walk(&good.buf, &h).0[0].2;
    for at in [0, addr, block, good.buf.len() as u64 - 10, u64::MAX - 1] {
        assert!(patched(&|h| h.huge_btree_addr = Some(at)).is_err());
    }
    let mut other = Mem {
        buf: good.buf.clone(),
    };
    let mut links = TreeEdit::new(5, 11, 512, 100, 40, SIZES).unwrap();
    links
        .insert_at(0, &[1, 0, 0, 0, 0, 0x20, 0, 0, 0, 7, 0])
        .unwrap();
    let (lt, st) = links.store(None, &mut |n| other.alloc(n)).unwrap();
    other.apply(&st);
    let mut hh = h.clone();
    hh.huge_btree_addr = Some(lt);
    hh.huge_count = 1;
    other.buf[addr as usize..addr as usize + 146].copy_from_slice(&hh.encode());
    assert_eq!(
        invalid(load_err(other.load(addr))),
        "record type (not unfiltered huge objects)"
    );
    // Records no libhdf5 heap has.
    let (a0, n0, _) = recs[0];
    let (a1, n1, _) = recs[1];
    let eof = good.buf.len() as u64;
    for (records, what) in [
        (
            vec![(a0, n0, 2), (a1, n1, 1)],
            Some("huge object IDs (not increasing)"),
        ),
        (
            vec![(a0, n0, 1), (a1, n1, 1)],
            Some("huge object IDs (not increasing)"),
        ),
        (vec![(a0, n0, 0)], Some("huge object IDs (not increasing)")),
        (vec![(a0, 0, 1)], Some("huge object length")),
        (vec![(u64::MAX - 8, 16, 1)], Some("huge object length")),
        (
            vec![(a0, n0, 1), (a0 + 1, n1, 2)],
            Some("huge objects (overlapping)"),
        ),
        (vec![(a0, u64::MAX / 2, 1), (a1, n1, 2)], None),
        (vec![(a0, n0, 1), (eof + 4096, 20, 2)], None),
        (vec![(eof + 100, 1 << 40, 1)], None),
    ] {
        let mut m = Mem {
            buf: good.buf.clone(),
        };
        with_huge_records(&mut m, addr, &records);
        let e = load_err(m.load(addr));
        match what {
            Some(w) => assert_eq!(invalid(e), w, "{records:?}"),
            None => assert!(
                matches!(e.kind, ErrorKind::Truncated | ErrorKind::Invalid(_)),
                "{records:?}: {e:?}"
            ),
        }
    }
    // Too many B-tree nodes.
    let e = load_err(HeapEdit::load(addr, SIZES, 2, &mut |a, n| {
        Ok::<_, Error>(good.buf[a as usize..a as usize + n].to_vec())
    }));
    assert!(matches!(e.kind, ErrorKind::Limit { .. }));
    assert!(e.structure.starts_with("v2 B-tree"), "{e:?}");
    // Every flipped byte of the B-tree and of the huge-object header fields: an error or
    // a heap that edits and stores, never a panic.
    let mut rng = Rng(17);
    let mut spots: Vec<u64> = huge_tree_extents(&good.buf, &h)
        .iter()
        .flat_map(|&(a, n)| (a..a + n.min(120)).step_by(2))
        .collect();
    spots.extend(addr + 14..addr + 30);
    spots.extend(addr + 94..addr + 110);
    let mut loaded = 0;
    for &i in &spots {
        let mut bad = Mem {
            buf: good.buf.clone(),
        };
        bad.buf[i as usize] ^= 1 << rng.below(8);
        if i >= addr && i < addr + 146 {
            // Keep the header's checksum right.
            let n = bad.buf.len();
            let sum = lookup3::checksum(&bad.buf[addr as usize..addr as usize + 142]);
            bad.buf[addr as usize + 142..addr as usize + 146].copy_from_slice(&sum.to_le_bytes());
            assert!(n == bad.buf.len());
        }
        if let Ok(mut ed) = bad.load(addr) {
            loaded += 1;
            let _ = ed.insert(&[5; 700]);
            for (id, _) in objects.iter().step_by(5) {
                let _ = ed.get(id);
                let _ = ed.remove(id);
            }
            let _ = ed.extents();
            let _ = ed.store(&mut |n| bad.alloc(n));
        }
    }
    assert!(loaded > 10, "{loaded}");
    // Random records with the checksums right.
    let mut random_loaded = 0;
    for _ in 0..300 {
        // The real records with one to three changes: a field set to another value, a
        // record dropped, two records swapped.
        let mut records = recs.clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(records.len() as u64) as usize;
            let v = match rng.below(4) {
                0 => recs[rng.below(recs.len() as u64) as usize].0,
                1 => rng.below(eof + 64),
                2 => u64::MAX - rng.below(3),
                _ => rng.below(1 << 12),
            };
            match rng.below(6) {
                0 => records[i].0 = v,
                1 => records[i].1 = v,
                2 => records[i].2 = v,
                3 if records.len() > 1 => {
                    records.remove(i);
                }
                _ => {
                    let j = rng.below(records.len() as u64) as usize;
                    records.swap(i, j);
                }
            }
        }
        let k = records.len();
        let mut m = Mem {
            buf: good.buf.clone(),
        };
        with_huge_records(&mut m, addr, &records);
        if let Ok(mut ed) = m.load(addr) {
            random_loaded += 1;
            let _ = ed.insert(&[5; 700]);
            for id in 0..=k as u64 + 1 {
                let hid = [&[0x10][..], &id.to_le_bytes()[..5]].concat();
                let _ = ed.get(&hid);
                let _ = ed.overwrite(&hid, &[1; 3]);
                let _ = ed.remove(&hid);
            }
            let _ = ed.store(&mut |n| m.alloc(n));
        }
    }
    assert!(random_loaded > 10, "{random_loaded}");
    // The heap with its tree still loads after all that.
    let _ = bt;
    good.load(addr).unwrap();
}

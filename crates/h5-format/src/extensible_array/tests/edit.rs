use super::*;

// -----------------------------------------------------------------------------------------
// Editing model.
// -----------------------------------------------------------------------------------------

use crate::chunk_array::test_util::{load, store, write_addrs, Mem};
use alloc::collections::BTreeMap;

/// Every allocated element of the array at `addr`, through the decoders, and the
/// statistics its blocks imply (all but `max_idx_set`, which is taken from the header).
/// Every block decoded is re-encoded to the same bytes.
fn decode_ea(mem: &Mem, addr: u64, sizes: Sizes) -> (Header, BTreeMap<u64, ChunkElement>, Stats) {
    let rd = |a: u64, n: u64| mem.read(a, n as usize).unwrap();
    let hb = rd(addr, Header::size(sizes) as u64);
    let h = Header::decode(&hb, addr, sizes).unwrap();
    assert_eq!(h.encode(sizes), hb);
    let mut out = BTreeMap::new();
    let mut stats = Stats {
        max_idx_set: h.stats.max_idx_set,
        ..Stats::default()
    };
    let Some(ia) = h.index_block_addr else {
        return (h, out, stats);
    };
    let ibb = rd(ia, h.index_block_size(sizes));
    let ib = IndexBlock::decode(&ibb, ia, sizes, &h).unwrap();
    assert_eq!(ib.encode(sizes, &h), ibb);
    stats.nelmts += u64::from(h.idx_blk_elmts);
    let mut put = |first: u64, elems: Vec<ChunkElement>| {
        for (k, e) in elems.into_iter().enumerate() {
            if e.is_allocated() {
                out.insert(first + k as u64, e);
            } else {
                assert_eq!(e, ChunkElement::undefined(h.filtered()));
            }
        }
    };
    put(0, ib.elements.clone());
    // Data block `d` (block offset index `n`) of super block `u` at `a`, holding elements
    // from `first`.
    let mut dblock = |a: u64, u: usize, n: u64, first: u64, sb: Option<(&SuperBlock, u64)>| {
        let bytes = rd(a, h.data_block_size(sizes, u).unwrap());
        let db = DataBlock::decode(&bytes, a, sizes, &h, u).unwrap();
        assert_eq!(db.encode(sizes, &h), bytes);
        assert_eq!(Some(db.block_offset), h.block_offset(u, n));
        stats.ndata_blks += 1;
        stats.data_blk_size += h.data_block_total_size(sizes, u).unwrap();
        stats.nelmts += h.geometry.sblks[u].dblk_nelmts;
        if db.npages == 0 {
            put(first, db.elements);
            return;
        }
        let (sb, d) = sb.unwrap();
        for p in 0..db.npages {
            if sb.page_initialised(d, p) {
                let at = h.page_addr(a, sizes, u, p).unwrap();
                let bytes = rd(at, h.page_size());
                let elems = decode_page(&bytes, at, sizes, &h).unwrap();
                assert_eq!(encode_page(sizes, &h, &elems), bytes);
                put(first + p * h.geometry.dblk_page_nelmts, elems);
            }
        }
    };
    let mut sblocks = Vec::new();
    for b in h.blocks(h.capacity()) {
        match b {
            Block::IndexBlockElements { .. } => {}
            Block::IndexDataBlock {
                slot, sblk, first, ..
            } => {
                if let Some(a) = ib.dblk_addrs[slot] {
                    dblock(a, sblk, slot as u64, first, None);
                }
            }
            Block::SuperBlock {
                slot,
                sblk,
                first,
                ndblks,
                dblk_nelmts,
            } => {
                let Some(a) = ib.sblk_addrs[slot] else {
                    continue;
                };
                let size = h.super_block_size(sizes, sblk).unwrap();
                let bytes = rd(a, size);
                let sb = SuperBlock::decode(&bytes, a, sizes, &h, sblk).unwrap();
                assert_eq!(sb.encode(sizes, &h), bytes);
                assert_eq!(Some(sb.block_offset), h.block_offset(sblk, 0));
                for d in 0..ndblks {
                    if let Some(da) = sb.dblk_addrs[d as usize] {
                        dblock(da, sblk, d, first + d * dblk_nelmts, Some((&sb, d)));
                    }
                }
                sblocks.push(size);
            }
        }
    }
    stats.nsuper_blks = sblocks.len() as u64;
    stats.super_blk_size = sblocks.iter().sum();
    (h, out, stats)
}

/// Decode what `edit` stored and compare with `want`, the model's accessors and the
/// statistics its blocks imply.
fn check(edit: &ExtensibleArrayEdit, mem: &Mem, want: &BTreeMap<u64, ChunkElement>) {
    let (h, got, stats) = decode_ea(mem, edit.addr().unwrap(), edit.sizes);
    assert_eq!(&h, edit.header());
    assert_eq!(&got, want);
    assert_eq!(h.stats, stats);
    assert!(want.keys().all(|&i| i < h.stats.max_idx_set));
    for (&i, e) in want {
        assert_eq!(edit.get(i), Some(e));
    }
    let listed: Vec<(u64, ChunkElement)> = edit.iter().map(|(i, e)| (i, *e)).collect();
    let expect: Vec<(u64, ChunkElement)> = want.iter().map(|(&i, e)| (i, *e)).collect();
    assert_eq!(listed, expect);
}

fn uel(i: u64) -> ChunkElement {
    ChunkElement {
        addr: Some(0x100_0000 + i * 3),
        size: None,
        filter_mask: 0,
    }
}

fn small_params() -> ExtensibleArrayParams {
    ExtensibleArrayParams {
        filtered: true,
        chunk_size_len: 3,
        max_nelmts_bits: 6,
        index_blk_elmts: 2,
        data_blk_min_elmts: 2,
        sup_blk_min_data_ptrs: 2,
        max_dblk_page_nelmts_bits: 2,
    }
}

/// Every element of the small array (index block, index data blocks, unpaged and paged
/// super blocks), set in a scrambled order with stores in between.
#[test]
fn small_model_everything() {
    let sizes = S44;
    let mut edit = ExtensibleArrayEdit::new(small_params(), sizes).unwrap();
    assert_eq!(edit.params(), small_params());
    let cap = edit.capacity();
    assert_eq!(cap, 128);
    let mut mem = Mem::new(0x20);
    let mut want = BTreeMap::new();
    let (addr, s) = store(&mut edit, &mut mem);
    assert_eq!(s.writes.len(), 1);
    assert_eq!((edit.len(), edit.is_empty()), (0, true));
    check(&edit, &mem, &want);
    for (n, i) in (0..cap).map(|k| (k * 37 + 11) % cap).enumerate() {
        edit.set(i, felem(i)).unwrap();
        want.insert(i, felem(i));
        if n % 40 == 39 {
            let (a, _) = store(&mut edit, &mut mem);
            assert_eq!(a, addr);
            check(&edit, &mem, &want);
        }
    }
    store(&mut edit, &mut mem);
    check(&edit, &mem, &want);
    assert_eq!(edit.len(), cap);
    let h = edit.header().clone();
    let g = &h.geometry;
    let st = h.stats;
    assert_eq!(st.nsuper_blks, g.nsblk_addrs as u64);
    assert_eq!(st.ndata_blks, g.sblks.iter().map(|s| s.ndblks).sum::<u64>());
    assert_eq!(st.nelmts, cap);
    // Reload and check; beyond the capacity is an error.
    let again = load(&mem, addr, sizes);
    check(&again, &mem, &want);
    let e = edit.set(cap, felem(1)).unwrap_err();
    assert_eq!(e.offset, addr);
    assert!(matches!(e.kind, ErrorKind::Invalid(_)));
    assert!(edit.clear(cap).is_err());
    assert_eq!(edit.get(cap), None);
    assert!(edit.set(3, uel(3)).is_err());
    // Every block is listed once and nothing overlaps.
    let mut ext = edit.extents();
    assert_eq!(ext.len(), 2 + g.nsblk_addrs + st.ndata_blks as usize);
    ext.sort();
    assert!(ext.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
    assert_eq!(
        ext.iter().map(|e| e.1).sum::<u64>(),
        Header::size(sizes) as u64
            + h.index_block_size(sizes)
            + st.super_blk_size
            + st.data_blk_size
    );
}

/// One element in a paged data block of super block 13: libhdf5 creates exactly the index
/// block, that super block, that data block and that page (statistics measured with
/// 2.0.0: 1 super block of 598 bytes, 1 data block of 16414, max index 131061, 2052
/// elements).
#[test]
fn sparse_set_creates_what_libhdf5_creates() {
    let sizes = S88;
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(false, 0), sizes).unwrap();
    edit.set(131060, uel(1)).unwrap();
    assert_eq!(
        edit.header().stats,
        Stats {
            nsuper_blks: 1,
            super_blk_size: 598,
            ndata_blks: 1,
            data_blk_size: 16414,
            max_idx_set: 131061,
            nelmts: 2052
        }
    );
    let mut mem = Mem::new(0);
    let (addr, s) = store(&mut edit, &mut mem);
    assert_eq!(
        mem.allocs.iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![72, 298, 598, 16414]
    );
    let (sb, db) = (mem.allocs[2].0, mem.allocs[3].0);
    assert_eq!(write_addrs(&s), [db + 22, db, sb, 72, addr]);
    let mut want = BTreeMap::new();
    want.insert(131060, uel(1));
    check(&edit, &mem, &want);
    // A second element in another page of the same data block: that page and the super
    // block (its bitmap) only.
    edit.set(131060 + 1024, uel(2)).unwrap();
    want.insert(131060 + 1024, uel(2));
    let (_, s) = store(&mut edit, &mut mem);
    assert_eq!(write_addrs(&s), [db + 22 + 8196, sb, addr]);
    check(&edit, &mem, &want);
    // An element of the index block's own: the index block only (and the header? no:
    // the maximum index is already larger).
    edit.set(1, uel(3)).unwrap();
    want.insert(1, uel(3));
    let (_, s) = store(&mut edit, &mut mem);
    assert_eq!(write_addrs(&s), [72]);
    check(&edit, &mem, &want);
}

/// Grow a stored array past several super blocks after reloading it, clear and truncate.
#[test]
fn load_grow_clear_truncate() {
    let sizes = S88;
    let csl = crate::fixed_array::filtered_chunk_size_len(4, sizes, 4000);
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(true, csl), sizes).unwrap();
    let mut want = BTreeMap::new();
    for i in 0..300 {
        edit.set(i, felem(i)).unwrap();
        want.insert(i, felem(i));
    }
    let mut mem = Mem::new(0x800);
    let (addr, _) = store(&mut edit, &mut mem);
    check(&edit, &mem, &want);
    let mut again = load(&mem, addr, sizes);
    check(&again, &mem, &want);
    for i in (300..6000).step_by(7) {
        again.set(i, felem(i)).unwrap();
        want.insert(i, felem(i));
    }
    for i in (0..300).step_by(11) {
        again.clear(i).unwrap();
        want.remove(&i);
    }
    again.clear(100_000).unwrap(); // no block there: nothing happens
    store(&mut again, &mut mem);
    check(&again, &mem, &want);
    let len = *want.keys().last().unwrap() + 1;
    assert_eq!(again.len(), len);
    // Truncate to 2500 (libhdf5 clears the elements and keeps blocks and statistics).
    let stats = again.header().stats;
    let mut again: ExtensibleArrayEdit = load(&mem, addr, sizes);
    again.truncate(2500);
    want.retain(|&i, _| i < 2500);
    let (_, s) = store(&mut again, &mut mem);
    assert_eq!(again.header().stats, stats);
    // Only the data blocks holding cleared elements are rewritten.
    assert!(s
        .writes
        .iter()
        .all(|(a, b)| *a > addr && b.starts_with(b"EADB")));
    assert_eq!(
        s.writes.len(),
        again
            .dblocks
            .keys()
            .filter(|&&(u, d)| {
                let first = again.dblock_first(u, d);
                first + again.header().geometry.sblks[u].dblk_nelmts > 2500 && first < len
            })
            .count()
    );
    check(&again, &mem, &want);
    let mut again: ExtensibleArrayEdit = load(&mem, addr, sizes);
    again.truncate(0);
    store(&mut again, &mut mem);
    check(&again, &mem, &BTreeMap::new());
    assert_eq!(again.header().stats, stats);
}

/// Shrinking a 300-chunk array to 10 chunks: what libhdf5 2.0.0 leaves (measured: every
/// block and statistic kept, elements from 10 on undefined).
#[test]
fn truncate_keeps_blocks_like_libhdf5() {
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(false, 0), S88).unwrap();
    for i in 0..300 {
        edit.set(i, uel(i)).unwrap();
    }
    edit.truncate(10);
    let st = edit.header().stats;
    assert_eq!(
        [
            st.nsuper_blks,
            st.super_blk_size,
            st.ndata_blks,
            st.data_blk_size,
            st.max_idx_set,
            st.nelmts
        ],
        [1, 54, 7, 2586, 300, 308]
    );
    assert_eq!(
        edit.iter().map(|(i, _)| i).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn new_refuses_bad_parameters() {
    let d = ExtensibleArrayParams::default_for(false, 0);
    for bad in [
        ExtensibleArrayParams {
            data_blk_min_elmts: 12,
            ..d
        },
        ExtensibleArrayParams {
            sup_blk_min_data_ptrs: 3,
            ..d
        },
        ExtensibleArrayParams {
            max_nelmts_bits: 64,
            ..d
        },
        ExtensibleArrayParams {
            max_nelmts_bits: 3,
            ..d
        },
        ExtensibleArrayParams {
            filtered: true,
            chunk_size_len: 0,
            ..d
        },
    ] {
        assert!(
            matches!(
                ExtensibleArrayEdit::new(bad, S88).unwrap_err().kind,
                ErrorKind::Invalid(_)
            ),
            "{bad:?}"
        );
    }
    // Index-block data blocks of 32 and 64 elements with pages of 16: refused.
    let p = ExtensibleArrayParams {
        max_dblk_page_nelmts_bits: 4,
        ..d
    };
    assert!(matches!(
        ExtensibleArrayEdit::new(p, S88).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    assert!(ExtensibleArrayEdit::new(
        ExtensibleArrayParams {
            max_dblk_page_nelmts_bits: 6,
            ..d
        },
        S88
    )
    .is_ok());
    // Huge super blocks: a Limit on the set that would create them, nothing allocated.
    let p = ExtensibleArrayParams {
        max_nelmts_bits: 63,
        data_blk_min_elmts: 1,
        sup_blk_min_data_ptrs: 2,
        max_dblk_page_nelmts_bits: 63,
        ..d
    };
    let mut edit = ExtensibleArrayEdit::new(p, S88).unwrap();
    assert!(matches!(
        edit.set(1 << 62, uel(1)).unwrap_err().kind,
        ErrorKind::Limit { .. }
    ));
    edit.set(5, uel(5)).unwrap();
    assert_eq!(edit.get(5), Some(&uel(5)));
    // Addresses that do not fit 4 bytes.
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(false, 0), S44).unwrap();
    assert!(edit.set(0, uel(1 << 32)).is_err());
    edit.set(9, uel(1)).unwrap();
    let mut next = [0x10u64, 1 << 40].into_iter();
    assert!(matches!(
        edit.store(&mut |_| next.next().unwrap()).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
}

#[test]
fn load_rejects_bad_input() {
    let sizes = S88;
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(true, 8), sizes).unwrap();
    for i in [0, 10, 100, 1000] {
        edit.set(i, felem(i)).unwrap();
    }
    let mut mem = Mem::new(0x10);
    let (addr, _) = store(&mut edit, &mut mem);
    let loads = |m: &Mem| ExtensibleArrayEdit::load(addr, sizes, &mut |a, n| m.read(a, n));
    assert!(loads(&mem).is_ok());
    let blocks: Vec<(u64, u64)> = edit.extents();
    assert_eq!(blocks.len(), 2 + 2 + 2);
    // Truncated at the end of every block: the decoder of the last block reports it.
    for &(a, _) in &blocks {
        let mut m = Mem::new(0);
        m.bytes = mem.bytes[..a as usize + 20].to_vec();
        if let Err(e) = loads(&m) {
            assert_eq!(e.kind, ErrorKind::Truncated);
        }
    }
    let mut m = Mem::new(0);
    m.bytes = mem.bytes[..mem.bytes.len() - 1].to_vec();
    assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::Truncated);
    // Any corrupted byte at the start of each block: an error, never a panic.
    for &(a, _) in &blocks {
        for at in a..a + 40 {
            let mut m = Mem::new(0);
            m.bytes = mem.bytes.clone();
            m.bytes[at as usize] ^= 0x10;
            assert!(loads(&m).is_err(), "byte {at}");
        }
    }
    // Garbage.
    let mut m = Mem::new(0);
    m.bytes = (0..9000u32).map(|i| (i * 13 + 1) as u8).collect();
    assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::BadSignature);
    // A header with no index block: an empty array.
    m.bytes = header_bytes(sizes, &DEFAULTS, None);
    let e = ExtensibleArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap();
    assert_eq!((e.len(), e.iter().count()), (50, 0));
    // An index block overlapping the header.
    m.bytes = header_bytes(sizes, &DEFAULTS, Some(8));
    m.bytes.resize(1000, 0);
    let e = ExtensibleArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Invalid(_)));
    // Two data blocks at one address.
    let mut m = Mem::new(0);
    m.bytes = mem.bytes.clone();
    let ia = edit.header().index_block_addr.unwrap() as usize;
    let slots = ia + 14 + 4 * 20;
    let d0 = m.bytes[slots..slots + 8].to_vec();
    m.bytes[slots + 8..slots + 16].copy_from_slice(&d0);
    let end = ia + edit.header().index_block_size(sizes) as usize - 4;
    let c = crate::lookup3::checksum(&m.bytes[ia..end]);
    m.bytes[end..end + 4].copy_from_slice(&c.to_le_bytes());
    let e = loads(&m).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Invalid("block address (overlaps another block)")
    );
    // Paged index-block data blocks: unsupported.
    let p = Params {
        page_bits: 4,
        ..DEFAULTS
    };
    m.bytes = header_bytes(sizes, &p, None);
    let e = ExtensibleArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
    // Hostile geometry: the index block alone exceeds the limit; nothing that large is
    // read.
    let p = Params {
        bits: 63,
        min_elmts: 1,
        min_ptrs: 128,
        idx: 255,
        page_bits: 63,
        ..DEFAULTS
    };
    m.bytes = header_bytes(sizes, &p, Some(0x100));
    let mut asked = 0;
    let r = ExtensibleArrayEdit::load(0, sizes, &mut |a, n| {
        asked = n.max(asked);
        m.read(a, n)
    });
    assert!(r.is_err());
    assert!(asked < 1 << 20);
}

/// The extensible arrays libhdf5 2.0.0 wrote in the fixtures (one with a super block,
/// filtered and multi-dimensional ones), rebuilt element by element from a new model with
/// the file's block addresses: every block comes out byte for byte.
#[test]
fn libhdf5_fixtures_byte_exact() {
    const CHUNKIDX: &[u8] = include_bytes!("../../../../../fixtures/files/chunkidx_latest.h5");
    let file = CHUNKIDX;
    let read = |a: u64, n: usize| {
        file.get(a as usize..a as usize + n)
            .map(<[u8]>::to_vec)
            .ok_or(Error::new("fixture", a, ErrorKind::Truncated))
    };
    let mut found = Vec::new();
    for at in (0..file.len() - 4).filter(|&i| file[i..i + 4] == HEADER_SIGNATURE) {
        let at = at as u64;
        let loaded = ExtensibleArrayEdit::load(at, S88, &mut |a, n| read(a, n)).unwrap();
        // The file's block addresses in the model's allocation order.
        let ib = loaded.iblock.as_ref().unwrap();
        let mut order = vec![at, ib.addr.unwrap()];
        order.extend(ib.dblk_addrs.iter().flatten());
        for sb in loaded.sblocks.values() {
            order.push(sb.addr.unwrap());
            order.extend(sb.dblk_addrs.iter().flatten());
        }
        let mut fresh = ExtensibleArrayEdit::new(loaded.params(), S88).unwrap();
        for (i, e) in loaded.iter() {
            fresh.set(i, *e).unwrap();
        }
        assert_eq!(fresh.header().stats, loaded.header().stats);
        let mut next = order.clone().into_iter();
        let (a, s) = fresh.store(&mut |_| next.next().unwrap()).unwrap();
        assert_eq!(next.next(), None);
        assert_eq!(a, at);
        assert_eq!(s.writes.len(), order.len());
        for (wa, bytes) in &s.writes {
            assert_eq!(
                bytes.as_slice(),
                &file[*wa as usize..*wa as usize + bytes.len()],
                "array at {at}, block at {wa}"
            );
        }
        found.push((
            loaded.header().stats.nsuper_blks,
            loaded.header().filtered(),
        ));
        let mut loaded = loaded;
        assert!(loaded
            .store(&mut |_| unreachable!())
            .unwrap()
            .1
            .writes
            .is_empty());
    }
    assert_eq!(found, vec![(1, false), (0, true), (0, false), (0, false)]);
}

/// FNV-1a over `(address, length, bytes)` of each write, in address order.
fn digest(writes: &[(u64, Vec<u8>)]) -> u64 {
    let mut sorted: Vec<&(u64, Vec<u8>)> = writes.iter().collect();
    sorted.sort();
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (a, b) in sorted {
        for x in a
            .to_le_bytes()
            .iter()
            .chain(&(b.len() as u64).to_le_bytes())
            .chain(b)
        {
            h = (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Rebuild an unfiltered array libhdf5 2.0.0 wrote from `runs` of `(first index, count,
/// first address)` (chunk addresses step by 1 byte) with the file's block addresses in
/// allocation order, and compare the digest of all writes (header, index block, super
/// blocks, data blocks, initialised pages) with the digest of the same byte ranges of
/// the file.
fn rebuild(runs: &[(u64, u64, u64)], allocs: &[u64]) -> (Stored, ExtensibleArrayEdit) {
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(false, 0), S88).unwrap();
    for &(first, count, addr) in runs {
        for k in 0..count {
            edit.set(first + k, uel(0).with_addr(addr + k)).unwrap();
        }
    }
    let mut next = allocs.iter().copied();
    let (a, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
    assert_eq!((a, next.next()), (allocs[0], None));
    (s, edit)
}

impl ChunkElement {
    fn with_addr(self, a: u64) -> Self {
        ChunkElement {
            addr: Some(a),
            ..self
        }
    }
}

/// A 140000-chunk dataset with chunks 2, 300, 133200 and 139999 written (h5py,
/// `libver="latest"`): index block, super blocks 4 and 13, three data blocks (two paged,
/// one page each).
#[test]
fn libhdf5_sparse_array_byte_exact() {
    let runs = [
        (2, 1, 2049),
        (300, 1, 2048),
        (133200, 1, 2051),
        (139999, 1, 2050),
    ];
    let (s, edit) = rebuild(&runs, &[447, 519, 817, 871, 1405, 20510, 4096]);
    assert_eq!(s.writes.len(), 9);
    assert_eq!(s.writes.iter().map(|w| w.1.len()).sum::<usize>(), 17992);
    assert_eq!(digest(&s.writes), 0xeedc_1f8e_560a_b512);
    let st = edit.header().stats;
    assert_eq!(
        [
            st.nsuper_blks,
            st.super_blk_size,
            st.ndata_blks,
            st.data_blk_size,
            st.max_idx_set,
            st.nelmts
        ],
        [2, 652, 3, 33362, 140000, 4164]
    );
}

/// A dataset grown by resizing to 141111 one-byte chunks, all written (h5py,
/// `libver="latest"`): the index block's 6 data blocks, super blocks 4 to 13 with 189 data
/// blocks, the 5 data blocks of super block 13 paged (10 pages).
#[test]
fn libhdf5_grown_array_byte_exact() {
    #[rustfmt::skip]
    const ALLOCS: [u64; 207] = [
    447, 519, 817, 967, 1245, 1523, 4096, 4630, 1801, 5164,
    5698, 6232, 6766, 1855, 7300, 8346, 9392, 10438, 1909, 11484,
    12530, 13576, 14622, 15668, 16714, 17760, 18806, 19852, 19938, 24056,
    26126, 28196, 30266, 32336, 34406, 36476, 38546, 38696, 42814, 44884,
    46954, 49024, 51094, 53164, 55234, 57304, 61422, 63492, 65562, 67632,
    69702, 71772, 73842, 75912, 76062, 82228, 86346, 90464, 94582, 100748,
    104866, 108984, 113102, 119268, 123386, 127504, 131622, 137788, 141906, 146024,
    150142, 150420, 156586, 160704, 164822, 168940, 175106, 179224, 183342, 187460,
    193626, 197744, 201862, 205980, 212146, 216264, 220382, 224500, 230666, 234784,
    238902, 243020, 249186, 253304, 257422, 261540, 267706, 271824, 275942, 280060,
    286226, 290344, 294462, 298580, 298858, 309120, 317334, 327596, 335810, 346072,
    354286, 364548, 372762, 383024, 391238, 401500, 409714, 419976, 428190, 438452,
    446666, 456928, 465142, 475404, 483618, 493880, 502094, 512356, 520570, 530832,
    539046, 549308, 557522, 567784, 575998, 586260, 594474, 595008, 605270, 613484,
    623746, 631960, 642222, 650436, 660698, 668912, 679174, 687388, 697650, 705864,
    716126, 724340, 734602, 742816, 753078, 761292, 771554, 779768, 790030, 798244,
    808506, 816720, 826982, 835196, 845458, 853672, 863934, 872148, 882410, 890624,
    900886, 909100, 919362, 927576, 937838, 946052, 956314, 964528, 974790, 983004,
    993266, 1001480, 1011742, 1019956, 1030218, 1038432, 1048694, 1056908, 1067170, 1075384,
    1085646, 1093860, 1104122, 1112336, 1122598, 1130812, 1141074, 1149288, 1159550, 1167764,
    1178026, 1186240, 1186838, 1205300, 1223762, 1242224, 1260686,
    ];
    #[rustfmt::skip]
    const RUNS: [(u64, u64, u64); 69] = [
    (0, 2048, 2048),
    (2048, 2048, 22008),
    (4096, 2048, 40766),
    (6144, 2048, 59374),
    (8192, 2048, 80180),
    (10240, 2048, 98700),
    (12288, 2048, 117220),
    (14336, 2048, 135740),
    (16384, 2048, 154538),
    (18432, 2048, 173058),
    (20480, 2048, 191578),
    (22528, 2048, 210098),
    (24576, 2048, 228618),
    (26624, 2048, 247138),
    (28672, 2048, 265658),
    (30720, 2048, 284178),
    (32768, 2048, 307072),
    (34816, 2048, 325548),
    (36864, 2048, 344024),
    (38912, 2048, 362500),
    (40960, 2048, 380976),
    (43008, 2048, 399452),
    (45056, 2048, 417928),
    (47104, 2048, 436404),
    (49152, 2048, 454880),
    (51200, 2048, 473356),
    (53248, 2048, 491832),
    (55296, 2048, 510308),
    (57344, 2048, 528784),
    (59392, 2048, 547260),
    (61440, 2048, 565736),
    (63488, 2048, 584212),
    (65536, 2048, 603222),
    (67584, 2048, 621698),
    (69632, 2048, 640174),
    (71680, 2048, 658650),
    (73728, 2048, 677126),
    (75776, 2048, 695602),
    (77824, 2048, 714078),
    (79872, 2048, 732554),
    (81920, 2048, 751030),
    (83968, 2048, 769506),
    (86016, 2048, 787982),
    (88064, 2048, 806458),
    (90112, 2048, 824934),
    (92160, 2048, 843410),
    (94208, 2048, 861886),
    (96256, 2048, 880362),
    (98304, 2048, 898838),
    (100352, 2048, 917314),
    (102400, 2048, 935790),
    (104448, 2048, 954266),
    (106496, 2048, 972742),
    (108544, 2048, 991218),
    (110592, 2048, 1009694),
    (112640, 2048, 1028170),
    (114688, 2048, 1046646),
    (116736, 2048, 1065122),
    (118784, 2048, 1083598),
    (120832, 2048, 1102074),
    (122880, 2048, 1120550),
    (124928, 2048, 1139026),
    (126976, 2048, 1157502),
    (129024, 2048, 1175978),
    (131072, 2048, 1203252),
    (133120, 2048, 1221714),
    (135168, 2048, 1240176),
    (137216, 2048, 1258638),
    (139264, 1847, 1277100),
    ];
    let (s, edit) = rebuild(&RUNS, &ALLOCS);
    assert_eq!(s.writes.len(), 217);
    assert_eq!(s.writes.iter().map(|w| w.1.len()).sum::<usize>(), 1137336);
    assert_eq!(digest(&s.writes), 0xf33e_c94b_88a2_f4d3);
    assert_eq!(edit.iter().count(), 141111);
    let st = edit.header().stats;
    assert_eq!(
        [
            st.nsuper_blks,
            st.super_blk_size,
            st.ndata_blks,
            st.data_blk_size,
            st.max_idx_set,
            st.nelmts
        ],
        [10, 2268, 195, 1134698, 141111, 141300]
    );
}

/// The header of a filtered dataset grown to 140333 chunks (h5py, `libver="latest"`,
/// gzip): statistics and element size as libhdf5 2.0.0 wrote them.
#[test]
fn libhdf5_grown_filtered_header_byte_exact() {
    let mut edit =
        ExtensibleArrayEdit::new(ExtensibleArrayParams::default_for(true, 8), S88).unwrap();
    for i in 0..140333 {
        edit.set(i, felem(i)).unwrap();
    }
    let mut next = [447u64, 519].into_iter().chain(10_000..);
    let (_, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
    assert_eq!(
        s.writes.last().unwrap(),
        &(
            447,
            hex(
                "45414844000114200410040a0a00000000000000dc08000000000000c300000000000000
                 aa2f2b00000000002d24020000000000f427020000000000070200000000000099b5e95a"
            )
        )
    );
}

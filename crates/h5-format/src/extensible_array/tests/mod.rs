use super::*;
use crate::chunk_array::test_util::{hex, put, put_addr, put_elem, seal, S44, S88};
use crate::chunk_array::ChunkElement;
use crate::error::{Error, ErrorKind};
use crate::reader::{Addr, Sizes};
use crate::writer::Stored;
use alloc::vec;

mod edit;

struct Params {
    client: u8,
    esize: u8,
    bits: u8,
    idx: u8,
    min_elmts: u8,
    min_ptrs: u8,
    page_bits: u8,
}

/// libhdf5's defaults for chunk indexes: 32 bits, 4 index block elements, 16 minimum
/// data block elements, 4 minimum pointers, pages of 1024.
const DEFAULTS: Params = Params {
    client: 0,
    esize: 8,
    bits: 32,
    idx: 4,
    min_elmts: 16,
    min_ptrs: 4,
    page_bits: 10,
};

fn header_bytes(sizes: Sizes, p: &Params, iblock: Addr) -> Vec<u8> {
    let mut b = b"EAHD".to_vec();
    b.extend_from_slice(&[
        0,
        p.client,
        p.esize,
        p.bits,
        p.idx,
        p.min_elmts,
        p.min_ptrs,
        p.page_bits,
    ]);
    for stat in 1..=6u64 {
        put(&mut b, stat * 10, sizes.length as usize);
    }
    put_addr(&mut b, sizes, iblock);
    seal(b)
}

fn block_prefix(sig: &[u8; 4], sizes: Sizes, client: u8, hdr_addr: u64) -> Vec<u8> {
    let mut b = sig.to_vec();
    b.extend_from_slice(&[0, client]);
    put_addr(&mut b, sizes, Some(hdr_addr));
    b
}

fn decode_defaults() -> Header {
    Header::decode(&header_bytes(S88, &DEFAULTS, Some(0x1000)), 0x800, S88).unwrap()
}

#[test]
fn geometry_matches_libhdf5_defaults() {
    let g = Geometry::new(32, 16, 4, 10).unwrap();
    assert_eq!(g.nsblks(), 29);
    assert_eq!(g.iblock_nsblks, 4);
    assert_eq!(g.ndblk_addrs, 6);
    assert_eq!(g.nsblk_addrs, 25);
    assert_eq!(g.arr_off_size, 4);
    assert_eq!(g.dblk_page_nelmts, 1024);
    let first: Vec<(u64, u64, u64, u64)> = g.sblks[..6]
        .iter()
        .map(|s| (s.ndblks, s.dblk_nelmts, s.start_idx, s.start_dblk))
        .collect();
    assert_eq!(
        first,
        vec![
            (1, 16, 0, 0),
            (1, 32, 16, 1),
            (2, 32, 48, 2),
            (2, 64, 112, 4),
            (4, 64, 240, 6),
            (4, 128, 496, 10)
        ]
    );
    // The index block's data blocks are exactly those of its super blocks.
    let s3 = g.sblks[3];
    assert_eq!(s3.start_dblk + s3.ndblks, g.ndblk_addrs as u64);
    // start_idx(u) = (2^u - 1)·m and the whole array holds 2^bits - m elements.
    for (u, s) in g.sblks.iter().enumerate() {
        assert_eq!(s.start_idx, ((1u64 << u) - 1) * 16);
        assert_eq!(s.ndblks * s.dblk_nelmts, (1u64 << u) * 16);
    }
    assert_eq!(g.capacity(), (1u64 << 33) - 16);
    // Paging starts where data blocks exceed 1024 elements: u = 13 (2048 elements).
    assert!(!g.is_paged(12));
    assert!(g.is_paged(13));
    assert_eq!((g.dblk_npages(13), g.dblk_page_init_size(13)), (2, 1));
    assert_eq!((g.dblk_npages(28), g.dblk_page_init_size(28)), (256, 32));
    assert!(!g.is_paged(29));
    assert_eq!(g.dblk_npages(99), 0);
}

#[test]
fn geometry_bounds() {
    let g = Geometry::new(63, 1, 2, 0).unwrap();
    assert_eq!(g.nsblks(), MAX_SUPER_BLOCKS);
    assert_eq!(g.capacity(), (1u64 << 63) + ((1u64 << 63) - 1));
    assert_eq!(g.arr_off_size, 8);
    assert_eq!(
        Geometry::new(64, 1, 2, 0).unwrap_err(),
        "maximum number of elements bits"
    );
    assert_eq!(
        Geometry::new(0, 1, 2, 0).unwrap_err(),
        "maximum number of elements bits"
    );
    assert_eq!(
        Geometry::new(3, 16, 2, 0).unwrap_err(),
        "maximum number of elements bits"
    );
    assert_eq!(Geometry::new(4, 16, 1, 0).unwrap().nsblks(), 1);
    assert!(Geometry::new(4, 16, 2, 0).is_err());
    assert_eq!(
        Geometry::new(8, 0, 2, 0).unwrap_err(),
        "data block minimum elements"
    );
    assert_eq!(
        Geometry::new(8, 12, 2, 0).unwrap_err(),
        "data block minimum elements"
    );
    assert!(Geometry::new(8, 1, 6, 0).is_err());
    assert!(Geometry::new(8, 1, 0, 0).is_err());
    // 128 pointers need 14 super blocks in the index block; 4 bits with m = 1 give 5.
    assert!(Geometry::new(4, 1, 128, 0).is_err());
    // A single pointer: no data blocks in the index block.
    let g = Geometry::new(8, 1, 1, 0).unwrap();
    assert_eq!((g.iblock_nsblks, g.ndblk_addrs, g.nsblk_addrs), (0, 0, 9));
    // Page bits of 64 or more: never paged.
    let g = Geometry::new(8, 1, 2, 64).unwrap();
    assert_eq!(g.dblk_page_nelmts, u64::MAX);
    assert!(!g.is_paged(8));
}

#[test]
fn header_decoding_and_errors() {
    let hb = header_bytes(S88, &DEFAULTS, Some(0x1000));
    assert_eq!(hb.len(), Header::size(S88));
    let h = Header::decode(&hb, 0x800, S88).unwrap();
    assert_eq!(h.addr, 0x800);
    assert_eq!((h.client_id, h.element_size, h.max_nelmts_bits), (0, 8, 32));
    assert_eq!(
        (
            h.idx_blk_elmts,
            h.data_blk_min_elmts,
            h.sup_blk_min_data_ptrs
        ),
        (4, 16, 4)
    );
    assert_eq!(h.max_dblk_page_nelmts_bits, 10);
    assert_eq!(
        h.stats,
        Stats {
            nsuper_blks: 10,
            super_blk_size: 20,
            ndata_blks: 30,
            data_blk_size: 40,
            max_idx_set: 50,
            nelmts: 60
        }
    );
    assert_eq!(h.index_block_addr, Some(0x1000));
    assert!(!h.filtered());
    assert_eq!(h.geometry, Geometry::new(32, 16, 4, 10).unwrap());
    assert_eq!(h.capacity(), 4 + (1u64 << 33) - 16);

    for n in 0..hb.len() {
        assert_eq!(
            Header::decode(&hb[..n], 0x800, S88).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }
    let mut bad = hb.clone();
    bad[0] = b'F';
    assert_eq!(
        Header::decode(&bad, 0x800, S88).unwrap_err().kind,
        ErrorKind::BadSignature
    );
    let mut bad = hb.clone();
    bad[20] ^= 4;
    let e = Header::decode(&bad, 0x800, S88).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x800 + hb.len() as u64 - 4);
    let mut bad = hb[..hb.len() - 4].to_vec();
    bad[4] = 2;
    assert_eq!(
        Header::decode(&seal(bad), 0x800, S88).unwrap_err().kind,
        ErrorKind::VersionNotAccepted {
            version: 2,
            accepted: &[0]
        }
    );

    let p = Params {
        min_elmts: 24,
        ..DEFAULTS
    };
    let e = Header::decode(&header_bytes(S88, &p, None), 0x800, S88).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Invalid("data block minimum elements"), 0x805)
    );
    let p = Params {
        esize: 4,
        ..DEFAULTS
    };
    assert!(matches!(
        Header::decode(&header_bytes(S88, &p, None), 0, S88)
            .unwrap_err()
            .kind,
        ErrorKind::Invalid(_)
    ));
    let p = Params {
        client: 3,
        ..DEFAULTS
    };
    let e = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));

    // Small sizes: 4-byte offsets and lengths, filtered elements with 2-byte sizes.
    let p = Params {
        client: 1,
        esize: 10,
        ..DEFAULTS
    };
    let hb = header_bytes(S44, &p, None);
    assert_eq!(hb.len(), Header::size(S44));
    let h = Header::decode(&hb, 0, S44).unwrap();
    assert!(h.filtered());
    assert_eq!(h.format.chunk_size_len, 2);
    assert_eq!(h.index_block_addr, None);
}

#[test]
fn block_sizes() {
    let h = decode_defaults();
    // 4+1+1+8 + 4·8 elements + (6+25)·8 addresses + 4.
    assert_eq!(h.index_block_size(S88), 14 + 32 + 248 + 4);
    // Prefix: 14 + 4 (block offset) + 4.
    assert_eq!(h.data_block_prefix_size(S88), 22);
    assert_eq!(h.data_block_size(S88, 0).unwrap(), 22 + 16 * 8);
    assert_eq!(h.data_block_size(S88, 12).unwrap(), 22 + 1024 * 8);
    assert_eq!(h.data_block_size(S88, 13).unwrap(), 22);
    assert_eq!(h.super_block_size(S88, 4).unwrap(), 22 + 4 * 8);
    // u = 13: 64 data blocks of 2 pages → 1 bitmap byte each.
    assert_eq!(h.super_block_size(S88, 13).unwrap(), 22 + 64 + 64 * 8);
    assert!(matches!(
        h.super_block_size(S88, 29).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    assert!(matches!(
        h.data_block_size(S88, 29).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    assert_eq!(h.page_size(), 1024 * 8 + 4);
    assert_eq!(h.page_addr(0x10000, S88, 13, 0), Some(0x10000 + 22));
    assert_eq!(h.page_addr(0x10000, S88, 13, 1), Some(0x10000 + 22 + 8196));
    assert_eq!(h.page_addr(0x10000, S88, 13, 2), None);
    assert_eq!(h.page_addr(0x10000, S88, 12, 0), None);
    assert_eq!(h.page_addr(u64::MAX - 30, S88, 13, 1), None);
    assert_eq!(h.page_of(13, 1500), Some((1, 476)));
    assert_eq!(h.page_of(12, 5), None);
    assert_eq!(h.block_offset(4, 0), Some(240));
    assert_eq!(h.block_offset(4, 3), Some(240 + 3 * 64));
    assert_eq!(h.block_offset(40, 0), None);
    // What libhdf5 stores in the data block of index-block slot 1 (super block 1).
    assert_eq!(h.block_offset(1, 1), Some(48));
}

#[test]
fn locate_arithmetic() {
    let h = decode_defaults();
    assert_eq!(h.locate(0), Some(Location::InIndexBlock(0)));
    assert_eq!(h.locate(3), Some(Location::InIndexBlock(3)));
    // j = 0..16: super block 0, data block 0.
    assert_eq!(
        h.locate(4),
        Some(Location::DataBlockInIndex {
            dblk: 0,
            offset: 0,
            sblk: 0
        })
    );
    assert_eq!(
        h.locate(19),
        Some(Location::DataBlockInIndex {
            dblk: 0,
            offset: 15,
            sblk: 0
        })
    );
    // j = 16..48: super block 1 (one block of 32).
    assert_eq!(
        h.locate(20),
        Some(Location::DataBlockInIndex {
            dblk: 1,
            offset: 0,
            sblk: 1
        })
    );
    // j = 48..112: super block 2, two blocks of 32.
    assert_eq!(
        h.locate(4 + 48 + 33),
        Some(Location::DataBlockInIndex {
            dblk: 3,
            offset: 1,
            sblk: 2
        })
    );
    // j = 112..240: super block 3, two blocks of 64 (index data blocks 4 and 5).
    assert_eq!(
        h.locate(4 + 239),
        Some(Location::DataBlockInIndex {
            dblk: 5,
            offset: 63,
            sblk: 3
        })
    );
    // j = 240: first stored super block (u = 4, slot 0), four blocks of 64.
    assert_eq!(
        h.locate(4 + 240),
        Some(Location::InSuperBlock {
            sblk_slot: 0,
            sblk: 4,
            dblk: 0,
            offset: 0
        })
    );
    assert_eq!(
        h.locate(4 + 240 + 3 * 64 + 5),
        Some(Location::InSuperBlock {
            sblk_slot: 0,
            sblk: 4,
            dblk: 3,
            offset: 5
        })
    );
    assert_eq!(
        h.locate(4 + 496),
        Some(Location::InSuperBlock {
            sblk_slot: 1,
            sblk: 5,
            dblk: 0,
            offset: 0
        })
    );
    // Last element and one past the end.
    let last = h.capacity() - 1;
    assert_eq!(
        h.locate(last),
        Some(Location::InSuperBlock {
            sblk_slot: 24,
            sblk: 28,
            dblk: 16383,
            offset: (1 << 18) - 1
        })
    );
    assert_eq!(h.locate(last + 1), None);
    assert_eq!(h.locate(u64::MAX), None);

    // Brute force: every element maps to a distinct slot consistent with block sizes.
    let g = &h.geometry;
    let mut expect_j = 0u64;
    for u in 0..8 {
        let s = g.sblks[u];
        for d in 0..s.ndblks {
            for k in 0..s.dblk_nelmts {
                let got = h.locate(4 + expect_j).unwrap();
                let want = if u < g.iblock_nsblks {
                    Location::DataBlockInIndex {
                        dblk: (s.start_dblk + d) as usize,
                        offset: k,
                        sblk: u,
                    }
                } else {
                    Location::InSuperBlock {
                        sblk_slot: u - 4,
                        sblk: u,
                        dblk: d as usize,
                        offset: k,
                    }
                };
                assert_eq!(got, want, "element {}", 4 + expect_j);
                expect_j += 1;
            }
        }
    }

    // m = 1 and 63 bits: the largest index does not overflow.
    let p = Params {
        bits: 63,
        min_elmts: 1,
        min_ptrs: 2,
        idx: 0,
        ..DEFAULTS
    };
    let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
    assert!(matches!(
        h.locate(u64::MAX - 1),
        Some(Location::InSuperBlock { sblk: 63, .. })
    ));
    assert_eq!(h.locate(u64::MAX), None);
}

#[test]
fn hand_built_headers_do_not_panic() {
    let mut h = decode_defaults();
    // Iterators stay exhausted.
    let mut it = h.blocks(30);
    assert_eq!(it.by_ref().count(), 3);
    assert_eq!((it.next(), it.next()), (None, None));
    // Inconsistent geometry: zero-sized pages, no super blocks, absurd counts.
    h.geometry.dblk_page_nelmts = 0;
    assert_eq!(h.geometry.dblk_npages(13), 0);
    h.geometry.iblock_nsblks = 100;
    h.geometry.ndblk_addrs = usize::MAX;
    h.geometry.nsblk_addrs = usize::MAX;
    assert_eq!(h.index_block_size(S88), u64::MAX);
    let _ = h.blocks(u64::MAX).take(100).count();
    h.geometry.sblks.clear();
    assert_eq!(h.locate(10), None);
    assert_eq!(h.geometry.capacity(), 0);
    assert_eq!(h.blocks(u64::MAX).take(100).count(), 1);
    assert!(h.super_block_size(S88, 0).is_err());
    assert!(h.data_block_size(S88, 0).is_err());
    assert_eq!(h.page_addr(0, S88, 0, 0), None);
    assert_eq!(h.block_offset(0, 0), None);
}

#[test]
fn blocks_listing() {
    let h = decode_defaults();
    assert_eq!(h.blocks(0).count(), 0);
    assert_eq!(
        h.blocks(3).collect::<Vec<_>>(),
        vec![Block::IndexBlockElements { count: 3 }]
    );
    assert_eq!(
        h.blocks(21).collect::<Vec<_>>(),
        vec![
            Block::IndexBlockElements { count: 4 },
            Block::IndexDataBlock {
                slot: 0,
                sblk: 0,
                first: 4,
                nelmts: 16
            },
            Block::IndexDataBlock {
                slot: 1,
                sblk: 1,
                first: 20,
                nelmts: 32
            },
        ]
    );
    let all: Vec<Block> = h.blocks(4 + 496 + 1).collect();
    assert_eq!(all.len(), 1 + 6 + 2);
    assert_eq!(
        all[3],
        Block::IndexDataBlock {
            slot: 2,
            sblk: 2,
            first: 52,
            nelmts: 32
        }
    );
    assert_eq!(
        all[6],
        Block::IndexDataBlock {
            slot: 5,
            sblk: 3,
            first: 4 + 176,
            nelmts: 64
        }
    );
    assert_eq!(
        all[7],
        Block::SuperBlock {
            slot: 0,
            sblk: 4,
            first: 244,
            ndblks: 4,
            dblk_nelmts: 64
        }
    );
    assert_eq!(
        all[8],
        Block::SuperBlock {
            slot: 1,
            sblk: 5,
            first: 500,
            ndblks: 1,
            dblk_nelmts: 128
        }
    );
    // Partial super block: 244 + 65 elements touch 2 of its 4 data blocks.
    assert_eq!(
        h.blocks(244 + 65).last(),
        Some(Block::SuperBlock {
            slot: 0,
            sblk: 4,
            first: 244,
            ndblks: 2,
            dblk_nelmts: 64
        })
    );
    // Everything: 1 + 6 + 25 items, and the listing agrees with `locate`.
    let all: Vec<Block> = h.blocks(u64::MAX).collect();
    assert_eq!(all.len(), 32);
    for b in &all {
        match *b {
            Block::IndexBlockElements { count } => assert_eq!(count, 4),
            Block::IndexDataBlock {
                slot,
                sblk,
                first,
                nelmts,
            } => {
                assert_eq!(
                    h.locate(first),
                    Some(Location::DataBlockInIndex {
                        dblk: slot,
                        offset: 0,
                        sblk
                    })
                );
                assert!(
                    matches!(h.locate(first + nelmts - 1), Some(Location::DataBlockInIndex { dblk, .. }) if dblk == slot)
                );
            }
            Block::SuperBlock {
                slot,
                sblk,
                first,
                ndblks,
                dblk_nelmts,
            } => {
                assert_eq!(ndblks, h.geometry.sblks[sblk].ndblks);
                let want = Location::InSuperBlock {
                    sblk_slot: slot,
                    sblk,
                    dblk: (ndblks - 1) as usize,
                    offset: 0,
                };
                assert_eq!(h.locate(first + (ndblks - 1) * dblk_nelmts), Some(want));
            }
        }
    }
    // No index-block elements: the listing starts with the first data block.
    let p = Params { idx: 0, ..DEFAULTS };
    let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
    assert_eq!(
        h.blocks(1).collect::<Vec<_>>(),
        vec![Block::IndexDataBlock {
            slot: 0,
            sblk: 0,
            first: 0,
            nelmts: 16
        }]
    );
}

/// A small filtered array: 4-byte addresses, 2 index elements, m = 2, 2 pointers, pages
/// of 4 elements, 6 bits (64 elements): nsblks = 6, iblock_nsblks = 2, 2 index data
/// blocks, 4 super blocks; data blocks of super blocks 3.. (8 elements) are paged.
fn small() -> (Header, Params) {
    let p = Params {
        client: 1,
        esize: 4 + 3 + 4,
        bits: 6,
        idx: 2,
        min_elmts: 2,
        min_ptrs: 2,
        page_bits: 2,
    };
    let h = Header::decode(&header_bytes(S44, &p, Some(0x100)), 0x40, S44).unwrap();
    (h, p)
}

fn felem(i: u64) -> ChunkElement {
    ChunkElement {
        addr: Some(0x1_0000 + i),
        size: Some(i * 3),
        filter_mask: (i % 2) as u32,
    }
}

#[test]
fn small_geometry() {
    let (h, _) = small();
    let g = &h.geometry;
    assert_eq!(
        (g.nsblks(), g.iblock_nsblks, g.ndblk_addrs, g.nsblk_addrs),
        (6, 2, 2, 4)
    );
    assert_eq!(g.arr_off_size, 1);
    let dims: Vec<(u64, u64)> = g.sblks.iter().map(|s| (s.ndblks, s.dblk_nelmts)).collect();
    assert_eq!(dims, vec![(1, 2), (1, 4), (2, 4), (2, 8), (4, 8), (4, 16)]);
    assert_eq!(
        (
            g.is_paged(2),
            g.is_paged(3),
            g.dblk_npages(3),
            g.dblk_npages(5)
        ),
        (false, true, 2, 4)
    );
    assert_eq!(h.capacity(), 2 + 126);
    let starts: Vec<u64> = g.sblks.iter().map(|s| s.start_idx).collect();
    assert_eq!(starts, vec![0, 2, 6, 14, 30, 62]);
}

#[test]
fn index_block_round_trip() {
    let (h, _) = small();
    let mut b = block_prefix(&INDEX_BLOCK_SIGNATURE, S44, 1, 0x40);
    put_elem(&mut b, S44, &felem(0), 3);
    put_elem(
        &mut b,
        S44,
        &ChunkElement {
            addr: None,
            size: Some(0),
            filter_mask: 0,
        },
        3,
    );
    put_addr(&mut b, S44, Some(0x200));
    put_addr(&mut b, S44, None);
    for a in [Some(0x300), None, None, Some(0x400)] {
        put_addr(&mut b, S44, a);
    }
    let b = seal(b);
    assert_eq!(b.len() as u64, h.index_block_size(S44));
    let ib = IndexBlock::decode(&b, 0x100, S44, &h).unwrap();
    assert_eq!(
        ib.elements,
        vec![
            felem(0),
            ChunkElement {
                addr: None,
                size: Some(0),
                filter_mask: 0
            }
        ]
    );
    assert_eq!(ib.dblk_addrs, vec![Some(0x200), None]);
    assert_eq!(ib.sblk_addrs, vec![Some(0x300), None, None, Some(0x400)]);

    for n in 0..b.len() {
        assert_eq!(
            IndexBlock::decode(&b[..n], 0x100, S44, &h)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
    }
    let mut bad = b.clone();
    bad[2] = b'X';
    assert_eq!(
        IndexBlock::decode(&bad, 0x100, S44, &h).unwrap_err().kind,
        ErrorKind::BadSignature
    );
    let mut bad = b.clone();
    bad[12] ^= 1;
    assert!(matches!(
        IndexBlock::decode(&bad, 0x100, S44, &h).unwrap_err().kind,
        ErrorKind::BadChecksum { .. }
    ));
    let other = Header {
        addr: 0x44,
        ..h.clone()
    };
    let e = IndexBlock::decode(&b, 0x100, S44, &other).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Invalid("header address"), 0x106)
    );
    let other = Header {
        client_id: 0,
        ..h.clone()
    };
    let e = IndexBlock::decode(&b, 0x100, S44, &other).unwrap_err();
    assert_eq!(e.offset, 0x105);
    let mut bad = b[..b.len() - 4].to_vec();
    bad[4] = 1;
    assert_eq!(
        IndexBlock::decode(&seal(bad), 0x100, S44, &h)
            .unwrap_err()
            .kind,
        ErrorKind::VersionNotAccepted {
            version: 1,
            accepted: &[0]
        }
    );
}

#[test]
fn super_block_with_page_bitmap() {
    let (h, _) = small();
    // Super block u = 3 (slot 1): 2 data blocks of 8 elements = 2 pages each.
    let u = 3;
    assert_eq!(
        h.super_block_size(S44, u).unwrap(),
        4 + 2 + 4 + 1 + 2 + 2 * 4 + 4
    );
    let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S44, 1, 0x40);
    put(&mut b, h.block_offset(u, 0).unwrap(), 1);
    // Bits dblk·2 + page, MSB first: dblk 0 page 1 (bit 1) and dblk 1 page 0 (bit 2).
    b.extend_from_slice(&[0b0110_0000, 0]);
    put_addr(&mut b, S44, Some(0x500));
    put_addr(&mut b, S44, None);
    let b = seal(b);
    assert_eq!(b.len() as u64, h.super_block_size(S44, u).unwrap());
    let sb = SuperBlock::decode(&b, 0x300, S44, &h, u).unwrap();
    assert_eq!(sb.sblk, 3);
    assert_eq!(sb.block_offset, 14);
    assert_eq!(sb.dblk_npages, 2);
    assert_eq!(sb.page_init.as_deref(), Some(&[0b0110_0000u8, 0][..]));
    assert_eq!(sb.dblk_addrs, vec![Some(0x500), None]);
    let bits: Vec<bool> = (0..2)
        .flat_map(|d| (0..2).map(move |p| (d, p)))
        .map(|(d, p)| sb.page_initialised(d, p))
        .collect();
    assert_eq!(bits, vec![false, true, true, false]);
    assert!(!sb.page_initialised(0, 2));
    assert!(!sb.page_initialised(u64::MAX, 1));

    for n in 0..b.len() {
        assert_eq!(
            SuperBlock::decode(&b[..n], 0x300, S44, &h, u)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
    }
    let mut bad = b.clone();
    bad[11] ^= 0x10;
    assert!(matches!(
        SuperBlock::decode(&bad, 0x300, S44, &h, u)
            .unwrap_err()
            .kind,
        ErrorKind::BadChecksum { .. }
    ));
    let mut bad = b.clone();
    bad[0] = b'F';
    assert_eq!(
        SuperBlock::decode(&bad, 0x300, S44, &h, u)
            .unwrap_err()
            .kind,
        ErrorKind::BadSignature
    );
    assert!(matches!(
        SuperBlock::decode(&b, 0x300, S44, &h, 6).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    // Decoded as a super block of another size it no longer fits its checksum.
    assert!(SuperBlock::decode(&b, 0x300, S44, &h, 2).is_err());

    // An unpaged super block (u = 2): no bitmap, every page "initialised".
    let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S44, 1, 0x40);
    put(&mut b, 6, 1);
    put_addr(&mut b, S44, Some(0x600));
    put_addr(&mut b, S44, Some(0x700));
    let b = seal(b);
    assert_eq!(b.len() as u64, h.super_block_size(S44, 2).unwrap());
    let sb = SuperBlock::decode(&b, 0x300, S44, &h, 2).unwrap();
    assert_eq!(
        (sb.page_init.clone(), sb.dblk_npages, sb.block_offset),
        (None, 0, 6)
    );
    assert_eq!(sb.dblk_addrs, vec![Some(0x600), Some(0x700)]);
    assert!(sb.page_initialised(1, 0));
}

#[test]
fn data_blocks_and_pages() {
    let (h, _) = small();
    // Unpaged data block of super block 2 (4 elements), second block: offset 2 + 4 = 6... 10.
    let u = 2;
    let mut b = block_prefix(&DATA_BLOCK_SIGNATURE, S44, 1, 0x40);
    put(&mut b, h.block_offset(u, 1).unwrap(), 1);
    for i in 0..4 {
        put_elem(&mut b, S44, &felem(i), 3);
    }
    let b = seal(b);
    assert_eq!(b.len() as u64, h.data_block_size(S44, u).unwrap());
    let db = DataBlock::decode(&b, 0x600, S44, &h, u).unwrap();
    assert_eq!(db.block_offset, 10);
    assert_eq!(db.npages, 0);
    assert_eq!(db.elements, (0..4).map(felem).collect::<Vec<_>>());
    for n in 0..b.len() {
        assert_eq!(
            DataBlock::decode(&b[..n], 0x600, S44, &h, u)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
    }
    let mut bad = b.clone();
    bad[20] ^= 2;
    let e = DataBlock::decode(&bad, 0x600, S44, &h, u).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x600 + b.len() as u64 - 4);
    let mut bad = b.clone();
    bad[3] = b'C';
    assert_eq!(
        DataBlock::decode(&bad, 0x600, S44, &h, u).unwrap_err().kind,
        ErrorKind::BadSignature
    );
    assert!(matches!(
        DataBlock::decode(&b, 0x600, S44, &h, 9).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));

    // Paged data block of super block 5 (16 elements = 4 pages of 4): prefix, then pages.
    let u = 5;
    let mut image = block_prefix(&DATA_BLOCK_SIGNATURE, S44, 1, 0x40);
    put(&mut image, h.block_offset(u, 2).unwrap(), 1);
    assert_eq!(h.block_offset(u, 2), Some(94));
    let mut image = seal(image);
    assert_eq!(image.len() as u64, h.data_block_size(S44, u).unwrap());
    assert_eq!(image.len() as u64, h.data_block_prefix_size(S44));
    let db = DataBlock::decode(&image, 0x2000, S44, &h, u).unwrap();
    assert_eq!((db.block_offset, db.npages, db.elements.len()), (94, 4, 0));
    for p in 0..4u64 {
        assert_eq!(
            h.page_addr(0x2000, S44, u, p),
            Some(0x2000 + image.len() as u64)
        );
        let mut page = Vec::new();
        for k in 0..4 {
            put_elem(&mut page, S44, &felem(p * 4 + k), 3);
        }
        let page = seal(page);
        assert_eq!(page.len() as u64, h.page_size());
        image.extend_from_slice(&page);
    }
    for p in 0..4u64 {
        let at = h.page_addr(0x2000, S44, u, p).unwrap();
        let off = (at - 0x2000) as usize;
        let elems = decode_page(&image[off..off + h.page_size() as usize], at, S44, &h).unwrap();
        assert_eq!(elems, (p * 4..p * 4 + 4).map(felem).collect::<Vec<_>>());
    }
    let at = h.page_addr(0x2000, S44, u, 3).unwrap();
    let off = (at - 0x2000) as usize;
    assert_eq!(
        decode_page(&image[off..off + 20], at, S44, &h)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
    let mut bad = image[off..].to_vec();
    bad[5] ^= 1;
    let e = decode_page(&bad, at, S44, &h).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, at + 44);
}

/// Blocks written by libhdf5 2.0.0 (h5py, `libver="latest"`): a 1-D dataset of 140000
/// one-element chunks (default parameters) with a few chunks written, among them 131060,
/// 136060 and 139999, which live in paged data blocks 0, 2 and 4 of super block 13.
#[test]
fn libhdf5_written_blocks() {
    let hb = hex(
        "45414844000008200410040a 0400000000000000 5803000000000000 0b00000000000000
         8ad5000000000000 e022020000000000 941a000000000000 0702000000000000 7b6f2613",
    );
    let h = Header::decode(&hb, 447, S88).unwrap();
    assert_eq!(h.geometry, Geometry::new(32, 16, 4, 10).unwrap());
    assert_eq!(h.stats.max_idx_set, 140000);
    assert_eq!(h.index_block_addr, Some(519));

    let ib = hex(
        "454149420000bf01000000000000 0408000000000000 ffffffffffffffff ffffffffffffffff
         0808000000000000 3103000000000000 c703000000000000 ffffffffffffffff
         dd04000000000000 ffffffffffffffff 0010000000000000 f305000000000000
         2906000000000000 ffffffffffffffff ffffffffffffffff 5f06000000000000
         ffffffffffffffff ffffffffffffffff ffffffffffffffff ffffffffffffffff
         6e22000000000000",
    );
    let mut ib = ib;
    ib.extend(core::iter::repeat_n(0xff, 15 * 8));
    ib.extend(hex("0de97a01"));
    assert_eq!(ib.len() as u64, h.index_block_size(S88));
    let iblock = IndexBlock::decode(&ib, 519, S88, &h).unwrap();
    let addrs: Vec<Addr> = iblock.elements.iter().map(|e| e.addr).collect();
    assert_eq!(addrs, vec![Some(0x804), None, None, Some(0x808)]);
    assert_eq!(
        iblock.dblk_addrs,
        vec![
            Some(0x331),
            Some(0x3c7),
            None,
            Some(0x4dd),
            None,
            Some(0x1000)
        ]
    );
    assert_eq!(iblock.sblk_addrs[9], Some(0x226e));

    let mut sb = hex("454153420000bf01000000000000 f0ff0100 8880");
    sb.extend(core::iter::repeat_n(0, 62));
    sb.extend(hex(
        "c424000000000000 ffffffffffffffff e264000000000000 ffffffffffffffff 00a5000000000000",
    ));
    sb.extend(core::iter::repeat_n(0xff, 59 * 8));
    sb.extend(hex("0cc88da4"));
    assert_eq!(sb.len() as u64, h.super_block_size(S88, 13).unwrap());
    let sblock = SuperBlock::decode(&sb, 0x226e, S88, &h, 13).unwrap();
    assert_eq!(Some(sblock.block_offset), h.block_offset(13, 0));
    assert_eq!(sblock.block_offset, 131056);
    assert_eq!(sblock.dblk_npages, 2);
    assert_eq!(
        &sblock.dblk_addrs[..5],
        &[Some(0x24c4), None, Some(0x64e2), None, Some(0xa500)]
    );

    // Element 136060: data block 2 of super block 13, page 0 — bit 2·2 + 0 = 4 (0x08 of
    // byte 0); element 139999: data block 4, page 0 — bit 8 (0x80 of byte 1).
    let loc = h.locate(136060).unwrap();
    assert_eq!(
        loc,
        Location::InSuperBlock {
            sblk_slot: 9,
            sblk: 13,
            dblk: 2,
            offset: 904
        }
    );
    assert_eq!(h.page_of(13, 904), Some((0, 904)));
    assert!(sblock.page_initialised(2, 0));
    assert!(!sblock.page_initialised(2, 1));
    assert!(sblock.page_initialised(0, 0));
    assert!(sblock.page_initialised(4, 0));
    let set: Vec<(u64, u64)> = (0..64)
        .flat_map(|d| (0..2).map(move |p| (d, p)))
        .filter(|&(d, p)| sblock.page_initialised(d, p))
        .collect();
    assert_eq!(set, vec![(0, 0), (2, 0), (4, 0)]);
}

#[test]
fn hostile_counts_do_not_allocate() {
    // 63 bits, m = 1, pages of 1: super block 63 has 2^31 data blocks with 2^32 pages
    // each, a 2^60-byte bitmap; the decoders report truncation, not allocation.
    let p = Params {
        bits: 63,
        min_elmts: 1,
        min_ptrs: 2,
        page_bits: 0,
        idx: 255,
        ..DEFAULTS
    };
    let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
    assert_eq!(h.geometry.nsblks(), 64);
    assert_eq!(
        h.super_block_size(S88, 63).unwrap(),
        26 + (1 << 60) + (1 << 34)
    );
    let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S88, 0, 0);
    put(&mut b, 0, 8);
    let b = seal(b);
    assert_eq!(
        SuperBlock::decode(&b, 0, S88, &h, 63).unwrap_err().kind,
        ErrorKind::Truncated
    );
    assert_eq!(
        SuperBlock::decode(&b, 0, S88, &h, 40).unwrap_err().kind,
        ErrorKind::Truncated
    );
    // Unpaged huge data block (pages of 2^63): truncated.
    let p = Params { page_bits: 63, ..p };
    let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
    let mut b = block_prefix(&DATA_BLOCK_SIGNATURE, S88, 0, 0);
    put(&mut b, 0, 8);
    let b = seal(b);
    assert_eq!(
        DataBlock::decode(&b, 0, S88, &h, 62).unwrap_err().kind,
        ErrorKind::Truncated
    );
    assert_eq!(
        decode_page(&b, 0, S88, &h).unwrap_err().kind,
        ErrorKind::Truncated
    );
    assert!(h.data_block_size(S88, 63).is_ok());
    // An index block with 255 elements and too few bytes.
    let ib = seal(block_prefix(&INDEX_BLOCK_SIGNATURE, S88, 0, 0));
    assert_eq!(
        IndexBlock::decode(&ib, 0, S88, &h).unwrap_err().kind,
        ErrorKind::Truncated
    );
}

#[test]
fn element_lookup_end_to_end() {
    // Walk `locate` → block → element on the small array for a few indices.
    let (h, _) = small();
    assert_eq!(h.locate(1), Some(Location::InIndexBlock(1)));
    assert_eq!(
        h.locate(2),
        Some(Location::DataBlockInIndex {
            dblk: 0,
            offset: 0,
            sblk: 0
        })
    );
    assert_eq!(
        h.locate(2 + 2 + 3),
        Some(Location::DataBlockInIndex {
            dblk: 1,
            offset: 3,
            sblk: 1
        })
    );
    // j = 6..14: super block 2 (slot 0), 2 blocks of 4.
    assert_eq!(
        h.locate(2 + 11),
        Some(Location::InSuperBlock {
            sblk_slot: 0,
            sblk: 2,
            dblk: 1,
            offset: 1
        })
    );
    // j = 62..126: super block 5 (slot 3), 4 blocks of 16, paged by 4.
    let loc = h.locate(2 + 62 + 16 * 2 + 13).unwrap();
    assert_eq!(
        loc,
        Location::InSuperBlock {
            sblk_slot: 3,
            sblk: 5,
            dblk: 2,
            offset: 13
        }
    );
    assert_eq!(h.page_of(5, 13), Some((3, 1)));
    assert_eq!(
        h.locate(2 + 125),
        Some(Location::InSuperBlock {
            sblk_slot: 3,
            sblk: 5,
            dblk: 3,
            offset: 15
        })
    );
    assert_eq!(h.locate(2 + 126), None);
    // Blocks of the whole small array, and of its first 84 elements.
    let blocks: Vec<Block> = h.blocks(h.capacity()).collect();
    assert_eq!(blocks.len(), 1 + 2 + 4);
    assert_eq!(
        blocks[6],
        Block::SuperBlock {
            slot: 3,
            sblk: 5,
            first: 64,
            ndblks: 4,
            dblk_nelmts: 16
        }
    );
    let blocks: Vec<Block> = h.blocks(84).collect();
    assert_eq!(blocks.len(), 7);
    assert_eq!(
        blocks[6],
        Block::SuperBlock {
            slot: 3,
            sblk: 5,
            first: 64,
            ndblks: 2,
            dblk_nelmts: 16
        }
    );
    assert_eq!(h.blocks(64).count(), 6);
}

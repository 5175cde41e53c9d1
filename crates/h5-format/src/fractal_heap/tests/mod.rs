use super::*;

use alloc::vec;
use alloc::vec::Vec;

use crate::btree2::{self, TreeEdit};
use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::Sizes;
use crate::writer::Stored;

mod edit;

const SIZES: Sizes = Sizes::DEFAULT;
const HDR_ADDR: u64 = 0x400;

fn put(v: &mut Vec<u8>, x: u64, n: usize) {
    v.extend_from_slice(&x.to_le_bytes()[..n]);
}

fn put_addr(v: &mut Vec<u8>, a: Option<u64>, n: usize) {
    put(v, a.unwrap_or(u64::MAX), n);
}

fn seal(mut v: Vec<u8>) -> Vec<u8> {
    let sum = lookup3::checksum(&v);
    v.extend_from_slice(&sum.to_le_bytes());
    v
}

/// Header parameters for the test encoder; defaults are what libhdf5 uses for a dense
/// group's link heap.
#[derive(Clone)]
struct Spec {
    version: u8,
    heap_id_len: u16,
    flags: u8,
    max_managed: u32,
    managed_space: u64,
    width: u16,
    start: u64,
    max_direct: u64,
    bits: u16,
    start_rows: u16,
    root: Option<u64>,
    rows: u16,
    filters: Option<(u64, u32, Vec<u8>)>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            version: 0,
            heap_id_len: 7,
            flags: FLAG_CHECKSUMMED_DIRECT_BLOCKS,
            max_managed: 4096,
            managed_space: 1 << 20,
            width: 4,
            start: 512,
            max_direct: 65536,
            bits: 32,
            start_rows: 1,
            root: Some(0x2000),
            rows: 0,
            filters: None,
        }
    }
}

fn encode_header(s: &Spec) -> Vec<u8> {
    let (o, l) = (8, 8);
    let mut v = b"FRHP".to_vec();
    v.push(s.version);
    put(&mut v, u64::from(s.heap_id_len), 2);
    let flen = s.filters.as_ref().map_or(0, |f| f.2.len());
    put(&mut v, flen as u64, 2);
    v.push(s.flags);
    put(&mut v, u64::from(s.max_managed), 4);
    put(&mut v, 5, l); // next huge id
    put_addr(&mut v, Some(0x9000), o); // huge B-tree
    put(&mut v, 100, l); // free space
    put_addr(&mut v, None, o); // free-space manager
    put(&mut v, s.managed_space, l);
    put(&mut v, s.managed_space, l); // allocated
    put(&mut v, 1024, l); // iterator offset
    put(&mut v, 12, l); // managed count
    put(&mut v, 0, l); // huge size
    put(&mut v, 0, l); // huge count
    put(&mut v, 30, l); // tiny size
    put(&mut v, 3, l); // tiny count
    put(&mut v, u64::from(s.width), 2);
    put(&mut v, s.start, l);
    put(&mut v, s.max_direct, l);
    put(&mut v, u64::from(s.bits), 2);
    put(&mut v, u64::from(s.start_rows), 2);
    put_addr(&mut v, s.root, o);
    put(&mut v, u64::from(s.rows), 2);
    if let Some((size, mask, pipeline)) = &s.filters {
        put(&mut v, *size, l);
        put(&mut v, u64::from(*mask), 4);
        v.extend_from_slice(pipeline);
    }
    seal(v)
}

fn header(s: &Spec) -> Header {
    Header::decode(&encode_header(s), HDR_ADDR, SIZES).unwrap()
}

fn invalid(e: Error) -> &'static str {
    match e.kind {
        ErrorKind::Invalid(what) => what,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn header_fields_and_geometry() {
    let h = header(&Spec::default());
    assert_eq!(h.addr, HDR_ADDR);
    assert_eq!(h.heap_id_len, 7);
    assert_eq!(h.io_filters_len, 0);
    assert_eq!(h.max_managed_obj_size, 4096);
    assert_eq!(h.next_huge_id, 5);
    assert_eq!(h.huge_btree_addr, Some(0x9000));
    assert_eq!(h.free_space, 100);
    assert_eq!(h.fsm_addr, None);
    assert_eq!(h.alloc_iter_offset, 1024);
    assert_eq!((h.managed_count, h.tiny_size, h.tiny_count), (12, 30, 3));
    assert_eq!(
        (h.table_width, h.start_block_size, h.max_direct_block_size),
        (4, 512, 65536)
    );
    assert_eq!((h.max_heap_bits, h.start_root_rows), (32, 1));
    assert_eq!((h.root_addr, h.current_root_rows), (Some(0x2000), 0));
    assert_eq!((h.filtered_root_size, h.root_filter_mask), (None, None));
    assert!(h.filter_pipeline.is_empty());
    assert!(h.checksummed_direct_blocks());
    assert!(!h.has_io_filters());

    assert_eq!(h.heap_off_size(), 4);
    // min(enc(65536) = 3, enc(4096) = 2)
    assert_eq!(h.heap_len_size(), 2);
    assert_eq!(h.first_row_bits(), 11);
    assert_eq!(h.max_direct_rows(), 9);
    assert_eq!(h.max_root_rows(), 22);
    let sizes: Vec<_> = (0..5).map(|r| h.row_block_size(r).unwrap()).collect();
    assert_eq!(sizes, [512, 512, 1024, 2048, 4096]);
    let offs: Vec<_> = (0..5).map(|r| h.row_block_offset(r).unwrap()).collect();
    assert_eq!(offs, [0, 2048, 4096, 8192, 16384]);
    assert_eq!(h.row_block_size(8), Some(65536));
    assert_eq!(h.row_block_size(21), Some(512 << 20));
    assert_eq!(h.row_block_offset(21), Some(1 << 31));
    assert_eq!(h.row_block_size(22), None);
    assert_eq!(h.row_block_offset(22), None);
    // 4 + 1 + 8 + 4 + checksum 4
    assert_eq!(h.direct_block_header_size(), 21);
    // 4 + 1 + 8 + 4 + 4 entries · 8 + 4
    assert_eq!(h.indirect_block_size(1).unwrap(), 53);
    // 17 + 9 · 4 · 8 + 1 · 4 · 8 + 4
    assert_eq!(h.indirect_block_size(10).unwrap(), 341);
    assert!(h.indirect_block_size(0).is_err());
    assert!(h.indirect_block_size(23).is_err());
    // Row 9 holds 128 KiB blocks: 2^17 needs 17 − 11 + 1 = 7 rows.
    assert_eq!(h.child_indirect_rows(9).unwrap(), 7);
    assert_eq!(h.child_indirect_rows(10).unwrap(), 8);
    assert_eq!(h.child_indirect_rows(21).unwrap(), 19);
    assert!(h.child_indirect_rows(8).is_err());
    assert!(h.child_indirect_rows(22).is_err());

    let unchecked = header(&Spec {
        flags: 0,
        ..Spec::default()
    });
    assert_eq!(unchecked.direct_block_header_size(), 17);
}

#[test]
fn header_with_filters() {
    let pipeline = vec![2, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    let s = Spec {
        filters: Some((700, 0b10, pipeline.clone())),
        ..Spec::default()
    };
    let h = header(&s);
    assert_eq!(h.io_filters_len, 12);
    assert_eq!(h.filtered_root_size, Some(700));
    assert_eq!(h.root_filter_mask, Some(2));
    assert_eq!(h.filter_pipeline, pipeline);
    assert_eq!(h.direct_entry_size(), 20);
    // 17 + 4 · 20 + 4
    assert_eq!(h.indirect_block_size(1).unwrap(), 101);
}

#[test]
fn header_errors() {
    let good = encode_header(&Spec::default());
    assert!(Header::decode(&good, HDR_ADDR, SIZES).is_ok());
    for n in 0..good.len() {
        let e = Header::decode(&good[..n], HDR_ADDR, SIZES).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }
    let mut bad_sig = good.clone();
    bad_sig[0] = b'X';
    let e = Header::decode(&bad_sig, HDR_ADDR, SIZES).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, HDR_ADDR));
    let e = Header::decode(
        &encode_header(&Spec {
            version: 1,
            ..Spec::default()
        }),
        0,
        SIZES,
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::VersionNotAccepted {
                version: 1,
                accepted: &[0]
            },
            4
        )
    );
    let mut corrupt = good.clone();
    corrupt[20] ^= 1;
    let e = Header::decode(&corrupt, HDR_ADDR, SIZES).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, HDR_ADDR + good.len() as u64 - 4);

    let cases: [(Spec, &str); 11] = [
        (
            Spec {
                heap_id_len: 0,
                ..Spec::default()
            },
            "heap ID length",
        ),
        (
            Spec {
                width: 0,
                ..Spec::default()
            },
            "table width",
        ),
        (
            Spec {
                width: 3,
                ..Spec::default()
            },
            "table width",
        ),
        (
            Spec {
                start: 0,
                ..Spec::default()
            },
            "starting block size",
        ),
        (
            Spec {
                start: 513,
                ..Spec::default()
            },
            "starting block size",
        ),
        (
            Spec {
                max_direct: 256,
                ..Spec::default()
            },
            "maximum direct block size",
        ),
        (
            Spec {
                max_direct: 65535,
                ..Spec::default()
            },
            "maximum direct block size",
        ),
        (
            Spec {
                bits: 0,
                ..Spec::default()
            },
            "maximum heap size",
        ),
        (
            Spec {
                bits: 65,
                ..Spec::default()
            },
            "maximum heap size",
        ),
        (
            Spec {
                bits: 10,
                managed_space: 0,
                ..Spec::default()
            },
            "maximum heap size",
        ),
        (
            Spec {
                rows: 23,
                ..Spec::default()
            },
            "current # of rows",
        ),
    ];
    for (spec, what) in cases {
        let e = Header::decode(&encode_header(&spec), HDR_ADDR, SIZES).unwrap_err();
        assert!(invalid(e).starts_with(what), "{what}");
    }
    let e = Header::decode(
        &encode_header(&Spec {
            start_rows: 23,
            ..Spec::default()
        }),
        0,
        SIZES,
    )
    .unwrap_err();
    assert!(invalid(e).starts_with("starting # of rows"));
    let e = Header::decode(
        &encode_header(&Spec {
            managed_space: 1 << 33,
            ..Spec::default()
        }),
        0,
        SIZES,
    )
    .unwrap_err();
    assert!(invalid(e).starts_with("amount of managed space"));
}

#[test]
fn extreme_headers_do_not_overflow() {
    // A 64-bit heap whose first row already spans 2^64: one row, no overflow anywhere.
    let s = Spec {
        width: 2,
        start: 1 << 63,
        max_direct: 1 << 63,
        bits: 64,
        managed_space: u64::MAX - 1,
        ..Spec::default()
    };
    let h = header(&s);
    assert_eq!(h.first_row_bits(), 64);
    assert_eq!(h.max_root_rows(), 1);
    assert_eq!(h.heap_off_size(), 8);
    assert_eq!(h.row_block_size(0), Some(1 << 63));
    assert_eq!(h.row_block_size(1), None);
    assert_eq!(h.indirect_block_size(1).unwrap(), 4 + 1 + 8 + 8 + 2 * 8 + 4);
    assert_eq!(
        locate(&h, 0, 1, u64::MAX).unwrap(),
        Slot::Direct {
            entry: 1,
            block_offset: 1 << 63,
            block_size: 1 << 63
        }
    );
    // Widest table, smallest blocks, 64-bit heap: sizes stay finite.
    let s = Spec {
        width: 32768,
        start: 1,
        max_direct: 1,
        bits: 64,
        ..Spec::default()
    };
    let h = header(&s);
    assert_eq!(h.max_root_rows(), 50);
    assert_eq!(h.max_direct_rows(), 2);
    assert!(h.indirect_block_size(50).is_ok());
    // Row 2 holds 2-byte blocks: smaller than one row (32768 bytes) of a child.
    assert!(h.child_indirect_rows(2).is_err());
    for off in [0, 1, 32767, 32768, 65535] {
        assert!(
            matches!(locate(&h, 0, 50, off), Ok(Slot::Direct { .. })),
            "{off}"
        );
    }
    // Row 2's 2-byte blocks cannot be indirect blocks.
    assert!(locate(&h, 0, 50, 65536).is_err());
    // Rows 48 and 49 hold 2^47- and 2^48-byte children of 33 and 34 rows.
    assert_eq!(
        locate(&h, 0, 50, u64::MAX / 2).unwrap(),
        Slot::Indirect {
            entry: 46 * 32768 + 32767,
            block_offset: (1 << 62) + 32767 * (1 << 47),
            nrows: 33
        }
    );
    assert_eq!(
        locate(&h, 0, 50, u64::MAX).unwrap(),
        Slot::Indirect {
            entry: 47 * 32768 + 32767,
            block_offset: (1 << 63) + 32767 * (1 << 48),
            nrows: 34
        }
    );
}

fn encode_indirect(h: &Header, nrows: u16, block_offset: u64, heap_addr: u64) -> Vec<u8> {
    let mut v = b"FHIB".to_vec();
    v.push(0);
    put(&mut v, heap_addr, 8);
    put(&mut v, block_offset, h.heap_off_size());
    let width = u64::from(h.table_width);
    let ndirect = u64::from(nrows.min(h.max_direct_rows())) * width;
    for i in 0..ndirect {
        put_addr(&mut v, (i % 3 != 2).then_some(0x10000 + i * 0x100), 8);
        if h.has_io_filters() {
            put(&mut v, 300 + i, 8);
            put(&mut v, i, 4);
        }
    }
    for i in 0..u64::from(nrows.saturating_sub(h.max_direct_rows())) * width {
        put_addr(&mut v, (i != 1).then_some(0x80000 + i * 0x1000), 8);
    }
    seal(v)
}

#[test]
fn indirect_block_decodes() {
    let h = header(&Spec {
        rows: 10,
        ..Spec::default()
    });
    let buf = encode_indirect(&h, 10, 0, HDR_ADDR);
    assert_eq!(buf.len() as u64, h.indirect_block_size(10).unwrap());
    let ib = IndirectBlock::decode(&buf, 0x2000, SIZES, &h, 10).unwrap();
    assert_eq!((ib.addr, ib.block_offset, ib.nrows), (0x2000, 0, 10));
    assert_eq!(ib.direct.len(), 36);
    assert_eq!(ib.indirect.len(), 4);
    assert_eq!(
        ib.direct[0],
        DirectEntry {
            addr: Some(0x10000),
            filtered_size: None,
            filter_mask: 0
        }
    );
    assert_eq!(ib.direct[2].addr, None);
    assert_eq!(ib.direct[34].addr, Some(0x10000 + 34 * 0x100));
    assert_eq!(ib.direct[35].addr, None);
    assert_eq!(
        ib.indirect,
        [Some(0x80000), None, Some(0x82000), Some(0x83000)]
    );

    // A trailing slack after the block is fine.
    let mut longer = buf.clone();
    longer.extend_from_slice(&[0xAA; 16]);
    assert_eq!(
        IndirectBlock::decode(&longer, 0x2000, SIZES, &h, 10).unwrap(),
        ib
    );

    // A small root with only direct rows, and a filtered heap.
    let ib =
        IndirectBlock::decode(&encode_indirect(&h, 1, 0, HDR_ADDR), 0x2000, SIZES, &h, 1).unwrap();
    assert_eq!((ib.direct.len(), ib.indirect.len()), (4, 0));
    let f = header(&Spec {
        rows: 2,
        filters: Some((0, 0, vec![0; 8])),
        ..Spec::default()
    });
    let ib =
        IndirectBlock::decode(&encode_indirect(&f, 2, 0, HDR_ADDR), 0x2000, SIZES, &f, 2).unwrap();
    assert_eq!(ib.direct.len(), 8);
    assert_eq!(
        ib.direct[7],
        DirectEntry {
            addr: Some(0x10700),
            filtered_size: Some(307),
            filter_mask: 7
        }
    );
}

#[test]
fn indirect_block_errors() {
    let h = header(&Spec {
        rows: 10,
        ..Spec::default()
    });
    let buf = encode_indirect(&h, 10, 0, HDR_ADDR);
    for n in 0..buf.len() {
        let e = IndirectBlock::decode(&buf[..n], 0x2000, SIZES, &h, 10).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }
    let mut bad = buf.clone();
    bad[1] = b'X';
    let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadSignature);
    let mut bad = buf.clone();
    bad[4] = 1;
    let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::VersionNotAccepted {
                version: 1,
                accepted: &[0]
            },
            0x2004
        )
    );
    let mut bad = buf.clone();
    bad[30] ^= 0x40;
    let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x2000 + buf.len() as u64 - 4);

    let wrong_heap = encode_indirect(&h, 10, 0, HDR_ADDR + 8);
    let e = IndirectBlock::decode(&wrong_heap, 0x2000, SIZES, &h, 10).unwrap_err();
    assert_eq!(e.offset, 0x2005);
    assert_eq!(invalid(e), "heap header address");
    let past_heap = encode_indirect(
        &header(&Spec {
            bits: 20,
            ..Spec::default()
        }),
        1,
        1 << 21,
        HDR_ADDR,
    );
    let small = header(&Spec {
        bits: 20,
        ..Spec::default()
    });
    let e = IndirectBlock::decode(&past_heap, 0x2000, SIZES, &small, 1).unwrap_err();
    assert_eq!(invalid(e), "block offset");
    for rows in [0, 23] {
        let e = IndirectBlock::decode(&buf, 0x2000, SIZES, &h, rows).unwrap_err();
        assert_eq!(invalid(e), "number of rows");
    }
    let other = Sizes {
        offset: 4,
        length: 8,
    };
    assert!(IndirectBlock::decode(&buf, 0x2000, other, &h, 10).is_err());
}

#[test]
fn locate_in_root() {
    let h = header(&Spec {
        rows: 10,
        ..Spec::default()
    });
    let direct = |entry, block_offset, block_size| Slot::Direct {
        entry,
        block_offset,
        block_size,
    };
    assert_eq!(locate(&h, 0, 10, 0).unwrap(), direct(0, 0, 512));
    assert_eq!(locate(&h, 0, 10, 511).unwrap(), direct(0, 0, 512));
    assert_eq!(locate(&h, 0, 10, 512).unwrap(), direct(1, 512, 512));
    assert_eq!(locate(&h, 0, 10, 2047).unwrap(), direct(3, 1536, 512));
    assert_eq!(locate(&h, 0, 10, 2048).unwrap(), direct(4, 2048, 512));
    assert_eq!(locate(&h, 0, 10, 4095).unwrap(), direct(7, 3584, 512));
    assert_eq!(locate(&h, 0, 10, 4096).unwrap(), direct(8, 4096, 1024));
    assert_eq!(
        locate(&h, 0, 10, 4096 + 3 * 1024).unwrap(),
        direct(11, 7168, 1024)
    );
    assert_eq!(locate(&h, 0, 10, 8192).unwrap(), direct(12, 8192, 2048));
    // Row 8: the last direct row, 64 KiB blocks from 2^18.
    assert_eq!(
        locate(&h, 0, 10, (1 << 19) - 1).unwrap(),
        direct(35, (1 << 19) - 65536, 65536)
    );
    // Row 9: child indirect blocks of 128 KiB (7 rows each) from 2^19.
    assert_eq!(
        locate(&h, 0, 10, 1 << 19).unwrap(),
        Slot::Indirect {
            entry: 0,
            block_offset: 1 << 19,
            nrows: 7
        }
    );
    assert_eq!(
        locate(&h, 0, 10, (1 << 19) + 2 * 131072 + 5).unwrap(),
        Slot::Indirect {
            entry: 2,
            block_offset: 786432,
            nrows: 7
        }
    );
    // Beyond the 10 rows (which span 2^20 bytes).
    let e = locate(&h, 0, 10, 1 << 20).unwrap_err();
    assert_eq!(invalid(e), "heap offset (beyond the indirect block)");
    // Inside the child: a row-2 (1 KiB) block at relative offset 4096.
    assert_eq!(
        locate(&h, 786432, 7, 786432 + 5000).unwrap(),
        direct(8, 786432 + 4096, 1024)
    );
    let e = locate(&h, 786432, 7, 786431).unwrap_err();
    assert_eq!(invalid(e), "heap offset (before the indirect block)");
    assert!(locate(&h, 0, 0, 0).is_err());
    assert!(locate(&h, 0, 23, 0).is_err());
}

#[test]
fn locate_always_finds_the_containing_block() {
    let h = header(&Spec {
        rows: 22,
        ..Spec::default()
    });
    let mut off = 0u64;
    let mut steps = 0;
    while off < 1 << 32 {
        let (mut base, mut nrows, mut depth) = (0u64, 22u16, 0);
        let slot = loop {
            match locate(&h, base, nrows, off).unwrap() {
                Slot::Indirect {
                    entry,
                    block_offset,
                    nrows: child,
                } => {
                    assert!(entry < usize::from(nrows - h.max_direct_rows()) * 4);
                    assert!(block_offset <= off && child < nrows);
                    // The child spans exactly one block of its parent's row.
                    let span = h.row_block_offset(child).unwrap();
                    assert!(off - block_offset < span);
                    (base, nrows) = (block_offset, child);
                    depth += 1;
                    assert!(depth < 22);
                }
                direct => break direct,
            }
        };
        let Slot::Direct {
            entry,
            block_offset,
            block_size,
        } = slot
        else {
            unreachable!()
        };
        assert!(entry < usize::from(nrows.min(h.max_direct_rows())) * 4);
        assert!(
            block_offset <= off && off < block_offset + block_size,
            "{off}"
        );
        assert!(block_size <= h.max_direct_block_size);
        assert_eq!(block_offset % block_size, 0);
        off = off * 3 / 2 + 7;
        steps += 1;
    }
    assert!(steps > 40);
}

fn encode_direct(h: &Header, size: usize, block_offset: u64, heap_addr: u64) -> Vec<u8> {
    let mut v = b"FHDB".to_vec();
    v.push(0);
    put(&mut v, heap_addr, 8);
    put(&mut v, block_offset, h.heap_off_size());
    let sum_at = v.len();
    if h.checksummed_direct_blocks() {
        v.extend_from_slice(&[0; 4]);
    }
    let mut i = 0u8;
    v.resize_with(size, || {
        i = i.wrapping_add(37);
        i
    });
    if h.checksummed_direct_blocks() {
        let sum = lookup3::checksum(&v);
        v[sum_at..sum_at + 4].copy_from_slice(&sum.to_le_bytes());
    }
    v
}

#[test]
fn direct_block_checks() {
    let h = header(&Spec::default());
    let block = encode_direct(&h, 512, 4096, HDR_ADDR);
    check_direct_block(&block, 0x3000, SIZES, &h, 4096).unwrap();

    let mut corrupt = block.clone();
    corrupt[400] ^= 1;
    let e = check_direct_block(&corrupt, 0x3000, SIZES, &h, 4096).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x3000 + 17);
    let e = check_direct_block(&block, 0x3000, SIZES, &h, 0).unwrap_err();
    assert_eq!(
        (invalid(e.clone()), e.offset),
        ("block offset", 0x3000 + 13)
    );
    let other_heap = encode_direct(&h, 512, 4096, 0x999);
    let e = check_direct_block(&other_heap, 0x3000, SIZES, &h, 4096).unwrap_err();
    assert_eq!(invalid(e), "heap header address");
    let mut bad = block.clone();
    bad[3] = b'X';
    let e = check_direct_block(&bad, 0x3000, SIZES, &h, 4096).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadSignature);
    let mut bad = block.clone();
    bad[4] = 2;
    let e = check_direct_block(&bad, 0x3000, SIZES, &h, 4096).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::VersionNotAccepted {
            version: 2,
            accepted: &[0]
        }
    );
    for n in 0..21 {
        let e = check_direct_block(&block[..n], 0x3000, SIZES, &h, 4096).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }

    // Without the checksum flag, the data is not hashed.
    let plain = header(&Spec {
        flags: 0,
        ..Spec::default()
    });
    let mut block = encode_direct(&plain, 512, 0, HDR_ADDR);
    block[300] ^= 0xff;
    check_direct_block(&block, 0x3000, SIZES, &plain, 0).unwrap();
}

#[test]
fn object_ranges() {
    let h = header(&Spec::default());
    assert_eq!(
        object_range(&h, 0x3000, 4096, 1024, 4096 + 21, 10).unwrap(),
        21..31
    );
    assert_eq!(
        object_range(&h, 0x3000, 4096, 1024, 4096 + 1000, 24).unwrap(),
        1000..1024
    );
    assert!(object_range(&h, 0x3000, 4096, 1024, 4096 + 20, 10).is_err());
    assert!(object_range(&h, 0x3000, 4096, 1024, 4096 + 1000, 25).is_err());
    assert!(object_range(&h, 0x3000, 4096, 1024, 4000, 10).is_err());
    assert!(object_range(&h, 0x3000, 0, u64::MAX, 100, u64::MAX).is_err());
}

#[test]
fn managed_ids() {
    let h = header(&Spec::default());
    let id = [0x00, 0x15, 0x10, 0x00, 0x00, 0x2a, 0x00];
    assert_eq!(
        HeapId::decode(&id, &h, SIZES, 0x50).unwrap(),
        HeapId::Managed {
            offset: 0x1015,
            length: 42
        }
    );
    // Extra bytes past the heap's ID length are ignored.
    let mut longer = id.to_vec();
    longer.push(0xff);
    assert!(HeapId::decode(&longer, &h, SIZES, 0x50).is_ok());
    let e = HeapId::decode(&id[..6], &h, SIZES, 0x50).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x56));
    let e = HeapId::decode(&[0x40, 0, 0, 0, 0, 1, 0], &h, SIZES, 0x50).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::VersionNotAccepted {
                version: 1,
                accepted: &[0]
            },
            0x50
        )
    );
    let e = HeapId::decode(&[0x30, 0, 0, 0, 0, 1, 0], &h, SIZES, 0x50).unwrap_err();
    assert_eq!(invalid(e), "heap ID type");
    // Beyond the managed space (1 MiB), or longer than a managed object may be.
    let at_end = [0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00];
    assert!(HeapId::decode(&at_end, &h, SIZES, 0).is_ok());
    let e = HeapId::decode(&[0x00, 0x01, 0x00, 0x10, 0x00, 0x02, 0x00], &h, SIZES, 0).unwrap_err();
    assert!(invalid(e).starts_with("managed object offset"));
    let e = HeapId::decode(&[0x00, 0, 0, 0, 0, 0x01, 0x10], &h, SIZES, 0).unwrap_err();
    assert_eq!(invalid(e), "managed object length");
    let short = header(&Spec {
        heap_id_len: 6,
        ..Spec::default()
    });
    let e = HeapId::decode(&id, &short, SIZES, 0).unwrap_err();
    assert!(invalid(e).starts_with("heap ID length"));
}

#[test]
fn tiny_ids() {
    let h = header(&Spec::default());
    let id = [0x22, b'a', b'b', b'c', 0, 0, 0];
    let HeapId::Tiny { range } = HeapId::decode(&id, &h, SIZES, 0).unwrap() else {
        panic!()
    };
    assert_eq!(&id[range], b"abc");
    let full = [0x25, 1, 2, 3, 4, 5, 6];
    assert_eq!(
        HeapId::decode(&full, &h, SIZES, 0).unwrap(),
        HeapId::Tiny { range: 1..7 }
    );
    let e = HeapId::decode(&[0x26, 1, 2, 3, 4, 5, 6], &h, SIZES, 0).unwrap_err();
    assert!(invalid(e).starts_with("tiny object length"));

    // IDs of 18 bytes still use the normal form; longer ones the extended form.
    let h18 = header(&Spec {
        heap_id_len: 18,
        ..Spec::default()
    });
    let mut id = vec![0x2f];
    id.extend(1..=17u8);
    assert_eq!(
        HeapId::decode(&id, &h18, SIZES, 0).unwrap(),
        HeapId::Tiny { range: 1..17 }
    );
    let h20 = header(&Spec {
        heap_id_len: 20,
        ..Spec::default()
    });
    let mut id = vec![0x20, 17];
    id.extend(0..18u8);
    assert_eq!(
        HeapId::decode(&id, &h20, SIZES, 0).unwrap(),
        HeapId::Tiny { range: 2..20 }
    );
    let big = header(&Spec {
        heap_id_len: 300,
        ..Spec::default()
    });
    let mut id = vec![0x21, 0x0a];
    id.resize(300, 9);
    assert_eq!(
        HeapId::decode(&id, &big, SIZES, 0).unwrap(),
        HeapId::Tiny { range: 2..269 }
    );
    id[1] = 0x2b; // 0x12b + 1 = 300 bytes: beyond the 298 data bytes
    assert!(HeapId::decode(&id, &big, SIZES, 0).is_err());
}

#[test]
fn huge_ids() {
    // 7-byte IDs cannot hold an address and a length: B-tree key of 6 bytes.
    let h = header(&Spec::default());
    let id = [0x10, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
    assert_eq!(
        HeapId::decode(&id, &h, SIZES, 0).unwrap(),
        HeapId::HugeIndirect {
            key: 0x0605_0403_0201
        }
    );
    // 17-byte IDs hold address and length directly.
    let h17 = header(&Spec {
        heap_id_len: 17,
        ..Spec::default()
    });
    let mut id = vec![0x10];
    put(&mut id, 0xABCDE, 8);
    put(&mut id, 70000, 8);
    assert_eq!(
        HeapId::decode(&id, &h17, SIZES, 0).unwrap(),
        HeapId::HugeDirect {
            addr: 0xABCDE,
            length: 70000,
            filter_mask: None,
            size: None
        }
    );
    // With filters 17 bytes are not enough: key of min(16, 8) bytes.
    let filtered = Spec {
        heap_id_len: 17,
        filters: Some((0, 0, vec![0; 4])),
        ..Spec::default()
    };
    let hf = header(&filtered);
    assert_eq!(
        HeapId::decode(&id, &hf, SIZES, 0).unwrap(),
        HeapId::HugeIndirect { key: 0xABCDE }
    );
    let hf29 = header(&Spec {
        heap_id_len: 29,
        ..filtered
    });
    put(&mut id, 0b101, 4);
    put(&mut id, 123456, 8);
    assert_eq!(
        HeapId::decode(&id, &hf29, SIZES, 0).unwrap(),
        HeapId::HugeDirect {
            addr: 0xABCDE,
            length: 70000,
            filter_mask: Some(5),
            size: Some(123456)
        }
    );
    // An undefined address in a direct huge ID is invalid.
    let mut undef = vec![0x10];
    put(&mut undef, u64::MAX, 8);
    put(&mut undef, 1, 8);
    assert!(HeapId::decode(&undef, &h17, SIZES, 0).is_err());
}

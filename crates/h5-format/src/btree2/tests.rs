use super::*;
use crate::error::{Error, ErrorKind};
use crate::reader::Sizes;
use alloc::vec;
use alloc::vec::Vec;

const SIZES: Sizes = Sizes::DEFAULT;
const HDR_ADDR: u64 = 0x800;

fn put(v: &mut Vec<u8>, x: u64, n: usize) {
    v.extend_from_slice(&x.to_le_bytes()[..n]);
}

fn seal(mut v: Vec<u8>) -> Vec<u8> {
    let sum = lookup3::checksum(&v);
    v.extend_from_slice(&sum.to_le_bytes());
    v
}

#[derive(Clone)]
struct Spec {
    version: u8,
    record_type: u8,
    node_size: u32,
    record_size: u16,
    depth: u16,
    root: Option<u64>,
    root_nrecords: u16,
    total: u64,
}

impl Default for Spec {
    fn default() -> Self {
        // A dense group's name index as libhdf5 creates it.
        Spec {
            version: 0,
            record_type: 5,
            node_size: 512,
            record_size: 11,
            depth: 0,
            root: Some(0x1000),
            root_nrecords: 3,
            total: 3,
        }
    }
}

fn encode_header(s: &Spec) -> Vec<u8> {
    let mut v = b"BTHD".to_vec();
    v.push(s.version);
    v.push(s.record_type);
    put(&mut v, u64::from(s.node_size), 4);
    put(&mut v, u64::from(s.record_size), 2);
    put(&mut v, u64::from(s.depth), 2);
    v.push(100); // split %
    v.push(40); // merge %
    put(&mut v, s.root.unwrap_or(u64::MAX), 8);
    put(&mut v, u64::from(s.root_nrecords), 2);
    put(&mut v, s.total, 8);
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

fn link_record(hash: u32, id: u8) -> Vec<u8> {
    let mut v = hash.to_le_bytes().to_vec();
    v.extend_from_slice(&[id; 7]);
    v
}

/// A node image: signature, version, type, records, then for internal nodes the child
/// pointers `(addr, nrecords, total)` with the given field widths; then the checksum
/// and zero padding to `pad_to`.
fn encode_node(
    sig: &[u8; 4],
    record_type: u8,
    records: &[Vec<u8>],
    children: &[(u64, u64, Option<u64>)],
    widths: (usize, usize),
    pad_to: usize,
) -> Vec<u8> {
    let mut v = sig.to_vec();
    v.push(0);
    v.push(record_type);
    for rec in records {
        v.extend_from_slice(rec);
    }
    for &(addr, n, total) in children {
        put(&mut v, addr, 8);
        put(&mut v, n, widths.0);
        if let Some(t) = total {
            put(&mut v, t, widths.1);
        }
    }
    let mut v = seal(v);
    if v.len() < pad_to {
        v.resize(pad_to, 0);
    }
    v
}

#[test]
fn geometry_matches_hand_computation() {
    // node 512, record 11 (link name), 8-byte offsets.
    let g = Geometry::compute(512, 11, 3, 8).unwrap();
    // leaves: (512 − 10) / 11 = 45, one byte per record count.
    assert_eq!(g.max_nrec_size, 1);
    assert_eq!(
        g.levels[0],
        Level {
            max_nrec: 45,
            cum_max_nrec: 45,
            cum_max_nrec_size: 0
        }
    );
    // level 1: pointer 8 + 1 = 9; (512 − 19) / 20 = 24; 25 · 45 + 24 = 1149 (2 bytes).
    assert_eq!(
        g.levels[1],
        Level {
            max_nrec: 24,
            cum_max_nrec: 1149,
            cum_max_nrec_size: 2
        }
    );
    assert_eq!(g.pointer_size(1), Some(9));
    // level 2: pointer 8 + 1 + 2 = 11; (512 − 21) / 22 = 22; 23 · 1149 + 22 = 26449.
    assert_eq!(
        g.levels[2],
        Level {
            max_nrec: 22,
            cum_max_nrec: 26449,
            cum_max_nrec_size: 2
        }
    );
    assert_eq!(g.pointer_size(2), Some(11));
    // level 3: pointer 11; 22 again; 23 · 26449 + 22 = 608349 (3 bytes).
    assert_eq!(
        g.levels[3],
        Level {
            max_nrec: 22,
            cum_max_nrec: 608349,
            cum_max_nrec_size: 3
        }
    );
    assert_eq!(g.pointer_size(3), Some(11));
    assert_eq!(g.pointer_size(0), None);
    assert_eq!(g.pointer_size(4), None);

    // A chunk index (type 10, rank 2, 8-byte offsets: 24-byte records) in 2 KiB nodes:
    // leaves (2048 − 10) / 24 = 84 → 1 byte; level 1: (2048 − 19) / 33 = 61.
    let g = Geometry::compute(2048, 24, 1, 8).unwrap();
    assert_eq!(
        (g.levels[0].max_nrec, g.max_nrec_size, g.levels[1].max_nrec),
        (84, 1, 61)
    );
    assert_eq!(g.levels[1].cum_max_nrec, 62 * 84 + 61);

    // Leaf capacity of 256 needs two bytes per count: (266 − 10) / 1.
    let g = Geometry::compute(266, 1, 1, 4).unwrap();
    assert_eq!((g.levels[0].max_nrec, g.max_nrec_size), (256, 2));
    // level 1: pointer 4 + 2 = 6; (266 − 16) / 7 = 35.
    assert_eq!(g.levels[1].max_nrec, 35);

    // Too small for a record at some level, or too deep.
    assert!(Geometry::compute(20, 11, 0, 8).is_none());
    assert!(Geometry::compute(21, 11, 0, 8).is_some());
    assert!(Geometry::compute(21, 11, 1, 8).is_none());
    assert!(Geometry::compute(512, 0, 0, 8).is_none());
    assert!(Geometry::compute(4096, 1, 65, 8).is_none());
}

#[test]
fn geometry_saturates_instead_of_overflowing() {
    // Tiny records in big nodes at full depth: the totals saturate at u64::MAX.
    let g = Geometry::compute(u32::MAX, 1, MAX_DEPTH, 8).unwrap();
    assert_eq!(g.levels.len(), 65);
    let top = g.levels[64];
    assert_eq!(top.cum_max_nrec, u64::MAX);
    assert_eq!(top.cum_max_nrec_size, 8);
    for pair in g.levels.windows(2) {
        assert!(pair[1].cum_max_nrec >= pair[0].cum_max_nrec);
    }
}

#[test]
fn encoded_widths() {
    assert_eq!(enc_size(0), 1);
    assert_eq!(enc_size(1), 1);
    assert_eq!(enc_size(255), 1);
    assert_eq!(enc_size(256), 2);
    assert_eq!(enc_size(65535), 2);
    assert_eq!(enc_size(65536), 3);
    assert_eq!(enc_size(u64::MAX), 8);
}

#[test]
fn header_decodes() {
    let h = header(&Spec::default());
    assert_eq!(h.addr, HDR_ADDR);
    assert_eq!(
        (h.record_type, h.node_size, h.record_size, h.depth),
        (5, 512, 11, 0)
    );
    assert_eq!((h.split_percent, h.merge_percent), (100, 40));
    assert_eq!(
        (h.root_addr, h.root_nrecords, h.total_records),
        (Some(0x1000), 3, 3)
    );
    assert_eq!(h.geometry().levels.len(), 1);
    assert_eq!(h.max_records(0), Some(45));
    assert_eq!(h.max_records(1), None);

    let empty = header(&Spec {
        root: None,
        root_nrecords: 0,
        total: 0,
        ..Spec::default()
    });
    assert_eq!(empty.root_addr, None);
    // With no root, the root count is not checked.
    let odd = header(&Spec {
        root: None,
        root_nrecords: 999,
        ..Spec::default()
    });
    assert_eq!(odd.root_nrecords, 999);
    let deep = header(&Spec {
        depth: 2,
        root_nrecords: 22,
        ..Spec::default()
    });
    assert_eq!(deep.max_records(2), Some(22));
}

#[test]
fn header_errors() {
    let good = encode_header(&Spec::default());
    for n in 0..good.len() {
        let e = Header::decode(&good[..n], HDR_ADDR, SIZES).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }
    let mut bad = good.clone();
    bad[2] = b'X';
    let e = Header::decode(&bad, HDR_ADDR, SIZES).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, HDR_ADDR));
    let e = Header::decode(
        &encode_header(&Spec {
            version: 2,
            ..Spec::default()
        }),
        HDR_ADDR,
        SIZES,
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::VersionNotAccepted {
                version: 2,
                accepted: &[0]
            },
            HDR_ADDR + 4
        )
    );
    let mut bad = good.clone();
    bad[8] ^= 1;
    let e = Header::decode(&bad, HDR_ADDR, SIZES).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, HDR_ADDR + good.len() as u64 - 4);

    let cases: [(Spec, &str); 6] = [
        (
            Spec {
                record_size: 0,
                ..Spec::default()
            },
            "record size",
        ),
        (
            Spec {
                record_size: 10,
                ..Spec::default()
            },
            "record size (too small for the record type)",
        ),
        (
            Spec {
                node_size: 20,
                ..Spec::default()
            },
            "node size (too small for one record)",
        ),
        (
            Spec {
                node_size: 30,
                depth: 1,
                root_nrecords: 1,
                ..Spec::default()
            },
            "node size (too small for the tree depth)",
        ),
        (
            Spec {
                root_nrecords: 46,
                ..Spec::default()
            },
            "number of records in root node",
        ),
        (
            Spec {
                depth: 1,
                root_nrecords: 25,
                ..Spec::default()
            },
            "number of records in root node",
        ),
    ];
    for (spec, what) in cases {
        let e = Header::decode(&encode_header(&spec), HDR_ADDR, SIZES).unwrap_err();
        assert_eq!(invalid(e), what);
    }
    let e = Header::decode(
        &encode_header(&Spec {
            depth: 65,
            ..Spec::default()
        }),
        HDR_ADDR,
        SIZES,
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Limit {
            what: "v2 B-tree depth",
            value: 65,
            limit: 64
        }
    );
}

#[test]
fn leaf_decodes() {
    let h = header(&Spec::default());
    let recs = vec![link_record(10, 1), link_record(20, 2), link_record(30, 3)];
    let buf = encode_node(b"BTLF", 5, &recs, &[], (0, 0), 512);
    let node = decode_leaf(&buf, 0x1000, SIZES, &h, 3).unwrap();
    assert_eq!(node.addr, 0x1000);
    assert_eq!(node.records, [&recs[0][..], &recs[1][..], &recs[2][..]]);
    assert!(node.children.is_empty());
    assert_eq!(node.record_addr(2, &h), 0x1000 + 6 + 22);
    assert_eq!(
        node.record(1, &h, &RecordContext::default()).unwrap(),
        Record::LinkName {
            hash: 20,
            heap_id: [2; 7]
        }
    );
    assert!(node.record(3, &h, &RecordContext::default()).is_err());

    // Only the bytes up to the checksum are needed.
    let short = &buf[..6 + 33 + 4];
    assert_eq!(decode_leaf(short, 0x1000, SIZES, &h, 3).unwrap(), node);
    // An empty leaf.
    let empty = encode_node(b"BTLF", 5, &[], &[], (0, 0), 0);
    assert!(decode_leaf(&empty, 0x1000, SIZES, &h, 0)
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn leaf_errors() {
    let h = header(&Spec::default());
    let recs = vec![link_record(10, 1), link_record(20, 2)];
    let buf = encode_node(b"BTLF", 5, &recs, &[], (0, 0), 0);
    for n in 0..buf.len() {
        let e = decode_leaf(&buf[..n], 0x1000, SIZES, &h, 2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_eq!(
        decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err().kind,
        ErrorKind::BadSignature
    );
    let mut bad = buf.clone();
    bad[4] = 1;
    assert_eq!(
        decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err().kind,
        ErrorKind::VersionNotAccepted {
            version: 1,
            accepted: &[0]
        }
    );
    let mut bad = buf.clone();
    bad[10] ^= 0x80;
    let e = decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x1000 + 6 + 22);
    // Reading fewer records than stored puts the checksum in the wrong place.
    let e = decode_leaf(&buf, 0x1000, SIZES, &h, 1).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    let wrong_type = encode_node(b"BTLF", 6, &recs, &[], (0, 0), 0);
    let e = decode_leaf(&wrong_type, 0x1000, SIZES, &h, 2).unwrap_err();
    assert_eq!(
        (invalid(e.clone()), e.offset),
        ("node type (unlike the header's)", 0x1005)
    );
    let e = decode_leaf(&buf, 0x1000, SIZES, &h, 46).unwrap_err();
    assert_eq!(invalid(e), "number of records");
    let e = decode_leaf(&buf, 0x1000, SIZES, &h, u64::MAX).unwrap_err();
    assert_eq!(invalid(e), "number of records");
    assert!(decode_leaf(
        &buf,
        0x1000,
        Sizes {
            offset: 4,
            length: 4
        },
        &h,
        2
    )
    .is_err());
}

#[test]
fn twig_node_decodes() {
    let h = header(&Spec {
        depth: 1,
        root_nrecords: 2,
        ..Spec::default()
    });
    let recs = vec![link_record(100, 7), link_record(200, 8)];
    let kids = [(0x2000, 45, None), (0x2200, 30, None), (0x2400, 0, None)];
    let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 0), 512);
    let node = decode_internal(&buf, 0x1000, SIZES, &h, 1, 2).unwrap();
    assert_eq!(node.records.len(), 2);
    assert_eq!(
        node.children,
        [
            Child {
                addr: 0x2000,
                nrecords: 45,
                total_records: None
            },
            Child {
                addr: 0x2200,
                nrecords: 30,
                total_records: None
            },
            Child {
                addr: 0x2400,
                nrecords: 0,
                total_records: None
            },
        ]
    );
    // A child claiming more records than a leaf holds.
    let over = encode_node(
        b"BTIN",
        5,
        &recs,
        &[(0x2000, 46, None), (0x2200, 1, None), (0x2400, 1, None)],
        (1, 0),
        0,
    );
    let e = decode_internal(&over, 0x1000, SIZES, &h, 1, 2).unwrap_err();
    assert_eq!(
        (invalid(e.clone()), e.offset),
        ("number of records in child node", 0x1000 + 6 + 22 + 8)
    );
    // An undefined child address.
    let undef = encode_node(
        b"BTIN",
        5,
        &recs,
        &[(u64::MAX, 1, None), (0x2200, 1, None), (0x2400, 1, None)],
        (1, 0),
        0,
    );
    assert!(decode_internal(&undef, 0x1000, SIZES, &h, 1, 2).is_err());
    // Depth must be an internal level of this tree.
    for depth in [0, 2] {
        let e = decode_internal(&buf, 0x1000, SIZES, &h, depth, 2).unwrap_err();
        assert_eq!(invalid(e), "node depth");
    }
    let e = decode_internal(&buf, 0x1000, SIZES, &h, 1, 25).unwrap_err();
    assert_eq!(invalid(e), "number of records");
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_eq!(
        decode_internal(&bad, 0x1000, SIZES, &h, 1, 2)
            .unwrap_err()
            .kind,
        ErrorKind::BadSignature
    );
    let leaf_sig = encode_node(b"BTLF", 5, &recs, &kids, (1, 0), 0);
    assert_eq!(
        decode_internal(&leaf_sig, 0x1000, SIZES, &h, 1, 2)
            .unwrap_err()
            .kind,
        ErrorKind::BadSignature
    );
    let used = 6 + 22 + 3 * 9;
    for n in 0..used + 4 {
        let e = decode_internal(&buf[..n], 0x1000, SIZES, &h, 1, 2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
    }
    let mut bad = buf.clone();
    bad[used - 1] ^= 1;
    let e = decode_internal(&bad, 0x1000, SIZES, &h, 1, 2).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
}

#[test]
fn deep_internal_node_decodes() {
    // Depth 3: the root (level 3) points to level-2 nodes, whose totals take 2 bytes
    // (cum_max_nrec_size of level 2); level-2 nodes point to level-1 nodes (2 bytes too).
    let h = header(&Spec {
        depth: 3,
        root_nrecords: 1,
        ..Spec::default()
    });
    let recs = vec![link_record(5, 5)];
    let kids = [(0x3000, 22, Some(20000)), (0x3400, 10, Some(26449))];
    let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 512);
    let node = decode_internal(&buf, 0x1000, SIZES, &h, 3, 1).unwrap();
    assert_eq!(
        node.children,
        [
            Child {
                addr: 0x3000,
                nrecords: 22,
                total_records: Some(20000)
            },
            Child {
                addr: 0x3400,
                nrecords: 10,
                total_records: Some(26449)
            },
        ]
    );
    let kids = [(0x4000, 24, Some(1149)), (0x4400, 1, Some(46))];
    let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 0);
    let node = decode_internal(&buf, 0x1000, SIZES, &h, 2, 1).unwrap();
    assert_eq!(
        node.children[1],
        Child {
            addr: 0x4400,
            nrecords: 1,
            total_records: Some(46)
        }
    );
    // Totals below the child's own count, or beyond what the child level can hold.
    for kids in [
        [(0x4000, 24, Some(23)), (0x4400, 1, Some(1))],
        [(0x4000, 24, Some(1150)), (0x4400, 1, Some(1))],
    ] {
        let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 0);
        let e = decode_internal(&buf, 0x1000, SIZES, &h, 2, 1).unwrap_err();
        assert_eq!(invalid(e), "total records in child node");
    }
}

#[test]
fn huge_object_records() {
    let ctx = RecordContext::default();
    let mut b = vec![];
    put(&mut b, 0x5000, 8);
    put(&mut b, 1 << 20, 8);
    put(&mut b, 7, 8);
    assert_eq!(
        Record::decode(1, &b, 0, SIZES, &ctx).unwrap(),
        Record::HugeObject {
            addr: 0x5000,
            length: 1 << 20,
            id: 7
        }
    );
    assert_eq!(
        Record::decode(3, &b, 0, SIZES, &ctx).unwrap(),
        Record::DirectHugeObject {
            addr: 0x5000,
            length: 1 << 20
        }
    );
    let mut b = vec![];
    put(&mut b, 0x5000, 8);
    put(&mut b, 900, 8);
    put(&mut b, 0b11, 4);
    put(&mut b, 4000, 8);
    put(&mut b, 9, 8);
    assert_eq!(
        Record::decode(2, &b, 0, SIZES, &ctx).unwrap(),
        Record::FilteredHugeObject {
            addr: 0x5000,
            length: 900,
            filter_mask: 3,
            memory_size: 4000,
            id: 9
        }
    );
    assert_eq!(
        Record::decode(4, &b, 0, SIZES, &ctx).unwrap(),
        Record::FilteredDirectHugeObject {
            addr: 0x5000,
            length: 900,
            filter_mask: 3,
            memory_size: 4000
        }
    );
    // 4-byte offsets and lengths.
    let small = Sizes {
        offset: 4,
        length: 4,
    };
    let b = [0x00, 0x10, 0, 0, 0x20, 0, 0, 0, 0x03, 0, 0, 0];
    assert_eq!(
        Record::decode(1, &b, 0, small, &ctx).unwrap(),
        Record::HugeObject {
            addr: 0x1000,
            length: 0x20,
            id: 3
        }
    );
    let e = Record::decode(1, &b[..11], 0x40, small, &ctx).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x48));
    let undefined = [0xff; 24];
    assert!(Record::decode(1, &undefined, 0, SIZES, &ctx).is_err());
}

#[test]
fn link_and_attribute_records() {
    let ctx = RecordContext::default();
    let mut b = 0xdead_beef_u32.to_le_bytes().to_vec();
    b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        Record::decode(5, &b, 0, SIZES, &ctx).unwrap(),
        Record::LinkName {
            hash: 0xdead_beef,
            heap_id: [1, 2, 3, 4, 5, 6, 7]
        }
    );
    let mut b = 42u64.to_le_bytes().to_vec();
    b.extend_from_slice(&[9; 7]);
    assert_eq!(
        Record::decode(6, &b, 0, SIZES, &ctx).unwrap(),
        Record::LinkCreationOrder {
            creation_order: 42,
            heap_id: [9; 7]
        }
    );
    assert_eq!(
        Record::decode(6, &b[..14], 0, SIZES, &ctx)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
    let mut b = vec![1, 2, 3, 4, 5, 6, 7, 8, 0x01];
    put(&mut b, 3, 4);
    put(&mut b, 0x1234_5678, 4);
    assert_eq!(
        Record::decode(8, &b, 0, SIZES, &ctx).unwrap(),
        Record::AttributeName {
            heap_id: [1, 2, 3, 4, 5, 6, 7, 8],
            flags: 1,
            creation_order: 3,
            hash: 0x1234_5678
        }
    );
    assert_eq!(
        Record::decode(9, &b[..13], 0, SIZES, &ctx).unwrap(),
        Record::AttributeCreationOrder {
            heap_id: [1, 2, 3, 4, 5, 6, 7, 8],
            flags: 1,
            creation_order: 3
        }
    );
    assert_eq!(
        Record::decode(8, &b[..16], 0, SIZES, &ctx)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
}

#[test]
fn shared_message_records() {
    let ctx = RecordContext::default();
    let mut b = vec![0];
    put(&mut b, 0xaabb_ccdd, 4);
    put(&mut b, 3, 4);
    b.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        Record::decode(7, &b, 0, SIZES, &ctx).unwrap(),
        Record::SharedMessageInHeap {
            hash: 0xaabb_ccdd,
            refcount: 3,
            heap_id: [8, 7, 6, 5, 4, 3, 2, 1]
        }
    );
    let mut b = vec![1];
    put(&mut b, 0x0102_0304, 4);
    b.push(0); // reserved
    b.push(0x0c); // attribute message
    put(&mut b, 2, 2);
    put(&mut b, 0x6000, 8);
    assert_eq!(
        Record::decode(7, &b, 0, SIZES, &ctx).unwrap(),
        Record::SharedMessageInHeader {
            hash: 0x0102_0304,
            message_type: 0x0c,
            index: 2,
            header_addr: 0x6000
        }
    );
    b[0] = 2;
    let e = Record::decode(7, &b, 0x70, SIZES, &ctx).unwrap_err();
    assert_eq!(
        (invalid(e.clone()), e.offset),
        ("shared message location", 0x70)
    );
    assert_eq!(Record::min_size(7, SIZES, &ctx), Some(17));
}

#[test]
fn chunk_records() {
    let ctx = RecordContext {
        rank: 2,
        chunk_size_len: 0,
    };
    let mut b = vec![];
    put(&mut b, 0x7000, 8);
    put(&mut b, 3, 8);
    put(&mut b, 5, 8);
    assert_eq!(
        Record::decode(10, &b, 0, SIZES, &ctx).unwrap(),
        Record::Chunk {
            addr: 0x7000,
            scaled: vec![3, 5]
        }
    );
    assert_eq!(
        Record::decode(10, &b[..23], 0, SIZES, &ctx)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
    let e = Record::decode(
        10,
        &b,
        0,
        SIZES,
        &RecordContext {
            rank: 0,
            chunk_size_len: 0,
        },
    )
    .unwrap_err();
    assert_eq!(invalid(e), "dataset rank");
    let e = Record::decode(
        10,
        &b,
        0,
        SIZES,
        &RecordContext {
            rank: 33,
            chunk_size_len: 0,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Limit {
            what: "dataset rank",
            value: 33,
            limit: 32
        }
    );
    // A hostile rank never allocates beyond the record.
    let e = Record::decode(
        10,
        &b,
        0,
        SIZES,
        &RecordContext {
            rank: usize::MAX,
            chunk_size_len: 0,
        },
    )
    .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit { .. }));

    let ctx = RecordContext {
        rank: 3,
        chunk_size_len: 3,
    };
    let mut b = vec![];
    put(&mut b, 0x7100, 8);
    put(&mut b, 0x01_0203, 3);
    put(&mut b, 0b1, 4);
    for s in [1, 2, 4] {
        put(&mut b, s, 8);
    }
    assert_eq!(Record::min_size(11, SIZES, &ctx), Some(b.len()));
    assert_eq!(
        Record::decode(11, &b, 0, SIZES, &ctx).unwrap(),
        Record::FilteredChunk {
            addr: 0x7100,
            size: 0x01_0203,
            filter_mask: 1,
            scaled: vec![1, 2, 4]
        }
    );
    for chunk_size_len in [0, 9] {
        let e = Record::decode(
            11,
            &b,
            0,
            SIZES,
            &RecordContext {
                rank: 3,
                chunk_size_len,
            },
        )
        .unwrap_err();
        assert_eq!(invalid(e), "chunk size width");
    }
    assert_eq!(
        Record::decode(11, &b[..b.len() - 1], 0, SIZES, &ctx)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
}

#[test]
fn unknown_record_types() {
    for t in [0, 12, 255] {
        let e = Record::decode(t, &[0; 64], 0x90, SIZES, &RecordContext::default()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{t}");
        assert_eq!(e.offset, 0x90);
        assert_eq!(Record::min_size(t, SIZES, &RecordContext::default()), None);
    }
    // Headers of unknown types still decode; their records do not.
    let h = header(&Spec {
        record_type: 0,
        record_size: 4,
        ..Spec::default()
    });
    assert_eq!(h.record_type, 0);
}

#[test]
fn min_sizes_match_decoders() {
    let ctx = RecordContext {
        rank: 2,
        chunk_size_len: 8,
    };
    for t in 1..=11u8 {
        let n = Record::min_size(t, SIZES, &ctx).unwrap();
        let mut bytes = vec![0u8; n];
        if t == 7 {
            bytes[0] = 1; // the longer, object-header layout with 8-byte offsets
        }
        assert!(
            Record::decode(t, &bytes, 0, SIZES, &ctx).is_ok(),
            "type {t}"
        );
        assert!(
            Record::decode(t, &bytes[..n - 1], 0, SIZES, &ctx).is_err(),
            "type {t}"
        );
    }
}

#[test]
fn name_hashes() {
    assert_eq!(name_hash(b""), 0xdead_beef);
    assert_eq!(name_hash(b"Four score and seven years ago"), 0x1777_0551);
    assert_eq!(name_hash(b"dataset"), lookup3::hash(b"dataset", 0));
    assert_ne!(name_hash(b"a"), name_hash(b"b"));
}

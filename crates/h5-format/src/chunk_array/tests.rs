use super::test_util::{put, unfiltered, S44, S88};
use super::*;
use crate::error::ErrorKind;
use crate::reader::Reader;
use crate::writer::Writer;
use alloc::vec;
use alloc::vec::Vec;

#[test]
fn chunk_element_decoding() {
    let mut b = Vec::new();
    put(&mut b, 0x1234, 8);
    put(&mut b, 0x0203, 3);
    put(&mut b, 5, 4);
    let e = ChunkElement::decode(&b, S88, true, 3).unwrap();
    assert_eq!(
        e,
        ChunkElement {
            addr: Some(0x1234),
            size: Some(0x0203),
            filter_mask: 5
        }
    );
    assert!(e.is_allocated());
    assert_eq!(ChunkElement::encoded_len(S88, true, 3), 15);
    assert_eq!(ChunkElement::encoded_len(S44, false, 3), 4);

    let e = ChunkElement::decode(&[0xff; 4], S44, false, 0).unwrap();
    assert_eq!(
        e,
        ChunkElement {
            addr: None,
            size: None,
            filter_mask: 0
        }
    );
    assert!(!e.is_allocated());

    assert_eq!(
        ChunkElement::decode(&b[..14], S88, true, 3)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
    assert!(matches!(
        ChunkElement::decode(&b, S88, true, 9).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    assert!(matches!(
        ChunkElement::decode(&b, S88, true, 0).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
}

#[test]
fn element_format_validation() {
    let buf = [0u8; 1];
    let r = Reader::new(&buf, 0x40, S88, "t");
    assert_eq!(
        ElementFormat::new(&r, 0, 8).unwrap(),
        ElementFormat {
            filtered: false,
            chunk_size_len: 0,
            size: 8
        }
    );
    assert_eq!(
        ElementFormat::new(&r, 1, 20).unwrap(),
        ElementFormat {
            filtered: true,
            chunk_size_len: 8,
            size: 20
        }
    );
    assert_eq!(ElementFormat::new(&r, 1, 13).unwrap().chunk_size_len, 1);
    for (client, size) in [(0, 4), (1, 12), (1, 21), (1, 0)] {
        assert!(
            matches!(
                ElementFormat::new(&r, client, size).unwrap_err().kind,
                ErrorKind::Invalid(_)
            ),
            "client {client}, element size {size}"
        );
    }
    let e = ElementFormat::new(&r, 2, 8).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
    assert_eq!(e.offset, 0x40);
}

#[test]
fn read_all_checks_before_allocating() {
    let fmt = ElementFormat {
        filtered: false,
        chunk_size_len: 0,
        size: 8,
    };
    let buf = [0u8; 16];
    let mut r = Reader::new(&buf, 0, S88, "t");
    assert_eq!(
        fmt.read_all(&mut r, u64::MAX).unwrap_err().kind,
        ErrorKind::Truncated
    );
    assert_eq!(
        fmt.read_all(&mut r, 3).unwrap_err().kind,
        ErrorKind::Truncated
    );
    assert_eq!(fmt.read_all(&mut r, 2).unwrap().len(), 2);
    assert_eq!(r.remaining(), 0);
}

#[test]
fn bitmap_is_msb_first() {
    let bm = [0b1000_0001u8, 0b0100_0000];
    let set: Vec<u64> = (0..20).filter(|&i| page_initialised(&bm, i)).collect();
    assert_eq!(set, vec![0, 7, 9]);
    assert!(!page_initialised(&bm, u64::MAX));
}

#[test]
fn chunk_size_len_as_libhdf5() {
    // Measured with libhdf5 2.0.0 (layout v4 at libver v110): element sizes 14 for
    // chunks of 1–255 bytes, 15 from 256, 16 from 65536, 17 from 2^24.
    let v4 = |n| filtered_chunk_size_len(4, S88, n);
    assert_eq!(
        [1, 4, 255, 256, 65535, 65536, 1 << 23, 1 << 24].map(v4),
        [2, 2, 2, 3, 3, 4, 4, 5]
    );
    assert_eq!(v4(0), 2);
    assert_eq!(v4(u64::MAX), 8);
    assert_eq!(v4(1 << 48), 8);
    assert_eq!(filtered_chunk_size_len(5, S88, 4), 8);
    assert_eq!(filtered_chunk_size_len(5, S44, 1 << 40), 4);
}

#[test]
fn element_encoding_round_trips() {
    let fmt = ElementFormat::for_params(S44, true, 3, "t", 0).unwrap();
    assert_eq!((fmt.size, fmt.client_id()), (4 + 3 + 4, 1));
    let e = ChunkElement {
        addr: Some(0x1234),
        size: Some(0xff_ffff),
        filter_mask: 7,
    };
    assert!(fmt.fits(S44, &e));
    let mut w = Writer::new(S44);
    fmt.write_all(&mut w, &[e, ChunkElement::undefined(true)]);
    let b = w.finish();
    assert_eq!(b.len(), 22);
    let mut r = Reader::new(&b, 0, S44, "t");
    assert_eq!(
        fmt.read_all(&mut r, 2).unwrap(),
        vec![e, ChunkElement::undefined(true)]
    );
    // What does not fit.
    assert!(!fmt.fits(
        S44,
        &ChunkElement {
            size: Some(1 << 24),
            ..e
        }
    ));
    assert!(!fmt.fits(S44, &ChunkElement { size: None, ..e }));
    assert!(!fmt.fits(
        S44,
        &ChunkElement {
            addr: Some(1 << 32),
            ..e
        }
    ));
    assert!(!fmt.fits(
        S44,
        &ChunkElement {
            addr: Some(0xffff_ffff),
            ..e
        }
    ));
    let fmt8 = ElementFormat::for_params(S88, true, 8, "t", 0).unwrap();
    assert!(fmt8.fits(
        S88,
        &ChunkElement {
            size: Some(u64::MAX),
            ..e
        }
    ));
    assert!(!fmt8.fits(
        S88,
        &ChunkElement {
            addr: Some(u64::MAX),
            ..e
        }
    ));
    let plain = ElementFormat::for_params(S88, false, 0, "t", 0).unwrap();
    assert_eq!((plain.size, plain.client_id()), (8, 0));
    assert!(plain.fits(S88, &unfiltered(5)));
    assert!(!plain.fits(
        S88,
        &ChunkElement {
            size: Some(1),
            ..unfiltered(5)
        }
    ));
    assert!(!plain.fits(
        S88,
        &ChunkElement {
            filter_mask: 1,
            ..unfiltered(5)
        }
    ));
    assert!(ElementFormat::for_params(S88, true, 0, "t", 0).is_err());
    assert!(ElementFormat::for_params(S88, true, 9, "t", 0).is_err());
    // Bit helpers.
    let mut bm = [0u8; 3];
    for i in [0, 9, 23, 24, u64::MAX] {
        set_page_bit(&mut bm, i);
    }
    assert_eq!(bm, [0x80, 0x40, 0x01]);
    assert_eq!(set_bits(&bm, 0, 24).collect::<Vec<_>>(), vec![0, 9, 23]);
    assert_eq!(set_bits(&bm, 9, 14).collect::<Vec<_>>(), vec![0]);
    assert_eq!(set_bits(&bm, 1, 8).count(), 0);
    assert_eq!(set_bits(&bm, 20, u64::MAX).collect::<Vec<_>>(), vec![3]);
    assert_eq!(set_bits(&bm, u64::MAX - 3, 10).count(), 0);
}

use super::*;
use crate::chunk_array::test_util::{
    hex, load, put, put_addr, put_elem, seal, store, unfiltered, write_addrs, Mem, S44, S88,
};
use crate::chunk_array::{filtered_chunk_size_len, ChunkElement};
use crate::error::{Error, ErrorKind};
use crate::reader::{Addr, Sizes};
use alloc::vec;
use alloc::vec::Vec;

fn header_bytes(sizes: Sizes, client: u8, esize: u8, bits: u8, n: u64, dblk: Addr) -> Vec<u8> {
    let mut b = b"FAHD".to_vec();
    b.extend_from_slice(&[0, client, esize, bits]);
    put(&mut b, n, sizes.length as usize);
    put_addr(&mut b, sizes, dblk);
    seal(b)
}

fn dblock_prefix(sizes: Sizes, client: u8, hdr_addr: u64) -> Vec<u8> {
    let mut b = b"FADB".to_vec();
    b.extend_from_slice(&[0, client]);
    put_addr(&mut b, sizes, Some(hdr_addr));
    b
}

#[test]
fn unpaged_header_and_data_block() {
    let hb = header_bytes(S88, 0, 8, 10, 3, Some(0x400));
    assert_eq!(hb.len(), Header::size(S88));
    let h = Header::decode(&hb, 0x200, S88).unwrap();
    assert_eq!(h.addr, 0x200);
    assert_eq!(h.client_id, 0);
    assert_eq!(h.nelmts, 3);
    assert_eq!(h.data_block_addr, Some(0x400));
    assert!(!h.filtered());
    assert!(!h.is_paged());
    assert_eq!(h.npages(), 0);
    assert_eq!(h.max_page_nelmts(), 1024);
    assert_eq!(h.data_block_prefix_size(S88), 18);
    assert_eq!(h.data_block_size(S88), 18 + 24);
    assert_eq!(h.data_block_total_size(S88), 42);
    assert_eq!(h.page_addr(0x400, S88, 0), None);
    assert_eq!(h.page_size(0), 0);
    assert_eq!(h.element_position(2), Some(ElementPosition::Direct(2)));
    assert_eq!(h.element_position(3), None);

    let mut db = dblock_prefix(S88, 0, 0x200);
    put_addr(&mut db, S88, Some(0x1000));
    put_addr(&mut db, S88, None);
    put_addr(&mut db, S88, Some(0x3000));
    let db = seal(db);
    assert_eq!(db.len() as u64, h.data_block_size(S88));
    let d = DataBlock::decode(&db, 0x400, S88, &h).unwrap();
    assert_eq!(d.page_init, None);
    assert_eq!(
        d.elements,
        vec![
            unfiltered(0x1000),
            ChunkElement {
                addr: None,
                size: None,
                filter_mask: 0
            },
            unfiltered(0x3000)
        ]
    );
    assert!(d.page_initialised(0));

    // Truncation anywhere in the block.
    for n in 0..db.len() {
        assert_eq!(
            DataBlock::decode(&db[..n], 0x400, S88, &h)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated,
            "{n}"
        );
    }
    // Bad checksum: flip a byte of an element.
    let mut bad = db.clone();
    bad[20] ^= 1;
    let e = DataBlock::decode(&bad, 0x400, S88, &h).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, 0x400 + 42 - 4);
    // Bad signature.
    let mut bad = db.clone();
    bad[0] = b'X';
    let e = DataBlock::decode(&bad, 0x400, S88, &h).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, 0x400));
    // Wrong header address / client ID.
    let other = Header {
        addr: 0x208,
        ..h.clone()
    };
    let e = DataBlock::decode(&db, 0x400, S88, &other).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Invalid("header address"), 0x406)
    );
    let other = Header {
        client_id: 1,
        ..h.clone()
    };
    assert!(matches!(
        DataBlock::decode(&db, 0x400, S88, &other).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
}

#[test]
fn header_errors() {
    let hb = header_bytes(S44, 0, 4, 10, 3, Some(0x400));
    assert_eq!(hb.len(), Header::size(S44));
    assert!(Header::decode(&hb, 0, S44).is_ok());
    for n in 0..hb.len() {
        assert_eq!(
            Header::decode(&hb[..n], 0, S44).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }
    let mut bad = hb.clone();
    bad[3] = b'B';
    assert_eq!(
        Header::decode(&bad, 0, S44).unwrap_err().kind,
        ErrorKind::BadSignature
    );
    let mut bad = hb.clone();
    bad[9] ^= 0x80;
    assert!(matches!(
        Header::decode(&bad, 0, S44).unwrap_err().kind,
        ErrorKind::BadChecksum { .. }
    ));
    let bad = seal({
        let mut b = hb[..hb.len() - 4].to_vec();
        b[4] = 1;
        b
    });
    assert_eq!(
        Header::decode(&bad, 0, S44).unwrap_err().kind,
        ErrorKind::VersionNotAccepted {
            version: 1,
            accepted: &[0]
        }
    );
    // Element size does not match the client.
    let bad = header_bytes(S44, 0, 8, 10, 3, None);
    assert!(matches!(
        Header::decode(&bad, 0, S44).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    let bad = header_bytes(S44, 7, 4, 10, 3, None);
    assert!(matches!(
        Header::decode(&bad, 0, S44).unwrap_err().kind,
        ErrorKind::Unsupported(_)
    ));
    // An element count whose data block cannot exist.
    let bad = header_bytes(S88, 0, 8, 0, u64::MAX - 1, Some(0));
    let e = Header::decode(&bad, 0x10, S88).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Invalid("number of elements"), 0x18)
    );
}

#[test]
fn huge_counts_never_allocate() {
    // 2^40 elements in pages of 1: a bitmap of 2^37 bytes, which the buffer does not hold.
    let hb = header_bytes(S88, 0, 8, 0, 1 << 40, Some(0x400));
    let h = Header::decode(&hb, 0, S88).unwrap();
    assert_eq!(h.npages(), 1 << 40);
    assert_eq!(h.page_bitmap_size(), 1 << 37);
    let db = seal(dblock_prefix(S88, 0, 0));
    assert_eq!(
        DataBlock::decode(&db, 0x400, S88, &h).unwrap_err().kind,
        ErrorKind::Truncated
    );
    // Unpaged with a huge count: truncated, not an allocation.
    let hb = header_bytes(S88, 0, 8, 63, 1 << 60, Some(0x400));
    let h = Header::decode(&hb, 0, S88).unwrap();
    assert!(!h.is_paged());
    assert_eq!(
        DataBlock::decode(&db, 0x400, S88, &h).unwrap_err().kind,
        ErrorKind::Truncated
    );
    // page_bits >= 64 never pages.
    let hb = header_bytes(S88, 0, 8, 200, 5, Some(0x400));
    let h = Header::decode(&hb, 0, S88).unwrap();
    assert_eq!(h.max_page_nelmts(), u64::MAX);
    assert!(!h.is_paged());
}

/// A paged, filtered array: 10 elements, pages of 4 (bits = 2) → pages of 4, 4, 2.
#[test]
fn paged_filtered_array() {
    let sizes = S44;
    let csl = 2;
    let esize = 4 + csl + 4;
    let hb = header_bytes(sizes, 1, esize as u8, 2, 10, Some(0x800));
    let h = Header::decode(&hb, 0x100, sizes).unwrap();
    assert!(h.filtered());
    assert_eq!(h.format.chunk_size_len, 2);
    assert!(h.is_paged());
    assert_eq!(h.npages(), 3);
    assert_eq!(h.page_bitmap_size(), 1);
    assert_eq!(
        (
            h.page_nelmts(0),
            h.page_nelmts(1),
            h.page_nelmts(2),
            h.page_nelmts(3)
        ),
        (4, 4, 2, 0)
    );
    assert_eq!(h.page_size(0), 44);
    assert_eq!(h.page_size(2), 24);
    let prefix = 4 + 2 + 4 + 1 + 4;
    assert_eq!(h.data_block_prefix_size(sizes), prefix);
    assert_eq!(h.data_block_size(sizes), prefix);
    assert_eq!(h.data_block_total_size(sizes), prefix + 44 + 44 + 24);
    assert_eq!(h.page_addr(0x800, sizes, 0), Some(0x800 + prefix));
    assert_eq!(h.page_addr(0x800, sizes, 2), Some(0x800 + prefix + 88));
    assert_eq!(h.page_addr(0x800, sizes, 3), None);
    assert_eq!(h.page_addr(u64::MAX - 4, sizes, 1), None);
    assert_eq!(
        h.element_position(9),
        Some(ElementPosition::Paged { page: 2, index: 1 })
    );
    assert_eq!(
        h.element_position(4),
        Some(ElementPosition::Paged { page: 1, index: 0 })
    );

    // Pages 0 and 2 initialised: MSB-first bitmap 0b1010_0000.
    let mut db = dblock_prefix(sizes, 1, 0x100);
    db.push(0xa0);
    let db = seal(db);
    assert_eq!(db.len() as u64, prefix);
    let d = DataBlock::decode(&db, 0x800, sizes, &h).unwrap();
    assert_eq!(d.page_init.as_deref(), Some(&[0xa0u8][..]));
    assert!(d.elements.is_empty());
    assert_eq!(
        (
            d.page_initialised(0),
            d.page_initialised(1),
            d.page_initialised(2)
        ),
        (true, false, true)
    );

    // Build the whole image (pages back to back after the prefix) and decode page 2.
    let mut image = db.clone();
    let mut expect = Vec::new();
    for p in 0..3u64 {
        let mut page = Vec::new();
        let mut elems = Vec::new();
        for k in 0..h.page_nelmts(p) {
            let i = p * 4 + k;
            let e = ChunkElement {
                addr: Some(0x10000 + i * 0x100),
                size: Some(100 + i),
                filter_mask: i as u32,
            };
            put_elem(&mut page, sizes, &e, csl);
            elems.push(e);
        }
        let page = seal(page);
        assert_eq!(page.len() as u64, h.page_size(p));
        assert_eq!(
            0x800 + image.len() as u64,
            h.page_addr(0x800, sizes, p).unwrap()
        );
        image.extend_from_slice(&page);
        expect.push(elems);
    }
    assert_eq!(image.len() as u64, h.data_block_total_size(sizes));
    for p in 0..3u64 {
        let at = h.page_addr(0x800, sizes, p).unwrap();
        let off = (at - 0x800) as usize;
        let bytes = &image[off..off + h.page_size(p) as usize];
        assert_eq!(
            decode_page(bytes, at, sizes, &h, p).unwrap(),
            expect[p as usize]
        );
    }
    let at = h.page_addr(0x800, sizes, 2).unwrap();
    let off = (at - 0x800) as usize;
    let page2 = &image[off..];
    // Truncated page, bad page checksum, page out of range.
    assert_eq!(
        decode_page(&page2[..23], at, sizes, &h, 2)
            .unwrap_err()
            .kind,
        ErrorKind::Truncated
    );
    let mut bad = page2.to_vec();
    bad[0] ^= 1;
    let e = decode_page(&bad, at, sizes, &h, 2).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    assert_eq!(e.offset, at + 20);
    assert!(matches!(
        decode_page(page2, at, sizes, &h, 3).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    // Decoding page 1's bytes as page 2 fails its checksum (wrong length).
    let at1 = h.page_addr(0x800, sizes, 1).unwrap();
    let off1 = (at1 - 0x800) as usize;
    assert!(decode_page(&image[off1..], at1, sizes, &h, 2).is_err());
}

/// Blocks written by libhdf5 2.0.0 (h5py, `libver="latest"`): a 5000-chunk 1-D dataset
/// with chunks 0, 2500, 4096 and 4999 written, so pages 0, 2 and 4 of 5 are initialised.
#[test]
fn libhdf5_paged_data_block() {
    let hb = hex("464148440000080a881300000000000000100000000000001fef5006");
    let h = Header::decode(&hb, 447, S88).unwrap();
    assert_eq!(
        (h.client_id, h.element_size, h.page_bits, h.nelmts),
        (0, 8, 10, 5000)
    );
    assert_eq!(h.data_block_addr, Some(4096));
    assert_eq!((h.npages(), h.page_nelmts(4)), (5, 5000 - 4096));
    let db = hex("464144420000bf01000000000000a8411f8930");
    assert_eq!(db.len() as u64, h.data_block_size(S88));
    let d = DataBlock::decode(&db, 4096, S88, &h).unwrap();
    // 0xa8 = 1010_1000: MSB-first bits 0, 2 and 4.
    assert_eq!(d.page_init.as_deref(), Some(&[0xa8u8][..]));
    let init: Vec<u64> = (0..5).filter(|&p| d.page_initialised(p)).collect();
    assert_eq!(init, vec![0, 2, 4]);
    assert_eq!(
        h.element_position(2500),
        Some(ElementPosition::Paged {
            page: 2,
            index: 452
        })
    );
    assert_eq!(
        h.page_addr(4096, S88, 4),
        Some(4096 + 19 + 4 * (1024 * 8 + 4))
    );
}

#[test]
fn exact_multiple_of_page_size() {
    // 8 elements, pages of 4: exactly two full pages; 4 elements is not paged.
    let h = Header::decode(&header_bytes(S88, 0, 8, 2, 8, Some(0)), 0, S88).unwrap();
    assert_eq!((h.npages(), h.page_nelmts(1)), (2, 4));
    let h = Header::decode(&header_bytes(S88, 0, 8, 2, 4, Some(0)), 0, S88).unwrap();
    assert!(!h.is_paged());
    // 17 pages need a 3-byte bitmap.
    let h = Header::decode(&header_bytes(S88, 0, 8, 0, 17, Some(0)), 0, S88).unwrap();
    assert_eq!(
        (h.npages(), h.page_bitmap_size(), h.page_nelmts(16)),
        (17, 3, 1)
    );
}

/// Every element of the fixed array at `addr`, through the decoders.
fn decode_fa(mem: &Mem, addr: u64, sizes: Sizes) -> (Header, Vec<ChunkElement>) {
    let hb = mem.read(addr, Header::size(sizes)).unwrap();
    let h = Header::decode(&hb, addr, sizes).unwrap();
    assert_eq!(h.encode(sizes), hb);
    let mut out = vec![ChunkElement::undefined(h.filtered()); h.nelmts as usize];
    if let Some(d) = h.data_block_addr {
        let bytes = mem.read(d, h.data_block_size(sizes) as usize).unwrap();
        let db = DataBlock::decode(&bytes, d, sizes, &h).unwrap();
        assert_eq!(db.encode(sizes, &h), bytes);
        if h.is_paged() {
            let per = h.max_page_nelmts() as usize;
            for p in 0..h.npages() {
                if db.page_initialised(p) {
                    let at = h.page_addr(d, sizes, p).unwrap();
                    let page = mem.read(at, h.page_size(p) as usize).unwrap();
                    let elems = decode_page(&page, at, sizes, &h, p).unwrap();
                    assert_eq!(encode_page(sizes, &h, &elems), page);
                    let first = p as usize * per;
                    out[first..first + elems.len()].copy_from_slice(&elems);
                }
            }
        } else {
            out = db.elements;
        }
    }
    (h, out)
}

fn felem(i: u64) -> ChunkElement {
    ChunkElement {
        addr: Some(0x10_0000 + i * 0x40),
        size: Some(20 + i % 200),
        filter_mask: (i % 3) as u32,
    }
}

fn uelem(i: u64) -> ChunkElement {
    unfiltered(0x10_0000 + i * 0x40)
}

fn check(edit: &FixedArrayEdit, mem: &Mem, want: &[ChunkElement]) {
    let sizes = edit.sizes;
    let (h, got) = decode_fa(mem, edit.addr().unwrap(), sizes);
    assert_eq!(&h, edit.header());
    assert_eq!(got, want);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(
            edit.get(i as u64),
            w.is_allocated().then_some(w),
            "element {i}"
        );
    }
    let listed: Vec<(u64, ChunkElement)> = edit.iter().map(|(i, e)| (i, *e)).collect();
    let expect: Vec<(u64, ChunkElement)> = want
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_allocated())
        .map(|(i, e)| (i as u64, *e))
        .collect();
    assert_eq!(listed, expect);
}

#[test]
fn unpaged_model_round_trip() {
    let sizes = S88;
    let params = FixedArrayParams::default_for(false, 0, 10);
    let mut edit = FixedArrayEdit::new(params, sizes).unwrap();
    assert_eq!(
        (edit.len(), edit.is_empty(), edit.addr()),
        (10, false, None)
    );
    assert_eq!(edit.params(), params);
    let mut mem = Mem::new(0x100);
    // No element: only the header, with no data block (what libhdf5 creates first).
    let (addr, s) = store(&mut edit, &mut mem);
    assert_eq!(addr, 0x100);
    assert_eq!(s.writes.len(), 1);
    assert_eq!(mem.allocs, vec![(0x100, Header::size(sizes) as u64)]);
    let mut want = vec![ChunkElement::undefined(false); 10];
    check(&edit, &mem, &want);
    // Set three elements: the data block appears (block first, header last).
    for i in [0, 3, 9] {
        edit.set(i, uelem(i)).unwrap();
        want[i as usize] = uelem(i);
    }
    let (_, s) = store(&mut edit, &mut mem);
    let dblk = edit.header().data_block_addr.unwrap();
    assert_eq!(write_addrs(&s), [dblk, addr]);
    assert_eq!(s.writes[0].1.len() as u64, 18 + 80);
    check(&edit, &mem, &want);
    // Nothing changed: nothing written; setting an element to what it is: nothing either.
    assert!(store(&mut edit, &mut mem).1.writes.is_empty());
    edit.set(3, uelem(3)).unwrap();
    edit.clear(4).unwrap();
    assert!(store(&mut edit, &mut mem).1.writes.is_empty());
    // Load, change, store: only the data block is rewritten.
    let mut again = load(&mem, addr, sizes);
    check(&again, &mem, &want);
    again.set(5, uelem(50)).unwrap();
    again.clear(0).unwrap();
    want[5] = uelem(50);
    want[0] = ChunkElement::undefined(false);
    let (a2, s) = store(&mut again, &mut mem);
    assert_eq!(a2, addr);
    assert_eq!(s.writes.len(), 1);
    assert_eq!(s.writes[0].0, dblk);
    check(&again, &mem, &want);
    assert_eq!(again.extents(), vec![(addr, 28), (dblk, 18 + 80)]);
    // Errors.
    let e = again.set(10, uelem(1)).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Invalid("element index"), addr)
    );
    assert!(again.clear(10).is_err());
    assert!(again.get(10).is_none());
    assert!(again.set(1, felem(1)).is_err());
    assert!(again.set(1, unfiltered(u64::MAX)).is_err());
    // Setting the undefined address clears.
    again.set(9, ChunkElement::undefined(false)).unwrap();
    assert!(again.get(9).is_none());
}

#[test]
fn paged_model_round_trip() {
    // 4-byte sizes, filtered with 2-byte chunk sizes, pages of 4: 10 elements in pages
    // of 4, 4, 2.
    let sizes = S44;
    let params = FixedArrayParams {
        filtered: true,
        chunk_size_len: 2,
        max_dblk_page_nelmts_bits: 2,
        nelmts: 10,
    };
    let mut edit = FixedArrayEdit::new(params, sizes).unwrap();
    let small = |i: u64| ChunkElement {
        addr: Some(0x1000 + i),
        size: Some(i * 10),
        filter_mask: i as u32 & 1,
    };
    edit.set(5, small(5)).unwrap();
    let mut want = vec![ChunkElement::undefined(true); 10];
    want[5] = small(5);
    let mut mem = Mem::new(0x40);
    let (addr, s) = store(&mut edit, &mut mem);
    let h = edit.header().clone();
    assert!(h.is_paged());
    let dblk = h.data_block_addr.unwrap();
    // Header, then the whole data block with room for its three pages.
    assert_eq!(
        mem.allocs,
        vec![
            (0x40, Header::size(sizes) as u64),
            (0x40 + 20, h.data_block_total_size(sizes))
        ]
    );
    // Page 1, the prefix (bitmap 0x40), the header.
    let at1 = h.page_addr(dblk, sizes, 1).unwrap();
    assert_eq!(write_addrs(&s), [at1, dblk, addr]);
    let prefix = DataBlock::decode(&s.writes[1].1, dblk, sizes, &h).unwrap();
    assert_eq!(prefix.page_init, Some(vec![0x40]));
    check(&edit, &mem, &want);
    // Element 3 of page 0 (a new page) and 6 of page 1.
    edit.set(3, small(3)).unwrap();
    edit.set(6, small(6)).unwrap();
    want[3] = small(3);
    want[6] = small(6);
    let (_, s) = store(&mut edit, &mut mem);
    let at0 = h.page_addr(dblk, sizes, 0).unwrap();
    assert_eq!(write_addrs(&s), [at0, at1, dblk]);
    check(&edit, &mem, &want);
    // Load: pages 0 and 1; add the last page; clear one.
    let mut again = load(&mem, addr, sizes);
    check(&again, &mem, &want);
    again.set(9, small(9)).unwrap();
    again.clear(3).unwrap();
    again.clear(8).unwrap(); // page 2 does not exist yet: no-op
    want[9] = small(9);
    want[3] = ChunkElement::undefined(true);
    let (_, s) = store(&mut again, &mut mem);
    let at2 = h.page_addr(dblk, sizes, 2).unwrap();
    assert_eq!(write_addrs(&s), [at0, at2, dblk]);
    check(&again, &mem, &want);
    let d = DataBlock::decode(&mem.read(dblk, 15).unwrap(), dblk, sizes, &h).unwrap();
    assert_eq!(d.page_init, Some(vec![0xe0]));
    // A chunk size that does not fit 2 bytes.
    let big = ChunkElement {
        size: Some(1 << 16),
        ..small(1)
    };
    assert!(matches!(
        again.set(1, big).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    assert!(again.set(1, uelem(1)).is_err());
    // An address that does not fit 4 bytes.
    let mut bad = FixedArrayEdit::new(params, sizes).unwrap();
    let e = bad.store(&mut |_| 1 << 33).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Invalid(_)));
}

/// 2000 chunks with libhdf5's defaults: two pages of 1024 and 976.
#[test]
fn default_paged_model() {
    let sizes = S88;
    let mut edit =
        FixedArrayEdit::new(FixedArrayParams::default_for(false, 0, 2000), sizes).unwrap();
    let mut want = vec![ChunkElement::undefined(false); 2000];
    for i in (0..2000).step_by(3) {
        edit.set(i, uelem(i)).unwrap();
        want[i as usize] = uelem(i);
    }
    let mut mem = Mem::new(0);
    let (addr, s) = store(&mut edit, &mut mem);
    assert_eq!(s.writes.len(), 4);
    assert_eq!(s.writes[0].1.len(), 1024 * 8 + 4);
    assert_eq!(s.writes[1].1.len(), 976 * 8 + 4);
    check(&edit, &mem, &want);
    let mut again: FixedArrayEdit = load(&mem, addr, sizes);
    for i in (1..2000).step_by(7) {
        again.set(i, uelem(i + 5000)).unwrap();
        want[i as usize] = uelem(i + 5000);
    }
    store(&mut again, &mut mem);
    check(&again, &mem, &want);
    // The filtered twin with a 3-byte chunk size (layout v4 for 256-byte chunks).
    let csl = filtered_chunk_size_len(4, sizes, 256);
    let mut edit =
        FixedArrayEdit::new(FixedArrayParams::default_for(true, csl, 2000), sizes).unwrap();
    let mut want = vec![ChunkElement::undefined(true); 2000];
    for i in (0..2000).rev().step_by(5) {
        edit.set(i, felem(i)).unwrap();
        want[i as usize] = felem(i);
    }
    let mut mem = Mem::new(0);
    store(&mut edit, &mut mem);
    assert_eq!(edit.header().element_size, 8 + 3 + 4);
    check(&edit, &mem, &want);
}

#[test]
fn new_refuses_bad_parameters() {
    let p = FixedArrayParams::default_for(true, 0, 10);
    assert!(matches!(
        FixedArrayEdit::new(p, S88).unwrap_err().kind,
        ErrorKind::Invalid(_)
    ));
    let p = FixedArrayParams::default_for(true, 9, 10);
    assert!(FixedArrayEdit::new(p, S88).is_err());
    let p = FixedArrayParams::default_for(false, 0, u64::MAX / 4);
    assert_eq!(
        FixedArrayEdit::new(p, S88).unwrap_err().kind,
        ErrorKind::Invalid("number of elements")
    );
    // Valid but too large to materialise: a Limit error on the first set, no allocation.
    let p = FixedArrayParams {
        max_dblk_page_nelmts_bits: 60,
        ..FixedArrayParams::default_for(false, 0, 1 << 40)
    };
    let mut edit = FixedArrayEdit::new(p, S88).unwrap();
    assert!(matches!(
        edit.set(5, uelem(5)).unwrap_err().kind,
        ErrorKind::Limit { .. }
    ));
    let p = FixedArrayParams {
        max_dblk_page_nelmts_bits: 0,
        ..p
    };
    let mut edit = FixedArrayEdit::new(p, S88).unwrap();
    assert!(matches!(
        edit.set(5, uelem(5)).unwrap_err().kind,
        ErrorKind::Limit { .. }
    ));
    // Zero elements: a header only.
    let mut edit = FixedArrayEdit::new(FixedArrayParams::default_for(false, 0, 0), S88).unwrap();
    assert!(edit.is_empty());
    assert!(edit.set(0, uelem(0)).is_err());
    let mut mem = Mem::new(8);
    store(&mut edit, &mut mem);
    assert_eq!(decode_fa(&mem, 8, S88).1, vec![]);
}

#[test]
fn load_rejects_bad_input() {
    let sizes = S88;
    let mut edit =
        FixedArrayEdit::new(FixedArrayParams::default_for(true, 8, 3000), sizes).unwrap();
    for i in [0, 1500, 2999] {
        edit.set(i, felem(i)).unwrap();
    }
    let mut mem = Mem::new(0x10);
    let (addr, _) = store(&mut edit, &mut mem);
    let loads = |m: &Mem| FixedArrayEdit::load(addr, sizes, &mut |a, n| m.read(a, n));
    assert!(loads(&mem).is_ok());
    // Truncated anywhere.
    for cut in [0, 10, 40, 60, 100, 20000, mem.bytes.len() - 1] {
        let mut m = Mem::new(0);
        m.bytes = mem.bytes[..cut].to_vec();
        assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::Truncated, "{cut}");
    }
    // Any single corrupted byte of the header, the prefix or the first page: an error
    // (checksums), never a panic.
    let dblk = edit.header().data_block_addr.unwrap() as usize;
    let h = edit.header();
    let page0 = h.page_addr(dblk as u64, sizes, 0).unwrap() as usize;
    for at in (0x10..0x10 + 36)
        .chain(dblk..dblk + 19)
        .chain(page0..page0 + 60)
    {
        let mut m = Mem::new(0);
        m.bytes = mem.bytes.clone();
        m.bytes[at] ^= 0x41;
        assert!(loads(&m).is_err(), "byte {at}");
    }
    // Garbage.
    let mut m = Mem::new(0);
    m.bytes = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::BadSignature);
    // A read error propagates unchanged.
    let e = FixedArrayEdit::load(addr, sizes, &mut |a, _| {
        Err::<Vec<u8>, _>(Error::new("io", a, ErrorKind::Cycle))
    })
    .unwrap_err();
    assert_eq!((e.structure, e.kind), ("io", ErrorKind::Cycle));
    // A data block overlapping the header.
    let mut m = Mem::new(0);
    m.bytes = header_bytes(sizes, 0, 8, 10, 3, Some(0x10));
    m.bytes.resize(200, 0);
    let e = FixedArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Invalid(_)));
    // A header whose bitmap alone exceeds the limit: refused before reading it.
    let mut m = Mem::new(0);
    m.bytes = header_bytes(sizes, 0, 8, 0, 1 << 36, Some(0x100));
    let mut asked = 0usize;
    let e = FixedArrayEdit::load(0, sizes, &mut |a, n| {
        asked = asked.max(n);
        m.read(a, n)
    })
    .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit { .. }));
    assert!(asked < 100);
    // A header without a data block loads as an empty array.
    m.bytes = header_bytes(sizes, 0, 8, 10, 7, None);
    let edit = FixedArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap();
    assert_eq!((edit.len(), edit.iter().count()), (7, 0));
}

/// The fixed arrays libhdf5 2.0.0 wrote in the fixtures, rebuilt element by element from
/// a new model: the header, data block and pages must come out byte for byte.
#[test]
fn libhdf5_fixtures_byte_exact() {
    const CHUNKIDX: &[u8] = include_bytes!("../../../../fixtures/files/chunkidx_latest.h5");
    const FILTERS: &[u8] = include_bytes!("../../../../fixtures/files/filters_latest.h5");
    let mut seen = (0, 0, 0);
    for (file, expect) in [(CHUNKIDX, 6), (FILTERS, 15)] {
        let read = |a: u64, n: usize| {
            file.get(a as usize..a as usize + n)
                .map(<[u8]>::to_vec)
                .ok_or(Error::new("fixture", a, ErrorKind::Truncated))
        };
        let mut found = 0;
        for at in (0..file.len() - 4).filter(|&i| file[i..i + 4] == HEADER_SIGNATURE) {
            let at = at as u64;
            let Ok(hb) = read(at, Header::size(S88)) else {
                continue;
            };
            if Header::decode(&hb, at, S88).is_err() {
                continue;
            }
            found += 1;
            let loaded = FixedArrayEdit::load(at, S88, &mut |a, n| read(a, n)).unwrap();
            let h = loaded.header().clone();
            let dblk = h.data_block_addr.unwrap();
            let mut fresh = FixedArrayEdit::new(loaded.params(), S88).unwrap();
            for (i, e) in loaded.iter() {
                fresh.set(i, *e).unwrap();
            }
            let mut next = vec![at, dblk].into_iter();
            let (a, s) = fresh.store(&mut |_| next.next().unwrap()).unwrap();
            assert_eq!(a, at);
            let npages = (0..h.npages())
                .filter(|&p| loaded.segments.contains_key(&p))
                .count();
            assert_eq!(s.writes.len(), npages + 2);
            assert_eq!(s.writes.last().unwrap().0, at);
            for (wa, bytes) in &s.writes {
                assert_eq!(
                    bytes.as_slice(),
                    &file[*wa as usize..*wa as usize + bytes.len()],
                    "array at {at}, block at {wa}"
                );
            }
            seen.0 += 1;
            seen.1 += usize::from(h.is_paged());
            seen.2 += usize::from(h.filtered());
            // The loaded model itself has nothing to write; setting what is there
            // changes nothing.
            let mut loaded = loaded;
            let first = loaded.iter().next().map(|(i, e)| (i, *e)).unwrap();
            loaded.set(first.0, first.1).unwrap();
            assert!(loaded
                .store(&mut |_| unreachable!())
                .unwrap()
                .1
                .writes
                .is_empty());
        }
        assert_eq!(found, expect);
    }
    // Paged and filtered arrays among them.
    assert_eq!(seen, (21, 2, 17));
}

/// The header and data block prefix libhdf5 2.0.0 wrote for 5000 chunks with chunks 0,
/// 2500, 4096 and 4999 written (pages 0, 2 and 4 initialised): the same four elements
/// set on a new model give the same bytes (neither depends on the chunk addresses).
#[test]
fn libhdf5_sparse_pages_byte_exact() {
    let mut edit = FixedArrayEdit::new(FixedArrayParams::default_for(false, 0, 5000), S88).unwrap();
    for i in [0, 2500, 4096, 4999] {
        edit.set(i, uelem(i)).unwrap();
    }
    let mut next = [447u64, 4096].into_iter();
    let (_, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
    assert_eq!(s.writes.len(), 3 + 2);
    let (prefix, header) = (&s.writes[3], &s.writes[4]);
    assert_eq!(
        *header,
        (
            447,
            hex("464148440000080a881300000000000000100000000000001fef5006")
        )
    );
    assert_eq!(
        *prefix,
        (4096, hex("464144420000bf01000000000000a8411f8930"))
    );
}

//! Metadata cache image (message 0x18 and the block it points to; not in spec 4.0).
//!
//! A writer may close a file after saving the contents of its metadata cache into one block
//! (signature `MDCI`) and pointing at it from the superblock extension with a message of
//! type 0x18. A reader must then take the metadata those entries describe from the block,
//! not from their own addresses: libhdf5 loads the whole image on the first access and
//! some entries are never written at their addresses at all.
//!
//! Message 0x18 body: version (0), address of the block (Size of Offsets), length of the
//! block (Size of Lengths).
//!
//! Block, all little-endian:
//!
//! | field | bytes |
//! | --- | --- |
//! | signature `MDCI` | 4 |
//! | version (0) | 1 |
//! | flags (bit 0: adaptive resize status follows; never written) | 1 |
//! | image data length (bytes used, checksum included) | Size of Lengths |
//! | number of entries (≥ 1) | 4 |
//! | entries, one after another | … |
//! | lookup3 checksum of every byte before it | 4 |
//!
//! Entry:
//!
//! | field | bytes |
//! | --- | --- |
//! | cache client type id | 1 |
//! | flags (0x01 dirty, 0x02 in LRU, 0x04 flush-dependency parent, 0x08 child) | 1 |
//! | ring | 1 |
//! | age | 1 |
//! | flush-dependency child count | 2 |
//! | dirty flush-dependency child count (≤ child count) | 2 |
//! | flush-dependency parent count | 2 |
//! | LRU rank (signed; −1 when not in the LRU) | 4 |
//! | entry address (defined) | Size of Offsets |
//! | entry size (≥ 1) | Size of Lengths |
//! | parent addresses, one per parent | Size of Offsets each |
//! | the entry's on-disk image | entry size |

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use alloc::vec::Vec;
use core::ops::Range;

/// The block signature.
pub const SIGNATURE: [u8; 4] = *b"MDCI";

/// Header flag: the adaptive resize status follows the entries (libhdf5 never writes it).
pub const FLAG_RESIZE_STATUS: u8 = 0x01;

/// Entry flag: the entry was dirty when the image was written.
pub const ENTRY_DIRTY: u8 = 0x01;

/// The body of message 0x18: where the cache image block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageMessage {
    /// Address of the block; undefined means there is no image.
    pub addr: Addr,
    /// Length of the block in bytes.
    pub length: u64,
}

/// Decode the body of a metadata cache image message (type 0x18).
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 0.
pub fn decode_message(r: &mut Reader<'_>) -> Result<ImageMessage> {
    r.version(&[0])?;
    Ok(ImageMessage {
        addr: r.offset()?,
        length: r.length()?,
    })
}

/// One metadata cache entry saved in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File address of the entry (where it would be read from without the image).
    pub addr: u64,
    /// Size of the entry's image in bytes (at least 1).
    pub size: u64,
    /// libhdf5's cache client type id (object header, B-tree node, …).
    pub type_id: u8,
    /// Entry flags (`ENTRY_DIRTY`, …).
    pub flags: u8,
    /// Metadata cache ring.
    pub ring: u8,
    /// Byte range of the entry's image within the block.
    pub image: Range<usize>,
}

impl Entry {
    /// The address one past the entry's last byte.
    pub fn end(&self) -> u64 {
        self.addr + self.size
    }
}

/// Bytes in the block header.
pub fn header_size(sizes: Sizes) -> usize {
    4 + 1 + 1 + sizes.length as usize + 4
}

/// Bytes in an entry's fixed part (before the parent addresses and the image).
pub fn entry_header_size(sizes: Sizes) -> usize {
    14 + sizes.offset as usize + sizes.length as usize
}

/// Decode a cache image block (`buf`, the block's bytes as long as message 0x18 says, at
/// file address `addr`): check signature, version and checksum, and list the entries in
/// the order they are stored. Entries may not overlap one another.
///
/// # Errors
/// `Truncated` (also when the image data length exceeds `buf` or an entry's image runs past it);
/// `BadSignature`; `VersionNotAccepted` (0 only); `BadChecksum`; `Unsupported` when the flags
/// announce an adaptive resize status; `Invalid` for an image data length too short for the header
/// and checksum, an entry count of 0, an entry whose dirty child count exceeds its child count, an
/// undefined entry or parent address, an entry size of 0 (or undefined, or overflowing the address
/// space), or two entries that overlap.
pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Vec<Entry>> {
    let mut r = Reader::new(buf, addr, sizes, "metadata cache image");
    r.prologue(&SIGNATURE, &[0])?;
    let flags_at = r.clone();
    let flags = r.u8()?;
    if flags & FLAG_RESIZE_STATUS != 0 {
        return Err(flags_at.unsupported("adaptive resize status in a metadata cache image"));
    }
    let len_at = r.clone();
    let data_len = r.length()?;
    let min_len = (header_size(sizes) + 4) as u64;
    if data_len > buf.len() as u64 {
        return Err(len_at.err(ErrorKind::Truncated));
    }
    if data_len < min_len {
        return Err(len_at.invalid("image data length"));
    }
    let data_len = data_len as usize;
    let count_at = r.clone();
    let count = r.u32()? as usize;
    if count == 0 {
        return Err(count_at.invalid("metadata cache image entry count"));
    }

    // The checksum covers every byte before it.
    let mut c = Reader::new(&buf[..data_len], addr, sizes, "metadata cache image");
    c.seek(data_len - 4)?;
    c.checksum(0)?;

    let body = &buf[..data_len - 4];
    let mut r = Reader::new(body, addr, sizes, "metadata cache image");
    r.seek(header_size(sizes))?;
    // Each entry takes its fixed part plus at least one byte of image.
    let min_entry = entry_header_size(sizes) + 1;
    let mut entries = Vec::with_capacity(count.min(r.remaining() / min_entry + 1));
    for _ in 0..count {
        entries.push(decode_entry(&mut r)?);
    }

    // Two entries may not claim the same bytes.
    let mut spans: Vec<(u64, u64, u64)> = entries
        .iter()
        .map(|e| (e.addr, e.end(), addr + e.image.start as u64))
        .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(crate::Error::invalid(
                "metadata cache image",
                w[1].2,
                "overlapping cache image entries",
            ));
        }
    }
    Ok(entries)
}

fn decode_entry(r: &mut Reader<'_>) -> Result<Entry> {
    let type_id = r.u8()?;
    let flags = r.u8()?;
    let ring = r.u8()?;
    let _age = r.u8()?;
    let children = r.u16()?;
    let dirty_at = r.clone();
    let dirty_children = r.u16()?;
    if dirty_children > children {
        return Err(dirty_at.invalid("dirty flush dependency child count"));
    }
    let parents = r.u16()?;
    let _lru_rank = r.u32()? as i32;
    let addr = r.defined_offset("cache image entry address")?;
    let size_at = r.clone();
    let size = r.length()?;
    if size == 0 || size == u64::MAX {
        return Err(size_at.invalid("cache image entry size"));
    }
    if addr.checked_add(size).is_none() {
        return Err(size_at.invalid("cache image entry size"));
    }
    for _ in 0..parents {
        r.defined_offset("flush dependency parent address")?;
    }
    let start = r.position();
    let n = usize::try_from(size).map_err(|_| size_at.err(ErrorKind::Truncated))?;
    if n > r.remaining() {
        return Err(size_at.err(ErrorKind::Truncated));
    }
    r.skip(n)?;
    Ok(Entry {
        addr,
        size,
        type_id,
        flags,
        ring,
        image: start..start + n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup3;
    use alloc::vec;

    /// A test entry: (type, flags, addr, parent addresses, image).
    type TestEntry<'a> = (u8, u8, u64, &'a [u64], &'a [u8]);

    /// A block with the given entries.
    fn block(entries: &[TestEntry<'_>]) -> Vec<u8> {
        let mut b = b"MDCI".to_vec();
        b.push(0);
        b.push(0);
        b.extend(0u64.to_le_bytes()); // patched below
        b.extend((entries.len() as u32).to_le_bytes());
        for &(t, flags, addr, parents, image) in entries {
            b.extend([t, flags, 1, 0]);
            b.extend(0u16.to_le_bytes());
            b.extend(0u16.to_le_bytes());
            b.extend((parents.len() as u16).to_le_bytes());
            b.extend((-1i32).to_le_bytes());
            b.extend(addr.to_le_bytes());
            b.extend((image.len() as u64).to_le_bytes());
            for p in parents {
                b.extend(p.to_le_bytes());
            }
            b.extend_from_slice(image);
        }
        let total = (b.len() + 4) as u64;
        b[6..14].copy_from_slice(&total.to_le_bytes());
        let sum = lookup3::checksum(&b);
        b.extend(sum.to_le_bytes());
        b
    }

    fn reseal(b: &mut [u8]) {
        let n = b.len() - 4;
        let sum = lookup3::checksum(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
    }

    #[test]
    fn message() {
        let mut b = vec![0u8];
        b.extend(0x5620u64.to_le_bytes());
        b.extend(0x58bu64.to_le_bytes());
        let m = decode_message(&mut Reader::new(&b, 0x548, Sizes::DEFAULT, "mdci")).unwrap();
        assert_eq!(
            m,
            ImageMessage {
                addr: Some(0x5620),
                length: 0x58b
            }
        );
        let e =
            decode_message(&mut Reader::new(&b[..9], 0x548, Sizes::DEFAULT, "mdci")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
        assert_eq!(e.offset, 0x551); // the length field
        b[0] = 1;
        let e = decode_message(&mut Reader::new(&b, 0x548, Sizes::DEFAULT, "mdci")).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::VersionNotAccepted {
                version: 1,
                accepted: &[0]
            }
        );
        assert_eq!(e.offset, 0x548);
        let mut u = vec![0u8];
        u.extend(u64::MAX.to_le_bytes());
        u.extend(0u64.to_le_bytes());
        let m = decode_message(&mut Reader::new(&u, 0, Sizes::DEFAULT, "mdci")).unwrap();
        assert_eq!(m.addr, None);
    }

    #[test]
    fn entries_and_ranges() {
        let b = block(&[
            (22, 1, 0x1df, &[], b"FAHDxyz"),
            (5, 3 | 8, 0x30, &[0x1df], b"OHDR"),
        ]);
        let es = decode(&b, 0x5620, Sizes::DEFAULT).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].addr, 0x1df);
        assert_eq!(es[0].size, 7);
        assert_eq!(es[0].type_id, 22);
        assert_eq!(es[0].flags & ENTRY_DIRTY, 1);
        assert_eq!(es[0].ring, 1);
        assert_eq!(&b[es[0].image.clone()], b"FAHDxyz");
        assert_eq!(es[0].image.start, 18 + 30);
        assert_eq!(es[0].end(), 0x1df + 7);
        assert_eq!(es[1].addr, 0x30);
        assert_eq!(&b[es[1].image.clone()], b"OHDR");
        // The second entry's image follows its one parent address.
        assert_eq!(es[1].image.start, es[0].image.end + 30 + 8);
        assert_eq!(es[1].image.end, b.len() - 4);
    }

    #[test]
    fn bad_signature_version_checksum() {
        let b = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        let mut s = b.clone();
        s[0] = b'X';
        let e = decode(&s, 0x100, Sizes::DEFAULT).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadSignature);
        assert_eq!(e.offset, 0x100);
        assert_eq!(e.structure, "metadata cache image");

        let mut v = b.clone();
        v[4] = 1;
        reseal(&mut v);
        let e = decode(&v, 0x100, Sizes::DEFAULT).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::VersionNotAccepted {
                version: 1,
                accepted: &[0]
            }
        );
        assert_eq!(e.offset, 0x104);

        let mut c = b.clone();
        let n = c.len();
        c[n - 6] ^= 0xff; // inside the entry image
        let e = decode(&c, 0x100, Sizes::DEFAULT).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x100 + n as u64 - 4);

        let mut f = b.clone();
        f[5] = FLAG_RESIZE_STATUS;
        reseal(&mut f);
        let e = decode(&f, 0x100, Sizes::DEFAULT).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
    }

    #[test]
    fn truncation() {
        let b = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        // Every strict prefix fails: either the header, or the stated data length.
        for n in 0..b.len() {
            let e = decode(&b[..n], 0, Sizes::DEFAULT).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix of {n} bytes");
        }
        // Trailing bytes past the data length are ignored.
        let mut long = b.clone();
        long.extend([0u8; 8]);
        assert_eq!(decode(&long, 0, Sizes::DEFAULT).unwrap().len(), 1);
    }

    #[test]
    fn counts_are_bounded_by_the_bytes() {
        // A huge entry count with the bytes of one entry: truncated, no huge allocation.
        let mut b = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        b[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut b);
        assert_eq!(
            decode(&b, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Truncated
        );
        // An entry size beyond the block.
        let mut s = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        s[18 + 22..18 + 30].copy_from_slice(&1000u64.to_le_bytes());
        reseal(&mut s);
        let e = decode(&s, 0x10, Sizes::DEFAULT).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
        assert_eq!(e.offset, 0x10 + 18 + 22);
        // A parent count beyond the block.
        let mut p = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        p[18 + 8..18 + 10].copy_from_slice(&u16::MAX.to_le_bytes());
        reseal(&mut p);
        assert_eq!(
            decode(&p, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn invalid_fields() {
        let zero = block(&[]);
        assert_eq!(
            decode(&zero, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Invalid("metadata cache image entry count")
        );
        let mut empty = block(&[(5, 0, 0x30, &[], b"")]);
        reseal(&mut empty);
        assert_eq!(
            decode(&empty, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Invalid("cache image entry size")
        );
        let undef = block(&[(5, 0, u64::MAX, &[], b"OHDR")]);
        assert_eq!(
            decode(&undef, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Invalid("cache image entry address")
        );
        let mut dirty = block(&[(5, 0, 0x30, &[], b"OHDR")]);
        dirty[18 + 6] = 1; // one dirty child of zero children
        reseal(&mut dirty);
        assert_eq!(
            decode(&dirty, 0, Sizes::DEFAULT).unwrap_err().kind,
            ErrorKind::Invalid("dirty flush dependency child count")
        );
        let overlap = block(&[(5, 0, 0x30, &[], b"OHDR"), (5, 0, 0x32, &[], b"OHDR")]);
        let e = decode(&overlap, 0x1000, Sizes::DEFAULT).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Invalid("overlapping cache image entries")
        );
        let same = block(&[(5, 0, 0x30, &[], b"OHDR"), (5, 0, 0x30, &[], b"OHDR")]);
        assert!(decode(&same, 0, Sizes::DEFAULT).is_err());
        let touching = block(&[(5, 0, 0x30, &[], b"OHDR"), (5, 0, 0x34, &[], b"OHDR")]);
        assert_eq!(decode(&touching, 0, Sizes::DEFAULT).unwrap().len(), 2);
    }

    #[test]
    fn small_sizes() {
        let sizes = Sizes {
            offset: 4,
            length: 2,
        };
        let mut b = b"MDCI\0\0".to_vec();
        b.extend(0u16.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend([5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        b.extend((-1i32).to_le_bytes());
        b.extend(0x30u32.to_le_bytes());
        b.extend(3u16.to_le_bytes());
        b.extend(b"abc");
        let total = (b.len() + 4) as u16;
        b[6..8].copy_from_slice(&total.to_le_bytes());
        let sum = lookup3::checksum(&b);
        b.extend(sum.to_le_bytes());
        let es = decode(&b, 0, sizes).unwrap();
        assert_eq!(es.len(), 1);
        assert_eq!(
            es[0].image,
            header_size(sizes) + entry_header_size(sizes)..b.len() - 4
        );
        assert_eq!(&b[es[0].image.clone()], b"abc");
    }
}

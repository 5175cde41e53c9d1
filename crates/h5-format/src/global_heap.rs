//! Global heap collections (spec III.E): variable-length data and region references.

use crate::error::{ErrorKind, Result};
use crate::reader::{Reader, Sizes};

/// Bytes before the first object in a collection.
pub fn collection_header_size(sizes: Sizes) -> usize {
    8 + sizes.length as usize
}

/// Decode a collection header: returns the collection size (including the header).
pub fn collection_size(buf: &[u8], addr: u64, sizes: Sizes) -> Result<u64> {
    let mut r = Reader::new(buf, addr, sizes, "global heap collection");
    r.signature(b"GCOL")?;
    let version = r.u8()?;
    if version != 1 {
        return Err(r.err(ErrorKind::BadVersion(version)));
    }
    r.skip(3)?;
    let size = r.length()?;
    if size < collection_header_size(sizes) as u64 {
        return Err(r.invalid("global heap collection size"));
    }
    Ok(size)
}

/// A global heap ID as stored in vlen elements and region references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalHeapId {
    /// Collection address.
    pub collection: u64,
    /// Object index in the collection.
    pub index: u32,
}

/// Find object `index` in a whole collection (`buf` holds the collection, header included).
/// Returns the object's bytes.
pub fn find_object(buf: &[u8], addr: u64, sizes: Sizes, index: u32) -> Result<&[u8]> {
    let mut r = Reader::new(buf, addr, sizes, "global heap collection");
    r.skip(collection_header_size(sizes))?;
    let obj_header = 8 + sizes.length as usize;
    while r.remaining() >= obj_header {
        let id = r.u16()?;
        let _refcount = r.u16()?;
        r.skip(4)?;
        let size = r.length()?;
        if id == 0 {
            break; // free space: the end of the objects
        }
        let n = usize::try_from(size).map_err(|_| r.invalid("global heap object size"))?;
        let data = r.bytes(n)?;
        if id as u32 == index {
            return Ok(data);
        }
        r.skip((8 - n % 8) % 8).or_else(|_| r.seek(buf.len()))?;
    }
    Err(r.invalid("global heap object index (not found)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_objects() {
        let mut b = b"GCOL\x01\0\0\0".to_vec();
        b.extend(64u64.to_le_bytes());
        for (id, data) in [(1u16, &b"abc"[..]), (2, b"hello")] {
            b.extend(id.to_le_bytes());
            b.extend(1u16.to_le_bytes());
            b.extend([0; 4]);
            b.extend((data.len() as u64).to_le_bytes());
            b.extend(data);
            b.extend(&[0u8; 8][..(8 - data.len() % 8) % 8]);
        }
        b.resize(64, 0);
        assert_eq!(collection_size(&b, 0, Sizes::DEFAULT).unwrap(), 64);
        assert_eq!(find_object(&b, 0, Sizes::DEFAULT, 2).unwrap(), b"hello");
        assert_eq!(find_object(&b, 0, Sizes::DEFAULT, 1).unwrap(), b"abc");
        assert!(find_object(&b, 0, Sizes::DEFAULT, 3).is_err());
    }
}

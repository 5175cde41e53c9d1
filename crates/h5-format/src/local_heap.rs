//! Local heap (spec III.D): names of an old-style group's links.

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};

/// A decoded local heap header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHeap {
    /// Size of the data segment.
    pub data_size: u64,
    /// Offset of the first free block.
    pub free_list: Addr,
    /// Address of the data segment.
    pub data_addr: u64,
}

impl LocalHeap {
    /// Encoded header size.
    pub fn header_size(sizes: Sizes) -> usize {
        8 + 2 * sizes.length as usize + sizes.offset as usize
    }

    /// Decode a local heap header.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, "local heap");
        r.signature(b"HEAP")?;
        let version = r.u8()?;
        if version != 0 {
            return Err(r.err(ErrorKind::BadVersion(version)));
        }
        r.skip(3)?;
        let data_size = r.length()?;
        let free = r.length()?;
        let free_list = if free == u64::MAX { None } else { Some(free) };
        let data_addr = r.defined_offset("local heap data address")?;
        Ok(LocalHeap {
            data_size,
            free_list,
            data_addr,
        })
    }
}

/// The NUL-terminated string at `offset` in a heap data segment.
pub fn string_at(data: &[u8], offset: u64, data_addr: u64) -> Result<&[u8]> {
    let err = |kind| crate::Error::new("local heap", data_addr.saturating_add(offset), kind);
    let off = usize::try_from(offset).map_err(|_| err(ErrorKind::Invalid("name offset")))?;
    let rest = data
        .get(off..)
        .ok_or(err(ErrorKind::Invalid("name offset")))?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(err(ErrorKind::Truncated))?;
    Ok(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_strings() {
        let mut b = b"HEAP\0\0\0\0".to_vec();
        b.extend(88u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        b.extend(0x2a8u64.to_le_bytes());
        let h = LocalHeap::decode(&b, 0x290, Sizes::DEFAULT).unwrap();
        assert_eq!(h.data_size, 88);
        assert_eq!(h.free_list, None);
        let data = b"\0\0\0\0\0\0\0\0abc\0";
        assert_eq!(string_at(data, 8, 0).unwrap(), b"abc");
        assert!(string_at(data, 100, 0).is_err());
        assert!(string_at(b"abc", 0, 0).is_err());
    }
}

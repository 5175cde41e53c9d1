//! Superblock versions 0–3 (spec II.A) and the symbol table entry it embeds (spec III.C).

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};

/// The 8-byte signature that starts every superblock.
pub const SIGNATURE: [u8; 8] = *b"\x89HDF\r\n\x1a\n";

/// Where the superblock may sit: 0, 512, 1024, 2048, … (anything before it is a user block).
pub fn candidate_offsets(file_len: u64) -> impl Iterator<Item = u64> {
    core::iter::once(0u64)
        .chain((9..63).map(|s| 1u64 << s))
        .take_while(move |&o| o.saturating_add(8) <= file_len)
}

/// A symbol table entry: a link name (offset into a local heap) and an object header address,
/// with an optional cache of the group's B-tree/heap or a soft link value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolTableEntry {
    /// Offset of the link name in the group's local heap.
    pub name_offset: u64,
    /// Object header address.
    pub header_addr: Addr,
    /// Scratch-pad cache.
    pub cache: EntryCache,
}

/// What a symbol table entry caches in its scratch pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryCache {
    /// Nothing cached.
    None,
    /// The object is a symbol-table group: its B-tree and local heap.
    Group {
        /// v1 B-tree address.
        btree: Addr,
        /// Local heap address.
        heap: Addr,
    },
    /// A soft link: the offset of its value in the local heap.
    SoftLink {
        /// Offset of the link target in the local heap.
        value_offset: u32,
    },
}

impl SymbolTableEntry {
    /// Encoded size: name offset (a length, as libhdf5 encodes it), header address, 2 u32,
    /// 16-byte scratch pad.
    pub fn size(sizes: Sizes) -> usize {
        sizes.length as usize + sizes.offset as usize + 24
    }

    /// Decode one entry from the reader.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        // The spec's table says "Size of Offsets"; libhdf5 encodes a length. They differ
        // only in files whose two sizes differ.
        let name_offset = r.uint(r.sizes.length as usize)?;
        let header_addr = r.offset()?;
        let cache_type = r.u32()?;
        r.skip(4)?;
        let mut scratch = r.sub(16)?;
        let cache = match cache_type {
            0 => EntryCache::None,
            1 => EntryCache::Group {
                btree: scratch.offset()?,
                heap: scratch.offset()?,
            },
            2 => EntryCache::SoftLink {
                value_offset: scratch.u32()?,
            },
            _ => return Err(r.invalid("symbol table entry cache type")),
        };
        Ok(SymbolTableEntry {
            name_offset,
            header_addr,
            cache,
        })
    }
}

/// How to find the root group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// v0/v1: the root symbol table entry.
    Entry(SymbolTableEntry),
    /// v2/v3: the root object header address.
    Header(u64),
}

/// A decoded superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Version 0–3.
    pub version: u8,
    /// Offset and length widths.
    pub sizes: Sizes,
    /// Stored base address (all addresses are relative to it).
    pub base_addr: u64,
    /// Superblock extension object header (v2+).
    pub extension_addr: Addr,
    /// End-of-file address (relative to base).
    pub eof_addr: u64,
    /// Driver information block (v0/v1).
    pub driver_info_addr: Addr,
    /// The root group.
    pub root: Root,
    /// Group leaf node K (v0/v1; default 4).
    pub group_leaf_k: u16,
    /// Group internal node K (v0/v1; default 16).
    pub group_internal_k: u16,
    /// Indexed storage internal node K (v1; default 32).
    pub indexed_storage_k: u16,
    /// File consistency flags.
    pub flags: u32,
    /// Encoded size in bytes.
    pub encoded_len: usize,
}

fn check_sizes(r: &Reader<'_>, offset: u8, length: u8) -> Result<Sizes> {
    if !matches!(offset, 2 | 4 | 8) {
        return Err(r.unsupported(alloc::format!("size of offsets {offset}")));
    }
    if !matches!(length, 2 | 4 | 8) {
        return Err(r.unsupported(alloc::format!("size of lengths {length}")));
    }
    Ok(Sizes { offset, length })
}

impl Superblock {
    /// Decode a superblock from `buf`, which starts at the signature located at file offset
    /// `addr`. `buf` should hold at least 256 bytes or run to the end of the file.
    pub fn decode(buf: &[u8], addr: u64) -> Result<Self> {
        let mut r = Reader::new(buf, addr, Sizes::DEFAULT, "superblock");
        if r.bytes(8)? != SIGNATURE {
            return Err(Error::new("superblock", addr, ErrorKind::BadSignature));
        }
        let version = r.u8()?;
        match version {
            0 | 1 => {
                r.skip(4)?; // free-space, root STE, reserved, shared header versions
                let (o, l) = (r.u8()?, r.u8()?);
                r.sizes = check_sizes(&r, o, l)?;
                r.skip(1)?;
                let group_leaf_k = r.u16()?;
                let group_internal_k = r.u16()?;
                if group_leaf_k == 0 || group_internal_k == 0 {
                    return Err(r.invalid("B-tree K value"));
                }
                let flags = r.u32()?;
                let mut indexed_storage_k = 32;
                if version == 1 {
                    indexed_storage_k = r.u16()?;
                    r.skip(2)?;
                    if indexed_storage_k == 0 {
                        return Err(r.invalid("indexed storage K"));
                    }
                }
                let base_addr = r.offset()?.unwrap_or(0);
                let _free_space = r.offset()?;
                let eof_addr = r
                    .offset()?
                    .ok_or_else(|| r.invalid("end of file address"))?;
                let driver_info_addr = r.offset()?;
                let root = SymbolTableEntry::decode(&mut r)?;
                Ok(Superblock {
                    version,
                    sizes: r.sizes,
                    base_addr,
                    extension_addr: None,
                    eof_addr,
                    driver_info_addr,
                    root: Root::Entry(root),
                    group_leaf_k,
                    group_internal_k,
                    indexed_storage_k,
                    flags,
                    encoded_len: r.position(),
                })
            }
            2 | 3 => {
                let (o, l) = (r.u8()?, r.u8()?);
                r.sizes = check_sizes(&r, o, l)?;
                let flags = r.u8()? as u32;
                let base_addr = r.offset()?.unwrap_or(0);
                let extension_addr = r.offset()?;
                let eof_addr = r
                    .offset()?
                    .ok_or_else(|| r.invalid("end of file address"))?;
                let root = r.defined_offset("root object header address")?;
                r.checksum(0)?;
                Ok(Superblock {
                    version,
                    sizes: r.sizes,
                    base_addr,
                    extension_addr,
                    eof_addr,
                    driver_info_addr: None,
                    root: Root::Header(root),
                    group_leaf_k: 4,
                    group_internal_k: 16,
                    indexed_storage_k: 32,
                    flags,
                    encoded_len: r.position(),
                })
            }
            v => Err(Error::new("superblock", addr + 8, ErrorKind::BadVersion(v))),
        }
    }

    /// The root group's object header address.
    pub fn root_addr(&self) -> Addr {
        match &self.root {
            Root::Entry(e) => e.header_addr,
            Root::Header(a) => Some(*a),
        }
    }
}

/// The driver information block of v0/v1 superblocks (spec II.B): only its driver id is
/// decoded, to report multi-file drivers as unsupported.
pub fn driver_id(buf: &[u8], addr: u64) -> Result<[u8; 8]> {
    let mut r = Reader::new(buf, addr, Sizes::DEFAULT, "driver info block");
    let version = r.u8()?;
    if version != 0 {
        return Err(r.err(ErrorKind::BadVersion(version)));
    }
    r.skip(3)?;
    let _size = r.u32()?;
    let mut id = [0u8; 8];
    id.copy_from_slice(r.bytes(8)?);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn v0() -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend([0, 0, 0, 0, 0, 8, 8, 0]);
        b.extend(4u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(0u64.to_le_bytes()); // base
        b.extend(u64::MAX.to_le_bytes()); // free space
        b.extend(4096u64.to_le_bytes()); // eof
        b.extend(u64::MAX.to_le_bytes()); // driver
        b.extend(0u64.to_le_bytes()); // name offset
        b.extend(96u64.to_le_bytes()); // header
        b.extend(1u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(136u64.to_le_bytes());
        b.extend(680u64.to_le_bytes());
        b
    }

    #[test]
    fn decodes_v0() {
        let sb = Superblock::decode(&v0(), 0).unwrap();
        assert_eq!(sb.version, 0);
        assert_eq!(sb.eof_addr, 4096);
        assert_eq!(sb.root_addr(), Some(96));
        assert_eq!(sb.encoded_len, 96);
        match sb.root {
            Root::Entry(e) => {
                assert_eq!(
                    e.cache,
                    EntryCache::Group {
                        btree: Some(136),
                        heap: Some(680)
                    }
                )
            }
            _ => panic!("expected entry"),
        }
    }

    #[test]
    fn v2_checksum_is_verified() {
        let mut b = SIGNATURE.to_vec();
        b.extend([2, 8, 8, 0]);
        b.extend(0u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        b.extend(2048u64.to_le_bytes());
        b.extend(48u64.to_le_bytes());
        let c = crate::lookup3::checksum(&b);
        b.extend(c.to_le_bytes());
        let sb = Superblock::decode(&b, 0).unwrap();
        assert_eq!(sb.root_addr(), Some(48));
        assert_eq!(sb.extension_addr, None);
        let n = b.len();
        b[n - 1] ^= 1;
        let e = Superblock::decode(&b, 0).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 44);
    }

    #[test]
    fn truncation_is_an_error() {
        let b = v0();
        for n in 0..b.len() {
            assert!(Superblock::decode(&b[..n], 0).is_err());
        }
    }

    #[test]
    fn candidate_offsets_stop_at_file_end() {
        let v: Vec<u64> = candidate_offsets(3000).collect();
        assert_eq!(v, [0, 512, 1024, 2048]);
    }
}

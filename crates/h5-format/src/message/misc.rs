//! Small messages: symbol table 0x11, continuation 0x10, external files 0x07, refcount 0x16.

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader};
use alloc::vec::Vec;

/// Symbol table message: an old-style group's B-tree and local heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolTable {
    /// v1 B-tree (type 0) address.
    pub btree_addr: u64,
    /// Local heap address.
    pub heap_addr: u64,
}

impl SymbolTable {
    /// Decode the body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(SymbolTable {
            btree_addr: r.defined_offset("symbol table B-tree address")?,
            heap_addr: r.defined_offset("symbol table heap address")?,
        })
    }
}

/// Continuation message: the next chunk of the object header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continuation {
    /// Chunk address.
    pub addr: u64,
    /// Chunk length.
    pub length: u64,
}

impl Continuation {
    /// Decode the body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Continuation {
            addr: r.defined_offset("continuation address")?,
            length: r.length()?,
        })
    }
}

/// One slot of the external data files list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSlot {
    /// Offset of the file name in the local heap.
    pub name_offset: u64,
    /// Byte offset in the external file.
    pub file_offset: u64,
    /// Bytes of the dataset stored there (`u64::MAX`: unlimited).
    pub size: u64,
}

/// External data files message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalFiles {
    /// Local heap holding the names.
    pub heap_addr: Addr,
    /// Slots, in order.
    pub slots: Vec<ExternalSlot>,
}

impl ExternalFiles {
    /// Decode the body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        if version != 1 {
            return Err(start.err(ErrorKind::BadVersion(version)));
        }
        r.skip(3)?;
        let _allocated = r.u16()?;
        let used = r.u16()? as usize;
        let heap_addr = r.offset()?;
        let mut slots = Vec::with_capacity(used.min(r.remaining() / 3 + 1));
        for _ in 0..used {
            slots.push(ExternalSlot {
                name_offset: r.length()?,
                file_offset: r.length()?,
                size: r.length()?,
            });
        }
        Ok(ExternalFiles { heap_addr, slots })
    }
}

/// Decode an object reference count message.
pub fn decode_refcount(r: &mut Reader<'_>) -> Result<u32> {
    let start = r.clone();
    let version = r.u8()?;
    if version != 0 {
        return Err(start.err(ErrorKind::BadVersion(version)));
    }
    r.u32()
}

/// File space info message 0x17 (superblock extension): validated, otherwise unused by
/// readers. Returns the free-space strategy.
pub fn decode_file_space_info(r: &mut Reader<'_>) -> Result<u8> {
    let start = r.clone();
    let version = r.u8()?;
    match version {
        0 => {
            let strategy = r.u8()?;
            if strategy > 4 {
                return Err(start.invalid("file space strategy"));
            }
            r.length()?;
            if strategy == 1 {
                // "all persist": one free-space manager address per memory type.
                for _ in 0..6 {
                    r.offset()?;
                }
            }
            Ok(strategy)
        }
        1 => {
            let strategy = r.u8()?;
            if strategy > 3 {
                return Err(start.invalid("file space strategy"));
            }
            let persist = r.u8()? != 0;
            r.length()?;
            r.length()?;
            r.u16()?;
            r.offset()?;
            if persist {
                for _ in 0..12 {
                    r.offset()?;
                }
            }
            Ok(strategy)
        }
        v => Err(start.err(ErrorKind::BadVersion(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    #[test]
    fn file_space_info_persist_needs_addresses() {
        // v0, strategy 1 (all persist) without the six addresses: as in cve_2020_10810.h5
        let mut b = alloc::vec![0u8, 1];
        b.extend(1u64.to_le_bytes());
        let e = decode_file_space_info(&mut Reader::new(&b, 0, Sizes::DEFAULT, "fsinfo"));
        assert_eq!(e.unwrap_err().kind, ErrorKind::Truncated);
        let mut b = alloc::vec![1u8, 0, 0];
        b.extend([0u8; 8 + 8 + 2 + 8]);
        assert_eq!(
            decode_file_space_info(&mut Reader::new(&b, 0, Sizes::DEFAULT, "fsinfo")).unwrap(),
            0
        );
    }
}

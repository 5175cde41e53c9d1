//! Small messages: symbol table 0x11, continuation 0x10, external files 0x07, refcount 0x16,
//! modification time 0x12 — and [`Profile`], the format bounds every encoder's
//! `version_for` helper imitates.

use crate::error::{Error, Result};
use crate::reader::{Addr, Reader};
use crate::writer::Writer;
use alloc::vec::Vec;

/// Which files a writer imitates: the two sets of format versions libhdf5 writes for h5py.
///
/// Each message has a `version_for(…, Profile)` helper that returns the version libhdf5 chooses
/// under that profile; the encoders themselves take an explicit version, so a message read
/// from any file can be written back exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// What h5py writes by default (libver `earliest`): the oldest version able to express
    /// each message — dataspace v1, datatype v1 (v2 with arrays), fill value v2, layout v3,
    /// filter pipeline v1, attribute v1. Readable by HDF5 1.8 and later (mostly 1.6).
    #[default]
    Default,
    /// What h5py writes with `libver='latest'` on HDF5 2.0 (low bound v200): dataspace v2,
    /// datatype v5 for compound/enum/array, fill value v3, layout v4/v5 chunk indexes,
    /// filter pipeline v2, attribute v3. Readable by HDF5 2.0 only when it uses v5 messages.
    Latest,
    /// h5py's `libver='v108'` (low bound 1.8): as [`Profile::Latest`] but datatype v3 for
    /// compound/enum/array and layout v3 (v1 B-tree chunk indexes). Readable by HDF5 1.8+.
    V18,
    /// h5py's `libver='v110'` (low bound 1.10): as [`Profile::Latest`] but datatype v3 for
    /// compound/enum/array and layout v4 even when filtered. Readable by HDF5 1.10+.
    V110,
}

impl Profile {
    /// Whether the profile writes the 1.8 message versions (dataspace v2, fill value v3,
    /// filter pipeline v2, attribute v3): every profile but the default.
    pub fn is_new_style(self) -> bool {
        self != Profile::Default
    }
}

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
    ///
    /// # Errors
    /// `Truncated`; `Invalid` when either address is undefined.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(SymbolTable {
            btree_addr: r.defined_offset("symbol table B-tree address")?,
            heap_addr: r.defined_offset("symbol table heap address")?,
        })
    }

    /// Encode the body: the B-tree address, then the local heap address.
    pub fn encode(&self, w: &mut Writer) {
        w.offset(Some(self.btree_addr)).offset(Some(self.heap_addr));
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
    ///
    /// # Errors
    /// `Truncated`; `Invalid` when the chunk address is undefined.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Continuation {
            addr: r.defined_offset("continuation address")?,
            length: r.length()?,
        })
    }

    /// Encode the body: the chunk address, then its length.
    pub fn encode(&self, w: &mut Writer) {
        w.offset(Some(self.addr)).length(self.length);
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
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 1.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.version(&[1])?;
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

    /// Encode the body (version 1, the only one). Like libhdf5, the "allocated slots" field
    /// repeats the number of used slots.
    ///
    /// # Errors
    /// `Invalid` for no slots or more than 65 535 (libhdf5 needs at least one).
    pub fn encode(&self, w: &mut Writer) -> Result<()> {
        let n = self.slots.len();
        if n == 0 || n > u16::MAX as usize {
            return Err(Error::invalid(
                "external files",
                0,
                "number of external file slots",
            ));
        }
        w.u8(1)
            .zeros(3)
            .u16(n as u16)
            .u16(n as u16)
            .offset(self.heap_addr);
        for s in &self.slots {
            w.length(s.name_offset).length(s.file_offset).length(s.size);
        }
        Ok(())
    }
}

/// Encode an object reference count message (version 0).
pub fn encode_refcount(count: u32, w: &mut Writer) {
    w.u8(0).u32(count);
}

/// Decode a modification time message (0x12, version 1): seconds since the Unix epoch.
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 1.
pub fn decode_mtime(r: &mut Reader<'_>) -> Result<u32> {
    r.version(&[1])?;
    r.skip(3)?;
    r.u32()
}

/// Encode a modification time message (0x12, version 1): seconds since the Unix epoch.
pub fn encode_mtime(seconds: u32, w: &mut Writer) {
    w.u8(1).zeros(3).u32(seconds);
}

/// Decode an object reference count message.
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 0.
pub fn decode_refcount(r: &mut Reader<'_>) -> Result<u32> {
    r.version(&[0])?;
    r.u32()
}

/// File space info message 0x17 (superblock extension): validated, otherwise unused by
/// readers. Returns the free-space strategy.
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) outside 0–1; `Invalid` for a
/// strategy above 4 (v0) or 3 (v1).
pub fn decode_file_space_info(r: &mut Reader<'_>) -> Result<u8> {
    let start = r.clone();
    if r.version(&[0, 1])? == 0 {
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
    } else {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::reader::Sizes;

    fn with(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new(Sizes::DEFAULT);
        f(&mut w);
        w.finish()
    }

    fn rd(b: &[u8]) -> Reader<'_> {
        Reader::new(b, 0, Sizes::DEFAULT, "message")
    }

    #[test]
    fn small_messages_round_trip() {
        let st = SymbolTable {
            btree_addr: 0x88,
            heap_addr: 0x2a8,
        };
        assert_eq!(
            SymbolTable::decode(&mut rd(&with(|w| st.encode(w)))).unwrap(),
            st
        );
        let c = Continuation {
            addr: 0x1000,
            length: 0x200,
        };
        assert_eq!(
            Continuation::decode(&mut rd(&with(|w| c.encode(w)))).unwrap(),
            c
        );
        let efl = ExternalFiles {
            heap_addr: Some(0x400),
            slots: alloc::vec![
                ExternalSlot {
                    name_offset: 8,
                    file_offset: 0,
                    size: 100,
                },
                ExternalSlot {
                    name_offset: 24,
                    file_offset: 512,
                    size: u64::MAX,
                },
            ],
        };
        let b = with(|w| efl.encode(w).unwrap());
        assert_eq!(
            &b[4..8],
            &[2, 0, 2, 0],
            "allocated = used, as libhdf5 writes"
        );
        assert_eq!(ExternalFiles::decode(&mut rd(&b)).unwrap(), efl);
        let empty = ExternalFiles {
            heap_addr: None,
            slots: Vec::new(),
        };
        assert!(empty.encode(&mut Writer::default()).is_err());
        assert_eq!(
            decode_refcount(&mut rd(&with(|w| encode_refcount(7, w)))).unwrap(),
            7
        );
        assert_eq!(
            decode_mtime(&mut rd(&with(|w| encode_mtime(99, w)))).unwrap(),
            99
        );
    }

    /// Bodies libhdf5 2.0 wrote (through h5py) in the fixtures, decoded and re-encoded.
    #[test]
    fn byte_exact_against_libhdf5() {
        // committed_latest.h5: refcount 4 (a committed datatype with 4 links to it)
        let b = [0u8, 4, 0, 0, 0];
        assert_eq!(
            with(|w| encode_refcount(decode_refcount(&mut rd(&b)).unwrap(), w)),
            b
        );
        // vds_earliest.h5 /fixed: modification time of a virtual dataset (0x6b04d51d)
        let b = [1u8, 0, 0, 0, 0x1d, 0xd5, 0x04, 0x6b];
        assert_eq!(
            with(|w| encode_mtime(decode_mtime(&mut rd(&b)).unwrap(), w)),
            b
        );
        // committed_latest.h5: a continuation to 0x322, 0x27 bytes
        let b = [0x22u8, 3, 0, 0, 0, 0, 0, 0, 0x27, 0, 0, 0, 0, 0, 0, 0];
        let c = Continuation::decode(&mut rd(&b)).unwrap();
        assert_eq!(with(|w| c.encode(w)), b);
        // attrs_earliest.h5 /empty_attrs: symbol table, B-tree 0x8e10, heap 0x9030
        let b = [0x10u8, 0x8e, 0, 0, 0, 0, 0, 0, 0x30, 0x90, 0, 0, 0, 0, 0, 0];
        let st = SymbolTable::decode(&mut rd(&b)).unwrap();
        assert_eq!(with(|w| st.encode(w)), b);
    }

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

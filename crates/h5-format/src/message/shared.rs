//! Shared message encoding (spec IV.A.2, "Shared Messages"): a message body that refers to
//! a committed object header or a shared-message-table heap object instead of holding data.

use crate::error::{Error, ErrorKind, Result};
use crate::reader::Reader;
use crate::writer::Writer;

/// Where a shared message really lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    /// In another object header (committed datatype, or SOHM "in object header").
    ObjectHeader(u64),
    /// In the shared-message fractal heap, by heap ID.
    Heap([u8; 8]),
}

impl Shared {
    /// Decode a shared message body.
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) outside 1–3; `Invalid` when the
    /// object header address is undefined.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.version(&[1, 2, 3])? {
            1 => {
                // type, 6 reserved bytes, then (as HDF5 1.6 wrote it) a symbol table entry:
                // link name offset, then the object header address.
                r.skip(7)?;
                r.skip(r.sizes.length as usize)?;
                Ok(Shared::ObjectHeader(
                    r.defined_offset("shared message address")?,
                ))
            }
            2 => {
                // The type byte is ignored: libhdf5 ≥ 1.8 writes 2 where the spec says 0.
                r.skip(1)?;
                Ok(Shared::ObjectHeader(
                    r.defined_offset("shared message address")?,
                ))
            }
            // 3
            _ => {
                let ty = r.u8()?;
                if ty == 1 {
                    let mut id = [0u8; 8];
                    id.copy_from_slice(r.bytes(8)?);
                    Ok(Shared::Heap(id))
                } else {
                    Ok(Shared::ObjectHeader(
                        r.defined_offset("shared message address")?,
                    ))
                }
            }
        }
    }

    /// The version libhdf5 writes (in every profile): 2 for a committed object header
    /// reference, 3 for a shared-message heap ID (which only version 3 can express).
    pub fn version(&self) -> u8 {
        match self {
            Shared::ObjectHeader(_) => 2,
            Shared::Heap(_) => 3,
        }
    }

    /// Encode the body at `version`:
    /// - v1: version, type 0, 6 reserved bytes, then a symbol table entry's first fields —
    ///   a link name offset (written 0; this model does not keep it) and the address;
    /// - v2: version, type 2 ("committed", what libhdf5 ≥ 1.8 writes), the address;
    /// - v3: version, type 2 and the address, or type 1 and the 8-byte heap ID.
    ///
    /// # Errors
    /// `BadVersion` outside 1–3; `Invalid` for a heap ID below version 3.
    pub fn encode(&self, version: u8, w: &mut Writer) -> Result<()> {
        match (version, self) {
            (1, Shared::ObjectHeader(a)) => {
                w.u8(1).zeros(7).length(0).offset(Some(*a));
            }
            (2 | 3, Shared::ObjectHeader(a)) => {
                w.u8(version).u8(2).offset(Some(*a));
            }
            (3, Shared::Heap(id)) => {
                w.u8(3).u8(1).bytes(id);
            }
            (1 | 2, Shared::Heap(_)) => {
                return Err(Error::invalid(
                    "shared message",
                    0,
                    "heap ID below shared message version 3",
                ))
            }
            (v, _) => return Err(Error::new("shared message", 0, ErrorKind::BadVersion(v))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    fn enc(s: &Shared, version: u8) -> Result<alloc::vec::Vec<u8>> {
        let mut w = Writer::new(Sizes::DEFAULT);
        s.encode(version, &mut w)?;
        Ok(w.finish())
    }

    #[test]
    fn round_trips_every_version() {
        for (s, versions) in [
            (Shared::ObjectHeader(0x590), &[1u8, 2, 3][..]),
            (Shared::Heap([1, 2, 3, 4, 5, 6, 7, 8]), &[3][..]),
        ] {
            for &v in versions {
                let b = enc(&s, v).unwrap();
                let mut r = Reader::new(&b, 0, Sizes::DEFAULT, "shared");
                assert_eq!(Shared::decode(&mut r).unwrap(), s);
                assert_eq!(r.remaining(), 0);
            }
        }
        assert!(enc(&Shared::Heap([0; 8]), 2).is_err());
        assert!(enc(&Shared::ObjectHeader(0), 4).is_err());
        assert_eq!(Shared::ObjectHeader(0).version(), 2);
    }

    /// Shared datatype messages (committed datatypes) libhdf5 2.0 wrote through h5py in
    /// committed_earliest.h5 (/data, v1 object header: padded to 16) and committed_latest.h5:
    /// version 2, type byte 2, the address — in both profiles.
    #[test]
    fn byte_exact_against_libhdf5() {
        for h in [
            [2u8, 2, 0x98, 6, 0, 0, 0, 0, 0, 0],
            [2u8, 2, 0xb3, 0, 0, 0, 0, 0, 0, 0],
        ] {
            let s = Shared::decode(&mut Reader::new(&h, 0, Sizes::DEFAULT, "shared")).unwrap();
            assert_eq!(s.version(), 2);
            assert_eq!(enc(&s, 2).unwrap(), h);
        }
    }

    #[test]
    fn v1_holds_a_symbol_table_entry() {
        // bytes from tcompound.h5 (HDF5 1.6): version 1, type 0, 6 reserved, name offset 16,
        // header address 0x590
        let mut b = alloc::vec![1u8, 0, 0, 0, 0, 0, 0, 0];
        b.extend(16u64.to_le_bytes());
        b.extend(0x590u64.to_le_bytes());
        let s = Shared::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "shared")).unwrap();
        assert_eq!(s, Shared::ObjectHeader(0x590));
        let b = [2u8, 2, 0x90, 5, 0, 0, 0, 0, 0, 0];
        let s = Shared::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "shared")).unwrap();
        assert_eq!(s, Shared::ObjectHeader(0x590));
    }
}

//! Shared message encoding (spec IV.A.2, "Shared Messages"): a message body that refers to
//! a committed object header or a shared-message-table heap object instead of holding data.

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;

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
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let version = r.u8()?;
        match version {
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
            3 => {
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
            v => Err(r.err(ErrorKind::BadVersion(v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

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

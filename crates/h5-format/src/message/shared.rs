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
                // type, reserved (6 bytes), address. The type byte is ignored: libhdf5 ≥ 1.8
                // writes 2 where the spec says 0.
                r.skip(7)?;
                Ok(Shared::ObjectHeader(
                    r.defined_offset("shared message address")?,
                ))
            }
            2 => {
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

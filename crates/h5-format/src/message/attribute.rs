//! Attribute message 0x0C (spec IV.A.2.m), versions 1–3.

use crate::error::{ErrorKind, Result};
use crate::message::dataspace::Dataspace;
use crate::message::datatype::Datatype;
use crate::message::shared::Shared;
use crate::reader::Reader;
use alloc::string::String;

/// A datatype or dataspace that is stored inline or shared elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub enum MaybeShared<T> {
    /// Stored in the message.
    Inline(T),
    /// Shared: resolve through the object header or SOHM heap.
    Shared(Shared),
}

/// A decoded attribute message.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute<'a> {
    /// Attribute name.
    pub name: String,
    /// Element type.
    pub datatype: MaybeShared<Datatype>,
    /// Shape.
    pub dataspace: MaybeShared<Dataspace>,
    /// The raw data: everything after the header fields (may include trailing padding).
    pub data: &'a [u8],
}

fn padded(n: usize, version: u8) -> usize {
    if version == 1 {
        n.div_ceil(8) * 8
    } else {
        n
    }
}

impl<'a> Attribute<'a> {
    /// Decode an attribute message body.
    pub fn decode(r: &mut Reader<'a>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        if !(1..=3).contains(&version) {
            return Err(start.err(ErrorKind::BadVersion(version)));
        }
        let flags = r.u8()?;
        let name_len = r.u16()? as usize;
        let dt_len = r.u16()? as usize;
        let ds_len = r.u16()? as usize;
        if version == 3 {
            let cs = r.u8()?;
            if cs > 1 {
                return Err(start.invalid("attribute name character set"));
            }
        }
        let name_bytes = r.bytes(padded(name_len, version))?;
        let n = &name_bytes[..name_len];
        let n = n.iter().position(|&b| b == 0).map_or(n, |e| &n[..e]);
        let name = String::from_utf8_lossy(n).into_owned();
        let mut dt = r
            .sub(padded(dt_len, version))?
            .structure("attribute datatype");
        let datatype = if version > 1 && flags & 1 != 0 {
            MaybeShared::Shared(Shared::decode(&mut dt)?)
        } else {
            MaybeShared::Inline(Datatype::decode(&mut dt)?)
        };
        let mut ds = r
            .sub(padded(ds_len, version))?
            .structure("attribute dataspace");
        let dataspace = if version > 1 && flags & 2 != 0 {
            MaybeShared::Shared(Shared::decode(&mut ds)?)
        } else {
            MaybeShared::Inline(Dataspace::decode(&mut ds)?)
        };
        Ok(Attribute {
            name,
            datatype,
            dataspace,
            data: r.rest(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    #[test]
    fn v1_scalar_int() {
        let mut b = alloc::vec![1u8, 0];
        b.extend(2u16.to_le_bytes());
        b.extend(12u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend(b"a\0\0\0\0\0\0\0");
        b.extend([0x10, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 0]);
        b.extend([1, 0, 0, 0, 0, 0, 0, 0]);
        b.extend(42i32.to_le_bytes());
        let a = Attribute::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "attribute")).unwrap();
        assert_eq!(a.name, "a");
        assert_eq!(a.data, &42i32.to_le_bytes());
        assert!(matches!(
            a.datatype,
            MaybeShared::Inline(Datatype::Integer { size: 4, .. })
        ));
    }
}

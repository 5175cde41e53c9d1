//! Fill value messages: old 0x04 (spec IV.A.2.e) and new 0x05 versions 1–3 (IV.A.2.f).

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;
use alloc::vec::Vec;

/// A decoded fill value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FillValue {
    /// Space allocation time (1 early, 2 late, 3 incremental; 0 = not stated).
    pub alloc_time: u8,
    /// Fill write time (0 on allocation, 1 never, 2 if set).
    pub write_time: u8,
    /// Whether a fill value is defined.
    pub defined: bool,
    /// The fill value's bytes (`None`: the library default, zeros).
    pub value: Option<Vec<u8>>,
}

fn value(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>> {
    let n = r.u32()? as usize;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(r.bytes(n)?.to_vec()))
}

impl FillValue {
    /// Decode the old (0x04) message: a size and the value.
    pub fn decode_old(r: &mut Reader<'_>) -> Result<Self> {
        let v = value(r)?;
        Ok(FillValue {
            alloc_time: 0,
            write_time: 2,
            defined: v.is_some(),
            value: v,
        })
    }

    /// Decode the new (0x05) message.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        match version {
            1 | 2 => {
                let alloc_time = r.u8()?;
                let write_time = r.u8()?;
                let defined = r.u8()? != 0;
                let v = if version == 1 || defined {
                    value(r)?
                } else {
                    None
                };
                Ok(FillValue {
                    alloc_time,
                    write_time,
                    defined,
                    value: v,
                })
            }
            3 => {
                let flags = r.u8()?;
                if flags & 0xc0 != 0 {
                    return Err(start.invalid("fill value flags"));
                }
                let undefined = flags & 0x10 != 0;
                let has_value = flags & 0x20 != 0;
                if undefined && has_value {
                    return Err(start.invalid("fill value flags"));
                }
                let v = if has_value { value(r)? } else { None };
                Ok(FillValue {
                    alloc_time: flags & 3,
                    write_time: (flags >> 2) & 3,
                    defined: !undefined,
                    value: v,
                })
            }
            v => Err(start.err(ErrorKind::BadVersion(v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    #[test]
    fn v3_with_value() {
        let b = [3u8, 0x20 | 0x08 | 2, 4, 0, 0, 0, 1, 2, 3, 4];
        let f = FillValue::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "fill value")).unwrap();
        assert_eq!(f.alloc_time, 2);
        assert_eq!(f.write_time, 2);
        assert_eq!(f.value.as_deref(), Some(&[1u8, 2, 3, 4][..]));
    }

    #[test]
    fn v2_undefined_has_no_size() {
        let b = [2u8, 2, 2, 0];
        let f = FillValue::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "fill value")).unwrap();
        assert!(!f.defined);
        assert_eq!(f.value, None);
    }
}

//! Filter pipeline message 0x0B (spec IV.A.2.l), versions 1 and 2.

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;
use alloc::string::String;
use alloc::vec::Vec;

/// The most filters a pipeline may hold (libhdf5's `H5Z_MAX_NFILTERS`).
pub const MAX_FILTERS: usize = 32;

/// One filter in a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    /// Filter id (1 deflate, 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, 32000 LZF…).
    pub id: u16,
    /// Optional name.
    pub name: Option<String>,
    /// Flags (bit 0: optional).
    pub flags: u16,
    /// Client data values.
    pub client_data: Vec<u32>,
}

impl FilterInfo {
    /// Whether the filter may be skipped (chunk filter mask honoured).
    pub fn optional(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Decode a filter pipeline message body.
pub fn decode(r: &mut Reader<'_>) -> Result<Vec<FilterInfo>> {
    let start = r.clone();
    let version = r.u8()?;
    let n = r.u8()? as usize;
    if n > MAX_FILTERS {
        return Err(start.invalid("number of filters"));
    }
    match version {
        1 => r.skip(6)?,
        2 => {}
        v => return Err(start.err(ErrorKind::BadVersion(v))),
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u16()?;
        let name_len = if version == 1 || id >= 256 {
            r.u16()? as usize
        } else {
            0
        };
        let flags = r.u16()?;
        let nvalues = r.u16()? as usize;
        let name = if name_len > 0 {
            let b = r.bytes(name_len)?;
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            Some(String::from_utf8_lossy(&b[..end]).into_owned())
        } else {
            None
        };
        let mut client_data = Vec::with_capacity(nvalues.min(r.remaining() / 4));
        for _ in 0..nvalues {
            client_data.push(r.u32()?);
        }
        if version == 1 && nvalues % 2 == 1 {
            r.skip(4)?;
        }
        out.push(FilterInfo {
            id,
            name,
            flags,
            client_data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    #[test]
    fn v1_deflate() {
        let mut b = alloc::vec![1u8, 1, 0, 0, 0, 0, 0, 0];
        b.extend(1u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(b"deflate\0");
        b.extend(6u32.to_le_bytes());
        b.extend([0u8; 4]);
        let f = decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "filter pipeline")).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, 1);
        assert_eq!(f[0].name.as_deref(), Some("deflate"));
        assert_eq!(f[0].client_data, [6]);
        assert!(f[0].optional());
    }

    #[test]
    fn v2_short_form() {
        let mut b = alloc::vec![2u8, 1];
        b.extend(2u16.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(4u32.to_le_bytes());
        let f = decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "filter pipeline")).unwrap();
        assert_eq!(f[0].id, 2);
        assert_eq!(f[0].client_data, [4]);
    }
}

//! Filter pipeline message 0x0B (spec IV.A.2.l), versions 1 and 2.

use crate::error::{Error, ErrorKind, Result};
use crate::message::misc::Profile;
use crate::reader::Reader;
use crate::writer::Writer;
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

    /// The name libhdf5 stores for a filter it (or h5py) registers: "deflate", "shuffle",
    /// "fletcher32", "szip", "nbit", "scaleoffset", and h5py's "lzf" (32000).
    pub fn known_name(id: u16) -> Option<&'static str> {
        Some(match id {
            1 => "deflate",
            2 => "shuffle",
            3 => "fletcher32",
            4 => "szip",
            5 => "nbit",
            6 => "scaleoffset",
            32000 => "lzf",
            _ => return None,
        })
    }
}

/// The pipeline message version libhdf5 writes under `profile`: 1 by default, 2 in the
/// other (1.8+) profiles.
pub fn version_for(profile: Profile) -> u8 {
    match profile {
        Profile::Default => 1,
        _ => 2,
    }
}

/// Encode a filter pipeline message body at `version`.
///
/// - v1: version, count, 6 reserved bytes; per filter: id, name length, flags, number of
///   client values (u16 each), the name NUL-terminated and NUL-padded to a multiple of 8 (the
///   length counts the padding; 0 without a name), the values (u32 each), and 4 zero bytes
///   after an odd number of values.
/// - v2: version, count; per filter: id, the name length only for ids ≥ 256 (NUL counted, no
///   padding; names of ids < 256 are not stored), flags, number of values, the name, the
///   values — no padding anywhere.
///
/// # Errors
/// `BadVersion` outside 1–2; `Invalid` for more than [`MAX_FILTERS`] filters, a name holding
/// a NUL or too long, or more than 65 535 client values.
pub fn encode(filters: &[FilterInfo], version: u8, w: &mut Writer) -> Result<()> {
    let bad = |what| Error::invalid("filter pipeline", 0, what);
    if filters.len() > MAX_FILTERS {
        return Err(bad("number of filters"));
    }
    if !(1..=2).contains(&version) {
        return Err(Error::new(
            "filter pipeline",
            0,
            ErrorKind::BadVersion(version),
        ));
    }
    w.u8(version).u8(filters.len() as u8);
    if version == 1 {
        w.zeros(6);
    }
    for f in filters {
        let name = match &f.name {
            Some(n) if version == 1 || f.id >= 256 => n.as_bytes(),
            _ => &[],
        };
        if name.contains(&0) {
            return Err(bad("filter name holding a NUL"));
        }
        let stored = match (name.len(), version) {
            (0, _) => 0,
            (n, 1) => (n + 1).div_ceil(8) * 8,
            (n, _) => n + 1,
        };
        let stored16 = u16::try_from(stored).map_err(|_| bad("filter name length"))?;
        let nvalues =
            u16::try_from(f.client_data.len()).map_err(|_| bad("number of client values"))?;
        w.u16(f.id);
        if version == 1 || f.id >= 256 {
            w.u16(stored16);
        }
        w.u16(f.flags).u16(nvalues);
        if stored > 0 {
            w.bytes(name).zeros(stored - name.len());
        }
        for &v in &f.client_data {
            w.u32(v);
        }
        if version == 1 && nvalues % 2 == 1 {
            w.zeros(4);
        }
    }
    Ok(())
}

/// Decode a filter pipeline message body.
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) outside 1–2; `Invalid` for more than
/// [`MAX_FILTERS`] filters.
pub fn decode(r: &mut Reader<'_>) -> Result<Vec<FilterInfo>> {
    let start = r.clone();
    let version = r.version(&[1, 2])?;
    let n = r.u8()? as usize;
    if n > MAX_FILTERS {
        return Err(start.invalid("number of filters"));
    }
    if version == 1 {
        r.skip(6)?;
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

    use crate::chunk_array::test_util::hex;

    fn enc(f: &[FilterInfo], version: u8) -> Vec<u8> {
        let mut w = Writer::new(Sizes::DEFAULT);
        encode(f, version, &mut w).unwrap();
        w.finish()
    }

    fn dec(b: &[u8]) -> (Vec<FilterInfo>, usize) {
        let mut r = Reader::new(b, 0, Sizes::DEFAULT, "filter pipeline");
        let f = decode(&mut r).unwrap();
        (f, r.position())
    }

    fn filter(id: u16, flags: u16, client_data: &[u32]) -> FilterInfo {
        FilterInfo {
            id,
            name: FilterInfo::known_name(id).map(String::from),
            flags,
            client_data: client_data.to_vec(),
        }
    }

    #[test]
    fn round_trips_both_versions() {
        let mut custom = filter(32015, 1, &[3]);
        custom.name = Some("a name of 17 bytes".into());
        let mut unnamed = filter(300, 0, &[]);
        unnamed.name = None;
        let pipeline = alloc::vec![
            filter(2, 1, &[4]),
            filter(1, 1, &[6]),
            filter(3, 0, &[]),
            filter(32000, 1, &[4, 261, 400]),
            custom,
            unnamed,
        ];
        let (back, n) = dec(&enc(&pipeline, 1));
        assert_eq!(back, pipeline);
        assert_eq!(n, enc(&pipeline, 1).len());
        // v2 stores no names for ids < 256
        let (back, _) = dec(&enc(&pipeline, 2));
        for (b, f) in back.iter().zip(&pipeline) {
            assert_eq!(b.name, if f.id < 256 { None } else { f.name.clone() });
            assert_eq!(
                (b.id, b.flags, &b.client_data),
                (f.id, f.flags, &f.client_data)
            );
        }
        assert!(encode(&pipeline, 3, &mut Writer::default()).is_err());
        assert_eq!(version_for(Profile::Default), 1);
        assert_eq!(version_for(Profile::Latest), 2);
    }

    /// Filter pipeline bodies libhdf5 2.0 wrote (through h5py) in the fixtures, decoded and
    /// re-encoded with the file's version. v1 names are padded with NULs to 8 and the name
    /// length counts the padding ("fletcher32" → 16); odd client-value counts get 4 zero
    /// bytes; v2 drops names below id 256 and keeps "lzf\0" (length 4, unpadded).
    #[test]
    fn byte_exact_against_libhdf5() {
        for (label, h) in [
            ("filters_earliest /gzip_1", "010100000000000001000800010001006465666c617465000100000000000000"),
            ("filters_earliest /shuffle_gzip", "0102000000000000020008000100010073687566666c6500040000000000000001000800010001006465666c617465000400000000000000"),
            ("filters_earliest /fletcher32", "01010000000000000300100000000000666c6574636865723332000000000000"),
            ("filters_earliest /fletcher32_shuffle_gzip", "0103000000000000020008000100010073687566666c6500040000000000000001000800010001006465666c6174650004000000000000000300100000000000666c6574636865723332000000000000"),
            ("filters_earliest /lzf_shuffle", "0102000000000000020008000100010073687566666c65000400000000000000007d0800010003006c7a66000000000004000000050100000001000000000000"),
            ("filters_extra_earliest /nbit_int17", "010100000000000005000800000008006e626974000000000800000000000000080000000100000002000000010000000500000003000000"),
            ("filters_extra_earliest /scaleoffset_float", "010100000000000006001000010014007363616c656f666673657400000000000200000000000000190000000000000004000000010000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
            ("filters_latest /gzip_4", "020101000100010004000000"),
            ("filters_latest /fletcher32_shuffle_gzip", "02030200010001000400000001000100010004000000030000000000"),
            ("filters_latest /lzf_shuffle", "020202000100010004000000007d0400010003006c7a6600040000000501000000010000"),
        ] {
            let b = hex(h);
            let (f, n) = dec(&b);
            assert!(b[n..].iter().all(|&x| x == 0), "{label}: padding");
            assert_eq!(enc(&f, b[0]), &b[..n], "{label}");
            let profile = if label.contains("latest") {
                Profile::Latest
            } else {
                Profile::Default
            };
            assert_eq!(version_for(profile), b[0], "{label}");
            // the writer's names are libhdf5's
            if b[0] == 1 {
                for x in &f {
                    assert_eq!(x.name.as_deref(), FilterInfo::known_name(x.id), "{label}");
                }
            }
        }
    }

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

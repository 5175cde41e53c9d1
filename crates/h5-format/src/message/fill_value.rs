//! Fill value messages: old 0x04 (spec IV.A.2.e) and new 0x05 versions 1–3 (IV.A.2.f).

use crate::error::{Error, ErrorKind, Result};
use crate::message::misc::Profile;
use crate::reader::Reader;
use crate::writer::Writer;
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

fn put_value(w: &mut Writer, v: Option<&[u8]>) -> Result<()> {
    let v = v.unwrap_or(&[]);
    let n =
        u32::try_from(v.len()).map_err(|_| Error::invalid("fill value", 0, "fill value size"))?;
    w.u32(n).bytes(v);
    Ok(())
}

impl FillValue {
    /// The version of the new (0x05) message libhdf5 writes under `profile`: 2 by default,
    /// 3 in the other (1.8+) profiles.
    pub fn version_for(profile: Profile) -> u8 {
        match profile {
            Profile::Default => 2,
            _ => 3,
        }
    }

    /// Whether libhdf5 also writes the old (0x04) message under `profile`: by default, when
    /// a fill value is set (never in the latest profile).
    pub fn writes_old_message(&self, profile: Profile) -> bool {
        profile == Profile::Default && self.value.is_some()
    }

    /// Encode the old (0x04) message: the value's size (u32) and bytes (size 0 without one).
    ///
    /// # Errors
    /// `Invalid` for a value over 4 GiB.
    pub fn encode_old(&self, w: &mut Writer) -> Result<()> {
        put_value(w, self.value.as_deref())
    }

    /// Encode the new (0x05) message at `version`:
    /// - v1: allocation time, write time, "defined" byte, then always the size and value;
    /// - v2: the same, but the size and value only when defined (size 0 = the library
    ///   default, zeros — what h5py's datasets without a fill value carry);
    /// - v3: one flags byte (bits 0–1 allocation time, 2–3 write time, bit 4 undefined, bit 5
    ///   value present), then the size and value when present.
    ///
    /// # Errors
    /// `BadVersion` outside 1–3; `Invalid` for an allocation or write time over 3, a value
    /// with an undefined fill value in v3, or a value over 4 GiB.
    pub fn encode(&self, version: u8, w: &mut Writer) -> Result<()> {
        if self.alloc_time > 3 || self.write_time > 3 {
            return Err(Error::invalid("fill value", 0, "fill value times"));
        }
        w.u8(version);
        match version {
            1 | 2 => {
                w.u8(self.alloc_time)
                    .u8(self.write_time)
                    .u8(u8::from(self.defined));
                if version == 1 || self.defined {
                    put_value(w, self.value.as_deref())?;
                }
            }
            3 => {
                if !self.defined && self.value.is_some() {
                    return Err(Error::invalid("fill value", 0, "fill value flags"));
                }
                let flags = self.alloc_time
                    | self.write_time << 2
                    | u8::from(!self.defined) << 4
                    | u8::from(self.value.is_some()) << 5;
                w.u8(flags);
                if self.value.is_some() {
                    put_value(w, self.value.as_deref())?;
                }
            }
            v => return Err(Error::new("fill value", 0, ErrorKind::BadVersion(v))),
        }
        Ok(())
    }

    /// Decode the old (0x04) message: a size and the value.
    ///
    /// # Errors
    /// `Truncated` when the message ends inside the size or the value.
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
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) outside 1–3; `Invalid` (v3) for
    /// reserved flag bits set or a value flagged both undefined and present.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.version(&[1, 2, 3])?;
        if version <= 2 {
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
        } else {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    use crate::chunk_array::test_util::hex;

    fn enc(f: &FillValue, version: u8) -> Vec<u8> {
        let mut w = Writer::new(Sizes::DEFAULT);
        if version == 0 {
            f.encode_old(&mut w).unwrap();
        } else {
            f.encode(version, &mut w).unwrap();
        }
        w.finish()
    }

    fn dec(b: &[u8], version: u8) -> (FillValue, usize) {
        let mut r = Reader::new(b, 0, Sizes::DEFAULT, "fill value");
        let f = if version == 0 {
            FillValue::decode_old(&mut r).unwrap()
        } else {
            FillValue::decode(&mut r).unwrap()
        };
        (f, r.position())
    }

    #[test]
    fn round_trips_every_version() {
        let samples = [
            FillValue {
                alloc_time: 2,
                write_time: 2,
                defined: true,
                value: None,
            },
            FillValue {
                alloc_time: 3,
                write_time: 0,
                defined: true,
                value: Some(alloc::vec![1, 2, 3, 4]),
            },
            FillValue {
                alloc_time: 1,
                write_time: 1,
                defined: false,
                value: None,
            },
        ];
        for f in &samples {
            for v in 1..=3 {
                let b = enc(f, v);
                let (back, n) = dec(&b, v);
                assert_eq!(&back, f, "v{v}");
                assert_eq!(n, b.len());
            }
        }
        // the old message keeps only the value
        let (old, _) = dec(&enc(&samples[1], 0), 0);
        assert_eq!(old.value, samples[1].value);
        assert!(samples[1].writes_old_message(Profile::Default));
        assert!(!samples[1].writes_old_message(Profile::Latest));
        assert!(!samples[0].writes_old_message(Profile::Default));
        let bad = FillValue {
            defined: false,
            value: Some(alloc::vec![0]),
            ..FillValue::default()
        };
        assert!(bad.encode(3, &mut Writer::default()).is_err());
        assert!(samples[0].encode(4, &mut Writer::default()).is_err());
    }

    /// Fill value messages libhdf5 2.0 wrote (through h5py) in the fixtures, decoded and
    /// re-encoded with the file's version (0 = the old 0x04 message). Bodies from v1 object
    /// headers carry alignment padding to 8 after the message, checked to be zeros.
    #[test]
    fn byte_exact_against_libhdf5() {
        for (label, version, h) in [
            // v2, no user fill value: "defined" with size 0 (late allocation, write if set)
            (
                "fill_earliest /fill_default_unwritten",
                2,
                "0202020100000000",
            ),
            // v2 + old message for fillvalue=42 (contiguous: late allocation)
            (
                "fill_earliest /fill_int_unwritten",
                2,
                "02020201040000002a00000000000000",
            ),
            (
                "fill_earliest /fill_int_unwritten (0x04)",
                0,
                "040000002a000000",
            ),
            // chunked: incremental allocation; compound fill value
            (
                "fill_earliest /fill_compound_chunked",
                2,
                "020302010c000000ffffffff000000000000d03f00000000",
            ),
            (
                "fill_earliest /fill_compound_chunked (0x04)",
                0,
                "0c000000ffffffff000000000000d03f",
            ),
            // early allocation
            (
                "fill_earliest /fill_alloc_early",
                2,
                "02010201040000000300000000000000",
            ),
            // vlen strings: fill written at allocation time (0)
            ("dtypes_earliest /str_vlen_utf8", 2, "0202000100000000"),
            // v3: flags only (late, if set), then flags 0x2b (incremental, if set, value) + value
            ("dtypes_latest /int32_be", 3, "030a"),
            ("dtypes_latest /str_vlen_utf8", 3, "0302"),
            ("fill_latest /sparse_1d", 3, "032b04000000ffffffff"),
            (
                "fill_latest /fill_compound_chunked",
                3,
                "032b0c000000ffffffff000000000000d03f",
            ),
            ("chunkidx_latest /implicit", 3, "032902000000ffff"),
        ] {
            let b = hex(h);
            let (f, n) = dec(&b, version);
            assert!(b[n..].iter().all(|&x| x == 0), "{label}: padding");
            assert_eq!(enc(&f, version), &b[..n], "{label}");
            if version > 0 {
                let profile = if label.contains("latest") {
                    Profile::Latest
                } else {
                    Profile::Default
                };
                assert_eq!(FillValue::version_for(profile), version, "{label}");
            }
        }
    }

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

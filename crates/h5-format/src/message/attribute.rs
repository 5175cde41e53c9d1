//! Attribute message 0x0C (spec IV.A.2.m), versions 1–3.

use crate::error::{Error, ErrorKind, Result};
use crate::message::dataspace::Dataspace;
use crate::message::datatype::{Charset, Datatype};
use crate::message::misc::Profile;
use crate::message::shared::Shared;
use crate::reader::Reader;
use crate::writer::Writer;
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
    /// Character set of the name (stored from version 3 on; ASCII before).
    pub charset: Charset,
    /// The raw data: everything after the header fields (may include trailing padding).
    pub data: &'a [u8],
}

/// The versions an attribute message is written with: its own and those of the datatype
/// and dataspace messages inside it (or of their shared-message references).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeVersions {
    /// Attribute message version (1–3).
    pub message: u8,
    /// Datatype message version, or the shared message version when shared.
    pub datatype: u8,
    /// Dataspace message version, or the shared message version when shared.
    pub dataspace: u8,
}

/// What an attribute message holds before its datatype: version, flags, the lengths of the
/// datatype and dataspace, the name's character set and the name's bytes (up to a NUL).
struct Prefix<'a> {
    version: u8,
    flags: u8,
    dt_len: usize,
    ds_len: usize,
    charset: Charset,
    name: &'a [u8],
}

impl<'a> Prefix<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self> {
        let start = r.clone();
        let version = r.version(&[1, 2, 3])?;
        let flags = r.u8()?;
        let name_len = r.u16()? as usize;
        let dt_len = r.u16()? as usize;
        let ds_len = r.u16()? as usize;
        let mut charset = Charset::Ascii;
        if version == 3 {
            charset = match r.u8()? {
                0 => Charset::Ascii,
                1 => Charset::Utf8,
                _ => return Err(start.invalid("attribute name character set")),
            };
        }
        let name_bytes = r.bytes(padded(name_len, version))?;
        let n = &name_bytes[..name_len];
        let name = n.iter().position(|&b| b == 0).map_or(n, |e| &n[..e]);
        Ok(Prefix {
            version,
            flags,
            dt_len,
            ds_len,
            charset,
            name,
        })
    }
}

/// The name an attribute message body holds, as stored (up to a NUL): what a lookup by name
/// compares, without decoding the datatype, dataspace or data. `Attribute::decode` gives
/// the same name (lossily as UTF-8), errors included up to the name.
///
/// # Errors
/// As [`Attribute::decode`], for the fields before the datatype.
pub fn name_bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    Prefix::decode(r).map(|p| p.name)
}

fn padded(n: usize, version: u8) -> usize {
    if version == 1 {
        n.div_ceil(8) * 8
    } else {
        n
    }
}

impl<'a> Attribute<'a> {
    /// An attribute with an inline datatype and dataspace and an ASCII name (as h5py writes
    /// them: it stores even non-ASCII attribute names with charset ASCII).
    pub fn new(
        name: impl Into<String>,
        datatype: Datatype,
        dataspace: Dataspace,
        data: &'a [u8],
    ) -> Self {
        Attribute {
            name: name.into(),
            datatype: MaybeShared::Inline(datatype),
            dataspace: MaybeShared::Inline(dataspace),
            charset: Charset::Ascii,
            data,
        }
    }

    /// Decode an attribute message body.
    ///
    /// # Errors
    /// `Truncated` when a part runs past the message; `VersionNotAccepted` (at the version byte)
    /// outside 1–3; `Invalid` for a name character set other than ASCII and UTF-8 (v3); the
    /// errors of the embedded datatype, dataspace or shared message.
    pub fn decode(r: &mut Reader<'a>) -> Result<Self> {
        let Prefix {
            version,
            flags,
            dt_len,
            ds_len,
            charset,
            name: n,
        } = Prefix::decode(r)?;
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
            charset,
            data: r.rest(),
        })
    }

    /// The versions libhdf5 writes under `profile`. By default the message is v1, v2 when the
    /// datatype or dataspace is shared (v1 cannot say so), v3 for a UTF-8 name; in the latest
    /// profile always v3. The datatype and dataspace take their own `version_for(profile)`;
    /// shared ones their [`Shared::version`].
    pub fn versions_for(&self, profile: Profile) -> AttributeVersions {
        let shared = matches!(self.datatype, MaybeShared::Shared(_))
            || matches!(self.dataspace, MaybeShared::Shared(_));
        let message = match profile {
            Profile::Latest | Profile::V18 | Profile::V110 => 3,
            Profile::Default if self.charset != Charset::Ascii => 3,
            Profile::Default if shared => 2,
            Profile::Default => 1,
        };
        AttributeVersions {
            message,
            datatype: match &self.datatype {
                MaybeShared::Inline(t) => t.version_for(profile),
                MaybeShared::Shared(s) => s.version(),
            },
            dataspace: match &self.dataspace {
                MaybeShared::Inline(d) => d.version_for(profile),
                MaybeShared::Shared(s) => s.version(),
            },
        }
    }

    /// Encode the message body: version, flags (v2+: bit 0 shared datatype, bit 1 shared
    /// dataspace; a reserved zero byte in v1), the sizes of the name (NUL counted), datatype
    /// and dataspace, [v3: the name's character set], the name NUL-terminated, the datatype,
    /// the dataspace, then `data` as it is. Version 1 pads the name, datatype and dataspace
    /// with zeros to multiples of 8 (the sizes stay unpadded, as libhdf5 writes them).
    ///
    /// # Errors
    /// `BadVersion` outside 1–3; `Invalid` for a shared datatype/dataspace in v1, a UTF-8
    /// name below v3, a name holding a NUL, or parts over 65 535 bytes; the datatype's and
    /// dataspace's own errors.
    pub fn encode(&self, v: AttributeVersions, w: &mut Writer) -> Result<()> {
        let bad = |what| Error::invalid("attribute", 0, what);
        let version = v.message;
        if !(1..=3).contains(&version) {
            return Err(Error::new("attribute", 0, ErrorKind::BadVersion(version)));
        }
        if self.name.as_bytes().contains(&0) {
            return Err(bad("attribute name holding a NUL"));
        }
        if version < 3 && self.charset != Charset::Ascii {
            return Err(bad("UTF-8 attribute name below version 3"));
        }
        let mut dt = Writer::new(w.sizes);
        let dt_shared = match &self.datatype {
            MaybeShared::Inline(t) => {
                t.encode(v.datatype, &mut dt)?;
                false
            }
            MaybeShared::Shared(s) => {
                s.encode(v.datatype, &mut dt)?;
                true
            }
        };
        let mut ds = Writer::new(w.sizes);
        let ds_shared = match &self.dataspace {
            MaybeShared::Inline(d) => {
                d.encode(v.dataspace, &mut ds)?;
                false
            }
            MaybeShared::Shared(s) => {
                s.encode(v.dataspace, &mut ds)?;
                true
            }
        };
        if version == 1 && (dt_shared || ds_shared) {
            return Err(bad("shared datatype or dataspace in a version 1 attribute"));
        }
        let len16 = |n: usize| u16::try_from(n).map_err(|_| bad("attribute part size"));
        let name_len = len16(self.name.len() + 1)?;
        let (dt, ds) = (dt.finish(), ds.finish());
        w.u8(version)
            .u8(u8::from(dt_shared) | u8::from(ds_shared) << 1)
            .u16(name_len)
            .u16(len16(dt.len())?)
            .u16(len16(ds.len())?);
        if version == 3 {
            w.u8(match self.charset {
                Charset::Ascii => 0,
                Charset::Utf8 => 1,
            });
        }
        let start = w.len();
        w.bytes(self.name.as_bytes()).u8(0);
        if version == 1 {
            w.pad_from(start, 8);
        }
        for part in [&dt, &ds] {
            let start = w.len();
            w.bytes(part);
            if version == 1 {
                w.pad_from(start, 8);
            }
        }
        w.bytes(self.data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::datatype::ByteOrder;
    use crate::reader::Sizes;

    use crate::chunk_array::test_util::hex;

    fn enc(a: &Attribute<'_>, v: AttributeVersions) -> Result<alloc::vec::Vec<u8>> {
        let mut w = Writer::new(Sizes::DEFAULT);
        a.encode(v, &mut w)?;
        Ok(w.finish())
    }

    fn versions(message: u8, datatype: u8, dataspace: u8) -> AttributeVersions {
        AttributeVersions {
            message,
            datatype,
            dataspace,
        }
    }

    #[test]
    fn round_trips_every_version() {
        let data = [1u8, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0];
        let inline = Attribute::new(
            "name of ten",
            Datatype::Integer {
                size: 4,
                order: ByteOrder::Little,
                signed: true,
                bit_offset: 0,
                precision: 32,
                bitfield: false,
            },
            Dataspace::simple(alloc::vec![3], None),
            &data,
        );
        for v in [versions(1, 1, 1), versions(2, 1, 2), versions(3, 3, 2)] {
            let b = enc(&inline, v).unwrap();
            let back = Attribute::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "attribute"));
            assert_eq!(back.unwrap(), inline, "{v:?}");
        }
        let shared = Attribute {
            name: "ünï".into(),
            datatype: MaybeShared::Shared(Shared::ObjectHeader(0x590)),
            charset: Charset::Utf8,
            ..inline.clone()
        };
        assert!(enc(&shared, versions(2, 2, 2)).is_err(), "UTF-8 below v3");
        let b = enc(&shared, versions(3, 2, 2)).unwrap();
        let back = Attribute::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "attribute"));
        assert_eq!(back.unwrap(), shared);
        let ascii_shared = Attribute {
            charset: Charset::Ascii,
            ..shared.clone()
        };
        assert!(enc(&ascii_shared, versions(1, 2, 1)).is_err());
        assert_eq!(
            ascii_shared.versions_for(Profile::Default),
            versions(2, 2, 1)
        );
        assert_eq!(shared.versions_for(Profile::Default).message, 3);
        assert_eq!(inline.versions_for(Profile::Latest), versions(3, 1, 2));
        assert!(enc(&inline, versions(4, 1, 1)).is_err());
    }

    /// Attribute message bodies libhdf5 2.0 wrote (through h5py) in the fixtures, decoded
    /// and re-encoded with the versions `versions_for` picks for the file's profile — which
    /// are the versions the file used. The data is cut to its exact size first: in v1 object
    /// headers the body ends with alignment padding to 8, checked to be zeros. v1 pads the
    /// name, datatype and dataspace to 8 with zeros while the sizes stay unpadded; h5py writes
    /// names with charset ASCII even when they are UTF-8 (`ünïcødé name` below).
    #[test]
    fn byte_exact_against_libhdf5() {
        for (label, h) in [
            // v1: vlen string attribute on the root ("title")
            ("attrs_earliest / title", "01000600140008007469746c65000000190101001000000010000000010000000000080000000000010000000000000012000000000800000000000001000000"),
            // v1: i4 array of 3 with max dims stored
            ("attrs_earliest / version", "010008000c00180076657273696f6e001008000004000000000020000000000001010100000000000300000000000000030000000000000001000000020000000300000000000000"),
            // v1 with a non-ASCII name stored as ASCII
            ("attrs_earliest / ünïcødé name", "0100110014000800c3bc6ec3af63c3b864c3a9206e616d650000000000000000190101001000000010000000010000000000080000000000010000000000000009000000000800000000000002000000"),
            // v1 with a null dataspace (dataspace v2 inside)
            ("attrs_earliest /empty_attrs empty_f4", "0100090014000400656d7074795f6634000000000000000011201f000400000000002000170800177f000000000000000200000200000000"),
            // v1 holding an array type (datatype v2)
            ("arraytype_earliest / array_attr_scalar", "010012002800080061727261795f617474725f7363616c6172000000000000002a0000001800000002000000020000000300000000000000010000001008000004000000000020000100000000000000000000000100000002000000030000000400000005000000"),
            // v2 with a committed (shared) datatype, by default
            ("committed_earliest /data typed_attr", "02010b000a00080074797065645f617474720002022003000000000000010000000000000001000000000000000000e03f6f6e65000000000000000000000000"),
            // v3
            ("attrs_latest / title", "0300060014000400007469746c650019010100100000001000000001000000000008000200000012000000000800000000000001000000"),
            ("attrs_latest /compact_group b", "030002001400240000620011201f000400000000002000170800177f0000000202010102000000000000000200000000000000020000000000000002000000000000000000c03f000020400000604000009040"),
            ("attrs_latest / ünïcødé name", "030011001400040000c3bc6ec3af63c3b864c3a9206e616d650019010100100000001000000001000000000008000200000009000000000800000000000002000000"),
            ("arraytype_latest / array_attr", "03000b001d0014000061727261795f61747472005a000000180000000202000000030000001008000004000000000020000201010102000000000000000200000000000000000000000100000002000000030000000400000005000000060000000700000008000000090000000a0000000b000000"),
            ("committed_latest /data typed_attr", "03010b000a0004000074797065645f61747472000202b3000000000000000200000001000000000000000000e03f6f6e650000000000"),
        ] {
            let b = hex(h);
            let a = Attribute::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "attribute")).unwrap();
            let elements = match &a.dataspace {
                MaybeShared::Inline(d) => d.num_elements(),
                MaybeShared::Shared(_) => unreachable!(),
            };
            let size = match &a.datatype {
                MaybeShared::Inline(t) => t.size(),
                // the committed compound {i4, f8, S8}
                MaybeShared::Shared(_) => 20,
            };
            let n = (elements * size) as usize;
            assert!(a.data[n..].iter().all(|&x| x == 0), "{label}: padding");
            let exact = Attribute {
                data: &a.data[..n],
                ..a.clone()
            };
            let profile = if label.contains("latest") {
                Profile::Latest
            } else {
                Profile::Default
            };
            let v = exact.versions_for(profile);
            assert_eq!(v.message, b[0], "{label}");
            let out = enc(&exact, v).unwrap();
            assert_eq!(out, &b[..out.len()], "{label}");
            assert_eq!(out.len(), b.len() - (a.data.len() - n), "{label}");
        }
    }

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

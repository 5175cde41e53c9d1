//! Datatype message 0x03 (spec IV.A.2.d): classes 0–11, versions 1–5.

use crate::error::{ErrorKind, Result};
use crate::reader::{bytes_needed, Reader};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Deepest nesting of compound/array/vlen/enum types accepted.
pub const MAX_DEPTH: usize = 32;
/// Most members of a compound or enum accepted.
pub const MAX_MEMBERS: usize = 65_535;

/// Byte order of an atomic type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian.
    Little,
    /// Big-endian.
    Big,
    /// VAX mixed-endian (floats only).
    Vax,
}

/// String padding (fixed strings) or vlen string padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrPad {
    /// NUL-terminated.
    NullTerm,
    /// NUL-padded.
    NullPad,
    /// Space-padded.
    SpacePad,
}

/// Character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// US-ASCII.
    Ascii,
    /// UTF-8.
    Utf8,
}

/// Kind of reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// Object reference (an address).
    Object,
    /// Dataset region reference (a global heap ID).
    Region,
    /// Revised (1.12) object reference.
    Object2,
    /// Revised region reference.
    Region2,
    /// Revised attribute reference.
    Attribute,
}

/// A compound member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Member name.
    pub name: String,
    /// Byte offset in the compound element.
    pub offset: u64,
    /// Member type.
    pub dtype: Datatype,
}

/// A decoded datatype.
#[derive(Debug, Clone, PartialEq)]
pub enum Datatype {
    /// Class 0 (and 4 with `bitfield`): fixed-point integers.
    Integer {
        /// Size in bytes.
        size: u32,
        /// Byte order.
        order: ByteOrder,
        /// Signed (two's complement).
        signed: bool,
        /// Bit offset of the value.
        bit_offset: u16,
        /// Bits of precision.
        precision: u16,
        /// Class 4 (bitfield) rather than class 0.
        bitfield: bool,
    },
    /// Class 1: floating point.
    Float {
        /// Size in bytes.
        size: u32,
        /// Byte order.
        order: ByteOrder,
        /// Bit offset.
        bit_offset: u16,
        /// Bits of precision.
        precision: u16,
        /// Exponent location (bit).
        exp_loc: u8,
        /// Exponent size (bits).
        exp_size: u8,
        /// Mantissa location (bit).
        mant_loc: u8,
        /// Mantissa size (bits).
        mant_size: u8,
        /// Exponent bias.
        exp_bias: u32,
        /// Sign bit location.
        sign_loc: u8,
        /// Mantissa normalisation (0 none, 1 msb set, 2 implied).
        norm: u8,
    },
    /// Class 2: time (obsolete).
    Time {
        /// Size in bytes.
        size: u32,
        /// Byte order.
        order: ByteOrder,
        /// Bits of precision.
        precision: u16,
    },
    /// Class 3: fixed-length string.
    String {
        /// Size in bytes.
        size: u32,
        /// Padding.
        pad: StrPad,
        /// Character set.
        charset: Charset,
    },
    /// Class 5: opaque.
    Opaque {
        /// Size in bytes.
        size: u32,
        /// Tag (trailing NULs removed).
        tag: String,
    },
    /// Class 6: compound.
    Compound {
        /// Size in bytes.
        size: u32,
        /// Members, in stored order.
        members: Vec<Member>,
    },
    /// Class 7: reference.
    Reference {
        /// Size in bytes.
        size: u32,
        /// Kind.
        kind: RefKind,
    },
    /// Class 8: enumeration.
    Enum {
        /// Size in bytes.
        size: u32,
        /// Base integer type.
        base: Box<Datatype>,
        /// Member names and raw values (base-type bytes).
        members: Vec<(String, Vec<u8>)>,
    },
    /// Class 9: variable-length sequence.
    VarLenSeq {
        /// Stored element size (4-byte length + global heap ID).
        size: u32,
        /// Element type.
        base: Box<Datatype>,
    },
    /// Class 9: variable-length string.
    VarLenStr {
        /// Stored element size (4-byte length + global heap ID).
        size: u32,
        /// Padding.
        pad: StrPad,
        /// Character set.
        charset: Charset,
    },
    /// Class 10: fixed-size array.
    Array {
        /// Element type.
        base: Box<Datatype>,
        /// Dimensions.
        dims: Vec<u32>,
    },
    /// Class 11: complex (HDF5 2.0).
    Complex {
        /// Size in bytes.
        size: u32,
        /// The float type of each part.
        base: Box<Datatype>,
    },
}

impl Datatype {
    /// Element size in bytes as stored (vlen: 4-byte length + global heap ID).
    pub fn size(&self) -> u64 {
        match self {
            Datatype::Integer { size, .. }
            | Datatype::Float { size, .. }
            | Datatype::Time { size, .. }
            | Datatype::String { size, .. }
            | Datatype::Opaque { size, .. }
            | Datatype::Compound { size, .. }
            | Datatype::Reference { size, .. }
            | Datatype::Enum { size, .. }
            | Datatype::Complex { size, .. }
            | Datatype::VarLenSeq { size, .. }
            | Datatype::VarLenStr { size, .. } => *size as u64,
            Datatype::Array { base, dims } => dims
                .iter()
                .fold(base.size(), |a, &d| a.saturating_mul(d as u64)),
        }
    }

    /// Decode a datatype message body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        decode(r, 0)
    }
}

fn order(bits: u32) -> ByteOrder {
    if bits & 1 != 0 {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    }
}

fn pad(bits: u32) -> core::result::Result<StrPad, &'static str> {
    match bits & 0xf {
        0 => Ok(StrPad::NullTerm),
        1 => Ok(StrPad::NullPad),
        2 => Ok(StrPad::SpacePad),
        _ => Err("string padding"),
    }
}

fn charset(bits: u32) -> core::result::Result<Charset, &'static str> {
    match bits & 0xf {
        0 => Ok(Charset::Ascii),
        1 => Ok(Charset::Utf8),
        _ => Err("character set"),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A name NUL-terminated and (versions 1–2) padded to a multiple of 8 from its start.
fn name(r: &mut Reader<'_>, padded: bool) -> Result<String> {
    let start = r.position();
    let s = r.cstr()?;
    if padded {
        let used = r.position() - start;
        r.skip((8 - used % 8) % 8)?;
    }
    Ok(lossy(s))
}

fn decode(r: &mut Reader<'_>, depth: usize) -> Result<Datatype> {
    if depth > MAX_DEPTH {
        return Err(r.invalid("datatype nesting depth"));
    }
    let start = r.clone();
    let b0 = r.u8()?;
    let class = b0 & 0x0f;
    let version = b0 >> 4;
    if !(1..=5).contains(&version) {
        return Err(start.err(ErrorKind::BadVersion(version)));
    }
    let bits = r.uint(3)? as u32;
    let size = r.u32()?;
    let bad = |what: &'static str| start.invalid(what);
    let dt = match class {
        0 | 4 => {
            let bit_offset = r.u16()?;
            let precision = r.u16()?;
            if size == 0 || bit_offset as u64 + precision as u64 > size as u64 * 8 {
                return Err(bad("fixed-point size or precision"));
            }
            Datatype::Integer {
                size,
                order: order(bits),
                signed: class == 0 && bits & 0x08 != 0,
                bit_offset,
                precision,
                bitfield: class == 4,
            }
        }
        1 => {
            let ord = match (bits & 1, bits & 0x40) {
                (0, 0) => ByteOrder::Little,
                (1, 0) => ByteOrder::Big,
                (1, _) => ByteOrder::Vax,
                _ => return Err(bad("floating-point byte order")),
            };
            let norm = ((bits >> 4) & 3) as u8;
            let sign_loc = ((bits >> 8) & 0xff) as u8;
            let bit_offset = r.u16()?;
            let precision = r.u16()?;
            let exp_loc = r.u8()?;
            let exp_size = r.u8()?;
            let mant_loc = r.u8()?;
            let mant_size = r.u8()?;
            let exp_bias = r.u32()?;
            let bits = size as u64 * 8;
            let fits = |loc: u8, n: u8| loc as u64 + n as u64 <= bits;
            if size == 0
                || bit_offset as u64 + precision as u64 > bits
                || exp_size == 0
                || exp_size > 32
                || mant_size > 127
                || !fits(exp_loc, exp_size)
                || !fits(mant_loc, mant_size)
                || sign_loc as u64 >= bits
            {
                return Err(bad("floating-point field sizes"));
            }
            Datatype::Float {
                size,
                order: ord,
                bit_offset,
                precision,
                exp_loc,
                exp_size,
                mant_loc,
                mant_size,
                exp_bias,
                sign_loc,
                norm,
            }
        }
        2 => {
            let precision = r.u16()?;
            Datatype::Time {
                size,
                order: order(bits),
                precision,
            }
        }
        3 => Datatype::String {
            size,
            pad: pad(bits).map_err(bad)?,
            charset: charset(bits >> 4).map_err(bad)?,
        },
        5 => {
            let tag_len = (bits & 0xff) as usize;
            let tag = r.bytes(tag_len)?;
            let end = tag.iter().position(|&b| b == 0).unwrap_or(tag.len());
            Datatype::Opaque {
                size,
                tag: lossy(&tag[..end]),
            }
        }
        6 => {
            let n = (bits & 0xffff) as usize;
            if n == 0 {
                return Err(bad("number of compound members (0)"));
            }
            let mut members = Vec::with_capacity(n.min(r.remaining() / 8 + 1));
            for _ in 0..n {
                let mname = name(r, version < 3)?;
                let offset = if version < 3 {
                    r.u32()? as u64
                } else {
                    r.uint(bytes_needed(size as u64))?
                };
                let mut old_dims = Vec::new();
                if version == 1 {
                    let rank = r.u8()? as usize;
                    r.skip(3 + 4 + 4)?;
                    let mut d = [0u32; 4];
                    for v in d.iter_mut() {
                        *v = r.u32()?;
                    }
                    if rank > 4 {
                        return Err(bad("compound member rank"));
                    }
                    old_dims.extend_from_slice(&d[..rank]);
                }
                let mut mdt = decode(r, depth + 1)?;
                if !old_dims.is_empty() {
                    mdt = Datatype::Array {
                        base: Box::new(mdt),
                        dims: old_dims,
                    };
                }
                if offset.saturating_add(mdt.size()) > size as u64 {
                    return Err(bad("compound member offset"));
                }
                members.push(Member {
                    name: mname,
                    offset,
                    dtype: mdt,
                });
            }
            Datatype::Compound { size, members }
        }
        7 => {
            let kind = match bits & 0xf {
                0 => RefKind::Object,
                1 => RefKind::Region,
                2 => RefKind::Object2,
                3 => RefKind::Region2,
                4 => RefKind::Attribute,
                _ => return Err(bad("reference type")),
            };
            let min = match kind {
                RefKind::Object => r.sizes.offset as u32,
                RefKind::Region => r.sizes.offset as u32 + 4,
                _ => 1,
            };
            if size < min {
                return Err(bad("reference size"));
            }
            Datatype::Reference { size, kind }
        }
        8 => {
            let n = (bits & 0xffff) as usize;
            let base = decode(r, depth + 1)?;
            if !matches!(base, Datatype::Integer { .. }) || base.size() != size as u64 {
                return Err(bad("enum base type"));
            }
            let mut names = Vec::with_capacity(n.min(r.remaining()));
            for _ in 0..n {
                names.push(name(r, version < 3)?);
            }
            let vsize = base.size() as usize;
            let mut members = Vec::with_capacity(names.len());
            for nm in names {
                members.push((nm, r.bytes(vsize)?.to_vec()));
            }
            Datatype::Enum {
                size,
                base: Box::new(base),
                members,
            }
        }
        9 => {
            let base = decode(r, depth + 1)?;
            if (size as usize) < 8 + r.sizes.offset as usize {
                return Err(bad("variable-length element size"));
            }
            match bits & 0xf {
                0 => Datatype::VarLenSeq {
                    size,
                    base: Box::new(base),
                },
                1 => Datatype::VarLenStr {
                    size,
                    pad: pad(bits >> 4).map_err(bad)?,
                    charset: charset(bits >> 8).map_err(bad)?,
                },
                _ => return Err(bad("variable-length type")),
            }
        }
        10 => {
            let rank = r.u8()? as usize;
            if rank == 0 || rank > 32 {
                return Err(bad("array rank"));
            }
            if version < 3 {
                r.skip(3)?;
            }
            let mut dims = Vec::with_capacity(rank);
            for _ in 0..rank {
                dims.push(r.u32()?);
            }
            if version < 3 {
                r.skip(4 * rank)?;
            }
            let base = decode(r, depth + 1)?;
            let total = dims
                .iter()
                .try_fold(base.size(), |a, &d| a.checked_mul(d as u64));
            if total.is_none_or(|t| t != size as u64 || t > u32::MAX as u64) {
                return Err(bad("array size"));
            }
            Datatype::Array {
                base: Box::new(base),
                dims,
            }
        }
        11 => {
            if bits & 1 == 0 || (bits >> 1) & 3 != 0 {
                return Err(start.unsupported("non-homogeneous or non-rectangular complex type"));
            }
            let base = decode(r, depth + 1)?;
            if !matches!(base, Datatype::Float { .. })
                || base.size().saturating_mul(2) != size as u64
            {
                return Err(bad("complex base type"));
            }
            Datatype::Complex {
                size,
                base: Box::new(base),
            }
        }
        c => return Err(start.unsupported(alloc::format!("datatype class {c}"))),
    };
    if dt.size() == 0 {
        return Err(bad("zero datatype size"));
    }
    Ok(dt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    fn dec(b: &[u8]) -> Result<Datatype> {
        Datatype::decode(&mut Reader::new(b, 0, Sizes::DEFAULT, "datatype"))
    }

    #[test]
    fn big_endian_i32() {
        let b = [0x10, 0x09, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0];
        assert_eq!(
            dec(&b).unwrap(),
            Datatype::Integer {
                size: 4,
                order: ByteOrder::Big,
                signed: true,
                bit_offset: 0,
                precision: 32,
                bitfield: false
            }
        );
    }

    #[test]
    fn compound_v1_padded_names() {
        let mut b = alloc::vec![0x16, 1, 0, 0, 8, 0, 0, 0];
        b.extend(b"ab\0\0\0\0\0\0");
        b.extend(0u32.to_le_bytes());
        b.extend([0u8; 28]);
        b.extend([0x11, 0x20, 0x3f, 0, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52]);
        b.extend(1023u32.to_le_bytes());
        match dec(&b).unwrap() {
            Datatype::Compound { size: 8, members } => {
                assert_eq!(members[0].name, "ab");
                assert!(matches!(members[0].dtype, Datatype::Float { size: 8, .. }));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        // vlen of vlen of ... without end
        let mut b = alloc::vec::Vec::new();
        for _ in 0..40 {
            b.extend([0x19, 0, 0, 0, 16, 0, 0, 0]);
        }
        assert!(dec(&b).is_err());
    }

    #[test]
    fn truncated_everywhere_is_an_error() {
        let b = [0x10, 0x09, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0];
        for n in 0..b.len() {
            assert!(dec(&b[..n]).is_err());
        }
    }
}

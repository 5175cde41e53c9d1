//! Datatypes h5py creates for numpy types that have no Rust counterpart.

use h5_format::message::datatype::{ByteOrder, Charset, Datatype, Member, RefKind, StrPad};

fn float(
    size: u32,
    exp_loc: u8,
    exp_size: u8,
    mant_size: u8,
    exp_bias: u32,
    norm: u8,
    precision: u16,
) -> Datatype {
    Datatype::Float {
        size,
        order: ByteOrder::Little,
        bit_offset: 0,
        precision,
        exp_loc,
        exp_size,
        mant_loc: 0,
        mant_size,
        exp_bias,
        sign_loc: (exp_loc as u16 + exp_size as u16) as u8,
        norm,
    }
}

/// numpy's `float32` (IEEE single), little-endian.
pub fn float32() -> Datatype {
    float(4, 23, 8, 23, 127, 2, 32)
}

/// numpy's `float64` (IEEE double), little-endian.
pub fn float64() -> Datatype {
    float(8, 52, 11, 52, 1023, 2, 64)
}

/// numpy's `float16` (IEEE half).
pub fn float16() -> Datatype {
    float(2, 10, 5, 10, 15, 2, 16)
}

/// numpy's `longdouble` on x86-64 (`<f16`): the x87 80-bit format in 16 bytes, as h5py
/// describes it (mantissa with its explicit integer bit, "no normalisation").
pub fn long_double() -> Datatype {
    float(16, 64, 15, 64, 16383, 0, 80)
}

/// numpy's `complex128` as h5py stores it: a compound of two little-endian doubles `r`, `i`.
pub fn complex128() -> Datatype {
    complex(float64())
}

/// numpy's `complex64`: a compound of two floats `r`, `i`.
pub fn complex64() -> Datatype {
    complex(float32())
}

/// h5py's `str` (`h5py.string_dtype()`): variable-length UTF-8 (for files with 8-byte
/// addresses, which every file we create has).
pub fn vlen_utf8() -> Datatype {
    Datatype::VarLenStr {
        size: 16,
        pad: StrPad::NullTerm,
        charset: Charset::Utf8,
    }
}

/// numpy's `S{n}`: fixed-length bytes, NUL-padded.
pub fn fixed_ascii(n: u32) -> Datatype {
    Datatype::String {
        size: n,
        pad: StrPad::NullPad,
        charset: Charset::Ascii,
    }
}

/// A packed compound of named members (numpy's `np.dtype([(name, type), ...])`, offsets
/// one after the other as h5py writes them).
pub fn compound(members: &[(&str, Datatype)]) -> Datatype {
    let mut offset = 0u64;
    let members = members
        .iter()
        .map(|(name, dtype)| {
            let m = h5_format::message::datatype::Member {
                name: name.to_string(),
                offset,
                dtype: dtype.clone(),
            };
            offset += dtype.size();
            m
        })
        .collect();
    Datatype::Compound {
        size: offset as u32,
        members,
    }
}

/// h5py's `ref_dtype`: an object reference (an 8-byte object header address).
pub fn object_ref() -> Datatype {
    Datatype::Reference {
        size: 8,
        kind: RefKind::Object,
    }
}

/// h5py's `regionref_dtype`: a dataset region reference (a 12-byte global heap ID of the
/// object's address and the serialized selection).
pub fn region_ref() -> Datatype {
    Datatype::Reference {
        size: 12,
        kind: RefKind::Region,
    }
}

/// h5py's `vlen_dtype(base)`: a variable-length sequence of `base`.
pub fn vlen(base: Datatype) -> Datatype {
    Datatype::VarLenSeq {
        size: 16,
        base: Box::new(base),
    }
}

fn complex(part: Datatype) -> Datatype {
    let n = part.size();
    Datatype::Compound {
        size: 2 * n as u32,
        members: vec![
            Member {
                name: "r".into(),
                offset: 0,
                dtype: part.clone(),
            },
            Member {
                name: "i".into(),
                offset: n,
                dtype: part,
            },
        ],
    }
}

/// A short human description of a datatype, for messages.
pub(crate) fn describe(dt: &Datatype) -> &'static str {
    match dt {
        Datatype::Integer { bitfield: true, .. } => "bitfield",
        Datatype::Integer { .. } => "integer",
        Datatype::Float { .. } => "float",
        Datatype::Time { .. } => "time",
        Datatype::String { .. } => "fixed-length string",
        Datatype::Opaque { .. } => "opaque",
        Datatype::Compound { .. } => "compound",
        Datatype::Reference { .. } => "reference",
        Datatype::Enum { .. } => "enum",
        Datatype::VarLenSeq { .. } => "variable-length sequence",
        Datatype::VarLenStr { .. } => "variable-length string",
        Datatype::Array { .. } => "array",
        Datatype::Complex { .. } => "complex",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_what_h5py_writes() {
        assert_eq!(complex64().size(), 8);
        assert!(matches!(
            long_double(),
            Datatype::Float {
                size: 16,
                precision: 80,
                sign_loc: 79,
                ..
            }
        ));
        assert!(matches!(float16(), Datatype::Float { sign_loc: 15, .. }));
    }
}

//! [`Value`]: any element of any datatype, decoded dynamically (compound, enum, strings,
//! vlen, arrays, references, opaque).

use super::convert::{decode_scalar, Scalar};
use crate::base::FileInner;
use crate::error::{Error, Result};
use h5_format::message::datatype::{Charset, Datatype, RefKind, StrPad};
use h5_format::reader::le_uint;
use std::collections::HashMap;

/// One element, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A signed integer (also enum values, which keep their name in [`Value::Enum`]).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// An integer wider than 64 bits.
    BigInt(i128),
    /// A float (exact for half, single and double; nearest double for wider types).
    Float(f64),
    /// A complex number.
    Complex(f64, f64),
    /// h5py's boolean (an enum of `FALSE`=0 and `TRUE`=1).
    Bool(bool),
    /// An enum member: its integer value and name (if the value is a member).
    Enum {
        /// Integer value.
        value: i64,
        /// Member name.
        name: Option<String>,
    },
    /// A string (fixed or variable length), decoded as UTF-8 with invalid bytes replaced.
    Str(String),
    /// Opaque bytes.
    Opaque(Vec<u8>),
    /// A compound: fields in stored order.
    Compound(Vec<(String, Value)>),
    /// An array element (row-major, dims in the datatype) or a vlen sequence.
    List(Vec<Value>),
    /// An object reference: the object header address, `None` when null.
    Ref(Option<u64>),
    /// A region reference: the object and the selection in it, `None` when null.
    RegionRef(Option<Region>),
}

/// What a region reference names: an object (a dataset's header address) and a selection of
/// its elements, as libhdf5 serializes it (h5py's `dset.regionref[...]`; make one with
/// [`crate::Dataset::region`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The object header address.
    pub object: u64,
    /// The selection; `None` for a revised (HDF5 1.12) region reference, whose encoded
    /// dataspace this reader does not decode.
    pub selection: Option<h5_format::selection::SelectionEncoding>,
}

/// Whether a datatype is h5py's bool: an 8-bit integer enum of exactly FALSE=0, TRUE=1.
pub fn is_bool(dt: &Datatype) -> bool {
    match dt {
        Datatype::Enum { base, members, .. } => {
            base.size() == 1
                && members.len() == 2
                && members[0].0 == "FALSE"
                && members[0].1 == [0]
                && members[1].0 == "TRUE"
                && members[1].1 == [1]
        }
        _ => false,
    }
}

/// Whether a compound is h5py's complex: two equal floats named `r` and `i`.
pub fn is_complex_compound(dt: &Datatype) -> bool {
    match dt {
        Datatype::Compound { size, members } => {
            members.len() == 2
                && members[0].name == "r"
                && members[1].name == "i"
                && matches!(members[0].dtype, Datatype::Float { .. })
                && members[0].dtype == members[1].dtype
                && members[0].offset == 0
                && members[1].offset == members[0].dtype.size()
                && *size as u64 == 2 * members[0].dtype.size()
        }
        _ => false,
    }
}

/// Decoding context: caches global heap collections for one batch of elements.
pub(crate) struct Decoder<'a> {
    f: &'a FileInner,
    collections: HashMap<u64, std::sync::Arc<crate::base::Collection>>,
    /// Memory the variable-length elements decoded so far take: many elements can name one
    /// large heap object, so the total (not each object) is held to `Limits::max_data_bytes`.
    spent: u64,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(f: &'a FileInner) -> Self {
        Decoder {
            f,
            collections: HashMap::new(),
            spent: 0,
        }
    }

    fn heap_object(&mut self, addr: u64, index: u32) -> Result<Vec<u8>> {
        let f = self.f;
        if !self.collections.contains_key(&addr) {
            let buf = f.collection(addr)?;
            if self.collections.len() > 64 {
                self.collections.clear();
            }
            self.collections.insert(addr, buf);
        }
        self.collections[&addr].object(f, index).map(<[u8]>::to_vec)
    }

    /// Decode one element of `dt` from `b` (exactly `dt.size()` bytes).
    pub(crate) fn decode(&mut self, dt: &Datatype, b: &[u8]) -> Result<Value> {
        Ok(match dt {
            Datatype::Integer { signed, .. } => match decode_scalar(dt, b) {
                Some(Scalar::Int(v)) => int_value(v, *signed),
                _ => Value::Int(0),
            },
            Datatype::Float { .. } => match decode_scalar(dt, b) {
                Some(Scalar::Float(v)) => Value::Float(v),
                _ => return Err(Error::Unsupported("VAX floating-point data".into())),
            },
            Datatype::Time { .. } => {
                return Err(Error::Unsupported("the time datatype class".into()))
            }
            Datatype::String { pad, .. } => Value::Str(fixed_string(b, *pad)),
            Datatype::Opaque { .. } => Value::Opaque(b.to_vec()),
            Datatype::Compound { members, .. } => {
                if is_complex_compound(dt) {
                    let n = members[0].dtype.size() as usize;
                    return Ok(Value::Complex(
                        self.float(&members[0].dtype, &b[..n])?,
                        self.float(&members[1].dtype, &b[n..2 * n])?,
                    ));
                }
                let mut out = Vec::with_capacity(members.len());
                for m in members {
                    let start = m.offset as usize;
                    let end = start + m.dtype.size() as usize;
                    out.push((m.name.clone(), self.decode(&m.dtype, &b[start..end])?));
                }
                Value::Compound(out)
            }
            Datatype::Complex { base, .. } => {
                let n = base.size() as usize;
                Value::Complex(self.float(base, &b[..n])?, self.float(base, &b[n..2 * n])?)
            }
            Datatype::Reference { kind, .. } => match kind {
                RefKind::Object => {
                    let a = le_uint(&b[..self.f.sizes.offset as usize]);
                    Value::Ref(if a == 0 || is_undef(a, self.f.sizes.offset) {
                        None
                    } else {
                        Some(a)
                    })
                }
                RefKind::Region => {
                    let o = self.f.sizes.offset as usize;
                    let coll = le_uint(&b[..o]);
                    let idx = le_uint(&b[o..o + 4]) as u32;
                    if coll == 0 || is_undef(coll, self.f.sizes.offset) {
                        Value::RegionRef(None)
                    } else {
                        let obj = self.heap_object(coll, idx)?;
                        if obj.len() < o {
                            return Err(h5_format::Error::new(
                                "region reference",
                                self.f.offset_of(coll),
                                h5_format::ErrorKind::Truncated,
                            )
                            .into());
                        }
                        let selection =
                            self.f.dec(h5_format::selection::SelectionEncoding::decode(
                                &mut h5_format::Reader::new(
                                    &obj[o..],
                                    coll,
                                    self.f.sizes,
                                    "region reference selection",
                                ),
                            ))?;
                        Value::RegionRef(Some(Region {
                            object: le_uint(&obj[..o]),
                            selection: Some(selection),
                        }))
                    }
                }
                RefKind::Object2 | RefKind::Region2 | RefKind::Attribute => self.revised_ref(b)?,
            },
            Datatype::Enum { base, members, .. } => {
                if is_bool(dt) {
                    return Ok(Value::Bool(b[0] != 0));
                }
                let v = match decode_scalar(base, b) {
                    Some(Scalar::Int(v)) => v as i64,
                    _ => 0,
                };
                let name = members
                    .iter()
                    .find(|(_, raw)| raw.as_slice() == b)
                    .map(|(n, _)| n.clone());
                Value::Enum { value: v, name }
            }
            Datatype::VarLenStr { pad, .. } => {
                let bytes = self.vlen_bytes(b, 1, false)?;
                Value::Str(vlen_string(&bytes, *pad))
            }
            Datatype::VarLenSeq { base, .. } => {
                let esize = base.size() as usize;
                let bytes = self.vlen_bytes(b, esize, true)?;
                let mut out = Vec::with_capacity(bytes.len() / esize.max(1));
                if esize > 0 {
                    for e in bytes.chunks_exact(esize) {
                        out.push(self.decode(base, e)?);
                    }
                }
                Value::List(out)
            }
            Datatype::Array { base, .. } => {
                let esize = base.size() as usize;
                let mut out = Vec::new();
                if esize > 0 {
                    for e in b.chunks_exact(esize) {
                        out.push(self.decode(base, e)?);
                    }
                }
                Value::List(out)
            }
        })
    }

    /// A revised (HDF5 1.12) reference: type, flags, then for objects the token (the object
    /// header address) inline, and for regions and attributes a u32 size and a global heap ID
    /// of a blob that starts with the token. The value is the referenced object.
    fn revised_ref(&mut self, b: &[u8]) -> Result<Value> {
        let bad = |what: &str| Error::Conversion(format!("malformed revised reference: {what}"));
        let (kind, flags) = (b[0], b.get(1).copied().unwrap_or(0));
        if b.iter().all(|&x| x == 0) {
            return Ok(Value::Ref(None));
        }
        if flags & 1 != 0 {
            return Err(Error::Unsupported(
                "references to objects in other files".into(),
            ));
        }
        let token = |t: &[u8]| -> Result<u64> {
            let n = *t.first().ok_or_else(|| bad("reference token"))? as usize;
            let tok = t
                .get(1..1 + n)
                .filter(|_| n <= 8)
                .ok_or_else(|| bad("reference token size"))?;
            Ok(le_uint(tok))
        };
        match kind {
            2 => Ok(Value::Ref(Some(token(b.get(2..).unwrap_or(&[]))?))),
            3 | 4 => {
                let o = self.f.sizes.offset as usize;
                let id = b.get(6..10 + o).ok_or_else(|| bad("reference heap ID"))?;
                let blob = self.heap_object(le_uint(&id[..o]), le_uint(&id[o..]) as u32)?;
                let addr = token(&blob)?;
                Ok(if kind == 3 {
                    Value::RegionRef(Some(Region {
                        object: addr,
                        selection: None,
                    }))
                } else {
                    Value::Ref(Some(addr))
                })
            }
            _ => Err(bad("reference type")),
        }
    }

    fn float(&mut self, dt: &Datatype, b: &[u8]) -> Result<f64> {
        match decode_scalar(dt, b) {
            Some(Scalar::Float(v)) => Ok(v),
            Some(Scalar::Int(v)) => Ok(v as f64),
            None => Err(Error::Unsupported("VAX floating-point data".into())),
        }
    }

    /// The bytes of a vlen element: u32 count, then a global heap ID.
    fn vlen_bytes(&mut self, b: &[u8], esize: usize, as_values: bool) -> Result<Vec<u8>> {
        let o = self.f.sizes.offset as usize;
        let count = le_uint(&b[..4]) as usize;
        let coll = le_uint(&b[4..4 + o]);
        let idx = le_uint(&b[4 + o..8 + o]) as u32;
        if count == 0 || coll == 0 || is_undef(coll, self.f.sizes.offset) {
            return Ok(Vec::new());
        }
        let obj = self.heap_object(coll, idx)?;
        let need = count
            .checked_mul(esize)
            .filter(|&n| n <= obj.len())
            .ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "global heap object",
                    self.f.offset_of(coll),
                    "variable-length element larger than its heap object",
                ))
            })?;
        // a sequence element becomes a Value each; a string its bytes
        let cost = if as_values {
            (count as u64).saturating_mul(std::mem::size_of::<Value>() as u64)
        } else {
            need as u64
        };
        self.spent = self.spent.saturating_add(cost);
        if self.spent > self.f.limits.max_data_bytes {
            return Err(Error::Unsupported(format!(
                "variable-length data past the limit of {} bytes (Limits::max_data_bytes): \
                 read a selection",
                self.f.limits.max_data_bytes
            )));
        }
        let mut obj = obj;
        obj.truncate(need);
        Ok(obj)
    }
}

fn is_undef(a: u64, width: u8) -> bool {
    width >= 8 && a == u64::MAX || width < 8 && a == (1u64 << (8 * width)) - 1
}

fn int_value(v: i128, signed: bool) -> Value {
    if signed {
        i64::try_from(v).map(Value::Int).unwrap_or(Value::BigInt(v))
    } else {
        u64::try_from(v)
            .map(Value::UInt)
            .unwrap_or(Value::BigInt(v))
    }
}

/// A fixed-length string as libhdf5 hands it to numpy: NUL-terminated and NUL-padded strings
/// end at the first NUL; space-padded strings lose their trailing spaces.
fn fixed_string(b: &[u8], pad: StrPad) -> String {
    let s = match pad {
        StrPad::NullTerm | StrPad::NullPad => {
            &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
        }
        StrPad::SpacePad => {
            let end = b.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
            let s = &b[..end];
            &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
        }
    };
    String::from_utf8_lossy(s).into_owned()
}

fn vlen_string(b: &[u8], _pad: StrPad) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The character set of a string type, if it is one.
pub fn charset(dt: &Datatype) -> Option<Charset> {
    match dt {
        Datatype::String { charset, .. } | Datatype::VarLenStr { charset, .. } => Some(*charset),
        _ => None,
    }
}

/// Decode every element in `data`.
pub(crate) fn decode_all(f: &FileInner, dt: &Datatype, data: &[u8]) -> Result<Vec<Value>> {
    let size = dt.size() as usize;
    if size == 0 {
        return Ok(Vec::new());
    }
    // a 1-byte element becomes a 32-byte Value: the limit applies to the values too
    let mut out = f.limits.vec_for(data.len() / size, "values")?;
    let mut d = Decoder::new(f);
    for c in data.chunks_exact(size) {
        out.push(d.decode(dt, c)?);
    }
    Ok(out)
}

impl Value {
    /// A compound's field by name.
    ///
    /// # Errors
    /// A value that is not a compound, or has no such field.
    pub fn field(&self, name: &str) -> Result<&Value> {
        match self {
            Value::Compound(fields) => fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| Error::Conversion(format!("compound has no field {name:?}"))),
            other => Err(Error::Conversion(format!(
                "{} is not a compound",
                other.kind()
            ))),
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Complex(..) => "a complex number",
            Value::Bool(_) => "a bool",
            Value::Enum { .. } => "an enum value",
            Value::Str(_) => "a string",
            Value::Opaque(_) => "opaque bytes",
            Value::Compound(_) => "a compound",
            Value::List(_) => "a list",
            Value::Ref(_) => "an object reference",
            Value::RegionRef(_) => "a region reference",
        }
    }

    /// The value as a number, if it is one (integers, floats, enums, bools).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            Value::BigInt(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            Value::Enum { value, .. } => Some(*value as f64),
            Value::Bool(b) => Some(*b as u8 as f64),
            _ => None,
        }
    }

    pub(crate) fn as_scalar(&self) -> Option<Scalar> {
        match self {
            Value::Int(i) => Some(Scalar::Int(*i as i128)),
            Value::UInt(u) => Some(Scalar::Int(*u as i128)),
            Value::BigInt(i) => Some(Scalar::Int(*i)),
            Value::Float(x) => Some(Scalar::Float(*x)),
            Value::Enum { value, .. } => Some(Scalar::Int(*value as i128)),
            Value::Bool(b) => Some(Scalar::Int(*b as i128)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn h5py_complex_types_are_complex_compounds() {
        assert!(super::is_complex_compound(&crate::read::types::complex128()));
        assert!(super::is_complex_compound(&crate::read::types::complex64()));
    }
}

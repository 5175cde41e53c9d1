//! [`H5Type`]: the one trait for every Rust type an element of a dataset or attribute can be
//! read into and written from — numbers, `bool`, half floats, complex numbers, strings (fixed
//! and variable length), fixed-size arrays, variable-length sequences, enums and structs.

pub(crate) use super::convert::is_number;
use super::convert::{convert_into, native_into, Scalar};
pub use super::fixed::{put, FieldPlan, Fixed, PlanFn};
use super::value::Value;
use crate::base::FileInner;
use crate::error::{Error, Result};
use h5_format::message::datatype::{ByteOrder, Charset, Datatype, StrPad};

/// A Rust type that elements of a dataset or attribute can be read into and written from.
///
/// Implemented for the integers, `f32`, `f64`, [`half::f16`], `bool` (h5py's bool enum),
/// [`num_complex::Complex`] of `f32`/`f64` (h5py's complex compounds), `String`
/// (variable-length UTF-8), [`FixedAscii`] and [`FixedUtf8`] (fixed-length strings),
/// `[T; N]` (an HDF5 array type), `Vec<T>` (a variable-length sequence), and — through
/// `#[derive(h5::H5Type)]` — structs with named fields (compounds whose members are the fields)
/// and fieldless enums with a `#[repr]` integer type (HDF5 enums).
///
/// Reading converts from whatever the file stores as libhdf5 converts: numbers between any
/// integer and float layouts, compound members by name, enum members by name.
///
/// ```
/// #[derive(h5::H5Type, Debug, PartialEq)]
/// struct Particle { id: i32, mass: f64, name: String }
///
/// #[derive(h5::H5Type, Debug, PartialEq)]
/// #[repr(u8)]
/// enum Phase { Solid, Liquid, Gas = 7 }
/// # use h5::H5Type;
/// assert_eq!(Particle::datatype().size(), 4 + 8 + 16);
/// assert_eq!(Phase::datatype().size(), 1);
/// ```
pub trait H5Type: Sized + Send + Sync + 'static {
    /// The HDF5 type values of this type are stored as: what h5py creates for the matching
    /// numpy dtype (little-endian).
    fn datatype() -> Datatype;
    /// One element as a dynamic [`Value`].
    fn to_value(&self) -> Value;
    /// One element from a dynamic [`Value`].
    ///
    /// # Errors
    /// A value of another kind (a string for a number, a list of the wrong length, a
    /// compound without one of the fields).
    fn from_value(v: &Value) -> Result<Self>;
    /// Numbers convert through [`Scalar`] without a [`Value`] per element.
    #[doc(hidden)]
    fn numeric() -> Option<Numeric<Self>> {
        None
    }
    /// Types whose memory is exactly [`datatype`](Self::datatype)'s bytes (numbers, complex):
    /// when the file stores that type, bytes move with no conversion.
    #[doc(hidden)]
    fn plain() -> Option<Plain<Self>> {
        None
    }
    /// Types of a fixed stored size (numbers, fixed strings, enums, arrays and compounds of
    /// them) decode and encode straight from their bytes, without a [`Value`] per element.
    #[doc(hidden)]
    fn fixed() -> Option<Fixed<Self>> {
        None
    }
    /// One element from its stored bytes under a plan of [`fixed`](Self::fixed), called
    /// directly (compounds and arrays decode their parts through it, so each part's code
    /// inlines into theirs). The default calls `fixed()`'s `decode`: a type whose `fixed()`
    /// names this method must override it.
    #[doc(hidden)]
    #[inline]
    fn decode_fixed(plan: &FieldPlan, b: &[u8]) -> Result<Self> {
        let fx = Self::fixed().ok_or_else(super::fixed::no_fixed::<Self>)?;
        (fx.decode)(plan, b)
    }
    /// One element into its stored bytes under a plan of [`fixed`](Self::fixed), called
    /// directly. The default calls `fixed()`'s `encode`: a type whose `fixed()` names this
    /// method must override it.
    #[doc(hidden)]
    #[inline]
    fn encode_fixed(plan: &FieldPlan, x: &Self, b: &mut [u8]) -> Result<()> {
        let fx = Self::fixed().ok_or_else(super::fixed::no_fixed::<Self>)?;
        (fx.encode)(plan, x, b)
    }
}

/// The plan of a type stored exactly as `T::datatype()`.
#[doc(hidden)]
pub fn when_equal<T: H5Type>(dt: &Datatype) -> Option<FieldPlan> {
    (*dt == T::datatype()).then(FieldPlan::default)
}

/// `T`'s field plan (from its [`Fixed`]) for elements stored as `dt`, when it has one; the
/// elements then go through `T::decode_fixed` / `encode_fixed`, called directly.
pub(crate) fn field_plan_for<T: H5Type>(dt: &Datatype) -> Option<FieldPlan> {
    (T::fixed()?.plan)(dt)
}

/// A type whose values are their stored bytes on this (little-endian) machine: reads and
/// writes of such elements copy bytes, with no conversion, when the file's type is equal.
#[doc(hidden)]
#[derive(Debug)]
pub struct Plain<T> {
    /// `n` zeros, or `None` when the system refuses the memory.
    pub zeroed: fn(usize) -> Option<Vec<T>>,
    /// The values' bytes.
    pub bytes: fn(&[T]) -> &[u8],
    /// The values' bytes, to fill in place.
    pub bytes_mut: fn(&mut [T]) -> &mut [u8],
}

/// How `T` moves as bytes when the stored type `dt` is exactly `T`'s; `None` otherwise.
pub(crate) fn plain_for<T: H5Type>(dt: &Datatype) -> Option<Plain<T>> {
    T::plain().filter(|_| *dt == T::datatype())
}

impl<T> Clone for Plain<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Plain<T> {}

/// [`Fixed`] for a type stored as its own little-endian bytes (a `bytemuck::Pod` type).
macro_rules! fixed_pod {
    () => {
        #[inline]
        fn fixed() -> Option<Fixed<Self>> {
            cfg!(target_endian = "little").then_some(Fixed {
                plan: when_equal::<Self>,
                decode: Self::decode_fixed,
                encode: Self::encode_fixed,
            })
        }
        #[inline]
        fn decode_fixed(_: &FieldPlan, b: &[u8]) -> Result<Self> {
            bytemuck::try_pod_read_unaligned(b)
                .map_err(|e| Error::Conversion(format!("an element of {} bytes: {e:?}", b.len())))
        }
        #[inline]
        fn encode_fixed(_: &FieldPlan, x: &Self, b: &mut [u8]) -> Result<()> {
            let src = bytemuck::bytes_of(x);
            if b.len() != src.len() {
                return put(src, b);
            }
            // a copy of a length known here: no call per field
            b.copy_from_slice(src);
            Ok(())
        }
    };
}

/// [`Plain`] for a `bytemuck::Pod` type (a macro: the trait's methods are fn pointers).
macro_rules! plain {
    () => {
        fn plain() -> Option<Plain<Self>> {
            cfg!(target_endian = "little").then_some(Plain {
                zeroed: crate::base::zeroed_vec::<Self>,
                bytes: bytemuck::cast_slice,
                bytes_mut: bytemuck::cast_slice_mut,
            })
        }
    };
}

/// How a numeric type converts to and from a decoded number.
#[doc(hidden)]
#[derive(Debug)]
pub struct Numeric<T> {
    /// From a decoded number, with libhdf5's rules (clipping, truncation toward zero).
    pub from_scalar: fn(Scalar) -> T,
    /// To a number.
    pub to_scalar: fn(&T) -> Scalar,
    /// Numbers stored in numpy's own layouts, converted as `from_scalar` converts them in a
    /// loop of their own, onto the vector; false when the layout is another.
    pub from_native: super::convert::NativeFn<T>,
}

impl<T> Clone for Numeric<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Numeric<T> {}

pub(crate) fn int_type(size: u32, signed: bool) -> Datatype {
    Datatype::Integer {
        size,
        order: ByteOrder::Little,
        signed,
        bit_offset: 0,
        precision: (size * 8) as u16,
        bitfield: false,
    }
}

fn not_a(kind: &str, v: &Value) -> Error {
    Error::Conversion(format!("{} is not {kind}", v.kind()))
}

fn number<T>(v: &Value, from: fn(Scalar) -> T) -> Result<T> {
    v.as_scalar().map(from).ok_or_else(|| not_a("a number", v))
}

macro_rules! int_type {
    ($($t:ty => $v:ident as $c:ty),*) => {$(
        impl H5Type for $t {
            fn datatype() -> Datatype {
                int_type(std::mem::size_of::<$t>() as u32, <$t>::MIN != 0)
            }
            fn to_value(&self) -> Value {
                Value::$v(*self as $c)
            }
            fn from_value(v: &Value) -> Result<Self> {
                number(v, |s| match s {
                    Scalar::Int(v) => v.clamp(<$t>::MIN as i128, <$t>::MAX as i128) as $t,
                    // `as` truncates toward zero, saturates, and maps NaN to 0.
                    Scalar::Float(v) => v as $t,
                })
            }
            fn numeric() -> Option<Numeric<Self>> {
                Some(Numeric {
                    from_scalar: |s| match s {
                        Scalar::Int(v) => v.clamp(<$t>::MIN as i128, <$t>::MAX as i128) as $t,
                        Scalar::Float(v) => v as $t,
                    },
                    to_scalar: |x| Scalar::Int(*x as i128),
                    from_native: |dt, data, out| native_into(dt, data, out,
                        |v| v.clamp(<$t>::MIN as i128, <$t>::MAX as i128) as $t,
                        |v| v as $t),
                })
            }
            plain!();
            fixed_pod!();
        }
    )*};
}
int_type!(i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    isize => Int as i64, u8 => UInt as u64, u16 => UInt as u64, u32 => UInt as u64,
    u64 => UInt as u64, usize => UInt as u64);

macro_rules! float_type {
    ($($t:ty => $dt:path, $from:expr, $to:expr);*) => {$(
        impl H5Type for $t {
            fn datatype() -> Datatype {
                $dt()
            }
            fn to_value(&self) -> Value {
                Value::Float($to(*self))
            }
            fn from_value(v: &Value) -> Result<Self> {
                number(v, |s| $from(match s {
                    Scalar::Int(v) => v as f64,
                    Scalar::Float(v) => v,
                }))
            }
            fn numeric() -> Option<Numeric<Self>> {
                Some(Numeric {
                    from_scalar: |s| match s {
                        // (an i128 straight to f32 rounds once, not twice)
                        Scalar::Int(v) => $from(v as f64),
                        Scalar::Float(v) => $from(v),
                    },
                    to_scalar: |x| Scalar::Float($to(*x)),
                    from_native: |dt, data, out| native_into(dt, data, out,
                        |v| $from(v as f64), $from),
                })
            }
            plain!();
            fixed_pod!();
        }
    )*};
}
float_type!(
    f64 => super::types::float64, |x: f64| x, |x: f64| x;
    f32 => super::types::float32, |x: f64| x as f32, |x: f32| x as f64;
    half::f16 => super::types::float16, half::f16::from_f64, half::f16::to_f64
);

impl H5Type for bool {
    /// h5py's bool: an enum of an 8-bit integer with FALSE = 0 and TRUE = 1.
    fn datatype() -> Datatype {
        Datatype::Enum {
            size: 1,
            base: Box::new(int_type(1, true)),
            members: vec![("FALSE".into(), vec![0]), ("TRUE".into(), vec![1])],
        }
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: &Value) -> Result<Self> {
        number(v, |s| match s {
            Scalar::Int(v) => v != 0,
            Scalar::Float(v) => v != 0.0,
        })
    }
    fn numeric() -> Option<Numeric<Self>> {
        Some(Numeric {
            from_scalar: |s| match s {
                Scalar::Int(v) => v != 0,
                Scalar::Float(v) => v != 0.0,
            },
            to_scalar: |x| Scalar::Int(*x as i128),
            from_native: |dt, data, out| native_into(dt, data, out, |v| v != 0, |v| v != 0.0),
        })
    }
    #[inline]
    fn fixed() -> Option<Fixed<Self>> {
        Some(Fixed {
            plan: when_equal::<Self>,
            decode: Self::decode_fixed,
            encode: Self::encode_fixed,
        })
    }
    #[inline]
    fn decode_fixed(_: &FieldPlan, b: &[u8]) -> Result<Self> {
        Ok(b.first().is_some_and(|&x| x != 0))
    }
    #[inline]
    fn encode_fixed(_: &FieldPlan, x: &Self, b: &mut [u8]) -> Result<()> {
        put(&[*x as u8], b)
    }
}

macro_rules! complex_type {
    ($($t:ty => $dt:path);*) => {$(
        /// h5py's complex: a compound of `r` and `i`.
        impl H5Type for num_complex::Complex<$t> {
            fn datatype() -> Datatype {
                $dt()
            }
            fn to_value(&self) -> Value {
                Value::Complex(self.re as f64, self.im as f64)
            }
            fn from_value(v: &Value) -> Result<Self> {
                match v {
                    Value::Complex(re, im) => Ok(Self::new(*re as $t, *im as $t)),
                    v => Ok(Self::new(<$t>::from_value(v)?, 0.0)),
                }
            }
            plain!();
            fixed_pod!();
        }
    )*};
}
complex_type!(f32 => super::types::complex64; f64 => super::types::complex128);

/// Text of a string value (a string, or an enum member's name).
fn text(v: &Value) -> Result<&str> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Enum { name: Some(n), .. } => Ok(n),
        other => Err(not_a("a string", other)),
    }
}

/// Variable-length UTF-8, h5py's `str`.
impl H5Type for String {
    fn datatype() -> Datatype {
        super::types::vlen_utf8()
    }
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
    fn from_value(v: &Value) -> Result<Self> {
        text(v).map(str::to_string)
    }
}

/// Where the first NUL of `b` is (`N` when none is) and whether every byte of `b` is ASCII:
/// eight bytes at a time, without a branch per byte (a fixed string's decode is this and a
/// mask).
#[inline(always)]
fn nul_and_ascii<const N: usize>(b: &[u8; N]) -> (usize, bool) {
    const LOW: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let (mut len, mut seen) = (N, 0u64);
    let words = b.chunks_exact(8);
    let rest = words.remainder();
    for (k, w) in words.enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let v = u64::from_le_bytes(word);
        seen |= v;
        // the lowest high bit set marks the first zero byte (a borrow only runs upward
        // from a zero byte, so no byte below the first zero is marked)
        let zero = v.wrapping_sub(LOW) & !v & HIGH;
        if zero != 0 && len == N {
            len = k * 8 + (zero.trailing_zeros() / 8) as usize;
        }
    }
    for (k, &c) in rest.iter().enumerate() {
        seen |= u64::from(c);
        if c == 0 && len == N {
            len = N - rest.len() + k;
        }
    }
    (len, seen & HIGH == 0)
}

/// Whether every byte of `b` from `len` on is zero (as NUL padding leaves them): eight
/// bytes at a time.
#[inline(always)]
fn zero_from<const N: usize>(b: &[u8; N], len: usize) -> bool {
    let mut seen = 0u64;
    let words = b.chunks_exact(8);
    let at = N - words.remainder().len();
    for (i, &c) in words.remainder().iter().enumerate() {
        if at + i >= len {
            seen |= u64::from(c);
        }
    }
    for (k, w) in words.enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        // the bytes of this word below `len`: all, none or the low `kept` of them
        let kept = len.saturating_sub(k * 8).min(8) as u32;
        let below = u64::MAX.checked_shr(64 - 8 * kept).unwrap_or(0);
        seen |= u64::from_le_bytes(word) & !below;
    }
    seen == 0
}

/// `b` with its bytes from `len` on zeros (stored bytes after a NUL that are not zeros:
/// rare, so out of line).
#[cold]
#[inline(never)]
fn zeros_from<const N: usize>(b: &[u8; N], len: usize) -> [u8; N] {
    std::array::from_fn(|i| if i < len { b[i] } else { 0 })
}

macro_rules! fixed_string {
    ($($name:ident, $charset:ident, $what:literal, $check:expr);*) => {$(
        #[doc = concat!("A fixed-length ", $what, " string of at most `N` bytes, stored ",
            "NUL-padded in `N` bytes (numpy's `S{N}` for ASCII). It holds its bytes inline, ",
            "as the file does: no allocation per element.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name<const N: usize> {
            /// The text's bytes, then zeros.
            bytes: [u8; N],
            /// The text's length (at most `N`; a `u32`, so a struct of a fixed string and
            /// numbers packs as tightly as the file's element).
            len: u32,
        }

        impl<const N: usize> $name<N> {
            #[doc = concat!("A string of at most `N` bytes of ", $what, ".")]
            ///
            /// # Errors
            /// A longer string, or one with other characters.
            pub fn new(s: &str) -> Result<Self> {
                if s.len() > N || s.len() > u32::MAX as usize || !$check(s) {
                    return Err(Error::Conversion(format!(
                        concat!("{:?} is not ", $what, " of at most {} bytes"), s, N
                    )));
                }
                let mut bytes = [0u8; N];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Ok(Self { bytes, len: s.len() as u32 })
            }
            /// Stored bytes that are not `N` bytes of ASCII, as the general path reads them:
            /// up to the first NUL, lossy UTF-8 (out of line: the loops stay small).
            #[cold]
            #[inline(never)]
            fn decode_text(b: &[u8]) -> Result<Self> {
                let t = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
                match std::str::from_utf8(t) {
                    Ok(s) => Self::new(s),
                    Err(_) => Self::new(&String::from_utf8_lossy(t)),
                }
            }
            /// The text.
            pub fn as_str(&self) -> &str {
                // `new` took the bytes from a `str`, so they are UTF-8
                std::str::from_utf8(self.bytes.get(..self.len as usize).unwrap_or_default())
                    .unwrap_or_default()
            }
        }

        impl<const N: usize> Default for $name<N> {
            fn default() -> Self {
                Self { bytes: [0; N], len: 0 }
            }
        }

        impl<const N: usize> std::fmt::Debug for $name<N> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.as_str()).finish()
            }
        }

        impl<const N: usize> PartialOrd for $name<N> {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl<const N: usize> Ord for $name<N> {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl<const N: usize> std::ops::Deref for $name<N> {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl<const N: usize> H5Type for $name<N> {
            fn datatype() -> Datatype {
                Datatype::String {
                    size: N as u32,
                    pad: StrPad::NullPad,
                    charset: Charset::$charset,
                }
            }
            fn to_value(&self) -> Value {
                Value::Str(self.as_str().to_string())
            }
            fn from_value(v: &Value) -> Result<Self> {
                Self::new(text(v)?)
            }
            #[inline]
            fn fixed() -> Option<Fixed<Self>> {
                Some(Fixed {
                    plan: when_equal::<Self>,
                    decode: Self::decode_fixed,
                    encode: Self::encode_fixed,
                })
            }
            /// As the general path reads it: up to the first NUL, lossy UTF-8.
            #[inline]
            fn decode_fixed(_: &FieldPlan, b: &[u8]) -> Result<Self> {
                if let Ok(stored) = <&[u8; N]>::try_from(b) {
                    // the text is up to the first NUL; the bytes after it become zeros
                    let (len, ascii) = nul_and_ascii(stored);
                    if ascii && len <= u32::MAX as usize {
                        // ASCII is UTF-8 and passes either check
                        // the bytes after the text are zeros, most often already (a copy)
                        let bytes = if zero_from(stored, len) {
                            *stored
                        } else {
                            zeros_from(stored, len)
                        };
                        return Ok(Self { bytes, len: len as u32 });
                    }
                }
                Self::decode_text(b)
            }
            #[inline]
            fn encode_fixed(_: &FieldPlan, x: &Self, b: &mut [u8]) -> Result<()> {
                put(&x.bytes, b)
            }
        }
    )*};
}
fixed_string!(
    FixedAscii, Ascii, "ASCII", |s: &str| s.is_ascii();
    FixedUtf8, Utf8, "UTF-8", |_: &str| true
);

/// A variable-length sequence of `T` (h5py's `vlen_dtype(T)`).
impl<T: H5Type> H5Type for Vec<T> {
    fn datatype() -> Datatype {
        super::types::vlen(T::datatype())
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(T::to_value).collect())
    }
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::List(items) => items.iter().map(T::from_value).collect(),
            Value::Opaque(b) => b
                .iter()
                .map(|&x| T::from_value(&Value::UInt(x as u64)))
                .collect(),
            other => Err(not_a("a list", other)),
        }
    }
}

/// An HDF5 array type of `N` elements of `T` (numpy's subarray dtype `(T, (N,))`); nest
/// them for more dimensions.
impl<T: H5Type, const N: usize> H5Type for [T; N] {
    fn datatype() -> Datatype {
        match T::datatype() {
            // [[T; M]; N] is one array type of dims [N, M], as numpy makes it
            Datatype::Array { base, mut dims } => {
                dims.insert(0, N as u32);
                Datatype::Array { base, dims }
            }
            base => Datatype::Array {
                base: Box::new(base),
                dims: vec![N as u32],
            },
        }
    }
    fn to_value(&self) -> Value {
        let items: Vec<Value> = self.iter().map(T::to_value).collect();
        // a nested array is one flat list in row-major order, as arrays decode
        if items.iter().all(|v| matches!(v, Value::List(_)))
            && matches!(T::datatype(), Datatype::Array { .. })
        {
            return Value::List(
                items
                    .into_iter()
                    .flat_map(|v| match v {
                        Value::List(l) => l,
                        v => vec![v],
                    })
                    .collect(),
            );
        }
        Value::List(items)
    }
    fn from_value(v: &Value) -> Result<Self> {
        let Value::List(items) = v else {
            return Err(not_a("an array", v));
        };
        let parts: Vec<T> = match T::datatype() {
            Datatype::Array { dims, .. } if N > 0 => {
                // the flat list splits into N equal runs, one per inner array
                let inner = dims.iter().map(|&d| d as usize).product::<usize>();
                if items.len() != inner * N {
                    return Err(Error::Conversion(format!(
                        "an array of {} elements is not [_; {N}] of {inner}",
                        items.len()
                    )));
                }
                items
                    .chunks(inner.max(1))
                    .map(|c| T::from_value(&Value::List(c.to_vec())))
                    .collect::<Result<_>>()?
            }
            _ => items.iter().map(T::from_value).collect::<Result<_>>()?,
        };
        let n = parts.len();
        parts
            .try_into()
            .map_err(|_| Error::Conversion(format!("an array of {n} elements is not [_; {N}]")))
    }
    #[inline]
    fn fixed() -> Option<Fixed<Self>> {
        T::fixed()?;
        Some(Fixed {
            plan: |dt| {
                if *dt != Self::datatype() {
                    return None;
                }
                let base = T::datatype();
                let es = usize::try_from(base.size()).ok()?;
                let one = (T::fixed()?.plan)(&base)?;
                Some(FieldPlan {
                    parts: (0..N).map(|i| (i * es, es, one.clone())).collect(),
                })
            },
            decode: Self::decode_fixed,
            encode: Self::encode_fixed,
        })
    }
    #[inline]
    fn decode_fixed(plan: &FieldPlan, b: &[u8]) -> Result<Self> {
        let v: Vec<T> = (0..N)
            .map(|i| plan.decode(i, b, T::decode_fixed))
            .collect::<Result<_>>()?;
        v.try_into()
            .map_err(|_| Error::Conversion(format!("an array that is not [_; {N}]")))
    }
    #[inline]
    fn encode_fixed(plan: &FieldPlan, x: &Self, b: &mut [u8]) -> Result<()> {
        x.iter()
            .enumerate()
            .try_for_each(|(i, e)| plan.encode(i, e, b, T::encode_fixed))
    }
}

/// Decode stored elements of `dt` into `T`: numbers straight from their bytes, types of a
/// fixed size through their [`Fixed`] plan, everything else through [`Value`].
pub(crate) fn decode_elements<T: H5Type>(
    f: &FileInner,
    dt: &Datatype,
    data: &[u8],
) -> Result<Vec<T>> {
    let n = data.len() / (dt.size() as usize).max(1);
    let mut out = f.limits.vec_for(n, "elements")?;
    crate::storage::huge_pages(out.spare_capacity_mut());
    decode_into(f, dt, data, &mut out)?;
    Ok(out)
}

/// [`decode_elements`] onto the end of `out`.
pub(crate) fn decode_into<T: H5Type>(
    f: &FileInner,
    dt: &Datatype,
    data: &[u8],
    out: &mut Vec<T>,
) -> Result<()> {
    if let Some(n) = T::numeric().filter(|_| is_number(dt)) {
        return convert_into(dt, data, (n.from_scalar, n.from_native), out);
    }
    if let Some(plan) = field_plan_for::<T>(dt) {
        return super::fixed::decode_all(
            #[inline(always)]
            |p, b| T::decode_fixed(p, b),
            &plan,
            dt.size() as usize,
            data,
            out,
        );
    }
    for v in super::value::decode_all(f, dt, data)? {
        out.push(T::from_value(&v)?);
    }
    Ok(())
}

/// Read and write a struct as a compound whose members are its fields, by name: implements
/// [`H5Type`] (members in field order, packed, as numpy lays out `np.dtype([...])`). What
/// `#[derive(h5::H5Type)]` expands to for a struct.
///
/// ```
/// struct Particle { id: i32, mass: f64, name: String }
/// h5::compound!(Particle { id, mass, name });
/// ```
#[macro_export]
macro_rules! compound {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::H5Type for $ty {
            fn datatype() -> $crate::Datatype {
                fn member_type<T: $crate::H5Type>(_: fn(&$ty) -> &T) -> $crate::Datatype {
                    T::datatype()
                }
                $crate::types::compound(&[
                    $((stringify!($field), member_type(|x: &$ty| &x.$field))),*
                ])
            }
            fn to_value(&self) -> $crate::Value {
                $crate::Value::Compound(vec![
                    $((stringify!($field).to_string(), $crate::H5Type::to_value(&self.$field))),*
                ])
            }
            fn from_value(v: &$crate::Value) -> $crate::Result<Self> {
                Ok($ty { $($field: $crate::H5Type::from_value(v.field(stringify!($field))?)?),* })
            }
            #[inline]
            fn fixed() -> Option<$crate::Fixed<Self>> {
                fn fx<T: $crate::H5Type>(_: fn(&$ty) -> &T) -> Option<$crate::Fixed<T>> {
                    T::fixed()
                }
                fn plan<T: $crate::H5Type>(
                    _: fn(&$ty) -> &T,
                ) -> $crate::PlanFn {
                    |dt| (T::fixed()?.plan)(dt)
                }
                $(fx(|x: &$ty| &x.$field)?;)*
                Some($crate::Fixed {
                    plan: |dt| $crate::FieldPlan::compound(dt, &[
                        $((stringify!($field), plan(|x: &$ty| &x.$field))),*
                    ]),
                    decode: Self::decode_fixed,
                    encode: Self::encode_fixed,
                })
            }
            // always inlined: a struct returned from a call is stored field by field and
            // loaded whole by the caller, a store-forwarding stall per element
            #[inline(always)]
            fn decode_fixed(p: &$crate::FieldPlan, b: &[u8]) -> $crate::Result<Self> {
                // each field's own decode, called directly: one function per struct
                fn dec<T: $crate::H5Type>(
                    _: fn(&$ty) -> &T,
                    p: &$crate::FieldPlan,
                    i: usize,
                    b: &[u8],
                ) -> $crate::Result<T> {
                    p.decode(i, b, T::decode_fixed)
                }
                let mut part = 0usize..;
                Ok($ty { $($field: dec(
                    |x: &$ty| &x.$field, p, part.next().unwrap_or_default(), b)?),* })
            }
            #[inline(always)]
            fn encode_fixed(
                p: &$crate::FieldPlan,
                x: &Self,
                b: &mut [u8],
            ) -> $crate::Result<()> {
                let mut part = 0usize..;
                $(p.encode(part.next().unwrap_or_default(), &x.$field, b,
                    $crate::H5Type::encode_fixed)?;)*
                Ok(())
            }
        }
        $crate::__scalar_elements!($ty);
    };
}

/// Read and write a fieldless enum as an HDF5 enum of its `#[repr]` integer type: members
/// named as the variants, with their discriminants. What `#[derive(h5::H5Type)]` expands to
/// for an enum. Reading matches members by name (as libhdf5 converts enums), then by value.
///
/// ```
/// #[repr(i16)]
/// enum Phase { Solid, Liquid, Gas = 7 }
/// h5::h5_enum!(Phase: i16 { Solid, Liquid, Gas });
/// ```
#[macro_export]
macro_rules! h5_enum {
    ($ty:ident : $repr:ident { $($variant:ident),* $(,)? }) => {
        impl $crate::H5Type for $ty {
            fn datatype() -> $crate::Datatype {
                $crate::Datatype::Enum {
                    size: ::core::mem::size_of::<$repr>() as u32,
                    base: Box::new(<$repr as $crate::H5Type>::datatype()),
                    members: vec![
                        $((stringify!($variant).to_string(),
                           ($ty::$variant as $repr).to_le_bytes().to_vec())),*
                    ],
                }
            }
            fn to_value(&self) -> $crate::Value {
                let (value, name) = match self {
                    $($ty::$variant => ($ty::$variant as $repr as i64, stringify!($variant))),*
                };
                $crate::Value::Enum { value, name: Some(name.to_string()) }
            }
            fn from_value(v: &$crate::Value) -> $crate::Result<Self> {
                if let $crate::Value::Enum { name: Some(n), .. } = v {
                    $(if n == stringify!($variant) { return Ok($ty::$variant); })*
                }
                let value = match v {
                    $crate::Value::Enum { value, .. } => *value as i128,
                    $crate::Value::Int(i) => *i as i128,
                    $crate::Value::UInt(u) => *u as i128,
                    other => return Err($crate::Error::Conversion(format!(
                        "{} is not a member of {}", other.kind(), stringify!($ty)))),
                };
                $(if value == $ty::$variant as $repr as i128 { return Ok($ty::$variant); })*
                Err($crate::Error::Conversion(format!(
                    "{value} is not a member of {}", stringify!($ty))))
            }
            #[inline]
            fn fixed() -> Option<$crate::Fixed<Self>> {
                Some($crate::Fixed {
                    plan: $crate::when_equal::<Self>,
                    decode: Self::decode_fixed,
                    encode: Self::encode_fixed,
                })
            }
            #[inline]
            fn decode_fixed(_: &$crate::FieldPlan, b: &[u8]) -> $crate::Result<Self> {
                let value = <$repr>::from_le_bytes(b.try_into().map_err(|_| {
                    $crate::Error::Conversion(format!(
                        "{} bytes for an enum of {}", b.len(), stringify!($repr)))
                })?);
                $(if value == $ty::$variant as $repr { return Ok($ty::$variant); })*
                Err($crate::Error::Conversion(format!(
                    "{value} is not a member of {}", stringify!($ty))))
            }
            #[inline]
            fn encode_fixed(
                _: &$crate::FieldPlan,
                x: &Self,
                b: &mut [u8],
            ) -> $crate::Result<()> {
                let value = match x { $($ty::$variant => $ty::$variant as $repr),* };
                $crate::put(&value.to_le_bytes(), b)
            }
        }
        $crate::__scalar_elements!($ty);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from<T: H5Type>(s: Scalar) -> T {
        (T::numeric().unwrap().from_scalar)(s)
    }

    #[test]
    fn numbers_convert_as_libhdf5_converts() {
        // integers clip, floats truncate toward zero
        assert_eq!(from::<i8>(Scalar::Int(1200)), 127);
        assert_eq!(from::<u8>(Scalar::Int(-5)), 0);
        assert_eq!(from::<i32>(Scalar::Float(-2.7)), -2);
        // and through values the same way
        assert_eq!(i8::from_value(&Value::Int(1200)).unwrap(), 127);
        assert_eq!(u16::from_value(&Value::Float(-3.5)).unwrap(), 0);
        assert!(i8::from_value(&Value::Str("x".into())).is_err());
    }

    #[test]
    fn fixed_strings_end_at_the_first_nul_and_know_ascii() {
        // every NUL position and a high byte before, at and after it, for lengths that fill
        // whole words, part of one and more than one
        fn check<const N: usize>() {
            for nul in 0..=N {
                for high in [None, Some(0), Some(nul.saturating_sub(1)), Some(N - 1)] {
                    let mut b: [u8; N] = std::array::from_fn(|i| b'a' + (i % 26) as u8);
                    if let Some(h) = high.filter(|&h| h < N) {
                        b[h] = 0xc3;
                    }
                    if nul < N {
                        b[nul] = 0;
                        // bytes after the NUL are not part of the text, NUL or not
                        if nul + 2 < N {
                            b[nul + 2] = 0;
                        }
                    }
                    let want = (b.iter().position(|&c| c == 0).unwrap_or(N), b.is_ascii());
                    assert_eq!(
                        nul_and_ascii(&b),
                        want,
                        "N {N}, NUL at {nul}, high {high:?}"
                    );
                }
            }
        }
        check::<1>();
        check::<7>();
        check::<8>();
        check::<16>();
        check::<21>();
        // the bytes from any length on are zeros, the rest kept
        let b: [u8; 21] = std::array::from_fn(|i| 1 + i as u8);
        for len in 0..=21 {
            let want: [u8; 21] = std::array::from_fn(|i| if i < len { b[i] } else { 0 });
            assert_eq!(zeros_from(&b, len), want, "length {len}");
            assert!(!zero_from(&b, len) || len == 21, "length {len}");
            assert!(zero_from(&want, len), "length {len}");
        }
        // the decoded text stops at the first NUL and the bytes after it are zeros
        let s =
            FixedAscii::<16>::decode_fixed(&FieldPlan::default(), b"ab\0cd\0\0\0\0\0\0\0\0\0\0x")
                .unwrap();
        assert_eq!(s.as_str(), "ab");
        assert_eq!(s, FixedAscii::<16>::new("ab").unwrap());
        let u = FixedUtf8::<4>::decode_fixed(&FieldPlan::default(), "é\0z".as_bytes()).unwrap();
        assert_eq!(u.as_str(), "é");
    }

    #[test]
    fn nested_arrays_are_one_array_type() {
        let dt = <[[u8; 3]; 2]>::datatype();
        assert!(matches!(&dt, Datatype::Array { dims, .. } if dims == &[2, 3]));
        let v = [[1u8, 2, 3], [4, 5, 6]];
        let back = <[[u8; 3]; 2]>::from_value(&v.to_value()).unwrap();
        assert_eq!(back, v);
        assert!(<[u8; 2]>::from_value(&Value::List(vec![Value::UInt(1)])).is_err());
    }
}

//! Numeric conversion from stored bytes to Rust types, following libhdf5's rules: byte order
//! and bit offset/precision honoured, integers clipped on narrowing, floats truncated toward
//! zero (and clipped) when converted to integers.

use crate::error::{Error, Result};
use h5_format::message::datatype::{ByteOrder, Datatype};

/// A number as decoded from the file, before conversion to the caller's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// Any integer (up to 64 bits of precision are exact; wider ones are clipped).
    Int(i128),
    /// Any float, as the nearest `f64`.
    Float(f64),
}

struct FloatBits {
    sign: u128,
    exp: u128,
    mant: u128,
}

/// Encode `x` in a float layout with `es` exponent bits, `ms` mantissa bits and `bias`;
/// `explicit`: the mantissa stores its leading 1 (x87's integer bit, or libhdf5's "no
/// normalisation"). See [`float_bits_exact`] for the rounding.
fn float_bits(x: f64, es: u32, ms: u32, bias: i64, explicit: bool) -> FloatBits {
    let sign = x.is_sign_negative() as u128;
    let emax = (1u128 << es) - 1;
    let frac_bits = if explicit { ms - 1 } else { ms };
    let top = if explicit { 1u128 << (ms - 1) } else { 0 };
    if x.is_nan() {
        return FloatBits {
            sign,
            exp: emax,
            mant: top | (1u128 << (frac_bits.max(1) - 1)),
        };
    }
    if x.is_infinite() {
        return FloatBits {
            sign,
            exp: emax,
            mant: top,
        };
    }
    // x = m · 2^(e − 1075) with m the 53-bit significand (subnormals: fewer bits).
    let raw = x.abs().to_bits();
    let (frac, e) = (
        (raw & ((1u64 << 52) - 1)) as u128,
        ((raw >> 52) & 0x7ff) as i64,
    );
    let (m, e) = if e == 0 {
        (frac, -1074)
    } else {
        (frac | 1u128 << 52, e - 1075)
    };
    float_bits_exact(sign == 1, m, e, es, ms, bias, explicit)
}

/// Encode `m · 2^e` (negated when `neg`) exactly rounded: to nearest, ties to even. As
/// libhdf5 converts, a value beyond the target's largest finite number becomes infinity
/// (even where rounding to nearest would give that largest number).
fn float_bits_exact(
    neg: bool,
    m: u128,
    e: i64,
    es: u32,
    ms: u32,
    bias: i64,
    explicit: bool,
) -> FloatBits {
    let sign = neg as u128;
    let emax = (1u128 << es) - 1;
    let frac_bits = if explicit { ms - 1 } else { ms };
    let top = if explicit { 1u128 << (ms - 1) } else { 0 };
    let zero = FloatBits {
        sign,
        exp: 0,
        mant: 0,
    };
    let inf = FloatBits {
        sign,
        exp: emax,
        mant: top,
    };
    if m == 0 {
        return zero;
    }
    // the leading 1 of m is bit p: the value is 1.xxx · 2^(p + e)
    let p = 127 - m.leading_zeros() as i64;
    let mut biased = p + e + bias;
    // Bits of precision the target keeps below the leading 1 (fewer when subnormal).
    let mut keep = frac_bits as i64;
    if biased <= 0 {
        keep -= 1 - biased;
        biased = 0;
    }
    let shift = p - keep;
    let mut inexact_down = false;
    let mut q = if shift <= 0 {
        m << (-shift) as u32
    } else if shift > 127 {
        inexact_down = true;
        0
    } else {
        let q = m >> shift as u32;
        let rem = m & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            inexact_down = rem != 0;
            q
        }
    };
    // q holds the leading 1 (for normal numbers) at bit `keep`.
    if biased == 0 {
        // subnormal (or rounded up into the smallest normal)
        if q >> frac_bits != 0 {
            return FloatBits {
                sign,
                exp: 1,
                mant: (q & ((1u128 << frac_bits) - 1)) | top,
            };
        }
        if q == 0 {
            return zero;
        }
        return FloatBits {
            sign,
            exp: 0,
            mant: q,
        };
    }
    if q >> (frac_bits + 1) != 0 {
        q >>= 1; // rounding carried into a new bit
        biased += 1;
    }
    let mant = q & ((1u128 << frac_bits) - 1);
    let largest = biased as u128 == emax - 1 && mant == (1u128 << frac_bits) - 1;
    if biased as u128 >= emax || (largest && inexact_down) {
        return inf;
    }
    FloatBits {
        sign,
        exp: biased as u128,
        mant: mant | top,
    }
}

/// Store one number in an element of `dt`, as libhdf5 converts on write: integers clip to the
/// target's range, floats truncate toward zero (NaN becomes 0) and clip, floats narrow with
/// rounding.
pub(crate) fn encode_scalar(dt: &Datatype, s: Scalar, out: &mut [u8]) -> Result<()> {
    let put = |v: u128, size: usize, order: ByteOrder, out: &mut [u8]| {
        let bytes = v.to_le_bytes();
        for i in 0..size {
            let b = bytes[i];
            match order {
                ByteOrder::Big => out[size - 1 - i] = b,
                _ => out[i] = b,
            }
        }
    };
    match dt {
        // any precision at any offset (n-bit's types): the value clipped to the precision's
        // range, placed at the offset, the other bits zero (libhdf5's default padding)
        Datatype::Integer {
            size,
            order,
            signed,
            bit_offset,
            precision,
            ..
        } if *precision > 0
            && *size <= 16
            && u32::from(*precision) + u32::from(*bit_offset) <= *size * 8 =>
        {
            let bits = u32::from(*precision);
            let (lo, hi): (i128, i128) = if *signed {
                (
                    -(1i128 << (bits - 1).min(126)),
                    (1i128 << (bits - 1).min(126)) - 1,
                )
            } else {
                (
                    0,
                    if bits >= 127 {
                        i128::MAX
                    } else {
                        (1i128 << bits) - 1
                    },
                )
            };
            let v = match s {
                Scalar::Int(v) => v.clamp(lo, hi),
                Scalar::Float(x) if x.is_nan() => 0,
                // `as` saturates, so huge floats clip to the type's range (as libhdf5 does)
                // instead of wrapping through a rounded-up f64 bound
                Scalar::Float(x) => (x.trunc() as i128).clamp(lo, hi),
            };
            let field = if bits >= 128 {
                v as u128
            } else {
                (v as u128) & ((1u128 << bits) - 1)
            };
            put(field << bit_offset, *size as usize, *order, out);
            Ok(())
        }
        Datatype::Enum { base, .. } => encode_scalar(base, s, out),
        Datatype::Float {
            size: 4,
            order,
            exp_size: 8,
            mant_size: 23,
            ..
        } => {
            let v = match s {
                Scalar::Int(v) => v as f32,
                // libhdf5: beyond ±FLT_MAX is ±infinity (not rounded to FLT_MAX)
                Scalar::Float(x) if x.is_finite() && x.abs() > f32::MAX as f64 => {
                    f32::INFINITY.copysign(x as f32)
                }
                Scalar::Float(x) => x as f32,
            };
            put(v.to_bits() as u128, 4, *order, out);
            Ok(())
        }
        Datatype::Float {
            size: 8,
            order,
            exp_size: 11,
            mant_size: 52,
            ..
        } => {
            let v = match s {
                Scalar::Int(v) => v as f64,
                Scalar::Float(x) => x,
            };
            put(v.to_bits() as u128, 8, *order, out);
            Ok(())
        }
        Datatype::Float {
            size,
            order,
            bit_offset: 0,
            exp_loc,
            exp_size,
            mant_loc,
            mant_size,
            exp_bias,
            sign_loc,
            norm,
            ..
        } if *order != ByteOrder::Vax && *size <= 16 => {
            let (es, ms, bias, explicit) = (
                *exp_size as u32,
                *mant_size as u32,
                *exp_bias as i64,
                *norm != 2,
            );
            let bits = match s {
                // integers exactly (a long double holds every i64), not through f64
                Scalar::Int(v) => {
                    float_bits_exact(v < 0, v.unsigned_abs(), 0, es, ms, bias, explicit)
                }
                Scalar::Float(x) => float_bits(x, es, ms, bias, explicit),
            };
            let v = (bits.sign << *sign_loc) | (bits.exp << *exp_loc) | (bits.mant << *mant_loc);
            put(v, *size as usize, *order, out);
            Ok(())
        }
        other => Err(Error::Conversion(format!(
            "writing numbers into {} elements of {} bytes is not supported yet",
            super::types::describe(other),
            other.size()
        ))),
    }
}

fn load(bytes: &[u8], order: ByteOrder) -> u128 {
    let mut v = 0u128;
    match order {
        ByteOrder::Big => {
            for &b in bytes.iter().take(16) {
                v = v << 8 | b as u128;
            }
        }
        _ => {
            for (i, &b) in bytes.iter().take(16).enumerate() {
                v |= (b as u128) << (8 * i);
            }
        }
    }
    v
}

fn bits(v: u128, offset: u32, count: u32) -> u128 {
    let Some(v) = v.checked_shr(offset) else {
        return 0;
    };
    match 1u128.checked_shl(count) {
        Some(m) => v & (m - 1),
        None => v,
    }
}

/// Multiply `x` by 2^`k` without intermediate overflow.
fn ldexp(mut x: f64, mut k: i64) -> f64 {
    while k > 1000 {
        x *= 2f64.powi(1000);
        k -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while k < -1000 {
        x *= 2f64.powi(-1000);
        k += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * 2f64.powi(k as i32)
}

/// Decode one number of a numeric datatype (integer, float, bitfield, enum base).
pub fn decode_scalar(dt: &Datatype, b: &[u8]) -> Option<Scalar> {
    match dt {
        Datatype::Integer {
            order,
            signed,
            bit_offset,
            precision,
            ..
        } => {
            let raw = load(b, *order);
            let p = *precision as u32;
            let v = bits(raw, *bit_offset as u32, p);
            let v = if *signed && p > 0 && p < 128 && (v >> (p - 1)) & 1 == 1 {
                (v | !((1u128 << p) - 1)) as i128
            } else {
                v as i128
            };
            Some(Scalar::Int(v))
        }
        Datatype::Float {
            size,
            order,
            exp_loc,
            exp_size,
            mant_loc,
            mant_size,
            exp_bias,
            sign_loc,
            norm,
            ..
        } => {
            if *order == ByteOrder::Vax {
                return None;
            }
            // Fast paths for IEEE single and double.
            if *size == 4 && *exp_size == 8 && *mant_size == 23 && *exp_loc == 23 && *mant_loc == 0
            {
                let a = [b[0], b[1], b[2], b[3]];
                let v = if *order == ByteOrder::Big {
                    f32::from_be_bytes(a)
                } else {
                    f32::from_le_bytes(a)
                };
                return Some(Scalar::Float(v as f64));
            }
            if *size == 8 && *exp_size == 11 && *mant_size == 52 && *exp_loc == 52 && *mant_loc == 0
            {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                let v = if *order == ByteOrder::Big {
                    f64::from_be_bytes(a)
                } else {
                    f64::from_le_bytes(a)
                };
                return Some(Scalar::Float(v));
            }
            let raw = load(b, *order);
            let neg = bits(raw, *sign_loc as u32, 1) == 1;
            let e = bits(raw, *exp_loc as u32, *exp_size as u32) as i64;
            let m = bits(raw, *mant_loc as u32, *mant_size as u32);
            let emax = 1i64
                .checked_shl(*exp_size as u32)
                .map_or(i64::MAX, |v| v - 1);
            let ms = *mant_size as i64;
            let bias = *exp_bias as i64;
            // Mantissa normalisation: 2 = the leading 1 is implied; 0 (none) and 1 (MSB set,
            // as x87's explicit integer bit) store it, so the binary point follows the top
            // mantissa bit.
            let implied = *norm == 2;
            let v = if e == emax {
                let frac = if !implied && ms > 0 {
                    bits(m, 0, (ms - 1) as u32)
                } else {
                    m
                };
                if frac == 0 {
                    f64::INFINITY
                } else {
                    f64::NAN
                }
            } else if implied {
                let m = if e == 0 {
                    m
                } else {
                    1u128.checked_shl(ms as u32).unwrap_or(0) | m
                };
                ldexp(m as f64, e.max(1) - bias - ms)
            } else {
                ldexp(m as f64, e.max(1) - bias - (ms - 1))
            };
            Some(Scalar::Float(if neg { -v } else { v }))
        }
        Datatype::Enum { base, .. } => decode_scalar(base, b),
        _ => None,
    }
}

/// Whether elements of `dt` decode as numbers (integers, floats, enums of them).
pub(crate) fn is_number(dt: &Datatype) -> bool {
    let size = dt.size() as usize;
    // (no number is wider than 64 bytes; a damaged type can claim gigabytes)
    size > 0 && size <= 64 && decode_scalar(dt, &vec![0u8; size]).is_some()
}

/// A number type laid out as numpy lays out its own: little-endian, every bit used.
#[derive(Debug, PartialEq)]
enum Native {
    /// An integer of this many bytes, signed or not.
    Int(u32, bool),
    /// IEEE single.
    F32,
    /// IEEE double.
    F64,
}

fn native_kind(dt: &Datatype) -> Option<Native> {
    match dt {
        Datatype::Integer {
            size,
            order: ByteOrder::Little,
            signed,
            bit_offset: 0,
            precision,
            ..
        } if matches!(size, 1 | 2 | 4 | 8) && u32::from(*precision) == size * 8 => {
            Some(Native::Int(*size, *signed))
        }
        Datatype::Float { .. } if *dt == super::types::float32() => Some(Native::F32),
        Datatype::Float { .. } if *dt == super::types::float64() => Some(Native::F64),
        _ => None,
    }
}

/// Convert stored numbers of `dt` (see [`is_number`]) to `T`, onto `out`: `from_native`
/// for numpy's own layouts (see [`native_into`]), else `from_scalar` on each decoded number.
pub(crate) fn convert_into<T>(
    dt: &Datatype,
    data: &[u8],
    (from_scalar, from_native): (fn(Scalar) -> T, NativeFn<T>),
    out: &mut Vec<T>,
) -> Result<()> {
    let size = dt.size() as usize;
    if size == 0 {
        return Ok(());
    }
    if !is_number(dt) {
        return Err(Error::Conversion(format!(
            "{} elements are not numbers",
            super::types::describe(dt)
        )));
    }
    if from_native(dt, data, out) {
        return Ok(());
    }
    for chunk in data.chunks_exact(size) {
        // decode_scalar cannot fail for a type that decoded a zero element.
        let s = decode_scalar(dt, chunk).unwrap_or(Scalar::Int(0));
        out.push(from_scalar(s));
    }
    Ok(())
}

/// A type's loop for numbers stored in numpy's own layouts: false when the layout is another.
pub type NativeFn<T> = fn(&Datatype, &[u8], &mut Vec<T>) -> bool;

/// Numbers stored in one of numpy's own layouts (little-endian, every bit used) onto `out`,
/// converted by `from_int` and `from_float` — generic, so each target type gets its own loop
/// with nothing called per element; false (and nothing done) for other layouts.
pub(crate) fn native_into<T>(
    dt: &Datatype,
    data: &[u8],
    out: &mut Vec<T>,
    from_int: impl Fn(i128) -> T,
    from_float: impl Fn(f64) -> T,
) -> bool {
    let Some(kind) = native_kind(dt) else {
        return false;
    };
    macro_rules! each {
        ($t:ty, $conv:expr) => {
            out.extend(
                data.chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| $conv(<$t>::from_le_bytes(c.try_into().unwrap_or_default()))),
            )
        };
    }
    match kind {
        Native::Int(1, true) => each!(i8, |v| from_int(v as i128)),
        Native::Int(2, true) => each!(i16, |v| from_int(v as i128)),
        Native::Int(4, true) => each!(i32, |v| from_int(v as i128)),
        Native::Int(8, true) => each!(i64, |v| from_int(v as i128)),
        Native::Int(1, false) => each!(u8, |v| from_int(v as i128)),
        Native::Int(2, false) => each!(u16, |v| from_int(v as i128)),
        Native::Int(4, false) => each!(u32, |v| from_int(v as i128)),
        Native::Int(8, false) => each!(u64, |v| from_int(v as i128)),
        Native::F32 => each!(f32, |v| from_float(v as f64)),
        Native::F64 => each!(f64, &from_float),
        Native::Int(..) => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(
        size: u32,
        exp_loc: u8,
        exp_size: u8,
        mant_size: u8,
        bias: u32,
        sign: u8,
        norm: u8,
    ) -> Datatype {
        Datatype::Float {
            size,
            order: ByteOrder::Little,
            bit_offset: 0,
            precision: (size * 8) as u16,
            exp_loc,
            exp_size,
            mant_loc: 0,
            mant_size,
            exp_bias: bias,
            sign_loc: sign,
            norm,
        }
    }

    #[test]
    fn half_and_long_double() {
        let h = float(2, 10, 5, 10, 15, 15, 2);
        // 1.5 in half = 0x3e00; smallest subnormal 0x0001 = 2^-24
        assert_eq!(
            decode_scalar(&h, &0x3e00u16.to_le_bytes()),
            Some(Scalar::Float(1.5))
        );
        assert_eq!(
            decode_scalar(&h, &0x0001u16.to_le_bytes()),
            Some(Scalar::Float(2f64.powi(-24)))
        );
        assert_eq!(
            decode_scalar(&h, &0xfc00u16.to_le_bytes()),
            Some(Scalar::Float(f64::NEG_INFINITY))
        );
        // x87 80-bit extended in 16 bytes: 1.0 = exp 16383, mantissa 0x8000000000000000
        let ld = float(16, 64, 15, 64, 16383, 79, 1);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&0x8000_0000_0000_0000u64.to_le_bytes());
        b[8..10].copy_from_slice(&16383u16.to_le_bytes());
        assert_eq!(decode_scalar(&ld, &b), Some(Scalar::Float(1.0)));
    }

    #[test]
    fn encoded_floats_decode_back() {
        let half = float(2, 10, 5, 10, 15, 15, 2);
        let ld = float(16, 64, 15, 64, 16383, 79, 0);
        let bf16 = float(2, 7, 8, 7, 127, 15, 2);
        let mut b = [0u8; 16];
        for x in [
            1.5,
            -2.0,
            65504.0,
            1e-7,
            5.960464477539063e-8,
            0.1,
            1e300,
            -0.0,
            f64::INFINITY,
        ] {
            encode_scalar(&ld, Scalar::Float(x), &mut b).unwrap();
            assert_eq!(
                decode_scalar(&ld, &b),
                Some(Scalar::Float(x)),
                "long double {x}"
            );
            encode_scalar(&half, Scalar::Float(x), &mut b[..2]).unwrap();
            let back = match decode_scalar(&half, &b[..2]) {
                Some(Scalar::Float(v)) => v,
                other => panic!("{other:?}"),
            };
            let exact = half_round(x);
            assert!(
                back == exact || (back.is_nan() && exact.is_nan()),
                "half {x}: {back} vs {exact}"
            );
        }
        encode_scalar(&bf16, Scalar::Float(3.140625), &mut b[..2]).unwrap();
        assert_eq!(decode_scalar(&bf16, &b[..2]), Some(Scalar::Float(3.140625)));
        encode_scalar(&half, Scalar::Float(f64::NAN), &mut b[..2]).unwrap();
        assert!(matches!(decode_scalar(&half, &b[..2]), Some(Scalar::Float(v)) if v.is_nan()));
    }

    /// IEEE half rounding of `x`, computed independently through f32 and explicit range rules.
    fn half_round(x: f64) -> f64 {
        // libhdf5: anything beyond the largest half (65504) is infinity
        if x.is_infinite() || x.abs() > 65504.0 {
            return if x.is_sign_negative() {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
        }
        // quantum: 2^(e−10) for normals, 2^−24 for subnormals
        let e = if x == 0.0 {
            -14
        } else {
            (x.abs().log2().floor() as i32).max(-14)
        };
        let q = 2f64.powi(e - 10);
        let r = x / q;
        let n = r.round();
        let n = if (r - r.trunc()).abs() == 0.5 && n % 2.0 != 0.0 {
            n - r.signum()
        } else {
            n
        };
        let v = n * q;
        if v == 0.0 && x.is_sign_negative() {
            -0.0
        } else {
            v
        }
    }

    #[test]
    fn packed_integers_and_clipping() {
        let t = Datatype::Integer {
            size: 2,
            order: ByteOrder::Big,
            signed: true,
            bit_offset: 4,
            precision: 4,
            bitfield: false,
        };
        // bits 4..8 hold 0b1111 = -1
        assert_eq!(decode_scalar(&t, &[0x00, 0xf0]), Some(Scalar::Int(-1)));
    }
}

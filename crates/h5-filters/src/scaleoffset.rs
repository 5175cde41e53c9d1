//! Scale-offset (filter 6), as libhdf5's `H5Z_filter_scaleoffset`: integers stored as their
//! offset from the chunk's minimum in as few bits as the range needs; floats (D-scale) scaled
//! by 10^D, rounded and stored the same way. Lossy for floats by design.
//!
//! Client data: 20 values — scale type (0 float D-scale, 1 E-scale (refused, as libhdf5
//! refuses it), 2 integer), scale factor (D, or the integer bits; 0: as many as the range
//! needs), elements per chunk, class (0 integer, 1 float), size, signed, byte order (0 LE,
//! 1 BE), whether the fill value is defined, then the fill value's bytes as little-endian
//! 32-bit pieces.
//!
//! A chunk is a 21-byte header — the bits per value (u32 LE), the byte 8, the minimum (u64
//! LE: the integer, or the float's bits), 8 zero bytes — then the values: each `minbits` bits
//! most significant first (`floor(n × minbits / 8) + 1` bytes), fill values as all ones; or,
//! when the range needs every bit, the elements as they are in little-endian order. An
//! integer dataset whose scale factor is its full width passes through with no header.

use crate::bits::{self, BitReader, BitWriter};
use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct ScaleOffset;

const HEADER: usize = 21;

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams {
        id: id::SCALEOFFSET,
        what,
    }
}

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt {
        id: id::SCALEOFFSET,
        what,
    }
}

/// The client data, checked.
struct Params {
    float: bool,
    /// The scale factor as libhdf5 reads it (a signed int).
    factor: i32,
    elements: usize,
    size: usize,
    signed: bool,
    big_endian: bool,
    /// The fill value's native (little-endian) bits, when defined.
    fill: Option<u64>,
}

fn params(cd: &[u32]) -> Result<Params> {
    if cd.len() != 20 {
        return Err(invalid("expected 20 values"));
    }
    let float = match cd[3] {
        0 => false,
        1 => true,
        _ => return Err(invalid("datatype class")),
    };
    let size = cd[4] as usize;
    let ok_size = if float {
        matches!(size, 4 | 8)
    } else {
        matches!(size, 1 | 2 | 4 | 8)
    };
    if !ok_size {
        return Err(invalid("cannot use C integer or float datatype for cast"));
    }
    match (float, cd[0]) {
        (true, 0) | (false, 2) => {}
        (true, 1) => return Err(invalid("E-scaling method not supported")),
        _ => return Err(invalid("invalid scale type")),
    }
    if cd[6] > 1 {
        return Err(invalid("byte order"));
    }
    let fill = (cd[7] != 0).then(|| {
        if size == 1 {
            u64::from(cd[8] & 0xff)
        } else {
            let mut b = [0u8; 8];
            for (i, piece) in cd[8..10].iter().enumerate() {
                b[4 * i..4 * i + 4].copy_from_slice(&piece.to_le_bytes());
            }
            u64::from_le_bytes(b) & mask(8 * size as u32)
        }
    });
    Ok(Params {
        float,
        factor: cd[1] as i32,
        elements: cd[2] as usize,
        size,
        signed: cd[5] != 0,
        big_endian: cd[6] == 1,
        fill,
    })
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// ceil(log2(x)), 0 for x ≤ 1 (libhdf5's `H5Z__scaleoffset_log2`).
fn log2(x: u64) -> u32 {
    let mut v = 0;
    while v < 64 && (1u64 << v) < x {
        v += 1;
    }
    v
}

/// Element `i` of `data` as native bits (its bytes in the dataset's order).
fn load(data: &[u8], i: usize, size: usize, big_endian: bool) -> u64 {
    bits::load(&data[i * size..(i + 1) * size], big_endian) as u64
}

fn store(out: &mut [u8], i: usize, size: usize, big_endian: bool, v: u64) {
    bits::store(
        u128::from(v),
        &mut out[i * size..(i + 1) * size],
        big_endian,
    );
}

/// Native bits as a number of the integer type (sign-extended when signed).
fn int_value(v: u64, size: usize, signed: bool) -> i128 {
    let bits = 8 * size as u32;
    if signed && bits < 64 && v >> (bits - 1) & 1 == 1 {
        (v | !mask(bits)) as i64 as i128
    } else if signed && bits == 64 {
        v as i64 as i128
    } else {
        v as i128
    }
}

/// The header and the elements as they are (little-endian): the range needs every bit.
fn raw_chunk(p: &Params, input: &[u8], minbits: u32, minval: u64) -> Vec<u8> {
    let mut out = header(minbits, minval);
    out.reserve(input.len());
    let start = out.len();
    out.resize(start + input.len(), 0);
    for i in 0..p.elements {
        let v = load(input, i, p.size, p.big_endian);
        store(&mut out[start..], i, p.size, false, v);
    }
    out
}

fn header(minbits: u32, minval: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER);
    h.extend_from_slice(&minbits.to_le_bytes());
    h.push(8);
    h.extend_from_slice(&minval.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h
}

/// Pack `codes` (each `minbits` bits) after the header.
fn packed_chunk(minbits: u32, minval: u64, codes: impl Iterator<Item = u64>) -> Vec<u8> {
    let mut w = BitWriter::with_capacity(HEADER + 64);
    for c in codes {
        w.put(u128::from(c & mask(minbits)), minbits);
    }
    let mut out = header(minbits, minval);
    out.extend(w.finish_libhdf5());
    out
}

fn encode_int(p: &Params, input: &[u8]) -> Result<Vec<u8>> {
    let n = 8 * p.size as u32;
    let factor = p.factor.max(0) as u32;
    let vals: Vec<i128> = (0..p.elements)
        .map(|i| int_value(load(input, i, p.size, p.big_endian), p.size, p.signed))
        .collect();
    let fill = p.fill.map(|f| int_value(f, p.size, p.signed));
    let data = || vals.iter().copied().filter(|&x| Some(x) != fill);
    let min = data().min().unwrap_or(0);
    let minbits = if factor == 0 {
        let max = data().max().unwrap_or(0);
        let range = (max - min) as u128;
        if range > u128::from(mask(n)) - 2 {
            // the range needs every bit: the elements as they are, the minimum 0 (libhdf5
            // keeps it for signed char without a fill value)
            let minval = if p.size == 1 && p.signed && fill.is_none() {
                min as u64
            } else {
                0
            };
            return Ok(raw_chunk(p, input, n, minval));
        }
        let span = range as u64 + 1;
        if fill.is_some() {
            log2(span + 1)
        } else {
            log2(span)
        }
    } else {
        factor
    };
    let minval = min as i64 as u64;
    if minbits == n {
        return Ok(raw_chunk(p, input, n, minval));
    }
    let all_ones = mask(minbits);
    Ok(packed_chunk(
        minbits,
        minval,
        vals.iter().map(|&x| {
            if Some(x) == fill {
                all_ones
            } else {
                ((x - min) as u128 & u128::from(mask(n))) as u64
            }
        }),
    ))
}

fn decode_int(
    p: &Params,
    minbits: u32,
    minval: u64,
    r: &mut BitReader<'_>,
    out: &mut [u8],
) -> Result<()> {
    let n = 8 * p.size as u32;
    let all_ones = mask(minbits);
    for i in 0..p.elements {
        let v = r.get(minbits)? as u64;
        let x = match p.fill {
            Some(f) if v == all_ones => f,
            _ => v.wrapping_add(minval) & mask(n),
        };
        store(out, i, p.size, p.big_endian, x);
    }
    Ok(())
}

/// D-scale for one float type, all arithmetic in that type as libhdf5 does it (`powf`,
/// `lroundf` for `f32`; `pow`, `lround` for `f64`).
macro_rules! dscale {
    ($encode:ident, $decode:ident, $t:ty, $bits:ty, $int:ty) => {
        fn $encode(p: &Params, input: &[u8]) -> Result<Vec<u8>> {
            let n = 8 * p.size as u32;
            let d = p.factor as $t;
            let scale: $t = (10.0 as $t).powf(d);
            let vals: Vec<$t> = (0..p.elements)
                .map(|i| <$t>::from_bits(load(input, i, p.size, p.big_endian) as $bits))
                .collect();
            let fill = p.fill.map(|f| <$t>::from_bits(f as $bits));
            // which elements are fill: for the minimum and maximum in double precision...
            let near_fill_f64 = |x: $t| {
                fill.is_some_and(|f| ((x - f) as f64).abs() < 10f64.powf(-(p.factor as f64)))
            };
            // ...and for the codes in the element's precision (libhdf5's two tests)
            let near_fill = |x: $t| fill.is_some_and(|f| (x - f).abs() < (10.0 as $t).powf(-d));
            let mut data = vals.iter().copied().filter(|&x| !near_fill_f64(x));
            let (mut min, mut max) = match data.next() {
                Some(x) => (x, x),
                None => (0.0, 0.0),
            };
            for x in data {
                min = min.min(x);
                max = max.max(x);
            }
            if f64::from((max * scale - min * scale).round()) > 2f64.powi(n as i32 - 1) {
                return Ok(raw_chunk(p, input, n, 0));
            }
            let span = ((max * scale - min * scale).round() as i64 as u64).wrapping_add(1);
            let minbits = if fill.is_some() {
                log2(span.wrapping_add(1))
            } else {
                log2(span)
            };
            let minval = u64::from(min.to_bits());
            if minbits >= n {
                return Ok(raw_chunk(p, input, n, minval));
            }
            let all_ones = mask(minbits);
            Ok(packed_chunk(
                minbits,
                minval,
                vals.iter().map(|&x| {
                    if near_fill(x) {
                        all_ones
                    } else {
                        // lround: half away from zero, each product rounded on its own
                        (x * scale - min * scale).round() as i64 as $int as u64
                    }
                }),
            ))
        }

        fn $decode(
            p: &Params,
            minbits: u32,
            minval: u64,
            r: &mut BitReader<'_>,
            out: &mut [u8],
        ) -> Result<()> {
            let scale: $t = (10.0 as $t).powf(p.factor as $t);
            let min = <$t>::from_bits(minval as $bits);
            let all_ones = mask(minbits);
            for i in 0..p.elements {
                let v = r.get(minbits)? as u64;
                let x = match p.fill {
                    Some(f) if v == all_ones => f,
                    _ => u64::from(((v as $int) as $t / scale + min).to_bits()),
                };
                store(out, i, p.size, p.big_endian, x);
            }
            Ok(())
        }
    };
}
dscale!(encode_f32, decode_f32, f32, u32, i32);
dscale!(encode_f64, decode_f64, f64, u64, i64);

impl Filter for ScaleOffset {
    fn id(&self) -> u16 {
        id::SCALEOFFSET
    }

    fn decode(&self, fp: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let p = params(fp.client_data)?;
        let n = 8 * p.size as u32;
        if !p.float && p.factor.max(0) as u32 == n {
            return Ok(input);
        }
        let total = p
            .elements
            .checked_mul(p.size)
            .filter(|&t| t <= limit)
            .ok_or(Error::TooLarge {
                id: id::SCALEOFFSET,
                limit,
            })?;
        let head = input
            .get(..HEADER)
            .ok_or(corrupt("chunk shorter than its header"))?;
        let minbits = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let width = usize::from(head[4]).min(8);
        let mut mv = [0u8; 8];
        mv[..width].copy_from_slice(&head[5..5 + width]);
        let minval = u64::from_le_bytes(mv);
        let mut out = vec![0u8; total];
        let body = &input[HEADER..];
        if minbits == n {
            let raw = body.get(..total).ok_or(corrupt("raw elements cut short"))?;
            for i in 0..p.elements {
                let v = load(raw, i, p.size, false);
                store(&mut out, i, p.size, p.big_endian, v);
            }
            return Ok(out);
        }
        if minbits > n {
            return Err(corrupt("more bits per value than the type has"));
        }
        let mut r = BitReader::new(body, id::SCALEOFFSET);
        match (p.float, p.size) {
            (false, _) => decode_int(&p, minbits, minval, &mut r, &mut out)?,
            (true, 4) => decode_f32(&p, minbits, minval, &mut r, &mut out)?,
            _ => decode_f64(&p, minbits, minval, &mut r, &mut out)?,
        }
        Ok(out)
    }

    fn encode(&self, fp: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let p = params(fp.client_data)?;
        let n = 8 * p.size as u32;
        if p.elements.checked_mul(p.size) != Some(input.len()) {
            return Err(invalid(
                "the chunk is not elements per chunk × element size",
            ));
        }
        if !p.float {
            let factor = p.factor.max(0) as u32;
            if factor > n {
                return Err(invalid("minimum number of bits exceeds maximum"));
            }
            if factor == n {
                return Ok(Encoded::Data(input));
            }
            return encode_int(&p, &input).map(Encoded::Data);
        }
        let out = if p.size == 4 {
            encode_f32(&p, &input)?
        } else {
            encode_f64(&p, &input)?
        };
        Ok(Encoded::Data(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd(
        scale_type: u32,
        factor: i32,
        n: u32,
        class: u32,
        size: u32,
        signed: u32,
        fill: Option<u64>,
    ) -> Vec<u32> {
        let mut cd = vec![scale_type, factor as u32, n, class, size, signed, 0, 0];
        cd.resize(20, 0);
        if let Some(f) = fill {
            cd[7] = 1;
            cd[8] = f as u32;
            cd[9] = (f >> 32) as u32;
        }
        cd
    }

    fn run(cd: &[u32], data: Vec<u8>) -> Vec<u8> {
        let p = FilterParams {
            id: id::SCALEOFFSET,
            client_data: cd,
            element_size: cd[4] as usize,
        };
        let z = ScaleOffset.encode(&p, data.clone()).unwrap().into_inner();
        let n = data.len();
        ScaleOffset.decode(&p, z, n).unwrap()
    }

    #[test]
    fn integers_round_trip_with_and_without_fill() {
        let vals: Vec<i32> = (0..100).map(|i| 1000 + (i % 37)).collect();
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        for fill in [None, Some(0), Some(1010)] {
            assert_eq!(
                run(&cd(2, 0, 100, 0, 4, 1, fill), data.clone()),
                data,
                "{fill:?}"
            );
        }
        // a header and 6 bits per value: 37 values plus the fill code need 6 bits
        let p = cd(2, 0, 100, 0, 4, 1, Some(0));
        let z = ScaleOffset
            .encode(
                &FilterParams {
                    id: 6,
                    client_data: &p,
                    element_size: 4,
                },
                data,
            )
            .unwrap()
            .into_inner();
        assert_eq!(u32::from_le_bytes(z[..4].try_into().unwrap()), 6);
        assert_eq!(z.len(), 21 + 100 * 6 / 8 + 1);
        // all equal, no fill: 0 bits, a 22-byte chunk
        let same: Vec<u8> = [7i16; 10].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(run(&cd(2, 0, 10, 0, 2, 1, None), same.clone()), same);
    }

    #[test]
    fn floats_round_trip_within_their_scale() {
        let vals: Vec<f64> = (0..60).map(|i| -5.0 + i as f64 / 5.9).collect();
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let back = run(&cd(0, 3, 60, 1, 8, 0, Some(0)), data);
        for (i, c) in back.chunks_exact(8).enumerate() {
            let x = f64::from_le_bytes(c.try_into().unwrap());
            assert!(
                (x - vals[i]).abs() <= 0.0005 + 1e-12,
                "{i}: {x} vs {}",
                vals[i]
            );
        }
    }

    #[test]
    fn damaged_chunks_are_errors() {
        let p = cd(2, 0, 10, 0, 4, 1, None);
        let fp = FilterParams {
            id: 6,
            client_data: &p,
            element_size: 4,
        };
        assert!(ScaleOffset.decode(&fp, vec![1, 2, 3], 40).is_err());
        let mut h = header(40, 0);
        assert!(
            ScaleOffset.decode(&fp, h.clone(), 40).is_err(),
            "40 bits in a 4-byte type"
        );
        h[0] = 9;
        assert!(ScaleOffset.decode(&fp, h, 40).is_err(), "values cut short");
        assert!(
            ScaleOffset.decode(&fp, vec![0; 64], 20).is_err(),
            "larger than the chunk"
        );
        let e = cd(1, 0, 10, 1, 4, 0, None);
        let fe = FilterParams {
            id: 6,
            client_data: &e,
            element_size: 4,
        };
        assert!(ScaleOffset.decode(&fe, vec![0; 64], 40).is_err(), "E-scale");
    }
}

//! N-bit (filter 5): only the significant bits of each number are stored, packed end to end,
//! as libhdf5's `H5Z_filter_nbit` packs them.
//!
//! Client data (what libhdf5's set-local callback computes from the dataset's type; see
//! `h5`'s pipeline builder for the computation):
//!
//! | value | meaning |
//! | --- | --- |
//! | 0 | the number of values |
//! | 1 | 1: nothing to pack (every number uses all its bits), the data passes through |
//! | 2 | elements per chunk |
//! | 3… | the type: `1, size, order (0 LE / 1 BE), precision, offset` for a number; `2, size, base…` for an array; `3, size, members, {offset, member…}…` for a compound; `4, size` for anything stored whole |
//!
//! Each element's parts are appended to one bit stream, most significant bit first: a
//! number's `precision` bits from bit `offset` of its value (its bytes read in its order), a
//! whole part's bytes, 8 bits each. Padding between compound members is not stored. The
//! stream is `floor(bits / 8) + 1` bytes (libhdf5 always adds that last byte). Decoding zeroes
//! everything the stream does not hold (no sign extension: type conversion does that).

use crate::bits::{load, store, BitReader, BitWriter};
use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Nbit;

/// What one part of an element is.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// A number of `size` bytes: `precision` bits at bit `offset`.
    Number {
        size: usize,
        big_endian: bool,
        precision: u32,
        offset: u32,
    },
    /// `count` elements of `base`, each `base_size` bytes.
    Array {
        base: Box<Part>,
        base_size: usize,
        count: usize,
    },
    /// Members at their offsets.
    Compound(Vec<(usize, Part)>),
    /// `size` bytes stored as they are.
    Whole(usize),
}

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams { id: id::NBIT, what }
}

/// The parameters: whether the data passes through, elements per chunk, the element's size
/// and its description.
struct Params {
    pass_through: bool,
    elements: usize,
    size: usize,
    part: Part,
}

fn params(cd: &[u32]) -> Result<Params> {
    if cd.len() < 3 || cd[0] as usize != cd.len() {
        return Err(invalid("the value count does not match"));
    }
    if cd[1] != 0 {
        return Ok(Params {
            pass_through: true,
            elements: 0,
            size: 0,
            part: Part::Whole(0),
        });
    }
    let mut at = 3;
    let part = describe(cd, &mut at, 0)?;
    if at != cd.len() {
        return Err(invalid("values left over after the type"));
    }
    let size = *cd.get(4).ok_or(invalid("no element size"))? as usize;
    Ok(Params {
        pass_through: false,
        elements: cd[2] as usize,
        size,
        part,
    })
}

/// The part described at `cd[*at..]` (nesting at most 32 deep).
fn describe(cd: &[u32], at: &mut usize, depth: u32) -> Result<Part> {
    if depth > 32 {
        return Err(invalid("type nested too deep"));
    }
    let mut next = || -> Result<u32> {
        let v = *cd.get(*at).ok_or(invalid("type description cut short"))?;
        *at += 1;
        Ok(v)
    };
    let class = next()?;
    let size = next()? as usize;
    Ok(match class {
        1 => {
            let order = next()?;
            let precision = next()?;
            let offset = next()?;
            if size == 0 || size > 16 || order > 1 {
                return Err(invalid("number size or byte order"));
            }
            if precision == 0 || precision as u64 + offset as u64 > 8 * size as u64 {
                return Err(invalid("number precision/offset"));
            }
            Part::Number {
                size,
                big_endian: order == 1,
                precision,
                offset,
            }
        }
        2 => {
            let base = describe(cd, at, depth + 1)?;
            let base_size = part_size(&base);
            if base_size == 0 || !size.is_multiple_of(base_size) {
                return Err(invalid("array size is not a multiple of its base"));
            }
            Part::Array {
                base: Box::new(base),
                base_size,
                count: size / base_size,
            }
        }
        3 => {
            let n = next()? as usize;
            let mut members = Vec::with_capacity(n.min(cd.len()));
            for _ in 0..n {
                let offset = *cd.get(*at).ok_or(invalid("type description cut short"))? as usize;
                *at += 1;
                let m = describe(cd, at, depth + 1)?;
                if offset + part_size(&m) > size {
                    return Err(invalid("compound member past the compound's size"));
                }
                members.push((offset, m));
            }
            Part::Compound(members)
        }
        4 => Part::Whole(size),
        _ => return Err(invalid("unknown type class")),
    })
}

/// The bytes a part covers (a compound: through its last member).
fn part_size(p: &Part) -> usize {
    match p {
        Part::Number { size, .. } | Part::Whole(size) => *size,
        Part::Array {
            base_size, count, ..
        } => base_size * count,
        Part::Compound(members) => members
            .iter()
            .map(|(o, m)| o + part_size(m))
            .max()
            .unwrap_or(0),
    }
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn pack(p: &Part, e: &[u8], w: &mut BitWriter) {
    match p {
        Part::Number {
            size,
            big_endian,
            precision,
            offset,
        } => {
            let v = load(&e[..*size], *big_endian);
            w.put((v >> offset) & mask(*precision), *precision);
        }
        Part::Array {
            base,
            base_size,
            count,
        } => {
            for i in 0..*count {
                pack(base, &e[i * base_size..], w);
            }
        }
        Part::Compound(members) => {
            for (o, m) in members {
                pack(m, &e[*o..], w);
            }
        }
        Part::Whole(size) => {
            for &x in &e[..*size] {
                w.put(x as u128, 8);
            }
        }
    }
}

fn unpack(p: &Part, e: &mut [u8], r: &mut BitReader<'_>) -> Result<()> {
    match p {
        Part::Number {
            size,
            big_endian,
            precision,
            offset,
        } => {
            let v = r.get(*precision)? << offset;
            store(v, &mut e[..*size], *big_endian);
        }
        Part::Array {
            base,
            base_size,
            count,
        } => {
            for i in 0..*count {
                unpack(base, &mut e[i * base_size..], r)?;
            }
        }
        Part::Compound(members) => {
            for (o, m) in members {
                unpack(m, &mut e[*o..], r)?;
            }
        }
        Part::Whole(size) => {
            for x in &mut e[..*size] {
                *x = r.get(8)? as u8;
            }
        }
    }
    Ok(())
}

impl Filter for Nbit {
    fn id(&self) -> u16 {
        id::NBIT
    }

    fn decode(&self, p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let pr = params(p.client_data)?;
        if pr.pass_through {
            return Ok(input);
        }
        let total = pr
            .elements
            .checked_mul(pr.size)
            .filter(|&t| t <= limit)
            .ok_or(Error::TooLarge {
                id: id::NBIT,
                limit,
            })?;
        if pr.size == 0 || part_size(&pr.part) > pr.size {
            return Err(invalid("element size"));
        }
        let mut out = vec![0u8; total];
        let mut r = BitReader::new(&input, id::NBIT);
        for e in out.chunks_exact_mut(pr.size) {
            unpack(&pr.part, e, &mut r)?;
        }
        Ok(out)
    }

    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let pr = params(p.client_data)?;
        if pr.pass_through {
            return Ok(Encoded::Data(input));
        }
        if pr.size == 0
            || part_size(&pr.part) > pr.size
            || pr.elements.checked_mul(pr.size) != Some(input.len())
        {
            return Err(invalid(
                "the chunk is not elements per chunk × element size",
            ));
        }
        let mut w = BitWriter::with_capacity(input.len() + 1);
        for e in input.chunks_exact(pr.size) {
            pack(&pr.part, e, &mut w);
        }
        Ok(Encoded::Data(w.finish_libhdf5()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(cd: &[u32]) -> FilterParams<'_> {
        FilterParams {
            id: id::NBIT,
            client_data: cd,
            element_size: 4,
        }
    }

    #[test]
    fn a_17_bit_integer_packs_and_unpacks() {
        // <i4, precision 17, offset 0, 5 elements
        let cd = [8, 0, 5, 1, 4, 0, 17, 0];
        let vals: [u32; 5] = [0, 1, 0x1ffff, 0x10000, 12345];
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let z = Nbit.encode(&fp(&cd), data.clone()).unwrap().into_inner();
        assert_eq!(z.len(), 5 * 17 / 8 + 1);
        // 0 (17 bits), then 1: the first two bytes are zero, the third holds bit 16 of 0...
        assert_eq!(&z[..2], &[0, 0]);
        assert_eq!(Nbit.decode(&fp(&cd), z, 20).unwrap(), data);
    }

    #[test]
    fn offsets_big_endian_and_compounds() {
        // >u2 with precision 5 at offset 3, 4 elements
        let cd = [8, 0, 4, 1, 2, 1, 5, 3];
        let data: Vec<u8> = [3u16, 31, 0, 17]
            .iter()
            .flat_map(|v| (v << 3).to_be_bytes())
            .collect();
        let z = Nbit.encode(&fp(&cd), data.clone()).unwrap().into_inner();
        assert_eq!(z.len(), 20 / 8 + 1);
        assert_eq!(z[0], 0b0001_1111); // 3 (5 bits), then the top 3 bits of 31
        assert_eq!(Nbit.decode(&fp(&cd), z, 8).unwrap(), data);
        // {i4 prec 20 @0, f4 whole @4}: the worked example of libhdf5's parameters
        let cd = [18, 0, 2, 3, 8, 2, 0, 1, 4, 0, 20, 0, 4, 1, 4, 0, 32, 0];
        let data: Vec<u8> = [(5u32, 1.5f32), (0xfffff, -2.0)]
            .iter()
            .flat_map(|(i, f)| i.to_le_bytes().into_iter().chain(f.to_le_bytes()))
            .collect();
        let z = Nbit.encode(&fp(&cd), data.clone()).unwrap().into_inner();
        assert_eq!(z.len(), 2 * 52 / 8 + 1);
        assert_eq!(Nbit.decode(&fp(&cd), z, 16).unwrap(), data);
    }

    #[test]
    fn pass_through_and_bad_input() {
        let cd = [8, 1, 5, 1, 4, 0, 32, 0];
        assert_eq!(Nbit.decode(&fp(&cd), vec![1, 2, 3], 3).unwrap(), [1, 2, 3]);
        assert_eq!(Nbit.decode(&fp(&[3, 1, 5]), vec![9], 1).unwrap(), [9]);
        let cd = [8, 0, 5, 1, 4, 0, 17, 0];
        // too few packed bits, a chunk larger than expected, broken parameters
        assert!(matches!(
            Nbit.decode(&fp(&cd), vec![0; 4], 20),
            Err(Error::Corrupt { id: 5, .. })
        ));
        assert!(matches!(
            Nbit.decode(&fp(&cd), vec![0; 11], 19),
            Err(Error::TooLarge { id: 5, .. })
        ));
        for bad in [
            &[9, 0, 5, 1, 4, 0, 17, 0][..],
            &[8, 0, 5, 1, 4, 0, 40, 0],
            &[5, 0, 5, 7, 4],
        ] {
            assert!(Nbit.decode(&fp(bad), vec![0; 20], 20).is_err(), "{bad:?}");
        }
    }
}

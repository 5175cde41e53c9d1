//! Bitshuffle (filter 32008, kiyo-masui/bitshuffle as hdf5plugin builds it): within blocks of
//! elements, bit k of byte j of every element is gathered into one row, then each block is
//! optionally LZ4- or zstd-compressed.
//!
//! Client data: `[version major, minor, element size, block size in elements (0: default),
//! compression (0 none, 2 LZ4, 3 zstd), zstd level]`. The default block is 8192 bytes' worth
//! of elements, a multiple of 8, at least 128. A chunk of n elements is `n / block` full blocks,
//! then one block of the rest rounded down to a multiple of 8, then the last `n % 8`
//! elements as they are. Compressed, it is `u64 BE` total bytes, `u32 BE` block bytes, then
//! per block `u32 BE` stored size and an LZ4 block or a zstd frame, then the leftover.

// Blosc and Blosc2 use the transform alone when the bitshuffle filter is not built.
#![cfg_attr(not(feature = "bitshuffle"), allow(dead_code))]

use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Bitshuffle;

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams {
        id: id::BITSHUFFLE,
        what,
    }
}

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt {
        id: id::BITSHUFFLE,
        what,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Codec {
    None,
    Lz4,
    Zstd,
}

struct Params {
    elem: usize,
    block: usize,
    codec: Codec,
    /// zstd's level (client data value 5, signed; absent: 0, zstd's default).
    level: i32,
}

fn params(cd: &[u32]) -> Result<Params> {
    let elem = *cd.get(2).ok_or(invalid("expected at least 3 values"))? as usize;
    if elem == 0 {
        return Err(invalid("element size 0"));
    }
    let block = match cd.get(3).copied().unwrap_or(0) as usize {
        0 => ((8192 / elem) / 8 * 8).max(128),
        b if b % 8 == 0 => b,
        _ => return Err(invalid("block size not a multiple of 8")),
    };
    let codec = match cd.get(4).copied().unwrap_or(0) {
        0 => Codec::None,
        2 => Codec::Lz4,
        3 => Codec::Zstd,
        _ => return Err(invalid("unknown compression")),
    };
    let level = cd.get(5).map_or(0, |&l| l as i32);
    Ok(Params {
        elem,
        block,
        codec,
        level,
    })
}

/// The bit transpose of `m` elements (a multiple of 8) of `s` bytes.
pub(crate) fn shuffle_block(src: &[u8], s: usize, out: &mut [u8]) {
    let m = src.len() / s;
    let row = m / 8;
    out.fill(0);
    for i in 0..m {
        for j in 0..s {
            let byte = src[i * s + j];
            if byte == 0 {
                continue;
            }
            for k in 0..8 {
                if byte >> k & 1 == 1 {
                    out[(8 * j + k) * row + i / 8] |= 1 << (i % 8);
                }
            }
        }
    }
}

pub(crate) fn unshuffle_block(src: &[u8], s: usize, out: &mut [u8]) {
    let m = out.len() / s;
    let row = m / 8;
    out.fill(0);
    for j in 0..s {
        for k in 0..8 {
            let r = &src[(8 * j + k) * row..(8 * j + k + 1) * row];
            for (q, &byte) in r.iter().enumerate() {
                if byte == 0 {
                    continue;
                }
                for t in 0..8 {
                    if byte >> t & 1 == 1 {
                        out[(8 * q + t) * s + j] |= 1 << k;
                    }
                }
            }
        }
    }
}

/// The blocks of `n` elements: (first element, count) of each transposed block.
fn blocks(n: usize, block: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = (0..n / block).map(|b| (b * block, block)).collect();
    let rest = n % block - (n % block) % 8;
    if rest > 0 {
        out.push((n / block * block, rest));
    }
    out
}

fn be_u32(b: &[u8], at: usize) -> Result<usize> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
        .ok_or(corrupt("truncated"))
}

impl Filter for Bitshuffle {
    fn id(&self) -> u16 {
        id::BITSHUFFLE
    }

    fn decode(&self, fp: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let p = params(fp.client_data)?;
        let (total, mut at, block) = if p.codec == Codec::None {
            (input.len(), 0, p.block)
        } else {
            let total = input
                .get(..8)
                .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .ok_or(corrupt("truncated header"))?;
            let bytes = be_u32(&input, 8)?;
            if bytes == 0 || bytes % p.elem != 0 || (bytes / p.elem) % 8 != 0 {
                return Err(corrupt("block size"));
            }
            (total as usize, 12, bytes / p.elem)
        };
        if total > limit {
            return Err(Error::TooLarge {
                id: id::BITSHUFFLE,
                limit,
            });
        }
        if total % p.elem != 0 {
            return Err(corrupt("not a whole number of elements"));
        }
        let (s, n) = (p.elem, total / p.elem);
        let mut out = vec![0u8; total];
        let mut shuffled = Vec::new();
        for (first, count) in blocks(n, block) {
            let bytes = count * s;
            let src: &[u8] = match p.codec {
                Codec::None => {
                    let src = input
                        .get(at..at + bytes)
                        .ok_or(corrupt("block cut short"))?;
                    at += bytes;
                    src
                }
                codec => {
                    let stored = be_u32(&input, at)?;
                    at += 4;
                    let src = input
                        .get(at..at + stored)
                        .ok_or(corrupt("block past the end of the chunk"))?;
                    at += stored;
                    shuffled.resize(bytes, 0);
                    let got = if codec == Codec::Lz4 {
                        decode_lz4(src, &mut shuffled)?
                    } else {
                        decode_zstd(src, &mut shuffled)?
                    };
                    if got != bytes {
                        return Err(corrupt("block shorter than its size"));
                    }
                    &shuffled
                }
            };
            unshuffle_block(src, s, &mut out[first * s..(first + count) * s]);
        }
        let done = (n - n % 8) * s;
        let rest = input
            .get(at..at + (total - done))
            .ok_or(corrupt("leftover elements cut short"))?;
        out[done..].copy_from_slice(rest);
        Ok(out)
    }

    fn encode(&self, fp: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let p = params(fp.client_data)?;
        if !input.len().is_multiple_of(p.elem) {
            return Err(invalid("chunk not a whole number of elements"));
        }
        let (s, n) = (p.elem, input.len() / p.elem);
        let mut out = Vec::with_capacity(input.len() + 16);
        if p.codec != Codec::None {
            out.extend_from_slice(&(input.len() as u64).to_be_bytes());
            out.extend_from_slice(&((p.block * s) as u32).to_be_bytes());
        }
        let mut shuffled = Vec::new();
        for (first, count) in blocks(n, p.block) {
            shuffled.resize(count * s, 0);
            shuffle_block(&input[first * s..(first + count) * s], s, &mut shuffled);
            match p.codec {
                Codec::None => out.extend_from_slice(&shuffled),
                Codec::Lz4 => {
                    let z = encode_lz4(&shuffled)?;
                    out.extend_from_slice(&(z.len() as u32).to_be_bytes());
                    out.extend(z);
                }
                Codec::Zstd => {
                    let z = encode_zstd(&shuffled, p.level)?;
                    out.extend_from_slice(&(z.len() as u32).to_be_bytes());
                    out.extend(z);
                }
            }
        }
        out.extend_from_slice(&input[(n - n % 8) * s..]);
        Ok(Encoded::Data(out))
    }
}

#[cfg(feature = "lz4")]
fn decode_lz4(src: &[u8], dst: &mut [u8]) -> Result<usize> {
    lz4_flex::block::decompress_into(src, dst).map_err(|_| corrupt("bad LZ4 block"))
}

#[cfg(feature = "lz4")]
fn encode_lz4(src: &[u8]) -> Result<Vec<u8>> {
    Ok(lz4_flex::block::compress(src))
}

#[cfg(not(feature = "lz4"))]
fn decode_lz4(_: &[u8], _: &mut [u8]) -> Result<usize> {
    Err(invalid("LZ4 blocks need the lz4 feature"))
}

#[cfg(not(feature = "lz4"))]
fn encode_lz4(_: &[u8]) -> Result<Vec<u8>> {
    Err(invalid("LZ4 blocks need the lz4 feature"))
}

#[cfg(feature = "zstd")]
fn decode_zstd(src: &[u8], dst: &mut [u8]) -> Result<usize> {
    crate::zstd::decode_into(src, dst).map_err(corrupt)
}

#[cfg(feature = "zstd")]
fn encode_zstd(src: &[u8], level: i32) -> Result<Vec<u8>> {
    crate::zstd::compress(src, level).map_err(corrupt)
}

#[cfg(not(feature = "zstd"))]
fn decode_zstd(_: &[u8], _: &mut [u8]) -> Result<usize> {
    Err(invalid("zstd blocks need the zstd feature"))
}

#[cfg(not(feature = "zstd"))]
fn encode_zstd(_: &[u8], _: i32) -> Result<Vec<u8>> {
    Err(invalid("zstd blocks need the zstd feature"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transpose_is_the_definition_and_round_trips() {
        // 16 elements of 2 bytes: row (8j + k) byte q bit t is bit k of byte j of element 8q + t
        let src: Vec<u8> = (0..32u32).map(|i| (i * 37 % 251) as u8).collect();
        let mut t = vec![0u8; 32];
        shuffle_block(&src, 2, &mut t);
        for j in 0..2 {
            for k in 0..8 {
                for q in 0..2 {
                    for b in 0..8 {
                        let e = 8 * q + b;
                        let want = src[e * 2 + j] >> k & 1;
                        assert_eq!(t[(8 * j + k) * 2 + q] >> b & 1, want);
                    }
                }
            }
        }
        let mut back = vec![0u8; 32];
        unshuffle_block(&t, 2, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn every_codec_round_trips_with_leftovers() {
        for comp in [0u32, 2, 3] {
            for (elem, n) in [(4usize, 1000usize), (1, 77), (8, 9), (2, 5000)] {
                let cd = [0, 4, elem as u32, 0, comp];
                let fp = FilterParams {
                    id: id::BITSHUFFLE,
                    client_data: &cd,
                    element_size: elem,
                };
                let data: Vec<u8> = (0..n * elem).map(|i| (i * 7 / 3) as u8).collect();
                let z = Bitshuffle.encode(&fp, data.clone()).unwrap().into_inner();
                let back = Bitshuffle.decode(&fp, z.clone(), data.len()).unwrap();
                assert_eq!(back, data, "comp {comp} elem {elem} n {n}");
                for cut in [0, z.len() / 2, z.len().saturating_sub(1)] {
                    if cut < z.len() && comp != 0 {
                        assert!(Bitshuffle
                            .decode(&fp, z[..cut].to_vec(), data.len())
                            .is_err());
                    }
                }
            }
        }
    }
}

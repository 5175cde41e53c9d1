//! Blosc (filter 32001, hdf5-blosc with c-blosc 1.x as hdf5plugin builds it): each chunk is
//! one Blosc1 buffer. All integers little-endian.
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | format version, 2 (c-blosc 1.x refuses any other) |
//! | 1 | codec format version (1) |
//! | 1 | flags: bit 0 byte shuffle, bit 1 stored raw ("memcpyed"), bit 2 bit shuffle, bit 3 reserved (must be 0), bit 4 "don't split", bits 5–7 codec: 0 BloscLZ, 1 LZ4 (and LZ4HC), 2 Snappy, 3 zlib, 4 zstd |
//! | 1 | element size (typesize) |
//! | 4 | nbytes: the uncompressed size |
//! | 4 | block size |
//! | 4 | cbytes: the whole buffer's size, this header included |
//! | raw: nbytes | memcpyed: the data, nothing else (cbytes = nbytes + 16) |
//! | else: 4 × blocks | each block's start, from the start of the buffer |
//! | at each start | the block's streams: `i32` size, then that many bytes; a size equal to the stream's length means stored raw |
//!
//! A chunk of nbytes is `ceil(nbytes / block size)` blocks, the last one the rest. A block
//! is split into `typesize` streams (one per byte plane when shuffled) when the "don't split"
//! flag is clear, typesize ≤ 16, the block holds at least 128 elements and it is not the
//! last partial block; otherwise it is one stream. After its streams are decoded the block
//! is unshuffled: byte shuffle within the block (its trailing `size % typesize` bytes as
//! they are), or bit shuffle when the block's element count is a multiple of 8 (else the
//! block is left as it is).
//!
//! Client data as hdf5plugin's `set_local` stores it: `[2, 2, typesize, chunk bytes, clevel,
//! shuffle (0 none, 1 byte, 2 bit), codec (0 blosclz, 1 lz4, 2 lz4hc, 3 snappy, 4 zlib,
//! 5 zstd)]`. Decoding needs none of it. The C filter compresses into a buffer of exactly
//! the chunk's size, so a chunk that does not fit (clevel 0, fewer than 128 bytes,
//! incompressible data) fails and libhdf5 stores it raw; our encoder declines those chunks.

// Blosc2 builds share the chunk code below without the Blosc filter itself.
#![cfg_attr(not(feature = "blosc"), allow(dead_code))]

use crate::{id, shuffle, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Blosc;

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt {
        id: id::BLOSC,
        what,
    }
}

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams {
        id: id::BLOSC,
        what,
    }
}

/// A compressor inside a Blosc or Blosc2 chunk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Codec {
    BloscLz,
    Lz4,
    Snappy,
    Zlib,
    Zstd,
}

impl Codec {
    /// The codec of a chunk's flags (bits 5–7).
    pub(crate) fn from_format(format: u8) -> Option<Codec> {
        Some(match format {
            0 => Codec::BloscLz,
            1 => Codec::Lz4,
            2 => Codec::Snappy,
            3 => Codec::Zlib,
            4 => Codec::Zstd,
            _ => return None,
        })
    }

    /// Its number in a chunk's flags.
    pub(crate) fn format(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 => 1,
            Codec::Snappy => 2,
            Codec::Zlib => 3,
            Codec::Zstd => 4,
        }
    }

    /// The codec of a client-data compressor code (0 blosclz, 1 lz4, 2 lz4hc, 3 snappy,
    /// 4 zlib, 5 zstd); LZ4HC writes LZ4 blocks.
    pub(crate) fn from_compcode(code: u32) -> Option<Codec> {
        Some(match code {
            0 => Codec::BloscLz,
            1 | 2 => Codec::Lz4,
            3 => Codec::Snappy,
            4 => Codec::Zlib,
            5 => Codec::Zstd,
            _ => return None,
        })
    }
}

/// Decode one compressed stream into exactly `dst`.
pub(crate) fn decompress(fid: u16, codec: Codec, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let bad = |what| Error::Corrupt { id: fid, what };
    match codec {
        Codec::BloscLz => match crate::blosclz::decompress(src, dst) {
            Some(n) if n == dst.len() => Ok(()),
            Some(_) => Err(bad("BloscLZ stream shorter than its block")),
            None => Err(bad("bad BloscLZ stream")),
        },
        Codec::Lz4 => match lz4_flex::block::decompress_into(src, dst) {
            Ok(n) if n == dst.len() => Ok(()),
            Ok(_) => Err(bad("LZ4 stream shorter than its block")),
            Err(_) => Err(bad("bad LZ4 stream")),
        },
        Codec::Snappy => {
            crate::snappy::decompress(src, dst).ok_or(bad("bad Snappy stream (or wrong size)"))
        }
        Codec::Zlib => crate::deflate::inflate_into(src, dst).map_err(|e| match e {
            Error::TooLarge { .. } => bad("zlib stream longer than its block"),
            _ => bad("bad zlib stream"),
        }),
        Codec::Zstd => match crate::zstd::decode_into(src, dst) {
            Ok(n) if n == dst.len() => Ok(()),
            Ok(_) => Err(bad("zstd frame shorter than its block")),
            Err(what) => Err(bad(what)),
        },
    }
}

/// One stream compressed with `codec` at `clevel` (zlib's and zstd's level; the others have
/// one level).
pub(crate) fn compress(codec: Codec, clevel: u32, src: &[u8]) -> Result<Vec<u8>> {
    Ok(match codec {
        Codec::BloscLz => crate::blosclz::compress(src),
        Codec::Lz4 => lz4_flex::block::compress(src),
        Codec::Snappy => crate::snappy::compress(src),
        Codec::Zlib => {
            use std::io::Write;
            let level = flate2::Compression::new(clevel.min(9));
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            e.write_all(src)
                .and_then(|()| e.finish())
                .map_err(|_| corrupt("zlib encoder failed"))?
        }
        // c-blosc hands its level (1-9) to zstd as it is
        Codec::Zstd => crate::zstd::compress(src, clevel.min(22) as i32).map_err(corrupt)?,
    })
}

/// The first 16 bytes of a Blosc1 or Blosc2 chunk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) version: u8,
    pub(crate) flags: u8,
    pub(crate) typesize: usize,
    pub(crate) nbytes: usize,
    pub(crate) blocksize: usize,
    pub(crate) cbytes: usize,
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    le_u32(b, at).map(|v| v as i32)
}

impl Header {
    /// Read the 16-byte header; sizes are checked against the input by the callers.
    pub(crate) fn read(fid: u16, input: &[u8]) -> Result<Header> {
        let bad = |what| Error::Corrupt { id: fid, what };
        if input.len() < 16 {
            return Err(bad("chunk shorter than its 16-byte header"));
        }
        let size = |at| le_i32(input, at).and_then(|v| usize::try_from(v).ok());
        Ok(Header {
            version: input[0],
            flags: input[2],
            typesize: usize::from(input[3]),
            nbytes: size(4).ok_or(bad("negative nbytes"))?,
            blocksize: size(8).ok_or(bad("negative block size"))?,
            cbytes: size(12).ok_or(bad("negative cbytes"))?,
        })
    }

    pub(crate) fn nblocks(&self) -> usize {
        self.nbytes.div_ceil(self.blocksize)
    }

    /// Block `j`'s size and whether it is the last, partial block.
    pub(crate) fn block(&self, j: usize) -> (usize, bool) {
        let start = j * self.blocksize;
        let size = self.blocksize.min(self.nbytes - start);
        (size, size < self.blocksize)
    }
}

/// How a chunk's streams may encode a block: Blosc2 adds all-zero streams (size 0) and
/// repeated-byte streams (negative size, then a token byte).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Streams {
    Blosc1,
    Blosc2,
}

/// Decode the `nstreams` streams of one block starting at `start` (an offset into `chunk`,
/// which ends at the chunk's cbytes) into `out` (the block's bytes). Returns where the last
/// stream ended.
pub(crate) fn read_streams(
    fid: u16,
    kind: Streams,
    codec: Option<Codec>,
    chunk: &[u8],
    start: usize,
    nstreams: usize,
    out: &mut [u8],
) -> Result<usize> {
    let bad = |what| Error::Corrupt { id: fid, what };
    if nstreams == 0 || !out.len().is_multiple_of(nstreams) || out.len() / nstreams == 0 {
        return Err(bad("block not a whole number of streams"));
    }
    let neblock = out.len() / nstreams;
    let mut at = start;
    for dst in out.chunks_exact_mut(neblock) {
        let csize = le_i32(chunk, at).ok_or(bad("stream size past the end of the chunk"))?;
        at += 4;
        if kind == Streams::Blosc2 && csize <= 0 {
            if csize == 0 {
                dst.fill(0);
                continue;
            }
            let token = *chunk
                .get(at)
                .ok_or(bad("stream token past the end of the chunk"))?;
            at += 1;
            if token & 1 == 0 || csize < -255 {
                return Err(bad("unknown stream token"));
            }
            dst.fill((-csize) as u8);
            continue;
        }
        let csize = usize::try_from(csize).map_err(|_| bad("negative stream size"))?;
        let src = at
            .checked_add(csize)
            .and_then(|end| chunk.get(at..end))
            .ok_or(bad("stream past the end of the chunk"))?;
        at += csize;
        if csize == neblock {
            dst.copy_from_slice(src);
        } else {
            let codec = codec.ok_or(bad("unknown codec"))?;
            decompress(fid, codec, src, dst)?;
        }
    }
    Ok(at)
}

/// Undo the bit shuffle of a block of `typesize`-byte elements: the first `n` elements,
/// `n` a multiple of 8, were transposed as one unit, the rest is as it was.
pub(crate) fn bitunshuffle(src: &[u8], typesize: usize, n: usize, out: &mut [u8]) {
    let done = n * typesize;
    crate::bitshuffle::unshuffle_block(&src[..done], typesize, &mut out[..done]);
    out[done..].copy_from_slice(&src[done..]);
}

/// The bit shuffle [`bitunshuffle`] undoes.
pub(crate) fn bitshuffle(src: &[u8], typesize: usize, n: usize, out: &mut [u8]) {
    let done = n * typesize;
    crate::bitshuffle::shuffle_block(&src[..done], typesize, &mut out[..done]);
    out[done..].copy_from_slice(&src[done..]);
}

/// Blosc1's bit shuffle covers a block only when its element count is a multiple of 8.
fn v1_bit_count(bsize: usize, typesize: usize) -> usize {
    let n = bsize / typesize;
    if n.is_multiple_of(8) {
        n
    } else {
        0
    }
}

const FLAG_SHUFFLE: u8 = 0x01;
const FLAG_MEMCPYED: u8 = 0x02;
const FLAG_BITSHUFFLE: u8 = 0x04;
const FLAG_DONT_SPLIT: u8 = 0x10;

/// Decode one Blosc1 buffer; `limit` bounds nbytes.
fn decode_v1(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let h = Header::read(id::BLOSC, input)?;
    if h.version != 2 {
        return Err(corrupt("not a Blosc1 (format version 2) chunk"));
    }
    if h.flags & 0x08 != 0 {
        return Err(corrupt("reserved flag bit 3 set"));
    }
    if h.nbytes > limit {
        return Err(Error::TooLarge {
            id: id::BLOSC,
            limit,
        });
    }
    if h.cbytes < 16 || h.cbytes > input.len() {
        return Err(corrupt("cbytes outside the chunk"));
    }
    if h.nbytes == 0 {
        return Ok(Vec::new());
    }
    if h.blocksize == 0 || h.blocksize > h.nbytes {
        return Err(corrupt("block size 0 or larger than the chunk"));
    }
    if h.typesize == 0 {
        return Err(corrupt("typesize 0"));
    }
    let chunk = &input[..h.cbytes];
    if h.flags & FLAG_MEMCPYED != 0 {
        if h.cbytes != h.nbytes + 16 {
            return Err(corrupt("memcpyed chunk whose cbytes is not nbytes + 16"));
        }
        return Ok(chunk[16..].to_vec());
    }
    let codec = Codec::from_format(h.flags >> 5);
    let nblocks = h.nblocks();
    if nblocks > (h.cbytes - 16) / 4 {
        return Err(corrupt("block starts past the end of the chunk"));
    }
    let ts = h.typesize;
    let mut out = vec![0u8; h.nbytes];
    let mut tmp = vec![0u8; h.blocksize];
    for j in 0..nblocks {
        let (bsize, partial) = h.block(j);
        let start = le_i32(chunk, 16 + 4 * j)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s >= 16 && s <= h.cbytes - 4)
            .ok_or(corrupt("block start outside the chunk"))?;
        let split = h.flags & FLAG_DONT_SPLIT == 0 && ts <= 16 && bsize / ts >= 128 && !partial;
        let nstreams = if split { ts } else { 1 };
        let buf = &mut tmp[..bsize];
        read_streams(
            id::BLOSC,
            Streams::Blosc1,
            codec,
            chunk,
            start,
            nstreams,
            buf,
        )?;
        let dst = &mut out[j * h.blocksize..j * h.blocksize + bsize];
        if h.flags & FLAG_SHUFFLE != 0 && ts > 1 {
            dst.copy_from_slice(&shuffle::unshuffle(buf, ts));
        } else if h.flags & FLAG_BITSHUFFLE != 0 && bsize >= ts {
            bitunshuffle(buf, ts, v1_bit_count(bsize, ts), dst);
        } else {
            dst.copy_from_slice(buf);
        }
    }
    Ok(out)
}

/// c-blosc 1.x's block size for a buffer (`compute_blocksize`): 32 KiB scaled by clevel
/// (doubled for the high-ratio codecs), then for split blocks ×typesize within 64 KiB..1 MiB;
/// at most the buffer, a multiple of typesize.
fn v1_blocksize(clevel: u32, typesize: usize, nbytes: usize, compcode: u32) -> usize {
    if nbytes < typesize {
        return 1;
    }
    let hcr = matches!(compcode, 2 | 4 | 5);
    let mut bs = nbytes;
    if nbytes >= 32 * 1024 {
        bs = 32 * 1024 * if hcr { 2 } else { 1 };
        bs = match clevel {
            0 => bs / 4,
            1 => bs / 2,
            2 => bs,
            3 => bs * 2,
            4 | 5 => bs * 4,
            6..=8 => bs * 8,
            _ => bs * 8 * if hcr { 2 } else { 1 },
        };
    }
    if clevel > 0 && v1_split(compcode, typesize, bs) {
        bs = bs.min(1 << 18) * typesize;
        bs = bs.clamp(1 << 16, 1 << 20);
    }
    bs = bs.min(nbytes);
    if bs > typesize {
        bs = bs / typesize * typesize;
    }
    bs
}

/// c-blosc 1.x's FORWARD_COMPAT split rule: split blocks into typesize streams unless zstd,
/// typesize > 16 or fewer than 128 elements per block.
fn v1_split(compcode: u32, typesize: usize, blocksize: usize) -> bool {
    compcode != 5 && typesize <= 16 && blocksize / typesize >= 128
}

/// Blosc1 encoding of `input` as the C filter does it, or `None` when the C filter would
/// fail (the result would not fit in the chunk's own size).
fn encode_v1(
    input: &[u8],
    typesize: usize,
    clevel: u32,
    shuffle_mode: u32,
    compcode: u32,
) -> Result<Option<Vec<u8>>> {
    let nbytes = input.len();
    // memcpyed chunks (clevel 0, under 128 bytes) need nbytes + 16 bytes: never fit
    if clevel == 0 || nbytes < 128 || nbytes > i32::MAX as usize - 16 {
        return Ok(None);
    }
    let codec = Codec::from_compcode(compcode).ok_or(invalid("unknown compressor code"))?;
    let ts = if typesize > 255 { 1 } else { typesize };
    let blocksize = v1_blocksize(clevel, ts, nbytes, compcode);
    // the header's split flag comes from the final block size, as in c-blosc
    let split = v1_split(compcode, ts, blocksize);
    let mut flags = codec.format() << 5;
    match shuffle_mode {
        0 => {}
        1 => flags |= FLAG_SHUFFLE,
        2 => flags |= FLAG_BITSHUFFLE,
        _ => return Err(invalid("shuffle must be 0, 1 or 2")),
    }
    if !split {
        flags |= FLAG_DONT_SPLIT;
    }
    let h = Header {
        version: 2,
        flags,
        typesize: ts,
        nbytes,
        blocksize,
        cbytes: 0,
    };
    let nblocks = h.nblocks();
    let mut out = Vec::with_capacity(nbytes);
    out.extend_from_slice(&[2, 1, flags, ts as u8]);
    out.extend_from_slice(&(nbytes as u32).to_le_bytes());
    out.extend_from_slice(&(blocksize as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.resize(16 + 4 * nblocks, 0);
    let mut tmp = vec![0u8; blocksize];
    for j in 0..nblocks {
        let (bsize, partial) = h.block(j);
        let at = out.len();
        out[16 + 4 * j..20 + 4 * j].copy_from_slice(&(at as u32).to_le_bytes());
        let src = &input[j * blocksize..j * blocksize + bsize];
        let buf = &mut tmp[..bsize];
        if flags & FLAG_SHUFFLE != 0 && ts > 1 {
            buf.copy_from_slice(&shuffle::shuffle(src, ts));
        } else if flags & FLAG_BITSHUFFLE != 0 && bsize >= ts {
            bitshuffle(src, ts, v1_bit_count(bsize, ts), buf);
        } else {
            buf.copy_from_slice(src);
        }
        let nstreams = if split && !partial { ts } else { 1 };
        for stream in buf.chunks_exact(bsize / nstreams) {
            let z = compress(codec, clevel, stream)?;
            let (len, bytes) = if z.is_empty() || z.len() >= stream.len() {
                (stream.len(), stream)
            } else {
                (z.len(), &z[..])
            };
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(bytes);
            if out.len() > nbytes {
                return Ok(None);
            }
        }
    }
    let cbytes = out.len() as u32;
    out[12..16].copy_from_slice(&cbytes.to_le_bytes());
    Ok(Some(out))
}

impl Filter for Blosc {
    fn id(&self) -> u16 {
        id::BLOSC
    }

    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        decode_v1(&input, limit)
    }

    /// Declines where the C filter fails: clevel 0, chunks under 128 bytes, and output that
    /// would not be smaller than the chunk.
    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let cd = p.client_data;
        let typesize = *cd.get(2).ok_or(invalid("expected at least 3 values"))? as usize;
        if typesize == 0 {
            return Err(invalid("typesize 0"));
        }
        let clevel = cd.get(4).copied().unwrap_or(5);
        if clevel > 9 {
            return Err(invalid("clevel above 9"));
        }
        let shuffle_mode = cd.get(5).copied().unwrap_or(1);
        let compcode = cd.get(6).copied().unwrap_or(0);
        match encode_v1(&input, typesize, clevel, shuffle_mode, compcode)? {
            Some(out) => Ok(Encoded::Data(out)),
            None => Ok(Encoded::Declined {
                data: input,
                why: "Blosc output would not be smaller than the chunk",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect()
    }

    fn smooth(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 3) % 7 + (i / 1000)) as u8).collect()
    }

    #[test]
    fn every_combination_round_trips() {
        let sizes = [0usize, 1, 127, 128, 129, 1000, 4096, 4100, 33_333, 100_001];
        for compcode in 0..=5u32 {
            for shuffle_mode in 0..=2u32 {
                for ts in [1usize, 2, 4, 8, 3, 16, 17] {
                    for &n in &sizes {
                        let n = n / ts * ts + if n % 2 == 1 { n % ts } else { 0 };
                        for (data, compressible) in [(smooth(n), true), (noise(n, n as u64), false)]
                        {
                            let cd = crate::client_data::blosc(
                                ts as u32,
                                n as u32,
                                5,
                                shuffle_mode,
                                compcode,
                            );
                            let p = FilterParams {
                                id: id::BLOSC,
                                client_data: &cd,
                                element_size: ts,
                            };
                            match Blosc.encode(&p, data.clone()).unwrap() {
                                Encoded::Data(z) => {
                                    assert!(z.len() <= n);
                                    let back = Blosc.decode(&p, z, n).unwrap();
                                    assert_eq!(
                                        back, data,
                                        "codec {compcode} shuffle {shuffle_mode} ts {ts} n {n}"
                                    );
                                }
                                Encoded::Declined { data: d, .. } => {
                                    assert_eq!(d, data);
                                    assert!(
                                        !compressible || n < 1000,
                                        "declined codec {compcode} shuffle {shuffle_mode} ts {ts} n {n}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn clevel_0_and_small_chunks_decline() {
        for (n, clevel) in [(1000usize, 0u32), (127, 5)] {
            let cd = [2, 2, 1, n as u32, clevel, 1, 0];
            let p = FilterParams {
                id: id::BLOSC,
                client_data: &cd,
                element_size: 1,
            };
            assert!(matches!(
                Blosc.encode(&p, vec![0; n]).unwrap(),
                Encoded::Declined { .. }
            ));
        }
    }

    #[test]
    fn block_sizes_follow_c_blosc() {
        // 4000 bytes of i4 with lz4: one block (as hdf5plugin's chunk showed)
        assert_eq!(v1_blocksize(5, 4, 4000, 1), 4000);
        // 1 MiB of f8, blosclz clevel 5: 128 KiB ×8 capped at 1 MiB
        assert_eq!(v1_blocksize(5, 8, 1 << 20, 0), 1 << 20);
        // zstd never splits: 32 KiB ×2 ×4
        assert_eq!(v1_blocksize(5, 8, 1 << 20, 5), 256 * 1024);
    }
}

//! Blosc2 (filter 32026, PyTables' hdf5-blosc2 with c-blosc2 as hdf5plugin builds it): each
//! chunk is a Blosc2 *contiguous frame* holding a super-chunk of one Blosc2 chunk, with a
//! "b2nd" metalayer when the dataset has rank 2..=8.
//!
//! Frame (msgpack; its integers big-endian, everything else little-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0–9 | `9e a8 "b2frame\0"` |
//! | 10–14 | `d2` + header length (i32) |
//! | 15–23 | `cf` + frame length (u64) |
//! | 24–28 | `a4` + general flags, frame type (0: contiguous), codec flags (`clevel << 4 \| compcode`), other flags |
//! | 29–46 | `d3` + uncompressed bytes (i64), `d3` + bytes of the data chunks (i64) |
//! | 47–61 | `d2` + typesize, `d2` + block size, `d2` + chunk size (i32 each) |
//! | 62–68 | `d1` + 0, `d1` + 1 (threads), `c2` (no variable-length metalayers) |
//! | 69–86 | `d8 06` + filters\[6\], codec, codec meta, filter metas\[6\], 2 reserved |
//! | 87– | metalayers: `93 cd` + index size (u16), `de` + count (u16), per layer a fixstr name and `d2` + offset of its value; `dc` + count, per layer `c6` + length (u32) + value |
//! | header length | the data chunk (a Blosc2 chunk, below) |
//! | + data bytes | the index chunk: a Blosc2 chunk of i64 offsets from the header's end; bit 63 set means no chunk is stored and byte 7 says what it holds (1 zeros, 2 NaN, 4 uninitialised) |
//! | then | trailer: `94 01 93 cd 00 06 de 00 00 dc 00 00 ce` + trailer length (35) + `d8 00` + 16 zero bytes |
//!
//! Blosc2 chunk: Blosc1's 16-byte header (format version 5, see [`crate::blosc`]) extended to
//! 32 bytes when flag bits 0 and 2 are both set: bytes 16–21 the filters applied in order
//! (0 none, 1 byte shuffle, 2 bit shuffle, 3 delta, 4 truncate precision), 22 the codec,
//! 23 its meta, 24–29 the filters' metas, 31 Blosc2 flags (bits 4–6: 1 all zeros, 2 all NaN,
//! 3 one repeated value after the header, 4 uninitialised; bit 3 lazy; bit 0 dictionary).
//! Blocks as in Blosc1, but every full block of a splittable chunk has typesize streams, and a
//! stream size of 0 means zeros and a negative size (then a token byte) a repeated byte.
//! The bit shuffle of chunks of version ≥ 3 covers the block's first `n - n % 8` elements.
//! Delta XORs each element with the one before in the chunk's first block, and the other
//! blocks' elements with the first block's.
//!
//! B2ND ("b2nd" metalayer: `[0, rank, shape (i64), chunk shape (i32), block shape (i32),
//! 0, "|V<typesize>"]`): the chunk holds the array block by block, blocks in C order over
//! the grid of blocks covering the chunk shape rounded up to whole blocks, each block's
//! elements in C order; elements outside the shape are padding.
//!
//! Client data as hdf5plugin's `set_local` stores it: `[1, block size (0 auto), typesize,
//! chunk bytes, clevel, filter, codec (0 blosclz, 1 lz4, 2 lz4hc, 4 zlib, 5 zstd)]`, then for
//! rank 2..=8 `rank, chunk dims...`; with those the C filter writes B2ND.

use crate::blosc::{self, le_i32, Codec, Header, Streams};
use crate::{id, shuffle, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Blosc2;

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt {
        id: id::BLOSC2,
        what,
    }
}

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams {
        id: id::BLOSC2,
        what,
    }
}

const SHUFFLE: u8 = 1;
const BITSHUFFLE: u8 = 2;
const DELTA: u8 = 3;
const TRUNC_PREC: u8 = 4;

/// A parsed Blosc2 chunk, its header checked against its bytes.
struct Chunk<'a> {
    h: Header,
    /// The chunk's bytes, exactly cbytes of them.
    data: &'a [u8],
    overhead: usize,
    filters: [u8; 6],
    special: u8,
    codec: Option<Codec>,
    memcpyed: bool,
}

/// The bytes a special chunk repeats (never sized by the header's type size: zeros are one
/// zero byte repeated).
fn special_pattern(kind: u8, typesize: usize, value: &[u8]) -> Result<Vec<u8>> {
    Ok(match (kind, typesize) {
        (1 | 4, _) => vec![0],
        (2, 4) => f32::NAN.to_bits().to_le_bytes().to_vec(),
        (2, 8) => f64::NAN.to_bits().to_le_bytes().to_vec(),
        (2, _) => return Err(corrupt("NaN chunk of a typesize other than 4 or 8")),
        (3, _) => value.to_vec(),
        _ => return Err(corrupt("unknown special chunk")),
    })
}

fn fill_pattern(out: &mut [u8], pattern: &[u8]) {
    for (d, s) in out.iter_mut().zip(pattern.iter().cycle()) {
        *d = *s;
    }
}

impl<'a> Chunk<'a> {
    fn parse(input: &'a [u8]) -> Result<Chunk<'a>> {
        let h = Header::read(id::BLOSC2, input)?;
        if h.version == 0 || h.version > 5 {
            return Err(corrupt("unknown chunk format version"));
        }
        if h.cbytes < 16 || h.cbytes > input.len() {
            return Err(corrupt("chunk cbytes outside the frame"));
        }
        if h.typesize == 0 {
            return Err(corrupt("typesize 0"));
        }
        if h.blocksize == 0 || (h.nbytes > 0 && h.blocksize > h.nbytes) {
            return Err(corrupt("block size 0 or larger than the chunk"));
        }
        let data = &input[..h.cbytes];
        let mut filters = [0u8; 6];
        let (overhead, special) = if h.flags & 0x05 == 0x05 {
            if h.cbytes < 32 {
                return Err(corrupt("chunk shorter than its extended header"));
            }
            filters.copy_from_slice(&data[16..22]);
            if h.version == 3 {
                filters[5] = 0;
            }
            let b2flags = data[31];
            let special = b2flags >> 4 & 7;
            if special > 4 {
                return Err(corrupt("unknown special chunk"));
            }
            if special != 0 && !h.nbytes.is_multiple_of(h.typesize) {
                return Err(corrupt("special chunk not a whole number of elements"));
            }
            if special == 3 && h.cbytes < 32 + h.typesize {
                return Err(corrupt("repeated-value chunk without its value"));
            }
            if special == 0 && b2flags & 0x08 != 0 {
                return Err(corrupt("lazy chunks are not supported"));
            }
            if special == 0 && b2flags & 0x01 != 0 && h.flags & 0x02 == 0 {
                return Err(corrupt("chunks with a dictionary are not supported"));
            }
            (32, special)
        } else {
            if h.flags & 0x01 != 0 {
                filters[5] = SHUFFLE;
            }
            if h.flags & 0x04 != 0 {
                filters[5] = BITSHUFFLE;
            }
            if h.flags & 0x08 != 0 {
                filters[4] = DELTA;
            }
            (16, 0)
        };
        let memcpyed = h.flags & 0x02 != 0;
        if memcpyed && special == 0 && h.cbytes != h.nbytes.saturating_add(overhead) {
            return Err(corrupt(
                "memcpyed chunk whose cbytes is not nbytes + header",
            ));
        }
        let codec = match h.flags >> 5 {
            2 => None, // Snappy is not a Blosc2 codec
            f => Codec::from_format(f),
        };
        Ok(Chunk {
            h,
            data,
            overhead,
            filters,
            special,
            codec,
            memcpyed,
        })
    }

    /// Call `f(j, bytes)` for every block `j` of the chunk in order.
    fn for_each_block(&self, mut f: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let h = &self.h;
        if h.nbytes == 0 {
            return Ok(());
        }
        let (ts, bs, nblocks) = (h.typesize, h.blocksize, h.nblocks());
        let mut buf = vec![0u8; bs];
        if self.special != 0 {
            let pattern =
                special_pattern(self.special, ts, self.data.get(32..32 + ts).unwrap_or(&[]))?;
            fill_pattern(&mut buf, &pattern);
            for j in 0..nblocks {
                f(j, &buf[..h.block(j).0])?;
            }
            return Ok(());
        }
        if self.memcpyed {
            for j in 0..nblocks {
                let at = self.overhead + j * bs;
                f(j, &self.data[at..at + h.block(j).0])?;
            }
            return Ok(());
        }
        if nblocks > (h.cbytes - self.overhead) / 4 {
            return Err(corrupt("block starts past the end of the chunk"));
        }
        let mut tmp = vec![0u8; bs];
        let mut dref: Vec<u8> = Vec::new();
        for j in 0..nblocks {
            let (bsize, partial) = h.block(j);
            let start = le_i32(self.data, self.overhead + 4 * j)
                .and_then(|s| usize::try_from(s).ok())
                .filter(|&s| s > 0 && s < h.cbytes)
                .ok_or(corrupt("block start outside the chunk"))?;
            let split = h.flags & 0x10 == 0 && !partial;
            let nstreams = if split { ts } else { 1 };
            let codec = self.codec;
            let block = &mut buf[..bsize];
            blosc::read_streams(
                id::BLOSC2,
                Streams::Blosc2,
                codec,
                self.data,
                start,
                nstreams,
                block,
            )?;
            for &filter in self.filters.iter().rev() {
                let t = &mut tmp[..bsize];
                match filter {
                    0 | TRUNC_PREC => continue,
                    SHUFFLE => t.copy_from_slice(&shuffle::unshuffle(block, ts)),
                    BITSHUFFLE => {
                        let n = bsize / ts;
                        let n = if h.version >= 3 {
                            n - n % 8
                        } else if n.is_multiple_of(8) {
                            n
                        } else {
                            0
                        };
                        blosc::bitunshuffle(block, ts, n, t);
                    }
                    DELTA => {
                        undelta(block, ts, if j == 0 { None } else { Some(&dref) });
                        continue;
                    }
                    _ => return Err(corrupt("unsupported Blosc2 filter")),
                }
                block.copy_from_slice(t);
            }
            if j == 0 && self.filters.contains(&DELTA) {
                dref = block.to_vec();
            }
            f(j, block)?;
        }
        Ok(())
    }

    /// The whole chunk, at most `limit` bytes.
    fn decode(&self, limit: usize) -> Result<Vec<u8>> {
        if self.h.nbytes > limit {
            return Err(Error::TooLarge {
                id: id::BLOSC2,
                limit,
            });
        }
        let mut out = vec![0u8; self.h.nbytes];
        let bs = self.h.blocksize;
        self.for_each_block(|j, b| {
            out[j * bs..j * bs + b.len()].copy_from_slice(b);
            Ok(())
        })?;
        Ok(out)
    }
}

/// The word delta works on: the typesize when 1, 2, 4 or 8, else 8 bytes for multiples of 8,
/// else bytes.
fn delta_word(ts: usize) -> usize {
    match ts {
        1 | 2 | 4 | 8 => ts,
        _ if ts.is_multiple_of(8) => 8,
        _ => 1,
    }
}

fn xor_word(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= *s;
    }
}

/// Undo delta in place: the first block against its own previous word, the others against
/// the decoded first block `dref`. Bytes past the last whole word stay as they are.
fn undelta(block: &mut [u8], ts: usize, dref: Option<&[u8]>) {
    let w = delta_word(ts);
    let words = block.len() / w;
    match dref {
        None => {
            for i in 1..words {
                let (before, here) = block.split_at_mut(i * w);
                xor_word(&mut here[..w], &before[(i - 1) * w..]);
            }
        }
        Some(r) => xor_word(&mut block[..(words * w).min(r.len())], r),
    }
}

/// Delta forward: `src` block `j` against the chunk's first source block `dref`.
fn delta(src: &[u8], ts: usize, dref: &[u8], first: bool, out: &mut [u8]) {
    let w = delta_word(ts);
    let words = src.len() / w;
    out.copy_from_slice(src);
    if first {
        for i in 1..words {
            xor_word(&mut out[i * w..(i + 1) * w], &src[(i - 1) * w..i * w]);
        }
    } else {
        xor_word(&mut out[..words * w], dref);
    }
}

/// Read a big-endian integer of `n` bytes at `at`.
fn be(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(n)?)?;
    Some(s.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)))
}

/// A msgpack integer at `*at`.
fn mp_int(b: &[u8], at: &mut usize) -> Option<i64> {
    let tag = *b.get(*at)?;
    *at += 1;
    let (n, signed) = match tag {
        0x00..=0x7f => return Some(i64::from(tag)),
        0xe0..=0xff => return Some(i64::from(tag as i8)),
        0xcc => (1, false),
        0xcd => (2, false),
        0xce => (4, false),
        0xcf => (8, false),
        0xd0 => (1, true),
        0xd1 => (2, true),
        0xd2 => (4, true),
        0xd3 => (8, true),
        _ => return None,
    };
    let v = be(b, *at, n)?;
    *at += n;
    Some(if signed {
        let shift = 64 - 8 * n as u32;
        ((v << shift) as i64) >> shift
    } else {
        i64::try_from(v).ok()?
    })
}

/// A msgpack fixarray of `len` integers at `*at`, each in `1..=limit`.
fn mp_dims(b: &[u8], at: &mut usize, len: usize) -> Option<Vec<usize>> {
    if *b.get(*at)? != 0x90 | len as u8 {
        return None;
    }
    *at += 1;
    (0..len)
        .map(|_| {
            mp_int(b, at)
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v >= 1)
        })
        .collect()
}

/// What a "b2nd" (or "caterva") metalayer says.
struct B2nd {
    shape: Vec<usize>,
    chunk: Vec<usize>,
    block: Vec<usize>,
}

fn parse_b2nd(b: &[u8]) -> Result<B2nd> {
    let bad = || corrupt("bad b2nd metalayer");
    let mut at = 0usize;
    let tag = *b.first().ok_or(bad())?;
    if !(0x95..=0x9f).contains(&tag) {
        return Err(bad());
    }
    at += 1;
    mp_int(b, &mut at).ok_or(bad())?; // version
    let rank = mp_int(b, &mut at)
        .and_then(|r| usize::try_from(r).ok())
        .filter(|r| (1..=8).contains(r))
        .ok_or(corrupt("b2nd rank outside 1..=8"))?;
    let shape = mp_dims(b, &mut at, rank).ok_or(bad())?;
    let chunk = mp_dims(b, &mut at, rank).ok_or(bad())?;
    let block = mp_dims(b, &mut at, rank).ok_or(bad())?;
    Ok(B2nd {
        shape,
        chunk,
        block,
    })
}

/// Where the frame's one chunk is.
enum Stored<'a> {
    Chunk(&'a [u8]),
    Special(u8),
}

struct Frame<'a> {
    nbytes: usize,
    typesize: usize,
    b2nd: Option<B2nd>,
    chunk: Stored<'a>,
}

const MAGIC: &[u8] = b"\x9e\xa8b2frame\0";
const HEADER_MIN: usize = 87;

fn parse_frame(input: &[u8]) -> Result<Frame<'_>> {
    if input.len() < HEADER_MIN || &input[..10] != MAGIC {
        return Err(corrupt("not a Blosc2 frame"));
    }
    let markers = [
        (10, 0xd2),
        (15, 0xcf),
        (24, 0xa4),
        (29, 0xd3),
        (38, 0xd3),
        (47, 0xd2),
    ];
    if markers.iter().any(|&(at, m)| input[at] != m) || input[52] != 0xd2 || input[57] != 0xd2 {
        return Err(corrupt("bad frame header"));
    }
    let num = |at, n| be(input, at, n).ok_or(corrupt("bad frame header"));
    let header_len = num(11, 4)? as usize;
    let frame_len = num(16, 8)?;
    if header_len < HEADER_MIN || header_len as u64 > frame_len || frame_len > input.len() as u64 {
        return Err(corrupt("frame header or frame length outside the chunk"));
    }
    let frame = &input[..frame_len as usize];
    if input[26] & 0x0f != 0 {
        return Err(corrupt("not a contiguous frame"));
    }
    let nbytes = num(30, 8)? as i64;
    let cbytes = num(39, 8)? as i64;
    let typesize = num(48, 4)? as i32;
    let chunksize = num(58, 4)? as i32;
    let (Ok(nbytes), Ok(cbytes), Ok(typesize), Ok(chunksize)) = (
        usize::try_from(nbytes),
        usize::try_from(cbytes),
        usize::try_from(typesize),
        usize::try_from(chunksize),
    ) else {
        return Err(corrupt("negative size in the frame header"));
    };
    if typesize == 0 || chunksize == 0 || nbytes == 0 {
        return Err(corrupt("empty frame or typesize 0"));
    }
    if nbytes.div_ceil(chunksize) != 1 {
        return Err(corrupt("frame holds more than one chunk"));
    }
    let data_end = header_len
        .checked_add(cbytes)
        .filter(|&e| e <= frame.len())
        .ok_or(corrupt("frame data past the end of the frame"))?;
    // the index chunk: one i64 offset
    let index = Chunk::parse(&frame[data_end..])?;
    if index.h.nbytes != 8 {
        return Err(corrupt("frame index is not one offset"));
    }
    let offsets = index.decode(8)?;
    let offset = i64::from_le_bytes(
        offsets[..8]
            .try_into()
            .map_err(|_| corrupt("bad frame index"))?,
    );
    let chunk = if offset < 0 {
        let kind = (offset as u64 >> 56) as u8;
        Stored::Special(if kind & 1 != 0 {
            1
        } else if kind & 4 != 0 {
            4
        } else if kind & 2 != 0 {
            2
        } else {
            return Err(corrupt("unknown special chunk in the frame index"));
        })
    } else {
        let at = usize::try_from(offset)
            .ok()
            .and_then(|o| header_len.checked_add(o))
            .filter(|&a| a < data_end)
            .ok_or(corrupt("chunk offset outside the frame data"))?;
        Stored::Chunk(&frame[at..data_end])
    };
    Ok(Frame {
        nbytes,
        typesize,
        b2nd: metalayer(&frame[..header_len], b"b2nd")?
            .or(metalayer(&frame[..header_len], b"caterva")?)
            .map(parse_b2nd)
            .transpose()?,
        chunk,
    })
}

/// The value of metalayer `name` in a frame header, if it has one.
fn metalayer<'a>(header: &'a [u8], name: &[u8]) -> Result<Option<&'a [u8]>> {
    let bad = || corrupt("bad metalayer index in the frame header");
    if header.len() == HEADER_MIN {
        return Ok(None);
    }
    if header.get(87..89) != Some(&[0x93, 0xcd]) || header.get(91) != Some(&0xde) {
        return Err(bad());
    }
    let count = be(header, 92, 2).ok_or(bad())? as usize;
    let mut at = 94usize;
    for _ in 0..count {
        let tag = *header.get(at).ok_or(bad())?;
        if tag & 0xe0 != 0xa0 {
            return Err(bad());
        }
        let len = usize::from(tag & 0x1f);
        let this = header.get(at + 1..at + 1 + len).ok_or(bad())?;
        at += 1 + len;
        if header.get(at) != Some(&0xd2) {
            return Err(bad());
        }
        let off = be(header, at + 1, 4).ok_or(bad())?;
        at += 5;
        if this == name {
            // offsets beyond the header (or usize) are refused by the checked reads
            let off = usize::try_from(off).map_err(|_| bad())?;
            if header.get(off) != Some(&0xc6) {
                return Err(bad());
            }
            let len = be(header, off + 1, 4).ok_or(bad())?;
            let value = usize::try_from(len)
                .ok()
                .and_then(|len| header.get(off + 5..(off + 5).checked_add(len)?))
                .ok_or(corrupt("metalayer past the end of the frame header"))?;
            return Ok(Some(value));
        }
    }
    Ok(None)
}

fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// The runs block `j` (C order over the grid of blocks) of a padded B2ND chunk holds, as
/// `(offset in the block, offset in the C-order array of shape, bytes)`, one per row of the
/// block inside the array (padding rows and columns are not visited); `block_len` is the
/// block's bytes.
fn block_runs(
    shape: &[usize],
    block: &[usize],
    ts: usize,
    j: usize,
    block_len: usize,
    mut run: impl FnMut(usize, usize, usize),
) {
    let rank = shape.len();
    let grid: Vec<usize> = (0..rank).map(|i| shape[i].div_ceil(block[i])).collect();
    // block coordinates of block j
    let mut bc = vec![0usize; rank];
    let mut rest = j;
    for i in (0..rank).rev() {
        bc[i] = rest % grid[i];
        rest /= grid[i];
    }
    let inner = block[rank - 1];
    let first_last = bc[rank - 1] * inner;
    if first_last >= shape[rank - 1] {
        return;
    }
    let count = inner.min(shape[rank - 1] - first_last);
    let rows = block_len / ts / inner;
    let mut local = vec![0usize; rank];
    'rows: for r in 0..rows {
        let mut rest = r;
        for i in (0..rank - 1).rev() {
            local[i] = rest % block[i];
            rest /= block[i];
        }
        let mut lin = 0usize;
        for i in 0..rank - 1 {
            let g = bc[i] * block[i] + local[i];
            if g >= shape[i] {
                continue 'rows;
            }
            lin = lin * shape[i] + g;
        }
        lin = lin * shape[rank - 1] + first_last;
        run(r * inner * ts, lin * ts, count * ts);
    }
}

/// Copy block `j` of a B2ND chunk into the C-order array `out` of `shape`, dropping padding.
fn scatter(out: &mut [u8], shape: &[usize], block: &[usize], ts: usize, j: usize, bytes: &[u8]) {
    block_runs(shape, block, ts, j, bytes.len(), |b, a, n| {
        out[a..a + n].copy_from_slice(&bytes[b..b + n]);
    });
}

/// The inverse of [`scatter`]: block `j` of the padded chunk from the array `src`.
fn gather(src: &[u8], shape: &[usize], block: &[usize], ts: usize, j: usize, bytes: &mut [u8]) {
    bytes.fill(0);
    let len = bytes.len();
    block_runs(shape, block, ts, j, len, |b, a, n| {
        bytes[b..b + n].copy_from_slice(&src[a..a + n]);
    });
}

fn decode_frame(cd: &[u32], input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let frame = parse_frame(input)?;
    let too_large = Error::TooLarge {
        id: id::BLOSC2,
        limit,
    };
    let Some(meta) = frame.b2nd else {
        return match frame.chunk {
            Stored::Chunk(c) => Chunk::parse(c)?.decode(limit),
            Stored::Special(kind) => {
                if frame.nbytes > limit {
                    return Err(too_large);
                }
                let pattern = special_pattern(kind, frame.typesize, &[])?;
                let mut out = vec![0u8; frame.nbytes];
                fill_pattern(&mut out, &pattern);
                Ok(out)
            }
        };
    };
    // B2ND: hdf5plugin writes one chunk covering the whole array
    let rank = meta.shape.len();
    if cd.len() >= 8 {
        let dims = cd.get(8..8 + rank);
        if cd[7] as usize != rank
            || dims.is_none_or(|d| d.iter().zip(&meta.shape).any(|(&a, &b)| a as usize != b))
        {
            return Err(corrupt("b2nd shape disagrees with the filter's chunk dims"));
        }
    }
    if meta.chunk != meta.shape || meta.block.iter().zip(&meta.chunk).any(|(b, c)| b > c) {
        return Err(corrupt(
            "b2nd chunk shape is not the array shape, or blocks exceed it",
        ));
    }
    let ts = frame.typesize;
    let out_len = product(&meta.shape)
        .and_then(|n| n.checked_mul(ts))
        .ok_or(too_large.clone())?;
    if out_len > limit {
        return Err(too_large);
    }
    let mut out = vec![0u8; out_len];
    match frame.chunk {
        Stored::Special(kind) => fill_pattern(&mut out, &special_pattern(kind, ts, &[])?),
        Stored::Chunk(c) => {
            let c = Chunk::parse(c)?;
            let ext: Vec<usize> = meta
                .shape
                .iter()
                .zip(&meta.block)
                .map(|(&s, &b)| s.div_ceil(b) * b)
                .collect();
            let padded = product(&ext).and_then(|n| n.checked_mul(ts));
            let block_bytes = product(&meta.block).and_then(|n| n.checked_mul(ts));
            if padded != Some(c.h.nbytes) || block_bytes != Some(c.h.blocksize) {
                return Err(corrupt("b2nd shapes disagree with the chunk's sizes"));
            }
            c.for_each_block(|j, b| {
                scatter(&mut out, &meta.shape, &meta.block, ts, j, b);
                Ok(())
            })?;
        }
    }
    Ok(out)
}

/// c-blosc2's automatic block size (`blosc_stune_next_blocksize`) for `nbytes` of
/// `typesize`-byte elements, or the user's `asked` size, bounded by the chunk and rounded down
/// to whole elements.
fn blocksize(
    asked: usize,
    clevel: u32,
    ts: usize,
    nbytes: usize,
    compcode: u32,
    filter: u8,
) -> usize {
    if nbytes < ts {
        return 1;
    }
    let mut bs = nbytes;
    if asked != 0 {
        bs = asked;
    } else {
        if nbytes >= 32 * 1024 {
            let hcr = matches!(compcode, 2 | 4 | 5);
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
        if clevel > 0 && splits(compcode, clevel, filter, ts, bs) {
            bs = match clevel {
                1..=3 => 32 * 1024,
                4..=6 => 64 * 1024,
                7 => 128 * 1024,
                8 => 256 * 1024,
                _ => 512 * 1024,
            } * ts;
            bs = bs.clamp(32 * 1024, 4 * 1024 * 1024);
        }
    }
    bs = bs.min(nbytes);
    if bs > ts {
        bs = bs / ts * ts;
    }
    bs
}

/// c-blosc2's FORWARD_COMPAT split rule: BloscLZ, LZ4 or zstd up to clevel 5, with byte
/// shuffle, typesize ≤ 16 and at least 32 elements per block.
fn splits(compcode: u32, clevel: u32, filter: u8, ts: usize, bs: usize) -> bool {
    (compcode == 0 || compcode == 1 || (compcode == 5 && clevel <= 5))
        && filter == SHUFFLE
        && ts <= 16
        && bs / ts >= 32
}

/// hdf5-blosc2's `compute_b2nd_block_shape`: start from 2 (1 where the chunk is 1) in every
/// dimension and double from the innermost out, or take the whole chunk dimension, while
/// the block stays within `block_bytes`.
fn block_shape(block_bytes: usize, ts: usize, chunk: &[usize]) -> Vec<usize> {
    let want = block_bytes / ts;
    let mut block: Vec<usize> = chunk.iter().map(|&c| if c == 1 { 1 } else { 2 }).collect();
    let mut n: usize = block.iter().product();
    while n < want {
        let before = n;
        for i in (0..chunk.len()).rev() {
            if block[i] * 2 <= chunk[i] {
                if n * 2 <= want {
                    n *= 2;
                    block[i] *= 2;
                }
            } else if block[i] < chunk[i] {
                let wider = n / block[i] * chunk[i];
                if wider <= want {
                    n = wider;
                    block[i] = chunk[i];
                }
            }
        }
        if n == before {
            break;
        }
    }
    block
}

/// Settings of one chunk to write.
struct Settings {
    ts: usize,
    clevel: u32,
    compcode: u32,
    codec: Codec,
    filter: u8,
}

/// One Blosc2 chunk (format version 5, extended header) of `data` in blocks of `bs` bytes;
/// memcpyed when clevel is 0, the data is under 32 bytes, or compression does not pay.
fn write_chunk(data: &[u8], bs: usize, s: &Settings) -> Result<Vec<u8>> {
    let nbytes = data.len();
    let ts = s.ts;
    let split = splits(s.compcode, s.clevel, s.filter, ts, bs);
    let mut flags = 0x05 | s.codec.format() << 5;
    if !split {
        flags |= 0x10;
    }
    let header = |flags: u8, cbytes: usize| {
        let mut h = vec![5u8, 1, flags, ts as u8];
        for v in [nbytes, bs, cbytes] {
            h.extend_from_slice(&(v as u32).to_le_bytes());
        }
        h.extend_from_slice(&[0, 0, 0, 0, 0, s.filter, s.compcode as u8]);
        h.resize(32, 0);
        h
    };
    let memcpy = || {
        let mut out = header(flags | 0x02, nbytes + 32);
        out.extend_from_slice(data);
        out
    };
    if s.clevel == 0 || nbytes < 32 {
        return Ok(memcpy());
    }
    let h = Header {
        version: 5,
        flags,
        typesize: ts,
        nbytes,
        blocksize: bs,
        cbytes: 0,
    };
    let nblocks = h.nblocks();
    let mut out = header(flags, 0);
    out.resize(32 + 4 * nblocks, 0);
    let mut buf = vec![0u8; bs];
    for j in 0..nblocks {
        let (bsize, partial) = h.block(j);
        let at = out.len() as u32;
        out[32 + 4 * j..36 + 4 * j].copy_from_slice(&at.to_le_bytes());
        let src = &data[j * bs..j * bs + bsize];
        let block = &mut buf[..bsize];
        match s.filter {
            SHUFFLE => block.copy_from_slice(&shuffle::shuffle(src, ts)),
            BITSHUFFLE => {
                let n = bsize / ts;
                blosc::bitshuffle(src, ts, n - n % 8, block);
            }
            DELTA => delta(src, ts, &data[..bs], j == 0, block),
            _ => block.copy_from_slice(src),
        }
        let nstreams = if split && !partial { ts } else { 1 };
        for stream in block.chunks_exact(bsize / nstreams) {
            // one byte repeated: a size of 0 (zeros) or minus the byte and a token, as c-blosc2
            let first = stream[0];
            if stream.iter().all(|&b| b == first) {
                if first == 0 {
                    out.extend_from_slice(&0u32.to_le_bytes());
                } else {
                    out.extend_from_slice(&(-i32::from(first)).to_le_bytes());
                    out.push(1);
                }
                continue;
            }
            let z = blosc::compress(s.codec, s.clevel, stream)?;
            let (len, bytes) = if z.is_empty() || z.len() >= stream.len() {
                (stream.len(), stream)
            } else {
                (z.len(), &z[..])
            };
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        if out.len() > nbytes + 32 {
            return Ok(memcpy());
        }
    }
    let cbytes = out.len() as u32;
    out[12..16].copy_from_slice(&cbytes.to_le_bytes());
    Ok(out)
}

/// The frame around one chunk (`None`: an all-zero chunk of `nbytes`, stored as a special
/// offset), as c-blosc2's `blosc2_schunk_to_buffer` lays it out.
fn write_frame(
    chunk: Option<&[u8]>,
    nbytes: usize,
    bs: usize,
    s: &Settings,
    b2nd: Option<&[u8]>,
) -> Vec<u8> {
    let mut f = MAGIC.to_vec();
    f.push(0xd2);
    f.extend_from_slice(&[0; 4]); // header length, below
    f.push(0xcf);
    f.extend_from_slice(&[0; 8]); // frame length, below
    f.extend_from_slice(&[
        0xa4,
        0x12,
        0x00,
        (s.clevel << 4) as u8 | s.compcode as u8,
        0x03,
    ]);
    let cbytes = chunk.map_or(0, <[u8]>::len);
    f.push(0xd3);
    f.extend_from_slice(&(nbytes as u64).to_be_bytes());
    f.push(0xd3);
    f.extend_from_slice(&(cbytes as u64).to_be_bytes());
    for v in [s.ts, bs, nbytes] {
        f.push(0xd2);
        f.extend_from_slice(&(v as u32).to_be_bytes());
    }
    f.extend_from_slice(&[0xd1, 0, 0, 0xd1, 0, 1, 0xc2, 0xd8, 6]);
    f.extend_from_slice(&[0, 0, 0, 0, 0, s.filter, s.compcode as u8]);
    f.extend_from_slice(&[0; 9]);
    debug_assert_eq!(f.len(), HEADER_MIN);
    // metalayers
    let n: u16 = b2nd.map_or(0, |_| 1);
    let index_size: u16 = 7 + if b2nd.is_some() { 10 } else { 0 };
    f.push(0x93);
    f.push(0xcd);
    f.extend_from_slice(&index_size.to_be_bytes());
    f.push(0xde);
    f.extend_from_slice(&n.to_be_bytes());
    let value_at = HEADER_MIN + usize::from(index_size) + 3;
    if b2nd.is_some() {
        f.extend_from_slice(b"\xa4b2nd\xd2");
        f.extend_from_slice(&(value_at as u32).to_be_bytes());
    }
    f.push(0xdc);
    f.extend_from_slice(&n.to_be_bytes());
    if let Some(meta) = b2nd {
        f.push(0xc6);
        f.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        f.extend_from_slice(meta);
    }
    let header_len = f.len();
    f[11..15].copy_from_slice(&(header_len as u32).to_be_bytes());
    let offset: u64 = match chunk {
        Some(c) => {
            f.extend_from_slice(c);
            0
        }
        None => 0x81 << 56,
    };
    // the index chunk: memcpyed, one offset
    f.extend_from_slice(&[5, 1, 0x07, 8, 8, 0, 0, 0, 8, 0, 0, 0, 40, 0, 0, 0]);
    f.extend_from_slice(&[0, 0, 0, 0, 0, SHUFFLE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&offset.to_le_bytes());
    // trailer: no variable-length metalayers, its length, an empty fingerprint
    f.extend_from_slice(&[
        0x94, 0x01, 0x93, 0xcd, 0x00, 0x06, 0xde, 0, 0, 0xdc, 0, 0, 0xce, 0, 0, 0, 35, 0xd8, 0,
    ]);
    f.extend_from_slice(&[0; 16]);
    let len = f.len() as u64;
    f[16..24].copy_from_slice(&len.to_be_bytes());
    f
}

/// The "b2nd" metalayer value for a one-chunk array.
fn b2nd_meta(shape: &[usize], block: &[usize], ts: usize) -> Vec<u8> {
    let rank = shape.len();
    let mut m = vec![0x97, 0x00, rank as u8, 0x90 | rank as u8];
    for &d in shape {
        m.push(0xd3);
        m.extend_from_slice(&(d as u64).to_be_bytes());
    }
    for dims in [shape, block] {
        m.push(0x90 | rank as u8);
        for &d in dims {
            m.push(0xd2);
            m.extend_from_slice(&(d as u32).to_be_bytes());
        }
    }
    let dtype = format!("|V{ts}");
    m.push(0x00);
    m.push(0xdb);
    m.extend_from_slice(&(dtype.len() as u32).to_be_bytes());
    m.extend_from_slice(dtype.as_bytes());
    m
}

fn encode_frame(cd: &[u32], input: &[u8]) -> Result<Option<Vec<u8>>> {
    if cd.len() < 6 {
        return Err(invalid("expected at least 6 values"));
    }
    let (asked, ts, clevel) = (cd[1] as usize, cd[2] as usize, cd[4]);
    if ts == 0 {
        return Err(invalid("typesize 0"));
    }
    if clevel > 9 {
        return Err(invalid("clevel above 9"));
    }
    let filter = u8::try_from(cd[5])
        .ok()
        .filter(|&f| f <= TRUNC_PREC)
        .ok_or(invalid("filter must be 0..=4"))?;
    let compcode = cd.get(6).copied().unwrap_or(0);
    let codec = match compcode {
        0 | 1 | 2 | 4 | 5 => Codec::from_compcode(compcode).ok_or(invalid("unknown codec"))?,
        _ => return Err(invalid("codec must be 0, 1, 2, 4 or 5")),
    };
    let mut dims = None;
    if cd.len() >= 8 {
        let rank = cd[7] as usize;
        if !(2..=8).contains(&rank) {
            return Err(invalid("rank must be 2..=8"));
        }
        let d = cd
            .get(8..8 + rank)
            .ok_or(invalid("fewer chunk dims than the rank"))?;
        if d.contains(&0) {
            return Err(invalid("chunk dim 0"));
        }
        let d: Vec<usize> = d.iter().map(|&v| v as usize).collect();
        // like the C filter: plain frames when an earlier filter changed the size
        if product(&d).and_then(|n| n.checked_mul(ts)) == Some(input.len()) && ts <= 255 {
            dims = Some(d);
        }
    }
    if filter == TRUNC_PREC {
        // hdf5plugin passes precision 0, which c-blosc2 refuses
        return Ok(None);
    }
    if input.is_empty() || input.len() > i32::MAX as usize - 64 {
        return Ok(None);
    }
    let s = Settings {
        ts: if ts > 255 { 1 } else { ts },
        clevel,
        compcode,
        codec,
        filter,
    };
    let zeros = input.iter().all(|&b| b == 0) && !input.is_empty();
    Ok(Some(match dims {
        None => {
            let bs = blocksize(asked, clevel, s.ts, input.len(), compcode, filter);
            let chunk = if zeros {
                None
            } else {
                Some(write_chunk(input, bs.max(1), &s)?)
            };
            write_frame(chunk.as_deref(), input.len(), bs.max(1), &s, None)
        }
        Some(d) => {
            let target = if asked != 0 {
                asked
            } else {
                blocksize(0, clevel, ts, cd[3] as usize, compcode, SHUFFLE)
            };
            let block = block_shape(target, ts, &d);
            let bs = product(&block).unwrap_or(0) * ts;
            let ext: Vec<usize> = d
                .iter()
                .zip(&block)
                .map(|(&c, &b)| c.div_ceil(b) * b)
                .collect();
            let padded_len = product(&ext).unwrap_or(0) * ts;
            let meta = b2nd_meta(&d, &block, ts);
            let chunk = if zeros {
                None
            } else {
                let mut padded = vec![0u8; padded_len];
                for (j, b) in padded.chunks_exact_mut(bs).enumerate() {
                    gather(input, &d, &block, ts, j, b);
                }
                Some(write_chunk(&padded, bs, &s)?)
            };
            write_frame(chunk.as_deref(), padded_len, bs, &s, Some(&meta))
        }
    }))
}

impl Filter for Blosc2 {
    fn id(&self) -> u16 {
        id::BLOSC2
    }

    fn decode(&self, p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        decode_frame(p.client_data, &input, limit)
    }

    /// Declines where the C filter fails: the truncate-precision filter (hdf5plugin asks it
    /// for precision 0, which c-blosc2 refuses), empty chunks and chunks over 2 GiB.
    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        match encode_frame(p.client_data, &input)? {
            Some(frame) => Ok(Encoded::Data(frame)),
            None => Ok(Encoded::Declined {
                data: input,
                why: "c-blosc2 refuses truncate-precision with hdf5plugin's precision 0 \
                      (or the chunk is empty or over 2 GiB)",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smooth(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i / 5) % 9 + i / 3000) as u8).collect()
    }

    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn every_combination_round_trips() {
        for compcode in [0u32, 1, 2, 4, 5] {
            for filter in 0..=4u32 {
                for (ts, dims) in [
                    (1usize, vec![1usize]),
                    (4, vec![1000]),
                    (8, vec![20, 30]),
                    (2, vec![7, 11, 13]),
                    (4, vec![300, 41]),
                    (3, vec![5, 6, 7, 8]),
                    (8, vec![40_000]),
                ] {
                    let n = dims.iter().product::<usize>() * ts;
                    let cd = crate::client_data::blosc2(
                        ts as u32,
                        ts as u32,
                        &dims.iter().map(|&d| d as u32).collect::<Vec<_>>(),
                        5,
                        filter,
                        compcode,
                    );
                    for data in [smooth(n), noise(n), vec![0; n]] {
                        let p = FilterParams {
                            id: id::BLOSC2,
                            client_data: &cd,
                            element_size: ts,
                        };
                        match Blosc2.encode(&p, data.clone()).unwrap() {
                            Encoded::Data(z) => {
                                let back = Blosc2.decode(&p, z, n).unwrap();
                                assert!(back == data, "{compcode} {filter} {ts} {dims:?}");
                            }
                            Encoded::Declined { .. } => assert_eq!(filter, 4),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn asked_block_sizes_and_wide_types_round_trip() {
        let data = smooth(300 * 41 * 4);
        for cd in [
            vec![1, 1000, 4, 49200, 5, 1, 0], // a block size from the client data
            vec![1, 4096, 4, 49200, 5, 2, 4, 2, 300, 41], // B2ND with it
            vec![1, 0, 400, 49200, 5, 1, 1],  // typesize above 255: plain, bytes
            vec![1, 0, 4, 49200, 5, 1, 1, 2, 300, 40], // dims that do not match: plain
        ] {
            let p = FilterParams {
                id: id::BLOSC2,
                client_data: &cd,
                element_size: 4,
            };
            let z = Blosc2.encode(&p, data.clone()).unwrap().into_inner();
            assert_eq!(z[..10], *MAGIC);
            assert_eq!(Blosc2.decode(&p, z, data.len()).unwrap(), data, "{cd:?}");
        }
        let p = FilterParams {
            id: id::BLOSC2,
            client_data: &[1, 0, 4, 0, 5, 1, 0],
            element_size: 4,
        };
        assert!(matches!(
            Blosc2.encode(&p, Vec::new()).unwrap(),
            Encoded::Declined { .. }
        ));
        for bad in [
            &[1u32, 0, 4, 0, 5][..],
            &[1, 0, 0, 0, 5, 1],
            &[1, 0, 4, 0, 10, 1],
            &[1, 0, 4, 0, 5, 7],
            &[1, 0, 4, 0, 5, 1, 3],
            &[1, 0, 4, 0, 5, 1, 0, 9],
        ] {
            let p = FilterParams {
                id: id::BLOSC2,
                client_data: bad,
                element_size: 4,
            };
            assert!(
                matches!(
                    Blosc2.encode(&p, vec![1; 64]),
                    Err(Error::InvalidParams { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn block_shapes_follow_hdf5_blosc2() {
        assert_eq!(block_shape(48, 2, &[2, 3, 4]), [2, 3, 4]);
        assert_eq!(block_shape(64, 8, &[20, 30]), [2, 4]);
        assert_eq!(block_shape(8, 8, &[20, 30]), [2, 2]);
        assert_eq!(block_shape(1000, 1, &[1, 100, 7]), [1, 100, 7]);
        assert_eq!(block_shape(100, 1, &[1, 100, 7]), [1, 8, 7]);
    }
}

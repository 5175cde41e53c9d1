//! ZFP (filter 32013, LLNL's H5Z-ZFP plugin as hdf5plugin ships it): our own codec for zfp's
//! compressed arrays (zfp 1.0, codec 5). Decoding gives value for value what the C library
//! decodes; encoding gives byte for byte the chunk H5Z-ZFP 1.1.1 with zfp 1.0.1 writes, and
//! [`client_data`] the client data its `set_local` stores.
//!
//! The client data holds everything but the compressed blocks:
//!
//! | client data | field |
//! | --- | --- |
//! | `cd[0]` | versions: zfp library `<< 16`, zfp codec `<< 12`, H5Z-ZFP (12 bits) |
//! | `cd[1..]` | zfp's full stream header, bits packed LSB first into the bytes of the `u32`s as the writer's memory held them (little-endian here; a big-endian writer's header reads as byte-swapped `u32`s) |
//!
//! | header bits | field |
//! | --- | --- |
//! | 32 | magic: `z`, `f`, `p`, codec version 5 (8 bits each) |
//! | 52 | field: scalar type − 1 (2 bits: int32, int64, float, double), dimensions − 1 (2 bits), then the sizes − 1 from x (fastest) up: 1-D 32 of 48 bits used, 2-D 24 bits each, 3-D 16, 4-D 12 |
//! | 12 | mode: < 2048 fixed rate (`maxbits` − 1), < 2176 fixed precision (2048 + `maxprec` − 1), 2176 reversible, ≤ 4094 fixed accuracy (2177 + `minexp` + 1074); 4095: expert, 52 more bits follow |
//! | 52 | expert only: `minbits` − 1 (15), `maxbits` − 1 (15), `maxprec` − 1 (7), `minexp` + 16495 (15) |
//!
//! H5Z-ZFP drops the chunk's unity dimensions, so a chunk is a 1- to 4-D field with the last
//! HDF5 dimension as x. The chunk itself is a headerless zfp stream: the field's blocks of 4^d
//! values (partial blocks at the high edges are decoded whole, only the values inside the field
//! are kept), x blocks fastest, each coded as
//!
//! | bits | lossy float block | lossy integer block | reversible block |
//! | --- | --- | --- | --- |
//! | 1 | 0: all zero | — | float: 0 all zero; 1: then 1 bit, 1: the values' bits as integers, 0: block floating point |
//! | 8 / 11 | common exponent + bias (float / double) | — | float, block floating point: as lossy |
//! | 5 / 6 | — | — | the number of bit planes − 1 (32- / 64-bit integers) |
//! | rest | bit planes of the negabinary coefficients, MSB first, group-tested | the same | the same |
//!
//! Bits are read LSB first from the bytes (the plugin needs zfp built with 8-bit stream words).
//! A block takes at least `minbits` and at most `maxbits` bits; the coefficients go through
//! zfp's coefficient order, negabinary to two's complement, and the inverse decorrelating
//! transform (its lossless variant in reversible mode).
//!
//! Encoding mirrors this: partial blocks are first padded as zfp pads them (along x, then y, …,
//! each line's missing values copied from its first ones), floats go to integers by block
//! floating point (the largest magnitude's `frexp` exponent), and NaN or infinite values in a
//! lossy block become what x86's float-to-integer conversion makes of them, as in the C
//! library built for x86 (undefined behaviour in C; other CPUs may differ there).
//!
//! The C library never checks the end of the stream; here a chunk too short for its blocks is
//! [`Error::Corrupt`], as is client data that is not a header the plugin writes.

use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Zfp;

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { id: id::ZFP, what }
}

/// zfp's defaults and limits (`zfp.h`).
const MIN_BITS: u32 = 1;
const MAX_BITS: u32 = 16658;
const MAX_PREC: u32 = 64;
const MIN_EXP: i32 = -1074;
/// The codec version this decoder reads (zfp 0.5.x and 1.0.x write it).
const CODEC: u64 = 5;

/// Reads bits LSB first, 64 at a time; past the end it yields zeros, and
/// [`past_end`](Bits::past_end) tells whether any of those was consumed.
struct Bits<'a> {
    data: &'a [u8],
    /// Bits consumed.
    pos: usize,
    /// The next byte to load into `buf`.
    next: usize,
    /// Loaded bits not yet consumed, the next one in bit 0.
    buf: u64,
    avail: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            next: 0,
            buf: 0,
            avail: 0,
        }
    }

    /// Loads the next 8 bytes (zeros past the end).
    fn refill(&mut self) {
        let mut word = [0u8; 8];
        if let Some(rest) = self.data.get(self.next..) {
            let n = rest.len().min(8);
            word[..n].copy_from_slice(&rest[..n]);
        }
        self.next = self.next.saturating_add(8);
        self.buf = u64::from_le_bytes(word);
        self.avail = 64;
    }

    fn bit(&mut self) -> bool {
        if self.avail == 0 {
            self.refill();
        }
        let b = self.buf & 1;
        self.buf >>= 1;
        self.avail -= 1;
        self.pos += 1;
        b != 0
    }

    /// `n` (at most 64) bits, the first one read in bit 0.
    fn bits(&mut self, n: u32) -> u64 {
        let mask = |n: u32| if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        self.pos += n as usize;
        if n <= self.avail {
            let v = self.buf & mask(n);
            self.buf = self.buf.checked_shr(n).unwrap_or(0);
            self.avail -= n;
            return v;
        }
        let (low, got) = (self.buf, self.avail);
        self.refill();
        let need = n - got;
        let v = low | (self.buf & mask(need)) << got;
        self.buf = self.buf.checked_shr(need).unwrap_or(0);
        self.avail -= need;
        v
    }

    fn skip(&mut self, mut n: u32) {
        while n > 0 {
            let take = n.min(64);
            self.bits(take);
            n -= take;
        }
    }

    /// Whether a bit past the end of the data has been consumed.
    fn past_end(&self) -> bool {
        self.pos > self.data.len().saturating_mul(8)
    }
}

/// The scalar types zfp compresses (H5Z-ZFP: 4- and 8-byte HDF5 integers and floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// IEEE single precision.
    Float,
    /// IEEE double precision.
    Double,
}

impl ScalarType {
    fn size(self) -> usize {
        match self {
            ScalarType::Int32 | ScalarType::Float => 4,
            ScalarType::Int64 | ScalarType::Double => 8,
        }
    }
}

/// zfp's four compression parameters; every mode is a setting of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Params {
    minbits: u32,
    maxbits: u32,
    maxprec: u32,
    minexp: i32,
}

impl Params {
    /// Reversible (lossless) mode is signalled by a `minexp` below zfp's least.
    fn reversible(&self) -> bool {
        self.minexp < MIN_EXP
    }

    /// The parameters a mode word stands for (`zfp_stream_set_mode`), if zfp accepts them.
    fn from_mode(mode: u64) -> Option<Params> {
        let p = if mode < 2048 {
            let bits = mode as u32 + 1;
            Params {
                minbits: bits,
                maxbits: bits,
                maxprec: MAX_PREC,
                minexp: MIN_EXP,
            }
        } else if mode < 2048 + 128 {
            Params {
                minbits: MIN_BITS,
                maxbits: MAX_BITS,
                maxprec: mode as u32 + 1 - 2048,
                minexp: MIN_EXP,
            }
        } else if mode == 2048 + 128 {
            Params {
                minbits: MIN_BITS,
                maxbits: MAX_BITS,
                maxprec: MAX_PREC,
                minexp: MIN_EXP - 1,
            }
        } else if mode < 4095 {
            Params {
                minbits: MIN_BITS,
                maxbits: MAX_BITS,
                maxprec: MAX_PREC,
                minexp: mode as i32 - (2048 + 128 + 1) + MIN_EXP,
            }
        } else {
            let field = |shift: u32, width: u32| ((mode >> shift) & ((1u64 << width) - 1)) as u32;
            Params {
                minbits: field(12, 15) + 1,
                maxbits: field(27, 15) + 1,
                maxprec: field(42, 7) + 1,
                minexp: field(49, 15) as i32 - 16495,
            }
        };
        // zfp_stream_set_params' checks
        (p.minbits <= p.maxbits && (1..=64).contains(&p.maxprec)).then_some(p)
    }

    /// The mode word zfp makes of these parameters (`zfp_stream_mode`). H5Z-ZFP reads the
    /// header's mode, then sets the decoding stream's mode from this word.
    fn to_mode(self) -> u64 {
        let defaults = Params {
            minbits: MIN_BITS,
            maxbits: MAX_BITS,
            maxprec: MAX_PREC,
            minexp: MIN_EXP,
        };
        let wide = self.minbits <= MIN_BITS && self.maxbits >= MAX_BITS;
        if self != defaults {
            if self.minbits == self.maxbits
                && (1..=MAX_BITS).contains(&self.maxbits)
                && self.maxprec >= MAX_PREC
                && self.minexp == MIN_EXP
            {
                if self.maxbits <= 2048 {
                    return u64::from(self.maxbits - 1);
                }
            } else if wide && self.maxprec >= 1 && self.minexp == MIN_EXP {
                if self.maxprec <= 128 {
                    return u64::from(self.maxprec - 1) + 2048;
                }
            } else if wide && self.maxprec >= MAX_PREC && self.minexp >= MIN_EXP {
                if self.minexp <= 843 {
                    return (self.minexp - MIN_EXP) as u64 + 2048 + 128 + 1;
                }
            } else if wide && self.maxprec >= MAX_PREC {
                return 2048 + 128;
            }
        }
        let clamp = |v: u32, hi: u32| u64::from(v.clamp(1, hi) - 1);
        let minexp = (i64::from(self.minexp) + 16495).clamp(0, 0x7fff) as u64;
        let mut mode = minexp;
        mode = (mode << 7) + clamp(self.maxprec, 0x80);
        mode = (mode << 15) + clamp(self.maxbits, 0x8000);
        mode = (mode << 15) + clamp(self.minbits, 0x8000);
        (mode << 12) + 0xfff
    }
}

/// What the client data says about the chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    ty: ScalarType,
    /// Sizes from x (fastest) up; as many as the field has dimensions.
    dims: Vec<usize>,
    params: Params,
    /// The writer was big-endian: the chunk's values are stored big-endian.
    big_endian: bool,
}

fn header_bytes(words: &[u32], big_endian: bool) -> Vec<u8> {
    words
        .iter()
        .flat_map(|w| {
            if big_endian {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        })
        .collect()
}

fn magic_ok(r: &mut Bits<'_>) -> bool {
    r.bits(8) == u64::from(b'z')
        && r.bits(8) == u64::from(b'f')
        && r.bits(8) == u64::from(b'p')
        && r.bits(8) == CODEC
        && !r.past_end()
}

fn parse_header(cd: &[u32]) -> Result<Header> {
    let (&versions, words) = cd
        .split_first()
        .ok_or(corrupt("no client data (zfp header)"))?;
    // the plugin keeps at most 6 words of header
    if words.len() > 6 {
        return Err(corrupt("client data longer than a zfp header"));
    }
    // H5Z-ZFP refuses data from a newer codec than its own; before H5Z-ZFP 1.1.0 cd[0] held
    // only the zfp library version, which implies the codec
    let writer_codec = if versions & 0xfff >= 0x110 {
        (versions >> 12) & 0xf
    } else {
        let lib = ((versions >> 16) & 0xffff) << 4;
        match lib {
            0..0x0500 => 4,
            0x0500..0x1000 => (lib & 0x0f00) >> 8,
            _ => 5,
        }
    };
    if u64::from(writer_codec) > CODEC {
        return Err(corrupt("written by a newer zfp codec"));
    }
    let mut big_endian = false;
    let mut bytes = header_bytes(words, false);
    if !magic_ok(&mut Bits::new(&bytes)) {
        big_endian = true;
        bytes = header_bytes(words, true);
        if !magic_ok(&mut Bits::new(&bytes)) {
            return Err(corrupt("bad zfp header magic or codec version"));
        }
    }
    let mut r = Bits::new(&bytes);
    r.skip(32);
    let meta = r.bits(52);
    let mut mode = r.bits(12);
    if mode > 4094 {
        mode += r.bits(52) << 12;
    }
    if r.past_end() {
        return Err(corrupt("client data too short for the zfp header"));
    }
    let ty = match meta & 3 {
        0 => ScalarType::Int32,
        1 => ScalarType::Int64,
        2 => ScalarType::Float,
        _ => ScalarType::Double,
    };
    let ndims = ((meta >> 2) & 3) as usize + 1;
    let sizes = meta >> 4;
    let dims: Vec<usize> = match ndims {
        // zfp keeps 48 bits for a 1-D size but reads only 32 of them
        1 => vec![(sizes & 0xffff_ffff) as usize + 1],
        _ => {
            let width = 48 / ndims as u32;
            (0..ndims as u32)
                .map(|i| ((sizes >> (i * width)) & ((1u64 << width) - 1)) as usize + 1)
                .collect()
        }
    };
    let params = Params::from_mode(mode)
        .and_then(|p| Params::from_mode(p.to_mode()))
        .ok_or(corrupt("invalid zfp compression mode"))?;
    Ok(Header {
        ty,
        dims,
        params,
        big_endian,
    })
}

/// zfp's order of a block's coefficients, by coordinates (x first).
const fn flat<const D: usize, const N: usize>(coords: [[u8; D]; N]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        let mut index = 0u8;
        let mut d = D;
        while d > 0 {
            d -= 1;
            index = index * 4 + coords[i][d];
        }
        out[i] = index;
        i += 1;
    }
    out
}

const PERM_1: [u8; 4] = [0, 1, 2, 3];
const PERM_2: [u8; 16] = flat([
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
    [2, 0],
    [0, 2],
    [2, 1],
    [1, 2],
    [3, 0],
    [0, 3],
    [2, 2],
    [3, 1],
    [1, 3],
    [3, 2],
    [2, 3],
    [3, 3],
]);
const PERM_3: [u8; 64] = flat([
    [0, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [0, 1, 1],
    [1, 0, 1],
    [1, 1, 0],
    [2, 0, 0],
    [0, 2, 0],
    [0, 0, 2],
    [1, 1, 1],
    [2, 1, 0],
    [2, 0, 1],
    [0, 2, 1],
    [1, 2, 0],
    [1, 0, 2],
    [0, 1, 2],
    [3, 0, 0],
    [0, 3, 0],
    [0, 0, 3],
    [2, 1, 1],
    [1, 2, 1],
    [1, 1, 2],
    [0, 2, 2],
    [2, 0, 2],
    [2, 2, 0],
    [3, 1, 0],
    [3, 0, 1],
    [0, 3, 1],
    [1, 3, 0],
    [1, 0, 3],
    [0, 1, 3],
    [1, 2, 2],
    [2, 1, 2],
    [2, 2, 1],
    [3, 1, 1],
    [1, 3, 1],
    [1, 1, 3],
    [3, 2, 0],
    [3, 0, 2],
    [0, 3, 2],
    [2, 3, 0],
    [2, 0, 3],
    [0, 2, 3],
    [2, 2, 2],
    [3, 2, 1],
    [3, 1, 2],
    [1, 3, 2],
    [2, 3, 1],
    [2, 1, 3],
    [1, 2, 3],
    [0, 3, 3],
    [3, 0, 3],
    [3, 3, 0],
    [3, 2, 2],
    [2, 3, 2],
    [2, 2, 3],
    [1, 3, 3],
    [3, 1, 3],
    [3, 3, 1],
    [2, 3, 3],
    [3, 2, 3],
    [3, 3, 2],
    [3, 3, 3],
]);
const PERM_4: [u8; 256] = flat([
    [0, 0, 0, 0],
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [1, 1, 0, 0],
    [0, 0, 1, 1],
    [1, 0, 1, 0],
    [0, 1, 0, 1],
    [1, 0, 0, 1],
    [0, 1, 1, 0],
    [2, 0, 0, 0],
    [0, 2, 0, 0],
    [0, 0, 2, 0],
    [0, 0, 0, 2],
    [0, 1, 1, 1],
    [1, 0, 1, 1],
    [1, 1, 0, 1],
    [1, 1, 1, 0],
    [2, 1, 0, 0],
    [2, 0, 1, 0],
    [2, 0, 0, 1],
    [0, 2, 1, 0],
    [0, 2, 0, 1],
    [1, 2, 0, 0],
    [0, 0, 2, 1],
    [1, 0, 2, 0],
    [0, 1, 2, 0],
    [1, 0, 0, 2],
    [0, 1, 0, 2],
    [0, 0, 1, 2],
    [3, 0, 0, 0],
    [0, 3, 0, 0],
    [0, 0, 3, 0],
    [0, 0, 0, 3],
    [1, 1, 1, 1],
    [2, 0, 1, 1],
    [2, 1, 0, 1],
    [2, 1, 1, 0],
    [1, 2, 0, 1],
    [1, 2, 1, 0],
    [0, 2, 1, 1],
    [1, 1, 2, 0],
    [0, 1, 2, 1],
    [1, 0, 2, 1],
    [0, 1, 1, 2],
    [1, 0, 1, 2],
    [1, 1, 0, 2],
    [2, 2, 0, 0],
    [0, 0, 2, 2],
    [2, 0, 2, 0],
    [0, 2, 0, 2],
    [2, 0, 0, 2],
    [0, 2, 2, 0],
    [3, 1, 0, 0],
    [3, 0, 1, 0],
    [3, 0, 0, 1],
    [0, 3, 1, 0],
    [0, 3, 0, 1],
    [1, 3, 0, 0],
    [0, 0, 3, 1],
    [1, 0, 3, 0],
    [0, 1, 3, 0],
    [1, 0, 0, 3],
    [0, 1, 0, 3],
    [0, 0, 1, 3],
    [2, 1, 1, 1],
    [1, 2, 1, 1],
    [1, 1, 2, 1],
    [1, 1, 1, 2],
    [1, 0, 2, 2],
    [1, 2, 0, 2],
    [1, 2, 2, 0],
    [2, 1, 0, 2],
    [2, 1, 2, 0],
    [0, 1, 2, 2],
    [2, 2, 1, 0],
    [0, 2, 1, 2],
    [2, 0, 1, 2],
    [0, 2, 2, 1],
    [2, 0, 2, 1],
    [2, 2, 0, 1],
    [3, 0, 1, 1],
    [3, 1, 0, 1],
    [3, 1, 1, 0],
    [1, 3, 0, 1],
    [1, 3, 1, 0],
    [0, 3, 1, 1],
    [1, 1, 3, 0],
    [0, 1, 3, 1],
    [1, 0, 3, 1],
    [0, 1, 1, 3],
    [1, 0, 1, 3],
    [1, 1, 0, 3],
    [3, 2, 0, 0],
    [3, 0, 2, 0],
    [3, 0, 0, 2],
    [0, 3, 2, 0],
    [0, 3, 0, 2],
    [2, 3, 0, 0],
    [0, 0, 3, 2],
    [2, 0, 3, 0],
    [0, 2, 3, 0],
    [2, 0, 0, 3],
    [0, 2, 0, 3],
    [0, 0, 2, 3],
    [2, 2, 1, 1],
    [1, 1, 2, 2],
    [2, 1, 2, 1],
    [1, 2, 1, 2],
    [2, 1, 1, 2],
    [1, 2, 2, 1],
    [0, 2, 2, 2],
    [2, 0, 2, 2],
    [2, 2, 0, 2],
    [2, 2, 2, 0],
    [3, 1, 1, 1],
    [1, 3, 1, 1],
    [1, 1, 3, 1],
    [1, 1, 1, 3],
    [3, 2, 1, 0],
    [3, 2, 0, 1],
    [3, 0, 2, 1],
    [3, 1, 2, 0],
    [3, 1, 0, 2],
    [3, 0, 1, 2],
    [0, 3, 2, 1],
    [1, 3, 2, 0],
    [1, 3, 0, 2],
    [0, 3, 1, 2],
    [2, 3, 1, 0],
    [2, 3, 0, 1],
    [1, 0, 3, 2],
    [0, 1, 3, 2],
    [2, 1, 3, 0],
    [2, 0, 3, 1],
    [0, 2, 3, 1],
    [1, 2, 3, 0],
    [2, 1, 0, 3],
    [2, 0, 1, 3],
    [0, 2, 1, 3],
    [1, 2, 0, 3],
    [1, 0, 2, 3],
    [0, 1, 2, 3],
    [3, 3, 0, 0],
    [0, 0, 3, 3],
    [3, 0, 3, 0],
    [0, 3, 0, 3],
    [3, 0, 0, 3],
    [0, 3, 3, 0],
    [1, 2, 2, 2],
    [2, 1, 2, 2],
    [2, 2, 1, 2],
    [2, 2, 2, 1],
    [3, 2, 1, 1],
    [3, 1, 2, 1],
    [3, 1, 1, 2],
    [1, 3, 2, 1],
    [1, 3, 1, 2],
    [2, 3, 1, 1],
    [1, 1, 3, 2],
    [2, 1, 3, 1],
    [1, 2, 3, 1],
    [2, 1, 1, 3],
    [1, 2, 1, 3],
    [1, 1, 2, 3],
    [3, 0, 2, 2],
    [3, 2, 0, 2],
    [3, 2, 2, 0],
    [2, 3, 0, 2],
    [2, 3, 2, 0],
    [0, 3, 2, 2],
    [2, 2, 3, 0],
    [0, 2, 3, 2],
    [2, 0, 3, 2],
    [0, 2, 2, 3],
    [2, 0, 2, 3],
    [2, 2, 0, 3],
    [1, 0, 3, 3],
    [1, 3, 0, 3],
    [1, 3, 3, 0],
    [3, 1, 0, 3],
    [3, 1, 3, 0],
    [0, 1, 3, 3],
    [3, 3, 1, 0],
    [0, 3, 1, 3],
    [3, 0, 1, 3],
    [0, 3, 3, 1],
    [3, 0, 3, 1],
    [3, 3, 0, 1],
    [2, 2, 2, 2],
    [3, 1, 2, 2],
    [3, 2, 1, 2],
    [3, 2, 2, 1],
    [2, 3, 1, 2],
    [2, 3, 2, 1],
    [1, 3, 2, 2],
    [2, 2, 3, 1],
    [1, 2, 3, 2],
    [2, 1, 3, 2],
    [1, 2, 2, 3],
    [2, 1, 2, 3],
    [2, 2, 1, 3],
    [3, 3, 1, 1],
    [1, 1, 3, 3],
    [3, 1, 3, 1],
    [1, 3, 1, 3],
    [3, 1, 1, 3],
    [1, 3, 3, 1],
    [2, 0, 3, 3],
    [2, 3, 0, 3],
    [2, 3, 3, 0],
    [3, 2, 0, 3],
    [3, 2, 3, 0],
    [0, 2, 3, 3],
    [3, 3, 2, 0],
    [0, 3, 2, 3],
    [3, 0, 2, 3],
    [0, 3, 3, 2],
    [3, 0, 3, 2],
    [3, 3, 0, 2],
    [3, 2, 2, 2],
    [2, 3, 2, 2],
    [2, 2, 3, 2],
    [2, 2, 2, 3],
    [2, 1, 3, 3],
    [2, 3, 1, 3],
    [2, 3, 3, 1],
    [3, 2, 1, 3],
    [3, 2, 3, 1],
    [1, 2, 3, 3],
    [3, 3, 2, 1],
    [1, 3, 2, 3],
    [3, 1, 2, 3],
    [1, 3, 3, 2],
    [3, 1, 3, 2],
    [3, 3, 1, 2],
    [0, 3, 3, 3],
    [3, 0, 3, 3],
    [3, 3, 0, 3],
    [3, 3, 3, 0],
    [3, 3, 2, 2],
    [2, 2, 3, 3],
    [3, 2, 3, 2],
    [2, 3, 2, 3],
    [3, 2, 2, 3],
    [2, 3, 3, 2],
    [1, 3, 3, 3],
    [3, 1, 3, 3],
    [3, 3, 1, 3],
    [3, 3, 3, 1],
    [2, 3, 3, 3],
    [3, 2, 3, 3],
    [3, 3, 2, 3],
    [3, 3, 3, 2],
    [3, 3, 3, 3],
]);

/// The coefficient order of a block with `dims` dimensions.
fn perm(dims: usize) -> &'static [u8] {
    match dims {
        1 => &PERM_1,
        2 => &PERM_2,
        3 => &PERM_3,
        _ => &PERM_4,
    }
}

/// The signed integer a block's values become (32 bits for int32 and float, 64 for the rest).
trait Int: Copy + Default {
    const BITS: u32;
    /// Bits that give the number of bit planes in reversible mode.
    const PBITS: u32;
    fn from_negabinary(u: u64) -> Self;
    fn to_negabinary(self) -> u64;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn half(self) -> Self;
}

impl Int for i32 {
    const BITS: u32 = 32;
    const PBITS: u32 = 5;
    fn from_negabinary(u: u64) -> Self {
        const MASK: u32 = 0xaaaa_aaaa;
        ((u as u32 ^ MASK).wrapping_sub(MASK)) as i32
    }
    fn to_negabinary(self) -> u64 {
        const MASK: u32 = 0xaaaa_aaaa;
        u64::from((self as u32).wrapping_add(MASK) ^ MASK)
    }
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn sub(self, o: Self) -> Self {
        self.wrapping_sub(o)
    }
    fn half(self) -> Self {
        self >> 1
    }
}

impl Int for i64 {
    const BITS: u32 = 64;
    const PBITS: u32 = 6;
    fn from_negabinary(u: u64) -> Self {
        const MASK: u64 = 0xaaaa_aaaa_aaaa_aaaa;
        ((u ^ MASK).wrapping_sub(MASK)) as i64
    }
    fn to_negabinary(self) -> u64 {
        const MASK: u64 = 0xaaaa_aaaa_aaaa_aaaa;
        (self as u64).wrapping_add(MASK) ^ MASK
    }
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn sub(self, o: Self) -> Self {
        self.wrapping_sub(o)
    }
    fn half(self) -> Self {
        self >> 1
    }
}

/// Sets bit `k` of `data[at..at + n]` from the next `n` stream bits.
fn read_plane(r: &mut Bits<'_>, data: &mut [u64], n: usize, k: u32) {
    let mut at = 0;
    while at < n {
        let take = (n - at).min(64);
        let mut x = r.bits(take as u32);
        while x != 0 {
            data[at + x.trailing_zeros() as usize] |= 1 << k;
            x &= x - 1;
        }
        at += take;
    }
}

/// Decodes the bit planes of a block's unsigned coefficients, most significant first, at most
/// `maxprec` planes; returns the bits read. With a budget (`maxbits`) that can run out, a plane
/// may stop part way.
fn decode_ints(
    r: &mut Bits<'_>,
    maxbits: u32,
    maxprec: u32,
    data: &mut [u64],
    intprec: u32,
) -> u32 {
    let size = data.len();
    data.fill(0);
    let kmin = intprec.saturating_sub(maxprec);
    let mut n = 0usize;
    if (maxprec + 1) * size as u32 - 1 > maxbits {
        let mut bits = maxbits;
        let mut k = intprec;
        while bits > 0 && k > kmin {
            k -= 1;
            // the coefficients already significant: one bit each, verbatim
            let m = n.min(bits as usize);
            bits -= m as u32;
            read_plane(r, data, m, k);
            // the rest: group tests, then a run of zeros up to the next one bit
            while bits > 0 && n < size {
                bits -= 1;
                if !r.bit() {
                    break;
                }
                while bits > 0 && n < size - 1 {
                    bits -= 1;
                    if r.bit() {
                        break;
                    }
                    n += 1;
                }
                data[n] |= 1 << k;
                n += 1;
            }
        }
        maxbits - bits
    } else {
        let start = r.pos;
        for k in (kmin..intprec).rev() {
            read_plane(r, data, n, k);
            while n < size && r.bit() {
                while n < size - 1 && !r.bit() {
                    n += 1;
                }
                data[n] |= 1 << k;
                n += 1;
            }
        }
        (r.pos - start) as u32
    }
}

/// The inverse of zfp's decorrelating transform along one line of four values.
fn inv_lift<I: Int>(b: &mut [I], at: usize, s: usize) {
    let (mut x, mut y, mut z, mut w) = (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]);
    y = y.add(w.half());
    w = w.sub(y.half());
    y = y.add(w);
    w = w.sub(y.sub(w));
    z = z.add(x);
    x = x.sub(z.sub(x));
    y = y.add(z);
    z = z.sub(y.sub(z));
    w = w.add(x);
    x = x.sub(w.sub(x));
    (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]) = (x, y, z, w);
}

/// The inverse of the reversible transform along one line (running sums, Pascal's triangle).
fn rev_inv_lift<I: Int>(b: &mut [I], at: usize, s: usize) {
    let (x, mut y, mut z, mut w) = (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]);
    w = w.add(z);
    z = z.add(y);
    w = w.add(z);
    y = y.add(x);
    z = z.add(y);
    w = w.add(z);
    (b[at + s], b[at + 2 * s], b[at + 3 * s]) = (y, z, w);
}

/// Applies `lift` along every axis of a block, the last axis first.
fn inv_xform<I: Int>(block: &mut [I], dims: usize, lift: fn(&mut [I], usize, usize)) {
    for axis in (0..dims).rev() {
        lift_axis(block, axis, lift);
    }
}

/// Applies `lift` to every line of a block along `axis`.
fn lift_axis<I: Int>(block: &mut [I], axis: usize, lift: fn(&mut [I], usize, usize)) {
    let stride = 1usize << (2 * axis);
    for at in 0..block.len() {
        if (at / stride).is_multiple_of(4) {
            lift(block, at, stride);
        }
    }
}

/// Coefficients (in zfp's order, negabinary) to the block's integers (x fastest).
fn inv_order<I: Int>(ublock: &[u64], iblock: &mut [I], dims: usize) {
    for (&u, &p) in ublock.iter().zip(perm(dims)) {
        iblock[usize::from(p)] = I::from_negabinary(u);
    }
}

/// A lossy-coded integer block; returns the bits it took.
fn decode_int_block<I: Int>(
    r: &mut Bits<'_>,
    minbits: u32,
    maxbits: u32,
    maxprec: u32,
    dims: usize,
    iblock: &mut [I],
) -> u32 {
    let mut ublock = [0u64; 256];
    let ublock = &mut ublock[..iblock.len()];
    let mut bits = decode_ints(r, maxbits, maxprec, ublock, I::BITS);
    if bits < minbits {
        r.skip(minbits - bits);
        bits = minbits;
    }
    inv_order(ublock, iblock, dims);
    inv_xform(iblock, dims, inv_lift);
    bits
}

/// A reversibly coded integer block; returns the bits it took.
fn rev_decode_int_block<I: Int>(
    r: &mut Bits<'_>,
    minbits: u32,
    maxbits: u32,
    dims: usize,
    iblock: &mut [I],
) -> u32 {
    let mut bits = I::PBITS;
    let prec = r.bits(I::PBITS) as u32 + 1;
    let mut ublock = [0u64; 256];
    let ublock = &mut ublock[..iblock.len()];
    bits = bits.wrapping_add(decode_ints(
        r,
        maxbits.wrapping_sub(bits),
        prec,
        ublock,
        I::BITS,
    ));
    if bits < minbits {
        r.skip(minbits - bits);
        bits = minbits;
    }
    inv_order(ublock, iblock, dims);
    inv_xform(iblock, dims, rev_inv_lift);
    bits
}

/// A scalar type of the field: how one block of it is decoded and how a value is stored.
trait Scalar: Copy + Default {
    fn decode_block(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [Self]);
    fn store(self, out: &mut [u8], big_endian: bool);
    fn encode_block(w: &mut Writer, p: &Params, dims: usize, block: &[Self]);
    fn load(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! load_bytes {
    ($t:ty, $bytes:expr, $be:expr) => {{
        let b = $bytes.try_into().unwrap_or_default();
        if $be {
            <$t>::from_be_bytes(b)
        } else {
            <$t>::from_le_bytes(b)
        }
    }};
}

macro_rules! store_bytes {
    ($v:expr, $out:expr, $be:expr) => {
        $out.copy_from_slice(&if $be {
            $v.to_be_bytes()
        } else {
            $v.to_le_bytes()
        })
    };
}

impl Scalar for i32 {
    fn decode_block(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [Self]) {
        if p.reversible() {
            rev_decode_int_block(r, p.minbits, p.maxbits, dims, block);
        } else {
            decode_int_block(r, p.minbits, p.maxbits, p.maxprec, dims, block);
        }
    }
    fn store(self, out: &mut [u8], big_endian: bool) {
        store_bytes!(self, out, big_endian);
    }
    fn encode_block(w: &mut Writer, p: &Params, dims: usize, block: &[Self]) {
        let mut iblock = [0; 256];
        let iblock = &mut iblock[..block.len()];
        iblock.copy_from_slice(block);
        if p.reversible() {
            rev_encode_int_block(w, p.minbits, p.maxbits, p.maxprec, dims, iblock);
        } else {
            encode_int_block(w, p.minbits, p.maxbits, p.maxprec, dims, iblock);
        }
    }
    fn load(bytes: &[u8], big_endian: bool) -> Self {
        load_bytes!(i32, bytes, big_endian)
    }
}

impl Scalar for i64 {
    fn decode_block(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [Self]) {
        if p.reversible() {
            rev_decode_int_block(r, p.minbits, p.maxbits, dims, block);
        } else {
            decode_int_block(r, p.minbits, p.maxbits, p.maxprec, dims, block);
        }
    }
    fn store(self, out: &mut [u8], big_endian: bool) {
        store_bytes!(self, out, big_endian);
    }
    fn encode_block(w: &mut Writer, p: &Params, dims: usize, block: &[Self]) {
        let mut iblock = [0; 256];
        let iblock = &mut iblock[..block.len()];
        iblock.copy_from_slice(block);
        if p.reversible() {
            rev_encode_int_block(w, p.minbits, p.maxbits, p.maxprec, dims, iblock);
        } else {
            encode_int_block(w, p.minbits, p.maxbits, p.maxprec, dims, iblock);
        }
    }
    fn load(bytes: &[u8], big_endian: bool) -> Self {
        load_bytes!(i64, bytes, big_endian)
    }
}

/// float and double: block floating point over their integer type.
trait Float: Scalar {
    type I: Int;
    /// Exponent bits.
    const EBITS: u32;
    fn ebias() -> i32 {
        (1 << (Self::EBITS - 1)) - 1
    }
    /// 2^e, rounded as `ldexp` rounds (0 below the least subnormal).
    fn pow2(e: i32) -> Self;
    /// `s * i` with `i` first rounded to the float type, as C computes it.
    fn scale(i: Self::I, s: Self) -> Self;
    /// The float whose bits are `i` read as sign and magnitude.
    fn from_sign_magnitude(i: Self::I) -> Self;
    /// The inverse of [`from_sign_magnitude`](Float::from_sign_magnitude).
    fn to_sign_magnitude(self) -> Self::I;
    /// The block's common exponent: `frexp`'s of its largest magnitude (NaN never is the
    /// largest, infinity's is 0), at least that of the least normal number; −bias for zeros.
    fn exponent(block: &[Self]) -> i32;
    /// `s * self` truncated to the integer type, out-of-range and NaN products giving the
    /// integer's minimum as x86's conversion does (the C encoder's undefined behaviour there).
    fn quantize(self, s: Self) -> Self::I;
    fn same_bits(self, o: Self) -> bool;
}

impl Float for f32 {
    type I = i32;
    const EBITS: u32 = 8;
    fn pow2(e: i32) -> Self {
        match e {
            ..-149 => 0.0,
            -149..-126 => f32::from_bits(1 << (e + 149)),
            -126..128 => f32::from_bits(((e + 127) as u32) << 23),
            _ => f32::INFINITY,
        }
    }
    fn scale(i: i32, s: f32) -> f32 {
        s * i as f32
    }
    fn from_sign_magnitude(i: i32) -> f32 {
        let u = if i < 0 {
            i as u32 ^ 0x7fff_ffff
        } else {
            i as u32
        };
        f32::from_bits(u)
    }
    fn to_sign_magnitude(self) -> i32 {
        let i = self.to_bits() as i32;
        if i < 0 {
            (i as u32 ^ 0x7fff_ffff) as i32
        } else {
            i
        }
    }
    fn exponent(block: &[f32]) -> i32 {
        let max = block
            .iter()
            .fold(0f32, |m, f| if m < f.abs() { f.abs() } else { m });
        match (max.to_bits() >> 23) & 0xff {
            _ if max <= 0.0 => -127,
            0 => -126,
            0xff => 0,
            e => e as i32 - 126,
        }
    }
    fn quantize(self, s: f32) -> i32 {
        let x = s * self;
        if x.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&x) {
            i32::MIN
        } else {
            x as i32
        }
    }
    fn same_bits(self, o: f32) -> bool {
        self.to_bits() == o.to_bits()
    }
}

impl Float for f64 {
    type I = i64;
    const EBITS: u32 = 11;
    fn pow2(e: i32) -> Self {
        match e {
            ..-1074 => 0.0,
            -1074..-1022 => f64::from_bits(1 << (e + 1074)),
            -1022..1024 => f64::from_bits(((e + 1023) as u64) << 52),
            _ => f64::INFINITY,
        }
    }
    fn scale(i: i64, s: f64) -> f64 {
        s * i as f64
    }
    fn from_sign_magnitude(i: i64) -> f64 {
        let u = if i < 0 {
            i as u64 ^ 0x7fff_ffff_ffff_ffff
        } else {
            i as u64
        };
        f64::from_bits(u)
    }
    fn to_sign_magnitude(self) -> i64 {
        let i = self.to_bits() as i64;
        if i < 0 {
            (i as u64 ^ 0x7fff_ffff_ffff_ffff) as i64
        } else {
            i
        }
    }
    fn exponent(block: &[f64]) -> i32 {
        let max = block
            .iter()
            .fold(0f64, |m, f| if m < f.abs() { f.abs() } else { m });
        match (max.to_bits() >> 52) & 0x7ff {
            _ if max <= 0.0 => -1023,
            0 => -1022,
            0x7ff => 0,
            e => e as i32 - 1022,
        }
    }
    fn quantize(self, s: f64) -> i64 {
        let x = s * self;
        if x.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x) {
            i64::MIN
        } else {
            x as i64
        }
    }
    fn same_bits(self, o: f64) -> bool {
        self.to_bits() == o.to_bits()
    }
}

/// The integers of a block times 2^(emax − (bits − 2)).
fn inv_cast<F: Float>(iblock: &[F::I], block: &mut [F], emax: i32) {
    let s = F::pow2(emax - (F::I::BITS as i32 - 2));
    for (f, &i) in block.iter_mut().zip(iblock) {
        *f = F::scale(i, s);
    }
}

fn decode_float_block<F: Float>(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [F]) {
    let mut iblock = [F::I::default(); 256];
    let iblock = &mut iblock[..block.len()];
    let mut bits = 1u32;
    if !r.bit() {
        // an all-zero block
        block.fill(F::default());
        if p.minbits > bits {
            r.skip(p.minbits - bits);
        }
        return;
    }
    if p.reversible() {
        bits += 1;
        if r.bit() {
            // the values' own bits, coded as integers
            let min = p.minbits - bits.min(p.minbits);
            rev_decode_int_block(r, min, p.maxbits.wrapping_sub(bits), dims, iblock);
            for (f, &i) in block.iter_mut().zip(iblock.iter()) {
                *f = F::from_sign_magnitude(i);
            }
        } else {
            bits += F::EBITS;
            let emax = r.bits(F::EBITS) as i32 - F::ebias();
            let min = p.minbits - bits.min(p.minbits);
            rev_decode_int_block(r, min, p.maxbits.wrapping_sub(bits), dims, iblock);
            if emax == -F::ebias() {
                block.fill(F::default());
            } else {
                inv_cast(iblock, block, emax);
            }
        }
    } else {
        bits += F::EBITS;
        let emax = r.bits(F::EBITS) as i32 - F::ebias();
        // the bit planes worth coding for the accuracy asked (zfp's `precision`)
        let planes = (emax - p.minexp + 2 * dims as i32 + 2).max(0) as u32;
        let maxprec = p.maxprec.min(planes);
        let min = p.minbits - bits.min(p.minbits);
        decode_int_block(r, min, p.maxbits.wrapping_sub(bits), maxprec, dims, iblock);
        inv_cast(iblock, block, emax);
    }
}

impl Scalar for f32 {
    fn decode_block(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [Self]) {
        decode_float_block(r, p, dims, block);
    }
    fn store(self, out: &mut [u8], big_endian: bool) {
        store_bytes!(self.to_bits(), out, big_endian);
    }
    fn encode_block(w: &mut Writer, p: &Params, dims: usize, block: &[Self]) {
        encode_float_block(w, p, dims, block);
    }
    fn load(bytes: &[u8], big_endian: bool) -> Self {
        f32::from_bits(load_bytes!(u32, bytes, big_endian))
    }
}

impl Scalar for f64 {
    fn decode_block(r: &mut Bits<'_>, p: &Params, dims: usize, block: &mut [Self]) {
        decode_float_block(r, p, dims, block);
    }
    fn store(self, out: &mut [u8], big_endian: bool) {
        store_bytes!(self.to_bits(), out, big_endian);
    }
    fn encode_block(w: &mut Writer, p: &Params, dims: usize, block: &[Self]) {
        encode_float_block(w, p, dims, block);
    }
    fn load(bytes: &[u8], big_endian: bool) -> Self {
        f64::from_bits(load_bytes!(u64, bytes, big_endian))
    }
}

/// Decodes every block of the field into `out` (the values in C order, x fastest).
fn decompress<T: Scalar>(input: &[u8], h: &Header, out: &mut [u8]) -> Result<()> {
    let size = std::mem::size_of::<T>();
    let d = h.dims.len();
    let n = |i: usize| h.dims.get(i).copied().unwrap_or(1);
    let (nx, ny, nz, nw) = (n(0), n(1), n(2), n(3));
    let blocks = |n: usize| n.div_ceil(4);
    let mut r = Bits::new(input);
    let mut block = [T::default(); 256];
    let block = &mut block[..1 << (2 * d)];
    for bw in 0..blocks(nw) {
        for bz in 0..blocks(nz) {
            for by in 0..blocks(ny) {
                for bx in 0..blocks(nx) {
                    T::decode_block(&mut r, &h.params, d, block);
                    if r.past_end() {
                        return Err(corrupt("zfp stream shorter than its blocks"));
                    }
                    // keep the values inside the field
                    for (i, &v) in block.iter().enumerate() {
                        let (x, y) = (bx * 4 + (i & 3), by * 4 + ((i >> 2) & 3));
                        let (z, w) = (bz * 4 + ((i >> 4) & 3), bw * 4 + (i >> 6));
                        if x < nx && y < ny && z < nz && w < nw {
                            let at = (x + nx * (y + ny * (z + nz * w))) * size;
                            v.store(&mut out[at..at + size], h.big_endian);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes bits LSB first into bytes (zfp's stream with 8-bit words).
struct Writer {
    out: Vec<u8>,
    cur: u8,
    fill: u32,
}

impl Writer {
    fn bit(&mut self, b: bool) {
        self.bits(u64::from(b), 1);
    }

    /// The low `n` (at most 64) bits of `v`, bit 0 first.
    fn bits(&mut self, v: u64, n: u32) {
        let mut done = 0;
        while done < n {
            let take = (8 - self.fill).min(n - done);
            let part = (v >> done) & ((1u64 << take) - 1);
            self.cur |= (part as u8) << self.fill;
            self.fill += take;
            done += take;
            if self.fill == 8 {
                self.out.push(self.cur);
                self.cur = 0;
                self.fill = 0;
            }
        }
    }

    fn pad(&mut self, mut n: u32) {
        while n > 0 {
            let take = n.min(64);
            self.bits(0, take);
            n -= take;
        }
    }

    /// The stream, its last byte filled with zero bits.
    fn finish(mut self) -> Vec<u8> {
        if self.fill > 0 {
            self.out.push(self.cur);
        }
        self.out
    }
}

/// Encodes bit planes of a block's unsigned coefficients; the mirror of [`decode_ints`].
fn encode_ints(w: &mut Writer, maxbits: u32, maxprec: u32, data: &[u64], intprec: u32) -> u32 {
    let size = data.len();
    let budget = if (maxprec + 1) * size as u32 - 1 > maxbits {
        maxbits
    } else {
        u32::MAX
    };
    let kmin = intprec.saturating_sub(maxprec);
    let mut bits = budget;
    let mut n = 0usize;
    let mut k = intprec;
    while bits > 0 && k > kmin {
        k -= 1;
        let one = |i: usize| (data[i] >> k) & 1 == 1;
        let m = n.min(bits as usize);
        bits -= m as u32;
        for i in 0..m {
            w.bit(one(i));
        }
        let mut left = (m..size).filter(|&i| one(i)).count();
        while bits > 0 && n < size {
            bits -= 1;
            w.bit(left > 0);
            if left == 0 {
                break;
            }
            left -= 1;
            while bits > 0 && n < size - 1 {
                bits -= 1;
                w.bit(one(n));
                if one(n) {
                    break;
                }
                n += 1;
            }
            n += 1;
        }
    }
    budget - bits
}

/// zfp's forward decorrelating transform along one line of four values.
fn fwd_lift<I: Int>(b: &mut [I], at: usize, s: usize) {
    let (mut x, mut y, mut z, mut w) = (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]);
    x = x.add(w).half();
    w = w.sub(x);
    z = z.add(y).half();
    y = y.sub(z);
    x = x.add(z).half();
    z = z.sub(x);
    w = w.add(y).half();
    y = y.sub(w);
    w = w.add(y.half());
    y = y.sub(w.half());
    (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]) = (x, y, z, w);
}

/// The reversible forward transform along one line (differences).
fn rev_fwd_lift<I: Int>(b: &mut [I], at: usize, s: usize) {
    let (x, mut y, mut z, mut w) = (b[at], b[at + s], b[at + 2 * s], b[at + 3 * s]);
    w = w.sub(z);
    z = z.sub(y);
    y = y.sub(x);
    w = w.sub(z);
    z = z.sub(y);
    w = w.sub(z);
    (b[at + s], b[at + 2 * s], b[at + 3 * s]) = (y, z, w);
}

/// The block's integers (x fastest) to coefficients in zfp's order, negabinary.
fn fwd_order<I: Int>(iblock: &[I], ublock: &mut [u64], dims: usize) {
    for (u, &p) in ublock.iter_mut().zip(perm(dims)) {
        *u = iblock[usize::from(p)].to_negabinary();
    }
}

/// Codes an integer block lossily; returns the bits it took.
fn encode_int_block<I: Int>(
    w: &mut Writer,
    minbits: u32,
    maxbits: u32,
    maxprec: u32,
    dims: usize,
    iblock: &mut [I],
) -> u32 {
    for axis in 0..dims {
        lift_axis(iblock, axis, fwd_lift);
    }
    let mut ublock = [0u64; 256];
    let ublock = &mut ublock[..iblock.len()];
    fwd_order(iblock, ublock, dims);
    let mut bits = encode_ints(w, maxbits, maxprec, ublock, I::BITS);
    if bits < minbits {
        w.pad(minbits - bits);
        bits = minbits;
    }
    bits
}

/// Codes an integer block reversibly; returns the bits it took.
fn rev_encode_int_block<I: Int>(
    w: &mut Writer,
    minbits: u32,
    maxbits: u32,
    maxprec: u32,
    dims: usize,
    iblock: &mut [I],
) -> u32 {
    for axis in 0..dims {
        lift_axis(iblock, axis, rev_fwd_lift);
    }
    let mut ublock = [0u64; 256];
    let ublock = &mut ublock[..iblock.len()];
    fwd_order(iblock, ublock, dims);
    // the bit planes down to the lowest one bit of any coefficient
    let all = ublock.iter().fold(0, |a, &u| a | u);
    let needed = if all == 0 {
        0
    } else {
        I::BITS - all.trailing_zeros()
    };
    let prec = needed.min(maxprec).max(1);
    w.bits(u64::from(prec - 1), I::PBITS);
    let mut bits = I::PBITS;
    bits = bits.wrapping_add(encode_ints(
        w,
        maxbits.wrapping_sub(bits),
        prec,
        ublock,
        I::BITS,
    ));
    if bits < minbits {
        w.pad(minbits - bits);
        bits = minbits;
    }
    bits
}

fn encode_float_block<F: Float>(w: &mut Writer, p: &Params, dims: usize, block: &[F]) {
    let emax = F::exponent(block);
    let mut iblock = [F::I::default(); 256];
    let iblock = &mut iblock[..block.len()];
    let quantize = |iblock: &mut [F::I]| {
        let s = F::pow2(F::I::BITS as i32 - 2 - emax);
        for (i, &f) in iblock.iter_mut().zip(block) {
            *i = f.quantize(s);
        }
    };
    if p.reversible() {
        // lossless through block floating point? (compared bit for bit)
        let mut back = [F::default(); 256];
        let back = &mut back[..block.len()];
        if emax != -F::ebias() {
            quantize(iblock);
            inv_cast(iblock, back, emax);
        }
        let bits;
        if back.iter().zip(block).all(|(a, b)| a.same_bits(*b)) {
            let e = (emax + F::ebias()) as u64;
            if e == 0 {
                // all (positive) zeros
                w.bit(false);
                return;
            }
            w.bits(1, 2);
            w.bits(e, F::EBITS);
            bits = 2 + F::EBITS;
        } else {
            for (i, &f) in iblock.iter_mut().zip(block) {
                *i = f.to_sign_magnitude();
            }
            w.bits(3, 2);
            bits = 2;
        }
        let min = p.minbits - bits.min(p.minbits);
        rev_encode_int_block(
            w,
            min,
            p.maxbits.wrapping_sub(bits),
            p.maxprec,
            dims,
            iblock,
        );
        return;
    }
    let mut bits = 1u32;
    let planes = (emax - p.minexp + 2 * dims as i32 + 2).max(0) as u32;
    let maxprec = p.maxprec.min(planes);
    let e = if maxprec > 0 {
        (emax + F::ebias()) as u64
    } else {
        0
    };
    if e == 0 {
        w.bit(false);
        if p.minbits > bits {
            w.pad(p.minbits - bits);
        }
        return;
    }
    bits += F::EBITS;
    w.bits(2 * e + 1, bits);
    quantize(iblock);
    let min = p.minbits - bits.min(p.minbits);
    encode_int_block(w, min, p.maxbits.wrapping_sub(bits), maxprec, dims, iblock);
}

/// Fills a partial block's missing values as zfp does: along each axis in turn (x first),
/// every line that holds values gets the missing ones from its first values.
fn pad_partial<T: Copy + Default>(block: &mut [T], dims: usize, extent: &[usize; 4]) {
    for axis in 0..dims {
        let n = extent[axis];
        if n == 4 {
            continue;
        }
        let stride = 1usize << (2 * axis);
        'lines: for at in 0..block.len() {
            if !(at / stride).is_multiple_of(4) {
                continue;
            }
            for (higher, &extent) in extent.iter().enumerate().take(dims).skip(axis + 1) {
                if (at >> (2 * higher)) & 3 >= extent {
                    continue 'lines;
                }
            }
            let v = |i: usize| at + i * stride;
            if n == 0 {
                block[v(0)] = T::default();
            }
            if n <= 1 {
                block[v(1)] = block[v(0)];
            }
            if n <= 2 {
                block[v(2)] = block[v(1)];
            }
            block[v(3)] = block[v(0)];
        }
    }
}

/// Encodes the field's values (C order, x fastest) as a headerless zfp stream.
fn compress<T: Scalar>(input: &[u8], h: &Header) -> Vec<u8> {
    let size = std::mem::size_of::<T>();
    let d = h.dims.len();
    let n = |i: usize| h.dims.get(i).copied().unwrap_or(1);
    let (nx, ny, nz, nw) = (n(0), n(1), n(2), n(3));
    let blocks = |n: usize| n.div_ceil(4);
    let mut w = Writer {
        out: Vec::new(),
        cur: 0,
        fill: 0,
    };
    let mut block = [T::default(); 256];
    let block = &mut block[..1 << (2 * d)];
    for bw in 0..blocks(nw) {
        for bz in 0..blocks(nz) {
            for by in 0..blocks(ny) {
                for bx in 0..blocks(nx) {
                    let extent = [
                        (nx - bx * 4).min(4),
                        (ny - by * 4).min(4),
                        (nz - bz * 4).min(4),
                        (nw - bw * 4).min(4),
                    ];
                    for (i, v) in block.iter_mut().enumerate() {
                        let (x, y) = (bx * 4 + (i & 3), by * 4 + ((i >> 2) & 3));
                        let (z, w) = (bz * 4 + ((i >> 4) & 3), bw * 4 + (i >> 6));
                        if x < nx && y < ny && z < nz && w < nw {
                            let at = (x + nx * (y + ny * (z + nz * w))) * size;
                            *v = T::load(&input[at..at + size], h.big_endian);
                        }
                    }
                    pad_partial(block, d, &extent);
                    T::encode_block(&mut w, &h.params, d, block);
                }
            }
        }
    }
    w.finish()
}

/// A compression mode, as hdf5plugin's `Zfp(...)` (or H5Z-ZFP's `H5Pset_zfp_*`) asks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Fixed rate: this many compressed bits per value (`Zfp(rate=..)`).
    Rate(f64),
    /// Fixed precision: this many bit planes (`Zfp(precision=..)`; 0 means 64).
    Precision(u32),
    /// Fixed accuracy: an absolute error tolerance (`Zfp(accuracy=..)`).
    Accuracy(f64),
    /// zfp's four parameters (`Zfp(minbits=.., maxbits=.., maxprec=.., minexp=..)`); values
    /// zfp refuses leave its defaults, as in the plugin.
    Expert {
        /// Least bits a block takes.
        minbits: u32,
        /// Most bits a block takes.
        maxbits: u32,
        /// Most bit planes coded.
        maxprec: u32,
        /// Least exponent of a coded bit plane.
        minexp: i32,
    },
    /// Lossless (`Zfp(reversible=True)`).
    Reversible,
    /// The plugin's default (`Zfp()`): zfp's default parameters, in expert mode.
    Default,
}

/// `frexp`'s exponent of a positive finite number; glibc's 0 for infinity.
fn frexp_exponent(x: f64) -> i32 {
    let bits = x.to_bits();
    match (bits >> 52) & 0x7ff {
        0x7ff => 0,
        0 => {
            let m = bits & ((1 << 52) - 1);
            (64 - m.leading_zeros()) as i32 - 1074
        }
        e => e as i32 - 1022,
    }
}

impl Mode {
    /// The parameters zfp sets for this mode (`zfp_stream_set_rate` etc.).
    fn params(self, ty: ScalarType, dims: usize) -> Params {
        let defaults = Params {
            minbits: MIN_BITS,
            maxbits: MAX_BITS,
            maxprec: MAX_PREC,
            minexp: MIN_EXP,
        };
        match self {
            Mode::Rate(rate) => {
                let values = (1u32 << (2 * dims)) as f64;
                // C's (uint) conversion; NaN and negative rates give 0 here
                let mut bits = (values * rate + 0.5).floor().clamp(0.0, u32::MAX as f64) as u32;
                bits = match ty {
                    ScalarType::Float => bits.max(1 + 8),
                    ScalarType::Double => bits.max(1 + 11),
                    _ => bits,
                };
                Params {
                    minbits: bits,
                    maxbits: bits,
                    ..defaults
                }
            }
            Mode::Precision(p) => Params {
                maxprec: if p == 0 { MAX_PREC } else { p.min(MAX_PREC) },
                ..defaults
            },
            Mode::Accuracy(tolerance) => Params {
                minexp: if tolerance > 0.0 {
                    frexp_exponent(tolerance) - 1
                } else {
                    MIN_EXP
                },
                ..defaults
            },
            Mode::Expert {
                minbits,
                maxbits,
                maxprec,
                minexp,
            } => {
                if minbits > maxbits || !(1..=64).contains(&maxprec) {
                    defaults
                } else {
                    Params {
                        minbits,
                        maxbits,
                        maxprec,
                        minexp,
                    }
                }
            }
            Mode::Reversible => Params {
                minexp: MIN_EXP - 1,
                ..defaults
            },
            Mode::Default => defaults,
        }
    }
}

/// The client data H5Z-ZFP stores for a chunk (what its `set_local` makes of the mode asked
/// for): the version word of H5Z-ZFP 1.1.1 with zfp 1.0.1 (codec 5), then zfp's full header
/// for the chunk's non-unity dimensions (the last one as x) and the mode, packed
/// little-endian. hdf5plugin 7.1 stores exactly this.
///
/// ```
/// use h5_filters::zfp::{client_data, Mode, ScalarType};
///
/// let cd = client_data(ScalarType::Float, &[7, 10], Mode::Rate(8.0))?;
/// assert_eq!(cd, [0x1010_5111, 0x0570_667a, 0x6000_0096, 0x07f0_0000]);
/// # Ok::<(), h5_filters::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParams`] when the chunk has no dimension larger than 1 or more than four
/// of them, or one too large for zfp's header (2^48 values in 1-D, 2^24 a side in 2-D, 2^16
/// in 3-D, 2^12 in 4-D).
pub fn client_data(ty: ScalarType, chunk: &[u64], mode: Mode) -> Result<Vec<u32>> {
    let invalid = |what| Error::InvalidParams { id: id::ZFP, what };
    let dims: Vec<u64> = chunk.iter().rev().copied().filter(|&n| n > 1).collect();
    if dims.is_empty() || dims.len() > 4 {
        return Err(invalid("zfp needs 1 to 4 chunk dimensions larger than 1"));
    }
    let width = if dims.len() == 1 {
        48
    } else {
        48 / dims.len() as u32
    };
    if dims.iter().any(|&n| (n - 1) >> width != 0) {
        return Err(invalid("chunk too large for a zfp header"));
    }
    let sizes = dims
        .iter()
        .rev()
        .fold(0u64, |acc, &n| (acc << width) + (n - 1));
    let meta = (sizes << 4) + ((dims.len() as u64 - 1) << 2) + ty as u64;
    let word = mode.params(ty, dims.len()).to_mode();
    let mut w = Writer {
        out: Vec::new(),
        cur: 0,
        fill: 0,
    };
    for b in [b'z', b'f', b'p'] {
        w.bits(u64::from(b), 8);
    }
    w.bits(CODEC, 8);
    w.bits(meta, 52);
    w.bits(word, if word > 4094 { 64 } else { 12 });
    let bytes = w.finish();
    let mut cd = vec![0x1010_5111];
    cd.extend(bytes.chunks(4).map(|c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(b)
    }));
    Ok(cd)
}

impl Filter for Zfp {
    fn id(&self) -> u16 {
        id::ZFP
    }

    fn decode(&self, p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let h = parse_header(p.client_data)?;
        let total = h
            .dims
            .iter()
            .try_fold(h.ty.size(), |acc, &n| acc.checked_mul(n))
            .filter(|&t| t <= limit)
            .ok_or(Error::TooLarge { id: id::ZFP, limit })?;
        let mut out = vec![0u8; total];
        match h.ty {
            ScalarType::Int32 => decompress::<i32>(&input, &h, &mut out)?,
            ScalarType::Int64 => decompress::<i64>(&input, &h, &mut out)?,
            ScalarType::Float => decompress::<f32>(&input, &h, &mut out)?,
            ScalarType::Double => decompress::<f64>(&input, &h, &mut out)?,
        }
        Ok(out)
    }

    /// H5Z-ZFP's compression: the client data (as `set_local` made it) gives the field and
    /// the mode; the chunk must be exactly the field. Never declines; the stream can be larger
    /// than the chunk (reversible mode on noise).
    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let invalid = |what| Error::InvalidParams { id: id::ZFP, what };
        let h = parse_header(p.client_data).map_err(|e| match e {
            Error::Corrupt { what, .. } => invalid(what),
            e => e,
        })?;
        let total = h
            .dims
            .iter()
            .try_fold(h.ty.size(), |acc, &n| acc.checked_mul(n));
        if total != Some(input.len()) {
            return Err(invalid(
                "the chunk is not the size of the zfp header's field",
            ));
        }
        Ok(Encoded::Data(match h.ty {
            ScalarType::Int32 => compress::<i32>(&input, &h),
            ScalarType::Int64 => compress::<i64>(&input, &h),
            ScalarType::Float => compress::<f32>(&input, &h),
            ScalarType::Double => compress::<f64>(&input, &h),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    /// A vector made by `tests/data/zfp/make_zfp_vectors.py`: client data, chunk, and what
    /// libhdf5 + H5Z-ZFP decoded.
    struct Vector {
        name: String,
        cd: Vec<u32>,
        chunk: Vec<u8>,
        expected: Vec<u8>,
        /// The values written; empty for chunks copied from a file.
        original: Vec<u8>,
    }

    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = b.split_at(n);
        *b = tail;
        head
    }

    fn take_u32(b: &mut &[u8]) -> u32 {
        u32::from_le_bytes(take(b, 4).try_into().unwrap())
    }

    fn vectors() -> Vec<Vector> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zfp");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "bin") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut b = &bytes[..];
            assert_eq!(take(&mut b, 4), b"ZFPV");
            let n = take_u32(&mut b) as usize;
            let cd = (0..n).map(|_| take_u32(&mut b)).collect();
            let n = take_u32(&mut b) as usize;
            let chunk = take(&mut b, n).to_vec();
            let n = take_u32(&mut b) as usize;
            let expected = take(&mut b, n).to_vec();
            let n = take_u32(&mut b) as usize;
            let original = take(&mut b, n).to_vec();
            assert!(b.is_empty());
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push(Vector {
                name,
                cd,
                chunk,
                expected,
                original,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn decode(cd: &[u32], chunk: &[u8], limit: usize) -> Result<Vec<u8>> {
        let p = FilterParams {
            id: id::ZFP,
            client_data: cd,
            element_size: 4,
        };
        Zfp.decode(&p, chunk.to_vec(), limit)
    }

    #[test]
    fn hdf5plugin_vectors_decode_exactly() {
        let vs = vectors();
        let mut bad = Vec::new();
        for v in &vs {
            match decode(&v.cd, &v.chunk, v.expected.len()) {
                Ok(out) if out == v.expected => {}
                Ok(out) => {
                    let diff = out.iter().zip(&v.expected).position(|(a, b)| a != b);
                    bad.push(format!("{}: differs at byte {diff:?}", v.name));
                }
                Err(e) => bad.push(format!("{}: {e}", v.name)),
            }
        }
        assert!(
            bad.is_empty(),
            "{} of {}:\n{}",
            bad.len(),
            vs.len(),
            bad.join("\n")
        );
        assert!(vs.len() >= 100, "{} vectors", vs.len());
    }

    fn is_corrupt(e: &Error) -> bool {
        matches!(e, Error::Corrupt { id: id::ZFP, .. })
    }

    /// Client data with a zfp header of our own making, packed as H5Z-ZFP packs it: the
    /// version word, then the header's bits LSB first in little-endian `u32`s.
    fn header_cd(codec: u64, meta: u64, mode: u64) -> Vec<u32> {
        let mut bits: Vec<bool> = Vec::new();
        let mut put = |v: u64, n: u32| bits.extend((0..n).map(|i| (v >> i) & 1 == 1));
        for c in [u64::from(b'z'), u64::from(b'f'), u64::from(b'p'), codec] {
            put(c, 8);
        }
        put(meta, 52);
        put(mode & 0xfff, 12);
        if mode & 0xfff == 0xfff {
            put(mode >> 12, 52);
        }
        let mut cd = vec![0x1010_5111];
        for word in bits.chunks(32) {
            cd.push(
                word.iter()
                    .enumerate()
                    .map(|(i, &b)| u32::from(b) << i)
                    .sum(),
            );
        }
        cd
    }

    /// zfp's field metadata: type (0 int32 .. 3 double) and sizes from x up.
    fn meta(ty: u64, dims: &[u64]) -> u64 {
        let width = if dims.len() == 1 {
            48
        } else {
            48 / dims.len() as u32
        };
        let sizes = dims
            .iter()
            .rev()
            .fold(0u64, |acc, &n| (acc << width) + (n - 1));
        (sizes << 4) + ((dims.len() as u64 - 1) << 2) + ty
    }

    #[test]
    fn encoding_gives_the_c_librarys_bytes() {
        let mut bad = Vec::new();
        let mut checked = 0;
        for v in vectors().iter().filter(|v| !v.original.is_empty()) {
            let p = FilterParams {
                id: id::ZFP,
                client_data: &v.cd,
                element_size: 4,
            };
            let Encoded::Data(z) = Zfp.encode(&p, v.original.clone()).unwrap() else {
                panic!("{} declined", v.name);
            };
            checked += 1;
            if z != v.chunk {
                let at = z.iter().zip(&v.chunk).position(|(a, b)| a != b);
                bad.push(format!(
                    "{}: {} bytes, expected {}, first difference at {at:?}",
                    v.name,
                    z.len(),
                    v.chunk.len()
                ));
            }
        }
        assert!(
            bad.is_empty(),
            "{} of {checked}:\n{}",
            bad.len(),
            bad.join("\n")
        );
        assert!(checked >= 118, "{checked}");
    }

    #[test]
    fn encoding_refuses_what_it_cannot_do() {
        let cd = header_cd(5, meta(2, &[10, 7]), 127);
        let p = FilterParams {
            id: id::ZFP,
            client_data: &cd,
            element_size: 4,
        };
        let e = Zfp.encode(&p, vec![0; 279]).unwrap_err();
        assert!(matches!(e, Error::InvalidParams { id: id::ZFP, .. }), "{e}");
        let bad = [0x1010_5111, 0x0570_667b, 0, 0];
        let p = FilterParams {
            id: id::ZFP,
            client_data: &bad,
            element_size: 4,
        };
        let e = Zfp.encode(&p, vec![0; 280]).unwrap_err();
        assert!(matches!(e, Error::InvalidParams { id: id::ZFP, .. }), "{e}");
    }

    #[test]
    fn client_data_as_hdf5plugin_makes_it() {
        use ScalarType::{Double as F8, Float as F4, Int32 as I4, Int64 as I8};
        let expert = |minbits, maxbits, maxprec, minexp| Mode::Expert {
            minbits,
            maxbits,
            maxprec,
            minexp,
        };
        // what hdf5plugin 7.1 stored for Zfp(...) on datasets of these types and chunks
        let cases: [(ScalarType, &[u64], Mode, &[u32]); 23] = [
            (
                F4,
                &[7, 10],
                Mode::Rate(8.0),
                &[0x10105111, 0x0570667a, 0x60000096, 0x07f00000],
            ),
            (
                F4,
                &[20],
                Mode::Rate(0.1),
                &[0x10105111, 0x0570667a, 0x00000132, 0x00800000],
            ),
            (
                F8,
                &[20],
                Mode::Rate(0.1),
                &[0x10105111, 0x0570667a, 0x00000133, 0x00b00000],
            ),
            (
                I4,
                &[20],
                Mode::Rate(0.1),
                &[
                    0x10105111, 0x0570667a, 0x00000130, 0xfff00000, 0xc0000000, 0x000787af,
                ],
            ),
            (
                F8,
                &[3, 5, 6],
                Mode::Rate(3.3),
                &[0x10105111, 0x0570667a, 0x0040005b, 0x0d200020],
            ),
            (
                F4,
                &[3, 5, 6],
                Mode::Rate(64.0),
                &[
                    0x10105111, 0x0570667a, 0x0040005a, 0xfff00020, 0xc7ff8fff, 0x000787af,
                ],
            ),
            (
                I8,
                &[2, 3, 5, 3],
                Mode::Rate(2.5),
                &[0x10105111, 0x0570667a, 0x2004002d, 0x27f00100],
            ),
            (
                F4,
                &[1, 5, 1, 6],
                Mode::Rate(4.0),
                &[0x10105111, 0x0570667a, 0x40000056, 0x03f00000],
            ),
            (
                I4,
                &[9, 9],
                Mode::Precision(17),
                &[0x10105111, 0x0570667a, 0x80000084, 0x81000000],
            ),
            (
                F8,
                &[9, 9],
                Mode::Precision(70),
                &[
                    0x10105111, 0x0570667a, 0x80000087, 0xfff00000, 0xe0888000, 0x000787af,
                ],
            ),
            (
                F8,
                &[9, 9],
                Mode::Precision(64),
                &[
                    0x10105111, 0x0570667a, 0x80000087, 0xfff00000, 0xe0888000, 0x000787af,
                ],
            ),
            (
                F4,
                &[9],
                Mode::Accuracy(1.0),
                &[0x10105111, 0x0570667a, 0x00000082, 0xcb300000],
            ),
            (
                F4,
                &[9],
                Mode::Accuracy(0.3),
                &[0x10105111, 0x0570667a, 0x00000082, 0xcb100000],
            ),
            (
                F8,
                &[9, 9, 9],
                Mode::Accuracy(1e-300),
                &[0x10105111, 0x0570667a, 0x0080008b, 0x8ce00080],
            ),
            (
                F8,
                &[9, 9, 9],
                Mode::Accuracy(1e300),
                &[
                    0x10105111, 0x0570667a, 0x0080008b, 0xfff00080, 0xe0888000, 0x00088a6f,
                ],
            ),
            (
                F4,
                &[9],
                Mode::Accuracy(0.0),
                &[
                    0x10105111, 0x0570667a, 0x00000082, 0xfff00000, 0xe0888000, 0x000787af,
                ],
            ),
            (
                F4,
                &[9],
                expert(100, 50, 10, -3),
                &[
                    0x10105111, 0x0570667a, 0x00000082, 0xfff00000, 0xe0888000, 0x000787af,
                ],
            ),
            (
                F4,
                &[9],
                Mode::Default,
                &[
                    0x10105111, 0x0570667a, 0x00000082, 0xfff00000, 0xe0888000, 0x000787af,
                ],
            ),
            (
                I8,
                &[4, 4],
                expert(4000, 40000, 33, -16000),
                &[
                    0x10105111, 0x0570667a, 0x30000035, 0xfff00000, 0x3fff8f9f, 0x00003de8,
                ],
            ),
            (
                F8,
                &[4, 4],
                Mode::Reversible,
                &[0x10105111, 0x0570667a, 0x30000037, 0x88000000],
            ),
            (
                F4,
                &[100000],
                Mode::Rate(1.0),
                &[0x10105111, 0x0570667a, 0x001869f2, 0x00800000],
            ),
            (
                I4,
                &[4096, 2],
                Mode::Precision(3),
                &[0x10105111, 0x0570667a, 0xf0000014, 0x802000ff],
            ),
            (
                F4,
                &[300, 300],
                Mode::Precision(3),
                &[0x10105111, 0x0570667a, 0xb00012b6, 0x80200012],
            ),
        ];
        for (ty, chunk, mode, expected) in cases {
            assert_eq!(
                client_data(ty, chunk, mode).unwrap(),
                expected,
                "{ty:?} {chunk:?} {mode:?}"
            );
        }
        for chunk in [
            &[1u64, 1][..],
            &[],
            &[2, 2, 2, 2, 2],
            &[5000, 2, 2, 2],
            &[(1 << 24) + 1, 2],
        ] {
            let e = client_data(F4, chunk, Mode::Reversible).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParams { id: id::ZFP, .. }),
                "{chunk:?}: {e}"
            );
        }
    }

    #[test]
    fn headers_as_hdf5plugin_stores_them() {
        // what hdf5plugin 7.1 stored for a float dataset with (7, 10) chunks
        let field = [0x1010_5111, 0x0570_667a, 0x6000_0096];
        let cases: [(&[u32], Params); 6] = [
            // Zfp(rate=8): 8 bits a value, 16 values a 2-D block
            (
                &[0x07f0_0000],
                Params {
                    minbits: 128,
                    maxbits: 128,
                    maxprec: 64,
                    minexp: -1074,
                },
            ),
            // Zfp(precision=12)
            (
                &[0x80b0_0000],
                Params {
                    minbits: 1,
                    maxbits: 16658,
                    maxprec: 12,
                    minexp: -1074,
                },
            ),
            // Zfp(accuracy=1e-3): 2^-10 <= 1e-3 < 2^-9
            (
                &[0xca90_0000],
                Params {
                    minbits: 1,
                    maxbits: 16658,
                    maxprec: 64,
                    minexp: -10,
                },
            ),
            // Zfp(reversible=True)
            (
                &[0x8800_0000],
                Params {
                    minbits: 1,
                    maxbits: 16658,
                    maxprec: 64,
                    minexp: -1075,
                },
            ),
            // Zfp(minbits=16, maxbits=200, maxprec=20, minexp=-20)
            (
                &[0xfff0_0000, 0xc063_800f, 0x0008_0b64],
                Params {
                    minbits: 16,
                    maxbits: 200,
                    maxprec: 20,
                    minexp: -20,
                },
            ),
            // Zfp(): the plugin's default, zfp's defaults in expert mode
            (
                &[0xfff0_0000, 0xe088_8000, 0x0007_87af],
                Params {
                    minbits: 1,
                    maxbits: 16658,
                    maxprec: 64,
                    minexp: -1074,
                },
            ),
        ];
        for (mode_words, params) in cases {
            let cd: Vec<u32> = field.iter().chain(mode_words).copied().collect();
            let h = parse_header(&cd).unwrap();
            assert_eq!(h.ty, ScalarType::Float);
            assert_eq!(h.dims, [10, 7], "x is the last HDF5 dimension");
            assert_eq!(h.params, params);
            assert!(!h.big_endian);
            assert_eq!(
                h,
                parse_header(&header_cd(5, meta(2, &[10, 7]), params.to_mode())).unwrap()
            );
        }
    }

    #[test]
    fn every_short_mode_word_survives_the_plugins_round_trip() {
        // H5Z-ZFP sets the decoding stream's mode from zfp_stream_mode() of the header's
        for mode in 0..4095u64 {
            match Params::from_mode(mode) {
                Some(p) => {
                    assert_eq!(Params::from_mode(p.to_mode()), Some(p), "{mode}");
                    // precision 64 and accuracy 2^-1074 are zfp's defaults, which zfp calls
                    // expert mode (a long word)
                    if mode == 2048 + 63 || mode == 2177 {
                        assert_eq!(p.to_mode() & 0xfff, 0xfff);
                    } else {
                        assert_eq!(p.to_mode(), mode);
                    }
                }
                // fixed precision past 64 bit planes
                None => assert!((2048 + 64..2048 + 128).contains(&mode), "{mode}"),
            }
        }
    }

    #[test]
    fn through_the_registry() {
        assert!(crate::available(id::ZFP));
        let r = Registry::with_builtins();
        for v in vectors().iter().filter(|v| v.name.ends_with("_3d")) {
            let p = [FilterParams {
                id: id::ZFP,
                client_data: &v.cd,
                element_size: 4,
            }];
            let out = r
                .decode_chunk(&p, 0, v.chunk.clone(), v.expected.len())
                .unwrap();
            assert_eq!(out, v.expected, "{}", v.name);
            // the chunk is larger than the caller expects: refused before decoding
            let e = r
                .decode_chunk(&p, 0, v.chunk.clone(), v.expected.len() - 65)
                .unwrap_err();
            assert!(matches!(e, Error::TooLarge { id: id::ZFP, .. }), "{e}");
        }
    }

    #[test]
    fn truncated_chunks_are_corrupt() {
        // every bit of the last byte's block is read, so any cut shows
        for v in vectors() {
            for cut in 0..v.chunk.len() {
                let e = decode(&v.cd, &v.chunk[..cut], v.expected.len()).unwrap_err();
                assert!(is_corrupt(&e), "{} cut at {cut}: {e}", v.name);
            }
        }
    }

    #[test]
    fn damaged_chunks_never_panic() {
        for v in vectors() {
            for at in 0..v.chunk.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = v.chunk.clone();
                    bad[at] ^= flip;
                    match decode(&v.cd, &bad, v.expected.len()) {
                        Ok(out) => assert_eq!(out.len(), v.expected.len()),
                        Err(e) => assert!(is_corrupt(&e), "{e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn big_endian_writers_header_and_values() {
        // a big-endian writer's header reads as byte-swapped words; H5Z-ZFP then hands
        // libhdf5 the values big-endian, as the dataset's type is
        for v in vectors()
            .iter()
            .filter(|v| v.name.starts_with("reversible_"))
        {
            let mut cd = v.cd.clone();
            for w in &mut cd[1..] {
                *w = w.swap_bytes();
            }
            let size = if v.name.contains("4_") { 4 } else { 8 };
            let out = decode(&cd, &v.chunk, v.expected.len()).unwrap();
            let swapped: Vec<u8> = v
                .expected
                .chunks(size)
                .flat_map(|c| c.iter().rev().copied())
                .collect();
            assert_eq!(out, swapped, "{}", v.name);
        }
    }

    #[test]
    fn lying_client_data() {
        let rate = 127; // 128 bits a block
        let ok = header_cd(5, meta(2, &[10, 7]), rate);
        assert!(decode(&ok, &[0; 96], 280).is_ok());
        let corrupt_cases: [(&str, Vec<u32>); 9] = [
            ("none", vec![]),
            ("version word only", ok[..1].to_vec()),
            ("header cut", ok[..3].to_vec()),
            ("too long", [&ok[..], &[0, 0, 0, 0]].concat()),
            (
                "bad magic",
                header_cd(5, meta(2, &[10, 7]), rate)
                    .into_iter()
                    .map(|w| w ^ 0x20)
                    .collect(),
            ),
            ("codec 4", header_cd(4, meta(2, &[10, 7]), rate)),
            ("codec 6", header_cd(6, meta(2, &[10, 7]), rate)),
            // fixed precision of 100 bit planes
            ("precision", header_cd(5, meta(2, &[10, 7]), 2048 + 99)),
            // expert with minbits 300 > maxbits 200
            (
                "expert",
                header_cd(
                    5,
                    meta(2, &[10, 7]),
                    (1 << 49) * 16400 + (19 << 42) + (199 << 27) + (299 << 12) + 0xfff,
                ),
            ),
        ];
        for (what, cd) in corrupt_cases {
            let e = decode(&cd, &[0; 80], 280).unwrap_err();
            assert!(is_corrupt(&e), "{what}: {e}");
        }
        // a newer codec in the version word
        let mut newer = ok.clone();
        newer[0] = 0x1010_6111;
        assert!(is_corrupt(&decode(&newer, &[0; 80], 280).unwrap_err()));
        // fields larger than the chunk may be, or than memory: refused before allocating
        for (ty, dims) in [
            (2, vec![10, 8]),
            (3, vec![1 << 32]),
            (3, vec![4096, 4096, 4096, 4096]),
            (1, vec![1 << 24, 1 << 24]),
            (0, vec![1 << 16, 1 << 16, 1 << 16]),
        ] {
            let cd = header_cd(5, meta(ty, &dims), rate);
            let e = decode(&cd, &[0; 80], 280).unwrap_err();
            assert_eq!(
                e,
                Error::TooLarge {
                    id: id::ZFP,
                    limit: 280
                },
                "{dims:?}"
            );
        }
    }

    /// xorshift64: the same "random" bytes every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..20_000 {
            let ty = rng.below(4);
            let ndims = 1 + rng.below(4) as usize;
            let dims: Vec<u64> = (0..ndims).map(|_| 1 + rng.below(9)).collect();
            let mode = match rng.below(6) {
                0 => rng.below(300),
                1 => 2048 + rng.below(70),
                2 => 2176,
                3 => 2177 + rng.below(1900),
                4 => (rng.next() << 12) | 0xfff,
                _ => rng.below(4096),
            };
            let mut cd = header_cd(5, meta(ty, &dims), mode);
            if round % 7 == 0 {
                // garbled client data too
                let at = rng.below(cd.len() as u64) as usize;
                cd[at] ^= 1 << rng.below(32);
            }
            let chunk: Vec<u8> = (0..rng.below(400)).map(|_| rng.next() as u8).collect();
            let limit = rng.below(8000) as usize;
            match decode(&cd, &chunk, limit) {
                Ok(out) => {
                    assert!(out.len() <= limit);
                    // whatever decodes can be encoded again under the same client data
                    let p = FilterParams {
                        id: id::ZFP,
                        client_data: &cd,
                        element_size: 4,
                    };
                    assert!(matches!(Zfp.encode(&p, out), Ok(Encoded::Data(_))));
                }
                Err(e) => assert!(is_corrupt(&e) || matches!(e, Error::TooLarge { .. }), "{e}"),
            }
        }
    }
}

//! LZF (filter 32000, h5py's `compression='lzf'`).
//!
//! Our own small codec: the `lzf` crate is marked deprecated by its author, and the format is
//! a few dozen lines. A chunk is a raw LZF stream (no header) of two kinds of items:
//!
//! - a literal run: control byte `c < 32`, then `c + 1` bytes copied as they are;
//! - a back-reference: control byte `c >= 32` with length field `l = c >> 5` (when it is 7, an
//!   extra byte follows and is added to it), then one more byte `o`; it copies `l + 2` bytes
//!   starting `((c & 0x1f) << 8 | o) + 1` bytes back — so 3 to 264 bytes from at most 8192
//!   bytes back, overlapping copies allowed.
//!
//! # Client data
//!
//! h5py stores `[4, 0x0105, chunk bytes]` ([`h5py_client_data`]): its filter version, the
//! liblzf version (261) and the uncompressed chunk size (element size × the chunk's
//! dimensions), which its decoder uses as the first output buffer size. Neither side of
//! h5py's filter reads anything else, and neither do we; a writer should store those three
//! values, with the filter marked optional as h5py does.
//!
//! # Encoding
//!
//! [`compress`] is a greedy single-pass compressor: a hash of the next three bytes finds the
//! last position with the same hash, and a match of at least three bytes within 8192 bytes
//! becomes a back-reference. Like h5py's filter (liblzf with an output buffer as large as the
//! input), the [`Filter::encode`] of LZF declines a chunk unless the stream is smaller than
//! it, so libhdf5 stores such chunks raw with the filter's mask bit set.

use crate::{id, Encoded, Error, Filter, FilterParams, Result};

/// Longest literal run one control byte covers.
const MAX_LITERAL: usize = 32;
/// Farthest a back-reference reaches.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest back-reference: length field 7 + 255, plus 2.
const MAX_MATCH: usize = 264;
/// Shortest back-reference we emit (length field 0 would read as a literal run).
const MIN_MATCH: usize = 3;
/// After every `1 << SKIP_SHIFT` bytes without a match the search steps one byte further
/// (LZ4's trick: incompressible stretches go fast) ...
const SKIP_SHIFT: usize = 5;
/// ... but never more than this many bytes at a time, so a compressible stretch after a
/// long incompressible one is found within a few bytes.
const MAX_SKIP: usize = 15;
/// log2 of the hash table's slots: two to four per input byte, from 2^10 to 2^16 (bigger
/// tables find more matches but cost more to clear for small chunks) ...
const MIN_HASH_BITS: u32 = 10;
/// ... to at most 2^16 (256 KiB).
const MAX_HASH_BITS: u32 = 16;

/// h5py's LZF client data for a chunk of `chunk_bytes` uncompressed bytes:
/// `[4, 0x0105, chunk_bytes]` (0 for "no size hint" when it does not fit 32 bits).
///
/// ```
/// assert_eq!(h5_filters::lzf::h5py_client_data(400), [4, 261, 400]);
/// ```
pub fn h5py_client_data(chunk_bytes: u64) -> [u32; 3] {
    [4, 0x0105, u32::try_from(chunk_bytes).unwrap_or(0)]
}

/// Compress `input` into an LZF stream that [`decompress`] (and liblzf) turn back into it.
/// Incompressible input comes out at most `input.len() / 32 + 1` bytes longer.
///
/// ```
/// use h5_filters::lzf::{compress, decompress};
///
/// let data = b"abcabcabcabcabcabcabcabc".repeat(10);
/// let z = compress(&data);
/// assert!(z.len() < data.len());
/// assert_eq!(decompress(&z, data.len()).unwrap(), data);
/// ```
pub fn compress(input: &[u8]) -> Vec<u8> {
    compress_within(input, usize::MAX).unwrap_or_default()
}

/// Like [`compress`], but `None` when the stream would exceed `max` bytes (checked after
/// every back-reference, so a chunk that cannot fit stops early rather than finishing a
/// stream nobody will keep).
pub fn compress_within(input: &[u8], max: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let worst = n + n / MAX_LITERAL + 1;
    let mut out = Vec::with_capacity(worst.min(max));
    // The last position where each 3-byte hash was seen, truncated to 32 bits (past 4 GiB,
    // more than any HDF5 chunk holds, the distance check then fails and nothing matches).
    let bits = (usize::BITS + 1 - n.leading_zeros()).clamp(MIN_HASH_BITS, MAX_HASH_BITS);
    let shift = 32 - bits;
    let mut table = vec![0u32; 1 << bits];
    let mut lit = 0; // start of the pending literal run
    let mut i = 0;
    while i + MIN_MATCH <= n {
        let v = three(input, i);
        let h = hash(v, shift);
        let cand = table[h] as usize;
        table[h] = i as u32;
        // Slots start at 0, a real position: every candidate is checked byte by byte.
        // `&`, not `&&`: on input with few matches, one well-predicted branch beats three
        // unpredictable ones.
        if (cand < i) & (i.wrapping_sub(cand) <= MAX_DISTANCE) & (three(input, cand) == v) {
            let len = match_len(input, cand, i, MAX_MATCH.min(n - i));
            literals(&mut out, &input[lit..i]);
            back_reference(&mut out, i - cand, len);
            if out.len() > max {
                return None;
            }
            // Remember the match's last positions too, so the next one can start there.
            let end = i + len;
            for k in end.saturating_sub(2).max(i + 1)..end {
                if k + MIN_MATCH <= n {
                    table[hash(three(input, k), shift)] = k as u32;
                }
            }
            i = end;
            lit = i;
        } else {
            i += 1 + ((i - lit) >> SKIP_SHIFT).min(MAX_SKIP);
        }
    }
    literals(&mut out, &input[lit..]);
    (out.len() <= max).then_some(out)
}

/// The three bytes at `i`, big-endian in a `u32`.
#[inline]
fn three(input: &[u8], i: usize) -> u32 {
    u32::from(input[i]) << 16 | u32::from(input[i + 1]) << 8 | u32::from(input[i + 2])
}

/// The hash-table slot of three bytes.
#[inline]
fn hash(v: u32, shift: u32) -> usize {
    (v.wrapping_mul(0x9e37_79b1) >> shift) as usize
}

/// How many bytes (3 known, up to `max`) at `cand` and `i` agree.
#[inline]
fn match_len(input: &[u8], cand: usize, i: usize, max: usize) -> usize {
    let mut len = MIN_MATCH;
    while len + 8 <= max {
        let a = u64::from_le_bytes(word(input, cand + len));
        let b = u64::from_le_bytes(word(input, i + len));
        let x = a ^ b;
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && input[cand + len] == input[i + len] {
        len += 1;
    }
    len
}

#[inline]
fn word(input: &[u8], at: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&input[at..at + 8]);
    w
}

/// Emit `bytes` as literal runs of at most 32.
fn literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Emit a back-reference of `len` (3..=264) bytes from `distance` (1..=8192) back.
fn back_reference(out: &mut Vec<u8>, distance: usize, len: usize) {
    debug_assert!((1..=MAX_DISTANCE).contains(&distance) && (MIN_MATCH..=MAX_MATCH).contains(&len));
    let off = distance - 1;
    let l = len - 2;
    let hi = (off >> 8) as u8;
    if l < 7 {
        out.push((l as u8) << 5 | hi);
    } else {
        out.push(7 << 5 | hi);
        out.push((l - 7) as u8);
    }
    out.push(off as u8);
}

/// Decompress an LZF stream into at most `limit` bytes.
///
/// # Errors
/// [`Error::Corrupt`] for a literal run or back-reference cut off by the end of `input`, or a
/// back-reference to before the start of the output; [`Error::TooLarge`] when the output would
/// exceed `limit` bytes.
pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let corrupt = |what| Error::Corrupt { id: id::LZF, what };
    let mut out: Vec<u8> = Vec::with_capacity(limit.min(input.len().saturating_mul(8)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input
                .get(i..i + n)
                .ok_or(corrupt("literal run past the end"))?;
            if out.len() + n > limit {
                return Err(Error::TooLarge { id: id::LZF, limit });
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i).ok_or(corrupt("truncated back-reference"))? as usize;
                i += 1;
            }
            len += 2;
            let lo = *input.get(i).ok_or(corrupt("truncated back-reference"))? as usize;
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + lo + 1;
            if back > out.len() {
                return Err(corrupt("back-reference before the start"));
            }
            if out.len() + len > limit {
                return Err(Error::TooLarge { id: id::LZF, limit });
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    Ok(out)
}

pub(crate) struct Lzf;

impl Filter for Lzf {
    fn id(&self) -> u16 {
        id::LZF
    }
    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        decompress(&input, limit)
    }
    /// Declines unless the stream is smaller than the chunk (h5py's filter returns 0 then).
    /// Client data is not read (see the module docs for what a writer stores).
    fn encode(&self, _p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        Ok(
            match input
                .len()
                .checked_sub(1)
                .and_then(|max| compress_within(&input, max))
            {
                Some(z) => Encoded::Data(z),
                None => Encoded::Declined {
                    data: input,
                    why: "LZF output would not be smaller than the input",
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_backrefs() {
        // "abcabcabc": literal "abc", then back-ref of len 6 at distance 3
        let stream = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&stream, 100).unwrap(), b"abcabcabc");
        // long back-reference (len field 7 + extra)
        let stream = [0, b'x', (7 << 5), 3, 0];
        assert_eq!(decompress(&stream, 100).unwrap(), vec![b'x'; 13]);
    }

    #[test]
    fn rejects_bad_streams() {
        assert!(decompress(&[5, 1, 2], 100).is_err());
        assert!(decompress(&[0, 1, 0x20, 9], 100).is_err());
        assert!(matches!(
            decompress(&[0, b'x', 0xe0, 250, 0], 10),
            Err(Error::TooLarge { .. })
        ));
    }

    /// One item of a stream.
    #[derive(Debug, PartialEq, Eq)]
    enum Item {
        Literal(usize),
        Back { distance: usize, len: usize },
    }

    /// Walk a stream, checking every item is within the format's limits.
    fn items(z: &[u8]) -> Vec<Item> {
        let mut v = Vec::new();
        let (mut i, mut produced) = (0, 0);
        while i < z.len() {
            let c = z[i] as usize;
            if c < 32 {
                v.push(Item::Literal(c + 1));
                produced += c + 1;
                i += c + 2;
            } else {
                let mut len = c >> 5;
                i += 1;
                if len == 7 {
                    len += z[i] as usize;
                    i += 1;
                }
                let distance = ((c & 0x1f) << 8 | z[i] as usize) + 1;
                i += 1;
                len += 2;
                assert!((MIN_MATCH..=MAX_MATCH).contains(&len), "{len}");
                assert!(distance <= MAX_DISTANCE.min(produced), "{distance}");
                v.push(Item::Back { distance, len });
                produced += len;
            }
        }
        assert_eq!(i, z.len(), "stream ends inside an item");
        v
    }

    fn xorshift(seed: u64, n: usize) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    /// Compress, check the stream's items and the round trip; the stream.
    fn roundtrip(d: &[u8]) -> Vec<u8> {
        let z = compress(d);
        items(&z);
        assert_eq!(decompress(&z, d.len()).unwrap(), d);
        assert!(z.len() <= d.len() + d.len() / 32 + 1);
        z
    }

    #[test]
    fn tiny_inputs() {
        assert_eq!(roundtrip(b""), b"");
        assert_eq!(roundtrip(b"x"), [0, b'x']);
        assert_eq!(roundtrip(b"xy"), [1, b'x', b'y']);
        assert_eq!(roundtrip(b"xxx"), [2, b'x', b'x', b'x']);
        // the first match: distance 1, the 4 remaining bytes
        assert_eq!(roundtrip(b"xxxxx"), [0, b'x', 2 << 5, 0]);
    }

    #[test]
    fn literal_runs_split_at_32() {
        let d: Vec<u8> = (0..65u8).collect();
        let z = roundtrip(&d);
        assert_eq!(
            items(&z),
            [Item::Literal(32), Item::Literal(32), Item::Literal(1)]
        );
        assert_eq!((z[0], z[33], z[66]), (31, 31, 0));
    }

    #[test]
    fn long_runs_use_longest_matches() {
        let d = vec![7u8; 1 << 20];
        let z = roundtrip(&d);
        let it = items(&z);
        assert_eq!(it[0], Item::Literal(1));
        let full = it[1..it.len() - 1].iter().all(|x| {
            *x == Item::Back {
                distance: 1,
                len: 264,
            }
        });
        assert!(full);
        // 3 bytes per 264
        assert!(z.len() < (1 << 20) / 80);
    }

    #[test]
    fn longest_match_boundaries() {
        // "x" then a run of `n` more: literal "x", then matches at distance 1
        let back = |len| Item::Back { distance: 1, len };
        for (n, want) in [
            (263, vec![back(263)]),
            (264, vec![back(264)]),
            (265, vec![back(264), Item::Literal(1)]),
            (266, vec![back(264), Item::Literal(2)]),
            (267, vec![back(264), back(3)]),
            (528, vec![back(264), back(264)]),
        ] {
            let d = vec![b'x'; n + 1];
            let it = items(&roundtrip(&d));
            assert_eq!(it[0], Item::Literal(1));
            assert_eq!(it[1..], want, "{n}");
        }
    }

    #[test]
    fn repeated_random_block() {
        // 264 random bytes twice: the second copy refers 264 back
        let x = xorshift(2, 264);
        let mut d = x.clone();
        d.extend_from_slice(&x);
        d.push(!x[0]);
        let it = items(&roundtrip(&d));
        let matched: usize = it
            .iter()
            .map(|i| match i {
                Item::Back { distance: 264, len } => *len,
                _ => 0,
            })
            .sum();
        // (the search steps over a few bytes after a long literal run)
        assert!(matched > 200, "{it:?}");
    }

    #[test]
    fn farthest_distance() {
        // a repeat exactly 8192 back is found ...
        let mut d = xorshift(1, 8192);
        let head = d[..300].to_vec();
        d.extend_from_slice(&head);
        let it = items(&roundtrip(&d));
        let far = it
            .iter()
            .filter(|x| matches!(x, Item::Back { distance: 8192, .. }))
            .count();
        assert!(far >= 1, "{it:?}");
        // ... one 8193 back is not (`items` checks every distance)
        let mut d = xorshift(1, 8193);
        let head = d[..300].to_vec();
        d.extend_from_slice(&head);
        let z = roundtrip(&d);
        assert!(z.len() > d.len());
    }

    #[test]
    fn random_and_patterned() {
        // random: no gain, bounded growth
        let d = xorshift(9, 100_000);
        let z = roundtrip(&d);
        assert!(z.len() > d.len());
        // many shapes and lengths
        for n in [
            4, 5, 31, 32, 33, 263, 264, 265, 266, 8191, 8192, 8193, 70_000,
        ] {
            for seed in 1..4u64 {
                let mut d = xorshift(seed, n);
                for (k, b) in d.iter_mut().enumerate() {
                    if (k / (seed as usize * 5)).is_multiple_of(2) {
                        *b = (k % (seed as usize + 2)) as u8;
                    }
                }
                roundtrip(&d);
            }
        }
        // text-like
        let d = b"the quick brown fox jumps over the lazy dog; ".repeat(500);
        assert!(roundtrip(&d).len() < d.len() / 20);
    }

    #[test]
    fn compress_within_stops_at_the_limit() {
        let d = b"abcdefgh".repeat(100);
        let z = compress(&d);
        assert_eq!(compress_within(&d, z.len()), Some(z.clone()));
        assert_eq!(compress_within(&d, z.len() - 1), None);
        assert_eq!(compress_within(&xorshift(3, 1000), 999), None);
        assert_eq!(compress_within(b"", 0), Some(vec![]));
    }

    #[test]
    fn filter_declines_unless_smaller() {
        let p = FilterParams {
            id: id::LZF,
            client_data: &h5py_client_data(64),
            element_size: 1,
        };
        let d = xorshift(3, 64);
        match Lzf.encode(&p, d.clone()).unwrap() {
            Encoded::Declined { data, .. } => assert_eq!(data, d),
            e => panic!("{e:?}"),
        }
        assert!(matches!(
            Lzf.encode(&p, vec![]).unwrap(),
            Encoded::Declined { .. }
        ));
        // 4 equal bytes: [0, x, 0x20, 0] is no smaller
        assert!(matches!(
            Lzf.encode(&p, vec![9; 4]).unwrap(),
            Encoded::Declined { .. }
        ));
        match Lzf.encode(&p, vec![9; 64]).unwrap() {
            Encoded::Data(z) => assert_eq!(Lzf.decode(&p, z, 64).unwrap(), [9; 64]),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn h5py_client_data_values() {
        assert_eq!(h5py_client_data(400), [4, 0x0105, 400]);
        assert_eq!(h5py_client_data(1 << 32), [4, 0x0105, 0]);
    }
}

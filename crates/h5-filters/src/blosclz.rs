//! BloscLZ, the default codec inside Blosc and Blosc2 chunks (FastLZ's level-2 stream
//! format). Byte oriented; a stream always starts with a literal run and ends with one.
//!
//! | first byte `c` | instruction |
//! | --- | --- |
//! | `c < 32` | literal run: the next `c + 1` bytes are copied (the first byte of a stream is read as `c & 31`) |
//! | `c >> 5` = L in 1..=6 | match of L + 2 bytes (3..=8) |
//! | `c >> 5` = 7 | match of 9 + the following length bytes, summed while each is 255 (the last one < 255 is added too) |
//!
//! After a match's length come its distance bytes: `lo`, and the distance is
//! `(c & 31) * 256 + lo + 1` (1..=8191), unless `c & 31 == 31` and `lo == 255`, which is a far
//! match: two more bytes `b0 b1` and the distance is `8192 + (b0 << 8 | b1)`. Matches copy from
//! `distance` bytes back, byte by byte, so they may overlap what they write (distance 1 is a
//! run). Every instruction is followed by the next one's first byte; when the stream ends
//! right after a match's distance bytes, c-blosc stops before copying that match, and so do we.

/// Decode `src` into `dst`; the number of bytes written, or `None` when the stream is corrupt or
/// would write past `dst` (the caller compares the count with what it expected).
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let n = src.len();
    if n == 0 {
        return Some(0);
    }
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = usize::from(src[0] & 31);
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) - 1;
            let hi = (ctrl & 31) << 8;
            if len == 6 {
                loop {
                    if ip + 1 >= n {
                        return None;
                    }
                    let code = src[ip];
                    ip += 1;
                    len += usize::from(code);
                    if code != 255 {
                        break;
                    }
                }
            } else if ip + 1 >= n {
                return None;
            }
            let lo = src[ip];
            ip += 1;
            len += 3;
            let mut dist = hi + usize::from(lo) + 1;
            if lo == 255 && hi == 31 << 8 {
                if ip + 1 >= n {
                    return None;
                }
                dist = (usize::from(src[ip]) << 8 | usize::from(src[ip + 1])) + 8192;
                ip += 2;
            }
            if op.checked_add(len)? > dst.len() || dist > op {
                return None;
            }
            if ip >= n {
                break;
            }
            ctrl = usize::from(src[ip]);
            ip += 1;
            for i in op..op + len {
                dst[i] = dst[i - dist];
            }
            op += len;
        } else {
            let run = ctrl + 1;
            let out = dst.get_mut(op..op + run)?;
            out.copy_from_slice(src.get(ip..ip + run)?);
            op += run;
            ip += run;
            if ip >= n {
                break;
            }
            ctrl = usize::from(src[ip]);
            ip += 1;
        }
    }
    Some(op)
}

/// The farthest a match may reach back (a far match's 16-bit distance on top of 8192).
const MAX_FAR: usize = 8192 + 0xffff;
const NEAR: usize = 8191;
const HASH_BITS: u32 = 14;

fn hash(b: &[u8]) -> usize {
    let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    (v.wrapping_mul(0x9e37_79b1) >> (32 - HASH_BITS)) as usize
}

fn literals(out: &mut Vec<u8>, lit: &[u8]) {
    for run in lit.chunks(32) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

fn emit_match(out: &mut Vec<u8>, len: usize, dist: usize) {
    let (hi, lo, far) = if dist <= NEAR {
        let d = dist - 1;
        (d >> 8, d & 255, None)
    } else {
        (31, 255, Some(dist - 8192))
    };
    if len < 9 {
        out.push(((len - 2) << 5 | hi) as u8);
    } else {
        out.push((7 << 5 | hi) as u8);
        let mut rest = len - 9;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.push(lo as u8);
    if let Some(f) = far {
        out.push((f >> 8) as u8);
        out.push(f as u8);
    }
}

/// A BloscLZ stream of `src`: greedy matches of at least 4 bytes found through a hash of the
/// next 4 bytes, literals otherwise. The last byte is always a literal (the format needs a
/// stream to end with one). Empty input gives an empty stream. The output may be longer than
/// the input; callers store such blocks raw.
pub(crate) fn compress(src: &[u8]) -> Vec<u8> {
    let n = src.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    if n == 0 {
        return out;
    }
    // matches end before the last byte, which stays a literal
    let end = n - 1;
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let (mut ip, mut anchor) = (0usize, 0usize);
    // the first instruction must be a literal run
    let first = ip + 1;
    while ip + 4 <= end {
        let h = hash(&src[ip..]);
        let cand = table[h];
        table[h] = ip;
        if ip >= first
            && cand != usize::MAX
            && ip - cand <= MAX_FAR
            && src[cand..cand + 4] == src[ip..ip + 4]
        {
            let dist = ip - cand;
            let mut len = 4;
            while ip + len < end && src[cand + len] == src[ip + len] {
                len += 1;
            }
            if dist > NEAR && len < 6 {
                ip += 1;
                continue;
            }
            literals(&mut out, &src[anchor..ip]);
            emit_match(&mut out, len, dist);
            // index a couple of positions inside the match for the next searches
            let stop = (ip + len).min(end.saturating_sub(3));
            let mut k = ip + 1;
            while k < stop {
                table[hash(&src[k..])] = k;
                k += len / 4 + 1;
            }
            ip += len;
            anchor = ip;
        } else {
            ip += 1;
        }
    }
    literals(&mut out, &src[anchor..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) -> usize {
        let z = compress(data);
        let mut back = vec![0u8; data.len()];
        assert_eq!(
            decompress(&z, &mut back),
            Some(data.len()),
            "{} bytes",
            data.len()
        );
        assert_eq!(back, data);
        z.len()
    }

    #[test]
    fn round_trips() {
        for n in [
            0usize, 1, 2, 3, 4, 5, 8, 9, 31, 32, 33, 100, 1000, 9000, 70000, 200_000,
        ] {
            let zeros = vec![0u8; n];
            let z = round_trip(&zeros);
            if n >= 1000 {
                assert!(z < n / 50, "{n}: {z}");
            }
            let ramp: Vec<u8> = (0..n).map(|i| (i / 7) as u8).collect();
            round_trip(&ramp);
            let mut x = 0x1234_5678u32;
            let noise: Vec<u8> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 24) as u8
                })
                .collect();
            round_trip(&noise);
            // repeats far apart: far matches
            let mut far = noise[..n.min(9000)].to_vec();
            far.extend_from_slice(&noise[..n.min(9000)]);
            round_trip(&far);
        }
    }

    #[test]
    fn hand_made_streams() {
        // literal "ab", match len 3 dist 2 ("aba"), literal "z"
        let s = [1, b'a', b'b', 1 << 5, 1, 0, b'z'];
        let mut out = [0u8; 6];
        assert_eq!(decompress(&s, &mut out), Some(6));
        assert_eq!(&out, b"ababaz");
        // a match at the very end is dropped, as c-blosc does
        let s = [1, b'a', b'b', 1 << 5, 1];
        assert_eq!(decompress(&s, &mut out), None); // needs the byte after `lo`
        let s = [0, b'a', 1 << 5, 0];
        let mut out = [0u8; 4];
        assert_eq!(decompress(&s, &mut out), None);
        // a match reaching before the output
        let s = [0, b'a', 1 << 5, 5, 0, b'x'];
        assert_eq!(decompress(&s, &mut out), None);
        // output too small
        let s = [3, 1, 2, 3, 4];
        assert_eq!(decompress(&s, &mut [0u8; 3]), None);
        // truncated literal
        assert_eq!(decompress(&[5, 1, 2], &mut [0u8; 8]), None);
    }
}

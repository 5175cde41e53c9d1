//! Snappy's raw block format (not the framed one), codec 3 of Blosc1 chunks. Our own small
//! codec, from the format description in google/snappy's `format_description.txt`.
//!
//! | element | tag byte (low 2 bits) | then |
//! | --- | --- | --- |
//! | preamble | — | the uncompressed length as a little-endian base-128 varint |
//! | literal | `00`, length − 1 in the upper 6 bits; 60..=63 there mean 1..=4 length bytes (LE) follow, holding length − 1 | the bytes |
//! | copy, 1-byte offset | `01`: length − 4 in bits 2–4, offset bits 8–10 in bits 5–7 | offset bits 0–7 |
//! | copy, 2-byte offset | `10`: length − 1 in the upper 6 bits | offset, u16 LE |
//! | copy, 4-byte offset | `11`: length − 1 in the upper 6 bits | offset, u32 LE |
//!
//! Copies read `offset` bytes back in the output (offset 0 is invalid) and may overlap.

/// Decode `src` into `dst`, which must be exactly the stream's uncompressed length.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Option<()> {
    let (mut ip, mut len) = (0usize, 0u64);
    for shift in (0..35).step_by(7) {
        let b = *src.get(ip)?;
        ip += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        if shift == 28 {
            return None;
        }
    }
    if len != dst.len() as u64 {
        return None;
    }
    let mut op = 0usize;
    while ip < src.len() {
        let tag = src[ip];
        ip += 1;
        let (len, offset) = match tag & 3 {
            0 => {
                let mut n = usize::from(tag >> 2);
                if n >= 60 {
                    let k = n - 59;
                    let b = src.get(ip..ip + k)?;
                    ip += k;
                    n = b.iter().rev().fold(0usize, |a, &x| a << 8 | usize::from(x));
                }
                let n = n.checked_add(1)?;
                let lit = src.get(ip..ip.checked_add(n)?)?;
                dst.get_mut(op..op.checked_add(n)?)?.copy_from_slice(lit);
                ip += n;
                op += n;
                continue;
            }
            1 => {
                let lo = *src.get(ip)?;
                ip += 1;
                (
                    usize::from(tag >> 2 & 7) + 4,
                    usize::from(tag >> 5) << 8 | usize::from(lo),
                )
            }
            2 => {
                let b = src.get(ip..ip + 2)?;
                ip += 2;
                (
                    usize::from(tag >> 2) + 1,
                    usize::from(u16::from_le_bytes([b[0], b[1]])),
                )
            }
            _ => {
                let b = src.get(ip..ip + 4)?;
                ip += 4;
                let off = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                (usize::from(tag >> 2) + 1, usize::try_from(off).ok()?)
            }
        };
        if offset == 0 || offset > op || op + len > dst.len() {
            return None;
        }
        for i in op..op + len {
            dst[i] = dst[i - offset];
        }
        op += len;
    }
    (op == dst.len()).then_some(())
}

fn literal(out: &mut Vec<u8>, lit: &[u8]) {
    if lit.is_empty() {
        return;
    }
    let n = lit.len() - 1;
    if n < 60 {
        out.push((n << 2) as u8);
    } else {
        let bytes = (n as u32).to_le_bytes();
        let k = if n < 1 << 8 {
            1
        } else if n < 1 << 16 {
            2
        } else if n < 1 << 24 {
            3
        } else {
            4
        };
        out.push(((59 + k) << 2) as u8);
        out.extend_from_slice(&bytes[..k]);
    }
    out.extend_from_slice(lit);
}

/// A Snappy block for `src` (at most 4 GiB − 1): greedy matches of at least 4 bytes within
/// 64 KiB found through a hash of the next 4 bytes, written as 2-byte-offset copies of up to
/// 64 bytes each.
pub(crate) fn compress(src: &[u8]) -> Vec<u8> {
    let n = src.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    let mut len = n as u64;
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    let mut table = vec![usize::MAX; 1 << 14];
    let (mut ip, mut anchor) = (0usize, 0usize);
    while ip + 4 <= n {
        let v = u32::from_le_bytes([src[ip], src[ip + 1], src[ip + 2], src[ip + 3]]);
        let h = (v.wrapping_mul(0x1e35_a7bd) >> 18) as usize;
        let cand = table[h];
        table[h] = ip;
        if cand != usize::MAX && ip - cand <= 0xffff && src[cand..cand + 4] == src[ip..ip + 4] {
            let mut m = 4;
            while ip + m < n && src[cand + m] == src[ip + m] {
                m += 1;
            }
            literal(&mut out, &src[anchor..ip]);
            let offset = (ip - cand) as u16;
            let mut rest = m;
            while rest > 0 {
                // keep every piece at least 4 bytes long when more than 64 remain
                let piece = if rest > 64 { (rest - 4).min(64) } else { rest };
                out.push(((piece - 1) << 2 | 2) as u8);
                out.extend_from_slice(&offset.to_le_bytes());
                rest -= piece;
            }
            ip += m;
            anchor = ip;
        } else {
            ip += 1;
        }
    }
    literal(&mut out, &src[anchor..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        for n in [0usize, 1, 5, 60, 61, 300, 70_000] {
            for data in [
                vec![9u8; n],
                (0..n).map(|i| (i * 7 / 3) as u8).collect::<Vec<u8>>(),
                (0..n).map(|i| (i * i % 251) as u8).collect(),
            ] {
                let z = compress(&data);
                let mut back = vec![0u8; n];
                assert_eq!(decompress(&z, &mut back), Some(()), "{n}");
                assert_eq!(back, data);
                // a wrong output size is refused
                assert_eq!(decompress(&z, &mut vec![0u8; n + 1]), None);
                for cut in 0..z.len().min(20) {
                    let mut back = vec![0u8; n];
                    if cut < z.len() {
                        let _ = decompress(&z[..cut], &mut back);
                    }
                }
            }
        }
        // google/snappy's own example shape: literal then a 1-byte-offset copy
        let s = [8, 0b0000_1100, b'a', b'b', b'c', b'd', 0b0000_0001, 4];
        let mut out = [0u8; 8];
        assert_eq!(decompress(&s, &mut out), Some(()));
        assert_eq!(&out, b"abcdabcd");
    }
}

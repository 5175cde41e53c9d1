//! LZF (filter 32000, h5py's `compression='lzf'`).
//!
//! Our own small codec: the `lzf` crate is marked deprecated by its author, and the format is
//! a few dozen lines. A chunk is a raw LZF stream (no header); the third client-data value
//! holds the uncompressed chunk size.

use crate::{id, Error, Filter, FilterParams, Result};

/// Decompress an LZF stream into at most `limit` bytes.
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
}

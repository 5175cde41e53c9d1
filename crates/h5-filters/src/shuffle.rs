//! Shuffle (filter 2): bytes of each element position grouped together.

use crate::{id, Filter, FilterParams, Result};

pub(crate) struct Shuffle;

/// Undo the shuffle of `input` for elements of `size` bytes.
pub fn unshuffle(input: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || input.len() < size {
        return input.to_vec();
    }
    let n = input.len() / size;
    let mut out = vec![0u8; input.len()];
    for b in 0..size {
        let src = &input[b * n..(b + 1) * n];
        for (i, &v) in src.iter().enumerate() {
            out[i * size + b] = v;
        }
    }
    out[n * size..].copy_from_slice(&input[n * size..]);
    out
}

/// Shuffle `input` for elements of `size` bytes.
pub fn shuffle(input: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || input.len() < size {
        return input.to_vec();
    }
    let n = input.len() / size;
    let mut out = vec![0u8; input.len()];
    for b in 0..size {
        for i in 0..n {
            out[b * n + i] = input[i * size + b];
        }
    }
    out[n * size..].copy_from_slice(&input[n * size..]);
    out
}

impl Filter for Shuffle {
    fn id(&self) -> u16 {
        id::SHUFFLE
    }
    fn decode(&self, p: &FilterParams<'_>, input: Vec<u8>, _limit: usize) -> Result<Vec<u8>> {
        let size = p
            .client_data
            .first()
            .map_or(p.element_size, |&s| s as usize);
        Ok(unshuffle(&input, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_remainder() {
        let data: Vec<u8> = (0..23u8).collect();
        let s = shuffle(&data, 4);
        assert_eq!(&s[..5], &[0, 4, 8, 12, 16]);
        assert_eq!(&s[20..], &[20, 21, 22]);
        assert_eq!(unshuffle(&s, 4), data);
    }
}

//! Shuffle (filter 2): bytes of each element position grouped together.

use crate::{id, Encoded, Filter, FilterParams, Result};

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
        Ok(unshuffle(&input, element_size(p)))
    }
    /// Never declines: like libhdf5, a chunk of 1-byte elements or shorter than one element
    /// passes through unchanged (and still counts as shuffled).
    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let size = element_size(p);
        if size <= 1 || input.len() < size {
            return Ok(Encoded::Data(input));
        }
        Ok(Encoded::Data(shuffle(&input, size)))
    }
}

/// The element size: client data value 0 (libhdf5's set-local callback stores it there),
/// else the dataset's.
fn element_size(p: &FilterParams<'_>) -> usize {
    p.client_data
        .first()
        .map_or(p.element_size, |&s| s as usize)
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

    #[test]
    fn filter_encode() {
        let data: Vec<u8> = (0..24u8).collect();
        // element size from client data, else the dataset's
        for (cd, es) in [(&[4u32][..], 8), (&[][..], 4)] {
            let p = FilterParams {
                id: 2,
                client_data: cd,
                element_size: es,
            };
            let Encoded::Data(s) = Shuffle.encode(&p, data.clone()).unwrap() else {
                panic!()
            };
            assert_eq!(s, shuffle(&data, 4));
            assert_eq!(Shuffle.decode(&p, s, 24).unwrap(), data);
        }
        // 1-byte elements and chunks shorter than one element pass through
        for (cd, len) in [([1u32], 24), ([32], 24), ([4], 3)] {
            let p = FilterParams {
                id: 2,
                client_data: &cd,
                element_size: 1,
            };
            assert_eq!(
                Shuffle.encode(&p, data[..len].to_vec()).unwrap(),
                Encoded::Data(data[..len].to_vec())
            );
        }
    }
}

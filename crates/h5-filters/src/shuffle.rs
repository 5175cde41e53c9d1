//! Shuffle (filter 2): bytes of each element position grouped together.

use crate::{id, Encoded, Filter, FilterParams, Result};

pub(crate) struct Shuffle;

/// Undo the shuffle of `input` for elements of `size` bytes.
pub fn unshuffle(input: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![0u8; input.len()];
    unshuffle_into(input, size, &mut out);
    out
}

/// [`unshuffle`] into `out`, which must be as long as `input`.
fn unshuffle_into(input: &[u8], size: usize, out: &mut [u8]) {
    if size <= 1 || input.len() < size {
        out.copy_from_slice(input);
        return;
    }
    let n = input.len() / size;
    let (body, tail) = out.split_at_mut(n * size);
    match size {
        2 => unshuffle_n::<2>(input, body, n),
        4 => unshuffle_n::<4>(input, body, n),
        8 => unshuffle_n::<8>(input, body, n),
        _ => {
            for b in 0..size {
                let src = &input[b * n..(b + 1) * n];
                for (o, &v) in body.chunks_exact_mut(size).zip(src) {
                    o[b] = v;
                }
            }
        }
    }
    tail.copy_from_slice(&input[n * size..]);
}

/// [`unshuffle`] of `n` elements of `S` bytes: one pass over the output, element by element
/// (the loop the compiler unrolls and vectorises).
fn unshuffle_n<const S: usize>(input: &[u8], body: &mut [u8], n: usize) {
    let planes: [&[u8]; S] = std::array::from_fn(|b| &input[b * n..(b + 1) * n]);
    for (i, o) in body.chunks_exact_mut(S).enumerate() {
        for (b, plane) in planes.iter().enumerate() {
            o[b] = plane[i];
        }
    }
}

/// Shuffle `input` for elements of `size` bytes.
pub fn shuffle(input: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || input.len() < size {
        return input.to_vec();
    }
    let n = input.len() / size;
    let mut out = vec![0u8; input.len()];
    match size {
        2 => shuffle_n::<2>(&input[..n * size], &mut out, n),
        4 => shuffle_n::<4>(&input[..n * size], &mut out, n),
        8 => shuffle_n::<8>(&input[..n * size], &mut out, n),
        _ => {
            for b in 0..size {
                let dst = &mut out[b * n..(b + 1) * n];
                for (d, e) in dst.iter_mut().zip(input.chunks_exact(size)) {
                    *d = e[b];
                }
            }
        }
    }
    out[n * size..].copy_from_slice(&input[n * size..]);
    out
}

/// [`shuffle`] of `n` elements of `S` bytes: one pass over the input, element by element.
fn shuffle_n<const S: usize>(body: &[u8], out: &mut [u8], n: usize) {
    let mut planes: Vec<&mut [u8]> = out[..n * S].chunks_exact_mut(n.max(1)).collect();
    for (i, e) in body.chunks_exact(S).enumerate() {
        for (b, plane) in planes.iter_mut().enumerate() {
            plane[i] = e[b];
        }
    }
}

impl Filter for Shuffle {
    fn id(&self) -> u16 {
        id::SHUFFLE
    }
    fn decode(&self, p: &FilterParams<'_>, input: Vec<u8>, _limit: usize) -> Result<Vec<u8>> {
        Ok(unshuffle(&input, element_size(p)))
    }
    fn decode_into(&self, p: &FilterParams<'_>, input: Vec<u8>, out: &mut [u8]) -> Result<()> {
        if input.len() != out.len() {
            return Err(crate::Error::Corrupt {
                id: id::SHUFFLE,
                what: "decoded chunk has the wrong size",
            });
        }
        unshuffle_into(&input, element_size(p), out);
        Ok(())
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
    fn every_element_size_roundtrips_and_matches_the_definition() {
        for size in 1..=9 {
            for len in [0, 1, size, 3 * size + 2, 64 * size + 5] {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 3) as u8).collect();
                let s = shuffle(&data, size);
                let n = len / size;
                if size > 1 && len >= size {
                    for (i, e) in data[..n * size].chunks_exact(size).enumerate() {
                        for (b, &v) in e.iter().enumerate() {
                            assert_eq!(s[b * n + i], v, "size {size} len {len} at {i}.{b}");
                        }
                    }
                    assert_eq!(s[n * size..], data[n * size..]);
                } else {
                    assert_eq!(s, data);
                }
                assert_eq!(unshuffle(&s, size), data, "size {size} len {len}");
            }
        }
    }

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

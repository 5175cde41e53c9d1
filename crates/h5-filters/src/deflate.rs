//! Deflate (filter 1): a zlib stream, decoded with flate2's pure-Rust zlib-rs backend.

use crate::{id, Error, Filter, FilterParams, Result};
use flate2::{Decompress, FlushDecompress, Status};

pub(crate) struct Deflate;

impl Filter for Deflate {
    fn id(&self) -> u16 {
        id::DEFLATE
    }

    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(4).max(4096)));
        let mut d = Decompress::new(true);
        loop {
            if out.len() == out.capacity() {
                if out.len() >= limit {
                    // Full: the stream must be finished now.
                    let mut probe = [0u8; 1];
                    let before = d.total_in() as usize;
                    let st = d
                        .decompress(&input[before..], &mut probe, FlushDecompress::Finish)
                        .map_err(|_| corrupt())?;
                    if d.total_out() as usize > out.len() {
                        return Err(Error::TooLarge {
                            id: id::DEFLATE,
                            limit,
                        });
                    }
                    if st == Status::StreamEnd {
                        return Ok(out);
                    }
                    return Err(corrupt());
                }
                out.reserve((out.len().max(4096)).min(limit - out.len()));
            }
            let before = d.total_in() as usize;
            let st = d
                .decompress_vec(&input[before..], &mut out, FlushDecompress::Finish)
                .map_err(|_| corrupt())?;
            match st {
                Status::StreamEnd => return Ok(out),
                Status::Ok | Status::BufError => {
                    if d.total_in() as usize == before && out.len() < out.capacity() {
                        return Err(corrupt()); // no progress: truncated stream
                    }
                }
            }
        }
    }
}

fn corrupt() -> Error {
    Error::Corrupt {
        id: id::DEFLATE,
        what: "bad zlib stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    fn z(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn roundtrip_and_bounds() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let p = FilterParams {
            id: 1,
            client_data: &[6],
            element_size: 1,
        };
        assert_eq!(Deflate.decode(&p, z(&data), data.len()).unwrap(), data);
        assert!(matches!(
            Deflate.decode(&p, z(&data), 1000),
            Err(Error::TooLarge { .. })
        ));
        let mut bad = z(&data);
        bad.truncate(bad.len() / 2);
        assert!(Deflate.decode(&p, bad, data.len()).is_err());
        assert!(Deflate.decode(&p, vec![1, 2, 3, 4], 100).is_err());
    }
}

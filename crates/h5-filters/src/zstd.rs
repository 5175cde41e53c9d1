//! Zstandard (filter 32015, the HDF Group / hdf5plugin format): each chunk is one zstd frame,
//! client data value 0 the level. Decoded by `ruzstd` (pure Rust), bounded by the chunk size.
//!
//! Encoding uses rusty_zstd at the level asked for. Its frames carry the frame content size
//! (RFC 8878 §3.1.1.1), which the C plugin sizes its output from: libzstd reads our frames.

use crate::{id, Encoded, Error, Filter, FilterParams, Result};
use std::io::Read;

pub(crate) struct Zstd;

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { id: id::ZSTD, what }
}

impl Filter for Zstd {
    fn id(&self) -> u16 {
        id::ZSTD
    }

    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let mut d = ruzstd::decoding::StreamingDecoder::new(&input[..])
            .map_err(|_| corrupt("bad frame header"))?;
        let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(8).max(4096)));
        (&mut d)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| corrupt("bad compressed data"))?;
        if out.len() > limit {
            return Err(Error::TooLarge {
                id: id::ZSTD,
                limit,
            });
        }
        Ok(out)
    }

    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        // the plugin: no level means zstd's default, 3
        let level = p.client_data.first().copied().unwrap_or(3);
        if level > 22 {
            return Err(Error::InvalidParams {
                id: id::ZSTD,
                what: "level above 22",
            });
        }
        Ok(Encoded::Data(
            compress(&input, level as i32).map_err(corrupt)?,
        ))
    }
}

/// One zstd frame of `src` at `level` (zstd's levels; 0 is its default, 3), with the frame
/// content size, which the C plugin sizes its output from.
///
/// # Errors
/// The encoder's own failure, described.
pub(crate) fn compress(src: &[u8], level: i32) -> std::result::Result<Vec<u8>, &'static str> {
    rusty_zstd::compress(src, if level == 0 { 3 } else { level })
        .map_err(|_| "the zstd encoder failed")
}

/// Decode the zstd frame at the start of `src` into `dst`, which must hold all of it: the
/// bytes written. Trailing bytes after the frame are not read.
///
/// # Errors
/// A corrupt frame, or one that decodes to more than `dst` holds, described.
pub(crate) fn decode_into(src: &[u8], dst: &mut [u8]) -> std::result::Result<usize, &'static str> {
    let mut d =
        ruzstd::decoding::StreamingDecoder::new(src).map_err(|_| "bad zstd frame header")?;
    let mut got = 0;
    while got < dst.len() {
        match d.read(&mut dst[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(_) => return Err("bad zstd frame"),
        }
    }
    let mut probe = [0u8; 1];
    match d.read(&mut probe) {
        Ok(0) => Ok(got),
        Ok(_) => Err("zstd frame larger than its size"),
        Err(_) => Err("bad zstd frame"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_content_size_at_every_level() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 977).to_le_bytes())
            .collect();
        for level in [1, 3, 9, 19, 22] {
            let frame = compress(&data, level).unwrap();
            // Frame_Header_Descriptor bits 7-6: the content size field is present
            assert!(frame[4] >> 6 != 0 || frame[4] & 0x20 != 0, "level {level}");
            let mut back = vec![0u8; data.len()];
            assert_eq!(decode_into(&frame, &mut back), Ok(data.len()));
            assert_eq!(back, data);
            // a frame larger than the room given is an error
            let mut small = vec![0u8; data.len() - 1];
            assert!(decode_into(&frame, &mut small).is_err());
        }
        // levels are real: on noisy numbers a high level packs tighter than level 1
        let mut x = 1u64;
        let noisy: Vec<u8> = (0..100_000)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((i / 50) % 200) as u8 + (x >> 61) as u8
            })
            .collect();
        let (fast, tight) = (compress(&noisy, 1).unwrap(), compress(&noisy, 19).unwrap());
        assert!(
            tight.len() < fast.len(),
            "{} vs {}",
            tight.len(),
            fast.len()
        );
    }
}

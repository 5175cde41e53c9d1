//! Zstandard (filter 32015, the HDF Group / hdf5plugin format): each chunk is one zstd frame,
//! client data value 0 the level. Decoded by `ruzstd` (pure Rust), bounded by the chunk size.
//!
//! Encoding uses ruzstd's encoder, which has one real level (about zstd's level 1) whatever
//! level is asked for. Its frames carry no content size, and the C plugin sizes its output
//! from that field, so the encoder writes it into the frame header (an 8-byte Frame Content
//! Size, RFC 8878 §3.1.1.1): libzstd then reads our frames.

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
        if let Some(&level) = p.client_data.first() {
            if level > 22 {
                return Err(Error::InvalidParams {
                    id: id::ZSTD,
                    what: "level above 22",
                });
            }
        }
        let frame = ruzstd::encoding::compress_to_vec(
            &input[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        Ok(Encoded::Data(with_content_size(frame, input.len() as u64)?))
    }
}

/// `frame` (magic, a descriptor with no content size, not single-segment, no dictionary, a
/// window descriptor, then blocks) with an 8-byte Frame Content Size of `size` added.
pub(crate) fn with_content_size(mut frame: Vec<u8>, size: u64) -> Result<Vec<u8>> {
    const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    let descriptor = *frame.get(4).ok_or(corrupt("encoder made no frame"))?;
    // FCS flag (bits 7-6), single segment (bit 5) and dictionary id flag (bits 1-0) all 0
    if frame[..4] != MAGIC || descriptor & 0xe3 != 0 || frame.len() < 6 {
        return Err(corrupt("encoder made an unexpected frame header"));
    }
    frame[4] = descriptor | 0xc0; // an 8-byte content size
    frame.splice(6..6, size.to_le_bytes());
    Ok(frame)
}

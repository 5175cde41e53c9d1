//! LZ4 (filter 32004, the Dectris / hdf5plugin format): raw LZ4 blocks behind a header,
//! through `lz4_flex` (pure Rust, no unsafe).
//!
//! | bytes | field |
//! | --- | --- |
//! | 8, big-endian | the uncompressed chunk size |
//! | 4, big-endian | the block size (client data value 0; 0 or none: 1 GiB; at most the chunk) |
//! | per block: 4, big-endian | the block's stored size; equal to its uncompressed size: stored raw |
//! | per block: that many | an LZ4 block (no frame) or the raw bytes |

use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Lz4;

/// The block size when client data gives none (the plugin's default).
const DEFAULT_BLOCK: u64 = 1 << 30;

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { id: id::LZ4, what }
}

fn be_u32(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(corrupt("truncated header"))
}

impl Filter for Lz4 {
    fn id(&self) -> u16 {
        id::LZ4
    }

    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let total = input
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or(corrupt("truncated header"))?;
        if total > limit as u64 {
            return Err(Error::TooLarge { id: id::LZ4, limit });
        }
        let total = total as usize;
        let block = (be_u32(&input, 8)? as usize).min(total);
        if block == 0 && total > 0 {
            return Err(corrupt("block size 0"));
        }
        let mut out = vec![0u8; total];
        let (mut at, mut done) = (12usize, 0usize);
        while done < total {
            let this = block.min(total - done);
            let stored = be_u32(&input, at)? as usize;
            at += 4;
            let src = at
                .checked_add(stored)
                .and_then(|end| input.get(at..end))
                .ok_or(corrupt("block past the end of the chunk"))?;
            let dst = &mut out[done..done + this];
            if stored == this {
                dst.copy_from_slice(src);
            } else {
                let n = lz4_flex::block::decompress_into(src, dst)
                    .map_err(|_| corrupt("bad LZ4 block"))?;
                if n != this {
                    return Err(corrupt("LZ4 block shorter than its size"));
                }
            }
            at += stored;
            done += this;
        }
        Ok(out)
    }

    /// Blocks that LZ4 cannot shrink are stored raw, as the plugin stores them; never declines.
    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let total = input.len();
        let asked = match p.client_data.first() {
            None | Some(0) => DEFAULT_BLOCK,
            Some(&b) => b as u64,
        };
        let block = asked.min(total as u64) as usize;
        let mut out = Vec::with_capacity(12 + total + total / 255 + 16);
        out.extend_from_slice(&(total as u64).to_be_bytes());
        out.extend_from_slice(&(block as u32).to_be_bytes());
        let mut scratch = vec![0u8; lz4_flex::block::get_maximum_output_size(block)];
        for chunk in input.chunks(block.max(1)) {
            let n = lz4_flex::block::compress_into(chunk, &mut scratch)
                .map_err(|_| corrupt("LZ4 output buffer too small"))?;
            if n >= chunk.len() {
                out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
                out.extend_from_slice(chunk);
            } else {
                out.extend_from_slice(&(n as u32).to_be_bytes());
                out.extend_from_slice(&scratch[..n]);
            }
        }
        Ok(Encoded::Data(out))
    }
}

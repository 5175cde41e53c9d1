//! bzip2 (filter 307, the PyTables / hdf5plugin format): each chunk is one .bz2 stream, client
//! data value 0 the block size (1–9, 100 000 bytes each; 9 when absent). Through the `bzip2`
//! crate on its pure-Rust backend (libbz2-rs-sys: no C).

use crate::{id, Encoded, Error, Filter, FilterParams, Result};
use std::io::Read;

pub(crate) struct Bzip2;

impl Filter for Bzip2 {
    fn id(&self) -> u16 {
        id::BZIP2
    }

    /// The first stream only, as the plugin decodes.
    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(8).max(4096)));
        bzip2::read::BzDecoder::new(&input[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| Error::Corrupt {
                id: id::BZIP2,
                what: "bad bzip2 stream",
            })?;
        if out.len() > limit {
            return Err(Error::TooLarge {
                id: id::BZIP2,
                limit,
            });
        }
        Ok(out)
    }

    fn encode(&self, p: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let level = match p.client_data.first() {
            None => 9,
            Some(&l @ 1..=9) => l,
            Some(_) => {
                return Err(Error::InvalidParams {
                    id: id::BZIP2,
                    what: "block size outside 1-9",
                })
            }
        };
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        bzip2::read::BzEncoder::new(&input[..], bzip2::Compression::new(level))
            .read_to_end(&mut out)
            .map_err(|_| Error::Corrupt {
                id: id::BZIP2,
                what: "bzip2 encoder failed",
            })?;
        Ok(Encoded::Data(out))
    }
}

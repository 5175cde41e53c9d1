//! # h5-filters
//!
//! The HDF5 filter pipeline: one [`Filter`] trait, a [`Registry`] of known filters, and the
//! codecs every h5py file uses — deflate (1), shuffle (2), fletcher32 (3) and LZF (32000).
//!
//! Decoding is bounded: a decoder never produces more than the size it is told to expect, so
//! a hostile chunk cannot make us allocate beyond the chunk size. Filters not implemented
//! here (szip, nbit, scale-offset, plugins) are reported as [`Error::Unsupported`] naming the
//! filter id.
#![forbid(unsafe_code)]

mod deflate;
mod fletcher32;
pub mod lzf;
pub mod shuffle;

use std::fmt;

pub use fletcher32::fletcher32;

/// Known filter ids.
pub mod id {
    /// zlib deflate.
    pub const DEFLATE: u16 = 1;
    /// Byte shuffle.
    pub const SHUFFLE: u16 = 2;
    /// Fletcher-32 checksum.
    pub const FLETCHER32: u16 = 3;
    /// SZIP.
    pub const SZIP: u16 = 4;
    /// N-bit.
    pub const NBIT: u16 = 5;
    /// Scale-offset.
    pub const SCALEOFFSET: u16 = 6;
    /// LZF (h5py).
    pub const LZF: u16 = 32000;
}

/// A filter error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No codec for this filter id.
    Unsupported {
        /// The filter id.
        id: u16,
        /// Its conventional name.
        name: &'static str,
    },
    /// The filtered bytes are corrupt for this filter.
    Corrupt {
        /// The filter id.
        id: u16,
        /// What is wrong.
        what: &'static str,
    },
    /// The decoded data is larger than the expected size.
    TooLarge {
        /// The filter id.
        id: u16,
        /// The limit.
        limit: usize,
    },
    /// A stored checksum does not match.
    Checksum {
        /// The filter id.
        id: u16,
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unsupported { id, name } => write!(f, "filter {id} ({name}) is not supported"),
            Error::Corrupt { id, what } => write!(f, "filter {id} ({}): {what}", name_of(*id)),
            Error::TooLarge { id, limit } => {
                write!(f, "filter {id} ({}): output exceeds {limit} bytes", name_of(*id))
            }
            Error::Checksum { id, stored, computed } => write!(
                f,
                "filter {id} ({}): checksum mismatch (stored {stored:#010x}, computed {computed:#010x})",
                name_of(*id)
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// The conventional name of a filter id.
pub fn name_of(id: u16) -> &'static str {
    match id {
        id::DEFLATE => "deflate",
        id::SHUFFLE => "shuffle",
        id::FLETCHER32 => "fletcher32",
        id::SZIP => "szip",
        id::NBIT => "nbit",
        id::SCALEOFFSET => "scaleoffset",
        id::LZF => "lzf",
        305 => "lzo",
        307 => "bzip2",
        32001 => "blosc",
        32004 => "lz4",
        32008 => "bitshuffle",
        32013 => "zfp",
        32015 => "zstd",
        32026 => "blosc2",
        _ => "unknown",
    }
}

/// One filter's parameters as stored in the pipeline message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterParams<'a> {
    /// Filter id.
    pub id: u16,
    /// Client data values.
    pub client_data: &'a [u32],
    /// Size in bytes of one dataset element (shuffle needs it when client data lacks it).
    pub element_size: usize,
}

/// A filter codec.
pub trait Filter: Send + Sync {
    /// The filter id.
    fn id(&self) -> u16;
    /// Undo the filter. `limit` is the most bytes the output may hold (the unfiltered chunk
    /// size, plus whatever later filters add); exceeding it is an error.
    fn decode(&self, params: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>>;
}

/// The set of filters this build knows.
#[derive(Default)]
pub struct Registry {
    filters: Vec<Box<dyn Filter>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.filters.iter().map(|x| x.id()))
            .finish()
    }
}

impl Registry {
    /// A registry with deflate, shuffle, fletcher32 and LZF.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        r.register(Box::new(deflate::Deflate));
        r.register(Box::new(shuffle::Shuffle));
        r.register(Box::new(fletcher32::Fletcher32));
        r.register(Box::new(lzf::Lzf));
        r
    }
    /// Add (or replace) a filter.
    pub fn register(&mut self, f: Box<dyn Filter>) {
        self.filters.retain(|x| x.id() != f.id());
        self.filters.push(f);
    }
    /// The filter with this id.
    pub fn get(&self, id: u16) -> Option<&dyn Filter> {
        self.filters
            .iter()
            .find(|f| f.id() == id)
            .map(|b| b.as_ref())
    }

    /// Undo a whole pipeline (given in encoding order) on one chunk. Filters whose bit is
    /// set in `mask` were skipped when the chunk was written. The result must be exactly
    /// `expected` bytes.
    pub fn decode_chunk(
        &self,
        pipeline: &[FilterParams<'_>],
        mask: u32,
        mut data: Vec<u8>,
        expected: usize,
    ) -> Result<Vec<u8>> {
        let limit = expected.saturating_add(64);
        for (i, p) in pipeline.iter().enumerate().rev() {
            if i < 32 && mask & (1 << i) != 0 {
                continue;
            }
            let f = self.get(p.id).ok_or(Error::Unsupported {
                id: p.id,
                name: name_of(p.id),
            })?;
            data = f.decode(p, data, limit)?;
        }
        if data.len() != expected {
            let id = pipeline.first().map_or(0, |p| p.id);
            return Err(Error::Corrupt {
                id,
                what: "decoded chunk has the wrong size",
            });
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filter_names_its_id() {
        let r = Registry::with_builtins();
        let p = [FilterParams {
            id: 4,
            client_data: &[],
            element_size: 4,
        }];
        let e = r.decode_chunk(&p, 0, vec![1, 2, 3], 3).unwrap_err();
        assert_eq!(
            e,
            Error::Unsupported {
                id: 4,
                name: "szip"
            }
        );
        assert_eq!(e.to_string(), "filter 4 (szip) is not supported");
        // a skipped filter is not needed at all
        assert_eq!(r.decode_chunk(&p, 1, vec![1, 2, 3], 3).unwrap(), [1, 2, 3]);
    }
}

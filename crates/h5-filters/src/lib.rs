//! # h5-filters
//!
//! The HDF5 filter pipeline: one [`Filter`] trait, a [`Registry`] of known filters, and the
//! codecs every h5py file uses — deflate (1), shuffle (2), fletcher32 (3) and LZF (32000).
//!
//! Decoding is bounded: a decoder never produces more than the size it is told to expect, so
//! a hostile chunk cannot make us allocate beyond the chunk size. Filters not implemented
//! here (szip, nbit, scale-offset, plugins) are reported as [`Error::Unsupported`] naming the
//! filter id.
//!
//! Encoding follows libhdf5's pipeline rules ([`Registry::encode_chunk`]): filters run in
//! pipeline order; a filter may [decline](Encoded::Declined) a chunk (LZF when it cannot
//! shrink it, deflate when its stream outgrows libhdf5's output buffer); a declined
//! *optional* filter is skipped and its bit set in the chunk's filter mask, a declined
//! *required* filter is an error.
//!
//! | filter | id | encode | client data the writer stores |
//! | --- | --- | --- | --- |
//! | deflate | 1 | zlib stream at level `cd[0]`; declines past libhdf5's output bound | `[level]` (0–9) |
//! | shuffle | 2 | byte shuffle; never declines | `[element size]` |
//! | fletcher32 | 3 | appends the checksum, little-endian; never declines | `[]` |
//! | LZF | 32000 | own LZF compressor; declines unless the output is smaller | [`lzf::h5py_client_data`] |
//!
//! ```
//! use h5_filters::{id, FilterParams, Registry};
//!
//! let r = Registry::with_builtins();
//! let pipeline = [
//!     FilterParams { id: id::SHUFFLE, client_data: &[4], element_size: 4 },
//!     FilterParams { id: id::DEFLATE, client_data: &[6], element_size: 4 },
//!     FilterParams { id: id::FLETCHER32, client_data: &[], element_size: 4 },
//! ];
//! // libhdf5's flags: shuffle and deflate optional, fletcher32 required
//! let optional = [true, true, false];
//! let data: Vec<u8> = (0..1000u32).flat_map(|i| i.to_le_bytes()).collect();
//! let (stored, mask) = r.encode_chunk(&pipeline, &optional, data.clone())?;
//! assert_eq!(mask, 0);
//! assert!(stored.len() < data.len());
//! assert_eq!(r.decode_chunk(&pipeline, mask, stored, data.len())?, data);
//! # Ok::<(), h5_filters::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::missing_errors_doc)]

#[cfg(any(feature = "nbit", feature = "scaleoffset", feature = "szip"))]
mod bits;
#[cfg(any(feature = "bitshuffle", feature = "blosc", feature = "blosc2"))]
mod bitshuffle;
#[cfg(any(feature = "blosc", feature = "blosc2"))]
pub mod blosc;
#[cfg(feature = "blosc2")]
pub mod blosc2;
#[cfg(any(feature = "blosc", feature = "blosc2"))]
mod blosclz;
#[cfg(feature = "bzip2")]
mod bzip2;
pub mod client_data;
mod deflate;
mod fletcher32;
#[cfg(test)]
mod h5py_vectors;
#[cfg(feature = "lz4")]
mod lz4;
pub mod lzf;
#[cfg(feature = "nbit")]
mod nbit;
#[cfg(feature = "scaleoffset")]
mod scaleoffset;
pub mod shuffle;
#[cfg(any(feature = "blosc", feature = "blosc2"))]
mod snappy;
#[cfg(feature = "szip")]
mod szip;
#[cfg(feature = "zfp")]
pub mod zfp;
#[cfg(feature = "zstd")]
mod zstd;

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
    /// bzip2 (PyTables, hdf5plugin).
    pub const BZIP2: u16 = 307;
    /// Blosc (hdf5plugin).
    pub const BLOSC: u16 = 32001;
    /// LZ4 (Dectris, hdf5plugin).
    pub const LZ4: u16 = 32004;
    /// Bitshuffle (hdf5plugin).
    pub const BITSHUFFLE: u16 = 32008;
    /// ZFP (LLNL, hdf5plugin).
    pub const ZFP: u16 = 32013;
    /// Zstandard (hdf5plugin).
    pub const ZSTD: u16 = 32015;
    /// Blosc2 (hdf5plugin).
    pub const BLOSC2: u16 = 32026;
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
    /// The filter's client data cannot drive the encoder (e.g. a deflate level above 9).
    InvalidParams {
        /// The filter id.
        id: u16,
        /// What is wrong.
        what: &'static str,
    },
    /// A required (not optional) filter declined a chunk, so it cannot be written.
    Declined {
        /// The filter id.
        id: u16,
        /// Why the filter declined.
        why: &'static str,
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
            Error::InvalidParams { id, what } => {
                write!(f, "filter {id} ({}): invalid client data: {what}", name_of(*id))
            }
            Error::Declined { id, why } => write!(
                f,
                "filter {id} ({}) is required but declined the chunk: {why}",
                name_of(*id)
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// The name of a filter id: libhdf5's for its own filters, else the name in the HDF Group's
/// registry of filter plugins (docs/RegisteredFilterPlugins.md of HDFGroup/hdf5_plugins);
/// "unregistered" for ids the registry does not list.
pub fn name_of(id: u16) -> &'static str {
    match id {
        id::DEFLATE => "deflate",
        id::SHUFFLE => "shuffle",
        id::FLETCHER32 => "fletcher32",
        id::SZIP => "szip",
        id::NBIT => "nbit",
        id::SCALEOFFSET => "scaleoffset",
        257 => "hzip",
        258 => "fpzip",
        305 => "lzo",
        307 => "bzip2",
        32000 => "lzf",
        32001 => "blosc",
        32002 => "mafisc",
        32003 => "snappy",
        32004 => "lz4",
        32005 => "apax",
        32006 => "cbf",
        32007 => "jpeg-xr",
        32008 => "bitshuffle",
        32009 => "spdp",
        32010 => "lpc-rice",
        32011 => "ccsds-123",
        32012 => "jpeg-ls",
        32013 => "zfp",
        32014 => "fpzip",
        32015 => "zstd",
        32016 => "b3d",
        32017 => "sz",
        32018 => "fcidecomp",
        32019 => "jpeg",
        32020 => "vbz",
        32021 => "fapec",
        32022 => "bitgroom",
        32023 => "granular bitround",
        32024 => "sz3",
        32025 => "delta-rice",
        32026 => "blosc2",
        32027 => "flac",
        32028 => "sperr",
        32029 => "terse/prolix",
        32030 => "ffmpeg",
        32031 => "jpeg2000",
        32032 => "bitround",
        _ => "unregistered",
    }
}

/// Whether this build has a codec for filter `id` (the codec features it was built with).
pub fn available(id: u16) -> bool {
    Registry::with_builtins().get(id).is_some()
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

/// What a filter's [`encode`](Filter::encode) made of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// The filtered bytes, to pass on to the next filter (or to store).
    Data(Vec<u8>),
    /// The filter will not filter this chunk — libhdf5's "filter returned 0", e.g. LZF on
    /// input it cannot shrink. The input comes back untouched. If the filter is optional the
    /// pipeline skips it and sets its bit in the chunk's filter mask; if it is required, the
    /// chunk cannot be written ([`Error::Declined`]).
    Declined {
        /// The input, unchanged.
        data: Vec<u8>,
        /// Why the filter declined (for the error when the filter is required).
        why: &'static str,
    },
}

impl Encoded {
    /// The bytes, whichever way the filter went.
    pub fn into_inner(self) -> Vec<u8> {
        match self {
            Encoded::Data(d) | Encoded::Declined { data: d, .. } => d,
        }
    }
}

/// A filter codec.
pub trait Filter: Send + Sync {
    /// The filter id.
    fn id(&self) -> u16;
    /// Undo the filter. `limit` is the most bytes the output may hold (the unfiltered chunk
    /// size, plus whatever later filters add); exceeding it is an error.
    ///
    /// # Errors
    /// What implementations return: [`Error::Corrupt`] for input that is not valid for the filter,
    /// [`Error::TooLarge`] when the output would exceed `limit`, [`Error::Checksum`] when a stored
    /// checksum does not match.
    fn decode(&self, params: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>>;
    /// Undo the filter into `out`, which the result must fill exactly: the last step of a
    /// chunk's decoding, straight into the caller's buffer. The default decodes and copies;
    /// filters that can write in place (deflate, shuffle) save the copy.
    ///
    /// # Errors
    /// As [`decode`](Filter::decode), and [`Error::Corrupt`] when the result is not
    /// `out.len()` bytes.
    fn decode_into(&self, params: &FilterParams<'_>, input: Vec<u8>, out: &mut [u8]) -> Result<()> {
        let v = self.decode(params, input, out.len())?;
        if v.len() != out.len() {
            return Err(Error::Corrupt {
                id: self.id(),
                what: "decoded chunk has the wrong size",
            });
        }
        out.copy_from_slice(&v);
        Ok(())
    }
    /// Apply the filter to one chunk on its way to the file. Whatever comes out must be
    /// undone by [`decode`](Filter::decode) with the same `params`.
    ///
    /// A filter may decline a chunk ([`Encoded::Declined`], handing the input back): that is
    /// data-dependent and not an error. Errors are for client data the filter cannot work
    /// with ([`Error::InvalidParams`]); the pipeline reports them whether or not the filter
    /// is optional.
    ///
    /// The default declines every chunk ("no encoder"), which suits decode-only filters:
    /// an optional one is skipped, a required one makes writing an error.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] when the client data cannot drive the encoder. The default
    /// implementation never fails.
    fn encode(&self, params: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let _ = params;
        Ok(Encoded::Declined {
            data: input,
            why: "this build has no encoder for the filter",
        })
    }
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
        #[cfg(feature = "szip")]
        r.register(Box::new(szip::Szip));
        #[cfg(feature = "nbit")]
        r.register(Box::new(nbit::Nbit));
        #[cfg(feature = "scaleoffset")]
        r.register(Box::new(scaleoffset::ScaleOffset));
        #[cfg(feature = "lz4")]
        r.register(Box::new(lz4::Lz4));
        #[cfg(feature = "zstd")]
        r.register(Box::new(zstd::Zstd));
        #[cfg(feature = "bzip2")]
        r.register(Box::new(bzip2::Bzip2));
        #[cfg(feature = "bitshuffle")]
        r.register(Box::new(bitshuffle::Bitshuffle));
        #[cfg(feature = "blosc")]
        r.register(Box::new(blosc::Blosc));
        #[cfg(feature = "blosc2")]
        r.register(Box::new(blosc2::Blosc2));
        #[cfg(feature = "zfp")]
        r.register(Box::new(zfp::Zfp));
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
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a filter (not skipped by `mask`) that is not in the registry;
    /// whatever a filter's [`decode`](Filter::decode) returns ([`Error::Corrupt`],
    /// [`Error::TooLarge`] past `expected` + 64 bytes, [`Error::Checksum`]); [`Error::Corrupt`]
    /// (under the first filter's id) when the result is not exactly `expected` bytes.
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

    /// [`decode_chunk`](Registry::decode_chunk) into `out`, which the result must fill
    /// exactly: the pipeline's first filter (the last to undo) writes its output there, so a
    /// chunk that lands whole in the caller's buffer is not copied again.
    ///
    /// # Errors
    /// As [`decode_chunk`](Registry::decode_chunk), with `out.len()` the expected size.
    pub fn decode_chunk_into(
        &self,
        pipeline: &[FilterParams<'_>],
        mask: u32,
        mut data: Vec<u8>,
        out: &mut [u8],
    ) -> Result<()> {
        let limit = out.len().saturating_add(64);
        let active: Vec<&FilterParams<'_>> = pipeline
            .iter()
            .enumerate()
            .filter(|&(i, _)| i >= 32 || mask & (1 << i) == 0)
            .map(|(_, p)| p)
            .collect();
        let get = |p: &FilterParams<'_>| {
            self.get(p.id).ok_or(Error::Unsupported {
                id: p.id,
                name: name_of(p.id),
            })
        };
        let Some((first, rest)) = active.split_first() else {
            if data.len() != out.len() {
                return Err(Error::Corrupt {
                    id: pipeline.first().map_or(0, |p| p.id),
                    what: "decoded chunk has the wrong size",
                });
            }
            out.copy_from_slice(&data);
            return Ok(());
        };
        for p in rest.iter().rev() {
            data = get(p)?.decode(p, data, limit)?;
        }
        get(first)?.decode_into(first, data, out)
    }

    /// Apply a whole pipeline (in encoding order, as the filter pipeline message lists it)
    /// to one chunk, as libhdf5 does on write. Returns the bytes to store and the chunk's
    /// filter mask, which [`decode_chunk`](Registry::decode_chunk) takes back.
    ///
    /// `optional[i]` is bit 0 of filter `i`'s flags in the pipeline message (libhdf5 marks
    /// deflate, shuffle and h5py's LZF optional, fletcher32 required); entries missing from
    /// `optional` count as required. When filter `i` declines the chunk ([`Encoded::Declined`])
    /// or is not in this registry, an optional filter is skipped and bit `i` of the mask is
    /// set, while a required one fails with [`Error::Declined`] or [`Error::Unsupported`].
    /// Filters past the 32nd (libhdf5 allows 32) have no mask bit and count as required.
    ///
    /// # Errors
    ///
    /// [`Error::Declined`] or [`Error::Unsupported`] for a required filter as above, and
    /// [`Error::InvalidParams`] from any filter whose client data it cannot use.
    pub fn encode_chunk(
        &self,
        pipeline: &[FilterParams<'_>],
        optional: &[bool],
        mut data: Vec<u8>,
    ) -> Result<(Vec<u8>, u32)> {
        let mut mask = 0u32;
        for (i, p) in pipeline.iter().enumerate() {
            let skippable = i < 32 && optional.get(i).copied().unwrap_or(false);
            let Some(f) = self.get(p.id) else {
                if skippable {
                    mask |= 1 << i;
                    continue;
                }
                return Err(Error::Unsupported {
                    id: p.id,
                    name: name_of(p.id),
                });
            };
            data = match f.encode(p, data)? {
                Encoded::Data(d) => d,
                Encoded::Declined { data: d, .. } if skippable => {
                    mask |= 1 << i;
                    d
                }
                Encoded::Declined { why, .. } => return Err(Error::Declined { id: p.id, why }),
            };
        }
        Ok((data, mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filter_names_its_id() {
        let r = Registry::with_builtins();
        let p = [FilterParams {
            id: 32017,
            client_data: &[],
            element_size: 4,
        }];
        let e = r.decode_chunk(&p, 0, vec![1, 2, 3], 3).unwrap_err();
        assert_eq!(
            e,
            Error::Unsupported {
                id: 32017,
                name: "sz"
            }
        );
        assert_eq!(e.to_string(), "filter 32017 (sz) is not supported");
        // a skipped filter is not needed at all
        assert_eq!(r.decode_chunk(&p, 1, vec![1, 2, 3], 3).unwrap(), [1, 2, 3]);
    }

    fn fp(id: u16, client_data: &[u32]) -> FilterParams<'_> {
        FilterParams {
            id,
            client_data,
            element_size: 4,
        }
    }

    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as u8
            })
            .collect()
    }

    fn smooth(n: usize) -> Vec<u8> {
        (0..n as i32 / 4)
            .flat_map(|i| (i / 10 - 7).to_le_bytes())
            .collect()
    }

    #[test]
    fn pipelines_roundtrip() {
        let r = Registry::with_builtins();
        let lzf = lzf::h5py_client_data(4000);
        let pipelines: [(&[FilterParams<'_>], &[bool]); 7] = [
            (&[fp(id::DEFLATE, &[6])], &[true]),
            (&[fp(id::SHUFFLE, &[4])], &[true]),
            (&[fp(id::FLETCHER32, &[])], &[false]),
            (&[fp(id::LZF, &lzf)], &[true]),
            (
                &[
                    fp(id::SHUFFLE, &[4]),
                    fp(id::DEFLATE, &[9]),
                    fp(id::FLETCHER32, &[]),
                ],
                &[true, true, false],
            ),
            (&[fp(id::SHUFFLE, &[4]), fp(id::LZF, &lzf)], &[true, true]),
            (
                &[
                    fp(id::SHUFFLE, &[4]),
                    fp(id::LZF, &lzf),
                    fp(id::FLETCHER32, &[]),
                ],
                &[true, true, false],
            ),
        ];
        for (pipeline, optional) in pipelines {
            let ids: Vec<u16> = pipeline.iter().map(|p| p.id).collect();
            let compresses = ids.contains(&id::DEFLATE) || ids.contains(&id::LZF);
            for (data, compressible) in [
                (smooth(4000), true),
                (noise(4000), false),
                (vec![], false),
                (vec![5; 3], false),
            ] {
                let (z, mask) = r.encode_chunk(pipeline, optional, data.clone()).unwrap();
                let back = r
                    .decode_chunk(pipeline, mask, z.clone(), data.len())
                    .unwrap();
                assert_eq!(back, data, "{ids:?} mask {mask}");
                if compressible && compresses {
                    assert!(z.len() < 1000, "{ids:?}: {}", z.len());
                    assert_eq!(mask, 0);
                }
            }
        }
    }

    #[test]
    fn declined_optional_filter_sets_its_mask_bit() {
        let r = Registry::with_builtins();
        let lzf = lzf::h5py_client_data(4000);
        let pipeline = [
            fp(id::SHUFFLE, &[4]),
            fp(id::LZF, &lzf),
            fp(id::FLETCHER32, &[]),
        ];
        let data = noise(4000);
        let (z, mask) = r
            .encode_chunk(&pipeline, &[true, true, false], data.clone())
            .unwrap();
        assert_eq!(mask, 0b010);
        // shuffled, not compressed, checksummed
        assert_eq!(z.len(), 4004);
        assert_eq!(z[..4000], shuffle::shuffle(&data, 4)[..]);
        assert_eq!(r.decode_chunk(&pipeline, mask, z, 4000).unwrap(), data);
    }

    #[test]
    fn declined_required_filter_is_an_error() {
        let r = Registry::with_builtins();
        let lzf = lzf::h5py_client_data(4000);
        let e = r
            .encode_chunk(&[fp(id::LZF, &lzf)], &[false], noise(4000))
            .unwrap_err();
        assert_eq!(
            e,
            Error::Declined {
                id: id::LZF,
                why: "LZF output would not be smaller than the input"
            }
        );
        assert_eq!(
            e.to_string(),
            "filter 32000 (lzf) is required but declined the chunk: \
             LZF output would not be smaller than the input"
        );
        // missing flags count as required
        assert!(r
            .encode_chunk(&[fp(id::LZF, &lzf)], &[], noise(4000))
            .is_err());
    }

    #[test]
    fn unsupported_filters_are_named_as_the_registry_names_them() {
        let r = Registry::with_builtins();
        for (id, name) in [
            (32017, "sz"),
            (32018, "fcidecomp"),
            (32028, "sperr"),
            (32024, "sz3"),
        ] {
            let e = r
                .decode_chunk(&[fp(id, &[])], 0, vec![1, 2, 3], 3)
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("filter {id} ({name}) is not supported")
            );
        }
        assert_eq!(name_of(40000), "unregistered");
    }

    /// The plugin codecs (as the features build them): round trips, and damaged chunks give an
    /// error naming the filter, never a panic or more output than the chunk's size.
    #[test]
    fn plugin_codecs_round_trip_and_refuse_damage() {
        let r = Registry::with_builtins();
        let mut codecs: Vec<(u16, Vec<u32>)> = Vec::new();
        if cfg!(feature = "lz4") {
            codecs.push((id::LZ4, vec![0]));
            codecs.push((id::LZ4, vec![1000])); // several blocks
        }
        if cfg!(feature = "zstd") {
            codecs.push((id::ZSTD, vec![3]));
        }
        if cfg!(feature = "bzip2") {
            codecs.push((id::BZIP2, vec![9]));
            codecs.push((id::BZIP2, vec![1]));
        }
        for (fid, cd) in &codecs {
            let p = [fp(*fid, cd)];
            for data in [smooth(4000), noise(3000), Vec::new(), vec![7]] {
                let (z, mask) = r.encode_chunk(&p, &[true], data.clone()).unwrap();
                assert_eq!(mask, 0, "{fid} declined");
                let back = r.decode_chunk(&p, 0, z.clone(), data.len()).unwrap();
                assert_eq!(
                    back,
                    data,
                    "{fid} {cd:?} round trip of {} bytes",
                    data.len()
                );
                if data.len() < 100 {
                    continue;
                }
                // a smaller expected size than the data: refused, not overrun
                let e = r
                    .decode_chunk(&p, 0, z.clone(), data.len() / 2)
                    .unwrap_err();
                assert!(e.to_string().contains(name_of(*fid)), "{e}");
                // truncations and flipped bytes: errors or (rarely) other bytes, never a panic
                for cut in [0, 1, 4, 11, 12, 13, z.len() / 2, z.len() - 1] {
                    let e = r
                        .decode_chunk(&p, 0, z[..cut].to_vec(), data.len())
                        .unwrap_err();
                    assert!(
                        e.to_string().contains(name_of(*fid)),
                        "{fid} cut {cut}: {e}"
                    );
                }
                for at in (0..z.len()).step_by(z.len() / 37 + 1) {
                    let mut bad = z.clone();
                    bad[at] ^= 0x5a;
                    if let Ok(out) = r.decode_chunk(&p, 0, bad, data.len()) {
                        assert_eq!(out.len(), data.len());
                    }
                }
            }
        }
        if cfg!(feature = "lz4") {
            // a header that claims more than the chunk holds
            let mut lying = (1u64 << 40).to_be_bytes().to_vec();
            lying.extend(1u32.to_be_bytes());
            let e = r
                .decode_chunk(&[fp(id::LZ4, &[])], 0, lying, 100)
                .unwrap_err();
            assert!(matches!(e, Error::TooLarge { id: id::LZ4, .. }), "{e}");
        }
    }

    #[test]
    fn unknown_filters_on_write() {
        let r = Registry::with_builtins();
        let pipeline = [fp(32017, &[]), fp(id::DEFLATE, &[1])];
        let data = smooth(4000);
        // optional: skipped like libhdf5 does, its bit set
        let (z, mask) = r
            .encode_chunk(&pipeline, &[true, true], data.clone())
            .unwrap();
        assert_eq!(mask, 0b01);
        assert_eq!(r.decode_chunk(&pipeline, mask, z, 4000).unwrap(), data);
        // required: cannot write
        assert_eq!(
            r.encode_chunk(&pipeline, &[false, true], data).unwrap_err(),
            Error::Unsupported {
                id: 32017,
                name: "sz"
            }
        );
    }

    #[test]
    fn invalid_params_fail_even_when_optional() {
        let r = Registry::with_builtins();
        let e = r
            .encode_chunk(&[fp(id::DEFLATE, &[12])], &[true], vec![1, 2, 3])
            .unwrap_err();
        assert!(matches!(e, Error::InvalidParams { id: 1, .. }));
    }

    /// A filter that only decodes (the trait's default encode).
    struct DecodeOnly;
    impl Filter for DecodeOnly {
        fn id(&self) -> u16 {
            307
        }
        fn decode(&self, _: &FilterParams<'_>, input: Vec<u8>, _: usize) -> Result<Vec<u8>> {
            Ok(input)
        }
    }

    #[test]
    fn decode_only_filters_decline() {
        let mut r = Registry::with_builtins();
        r.register(Box::new(DecodeOnly));
        let pipeline = [fp(id::SHUFFLE, &[4]), fp(307, &[])];
        let (z, mask) = r
            .encode_chunk(&pipeline, &[true, true], smooth(64))
            .unwrap();
        assert_eq!(mask, 0b10);
        assert_eq!(z, shuffle::shuffle(&smooth(64), 4));
        let e = r
            .encode_chunk(&pipeline, &[true, false], smooth(64))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "filter 307 (bzip2) is required but declined the chunk: \
             this build has no encoder for the filter"
        );
    }

    #[test]
    fn filters_past_the_32nd_have_no_mask_bit() {
        let r = Registry::with_builtins();
        let lzf = lzf::h5py_client_data(400);
        let mut pipeline = vec![fp(id::SHUFFLE, &[1]); 32];
        pipeline.push(fp(id::LZF, &lzf));
        let optional = vec![true; 33];
        // shuffle of 1-byte elements never declines; the 33rd (LZF) would need bit 32
        assert!(matches!(
            r.encode_chunk(&pipeline, &optional, noise(400)),
            Err(Error::Declined { id: id::LZF, .. })
        ));
        let (z, mask) = r.encode_chunk(&pipeline, &optional, vec![0; 400]).unwrap();
        assert_eq!(mask, 0);
        assert_eq!(r.decode_chunk(&pipeline, 0, z, 400).unwrap(), [0; 400]);
    }

    #[test]
    fn encoded_into_inner() {
        assert_eq!(Encoded::Data(vec![1]).into_inner(), [1]);
        let d = Encoded::Declined {
            data: vec![2],
            why: "",
        };
        assert_eq!(d.into_inner(), [2]);
    }

    #[test]
    fn decoding_into_a_buffer_equals_decoding() {
        let r = Registry::with_builtins();
        let data: Vec<u8> = (0..4000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let pipelines: [&[(u16, &[u32])]; 4] = [
            &[(id::DEFLATE, &[6])],
            &[(id::SHUFFLE, &[4]), (id::DEFLATE, &[1])],
            &[
                (id::SHUFFLE, &[4]),
                (id::DEFLATE, &[4]),
                (id::FLETCHER32, &[]),
            ],
            &[(id::LZF, &[])],
        ];
        for spec in pipelines {
            let pipeline: Vec<FilterParams<'_>> = spec.iter().map(|&(i, cd)| fp(i, cd)).collect();
            let optional = vec![true; pipeline.len()];
            let (stored, mask) = r.encode_chunk(&pipeline, &optional, data.clone()).unwrap();
            let mut out = vec![0u8; data.len()];
            r.decode_chunk_into(&pipeline, mask, stored.clone(), &mut out)
                .unwrap();
            assert_eq!(out, data, "{spec:?}");
            // every filter skipped (mask): the stored bytes must be the chunk
            let all = (1u32 << pipeline.len()) - 1;
            r.decode_chunk_into(&pipeline, all, data.clone(), &mut out)
                .unwrap();
            // a buffer of the wrong size is an error, never a partial or overlong write
            for len in [data.len() - 1, data.len() + 1] {
                let mut wrong = vec![0u8; len];
                assert!(
                    r.decode_chunk_into(&pipeline, mask, stored.clone(), &mut wrong)
                        .is_err(),
                    "{spec:?} into {len}"
                );
            }
            // damaged streams are errors
            let mut cut = stored.clone();
            cut.truncate(stored.len() / 2);
            assert!(r.decode_chunk_into(&pipeline, mask, cut, &mut out).is_err());
        }
    }
}

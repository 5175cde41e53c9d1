//! # h5 — HDF5 in pure Rust
//!
//! Read, write and edit the files h5py and libhdf5 make, with no C anywhere. Files are read
//! lazily through a positional [`Storage`] (files, memory, memory maps), so opening a 10 GB
//! file reads a few hundred bytes; [`File`] is `Send + Sync` and many threads may read it at
//! once. Every Rust type an element can be — numbers, `bool`, [`half::f16`],
//! [`num_complex::Complex`], strings, arrays, variable-length sequences, and your structs and
//! enums through `#[derive(h5::H5Type)]` — goes through one trait, [`H5Type`].
//!
//! ## Writing
//!
//! ```
//! use h5::ndarray::{arr2, Array2};
//!
//! #[derive(h5::H5Type, Debug, PartialEq)]
//! struct Hit { channel: u16, energy: f64 }
//!
//! # let dir = std::env::temp_dir().join(format!("h5-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("run.h5");
//! let f = h5::File::create(&path)?;                        // h5py.File(path, "w")
//! f.create_dataset("grid", &arr2(&[[1.0, 2.0], [3.0, 4.0]]))?;
//! let mut frames = f
//!     .new_dataset::<u16>()
//!     .shape(&[0, 64])
//!     .maxshape(&[None, Some(64)])                         // unlimited along axis 0
//!     .chunks(&[16, 64])
//!     .deflate(4)                                          // compression="gzip"
//!     .create("detector/frames")?;                         // makes the group too
//! frames.resize(&[10, 64])?;
//! frames.write_slice((2..4, ..), 7u16)?;                   // dset[2:4, :] = 7
//! f.create_dataset("hits", &[Hit { channel: 3, energy: 1.5 }])?;
//! f.attrs().set("operator", "Ada")?;                       // f.attrs["operator"] = "Ada"
//! f.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Reading
//!
//! ```
//! # #[derive(h5::H5Type, Debug, PartialEq)]
//! # struct Hit { channel: u16, energy: f64 }
//! # let dir = std::env::temp_dir().join(format!("h5-doc-r-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("run.h5");
//! # { let f = h5::File::create(&path)?;
//! #   f.create_dataset("grid", &h5::ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]))?;
//! #   f.new_dataset::<u16>().shape(&[10, 64]).chunks(&[5, 64]).create("detector/frames")?
//! #       .write_slice((2..4, ..), 7u16)?;
//! #   f.create_dataset("hits", &[Hit { channel: 3, energy: 1.5 }])?;
//! #   f.attrs().set("operator", "Ada")?; f.close()?; }
//! let f = h5::File::open(&path)?;                          // h5py.File(path, "r")
//! let grid = f.dataset("grid")?.read::<f64>()?;            // an ndarray::ArrayD<f64>
//! assert_eq!(grid[[1, 0]], 3.0);
//! let frames = f.dataset("detector/frames")?;
//! let part = frames.read_slice::<u16>(h5::s![2..4, ..8])?; // only those chunks are read
//! assert_eq!(part.shape(), [2, 8]);
//! assert_eq!(f.dataset("hits")?.read_vec::<Hit>()?, [Hit { channel: 3, energy: 1.5 }]);
//! assert_eq!(f.attrs().get::<String>("operator")?, "Ada");
//! f.visit(|name| println!("{name}"))?;                     // f.visit(print)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Selections are anything [`Selection`] converts from: `2`, `2..5`, `(1, ..)`,
//! `s![.., ..;2]`, point lists, boolean masks, or numpy's text (`"3, 100:164, ::2"`). Writes
//! broadcast as numpy does. Values of types known only at run time go through [`Value`]
//! ([`Dataset::read_values`], [`Dataset::write_values`], [`Attributes::set_value`]).
//!
//! Features: `mmap` (default) adds [`File::open_mmap`].
#![deny(unsafe_code)]
#![warn(missing_docs, clippy::missing_errors_doc)]

mod api;
mod base;
mod error;
mod limits;
mod read;
pub mod storage;
mod write;

pub use api::dataset::ChunkInfo;
pub use api::file::{CreateOptions, Locking, OpenOptions};
pub use api::group::Visit;
pub use api::handles::{
    AllocTime, Attribute, Attributes, Dataset, DatasetBuilder, File, FillTime, Group, LayoutKind,
    NamedDatatype, Node,
};
pub use base::ObjectKind;
pub use error::{Error, Result};
/// The former name of `#[derive(h5::H5Type)]`, for structs.
pub use h5_derive::Compound;
/// `#[derive(h5::H5Type)]`: a struct with named fields as a compound (see [`compound!`]), a
/// fieldless `#[repr(int)]` enum as an HDF5 enum (see [`h5_enum!`]).
pub use h5_derive::H5Type;
/// The filter pipeline's codecs (the `h5-filters` crate): [`filters::Filter`] to write your
/// own, [`filters::Registry`] to hand it to [`OpenOptions::filters`].
pub use h5_filters as filters;
/// The name of a filter id: libhdf5's for its own filters, the HDF Group's registry's for
/// plugins (`h5::filter_name(32015) == "zstd"`).
pub use h5_filters::name_of as filter_name;
pub use h5_format::message::datatype::{ByteOrder, Charset, Datatype, Member, RefKind, StrPad};
pub use h5_format::message::filter_pipeline::FilterInfo;
/// Half-precision floats (numpy's float16).
pub use half;
pub use limits::Limits;
/// The n-dimensional arrays every read returns and every write takes (ndarray 0.16).
pub use ndarray;
/// ndarray's slice macro: `ds.read_slice::<f64>(h5::s![.., 2..10;2])`.
pub use ndarray::s;
/// Complex numbers (h5py's complex64 / complex128).
pub use num_complex;
#[doc(hidden)]
pub use read::element::{put, when_equal, FieldPlan, Fixed, Numeric, Plain, PlanFn};
pub use read::element::{FixedAscii, FixedUtf8, H5Type};
pub use read::links::{Link, LinkKind};
pub use read::selection::{Batches, Selection, SliceArg};
pub use read::types;
pub use read::value::{Region, Value};
pub use storage::Storage;
pub use write::elements::Elements;
pub use write::LibVer;

/// What tools built on `h5` (like the `h5` command) need below the public API: the format's
/// decoders themselves and the numeric decoding of stored bytes. Not needed to read or write
/// files; expect it to change more often than the rest.
pub mod raw {
    /// Decoders and structures of the format itself (the `h5-format` crate).
    pub use h5_format as format;

    pub use crate::read::convert::{decode_scalar, Scalar};
    pub use crate::read::value::{charset, is_bool, is_complex_compound};
}

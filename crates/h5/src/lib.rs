//! # h5 — HDF5 in pure Rust
//!
//! Read the files h5py and libhdf5 write, with no C anywhere. Files are read lazily through a
//! positional [`Storage`] (files, memory, memory maps), so opening a 10 GB file reads a few
//! hundred bytes; [`File`] is `Send + Sync` and many threads may read it at once.
//!
//! ```no_run
//! use h5::{File, Selection};
//! let f = File::open("data.h5")?;
//! let ds = f.dataset("group/values")?;
//! let all: ndarray::ArrayD<f64> = ds.read()?;
//! let part: ndarray::ArrayD<f64> = ds.read_slice(&Selection::parse("3, 100:164, ::2")?)?;
//! for name in f.root()?.member_names()? {
//!     println!("{name}");
//! }
//! # Ok::<(), h5::Error>(())
//! ```
//!
//! Features: `mmap` (default) adds [`File::open_mmap`].
#![deny(unsafe_code)]

mod api;
mod error;
mod limits;
mod raw;
mod read;
pub mod storage;
mod write;

pub use api::dataset::ChunkInfo;
pub use api::file::{CreateOptions, Locking, OpenOptions};
pub use api::handles::{
    AllocTime, Attribute, Attributes, Dataset, DatasetBuilder, File, FillTime, Group, LayoutKind,
    NamedDatatype, Node,
};
pub use error::{Error, Result};
/// The former name of `#[derive(h5::H5Type)]`, for structs.
pub use h5_derive::Compound;
/// `#[derive(h5::H5Type)]`: a struct with named fields as a compound (see [`compound!`]), a
/// fieldless `#[repr(int)]` enum as an HDF5 enum (see [`h5_enum!`]).
pub use h5_derive::H5Type;
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
pub use raw::ObjectKind;
pub use read::convert::{decode_scalar, Scalar};
#[doc(hidden)]
pub use read::element::Numeric;
pub use read::element::{FixedAscii, FixedUtf8, H5Type};
pub use read::links::{Link, LinkKind};
pub use read::selection::{Batches, Selection, SliceArg};
pub use read::types;
pub use read::value::{charset, is_bool, is_complex_compound, Region, Value};
pub use storage::Storage;
pub use write::elements::Elements;
pub use write::LibVer;

/// Decoders and structures of the format itself.
pub use h5_format as format;

//! # h5-format
//!
//! Sans-IO decoders for the HDF5 file format: pure functions from bytes (plus the file
//! address of their first byte and the file's [`Sizes`]) to typed structures. Nothing here
//! knows about files, threads or allocation strategy; the `h5` crate walks structures by
//! reading the bytes each decoder asks for.
//!
//! Builds `no_std` + `alloc` (disable the default `std` feature).
//!
//! Every structure lives in one module named after its spec section. Every error names the
//! structure and the file offset ([`Error`]).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod btree1;
pub mod btree2;
pub mod cache_image;
pub mod chunk_array;
pub mod error;
pub mod extensible_array;
pub mod fixed_array;
pub mod fractal_heap;
pub mod global_heap;
pub mod local_heap;
pub mod lookup3;
pub mod message;
pub mod object_header;
pub mod reader;
pub mod selection;
pub mod superblock;
pub mod symbol_table;
pub mod vds;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
pub use reader::{Addr, Reader, Sizes};
pub use writer::{Stored, Writer};

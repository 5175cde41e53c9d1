//! # h5-format
//!
//! Sans-IO decoders for the HDF5 file format: pure functions from bytes (plus the file
//! address of their first byte and the file's [`Sizes`]) to typed structures. Nothing here
//! knows about files, threads or allocation strategy; the `h5` crate walks structures by
//! reading the bytes each decoder asks for.
//!
//! Builds `no_std` + `alloc` (disable the default `std` feature).
//!
//! Every structure lives in one module named after its spec section (the big ones are
//! folders: header, blocks, ids or records, and `edit/` for the model that edits them in
//! memory). Every error names the structure and the file offset ([`Error`]).
//!
//! | module | what it decodes (and encodes) |
//! |---|---|
//! | [`reader`], [`writer`] | the cursor every decoder reads with ([`Reader::prologue`]: signature and versions); the encoder and [`Stored`] |
//! | [`superblock`] | superblocks v0–v3 and the superblock extension |
//! | [`object_header`] | v1 and v2 object headers, their chunks and messages |
//! | [`message`] | every header message (dataspace, datatype, layout, fill value, filter pipeline, links, attributes, …) |
//! | [`local_heap`], [`global_heap`], [`symbol_table`], [`btree1`] | the default format's groups and chunk index |
//! | [`fractal_heap`], [`btree2`] | dense links and attributes, v2 B-tree chunk indexes |
//! | [`fixed_array`], [`extensible_array`], [`chunk_array`] | the latest format's chunk indexes and what they share |
//! | [`selection`], [`vds`] | dataspace selections (region references, virtual datasets) and the virtual dataset global heap block |
//! | [`cache_image`], [`lookup3`] | the metadata cache image; Jenkins' lookup3 checksum |
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(clippy::missing_errors_doc)]

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

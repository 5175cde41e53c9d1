//! Fixed Array chunk index (spec VII.C "The Fixed Array Index"; layout message v4/v5, index
//! type 3): a header (`FAHD`) pointing to one data block (`FADB`) that holds one element per
//! chunk, split into individually checksummed pages when there are more than
//! 2^`page_bits` elements.
//!
//! Decoders here are pure functions over the bytes of **one** block whose first byte sits at a
//! known file address. The caller does the I/O:
//!
//! 1. read [`Header::size`] bytes at the header address and call [`Header::decode`];
//! 2. read [`Header::data_block_size`] bytes at [`Header::data_block_addr`] and call
//!    [`DataBlock::decode`]; when the block is not paged it holds every element;
//! 3. when it is paged ([`Header::is_paged`]), for each page `p` in `0..npages()` whose bit is
//!    set ([`DataBlock::page_initialised`]), read [`Header::page_size`]`(p)` bytes at
//!    [`Header::page_addr`]`(data_block_addr, sizes, p)` and call [`decode_page`]. A page whose
//!    bit is clear was never written: all its chunks are unallocated.
//!
//! [`Header::element_position`] maps a chunk index to its page and slot.
//!
//! Addresses passed to these decoders must be in the same address space as the addresses the
//! file stores (the data block's "header address" field is compared with [`Header::addr`]).
//!
//! [`ChunkElement`] and [`ElementFormat`] are shared with the extensible array
//! ([`crate::extensible_array`]); they live in [`crate::chunk_array`].
//!
//! # Editing
//!
//! Every structure has an `encode` beside its `decode`. [`FixedArrayEdit`] is the editing model:
//! [`FixedArrayEdit::new`] (from [`FixedArrayParams`], e.g. [`FixedArrayParams::default_for`] with libhdf5's
//! parameters) or [`FixedArrayEdit::load`], then [`FixedArrayEdit::set`] / [`FixedArrayEdit::clear`], then
//! [`FixedArrayEdit::store`], which allocates new blocks through the caller's allocator and returns
//! a [`Stored`](crate::writer::Stored) with the blocks to write. It creates and fills blocks exactly as libhdf5 does,
//! so libhdf5 can keep writing chunks into an array it stored.

mod data_block;
mod edit;
mod header;
#[cfg(test)]
mod tests;

pub use crate::chunk_array::{
    filtered_chunk_size_len, page_initialised, ChunkElement, ElementFormat, CLIENT_FILTERED_CHUNKS,
    CLIENT_UNFILTERED_CHUNKS, MAX_EDIT_BLOCK_BYTES,
};
pub use data_block::{decode_page, encode_page, DataBlock};
pub use edit::{FixedArrayEdit, FixedArrayParams};
pub use header::{ElementPosition, Header};

/// Signature of a fixed array header.
pub const HEADER_SIGNATURE: [u8; 4] = *b"FAHD";
/// Signature of a fixed array data block.
pub const DATA_BLOCK_SIGNATURE: [u8; 4] = *b"FADB";

const HEADER_NAME: &str = "fixed array header";
const DATA_BLOCK_NAME: &str = "fixed array data block";
const PAGE_NAME: &str = "fixed array data block page";

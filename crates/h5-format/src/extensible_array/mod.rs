//! Extensible Array chunk index (spec VII.D "The Extensible Array Index"; layout message v4/v5,
//! index type 4, datasets with exactly one unlimited dimension).
//!
//! An array is a header (`EAHD`), an index block (`EAIB`) holding the first elements directly
//! plus the addresses of the first data blocks and of the secondary ("super") blocks
//! (`EASB`), which in turn hold data block (`EADB`) addresses. Large data blocks are split into
//! individually checksummed pages that follow the data block; super blocks keep a bitmap of
//! which pages were initialised.
//!
//! The spec gives the layouts but not the sizing arithmetic; [`Geometry`] computes it the way
//! libhdf5 does. With `m` = data block minimum elements and super block index `u`:
//!
//! * `nsblks = 1 + max_nelmts_bits - log2(m)` super blocks;
//! * super block `u` holds `ndblks(u) = 2^(u/2)` data blocks of `dblk_nelmts(u) =
//!   2^((u+1)/2) · m` elements each, so it covers `2^u · m` elements starting at
//!   `start_idx(u) = (2^u - 1) · m` (indices counted after the index block's own elements);
//! * the first `iblock_nsblks = 2 · log2(sup_blk_min_data_ptrs)` super blocks are not stored:
//!   their `2 · (sup_blk_min_data_ptrs - 1)` data block addresses sit in the index block,
//!   followed by the addresses of the remaining `nsblks - iblock_nsblks` super blocks.
//!
//! Decoders are pure functions over the bytes of **one** block whose first byte sits at a
//! known file address. The caller reads [`Header::size`] bytes for the header,
//! [`Header::index_block_size`] for the index block, [`Header::super_block_size`] for a super
//! block, [`Header::data_block_size`] for a data block and [`Header::page_size`] for a page at
//! [`Header::page_addr`]. [`Header::locate`] maps one element index to its block;
//! [`Header::blocks`] lists every block that can hold elements below a given count, in order.
//!
//! Page-initialised bitmaps live only in super blocks (one bit per page, numbered
//! `dblk · dblk_npages + page`, MSB-first; see [`SuperBlock::page_initialised`]); a page whose
//! bit is clear was never written and holds no allocated chunk. Data blocks addressed directly
//! by the index block have no bitmap; with the parameters libhdf5 uses for chunk indexes they
//! are never paged (at most 64 elements against pages of 1024).
//!
//! Addresses passed to these decoders must be in the same address space as the addresses the
//! file stores (every block's "header address" field is compared with [`Header::addr`]).
//!
//! # Editing
//!
//! Every structure has an `encode` beside its `decode`. [`ExtensibleArrayEdit`] is the editing model:
//! [`ExtensibleArrayEdit::new`] (from [`ExtensibleArrayParams`], e.g. [`ExtensibleArrayParams::default_for`] with libhdf5's
//! parameters) or [`ExtensibleArrayEdit::load`], then [`ExtensibleArrayEdit::set`] (growing the array),
//! [`ExtensibleArrayEdit::clear`] / [`ExtensibleArrayEdit::truncate`], then [`ExtensibleArrayEdit::store`], which allocates
//! new blocks through the caller's allocator and returns a [`Stored`](crate::writer::Stored) with the blocks to
//! write. It creates blocks, pages and header statistics exactly as libhdf5 does, so libhdf5
//! can keep writing chunks into an array it stored.

mod blocks;
mod edit;
mod geometry;
mod header;
#[cfg(test)]
mod tests;

pub use blocks::{decode_page, encode_page, DataBlock, IndexBlock, SuperBlock};
pub use edit::{ExtensibleArrayEdit, ExtensibleArrayParams};
pub use geometry::{Geometry, SuperBlockInfo};
pub use header::{Block, Blocks, Header, Location, Stats};

/// Signature of an extensible array header.
pub const HEADER_SIGNATURE: [u8; 4] = *b"EAHD";
/// Signature of an extensible array index block.
pub const INDEX_BLOCK_SIGNATURE: [u8; 4] = *b"EAIB";
/// Signature of an extensible array secondary (super) block.
pub const SUPER_BLOCK_SIGNATURE: [u8; 4] = *b"EASB";
/// Signature of an extensible array data block.
pub const DATA_BLOCK_SIGNATURE: [u8; 4] = *b"EADB";

/// The largest number of super blocks a [`Geometry`] may have (`max_nelmts_bits` ≤ 63).
pub const MAX_SUPER_BLOCKS: usize = 64;

const HEADER_NAME: &str = "extensible array header";
const INDEX_BLOCK_NAME: &str = "extensible array index block";
const SUPER_BLOCK_NAME: &str = "extensible array secondary block";
const DATA_BLOCK_NAME: &str = "extensible array data block";
const PAGE_NAME: &str = "extensible array data block page";

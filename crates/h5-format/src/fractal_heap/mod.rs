//! Fractal heap (spec III.G): the header (`FRHP`), indirect blocks (`FHIB`), direct blocks
//! (`FHDB`), heap IDs, and the doubling-table arithmetic that maps a heap offset to the block
//! holding it.
//!
//! A fractal heap stores variable-size objects (the link messages of a dense group, the
//! attribute messages of dense attribute storage, shared messages) in a linear *heap address
//! space* cut into direct blocks by a *doubling table*. Every indirect block has
//! [`Header::table_width`] columns; the blocks of rows 0 and 1 are
//! [`Header::start_block_size`] bytes and every later row doubles that; rows whose blocks
//! would be larger than [`Header::max_direct_block_size`] point to child indirect blocks,
//! which repeat the same table on a smaller scale.
//!
//! Everything here is sans-IO. To fetch the managed object a heap ID names, the caller:
//!
//! 1. decodes the [`Header`] and the ID ([`HeapId::decode`]), giving a heap offset and length;
//! 2. if [`Header::current_root_rows`] is 0, the root is a single direct block of
//!    [`Header::start_block_size`] bytes starting at heap offset 0; otherwise it reads
//!    [`Header::indirect_block_size`]`(current_root_rows)` bytes at [`Header::root_addr`],
//!    decodes an [`IndirectBlock`] (block offset 0) and asks [`locate`] which entry holds the
//!    offset, descending through child indirect blocks until [`locate`] answers
//!    [`Slot::Direct`];
//! 3. reads that direct block, checks it with [`check_direct_block`] and slices the object out
//!    with [`object_range`].
//!
//! Every size derived from the header is computed with checked arithmetic; a header that
//! passes [`Header::decode`] cannot make any method here overflow or allocate more than the
//! bytes it was given.
//!
//! A *huge* object (larger than [`Header::max_managed_obj_size`]) lives on its own in the
//! file, outside the heap's blocks. Its ID either holds its address and length
//! ([`HeapId::HugeDirect`], when the ID is long enough) or a key ([`HeapId::HugeIndirect`])
//! to look up in the heap's v2 B-tree of huge objects ([`Header::huge_btree_addr`]; record
//! type 1, or 2 with I/O filters, whose records give the address and length). The 7- and
//! 8-byte IDs of dense links and attributes are too short for an address and a length, so
//! libhdf5 writes keys there.
//!
//! [`HeapEdit`] is the editing model the writer uses for dense links and dense attributes:
//! it starts a heap from [`HeapParams`] or loads one, inserts, reads, overwrites and removes
//! objects where libhdf5 would put them, and stores what changed as a [`Stored`](crate::writer::Stored). The
//! encoders ([`Header::encode`], [`IndirectBlock::encode`], [`seal_direct_block`]) mirror
//! the decoders.

mod blocks;
mod edit;
mod header;
mod ids;
#[cfg(test)]
mod tests;

pub use blocks::{
    check_direct_block, locate, object_range, seal_direct_block, DirectEntry, IndirectBlock, Slot,
};
pub use edit::{HeapEdit, HeapParams, MAX_EDIT_DIRECT_BLOCK_SIZE};
pub use header::Header;
pub use ids::HeapId;

const HEADER: &str = "fractal heap header";
const INDIRECT: &str = "fractal heap indirect block";
const DIRECT: &str = "fractal heap direct block";
const HEAP_ID: &str = "fractal heap ID";
const TABLE: &str = "fractal heap doubling table";
const FSM: &str = "free-space manager header";
const HUGE: &str = "fractal heap huge object";
const HUGE_TREE: &str = "fractal heap huge object B-tree";

/// v2 B-tree record type of indirectly accessed, unfiltered huge objects.
const HUGE_RECORD_TYPE: u8 = 1;

/// Header flag bit 0: the "next huge object ID" counter has wrapped around.
pub const FLAG_HUGE_IDS_WRAPPED: u8 = 0x01;
/// Header flag bit 1: direct blocks carry a checksum.
pub const FLAG_CHECKSUMMED_DIRECT_BLOCKS: u8 = 0x02;

/// Heap IDs up to this many bytes encode tiny objects in the "normal" form (4-bit length);
/// longer IDs use the "extended" form (12-bit length over two bytes).
const TINY_NORMAL_MAX_ID_LEN: usize = 18;

/// Signature + version + checksum of an indirect block (the fixed part besides the header
/// address and block offset).
const INDIRECT_FIXED: u64 = 4 + 1 + 4;

/// floor(log2(x)), with log2(0) taken as 0 (as libhdf5 does).
fn log2_floor(x: u64) -> u32 {
    if x == 0 {
        0
    } else {
        63 - x.leading_zeros()
    }
}

/// libhdf5's `limit_enc_size`: the bytes used to encode values bounded by `x`,
/// `floor(log2(x)) / 8 + 1`.
fn limit_enc_size(x: u64) -> usize {
    (log2_floor(x) / 8 + 1) as usize
}

/// `2^bits`, or `None` when that does not fit a `u64`.
fn pow2(bits: u32) -> Option<u64> {
    1u64.checked_shl(bits)
}

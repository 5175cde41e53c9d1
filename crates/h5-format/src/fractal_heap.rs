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
//! objects where libhdf5 would put them, and stores what changed as a [`Stored`]. The
//! encoders ([`Header::encode`], [`IndirectBlock::encode`], [`seal_direct_block`]) mirror
//! the decoders.

use alloc::collections::{btree_map, BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use crate::btree2::{self, TreeEdit};
use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::{le_uint, Reader, Sizes};
use crate::writer::{Stored, Writer};

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

/// A fractal heap header (`FRHP`, version 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// File address of the header itself (every block of the heap points back to it).
    pub addr: u64,
    /// Offset and length widths of the file the header was decoded with.
    pub sizes: Sizes,
    /// Length in bytes of every heap ID of this heap.
    pub heap_id_len: u16,
    /// Length in bytes of the encoded I/O filter pipeline (0: no filters).
    pub io_filters_len: u16,
    /// Status flags ([`FLAG_HUGE_IDS_WRAPPED`], [`FLAG_CHECKSUMMED_DIRECT_BLOCKS`]).
    pub flags: u8,
    /// Objects larger than this are stored as "huge" objects outside the managed blocks.
    pub max_managed_obj_size: u32,
    /// The next ID to hand out for a huge object.
    pub next_huge_id: u64,
    /// Address of the v2 B-tree indexing huge objects, if any.
    pub huge_btree_addr: Option<u64>,
    /// Free space in managed direct blocks, in bytes.
    pub free_space: u64,
    /// Address of the free-space manager for managed blocks, if any.
    pub fsm_addr: Option<u64>,
    /// Size of the managed heap address space in use (upper bound of managed offsets).
    pub managed_space: u64,
    /// Managed space actually allocated to direct blocks.
    pub allocated_managed_space: u64,
    /// Heap offset at which the next direct block will be allocated.
    pub alloc_iter_offset: u64,
    /// Number of managed objects.
    pub managed_count: u64,
    /// Total size of huge objects.
    pub huge_size: u64,
    /// Number of huge objects.
    pub huge_count: u64,
    /// Total size of tiny objects (stored inside their IDs).
    pub tiny_size: u64,
    /// Number of tiny objects.
    pub tiny_count: u64,
    /// Columns of the doubling table (a power of two).
    pub table_width: u16,
    /// Size of the blocks in rows 0 and 1 (a power of two).
    pub start_block_size: u64,
    /// Largest direct block (a power of two, at least `start_block_size`).
    pub max_direct_block_size: u64,
    /// log2 of the size of the heap address space, in bits (1..=64).
    pub max_heap_bits: u16,
    /// Rows the root indirect block starts with (0: as many as the heap can need).
    pub start_root_rows: u16,
    /// Address of the root block, `None` for an empty heap.
    pub root_addr: Option<u64>,
    /// Rows of the root indirect block; 0 means the root block is a direct block.
    pub current_root_rows: u16,
    /// Size of the root direct block after filtering (only with I/O filters).
    pub filtered_root_size: Option<u64>,
    /// Filter mask of the root direct block (only with I/O filters).
    pub root_filter_mask: Option<u32>,
    /// The raw filter pipeline message (`io_filters_len` bytes; empty without filters).
    pub filter_pipeline: Vec<u8>,
}

impl Header {
    /// Decode a fractal heap header from `buf`, whose first byte is at file address `addr`.
    ///
    /// Verifies the signature, version 0 and the checksum, then the doubling-table
    /// parameters: the table width, starting block size and maximum direct block size are
    /// powers of two with start ≤ maximum, the heap address space has 1..=64 bits and is at
    /// least one table row wide, and the root row counts fit the heap.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`, or `Invalid` naming the
    /// first inconsistent field.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Header> {
        let mut r = Reader::new(buf, addr, sizes, HEADER);
        r.signature(b"FRHP")?;
        let version_at = r.addr();
        let version = r.u8()?;
        if version != 0 {
            return Err(Error::new(
                HEADER,
                version_at,
                ErrorKind::BadVersion(version),
            ));
        }
        let id_len_at = r.addr();
        let heap_id_len = r.u16()?;
        let io_filters_len = r.u16()?;
        let flags = r.u8()?;
        let max_managed_obj_size = r.u32()?;
        let next_huge_id = r.length()?;
        let huge_btree_addr = r.offset()?;
        let free_space = r.length()?;
        let fsm_addr = r.offset()?;
        let managed_space_at = r.addr();
        let managed_space = r.length()?;
        let allocated_managed_space = r.length()?;
        let alloc_iter_offset = r.length()?;
        let managed_count = r.length()?;
        let huge_size = r.length()?;
        let huge_count = r.length()?;
        let tiny_size = r.length()?;
        let tiny_count = r.length()?;
        let width_at = r.addr();
        let table_width = r.u16()?;
        let start_at = r.addr();
        let start_block_size = r.length()?;
        let max_direct_at = r.addr();
        let max_direct_block_size = r.length()?;
        let bits_at = r.addr();
        let max_heap_bits = r.u16()?;
        let start_rows_at = r.addr();
        let start_root_rows = r.u16()?;
        let root_addr = r.offset()?;
        let rows_at = r.addr();
        let current_root_rows = r.u16()?;
        let (filtered_root_size, root_filter_mask, filter_pipeline) = if io_filters_len > 0 {
            let size = r.length()?;
            let mask = r.u32()?;
            let pipeline = r.bytes(usize::from(io_filters_len))?.to_vec();
            (Some(size), Some(mask), pipeline)
        } else {
            (None, None, Vec::new())
        };
        r.checksum(0)?;

        let bad = |at: u64, what: &'static str| Err(Error::invalid(HEADER, at, what));
        if heap_id_len == 0 {
            return bad(id_len_at, "heap ID length");
        }
        if !table_width.is_power_of_two() {
            return bad(width_at, "table width (not a power of two)");
        }
        if !start_block_size.is_power_of_two() {
            return bad(start_at, "starting block size (not a power of two)");
        }
        if !max_direct_block_size.is_power_of_two() || max_direct_block_size < start_block_size {
            return bad(max_direct_at, "maximum direct block size");
        }
        if !(1..=64).contains(&max_heap_bits) {
            return bad(bits_at, "maximum heap size (bits)");
        }
        let first_row_bits = start_block_size.trailing_zeros() + table_width.trailing_zeros();
        if first_row_bits > u32::from(max_heap_bits) {
            return bad(
                bits_at,
                "maximum heap size (smaller than the first table row)",
            );
        }
        let max_root_rows = u32::from(max_heap_bits) - first_row_bits + 1;
        if u32::from(start_root_rows) > max_root_rows {
            return bad(start_rows_at, "starting # of rows in root indirect block");
        }
        if u32::from(current_root_rows) > max_root_rows {
            return bad(rows_at, "current # of rows in root indirect block");
        }
        if max_heap_bits < 64 && managed_space > 1u64 << max_heap_bits {
            return bad(
                managed_space_at,
                "amount of managed space (beyond the heap size)",
            );
        }

        Ok(Header {
            addr,
            sizes,
            heap_id_len,
            io_filters_len,
            flags,
            max_managed_obj_size,
            next_huge_id,
            huge_btree_addr,
            free_space,
            fsm_addr,
            managed_space,
            allocated_managed_space,
            alloc_iter_offset,
            managed_count,
            huge_size,
            huge_count,
            tiny_size,
            tiny_count,
            table_width,
            start_block_size,
            max_direct_block_size,
            max_heap_bits,
            start_root_rows,
            root_addr,
            current_root_rows,
            filtered_root_size,
            root_filter_mask,
            filter_pipeline,
        })
    }

    fn error(&self, what: &'static str) -> Error {
        Error::invalid(HEADER, self.addr, what)
    }

    /// Whether objects and direct blocks pass through an I/O filter pipeline.
    pub fn has_io_filters(&self) -> bool {
        self.io_filters_len > 0
    }

    /// Whether direct blocks carry a checksum (flag bit 1).
    pub fn checksummed_direct_blocks(&self) -> bool {
        self.flags & FLAG_CHECKSUMMED_DIRECT_BLOCKS != 0
    }

    /// Bytes of a heap offset ("block offset" fields, managed-ID offsets):
    /// `ceil(max_heap_bits / 8)`.
    pub fn heap_off_size(&self) -> usize {
        usize::from(self.max_heap_bits).div_ceil(8)
    }

    /// Bytes of a managed object's length in its heap ID, as libhdf5 computes it: the
    /// smaller of `ceil(log2(max_direct_block_size) / 8)` (the block offset width; the block
    /// size is a power of two) and `floor(log2(max_managed_obj_size)) / 8 + 1`.
    pub fn heap_len_size(&self) -> usize {
        (self.max_direct_block_size.trailing_zeros() as usize)
            .div_ceil(8)
            .max(1)
            .min(limit_enc_size(u64::from(self.max_managed_obj_size)))
    }

    /// log2 of the span of row 0 (`start_block_size · table_width`).
    pub fn first_row_bits(&self) -> u32 {
        self.start_block_size.trailing_zeros() + self.table_width.trailing_zeros()
    }

    /// Rows of direct blocks an indirect block can have:
    /// `log2(max_direct_block_size) − log2(start_block_size) + 2`.
    pub fn max_direct_rows(&self) -> u16 {
        // Both powers of two with start ≤ max (checked by `decode`): the result is in 2..=65.
        (self.max_direct_block_size.trailing_zeros() + 2)
            .saturating_sub(self.start_block_size.trailing_zeros()) as u16
    }

    /// Most rows any indirect block (the root) can have: enough to span the whole heap
    /// address space, `max_heap_bits − first_row_bits + 1` (1..=64).
    pub fn max_root_rows(&self) -> u16 {
        (u32::from(self.max_heap_bits) + 1).saturating_sub(self.first_row_bits()) as u16
    }

    /// Size of the blocks in `row`: `start_block_size` for rows 0 and 1, doubling after.
    /// `None` for a row no indirect block of this heap can have.
    pub fn row_block_size(&self, row: u16) -> Option<u64> {
        if row >= self.max_root_rows() {
            return None;
        }
        match row {
            0 => Some(self.start_block_size),
            _ => pow2(self.start_block_size.trailing_zeros() + u32::from(row) - 1),
        }
    }

    /// Offset of `row` from the start of its indirect block: 0 for row 0, then
    /// `start_block_size · table_width · 2^(row−1)`. `None` for a row no indirect block of
    /// this heap can have.
    pub fn row_block_offset(&self, row: u16) -> Option<u64> {
        if row >= self.max_root_rows() {
            return None;
        }
        match row {
            0 => Some(0),
            _ => pow2(self.first_row_bits() + u32::from(row) - 1),
        }
    }

    /// Bytes of a direct block before its object data: signature, version, heap header
    /// address, block offset, and the checksum when direct blocks are checksummed.
    pub fn direct_block_header_size(&self) -> usize {
        let checksum = if self.checksummed_direct_blocks() {
            4
        } else {
            0
        };
        4 + 1 + usize::from(self.sizes.offset) + self.heap_off_size() + checksum
    }

    /// Bytes of one direct-block entry of an indirect block: the address, plus the
    /// filtered size and filter mask when the heap has I/O filters.
    pub fn direct_entry_size(&self) -> usize {
        let o = usize::from(self.sizes.offset);
        if self.has_io_filters() {
            o + usize::from(self.sizes.length) + 4
        } else {
            o
        }
    }

    /// On-disk size of an indirect block with `nrows` rows, checksum included.
    ///
    /// # Errors
    /// `Invalid` when `nrows` is 0 or more than [`Header::max_root_rows`].
    pub fn indirect_block_size(&self, nrows: u16) -> Result<u64> {
        if nrows == 0 || nrows > self.max_root_rows() {
            return Err(self.error("indirect block row count"));
        }
        let width = u64::from(self.table_width);
        let max_direct = self.max_direct_rows();
        let direct_rows = u64::from(nrows.min(max_direct));
        let indirect_rows = u64::from(nrows.saturating_sub(max_direct));
        let o = u64::from(self.sizes.offset);
        let entry = self.direct_entry_size() as u64;
        let overflow = || self.error("indirect block size");
        let direct = direct_rows
            .checked_mul(width)
            .and_then(|n| n.checked_mul(entry))
            .ok_or_else(overflow)?;
        let indirect = indirect_rows
            .checked_mul(width)
            .and_then(|n| n.checked_mul(o))
            .ok_or_else(overflow)?;
        (INDIRECT_FIXED + o + self.heap_off_size() as u64)
            .checked_add(direct)
            .and_then(|n| n.checked_add(indirect))
            .ok_or_else(overflow)
    }

    /// Rows of the child indirect blocks that the entries of `row` point to:
    /// `log2(row_block_size(row)) − first_row_bits + 1`.
    ///
    /// # Errors
    /// `Invalid` when `row` holds direct blocks, does not exist, or its blocks are smaller
    /// than one row of an indirect block (a degenerate table).
    pub fn child_indirect_rows(&self, row: u16) -> Result<u16> {
        if row < self.max_direct_rows() {
            return Err(self.error("indirect row (it holds direct blocks)"));
        }
        let size = self
            .row_block_size(row)
            .ok_or_else(|| self.error("indirect row"))?;
        let bits = size.trailing_zeros();
        let first = self.first_row_bits();
        if bits < first {
            return Err(self.error("child indirect block (smaller than one table row)"));
        }
        Ok((bits - first + 1) as u16)
    }
}

/// One direct-block entry of an indirect block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectEntry {
    /// Address of the direct block; `None` when the block is not allocated.
    pub addr: Option<u64>,
    /// Size of the block after filtering (only when the heap has I/O filters).
    pub filtered_size: Option<u64>,
    /// Filter mask of the block (0 when the heap has no I/O filters).
    pub filter_mask: u32,
}

/// A fractal heap indirect block (`FHIB`, version 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndirectBlock {
    /// File address of the block.
    pub addr: u64,
    /// Offset of the block in the heap address space.
    pub block_offset: u64,
    /// Rows of the block.
    pub nrows: u16,
    /// Direct-block entries, `min(nrows, max_direct_rows) · width` of them; entry `i` is
    /// row `i / width`, column `i % width`.
    pub direct: Vec<DirectEntry>,
    /// Child indirect-block addresses, `(nrows − max_direct_rows) · width` of them when
    /// `nrows > max_direct_rows`; entry `i` is row `max_direct_rows + i / width`, column
    /// `i % width`. `None` when the child is not allocated.
    pub indirect: Vec<Option<u64>>,
}

impl IndirectBlock {
    /// Decode an indirect block of `nrows` rows (the header's
    /// [`Header::current_root_rows`] for the root, [`Slot::Indirect`]'s `nrows` for a
    /// child) from `buf`, whose first byte is at `addr`.
    ///
    /// Verifies the signature, version 0, the checksum, and that the block points back to
    /// `header`. The caller should compare [`IndirectBlock::block_offset`] with the offset it
    /// expected (0 for the root).
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter than [`Header::indirect_block_size`], `BadSignature`,
    /// `BadVersion`, `BadChecksum`, or `Invalid` (row count, heap header address, block
    /// offset, `sizes` unlike the header's).
    pub fn decode(
        buf: &[u8],
        addr: u64,
        sizes: Sizes,
        header: &Header,
        nrows: u16,
    ) -> Result<IndirectBlock> {
        if sizes != header.sizes {
            return Err(Error::invalid(
                INDIRECT,
                addr,
                "sizes (unlike the heap header's)",
            ));
        }
        if nrows == 0 || nrows > header.max_root_rows() {
            return Err(Error::invalid(INDIRECT, addr, "number of rows"));
        }
        let size = header.indirect_block_size(nrows)?;
        let mut r = Reader::new(buf, addr, sizes, INDIRECT);
        r.signature(b"FHIB")?;
        let version_at = r.addr();
        let version = r.u8()?;
        if version != 0 {
            return Err(Error::new(
                INDIRECT,
                version_at,
                ErrorKind::BadVersion(version),
            ));
        }
        // The block has a fixed size: check it is all there and verify the checksum before
        // trusting (or allocating for) anything inside.
        let end = match usize::try_from(size - 4) {
            Ok(end) if end <= buf.len().saturating_sub(4) => end,
            _ => return Err(r.err(ErrorKind::Truncated)),
        };
        let mut c = r.clone();
        c.seek(end)?;
        c.checksum(0)?;

        let header_at = r.addr();
        if r.offset()? != Some(header.addr) {
            return Err(Error::invalid(INDIRECT, header_at, "heap header address"));
        }
        let offset_at = r.addr();
        let block_offset = r.uint(header.heap_off_size())?;
        if header.max_heap_bits < 64 && block_offset >> header.max_heap_bits != 0 {
            return Err(Error::invalid(INDIRECT, offset_at, "block offset"));
        }

        let width = usize::from(header.table_width);
        let max_direct = header.max_direct_rows();
        // Bounded: `size` (which counts every entry) fits in `buf`.
        let ndirect = usize::from(nrows.min(max_direct)) * width;
        let nindirect = usize::from(nrows.saturating_sub(max_direct)) * width;
        let filtered = header.has_io_filters();
        let mut direct = Vec::with_capacity(ndirect);
        for _ in 0..ndirect {
            let addr = r.offset()?;
            let (filtered_size, filter_mask) = if filtered {
                (Some(r.length()?), r.u32()?)
            } else {
                (None, 0)
            };
            direct.push(DirectEntry {
                addr,
                filtered_size,
                filter_mask,
            });
        }
        let mut indirect = Vec::with_capacity(nindirect);
        for _ in 0..nindirect {
            indirect.push(r.offset()?);
        }
        debug_assert_eq!(r.position(), end);
        Ok(IndirectBlock {
            addr,
            block_offset,
            nrows,
            direct,
            indirect,
        })
    }
}

/// Where a heap offset lives inside an indirect block, as answered by [`locate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// In a direct block.
    Direct {
        /// Index into [`IndirectBlock::direct`].
        entry: usize,
        /// Heap offset of the direct block's first byte.
        block_offset: u64,
        /// Size of the (unfiltered) direct block in bytes.
        block_size: u64,
    },
    /// Below a child indirect block.
    Indirect {
        /// Index into [`IndirectBlock::indirect`].
        entry: usize,
        /// Heap offset of the child indirect block.
        block_offset: u64,
        /// Rows of the child indirect block.
        nrows: u16,
    },
}

/// For an indirect block starting at heap offset `block_offset` with `nrows` rows, the
/// entry that holds `heap_offset`.
///
/// # Errors
/// `Invalid` when `nrows` is impossible for the heap or `heap_offset` lies outside the
/// block (before `block_offset`, or beyond its last row).
pub fn locate(header: &Header, block_offset: u64, nrows: u16, heap_offset: u64) -> Result<Slot> {
    let err = |what: &'static str| Error::invalid(TABLE, header.addr, what);
    if nrows == 0 || nrows > header.max_root_rows() {
        return Err(err("indirect block row count"));
    }
    let rel = heap_offset
        .checked_sub(block_offset)
        .ok_or_else(|| err("heap offset (before the indirect block)"))?;
    let start_bits = header.start_block_size.trailing_zeros();
    let first = header.first_row_bits();
    let (row, col) = match rel.checked_shr(first) {
        Some(0) | None => (0u32, rel.checked_shr(start_bits).unwrap_or(0)),
        Some(_) => {
            // rel ≥ 2^first, so its top bit `top` is at least `first`; row r ≥ 1 spans
            // [2^(first+r−1), 2^(first+r)) with blocks of 2^(top − log2 width) bytes.
            let top = 63 - rel.leading_zeros();
            let row = top - first + 1;
            let size_bits = start_bits + row - 1;
            (
                row,
                (rel - (1u64 << top)).checked_shr(size_bits).unwrap_or(0),
            )
        }
    };
    if row >= u32::from(nrows) {
        return Err(err("heap offset (beyond the indirect block)"));
    }
    if col >= u64::from(header.table_width) {
        // Only reachable with a hand-built header that `Header::decode` would reject.
        return Err(err("table width"));
    }
    let row = row as u16; // < nrows
    let col = col as usize; // < table_width
    let width = usize::from(header.table_width);
    let size = header.row_block_size(row).ok_or_else(|| err("row"))?;
    let start = header
        .row_block_offset(row)
        .and_then(|o| o.checked_add(size.checked_mul(col as u64)?))
        .and_then(|o| o.checked_add(block_offset))
        .ok_or_else(|| err("heap offset (overflow)"))?;
    let max_direct = header.max_direct_rows();
    if row < max_direct {
        Ok(Slot::Direct {
            entry: usize::from(row) * width + col,
            block_offset: start,
            block_size: size,
        })
    } else {
        Ok(Slot::Indirect {
            entry: usize::from(row - max_direct) * width + col,
            block_offset: start,
            nrows: header.child_indirect_rows(row)?,
        })
    }
}

/// Check the prefix of a direct block: `buf` is the whole (unfiltered) block, its first
/// byte at `addr`, expected to start at heap offset `expected_block_offset`.
///
/// Verifies the signature, version 0, that the block points back to `header` and sits at
/// the expected offset, and, when the heap checksums direct blocks, that the checksum field
/// holds the lookup3 hash of the whole block with that field zeroed. Object data starts
/// [`Header::direct_block_header_size`] bytes into the block.
///
/// # Errors
/// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`, or `Invalid` (heap header
/// address, block offset, `sizes` unlike the header's).
pub fn check_direct_block(
    buf: &[u8],
    addr: u64,
    sizes: Sizes,
    header: &Header,
    expected_block_offset: u64,
) -> Result<()> {
    if sizes != header.sizes {
        return Err(Error::invalid(
            DIRECT,
            addr,
            "sizes (unlike the heap header's)",
        ));
    }
    let mut r = Reader::new(buf, addr, sizes, DIRECT);
    r.signature(b"FHDB")?;
    let version_at = r.addr();
    let version = r.u8()?;
    if version != 0 {
        return Err(Error::new(
            DIRECT,
            version_at,
            ErrorKind::BadVersion(version),
        ));
    }
    let header_at = r.addr();
    let heap_addr = r.offset()?;
    let offset_at = r.addr();
    let block_offset = r.uint(header.heap_off_size())?;
    if header.checksummed_direct_blocks() {
        let pos = r.position();
        let at = r.addr();
        let stored = r.u32()?;
        let mut copy = buf.to_vec();
        copy[pos..pos + 4].fill(0);
        let computed = lookup3::checksum(&copy);
        if stored != computed {
            return Err(Error::new(
                DIRECT,
                at,
                ErrorKind::BadChecksum { stored, computed },
            ));
        }
    }
    if heap_addr != Some(header.addr) {
        return Err(Error::invalid(DIRECT, header_at, "heap header address"));
    }
    if block_offset != expected_block_offset {
        return Err(Error::invalid(DIRECT, offset_at, "block offset"));
    }
    Ok(())
}

/// The bytes of a managed object inside its direct block: for the block at file address
/// `block_addr` starting at heap offset `block_offset` and `block_size` bytes long, the
/// range of the block holding `length` bytes at `heap_offset`.
///
/// # Errors
/// `Invalid` when the object does not lie within the block's data area (after
/// [`Header::direct_block_header_size`], before `block_size`).
pub fn object_range(
    header: &Header,
    block_addr: u64,
    block_offset: u64,
    block_size: u64,
    heap_offset: u64,
    length: u64,
) -> Result<Range<usize>> {
    let err = || {
        Error::invalid(
            DIRECT,
            block_addr,
            "managed object (outside its direct block)",
        )
    };
    let start = heap_offset.checked_sub(block_offset).ok_or_else(err)?;
    let end = start.checked_add(length).ok_or_else(err)?;
    if start < header.direct_block_header_size() as u64 || end > block_size {
        return Err(err());
    }
    let start = usize::try_from(start).map_err(|_| err())?;
    let end = usize::try_from(end).map_err(|_| err())?;
    Ok(start..end)
}

/// A decoded fractal heap ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeapId {
    /// An object in the managed blocks.
    Managed {
        /// Heap offset of the object.
        offset: u64,
        /// Length of the object in bytes.
        length: u64,
    },
    /// A huge object whose location is stored in the ID itself.
    HugeDirect {
        /// File address of the (possibly filtered) object.
        addr: u64,
        /// Length of the object in the file.
        length: u64,
        /// Filter mask (only when the heap has I/O filters).
        filter_mask: Option<u32>,
        /// Size of the object after de-filtering (only when the heap has I/O filters).
        size: Option<u64>,
    },
    /// A huge object to look up in the huge-object v2 B-tree (record type 1, or 2 when the
    /// heap has I/O filters) by this key.
    HugeIndirect {
        /// The B-tree key (the "huge object ID").
        key: u64,
    },
    /// A tiny object stored in the ID itself.
    Tiny {
        /// The object's bytes, as a range of the ID bytes given to [`HeapId::decode`].
        range: Range<usize>,
    },
}

impl HeapId {
    /// Decode a heap ID of `header`'s heap. `id_bytes` must hold at least
    /// [`Header::heap_id_len`] bytes (only those are read); `at` is the file address of the
    /// ID (the record or message holding it), used in errors.
    ///
    /// # Errors
    /// `Truncated` when `id_bytes` is shorter than the heap's ID length, `BadVersion` for an
    /// ID version other than 0, or `Invalid` (unknown ID type, an ID too short for its type,
    /// a managed object beyond the heap or larger than a managed object can be, a tiny length
    /// beyond the ID).
    pub fn decode(id_bytes: &[u8], header: &Header, sizes: Sizes, at: u64) -> Result<HeapId> {
        let n = usize::from(header.heap_id_len);
        let Some(id) = id_bytes.get(..n) else {
            let end = at.wrapping_add(id_bytes.len() as u64);
            return Err(Error::new(HEAP_ID, end, ErrorKind::Truncated));
        };
        let mut r = Reader::new(id, at, sizes, HEAP_ID);
        let b0 = r.u8()?;
        let version = b0 >> 6;
        if version != 0 {
            return Err(Error::new(HEAP_ID, at, ErrorKind::BadVersion(version)));
        }
        let bad = |what: &'static str| Err(Error::invalid(HEAP_ID, at, what));
        match (b0 >> 4) & 0x03 {
            0 => {
                if n < 1 + header.heap_off_size() + header.heap_len_size() {
                    return bad("heap ID length (too short for a managed object)");
                }
                let offset = r.uint(header.heap_off_size())?;
                let length = r.uint(header.heap_len_size())?;
                // The same limits libhdf5 applies; whether the object lies inside its
                // direct block is checked by `object_range`.
                if offset > header.managed_space {
                    return bad("managed object offset (beyond the managed space)");
                }
                if length > header.max_direct_block_size
                    || length > u64::from(header.max_managed_obj_size)
                {
                    return bad("managed object length");
                }
                Ok(HeapId::Managed { offset, length })
            }
            1 => {
                let avail = n - 1;
                let o = usize::from(sizes.offset);
                let l = usize::from(sizes.length);
                let direct_len = if header.has_io_filters() {
                    o + l + 4 + l
                } else {
                    o + l
                };
                if avail >= direct_len {
                    let addr = r.defined_offset("huge object address")?;
                    let length = r.length()?;
                    let (filter_mask, size) = if header.has_io_filters() {
                        (Some(r.u32()?), Some(r.length()?))
                    } else {
                        (None, None)
                    };
                    Ok(HeapId::HugeDirect {
                        addr,
                        length,
                        filter_mask,
                        size,
                    })
                } else {
                    let key = r.uint(avail.min(8))?;
                    Ok(HeapId::HugeIndirect { key })
                }
            }
            2 => {
                let low = usize::from(b0 & 0x0f);
                let (start, len) = if n > TINY_NORMAL_MAX_ID_LEN {
                    (2, ((low << 8) | usize::from(r.u8()?)) + 1)
                } else {
                    (1, low + 1)
                };
                if start + len > n {
                    return bad("tiny object length (beyond the heap ID)");
                }
                Ok(HeapId::Tiny {
                    range: start..start + len,
                })
            }
            _ => bad("heap ID type"),
        }
    }
}

// -------------------------------------------------------------------------------------------
// Encoders

impl Header {
    /// Encode the header, the mirror of [`Header::decode`] (checksum included; the filter
    /// fields only when [`Header::io_filters_len`] is non-zero).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(self.sizes);
        w.bytes(b"FRHP")
            .u8(0)
            .u16(self.heap_id_len)
            .u16(self.io_filters_len)
            .u8(self.flags)
            .u32(self.max_managed_obj_size)
            .length(self.next_huge_id)
            .offset(self.huge_btree_addr)
            .length(self.free_space)
            .offset(self.fsm_addr)
            .length(self.managed_space)
            .length(self.allocated_managed_space)
            .length(self.alloc_iter_offset)
            .length(self.managed_count)
            .length(self.huge_size)
            .length(self.huge_count)
            .length(self.tiny_size)
            .length(self.tiny_count)
            .u16(self.table_width)
            .length(self.start_block_size)
            .length(self.max_direct_block_size)
            .u16(self.max_heap_bits)
            .u16(self.start_root_rows)
            .offset(self.root_addr)
            .u16(self.current_root_rows);
        if self.io_filters_len > 0 {
            w.length(self.filtered_root_size.unwrap_or(0))
                .u32(self.root_filter_mask.unwrap_or(0))
                .bytes(&self.filter_pipeline);
        }
        w.checksum_from(0);
        w.finish()
    }
}

impl IndirectBlock {
    /// Encode the block, the mirror of [`IndirectBlock::decode`]: it names `header` (its
    /// address and sizes), and holds exactly the entries in [`IndirectBlock::direct`] and
    /// [`IndirectBlock::indirect`] (the caller keeps their counts right for
    /// [`IndirectBlock::nrows`]).
    pub fn encode(&self, header: &Header) -> Vec<u8> {
        let mut w = Writer::new(header.sizes);
        w.bytes(b"FHIB")
            .u8(0)
            .offset(Some(header.addr))
            .uint(self.block_offset, header.heap_off_size());
        for e in &self.direct {
            w.offset(e.addr);
            if header.has_io_filters() {
                w.length(e.filtered_size.unwrap_or(0)).u32(e.filter_mask);
            }
        }
        for a in &self.indirect {
            w.offset(*a);
        }
        w.checksum_from(0);
        w.finish()
    }
}

/// Write the prefix of a direct block into `block` (the whole unfiltered block, object data
/// already in place after [`Header::direct_block_header_size`] bytes): signature, version,
/// the address of `header`, `block_offset`, and, when the heap checksums direct blocks, the
/// lookup3 checksum of the whole block — the mirror of [`check_direct_block`].
///
/// # Errors
/// `Invalid` when `block` is shorter than the prefix.
pub fn seal_direct_block(header: &Header, block_offset: u64, block: &mut [u8]) -> Result<()> {
    let prefix = header.direct_block_header_size();
    if block.len() < prefix {
        return Err(Error::invalid(DIRECT, header.addr, "direct block size"));
    }
    let mut w = Writer::new(header.sizes);
    w.bytes(b"FHDB")
        .u8(0)
        .offset(Some(header.addr))
        .uint(block_offset, header.heap_off_size());
    let at = w.len();
    block[..at].copy_from_slice(&w.buf);
    if header.checksummed_direct_blocks() {
        block[at..at + 4].fill(0);
        let sum = lookup3::checksum(block);
        block[at..at + 4].copy_from_slice(&sum.to_le_bytes());
    }
    Ok(())
}

// -------------------------------------------------------------------------------------------
// Editing model

/// Largest direct block [`HeapEdit`] keeps in memory (64 MiB; libhdf5 writes 64 KiB blocks
/// at most by default and refuses more than 2 GiB).
pub const MAX_EDIT_DIRECT_BLOCK_SIZE: u64 = 1 << 26;

/// Encoded size of a free-space manager header (`FSHD`): signature, version, client ID,
/// four lengths, four u16 fields, a length, an address, two lengths, the checksum.
fn fshd_size(sizes: Sizes) -> usize {
    18 + 7 * usize::from(sizes.length) + usize::from(sizes.offset)
}

/// The parameters a fractal heap is created with.
///
/// [`HeapParams::dense_links`] and [`HeapParams::dense_attributes`] are what libhdf5 2.0
/// writes (measured in h5py files, every libver from v108 to latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapParams {
    /// Columns of the doubling table (a power of two).
    pub table_width: u16,
    /// Size of the blocks in rows 0 and 1 (a power of two).
    pub start_block_size: u64,
    /// Largest direct block (a power of two, at least `start_block_size`).
    pub max_direct_block_size: u64,
    /// log2 of the size of the heap address space.
    pub max_heap_size_bits: u16,
    /// Rows a new root indirect block starts with (0: every row the heap can have).
    pub start_root_rows: u16,
    /// Objects larger than this are "huge" (stored outside the managed blocks).
    pub max_managed_object_size: u32,
    /// Length of every heap ID in bytes.
    pub id_len: u16,
    /// Whether direct blocks carry a checksum (header flag bit 1).
    pub checksum_direct_blocks: bool,
}

impl HeapParams {
    /// The heap of a dense group's links (libhdf5 `H5G` dense storage): 7-byte IDs, table
    /// width 4, 512-byte starting blocks, 64 KiB direct blocks at most, a 2^32-byte heap,
    /// one starting root row, objects up to 4096 bytes managed, checksummed direct blocks.
    pub fn dense_links() -> Self {
        HeapParams {
            table_width: 4,
            start_block_size: 512,
            max_direct_block_size: 65536,
            max_heap_size_bits: 32,
            start_root_rows: 1,
            max_managed_object_size: 4096,
            id_len: 7,
            checksum_direct_blocks: true,
        }
    }

    /// The heap of dense attribute storage (libhdf5 `H5A` dense storage): 8-byte IDs, table
    /// width 4, 1024-byte starting blocks, 64 KiB direct blocks at most, a 2^40-byte heap,
    /// one starting root row, objects up to 4096 bytes managed, checksummed direct blocks.
    pub fn dense_attributes() -> Self {
        HeapParams {
            table_width: 4,
            start_block_size: 1024,
            max_direct_block_size: 65536,
            max_heap_size_bits: 40,
            start_root_rows: 1,
            max_managed_object_size: 4096,
            id_len: 8,
            checksum_direct_blocks: true,
        }
    }
}

/// A direct block held by [`HeapEdit`]: the whole block (prefix rewritten on store).
#[derive(Debug, Clone)]
struct DBlock {
    addr: Option<u64>,
    data: Vec<u8>,
    dirty: bool,
}

/// An indirect block held by [`HeapEdit`]; its entries are derived from the blocks present.
#[derive(Debug, Clone)]
struct IBlock {
    addr: Option<u64>,
    nrows: u16,
    dirty: bool,
}

/// An editable fractal heap: insert, read, overwrite and remove objects, then
/// [`HeapEdit::store`] what changed.
///
/// Objects are placed as libhdf5 places them, so a heap built here from the same objects in
/// the same order is byte for byte the heap libhdf5 builds (free-space manager aside), and
/// libhdf5 can go on adding to it:
///
/// * objects larger than [`Header::max_managed_obj_size`] are *huge*: each gets file space of
///   its own and the next huge object ID (1, 2, … — IDs are not reused while the heap has
///   huge objects), recorded in the heap's v2 B-tree of huge objects (record type 1:
///   address, length, ID; [`btree2::DENSE_NODE_SIZE`]-byte nodes, created with the first
///   huge object and deleted, the ID counter reset, when the last one goes); the other
///   objects no longer than the ID allows are *tiny* (stored in the ID); the rest are
///   *managed*, stored in direct blocks;
/// * a managed object goes into the smallest free section that holds it (lowest heap offset
///   on ties) — the free space left at the end of a direct block, the space of removed
///   objects (merged with its neighbours), or a row of direct blocks the allocation iterator
///   skipped (from a run of skipped blocks libhdf5 allocates the first block of the run's
///   first row, the last block of its last row, or the first block of a row in between,
///   splitting the run);
/// * when none holds it, a new direct block of at least `object + prefix` bytes (rounded up
///   to a power of two, at least the starting size) is allocated at the allocation iterator,
///   which walks the doubling table in heap-offset order; smaller blocks it passes over are
///   left unallocated and become free sections;
/// * the first block is a root direct block when the first object fits a starting-size
///   block; otherwise, or when the root direct block is full, a root indirect block takes
///   over (the old root becoming its entry 0) with `max(start rows, rows needed)` rows;
///   when the iterator runs off its last row the root grows to `max(2 · rows, rows
///   needed)` rows, and child indirect blocks appear as the iterator enters their rows.
///
/// The header statistics follow libhdf5: *free space* counts every direct block of the
/// managed space (allocated or not) less the managed objects; *managed space* is the span of
/// the root's rows (the root direct block's size for a direct root); the iterator offset is
/// 0 while the root is a direct block.
///
/// The heap is stored without a free-space manager (its address undefined; the manager of a
/// loaded heap is dropped, and its blocks freed, on the first managed change). libhdf5 then
/// starts an empty manager: it leaves the free space of existing blocks alone and puts new
/// objects in new blocks, while space it frees itself is reused.
///
/// Huge objects are kept in memory: those inserted in this session, and those of a loaded
/// heap, which [`HeapEdit::load`] reads with the rest of the heap (so that
/// [`HeapEdit::get`] needs no I/O). Huge objects of heaps whose IDs hold the address and
/// length themselves (IDs of at least 1 + offset size + length size bytes, never the case
/// for dense links and attributes) are not supported: such a heap loads, but its huge
/// objects and their B-tree are left as they are and cannot be read, added or removed.
#[derive(Debug, Clone)]
pub struct HeapEdit {
    hdr: Header,
    /// Whether `hdr.addr` is allocated.
    placed: bool,
    header_dirty: bool,
    /// Direct blocks by heap offset.
    direct: BTreeMap<u64, DBlock>,
    /// Indirect blocks by heap offset (the root at 0).
    indirect: BTreeMap<u64, IBlock>,
    /// Every free section as (size, heap offset): the best-fit index.
    fit: BTreeSet<(u64, u64)>,
    /// Free space inside allocated direct blocks: heap offset → size.
    singles: BTreeMap<u64, u64>,
    /// Runs of unallocated direct blocks the iterator skipped, by run number.
    runs: BTreeMap<u64, Run>,
    /// The free sections of the runs, one per row: heap offset → (run, row).
    parts: BTreeMap<u64, (u64, u16)>,
    next_run: u64,
    /// Extents of a loaded heap's free-space manager (header and section list).
    fsm: Vec<(u64, u64)>,
    /// Extents retired since the last store.
    freed: Vec<(u64, u64)>,
    /// Huge objects by huge object ID (the key in their heap IDs).
    huge: BTreeMap<u64, HugeObject>,
    /// The v2 B-tree of huge objects (record type 1), once loaded or created.
    huge_tree: Option<TreeEdit>,
}

/// A huge object held by [`HeapEdit`].
#[derive(Debug, Clone)]
struct HugeObject {
    /// Where the object is in the file (`None`: not stored yet).
    addr: Option<u64>,
    data: Vec<u8>,
    /// The bytes must be written at the next store.
    dirty: bool,
}

/// Direct-block entries `[start, end)` of the indirect block at heap offset `base` that the
/// allocation iterator skipped (libhdf5's "indirect section"); each row of it is one free
/// section, of that row's block size less the block prefix.
#[derive(Debug, Clone, Copy)]
struct Run {
    base: u64,
    start: usize,
    end: usize,
}

fn sat_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

impl HeapEdit {
    /// A new, empty heap with these parameters for a file with these `sizes`.
    ///
    /// # Errors
    /// `Invalid` when the parameters make no valid heap (the rules of [`Header::decode`]),
    /// when the ID length cannot hold a managed object's offset and length, when a starting
    /// block has no room for objects, or when the largest managed object does not fit the
    /// largest direct block; `Limit` for direct blocks beyond
    /// [`MAX_EDIT_DIRECT_BLOCK_SIZE`].
    pub fn new(params: HeapParams, sizes: Sizes) -> Result<Self> {
        let flags = if params.checksum_direct_blocks {
            FLAG_CHECKSUMMED_DIRECT_BLOCKS
        } else {
            0
        };
        let hdr = Header {
            addr: 0,
            sizes,
            heap_id_len: params.id_len,
            io_filters_len: 0,
            flags,
            max_managed_obj_size: params.max_managed_object_size,
            next_huge_id: 0,
            huge_btree_addr: None,
            free_space: 0,
            fsm_addr: None,
            managed_space: 0,
            allocated_managed_space: 0,
            alloc_iter_offset: 0,
            managed_count: 0,
            huge_size: 0,
            huge_count: 0,
            tiny_size: 0,
            tiny_count: 0,
            table_width: params.table_width,
            start_block_size: params.start_block_size,
            max_direct_block_size: params.max_direct_block_size,
            max_heap_bits: params.max_heap_size_bits,
            start_root_rows: params.start_root_rows,
            root_addr: None,
            current_root_rows: 0,
            filtered_root_size: None,
            root_filter_mask: None,
            filter_pipeline: Vec::new(),
        };
        // The decoder's checks are the rules of a valid table.
        let hdr = Header::decode(&hdr.encode(), 0, sizes)?;
        let ed = HeapEdit::with_header(hdr)?;
        let h = &ed.hdr;
        if usize::from(h.heap_id_len) < 1 + h.heap_off_size() + h.heap_len_size() {
            return Err(h.error("heap ID length (too short for a managed object)"));
        }
        if h.start_block_size <= ed.overhead() {
            return Err(h.error("starting block size (no room for objects)"));
        }
        if h.max_managed_obj_size == 0 || u64::from(h.max_managed_obj_size) > ed.managed_limit() {
            return Err(h.error("maximum size of managed objects (beyond a direct block)"));
        }
        Ok(ed)
    }

    fn with_header(hdr: Header) -> Result<Self> {
        if hdr.max_direct_block_size > MAX_EDIT_DIRECT_BLOCK_SIZE {
            return Err(Error::limit(
                HEADER,
                hdr.addr,
                "maximum direct block size",
                hdr.max_direct_block_size,
                MAX_EDIT_DIRECT_BLOCK_SIZE,
            ));
        }
        // Heap offsets plus sizes then always fit a u64.
        if hdr.max_heap_bits > 63 {
            return Err(Error::limit(
                HEADER,
                hdr.addr,
                "maximum heap size (bits)",
                u64::from(hdr.max_heap_bits),
                63,
            ));
        }
        Ok(HeapEdit {
            hdr,
            placed: false,
            header_dirty: true,
            direct: BTreeMap::new(),
            indirect: BTreeMap::new(),
            fit: BTreeSet::new(),
            singles: BTreeMap::new(),
            runs: BTreeMap::new(),
            parts: BTreeMap::new(),
            next_run: 0,
            fsm: Vec::new(),
            freed: Vec::new(),
            huge: BTreeMap::new(),
            huge_tree: None,
        })
    }

    /// Load the heap whose header is at `addr`: the header, every indirect and direct block
    /// (checksums verified, each block checked to belong to the heap at its offset), the
    /// extents of its free-space manager header and section list, and the v2 B-tree of huge
    /// objects with every huge object's bytes. `read(address, length)` returns the bytes
    /// there; it should fail rather than allocate when the range lies beyond the end of the
    /// file.
    ///
    /// Huge objects are read whole (they must not overlap, so together they are no larger
    /// than the file); the B-tree must be of record type 1, hold as many records and bytes
    /// as the header counts, in strictly increasing ID order, with IDs from 1 up to
    /// [`Header::next_huge_id`] (any ID the heap IDs can hold once the counter wrapped).
    ///
    /// After loading, the unallocated direct blocks the allocation iterator skipped are free
    /// space again; the free space left inside allocated blocks is unknown until
    /// [`HeapEdit::track_free_space`] is given the live IDs (until then new objects go into
    /// new blocks, as libhdf5 does without a free-space manager).
    ///
    /// # Errors
    /// Whatever `read` returns; `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum` or
    /// `Invalid` from the decoders (the heap's and the B-tree's); `Cycle` when a block
    /// address repeats; `Limit` when the heap has more than `max_blocks` blocks or huge-object
    /// B-tree nodes, or direct blocks beyond [`MAX_EDIT_DIRECT_BLOCK_SIZE`]; `Invalid` for a
    /// huge-object B-tree or huge objects unlike the above; `Unsupported` for heaps with I/O
    /// filters.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        max_blocks: usize,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let o = usize::from(sizes.offset);
        let l = usize::from(sizes.length);
        let fixed = 14 + 12 * l + 3 * o + 2 + 2 + 2 + 2 + 4;
        let buf = read(addr, fixed)?;
        if buf.get(..4) == Some(b"FRHP") && buf.get(7..9).is_some_and(|b| b != [0, 0]) {
            return Err(Error::unsupported(
                HEADER,
                addr.saturating_add(7),
                "fractal heaps with I/O filters",
            )
            .into());
        }
        let hdr = Header::decode(&buf, addr, sizes)?;
        let mut ed = HeapEdit::with_header(hdr)?;
        ed.placed = true;
        ed.header_dirty = false;
        ed.load_huge(max_blocks, read)?;

        let mut seen = BTreeSet::new();
        seen.insert(addr);
        let mut count = 0usize;
        let mut visit = |a: u64, structure: &'static str| -> Result<()> {
            if !seen.insert(a) {
                return Err(Error::new(structure, a, ErrorKind::Cycle));
            }
            count += 1;
            if count > max_blocks {
                return Err(Error::limit(
                    structure,
                    a,
                    "fractal heap blocks",
                    count as u64,
                    max_blocks as u64,
                ));
            }
            Ok(())
        };

        if let Some(fa) = ed.hdr.fsm_addr {
            visit(fa, FSM)?;
            let size = fshd_size(sizes);
            let buf = read(fa, size)?;
            let mut r = Reader::new(&buf, fa, sizes, FSM);
            r.signature(b"FSHD")?;
            let version = r.u8()?;
            if version != 0 {
                return Err(
                    Error::new(FSM, fa.saturating_add(4), ErrorKind::BadVersion(version)).into(),
                );
            }
            if r.u8()? != 0 {
                return Err(Error::invalid(
                    FSM,
                    fa.saturating_add(5),
                    "client ID (not a fractal heap)",
                )
                .into());
            }
            r.skip(5 * l + 8)?;
            let list = r.offset()?;
            let _used = r.length()?;
            let allocated = r.length()?;
            r.checksum(0)?;
            ed.fsm.push((fa, size as u64));
            if let Some(list) = list {
                if allocated > 0 && allocated != u64::MAX {
                    ed.fsm.push((list, allocated));
                }
            }
        }

        let Some(root) = ed.hdr.root_addr else {
            if ed.hdr.current_root_rows != 0 {
                return Err(ed
                    .err("current # of rows in root indirect block (no root)")
                    .into());
            }
            return Ok(ed);
        };
        let rows = ed.hdr.current_root_rows;
        if rows == 0 {
            visit(root, DIRECT)?;
            let start = ed.hdr.start_block_size;
            ed.load_direct(read, root, 0, start)?;
            return Ok(ed);
        }
        // Unallocated direct entries: free again if the iterator is past them.
        let mut holes: Vec<(u64, usize, u64, u64)> = Vec::new();
        let mut stack = vec![(root, 0u64, rows)];
        let width = usize::from(ed.hdr.table_width);
        let max_direct = ed.hdr.max_direct_rows();
        while let Some((a, base, nrows)) = stack.pop() {
            visit(a, INDIRECT)?;
            let size = ed.hdr.indirect_block_size(nrows)?;
            let len = usize::try_from(size)
                .map_err(|_| Error::limit(INDIRECT, a, "indirect block size", size, 0))?;
            let buf = read(a, len)?;
            let ib = IndirectBlock::decode(&buf, a, sizes, &ed.hdr, nrows)?;
            if ib.block_offset != base {
                let at = a.saturating_add(5 + u64::from(sizes.offset));
                return Err(Error::invalid(INDIRECT, at, "block offset").into());
            }
            let mut blocks = Vec::with_capacity(ib.direct.len());
            for (i, e) in ib.direct.iter().enumerate() {
                let (row, col) = ((i / width) as u16, (i % width) as u64);
                let (off, size) = ed.entry_offset(a, base, row, col)?;
                blocks.push((e.addr, i, off, size));
            }
            for (j, child) in ib.indirect.iter().enumerate() {
                if let Some(ca) = child {
                    let row = max_direct + (j / width) as u16;
                    let (off, _) = ed.entry_offset(a, base, row, (j % width) as u64)?;
                    stack.push((*ca, off, ed.hdr.child_indirect_rows(row)?));
                }
            }
            for (da, entry, off, size) in blocks {
                match da {
                    Some(da) => {
                        visit(da, DIRECT)?;
                        ed.load_direct(read, da, off, size)?;
                    }
                    None => holes.push((base, entry, off, size)),
                }
            }
            ed.indirect.insert(
                base,
                IBlock {
                    addr: Some(a),
                    nrows,
                    dirty: false,
                },
            );
        }
        // The iterator sits after the last allocated block; keep the header's value when it
        // is a block boundary at or after that.
        let end = ed
            .direct
            .iter()
            .map(|(&off, b)| off + b.data.len() as u64)
            .max()
            .unwrap_or(0);
        let it = ed.hdr.alloc_iter_offset;
        let span = ed.span(rows);
        let aligned = u128::from(it) == span
            || (u128::from(it) < span && ed.slot_in(rows, it).is_ok_and(|(o, _)| o == it));
        if !(aligned && it >= end) {
            ed.hdr.alloc_iter_offset = end;
        }
        let it = ed.hdr.alloc_iter_offset;
        let mut run = None;
        for (base, entry, off, size) in holes {
            run = if off.saturating_add(size) <= it {
                ed.skip_entry(base, entry, run)
            } else {
                None
            };
        }
        Ok(ed)
    }

    /// Load the huge-object B-tree and every huge object (see [`HeapEdit::load`]).
    fn load_huge<E: From<Error>>(
        &mut self,
        max_nodes: usize,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<(), E> {
        let h = &self.hdr;
        let Some(bt) = h.huge_btree_addr else {
            if h.huge_count != 0 || h.huge_size != 0 {
                return Err(self
                    .err("huge objects (without a huge object B-tree)")
                    .into());
            }
            return Ok(());
        };
        if self.huge_direct() {
            // Left as they are (see `HeapEdit`).
            return Ok(());
        }
        let sizes = h.sizes;
        let tree = TreeEdit::load(bt, sizes, max_nodes, read)?;
        let bad = |what: &'static str| Error::invalid(HUGE_TREE, bt, what);
        if tree.record_type() != HUGE_RECORD_TYPE {
            return Err(bad("record type (not unfiltered huge objects)").into());
        }
        if tree.record_size() != self.huge_record_size() {
            return Err(bad("record size").into());
        }
        let wrapped = h.flags & FLAG_HUGE_IDS_WRAPPED != 0;
        let max_id = self.huge_max_id();
        let mut objects = Vec::new();
        let (mut prev, mut total) = (0u64, 0u64);
        for rec in tree.records() {
            let btree2::Record::HugeObject { addr, length, id } = btree2::Record::decode(
                HUGE_RECORD_TYPE,
                rec,
                bt,
                sizes,
                &btree2::RecordContext::default(),
            )?
            else {
                return Err(bad("record type (not unfiltered huge objects)").into());
            };
            if id <= prev {
                return Err(bad("huge object IDs (not increasing)").into());
            }
            if id > max_id || (!wrapped && id > h.next_huge_id) {
                return Err(bad("huge object ID (beyond the next huge object ID)").into());
            }
            if length == 0 || addr.checked_add(length).is_none() {
                return Err(bad("huge object length").into());
            }
            total = total
                .checked_add(length)
                .ok_or_else(|| bad("huge object length"))?;
            prev = id;
            objects.push((addr, length, id));
        }
        if objects.len() as u64 != h.huge_count {
            return Err(self
                .err("number of huge objects (unlike the B-tree's)")
                .into());
        }
        if total != h.huge_size {
            return Err(self
                .err("size of huge objects (unlike the B-tree's)")
                .into());
        }
        objects.sort_unstable();
        if objects.windows(2).any(|w| w[0].0 + w[0].1 > w[1].0) {
            return Err(bad("huge objects (overlapping)").into());
        }
        for (addr, length, id) in objects {
            let n = usize::try_from(length)
                .map_err(|_| Error::limit(HUGE, addr, "huge object size", length, 0))?;
            let mut data = read(addr, n)?;
            if data.len() < n {
                let end = addr.saturating_add(data.len() as u64);
                return Err(Error::new(HUGE, end, ErrorKind::Truncated).into());
            }
            data.truncate(n);
            self.huge.insert(
                id,
                HugeObject {
                    addr: Some(addr),
                    data,
                    dirty: false,
                },
            );
        }
        self.huge_tree = Some(tree);
        Ok(())
    }

    /// Heap offset and size of the entry at `row`, `col` of the indirect block at `at`
    /// starting at heap offset `base`.
    fn entry_offset(&self, at: u64, base: u64, row: u16, col: u64) -> Result<(u64, u64)> {
        let h = &self.hdr;
        let bad = || Error::invalid(INDIRECT, at, "block offset (overflow)");
        let size = h.row_block_size(row).ok_or_else(bad)?;
        let off = h
            .row_block_offset(row)
            .and_then(|o| o.checked_add(size.checked_mul(col)?))
            .and_then(|o| o.checked_add(base))
            .ok_or_else(bad)?;
        Ok((off, size))
    }

    fn load_direct<E: From<Error>>(
        &mut self,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
        addr: u64,
        off: u64,
        size: u64,
    ) -> core::result::Result<(), E> {
        let len = usize::try_from(size)
            .map_err(|_| Error::limit(DIRECT, addr, "direct block size", size, 0))?;
        let mut buf = read(addr, len)?;
        if buf.len() < len {
            let end = addr.saturating_add(buf.len() as u64);
            return Err(Error::new(DIRECT, end, ErrorKind::Truncated).into());
        }
        buf.truncate(len);
        check_direct_block(&buf, addr, self.hdr.sizes, &self.hdr, off)?;
        self.direct.insert(
            off,
            DBlock {
                addr: Some(addr),
                data: buf,
                dirty: false,
            },
        );
        Ok(())
    }

    /// The header as it stands (statistics up to date; addresses as of the last store).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// File address of the header, once loaded or stored.
    pub fn addr(&self) -> Option<u64> {
        self.placed.then_some(self.hdr.addr)
    }

    /// Number of objects in the heap: managed, tiny and huge.
    pub fn len(&self) -> u64 {
        self.hdr
            .managed_count
            .saturating_add(self.hdr.tiny_count)
            .saturating_add(self.hdr.huge_count)
    }

    /// Whether the heap holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn err(&self, what: &'static str) -> Error {
        Error::invalid(HEADER, self.hdr.addr, what)
    }

    fn full(&self) -> Error {
        Error::limit(
            HEADER,
            self.hdr.addr,
            "fractal heap size (bits)",
            u64::from(self.hdr.max_heap_bits) + 1,
            u64::from(self.hdr.max_heap_bits),
        )
    }

    fn huge_unsupported(&self) -> Error {
        Error::unsupported(
            HEADER,
            self.hdr.addr,
            "directly accessed huge fractal heap objects",
        )
    }

    /// Whether huge object IDs hold the object's address and length (libhdf5's choice when
    /// the ID has room for them, as [`HeapId::decode`] reads them) rather than a B-tree key.
    fn huge_direct(&self) -> bool {
        let s = self.hdr.sizes;
        usize::from(self.hdr.heap_id_len).saturating_sub(1)
            >= usize::from(s.offset) + usize::from(s.length)
    }

    /// Bytes of the B-tree key in a huge object ID (the ID less its first byte, at most 8).
    fn huge_key_len(&self) -> usize {
        usize::from(self.hdr.heap_id_len).saturating_sub(1).min(8)
    }

    /// The largest huge object ID: what the key in the ID and the record's ID field hold.
    fn huge_max_id(&self) -> u64 {
        let bits = 8 * self.huge_key_len().min(usize::from(self.hdr.sizes.length)) as u32;
        1u64.checked_shl(bits).map_or(u64::MAX, |x| x - 1)
    }

    /// Bytes of a type-1 record: address, length, ID.
    fn huge_record_size(&self) -> usize {
        let s = self.hdr.sizes;
        usize::from(s.offset) + 2 * usize::from(s.length)
    }

    fn huge_record(&self, addr: u64, length: u64, id: u64) -> Vec<u8> {
        let mut w = Writer::new(self.hdr.sizes);
        w.offset(Some(addr)).length(length).length(id);
        w.finish()
    }

    /// The heap ID of huge object `id`.
    fn huge_id(&self, id: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(usize::from(self.hdr.heap_id_len));
        v.push(0x10);
        v.extend_from_slice(&id.to_le_bytes()[..self.huge_key_len()]);
        v.resize(usize::from(self.hdr.heap_id_len), 0);
        v
    }

    /// How a type-1 record compares with huge object ID `id` (for [`TreeEdit`]).
    fn huge_cmp(sizes: Sizes, id: u64) -> impl FnMut(&[u8]) -> Result<core::cmp::Ordering> {
        let at = usize::from(sizes.offset) + usize::from(sizes.length);
        let len = usize::from(sizes.length);
        move |rec: &[u8]| Ok(le_uint(rec.get(at..at + len).unwrap_or(&[])).cmp(&id))
    }

    /// The huge object a heap ID names, by its ID.
    fn huge_key(&self, heap_id: HeapId) -> Result<u64> {
        match heap_id {
            HeapId::HugeIndirect { key } if self.huge.contains_key(&key) => Ok(key),
            HeapId::HugeIndirect { .. } => Err(self.err("heap ID (no such huge object)")),
            _ => Err(self.huge_unsupported()),
        }
    }

    /// Bytes of a direct block before its objects.
    fn overhead(&self) -> u64 {
        self.hdr.direct_block_header_size() as u64
    }

    /// The largest direct block the table has.
    fn largest_block(&self) -> u64 {
        let h = &self.hdr;
        let rows = h.max_direct_rows().min(h.max_root_rows());
        h.row_block_size(rows.saturating_sub(1)).unwrap_or(0)
    }

    /// The largest object stored in the managed blocks.
    fn managed_limit(&self) -> u64 {
        u64::from(self.hdr.max_managed_obj_size)
            .min(self.largest_block().saturating_sub(self.overhead()))
    }

    /// The largest tiny object: the ID less its one (normal form, up to 16 bytes) or two
    /// (extended form, IDs longer than 18 bytes) leading bytes.
    fn tiny_limit(&self) -> u64 {
        let n = u64::from(self.hdr.heap_id_len);
        if n <= TINY_NORMAL_MAX_ID_LEN as u64 {
            n.saturating_sub(1).min(16)
        } else {
            (n - 2).min(4096)
        }
    }

    /// Heap bytes spanned by the first `rows` rows of the root.
    fn span(&self, rows: u16) -> u128 {
        if rows == 0 {
            return 0;
        }
        let h = &self.hdr;
        let off = h.row_block_offset(rows - 1).unwrap_or(0);
        let size = h.row_block_size(rows - 1).unwrap_or(0);
        u128::from(off) + u128::from(size) * u128::from(h.table_width)
    }

    /// Object bytes (direct block sizes less their prefixes) in each row of an indirect
    /// block, child indirect blocks included.
    fn row_payloads(&self) -> Vec<u128> {
        let h = &self.hdr;
        let width = u128::from(h.table_width);
        let ovh = u128::from(self.overhead());
        let mut v: Vec<u128> = Vec::new();
        for r in 0..h.max_root_rows() {
            let p = if r < h.max_direct_rows() {
                width * u128::from(h.row_block_size(r).unwrap_or(0)).saturating_sub(ovh)
            } else {
                match h.child_indirect_rows(r) {
                    Ok(c) => width * v.iter().take(usize::from(c)).sum::<u128>(),
                    Err(_) => 0,
                }
            };
            v.push(p);
        }
        v
    }

    fn add_free(&mut self, bytes: u128) {
        self.hdr.free_space = sat_u64(u128::from(self.hdr.free_space) + bytes);
    }

    /// The direct block slot holding heap offset `x` in a root of `nrows` rows: the heap
    /// offset of the indirect block holding it, its entry there, its heap offset and size.
    fn slot_path(&self, nrows: u16, x: u64) -> Result<(u64, usize, u64, u64)> {
        let (mut base, mut rows) = (0u64, nrows);
        for _ in 0..=64 {
            match locate(&self.hdr, base, rows, x)? {
                Slot::Direct {
                    entry,
                    block_offset,
                    block_size,
                } => return Ok((base, entry, block_offset, block_size)),
                Slot::Indirect {
                    block_offset,
                    nrows,
                    ..
                } => (base, rows) = (block_offset, nrows),
            }
        }
        Err(self.err("doubling table depth"))
    }

    /// Heap offset and size of the direct block slot holding heap offset `x`.
    fn slot_in(&self, nrows: u16, x: u64) -> Result<(u64, u64)> {
        self.slot_path(nrows, x)
            .map(|(_, _, off, size)| (off, size))
    }

    /// Heap offset and size of direct-block entry `entry` of the indirect block at `base`.
    fn entry_slot(&self, base: u64, entry: usize) -> Option<(u64, u64)> {
        let h = &self.hdr;
        let w = usize::from(h.table_width);
        let row = u16::try_from(entry / w).ok()?;
        let size = h.row_block_size(row)?;
        let off = h
            .row_block_offset(row)?
            .checked_add(size.checked_mul((entry % w) as u64)?)?
            .checked_add(base)?;
        Some((off, size))
    }

    /// The root row holding heap offset `x`.
    fn root_row(&self, x: u64) -> u16 {
        let first = self.hdr.first_row_bits();
        match x.checked_shr(first) {
            Some(0) | None => 0,
            Some(_) => (63 - x.leading_zeros() - first + 1) as u16,
        }
    }

    /// The rows a root needs so that the first direct block of at least `min` bytes at or
    /// after heap offset `from` is inside it.
    fn rows_to_reach(&self, from: u64, min: u64) -> Result<u16> {
        let max = self.hdr.max_root_rows();
        let end = self.span(max);
        let mut x = from;
        loop {
            if u128::from(x) >= end {
                return Err(self.full());
            }
            let (off, size) = self.slot_in(max, x)?;
            if size >= min {
                return Ok(self.root_row(off) + 1);
            }
            x = off.checked_add(size).ok_or_else(|| self.full())?;
        }
    }

    /// Rows of a new root indirect block that must reach a block of `min` bytes from `from`.
    fn initial_rows(&self, from: u64, min: u64) -> Result<u16> {
        let max = self.hdr.max_root_rows();
        if self.hdr.start_root_rows == 0 {
            return Ok(max);
        }
        Ok(self
            .hdr
            .start_root_rows
            .max(self.rows_to_reach(from, min)?)
            .min(max))
    }

    fn add_single(&mut self, start: u64, size: u64) {
        if size > 0 {
            self.singles.insert(start, size);
            self.fit.insert((size, start));
        }
    }

    fn remove_single(&mut self, start: u64) -> Option<u64> {
        let size = self.singles.remove(&start)?;
        self.fit.remove(&(size, start));
        Some(size)
    }

    /// The free sections of a run: (size, heap offset of its first block, row) per row.
    fn run_parts(&self, run: &Run) -> Vec<(u64, u64, u16)> {
        let w = usize::from(self.hdr.table_width);
        let mut v = Vec::new();
        if run.start >= run.end {
            return v;
        }
        for row in run.start / w..=(run.end - 1) / w {
            if let Some((off, size)) = self.entry_slot(run.base, run.start.max(row * w)) {
                let payload = size.saturating_sub(self.overhead());
                if payload > 0 {
                    v.push((payload, off, row as u16));
                }
            }
        }
        v
    }

    fn add_run(&mut self, run: Run) -> Option<u64> {
        if run.start >= run.end {
            return None;
        }
        let id = self.next_run;
        self.next_run += 1;
        for (size, off, row) in self.run_parts(&run) {
            self.fit.insert((size, off));
            self.parts.insert(off, (id, row));
        }
        self.runs.insert(id, run);
        Some(id)
    }

    fn remove_run(&mut self, id: u64) -> Option<Run> {
        let run = self.runs.remove(&id)?;
        for (size, off, _) in self.run_parts(&run) {
            self.fit.remove(&(size, off));
            self.parts.remove(&off);
        }
        Some(run)
    }

    /// The iterator skips entry `entry` of the indirect block at `base`: run `cur` grows
    /// when it ends right before, else a run starts. Returns the run.
    fn skip_entry(&mut self, base: u64, entry: usize, cur: Option<u64>) -> Option<u64> {
        if let Some(r) = cur.and_then(|id| self.runs.get(&id)).copied() {
            if r.base == base && r.end == entry {
                cur.and_then(|id| self.remove_run(id));
                return self.add_run(Run {
                    end: entry + 1,
                    ..r
                });
            }
        }
        self.add_run(Run {
            base,
            start: entry,
            end: entry + 1,
        })
    }

    /// Take a block from row `row` of run `id` as libhdf5 does: the first block of the
    /// run's first row, the last block of its last row, or the first block of a row in
    /// between (which splits the run). Returns its heap offset and size.
    fn take_from_run(&mut self, id: u64, row: u16) -> Result<(u64, u64)> {
        let run = self
            .remove_run(id)
            .ok_or_else(|| self.err("free section"))?;
        let w = usize::from(self.hdr.table_width);
        let row = usize::from(row);
        let entry = if row == run.start / w {
            self.add_run(Run {
                start: run.start + 1,
                ..run
            });
            run.start
        } else if row == (run.end - 1) / w {
            self.add_run(Run {
                end: run.end - 1,
                ..run
            });
            run.end - 1
        } else {
            let e = row * w;
            self.add_run(Run { end: e, ..run });
            self.add_run(Run {
                start: e + 1,
                ..run
            });
            e
        };
        self.entry_slot(run.base, entry)
            .ok_or_else(|| self.err("free section"))
    }

    /// The root indirect block takes over with `nrows` rows: from an empty heap, or with
    /// the root direct block as its entry 0.
    fn make_root_indirect(&mut self, nrows: u16, from_direct: bool) {
        let mut extra: u128 = self.row_payloads().iter().take(usize::from(nrows)).sum();
        if from_direct {
            let root = u128::from(self.hdr.start_block_size.saturating_sub(self.overhead()));
            extra = extra.saturating_sub(root);
        }
        self.add_free(extra);
        self.hdr.managed_space = sat_u64(self.span(nrows));
        self.hdr.current_root_rows = nrows;
        self.hdr.alloc_iter_offset = if from_direct {
            self.hdr.start_block_size
        } else {
            0
        };
        self.indirect.insert(
            0,
            IBlock {
                addr: None,
                nrows,
                dirty: true,
            },
        );
    }

    /// The root indirect block grows to `new_rows` rows (a new block; the old one is freed).
    fn grow_root(&mut self, new_rows: u16) -> Result<()> {
        let old = self.hdr.current_root_rows;
        let old_size = self.hdr.indirect_block_size(old)?;
        let extra: u128 = self
            .row_payloads()
            .iter()
            .take(usize::from(new_rows))
            .skip(usize::from(old))
            .sum();
        self.add_free(extra);
        self.hdr.managed_space = sat_u64(self.span(new_rows));
        self.hdr.current_root_rows = new_rows;
        let root = self.indirect.entry(0).or_insert(IBlock {
            addr: None,
            nrows: new_rows,
            dirty: true,
        });
        if let Some(a) = root.addr.take() {
            self.freed.push((a, old_size));
        }
        root.nrows = new_rows;
        root.dirty = true;
        Ok(())
    }

    /// Allocate the direct block at heap offset `off` (and the indirect blocks above it).
    fn allocate_block(&mut self, off: u64, size: u64) -> Result<()> {
        let len = usize::try_from(size)
            .map_err(|_| Error::limit(DIRECT, self.hdr.addr, "direct block size", size, 0))?;
        if self.hdr.current_root_rows > 0 {
            let (mut base, mut rows) = (0u64, self.hdr.current_root_rows);
            for _ in 0..=64 {
                match locate(&self.hdr, base, rows, off)? {
                    Slot::Direct { .. } => break,
                    Slot::Indirect {
                        block_offset,
                        nrows,
                        ..
                    } => {
                        if let btree_map::Entry::Vacant(e) = self.indirect.entry(block_offset) {
                            e.insert(IBlock {
                                addr: None,
                                nrows,
                                dirty: true,
                            });
                            if let Some(p) = self.indirect.get_mut(&base) {
                                p.dirty = true;
                            }
                        }
                        (base, rows) = (block_offset, nrows);
                    }
                }
            }
            if let Some(p) = self.indirect.get_mut(&base) {
                p.dirty = true;
            }
        }
        self.direct.insert(
            off,
            DBlock {
                addr: None,
                data: vec![0; len],
                dirty: true,
            },
        );
        self.hdr.allocated_managed_space = self.hdr.allocated_managed_space.saturating_add(size);
        Ok(())
    }

    /// A new direct block of at least `min` bytes at the allocation iterator, growing the
    /// root as needed; smaller blocks passed over become free sections. Returns its offset.
    fn alloc_at_iterator(&mut self, min: u64) -> Result<u64> {
        let mut run = None;
        loop {
            let rows = self.hdr.current_root_rows;
            let iter = self.hdr.alloc_iter_offset;
            if u128::from(iter) >= self.span(rows) {
                let max = self.hdr.max_root_rows();
                if rows >= max {
                    return Err(self.full());
                }
                let needed = self.rows_to_reach(iter, min)?;
                let doubled = rows.saturating_mul(2).min(max);
                self.grow_root(doubled.max(needed).min(max))?;
                continue;
            }
            let (base, entry, off, size) = self.slot_path(rows, iter)?;
            self.hdr.alloc_iter_offset = off.checked_add(size).ok_or_else(|| self.full())?;
            if size >= min {
                self.allocate_block(off, size)?;
                return Ok(off);
            }
            run = self.skip_entry(base, entry, run);
        }
    }

    /// Place `n` bytes: returns the heap offset of the object.
    fn place(&mut self, n: u64) -> Result<u64> {
        let ovh = self.overhead();
        // Best fit among the free sections (smallest, then lowest offset).
        if let Some(&(size, start)) = self.fit.range((n, 0)..).next() {
            if self.remove_single(start).is_some() {
                self.add_single(start + n, size - n);
                return Ok(start);
            }
            let (run, row) = self
                .parts
                .get(&start)
                .copied()
                .ok_or_else(|| self.err("free section"))?;
            let (off, block) = self.take_from_run(run, row)?;
            self.allocate_block(off, block)?;
            self.add_single(off + ovh + n, block.saturating_sub(ovh + n));
            return Ok(off + ovh);
        }
        let start = self.hdr.start_block_size;
        let min = (n + ovh)
            .checked_next_power_of_two()
            .ok_or_else(|| self.full())?
            .max(start);
        let block = if self.hdr.current_root_rows > 0 {
            self.alloc_at_iterator(min)?
        } else if self.direct.is_empty() {
            if min == start {
                self.hdr.managed_space = start;
                self.add_free(u128::from(start.saturating_sub(ovh)));
                self.allocate_block(0, start)?;
                0
            } else {
                let rows = self.initial_rows(0, min)?;
                self.make_root_indirect(rows, false);
                self.alloc_at_iterator(min)?
            }
        } else {
            let rows = self.initial_rows(start, min)?;
            self.make_root_indirect(rows, true);
            self.alloc_at_iterator(min)?
        };
        let size = self.direct.get(&block).map_or(0, |b| b.data.len() as u64);
        self.add_single(block + ovh + n, size.saturating_sub(ovh + n));
        Ok(block + ovh)
    }

    /// The direct block holding `length` bytes at heap offset `offset`, and their range in it.
    fn object_at(&self, offset: u64, length: u64) -> Result<(u64, Range<usize>)> {
        let Some((&boff, b)) = self.direct.range(..=offset).next_back() else {
            return Err(self.err("heap ID (object outside the allocated blocks)"));
        };
        let addr = b.addr.unwrap_or(self.hdr.addr);
        let range = object_range(&self.hdr, addr, boff, b.data.len() as u64, offset, length)?;
        Ok((boff, range))
    }

    fn decode_id(&self, id: &[u8]) -> Result<HeapId> {
        HeapId::decode(id, &self.hdr, self.hdr.sizes, self.hdr.addr)
    }

    /// The first managed change drops a loaded heap's free-space manager.
    fn managed_changed(&mut self) {
        self.header_dirty = true;
        if self.hdr.fsm_addr.take().is_some() {
            self.freed.append(&mut self.fsm);
        }
    }

    /// Insert an object; returns its heap ID ([`Header::heap_id_len`] bytes).
    ///
    /// Objects larger than [`Header::max_managed_obj_size`] are huge: the ID holds the next
    /// huge object ID (`0x10`, then the ID in the ID's other bytes, at most 8), and the
    /// object gets file space of its own at the next [`HeapEdit::store`]. Of the others,
    /// objects no longer than the ID allows (6 bytes for 7-byte IDs) become tiny objects
    /// inside the ID; the rest are managed, placed as described on [`HeapEdit`].
    ///
    /// # Errors
    /// `Invalid` for an empty object; `Limit` when the heap address space is full;
    /// `Unsupported` for huge objects of heaps whose huge object IDs hold addresses or
    /// whose huge object ID counter wrapped around (libhdf5 refuses those too).
    pub fn insert(&mut self, obj: &[u8]) -> Result<Vec<u8>> {
        let n = obj.len() as u64;
        let id_len = usize::from(self.hdr.heap_id_len);
        if n == 0 {
            return Err(self.err("heap object (empty)"));
        }
        if n > self.managed_limit() {
            return self.insert_huge(obj);
        }
        if n <= self.tiny_limit() {
            let mut id = Vec::with_capacity(id_len);
            let len = obj.len() - 1;
            if id_len > TINY_NORMAL_MAX_ID_LEN {
                id.push(0x20 | (len >> 8) as u8);
                id.push(len as u8);
            } else {
                id.push(0x20 | len as u8);
            }
            id.extend_from_slice(obj);
            id.resize(id_len, 0);
            self.hdr.tiny_count = self.hdr.tiny_count.saturating_add(1);
            self.hdr.tiny_size = self.hdr.tiny_size.saturating_add(n);
            self.header_dirty = true;
            return Ok(id);
        }
        if id_len < 1 + self.hdr.heap_off_size() + self.hdr.heap_len_size() {
            return Err(self.err("heap ID length (too short for a managed object)"));
        }
        let at = self.place(n)?;
        self.write_at(at, obj)?;
        self.hdr.managed_count = self.hdr.managed_count.saturating_add(1);
        self.hdr.free_space = self.hdr.free_space.saturating_sub(n);
        self.managed_changed();
        let mut id = Vec::with_capacity(id_len);
        id.push(0);
        id.extend_from_slice(&at.to_le_bytes()[..self.hdr.heap_off_size()]);
        id.extend_from_slice(&n.to_le_bytes()[..self.hdr.heap_len_size()]);
        id.resize(id_len, 0);
        Ok(id)
    }

    fn insert_huge(&mut self, obj: &[u8]) -> Result<Vec<u8>> {
        if self.huge_direct() {
            return Err(self.huge_unsupported());
        }
        if self.hdr.flags & FLAG_HUGE_IDS_WRAPPED != 0 {
            return Err(Error::unsupported(
                HEADER,
                self.hdr.addr,
                "huge object IDs that wrapped around",
            ));
        }
        let max = self.huge_max_id();
        let Some(id) = self.hdr.next_huge_id.checked_add(1).filter(|&i| i <= max) else {
            return Err(Error::limit(
                HEADER,
                self.hdr.addr,
                "next huge object ID",
                self.hdr.next_huge_id.saturating_add(1),
                max,
            ));
        };
        let sizes = self.hdr.sizes;
        let n = obj.len() as u64;
        // The record names the object's address once it has one (at store).
        let rec = self.huge_record(0, n, id);
        let tree = match &mut self.huge_tree {
            Some(t) => t,
            None => self.huge_tree.insert(TreeEdit::new(
                HUGE_RECORD_TYPE,
                rec.len() as u16,
                btree2::DENSE_NODE_SIZE,
                btree2::SPLIT_PERCENT,
                btree2::MERGE_PERCENT,
                sizes,
            )?),
        };
        if !tree.insert::<_, Error>(&rec, &mut Self::huge_cmp(sizes, id))? {
            return Err(Error::invalid(
                HUGE_TREE,
                self.hdr.addr,
                "huge object ID (in use)",
            ));
        }
        self.huge.insert(
            id,
            HugeObject {
                addr: None,
                data: obj.to_vec(),
                dirty: true,
            },
        );
        let h = &mut self.hdr;
        h.next_huge_id = id;
        if id == max {
            h.flags |= FLAG_HUGE_IDS_WRAPPED;
        }
        h.huge_count = h.huge_count.saturating_add(1);
        h.huge_size = h.huge_size.saturating_add(n);
        self.header_dirty = true;
        Ok(self.huge_id(id))
    }

    fn write_at(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let (boff, range) = self.object_at(at, bytes.len() as u64)?;
        let b = self
            .direct
            .get_mut(&boff)
            .ok_or_else(|| Error::invalid(HEADER, at, "heap offset"))?;
        b.data[range].copy_from_slice(bytes);
        b.dirty = true;
        Ok(())
    }

    /// The object a heap ID names (huge objects from memory: see [`HeapEdit`]).
    ///
    /// # Errors
    /// `Invalid` for an ID this heap cannot have given out (see [`HeapId::decode`]), a
    /// managed object outside the allocated blocks or a huge object ID the heap does not
    /// hold; `Unsupported` for directly accessed huge objects.
    pub fn get(&self, id: &[u8]) -> Result<Vec<u8>> {
        match self.decode_id(id)? {
            HeapId::Tiny { range } => Ok(id[range].to_vec()),
            HeapId::Managed { offset, length } => {
                let (boff, range) = self.object_at(offset, length)?;
                Ok(self
                    .direct
                    .get(&boff)
                    .map_or(Vec::new(), |b| b.data[range].to_vec()))
            }
            other => {
                let key = self.huge_key(other)?;
                Ok(self.huge.get(&key).map_or(Vec::new(), |o| o.data.clone()))
            }
        }
    }

    /// Overwrite a managed or huge object with bytes of the same length (libhdf5 rewrites an
    /// attribute's value in place this way; a stored huge object is rewritten where it is).
    ///
    /// # Errors
    /// As [`HeapEdit::get`]; `Invalid` when the length differs; `Unsupported` for tiny
    /// objects (their bytes are the ID).
    pub fn overwrite(&mut self, id: &[u8], obj: &[u8]) -> Result<()> {
        match self.decode_id(id)? {
            HeapId::Managed { offset, length } => {
                if length != obj.len() as u64 {
                    return Err(self.err("heap object (overwritten with another length)"));
                }
                self.write_at(offset, obj)
            }
            HeapId::Tiny { .. } => Err(Error::unsupported(
                HEADER,
                self.hdr.addr,
                "overwriting tiny fractal heap objects",
            )),
            other => {
                let key = self.huge_key(other)?;
                let bad = self.err("heap object (overwritten with another length)");
                let o = self.huge.get_mut(&key).ok_or(bad.clone())?;
                if o.data.len() != obj.len() {
                    return Err(bad);
                }
                o.data.copy_from_slice(obj);
                o.dirty = true;
                Ok(())
            }
        }
    }

    /// Remove an object: a managed object's bytes are zeroed and become free space (merged
    /// with free neighbours, reused by later inserts); the statistics follow. Removing the
    /// last managed object empties the managed part of the heap (every block freed, the root
    /// address undefined), as libhdf5 does.
    ///
    /// Blocks that become empty otherwise stay allocated (libhdf5 would free them). Removing
    /// an object twice is detected within a session, and across sessions once
    /// [`HeapEdit::track_free_space`] was given the live IDs; the caller passes IDs of live
    /// objects (an ID naming part of an object is not detected).
    ///
    /// A huge object leaves the B-tree, and its file space goes to [`Stored::freed`] at the
    /// next store (removing a huge object twice is always detected).
    ///
    /// # Errors
    /// As [`HeapEdit::get`]; `Invalid` when the object overlaps known free space.
    pub fn remove(&mut self, id: &[u8]) -> Result<()> {
        match self.decode_id(id)? {
            HeapId::Tiny { range } => {
                self.hdr.tiny_count = self.hdr.tiny_count.saturating_sub(1);
                self.hdr.tiny_size = self.hdr.tiny_size.saturating_sub(range.len() as u64);
                self.header_dirty = true;
                Ok(())
            }
            HeapId::Managed { offset, length } => {
                if length == 0 || self.hdr.managed_count == 0 {
                    return Err(self.err("heap ID (no such object)"));
                }
                let end = offset + length;
                let (boff, range) = self.object_at(offset, length)?;
                if let Some((&s, &n)) = self.singles.range(..end).next_back() {
                    if s + n > offset {
                        return Err(self.err("heap ID (object already removed)"));
                    }
                }
                if let Some(b) = self.direct.get_mut(&boff) {
                    b.data[range].fill(0);
                    b.dirty = true;
                }
                let mut start = offset;
                let mut size = length;
                if let Some((&s, &n)) = self.singles.range(..offset).next_back() {
                    if s + n == offset {
                        self.remove_single(s);
                        start = s;
                        size += n;
                    }
                }
                if let Some(n) = self.remove_single(end) {
                    size += n;
                }
                self.add_single(start, size);
                self.hdr.managed_count -= 1;
                self.hdr.free_space = self.hdr.free_space.saturating_add(length);
                self.managed_changed();
                if self.hdr.managed_count == 0 {
                    self.empty_managed()?;
                }
                Ok(())
            }
            other => {
                let key = self.huge_key(other)?;
                let sizes = self.hdr.sizes;
                let removed = match &mut self.huge_tree {
                    Some(t) => t.remove::<Error>(&mut Self::huge_cmp(sizes, key))?,
                    None => None,
                };
                if removed.is_none() {
                    return Err(Error::invalid(
                        HUGE_TREE,
                        self.hdr.huge_btree_addr.unwrap_or(self.hdr.addr),
                        "huge object ID (not in the B-tree)",
                    ));
                }
                if let Some(o) = self.huge.remove(&key) {
                    let n = o.data.len() as u64;
                    if let Some(a) = o.addr {
                        self.freed.push((a, n));
                    }
                    let h = &mut self.hdr;
                    h.huge_count = h.huge_count.saturating_sub(1);
                    h.huge_size = h.huge_size.saturating_sub(n);
                }
                self.header_dirty = true;
                Ok(())
            }
        }
    }

    /// Drop every managed block: the state of a heap with no managed object.
    fn empty_managed(&mut self) -> Result<()> {
        for b in self.direct.values() {
            if let Some(a) = b.addr {
                self.freed.push((a, b.data.len() as u64));
            }
        }
        for ib in self.indirect.values() {
            if let Some(a) = ib.addr {
                self.freed
                    .push((a, self.hdr.indirect_block_size(ib.nrows)?));
            }
        }
        self.direct.clear();
        self.indirect.clear();
        self.fit.clear();
        self.singles.clear();
        self.runs.clear();
        self.parts.clear();
        let h = &mut self.hdr;
        h.free_space = 0;
        h.managed_space = 0;
        h.allocated_managed_space = 0;
        h.alloc_iter_offset = 0;
        h.current_root_rows = 0;
        h.root_addr = None;
        self.header_dirty = true;
        Ok(())
    }

    /// Learn the free space inside the allocated blocks of a loaded heap from the IDs of
    /// every live object (the records of the index over the heap): the gaps between them
    /// become free sections that later inserts fill, best fit first, as libhdf5 fills the
    /// sections of its free-space manager. Tiny and huge IDs are ignored.
    ///
    /// # Errors
    /// `Invalid` when the managed IDs are not as many as [`Header::managed_count`], lie
    /// outside the allocated blocks, or overlap.
    pub fn track_free_space<'a>(&mut self, live: impl IntoIterator<Item = &'a [u8]>) -> Result<()> {
        let mut objs = Vec::new();
        for id in live {
            if let HeapId::Managed { offset, length } = self.decode_id(id)? {
                objs.push((offset, length));
            }
        }
        if objs.len() as u64 != self.hdr.managed_count {
            return Err(self.err("live heap IDs (not as many as the managed objects)"));
        }
        objs.sort_unstable();
        let ovh = self.overhead();
        let bad = || self.err("live heap IDs (overlapping, or outside the allocated blocks)");
        let mut gaps = Vec::new();
        let mut it = objs.iter().peekable();
        for (&boff, b) in &self.direct {
            let end = boff + b.data.len() as u64;
            let mut cursor = boff + ovh;
            while let Some(&&(o, n)) = it.peek() {
                if o >= end {
                    break;
                }
                if o < cursor {
                    return Err(bad());
                }
                gaps.push((cursor, o - cursor));
                cursor = o.checked_add(n).filter(|&c| c <= end).ok_or_else(bad)?;
                it.next();
            }
            gaps.push((cursor, end - cursor));
        }
        if it.next().is_some() {
            return Err(bad());
        }
        for (start, size) in core::mem::take(&mut self.singles) {
            self.fit.remove(&(size, start));
        }
        for (start, size) in gaps {
            self.add_single(start, size);
        }
        Ok(())
    }

    /// Every extent the heap occupies (header, blocks, a loaded heap's free-space manager,
    /// huge objects, the huge-object B-tree's header and nodes), plus the extents retired
    /// since the last store that [`HeapEdit::store`] would free: what to free when the
    /// whole heap is deleted instead of stored. What is not stored yet has no extent.
    pub fn extents(&self) -> Result<Vec<(u64, u64)>> {
        let mut v = Vec::new();
        if self.placed {
            v.push((self.hdr.addr, self.hdr.encode().len() as u64));
        }
        v.extend(self.fsm.iter().copied());
        for b in self.direct.values() {
            if let Some(a) = b.addr {
                v.push((a, b.data.len() as u64));
            }
        }
        for ib in self.indirect.values() {
            if let Some(a) = ib.addr {
                v.push((a, self.hdr.indirect_block_size(ib.nrows)?));
            }
        }
        for o in self.huge.values() {
            if let Some(a) = o.addr {
                v.push((a, o.data.len() as u64));
            }
        }
        if let Some(t) = &self.huge_tree {
            v.extend(t.clone().delete());
        }
        v.extend(self.freed.iter().copied());
        Ok(v)
    }

    /// The entries of the indirect block at heap offset `base` with `nrows` rows.
    fn indirect_entries(&self, base: u64, nrows: u16) -> IndirectBlock {
        let h = &self.hdr;
        let width = usize::from(h.table_width);
        let max_direct = h.max_direct_rows();
        let offset = |row: u16, col: usize| {
            let size = h.row_block_size(row)?;
            h.row_block_offset(row)?
                .checked_add(size.checked_mul(col as u64)?)?
                .checked_add(base)
        };
        let mut direct = Vec::new();
        for row in 0..nrows.min(max_direct) {
            for col in 0..width {
                let addr = offset(row, col)
                    .and_then(|o| self.direct.get(&o))
                    .and_then(|b| b.addr);
                direct.push(DirectEntry {
                    addr,
                    filtered_size: None,
                    filter_mask: 0,
                });
            }
        }
        let mut indirect = Vec::new();
        for row in max_direct..nrows {
            for col in 0..width {
                indirect.push(
                    offset(row, col)
                        .and_then(|o| self.indirect.get(&o))
                        .and_then(|b| b.addr),
                );
            }
        }
        IndirectBlock {
            addr: 0,
            block_offset: base,
            nrows,
            direct,
            indirect,
        }
    }

    /// Encode what changed since the last load or store.
    ///
    /// New blocks get addresses from `alloc(size)`, called in this order: the header (a new
    /// heap only), new direct blocks by heap offset, new indirect blocks by row count then
    /// heap offset (children before their parents; a root indirect block that grew is new),
    /// new huge objects by huge object ID, then the huge-object B-tree as
    /// [`TreeEdit::store`] allocates (its header when new, then changed nodes).
    /// `writes` holds the changed direct blocks, then the changed indirect blocks (children
    /// first), then the new or overwritten huge objects, the B-tree's nodes (children
    /// first) and its header, and last the heap header (in place for a loaded heap), so
    /// nothing is written before what it names. `freed` holds the extents retired since
    /// the last store (a root indirect block that grew, a dropped free-space manager, the
    /// blocks of an emptied heap, removed huge objects, B-tree nodes rewritten elsewhere).
    /// When the heap has no huge object left, the B-tree is deleted (all of it freed) and
    /// the header's huge-object fields reset — B-tree address undefined, next huge object ID
    /// 0, the wrapped flag cleared — as libhdf5 does when it closes such a heap. Returns the
    /// header address.
    ///
    /// # Errors
    /// `Invalid` only for an inconsistent table (which the editing methods do not build);
    /// `Limit` from [`TreeEdit::store`] (an address or count the file's sizes cannot hold),
    /// after which the edit must be discarded.
    pub fn store(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)> {
        let mut out = Stored::default();
        if !self.placed {
            self.hdr.addr = alloc(self.hdr.encode().len() as u64);
            self.placed = true;
            self.header_dirty = true;
        }
        for b in self.direct.values_mut() {
            if b.addr.is_none() {
                b.addr = Some(alloc(b.data.len() as u64));
                b.dirty = true;
            }
        }
        let mut order: Vec<(u16, u64)> = self
            .indirect
            .iter()
            .map(|(&off, ib)| (ib.nrows, off))
            .collect();
        order.sort_unstable();
        for &(nrows, off) in &order {
            let size = self.hdr.indirect_block_size(nrows)?;
            if let Some(ib) = self.indirect.get_mut(&off) {
                if ib.addr.is_none() {
                    ib.addr = Some(alloc(size));
                    ib.dirty = true;
                }
            }
        }
        for (&off, b) in self.direct.iter_mut() {
            if let (true, Some(a)) = (b.dirty, b.addr) {
                seal_direct_block(&self.hdr, off, &mut b.data)?;
                out.writes.push((a, b.data.clone()));
                b.dirty = false;
            }
        }
        for &(nrows, off) in &order {
            let Some(ib) = self.indirect.get(&off) else {
                continue;
            };
            if let (true, Some(a)) = (ib.dirty, ib.addr) {
                out.writes
                    .push((a, self.indirect_entries(off, nrows).encode(&self.hdr)));
                if let Some(ib) = self.indirect.get_mut(&off) {
                    ib.dirty = false;
                }
            }
        }
        self.store_huge(alloc, &mut out)?;
        let root = if self.hdr.current_root_rows == 0 {
            self.direct.get(&0).and_then(|b| b.addr)
        } else {
            self.indirect.get(&0).and_then(|b| b.addr)
        };
        if root != self.hdr.root_addr {
            self.hdr.root_addr = root;
            self.header_dirty = true;
        }
        if self.header_dirty {
            out.writes.push((self.hdr.addr, self.hdr.encode()));
            self.header_dirty = false;
        }
        out.freed.append(&mut self.freed);
        Ok((self.hdr.addr, out))
    }

    /// The huge-object part of [`HeapEdit::store`].
    fn store_huge(&mut self, alloc: &mut dyn FnMut(u64) -> u64, out: &mut Stored) -> Result<()> {
        let Some(tree) = self.huge_tree.as_mut() else {
            return Ok(());
        };
        if self.huge.is_empty() {
            // libhdf5 deletes the B-tree of a heap without huge objects when it closes it.
            if let Some(t) = self.huge_tree.take() {
                self.freed.extend(t.delete());
            }
            let h = &mut self.hdr;
            h.huge_btree_addr = None;
            h.next_huge_id = 0;
            h.flags &= !FLAG_HUGE_IDS_WRAPPED;
            self.header_dirty = true;
            return Ok(());
        }
        let sizes = self.hdr.sizes;
        for (&id, o) in self.huge.iter_mut() {
            if o.addr.is_none() {
                let n = o.data.len() as u64;
                let a = alloc(n);
                o.addr = Some(a);
                o.dirty = true;
                let mut w = Writer::new(sizes);
                w.offset(Some(a)).length(n).length(id);
                if !tree.replace::<_, Error>(w.finish(), &mut Self::huge_cmp(sizes, id))? {
                    return Err(Error::invalid(
                        HUGE_TREE,
                        self.hdr.addr,
                        "huge object ID (not in the B-tree)",
                    ));
                }
            }
        }
        for o in self.huge.values_mut() {
            if let (true, Some(a)) = (o.dirty, o.addr) {
                out.writes.push((a, o.data.clone()));
                o.dirty = false;
            }
        }
        let (at, st) = tree.store(self.hdr.huge_btree_addr, alloc)?;
        out.writes.extend(st.writes);
        self.freed.extend(st.freed);
        if self.hdr.huge_btree_addr != Some(at) {
            self.hdr.huge_btree_addr = Some(at);
            self.header_dirty = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const SIZES: Sizes = Sizes::DEFAULT;
    const HDR_ADDR: u64 = 0x400;

    fn put(v: &mut Vec<u8>, x: u64, n: usize) {
        v.extend_from_slice(&x.to_le_bytes()[..n]);
    }

    fn put_addr(v: &mut Vec<u8>, a: Option<u64>, n: usize) {
        put(v, a.unwrap_or(u64::MAX), n);
    }

    fn seal(mut v: Vec<u8>) -> Vec<u8> {
        let sum = lookup3::checksum(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    /// Header parameters for the test encoder; defaults are what libhdf5 uses for a dense
    /// group's link heap.
    #[derive(Clone)]
    struct Spec {
        version: u8,
        heap_id_len: u16,
        flags: u8,
        max_managed: u32,
        managed_space: u64,
        width: u16,
        start: u64,
        max_direct: u64,
        bits: u16,
        start_rows: u16,
        root: Option<u64>,
        rows: u16,
        filters: Option<(u64, u32, Vec<u8>)>,
    }

    impl Default for Spec {
        fn default() -> Self {
            Spec {
                version: 0,
                heap_id_len: 7,
                flags: FLAG_CHECKSUMMED_DIRECT_BLOCKS,
                max_managed: 4096,
                managed_space: 1 << 20,
                width: 4,
                start: 512,
                max_direct: 65536,
                bits: 32,
                start_rows: 1,
                root: Some(0x2000),
                rows: 0,
                filters: None,
            }
        }
    }

    fn encode_header(s: &Spec) -> Vec<u8> {
        let (o, l) = (8, 8);
        let mut v = b"FRHP".to_vec();
        v.push(s.version);
        put(&mut v, u64::from(s.heap_id_len), 2);
        let flen = s.filters.as_ref().map_or(0, |f| f.2.len());
        put(&mut v, flen as u64, 2);
        v.push(s.flags);
        put(&mut v, u64::from(s.max_managed), 4);
        put(&mut v, 5, l); // next huge id
        put_addr(&mut v, Some(0x9000), o); // huge B-tree
        put(&mut v, 100, l); // free space
        put_addr(&mut v, None, o); // free-space manager
        put(&mut v, s.managed_space, l);
        put(&mut v, s.managed_space, l); // allocated
        put(&mut v, 1024, l); // iterator offset
        put(&mut v, 12, l); // managed count
        put(&mut v, 0, l); // huge size
        put(&mut v, 0, l); // huge count
        put(&mut v, 30, l); // tiny size
        put(&mut v, 3, l); // tiny count
        put(&mut v, u64::from(s.width), 2);
        put(&mut v, s.start, l);
        put(&mut v, s.max_direct, l);
        put(&mut v, u64::from(s.bits), 2);
        put(&mut v, u64::from(s.start_rows), 2);
        put_addr(&mut v, s.root, o);
        put(&mut v, u64::from(s.rows), 2);
        if let Some((size, mask, pipeline)) = &s.filters {
            put(&mut v, *size, l);
            put(&mut v, u64::from(*mask), 4);
            v.extend_from_slice(pipeline);
        }
        seal(v)
    }

    fn header(s: &Spec) -> Header {
        Header::decode(&encode_header(s), HDR_ADDR, SIZES).unwrap()
    }

    fn invalid(e: Error) -> &'static str {
        match e.kind {
            ErrorKind::Invalid(what) => what,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn header_fields_and_geometry() {
        let h = header(&Spec::default());
        assert_eq!(h.addr, HDR_ADDR);
        assert_eq!(h.heap_id_len, 7);
        assert_eq!(h.io_filters_len, 0);
        assert_eq!(h.max_managed_obj_size, 4096);
        assert_eq!(h.next_huge_id, 5);
        assert_eq!(h.huge_btree_addr, Some(0x9000));
        assert_eq!(h.free_space, 100);
        assert_eq!(h.fsm_addr, None);
        assert_eq!(h.alloc_iter_offset, 1024);
        assert_eq!((h.managed_count, h.tiny_size, h.tiny_count), (12, 30, 3));
        assert_eq!(
            (h.table_width, h.start_block_size, h.max_direct_block_size),
            (4, 512, 65536)
        );
        assert_eq!((h.max_heap_bits, h.start_root_rows), (32, 1));
        assert_eq!((h.root_addr, h.current_root_rows), (Some(0x2000), 0));
        assert_eq!((h.filtered_root_size, h.root_filter_mask), (None, None));
        assert!(h.filter_pipeline.is_empty());
        assert!(h.checksummed_direct_blocks());
        assert!(!h.has_io_filters());

        assert_eq!(h.heap_off_size(), 4);
        // min(enc(65536) = 3, enc(4096) = 2)
        assert_eq!(h.heap_len_size(), 2);
        assert_eq!(h.first_row_bits(), 11);
        assert_eq!(h.max_direct_rows(), 9);
        assert_eq!(h.max_root_rows(), 22);
        let sizes: Vec<_> = (0..5).map(|r| h.row_block_size(r).unwrap()).collect();
        assert_eq!(sizes, [512, 512, 1024, 2048, 4096]);
        let offs: Vec<_> = (0..5).map(|r| h.row_block_offset(r).unwrap()).collect();
        assert_eq!(offs, [0, 2048, 4096, 8192, 16384]);
        assert_eq!(h.row_block_size(8), Some(65536));
        assert_eq!(h.row_block_size(21), Some(512 << 20));
        assert_eq!(h.row_block_offset(21), Some(1 << 31));
        assert_eq!(h.row_block_size(22), None);
        assert_eq!(h.row_block_offset(22), None);
        // 4 + 1 + 8 + 4 + checksum 4
        assert_eq!(h.direct_block_header_size(), 21);
        // 4 + 1 + 8 + 4 + 4 entries · 8 + 4
        assert_eq!(h.indirect_block_size(1).unwrap(), 53);
        // 17 + 9 · 4 · 8 + 1 · 4 · 8 + 4
        assert_eq!(h.indirect_block_size(10).unwrap(), 341);
        assert!(h.indirect_block_size(0).is_err());
        assert!(h.indirect_block_size(23).is_err());
        // Row 9 holds 128 KiB blocks: 2^17 needs 17 − 11 + 1 = 7 rows.
        assert_eq!(h.child_indirect_rows(9).unwrap(), 7);
        assert_eq!(h.child_indirect_rows(10).unwrap(), 8);
        assert_eq!(h.child_indirect_rows(21).unwrap(), 19);
        assert!(h.child_indirect_rows(8).is_err());
        assert!(h.child_indirect_rows(22).is_err());

        let unchecked = header(&Spec {
            flags: 0,
            ..Spec::default()
        });
        assert_eq!(unchecked.direct_block_header_size(), 17);
    }

    #[test]
    fn header_with_filters() {
        let pipeline = vec![2, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        let s = Spec {
            filters: Some((700, 0b10, pipeline.clone())),
            ..Spec::default()
        };
        let h = header(&s);
        assert_eq!(h.io_filters_len, 12);
        assert_eq!(h.filtered_root_size, Some(700));
        assert_eq!(h.root_filter_mask, Some(2));
        assert_eq!(h.filter_pipeline, pipeline);
        assert_eq!(h.direct_entry_size(), 20);
        // 17 + 4 · 20 + 4
        assert_eq!(h.indirect_block_size(1).unwrap(), 101);
    }

    #[test]
    fn header_errors() {
        let good = encode_header(&Spec::default());
        assert!(Header::decode(&good, HDR_ADDR, SIZES).is_ok());
        for n in 0..good.len() {
            let e = Header::decode(&good[..n], HDR_ADDR, SIZES).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }
        let mut bad_sig = good.clone();
        bad_sig[0] = b'X';
        let e = Header::decode(&bad_sig, HDR_ADDR, SIZES).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, HDR_ADDR));
        let e = Header::decode(
            &encode_header(&Spec {
                version: 1,
                ..Spec::default()
            }),
            0,
            SIZES,
        )
        .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadVersion(1), 4));
        let mut corrupt = good.clone();
        corrupt[20] ^= 1;
        let e = Header::decode(&corrupt, HDR_ADDR, SIZES).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, HDR_ADDR + good.len() as u64 - 4);

        let cases: [(Spec, &str); 11] = [
            (
                Spec {
                    heap_id_len: 0,
                    ..Spec::default()
                },
                "heap ID length",
            ),
            (
                Spec {
                    width: 0,
                    ..Spec::default()
                },
                "table width",
            ),
            (
                Spec {
                    width: 3,
                    ..Spec::default()
                },
                "table width",
            ),
            (
                Spec {
                    start: 0,
                    ..Spec::default()
                },
                "starting block size",
            ),
            (
                Spec {
                    start: 513,
                    ..Spec::default()
                },
                "starting block size",
            ),
            (
                Spec {
                    max_direct: 256,
                    ..Spec::default()
                },
                "maximum direct block size",
            ),
            (
                Spec {
                    max_direct: 65535,
                    ..Spec::default()
                },
                "maximum direct block size",
            ),
            (
                Spec {
                    bits: 0,
                    ..Spec::default()
                },
                "maximum heap size",
            ),
            (
                Spec {
                    bits: 65,
                    ..Spec::default()
                },
                "maximum heap size",
            ),
            (
                Spec {
                    bits: 10,
                    managed_space: 0,
                    ..Spec::default()
                },
                "maximum heap size",
            ),
            (
                Spec {
                    rows: 23,
                    ..Spec::default()
                },
                "current # of rows",
            ),
        ];
        for (spec, what) in cases {
            let e = Header::decode(&encode_header(&spec), HDR_ADDR, SIZES).unwrap_err();
            assert!(invalid(e).starts_with(what), "{what}");
        }
        let e = Header::decode(
            &encode_header(&Spec {
                start_rows: 23,
                ..Spec::default()
            }),
            0,
            SIZES,
        )
        .unwrap_err();
        assert!(invalid(e).starts_with("starting # of rows"));
        let e = Header::decode(
            &encode_header(&Spec {
                managed_space: 1 << 33,
                ..Spec::default()
            }),
            0,
            SIZES,
        )
        .unwrap_err();
        assert!(invalid(e).starts_with("amount of managed space"));
    }

    #[test]
    fn extreme_headers_do_not_overflow() {
        // A 64-bit heap whose first row already spans 2^64: one row, no overflow anywhere.
        let s = Spec {
            width: 2,
            start: 1 << 63,
            max_direct: 1 << 63,
            bits: 64,
            managed_space: u64::MAX - 1,
            ..Spec::default()
        };
        let h = header(&s);
        assert_eq!(h.first_row_bits(), 64);
        assert_eq!(h.max_root_rows(), 1);
        assert_eq!(h.heap_off_size(), 8);
        assert_eq!(h.row_block_size(0), Some(1 << 63));
        assert_eq!(h.row_block_size(1), None);
        assert_eq!(h.indirect_block_size(1).unwrap(), 4 + 1 + 8 + 8 + 2 * 8 + 4);
        assert_eq!(
            locate(&h, 0, 1, u64::MAX).unwrap(),
            Slot::Direct {
                entry: 1,
                block_offset: 1 << 63,
                block_size: 1 << 63
            }
        );
        // Widest table, smallest blocks, 64-bit heap: sizes stay finite.
        let s = Spec {
            width: 32768,
            start: 1,
            max_direct: 1,
            bits: 64,
            ..Spec::default()
        };
        let h = header(&s);
        assert_eq!(h.max_root_rows(), 50);
        assert_eq!(h.max_direct_rows(), 2);
        assert!(h.indirect_block_size(50).is_ok());
        // Row 2 holds 2-byte blocks: smaller than one row (32768 bytes) of a child.
        assert!(h.child_indirect_rows(2).is_err());
        for off in [0, 1, 32767, 32768, 65535] {
            assert!(
                matches!(locate(&h, 0, 50, off), Ok(Slot::Direct { .. })),
                "{off}"
            );
        }
        // Row 2's 2-byte blocks cannot be indirect blocks.
        assert!(locate(&h, 0, 50, 65536).is_err());
        // Rows 48 and 49 hold 2^47- and 2^48-byte children of 33 and 34 rows.
        assert_eq!(
            locate(&h, 0, 50, u64::MAX / 2).unwrap(),
            Slot::Indirect {
                entry: 46 * 32768 + 32767,
                block_offset: (1 << 62) + 32767 * (1 << 47),
                nrows: 33
            }
        );
        assert_eq!(
            locate(&h, 0, 50, u64::MAX).unwrap(),
            Slot::Indirect {
                entry: 47 * 32768 + 32767,
                block_offset: (1 << 63) + 32767 * (1 << 48),
                nrows: 34
            }
        );
    }

    fn encode_indirect(h: &Header, nrows: u16, block_offset: u64, heap_addr: u64) -> Vec<u8> {
        let mut v = b"FHIB".to_vec();
        v.push(0);
        put(&mut v, heap_addr, 8);
        put(&mut v, block_offset, h.heap_off_size());
        let width = u64::from(h.table_width);
        let ndirect = u64::from(nrows.min(h.max_direct_rows())) * width;
        for i in 0..ndirect {
            put_addr(&mut v, (i % 3 != 2).then_some(0x10000 + i * 0x100), 8);
            if h.has_io_filters() {
                put(&mut v, 300 + i, 8);
                put(&mut v, i, 4);
            }
        }
        for i in 0..u64::from(nrows.saturating_sub(h.max_direct_rows())) * width {
            put_addr(&mut v, (i != 1).then_some(0x80000 + i * 0x1000), 8);
        }
        seal(v)
    }

    #[test]
    fn indirect_block_decodes() {
        let h = header(&Spec {
            rows: 10,
            ..Spec::default()
        });
        let buf = encode_indirect(&h, 10, 0, HDR_ADDR);
        assert_eq!(buf.len() as u64, h.indirect_block_size(10).unwrap());
        let ib = IndirectBlock::decode(&buf, 0x2000, SIZES, &h, 10).unwrap();
        assert_eq!((ib.addr, ib.block_offset, ib.nrows), (0x2000, 0, 10));
        assert_eq!(ib.direct.len(), 36);
        assert_eq!(ib.indirect.len(), 4);
        assert_eq!(
            ib.direct[0],
            DirectEntry {
                addr: Some(0x10000),
                filtered_size: None,
                filter_mask: 0
            }
        );
        assert_eq!(ib.direct[2].addr, None);
        assert_eq!(ib.direct[34].addr, Some(0x10000 + 34 * 0x100));
        assert_eq!(ib.direct[35].addr, None);
        assert_eq!(
            ib.indirect,
            [Some(0x80000), None, Some(0x82000), Some(0x83000)]
        );

        // A trailing slack after the block is fine.
        let mut longer = buf.clone();
        longer.extend_from_slice(&[0xAA; 16]);
        assert_eq!(
            IndirectBlock::decode(&longer, 0x2000, SIZES, &h, 10).unwrap(),
            ib
        );

        // A small root with only direct rows, and a filtered heap.
        let ib = IndirectBlock::decode(&encode_indirect(&h, 1, 0, HDR_ADDR), 0x2000, SIZES, &h, 1)
            .unwrap();
        assert_eq!((ib.direct.len(), ib.indirect.len()), (4, 0));
        let f = header(&Spec {
            rows: 2,
            filters: Some((0, 0, vec![0; 8])),
            ..Spec::default()
        });
        let ib = IndirectBlock::decode(&encode_indirect(&f, 2, 0, HDR_ADDR), 0x2000, SIZES, &f, 2)
            .unwrap();
        assert_eq!(ib.direct.len(), 8);
        assert_eq!(
            ib.direct[7],
            DirectEntry {
                addr: Some(0x10700),
                filtered_size: Some(307),
                filter_mask: 7
            }
        );
    }

    #[test]
    fn indirect_block_errors() {
        let h = header(&Spec {
            rows: 10,
            ..Spec::default()
        });
        let buf = encode_indirect(&h, 10, 0, HDR_ADDR);
        for n in 0..buf.len() {
            let e = IndirectBlock::decode(&buf[..n], 0x2000, SIZES, &h, 10).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }
        let mut bad = buf.clone();
        bad[1] = b'X';
        let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadSignature);
        let mut bad = buf.clone();
        bad[4] = 1;
        let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadVersion(1), 0x2004));
        let mut bad = buf.clone();
        bad[30] ^= 0x40;
        let e = IndirectBlock::decode(&bad, 0x2000, SIZES, &h, 10).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x2000 + buf.len() as u64 - 4);

        let wrong_heap = encode_indirect(&h, 10, 0, HDR_ADDR + 8);
        let e = IndirectBlock::decode(&wrong_heap, 0x2000, SIZES, &h, 10).unwrap_err();
        assert_eq!(e.offset, 0x2005);
        assert_eq!(invalid(e), "heap header address");
        let past_heap = encode_indirect(
            &header(&Spec {
                bits: 20,
                ..Spec::default()
            }),
            1,
            1 << 21,
            HDR_ADDR,
        );
        let small = header(&Spec {
            bits: 20,
            ..Spec::default()
        });
        let e = IndirectBlock::decode(&past_heap, 0x2000, SIZES, &small, 1).unwrap_err();
        assert_eq!(invalid(e), "block offset");
        for rows in [0, 23] {
            let e = IndirectBlock::decode(&buf, 0x2000, SIZES, &h, rows).unwrap_err();
            assert_eq!(invalid(e), "number of rows");
        }
        let other = Sizes {
            offset: 4,
            length: 8,
        };
        assert!(IndirectBlock::decode(&buf, 0x2000, other, &h, 10).is_err());
    }

    #[test]
    fn locate_in_root() {
        let h = header(&Spec {
            rows: 10,
            ..Spec::default()
        });
        let direct = |entry, block_offset, block_size| Slot::Direct {
            entry,
            block_offset,
            block_size,
        };
        assert_eq!(locate(&h, 0, 10, 0).unwrap(), direct(0, 0, 512));
        assert_eq!(locate(&h, 0, 10, 511).unwrap(), direct(0, 0, 512));
        assert_eq!(locate(&h, 0, 10, 512).unwrap(), direct(1, 512, 512));
        assert_eq!(locate(&h, 0, 10, 2047).unwrap(), direct(3, 1536, 512));
        assert_eq!(locate(&h, 0, 10, 2048).unwrap(), direct(4, 2048, 512));
        assert_eq!(locate(&h, 0, 10, 4095).unwrap(), direct(7, 3584, 512));
        assert_eq!(locate(&h, 0, 10, 4096).unwrap(), direct(8, 4096, 1024));
        assert_eq!(
            locate(&h, 0, 10, 4096 + 3 * 1024).unwrap(),
            direct(11, 7168, 1024)
        );
        assert_eq!(locate(&h, 0, 10, 8192).unwrap(), direct(12, 8192, 2048));
        // Row 8: the last direct row, 64 KiB blocks from 2^18.
        assert_eq!(
            locate(&h, 0, 10, (1 << 19) - 1).unwrap(),
            direct(35, (1 << 19) - 65536, 65536)
        );
        // Row 9: child indirect blocks of 128 KiB (7 rows each) from 2^19.
        assert_eq!(
            locate(&h, 0, 10, 1 << 19).unwrap(),
            Slot::Indirect {
                entry: 0,
                block_offset: 1 << 19,
                nrows: 7
            }
        );
        assert_eq!(
            locate(&h, 0, 10, (1 << 19) + 2 * 131072 + 5).unwrap(),
            Slot::Indirect {
                entry: 2,
                block_offset: 786432,
                nrows: 7
            }
        );
        // Beyond the 10 rows (which span 2^20 bytes).
        let e = locate(&h, 0, 10, 1 << 20).unwrap_err();
        assert_eq!(invalid(e), "heap offset (beyond the indirect block)");
        // Inside the child: a row-2 (1 KiB) block at relative offset 4096.
        assert_eq!(
            locate(&h, 786432, 7, 786432 + 5000).unwrap(),
            direct(8, 786432 + 4096, 1024)
        );
        let e = locate(&h, 786432, 7, 786431).unwrap_err();
        assert_eq!(invalid(e), "heap offset (before the indirect block)");
        assert!(locate(&h, 0, 0, 0).is_err());
        assert!(locate(&h, 0, 23, 0).is_err());
    }

    #[test]
    fn locate_always_finds_the_containing_block() {
        let h = header(&Spec {
            rows: 22,
            ..Spec::default()
        });
        let mut off = 0u64;
        let mut steps = 0;
        while off < 1 << 32 {
            let (mut base, mut nrows, mut depth) = (0u64, 22u16, 0);
            let slot = loop {
                match locate(&h, base, nrows, off).unwrap() {
                    Slot::Indirect {
                        entry,
                        block_offset,
                        nrows: child,
                    } => {
                        assert!(entry < usize::from(nrows - h.max_direct_rows()) * 4);
                        assert!(block_offset <= off && child < nrows);
                        // The child spans exactly one block of its parent's row.
                        let span = h.row_block_offset(child).unwrap();
                        assert!(off - block_offset < span);
                        (base, nrows) = (block_offset, child);
                        depth += 1;
                        assert!(depth < 22);
                    }
                    direct => break direct,
                }
            };
            let Slot::Direct {
                entry,
                block_offset,
                block_size,
            } = slot
            else {
                unreachable!()
            };
            assert!(entry < usize::from(nrows.min(h.max_direct_rows())) * 4);
            assert!(
                block_offset <= off && off < block_offset + block_size,
                "{off}"
            );
            assert!(block_size <= h.max_direct_block_size);
            assert_eq!(block_offset % block_size, 0);
            off = off * 3 / 2 + 7;
            steps += 1;
        }
        assert!(steps > 40);
    }

    fn encode_direct(h: &Header, size: usize, block_offset: u64, heap_addr: u64) -> Vec<u8> {
        let mut v = b"FHDB".to_vec();
        v.push(0);
        put(&mut v, heap_addr, 8);
        put(&mut v, block_offset, h.heap_off_size());
        let sum_at = v.len();
        if h.checksummed_direct_blocks() {
            v.extend_from_slice(&[0; 4]);
        }
        let mut i = 0u8;
        v.resize_with(size, || {
            i = i.wrapping_add(37);
            i
        });
        if h.checksummed_direct_blocks() {
            let sum = lookup3::checksum(&v);
            v[sum_at..sum_at + 4].copy_from_slice(&sum.to_le_bytes());
        }
        v
    }

    #[test]
    fn direct_block_checks() {
        let h = header(&Spec::default());
        let block = encode_direct(&h, 512, 4096, HDR_ADDR);
        check_direct_block(&block, 0x3000, SIZES, &h, 4096).unwrap();

        let mut corrupt = block.clone();
        corrupt[400] ^= 1;
        let e = check_direct_block(&corrupt, 0x3000, SIZES, &h, 4096).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x3000 + 17);
        let e = check_direct_block(&block, 0x3000, SIZES, &h, 0).unwrap_err();
        assert_eq!(
            (invalid(e.clone()), e.offset),
            ("block offset", 0x3000 + 13)
        );
        let other_heap = encode_direct(&h, 512, 4096, 0x999);
        let e = check_direct_block(&other_heap, 0x3000, SIZES, &h, 4096).unwrap_err();
        assert_eq!(invalid(e), "heap header address");
        let mut bad = block.clone();
        bad[3] = b'X';
        let e = check_direct_block(&bad, 0x3000, SIZES, &h, 4096).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadSignature);
        let mut bad = block.clone();
        bad[4] = 2;
        let e = check_direct_block(&bad, 0x3000, SIZES, &h, 4096).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadVersion(2));
        for n in 0..21 {
            let e = check_direct_block(&block[..n], 0x3000, SIZES, &h, 4096).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }

        // Without the checksum flag, the data is not hashed.
        let plain = header(&Spec {
            flags: 0,
            ..Spec::default()
        });
        let mut block = encode_direct(&plain, 512, 0, HDR_ADDR);
        block[300] ^= 0xff;
        check_direct_block(&block, 0x3000, SIZES, &plain, 0).unwrap();
    }

    #[test]
    fn object_ranges() {
        let h = header(&Spec::default());
        assert_eq!(
            object_range(&h, 0x3000, 4096, 1024, 4096 + 21, 10).unwrap(),
            21..31
        );
        assert_eq!(
            object_range(&h, 0x3000, 4096, 1024, 4096 + 1000, 24).unwrap(),
            1000..1024
        );
        assert!(object_range(&h, 0x3000, 4096, 1024, 4096 + 20, 10).is_err());
        assert!(object_range(&h, 0x3000, 4096, 1024, 4096 + 1000, 25).is_err());
        assert!(object_range(&h, 0x3000, 4096, 1024, 4000, 10).is_err());
        assert!(object_range(&h, 0x3000, 0, u64::MAX, 100, u64::MAX).is_err());
    }

    #[test]
    fn managed_ids() {
        let h = header(&Spec::default());
        let id = [0x00, 0x15, 0x10, 0x00, 0x00, 0x2a, 0x00];
        assert_eq!(
            HeapId::decode(&id, &h, SIZES, 0x50).unwrap(),
            HeapId::Managed {
                offset: 0x1015,
                length: 42
            }
        );
        // Extra bytes past the heap's ID length are ignored.
        let mut longer = id.to_vec();
        longer.push(0xff);
        assert!(HeapId::decode(&longer, &h, SIZES, 0x50).is_ok());
        let e = HeapId::decode(&id[..6], &h, SIZES, 0x50).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x56));
        let e = HeapId::decode(&[0x40, 0, 0, 0, 0, 1, 0], &h, SIZES, 0x50).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadVersion(1), 0x50));
        let e = HeapId::decode(&[0x30, 0, 0, 0, 0, 1, 0], &h, SIZES, 0x50).unwrap_err();
        assert_eq!(invalid(e), "heap ID type");
        // Beyond the managed space (1 MiB), or longer than a managed object may be.
        let at_end = [0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00];
        assert!(HeapId::decode(&at_end, &h, SIZES, 0).is_ok());
        let e =
            HeapId::decode(&[0x00, 0x01, 0x00, 0x10, 0x00, 0x02, 0x00], &h, SIZES, 0).unwrap_err();
        assert!(invalid(e).starts_with("managed object offset"));
        let e = HeapId::decode(&[0x00, 0, 0, 0, 0, 0x01, 0x10], &h, SIZES, 0).unwrap_err();
        assert_eq!(invalid(e), "managed object length");
        let short = header(&Spec {
            heap_id_len: 6,
            ..Spec::default()
        });
        let e = HeapId::decode(&id, &short, SIZES, 0).unwrap_err();
        assert!(invalid(e).starts_with("heap ID length"));
    }

    #[test]
    fn tiny_ids() {
        let h = header(&Spec::default());
        let id = [0x22, b'a', b'b', b'c', 0, 0, 0];
        let HeapId::Tiny { range } = HeapId::decode(&id, &h, SIZES, 0).unwrap() else {
            panic!()
        };
        assert_eq!(&id[range], b"abc");
        let full = [0x25, 1, 2, 3, 4, 5, 6];
        assert_eq!(
            HeapId::decode(&full, &h, SIZES, 0).unwrap(),
            HeapId::Tiny { range: 1..7 }
        );
        let e = HeapId::decode(&[0x26, 1, 2, 3, 4, 5, 6], &h, SIZES, 0).unwrap_err();
        assert!(invalid(e).starts_with("tiny object length"));

        // IDs of 18 bytes still use the normal form; longer ones the extended form.
        let h18 = header(&Spec {
            heap_id_len: 18,
            ..Spec::default()
        });
        let mut id = vec![0x2f];
        id.extend(1..=17u8);
        assert_eq!(
            HeapId::decode(&id, &h18, SIZES, 0).unwrap(),
            HeapId::Tiny { range: 1..17 }
        );
        let h20 = header(&Spec {
            heap_id_len: 20,
            ..Spec::default()
        });
        let mut id = vec![0x20, 17];
        id.extend(0..18u8);
        assert_eq!(
            HeapId::decode(&id, &h20, SIZES, 0).unwrap(),
            HeapId::Tiny { range: 2..20 }
        );
        let big = header(&Spec {
            heap_id_len: 300,
            ..Spec::default()
        });
        let mut id = vec![0x21, 0x0a];
        id.resize(300, 9);
        assert_eq!(
            HeapId::decode(&id, &big, SIZES, 0).unwrap(),
            HeapId::Tiny { range: 2..269 }
        );
        id[1] = 0x2b; // 0x12b + 1 = 300 bytes: beyond the 298 data bytes
        assert!(HeapId::decode(&id, &big, SIZES, 0).is_err());
    }

    #[test]
    fn huge_ids() {
        // 7-byte IDs cannot hold an address and a length: B-tree key of 6 bytes.
        let h = header(&Spec::default());
        let id = [0x10, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
        assert_eq!(
            HeapId::decode(&id, &h, SIZES, 0).unwrap(),
            HeapId::HugeIndirect {
                key: 0x0605_0403_0201
            }
        );
        // 17-byte IDs hold address and length directly.
        let h17 = header(&Spec {
            heap_id_len: 17,
            ..Spec::default()
        });
        let mut id = vec![0x10];
        put(&mut id, 0xABCDE, 8);
        put(&mut id, 70000, 8);
        assert_eq!(
            HeapId::decode(&id, &h17, SIZES, 0).unwrap(),
            HeapId::HugeDirect {
                addr: 0xABCDE,
                length: 70000,
                filter_mask: None,
                size: None
            }
        );
        // With filters 17 bytes are not enough: key of min(16, 8) bytes.
        let filtered = Spec {
            heap_id_len: 17,
            filters: Some((0, 0, vec![0; 4])),
            ..Spec::default()
        };
        let hf = header(&filtered);
        assert_eq!(
            HeapId::decode(&id, &hf, SIZES, 0).unwrap(),
            HeapId::HugeIndirect { key: 0xABCDE }
        );
        let hf29 = header(&Spec {
            heap_id_len: 29,
            ..filtered
        });
        put(&mut id, 0b101, 4);
        put(&mut id, 123456, 8);
        assert_eq!(
            HeapId::decode(&id, &hf29, SIZES, 0).unwrap(),
            HeapId::HugeDirect {
                addr: 0xABCDE,
                length: 70000,
                filter_mask: Some(5),
                size: Some(123456)
            }
        );
        // An undefined address in a direct huge ID is invalid.
        let mut undef = vec![0x10];
        put(&mut undef, u64::MAX, 8);
        put(&mut undef, 1, 8);
        assert!(HeapId::decode(&undef, &h17, SIZES, 0).is_err());
    }

    // ---------------------------------------------------------------------------------------
    // Editing model

    const GROUPS_LATEST: &[u8] = include_bytes!("../../../fixtures/files/groups_latest.h5");
    const ATTRS_LATEST: &[u8] = include_bytes!("../../../fixtures/files/attrs_latest.h5");
    const ATTRS_LARGE_LATEST: &[u8] =
        include_bytes!("../../../fixtures/files/attrs_large_latest.h5");

    /// A file in memory: a bump allocator, and the writes of [`Stored`] applied to it.
    struct Mem {
        buf: Vec<u8>,
    }

    impl Mem {
        fn new() -> Self {
            Mem {
                buf: vec![0xEE; 48],
            }
        }

        fn alloc(&mut self, size: u64) -> u64 {
            let at = self.buf.len() as u64;
            self.buf.resize(self.buf.len() + size as usize, 0xEE);
            at
        }

        fn apply(&mut self, st: &Stored) {
            for (a, bytes) in &st.writes {
                let a = *a as usize;
                assert!(a + bytes.len() <= self.buf.len(), "write beyond allocation");
                self.buf[a..a + bytes.len()].copy_from_slice(bytes);
            }
        }

        fn store(&mut self, ed: &mut HeapEdit) -> (u64, Stored) {
            let (addr, st) = ed.store(&mut |n| self.alloc(n)).unwrap();
            self.apply(&st);
            (addr, st)
        }

        fn load(&self, addr: u64) -> Result<HeapEdit> {
            load_from(&self.buf, addr)
        }
    }

    fn load_from(file: &[u8], addr: u64) -> Result<HeapEdit> {
        HeapEdit::load(addr, SIZES, 10_000, &mut |a, n| {
            let a = usize::try_from(a).unwrap_or(usize::MAX);
            match file.get(a..) {
                Some(rest) if rest.len() >= n => Ok(rest[..n].to_vec()),
                _ => Err(Error::new("test file", a as u64, ErrorKind::Truncated)),
            }
        })
    }

    /// Read an object through the decoders alone (the path the reader takes): header, heap
    /// ID, indirect blocks via `locate`, the direct block via `check_direct_block` and
    /// `object_range`.
    fn read_via_decoders(file: &[u8], hdr_addr: u64, id: &[u8]) -> Result<Vec<u8>> {
        read_object(file, hdr_addr, id, true)
    }

    /// The records of the huge-object B-tree of `h`, through the v2 B-tree decoders alone, in
    /// key order: `(address, length, ID)`. Checks the tree's parameters are libhdf5's.
    fn huge_records(file: &[u8], h: &Header) -> Vec<(u64, u64, u64)> {
        let Some(bt) = h.huge_btree_addr else {
            return Vec::new();
        };
        let bh = btree2::Header::decode(&file[bt as usize..], bt, SIZES).unwrap();
        assert_eq!(
            (bh.record_type, bh.node_size, bh.record_size),
            (1, btree2::DENSE_NODE_SIZE, 24)
        );
        assert_eq!(
            (bh.split_percent, bh.merge_percent),
            (btree2::SPLIT_PERCENT, btree2::MERGE_PERCENT)
        );
        fn node(
            file: &[u8],
            bh: &btree2::Header,
            at: u64,
            depth: u16,
            nrec: u64,
            out: &mut Vec<(u64, u64, u64)>,
        ) {
            let buf = &file[at as usize..];
            let n = if depth == 0 {
                btree2::decode_leaf(buf, at, SIZES, bh, nrec).unwrap()
            } else {
                btree2::decode_internal(buf, at, SIZES, bh, depth, nrec).unwrap()
            };
            let rec = |i: usize| match n.record(i, bh, &Default::default()).unwrap() {
                btree2::Record::HugeObject { addr, length, id } => (addr, length, id),
                other => panic!("{other:?}"),
            };
            if depth == 0 {
                out.extend((0..n.records.len()).map(rec));
                return;
            }
            for (i, c) in n.children.iter().enumerate() {
                node(file, bh, c.addr, depth - 1, c.nrecords, out);
                if i < n.records.len() {
                    out.push(rec(i));
                }
            }
        }
        let mut out = Vec::new();
        if let Some(root) = bh.root_addr {
            node(file, &bh, root, bh.depth, bh.root_nrecords.into(), &mut out);
        }
        assert_eq!(out.len() as u64, bh.total_records);
        out
    }

    /// [`read_via_decoders`], checking the direct block or not (when the caller did).
    fn read_object(file: &[u8], hdr_addr: u64, id: &[u8], check: bool) -> Result<Vec<u8>> {
        let h = Header::decode(&file[hdr_addr as usize..], hdr_addr, SIZES)?;
        let (offset, length) = match HeapId::decode(id, &h, SIZES, 0)? {
            HeapId::Managed { offset, length } => (offset, length),
            HeapId::Tiny { range } => return Ok(id[range].to_vec()),
            HeapId::HugeIndirect { key } => {
                let (a, n, _) = huge_records(file, &h)
                    .into_iter()
                    .find(|r| r.2 == key)
                    .expect("huge object in the B-tree");
                return Ok(file[a as usize..(a + n) as usize].to_vec());
            }
            other => panic!("unexpected {other:?}"),
        };
        let root = h.root_addr.expect("root block");
        let (mut addr, mut block_offset, mut block_size) = (root, 0, h.start_block_size);
        if h.current_root_rows > 0 {
            let (mut base, mut nrows, mut at) = (0, h.current_root_rows, root);
            loop {
                let ib = IndirectBlock::decode(&file[at as usize..], at, SIZES, &h, nrows)?;
                assert_eq!(ib.block_offset, base);
                match locate(&h, base, nrows, offset)? {
                    Slot::Direct {
                        entry,
                        block_offset: bo,
                        block_size: bs,
                    } => {
                        (addr, block_offset, block_size) =
                            (ib.direct[entry].addr.expect("allocated block"), bo, bs);
                        break;
                    }
                    Slot::Indirect {
                        entry,
                        block_offset: bo,
                        nrows: n,
                    } => {
                        (at, base, nrows) = (ib.indirect[entry].expect("child"), bo, n);
                    }
                }
            }
        }
        let block = &file[addr as usize..(addr + block_size) as usize];
        if check {
            check_direct_block(block, addr, SIZES, &h, block_offset)?;
        }
        let r = object_range(&h, addr, block_offset, block_size, offset, length)?;
        Ok(block[r].to_vec())
    }

    /// Every block of a stored heap, through the decoders: direct blocks as
    /// `(heap offset, size, address)`, indirect blocks as `(heap offset, rows, address)`.
    type Blocks = (Vec<(u64, u64, u64)>, Vec<(u64, u16, u64)>);

    fn walk(file: &[u8], h: &Header) -> Blocks {
        let (mut direct, mut indirect) = (Vec::new(), Vec::new());
        let Some(root) = h.root_addr else {
            return (direct, indirect);
        };
        if h.current_root_rows == 0 {
            direct.push((0, h.start_block_size, root));
            return (direct, indirect);
        }
        let width = usize::from(h.table_width);
        let mut stack = vec![(root, 0u64, h.current_root_rows)];
        while let Some((at, base, nrows)) = stack.pop() {
            let ib = IndirectBlock::decode(&file[at as usize..], at, SIZES, h, nrows).unwrap();
            indirect.push((base, nrows, at));
            for (i, e) in ib.direct.iter().enumerate() {
                let row = (i / width) as u16;
                let size = h.row_block_size(row).unwrap();
                let off = base + h.row_block_offset(row).unwrap() + size * (i % width) as u64;
                if let Some(a) = e.addr {
                    let block = &file[a as usize..(a + size) as usize];
                    check_direct_block(block, a, SIZES, h, off).unwrap();
                    direct.push((off, size, a));
                }
            }
            for (j, e) in ib.indirect.iter().enumerate() {
                let row = h.max_direct_rows() + (j / width) as u16;
                let size = h.row_block_size(row).unwrap();
                let off = base + h.row_block_offset(row).unwrap() + size * (j % width) as u64;
                if let Some(a) = e {
                    stack.push((*a, off, h.child_indirect_rows(row).unwrap()));
                }
            }
        }
        direct.sort_unstable();
        indirect.sort_unstable();
        (direct, indirect)
    }

    /// Object bytes of every direct block slot in the first `nrows` rows of an indirect
    /// block (an independent restatement of the free-space rule).
    fn slots_payload(h: &Header, nrows: u16) -> u64 {
        let ovh = h.direct_block_header_size() as u64;
        (0..nrows)
            .map(|r| {
                let per = if r < h.max_direct_rows() {
                    h.row_block_size(r).unwrap() - ovh
                } else {
                    slots_payload(h, h.child_indirect_rows(r).unwrap())
                };
                per * u64::from(h.table_width)
            })
            .sum()
    }

    /// Check a stored heap against its objects: every object reads back through the
    /// decoders, and every statistic in the header is what the blocks and the huge-object
    /// B-tree say.
    fn verify(file: &[u8], addr: u64, objects: &[(Vec<u8>, Vec<u8>)]) -> Header {
        let h = Header::decode(&file[addr as usize..], addr, SIZES).unwrap();
        // (`walk` below checks every direct block once.)
        for (id, obj) in objects {
            assert_eq!(&read_object(file, addr, id, false).unwrap(), obj);
        }
        // Huge objects: exactly the live ones in the B-tree, by ID, not overlapping; the
        // tree exists only while there are some.
        let mut huge: Vec<(u64, u64)> = objects
            .iter()
            .filter_map(|(id, o)| match HeapId::decode(id, &h, SIZES, 0).unwrap() {
                HeapId::HugeIndirect { key } => Some((key, o.len() as u64)),
                _ => None,
            })
            .collect();
        huge.sort_unstable();
        let recs = huge_records(file, &h);
        assert_eq!(
            recs.iter().map(|r| (r.2, r.1)).collect::<Vec<_>>(),
            huge,
            "huge-object B-tree records"
        );
        assert_eq!(h.huge_count, huge.len() as u64);
        assert_eq!(h.huge_size, huge.iter().map(|x| x.1).sum::<u64>());
        assert_eq!(h.huge_btree_addr.is_some(), !huge.is_empty());
        assert!(huge.iter().all(|x| x.0 <= h.next_huge_id));
        let mut spans: Vec<(u64, u64)> = recs.iter().map(|r| (r.0, r.0 + r.1)).collect();
        spans.sort_unstable();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0));
        let managed: Vec<u64> = objects
            .iter()
            .filter(|(id, _)| id[0] & 0x30 == 0)
            .map(|(_, o)| o.len() as u64)
            .collect();
        assert_eq!(h.managed_count, managed.len() as u64);
        let (direct, indirect) = walk(file, &h);
        assert_eq!(
            h.allocated_managed_space,
            direct.iter().map(|d| d.1).sum::<u64>()
        );
        let used: u64 = managed.iter().sum();
        if h.current_root_rows == 0 {
            assert_eq!(h.alloc_iter_offset, 0);
            if h.root_addr.is_some() {
                assert_eq!(h.managed_space, h.start_block_size);
                let payload = h.start_block_size - h.direct_block_header_size() as u64;
                assert_eq!(h.free_space, payload - used);
            }
        } else {
            let span = h.row_block_offset(h.current_root_rows - 1).unwrap()
                + h.row_block_size(h.current_root_rows - 1).unwrap() * u64::from(h.table_width);
            assert_eq!(h.managed_space, span);
            assert_eq!(h.free_space, slots_payload(&h, h.current_root_rows) - used);
            let end = direct.iter().map(|d| d.0 + d.1).max().unwrap();
            assert_eq!(h.alloc_iter_offset, end);
            assert_eq!(indirect[0], (0, h.current_root_rows, h.root_addr.unwrap()));
        }
        // No two objects overlap.
        let mut ranges: Vec<(u64, u64)> = objects
            .iter()
            .filter_map(|(id, _)| match HeapId::decode(id, &h, SIZES, 0).unwrap() {
                HeapId::Managed { offset, length } => Some((offset, offset + length)),
                _ => None,
            })
            .collect();
        ranges.sort_unstable();
        assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0));
        h
    }

    /// A deterministic generator of test data.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| (self.next() >> 24) as u8 | 1).collect()
        }
    }

    /// A size mix like link and attribute messages: mostly small, some large.
    fn mixed_size(rng: &mut Rng, max: u64) -> usize {
        (match rng.below(10) {
            0 => 12 + rng.below(max - 11),
            1 | 2 => 100 + rng.below(900),
            _ => 12 + rng.below(60),
        })
        .min(max) as usize
    }

    /// Small doubling table: blocks of 256..1024 bytes, so child indirect blocks (and their
    /// children) appear after a few KiB.
    fn small_table() -> HeapParams {
        HeapParams {
            table_width: 2,
            start_block_size: 256,
            max_direct_block_size: 1024,
            max_heap_size_bits: 24,
            start_root_rows: 1,
            max_managed_object_size: 600,
            id_len: 6,
            checksum_direct_blocks: true,
        }
    }

    #[test]
    fn params_are_what_libhdf5_writes() {
        let links = HeapParams::dense_links();
        let attrs = HeapParams::dense_attributes();
        let mut seen = [0, 0];
        for file in [GROUPS_LATEST, ATTRS_LATEST, ATTRS_LARGE_LATEST] {
            for at in find_all(file, b"FRHP") {
                let h = Header::decode(&file[at..], at as u64, SIZES).unwrap();
                let p = if h.heap_id_len == 7 {
                    seen[0] += 1;
                    links
                } else {
                    seen[1] += 1;
                    attrs
                };
                let measured = HeapParams {
                    table_width: h.table_width,
                    start_block_size: h.start_block_size,
                    max_direct_block_size: h.max_direct_block_size,
                    max_heap_size_bits: h.max_heap_bits,
                    start_root_rows: h.start_root_rows,
                    max_managed_object_size: h.max_managed_obj_size,
                    id_len: h.heap_id_len,
                    checksum_direct_blocks: h.checksummed_direct_blocks(),
                };
                assert_eq!(measured, p, "heap at {at:#x}");
                assert_eq!(h.flags, FLAG_CHECKSUMMED_DIRECT_BLOCKS);
                assert_eq!(h.io_filters_len, 0);
            }
        }
        assert_eq!(seen, [5, 4]);
        // A new heap's header is the same apart from the statistics and addresses.
        let mut ed = HeapEdit::new(links, SIZES).unwrap();
        let mut mem = Mem::new();
        let (addr, st) = mem.store(&mut ed);
        assert_eq!(st.writes.len(), 1);
        assert_eq!(st.writes[0].1.len(), 146);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!(
            (h.root_addr, h.managed_space, h.managed_count),
            (None, 0, 0)
        );
        assert_eq!(ed.header(), &h);
    }

    fn find_all(file: &[u8], sig: &[u8; 4]) -> Vec<usize> {
        file.windows(4)
            .enumerate()
            .filter(|(_, w)| w == sig)
            .map(|(i, _)| i)
            .collect()
    }

    /// The heap IDs in every record of a v2 B-tree of type 5 (link names: hash, 7-byte ID)
    /// or 8 (attribute names: 8-byte ID first), at most one level deep.
    fn btree_ids(file: &[u8], at: usize) -> Option<(u8, Vec<Vec<u8>>)> {
        let le = |a: usize, n: usize| crate::reader::le_uint(&file[a..a + n]);
        let kind = file[at + 5];
        let (node_size, rec_size, depth) = (le(at + 6, 4), le(at + 10, 2) as usize, le(at + 12, 2));
        let (root, nroot) = (le(at + 16, 8) as usize, le(at + 24, 2) as usize);
        let id_of = |rec: &[u8]| match kind {
            5 => rec[4..11].to_vec(),
            _ => rec[..8].to_vec(),
        };
        if !matches!(kind, 5 | 8) {
            return None;
        }
        let mut ids = Vec::new();
        let leaf = |node: usize, n: usize, ids: &mut Vec<Vec<u8>>| {
            assert_eq!(&file[node..node + 4], b"BTLF");
            for i in 0..n {
                ids.push(id_of(&file[node + 6 + i * rec_size..]));
            }
        };
        match depth {
            0 => leaf(root, nroot, &mut ids),
            1 => {
                assert_eq!(&file[root..root + 4], b"BTIN");
                let leaf_max = (node_size - 10) / rec_size as u64;
                let nbytes = crate::reader::bytes_needed(leaf_max);
                for i in 0..nroot {
                    ids.push(id_of(&file[root + 6 + i * rec_size..]));
                }
                let mut p = root + 6 + nroot * rec_size;
                for _ in 0..=nroot {
                    let (child, n) = (le(p, 8) as usize, le(p + 8, nbytes) as usize);
                    leaf(child, n, &mut ids);
                    p += 8 + nbytes;
                }
            }
            _ => panic!("deeper B-tree"),
        }
        Some((kind, ids))
    }

    /// Rebuild each libhdf5 heap of `file` by inserting its objects (found through the
    /// name-index B-trees) in heap-offset order, and compare the bytes stored with the file's.
    /// Returns how many heaps were compared, and how many of them hold huge objects.
    fn rebuild_like_libhdf5(file: &[u8]) -> (usize, usize) {
        let trees: Vec<_> = find_all(file, b"BTHD")
            .into_iter()
            .filter_map(|at| btree_ids(file, at))
            .collect();
        let (mut compared, mut with_huge) = (0, 0);
        for at in find_all(file, b"FRHP") {
            let addr = at as u64;
            let real = Header::decode(&file[at..], addr, SIZES).unwrap();
            let (kind, params) = if real.heap_id_len == 7 {
                (5, HeapParams::dense_links())
            } else {
                (8, HeapParams::dense_attributes())
            };
            // The name index over this heap: the tree of the right type with as many
            // managed IDs as the heap has managed objects.
            let managed = |ids: &Vec<Vec<u8>>| -> Vec<(u64, Vec<u8>)> {
                let mut v: Vec<_> = ids
                    .iter()
                    .filter_map(|id| match HeapId::decode(id, &real, SIZES, 0) {
                        Ok(HeapId::Managed { offset, .. }) => Some((offset, id.clone())),
                        _ => None,
                    })
                    .collect();
                v.sort_unstable();
                v
            };
            let matching: Vec<_> = trees
                .iter()
                .filter(|(k, ids)| *k == kind && managed(ids).len() as u64 == real.managed_count)
                .collect();
            assert_eq!(matching.len(), 1, "index of the heap at {at:#x}");
            let ids = managed(&matching[0].1);

            // Its huge objects, by huge object ID.
            let mut huge: Vec<(u64, Vec<u8>)> = matching[0]
                .1
                .iter()
                .filter_map(|id| match HeapId::decode(id, &real, SIZES, 0) {
                    Ok(HeapId::HugeIndirect { key }) => Some((key, id.clone())),
                    _ => None,
                })
                .collect();
            huge.sort_unstable();
            assert_eq!(huge.len() as u64, real.huge_count);

            let mut ed = HeapEdit::new(params, SIZES).unwrap();
            for (_, id) in ids.iter().chain(&huge) {
                let obj = read_via_decoders(file, addr, id).unwrap();
                assert_eq!(ed.insert(&obj).unwrap(), *id, "same ID for the same object");
                assert_eq!(ed.get(id).unwrap(), obj);
            }
            // Store at libhdf5's addresses (header, direct blocks by offset, indirect
            // blocks by rows, huge objects by ID, the huge-object B-tree's header and leaf),
            // then compare every byte written.
            let (direct, indirect) = walk(file, &real);
            let mut indirect = indirect;
            indirect.sort_by_key(|&(off, rows, _)| (rows, off));
            let mut addrs = vec![(addr, 146)];
            addrs.extend(direct.iter().map(|&(_, size, a)| (a, size)));
            for &(_, rows, a) in &indirect {
                addrs.push((a, real.indirect_block_size(rows).unwrap()));
            }
            let recs = huge_records(file, &real);
            addrs.extend(recs.iter().map(|&(a, n, _)| (a, n)));
            if let Some(bt) = real.huge_btree_addr {
                let bh = btree2::Header::decode(&file[bt as usize..], bt, SIZES).unwrap();
                assert_eq!(bh.depth, 0);
                addrs.push((bt, btree2::header_size(SIZES) as u64));
                addrs.push((bh.root_addr.unwrap(), 512));
            }
            let mut next = addrs.into_iter();
            let (stored_at, st) = ed
                .store(&mut |size| {
                    let (a, expected) = next.next().expect("as many blocks as libhdf5");
                    assert_eq!(size, expected);
                    a
                })
                .unwrap();
            assert!(next.next().is_none(), "as many blocks as libhdf5");
            assert_eq!(stored_at, addr);
            assert!(st.freed.is_empty());
            let (header, blocks) = st.writes.split_last().unwrap();
            let tree_blocks = if huge.is_empty() { 0 } else { 2 };
            assert_eq!(
                blocks.len(),
                direct.len() + indirect.len() + huge.len() + tree_blocks
            );
            for (a, bytes) in blocks {
                let a = *a as usize;
                assert_eq!(bytes[..], file[a..a + bytes.len()], "block at {a:#x}");
            }
            // The header differs only in the free-space manager address (libhdf5 writes a
            // manager, we do not).
            assert_eq!(header.0, addr);
            let ours = Header::decode(&header.1, addr, SIZES).unwrap();
            assert_eq!(ours.fsm_addr, None);
            assert!(real.fsm_addr.is_some());
            let mut patched = ours.clone();
            patched.fsm_addr = real.fsm_addr;
            assert_eq!(patched, real);
            assert_eq!(patched.encode(), file[at..at + 146]);
            compared += 1;
            with_huge += usize::from(!huge.is_empty());
        }
        (compared, with_huge)
    }

    #[test]
    fn same_objects_same_bytes_as_libhdf5() {
        // Links: a 300-link group (root indirect block of 4 rows, 12 direct blocks), 20
        // links, 12 links with creation order, 10 links (root direct blocks).
        assert_eq!(rebuild_like_libhdf5(GROUPS_LATEST), (4, 0));
        // Attributes: 48 (one row), 20 + a huge one (5035 bytes), 12 (root direct block);
        // links: 25.
        assert_eq!(rebuild_like_libhdf5(ATTRS_LATEST), (4, 1));
        // 2 small attributes around a 64 KiB (huge) one.
        assert_eq!(rebuild_like_libhdf5(ATTRS_LARGE_LATEST), (1, 1));
    }

    /// Objects of `sizes` (link heap parameters); returns the offsets and the header.
    fn place(sizes: &[usize]) -> (Vec<u64>, HeapEdit) {
        let mut ed = HeapEdit::new(HeapParams::dense_links(), SIZES).unwrap();
        let offsets = sizes
            .iter()
            .map(|&n| {
                let id = ed.insert(&vec![7; n]).unwrap();
                match HeapId::decode(&id, ed.header(), SIZES, 0).unwrap() {
                    HeapId::Managed { offset, length } => {
                        assert_eq!(length, n as u64);
                        offset
                    }
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        (offsets, ed)
    }

    #[test]
    fn placement_matches_libhdf5() {
        // Measured with h5py 3.16 / HDF5 2.0: soft links of these message sizes into a
        // group created dense (link phase change 0/0), then the heap read back.
        // (sizes, offsets, [free, managed space, allocated, iterator, root rows])
        let r = |n: usize, s: usize| vec![s; n];
        let cases: Vec<(Vec<usize>, Vec<u64>, [u64; 5])> = vec![
            (vec![20; 3], vec![21, 41, 61], [431, 512, 512, 0, 0]),
            (
                r(25, 20),
                (0..24).map(|i| 21 + 20 * i).chain([533]).collect(),
                [1464, 2048, 1024, 1024, 1],
            ),
            (r(97, 20), vec![], [1988, 4096, 2560, 2560, 2]),
            (r(193, 20), vec![], [12188, 16384, 5120, 5120, 4]),
            // Too big for a 512-byte root: a root indirect block of 3 rows at once.
            (vec![600], vec![4117], [7340, 8192, 1024, 5120, 3]),
            (
                vec![600, 20, 20],
                vec![4117, 4717, 4737],
                [7300, 8192, 1024, 5120, 3],
            ),
            // Best fit: 15 goes back to the 21 bytes left in block 0.
            (
                vec![470, 30, 25, 15, 12],
                vec![21, 533, 563, 491, 588],
                [1412, 2048, 1024, 1024, 1],
            ),
            (vec![4000], vec![16405], [28348, 32768, 4096, 20480, 5]),
            (vec![4096], vec![32789], [60936, 65536, 8192, 40960, 6]),
            // Skipped blocks become free space: 491 goes to the first one.
            (vec![1000, 491], vec![4117, 21], [6449, 8192, 1536, 5120, 3]),
            (
                [r(10, 20), vec![600], r(5, 20), vec![400], r(3, 20)].concat(),
                (0..10)
                    .map(|i| 21 + 20 * i)
                    .chain([4117])
                    .chain((10..15).map(|i| 21 + 20 * i))
                    .chain([4717])
                    .chain((15..18).map(|i| 21 + 20 * i))
                    .collect(),
                [6580, 8192, 1536, 5120, 3],
            ),
            (
                [r(4, 491), vec![492]].concat(),
                vec![21, 533, 1045, 1557, 4117],
                [5484, 8192, 3072, 5120, 3],
            ),
            (
                [r(8, 491), vec![4000]].concat(),
                vec![],
                [24420, 32768, 8192, 20480, 5],
            ),
            (
                [r(8, 491), r(4, 1003), r(4, 2027), vec![20]].concat(),
                vec![],
                [245404, 262144, 20480, 20480, 8],
            ),
            (
                [r(6, 491), vec![1000, 20]].concat(),
                vec![21, 533, 1045, 1557, 2069, 2581, 4117, 3093],
                [12082, 16384, 4608, 5120, 4],
            ),
            // Skipped blocks are handed out per run as libhdf5 does: the first block of the
            // run's first row, the last of its last row, the first of a row in between.
            (
                vec![3604, 1500, 1500],
                vec![16405, 14357, 12309],
                [25744, 32768, 8192, 20480, 5],
            ),
            (
                [vec![3604], r(5, 900)].concat(),
                vec![16405, 4117, 5141, 6165, 7189, 8213],
                [24244, 32768, 10240, 20480, 5],
            ),
            (
                [vec![3604], r(5, 491), r(2, 900), r(4, 491)].concat(),
                vec![
                    16405, 21, 533, 1045, 1557, 2069, 4117, 5141, 2581, 3093, 3605, 6165,
                ],
                [22525, 32768, 11264, 20480, 5],
            ),
            (
                [r(6, 491), vec![4000], r(5, 900), r(3, 491)].concat(),
                vec![
                    21, 533, 1045, 1557, 2069, 2581, 16405, 4117, 5141, 6165, 7189, 8213, 3093,
                    3605, 9113,
                ],
                [19429, 32768, 14336, 20480, 5],
            ),
            // One run across the growth of the root (rows 4 to 8).
            (
                [r(193, 20), vec![4080], r(2, 1500)].concat(),
                vec![],
                [250532, 262144, 17408, 40960, 8],
            ),
        ];
        for (sizes, offsets, stats) in cases {
            let (got, ed) = place(&sizes);
            if !offsets.is_empty() {
                assert_eq!(got, offsets, "{sizes:?}");
            }
            if sizes.len() == 196 {
                assert_eq!(got[192..], [4117, 32789, 8213, 10261]);
            }
            let h = ed.header();
            assert_eq!(
                [
                    h.free_space,
                    h.managed_space,
                    h.allocated_managed_space,
                    h.alloc_iter_offset,
                    u64::from(h.current_root_rows)
                ],
                stats,
                "{sizes:?}"
            );
            assert_eq!(h.managed_count, sizes.len() as u64);
        }
    }

    #[test]
    fn removed_space_is_reused_as_libhdf5_does() {
        // h5py: 30 links of 20 bytes, delete the 4th to 6th, add 20, 40, 20.
        let (offsets, mut ed) = place(&[20; 30]);
        let id = |off: u64, n: u64| {
            let mut v = vec![0];
            v.extend_from_slice(&off.to_le_bytes()[..4]);
            v.extend_from_slice(&n.to_le_bytes()[..2]);
            v
        };
        for &off in &offsets[3..6] {
            ed.remove(&id(off, 20)).unwrap();
        }
        assert_eq!(ed.header().managed_count, 27);
        assert_eq!(ed.header().free_space, 1364 + 60);
        let again: Vec<_> = [20, 40, 20]
            .iter()
            .map(|&n| ed.insert(&vec![1; n]).unwrap())
            .collect();
        assert_eq!(again, [id(81, 20), id(101, 40), id(653, 20)]);
        // Removing twice, or a range that was never an object, is refused.
        ed.remove(&id(41, 20)).unwrap();
        let e = ed.remove(&id(41, 20)).unwrap_err();
        assert_eq!(invalid(e), "heap ID (object already removed)");
        let e = ed.remove(&id(500, 20)).unwrap_err();
        assert_eq!(invalid(e), "managed object (outside its direct block)");
        let e = ed.remove(&id(2000, 20)).unwrap_err();
        assert!(invalid(e).starts_with("managed object"));
    }

    #[test]
    fn grows_through_rows_and_child_indirect_blocks() {
        for (params, target, seed) in [
            // 800 KiB of link-like objects: root rows 1, 2, 4, 8, 16 (rows 9+ hold child
            // indirect blocks of 128 KiB).
            (HeapParams::dense_links(), 800 << 10, 1),
            (HeapParams::dense_attributes(), 700 << 10, 2),
            // Children of children.
            (small_table(), 120 << 10, 3),
        ] {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
            let mut ed = HeapEdit::new(params, SIZES).unwrap();
            let max = params.max_managed_object_size.into();
            let mut objects = Vec::new();
            let mut total = 0;
            while total < target {
                let obj = {
                    let n = mixed_size(&mut rng, max);
                    rng.bytes(n)
                };
                total += obj.len();
                let id = ed.insert(&obj).unwrap();
                assert_eq!(id.len(), usize::from(params.id_len));
                objects.push((id, obj));
            }
            for (id, obj) in objects.iter().step_by(7) {
                assert_eq!(&ed.get(id).unwrap(), obj);
            }
            let mut mem = Mem::new();
            let (addr, st) = mem.store(&mut ed);
            assert!(st.freed.is_empty());
            assert_eq!(st.writes.last().unwrap().0, addr);
            let h = verify(&mem.buf, addr, &objects);
            let (direct, indirect) = walk(&mem.buf, &h);
            assert!(indirect.len() > 1, "child indirect blocks");
            assert!(direct.iter().any(|d| d.1 == params.max_direct_block_size));
            if params == small_table() {
                assert!(indirect
                    .iter()
                    .any(|&(off, rows, _)| { off > 0 && rows > h.max_direct_rows() }));
            }
            // Nothing changed: nothing to write.
            let (again, st) = mem.store(&mut ed);
            assert_eq!((again, st), (addr, Stored::default()));
        }
    }

    #[test]
    fn load_insert_store_again() {
        let mut rng = Rng(77);
        let mut ed = HeapEdit::new(small_table(), SIZES).unwrap();
        let mut mem = Mem::new();
        let mut objects = Vec::new();
        for round in 0..6 {
            for _ in 0..40 {
                let obj = {
                    let n = mixed_size(&mut rng, 600);
                    rng.bytes(n)
                };
                objects.push((ed.insert(&obj).unwrap(), obj));
            }
            let before = mem.buf.len();
            let (addr, st) = mem.store(&mut ed);
            // Old blocks are rewritten in place or freed (a root that grew), never
            // overwritten by new ones.
            for &(a, n) in &st.freed {
                assert!(a + n <= before as u64);
                assert!(!st.writes.iter().any(|w| w.0 == a));
            }
            verify(&mem.buf, addr, &objects);
            ed = mem.load(addr).unwrap();
            assert_eq!(ed.len(), objects.len() as u64);
            for (id, obj) in &objects {
                assert_eq!(&ed.get(id).unwrap(), obj);
            }
            if round % 2 == 1 {
                ed.track_free_space(objects.iter().map(|(id, _)| id.as_slice()))
                    .unwrap();
            }
        }
        // Without the live IDs, a loaded heap only reuses the blocks the iterator skipped:
        // a new object never lands in a block that holds objects.
        let addr = ed.addr().unwrap();
        let (existing, _) = walk(&mem.buf, ed.header());
        for n in [20, 300, 600] {
            let mut plain = mem.load(addr).unwrap();
            let id = plain.insert(&vec![5; n]).unwrap();
            let HeapId::Managed { offset, .. } =
                HeapId::decode(&id, plain.header(), SIZES, 0).unwrap()
            else {
                panic!("managed")
            };
            assert!(!existing
                .iter()
                .any(|&(o, s, _)| o <= offset && offset < o + s));
        }
    }

    #[test]
    fn loaded_libhdf5_heap_takes_more_objects() {
        // The 300-link heap: libhdf5 put a 20-byte link added later (h5py, same file) at
        // heap offset 6905, the smallest gap that holds it; so do we once we know the IDs.
        let addr = 0x2201;
        let real = Header::decode(&GROUPS_LATEST[addr..], addr as u64, SIZES).unwrap();
        assert_eq!(real.managed_count, 300);
        let ids = find_all(GROUPS_LATEST, b"BTHD")
            .into_iter()
            .filter_map(|at| btree_ids(GROUPS_LATEST, at))
            .find(|(k, ids)| *k == 5 && ids.len() == 300)
            .unwrap()
            .1;
        let mut ed = load_from(GROUPS_LATEST, addr as u64).unwrap();
        assert_eq!(ed.header(), &real);
        assert_eq!(
            ed.extents().unwrap()[..3],
            [(0x2201, 146), (0x22b9, 82), (0x85a3, 92)]
        );
        ed.track_free_space(ids.iter().map(Vec::as_slice)).unwrap();
        let link = [
            1, 0, 9, b'e', b'n', b't', b'r', b'y', b'_', b'9', b'9', b'9', 0x20, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let id = ed.insert(&link).unwrap();
        assert_eq!(id, [0, 0xf9, 0x1a, 0, 0, 20, 0]);
        // A soft link of 24 bytes goes right after it, as libhdf5 put it.
        let id2 = ed.insert(&[3; 24]).unwrap();
        assert_eq!(id2, [0, 0x0d, 0x1b, 0, 0, 24, 0]);
        // Stored: the block rewritten in place, the header too, the free-space manager
        // dropped (its address undefined, its blocks freed).
        let mut file = GROUPS_LATEST.to_vec();
        let (at, st) = ed.store(&mut |_| panic!("no new block")).unwrap();
        assert_eq!(at, addr as u64);
        assert_eq!(st.freed, [(0x22b9, 82), (0x85a3, 92)]);
        assert_eq!(st.writes.len(), 2);
        for (a, bytes) in &st.writes {
            file[*a as usize..*a as usize + bytes.len()].copy_from_slice(bytes);
        }
        let mut objects: Vec<_> = ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    read_via_decoders(GROUPS_LATEST, addr as u64, id).unwrap(),
                )
            })
            .collect();
        objects.push((id, link.to_vec()));
        objects.push((id2, vec![3; 24]));
        let h = Header::decode(&file[addr..], addr as u64, SIZES).unwrap();
        assert_eq!(h.fsm_addr, None);
        assert_eq!(h.free_space, real.free_space - 44);
        for (id, obj) in &objects {
            assert_eq!(&read_via_decoders(&file, addr as u64, id).unwrap(), obj);
        }
        // Without the IDs, a new block at the iterator (as libhdf5 without a manager).
        let mut ed = load_from(GROUPS_LATEST, addr as u64).unwrap();
        let id = ed.insert(&link).unwrap();
        assert_eq!(id, [0, 0x15, 0x1c, 0, 0, 20, 0]); // 7168 + 21
        assert_eq!(ed.header().allocated_managed_space, 7168 + 1024);
        // Wrong live IDs are refused.
        let mut ed = load_from(GROUPS_LATEST, addr as u64).unwrap();
        assert!(ed
            .track_free_space(ids[1..].iter().map(Vec::as_slice))
            .is_err());
        let mut twice: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        twice[0] = twice[1];
        assert!(ed.track_free_space(twice).is_err());
    }

    #[test]
    fn remove_and_empty() {
        let mut rng = Rng(5);
        let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
        let mut objects: Vec<_> = (0..300)
            .map(|_| {
                let obj = {
                    let n = mixed_size(&mut rng, 4096);
                    rng.bytes(n)
                };
                (ed.insert(&obj).unwrap(), obj)
            })
            .collect();
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        let mut ed = mem.load(addr).unwrap();
        let before = ed.header().clone();
        let removed: Vec<_> = objects.drain(100..150).collect();
        for (id, obj) in &removed {
            ed.remove(id).unwrap();
            assert_eq!(ed.get(id).unwrap(), vec![0; obj.len()]);
        }
        let freed: u64 = removed.iter().map(|(_, o)| o.len() as u64).sum();
        assert_eq!(ed.header().managed_count, before.managed_count - 50);
        assert_eq!(ed.header().free_space, before.free_space + freed);
        let (_, st) = mem.store(&mut ed);
        assert!(st.writes.iter().all(|w| w.0 < mem.buf.len() as u64));
        verify(&mem.buf, addr, &objects);
        // The space of removed objects is reused (in this session).
        let mut ed = mem.load(addr).unwrap();
        ed.track_free_space(objects.iter().map(|(id, _)| id.as_slice()))
            .unwrap();
        let allocated = ed.header().allocated_managed_space;
        for (_, obj) in &removed[..10] {
            objects.push((ed.insert(obj).unwrap(), obj.clone()));
        }
        assert_eq!(ed.header().allocated_managed_space, allocated);
        mem.store(&mut ed);
        verify(&mem.buf, addr, &objects);
        // Removing everything empties the managed part and frees every block.
        let mut ed = mem.load(addr).unwrap();
        let blocks = ed.extents().unwrap().len() - 1;
        for (id, _) in &objects {
            ed.remove(id).unwrap();
        }
        assert!(ed.is_empty());
        let (_, st) = mem.store(&mut ed);
        assert_eq!(st.freed.len(), blocks);
        assert_eq!(st.writes.len(), 1);
        let h = verify(&mem.buf, addr, &[]);
        assert_eq!(
            (h.root_addr, h.current_root_rows, h.free_space),
            (None, 0, 0)
        );
        assert_eq!((h.managed_space, h.allocated_managed_space), (0, 0));
        // And it starts again from a root direct block.
        let id = ed.insert(&[9; 100]).unwrap();
        mem.store(&mut ed);
        verify(&mem.buf, addr, &[(id, vec![9; 100])]);
    }

    #[test]
    fn tiny_huge_and_overwrite() {
        let mut ed = HeapEdit::new(HeapParams::dense_links(), SIZES).unwrap();
        let tiny = ed.insert(b"abcdef").unwrap();
        assert_eq!(tiny, [0x25, b'a', b'b', b'c', b'd', b'e', b'f']);
        assert_eq!(ed.get(&tiny).unwrap(), b"abcdef");
        let small = ed.insert(b"x").unwrap();
        assert_eq!(small, [0x20, b'x', 0, 0, 0, 0, 0]);
        let managed = ed.insert(b"abcdefg").unwrap();
        assert_eq!(managed[0], 0);
        assert_eq!((ed.header().tiny_count, ed.header().tiny_size), (2, 7));
        assert_eq!((ed.len(), ed.header().managed_count), (3, 1));
        ed.overwrite(&managed, b"ABCDEFG").unwrap();
        assert_eq!(ed.get(&managed).unwrap(), b"ABCDEFG");
        assert!(ed.overwrite(&managed, b"ABC").is_err());
        assert!(matches!(
            ed.overwrite(&tiny, b"abcdef").unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        // One byte past the largest managed object: huge, key 1 in the ID's 6 other bytes.
        let huge = ed.insert(&[6; 4097]).unwrap();
        assert_eq!(huge, [0x10, 1, 0, 0, 0, 0, 0]);
        assert_eq!(ed.get(&huge).unwrap(), [6; 4097]);
        let big = ed.insert(&[8; 4096]).unwrap();
        assert_eq!(invalid(ed.insert(&[]).unwrap_err()), "heap object (empty)");
        ed.remove(&small).unwrap();
        assert_eq!((ed.header().tiny_count, ed.header().tiny_size), (1, 6));
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        verify(
            &mem.buf,
            addr,
            &[
                (tiny.clone(), b"abcdef".to_vec()),
                (managed, b"ABCDEFG".to_vec()),
                (big, vec![8; 4096]),
                (huge, vec![6; 4097]),
            ],
        );
        // Extended tiny IDs (longer than 18 bytes): 12-bit lengths.
        let mut p = HeapParams::dense_attributes();
        p.id_len = 40;
        let mut ed = HeapEdit::new(p, SIZES).unwrap();
        let id = ed.insert(&[4; 38]).unwrap();
        assert_eq!(id[..2], [0x20, 37]);
        assert_eq!(ed.get(&id).unwrap(), [4; 38]);
        assert_eq!(ed.insert(&[4; 39]).unwrap()[0], 0);
        // Huge objects of a loaded heap are read with it.
        let large = load_from(ATTRS_LARGE_LATEST, 0x136).unwrap();
        let huge = [0x10, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            large.get(&huge).unwrap(),
            ATTRS_LARGE_LATEST[0x800..0x800 + 65632]
        );
        // Keys the heap never gave out are refused.
        for id in [[0x10, 2, 0, 0, 0, 0, 0, 0], [0x10, 0, 0, 0, 0, 0, 0, 0]] {
            assert_eq!(
                invalid(large.get(&id).unwrap_err()),
                "heap ID (no such huge object)"
            );
        }
    }

    /// The extents of a huge-object B-tree stored in `file` (header and nodes).
    fn huge_tree_extents(file: &[u8], h: &Header) -> Vec<(u64, u64)> {
        let tree = TreeEdit::load(h.huge_btree_addr.unwrap(), SIZES, 1000, &mut |a, n| {
            Ok::<_, Error>(file[a as usize..a as usize + n].to_vec())
        })
        .unwrap();
        tree.delete()
    }

    /// The error of a load that must fail (without printing the heap when it does not).
    fn load_err(r: Result<HeapEdit>) -> Error {
        match r {
            Ok(_) => panic!("loaded"),
            Err(e) => e,
        }
    }

    fn huge_key(id: &[u8]) -> u64 {
        assert_eq!(id[0], 0x10);
        crate::reader::le_uint(&id[1..])
    }

    #[test]
    fn huge_objects_round_trip() {
        let mut rng = Rng(31);
        let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
        let mut objects: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut sizes = vec![5 << 10, 100 << 10];
        sizes.extend((0..28).map(|_| 4097 + rng.below(5000) as usize));
        let mut huge_bytes = 0;
        for (i, &n) in sizes.iter().enumerate() {
            // Managed and tiny objects in between.
            for m in [100, 2000, 5] {
                let obj = rng.bytes(m + i);
                objects.push((ed.insert(&obj).unwrap(), obj));
            }
            let obj = rng.bytes(n);
            let id = ed.insert(&obj).unwrap();
            // 8-byte IDs: type 1, then the huge object ID in 7 bytes.
            let mut want = vec![0x10];
            want.extend_from_slice(&(i as u64 + 1).to_le_bytes()[..7]);
            assert_eq!(id, want);
            assert_eq!(ed.get(&id).unwrap(), obj);
            huge_bytes += n as u64;
            objects.push((id, obj));
        }
        let h = ed.header();
        assert_eq!(
            (h.huge_count, h.huge_size, h.next_huge_id),
            (30, huge_bytes, 30)
        );
        assert_eq!(h.huge_btree_addr, None, "not stored yet");
        assert_eq!(ed.len(), 120);

        // Store: every huge object gets its own space, after the blocks, by ID.
        let mut mem = Mem::new();
        let mut allocs = Vec::new();
        let (addr, st) = ed
            .store(&mut |n| {
                allocs.push(n);
                mem.alloc(n)
            })
            .unwrap();
        mem.apply(&st);
        assert!(st.freed.is_empty());
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!(&h, ed.header());
        let bt = h.huge_btree_addr.unwrap();
        let bh = btree2::Header::decode(&mem.buf[bt as usize..], bt, SIZES).unwrap();
        assert_eq!(
            (bh.depth, bh.total_records),
            (1, 30),
            "30 records need two levels"
        );
        let first_huge = allocs.iter().position(|&n| n == 5 << 10).unwrap();
        assert_eq!(
            allocs[first_huge..first_huge + 30],
            sizes.iter().map(|&n| n as u64).collect::<Vec<_>>()[..]
        );
        assert_eq!(allocs[first_huge + 30], btree2::header_size(SIZES) as u64);
        assert!(allocs[first_huge + 31..].iter().all(|&n| n == 512));
        // Writes: huge objects before the B-tree nodes, nodes before the B-tree header, the
        // heap header last.
        let recs = huge_records(&mem.buf, &h);
        let pos = |a: u64| st.writes.iter().position(|w| w.0 == a).unwrap();
        let last_object = recs.iter().map(|r| pos(r.0)).max().unwrap();
        let tree: Vec<(u64, u64)> = huge_tree_extents(&mem.buf, &h);
        let first_node = tree[1..].iter().map(|e| pos(e.0)).min().unwrap();
        let last_node = tree[1..].iter().map(|e| pos(e.0)).max().unwrap();
        assert!(last_object < first_node);
        assert_eq!(pos(bt), last_node + 1);
        assert_eq!(pos(addr), st.writes.len() - 1);
        // Extents: the huge objects and the whole B-tree too, none overlapping.
        let mut ext = ed.extents().unwrap();
        for r in &recs {
            assert!(ext.contains(&(r.0, r.1)));
        }
        for e in &tree {
            assert!(ext.contains(e));
        }
        ext.sort_unstable();
        assert!(ext.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
        // Nothing changed: nothing to write.
        let (again, st) = mem.store(&mut ed);
        assert_eq!((again, st), (addr, Stored::default()));

        // Load, remove some, overwrite one, store again.
        let mut ed = mem.load(addr).unwrap();
        assert_eq!(ed.header(), &h);
        for (id, obj) in &objects {
            assert_eq!(&ed.get(id).unwrap(), obj);
        }
        let is_huge = |id: &[u8]| id[0] == 0x10;
        let huge_ids: Vec<Vec<u8>> = objects
            .iter()
            .filter(|o| is_huge(&o.0))
            .map(|o| o.0.clone())
            .collect();
        let gone: Vec<Vec<u8>> = [1, 4, 5, 6, 7, 8, 9, 20]
            .iter()
            .map(|&i| huge_ids[i].clone())
            .collect();
        let mut freed_objects = Vec::new();
        for id in &gone {
            let r = recs.iter().find(|r| r.2 == huge_key(id)).unwrap();
            freed_objects.push((r.0, r.1));
            ed.remove(id).unwrap();
            assert_eq!(
                invalid(ed.remove(id).unwrap_err()),
                "heap ID (no such huge object)"
            );
            assert!(ed.get(id).is_err());
        }
        objects.retain(|o| !gone.contains(&o.0));
        // Until stored, removed objects still count as the heap's space.
        let ext = ed.extents().unwrap();
        assert!(freed_objects.iter().all(|f| ext.contains(f)));
        let removed_bytes: u64 = freed_objects.iter().map(|f| f.1).sum();
        assert_eq!(ed.header().huge_count, 22);
        assert_eq!(ed.header().huge_size, huge_bytes - removed_bytes);
        assert_eq!(ed.header().next_huge_id, 30, "IDs are not reused");
        let first = objects.iter_mut().find(|o| is_huge(&o.0)).unwrap();
        let fresh = rng.bytes(first.1.len());
        ed.overwrite(&first.0, &fresh).unwrap();
        assert_eq!(ed.get(&first.0).unwrap(), fresh);
        assert_eq!(
            invalid(ed.overwrite(&first.0, &fresh[1..]).unwrap_err()),
            "heap object (overwritten with another length)"
        );
        first.1 = fresh.clone();
        let first_at = recs.iter().find(|r| r.2 == huge_key(&first.0)).unwrap().0;
        let managed = objects.iter().position(|o| o.0[0] == 0).unwrap();
        ed.remove(&objects.remove(managed).0).unwrap();
        let (_, st) = mem.store(&mut ed);
        // The removed objects are freed, the overwritten one rewritten where it is; the
        // B-tree's rewritten nodes go elsewhere, its header stays.
        for f in &freed_objects {
            assert!(st.freed.contains(f));
        }
        assert!(st.writes.contains(&(first_at, fresh)));
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!(h.huge_btree_addr, Some(bt));
        let live = ed.extents().unwrap();
        for &(a, n) in &st.freed {
            assert!(!live.iter().any(|&(b, m)| a < b + m && b < a + n));
        }

        // Removing every huge object deletes the B-tree and resets the huge-object fields.
        let mut ed = mem.load(addr).unwrap();
        let tree = huge_tree_extents(&mem.buf, &h);
        let huge_left: Vec<_> = objects.iter().filter(|o| is_huge(&o.0)).cloned().collect();
        for (id, _) in &huge_left {
            ed.remove(id).unwrap();
        }
        objects.retain(|o| !is_huge(&o.0));
        let (_, st) = mem.store(&mut ed);
        for e in &tree {
            assert!(st.freed.contains(e), "{e:?}");
        }
        assert_eq!(st.freed.len(), huge_left.len() + tree.len());
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!(
            (h.huge_btree_addr, h.next_huge_id, h.huge_count, h.huge_size),
            (None, 0, 0, 0)
        );
        let ext = ed.extents().unwrap();
        assert!(tree.iter().all(|e| !ext.contains(e)));
        assert!(huge_left
            .iter()
            .all(|o| !ext.iter().any(|e| e.1 == o.1.len() as u64)));
        // A new huge object starts the IDs again, in a new tree.
        let obj = rng.bytes(6000);
        let id = ed.insert(&obj).unwrap();
        assert_eq!(huge_key(&id), 1);
        objects.push((id, obj));
        let (_, st) = mem.store(&mut ed);
        assert!(st.freed.is_empty());
        let h = verify(&mem.buf, addr, &objects);
        assert_ne!(h.huge_btree_addr, Some(bt));
        assert_eq!((h.next_huge_id, h.huge_count), (1, 1));
    }

    #[test]
    fn huge_objects_follow_libhdf5() {
        // Measured with h5py 3.16 / HDF5 2.0 (dense attributes of a group, libver latest):
        // attributes whose messages are 5044, 100044 and 8044 bytes get huge object IDs 1, 2,
        // 3; deleting the second leaves the next ID at 3; deleting the other two deletes the
        // B-tree (address undefined) and resets the next ID to 0; a 6056-byte one then gets
        // ID 1 in a new B-tree.
        let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
        let mut ids = Vec::new();
        for n in [5044, 100044, 8044] {
            ids.push(ed.insert(&vec![n as u8; n]).unwrap());
            ed.insert(&[1; 36]).unwrap();
        }
        assert_eq!(
            ids.iter().map(|i| huge_key(i)).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (3, 3, 113132));
        ed.remove(&ids[1]).unwrap();
        mem.store(&mut ed);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (3, 2, 13088));
        ed.remove(&ids[0]).unwrap();
        ed.remove(&ids[2]).unwrap();
        mem.store(&mut ed);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!(
            (h.huge_btree_addr, h.next_huge_id, h.huge_count, h.huge_size),
            (None, 0, 0, 0)
        );
        let id = ed.insert(&[4; 6056]).unwrap();
        assert_eq!(huge_key(&id), 1);
        mem.store(&mut ed);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (1, 1, 6056));
        assert!(h.huge_btree_addr.is_some());
    }

    #[test]
    fn libhdf5_heap_with_a_huge_object_edits() {
        // The heap of attrs_large_latest: 2 managed attributes and a 65632-byte huge one at
        // 0x800, in a one-leaf B-tree (header 0x440, leaf 0x466).
        let addr = 0x136u64;
        let real = Header::decode(&ATTRS_LARGE_LATEST[addr as usize..], addr, SIZES).unwrap();
        let mut ed = load_from(ATTRS_LARGE_LATEST, addr).unwrap();
        assert_eq!(ed.header(), &real);
        let ext = ed.extents().unwrap();
        for e in [(0x800, 65632), (0x440, 38), (0x466, 512)] {
            assert!(ext.contains(&e), "{e:?}");
        }
        let ids = find_all(ATTRS_LARGE_LATEST, b"BTHD")
            .into_iter()
            .filter_map(|at| btree_ids(ATTRS_LARGE_LATEST, at))
            .find(|(k, _)| *k == 8)
            .unwrap()
            .1;
        assert_eq!(ids.len(), 3);
        let mut objects: Vec<(Vec<u8>, Vec<u8>)> = ids
            .iter()
            .map(|id| {
                let obj = read_via_decoders(ATTRS_LARGE_LATEST, addr, id).unwrap();
                assert_eq!(ed.get(id).unwrap(), obj);
                (id.clone(), obj)
            })
            .collect();
        let old = objects.iter().position(|o| o.0[0] == 0x10).unwrap();
        ed.track_free_space(ids.iter().map(Vec::as_slice)).unwrap();
        // Another huge object: ID 2, its space and a new leaf from the allocator, the
        // B-tree header rewritten in place.
        let obj = vec![0x42; 9000];
        let id = ed.insert(&obj).unwrap();
        assert_eq!(id, [0x10, 2, 0, 0, 0, 0, 0, 0]);
        objects.push((id, obj));
        let mut mem = Mem {
            buf: ATTRS_LARGE_LATEST.to_vec(),
        };
        let end = mem.buf.len() as u64;
        let (at, st) = mem.store(&mut ed);
        assert_eq!(at, addr);
        assert!(st.writes.iter().any(|w| w.0 == 0x440));
        assert!(st.freed.contains(&(0x466, 512)));
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!((h.next_huge_id, h.huge_count), (2, 2));
        assert_eq!(h.huge_size, 65632 + 9000);
        assert!(huge_records(&mem.buf, &h)[1].0 >= end);
        // Removing the old one frees its space; removing both deletes the B-tree.
        let mut ed = mem.load(addr).unwrap();
        ed.remove(&objects.remove(old).0).unwrap();
        let (_, st) = mem.store(&mut ed);
        assert!(st.freed.contains(&(0x800, 65632)));
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!((h.next_huge_id, h.huge_count, h.huge_size), (2, 1, 9000));
        let last = objects.pop().unwrap();
        ed.remove(&last.0).unwrap();
        let (_, st) = mem.store(&mut ed);
        assert!(st.freed.contains(&(0x440, 38)));
        let h = verify(&mem.buf, addr, &objects);
        assert_eq!((h.huge_btree_addr, h.next_huge_id), (None, 0));
        // What is left is libhdf5's header with the huge-object fields of a heap that never
        // had one (its free-space manager kept: the managed objects did not change).
        let mut want = real.clone();
        want.huge_btree_addr = None;
        (want.next_huge_id, want.huge_count, want.huge_size) = (0, 0, 0);
        assert_eq!(h, want);
    }

    #[test]
    fn huge_id_forms_and_counter_limits() {
        // IDs long enough for an address and a length: libhdf5 would put those in the ID
        // (with a type-3 B-tree); not supported.
        let mut p = HeapParams::dense_attributes();
        p.id_len = 17;
        let mut ed = HeapEdit::new(p, SIZES).unwrap();
        assert!(matches!(
            ed.insert(&[1; 5000]).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        let direct = [&[0x10][..], &0x800u64.to_le_bytes(), &5000u64.to_le_bytes()].concat();
        assert!(matches!(
            ed.get(&direct).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        assert!(matches!(
            ed.remove(&direct).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        // 16 bytes: still a key (8 bytes of it used).
        p.id_len = 16;
        let mut ed = HeapEdit::new(p, SIZES).unwrap();
        let id = ed.insert(&[1; 5000]).unwrap();
        assert_eq!(id, [&[0x10, 1][..], &[0; 14]].concat());
        // The counter's last value sets the wrapped flag; after that, no more huge objects.
        let mut ed = HeapEdit::new(HeapParams::dense_attributes(), SIZES).unwrap();
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        let mut h = ed.header().clone();
        h.next_huge_id = (1 << 56) - 2;
        mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
        let mut ed = mem.load(addr).unwrap();
        let id = ed.insert(&[7; 4097]).unwrap();
        assert_eq!(id, [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            ed.header().flags & FLAG_HUGE_IDS_WRAPPED,
            FLAG_HUGE_IDS_WRAPPED
        );
        assert!(matches!(
            ed.insert(&[7; 4097]).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        // Managed and tiny objects still go in.
        ed.insert(&[7; 4096]).unwrap();
        mem.store(&mut ed);
        let mut ed = mem.load(addr).unwrap();
        assert_eq!(ed.get(&id).unwrap(), [7; 4097]);
        // The last one gone, the counter and the flag are reset.
        ed.remove(&id).unwrap();
        mem.store(&mut ed);
        let h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        assert_eq!(
            (h.flags, h.next_huge_id),
            (FLAG_CHECKSUMMED_DIRECT_BLOCKS, 0)
        );
        // A counter beyond what the IDs hold.
        let mut h = ed.header().clone();
        h.next_huge_id = 1 << 56;
        mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
        let mut ed = mem.load(addr).unwrap();
        assert!(matches!(
            ed.insert(&[7; 4097]).unwrap_err().kind,
            ErrorKind::Limit { .. }
        ));
    }

    /// A heap ID and its object.
    type Object = (Vec<u8>, Vec<u8>);

    /// A stored heap of `small_table` with some managed objects and 25 huge ones (a B-tree of
    /// two levels): the file, the header address, the objects.
    fn huge_sample() -> (Mem, u64, Vec<Object>) {
        let mut rng = Rng(4242);
        let mut ed = HeapEdit::new(small_table(), SIZES).unwrap();
        let mut objects = Vec::new();
        for i in 0..75 {
            let n = if i % 3 == 0 {
                601 + rng.below(400)
            } else {
                20 + rng.below(500)
            };
            let obj = rng.bytes(n as usize);
            objects.push((ed.insert(&obj).unwrap(), obj));
        }
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        (mem, addr, objects)
    }

    /// Replace the huge-object B-tree of the heap at `addr` with one holding `records`
    /// (address, length, ID) in this order, and the header's huge-object count and size
    /// with theirs.
    fn with_huge_records(mem: &mut Mem, addr: u64, records: &[(u64, u64, u64)]) {
        let mut tree = TreeEdit::new(1, 24, 512, 100, 40, SIZES).unwrap();
        for (i, &(a, n, id)) in records.iter().enumerate() {
            let rec = [a.to_le_bytes(), n.to_le_bytes(), id.to_le_bytes()].concat();
            tree.insert_at(i as u64, &rec).unwrap();
        }
        let (bt, st) = tree.store(None, &mut |n| mem.alloc(n)).unwrap();
        mem.apply(&st);
        let mut h = Header::decode(&mem.buf[addr as usize..], addr, SIZES).unwrap();
        h.huge_btree_addr = Some(bt);
        h.huge_count = records.len() as u64;
        h.huge_size = records.iter().map(|r| r.1).fold(0, u64::wrapping_add);
        mem.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
    }

    #[test]
    fn huge_load_rejects_bad_input() {
        let (good, addr, objects) = huge_sample();
        let ed = good.load(addr).unwrap();
        for (id, obj) in &objects {
            assert_eq!(&ed.get(id).unwrap(), obj);
        }
        let h = ed.header().clone();
        assert_eq!(h.huge_count, 25);
        let bt = h.huge_btree_addr.unwrap();
        let recs = huge_records(&good.buf, &h);
        let patched = |f: &dyn Fn(&mut Header)| {
            let mut h = h.clone();
            f(&mut h);
            let mut m = Mem {
                buf: good.buf.clone(),
            };
            m.buf[addr as usize..addr as usize + 146].copy_from_slice(&h.encode());
            m.load(addr)
        };
        // Header fields that disagree with the B-tree.
        for (f, what) in [
            (
                &(|h: &mut Header| h.huge_count += 1) as &dyn Fn(&mut Header),
                "number of huge objects (unlike the B-tree's)",
            ),
            (
                &|h: &mut Header| h.huge_size -= 1,
                "size of huge objects (unlike the B-tree's)",
            ),
            (
                &|h: &mut Header| h.next_huge_id = 24,
                "huge object ID (beyond the next huge object ID)",
            ),
            (
                &|h: &mut Header| h.huge_btree_addr = None,
                "huge objects (without a huge object B-tree)",
            ),
        ] {
            assert_eq!(invalid(load_err(patched(f))), what);
        }
        // Once the counter wrapped, any ID the key holds is fine.
        patched(&|h| {
            h.next_huge_id = 3;
            h.flags |= FLAG_HUGE_IDS_WRAPPED;
        })
        .unwrap();
        // The B-tree address pointing at garbage, the heap header, a managed block, the end
        // of the file, another kind of B-tree.
        let block = walk(&good.buf, &h).0[0].2;
        for at in [0, addr, block, good.buf.len() as u64 - 10, u64::MAX - 1] {
            assert!(patched(&|h| h.huge_btree_addr = Some(at)).is_err());
        }
        let mut other = Mem {
            buf: good.buf.clone(),
        };
        let mut links = TreeEdit::new(5, 11, 512, 100, 40, SIZES).unwrap();
        links
            .insert_at(0, &[1, 0, 0, 0, 0, 0x20, 0, 0, 0, 7, 0])
            .unwrap();
        let (lt, st) = links.store(None, &mut |n| other.alloc(n)).unwrap();
        other.apply(&st);
        let mut hh = h.clone();
        hh.huge_btree_addr = Some(lt);
        hh.huge_count = 1;
        other.buf[addr as usize..addr as usize + 146].copy_from_slice(&hh.encode());
        assert_eq!(
            invalid(load_err(other.load(addr))),
            "record type (not unfiltered huge objects)"
        );
        // Records no libhdf5 heap has.
        let (a0, n0, _) = recs[0];
        let (a1, n1, _) = recs[1];
        let eof = good.buf.len() as u64;
        for (records, what) in [
            (
                vec![(a0, n0, 2), (a1, n1, 1)],
                Some("huge object IDs (not increasing)"),
            ),
            (
                vec![(a0, n0, 1), (a1, n1, 1)],
                Some("huge object IDs (not increasing)"),
            ),
            (vec![(a0, n0, 0)], Some("huge object IDs (not increasing)")),
            (vec![(a0, 0, 1)], Some("huge object length")),
            (vec![(u64::MAX - 8, 16, 1)], Some("huge object length")),
            (
                vec![(a0, n0, 1), (a0 + 1, n1, 2)],
                Some("huge objects (overlapping)"),
            ),
            (vec![(a0, u64::MAX / 2, 1), (a1, n1, 2)], None),
            (vec![(a0, n0, 1), (eof + 4096, 20, 2)], None),
            (vec![(eof + 100, 1 << 40, 1)], None),
        ] {
            let mut m = Mem {
                buf: good.buf.clone(),
            };
            with_huge_records(&mut m, addr, &records);
            let e = load_err(m.load(addr));
            match what {
                Some(w) => assert_eq!(invalid(e), w, "{records:?}"),
                None => assert!(
                    matches!(e.kind, ErrorKind::Truncated | ErrorKind::Invalid(_)),
                    "{records:?}: {e:?}"
                ),
            }
        }
        // Too many B-tree nodes.
        let e = load_err(HeapEdit::load(addr, SIZES, 2, &mut |a, n| {
            Ok::<_, Error>(good.buf[a as usize..a as usize + n].to_vec())
        }));
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        assert!(e.structure.starts_with("v2 B-tree"), "{e:?}");
        // Every flipped byte of the B-tree and of the huge-object header fields: an error or
        // a heap that edits and stores, never a panic.
        let mut rng = Rng(17);
        let mut spots: Vec<u64> = huge_tree_extents(&good.buf, &h)
            .iter()
            .flat_map(|&(a, n)| (a..a + n.min(120)).step_by(2))
            .collect();
        spots.extend(addr + 14..addr + 30);
        spots.extend(addr + 94..addr + 110);
        let mut loaded = 0;
        for &i in &spots {
            let mut bad = Mem {
                buf: good.buf.clone(),
            };
            bad.buf[i as usize] ^= 1 << rng.below(8);
            if i >= addr && i < addr + 146 {
                // Keep the header's checksum right.
                let n = bad.buf.len();
                let sum = lookup3::checksum(&bad.buf[addr as usize..addr as usize + 142]);
                bad.buf[addr as usize + 142..addr as usize + 146]
                    .copy_from_slice(&sum.to_le_bytes());
                assert!(n == bad.buf.len());
            }
            if let Ok(mut ed) = bad.load(addr) {
                loaded += 1;
                let _ = ed.insert(&[5; 700]);
                for (id, _) in objects.iter().step_by(5) {
                    let _ = ed.get(id);
                    let _ = ed.remove(id);
                }
                let _ = ed.extents();
                let _ = ed.store(&mut |n| bad.alloc(n));
            }
        }
        assert!(loaded > 10, "{loaded}");
        // Random records with the checksums right.
        let mut random_loaded = 0;
        for _ in 0..300 {
            // The real records with one to three changes: a field set to another value, a
            // record dropped, two records swapped.
            let mut records = recs.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(records.len() as u64) as usize;
                let v = match rng.below(4) {
                    0 => recs[rng.below(recs.len() as u64) as usize].0,
                    1 => rng.below(eof + 64),
                    2 => u64::MAX - rng.below(3),
                    _ => rng.below(1 << 12),
                };
                match rng.below(6) {
                    0 => records[i].0 = v,
                    1 => records[i].1 = v,
                    2 => records[i].2 = v,
                    3 if records.len() > 1 => {
                        records.remove(i);
                    }
                    _ => {
                        let j = rng.below(records.len() as u64) as usize;
                        records.swap(i, j);
                    }
                }
            }
            let k = records.len();
            let mut m = Mem {
                buf: good.buf.clone(),
            };
            with_huge_records(&mut m, addr, &records);
            if let Ok(mut ed) = m.load(addr) {
                random_loaded += 1;
                let _ = ed.insert(&[5; 700]);
                for id in 0..=k as u64 + 1 {
                    let hid = [&[0x10][..], &id.to_le_bytes()[..5]].concat();
                    let _ = ed.get(&hid);
                    let _ = ed.overwrite(&hid, &[1; 3]);
                    let _ = ed.remove(&hid);
                }
                let _ = ed.store(&mut |n| m.alloc(n));
            }
        }
        assert!(random_loaded > 10, "{random_loaded}");
        // The heap with its tree still loads after all that.
        let _ = bt;
        good.load(addr).unwrap();
    }

    #[test]
    fn bad_params() {
        let p = HeapParams::dense_links();
        for (bad, what) in [
            (
                HeapParams {
                    table_width: 3,
                    ..p
                },
                "table width",
            ),
            (
                HeapParams {
                    start_block_size: 16,
                    ..p
                },
                "starting block size",
            ),
            (
                HeapParams {
                    max_direct_block_size: 256,
                    ..p
                },
                "maximum direct block size",
            ),
            (HeapParams { id_len: 6, ..p }, "heap ID length"),
            (
                HeapParams {
                    max_managed_object_size: 65536,
                    ..p
                },
                "maximum size of managed",
            ),
            (
                HeapParams {
                    max_heap_size_bits: 8,
                    ..p
                },
                "maximum heap size",
            ),
        ] {
            let e = HeapEdit::new(bad, SIZES).unwrap_err();
            assert!(invalid(e).starts_with(what), "{what}");
        }
        let e = HeapEdit::new(
            HeapParams {
                max_direct_block_size: 1 << 30,
                ..p
            },
            SIZES,
        )
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        // A heap that fills up says so.
        let tiny_heap = HeapParams {
            max_heap_size_bits: 12,
            max_direct_block_size: 512,
            max_managed_object_size: 400,
            id_len: 5,
            ..p
        };
        let mut ed = HeapEdit::new(tiny_heap, SIZES).unwrap();
        let mut n = 0;
        let e = loop {
            match ed.insert(&[1; 400]) {
                Ok(_) => n += 1,
                Err(e) => break e,
            }
        };
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        assert_eq!(n, 8);
    }

    #[test]
    fn load_rejects_bad_input() {
        let mut rng = Rng(99);
        let mut ed = HeapEdit::new(small_table(), SIZES).unwrap();
        for _ in 0..60 {
            ed.insert(&{
                let n = mixed_size(&mut rng, 600);
                rng.bytes(n)
            })
            .unwrap();
        }
        let mut mem = Mem::new();
        let (addr, _) = mem.store(&mut ed);
        let good = mem.buf.clone();
        assert!(load_from(&good, addr).is_ok());
        // Truncated files.
        for n in (0..good.len()).step_by(97) {
            assert!(load_from(&good[..n], addr).is_err(), "{n}");
        }
        // Garbage and wrong addresses.
        assert_eq!(
            load_from(&good, addr + 1).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        assert!(load_from(&[0xAB; 4096], 0).is_err());
        // Every flipped byte: an error or a heap, never a panic (and a corrupted heap that
        // loads still edits and stores without panicking).
        for i in (0..good.len()).step_by(3) {
            let mut bad = good.clone();
            bad[i] ^= 0x5A;
            if let Ok(mut ed) = load_from(&bad, addr) {
                let _ = ed.insert(&[1; 300]);
                let _ = ed.store(&mut |n| n);
            }
        }
        // Headers with every kind of field value (checksums kept right): an error or a heap
        // that edits and stores, never a panic.
        let h = Header::decode(&good[addr as usize..], addr, SIZES).unwrap();
        let mut tried = 0;
        for round in 0..3000u64 {
            let mut f = h.clone();
            let v = match rng.below(6) {
                0 => rng.below(4),
                1 => rng.next(),
                2 => u64::MAX - rng.below(2),
                3 => 1 << rng.below(64),
                4 => (1 << rng.below(64)) - 1,
                _ => rng.below(1 << 20),
            };
            match round % 16 {
                0 => f.free_space = v,
                1 => f.managed_space = v,
                2 => f.allocated_managed_space = v,
                3 => f.alloc_iter_offset = v,
                4 => f.managed_count = v,
                5 => f.table_width = v as u16,
                6 => f.start_block_size = v,
                7 => f.max_direct_block_size = v,
                8 => f.max_heap_bits = v as u16,
                9 => f.start_root_rows = v as u16,
                10 => f.current_root_rows = v as u16,
                11 => f.root_addr = Some(v),
                12 => f.heap_id_len = v as u16,
                13 => f.max_managed_obj_size = v as u32,
                14 => f.tiny_count = v,
                _ => f.fsm_addr = Some(v),
            }
            let mut bad = good.clone();
            bad[addr as usize..addr as usize + 146].copy_from_slice(&f.encode());
            if let Ok(mut ed) = load_from(&bad, addr) {
                tried += 1;
                for n in [1, 7, 30, 500] {
                    let _ = ed.insert(&vec![3; n]).map(|id| ed.remove(&id));
                }
                let _ = ed.track_free_space([&[0u8, 1, 0, 0, 5, 0][..]]);
                let _ = ed.store(&mut |n| n);
            }
        }
        assert!(tried > 100, "{tried}");
        // Indirect blocks whose entries point anywhere (checksums kept right).
        let root = h.root_addr.unwrap();
        let rows = h.current_root_rows;
        let ib = IndirectBlock::decode(&good[root as usize..], root, SIZES, &h, rows).unwrap();
        let targets: Vec<u64> = ib
            .direct
            .iter()
            .filter_map(|e| e.addr)
            .chain(ib.indirect.iter().flatten().copied())
            .chain([0, addr, root, root + 1, u64::MAX - 1, good.len() as u64 - 8])
            .collect();
        for _ in 0..500 {
            let mut ib = ib.clone();
            for _ in 0..1 + rng.below(3) {
                let t = Some(targets[rng.below(targets.len() as u64) as usize]);
                let i = rng.below((ib.direct.len() + ib.indirect.len()) as u64) as usize;
                match ib.direct.get_mut(i) {
                    Some(e) => e.addr = t,
                    None => ib.indirect[i - ib.direct.len()] = t,
                }
            }
            let mut bad = good.clone();
            let bytes = ib.encode(&h);
            bad[root as usize..root as usize + bytes.len()].copy_from_slice(&bytes);
            if let Ok(mut ed) = load_from(&bad, addr) {
                let _ = ed.insert(&[2; 200]);
                let _ = ed.store(&mut |n| n);
            }
        }
        // Too many blocks.
        let e = HeapEdit::load(addr, SIZES, 3, &mut |a, n| {
            Ok::<_, Error>(good[a as usize..a as usize + n].to_vec())
        })
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        // A direct block entry pointing at the root indirect block: a cycle.
        let h = Header::decode(&good[addr as usize..], addr, SIZES).unwrap();
        let root = h.root_addr.unwrap();
        let size = h.indirect_block_size(h.current_root_rows).unwrap() as usize;
        let mut ib =
            IndirectBlock::decode(&good[root as usize..], root, SIZES, &h, h.current_root_rows)
                .unwrap();
        ib.direct[1].addr = Some(root);
        let mut cyclic = good.clone();
        cyclic[root as usize..root as usize + size].copy_from_slice(&ib.encode(&h));
        assert_eq!(load_from(&cyclic, addr).unwrap_err().kind, ErrorKind::Cycle);
        // A direct block with a bad checksum.
        let (direct, _) = walk(&good, &h);
        let mut corrupt = good.clone();
        corrupt[direct[3].2 as usize + 100] ^= 1;
        assert!(matches!(
            load_from(&corrupt, addr).unwrap_err().kind,
            ErrorKind::BadChecksum { .. }
        ));
        // Heaps with I/O filters are not edited.
        let filtered = encode_header(&Spec {
            filters: Some((0, 0, vec![0; 8])),
            ..Spec::default()
        });
        let e = load_from(&filtered, 0).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
        // A read error passes through as the caller's error type.
        #[derive(Debug, PartialEq)]
        enum Io {
            Gone,
            Format,
        }
        impl From<Error> for Io {
            fn from(_: Error) -> Io {
                Io::Format
            }
        }
        let e = HeapEdit::load(addr, SIZES, 100, &mut |_, _| Err(Io::Gone)).unwrap_err();
        assert_eq!(e, Io::Gone);
    }

    #[test]
    fn random_edits_stay_consistent() {
        // Inserts, removals, overwrites, stores and reloads in random order; after every
        // store the file holds exactly the live objects and consistent statistics.
        for (params, seed) in [(small_table(), 11), (HeapParams::dense_links(), 12)] {
            let mut rng = Rng(seed);
            let max = u64::from(params.max_managed_object_size);
            let mut ed = HeapEdit::new(params, SIZES).unwrap();
            let mut mem = Mem::new();
            let mut live: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            let mut stores = 0;
            let mut all_freed = Vec::new();
            for step in 0..3000 {
                match rng.below(100) {
                    0..=59 => {
                        // One in 15 is huge.
                        let n = if rng.below(15) == 0 {
                            (max + 1 + rng.below(3000)) as usize
                        } else {
                            mixed_size(&mut rng, max)
                        };
                        let obj = rng.bytes(n);
                        live.push((ed.insert(&obj).unwrap(), obj));
                    }
                    60..=84 if !live.is_empty() => {
                        let (id, _) = live.swap_remove(rng.below(live.len() as u64) as usize);
                        ed.remove(&id).unwrap();
                        assert!(ed.remove(&id).is_err());
                    }
                    85..=94 if !live.is_empty() => {
                        let i = rng.below(live.len() as u64) as usize;
                        let obj = rng.bytes(live[i].1.len());
                        ed.overwrite(&live[i].0, &obj).unwrap();
                        live[i].1 = obj;
                    }
                    _ => {
                        let (addr, st) = mem.store(&mut ed);
                        stores += 1;
                        verify(&mem.buf, addr, &live);
                        // Nothing freed is written, or still in use; nothing is freed twice.
                        let in_use = ed.extents().unwrap();
                        for &(a, n) in &st.freed {
                            assert!(!st
                                .writes
                                .iter()
                                .any(|w| w.0 < a + n && a < w.0 + w.1.len() as u64));
                            assert!(!in_use.iter().any(|&(b, m)| b < a + n && a < b + m));
                            assert!(!all_freed.contains(&(a, n)));
                            all_freed.push((a, n));
                        }
                        ed = mem.load(addr).unwrap();
                        if step % 2 == 0 {
                            ed.track_free_space(live.iter().map(|(id, _)| id.as_slice()))
                                .unwrap();
                        }
                    }
                }
                if step % 500 == 0 {
                    for (id, obj) in &live {
                        assert_eq!(&ed.get(id).unwrap(), obj);
                    }
                }
            }
            assert!(stores > 50);
            let (addr, _) = mem.store(&mut ed);
            let h = verify(&mem.buf, addr, &live);
            assert!(h.next_huge_id > 20, "{}", h.next_huge_id);
        }
    }
}

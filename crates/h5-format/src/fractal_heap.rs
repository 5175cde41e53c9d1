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

use alloc::vec::Vec;
use core::ops::Range;

use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::{Reader, Sizes};

const HEADER: &str = "fractal heap header";
const INDIRECT: &str = "fractal heap indirect block";
const DIRECT: &str = "fractal heap direct block";
const HEAP_ID: &str = "fractal heap ID";
const TABLE: &str = "fractal heap doubling table";

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
}

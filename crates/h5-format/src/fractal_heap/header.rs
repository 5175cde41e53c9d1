//! The fractal heap header (`FRHP`): decode, the doubling-table arithmetic it fixes, encode.

use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;

use super::*;

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
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`, or `Invalid` naming the
    /// first inconsistent field.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Header> {
        let mut r = Reader::new(buf, addr, sizes, HEADER);
        r.prologue(b"FRHP", &[0])?;
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

    pub(super) fn error(&self, what: &'static str) -> Error {
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

//! Indirect blocks (`FHIB`) and direct blocks (`FHDB`): decode, [`locate`] (which block holds
//! a heap offset), object ranges, encode.

use alloc::vec::Vec;
use core::ops::Range;

use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;

use super::*;

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
    /// `VersionNotAccepted`, `BadChecksum`, or `Invalid` (row count, heap header address, block
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
        r.prologue(b"FHIB", &[0])?;
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
/// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`, or `Invalid` (heap header
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
    r.prologue(b"FHDB", &[0])?;
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

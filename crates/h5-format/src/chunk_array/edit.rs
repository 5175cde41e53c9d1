//! Bookkeeping shared by the editing models of both arrays: the in-memory block-size limit,
//! the extents of loaded blocks, runs of elements, sealing and checked allocation.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::element::{addr_fits, ChunkElement, ElementFormat};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::Sizes;
use crate::writer::Writer;

/// The largest block (or page) the editing models of [`crate::fixed_array`] and
/// [`crate::extensible_array`] hold in memory, create or ask their `read` callback for: 1 GiB.
/// libhdf5's chunk-index parameters never come near it (its largest fixed array block for 2^32
/// chunks is 512 KiB); larger sizes come from hostile headers and are refused with
/// `ErrorKind::Limit`.
pub const MAX_EDIT_BLOCK_BYTES: u64 = 1 << 30;

/// A block size checked against [`MAX_EDIT_BLOCK_BYTES`], as a `usize`.
pub(crate) fn block_len(size: u64, structure: &'static str, offset: u64) -> Result<usize> {
    usize::try_from(size)
        .ok()
        .filter(|_| size <= MAX_EDIT_BLOCK_BYTES)
        .ok_or_else(|| Error::limit(structure, offset, "block size", size, MAX_EDIT_BLOCK_BYTES))
}

/// `n` copies of `e`, refusing counts whose encoding would exceed [`MAX_EDIT_BLOCK_BYTES`].
pub(crate) fn filled(
    e: ChunkElement,
    n: u64,
    esize: usize,
    structure: &'static str,
    offset: u64,
) -> Result<Vec<ChunkElement>> {
    let bytes = n.saturating_mul(esize as u64);
    block_len(bytes, structure, offset)?;
    let n = usize::try_from(n).map_err(|_| Error::new(structure, offset, ErrorKind::Truncated))?;
    Ok(alloc::vec![e; n])
}

/// The file extents of the blocks loaded by an editing model; refuses blocks that overlap
/// (libhdf5 never writes overlapping blocks; overlapping blocks in a hostile file could make a
/// few bytes load as many large blocks).
#[derive(Debug, Clone, Default)]
pub(crate) struct Extents(BTreeMap<u64, u64>);

impl Extents {
    /// Record `[addr, addr + size)`; `Invalid` (naming `structure`) when it overlaps an
    /// extent already recorded or overflows.
    pub(crate) fn insert(&mut self, addr: u64, size: u64, structure: &'static str) -> Result<()> {
        let overlap = || Error::invalid(structure, addr, "block address (overlaps another block)");
        let end = addr.checked_add(size).ok_or_else(overlap)?;
        if let Some((_, &prev_end)) = self.0.range(..=addr).next_back() {
            if prev_end > addr {
                return Err(overlap());
            }
        }
        if let Some((&next, _)) = self.0.range(addr..).next() {
            if next < end || next == addr {
                return Err(overlap());
            }
        }
        self.0.insert(addr, end);
        Ok(())
    }
}

/// A run of elements held by an editing model (a whole unpaged data block or one page) and
/// whether it changed since it was loaded or stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) elements: Vec<ChunkElement>,
    pub(crate) dirty: bool,
}

/// Encode `elements` followed by their checksum (a page, or the body of a block written
/// after `w`'s existing bytes when `start` is 0).
pub(crate) fn sealed_elements(
    w: &mut Writer,
    start: usize,
    format: &ElementFormat,
    elements: &[ChunkElement],
) {
    format.write_all(w, elements);
    w.checksum_from(start);
}

/// `alloc(size)`, checking the address fits Size of Offsets.
pub(crate) fn checked_alloc(
    alloc: &mut dyn FnMut(u64) -> u64,
    size: u64,
    sizes: Sizes,
    structure: &'static str,
) -> Result<u64> {
    let a = alloc(size);
    if addr_fits(a, sizes.offset) && a.checked_add(size).is_some() {
        Ok(a)
    } else {
        Err(Error::invalid(
            structure,
            a,
            "allocated address (does not fit Size of Offsets)",
        ))
    }
}

//! Bookkeeping shared by the editing models of both arrays: the in-memory block-size limit,
//! the extents of loaded blocks, runs of elements, sealing and checked allocation.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::element::{addr_fits, ChunkElement, ElementFormat};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::Sizes;
use crate::writer::{Stored, Writer};

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

impl Segment {
    /// A run as loaded or stored: unchanged.
    pub(crate) fn clean(elements: Vec<ChunkElement>) -> Self {
        Segment {
            elements,
            dirty: false,
        }
    }

    /// A run just created: to be written.
    pub(crate) fn created(elements: Vec<ChunkElement>) -> Self {
        Segment {
            elements,
            dirty: true,
        }
    }
}

/// A data block of an editing model (fixed array data block or extensible array data block):
/// where it is and how its pages are found.
pub(crate) struct DataBlockAt<'a> {
    /// The block's address.
    pub(crate) addr: u64,
    /// The block's structure name (for errors).
    pub(crate) name: &'static str,
    /// The address of page `p` (`None` on overflow).
    pub(crate) page_addr: &'a dyn Fn(u64) -> Option<u64>,
}

/// Decodes a page from its bytes, its address and its index.
pub(crate) type DecodePage<'a> = &'a dyn Fn(&[u8], u64, u64) -> Result<Vec<ChunkElement>>;

impl DataBlockAt<'_> {
    fn page(&self, p: u64) -> Result<u64> {
        (self.page_addr)(p).ok_or_else(|| Error::invalid(self.name, self.addr, "page address"))
    }

    /// Read the pages `pages` (each `page_size(p)` bytes, decoded by `decode(bytes, at, p)`)
    /// into unchanged segments keyed by page.
    pub(crate) fn load_pages<E: From<Error>>(
        &self,
        pages: impl Iterator<Item = u64>,
        page_name: &'static str,
        page_size: &dyn Fn(u64) -> u64,
        decode: DecodePage<'_>,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<BTreeMap<u64, Segment>, E> {
        let mut segments = BTreeMap::new();
        for p in pages {
            let at = self.page(p)?;
            let len = block_len(page_size(p), page_name, at)?;
            let elements = decode(&read(at, len)?, at, p)?;
            segments.insert(p, Segment::clean(elements));
        }
        Ok(segments)
    }

    /// Push the writes of the block's changed segments onto `stored`, marking them clean:
    /// when `paged` (`Some(prefix_dirty)`), each dirty page (a sealed run of `format`
    /// elements) and the block's prefix (`encode_block(&[])`) when `prefix_dirty`;
    /// otherwise the whole block (`encode_block(elements)`) when its segment changed.
    pub(crate) fn store_segments(
        &self,
        segments: &mut BTreeMap<u64, Segment>,
        paged: Option<bool>,
        page_format: (Sizes, &ElementFormat),
        encode_block: &dyn Fn(&[ChunkElement]) -> Vec<u8>,
        stored: &mut Stored,
    ) -> Result<()> {
        match paged {
            Some(prefix_dirty) => {
                for (&p, seg) in segments.iter_mut().filter(|(_, s)| s.dirty) {
                    let at = self.page(p)?;
                    let (sizes, format) = page_format;
                    stored
                        .writes
                        .push((at, encode_elements_page(sizes, format, &seg.elements)));
                    seg.dirty = false;
                }
                if prefix_dirty {
                    stored.writes.push((self.addr, encode_block(&[])));
                }
            }
            None => {
                if let Some(seg) = segments.get_mut(&0).filter(|s| s.dirty) {
                    stored.writes.push((self.addr, encode_block(&seg.elements)));
                    seg.dirty = false;
                }
            }
        }
        Ok(())
    }
}

/// A data block page: `elements` and their checksum.
pub(crate) fn encode_elements_page(
    sizes: Sizes,
    format: &ElementFormat,
    elements: &[ChunkElement],
) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    sealed_elements(&mut w, 0, format, elements);
    w.finish()
}

/// Where an editing model's header is (once loaded or first stored) and whether it must be
/// written again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderSlot {
    pub(crate) addr: Option<u64>,
    pub(crate) dirty: bool,
    /// The header's encoded size.
    size: usize,
}

impl HeaderSlot {
    /// A new array's header of `size` bytes: not yet allocated, to be written.
    pub(crate) fn new(size: usize) -> Self {
        HeaderSlot {
            addr: None,
            dirty: true,
            size,
        }
    }

    /// A header of `size` bytes loaded from `addr`, unchanged.
    pub(crate) fn loaded(addr: u64, size: usize) -> Self {
        HeaderSlot {
            addr: Some(addr),
            dirty: false,
            size,
        }
    }

    /// The header's address: where it is, or (first store of a new array) a new allocation,
    /// recorded and marking the header dirty.
    pub(crate) fn address(
        &mut self,
        alloc: &mut dyn FnMut(u64) -> u64,
        sizes: Sizes,
        structure: &'static str,
    ) -> Result<u64> {
        if let Some(a) = self.addr {
            return Ok(a);
        }
        let a = checked_alloc(alloc, self.size as u64, sizes, structure)?;
        self.addr = Some(a);
        self.dirty = true;
        Ok(a)
    }
}

/// The element format of a new array and its element size as the header stores it.
///
/// # Errors
/// As [`ElementFormat::for_params`]; `Invalid` when the element size does not fit a byte.
pub(crate) fn edit_format(
    sizes: Sizes,
    filtered: bool,
    chunk_size_len: u8,
    structure: &'static str,
) -> Result<(ElementFormat, u8)> {
    let format = ElementFormat::for_params(sizes, filtered, chunk_size_len, structure, 0)?;
    let size =
        u8::try_from(format.size).map_err(|_| Error::invalid(structure, 0, "element size"))?;
    Ok((format, size))
}

/// `Invalid` (at `at`) when `e` does not fit `format` ([`ElementFormat::fits`]).
pub(crate) fn check_fits(
    format: &ElementFormat,
    sizes: Sizes,
    e: &ChunkElement,
    structure: &'static str,
    at: u64,
) -> Result<()> {
    if format.fits(sizes, e) {
        Ok(())
    } else {
        Err(Error::invalid(
            structure,
            at,
            "element (does not fit the element format)",
        ))
    }
}

/// Read and decode a header of `size` bytes at `addr`, recording its extent.
pub(crate) fn load_header<H, E: From<Error>>(
    addr: u64,
    size: usize,
    decode: &dyn Fn(&[u8]) -> Result<H>,
    structure: &'static str,
    read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
) -> core::result::Result<(H, Extents), E> {
    let hdr = decode(&read(addr, size)?)?;
    let mut extents = Extents::default();
    extents.insert(addr, size as u64, structure)?;
    Ok((hdr, extents))
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

//! The editing model of a fixed array: [`FixedArrayEdit`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::data_block::encode_data_block;
use super::{
    decode_page, DataBlock, ElementPosition, Header, DATA_BLOCK_NAME, HEADER_NAME, PAGE_NAME,
};
use crate::chunk_array::{
    block_len, check_fits, checked_alloc, edit_format, filled, load_header, set_bits, set_page_bit,
    ChunkElement, DataBlockAt, HeaderSlot, Segment,
};
use crate::error::{Error, Result};
use crate::reader::Sizes;
use crate::writer::Stored;

const EDIT_NAME: &str = "fixed array";

/// Creation parameters of a fixed array chunk index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedArrayParams {
    /// Elements are filtered-chunk records (client 1) rather than bare addresses (client 0).
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements, 1–8 (see
    /// [`filtered_chunk_size_len`](crate::chunk_array::filtered_chunk_size_len)); ignored when not `filtered`.
    pub chunk_size_len: u8,
    /// log2 of the most elements in one data block page; the data block is paged when it
    /// holds more than 2^bits elements (the layout message's fixed array parameter).
    pub max_dblk_page_nelmts_bits: u8,
    /// Number of elements: the number of chunks of the dataset's maximum dimensions.
    pub nelmts: u64,
}

impl FixedArrayParams {
    /// Page bits libhdf5 (1.10 to 2.0) uses for every fixed array chunk index: 10, so data
    /// blocks of more than 1024 chunks are paged.
    pub const DEFAULT_PAGE_BITS: u8 = 10;

    /// The parameters libhdf5 uses for a dataset with `nelmts` chunks (measured with 2.0.0
    /// through h5py `libver="latest"`): page bits 10.
    pub fn default_for(filtered: bool, chunk_size_len: u8, nelmts: u64) -> Self {
        FixedArrayParams {
            filtered,
            chunk_size_len,
            max_dblk_page_nelmts_bits: Self::DEFAULT_PAGE_BITS,
            nelmts,
        }
    }
}

/// An editable fixed array: every element of a (new or loaded) array, changed in memory and
/// written back with [`FixedArrayEdit::store`].
///
/// It allocates as libhdf5 does, so that libhdf5 can keep writing into it: the header first
/// (on the first store), the data block (with room for every page) when the first element
/// is set, and a page of a paged block when the first element of that page is set (which
/// also sets the page's bit in the data block's bitmap). New blocks and pages hold the
/// undefined element ([`ChunkElement::undefined`]) wherever nothing was set. Nothing is ever
/// freed while the array lives; [`FixedArrayEdit::extents`] lists its blocks for deleting it.
#[derive(Debug, Clone)]
pub struct FixedArrayEdit {
    pub(super) sizes: Sizes,
    /// The header as it will be written; `hdr.addr` is meaningful once `header.addr` is set.
    hdr: Header,
    header: HeaderSlot,
    /// Paged: the bitmap (or the whole prefix) must be rewritten.
    prefix_dirty: bool,
    /// Paged: the page-initialised bitmap (empty until the data block exists).
    page_init: Vec<u8>,
    /// Unpaged: key 0 holds every element once the data block exists. Paged: one entry per
    /// initialised page.
    pub(super) segments: BTreeMap<u64, Segment>,
}

impl FixedArrayEdit {
    /// A new array of `params.nelmts` undefined elements, with no block allocated yet.
    ///
    /// # Errors
    /// `Invalid` for a chunk-size width other than 1–8 (filtered) or an element count whose
    /// data block would not fit in 64 bits.
    pub fn new(params: FixedArrayParams, sizes: Sizes) -> Result<Self> {
        let (format, element_size) =
            edit_format(sizes, params.filtered, params.chunk_size_len, EDIT_NAME)?;
        let hdr = Header {
            addr: 0,
            client_id: format.client_id(),
            element_size,
            page_bits: params.max_dblk_page_nelmts_bits,
            nelmts: params.nelmts,
            data_block_addr: None,
            format,
        };
        if hdr.checked_total_size(sizes).is_none() {
            return Err(Error::invalid(EDIT_NAME, 0, "number of elements"));
        }
        Ok(FixedArrayEdit {
            sizes,
            hdr,
            header: HeaderSlot::new(Header::size(sizes)),
            prefix_dirty: false,
            page_init: Vec::new(),
            segments: BTreeMap::new(),
        })
    }

    /// Load the array whose header is at `addr`: the header, the data block and every
    /// initialised page. `read(address, length)` returns exactly `length` bytes at `address`
    /// (or fails); it is never asked for more than [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES) at once.
    ///
    /// # Errors
    /// Whatever `read` returns; the decoders' errors; `Limit` for blocks larger than
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES); `Invalid` when the data block overlaps the header.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let decode = |b: &[u8]| Header::decode(b, addr, sizes);
        let (hdr, mut extents) =
            load_header(addr, Header::size(sizes), &decode, HEADER_NAME, read)?;
        let mut edit = FixedArrayEdit {
            sizes,
            hdr,
            header: HeaderSlot::loaded(addr, Header::size(sizes)),
            prefix_dirty: false,
            page_init: Vec::new(),
            segments: BTreeMap::new(),
        };
        let Some(dblk) = edit.hdr.data_block_addr else {
            return Ok(edit);
        };
        let hdr = &edit.hdr;
        extents.insert(dblk, hdr.data_block_total_size(sizes), DATA_BLOCK_NAME)?;
        let len = block_len(hdr.data_block_size(sizes), DATA_BLOCK_NAME, dblk)?;
        let block = DataBlock::decode(&read(dblk, len)?, dblk, sizes, hdr)?;
        match block.page_init {
            None => {
                edit.segments.insert(0, Segment::clean(block.elements));
            }
            Some(bitmap) => {
                let block = DataBlockAt {
                    addr: dblk,
                    name: DATA_BLOCK_NAME,
                    page_addr: &|p| hdr.page_addr(dblk, sizes, p),
                };
                edit.segments = block.load_pages(
                    set_bits(&bitmap, 0, hdr.npages()),
                    PAGE_NAME,
                    &|p| hdr.page_size(p),
                    &|buf, at, p| decode_page(buf, at, sizes, hdr, p),
                    read,
                )?;
                edit.page_init = bitmap;
            }
        }
        Ok(edit)
    }

    /// The array's parameters.
    pub fn params(&self) -> FixedArrayParams {
        FixedArrayParams {
            filtered: self.hdr.filtered(),
            chunk_size_len: self.hdr.format.chunk_size_len as u8,
            max_dblk_page_nelmts_bits: self.hdr.page_bits,
            nelmts: self.hdr.nelmts,
        }
    }

    /// The header as the next [`FixedArrayEdit::store`] writes it (its `addr` is meaningful once
    /// [`FixedArrayEdit::addr`] is `Some`).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// Address of the header: where it was loaded from or first stored; `None` before the
    /// first store of a new array.
    pub fn addr(&self) -> Option<u64> {
        self.header.addr
    }

    /// Number of elements (chunks).
    pub fn len(&self) -> u64 {
        self.hdr.nelmts
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.hdr.nelmts == 0
    }

    fn err_at(&self) -> u64 {
        self.header.addr.unwrap_or(0)
    }

    fn position(&self, i: u64) -> Result<(u64, usize)> {
        let pos = self
            .hdr
            .element_position(i)
            .ok_or_else(|| Error::invalid(EDIT_NAME, self.err_at(), "element index"))?;
        // Indices within one page (or an unpaged block, at most MAX_EDIT_BLOCK_BYTES once
        // materialised) always fit; a failed conversion just finds no element.
        let (key, index) = match pos {
            ElementPosition::Direct(k) => (0, k),
            ElementPosition::Paged { page, index } => (page, index),
        };
        Ok((key, usize::try_from(index).unwrap_or(usize::MAX)))
    }

    /// Element `i` when it is allocated (has a defined address); `None` for undefined
    /// elements and for `i >= len()`.
    pub fn get(&self, i: u64) -> Option<&ChunkElement> {
        let (key, index) = self.position(i).ok()?;
        self.segments
            .get(&key)?
            .elements
            .get(index)
            .filter(|e| e.is_allocated())
    }

    /// Every allocated element with its index, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &ChunkElement)> + '_ {
        let per = if self.hdr.is_paged() {
            self.hdr.max_page_nelmts()
        } else {
            0
        };
        self.segments.iter().flat_map(move |(&key, seg)| {
            let first = key.saturating_mul(per);
            seg.elements
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_allocated())
                .map(move |(k, e)| (first.saturating_add(k as u64), e))
        })
    }

    /// Set element `i` to `e`, creating the data block (and the page holding `i`) as needed.
    /// An element with the undefined address is [`FixedArrayEdit::clear`].
    ///
    /// # Errors
    /// `Invalid` when `i >= len()` or `e` does not fit the element format
    /// ([`ElementFormat::fits`](crate::chunk_array::ElementFormat::fits)); `Limit` when the block to create exceeds
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES).
    pub fn set(&mut self, i: u64, e: ChunkElement) -> Result<()> {
        let (key, index) = self.position(i)?;
        if e.addr.is_none() {
            return self.clear(i);
        }
        check_fits(&self.hdr.format, self.sizes, &e, EDIT_NAME, self.err_at())?;
        if !self.segments.contains_key(&key) {
            self.create_segment(key)?;
        }
        let at = self.err_at();
        let seg = self
            .segments
            .get_mut(&key)
            .ok_or_else(|| Error::invalid(EDIT_NAME, at, "element index"))?;
        let slot = seg
            .elements
            .get_mut(index)
            .ok_or_else(|| Error::invalid(EDIT_NAME, at, "element index"))?;
        if *slot != e {
            *slot = e;
            seg.dirty = true;
        }
        Ok(())
    }

    /// Create the data block if it does not exist yet, then segment `key` (the unpaged
    /// block's elements or page `key`), all undefined.
    fn create_segment(&mut self, key: u64) -> Result<()> {
        let at = self.err_at();
        let paged = self.hdr.is_paged();
        let n = if paged {
            self.hdr.page_nelmts(key)
        } else {
            self.hdr.nelmts
        };
        let elements = filled(
            ChunkElement::undefined(self.hdr.filtered()),
            n,
            self.hdr.format.size,
            EDIT_NAME,
            at,
        )?;
        if paged {
            if self.page_init.is_empty() {
                let size = block_len(self.hdr.page_bitmap_size(), EDIT_NAME, at)?;
                self.page_init = alloc::vec![0; size];
            }
            set_page_bit(&mut self.page_init, key);
            self.prefix_dirty = true;
        }
        self.segments.insert(key, Segment::created(elements));
        Ok(())
    }

    /// Make element `i` undefined (the chunk has no storage). Nothing is created: clearing an
    /// element of a page or block that does not exist is a no-op.
    ///
    /// # Errors
    /// `Invalid` when `i >= len()`.
    pub fn clear(&mut self, i: u64) -> Result<()> {
        let (key, index) = self.position(i)?;
        let undefined = ChunkElement::undefined(self.hdr.filtered());
        if let Some(seg) = self.segments.get_mut(&key) {
            if let Some(slot) = seg.elements.get_mut(index) {
                if *slot != undefined {
                    *slot = undefined;
                    seg.dirty = true;
                }
            }
        }
        Ok(())
    }

    /// The file extents `(address, size)` of the header and the data block (pages
    /// included), for freeing the whole array; blocks not yet stored are left out.
    pub fn extents(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if let Some(a) = self.header.addr {
            out.push((a, Header::size(self.sizes) as u64));
        }
        if let Some(d) = self.hdr.data_block_addr {
            out.push((d, self.hdr.data_block_total_size(self.sizes)));
        }
        out
    }

    /// Write back what changed. New blocks get addresses from `alloc(size)`: the header
    /// first (first store of a new array), then the data block with room for all its pages.
    /// Returns the header address and the writes in safe order: pages, the data block,
    /// then the header (only the parts that changed; after a store with no change in
    /// between, nothing). Nothing is freed.
    ///
    /// # Errors
    /// `Invalid` when an address from `alloc` does not fit Size of Offsets.
    pub fn store(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)> {
        let sizes = self.sizes;
        let hdr_addr = self.header.address(alloc, sizes, EDIT_NAME)?;
        self.hdr.addr = hdr_addr;
        if self.hdr.data_block_addr.is_none() && !self.segments.is_empty() {
            let size = self.hdr.data_block_total_size(sizes);
            let a = checked_alloc(alloc, size, sizes, DATA_BLOCK_NAME)?;
            self.hdr.data_block_addr = Some(a);
            self.header.dirty = true;
            self.prefix_dirty = true;
            for seg in self.segments.values_mut() {
                seg.dirty = true;
            }
        }
        let mut stored = Stored::default();
        if let Some(dblk) = self.hdr.data_block_addr {
            let hdr = &self.hdr;
            let block = DataBlockAt {
                addr: dblk,
                name: DATA_BLOCK_NAME,
                page_addr: &|p| hdr.page_addr(dblk, sizes, p),
            };
            let page_init = hdr.is_paged().then_some(&self.page_init[..]);
            block.store_segments(
                &mut self.segments,
                hdr.is_paged().then_some(self.prefix_dirty),
                (sizes, &hdr.format),
                &|elements| encode_data_block(sizes, hdr, page_init, elements),
                &mut stored,
            )?;
        }
        self.prefix_dirty = false;
        if self.header.dirty {
            stored.writes.push((hdr_addr, self.hdr.encode(sizes)));
            self.header.dirty = false;
        }
        Ok((hdr_addr, stored))
    }
}

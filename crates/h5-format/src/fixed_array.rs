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
//! ([`crate::extensible_array`]).
//!
//! # Editing
//!
//! Every structure has an `encode` beside its `decode`. [`ArrayEdit`] is the editing model:
//! [`ArrayEdit::new`] (from [`ArrayParams`], e.g. [`ArrayParams::default_for`] with libhdf5's
//! parameters) or [`ArrayEdit::load`], then [`ArrayEdit::set`] / [`ArrayEdit::clear`], then
//! [`ArrayEdit::store`], which allocates new blocks through the caller's allocator and returns
//! a [`Stored`] with the blocks to write. It creates and fills blocks exactly as libhdf5 does,
//! so libhdf5 can keep writing chunks into an array it stored.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::{Stored, Writer};

/// Signature of a fixed array header.
pub const HEADER_SIGNATURE: [u8; 4] = *b"FAHD";
/// Signature of a fixed array data block.
pub const DATA_BLOCK_SIGNATURE: [u8; 4] = *b"FADB";
/// Client ID of an array of non-filtered dataset chunks (element = chunk address).
pub const CLIENT_UNFILTERED_CHUNKS: u8 = 0;
/// Client ID of an array of filtered dataset chunks (element = address, size, filter mask).
pub const CLIENT_FILTERED_CHUNKS: u8 = 1;

const HEADER_NAME: &str = "fixed array header";
const DATA_BLOCK_NAME: &str = "fixed array data block";
const PAGE_NAME: &str = "fixed array data block page";

/// One chunk record of a fixed or extensible array index.
///
/// Unfiltered chunks store only the address; filtered chunks also store the chunk's size on
/// disk and the filter mask (bit `n` set = filter `n` of the pipeline was skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkElement {
    /// Chunk address; `None` (the undefined address) = the chunk is not allocated.
    pub addr: Addr,
    /// Size of the stored (filtered) chunk in bytes; `None` for unfiltered chunks.
    pub size: Option<u64>,
    /// Filter mask; 0 for unfiltered chunks.
    pub filter_mask: u32,
}

impl ChunkElement {
    /// Encoded size of one element: O bytes, plus `chunk_size_len` + 4 when `filtered`.
    pub fn encoded_len(sizes: Sizes, filtered: bool, chunk_size_len: usize) -> usize {
        let o = sizes.offset as usize;
        if filtered {
            o + chunk_size_len + 4
        } else {
            o
        }
    }

    /// Decode one element from the start of `bytes`. `chunk_size_len` (1–8) is the width of
    /// the chunk-size field of filtered elements (layout v4: one more than the bytes needed for
    /// the unfiltered chunk size, at most 8; layout v5: Size of Lengths); it is ignored when
    /// `filtered` is false.
    ///
    /// Error offsets are relative to `bytes` (use [`ChunkElement::read`] for file offsets).
    ///
    /// # Errors
    /// `Truncated` when `bytes` is too short; `Invalid` when `chunk_size_len` is not 1–8.
    pub fn decode(
        bytes: &[u8],
        sizes: Sizes,
        filtered: bool,
        chunk_size_len: usize,
    ) -> Result<Self> {
        let mut r = Reader::new(bytes, 0, sizes, "chunk index element");
        Self::read(&mut r, filtered, chunk_size_len)
    }

    /// Decode one element at the reader's position (see [`ChunkElement::decode`]).
    ///
    /// # Errors
    /// As [`ChunkElement::decode`], with file offsets.
    pub fn read(r: &mut Reader<'_>, filtered: bool, chunk_size_len: usize) -> Result<Self> {
        let addr = r.offset()?;
        if !filtered {
            return Ok(ChunkElement {
                addr,
                size: None,
                filter_mask: 0,
            });
        }
        if !(1..=8).contains(&chunk_size_len) {
            return Err(r.invalid("chunk size width"));
        }
        let size = r.uint(chunk_size_len)?;
        let filter_mask = r.u32()?;
        Ok(ChunkElement {
            addr,
            size: Some(size),
            filter_mask,
        })
    }

    /// Whether the chunk has storage (its address is defined).
    pub fn is_allocated(&self) -> bool {
        self.addr.is_some()
    }
}

/// How the elements of a chunk index are encoded, derived from a header's client ID and
/// element size (and validated against each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementFormat {
    /// Client 1: filtered chunks (address + size + mask); client 0: addresses only.
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements (0 when unfiltered).
    pub chunk_size_len: usize,
    /// Encoded size of one element in bytes.
    pub size: usize,
}

impl ElementFormat {
    /// The format for `client_id` with elements of `element_size` bytes, or a reason why the
    /// pair is not acceptable: client 0 needs `element_size` = Size of Offsets; client 1 needs
    /// Size of Offsets + (1 to 8) + 4.
    ///
    /// # Errors
    /// `Unsupported` for client IDs other than 0 and 1 (reserved); `Invalid` for an element
    /// size that does not fit the client. Errors are raised at `r`'s position.
    pub fn new(r: &Reader<'_>, client_id: u8, element_size: u8) -> Result<Self> {
        let o = r.sizes.offset as usize;
        let size = element_size as usize;
        match client_id {
            CLIENT_UNFILTERED_CHUNKS => {
                if size != o {
                    return Err(r.invalid("element size (unfiltered chunks)"));
                }
                Ok(ElementFormat {
                    filtered: false,
                    chunk_size_len: 0,
                    size,
                })
            }
            CLIENT_FILTERED_CHUNKS => {
                let len = size.saturating_sub(o + 4);
                if !(1..=8).contains(&len) {
                    return Err(r.invalid("element size (filtered chunks)"));
                }
                Ok(ElementFormat {
                    filtered: true,
                    chunk_size_len: len,
                    size,
                })
            }
            other => Err(r.unsupported(alloc::format!("chunk index client ID {other}"))),
        }
    }

    /// Decode `n` consecutive elements at the reader's position. The byte count is checked
    /// against the bytes left before anything is allocated.
    ///
    /// # Errors
    /// `Truncated` when fewer than `n` elements remain; `Invalid` when `size` is not the
    /// encoded size implied by the other fields.
    pub fn read_all(&self, r: &mut Reader<'_>, n: u64) -> Result<Vec<ChunkElement>> {
        if self.size != ChunkElement::encoded_len(r.sizes, self.filtered, self.chunk_size_len) {
            return Err(r.invalid("element size"));
        }
        let bytes = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(self.size))
            .filter(|&b| b <= r.remaining())
            .ok_or_else(|| r.err(ErrorKind::Truncated))?;
        let count = bytes / self.size;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(ChunkElement::read(r, self.filtered, self.chunk_size_len)?);
        }
        Ok(out)
    }
}

/// Whether bit `i` of a page-initialised bitmap is set. Bits are numbered from the most
/// significant bit of each byte (page 0 = `0x80` of byte 0), as libhdf5 writes them; the spec
/// text does not state the bit order. Bits beyond the bitmap read as clear.
pub fn page_initialised(bitmap: &[u8], i: u64) -> bool {
    let Ok(byte) = usize::try_from(i / 8) else {
        return false;
    };
    bitmap
        .get(byte)
        .is_some_and(|b| b & (0x80u8 >> (i % 8)) != 0)
}

/// A decoded fixed array header (`FAHD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// File address of the header (as given to [`Header::decode`]).
    pub addr: u64,
    /// Client ID: 0 non-filtered chunks, 1 filtered chunks.
    pub client_id: u8,
    /// Size of one element in bytes.
    pub element_size: u8,
    /// log2 of the maximum number of elements in a data block page.
    pub page_bits: u8,
    /// Number of elements (chunks) in the array.
    pub nelmts: u64,
    /// Address of the data block; `None` when no chunk was ever written.
    pub data_block_addr: Addr,
    /// Element encoding derived from `client_id` and `element_size`.
    pub format: ElementFormat,
}

/// Where element `i` of a fixed array lives within its data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementPosition {
    /// Not paged: index into [`DataBlock::elements`].
    Direct(u64),
    /// Paged: page number and index within that page's elements.
    Paged {
        /// Page number.
        page: u64,
        /// Index within the page.
        index: u64,
    },
}

impl Header {
    /// Encoded size of a header: signature, 4 one-byte fields, L, O, checksum.
    pub fn size(sizes: Sizes) -> usize {
        4 + 4 + sizes.length as usize + sizes.offset as usize + 4
    }

    /// Decode a header from `buf`, whose first byte is at file address `addr`.
    ///
    /// Sizes derived from the header (page count, data block size) are checked not to
    /// overflow, so every method below is exact for a decoded header.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `BadVersion` (only version 0 exists), `BadChecksum`,
    /// `Unsupported` for a reserved client ID, `Invalid` for an element size that does not fit
    /// the client or an element count whose data block would not fit in 64 bits.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, HEADER_NAME);
        r.signature(&HEADER_SIGNATURE)?;
        let version = r.u8()?;
        if version != 0 {
            return Err(r.err(ErrorKind::BadVersion(version)));
        }
        let fields = r.clone();
        let client_id = r.u8()?;
        let element_size = r.u8()?;
        let page_bits = r.u8()?;
        let count_at = r.clone();
        let nelmts = r.length()?;
        let data_block_addr = r.offset()?;
        r.checksum(0)?;
        let format = ElementFormat::new(&fields, client_id, element_size)?;
        let hdr = Header {
            addr,
            client_id,
            element_size,
            page_bits,
            nelmts,
            data_block_addr,
            format,
        };
        if hdr.checked_total_size(sizes).is_none() {
            return Err(count_at.invalid("number of elements"));
        }
        Ok(hdr)
    }

    /// Whether elements are filtered-chunk records.
    pub fn filtered(&self) -> bool {
        self.format.filtered
    }

    /// Maximum number of elements in one data block page: 2^`page_bits` (saturating at
    /// `u64::MAX` for 64 bits or more).
    pub fn max_page_nelmts(&self) -> u64 {
        1u64.checked_shl(self.page_bits.into()).unwrap_or(u64::MAX)
    }

    /// Whether the data block is split into pages (more elements than fit in one page).
    pub fn is_paged(&self) -> bool {
        self.nelmts > self.max_page_nelmts()
    }

    /// Number of pages (0 when not paged).
    pub fn npages(&self) -> u64 {
        if self.is_paged() {
            self.nelmts.div_ceil(self.max_page_nelmts())
        } else {
            0
        }
    }

    /// Bytes of the page-initialised bitmap: ceil(npages / 8) (0 when not paged).
    pub fn page_bitmap_size(&self) -> u64 {
        self.npages().div_ceil(8)
    }

    /// Bytes of the data block before its first page: signature, version, client ID, header
    /// address, page bitmap (when paged) and checksum.
    pub fn data_block_prefix_size(&self, sizes: Sizes) -> u64 {
        (4 + 1 + 1 + sizes.offset as u64 + 4).saturating_add(self.page_bitmap_size())
    }

    /// Bytes [`DataBlock::decode`] needs: the prefix when paged, else the prefix plus every
    /// element.
    pub fn data_block_size(&self, sizes: Sizes) -> u64 {
        let prefix = self.data_block_prefix_size(sizes);
        if self.is_paged() {
            prefix
        } else {
            prefix.saturating_add(self.nelmts.saturating_mul(self.format.size as u64))
        }
    }

    /// Bytes the whole data block occupies in the file, pages included.
    pub fn data_block_total_size(&self, sizes: Sizes) -> u64 {
        self.checked_total_size(sizes).unwrap_or(u64::MAX)
    }

    fn checked_total_size(&self, sizes: Sizes) -> Option<u64> {
        let prefix = (4 + 1 + 1 + sizes.offset as u64 + 4).checked_add(self.page_bitmap_size())?;
        let elements = self.nelmts.checked_mul(self.format.size as u64)?;
        let checksums = self.npages().checked_mul(4)?;
        prefix.checked_add(elements)?.checked_add(checksums)
    }

    /// Number of elements in page `i`: `max_page_nelmts` except for the last page, which holds
    /// the remainder; 0 when `i` is not a page.
    pub fn page_nelmts(&self, i: u64) -> u64 {
        let npages = self.npages();
        if i >= npages {
            return 0;
        }
        let per = self.max_page_nelmts();
        if i + 1 < npages {
            per
        } else {
            self.nelmts - per * (npages - 1)
        }
    }

    /// Bytes of page `i` in the file: its elements plus a 4-byte checksum (0 when `i` is not a
    /// page).
    pub fn page_size(&self, i: u64) -> u64 {
        if i >= self.npages() {
            return 0;
        }
        self.page_nelmts(i)
            .saturating_mul(self.format.size as u64)
            .saturating_add(4)
    }

    /// File address of page `i` of the data block at `data_block_addr`: the pages follow the
    /// prefix back to back, every page but the last holding `max_page_nelmts` elements.
    /// `None` when `i` is not a page or the address overflows.
    pub fn page_addr(&self, data_block_addr: u64, sizes: Sizes, i: u64) -> Option<u64> {
        if i >= self.npages() {
            return None;
        }
        let full_page = self
            .max_page_nelmts()
            .checked_mul(self.format.size as u64)?
            .checked_add(4)?;
        data_block_addr
            .checked_add(self.data_block_prefix_size(sizes))?
            .checked_add(full_page.checked_mul(i)?)
    }

    /// Where element `i` lives: directly in the data block, or in which page at which index.
    /// `None` when `i >= nelmts`.
    pub fn element_position(&self, i: u64) -> Option<ElementPosition> {
        if i >= self.nelmts {
            return None;
        }
        if !self.is_paged() {
            return Some(ElementPosition::Direct(i));
        }
        let per = self.max_page_nelmts();
        Some(ElementPosition::Paged {
            page: i / per,
            index: i % per,
        })
    }
}

/// A decoded fixed array data block (`FADB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    /// Page-initialised bitmap (when paged): see [`page_initialised`].
    pub page_init: Option<Vec<u8>>,
    /// Every element when not paged; empty when paged (elements live in the pages).
    pub elements: Vec<ChunkElement>,
}

impl DataBlock {
    /// Decode the data block of `hdr` from `buf` (at least [`Header::data_block_size`]
    /// bytes), whose first byte is at file address `addr`.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's or the header address is not `hdr.addr`.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, DATA_BLOCK_NAME);
        r.signature(&DATA_BLOCK_SIGNATURE)?;
        let version = r.u8()?;
        if version != 0 {
            return Err(r.err(ErrorKind::BadVersion(version)));
        }
        let client_at = r.clone();
        if r.u8()? != hdr.client_id {
            return Err(client_at.invalid("client ID (differs from the header's)"));
        }
        let hdr_at = r.clone();
        if r.offset()? != Some(hdr.addr) {
            return Err(hdr_at.invalid("header address"));
        }
        let (page_init, elements) = if hdr.is_paged() {
            let n =
                usize::try_from(hdr.page_bitmap_size()).map_err(|_| r.err(ErrorKind::Truncated))?;
            (Some(r.bytes(n)?.to_vec()), Vec::new())
        } else {
            (None, hdr.format.read_all(&mut r, hdr.nelmts)?)
        };
        r.checksum(0)?;
        Ok(DataBlock {
            page_init,
            elements,
        })
    }

    /// Whether page `i` was initialised (always true for an unpaged block). Pages never
    /// initialised hold no allocated chunks and need not be read.
    pub fn page_initialised(&self, i: u64) -> bool {
        match &self.page_init {
            Some(bitmap) => page_initialised(bitmap, i),
            None => true,
        }
    }
}

/// Decode page `page` of the data block of `hdr` from `buf` (at least
/// [`Header::page_size`]`(page)` bytes, read at [`Header::page_addr`]), whose first byte is at
/// file address `addr`, verifying the page's checksum.
///
/// # Errors
/// `Invalid` when the array is not paged or `page` is out of range; `Truncated`;
/// `BadChecksum`.
pub fn decode_page(
    buf: &[u8],
    addr: u64,
    sizes: Sizes,
    hdr: &Header,
    page: u64,
) -> Result<Vec<ChunkElement>> {
    let mut r = Reader::new(buf, addr, sizes, PAGE_NAME);
    if page >= hdr.npages() {
        return Err(r.invalid("page index"));
    }
    let elements = hdr.format.read_all(&mut r, hdr.page_nelmts(page))?;
    r.checksum(0)?;
    Ok(elements)
}

// ---------------------------------------------------------------------------------------------
// Encoders and the editing model.
// ---------------------------------------------------------------------------------------------

/// The largest block (or page) the editing models of this module and of
/// [`crate::extensible_array`] hold in memory, create or ask their `read` callback for: 1 GiB.
/// libhdf5's chunk-index parameters never come near it (its largest fixed array block for 2^32
/// chunks is 512 KiB); larger sizes come from hostile headers and are refused with
/// `ErrorKind::Limit`.
pub const MAX_EDIT_BLOCK_BYTES: u64 = 1 << 30;

const EDIT_NAME: &str = "fixed array";

/// Width in bytes of the chunk-size field of filtered chunk records, as libhdf5 computes it:
/// layout version 5 (HDF5 2.0) uses Size of Lengths; version 4 uses one byte more than the
/// bytes needed for the unfiltered chunk size, `1 + (floor(log2(chunk_bytes)) + 8) / 8`, at
/// most 8 (measured with libhdf5 2.0 at `libver=('v110','v110')`: chunks of 1–255 bytes → 2,
/// 256–65535 → 3, 2^16–2^24-1 → 4, 2^24 → 5).
pub fn filtered_chunk_size_len(layout_version: u8, sizes: Sizes, chunk_bytes: u64) -> u8 {
    if layout_version >= 5 {
        return sizes.length;
    }
    let log2 = chunk_bytes.checked_ilog2().unwrap_or(0) as u8;
    (1 + (log2 + 8) / 8).min(8)
}

impl ChunkElement {
    /// The element libhdf5 writes for a chunk that has no storage: the undefined address,
    /// and for filtered chunks a size of 0 and a filter mask of 0.
    pub fn undefined(filtered: bool) -> Self {
        ChunkElement {
            addr: None,
            size: filtered.then_some(0),
            filter_mask: 0,
        }
    }

    /// Encode the element (the mirror of [`ChunkElement::read`]). A filtered element with no
    /// size writes 0; fields wider than their encoding are truncated, so check them first
    /// with [`ElementFormat::fits`].
    pub fn write(&self, w: &mut Writer, filtered: bool, chunk_size_len: usize) {
        w.offset(self.addr);
        if filtered {
            w.uint(self.size.unwrap_or(0), chunk_size_len);
            w.u32(self.filter_mask);
        }
    }
}

/// Whether `addr` is encodable in `width` bytes without reading back as the undefined address.
pub(crate) fn addr_fits(addr: u64, width: u8) -> bool {
    if width >= 8 {
        addr != u64::MAX
    } else {
        addr < (1u64 << (8 * u32::from(width))) - 1
    }
}

impl ElementFormat {
    /// The format of elements with these parameters (the inverse of [`ElementFormat::new`]).
    ///
    /// # Errors
    /// `Invalid` (naming `structure` at `offset`) when `chunk_size_len` is not 1–8 for
    /// filtered elements.
    pub fn for_params(
        sizes: Sizes,
        filtered: bool,
        chunk_size_len: u8,
        structure: &'static str,
        offset: u64,
    ) -> Result<Self> {
        if filtered && !(1..=8).contains(&chunk_size_len) {
            return Err(Error::invalid(structure, offset, "chunk size width"));
        }
        let chunk_size_len = if filtered {
            usize::from(chunk_size_len)
        } else {
            0
        };
        Ok(ElementFormat {
            filtered,
            chunk_size_len,
            size: ChunkElement::encoded_len(sizes, filtered, chunk_size_len),
        })
    }

    /// The client ID of arrays with this element format.
    pub fn client_id(&self) -> u8 {
        if self.filtered {
            CLIENT_FILTERED_CHUNKS
        } else {
            CLIENT_UNFILTERED_CHUNKS
        }
    }

    /// Whether `e` can be stored in this format: a defined address must fit Size of Offsets
    /// (and not be the undefined address); filtered elements need a size that fits
    /// `chunk_size_len` bytes; unfiltered elements must have no size and a zero mask.
    pub fn fits(&self, sizes: Sizes, e: &ChunkElement) -> bool {
        let addr_ok = e.addr.is_none_or(|a| addr_fits(a, sizes.offset));
        let rest_ok = if self.filtered {
            e.size.is_some_and(|s| {
                self.chunk_size_len >= 8 || s >> (8 * self.chunk_size_len as u32) == 0
            })
        } else {
            e.size.is_none() && e.filter_mask == 0
        };
        addr_ok && rest_ok
    }

    /// Append `elements` to `w`.
    pub fn write_all(&self, w: &mut Writer, elements: &[ChunkElement]) {
        for e in elements {
            e.write(w, self.filtered, self.chunk_size_len);
        }
    }
}

/// Set bit `i` of a page-initialised bitmap (MSB-first, see [`page_initialised`]); bits beyond
/// the bitmap are ignored.
pub(crate) fn set_page_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = usize::try_from(i / 8).ok().and_then(|k| bitmap.get_mut(k)) {
        *b |= 0x80u8 >> (i % 8);
    }
}

/// The set bits among bits `first..first + count` of a page-initialised bitmap (MSB-first),
/// as offsets from `first`, in order. Zero bytes are skipped whole, so the work is bounded by
/// the bitmap's length, not by `count`.
pub(crate) fn set_bits(bitmap: &[u8], first: u64, count: u64) -> impl Iterator<Item = u64> + '_ {
    let end = first.saturating_add(count);
    let bytes = usize::try_from(first / 8).unwrap_or(usize::MAX)
        ..usize::try_from(end.div_ceil(8)).unwrap_or(usize::MAX);
    let bytes = bytes.start.min(bitmap.len())..bytes.end.min(bitmap.len());
    bitmap[bytes.clone()]
        .iter()
        .zip(bytes)
        .filter(|(b, _)| **b != 0)
        .flat_map(move |(&b, k)| {
            (0..8u64)
                .filter(move |bit| b & (0x80u8 >> bit) != 0)
                .map(move |bit| k as u64 * 8 + bit)
        })
        .filter(move |&bit| bit >= first && bit < end)
        .map(move |bit| bit - first)
}

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

impl Header {
    /// Encode the header (the mirror of [`Header::decode`]): signature, version 0, client
    /// ID, element size, page bits, element count, data block address, checksum.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut w = Writer::new(sizes);
        w.bytes(&HEADER_SIGNATURE)
            .u8(0)
            .u8(self.client_id)
            .u8(self.element_size)
            .u8(self.page_bits)
            .length(self.nelmts)
            .offset(self.data_block_addr)
            .checksum_from(0);
        w.finish()
    }
}

impl DataBlock {
    /// Encode the data block of `hdr` (the mirror of [`DataBlock::decode`]): for an unpaged
    /// array the whole block with every element, for a paged one the prefix with the
    /// page-initialised bitmap (pages are encoded by [`encode_page`]).
    pub fn encode(&self, sizes: Sizes, hdr: &Header) -> Vec<u8> {
        encode_data_block(sizes, hdr, self.page_init.as_deref(), &self.elements)
    }
}

fn encode_data_block(
    sizes: Sizes,
    hdr: &Header,
    page_init: Option<&[u8]>,
    elements: &[ChunkElement],
) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    w.bytes(&DATA_BLOCK_SIGNATURE)
        .u8(0)
        .u8(hdr.client_id)
        .offset(Some(hdr.addr));
    match page_init {
        Some(bitmap) => {
            w.bytes(bitmap).checksum_from(0);
        }
        None => sealed_elements(&mut w, 0, &hdr.format, elements),
    }
    w.finish()
}

/// Encode one data block page: `elements` and a checksum (the mirror of [`decode_page`]).
pub fn encode_page(sizes: Sizes, hdr: &Header, elements: &[ChunkElement]) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    sealed_elements(&mut w, 0, &hdr.format, elements);
    w.finish()
}

/// Creation parameters of a fixed array chunk index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayParams {
    /// Elements are filtered-chunk records (client 1) rather than bare addresses (client 0).
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements, 1–8 (see
    /// [`filtered_chunk_size_len`]); ignored when not `filtered`.
    pub chunk_size_len: u8,
    /// log2 of the most elements in one data block page; the data block is paged when it
    /// holds more than 2^bits elements (the layout message's fixed array parameter).
    pub max_dblk_page_nelmts_bits: u8,
    /// Number of elements: the number of chunks of the dataset's maximum dimensions.
    pub nelmts: u64,
}

impl ArrayParams {
    /// Page bits libhdf5 (1.10 to 2.0) uses for every fixed array chunk index: 10, so data
    /// blocks of more than 1024 chunks are paged.
    pub const DEFAULT_PAGE_BITS: u8 = 10;

    /// The parameters libhdf5 uses for a dataset with `nelmts` chunks (measured with 2.0.0
    /// through h5py `libver="latest"`): page bits 10.
    pub fn default_for(filtered: bool, chunk_size_len: u8, nelmts: u64) -> Self {
        ArrayParams {
            filtered,
            chunk_size_len,
            max_dblk_page_nelmts_bits: Self::DEFAULT_PAGE_BITS,
            nelmts,
        }
    }
}

/// An editable fixed array: every element of a (new or loaded) array, changed in memory and
/// written back with [`ArrayEdit::store`].
///
/// It allocates as libhdf5 does, so that libhdf5 can keep writing into it: the header first
/// (on the first store), the data block (with room for every page) when the first element
/// is set, and a page of a paged block when the first element of that page is set (which
/// also sets the page's bit in the data block's bitmap). New blocks and pages hold the
/// undefined element ([`ChunkElement::undefined`]) wherever nothing was set. Nothing is ever
/// freed while the array lives; [`ArrayEdit::extents`] lists its blocks for deleting it.
#[derive(Debug, Clone)]
pub struct ArrayEdit {
    sizes: Sizes,
    /// The header as it will be written; `hdr.addr` is meaningful once `header_addr` is set.
    hdr: Header,
    header_addr: Option<u64>,
    header_dirty: bool,
    /// Paged: the bitmap (or the whole prefix) must be rewritten.
    prefix_dirty: bool,
    /// Paged: the page-initialised bitmap (empty until the data block exists).
    page_init: Vec<u8>,
    /// Unpaged: key 0 holds every element once the data block exists. Paged: one entry per
    /// initialised page.
    segments: BTreeMap<u64, Segment>,
}

impl ArrayEdit {
    /// A new array of `params.nelmts` undefined elements, with no block allocated yet.
    ///
    /// # Errors
    /// `Invalid` for a chunk-size width other than 1–8 (filtered) or an element count whose
    /// data block would not fit in 64 bits.
    pub fn new(params: ArrayParams, sizes: Sizes) -> Result<Self> {
        let format =
            ElementFormat::for_params(sizes, params.filtered, params.chunk_size_len, EDIT_NAME, 0)?;
        let hdr = Header {
            addr: 0,
            client_id: format.client_id(),
            element_size: u8::try_from(format.size)
                .map_err(|_| Error::invalid(EDIT_NAME, 0, "element size"))?,
            page_bits: params.max_dblk_page_nelmts_bits,
            nelmts: params.nelmts,
            data_block_addr: None,
            format,
        };
        if hdr.checked_total_size(sizes).is_none() {
            return Err(Error::invalid(EDIT_NAME, 0, "number of elements"));
        }
        Ok(ArrayEdit {
            sizes,
            hdr,
            header_addr: None,
            header_dirty: true,
            prefix_dirty: false,
            page_init: Vec::new(),
            segments: BTreeMap::new(),
        })
    }

    /// Load the array whose header is at `addr`: the header, the data block and every
    /// initialised page. `read(address, length)` returns exactly `length` bytes at `address`
    /// (or fails); it is never asked for more than [`MAX_EDIT_BLOCK_BYTES`] at once.
    ///
    /// # Errors
    /// Whatever `read` returns; the decoders' errors; `Limit` for blocks larger than
    /// [`MAX_EDIT_BLOCK_BYTES`]; `Invalid` when the data block overlaps the header.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let hsize = Header::size(sizes);
        let hdr = Header::decode(&read(addr, hsize)?, addr, sizes)?;
        let mut extents = Extents::default();
        extents.insert(addr, hsize as u64, HEADER_NAME)?;
        let mut edit = ArrayEdit {
            sizes,
            hdr,
            header_addr: Some(addr),
            header_dirty: false,
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
                let segment = Segment {
                    elements: block.elements,
                    dirty: false,
                };
                edit.segments.insert(0, segment);
            }
            Some(bitmap) => {
                for p in set_bits(&bitmap, 0, hdr.npages()) {
                    let at = hdr
                        .page_addr(dblk, sizes, p)
                        .ok_or_else(|| Error::invalid(DATA_BLOCK_NAME, dblk, "page address"))?;
                    let len = block_len(hdr.page_size(p), PAGE_NAME, at)?;
                    let elements = decode_page(&read(at, len)?, at, sizes, hdr, p)?;
                    let segment = Segment {
                        elements,
                        dirty: false,
                    };
                    edit.segments.insert(p, segment);
                }
                edit.page_init = bitmap;
            }
        }
        Ok(edit)
    }

    /// The array's parameters.
    pub fn params(&self) -> ArrayParams {
        ArrayParams {
            filtered: self.hdr.filtered(),
            chunk_size_len: self.hdr.format.chunk_size_len as u8,
            max_dblk_page_nelmts_bits: self.hdr.page_bits,
            nelmts: self.hdr.nelmts,
        }
    }

    /// The header as the next [`ArrayEdit::store`] writes it (its `addr` is meaningful once
    /// [`ArrayEdit::addr`] is `Some`).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// Address of the header: where it was loaded from or first stored; `None` before the
    /// first store of a new array.
    pub fn addr(&self) -> Option<u64> {
        self.header_addr
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
        self.header_addr.unwrap_or(0)
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
    /// An element with the undefined address is [`ArrayEdit::clear`].
    ///
    /// # Errors
    /// `Invalid` when `i >= len()` or `e` does not fit the element format
    /// ([`ElementFormat::fits`]); `Limit` when the block to create exceeds
    /// [`MAX_EDIT_BLOCK_BYTES`].
    pub fn set(&mut self, i: u64, e: ChunkElement) -> Result<()> {
        let (key, index) = self.position(i)?;
        if e.addr.is_none() {
            return self.clear(i);
        }
        if !self.hdr.format.fits(self.sizes, &e) {
            return Err(Error::invalid(
                EDIT_NAME,
                self.err_at(),
                "element (does not fit the element format)",
            ));
        }
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
        self.segments.insert(
            key,
            Segment {
                elements,
                dirty: true,
            },
        );
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
        if let Some(a) = self.header_addr {
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
        let hdr_addr = match self.header_addr {
            Some(a) => a,
            None => {
                let a = checked_alloc(alloc, Header::size(sizes) as u64, sizes, EDIT_NAME)?;
                self.header_addr = Some(a);
                self.hdr.addr = a;
                self.header_dirty = true;
                a
            }
        };
        if self.hdr.data_block_addr.is_none() && !self.segments.is_empty() {
            let size = self.hdr.data_block_total_size(sizes);
            let a = checked_alloc(alloc, size, sizes, DATA_BLOCK_NAME)?;
            self.hdr.data_block_addr = Some(a);
            self.header_dirty = true;
            self.prefix_dirty = true;
            for seg in self.segments.values_mut() {
                seg.dirty = true;
            }
        }
        let mut stored = Stored::default();
        if let Some(dblk) = self.hdr.data_block_addr {
            let hdr = &self.hdr;
            if hdr.is_paged() {
                for (&p, seg) in self.segments.iter_mut().filter(|(_, s)| s.dirty) {
                    let at = hdr
                        .page_addr(dblk, sizes, p)
                        .ok_or_else(|| Error::invalid(DATA_BLOCK_NAME, dblk, "page address"))?;
                    stored
                        .writes
                        .push((at, encode_page(sizes, hdr, &seg.elements)));
                    seg.dirty = false;
                }
                if self.prefix_dirty {
                    let bytes = encode_data_block(sizes, hdr, Some(&self.page_init), &[]);
                    stored.writes.push((dblk, bytes));
                }
            } else if let Some(seg) = self.segments.get_mut(&0).filter(|s| s.dirty) {
                let bytes = encode_data_block(sizes, hdr, None, &seg.elements);
                stored.writes.push((dblk, bytes));
                seg.dirty = false;
            }
        }
        self.prefix_dirty = false;
        if self.header_dirty {
            stored.writes.push((hdr_addr, self.hdr.encode(sizes)));
            self.header_dirty = false;
        }
        Ok((hdr_addr, stored))
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lookup3;
    use alloc::vec;

    pub(crate) const S88: Sizes = Sizes::DEFAULT;
    pub(crate) const S44: Sizes = Sizes {
        offset: 4,
        length: 4,
    };

    pub(crate) fn put(out: &mut Vec<u8>, v: u64, n: usize) {
        out.extend_from_slice(&v.to_le_bytes()[..n]);
    }

    pub(crate) fn put_addr(out: &mut Vec<u8>, sizes: Sizes, a: Addr) {
        put(out, a.unwrap_or(u64::MAX), sizes.offset as usize);
    }

    pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
        let c = lookup3::checksum(&out);
        out.extend_from_slice(&c.to_le_bytes());
        out
    }

    /// Bytes from a hex string (whitespace ignored).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    pub(crate) fn put_elem(out: &mut Vec<u8>, sizes: Sizes, e: &ChunkElement, csl: usize) {
        put_addr(out, sizes, e.addr);
        if let Some(size) = e.size {
            put(out, size, csl);
            put(out, e.filter_mask.into(), 4);
        }
    }

    fn header_bytes(sizes: Sizes, client: u8, esize: u8, bits: u8, n: u64, dblk: Addr) -> Vec<u8> {
        let mut b = b"FAHD".to_vec();
        b.extend_from_slice(&[0, client, esize, bits]);
        put(&mut b, n, sizes.length as usize);
        put_addr(&mut b, sizes, dblk);
        seal(b)
    }

    fn dblock_prefix(sizes: Sizes, client: u8, hdr_addr: u64) -> Vec<u8> {
        let mut b = b"FADB".to_vec();
        b.extend_from_slice(&[0, client]);
        put_addr(&mut b, sizes, Some(hdr_addr));
        b
    }

    fn unfiltered(a: u64) -> ChunkElement {
        ChunkElement {
            addr: Some(a),
            size: None,
            filter_mask: 0,
        }
    }

    #[test]
    fn chunk_element_decoding() {
        let mut b = Vec::new();
        put(&mut b, 0x1234, 8);
        put(&mut b, 0x0203, 3);
        put(&mut b, 5, 4);
        let e = ChunkElement::decode(&b, S88, true, 3).unwrap();
        assert_eq!(
            e,
            ChunkElement {
                addr: Some(0x1234),
                size: Some(0x0203),
                filter_mask: 5
            }
        );
        assert!(e.is_allocated());
        assert_eq!(ChunkElement::encoded_len(S88, true, 3), 15);
        assert_eq!(ChunkElement::encoded_len(S44, false, 3), 4);

        let e = ChunkElement::decode(&[0xff; 4], S44, false, 0).unwrap();
        assert_eq!(
            e,
            ChunkElement {
                addr: None,
                size: None,
                filter_mask: 0
            }
        );
        assert!(!e.is_allocated());

        assert_eq!(
            ChunkElement::decode(&b[..14], S88, true, 3)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
        assert!(matches!(
            ChunkElement::decode(&b, S88, true, 9).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(matches!(
            ChunkElement::decode(&b, S88, true, 0).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
    }

    #[test]
    fn element_format_validation() {
        let buf = [0u8; 1];
        let r = Reader::new(&buf, 0x40, S88, "t");
        assert_eq!(
            ElementFormat::new(&r, 0, 8).unwrap(),
            ElementFormat {
                filtered: false,
                chunk_size_len: 0,
                size: 8
            }
        );
        assert_eq!(
            ElementFormat::new(&r, 1, 20).unwrap(),
            ElementFormat {
                filtered: true,
                chunk_size_len: 8,
                size: 20
            }
        );
        assert_eq!(ElementFormat::new(&r, 1, 13).unwrap().chunk_size_len, 1);
        assert!(matches!(
            ElementFormat::new(&r, 0, 4).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(matches!(
            ElementFormat::new(&r, 1, 12).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(matches!(
            ElementFormat::new(&r, 1, 21).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(matches!(
            ElementFormat::new(&r, 1, 0).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        let e = ElementFormat::new(&r, 2, 8).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
        assert_eq!(e.offset, 0x40);
    }

    #[test]
    fn read_all_checks_before_allocating() {
        let fmt = ElementFormat {
            filtered: false,
            chunk_size_len: 0,
            size: 8,
        };
        let buf = [0u8; 16];
        let mut r = Reader::new(&buf, 0, S88, "t");
        assert_eq!(
            fmt.read_all(&mut r, u64::MAX).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            fmt.read_all(&mut r, 3).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(fmt.read_all(&mut r, 2).unwrap().len(), 2);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn bitmap_is_msb_first() {
        let bm = [0b1000_0001u8, 0b0100_0000];
        let set: Vec<u64> = (0..20).filter(|&i| page_initialised(&bm, i)).collect();
        assert_eq!(set, vec![0, 7, 9]);
        assert!(!page_initialised(&bm, u64::MAX));
    }

    #[test]
    fn unpaged_header_and_data_block() {
        let hb = header_bytes(S88, 0, 8, 10, 3, Some(0x400));
        assert_eq!(hb.len(), Header::size(S88));
        let h = Header::decode(&hb, 0x200, S88).unwrap();
        assert_eq!(h.addr, 0x200);
        assert_eq!(h.client_id, 0);
        assert_eq!(h.nelmts, 3);
        assert_eq!(h.data_block_addr, Some(0x400));
        assert!(!h.filtered());
        assert!(!h.is_paged());
        assert_eq!(h.npages(), 0);
        assert_eq!(h.max_page_nelmts(), 1024);
        assert_eq!(h.data_block_prefix_size(S88), 18);
        assert_eq!(h.data_block_size(S88), 18 + 24);
        assert_eq!(h.data_block_total_size(S88), 42);
        assert_eq!(h.page_addr(0x400, S88, 0), None);
        assert_eq!(h.page_size(0), 0);
        assert_eq!(h.element_position(2), Some(ElementPosition::Direct(2)));
        assert_eq!(h.element_position(3), None);

        let mut db = dblock_prefix(S88, 0, 0x200);
        put_addr(&mut db, S88, Some(0x1000));
        put_addr(&mut db, S88, None);
        put_addr(&mut db, S88, Some(0x3000));
        let db = seal(db);
        assert_eq!(db.len() as u64, h.data_block_size(S88));
        let d = DataBlock::decode(&db, 0x400, S88, &h).unwrap();
        assert_eq!(d.page_init, None);
        assert_eq!(
            d.elements,
            vec![
                unfiltered(0x1000),
                ChunkElement {
                    addr: None,
                    size: None,
                    filter_mask: 0
                },
                unfiltered(0x3000)
            ]
        );
        assert!(d.page_initialised(0));

        // Truncation anywhere in the block.
        for n in 0..db.len() {
            assert_eq!(
                DataBlock::decode(&db[..n], 0x400, S88, &h)
                    .unwrap_err()
                    .kind,
                ErrorKind::Truncated,
                "{n}"
            );
        }
        // Bad checksum: flip a byte of an element.
        let mut bad = db.clone();
        bad[20] ^= 1;
        let e = DataBlock::decode(&bad, 0x400, S88, &h).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x400 + 42 - 4);
        // Bad signature.
        let mut bad = db.clone();
        bad[0] = b'X';
        let e = DataBlock::decode(&bad, 0x400, S88, &h).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, 0x400));
        // Wrong header address / client ID.
        let other = Header {
            addr: 0x208,
            ..h.clone()
        };
        let e = DataBlock::decode(&db, 0x400, S88, &other).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid("header address"), 0x406)
        );
        let other = Header {
            client_id: 1,
            ..h.clone()
        };
        assert!(matches!(
            DataBlock::decode(&db, 0x400, S88, &other).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
    }

    #[test]
    fn header_errors() {
        let hb = header_bytes(S44, 0, 4, 10, 3, Some(0x400));
        assert_eq!(hb.len(), Header::size(S44));
        assert!(Header::decode(&hb, 0, S44).is_ok());
        for n in 0..hb.len() {
            assert_eq!(
                Header::decode(&hb[..n], 0, S44).unwrap_err().kind,
                ErrorKind::Truncated
            );
        }
        let mut bad = hb.clone();
        bad[3] = b'B';
        assert_eq!(
            Header::decode(&bad, 0, S44).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        let mut bad = hb.clone();
        bad[9] ^= 0x80;
        assert!(matches!(
            Header::decode(&bad, 0, S44).unwrap_err().kind,
            ErrorKind::BadChecksum { .. }
        ));
        let bad = seal({
            let mut b = hb[..hb.len() - 4].to_vec();
            b[4] = 1;
            b
        });
        assert_eq!(
            Header::decode(&bad, 0, S44).unwrap_err().kind,
            ErrorKind::BadVersion(1)
        );
        // Element size does not match the client.
        let bad = header_bytes(S44, 0, 8, 10, 3, None);
        assert!(matches!(
            Header::decode(&bad, 0, S44).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        let bad = header_bytes(S44, 7, 4, 10, 3, None);
        assert!(matches!(
            Header::decode(&bad, 0, S44).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        // An element count whose data block cannot exist.
        let bad = header_bytes(S88, 0, 8, 0, u64::MAX - 1, Some(0));
        let e = Header::decode(&bad, 0x10, S88).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid("number of elements"), 0x18)
        );
    }

    #[test]
    fn huge_counts_never_allocate() {
        // 2^40 elements in pages of 1: a bitmap of 2^37 bytes, which the buffer does not hold.
        let hb = header_bytes(S88, 0, 8, 0, 1 << 40, Some(0x400));
        let h = Header::decode(&hb, 0, S88).unwrap();
        assert_eq!(h.npages(), 1 << 40);
        assert_eq!(h.page_bitmap_size(), 1 << 37);
        let db = seal(dblock_prefix(S88, 0, 0));
        assert_eq!(
            DataBlock::decode(&db, 0x400, S88, &h).unwrap_err().kind,
            ErrorKind::Truncated
        );
        // Unpaged with a huge count: truncated, not an allocation.
        let hb = header_bytes(S88, 0, 8, 63, 1 << 60, Some(0x400));
        let h = Header::decode(&hb, 0, S88).unwrap();
        assert!(!h.is_paged());
        assert_eq!(
            DataBlock::decode(&db, 0x400, S88, &h).unwrap_err().kind,
            ErrorKind::Truncated
        );
        // page_bits >= 64 never pages.
        let hb = header_bytes(S88, 0, 8, 200, 5, Some(0x400));
        let h = Header::decode(&hb, 0, S88).unwrap();
        assert_eq!(h.max_page_nelmts(), u64::MAX);
        assert!(!h.is_paged());
    }

    /// A paged, filtered array: 10 elements, pages of 4 (bits = 2) → pages of 4, 4, 2.
    #[test]
    fn paged_filtered_array() {
        let sizes = S44;
        let csl = 2;
        let esize = 4 + csl + 4;
        let hb = header_bytes(sizes, 1, esize as u8, 2, 10, Some(0x800));
        let h = Header::decode(&hb, 0x100, sizes).unwrap();
        assert!(h.filtered());
        assert_eq!(h.format.chunk_size_len, 2);
        assert!(h.is_paged());
        assert_eq!(h.npages(), 3);
        assert_eq!(h.page_bitmap_size(), 1);
        assert_eq!(
            (
                h.page_nelmts(0),
                h.page_nelmts(1),
                h.page_nelmts(2),
                h.page_nelmts(3)
            ),
            (4, 4, 2, 0)
        );
        assert_eq!(h.page_size(0), 44);
        assert_eq!(h.page_size(2), 24);
        let prefix = 4 + 2 + 4 + 1 + 4;
        assert_eq!(h.data_block_prefix_size(sizes), prefix);
        assert_eq!(h.data_block_size(sizes), prefix);
        assert_eq!(h.data_block_total_size(sizes), prefix + 44 + 44 + 24);
        assert_eq!(h.page_addr(0x800, sizes, 0), Some(0x800 + prefix));
        assert_eq!(h.page_addr(0x800, sizes, 2), Some(0x800 + prefix + 88));
        assert_eq!(h.page_addr(0x800, sizes, 3), None);
        assert_eq!(h.page_addr(u64::MAX - 4, sizes, 1), None);
        assert_eq!(
            h.element_position(9),
            Some(ElementPosition::Paged { page: 2, index: 1 })
        );
        assert_eq!(
            h.element_position(4),
            Some(ElementPosition::Paged { page: 1, index: 0 })
        );

        // Pages 0 and 2 initialised: MSB-first bitmap 0b1010_0000.
        let mut db = dblock_prefix(sizes, 1, 0x100);
        db.push(0xa0);
        let db = seal(db);
        assert_eq!(db.len() as u64, prefix);
        let d = DataBlock::decode(&db, 0x800, sizes, &h).unwrap();
        assert_eq!(d.page_init.as_deref(), Some(&[0xa0u8][..]));
        assert!(d.elements.is_empty());
        assert_eq!(
            (
                d.page_initialised(0),
                d.page_initialised(1),
                d.page_initialised(2)
            ),
            (true, false, true)
        );

        // Build the whole image (pages back to back after the prefix) and decode page 2.
        let mut image = db.clone();
        let mut expect = Vec::new();
        for p in 0..3u64 {
            let mut page = Vec::new();
            let mut elems = Vec::new();
            for k in 0..h.page_nelmts(p) {
                let i = p * 4 + k;
                let e = ChunkElement {
                    addr: Some(0x10000 + i * 0x100),
                    size: Some(100 + i),
                    filter_mask: i as u32,
                };
                put_elem(&mut page, sizes, &e, csl);
                elems.push(e);
            }
            let page = seal(page);
            assert_eq!(page.len() as u64, h.page_size(p));
            assert_eq!(
                0x800 + image.len() as u64,
                h.page_addr(0x800, sizes, p).unwrap()
            );
            image.extend_from_slice(&page);
            expect.push(elems);
        }
        assert_eq!(image.len() as u64, h.data_block_total_size(sizes));
        for p in 0..3u64 {
            let at = h.page_addr(0x800, sizes, p).unwrap();
            let off = (at - 0x800) as usize;
            let bytes = &image[off..off + h.page_size(p) as usize];
            assert_eq!(
                decode_page(bytes, at, sizes, &h, p).unwrap(),
                expect[p as usize]
            );
        }
        let at = h.page_addr(0x800, sizes, 2).unwrap();
        let off = (at - 0x800) as usize;
        let page2 = &image[off..];
        // Truncated page, bad page checksum, page out of range.
        assert_eq!(
            decode_page(&page2[..23], at, sizes, &h, 2)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
        let mut bad = page2.to_vec();
        bad[0] ^= 1;
        let e = decode_page(&bad, at, sizes, &h, 2).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, at + 20);
        assert!(matches!(
            decode_page(page2, at, sizes, &h, 3).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        // Decoding page 1's bytes as page 2 fails its checksum (wrong length).
        let at1 = h.page_addr(0x800, sizes, 1).unwrap();
        let off1 = (at1 - 0x800) as usize;
        assert!(decode_page(&image[off1..], at1, sizes, &h, 2).is_err());
    }

    /// Blocks written by libhdf5 2.0.0 (h5py, `libver="latest"`): a 5000-chunk 1-D dataset
    /// with chunks 0, 2500, 4096 and 4999 written, so pages 0, 2 and 4 of 5 are initialised.
    #[test]
    fn libhdf5_paged_data_block() {
        let hb = hex("464148440000080a881300000000000000100000000000001fef5006");
        let h = Header::decode(&hb, 447, S88).unwrap();
        assert_eq!(
            (h.client_id, h.element_size, h.page_bits, h.nelmts),
            (0, 8, 10, 5000)
        );
        assert_eq!(h.data_block_addr, Some(4096));
        assert_eq!((h.npages(), h.page_nelmts(4)), (5, 5000 - 4096));
        let db = hex("464144420000bf01000000000000a8411f8930");
        assert_eq!(db.len() as u64, h.data_block_size(S88));
        let d = DataBlock::decode(&db, 4096, S88, &h).unwrap();
        // 0xa8 = 1010_1000: MSB-first bits 0, 2 and 4.
        assert_eq!(d.page_init.as_deref(), Some(&[0xa8u8][..]));
        let init: Vec<u64> = (0..5).filter(|&p| d.page_initialised(p)).collect();
        assert_eq!(init, vec![0, 2, 4]);
        assert_eq!(
            h.element_position(2500),
            Some(ElementPosition::Paged {
                page: 2,
                index: 452
            })
        );
        assert_eq!(
            h.page_addr(4096, S88, 4),
            Some(4096 + 19 + 4 * (1024 * 8 + 4))
        );
    }

    #[test]
    fn exact_multiple_of_page_size() {
        // 8 elements, pages of 4: exactly two full pages; 4 elements is not paged.
        let h = Header::decode(&header_bytes(S88, 0, 8, 2, 8, Some(0)), 0, S88).unwrap();
        assert_eq!((h.npages(), h.page_nelmts(1)), (2, 4));
        let h = Header::decode(&header_bytes(S88, 0, 8, 2, 4, Some(0)), 0, S88).unwrap();
        assert!(!h.is_paged());
        // 17 pages need a 3-byte bitmap.
        let h = Header::decode(&header_bytes(S88, 0, 8, 0, 17, Some(0)), 0, S88).unwrap();
        assert_eq!(
            (h.npages(), h.page_bitmap_size(), h.page_nelmts(16)),
            (17, 3, 1)
        );
    }

    // -----------------------------------------------------------------------------------------
    // Editing model.
    // -----------------------------------------------------------------------------------------

    /// A file image in memory: a bump allocator and the bytes written so far.
    pub(crate) struct Mem {
        pub(crate) bytes: Vec<u8>,
        pub(crate) next: u64,
        pub(crate) allocs: Vec<(u64, u64)>,
    }

    impl Mem {
        pub(crate) fn new(start: u64) -> Self {
            Mem {
                bytes: Vec::new(),
                next: start,
                allocs: Vec::new(),
            }
        }

        pub(crate) fn alloc(&mut self, size: u64) -> u64 {
            let a = self.next;
            self.next += size;
            self.allocs.push((a, size));
            a
        }

        /// Apply the writes, checking each lies inside an allocated extent.
        pub(crate) fn apply(&mut self, s: &Stored) {
            for (a, b) in &s.writes {
                let end = a + b.len() as u64;
                assert!(
                    self.allocs.iter().any(|&(x, n)| x <= *a && end <= x + n),
                    "write at {a:#x}+{} outside every allocation",
                    b.len()
                );
                if self.bytes.len() < end as usize {
                    self.bytes.resize(end as usize, 0xee);
                }
                self.bytes[*a as usize..end as usize].copy_from_slice(b);
            }
            assert!(s.freed.is_empty());
        }

        pub(crate) fn read(&self, a: u64, n: usize) -> Result<Vec<u8>> {
            let a_us = a as usize;
            self.bytes
                .get(a_us..a_us.saturating_add(n))
                .map(<[u8]>::to_vec)
                .ok_or(Error::new("test image", a, ErrorKind::Truncated))
        }
    }

    /// Every element of the fixed array at `addr`, through the decoders.
    fn decode_fa(mem: &Mem, addr: u64, sizes: Sizes) -> (Header, Vec<ChunkElement>) {
        let hb = mem.read(addr, Header::size(sizes)).unwrap();
        let h = Header::decode(&hb, addr, sizes).unwrap();
        assert_eq!(h.encode(sizes), hb);
        let mut out = vec![ChunkElement::undefined(h.filtered()); h.nelmts as usize];
        if let Some(d) = h.data_block_addr {
            let bytes = mem.read(d, h.data_block_size(sizes) as usize).unwrap();
            let db = DataBlock::decode(&bytes, d, sizes, &h).unwrap();
            assert_eq!(db.encode(sizes, &h), bytes);
            if h.is_paged() {
                let per = h.max_page_nelmts() as usize;
                for p in 0..h.npages() {
                    if db.page_initialised(p) {
                        let at = h.page_addr(d, sizes, p).unwrap();
                        let page = mem.read(at, h.page_size(p) as usize).unwrap();
                        let elems = decode_page(&page, at, sizes, &h, p).unwrap();
                        assert_eq!(encode_page(sizes, &h, &elems), page);
                        let first = p as usize * per;
                        out[first..first + elems.len()].copy_from_slice(&elems);
                    }
                }
            } else {
                out = db.elements;
            }
        }
        (h, out)
    }

    fn felem(i: u64) -> ChunkElement {
        ChunkElement {
            addr: Some(0x10_0000 + i * 0x40),
            size: Some(20 + i % 200),
            filter_mask: (i % 3) as u32,
        }
    }

    fn uelem(i: u64) -> ChunkElement {
        unfiltered(0x10_0000 + i * 0x40)
    }

    fn store(edit: &mut ArrayEdit, mem: &mut Mem) -> (u64, Stored) {
        let (a, s) = edit.store(&mut |n| mem.alloc(n)).unwrap();
        mem.apply(&s);
        (a, s)
    }

    fn load(mem: &Mem, addr: u64, sizes: Sizes) -> ArrayEdit {
        ArrayEdit::load(addr, sizes, &mut |a, n| mem.read(a, n)).unwrap()
    }

    fn check(edit: &ArrayEdit, mem: &Mem, want: &[ChunkElement]) {
        let sizes = edit.sizes;
        let (h, got) = decode_fa(mem, edit.addr().unwrap(), sizes);
        assert_eq!(&h, edit.header());
        assert_eq!(got, want);
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                edit.get(i as u64),
                w.is_allocated().then_some(w),
                "element {i}"
            );
        }
        let listed: Vec<(u64, ChunkElement)> = edit.iter().map(|(i, e)| (i, *e)).collect();
        let expect: Vec<(u64, ChunkElement)> = want
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_allocated())
            .map(|(i, e)| (i as u64, *e))
            .collect();
        assert_eq!(listed, expect);
    }

    #[test]
    fn chunk_size_len_as_libhdf5() {
        // Measured with libhdf5 2.0.0 (layout v4 at libver v110): element sizes 14 for
        // chunks of 1–255 bytes, 15 from 256, 16 from 65536, 17 from 2^24.
        let v4 = |n| filtered_chunk_size_len(4, S88, n);
        assert_eq!(
            [1, 4, 255, 256, 65535, 65536, 1 << 23, 1 << 24].map(v4),
            [2, 2, 2, 3, 3, 4, 4, 5]
        );
        assert_eq!(v4(0), 2);
        assert_eq!(v4(u64::MAX), 8);
        assert_eq!(v4(1 << 48), 8);
        assert_eq!(filtered_chunk_size_len(5, S88, 4), 8);
        assert_eq!(filtered_chunk_size_len(5, S44, 1 << 40), 4);
    }

    #[test]
    fn element_encoding_round_trips() {
        let fmt = ElementFormat::for_params(S44, true, 3, "t", 0).unwrap();
        assert_eq!((fmt.size, fmt.client_id()), (4 + 3 + 4, 1));
        let e = ChunkElement {
            addr: Some(0x1234),
            size: Some(0xff_ffff),
            filter_mask: 7,
        };
        assert!(fmt.fits(S44, &e));
        let mut w = Writer::new(S44);
        fmt.write_all(&mut w, &[e, ChunkElement::undefined(true)]);
        let b = w.finish();
        assert_eq!(b.len(), 22);
        let mut r = Reader::new(&b, 0, S44, "t");
        assert_eq!(
            fmt.read_all(&mut r, 2).unwrap(),
            vec![e, ChunkElement::undefined(true)]
        );
        // What does not fit.
        assert!(!fmt.fits(
            S44,
            &ChunkElement {
                size: Some(1 << 24),
                ..e
            }
        ));
        assert!(!fmt.fits(S44, &ChunkElement { size: None, ..e }));
        assert!(!fmt.fits(
            S44,
            &ChunkElement {
                addr: Some(1 << 32),
                ..e
            }
        ));
        assert!(!fmt.fits(
            S44,
            &ChunkElement {
                addr: Some(0xffff_ffff),
                ..e
            }
        ));
        let fmt8 = ElementFormat::for_params(S88, true, 8, "t", 0).unwrap();
        assert!(fmt8.fits(
            S88,
            &ChunkElement {
                size: Some(u64::MAX),
                ..e
            }
        ));
        assert!(!fmt8.fits(
            S88,
            &ChunkElement {
                addr: Some(u64::MAX),
                ..e
            }
        ));
        let plain = ElementFormat::for_params(S88, false, 0, "t", 0).unwrap();
        assert_eq!((plain.size, plain.client_id()), (8, 0));
        assert!(plain.fits(S88, &unfiltered(5)));
        assert!(!plain.fits(
            S88,
            &ChunkElement {
                size: Some(1),
                ..unfiltered(5)
            }
        ));
        assert!(!plain.fits(
            S88,
            &ChunkElement {
                filter_mask: 1,
                ..unfiltered(5)
            }
        ));
        assert!(ElementFormat::for_params(S88, true, 0, "t", 0).is_err());
        assert!(ElementFormat::for_params(S88, true, 9, "t", 0).is_err());
        // Bit helpers.
        let mut bm = [0u8; 3];
        for i in [0, 9, 23, 24, u64::MAX] {
            set_page_bit(&mut bm, i);
        }
        assert_eq!(bm, [0x80, 0x40, 0x01]);
        assert_eq!(set_bits(&bm, 0, 24).collect::<Vec<_>>(), vec![0, 9, 23]);
        assert_eq!(set_bits(&bm, 9, 14).collect::<Vec<_>>(), vec![0]);
        assert_eq!(set_bits(&bm, 1, 8).count(), 0);
        assert_eq!(set_bits(&bm, 20, u64::MAX).collect::<Vec<_>>(), vec![3]);
        assert_eq!(set_bits(&bm, u64::MAX - 3, 10).count(), 0);
    }

    #[test]
    fn unpaged_model_round_trip() {
        let sizes = S88;
        let params = ArrayParams::default_for(false, 0, 10);
        let mut edit = ArrayEdit::new(params, sizes).unwrap();
        assert_eq!(
            (edit.len(), edit.is_empty(), edit.addr()),
            (10, false, None)
        );
        assert_eq!(edit.params(), params);
        let mut mem = Mem::new(0x100);
        // No element: only the header, with no data block (what libhdf5 creates first).
        let (addr, s) = store(&mut edit, &mut mem);
        assert_eq!(addr, 0x100);
        assert_eq!(s.writes.len(), 1);
        assert_eq!(mem.allocs, vec![(0x100, Header::size(sizes) as u64)]);
        let mut want = vec![ChunkElement::undefined(false); 10];
        check(&edit, &mem, &want);
        // Set three elements: the data block appears (block first, header last).
        for i in [0, 3, 9] {
            edit.set(i, uelem(i)).unwrap();
            want[i as usize] = uelem(i);
        }
        let (_, s) = store(&mut edit, &mut mem);
        let dblk = edit.header().data_block_addr.unwrap();
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![dblk, addr]
        );
        assert_eq!(s.writes[0].1.len() as u64, 18 + 80);
        check(&edit, &mem, &want);
        // Nothing changed: nothing written; setting an element to what it is: nothing either.
        assert!(store(&mut edit, &mut mem).1.writes.is_empty());
        edit.set(3, uelem(3)).unwrap();
        edit.clear(4).unwrap();
        assert!(store(&mut edit, &mut mem).1.writes.is_empty());
        // Load, change, store: only the data block is rewritten.
        let mut again = load(&mem, addr, sizes);
        check(&again, &mem, &want);
        again.set(5, uelem(50)).unwrap();
        again.clear(0).unwrap();
        want[5] = uelem(50);
        want[0] = ChunkElement::undefined(false);
        let (a2, s) = store(&mut again, &mut mem);
        assert_eq!(a2, addr);
        assert_eq!(s.writes.len(), 1);
        assert_eq!(s.writes[0].0, dblk);
        check(&again, &mem, &want);
        assert_eq!(again.extents(), vec![(addr, 28), (dblk, 18 + 80)]);
        // Errors.
        let e = again.set(10, uelem(1)).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid("element index"), addr)
        );
        assert!(again.clear(10).is_err());
        assert!(again.get(10).is_none());
        assert!(again.set(1, felem(1)).is_err());
        assert!(again.set(1, unfiltered(u64::MAX)).is_err());
        // Setting the undefined address clears.
        again.set(9, ChunkElement::undefined(false)).unwrap();
        assert!(again.get(9).is_none());
    }

    #[test]
    fn paged_model_round_trip() {
        // 4-byte sizes, filtered with 2-byte chunk sizes, pages of 4: 10 elements in pages
        // of 4, 4, 2.
        let sizes = S44;
        let params = ArrayParams {
            filtered: true,
            chunk_size_len: 2,
            max_dblk_page_nelmts_bits: 2,
            nelmts: 10,
        };
        let mut edit = ArrayEdit::new(params, sizes).unwrap();
        let small = |i: u64| ChunkElement {
            addr: Some(0x1000 + i),
            size: Some(i * 10),
            filter_mask: i as u32 & 1,
        };
        edit.set(5, small(5)).unwrap();
        let mut want = vec![ChunkElement::undefined(true); 10];
        want[5] = small(5);
        let mut mem = Mem::new(0x40);
        let (addr, s) = store(&mut edit, &mut mem);
        let h = edit.header().clone();
        assert!(h.is_paged());
        let dblk = h.data_block_addr.unwrap();
        // Header, then the whole data block with room for its three pages.
        assert_eq!(
            mem.allocs,
            vec![
                (0x40, Header::size(sizes) as u64),
                (0x40 + 20, h.data_block_total_size(sizes))
            ]
        );
        // Page 1, the prefix (bitmap 0x40), the header.
        let at1 = h.page_addr(dblk, sizes, 1).unwrap();
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![at1, dblk, addr]
        );
        let prefix = DataBlock::decode(&s.writes[1].1, dblk, sizes, &h).unwrap();
        assert_eq!(prefix.page_init, Some(vec![0x40]));
        check(&edit, &mem, &want);
        // Element 3 of page 0 (a new page) and 6 of page 1.
        edit.set(3, small(3)).unwrap();
        edit.set(6, small(6)).unwrap();
        want[3] = small(3);
        want[6] = small(6);
        let (_, s) = store(&mut edit, &mut mem);
        let at0 = h.page_addr(dblk, sizes, 0).unwrap();
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![at0, at1, dblk]
        );
        check(&edit, &mem, &want);
        // Load: pages 0 and 1; add the last page; clear one.
        let mut again = load(&mem, addr, sizes);
        check(&again, &mem, &want);
        again.set(9, small(9)).unwrap();
        again.clear(3).unwrap();
        again.clear(8).unwrap(); // page 2 does not exist yet: no-op
        want[9] = small(9);
        want[3] = ChunkElement::undefined(true);
        let (_, s) = store(&mut again, &mut mem);
        let at2 = h.page_addr(dblk, sizes, 2).unwrap();
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![at0, at2, dblk]
        );
        check(&again, &mem, &want);
        let d = DataBlock::decode(&mem.read(dblk, 15).unwrap(), dblk, sizes, &h).unwrap();
        assert_eq!(d.page_init, Some(vec![0xe0]));
        // A chunk size that does not fit 2 bytes.
        let big = ChunkElement {
            size: Some(1 << 16),
            ..small(1)
        };
        assert!(matches!(
            again.set(1, big).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(again.set(1, uelem(1)).is_err());
        // An address that does not fit 4 bytes.
        let mut bad = ArrayEdit::new(params, sizes).unwrap();
        let e = bad.store(&mut |_| 1 << 33).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid(_)));
    }

    /// 2000 chunks with libhdf5's defaults: two pages of 1024 and 976.
    #[test]
    fn default_paged_model() {
        let sizes = S88;
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0, 2000), sizes).unwrap();
        let mut want = vec![ChunkElement::undefined(false); 2000];
        for i in (0..2000).step_by(3) {
            edit.set(i, uelem(i)).unwrap();
            want[i as usize] = uelem(i);
        }
        let mut mem = Mem::new(0);
        let (addr, s) = store(&mut edit, &mut mem);
        assert_eq!(s.writes.len(), 4);
        assert_eq!(s.writes[0].1.len(), 1024 * 8 + 4);
        assert_eq!(s.writes[1].1.len(), 976 * 8 + 4);
        check(&edit, &mem, &want);
        let mut again = load(&mem, addr, sizes);
        for i in (1..2000).step_by(7) {
            again.set(i, uelem(i + 5000)).unwrap();
            want[i as usize] = uelem(i + 5000);
        }
        store(&mut again, &mut mem);
        check(&again, &mem, &want);
        // The filtered twin with a 3-byte chunk size (layout v4 for 256-byte chunks).
        let csl = filtered_chunk_size_len(4, sizes, 256);
        let mut edit = ArrayEdit::new(ArrayParams::default_for(true, csl, 2000), sizes).unwrap();
        let mut want = vec![ChunkElement::undefined(true); 2000];
        for i in (0..2000).rev().step_by(5) {
            edit.set(i, felem(i)).unwrap();
            want[i as usize] = felem(i);
        }
        let mut mem = Mem::new(0);
        store(&mut edit, &mut mem);
        assert_eq!(edit.header().element_size, 8 + 3 + 4);
        check(&edit, &mem, &want);
    }

    #[test]
    fn new_refuses_bad_parameters() {
        let p = ArrayParams::default_for(true, 0, 10);
        assert!(matches!(
            ArrayEdit::new(p, S88).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        let p = ArrayParams::default_for(true, 9, 10);
        assert!(ArrayEdit::new(p, S88).is_err());
        let p = ArrayParams::default_for(false, 0, u64::MAX / 4);
        assert_eq!(
            ArrayEdit::new(p, S88).unwrap_err().kind,
            ErrorKind::Invalid("number of elements")
        );
        // Valid but too large to materialise: a Limit error on the first set, no allocation.
        let p = ArrayParams {
            max_dblk_page_nelmts_bits: 60,
            ..ArrayParams::default_for(false, 0, 1 << 40)
        };
        let mut edit = ArrayEdit::new(p, S88).unwrap();
        assert!(matches!(
            edit.set(5, uelem(5)).unwrap_err().kind,
            ErrorKind::Limit { .. }
        ));
        let p = ArrayParams {
            max_dblk_page_nelmts_bits: 0,
            ..p
        };
        let mut edit = ArrayEdit::new(p, S88).unwrap();
        assert!(matches!(
            edit.set(5, uelem(5)).unwrap_err().kind,
            ErrorKind::Limit { .. }
        ));
        // Zero elements: a header only.
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0, 0), S88).unwrap();
        assert!(edit.is_empty());
        assert!(edit.set(0, uelem(0)).is_err());
        let mut mem = Mem::new(8);
        store(&mut edit, &mut mem);
        assert_eq!(decode_fa(&mem, 8, S88).1, vec![]);
    }

    #[test]
    fn load_rejects_bad_input() {
        let sizes = S88;
        let mut edit = ArrayEdit::new(ArrayParams::default_for(true, 8, 3000), sizes).unwrap();
        for i in [0, 1500, 2999] {
            edit.set(i, felem(i)).unwrap();
        }
        let mut mem = Mem::new(0x10);
        let (addr, _) = store(&mut edit, &mut mem);
        let loads = |m: &Mem| ArrayEdit::load(addr, sizes, &mut |a, n| m.read(a, n));
        assert!(loads(&mem).is_ok());
        // Truncated anywhere.
        for cut in [0, 10, 40, 60, 100, 20000, mem.bytes.len() - 1] {
            let mut m = Mem::new(0);
            m.bytes = mem.bytes[..cut].to_vec();
            assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::Truncated, "{cut}");
        }
        // Any single corrupted byte of the header, the prefix or the first page: an error
        // (checksums), never a panic.
        let dblk = edit.header().data_block_addr.unwrap() as usize;
        let h = edit.header();
        let page0 = h.page_addr(dblk as u64, sizes, 0).unwrap() as usize;
        for at in (0x10..0x10 + 36)
            .chain(dblk..dblk + 19)
            .chain(page0..page0 + 60)
        {
            let mut m = Mem::new(0);
            m.bytes = mem.bytes.clone();
            m.bytes[at] ^= 0x41;
            assert!(loads(&m).is_err(), "byte {at}");
        }
        // Garbage.
        let mut m = Mem::new(0);
        m.bytes = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
        assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::BadSignature);
        // A read error propagates unchanged.
        let e = ArrayEdit::load(addr, sizes, &mut |a, _| {
            Err::<Vec<u8>, _>(Error::new("io", a, ErrorKind::Cycle))
        })
        .unwrap_err();
        assert_eq!((e.structure, e.kind), ("io", ErrorKind::Cycle));
        // A data block overlapping the header.
        let mut m = Mem::new(0);
        m.bytes = header_bytes(sizes, 0, 8, 10, 3, Some(0x10));
        m.bytes.resize(200, 0);
        let e = ArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid(_)));
        // A header whose bitmap alone exceeds the limit: refused before reading it.
        let mut m = Mem::new(0);
        m.bytes = header_bytes(sizes, 0, 8, 0, 1 << 36, Some(0x100));
        let mut asked = 0usize;
        let e = ArrayEdit::load(0, sizes, &mut |a, n| {
            asked = asked.max(n);
            m.read(a, n)
        })
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        assert!(asked < 100);
        // A header without a data block loads as an empty array.
        m.bytes = header_bytes(sizes, 0, 8, 10, 7, None);
        let edit = ArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap();
        assert_eq!((edit.len(), edit.iter().count()), (7, 0));
    }

    /// The fixed arrays libhdf5 2.0.0 wrote in the fixtures, rebuilt element by element from
    /// a new model: the header, data block and pages must come out byte for byte.
    #[test]
    fn libhdf5_fixtures_byte_exact() {
        const CHUNKIDX: &[u8] = include_bytes!("../../../fixtures/files/chunkidx_latest.h5");
        const FILTERS: &[u8] = include_bytes!("../../../fixtures/files/filters_latest.h5");
        let mut seen = (0, 0, 0);
        for (file, expect) in [(CHUNKIDX, 6), (FILTERS, 15)] {
            let read = |a: u64, n: usize| {
                file.get(a as usize..a as usize + n)
                    .map(<[u8]>::to_vec)
                    .ok_or(Error::new("fixture", a, ErrorKind::Truncated))
            };
            let mut found = 0;
            for at in (0..file.len() - 4).filter(|&i| file[i..i + 4] == HEADER_SIGNATURE) {
                let at = at as u64;
                let Ok(hb) = read(at, Header::size(S88)) else {
                    continue;
                };
                if Header::decode(&hb, at, S88).is_err() {
                    continue;
                }
                found += 1;
                let loaded = ArrayEdit::load(at, S88, &mut |a, n| read(a, n)).unwrap();
                let h = loaded.header().clone();
                let dblk = h.data_block_addr.unwrap();
                let mut fresh = ArrayEdit::new(loaded.params(), S88).unwrap();
                for (i, e) in loaded.iter() {
                    fresh.set(i, *e).unwrap();
                }
                let mut next = vec![at, dblk].into_iter();
                let (a, s) = fresh.store(&mut |_| next.next().unwrap()).unwrap();
                assert_eq!(a, at);
                let npages = (0..h.npages())
                    .filter(|&p| loaded.segments.contains_key(&p))
                    .count();
                assert_eq!(s.writes.len(), npages + 2);
                assert_eq!(s.writes.last().unwrap().0, at);
                for (wa, bytes) in &s.writes {
                    assert_eq!(
                        bytes.as_slice(),
                        &file[*wa as usize..*wa as usize + bytes.len()],
                        "array at {at}, block at {wa}"
                    );
                }
                seen.0 += 1;
                seen.1 += usize::from(h.is_paged());
                seen.2 += usize::from(h.filtered());
                // The loaded model itself has nothing to write; setting what is there
                // changes nothing.
                let mut loaded = loaded;
                let first = loaded.iter().next().map(|(i, e)| (i, *e)).unwrap();
                loaded.set(first.0, first.1).unwrap();
                assert!(loaded
                    .store(&mut |_| unreachable!())
                    .unwrap()
                    .1
                    .writes
                    .is_empty());
            }
            assert_eq!(found, expect);
        }
        // Paged and filtered arrays among them.
        assert_eq!(seen, (21, 2, 17));
    }

    /// The header and data block prefix libhdf5 2.0.0 wrote for 5000 chunks with chunks 0,
    /// 2500, 4096 and 4999 written (pages 0, 2 and 4 initialised): the same four elements
    /// set on a new model give the same bytes (neither depends on the chunk addresses).
    #[test]
    fn libhdf5_sparse_pages_byte_exact() {
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0, 5000), S88).unwrap();
        for i in [0, 2500, 4096, 4999] {
            edit.set(i, uelem(i)).unwrap();
        }
        let mut next = [447u64, 4096].into_iter();
        let (_, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
        assert_eq!(s.writes.len(), 3 + 2);
        let (prefix, header) = (&s.writes[3], &s.writes[4]);
        assert_eq!(
            *header,
            (
                447,
                hex("464148440000080a881300000000000000100000000000001fef5006")
            )
        );
        assert_eq!(
            *prefix,
            (4096, hex("464144420000bf01000000000000a8411f8930"))
        );
    }
}

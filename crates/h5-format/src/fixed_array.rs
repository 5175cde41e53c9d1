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

use alloc::vec::Vec;

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};

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
}

//! The fixed array header (`FAHD`): decode, the page geometry it implies, and encode.

use alloc::vec::Vec;

use super::{HEADER_NAME, HEADER_SIGNATURE};
use crate::chunk_array::{header_start, ElementFormat};
use crate::error::Result;
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::Writer;

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
    /// Not paged: index into [`DataBlock::elements`](super::DataBlock::elements).
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
    /// `Truncated`, `BadSignature`, `VersionNotAccepted` (only version 0 exists), `BadChecksum`,
    /// `Unsupported` for a reserved client ID, `Invalid` for an element size that does not fit
    /// the client or an element count whose data block would not fit in 64 bits.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, HEADER_NAME);
        let (fields, client_id, element_size) = header_start(&mut r, &HEADER_SIGNATURE)?;
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

    /// Bytes [`DataBlock::decode`](super::DataBlock::decode) needs: the prefix when paged, else the prefix plus every
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

    pub(super) fn checked_total_size(&self, sizes: Sizes) -> Option<u64> {
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

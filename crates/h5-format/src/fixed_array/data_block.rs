//! The fixed array data block (`FADB`) and its pages: decode and encode.

use alloc::vec::Vec;

use super::{Header, DATA_BLOCK_NAME, DATA_BLOCK_SIGNATURE, PAGE_NAME};
use crate::chunk_array::{
    block_start, encode_elements_page, page_initialised, sealed_elements, ChunkElement,
};
use crate::error::{ErrorKind, Result};
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;

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
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's or the header address is not `hdr.addr`.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, DATA_BLOCK_NAME);
        block_start(&mut r, &DATA_BLOCK_SIGNATURE, hdr.client_id, hdr.addr)?;
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

impl DataBlock {
    /// Encode the data block of `hdr` (the mirror of [`DataBlock::decode`]): for an unpaged
    /// array the whole block with every element, for a paged one the prefix with the
    /// page-initialised bitmap (pages are encoded by [`encode_page`]).
    pub fn encode(&self, sizes: Sizes, hdr: &Header) -> Vec<u8> {
        encode_data_block(sizes, hdr, self.page_init.as_deref(), &self.elements)
    }
}

pub(super) fn encode_data_block(
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
    encode_elements_page(sizes, &hdr.format, elements)
}

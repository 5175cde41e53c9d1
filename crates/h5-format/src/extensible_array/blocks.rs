//! The index block (`EAIB`), super blocks (`EASB`), data blocks (`EADB`) and data block pages
//! of an extensible array: decode and encode.

use alloc::vec::Vec;

use super::geometry::SuperBlockInfo;
use super::{
    Header, DATA_BLOCK_NAME, DATA_BLOCK_SIGNATURE, INDEX_BLOCK_NAME, INDEX_BLOCK_SIGNATURE,
    PAGE_NAME, SUPER_BLOCK_NAME, SUPER_BLOCK_SIGNATURE,
};
use crate::chunk_array::{encode_elements_page, page_initialised, sealed_elements, ChunkElement};
use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::Writer;

/// Check a block's version, client ID and header address after its signature.
pub(super) fn block_start(r: &mut Reader<'_>, sig: &[u8; 4], hdr: &Header) -> Result<()> {
    crate::chunk_array::block_start(r, sig, hdr.client_id, hdr.addr)
}

/// A super block's or data block's structure name and signature.
type BlockKind = (&'static str, &'static [u8; 4]);
const SUPER_BLOCK: BlockKind = (SUPER_BLOCK_NAME, &SUPER_BLOCK_SIGNATURE);
const DATA_BLOCK: BlockKind = (DATA_BLOCK_NAME, &DATA_BLOCK_SIGNATURE);

/// Start a super block or data block (`kind`) of super block `sblk` in `buf`, whose first
/// byte is at `addr`: the super block's geometry (`Invalid` when `sblk` is out of range),
/// then the checks of [`block_start`] and the block offset.
fn sblk_start<'a>(
    buf: &'a [u8],
    addr: u64,
    sizes: Sizes,
    hdr: &Header,
    sblk: usize,
    (name, sig): BlockKind,
) -> Result<(Reader<'a>, SuperBlockInfo, u64)> {
    let mut r = Reader::new(buf, addr, sizes, name);
    let s = *hdr
        .geometry
        .sblks
        .get(sblk)
        .ok_or_else(|| r.invalid("super block index"))?;
    block_start(&mut r, sig, hdr)?;
    let block_offset = r.uint(hdr.geometry.arr_off_size)?;
    Ok((r, s, block_offset))
}

/// Read `n` addresses, checking the byte count before allocating.
pub(super) fn read_addrs(r: &mut Reader<'_>, n: u64) -> Result<Vec<Addr>> {
    let o = r.sizes.offset as usize;
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n.checked_mul(o).is_some_and(|b| b <= r.remaining()))
        .ok_or_else(|| r.err(ErrorKind::Truncated))?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.offset()?);
    }
    Ok(out)
}

/// A decoded index block (`EAIB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBlock {
    /// The first `idx_blk_elmts` elements of the array.
    pub elements: Vec<ChunkElement>,
    /// Addresses of the data blocks of the first `iblock_nsblks` super blocks, in array order
    /// (`None` = not allocated).
    pub dblk_addrs: Vec<Addr>,
    /// Addresses of super blocks `iblock_nsblks..nsblks` (`None` = not allocated).
    pub sblk_addrs: Vec<Addr>,
}

impl IndexBlock {
    /// Decode the index block of `hdr` from `buf` (at least [`Header::index_block_size`]
    /// bytes), whose first byte is at file address `addr`.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's or the header address is not `hdr.addr`.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, INDEX_BLOCK_NAME);
        block_start(&mut r, &INDEX_BLOCK_SIGNATURE, hdr)?;
        let elements = hdr.format.read_all(&mut r, hdr.idx_blk_elmts.into())?;
        let dblk_addrs = read_addrs(&mut r, hdr.geometry.ndblk_addrs as u64)?;
        let sblk_addrs = read_addrs(&mut r, hdr.geometry.nsblk_addrs as u64)?;
        r.checksum(0)?;
        Ok(IndexBlock {
            elements,
            dblk_addrs,
            sblk_addrs,
        })
    }
}

/// A decoded secondary ("super") block (`EASB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperBlock {
    /// Super block index `u`.
    pub sblk: usize,
    /// The stored block offset (expected: [`Header::block_offset`]`(sblk, 0)`).
    pub block_offset: u64,
    /// Page-initialised bitmap when the data blocks are paged: see
    /// [`SuperBlock::page_initialised`].
    pub page_init: Option<Vec<u8>>,
    /// Pages per data block (0 when not paged).
    pub dblk_npages: u64,
    /// Data block addresses (`None` = not allocated).
    pub dblk_addrs: Vec<Addr>,
}

impl SuperBlock {
    /// Decode super block `sblk` of `hdr` from `buf` (at least
    /// [`Header::super_block_size`]`(sblk)` bytes), whose first byte is at file address `addr`.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's, the header address is not `hdr.addr` or `sblk` is out of
    /// range.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header, sblk: usize) -> Result<Self> {
        let (mut r, s, block_offset) = sblk_start(buf, addr, sizes, hdr, sblk, SUPER_BLOCK)?;
        let dblk_npages = hdr.geometry.dblk_npages(sblk);
        let page_init = if dblk_npages > 0 {
            let n = s
                .ndblks
                .checked_mul(hdr.geometry.dblk_page_init_size(sblk))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| r.err(ErrorKind::Truncated))?;
            Some(r.bytes(n)?.to_vec())
        } else {
            None
        };
        let dblk_addrs = read_addrs(&mut r, s.ndblks)?;
        r.checksum(0)?;
        Ok(SuperBlock {
            sblk,
            block_offset,
            page_init,
            dblk_npages,
            dblk_addrs,
        })
    }

    /// Whether page `page` of data block `dblk` (index into `dblk_addrs`) was initialised;
    /// always true when the data blocks are not paged. The bitmap holds one bit per page,
    /// numbered `dblk · dblk_npages + page` and MSB-first within each byte (see
    /// [`page_initialised`]).
    pub fn page_initialised(&self, dblk: u64, page: u64) -> bool {
        match &self.page_init {
            None => true,
            Some(bitmap) => {
                page < self.dblk_npages
                    && dblk
                        .checked_mul(self.dblk_npages)
                        .and_then(|b| b.checked_add(page))
                        .is_some_and(|bit| page_initialised(bitmap, bit))
            }
        }
    }
}

/// A decoded data block (`EADB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    /// The stored block offset (informational; see [`Header::block_offset`] for what libhdf5
    /// writes).
    pub block_offset: u64,
    /// The block's elements; empty when paged (the elements live in the pages).
    pub elements: Vec<ChunkElement>,
    /// Number of pages following the block (0 when not paged).
    pub npages: u64,
}

impl DataBlock {
    /// Decode a data block of super block `sblk` of `hdr` from `buf` (at least
    /// [`Header::data_block_size`]`(sblk)` bytes), whose first byte is at file address `addr`.
    /// A paged block is only its prefix: read its pages with [`decode_page`].
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's, the header address is not `hdr.addr` or `sblk` is out of
    /// range.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header, sblk: usize) -> Result<Self> {
        let (mut r, s, block_offset) = sblk_start(buf, addr, sizes, hdr, sblk, DATA_BLOCK)?;
        let npages = hdr.geometry.dblk_npages(sblk);
        let elements = if npages > 0 {
            Vec::new()
        } else {
            hdr.format.read_all(&mut r, s.dblk_nelmts)?
        };
        r.checksum(0)?;
        Ok(DataBlock {
            block_offset,
            elements,
            npages,
        })
    }
}

/// Decode one data block page of `hdr` from `buf` (at least [`Header::page_size`] bytes, read
/// at [`Header::page_addr`]), whose first byte is at file address `addr`, verifying its
/// checksum. Every page holds `dblk_page_nelmts` elements.
///
/// # Errors
/// `Truncated`; `BadChecksum`.
pub fn decode_page(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header) -> Result<Vec<ChunkElement>> {
    let mut r = Reader::new(buf, addr, sizes, PAGE_NAME);
    let elements = hdr.format.read_all(&mut r, hdr.geometry.dblk_page_nelmts)?;
    r.checksum(0)?;
    Ok(elements)
}

/// Signature, version, client ID and header address.
pub(super) fn write_block_start(w: &mut Writer, sig: &[u8; 4], hdr: &Header) {
    w.bytes(sig).u8(0).u8(hdr.client_id).offset(Some(hdr.addr));
}

pub(super) fn encode_index_block(
    sizes: Sizes,
    hdr: &Header,
    elements: &[ChunkElement],
    dblk_addrs: &[Addr],
    sblk_addrs: &[Addr],
) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    write_block_start(&mut w, &INDEX_BLOCK_SIGNATURE, hdr);
    hdr.format.write_all(&mut w, elements);
    for &a in dblk_addrs.iter().chain(sblk_addrs) {
        w.offset(a);
    }
    w.checksum_from(0);
    w.finish()
}

pub(super) fn encode_super_block(
    sizes: Sizes,
    hdr: &Header,
    block_offset: u64,
    page_init: Option<&[u8]>,
    dblk_addrs: &[Addr],
) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    write_block_start(&mut w, &SUPER_BLOCK_SIGNATURE, hdr);
    w.uint(block_offset, hdr.geometry.arr_off_size);
    if let Some(bitmap) = page_init {
        w.bytes(bitmap);
    }
    for &a in dblk_addrs {
        w.offset(a);
    }
    w.checksum_from(0);
    w.finish()
}

pub(super) fn encode_data_block(
    sizes: Sizes,
    hdr: &Header,
    block_offset: u64,
    elements: &[ChunkElement],
) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    write_block_start(&mut w, &DATA_BLOCK_SIGNATURE, hdr);
    w.uint(block_offset, hdr.geometry.arr_off_size);
    sealed_elements(&mut w, 0, &hdr.format, elements);
    w.finish()
}

impl IndexBlock {
    /// Encode the index block of `hdr` (the mirror of [`IndexBlock::decode`]).
    pub fn encode(&self, sizes: Sizes, hdr: &Header) -> Vec<u8> {
        encode_index_block(
            sizes,
            hdr,
            &self.elements,
            &self.dblk_addrs,
            &self.sblk_addrs,
        )
    }
}

impl SuperBlock {
    /// Encode the super block (the mirror of [`SuperBlock::decode`]).
    pub fn encode(&self, sizes: Sizes, hdr: &Header) -> Vec<u8> {
        encode_super_block(
            sizes,
            hdr,
            self.block_offset,
            self.page_init.as_deref(),
            &self.dblk_addrs,
        )
    }
}

impl DataBlock {
    /// Encode the data block (the mirror of [`DataBlock::decode`]): its elements, or just
    /// the prefix when paged (`elements` empty; pages are encoded by [`encode_page`]).
    pub fn encode(&self, sizes: Sizes, hdr: &Header) -> Vec<u8> {
        encode_data_block(sizes, hdr, self.block_offset, &self.elements)
    }
}

/// Encode one data block page: `elements` (`dblk_page_nelmts` of them) and a checksum (the
/// mirror of [`decode_page`]).
pub fn encode_page(sizes: Sizes, hdr: &Header, elements: &[ChunkElement]) -> Vec<u8> {
    encode_elements_page(sizes, &hdr.format, elements)
}

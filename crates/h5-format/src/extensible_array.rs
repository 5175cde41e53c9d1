//! Extensible Array chunk index (spec VII.D "The Extensible Array Index"; layout message v4/v5,
//! index type 4, datasets with exactly one unlimited dimension).
//!
//! An array is a header (`EAHD`), an index block (`EAIB`) holding the first elements directly
//! plus the addresses of the first data blocks and of the secondary ("super") blocks
//! (`EASB`), which in turn hold data block (`EADB`) addresses. Large data blocks are split into
//! individually checksummed pages that follow the data block; super blocks keep a bitmap of
//! which pages were initialised.
//!
//! The spec gives the layouts but not the sizing arithmetic; [`Geometry`] computes it the way
//! libhdf5 does. With `m` = data block minimum elements and super block index `u`:
//!
//! * `nsblks = 1 + max_nelmts_bits - log2(m)` super blocks;
//! * super block `u` holds `ndblks(u) = 2^(u/2)` data blocks of `dblk_nelmts(u) =
//!   2^((u+1)/2) · m` elements each, so it covers `2^u · m` elements starting at
//!   `start_idx(u) = (2^u - 1) · m` (indices counted after the index block's own elements);
//! * the first `iblock_nsblks = 2 · log2(sup_blk_min_data_ptrs)` super blocks are not stored:
//!   their `2 · (sup_blk_min_data_ptrs - 1)` data block addresses sit in the index block,
//!   followed by the addresses of the remaining `nsblks - iblock_nsblks` super blocks.
//!
//! Decoders are pure functions over the bytes of **one** block whose first byte sits at a
//! known file address. The caller reads [`Header::size`] bytes for the header,
//! [`Header::index_block_size`] for the index block, [`Header::super_block_size`] for a super
//! block, [`Header::data_block_size`] for a data block and [`Header::page_size`] for a page at
//! [`Header::page_addr`]. [`Header::locate`] maps one element index to its block;
//! [`Header::blocks`] lists every block that can hold elements below a given count, in order.
//!
//! Page-initialised bitmaps live only in super blocks (one bit per page, numbered
//! `dblk · dblk_npages + page`, MSB-first; see [`SuperBlock::page_initialised`]); a page whose
//! bit is clear was never written and holds no allocated chunk. Data blocks addressed directly
//! by the index block have no bitmap; with the parameters libhdf5 uses for chunk indexes they
//! are never paged (at most 64 elements against pages of 1024).
//!
//! Addresses passed to these decoders must be in the same address space as the addresses the
//! file stores (every block's "header address" field is compared with [`Header::addr`]).
//!
//! # Editing
//!
//! Every structure has an `encode` beside its `decode`. [`ArrayEdit`] is the editing model:
//! [`ArrayEdit::new`] (from [`ArrayParams`], e.g. [`ArrayParams::default_for`] with libhdf5's
//! parameters) or [`ArrayEdit::load`], then [`ArrayEdit::set`] (growing the array),
//! [`ArrayEdit::clear`] / [`ArrayEdit::truncate`], then [`ArrayEdit::store`], which allocates
//! new blocks through the caller's allocator and returns a [`Stored`] with the blocks to
//! write. It creates blocks, pages and header statistics exactly as libhdf5 does, so libhdf5
//! can keep writing chunks into an array it stored.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::chunk_array::{
    block_len, checked_alloc, filled, page_initialised, sealed_elements, set_bits, set_page_bit,
    ChunkElement, ElementFormat, Extents, Segment,
};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::{Stored, Writer};

/// Signature of an extensible array header.
pub const HEADER_SIGNATURE: [u8; 4] = *b"EAHD";
/// Signature of an extensible array index block.
pub const INDEX_BLOCK_SIGNATURE: [u8; 4] = *b"EAIB";
/// Signature of an extensible array secondary (super) block.
pub const SUPER_BLOCK_SIGNATURE: [u8; 4] = *b"EASB";
/// Signature of an extensible array data block.
pub const DATA_BLOCK_SIGNATURE: [u8; 4] = *b"EADB";

/// The largest number of super blocks a [`Geometry`] may have (`max_nelmts_bits` ≤ 63).
pub const MAX_SUPER_BLOCKS: usize = 64;

const HEADER_NAME: &str = "extensible array header";
const INDEX_BLOCK_NAME: &str = "extensible array index block";
const SUPER_BLOCK_NAME: &str = "extensible array secondary block";
const DATA_BLOCK_NAME: &str = "extensible array data block";
const PAGE_NAME: &str = "extensible array data block page";

/// Signature, version, client ID and header address: the start of every block.
fn block_start_size(sizes: Sizes) -> u64 {
    4 + 1 + 1 + sizes.offset as u64
}

/// The six statistics of an extensible array header (informational; never needed to read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Number of secondary (super) blocks created.
    pub nsuper_blks: u64,
    /// Total size of the secondary blocks created.
    pub super_blk_size: u64,
    /// Number of data blocks created.
    pub ndata_blks: u64,
    /// Total size of the data blocks created.
    pub data_blk_size: u64,
    /// One more than the largest element index ever set ("max index set").
    pub max_idx_set: u64,
    /// Number of elements realised.
    pub nelmts: u64,
}

/// Sizing of one super block (also of the super blocks whose data blocks the index block
/// holds directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuperBlockInfo {
    /// Number of data blocks: `2^(u/2)`.
    pub ndblks: u64,
    /// Elements per data block: `2^((u+1)/2) · data_blk_min_elmts`.
    pub dblk_nelmts: u64,
    /// First element index covered (counted after the index block's elements).
    pub start_idx: u64,
    /// Number of data blocks in all earlier super blocks.
    pub start_dblk: u64,
}

/// The block structure of an extensible array, derived from its creation parameters with
/// checked arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// One entry per super block (`nsblks` ≤ [`MAX_SUPER_BLOCKS`] entries).
    pub sblks: Vec<SuperBlockInfo>,
    /// Super blocks whose data blocks the index block addresses directly:
    /// `2 · log2(sup_blk_min_data_ptrs)`.
    pub iblock_nsblks: usize,
    /// Data block addresses in the index block: `2 · (sup_blk_min_data_ptrs - 1)`.
    pub ndblk_addrs: usize,
    /// Super block addresses in the index block: `nsblks - iblock_nsblks`.
    pub nsblk_addrs: usize,
    /// Width in bytes of the "block offset" field of super and data blocks:
    /// `ceil(max_nelmts_bits / 8)`.
    pub arr_off_size: usize,
    /// Elements in one data block page: `2^max_dblk_page_nelmts_bits` (saturating).
    pub dblk_page_nelmts: u64,
}

impl Geometry {
    /// Compute the geometry. `data_blk_min_elmts` and `sup_blk_min_data_ptrs` must be powers
    /// of two, `max_nelmts_bits` in `log2(data_blk_min_elmts)..=63`, and the index block's
    /// super blocks must not outnumber all super blocks.
    ///
    /// # Errors
    /// The name of the offending parameter.
    pub fn new(
        max_nelmts_bits: u8,
        data_blk_min_elmts: u8,
        sup_blk_min_data_ptrs: u8,
        max_dblk_page_nelmts_bits: u8,
    ) -> core::result::Result<Self, &'static str> {
        if !data_blk_min_elmts.is_power_of_two() {
            return Err("data block minimum elements");
        }
        if !sup_blk_min_data_ptrs.is_power_of_two() {
            return Err("secondary block minimum data block pointers");
        }
        let bits = u32::from(max_nelmts_bits);
        let min_log2 = data_blk_min_elmts.trailing_zeros();
        if bits == 0 || bits > 63 || bits < min_log2 {
            return Err("maximum number of elements bits");
        }
        let nsblks = (1 + bits - min_log2) as usize;
        let iblock_nsblks = 2 * sup_blk_min_data_ptrs.trailing_zeros() as usize;
        if iblock_nsblks > nsblks {
            return Err("secondary block minimum data block pointers");
        }
        let m = u64::from(data_blk_min_elmts);
        let mut sblks = Vec::with_capacity(nsblks);
        let (mut start_idx, mut start_dblk) = (0u64, 0u64);
        for u in 0..nsblks as u32 {
            // u ≤ 63 and m ≤ 128: every value fits (all super blocks together cover
            // 2^(bits+1) - m ≤ 2^64 - 1 elements); checked all the same.
            let ndblks = 1u64 << (u / 2);
            let dblk_nelmts = (1u64 << u.div_ceil(2))
                .checked_mul(m)
                .ok_or("maximum number of elements bits")?;
            sblks.push(SuperBlockInfo {
                ndblks,
                dblk_nelmts,
                start_idx,
                start_dblk,
            });
            let covered = ndblks
                .checked_mul(dblk_nelmts)
                .ok_or("maximum number of elements bits")?;
            start_idx = start_idx
                .checked_add(covered)
                .ok_or("maximum number of elements bits")?;
            start_dblk = start_dblk
                .checked_add(ndblks)
                .ok_or("maximum number of elements bits")?;
        }
        Ok(Geometry {
            sblks,
            iblock_nsblks,
            ndblk_addrs: 2 * (usize::from(sup_blk_min_data_ptrs) - 1),
            nsblk_addrs: nsblks - iblock_nsblks,
            arr_off_size: max_nelmts_bits.div_ceil(8) as usize,
            dblk_page_nelmts: 1u64
                .checked_shl(max_dblk_page_nelmts_bits.into())
                .unwrap_or(u64::MAX),
        })
    }

    /// Number of super blocks.
    pub fn nsblks(&self) -> usize {
        self.sblks.len()
    }

    /// Number of elements the super blocks can hold (excluding the index block's elements).
    pub fn capacity(&self) -> u64 {
        self.sblks.last().map_or(0, |s| {
            s.start_idx
                .saturating_add(s.ndblks.saturating_mul(s.dblk_nelmts))
        })
    }

    /// Whether the data blocks of super block `sblk` are paged (hold more elements than one
    /// page). False for an out-of-range `sblk`.
    pub fn is_paged(&self, sblk: usize) -> bool {
        self.sblks
            .get(sblk)
            .is_some_and(|s| s.dblk_nelmts > self.dblk_page_nelmts)
    }

    /// Pages per data block of super block `sblk` (0 when not paged). Both sizes are powers of
    /// two, so pages are always full.
    pub fn dblk_npages(&self, sblk: usize) -> u64 {
        if self.is_paged(sblk) {
            self.sblks[sblk]
                .dblk_nelmts
                .checked_div(self.dblk_page_nelmts)
                .unwrap_or(0)
        } else {
            0
        }
    }

    /// Bytes of page-initialised bitmap per data block in super block `sblk`:
    /// `ceil(dblk_npages / 8)`.
    pub fn dblk_page_init_size(&self, sblk: usize) -> u64 {
        self.dblk_npages(sblk).div_ceil(8)
    }
}

/// A decoded extensible array header (`EAHD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// File address of the header (as given to [`Header::decode`]).
    pub addr: u64,
    /// Client ID: 0 non-filtered chunks, 1 filtered chunks.
    pub client_id: u8,
    /// Size of one element in bytes.
    pub element_size: u8,
    /// Bits needed to store the maximum number of elements.
    pub max_nelmts_bits: u8,
    /// Elements stored directly in the index block.
    pub idx_blk_elmts: u8,
    /// Minimum number of elements per data block.
    pub data_blk_min_elmts: u8,
    /// Minimum number of data block pointers per secondary block.
    pub sup_blk_min_data_ptrs: u8,
    /// Bits needed to store the maximum number of elements in a data block page.
    pub max_dblk_page_nelmts_bits: u8,
    /// Statistics.
    pub stats: Stats,
    /// Address of the index block; `None` when no element was ever set.
    pub index_block_addr: Addr,
    /// Element encoding derived from `client_id` and `element_size`.
    pub format: ElementFormat,
    /// Block structure derived from the creation parameters.
    pub geometry: Geometry,
}

/// Where element `i` of an extensible array lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the index block's own elements, at this index.
    InIndexBlock(usize),
    /// In a data block whose address is `IndexBlock::dblk_addrs[dblk]`.
    DataBlockInIndex {
        /// Index into [`IndexBlock::dblk_addrs`].
        dblk: usize,
        /// Element index within the data block.
        offset: u64,
        /// Super block index `u` sizing the data block (for [`Header::data_block_size`]).
        sblk: usize,
    },
    /// In a data block of a super block whose address is `IndexBlock::sblk_addrs[sblk_slot]`.
    InSuperBlock {
        /// Index into [`IndexBlock::sblk_addrs`] (`sblk - iblock_nsblks`).
        sblk_slot: usize,
        /// Super block index `u`.
        sblk: usize,
        /// Index into [`SuperBlock::dblk_addrs`].
        dblk: usize,
        /// Element index within the data block.
        offset: u64,
    },
}

/// A block that can hold elements, as listed by [`Header::blocks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// The index block's own elements: indices `0..count`.
    IndexBlockElements {
        /// Number of index block elements below the requested count.
        count: u64,
    },
    /// A data block addressed by the index block.
    IndexDataBlock {
        /// Index into [`IndexBlock::dblk_addrs`].
        slot: usize,
        /// Super block index `u` sizing the data block.
        sblk: usize,
        /// Array index of the data block's first element.
        first: u64,
        /// Elements in the data block (some may lie beyond the requested count).
        nelmts: u64,
    },
    /// A super block addressed by the index block. Its data block `d` (for `d < ndblks`)
    /// holds elements `first + d · dblk_nelmts ..` `+ dblk_nelmts`.
    SuperBlock {
        /// Index into [`IndexBlock::sblk_addrs`].
        slot: usize,
        /// Super block index `u`.
        sblk: usize,
        /// Array index of the super block's first element.
        first: u64,
        /// Data blocks of this super block holding elements below the requested count.
        ndblks: u64,
        /// Elements per data block.
        dblk_nelmts: u64,
    },
}

/// Iterator over the blocks of an array below an element count ([`Header::blocks`]).
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    hdr: &'a Header,
    nelmts: u64,
    next: usize,
    done: bool,
}

impl Iterator for Blocks<'_> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        let block = self.step();
        if block.is_none() {
            self.done = true;
        }
        block
    }
}

impl Blocks<'_> {
    fn step(&mut self) -> Option<Block> {
        if self.done {
            return None;
        }
        let hdr = self.hdr;
        let g = &hdr.geometry;
        let idx = u64::from(hdr.idx_blk_elmts);
        if self.next == 0 {
            self.next = 1;
            let count = self.nelmts.min(idx);
            if count > 0 {
                return Some(Block::IndexBlockElements { count });
            }
        }
        let slot = self.next - 1;
        self.next += 1;
        if slot < g.ndblk_addrs {
            // Data block `slot` of the index block belongs to the super block whose
            // [start_dblk, start_dblk + ndblks) range contains it.
            let slot64 = slot as u64;
            let (sblk, s) = g
                .sblks
                .iter()
                .take(g.iblock_nsblks)
                .enumerate()
                .find(|(_, s)| slot64 >= s.start_dblk && slot64 - s.start_dblk < s.ndblks)?;
            let first = (slot64 - s.start_dblk)
                .checked_mul(s.dblk_nelmts)?
                .checked_add(s.start_idx)?
                .checked_add(idx)?;
            if first >= self.nelmts {
                return None;
            }
            return Some(Block::IndexDataBlock {
                slot,
                sblk,
                first,
                nelmts: s.dblk_nelmts,
            });
        }
        let sblk_slot = slot - g.ndblk_addrs;
        if sblk_slot >= g.nsblk_addrs {
            return None;
        }
        let sblk = g.iblock_nsblks.checked_add(sblk_slot)?;
        let s = g.sblks.get(sblk)?;
        let first = idx.checked_add(s.start_idx)?;
        if first >= self.nelmts || s.dblk_nelmts == 0 {
            return None;
        }
        let ndblks = (self.nelmts - first).div_ceil(s.dblk_nelmts).min(s.ndblks);
        Some(Block::SuperBlock {
            slot: sblk_slot,
            sblk,
            first,
            ndblks,
            dblk_nelmts: s.dblk_nelmts,
        })
    }
}

impl Header {
    /// Encoded size of a header: signature, 8 one-byte fields, six L, one O, checksum.
    pub fn size(sizes: Sizes) -> usize {
        4 + 8 + 6 * sizes.length as usize + sizes.offset as usize + 4
    }

    /// Decode a header from `buf`, whose first byte is at file address `addr`.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `BadVersion` (only version 0 exists), `BadChecksum`,
    /// `Unsupported` for a reserved client ID, `Invalid` for an element size that does not fit
    /// the client or creation parameters with no valid geometry (see [`Geometry::new`]).
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
        let max_nelmts_bits = r.u8()?;
        let idx_blk_elmts = r.u8()?;
        let data_blk_min_elmts = r.u8()?;
        let sup_blk_min_data_ptrs = r.u8()?;
        let max_dblk_page_nelmts_bits = r.u8()?;
        let stats = Stats {
            nsuper_blks: r.length()?,
            super_blk_size: r.length()?,
            ndata_blks: r.length()?,
            data_blk_size: r.length()?,
            max_idx_set: r.length()?,
            nelmts: r.length()?,
        };
        let index_block_addr = r.offset()?;
        r.checksum(0)?;
        let format = ElementFormat::new(&fields, client_id, element_size)?;
        let geometry = Geometry::new(
            max_nelmts_bits,
            data_blk_min_elmts,
            sup_blk_min_data_ptrs,
            max_dblk_page_nelmts_bits,
        )
        .map_err(|what| fields.invalid(what))?;
        Ok(Header {
            addr,
            client_id,
            element_size,
            max_nelmts_bits,
            idx_blk_elmts,
            data_blk_min_elmts,
            sup_blk_min_data_ptrs,
            max_dblk_page_nelmts_bits,
            stats,
            index_block_addr,
            format,
            geometry,
        })
    }

    /// Whether elements are filtered-chunk records.
    pub fn filtered(&self) -> bool {
        self.format.filtered
    }

    /// Highest number of elements the array can hold: the index block's plus the super
    /// blocks'.
    pub fn capacity(&self) -> u64 {
        u64::from(self.idx_blk_elmts).saturating_add(self.geometry.capacity())
    }

    fn sblk_info(&self, sblk: usize) -> Result<&SuperBlockInfo> {
        self.geometry
            .sblks
            .get(sblk)
            .ok_or_else(|| Error::invalid(HEADER_NAME, self.addr, "super block index"))
    }

    fn overflow(&self) -> Error {
        Error::invalid(HEADER_NAME, self.addr, "block size (overflows)")
    }

    /// Bytes of the index block: start, `idx_blk_elmts` elements, `ndblk_addrs` +
    /// `nsblk_addrs` addresses, checksum.
    pub fn index_block_size(&self, sizes: Sizes) -> u64 {
        let g = &self.geometry;
        let o = sizes.offset as u64;
        let elements = u64::from(self.idx_blk_elmts) * self.format.size as u64;
        let addrs = (g.ndblk_addrs as u64)
            .saturating_add(g.nsblk_addrs as u64)
            .saturating_mul(o);
        (block_start_size(sizes) + elements + 4).saturating_add(addrs)
    }

    /// Bytes of super block `sblk`: start, block offset, page-initialised bitmap
    /// (`ndblks · ceil(npages / 8)` bytes when its data blocks are paged), `ndblks` data block
    /// addresses, checksum.
    ///
    /// # Errors
    /// `Invalid` (naming the header) when `sblk` is out of range or the size overflows.
    pub fn super_block_size(&self, sizes: Sizes, sblk: usize) -> Result<u64> {
        let s = self.sblk_info(sblk)?;
        let bitmap = s
            .ndblks
            .checked_mul(self.geometry.dblk_page_init_size(sblk));
        let addrs = s.ndblks.checked_mul(sizes.offset as u64);
        bitmap
            .zip(addrs)
            .and_then(|(b, a)| {
                (block_start_size(sizes) + self.geometry.arr_off_size as u64 + 4)
                    .checked_add(b)?
                    .checked_add(a)
            })
            .ok_or_else(|| self.overflow())
    }

    /// Bytes of a data block before its elements or pages: start, block offset, checksum.
    /// This is the whole block when it is paged.
    pub fn data_block_prefix_size(&self, sizes: Sizes) -> u64 {
        block_start_size(sizes) + self.geometry.arr_off_size as u64 + 4
    }

    /// Bytes [`DataBlock::decode`] needs for a data block of super block `sblk`: the prefix
    /// plus `dblk_nelmts` elements, or just the prefix when paged.
    ///
    /// # Errors
    /// `Invalid` (naming the header) when `sblk` is out of range or the size overflows.
    pub fn data_block_size(&self, sizes: Sizes, sblk: usize) -> Result<u64> {
        let s = self.sblk_info(sblk)?;
        if self.geometry.is_paged(sblk) {
            return Ok(self.data_block_prefix_size(sizes));
        }
        s.dblk_nelmts
            .checked_mul(self.format.size as u64)
            .and_then(|e| e.checked_add(self.data_block_prefix_size(sizes)))
            .ok_or_else(|| self.overflow())
    }

    /// Bytes of one data block page: `dblk_page_nelmts` elements plus a checksum (pages are
    /// always full). Saturates for arrays that can have no pages.
    pub fn page_size(&self) -> u64 {
        self.geometry
            .dblk_page_nelmts
            .saturating_mul(self.format.size as u64)
            .saturating_add(4)
    }

    /// File address of page `page` of a paged data block of super block `sblk` at
    /// `data_block_addr`: `data_block_addr + prefix + page · page_size`. `None` when the data
    /// block is not paged, `page` is out of range or the address overflows.
    pub fn page_addr(
        &self,
        data_block_addr: u64,
        sizes: Sizes,
        sblk: usize,
        page: u64,
    ) -> Option<u64> {
        if page >= self.geometry.dblk_npages(sblk) {
            return None;
        }
        data_block_addr
            .checked_add(self.data_block_prefix_size(sizes))?
            .checked_add(page.checked_mul(self.page_size())?)
    }

    /// Page and index within the page of element `offset` of a data block of super block
    /// `sblk`; `None` when that data block is not paged.
    pub fn page_of(&self, sblk: usize, offset: u64) -> Option<(u64, u64)> {
        if !self.geometry.is_paged(sblk) {
            return None;
        }
        let per = self.geometry.dblk_page_nelmts;
        Some((offset / per, offset % per))
    }

    /// The "block offset" libhdf5 stores: `start_idx(sblk) + dblk · dblk_nelmts(sblk)`, in
    /// element indices counted after the index block's elements. For a super block use
    /// `dblk = 0`; for a data block of a super block, `dblk` is its index in
    /// [`SuperBlock::dblk_addrs`]. For a data block addressed by the index block, libhdf5
    /// (checked with 2.0.0 and older writers) uses the index-block *slot* as `dblk`, so the
    /// stored value is `block_offset(sblk, slot)`, not the block's first element (slot 1 of the
    /// default geometry stores 48 although it starts at 16). Informational only: the decoders
    /// do not check it and reading never needs it.
    pub fn block_offset(&self, sblk: usize, dblk: u64) -> Option<u64> {
        let s = self.geometry.sblks.get(sblk)?;
        s.start_idx.checked_add(dblk.checked_mul(s.dblk_nelmts)?)
    }

    /// Where element `i` (0-based array index) lives; `None` beyond [`Header::capacity`].
    pub fn locate(&self, i: u64) -> Option<Location> {
        let idx = u64::from(self.idx_blk_elmts);
        if i < idx {
            return Some(Location::InIndexBlock(i as usize));
        }
        let g = &self.geometry;
        let j = i - idx;
        // Super block 0 holds one data block of the minimum size.
        let min_elmts = g.sblks.first()?.dblk_nelmts;
        let q = j.checked_div(min_elmts)?.checked_add(1)?;
        let sblk = q.ilog2() as usize;
        let s = g.sblks.get(sblk)?;
        let rel = j.checked_sub(s.start_idx)?;
        let dblk_in_sblk = rel.checked_div(s.dblk_nelmts)?;
        let offset = rel % s.dblk_nelmts;
        if dblk_in_sblk >= s.ndblks {
            return None;
        }
        if sblk < g.iblock_nsblks {
            let dblk = usize::try_from(s.start_dblk.checked_add(dblk_in_sblk)?).ok()?;
            Some(Location::DataBlockInIndex { dblk, offset, sblk })
        } else {
            let dblk = usize::try_from(dblk_in_sblk).ok()?;
            Some(Location::InSuperBlock {
                sblk_slot: sblk - g.iblock_nsblks,
                sblk,
                dblk,
                offset,
            })
        }
    }

    /// Every block that can hold elements with index below `nelmts` (typically
    /// `stats.max_idx_set`), in array order: the index block's elements, the data blocks the
    /// index block addresses, then the super blocks. At most `1 + ndblk_addrs + nsblk_addrs`
    /// items.
    pub fn blocks(&self, nelmts: u64) -> Blocks<'_> {
        Blocks {
            hdr: self,
            nelmts,
            next: 0,
            done: false,
        }
    }
}

/// Check a block's version, client ID and header address after its signature.
fn block_start(r: &mut Reader<'_>, sig: &[u8; 4], hdr: &Header) -> Result<()> {
    r.signature(sig)?;
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
    Ok(())
}

/// Read `n` addresses, checking the byte count before allocating.
fn read_addrs(r: &mut Reader<'_>, n: u64) -> Result<Vec<Addr>> {
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
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`; `Invalid` when the client ID
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
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's, the header address is not `hdr.addr` or `sblk` is out of
    /// range.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header, sblk: usize) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, SUPER_BLOCK_NAME);
        let s = *hdr
            .geometry
            .sblks
            .get(sblk)
            .ok_or_else(|| r.invalid("super block index"))?;
        block_start(&mut r, &SUPER_BLOCK_SIGNATURE, hdr)?;
        let block_offset = r.uint(hdr.geometry.arr_off_size)?;
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
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`; `Invalid` when the client ID
    /// differs from the header's, the header address is not `hdr.addr` or `sblk` is out of
    /// range.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes, hdr: &Header, sblk: usize) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, DATA_BLOCK_NAME);
        let s = *hdr
            .geometry
            .sblks
            .get(sblk)
            .ok_or_else(|| r.invalid("super block index"))?;
        block_start(&mut r, &DATA_BLOCK_SIGNATURE, hdr)?;
        let block_offset = r.uint(hdr.geometry.arr_off_size)?;
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

// ---------------------------------------------------------------------------------------------
// Encoders and the editing model.
// ---------------------------------------------------------------------------------------------

const EDIT_NAME: &str = "extensible array";

/// Signature, version, client ID and header address.
fn write_block_start(w: &mut Writer, sig: &[u8; 4], hdr: &Header) {
    w.bytes(sig).u8(0).u8(hdr.client_id).offset(Some(hdr.addr));
}

fn encode_index_block(
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

fn encode_super_block(
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

fn encode_data_block(
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

impl Header {
    /// Encode the header (the mirror of [`Header::decode`]): signature, version 0, client
    /// ID, element size, the five creation parameters, the six statistics, the index block
    /// address and the checksum.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let s = &self.stats;
        let mut w = Writer::new(sizes);
        w.bytes(&HEADER_SIGNATURE)
            .u8(0)
            .u8(self.client_id)
            .u8(self.element_size)
            .u8(self.max_nelmts_bits)
            .u8(self.idx_blk_elmts)
            .u8(self.data_blk_min_elmts)
            .u8(self.sup_blk_min_data_ptrs)
            .u8(self.max_dblk_page_nelmts_bits);
        for v in [
            s.nsuper_blks,
            s.super_blk_size,
            s.ndata_blks,
            s.data_blk_size,
            s.max_idx_set,
            s.nelmts,
        ] {
            w.length(v);
        }
        w.offset(self.index_block_addr).checksum_from(0);
        w.finish()
    }

    /// Bytes a data block of super block `sblk` occupies in the file, pages included: what
    /// libhdf5 allocates for it and adds to the "data block size" statistic.
    ///
    /// # Errors
    /// `Invalid` (naming the header) when `sblk` is out of range or the size overflows.
    pub fn data_block_total_size(&self, sizes: Sizes, sblk: usize) -> Result<u64> {
        let npages = self.geometry.dblk_npages(sblk);
        if npages == 0 {
            return self.data_block_size(sizes, sblk);
        }
        self.sblk_info(sblk)?;
        npages
            .checked_mul(self.page_size())
            .and_then(|p| p.checked_add(self.data_block_prefix_size(sizes)))
            .ok_or_else(|| self.overflow())
    }
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
    let mut w = Writer::new(sizes);
    sealed_elements(&mut w, 0, &hdr.format, elements);
    w.finish()
}

/// Creation parameters of an extensible array chunk index (the layout message's five
/// extensible array parameters plus the element format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayParams {
    /// Elements are filtered-chunk records (client 1) rather than bare addresses (client 0).
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements, 1–8 (see
    /// [`crate::fixed_array::filtered_chunk_size_len`]); ignored when not `filtered`.
    pub chunk_size_len: u8,
    /// Bits needed to store the maximum number of elements.
    pub max_nelmts_bits: u8,
    /// Elements stored in the index block.
    pub index_blk_elmts: u8,
    /// Minimum elements per data block (a power of two).
    pub data_blk_min_elmts: u8,
    /// Minimum data block pointers per super block (a power of two).
    pub sup_blk_min_data_ptrs: u8,
    /// log2 of the most elements in one data block page.
    pub max_dblk_page_nelmts_bits: u8,
}

impl ArrayParams {
    /// The parameters libhdf5 (1.10 to 2.0) uses for every extensible array chunk index,
    /// filtered or not (measured with 2.0.0 through h5py `libver="latest"`): 32 bits,
    /// 4 index block elements, 16 minimum data block elements, 4 minimum data block
    /// pointers, pages of 2^10 elements.
    pub fn default_for(filtered: bool, chunk_size_len: u8) -> Self {
        ArrayParams {
            filtered,
            chunk_size_len,
            max_nelmts_bits: 32,
            index_blk_elmts: 4,
            data_blk_min_elmts: 16,
            sup_blk_min_data_ptrs: 4,
            max_dblk_page_nelmts_bits: 10,
        }
    }
}

#[derive(Debug, Clone)]
struct IBlockState {
    addr: Addr,
    elements: Vec<ChunkElement>,
    dblk_addrs: Vec<Addr>,
    sblk_addrs: Vec<Addr>,
    dirty: bool,
}

#[derive(Debug, Clone)]
struct SBlockState {
    addr: Addr,
    block_offset: u64,
    page_init: Option<Vec<u8>>,
    dblk_addrs: Vec<Addr>,
    dirty: bool,
}

#[derive(Debug, Clone)]
struct DBlockState {
    addr: Addr,
    block_offset: u64,
    paged: bool,
    /// Unpaged: key 0 holds every element. Paged: one entry per initialised page.
    segments: BTreeMap<u64, Segment>,
    /// Paged: the prefix must be written (the block is new).
    prefix_dirty: bool,
}

/// An editable extensible array: the header, index block, super blocks, data blocks and
/// initialised pages of a (new or loaded) array, changed in memory and written back with
/// [`ArrayEdit::store`].
///
/// It creates blocks exactly when libhdf5 does, with the same contents and statistics, so
/// that libhdf5 can keep writing into it: setting element `i` creates the index block if
/// there is none, then (when `i` lies beyond the index block's own elements) the super
/// block holding it (for super blocks past the index block's data block pointers), the data
/// block holding it and, when that data block is paged, the page holding it (setting the
/// page's bit in the super block's bitmap). New blocks and pages hold the undefined element
/// ([`ChunkElement::undefined`]) wherever nothing was set. The header statistics count every
/// super block and data block created with their full sizes (pages included), the elements
/// they realise (index block elements included) and one more than the largest index ever
/// set. Nothing is freed while the array lives: shrinking a dataset clears elements
/// ([`ArrayEdit::truncate`]) as libhdf5 does, keeping blocks and statistics.
///
/// Parameters whose index-block data blocks would be paged (never the case for libhdf5's
/// chunk indexes, and not something libhdf5 itself handles) are refused.
#[derive(Debug, Clone)]
pub struct ArrayEdit {
    sizes: Sizes,
    /// The header as it will be written; `hdr.addr` is meaningful once `header_addr` is set.
    hdr: Header,
    header_addr: Option<u64>,
    header_dirty: bool,
    iblock: Option<IBlockState>,
    /// Keyed by super block index `u` (only `u >= iblock_nsblks`).
    sblocks: BTreeMap<usize, SBlockState>,
    /// Keyed by (super block index `u`, data block index within that super block).
    dblocks: BTreeMap<(usize, u64), DBlockState>,
}

/// Where an element is held: `block` = `None` for the index block's own elements (`index`
/// into them), else the data block key, the segment (page, or 0 when unpaged) and the index
/// within it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    block: Option<(usize, u64)>,
    seg: u64,
    index: usize,
}

/// Refuse geometries whose index-block data blocks are paged.
fn check_index_paging(hdr: &Header, at: u64) -> Result<()> {
    if (0..hdr.geometry.iblock_nsblks).any(|u| hdr.geometry.is_paged(u)) {
        return Err(Error::unsupported(
            EDIT_NAME,
            at,
            "paged data blocks addressed by the index block",
        ));
    }
    Ok(())
}

impl ArrayEdit {
    /// A new, empty array (no block allocated yet).
    ///
    /// # Errors
    /// `Invalid` for parameters with no valid geometry (see [`Geometry::new`]) or a
    /// chunk-size width other than 1–8 (filtered); `Unsupported` when the index block's data
    /// blocks would be paged.
    pub fn new(params: ArrayParams, sizes: Sizes) -> Result<Self> {
        let format =
            ElementFormat::for_params(sizes, params.filtered, params.chunk_size_len, EDIT_NAME, 0)?;
        let geometry = Geometry::new(
            params.max_nelmts_bits,
            params.data_blk_min_elmts,
            params.sup_blk_min_data_ptrs,
            params.max_dblk_page_nelmts_bits,
        )
        .map_err(|what| Error::invalid(EDIT_NAME, 0, what))?;
        let hdr = Header {
            addr: 0,
            client_id: format.client_id(),
            element_size: u8::try_from(format.size)
                .map_err(|_| Error::invalid(EDIT_NAME, 0, "element size"))?,
            max_nelmts_bits: params.max_nelmts_bits,
            idx_blk_elmts: params.index_blk_elmts,
            data_blk_min_elmts: params.data_blk_min_elmts,
            sup_blk_min_data_ptrs: params.sup_blk_min_data_ptrs,
            max_dblk_page_nelmts_bits: params.max_dblk_page_nelmts_bits,
            stats: Stats::default(),
            index_block_addr: None,
            format,
            geometry,
        };
        check_index_paging(&hdr, 0)?;
        Ok(ArrayEdit {
            sizes,
            hdr,
            header_addr: None,
            header_dirty: true,
            iblock: None,
            sblocks: BTreeMap::new(),
            dblocks: BTreeMap::new(),
        })
    }

    /// Load the array whose header is at `addr`: the header, the index block, every super
    /// block and data block it reaches and every initialised page. `read(address, length)`
    /// returns exactly `length` bytes at `address` (or fails); it is never asked for more
    /// than [`MAX_EDIT_BLOCK_BYTES`](crate::fixed_array::MAX_EDIT_BLOCK_BYTES) at once, and never twice for overlapping blocks.
    ///
    /// # Errors
    /// Whatever `read` returns; the decoders' errors; `Limit` for blocks larger than
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::fixed_array::MAX_EDIT_BLOCK_BYTES); `Invalid` when two blocks overlap; `Unsupported` when the
    /// index block's data blocks are paged.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let hsize = Header::size(sizes);
        let hdr = Header::decode(&read(addr, hsize)?, addr, sizes)?;
        check_index_paging(&hdr, addr)?;
        let mut extents = Extents::default();
        extents.insert(addr, hsize as u64, HEADER_NAME)?;
        let mut edit = ArrayEdit {
            sizes,
            hdr,
            header_addr: Some(addr),
            header_dirty: false,
            iblock: None,
            sblocks: BTreeMap::new(),
            dblocks: BTreeMap::new(),
        };
        let Some(iaddr) = edit.hdr.index_block_addr else {
            return Ok(edit);
        };
        let size = edit.hdr.index_block_size(sizes);
        extents.insert(iaddr, size, INDEX_BLOCK_NAME)?;
        let len = block_len(size, INDEX_BLOCK_NAME, iaddr)?;
        let ib = IndexBlock::decode(&read(iaddr, len)?, iaddr, sizes, &edit.hdr)?;
        for (slot, a) in ib.dblk_addrs.iter().enumerate() {
            if let Some(a) = *a {
                let (u, d) = edit.slot_block(slot)?;
                let db = edit.load_dblock(u, d, a, None, &mut extents, read)?;
                edit.dblocks.insert((u, d), db);
            }
        }
        for (k, a) in ib.sblk_addrs.iter().enumerate() {
            let Some(a) = *a else { continue };
            let u = edit.hdr.geometry.iblock_nsblks + k;
            let size = edit.hdr.super_block_size(sizes, u)?;
            extents.insert(a, size, SUPER_BLOCK_NAME)?;
            let len = block_len(size, SUPER_BLOCK_NAME, a)?;
            let sb = SuperBlock::decode(&read(a, len)?, a, sizes, &edit.hdr, u)?;
            for (d, da) in sb.dblk_addrs.iter().enumerate() {
                if let Some(da) = *da {
                    let d = d as u64;
                    let db = edit.load_dblock(u, d, da, Some(&sb), &mut extents, read)?;
                    edit.dblocks.insert((u, d), db);
                }
            }
            let state = SBlockState {
                addr: Some(a),
                block_offset: sb.block_offset,
                page_init: sb.page_init,
                dblk_addrs: sb.dblk_addrs,
                dirty: false,
            };
            edit.sblocks.insert(u, state);
        }
        edit.iblock = Some(IBlockState {
            addr: Some(iaddr),
            elements: ib.elements,
            dblk_addrs: ib.dblk_addrs,
            sblk_addrs: ib.sblk_addrs,
            dirty: false,
        });
        Ok(edit)
    }

    /// Read data block `d` of super block `u` at `a` (and its initialised pages, as the
    /// super block's bitmap says).
    fn load_dblock<E: From<Error>>(
        &self,
        u: usize,
        d: u64,
        a: u64,
        sblock: Option<&SuperBlock>,
        extents: &mut Extents,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<DBlockState, E> {
        let (sizes, hdr) = (self.sizes, &self.hdr);
        extents.insert(a, hdr.data_block_total_size(sizes, u)?, DATA_BLOCK_NAME)?;
        let len = block_len(hdr.data_block_size(sizes, u)?, DATA_BLOCK_NAME, a)?;
        let db = DataBlock::decode(&read(a, len)?, a, sizes, hdr, u)?;
        let mut segments = BTreeMap::new();
        let paged = db.npages > 0;
        if paged {
            // Only super blocks' data blocks are paged (checked at load), and their pages
            // are listed in the super block's bitmap.
            let bitmap = sblock.and_then(|s| s.page_init.as_deref()).unwrap_or(&[]);
            let first = d.saturating_mul(db.npages);
            for p in set_bits(bitmap, first, db.npages) {
                let at = hdr
                    .page_addr(a, sizes, u, p)
                    .ok_or_else(|| Error::invalid(DATA_BLOCK_NAME, a, "page address"))?;
                let len = block_len(hdr.page_size(), PAGE_NAME, at)?;
                let elements = decode_page(&read(at, len)?, at, sizes, hdr)?;
                segments.insert(
                    p,
                    Segment {
                        elements,
                        dirty: false,
                    },
                );
            }
        } else {
            segments.insert(
                0,
                Segment {
                    elements: db.elements,
                    dirty: false,
                },
            );
        }
        Ok(DBlockState {
            addr: Some(a),
            block_offset: db.block_offset,
            paged,
            segments,
            prefix_dirty: false,
        })
    }

    /// The super block `u` and data block index within it of index-block data block `slot`.
    fn slot_block(&self, slot: usize) -> Result<(usize, u64)> {
        let g = &self.hdr.geometry;
        let slot = slot as u64;
        g.sblks
            .iter()
            .take(g.iblock_nsblks)
            .enumerate()
            .find(|(_, s)| slot >= s.start_dblk && slot - s.start_dblk < s.ndblks)
            .map(|(u, s)| (u, slot - s.start_dblk))
            .ok_or_else(|| Error::invalid(EDIT_NAME, self.err_at(), "data block slot"))
    }

    /// The array's parameters.
    pub fn params(&self) -> ArrayParams {
        let h = &self.hdr;
        ArrayParams {
            filtered: h.filtered(),
            chunk_size_len: h.format.chunk_size_len as u8,
            max_nelmts_bits: h.max_nelmts_bits,
            index_blk_elmts: h.idx_blk_elmts,
            data_blk_min_elmts: h.data_blk_min_elmts,
            sup_blk_min_data_ptrs: h.sup_blk_min_data_ptrs,
            max_dblk_page_nelmts_bits: h.max_dblk_page_nelmts_bits,
        }
    }

    /// The header as the next [`ArrayEdit::store`] writes it (statistics included; its
    /// `addr` is meaningful once [`ArrayEdit::addr`] is `Some`).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// Address of the header: where it was loaded from or first stored; `None` before the
    /// first store of a new array.
    pub fn addr(&self) -> Option<u64> {
        self.header_addr
    }

    /// One more than the largest index ever set (the header's "max index set"); elements
    /// at and beyond it are undefined. [`ArrayEdit::truncate`] does not lower it (libhdf5
    /// does not either).
    pub fn len(&self) -> u64 {
        self.hdr.stats.max_idx_set
    }

    /// Whether no element was ever set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most elements the array can hold ([`Header::capacity`]).
    pub fn capacity(&self) -> u64 {
        self.hdr.capacity()
    }

    fn err_at(&self) -> u64 {
        self.header_addr.unwrap_or(0)
    }

    fn locate(&self, i: u64) -> Result<Location> {
        self.hdr.locate(i).ok_or_else(|| {
            Error::invalid(
                EDIT_NAME,
                self.err_at(),
                "element index (beyond the capacity)",
            )
        })
    }

    /// Where element `i` is held.
    fn slot_of(&self, i: u64) -> Result<Slot> {
        let g = &self.hdr.geometry;
        let (key, offset) = match self.locate(i)? {
            Location::InIndexBlock(k) => {
                return Ok(Slot {
                    block: None,
                    seg: 0,
                    index: k,
                })
            }
            Location::DataBlockInIndex { dblk, offset, sblk } => {
                let d = (dblk as u64).saturating_sub(g.sblks[sblk].start_dblk);
                ((sblk, d), offset)
            }
            Location::InSuperBlock {
                sblk, dblk, offset, ..
            } => ((sblk, dblk as u64), offset),
        };
        let (seg, index) = if g.is_paged(key.0) {
            let per = g.dblk_page_nelmts;
            (offset / per, offset % per)
        } else {
            (0, offset)
        };
        // Within one segment (at most MAX_EDIT_BLOCK_BYTES once materialised) the index
        // fits; a failed conversion just finds no element.
        Ok(Slot {
            block: Some(key),
            seg,
            index: usize::try_from(index).unwrap_or(usize::MAX),
        })
    }

    fn element_mut(&mut self, slot: &Slot) -> Option<(&mut ChunkElement, &mut bool)> {
        let Slot { block, seg, index } = *slot;
        match block {
            None => {
                let ib = self.iblock.as_mut()?;
                Some((ib.elements.get_mut(index)?, &mut ib.dirty))
            }
            Some(key) => {
                let s = self.dblocks.get_mut(&key)?.segments.get_mut(&seg)?;
                Some((s.elements.get_mut(index)?, &mut s.dirty))
            }
        }
    }

    /// Element `i` when it is allocated (has a defined address); `None` for undefined
    /// elements and beyond the capacity.
    pub fn get(&self, i: u64) -> Option<&ChunkElement> {
        let Slot { block, seg, index } = self.slot_of(i).ok()?;
        let e = match block {
            None => self.iblock.as_ref()?.elements.get(index)?,
            Some(key) => self
                .dblocks
                .get(&key)?
                .segments
                .get(&seg)?
                .elements
                .get(index)?,
        };
        e.is_allocated().then_some(e)
    }

    /// The array index of the first element of data block `d` of super block `u`.
    fn dblock_first(&self, u: usize, d: u64) -> u64 {
        let s = &self.hdr.geometry.sblks[u];
        u64::from(self.hdr.idx_blk_elmts)
            .saturating_add(s.start_idx)
            .saturating_add(d.saturating_mul(s.dblk_nelmts))
    }

    /// Every allocated element with its index, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &ChunkElement)> + '_ {
        let per = self.hdr.geometry.dblk_page_nelmts;
        let direct = self
            .iblock
            .iter()
            .flat_map(|ib| ib.elements.iter().enumerate())
            .map(|(k, e)| (k as u64, e));
        let blocks = self.dblocks.iter().flat_map(move |(&(u, d), db)| {
            let first = self.dblock_first(u, d);
            db.segments.iter().flat_map(move |(&p, seg)| {
                let start = first.saturating_add(p.saturating_mul(per));
                seg.elements
                    .iter()
                    .enumerate()
                    .map(move |(k, e)| (start.saturating_add(k as u64), e))
            })
        });
        direct.chain(blocks).filter(|(_, e)| e.is_allocated())
    }

    /// Set element `i` to `e`, creating the index block, super block, data block and page
    /// holding it as libhdf5 does, and raising [`ArrayEdit::len`] past `i`. An element with
    /// the undefined address is [`ArrayEdit::clear`].
    ///
    /// # Errors
    /// `Invalid` beyond [`ArrayEdit::capacity`] or when `e` does not fit the element format
    /// ([`ElementFormat::fits`]); `Limit` when a block to create exceeds
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::fixed_array::MAX_EDIT_BLOCK_BYTES).
    pub fn set(&mut self, i: u64, e: ChunkElement) -> Result<()> {
        let slot = self.slot_of(i)?;
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
        self.ensure_iblock()?;
        if let Some((u, d)) = slot.block {
            if u >= self.hdr.geometry.iblock_nsblks {
                self.ensure_sblock(u)?;
            }
            self.ensure_dblock(u, d)?;
            self.ensure_page(u, d, slot.seg)?;
        }
        let at = self.err_at();
        let (elem, dirty) = self
            .element_mut(&slot)
            .ok_or_else(|| Error::invalid(EDIT_NAME, at, "element index"))?;
        if *elem != e {
            *elem = e;
            *dirty = true;
        }
        if i >= self.hdr.stats.max_idx_set {
            self.hdr.stats.max_idx_set = i.saturating_add(1);
            self.header_dirty = true;
        }
        Ok(())
    }

    fn undefined(&self) -> ChunkElement {
        ChunkElement::undefined(self.hdr.filtered())
    }

    fn ensure_iblock(&mut self) -> Result<()> {
        if self.iblock.is_some() {
            return Ok(());
        }
        let at = self.err_at();
        let hdr = &self.hdr;
        block_len(hdr.index_block_size(self.sizes), INDEX_BLOCK_NAME, at)?;
        let n = u64::from(hdr.idx_blk_elmts);
        let elements = filled(self.undefined(), n, hdr.format.size, INDEX_BLOCK_NAME, at)?;
        self.iblock = Some(IBlockState {
            addr: None,
            elements,
            dblk_addrs: alloc::vec![None; hdr.geometry.ndblk_addrs],
            sblk_addrs: alloc::vec![None; hdr.geometry.nsblk_addrs],
            dirty: true,
        });
        let s = &mut self.hdr.stats;
        s.nelmts = s.nelmts.saturating_add(n);
        self.header_dirty = true;
        Ok(())
    }

    fn ensure_sblock(&mut self, u: usize) -> Result<()> {
        if self.sblocks.contains_key(&u) {
            return Ok(());
        }
        let (sizes, hdr, at) = (self.sizes, &self.hdr, self.err_at());
        let size = hdr.super_block_size(sizes, u)?;
        block_len(size, SUPER_BLOCK_NAME, at)?;
        let g = &hdr.geometry;
        let ndblks = g.sblks[u].ndblks;
        let page_init = (g.dblk_npages(u) > 0).then(|| {
            // Within the block size checked above.
            alloc::vec![0u8; (ndblks * g.dblk_page_init_size(u)) as usize]
        });
        let state = SBlockState {
            addr: None,
            block_offset: hdr.block_offset(u, 0).unwrap_or(0),
            page_init,
            dblk_addrs: alloc::vec![None; ndblks as usize],
            dirty: true,
        };
        self.sblocks.insert(u, state);
        let s = &mut self.hdr.stats;
        s.nsuper_blks = s.nsuper_blks.saturating_add(1);
        s.super_blk_size = s.super_blk_size.saturating_add(size);
        self.header_dirty = true;
        Ok(())
    }

    fn ensure_dblock(&mut self, u: usize, d: u64) -> Result<()> {
        if self.dblocks.contains_key(&(u, d)) {
            return Ok(());
        }
        let (sizes, hdr, at) = (self.sizes, &self.hdr, self.err_at());
        let total = hdr.data_block_total_size(sizes, u)?;
        block_len(hdr.data_block_size(sizes, u)?, DATA_BLOCK_NAME, at)?;
        let g = &hdr.geometry;
        let s = g.sblks[u];
        let paged = g.is_paged(u);
        // libhdf5 stores, for a data block the index block addresses, the block offset
        // computed from its index-block slot (see `Header::block_offset`).
        let n = if u < g.iblock_nsblks {
            s.start_dblk.saturating_add(d)
        } else {
            d
        };
        let block_offset = hdr.block_offset(u, n).unwrap_or(0);
        let mut segments = BTreeMap::new();
        if !paged {
            let elements = filled(
                self.undefined(),
                s.dblk_nelmts,
                hdr.format.size,
                DATA_BLOCK_NAME,
                at,
            )?;
            segments.insert(
                0,
                Segment {
                    elements,
                    dirty: true,
                },
            );
        }
        let state = DBlockState {
            addr: None,
            block_offset,
            paged,
            segments,
            prefix_dirty: true,
        };
        self.dblocks.insert((u, d), state);
        let st = &mut self.hdr.stats;
        st.ndata_blks = st.ndata_blks.saturating_add(1);
        st.data_blk_size = st.data_blk_size.saturating_add(total);
        st.nelmts = st.nelmts.saturating_add(s.dblk_nelmts);
        self.header_dirty = true;
        Ok(())
    }

    /// Create page `p` of paged data block `d` of super block `u` if it does not exist,
    /// setting its bit in the super block's bitmap.
    fn ensure_page(&mut self, u: usize, d: u64, p: u64) -> Result<()> {
        let at = self.err_at();
        let per = self.hdr.geometry.dblk_page_nelmts;
        let npages = self.hdr.geometry.dblk_npages(u);
        let undefined = self.undefined();
        let esize = self.hdr.format.size;
        let Some(db) = self.dblocks.get_mut(&(u, d)) else {
            return Ok(());
        };
        if !db.paged || db.segments.contains_key(&p) {
            return Ok(());
        }
        let elements = filled(undefined, per, esize, PAGE_NAME, at)?;
        db.segments.insert(
            p,
            Segment {
                elements,
                dirty: true,
            },
        );
        if let Some(sb) = self.sblocks.get_mut(&u) {
            if let Some(bitmap) = sb.page_init.as_mut() {
                set_page_bit(bitmap, d.saturating_mul(npages).saturating_add(p));
                sb.dirty = true;
            }
        }
        Ok(())
    }

    /// Make element `i` undefined (the chunk has no storage), as libhdf5 does when it
    /// removes a chunk. Nothing is created: clearing an element of a block or page that does
    /// not exist is a no-op, and [`ArrayEdit::len`] does not change.
    ///
    /// # Errors
    /// `Invalid` beyond [`ArrayEdit::capacity`].
    pub fn clear(&mut self, i: u64) -> Result<()> {
        let slot = self.slot_of(i)?;
        let undefined = self.undefined();
        if let Some((elem, dirty)) = self.element_mut(&slot) {
            if *elem != undefined {
                *elem = undefined;
                *dirty = true;
            }
        }
        Ok(())
    }

    /// Clear every element with index `len` or more (a dataset shrinking along its unlimited
    /// dimension). Blocks and statistics stay, as with libhdf5.
    pub fn truncate(&mut self, len: u64) {
        let undefined = self.undefined();
        let per = self.hdr.geometry.dblk_page_nelmts;
        let clear_from = |elements: &mut [ChunkElement], first: u64, dirty: &mut bool| {
            let skip = usize::try_from(len.saturating_sub(first)).unwrap_or(usize::MAX);
            for e in elements.iter_mut().skip(skip) {
                if *e != undefined {
                    *e = undefined;
                    *dirty = true;
                }
            }
        };
        if let Some(ib) = self.iblock.as_mut() {
            clear_from(&mut ib.elements, 0, &mut ib.dirty);
        }
        let firsts: Vec<((usize, u64), u64)> = self
            .dblocks
            .keys()
            .map(|&(u, d)| ((u, d), self.dblock_first(u, d)))
            .collect();
        for (key, first) in firsts {
            let Some(db) = self.dblocks.get_mut(&key) else {
                continue;
            };
            for (&p, seg) in db.segments.iter_mut() {
                let start = first.saturating_add(p.saturating_mul(per));
                clear_from(&mut seg.elements, start, &mut seg.dirty);
            }
        }
    }

    /// The file extents `(address, size)` of every stored block (data blocks with all their
    /// pages), for freeing the whole array; blocks not yet stored are left out.
    pub fn extents(&self) -> Vec<(u64, u64)> {
        let sizes = self.sizes;
        let mut out = Vec::new();
        if let Some(a) = self.header_addr {
            out.push((a, Header::size(sizes) as u64));
        }
        if let Some(a) = self.iblock.as_ref().and_then(|ib| ib.addr) {
            out.push((a, self.hdr.index_block_size(sizes)));
        }
        for (&u, sb) in &self.sblocks {
            if let (Some(a), Ok(size)) = (sb.addr, self.hdr.super_block_size(sizes, u)) {
                out.push((a, size));
            }
        }
        for (&(u, _), db) in &self.dblocks {
            if let (Some(a), Ok(size)) = (db.addr, self.hdr.data_block_total_size(sizes, u)) {
                out.push((a, size));
            }
        }
        out
    }

    /// Write back what changed. New blocks get addresses from `alloc(size)` in this order:
    /// the header (first store of a new array), the index block, then in array order each
    /// new data block of the index block, and each new super block followed by its new data
    /// blocks (a paged data block gets room for all its pages). Returns the header address
    /// and the writes in safe order: pages and data blocks, super blocks, the index block,
    /// the header (only what changed; after a store with no change in between, nothing).
    /// Nothing is freed.
    ///
    /// # Errors
    /// `Invalid` when an address from `alloc` does not fit Size of Offsets.
    pub fn store(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)> {
        let sizes = self.sizes;
        let hdr_addr = match self.header_addr {
            Some(a) => a,
            None => {
                let a = checked_alloc(alloc, Header::size(sizes) as u64, sizes, HEADER_NAME)?;
                self.header_addr = Some(a);
                self.hdr.addr = a;
                self.header_dirty = true;
                a
            }
        };
        self.allocate(alloc)?;
        let hdr = &self.hdr;
        let mut stored = Stored::default();
        for (&(u, _), db) in self.dblocks.iter_mut() {
            let Some(a) = db.addr else { continue };
            if db.paged {
                for (&p, seg) in db.segments.iter_mut().filter(|(_, s)| s.dirty) {
                    let at = hdr
                        .page_addr(a, sizes, u, p)
                        .ok_or_else(|| Error::invalid(DATA_BLOCK_NAME, a, "page address"))?;
                    stored
                        .writes
                        .push((at, encode_page(sizes, hdr, &seg.elements)));
                    seg.dirty = false;
                }
                if db.prefix_dirty {
                    let bytes = encode_data_block(sizes, hdr, db.block_offset, &[]);
                    stored.writes.push((a, bytes));
                }
            } else if let Some(seg) = db.segments.get_mut(&0).filter(|s| s.dirty) {
                let bytes = encode_data_block(sizes, hdr, db.block_offset, &seg.elements);
                stored.writes.push((a, bytes));
                seg.dirty = false;
            }
            db.prefix_dirty = false;
        }
        for sb in self.sblocks.values_mut().filter(|s| s.dirty) {
            let Some(a) = sb.addr else { continue };
            let bytes = encode_super_block(
                sizes,
                hdr,
                sb.block_offset,
                sb.page_init.as_deref(),
                &sb.dblk_addrs,
            );
            stored.writes.push((a, bytes));
            sb.dirty = false;
        }
        if let Some(ib) = self.iblock.as_mut().filter(|ib| ib.dirty) {
            if let Some(a) = ib.addr {
                let bytes =
                    encode_index_block(sizes, hdr, &ib.elements, &ib.dblk_addrs, &ib.sblk_addrs);
                stored.writes.push((a, bytes));
                ib.dirty = false;
            }
        }
        if self.header_dirty {
            stored.writes.push((hdr_addr, self.hdr.encode(sizes)));
            self.header_dirty = false;
        }
        Ok((hdr_addr, stored))
    }

    /// Give every new block an address (see [`ArrayEdit::store`] for the order) and record
    /// it in its parent, marking the parent dirty.
    fn allocate(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<()> {
        let sizes = self.sizes;
        let Some(ib) = self.iblock.as_mut() else {
            return Ok(());
        };
        let hdr = &mut self.hdr;
        if ib.addr.is_none() {
            let size = hdr.index_block_size(sizes);
            let a = checked_alloc(alloc, size, sizes, INDEX_BLOCK_NAME)?;
            ib.addr = Some(a);
            ib.dirty = true;
            hdr.index_block_addr = Some(a);
            self.header_dirty = true;
        }
        let g = &hdr.geometry;
        let mut current_sblk: Option<usize> = None;
        for (&(u, d), db) in self.dblocks.iter_mut() {
            if u >= g.iblock_nsblks && current_sblk != Some(u) {
                // Allocate the super blocks up to and including `u` first.
                allocate_sblocks(&mut self.sblocks, ib, hdr, ..=u, alloc, sizes)?;
                current_sblk = Some(u);
            }
            if db.addr.is_some() {
                continue;
            }
            let size = hdr.data_block_total_size(sizes, u)?;
            let a = checked_alloc(alloc, size, sizes, DATA_BLOCK_NAME)?;
            db.addr = Some(a);
            db.prefix_dirty = true;
            for seg in db.segments.values_mut() {
                seg.dirty = true;
            }
            let s = g.sblks[u];
            if u < g.iblock_nsblks {
                if let Some(slot) = usize::try_from(s.start_dblk.saturating_add(d))
                    .ok()
                    .and_then(|k| ib.dblk_addrs.get_mut(k))
                {
                    *slot = Some(a);
                    ib.dirty = true;
                }
            } else if let Some(sb) = self.sblocks.get_mut(&u) {
                if let Some(slot) = usize::try_from(d)
                    .ok()
                    .and_then(|k| sb.dblk_addrs.get_mut(k))
                {
                    *slot = Some(a);
                    sb.dirty = true;
                }
            }
        }
        // Super blocks with no data block.
        allocate_sblocks(&mut self.sblocks, ib, hdr, .., alloc, sizes)
    }
}

/// Allocate the new super blocks whose index lies in `range`, recording them in the index
/// block.
fn allocate_sblocks(
    sblocks: &mut BTreeMap<usize, SBlockState>,
    ib: &mut IBlockState,
    hdr: &Header,
    range: impl core::ops::RangeBounds<usize>,
    alloc: &mut dyn FnMut(u64) -> u64,
    sizes: Sizes,
) -> Result<()> {
    for (&u, sb) in sblocks.range_mut(range).filter(|(_, s)| s.addr.is_none()) {
        let size = hdr.super_block_size(sizes, u)?;
        let a = checked_alloc(alloc, size, sizes, SUPER_BLOCK_NAME)?;
        sb.addr = Some(a);
        sb.dirty = true;
        if let Some(slot) = u
            .checked_sub(hdr.geometry.iblock_nsblks)
            .and_then(|k| ib.sblk_addrs.get_mut(k))
        {
            *slot = Some(a);
            ib.dirty = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_array::test_util::{hex, put, put_addr, put_elem, seal, S44, S88};
    use alloc::vec;

    struct Params {
        client: u8,
        esize: u8,
        bits: u8,
        idx: u8,
        min_elmts: u8,
        min_ptrs: u8,
        page_bits: u8,
    }

    /// libhdf5's defaults for chunk indexes: 32 bits, 4 index block elements, 16 minimum
    /// data block elements, 4 minimum pointers, pages of 1024.
    const DEFAULTS: Params = Params {
        client: 0,
        esize: 8,
        bits: 32,
        idx: 4,
        min_elmts: 16,
        min_ptrs: 4,
        page_bits: 10,
    };

    fn header_bytes(sizes: Sizes, p: &Params, iblock: Addr) -> Vec<u8> {
        let mut b = b"EAHD".to_vec();
        b.extend_from_slice(&[
            0,
            p.client,
            p.esize,
            p.bits,
            p.idx,
            p.min_elmts,
            p.min_ptrs,
            p.page_bits,
        ]);
        for stat in 1..=6u64 {
            put(&mut b, stat * 10, sizes.length as usize);
        }
        put_addr(&mut b, sizes, iblock);
        seal(b)
    }

    fn block_prefix(sig: &[u8; 4], sizes: Sizes, client: u8, hdr_addr: u64) -> Vec<u8> {
        let mut b = sig.to_vec();
        b.extend_from_slice(&[0, client]);
        put_addr(&mut b, sizes, Some(hdr_addr));
        b
    }

    fn decode_defaults() -> Header {
        Header::decode(&header_bytes(S88, &DEFAULTS, Some(0x1000)), 0x800, S88).unwrap()
    }

    #[test]
    fn geometry_matches_libhdf5_defaults() {
        let g = Geometry::new(32, 16, 4, 10).unwrap();
        assert_eq!(g.nsblks(), 29);
        assert_eq!(g.iblock_nsblks, 4);
        assert_eq!(g.ndblk_addrs, 6);
        assert_eq!(g.nsblk_addrs, 25);
        assert_eq!(g.arr_off_size, 4);
        assert_eq!(g.dblk_page_nelmts, 1024);
        let first: Vec<(u64, u64, u64, u64)> = g.sblks[..6]
            .iter()
            .map(|s| (s.ndblks, s.dblk_nelmts, s.start_idx, s.start_dblk))
            .collect();
        assert_eq!(
            first,
            vec![
                (1, 16, 0, 0),
                (1, 32, 16, 1),
                (2, 32, 48, 2),
                (2, 64, 112, 4),
                (4, 64, 240, 6),
                (4, 128, 496, 10)
            ]
        );
        // The index block's data blocks are exactly those of its super blocks.
        let s3 = g.sblks[3];
        assert_eq!(s3.start_dblk + s3.ndblks, g.ndblk_addrs as u64);
        // start_idx(u) = (2^u - 1)·m and the whole array holds 2^bits - m elements.
        for (u, s) in g.sblks.iter().enumerate() {
            assert_eq!(s.start_idx, ((1u64 << u) - 1) * 16);
            assert_eq!(s.ndblks * s.dblk_nelmts, (1u64 << u) * 16);
        }
        assert_eq!(g.capacity(), (1u64 << 33) - 16);
        // Paging starts where data blocks exceed 1024 elements: u = 13 (2048 elements).
        assert!(!g.is_paged(12));
        assert!(g.is_paged(13));
        assert_eq!((g.dblk_npages(13), g.dblk_page_init_size(13)), (2, 1));
        assert_eq!((g.dblk_npages(28), g.dblk_page_init_size(28)), (256, 32));
        assert!(!g.is_paged(29));
        assert_eq!(g.dblk_npages(99), 0);
    }

    #[test]
    fn geometry_bounds() {
        let g = Geometry::new(63, 1, 2, 0).unwrap();
        assert_eq!(g.nsblks(), MAX_SUPER_BLOCKS);
        assert_eq!(g.capacity(), (1u64 << 63) + ((1u64 << 63) - 1));
        assert_eq!(g.arr_off_size, 8);
        assert_eq!(
            Geometry::new(64, 1, 2, 0).unwrap_err(),
            "maximum number of elements bits"
        );
        assert_eq!(
            Geometry::new(0, 1, 2, 0).unwrap_err(),
            "maximum number of elements bits"
        );
        assert_eq!(
            Geometry::new(3, 16, 2, 0).unwrap_err(),
            "maximum number of elements bits"
        );
        assert_eq!(Geometry::new(4, 16, 1, 0).unwrap().nsblks(), 1);
        assert!(Geometry::new(4, 16, 2, 0).is_err());
        assert_eq!(
            Geometry::new(8, 0, 2, 0).unwrap_err(),
            "data block minimum elements"
        );
        assert_eq!(
            Geometry::new(8, 12, 2, 0).unwrap_err(),
            "data block minimum elements"
        );
        assert!(Geometry::new(8, 1, 6, 0).is_err());
        assert!(Geometry::new(8, 1, 0, 0).is_err());
        // 128 pointers need 14 super blocks in the index block; 4 bits with m = 1 give 5.
        assert!(Geometry::new(4, 1, 128, 0).is_err());
        // A single pointer: no data blocks in the index block.
        let g = Geometry::new(8, 1, 1, 0).unwrap();
        assert_eq!((g.iblock_nsblks, g.ndblk_addrs, g.nsblk_addrs), (0, 0, 9));
        // Page bits of 64 or more: never paged.
        let g = Geometry::new(8, 1, 2, 64).unwrap();
        assert_eq!(g.dblk_page_nelmts, u64::MAX);
        assert!(!g.is_paged(8));
    }

    #[test]
    fn header_decoding_and_errors() {
        let hb = header_bytes(S88, &DEFAULTS, Some(0x1000));
        assert_eq!(hb.len(), Header::size(S88));
        let h = Header::decode(&hb, 0x800, S88).unwrap();
        assert_eq!(h.addr, 0x800);
        assert_eq!((h.client_id, h.element_size, h.max_nelmts_bits), (0, 8, 32));
        assert_eq!(
            (
                h.idx_blk_elmts,
                h.data_blk_min_elmts,
                h.sup_blk_min_data_ptrs
            ),
            (4, 16, 4)
        );
        assert_eq!(h.max_dblk_page_nelmts_bits, 10);
        assert_eq!(
            h.stats,
            Stats {
                nsuper_blks: 10,
                super_blk_size: 20,
                ndata_blks: 30,
                data_blk_size: 40,
                max_idx_set: 50,
                nelmts: 60
            }
        );
        assert_eq!(h.index_block_addr, Some(0x1000));
        assert!(!h.filtered());
        assert_eq!(h.geometry, Geometry::new(32, 16, 4, 10).unwrap());
        assert_eq!(h.capacity(), 4 + (1u64 << 33) - 16);

        for n in 0..hb.len() {
            assert_eq!(
                Header::decode(&hb[..n], 0x800, S88).unwrap_err().kind,
                ErrorKind::Truncated
            );
        }
        let mut bad = hb.clone();
        bad[0] = b'F';
        assert_eq!(
            Header::decode(&bad, 0x800, S88).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        let mut bad = hb.clone();
        bad[20] ^= 4;
        let e = Header::decode(&bad, 0x800, S88).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x800 + hb.len() as u64 - 4);
        let mut bad = hb[..hb.len() - 4].to_vec();
        bad[4] = 2;
        assert_eq!(
            Header::decode(&seal(bad), 0x800, S88).unwrap_err().kind,
            ErrorKind::BadVersion(2)
        );

        let p = Params {
            min_elmts: 24,
            ..DEFAULTS
        };
        let e = Header::decode(&header_bytes(S88, &p, None), 0x800, S88).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid("data block minimum elements"), 0x805)
        );
        let p = Params {
            esize: 4,
            ..DEFAULTS
        };
        assert!(matches!(
            Header::decode(&header_bytes(S88, &p, None), 0, S88)
                .unwrap_err()
                .kind,
            ErrorKind::Invalid(_)
        ));
        let p = Params {
            client: 3,
            ..DEFAULTS
        };
        let e = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));

        // Small sizes: 4-byte offsets and lengths, filtered elements with 2-byte sizes.
        let p = Params {
            client: 1,
            esize: 10,
            ..DEFAULTS
        };
        let hb = header_bytes(S44, &p, None);
        assert_eq!(hb.len(), Header::size(S44));
        let h = Header::decode(&hb, 0, S44).unwrap();
        assert!(h.filtered());
        assert_eq!(h.format.chunk_size_len, 2);
        assert_eq!(h.index_block_addr, None);
    }

    #[test]
    fn block_sizes() {
        let h = decode_defaults();
        // 4+1+1+8 + 4·8 elements + (6+25)·8 addresses + 4.
        assert_eq!(h.index_block_size(S88), 14 + 32 + 248 + 4);
        // Prefix: 14 + 4 (block offset) + 4.
        assert_eq!(h.data_block_prefix_size(S88), 22);
        assert_eq!(h.data_block_size(S88, 0).unwrap(), 22 + 16 * 8);
        assert_eq!(h.data_block_size(S88, 12).unwrap(), 22 + 1024 * 8);
        assert_eq!(h.data_block_size(S88, 13).unwrap(), 22);
        assert_eq!(h.super_block_size(S88, 4).unwrap(), 22 + 4 * 8);
        // u = 13: 64 data blocks of 2 pages → 1 bitmap byte each.
        assert_eq!(h.super_block_size(S88, 13).unwrap(), 22 + 64 + 64 * 8);
        assert!(matches!(
            h.super_block_size(S88, 29).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert!(matches!(
            h.data_block_size(S88, 29).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        assert_eq!(h.page_size(), 1024 * 8 + 4);
        assert_eq!(h.page_addr(0x10000, S88, 13, 0), Some(0x10000 + 22));
        assert_eq!(h.page_addr(0x10000, S88, 13, 1), Some(0x10000 + 22 + 8196));
        assert_eq!(h.page_addr(0x10000, S88, 13, 2), None);
        assert_eq!(h.page_addr(0x10000, S88, 12, 0), None);
        assert_eq!(h.page_addr(u64::MAX - 30, S88, 13, 1), None);
        assert_eq!(h.page_of(13, 1500), Some((1, 476)));
        assert_eq!(h.page_of(12, 5), None);
        assert_eq!(h.block_offset(4, 0), Some(240));
        assert_eq!(h.block_offset(4, 3), Some(240 + 3 * 64));
        assert_eq!(h.block_offset(40, 0), None);
        // What libhdf5 stores in the data block of index-block slot 1 (super block 1).
        assert_eq!(h.block_offset(1, 1), Some(48));
    }

    #[test]
    fn locate_arithmetic() {
        let h = decode_defaults();
        assert_eq!(h.locate(0), Some(Location::InIndexBlock(0)));
        assert_eq!(h.locate(3), Some(Location::InIndexBlock(3)));
        // j = 0..16: super block 0, data block 0.
        assert_eq!(
            h.locate(4),
            Some(Location::DataBlockInIndex {
                dblk: 0,
                offset: 0,
                sblk: 0
            })
        );
        assert_eq!(
            h.locate(19),
            Some(Location::DataBlockInIndex {
                dblk: 0,
                offset: 15,
                sblk: 0
            })
        );
        // j = 16..48: super block 1 (one block of 32).
        assert_eq!(
            h.locate(20),
            Some(Location::DataBlockInIndex {
                dblk: 1,
                offset: 0,
                sblk: 1
            })
        );
        // j = 48..112: super block 2, two blocks of 32.
        assert_eq!(
            h.locate(4 + 48 + 33),
            Some(Location::DataBlockInIndex {
                dblk: 3,
                offset: 1,
                sblk: 2
            })
        );
        // j = 112..240: super block 3, two blocks of 64 (index data blocks 4 and 5).
        assert_eq!(
            h.locate(4 + 239),
            Some(Location::DataBlockInIndex {
                dblk: 5,
                offset: 63,
                sblk: 3
            })
        );
        // j = 240: first stored super block (u = 4, slot 0), four blocks of 64.
        assert_eq!(
            h.locate(4 + 240),
            Some(Location::InSuperBlock {
                sblk_slot: 0,
                sblk: 4,
                dblk: 0,
                offset: 0
            })
        );
        assert_eq!(
            h.locate(4 + 240 + 3 * 64 + 5),
            Some(Location::InSuperBlock {
                sblk_slot: 0,
                sblk: 4,
                dblk: 3,
                offset: 5
            })
        );
        assert_eq!(
            h.locate(4 + 496),
            Some(Location::InSuperBlock {
                sblk_slot: 1,
                sblk: 5,
                dblk: 0,
                offset: 0
            })
        );
        // Last element and one past the end.
        let last = h.capacity() - 1;
        assert_eq!(
            h.locate(last),
            Some(Location::InSuperBlock {
                sblk_slot: 24,
                sblk: 28,
                dblk: 16383,
                offset: (1 << 18) - 1
            })
        );
        assert_eq!(h.locate(last + 1), None);
        assert_eq!(h.locate(u64::MAX), None);

        // Brute force: every element maps to a distinct slot consistent with block sizes.
        let g = &h.geometry;
        let mut expect_j = 0u64;
        for u in 0..8 {
            let s = g.sblks[u];
            for d in 0..s.ndblks {
                for k in 0..s.dblk_nelmts {
                    let got = h.locate(4 + expect_j).unwrap();
                    let want = if u < g.iblock_nsblks {
                        Location::DataBlockInIndex {
                            dblk: (s.start_dblk + d) as usize,
                            offset: k,
                            sblk: u,
                        }
                    } else {
                        Location::InSuperBlock {
                            sblk_slot: u - 4,
                            sblk: u,
                            dblk: d as usize,
                            offset: k,
                        }
                    };
                    assert_eq!(got, want, "element {}", 4 + expect_j);
                    expect_j += 1;
                }
            }
        }

        // m = 1 and 63 bits: the largest index does not overflow.
        let p = Params {
            bits: 63,
            min_elmts: 1,
            min_ptrs: 2,
            idx: 0,
            ..DEFAULTS
        };
        let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
        assert!(matches!(
            h.locate(u64::MAX - 1),
            Some(Location::InSuperBlock { sblk: 63, .. })
        ));
        assert_eq!(h.locate(u64::MAX), None);
    }

    #[test]
    fn hand_built_headers_do_not_panic() {
        let mut h = decode_defaults();
        // Iterators stay exhausted.
        let mut it = h.blocks(30);
        assert_eq!(it.by_ref().count(), 3);
        assert_eq!((it.next(), it.next()), (None, None));
        // Inconsistent geometry: zero-sized pages, no super blocks, absurd counts.
        h.geometry.dblk_page_nelmts = 0;
        assert_eq!(h.geometry.dblk_npages(13), 0);
        h.geometry.iblock_nsblks = 100;
        h.geometry.ndblk_addrs = usize::MAX;
        h.geometry.nsblk_addrs = usize::MAX;
        assert_eq!(h.index_block_size(S88), u64::MAX);
        let _ = h.blocks(u64::MAX).take(100).count();
        h.geometry.sblks.clear();
        assert_eq!(h.locate(10), None);
        assert_eq!(h.geometry.capacity(), 0);
        assert_eq!(h.blocks(u64::MAX).take(100).count(), 1);
        assert!(h.super_block_size(S88, 0).is_err());
        assert!(h.data_block_size(S88, 0).is_err());
        assert_eq!(h.page_addr(0, S88, 0, 0), None);
        assert_eq!(h.block_offset(0, 0), None);
    }

    #[test]
    fn blocks_listing() {
        let h = decode_defaults();
        assert_eq!(h.blocks(0).count(), 0);
        assert_eq!(
            h.blocks(3).collect::<Vec<_>>(),
            vec![Block::IndexBlockElements { count: 3 }]
        );
        assert_eq!(
            h.blocks(21).collect::<Vec<_>>(),
            vec![
                Block::IndexBlockElements { count: 4 },
                Block::IndexDataBlock {
                    slot: 0,
                    sblk: 0,
                    first: 4,
                    nelmts: 16
                },
                Block::IndexDataBlock {
                    slot: 1,
                    sblk: 1,
                    first: 20,
                    nelmts: 32
                },
            ]
        );
        let all: Vec<Block> = h.blocks(4 + 496 + 1).collect();
        assert_eq!(all.len(), 1 + 6 + 2);
        assert_eq!(
            all[3],
            Block::IndexDataBlock {
                slot: 2,
                sblk: 2,
                first: 52,
                nelmts: 32
            }
        );
        assert_eq!(
            all[6],
            Block::IndexDataBlock {
                slot: 5,
                sblk: 3,
                first: 4 + 176,
                nelmts: 64
            }
        );
        assert_eq!(
            all[7],
            Block::SuperBlock {
                slot: 0,
                sblk: 4,
                first: 244,
                ndblks: 4,
                dblk_nelmts: 64
            }
        );
        assert_eq!(
            all[8],
            Block::SuperBlock {
                slot: 1,
                sblk: 5,
                first: 500,
                ndblks: 1,
                dblk_nelmts: 128
            }
        );
        // Partial super block: 244 + 65 elements touch 2 of its 4 data blocks.
        assert_eq!(
            h.blocks(244 + 65).last(),
            Some(Block::SuperBlock {
                slot: 0,
                sblk: 4,
                first: 244,
                ndblks: 2,
                dblk_nelmts: 64
            })
        );
        // Everything: 1 + 6 + 25 items, and the listing agrees with `locate`.
        let all: Vec<Block> = h.blocks(u64::MAX).collect();
        assert_eq!(all.len(), 32);
        for b in &all {
            match *b {
                Block::IndexBlockElements { count } => assert_eq!(count, 4),
                Block::IndexDataBlock {
                    slot,
                    sblk,
                    first,
                    nelmts,
                } => {
                    assert_eq!(
                        h.locate(first),
                        Some(Location::DataBlockInIndex {
                            dblk: slot,
                            offset: 0,
                            sblk
                        })
                    );
                    assert!(
                        matches!(h.locate(first + nelmts - 1), Some(Location::DataBlockInIndex { dblk, .. }) if dblk == slot)
                    );
                }
                Block::SuperBlock {
                    slot,
                    sblk,
                    first,
                    ndblks,
                    dblk_nelmts,
                } => {
                    assert_eq!(ndblks, h.geometry.sblks[sblk].ndblks);
                    let want = Location::InSuperBlock {
                        sblk_slot: slot,
                        sblk,
                        dblk: (ndblks - 1) as usize,
                        offset: 0,
                    };
                    assert_eq!(h.locate(first + (ndblks - 1) * dblk_nelmts), Some(want));
                }
            }
        }
        // No index-block elements: the listing starts with the first data block.
        let p = Params { idx: 0, ..DEFAULTS };
        let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
        assert_eq!(
            h.blocks(1).collect::<Vec<_>>(),
            vec![Block::IndexDataBlock {
                slot: 0,
                sblk: 0,
                first: 0,
                nelmts: 16
            }]
        );
    }

    /// A small filtered array: 4-byte addresses, 2 index elements, m = 2, 2 pointers, pages
    /// of 4 elements, 6 bits (64 elements): nsblks = 6, iblock_nsblks = 2, 2 index data
    /// blocks, 4 super blocks; data blocks of super blocks 3.. (8 elements) are paged.
    fn small() -> (Header, Params) {
        let p = Params {
            client: 1,
            esize: 4 + 3 + 4,
            bits: 6,
            idx: 2,
            min_elmts: 2,
            min_ptrs: 2,
            page_bits: 2,
        };
        let h = Header::decode(&header_bytes(S44, &p, Some(0x100)), 0x40, S44).unwrap();
        (h, p)
    }

    fn felem(i: u64) -> ChunkElement {
        ChunkElement {
            addr: Some(0x1_0000 + i),
            size: Some(i * 3),
            filter_mask: (i % 2) as u32,
        }
    }

    #[test]
    fn small_geometry() {
        let (h, _) = small();
        let g = &h.geometry;
        assert_eq!(
            (g.nsblks(), g.iblock_nsblks, g.ndblk_addrs, g.nsblk_addrs),
            (6, 2, 2, 4)
        );
        assert_eq!(g.arr_off_size, 1);
        let dims: Vec<(u64, u64)> = g.sblks.iter().map(|s| (s.ndblks, s.dblk_nelmts)).collect();
        assert_eq!(dims, vec![(1, 2), (1, 4), (2, 4), (2, 8), (4, 8), (4, 16)]);
        assert_eq!(
            (
                g.is_paged(2),
                g.is_paged(3),
                g.dblk_npages(3),
                g.dblk_npages(5)
            ),
            (false, true, 2, 4)
        );
        assert_eq!(h.capacity(), 2 + 126);
        let starts: Vec<u64> = g.sblks.iter().map(|s| s.start_idx).collect();
        assert_eq!(starts, vec![0, 2, 6, 14, 30, 62]);
    }

    #[test]
    fn index_block_round_trip() {
        let (h, _) = small();
        let mut b = block_prefix(&INDEX_BLOCK_SIGNATURE, S44, 1, 0x40);
        put_elem(&mut b, S44, &felem(0), 3);
        put_elem(
            &mut b,
            S44,
            &ChunkElement {
                addr: None,
                size: Some(0),
                filter_mask: 0,
            },
            3,
        );
        put_addr(&mut b, S44, Some(0x200));
        put_addr(&mut b, S44, None);
        for a in [Some(0x300), None, None, Some(0x400)] {
            put_addr(&mut b, S44, a);
        }
        let b = seal(b);
        assert_eq!(b.len() as u64, h.index_block_size(S44));
        let ib = IndexBlock::decode(&b, 0x100, S44, &h).unwrap();
        assert_eq!(
            ib.elements,
            vec![
                felem(0),
                ChunkElement {
                    addr: None,
                    size: Some(0),
                    filter_mask: 0
                }
            ]
        );
        assert_eq!(ib.dblk_addrs, vec![Some(0x200), None]);
        assert_eq!(ib.sblk_addrs, vec![Some(0x300), None, None, Some(0x400)]);

        for n in 0..b.len() {
            assert_eq!(
                IndexBlock::decode(&b[..n], 0x100, S44, &h)
                    .unwrap_err()
                    .kind,
                ErrorKind::Truncated
            );
        }
        let mut bad = b.clone();
        bad[2] = b'X';
        assert_eq!(
            IndexBlock::decode(&bad, 0x100, S44, &h).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        let mut bad = b.clone();
        bad[12] ^= 1;
        assert!(matches!(
            IndexBlock::decode(&bad, 0x100, S44, &h).unwrap_err().kind,
            ErrorKind::BadChecksum { .. }
        ));
        let other = Header {
            addr: 0x44,
            ..h.clone()
        };
        let e = IndexBlock::decode(&b, 0x100, S44, &other).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid("header address"), 0x106)
        );
        let other = Header {
            client_id: 0,
            ..h.clone()
        };
        let e = IndexBlock::decode(&b, 0x100, S44, &other).unwrap_err();
        assert_eq!(e.offset, 0x105);
        let mut bad = b[..b.len() - 4].to_vec();
        bad[4] = 1;
        assert_eq!(
            IndexBlock::decode(&seal(bad), 0x100, S44, &h)
                .unwrap_err()
                .kind,
            ErrorKind::BadVersion(1)
        );
    }

    #[test]
    fn super_block_with_page_bitmap() {
        let (h, _) = small();
        // Super block u = 3 (slot 1): 2 data blocks of 8 elements = 2 pages each.
        let u = 3;
        assert_eq!(
            h.super_block_size(S44, u).unwrap(),
            4 + 2 + 4 + 1 + 2 + 2 * 4 + 4
        );
        let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S44, 1, 0x40);
        put(&mut b, h.block_offset(u, 0).unwrap(), 1);
        // Bits dblk·2 + page, MSB first: dblk 0 page 1 (bit 1) and dblk 1 page 0 (bit 2).
        b.extend_from_slice(&[0b0110_0000, 0]);
        put_addr(&mut b, S44, Some(0x500));
        put_addr(&mut b, S44, None);
        let b = seal(b);
        assert_eq!(b.len() as u64, h.super_block_size(S44, u).unwrap());
        let sb = SuperBlock::decode(&b, 0x300, S44, &h, u).unwrap();
        assert_eq!(sb.sblk, 3);
        assert_eq!(sb.block_offset, 14);
        assert_eq!(sb.dblk_npages, 2);
        assert_eq!(sb.page_init.as_deref(), Some(&[0b0110_0000u8, 0][..]));
        assert_eq!(sb.dblk_addrs, vec![Some(0x500), None]);
        let bits: Vec<bool> = (0..2)
            .flat_map(|d| (0..2).map(move |p| (d, p)))
            .map(|(d, p)| sb.page_initialised(d, p))
            .collect();
        assert_eq!(bits, vec![false, true, true, false]);
        assert!(!sb.page_initialised(0, 2));
        assert!(!sb.page_initialised(u64::MAX, 1));

        for n in 0..b.len() {
            assert_eq!(
                SuperBlock::decode(&b[..n], 0x300, S44, &h, u)
                    .unwrap_err()
                    .kind,
                ErrorKind::Truncated
            );
        }
        let mut bad = b.clone();
        bad[11] ^= 0x10;
        assert!(matches!(
            SuperBlock::decode(&bad, 0x300, S44, &h, u)
                .unwrap_err()
                .kind,
            ErrorKind::BadChecksum { .. }
        ));
        let mut bad = b.clone();
        bad[0] = b'F';
        assert_eq!(
            SuperBlock::decode(&bad, 0x300, S44, &h, u)
                .unwrap_err()
                .kind,
            ErrorKind::BadSignature
        );
        assert!(matches!(
            SuperBlock::decode(&b, 0x300, S44, &h, 6).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
        // Decoded as a super block of another size it no longer fits its checksum.
        assert!(SuperBlock::decode(&b, 0x300, S44, &h, 2).is_err());

        // An unpaged super block (u = 2): no bitmap, every page "initialised".
        let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S44, 1, 0x40);
        put(&mut b, 6, 1);
        put_addr(&mut b, S44, Some(0x600));
        put_addr(&mut b, S44, Some(0x700));
        let b = seal(b);
        assert_eq!(b.len() as u64, h.super_block_size(S44, 2).unwrap());
        let sb = SuperBlock::decode(&b, 0x300, S44, &h, 2).unwrap();
        assert_eq!(
            (sb.page_init.clone(), sb.dblk_npages, sb.block_offset),
            (None, 0, 6)
        );
        assert_eq!(sb.dblk_addrs, vec![Some(0x600), Some(0x700)]);
        assert!(sb.page_initialised(1, 0));
    }

    #[test]
    fn data_blocks_and_pages() {
        let (h, _) = small();
        // Unpaged data block of super block 2 (4 elements), second block: offset 2 + 4 = 6... 10.
        let u = 2;
        let mut b = block_prefix(&DATA_BLOCK_SIGNATURE, S44, 1, 0x40);
        put(&mut b, h.block_offset(u, 1).unwrap(), 1);
        for i in 0..4 {
            put_elem(&mut b, S44, &felem(i), 3);
        }
        let b = seal(b);
        assert_eq!(b.len() as u64, h.data_block_size(S44, u).unwrap());
        let db = DataBlock::decode(&b, 0x600, S44, &h, u).unwrap();
        assert_eq!(db.block_offset, 10);
        assert_eq!(db.npages, 0);
        assert_eq!(db.elements, (0..4).map(felem).collect::<Vec<_>>());
        for n in 0..b.len() {
            assert_eq!(
                DataBlock::decode(&b[..n], 0x600, S44, &h, u)
                    .unwrap_err()
                    .kind,
                ErrorKind::Truncated
            );
        }
        let mut bad = b.clone();
        bad[20] ^= 2;
        let e = DataBlock::decode(&bad, 0x600, S44, &h, u).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x600 + b.len() as u64 - 4);
        let mut bad = b.clone();
        bad[3] = b'C';
        assert_eq!(
            DataBlock::decode(&bad, 0x600, S44, &h, u).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        assert!(matches!(
            DataBlock::decode(&b, 0x600, S44, &h, 9).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));

        // Paged data block of super block 5 (16 elements = 4 pages of 4): prefix, then pages.
        let u = 5;
        let mut image = block_prefix(&DATA_BLOCK_SIGNATURE, S44, 1, 0x40);
        put(&mut image, h.block_offset(u, 2).unwrap(), 1);
        assert_eq!(h.block_offset(u, 2), Some(94));
        let mut image = seal(image);
        assert_eq!(image.len() as u64, h.data_block_size(S44, u).unwrap());
        assert_eq!(image.len() as u64, h.data_block_prefix_size(S44));
        let db = DataBlock::decode(&image, 0x2000, S44, &h, u).unwrap();
        assert_eq!((db.block_offset, db.npages, db.elements.len()), (94, 4, 0));
        for p in 0..4u64 {
            assert_eq!(
                h.page_addr(0x2000, S44, u, p),
                Some(0x2000 + image.len() as u64)
            );
            let mut page = Vec::new();
            for k in 0..4 {
                put_elem(&mut page, S44, &felem(p * 4 + k), 3);
            }
            let page = seal(page);
            assert_eq!(page.len() as u64, h.page_size());
            image.extend_from_slice(&page);
        }
        for p in 0..4u64 {
            let at = h.page_addr(0x2000, S44, u, p).unwrap();
            let off = (at - 0x2000) as usize;
            let elems =
                decode_page(&image[off..off + h.page_size() as usize], at, S44, &h).unwrap();
            assert_eq!(elems, (p * 4..p * 4 + 4).map(felem).collect::<Vec<_>>());
        }
        let at = h.page_addr(0x2000, S44, u, 3).unwrap();
        let off = (at - 0x2000) as usize;
        assert_eq!(
            decode_page(&image[off..off + 20], at, S44, &h)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
        let mut bad = image[off..].to_vec();
        bad[5] ^= 1;
        let e = decode_page(&bad, at, S44, &h).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, at + 44);
    }

    /// Blocks written by libhdf5 2.0.0 (h5py, `libver="latest"`): a 1-D dataset of 140000
    /// one-element chunks (default parameters) with a few chunks written, among them 131060,
    /// 136060 and 139999, which live in paged data blocks 0, 2 and 4 of super block 13.
    #[test]
    fn libhdf5_written_blocks() {
        let hb = hex(
            "45414844000008200410040a 0400000000000000 5803000000000000 0b00000000000000
             8ad5000000000000 e022020000000000 941a000000000000 0702000000000000 7b6f2613",
        );
        let h = Header::decode(&hb, 447, S88).unwrap();
        assert_eq!(h.geometry, Geometry::new(32, 16, 4, 10).unwrap());
        assert_eq!(h.stats.max_idx_set, 140000);
        assert_eq!(h.index_block_addr, Some(519));

        let ib = hex(
            "454149420000bf01000000000000 0408000000000000 ffffffffffffffff ffffffffffffffff
             0808000000000000 3103000000000000 c703000000000000 ffffffffffffffff
             dd04000000000000 ffffffffffffffff 0010000000000000 f305000000000000
             2906000000000000 ffffffffffffffff ffffffffffffffff 5f06000000000000
             ffffffffffffffff ffffffffffffffff ffffffffffffffff ffffffffffffffff
             6e22000000000000",
        );
        let mut ib = ib;
        ib.extend(core::iter::repeat_n(0xff, 15 * 8));
        ib.extend(hex("0de97a01"));
        assert_eq!(ib.len() as u64, h.index_block_size(S88));
        let iblock = IndexBlock::decode(&ib, 519, S88, &h).unwrap();
        let addrs: Vec<Addr> = iblock.elements.iter().map(|e| e.addr).collect();
        assert_eq!(addrs, vec![Some(0x804), None, None, Some(0x808)]);
        assert_eq!(
            iblock.dblk_addrs,
            vec![
                Some(0x331),
                Some(0x3c7),
                None,
                Some(0x4dd),
                None,
                Some(0x1000)
            ]
        );
        assert_eq!(iblock.sblk_addrs[9], Some(0x226e));

        let mut sb = hex("454153420000bf01000000000000 f0ff0100 8880");
        sb.extend(core::iter::repeat_n(0, 62));
        sb.extend(hex(
            "c424000000000000 ffffffffffffffff e264000000000000 ffffffffffffffff 00a5000000000000",
        ));
        sb.extend(core::iter::repeat_n(0xff, 59 * 8));
        sb.extend(hex("0cc88da4"));
        assert_eq!(sb.len() as u64, h.super_block_size(S88, 13).unwrap());
        let sblock = SuperBlock::decode(&sb, 0x226e, S88, &h, 13).unwrap();
        assert_eq!(Some(sblock.block_offset), h.block_offset(13, 0));
        assert_eq!(sblock.block_offset, 131056);
        assert_eq!(sblock.dblk_npages, 2);
        assert_eq!(
            &sblock.dblk_addrs[..5],
            &[Some(0x24c4), None, Some(0x64e2), None, Some(0xa500)]
        );

        // Element 136060: data block 2 of super block 13, page 0 — bit 2·2 + 0 = 4 (0x08 of
        // byte 0); element 139999: data block 4, page 0 — bit 8 (0x80 of byte 1).
        let loc = h.locate(136060).unwrap();
        assert_eq!(
            loc,
            Location::InSuperBlock {
                sblk_slot: 9,
                sblk: 13,
                dblk: 2,
                offset: 904
            }
        );
        assert_eq!(h.page_of(13, 904), Some((0, 904)));
        assert!(sblock.page_initialised(2, 0));
        assert!(!sblock.page_initialised(2, 1));
        assert!(sblock.page_initialised(0, 0));
        assert!(sblock.page_initialised(4, 0));
        let set: Vec<(u64, u64)> = (0..64)
            .flat_map(|d| (0..2).map(move |p| (d, p)))
            .filter(|&(d, p)| sblock.page_initialised(d, p))
            .collect();
        assert_eq!(set, vec![(0, 0), (2, 0), (4, 0)]);
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        // 63 bits, m = 1, pages of 1: super block 63 has 2^31 data blocks with 2^32 pages
        // each, a 2^60-byte bitmap; the decoders report truncation, not allocation.
        let p = Params {
            bits: 63,
            min_elmts: 1,
            min_ptrs: 2,
            page_bits: 0,
            idx: 255,
            ..DEFAULTS
        };
        let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
        assert_eq!(h.geometry.nsblks(), 64);
        assert_eq!(
            h.super_block_size(S88, 63).unwrap(),
            26 + (1 << 60) + (1 << 34)
        );
        let mut b = block_prefix(&SUPER_BLOCK_SIGNATURE, S88, 0, 0);
        put(&mut b, 0, 8);
        let b = seal(b);
        assert_eq!(
            SuperBlock::decode(&b, 0, S88, &h, 63).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            SuperBlock::decode(&b, 0, S88, &h, 40).unwrap_err().kind,
            ErrorKind::Truncated
        );
        // Unpaged huge data block (pages of 2^63): truncated.
        let p = Params { page_bits: 63, ..p };
        let h = Header::decode(&header_bytes(S88, &p, None), 0, S88).unwrap();
        let mut b = block_prefix(&DATA_BLOCK_SIGNATURE, S88, 0, 0);
        put(&mut b, 0, 8);
        let b = seal(b);
        assert_eq!(
            DataBlock::decode(&b, 0, S88, &h, 62).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            decode_page(&b, 0, S88, &h).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert!(h.data_block_size(S88, 63).is_ok());
        // An index block with 255 elements and too few bytes.
        let ib = seal(block_prefix(&INDEX_BLOCK_SIGNATURE, S88, 0, 0));
        assert_eq!(
            IndexBlock::decode(&ib, 0, S88, &h).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn element_lookup_end_to_end() {
        // Walk `locate` → block → element on the small array for a few indices.
        let (h, _) = small();
        assert_eq!(h.locate(1), Some(Location::InIndexBlock(1)));
        assert_eq!(
            h.locate(2),
            Some(Location::DataBlockInIndex {
                dblk: 0,
                offset: 0,
                sblk: 0
            })
        );
        assert_eq!(
            h.locate(2 + 2 + 3),
            Some(Location::DataBlockInIndex {
                dblk: 1,
                offset: 3,
                sblk: 1
            })
        );
        // j = 6..14: super block 2 (slot 0), 2 blocks of 4.
        assert_eq!(
            h.locate(2 + 11),
            Some(Location::InSuperBlock {
                sblk_slot: 0,
                sblk: 2,
                dblk: 1,
                offset: 1
            })
        );
        // j = 62..126: super block 5 (slot 3), 4 blocks of 16, paged by 4.
        let loc = h.locate(2 + 62 + 16 * 2 + 13).unwrap();
        assert_eq!(
            loc,
            Location::InSuperBlock {
                sblk_slot: 3,
                sblk: 5,
                dblk: 2,
                offset: 13
            }
        );
        assert_eq!(h.page_of(5, 13), Some((3, 1)));
        assert_eq!(
            h.locate(2 + 125),
            Some(Location::InSuperBlock {
                sblk_slot: 3,
                sblk: 5,
                dblk: 3,
                offset: 15
            })
        );
        assert_eq!(h.locate(2 + 126), None);
        // Blocks of the whole small array, and of its first 84 elements.
        let blocks: Vec<Block> = h.blocks(h.capacity()).collect();
        assert_eq!(blocks.len(), 1 + 2 + 4);
        assert_eq!(
            blocks[6],
            Block::SuperBlock {
                slot: 3,
                sblk: 5,
                first: 64,
                ndblks: 4,
                dblk_nelmts: 16
            }
        );
        let blocks: Vec<Block> = h.blocks(84).collect();
        assert_eq!(blocks.len(), 7);
        assert_eq!(
            blocks[6],
            Block::SuperBlock {
                slot: 3,
                sblk: 5,
                first: 64,
                ndblks: 2,
                dblk_nelmts: 16
            }
        );
        assert_eq!(h.blocks(64).count(), 6);
    }

    // -----------------------------------------------------------------------------------------
    // Editing model.
    // -----------------------------------------------------------------------------------------

    use crate::chunk_array::test_util::Mem;
    use alloc::collections::BTreeMap;

    fn store(edit: &mut ArrayEdit, mem: &mut Mem) -> (u64, Stored) {
        let (a, s) = edit.store(&mut |n| mem.alloc(n)).unwrap();
        mem.apply(&s);
        (a, s)
    }

    fn load(mem: &Mem, addr: u64, sizes: Sizes) -> ArrayEdit {
        ArrayEdit::load(addr, sizes, &mut |a, n| mem.read(a, n)).unwrap()
    }

    /// Every allocated element of the array at `addr`, through the decoders, and the
    /// statistics its blocks imply (all but `max_idx_set`, which is taken from the header).
    /// Every block decoded is re-encoded to the same bytes.
    fn decode_ea(
        mem: &Mem,
        addr: u64,
        sizes: Sizes,
    ) -> (Header, BTreeMap<u64, ChunkElement>, Stats) {
        let rd = |a: u64, n: u64| mem.read(a, n as usize).unwrap();
        let hb = rd(addr, Header::size(sizes) as u64);
        let h = Header::decode(&hb, addr, sizes).unwrap();
        assert_eq!(h.encode(sizes), hb);
        let mut out = BTreeMap::new();
        let mut stats = Stats {
            max_idx_set: h.stats.max_idx_set,
            ..Stats::default()
        };
        let Some(ia) = h.index_block_addr else {
            return (h, out, stats);
        };
        let ibb = rd(ia, h.index_block_size(sizes));
        let ib = IndexBlock::decode(&ibb, ia, sizes, &h).unwrap();
        assert_eq!(ib.encode(sizes, &h), ibb);
        stats.nelmts += u64::from(h.idx_blk_elmts);
        let mut put = |first: u64, elems: Vec<ChunkElement>| {
            for (k, e) in elems.into_iter().enumerate() {
                if e.is_allocated() {
                    out.insert(first + k as u64, e);
                } else {
                    assert_eq!(e, ChunkElement::undefined(h.filtered()));
                }
            }
        };
        put(0, ib.elements.clone());
        // Data block `d` (block offset index `n`) of super block `u` at `a`, holding elements
        // from `first`.
        let mut dblock = |a: u64, u: usize, n: u64, first: u64, sb: Option<(&SuperBlock, u64)>| {
            let bytes = rd(a, h.data_block_size(sizes, u).unwrap());
            let db = DataBlock::decode(&bytes, a, sizes, &h, u).unwrap();
            assert_eq!(db.encode(sizes, &h), bytes);
            assert_eq!(Some(db.block_offset), h.block_offset(u, n));
            stats.ndata_blks += 1;
            stats.data_blk_size += h.data_block_total_size(sizes, u).unwrap();
            stats.nelmts += h.geometry.sblks[u].dblk_nelmts;
            if db.npages == 0 {
                put(first, db.elements);
                return;
            }
            let (sb, d) = sb.unwrap();
            for p in 0..db.npages {
                if sb.page_initialised(d, p) {
                    let at = h.page_addr(a, sizes, u, p).unwrap();
                    let bytes = rd(at, h.page_size());
                    let elems = decode_page(&bytes, at, sizes, &h).unwrap();
                    assert_eq!(encode_page(sizes, &h, &elems), bytes);
                    put(first + p * h.geometry.dblk_page_nelmts, elems);
                }
            }
        };
        let mut sblocks = Vec::new();
        for b in h.blocks(h.capacity()) {
            match b {
                Block::IndexBlockElements { .. } => {}
                Block::IndexDataBlock {
                    slot, sblk, first, ..
                } => {
                    if let Some(a) = ib.dblk_addrs[slot] {
                        dblock(a, sblk, slot as u64, first, None);
                    }
                }
                Block::SuperBlock {
                    slot,
                    sblk,
                    first,
                    ndblks,
                    dblk_nelmts,
                } => {
                    let Some(a) = ib.sblk_addrs[slot] else {
                        continue;
                    };
                    let size = h.super_block_size(sizes, sblk).unwrap();
                    let bytes = rd(a, size);
                    let sb = SuperBlock::decode(&bytes, a, sizes, &h, sblk).unwrap();
                    assert_eq!(sb.encode(sizes, &h), bytes);
                    assert_eq!(Some(sb.block_offset), h.block_offset(sblk, 0));
                    for d in 0..ndblks {
                        if let Some(da) = sb.dblk_addrs[d as usize] {
                            dblock(da, sblk, d, first + d * dblk_nelmts, Some((&sb, d)));
                        }
                    }
                    sblocks.push(size);
                }
            }
        }
        stats.nsuper_blks = sblocks.len() as u64;
        stats.super_blk_size = sblocks.iter().sum();
        (h, out, stats)
    }

    /// Decode what `edit` stored and compare with `want`, the model's accessors and the
    /// statistics its blocks imply.
    fn check(edit: &ArrayEdit, mem: &Mem, want: &BTreeMap<u64, ChunkElement>) {
        let (h, got, stats) = decode_ea(mem, edit.addr().unwrap(), edit.sizes);
        assert_eq!(&h, edit.header());
        assert_eq!(&got, want);
        assert_eq!(h.stats, stats);
        assert!(want.keys().all(|&i| i < h.stats.max_idx_set));
        for (&i, e) in want {
            assert_eq!(edit.get(i), Some(e));
        }
        let listed: Vec<(u64, ChunkElement)> = edit.iter().map(|(i, e)| (i, *e)).collect();
        let expect: Vec<(u64, ChunkElement)> = want.iter().map(|(&i, e)| (i, *e)).collect();
        assert_eq!(listed, expect);
    }

    fn uel(i: u64) -> ChunkElement {
        ChunkElement {
            addr: Some(0x100_0000 + i * 3),
            size: None,
            filter_mask: 0,
        }
    }

    fn small_params() -> ArrayParams {
        ArrayParams {
            filtered: true,
            chunk_size_len: 3,
            max_nelmts_bits: 6,
            index_blk_elmts: 2,
            data_blk_min_elmts: 2,
            sup_blk_min_data_ptrs: 2,
            max_dblk_page_nelmts_bits: 2,
        }
    }

    /// Every element of the small array (index block, index data blocks, unpaged and paged
    /// super blocks), set in a scrambled order with stores in between.
    #[test]
    fn small_model_everything() {
        let sizes = S44;
        let mut edit = ArrayEdit::new(small_params(), sizes).unwrap();
        assert_eq!(edit.params(), small_params());
        let cap = edit.capacity();
        assert_eq!(cap, 128);
        let mut mem = Mem::new(0x20);
        let mut want = BTreeMap::new();
        let (addr, s) = store(&mut edit, &mut mem);
        assert_eq!(s.writes.len(), 1);
        assert_eq!((edit.len(), edit.is_empty()), (0, true));
        check(&edit, &mem, &want);
        for (n, i) in (0..cap).map(|k| (k * 37 + 11) % cap).enumerate() {
            edit.set(i, felem(i)).unwrap();
            want.insert(i, felem(i));
            if n % 40 == 39 {
                let (a, _) = store(&mut edit, &mut mem);
                assert_eq!(a, addr);
                check(&edit, &mem, &want);
            }
        }
        store(&mut edit, &mut mem);
        check(&edit, &mem, &want);
        assert_eq!(edit.len(), cap);
        let h = edit.header().clone();
        let g = &h.geometry;
        let st = h.stats;
        assert_eq!(st.nsuper_blks, g.nsblk_addrs as u64);
        assert_eq!(st.ndata_blks, g.sblks.iter().map(|s| s.ndblks).sum::<u64>());
        assert_eq!(st.nelmts, cap);
        // Reload and check; beyond the capacity is an error.
        let again = load(&mem, addr, sizes);
        check(&again, &mem, &want);
        let e = edit.set(cap, felem(1)).unwrap_err();
        assert_eq!(e.offset, addr);
        assert!(matches!(e.kind, ErrorKind::Invalid(_)));
        assert!(edit.clear(cap).is_err());
        assert_eq!(edit.get(cap), None);
        assert!(edit.set(3, uel(3)).is_err());
        // Every block is listed once and nothing overlaps.
        let mut ext = edit.extents();
        assert_eq!(ext.len(), 2 + g.nsblk_addrs + st.ndata_blks as usize);
        ext.sort();
        assert!(ext.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
        assert_eq!(
            ext.iter().map(|e| e.1).sum::<u64>(),
            Header::size(sizes) as u64
                + h.index_block_size(sizes)
                + st.super_blk_size
                + st.data_blk_size
        );
    }

    /// One element in a paged data block of super block 13: libhdf5 creates exactly the index
    /// block, that super block, that data block and that page (statistics measured with
    /// 2.0.0: 1 super block of 598 bytes, 1 data block of 16414, max index 131061, 2052
    /// elements).
    #[test]
    fn sparse_set_creates_what_libhdf5_creates() {
        let sizes = S88;
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0), sizes).unwrap();
        edit.set(131060, uel(1)).unwrap();
        assert_eq!(
            edit.header().stats,
            Stats {
                nsuper_blks: 1,
                super_blk_size: 598,
                ndata_blks: 1,
                data_blk_size: 16414,
                max_idx_set: 131061,
                nelmts: 2052
            }
        );
        let mut mem = Mem::new(0);
        let (addr, s) = store(&mut edit, &mut mem);
        assert_eq!(
            mem.allocs.iter().map(|a| a.1).collect::<Vec<_>>(),
            vec![72, 298, 598, 16414]
        );
        let (sb, db) = (mem.allocs[2].0, mem.allocs[3].0);
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![db + 22, db, sb, 72, addr]
        );
        let mut want = BTreeMap::new();
        want.insert(131060, uel(1));
        check(&edit, &mem, &want);
        // A second element in another page of the same data block: that page and the super
        // block (its bitmap) only.
        edit.set(131060 + 1024, uel(2)).unwrap();
        want.insert(131060 + 1024, uel(2));
        let (_, s) = store(&mut edit, &mut mem);
        assert_eq!(
            s.writes.iter().map(|w| w.0).collect::<Vec<_>>(),
            vec![db + 22 + 8196, sb, addr]
        );
        check(&edit, &mem, &want);
        // An element of the index block's own: the index block only (and the header? no:
        // the maximum index is already larger).
        edit.set(1, uel(3)).unwrap();
        want.insert(1, uel(3));
        let (_, s) = store(&mut edit, &mut mem);
        assert_eq!(s.writes.iter().map(|w| w.0).collect::<Vec<_>>(), vec![72]);
        check(&edit, &mem, &want);
    }

    /// Grow a stored array past several super blocks after reloading it, clear and truncate.
    #[test]
    fn load_grow_clear_truncate() {
        let sizes = S88;
        let csl = crate::fixed_array::filtered_chunk_size_len(4, sizes, 4000);
        let mut edit = ArrayEdit::new(ArrayParams::default_for(true, csl), sizes).unwrap();
        let mut want = BTreeMap::new();
        for i in 0..300 {
            edit.set(i, felem(i)).unwrap();
            want.insert(i, felem(i));
        }
        let mut mem = Mem::new(0x800);
        let (addr, _) = store(&mut edit, &mut mem);
        check(&edit, &mem, &want);
        let mut again = load(&mem, addr, sizes);
        check(&again, &mem, &want);
        for i in (300..6000).step_by(7) {
            again.set(i, felem(i)).unwrap();
            want.insert(i, felem(i));
        }
        for i in (0..300).step_by(11) {
            again.clear(i).unwrap();
            want.remove(&i);
        }
        again.clear(100_000).unwrap(); // no block there: nothing happens
        store(&mut again, &mut mem);
        check(&again, &mem, &want);
        let len = *want.keys().last().unwrap() + 1;
        assert_eq!(again.len(), len);
        // Truncate to 2500 (libhdf5 clears the elements and keeps blocks and statistics).
        let stats = again.header().stats;
        let mut again = load(&mem, addr, sizes);
        again.truncate(2500);
        want.retain(|&i, _| i < 2500);
        let (_, s) = store(&mut again, &mut mem);
        assert_eq!(again.header().stats, stats);
        // Only the data blocks holding cleared elements are rewritten.
        assert!(s
            .writes
            .iter()
            .all(|(a, b)| *a > addr && b.starts_with(b"EADB")));
        assert_eq!(
            s.writes.len(),
            again
                .dblocks
                .keys()
                .filter(|&&(u, d)| {
                    let first = again.dblock_first(u, d);
                    first + again.header().geometry.sblks[u].dblk_nelmts > 2500 && first < len
                })
                .count()
        );
        check(&again, &mem, &want);
        let mut again = load(&mem, addr, sizes);
        again.truncate(0);
        store(&mut again, &mut mem);
        check(&again, &mem, &BTreeMap::new());
        assert_eq!(again.header().stats, stats);
    }

    /// Shrinking a 300-chunk array to 10 chunks: what libhdf5 2.0.0 leaves (measured: every
    /// block and statistic kept, elements from 10 on undefined).
    #[test]
    fn truncate_keeps_blocks_like_libhdf5() {
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0), S88).unwrap();
        for i in 0..300 {
            edit.set(i, uel(i)).unwrap();
        }
        edit.truncate(10);
        let st = edit.header().stats;
        assert_eq!(
            [
                st.nsuper_blks,
                st.super_blk_size,
                st.ndata_blks,
                st.data_blk_size,
                st.max_idx_set,
                st.nelmts
            ],
            [1, 54, 7, 2586, 300, 308]
        );
        assert_eq!(
            edit.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn new_refuses_bad_parameters() {
        let d = ArrayParams::default_for(false, 0);
        for bad in [
            ArrayParams {
                data_blk_min_elmts: 12,
                ..d
            },
            ArrayParams {
                sup_blk_min_data_ptrs: 3,
                ..d
            },
            ArrayParams {
                max_nelmts_bits: 64,
                ..d
            },
            ArrayParams {
                max_nelmts_bits: 3,
                ..d
            },
            ArrayParams {
                filtered: true,
                chunk_size_len: 0,
                ..d
            },
        ] {
            assert!(
                matches!(
                    ArrayEdit::new(bad, S88).unwrap_err().kind,
                    ErrorKind::Invalid(_)
                ),
                "{bad:?}"
            );
        }
        // Index-block data blocks of 32 and 64 elements with pages of 16: refused.
        let p = ArrayParams {
            max_dblk_page_nelmts_bits: 4,
            ..d
        };
        assert!(matches!(
            ArrayEdit::new(p, S88).unwrap_err().kind,
            ErrorKind::Unsupported(_)
        ));
        assert!(ArrayEdit::new(
            ArrayParams {
                max_dblk_page_nelmts_bits: 6,
                ..d
            },
            S88
        )
        .is_ok());
        // Huge super blocks: a Limit on the set that would create them, nothing allocated.
        let p = ArrayParams {
            max_nelmts_bits: 63,
            data_blk_min_elmts: 1,
            sup_blk_min_data_ptrs: 2,
            max_dblk_page_nelmts_bits: 63,
            ..d
        };
        let mut edit = ArrayEdit::new(p, S88).unwrap();
        assert!(matches!(
            edit.set(1 << 62, uel(1)).unwrap_err().kind,
            ErrorKind::Limit { .. }
        ));
        edit.set(5, uel(5)).unwrap();
        assert_eq!(edit.get(5), Some(&uel(5)));
        // Addresses that do not fit 4 bytes.
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0), S44).unwrap();
        assert!(edit.set(0, uel(1 << 32)).is_err());
        edit.set(9, uel(1)).unwrap();
        let mut next = [0x10u64, 1 << 40].into_iter();
        assert!(matches!(
            edit.store(&mut |_| next.next().unwrap()).unwrap_err().kind,
            ErrorKind::Invalid(_)
        ));
    }

    #[test]
    fn load_rejects_bad_input() {
        let sizes = S88;
        let mut edit = ArrayEdit::new(ArrayParams::default_for(true, 8), sizes).unwrap();
        for i in [0, 10, 100, 1000] {
            edit.set(i, felem(i)).unwrap();
        }
        let mut mem = Mem::new(0x10);
        let (addr, _) = store(&mut edit, &mut mem);
        let loads = |m: &Mem| ArrayEdit::load(addr, sizes, &mut |a, n| m.read(a, n));
        assert!(loads(&mem).is_ok());
        let blocks: Vec<(u64, u64)> = edit.extents();
        assert_eq!(blocks.len(), 2 + 2 + 2);
        // Truncated at the end of every block: the decoder of the last block reports it.
        for &(a, _) in &blocks {
            let mut m = Mem::new(0);
            m.bytes = mem.bytes[..a as usize + 20].to_vec();
            if let Err(e) = loads(&m) {
                assert_eq!(e.kind, ErrorKind::Truncated);
            }
        }
        let mut m = Mem::new(0);
        m.bytes = mem.bytes[..mem.bytes.len() - 1].to_vec();
        assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::Truncated);
        // Any corrupted byte at the start of each block: an error, never a panic.
        for &(a, _) in &blocks {
            for at in a..a + 40 {
                let mut m = Mem::new(0);
                m.bytes = mem.bytes.clone();
                m.bytes[at as usize] ^= 0x10;
                assert!(loads(&m).is_err(), "byte {at}");
            }
        }
        // Garbage.
        let mut m = Mem::new(0);
        m.bytes = (0..9000u32).map(|i| (i * 13 + 1) as u8).collect();
        assert_eq!(loads(&m).unwrap_err().kind, ErrorKind::BadSignature);
        // A header with no index block: an empty array.
        m.bytes = header_bytes(sizes, &DEFAULTS, None);
        let e = ArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap();
        assert_eq!((e.len(), e.iter().count()), (50, 0));
        // An index block overlapping the header.
        m.bytes = header_bytes(sizes, &DEFAULTS, Some(8));
        m.bytes.resize(1000, 0);
        let e = ArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid(_)));
        // Two data blocks at one address.
        let mut m = Mem::new(0);
        m.bytes = mem.bytes.clone();
        let ia = edit.header().index_block_addr.unwrap() as usize;
        let slots = ia + 14 + 4 * 20;
        let d0 = m.bytes[slots..slots + 8].to_vec();
        m.bytes[slots + 8..slots + 16].copy_from_slice(&d0);
        let end = ia + edit.header().index_block_size(sizes) as usize - 4;
        let c = crate::lookup3::checksum(&m.bytes[ia..end]);
        m.bytes[end..end + 4].copy_from_slice(&c.to_le_bytes());
        let e = loads(&m).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Invalid("block address (overlaps another block)")
        );
        // Paged index-block data blocks: unsupported.
        let p = Params {
            page_bits: 4,
            ..DEFAULTS
        };
        m.bytes = header_bytes(sizes, &p, None);
        let e = ArrayEdit::load(0, sizes, &mut |a, n| m.read(a, n)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
        // Hostile geometry: the index block alone exceeds the limit; nothing that large is
        // read.
        let p = Params {
            bits: 63,
            min_elmts: 1,
            min_ptrs: 128,
            idx: 255,
            page_bits: 63,
            ..DEFAULTS
        };
        m.bytes = header_bytes(sizes, &p, Some(0x100));
        let mut asked = 0;
        let r = ArrayEdit::load(0, sizes, &mut |a, n| {
            asked = n.max(asked);
            m.read(a, n)
        });
        assert!(r.is_err());
        assert!(asked < 1 << 20);
    }

    /// The extensible arrays libhdf5 2.0.0 wrote in the fixtures (one with a super block,
    /// filtered and multi-dimensional ones), rebuilt element by element from a new model with
    /// the file's block addresses: every block comes out byte for byte.
    #[test]
    fn libhdf5_fixtures_byte_exact() {
        const CHUNKIDX: &[u8] = include_bytes!("../../../fixtures/files/chunkidx_latest.h5");
        let file = CHUNKIDX;
        let read = |a: u64, n: usize| {
            file.get(a as usize..a as usize + n)
                .map(<[u8]>::to_vec)
                .ok_or(Error::new("fixture", a, ErrorKind::Truncated))
        };
        let mut found = Vec::new();
        for at in (0..file.len() - 4).filter(|&i| file[i..i + 4] == HEADER_SIGNATURE) {
            let at = at as u64;
            let loaded = ArrayEdit::load(at, S88, &mut |a, n| read(a, n)).unwrap();
            // The file's block addresses in the model's allocation order.
            let ib = loaded.iblock.as_ref().unwrap();
            let mut order = vec![at, ib.addr.unwrap()];
            order.extend(ib.dblk_addrs.iter().flatten());
            for sb in loaded.sblocks.values() {
                order.push(sb.addr.unwrap());
                order.extend(sb.dblk_addrs.iter().flatten());
            }
            let mut fresh = ArrayEdit::new(loaded.params(), S88).unwrap();
            for (i, e) in loaded.iter() {
                fresh.set(i, *e).unwrap();
            }
            assert_eq!(fresh.header().stats, loaded.header().stats);
            let mut next = order.clone().into_iter();
            let (a, s) = fresh.store(&mut |_| next.next().unwrap()).unwrap();
            assert_eq!(next.next(), None);
            assert_eq!(a, at);
            assert_eq!(s.writes.len(), order.len());
            for (wa, bytes) in &s.writes {
                assert_eq!(
                    bytes.as_slice(),
                    &file[*wa as usize..*wa as usize + bytes.len()],
                    "array at {at}, block at {wa}"
                );
            }
            found.push((
                loaded.header().stats.nsuper_blks,
                loaded.header().filtered(),
            ));
            let mut loaded = loaded;
            assert!(loaded
                .store(&mut |_| unreachable!())
                .unwrap()
                .1
                .writes
                .is_empty());
        }
        assert_eq!(found, vec![(1, false), (0, true), (0, false), (0, false)]);
    }

    /// FNV-1a over `(address, length, bytes)` of each write, in address order.
    fn digest(writes: &[(u64, Vec<u8>)]) -> u64 {
        let mut sorted: Vec<&(u64, Vec<u8>)> = writes.iter().collect();
        sorted.sort();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for (a, b) in sorted {
            for x in a
                .to_le_bytes()
                .iter()
                .chain(&(b.len() as u64).to_le_bytes())
                .chain(b)
            {
                h = (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3);
            }
        }
        h
    }

    /// Rebuild an unfiltered array libhdf5 2.0.0 wrote from `runs` of `(first index, count,
    /// first address)` (chunk addresses step by 1 byte) with the file's block addresses in
    /// allocation order, and compare the digest of all writes (header, index block, super
    /// blocks, data blocks, initialised pages) with the digest of the same byte ranges of
    /// the file.
    fn rebuild(runs: &[(u64, u64, u64)], allocs: &[u64]) -> (Stored, ArrayEdit) {
        let mut edit = ArrayEdit::new(ArrayParams::default_for(false, 0), S88).unwrap();
        for &(first, count, addr) in runs {
            for k in 0..count {
                edit.set(first + k, uel(0).with_addr(addr + k)).unwrap();
            }
        }
        let mut next = allocs.iter().copied();
        let (a, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
        assert_eq!((a, next.next()), (allocs[0], None));
        (s, edit)
    }

    impl ChunkElement {
        fn with_addr(self, a: u64) -> Self {
            ChunkElement {
                addr: Some(a),
                ..self
            }
        }
    }

    /// A 140000-chunk dataset with chunks 2, 300, 133200 and 139999 written (h5py,
    /// `libver="latest"`): index block, super blocks 4 and 13, three data blocks (two paged,
    /// one page each).
    #[test]
    fn libhdf5_sparse_array_byte_exact() {
        let runs = [
            (2, 1, 2049),
            (300, 1, 2048),
            (133200, 1, 2051),
            (139999, 1, 2050),
        ];
        let (s, edit) = rebuild(&runs, &[447, 519, 817, 871, 1405, 20510, 4096]);
        assert_eq!(s.writes.len(), 9);
        assert_eq!(s.writes.iter().map(|w| w.1.len()).sum::<usize>(), 17992);
        assert_eq!(digest(&s.writes), 0xeedc_1f8e_560a_b512);
        let st = edit.header().stats;
        assert_eq!(
            [
                st.nsuper_blks,
                st.super_blk_size,
                st.ndata_blks,
                st.data_blk_size,
                st.max_idx_set,
                st.nelmts
            ],
            [2, 652, 3, 33362, 140000, 4164]
        );
    }

    /// A dataset grown by resizing to 141111 one-byte chunks, all written (h5py,
    /// `libver="latest"`): the index block's 6 data blocks, super blocks 4 to 13 with 189 data
    /// blocks, the 5 data blocks of super block 13 paged (10 pages).
    #[test]
    fn libhdf5_grown_array_byte_exact() {
        #[rustfmt::skip]
        const ALLOCS: [u64; 207] = [
        447, 519, 817, 967, 1245, 1523, 4096, 4630, 1801, 5164,
        5698, 6232, 6766, 1855, 7300, 8346, 9392, 10438, 1909, 11484,
        12530, 13576, 14622, 15668, 16714, 17760, 18806, 19852, 19938, 24056,
        26126, 28196, 30266, 32336, 34406, 36476, 38546, 38696, 42814, 44884,
        46954, 49024, 51094, 53164, 55234, 57304, 61422, 63492, 65562, 67632,
        69702, 71772, 73842, 75912, 76062, 82228, 86346, 90464, 94582, 100748,
        104866, 108984, 113102, 119268, 123386, 127504, 131622, 137788, 141906, 146024,
        150142, 150420, 156586, 160704, 164822, 168940, 175106, 179224, 183342, 187460,
        193626, 197744, 201862, 205980, 212146, 216264, 220382, 224500, 230666, 234784,
        238902, 243020, 249186, 253304, 257422, 261540, 267706, 271824, 275942, 280060,
        286226, 290344, 294462, 298580, 298858, 309120, 317334, 327596, 335810, 346072,
        354286, 364548, 372762, 383024, 391238, 401500, 409714, 419976, 428190, 438452,
        446666, 456928, 465142, 475404, 483618, 493880, 502094, 512356, 520570, 530832,
        539046, 549308, 557522, 567784, 575998, 586260, 594474, 595008, 605270, 613484,
        623746, 631960, 642222, 650436, 660698, 668912, 679174, 687388, 697650, 705864,
        716126, 724340, 734602, 742816, 753078, 761292, 771554, 779768, 790030, 798244,
        808506, 816720, 826982, 835196, 845458, 853672, 863934, 872148, 882410, 890624,
        900886, 909100, 919362, 927576, 937838, 946052, 956314, 964528, 974790, 983004,
        993266, 1001480, 1011742, 1019956, 1030218, 1038432, 1048694, 1056908, 1067170, 1075384,
        1085646, 1093860, 1104122, 1112336, 1122598, 1130812, 1141074, 1149288, 1159550, 1167764,
        1178026, 1186240, 1186838, 1205300, 1223762, 1242224, 1260686,
        ];
        #[rustfmt::skip]
        const RUNS: [(u64, u64, u64); 69] = [
        (0, 2048, 2048),
        (2048, 2048, 22008),
        (4096, 2048, 40766),
        (6144, 2048, 59374),
        (8192, 2048, 80180),
        (10240, 2048, 98700),
        (12288, 2048, 117220),
        (14336, 2048, 135740),
        (16384, 2048, 154538),
        (18432, 2048, 173058),
        (20480, 2048, 191578),
        (22528, 2048, 210098),
        (24576, 2048, 228618),
        (26624, 2048, 247138),
        (28672, 2048, 265658),
        (30720, 2048, 284178),
        (32768, 2048, 307072),
        (34816, 2048, 325548),
        (36864, 2048, 344024),
        (38912, 2048, 362500),
        (40960, 2048, 380976),
        (43008, 2048, 399452),
        (45056, 2048, 417928),
        (47104, 2048, 436404),
        (49152, 2048, 454880),
        (51200, 2048, 473356),
        (53248, 2048, 491832),
        (55296, 2048, 510308),
        (57344, 2048, 528784),
        (59392, 2048, 547260),
        (61440, 2048, 565736),
        (63488, 2048, 584212),
        (65536, 2048, 603222),
        (67584, 2048, 621698),
        (69632, 2048, 640174),
        (71680, 2048, 658650),
        (73728, 2048, 677126),
        (75776, 2048, 695602),
        (77824, 2048, 714078),
        (79872, 2048, 732554),
        (81920, 2048, 751030),
        (83968, 2048, 769506),
        (86016, 2048, 787982),
        (88064, 2048, 806458),
        (90112, 2048, 824934),
        (92160, 2048, 843410),
        (94208, 2048, 861886),
        (96256, 2048, 880362),
        (98304, 2048, 898838),
        (100352, 2048, 917314),
        (102400, 2048, 935790),
        (104448, 2048, 954266),
        (106496, 2048, 972742),
        (108544, 2048, 991218),
        (110592, 2048, 1009694),
        (112640, 2048, 1028170),
        (114688, 2048, 1046646),
        (116736, 2048, 1065122),
        (118784, 2048, 1083598),
        (120832, 2048, 1102074),
        (122880, 2048, 1120550),
        (124928, 2048, 1139026),
        (126976, 2048, 1157502),
        (129024, 2048, 1175978),
        (131072, 2048, 1203252),
        (133120, 2048, 1221714),
        (135168, 2048, 1240176),
        (137216, 2048, 1258638),
        (139264, 1847, 1277100),
        ];
        let (s, edit) = rebuild(&RUNS, &ALLOCS);
        assert_eq!(s.writes.len(), 217);
        assert_eq!(s.writes.iter().map(|w| w.1.len()).sum::<usize>(), 1137336);
        assert_eq!(digest(&s.writes), 0xf33e_c94b_88a2_f4d3);
        assert_eq!(edit.iter().count(), 141111);
        let st = edit.header().stats;
        assert_eq!(
            [
                st.nsuper_blks,
                st.super_blk_size,
                st.ndata_blks,
                st.data_blk_size,
                st.max_idx_set,
                st.nelmts
            ],
            [10, 2268, 195, 1134698, 141111, 141300]
        );
    }

    /// The header of a filtered dataset grown to 140333 chunks (h5py, `libver="latest"`,
    /// gzip): statistics and element size as libhdf5 2.0.0 wrote them.
    #[test]
    fn libhdf5_grown_filtered_header_byte_exact() {
        let mut edit = ArrayEdit::new(ArrayParams::default_for(true, 8), S88).unwrap();
        for i in 0..140333 {
            edit.set(i, felem(i)).unwrap();
        }
        let mut next = [447u64, 519].into_iter().chain(10_000..);
        let (_, s) = edit.store(&mut |_| next.next().unwrap()).unwrap();
        assert_eq!(
            s.writes.last().unwrap(),
            &(
                447,
                hex(
                    "45414844000114200410040a0a00000000000000dc08000000000000c300000000000000
                     aa2f2b00000000002d24020000000000f427020000000000070200000000000099b5e95a"
                )
            )
        );
    }
}

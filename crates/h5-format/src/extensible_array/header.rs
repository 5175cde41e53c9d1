//! The extensible array header (`EAHD`): decode, block sizes and addresses, where an element
//! lives ([`Location`], [`Block`], [`Blocks`]), encode.

use alloc::vec::Vec;

use super::geometry::{block_start_size, Geometry, SuperBlockInfo};
use super::{HEADER_NAME, HEADER_SIGNATURE};
use crate::chunk_array::{header_start, ElementFormat};
use crate::error::{Error, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::Writer;

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
        /// Index into [`IndexBlock::dblk_addrs`](super::IndexBlock::dblk_addrs).
        dblk: usize,
        /// Element index within the data block.
        offset: u64,
        /// Super block index `u` sizing the data block (for [`Header::data_block_size`]).
        sblk: usize,
    },
    /// In a data block of a super block whose address is `IndexBlock::sblk_addrs[sblk_slot]`.
    InSuperBlock {
        /// Index into [`IndexBlock::sblk_addrs`](super::IndexBlock::sblk_addrs) (`sblk - iblock_nsblks`).
        sblk_slot: usize,
        /// Super block index `u`.
        sblk: usize,
        /// Index into [`SuperBlock::dblk_addrs`](super::SuperBlock::dblk_addrs).
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
        /// Index into [`IndexBlock::dblk_addrs`](super::IndexBlock::dblk_addrs).
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
        /// Index into [`IndexBlock::sblk_addrs`](super::IndexBlock::sblk_addrs).
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
    /// `Truncated`, `BadSignature`, `VersionNotAccepted` (only version 0 exists), `BadChecksum`,
    /// `Unsupported` for a reserved client ID, `Invalid` for an element size that does not fit
    /// the client or creation parameters with no valid geometry (see [`Geometry::new`]).
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, HEADER_NAME);
        let (fields, client_id, element_size) = header_start(&mut r, &HEADER_SIGNATURE)?;
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

    /// Bytes [`DataBlock::decode`](super::DataBlock::decode) needs for a data block of super block `sblk`: the prefix
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
    /// [`SuperBlock::dblk_addrs`](super::SuperBlock::dblk_addrs). For a data block addressed by the index block, libhdf5
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

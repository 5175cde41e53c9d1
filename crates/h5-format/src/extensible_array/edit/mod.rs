//! The editing model of an extensible array: [`ExtensibleArrayEdit`]; loading, element access
//! and growth here, writing back in [`store`](ExtensibleArrayEdit::store).

mod store;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::*;
use crate::chunk_array::{
    block_len, check_fits, checked_alloc, edit_format, filled, load_header, set_bits, set_page_bit,
    ChunkElement, DataBlockAt, Extents, HeaderSlot, Segment,
};
use crate::error::{Error, Result};
use crate::reader::{Addr, Sizes};

const EDIT_NAME: &str = "extensible array";

/// Creation parameters of an extensible array chunk index (the layout message's five
/// extensible array parameters plus the element format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensibleArrayParams {
    /// Elements are filtered-chunk records (client 1) rather than bare addresses (client 0).
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements, 1–8 (see
    /// [`crate::chunk_array::filtered_chunk_size_len`]); ignored when not `filtered`.
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

impl ExtensibleArrayParams {
    /// The parameters libhdf5 (1.10 to 2.0) uses for every extensible array chunk index,
    /// filtered or not (measured with 2.0.0 through h5py `libver="latest"`): 32 bits,
    /// 4 index block elements, 16 minimum data block elements, 4 minimum data block
    /// pointers, pages of 2^10 elements.
    pub fn default_for(filtered: bool, chunk_size_len: u8) -> Self {
        ExtensibleArrayParams {
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
pub(super) struct IBlockState {
    pub(super) addr: Addr,
    elements: Vec<ChunkElement>,
    pub(super) dblk_addrs: Vec<Addr>,
    sblk_addrs: Vec<Addr>,
    dirty: bool,
}

#[derive(Debug, Clone)]
pub(super) struct SBlockState {
    pub(super) addr: Addr,
    block_offset: u64,
    page_init: Option<Vec<u8>>,
    pub(super) dblk_addrs: Vec<Addr>,
    dirty: bool,
}

#[derive(Debug, Clone)]
pub(super) struct DBlockState {
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
/// [`ExtensibleArrayEdit::store`].
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
/// ([`ExtensibleArrayEdit::truncate`]) as libhdf5 does, keeping blocks and statistics.
///
/// Parameters whose index-block data blocks would be paged (never the case for libhdf5's
/// chunk indexes, and not something libhdf5 itself handles) are refused.
#[derive(Debug, Clone)]
pub struct ExtensibleArrayEdit {
    pub(super) sizes: Sizes,
    /// The header as it will be written; `hdr.addr` is meaningful once `header.addr` is set.
    hdr: Header,
    header: HeaderSlot,
    pub(super) iblock: Option<IBlockState>,
    /// Keyed by super block index `u` (only `u >= iblock_nsblks`).
    pub(super) sblocks: BTreeMap<usize, SBlockState>,
    /// Keyed by (super block index `u`, data block index within that super block).
    pub(super) dblocks: BTreeMap<(usize, u64), DBlockState>,
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

impl ExtensibleArrayEdit {
    /// A new, empty array (no block allocated yet).
    ///
    /// # Errors
    /// `Invalid` for parameters with no valid geometry (see [`Geometry::new`]) or a
    /// chunk-size width other than 1–8 (filtered); `Unsupported` when the index block's data
    /// blocks would be paged.
    pub fn new(params: ExtensibleArrayParams, sizes: Sizes) -> Result<Self> {
        let (format, element_size) =
            edit_format(sizes, params.filtered, params.chunk_size_len, EDIT_NAME)?;
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
            element_size,
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
        Ok(ExtensibleArrayEdit {
            sizes,
            hdr,
            header: HeaderSlot::new(Header::size(sizes)),
            iblock: None,
            sblocks: BTreeMap::new(),
            dblocks: BTreeMap::new(),
        })
    }

    /// Load the array whose header is at `addr`: the header, the index block, every super
    /// block and data block it reaches and every initialised page. `read(address, length)`
    /// returns exactly `length` bytes at `address` (or fails); it is never asked for more
    /// than [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES) at once, and never twice for overlapping blocks.
    ///
    /// # Errors
    /// Whatever `read` returns; the decoders' errors; `Limit` for blocks larger than
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES); `Invalid` when two blocks overlap; `Unsupported` when the
    /// index block's data blocks are paged.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let decode = |b: &[u8]| Header::decode(b, addr, sizes);
        let (hdr, mut extents) =
            load_header(addr, Header::size(sizes), &decode, HEADER_NAME, read)?;
        check_index_paging(&hdr, addr)?;
        let mut edit = ExtensibleArrayEdit {
            sizes,
            hdr,
            header: HeaderSlot::loaded(addr, Header::size(sizes)),
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
        let paged = db.npages > 0;
        let segments = if paged {
            // Only super blocks' data blocks are paged (checked at load), and their pages
            // are listed in the super block's bitmap.
            let bitmap = sblock.and_then(|s| s.page_init.as_deref()).unwrap_or(&[]);
            let first = d.saturating_mul(db.npages);
            let block = DataBlockAt {
                addr: a,
                name: DATA_BLOCK_NAME,
                page_addr: &|p| hdr.page_addr(a, sizes, u, p),
            };
            block.load_pages(
                set_bits(bitmap, first, db.npages),
                PAGE_NAME,
                &|_| hdr.page_size(),
                &|buf, at, _| decode_page(buf, at, sizes, hdr),
                read,
            )?
        } else {
            BTreeMap::from([(0, Segment::clean(db.elements))])
        };
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
    pub fn params(&self) -> ExtensibleArrayParams {
        let h = &self.hdr;
        ExtensibleArrayParams {
            filtered: h.filtered(),
            chunk_size_len: h.format.chunk_size_len as u8,
            max_nelmts_bits: h.max_nelmts_bits,
            index_blk_elmts: h.idx_blk_elmts,
            data_blk_min_elmts: h.data_blk_min_elmts,
            sup_blk_min_data_ptrs: h.sup_blk_min_data_ptrs,
            max_dblk_page_nelmts_bits: h.max_dblk_page_nelmts_bits,
        }
    }

    /// The header as the next [`ExtensibleArrayEdit::store`] writes it (statistics included; its
    /// `addr` is meaningful once [`ExtensibleArrayEdit::addr`] is `Some`).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// Address of the header: where it was loaded from or first stored; `None` before the
    /// first store of a new array.
    pub fn addr(&self) -> Option<u64> {
        self.header.addr
    }

    /// One more than the largest index ever set (the header's "max index set"); elements
    /// at and beyond it are undefined. [`ExtensibleArrayEdit::truncate`] does not lower it (libhdf5
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
        self.header.addr.unwrap_or(0)
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
    pub(super) fn dblock_first(&self, u: usize, d: u64) -> u64 {
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
    /// holding it as libhdf5 does, and raising [`ExtensibleArrayEdit::len`] past `i`. An element with
    /// the undefined address is [`ExtensibleArrayEdit::clear`].
    ///
    /// # Errors
    /// `Invalid` beyond [`ExtensibleArrayEdit::capacity`] or when `e` does not fit the element format
    /// ([`ElementFormat::fits`](crate::chunk_array::ElementFormat::fits)); `Limit` when a block to create exceeds
    /// [`MAX_EDIT_BLOCK_BYTES`](crate::chunk_array::MAX_EDIT_BLOCK_BYTES).
    pub fn set(&mut self, i: u64, e: ChunkElement) -> Result<()> {
        let slot = self.slot_of(i)?;
        if e.addr.is_none() {
            return self.clear(i);
        }
        check_fits(&self.hdr.format, self.sizes, &e, EDIT_NAME, self.err_at())?;
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
            self.header.dirty = true;
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
        self.header.dirty = true;
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
        self.header.dirty = true;
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
            segments.insert(0, Segment::created(elements));
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
        self.header.dirty = true;
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
        db.segments.insert(p, Segment::created(elements));
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
    /// not exist is a no-op, and [`ExtensibleArrayEdit::len`] does not change.
    ///
    /// # Errors
    /// `Invalid` beyond [`ExtensibleArrayEdit::capacity`].
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
        if let Some(a) = self.header.addr {
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
}

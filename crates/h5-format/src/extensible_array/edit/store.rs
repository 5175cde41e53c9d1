//! Writing an extensible array model back: allocation of new blocks and the encoded writes.

use super::*;
use crate::extensible_array::blocks::{encode_data_block, encode_index_block, encode_super_block};
use crate::writer::Stored;

impl ExtensibleArrayEdit {
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
        let hdr_addr = self.header.address(alloc, sizes, HEADER_NAME)?;
        self.hdr.addr = hdr_addr;
        self.allocate(alloc)?;
        let hdr = &self.hdr;
        let mut stored = Stored::default();
        for (&(u, _), db) in self.dblocks.iter_mut() {
            let Some(a) = db.addr else { continue };
            let block = DataBlockAt {
                addr: a,
                name: DATA_BLOCK_NAME,
                page_addr: &|p| hdr.page_addr(a, sizes, u, p),
            };
            let block_offset = db.block_offset;
            block.store_segments(
                &mut db.segments,
                db.paged.then_some(db.prefix_dirty),
                (sizes, &hdr.format),
                &|elements| encode_data_block(sizes, hdr, block_offset, elements),
                &mut stored,
            )?;
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
        if self.header.dirty {
            stored.writes.push((hdr_addr, self.hdr.encode(sizes)));
            self.header.dirty = false;
        }
        Ok((hdr_addr, stored))
    }

    /// Give every new block an address (see [`ExtensibleArrayEdit::store`] for the order) and record
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
            self.header.dirty = true;
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

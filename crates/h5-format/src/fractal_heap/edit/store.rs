//! Writing the model back: the extents it occupies and the encoded blocks.

use alloc::vec::Vec;

use crate::error::Result;
use crate::writer::Stored;

use super::*;

impl HeapEdit {
    /// Every extent the heap occupies (header, blocks, a loaded heap's free-space manager,
    /// huge objects, the huge-object B-tree's header and nodes), plus the extents retired
    /// since the last store that [`HeapEdit::store`] would free: what to free when the
    /// whole heap is deleted instead of stored. What is not stored yet has no extent.
    ///
    /// # Errors
    /// `Invalid` when a placed indirect block's row count is 0 or above the header's maximum, or
    /// its size overflows (see
    /// [`Header::indirect_block_size`](crate::fractal_heap::Header::indirect_block_size)).
    pub fn extents(&self) -> Result<Vec<(u64, u64)>> {
        let mut v = Vec::new();
        if self.placed {
            v.push((self.hdr.addr, self.hdr.encode().len() as u64));
        }
        v.extend(self.fsm.iter().copied());
        for b in self.direct.values() {
            if let Some(a) = b.addr {
                v.push((a, b.data.len() as u64));
            }
        }
        for ib in self.indirect.values() {
            if let Some(a) = ib.addr {
                v.push((a, self.hdr.indirect_block_size(ib.nrows)?));
            }
        }
        for o in self.huge.values() {
            if let Some(a) = o.addr {
                v.push((a, o.data.len() as u64));
            }
        }
        if let Some(t) = &self.huge_tree {
            v.extend(t.clone().delete());
        }
        v.extend(self.freed.iter().copied());
        Ok(v)
    }

    /// The entries of the indirect block at heap offset `base` with `nrows` rows.
    pub(super) fn indirect_entries(&self, base: u64, nrows: u16) -> IndirectBlock {
        let h = &self.hdr;
        let width = usize::from(h.table_width);
        let max_direct = h.max_direct_rows();
        let offset = |row: u16, col: usize| {
            let size = h.row_block_size(row)?;
            h.row_block_offset(row)?
                .checked_add(size.checked_mul(col as u64)?)?
                .checked_add(base)
        };
        let mut direct = Vec::new();
        for row in 0..nrows.min(max_direct) {
            for col in 0..width {
                let addr = offset(row, col)
                    .and_then(|o| self.direct.get(&o))
                    .and_then(|b| b.addr);
                direct.push(DirectEntry {
                    addr,
                    filtered_size: None,
                    filter_mask: 0,
                });
            }
        }
        let mut indirect = Vec::new();
        for row in max_direct..nrows {
            for col in 0..width {
                indirect.push(
                    offset(row, col)
                        .and_then(|o| self.indirect.get(&o))
                        .and_then(|b| b.addr),
                );
            }
        }
        IndirectBlock {
            addr: 0,
            block_offset: base,
            nrows,
            direct,
            indirect,
        }
    }

    /// Encode what changed since the last load or store.
    ///
    /// New blocks get addresses from `alloc(size)`, called in this order: the header (a new
    /// heap only), new direct blocks by heap offset, new indirect blocks by row count then
    /// heap offset (children before their parents; a root indirect block that grew is new),
    /// new huge objects by huge object ID, then the huge-object B-tree as
    /// [`TreeEdit::store`] allocates (its header when new, then changed nodes).
    /// `writes` holds the changed direct blocks, then the changed indirect blocks (children
    /// first), then the new or overwritten huge objects, the B-tree's nodes (children
    /// first) and its header, and last the heap header (in place for a loaded heap), so
    /// nothing is written before what it names. `freed` holds the extents retired since
    /// the last store (a root indirect block that grew, a dropped free-space manager, the
    /// blocks of an emptied heap, removed huge objects, B-tree nodes rewritten elsewhere).
    /// When the heap has no huge object left, the B-tree is deleted (all of it freed) and
    /// the header's huge-object fields reset — B-tree address undefined, next huge object ID
    /// 0, the wrapped flag cleared — as libhdf5 does when it closes such a heap. Returns the
    /// header address.
    ///
    /// # Errors
    /// `Invalid` only for an inconsistent table (which the editing methods do not build);
    /// `Limit` from [`TreeEdit::store`] (an address or count the file's sizes cannot hold),
    /// after which the edit must be discarded.
    pub fn store(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)> {
        let mut out = Stored::default();
        if !self.placed {
            self.hdr.addr = alloc(self.hdr.encode().len() as u64);
            self.placed = true;
            self.header_dirty = true;
        }
        for b in self.direct.values_mut() {
            if b.addr.is_none() {
                b.addr = Some(alloc(b.data.len() as u64));
                b.dirty = true;
            }
        }
        let mut order: Vec<(u16, u64)> = self
            .indirect
            .iter()
            .map(|(&off, ib)| (ib.nrows, off))
            .collect();
        order.sort_unstable();
        for &(nrows, off) in &order {
            let size = self.hdr.indirect_block_size(nrows)?;
            if let Some(ib) = self.indirect.get_mut(&off) {
                if ib.addr.is_none() {
                    ib.addr = Some(alloc(size));
                    ib.dirty = true;
                }
            }
        }
        for (&off, b) in self.direct.iter_mut() {
            if let (true, Some(a)) = (b.dirty, b.addr) {
                seal_direct_block(&self.hdr, off, &mut b.data)?;
                out.writes.push((a, b.data.clone()));
                b.dirty = false;
            }
        }
        for &(nrows, off) in &order {
            let Some(ib) = self.indirect.get(&off) else {
                continue;
            };
            if let (true, Some(a)) = (ib.dirty, ib.addr) {
                out.writes
                    .push((a, self.indirect_entries(off, nrows).encode(&self.hdr)));
                if let Some(ib) = self.indirect.get_mut(&off) {
                    ib.dirty = false;
                }
            }
        }
        self.store_huge(alloc, &mut out)?;
        let root = if self.hdr.current_root_rows == 0 {
            self.direct.get(&0).and_then(|b| b.addr)
        } else {
            self.indirect.get(&0).and_then(|b| b.addr)
        };
        if root != self.hdr.root_addr {
            self.hdr.root_addr = root;
            self.header_dirty = true;
        }
        if self.header_dirty {
            out.writes.push((self.hdr.addr, self.hdr.encode()));
            self.header_dirty = false;
        }
        out.freed.append(&mut self.freed);
        Ok((self.hdr.addr, out))
    }
}

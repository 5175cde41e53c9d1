//! Finding a key in the model and writing changed nodes back.

use alloc::vec::Vec;

use super::node::EditNode;
use super::*;

/// Where a key sits in a tree: the rank of the equal record, or the rank it would take.
pub(super) enum Hit<'a> {
    Found(u64, &'a [u8]),
    Missing(u64),
}

/// What [`TreeEdit::store`] builds up.
pub(super) struct StoreCtx<'a> {
    pub(super) sizes: Sizes,
    pub(super) rs: usize,
    pub(super) record_type: u8,
    pub(super) node_size: u32,
    pub(super) geometry: &'a Geometry,
    pub(super) alloc: &'a mut dyn FnMut(u64) -> u64,
    pub(super) stored: Stored,
}

impl StoreCtx<'_> {
    /// Write `node` (at `level`) and every changed node below it to fresh space when it or
    /// any descendant changed; returns whether it was written.
    pub(super) fn node(&mut self, node: &mut EditNode, level: usize, at: u64) -> Result<bool> {
        let mut changed = node.dirty || node.addr.is_none();
        if level > 0 {
            for c in &mut node.children {
                changed |= self.node(c, level - 1, at)?;
            }
        }
        if !changed {
            return Ok(false);
        }
        let bytes = self.encode(node, level, at)?;
        let size = u64::from(self.node_size);
        let addr = (self.alloc)(size);
        if !fits_addr(addr, usize::from(self.sizes.offset)) {
            return Err(Error::limit(
                if level == 0 { LEAF } else { INTERNAL },
                at,
                "v2 B-tree node address",
                addr,
                u64::MAX,
            ));
        }
        if let Some(old) = node.addr.replace(addr) {
            self.stored.freed.push((old, size));
        }
        node.dirty = false;
        self.stored.writes.push((addr, bytes));
        Ok(true)
    }

    pub(super) fn encode(&self, node: &EditNode, level: usize, at: u64) -> Result<Vec<u8>> {
        let structure = if level == 0 { LEAF } else { INTERNAL };
        let g = self.geometry;
        let mut w = Writer::new(self.sizes);
        w.bytes(if level == 0 { b"BTLF" } else { b"BTIN" })
            .u8(0)
            .u8(self.record_type)
            .bytes(&node.recs);
        if level > 0 {
            let below = g
                .levels
                .get(level - 1)
                .ok_or_else(|| Error::invalid(structure, at, "node depth"))?;
            for c in &node.children {
                let addr = c
                    .addr
                    .ok_or_else(|| Error::invalid(structure, at, "child node address"))?;
                let nrec = c.nrec(self.rs) as u64;
                w.offset(Some(addr)).uint(nrec, g.max_nrec_size);
                if level > 1 {
                    if !fits(c.total, below.cum_max_nrec_size) {
                        return Err(Error::invalid(structure, at, "total records in child node"));
                    }
                    w.uint(c.total, below.cum_max_nrec_size);
                }
            }
        }
        w.checksum_from(0);
        let size = self.node_size as usize;
        if w.len() > size {
            return Err(Error::invalid(structure, at, "number of records"));
        }
        w.zeros(size - w.len());
        Ok(w.finish())
    }
}

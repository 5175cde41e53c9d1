//! Loading a tree from a file into the model.

use alloc::vec::Vec;

use super::node::EditNode;
use super::*;

/// What [`TreeEdit::load`] carries down the tree.
pub(super) struct Loader<'a, 'r, E> {
    pub(super) header: &'a Header,
    pub(super) shape: &'a Shape,
    pub(super) seen: BTreeSet<u64>,
    pub(super) max_nodes: usize,
    pub(super) read: &'r mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
}

impl<E: From<Error>> Loader<'_, '_, E> {
    pub(super) fn node(
        &mut self,
        addr: u64,
        level: u16,
        nrec: u64,
        is_root: bool,
    ) -> core::result::Result<EditNode, E> {
        let h = self.header;
        let structure = if level == 0 { LEAF } else { INTERNAL };
        if !self.seen.insert(addr) {
            return Err(Error::new(structure, addr, ErrorKind::Cycle).into());
        }
        if self.seen.len() - 1 > self.max_nodes {
            return Err(Error::limit(
                structure,
                addr,
                "v2 B-tree nodes",
                self.seen.len() as u64 - 1,
                self.max_nodes as u64,
            )
            .into());
        }
        let cap = self.shape.cap(usize::from(level)) as u64;
        if nrec > cap && nrec <= h.max_records(level).unwrap_or(0) {
            return Err(Error::unsupported(
                structure,
                addr,
                "v2 B-tree node with more than 65535 records",
            )
            .into());
        }
        if nrec == 0 && (level > 0 || !is_root) {
            return Err(Error::invalid(structure, addr, "number of records (empty node)").into());
        }
        // Bytes up to the checksum; `nrec` is checked against the level's capacity (which
        // fits the node size) before anything is read.
        let pointer = h.geometry.pointer_size(level).unwrap_or(0) as u64;
        let rs = u64::from(h.record_size);
        let used = if level == 0 {
            Some(RECORDS_START as u64 + nrec.saturating_mul(rs) + 4)
        } else {
            nrec.checked_add(1).map(|k| {
                (RECORDS_START as u64 + 4)
                    .saturating_add(nrec.saturating_mul(rs))
                    .saturating_add(k.saturating_mul(pointer))
            })
        };
        let len = match used {
            Some(u) if nrec <= cap && u <= u64::from(h.node_size) => u as usize,
            _ => return Err(Error::invalid(structure, addr, "number of records").into()),
        };
        let buf = (self.read)(addr, len)?;
        let node = if level == 0 {
            decode_leaf(&buf, addr, h.sizes, h, nrec)?
        } else {
            decode_internal(&buf, addr, h.sizes, h, level, nrec)?
        };
        let mut out = EditNode {
            recs: node.records.concat(),
            addr: Some(addr),
            ..EditNode::default()
        };
        for c in &node.children {
            let child = self.node(c.addr, level - 1, c.nrecords, false)?;
            if child.total != c.total_records.unwrap_or(c.nrecords) {
                return Err(Error::invalid(INTERNAL, addr, "total records in child node").into());
            }
            out.children.push(child);
        }
        let below = out
            .children
            .iter()
            .try_fold(0u64, |acc, c| acc.checked_add(c.total));
        out.total = below
            .and_then(|b| b.checked_add(nrec))
            .ok_or_else(|| Error::invalid(structure, addr, "total records in child node"))?;
        Ok(out)
    }
}

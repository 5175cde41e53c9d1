//! The editing model of a v2 B-tree: [`TreeEdit`] holds a whole tree in memory, edits it by
//! a caller-supplied comparison and stores what changed copy-on-write.

mod load;
mod node;
mod store;
#[cfg(test)]
mod tests;

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cmp::Ordering;

use load::Loader;
use node::*;
use store::{Hit, StoreCtx};

use super::*;
use crate::error::{Error, ErrorKind, Result};
use crate::reader::Sizes;
use crate::writer::{Stored, Writer};

/// Node size libhdf5 (1.8 – 2.0) gives the v2 B-trees of dense links (types 5, 6), dense
/// attributes (types 8, 9) and huge fractal-heap objects (types 1 – 4), as measured in
/// files h5py wrote.
pub const DENSE_NODE_SIZE: u32 = 512;

/// Node size libhdf5 (1.10 – 2.0) gives v2 B-tree chunk indexes (types 10, 11), as
/// measured in files h5py wrote.
pub const CHUNK_NODE_SIZE: u32 = 2048;

/// Split percent libhdf5 writes in every v2 B-tree header it creates.
pub const SPLIT_PERCENT: u8 = 100;

/// Merge percent libhdf5 writes in every v2 B-tree header it creates.
pub const MERGE_PERCENT: u8 = 40;

/// Whether `v` fits `n` bytes.
fn fits(v: u64, n: usize) -> bool {
    n >= 8 || v < (1u64 << (8 * n))
}

/// Whether `a` is a defined address of `n` bytes (all bits set is the undefined address).
fn fits_addr(a: u64, n: usize) -> bool {
    if n >= 8 {
        a != u64::MAX
    } else {
        a < (1u64 << (8 * n)) - 1
    }
}

/// An editable version-2 B-tree: the header's parameters and every node in memory, records
/// kept as raw bytes of the tree's record size.
///
/// Records are ordered by a comparison the caller supplies with every lookup (`cmp(record)`
/// says how `record` compares with the key sought: `Less` when the record sorts before
/// it), so one model serves every record type: links by name hash (5) or creation order
/// (6), attributes (8, 9), chunks by scaled offsets (10, 11), huge objects by ID (1). The
/// comparison is fallible, since comparing names may need the heap.
///
/// Insertions split full nodes (after first trying to shift records into a sibling with
/// room, so appending keeps nodes well filled) and grow the tree at the root; removals
/// borrow from or merge with a sibling when a node falls below the merge percent of its
/// capacity (at least one record, at most half), and the root collapses when it loses its
/// last record. Every node stays within the capacity [`Geometry::compute`] gives its level
/// (and `u16::MAX`), all leaves stay at one depth, and no node but the root is ever empty.
///
/// [`TreeEdit::store`] writes copy-on-write: every changed node (and so every ancestor of
/// one) goes to fresh space, the old extents are freed, and the header, at its fixed
/// address, is written last. An empty tree has the undefined root address, depth 0 and no
/// records — what libhdf5 leaves when the last record is removed.
#[derive(Debug, Clone)]
pub struct TreeEdit {
    sizes: Sizes,
    record_type: u8,
    node_size: u32,
    split_percent: u8,
    depth: u16,
    geometry: Geometry,
    shape: Shape,
    root: Option<EditNode>,
    /// Address of the header, once known.
    addr: Option<u64>,
    /// Anything changed since the last load or store.
    changed: bool,
    /// On-disk nodes no longer in the tree, to free at the next store.
    discarded: Vec<u64>,
}

impl TreeEdit {
    /// An empty tree with libhdf5's creation parameters (see [`DENSE_NODE_SIZE`],
    /// [`CHUNK_NODE_SIZE`], [`SPLIT_PERCENT`], [`MERGE_PERCENT`]).
    ///
    /// # Errors
    /// `Invalid` when the record size is 0 or too small for the record type, the split
    /// percent is outside 1..=100 or the merge percent is 0 or not below half the split
    /// percent (so that a merged node does not split again); `Unsupported` when a leaf
    /// cannot hold two records.
    pub fn new(
        record_type: u8,
        record_size: u16,
        node_size: u32,
        split_percent: u8,
        merge_percent: u8,
        sizes: Sizes,
    ) -> Result<Self> {
        if !(1..=100).contains(&split_percent) {
            return Err(Error::invalid(HEADER, 0, "split percent"));
        }
        if merge_percent == 0 || merge_percent >= split_percent.div_ceil(2) {
            return Err(Error::invalid(HEADER, 0, "merge percent"));
        }
        let header = Header {
            addr: 0,
            sizes,
            record_type,
            node_size,
            record_size,
            depth: 0,
            split_percent,
            merge_percent,
            root_addr: None,
            root_nrecords: 0,
            total_records: 0,
            geometry: Geometry {
                offset_size: usize::from(sizes.offset),
                max_nrec_size: 0,
                levels: Vec::new(),
            },
        };
        // Decoding the header checks the parameters exactly as for a tree read from a file.
        let header = Header::decode(&header.encode(), 0, sizes)?;
        let mut edit = TreeEdit::from_header(&header)?;
        edit.addr = None;
        edit.changed = true;
        Ok(edit)
    }

    fn from_header(h: &Header) -> Result<Self> {
        let rs = usize::from(h.record_size);
        let mut edit = TreeEdit {
            sizes: h.sizes,
            record_type: h.record_type,
            node_size: h.node_size,
            split_percent: h.split_percent,
            depth: h.depth,
            geometry: h.geometry.clone(),
            shape: Shape {
                rs,
                caps: Vec::new(),
                merge_percent: h.merge_percent,
            },
            root: None,
            addr: Some(h.addr),
            changed: false,
            discarded: Vec::new(),
        };
        edit.reshape(h.addr)?;
        Ok(edit)
    }

    /// Recompute the geometry and capacities for the current depth.
    fn reshape(&mut self, at: u64) -> Result<()> {
        let rs = self.shape.rs as u16;
        let o = self.sizes.offset;
        let g = Geometry::compute(self.node_size, rs, self.depth, o).ok_or_else(|| {
            Error::invalid(HEADER, at, "node size (too small for the tree depth)")
        })?;
        let next = self
            .depth
            .checked_add(1)
            .and_then(|d| Geometry::compute(self.node_size, rs, d, o));
        let levels = next.as_ref().unwrap_or(&g).levels.iter();
        let caps: Vec<usize> = levels
            .map(|l| usize::try_from(l.max_nrec.min(u64::from(u16::MAX))).unwrap_or(0))
            .collect();
        if caps
            .iter()
            .take(usize::from(self.depth) + 1)
            .any(|&c| c < 2)
        {
            return Err(Error::unsupported(
                HEADER,
                at,
                "v2 B-tree whose nodes hold fewer than 2 records",
            ));
        }
        self.geometry = g;
        self.shape.caps = caps;
        Ok(())
    }

    /// Load the tree whose header is at `addr`: the header and every node, each fetched
    /// with `read(address, length)` (the header's [`header_size`] bytes; a node's bytes up
    /// to and including its checksum) and checked as [`Header::decode`], [`decode_leaf`]
    /// and [`decode_internal`] do. At most `max_nodes` nodes are read; a node reached twice
    /// is a cycle.
    ///
    /// # Errors
    /// Whatever `read` returns; the decoders' errors; `Cycle`; `Limit` beyond `max_nodes`;
    /// `Invalid` when a child's total or the header's total disagrees with the records
    /// found, a node other than the root is empty, or the internal root has no record;
    /// `Unsupported` for nodes holding fewer than two records (or more than `u16::MAX`).
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        max_nodes: usize,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let buf = read(addr, header_size(sizes))?;
        let h = Header::decode(&buf, addr, sizes)?;
        let mut edit = TreeEdit::from_header(&h)?;
        let Some(root_addr) = h.root_addr else {
            if h.total_records != 0 {
                return Err(Error::invalid(HEADER, addr, "total number of records").into());
            }
            if edit.depth != 0 {
                edit.depth = 0;
                edit.reshape(addr)?;
                edit.changed = true;
            }
            return Ok(edit);
        };
        let mut loader = Loader {
            header: &h,
            shape: &edit.shape,
            seen: BTreeSet::new(),
            max_nodes,
            read,
        };
        loader.seen.insert(addr);
        let root = loader.node(root_addr, h.depth, u64::from(h.root_nrecords), true)?;
        if root.total != h.total_records {
            return Err(Error::invalid(HEADER, addr, "total number of records").into());
        }
        edit.root = Some(root);
        Ok(edit)
    }

    /// Records in the tree.
    pub fn len(&self) -> u64 {
        self.root.as_ref().map_or(0, |r| r.total)
    }

    /// Whether the tree holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record type (header field).
    pub fn record_type(&self) -> u8 {
        self.record_type
    }

    /// Bytes of every record.
    pub fn record_size(&self) -> usize {
        self.shape.rs
    }

    /// Bytes of every node.
    pub fn node_size(&self) -> u32 {
        self.node_size
    }

    /// Depth of the tree (0: the root is a leaf).
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Offset and length widths of the file.
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// Address of the header, once loaded or stored.
    pub fn addr(&self) -> Option<u64> {
        self.addr
    }

    /// Whether anything changed since the tree was loaded or last stored.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// All records, in key order.
    pub fn records(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        if let Some(r) = &self.root {
            r.collect(self.shape.rs, &mut out);
        }
        out
    }

    /// The record of rank `rank` (0-based, in key order).
    pub fn get(&self, rank: u64) -> Option<&[u8]> {
        let rs = self.shape.rs;
        let mut node = self.root.as_ref()?;
        let mut q = rank;
        if q >= node.total {
            return None;
        }
        loop {
            if node.children.is_empty() {
                return Some(node.rec(usize::try_from(q).ok()?, rs));
            }
            let mut next = None;
            for (i, c) in node.children.iter().enumerate() {
                if q < c.total {
                    next = Some(c);
                    break;
                }
                if q == c.total {
                    return Some(node.rec(i, rs));
                }
                q -= c.total + 1;
            }
            node = next?;
        }
    }

    fn search<'a, E>(
        &'a self,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<Hit<'a>, E> {
        let rs = self.shape.rs;
        let Some(mut node) = self.root.as_ref() else {
            return Ok(Hit::Missing(0));
        };
        let mut base = 0u64;
        loop {
            let (mut lo, mut hi) = (0, node.nrec(rs));
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let rec = node.rec(mid, rs);
                match cmp(rec)? {
                    Ordering::Less => lo = mid + 1,
                    Ordering::Greater => hi = mid,
                    Ordering::Equal => {
                        let below: u64 = node.children.iter().take(mid + 1).map(|c| c.total).sum();
                        return Ok(Hit::Found(base + below + mid as u64, rec));
                    }
                }
            }
            base += node.children.iter().take(lo).map(|c| c.total).sum::<u64>() + lo as u64;
            match node.children.get(lo) {
                Some(c) => node = c,
                None => return Ok(Hit::Missing(base)),
            }
        }
    }

    /// The record equal to the key `cmp` describes.
    ///
    /// # Errors
    /// Whatever `cmp` returns.
    pub fn find<E>(
        &self,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<Option<&[u8]>, E> {
        Ok(match self.search(cmp)? {
            Hit::Found(_, rec) => Some(rec),
            Hit::Missing(_) => None,
        })
    }

    /// Where the key `cmp` describes sits: `Ok(rank)` of the equal record, or `Err(rank)` a
    /// record with that key would take (as [`slice::binary_search`]).
    ///
    /// # Errors
    /// Whatever `cmp` returns.
    pub fn position<E>(
        &self,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<core::result::Result<u64, u64>, E> {
        Ok(match self.search(cmp)? {
            Hit::Found(rank, _) => Ok(rank),
            Hit::Missing(rank) => Err(rank),
        })
    }

    fn check_record(&self, rec: &[u8]) -> Result<()> {
        if rec.len() != self.shape.rs {
            return Err(Error::invalid(
                RECORD,
                self.addr.unwrap_or(0),
                "record size",
            ));
        }
        Ok(())
    }

    /// Insert `rec`, whose key `cmp` describes (as for [`TreeEdit::find`]). Returns `false`,
    /// changing nothing, when an equal record exists.
    ///
    /// # Errors
    /// Whatever `cmp` returns; `Invalid` when `rec` is not [`TreeEdit::record_size`] bytes;
    /// `Limit` when the root is full and the tree cannot grow a level (tiny nodes or
    /// [`MAX_DEPTH`]).
    pub fn insert<R: AsRef<[u8]>, E: From<Error>>(
        &mut self,
        rec: R,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<bool, E> {
        let rec = rec.as_ref();
        self.check_record(rec)?;
        match self.position(cmp)? {
            Ok(_) => Ok(false),
            Err(rank) => {
                self.insert_at(rank, rec)?;
                Ok(true)
            }
        }
    }

    /// Insert `rec` so that it gets rank `rank` (clamped to [`TreeEdit::len`]); the caller
    /// keeps the records ordered.
    ///
    /// # Errors
    /// As [`TreeEdit::insert`].
    pub fn insert_at(&mut self, rank: u64, rec: &[u8]) -> Result<()> {
        self.check_record(rec)?;
        let at = self.addr.unwrap_or(0);
        let depth = usize::from(self.depth);
        let sh = &self.shape;
        if let Some(root) = &self.root {
            if root.nrec(sh.rs) >= sh.cap(depth) && sh.cap(depth + 1) < 2 {
                return Err(Error::limit(
                    HEADER,
                    at,
                    "v2 B-tree depth",
                    u64::from(self.depth) + 1,
                    u64::from(self.depth),
                ));
            }
        }
        let root = self.root.get_or_insert_with(|| EditNode {
            dirty: true,
            ..EditNode::default()
        });
        insert_at(root, depth, rank.min(root.total), rec, sh);
        self.changed = true;
        if root.nrec(sh.rs) > sh.cap(depth) {
            let old = core::mem::take(root);
            let mut top = EditNode {
                total: old.total,
                children: alloc::vec![old],
                dirty: true,
                ..EditNode::default()
            };
            split(&mut top, 0, sh);
            *root = top;
            self.depth += 1;
            self.reshape(at)?;
        }
        Ok(())
    }

    /// Overwrite the record equal to the key `cmp` describes with `rec` (same key). Returns
    /// `false`, changing nothing, when there is no such record.
    ///
    /// # Errors
    /// Whatever `cmp` returns; `Invalid` when `rec` is not [`TreeEdit::record_size`] bytes.
    pub fn replace<R: AsRef<[u8]>, E: From<Error>>(
        &mut self,
        rec: R,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<bool, E> {
        let rec = rec.as_ref();
        self.check_record(rec)?;
        let Ok(rank) = self.position(cmp)? else {
            return Ok(false);
        };
        let rs = self.shape.rs;
        let depth = usize::from(self.depth);
        let slot = self
            .root
            .as_mut()
            .and_then(|root| record_mut(root, depth, rank, rs));
        match slot {
            Some(slot) => {
                slot.copy_from_slice(rec);
                self.changed = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Remove the record equal to the key `cmp` describes, returning it.
    ///
    /// # Errors
    /// Whatever `cmp` returns.
    pub fn remove<E>(
        &mut self,
        cmp: &mut dyn FnMut(&[u8]) -> core::result::Result<Ordering, E>,
    ) -> core::result::Result<Option<Vec<u8>>, E> {
        Ok(match self.position(cmp)? {
            Ok(rank) => self.remove_at(rank),
            Err(_) => None,
        })
    }

    /// Remove the record of rank `rank`, returning it (`None` when `rank` ≥ the length).
    pub fn remove_at(&mut self, rank: u64) -> Option<Vec<u8>> {
        let depth = usize::from(self.depth);
        let sh = &self.shape;
        let root = self.root.as_mut()?;
        if rank >= root.total {
            return None;
        }
        let rec = remove_at(root, depth, rank, sh, &mut self.discarded);
        self.changed = true;
        if root.nrec(sh.rs) == 0 {
            if depth == 0 {
                if let Some(old) = self.root.take() {
                    self.discarded.extend(old.addr);
                }
            } else if root.children.len() == 1 {
                let mut old = core::mem::take(root);
                self.discarded.extend(old.addr);
                if let Some(child) = old.children.pop() {
                    *root = child;
                }
                self.depth -= 1;
                // The levels that remain had capacities of at least 2 already (a level's
                // capacity does not depend on the depth): this cannot fail.
                let _ = self.reshape(self.addr.unwrap_or(0));
            }
        }
        Some(rec)
    }

    /// Keep only the records `keep` accepts; returns the others, in key order.
    pub fn retain(&mut self, keep: &mut dyn FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let drop: Vec<u64> = self
            .records()
            .into_iter()
            .enumerate()
            .filter(|(_, r)| !keep(r))
            .map(|(i, _)| i as u64)
            .collect();
        let mut removed: Vec<Vec<u8>> = drop
            .into_iter()
            .rev()
            .filter_map(|rank| self.remove_at(rank))
            .collect();
        removed.reverse();
        removed
    }

    /// The header as it would be stored at `addr` (the root address is that of the last
    /// store; call after [`TreeEdit::store`] for a current one).
    pub fn header(&self, addr: u64) -> Header {
        let rs = self.shape.rs;
        Header {
            addr,
            sizes: self.sizes,
            record_type: self.record_type,
            node_size: self.node_size,
            record_size: rs as u16,
            depth: self.depth,
            split_percent: self.split_percent,
            merge_percent: self.shape.merge_percent,
            root_addr: self.root.as_ref().and_then(|r| r.addr),
            root_nrecords: self.root.as_ref().map_or(0, |r| r.nrec(rs) as u16),
            total_records: self.len(),
            geometry: self.geometry.clone(),
        }
    }

    /// Encode what changed since the tree was loaded or last stored.
    ///
    /// Nodes are copy-on-write: every changed node, and so every ancestor of one, goes to
    /// fresh space from `alloc(node_size)` and its old extent to [`Stored::freed`], as do
    /// nodes merged away or emptied. The header goes to `header_addr`, else to the address
    /// it was loaded from or last stored at, else to fresh space from `alloc`; it is
    /// written (in place, last) whenever anything changed or the tree was never stored or
    /// moves (freeing a header's old place is the caller's business). Returns the header's
    /// address and the blocks to write, children before parents.
    ///
    /// # Errors
    /// `Limit` when `alloc` returns an address the file's offsets cannot hold, or the
    /// record count does not fit the file's lengths. The edit must then be discarded.
    pub fn store(
        &mut self,
        header_addr: Option<u64>,
        alloc: &mut dyn FnMut(u64) -> u64,
    ) -> Result<(u64, Stored)> {
        let o = usize::from(self.sizes.offset);
        let (addr, moved) = match header_addr.or(self.addr) {
            Some(a) => (a, self.addr != Some(a)),
            None => (alloc(header_size(self.sizes) as u64), true),
        };
        if !fits_addr(addr, o) {
            return Err(Error::limit(
                HEADER,
                addr,
                "v2 B-tree header address",
                addr,
                u64::MAX,
            ));
        }
        if !fits(self.len(), usize::from(self.sizes.length)) {
            return Err(Error::limit(
                HEADER,
                addr,
                "v2 B-tree records",
                self.len(),
                u64::MAX
                    .checked_shr(64 - 8 * u32::from(self.sizes.length.min(8)))
                    .unwrap_or(0),
            ));
        }
        let mut ctx = StoreCtx {
            sizes: self.sizes,
            rs: self.shape.rs,
            record_type: self.record_type,
            node_size: self.node_size,
            geometry: &self.geometry,
            alloc,
            stored: Stored::default(),
        };
        let mut written = false;
        if let Some(root) = &mut self.root {
            written = ctx.node(root, usize::from(self.depth), addr)?;
        }
        let mut stored = ctx.stored;
        let size = u64::from(self.node_size);
        stored
            .freed
            .extend(self.discarded.drain(..).map(|a| (a, size)));
        if self.changed || moved || written {
            stored.writes.push((addr, self.header(addr).encode()));
        }
        self.addr = Some(addr);
        self.changed = false;
        Ok((addr, stored))
    }

    /// Every extent the stored tree occupies — the header (if it has an address) and every
    /// node on disk — plus nodes retired since the last store: what to free when the whole
    /// tree is deleted.
    pub fn delete(self) -> Vec<(u64, u64)> {
        let size = u64::from(self.node_size);
        let mut addrs = self.discarded;
        if let Some(r) = &self.root {
            r.addrs(&mut addrs);
        }
        let mut out: Vec<(u64, u64)> = addrs.into_iter().map(|a| (a, size)).collect();
        if let Some(a) = self.addr {
            out.insert(0, (a, header_size(self.sizes) as u64));
        }
        out
    }

    #[cfg(test)]
    fn touch_all(&mut self) {
        if let Some(r) = &mut self.root {
            r.touch_all();
        }
        self.changed = true;
    }
}

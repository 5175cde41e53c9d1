//! The version 1 B-tree (type 1) chunk index, kept the way libhdf5 keeps it.
//!
//! The B-tree rules, as libhdf5 applies them for `istore` trees:
//! - A node holds up to 2K children (K = the superblock's indexed-storage K, 32 by default);
//!   key i is the left bound of child i, key n the right bound of the last child.
//! - The first chunk of an empty tree gets the keys (chunk, chunk + one chunk in every
//!   dimension, including the element-size dimension — so that right bound carries the element
//!   size in its last offset).
//! - Keys compare by their offsets, then by the element-size offset (0 in every chunk's own
//!   key). A chunk at or past the right-most key becomes the new right-most child, and the
//!   right bound becomes that chunk + 1 again; a chunk below every key becomes child 0; any
//!   other new chunk goes right after the child whose range holds it. (So the final key ends
//!   up at, or one chunk beyond, the last chunk, depending on the order chunks came in.)
//! - A full node splits before the insertion: 90 % of its children stay when it has no right
//!   sibling, 10 % when it has no left sibling, half otherwise; the new node becomes its right
//!   sibling. A split root moves to a new address and a new root one level up takes its place
//!   (the root address, which the layout message holds, never changes).
//! - Rewriting a chunk with a new size changes its key; a parent's key follows the left key of
//!   its child.
//!
//! Trees built this way are node for node the ones libhdf5 builds for the same insertion
//! order (tests/write_chunked.rs compares them with h5py's). libhdf5 inserts a chunk when its
//! chunk cache evicts it, so when a write touches more chunks than the cache holds its order —
//! and tree — can differ from ours; both are valid.

use super::meta::{Loc, Meta};
use crate::base::FileInner;
use crate::error::{Error, Result};
use crate::write::WriteCtx;
use h5_format::btree1::{self, ChunkKey, Keys, Node};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

/// Where a chunk falls among a node's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Below key 0.
    Less,
    /// Key `idx` is this chunk's.
    Exact,
    /// Strictly inside child `idx`'s range.
    Inside,
    /// At or past the right-most key (`idx` = the last child).
    Greater,
}

/// Compare a chunk (offsets in elements; element-size offset 0) with a key.
fn cmp_key(off: &[u64], k: &ChunkKey) -> Ordering {
    off.iter()
        .cmp(k.offset.iter())
        .then(0u64.cmp(&k.element_offset))
}

fn keys(n: &Node) -> &Vec<ChunkKey> {
    match &n.keys {
        Keys::Chunk(k) => k,
        Keys::Group(_) => unreachable!("checked when loaded"),
    }
}

fn keys_mut(n: &mut Node) -> &mut Vec<ChunkKey> {
    match &mut n.keys {
        Keys::Chunk(k) => k,
        Keys::Group(_) => unreachable!("checked when loaded"),
    }
}

fn locate(n: &Node, off: &[u64]) -> (usize, Place) {
    let ks = keys(n);
    let count = n.children.len();
    let p = ks[..count].partition_point(|k| cmp_key(off, k) != Ordering::Less);
    if p == 0 {
        return (0, Place::Less);
    }
    let idx = p - 1;
    if idx == count - 1 && cmp_key(off, &ks[count]) != Ordering::Less {
        (idx, Place::Greater)
    } else if cmp_key(off, &ks[idx]) == Ordering::Equal {
        (idx, Place::Exact)
    } else {
        (idx, Place::Inside)
    }
}

/// A chunk B-tree being read and changed: nodes are loaded on demand and written back by
/// [`Tree::store`].
pub(super) struct Tree {
    pub(super) root: Option<u64>,
    /// Children per node: 2K.
    two_k: usize,
    k: u16,
    rank: usize,
    cdims: Vec<u64>,
    es: u64,
    node_len: u64,
    nodes: HashMap<u64, Node>,
    dirty: BTreeSet<u64>,
    /// Dirty nodes allocated since the last store: nothing on disk names them yet.
    fresh: BTreeSet<u64>,
    /// Nodes given up (freed once the tree no longer points to them).
    freed: Vec<u64>,
}

impl Tree {
    pub(super) fn new(cx: &WriteCtx<'_>, m: &Meta) -> Tree {
        let k = match cx.f.superblock.indexed_storage_k {
            0 => 32,
            k => k,
        };
        let rank = m.rank();
        Tree {
            root: m.chunk.addr,
            two_k: 2 * k as usize,
            k,
            rank,
            cdims: m.chunk.dims.clone(),
            es: m.es as u64,
            node_len: btree1::node_size(cx.f.sizes, 1, k, rank + 1) as u64,
            nodes: HashMap::new(),
            dirty: BTreeSet::new(),
            fresh: BTreeSet::new(),
            freed: Vec::new(),
        }
    }

    fn load(&mut self, f: &FileInner, addr: u64) -> Result<()> {
        if self.nodes.contains_key(&addr) {
            return Ok(());
        }
        if self.nodes.len() > f.limits.max_nodes {
            return Err(h5_format::Error::limit(
                "v1 B-tree node",
                f.offset_of(addr),
                "nodes",
                self.nodes.len() as u64,
                f.limits.max_nodes as u64,
            )
            .into());
        }
        let node = crate::base::read_btree1_node(f, addr, self.rank + 1)?;
        let bad = |what| -> Error {
            h5_format::Error::invalid("v1 B-tree node", f.offset_of(addr), what).into()
        };
        if node.node_type != 1 || !matches!(node.keys, Keys::Chunk(_)) {
            return Err(bad("node type for chunks"));
        }
        if node.children.len() > self.two_k {
            return Err(bad("more children than the indexed-storage K allows"));
        }
        if node.level > 0 && node.children.is_empty() {
            return Err(bad("empty internal node"));
        }
        self.nodes.insert(addr, node);
        Ok(())
    }

    fn node(&self, addr: u64) -> &Node {
        &self.nodes[&addr]
    }

    fn node_mut(&mut self, addr: u64) -> &mut Node {
        self.dirty.insert(addr);
        self.nodes.get_mut(&addr).expect("loaded")
    }

    /// The key one chunk past `k` in every dimension: libhdf5's right bound after a new
    /// right-most chunk (its element-size offset is the element size).
    fn past(&self, k: &ChunkKey) -> ChunkKey {
        ChunkKey {
            size: 0,
            filter_mask: 0,
            offset: k
                .offset
                .iter()
                .zip(&self.cdims)
                .map(|(&o, &c)| o + c)
                .collect(),
            element_offset: self.es,
        }
    }

    /// Where the chunk at element offsets `off` is stored, if it is.
    pub(super) fn lookup(&mut self, f: &FileInner, off: &[u64]) -> Result<Option<Loc>> {
        let Some(mut a) = self.root else {
            return Ok(None);
        };
        for _ in 0..=u8::MAX as usize + 1 {
            self.load(f, a)?;
            let n = self.node(a);
            if n.children.is_empty() {
                return Ok(None);
            }
            let (idx, place) = locate(n, off);
            if n.level == 0 {
                return Ok((place == Place::Exact).then(|| {
                    let k = &keys(n)[idx];
                    Loc {
                        addr: n.children[idx],
                        size: k.size,
                        mask: k.filter_mask,
                    }
                }));
            }
            if place == Place::Less {
                return Ok(None);
            }
            a = n.children[idx];
        }
        Err(h5_format::Error::invalid("v1 B-tree node", f.offset_of(a), "tree depth").into())
    }

    /// Record (insert or update) the chunk at `off`.
    pub(super) fn upsert(&mut self, cx: &mut WriteCtx<'_>, off: &[u64], loc: Loc) -> Result<()> {
        let root = match self.root {
            Some(r) => r,
            None => {
                let r = cx.alloc(self.node_len)?;
                self.fresh.insert(r);
                self.nodes.insert(r, self.empty_leaf());
                self.dirty.insert(r);
                self.root = Some(r);
                r
            }
        };
        let key = ChunkKey {
            size: loc.size,
            filter_mask: loc.mask,
            offset: off.to_vec(),
            element_offset: 0,
        };
        if let Some((md, right)) = self.insert(cx, root, key, loc.addr, 0)? {
            // The root split: move it, and put a new root one level up at its address.
            let moved = cx.alloc(self.node_len)?;
            self.fresh.insert(moved);
            let old = self.nodes.remove(&root).expect("loaded");
            self.node_mut(right).left = Some(moved);
            let new_root = Node {
                node_type: 1,
                level: old.level + 1,
                left: None,
                right: None,
                keys: Keys::Chunk(vec![
                    keys(&old)[0].clone(),
                    md,
                    keys(self.node(right)).last().expect("keys").clone(),
                ]),
                children: vec![moved, right],
            };
            self.nodes.insert(moved, old);
            self.nodes.insert(root, new_root);
            self.dirty.insert(moved);
            self.dirty.insert(root);
        }
        Ok(())
    }

    fn empty_leaf(&self) -> Node {
        Node {
            node_type: 1,
            level: 0,
            left: None,
            right: None,
            keys: Keys::Chunk(vec![ChunkKey {
                size: 0,
                filter_mask: 0,
                offset: vec![0; self.rank],
                element_offset: 0,
            }]),
            children: Vec::new(),
        }
    }

    /// Insert under the node at `addr`; returns the new right sibling (its left key and
    /// address) when the node split.
    fn insert(
        &mut self,
        cx: &mut WriteCtx<'_>,
        addr: u64,
        key: ChunkKey,
        child: u64,
        depth: usize,
    ) -> Result<Option<(ChunkKey, u64)>> {
        if depth > u8::MAX as usize {
            return Err(h5_format::Error::invalid(
                "v1 B-tree node",
                cx.f.offset_of(addr),
                "tree depth",
            )
            .into());
        }
        self.load(cx.f, addr)?;
        let n = self.node(addr);
        let count = n.children.len();
        if count == 0 {
            // the first chunk of an empty tree
            let past = self.past(&key);
            let n = self.node_mut(addr);
            n.level = 0;
            *keys_mut(n) = vec![key, past];
            n.children = vec![child];
            return Ok(None);
        }
        let (idx, place) = locate(n, &key.offset);
        if n.level == 0 {
            let ks = keys(n);
            return match place {
                Place::Exact => {
                    let n = self.node_mut(addr);
                    let k = &mut keys_mut(n)[idx];
                    k.size = key.size;
                    k.filter_mask = key.filter_mask;
                    n.children[idx] = child;
                    Ok(None)
                }
                Place::Less => {
                    let right = ks[0].clone();
                    self.insert_child(cx, addr, 0, 0, key, right, child)
                }
                Place::Inside => {
                    let right = ks[idx + 1].clone();
                    self.insert_child(cx, addr, idx, idx + 1, key, right, child)
                }
                Place::Greater => {
                    let right = self.past(&key);
                    self.insert_child(cx, addr, idx, idx + 1, key, right, child)
                }
            };
        }
        let sub_addr = n.children[idx];
        let split = self.insert(cx, sub_addr, key, child, depth + 1)?;
        let (first, last) = {
            let sub = keys(self.node(sub_addr));
            (sub[0].clone(), sub.last().expect("keys").clone())
        };
        let n = self.node_mut(addr);
        keys_mut(n)[idx] = first;
        match split {
            None => {
                if idx == count - 1 {
                    keys_mut(n)[count] = last;
                }
                Ok(None)
            }
            Some((md, sib)) => {
                let right = if idx == count - 1 {
                    keys(self.node(sib)).last().expect("keys").clone()
                } else {
                    keys(self.node(addr))[idx + 1].clone()
                };
                self.insert_child(cx, addr, idx, idx + 1, md, right, sib)
            }
        }
    }

    /// Put `child` at position `pos` of the node at `addr` with left key `left` and right
    /// bound `right`, splitting the node first when it is full (`idx`: the child the
    /// insertion is next to, which decides the half it goes into).
    #[allow(clippy::too_many_arguments)]
    fn insert_child(
        &mut self,
        cx: &mut WriteCtx<'_>,
        addr: u64,
        idx: usize,
        pos: usize,
        left: ChunkKey,
        right: ChunkKey,
        child: u64,
    ) -> Result<Option<(ChunkKey, u64)>> {
        let put = |n: &mut Node, pos: usize| {
            let ks = keys_mut(n);
            ks.insert(pos, left);
            ks[pos + 1] = right;
            n.children.insert(pos, child);
        };
        let n = self.node(addr);
        if n.children.len() < self.two_k {
            put(self.node_mut(addr), pos);
            return Ok(None);
        }
        // Split: how many children stay depends on where the node is among its siblings.
        let nleft = n.split_left(self.two_k, idx);
        let new_addr = cx.alloc(self.node_len)?;
        let old_right = n.right;
        let n = self.node_mut(addr);
        let ks = keys_mut(n);
        let rkeys = ks[nleft..].to_vec();
        ks.truncate(nleft + 1);
        let rchildren = n.children.split_off(nleft);
        n.right = Some(new_addr);
        let mut sib = Node {
            node_type: 1,
            level: n.level,
            left: Some(addr),
            right: old_right,
            keys: Keys::Chunk(rkeys),
            children: rchildren,
        };
        if let Some(r) = old_right {
            self.load(cx.f, r)?;
            self.node_mut(r).left = Some(new_addr);
        }
        if idx < nleft {
            put(self.node_mut(addr), pos);
        } else {
            put(&mut sib, pos - nleft);
        }
        let md = keys(&sib)[0].clone();
        self.nodes.insert(new_addr, sib);
        self.dirty.insert(new_addr);
        self.fresh.insert(new_addr);
        Ok(Some((md, new_addr)))
    }

    /// Every stored chunk: (element offsets, location), in key order.
    pub(super) fn all(&mut self, f: &FileInner) -> Result<Vec<(Vec<u64>, Loc)>> {
        let mut out = Vec::new();
        self.walk(f, &mut |n, _| {
            if n.level == 0 {
                for (k, &c) in keys(n).iter().zip(&n.children) {
                    out.push((
                        k.offset.clone(),
                        Loc {
                            addr: c,
                            size: k.size,
                            mask: k.filter_mask,
                        },
                    ));
                }
            }
        })?;
        Ok(out)
    }

    /// The file space of every node, as `(address, size)`.
    pub(super) fn extents(&mut self, f: &FileInner) -> Result<Vec<(u64, u64)>> {
        let mut out = Vec::new();
        let len = self.node_len;
        self.walk(f, &mut |_, a| out.push((a, len)))?;
        Ok(out)
    }

    /// Visit every node (left to right, depth first), cycle-checked.
    fn walk(&mut self, f: &FileInner, visit: &mut dyn FnMut(&Node, u64)) -> Result<()> {
        let Some(root) = self.root else {
            return Ok(());
        };
        let mut stack = vec![(root, 0usize)];
        let mut seen = BTreeSet::new();
        while let Some((a, depth)) = stack.pop() {
            if !seen.insert(a) || depth > u8::MAX as usize {
                return Err(h5_format::Error::new(
                    "v1 B-tree node",
                    f.offset_of(a),
                    h5_format::ErrorKind::Cycle,
                )
                .into());
            }
            self.load(f, a)?;
            let n = self.node(a);
            visit(n, a);
            if n.level > 0 {
                stack.extend(n.children.iter().rev().map(|&c| (c, depth + 1)));
            }
        }
        Ok(())
    }

    /// Drop every chunk for which `keep` is false; returns the dropped chunks. Nodes left
    /// empty are unlinked from their siblings and given up; an empty root becomes an empty
    /// leaf.
    pub(super) fn retain(
        &mut self,
        f: &FileInner,
        keep: &dyn Fn(&[u64]) -> bool,
    ) -> Result<Vec<Loc>> {
        let mut dropped = Vec::new();
        if let Some(root) = self.root {
            if self.retain_in(f, root, keep, &mut dropped, 0)? {
                let leaf = self.empty_leaf();
                *self.node_mut(root) = leaf;
            }
        }
        Ok(dropped)
    }

    /// Returns whether the node is now empty.
    fn retain_in(
        &mut self,
        f: &FileInner,
        addr: u64,
        keep: &dyn Fn(&[u64]) -> bool,
        dropped: &mut Vec<Loc>,
        depth: usize,
    ) -> Result<bool> {
        if depth > u8::MAX as usize {
            return Err(h5_format::Error::invalid(
                "v1 B-tree node",
                f.offset_of(addr),
                "tree depth",
            )
            .into());
        }
        self.load(f, addr)?;
        let n = self.node(addr);
        let count = n.children.len();
        if n.level == 0 {
            let gone: Vec<usize> = (0..count).filter(|&i| !keep(&keys(n)[i].offset)).collect();
            if gone.is_empty() {
                return Ok(count == 0);
            }
            let n = self.node_mut(addr);
            for &i in gone.iter().rev() {
                let k = keys_mut(n).remove(i);
                let c = n.children.remove(i);
                dropped.push(Loc {
                    addr: c,
                    size: k.size,
                    mask: k.filter_mask,
                });
            }
            return Ok(n.children.is_empty());
        }
        let children = n.children.clone();
        let mut changed = false;
        let mut remaining = children.len();
        for (i, &c) in children.iter().enumerate().rev() {
            let empty = self.retain_in(f, c, keep, dropped, depth + 1)?;
            if empty {
                self.unlink(f, c)?;
                let n = self.node_mut(addr);
                keys_mut(n).remove(i);
                n.children.remove(i);
                remaining -= 1;
                changed = true;
            } else if self.dirty.contains(&c) {
                let first = keys(self.node(c))[0].clone();
                let n = self.node_mut(addr);
                keys_mut(n)[i] = first;
                changed = true;
            }
        }
        if remaining > 0 && changed {
            let last_child = *self.node(addr).children.last().expect("children");
            let last = keys(self.node(last_child)).last().expect("keys").clone();
            let n = self.node_mut(addr);
            *keys_mut(n).last_mut().expect("keys") = last;
        }
        Ok(remaining == 0)
    }

    /// Take an empty node out of its sibling chain and give it up.
    fn unlink(&mut self, f: &FileInner, addr: u64) -> Result<()> {
        let (l, r) = {
            let n = self.node(addr);
            (n.left, n.right)
        };
        if let Some(l) = l {
            self.load(f, l)?;
            self.node_mut(l).right = r;
        }
        if let Some(r) = r {
            self.load(f, r)?;
            self.node_mut(r).left = l;
        }
        self.nodes.remove(&addr);
        self.dirty.remove(&addr);
        self.fresh.remove(&addr);
        self.freed.push(addr);
        Ok(())
    }

    /// Write every changed node.
    /// Write the dirty nodes so that a process stopped between any two writes leaves a tree
    /// that reaches every chunk it reached before: first the new nodes (nothing names them
    /// yet), then the existing ones from the top level down, so a parent names a new sibling
    /// before the node it split from is cut.
    pub(super) fn store(&mut self, cx: &mut WriteCtx<'_>) -> Result<()> {
        let sizes = cx.f.sizes;
        let fresh = std::mem::take(&mut self.fresh);
        let mut order: Vec<u64> = std::mem::take(&mut self.dirty).into_iter().collect();
        order.sort_by_key(|a| (!fresh.contains(a), std::cmp::Reverse(self.nodes[a].level)));
        for a in order {
            let bytes = self.nodes[&a].encode(sizes, self.k);
            cx.write(a, &bytes)?;
        }
        Ok(())
    }

    /// Store, then forget cached nodes when many are held.
    pub(super) fn checkpoint(&mut self, cx: &mut WriteCtx<'_>) -> Result<()> {
        self.store(cx)?;
        if self.nodes.len() > 4096 {
            self.nodes.clear();
        }
        Ok(())
    }

    /// Give up the space of nodes taken out of the tree (after the tree is stored), and
    /// forget them (their space may hold something else next).
    pub(super) fn release(&mut self, cx: &mut WriteCtx<'_>) {
        for a in std::mem::take(&mut self.freed) {
            self.nodes.remove(&a);
            cx.free(a, self.node_len);
        }
    }

    /// Whether this tree, as stored by an earlier write, is the index `m` describes now
    /// (same root and shape of nodes) and has nothing left to store.
    pub(super) fn fits(&self, cx: &WriteCtx<'_>, m: &Meta) -> bool {
        let fresh = Tree::new(cx, m);
        self.root == fresh.root
            && self.two_k == fresh.two_k
            && self.rank == fresh.rank
            && self.cdims == fresh.cdims
            && self.es == fresh.es
            && self.node_len == fresh.node_len
            && self.dirty.is_empty()
            && self.fresh.is_empty()
            && self.freed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_with_the_element_dimension() {
        let k = |o: &[u64], e| ChunkKey {
            size: 0,
            filter_mask: 0,
            offset: o.to_vec(),
            element_offset: e,
        };
        assert_eq!(cmp_key(&[4, 3], &k(&[4, 3], 0)), Ordering::Equal);
        assert_eq!(cmp_key(&[4, 3], &k(&[4, 3], 4)), Ordering::Less);
        assert_eq!(cmp_key(&[4, 6], &k(&[4, 3], 4)), Ordering::Greater);
    }
}

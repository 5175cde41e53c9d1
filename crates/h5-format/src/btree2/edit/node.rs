//! A node of the editing model in memory and the B-tree algorithms over it: insert, split,
//! balance, merge, remove.

use alloc::vec::Vec;

/// One node of a tree being edited.
#[derive(Debug, Clone, Default)]
pub(super) struct EditNode {
    /// The records, `record_size` bytes each, in key order.
    pub(super) recs: Vec<u8>,
    /// Children (one more than records), empty for a leaf.
    pub(super) children: Vec<EditNode>,
    /// Records in this node and all its descendants.
    pub(super) total: u64,
    /// Where the node is on disk (`None`: never stored).
    pub(super) addr: Option<u64>,
    /// Changed since it was loaded or stored.
    pub(super) dirty: bool,
}

impl EditNode {
    pub(super) fn nrec(&self, rs: usize) -> usize {
        self.recs.len() / rs
    }

    pub(super) fn rec(&self, i: usize, rs: usize) -> &[u8] {
        self.recs.get(i * rs..(i + 1) * rs).unwrap_or(&[])
    }

    pub(super) fn recount(&mut self, rs: usize) {
        let below: u64 = self.children.iter().map(|c| c.total).sum();
        self.total = self.nrec(rs) as u64 + below;
    }

    pub(super) fn collect<'a>(&'a self, rs: usize, out: &mut Vec<&'a [u8]>) {
        let n = self.nrec(rs);
        for i in 0..n {
            if let Some(c) = self.children.get(i) {
                c.collect(rs, out);
            }
            out.push(self.rec(i, rs));
        }
        if let Some(c) = self.children.get(n) {
            c.collect(rs, out);
        }
    }

    /// Every on-disk address in the subtree.
    pub(super) fn addrs(&self, out: &mut Vec<u64>) {
        if let Some(a) = self.addr {
            out.push(a);
        }
        for c in &self.children {
            c.addrs(out);
        }
    }

    #[cfg(test)]
    pub(super) fn touch_all(&mut self) {
        self.dirty = true;
        for c in &mut self.children {
            c.touch_all();
        }
    }
}

/// Record size and node capacities of a tree being edited.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) rs: usize,
    /// Records a node holds, per level from the leaves up: the levels `0..=depth`, plus
    /// `depth + 1` when the tree can grow. Capped at `u16::MAX` (the header's count of
    /// records in the root).
    pub(super) caps: Vec<usize>,
    pub(super) merge_percent: u8,
}

impl Shape {
    pub(super) fn cap(&self, level: usize) -> usize {
        self.caps.get(level).copied().unwrap_or(0)
    }

    /// Fewest records a non-root node at `level` keeps after a removal: the merge percent
    /// of the capacity, at least 1 and at most half the capacity (so that two siblings at
    /// the threshold merge into one node).
    pub(super) fn min(&self, level: usize) -> usize {
        let cap = self.cap(level);
        let hi = (cap / 2).max(1);
        (cap * usize::from(self.merge_percent) / 100).clamp(1, hi)
    }
}

/// Which child of an internal node holds rank `p` of its subtree for an insertion (the new
/// record goes to a leaf, so a rank equal to a child's total goes to the end of that child);
/// `p` becomes the rank within the child.
fn locate_insert(node: &EditNode, p: &mut u64) -> usize {
    let last = node.children.len().saturating_sub(1);
    for (i, c) in node.children.iter().enumerate() {
        if *p <= c.total || i == last {
            return i;
        }
        *p -= c.total + 1;
    }
    last
}

pub(super) fn insert_at(node: &mut EditNode, level: usize, mut p: u64, rec: &[u8], sh: &Shape) {
    node.dirty = true;
    node.total += 1;
    if level == 0 {
        let at = (p as usize).min(node.nrec(sh.rs)) * sh.rs;
        node.recs.splice(at..at, rec.iter().copied());
        return;
    }
    let i = locate_insert(node, &mut p);
    let Some(child) = node.children.get_mut(i) else {
        return;
    };
    insert_at(child, level - 1, p, rec, sh);
    if child.nrec(sh.rs) > sh.cap(level - 1) {
        overflow(node, i, level, sh);
    }
}

/// Child `i` of `node` (at `level`) holds one record too many: shift records to a sibling
/// with room, or split it.
fn overflow(node: &mut EditNode, i: usize, level: usize, sh: &Shape) {
    let cap = sh.cap(level - 1);
    let has_room = |j: usize| node.children.get(j).is_some_and(|c| c.nrec(sh.rs) < cap);
    if i > 0 && has_room(i - 1) {
        balance(node, i - 1, sh);
    } else if has_room(i + 1) {
        balance(node, i, sh);
    } else {
        split(node, i, sh);
    }
}

/// Even out the records of children `j` and `j + 1` of `node`, rotating them through the
/// separating record `j`.
fn balance(node: &mut EditNode, j: usize, sh: &Shape) {
    let rs = sh.rs;
    if j + 1 >= node.children.len() || (j + 1) * rs > node.recs.len() {
        return;
    }
    let (left, right) = node.children.split_at_mut(j + 1);
    let (l, r) = (&mut left[j], &mut right[0]);
    let (nl, nr) = (l.nrec(rs), r.nrec(rs));
    let tl = (nl + nr) / 2;
    if tl == nl {
        return;
    }
    let sep = &mut node.recs[j * rs..(j + 1) * rs];
    let mut all = core::mem::take(&mut l.recs);
    all.extend_from_slice(sep);
    all.append(&mut r.recs);
    r.recs = all.split_off((tl + 1) * rs);
    sep.copy_from_slice(&all[tl * rs..]);
    all.truncate(tl * rs);
    l.recs = all;
    if !l.children.is_empty() || !r.children.is_empty() {
        let mut kids = core::mem::take(&mut l.children);
        kids.append(&mut r.children);
        r.children = kids.split_off((tl + 1).min(kids.len()));
        l.children = kids;
    }
    for c in [l, r] {
        c.recount(rs);
        c.dirty = true;
    }
    node.dirty = true;
}

/// Split child `i` of `node` in two around its middle record, which moves up into `node`.
pub(super) fn split(node: &mut EditNode, i: usize, sh: &Shape) {
    let rs = sh.rs;
    let Some(c) = node.children.get_mut(i) else {
        return;
    };
    let n = c.nrec(rs);
    if n < 3 {
        return; // never: a node splits only above a capacity of at least 2
    }
    let tl = n / 2;
    let mut right = EditNode {
        recs: c.recs.split_off((tl + 1) * rs),
        dirty: true,
        ..EditNode::default()
    };
    let sep = c.recs.split_off(tl * rs);
    if !c.children.is_empty() {
        right.children = c.children.split_off((tl + 1).min(c.children.len()));
    }
    c.recount(rs);
    c.dirty = true;
    right.recount(rs);
    let at = (i * rs).min(node.recs.len());
    node.recs.splice(at..at, sep);
    node.children.insert(i + 1, right);
    node.dirty = true;
}

/// Merge child `j + 1` of `node` and the separating record `j` into child `j`; the
/// address of the emptied node goes to `discarded`.
fn merge(node: &mut EditNode, j: usize, sh: &Shape, discarded: &mut Vec<u64>) {
    let rs = sh.rs;
    if j + 1 >= node.children.len() || (j + 1) * rs > node.recs.len() {
        return;
    }
    let mut right = node.children.remove(j + 1);
    let sep: Vec<u8> = node.recs.drain(j * rs..(j + 1) * rs).collect();
    let l = &mut node.children[j];
    l.recs.extend_from_slice(&sep);
    l.recs.append(&mut right.recs);
    l.children.append(&mut right.children);
    l.recount(rs);
    l.dirty = true;
    node.dirty = true;
    discarded.extend(right.addr);
}

/// Child `i` of `node` (at `level`) may have lost a record: if it is below the merge
/// threshold, borrow from a sibling above it, or merge with a sibling.
fn underflow(node: &mut EditNode, i: usize, level: usize, sh: &Shape, discarded: &mut Vec<u64>) {
    let min = sh.min(level - 1);
    let count = |j: usize| node.children.get(j).map(|c| c.nrec(sh.rs));
    if count(i).is_none_or(|n| n >= min) {
        return;
    }
    if i > 0 && count(i - 1).is_some_and(|n| n > min) {
        balance(node, i - 1, sh);
    } else if count(i + 1).is_some_and(|n| n > min) {
        balance(node, i, sh);
    } else if i > 0 {
        merge(node, i - 1, sh, discarded);
    } else {
        merge(node, i, sh, discarded);
    }
}

/// Remove the record of rank `p` in the subtree of `node` (at `level`).
pub(super) fn remove_at(
    node: &mut EditNode,
    level: usize,
    p: u64,
    sh: &Shape,
    discarded: &mut Vec<u64>,
) -> Vec<u8> {
    let rs = sh.rs;
    node.dirty = true;
    node.total = node.total.saturating_sub(1);
    if level == 0 {
        let at = (p as usize).min(node.nrec(rs).saturating_sub(1)) * rs;
        return node
            .recs
            .drain(at..(at + rs).min(node.recs.len()))
            .collect();
    }
    let n = node.nrec(rs);
    let mut q = p;
    for i in 0..node.children.len() {
        let t = node.children[i].total;
        if q < t {
            let rec = remove_at(&mut node.children[i], level - 1, q, sh, discarded);
            underflow(node, i, level, sh, discarded);
            return rec;
        }
        if q == t && i < n {
            // Record `i` of this node: replace it by its neighbour from a leaf.
            let (from, at) = if t > 0 { (i, t - 1) } else { (i + 1, 0) };
            let Some(child) = node.children.get_mut(from) else {
                break;
            };
            let neighbour = remove_at(child, level - 1, at, sh, discarded);
            let old = node.recs[i * rs..(i + 1) * rs].to_vec();
            if neighbour.len() == rs {
                node.recs[i * rs..(i + 1) * rs].copy_from_slice(&neighbour);
            }
            underflow(node, from, level, sh, discarded);
            return old;
        }
        let Some(next) = q.checked_sub(t + 1) else {
            break;
        };
        q = next;
    }
    Vec::new() // never: ranks are checked against the tree's length
}

/// The record of rank `p` in the subtree of `node`, marking the path to it changed.
pub(super) fn record_mut(
    node: &mut EditNode,
    level: usize,
    p: u64,
    rs: usize,
) -> Option<&mut [u8]> {
    node.dirty = true;
    if level == 0 {
        let at = usize::try_from(p).ok()?.checked_mul(rs)?;
        return node.recs.get_mut(at..at.checked_add(rs)?);
    }
    let mut q = p;
    let mut target = None;
    for (i, c) in node.children.iter().enumerate() {
        if q < c.total {
            target = Some((i, q, false));
            break;
        }
        if q == c.total {
            target = Some((i, 0, true));
            break;
        }
        q -= c.total + 1;
    }
    match target? {
        (i, _, true) => node.recs.get_mut(i * rs..(i + 1) * rs),
        (i, q, false) => record_mut(node.children.get_mut(i)?, level - 1, q, rs),
    }
}

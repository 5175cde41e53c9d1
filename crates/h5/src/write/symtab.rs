//! Writing symbol-table groups (the default profile): names in the local heap, entries in
//! sorted symbol table nodes (SNODs) under a v1 B-tree whose root never moves.

use super::{KeptHeap, WriteCtx};
use crate::error::{Error, Result};
use h5_format::btree1::{Keys, Node};
use h5_format::local_heap::{LocalHeap, LocalHeapBuilder};
use h5_format::superblock::{EntryCache, SymbolTableEntry};

/// Group leaf K and internal K (libhdf5's defaults, which h5py uses).
pub(crate) const LEAF_K: u16 = 4;
pub(crate) const INTERNAL_K: u16 = 16;
/// The structures of an empty symbol-table group, written: returns (B-tree, local heap).
pub(crate) fn create_empty(cx: &mut WriteCtx<'_>) -> Result<(u64, u64)> {
    let sizes = cx.f.sizes;
    let btree = cx.alloc(h5_format::btree1::node_size(sizes, 0, INTERNAL_K, 0) as u64)?;
    let node = Node {
        node_type: 0,
        level: 0,
        left: None,
        right: None,
        keys: Keys::Group(vec![0]),
        children: Vec::new(),
    };
    cx.write(btree, &node.encode(sizes, INTERNAL_K))?;
    let builder = LocalHeapBuilder::new(sizes);
    let heap_hdr = cx.alloc(LocalHeap::header_size(sizes) as u64)?;
    let data = cx.alloc(builder.data_size())?;
    let mut heap = Heap {
        addr: heap_hdr,
        data_addr: data,
        b: builder,
        moved_from: None,
        dirty: Vec::new(),
    };
    heap.store(cx)?;
    heap.keep(cx);
    Ok((btree, heap_hdr))
}

/// A group's local heap, loaded for adding names (libhdf5's placement and growth rules live
/// in `LocalHeapBuilder`; the segment moves when it grows, as in libhdf5).
struct Heap {
    addr: u64,
    data_addr: u64,
    b: LocalHeapBuilder,
    /// The segment's previous place when it grew (freed once the header names the new one).
    moved_from: Option<(u64, u64)>,
    /// Byte ranges of the segment changed since it was loaded or stored, when it did not grow.
    dirty: Vec<(usize, usize)>,
}

impl Heap {
    /// The heap at `addr`: the one kept from the session's last insert or removal
    /// ([`keep`](Self::keep)) when the header on disk still names its segment and free list
    /// (only this writer changes the file), else loaded — reloading a root heap that held
    /// 10 000 names for every insert was a third of the time of writing them.
    fn load(cx: &mut WriteCtx<'_>, addr: u64) -> Result<Heap> {
        let hdr = cx.f.local_heap_header(addr)?;
        if let Some(kept) = cx.st.local_heap.take() {
            if kept.addr == addr
                && kept.data_addr == hdr.data_addr
                && kept.heap.data_size() == hdr.data_size
                && kept.heap.free_list() == hdr.free_list
            {
                return Ok(Heap {
                    addr,
                    data_addr: kept.data_addr,
                    b: kept.heap,
                    moved_from: None,
                    dirty: Vec::new(),
                });
            }
        }
        let data =
            cx.f.read_meta(hdr.data_addr, hdr.data_size, "local heap data")?;
        let b =
            cx.f.dec(LocalHeapBuilder::from_existing(cx.f.sizes, &hdr, data))?;
        Ok(Heap {
            addr,
            data_addr: hdr.data_addr,
            b,
            moved_from: None,
            dirty: Vec::new(),
        })
    }

    /// Keep the heap loaded for the session's next change to it (it must be stored).
    fn keep(self, cx: &mut WriteCtx<'_>) {
        if self.moved_from.is_none() && self.dirty.is_empty() {
            cx.st.local_heap = Some(KeptHeap {
                addr: self.addr,
                data_addr: self.data_addr,
                heap: self.b,
            });
        }
    }

    fn name(&self, off: u64) -> Result<&[u8]> {
        h5_format::local_heap::string_at(self.b.data(), off, self.data_addr).map_err(Error::Format)
    }

    fn add(&mut self, cx: &mut WriteCtx<'_>, s: &[u8]) -> Result<u64> {
        let old = self.b.data_size();
        let off = self.b.add(s);
        if self.b.data_size() != old {
            // The segment grew: it moves to new space (written before the header switches).
            let new_addr = cx.alloc(self.b.data_size())?;
            if self.moved_from.is_some() {
                // grew twice before a store: the first new place was never written
                cx.free(self.data_addr, old);
            } else {
                self.moved_from = Some((self.data_addr, old));
            }
            self.data_addr = new_addr;
        } else if self.moved_from.is_none() {
            // what changed: the name, and the free blocks' fields
            let l = 2 * cx.f.sizes.length as usize;
            let need = (s.len() + 1).next_multiple_of(8);
            self.dirty.push((off as usize, need));
            self.dirty
                .extend(self.b.free_blocks().iter().map(|b| (b.offset as usize, l)));
        }
        Ok(off)
    }

    /// Store so that a process stopped at any point leaves a consistent heap: the header
    /// names the free list, which lives in the segment, so header and data must not
    /// disagree. A segment that grew is written whole at its new place before the header
    /// switches to it. Otherwise only what changed is written, in place, between two header
    /// writes: first a header naming no free block (the old free blocks are then unused
    /// space, never read), then the changed bytes (names, free-block fields), then the
    /// header naming the new free list. A new heap is written whole.
    fn store(&mut self, cx: &mut WriteCtx<'_>) -> Result<()> {
        let sizes = cx.f.sizes;
        let dirty = std::mem::take(&mut self.dirty);
        if let Some((a, n)) = self.moved_from.take() {
            cx.write(self.data_addr, self.b.data())?;
            cx.write(self.addr, &self.b.header(self.data_addr).encode(sizes))?;
            cx.free(a, n);
            return Ok(());
        }
        if dirty.is_empty() {
            // a new heap: nothing refers to it yet
            cx.write(self.data_addr, self.b.data())?;
            return cx.write(self.addr, &self.b.header(self.data_addr).encode(sizes));
        }
        let no_free = LocalHeap {
            free_list: Some(h5_format::local_heap::FREE_NULL),
            ..self.b.header(self.data_addr)
        };
        cx.write(self.addr, &no_free.encode(sizes))?;
        for (start, end) in merged(dirty) {
            let bytes = self.b.data().get(start..end).ok_or_else(|| {
                Error::Format(h5_format::Error::invalid(
                    "local heap",
                    self.data_addr + start as u64,
                    "changed range past the segment",
                ))
            })?;
            cx.write(self.data_addr + start as u64, bytes)?;
        }
        cx.write(self.addr, &self.b.header(self.data_addr).encode(sizes))
    }
}

/// `(start, len)` ranges as sorted, merged `(start, end)` ranges.
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (start, len) in ranges {
        let end = start + len;
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// What a new symbol table entry points to.
pub(crate) enum Target {
    /// An object header; `group` = (B-tree, heap) when it is a symbol-table group (cached).
    Object {
        addr: u64,
        group: Option<(u64, u64)>,
    },
    /// A soft link value.
    Soft(String),
    /// An external link (a symbol table cannot hold one: the group is converted first).
    External { file: String, path: String },
}

/// Insert `name` into the group whose symbol table is (`btree`, `heap`).
pub(crate) fn insert(
    cx: &mut WriteCtx<'_>,
    btree: u64,
    heap_addr: u64,
    name: &str,
    target: Target,
) -> Result<()> {
    if matches!(target, Target::External { .. }) {
        return Err(Error::Unsupported(
            "external links in a symbol table (the group must be converted first)".into(),
        ));
    }
    let mut heap = Heap::load(cx, heap_addr)?;
    let name_off = heap.add(cx, name.as_bytes())?;
    let (header_addr, cache) = match target {
        Target::Object { addr, group } => (
            Some(addr),
            match group {
                Some((b, h)) => EntryCache::Group {
                    btree: Some(b),
                    heap: Some(h),
                },
                None => EntryCache::None,
            },
        ),
        Target::External { .. } => unreachable!("refused above"),
        Target::Soft(value) => {
            let v = heap.add(cx, value.as_bytes())?;
            (
                None,
                EntryCache::SoftLink {
                    value_offset: v as u32,
                },
            )
        }
    };
    heap.store(cx)?;
    let entry = SymbolTableEntry {
        name_offset: name_off,
        header_addr,
        cache,
    };
    let (split, pending) = insert_rec(cx, &heap, btree, name.as_bytes(), entry)?;
    heap.keep(cx);
    if let Some((sep, right)) = split {
        // The root split. Its truncated left half (pending) moves to a new node; the root keeps
        // its address and, rewritten last, switches to [left, right] in one write.
        let (_, left_bytes) = pending
            .iter()
            .find(|(a, _)| *a == btree)
            .cloned()
            .expect("a split root leaves its truncated half pending");
        let left = cx.alloc(node_bytes(cx))?;
        cx.write(left, &left_bytes)?;
        let mut r = read_node(cx, right)?;
        r.left = Some(left);
        cx.write(right, &r.encode(cx.f.sizes, INTERNAL_K))?;
        let moved = crate::base::read_btree1_node(cx.f, left, 0)?;
        let Keys::Group(rk) = &r.keys else {
            unreachable!("group node")
        };
        let Keys::Group(lk) = &moved.keys else {
            unreachable!("group node")
        };
        let new_root = Node {
            node_type: 0,
            level: moved.level + 1,
            left: None,
            right: None,
            keys: Keys::Group(vec![lk[0], sep, *rk.last().unwrap_or(&sep)]),
            children: vec![left, right],
        };
        cx.write(btree, &new_root.encode(cx.f.sizes, INTERNAL_K))?;
        for (a, bytes) in pending.iter().filter(|(a, _)| *a != btree) {
            cx.write(*a, bytes)?;
        }
    } else {
        for (a, bytes) in &pending {
            cx.write(*a, bytes)?;
        }
    }
    Ok(())
}

fn node_bytes(cx: &WriteCtx<'_>) -> u64 {
    h5_format::btree1::node_size(cx.f.sizes, 0, INTERNAL_K, 0) as u64
}

fn snod_bytes(cx: &WriteCtx<'_>) -> u64 {
    h5_format::symbol_table::node_size(cx.f.sizes, LEAF_K) as u64
}

fn read_node(cx: &WriteCtx<'_>, addr: u64) -> Result<Node> {
    crate::base::read_btree1_node(cx.f, addr, 0)
}

fn read_snod(cx: &WriteCtx<'_>, addr: u64) -> Result<Vec<SymbolTableEntry>> {
    let buf = cx.f.read_meta(addr, snod_bytes(cx), "symbol table node")?;
    cx.f.dec(h5_format::symbol_table::decode(
        &buf,
        addr,
        cx.f.sizes,
        2 * LEAF_K as usize,
    ))
}

fn write_snod(cx: &mut WriteCtx<'_>, addr: u64, entries: &[SymbolTableEntry]) -> Result<()> {
    let b = h5_format::symbol_table::encode(entries, cx.f.sizes, LEAF_K);
    cx.write(addr, &b)
}

/// A split: (separator key, new right node).
type Split = Option<(u64, u64)>;
/// Writes that retire old state (truncated left halves): done only after the parent names the
/// new state, so a process killed in between never loses entries that were reachable before.
type Pending = Vec<(u64, Vec<u8>)>;

/// Insert below node `addr`.
fn insert_rec(
    cx: &mut WriteCtx<'_>,
    heap: &Heap,
    addr: u64,
    name: &[u8],
    entry: SymbolTableEntry,
) -> Result<(Split, Pending)> {
    let mut node = read_node(cx, addr)?;
    let Keys::Group(mut keys) = node.keys.clone() else {
        return Err(h5_format::Error::invalid(
            "v1 B-tree node",
            cx.f.offset_of(addr),
            "node type for a group",
        )
        .into());
    };
    let name_off = entry.name_offset;
    if node.children.is_empty() {
        // An empty group: its first symbol table node.
        let snod = cx.alloc(snod_bytes(cx))?;
        write_snod(cx, snod, &[entry])?;
        node.children = vec![snod];
        node.keys = Keys::Group(vec![keys.first().copied().unwrap_or(0), name_off]);
        cx.write(addr, &node.encode(cx.f.sizes, INTERNAL_K))?;
        return Ok((None, Vec::new()));
    }
    // The child whose range holds the name: the first whose right key is ≥ the name.
    let mut i = node.children.len() - 1;
    for c in 0..node.children.len() {
        if name <= heap.name(keys[c + 1])? {
            i = c;
            break;
        }
    }
    let beyond = name > heap.name(keys[i + 1])?;
    if beyond {
        // A greater key first: harmless if the process stops before the entry lands.
        keys[i + 1] = name_off;
        node.keys = Keys::Group(keys.clone());
        cx.write(addr, &node.encode(cx.f.sizes, INTERNAL_K))?;
    }
    let child = node.children[i];
    let (split, mut pending) = if node.level == 0 {
        let mut entries = read_snod(cx, child)?;
        let mut pos = entries.len();
        for (k, e) in entries.iter().enumerate() {
            let n = heap.name(e.name_offset)?;
            if n == name {
                return Err(Error::Exists(String::from_utf8_lossy(name).into_owned()));
            }
            if n > name {
                pos = k;
                break;
            }
        }
        entries.insert(pos, entry);
        if entries.len() <= 2 * LEAF_K as usize {
            write_snod(cx, child, &entries)?;
            (None, Vec::new())
        } else {
            let right = entries.split_off(entries.len() / 2);
            let new = cx.alloc(snod_bytes(cx))?;
            write_snod(cx, new, &right)?;
            let left = h5_format::symbol_table::encode(&entries, cx.f.sizes, LEAF_K);
            (
                Some((entries.last().map(|e| e.name_offset).unwrap_or(0), new)),
                vec![(child, left)],
            )
        }
    } else {
        insert_rec(cx, heap, child, name, entry)?
    };
    let Some((sep, new)) = split else {
        return Ok((None, pending));
    };
    node.children.insert(i + 1, new);
    keys.insert(i + 1, sep);
    if node.children.len() <= 2 * INTERNAL_K as usize {
        node.keys = Keys::Group(keys);
        cx.write(addr, &node.encode(cx.f.sizes, INTERNAL_K))?;
        // The new child is reachable: now the old one may shrink.
        for (a, bytes) in pending.drain(..) {
            cx.write(a, &bytes)?;
        }
        return Ok((None, Vec::new()));
    }
    // Split this node: the right part goes to a new node now; the left part is rewritten
    // (pending) once the parent names the new node. How many children stay is libhdf5's
    // rule (`Node::split_left`), counted before the new child, which goes with the child it
    // split from.
    let nleft = node.split_left(2 * INTERNAL_K as usize, i);
    let half = if i < nleft { nleft + 1 } else { nleft };
    let right_children = node.children.split_off(half);
    let right_keys = keys.split_off(half);
    keys.push(right_keys[0]);
    let sep = right_keys[0];
    let new = cx.alloc(node_bytes(cx))?;
    let right = Node {
        node_type: 0,
        level: node.level,
        left: Some(addr),
        right: node.right,
        keys: Keys::Group(right_keys),
        children: right_children,
    };
    cx.write(new, &right.encode(cx.f.sizes, INTERNAL_K))?;
    if let Some(rr) = node.right {
        let mut n = read_node(cx, rr)?;
        n.left = Some(new);
        cx.write(rr, &n.encode(cx.f.sizes, INTERNAL_K))?;
    }
    node.right = Some(new);
    node.keys = Keys::Group(keys);
    pending.push((addr, node.encode(cx.f.sizes, INTERNAL_K)));
    Ok((Some((sep, new)), pending))
}

/// Remove `name` from the group whose symbol table is (`btree`, `heap`); returns the removed
/// entry (its name stays in the local heap, as libhdf5 leaves freed names until it compacts).
pub(crate) fn remove(
    cx: &mut WriteCtx<'_>,
    btree: u64,
    heap_addr: u64,
    name: &str,
) -> Result<Option<SymbolTableEntry>> {
    let heap = Heap::load(cx, heap_addr)?;
    let (removed, _, _) = remove_rec(cx, &heap, btree, name.as_bytes(), true)?;
    heap.keep(cx);
    Ok(removed)
}

/// Remove below node `addr`: (removed entry, node now empty, node's greatest key changed to).
fn remove_rec(
    cx: &mut WriteCtx<'_>,
    heap: &Heap,
    addr: u64,
    name: &[u8],
    is_root: bool,
) -> Result<(Option<SymbolTableEntry>, bool, Option<u64>)> {
    let mut node = read_node(cx, addr)?;
    let Keys::Group(mut keys) = node.keys.clone() else {
        return Err(h5_format::Error::invalid(
            "v1 B-tree node",
            cx.f.offset_of(addr),
            "node type for a group",
        )
        .into());
    };
    let Some(i) = (0..node.children.len()).find(|&c| name <= heap.name(keys[c + 1]).unwrap_or(b""))
    else {
        return Ok((None, false, None));
    };
    let child = node.children[i];
    let (removed, child_empty, child_max) = if node.level == 0 {
        let mut entries = read_snod(cx, child)?;
        let Some(k) = entries
            .iter()
            .position(|e| heap.name(e.name_offset).is_ok_and(|n| n == name))
        else {
            return Ok((None, false, None));
        };
        let e = entries.remove(k);
        if entries.is_empty() {
            cx.free(child, snod_bytes(cx));
            (Some(e), true, None)
        } else {
            write_snod(cx, child, &entries)?;
            (Some(e), false, entries.last().map(|x| x.name_offset))
        }
    } else {
        remove_rec(cx, heap, child, name, false)?
    };
    if removed.is_none() {
        return Ok((None, false, None));
    }
    if child_empty {
        if node.level > 0 {
            // unlink the freed node from its siblings
            let gone = read_node(cx, child)?;
            for (sib, left) in [(gone.left, false), (gone.right, true)] {
                if let Some(s) = sib {
                    let mut n = read_node(cx, s)?;
                    if left {
                        n.left = gone.left;
                    } else {
                        n.right = gone.right;
                    }
                    cx.write(s, &n.encode(cx.f.sizes, INTERNAL_K))?;
                }
            }
            cx.free(child, node_bytes(cx));
        }
        node.children.remove(i);
        keys.remove(i + 1);
    } else if let Some(m) = child_max {
        keys[i + 1] = m;
    }
    let empty = node.children.is_empty();
    if empty && is_root {
        node.level = 0;
        keys.truncate(1);
    }
    let max = keys.last().copied();
    node.keys = Keys::Group(keys);
    if !empty || is_root {
        cx.write(addr, &node.encode(cx.f.sizes, INTERNAL_K))?;
    }
    Ok((removed, empty, max))
}

/// The file space of a symbol table: every B-tree node, symbol table node and the local heap
/// (header and data segment), as `(address, size)`; walked with a cycle check.
pub(crate) fn extents(cx: &WriteCtx<'_>, btree: u64, heap: u64) -> Result<Vec<(u64, u64)>> {
    let (hdr, _) = cx.f.local_heap(heap)?;
    let mut out = vec![
        (heap, LocalHeap::header_size(cx.f.sizes) as u64),
        (hdr.data_addr, hdr.data_size),
    ];
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![btree];
    while let Some(a) = stack.pop() {
        if !seen.insert(a) || seen.len() > cx.f.limits.max_nodes {
            return Err(h5_format::Error::new(
                "v1 B-tree node",
                cx.f.offset_of(a),
                h5_format::ErrorKind::Cycle,
            )
            .into());
        }
        out.push((a, node_bytes(cx)));
        let n = read_node(cx, a)?;
        if n.level == 0 {
            out.extend(n.children.iter().map(|&c| (c, snod_bytes(cx))));
        } else {
            stack.extend(&n.children);
        }
    }
    Ok(out)
}

//! A group's links as stored: symbol tables (v1 B-tree, SNODs, local heap), link messages,
//! and dense storage (fractal heap + v2 B-tree name index); lookups by name go through the
//! group's index.

use crate::base::{read_btree1_node, read_snod, FileInner, Kind, ObjectHeader};
use crate::error::Result;
use h5_format::local_heap;
use h5_format::message::link::{Link as LinkMsg, LinkInfo, LinkTarget};
use h5_format::message::misc::SymbolTable;
use h5_format::message::MessageType;
use h5_format::superblock::{EntryCache, SymbolTableEntry};
use h5_format::Reader;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// A hard link to the object header at this address.
    Hard(u64),
    /// A soft link: a path in this file.
    Soft(String),
    /// An external link: a file and a path in it.
    External {
        /// File name as stored.
        file: String,
        /// Object path in that file.
        path: String,
    },
    /// A user-defined link type.
    UserDefined(u8),
}

/// A named link in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Link name.
    pub name: String,
    /// Creation order, when the group tracks it.
    pub creation_order: Option<u64>,
    /// Target.
    pub kind: LinkKind,
}

/// Every link in the group's iteration order: creation order when the group tracks it,
/// otherwise name order (bytewise), as h5py iterates.
pub(crate) fn ordered(f: &FileInner, h: &ObjectHeader) -> Result<Vec<Link>> {
    let mut links = all(f, h)?;
    links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    if links.iter().all(|l| l.creation_order.is_some()) && tracks_order(f, h)? {
        links.sort_by_key(|l| l.creation_order);
    }
    Ok(links)
}

/// Whether the group (header `h`) keeps its links' creation order.
pub(crate) fn tracks_order(f: &FileInner, h: &ObjectHeader) -> Result<bool> {
    match h.find(MessageType::LINK_INFO) {
        Some(m) => Ok(f
            .dec(LinkInfo::decode(&mut m.reader(f, "link info message")))?
            .track_order),
        None => Ok(false),
    }
}

/// The link called `name` in the group with header `h`: found by name in the group's index
/// (a symbol table's B-tree, a dense group's name index), not by listing the group.
pub(crate) fn find(f: &FileInner, h: &ObjectHeader, name: &str) -> Result<Option<Link>> {
    if let Some(m) = h.find(MessageType::SYMBOL_TABLE) {
        let st = f.dec(SymbolTable::decode(
            &mut m.reader(f, "symbol table message"),
        ))?;
        return symbol_table_find(f, &st, name);
    }
    if let Some(m) = h.find(MessageType::LINK_INFO) {
        let li = f.dec(LinkInfo::decode(&mut m.reader(f, "link info message")))?;
        if let (Some(heap), Some(bt)) = (li.heap_addr, li.name_index_addr) {
            return dense_find(f, heap, bt, name);
        }
    }
    Ok(all(f, h)?.into_iter().find(|l| l.name == name))
}

/// Every link of the group with header `h`, in storage order.
pub(crate) fn all(f: &FileInner, h: &ObjectHeader) -> Result<Vec<Link>> {
    if let Some(m) = h.find(MessageType::SYMBOL_TABLE) {
        let st = f.dec(SymbolTable::decode(
            &mut m.reader(f, "symbol table message"),
        ))?;
        return symbol_table_links(f, &st);
    }
    if let Some(m) = h.find(MessageType::LINK_INFO) {
        let li = f.dec(LinkInfo::decode(&mut m.reader(f, "link info message")))?;
        if let (Some(heap), Some(bt)) = (li.heap_addr, li.name_index_addr) {
            return dense_links(f, heap, bt);
        }
    }
    let mut out = Vec::new();
    for m in h.all(MessageType::LINK) {
        let l = f.dec(LinkMsg::decode(&mut m.reader(f, "link message")))?;
        out.push(convert_link(l));
    }
    Ok(out)
}

fn convert_link(l: LinkMsg) -> Link {
    let kind = match l.target {
        LinkTarget::Hard(a) => LinkKind::Hard(a),
        LinkTarget::Soft(p) => LinkKind::Soft(p),
        LinkTarget::External { file, path } => LinkKind::External { file, path },
        LinkTarget::UserDefined { kind, .. } => LinkKind::UserDefined(kind),
    };
    Link {
        name: l.name,
        creation_order: l.creation_order,
        kind,
    }
}

fn dense_links(f: &FileInner, heap_addr: u64, btree_addr: u64) -> Result<Vec<Link>> {
    let heap = crate::base::dense::FractalHeap::open(f, heap_addr)?;
    let records = crate::base::dense::btree2_records(f, btree_addr, &Default::default())?;
    let mut out = Vec::with_capacity(records.len());
    for rec in records {
        let id = match rec {
            h5_format::btree2::Record::LinkName { heap_id, .. } => heap_id,
            _ => {
                return Err(h5_format::Error::invalid(
                    "v2 B-tree",
                    f.offset_of(btree_addr),
                    "record type for a link name index",
                )
                .into())
            }
        };
        let (body, addr) = heap.object(f, &id)?;
        let l = f.dec(LinkMsg::decode(&mut Reader::new(
            &body,
            addr,
            f.sizes,
            "link message (dense)",
        )))?;
        out.push(convert_link(l));
    }
    Ok(out)
}

/// The link `name` of a dense group: the name index searched by the name's hash, the
/// records with that hash compared by the name in the heap.
fn dense_find(f: &FileInner, heap_addr: u64, btree_addr: u64, name: &str) -> Result<Option<Link>> {
    use std::cmp::Ordering;
    let heap = crate::base::dense::FractalHeap::open(f, heap_addr)?;
    let hash = h5_format::lookup3::hash(name.as_bytes(), 0);
    let mut found = None;
    crate::base::dense::btree2_find(f, btree_addr, &Default::default(), &mut |rec| {
        let h5_format::btree2::Record::LinkName { hash: h, heap_id } = rec else {
            return Err(h5_format::Error::invalid(
                "v2 B-tree",
                f.offset_of(btree_addr),
                "record type for a link name index",
            )
            .into());
        };
        match h.cmp(&hash) {
            Ordering::Equal => {
                let (body, addr) = heap.object(f, heap_id)?;
                let l = f.dec(LinkMsg::decode(&mut Reader::new(
                    &body,
                    addr,
                    f.sizes,
                    "link message (dense)",
                )))?;
                let o = l.name.as_bytes().cmp(name.as_bytes());
                if o == Ordering::Equal {
                    found = Some(convert_link(l));
                }
                Ok(o)
            }
            o => Ok(o),
        }
    })?;
    Ok(found)
}

/// The link `name` of a symbol-table group: once the group has been searched
/// [`NameIndex::AFTER`] times, from its name index; until then (and in a group that cannot be
/// indexed), one descent of its B-tree (keys are names in the local heap), then the symbol
/// table node's entries.
pub(crate) fn symbol_table_find(
    f: &FileInner,
    st: &SymbolTable,
    name: &str,
) -> Result<Option<Link>> {
    // A heap of up to 1 MiB is read whole once and kept (until a write) with the nodes: a
    // lookup after the first decodes nothing. A larger one, or one whose segment cannot be
    // read whole (damaged: then the names looked up say why), is read name by name.
    let cached = f.decoded(Kind::LocalHeap, st.heap_addr, || {
        // taken before reading: an index built from this heap is never served after a write
        let generation = f.pages.generation();
        let heap = f.local_heap_header(st.heap_addr)?;
        let data = (heap.data_size <= 1 << 20)
            .then(|| f.read_meta(heap.data_addr, heap.data_size, "local heap data"))
            .and_then(Result::ok);
        let n = data.as_ref().map_or(0, Vec::len);
        let lookups = AtomicU32::new(0);
        Ok((
            CachedHeap {
                heap,
                data,
                lookups,
                generation,
            },
            n,
        ))
    })?;
    let (heap, data) = (&cached.heap, &cached.data);
    let name_at = |off: u64| -> Result<std::borrow::Cow<'_, [u8]>> {
        match data {
            Some(d) => f
                .dec(h5_format::local_heap::string_at(d, off, heap.data_addr))
                .map(std::borrow::Cow::Borrowed),
            None => f.local_heap_string(heap, off).map(std::borrow::Cow::Owned),
        }
    };
    let key = name.as_bytes();
    let found = |e: &SymbolTableEntry| {
        let name_at = |off| name_at(off).map(|n| n.into_owned());
        entry_link(f, name_at, heap.data_addr, name.to_string(), e).map(Some)
    };
    if let Some(d) = data {
        // counted until the index is due (then only read: threads looking up in one group
        // share no written cache line)
        let lookups = &cached.lookups;
        if lookups.load(Ordering::Relaxed) >= NameIndex::AFTER
            || lookups.fetch_add(1, Ordering::Relaxed) >= NameIndex::AFTER
        {
            // the index's names come from this heap: it is kept at the heap's generation
            let index = f
                .decoded
                .get(Kind::NameIndex, st.btree_addr, cached.generation, || {
                    // a group that cannot be walked whole keeps its lookups walking the B-tree
                    let index = NameIndex::build(f, st, d, heap.data_addr).ok().flatten();
                    let bytes = index.as_ref().map_or(64, NameIndex::bytes);
                    Ok((index, bytes))
                })?;
            if let Some(index) = index
                .as_ref()
                .as_ref()
                .filter(|i| i.heap_addr == st.heap_addr)
            {
                return match index.get(key, &name_at) {
                    Some(e) => found(e),
                    None => Ok(None),
                };
            }
        }
    }
    let mut addr = st.btree_addr;
    for _ in 0..=u8::MAX as usize {
        let node = f.decoded(Kind::GroupNode, addr, || {
            let n = read_btree1_node(f, addr, 0)?;
            let bytes = 64 + 16 * n.children.len();
            Ok((n, bytes))
        })?;
        let h5_format::btree1::Keys::Group(keys) = &node.keys else {
            return Err(h5_format::Error::invalid(
                "v1 B-tree node",
                f.offset_of(addr),
                "node type for a group",
            )
            .into());
        };
        if node.children.is_empty() || keys.len() != node.children.len() + 1 {
            return Ok(None);
        }
        // the child whose right key is the first ≥ the name (keys ascend: a binary search)
        let c = first_at_least(node.children.len(), key, |c| name_at(keys[c + 1]))?;
        let Some(&child) = node.children.get(c) else {
            return Ok(None);
        };
        if node.level == 0 {
            // a node's entries ascend by name too
            let entries = f.decoded(Kind::Snod, child, || {
                let e = read_snod(f, child)?;
                let bytes = 64 + 48 * e.len();
                Ok((e, bytes))
            })?;
            let i = first_at_least(entries.len(), key, |i| name_at(entries[i].name_offset))?;
            if let Some(e) = entries.get(i) {
                if *name_at(e.name_offset)? == *key {
                    return found(e);
                }
            }
            return Ok(None);
        }
        addr = child;
    }
    Err(
        h5_format::Error::invalid("v1 B-tree node", f.offset_of(st.btree_addr), "tree depth")
            .into(),
    )
}

/// A symbol-table group's local heap as the decoded cache keeps it: the whole data segment
/// when it is small enough, and how many lookups the group has had (counted until its
/// index is due).
struct CachedHeap {
    heap: local_heap::LocalHeap,
    data: Option<Vec<u8>>,
    lookups: AtomicU32,
    /// The write generation before the heap was read.
    generation: u64,
}

/// A symbol-table group's entries by name. A group searched many times (a program opening
/// each of thousands of datasets in it) is walked whole once; each lookup after that is one
/// hash instead of a search through the B-tree, its nodes and the heap's names. Names are
/// hashed with std's keyed SipHash (they come from the file), and each hit is checked
/// against the name in the heap.
struct NameIndex {
    /// The local heap the names are in (the index is kept by B-tree address).
    heap_addr: u64,
    by_hash: HashMap<u64, u32>,
    entries: Vec<SymbolTableEntry>,
    hasher: RandomState,
}

impl NameIndex {
    /// Lookups in one group before it is indexed.
    const AFTER: u32 = 32;
    /// Indexes at most this many bytes (about): larger groups keep searching.
    const MAX_BYTES: usize = crate::base::Decoded::MAX_BYTES / 16;
    /// A hash two names share.
    const AMBIGUOUS: u32 = u32::MAX;

    /// The index of the group `st` (heap data segment `data` at `data_addr`); `None` for a
    /// group too large to index.
    fn build(
        f: &FileInner,
        st: &SymbolTable,
        data: &[u8],
        data_addr: u64,
    ) -> Result<Option<NameIndex>> {
        let most =
            (Self::MAX_BYTES - Self::bytes_for(0)) / (Self::bytes_for(1) - Self::bytes_for(0));
        let Some(entries) = symbol_table_entries(f, st, most)? else {
            return Ok(None);
        };
        let hasher = RandomState::new();
        let mut by_hash = HashMap::with_capacity(entries.len());
        let mut last: Option<&[u8]> = None;
        for (i, e) in entries.iter().enumerate() {
            let name = f.dec(local_heap::string_at(data, e.name_offset, data_addr))?;
            if last.is_some_and(|l| l >= name) {
                // not in ascending order (a damaged group): the B-tree search decides, as
                // in libhdf5
                return Ok(None);
            }
            last = Some(name);
            let i = u32::try_from(i).unwrap_or(Self::AMBIGUOUS);
            by_hash
                .entry(hasher.hash_one(name))
                .and_modify(|at| *at = Self::AMBIGUOUS)
                .or_insert(i);
        }
        if by_hash.values().any(|&i| i == Self::AMBIGUOUS) {
            // two names share a hash: the B-tree decides
            return Ok(None);
        }
        Ok(Some(NameIndex {
            heap_addr: st.heap_addr,
            by_hash,
            entries,
            hasher,
        }))
    }

    fn bytes_for(n: usize) -> usize {
        64 + n * (std::mem::size_of::<SymbolTableEntry>() + 2 * std::mem::size_of::<(u64, u32)>())
    }

    fn bytes(&self) -> usize {
        Self::bytes_for(self.entries.len())
    }

    /// The entry called `key` (`name_at`: the heap's name at an offset).
    fn get<'n, F: Fn(u64) -> Result<std::borrow::Cow<'n, [u8]>>>(
        &self,
        key: &[u8],
        name_at: &F,
    ) -> Option<&SymbolTableEntry> {
        let &i = self.by_hash.get(&self.hasher.hash_one(key))?;
        let e = self.entries.get(i as usize)?;
        name_at(e.name_offset)
            .is_ok_and(|n| *n == *key)
            .then_some(e)
    }
}

/// The first of `n` ascending names (`name_of(i)`) that is ≥ `key`; `n` when none is.
fn first_at_least<'n>(
    n: usize,
    key: &[u8],
    name_of: impl Fn(usize) -> Result<std::borrow::Cow<'n, [u8]>>,
) -> Result<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if *name_of(mid)? < *key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Walk a symbol-table group's v1 B-tree and its symbol table nodes.
pub(crate) fn symbol_table_links(f: &FileInner, st: &SymbolTable) -> Result<Vec<Link>> {
    let (heap, data) = f.local_heap(st.heap_addr)?;
    let entries = symbol_table_entries(f, st, usize::MAX)?.unwrap_or_default();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let name = f.dec(local_heap::string_at(&data, e.name_offset, heap.data_addr))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let value_at = |off| {
            f.dec(local_heap::string_at(&data, off, heap.data_addr))
                .map(<[u8]>::to_vec)
        };
        out.push(entry_link(f, value_at, heap.data_addr, name, &e)?);
    }
    Ok(out)
}

/// A symbol-table group's entries in name order: its v1 B-tree walked left to right.
/// `None` when there are more than `most`.
fn symbol_table_entries(
    f: &FileInner,
    st: &SymbolTable,
    most: usize,
) -> Result<Option<Vec<SymbolTableEntry>>> {
    let mut entries: Vec<SymbolTableEntry> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![st.btree_addr];
    while let Some(addr) = stack.pop() {
        if !seen.insert(addr) || seen.len() > f.limits.max_nodes {
            return Err(h5_format::Error::new(
                "v1 B-tree node",
                f.offset_of(addr),
                h5_format::ErrorKind::Cycle,
            )
            .into());
        }
        let node = read_btree1_node(f, addr, 0)?;
        if node.node_type != 0 {
            return Err(h5_format::Error::invalid(
                "v1 B-tree node",
                f.offset_of(addr),
                "node type for a group",
            )
            .into());
        }
        if node.level == 0 {
            for &snod in &node.children {
                if !seen.insert(snod) {
                    return Err(h5_format::Error::new(
                        "symbol table node",
                        f.offset_of(snod),
                        h5_format::ErrorKind::Cycle,
                    )
                    .into());
                }
                entries.extend(read_snod(f, snod)?);
                if entries.len() > most {
                    return Ok(None);
                }
            }
        } else {
            // Push in reverse so children are visited left to right.
            stack.extend(node.children.iter().rev());
        }
    }
    Ok(Some(entries))
}

/// The link a symbol table entry called `name` makes (`string_at`: the string at an offset
/// of the group's local heap data segment, at `data_addr`).
fn entry_link(
    f: &FileInner,
    string_at: impl Fn(u64) -> Result<Vec<u8>>,
    data_addr: u64,
    name: String,
    e: &SymbolTableEntry,
) -> Result<Link> {
    let kind = match (&e.cache, e.header_addr) {
        (EntryCache::SoftLink { value_offset }, _) => {
            let v = string_at(*value_offset as u64)?;
            LinkKind::Soft(String::from_utf8_lossy(&v).into_owned())
        }
        (_, Some(a)) => LinkKind::Hard(a),
        (_, None) => {
            return Err(h5_format::Error::invalid(
                "symbol table entry",
                f.offset_of(data_addr),
                "undefined object header address",
            )
            .into())
        }
    };
    Ok(Link {
        name,
        creation_order: None,
        kind,
    })
}

//! [`Group`]: links, members, path lookup and recursive visits.

use crate::attribute::Attributes;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::file::File;
use crate::object::Object;
use crate::raw::FileInner;
use crate::raw::ObjectKind;
use h5_format::btree1;
use h5_format::local_heap;
use h5_format::message::link::{Link as LinkMsg, LinkInfo, LinkTarget};
use h5_format::message::misc::SymbolTable;
use h5_format::message::MessageType;
use h5_format::superblock::{EntryCache, SymbolTableEntry};
use h5_format::{symbol_table, Reader};
use std::collections::HashSet;
use std::ops::ControlFlow;

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

/// An object reached through a path.
#[derive(Debug, Clone)]
pub enum Node {
    /// A group.
    Group(Group),
    /// A dataset.
    Dataset(Dataset),
    /// A committed datatype.
    Datatype(crate::dataset::NamedDatatype),
}

impl Node {
    pub(crate) fn from_object(obj: Object) -> Result<Node> {
        Ok(match obj.kind() {
            ObjectKind::Group => Node::Group(Group { obj }),
            ObjectKind::Dataset => Node::Dataset(Dataset::from_object(obj)?),
            ObjectKind::Datatype => Node::Datatype(crate::dataset::NamedDatatype { obj }),
        })
    }
    /// The path the object was reached by.
    pub fn name(&self) -> &str {
        match self {
            Node::Group(g) => &g.obj.path,
            Node::Dataset(d) => d.name(),
            Node::Datatype(t) => &t.obj.path,
        }
    }
    /// Object header address (identity within the file).
    pub fn addr(&self) -> u64 {
        match self {
            Node::Group(g) => g.obj.addr(),
            Node::Dataset(d) => d.addr(),
            Node::Datatype(t) => t.obj.addr(),
        }
    }
}

/// A group.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) obj: Object,
}

fn join(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

impl Group {
    pub(crate) fn from_object(obj: Object) -> Result<Group> {
        match obj.kind() {
            ObjectKind::Group => Ok(Group { obj }),
            _ => Err(Error::WrongKind {
                path: obj.path.clone(),
                expected: "group",
            }),
        }
    }

    /// The path this group was reached by (`"/"` for the root).
    pub fn name(&self) -> &str {
        &self.obj.path
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.obj.file
    }

    /// Object header address.
    pub fn addr(&self) -> u64 {
        self.obj.addr()
    }

    /// The group's attributes.
    pub fn attrs(&self) -> Attributes {
        Attributes::new(self.obj.clone())
    }

    /// All links, in the group's iteration order: creation order when the group tracks it,
    /// otherwise name order (bytewise), as h5py iterates.
    pub fn links(&self) -> Result<Vec<Link>> {
        let mut links = self.raw_links().map_err(|e| e.at(&self.obj.path))?;
        links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if links.iter().all(|l| l.creation_order.is_some()) && self.tracks_order()? {
            links.sort_by_key(|l| l.creation_order);
        }
        Ok(links)
    }

    fn tracks_order(&self) -> Result<bool> {
        let f = self.obj.f();
        match self.obj.header_now()?.find(MessageType::LINK_INFO) {
            Some(m) => Ok(f
                .dec(LinkInfo::decode(&mut m.reader(f, "link info message")))?
                .track_order),
            None => Ok(false),
        }
    }

    /// Names of the members, in iteration order (see [`Group::links`]).
    pub fn member_names(&self) -> Result<Vec<String>> {
        Ok(self.links()?.into_iter().map(|l| l.name).collect())
    }

    /// The link called `name` in this group: found by name in the group's index (a symbol
    /// table's B-tree, a dense group's name index), not by listing the group.
    pub fn link(&self, name: &str) -> Result<Option<Link>> {
        self.find_link(name).map_err(|e| e.at(&self.obj.path))
    }

    fn find_link(&self, name: &str) -> Result<Option<Link>> {
        let f = self.obj.f();
        let h = &self.obj.header_now()?;
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
        Ok(self.raw_links()?.into_iter().find(|l| l.name == name))
    }

    fn raw_links(&self) -> Result<Vec<Link>> {
        let f = self.obj.f();
        let h = &self.obj.header_now()?;
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

    /// The object at `path` (absolute, or relative to this group), following soft links.
    pub fn node(&self, path: &str) -> Result<Node> {
        let obj = self.resolve(path)?;
        Node::from_object(obj)
    }

    /// The group at `path`.
    pub fn group(&self, path: &str) -> Result<Group> {
        match self.node(path)? {
            Node::Group(g) => Ok(g),
            n => Err(Error::WrongKind {
                path: n.name().to_string(),
                expected: "group",
            }),
        }
    }

    /// The dataset at `path`.
    pub fn dataset(&self, path: &str) -> Result<Dataset> {
        match self.node(path)? {
            Node::Dataset(d) => Ok(d),
            n => Err(Error::WrongKind {
                path: n.name().to_string(),
                expected: "dataset",
            }),
        }
    }

    /// Whether `path` names an object (dangling soft links and external links do not count).
    pub fn contains(&self, path: &str) -> bool {
        self.resolve(path).is_ok()
    }

    pub(crate) fn resolve(&self, path: &str) -> Result<Object> {
        let mut budget = self.obj.f().limits.max_soft_links;
        self.resolve_inner(path, &mut budget)
    }

    fn resolve_inner(&self, path: &str, budget: &mut usize) -> Result<Object> {
        let file = &self.obj.file;
        let mut cur = if path.starts_with('/') {
            file.root()?
        } else {
            self.clone()
        };
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() {
            return Ok(cur.obj);
        }
        for (i, part) in parts.iter().enumerate() {
            let link = cur
                .link(part)?
                .ok_or_else(|| Error::NotFound(join(&cur.obj.path, part)))?;
            let here = join(&cur.obj.path, part);
            let obj = match link.kind {
                LinkKind::Hard(addr) => Object::load(file, addr, &here)?,
                LinkKind::Soft(target) => {
                    if *budget == 0 {
                        return Err(Error::NotFound(format!("{here} (too many soft links)")));
                    }
                    *budget -= 1;
                    let mut o = cur.resolve_inner(&target, budget)?;
                    o.path = here;
                    o
                }
                LinkKind::External { file: ef, path: ep } => {
                    return Err(Error::Unsupported(format!(
                        "{here} is an external link to {ep:?} in {ef:?}; open that file to follow it"
                    )))
                }
                LinkKind::UserDefined(k) => {
                    return Err(Error::Unsupported(format!("{here}: user-defined link type {k}")))
                }
            };
            if i + 1 == parts.len() {
                return Ok(obj);
            }
            cur = Group::from_object(obj)?;
        }
        unreachable!("loop returns on the last part")
    }

    /// Visit every link below this group, depth first in each group's iteration order, like
    /// h5py's `visit_links`: `f(relative_path, &link)`; return `ControlFlow::Break` to stop.
    /// Soft and external links are reported, not followed; each group is entered once.
    pub fn visit_links<B>(
        &self,
        mut f: impl FnMut(&str, &Link) -> ControlFlow<B>,
    ) -> Result<Option<B>> {
        let mut seen = HashSet::from([self.addr()]);
        match self.visit_inner("", &mut f, &mut seen, 0)? {
            ControlFlow::Break(b) => Ok(Some(b)),
            ControlFlow::Continue(()) => Ok(None),
        }
    }

    fn visit_inner<B>(
        &self,
        prefix: &str,
        f: &mut impl FnMut(&str, &Link) -> ControlFlow<B>,
        seen: &mut HashSet<u64>,
        depth: usize,
    ) -> Result<ControlFlow<B>> {
        if depth > self.obj.f().limits.max_depth {
            return Err(Error::Unsupported(format!(
                "groups nested deeper than {depth}"
            )));
        }
        for link in self.links()? {
            let rel = if prefix.is_empty() {
                link.name.clone()
            } else {
                format!("{prefix}/{}", link.name)
            };
            if let ControlFlow::Break(b) = f(&rel, &link) {
                return Ok(ControlFlow::Break(b));
            }
            if let LinkKind::Hard(addr) = link.kind {
                if seen.insert(addr) {
                    let obj = Object::load(&self.obj.file, addr, &join(&self.obj.path, &rel))?;
                    if obj.kind() == ObjectKind::Group {
                        let g = Group { obj };
                        if let ControlFlow::Break(b) = g.visit_inner(&rel, f, seen, depth + 1)? {
                            return Ok(ControlFlow::Break(b));
                        }
                    }
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Visit every object below this group once (hard links only, by the first path that
    /// reaches it), like h5py's `visit`: `f(relative_path)`.
    pub fn visit<B>(&self, mut f: impl FnMut(&str) -> ControlFlow<B>) -> Result<Option<B>> {
        let mut once = HashSet::from([self.addr()]);
        self.visit_links(|rel, link| match link.kind {
            LinkKind::Hard(addr) if once.insert(addr) => f(rel),
            _ => ControlFlow::Continue(()),
        })
    }

    /// Visit every object below this group once, like h5py's `visititems`:
    /// `f(relative_path, &node)`.
    pub fn visit_items<B>(
        &self,
        mut f: impl FnMut(&str, &Node) -> ControlFlow<B>,
    ) -> Result<Option<B>> {
        let file = self.obj.file.clone();
        let base = self.obj.path.clone();
        let mut once = HashSet::from([self.addr()]);
        let mut err = None;
        let r = self.visit_links(|rel, link| {
            if let LinkKind::Hard(addr) = link.kind {
                if once.insert(addr) {
                    match Object::load(&file, addr, &join(&base, rel)).and_then(Node::from_object) {
                        Ok(n) => return f(rel, &n).map_break(Ok),
                        Err(e) => {
                            err = Some(e);
                            return ControlFlow::Break(Err(()));
                        }
                    }
                }
            }
            ControlFlow::Continue(())
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        Ok(r.and_then(|x| x.ok()))
    }
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
    let heap = crate::raw::dense::FractalHeap::open(f, heap_addr)?;
    let records = crate::raw::dense::btree2_records(f, btree_addr, &Default::default())?;
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
    let heap = crate::raw::dense::FractalHeap::open(f, heap_addr)?;
    let hash = h5_format::lookup3::hash(name.as_bytes(), 0);
    let mut found = None;
    crate::raw::dense::btree2_find(f, btree_addr, &Default::default(), &mut |rec| {
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

/// The link `name` of a symbol-table group: one descent of its B-tree (keys are names in the
/// local heap), then the symbol table node's entries.
fn symbol_table_find(f: &FileInner, st: &SymbolTable, name: &str) -> Result<Option<Link>> {
    let (heap, data) = f.local_heap(st.heap_addr)?;
    let name_at = |off: u64| -> Result<&[u8]> {
        f.dec(h5_format::local_heap::string_at(&data, off, heap.data_addr))
    };
    let key = name.as_bytes();
    let mut addr = st.btree_addr;
    for _ in 0..=u8::MAX as usize {
        let node = read_btree1_node(f, addr, 0)?;
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
        // the child whose right key is the first ≥ the name
        let mut child = None;
        for c in 0..node.children.len() {
            if key <= name_at(keys[c + 1])? {
                child = Some(node.children[c]);
                break;
            }
        }
        let Some(child) = child else {
            return Ok(None);
        };
        if node.level == 0 {
            for e in read_snod(f, child)? {
                if name_at(e.name_offset)? == key {
                    let link = entry_link(f, &data, heap.data_addr, name.to_string(), &e)?;
                    return Ok(Some(link));
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

/// Walk a symbol-table group's v1 B-tree and its symbol table nodes.
pub(crate) fn symbol_table_links(f: &FileInner, st: &SymbolTable) -> Result<Vec<Link>> {
    let (heap, data) = f.local_heap(st.heap_addr)?;
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
            }
        } else {
            // Push in reverse so children are visited left to right.
            stack.extend(node.children.iter().rev());
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let name = f.dec(local_heap::string_at(&data, e.name_offset, heap.data_addr))?;
        let name = String::from_utf8_lossy(name).into_owned();
        out.push(entry_link(f, &data, heap.data_addr, name, &e)?);
    }
    Ok(out)
}

/// The entries of the symbol table node at `addr`.
fn read_snod(f: &FileInner, addr: u64) -> Result<Vec<SymbolTableEntry>> {
    let head = f.read_meta(addr, 8, "symbol table node")?;
    let n = u16::from_le_bytes([head[6], head[7]]) as u64;
    let len = 8 + n * h5_format::superblock::SymbolTableEntry::size(f.sizes) as u64;
    let buf = f.read_meta(addr, len, "symbol table node")?;
    f.dec(symbol_table::decode(&buf, addr, f.sizes, n as usize))
}

/// The link a symbol table entry called `name` makes (`data`: the group's local heap data
/// segment, at `data_addr`).
fn entry_link(
    f: &FileInner,
    data: &[u8],
    data_addr: u64,
    name: String,
    e: &SymbolTableEntry,
) -> Result<Link> {
    let kind = match (&e.cache, e.header_addr) {
        (EntryCache::SoftLink { value_offset }, _) => {
            let v = f.dec(local_heap::string_at(data, *value_offset as u64, data_addr))?;
            LinkKind::Soft(String::from_utf8_lossy(v).into_owned())
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

/// Read a v1 B-tree node of any type: the header first, then exactly the used entries.
pub(crate) fn read_btree1_node(f: &FileInner, addr: u64, ndims: usize) -> Result<btree1::Node> {
    let o = f.sizes.offset as u64;
    let head = f.read_meta(addr, 8 + 2 * o, "v1 B-tree node")?;
    let mut r = Reader::new(&head, addr, f.sizes, "v1 B-tree node");
    f.dec(r.signature(b"TREE"))?;
    let node_type = head[4];
    let entries = u16::from_le_bytes([head[6], head[7]]) as u64;
    let key = if node_type == 0 {
        f.sizes.length as u64
    } else {
        8 + 8 * ndims as u64
    };
    let len = 8 + 2 * o + (entries + 1) * key + entries * o;
    let buf = f.read_meta(addr, len, "v1 B-tree node")?;
    f.dec(btree1::Node::decode(
        &buf,
        addr,
        f.sizes,
        ndims,
        entries as usize,
    ))
}

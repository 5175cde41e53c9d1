//! [`Group`]: links, members, path lookup and recursive visits.

use super::handles::{
    Attributes, Dataset, DatasetBuilder, File, Group, NamedDatatype, Node, Object,
};
use crate::base::ObjectKind;
use crate::error::Error;
use crate::error::Result;
use crate::read::element::H5Type;
use crate::read::links as read_links;
use crate::read::links::Link;
use crate::read::links::LinkKind;
use crate::write::elements::Elements;
use crate::write::enc;
use crate::write::header;
use crate::write::header::HeaderEdit;
use crate::write::header::DONT_SHARE;
use crate::write::links;
use crate::write::names::taken;
use crate::write::names::{check_name, join};
use crate::write::symtab::Target;
use crate::write::with;
use h5_format::message::datatype::Datatype;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;
use std::collections::HashSet;
use std::ops::ControlFlow;

impl Node {
    pub(crate) fn from_object(obj: Object) -> Result<Node> {
        Ok(match obj.kind() {
            ObjectKind::Group => Node::Group(Group { obj }),
            ObjectKind::Dataset => Node::Dataset(Dataset::from_object(obj)?),
            ObjectKind::Datatype => Node::Datatype(NamedDatatype { obj }),
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
    pub fn file(&self) -> File {
        File::of(&self.obj.file)
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
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn links(&self) -> Result<Vec<Link>> {
        let h = self.obj.header_now()?;
        read_links::ordered(self.obj.f(), &h).map_err(|e| e.at(&self.obj.path))
    }

    /// Names of the members, in iteration order (see [`Group::links`]).
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn member_names(&self) -> Result<Vec<String>> {
        Ok(self.links()?.into_iter().map(|l| l.name).collect())
    }

    /// The link called `name` in this group: found by name in the group's index (a symbol
    /// table's B-tree, a dense group's name index), not by listing the group.
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn link(&self, name: &str) -> Result<Option<Link>> {
        let h = self.obj.header_now()?;
        read_links::find(self.obj.f(), &h, name).map_err(|e| e.at(&self.obj.path))
    }

    /// The object at `path` (absolute, or relative to this group), following soft links.
    ///
    /// # Errors
    /// Nothing at `path` (the error names the missing part); a dangling or too long chain of soft
    /// links; an external link's file that cannot be opened; a damaged file (the error names the
    /// structure and its offset).
    pub fn node(&self, path: &str) -> Result<Node> {
        let obj = self.resolve(path)?;
        Node::from_object(obj)
    }

    /// The group at `path`.
    ///
    /// # Errors
    /// As [`node`](Self::node); an object at `path` that is not a group.
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
    ///
    /// # Errors
    /// As [`node`](Self::node); an object at `path` that is not a dataset.
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
            File::of(file).root
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
    /// h5py's `visit_links`: `f(relative_path, &link)`. The callback returns what
    /// [`Visit`] allows: `()` to go on, `ControlFlow::Break(b)` to stop with `b`, or a
    /// `Result` of either to stop with an error. Soft and external links are reported, not
    /// followed; each group is entered once.
    ///
    /// # Errors
    /// What the callback returns; a group that cannot be read; groups nested past
    /// [`crate::Limits::max_depth`].
    pub fn visit_links<B, R: Visit<B>>(
        &self,
        mut f: impl FnMut(&str, &Link) -> R,
    ) -> Result<Option<B>> {
        let mut seen = HashSet::from([self.addr()]);
        let mut f = |rel: &str, link: &Link| Ok((f(rel, link).flow()?, None));
        match self.visit_inner("", &mut f, &mut seen, 0)? {
            ControlFlow::Break(b) => Ok(Some(b)),
            ControlFlow::Continue(()) => Ok(None),
        }
    }

    /// Visit the links below this group (`prefix` is its path from where the visit began).
    /// `f` may hand back the object a hard link names when it loaded it (`visit_items`
    /// does), so that it is not loaded again to see whether to go into it.
    fn visit_inner<B>(
        &self,
        prefix: &str,
        f: &mut impl FnMut(&str, &Link) -> Result<(ControlFlow<B>, Option<Object>)>,
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
            let (flow, loaded) = f(&rel, &link)?;
            if let ControlFlow::Break(b) = flow {
                return Ok(ControlFlow::Break(b));
            }
            if let LinkKind::Hard(addr) = link.kind {
                if seen.insert(addr) {
                    let obj = match loaded.filter(|o| o.addr() == addr) {
                        Some(obj) => obj,
                        None => {
                            Object::load(&self.obj.file, addr, &join(&self.obj.path, &link.name))?
                        }
                    };
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
    /// reaches it), like h5py's `visit`: `f(relative_path)`, returning what [`Visit`]
    /// allows.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// # f.create_group("a/b")?;
    /// let mut names = Vec::new();
    /// f.visit(|name| names.push(name.to_string()))?;
    /// assert_eq!(names, ["a", "a/b"]);
    /// // stop at the first match, as h5py stops when the callable returns a value
    /// let found = f.visit(|name| match name.ends_with('b') {
    ///     true => std::ops::ControlFlow::Break(name.to_string()),
    ///     false => std::ops::ControlFlow::Continue(()),
    /// })?;
    /// assert_eq!(found.as_deref(), Some("a/b"));
    /// // or stop with an error
    /// let e = f.visit(|name| match name {
    ///     "a" => Err(h5::Error::NotFound("not wanted".into())),
    ///     _ => Ok(std::ops::ControlFlow::<()>::Continue(())),
    /// });
    /// assert!(e.is_err());
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`visit_links`](Self::visit_links).
    pub fn visit<B, R: Visit<B>>(&self, mut f: impl FnMut(&str) -> R) -> Result<Option<B>> {
        let mut once = HashSet::from([self.addr()]);
        self.visit_links(|rel, link| match link.kind {
            LinkKind::Hard(addr) if once.insert(addr) => f(rel).flow(),
            _ => Ok(ControlFlow::Continue(())),
        })
    }

    /// Visit every object below this group once, like h5py's `visititems`:
    /// `f(relative_path, &node)`, returning what [`Visit`] allows.
    ///
    /// # Errors
    /// As [`visit_links`](Self::visit_links); an object that cannot be opened.
    pub fn visit_items<B, R: Visit<B>>(
        &self,
        mut f: impl FnMut(&str, &Node) -> R,
    ) -> Result<Option<B>> {
        let file = self.obj.file.clone();
        let base = self.obj.path.clone();
        let mut once = HashSet::from([self.addr()]);
        let mut step = |rel: &str, link: &Link| match link.kind {
            LinkKind::Hard(addr) if once.insert(addr) => {
                // loaded once: for the callback's node, and handed back to go into a group
                let obj = Object::load(&file, addr, &join(&base, rel))?;
                let node = Node::from_object(obj.clone())?;
                Ok((f(rel, &node).flow()?, Some(obj)))
            }
            _ => Ok((ControlFlow::Continue(()), None)),
        };
        let mut seen = HashSet::from([self.addr()]);
        match self.visit_inner("", &mut step, &mut seen, 0)? {
            ControlFlow::Break(b) => Ok(Some(b)),
            ControlFlow::Continue(()) => Ok(None),
        }
    }
}

/// What a visitor callback ([`Group::visit`], [`Group::visit_items`],
/// [`Group::visit_links`]) returns: `()` to go on, a `ControlFlow` to go on or stop with a
/// value, or a [`Result`] of either to stop with an error.
pub trait Visit<B> {
    /// Go on, stop with a value, or stop with an error.
    ///
    /// # Errors
    /// The callback's error.
    fn flow(self) -> Result<ControlFlow<B>>;
}

impl Visit<()> for () {
    fn flow(self) -> Result<ControlFlow<()>> {
        Ok(ControlFlow::Continue(()))
    }
}

impl<B> Visit<B> for ControlFlow<B> {
    fn flow(self) -> Result<ControlFlow<B>> {
        Ok(self)
    }
}

impl Visit<()> for Result<()> {
    fn flow(self) -> Result<ControlFlow<()>> {
        self.map(ControlFlow::Continue)
    }
}

impl<B> Visit<B> for Result<ControlFlow<B>> {
    fn flow(self) -> Result<ControlFlow<B>> {
        self
    }
}

impl Group {
    /// The group the last component of `path` lives in, and that component — resolved
    /// without creating anything (`None`: the parent does not exist).
    pub(crate) fn find_parent(&self, path: &str) -> Result<(Option<Group>, String)> {
        let path = path.trim_end_matches('/');
        match path.rsplit_once('/') {
            Some(("", name)) => Ok((Some(self.file().root()?), name.to_string())),
            Some((parent, name)) => match self.group(parent) {
                Ok(g) => Ok((Some(g), name.to_string())),
                Err(Error::NotFound(_)) => Ok((None, name.to_string())),
                Err(e) => Err(e),
            },
            None => Ok((Some(self.clone()), path.to_string())),
        }
    }

    /// The group a new link at `path` goes into (created with any missing intermediate
    /// groups, as h5py creates them) and the link's name — checked first, so a refused name
    /// leaves the file unchanged.
    pub(crate) fn split_parent(&self, path: &str) -> Result<(Group, String)> {
        let (parent, name) = self.find_parent(path)?;
        check_name(&name)?;
        match parent {
            Some(g) => Ok((g, name)),
            None => {
                let dir = path
                    .trim_end_matches('/')
                    .rsplit_once('/')
                    .map_or("", |p| p.0);
                Ok((self.require_group(dir)?, name))
            }
        }
    }

    /// The group at `path`, created (with any missing intermediate groups) when absent, like
    /// h5py's `require_group`.
    ///
    /// # Errors
    /// Something other than a group at `path`; as [`create_group`](Self::create_group).
    pub fn require_group(&self, path: &str) -> Result<Group> {
        match self.group(path) {
            Ok(g) => Ok(g),
            Err(Error::NotFound(_)) => self.create_group(path),
            Err(e) => Err(e),
        }
    }

    /// Create a group at `path` (`"a/b"` creates `a` too, as h5py does). An existing name is
    /// an error.
    ///
    /// # Errors
    /// A name that exists; an empty name or a `.` part; something other
    /// than a group on the way; a read-only or closed file.
    pub fn create_group(&self, path: &str) -> Result<Group> {
        self.create_group_with(path, false)
    }

    /// Create a group that keeps its links and attributes in creation order, tracked and
    /// indexed (h5py's `create_group(name, track_order=True)`): h5py and our reader list
    /// its members and attributes in the order they were made. Intermediate groups are
    /// plain ones, as in h5py.
    ///
    /// # Errors
    /// As [`create_group`](Self::create_group).
    pub fn create_group_ordered(&self, path: &str) -> Result<Group> {
        self.create_group_with(path, true)
    }

    fn create_group_with(&self, path: &str, track_order: bool) -> Result<Group> {
        let (parent, name) = self.split_parent(path)?;
        let f = &self.obj.file;
        let addr = with(f, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            let addr = links::create_group(cx, track_order)?;
            let group = links::symbol_table_of(cx, addr);
            links::insert(cx, parent.addr(), &name, Target::Object { addr, group })?;
            Ok(addr)
        })?;
        Group::from_object(Object::load(
            &self.obj.file,
            addr,
            &join(parent.name(), &name),
        )?)
    }

    /// Create a soft link `name` → `target` (a path, which need not exist).
    ///
    /// # Errors
    /// A name that exists; a read-only or closed file.
    pub fn link_soft(&self, target: &str, name: &str) -> Result<()> {
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            links::insert(cx, parent.addr(), &name, Target::Soft(target.to_string()))
        })
    }

    /// Create an external link `name` → the object at `path` in the file `file` (h5py's
    /// `group[name] = h5py.ExternalLink(file, path)`). Neither needs to exist. A symbol-table
    /// group is converted to link messages first, as libhdf5 does.
    ///
    /// # Errors
    /// A name that exists; a read-only or closed file.
    pub fn link_external(&self, file: &str, path: &str, name: &str) -> Result<()> {
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::External {
                    file: file.to_string(),
                    path: path.to_string(),
                },
            )
        })
    }

    /// Create a hard link `name` to an existing object at `target`.
    ///
    /// # Errors
    /// No object at `target`; a name that exists; a read-only or closed file.
    pub fn link_hard(&self, target: &str, name: &str) -> Result<()> {
        let obj = self.resolve(target)?;
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            let group = links::symbol_table_of(cx, obj.addr());
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::Object {
                    addr: obj.addr(),
                    group,
                },
            )?;
            // one more hard link to the object
            HeaderEdit::load(cx, obj.addr())?.adjust_refcount(cx, 1)?;
            Ok(())
        })
    }

    /// Delete the link at `path` (h5py's `del group[path]`). The object stays in the file while
    /// other hard links reach it; with the last one its space (header, data, chunks, link and
    /// attribute storage, and members only it reached) is freed for reuse in this session, as
    /// libhdf5 frees it. Handles to a deleted object refuse further writes.
    ///
    /// # Errors
    /// No link at `path`; a read-only or closed file (a failed unlink changes nothing).
    pub fn unlink(&self, path: &str) -> Result<()> {
        // nothing is created on the way: a missing path is an error and changes nothing
        let (parent, name) = self.find_parent(path)?;
        let parent = parent.ok_or_else(|| Error::NotFound(path.to_string()))?;
        let link = parent
            .link(&name)?
            .ok_or_else(|| Error::NotFound(join(parent.name(), &name)))?;
        with(&self.obj.file, |cx| {
            links::remove(cx, parent.addr(), &name)?;
            if let LinkKind::Hard(addr) = link.kind {
                crate::write::reclaim::drop_link(cx, addr)?;
            }
            Ok(())
        })
    }

    /// Move (rename) the link at `src` to `dst` (h5py's `group.move(src, dst)`); `dst` must
    /// not exist, its missing intermediate groups are created (as h5py does). Everything is
    /// checked before anything changes: a failed move leaves the file as it was. As in h5py,
    /// `src == dst` does nothing (another path to the same link is refused: it exists).
    ///
    /// # Errors
    /// No link at `src`; a name that exists at `dst`; a read-only or closed file (a failed move
    /// changes nothing).
    pub fn move_link(&self, src: &str, dst: &str) -> Result<()> {
        if src == dst {
            return Ok(()); // h5py: a move onto the same path does nothing
        }
        let (sparent, sname) = self.find_parent(src)?;
        let sparent = sparent.ok_or_else(|| Error::NotFound(src.to_string()))?;
        let link = sparent
            .link(&sname)?
            .ok_or_else(|| Error::NotFound(join(sparent.name(), &sname)))?;
        let (dparent, dname) = self.find_parent(dst)?;
        check_name(&dname)?;
        if let Some(dp) = &dparent {
            if dp.link(&dname)?.is_some() {
                return Err(Error::Exists(join(dp.name(), &dname)));
            }
        }
        let target = match link.kind {
            LinkKind::Hard(addr) => Target::Object {
                addr,
                group: with(&self.obj.file, |cx| Ok(links::symbol_table_of(cx, addr)))?,
            },
            LinkKind::Soft(path) => Target::Soft(path),
            LinkKind::External { file, path } => Target::External { file, path },
            _ => return Err(Error::Unsupported("moving user-defined links".into())),
        };
        let (dparent, dname) = self.split_parent(dst)?;
        with(&self.obj.file, |cx| {
            links::insert(cx, dparent.addr(), &dname, target)?;
            links::remove(cx, sparent.addr(), &sname)
        })
    }

    /// Start building a dataset of Rust element type `T` (h5py's `create_dataset`).
    pub fn new_dataset<T: H5Type>(&self) -> DatasetBuilder {
        DatasetBuilder::new(self.clone(), T::datatype())
    }

    /// Create a dataset holding `data` (h5py's `create_dataset(name, data=...)`): its type
    /// is the elements' type, its shape the data's — an ndarray array or view, a slice, a
    /// `Vec` (1-D), or one element (a scalar dataset).
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let ds = f.create_dataset("temps", &[20.5, 21.0, 19.8])?;
    /// assert_eq!(ds.shape(), Some(vec![3]));
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// A name that exists; a read-only or closed file.
    pub fn create_dataset<E: Elements>(&self, name: &str, data: E) -> Result<Dataset> {
        let shape = data.shape();
        let count = shape.iter().product();
        // a contiguous dataset's data is written with it, before its header
        let mut encode = |cx: &mut crate::write::WriteCtx<'_>, dt: &Datatype| {
            crate::write::elements::encode(cx, dt, &data, count)
        };
        // a large slice of a derived type streams while it is encoded, as writes do
        let parts =
            crate::write::elements::encode_parts(&E::Elem::datatype(), &data, count, 4 << 20);
        let (ds, held) = self
            .new_dataset::<E::Elem>()
            .shape(&shape)
            .create_holding(name, Some((&mut encode, parts)))?;
        if !held {
            ds.write(&data)?;
        }
        Ok(ds)
    }
}

impl Group {
    /// Start building a dataset of any element type (e.g. [`crate::read::types::long_double`]).
    pub fn new_dataset_of(&self, dtype: Datatype) -> DatasetBuilder {
        DatasetBuilder::new(self.clone(), dtype)
    }
}

impl Group {
    /// Commit `dtype` under `path` (h5py's `group[path] = numpy_dtype`). Datasets can then use
    /// it ([`DatasetBuilder::committed`](DatasetBuilder::committed)) and it
    /// can carry attributes.
    ///
    /// # Errors
    /// A name that exists; a read-only or closed file.
    pub fn commit_datatype(&self, path: &str, dtype: &Datatype) -> Result<NamedDatatype> {
        let dtype = &crate::write::strings::fit_to_file(dtype, self.obj.file.sizes);
        let (parent, name) = self.split_parent(path)?;
        let addr = with(&self.obj.file, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(crate::write::names::join(
                    parent.name(),
                    &name,
                )));
            }
            let body = enc::datatype(cx.f.sizes, cx.st.libver, dtype)?;
            // libhdf5: constant, never shared
            let m = MessageOut {
                flags: 0x01 | DONT_SHARE,
                ..MessageOut::new(MessageType::DATATYPE.0, body)
            };
            let addr = header::create(cx, vec![m], 0)?;
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::Object { addr, group: None },
            )?;
            Ok(addr)
        })?;
        let obj = Object::load(
            &self.obj.file,
            addr,
            &crate::write::names::join(parent.name(), &name),
        )?;
        Ok(NamedDatatype { obj })
    }

    /// Commit the datatype of Rust type `T` under `path`.
    ///
    /// # Errors
    /// As [`commit_datatype`](Self::commit_datatype).
    pub fn commit<T: H5Type>(&self, path: &str) -> Result<NamedDatatype> {
        self.commit_datatype(path, &T::datatype())
    }
}

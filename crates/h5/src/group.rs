//! [`Group`]: links, members, path lookup and recursive visits.

use crate::attribute::Attributes;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::file::File;
use crate::object::Object;
use crate::raw::ObjectKind;
use crate::read::links::{self, Link, LinkKind};
use std::collections::HashSet;
use std::ops::ControlFlow;

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
        let h = self.obj.header_now()?;
        links::ordered(self.obj.f(), &h).map_err(|e| e.at(&self.obj.path))
    }

    /// Names of the members, in iteration order (see [`Group::links`]).
    pub fn member_names(&self) -> Result<Vec<String>> {
        Ok(self.links()?.into_iter().map(|l| l.name).collect())
    }

    /// The link called `name` in this group: found by name in the group's index (a symbol
    /// table's B-tree, a dense group's name index), not by listing the group.
    pub fn link(&self, name: &str) -> Result<Option<Link>> {
        let h = self.obj.header_now()?;
        links::find(self.obj.f(), &h, name).map_err(|e| e.at(&self.obj.path))
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

//! The write API on groups, datasets and attributes (default profile): h5py's semantics.

use super::header::{self, HeaderEdit};
use super::links;
use super::symtab::Target;
use super::{enc, with, LibVer, WriteCtx};
use crate::attribute::Attributes;
use crate::dataset::{Dataset, LayoutKind};
use crate::error::{Error, Result};
use crate::group::Group;
use crate::object::Object;
use crate::read::convert::{encode_scalar, H5Type};
use crate::read::links::LinkKind;
use crate::read::selection::Selection;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::layout::Layout;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;

/// Message flag: constant (datatype, fill value: they never change).
const CONSTANT: u8 = 0x01;
/// Message flag: the body is a shared message (a reference to a committed datatype).
const SHARED: u8 = 0x02;

fn msg(t: MessageType, flags: u8, data: Vec<u8>) -> MessageOut {
    MessageOut {
        mtype: t.0,
        flags,
        creation_order: None,
        data,
    }
}

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name.contains('/') {
        return Err(Error::Shape(format!("{name:?} is not a valid link name")));
    }
    Ok(())
}

pub(crate) fn join(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// Whether `parent` already has a link `name`.
pub(crate) fn taken(cx: &mut WriteCtx<'_>, parent: &Group, name: &str) -> Result<bool> {
    match links::fast_contains(cx, parent.addr(), name)? {
        Some(b) => Ok(b),
        None => Ok(parent.link(name)?.is_some()),
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
    pub fn require_group(&self, path: &str) -> Result<Group> {
        match self.group(path) {
            Ok(g) => Ok(g),
            Err(Error::NotFound(_)) => self.create_group(path),
            Err(e) => Err(e),
        }
    }

    /// Create a group at `path` (`"a/b"` creates `a` too, as h5py does). An existing name is
    /// an error.
    pub fn create_group(&self, path: &str) -> Result<Group> {
        self.create_group_with(path, false)
    }

    /// Create a group that keeps its links and attributes in creation order, tracked and
    /// indexed (h5py's `create_group(name, track_order=True)`): h5py and our reader list
    /// its members and attributes in the order they were made. Intermediate groups are
    /// plain ones, as in h5py.
    pub fn create_group_ordered(&self, path: &str) -> Result<Group> {
        self.create_group_with(path, true)
    }

    fn create_group_with(&self, path: &str, track_order: bool) -> Result<Group> {
        let (parent, name) = self.split_parent(path)?;
        let f = &self.obj.file.inner;
        let addr = with(f, |cx| {
            if taken(cx, &parent, &name)? {
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
    pub fn link_soft(&self, target: &str, name: &str) -> Result<()> {
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file.inner, |cx| {
            if taken(cx, &parent, &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            links::insert(cx, parent.addr(), &name, Target::Soft(target.to_string()))
        })
    }

    /// Create an external link `name` → the object at `path` in the file `file` (h5py's
    /// `group[name] = h5py.ExternalLink(file, path)`). Neither needs to exist. A symbol-table
    /// group is converted to link messages first, as libhdf5 does.
    pub fn link_external(&self, file: &str, path: &str, name: &str) -> Result<()> {
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file.inner, |cx| {
            if taken(cx, &parent, &name)? {
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
    pub fn link_hard(&self, target: &str, name: &str) -> Result<()> {
        let obj = self.resolve(target)?;
        let (parent, name) = self.split_parent(name)?;
        with(&self.obj.file.inner, |cx| {
            if taken(cx, &parent, &name)? {
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
    pub fn unlink(&self, path: &str) -> Result<()> {
        // nothing is created on the way: a missing path is an error and changes nothing
        let (parent, name) = self.find_parent(path)?;
        let parent = parent.ok_or_else(|| Error::NotFound(path.to_string()))?;
        let link = parent
            .link(&name)?
            .ok_or_else(|| Error::NotFound(join(parent.name(), &name)))?;
        with(&self.obj.file.inner, |cx| {
            links::remove(cx, parent.addr(), &name)?;
            if let LinkKind::Hard(addr) = link.kind {
                super::reclaim::drop_link(cx, addr)?;
            }
            Ok(())
        })
    }

    /// Move (rename) the link at `src` to `dst` (h5py's `group.move(src, dst)`); `dst` must
    /// not exist, its missing intermediate groups are created (as h5py does). Everything is
    /// checked before anything changes: a failed move leaves the file as it was. As in h5py,
    /// `src == dst` does nothing (another path to the same link is refused: it exists).
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
                group: with(&self.obj.file.inner, |cx| {
                    Ok(links::symbol_table_of(cx, addr))
                })?,
            },
            LinkKind::Soft(path) => Target::Soft(path),
            LinkKind::External { file, path } => Target::External { file, path },
            _ => return Err(Error::Unsupported("moving user-defined links".into())),
        };
        let (dparent, dname) = self.split_parent(dst)?;
        with(&self.obj.file.inner, |cx| {
            links::insert(cx, dparent.addr(), &dname, target)?;
            links::remove(cx, sparent.addr(), &sname)
        })
    }

    /// Start building a dataset of Rust element type `T` (h5py's `create_dataset`).
    pub fn new_dataset<T: H5Type>(&self) -> DatasetBuilder {
        DatasetBuilder::new(self.clone(), T::datatype())
    }

    /// Create a dataset holding `data` (h5py's `create_dataset(name, data=...)`).
    pub fn create_dataset<T: H5Type, S: ndarray::Data<Elem = T>, D: ndarray::Dimension>(
        &self,
        name: &str,
        data: &ndarray::ArrayBase<S, D>,
    ) -> Result<Dataset> {
        let shape: Vec<u64> = data.shape().iter().map(|&d| d as u64).collect();
        let ds = self.new_dataset::<T>().shape(&shape).create(name)?;
        ds.write(data)?;
        Ok(ds)
    }
}

/// When a dataset's storage is allocated (libhdf5's `H5Pset_alloc_time`, h5py's
/// `dcpl.set_alloc_time`). The default is libhdf5's: early for compact, late for contiguous,
/// incremental for chunked datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocTime {
    /// All of it when the dataset is created (and when a resize grows it).
    Early = 1,
    /// All of it at the first write.
    Late = 2,
    /// Chunk by chunk as they are written (contiguous data: at the first write).
    Incremental = 3,
}

/// When allocated storage is written with the fill value (libhdf5's `H5Pset_fill_time`,
/// h5py's `dcpl.set_fill_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillTime {
    /// Always, when it is allocated.
    Alloc = 0,
    /// Never: unwritten elements of allocated storage hold whatever the space held (this
    /// writer leaves zeros there).
    Never = 1,
    /// When a fill value was set (the default).
    IfSet = 2,
}

/// Whether elements of `dt` hold variable-length data (global heap references).
fn has_vlen(dt: &Datatype) -> bool {
    match dt {
        Datatype::VarLenSeq { .. } | Datatype::VarLenStr { .. } => true,
        Datatype::Compound { members, .. } => members.iter().any(|m| has_vlen(&m.dtype)),
        Datatype::Array { base, .. } | Datatype::Enum { base, .. } => has_vlen(base),
        _ => false,
    }
}

/// A fill value as given to the builder.
#[derive(Debug, Clone)]
enum Fill {
    /// Already in the dataset's element encoding.
    Bytes(Vec<u8>),
    /// To encode when the dataset is created (variable-length parts need the file).
    Value(crate::Value),
}

/// Builds a dataset: element type, shape, layout, fill value (hdf5-metno style).
#[derive(Debug, Clone)]
pub struct DatasetBuilder {
    group: Group,
    dtype: Datatype,
    shape: Option<Vec<u64>>,
    maxshape: Option<Vec<Option<u64>>>,
    chunks: Option<Vec<u64>>,
    layout: Option<LayoutKind>,
    fill: Option<Fill>,
    filters: super::chunked::FilterSpec,
    auto_chunks: bool,
    /// The committed datatype's header, when the dataset uses one.
    committed: Option<u64>,
    /// No elements and no shape (a null dataspace, h5py's `Empty`).
    null: bool,
    alloc_time: Option<AllocTime>,
    fill_time: Option<FillTime>,
    track_order: bool,
}

impl DatasetBuilder {
    pub(crate) fn new(group: Group, dtype: Datatype) -> Self {
        DatasetBuilder {
            group,
            dtype,
            shape: None,
            maxshape: None,
            chunks: None,
            layout: None,
            fill: None,
            filters: Default::default(),
            auto_chunks: false,
            committed: None,
            null: false,
            alloc_time: None,
            fill_time: None,
            track_order: false,
        }
    }
    /// The shape (`&[]` for a scalar).
    pub fn shape(mut self, shape: &[u64]) -> Self {
        self.shape = Some(shape.to_vec());
        self
    }
    /// No elements and no shape: a null dataspace, h5py's `create_dataset(name,
    /// data=h5py.Empty(dtype))`. Such a dataset is contiguous with no storage; it cannot be
    /// chunked, filtered or written.
    pub fn empty(mut self) -> Self {
        self.null = true;
        self.shape = Some(Vec::new());
        self
    }
    /// The maximum shape (h5py's `maxshape`); `None` entries are unlimited. As in h5py,
    /// giving one makes the dataset chunked (with a guessed chunk shape unless
    /// [`chunks`](Self::chunks) says otherwise), so that it can be [resized](Dataset::resize).
    pub fn maxshape(mut self, maxshape: &[Option<u64>]) -> Self {
        self.maxshape = Some(maxshape.to_vec());
        self
    }
    /// Chunk shape (h5py's `chunks=(…)`); no dimension may exceed the shape, or the maximum
    /// shape when one is given.
    pub fn chunks(mut self, chunks: &[u64]) -> Self {
        self.chunks = Some(chunks.to_vec());
        self
    }
    /// Chunked, with the chunk shape h5py would guess (h5py's `chunks=True`). Filters and a
    /// maximum shape do this on their own when no chunk shape is given.
    pub fn auto_chunks(mut self) -> Self {
        self.auto_chunks = true;
        self
    }
    /// Store the data inside the object header (small datasets only).
    pub fn compact(mut self) -> Self {
        self.layout = Some(LayoutKind::Compact);
        self
    }
    /// Store the data in one contiguous block (the default without chunks or filters).
    pub fn contiguous(mut self) -> Self {
        self.layout = Some(LayoutKind::Contiguous);
        self
    }
    /// gzip compression at `level` (0–9; h5py's `compression="gzip", compression_opts=level`,
    /// 4 by default there). Makes the dataset chunked. Replaces [`lzf`](Self::lzf).
    pub fn deflate(mut self, level: u8) -> Self {
        self.filters.compression = Some(super::chunked::Compression::Deflate(level));
        self
    }
    /// LZF compression (h5py's `compression="lzf"`). Makes the dataset chunked. Replaces
    /// [`deflate`](Self::deflate).
    pub fn lzf(mut self) -> Self {
        self.filters.compression = Some(super::chunked::Compression::Lzf);
        self
    }
    /// The shuffle filter before compression (h5py's `shuffle=True`). Makes the dataset
    /// chunked.
    pub fn shuffle(mut self) -> Self {
        self.filters.shuffle = true;
        self
    }
    /// A Fletcher-32 checksum on every chunk (h5py's `fletcher32=True`). Makes the dataset
    /// chunked.
    pub fn fletcher32(mut self) -> Self {
        self.filters.fletcher32 = true;
        self
    }
    /// Use a committed datatype (h5py's `dtype=f["mytype"]`): the dataset's type refers to
    /// it instead of holding a copy.
    pub fn committed(mut self, t: &crate::NamedDatatype) -> Result<Self> {
        self.dtype = t.dtype()?;
        self.committed = Some(t.obj.addr());
        Ok(self)
    }
    /// When the storage is allocated (libhdf5's default when not given: early for compact,
    /// late for contiguous, incremental for chunked). Compact datasets need
    /// [`AllocTime::Early`], as in libhdf5.
    pub fn alloc_time(mut self, t: AllocTime) -> Self {
        self.alloc_time = Some(t);
        self
    }
    /// Keep the dataset's attributes in creation order, tracked and indexed (h5py's
    /// `create_dataset(..., track_order=True)`; a version 2 header in every profile).
    pub fn track_order(mut self) -> Self {
        self.track_order = true;
        self
    }
    /// When allocated storage gets the fill value ([`FillTime::IfSet`] when not given).
    pub fn fill_time(mut self, t: FillTime) -> Self {
        self.fill_time = Some(t);
        self
    }
    /// The value unwritten elements read as (h5py's `fillvalue=`), converted to the
    /// dataset's type.
    pub fn fill_value<T: H5Type>(mut self, value: T) -> Result<Self> {
        let mut b = crate::raw::fallible_zeros(self.dtype.size())?;
        encode_scalar(&self.dtype, value.to_scalar(), &mut b)?;
        self.fill = Some(Fill::Bytes(b));
        Ok(self)
    }

    /// A fill value of any type (strings, compounds, complex numbers, arrays,
    /// variable-length sequences) as a dynamic value; variable-length parts are stored in
    /// the global heap, as libhdf5 stores them. Checked against the type when the dataset
    /// is created. A chunked dataset with a variable-length fill value gets its chunks
    /// allocated early unless [`alloc_time`](Self::alloc_time) says otherwise: libhdf5
    /// cannot read unallocated chunks of such a dataset from a read-only file.
    pub fn fill_value_of(mut self, value: crate::Value) -> Self {
        self.fill = Some(Fill::Value(value));
        self
    }

    /// Create the dataset at `path` in the group.
    pub fn create(self, path: &str) -> Result<Dataset> {
        let shape = self
            .shape
            .clone()
            .ok_or_else(|| Error::Shape("a dataset needs a shape".into()))?;
        if self.null
            && (self.maxshape.is_some()
                || self.chunks.is_some()
                || self.auto_chunks
                || self.filters != Default::default()
                || self.layout.is_some_and(|l| l != LayoutKind::Contiguous))
        {
            return Err(Error::Shape(
                "an empty (null dataspace) dataset is contiguous: no chunks, filters, \
                 maximum shape or compact layout"
                    .into(),
            ));
        }
        let plan = super::chunked::plan(
            &shape,
            self.maxshape.as_deref(),
            self.chunks.as_deref(),
            self.auto_chunks,
            &self.filters,
            &self.dtype,
            self.layout.is_some(),
        )?;
        let es = self.dtype.size();
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::Shape("shape too large".into()))?;
        let bytes = n
            .checked_mul(es)
            .ok_or_else(|| Error::Shape("shape too large".into()))?;
        let bytes = if self.null { 0 } else { bytes };
        let layout_kind = match &plan {
            Some(_) => LayoutKind::Chunked,
            None => self.layout.unwrap_or(LayoutKind::Contiguous),
        };
        let alloc_time = self.alloc_time.unwrap_or(match layout_kind {
            LayoutKind::Compact => AllocTime::Early,
            // libhdf5 cannot read an unallocated chunk whose fill value holds variable-length
            // data in a read-only file ("no write intent"): allocate every chunk up front
            LayoutKind::Chunked if self.fill.is_some() && has_vlen(&self.dtype) => AllocTime::Early,
            LayoutKind::Chunked => AllocTime::Incremental,
            _ => AllocTime::Late,
        });
        if layout_kind == LayoutKind::Compact && alloc_time != AllocTime::Early {
            return Err(Error::Shape(
                "compact dataset must have early space allocation".into(),
            ));
        }
        let fill_time = self.fill_time.unwrap_or(FillTime::IfSet);
        // Everything that can be refused is checked before anything changes: the name, the
        // compact size, the fill value; only then are missing intermediate groups made.
        let (existing, name) = self.group.find_parent(path)?;
        check_name(&name)?;
        let f = &self.group.obj.file.inner;
        let fill_bytes = with(f, |cx| {
            if let Some(p) = &existing {
                if taken(cx, p, &name)? {
                    return Err(Error::Exists(join(p.name(), &name)));
                }
            }
            if layout_kind == LayoutKind::Compact {
                compact_fits(cx.st.libver, bytes)?;
            }
            match &self.fill {
                Some(Fill::Bytes(b)) => Ok(Some(b.clone())),
                Some(Fill::Value(v)) => Ok(Some(super::strings::encode_values(
                    cx,
                    &self.dtype,
                    std::slice::from_ref(v),
                    1,
                )?)),
                None => Ok(None),
            }
        })?;
        let (parent, name) = self.group.split_parent(path)?;
        let space = if self.null {
            Dataspace::null()
        } else if shape.is_empty() {
            Dataspace::scalar()
        } else {
            Dataspace::simple(
                shape.clone(),
                plan.as_ref().and_then(|p| p.max_dims.clone()),
            )
        };
        let addr = with(f, |cx| {
            if taken(cx, &parent, &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            let libver = cx.st.libver;
            // what allocated storage starts as: the fill value unless the fill time says not
            // to write it (then zeros)
            let initial = |cx: &WriteCtx<'_>| {
                let fv = fill_bytes
                    .as_deref()
                    .filter(|_| matches!(fill_time, FillTime::Alloc | FillTime::IfSet));
                cx.f.filled_buffer(fv, es as usize, if self.null { 0 } else { n })
            };
            let layout = match layout_kind {
                LayoutKind::Compact => Layout::Compact { data: initial(cx)? },
                LayoutKind::Chunked => {
                    let plan = plan.as_ref().expect("chunked plan");
                    super::chunked::new_layout(plan, &shape, es, libver)
                }
                _ if alloc_time == AllocTime::Early && bytes > 0 => {
                    let data = initial(cx)?;
                    let a = cx.alloc(bytes)?;
                    cx.write(a, &data)?;
                    Layout::Contiguous {
                        addr: Some(a),
                        size: Some(bytes),
                    }
                }
                _ => Layout::Contiguous {
                    addr: None,
                    size: Some(bytes),
                },
            };
            let fill = FillValue {
                alloc_time: alloc_time as u8,
                write_time: fill_time as u8,
                defined: true,
                value: fill_bytes.clone(),
            };
            let filters = plan.as_ref().map(|p| p.filters.as_slice()).unwrap_or(&[]);
            let msgs = self.messages(cx, &space, &fill, filters, &layout)?;
            // libhdf5 gives dataset headers a 256-byte message area.
            let addr = header::create_with(cx, msgs, 256, self.track_order)?;
            if let Some(t) = self.committed {
                // libhdf5 counts every object using a committed type as a reference to it
                HeaderEdit::load(cx, t)?.adjust_refcount(cx, 1)?;
            }
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::Object { addr, group: None },
            )?;
            Ok(addr)
        })?;
        let ds = Dataset::from_object(Object::load(
            &self.group.obj.file,
            addr,
            &join(parent.name(), &name),
        )?)?;
        if layout_kind == LayoutKind::Chunked && alloc_time == AllocTime::Early {
            // every chunk now, as libhdf5 allocates them
            ds.allocate_filled(&Selection::All)?;
        }
        Ok(ds)
    }

    /// The new dataset's header messages, in libhdf5's order and the profile's versions.
    fn messages(
        &self,
        cx: &mut WriteCtx<'_>,
        space: &Dataspace,
        fill: &FillValue,
        filters: &[h5_format::message::filter_pipeline::FilterInfo],
        layout: &Layout,
    ) -> Result<Vec<MessageOut>> {
        let (sizes, libver) = (cx.f.sizes, cx.st.libver);
        let mut msgs = vec![
            msg(
                MessageType::DATASPACE,
                0,
                enc::dataspace(sizes, libver, space)?,
            ),
            match self.committed {
                // a reference to the committed type's header (shared message, v2 type 2)
                Some(t) => msg(
                    MessageType::DATATYPE,
                    CONSTANT | SHARED,
                    super::named::shared_body(sizes, t)?,
                ),
                None => msg(
                    MessageType::DATATYPE,
                    CONSTANT,
                    enc::datatype(sizes, libver, &self.dtype)?,
                ),
            },
        ];
        let (new_fill, old_fill) = enc::fill_value(sizes, libver, fill)?;
        msgs.push(msg(MessageType::FILL_VALUE, CONSTANT, new_fill));
        if let Some(old) = old_fill {
            msgs.push(msg(MessageType::FILL_VALUE_OLD, CONSTANT, old));
        }
        if !filters.is_empty() {
            let body = super::chunked::pipeline_message(cx, filters)?;
            msgs.push(msg(MessageType::FILTER_PIPELINE, CONSTANT, body));
        }
        let body = enc::layout(sizes, libver, layout, !filters.is_empty())?;
        msgs.push(msg(MessageType::LAYOUT, 0, body));
        Ok(msgs)
    }
}

/// A compact dataset's data must fit one header message: at most 65 535 bytes, 4 of them the
/// layout message's own fields; version 1 headers also round messages up to 8 bytes (libhdf5
/// accepts up to 65 531 there too, but then cannot read the header back: "message not
/// aligned").
fn compact_fits(libver: LibVer, bytes: u64) -> Result<()> {
    let max = if libver == LibVer::Earliest {
        65_524
    } else {
        65_531
    };
    if bytes > max {
        return Err(Error::Shape(format!(
            "compact dataset size is bigger than header message maximum size \
             ({bytes} bytes; at most {max} in this file's object headers)"
        )));
    }
    Ok(())
}

impl Dataset {
    /// Store what newly allocated storage starts as — the fill value, or zeros when there
    /// is none or the fill time says not to write it — in `sel` (early allocation: at
    /// creation and where a resize grows the dataset).
    fn allocate_filled(&self, sel: &Selection) -> Result<()> {
        let fv = self.fill_value();
        let es = self.dtype().size() as usize;
        let elem = fv
            .value
            .as_deref()
            .filter(|_| fv.write_time != FillTime::Never as u8);
        // in pieces of at most about 16 MiB (whole chunks where that is cheap), so growing a
        // dataset by gigabytes does not build gigabytes of fill in memory
        for piece in self.batches(sel, (16 << 20) / es.max(1) as u64)? {
            self.write_encoded(&piece, 1, |cx, n, _| cx.f.filled_buffer(elem, es, n as u64))?;
        }
        Ok(())
    }
}

impl Dataset {
    /// Write the whole dataset from an array of the dataset's shape (any numeric type, converted
    /// as libhdf5 does).
    pub fn write<T: H5Type, S: ndarray::Data<Elem = T>, D: ndarray::Dimension>(
        &self,
        data: &ndarray::ArrayBase<S, D>,
    ) -> Result<()> {
        let want = self.shape().unwrap_or_default();
        let got: Vec<u64> = data.shape().iter().map(|&d| d as u64).collect();
        if got != want && !(want.is_empty() && data.len() == 1) {
            return Err(Error::Shape(format!(
                "data of shape {got:?} does not fit dataset {} of shape {want:?}",
                self.name()
            )));
        }
        let values: Vec<T> = data.iter().cloned().collect();
        self.write_raw_selection(&Selection::All, &values)
    }

    /// Write `data` (row-major, as many elements as the selection holds — or one, which is
    /// broadcast, like `dset[200:500, 500:1024] = 123`) into a selection.
    pub fn write_slice<T: H5Type>(&self, sel: &Selection, data: &[T]) -> Result<()> {
        self.write_raw_selection(sel, data)
    }

    fn write_raw_selection<T: H5Type>(&self, sel: &Selection, data: &[T]) -> Result<()> {
        self.write_encoded(sel, data.len(), |cx, n, dt| {
            let es = dt.size() as usize;
            let mut bytes = cx.f.data_buffer((n as u64).saturating_mul(es as u64))?;
            if data.len() == 1 && n > 0 {
                encode_scalar(dt, data[0].to_scalar(), &mut bytes[..es])?;
                let first = bytes[..es].to_vec();
                bytes
                    .chunks_exact_mut(es)
                    .skip(1)
                    .for_each(|c| c.copy_from_slice(&first));
            } else {
                for (v, c) in data.iter().zip(bytes.chunks_exact_mut(es)) {
                    encode_scalar(dt, v.to_scalar(), c)?;
                }
            }
            Ok(bytes)
        })
    }

    /// Write dynamic values (one per selected element, or one to broadcast) of any datatype:
    /// strings, compounds, complex numbers, enums, arrays, variable-length sequences.
    pub fn write_values(&self, sel: &Selection, values: &[crate::Value]) -> Result<()> {
        self.write_encoded(sel, values.len(), |cx, n, dt| {
            super::strings::encode_values(cx, dt, values, n)
        })
    }

    /// Resolve the selection, encode the elements (inside the write context: variable-length
    /// parts go to the global heap) and store them.
    fn write_encoded(
        &self,
        sel: &Selection,
        count: usize,
        encode: impl FnOnce(&mut WriteCtx<'_>, usize, &Datatype) -> Result<Vec<u8>>,
    ) -> Result<()> {
        let dims = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        let res = sel.resolve(&dims)?;
        let n = res.len() as usize;
        if count != n && count != 1 {
            return Err(Error::Shape(format!(
                "{} values for a selection of {n} elements of {}",
                count,
                self.name()
            )));
        }
        let dt = self.dtype().clone();
        let es = dt.size() as usize;
        let f = &self.file().inner;
        let total = dims.iter().fold(es as u64, |a, &d| a.saturating_mul(d));
        let name = self.name().to_string();
        let addr = self.addr();
        with(f, |cx| {
            if n == 0 {
                // Nothing to store — and no storage to allocate: libhdf5 gives an empty
                // contiguous dataset no address (h5py refuses a zero-byte block).
                return Ok(());
            }
            let bytes = encode(cx, n, &dt)?;
            let mut h = HeaderEdit::load(cx, addr)?;
            let lm = h
                .find(MessageType::LAYOUT)
                .next()
                .cloned()
                .ok_or_else(|| Error::Unsupported(format!("{name}: no layout")))?;
            let (layout, _) = cx.f.dec(h5_format::message::layout::decode(
                &mut h5_format::Reader::new(&lm.data, addr, cx.f.sizes, "layout message"),
            ))?;
            let zero = vec![0u64; dims.len()];
            match layout {
                Layout::Contiguous { addr: a, .. } => {
                    let (a, mut block) = match a {
                        Some(a) => {
                            let mut b = cx.f.data_buffer(total)?;
                            cx.f.read_data(a, &mut b, "contiguous data")?;
                            (a, b)
                        }
                        None => {
                            // First write: allocate, fill, and record the address.
                            let a = cx.alloc(total)?;
                            let mut b = cx.f.data_buffer(total)?;
                            if let Some(fv) =
                                self.fill_value().value.as_ref().filter(|v| v.len() == es)
                            {
                                b.chunks_exact_mut(es).for_each(|c| c.copy_from_slice(fv));
                            }
                            let l = Layout::Contiguous {
                                addr: Some(a),
                                size: Some(total),
                            };
                            h.replace(
                                cx,
                                MessageType::LAYOUT,
                                enc::layout(cx.f.sizes, cx.st.libver, &l, false)?,
                            )?;
                            (a, b)
                        }
                    };
                    crate::read::grid::for_each_run(0, &zero, &dims, &res, es, |blk, s, len| {
                        block[blk..blk + len].copy_from_slice(&bytes[s..s + len]);
                    });
                    cx.write(a, &block)
                }
                Layout::Compact { mut data } => {
                    crate::read::grid::for_each_run(0, &zero, &dims, &res, es, |blk, s, len| {
                        data[blk..blk + len].copy_from_slice(&bytes[s..s + len]);
                    });
                    h.replace(
                        cx,
                        MessageType::LAYOUT,
                        enc::layout(cx.f.sizes, cx.st.libver, &Layout::Compact { data }, false)?,
                    )
                }
                Layout::Chunked(_) => super::chunked::write(cx, &mut h, addr, &dims, &res, &bytes),
                _ => Err(Error::Unsupported(format!(
                    "{name}: writing virtual datasets"
                ))),
            }
        })
    }
}

impl Dataset {
    /// Change the shape (h5py's `resize`): each dimension grows or shrinks on its own, up to
    /// the maximum shape; data inside the new shape stays where it is, chunks wholly outside
    /// it are freed, and what becomes visible again after a shrink reads as the fill value.
    /// Only chunked datasets can be resized. This handle sees the new shape afterwards;
    /// other handles to the dataset must be opened again.
    pub fn resize(&mut self, shape: &[u64]) -> Result<()> {
        if self.layout() != LayoutKind::Chunked {
            return Err(Error::Shape(format!(
                "Only chunked datasets can be resized ({} is {:?})",
                self.name(),
                self.layout()
            )));
        }
        let addr = self.addr();
        let old = self.shape().unwrap_or_default();
        with(&self.file().inner, |cx| {
            let mut h = HeaderEdit::load(cx, addr)?;
            super::chunked::resize(cx, &mut h, addr, shape)
        })
        .map_err(|e| match e {
            Error::Shape(m) => Error::Shape(format!("{}: {m}", self.name())),
            e => e.at(self.name()),
        })?;
        *self = Dataset::from_object(Object::load(self.file(), addr, self.name())?)?;
        if self.fill_value().alloc_time == AllocTime::Early as u8 {
            // early allocation: the grown parts get their storage now
            for d in (0..shape.len()).filter(|&d| shape[d] > old.get(d).copied().unwrap_or(0)) {
                let sel: Vec<crate::SliceArg> = (0..shape.len())
                    .map(|i| {
                        if i == d {
                            crate::SliceArg::Range {
                                start: Some(old[d] as i64),
                                stop: Some(shape[d] as i64),
                                step: 1,
                            }
                        } else {
                            crate::SliceArg::All
                        }
                    })
                    .collect();
                self.allocate_filled(&Selection::Slice(sel))?;
            }
        }
        Ok(())
    }

    /// Change the length of one axis (h5py's `resize(n, axis=…)`).
    pub fn resize_axis(&mut self, axis: usize, len: u64) -> Result<()> {
        let mut shape = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        if axis >= shape.len() {
            return Err(Error::Shape(format!(
                "Invalid axis {axis} (0 to {} allowed)",
                shape.len().saturating_sub(1)
            )));
        }
        shape[axis] = len;
        self.resize(&shape)
    }
}

impl Attributes {
    /// Create (or overwrite) an attribute holding `values` with shape `shape` (`&[]`: scalar).
    pub fn create<T: H5Type>(&self, name: &str, shape: &[u64], values: &[T]) -> Result<()> {
        let dt = T::datatype();
        let n: u64 = shape.iter().product();
        if values.len() as u64 != n {
            return Err(Error::Shape(format!(
                "{} values for an attribute of shape {shape:?}",
                values.len()
            )));
        }
        let mut data = vec![0u8; values.len() * dt.size() as usize];
        for (v, c) in values.iter().zip(data.chunks_exact_mut(dt.size() as usize)) {
            encode_scalar(&dt, v.to_scalar(), c)?;
        }
        self.create_raw(name, &dt, shape, &data)
    }

    /// Create (or overwrite) a scalar attribute.
    pub fn set<T: H5Type>(&self, name: &str, value: T) -> Result<()> {
        self.create(name, &[], &[value])
    }

    pub(crate) fn create_raw(
        &self,
        name: &str,
        dt: &Datatype,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        self.create_in(name, dt, None, &attribute_space(shape), data)
    }

    /// Store an attribute: its type (`committed`: a committed type's header the type refers
    /// to), its dataspace and its encoded elements.
    pub(crate) fn create_in(
        &self,
        name: &str,
        dt: &Datatype,
        committed: Option<u64>,
        space: &Dataspace,
        data: &[u8],
    ) -> Result<()> {
        if name.is_empty() {
            return Err(Error::Shape("an attribute needs a name".into()));
        }
        let addr = self.object().addr();
        with(&self.object().file.inner, |cx| {
            let body = enc::attribute(cx.f.sizes, cx.st.libver, name, dt, committed, space, data)?;
            super::attrs::put(cx, addr, name, body)
        })
    }

    /// Create (or overwrite) an attribute with no elements and no shape (a null dataspace):
    /// h5py's `attrs[name] = h5py.Empty(dtype)`.
    ///
    /// # Errors
    /// A read-only or closed file; an empty name.
    pub fn create_empty(&self, name: &str, dtype: &Datatype) -> Result<()> {
        self.create_in(name, dtype, None, &Dataspace::null(), &[])
    }

    /// Create (or overwrite) an attribute whose type is the committed datatype `t` (h5py's
    /// `attrs.create(name, data, dtype=f["t"])`): the attribute refers to the type, which
    /// counts it as a reference, as libhdf5 counts it. `shape` `&[]` is a scalar.
    ///
    /// # Errors
    /// A read-only or closed file; as many values as the shape holds are needed, each
    /// convertible to the type.
    pub fn create_committed(
        &self,
        name: &str,
        t: &crate::NamedDatatype,
        shape: &[u64],
        values: &[crate::Value],
    ) -> Result<()> {
        self.create_values_typed(name, &t.dtype()?, Some(t.addr()), shape, values)
    }

    /// Delete an attribute; a missing one is an error.
    pub fn delete(&self, name: &str) -> Result<()> {
        let addr = self.object().addr();
        let path = self.object().path.clone();
        with(&self.object().file.inner, |cx| {
            if super::attrs::delete(cx, addr, name)? {
                Ok(())
            } else {
                Err(Error::NotFound(format!("{path}: attribute {name:?}")))
            }
        })
    }
}

/// An attribute's dataspace for `shape` (`&[]`: scalar).
pub(crate) fn attribute_space(shape: &[u64]) -> Dataspace {
    if shape.is_empty() {
        Dataspace::scalar()
    } else {
        Dataspace::simple(shape.to_vec(), None)
    }
}

pub(crate) fn attr_name(m: &MessageOut, sizes: h5_format::Sizes) -> Option<String> {
    h5_format::message::attribute::Attribute::decode(&mut h5_format::Reader::new(
        &m.data,
        0,
        sizes,
        "attribute",
    ))
    .ok()
    .map(|a| a.name)
}

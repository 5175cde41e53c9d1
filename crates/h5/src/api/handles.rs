//! The public handle types (and the small enums they share). They refer to each other — a
//! file opens groups, a group's members are datasets, every handle knows its file — so they
//! are declared here together; each type's methods live in the file named after it.

use crate::base::ObjectHeader;
use crate::read::dataset::DatasetInfo;
use crate::read::value::Value;
use crate::write::chunked::FilterSpec;
use crate::write::OpenFile;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use std::sync::Arc;

/// The attributes of one object (h5py's `obj.attrs`).
#[derive(Debug, Clone)]
pub struct Attributes {
    pub(crate) obj: Object,
}

/// One attribute, read into memory.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub(crate) file: Arc<OpenFile>,
    pub(crate) name: String,
    pub(crate) dtype: Datatype,
    pub(crate) space: Dataspace,
    pub(crate) data: Vec<u8>,
    /// The committed datatype the type refers to.
    pub(crate) committed: Option<u64>,
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

/// A fill value as given to the builder.
#[derive(Debug, Clone)]
pub(crate) enum Fill {
    /// Already in the dataset's element encoding.
    Bytes(Vec<u8>),
    /// To encode when the dataset is created (variable-length parts need the file).
    Value(Value),
}

/// Builds a dataset: element type, shape, layout, filters, fill value — the keyword
/// arguments of h5py's `create_dataset`. Start one with [`Group::new_dataset`].
///
/// ```
/// let f = h5::File::create_in_memory()?;
/// // f.create_dataset("log", (0,), maxshape=(None,), chunks=(1024,), dtype="f4",
/// //                  compression="gzip", shuffle=True, fillvalue=-1)
/// let mut log = f
///     .new_dataset::<f32>()
///     .shape(&[0])
///     .maxshape(&[None])
///     .chunks(&[1024])
///     .shuffle()
///     .deflate(4)
///     .fill_value(-1.0f32)?
///     .create("log")?;
/// log.resize(&[3])?;
/// log.write_slice(0, 2.5f32)?;
/// assert_eq!(log.read_vec::<f32>()?, [2.5, -1.0, -1.0]);
/// # Ok::<(), h5::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DatasetBuilder {
    pub(crate) group: Group,
    pub(crate) dtype: Datatype,
    pub(crate) shape: Option<Vec<u64>>,
    pub(crate) maxshape: Option<Vec<Option<u64>>>,
    pub(crate) chunks: Option<Vec<u64>>,
    pub(crate) layout: Option<LayoutKind>,
    pub(crate) fill: Option<Fill>,
    pub(crate) filters: FilterSpec,
    pub(crate) auto_chunks: bool,
    /// The committed datatype's header, when the dataset uses one.
    pub(crate) committed: Option<u64>,
    /// No elements and no shape (a null dataspace, h5py's `Empty`).
    pub(crate) null: bool,
    pub(crate) alloc_time: Option<AllocTime>,
    pub(crate) fill_time: Option<FillTime>,
    pub(crate) track_order: bool,
}

/// How a dataset's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// In the object header.
    Compact,
    /// One block.
    Contiguous,
    /// Chunks.
    Chunked,
    /// A virtual dataset.
    Virtual,
}

/// A dataset. Cheap to clone; reads take `&self` and may run on many threads at once.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub(crate) obj: Object,
    pub(crate) info: Arc<DatasetInfo>,
    /// Loaded for one operation from the current header (never reloads again).
    pub(crate) current: bool,
}

/// A committed (named) datatype.
#[derive(Debug, Clone)]
pub struct NamedDatatype {
    pub(crate) obj: Object,
}

/// An open HDF5 file. Cheap to clone; `Send + Sync`: many threads may read one `File` at
/// once, with no global lock. A `File` is its root group (it dereferences to [`Group`], as in
/// h5py and hdf5-metno): `file.group("a")`, `file.attrs()`, `file.create_group("b")`.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("h5-doc-file-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("notes.h5");
/// let f = h5::File::create(&path)?;           // "w"
/// f.create_group("raw")?;
/// f.close()?;
/// let f = h5::File::append(&path)?;           // "a"
/// f.group("raw")?.attrs().set("ok", true)?;
/// f.close()?;
/// let f = h5::File::open(&path)?;             // "r"
/// assert!(f.group("raw")?.attrs().get::<bool>("ok")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct File {
    pub(crate) root: Group,
}

/// An object reached through a path.
#[derive(Debug, Clone)]
pub enum Node {
    /// A group.
    Group(Group),
    /// A dataset.
    Dataset(Dataset),
    /// A committed datatype.
    Datatype(NamedDatatype),
}

/// A group: links to other objects, and attributes.
///
/// ```
/// let f = h5::File::create_in_memory()?;
/// let g = f.create_group("Base_Group")?;
/// g.create_dataset("default", [1.0, 2.0])?;
/// g.link_soft("/Base_Group/default", "alias")?;
/// assert_eq!(g.member_names()?, ["alias", "default"]);
/// assert_eq!(f.dataset("Base_Group/alias")?.read_vec::<f64>()?, [1.0, 2.0]);
/// # Ok::<(), h5::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) obj: Object,
}

/// An object in a file: its header, loaded once, and the path it was reached by.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// The open file every handle to it shares.
    pub(crate) file: Arc<OpenFile>,
    pub(crate) path: String,
    pub(crate) header: Arc<ObjectHeader>,
}

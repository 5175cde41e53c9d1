//! [`File`]: an open HDF5 file, read lazily through a [`Storage`].

use super::handles::{File, Group, Object};
use crate::base::ObjectHeader;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::storage::{FileStorage, MemStorage, Storage};
use crate::write::OpenFile;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for opening a file.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Allocation and traversal limits.
    pub limits: Limits,
    /// Open a file shorter than its superblock says (libhdf5 refuses: "truncated file"), to
    /// recover what the bytes present still hold. Reads past the end fail as they happen.
    /// Reading only: a writable open of such a file is refused all the same.
    pub allow_truncated: bool,
    /// Whether to lock the file while it is open (as libhdf5 does).
    pub locking: Locking,
    /// The filter codecs chunks are decoded and encoded with — libhdf5's `H5Zregister`:
    /// start from [`Registry::with_builtins`](crate::filters::Registry::with_builtins) and
    /// [`register`](crate::filters::Registry::register) your own
    /// [`Filter`](crate::filters::Filter) (the built-ins come in through the same door).
    /// `None`: the built-ins of this build.
    pub filters: Option<Arc<h5_filters::Registry>>,
}

/// File locking as libhdf5 1.10+ does it: opening takes an advisory lock (`flock`) on the
/// file — shared to read, exclusive to write — without waiting, held until close. So a file
/// that h5py (or another `File`, in this process or another) has open for writing cannot be
/// opened, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locking {
    /// What the environment variable `HDF5_USE_FILE_LOCKING` says, read as libhdf5 reads it:
    /// `TRUE`/`1`, `FALSE`/`0` or `BEST_EFFORT`; best effort when it is unset (libhdf5's
    /// default build).
    #[default]
    FromEnv,
    /// Lock; a file system without locks is an error.
    Enabled,
    /// Lock where the file system supports it; open without a lock where it does not.
    BestEffort,
    /// No lock (two writers can then corrupt a file, as with libhdf5).
    Disabled,
}

impl Locking {
    fn resolve(self) -> Locking {
        match self {
            Locking::FromEnv => {
                Self::from_env_value(&std::env::var("HDF5_USE_FILE_LOCKING").unwrap_or_default())
            }
            other => other,
        }
    }

    /// What a value of `HDF5_USE_FILE_LOCKING` means (anything else: best effort).
    fn from_env_value(v: &str) -> Locking {
        match v.trim().to_ascii_uppercase().as_str() {
            "FALSE" | "0" => Locking::Disabled,
            "TRUE" | "1" => Locking::Enabled,
            _ => Locking::BestEffort,
        }
    }

    /// Lock `file` (at `path`) for writing (`exclusive`) or reading, without waiting.
    pub(crate) fn lock(self, file: &std::fs::File, exclusive: bool, path: &Path) -> Result<()> {
        let mode = self.resolve();
        if mode == Locking::Disabled {
            return Ok(());
        }
        let r = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        let locked = |reason: String| Error::Locked {
            path: path.display().to_string(),
            reason,
        };
        match r {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                let held = if exclusive {
                    "open"
                } else {
                    "open for writing"
                };
                Err(locked(format!(
                    "unable to lock the file: it is {held} elsewhere (another process, or \
                     another handle in this one); close that first, or open without locking \
                     (HDF5_USE_FILE_LOCKING=FALSE or OpenOptions::locking), as libhdf5 allows"
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                let unsupported = e.kind() == std::io::ErrorKind::Unsupported
                    || matches!(e.raw_os_error(), Some(37 | 38 | 95));
                if mode == Locking::BestEffort && unsupported {
                    Ok(())
                } else {
                    Err(locked(format!(
                        "unable to lock the file ({e}); HDF5_USE_FILE_LOCKING=BEST_EFFORT opens \
                         files on file systems without locks"
                    )))
                }
            }
        }
    }
}

/// Options for creating a file.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Format profile (h5py's `libver`).
    pub libver: crate::write::LibVer,
    /// Fail if the file exists.
    pub exclusive: bool,
    /// Whether to lock the file while it is open (as libhdf5 does).
    pub locking: Locking,
    /// The root group keeps its links and attributes in creation order (h5py's
    /// `File(..., track_order=True)`).
    pub track_order: bool,
    /// The filter codecs chunks are encoded (and decoded) with, as
    /// [`OpenOptions::filters`]: register your own [`Filter`](crate::filters::Filter) to
    /// write with it through [`DatasetBuilder::filter`](crate::DatasetBuilder::filter).
    /// `None`: the built-ins of this build.
    pub filters: Option<Arc<h5_filters::Registry>>,
}

impl File {
    /// Open a file for reading. Only the superblock is read now; everything else on demand.
    ///
    /// # Errors
    /// The file cannot be opened (the error names it); it is not an HDF5 file (the error says where
    /// the superblock was looked for); it is locked by a writer; a damaged file (the error names
    /// the structure and its offset).
    pub fn open(path: impl AsRef<Path>) -> Result<File> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Open with options.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<File> {
        let path = path.as_ref();
        let storage = FileStorage::open(path).map_err(|e| open_error(path, e))?;
        options.locking.lock(storage.file(), false, path)?;
        Self::from_storage_inner(Box::new(storage), options, Some(path.to_path_buf()))
    }

    /// Open a file through a read-only memory map.
    ///
    /// # Errors
    /// As [`open`](Self::open); the file cannot be mapped.
    #[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
    pub fn open_mmap(path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        let storage = crate::storage::MmapStorage::open(path).map_err(|e| open_error(path, e))?;
        Locking::default().lock(storage.file(), false, path)?;
        Self::from_storage_inner(
            Box::new(storage),
            OpenOptions::default(),
            Some(path.to_path_buf()),
        )
    }

    /// Read a file held in memory.
    ///
    /// # Errors
    /// The bytes are not an HDF5 file; a damaged file (the error names the structure and its
    /// offset).
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<File> {
        Self::from_storage(MemStorage::new(bytes), OpenOptions::default())
    }

    /// Read from any storage.
    ///
    /// # Errors
    /// As [`from_bytes`](Self::from_bytes); a storage that cannot be read.
    pub fn from_storage(storage: impl Storage + 'static, options: OpenOptions) -> Result<File> {
        Self::from_storage_inner(Box::new(storage), options, None)
    }

    fn from_storage_inner(
        storage: Box<dyn Storage>,
        options: OpenOptions,
        path: Option<PathBuf>,
    ) -> Result<File> {
        let filters = options
            .filters
            .clone()
            .unwrap_or_else(|| Arc::new(h5_filters::Registry::with_builtins()));
        let inner = crate::base::open(
            storage,
            options.limits,
            options.allow_truncated,
            path,
            filters,
        )?;
        File::from_open(OpenFile::new(inner)?)
    }

    /// Open an existing file for reading and writing (h5py mode `r+`).
    ///
    /// # Errors
    /// As [`open`](Self::open); the file cannot be written, or another handle or process holds it.
    pub fn open_rw(path: impl AsRef<Path>) -> Result<File> {
        Self::open_rw_with(path, OpenOptions::default())
    }

    /// [`open_rw`](Self::open_rw) with options (locking, limits).
    ///
    /// # Errors
    /// As [`open_rw`](Self::open_rw).
    pub fn open_rw_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<File> {
        let path = path.as_ref();
        let storage =
            FileStorage::open_with(path, std::fs::OpenOptions::new().read(true).write(true))
                .map_err(|e| open_error(path, e))?;
        options.locking.lock(storage.file(), true, path)?;
        Self::from_storage_inner(Box::new(storage), options, Some(path.to_path_buf()))
    }

    /// Create a file, truncating any that exists (h5py mode `w`), in h5py's default format.
    ///
    /// # Errors
    /// The file cannot be created or truncated (the error names it); another handle or process
    /// holds it.
    pub fn create(path: impl AsRef<Path>) -> Result<File> {
        Self::create_with(path, CreateOptions::default())
    }

    /// Create a file; fail if it exists (h5py modes `w-` and `x`).
    ///
    /// # Errors
    /// The file exists; as [`create`](Self::create).
    pub fn create_excl(path: impl AsRef<Path>) -> Result<File> {
        Self::create_with(
            path,
            CreateOptions {
                exclusive: true,
                ..CreateOptions::default()
            },
        )
    }

    /// Open for reading and writing, creating the file if it does not exist (h5py mode `a`).
    ///
    /// # Errors
    /// As [`open_rw`](Self::open_rw) for an existing file, [`create`](Self::create) for a new one.
    pub fn append(path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        if path.exists() {
            Self::open_rw(path)
        } else {
            Self::create_excl(path)
        }
    }

    /// Create a file with options (format profile, exclusive creation).
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub fn create_with(path: impl AsRef<Path>, options: CreateOptions) -> Result<File> {
        let path = path.as_ref();
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true);
        if options.exclusive {
            o.create_new(true);
        } else {
            // truncated only once locked: a file another writer holds stays whole
            o.create(true);
        }
        let storage = FileStorage::open_with(path, &o).map_err(|e| open_error(path, e))?;
        options.locking.lock(storage.file(), true, path)?;
        // a file just made is empty: truncating it anyway costs a flush of everything
        // written at close (ext4 takes a truncate to zero for a file being replaced)
        let on_disk = storage
            .file()
            .metadata()
            .map_err(|e| open_error(path, e))?
            .len();
        if on_disk != 0 || !storage.is_empty() {
            storage.set_len(0)?;
        }
        let inner = crate::write::create_file(
            Box::new(storage),
            options.libver,
            options.track_order,
            options.filters,
            Some(path.to_path_buf()),
        )?;
        File::from_open(inner)
    }

    /// Create a new file in memory (h5py's `driver="core", backing_store=False`): for
    /// scratch work, tests and examples. Its bytes are gone when it is dropped; to keep
    /// them, build on an `Arc<VecStorage>` with [`create_on`](Self::create_on).
    ///
    /// ```
    /// let f = h5::File::create_in_memory()?;
    /// f.create_group("runs")?;
    /// assert!(f.contains("runs"));
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// None in practice (the error is [`create_on`](Self::create_on)'s).
    pub fn create_in_memory() -> Result<File> {
        Self::create_on(
            crate::storage::VecStorage::default(),
            CreateOptions::default(),
        )
    }

    /// Create a new file on any writable storage — e.g. an `Arc<VecStorage>` to build a file
    /// in memory (WebAssembly) and take its bytes after [`close`](Self::close). No lock is
    /// taken: the storage is the caller's.
    ///
    /// # Errors
    /// A storage that cannot be written.
    pub fn create_on(storage: impl Storage + 'static, options: CreateOptions) -> Result<File> {
        if !storage.writable() {
            return Err(Error::ReadOnly("the storage cannot be written".into()));
        }
        storage.set_len(0)?;
        let inner = crate::write::create_file(
            Box::new(storage),
            options.libver,
            options.track_order,
            options.filters,
            None,
        )?;
        File::from_open(inner)
    }

    /// A file as opened: its root group's header is read now (as libhdf5 opens the root
    /// group with the file) and kept for every handle's [`Group::file`].
    fn from_open(open: OpenFile) -> Result<File> {
        let open = Arc::new(open);
        let addr = open.superblock.root_addr().unwrap_or(0);
        let obj = Object::load(&open, addr, "/")?;
        let root = Group::from_object(obj)?;
        open.root.get_or_init(|| root.obj.header.clone());
        Ok(File { root })
    }

    /// The `File` of an open file (what every handle's `file()` gives), from the root header
    /// read at open.
    pub(crate) fn of(open: &Arc<OpenFile>) -> File {
        let addr = open.superblock.root_addr().unwrap_or(0);
        let header = open.root.get().cloned().unwrap_or_else(|| {
            // (every File is made through from_open, which sets it; an empty header would
            // make the root's reads fail, not panic)
            Arc::new(ObjectHeader {
                addr,
                messages: Vec::new(),
            })
        });
        File {
            root: Group {
                obj: Object {
                    file: open.clone(),
                    path: "/".to_string(),
                    header,
                },
            },
        }
    }

    /// The open file every handle shares.
    fn shared(&self) -> &Arc<OpenFile> {
        &self.root.obj.file
    }

    /// Whether the file is open for writing.
    pub fn is_writable(&self) -> bool {
        self.shared().write.is_some()
    }

    /// Write everything so far to the storage and make it durable: metadata first, a sync
    /// (`fdatasync`), the superblock (the root of all) last, and a sync again — after it
    /// returns, the file as it is survives a power loss. (libhdf5's flush does not sync.)
    ///
    /// # Errors
    /// The storage refuses a write or a sync; a closed file.
    pub fn flush(&self) -> Result<()> {
        crate::write::flush(self.shared(), true)
    }

    /// Complete the file and close it; later writes through any handle are errors. Like
    /// libhdf5's close, it does not sync: the file is complete for every other process at
    /// once, and a crash of this process cannot tear it, but only [`flush`](Self::flush)
    /// makes it durable against a power loss. Reports errors (dropping the last handle closes
    /// too, but cannot report them).
    ///
    /// # Errors
    /// The storage refuses a write; a closed file.
    pub fn close(self) -> Result<()> {
        crate::write::close(self.shared())
    }

    /// The root group (a `File` dereferences to it too).
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn root(&self) -> Result<Group> {
        Ok(self.root.clone())
    }

    /// The object an object or region reference points to (h5py's `f[ref]`), named by the
    /// first path that reaches it (depth first, in name order), as libhdf5 names it.
    ///
    /// # Errors
    /// A value that is not an object reference; a null reference; a reference to an object that is
    /// not there.
    pub fn dereference(&self, reference: &crate::Value) -> Result<crate::Node> {
        let addr = match reference {
            crate::Value::Ref(Some(a)) => *a,
            crate::Value::RegionRef(Some(r)) => r.object,
            crate::Value::Ref(None) | crate::Value::RegionRef(None) => {
                return Err(Error::NotFound("a null reference".into()))
            }
            other => {
                return Err(Error::Conversion(format!(
                    "{} is not a reference",
                    other.kind()
                )))
            }
        };
        let root = self.root()?;
        let mut path = (addr == root.addr()).then(|| "/".to_string());
        if path.is_none() {
            path = root.visit_links(|rel, link| match link.kind {
                crate::LinkKind::Hard(a) if a == addr => {
                    std::ops::ControlFlow::Break(format!("/{rel}"))
                }
                _ => std::ops::ControlFlow::Continue(()),
            })?;
        }
        let path =
            path.unwrap_or_else(|| format!("<object at {:#x}>", self.shared().offset_of(addr)));
        crate::Node::from_object(Object::load(self.shared(), addr, &path)?)
    }

    /// The superblock version (0–3).
    pub fn superblock_version(&self) -> u8 {
        self.shared().superblock.version
    }

    /// The path this file was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.shared().path.as_deref()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.shared().limits
    }
}

impl std::ops::Deref for File {
    type Target = Group;
    fn deref(&self) -> &Group {
        &self.root
    }
}

/// An I/O error opening `path`, naming it.
fn open_error(path: &Path, source: std::io::Error) -> Error {
    Error::Open {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdf5_use_file_locking_values_read_as_libhdf5_reads_them() {
        for (v, want) in [
            ("FALSE", Locking::Disabled),
            ("false", Locking::Disabled),
            ("0", Locking::Disabled),
            ("TRUE", Locking::Enabled),
            ("1", Locking::Enabled),
            ("BEST_EFFORT", Locking::BestEffort),
            ("", Locking::BestEffort),
        ] {
            assert_eq!(Locking::from_env_value(v), want, "{v:?}");
        }
    }
}

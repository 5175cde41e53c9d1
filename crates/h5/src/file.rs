//! [`File`]: an open HDF5 file, read lazily through a [`Storage`].

use crate::error::{Error, Result};
use crate::group::Group;
use crate::limits::Limits;
use crate::object::Object;
use crate::storage::{FileStorage, MemStorage, Storage};
use h5_format::superblock::{self, Superblock};
use h5_format::{ErrorKind, Sizes};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for opening a file.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Allocation and traversal limits.
    pub limits: Limits,
}

/// An open HDF5 file. Cheap to clone; `Send + Sync`: many threads may read one `File` at
/// once, with no global lock.
#[derive(Debug, Clone)]
pub struct File {
    pub(crate) inner: Arc<FileInner>,
}

#[derive(Debug)]
pub(crate) struct FileInner {
    pub(crate) storage: Box<dyn Storage>,
    pub(crate) superblock: Superblock,
    /// File offset of address 0.
    pub(crate) base: u64,
    pub(crate) sizes: Sizes,
    pub(crate) limits: Limits,
    pub(crate) path: Option<PathBuf>,
    pub(crate) filters: h5_filters::Registry,
}

impl File {
    /// Open a file for reading. Only the superblock is read now; everything else on demand.
    pub fn open(path: impl AsRef<Path>) -> Result<File> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Open with options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<File> {
        let path = path.as_ref();
        let storage = FileStorage::open(path)?;
        Self::from_storage_inner(Box::new(storage), options, Some(path.to_path_buf()))
    }

    /// Open a file through a read-only memory map.
    #[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
    pub fn open_mmap(path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        let storage = crate::storage::MmapStorage::open(path)?;
        Self::from_storage_inner(
            Box::new(storage),
            OpenOptions::default(),
            Some(path.to_path_buf()),
        )
    }

    /// Read a file held in memory.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<File> {
        Self::from_storage(MemStorage::new(bytes), OpenOptions::default())
    }

    /// Read from any storage.
    pub fn from_storage(storage: impl Storage + 'static, options: OpenOptions) -> Result<File> {
        Self::from_storage_inner(Box::new(storage), options, None)
    }

    fn from_storage_inner(
        storage: Box<dyn Storage>,
        options: OpenOptions,
        path: Option<PathBuf>,
    ) -> Result<File> {
        let len = storage.len();
        let mut found = None;
        for off in superblock::candidate_offsets(len) {
            let mut sig = [0u8; 8];
            storage.read_at(off, &mut sig)?;
            if sig == superblock::SIGNATURE {
                found = Some(off);
                break;
            }
        }
        let Some(sb_off) = found else {
            return Err(h5_format::Error::new("superblock", 0, ErrorKind::BadSignature).into());
        };
        let n = (len - sb_off).min(256) as usize;
        let mut buf = vec![0u8; n];
        storage.read_at(sb_off, &mut buf)?;
        let sb = Superblock::decode(&buf, sb_off)?;
        // libhdf5 uses the superblock's own offset as the base when they disagree.
        let base = if sb.base_addr == sb_off {
            sb.base_addr
        } else {
            sb_off
        };
        let inner = FileInner {
            storage,
            sizes: sb.sizes,
            superblock: sb,
            base,
            limits: options.limits,
            path,
            filters: h5_filters::Registry::with_builtins(),
        };
        if let Some(d) = inner.superblock.driver_info_addr {
            let b = inner.read_upto(d, 16, "driver info block")?;
            let id = superblock::driver_id(&b, inner.base + d)?;
            return Err(Error::Unsupported(format!(
                "file driver {:?} (multi-file layouts)",
                String::from_utf8_lossy(&id)
            )));
        }
        if let Some(ext) = inner.superblock.extension_addr {
            inner.check_extension(ext)?;
        }
        if inner.superblock.root_addr().is_none() {
            return Err(
                h5_format::Error::invalid("superblock", sb_off, "root group address").into(),
            );
        }
        Ok(File {
            inner: Arc::new(inner),
        })
    }

    /// The root group.
    pub fn root(&self) -> Result<Group> {
        let addr = self.inner.superblock.root_addr().unwrap_or(0);
        let obj = Object::load(self, addr, "/")?;
        Group::from_object(obj)
    }

    /// The group at `path` (absolute or relative to the root).
    pub fn group(&self, path: &str) -> Result<Group> {
        self.root()?.group(path)
    }

    /// The dataset at `path`.
    pub fn dataset(&self, path: &str) -> Result<crate::Dataset> {
        self.root()?.dataset(path)
    }

    /// The object an object or region reference points to (h5py's `f[ref]`), named by the
    /// first path that reaches it (depth first, in name order), as libhdf5 names it.
    pub fn dereference(&self, reference: &crate::Value) -> Result<crate::Node> {
        let addr = match reference {
            crate::Value::Ref(Some(a)) | crate::Value::RegionRef(Some(a)) => *a,
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
        let path = path.unwrap_or_else(|| format!("<object at {:#x}>", self.inner.offset_of(addr)));
        crate::Node::from_object(Object::load(self, addr, &path)?)
    }

    /// The superblock version (0–3).
    pub fn superblock_version(&self) -> u8 {
        self.inner.superblock.version
    }

    /// The path this file was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}

impl FileInner {
    pub(crate) fn file_len(&self) -> u64 {
        self.storage.len()
    }

    fn check_range(&self, addr: u64, len: u64, structure: &'static str) -> Result<u64> {
        let off = self.base.checked_add(addr);
        let end = off.and_then(|o| o.checked_add(len));
        match (off, end) {
            (Some(o), Some(e)) if e <= self.file_len() => Ok(o),
            _ => Err(h5_format::Error::new(
                structure,
                self.base.saturating_add(addr),
                ErrorKind::Truncated,
            )
            .into()),
        }
    }

    /// Read `len` bytes of metadata at address `addr` (relative to the base).
    pub(crate) fn read_meta(
        &self,
        addr: u64,
        len: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        if len > self.limits.max_metadata_block {
            return Err(h5_format::Error::limit(
                structure,
                self.base.saturating_add(addr),
                "block size",
                len,
                self.limits.max_metadata_block,
            )
            .into());
        }
        let off = self.check_range(addr, len, structure)?;
        let mut buf = vec![0u8; len as usize];
        self.storage.read_at(off, &mut buf)?;
        Ok(buf)
    }

    /// Read up to `len` bytes at `addr`, fewer if the file ends first.
    pub(crate) fn read_upto(
        &self,
        addr: u64,
        len: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        let off = self.check_range(addr, 0, structure)?;
        let n = len.min(self.file_len() - off);
        self.read_meta(addr, n, structure)
    }

    /// Read raw data bytes into `buf` at address `addr`.
    pub(crate) fn read_data(
        &self,
        addr: u64,
        buf: &mut [u8],
        structure: &'static str,
    ) -> Result<()> {
        let off = self.check_range(addr, buf.len() as u64, structure)?;
        self.storage.read_at(off, buf)?;
        Ok(())
    }

    /// Allocate a data buffer of `len` bytes after checking the limit.
    pub(crate) fn data_buffer(&self, len: u64) -> Result<Vec<u8>> {
        if len > self.limits.max_data_bytes {
            return Err(Error::Unsupported(format!(
                "a read of {len} bytes exceeds the limit of {} bytes (Limits::max_data_bytes)",
                self.limits.max_data_bytes
            )));
        }
        Ok(vec![0u8; len as usize])
    }

    /// File offset of an address (for error messages).
    pub(crate) fn offset_of(&self, addr: u64) -> u64 {
        self.base.saturating_add(addr)
    }
}

impl FileInner {
    /// Decode the superblock extension's messages: a damaged one makes the file unreadable
    /// for libhdf5 too, and a driver info message means a multi-file layout.
    fn check_extension(&self, addr: u64) -> Result<()> {
        use h5_format::message::{misc, MessageType};
        let h = crate::object::ObjectHeader::load(self, addr)?;
        for m in &h.messages {
            match m.mtype {
                MessageType::FILE_SPACE_INFO => {
                    self.dec(misc::decode_file_space_info(
                        &mut m.reader(self, "file space info message"),
                    ))?;
                }
                MessageType::DRIVER_INFO => {
                    return Err(Error::Unsupported(
                        "file driver info in the superblock extension (multi-file layouts)".into(),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Turn a decoder result into ours, moving its offset from address space to file offset.
    pub(crate) fn dec<T>(&self, r: h5_format::Result<T>) -> Result<T> {
        r.map_err(|mut e| {
            e.offset = e.offset.saturating_add(self.base);
            Error::Format(e)
        })
    }
}

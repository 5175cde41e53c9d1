//! [`File`]: an open HDF5 file, read lazily through a [`Storage`].

use crate::error::{Error, Result};
use crate::group::Group;
use crate::limits::Limits;
use crate::object::Object;
use crate::storage::{FileStorage, MemStorage, Storage};
use h5_format::superblock::{self, Superblock};
use h5_format::{ErrorKind, Sizes};
use std::collections::BTreeMap;
use std::ops::Range;
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
    /// Metadata saved in a metadata cache image; filled once at open, then only read.
    pub(crate) overlay: Overlay,
    /// Present when the file is open for writing. Reads never take this lock.
    pub(crate) write: Option<std::sync::Mutex<crate::write::WriteState>>,
}

/// The entries of a metadata cache image (superblock extension message 0x18): metadata
/// reads that fall within an entry are served from the image, as libhdf5 does, since an
/// entry's own address may never have been written.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// The image block as read from the file.
    block: Vec<u8>,
    /// Entry address → (end address, byte range of its image in `block`). Entries do not
    /// overlap (checked by the decoder).
    entries: BTreeMap<u64, (u64, Range<usize>)>,
}

impl Overlay {
    /// Whether the file had no metadata cache image.
    pub(crate) fn is_empty(&self) -> bool {
        self.block.is_empty()
    }

    /// The entry holding address `addr`: (its start address, end address, image range).
    fn entry_at(&self, addr: u64) -> Option<(u64, u64, &Range<usize>)> {
        let (&start, (end, range)) = self.entries.range(..=addr).next_back()?;
        (addr < *end).then_some((start, *end, range))
    }

    /// The bytes `[addr, addr + len)` when one entry holds all of them.
    fn within(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let (start, end, range) = self.entry_at(addr)?;
        if addr.checked_add(len)? > end {
            return None;
        }
        let from = range.start + (addr - start) as usize;
        Some(&self.block[from..from + len as usize])
    }

    /// Bytes available from `addr` to the end of the entry holding it.
    fn available(&self, addr: u64) -> Option<u64> {
        self.entry_at(addr).map(|(_, end, _)| end - addr)
    }

    /// Overwrite the parts of `buf` (read from storage at `addr`) that entries hold.
    fn patch(&self, addr: u64, buf: &mut [u8]) {
        if self.entries.is_empty() || buf.is_empty() {
            return;
        }
        let end = addr.saturating_add(buf.len() as u64);
        let first = self.entry_at(addr).map_or(addr, |(start, _, _)| start);
        for (&start, (eend, range)) in self.entries.range(first..end) {
            let lo = start.max(addr);
            let hi = (*eend).min(end);
            if lo >= hi {
                continue;
            }
            let src = range.start + (lo - start) as usize;
            let n = (hi - lo) as usize;
            let dst = (lo - addr) as usize;
            buf[dst..dst + n].copy_from_slice(&self.block[src..src + n]);
        }
    }
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
        options.locking.lock(storage.file(), false, path)?;
        Self::from_storage_inner(Box::new(storage), options, Some(path.to_path_buf()))
    }

    /// Open a file through a read-only memory map.
    #[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
    pub fn open_mmap(path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        let storage = crate::storage::MmapStorage::open(path)?;
        Locking::default().lock(storage.file(), false, path)?;
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
        // The stored end-of-file address is absolute (libhdf5 compares it with the file size).
        if len < sb.eof_addr && !options.allow_truncated {
            return Err(Error::Truncated {
                eof: sb.eof_addr,
                len,
            });
        }
        // libhdf5 uses the superblock's own offset as the base when they disagree.
        let base = if sb.base_addr == sb_off {
            sb.base_addr
        } else {
            sb_off
        };
        let mut inner = FileInner {
            storage,
            sizes: sb.sizes,
            superblock: sb,
            base,
            limits: options.limits,
            path,
            filters: h5_filters::Registry::with_builtins(),
            overlay: Overlay::default(),
            write: None,
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
            if let Some(image) = inner.check_extension(ext)? {
                inner.overlay = inner.load_cache_image(image)?;
            }
        }
        if inner.superblock.root_addr().is_none() {
            return Err(
                h5_format::Error::invalid("superblock", sb_off, "root group address").into(),
            );
        }
        if inner.storage.writable() {
            if !inner.overlay.is_empty() {
                return Err(Error::Unsupported(
                    "writing to a file with a metadata cache image".into(),
                ));
            }
            // Space is handed out from the stored EOF: one past the bytes present (a file
            // cut short, or a damaged EOF field) would grow the file to it. Recovering a
            // truncated file is for reading only.
            if inner.superblock.eof_addr > len {
                return Err(Error::Truncated {
                    eof: inner.superblock.eof_addr,
                    len,
                });
            }
            let eof = inner.superblock.eof_addr.saturating_sub(inner.base);
            let mut st = crate::write::WriteState::new(
                eof,
                crate::write::LibVer::for_superblock(inner.superblock.version),
            );
            st.sb_flags = inner.superblock.flags;
            inner.write = Some(std::sync::Mutex::new(st));
            crate::write::mark_open(&inner)?;
        }
        Ok(File {
            inner: Arc::new(inner),
        })
    }

    /// Open an existing file for reading and writing (h5py mode `r+`).
    pub fn open_rw(path: impl AsRef<Path>) -> Result<File> {
        Self::open_rw_with(path, OpenOptions::default())
    }

    /// [`open_rw`](Self::open_rw) with options (locking, limits).
    pub fn open_rw_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<File> {
        let path = path.as_ref();
        let storage =
            FileStorage::open_with(path, std::fs::OpenOptions::new().read(true).write(true))?;
        options.locking.lock(storage.file(), true, path)?;
        Self::from_storage_inner(Box::new(storage), options, Some(path.to_path_buf()))
    }

    /// Create a file, truncating any that exists (h5py mode `w`), in h5py's default format.
    pub fn create(path: impl AsRef<Path>) -> Result<File> {
        Self::create_with(path, CreateOptions::default())
    }

    /// Create a file; fail if it exists (h5py modes `w-` and `x`).
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
    pub fn append(path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        if path.exists() {
            Self::open_rw(path)
        } else {
            Self::create_excl(path)
        }
    }

    /// Create a file with options (format profile, exclusive creation).
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
        let storage = FileStorage::open_with(path, &o)?;
        options.locking.lock(storage.file(), true, path)?;
        storage.set_len(0)?;
        let inner = crate::write::create_file(
            Box::new(storage),
            options.libver,
            options.track_order,
            Some(path.to_path_buf()),
        )?;
        Ok(File {
            inner: Arc::new(inner),
        })
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
            None,
        )?;
        Ok(File {
            inner: Arc::new(inner),
        })
    }

    /// Whether the file is open for writing.
    pub fn is_writable(&self) -> bool {
        self.inner.write.is_some()
    }

    /// Write everything so far to the storage and make it durable: metadata first, the
    /// superblock (the root of all) last.
    pub fn flush(&self) -> Result<()> {
        crate::write::flush(&self.inner)
    }

    /// Flush and close; later writes through any handle are errors. Reports flush errors
    /// (dropping the last handle flushes too, but cannot report them).
    pub fn close(self) -> Result<()> {
        crate::write::close(&self.inner)
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
        if let Some(bytes) = self.overlay.within(addr, len) {
            return Ok(bytes.to_vec());
        }
        let off = self.check_range(addr, len, structure)?;
        let mut buf = fallible_zeros(len)?;
        self.storage.read_at(off, &mut buf)?;
        self.overlay.patch(addr, &mut buf);
        Ok(buf)
    }

    /// Read up to `len` bytes at `addr`, fewer if the file ends first (or, for an address
    /// held in the metadata cache image, if its entry ends first).
    pub(crate) fn read_upto(
        &self,
        addr: u64,
        len: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        if let Some(n) = self.overlay.available(addr) {
            return self.read_meta(addr, len.min(n), structure);
        }
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
                "a buffer of {len} bytes exceeds the limit of {} bytes (Limits::max_data_bytes)",
                self.limits.max_data_bytes
            )));
        }
        fallible_zeros(len)
    }

    /// `n` elements of `es` bytes, each the fill value `fill` (zeros when there is none or it
    /// is not `es` bytes long), held to the data limit like [`data_buffer`](Self::data_buffer):
    /// the sizes come from the file's datatype and chunk dimensions.
    pub(crate) fn filled_buffer(&self, fill: Option<&[u8]>, es: usize, n: u64) -> Result<Vec<u8>> {
        let mut buf = self.data_buffer(n.saturating_mul(es as u64))?;
        if let Some(v) = fill.filter(|v| v.len() == es && v.iter().any(|&b| b != 0)) {
            buf.chunks_exact_mut(es).for_each(|c| c.copy_from_slice(v));
        }
        Ok(buf)
    }

    /// File offset of an address (for error messages).
    pub(crate) fn offset_of(&self, addr: u64) -> u64 {
        self.base.saturating_add(addr)
    }
}

/// `len` zero bytes — an error, not an abort, when the system refuses the memory (a
/// damaged file can claim sizes the limits allow but the machine cannot give).
pub(crate) fn fallible_zeros(len: u64) -> Result<Vec<u8>> {
    let n =
        usize::try_from(len).map_err(|_| Error::Unsupported(format!("a buffer of {len} bytes")))?;
    if n <= 1 << 20 {
        return Ok(vec![0u8; n]);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::Unsupported(format!(
            "cannot allocate {len} bytes for a read (the system refused the memory)"
        ))
    })?;
    v.resize(n, 0);
    Ok(v)
}

impl FileInner {
    /// Decode the superblock extension's messages: a damaged one makes the file unreadable
    /// for libhdf5 too, and a driver info message means a multi-file layout. Returns the
    /// metadata cache image message, if there is one with a defined address.
    fn check_extension(&self, addr: u64) -> Result<Option<h5_format::cache_image::ImageMessage>> {
        use h5_format::message::{misc, MessageType};
        let h = crate::object::ObjectHeader::load(self, addr)?;
        let mut image = None;
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
                MessageType::MDC_IMAGE => {
                    let msg = self.dec(h5_format::cache_image::decode_message(
                        &mut m.reader(self, "metadata cache image message"),
                    ))?;
                    if msg.addr.is_some() {
                        image = Some(msg);
                    }
                }
                _ => {}
            }
        }
        Ok(image)
    }

    /// Read and decode the metadata cache image block once, at open.
    fn load_cache_image(&self, msg: h5_format::cache_image::ImageMessage) -> Result<Overlay> {
        let addr = msg.addr.unwrap_or(0);
        let block = self.read_meta(addr, msg.length, "metadata cache image")?;
        let list = self.dec(h5_format::cache_image::decode(&block, addr, self.sizes))?;
        let entries = list
            .into_iter()
            .map(|e| (e.addr, (e.end(), e.image)))
            .collect();
        Ok(Overlay { block, entries })
    }

    /// A local heap: its header and its whole data segment.
    pub(crate) fn local_heap(
        &self,
        addr: u64,
    ) -> Result<(h5_format::local_heap::LocalHeap, Vec<u8>)> {
        use h5_format::local_heap::LocalHeap;
        let head = self.read_meta(
            addr,
            LocalHeap::header_size(self.sizes) as u64,
            "local heap",
        )?;
        let heap = self.dec(LocalHeap::decode(&head, addr, self.sizes))?;
        let data = self.read_meta(heap.data_addr, heap.data_size, "local heap data")?;
        Ok((heap, data))
    }

    /// A whole global heap collection (bounded by the file: a collection cannot extend past
    /// its end).
    pub(crate) fn global_heap_collection(&self, addr: u64) -> Result<Vec<u8>> {
        use h5_format::global_heap;
        let hlen = global_heap::collection_header_size(self.sizes) as u64;
        let head = self.read_meta(addr, hlen, "global heap collection")?;
        let size = self.dec(global_heap::collection_size(&head, addr, self.sizes))?;
        self.read_upto(addr, size, "global heap collection")
    }

    /// Turn a decoder result into ours, moving its offset from address space to file offset.
    pub(crate) fn dec<T>(&self, r: h5_format::Result<T>) -> Result<T> {
        r.map_err(|mut e| {
            e.offset = e.offset.saturating_add(self.base);
            Error::Format(e)
        })
    }
}

impl Drop for FileInner {
    fn drop(&mut self) {
        // The last handle is gone: write what is pending and close (clearing the "open for
        // write" flags, giving up the lock). Errors cannot be reported here; call
        // `File::close` to see them.
        let _ = crate::write::close(self);
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

    /// Entries at 0x10..0x14 ("abcd") and 0x20..0x22 ("xy") in one block.
    fn overlay() -> Overlay {
        let block = b"HEADabcdxyCSUM".to_vec();
        let mut entries = BTreeMap::new();
        entries.insert(0x10, (0x14, 4..8));
        entries.insert(0x20, (0x22, 8..10));
        Overlay { block, entries }
    }

    #[test]
    fn overlay_serves_reads_within_one_entry() {
        let o = overlay();
        assert_eq!(o.within(0x10, 4), Some(&b"abcd"[..]));
        assert_eq!(o.within(0x11, 2), Some(&b"bc"[..]));
        assert_eq!(o.within(0x21, 1), Some(&b"y"[..]));
        assert_eq!(o.within(0x10, 5), None);
        assert_eq!(o.within(0x14, 1), None);
        assert_eq!(o.within(0x0f, 2), None);
        assert_eq!(o.available(0x12), Some(2));
        assert_eq!(o.available(0x14), None);
        assert_eq!(o.available(0x00), None);
        assert_eq!(Overlay::default().within(0x10, 1), None);
    }

    #[test]
    fn overlay_patches_reads_that_straddle_entries() {
        let o = overlay();
        let mut buf = vec![b'.'; 0x20];
        o.patch(0x08, &mut buf);
        let mut want = vec![b'.'; 0x20];
        want[0x08..0x0c].copy_from_slice(b"abcd");
        want[0x18..0x1a].copy_from_slice(b"xy");
        assert_eq!(buf, want);
        let mut tail = vec![b'.'; 4];
        o.patch(0x12, &mut tail);
        assert_eq!(&tail, b"cd..");
        let mut head = vec![b'.'; 4];
        o.patch(0x1f, &mut head);
        assert_eq!(&head, b".xy.");
    }

    #[test]
    fn cache_image_entries_are_read_from_the_image() {
        // A v3 superblock whose extension holds message 0x18, an image block with one
        // entry for address 0x200, and zeros at 0x200 itself.
        let sizes = Sizes::DEFAULT;
        let ext = 0x100u64;
        let image = 0x300u64;
        let mut entry_img = b"ENTRY-BYTES".to_vec();
        entry_img.resize(16, b'!');
        let mut blk = b"MDCI\0\0".to_vec();
        blk.extend(0u64.to_le_bytes());
        blk.extend(1u32.to_le_bytes());
        blk.extend([5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        blk.extend((-1i32).to_le_bytes());
        blk.extend(0x200u64.to_le_bytes());
        blk.extend((entry_img.len() as u64).to_le_bytes());
        blk.extend(&entry_img);
        let total = (blk.len() + 4) as u64;
        blk[6..14].copy_from_slice(&total.to_le_bytes());
        let sum = h5_format::lookup3::checksum(&blk);
        blk.extend(sum.to_le_bytes());

        let mut ohdr = b"OHDR\x02\x00".to_vec();
        let mut body = vec![0u8];
        body.extend(image.to_le_bytes());
        body.extend((blk.len() as u64).to_le_bytes());
        ohdr.push((4 + body.len()) as u8);
        ohdr.extend([0x18, body.len() as u8, 0, 0x80]);
        ohdr.extend(&body);
        let sum = h5_format::lookup3::checksum(&ohdr);
        ohdr.extend(sum.to_le_bytes());

        let eof = image + blk.len() as u64;
        let mut file = vec![0u8; eof as usize];
        let mut sb = superblock::SIGNATURE.to_vec();
        sb.extend([3, sizes.offset, sizes.length, 0]);
        sb.extend(0u64.to_le_bytes());
        sb.extend(ext.to_le_bytes());
        sb.extend(eof.to_le_bytes());
        sb.extend(0x200u64.to_le_bytes());
        let sum = h5_format::lookup3::checksum(&sb);
        sb.extend(sum.to_le_bytes());
        file[..sb.len()].copy_from_slice(&sb);
        file[ext as usize..ext as usize + ohdr.len()].copy_from_slice(&ohdr);
        file[image as usize..].copy_from_slice(&blk);

        let f = File::from_bytes(file.clone()).unwrap();
        let inner = &f.inner;
        assert_eq!(inner.overlay.entries.len(), 1);
        assert_eq!(inner.read_meta(0x200, 16, "t").unwrap(), entry_img);
        assert_eq!(inner.read_meta(0x205, 3, "t").unwrap(), b"-BY");
        // read_upto stops where the entry ends.
        assert_eq!(inner.read_upto(0x200, 100, "t").unwrap(), entry_img);
        // A read straddling the entry's start takes storage bytes, then the entry's.
        let mut want = vec![0u8; 4];
        want.extend(b"ENTR");
        assert_eq!(inner.read_meta(0x1fc, 8, "t").unwrap(), want);
        // Raw data reads stay on storage.
        let mut raw = [1u8; 4];
        inner.read_data(0x200, &mut raw, "t").unwrap();
        assert_eq!(raw, [0; 4]);

        // A damaged image makes the file unreadable, naming the block.
        let mut bad = file;
        bad[image as usize + 20] ^= 1;
        let e = File::from_bytes(bad).unwrap_err().to_string();
        assert!(e.contains("metadata cache image at 0x"), "{e}");
        assert!(e.contains("checksum"), "{e}");
    }
}

//! The state a writable file keeps (allocator, profile, caches), the context every write
//! operation runs in, and the file's open/flush/close as a writer sees them.

use super::alloc::Allocator;
use super::dense;
use crate::base::FileInner;
use crate::error::{Error, Result};
use h5_format::superblock::{EntryCache, Root};
use std::sync::Mutex;

/// Which format versions a writable file uses (h5py's `libver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LibVer {
    /// What h5py writes by default: superblock v0, object header v1, symbol-table groups,
    /// layout v3 with v1 B-tree chunk indexes. Readable by HDF5 1.8 through 2.0.
    #[default]
    Earliest,
    /// What h5py writes with `libver='latest'` (HDF5 2.0): superblock v3, object header v2,
    /// link messages (dense past 8), attribute v3, datatype v5 for compound/enum/array,
    /// layout v4/v5 with single, fixed array, extensible array and v2 B-tree chunk indexes.
    /// Readable by HDF5 2.0 (1.10 where no v5 message is needed).
    Latest,
    /// h5py's `libver='v108'`: superblock v2, the 1.8 structures (object header v2, link
    /// messages, attribute v3, datatype v3) and v1 B-tree chunk indexes. Readable by HDF5 1.8+.
    V108,
    /// h5py's `libver='v110'`: superblock v3 and the latest structures with datatype v3 and
    /// layout v4 (never v5). Readable by HDF5 1.10+.
    V110,
}

impl LibVer {
    /// The profile to edit an existing file in: the oldest its superblock allows (libhdf5
    /// raises its low bound to the superblock's), so what we add stays readable by every
    /// library that reads the file — v3 superblocks get the 1.10 profile, not 2.0's.
    pub(crate) fn for_superblock(version: u8) -> LibVer {
        match version {
            0 | 1 => LibVer::Earliest,
            2 => LibVer::V108,
            _ => LibVer::V110,
        }
    }

    /// Whether chunked datasets use the layout v4 chunk indexes.
    pub(crate) fn v4_chunk_indexes(self) -> bool {
        matches!(self, LibVer::V110 | LibVer::Latest)
    }
}

/// The global heap collection being filled (libhdf5 keeps adding to the newest one).
#[derive(Debug, Default)]
pub(crate) struct HeapState {
    pub(crate) current: Option<(u64, h5_format::global_heap::CollectionBuilder)>,
}

/// State of a file open for writing.
#[derive(Debug)]
pub(crate) struct WriteState {
    pub(crate) alloc: Allocator,
    pub(crate) libver: LibVer,
    /// Something changed since the last flush.
    pub(crate) dirty: bool,
    /// `close()` ran: later writes are errors.
    pub(crate) closed: bool,
    /// The global heap collection being filled.
    pub(crate) heap: HeapState,
    /// End of file the superblock on disk names (relative to the base). Space is allocated
    /// below it only: when allocation passes it, the file and this EOF grow first, so a
    /// process killed between flushes never leaves addresses past the superblock's EOF.
    pub(crate) disk_eof: u64,
    /// The root group no longer has a symbol table (it was converted to link messages): the
    /// superblock's root entry must stop caching one.
    pub(crate) root_uncached: bool,
    /// Headers of objects deleted in this session (their space may be in use again): edits
    /// through stale handles to them are refused.
    pub(crate) dead: std::collections::HashSet<u64>,
    /// Dense link/attribute stores edited this session, by heap address: kept loaded, as
    /// only this writer changes them (loading one per change made adding n links O(n²)).
    pub(crate) dense: std::collections::HashMap<u64, dense::Dense>,
    /// The local heap of the last symbol-table insert or removal, kept loaded for the next
    /// (checked against its header on disk before use).
    pub(crate) local_heap: Option<KeptHeap>,
    /// The chunk B-tree of the chunked dataset written last, kept for its next write
    /// (`write::chunked` keeps and checks it; held as `Any` as that module builds on this
    /// one).
    pub(crate) chunk_tree: Option<Box<dyn std::any::Any + Send>>,
    /// The superblock's flags while we write (version 3: libhdf5's "file consistency flags",
    /// bit 0 set while a writer has the file open, cleared at close).
    pub(crate) sb_flags: u32,
}

/// A symbol-table group's local heap as last stored: its header's address, its segment's
/// address, and its contents.
#[derive(Debug)]
pub(crate) struct KeptHeap {
    pub(crate) addr: u64,
    pub(crate) data_addr: u64,
    pub(crate) heap: h5_format::local_heap::LocalHeapBuilder,
}

impl WriteState {
    pub(crate) fn new(eof: u64, libver: LibVer) -> Self {
        WriteState {
            alloc: Allocator::new(eof),
            libver,
            dirty: false,
            closed: false,
            heap: Default::default(),
            disk_eof: eof,
            root_uncached: false,
            dead: Default::default(),
            dense: Default::default(),
            local_heap: None,
            chunk_tree: None,
            sb_flags: 0,
        }
    }
}

/// Superblock v3 flag bits libhdf5 sets while a writer has the file open: write access, and
/// SWMR write access.
pub(crate) const OPEN_FOR_WRITE: u32 = 0x01 | 0x04;

/// A file opened for writing: refuse it when its superblock says another writer has it open
/// (or one crashed with it open), as libhdf5 does; else mark it open for write.
fn mark_open(f: &OpenFile) -> Result<()> {
    let Some(lock) = f.write.as_ref() else {
        return Ok(());
    };
    if f.superblock.version < 3 {
        return Ok(());
    }
    if f.superblock.flags & OPEN_FOR_WRITE != 0 {
        return Err(Error::Locked {
            path: f
                .path
                .as_ref()
                .map_or_else(|| "the file".into(), |p| p.display().to_string()),
            reason: "file is already open for write (may use <h5clear file> to clear file \
                     consistency flags): another writer has it open, or one crashed with it open"
                .into(),
        });
    }
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    st.sb_flags = f.superblock.flags | 0x01;
    let eof = st.disk_eof;
    write_superblock(f, &st, eof)?;
    f.storage.sync()?;
    Ok(())
}

/// The file as opened: the read context and, when it is open for writing, the writer's state
/// beside it (reads never take its lock). Dereferences to the read context.
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub(crate) raw: FileInner,
    pub(crate) write: Option<Mutex<WriteState>>,
    /// The root group's header as read when the file was opened (every handle can make its
    /// `File` from it without reading).
    pub(crate) root: std::sync::OnceLock<std::sync::Arc<crate::base::ObjectHeader>>,
}

impl std::ops::Deref for OpenFile {
    type Target = FileInner;
    fn deref(&self) -> &FileInner {
        &self.raw
    }
}

impl OpenFile {
    /// A file opened on its storage: read-only storage gives a reader; writable storage a
    /// writer too, refused for a file with a metadata cache image, a file shorter than its
    /// stored end (space is handed out from the stored EOF: one past the bytes present — a
    /// file cut short, or a damaged EOF field — would grow the file to it; recovering a
    /// truncated file is for reading only), or one another writer has open.
    pub(crate) fn new(inner: FileInner) -> Result<OpenFile> {
        if !inner.storage.writable() {
            return Ok(OpenFile {
                raw: inner,
                write: None,
                root: Default::default(),
            });
        }
        if !inner.overlay.is_empty() {
            return Err(Error::Unsupported(
                "writing to a file with a metadata cache image".into(),
            ));
        }
        let len = inner.file_len();
        if inner.superblock.eof_addr > len {
            return Err(Error::Truncated {
                eof: inner.superblock.eof_addr,
                len,
            });
        }
        let eof = inner.superblock.eof_addr.saturating_sub(inner.base);
        let mut st = WriteState::new(eof, LibVer::for_superblock(inner.superblock.version));
        st.sb_flags = inner.superblock.flags;
        let f = OpenFile {
            raw: inner,
            write: Some(Mutex::new(st)),
            root: Default::default(),
        };
        mark_open(&f)?;
        Ok(f)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        // The last handle is gone: write what is pending and close (clearing the "open for
        // write" flags, giving up the lock). Errors cannot be reported here; call
        // `File::close` to see them.
        let _ = close(self);
    }
}

/// What one write operation works with.
pub(crate) struct WriteCtx<'a> {
    pub(crate) f: &'a FileInner,
    pub(crate) st: &'a mut WriteState,
}

impl WriteCtx<'_> {
    /// Reserve `size` bytes of file space. When the space lies past the end of file the
    /// superblock on disk names, the file and that EOF grow first (by at least 1 MiB).
    pub(crate) fn alloc(&mut self, size: u64) -> Result<u64> {
        let a = self.st.alloc.alloc(size);
        self.grow()?;
        Ok(a)
    }

    /// Reserve `size` bytes at the end of the file, where the block can later grow in place
    /// ([`Allocator::alloc_at_end`]); grows the file as [`WriteCtx::alloc`] does.
    pub(crate) fn alloc_at_end(&mut self, size: u64) -> Result<u64> {
        let a = self.st.alloc.alloc_at_end(size);
        self.grow()?;
        Ok(a)
    }

    /// Grow the allocated block ending at `end` by `extra` bytes in place, if the space
    /// after it is free ([`Allocator::try_extend`]); grows the file as [`WriteCtx::alloc`]
    /// does. Returns whether it did.
    pub(crate) fn try_extend(&mut self, end: u64, extra: u64) -> Result<bool> {
        if !self.st.alloc.try_extend(end, extra) {
            return Ok(false);
        }
        self.grow()?;
        Ok(true)
    }

    /// Reserve `size` bytes of raw data, packed after what came before (see
    /// [`Allocator::alloc_packed`]); grows the file as [`WriteCtx::alloc`] does.
    pub(crate) fn alloc_packed(&mut self, size: u64) -> Result<u64> {
        let a = self.st.alloc.alloc_packed(size);
        self.grow()?;
        Ok(a)
    }

    /// When allocation went past the end of file the superblock on disk names, grow the file
    /// and that EOF first (by at least 1 MiB).
    fn grow(&mut self) -> Result<()> {
        if self.st.alloc.eof > self.st.disk_eof {
            let new_eof = (self.st.alloc.eof + (1 << 20)).next_multiple_of(1 << 20);
            self.f.storage.set_len(self.f.base + new_eof)?;
            self.f.pages.resized(self.f.base + new_eof);
            write_superblock(self.f, self.st, new_eof)?;
            self.st.disk_eof = new_eof;
        }
        Ok(())
    }

    /// Store an edited structure (v2 B-tree, fractal heap, fixed or extensible array):
    /// `store` gets an allocator; its blocks are written in its order (the file grown first),
    /// then the extents it retired are freed. Returns the structure's header address.
    pub(crate) fn store_edit(
        &mut self,
        store: impl FnOnce(&mut dyn FnMut(u64) -> u64) -> h5_format::Result<(u64, h5_format::Stored)>,
    ) -> Result<u64> {
        let alloc = &mut self.st.alloc;
        let (addr, stored) = store(&mut |size| alloc.alloc(size)).map_err(Error::Format)?;
        self.grow()?;
        for (a, bytes) in &stored.writes {
            self.write(*a, bytes)?;
        }
        for (a, n) in stored.freed {
            self.free(a, n);
        }
        Ok(addr)
    }

    /// Decode a header message body of the object at `at` (for error offsets) with `dec`.
    pub(crate) fn decode_msg<T>(
        &self,
        m: &h5_format::object_header::MessageOut,
        at: u64,
        what: &'static str,
        dec: impl FnOnce(&mut h5_format::Reader<'_>) -> h5_format::Result<T>,
    ) -> Result<T> {
        self.f.dec(dec(&mut h5_format::Reader::new(
            &m.data,
            at,
            self.f.sizes,
            what,
        )))
    }

    /// A reader for the edit models' `load`: `len` bytes of metadata at `addr`.
    pub(crate) fn meta_reader(
        &self,
        structure: &'static str,
    ) -> impl FnMut(u64, usize) -> Result<Vec<u8>> + '_ {
        move |addr, len| self.f.read_meta(addr, len as u64, structure)
    }
    /// Give space back for reuse.
    pub(crate) fn free(&mut self, addr: u64, size: u64) {
        // a kept local heap whose space is given back is gone (a new one may take its place)
        let overlaps = |a: u64, n: u64| a < addr.saturating_add(size) && addr < a.saturating_add(n);
        if let Some(h) = &self.st.local_heap {
            let header = h5_format::local_heap::LocalHeap::header_size(self.f.sizes) as u64;
            if overlaps(h.addr, header) || overlaps(h.data_addr, h.heap.data_size()) {
                self.st.local_heap = None;
            }
        }
        self.st.alloc.free(addr, size)
    }
    /// Write bytes at an address (relative to the base).
    ///
    /// Everything the writer writes lies in space it allocated or that the file's structures
    /// already hold, so an address past the allocated end comes from a damaged file (a chunk
    /// index naming a chunk far past the end): refused, never grown to.
    pub(crate) fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<()> {
        let end = addr.checked_add(bytes.len() as u64);
        if end.is_none_or(|e| e > self.st.alloc.eof.max(self.st.disk_eof)) {
            return Err(Error::from(h5_format::Error::invalid(
                "file space",
                self.f.offset_of(addr),
                "a structure names space past the end of the file (damaged file)",
            )));
        }
        self.st.dirty = true;
        self.f.storage.write_at(self.f.base + addr, bytes)?;
        self.f.pages.written(self.f.base + addr, bytes);
        Ok(())
    }
}

/// Run `op` with the file's write state locked; errors when the file is read-only or closed.
pub(crate) fn with<T>(f: &OpenFile, op: impl FnOnce(&mut WriteCtx<'_>) -> Result<T>) -> Result<T> {
    let lock = f
        .write
        .as_ref()
        .ok_or_else(|| Error::ReadOnly("the file is open read-only".into()))?;
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    if st.closed {
        return Err(Error::ReadOnly("the file is closed".into()));
    }
    let mut cx = WriteCtx {
        f: &f.raw,
        st: &mut st,
    };
    op(&mut cx)
}

/// Write the superblock (last, after everything it reaches). `durable`: sync before it (so
/// that everything it reaches is on disk first) and after it, so the file survives a power
/// loss; without, the file is complete and consistent for every other process and survives
/// this one being killed (the page cache keeps the writes' order), as libhdf5's flush and
/// close leave it.
pub(crate) fn flush(f: &OpenFile, durable: bool) -> Result<()> {
    let Some(lock) = f.write.as_ref() else {
        return Ok(());
    };
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    if st.closed {
        return Ok(());
    }
    // Everything the new superblock reaches is on disk before it is written.
    if durable {
        f.storage.sync()?;
    }
    let eof = st.alloc.eof;
    write_superblock(f, &st, eof)?;
    if durable {
        f.storage.sync()?;
    }
    // Drop the slack the allocator's growth steps left past the end.
    f.storage.set_len(f.base + eof)?;
    f.pages.resized(f.base + eof);
    st.disk_eof = eof;
    st.dirty = false;
    Ok(())
}

/// Write the superblock naming `eof` (relative to the base) as the end of file.
fn write_superblock(f: &FileInner, st: &WriteState, eof: u64) -> Result<()> {
    let mut sb = f.superblock.clone();
    sb.eof_addr = eof + f.base;
    if sb.version >= 3 {
        sb.flags = st.sb_flags;
    }
    if let (true, Root::Entry(e)) = (st.root_uncached, &mut sb.root) {
        e.cache = EntryCache::None;
    }
    let sb = sb.encode();
    f.storage.write_at(f.base, &sb)?;
    f.pages.written(f.base, &sb);
    Ok(())
}

/// Flush (not durably: see [`flush`]) with the "open for write" flags cleared, then refuse
/// further writes and give up the file lock.
pub(crate) fn close(f: &OpenFile) -> Result<()> {
    if let Some(lock) = f.write.as_ref() {
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        if !st.closed {
            st.sb_flags &= !OPEN_FOR_WRITE;
            st.dirty = true;
        }
    }
    flush(f, false)?;
    if let Some(lock) = f.write.as_ref() {
        lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    }
    f.storage.unlock();
    Ok(())
}

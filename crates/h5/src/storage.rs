//! Where bytes come from: a positional, thread-safe [`Storage`] trait with implementations
//! for files, memory and (feature `mmap`) memory maps.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A positional byte source. Reads take `&self`, so many threads read at once.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Fill `buf` with the bytes at `offset`; fewer bytes available is an error
    /// (`UnexpectedEof`).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the storage is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Write `data` at `offset`, growing the storage if needed. Read-only storages refuse.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let _ = (offset, data);
        Err(read_only())
    }
    /// Make everything written so far durable (`fsync`).
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    /// Cut or extend the storage to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()> {
        let _ = len;
        Err(read_only())
    }
    /// Whether `write_at` can succeed.
    fn writable(&self) -> bool {
        false
    }
    /// Give up the file lock taken when it was opened (at close).
    fn unlock(&self) {}
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the file is open read-only",
    )
}

/// Bytes in memory (also the storage to use in WebAssembly).
#[derive(Debug, Clone)]
pub struct MemStorage {
    data: Arc<[u8]>,
}

impl MemStorage {
    /// Wrap bytes.
    pub fn new(data: impl Into<Arc<[u8]>>) -> Self {
        MemStorage { data: data.into() }
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the storage",
    )
}

impl Storage for MemStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        let src = self.data.get(start..end).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
}

/// A file being written in memory: growable bytes behind a lock (for WebAssembly users and
/// tests; `into_bytes` gives the finished file).
#[derive(Debug, Default)]
pub struct VecStorage {
    data: std::sync::RwLock<Vec<u8>>,
}

impl VecStorage {
    /// Start from `bytes` (empty for a new file).
    pub fn new(bytes: Vec<u8>) -> Self {
        VecStorage {
            data: std::sync::RwLock::new(bytes),
        }
    }
    /// A copy of the bytes so far.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.data.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Storage for VecStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        buf.copy_from_slice(data.get(start..end).ok_or_else(eof)?);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.data.read().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut data = self.data.write().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(bytes.len()).ok_or_else(eof)?;
        if end > data.len() {
            // A damaged file can name any address: refuse what the system cannot give.
            let more = end - data.len();
            data.try_reserve(more)
                .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| eof())?;
        let mut data = self.data.write().unwrap_or_else(|e| e.into_inner());
        let more = len.saturating_sub(data.len());
        data.try_reserve(more)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        data.resize(len, 0);
        Ok(())
    }
    fn writable(&self) -> bool {
        true
    }
}

/// A file on disk, read and written with positional I/O (`pread`/`pwrite`) — no seek, no lock.
#[derive(Debug)]
pub struct FileStorage {
    file: std::fs::File,
    len: AtomicU64,
    writable: bool,
    #[cfg(not(any(unix, windows)))]
    lock: std::sync::Mutex<()>,
}

impl FileStorage {
    fn wrap(file: std::fs::File, writable: bool) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileStorage {
            file,
            len: AtomicU64::new(len),
            writable,
            #[cfg(not(any(unix, windows)))]
            lock: std::sync::Mutex::new(()),
        })
    }

    /// Open `path` for reading.
    pub fn open(path: impl AsRef<std::path::Path>) -> io::Result<Self> {
        Self::wrap(std::fs::File::open(path)?, false)
    }

    /// Open `path` for reading and writing with the given options (create, truncate, …).
    pub fn open_with(
        path: impl AsRef<std::path::Path>,
        options: &std::fs::OpenOptions,
    ) -> io::Result<Self> {
        Self::wrap(options.open(path)?, true)
    }

    /// The open file (for its lock).
    pub(crate) fn file(&self) -> &std::fs::File {
        &self.file
    }
}

impl Storage for FileStorage {
    fn unlock(&self) {
        let _ = self.file.unlock();
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len.load(Ordering::Acquire))
        {
            return Err(eof());
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
        }
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < buf.len() {
                let n = std::os::windows::fs::FileExt::seek_read(
                    &self.file,
                    &mut buf[done..],
                    offset + done as u64,
                )?;
                if n == 0 {
                    return Err(eof());
                }
                done += n;
            }
            Ok(())
        }
        #[cfg(not(any(unix, windows)))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset))?;
            f.read_exact(buf)
        }
    }
    fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(read_only());
        }
        #[cfg(unix)]
        std::os::unix::fs::FileExt::write_all_at(&self.file, data, offset)?;
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < data.len() {
                done += std::os::windows::fs::FileExt::seek_write(
                    &self.file,
                    &data[done..],
                    offset + done as u64,
                )?;
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            use std::io::{Seek, SeekFrom, Write};
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset))?;
            f.write_all(data)?;
        }
        self.len
            .fetch_max(offset + data.len() as u64, Ordering::AcqRel);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        if self.writable {
            self.file.sync_data()?;
        }
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        if !self.writable {
            return Err(read_only());
        }
        self.file.set_len(len)?;
        self.len.store(len, Ordering::Release);
        Ok(())
    }
    fn writable(&self) -> bool {
        self.writable
    }
}

/// A wrapper that counts the bytes asked of the storage beneath (for tests and profiling).
#[derive(Debug)]
pub struct CountingStorage<S> {
    inner: S,
    bytes: AtomicU64,
    reads: AtomicU64,
}

impl<S: Storage> CountingStorage<S> {
    /// Wrap a storage.
    pub fn new(inner: S) -> Self {
        CountingStorage {
            inner,
            bytes: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        }
    }
    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Read calls so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
    /// Reset the counters.
    pub fn reset(&self) {
        self.bytes.store(0, Ordering::Relaxed);
        self.reads.store(0, Ordering::Relaxed);
    }
}

impl<S: Storage> Storage for CountingStorage<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.write_at(offset, data)
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn writable(&self) -> bool {
        self.inner.writable()
    }
}

impl<S: Storage + ?Sized> Storage for Arc<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, data)
    }
    fn sync(&self) -> io::Result<()> {
        (**self).sync()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        (**self).set_len(len)
    }
    fn writable(&self) -> bool {
        (**self).writable()
    }
    fn unlock(&self) {
        (**self).unlock()
    }
}

#[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
pub use crate::mmap::MmapStorage;

//! Where bytes come from: a positional, thread-safe [`Storage`] trait with implementations
//! for files, memory and (feature `mmap`) memory maps.

use std::io;
use std::sync::Arc;

mod counting;
mod file;
mod mem;
#[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
mod mmap;

pub use counting::CountingStorage;
pub use file::FileStorage;
pub use mem::{MemStorage, VecStorage};
#[cfg(all(feature = "mmap", target_os = "linux"))]
pub(crate) use mmap::huge_pages;
#[cfg(all(feature = "mmap", not(target_arch = "wasm32")))]
pub use mmap::MmapStorage;

/// Without huge-page advice (off Linux, or without the `mmap` feature): nothing to do.
#[cfg(not(all(feature = "mmap", target_os = "linux")))]
pub(crate) fn huge_pages<T>(_buf: &[T]) {}

/// A positional byte source. Reads take `&self`, so many threads read at once.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Fill `buf` with the bytes at `offset`; fewer bytes available is an error
    /// (`UnexpectedEof`).
    ///
    /// # Errors
    /// The storage ends before `offset + buf.len()`, or cannot be read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the storage is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Write `data` at `offset`, growing the storage if needed. Read-only storages refuse.
    ///
    /// # Errors
    /// Read-only storage (the default); the storage refuses the write.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let _ = (offset, data);
        Err(read_only())
    }
    /// Make everything written so far durable (`fsync`).
    ///
    /// # Errors
    /// The storage cannot make the writes durable.
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    /// Cut or extend the storage to `len` bytes.
    ///
    /// # Errors
    /// Read-only storage (the default); the storage cannot change its length.
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
    /// Whether `h5` should keep the metadata it reads from this storage in memory, in pages:
    /// true where each read costs a system call or a request (files), false for storage that
    /// is memory already (the default).
    fn cache_metadata(&self) -> bool {
        false
    }
}

pub(super) fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the file is open read-only",
    )
}

/// The error for reading past the end.
pub(super) fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the storage",
    )
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
    fn cache_metadata(&self) -> bool {
        (**self).cache_metadata()
    }
}

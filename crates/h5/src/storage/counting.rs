//! A storage wrapper that counts what is read.

use super::Storage;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

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
    fn cache_metadata(&self) -> bool {
        self.inner.cache_metadata()
    }
}

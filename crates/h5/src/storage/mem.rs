//! Storage in memory: shared bytes to read, a growable vector to write.

use super::{eof, Storage};
use std::io;
use std::sync::Arc;

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

//! Memory-mapped storage and the memory advice that goes with it: the one module of `h5`
//! that needs `unsafe`.
#![allow(unsafe_code)]

use super::Storage;
use std::io;

/// A read-only memory map of a file.
#[derive(Debug)]
pub struct MmapStorage {
    map: memmap2::Mmap,
    /// The mapped file (it holds the shared lock taken at open).
    file: std::fs::File,
}

impl MmapStorage {
    /// Map `path` read-only.
    ///
    /// # Errors
    /// What the operating system says when the file cannot be opened or mapped.
    pub fn open(path: impl AsRef<std::path::Path>) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only. Another process truncating or rewriting the file
        // while it is mapped could change the bytes under us (or fault on truncation); that is
        // the documented caveat of this storage, which callers opt into with the `mmap`
        // feature and `File::open_mmap`. We never create references that assume the bytes
        // stay constant beyond a single copy in `read_at`.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(MmapStorage { map, file })
    }

    /// The mapped file (for its lock).
    pub(crate) fn file(&self) -> &std::fs::File {
        &self.file
    }
}

impl Storage for MmapStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let err = || io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the map");
        let start = usize::try_from(offset).map_err(|_| err())?;
        let end = start.checked_add(buf.len()).ok_or_else(err)?;
        buf.copy_from_slice(self.map.get(start..end).ok_or_else(err)?);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.map.len() as u64
    }
    fn unlock(&self) {
        let _ = self.file.unlock();
    }
}

/// Hint that the memory of `buf` (a fresh allocation, about to be filled) is best backed by
/// huge pages, as numpy hints for its arrays of 4 MiB or more: the first write then takes one
/// page fault per 2 MiB instead of one per 4 KiB (on a 512 MiB read, 256 faults instead of
/// 131 072). `buf` may be spare capacity: only its address range is used. Only a hint: a
/// failure changes nothing, and smaller buffers are left alone.
#[cfg(target_os = "linux")]
pub(crate) fn huge_pages<T>(buf: &[T]) {
    let addr = buf.as_ptr() as usize;
    let start = addr.next_multiple_of(4096);
    let end = addr.saturating_add(std::mem::size_of_val(buf)) & !4095;
    if end > start && end - start >= 4 << 20 {
        // SAFETY: [start, end) lies inside `buf`'s allocation, which is live for the call,
        // and MADV_HUGEPAGE only changes how the kernel backs those pages: never their
        // contents, their validity or who owns them.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

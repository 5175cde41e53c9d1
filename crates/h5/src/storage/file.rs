//! A file on disk, through positional I/O.

use super::{eof, read_only, Storage};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

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
    ///
    /// # Errors
    /// What the operating system says when the file cannot be opened.
    pub fn open(path: impl AsRef<std::path::Path>) -> io::Result<Self> {
        Self::wrap(std::fs::File::open(path)?, false)
    }

    /// Open `path` for reading and writing with the given options (create, truncate, …).
    ///
    /// # Errors
    /// What the operating system says when the file cannot be opened.
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
    fn cache_metadata(&self) -> bool {
        true
    }
}

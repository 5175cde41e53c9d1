//! [`PageCache`]: the file's metadata, in pages read once. Object headers, B-tree nodes,
//! heaps and symbol table nodes sit close together and are read again and again (each lookup
//! by name walks the same nodes and heap), so metadata reads copy from cached pages instead of
//! asking the storage each time — for storages where a read costs a system call
//! ([`Storage::cache_metadata`]). Raw data never goes through it.
//!
//! Writes go to the storage first, then into the pages they touch; a generation count keeps a
//! read that raced a write from caching what it read before the write. The cache is bounded
//! ([`PageCache::MAX_PAGES`] pages): when full, it starts over.
//!
//! [`Decoded`] holds structures decoded from those pages that lookups use again and again (a
//! group's B-tree nodes, symbol table nodes and local heap, global heap collections): an
//! entry is served only while no write has happened since it was read.

use crate::storage::Storage;
use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Page numbers and addresses hash by one multiplication each (Fibonacci hashing): a
/// collision costs time, never correctness, a bounded number of entries is held, and SipHash
/// was a tenth of a lookup's time.
#[derive(Debug, Default)]
struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        // the product's high bits are mixed; the table indexes by the low ones, which for
        // aligned addresses the product alone leaves alike
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Pages = HashMap<u64, Arc<[u8]>, BuildHasherDefault<PageHasher>>;

/// Pages of the file by page number.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    pages: RwLock<Pages>,
    /// Bumped by every write (under the pages' write lock).
    generation: AtomicU64,
}

impl PageCache {
    /// Bytes per page.
    pub(crate) const PAGE: u64 = 16 << 10;
    /// At most this many pages (16 MiB) are held.
    pub(crate) const MAX_PAGES: usize = 1024;

    /// Fill `buf` with the bytes at file offset `off`, through the cache.
    pub(crate) fn read(&self, storage: &dyn Storage, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if self.read_cached(off, buf) {
            // within one cached page: copied under the read lock, no page handle taken
            return Ok(());
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = off + done as u64;
            let page = at / Self::PAGE;
            let within = (at % Self::PAGE) as usize;
            let want = (buf.len() - done).min(Self::PAGE as usize - within);
            let bytes = self.page(storage, page, within + want)?;
            buf[done..done + want].copy_from_slice(&bytes[within..within + want]);
            done += want;
        }
        Ok(())
    }

    /// Bumped by every write: what was decoded before a write may be stale after it.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Fill `buf` from the page holding file offset `off` when that page is cached and
    /// holds all of it; `false` (and nothing read) otherwise. Small data reads take this:
    /// data that sits beside metadata just read comes without a system call, and data never
    /// fills the cache.
    pub(crate) fn read_cached(&self, off: u64, buf: &mut [u8]) -> bool {
        let within = (off % Self::PAGE) as usize;
        let Some(end) = within
            .checked_add(buf.len())
            .filter(|&e| e <= Self::PAGE as usize)
        else {
            return false;
        };
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        match pages
            .get(&(off / Self::PAGE))
            .and_then(|p| p.get(within..end))
        {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Page `n`, holding at least `need` bytes (a page cut short by the end of the file when
    /// it was read is read again once the file is longer).
    fn page(&self, storage: &dyn Storage, n: u64, need: usize) -> io::Result<Arc<[u8]>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pages.get(&n).filter(|p| p.len() >= need) {
            return Ok(p.clone());
        }
        drop(pages);
        let generation = self.generation.load(Ordering::Acquire);
        let start = n * Self::PAGE;
        let len = storage.len().saturating_sub(start).min(Self::PAGE) as usize;
        if len < need {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "metadata past the end of the file",
            ));
        }
        let mut bytes = vec![0u8; len];
        storage.read_at(start, &mut bytes)?;
        let bytes: Arc<[u8]> = bytes.into();
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        // a write since the read began may have changed these bytes: serve them, keep nothing
        if self.generation.load(Ordering::Acquire) == generation {
            if pages.len() >= Self::MAX_PAGES {
                pages.clear();
            }
            pages.insert(n, bytes.clone());
        }
        Ok(bytes)
    }

    /// `data` was written at file offset `off`: the cached pages it falls on take the new
    /// bytes (a writer reads back what it just wrote, so dropping them would mean reading
    /// them again), a page it would leave with a gap is dropped.
    pub(crate) fn written(&self, off: u64, data: &[u8]) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        if pages.is_empty() || data.is_empty() {
            return;
        }
        let end = off.saturating_add(data.len() as u64);
        let (first, last) = (off / Self::PAGE, (end - 1) / Self::PAGE);
        let update = |n: u64, page: &mut Arc<[u8]>| -> bool {
            let start = n * Self::PAGE;
            let (lo, hi) = (off.max(start), end.min(start + Self::PAGE));
            let (from, to) = ((lo - start) as usize, (hi - start) as usize);
            if from > page.len() {
                return false;
            }
            let src = &data[(lo - off) as usize..(hi - off) as usize];
            match Arc::get_mut(page).filter(|p| p.len() >= to) {
                Some(p) => p[from..to].copy_from_slice(src),
                None => {
                    let mut v = page.to_vec();
                    v.resize(v.len().max(to), 0);
                    v[from..to].copy_from_slice(src);
                    *page = v.into();
                }
            }
            true
        };
        if last - first < pages.len() as u64 {
            for n in first..=last {
                if let Some(page) = pages.get_mut(&n) {
                    if !update(n, page) {
                        pages.remove(&n);
                    }
                }
            }
        } else {
            pages.retain(|&n, page| n < first || n > last || update(n, page));
        }
    }

    /// Forget every page from the one holding file offset `len` on: call after the file's
    /// length changes.
    pub(crate) fn resized(&self, len: u64) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        pages.retain(|&n, _| n < len / Self::PAGE);
    }
}

/// What a [`Decoded`] entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A group's v1 B-tree node.
    GroupNode,
    /// A symbol table node's entries.
    Snod,
    /// A local heap: header and data segment.
    LocalHeap,
    /// A global heap collection's bytes.
    Collection,
    /// A symbol-table group's entries by name (keyed by its B-tree's address).
    NameIndex,
}

type Entry = (u64, Arc<dyn Any + Send + Sync>);
type Entries = HashMap<(Kind, u64), Entry, BuildHasherDefault<PageHasher>>;

/// Decoded structures by (kind, address), each with the write generation it was read at,
/// and the bytes they take in all (about).
#[derive(Default)]
pub(crate) struct Decoded {
    entries: RwLock<(Entries, usize)>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.read().map_or(0, |e| e.0.len());
        f.debug_struct("Decoded").field("entries", &n).finish()
    }
}

impl Decoded {
    /// At most this many entries, of this many bytes in all, are held; when full, the
    /// cache starts over.
    pub(crate) const MAX_ENTRIES: usize = 4096;
    pub(crate) const MAX_BYTES: usize = 16 << 20;

    /// The `kind` structure at `addr`, decoded by `load` (which also says about how many
    /// bytes it takes) unless an entry read at write generation `generation` holds it. The
    /// caller takes the generation before `load` reads, so a write racing the read leaves an
    /// entry that is never served.
    pub(crate) fn get<T: Any + Send + Sync>(
        &self,
        kind: Kind,
        addr: u64,
        generation: u64,
        load: impl FnOnce() -> crate::Result<(T, usize)>,
    ) -> crate::Result<Arc<T>> {
        let hit = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            entries
                .0
                .get(&(kind, addr))
                .filter(|(g, _)| *g == generation)
                .map(|(_, v)| v.clone())
        };
        if let Some(v) = hit.and_then(|v| v.downcast::<T>().ok()) {
            return Ok(v);
        }
        let (v, bytes) = load()?;
        let v = Arc::new(v);
        if bytes <= Self::MAX_BYTES / 16 {
            let mut guard = self.entries.write().unwrap_or_else(|e| e.into_inner());
            let (entries, held) = &mut *guard;
            if entries.len() >= Self::MAX_ENTRIES || *held + bytes > Self::MAX_BYTES {
                entries.clear();
                *held = 0;
            }
            entries.insert((kind, addr), (generation, v.clone()));
            *held += bytes;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::VecStorage;

    #[test]
    fn reads_come_from_pages_and_writes_drop_them() {
        let s = VecStorage::default();
        let data: Vec<u8> = (0..3 * PageCache::PAGE as usize + 100)
            .map(|i| (i % 251) as u8)
            .collect();
        s.write_at(0, &data).unwrap();
        let c = PageCache::default();
        // a read across a page boundary
        let mut buf = vec![0u8; 300];
        let at = PageCache::PAGE - 100;
        c.read(&s, at, &mut buf).unwrap();
        assert_eq!(buf, data[at as usize..at as usize + 300]);
        assert_eq!(c.pages.read().unwrap().len(), 2);
        // the last page is short; reading past the end is an error, not a panic
        let mut end = vec![0u8; 100];
        c.read(&s, 3 * PageCache::PAGE, &mut end).unwrap();
        assert_eq!(end, data[3 * PageCache::PAGE as usize..]);
        assert!(c.read(&s, 3 * PageCache::PAGE + 50, &mut end).is_err());
        // a write, then the cache is told: the new bytes are read
        // a write across the cached pages' boundary: both take the new bytes
        let at = PageCache::PAGE - 2;
        s.write_at(at, &[7, 7, 7, 7]).unwrap();
        c.written(at, &[7, 7, 7, 7]);
        let cached = |n: u64| c.pages.read().unwrap().get(&n).cloned().unwrap();
        assert_eq!(cached(0)[PageCache::PAGE as usize - 2..], [7, 7]);
        assert_eq!(cached(1)[..2], [7, 7]);
        c.read(&s, at - 1, &mut buf[..6]).unwrap();
        assert_eq!(
            buf[..6],
            [data[at as usize - 1], 7, 7, 7, 7, data[at as usize + 4]]
        );
        // the file grows: the short last page takes bytes right after its end...
        let tail = 3 * PageCache::PAGE + 100;
        s.write_at(tail, &[9; 10]).unwrap();
        c.written(tail, &[9; 10]);
        assert_eq!(cached(3).len(), 110);
        // ...and is dropped when a write would leave a gap (then read again in full)
        s.write_at(tail + 20, &[5; 4]).unwrap();
        c.written(tail + 20, &[5; 4]);
        assert!(c.pages.read().unwrap().get(&3).is_none());
        let mut grown = vec![0u8; 124];
        c.read(&s, 3 * PageCache::PAGE, &mut grown).unwrap();
        assert_eq!(grown[100..110], [9; 10]);
        assert_eq!(grown[120..], [5; 4]);
        c.resized(PageCache::PAGE);
        assert!(c.pages.read().unwrap().keys().all(|&n| n < 1));
        // a small read from a cached page is served from it, with the written bytes; one
        // from a page not held, or running past its end, is not (nothing is read)
        let mut small = [0u8; 6];
        assert!(c.read_cached(PageCache::PAGE - 7, &mut small));
        assert_eq!(
            small[..],
            [
                data[PageCache::PAGE as usize - 7],
                data[PageCache::PAGE as usize - 6],
                data[PageCache::PAGE as usize - 5],
                data[PageCache::PAGE as usize - 4],
                data[PageCache::PAGE as usize - 3],
                7
            ]
        );
        let mut none = [1u8; 6];
        assert!(!c.read_cached(PageCache::PAGE - 3, &mut none));
        assert!(!c.read_cached(2 * PageCache::PAGE, &mut none));
        assert_eq!(none, [1; 6]);
    }
}

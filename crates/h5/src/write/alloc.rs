//! File space: addresses handed out at the end of the file, and space freed by rewrites
//! reused first (within the session).

use std::collections::{BTreeMap, BTreeSet};

/// Allocates file space (addresses relative to the base address).
#[derive(Debug, Clone, Default)]
pub(crate) struct Allocator {
    /// End of allocated space.
    pub(crate) eof: u64,
    /// Free blocks, address → size: never adjacent to each other or to `eof`.
    free: BTreeMap<u64, u64>,
    /// The same blocks as (size, address), to find the best fit without a search.
    by_size: BTreeSet<(u64, u64)>,
}

impl Allocator {
    pub(crate) fn new(eof: u64) -> Self {
        Allocator {
            eof,
            ..Allocator::default()
        }
    }

    /// Reserve `size` bytes, 8-byte aligned when taken from the end of the file.
    pub(crate) fn alloc(&mut self, size: u64) -> u64 {
        self.alloc_in(size, 8)
    }

    /// Reserve `size` bytes at the end of the file (8-byte aligned), never in a freed block:
    /// for a block that may grow in place ([`try_extend`](Self::try_extend)).
    pub(crate) fn alloc_at_end(&mut self, size: u64) -> u64 {
        let a = self.eof.div_ceil(8) * 8;
        self.eof = a + size;
        a
    }

    /// Reserve `size` bytes packed right after what came before (raw data: libhdf5 packs
    /// chunks without padding).
    pub(crate) fn alloc_packed(&mut self, size: u64) -> u64 {
        self.alloc_in(size, 1)
    }

    /// The smallest free block that fits (the lowest of equal ones), else the end of the file.
    fn alloc_in(&mut self, size: u64, align: u64) -> u64 {
        if let Some(&(s, a)) = self.by_size.range((size, 0)..).next() {
            self.take(a, s);
            if s > size {
                self.put(a + size, s - size);
            }
            return a;
        }
        let a = self.eof.div_ceil(align) * align;
        self.eof = a + size;
        a
    }

    /// Grow the block ending at `end` by `extra` bytes in place, when the space after it is
    /// the end of the file or a free block large enough (libhdf5's `H5MF_try_extend`).
    /// Returns whether it did.
    pub(crate) fn try_extend(&mut self, end: u64, extra: u64) -> bool {
        if end == self.eof {
            self.eof += extra;
            return true;
        }
        match self.free.get(&end).copied() {
            Some(s) if s >= extra => {
                self.take(end, s);
                if s > extra {
                    self.put(end + extra, s - extra);
                }
                true
            }
            _ => false,
        }
    }

    fn put(&mut self, addr: u64, size: u64) {
        if let Some(old) = self.free.insert(addr, size) {
            self.by_size.remove(&(old, addr));
        }
        self.by_size.insert((size, addr));
    }

    fn take(&mut self, addr: u64, size: u64) {
        self.free.remove(&addr);
        self.by_size.remove(&(size, addr));
    }

    /// Give back `size` bytes at `addr` for reuse, merged with free neighbours.
    ///
    /// Space not inside what is allocated is ignored: only a damaged file names such an
    /// extent (a chunk index entry far past the end), and reusing it would write there.
    pub(crate) fn free(&mut self, mut addr: u64, mut size: u64) {
        if size == 0 || addr.checked_add(size).is_none_or(|end| end > self.eof) {
            return;
        }
        if let Some((&a, &s)) = self.free.range(..addr).next_back() {
            if a + s == addr {
                self.take(a, s);
                addr = a;
                size += s;
            }
        }
        if let Some(&s) = self.free.get(&(addr + size)) {
            self.take(addr + size, s);
            size += s;
        }
        if addr + size == self.eof {
            self.eof = addr;
            return;
        }
        self.put(addr, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_merges() {
        let mut a = Allocator::new(100);
        assert_eq!(a.alloc(10), 104);
        assert_eq!(a.eof, 114);
        let x = a.alloc(16);
        assert_eq!(x, 120);
        a.free(104, 10);
        assert_eq!(a.alloc(4), 104);
        assert_eq!(a.alloc(6), 108);
        a.free(120, 16);
        assert_eq!(a.eof, 120, "space at the end goes back to the end of file");
        assert_eq!(a.alloc(16), 120);
        // extents a damaged file names past the end (or wrapping around) are never reused
        a.free(1 << 62, 64);
        a.free(u64::MAX - 8, 64);
        assert_eq!(a.eof, 136);
        assert_eq!(a.alloc(8), 136);
    }

    #[test]
    fn blocks_grow_into_the_end_of_file_or_a_free_neighbour() {
        let mut a = Allocator::new(0);
        let x = a.alloc(16);
        assert!(a.try_extend(x + 16, 8), "at the end of file");
        assert_eq!(a.eof, 24);
        let y = a.alloc(8);
        let z = a.alloc(32);
        assert!(!a.try_extend(x + 24, 8), "y follows x");
        a.free(y, 8);
        assert!(
            !a.try_extend(x + 24, 16),
            "the free block after x is too small"
        );
        assert!(a.try_extend(x + 24, 8));
        assert_eq!(a.alloc(8), z + 32, "y's space is taken");
        a.free(z, 32);
        assert!(a.try_extend(x + 32, 16));
        assert_eq!(a.alloc(16), z + 16, "the rest of z's space is still free");
    }

    #[test]
    fn neighbours_merge_and_the_best_fit_is_taken() {
        let mut a = Allocator::new(0);
        let blocks: Vec<u64> = (0..6).map(|_| a.alloc(8)).collect();
        assert_eq!(blocks, [0, 8, 16, 24, 32, 40]);
        a.free(8, 8);
        a.free(24, 8);
        a.free(16, 8); // joins 8..32 into one block
        assert_eq!(a.free.iter().collect::<Vec<_>>(), [(&8, &24)]);
        assert_eq!(
            a.alloc(32),
            48,
            "nothing free is that large: the end of file"
        );
        assert_eq!(a.alloc(16), 8);
        assert_eq!(a.alloc(8), 24);
        assert!(a.free.is_empty() && a.by_size.is_empty());
        // the best fit: the smallest block that fits, not the first
        a.free(0, 8);
        a.free(24, 4);
        assert_eq!(a.alloc(4), 24);
        assert_eq!(a.alloc(4), 0, "its rest, 4..8, stays free");
        // freeing the last block and its free neighbour gives both back to the end of file
        a.free(40, 8);
        a.free(48, 32);
        assert_eq!(a.eof, 40);
        assert_eq!(a.free.iter().collect::<Vec<_>>(), [(&4, &4)]);
        assert_eq!(a.by_size.iter().collect::<Vec<_>>(), [&(4, 4)]);
    }
}

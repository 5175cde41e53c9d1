//! File space: addresses handed out at the end of the file, and space freed by rewrites
//! reused first (within the session).

/// Allocates file space (addresses relative to the base address).
#[derive(Debug, Clone, Default)]
pub(crate) struct Allocator {
    /// End of allocated space.
    pub(crate) eof: u64,
    /// Free blocks (address, size), not adjacent to `eof`.
    free: Vec<(u64, u64)>,
}

impl Allocator {
    pub(crate) fn new(eof: u64) -> Self {
        Allocator {
            eof,
            free: Vec::new(),
        }
    }

    /// Reserve `size` bytes, 8-byte aligned when taken from the end of the file.
    pub(crate) fn alloc(&mut self, size: u64) -> u64 {
        self.alloc_in(size, 8)
    }

    /// Reserve `size` bytes packed right after what came before (raw data: libhdf5 packs
    /// chunks without padding).
    pub(crate) fn alloc_packed(&mut self, size: u64) -> u64 {
        self.alloc_in(size, 1)
    }

    fn alloc_in(&mut self, size: u64, align: u64) -> u64 {
        if let Some(i) = self.free.iter().position(|&(_, s)| s >= size) {
            let (a, s) = self.free[i];
            if s == size {
                self.free.remove(i);
            } else {
                self.free[i] = (a + size, s - size);
            }
            return a;
        }
        let a = self.eof.div_ceil(align) * align;
        self.eof = a + size;
        a
    }

    /// Give back `size` bytes at `addr` for reuse.
    ///
    /// Space not inside what is allocated is ignored: only a damaged file names such an
    /// extent (a chunk index entry far past the end), and reusing it would write there.
    pub(crate) fn free(&mut self, addr: u64, size: u64) {
        if size == 0 || addr.checked_add(size).is_none_or(|end| end > self.eof) {
            return;
        }
        if addr + size == self.eof {
            self.eof = addr;
            return;
        }
        self.free.push((addr, size));
        self.free.sort_unstable();
        // merge neighbours
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.free.len());
        for (a, s) in self.free.drain(..) {
            match merged.last_mut() {
                Some((la, ls)) if *la + *ls == a => *ls += s,
                _ => merged.push((a, s)),
            }
        }
        self.free = merged;
        if let Some(&(a, s)) = self.free.last() {
            if a + s == self.eof {
                self.free.pop();
                self.eof = a;
            }
        }
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
}

//! Bounds on what a file can make us allocate.

/// Limits applied while reading. Every size taken from a file is checked against these
/// before anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest metadata block (object header chunk, heap, B-tree node, collection) read at once.
    pub max_metadata_block: u64,
    /// Largest data buffer a single read may produce (whole dataset, selection or chunk).
    pub max_data_bytes: u64,
    /// Most object header chunks followed for one object.
    pub max_header_chunks: usize,
    /// Most B-tree / heap blocks visited while walking one structure.
    pub max_nodes: usize,
    /// Deepest group nesting followed by visits and path lookups.
    pub max_depth: usize,
    /// Most soft links followed while resolving one path.
    pub max_soft_links: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_metadata_block: 256 << 20,
            max_data_bytes: 16 << 30,
            max_header_chunks: 100_000,
            max_nodes: 10_000_000,
            max_depth: 1000,
            max_soft_links: 40,
        }
    }
}

impl Limits {
    /// Tight limits for untrusted input in tests and fuzzing.
    pub fn strict() -> Self {
        Limits {
            max_metadata_block: 16 << 20,
            max_data_bytes: 64 << 20,
            max_header_chunks: 10_000,
            max_nodes: 1_000_000,
            max_depth: 100,
            max_soft_links: 16,
        }
    }
}

impl Limits {
    /// An empty vector with room for `n` items of `T`, as a read needs for its results:
    /// refused past [`max_data_bytes`](Self::max_data_bytes) (results can be larger than the
    /// bytes they come from: a 1-byte element read as `f64` takes 8), and an error, not an
    /// abort, when the system refuses the memory.
    pub(crate) fn vec_for<T>(&self, n: usize, what: &str) -> crate::Result<Vec<T>> {
        let bytes = (n as u64).saturating_mul(std::mem::size_of::<T>() as u64);
        if bytes > self.max_data_bytes {
            return Err(crate::Error::Unsupported(format!(
                "{n} {what} need {bytes} bytes, past the limit of {} bytes \
                 (Limits::max_data_bytes): read a selection",
                self.max_data_bytes
            )));
        }
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| {
            crate::Error::Unsupported(format!(
                "cannot allocate {bytes} bytes for {n} {what} (the system refused the memory)"
            ))
        })?;
        Ok(v)
    }
}

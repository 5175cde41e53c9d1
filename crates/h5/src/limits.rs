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

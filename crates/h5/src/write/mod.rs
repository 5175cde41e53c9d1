//! Writing: the state a writable file keeps (allocator, profile) and the context every write
//! operation runs in. Structures reachable from the superblock are updated in place for now;
//! the superblock (the root of everything) is written last, at flush.

pub(crate) mod alloc;
pub(crate) mod attrs;
pub(crate) mod chunked;
mod create;
pub(crate) mod dense;
pub(crate) mod elements;
pub(crate) mod enc;
pub(crate) mod header;
pub(crate) mod links;
pub(crate) mod named;
pub(crate) mod names;
pub(crate) mod reclaim;
pub(crate) mod state;
pub(crate) mod strings;
pub(crate) mod symtab;

pub(crate) use create::create_file;
pub use state::LibVer;
pub(crate) use state::{close, flush, with, KeptHeap, OpenFile, WriteCtx};

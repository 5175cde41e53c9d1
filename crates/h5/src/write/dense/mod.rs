//! Dense storage of links and attributes (libver latest past 8 of them, h5py's `track_order`
//! objects): the messages live in a fractal heap, indexed by name hash in a version 2 B-tree
//! (type 5 for links, 8 for attributes) and, when creation order is indexed, by creation
//! order in a second one (type 6, 9).
//!
//! Edits happen in memory (h5-format's edit models) and are stored so that no index on disk
//! ever names a heap object that is not there: new heap objects first, then the indexes, and
//! only then are removed objects cleared from the heap.

mod model;
mod store;

pub(crate) use model::{Addrs, Dense, Kind};

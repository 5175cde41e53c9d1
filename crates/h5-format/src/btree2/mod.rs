//! Version 2 B-trees (spec III.A.2): the header (`BTHD`), internal nodes (`BTIN`), leaf
//! nodes (`BTLF`), the node geometry that fixes the width of every child-pointer field, and
//! the records of types 1–11.
//!
//! Everything here is sans-IO. The caller decodes the [`Header`], then walks from
//! [`Header::root_addr`]: a node at depth `d` (the root is at [`Header::depth`]) is a leaf
//! when `d == 0` ([`decode_leaf`]) and an internal node otherwise ([`decode_internal`]);
//! the number of records of the root comes from [`Header::root_nrecords`], that of any other
//! node from its parent's [`Child::nrecords`]. Every node is [`Header::node_size`] bytes on
//! disk, but only the bytes up to its checksum need to be supplied.
//!
//! Records are handed back as raw slices ([`Node::records`]) and decoded on demand with
//! [`Record::decode`] (or [`Node::record`]).
//!
//! For writing, [`TreeEdit`] holds a whole tree in memory ([`TreeEdit::new`] for an empty
//! one, [`TreeEdit::load`] for one in a file), inserts, replaces and removes records by a
//! caller-supplied comparison, and stores what changed copy-on-write into a [`Stored`](crate::writer::Stored);
//! [`Header::encode`] mirrors [`Header::decode`]. The parameters libhdf5 gives new trees are
//! [`DENSE_NODE_SIZE`] / [`CHUNK_NODE_SIZE`], [`SPLIT_PERCENT`] and [`MERGE_PERCENT`].

mod edit;
mod geometry;
mod header;
mod nodes;
mod records;
#[cfg(test)]
mod tests;

use crate::lookup3;

pub use edit::{TreeEdit, CHUNK_NODE_SIZE, DENSE_NODE_SIZE, MERGE_PERCENT, SPLIT_PERCENT};
pub use geometry::{Geometry, Level};
pub use header::{header_size, Header};
pub use nodes::{decode_internal, decode_leaf, Child, Node};
pub use records::{Record, RecordContext};

const HEADER: &str = "v2 B-tree header";
const INTERNAL: &str = "v2 B-tree internal node";
const LEAF: &str = "v2 B-tree leaf node";
const RECORD: &str = "v2 B-tree record";

/// Per-node overhead counted by the geometry: signature (4), version (1), type (1) and
/// checksum (4).
pub const NODE_PREFIX_SIZE: u32 = 10;

/// Bytes before the first record of a node: signature, version, type.
const RECORDS_START: usize = 6;

/// The deepest tree accepted. Every internal node holds at least one record, so a tree of
/// depth `d` holds at least `2^d − 1` records: 64 levels already exceed any `u64` count.
pub const MAX_DEPTH: u16 = 64;

/// The largest dataset rank HDF5 allows; bounds the scaled offsets of chunk records.
pub const MAX_RANK: usize = 32;

/// Bytes libhdf5 uses to encode values bounded by `x`: `floor(log2(x)) / 8 + 1`
/// (`log2(0)` taken as 0).
fn enc_size(x: u64) -> usize {
    let log2 = if x == 0 { 0 } else { 63 - x.leading_zeros() };
    (log2 / 8 + 1) as usize
}

/// Lookup3 hash of a link or attribute name, as stored in records of type 5 and 8.
pub fn name_hash(name: &[u8]) -> u32 {
    lookup3::hash(name, 0)
}

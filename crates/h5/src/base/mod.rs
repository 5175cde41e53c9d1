//! Bounded reads of the file's structures, with no handles and no writer state: the read
//! context, object headers (one walker, shared messages included), fractal heaps and v2 B-trees.

pub(crate) mod btree1;
mod cache;
mod context;
pub(crate) mod dense;
mod header;
mod open;

pub(crate) use btree1::{read_btree1_node, read_snod};
pub(crate) use cache::{Decoded, Kind};
pub(crate) use context::{fallible_zeros, zeroed_vec, Collection, FileInner, Overlay};
pub use header::ObjectKind;
pub(crate) use header::{
    decode_dataspace_message, decode_datatype_message, decode_message, message_body,
    resolve_dataspace, resolve_datatype, walk, ObjectHeader,
};
pub(crate) use open::open;

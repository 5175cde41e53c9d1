//! v1 B-tree nodes and the symbol table nodes (SNODs) they point to, read whole.

use super::FileInner;
use crate::error::Result;
use h5_format::btree1;
use h5_format::superblock::SymbolTableEntry;
use h5_format::{symbol_table, Reader};

/// The entries of the symbol table node at `addr`.
pub(crate) fn read_snod(f: &FileInner, addr: u64) -> Result<Vec<SymbolTableEntry>> {
    // a node of the file's leaf K is read in one go; a fuller (damaged) one again, whole
    let entry = SymbolTableEntry::size(f.sizes) as u64;
    let full = 8 + 2 * u64::from(f.superblock.group_leaf_k) * entry;
    let head = f.read_upto(addr, full.clamp(8, ONE_READ), "symbol table node")?;
    let n = match head.get(6..8) {
        Some(b) => u16::from_le_bytes([b[0], b[1]]) as u64,
        None => return Err(truncated(f, "symbol table node", addr)),
    };
    let len = 8 + n * entry;
    let buf = match head.get(..len as usize) {
        Some(b) => std::borrow::Cow::Borrowed(b),
        None => std::borrow::Cow::Owned(f.read_meta(addr, len, "symbol table node")?),
    };
    f.dec(symbol_table::decode(&buf, addr, f.sizes, n as usize))
}

/// At most this many bytes are read before a node's entry count is known.
const ONE_READ: u64 = 16 << 10;

fn truncated(f: &FileInner, structure: &'static str, addr: u64) -> crate::Error {
    h5_format::Error::new(
        structure,
        f.offset_of(addr),
        h5_format::ErrorKind::Truncated,
    )
    .into()
}

/// Read a v1 B-tree node of any type: the header first, then exactly the used entries.
pub(crate) fn read_btree1_node(f: &FileInner, addr: u64, ndims: usize) -> Result<btree1::Node> {
    let o = f.sizes.offset as u64;
    // a group node of the file's internal K is read in one go; others (chunk nodes, fuller
    // ones) again, whole
    let k = 2 * u64::from(f.superblock.group_internal_k);
    let full = 8 + 2 * o + (k + 1) * f.sizes.length as u64 + k * o;
    let head = if ndims == 0 {
        f.read_upto(addr, full.clamp(8 + 2 * o, ONE_READ), "v1 B-tree node")?
    } else {
        f.read_meta(addr, 8 + 2 * o, "v1 B-tree node")?
    };
    if head.len() < 8 + 2 * o as usize {
        return Err(truncated(f, "v1 B-tree node", addr));
    }
    let mut r = Reader::new(&head, addr, f.sizes, "v1 B-tree node");
    f.dec(r.signature(b"TREE"))?;
    let node_type = head[4];
    let entries = u16::from_le_bytes([head[6], head[7]]) as u64;
    let key = if node_type == 0 {
        f.sizes.length as u64
    } else {
        8 + 8 * ndims as u64
    };
    let len = 8 + 2 * o + (entries + 1) * key + entries * o;
    let buf = match head.get(..len as usize) {
        Some(b) => std::borrow::Cow::Borrowed(b),
        None => std::borrow::Cow::Owned(f.read_meta(addr, len, "v1 B-tree node")?),
    };
    f.dec(btree1::Node::decode(
        &buf,
        addr,
        f.sizes,
        ndims,
        entries as usize,
    ))
}

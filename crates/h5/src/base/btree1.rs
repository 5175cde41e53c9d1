//! v1 B-tree nodes and the symbol table nodes (SNODs) they point to, read whole.

use super::FileInner;
use crate::error::Result;
use h5_format::btree1;
use h5_format::superblock::SymbolTableEntry;
use h5_format::{symbol_table, Reader};

/// The entries of the symbol table node at `addr`.
pub(crate) fn read_snod(f: &FileInner, addr: u64) -> Result<Vec<SymbolTableEntry>> {
    let head = f.read_meta(addr, 8, "symbol table node")?;
    let n = u16::from_le_bytes([head[6], head[7]]) as u64;
    let len = 8 + n * h5_format::superblock::SymbolTableEntry::size(f.sizes) as u64;
    let buf = f.read_meta(addr, len, "symbol table node")?;
    f.dec(symbol_table::decode(&buf, addr, f.sizes, n as usize))
}

/// Read a v1 B-tree node of any type: the header first, then exactly the used entries.
pub(crate) fn read_btree1_node(f: &FileInner, addr: u64, ndims: usize) -> Result<btree1::Node> {
    let o = f.sizes.offset as u64;
    let head = f.read_meta(addr, 8 + 2 * o, "v1 B-tree node")?;
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
    let buf = f.read_meta(addr, len, "v1 B-tree node")?;
    f.dec(btree1::Node::decode(
        &buf,
        addr,
        f.sizes,
        ndims,
        entries as usize,
    ))
}

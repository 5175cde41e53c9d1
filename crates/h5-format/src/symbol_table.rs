//! Symbol table nodes `SNOD` (spec III.B): the leaves of an old-style group's B-tree.

use crate::error::{ErrorKind, Result};
use crate::reader::{Reader, Sizes};
use crate::superblock::SymbolTableEntry;
use alloc::vec::Vec;

/// Bytes of a node holding `2k` entries.
pub fn node_size(sizes: Sizes, leaf_k: u16) -> usize {
    8 + 2 * leaf_k as usize * SymbolTableEntry::size(sizes)
}

/// Decode a symbol table node: its used entries.
pub fn decode(
    buf: &[u8],
    addr: u64,
    sizes: Sizes,
    max_entries: usize,
) -> Result<Vec<SymbolTableEntry>> {
    let mut r = Reader::new(buf, addr, sizes, "symbol table node");
    r.signature(b"SNOD")?;
    let version = r.u8()?;
    if version != 1 {
        return Err(r.err(ErrorKind::BadVersion(version)));
    }
    r.skip(1)?;
    let n = r.u16()? as usize;
    if n > max_entries {
        return Err(r.invalid("number of symbols"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(SymbolTableEntry::decode(&mut r)?);
    }
    Ok(out)
}

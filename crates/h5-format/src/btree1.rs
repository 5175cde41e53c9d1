//! Version 1 B-tree nodes (spec III.A.1): type 0 (group names) and type 1 (chunks).

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use alloc::vec::Vec;

/// A type-1 (chunk) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkKey {
    /// Size of the chunk on disk (after filters).
    pub size: u32,
    /// Filter mask: bit i set = filter i skipped.
    pub filter_mask: u32,
    /// Chunk offset in elements, one per dataset dimension (the trailing 0 dropped).
    pub offset: Vec<u64>,
}

/// Keys of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Type 0: offsets of names in the group's local heap.
    Group(Vec<u64>),
    /// Type 1: chunk keys.
    Chunk(Vec<ChunkKey>),
}

/// A decoded v1 B-tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 0 group, 1 chunk.
    pub node_type: u8,
    /// 0 = leaf.
    pub level: u8,
    /// Left sibling.
    pub left: Addr,
    /// Right sibling.
    pub right: Addr,
    /// entries+1 keys.
    pub keys: Keys,
    /// Child addresses (SNODs or chunks at level 0, nodes above).
    pub children: Vec<u64>,
}

/// Size in bytes of a node with `2k` children (`ndims` = dataset rank + 1 for type 1).
pub fn node_size(sizes: Sizes, node_type: u8, k: u16, ndims: usize) -> usize {
    let key = match node_type {
        0 => sizes.length as usize,
        _ => 8 + 8 * ndims,
    };
    let entries = 2 * k as usize;
    8 + 2 * sizes.offset as usize + (entries + 1) * key + entries * sizes.offset as usize
}

impl Node {
    /// Decode a node. `ndims` is the chunk key dimensionality (rank + 1) for type 1 nodes;
    /// `max_entries` bounds the entry count (2K).
    pub fn decode(
        buf: &[u8],
        addr: u64,
        sizes: Sizes,
        ndims: usize,
        max_entries: usize,
    ) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, "v1 B-tree node");
        r.signature(b"TREE")?;
        let node_type = r.u8()?;
        let level = r.u8()?;
        let entries = r.u16()? as usize;
        if entries > max_entries {
            return Err(r.invalid("entries used"));
        }
        let left = r.offset()?;
        let right = r.offset()?;
        let mut children = Vec::with_capacity(entries);
        let keys = match node_type {
            0 => {
                let mut keys = Vec::with_capacity(entries + 1);
                for i in 0..=entries {
                    keys.push(r.length()?);
                    if i < entries {
                        children.push(r.defined_offset("B-tree child address")?);
                    }
                }
                Keys::Group(keys)
            }
            1 => {
                if ndims == 0 {
                    return Err(r.invalid("chunk key dimensionality"));
                }
                let mut keys = Vec::with_capacity(entries + 1);
                for i in 0..=entries {
                    let size = r.u32()?;
                    let filter_mask = r.u32()?;
                    let mut offset = Vec::with_capacity(ndims);
                    for _ in 0..ndims {
                        offset.push(r.u64()?);
                    }
                    offset.pop();
                    keys.push(ChunkKey {
                        size,
                        filter_mask,
                        offset,
                    });
                    if i < entries {
                        children.push(r.defined_offset("B-tree child address")?);
                    }
                }
                Keys::Chunk(keys)
            }
            t => {
                return Err(r.err(ErrorKind::Unsupported(alloc::format!(
                    "v1 B-tree node type {t}"
                ))))
            }
        };
        Ok(Node {
            node_type,
            level,
            left,
            right,
            keys,
            children,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_leaf() {
        let mut b = b"TREE".to_vec();
        b.extend([1, 0, 1, 0]);
        b.extend(u64::MAX.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        for (size, off, child) in [(100u32, [0u64, 0], Some(0x900u64)), (0, [4, 0], None)] {
            b.extend(size.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            for o in off {
                b.extend(o.to_le_bytes());
            }
            if let Some(c) = child {
                b.extend(c.to_le_bytes());
            }
        }
        let n = Node::decode(&b, 0, Sizes::DEFAULT, 2, 64).unwrap();
        assert_eq!(n.children, [0x900]);
        match n.keys {
            Keys::Chunk(k) => {
                assert_eq!(k[0].size, 100);
                assert_eq!(k[0].offset, [0]);
                assert_eq!(k[1].offset, [4]);
            }
            _ => panic!(),
        }
        assert!(Node::decode(&b, 0, Sizes::DEFAULT, 2, 0).is_err());
        assert_eq!(
            node_size(Sizes::DEFAULT, 0, 16, 0),
            8 + 16 + 33 * 8 + 32 * 8
        );
    }
}

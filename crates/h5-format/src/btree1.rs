//! Version 1 B-tree nodes (spec III.A.1): type 0 (group names) and type 1 (chunks).

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::Writer;
use alloc::vec::Vec;

/// A type-1 (chunk) key.
///
/// On disk a key holds rank + 1 offsets: one per dataset dimension, then one for the extra
/// dimension whose extent is the element size. That last offset is 0 in the key of every
/// chunk, but libhdf5 stores the element size there in the upper-bound key that closes the
/// right-most node of each level (size 0, mask 0, chunk offsets at or one chunk beyond the
/// last chunk's, depending on the order the chunks were written); it is kept apart in
/// [`ChunkKey::element_offset`] so that `offset` is just the chunk's position. A node's last
/// key that is not the right-most is the next node's first key, chunk size included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkKey {
    /// Size of the chunk on disk (after filters).
    pub size: u32,
    /// Filter mask: bit i set = filter i skipped.
    pub filter_mask: u32,
    /// Chunk offset in elements, one per dataset dimension.
    pub offset: Vec<u64>,
    /// The key's offset in the trailing element-size dimension: 0, except in the final key
    /// of a right-most node, where libhdf5 writes the element size.
    pub element_offset: u64,
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
    /// How many children stay in this full node (`two_k` of them) when it splits because
    /// child `idx` split, by libhdf5's rule (`H5B__split` with the default split ratios):
    /// 90 % when the node has no right sibling (sequential inserts leave full nodes), 10 %
    /// when it has no left one, else half; never all or none, so that the child at `idx`
    /// and the one it split into stay on one side.
    pub fn split_left(&self, two_k: usize, idx: usize) -> usize {
        let ratio = if self.right.is_none() {
            0.9
        } else if self.left.is_none() {
            0.1
        } else {
            0.5
        };
        let mut nleft = (two_k as f64 * ratio) as usize;
        if idx < nleft && nleft == two_k {
            nleft -= 1;
        } else if idx >= nleft && nleft == 0 {
            nleft += 1;
        }
        nleft
    }
    /// Decode a node. `ndims` is the chunk key dimensionality (rank + 1) for type 1 nodes;
    /// `max_entries` bounds the entry count (2K).
    ///
    /// # Errors
    /// `Truncated`; `BadSignature` (not `TREE`); `Invalid` when the entry count exceeds
    /// `max_entries`, a child address is undefined, or `ndims` is 0 for a chunk node; `Unsupported`
    /// for a node type other than 0 and 1.
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
                    let element_offset = offset.pop().unwrap_or(0);
                    keys.push(ChunkKey {
                        size,
                        filter_mask,
                        offset,
                        element_offset,
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

    /// Key dimensionality of a type-1 node (rank + 1; 0 for group nodes or a node without
    /// keys).
    pub fn ndims(&self) -> usize {
        match &self.keys {
            Keys::Group(_) => 0,
            Keys::Chunk(k) => k.first().map_or(0, |k| k.offset.len() + 1),
        }
    }

    /// Encode the node as libhdf5 allocates it: [`node_size`] bytes for 2`k` children
    /// (group nodes: the group internal K, 16 by default; chunk nodes: the indexed-storage
    /// K, 32 by default), the used keys and children interleaved and the rest zero. Group
    /// keys are lengths (heap offsets); chunk keys are the size (u32), the filter mask (u32)
    /// and rank + 1 u64 offsets, the last being [`ChunkKey::element_offset`].
    /// `decode(encode(x)) == x`.
    ///
    /// # Panics
    ///
    /// If the node breaks the invariants every v1 B-tree node keeps: `keys` one longer than
    /// `children`, at most 2`k` children, chunk keys of one dimensionality, keys of the kind
    /// `node_type` names.
    pub fn encode(&self, sizes: Sizes, k: u16) -> Vec<u8> {
        let n = self.children.len();
        let (nkeys, group) = match &self.keys {
            Keys::Group(keys) => (keys.len(), true),
            Keys::Chunk(keys) => (keys.len(), false),
        };
        assert!(
            nkeys == n + 1 && n <= 2 * k as usize && group == (self.node_type == 0),
            "v1 B-tree node to encode: {nkeys} keys, {n} children, K {k}, type {}",
            self.node_type
        );
        let ndims = self.ndims();
        let mut w = Writer::new(sizes);
        w.bytes(b"TREE")
            .u8(self.node_type)
            .u8(self.level)
            .u16(n as u16)
            .offset(self.left)
            .offset(self.right);
        for i in 0..=n {
            match &self.keys {
                Keys::Group(keys) => {
                    w.length(keys[i]);
                }
                Keys::Chunk(keys) => {
                    let key = &keys[i];
                    assert_eq!(key.offset.len() + 1, ndims, "chunk key dimensionality");
                    w.u32(key.size).u32(key.filter_mask);
                    for &o in &key.offset {
                        w.u64(o);
                    }
                    w.u64(key.element_offset);
                }
            }
            if i < n {
                w.offset(Some(self.children[i]));
            }
        }
        let total = node_size(sizes, self.node_type, k, ndims);
        w.zeros(total - w.len());
        w.finish()
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

    use crate::chunk_array::test_util::hex;

    fn key(size: u32, offset: &[u64], element_offset: u64) -> ChunkKey {
        ChunkKey {
            size,
            filter_mask: 0,
            offset: offset.to_vec(),
            element_offset,
        }
    }

    #[test]
    fn round_trips() {
        for sizes in [
            Sizes::DEFAULT,
            Sizes {
                offset: 4,
                length: 2,
            },
        ] {
            let group = Node {
                node_type: 0,
                level: 1,
                left: None,
                right: Some(0x4000),
                keys: Keys::Group(alloc::vec![0, 8, 24]),
                children: alloc::vec![0x100, 0x200],
            };
            let b = group.encode(sizes, 16);
            assert_eq!(b.len(), node_size(sizes, 0, 16, 0));
            assert_eq!(Node::decode(&b, 0x88, sizes, 0, 32).unwrap(), group);
            let chunk = Node {
                node_type: 1,
                level: 0,
                left: Some(0x10),
                right: None,
                keys: Keys::Chunk(alloc::vec![
                    ChunkKey {
                        size: 100,
                        filter_mask: 2,
                        offset: alloc::vec![0, 0],
                        element_offset: 0,
                    },
                    key(90, &[0, 5], 0),
                    key(0, &[4, 10], 8),
                ]),
                children: alloc::vec![0x900, 0xa00],
            };
            assert_eq!(chunk.ndims(), 3);
            let b = chunk.encode(sizes, 32);
            assert_eq!(b.len(), node_size(sizes, 1, 32, 3));
            assert_eq!(Node::decode(&b, 0, sizes, 3, 64).unwrap(), chunk);
            // an empty node (a new group) is one key and zeros
            let empty = Node {
                node_type: 0,
                level: 0,
                left: None,
                right: None,
                keys: Keys::Group(alloc::vec![0]),
                children: Vec::new(),
            };
            assert_eq!(
                Node::decode(&empty.encode(sizes, 16), 0, sizes, 0, 32).unwrap(),
                empty
            );
        }
    }

    #[test]
    #[should_panic]
    fn keys_must_outnumber_children() {
        let bad = Node {
            node_type: 0,
            level: 0,
            left: None,
            right: None,
            keys: Keys::Group(alloc::vec![0]),
            children: alloc::vec![0x100],
        };
        bad.encode(Sizes::DEFAULT, 16);
    }

    const GROUPS_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/groups_earliest.h5");
    const CHUNKIDX_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/chunkidx_earliest.h5");
    const FILL_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/fill_earliest.h5");

    /// Decode the node at `addr`, re-encode it and compare with the file's `node_size` bytes
    /// (libhdf5 zero-fills the unused part of a node).
    fn reencode(file: &[u8], addr: usize, ndims: usize, k: u16) -> Node {
        let sizes = Sizes::DEFAULT;
        let node = Node::decode(&file[addr..], addr as u64, sizes, ndims, 2 * k as usize).unwrap();
        let len = node_size(sizes, node.node_type, k, ndims);
        assert!(
            node.encode(sizes, k) == file[addr..addr + len],
            "node at {addr:#x}"
        );
        node
    }

    #[test]
    fn group_nodes_match_libhdf5_bytes() {
        // /wide: a 2-level tree (300 links); the root and a leaf with both siblings
        let root = reencode(GROUPS_EARLIEST, 0x37d8, 0, 16);
        assert_eq!((root.level, root.children.len()), (1, 4));
        let leaf = reencode(GROUPS_EARLIEST, 0xb870, 0, 16);
        assert_eq!((leaf.left, leaf.right), (None, Some(0x7e08)));
        for &a in &root.children {
            reencode(GROUPS_EARLIEST, a as usize, 0, 16);
        }
        // /dense (3 SNODs) and an empty group's node
        assert_eq!(reencode(GROUPS_EARLIEST, 0xf218, 0, 16).children.len(), 3);
        assert_eq!(
            reencode(GROUPS_EARLIEST, 0x2f80, 0, 16).keys,
            Keys::Group(alloc::vec![0])
        );
    }

    #[test]
    fn chunk_nodes_match_libhdf5_bytes() {
        // a level-1 node over 6 leaves; its last key is [20, 3] with element size 1
        let top = reencode(CHUNKIDX_EARLIEST, 0xcd90, 3, 32);
        let Keys::Chunk(keys) = &top.keys else {
            panic!("chunk node")
        };
        assert_eq!(keys.last().unwrap(), &key(0, &[20, 3], 1));
        for &leaf in &top.children {
            reencode(CHUNKIDX_EARLIEST, leaf as usize, 3, 32);
        }
        // a leaf in the middle: its last key is the next leaf's first, chunk size included
        let mid = reencode(CHUNKIDX_EARLIEST, 0xd7c8, 3, 32);
        let Keys::Chunk(keys) = &mid.keys else {
            panic!("chunk node")
        };
        assert_eq!(keys.last().unwrap(), &key(1, &[7, 9], 0));
        // one-leaf trees: [2, 3, 4]-element chunks of i4; 5x5 chunks of i2
        reencode(CHUNKIDX_EARLIEST, 0xb5b8, 3, 32);
        reencode(FILL_EARLIEST, 0x2180, 3, 32);
    }

    #[test]
    fn nodes_with_4_byte_sizes_match_libhdf5_bytes() {
        // Written by libhdf5 1.10.8 with H5Pset_sizes(4, 4): the group B-tree of a group
        // with 10 subgroups (two SNODs) and the chunk B-tree of a 10x7 i4 dataset in 4x3
        // chunks; only the used part is shown, the rest of each node is zeros in the file.
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let group = hex("5452454500000200ffffffffffffffff000000003c06000028000000dc14000040000000");
        let chunk = hex(
            "5452454501000900ffffffffffffffff30000000000000000000000000000000000000000000000000000000
             00000000d43200003000000000000000000000000000000003000000000000000000000000000000043300
             003000000000000000000000000000000006000000000000000000000000000000343300003000000000000000
             040000000000000000000000000000000000000000000000643300003000000000000000040000000000000003
             000000000000000000000000000000943300003000000000000000040000000000000006000000000000000000
             000000000000c43300003000000000000000080000000000000000000000000000000000000000000000f43300
             003000000000000000080000000000000003000000000000000000000000000000243400003000000000000000
             080000000000000006000000000000000000000000000000543400000000000000000000080000000000000009
             000000000000000400000000000000",
        );
        for (used, ndims, k) in [(group, 0, 16u16), (chunk, 3, 32)] {
            let mut full = used.clone();
            let node = Node::decode(&full, 0, sizes, ndims, 2 * k as usize).unwrap();
            full.resize(node_size(sizes, node.node_type, k, ndims), 0);
            assert_eq!(node.encode(sizes, k), full);
        }
    }
}

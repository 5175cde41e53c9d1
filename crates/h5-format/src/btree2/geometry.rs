//! The node geometry of a v2 B-tree: the capacity of each level and the width of every
//! record-count field, as libhdf5 computes them.

use alloc::vec::Vec;

use super::{enc_size, MAX_DEPTH, NODE_PREFIX_SIZE};

/// Capacity of the nodes at one level of the tree (0 = leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Most records a node at this level holds.
    pub max_nrec: u64,
    /// Most records a node at this level and all its descendants hold (saturating at
    /// `u64::MAX`).
    pub cum_max_nrec: u64,
    /// Bytes of the "total number of records" field of a pointer to a node at this level
    /// (0 for leaves, whose pointers have no such field).
    pub cum_max_nrec_size: usize,
}

/// The node geometry of a v2 B-tree, computed from the node size, record size, depth and
/// size of offsets exactly as libhdf5 does.
///
/// Leaves hold `(node_size − 10) / record_size` records. A pointer from a node at level
/// `u ≥ 1` to a child takes `O + max_nrec_size` bytes, plus the child's
/// `cum_max_nrec_size` when `u > 1`, where `max_nrec_size` is the encoded width of the
/// *leaf* capacity (used at every level). An internal node at level `u` holds
/// `(node_size − 10 − pointer) / (record_size + pointer)` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Size of offsets the geometry was computed with.
    pub offset_size: usize,
    /// Bytes of every "number of records in child node" field.
    pub max_nrec_size: usize,
    /// Levels `0..=depth`.
    pub levels: Vec<Level>,
}

impl Geometry {
    /// Compute the geometry of a tree with the given parameters; `None` when a node of
    /// some level `0..=depth` cannot hold a single record, or `depth > MAX_DEPTH`.
    pub fn compute(
        node_size: u32,
        record_size: u16,
        depth: u16,
        offset_size: u8,
    ) -> Option<Geometry> {
        if record_size == 0 || depth > MAX_DEPTH {
            return None;
        }
        let node = u64::from(node_size);
        let rec = u64::from(record_size);
        let prefix = u64::from(NODE_PREFIX_SIZE);
        let leaf = node.checked_sub(prefix)? / rec;
        if leaf == 0 {
            return None;
        }
        let max_nrec_size = enc_size(leaf);
        let mut levels = Vec::with_capacity(usize::from(depth) + 1);
        levels.push(Level {
            max_nrec: leaf,
            cum_max_nrec: leaf,
            cum_max_nrec_size: 0,
        });
        for u in 1..=usize::from(depth) {
            let below = levels[u - 1];
            let below_total = if u > 1 { below.cum_max_nrec_size } else { 0 };
            let pointer = (usize::from(offset_size) + max_nrec_size + below_total) as u64;
            let max_nrec = node.checked_sub(prefix + pointer)? / (rec + pointer);
            if max_nrec == 0 {
                return None;
            }
            let cum_max_nrec = (max_nrec + 1)
                .saturating_mul(below.cum_max_nrec)
                .saturating_add(max_nrec);
            levels.push(Level {
                max_nrec,
                cum_max_nrec,
                cum_max_nrec_size: enc_size(cum_max_nrec),
            });
        }
        Some(Geometry {
            offset_size: usize::from(offset_size),
            max_nrec_size,
            levels,
        })
    }

    /// The capacity of level `level`, if the tree has it.
    pub fn level(&self, level: u16) -> Option<&Level> {
        self.levels.get(usize::from(level))
    }

    /// Bytes of one child pointer in an internal node at level `level ≥ 1`: address,
    /// number of records, and (above level 1) total records below. `None` for level 0 or a
    /// level the tree does not have.
    pub fn pointer_size(&self, level: u16) -> Option<usize> {
        let level = usize::from(level);
        if level == 0 || level >= self.levels.len() {
            return None;
        }
        let total = if level > 1 {
            self.levels[level - 1].cum_max_nrec_size
        } else {
            0
        };
        Some(self.offset_size + self.max_nrec_size + total)
    }
}

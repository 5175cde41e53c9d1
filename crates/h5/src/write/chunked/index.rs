//! One interface over every chunk index the writer keeps: the version 1 B-tree (default
//! profile) and the layout v4 indexes (libver latest): single chunk and implicit so far.
//! Chunks are named by their element offsets (the chunk's first element).

use super::btree1::Tree;
use super::{Loc, Meta};
use crate::error::{Error, Result};
use crate::file::FileInner;
use crate::write::WriteCtx;
use h5_format::message::layout::{ChunkIndex, Chunked};

/// A dataset's chunk index, open for changes.
pub(super) enum Index {
    BTree1(Tree),
    /// The one chunk of a dataset whose chunk is its whole (fixed) shape.
    Single {
        chunk: Option<Loc>,
        filtered: bool,
    },
    /// Chunks allocated together at creation, in row-major order (libhdf5's early allocation
    /// without filters): written in place.
    Implicit {
        base: Option<u64>,
        chunk_bytes: u64,
        /// Chunks per dimension (of the maximum shape).
        grid: Vec<u64>,
    },
}

impl Index {
    pub(super) fn open(cx: &WriteCtx<'_>, m: &Meta) -> Result<Index> {
        Ok(match &m.chunk.index {
            ChunkIndex::BTreeV1 => Index::BTree1(Tree::new(cx, m)),
            ChunkIndex::Single { filtered } => Index::Single {
                chunk: m.chunk.addr.map(|addr| Loc {
                    addr,
                    size: filtered.map_or(m.chunk_bytes as u32, |(s, _)| s as u32),
                    mask: filtered.map_or(0, |(_, k)| k),
                }),
                filtered: !m.filters.is_empty(),
            },
            ChunkIndex::Implicit => Index::Implicit {
                base: m.chunk.addr,
                chunk_bytes: m.chunk_bytes as u64,
                grid: m
                    .max_dims
                    .iter()
                    .zip(&m.dims)
                    .zip(&m.chunk.dims)
                    .map(|((&mx, &d), &c)| if mx == u64::MAX { d } else { mx }.div_ceil(c))
                    .collect(),
            },
            other => {
                return Err(Error::Unsupported(format!(
                    "writing chunks indexed by {other:?} (next increment)"
                )))
            }
        })
    }

    /// Where the chunk at element offsets `off` is stored, if it is.
    pub(super) fn lookup(&mut self, f: &FileInner, m: &Meta, off: &[u64]) -> Result<Option<Loc>> {
        match self {
            Index::BTree1(t) => t.lookup(f, off),
            Index::Single { chunk, .. } => Ok(*chunk),
            Index::Implicit {
                base,
                chunk_bytes,
                grid,
            } => Ok(base.map(|b| Loc {
                addr: b + linear(m, grid, off) * *chunk_bytes,
                size: *chunk_bytes as u32,
                mask: 0,
            })),
        }
    }

    /// Record (insert or update) the chunk at `off`.
    pub(super) fn upsert(
        &mut self,
        cx: &mut WriteCtx<'_>,
        m: &Meta,
        off: &[u64],
        loc: Loc,
    ) -> Result<()> {
        match self {
            Index::BTree1(t) => t.upsert(cx, off, loc),
            Index::Single { chunk, .. } => {
                *chunk = Some(loc);
                Ok(())
            }
            Index::Implicit {
                base,
                chunk_bytes,
                grid,
            } => {
                let want = base.map(|b| b + linear(m, grid, off) * *chunk_bytes);
                if want != Some(loc.addr) {
                    return Err(Error::Unsupported(
                        "moving a chunk of an implicitly indexed dataset".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Every stored chunk: (element offsets, where).
    pub(super) fn all(&mut self, f: &FileInner, m: &Meta) -> Result<Vec<(Vec<u64>, Loc)>> {
        match self {
            Index::BTree1(t) => t.all(f),
            Index::Single { chunk, .. } => {
                Ok(chunk.iter().map(|l| (vec![0; m.rank()], *l)).collect())
            }
            Index::Implicit { base: None, .. } => Ok(Vec::new()),
            Index::Implicit { grid, .. } => {
                let grid = grid.clone();
                let mut out = Vec::new();
                let lists: Vec<Vec<u64>> = grid.iter().map(|&n| (0..n).collect()).collect();
                let mut offs = Vec::new();
                crate::chunks::grid_product(&lists, |scaled| offs.push(m.origin(&scaled)));
                for off in offs {
                    if let Some(l) = self.lookup(f, m, &off)? {
                        out.push((off, l));
                    }
                }
                Ok(out)
            }
        }
    }

    /// Drop the chunks `keep` rejects (by element offsets); returns them, to free.
    pub(super) fn retain(
        &mut self,
        f: &FileInner,
        m: &Meta,
        keep: &dyn Fn(&[u64]) -> bool,
    ) -> Result<Vec<Loc>> {
        match self {
            Index::BTree1(t) => t.retain(f, keep),
            Index::Single { chunk, .. } => {
                if chunk.is_some() && !keep(&vec![0; m.rank()]) {
                    Ok(chunk.take().into_iter().collect())
                } else {
                    Ok(Vec::new())
                }
            }
            // Allocated once for the maximum shape: nothing is dropped.
            Index::Implicit { .. } => Ok(Vec::new()),
        }
    }

    /// Write what changed so far (the B-tree's nodes), so memory stays bounded.
    pub(super) fn checkpoint(&mut self, cx: &mut WriteCtx<'_>) -> Result<()> {
        match self {
            Index::BTree1(t) => t.checkpoint(cx),
            _ => Ok(()),
        }
    }

    /// Store the index; returns the chunked layout when the layout message must change (a
    /// new root, a single chunk's new place).
    pub(super) fn finish(self, cx: &mut WriteCtx<'_>, m: &Meta) -> Result<Option<Chunked>> {
        match self {
            Index::BTree1(mut t) => {
                t.store(cx)?;
                t.release(cx);
                Ok((t.root != m.chunk.addr).then(|| Chunked {
                    addr: t.root,
                    ..m.chunk.clone()
                }))
            }
            Index::Single { chunk, filtered } => {
                let c = Chunked {
                    addr: chunk.map(|l| l.addr),
                    // a filtered single chunk keeps its size and mask in the layout (0, 0
                    // before it is written)
                    index: ChunkIndex::Single {
                        filtered: filtered
                            .then(|| chunk.map_or((0, 0), |l| (l.size as u64, l.mask))),
                    },
                    ..m.chunk.clone()
                };
                Ok((c != m.chunk).then_some(c))
            }
            Index::Implicit { .. } => Ok(None),
        }
    }
}

/// Row-major position of the chunk at element offsets `off` in a grid.
fn linear(m: &Meta, grid: &[u64], off: &[u64]) -> u64 {
    off.iter()
        .zip(&m.chunk.dims)
        .zip(grid)
        .fold(0, |a, ((&o, &c), &n)| a * n + o / c)
}

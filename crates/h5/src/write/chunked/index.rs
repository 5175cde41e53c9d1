//! One interface over every chunk index the writer keeps: the version 1 B-tree (default
//! profile) and the layout v4/v5 indexes (libver latest): single chunk, implicit, fixed array,
//! extensible array and version 2 B-tree. Chunks are named by their element offsets (the
//! chunk's first element). The array and v2 B-tree indexes are edited in memory
//! (h5-format's edit models) and stored copy-on-write by [`Index::finish`].

use super::btree1::Tree;
use super::meta::{Loc, Meta};
use crate::base::FileInner;
use crate::error::{Error, Result};
use crate::read::chunks::{linearize, max_grid, swizzled_index, unlinearize, unswizzle};
use crate::write::WriteCtx;
use h5_format::btree2::{self, TreeEdit};
use h5_format::extensible_array as ea;
use h5_format::fixed_array::{self as fa, ChunkElement};
use h5_format::message::layout::{ChunkIndex, Chunked};
use std::cmp::Ordering;

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
    /// One element per chunk of the maximum shape, row-major.
    Fixed {
        array: fa::FixedArrayEdit,
        grid: Vec<u64>,
    },
    /// One element per chunk, the unlimited dimension varying slowest (`unlim` moved first).
    Extensible {
        array: ea::ExtensibleArrayEdit,
        grid: Vec<u64>,
        unlim: usize,
    },
    /// Records (address, [size, mask,] scaled offsets) sorted by scaled offsets.
    BTree2 {
        tree: TreeEdit,
        csl: usize,
    },
}

/// Width of the chunk-size field in filtered chunk records of this dataset.
fn chunk_size_len(cx: &WriteCtx<'_>, m: &Meta) -> u8 {
    fa::filtered_chunk_size_len(m.layout_version, cx.f.sizes, m.chunk_bytes as u64)
}

fn element(loc: Option<Loc>, filtered: bool) -> ChunkElement {
    match loc {
        None => ChunkElement::undefined(filtered),
        Some(l) => ChunkElement {
            addr: Some(l.addr),
            size: filtered.then_some(l.size as u64),
            filter_mask: l.mask,
        },
    }
}

fn loc_of(e: &ChunkElement, m: &Meta) -> Option<Loc> {
    e.addr.map(|addr| Loc {
        addr,
        size: e.size.unwrap_or(m.chunk_bytes as u64) as u32,
        mask: e.filter_mask,
    })
}

impl Index {
    fn scaled(m: &Meta, off: &[u64]) -> Vec<u64> {
        off.iter()
            .zip(&m.chunk.dims)
            .map(|(&o, &c)| o / c)
            .collect()
    }

    /// v2 B-tree chunk record: address, [chunk size, filter mask,] scaled offsets.
    fn record(&self, m: &Meta, scaled: &[u64], loc: Loc, sizes: h5_format::Sizes) -> Vec<u8> {
        let Index::BTree2 { csl, .. } = self else {
            unreachable!("v2 B-tree only")
        };
        let mut w = h5_format::Writer::new(sizes);
        w.offset(Some(loc.addr));
        if !m.filters.is_empty() {
            w.uint(loc.size as u64, *csl).u32(loc.mask);
        }
        for &s in scaled {
            w.u64(s);
        }
        w.finish()
    }
}

/// Decode a v2 B-tree chunk record (as [`Index::record`] wrote it).
fn decode_record(rec: &[u8], m: &Meta, csl: usize, sizes: h5_format::Sizes) -> (Vec<u64>, Loc) {
    let o = sizes.offset as usize;
    let le = h5_format::reader::le_uint;
    let addr = le(&rec[..o]);
    let (size, mask, rest) = if m.filters.is_empty() {
        (m.chunk_bytes as u32, 0, &rec[o..])
    } else {
        (
            le(&rec[o..o + csl]) as u32,
            le(&rec[o + csl..o + csl + 4]) as u32,
            &rec[o + csl + 4..],
        )
    };
    let scaled: Vec<u64> = rest.chunks_exact(8).map(le).collect();
    (scaled, Loc { addr, size, mask })
}

/// Compare a record's scaled offsets with `key`.
fn cmp_scaled(rec: &[u8], key: &[u64], m: &Meta, csl: usize, sizes: h5_format::Sizes) -> Ordering {
    decode_record(rec, m, csl, sizes).0.as_slice().cmp(key)
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
                grid: max_grid(&m.max_dims, &m.dims, &m.chunk.dims),
            },
            ChunkIndex::FixedArray { page_bits } => {
                let grid = max_grid(&m.max_dims, &m.dims, &m.chunk.dims);
                let array = match m.chunk.addr {
                    Some(a) => {
                        let mut read = cx.meta_reader("fixed array");
                        fa::FixedArrayEdit::load(a, cx.f.sizes, &mut read)?
                    }
                    None => {
                        let nelmts = grid.iter().product();
                        let mut p = fa::FixedArrayParams::default_for(
                            !m.filters.is_empty(),
                            chunk_size_len(cx, m),
                            nelmts,
                        );
                        p.max_dblk_page_nelmts_bits = *page_bits;
                        fa::FixedArrayEdit::new(p, cx.f.sizes)?
                    }
                };
                Index::Fixed { array, grid }
            }
            ChunkIndex::ExtensibleArray {
                max_bits,
                index_elements,
                min_pointers,
                min_elements,
                page_bits,
            } => {
                let unlim = m
                    .max_dims
                    .iter()
                    .position(|&x| x == u64::MAX)
                    .ok_or_else(|| {
                        Error::Unsupported(
                            "an extensible array index without an unlimited dimension".into(),
                        )
                    })?;
                let array = match m.chunk.addr {
                    Some(a) => {
                        let mut read = cx.meta_reader("extensible array");
                        ea::ExtensibleArrayEdit::load(a, cx.f.sizes, &mut read)?
                    }
                    None => {
                        let mut p = ea::ExtensibleArrayParams::default_for(
                            !m.filters.is_empty(),
                            chunk_size_len(cx, m),
                        );
                        p.max_nelmts_bits = *max_bits;
                        p.index_blk_elmts = *index_elements;
                        p.sup_blk_min_data_ptrs = *min_pointers;
                        p.data_blk_min_elmts = *min_elements;
                        p.max_dblk_page_nelmts_bits = *page_bits;
                        ea::ExtensibleArrayEdit::new(p, cx.f.sizes)?
                    }
                };
                Index::Extensible {
                    array,
                    grid: max_grid(&m.max_dims, &m.dims, &m.chunk.dims),
                    unlim,
                }
            }
            ChunkIndex::BTreeV2 {
                node_size,
                split,
                merge,
            } => {
                let tree = match m.chunk.addr {
                    Some(a) => {
                        let mut read = cx.meta_reader("v2 B-tree");
                        TreeEdit::load(a, cx.f.sizes, cx.f.limits.max_nodes, &mut read)?
                    }
                    None => {
                        let filtered = !m.filters.is_empty();
                        let csl = if filtered {
                            chunk_size_len(cx, m) as usize + 4
                        } else {
                            0
                        };
                        let size = cx.f.sizes.offset as usize + csl + 8 * m.rank();
                        TreeEdit::new(
                            if filtered { 11 } else { 10 },
                            size as u16,
                            *node_size,
                            *split,
                            *merge,
                            cx.f.sizes,
                        )?
                    }
                };
                let fixed = cx.f.sizes.offset as usize + 8 * m.rank();
                let csl = if m.filters.is_empty() {
                    0
                } else {
                    tree.record_size().saturating_sub(fixed + 4)
                };
                if tree.record_size() != fixed + if m.filters.is_empty() { 0 } else { csl + 4 }
                    || csl > 8
                {
                    return Err(h5_format::Error::invalid(
                        "v2 B-tree",
                        cx.f.offset_of(m.chunk.addr.unwrap_or(0)),
                        "record size for a chunk index",
                    )
                    .into());
                }
                let _ = btree2::CHUNK_NODE_SIZE;
                Index::BTree2 { tree, csl }
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
                addr: b.saturating_add(
                    linearize(&Self::scaled(m, off), grid).saturating_mul(*chunk_bytes),
                ),
                size: *chunk_bytes as u32,
                mask: 0,
            })),
            Index::Fixed { array, grid } => {
                let i = linearize(&Self::scaled(m, off), grid);
                Ok(array.get(i).and_then(|e| loc_of(e, m)))
            }
            Index::Extensible { array, grid, unlim } => {
                let i = swizzled_index(&Self::scaled(m, off), grid, *unlim);
                Ok(array.get(i).and_then(|e| loc_of(e, m)))
            }
            Index::BTree2 { tree, csl } => {
                let key = Self::scaled(m, off);
                let sizes = f.sizes;
                let csl = *csl;
                let rec = tree.find::<Error>(&mut |r| Ok(cmp_scaled(r, &key, m, csl, sizes)))?;
                Ok(rec.map(|r| decode_record(r, m, csl, sizes).1))
            }
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
                let want = base.map(|b| {
                    b.saturating_add(
                        linearize(&Self::scaled(m, off), grid).saturating_mul(*chunk_bytes),
                    )
                });
                if want != Some(loc.addr) {
                    return Err(Error::Unsupported(
                        "moving a chunk of an implicitly indexed dataset".into(),
                    ));
                }
                Ok(())
            }
            Index::Fixed { array, grid } => {
                let i = linearize(&Self::scaled(m, off), grid);
                array.set(i, element(Some(loc), !m.filters.is_empty()))?;
                Ok(())
            }
            Index::Extensible { array, grid, unlim } => {
                let i = swizzled_index(&Self::scaled(m, off), grid, *unlim);
                array.set(i, element(Some(loc), !m.filters.is_empty()))?;
                Ok(())
            }
            Index::BTree2 { .. } => {
                let key = Self::scaled(m, off);
                let sizes = cx.f.sizes;
                let rec = self.record(m, &key, loc, sizes);
                let Index::BTree2 { tree, csl } = self else {
                    unreachable!()
                };
                let csl = *csl;
                let mut cmp =
                    |r: &[u8]| -> Result<Ordering> { Ok(cmp_scaled(r, &key, m, csl, sizes)) };
                if !tree.replace(&rec, &mut cmp)? {
                    tree.insert(&rec, &mut cmp)?;
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
                crate::read::chunks::grid_product(&lists, |scaled| offs.push(m.origin(&scaled)));
                for off in offs {
                    if let Some(l) = self.lookup(f, m, &off)? {
                        out.push((off, l));
                    }
                }
                Ok(out)
            }
            Index::Fixed { array, grid } => Ok(array
                .iter()
                .filter_map(|(i, e)| Some((m.origin(&unlinearize(i, grid)), loc_of(e, m)?)))
                .collect()),
            Index::Extensible { array, grid, unlim } => Ok(array
                .iter()
                .filter_map(|(i, e)| Some((m.origin(&unswizzle(i, grid, *unlim)), loc_of(e, m)?)))
                .collect()),
            Index::BTree2 { tree, csl } => Ok(tree
                .records()
                .into_iter()
                .map(|r| {
                    let (scaled, loc) = decode_record(r, m, *csl, f.sizes);
                    (m.origin(&scaled), loc)
                })
                .collect()),
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
            Index::Fixed { .. } | Index::Extensible { .. } => {
                let gone: Vec<(Vec<u64>, Loc)> = self
                    .all(f, m)?
                    .into_iter()
                    .filter(|(off, _)| !keep(off))
                    .collect();
                for (off, _) in &gone {
                    let s = Self::scaled(m, off);
                    match self {
                        Index::Fixed { array, grid } => array.clear(linearize(&s, grid))?,
                        Index::Extensible { array, grid, unlim } => {
                            array.clear(swizzled_index(&s, grid, *unlim))?
                        }
                        _ => unreachable!(),
                    }
                }
                Ok(gone.into_iter().map(|(_, l)| l).collect())
            }
            Index::BTree2 { tree, csl } => {
                let csl = *csl;
                let sizes = f.sizes;
                let removed = tree.retain(&mut |r| {
                    let (scaled, _) = decode_record(r, m, csl, sizes);
                    keep(&m.origin(&scaled))
                });
                Ok(removed
                    .iter()
                    .map(|r| decode_record(r, m, csl, sizes).1)
                    .collect())
            }
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
    /// new root, a single chunk's new place), and a v1 B-tree as stored (to keep for the
    /// dataset's next write).
    pub(super) fn finish(
        self,
        cx: &mut WriteCtx<'_>,
        m: &Meta,
    ) -> Result<(Option<Chunked>, Option<Tree>)> {
        let layout = match self {
            Index::BTree1(mut t) => {
                t.store(cx)?;
                t.release(cx);
                let layout = (t.root != m.chunk.addr).then(|| Chunked {
                    addr: t.root,
                    ..m.chunk.clone()
                });
                return Ok((layout, Some(t)));
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
                (c != m.chunk).then_some(c)
            }
            Index::Implicit { .. } => None,
            Index::Fixed { mut array, .. } => {
                let addr = cx.store_edit(|alloc| array.store(alloc))?;
                Self::moved(m, addr)
            }
            Index::Extensible { mut array, .. } => {
                let addr = cx.store_edit(|alloc| array.store(alloc))?;
                Self::moved(m, addr)
            }
            Index::BTree2 { mut tree, .. } => {
                let at = m.chunk.addr;
                let addr = cx.store_edit(|alloc| tree.store(at, alloc))?;
                Self::moved(m, addr)
            }
        };
        Ok((layout, None))
    }

    /// The file space of the index structure itself (not the chunks), to free with the
    /// dataset.
    pub(super) fn extents(self, f: &FileInner) -> Result<Vec<(u64, u64)>> {
        let mut v = match self {
            Index::BTree1(mut t) => t.extents(f)?,
            Index::Single { .. } => Vec::new(),
            Index::Implicit {
                base,
                chunk_bytes,
                grid,
            } => base
                .map(|b| (b, chunk_bytes * grid.iter().product::<u64>()))
                .into_iter()
                .collect(),
            Index::Fixed { array, .. } => array.extents(),
            Index::Extensible { array, .. } => array.extents(),
            Index::BTree2 { tree, .. } => tree.delete(),
        };
        v.retain(|&(_, n)| n > 0);
        Ok(v)
    }

    /// The layout naming an index header at `addr`, when that is new.
    fn moved(m: &Meta, addr: u64) -> Option<Chunked> {
        (m.chunk.addr != Some(addr)).then(|| Chunked {
            addr: Some(addr),
            ..m.chunk.clone()
        })
    }
}

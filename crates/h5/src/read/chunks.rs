//! Chunk indexes: every index type, walked into a map from chunk grid coordinates to where
//! the chunk's bytes are.

use crate::base::read_btree1_node;
use crate::base::FileInner;
use crate::error::Result;
use h5_format::btree1::Keys;
use h5_format::extensible_array as ea;
use h5_format::fixed_array as fa;
use h5_format::message::layout::{ChunkIndex, Chunked};
use h5_format::{Error as FmtError, ErrorKind};
use std::collections::{HashMap, HashSet};

/// Where one chunk lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkLoc {
    pub(crate) addr: u64,
    /// Bytes on disk (after filters).
    pub(crate) size: u64,
    /// Filter mask (bit i: filter i skipped).
    pub(crate) mask: u32,
}

/// Chunk grid coordinates → location.
pub(crate) type ChunkMap = HashMap<Vec<u64>, ChunkLoc>;

/// Geometry a chunk index walk needs.
pub(crate) struct Geometry<'a> {
    pub(crate) chunked: &'a Chunked,
    pub(crate) dims: &'a [u64],
    pub(crate) max_dims: &'a [u64],
    /// Bytes of one unfiltered chunk.
    pub(crate) chunk_bytes: u64,
    pub(crate) filtered: bool,
}

impl Geometry<'_> {
    fn rank(&self) -> usize {
        self.dims.len()
    }
    /// Chunks per dimension over the current shape.
    pub(crate) fn grid(&self) -> Vec<u64> {
        self.dims
            .iter()
            .zip(&self.chunked.dims)
            .map(|(&d, &c)| d.div_ceil(c))
            .collect()
    }
    /// Chunks per dimension over the maximum shape (finite dimensions only matter).
    fn max_grid(&self) -> Vec<u64> {
        max_grid(self.max_dims, self.dims, &self.chunked.dims)
    }
}

/// Chunks per dimension over the maximum shape (`u64::MAX` = unlimited: over the current
/// shape): the grid fixed and extensible array indexes number chunks in.
pub(crate) fn max_grid(max_dims: &[u64], dims: &[u64], chunk: &[u64]) -> Vec<u64> {
    max_dims
        .iter()
        .zip(dims)
        .zip(chunk)
        .map(|((&m, &d), &c)| if m == u64::MAX { d } else { m }.div_ceil(c))
        .collect()
}

/// An extensible array's element index of the chunk at grid coordinates `scaled`: row-major
/// with the unlimited dimension `unlim` moved first ("swizzled").
pub(crate) fn swizzled_index(scaled: &[u64], grid: &[u64], unlim: usize) -> u64 {
    let (mut s, mut g) = (scaled.to_vec(), grid.to_vec());
    s[..=unlim].rotate_right(1);
    g[..=unlim].rotate_right(1);
    linearize(&s, &g)
}

/// The grid coordinates of an extensible array's element `idx` (the inverse of
/// [`swizzled_index`]).
pub(crate) fn unswizzle(idx: u64, grid: &[u64], unlim: usize) -> Vec<u64> {
    let mut g = grid.to_vec();
    g[..=unlim].rotate_right(1);
    let mut c = unlinearize(idx, &g);
    c[..=unlim].rotate_left(1);
    c
}

/// Row-major position → grid coordinates.
pub(crate) fn unlinearize(mut idx: u64, grid: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; grid.len()];
    for d in (1..grid.len()).rev() {
        let n = grid[d].max(1);
        out[d] = idx % n;
        idx /= n;
    }
    if !grid.is_empty() {
        out[0] = idx;
    }
    out
}

/// Grid coordinates → row-major position (saturating).
pub(crate) fn linearize(coords: &[u64], grid: &[u64]) -> u64 {
    coords.iter().zip(grid).fold(0u64, |acc, (&c, &n)| {
        acc.saturating_mul(n).saturating_add(c)
    })
}

fn too_many(f: &FileInner, structure: &'static str, addr: u64, n: u64) -> crate::error::Error {
    FmtError::limit(
        structure,
        f.offset_of(addr),
        "nodes",
        n,
        f.limits.max_nodes as u64,
    )
    .into()
}

/// Walk the dataset's chunk index.
pub(crate) fn chunk_map(f: &FileInner, g: &Geometry<'_>) -> Result<ChunkMap> {
    let mut map = ChunkMap::new();
    let Some(addr) = g.chunked.addr else {
        return Ok(map); // nothing allocated yet
    };
    let rank = g.rank();
    let cdims = &g.chunked.dims;
    match &g.chunked.index {
        ChunkIndex::BTreeV1 => {
            let mut seen = HashSet::new();
            let mut stack = vec![addr];
            while let Some(a) = stack.pop() {
                if !seen.insert(a) {
                    return Err(
                        FmtError::new("v1 B-tree node", f.offset_of(a), ErrorKind::Cycle).into(),
                    );
                }
                if seen.len() > f.limits.max_nodes {
                    return Err(too_many(f, "v1 B-tree node", a, seen.len() as u64));
                }
                let node = read_btree1_node(f, a, rank + 1)?;
                let Keys::Chunk(keys) = &node.keys else {
                    return Err(FmtError::invalid(
                        "v1 B-tree node",
                        f.offset_of(a),
                        "node type for chunks",
                    )
                    .into());
                };
                if node.level == 0 {
                    for (k, &child) in keys.iter().zip(&node.children) {
                        let scaled: Vec<u64> =
                            k.offset.iter().zip(cdims).map(|(&o, &c)| o / c).collect();
                        map.insert(
                            scaled,
                            ChunkLoc {
                                addr: child,
                                size: k.size as u64,
                                mask: k.filter_mask,
                            },
                        );
                    }
                } else {
                    stack.extend(node.children.iter().rev());
                }
            }
        }
        ChunkIndex::Single { filtered } => {
            let (size, mask) = filtered.unwrap_or((g.chunk_bytes, 0));
            map.insert(vec![0; rank], ChunkLoc { addr, size, mask });
        }
        ChunkIndex::Implicit => {
            let grid = g.grid();
            let max_grid = g.max_grid();
            let total = grid.iter().fold(1u64, |a, &n| a.saturating_mul(n));
            if total > f.limits.max_nodes as u64 {
                return Err(too_many(f, "implicit chunk index", addr, total));
            }
            for i in 0..total {
                let scaled = unlinearize(i, &grid);
                let lin = linearize(&scaled, &max_grid);
                let a = lin
                    .checked_mul(g.chunk_bytes)
                    .and_then(|o| o.checked_add(addr));
                if let Some(a) = a {
                    map.insert(
                        scaled,
                        ChunkLoc {
                            addr: a,
                            size: g.chunk_bytes,
                            mask: 0,
                        },
                    );
                }
            }
        }
        ChunkIndex::FixedArray { .. } => {
            let hb = f.read_meta(addr, fa::Header::size(f.sizes) as u64, "fixed array header")?;
            let h = f.dec(fa::Header::decode(&hb, addr, f.sizes))?;
            let Some(dblk) = h.data_block_addr else {
                return Ok(map);
            };
            if h.nelmts > f.limits.max_nodes as u64 {
                return Err(too_many(f, "fixed array header", addr, h.nelmts));
            }
            let db = f.read_meta(dblk, h.data_block_size(f.sizes), "fixed array data block")?;
            let block = f.dec(fa::DataBlock::decode(&db, dblk, f.sizes, &h))?;
            let max_grid = g.max_grid();
            let mut put = |i: u64, e: &fa::ChunkElement| {
                if let Some(a) = e.addr {
                    let size = e.size.unwrap_or(g.chunk_bytes);
                    map.insert(
                        unlinearize(i, &max_grid),
                        ChunkLoc {
                            addr: a,
                            size,
                            mask: e.filter_mask,
                        },
                    );
                }
            };
            if h.is_paged() {
                let mut first = 0u64;
                for p in 0..h.npages() {
                    if block.page_initialised(p) {
                        let pa = h.page_addr(dblk, f.sizes, p).ok_or_else(|| {
                            FmtError::invalid(
                                "fixed array data block",
                                f.offset_of(dblk),
                                "page address",
                            )
                        })?;
                        let pb = f.read_meta(pa, h.page_size(p), "fixed array page")?;
                        let elems = f.dec(fa::decode_page(&pb, pa, f.sizes, &h, p))?;
                        for (k, e) in elems.iter().enumerate() {
                            put(first + k as u64, e);
                        }
                    }
                    first += h.page_nelmts(p);
                }
            } else {
                for (i, e) in block.elements.iter().enumerate() {
                    put(i as u64, e);
                }
            }
        }
        ChunkIndex::ExtensibleArray { .. } => {
            let hb = f.read_meta(
                addr,
                ea::Header::size(f.sizes) as u64,
                "extensible array header",
            )?;
            let h = f.dec(ea::Header::decode(&hb, addr, f.sizes))?;
            let Some(iaddr) = h.index_block_addr else {
                return Ok(map);
            };
            let ib = f.read_meta(
                iaddr,
                h.index_block_size(f.sizes),
                "extensible array index block",
            )?;
            let iblock = f.dec(ea::IndexBlock::decode(&ib, iaddr, f.sizes, &h))?;
            // Which dimension is unlimited: the index runs over it first ("swizzled").
            let unlim = g.max_dims.iter().position(|&m| m == u64::MAX).unwrap_or(0);
            let grid = g.max_grid();
            let nelmts = h.stats.max_idx_set;
            if nelmts > f.limits.max_nodes as u64 {
                return Err(too_many(f, "extensible array header", addr, nelmts));
            }
            let mut put = |i: u64, e: &fa::ChunkElement| {
                if i >= nelmts {
                    return;
                }
                if let Some(a) = e.addr {
                    let sc = unswizzle(i, &grid, unlim);
                    let size = e.size.unwrap_or(g.chunk_bytes);
                    map.insert(
                        sc,
                        ChunkLoc {
                            addr: a,
                            size,
                            mask: e.filter_mask,
                        },
                    );
                }
            };
            let read_dblk = |daddr: u64,
                             sblk: usize,
                             first: u64,
                             put: &mut dyn FnMut(u64, &fa::ChunkElement),
                             init: &dyn Fn(u64) -> bool|
             -> Result<()> {
                let len = f.dec(h.data_block_size(f.sizes, sblk))?;
                let db = f.read_meta(daddr, len, "extensible array data block")?;
                let block = f.dec(ea::DataBlock::decode(&db, daddr, f.sizes, &h, sblk))?;
                if block.npages == 0 {
                    for (k, e) in block.elements.iter().enumerate() {
                        put(first + k as u64, e);
                    }
                } else {
                    let per = h.geometry.dblk_page_nelmts;
                    for p in 0..block.npages {
                        if !init(p) {
                            continue;
                        }
                        let pa = h.page_addr(daddr, f.sizes, sblk, p).ok_or_else(|| {
                            FmtError::invalid(
                                "extensible array data block",
                                f.offset_of(daddr),
                                "page address",
                            )
                        })?;
                        let pb = f.read_meta(pa, h.page_size(), "extensible array page")?;
                        for (k, e) in f
                            .dec(ea::decode_page(&pb, pa, f.sizes, &h))?
                            .iter()
                            .enumerate()
                        {
                            put(first + p * per + k as u64, e);
                        }
                    }
                }
                Ok(())
            };
            for block in h.blocks(nelmts) {
                match block {
                    ea::Block::IndexBlockElements { count } => {
                        for (i, e) in iblock.elements.iter().take(count as usize).enumerate() {
                            put(i as u64, e);
                        }
                    }
                    ea::Block::IndexDataBlock {
                        slot, sblk, first, ..
                    } => {
                        if let Some(Some(da)) = iblock.dblk_addrs.get(slot) {
                            read_dblk(*da, sblk, first, &mut put, &|_| true)?;
                        }
                    }
                    ea::Block::SuperBlock {
                        slot,
                        sblk,
                        first,
                        ndblks,
                        dblk_nelmts,
                    } => {
                        let Some(Some(sa)) = iblock.sblk_addrs.get(slot) else {
                            continue;
                        };
                        let len = f.dec(h.super_block_size(f.sizes, sblk))?;
                        let sb = f.read_meta(*sa, len, "extensible array secondary block")?;
                        let sblock = f.dec(ea::SuperBlock::decode(&sb, *sa, f.sizes, &h, sblk))?;
                        for d in 0..ndblks {
                            if let Some(Some(da)) = sblock.dblk_addrs.get(d as usize) {
                                let init = |p: u64| sblock.page_initialised(d, p);
                                read_dblk(*da, sblk, first + d * dblk_nelmts, &mut put, &init)?;
                            }
                        }
                    }
                }
            }
        }
        ChunkIndex::BTreeV2 { .. } => {
            let ctx = h5_format::btree2::RecordContext {
                rank,
                chunk_size_len: 0, // derived from the record size below
            };
            for rec in crate::base::dense::btree2_records(f, addr, &ctx)? {
                use h5_format::btree2::Record;
                match rec {
                    Record::Chunk { addr: a, scaled } => {
                        map.insert(
                            scaled,
                            ChunkLoc {
                                addr: a,
                                size: g.chunk_bytes,
                                mask: 0,
                            },
                        );
                    }
                    Record::FilteredChunk {
                        addr: a,
                        size,
                        filter_mask,
                        scaled,
                    } => {
                        map.insert(
                            scaled,
                            ChunkLoc {
                                addr: a,
                                size,
                                mask: filter_mask,
                            },
                        );
                    }
                    _ => {
                        return Err(FmtError::invalid(
                            "v2 B-tree",
                            f.offset_of(addr),
                            "record type for a chunk index",
                        )
                        .into())
                    }
                }
            }
        }
    }
    let _ = g.filtered;
    Ok(map)
}

/// Chunks decoded or encoded at once (in parallel where threads exist) before their data is
/// copied in or out.
pub(crate) const PARALLEL_BATCH: usize = 64;

/// `f` over `items`, on rayon's pool where it has threads to spare. A pool of one thread
/// (`RAYON_NUM_THREADS=1`, or a caller's own one-thread pool) gains nothing and would make
/// every calling thread queue on it, so then each caller maps on its own thread: reads from
/// many threads of one `File` scale with the callers.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    par_map_init(items, |_: &mut (), t| f(t))
}

/// [`par_map`] where each worker keeps a scratch value (`S::default()` at first) from item
/// to item.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn par_map_init<T: Sync, S: Default + Send, R: Send>(
    items: &[T],
    f: impl Fn(&mut S, &T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() < 2 || rayon::current_num_threads() < 2 {
        let mut scratch = S::default();
        return items.iter().map(|t| f(&mut scratch, t)).collect();
    }
    items.par_iter().map_init(S::default, f).collect()
}

/// [`par_map_init`] for WebAssembly: in turn.
#[cfg(target_arch = "wasm32")]
pub(crate) fn par_map_init<T: Sync, S: Default + Send, R: Send>(
    items: &[T],
    f: impl Fn(&mut S, &T) -> R + Sync + Send,
) -> Vec<R> {
    let mut scratch = S::default();
    items.iter().map(|t| f(&mut scratch, t)).collect()
}

/// Fill `out` by `fill(offset, part)` over parts of `part` bytes, on rayon's pool where it
/// has threads to spare (a large positional read: the system's copies and page faults then
/// run on every core).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn par_fill(
    out: &mut [u8],
    part: usize,
    fill: impl Fn(usize, &mut [u8]) -> crate::Result<()> + Sync + Send,
) -> crate::Result<()> {
    use rayon::prelude::*;
    let part = part.max(1);
    if out.len() <= part || rayon::current_num_threads() < 2 {
        return fill(0, out);
    }
    out.par_chunks_mut(part)
        .enumerate()
        .try_for_each(|(i, p)| fill(i * part, p))
}

/// `f` over each (part of the output, item) pair, on rayon's pool where it has threads to
/// spare (chunks decoded straight into the caller's buffer).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn par_each<T: Send>(
    items: Vec<(&mut [u8], T)>,
    f: impl Fn(&mut [u8], T) -> crate::Result<()> + Sync + Send,
) -> crate::Result<()> {
    use rayon::prelude::*;
    if items.len() < 2 || rayon::current_num_threads() < 2 {
        return items.into_iter().try_for_each(|(p, t)| f(p, t));
    }
    items.into_par_iter().try_for_each(|(p, t)| f(p, t))
}

/// [`par_each`] for WebAssembly: in turn.
#[cfg(target_arch = "wasm32")]
pub(crate) fn par_each<T: Send>(
    items: Vec<(&mut [u8], T)>,
    f: impl Fn(&mut [u8], T) -> crate::Result<()>,
) -> crate::Result<()> {
    items.into_iter().try_for_each(|(p, t)| f(p, t))
}

/// [`par_fill`] for WebAssembly: one part.
#[cfg(target_arch = "wasm32")]
pub(crate) fn par_fill(
    out: &mut [u8],
    _part: usize,
    fill: impl Fn(usize, &mut [u8]) -> crate::Result<()>,
) -> crate::Result<()> {
    fill(0, out)
}

/// `fill(first, part, scratch)` over the parts of `per` items of `out` (`first` is the
/// part's first index), on rayon's pool where it has threads to spare; each worker keeps its
/// scratch (`S::default()` at first) from part to part.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn par_parts<T: Send, S: Default + Send>(
    out: &mut [T],
    per: usize,
    fill: impl Fn(usize, &mut [T], &mut S) -> crate::Result<()> + Sync + Send,
) -> crate::Result<()> {
    use rayon::prelude::*;
    let per = per.max(1);
    if out.len() <= per || rayon::current_num_threads() < 2 {
        let mut scratch = S::default();
        return out
            .chunks_mut(per)
            .enumerate()
            .try_for_each(|(k, part)| fill(k * per, part, &mut scratch));
    }
    out.par_chunks_mut(per)
        .enumerate()
        .try_for_each_init(S::default, |scratch, (k, part)| {
            fill(k * per, part, scratch)
        })
}

/// [`par_parts`] for WebAssembly: in turn.
#[cfg(target_arch = "wasm32")]
pub(crate) fn par_parts<T: Send, S: Default + Send>(
    out: &mut [T],
    per: usize,
    fill: impl Fn(usize, &mut [T], &mut S) -> crate::Result<()>,
) -> crate::Result<()> {
    let per = per.max(1);
    let mut scratch = S::default();
    out.chunks_mut(per)
        .enumerate()
        .try_for_each(|(k, part)| fill(k * per, part, &mut scratch))
}

/// Encode `items` into `out` (`es` bytes each) by `f`, in parts on rayon's pool where it has
/// threads to spare.
pub(crate) fn par_encode<T: Sync>(
    items: &[T],
    out: &mut [u8],
    es: usize,
    f: impl Fn(&T, &mut [u8]) -> crate::Result<()> + Sync + Send,
) -> crate::Result<()> {
    let es = es.max(1);
    let per = ((256 << 10) / es).max(1);
    par_fill(out, per * es, |off, part| {
        let first = off / es;
        part.chunks_exact_mut(es)
            .zip(items.get(first..).unwrap_or_default())
            .try_for_each(|(slot, x)| f(x, slot))
    })
}

/// Chunk grid indices a dimension's selection touches (chunk length `c`), ascending.
pub(crate) fn touched_chunks(d: &crate::read::selection::Dim, c: u64) -> Vec<u64> {
    use crate::read::selection::Dim;
    let n = d.count();
    if n == 0 {
        return Vec::new();
    }
    match d {
        Dim::Range { start, step, count } if *step < c => {
            (start / c..=(start + (count - 1) * step) / c).collect()
        }
        _ => {
            let mut v: Vec<u64> = (0..n).map(|i| d.coord(i) / c).collect();
            v.dedup();
            v
        }
    }
}

/// Every grid position of the cartesian product of per-dimension lists, row-major.
pub(crate) fn grid_product(lists: &[Vec<u64>], mut f: impl FnMut(Vec<u64>)) {
    if lists.iter().any(|l| l.is_empty()) {
        return;
    }
    let rank = lists.len();
    let mut idx = vec![0usize; rank];
    loop {
        f((0..rank).map(|d| lists[d][idx[d]]).collect());
        let mut d = rank;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < lists[d].len() {
                break;
            }
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_positions_roundtrip() {
        let grid = [3u64, 4, 5];
        for i in 0..60 {
            assert_eq!(linearize(&unlinearize(i, &grid), &grid), i);
        }
        assert_eq!(unlinearize(7, &[u64::MAX, 3]), vec![2, 1]);
    }

    #[test]
    fn extensible_array_positions_run_over_the_unlimited_dimension_first() {
        // grid 3×4×5 with dimension 1 unlimited: index = ((s1·3 + s0)·5 + s2)
        let grid = [3u64, 4, 5];
        assert_eq!(swizzled_index(&[2, 1, 4], &grid, 1), (3 + 2) * 5 + 4);
        assert_eq!(swizzled_index(&[0, 0, 1], &grid, 0), 1);
        for unlim in 0..3 {
            for i in 0..60 {
                assert_eq!(swizzled_index(&unswizzle(i, &grid, unlim), &grid, unlim), i);
            }
        }
    }
}

//! Writes and resizes: the chunks a selection touches read, changed and stored back, in
//! parallel batches through the filters, the index updated.

use super::btree1::Tree;
use super::index::Index;
use super::meta::{Loc, Meta};
use crate::error::{Error, Result};
use crate::read::chunks::{grid_product, par_map, touched_chunks, PARALLEL_BATCH};
use crate::read::grid::whole_run;
use crate::read::selection::Resolved;
use crate::write::header::HeaderEdit;
use crate::write::{enc, WriteCtx};
use h5_format::message::dataspace::Dataspace;
use h5_format::message::layout::{ChunkIndex, Layout};
use h5_format::message::MessageType;
use std::collections::BTreeMap;

// ------------------------------------------------------------------------------------------
// Chunk I/O

/// One chunk to rewrite.
struct Job {
    scaled: Vec<u64>,
    /// Points of a point selection that fall in this chunk (indices into the selection).
    points: Vec<usize>,
    /// The selection covers the whole chunk: no need to read it.
    full: bool,
    old: Option<Loc>,
}

/// A chunk after its change, ready to store: its bytes built and filtered, or (a whole chunk
/// of an unfiltered dataset that is one run of the written bytes) those bytes themselves.
struct Encoded<'b> {
    bytes: std::borrow::Cow<'b, [u8]>,
    mask: u32,
}

/// Store encoded chunks: in place when the size is unchanged, otherwise in new space (free
/// space first, else packed at the end of the file as libhdf5 packs chunks) with the old space
/// freed once the index is updated. Updates the index.
fn store_batch(
    cx: &mut WriteCtx<'_>,
    m: &Meta,
    tree: &mut Index,
    jobs: &[Job],
    encoded: Vec<Encoded<'_>>,
    frees: &mut Vec<(u64, u64)>,
) -> Result<()> {
    for (j, e) in jobs.iter().zip(encoded) {
        let addr = match j.old {
            Some(o) if o.size as usize == e.bytes.len() => o.addr,
            old => {
                if let Some(o) = old {
                    frees.push((o.addr, o.size as u64));
                }
                cx.alloc_packed(e.bytes.len() as u64)?
            }
        };
        cx.write(addr, &e.bytes)?;
        let loc = Loc {
            addr,
            size: e.bytes.len() as u32,
            mask: e.mask,
        };
        tree.upsert(cx, m, &m.origin(&j.scaled), loc)?;
    }
    Ok(())
}

/// Store the index and record its new state in the layout message when that changed; then
/// free what the write retired. Returns a v1 B-tree index as stored, to keep for the
/// dataset's next write.
fn finish(
    cx: &mut WriteCtx<'_>,
    h: &mut HeaderEdit,
    m: &Meta,
    index: Index,
    frees: Vec<(u64, u64)>,
) -> Result<Option<Tree>> {
    let (layout, tree) = index.finish(cx, m)?;
    if let Some(c) = layout {
        let body = enc::layout_at(cx.f.sizes, &Layout::Chunked(c), m.layout_version)?;
        h.replace(cx, MessageType::LAYOUT, body)?;
    }
    for (a, s) in frees {
        cx.free(a, s);
    }
    Ok(tree)
}

/// The chunk B-tree of the chunked dataset written last (its header's address), decoded
/// nodes and all, kept for its next write: appending a frame at a time otherwise reads and
/// decodes the root and a leaf again for every frame. Only this writer changes the file;
/// the tree is taken out for a write and put back only when the write succeeds, dropped by
/// a resize that shrinks the dataset, and checked against the dataset's layout (and its
/// header against the deleted ones) before use.
struct KeptTree {
    obj: u64,
    tree: Tree,
}

/// The kept tree of the dataset at `obj` (described by `m`), when it is that dataset's
/// index as it stands.
fn kept_tree(cx: &mut WriteCtx<'_>, obj: u64, m: &Meta) -> Option<Tree> {
    let k = cx.st.chunk_tree.take()?.downcast::<KeptTree>().ok()?;
    let fits = k.obj == obj
        && !cx.st.dead.contains(&obj)
        && matches!(m.chunk.index, ChunkIndex::BTreeV1)
        && k.tree.fits(cx, m);
    fits.then_some(k.tree)
}

/// Write `bytes` (the selection's elements, row-major, in the file's element encoding) into
/// the chunked dataset whose header is `h`: every chunk the selection touches is read (or
/// started from the fill value), changed, filtered and stored, and the index updated.
/// `dims` is the shape the selection was resolved against.
pub(crate) fn write(
    cx: &mut WriteCtx<'_>,
    h: &mut HeaderEdit,
    obj: u64,
    dims: &[u64],
    res: &Resolved,
    bytes: &[u8],
) -> Result<()> {
    let m = Meta::load(cx, h, obj)?;
    if m.dims != dims {
        return Err(Error::Shape(format!(
            "the dataset was resized to {:?} through another handle (this one has {dims:?}): open it again",
            m.dims
        )));
    }
    let es = m.es;
    let cd = &m.chunk.dims;
    let mut jobs: Vec<Job> = Vec::new();
    match res {
        Resolved::Slab { dims: sel, .. } => {
            let lists: Vec<Vec<u64>> = sel
                .iter()
                .zip(cd)
                .map(|(d, &c)| touched_chunks(d, c))
                .collect();
            grid_product(&lists, |scaled| {
                let full = (0..m.rank()).all(|d| {
                    let o = scaled[d] * cd[d];
                    let (a, b) = sel[d].positions_in(o, o + cd[d]);
                    b - a == cd[d]
                });
                jobs.push(Job {
                    scaled,
                    points: Vec::new(),
                    full,
                    old: None,
                });
            });
        }
        Resolved::Points(pts) => {
            let mut by_chunk: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
            for (k, p) in pts.iter().enumerate() {
                let s: Vec<u64> = p.iter().zip(cd).map(|(&x, &c)| x / c).collect();
                by_chunk.entry(s).or_default().push(k);
            }
            jobs.extend(by_chunk.into_iter().map(|(scaled, points)| Job {
                scaled,
                points,
                full: false,
                old: None,
            }));
        }
    }
    let mut tree = match kept_tree(cx, obj, &m) {
        Some(t) => Index::BTree1(t),
        None => Index::open(cx, &m)?,
    };
    let mut frees = Vec::new();
    let fill = m.filled(cx.f)?;
    for batch in jobs.chunks_mut(PARALLEL_BATCH) {
        for j in batch.iter_mut() {
            j.old = tree.lookup(cx.f, &m, &m.origin(&j.scaled))?;
        }
        let f = cx.f;
        let m = &m;
        let fill = &fill;
        let encoded = par_map(batch, |j| -> Result<Encoded<'_>> {
            if let (true, true, Resolved::Slab { dims: sel, .. }) =
                (j.full, m.filters.is_empty(), res)
            {
                // the chunk's bytes follow one another in what is written: stored as they
                // are, without a copy into a chunk buffer
                let run = whole_run(&j.scaled, cd, sel)
                    .and_then(|at| at.checked_mul(es))
                    .and_then(|at| bytes.get(at..at.checked_add(m.chunk_bytes)?));
                if let Some(run) = run {
                    return Ok(Encoded {
                        bytes: std::borrow::Cow::Borrowed(run),
                        mask: 0,
                    });
                }
            }
            let mut buf = match (j.full, &j.old) {
                (true, _) => f.data_buffer(m.chunk_bytes as u64)?,
                (false, Some(loc)) => m.read_chunk(f, loc)?,
                (false, None) => fill.clone(),
            };
            let origin = m.origin(&j.scaled);
            match res {
                Resolved::Slab { .. } => {
                    crate::read::grid::for_each_run(0, &origin, cd, res, es, |blk, s, n| {
                        buf[blk..blk + n].copy_from_slice(&bytes[s..s + n]);
                    });
                }
                Resolved::Points(pts) => {
                    for &k in &j.points {
                        let off = pts[k]
                            .iter()
                            .zip(&origin)
                            .zip(cd)
                            .fold(0u64, |a, ((&x, &o), &c)| a * c + (x - o))
                            as usize
                            * es;
                        buf[off..off + es].copy_from_slice(&bytes[k * es..(k + 1) * es]);
                    }
                }
            }
            let (bytes, mask) = m.encode_chunk(f, buf)?;
            Ok(Encoded {
                bytes: bytes.into(),
                mask,
            })
        });
        let encoded = encoded.into_iter().collect::<Result<Vec<_>>>()?;
        store_batch(cx, m, &mut tree, batch, encoded, &mut frees)?;
        tree.checkpoint(cx)?;
    }
    let kept = finish(cx, h, &m, tree, frees)?;
    cx.st.chunk_tree = kept.map(|tree| Box::new(KeptTree { obj, tree }) as Box<_>);
    Ok(())
}

/// The file space of a chunked dataset's chunks and chunk index, as `(address, size)`.
pub(crate) fn extents(cx: &WriteCtx<'_>, h: &HeaderEdit, obj: u64) -> Result<Vec<(u64, u64)>> {
    let m = Meta::load(cx, h, obj)?;
    let mut index = Index::open(cx, &m)?;
    let mut out: Vec<(u64, u64)> = match &index {
        // the implicit index's extent is its chunks
        Index::Implicit { .. } => Vec::new(),
        _ => index
            .all(cx.f, &m)?
            .into_iter()
            .map(|(_, l)| (l.addr, l.size as u64))
            .collect(),
    };
    out.extend(index.extents(cx.f)?);
    Ok(out)
}

/// Change the dataset's shape to `new` (h5py's `resize`): within the maximum shape; chunks
/// wholly outside the new shape are dropped and their space freed; in chunks a shrunk
/// dimension cuts through, the elements past the new shape are set back to the fill value
/// (so growing again shows the fill value there, as with libhdf5).
pub(crate) fn resize(
    cx: &mut WriteCtx<'_>,
    h: &mut HeaderEdit,
    obj: u64,
    new: &[u64],
) -> Result<()> {
    let m = Meta::load(cx, h, obj)?;
    if new.len() != m.rank() {
        return Err(Error::Shape(format!(
            "new shape {new:?} has rank {}, the dataset has rank {} ({:?})",
            new.len(),
            m.rank(),
            m.dims
        )));
    }
    if let Some(d) = (0..m.rank()).find(|&d| new[d] > m.max_dims[d]) {
        let max: Vec<String> = m
            .max_dims
            .iter()
            .map(|&x| {
                if x == u64::MAX {
                    "None".to_string()
                } else {
                    x.to_string()
                }
            })
            .collect();
        return Err(Error::Shape(format!(
            "cannot resize to {new:?}: dimension {d} cannot exceed the maximum shape ({}) \
             (new: {} max: {})",
            max.join(", "),
            new[d],
            m.max_dims[d]
        )));
    }
    if new == m.dims.as_slice() {
        return Ok(());
    }
    let space = Dataspace::simple(new.to_vec(), Some(m.max_dims.clone()));
    let body = enc::dataspace_at(cx.f.sizes, &space, m.space_version)?;
    h.replace(cx, MessageType::DATASPACE, body)?;
    let shrunk: Vec<usize> = (0..m.rank()).filter(|&d| new[d] < m.dims[d]).collect();
    if shrunk.is_empty() || m.chunk.addr.is_none() {
        return Ok(());
    }
    let cd = m.chunk.dims.clone();
    // the chunks change here: a tree kept for the next write is read again then
    cx.st.chunk_tree = None;
    let mut tree = Index::open(cx, &m)?;
    let inside = |off: &[u64]| off.iter().zip(new).all(|(&o, &n)| o < n);
    let dropped = tree.retain(cx.f, &m, &inside)?;
    let mut frees: Vec<(u64, u64)> = dropped.iter().map(|l| (l.addr, l.size as u64)).collect();
    // Chunks a shrunk dimension now cuts through: set what lies past the new shape to fill.
    let mut jobs: Vec<Job> = tree
        .all(cx.f, &m)?
        .into_iter()
        .filter(|(off, _)| {
            shrunk
                .iter()
                .any(|&d| off[d] < new[d] && off[d] + cd[d] > new[d])
        })
        .map(|(off, loc)| Job {
            scaled: off.iter().zip(&cd).map(|(&o, &c)| o / c).collect(),
            points: Vec::new(),
            full: false,
            old: Some(loc),
        })
        .collect();
    let strides: Vec<u64> = {
        let mut s = vec![1u64; cd.len()];
        for d in (0..cd.len().saturating_sub(1)).rev() {
            s[d] = s[d + 1] * cd[d + 1];
        }
        s
    };
    let es = m.es;
    for batch in jobs.chunks_mut(PARALLEL_BATCH) {
        let f = cx.f;
        let m = &m;
        let encoded = par_map(batch, |j| -> Result<Encoded> {
            let loc = j.old.as_ref().expect("stored chunk");
            let mut buf = m.read_chunk(f, loc)?;
            let origin = m.origin(&j.scaled);
            let n = m.chunk_bytes / es;
            for e in 0..n as u64 {
                let outside = (0..cd.len()).any(|d| origin[d] + (e / strides[d]) % cd[d] >= new[d]);
                if outside {
                    let b = e as usize * es;
                    match &m.fill {
                        Some(v) => buf[b..b + es].copy_from_slice(v),
                        None => buf[b..b + es].fill(0),
                    }
                }
            }
            let (bytes, mask) = m.encode_chunk(f, buf)?;
            Ok(Encoded {
                bytes: bytes.into(),
                mask,
            })
        });
        let encoded = encoded.into_iter().collect::<Result<Vec<_>>>()?;
        store_batch(cx, m, &mut tree, batch, encoded, &mut frees)?;
        tree.checkpoint(cx)?;
    }
    finish(cx, h, &m, tree, frees).map(drop)
}

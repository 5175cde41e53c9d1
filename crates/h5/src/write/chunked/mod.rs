//! Chunked datasets: chunk shapes as h5py guesses them, the filter pipeline h5py builds,
//! chunk reads and writes through the filters, and resizing. The chunk indexes are in
//! [`index`] (one interface over every kind) and [`btree1`] (the version 1 B-tree of the
//! default profile).

mod btree1;
mod index;

use index::Index;

use super::header::HeaderEdit;
use super::{enc, LibVer, WriteCtx};
use crate::error::{Error, Result};
use crate::raw::FileInner;
use crate::read::chunks::{grid_product, par_map, touched_chunks, PARALLEL_BATCH};
use crate::read::selection::Resolved;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::filter_pipeline::{self, FilterInfo};
use h5_format::message::layout::{self, ChunkIndex, Chunked, Layout};
use h5_format::message::MessageType;
use h5_format::Writer;
use std::collections::BTreeMap;

// ------------------------------------------------------------------------------------------
// Creation: chunk shapes and filter pipelines as h5py makes them

/// The compression filter of a dataset (h5py's `compression=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// gzip at a level 0–9.
    Deflate(u8),
    /// h5py's LZF.
    Lzf,
}

/// The filters a dataset builder asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilterSpec {
    pub(crate) shuffle: bool,
    pub(crate) compression: Option<Compression>,
    pub(crate) fletcher32: bool,
}

impl FilterSpec {
    fn any(&self) -> bool {
        self.shuffle || self.fletcher32 || self.compression.is_some()
    }

    /// The pipeline in h5py's order — shuffle, the compression, fletcher32 — with the flags
    /// (deflate, shuffle and LZF optional; fletcher32 required), names and client data
    /// libhdf5 stores once the filters have seen the dataset's type and chunk.
    pub(crate) fn pipeline(&self, element_size: u64, chunk_bytes: u64) -> Result<Vec<FilterInfo>> {
        let f = |id: u16, flags: u16, client_data: Vec<u32>| FilterInfo {
            id,
            name: FilterInfo::known_name(id).map(String::from),
            flags,
            client_data,
        };
        let mut out = Vec::new();
        if self.shuffle {
            out.push(f(h5_filters::id::SHUFFLE, 1, vec![element_size as u32]));
        }
        match self.compression {
            Some(Compression::Deflate(level)) => {
                if level > 9 {
                    return Err(Error::Shape(format!(
                        "GZIP setting must be an integer from 0-9, not {level}"
                    )));
                }
                out.push(f(h5_filters::id::DEFLATE, 1, vec![level as u32]));
            }
            Some(Compression::Lzf) => out.push(f(
                h5_filters::id::LZF,
                1,
                h5_filters::lzf::h5py_client_data(chunk_bytes).to_vec(),
            )),
            None => {}
        }
        if self.fletcher32 {
            out.push(f(h5_filters::id::FLETCHER32, 0, Vec::new()));
        }
        Ok(out)
    }
}

/// h5py's `guess_chunk` (h5py/_hl/filters.py), ported: start from the shape (0-length axes
/// count as 1024), aim at a chunk of 16 KiB × 2^log10(dataset MiB) clamped to 8 KiB–1 MiB,
/// and halve the axes in turn (rounding up) until the chunk is below the target or within
/// 50 % of it, and below 1 MiB.
pub(crate) fn guess_chunk(shape: &[u64], typesize: u64) -> Vec<u64> {
    const BASE: f64 = 16.0 * 1024.0;
    const MIN: f64 = 8.0 * 1024.0;
    const MAX: f64 = 1024.0 * 1024.0;
    let mut chunks: Vec<f64> = shape
        .iter()
        .map(|&x| if x == 0 { 1024.0 } else { x as f64 })
        .collect();
    let n = chunks.len();
    if n == 0 {
        return Vec::new();
    }
    let product = |c: &[f64]| c.iter().product::<f64>();
    let dset_size = product(&chunks) * typesize as f64;
    let target = (BASE * 2f64.powf((dset_size / (1024.0 * 1024.0)).log10())).clamp(MIN, MAX);
    let mut idx = 0;
    loop {
        let chunk_bytes = product(&chunks) * typesize as f64;
        if (chunk_bytes < target || ((chunk_bytes - target).abs() / target) < 0.5)
            && chunk_bytes < MAX
        {
            break;
        }
        if product(&chunks) == 1.0 {
            break;
        }
        chunks[idx % n] = (chunks[idx % n] / 2.0).ceil();
        idx += 1;
    }
    chunks.iter().map(|&c| c as u64).collect()
}

/// The numpy item size h5py guesses chunks with (`dtype.itemsize`): variable-length strings,
/// sequences and references are numpy objects (8-byte pointers) however wide their HDF5
/// element is, and compounds and arrays shrink by their members' difference.
pub(crate) fn numpy_itemsize(dt: &Datatype) -> u64 {
    match dt {
        Datatype::VarLenStr { .. } | Datatype::VarLenSeq { .. } | Datatype::Reference { .. } => 8,
        Datatype::Compound { size, members } => members.iter().fold(*size as u64, |n, m| {
            n.saturating_sub(m.dtype.size().saturating_sub(numpy_itemsize(&m.dtype)))
        }),
        Datatype::Array { base, dims } => dims
            .iter()
            .fold(numpy_itemsize(base), |n, &d| n.saturating_mul(d as u64)),
        other => other.size(),
    }
}

/// What a chunked dataset is created with.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) chunks: Vec<u64>,
    /// Maximum dimensions (`u64::MAX` unlimited), when given.
    pub(crate) max_dims: Option<Vec<u64>>,
    pub(crate) filters: Vec<FilterInfo>,
}

/// Decide, as h5py's `create_dataset` does, whether a dataset is chunked and how: chunked
/// when chunks are given or asked for (`auto`), or when any filter or a maximum shape is
/// given; the chunk shape is then the one given or [`guess_chunk`]'s. `None`: not chunked.
pub(crate) fn plan(
    shape: &[u64],
    maxshape: Option<&[Option<u64>]>,
    chunks: Option<&[u64]>,
    auto: bool,
    filters: &FilterSpec,
    dtype: &Datatype,
    explicit_unchunked: bool,
) -> Result<Option<Plan>> {
    let element_size = dtype.size();
    let wants = chunks.is_some() || auto || filters.any() || maxshape.is_some();
    if !wants {
        return Ok(None);
    }
    if shape.is_empty() {
        return Err(Error::Shape(
            "Scalar datasets don't support chunk/filter options".into(),
        ));
    }
    if explicit_unchunked {
        return Err(Error::Shape(
            "Chunked format required for given storage options (chunks, filters or maxshape)"
                .into(),
        ));
    }
    let max_dims = match maxshape {
        Some(m) => {
            if m.len() != shape.len() {
                return Err(Error::Shape(format!(
                    "'maxshape' {m:?} must have same rank as dataset shape {shape:?}"
                )));
            }
            for (mx, &s) in m.iter().zip(shape) {
                if let Some(mx) = mx {
                    if *mx < s {
                        return Err(Error::Shape(format!(
                            "maxshape {m:?} is smaller than the shape {shape:?}"
                        )));
                    }
                }
            }
            Some(m.iter().map(|x| x.unwrap_or(u64::MAX)).collect::<Vec<_>>())
        }
        None => None,
    };
    let chunks = match chunks {
        Some(c) => {
            if c.len() != shape.len() {
                return Err(Error::Shape(format!(
                    "'chunks' {c:?} must have same rank as dataset shape {shape:?}"
                )));
            }
            if c.contains(&0) {
                return Err(Error::Shape(format!(
                    "chunk dimensions must be positive, not {c:?}"
                )));
            }
            // h5py compares with the maximum shape when there is one (unlimited axes aside).
            let limits: Vec<Option<u64>> = match maxshape {
                Some(m) => m.to_vec(),
                None => shape.iter().map(|&s| Some(s)).collect(),
            };
            if c.iter()
                .zip(&limits)
                .any(|(&c, l)| l.is_some_and(|l| c > l))
            {
                return Err(Error::Shape(format!(
                    "Chunk shape must not be greater than data shape in any dimension. \
                     {c:?} is not compatible with {shape:?}"
                )));
            }
            c.to_vec()
        }
        None => guess_chunk(shape, numpy_itemsize(dtype)),
    };
    let chunk_bytes = chunks
        .iter()
        .try_fold(element_size, |a, &c| a.checked_mul(c))
        .filter(|&b| b < 1 << 32)
        .ok_or_else(|| {
            Error::Shape(format!(
                "chunks {chunks:?} of {element_size}-byte elements are 4 GiB or more"
            ))
        })?;
    if chunks.iter().any(|&c| c > u32::MAX as u64) {
        return Err(Error::Shape(format!(
            "chunk dimensions {chunks:?} too large"
        )));
    }
    Ok(Some(Plan {
        filters: filters.pipeline(element_size, chunk_bytes)?,
        chunks,
        max_dims,
    }))
}

/// The layout message of a new chunked dataset (no chunk written yet), with the chunk index
/// libhdf5 picks for the profile: the version 1 B-tree in the default and 1.8 profiles; in
/// 1.10 and latest a single chunk when the chunk is the whole fixed shape, an extensible array for one
/// unlimited dimension, a version 2 B-tree for more, a fixed array otherwise.
pub(crate) fn new_layout(plan: &Plan, shape: &[u64], element_size: u64, libver: LibVer) -> Layout {
    let max = plan.max_dims.clone().unwrap_or_else(|| shape.to_vec());
    let unlimited = max.iter().filter(|&&m| m == u64::MAX).count();
    let index = match libver {
        _ if !libver.v4_chunk_indexes() => ChunkIndex::BTreeV1,
        _ if unlimited == 1 => ChunkIndex::ExtensibleArray {
            max_bits: 32,
            index_elements: 4,
            min_pointers: 4,
            min_elements: 16,
            page_bits: 10,
        },
        _ if unlimited > 1 => ChunkIndex::BTreeV2 {
            node_size: 2048,
            split: 100,
            merge: 40,
        },
        _ if max == shape && plan.chunks == shape => ChunkIndex::Single {
            filtered: (!plan.filters.is_empty()).then_some((0, 0)),
        },
        _ => ChunkIndex::FixedArray { page_bits: 10 },
    };

    Layout::Chunked(Chunked {
        dims: plan.chunks.clone(),
        element_size,
        index,
        addr: None,
        dont_filter_partial_edge: false,
    })
}

/// The filter pipeline message body (version 1 in the default profile).
pub(crate) fn pipeline_message(cx: &WriteCtx<'_>, filters: &[FilterInfo]) -> Result<Vec<u8>> {
    let mut w = Writer::new(cx.f.sizes);
    filter_pipeline::encode(
        filters,
        filter_pipeline::version_for(cx.st.libver.profile()),
        &mut w,
    )
    .map_err(Error::Format)?;
    Ok(w.finish())
}

// ------------------------------------------------------------------------------------------
// What the writer needs to know of a chunked dataset, read from its header

/// A chunked dataset as its header describes it now.
struct Meta {
    /// Layout message version (4 and 5 differ in how wide filtered chunk sizes are).
    layout_version: u8,
    /// Dataspace message version (kept when a resize rewrites it).
    space_version: u8,
    dims: Vec<u64>,
    max_dims: Vec<u64>,
    chunk: Chunked,
    filters: Vec<FilterInfo>,
    /// One element of the fill value (zeros by default).
    fill: Option<Vec<u8>>,
    es: usize,
    chunk_bytes: usize,
}

impl Meta {
    fn load(cx: &WriteCtx<'_>, h: &HeaderEdit, obj: u64) -> Result<Meta> {
        let lm = h
            .find(MessageType::LAYOUT)
            .next()
            .ok_or_else(|| Error::Unsupported("dataset without a layout message".into()))?;
        let (layout, version) = cx.decode_msg(lm, obj, "layout message", layout::decode)?;
        let Layout::Chunked(chunk) = layout else {
            return Err(Error::Shape("Only chunked datasets can be resized".into()));
        };
        let sm = h
            .find(MessageType::DATASPACE)
            .next()
            .ok_or_else(|| Error::Unsupported("dataset without a dataspace message".into()))?;
        let space = cx.decode_msg(sm, obj, "dataspace message", Dataspace::decode)?;
        let space_version = sm.data.first().copied().unwrap_or(1);
        let filters = match h.find(MessageType::FILTER_PIPELINE).next() {
            Some(m) => cx.decode_msg(m, obj, "filter pipeline message", filter_pipeline::decode)?,
            None => Vec::new(),
        };
        let es = chunk.element_size as usize;
        let fv = if let Some(m) = h.find(MessageType::FILL_VALUE).next() {
            cx.decode_msg(m, obj, "fill value message", FillValue::decode)?
        } else if let Some(m) = h.find(MessageType::FILL_VALUE_OLD).next() {
            cx.decode_msg(m, obj, "fill value message", FillValue::decode_old)?
        } else {
            FillValue::default()
        };
        // the fill value only when it is one element long (zeros otherwise): `es` comes from
        // the file and is not allocated before the data limit has seen it
        let fill = fv.value.filter(|v| v.len() == es);
        let chunk_bytes = chunk
            .dims
            .iter()
            .try_fold(es as u64, |a, &d| a.checked_mul(d))
            .filter(|&b| b < 1 << 32)
            .ok_or_else(|| Error::Unsupported("chunks of 4 GiB or more".into()))?
            as usize;
        if chunk.dims.len() != space.dims.len() {
            return Err(Error::Unsupported(
                "chunk rank differs from the dataspace rank".into(),
            ));
        }
        Ok(Meta {
            layout_version: version.0,
            space_version,
            max_dims: space.max_dims().to_vec(),
            dims: space.dims,
            chunk,
            filters,
            fill,
            es,
            chunk_bytes,
        })
    }

    fn rank(&self) -> usize {
        self.dims.len()
    }

    fn origin(&self, scaled: &[u64]) -> Vec<u64> {
        scaled
            .iter()
            .zip(&self.chunk.dims)
            .map(|(&s, &c)| s * c)
            .collect()
    }

    fn params(&self) -> Vec<h5_filters::FilterParams<'_>> {
        self.filters
            .iter()
            .map(|fi| h5_filters::FilterParams {
                id: fi.id,
                client_data: &fi.client_data,
                element_size: self.es,
            })
            .collect()
    }

    /// A chunk holding only the fill value.
    fn filled(&self, f: &FileInner) -> Result<Vec<u8>> {
        f.filled_buffer(
            self.fill.as_deref(),
            self.es,
            (self.chunk_bytes / self.es.max(1)) as u64,
        )
    }

    /// Read a stored chunk and undo its filters.
    fn read_chunk(&self, f: &FileInner, loc: &Loc) -> Result<Vec<u8>> {
        if self.filters.is_empty() {
            let mut buf = f.data_buffer(self.chunk_bytes as u64)?;
            f.read_data(loc.addr, &mut buf, "chunk")?;
            return Ok(buf);
        }
        if loc.size as usize > self.chunk_bytes.saturating_mul(2).saturating_add(1 << 20) {
            return Err(h5_format::Error::invalid(
                "chunk index",
                f.offset_of(loc.addr),
                "filtered chunk size",
            )
            .into());
        }
        let mut buf = f.data_buffer(loc.size as u64)?;
        f.read_data(loc.addr, &mut buf, "chunk")?;
        f.filters
            .decode_chunk(&self.params(), loc.mask, buf, self.chunk_bytes)
            .map_err(|source| Error::Filter {
                source,
                offset: f.offset_of(loc.addr),
            })
    }

    /// Run a chunk through the filters: the bytes to store and the filter mask.
    fn encode_chunk(&self, f: &FileInner, data: Vec<u8>) -> Result<(Vec<u8>, u32)> {
        if self.filters.is_empty() {
            return Ok((data, 0));
        }
        let optional: Vec<bool> = self.filters.iter().map(|fi| fi.optional()).collect();
        let (bytes, mask) = f
            .filters
            .encode_chunk(&self.params(), &optional, data)
            .map_err(|source| Error::Filter { source, offset: 0 })?;
        if bytes.len() as u64 > u32::MAX as u64 {
            return Err(Error::Shape("a filtered chunk of 4 GiB or more".into()));
        }
        Ok((bytes, mask))
    }
}

/// Where a stored chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    addr: u64,
    size: u32,
    mask: u32,
}

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

/// A chunk after its change, ready to store.
struct Encoded {
    bytes: Vec<u8>,
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
    encoded: Vec<Encoded>,
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
/// free what the write retired.
fn finish(
    cx: &mut WriteCtx<'_>,
    h: &mut HeaderEdit,
    m: &Meta,
    index: Index,
    frees: Vec<(u64, u64)>,
) -> Result<()> {
    if let Some(c) = index.finish(cx, m)? {
        let body = enc::layout_at(cx.f.sizes, &Layout::Chunked(c), m.layout_version)?;
        h.replace(cx, MessageType::LAYOUT, body)?;
    }
    for (a, s) in frees {
        cx.free(a, s);
    }
    Ok(())
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
    let mut tree = Index::open(cx, &m)?;
    let mut frees = Vec::new();
    let fill = m.filled(cx.f)?;
    for batch in jobs.chunks_mut(PARALLEL_BATCH) {
        for j in batch.iter_mut() {
            j.old = tree.lookup(cx.f, &m, &m.origin(&j.scaled))?;
        }
        let f = cx.f;
        let m = &m;
        let fill = &fill;
        let encoded = par_map(batch, |j| -> Result<Encoded> {
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
            Ok(Encoded { bytes, mask })
        });
        let encoded = encoded.into_iter().collect::<Result<Vec<_>>>()?;
        store_batch(cx, m, &mut tree, batch, encoded, &mut frees)?;
        tree.checkpoint(cx)?;
    }
    finish(cx, h, &m, tree, frees)
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
            Ok(Encoded { bytes, mask })
        });
        let encoded = encoded.into_iter().collect::<Result<Vec<_>>>()?;
        store_batch(cx, m, &mut tree, batch, encoded, &mut frees)?;
        tree.checkpoint(cx)?;
    }
    finish(cx, h, &m, tree, frees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guess_chunk_matches_h5py() {
        // h5py 3.16 `h5py._hl.filters.guess_chunk(shape, None, typesize)`
        let cases: &[(&[u64], u64, &[u64])] = &[
            (&[100_000], 1, &[6250]),
            (&[100_000], 8, &[1563]),
            (&[100_000], 16, &[1563]),
            (&[1000, 1000], 4, &[63, 125]),
            (&[100], 4, &[100]),
            (&[1024, 1024, 1], 4, &[64, 128, 1]),
            (&[0], 4, &[1024]),
            (&[0, 0], 8, &[64, 64]),
            (&[10], 1, &[10]),
            (&[3, 5, 7], 2, &[3, 5, 7]),
            (&[1_000_000_000], 8, &[30518]),
            (&[4, 300_000], 4, &[1, 9375]),
            (&[1], 100_000_000, &[1]),
            (&[500, 1024], 4, &[32, 128]),
        ];
        for &(shape, ts, want) in cases {
            assert_eq!(guess_chunk(shape, ts), want, "{shape:?} × {ts}");
        }
    }

    #[test]
    fn pipeline_order_flags_and_client_data_as_h5py() {
        let spec = FilterSpec {
            shuffle: true,
            compression: Some(Compression::Deflate(4)),
            fletcher32: true,
        };
        let p = spec.pipeline(4, 168).unwrap();
        let got: Vec<(u16, u16, Vec<u32>, Option<String>)> = p
            .into_iter()
            .map(|f| (f.id, f.flags, f.client_data, f.name))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, 1, vec![4], Some("shuffle".into())),
                (1, 1, vec![4], Some("deflate".into())),
                (3, 0, vec![], Some("fletcher32".into())),
            ]
        );
        let lzf = FilterSpec {
            compression: Some(Compression::Lzf),
            ..Default::default()
        };
        assert_eq!(lzf.pipeline(4, 400).unwrap()[0].client_data, [4, 261, 400]);
    }
}

//! Virtual datasets: mappings from source datasets (in this or other files) into a virtual
//! one, including printf-style (`%b`) source names with unlimited block counts.

use super::handles::File;
use crate::error::{Error, Result};
use crate::read::selection::{Dim, Resolved, Selection};
use h5_format::selection::{RegularDim, SelectionEncoding, UNLIMITED};
use h5_format::vds::Mapping;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

fn is_printf(m: &Mapping) -> bool {
    m.file.contains("%b") || m.dataset.contains("%b")
}

fn substitute(s: &str, block: u64) -> String {
    s.replace("%%", "\u{0}")
        .replace("%b", &block.to_string())
        .replace('\u{0}', "%")
}

thread_local! {
    /// Virtual datasets whose sources are virtual datasets nest; this bounds the nesting
    /// (and breaks cycles).
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Run `f` one virtual-dataset level deeper, failing past 8 levels.
pub(crate) fn nested<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let d = DEPTH.with(|c| c.get());
    if d >= 8 {
        return Err(Error::Unsupported(
            "virtual datasets nested more than 8 deep (a cycle?)".into(),
        ));
    }
    DEPTH.with(|c| c.set(d + 1));
    let r = f();
    DEPTH.with(|c| c.set(d));
    r
}

/// Opens source datasets, caching files by name.
pub(crate) struct Sources<'a> {
    file: &'a File,
    files: HashMap<String, Option<File>>,
}

impl<'a> Sources<'a> {
    pub(crate) fn new(file: &'a File) -> Self {
        Sources {
            file,
            files: HashMap::new(),
        }
    }

    /// The source dataset, or `None` when its file or dataset does not exist (it reads as
    /// the fill value, as in libhdf5).
    fn open(&mut self, file: &str, dataset: &str) -> Option<crate::Dataset> {
        let f = if file == "." {
            self.file.clone()
        } else {
            let me = self.file.path().map(|p| p.to_path_buf());
            self.files
                .entry(file.to_string())
                .or_insert_with(|| {
                    let mut candidates = vec![PathBuf::from(file)];
                    if let Some(dir) = me.as_ref().and_then(|p| p.parent()) {
                        candidates.push(dir.join(file));
                    }
                    candidates
                        .into_iter()
                        .find(|p| p.is_file())
                        .and_then(|p| File::open(p).ok())
                })
                .clone()?
        };
        f.dataset(dataset).ok()
    }
}

/// The unlimited dimension of a regular selection, if any.
fn unlimited_dim(sel: &SelectionEncoding) -> Option<(usize, RegularDim)> {
    match sel {
        SelectionEncoding::Regular(d) => d
            .iter()
            .position(|x| x.count == UNLIMITED)
            .map(|u| (u, d[u])),
        _ => None,
    }
}

/// How many blocks of an unlimited mapping exist.
fn block_count(m: &Mapping, sources: &mut Sources<'_>, limit: usize) -> u64 {
    if is_printf(m) {
        // libhdf5's default printf gap is 0: blocks count up to the first missing source.
        let mut n = 0u64;
        while (n as usize) < limit
            && sources
                .open(&substitute(&m.file, n), &substitute(&m.dataset, n))
                .is_some()
        {
            n += 1;
        }
        n
    } else if let (Some(ds), Some((su, sd))) =
        (sources.open(&m.file, &m.dataset), unlimited_dim(&m.source))
    {
        let extent = ds.shape().and_then(|s| s.get(su).copied()).unwrap_or(0);
        if extent <= sd.start || sd.stride == 0 {
            0
        } else {
            (extent - sd.start).div_ceil(sd.stride)
        }
    } else {
        0
    }
}

/// The current dimensions of a virtual dataset: stored ones, grown to cover every unlimited
/// mapping's existing blocks.
pub(crate) fn extent(file: &File, maps: &[Mapping], stored: &[u64]) -> Vec<u64> {
    let mut dims = stored.to_vec();
    let mut sources = Sources::new(file);
    for m in maps {
        if let Some((u, vd)) = unlimited_dim(&m.virtual_sel) {
            let n = block_count(m, &mut sources, file.limits().max_nodes);
            if n > 0 && u < dims.len() {
                let end = vd
                    .start
                    .saturating_add((n - 1).saturating_mul(vd.stride))
                    .saturating_add(vd.block);
                dims[u] = dims[u].max(end);
            }
        }
    }
    dims
}

/// Coordinates of a selection in row-major order, at most `limit` of them.
fn coords(sel: &SelectionEncoding, shape: &[u64], limit: u64) -> Result<Vec<Vec<u64>>> {
    let too_many =
        || Error::Unsupported(format!("a virtual mapping of more than {limit} elements"));
    let product = |per_dim: &[Vec<u64>]| -> Result<Vec<Vec<u64>>> {
        let total = per_dim
            .iter()
            .fold(1u64, |a, v| a.saturating_mul(v.len() as u64));
        if total > limit {
            return Err(too_many());
        }
        let mut out = vec![Vec::new()];
        for vals in per_dim {
            out = out
                .into_iter()
                .flat_map(|p| vals.iter().map(move |&v| [p.clone(), vec![v]].concat()))
                .collect();
        }
        Ok(out)
    };
    match sel {
        SelectionEncoding::None => Ok(Vec::new()),
        SelectionEncoding::All => {
            product(&shape.iter().map(|&n| (0..n).collect()).collect::<Vec<_>>())
        }
        SelectionEncoding::Points(p) => Ok(p.clone()),
        SelectionEncoding::Regular(dims) => {
            let mut per_dim = Vec::with_capacity(dims.len());
            for d in dims {
                let count = if d.count == UNLIMITED { 1 } else { d.count };
                if count.saturating_mul(d.block) > limit {
                    return Err(too_many());
                }
                let set: BTreeSet<u64> = (0..count)
                    .flat_map(|k| (0..d.block).map(move |j| d.start + k * d.stride + j))
                    .collect();
                per_dim.push(set.into_iter().collect::<Vec<_>>());
            }
            product(&per_dim)
        }
        SelectionEncoding::Blocks(blocks) => {
            let mut set = BTreeSet::new();
            for (s, e) in blocks {
                let per_dim: Vec<Vec<u64>> = s
                    .iter()
                    .zip(e)
                    .map(|(&a, &b)| (a..=b.max(a)).collect())
                    .collect();
                set.extend(product(&per_dim)?);
                if set.len() as u64 > limit {
                    return Err(too_many());
                }
            }
            Ok(set.into_iter().collect())
        }
    }
}

/// The selection restricted to block `b` of its unlimited dimension.
fn block_of(sel: &SelectionEncoding, b: u64) -> SelectionEncoding {
    match sel {
        SelectionEncoding::Regular(d) => SelectionEncoding::Regular(
            d.iter()
                .map(|x| {
                    if x.count == UNLIMITED {
                        RegularDim {
                            start: x.start.saturating_add(b.saturating_mul(x.stride)),
                            stride: x.stride,
                            count: 1,
                            block: x.block,
                        }
                    } else {
                        *x
                    }
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Position of `c` in the output of a resolved selection.
fn out_index(res: &Resolved, c: &[u64], points: &HashMap<&[u64], usize>) -> Option<usize> {
    match res {
        Resolved::Points(_) => points.get(c).copied(),
        Resolved::Slab { dims, .. } => {
            let mut idx = 0u64;
            for (d, &x) in dims.iter().zip(c) {
                let p = match d {
                    Dim::Range { start, step, count } => {
                        if x < *start || (x - start) % step != 0 || (x - start) / step >= *count {
                            return None;
                        }
                        (x - start) / step
                    }
                    Dim::List(v) => v.binary_search(&x).ok()? as u64,
                };
                idx = idx * d.count() + p;
            }
            Some(idx as usize)
        }
    }
}

/// Read the selected elements of a virtual dataset of element size `es` into `out` (already
/// holding the fill value).
pub(crate) fn read(
    file: &File,
    maps: &[Mapping],
    dims: &[u64],
    dtype: &h5_format::message::datatype::Datatype,
    res: &Resolved,
    out: &mut [u8],
) -> Result<()> {
    let es = dtype.size() as usize;
    let limit = file.limits().max_data_bytes / es.max(1) as u64;
    let mut sources = Sources::new(file);
    let points: HashMap<&[u64], usize> = match res {
        Resolved::Points(p) => p
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_slice(), i))
            .collect(),
        _ => HashMap::new(),
    };
    for m in maps {
        let instances: Vec<(String, String, SelectionEncoding)> =
            match unlimited_dim(&m.virtual_sel) {
                Some((u, vd)) => {
                    // Only blocks that start inside the virtual extent can hold elements (a
                    // damaged source can claim billions of blocks).
                    let inside = match dims.get(u) {
                        Some(&e) if e > vd.start && vd.stride > 0 => {
                            (e - vd.start).div_ceil(vd.stride)
                        }
                        Some(&e) if e > vd.start => 1,
                        _ => 0,
                    };
                    let n = block_count(m, &mut sources, file.limits().max_nodes).min(inside);
                    if n > file.limits().max_nodes as u64 {
                        return Err(Error::Unsupported(format!(
                            "a virtual mapping from {}:{} has {n} blocks, past the limit of {} \
                             (Limits::max_nodes)",
                            m.file,
                            m.dataset,
                            file.limits().max_nodes
                        )));
                    }
                    let mut v = file
                        .limits()
                        .vec_for(n as usize, "virtual mapping blocks")?;
                    v.extend((0..n).map(|b| {
                        if is_printf(m) {
                            (
                                substitute(&m.file, b),
                                substitute(&m.dataset, b),
                                block_of(&m.virtual_sel, b),
                            )
                        } else {
                            (
                                m.file.clone(),
                                m.dataset.clone(),
                                block_of(&m.virtual_sel, b),
                            )
                        }
                    }));
                    v
                }
                None => vec![(m.file.clone(), m.dataset.clone(), m.virtual_sel.clone())],
            };
        for (b, (sfile, sdset, vsel)) in instances.into_iter().enumerate() {
            let Some(src) = sources.open(&sfile, &sdset) else {
                continue;
            };
            if src.dtype() != dtype {
                return Err(Error::Unsupported(format!(
                    "virtual dataset source {sfile}:{sdset} has another datatype (conversion not implemented)"
                )));
            }
            let vcoords = coords(&vsel, dims, limit)?;
            if !vcoords.iter().any(|c| out_index(res, c, &points).is_some()) {
                continue;
            }
            let sshape = src.shape().unwrap_or_default();
            let ssel = if is_printf(m) {
                m.source.clone()
            } else {
                block_of(&m.source, b as u64)
            };
            let scoords = coords(&ssel, &sshape, limit)?;
            if scoords.len() != vcoords.len() {
                return Err(Error::Unsupported(format!(
                    "virtual mapping from {sfile}:{sdset} selects {} source elements for {} virtual ones",
                    scoords.len(),
                    vcoords.len()
                )));
            }
            let (raw, _) = src.read_raw(Selection::Points(scoords))?;
            for (i, c) in vcoords.iter().enumerate() {
                if let Some(k) = out_index(res, c, &points) {
                    out[k * es..(k + 1) * es].copy_from_slice(&raw[i * es..(i + 1) * es]);
                }
            }
        }
    }
    Ok(())
}

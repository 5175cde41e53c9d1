//! The dataset read engine: a dataset's decoded metadata ([`DatasetInfo`]) and reads of any
//! selection from compact, contiguous (in the file or external files) and chunked storage —
//! chunks decoded in parallel batches, their overlaps copied into the output.

use super::chunks::{self, ChunkLoc, ChunkMap, Geometry};
use super::grid::{self, copy_selection, copy_selection_offset};
use super::selection::{Resolved, Selection};
use crate::base::{
    decode_dataspace_message, decode_datatype_message, decode_message, FileInner, ObjectHeader,
};
use crate::error::{Error, Result};
use h5_format::global_heap;
use h5_format::local_heap;
use h5_format::message::dataspace::{Dataspace, SpaceKind};
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::filter_pipeline::{self, FilterInfo};
use h5_format::message::layout::{self, Chunked, Layout};
use h5_format::message::misc::ExternalFiles;
use h5_format::message::MessageType;
use h5_format::vds::{self, Mapping};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
/// What a dataset's header says about its data, decoded once; the read engine's methods.
pub(crate) struct DatasetInfo {
    /// Object header address (errors name it).
    pub(crate) addr: u64,
    pub(crate) dtype: Datatype,
    pub(crate) space: Dataspace,
    pub(crate) layout: Layout,
    pub(crate) layout_version: u8,
    pub(crate) filters: Vec<FilterInfo>,
    pub(crate) fill: FillValue,
    pub(crate) external: Option<ExternalFiles>,
    /// Mappings of a virtual dataset.
    pub(crate) virtual_maps: Vec<h5_format::vds::Mapping>,
    chunk_map: OnceLock<Arc<ChunkMap>>,
}

impl DatasetInfo {
    /// Decode what a dataset's header says about its data: datatype, dataspace, layout
    /// (checked against the file as libhdf5 2.0 checks it at open), filters, fill value,
    /// external files and virtual mappings. A virtual dataset's extent is the stored one here
    /// (the caller grows unlimited ones from their sources).
    pub(crate) fn load(f: &FileInner, h: &ObjectHeader) -> Result<DatasetInfo> {
        let dtype = decode_datatype_message(
            f,
            h.required(f, MessageType::DATATYPE, "missing datatype message")?,
        )?;
        let space = decode_dataspace_message(
            f,
            h.required(f, MessageType::DATASPACE, "missing dataspace message")?,
        )?;
        let lm = h.find(MessageType::LAYOUT).ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                f.offset_of(h.addr),
                "missing layout message",
            ))
        })?;
        let (layout, v) = f.dec(layout::decode(&mut lm.reader(f, "layout message")))?;
        let filters = match h.find(MessageType::FILTER_PIPELINE) {
            Some(m) => decode_message(f, m, "filter pipeline message", filter_pipeline::decode)?,
            None => Vec::new(),
        };
        let fill = if let Some(m) = h.find(MessageType::FILL_VALUE) {
            decode_message(f, m, "fill value message", FillValue::decode)?
        } else if let Some(m) = h.find(MessageType::FILL_VALUE_OLD) {
            decode_message(f, m, "fill value message (old)", FillValue::decode_old)?
        } else {
            FillValue::default()
        };
        let external = match h.find(MessageType::EXTERNAL_FILES) {
            Some(m) => Some(f.dec(ExternalFiles::decode(
                &mut m.reader(f, "external files message"),
            ))?),
            None => None,
        };
        if let Layout::Chunked(c) = &layout {
            if c.dims.len() != space.dims.len() {
                return Err(h5_format::Error::invalid(
                    "layout message",
                    f.offset_of(lm.addr),
                    "chunk rank differs from the dataspace rank",
                )
                .into());
            }
        }
        if let (
            Layout::Contiguous {
                addr: Some(a),
                size,
            },
            None,
        ) = (&layout, &external)
        {
            // As libhdf5 2.0 checks at open: stored data must have the dataspace's size
            // (a damaged dataspace claiming gigabytes over a small block is refused here,
            // before anything is allocated) and lie inside the file.
            let bad = |what: &'static str| -> Error {
                h5_format::Error::invalid("layout message", f.offset_of(lm.addr), what).into()
            };
            let need = space
                .num_elements()
                .checked_mul(dtype.size())
                .ok_or_else(|| bad("invalid dataset size, likely file corruption (overflow)"))?;
            if need == 0 {
                return Err(bad(
                    "invalid dataset size, likely file corruption (data for no elements)",
                ));
            }
            if size.is_some_and(|s| s != need) {
                return Err(bad(
                    "invalid dataset size, likely file corruption (stored size differs from \
                     the dataspace's)",
                ));
            }
            // the file as it is now (a file being written has grown past its superblock's EOF)
            let eof = f.storage.len().saturating_sub(f.base);
            if a.checked_add(need).is_none_or(|end| end > eof) {
                return Err(bad("dataset data extends beyond the end of the file"));
            }
        }
        let mut virtual_maps = Vec::new();
        if let Layout::Virtual { heap_addr, index } = &layout {
            let heap = heap_addr.ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "layout message",
                    f.offset_of(lm.addr),
                    "virtual mapping address",
                ))
            })?;
            virtual_maps = mappings(f, heap, *index)?;
        }
        Ok(DatasetInfo {
            addr: h.addr,
            dtype,
            space,
            layout,
            layout_version: v.0,
            filters,
            fill,
            external,
            virtual_maps,
            chunk_map: OnceLock::new(),
        })
    }

    /// Read a selection as stored bytes (the fill value where nothing is stored) and the
    /// result's shape. A virtual dataset's mappings are read by `virtual_read` (its sources
    /// are other datasets, which this layer does not open).
    pub(crate) fn read_selection(
        &self,
        f: &FileInner,
        sel: &Selection,
        virtual_read: impl FnOnce(&Resolved, &mut [u8]) -> Result<()>,
    ) -> Result<(Vec<u8>, Vec<u64>)> {
        let Some(res) = self.resolve(sel)? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let total = self.selection_bytes(&res)?;
        let mut out = f.data_buffer(total)?;
        self.read_resolved(f, &res, &mut out, virtual_read)?;
        Ok((out, res.out_shape()))
    }

    /// The selection resolved against the dataset's shape; `None` for a null dataspace.
    pub(crate) fn resolve(&self, sel: &Selection) -> Result<Option<Resolved>> {
        if self.space.kind == SpaceKind::Null {
            return Ok(None);
        }
        Ok(Some(sel.resolve(&self.space.dims)?))
    }

    /// Bytes a resolved selection reads as.
    pub(crate) fn selection_bytes(&self, res: &Resolved) -> Result<u64> {
        res.len()
            .checked_mul(self.dtype.size())
            .ok_or_else(|| Error::Selection("selection too large".into()))
    }

    /// Read a resolved selection as stored bytes into `out` (exactly
    /// [`selection_bytes`](Self::selection_bytes) long): the caller's buffer, so a typed read
    /// whose memory type equals the stored type moves each byte once.
    pub(crate) fn read_resolved(
        &self,
        f: &FileInner,
        res: &Resolved,
        out: &mut [u8],
        virtual_read: impl FnOnce(&Resolved, &mut [u8]) -> Result<()>,
    ) -> Result<()> {
        let info = self;
        let dims = &info.space.dims;
        let es = info.dtype.size();
        self.fill(out);
        if res.len() == 0 {
            return Ok(());
        }
        match &info.layout {
            Layout::Compact { data } => {
                let need = self.dataset_bytes()?;
                let src = data.get(..need as usize).ok_or_else(|| {
                    Error::from(h5_format::Error::invalid(
                        "layout message",
                        f.offset_of(self.addr),
                        "compact data smaller than the dataset",
                    ))
                })?;
                copy_selection(src, &vec![0; dims.len()], dims, res, es as usize, out);
            }
            Layout::Contiguous { addr, .. } => {
                if let Some(ext) = &info.external {
                    let data = self.read_external(f, ext)?;
                    copy_selection(&data, &vec![0; dims.len()], dims, res, es as usize, out);
                } else if let Some(a) = addr {
                    self.read_contiguous(f, *a, res, out)?;
                }
            }
            Layout::Chunked(c) => {
                let map = self.chunk_map(f)?;
                self.read_chunked(f, c, &map, res, out)?;
            }
            Layout::Virtual { .. } => virtual_read(res, out)?,
        }
        Ok(())
    }

    pub(crate) fn dataset_bytes(&self) -> Result<u64> {
        self.space
            .num_elements()
            .checked_mul(self.dtype.size())
            .ok_or_else(|| Error::Selection("dataset size overflows".into()))
    }

    /// Fill the output with the fill value (zeros when none is defined). A variable-length
    /// fill value is stored as libhdf5 stores it — a global heap reference — and fills as
    /// that reference.
    pub(crate) fn fill(&self, out: &mut [u8]) {
        let es = self.dtype.size() as usize;
        if let Some(v) = &self.fill.value {
            if v.len() == es && v.iter().any(|&b| b != 0) {
                for c in out.chunks_exact_mut(es) {
                    c.copy_from_slice(v);
                }
            }
        }
    }

    pub(crate) fn chunk_map(&self, f: &FileInner) -> Result<Arc<ChunkMap>> {
        if let Some(m) = self.chunk_map.get() {
            return Ok(m.clone());
        }
        let Layout::Chunked(c) = &self.layout else {
            unreachable!("only chunked layouts have a chunk map")
        };
        let geo = Geometry {
            chunked: c,
            dims: &self.space.dims,
            max_dims: self.space.max_dims(),
            chunk_bytes: self.chunk_bytes(f, c)?,
            filtered: !self.filters.is_empty(),
        };
        let m = Arc::new(chunks::chunk_map(f, &geo)?);
        Ok(self.chunk_map.get_or_init(|| m).clone())
    }

    fn chunk_bytes(&self, f: &FileInner, c: &Chunked) -> Result<u64> {
        c.dims
            .iter()
            .try_fold(self.dtype.size(), |a, &d| a.checked_mul(d))
            .filter(|&n| n <= u32::MAX as u64 * 16)
            .ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "layout message",
                    f.offset_of(self.addr),
                    "chunk size",
                ))
            })
    }

    /// Read and decode the chunk at grid position `scaled`.
    fn read_chunk(
        &self,
        f: &FileInner,
        c: &Chunked,
        scaled: &[u64],
        loc: &ChunkLoc,
        chunk_bytes: u64,
    ) -> Result<Vec<u8>> {
        let mut out = f.data_buffer(chunk_bytes)?;
        self.read_chunk_into(f, c, scaled, loc, &mut out)?;
        Ok(out)
    }

    /// Read and decode one chunk into `out` (its unfiltered size): unfiltered chunks are read
    /// straight into it, filtered ones decoded into it by their pipeline's last step.
    fn read_chunk_into(
        &self,
        f: &FileInner,
        c: &Chunked,
        scaled: &[u64],
        loc: &ChunkLoc,
        out: &mut [u8],
    ) -> Result<()> {
        let chunk_bytes = out.len() as u64;
        // Layout v4 flag: partial edge chunks are stored without filters.
        let edge = c.dont_filter_partial_edge
            && scaled
                .iter()
                .zip(&c.dims)
                .zip(&self.space.dims)
                .any(|((&s, &cd), &d)| (s + 1) * cd > d);
        if self.filters.is_empty() || edge {
            return f.read_data(loc.addr, out, "chunk");
        }
        if loc.size > chunk_bytes.saturating_mul(2).saturating_add(1 << 20) {
            return Err(h5_format::Error::invalid(
                "chunk index",
                f.offset_of(loc.addr),
                "filtered chunk size",
            )
            .into());
        }
        let mut buf = f.data_buffer(loc.size)?;
        f.read_data(loc.addr, &mut buf, "chunk")?;
        let es = self.dtype.size() as usize;
        let params: Vec<h5_filters::FilterParams<'_>> = self
            .filters
            .iter()
            .map(|fi| h5_filters::FilterParams {
                id: fi.id,
                client_data: &fi.client_data,
                element_size: es,
            })
            .collect();
        f.filters
            .decode_chunk_into(&params, loc.mask, buf, out)
            .map_err(|source| Error::Filter {
                source,
                offset: f.offset_of(loc.addr),
            })
    }

    fn read_chunked(
        &self,
        f: &FileInner,
        c: &Chunked,
        map: &ChunkMap,
        res: &Resolved,
        out: &mut [u8],
    ) -> Result<()> {
        let dims = &self.space.dims;
        let es = self.dtype.size() as usize;
        let cb = self.chunk_bytes(f, c)?;
        let cd = &c.dims;
        match res {
            Resolved::Slab { dims: sel, .. } => {
                // Chunk grid coordinates touched, per dimension.
                let touched: Vec<Vec<u64>> = sel
                    .iter()
                    .zip(cd)
                    .map(|(d, &c)| chunks::touched_chunks(d, c))
                    .collect();
                let rank = dims.len();
                if rank == 0 {
                    if let Some(loc) = map.get(&Vec::new()) {
                        let data = self.read_chunk(f, c, &[], loc, cb)?;
                        out[..es].copy_from_slice(&data[..es]);
                    }
                    return Ok(());
                }
                if touched.iter().any(|t| t.is_empty()) {
                    return Ok(());
                }
                // The stored chunks the selection touches, in grid order; those that land
                // whole as one run of the output are decoded straight into it.
                let mut jobs: Vec<(Vec<u64>, ChunkLoc)> = Vec::new();
                let mut direct: Vec<(usize, Vec<u64>, ChunkLoc)> = Vec::new();
                chunks::grid_product(&touched, |scaled| {
                    if let Some(loc) = map.get(&scaled) {
                        match grid::whole_run(&scaled, cd, sel) {
                            Some(at) => direct.push((at * es, scaled, *loc)),
                            None => jobs.push((scaled, *loc)),
                        }
                    }
                });
                if !direct.is_empty() {
                    direct.sort_by_key(|d| d.0);
                    let mut parts = Vec::with_capacity(direct.len());
                    let mut rest: &mut [u8] = out;
                    let mut at = 0;
                    for (start, scaled, loc) in &direct {
                        // disjoint and inside the output by construction; checked all the same
                        let gap = start.checked_sub(at).filter(|&g| {
                            g.checked_add(cb as usize).is_some_and(|e| e <= rest.len())
                        });
                        let Some(gap) = gap else {
                            jobs.push((scaled.clone(), *loc));
                            continue;
                        };
                        let (_, tail) = std::mem::take(&mut rest).split_at_mut(gap);
                        let (part, tail) = tail.split_at_mut(cb as usize);
                        parts.push((part, (scaled, loc)));
                        rest = tail;
                        at = start + cb as usize;
                    }
                    chunks::par_each(parts, |part, (scaled, loc)| {
                        self.read_chunk_into(f, c, scaled, loc, part)
                    })?;
                    if jobs.is_empty() {
                        return Ok(());
                    }
                    // `out` was split up above: the rest is copied into it below
                }
                // Decode a batch of chunks in parallel, each into its worker's buffer (used
                // again for the next), keeping only the runs the selection takes; then copy
                // those into the output.
                for batch in jobs.chunks(chunks::PARALLEL_BATCH) {
                    let picked = chunks::par_map_init(batch, |buf: &mut Vec<u8>, (scaled, loc)| {
                        // allocated once per worker as data buffers are (the limit checked,
                        // refused memory an error, pages zeroed lazily); read_chunk_into
                        // fills the whole chunk or fails
                        if buf.len() as u64 != cb {
                            *buf = f.data_buffer(cb)?;
                        }
                        self.read_chunk_into(f, c, scaled, loc, buf)?;
                        let origin: Vec<u64> =
                            scaled.iter().zip(cd).map(|(&s, &c)| s * c).collect();
                        let (mut runs, mut bytes) = (Vec::new(), Vec::new());
                        grid::for_each_run(0, &origin, cd, res, es, |block, at, n| {
                            if let Some(v) = buf.get(block..block + n) {
                                runs.push((at, n));
                                bytes.extend_from_slice(v);
                            }
                        });
                        Ok::<_, Error>((runs, bytes))
                    });
                    for p in picked {
                        let (runs, bytes) = p?;
                        let mut from = 0;
                        for (at, n) in runs {
                            out[at..at + n].copy_from_slice(&bytes[from..from + n]);
                            from += n;
                        }
                    }
                }
                Ok(())
            }
            Resolved::Points(pts) => {
                let mut by_chunk: HashMap<Vec<u64>, Vec<usize>> = HashMap::new();
                for (k, p) in pts.iter().enumerate() {
                    let s: Vec<u64> = p.iter().zip(cd).map(|(&x, &c)| x / c).collect();
                    by_chunk.entry(s).or_default().push(k);
                }
                let jobs: Vec<(Vec<u64>, ChunkLoc, Vec<usize>)> = by_chunk
                    .into_iter()
                    .filter_map(|(scaled, ks)| map.get(&scaled).map(|loc| (scaled, *loc, ks)))
                    .collect();
                for batch in jobs.chunks(chunks::PARALLEL_BATCH) {
                    let decoded = chunks::par_map(batch, |(scaled, loc, _)| {
                        self.read_chunk(f, c, scaled, loc, cb)
                    });
                    for ((scaled, _, ks), data) in batch.iter().zip(decoded) {
                        let data = data?;
                        for &k in ks {
                            let p = &pts[k];
                            let off = p
                                .iter()
                                .zip(scaled)
                                .zip(cd)
                                .fold(0u64, |a, ((&x, &s), &c)| a * c + (x - s * c))
                                as usize
                                * es;
                            out[k * es..(k + 1) * es].copy_from_slice(&data[off..off + es]);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn read_contiguous(
        &self,
        f: &FileInner,
        addr: u64,
        res: &Resolved,
        out: &mut [u8],
    ) -> Result<()> {
        let dims = &self.space.dims;
        let es = self.dtype.size();
        let total = self.dataset_bytes()?;
        if let Layout::Contiguous { size: Some(s), .. } = self.layout {
            if s < total {
                return Err(h5_format::Error::invalid(
                    "layout message",
                    f.offset_of(self.addr),
                    "contiguous size smaller than the dataset",
                )
                .into());
            }
        }
        // Read the span of elements the selection covers, then copy out of it.
        if let Some(lo) = super::grid::one_run(dims, res) {
            // one run of the file: straight into the caller's buffer, positional reads of
            // 16 MiB on every core
            let at = addr + lo * es;
            if total <= 4096 {
                return f.read_small_data(at, out, "contiguous data");
            }
            return chunks::par_fill(out, 16 << 20, |off, part| {
                f.read_data(at + off as u64, part, "contiguous data")
            });
        }
        let (lo, hi) = super::grid::span(dims, res);
        let mut span = f.data_buffer((hi - lo + 1) * es)?;
        f.read_data(addr + lo * es, &mut span, "contiguous data")?;
        // Copy as if the span were a chunk starting at element `lo`.
        copy_selection_offset(
            &span,
            lo as usize * es as usize,
            dims,
            res,
            es as usize,
            out,
        );
        Ok(())
    }

    /// Where a selection that is one run of a contiguous dataset's storage starts in the
    /// file (`None`: not one run, not stored in this file, or nothing written yet).
    pub(crate) fn contiguous_run(&self, f: &FileInner, res: &Resolved) -> Result<Option<u64>> {
        let Layout::Contiguous {
            addr: Some(addr),
            size,
        } = self.layout
        else {
            return Ok(None);
        };
        if res.len() == 0 {
            // nothing to read (and no span to take)
            return Ok(None);
        }
        if self.external.is_some() {
            return Ok(None);
        }
        let total = self.dataset_bytes()?;
        if size.is_some_and(|s| s < total) {
            return Err(h5_format::Error::invalid(
                "layout message",
                f.offset_of(self.addr),
                "contiguous size smaller than the dataset",
            )
            .into());
        }
        Ok(super::grid::one_run(&self.space.dims, res).map(|lo| addr + lo * self.dtype.size()))
    }

    fn read_external(&self, f: &FileInner, ext: &ExternalFiles) -> Result<Vec<u8>> {
        let total = self.dataset_bytes()?;
        let mut out = f.data_buffer(total)?;
        let heap_addr = ext
            .heap_addr
            .ok_or_else(|| Error::Unsupported("external files without a name heap".into()))?;
        let (heap, names) = f.local_heap(heap_addr)?;
        let mut pos = 0u64;
        for slot in &ext.slots {
            if pos >= total {
                break;
            }
            let name = f.dec(local_heap::string_at(
                &names,
                slot.name_offset,
                heap.data_addr,
            ))?;
            let name = String::from_utf8_lossy(name).into_owned();
            let n = slot.size.min(total - pos);
            let mut path = std::path::PathBuf::from(&name);
            if !path.exists() {
                if let Some(dir) = f.path.as_deref().and_then(|p| p.parent()) {
                    path = dir.join(&name);
                }
            }
            let file = crate::storage::FileStorage::open(&path)
                .map_err(|e| Error::Unsupported(format!("external data file {name:?}: {e}")))?;
            use crate::storage::Storage;
            file.read_at(slot.file_offset, &mut out[pos as usize..(pos + n) as usize])
                .map_err(|e| Error::Unsupported(format!("external data file {name:?}: {e}")))?;
            pos += n;
        }
        Ok(out)
    }
}

/// The mapping block of a virtual layout.
fn mappings(f: &FileInner, heap_addr: u64, index: u32) -> Result<Vec<Mapping>> {
    let coll = f.global_heap_collection(heap_addr)?;
    let obj = f.dec(global_heap::find_object(&coll, heap_addr, f.sizes, index))?;
    f.dec(vds::decode(obj, heap_addr, f.sizes))
}

//! [`Dataset`]: metadata and reads (whole, hyperslab, points, masks) for every layout.

use crate::attribute::Attributes;
use crate::error::{Error, Result};
use crate::file::File;
use crate::object::Object;
use crate::raw::FileInner;
use crate::read::chunks::{self, ChunkLoc, ChunkMap, Geometry};
use crate::read::convert::{convert_slice, H5Type};
use crate::read::selection::{Resolved, Selection};
use crate::read::value::Value;
use h5_format::local_heap;
use h5_format::message::dataspace::{Dataspace, SpaceKind};
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::filter_pipeline::{self, FilterInfo};
use h5_format::message::layout::{self, Chunked, Layout};
use h5_format::message::misc::ExternalFiles;
use h5_format::message::MessageType;
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// How a dataset's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// In the object header.
    Compact,
    /// One block.
    Contiguous,
    /// Chunks.
    Chunked,
    /// A virtual dataset.
    Virtual,
}

#[derive(Debug)]
pub(crate) struct DatasetInfo {
    pub(crate) dtype: Datatype,
    pub(crate) space: Dataspace,
    pub(crate) layout: Layout,
    pub(crate) layout_version: u8,
    pub(crate) filters: Vec<FilterInfo>,
    pub(crate) fill: FillValue,
    pub(crate) external: Option<ExternalFiles>,
    /// Mappings of a virtual dataset.
    virtual_maps: Vec<h5_format::vds::Mapping>,
    chunk_map: OnceLock<Arc<ChunkMap>>,
}

/// A dataset. Cheap to clone; reads take `&self` and may run on many threads at once.
#[derive(Debug, Clone)]
pub struct Dataset {
    obj: Object,
    info: Arc<DatasetInfo>,
    /// Loaded for one operation from the current header (never reloads again).
    current: bool,
}

/// One stored chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Element coordinates of the chunk's first element.
    pub offset: Vec<u64>,
    /// File address (relative to the base address).
    pub addr: u64,
    /// Bytes stored (after filters).
    pub size: u64,
    /// Filter mask: bit i set = filter i was skipped for this chunk.
    pub filter_mask: u32,
}

/// A committed (named) datatype.
#[derive(Debug, Clone)]
pub struct NamedDatatype {
    pub(crate) obj: Object,
}

impl NamedDatatype {
    /// The type.
    pub fn dtype(&self) -> Result<Datatype> {
        self.obj.datatype()
    }
    /// Its attributes.
    pub fn attrs(&self) -> Attributes {
        Attributes::new(self.obj.clone())
    }
    /// Path it was reached by.
    pub fn name(&self) -> &str {
        &self.obj.path
    }
    /// Object header address (relative to the base address): what h5py's
    /// `h5o.get_info(t.id).addr` shows, and what a dataset using the type refers to.
    pub fn addr(&self) -> u64 {
        self.obj.addr()
    }
}

impl Dataset {
    pub(crate) fn from_object(obj: Object) -> Result<Dataset> {
        let info = Self::load_info(&obj).map_err(|e| e.at(&obj.path))?;
        Ok(Dataset {
            obj,
            info: Arc::new(info),
            current: false,
        })
    }

    fn load_info(obj: &Object) -> Result<DatasetInfo> {
        let f = obj.f();
        let h = &obj.header;
        let dtype = obj.datatype()?;
        let mut space = obj.dataspace()?;
        let lm = h.find(MessageType::LAYOUT).ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                f.offset_of(h.addr),
                "missing layout message",
            ))
        })?;
        let (layout, v) = f.dec(layout::decode(&mut lm.reader(f, "layout message")))?;
        use crate::raw::decode_message;
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
            virtual_maps = crate::virtual_ds::mappings(f, heap, *index)?;
            let maps = &virtual_maps;
            let dims = crate::virtual_ds::nested(|| {
                Ok(crate::virtual_ds::extent(&obj.file, maps, &space.dims))
            })?;
            space.dims = dims;
        }
        Ok(DatasetInfo {
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

    fn f(&self) -> &FileInner {
        self.obj.f()
    }

    /// Path the dataset was reached by.
    pub fn name(&self) -> &str {
        &self.obj.path
    }
    /// Object header address.
    pub fn addr(&self) -> u64 {
        self.obj.addr()
    }
    /// The file.
    pub fn file(&self) -> &File {
        &self.obj.file
    }
    /// The header address of the committed datatype the dataset uses (h5py:
    /// `dset.id.get_type().committed()`), `None` when its type is its own.
    ///
    /// # Errors
    /// A damaged shared datatype message.
    pub fn committed_type(&self) -> Result<Option<u64>> {
        self.obj.committed_type()
    }
    /// Element type.
    pub fn dtype(&self) -> &Datatype {
        &self.info.dtype
    }
    /// Dataspace.
    pub fn space(&self) -> &Dataspace {
        &self.info.space
    }
    /// This dataset as its header says now. A handle caches what it read at open; in a file
    /// open for writing the header may have changed since (data allocated, resized), so reads
    /// and shape queries there use the current header.
    fn current(&self) -> Result<std::borrow::Cow<'_, Dataset>> {
        if self.current || self.obj.file.inner.write.is_none() {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let obj = Object::load(&self.obj.file, self.addr(), &self.obj.path)?;
        let mut now = Dataset::from_object(obj)?;
        now.current = true;
        Ok(std::borrow::Cow::Owned(now))
    }

    /// Shape (`[]` for a scalar; `None` for a null dataspace).
    pub fn shape(&self) -> Option<Vec<u64>> {
        if let Ok(std::borrow::Cow::Owned(now)) = self.current() {
            return now.shape();
        }
        match self.info.space.kind {
            SpaceKind::Null => None,
            _ => Some(self.info.space.dims.clone()),
        }
    }
    /// Maximum shape: `None` entries are unlimited.
    pub fn maxshape(&self) -> Option<Vec<Option<u64>>> {
        if let Ok(std::borrow::Cow::Owned(now)) = self.current() {
            return now.maxshape();
        }
        match self.info.space.kind {
            SpaceKind::Null => None,
            _ => Some(
                self.info
                    .space
                    .max_dims()
                    .iter()
                    .map(|&m| (m != u64::MAX).then_some(m))
                    .collect(),
            ),
        }
    }
    /// Number of elements.
    pub fn size(&self) -> u64 {
        if let Ok(std::borrow::Cow::Owned(now)) = self.current() {
            return now.size();
        }
        self.info.space.num_elements()
    }
    /// Storage layout.
    pub fn layout(&self) -> LayoutKind {
        match self.info.layout {
            Layout::Compact { .. } => LayoutKind::Compact,
            Layout::Contiguous { .. } => LayoutKind::Contiguous,
            Layout::Chunked(_) => LayoutKind::Chunked,
            Layout::Virtual { .. } => LayoutKind::Virtual,
        }
    }
    /// Chunk shape when chunked.
    pub fn chunks(&self) -> Option<Vec<u64>> {
        match &self.info.layout {
            Layout::Chunked(c) => Some(c.dims.clone()),
            _ => None,
        }
    }
    /// Filter pipeline, in encoding order.
    pub fn filters(&self) -> &[FilterInfo] {
        &self.info.filters
    }
    /// The fill value message.
    pub fn fill_value(&self) -> &FillValue {
        &self.info.fill
    }
    /// Layout message version.
    pub fn layout_version(&self) -> u8 {
        self.info.layout_version
    }
    /// Attributes.
    pub fn attrs(&self) -> Attributes {
        Attributes::new(self.obj.clone())
    }

    /// Where each stored chunk is, in grid order (h5py's `get_chunk_info`). Empty when the
    /// dataset is not chunked or nothing was written.
    pub fn chunk_info(&self) -> Result<Vec<ChunkInfo>> {
        if let std::borrow::Cow::Owned(now) = self.current()? {
            return now.chunk_info();
        }
        let Layout::Chunked(c) = &self.info.layout else {
            return Ok(Vec::new());
        };
        let map = self.chunk_map().map_err(|e| e.at(self.name()))?;
        let mut v: Vec<ChunkInfo> = map
            .iter()
            .map(|(scaled, loc)| ChunkInfo {
                offset: scaled.iter().zip(&c.dims).map(|(&s, &d)| s * d).collect(),
                addr: loc.addr,
                size: loc.size,
                filter_mask: loc.mask,
            })
            .collect();
        v.sort_by(|a, b| a.offset.cmp(&b.offset));
        Ok(v)
    }

    /// Read everything into an n-dimensional array of `T` (numeric types and bool).
    pub fn read<T: H5Type>(&self) -> Result<ArrayD<T>> {
        self.read_slice(&Selection::All)
    }

    /// Read everything as a flat `Vec<T>` in row-major order.
    pub fn read_vec<T: H5Type>(&self) -> Result<Vec<T>> {
        let (raw, _) = self.read_raw(&Selection::All)?;
        convert_slice(&self.obj.file.inner, &self.info.dtype, &raw).map_err(|e| e.at(self.name()))
    }

    /// Read a selection into an array (an integer index drops its dimension, as in numpy).
    pub fn read_slice<T: H5Type>(&self, sel: &Selection) -> Result<ArrayD<T>> {
        let (raw, shape) = self.read_raw(sel)?;
        let v = convert_slice(&self.obj.file.inner, &self.info.dtype, &raw)
            .map_err(|e| e.at(self.name()))?;
        let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| Error::Selection(e.to_string()))
    }

    /// Split a selection into pieces of at most about `max_elements` elements each, in
    /// row-major order (aligned to chunk boundaries where that is cheap), to read a selection
    /// of any size in bounded memory: reading the pieces in turn (with [`Dataset::read_values`],
    /// [`Dataset::read_raw`] or [`Dataset::read_slice`]) gives the elements of one read of the
    /// whole selection, in order. See [`crate::Batches`] for the bound.
    ///
    /// # Errors
    /// A selection that does not fit the dataset's shape.
    pub fn batches(&self, sel: &Selection, max_elements: u64) -> Result<crate::Batches> {
        let shape = self.shape();
        let chunks = self.chunks();
        crate::Batches::new(sel, shape.as_deref(), chunks.as_deref(), max_elements)
            .map_err(|e| e.at(self.name()))
    }

    /// Read a selection as dynamic values (any datatype), with the result's shape.
    pub fn read_values(&self, sel: &Selection) -> Result<(Vec<Value>, Vec<u64>)> {
        let (raw, shape) = self.read_raw(sel)?;
        let v = crate::read::value::decode_all(&self.obj.file.inner, &self.info.dtype, &raw)
            .map_err(|e| e.at(self.name()))?;
        Ok((v, shape))
    }

    /// Read a selection into any [`crate::FromValue`] type (your structs for compound data,
    /// `String`, `Vec<T>` for arrays and vlen sequences, numbers).
    pub fn read_as<T: crate::FromValue>(&self, sel: &Selection) -> Result<Vec<T>> {
        let (values, _) = self.read_values(sel)?;
        values
            .iter()
            .map(T::from_value)
            .collect::<Result<_>>()
            .map_err(|e| e.at(self.name()))
    }

    /// A region reference to a selection of this dataset (h5py's `dset.regionref[...]`), to
    /// store in a dataset or attribute of type [`crate::read::types::region_ref`] as a
    /// [`Value::RegionRef`]. The selection is described as libhdf5 describes it: everything
    /// for [`Selection::All`], points for point lists and masks, a regular hyperslab when
    /// every axis is evenly spaced runs of one length, else a list of blocks.
    ///
    /// # Errors
    /// A selection outside the dataset's shape; a dataset with a null dataspace.
    pub fn region(&self, sel: &Selection) -> Result<crate::Region> {
        use h5_format::selection::{RegularDim, SelectionEncoding};
        let object = self.addr();
        if *sel == Selection::All {
            return Ok(crate::Region {
                object,
                selection: Some(SelectionEncoding::All),
            });
        }
        let dims = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        let selection = match sel.resolve(&dims)? {
            crate::read::selection::Resolved::Points(p) if p.is_empty() => SelectionEncoding::None,
            crate::read::selection::Resolved::Points(p) => SelectionEncoding::Points(p),
            crate::read::selection::Resolved::Slab { dims, .. } => {
                // per axis: runs of consecutive coordinates (start, length)
                let runs: Vec<Vec<(u64, u64)>> = dims
                    .iter()
                    .map(|d| {
                        let mut out: Vec<(u64, u64)> = Vec::new();
                        for i in 0..d.count() {
                            let c = d.coord(i);
                            match out.last_mut() {
                                Some((s, n)) if *s + *n == c => *n += 1,
                                _ => out.push((c, 1)),
                            }
                        }
                        out
                    })
                    .collect();
                let regular = |r: &[(u64, u64)]| -> Option<RegularDim> {
                    let (start, block) = *r.first()?;
                    let stride = r.get(1).map_or(1, |x| x.0 - start);
                    r.iter()
                        .enumerate()
                        .all(|(i, &(s, n))| n == block && s == start + i as u64 * stride)
                        .then_some(RegularDim {
                            start,
                            stride,
                            count: r.len() as u64,
                            block,
                        })
                };
                if runs.iter().any(Vec::is_empty) {
                    SelectionEncoding::None
                } else if let Some(reg) =
                    runs.iter().map(|r| regular(r)).collect::<Option<Vec<_>>>()
                {
                    SelectionEncoding::Regular(reg)
                } else {
                    // the product of the axes' runs, in row-major order
                    let mut blocks: Vec<(Vec<u64>, Vec<u64>)> = vec![(Vec::new(), Vec::new())];
                    for r in &runs {
                        blocks = blocks
                            .iter()
                            .flat_map(|(s, e)| {
                                r.iter().map(move |&(a, n)| {
                                    let (mut s, mut e) = (s.clone(), e.clone());
                                    s.push(a);
                                    e.push(a + n - 1);
                                    (s, e)
                                })
                            })
                            .collect();
                    }
                    SelectionEncoding::Blocks(blocks)
                }
            }
        };
        Ok(crate::Region {
            object,
            selection: Some(selection),
        })
    }

    /// Read a selection as raw stored bytes (file byte order) and the result's shape.
    pub fn read_raw(&self, sel: &Selection) -> Result<(Vec<u8>, Vec<u64>)> {
        let now = self.current().map_err(|e| e.at(self.name()))?;
        now.read_raw_inner(sel).map_err(|e| e.at(self.name()))
    }

    fn read_raw_inner(&self, sel: &Selection) -> Result<(Vec<u8>, Vec<u64>)> {
        let info = &*self.info;
        if info.space.kind == SpaceKind::Null {
            return Ok((Vec::new(), Vec::new()));
        }
        let dims = &info.space.dims;
        let res = sel.resolve(dims)?;
        let es = info.dtype.size();
        let total = res
            .len()
            .checked_mul(es)
            .ok_or_else(|| Error::Selection("selection too large".into()))?;
        let mut out = self.f().data_buffer(total)?;
        self.fill(&mut out);
        if res.len() == 0 {
            return Ok((out, res.out_shape()));
        }
        match &info.layout {
            Layout::Compact { data } => {
                let need = self.dataset_bytes()?;
                let src = data.get(..need as usize).ok_or_else(|| {
                    Error::from(h5_format::Error::invalid(
                        "layout message",
                        self.f().offset_of(self.addr()),
                        "compact data smaller than the dataset",
                    ))
                })?;
                copy_selection(src, &vec![0; dims.len()], dims, &res, es as usize, &mut out);
            }
            Layout::Contiguous { addr, .. } => {
                if let Some(ext) = &info.external {
                    let data = self.read_external(ext)?;
                    copy_selection(
                        &data,
                        &vec![0; dims.len()],
                        dims,
                        &res,
                        es as usize,
                        &mut out,
                    );
                } else if let Some(a) = addr {
                    self.read_contiguous(*a, &res, &mut out)?;
                }
            }
            Layout::Chunked(c) => {
                let map = self.chunk_map()?;
                self.read_chunked(c, &map, &res, &mut out)?;
            }
            Layout::Virtual { .. } => {
                let (file, maps, dt) = (&self.obj.file, &info.virtual_maps, &info.dtype);
                crate::virtual_ds::nested(|| {
                    crate::virtual_ds::read(file, maps, dims, dt, &res, &mut out)
                })?;
            }
        }
        Ok((out, res.out_shape()))
    }

    fn dataset_bytes(&self) -> Result<u64> {
        self.info
            .space
            .num_elements()
            .checked_mul(self.info.dtype.size())
            .ok_or_else(|| Error::Selection("dataset size overflows".into()))
    }

    /// Fill the output with the fill value (zeros when none is defined). A variable-length
    /// fill value is stored as libhdf5 stores it — a global heap reference — and fills as
    /// that reference.
    fn fill(&self, out: &mut [u8]) {
        let es = self.info.dtype.size() as usize;
        if let Some(v) = &self.info.fill.value {
            if v.len() == es && v.iter().any(|&b| b != 0) {
                for c in out.chunks_exact_mut(es) {
                    c.copy_from_slice(v);
                }
            }
        }
    }

    fn chunk_map(&self) -> Result<Arc<ChunkMap>> {
        if let Some(m) = self.info.chunk_map.get() {
            return Ok(m.clone());
        }
        let Layout::Chunked(c) = &self.info.layout else {
            unreachable!("only chunked layouts have a chunk map")
        };
        let geo = Geometry {
            chunked: c,
            dims: &self.info.space.dims,
            max_dims: self.info.space.max_dims(),
            chunk_bytes: self.chunk_bytes(c)?,
            filtered: !self.info.filters.is_empty(),
        };
        let m = Arc::new(chunks::chunk_map(self.f(), &geo)?);
        Ok(self.info.chunk_map.get_or_init(|| m).clone())
    }

    fn chunk_bytes(&self, c: &h5_format::message::layout::Chunked) -> Result<u64> {
        c.dims
            .iter()
            .try_fold(self.info.dtype.size(), |a, &d| a.checked_mul(d))
            .filter(|&n| n <= u32::MAX as u64 * 16)
            .ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "layout message",
                    self.f().offset_of(self.addr()),
                    "chunk size",
                ))
            })
    }

    /// Read and decode the chunk at grid position `scaled`.
    fn read_chunk(
        &self,
        c: &Chunked,
        scaled: &[u64],
        loc: &ChunkLoc,
        chunk_bytes: u64,
    ) -> Result<Vec<u8>> {
        let f = self.f();
        // Layout v4 flag: partial edge chunks are stored without filters.
        let edge = c.dont_filter_partial_edge
            && scaled
                .iter()
                .zip(&c.dims)
                .zip(&self.info.space.dims)
                .any(|((&s, &cd), &d)| (s + 1) * cd > d);
        if self.info.filters.is_empty() || edge {
            let mut buf = f.data_buffer(chunk_bytes)?;
            f.read_data(loc.addr, &mut buf, "chunk")?;
            return Ok(buf);
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
        let es = self.info.dtype.size() as usize;
        let params: Vec<h5_filters::FilterParams<'_>> = self
            .info
            .filters
            .iter()
            .map(|fi| h5_filters::FilterParams {
                id: fi.id,
                client_data: &fi.client_data,
                element_size: es,
            })
            .collect();
        f.filters
            .decode_chunk(&params, loc.mask, buf, chunk_bytes as usize)
            .map_err(|source| Error::Filter {
                source,
                offset: f.offset_of(loc.addr),
            })
    }

    fn read_chunked(
        &self,
        c: &h5_format::message::layout::Chunked,
        map: &ChunkMap,
        res: &Resolved,
        out: &mut [u8],
    ) -> Result<()> {
        let dims = &self.info.space.dims;
        let es = self.info.dtype.size() as usize;
        let cb = self.chunk_bytes(c)?;
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
                        let data = self.read_chunk(c, &[], loc, cb)?;
                        out[..es].copy_from_slice(&data[..es]);
                    }
                    return Ok(());
                }
                if touched.iter().any(|t| t.is_empty()) {
                    return Ok(());
                }
                // The stored chunks the selection touches, in grid order.
                let mut jobs: Vec<(Vec<u64>, ChunkLoc)> = Vec::new();
                chunks::grid_product(&touched, |scaled| {
                    if let Some(loc) = map.get(&scaled) {
                        jobs.push((scaled, *loc));
                    }
                });
                // Decode a batch of chunks in parallel, then copy their overlaps out.
                for batch in jobs.chunks(chunks::PARALLEL_BATCH) {
                    let decoded =
                        chunks::par_map(batch, |(scaled, loc)| self.read_chunk(c, scaled, loc, cb));
                    for ((scaled, _), data) in batch.iter().zip(decoded) {
                        let origin: Vec<u64> =
                            scaled.iter().zip(cd).map(|(&s, &c)| s * c).collect();
                        copy_selection(&data?, &origin, cd, res, es, out);
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
                        self.read_chunk(c, scaled, loc, cb)
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

    fn read_contiguous(&self, addr: u64, res: &Resolved, out: &mut [u8]) -> Result<()> {
        let f = self.f();
        let dims = &self.info.space.dims;
        let es = self.info.dtype.size();
        let total = self.dataset_bytes()?;
        if let Layout::Contiguous { size: Some(s), .. } = self.info.layout {
            if s < total {
                return Err(h5_format::Error::invalid(
                    "layout message",
                    f.offset_of(self.addr()),
                    "contiguous size smaller than the dataset",
                )
                .into());
            }
        }
        // Read the span of elements the selection covers, then copy out of it.
        let strides = row_strides(dims);
        let (lo, hi) = match res {
            Resolved::Slab { dims: sel, .. } => {
                let lo: u64 = sel.iter().zip(&strides).map(|(d, s)| d.coord(0) * s).sum();
                let hi: u64 = sel
                    .iter()
                    .zip(&strides)
                    .map(|(d, s)| d.coord(d.count() - 1) * s)
                    .sum();
                (lo, hi)
            }
            Resolved::Points(pts) => {
                let lin = |p: &Vec<u64>| p.iter().zip(&strides).map(|(&x, s)| x * s).sum::<u64>();
                (
                    pts.iter().map(lin).min().unwrap_or(0),
                    pts.iter().map(lin).max().unwrap_or(0),
                )
            }
        };
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

    fn read_external(&self, ext: &ExternalFiles) -> Result<Vec<u8>> {
        let f = self.f();
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

/// Row-major element strides of a shape.
fn row_strides(dims: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; dims.len()];
    for d in (0..dims.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * dims[d + 1];
    }
    s
}

/// Copy the selected elements that fall inside a block (a chunk with `origin` and shape
/// `bdims`, row-major in `src`) into their places in `out`.
fn copy_selection(
    src: &[u8],
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    copy_block(src, 0, origin, bdims, res, es, out)
}

/// As [`copy_selection`] for a whole-dataset block whose bytes start at `skip` bytes in.
fn copy_selection_offset(
    src: &[u8],
    skip: usize,
    dims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    copy_block(src, skip, &vec![0; dims.len()], dims, res, es, out)
}

fn copy_block(
    src: &[u8],
    skip: usize,
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    for_each_run(skip, origin, bdims, res, es, |block, sel, n| {
        if let Some(v) = src.get(block..block + n) {
            out[sel..sel + n].copy_from_slice(v);
        }
    })
}

/// Every run of selected elements that lies inside a block (row-major, shape `bdims`, first
/// element at `origin`, whose bytes start `skip` bytes in): `f(block_offset, selection_offset,
/// bytes)`. Reads copy block → selection; writes copy selection → block.
pub(crate) fn for_each_run(
    skip: usize,
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    let rank = bdims.len();
    let bstr = row_strides(bdims);
    let block_off = |elem: u64| (elem as usize * es).checked_sub(skip);
    match res {
        Resolved::Points(pts) => {
            for (k, p) in pts.iter().enumerate() {
                let inside = p
                    .iter()
                    .zip(origin)
                    .zip(bdims)
                    .all(|((&x, &o), &b)| x >= o && x < o + b);
                if inside {
                    let elem = p
                        .iter()
                        .zip(origin)
                        .zip(&bstr)
                        .map(|((&x, &o), &s)| (x - o) * s)
                        .sum();
                    if let Some(b) = block_off(elem) {
                        f(b, k * es, es);
                    }
                }
            }
        }
        Resolved::Slab { dims: sel, .. } => {
            if rank == 0 {
                if let Some(b) = block_off(0) {
                    f(b, 0, es);
                }
                return;
            }
            let counts: Vec<u64> = sel.iter().map(|d| d.count()).collect();
            let ostr = row_strides(&counts);
            let ranges: Vec<(u64, u64)> = (0..rank)
                .map(|d| sel[d].positions_in(origin[d], origin[d] + bdims[d]))
                .collect();
            if ranges.iter().any(|(a, b)| a >= b) {
                return;
            }
            let last = rank - 1;
            let mut pos: Vec<u64> = ranges.iter().map(|r| r.0).collect();
            loop {
                // Innermost dimension: one run when the step is 1.
                let (a, b) = ranges[last];
                let base_src: u64 = (0..last)
                    .map(|d| (sel[d].coord(pos[d]) - origin[d]) * bstr[d])
                    .sum();
                let base_dst: u64 = (0..last).map(|d| pos[d] * ostr[d]).sum();
                if sel[last].unit_step() {
                    if let Some(s0) = block_off(base_src + sel[last].coord(a) - origin[last]) {
                        f(s0, (base_dst + a) as usize * es, (b - a) as usize * es);
                    }
                } else {
                    for p in a..b {
                        if let Some(s0) = block_off(base_src + sel[last].coord(p) - origin[last]) {
                            f(s0, (base_dst + p) as usize * es, es);
                        }
                    }
                }
                // odometer over the outer dimensions
                let mut d = last;
                loop {
                    if d == 0 {
                        return;
                    }
                    d -= 1;
                    pos[d] += 1;
                    if pos[d] < ranges[d].1 {
                        break;
                    }
                    pos[d] = ranges[d].0;
                }
            }
        }
    }
}

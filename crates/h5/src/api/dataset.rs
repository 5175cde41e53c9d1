//! [`Dataset`]: metadata and reads (whole, hyperslab, points, masks) for every layout.

use super::handles::{
    AllocTime, Attributes, Dataset, File, FillTime, LayoutKind, NamedDatatype, Object,
};
use crate::error::Error;
use crate::error::Result;
use crate::raw::FileInner;
use crate::read::convert::convert_slice;
use crate::read::convert::encode_scalar;
use crate::read::convert::H5Type;
use crate::read::dataset::DatasetInfo;
use crate::read::selection::Selection;
use crate::read::value::ToValue;
use crate::read::value::Value;
use crate::write::enc;
use crate::write::header::HeaderEdit;
use crate::write::with;
use crate::write::WriteCtx;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::dataspace::SpaceKind;
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::filter_pipeline::FilterInfo;
use h5_format::message::layout::Layout;
use h5_format::message::MessageType;
use ndarray::ArrayD;
use ndarray::IxDyn;
use std::sync::Arc;

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

    /// The dataset's metadata; a virtual dataset's unlimited extent grown to what its
    /// sources hold now.
    fn load_info(obj: &Object) -> Result<DatasetInfo> {
        let mut info = DatasetInfo::load(obj.f(), &obj.header)?;
        if matches!(info.layout, Layout::Virtual { .. }) {
            let (maps, stored) = (&info.virtual_maps, &info.space.dims);
            let dims = crate::api::virtual_ds::nested(|| {
                Ok(crate::api::virtual_ds::extent(
                    &File::of(&obj.file),
                    maps,
                    stored,
                ))
            })?;
            info.space.dims = dims;
        }
        Ok(info)
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
    pub fn file(&self) -> File {
        File::of(&self.obj.file)
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
        if self.current || self.obj.file.write.is_none() {
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
        let map = self
            .info
            .chunk_map(self.f())
            .map_err(|e| e.at(self.name()))?;
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
        convert_slice(&self.obj.file, &self.info.dtype, &raw).map_err(|e| e.at(self.name()))
    }

    /// Read a selection into an array (an integer index drops its dimension, as in numpy).
    pub fn read_slice<T: H5Type>(&self, sel: &Selection) -> Result<ArrayD<T>> {
        let (raw, shape) = self.read_raw(sel)?;
        let v =
            convert_slice(&self.obj.file, &self.info.dtype, &raw).map_err(|e| e.at(self.name()))?;
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
        let v = crate::read::value::decode_all(&self.obj.file, &self.info.dtype, &raw)
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
        info.read_selection(self.f(), sel, |res, out| {
            let (file, maps, dt) = (&self.file(), &info.virtual_maps, &info.dtype);
            let dims = &info.space.dims;
            crate::api::virtual_ds::nested(|| {
                crate::api::virtual_ds::read(file, maps, dims, dt, res, out)
            })
        })
    }
}

impl Dataset {
    /// Store what newly allocated storage starts as — the fill value, or zeros when there
    /// is none or the fill time says not to write it — in `sel` (early allocation: at
    /// creation and where a resize grows the dataset).
    pub(crate) fn allocate_filled(&self, sel: &Selection) -> Result<()> {
        let fv = self.fill_value();
        let es = self.dtype().size() as usize;
        let elem = fv
            .value
            .as_deref()
            .filter(|_| fv.write_time != FillTime::Never as u8);
        // in pieces of at most about 16 MiB (whole chunks where that is cheap), so growing a
        // dataset by gigabytes does not build gigabytes of fill in memory
        for piece in self.batches(sel, (16 << 20) / es.max(1) as u64)? {
            self.write_encoded(&piece, 1, |cx, n, _| cx.f.filled_buffer(elem, es, n as u64))?;
        }
        Ok(())
    }
}

impl Dataset {
    /// Write the whole dataset from an array of the dataset's shape (any numeric type, converted
    /// as libhdf5 does).
    pub fn write<T: H5Type, S: ndarray::Data<Elem = T>, D: ndarray::Dimension>(
        &self,
        data: &ndarray::ArrayBase<S, D>,
    ) -> Result<()> {
        let want = self.shape().unwrap_or_default();
        let got: Vec<u64> = data.shape().iter().map(|&d| d as u64).collect();
        if got != want && !(want.is_empty() && data.len() == 1) {
            return Err(Error::Shape(format!(
                "data of shape {got:?} does not fit dataset {} of shape {want:?}",
                self.name()
            )));
        }
        let values: Vec<T> = data.iter().cloned().collect();
        self.write_raw_selection(&Selection::All, &values)
    }

    /// Write `data` (row-major, as many elements as the selection holds — or one, which is
    /// broadcast, like `dset[200:500, 500:1024] = 123`) into a selection.
    pub fn write_slice<T: H5Type>(&self, sel: &Selection, data: &[T]) -> Result<()> {
        self.write_raw_selection(sel, data)
    }

    fn write_raw_selection<T: H5Type>(&self, sel: &Selection, data: &[T]) -> Result<()> {
        self.write_encoded(sel, data.len(), |cx, n, dt| {
            let es = dt.size() as usize;
            let mut bytes = cx.f.data_buffer((n as u64).saturating_mul(es as u64))?;
            if data.len() == 1 && n > 0 {
                encode_scalar(dt, data[0].to_scalar(), &mut bytes[..es])?;
                let first = bytes[..es].to_vec();
                bytes
                    .chunks_exact_mut(es)
                    .skip(1)
                    .for_each(|c| c.copy_from_slice(&first));
            } else {
                for (v, c) in data.iter().zip(bytes.chunks_exact_mut(es)) {
                    encode_scalar(dt, v.to_scalar(), c)?;
                }
            }
            Ok(bytes)
        })
    }

    /// Write dynamic values (one per selected element, or one to broadcast) of any datatype:
    /// strings, compounds, complex numbers, enums, arrays, variable-length sequences.
    pub fn write_values(&self, sel: &Selection, values: &[crate::Value]) -> Result<()> {
        self.write_encoded(sel, values.len(), |cx, n, dt| {
            crate::write::strings::encode_values(cx, dt, values, n)
        })
    }

    /// Resolve the selection, encode the elements (inside the write context: variable-length
    /// parts go to the global heap) and store them.
    fn write_encoded(
        &self,
        sel: &Selection,
        count: usize,
        encode: impl FnOnce(&mut WriteCtx<'_>, usize, &Datatype) -> Result<Vec<u8>>,
    ) -> Result<()> {
        let dims = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        let res = sel.resolve(&dims).map_err(|e| e.at(self.name()))?;
        let n = res.len() as usize;
        if count != n && count != 1 {
            return Err(Error::Shape(format!(
                "{} values for a selection of {n} elements of {}",
                count,
                self.name()
            )));
        }
        let dt = self.dtype().clone();
        let es = dt.size() as usize;
        let f = &self.obj.file;
        let total = dims.iter().fold(es as u64, |a, &d| a.saturating_mul(d));
        let name = self.name().to_string();
        let addr = self.addr();
        with(f, |cx| {
            if n == 0 {
                // Nothing to store — and no storage to allocate: libhdf5 gives an empty
                // contiguous dataset no address (h5py refuses a zero-byte block).
                return Ok(());
            }
            let bytes = encode(cx, n, &dt)?;
            let mut h = HeaderEdit::load(cx, addr)?;
            let lm = h
                .find(MessageType::LAYOUT)
                .next()
                .cloned()
                .ok_or_else(|| Error::Unsupported(format!("{name}: no layout")))?;
            let (layout, _) = cx.f.dec(h5_format::message::layout::decode(
                &mut h5_format::Reader::new(&lm.data, addr, cx.f.sizes, "layout message"),
            ))?;
            let zero = vec![0u64; dims.len()];
            match layout {
                Layout::Contiguous { addr: a, .. } => {
                    let (a, mut block) = match a {
                        Some(a) => {
                            let mut b = cx.f.data_buffer(total)?;
                            cx.f.read_data(a, &mut b, "contiguous data")?;
                            (a, b)
                        }
                        None => {
                            // First write: allocate, fill, and record the address.
                            let a = cx.alloc(total)?;
                            let mut b = cx.f.data_buffer(total)?;
                            if let Some(fv) =
                                self.fill_value().value.as_ref().filter(|v| v.len() == es)
                            {
                                b.chunks_exact_mut(es).for_each(|c| c.copy_from_slice(fv));
                            }
                            let l = Layout::Contiguous {
                                addr: Some(a),
                                size: Some(total),
                            };
                            h.replace(
                                cx,
                                MessageType::LAYOUT,
                                enc::layout(cx.f.sizes, cx.st.libver, &l, false)?,
                            )?;
                            (a, b)
                        }
                    };
                    crate::read::grid::for_each_run(0, &zero, &dims, &res, es, |blk, s, len| {
                        block[blk..blk + len].copy_from_slice(&bytes[s..s + len]);
                    });
                    cx.write(a, &block)
                }
                Layout::Compact { mut data } => {
                    crate::read::grid::for_each_run(0, &zero, &dims, &res, es, |blk, s, len| {
                        data[blk..blk + len].copy_from_slice(&bytes[s..s + len]);
                    });
                    h.replace(
                        cx,
                        MessageType::LAYOUT,
                        enc::layout(cx.f.sizes, cx.st.libver, &Layout::Compact { data }, false)?,
                    )
                }
                Layout::Chunked(_) => {
                    crate::write::chunked::write(cx, &mut h, addr, &dims, &res, &bytes)
                }
                _ => Err(Error::Unsupported(format!(
                    "{name}: writing virtual datasets"
                ))),
            }
        })
    }
}

impl Dataset {
    /// Change the shape (h5py's `resize`): each dimension grows or shrinks on its own, up to
    /// the maximum shape; data inside the new shape stays where it is, chunks wholly outside
    /// it are freed, and what becomes visible again after a shrink reads as the fill value.
    /// Only chunked datasets can be resized. This handle sees the new shape afterwards;
    /// other handles to the dataset must be opened again.
    pub fn resize(&mut self, shape: &[u64]) -> Result<()> {
        if self.layout() != LayoutKind::Chunked {
            return Err(Error::Shape(format!(
                "Only chunked datasets can be resized ({} is {:?})",
                self.name(),
                self.layout()
            )));
        }
        let addr = self.addr();
        let old = self.shape().unwrap_or_default();
        with(&self.obj.file, |cx| {
            let mut h = HeaderEdit::load(cx, addr)?;
            crate::write::chunked::resize(cx, &mut h, addr, shape)
        })
        .map_err(|e| match e {
            Error::Shape(m) => Error::Shape(format!("{}: {m}", self.name())),
            e => e.at(self.name()),
        })?;
        *self = Dataset::from_object(Object::load(&self.obj.file, addr, self.name())?)?;
        if self.fill_value().alloc_time == AllocTime::Early as u8 {
            // early allocation: the grown parts get their storage now
            for d in (0..shape.len()).filter(|&d| shape[d] > old.get(d).copied().unwrap_or(0)) {
                let sel: Vec<crate::SliceArg> = (0..shape.len())
                    .map(|i| {
                        if i == d {
                            crate::SliceArg::Range {
                                start: Some(old[d] as i64),
                                stop: Some(shape[d] as i64),
                                step: 1,
                            }
                        } else {
                            crate::SliceArg::All
                        }
                    })
                    .collect();
                self.allocate_filled(&Selection::Slice(sel))?;
            }
        }
        Ok(())
    }

    /// Change the length of one axis (h5py's `resize(n, axis=…)`).
    pub fn resize_axis(&mut self, axis: usize, len: u64) -> Result<()> {
        let mut shape = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        if axis >= shape.len() {
            return Err(Error::Shape(format!(
                "Invalid axis {axis} (0 to {} allowed)",
                shape.len().saturating_sub(1)
            )));
        }
        shape[axis] = len;
        self.resize(&shape)
    }
}

impl Dataset {
    /// Write values of a [`ToValue`] type (one per selected element, or one to broadcast),
    /// e.g. structs made compounds by [`compound!`](crate::compound).
    pub fn write_from<T: ToValue>(&self, sel: &crate::Selection, values: &[T]) -> Result<()> {
        let v: Vec<Value> = values.iter().map(T::to_value).collect();
        self.write_values(sel, &v)
    }
}

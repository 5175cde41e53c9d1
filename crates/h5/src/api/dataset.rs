//! [`Dataset`]: metadata and reads (whole, hyperslab, points, masks) for every layout.

use super::handles::{
    AllocTime, Attributes, Dataset, File, FillTime, LayoutKind, NamedDatatype, Object,
};
use crate::base::FileInner;
use crate::error::Error;
use crate::error::Result;
use crate::read::convert::convert_into;
use crate::read::dataset::DatasetInfo;
use crate::read::element::{decode_elements, decode_into, is_number};
use crate::read::element::{field_plan_for, plain_for, H5Type, Plain};
use crate::read::grid::{broadcast, broadcast_shape};
use crate::read::selection::{Resolved, Selection};
use crate::read::selection_from::selection;
use crate::read::value::Value;
use crate::write::elements::Elements;
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
use std::borrow::Cow;
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
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
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
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
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

    /// Read everything into an n-dimensional array of `T` (any [`H5Type`]: numbers convert
    /// as libhdf5 converts them; strings, compounds, enums, arrays and sequences by value).
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let ds = f.create_dataset("x", &h5::ndarray::arr2(&[[1, 2, 3], [4, 5, 6]]))?;
    /// let all = ds.read::<f64>()?;
    /// assert_eq!(all.shape(), [2, 3]);
    /// assert_eq!(all[[1, 2]], 6.0);
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// Elements that do not convert to `T`; a damaged file.
    pub fn read<T: H5Type>(&self) -> Result<ArrayD<T>> {
        self.read_slice(Selection::All)
    }

    /// Read everything as a flat `Vec<T>` in row-major order.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_vec<T: H5Type>(&self) -> Result<Vec<T>> {
        Ok(self.read_typed(Selection::All)?.0)
    }

    /// Read everything into `out` (a buffer you reuse; for an ndarray, its
    /// `as_slice_mut()`), which must hold exactly the dataset's elements.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let ds = f.create_dataset("x", &[1.5f32, 2.5, 3.5])?;
    /// let mut buf = vec![0.0f32; 3];
    /// ds.read_into(&mut buf)?;
    /// assert_eq!(buf, [1.5, 2.5, 3.5]);
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// A buffer of another length; as [`read`](Self::read).
    pub fn read_into<T: H5Type>(&self, out: &mut [T]) -> Result<()> {
        self.read_slice_into(Selection::All, out)
    }

    /// Read a selection into `out`, which must hold exactly the selected elements (in
    /// row-major order). When `T` is the stored type, the bytes go straight into `out`.
    ///
    /// # Errors
    /// A buffer of another length; as [`read_slice`](Self::read_slice).
    pub fn read_slice_into<T: H5Type>(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
        out: &mut [T],
    ) -> Result<()> {
        self.with_current(sel, |now, sel| {
            let wrong_len = |n: u64| {
                Error::Shape(format!(
                    "a buffer of {} elements for a selection of {n}",
                    out.len()
                ))
            };
            if let (Some(p), Some(res)) = (now.plain::<T>(), now.info.resolve(sel)?) {
                if res.len() != out.len() as u64 {
                    return Err(wrong_len(res.len()));
                }
                return now.read_plain_into(p, &res, out);
            }
            let (v, _) = now.read_typed_inner::<T>(sel)?;
            if v.len() != out.len() {
                return Err(wrong_len(v.len() as u64));
            }
            for (o, x) in out.iter_mut().zip(v) {
                *o = x;
            }
            Ok(())
        })
    }

    /// Run `read` on this dataset as it is now, with `sel` converted; errors name the dataset.
    fn with_current<R>(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
        read: impl FnOnce(&Dataset, &Selection) -> Result<R>,
    ) -> Result<R> {
        let sel = selection(sel).map_err(|e| e.at(self.name()))?;
        let now = self.current().map_err(|e| e.at(self.name()))?;
        read(&now, &sel).map_err(|e| e.at(self.name()))
    }

    /// With `T` the stored type: the selection's bytes straight into `out`.
    fn read_plain_into<T: H5Type>(&self, p: Plain<T>, res: &Resolved, out: &mut [T]) -> Result<()> {
        self.info
            .read_resolved(self.f(), res, (p.bytes_mut)(out), |r, o| {
                self.read_virtual(r, o)
            })
    }

    /// How `T` moves as bytes, when the stored type is exactly `T`'s.
    fn plain<T: H5Type>(&self) -> Option<Plain<T>> {
        plain_for(&self.info.dtype)
    }

    /// A selection as `T`s in row-major order, and its shape.
    fn read_typed<T: H5Type>(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
    ) -> Result<(Vec<T>, Vec<u64>)> {
        self.with_current(sel, |now, sel| now.read_typed_inner(sel))
    }

    fn read_typed_inner<T: H5Type>(&self, sel: &Selection) -> Result<(Vec<T>, Vec<u64>)> {
        let info = &*self.info;
        if let Some(res) = info.resolve(sel)? {
            if let Some(p) = self.plain::<T>() {
                // the bytes go once, from storage (or the decoded chunk) into the result
                let bytes = info.selection_bytes(&res)?;
                self.f().data_limit(bytes)?;
                let mut v = (p.zeroed)(res.len() as usize)
                    .ok_or_else(|| Error::Unsupported(format!("a buffer of {bytes} bytes")))?;
                self.read_plain_into(p, &res, &mut v)?;
                return Ok((v, res.out_shape()));
            }
            if let Some(at) = info.contiguous_run(self.f(), &res)? {
                if let Some(v) = self.read_run::<T>(at, res.len() as usize)? {
                    return Ok((v, res.out_shape()));
                }
            }
        }
        let es = info.dtype.size().max(1);
        // converted in pieces of about 4 MiB stored: the read needs its output and one
        // piece, not the whole selection's stored bytes besides
        let pieces = self.batches(sel, ((4 << 20) / es).max(1))?;
        if pieces.len().saturating_mul(es) <= 8 << 20 {
            let (raw, shape) = self.read_raw_inner(sel)?;
            return Ok((decode_elements(self.f(), &info.dtype, &raw)?, shape));
        }
        let shape = pieces.out_shape().to_vec();
        let mut out: Vec<T> = self.f().limits.vec_for(pieces.len() as usize, "elements")?;
        crate::storage::huge_pages(out.spare_capacity_mut());
        // one buffer for every piece's stored bytes (read_resolved fills it whole)
        let mut raw: Vec<u8> = Vec::new();
        for piece in pieces {
            let Some(res) = info.resolve(&piece)? else {
                continue;
            };
            let bytes = info.selection_bytes(&res)? as usize;
            if raw.len() < bytes {
                raw = self.f().data_buffer(bytes as u64)?;
            }
            info.read_resolved(self.f(), &res, &mut raw[..bytes], |r, o| {
                self.read_virtual(r, o)
            })?;
            decode_into(self.f(), &info.dtype, &raw[..bytes], &mut out)?;
        }
        Ok((out, shape))
    }

    /// `n` elements stored from file address `at` on (one run of contiguous storage), when
    /// `T` reads them without a `Value` per element: parts of 256 KiB are read on every core
    /// and each element converted (numbers of another stored type) or decoded (types with a
    /// field plan) straight into its place in the result. `None`: neither applies.
    fn read_run<T: H5Type>(&self, at: u64, n: usize) -> Result<Option<Vec<T>>> {
        let info = &*self.info;
        let (f, dt) = (self.f(), &info.dtype);
        let es = dt.size().max(1) as usize;
        let read = |first: usize, buf: &mut [u8]| {
            f.read_data(at + (first * es) as u64, buf, "contiguous data")
        };
        if let (Some(num), Some(p)) = (T::numeric().filter(|_| is_number(dt)), T::plain()) {
            let bytes = (n as u64).saturating_mul(std::mem::size_of::<T>() as u64);
            f.data_limit(bytes)?;
            let mut out = (p.zeroed)(n)
                .ok_or_else(|| Error::Unsupported(format!("a buffer of {bytes} bytes")))?;
            crate::read::chunks::par_parts(
                &mut out,
                ((256 << 10) / es).max(1),
                |first, part, (raw, tmp): &mut (Vec<u8>, Vec<T>)| {
                    raw.resize(part.len() * es, 0);
                    read(first, raw)?;
                    tmp.clear();
                    convert_into(dt, raw, (num.from_scalar, num.from_native), tmp)?;
                    let (to, from) = ((p.bytes_mut)(part), (p.bytes)(tmp));
                    if to.len() != from.len() {
                        return Err(Error::Conversion(format!(
                            "{} numbers converted for {} places",
                            tmp.len(),
                            part.len()
                        )));
                    }
                    to.copy_from_slice(from);
                    Ok(())
                },
            )?;
            return Ok(Some(out));
        }
        let Some(plan) = field_plan_for::<T>(dt) else {
            return Ok(None);
        };
        let mut out: Vec<T> = f.limits.vec_for(n, "elements")?;
        crate::storage::huge_pages(out.spare_capacity_mut());
        crate::read::fixed::decode_from(
            #[inline(always)]
            |p, b| T::decode_fixed(p, b),
            &plan,
            es,
            n,
            read,
            &mut out,
        )?;
        Ok(Some(out))
    }

    /// The one element of a scalar dataset (or of a dataset of one element), h5py's
    /// `dset[()]`.
    ///
    /// # Errors
    /// A dataset of more or fewer elements; as [`read`](Self::read).
    pub fn read_scalar<T: H5Type>(&self) -> Result<T> {
        one_element(self.read_vec()?, self.name())
    }

    /// Read a selection into an array (an integer index drops its axis, as in numpy). The
    /// selection is anything [`Selection`] converts from: `2`, `2..5`, `(1, ..)`,
    /// `s![.., 0..10;2]`, a point list, a mask, or text such as `"3, 100:164, ::2"`.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let ds = f.create_dataset("x", &h5::ndarray::Array::from_iter(0..10))?;
    /// assert_eq!(ds.read_slice::<i32>(2..5)?.as_slice().unwrap(), [2, 3, 4]);
    /// assert_eq!(ds.read_slice::<i32>(h5::s![..;4])?.as_slice().unwrap(), [0, 4, 8]);
    /// assert_eq!(ds.read_slice::<i32>(-1)?.first(), Some(&9));
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// A selection that does not fit the dataset's shape (the error names the axis); as
    /// [`read`](Self::read).
    pub fn read_slice<T: H5Type>(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
    ) -> Result<ArrayD<T>> {
        let (v, shape) = self.read_typed(sel)?;
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
    pub fn batches(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
        max_elements: u64,
    ) -> Result<crate::Batches> {
        let sel = selection(sel)?;
        let shape = self.shape();
        let chunks = self.chunks();
        crate::Batches::new(&sel, shape.as_deref(), chunks.as_deref(), max_elements)
            .map_err(|e| e.at(self.name()))
    }

    /// Read a selection as dynamic values (any datatype, for types known only at run
    /// time), with the result's shape.
    ///
    /// # Errors
    /// As [`read_slice`](Self::read_slice).
    pub fn read_values(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
    ) -> Result<(Vec<Value>, Vec<u64>)> {
        let (raw, shape) = self.read_raw(sel)?;
        let v = crate::read::value::decode_all(&self.obj.file, &self.info.dtype, &raw)
            .map_err(|e| e.at(self.name()))?;
        Ok((v, shape))
    }

    /// A region reference to a selection of this dataset (h5py's `dset.regionref[...]`), to
    /// store in a dataset or attribute of type [`crate::read::types::region_ref`] as a
    /// [`Value::RegionRef`]. The selection is described as libhdf5 describes it: everything
    /// for [`Selection::All`], points for point lists and masks, a regular hyperslab when
    /// every axis is evenly spaced runs of one length, else a list of blocks.
    ///
    /// # Errors
    /// A selection outside the dataset's shape; a dataset with a null dataspace.
    pub fn region(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
    ) -> Result<crate::Region> {
        use h5_format::selection::{RegularDim, SelectionEncoding};
        let sel = selection(sel)?;
        let object = self.addr();
        if sel == Selection::All {
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
    ///
    /// # Errors
    /// A selection that does not fit the dataset's shape (the error names the axis); a damaged file
    /// (the error names the structure and its offset).
    pub fn read_raw(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
    ) -> Result<(Vec<u8>, Vec<u64>)> {
        self.with_current(sel, |now, sel| now.read_raw_inner(sel))
    }

    fn read_raw_inner(&self, sel: &Selection) -> Result<(Vec<u8>, Vec<u64>)> {
        self.info
            .read_selection(self.f(), sel, |res, out| self.read_virtual(res, out))
    }

    /// A virtual dataset's mappings, read from their source datasets.
    fn read_virtual(&self, res: &Resolved, out: &mut [u8]) -> Result<()> {
        let info = &*self.info;
        let (file, maps, dt) = (&self.file(), &info.virtual_maps, &info.dtype);
        let dims = &info.space.dims;
        crate::api::virtual_ds::nested(|| {
            crate::api::virtual_ds::read(file, maps, dims, dt, res, out)
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
            let shape = self.selection_shape(&piece)?;
            let n = shape.iter().product();
            self.write_encoded(piece, &shape, None, |cx, _| {
                cx.f.filled_buffer(elem, es, n).map(Cow::Owned)
            })?;
        }
        Ok(())
    }
}

impl Dataset {
    /// Write the whole dataset (h5py's `dset[...] = data`): `data` is one element, a slice,
    /// a `Vec` or any ndarray array or view, broadcast to the dataset's shape by numpy's
    /// rules and converted to the dataset's type as libhdf5 converts.
    ///
    /// # Errors
    /// As [`write_slice`](Self::write_slice).
    pub fn write<E: Elements>(&self, data: E) -> Result<()> {
        self.write_slice(Selection::All, data)
    }

    /// Write `data` into a selection (h5py's `dset[sel] = data`). The data's shape must
    /// broadcast to the selection's as numpy broadcasts: equal axes, axes of length 1
    /// repeated, missing leading axes added — so one value fills the selection
    /// (`dset[200:500, 500:1024] = 123`) and a row fills every row, while a `(5, 4)` array
    /// does not fit a `(4, 5)` selection.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let ds = f.new_dataset::<i32>().shape(&[3, 4]).create("grid")?;
    /// ds.write_slice(.., 7)?;                          // everything
    /// ds.write_slice(1, &[1, 2, 3, 4])?;               // row 1
    /// ds.write_slice((.., 3), &h5::ndarray::arr1(&[9, 9, 9]))?; // column 3
    /// assert_eq!(ds.read_slice::<i32>(1)?.as_slice().unwrap(), [1, 2, 3, 9]);
    /// assert!(ds.write_slice(0..2, &[1, 2, 3]).is_err()); // (3,) does not fit (2, 4)
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// A selection outside the dataset's shape (the axis named); data whose shape does not
    /// broadcast to the selection's (both shapes named); elements that do not convert to
    /// the dataset's type; a read-only or closed file.
    pub fn write_slice<E: Elements>(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
        data: E,
    ) -> Result<()> {
        let shape = data.shape();
        let count = shape.iter().product();
        // a large slice of a derived type streams to a one-run write while it is encoded
        let parts = crate::write::elements::encode_parts(self.dtype(), &data, count, 4 << 20);
        self.write_encoded(selection(sel)?, &shape, parts, |cx, dt| {
            crate::write::elements::encode(cx, dt, &data, count)
        })
    }

    /// Write dynamic values (for types known only at run time): one per selected element in
    /// row-major order, or one to fill the selection — strings, compounds, complex numbers,
    /// enums, arrays, variable-length sequences.
    ///
    /// # Errors
    /// As [`write_slice`](Self::write_slice).
    pub fn write_values(
        &self,
        sel: impl TryInto<Selection, Error: Into<Error>>,
        values: &[crate::Value],
    ) -> Result<()> {
        let sel = selection(sel)?;
        let shape = match values.len() {
            1 => Vec::new(),
            _ => self.selection_shape(&sel)?,
        };
        let n = values.len();
        let name = self.name().to_string();
        if shape.iter().product::<u64>() != n as u64 {
            return Err(Error::Shape(format!(
                "{name}: {n} values for a selection of shape {}",
                py_shape(&shape)
            )));
        }
        self.write_encoded(sel, &shape, None, |cx, dt| {
            crate::write::strings::encode_values(cx, dt, values, n).map(Cow::Owned)
        })
    }

    /// The shape a selection of this dataset reads as.
    fn selection_shape(&self, sel: &Selection) -> Result<Vec<u64>> {
        let dims = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        Ok(sel
            .resolve(&dims)
            .map_err(|e| e.at(self.name()))?
            .out_shape())
    }

    /// Resolve the selection, encode the elements (inside the write context: variable-length
    /// parts go to the global heap) and store them.
    /// `data_shape` is the shape of what `encode` makes, broadcast to the selection's shape
    /// by numpy's rules. `parts`, when given, makes the same bytes piece by piece: a write
    /// that lands as one run of contiguous storage streams them instead of calling `encode`.
    fn write_encoded<'d>(
        &self,
        sel: Selection,
        data_shape: &[u64],
        parts: Option<crate::write::elements::Parts<'d>>,
        encode: impl FnOnce(&mut WriteCtx<'_>, &Datatype) -> Result<Cow<'d, [u8]>>,
    ) -> Result<()> {
        let dims = self
            .shape()
            .ok_or_else(|| Error::Shape(format!("{} has a null dataspace", self.name())))?;
        let res = sel.resolve(&dims).map_err(|e| e.at(self.name()))?;
        let n = res.len() as usize;
        let out_shape = res.out_shape();
        let from = broadcast_shape(data_shape, &out_shape).ok_or_else(|| {
            Error::Shape(format!(
                "{}: can't broadcast data of shape {} to the selection's shape {}",
                self.name(),
                py_shape(data_shape),
                py_shape(&out_shape)
            ))
        })?;
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
            // streamed only when the data is the selection's shape and lands as one run
            let parts = parts.filter(|_| from == out_shape);
            // Every layout below encodes the elements (once) before it changes anything, so
            // elements that fail change nothing; only a stream encodes as it writes.
            let mut encode = Some(encode);
            let mut bytes = |cx: &mut WriteCtx<'_>| -> Result<Cow<'d, [u8]>> {
                let encode = encode
                    .take()
                    .ok_or_else(|| Error::Unsupported("elements encoded twice".into()))?;
                let bytes = encode(cx, &dt)?;
                if from == out_shape {
                    return Ok(bytes);
                }
                let mut all = cx.f.data_buffer((n as u64).saturating_mul(es as u64))?;
                broadcast(&bytes, es, &from, &out_shape, &mut all);
                Ok(Cow::Owned(all))
            };
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
                    let fresh = a.is_none();
                    // one run of the file (whole rows, the whole dataset)?
                    let run = crate::read::grid::one_run(&dims, &res)
                        .filter(|_| !fresh || n as u64 * es as u64 == total);
                    // what does not stream is encoded before the first write allocates
                    // and names the storage: elements that fail then change nothing
                    let parts = parts.filter(|_| run.is_some());
                    let encoded = match parts {
                        Some(_) => None,
                        None => Some(bytes(cx)?),
                    };
                    let a = match a {
                        Some(a) => a,
                        None => {
                            // First write: allocate and record the address.
                            let a = cx.alloc(total)?;
                            let l = Layout::Contiguous {
                                addr: Some(a),
                                size: Some(total),
                            };
                            h.replace(
                                cx,
                                MessageType::LAYOUT,
                                enc::layout(cx.f.sizes, cx.st.libver, &l, false)?,
                            )?;
                            a
                        }
                    };
                    let bytes = match (run, parts, encoded) {
                        // one run: the bytes go as they are, in one positional write, or
                        // stream as they are encoded
                        (Some(lo), Some(p), _) => {
                            return crate::write::elements::stream(cx, a + lo * es as u64, p)
                        }
                        (Some(lo), None, Some(b)) => return cx.write(a + lo * es as u64, &b),
                        (_, _, Some(b)) => b,
                        (_, _, None) => bytes(cx)?,
                    };
                    // Otherwise the block is read (a new one: the fill value), the runs
                    // copied in, and the block written back.
                    let mut block = if fresh {
                        let fv = self.fill_value().value.as_deref();
                        cx.f.filled_buffer(fv, es, total / es.max(1) as u64)?
                    } else {
                        let mut b = cx.f.data_buffer(total)?;
                        cx.f.read_data(a, &mut b, "contiguous data")?;
                        b
                    };
                    crate::read::grid::for_each_run(0, &zero, &dims, &res, es, |blk, s, len| {
                        block[blk..blk + len].copy_from_slice(&bytes[s..s + len]);
                    });
                    cx.write(a, &block)
                }
                Layout::Compact { mut data } => {
                    let bytes = bytes(cx)?;
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
                    let bytes = bytes(cx)?;
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
    ///
    /// # Errors
    /// A dataset that is not chunked; a shape of another rank or past the maximum shape; a
    /// read-only or closed file.
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
    ///
    /// # Errors
    /// An axis the dataset does not have; as [`resize`](Self::resize).
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

/// The one element of `v`, or an error naming `what` and how many it has.
pub(crate) fn one_element<T>(mut v: Vec<T>, what: &str) -> Result<T> {
    if v.len() != 1 {
        return Err(Error::Shape(format!(
            "{what} has {} elements, not one",
            v.len()
        )));
    }
    Ok(v.remove(0))
}

/// A shape as Python prints a tuple: `(4, 5)`, `(3,)`, `()`.
pub(crate) fn py_shape(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

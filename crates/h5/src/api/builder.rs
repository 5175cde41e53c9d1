//! [`DatasetBuilder`]: a new dataset's type, shape, layout, filters and fill value.

use super::handles::{
    AllocTime, Dataset, DatasetBuilder, Fill, FillTime, Group, LayoutKind, Object,
};
use crate::error::Error;
use crate::error::Result;
use crate::read::convert::encode_scalar;
use crate::read::element::H5Type;
use crate::read::selection::Selection;
use crate::write::enc;
use crate::write::header;
use crate::write::header::HeaderEdit;
use crate::write::links;
use crate::write::names::taken;
use crate::write::names::{check_name, join};
use crate::write::strings::fit_to_file;
use crate::write::symtab::Target;
use crate::write::with;
use crate::write::LibVer;
use crate::write::WriteCtx;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::layout::Layout;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;

/// Message flag: constant (datatype, fill value: they never change).
const CONSTANT: u8 = 0x01;

/// Message flag: the body is a shared message (a reference to a committed datatype).
const SHARED: u8 = 0x02;

fn msg(t: MessageType, flags: u8, data: Vec<u8>) -> MessageOut {
    MessageOut {
        mtype: t.0,
        flags,
        creation_order: None,
        data,
    }
}

/// Whether elements of `dt` hold variable-length data (global heap references).
fn has_vlen(dt: &Datatype) -> bool {
    match dt {
        Datatype::VarLenSeq { .. } | Datatype::VarLenStr { .. } => true,
        Datatype::Compound { members, .. } => members.iter().any(|m| has_vlen(&m.dtype)),
        Datatype::Array { base, .. } | Datatype::Enum { base, .. } => has_vlen(base),
        _ => false,
    }
}

use crate::write::elements::Parts;

/// How a dataset's elements encode, inside the write context, for its type.
pub(crate) type Encode<'a, 'd> =
    &'a mut dyn FnMut(&mut WriteCtx<'_>, &Datatype) -> Result<std::borrow::Cow<'d, [u8]>>;

impl DatasetBuilder {
    pub(crate) fn new(group: Group, dtype: Datatype) -> Self {
        let dtype = fit_to_file(&dtype, group.obj.file.sizes);
        DatasetBuilder {
            group,
            dtype,
            shape: None,
            maxshape: None,
            chunks: None,
            layout: None,
            fill: None,
            filters: Default::default(),
            auto_chunks: false,
            committed: None,
            null: false,
            alloc_time: None,
            fill_time: None,
            track_order: false,
        }
    }
    /// The shape (`&[]` for a scalar).
    pub fn shape(mut self, shape: &[u64]) -> Self {
        self.shape = Some(shape.to_vec());
        self
    }
    /// No elements and no shape: a null dataspace, h5py's `create_dataset(name,
    /// data=h5py.Empty(dtype))`. Such a dataset is contiguous with no storage; it cannot be
    /// chunked, filtered or written.
    pub fn empty(mut self) -> Self {
        self.null = true;
        self.shape = Some(Vec::new());
        self
    }
    /// The maximum shape (h5py's `maxshape`); `None` entries are unlimited. As in h5py,
    /// giving one makes the dataset chunked (with a guessed chunk shape unless
    /// [`chunks`](Self::chunks) says otherwise), so that it can be [resized](Dataset::resize).
    pub fn maxshape(mut self, maxshape: &[Option<u64>]) -> Self {
        self.maxshape = Some(maxshape.to_vec());
        self
    }
    /// Chunk shape (h5py's `chunks=(…)`); no dimension may exceed the shape, or the maximum
    /// shape when one is given.
    pub fn chunks(mut self, chunks: &[u64]) -> Self {
        self.chunks = Some(chunks.to_vec());
        self
    }
    /// Chunked, with the chunk shape h5py would guess (h5py's `chunks=True`). Filters and a
    /// maximum shape do this on their own when no chunk shape is given.
    pub fn auto_chunks(mut self) -> Self {
        self.auto_chunks = true;
        self
    }
    /// Store the data inside the object header (small datasets only).
    pub fn compact(mut self) -> Self {
        self.layout = Some(LayoutKind::Compact);
        self
    }
    /// Store the data in one contiguous block (the default without chunks or filters).
    pub fn contiguous(mut self) -> Self {
        self.layout = Some(LayoutKind::Contiguous);
        self
    }
    /// gzip compression at `level` (0–9; h5py's `compression="gzip", compression_opts=level`,
    /// 4 by default there). Makes the dataset chunked. Replaces [`lzf`](Self::lzf).
    pub fn deflate(mut self, level: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Deflate(level));
        self
    }
    /// LZF compression (h5py's `compression="lzf"`). Makes the dataset chunked. Replaces
    /// [`deflate`](Self::deflate).
    pub fn lzf(mut self) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Lzf);
        self
    }
    /// SZIP compression (h5py's `compression="szip", compression_opts=("nn" or "ec",
    /// pixels_per_block)`; h5py's default is `("nn", 8)`): `nn` for the nearest-neighbour
    /// preprocessor (smooth data), else entropy coding only; `pixels_per_block` even, at most
    /// 32. Integer and float types of 1–4 or 8 bytes, as libhdf5 accepts. Makes the dataset
    /// chunked; replaces any other compression.
    pub fn szip(mut self, nn: bool, pixels_per_block: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Szip {
            nn,
            pixels_per_block,
        });
        self
    }
    /// Bitshuffle as hdf5plugin writes it (`**hdf5plugin.Bitshuffle(cname=...)`, filter
    /// 32008): `cname` "lz4" (hdf5plugin's default), "zstd" or "none"; other names are
    /// refused at creation. Makes the dataset chunked; replaces any other compression.
    pub fn bitshuffle(mut self, cname: &str) -> Self {
        let codec = match cname {
            "none" => 0,
            "lz4" => 2,
            "zstd" => 3,
            _ => u32::MAX,
        };
        self.filters.compression = Some(crate::write::chunked::Compression::Bitshuffle(codec));
        self
    }
    /// LZ4 compression as hdf5plugin writes it (`**hdf5plugin.LZ4()`, filter 32004), one LZ4
    /// block per chunk. Makes the dataset chunked; replaces any other compression. h5py reads
    /// it with `import hdf5plugin`.
    pub fn lz4(mut self) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Lz4);
        self
    }
    /// Zstandard compression as hdf5plugin writes it (`**hdf5plugin.Zstd(clevel=level)`,
    /// filter 32015), level 1–22 (hdf5plugin's default is 3), each chunk one zstd frame.
    /// Makes the dataset chunked; replaces any other compression.
    pub fn zstd(mut self, level: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Zstd(level));
        self
    }
    /// bzip2 compression as hdf5plugin writes it (`**hdf5plugin.BZip2(blocksize=level)`,
    /// filter 307), block size 1–9 (×100 kB; hdf5plugin's default is 9). Makes the dataset
    /// chunked; replaces any other compression.
    pub fn bzip2(mut self, level: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Bzip2(level));
        self
    }
    /// Blosc compression as hdf5plugin writes it (`**hdf5plugin.Blosc(cname, clevel,
    /// shuffle)`, filter 32001): `cname` "blosclz", "lz4" (hdf5plugin's default), "lz4hc",
    /// "zlib" or "zstd"; `clevel` 0–9 (5 there); `shuffle` 0 none, 1 byte (the default there,
    /// `Blosc.SHUFFLE`), 2 bit (`Blosc.BITSHUFFLE`). Other values are refused at creation, as
    /// hdf5plugin refuses them. Makes the dataset chunked; replaces any other compression.
    pub fn blosc(mut self, cname: &str, clevel: u8, shuffle: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Blosc {
            codec: crate::write::chunked::blosc_codec(cname),
            level: clevel,
            shuffle,
        });
        self
    }
    /// Blosc2 compression as hdf5plugin writes it (`**hdf5plugin.Blosc2(cname, clevel,
    /// filters)`, filter 32026): `cname` as for [`blosc`](Self::blosc) (hdf5plugin's default
    /// is "blosclz"), `clevel` 0–9 (5), `filters` 0 none, 1 shuffle (the default), 2
    /// bitshuffle, 3 delta, 4 trunc_prec. Makes the dataset chunked; replaces any other
    /// compression.
    pub fn blosc2(mut self, cname: &str, clevel: u8, filters: u8) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Blosc2 {
            codec: crate::write::chunked::blosc_codec(cname),
            level: clevel,
            filter: filters,
        });
        self
    }
    /// ZFP compression as hdf5plugin writes it (`**hdf5plugin.Zfp(...)`, filter 32013): in
    /// `mode` — `Rate(bits per value)`, `Precision(bit planes)`, `Accuracy(tolerance)`,
    /// `Expert {..}`, `Reversible` (lossless) or hdf5plugin's `Default` — on little-endian
    /// 32- and 64-bit signed integers and floats, in chunks with one to four dimensions
    /// longer than 1. Chunks are byte-identical to the plugin's. Makes the dataset chunked;
    /// replaces any other compression.
    #[cfg(feature = "zfp")]
    pub fn zfp(mut self, mode: h5_filters::zfp::Mode) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Zfp(
            crate::write::chunked::ZfpMode(mode),
        ));
        self
    }
    /// Any filter by its id, with the client data its encoder reads (h5py's
    /// `compression=id, compression_opts=client_data`; optional, as h5py adds it): for a
    /// filter of your own registered through [`CreateOptions::filters`](crate::CreateOptions),
    /// or a built-in with client data you choose. The file's registry must have a codec for
    /// `id`, or creation fails (h5py: "Unknown compression filter number"). A chunk the
    /// filter declines is stored unfiltered, its bit set in the chunk's filter mask. Makes
    /// the dataset chunked; replaces any other compression.
    pub fn filter(mut self, id: u16, client_data: &[u32]) -> Self {
        self.filters.compression = Some(crate::write::chunked::Compression::Other {
            id,
            client_data: client_data.to_vec(),
        });
        self
    }
    /// Scale-offset (h5py's `scaleoffset=`): for integers, `factor` is the bits each value
    /// keeps (0: as many as each chunk's range needs — lossless); for floats, the decimal
    /// digits kept after the point (D-scale: values rounded to 10^-factor — lossy). First in
    /// the pipeline; integer and float types only, as h5py refuses others. Makes the
    /// dataset chunked.
    pub fn scale_offset(mut self, factor: i32) -> Self {
        self.filters.scale_offset = Some(factor);
        self
    }
    /// N-bit packing (libhdf5's `H5Pset_nbit`, h5py's `dcpl.set_filter(h5z.FILTER_NBIT)`): only the bits a
    /// number's precision covers are stored — for types with unused bits, such as a 17-bit
    /// integer in 4 bytes (`h5::types` makes them); numbers that use all their bits pass
    /// through. First in the pipeline. Makes the dataset chunked.
    pub fn nbit(mut self) -> Self {
        self.filters.nbit = true;
        self
    }
    /// The shuffle filter before compression (h5py's `shuffle=True`). Makes the dataset
    /// chunked.
    pub fn shuffle(mut self) -> Self {
        self.filters.shuffle = true;
        self
    }
    /// A Fletcher-32 checksum on every chunk (h5py's `fletcher32=True`). Makes the dataset
    /// chunked.
    pub fn fletcher32(mut self) -> Self {
        self.filters.fletcher32 = true;
        self
    }
    /// Use a committed datatype (h5py's `dtype=f["mytype"]`): the dataset's type refers to
    /// it instead of holding a copy.
    ///
    /// # Errors
    /// A committed type that cannot be read.
    pub fn committed(mut self, t: &crate::NamedDatatype) -> Result<Self> {
        self.dtype = t.dtype()?;
        self.committed = Some(t.obj.addr());
        Ok(self)
    }
    /// When the storage is allocated (libhdf5's default when not given: early for compact,
    /// late for contiguous, incremental for chunked). Compact datasets need
    /// [`AllocTime::Early`], as in libhdf5.
    pub fn alloc_time(mut self, t: AllocTime) -> Self {
        self.alloc_time = Some(t);
        self
    }
    /// Keep the dataset's attributes in creation order, tracked and indexed (h5py's
    /// `create_dataset(..., track_order=True)`; a version 2 header in every profile).
    pub fn track_order(mut self) -> Self {
        self.track_order = true;
        self
    }
    /// When allocated storage gets the fill value ([`FillTime::IfSet`] when not given).
    pub fn fill_time(mut self, t: FillTime) -> Self {
        self.fill_time = Some(t);
        self
    }
    /// The value unwritten elements read as (h5py's `fillvalue=`), converted to the
    /// dataset's type.
    ///
    /// # Errors
    /// A number that the dataset's type cannot hold.
    pub fn fill_value<T: H5Type>(mut self, value: T) -> Result<Self> {
        match T::numeric().filter(|_| crate::read::element::is_number(&self.dtype)) {
            Some(num) => {
                let mut b = crate::base::fallible_zeros(self.dtype.size())?;
                encode_scalar(&self.dtype, (num.to_scalar)(&value), &mut b)?;
                self.fill = Some(Fill::Bytes(b));
            }
            None => self.fill = Some(Fill::Value(value.to_value())),
        }
        Ok(self)
    }

    /// A fill value of any type (strings, compounds, complex numbers, arrays,
    /// variable-length sequences) as a dynamic value; variable-length parts are stored in
    /// the global heap, as libhdf5 stores them. Checked against the type when the dataset
    /// is created. A chunked dataset with a variable-length fill value gets its chunks
    /// allocated early unless [`alloc_time`](Self::alloc_time) says otherwise: libhdf5
    /// cannot read unallocated chunks of such a dataset from a read-only file.
    pub fn fill_value_of(mut self, value: crate::Value) -> Self {
        self.fill = Some(Fill::Value(value));
        self
    }

    /// Create the dataset at `path` in the group.
    ///
    /// # Errors
    /// No shape given; a name that exists; chunks, filters, maximum shape or layout that do not fit
    /// together or the shape (as h5py refuses them); a fill value the type cannot hold; a read-only
    /// or closed file.
    pub fn create(self, path: &str) -> Result<Dataset> {
        self.create_holding(path, None).map(|(ds, _)| ds)
    }

    /// [`create`](Self::create), and when the dataset is contiguous and not empty, its data
    /// as `data` encodes it (inside the write context, for the dataset's type): written into
    /// its storage before the header that names it, so the header is written once. Whether
    /// the data was written (else the caller writes it).
    pub(crate) fn create_holding<'d>(
        self,
        path: &str,
        data: Option<(Encode<'_, 'd>, Option<Parts<'d>>)>,
    ) -> Result<(Dataset, bool)> {
        let shape = self
            .shape
            .clone()
            .ok_or_else(|| Error::Shape("a dataset needs a shape".into()))?;
        if self.null
            && (self.maxshape.is_some()
                || self.chunks.is_some()
                || self.auto_chunks
                || self.filters != Default::default()
                || self.layout.is_some_and(|l| l != LayoutKind::Contiguous))
        {
            return Err(Error::Shape(
                "an empty (null dataspace) dataset is contiguous: no chunks, filters, \
                 maximum shape or compact layout"
                    .into(),
            ));
        }
        let mut plan = crate::write::chunked::plan(
            &shape,
            self.maxshape.as_deref(),
            self.chunks.as_deref(),
            self.auto_chunks,
            (&self.filters, &self.group.obj.file.filters),
            &self.dtype,
            self.layout.is_some(),
        )?;
        let es = self.dtype.size();
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::Shape("shape too large".into()))?;
        let bytes = n
            .checked_mul(es)
            .ok_or_else(|| Error::Shape("shape too large".into()))?;
        let bytes = if self.null { 0 } else { bytes };
        let layout_kind = match &plan {
            Some(_) => LayoutKind::Chunked,
            None => self.layout.unwrap_or(LayoutKind::Contiguous),
        };
        let alloc_time = self.alloc_time.unwrap_or(match layout_kind {
            LayoutKind::Compact => AllocTime::Early,
            // libhdf5 cannot read an unallocated chunk whose fill value holds variable-length
            // data in a read-only file ("no write intent"): allocate every chunk up front
            LayoutKind::Chunked if self.fill.is_some() && has_vlen(&self.dtype) => AllocTime::Early,
            LayoutKind::Chunked => AllocTime::Incremental,
            _ => AllocTime::Late,
        });
        if layout_kind == LayoutKind::Compact && alloc_time != AllocTime::Early {
            return Err(Error::Shape(
                "compact dataset must have early space allocation".into(),
            ));
        }
        let fill_time = self.fill_time.unwrap_or(FillTime::IfSet);
        // Everything that can be refused is checked before anything changes: the name, the
        // compact size, the fill value; only then are missing intermediate groups made.
        let (existing, name) = self.group.find_parent(path)?;
        check_name(&name)?;
        let f = &self.group.obj.file;
        let fill_bytes = with(f, |cx| {
            if let Some(p) = &existing {
                if taken(cx, p.addr(), &name)? {
                    return Err(Error::Exists(join(p.name(), &name)));
                }
            }
            if layout_kind == LayoutKind::Compact {
                compact_fits(cx.st.libver, bytes)?;
            }
            match &self.fill {
                Some(Fill::Bytes(b)) => Ok(Some(b.clone())),
                Some(Fill::Value(v)) => Ok(Some(crate::write::strings::encode_values(
                    cx,
                    &self.dtype,
                    std::slice::from_ref(v),
                    1,
                )?)),
                None => Ok(None),
            }
        })?;
        if let (Some(p), Some(fill)) = (plan.as_mut(), fill_bytes.as_deref()) {
            // scale-offset's client data carries the fill value (libhdf5's set-local)
            crate::write::chunked::scale_offset_fill(&mut p.filters, &self.dtype, fill);
        }
        let (parent, name) = self.group.split_parent(path)?;
        let space = if self.null {
            Dataspace::null()
        } else if shape.is_empty() {
            Dataspace::scalar()
        } else {
            Dataspace::simple(
                shape.clone(),
                plan.as_ref().and_then(|p| p.max_dims.clone()),
            )
        };
        let (addr, held) = with(f, |cx| {
            if taken(cx, parent.addr(), &name)? {
                return Err(Error::Exists(join(parent.name(), &name)));
            }
            let libver = cx.st.libver;
            // what allocated storage starts as: the fill value unless the fill time says not
            // to write it (then zeros)
            let initial = |cx: &WriteCtx<'_>| {
                let fv = fill_bytes
                    .as_deref()
                    .filter(|_| matches!(fill_time, FillTime::Alloc | FillTime::IfSet));
                cx.f.filled_buffer(fv, es as usize, if self.null { 0 } else { n })
            };
            let mut held = false;
            let layout = match (layout_kind, data) {
                (LayoutKind::Contiguous, Some((encode, parts))) if bytes > 0 => {
                    let a = match parts.filter(|p| p.len as u64 == bytes) {
                        // streamed as it is encoded (a failure leaves the new space unnamed)
                        Some(parts) => {
                            let a = cx.alloc(bytes)?;
                            crate::write::elements::stream(cx, a, parts)?;
                            a
                        }
                        // encoded before anything changes
                        None => {
                            let data = encode(cx, &self.dtype)?;
                            if data.len() as u64 != bytes {
                                return Err(Error::Shape(format!(
                                    "{} bytes of data for a dataset of {bytes}",
                                    data.len()
                                )));
                            }
                            let a = cx.alloc(bytes)?;
                            cx.write(a, &data)?;
                            a
                        }
                    };
                    held = true;
                    Layout::Contiguous {
                        addr: Some(a),
                        size: Some(bytes),
                    }
                }
                (LayoutKind::Compact, _) => Layout::Compact { data: initial(cx)? },
                (LayoutKind::Chunked, _) => {
                    let plan = plan.as_ref().expect("chunked plan");
                    crate::write::chunked::new_layout(plan, &shape, es, libver)
                }
                _ if alloc_time == AllocTime::Early && bytes > 0 => {
                    let data = initial(cx)?;
                    let a = cx.alloc(bytes)?;
                    cx.write(a, &data)?;
                    Layout::Contiguous {
                        addr: Some(a),
                        size: Some(bytes),
                    }
                }
                _ => Layout::Contiguous {
                    addr: None,
                    size: Some(bytes),
                },
            };
            let fill = FillValue {
                alloc_time: alloc_time as u8,
                write_time: fill_time as u8,
                defined: true,
                value: fill_bytes.clone(),
            };
            let filters = plan.as_ref().map(|p| p.filters.as_slice()).unwrap_or(&[]);
            let msgs = self.messages(cx, &space, &fill, filters, &layout)?;
            // libhdf5 gives dataset headers a 256-byte message area.
            let addr = header::create_with(cx, msgs, 256, self.track_order)?;
            if let Some(t) = self.committed {
                // libhdf5 counts every object using a committed type as a reference to it
                HeaderEdit::load(cx, t)?.adjust_refcount(cx, 1)?;
            }
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::Object { addr, group: None },
            )?;
            Ok((addr, held))
        })?;
        let ds = Dataset::from_object(Object::load(
            &self.group.obj.file,
            addr,
            &join(parent.name(), &name),
        )?)?;
        if layout_kind == LayoutKind::Chunked && alloc_time == AllocTime::Early {
            // every chunk now, as libhdf5 allocates them
            ds.allocate_filled(&Selection::All)?;
        }
        Ok((ds, held))
    }

    /// The new dataset's header messages, in libhdf5's order and the profile's versions.
    fn messages(
        &self,
        cx: &mut WriteCtx<'_>,
        space: &Dataspace,
        fill: &FillValue,
        filters: &[h5_format::message::filter_pipeline::FilterInfo],
        layout: &Layout,
    ) -> Result<Vec<MessageOut>> {
        let (sizes, libver) = (cx.f.sizes, cx.st.libver);
        let mut msgs = vec![
            msg(
                MessageType::DATASPACE,
                0,
                enc::dataspace(sizes, libver, space)?,
            ),
            match self.committed {
                // a reference to the committed type's header (shared message, v2 type 2)
                Some(t) => msg(
                    MessageType::DATATYPE,
                    CONSTANT | SHARED,
                    crate::write::named::shared_body(sizes, t)?,
                ),
                None => msg(
                    MessageType::DATATYPE,
                    CONSTANT,
                    enc::datatype(sizes, libver, &self.dtype)?,
                ),
            },
        ];
        let (new_fill, old_fill) = enc::fill_value(sizes, libver, fill)?;
        msgs.push(msg(MessageType::FILL_VALUE, CONSTANT, new_fill));
        if let Some(old) = old_fill {
            msgs.push(msg(MessageType::FILL_VALUE_OLD, CONSTANT, old));
        }
        if !filters.is_empty() {
            let body = crate::write::chunked::pipeline_message(cx, filters)?;
            msgs.push(msg(MessageType::FILTER_PIPELINE, CONSTANT, body));
        }
        let body = enc::layout(sizes, libver, layout, !filters.is_empty())?;
        msgs.push(msg(MessageType::LAYOUT, 0, body));
        Ok(msgs)
    }
}

/// A compact dataset's data must fit one header message: at most 65 535 bytes, 4 of them the
/// layout message's own fields; version 1 headers also round messages up to 8 bytes (libhdf5
/// accepts up to 65 531 there too, but then cannot read the header back: "message not
/// aligned").
fn compact_fits(libver: LibVer, bytes: u64) -> Result<()> {
    let max = if libver == LibVer::Earliest {
        65_524
    } else {
        65_531
    };
    if bytes > max {
        return Err(Error::Shape(format!(
            "compact dataset size is bigger than header message maximum size \
             ({bytes} bytes; at most {max} in this file's object headers)"
        )));
    }
    Ok(())
}

//! What the writer knows of a chunked dataset, read from its header, and its chunks read
//! and encoded through the filters.

use crate::base::FileInner;
use crate::error::{Error, Result};
use crate::write::header::HeaderEdit;
use crate::write::WriteCtx;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::fill_value::FillValue;
use h5_format::message::filter_pipeline::{self, FilterInfo};
use h5_format::message::layout::{self, Chunked, Layout};
use h5_format::message::MessageType;

// ------------------------------------------------------------------------------------------
// What the writer needs to know of a chunked dataset, read from its header

/// A chunked dataset as its header describes it now.
pub(super) struct Meta {
    /// Layout message version (4 and 5 differ in how wide filtered chunk sizes are).
    pub(super) layout_version: u8,
    /// Dataspace message version (kept when a resize rewrites it).
    pub(super) space_version: u8,
    pub(super) dims: Vec<u64>,
    pub(super) max_dims: Vec<u64>,
    pub(super) chunk: Chunked,
    pub(super) filters: Vec<FilterInfo>,
    /// One element of the fill value (zeros by default).
    pub(super) fill: Option<Vec<u8>>,
    pub(super) es: usize,
    pub(super) chunk_bytes: usize,
}

impl Meta {
    pub(super) fn load(cx: &WriteCtx<'_>, h: &HeaderEdit, obj: u64) -> Result<Meta> {
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

    pub(super) fn rank(&self) -> usize {
        self.dims.len()
    }

    pub(super) fn origin(&self, scaled: &[u64]) -> Vec<u64> {
        scaled
            .iter()
            .zip(&self.chunk.dims)
            .map(|(&s, &c)| s * c)
            .collect()
    }

    pub(super) fn params(&self) -> Vec<h5_filters::FilterParams<'_>> {
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
    pub(super) fn filled(&self, f: &FileInner) -> Result<Vec<u8>> {
        f.filled_buffer(
            self.fill.as_deref(),
            self.es,
            (self.chunk_bytes / self.es.max(1)) as u64,
        )
    }

    /// Read a stored chunk and undo its filters.
    pub(super) fn read_chunk(&self, f: &FileInner, loc: &Loc) -> Result<Vec<u8>> {
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
    pub(super) fn encode_chunk(&self, f: &FileInner, data: Vec<u8>) -> Result<(Vec<u8>, u32)> {
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
pub(super) struct Loc {
    pub(super) addr: u64,
    pub(super) size: u32,
    pub(super) mask: u32,
}

//! Creation: chunk shapes as h5py guesses them and the filter pipelines h5py builds.

use crate::error::{Error, Result};
use crate::write::{LibVer, WriteCtx};
use h5_filters::Registry;
use h5_format::message::datatype::Datatype;
use h5_format::message::filter_pipeline::{self, FilterInfo};
use h5_format::message::layout::{ChunkIndex, Chunked, Layout};
use h5_format::Writer;

// ------------------------------------------------------------------------------------------
// Creation: chunk shapes and filter pipelines as h5py makes them

/// The compression filter of a dataset (h5py's `compression=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compression {
    /// gzip at a level 0–9.
    Deflate(u8),
    /// h5py's LZF.
    Lzf,
    /// hdf5plugin's LZ4 (32004), one block per chunk.
    Lz4,
    /// hdf5plugin's Zstd (32015) at a level 1–22.
    Zstd(u8),
    /// hdf5plugin's BZip2 (307) with a block size 1–9.
    Bzip2(u8),
    /// hdf5plugin's Bitshuffle (32008): 0 no compression, 2 LZ4, 3 zstd (level 3).
    Bitshuffle(u32),
    /// SZIP (4): nearest-neighbour preprocessing (`true`, h5py's "nn") or entropy coding
    /// only ("ec"), and the pixels per block.
    Szip { nn: bool, pixels_per_block: u8 },
    /// hdf5plugin's Blosc (32001): the codec's number (0 blosclz, 1 lz4, 2 lz4hc, 4 zlib,
    /// 5 zstd; `u32::MAX` for a name hdf5plugin does not know), the level 0–9 and the
    /// shuffle (0 none, 1 byte, 2 bit).
    Blosc { codec: u32, level: u8, shuffle: u8 },
    /// hdf5plugin's Blosc2 (32026): codec number as for Blosc, level, and filter (0 none,
    /// 1 shuffle, 2 bitshuffle, 3 delta, 4 trunc_prec).
    Blosc2 { codec: u32, level: u8, filter: u8 },
    /// Any filter by id with the client data given (h5py's `compression=<id>,
    /// compression_opts=(...)`), optional as h5py adds it.
    Other { id: u16, client_data: Vec<u32> },
    /// hdf5plugin's ZFP (32013) in a mode.
    #[cfg(feature = "zfp")]
    Zfp(ZfpMode),
}

/// A ZFP mode, compared by its bits (its numbers are floats).
#[cfg(feature = "zfp")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZfpMode(pub(crate) h5_filters::zfp::Mode);

#[cfg(feature = "zfp")]
impl PartialEq for ZfpMode {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}

#[cfg(feature = "zfp")]
impl Eq for ZfpMode {}

/// The filters a dataset builder asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilterSpec {
    /// Scale-offset's factor (first in the pipeline, as h5py puts it).
    pub(crate) scale_offset: Option<i32>,
    /// N-bit packing (first in the pipeline, as a dcpl's `set_nbit` before compression).
    pub(crate) nbit: bool,
    pub(crate) shuffle: bool,
    pub(crate) compression: Option<Compression>,
    pub(crate) fletcher32: bool,
}

impl FilterSpec {
    fn any(&self) -> bool {
        self.nbit
            || self.scale_offset.is_some()
            || self.shuffle
            || self.fletcher32
            || self.compression.is_some()
    }

    /// The pipeline in h5py's order — shuffle, the compression, fletcher32 — with the flags
    /// (deflate, shuffle and LZF optional; fletcher32 required), names and client data
    /// libhdf5 stores once the filters have seen the dataset's type and chunk.
    pub(crate) fn pipeline(
        &self,
        reg: &Registry,
        dtype: &Datatype,
        chunk: &[u64],
    ) -> Result<Vec<FilterInfo>> {
        let element_size = dtype.size();
        let chunk_bytes = chunk.iter().product::<u64>() * element_size;
        let f = |id: u16, flags: u16, client_data: Vec<u32>| FilterInfo {
            id,
            name: FilterInfo::known_name(id).map(String::from),
            flags,
            client_data,
        };
        let mut out = Vec::new();
        if let Some(factor) = self.scale_offset {
            let elements = chunk_bytes / element_size.max(1);
            let cd = scale_offset_client_data(dtype, factor, elements)?;
            out.push(f(h5_filters::id::SCALEOFFSET, 1, cd));
        }
        if self.nbit {
            let elements = chunk_bytes / element_size.max(1);
            let cd = nbit_client_data(dtype, elements)?;
            out.push(f(h5_filters::id::NBIT, 1, cd));
        }
        if self.shuffle {
            out.push(f(h5_filters::id::SHUFFLE, 1, vec![element_size as u32]));
        }
        match self.compression.clone() {
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
            // hdf5plugin's filters, optional as h5py adds them, with hdf5plugin's client data
            Some(Compression::Szip {
                nn,
                pixels_per_block,
            }) => {
                let cd = szip_client_data(dtype, nn, pixels_per_block)?;
                // libhdf5's own filter: named in the pipeline, as for deflate
                out.push(FilterInfo {
                    name: FilterInfo::known_name(h5_filters::id::SZIP).map(String::from),
                    ..plugin(h5_filters::id::SZIP, cd)
                });
            }
            Some(Compression::Lz4) => out.push(plugin(h5_filters::id::LZ4, vec![0])),
            // hdf5plugin's stored values: version 0.4, element size, default block, codec
            Some(Compression::Bitshuffle(codec)) => {
                if codec == u32::MAX {
                    return Err(Error::Shape(
                        "bitshuffle compression must be \"none\", \"lz4\" or \"zstd\"".into(),
                    ));
                }
                let mut cd = vec![0, 4, element_size as u32, 0, codec];
                if codec == 3 {
                    cd.push(3);
                }
                out.push(plugin(h5_filters::id::BITSHUFFLE, cd))
            }
            Some(Compression::Zstd(level)) => {
                if !(1..=22).contains(&level) {
                    return Err(Error::Shape(format!(
                        "zstd level must be in 1-22, not {level}"
                    )));
                }
                out.push(plugin(h5_filters::id::ZSTD, vec![level as u32]))
            }
            Some(Compression::Bzip2(level)) => {
                if !(1..=9).contains(&level) {
                    return Err(Error::Shape(format!(
                        "bzip2 block size must be in 1-9, not {level}"
                    )));
                }
                out.push(plugin(h5_filters::id::BZIP2, vec![level as u32]))
            }
            // the values hdf5plugin's set_local stores (h5_filters::client_data)
            Some(Compression::Blosc {
                codec,
                level,
                shuffle,
            }) => {
                blosc_checks(
                    codec,
                    level,
                    shuffle,
                    ("blosc shuffle", &["none", "byte", "bit"]),
                )?;
                let cd = h5_filters::client_data::blosc(
                    blosc_typesize(dtype),
                    chunk_bytes as u32,
                    level.into(),
                    shuffle.into(),
                    codec,
                );
                out.push(plugin(h5_filters::id::BLOSC, cd.to_vec()))
            }
            Some(Compression::Blosc2 {
                codec,
                level,
                filter,
            }) => {
                blosc_checks(codec, level, filter, ("blosc2 filters", &BLOSC2_FILTERS))?;
                let dims: Vec<u32> = chunk.iter().map(|&c| c as u32).collect();
                let cd = h5_filters::client_data::blosc2(
                    blosc_typesize(dtype),
                    element_size as u32,
                    &dims,
                    level.into(),
                    filter.into(),
                    codec,
                );
                out.push(plugin(h5_filters::id::BLOSC2, cd))
            }
            // H5Z-ZFP's set_local: the field (type, chunk) and mode in zfp's header words
            #[cfg(feature = "zfp")]
            Some(Compression::Zfp(ZfpMode(mode))) => {
                use h5_filters::zfp::ScalarType;
                let ty =
                    match *dtype {
                        Datatype::Integer {
                            size: 4,
                            signed: true,
                            order: h5_format::message::datatype::ByteOrder::Little,
                            ..
                        } => ScalarType::Int32,
                        Datatype::Integer {
                            size: 8,
                            signed: true,
                            order: h5_format::message::datatype::ByteOrder::Little,
                            ..
                        } => ScalarType::Int64,
                        Datatype::Float {
                            size: 4,
                            order: h5_format::message::datatype::ByteOrder::Little,
                            ..
                        } => ScalarType::Float,
                        Datatype::Float {
                            size: 8,
                            order: h5_format::message::datatype::ByteOrder::Little,
                            ..
                        } => ScalarType::Double,
                        _ => return Err(Error::Unsupported(
                            "zfp codes little-endian 32- and 64-bit signed integers and floats \
                             only (H5Z-ZFP refuses other types)"
                                .into(),
                        )),
                    };
                let cd = h5_filters::zfp::client_data(ty, chunk, mode)
                    .map_err(|e| Error::Shape(e.to_string()))?;
                out.push(plugin(h5_filters::id::ZFP, cd))
            }
            Some(Compression::Other { id, client_data }) => {
                out.push(plugin(id, client_data));
            }
            None => {}
        }
        if self.fletcher32 {
            out.push(f(h5_filters::id::FLETCHER32, 0, Vec::new()));
        }
        // every filter, libhdf5's own too: a registry of the user's may lack any of them
        for fi in &out {
            need(reg, fi.id)?;
        }
        Ok(out)
    }
}

/// SZIP's client data as `H5Pset_szip` and libhdf5's set-local make it: the options mask
/// (NN 32 or EC 4, with K13 1 and RAW 128, and LSB 8 or MSB 16 by the type's byte order),
/// the pixels per block, the bits per pixel (the precision; the whole size when the bits sit
/// at an offset; 32 or 64 above 24) and the pixels per scanline (the chunk's fastest
/// dimension, at most 128 blocks). Refuses what libhdf5 refuses: types of other sizes than
/// 1–4 or 8 bytes, types without a byte order.
pub(crate) fn szip_client_data(dt: &Datatype, nn: bool, ppb: u8) -> Result<Vec<u32>> {
    use h5_format::message::datatype::ByteOrder;
    let ppb = u64::from(ppb);
    if ppb % 2 != 0 || ppb == 0 || ppb > 32 {
        return Err(Error::Shape(format!(
            "szip pixels per block must be even and at most 32, not {ppb}"
        )));
    }
    let number = |dt: &Datatype| match dt {
        Datatype::Integer {
            order,
            precision,
            bit_offset,
            ..
        }
        | Datatype::Float {
            order,
            precision,
            bit_offset,
            ..
        } => Some((*order, *precision, *bit_offset)),
        _ => None,
    };
    let (order, precision, offset) = match dt {
        Datatype::Enum { base, .. } | Datatype::Array { base, .. } => number(base),
        other => number(other),
    }
    .ok_or_else(|| Error::Unsupported("invalid datatype endianness order (szip)".into()))?;
    let size = dt.size();
    if !matches!(size, 1..=4 | 8) {
        return Err(Error::Unsupported("invalid datatype size (szip)".into()));
    }
    let order_bit = match order {
        ByteOrder::Little => 8,
        ByteOrder::Big => 16,
        ByteOrder::Vax => {
            return Err(Error::Unsupported(
                "invalid datatype endianness order (szip)".into(),
            ))
        }
    };
    let size_bits = 8 * size;
    let mut bpp = u64::from(precision);
    if bpp < size_bits && offset != 0 {
        bpp = size_bits;
    }
    if bpp > 24 {
        bpp = if bpp <= 32 { 32 } else { 64 };
    }
    // libaec (the SZIP layer libhdf5 calls) reads pixels of up to 8, 16 or 24 bits from 1-,
    // 2- and 4-byte words; a type of another size (3 bytes, or 4 with 16 bits or fewer)
    // libhdf5 still writes, but its chunks no longer hold the values: h5py reads them back
    // wrong (checked with h5py 3.16, libhdf5 2.0). Refused here rather than written so.
    let word = match bpp {
        0..=8 => 8,
        9..=16 => 16,
        17..=32 => 32,
        _ => 64,
    };
    if word != size_bits {
        return Err(Error::Unsupported(format!(
            "szip cannot code {size}-byte numbers of {bpp} bits: the SZIP coder reads them as \
             {}-byte words, and libhdf5's chunks of such a type do not read back",
            word / 8
        )));
    }
    Ok(vec![
        if nn { 32 } else { 4 } | 1 | 128 | order_bit,
        ppb as u32,
        bpp as u32,
        0, // pixels per scanline: set by `szip_scanline` once the chunk shape is known
    ])
}

/// Put the pixels per scanline into SZIP's client data in `filters`, for chunks of `chunk`
/// (libhdf5's rule: the fastest dimension, at most 128 blocks; the whole chunk when that
/// dimension is shorter than a block).
pub(crate) fn szip_scanline(filters: &mut [FilterInfo], chunk: &[u64]) -> Result<()> {
    let Some(f) = filters
        .iter_mut()
        .find(|f| f.id == h5_filters::id::SZIP && f.client_data.len() == 4)
    else {
        return Ok(());
    };
    let ppb = u64::from(f.client_data[1]);
    let npoints: u64 = chunk.iter().product();
    let last = chunk.last().copied().unwrap_or(1);
    let pps = if last < ppb {
        if npoints < ppb {
            return Err(Error::Shape(
                "pixels per block greater than total number of elements in the chunk".into(),
            ));
        }
        (ppb * 128).min(npoints)
    } else if last <= 4096 {
        (ppb * 128).min(last)
    } else {
        ppb * 128
    };
    f.client_data[3] = pps as u32;
    Ok(())
}

/// Scale-offset's client data for elements of `dt`, `elements` per chunk, as libhdf5's
/// set-local callback computes it: 20 values (see h5-filters' `scaleoffset`), the fill value
/// defined as 0 (libhdf5's default fill counts as defined) until [`scale_offset_fill`] puts
/// the dataset's own in. Integers use the integer mode with `factor` bits (0: automatic),
/// floats D-scale with `factor` digits, as h5py picks by the dtype's kind.
pub(crate) fn scale_offset_client_data(
    dt: &Datatype,
    factor: i32,
    elements: u64,
) -> Result<Vec<u32>> {
    use h5_format::message::datatype::ByteOrder;
    let refuse = || {
        Error::Unsupported(
            "Scale/offset filter only supported for integer and floating-point types".into(),
        )
    };
    let (scale_type, class, sign, order, size) = match dt {
        Datatype::Integer {
            size,
            order,
            signed,
            bitfield: false,
            ..
        } => (2, 0, u32::from(*signed), order, *size),
        Datatype::Float { size, order, .. } => (0, 1, 0, order, *size),
        _ => return Err(refuse()),
    };
    let order = match order {
        ByteOrder::Little => 0,
        ByteOrder::Big => 1,
        ByteOrder::Vax => return Err(refuse()),
    };
    let fits = if class == 1 {
        matches!(size, 4 | 8)
    } else {
        matches!(size, 1 | 2 | 4 | 8)
    };
    if !fits {
        return Err(Error::Unsupported(
            "cannot find matched memory datatype for scale-offset".into(),
        ));
    }
    if class == 0 && factor > 8 * size as i32 {
        return Err(Error::Shape(format!(
            "scale-offset bits {factor} exceed the {size}-byte integer's {}",
            8 * size
        )));
    }
    let elements = u32::try_from(elements)
        .map_err(|_| Error::Shape("too many elements in a chunk for scale-offset".into()))?;
    let mut cd = vec![
        scale_type,
        factor as u32,
        elements,
        class,
        size,
        sign,
        order,
        1,
    ];
    cd.resize(20, 0);
    Ok(cd)
}

/// Put the dataset's fill value (`fill`: its bytes in the dataset's type) into the client
/// data of a scale-offset filter in `filters`: native (little-endian) bytes, as 32-bit
/// little-endian pieces from value 8 on (one byte for 1-byte types).
pub(crate) fn scale_offset_fill(filters: &mut [FilterInfo], dt: &Datatype, fill: &[u8]) {
    let Some(f) = filters
        .iter_mut()
        .find(|f| f.id == h5_filters::id::SCALEOFFSET && f.client_data.len() == 20)
    else {
        return;
    };
    let size = (dt.size() as usize).min(8).min(fill.len());
    let mut native = fill[..size].to_vec();
    if f.client_data[6] == 1 {
        native.reverse();
    }
    native.resize(8, 0);
    f.client_data[8] = u32::from_le_bytes([native[0], native[1], native[2], native[3]]);
    f.client_data[9] = u32::from_le_bytes([native[4], native[5], native[6], native[7]]);
    if size == 1 {
        f.client_data[8] &= 0xff;
    }
}

/// The n-bit filter's client data for elements of `dt`, `elements` per chunk, as libhdf5's
/// set-local callback (`H5Z__set_local_nbit`) computes it: `[count, nothing-to-pack flag,
/// elements, type description…]` (the description's grammar is in h5-filters' `nbit`).
pub(crate) fn nbit_client_data(dt: &Datatype, elements: u64) -> Result<Vec<u32>> {
    let elements = u32::try_from(elements)
        .map_err(|_| Error::Shape("too many elements in a chunk for n-bit".into()))?;
    let mut desc = Vec::new();
    let mut all_bits = true;
    if nbit_packs(dt) {
        nbit_describe(dt, &mut desc, &mut all_bits)?;
    }
    let mut cd = vec![0, u32::from(all_bits), elements];
    cd.extend(desc);
    if cd.len() > 4096 {
        return Err(Error::Unsupported(
            "datatype needs too many nbit parameters".into(),
        ));
    }
    cd[0] = cd.len() as u32;
    Ok(cd)
}

/// Whether n-bit packs `dt`'s bits (numbers, and arrays and compounds of anything); every
/// other class is stored whole.
fn nbit_packs(dt: &Datatype) -> bool {
    matches!(
        dt,
        Datatype::Integer {
            bitfield: false,
            ..
        } | Datatype::Float { .. }
            | Datatype::Array { .. }
            | Datatype::Compound { .. }
    )
}

fn nbit_describe(dt: &Datatype, out: &mut Vec<u32>, all_bits: &mut bool) -> Result<()> {
    use h5_format::message::datatype::ByteOrder;
    let size = dt.size() as u32;
    match dt {
        Datatype::Integer {
            order,
            bit_offset,
            precision,
            bitfield: false,
            ..
        }
        | Datatype::Float {
            order,
            bit_offset,
            precision,
            ..
        } => {
            let order = match order {
                ByteOrder::Little => 0,
                ByteOrder::Big => 1,
                ByteOrder::Vax => {
                    return Err(Error::Unsupported("bad datatype endianness order".into()))
                }
            };
            let (p, o) = (u32::from(*precision), u32::from(*bit_offset));
            if p > 8 * size || p + o > 8 * size {
                return Err(Error::Unsupported(
                    "invalid datatype precision/offset".into(),
                ));
            }
            if o != 0 || p != 8 * size {
                *all_bits = false;
            }
            out.extend([1, size, order, p, o]);
        }
        Datatype::Array { base, .. } => {
            if matches!(
                **base,
                Datatype::VarLenSeq { .. } | Datatype::VarLenStr { .. }
            ) {
                return Err(Error::Unsupported("datatype not supported by nbit".into()));
            }
            out.extend([2, size]);
            nbit_member(base, base.size() as u32, out, all_bits)?;
        }
        Datatype::Compound { members, .. } => {
            out.extend([3, size, members.len() as u32]);
            for (i, m) in members.iter().enumerate() {
                // a member stored whole spans to the next member (or the compound's end)
                let end = members.get(i + 1).map_or(size as u64, |n| n.offset);
                out.push(m.offset as u32);
                let whole = if matches!(
                    m.dtype,
                    Datatype::VarLenSeq { .. } | Datatype::VarLenStr { .. }
                ) {
                    end.saturating_sub(m.offset) as u32
                } else {
                    m.dtype.size() as u32
                };
                nbit_member(&m.dtype, whole, out, all_bits)?;
            }
        }
        _ => out.extend([4, size]),
    }
    Ok(())
}

/// A part inside an array or compound: described if n-bit packs it, else stored whole
/// (`whole` bytes).
fn nbit_member(dt: &Datatype, whole: u32, out: &mut Vec<u32>, all_bits: &mut bool) -> Result<()> {
    if nbit_packs(dt) {
        nbit_describe(dt, out, all_bits)
    } else {
        out.extend([4, whole]);
        Ok(())
    }
}

/// Blosc's and Blosc2's codec numbers by hdf5plugin's names; `u32::MAX` for others.
pub(crate) fn blosc_codec(cname: &str) -> u32 {
    match cname {
        "blosclz" => 0,
        "lz4" => 1,
        "lz4hc" => 2,
        "zlib" => 4,
        "zstd" => 5,
        _ => u32::MAX,
    }
}

/// Blosc2's filters by number (hdf5plugin's `Blosc2(filters=...)`).
const BLOSC2_FILTERS: [&str; 5] = ["none", "shuffle", "bitshuffle", "delta", "trunc_prec"];

/// hdf5plugin's checks of Blosc's and Blosc2's options (it raises `ValueError`).
fn blosc_checks(
    codec: u32,
    level: u8,
    shuffle: u8,
    (what, shuffles): (&str, &[&str]),
) -> Result<()> {
    if codec == u32::MAX {
        return Err(Error::Shape(
            "blosc compression must be one of \"blosclz\", \"lz4\", \"lz4hc\", \"zlib\" \
             or \"zstd\""
                .into(),
        ));
    }
    if level > 9 {
        return Err(Error::Shape(format!(
            "blosc level must be in 0-9, not {level}"
        )));
    }
    if shuffle as usize >= shuffles.len() {
        return Err(Error::Shape(format!(
            "{what} must be one of {shuffles:?} (0-{}), not {shuffle}",
            shuffles.len() - 1
        )));
    }
    Ok(())
}

/// The type size Blosc and Blosc2 are told: an array's base type size.
fn blosc_typesize(dt: &Datatype) -> u32 {
    match dt {
        Datatype::Array { base, .. } => base.size() as u32,
        other => other.size() as u32,
    }
}

/// Refuses a filter the file's registry has no codec for: a write would otherwise store
/// every chunk unfiltered (h5py: "Unknown compression filter number").
fn need(reg: &Registry, id: u16) -> Result<()> {
    if reg.get(id).is_none() {
        return Err(Error::Unsupported(format!(
            "filter {id} ({}) is not in the file's filter registry (a codec feature of this \
             build is off, or CreateOptions::filters has no codec for it)",
            h5_filters::name_of(id)
        )));
    }
    Ok(())
}

/// A plugin filter's pipeline entry (optional, as h5py adds hdf5plugin's filters; the
/// pipeline then checks that the registry has a codec for it).
fn plugin(id: u16, client_data: Vec<u32>) -> FilterInfo {
    FilterInfo {
        id,
        name: None,
        flags: 1,
        client_data,
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
/// given; the chunk shape is then the one given or [`guess_chunk`]'s, the filters checked against
/// the file's registry. `None`: not chunked.
pub(crate) fn plan(
    shape: &[u64],
    maxshape: Option<&[Option<u64>]>,
    chunks: Option<&[u64]>,
    auto: bool,
    (filters, reg): (&FilterSpec, &Registry),
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
    // a chunk's bytes must fit the 32-bit sizes filters and chunk indexes store
    chunks
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
    let mut pipeline = filters.pipeline(reg, dtype, &chunks)?;
    szip_scanline(&mut pipeline, &chunks)?;
    Ok(Some(Plan {
        filters: pipeline,
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
            ..Default::default()
        };
        let p = spec
            .pipeline(&Registry::with_builtins(), &crate::types::float32(), &[42])
            .unwrap();
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
        assert_eq!(
            lzf.pipeline(&Registry::with_builtins(), &crate::types::float32(), &[100])
                .unwrap()[0]
                .client_data,
            [4, 261, 400]
        );
        // n-bit's parameters as libhdf5 computes them (worked examples of H5Z__set_local_nbit)
        let i4 = <i32 as crate::H5Type>::datatype();
        assert_eq!(
            nbit_client_data(&i4, 10).unwrap(),
            [8, 1, 10, 1, 4, 0, 32, 0]
        );
        let mut i17 = i4.clone();
        if let Datatype::Integer { precision, .. } = &mut i17 {
            *precision = 17;
        }
        assert_eq!(
            nbit_client_data(&i17, 10).unwrap(),
            [8, 0, 10, 1, 4, 0, 17, 0]
        );
        let mut i20 = i4.clone();
        if let Datatype::Integer { precision, .. } = &mut i20 {
            *precision = 20;
        }
        let c = crate::types::compound(&[("a", i20), ("b", crate::types::float32())]);
        assert_eq!(
            nbit_client_data(&c, 7).unwrap(),
            [18, 0, 7, 3, 8, 2, 0, 1, 4, 0, 20, 0, 4, 1, 4, 0, 32, 0]
        );
        let s = crate::types::vlen_utf8();
        assert_eq!(nbit_client_data(&s, 7).unwrap(), [3, 1, 7]);
    }
}

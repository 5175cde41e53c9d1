//! Data layout message 0x08 (spec IV.A.2.i), versions 1–5.

use crate::error::{Error, ErrorKind, Result};
use crate::message::misc::Profile;
use crate::reader::{bytes_needed, Addr, Reader};
use crate::writer::Writer;
use alloc::vec::Vec;

/// How a chunked dataset indexes its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkIndex {
    /// v1 B-tree (type 1): every layout ≤ v3.
    BTreeV1,
    /// One chunk; `filtered` holds (size on disk, filter mask) when filters apply.
    Single {
        /// Filtered size and mask.
        filtered: Option<(u64, u32)>,
    },
    /// No index: chunks stored contiguously in order.
    Implicit,
    /// Fixed array.
    FixedArray {
        /// log2 of elements per data block page.
        page_bits: u8,
    },
    /// Extensible array.
    ExtensibleArray {
        /// Max number of elements bits.
        max_bits: u8,
        /// Elements in the index block.
        index_elements: u8,
        /// Min data pointers per super block.
        min_pointers: u8,
        /// Min elements per data block.
        min_elements: u8,
        /// log2 of elements per data block page.
        page_bits: u8,
    },
    /// v2 B-tree (type 10/11).
    BTreeV2 {
        /// Node size.
        node_size: u32,
        /// Split percent.
        split: u8,
        /// Merge percent.
        merge: u8,
    },
}

/// Chunked layout details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunked {
    /// Chunk dimensions (rank entries; the element-size entry is split off).
    pub dims: Vec<u64>,
    /// Element size stored as the last dimension.
    pub element_size: u64,
    /// Index type and parameters.
    pub index: ChunkIndex,
    /// Address of the index (or of the data, for single/implicit).
    pub addr: Addr,
    /// Layout v4 flag bit 0: partial edge chunks are not filtered.
    pub dont_filter_partial_edge: bool,
}

/// A decoded layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Data inside the message.
    Compact {
        /// The raw data.
        data: Vec<u8>,
    },
    /// One block in the file.
    Contiguous {
        /// Address (undefined: never written).
        addr: Addr,
        /// Size in bytes (`None` for v1/v2, where it is derived from the dataspace).
        size: Option<u64>,
    },
    /// Chunked storage.
    Chunked(Chunked),
    /// Virtual dataset: a global heap ID of the mapping block.
    Virtual {
        /// Global heap collection address.
        heap_addr: Addr,
        /// Object index in the collection.
        index: u32,
    },
}

impl Chunked {
    /// Bytes per dimension in layout v4/v5, as libhdf5 computes it: the most bytes any chunk
    /// dimension — or the element size, the last dimension — needs (at least 1). libhdf5 2.0
    /// refuses any other width, so [`Layout::encode`] always writes exactly this.
    pub fn dim_width(&self) -> usize {
        self.dims
            .iter()
            .chain(core::iter::once(&self.element_size))
            .map(|&d| bytes_needed(d))
            .max()
            .unwrap_or(1)
    }
}

fn enc_err(what: &'static str) -> Error {
    Error::invalid("layout", 0, what)
}

impl Layout {
    /// The version libhdf5 writes under `profile`, given whether the dataset has filters:
    /// v3 for compact, contiguous and v1-B-tree-indexed chunked layouts in every profile; v4
    /// for the other chunk indexes — v5 when filtered in the latest profile (HDF5 2.0 writes
    /// an L-byte filtered chunk size then); v4 for virtual layouts.
    pub fn version_for(&self, profile: Profile, filtered: bool) -> u8 {
        match self {
            Layout::Compact { .. } | Layout::Contiguous { .. } => 3,
            Layout::Chunked(c) if c.index == ChunkIndex::BTreeV1 => 3,
            Layout::Chunked(_) if filtered && profile == Profile::Latest => 5,
            Layout::Chunked(_) | Layout::Virtual { .. } => 4,
        }
    }

    /// Encode the message body at `version` (3, 4 or 5; libhdf5 stopped writing v1/v2 in
    /// 1.6.3, and this model drops their compact/contiguous dimension fields).
    ///
    /// - compact: class 0, u16 size, the data;
    /// - contiguous: class 1, address, size (must be known);
    /// - chunked v3: class 2, rank + 1, v1 B-tree address, each chunk dimension and the
    ///   element size as u32;
    /// - chunked v4/v5: class 2, flags (bit 0 don't filter partial edge chunks, bit 1 single
    ///   chunk with filter info), rank + 1, [`Chunked::dim_width`], the dimensions and element
    ///   size in that width, the index type (1 single, 2 implicit, 3 fixed array, 4
    ///   extensible array, 5 v2 B-tree) and its parameters, the address;
    /// - virtual (v4/v5): class 3, global heap collection address, object index.
    ///
    /// # Errors
    /// `Unsupported` for versions 1–2, `BadVersion` past 5; `Invalid` for compact data over
    /// 65 535 bytes, a contiguous layout without a size, a chunk rank outside 1–32, a zero
    /// chunk dimension, a v3 dimension over u32, a v1 B-tree index in v4/v5 or another index
    /// in v3, or a virtual layout below v4.
    pub fn encode(&self, version: u8, w: &mut Writer) -> Result<()> {
        match version {
            1 | 2 => {
                return Err(Error::unsupported(
                    "layout",
                    0,
                    "writing data layout messages below version 3",
                ))
            }
            3..=5 => {}
            v => return Err(Error::new("layout", 0, ErrorKind::BadVersion(v))),
        }
        w.u8(version);
        match self {
            Layout::Compact { data } => {
                let n = u16::try_from(data.len()).map_err(|_| enc_err("compact data size"))?;
                w.u8(0).u16(n).bytes(data);
            }
            Layout::Contiguous { addr, size } => {
                let size = size.ok_or_else(|| enc_err("contiguous size"))?;
                w.u8(1).offset(*addr).length(size);
            }
            Layout::Chunked(c) => {
                if c.dims.is_empty() || c.dims.len() > 32 {
                    return Err(enc_err("layout dimensionality"));
                }
                if c.dims.contains(&0) {
                    return Err(enc_err("zero chunk dimension"));
                }
                let ndims = c.dims.len() as u8 + 1;
                let all = c.dims.iter().chain(core::iter::once(&c.element_size));
                if version == 3 {
                    if c.index != ChunkIndex::BTreeV1 {
                        return Err(enc_err("chunk index of a version 3 layout"));
                    }
                    w.u8(2).u8(ndims).offset(c.addr);
                    for &d in all {
                        let d = u32::try_from(d).map_err(|_| enc_err("chunk dimension"))?;
                        w.u32(d);
                    }
                    return Ok(());
                }
                let single_filtered = matches!(c.index, ChunkIndex::Single { filtered: Some(_) });
                let flags = u8::from(c.dont_filter_partial_edge) | u8::from(single_filtered) << 1;
                let width = c.dim_width();
                w.u8(2).u8(flags).u8(ndims).u8(width as u8);
                for &d in all {
                    w.uint(d, width);
                }
                match &c.index {
                    ChunkIndex::BTreeV1 => {
                        return Err(enc_err("v1 B-tree chunk index in a version 4+ layout"))
                    }
                    ChunkIndex::Single { filtered } => {
                        w.u8(1);
                        if let Some((size, mask)) = filtered {
                            w.length(*size).u32(*mask);
                        }
                    }
                    ChunkIndex::Implicit => {
                        w.u8(2);
                    }
                    ChunkIndex::FixedArray { page_bits } => {
                        w.u8(3).u8(*page_bits);
                    }
                    ChunkIndex::ExtensibleArray {
                        max_bits,
                        index_elements,
                        min_pointers,
                        min_elements,
                        page_bits,
                    } => {
                        w.u8(4)
                            .u8(*max_bits)
                            .u8(*index_elements)
                            .u8(*min_pointers)
                            .u8(*min_elements)
                            .u8(*page_bits);
                    }
                    ChunkIndex::BTreeV2 {
                        node_size,
                        split,
                        merge,
                    } => {
                        w.u8(5).u32(*node_size).u8(*split).u8(*merge);
                    }
                }
                w.offset(c.addr);
            }
            Layout::Virtual { heap_addr, index } => {
                if version < 4 {
                    return Err(enc_err("virtual layout below version 4"));
                }
                w.u8(3).offset(*heap_addr).u32(*index);
            }
        }
        Ok(())
    }
}

/// Layout details the chunk readers need besides [`Layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutVersion(pub u8);

/// Decode a layout message body. Returns the layout and its version.
///
/// # Errors
/// `Truncated`; `VersionNotAccepted` (at the version byte) outside 1–5; `Invalid` for a
/// dimensionality out of range, an unknown layout class (virtual needs v4+), a dimension size
/// width outside 1–8, an unknown chunk index type, or a zero chunk dimension.
pub fn decode(r: &mut Reader<'_>) -> Result<(Layout, LayoutVersion)> {
    let start = r.clone();
    let version = r.version(&[1, 2, 3, 4, 5])?;
    let layout = match version {
        1 | 2 => {
            let ndims = r.u8()? as usize;
            let class = r.u8()?;
            r.skip(5)?;
            if ndims == 0 || ndims > 33 {
                return Err(start.invalid("layout dimensionality"));
            }
            let addr = if class != 0 { r.offset()? } else { None };
            let mut dims = Vec::with_capacity(ndims);
            for _ in 0..ndims {
                dims.push(r.u32()? as u64);
            }
            match class {
                0 => {
                    let n = r.u32()? as usize;
                    Layout::Compact {
                        data: r.bytes(n)?.to_vec(),
                    }
                }
                1 => Layout::Contiguous { addr, size: None },
                2 => {
                    let element_size = dims.pop().unwrap_or(0);
                    Layout::Chunked(Chunked {
                        dims,
                        element_size,
                        index: ChunkIndex::BTreeV1,
                        addr,
                        dont_filter_partial_edge: false,
                    })
                }
                _ => return Err(start.invalid("layout class")),
            }
        }
        // 3–5
        _ => {
            let class = r.u8()?;
            match class {
                0 => {
                    let n = r.u16()? as usize;
                    Layout::Compact {
                        data: r.bytes(n)?.to_vec(),
                    }
                }
                1 => {
                    let addr = r.offset()?;
                    let size = r.length()?;
                    Layout::Contiguous {
                        addr,
                        size: Some(size),
                    }
                }
                2 if version == 3 => {
                    let ndims = r.u8()? as usize;
                    if !(2..=33).contains(&ndims) {
                        return Err(start.invalid("layout dimensionality"));
                    }
                    let addr = r.offset()?;
                    let mut dims = Vec::with_capacity(ndims);
                    for _ in 0..ndims {
                        dims.push(r.u32()? as u64);
                    }
                    let element_size = dims.pop().unwrap_or(0);
                    Layout::Chunked(Chunked {
                        dims,
                        element_size,
                        index: ChunkIndex::BTreeV1,
                        addr,
                        dont_filter_partial_edge: false,
                    })
                }
                2 => {
                    let flags = r.u8()?;
                    let ndims = r.u8()? as usize;
                    if !(2..=33).contains(&ndims) {
                        return Err(start.invalid("layout dimensionality"));
                    }
                    let width = r.u8()? as usize;
                    if !(1..=8).contains(&width) {
                        return Err(start.invalid("layout dimension size width"));
                    }
                    let mut dims = Vec::with_capacity(ndims);
                    for _ in 0..ndims {
                        dims.push(r.uint(width)?);
                    }
                    let element_size = dims.pop().unwrap_or(0);
                    let index = match r.u8()? {
                        1 => ChunkIndex::Single {
                            filtered: if flags & 2 != 0 {
                                Some((r.length()?, r.u32()?))
                            } else {
                                None
                            },
                        },
                        2 => ChunkIndex::Implicit,
                        3 => ChunkIndex::FixedArray { page_bits: r.u8()? },
                        4 => ChunkIndex::ExtensibleArray {
                            max_bits: r.u8()?,
                            index_elements: r.u8()?,
                            min_pointers: r.u8()?,
                            min_elements: r.u8()?,
                            page_bits: r.u8()?,
                        },
                        5 => ChunkIndex::BTreeV2 {
                            node_size: r.u32()?,
                            split: r.u8()?,
                            merge: r.u8()?,
                        },
                        _ => return Err(start.invalid("chunk index type")),
                    };
                    let addr = r.offset()?;
                    Layout::Chunked(Chunked {
                        dims,
                        element_size,
                        index,
                        addr,
                        dont_filter_partial_edge: flags & 1 != 0,
                    })
                }
                3 if version >= 4 => Layout::Virtual {
                    heap_addr: r.offset()?,
                    index: r.u32()?,
                },
                _ => return Err(start.invalid("layout class")),
            }
        }
    };
    if let Layout::Chunked(c) = &layout {
        if c.dims.contains(&0) {
            return Err(start.invalid("zero chunk dimension"));
        }
    }
    Ok((layout, LayoutVersion(version)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    use crate::chunk_array::test_util::hex;

    fn enc(l: &Layout, version: u8) -> Result<Vec<u8>> {
        let mut w = Writer::new(Sizes::DEFAULT);
        l.encode(version, &mut w)?;
        Ok(w.finish())
    }

    fn chunked(dims: Vec<u64>, element_size: u64, index: ChunkIndex) -> Layout {
        Layout::Chunked(Chunked {
            dims,
            element_size,
            index,
            addr: Some(0x1234),
            dont_filter_partial_edge: false,
        })
    }

    #[test]
    fn round_trips_every_class_and_index() {
        let mut cases = alloc::vec![
            (
                Layout::Compact {
                    data: alloc::vec![1, 2, 3]
                },
                3
            ),
            (
                Layout::Contiguous {
                    addr: None,
                    size: Some(80),
                },
                3,
            ),
            (chunked(alloc::vec![4, 3], 8, ChunkIndex::BTreeV1), 3),
            (
                Layout::Virtual {
                    heap_addr: Some(0x850),
                    index: 2,
                },
                4,
            ),
        ];
        let indexes = [
            ChunkIndex::Single { filtered: None },
            ChunkIndex::Single {
                filtered: Some((45, 0)),
            },
            ChunkIndex::Implicit,
            ChunkIndex::FixedArray { page_bits: 10 },
            ChunkIndex::ExtensibleArray {
                max_bits: 32,
                index_elements: 4,
                min_pointers: 4,
                min_elements: 16,
                page_bits: 10,
            },
            ChunkIndex::BTreeV2 {
                node_size: 2048,
                split: 100,
                merge: 40,
            },
        ];
        for index in indexes {
            // 70 000 needs 3 bytes per dimension; a 300-byte element needs 2
            cases.push((chunked(alloc::vec![70_000, 2], 4, index.clone()), 4));
            cases.push((chunked(alloc::vec![5], 300, index.clone()), 5));
            let mut c = chunked(alloc::vec![1, 1, 1], 1, index);
            if let Layout::Chunked(c) = &mut c {
                c.dont_filter_partial_edge = true;
                c.addr = None;
            }
            cases.push((c, 4));
        }
        for (l, v) in &cases {
            let b = enc(l, *v).unwrap();
            let mut r = Reader::new(&b, 0, Sizes::DEFAULT, "layout");
            let (back, version) = decode(&mut r).unwrap();
            assert_eq!(&back, l);
            assert_eq!(version, LayoutVersion(*v));
            assert_eq!(r.remaining(), 0, "{l:?}");
            for other in 3..=5 {
                let ok = enc(l, other).is_ok();
                let expect = match l {
                    Layout::Chunked(c) => (c.index == ChunkIndex::BTreeV1) == (other == 3),
                    Layout::Virtual { .. } => other >= 4,
                    _ => true,
                };
                assert_eq!(ok, expect, "{l:?} v{other}");
            }
        }
        if let Layout::Chunked(c) = &cases[4].0 {
            assert_eq!(c.dim_width(), 3);
        }
        if let Layout::Chunked(c) = &cases[5].0 {
            assert_eq!(c.dim_width(), 2);
        }
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let l = Layout::Contiguous {
            addr: Some(0),
            size: None,
        };
        assert!(enc(&l, 3).is_err());
        let l = Layout::Compact {
            data: alloc::vec![],
        };
        assert!(enc(&l, 2).is_err());
        assert!(enc(&l, 6).is_err());
        let l = Layout::Compact {
            data: alloc::vec![0; 70_000],
        };
        assert!(enc(&l, 3).is_err());
        assert!(enc(&chunked(alloc::vec![0], 1, ChunkIndex::Implicit), 4).is_err());
        assert!(enc(&chunked(alloc::vec![1 << 33], 1, ChunkIndex::BTreeV1), 3).is_err());
    }

    #[test]
    fn versions_for_profiles() {
        let fa = chunked(alloc::vec![4], 4, ChunkIndex::FixedArray { page_bits: 10 });
        assert_eq!(fa.version_for(Profile::Latest, false), 4);
        assert_eq!(fa.version_for(Profile::Latest, true), 5);
        let bt = chunked(alloc::vec![4], 4, ChunkIndex::BTreeV1);
        assert_eq!(bt.version_for(Profile::Default, true), 3);
        assert_eq!(bt.version_for(Profile::Latest, true), 3);
        let c = Layout::Compact {
            data: alloc::vec![],
        };
        assert_eq!(c.version_for(Profile::Latest, false), 3);
    }

    /// Layout message bodies libhdf5 2.0 wrote (through h5py) in the fixtures, decoded and
    /// re-encoded with the file's version. Bodies from v1 object headers carry alignment
    /// padding to 8 after the message, checked to be zeros. Each is also what
    /// `version_for(profile, filtered)` picks.
    #[test]
    fn byte_exact_against_libhdf5() {
        for (label, filtered, h) in [
            // contiguous v3 (both profiles)
            (
                "dtypes_earliest /int32_be",
                false,
                "03016c080000000000003000000000000000000000000000",
            ),
            (
                "dtypes_latest /null_f4 (never allocated)",
                false,
                "0301ffffffffffffffff0000000000000000",
            ),
            // compact v3: 20 bytes of data
            (
                "layouts_earliest /compact_1d",
                false,
                "030014000000000001000000020000000300000004000000",
            ),
            // chunked v3, v1 B-tree: chunk 10×10 of 4-byte elements
            (
                "filters_earliest /gzip_1",
                true,
                "03020378050000000000000a0000000a0000000400000000",
            ),
            (
                "layouts_earliest /chunked_3d_edge",
                false,
                "030204703f000000000000020000000400000003000000080000000000000000",
            ),
            // v4 single chunk; v5 single chunk with filter (flag bit 1, size L + mask)
            (
                "chunkidx_latest /single_chunk",
                false,
                "0402000301040504010008000000000000",
            ),
            (
                "chunkidx_latest /single_chunk_gzip",
                true,
                "0502020301040504012d00000000000000000000005008000000000000",
            ),
            // v4 implicit
            (
                "chunkidx_latest /implicit",
                false,
                "0402000301030402027d08000000000000",
            ),
            // v4 fixed array (page bits 10); v5 filtered fixed array; paged fixed array
            (
                "chunkidx_latest /fixed_array",
                false,
                "0402000301030404030a1b05000000000000",
            ),
            (
                "chunkidx_latest /fixed_array_gzip",
                true,
                "0502000301030404030af206000000000000",
            ),
            (
                "chunkidx_latest /fixed_array_paged",
                false,
                "04020002010101030acd07000000000000",
            ),
            // v4 extensible array; v5 filtered; empty (index never allocated)
            (
                "chunkidx_latest /extensible_array",
                false,
                "0402000201010204200404100a4bb9000000000000",
            ),
            (
                "chunkidx_latest /extensible_array_gzip",
                true,
                "0502000201040404200404100a5fbc000000000000",
            ),
            (
                "chunkidx_latest /extensible_array_empty",
                false,
                "0402000201050804200404100affffffffffffffff",
            ),
            // v4 v2 B-tree (node 2048, split 100 %, merge 40 %); v5 filtered
            (
                "chunkidx_latest /btree2",
                false,
                "040200030102030405000800006428b506000000000000",
            ),
            (
                "chunkidx_latest /btree2_gzip",
                true,
                "0502000301020304050008000064281a13000000000000",
            ),
            // virtual: v4 in both profiles
            (
                "vds_earliest (virtual)",
                false,
                "04033020000000000000010000000000",
            ),
            (
                "vds_latest (virtual)",
                false,
                "0403500800000000000001000000",
            ),
        ] {
            let b = hex(h);
            let mut r = Reader::new(&b, 0, Sizes::DEFAULT, "layout");
            let (l, LayoutVersion(version)) = decode(&mut r).unwrap();
            let n = r.position();
            assert!(b[n..].iter().all(|&x| x == 0), "{label}: padding");
            assert_eq!(enc(&l, version).unwrap(), &b[..n], "{label}");
            let profile = if label.contains("latest") {
                Profile::Latest
            } else {
                Profile::Default
            };
            assert_eq!(l.version_for(profile, filtered), version, "{label}");
        }
    }

    #[test]
    fn v3_chunked() {
        let mut b = alloc::vec![3u8, 2, 3];
        b.extend(0x800u64.to_le_bytes());
        for d in [4u32, 3, 8] {
            b.extend(d.to_le_bytes());
        }
        let (l, v) = decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "layout")).unwrap();
        assert_eq!(v, LayoutVersion(3));
        match l {
            Layout::Chunked(c) => {
                assert_eq!(c.dims, [4, 3]);
                assert_eq!(c.element_size, 8);
                assert_eq!(c.addr, Some(0x800));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v4_fixed_array() {
        let mut b = alloc::vec![4u8, 2, 0, 3, 1, 10, 10, 4, 3, 10];
        b.extend(0x400u64.to_le_bytes());
        let (l, _) = decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "layout")).unwrap();
        match l {
            Layout::Chunked(c) => {
                assert_eq!(c.dims, [10, 10]);
                assert_eq!(c.index, ChunkIndex::FixedArray { page_bits: 10 });
            }
            other => panic!("{other:?}"),
        }
    }
}

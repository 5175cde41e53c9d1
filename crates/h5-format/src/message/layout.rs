//! Data layout message 0x08 (spec IV.A.2.i), versions 1–5.

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader};
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

/// Layout details the chunk readers need besides [`Layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutVersion(pub u8);

/// Decode a layout message body. Returns the layout and its version.
pub fn decode(r: &mut Reader<'_>) -> Result<(Layout, LayoutVersion)> {
    let start = r.clone();
    let version = r.u8()?;
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
        3..=5 => {
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
        v => return Err(start.err(ErrorKind::BadVersion(v))),
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

//! One chunk record of a fixed or extensible array ([`ChunkElement`]) and how a header's client
//! ID and element size say it is encoded ([`ElementFormat`]): decode and encode.

use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Addr, Reader, Sizes};
use crate::writer::Writer;

/// Client ID of an array of non-filtered dataset chunks (element = chunk address).
pub const CLIENT_UNFILTERED_CHUNKS: u8 = 0;
/// Client ID of an array of filtered dataset chunks (element = address, size, filter mask).
pub const CLIENT_FILTERED_CHUNKS: u8 = 1;

/// One chunk record of a fixed or extensible array index.
///
/// Unfiltered chunks store only the address; filtered chunks also store the chunk's size on
/// disk and the filter mask (bit `n` set = filter `n` of the pipeline was skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkElement {
    /// Chunk address; `None` (the undefined address) = the chunk is not allocated.
    pub addr: Addr,
    /// Size of the stored (filtered) chunk in bytes; `None` for unfiltered chunks.
    pub size: Option<u64>,
    /// Filter mask; 0 for unfiltered chunks.
    pub filter_mask: u32,
}

impl ChunkElement {
    /// Encoded size of one element: O bytes, plus `chunk_size_len` + 4 when `filtered`.
    pub fn encoded_len(sizes: Sizes, filtered: bool, chunk_size_len: usize) -> usize {
        let o = sizes.offset as usize;
        if filtered {
            o + chunk_size_len + 4
        } else {
            o
        }
    }

    /// Decode one element from the start of `bytes`. `chunk_size_len` (1–8) is the width of
    /// the chunk-size field of filtered elements (layout v4: one more than the bytes needed for
    /// the unfiltered chunk size, at most 8; layout v5: Size of Lengths); it is ignored when
    /// `filtered` is false.
    ///
    /// Error offsets are relative to `bytes` (use [`ChunkElement::read`] for file offsets).
    ///
    /// # Errors
    /// `Truncated` when `bytes` is too short; `Invalid` when `chunk_size_len` is not 1–8.
    pub fn decode(
        bytes: &[u8],
        sizes: Sizes,
        filtered: bool,
        chunk_size_len: usize,
    ) -> Result<Self> {
        let mut r = Reader::new(bytes, 0, sizes, "chunk index element");
        Self::read(&mut r, filtered, chunk_size_len)
    }

    /// Decode one element at the reader's position (see [`ChunkElement::decode`]).
    ///
    /// # Errors
    /// As [`ChunkElement::decode`], with file offsets.
    pub fn read(r: &mut Reader<'_>, filtered: bool, chunk_size_len: usize) -> Result<Self> {
        let addr = r.offset()?;
        if !filtered {
            return Ok(ChunkElement {
                addr,
                size: None,
                filter_mask: 0,
            });
        }
        if !(1..=8).contains(&chunk_size_len) {
            return Err(r.invalid("chunk size width"));
        }
        let size = r.uint(chunk_size_len)?;
        let filter_mask = r.u32()?;
        Ok(ChunkElement {
            addr,
            size: Some(size),
            filter_mask,
        })
    }

    /// Whether the chunk has storage (its address is defined).
    pub fn is_allocated(&self) -> bool {
        self.addr.is_some()
    }
}

/// How the elements of a chunk index are encoded, derived from a header's client ID and
/// element size (and validated against each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementFormat {
    /// Client 1: filtered chunks (address + size + mask); client 0: addresses only.
    pub filtered: bool,
    /// Width of the chunk-size field of filtered elements (0 when unfiltered).
    pub chunk_size_len: usize,
    /// Encoded size of one element in bytes.
    pub size: usize,
}

impl ElementFormat {
    /// The format for `client_id` with elements of `element_size` bytes, or a reason why the
    /// pair is not acceptable: client 0 needs `element_size` = Size of Offsets; client 1 needs
    /// Size of Offsets + (1 to 8) + 4.
    ///
    /// # Errors
    /// `Unsupported` for client IDs other than 0 and 1 (reserved); `Invalid` for an element
    /// size that does not fit the client. Errors are raised at `r`'s position.
    pub fn new(r: &Reader<'_>, client_id: u8, element_size: u8) -> Result<Self> {
        let o = r.sizes.offset as usize;
        let size = element_size as usize;
        match client_id {
            CLIENT_UNFILTERED_CHUNKS => {
                if size != o {
                    return Err(r.invalid("element size (unfiltered chunks)"));
                }
                Ok(ElementFormat {
                    filtered: false,
                    chunk_size_len: 0,
                    size,
                })
            }
            CLIENT_FILTERED_CHUNKS => {
                let len = size.saturating_sub(o + 4);
                if !(1..=8).contains(&len) {
                    return Err(r.invalid("element size (filtered chunks)"));
                }
                Ok(ElementFormat {
                    filtered: true,
                    chunk_size_len: len,
                    size,
                })
            }
            other => Err(r.unsupported(alloc::format!("chunk index client ID {other}"))),
        }
    }

    /// Decode `n` consecutive elements at the reader's position. The byte count is checked
    /// against the bytes left before anything is allocated.
    ///
    /// # Errors
    /// `Truncated` when fewer than `n` elements remain; `Invalid` when `size` is not the
    /// encoded size implied by the other fields.
    pub fn read_all(&self, r: &mut Reader<'_>, n: u64) -> Result<Vec<ChunkElement>> {
        if self.size != ChunkElement::encoded_len(r.sizes, self.filtered, self.chunk_size_len) {
            return Err(r.invalid("element size"));
        }
        let bytes = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(self.size))
            .filter(|&b| b <= r.remaining())
            .ok_or_else(|| r.err(ErrorKind::Truncated))?;
        let count = bytes / self.size;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(ChunkElement::read(r, self.filtered, self.chunk_size_len)?);
        }
        Ok(out)
    }
}

/// Width in bytes of the chunk-size field of filtered chunk records, as libhdf5 computes it:
/// layout version 5 (HDF5 2.0) uses Size of Lengths; version 4 uses one byte more than the
/// bytes needed for the unfiltered chunk size, `1 + (floor(log2(chunk_bytes)) + 8) / 8`, at
/// most 8 (measured with libhdf5 2.0 at `libver=('v110','v110')`: chunks of 1–255 bytes → 2,
/// 256–65535 → 3, 2^16–2^24-1 → 4, 2^24 → 5).
pub fn filtered_chunk_size_len(layout_version: u8, sizes: Sizes, chunk_bytes: u64) -> u8 {
    if layout_version >= 5 {
        return sizes.length;
    }
    let log2 = chunk_bytes.checked_ilog2().unwrap_or(0) as u8;
    (1 + (log2 + 8) / 8).min(8)
}

impl ChunkElement {
    /// The element libhdf5 writes for a chunk that has no storage: the undefined address,
    /// and for filtered chunks a size of 0 and a filter mask of 0.
    pub fn undefined(filtered: bool) -> Self {
        ChunkElement {
            addr: None,
            size: filtered.then_some(0),
            filter_mask: 0,
        }
    }

    /// Encode the element (the mirror of [`ChunkElement::read`]). A filtered element with no
    /// size writes 0; fields wider than their encoding are truncated, so check them first
    /// with [`ElementFormat::fits`].
    pub fn write(&self, w: &mut Writer, filtered: bool, chunk_size_len: usize) {
        w.offset(self.addr);
        if filtered {
            w.uint(self.size.unwrap_or(0), chunk_size_len);
            w.u32(self.filter_mask);
        }
    }
}

/// Whether `addr` is encodable in `width` bytes without reading back as the undefined address.
pub(crate) fn addr_fits(addr: u64, width: u8) -> bool {
    if width >= 8 {
        addr != u64::MAX
    } else {
        addr < (1u64 << (8 * u32::from(width))) - 1
    }
}

impl ElementFormat {
    /// The format of elements with these parameters (the inverse of [`ElementFormat::new`]).
    ///
    /// # Errors
    /// `Invalid` (naming `structure` at `offset`) when `chunk_size_len` is not 1–8 for
    /// filtered elements.
    pub fn for_params(
        sizes: Sizes,
        filtered: bool,
        chunk_size_len: u8,
        structure: &'static str,
        offset: u64,
    ) -> Result<Self> {
        if filtered && !(1..=8).contains(&chunk_size_len) {
            return Err(Error::invalid(structure, offset, "chunk size width"));
        }
        let chunk_size_len = if filtered {
            usize::from(chunk_size_len)
        } else {
            0
        };
        Ok(ElementFormat {
            filtered,
            chunk_size_len,
            size: ChunkElement::encoded_len(sizes, filtered, chunk_size_len),
        })
    }

    /// The client ID of arrays with this element format.
    pub fn client_id(&self) -> u8 {
        if self.filtered {
            CLIENT_FILTERED_CHUNKS
        } else {
            CLIENT_UNFILTERED_CHUNKS
        }
    }

    /// Whether `e` can be stored in this format: a defined address must fit Size of Offsets
    /// (and not be the undefined address); filtered elements need a size that fits
    /// `chunk_size_len` bytes; unfiltered elements must have no size and a zero mask.
    pub fn fits(&self, sizes: Sizes, e: &ChunkElement) -> bool {
        let addr_ok = e.addr.is_none_or(|a| addr_fits(a, sizes.offset));
        let rest_ok = if self.filtered {
            e.size.is_some_and(|s| {
                self.chunk_size_len >= 8 || s >> (8 * self.chunk_size_len as u32) == 0
            })
        } else {
            e.size.is_none() && e.filter_mask == 0
        };
        addr_ok && rest_ok
    }

    /// Append `elements` to `w`.
    pub fn write_all(&self, w: &mut Writer, elements: &[ChunkElement]) {
        for e in elements {
            e.write(w, self.filtered, self.chunk_size_len);
        }
    }
}

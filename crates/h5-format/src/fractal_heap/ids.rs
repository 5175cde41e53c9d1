//! Heap IDs: managed, tiny and huge object IDs, decode and encode.

use core::ops::Range;

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Reader, Sizes};

use super::*;

/// A decoded fractal heap ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeapId {
    /// An object in the managed blocks.
    Managed {
        /// Heap offset of the object.
        offset: u64,
        /// Length of the object in bytes.
        length: u64,
    },
    /// A huge object whose location is stored in the ID itself.
    HugeDirect {
        /// File address of the (possibly filtered) object.
        addr: u64,
        /// Length of the object in the file.
        length: u64,
        /// Filter mask (only when the heap has I/O filters).
        filter_mask: Option<u32>,
        /// Size of the object after de-filtering (only when the heap has I/O filters).
        size: Option<u64>,
    },
    /// A huge object to look up in the huge-object v2 B-tree (record type 1, or 2 when the
    /// heap has I/O filters) by this key.
    HugeIndirect {
        /// The B-tree key (the "huge object ID").
        key: u64,
    },
    /// A tiny object stored in the ID itself.
    Tiny {
        /// The object's bytes, as a range of the ID bytes given to [`HeapId::decode`].
        range: Range<usize>,
    },
}

impl HeapId {
    /// Decode a heap ID of `header`'s heap. `id_bytes` must hold at least
    /// [`Header::heap_id_len`] bytes (only those are read); `at` is the file address of the
    /// ID (the record or message holding it), used in errors.
    ///
    /// # Errors
    /// `Truncated` when `id_bytes` is shorter than the heap's ID length, `VersionNotAccepted`
    /// (at `at`, the ID's first byte) for an ID version other than 0, or `Invalid` (unknown ID type, an ID too short for its type,
    /// a managed object beyond the heap or larger than a managed object can be, a tiny length
    /// beyond the ID).
    pub fn decode(id_bytes: &[u8], header: &Header, sizes: Sizes, at: u64) -> Result<HeapId> {
        let n = usize::from(header.heap_id_len);
        let Some(id) = id_bytes.get(..n) else {
            let end = at.wrapping_add(id_bytes.len() as u64);
            return Err(Error::new(HEAP_ID, end, ErrorKind::Truncated));
        };
        let mut r = Reader::new(id, at, sizes, HEAP_ID);
        let b0 = r.u8()?;
        // The version is the top two bits of the first byte, so `Reader::version` (a whole
        // byte) does not fit; the error is the same one, at the same byte.
        let version = b0 >> 6;
        if version != 0 {
            return Err(Error::new(
                HEAP_ID,
                at,
                ErrorKind::VersionNotAccepted {
                    version,
                    accepted: &[0],
                },
            ));
        }
        let bad = |what: &'static str| Err(Error::invalid(HEAP_ID, at, what));
        match (b0 >> 4) & 0x03 {
            0 => {
                if n < 1 + header.heap_off_size() + header.heap_len_size() {
                    return bad("heap ID length (too short for a managed object)");
                }
                let offset = r.uint(header.heap_off_size())?;
                let length = r.uint(header.heap_len_size())?;
                // The same limits libhdf5 applies; whether the object lies inside its
                // direct block is checked by `object_range`.
                if offset > header.managed_space {
                    return bad("managed object offset (beyond the managed space)");
                }
                if length > header.max_direct_block_size
                    || length > u64::from(header.max_managed_obj_size)
                {
                    return bad("managed object length");
                }
                Ok(HeapId::Managed { offset, length })
            }
            1 => {
                let avail = n - 1;
                let o = usize::from(sizes.offset);
                let l = usize::from(sizes.length);
                let direct_len = if header.has_io_filters() {
                    o + l + 4 + l
                } else {
                    o + l
                };
                if avail >= direct_len {
                    let addr = r.defined_offset("huge object address")?;
                    let length = r.length()?;
                    let (filter_mask, size) = if header.has_io_filters() {
                        (Some(r.u32()?), Some(r.length()?))
                    } else {
                        (None, None)
                    };
                    Ok(HeapId::HugeDirect {
                        addr,
                        length,
                        filter_mask,
                        size,
                    })
                } else {
                    let key = r.uint(avail.min(8))?;
                    Ok(HeapId::HugeIndirect { key })
                }
            }
            2 => {
                let low = usize::from(b0 & 0x0f);
                let (start, len) = if n > TINY_NORMAL_MAX_ID_LEN {
                    (2, ((low << 8) | usize::from(r.u8()?)) + 1)
                } else {
                    (1, low + 1)
                };
                if start + len > n {
                    return bad("tiny object length (beyond the heap ID)");
                }
                Ok(HeapId::Tiny {
                    range: start..start + len,
                })
            }
            _ => bad("heap ID type"),
        }
    }
}

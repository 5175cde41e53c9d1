//! The records of v2 B-tree types 1–11: decode.

use alloc::vec::Vec;

use super::{MAX_RANK, RECORD};
use crate::error::{Error, Result};
use crate::reader::{Reader, Sizes};

/// What records of types 10 and 11 (dataset chunks) need to know from the dataset; other
/// types ignore it (use `RecordContext::default()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordContext {
    /// Rank of the dataset (number of scaled offsets per chunk record), 1..=[`MAX_RANK`].
    pub rank: usize,
    /// Bytes of the chunk size in type 11 records (1..=8): with layout message version 4,
    /// one more than the bytes needed for the unfiltered chunk size, at most 8; with
    /// version 5, the file's size of lengths.
    pub chunk_size_len: usize,
}

/// A decoded v2 B-tree record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Type 1: an indirectly accessed, unfiltered huge fractal-heap object.
    HugeObject {
        /// File address of the object.
        addr: u64,
        /// Length of the object.
        length: u64,
        /// The object's huge-object ID (the key in its heap ID).
        id: u64,
    },
    /// Type 2: an indirectly accessed, filtered huge fractal-heap object.
    FilteredHugeObject {
        /// File address of the filtered object.
        addr: u64,
        /// Length of the filtered object.
        length: u64,
        /// Filters skipped (bit `i` set: filter `i` not applied).
        filter_mask: u32,
        /// Size of the object after de-filtering.
        memory_size: u64,
        /// The object's huge-object ID.
        id: u64,
    },
    /// Type 3: a directly accessed, unfiltered huge fractal-heap object.
    DirectHugeObject {
        /// File address of the object.
        addr: u64,
        /// Length of the object.
        length: u64,
    },
    /// Type 4: a directly accessed, filtered huge fractal-heap object.
    FilteredDirectHugeObject {
        /// File address of the filtered object.
        addr: u64,
        /// Length of the filtered object.
        length: u64,
        /// Filters skipped.
        filter_mask: u32,
        /// Size of the object after de-filtering.
        memory_size: u64,
    },
    /// Type 5: a link of a dense group, by name hash.
    LinkName {
        /// [`name_hash`](super::name_hash) of the link name.
        hash: u32,
        /// Heap ID of the link message in the group's fractal heap.
        heap_id: [u8; 7],
    },
    /// Type 6: a link of a dense group, by creation order.
    LinkCreationOrder {
        /// Creation order of the link.
        creation_order: u64,
        /// Heap ID of the link message in the group's fractal heap.
        heap_id: [u8; 7],
    },
    /// Type 7, location 0: a shared message stored in the shared-message heap.
    SharedMessageInHeap {
        /// Lookup3 hash of the encoded message.
        hash: u32,
        /// Number of objects sharing the message.
        refcount: u32,
        /// Heap ID of the message in the shared-message heap.
        heap_id: [u8; 8],
    },
    /// Type 7, location 1: a shared message stored in an object header.
    SharedMessageInHeader {
        /// Lookup3 hash of the encoded message.
        hash: u32,
        /// Message type.
        message_type: u8,
        /// Which message of that type in the object header (0-based).
        index: u16,
        /// Address of the object header holding the message.
        header_addr: u64,
    },
    /// Type 8: an attribute of dense attribute storage, by name hash.
    AttributeName {
        /// Heap ID of the attribute message in the object's attribute heap.
        heap_id: [u8; 8],
        /// Object header message flags of the attribute message.
        flags: u8,
        /// Creation order of the attribute.
        creation_order: u32,
        /// [`name_hash`](super::name_hash) of the attribute name.
        hash: u32,
    },
    /// Type 9: an attribute of dense attribute storage, by creation order.
    AttributeCreationOrder {
        /// Heap ID of the attribute message in the object's attribute heap.
        heap_id: [u8; 8],
        /// Object header message flags of the attribute message.
        flags: u8,
        /// Creation order of the attribute.
        creation_order: u32,
    },
    /// Type 10: an unfiltered dataset chunk.
    Chunk {
        /// File address of the chunk.
        addr: u64,
        /// Chunk offset divided by the chunk dimensions, slowest dimension first.
        scaled: Vec<u64>,
    },
    /// Type 11: a filtered dataset chunk.
    FilteredChunk {
        /// File address of the chunk.
        addr: u64,
        /// Size of the filtered chunk in the file.
        size: u64,
        /// Filters skipped.
        filter_mask: u32,
        /// Chunk offset divided by the chunk dimensions, slowest dimension first.
        scaled: Vec<u64>,
    },
}

impl Record {
    /// Bytes a record of `record_type` occupies (for type 7, the larger of its two
    /// layouts), or `None` for an unknown type. Types 10 and 11 depend on `ctx`.
    pub fn min_size(record_type: u8, sizes: Sizes, ctx: &RecordContext) -> Option<usize> {
        let o = usize::from(sizes.offset);
        let l = usize::from(sizes.length);
        let scaled = ctx.rank.checked_mul(8)?;
        Some(match record_type {
            1 => o + l + l,
            2 => o + l + 4 + l + l,
            3 => o + l,
            4 => o + l + 4 + l,
            5 => 4 + 7,
            6 => 8 + 7,
            7 => 1 + 4 + (4 + 8).max(1 + 1 + 2 + o),
            8 => 8 + 1 + 4 + 4,
            9 => 8 + 1 + 4,
            10 => o.checked_add(scaled)?,
            11 => (o + 4)
                .checked_add(ctx.chunk_size_len)?
                .checked_add(scaled)?,
            _ => return None,
        })
    }

    /// Decode one record of type `record_type` from `bytes` (at least the record's size;
    /// trailing bytes are ignored), whose first byte is at file address `addr`.
    ///
    /// # Errors
    /// `Unsupported` for an unknown record type; `Truncated` when `bytes` is too short;
    /// `Invalid` for an undefined address, an unknown shared-message location, or a bad
    /// `ctx` (rank 0, chunk size width outside 1..=8); `Limit` for a rank above
    /// [`MAX_RANK`].
    pub fn decode(
        record_type: u8,
        bytes: &[u8],
        addr: u64,
        sizes: Sizes,
        ctx: &RecordContext,
    ) -> Result<Record> {
        let mut r = Reader::new(bytes, addr, sizes, RECORD);
        Ok(match record_type {
            1 => Record::HugeObject {
                addr: r.defined_offset("huge object address")?,
                length: r.length()?,
                id: r.length()?,
            },
            2 => Record::FilteredHugeObject {
                addr: r.defined_offset("huge object address")?,
                length: r.length()?,
                filter_mask: r.u32()?,
                memory_size: r.length()?,
                id: r.length()?,
            },
            3 => Record::DirectHugeObject {
                addr: r.defined_offset("huge object address")?,
                length: r.length()?,
            },
            4 => Record::FilteredDirectHugeObject {
                addr: r.defined_offset("huge object address")?,
                length: r.length()?,
                filter_mask: r.u32()?,
                memory_size: r.length()?,
            },
            5 => Record::LinkName {
                hash: r.u32()?,
                heap_id: array(&mut r)?,
            },
            6 => Record::LinkCreationOrder {
                creation_order: r.u64()?,
                heap_id: array(&mut r)?,
            },
            7 => {
                let location_at = r.addr();
                match r.u8()? {
                    0 => Record::SharedMessageInHeap {
                        hash: r.u32()?,
                        refcount: r.u32()?,
                        heap_id: array(&mut r)?,
                    },
                    1 => {
                        let hash = r.u32()?;
                        r.skip(1)?; // reserved
                        Record::SharedMessageInHeader {
                            hash,
                            message_type: r.u8()?,
                            index: r.u16()?,
                            header_addr: r.defined_offset("object header address")?,
                        }
                    }
                    _ => {
                        return Err(Error::invalid(
                            RECORD,
                            location_at,
                            "shared message location",
                        ))
                    }
                }
            }
            8 => Record::AttributeName {
                heap_id: array(&mut r)?,
                flags: r.u8()?,
                creation_order: r.u32()?,
                hash: r.u32()?,
            },
            9 => Record::AttributeCreationOrder {
                heap_id: array(&mut r)?,
                flags: r.u8()?,
                creation_order: r.u32()?,
            },
            10 => {
                check_rank(ctx, addr)?;
                let addr = r.defined_offset("chunk address")?;
                Record::Chunk {
                    addr,
                    scaled: scaled_offsets(&mut r, ctx.rank)?,
                }
            }
            11 => {
                check_rank(ctx, addr)?;
                if !(1..=8).contains(&ctx.chunk_size_len) {
                    return Err(Error::invalid(RECORD, addr, "chunk size width"));
                }
                let addr = r.defined_offset("chunk address")?;
                let size = r.uint(ctx.chunk_size_len)?;
                let filter_mask = r.u32()?;
                Record::FilteredChunk {
                    addr,
                    size,
                    filter_mask,
                    scaled: scaled_offsets(&mut r, ctx.rank)?,
                }
            }
            other => {
                return Err(Error::unsupported(
                    RECORD,
                    addr,
                    alloc::format!("v2 B-tree record type {other}"),
                ));
            }
        })
    }
}

fn array<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(r.bytes(N)?);
    Ok(out)
}

fn check_rank(ctx: &RecordContext, addr: u64) -> Result<()> {
    if ctx.rank == 0 {
        return Err(Error::invalid(RECORD, addr, "dataset rank"));
    }
    if ctx.rank > MAX_RANK {
        return Err(Error::limit(
            RECORD,
            addr,
            "dataset rank",
            ctx.rank as u64,
            MAX_RANK as u64,
        ));
    }
    Ok(())
}

fn scaled_offsets(r: &mut Reader<'_>, rank: usize) -> Result<Vec<u64>> {
    // rank ≤ MAX_RANK: a small, bounded allocation.
    let mut scaled = Vec::with_capacity(rank);
    for _ in 0..rank {
        scaled.push(r.u64()?);
    }
    Ok(scaled)
}

//! Version 2 B-trees (spec III.A.2): the header (`BTHD`), internal nodes (`BTIN`), leaf
//! nodes (`BTLF`), the node geometry that fixes the width of every child-pointer field, and
//! the records of types 1–11.
//!
//! Everything here is sans-IO. The caller decodes the [`Header`], then walks from
//! [`Header::root_addr`]: a node at depth `d` (the root is at [`Header::depth`]) is a leaf
//! when `d == 0` ([`decode_leaf`]) and an internal node otherwise ([`decode_internal`]);
//! the number of records of the root comes from [`Header::root_nrecords`], that of any other
//! node from its parent's [`Child::nrecords`]. Every node is [`Header::node_size`] bytes on
//! disk, but only the bytes up to its checksum need to be supplied.
//!
//! Records are handed back as raw slices ([`Node::records`]) and decoded on demand with
//! [`Record::decode`] (or [`Node::record`]).

use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::{Reader, Sizes};

const HEADER: &str = "v2 B-tree header";
const INTERNAL: &str = "v2 B-tree internal node";
const LEAF: &str = "v2 B-tree leaf node";
const RECORD: &str = "v2 B-tree record";

/// Per-node overhead counted by the geometry: signature (4), version (1), type (1) and
/// checksum (4).
pub const NODE_PREFIX_SIZE: u32 = 10;

/// Bytes before the first record of a node: signature, version, type.
const RECORDS_START: usize = 6;

/// The deepest tree accepted. Every internal node holds at least one record, so a tree of
/// depth `d` holds at least `2^d − 1` records: 64 levels already exceed any `u64` count.
pub const MAX_DEPTH: u16 = 64;

/// The largest dataset rank HDF5 allows; bounds the scaled offsets of chunk records.
pub const MAX_RANK: usize = 32;

/// Bytes libhdf5 uses to encode values bounded by `x`: `floor(log2(x)) / 8 + 1`
/// (`log2(0)` taken as 0).
fn enc_size(x: u64) -> usize {
    let log2 = if x == 0 { 0 } else { 63 - x.leading_zeros() };
    (log2 / 8 + 1) as usize
}

/// Lookup3 hash of a link or attribute name, as stored in records of type 5 and 8.
pub fn name_hash(name: &[u8]) -> u32 {
    lookup3::hash(name, 0)
}

/// Capacity of the nodes at one level of the tree (0 = leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Most records a node at this level holds.
    pub max_nrec: u64,
    /// Most records a node at this level and all its descendants hold (saturating at
    /// `u64::MAX`).
    pub cum_max_nrec: u64,
    /// Bytes of the "total number of records" field of a pointer to a node at this level
    /// (0 for leaves, whose pointers have no such field).
    pub cum_max_nrec_size: usize,
}

/// The node geometry of a v2 B-tree, computed from the node size, record size, depth and
/// size of offsets exactly as libhdf5 does.
///
/// Leaves hold `(node_size − 10) / record_size` records. A pointer from a node at level
/// `u ≥ 1` to a child takes `O + max_nrec_size` bytes, plus the child's
/// `cum_max_nrec_size` when `u > 1`, where `max_nrec_size` is the encoded width of the
/// *leaf* capacity (used at every level). An internal node at level `u` holds
/// `(node_size − 10 − pointer) / (record_size + pointer)` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Size of offsets the geometry was computed with.
    pub offset_size: usize,
    /// Bytes of every "number of records in child node" field.
    pub max_nrec_size: usize,
    /// Levels `0..=depth`.
    pub levels: Vec<Level>,
}

impl Geometry {
    /// Compute the geometry of a tree with the given parameters; `None` when a node of
    /// some level `0..=depth` cannot hold a single record, or `depth > MAX_DEPTH`.
    pub fn compute(
        node_size: u32,
        record_size: u16,
        depth: u16,
        offset_size: u8,
    ) -> Option<Geometry> {
        if record_size == 0 || depth > MAX_DEPTH {
            return None;
        }
        let node = u64::from(node_size);
        let rec = u64::from(record_size);
        let prefix = u64::from(NODE_PREFIX_SIZE);
        let leaf = node.checked_sub(prefix)? / rec;
        if leaf == 0 {
            return None;
        }
        let max_nrec_size = enc_size(leaf);
        let mut levels = Vec::with_capacity(usize::from(depth) + 1);
        levels.push(Level {
            max_nrec: leaf,
            cum_max_nrec: leaf,
            cum_max_nrec_size: 0,
        });
        for u in 1..=usize::from(depth) {
            let below = levels[u - 1];
            let below_total = if u > 1 { below.cum_max_nrec_size } else { 0 };
            let pointer = (usize::from(offset_size) + max_nrec_size + below_total) as u64;
            let max_nrec = node.checked_sub(prefix + pointer)? / (rec + pointer);
            if max_nrec == 0 {
                return None;
            }
            let cum_max_nrec = (max_nrec + 1)
                .saturating_mul(below.cum_max_nrec)
                .saturating_add(max_nrec);
            levels.push(Level {
                max_nrec,
                cum_max_nrec,
                cum_max_nrec_size: enc_size(cum_max_nrec),
            });
        }
        Some(Geometry {
            offset_size: usize::from(offset_size),
            max_nrec_size,
            levels,
        })
    }

    /// The capacity of level `level`, if the tree has it.
    pub fn level(&self, level: u16) -> Option<&Level> {
        self.levels.get(usize::from(level))
    }

    /// Bytes of one child pointer in an internal node at level `level ≥ 1`: address,
    /// number of records, and (above level 1) total records below. `None` for level 0 or a
    /// level the tree does not have.
    pub fn pointer_size(&self, level: u16) -> Option<usize> {
        let level = usize::from(level);
        if level == 0 || level >= self.levels.len() {
            return None;
        }
        let total = if level > 1 {
            self.levels[level - 1].cum_max_nrec_size
        } else {
            0
        };
        Some(self.offset_size + self.max_nrec_size + total)
    }
}

/// A v2 B-tree header (`BTHD`, version 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// File address of the header.
    pub addr: u64,
    /// Offset and length widths of the file the header was decoded with.
    pub sizes: Sizes,
    /// Record type (1–11; see [`Record`]).
    pub record_type: u8,
    /// Size in bytes of every node.
    pub node_size: u32,
    /// Size in bytes of every record.
    pub record_size: u16,
    /// Depth of the tree (0: the root is a leaf).
    pub depth: u16,
    /// Fill percentage above which nodes split.
    pub split_percent: u8,
    /// Fill percentage below which nodes merge.
    pub merge_percent: u8,
    /// Address of the root node, `None` for an empty tree.
    pub root_addr: Option<u64>,
    /// Records in the root node.
    pub root_nrecords: u16,
    /// Records in the whole tree.
    pub total_records: u64,
    /// Node geometry for levels `0..=depth`.
    pub geometry: Geometry,
}

impl Header {
    /// Decode a v2 B-tree header from `buf`, whose first byte is at file address `addr`.
    ///
    /// Verifies the signature, version 0 and checksum; that a node can hold at least one
    /// record at every level down from `depth`; that the record size fits the record type
    /// (types 1–6, 8, 9) and that the root's record count fits the root.
    ///
    /// # Errors
    /// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`, `Limit` (depth beyond
    /// [`MAX_DEPTH`]) or `Invalid` naming the inconsistent field.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Header> {
        let mut r = Reader::new(buf, addr, sizes, HEADER);
        r.signature(b"BTHD")?;
        let version_at = r.addr();
        let version = r.u8()?;
        if version != 0 {
            return Err(Error::new(
                HEADER,
                version_at,
                ErrorKind::BadVersion(version),
            ));
        }
        let record_type = r.u8()?;
        let node_size_at = r.addr();
        let node_size = r.u32()?;
        let record_size_at = r.addr();
        let record_size = r.u16()?;
        let depth_at = r.addr();
        let depth = r.u16()?;
        let split_percent = r.u8()?;
        let merge_percent = r.u8()?;
        let root_addr = r.offset()?;
        let root_nrecords_at = r.addr();
        let root_nrecords = r.u16()?;
        let total_records = r.length()?;
        r.checksum(0)?;

        let bad = |at: u64, what: &'static str| Err(Error::invalid(HEADER, at, what));
        if record_size == 0 {
            return bad(record_size_at, "record size");
        }
        if let Some(min) = Record::min_size(record_type, sizes, &RecordContext::default()) {
            if !matches!(record_type, 7 | 10 | 11) && usize::from(record_size) < min {
                return bad(
                    record_size_at,
                    "record size (too small for the record type)",
                );
            }
        }
        if u64::from(node_size) < u64::from(NODE_PREFIX_SIZE) + u64::from(record_size) {
            return bad(node_size_at, "node size (too small for one record)");
        }
        if depth > MAX_DEPTH {
            return Err(Error::limit(
                HEADER,
                depth_at,
                "v2 B-tree depth",
                depth.into(),
                MAX_DEPTH.into(),
            ));
        }
        let Some(geometry) = Geometry::compute(node_size, record_size, depth, sizes.offset) else {
            return bad(node_size_at, "node size (too small for the tree depth)");
        };
        let root_max = geometry.level(depth).map_or(0, |l| l.max_nrec);
        if root_addr.is_some() && u64::from(root_nrecords) > root_max {
            return bad(root_nrecords_at, "number of records in root node");
        }
        Ok(Header {
            addr,
            sizes,
            record_type,
            node_size,
            record_size,
            depth,
            split_percent,
            merge_percent,
            root_addr,
            root_nrecords,
            total_records,
            geometry,
        })
    }

    /// Node geometry of the tree.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Most records a node at `level` holds, if the tree has that level.
    pub fn max_records(&self, level: u16) -> Option<u64> {
        self.geometry.level(level).map(|l| l.max_nrec)
    }
}

/// A pointer from an internal node to a child node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// File address of the child node.
    pub addr: u64,
    /// Records in the child node itself.
    pub nrecords: u64,
    /// Records in the child and all its descendants; `None` when the child is a leaf
    /// (the pointer has no such field and the total is `nrecords`).
    pub total_records: Option<u64>,
}

/// A decoded leaf or internal node: its records (raw, `record_size` bytes each, in key
/// order) and, for internal nodes, one more child than records (child `i` holds the keys
/// below record `i`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node<'a> {
    /// File address of the node.
    pub addr: u64,
    /// The records, each [`Header::record_size`] bytes.
    pub records: Vec<&'a [u8]>,
    /// Child pointers (empty for a leaf).
    pub children: Vec<Child>,
}

impl Node<'_> {
    /// File address of record `index` of this node.
    pub fn record_addr(&self, index: usize, header: &Header) -> u64 {
        let offset = (RECORDS_START as u64)
            .saturating_add((index as u64).saturating_mul(u64::from(header.record_size)));
        self.addr.wrapping_add(offset)
    }

    /// Decode record `index` of this node as a record of the tree's type.
    ///
    /// # Errors
    /// `Invalid` when there is no such record; otherwise as [`Record::decode`].
    pub fn record(&self, index: usize, header: &Header, ctx: &RecordContext) -> Result<Record> {
        let bytes = self
            .records
            .get(index)
            .ok_or_else(|| Error::invalid(RECORD, self.addr, "record index"))?;
        Record::decode(
            header.record_type,
            bytes,
            self.record_addr(index, header),
            header.sizes,
            ctx,
        )
    }
}

/// Check what every node shares (sizes, signature, version, type) and verify the checksum
/// that follows the first `used` bytes; returns a reader positioned at the first record.
fn node_prefix<'a>(
    buf: &'a [u8],
    addr: u64,
    sizes: Sizes,
    header: &Header,
    structure: &'static str,
    signature: &[u8; 4],
    used: u64,
) -> Result<Reader<'a>> {
    if sizes != header.sizes {
        return Err(Error::invalid(
            structure,
            addr,
            "sizes (unlike the B-tree header's)",
        ));
    }
    let mut r = Reader::new(buf, addr, sizes, structure);
    r.signature(signature)?;
    let version_at = r.addr();
    let version = r.u8()?;
    if version != 0 {
        return Err(Error::new(
            structure,
            version_at,
            ErrorKind::BadVersion(version),
        ));
    }
    let type_at = r.addr();
    if r.u8()? != header.record_type {
        return Err(Error::invalid(
            structure,
            type_at,
            "node type (unlike the header's)",
        ));
    }
    let end = match usize::try_from(used) {
        Ok(end) if end <= buf.len().saturating_sub(4) => end,
        _ => return Err(r.err(ErrorKind::Truncated)),
    };
    let mut c = r.clone();
    c.seek(end)?;
    c.checksum(0)?;
    Ok(r)
}

/// Decode a leaf node (`BTLF`) holding `nrecords` records from `buf`, whose first byte is
/// at `addr`.
///
/// # Errors
/// `Invalid` when `nrecords` exceeds a leaf's capacity, the node type differs from the
/// header's or `sizes` from the header's; `Truncated`, `BadSignature`, `BadVersion`,
/// `BadChecksum`.
pub fn decode_leaf<'a>(
    buf: &'a [u8],
    addr: u64,
    sizes: Sizes,
    header: &Header,
    nrecords: u64,
) -> Result<Node<'a>> {
    let max_nrec = header.max_records(0).unwrap_or(0);
    if nrecords > max_nrec {
        return Err(Error::invalid(LEAF, addr, "number of records"));
    }
    // nrecords ≤ (node_size − 10) / record_size: no overflow, and `used` < node_size.
    let used = RECORDS_START as u64 + nrecords * u64::from(header.record_size);
    let mut r = node_prefix(buf, addr, sizes, header, LEAF, b"BTLF", used)?;
    let n = nrecords as usize; // bounded by the buffer just checked
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        records.push(r.bytes(usize::from(header.record_size))?);
    }
    Ok(Node {
        addr,
        records,
        children: Vec::new(),
    })
}

/// Decode an internal node (`BTIN`) at depth `depth` (1 ..= [`Header::depth`]; the root is
/// at the header's depth, each child one less) holding `nrecords` records from `buf`,
/// whose first byte is at `addr`.
///
/// # Errors
/// `Invalid` when `depth` is not an internal level of the tree, `nrecords` exceeds the
/// level's capacity, a child's counts exceed the child level's capacity, a child address
/// is undefined, the node type differs from the header's or `sizes` from the header's;
/// `Truncated`, `BadSignature`, `BadVersion`, `BadChecksum`.
pub fn decode_internal<'a>(
    buf: &'a [u8],
    addr: u64,
    sizes: Sizes,
    header: &Header,
    depth: u16,
    nrecords: u64,
) -> Result<Node<'a>> {
    let g = &header.geometry;
    let bad_depth = || Error::invalid(INTERNAL, addr, "node depth");
    if depth == 0 || depth > header.depth {
        return Err(bad_depth());
    }
    let level = g.level(depth).ok_or_else(bad_depth)?;
    let below = g.level(depth - 1).ok_or_else(bad_depth)?;
    let pointer = g.pointer_size(depth).ok_or_else(bad_depth)?;
    if nrecords > level.max_nrec {
        return Err(Error::invalid(INTERNAL, addr, "number of records"));
    }
    // nrecords ≤ max_nrec, chosen so that records and pointers fit a node_size (u32) node.
    let used = RECORDS_START as u64
        + nrecords * u64::from(header.record_size)
        + (nrecords + 1) * pointer as u64;
    let mut r = node_prefix(buf, addr, sizes, header, INTERNAL, b"BTIN", used)?;
    let n = nrecords as usize; // bounded by the buffer just checked
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        records.push(r.bytes(usize::from(header.record_size))?);
    }
    let mut children = Vec::with_capacity(n + 1);
    for _ in 0..=n {
        let child_addr = r.defined_offset("child node address")?;
        let count_at = r.addr();
        let child_nrecords = r.uint(g.max_nrec_size)?;
        if child_nrecords > below.max_nrec {
            return Err(Error::invalid(
                INTERNAL,
                count_at,
                "number of records in child node",
            ));
        }
        let total_records = if depth > 1 {
            let total_at = r.addr();
            let total = r.uint(below.cum_max_nrec_size)?;
            if total < child_nrecords || total > below.cum_max_nrec {
                return Err(Error::invalid(
                    INTERNAL,
                    total_at,
                    "total records in child node",
                ));
            }
            Some(total)
        } else {
            None
        };
        children.push(Child {
            addr: child_addr,
            nrecords: child_nrecords,
            total_records,
        });
    }
    Ok(Node {
        addr,
        records,
        children,
    })
}

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
        /// [`name_hash`] of the link name.
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
        /// [`name_hash`] of the attribute name.
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const SIZES: Sizes = Sizes::DEFAULT;
    const HDR_ADDR: u64 = 0x800;

    fn put(v: &mut Vec<u8>, x: u64, n: usize) {
        v.extend_from_slice(&x.to_le_bytes()[..n]);
    }

    fn seal(mut v: Vec<u8>) -> Vec<u8> {
        let sum = lookup3::checksum(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    #[derive(Clone)]
    struct Spec {
        version: u8,
        record_type: u8,
        node_size: u32,
        record_size: u16,
        depth: u16,
        root: Option<u64>,
        root_nrecords: u16,
        total: u64,
    }

    impl Default for Spec {
        fn default() -> Self {
            // A dense group's name index as libhdf5 creates it.
            Spec {
                version: 0,
                record_type: 5,
                node_size: 512,
                record_size: 11,
                depth: 0,
                root: Some(0x1000),
                root_nrecords: 3,
                total: 3,
            }
        }
    }

    fn encode_header(s: &Spec) -> Vec<u8> {
        let mut v = b"BTHD".to_vec();
        v.push(s.version);
        v.push(s.record_type);
        put(&mut v, u64::from(s.node_size), 4);
        put(&mut v, u64::from(s.record_size), 2);
        put(&mut v, u64::from(s.depth), 2);
        v.push(100); // split %
        v.push(40); // merge %
        put(&mut v, s.root.unwrap_or(u64::MAX), 8);
        put(&mut v, u64::from(s.root_nrecords), 2);
        put(&mut v, s.total, 8);
        seal(v)
    }

    fn header(s: &Spec) -> Header {
        Header::decode(&encode_header(s), HDR_ADDR, SIZES).unwrap()
    }

    fn invalid(e: Error) -> &'static str {
        match e.kind {
            ErrorKind::Invalid(what) => what,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn link_record(hash: u32, id: u8) -> Vec<u8> {
        let mut v = hash.to_le_bytes().to_vec();
        v.extend_from_slice(&[id; 7]);
        v
    }

    /// A node image: signature, version, type, records, then for internal nodes the child
    /// pointers `(addr, nrecords, total)` with the given field widths; then the checksum
    /// and zero padding to `pad_to`.
    fn encode_node(
        sig: &[u8; 4],
        record_type: u8,
        records: &[Vec<u8>],
        children: &[(u64, u64, Option<u64>)],
        widths: (usize, usize),
        pad_to: usize,
    ) -> Vec<u8> {
        let mut v = sig.to_vec();
        v.push(0);
        v.push(record_type);
        for rec in records {
            v.extend_from_slice(rec);
        }
        for &(addr, n, total) in children {
            put(&mut v, addr, 8);
            put(&mut v, n, widths.0);
            if let Some(t) = total {
                put(&mut v, t, widths.1);
            }
        }
        let mut v = seal(v);
        if v.len() < pad_to {
            v.resize(pad_to, 0);
        }
        v
    }

    #[test]
    fn geometry_matches_hand_computation() {
        // node 512, record 11 (link name), 8-byte offsets.
        let g = Geometry::compute(512, 11, 3, 8).unwrap();
        // leaves: (512 − 10) / 11 = 45, one byte per record count.
        assert_eq!(g.max_nrec_size, 1);
        assert_eq!(
            g.levels[0],
            Level {
                max_nrec: 45,
                cum_max_nrec: 45,
                cum_max_nrec_size: 0
            }
        );
        // level 1: pointer 8 + 1 = 9; (512 − 19) / 20 = 24; 25 · 45 + 24 = 1149 (2 bytes).
        assert_eq!(
            g.levels[1],
            Level {
                max_nrec: 24,
                cum_max_nrec: 1149,
                cum_max_nrec_size: 2
            }
        );
        assert_eq!(g.pointer_size(1), Some(9));
        // level 2: pointer 8 + 1 + 2 = 11; (512 − 21) / 22 = 22; 23 · 1149 + 22 = 26449.
        assert_eq!(
            g.levels[2],
            Level {
                max_nrec: 22,
                cum_max_nrec: 26449,
                cum_max_nrec_size: 2
            }
        );
        assert_eq!(g.pointer_size(2), Some(11));
        // level 3: pointer 11; 22 again; 23 · 26449 + 22 = 608349 (3 bytes).
        assert_eq!(
            g.levels[3],
            Level {
                max_nrec: 22,
                cum_max_nrec: 608349,
                cum_max_nrec_size: 3
            }
        );
        assert_eq!(g.pointer_size(3), Some(11));
        assert_eq!(g.pointer_size(0), None);
        assert_eq!(g.pointer_size(4), None);

        // A chunk index (type 10, rank 2, 8-byte offsets: 24-byte records) in 2 KiB nodes:
        // leaves (2048 − 10) / 24 = 84 → 1 byte; level 1: (2048 − 19) / 33 = 61.
        let g = Geometry::compute(2048, 24, 1, 8).unwrap();
        assert_eq!(
            (g.levels[0].max_nrec, g.max_nrec_size, g.levels[1].max_nrec),
            (84, 1, 61)
        );
        assert_eq!(g.levels[1].cum_max_nrec, 62 * 84 + 61);

        // Leaf capacity of 256 needs two bytes per count: (266 − 10) / 1.
        let g = Geometry::compute(266, 1, 1, 4).unwrap();
        assert_eq!((g.levels[0].max_nrec, g.max_nrec_size), (256, 2));
        // level 1: pointer 4 + 2 = 6; (266 − 16) / 7 = 35.
        assert_eq!(g.levels[1].max_nrec, 35);

        // Too small for a record at some level, or too deep.
        assert!(Geometry::compute(20, 11, 0, 8).is_none());
        assert!(Geometry::compute(21, 11, 0, 8).is_some());
        assert!(Geometry::compute(21, 11, 1, 8).is_none());
        assert!(Geometry::compute(512, 0, 0, 8).is_none());
        assert!(Geometry::compute(4096, 1, 65, 8).is_none());
    }

    #[test]
    fn geometry_saturates_instead_of_overflowing() {
        // Tiny records in big nodes at full depth: the totals saturate at u64::MAX.
        let g = Geometry::compute(u32::MAX, 1, MAX_DEPTH, 8).unwrap();
        assert_eq!(g.levels.len(), 65);
        let top = g.levels[64];
        assert_eq!(top.cum_max_nrec, u64::MAX);
        assert_eq!(top.cum_max_nrec_size, 8);
        for pair in g.levels.windows(2) {
            assert!(pair[1].cum_max_nrec >= pair[0].cum_max_nrec);
        }
    }

    #[test]
    fn encoded_widths() {
        assert_eq!(enc_size(0), 1);
        assert_eq!(enc_size(1), 1);
        assert_eq!(enc_size(255), 1);
        assert_eq!(enc_size(256), 2);
        assert_eq!(enc_size(65535), 2);
        assert_eq!(enc_size(65536), 3);
        assert_eq!(enc_size(u64::MAX), 8);
    }

    #[test]
    fn header_decodes() {
        let h = header(&Spec::default());
        assert_eq!(h.addr, HDR_ADDR);
        assert_eq!(
            (h.record_type, h.node_size, h.record_size, h.depth),
            (5, 512, 11, 0)
        );
        assert_eq!((h.split_percent, h.merge_percent), (100, 40));
        assert_eq!(
            (h.root_addr, h.root_nrecords, h.total_records),
            (Some(0x1000), 3, 3)
        );
        assert_eq!(h.geometry().levels.len(), 1);
        assert_eq!(h.max_records(0), Some(45));
        assert_eq!(h.max_records(1), None);

        let empty = header(&Spec {
            root: None,
            root_nrecords: 0,
            total: 0,
            ..Spec::default()
        });
        assert_eq!(empty.root_addr, None);
        // With no root, the root count is not checked.
        let odd = header(&Spec {
            root: None,
            root_nrecords: 999,
            ..Spec::default()
        });
        assert_eq!(odd.root_nrecords, 999);
        let deep = header(&Spec {
            depth: 2,
            root_nrecords: 22,
            ..Spec::default()
        });
        assert_eq!(deep.max_records(2), Some(22));
    }

    #[test]
    fn header_errors() {
        let good = encode_header(&Spec::default());
        for n in 0..good.len() {
            let e = Header::decode(&good[..n], HDR_ADDR, SIZES).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }
        let mut bad = good.clone();
        bad[2] = b'X';
        let e = Header::decode(&bad, HDR_ADDR, SIZES).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, HDR_ADDR));
        let e = Header::decode(
            &encode_header(&Spec {
                version: 2,
                ..Spec::default()
            }),
            HDR_ADDR,
            SIZES,
        )
        .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadVersion(2), HDR_ADDR + 4));
        let mut bad = good.clone();
        bad[8] ^= 1;
        let e = Header::decode(&bad, HDR_ADDR, SIZES).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, HDR_ADDR + good.len() as u64 - 4);

        let cases: [(Spec, &str); 6] = [
            (
                Spec {
                    record_size: 0,
                    ..Spec::default()
                },
                "record size",
            ),
            (
                Spec {
                    record_size: 10,
                    ..Spec::default()
                },
                "record size (too small for the record type)",
            ),
            (
                Spec {
                    node_size: 20,
                    ..Spec::default()
                },
                "node size (too small for one record)",
            ),
            (
                Spec {
                    node_size: 30,
                    depth: 1,
                    root_nrecords: 1,
                    ..Spec::default()
                },
                "node size (too small for the tree depth)",
            ),
            (
                Spec {
                    root_nrecords: 46,
                    ..Spec::default()
                },
                "number of records in root node",
            ),
            (
                Spec {
                    depth: 1,
                    root_nrecords: 25,
                    ..Spec::default()
                },
                "number of records in root node",
            ),
        ];
        for (spec, what) in cases {
            let e = Header::decode(&encode_header(&spec), HDR_ADDR, SIZES).unwrap_err();
            assert_eq!(invalid(e), what);
        }
        let e = Header::decode(
            &encode_header(&Spec {
                depth: 65,
                ..Spec::default()
            }),
            HDR_ADDR,
            SIZES,
        )
        .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Limit {
                what: "v2 B-tree depth",
                value: 65,
                limit: 64
            }
        );
    }

    #[test]
    fn leaf_decodes() {
        let h = header(&Spec::default());
        let recs = vec![link_record(10, 1), link_record(20, 2), link_record(30, 3)];
        let buf = encode_node(b"BTLF", 5, &recs, &[], (0, 0), 512);
        let node = decode_leaf(&buf, 0x1000, SIZES, &h, 3).unwrap();
        assert_eq!(node.addr, 0x1000);
        assert_eq!(node.records, [&recs[0][..], &recs[1][..], &recs[2][..]]);
        assert!(node.children.is_empty());
        assert_eq!(node.record_addr(2, &h), 0x1000 + 6 + 22);
        assert_eq!(
            node.record(1, &h, &RecordContext::default()).unwrap(),
            Record::LinkName {
                hash: 20,
                heap_id: [2; 7]
            }
        );
        assert!(node.record(3, &h, &RecordContext::default()).is_err());

        // Only the bytes up to the checksum are needed.
        let short = &buf[..6 + 33 + 4];
        assert_eq!(decode_leaf(short, 0x1000, SIZES, &h, 3).unwrap(), node);
        // An empty leaf.
        let empty = encode_node(b"BTLF", 5, &[], &[], (0, 0), 0);
        assert!(decode_leaf(&empty, 0x1000, SIZES, &h, 0)
            .unwrap()
            .records
            .is_empty());
    }

    #[test]
    fn leaf_errors() {
        let h = header(&Spec::default());
        let recs = vec![link_record(10, 1), link_record(20, 2)];
        let buf = encode_node(b"BTLF", 5, &recs, &[], (0, 0), 0);
        for n in 0..buf.len() {
            let e = decode_leaf(&buf[..n], 0x1000, SIZES, &h, 2).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }
        let mut bad = buf.clone();
        bad[0] = b'X';
        assert_eq!(
            decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err().kind,
            ErrorKind::BadSignature
        );
        let mut bad = buf.clone();
        bad[4] = 1;
        assert_eq!(
            decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err().kind,
            ErrorKind::BadVersion(1)
        );
        let mut bad = buf.clone();
        bad[10] ^= 0x80;
        let e = decode_leaf(&bad, 0x1000, SIZES, &h, 2).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        assert_eq!(e.offset, 0x1000 + 6 + 22);
        // Reading fewer records than stored puts the checksum in the wrong place.
        let e = decode_leaf(&buf, 0x1000, SIZES, &h, 1).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
        let wrong_type = encode_node(b"BTLF", 6, &recs, &[], (0, 0), 0);
        let e = decode_leaf(&wrong_type, 0x1000, SIZES, &h, 2).unwrap_err();
        assert_eq!(
            (invalid(e.clone()), e.offset),
            ("node type (unlike the header's)", 0x1005)
        );
        let e = decode_leaf(&buf, 0x1000, SIZES, &h, 46).unwrap_err();
        assert_eq!(invalid(e), "number of records");
        let e = decode_leaf(&buf, 0x1000, SIZES, &h, u64::MAX).unwrap_err();
        assert_eq!(invalid(e), "number of records");
        assert!(decode_leaf(
            &buf,
            0x1000,
            Sizes {
                offset: 4,
                length: 4
            },
            &h,
            2
        )
        .is_err());
    }

    #[test]
    fn twig_node_decodes() {
        let h = header(&Spec {
            depth: 1,
            root_nrecords: 2,
            ..Spec::default()
        });
        let recs = vec![link_record(100, 7), link_record(200, 8)];
        let kids = [(0x2000, 45, None), (0x2200, 30, None), (0x2400, 0, None)];
        let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 0), 512);
        let node = decode_internal(&buf, 0x1000, SIZES, &h, 1, 2).unwrap();
        assert_eq!(node.records.len(), 2);
        assert_eq!(
            node.children,
            [
                Child {
                    addr: 0x2000,
                    nrecords: 45,
                    total_records: None
                },
                Child {
                    addr: 0x2200,
                    nrecords: 30,
                    total_records: None
                },
                Child {
                    addr: 0x2400,
                    nrecords: 0,
                    total_records: None
                },
            ]
        );
        // A child claiming more records than a leaf holds.
        let over = encode_node(
            b"BTIN",
            5,
            &recs,
            &[(0x2000, 46, None), (0x2200, 1, None), (0x2400, 1, None)],
            (1, 0),
            0,
        );
        let e = decode_internal(&over, 0x1000, SIZES, &h, 1, 2).unwrap_err();
        assert_eq!(
            (invalid(e.clone()), e.offset),
            ("number of records in child node", 0x1000 + 6 + 22 + 8)
        );
        // An undefined child address.
        let undef = encode_node(
            b"BTIN",
            5,
            &recs,
            &[(u64::MAX, 1, None), (0x2200, 1, None), (0x2400, 1, None)],
            (1, 0),
            0,
        );
        assert!(decode_internal(&undef, 0x1000, SIZES, &h, 1, 2).is_err());
        // Depth must be an internal level of this tree.
        for depth in [0, 2] {
            let e = decode_internal(&buf, 0x1000, SIZES, &h, depth, 2).unwrap_err();
            assert_eq!(invalid(e), "node depth");
        }
        let e = decode_internal(&buf, 0x1000, SIZES, &h, 1, 25).unwrap_err();
        assert_eq!(invalid(e), "number of records");
        let mut bad = buf.clone();
        bad[0] = b'X';
        assert_eq!(
            decode_internal(&bad, 0x1000, SIZES, &h, 1, 2)
                .unwrap_err()
                .kind,
            ErrorKind::BadSignature
        );
        let leaf_sig = encode_node(b"BTLF", 5, &recs, &kids, (1, 0), 0);
        assert_eq!(
            decode_internal(&leaf_sig, 0x1000, SIZES, &h, 1, 2)
                .unwrap_err()
                .kind,
            ErrorKind::BadSignature
        );
        let used = 6 + 22 + 3 * 9;
        for n in 0..used + 4 {
            let e = decode_internal(&buf[..n], 0x1000, SIZES, &h, 1, 2).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "prefix {n}");
        }
        let mut bad = buf.clone();
        bad[used - 1] ^= 1;
        let e = decode_internal(&bad, 0x1000, SIZES, &h, 1, 2).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadChecksum { .. }));
    }

    #[test]
    fn deep_internal_node_decodes() {
        // Depth 3: the root (level 3) points to level-2 nodes, whose totals take 2 bytes
        // (cum_max_nrec_size of level 2); level-2 nodes point to level-1 nodes (2 bytes too).
        let h = header(&Spec {
            depth: 3,
            root_nrecords: 1,
            ..Spec::default()
        });
        let recs = vec![link_record(5, 5)];
        let kids = [(0x3000, 22, Some(20000)), (0x3400, 10, Some(26449))];
        let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 512);
        let node = decode_internal(&buf, 0x1000, SIZES, &h, 3, 1).unwrap();
        assert_eq!(
            node.children,
            [
                Child {
                    addr: 0x3000,
                    nrecords: 22,
                    total_records: Some(20000)
                },
                Child {
                    addr: 0x3400,
                    nrecords: 10,
                    total_records: Some(26449)
                },
            ]
        );
        let kids = [(0x4000, 24, Some(1149)), (0x4400, 1, Some(46))];
        let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 0);
        let node = decode_internal(&buf, 0x1000, SIZES, &h, 2, 1).unwrap();
        assert_eq!(
            node.children[1],
            Child {
                addr: 0x4400,
                nrecords: 1,
                total_records: Some(46)
            }
        );
        // Totals below the child's own count, or beyond what the child level can hold.
        for kids in [
            [(0x4000, 24, Some(23)), (0x4400, 1, Some(1))],
            [(0x4000, 24, Some(1150)), (0x4400, 1, Some(1))],
        ] {
            let buf = encode_node(b"BTIN", 5, &recs, &kids, (1, 2), 0);
            let e = decode_internal(&buf, 0x1000, SIZES, &h, 2, 1).unwrap_err();
            assert_eq!(invalid(e), "total records in child node");
        }
    }

    #[test]
    fn huge_object_records() {
        let ctx = RecordContext::default();
        let mut b = vec![];
        put(&mut b, 0x5000, 8);
        put(&mut b, 1 << 20, 8);
        put(&mut b, 7, 8);
        assert_eq!(
            Record::decode(1, &b, 0, SIZES, &ctx).unwrap(),
            Record::HugeObject {
                addr: 0x5000,
                length: 1 << 20,
                id: 7
            }
        );
        assert_eq!(
            Record::decode(3, &b, 0, SIZES, &ctx).unwrap(),
            Record::DirectHugeObject {
                addr: 0x5000,
                length: 1 << 20
            }
        );
        let mut b = vec![];
        put(&mut b, 0x5000, 8);
        put(&mut b, 900, 8);
        put(&mut b, 0b11, 4);
        put(&mut b, 4000, 8);
        put(&mut b, 9, 8);
        assert_eq!(
            Record::decode(2, &b, 0, SIZES, &ctx).unwrap(),
            Record::FilteredHugeObject {
                addr: 0x5000,
                length: 900,
                filter_mask: 3,
                memory_size: 4000,
                id: 9
            }
        );
        assert_eq!(
            Record::decode(4, &b, 0, SIZES, &ctx).unwrap(),
            Record::FilteredDirectHugeObject {
                addr: 0x5000,
                length: 900,
                filter_mask: 3,
                memory_size: 4000
            }
        );
        // 4-byte offsets and lengths.
        let small = Sizes {
            offset: 4,
            length: 4,
        };
        let b = [0x00, 0x10, 0, 0, 0x20, 0, 0, 0, 0x03, 0, 0, 0];
        assert_eq!(
            Record::decode(1, &b, 0, small, &ctx).unwrap(),
            Record::HugeObject {
                addr: 0x1000,
                length: 0x20,
                id: 3
            }
        );
        let e = Record::decode(1, &b[..11], 0x40, small, &ctx).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x48));
        let undefined = [0xff; 24];
        assert!(Record::decode(1, &undefined, 0, SIZES, &ctx).is_err());
    }

    #[test]
    fn link_and_attribute_records() {
        let ctx = RecordContext::default();
        let mut b = 0xdead_beef_u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            Record::decode(5, &b, 0, SIZES, &ctx).unwrap(),
            Record::LinkName {
                hash: 0xdead_beef,
                heap_id: [1, 2, 3, 4, 5, 6, 7]
            }
        );
        let mut b = 42u64.to_le_bytes().to_vec();
        b.extend_from_slice(&[9; 7]);
        assert_eq!(
            Record::decode(6, &b, 0, SIZES, &ctx).unwrap(),
            Record::LinkCreationOrder {
                creation_order: 42,
                heap_id: [9; 7]
            }
        );
        assert_eq!(
            Record::decode(6, &b[..14], 0, SIZES, &ctx)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
        let mut b = vec![1, 2, 3, 4, 5, 6, 7, 8, 0x01];
        put(&mut b, 3, 4);
        put(&mut b, 0x1234_5678, 4);
        assert_eq!(
            Record::decode(8, &b, 0, SIZES, &ctx).unwrap(),
            Record::AttributeName {
                heap_id: [1, 2, 3, 4, 5, 6, 7, 8],
                flags: 1,
                creation_order: 3,
                hash: 0x1234_5678
            }
        );
        assert_eq!(
            Record::decode(9, &b[..13], 0, SIZES, &ctx).unwrap(),
            Record::AttributeCreationOrder {
                heap_id: [1, 2, 3, 4, 5, 6, 7, 8],
                flags: 1,
                creation_order: 3
            }
        );
        assert_eq!(
            Record::decode(8, &b[..16], 0, SIZES, &ctx)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn shared_message_records() {
        let ctx = RecordContext::default();
        let mut b = vec![0];
        put(&mut b, 0xaabb_ccdd, 4);
        put(&mut b, 3, 4);
        b.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(
            Record::decode(7, &b, 0, SIZES, &ctx).unwrap(),
            Record::SharedMessageInHeap {
                hash: 0xaabb_ccdd,
                refcount: 3,
                heap_id: [8, 7, 6, 5, 4, 3, 2, 1]
            }
        );
        let mut b = vec![1];
        put(&mut b, 0x0102_0304, 4);
        b.push(0); // reserved
        b.push(0x0c); // attribute message
        put(&mut b, 2, 2);
        put(&mut b, 0x6000, 8);
        assert_eq!(
            Record::decode(7, &b, 0, SIZES, &ctx).unwrap(),
            Record::SharedMessageInHeader {
                hash: 0x0102_0304,
                message_type: 0x0c,
                index: 2,
                header_addr: 0x6000
            }
        );
        b[0] = 2;
        let e = Record::decode(7, &b, 0x70, SIZES, &ctx).unwrap_err();
        assert_eq!(
            (invalid(e.clone()), e.offset),
            ("shared message location", 0x70)
        );
        assert_eq!(Record::min_size(7, SIZES, &ctx), Some(17));
    }

    #[test]
    fn chunk_records() {
        let ctx = RecordContext {
            rank: 2,
            chunk_size_len: 0,
        };
        let mut b = vec![];
        put(&mut b, 0x7000, 8);
        put(&mut b, 3, 8);
        put(&mut b, 5, 8);
        assert_eq!(
            Record::decode(10, &b, 0, SIZES, &ctx).unwrap(),
            Record::Chunk {
                addr: 0x7000,
                scaled: vec![3, 5]
            }
        );
        assert_eq!(
            Record::decode(10, &b[..23], 0, SIZES, &ctx)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
        let e = Record::decode(
            10,
            &b,
            0,
            SIZES,
            &RecordContext {
                rank: 0,
                chunk_size_len: 0,
            },
        )
        .unwrap_err();
        assert_eq!(invalid(e), "dataset rank");
        let e = Record::decode(
            10,
            &b,
            0,
            SIZES,
            &RecordContext {
                rank: 33,
                chunk_size_len: 0,
            },
        )
        .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Limit {
                what: "dataset rank",
                value: 33,
                limit: 32
            }
        );
        // A hostile rank never allocates beyond the record.
        let e = Record::decode(
            10,
            &b,
            0,
            SIZES,
            &RecordContext {
                rank: usize::MAX,
                chunk_size_len: 0,
            },
        )
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));

        let ctx = RecordContext {
            rank: 3,
            chunk_size_len: 3,
        };
        let mut b = vec![];
        put(&mut b, 0x7100, 8);
        put(&mut b, 0x01_0203, 3);
        put(&mut b, 0b1, 4);
        for s in [1, 2, 4] {
            put(&mut b, s, 8);
        }
        assert_eq!(Record::min_size(11, SIZES, &ctx), Some(b.len()));
        assert_eq!(
            Record::decode(11, &b, 0, SIZES, &ctx).unwrap(),
            Record::FilteredChunk {
                addr: 0x7100,
                size: 0x01_0203,
                filter_mask: 1,
                scaled: vec![1, 2, 4]
            }
        );
        for chunk_size_len in [0, 9] {
            let e = Record::decode(
                11,
                &b,
                0,
                SIZES,
                &RecordContext {
                    rank: 3,
                    chunk_size_len,
                },
            )
            .unwrap_err();
            assert_eq!(invalid(e), "chunk size width");
        }
        assert_eq!(
            Record::decode(11, &b[..b.len() - 1], 0, SIZES, &ctx)
                .unwrap_err()
                .kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn unknown_record_types() {
        for t in [0, 12, 255] {
            let e =
                Record::decode(t, &[0; 64], 0x90, SIZES, &RecordContext::default()).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{t}");
            assert_eq!(e.offset, 0x90);
            assert_eq!(Record::min_size(t, SIZES, &RecordContext::default()), None);
        }
        // Headers of unknown types still decode; their records do not.
        let h = header(&Spec {
            record_type: 0,
            record_size: 4,
            ..Spec::default()
        });
        assert_eq!(h.record_type, 0);
    }

    #[test]
    fn min_sizes_match_decoders() {
        let ctx = RecordContext {
            rank: 2,
            chunk_size_len: 8,
        };
        for t in 1..=11u8 {
            let n = Record::min_size(t, SIZES, &ctx).unwrap();
            let mut bytes = vec![0u8; n];
            if t == 7 {
                bytes[0] = 1; // the longer, object-header layout with 8-byte offsets
            }
            assert!(
                Record::decode(t, &bytes, 0, SIZES, &ctx).is_ok(),
                "type {t}"
            );
            assert!(
                Record::decode(t, &bytes[..n - 1], 0, SIZES, &ctx).is_err(),
                "type {t}"
            );
        }
    }

    #[test]
    fn name_hashes() {
        assert_eq!(name_hash(b""), 0xdead_beef);
        assert_eq!(name_hash(b"Four score and seven years ago"), 0x1777_0551);
        assert_eq!(name_hash(b"dataset"), lookup3::hash(b"dataset", 0));
        assert_ne!(name_hash(b"a"), name_hash(b"b"));
    }
}

//! Internal (`BTIN`) and leaf (`BTLF`) nodes of a v2 B-tree: decode.

use alloc::vec::Vec;

use super::{Header, Record, RecordContext, INTERNAL, LEAF, RECORD, RECORDS_START};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Reader, Sizes};

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
    r.prologue(signature, &[0])?;
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
/// header's or `sizes` from the header's; `Truncated`, `BadSignature`, `VersionNotAccepted`,
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
/// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`.
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

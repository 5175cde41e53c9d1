//! The v2 B-tree header (`BTHD`): decode and encode.

use alloc::vec::Vec;

use super::{Geometry, Record, RecordContext, HEADER, MAX_DEPTH, NODE_PREFIX_SIZE};
use crate::error::{Error, Result};
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;

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
    /// `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum`, `Limit` (depth beyond
    /// [`MAX_DEPTH`]) or `Invalid` naming the inconsistent field.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Header> {
        let mut r = Reader::new(buf, addr, sizes, HEADER);
        r.prologue(b"BTHD", &[0])?;
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

    /// Encode the header (`BTHD`, version 0, with its checksum): the mirror of
    /// [`Header::decode`]. [`Header::addr`] and [`Header::geometry`] are not stored; the
    /// result is [`header_size`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(self.sizes);
        w.bytes(b"BTHD")
            .u8(0)
            .u8(self.record_type)
            .u32(self.node_size)
            .u16(self.record_size)
            .u16(self.depth)
            .u8(self.split_percent)
            .u8(self.merge_percent)
            .offset(self.root_addr)
            .u16(self.root_nrecords)
            .length(self.total_records)
            .checksum_from(0);
        w.finish()
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

/// Bytes of a v2 B-tree header in a file with these sizes: 22 + offset + length.
pub fn header_size(sizes: Sizes) -> usize {
    22 + usize::from(sizes.offset) + usize::from(sizes.length)
}

//! Walkers over the 1.8+ structures: fractal heap objects and v2 B-tree records.

use super::FileInner;
use crate::error::{Error, Result};
use h5_format::btree2::{self, Record, RecordContext};
use h5_format::fractal_heap::{self as fh, HeapId, Slot};
use h5_format::{Error as FmtError, ErrorKind};
use std::collections::{HashMap, HashSet};

/// An open fractal heap, with a cache of the direct blocks read so far.
pub(crate) struct FractalHeap {
    hdr: fh::Header,
    blocks: std::cell::RefCell<HashMap<u64, Vec<u8>>>,
}

impl FractalHeap {
    pub(crate) fn open(f: &FileInner, addr: u64) -> Result<FractalHeap> {
        let buf = f.read_upto(addr, 4096, "fractal heap header")?;
        let hdr = f.dec(fh::Header::decode(&buf, addr, f.sizes))?;
        Ok(FractalHeap {
            hdr,
            blocks: Default::default(),
        })
    }

    /// The bytes of the object with heap ID `id`, and the file address they start at.
    pub(crate) fn object(&self, f: &FileInner, id: &[u8]) -> Result<(Vec<u8>, u64)> {
        let h = &self.hdr;
        match f.dec(HeapId::decode(id, h, f.sizes, h.addr))? {
            HeapId::Tiny { range } => Ok((id[range].to_vec(), h.addr)),
            HeapId::Managed { offset, length } => self.managed(f, offset, length),
            HeapId::HugeDirect {
                addr,
                length,
                filter_mask,
                ..
            } => {
                if filter_mask.is_some() {
                    return Err(Error::Unsupported("filtered fractal heap objects".into()));
                }
                Ok((f.read_meta(addr, length, "fractal heap huge object")?, addr))
            }
            HeapId::HugeIndirect { key } => {
                let bt = h.huge_btree_addr.ok_or_else(|| {
                    Error::from(FmtError::invalid(
                        "fractal heap header",
                        f.offset_of(h.addr),
                        "huge object B-tree address",
                    ))
                })?;
                for rec in btree2_records(f, bt, &RecordContext::default())? {
                    match rec {
                        Record::HugeObject { addr, length, id } if id == key => {
                            return Ok((
                                f.read_meta(addr, length, "fractal heap huge object")?,
                                addr,
                            ));
                        }
                        Record::FilteredHugeObject { id, .. } if id == key => {
                            return Err(Error::Unsupported("filtered fractal heap objects".into()));
                        }
                        _ => {}
                    }
                }
                Err(FmtError::invalid(
                    "fractal heap huge object B-tree",
                    f.offset_of(bt),
                    "missing huge object id",
                )
                .into())
            }
        }
    }

    fn managed(&self, f: &FileInner, offset: u64, length: u64) -> Result<(Vec<u8>, u64)> {
        let h = &self.hdr;
        if h.has_io_filters() {
            return Err(Error::Unsupported("fractal heaps with I/O filters".into()));
        }
        let root = h.root_addr.ok_or_else(|| {
            Error::from(FmtError::invalid(
                "fractal heap header",
                f.offset_of(h.addr),
                "root block address",
            ))
        })?;
        let (daddr, boff, bsize) = if h.current_root_rows == 0 {
            (root, 0u64, h.start_block_size)
        } else {
            let (mut iaddr, mut ioff, mut nrows) = (root, 0u64, h.current_root_rows);
            let mut seen = HashSet::new();
            loop {
                if !seen.insert(iaddr) || seen.len() > 64 {
                    return Err(FmtError::new(
                        "fractal heap indirect block",
                        f.offset_of(iaddr),
                        ErrorKind::Cycle,
                    )
                    .into());
                }
                let len = f.dec(h.indirect_block_size(nrows))?;
                let buf = f.read_meta(iaddr, len, "fractal heap indirect block")?;
                let ib = f.dec(fh::IndirectBlock::decode(&buf, iaddr, f.sizes, h, nrows))?;
                if ib.block_offset != ioff {
                    return Err(FmtError::invalid(
                        "fractal heap indirect block",
                        f.offset_of(iaddr),
                        "block offset",
                    )
                    .into());
                }
                match f.dec(fh::locate(h, ioff, nrows, offset))? {
                    Slot::Direct {
                        entry,
                        block_offset,
                        block_size,
                    } => {
                        let a = ib.direct.get(entry).and_then(|e| e.addr).ok_or_else(|| {
                            Error::from(FmtError::invalid(
                                "fractal heap indirect block",
                                f.offset_of(iaddr),
                                "object in an unallocated block",
                            ))
                        })?;
                        break (a, block_offset, block_size);
                    }
                    Slot::Indirect {
                        entry,
                        block_offset,
                        nrows: n,
                    } => {
                        iaddr = ib.indirect.get(entry).copied().flatten().ok_or_else(|| {
                            Error::from(FmtError::invalid(
                                "fractal heap indirect block",
                                f.offset_of(iaddr),
                                "object in an unallocated block",
                            ))
                        })?;
                        ioff = block_offset;
                        nrows = n;
                    }
                }
            }
        };
        let mut cache = self.blocks.borrow_mut();
        if !cache.contains_key(&daddr) {
            let buf = f.read_meta(daddr, bsize, "fractal heap direct block")?;
            f.dec(fh::check_direct_block(&buf, daddr, f.sizes, h, boff))?;
            if cache.len() > 16 {
                cache.clear();
            }
            cache.insert(daddr, buf);
        }
        let block = &cache[&daddr];
        let range = f.dec(fh::object_range(h, daddr, boff, bsize, offset, length))?;
        Ok((block[range.clone()].to_vec(), daddr + range.start as u64))
    }
}

/// Every record of a v2 B-tree, in key order.
pub(crate) fn btree2_records(f: &FileInner, addr: u64, ctx: &RecordContext) -> Result<Vec<Record>> {
    let buf = f.read_upto(addr, 64, "v2 B-tree header")?;
    let hdr = f.dec(btree2::Header::decode(&buf, addr, f.sizes))?;
    let mut ctx = *ctx;
    if hdr.record_type == 11 && ctx.chunk_size_len == 0 {
        // Layout v4 and v5 differ in this width; the record size tells which.
        let fixed = f.sizes.offset as usize + 4 + 8 * ctx.rank;
        ctx.chunk_size_len = (hdr.record_size as usize).saturating_sub(fixed);
    }
    let mut out = Vec::new();
    let Some(root) = hdr.root_addr else {
        return Ok(out);
    };
    if hdr.total_records > f.limits.max_nodes as u64 {
        return Err(FmtError::limit(
            "v2 B-tree header",
            f.offset_of(addr),
            "records",
            hdr.total_records,
            f.limits.max_nodes as u64,
        )
        .into());
    }
    let mut seen = HashSet::new();
    walk(
        f,
        &hdr,
        &ctx,
        root,
        hdr.depth,
        hdr.root_nrecords as u64,
        &mut seen,
        &mut out,
    )?;
    Ok(out)
}

/// Find the record `cmp` says is the one sought (`cmp(record)` = how the record compares with
/// the key) by descending the tree: O(depth) nodes, not a walk of every record.
pub(crate) fn btree2_find(
    f: &FileInner,
    addr: u64,
    ctx: &RecordContext,
    cmp: &mut dyn FnMut(&Record) -> Result<std::cmp::Ordering>,
) -> Result<Option<Record>> {
    use std::cmp::Ordering;
    let buf = f.read_upto(addr, 64, "v2 B-tree header")?;
    let hdr = f.dec(btree2::Header::decode(&buf, addr, f.sizes))?;
    let Some(mut node_addr) = hdr.root_addr else {
        return Ok(None);
    };
    let (mut depth, mut nrec) = (hdr.depth, hdr.root_nrecords as u64);
    for _ in 0..=hdr.depth {
        let buf = f.read_meta(node_addr, hdr.node_size as u64, "v2 B-tree node")?;
        let node = if depth == 0 {
            f.dec(btree2::decode_leaf(&buf, node_addr, f.sizes, &hdr, nrec))?
        } else {
            f.dec(btree2::decode_internal(
                &buf, node_addr, f.sizes, &hdr, depth, nrec,
            ))?
        };
        // the first record not below the key
        let mut at = node.records.len();
        for i in 0..node.records.len() {
            let rec = f.dec(node.record(i, &hdr, ctx))?;
            match cmp(&rec)? {
                Ordering::Less => continue,
                Ordering::Equal => return Ok(Some(rec)),
                Ordering::Greater => {
                    at = i;
                    break;
                }
            }
        }
        if depth == 0 {
            return Ok(None);
        }
        let Some(child) = node.children.get(at) else {
            return Ok(None);
        };
        (node_addr, depth, nrec) = (child.addr, depth - 1, child.nrecords);
    }
    Err(FmtError::invalid("v2 B-tree node", f.offset_of(addr), "tree depth").into())
}

#[allow(clippy::too_many_arguments)]
fn walk(
    f: &FileInner,
    hdr: &btree2::Header,
    ctx: &RecordContext,
    addr: u64,
    depth: u16,
    nrec: u64,
    seen: &mut HashSet<u64>,
    out: &mut Vec<Record>,
) -> Result<()> {
    if !seen.insert(addr) || seen.len() > f.limits.max_nodes {
        return Err(FmtError::new("v2 B-tree node", f.offset_of(addr), ErrorKind::Cycle).into());
    }
    let buf = f.read_meta(addr, hdr.node_size as u64, "v2 B-tree node")?;
    if depth == 0 {
        let node = f.dec(btree2::decode_leaf(&buf, addr, f.sizes, hdr, nrec))?;
        for i in 0..node.records.len() {
            out.push(f.dec(node.record(i, hdr, ctx))?);
        }
        return Ok(());
    }
    let node = f.dec(btree2::decode_internal(
        &buf, addr, f.sizes, hdr, depth, nrec,
    ))?;
    for (i, child) in node.children.iter().enumerate() {
        walk(
            f,
            hdr,
            ctx,
            child.addr,
            depth - 1,
            child.nrecords,
            seen,
            out,
        )?;
        if i < node.records.len() {
            out.push(f.dec(node.record(i, hdr, ctx))?);
        }
    }
    Ok(())
}

//! Reclaiming the space of objects no hard link reaches any more: as libhdf5 does when an
//! object's last link goes, its data, chunk index, link and attribute storage and header
//! continuation chunks are freed for reuse in this session (the first header chunk is kept
//! out of reuse, so stale handles can be told apart), and the objects only it reached (a deleted group's
//! members, a dataset's committed type) lose a reference in turn.

use super::dense::{Addrs, Dense, Kind};
use super::header::HeaderEdit;
use super::WriteCtx;
use crate::error::Result;
use h5_format::message::layout::{self, Layout};
use h5_format::message::link::{AttributeInfo, Link, LinkInfo, LinkTarget};
use h5_format::message::misc::SymbolTable;
use h5_format::message::shared::Shared;
use h5_format::message::MessageType;
use h5_format::Reader;
use std::collections::HashSet;

/// Deeper than this, nested deletions stop (the space of deeper objects is not reclaimed).
const MAX_DEPTH: usize = 256;

/// One hard link to the object at `addr` is gone: drop its reference count, and when no
/// link remains free everything it owns.
pub(crate) fn drop_link(cx: &mut WriteCtx<'_>, addr: u64) -> Result<()> {
    let mut freed = HashSet::new();
    drop_rec(cx, addr, &mut freed, 0)
}

/// Drop one reference to `addr`. Every link removed counts, also when two of a deleted
/// group's links name the same object; only objects already freed by this deletion (reached
/// again through a cycle of hard links) are skipped.
fn drop_rec(
    cx: &mut WriteCtx<'_>,
    addr: u64,
    freed: &mut HashSet<u64>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH || freed.contains(&addr) {
        return Ok(());
    }
    let mut h = HeaderEdit::load(cx, addr)?;
    if h.adjust_refcount(cx, -1)? > 0 {
        return Ok(());
    }
    freed.insert(addr);
    // The header's own space is not reused in this session: its address stays dead, so
    // handles still naming it are refused instead of editing whatever came next.
    let mut free = h.extents().into_iter().skip(1).collect::<Vec<_>>();
    let mut children = Vec::new();
    if let Some(m) = h.find(MessageType::LAYOUT).next() {
        match cx.decode_msg(m, addr, "layout message", layout::decode)?.0 {
            Layout::Contiguous {
                addr: Some(a),
                size: Some(n),
            } => free.push((a, n)),
            Layout::Chunked(_) => free.extend(super::chunked::extents(cx, &h, addr)?),
            _ => {}
        }
    }
    if let Some(m) = h.find(MessageType::DATATYPE).find(|m| m.flags & 0x02 != 0) {
        // a committed type: this object was one of its users
        if let Shared::ObjectHeader(t) =
            cx.decode_msg(m, addr, "shared datatype", Shared::decode)?
        {
            children.push(t);
        }
    }
    if let Some(m) = h.find(MessageType::SYMBOL_TABLE).next() {
        let st = cx.decode_msg(m, addr, "symbol table message", SymbolTable::decode)?;
        for l in crate::read::links::symbol_table_links(cx.f, &st)? {
            if let crate::read::links::LinkKind::Hard(a) = l.kind {
                children.push(a);
            }
        }
        free.extend(super::symtab::extents(cx, st.btree_addr, st.heap_addr)?);
    }
    let mut links: Vec<Vec<u8>> = h.find(MessageType::LINK).map(|m| m.data.clone()).collect();
    if let Some(m) = h.find(MessageType::LINK_INFO).next() {
        let info = cx.decode_msg(m, addr, "link info message", LinkInfo::decode)?;
        if let (Some(heap), Some(name)) = (info.heap_addr, info.name_index_addr) {
            let at = Addrs {
                heap,
                name,
                order: info.order_index_addr,
            };
            let d = Dense::open(cx, Kind::Links, at)?;
            links.extend(d.messages()?);
            free.extend(d.extents()?);
        }
    }
    for body in links {
        let l = cx.f.dec(Link::decode(&mut Reader::new(
            &body,
            addr,
            cx.f.sizes,
            "link message",
        )))?;
        if let LinkTarget::Hard(a) = l.target {
            children.push(a);
        }
    }
    // attributes whose type is a committed datatype hold a reference to it
    let mut attrs: Vec<Vec<u8>> = h
        .find(MessageType::ATTRIBUTE)
        .map(|m| m.data.clone())
        .collect();
    if let Some(m) = h.find(MessageType::ATTRIBUTE_INFO).next() {
        let info = cx.decode_msg(m, addr, "attribute info message", AttributeInfo::decode)?;
        if let (Some(heap), Some(name)) = (info.heap_addr, info.name_index_addr) {
            let at = Addrs {
                heap,
                name,
                order: info.order_index_addr,
            };
            let d = Dense::open(cx, Kind::Attributes, at)?;
            attrs.extend(d.messages()?);
            free.extend(d.extents()?);
        }
    }
    children.extend(
        attrs
            .iter()
            .filter_map(|b| super::enc::attribute_committed_type(cx.f.sizes, b)),
    );
    cx.st.dead.insert(addr);
    // a chunk tree kept for the next write may be this object's, whose space is freed now
    cx.st.chunk_tree = None;
    for c in children {
        drop_rec(cx, c, freed, depth + 1)?;
    }
    for (a, n) in free {
        cx.free(a, n);
    }
    Ok(())
}

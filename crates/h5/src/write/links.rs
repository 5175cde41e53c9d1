//! Adding and removing links, whichever way the group stores them: a symbol table (the
//! default profile) or link messages (libver latest, h5py's `track_order` groups): compact in
//! the group's header up to the phase change (8 links unless the group says otherwise).

use super::dense::{Addrs, Dense, Kind};
use super::header::{self, HeaderEdit};
use super::symtab::{self, Target};
use super::{enc, LibVer, WriteCtx};
use crate::error::{Error, Result};
use h5_format::message::datatype::Charset;
use h5_format::message::link::{GroupInfo, Link, LinkInfo, LinkTarget};
use h5_format::message::misc::SymbolTable;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;
use h5_format::{Reader, Writer};

/// Message flag: constant.
const CONSTANT: u8 = 0x01;

/// libhdf5's message area for a new version-2 group header.
const GROUP_HEADER_AREA: usize = 120;
/// The message area libhdf5 gives a group that tracks creation order (measured: 224 bytes
/// under libver earliest, 180 under the others).
const TRACKED_GROUP_AREA_EARLIEST: usize = 224;
const TRACKED_GROUP_AREA: usize = 180;

/// How a group keeps its links.
enum Store {
    SymbolTable(SymbolTable),
    Links(LinkInfo),
}

fn store_of(cx: &WriteCtx<'_>, h: &HeaderEdit, addr: u64) -> Result<Store> {
    if let Some(m) = h.find(MessageType::SYMBOL_TABLE).next() {
        return Ok(Store::SymbolTable(cx.decode_msg(
            m,
            addr,
            "symbol table message",
            SymbolTable::decode,
        )?));
    }
    if let Some(m) = h.find(MessageType::LINK_INFO).next() {
        return Ok(Store::Links(cx.decode_msg(
            m,
            addr,
            "link info message",
            LinkInfo::decode,
        )?));
    }
    Err(Error::Unsupported(format!(
        "object at {addr:#x} is not a group (no symbol table or link info message)"
    )))
}

/// The symbol table of the group at `addr`, when it has one (for the cache of a symbol-table
/// entry naming it).
pub(crate) fn symbol_table_of(cx: &WriteCtx<'_>, addr: u64) -> Option<(u64, u64)> {
    let h = HeaderEdit::load(cx, addr).ok()?;
    match store_of(cx, &h, addr).ok()? {
        Store::SymbolTable(s) => Some((s.btree_addr, s.heap_addr)),
        Store::Links(_) => None,
    }
}

/// Write the header of a new, empty group in the file's profile; returns its address.
pub(crate) fn create_group(cx: &mut WriteCtx<'_>, track_order: bool) -> Result<u64> {
    let sizes = cx.f.sizes;
    if track_order {
        // links and attributes in creation order, tracked and indexed (h5py's
        // track_order=True): link messages and a v2 header in every profile
        let info = LinkInfo {
            track_order: true,
            index_order: true,
            max_creation_index: Some(0),
            heap_addr: None,
            name_index_addr: None,
            order_index_addr: None,
        };
        let area = if cx.st.libver == LibVer::Earliest {
            TRACKED_GROUP_AREA_EARLIEST
        } else {
            TRACKED_GROUP_AREA
        };
        return header::create_with(cx, link_storage_messages(sizes, &info), area, true);
    }
    match cx.st.libver {
        LibVer::Earliest => {
            let (btree, heap) = symtab::create_empty(cx)?;
            let stab = enc::symbol_table(
                sizes,
                &SymbolTable {
                    btree_addr: btree,
                    heap_addr: heap,
                },
            );
            header::create(
                cx,
                vec![MessageOut::new(MessageType::SYMBOL_TABLE.0, stab)],
                0,
            )
        }
        _ => header::create(
            cx,
            link_storage_messages(sizes, &untracked_info(None)),
            GROUP_HEADER_AREA,
        ),
    }
}

/// The link info (`info`) and group info messages of a group kept with link messages.
fn link_storage_messages(sizes: h5_format::Sizes, info: &LinkInfo) -> Vec<MessageOut> {
    let mut w = Writer::new(sizes);
    info.encode(&mut w);
    let linfo = MessageOut::new(MessageType::LINK_INFO.0, w.finish());
    let mut w = Writer::new(sizes);
    GroupInfo {
        link_phase_change: None,
        estimates: None,
    }
    .encode(&mut w);
    let ginfo = MessageOut {
        flags: CONSTANT,
        ..MessageOut::new(MessageType::GROUP_INFO.0, w.finish())
    };
    vec![linfo, ginfo]
}

/// Link info of a group without creation order, its links compact (`at` = `None`) or dense.
fn untracked_info(at: Option<Addrs>) -> LinkInfo {
    LinkInfo {
        track_order: false,
        index_order: false,
        max_creation_index: None,
        heap_addr: at.map(|a| a.heap),
        name_index_addr: at.map(|a| a.name),
        order_index_addr: None,
    }
}

/// The body of a link message (the name's character set flagged only when not ASCII, as
/// h5py's links are).
fn link_body(
    sizes: h5_format::Sizes,
    name: &str,
    creation_order: Option<u64>,
    target: LinkTarget,
) -> Result<Vec<u8>> {
    let link = Link {
        name: name.to_string(),
        creation_order,
        charset: if name.is_ascii() {
            Charset::Ascii
        } else {
            Charset::Utf8
        },
        target,
    };
    let mut w = Writer::new(sizes);
    link.encode(&mut w).map_err(Error::Format)?;
    Ok(w.finish())
}

/// A new dense store holding `links` (name, creation order, link message body).
fn to_dense(
    cx: &mut WriteCtx<'_>,
    links: &[(String, Option<u64>, Vec<u8>)],
    index_order: bool,
) -> Result<Addrs> {
    let mut d = Dense::create(cx.f.sizes, Kind::Links, index_order)?;
    for (name, order, body) in links {
        d.insert(name, body, *order, 0, cx.f.sizes)?;
    }
    d.store(cx)
}

/// Rewrite the group's link info message.
fn put_info(cx: &mut WriteCtx<'_>, h: &mut HeaderEdit, info: &LinkInfo) -> Result<()> {
    let mut w = Writer::new(cx.f.sizes);
    info.encode(&mut w);
    h.replace(cx, MessageType::LINK_INFO, w.finish())
}

/// Add the link `name` → `target` to the group at `group`. The caller checked the name is free.
pub(crate) fn insert(cx: &mut WriteCtx<'_>, group: u64, name: &str, target: Target) -> Result<()> {
    let mut h = HeaderEdit::load(cx, group)?;
    let mut store = store_of(cx, &h, group)?;
    if let (Store::SymbolTable(st), Target::External { .. }) = (&store, &target) {
        // libhdf5 converts a symbol-table group to link messages for an external link
        store = Store::Links(convert(cx, &mut h, group, st)?);
    }
    match store {
        Store::SymbolTable(st) => symtab::insert(cx, st.btree_addr, st.heap_addr, name, target),
        Store::Links(mut info) => {
            let max_compact = match h.find(MessageType::GROUP_INFO).next() {
                Some(m) => cx
                    .decode_msg(m, group, "group info message", GroupInfo::decode)?
                    .link_phase_change
                    .map_or(8, |p| p.0),
                None => 8,
            };
            let creation_order = if info.track_order {
                // libhdf5 keeps the next value to hand out (after n links: n)
                let next = info.max_creation_index.unwrap_or(0);
                info.max_creation_index = Some(next.saturating_add(1));
                Some(next)
            } else {
                None
            };
            let target = match target {
                Target::Object { addr, .. } => LinkTarget::Hard(addr),
                Target::Soft(path) => LinkTarget::Soft(path),
                Target::External { file, path } => LinkTarget::External { file, path },
            };
            let sizes = cx.f.sizes;
            let body = link_body(sizes, name, creation_order, target)?;
            if let Some(at) = dense_addrs(&info) {
                let mut d = Dense::open(cx, Kind::Links, at)?;
                d.insert(name, &body, creation_order, 0, sizes)?;
                d.store(cx)?;
            } else if h.find(MessageType::LINK).count() >= max_compact as usize {
                // past the phase change: every link moves to dense storage
                let mut links = Vec::new();
                for m in h.find(MessageType::LINK) {
                    let l = cx.decode_msg(m, group, "link message", Link::decode)?;
                    links.push((l.name, l.creation_order, m.data.clone()));
                }
                links.push((name.to_string(), creation_order, body));
                let at = to_dense(cx, &links, info.index_order)?;
                info.heap_addr = Some(at.heap);
                info.name_index_addr = Some(at.name);
                info.order_index_addr = at.order;
                // the group is dense from this write on; then the compact copies go
                put_info(cx, &mut h, &info)?;
                while h.remove(cx, MessageType::LINK, |_| true)? {}
                return Ok(());
            } else {
                h.add(cx, MessageOut::new(MessageType::LINK.0, body))?;
            }
            if info.track_order {
                put_info(cx, &mut h, &info)?;
            }
            Ok(())
        }
    }
}

/// Whether the group at `group` has a link `name`, when that is quick to tell: a symbol
/// table's B-tree descent, or the dense store kept loaded (`None` otherwise: ask the reader,
/// which lists the few compact links).
pub(crate) fn fast_contains(cx: &mut WriteCtx<'_>, group: u64, name: &str) -> Result<Option<bool>> {
    let h = HeaderEdit::load(cx, group)?;
    let info = match store_of(cx, &h, group)? {
        Store::SymbolTable(st) => {
            // the reader's lookup: a binary search reading only the names it compares
            return Ok(Some(
                crate::read::links::symbol_table_find(cx.f, &st, name)?.is_some(),
            ));
        }
        Store::Links(info) => info,
    };
    let Some(at) = dense_addrs(&info) else {
        return Ok(None);
    };
    let d = Dense::open(cx, Kind::Links, at)?;
    let found = d.contains(name, cx.f.sizes);
    d.keep(cx);
    found.map(Some)
}

/// Where a group's dense links are, if it has them.
fn dense_addrs(info: &LinkInfo) -> Option<Addrs> {
    Some(Addrs {
        heap: info.heap_addr?,
        name: info.name_index_addr?,
        order: info.order_index_addr,
    })
}

/// Turn the symbol-table group at `group` into one kept with link messages, as libhdf5 does
/// before adding an external link: its links become link messages, the symbol table message
/// goes. (The old B-tree and local heap are left unreachable.)
fn convert(
    cx: &mut WriteCtx<'_>,
    h: &mut HeaderEdit,
    group: u64,
    st: &SymbolTable,
) -> Result<LinkInfo> {
    let sizes = cx.f.sizes;
    let mut links = Vec::new();
    for l in crate::read::links::symbol_table_links(cx.f, st)? {
        let target = match l.kind {
            crate::read::links::LinkKind::Hard(a) => LinkTarget::Hard(a),
            crate::read::links::LinkKind::Soft(p) => LinkTarget::Soft(p),
            _ => {
                return Err(Error::Unsupported(
                    "a symbol table entry that is neither a hard nor a soft link".into(),
                ))
            }
        };
        let body = link_body(sizes, &l.name, None, target)?;
        links.push((l.name, None, body));
    }
    // the new messages first (dense from the start past 8 links), then the symbol table
    // message goes
    let msgs = if links.len() > 8 {
        let at = to_dense(cx, &links, false)?;
        link_storage_messages(sizes, &untracked_info(Some(at)))
    } else {
        let mut m = link_storage_messages(sizes, &untracked_info(None));
        m.extend(
            links
                .into_iter()
                .map(|(_, _, body)| MessageOut::new(MessageType::LINK.0, body)),
        );
        m
    };
    for m in msgs {
        h.add(cx, m)?;
    }
    h.remove(cx, MessageType::SYMBOL_TABLE, |_| true)?;
    if cx.f.superblock.root_addr() == Some(group) {
        cx.st.root_uncached = true;
    }
    match store_of(cx, h, group)? {
        Store::Links(info) => Ok(info),
        Store::SymbolTable(_) => Err(Error::Unsupported("group conversion failed".into())),
    }
}

/// Remove the link `name` from the group at `group`.
pub(crate) fn remove(cx: &mut WriteCtx<'_>, group: u64, name: &str) -> Result<()> {
    let mut h = HeaderEdit::load(cx, group)?;
    match store_of(cx, &h, group)? {
        Store::SymbolTable(st) => symtab::remove(cx, st.btree_addr, st.heap_addr, name)?
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(name.to_string())),
        Store::Links(info) => {
            let sizes = cx.f.sizes;
            if let Some(at) = dense_addrs(&info) {
                let mut d = Dense::open(cx, Kind::Links, at)?;
                if !d.remove(name, sizes)? {
                    return Err(Error::NotFound(name.to_string()));
                }
                d.store(cx)?;
                return Ok(());
            }
            if h.remove(cx, MessageType::LINK, |m| {
                Link::decode(&mut Reader::new(&m.data, 0, sizes, "link message"))
                    .is_ok_and(|l| l.name == name)
            })? {
                Ok(())
            } else {
                Err(Error::NotFound(name.to_string()))
            }
        }
    }
}

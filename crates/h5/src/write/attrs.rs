//! Storing attributes: as messages in the object's header (version 1 headers always;
//! version 2 headers up to the phase change, 8 by default) or in dense storage past it and
//! for attributes too large for a header message, as libhdf5 does.

use super::dense::Addrs;
use super::dense::Dense;
use super::dense::Kind;
use super::header;
use super::header::HeaderEdit;
use super::WriteCtx;
use crate::error::Result;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::link::AttributeInfo;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;

/// The largest message body a header can hold.
const MAX_MESSAGE: usize = 0xffff - 8;

fn info_of(cx: &WriteCtx<'_>, h: &HeaderEdit, addr: u64) -> Result<AttributeInfo> {
    match h.find(MessageType::ATTRIBUTE_INFO).next() {
        Some(m) => cx.decode_msg(m, addr, "attribute info message", AttributeInfo::decode),
        None => Ok(AttributeInfo {
            track_order: h.tracks_attribute_order(),
            index_order: h.indexes_attribute_order(),
            max_creation_index: None,
            heap_addr: None,
            name_index_addr: None,
            order_index_addr: None,
        }),
    }
}

fn dense_addrs(info: &AttributeInfo) -> Option<Addrs> {
    Some(Addrs {
        heap: info.heap_addr?,
        name: info.name_index_addr?,
        order: info.order_index_addr,
    })
}

fn put_info(cx: &mut WriteCtx<'_>, h: &mut HeaderEdit, info: &AttributeInfo) -> Result<()> {
    let mut w = h5_format::Writer::new(cx.f.sizes);
    info.encode(&mut w);
    h.replace_flagged(
        cx,
        MessageType::ATTRIBUTE_INFO,
        header::DONT_SHARE,
        w.finish(),
    )
}

/// The stored message of the attribute `name` of the object at `addr`, if there is one.
fn current(cx: &mut WriteCtx<'_>, addr: u64, name: &str) -> Result<Option<Vec<u8>>> {
    let sizes = cx.f.sizes;
    let h = HeaderEdit::load(cx, addr)?;
    if h.version() == 2 {
        if let Some(at) = dense_addrs(&info_of(cx, &h, addr)?) {
            let d = Dense::open(cx, Kind::Attributes, at)?;
            let body = d.get(name, sizes)?;
            d.keep(cx);
            return Ok(body);
        }
    }
    let body = h
        .find(MessageType::ATTRIBUTE)
        .find(|m| attr_name(m, sizes).as_deref() == Some(name))
        .map(|m| m.data.clone());
    Ok(body)
}

/// Attributes whose type is a committed datatype count as references to it (libhdf5 links
/// the shared type when it stores the attribute and unlinks it when it deletes it): move
/// one reference from `old`'s type (a replaced or deleted attribute) to `new`'s.
fn recount_committed(cx: &mut WriteCtx<'_>, old: Option<&[u8]>, new: Option<&[u8]>) -> Result<()> {
    let sizes = cx.f.sizes;
    let of = |b: Option<&[u8]>| b.and_then(|b| super::enc::attribute_committed_type(sizes, b));
    let (old, new) = (of(old), of(new));
    if old != new {
        if let Some(t) = new {
            HeaderEdit::load(cx, t)?.adjust_refcount(cx, 1)?;
        }
        if let Some(t) = old {
            super::reclaim::drop_link(cx, t)?;
        }
    }
    Ok(())
}

/// Create or overwrite the attribute `name` (its encoded message `body`) on the object at
/// `addr`.
pub(crate) fn put(cx: &mut WriteCtx<'_>, addr: u64, name: &str, body: Vec<u8>) -> Result<()> {
    let old = current(cx, addr, name)?;
    store(cx, addr, name, body.clone())?;
    recount_committed(cx, old.as_deref(), Some(&body))
}

fn store(cx: &mut WriteCtx<'_>, addr: u64, name: &str, body: Vec<u8>) -> Result<()> {
    let sizes = cx.f.sizes;
    let mut h = HeaderEdit::load(cx, addr)?;
    let same = |m: &MessageOut| attr_name(m, sizes).as_deref() == Some(name);
    if h.version() == 1 {
        if h.replace_where(cx, MessageType::ATTRIBUTE, same, body.clone())? {
            return Ok(());
        }
        return h.add(cx, MessageOut::new(MessageType::ATTRIBUTE.0, body));
    }
    // Version 2 headers keep an attribute info message beside their attributes.
    let mut info = info_of(cx, &h, addr)?;
    let order = if info.track_order {
        // libhdf5 keeps the next value to hand out (after n attributes: n)
        let next = info.max_creation_index.unwrap_or(0);
        info.max_creation_index = Some(next.saturating_add(1));
        Some(next)
    } else {
        None
    };
    if let Some(at) = dense_addrs(&info) {
        let mut d = Dense::open(cx, Kind::Attributes, at)?;
        d.remove(name, sizes)?;
        d.insert(name, &body, order.map(u64::from), 0, sizes)?;
        d.store(cx)?;
        return put_info(cx, &mut h, &info);
    }
    // an overwrite is a new attribute (h5py creates it anew): with creation order tracked it
    // moves to the end, so it is not replaced in place
    if body.len() <= MAX_MESSAGE
        && !info.track_order
        && h.replace_where(cx, MessageType::ATTRIBUTE, same, body.clone())?
    {
        return Ok(());
    }
    let (max_compact, _) = h.attr_phase_change();
    let others = h
        .find(MessageType::ATTRIBUTE)
        .filter(|m| attr_name(m, sizes).as_deref() != Some(name))
        .count();
    if others >= max_compact as usize || body.len() > MAX_MESSAGE {
        // past the phase change (or too large for a message): all attributes go dense
        let mut d = Dense::create(cx.f.sizes, Kind::Attributes, info.index_order)?;
        let old: Vec<MessageOut> = h.find(MessageType::ATTRIBUTE).cloned().collect();
        for m in &old {
            let Some(n) = attr_name(m, sizes) else {
                return Err(h5_format::Error::invalid(
                    "attribute message",
                    cx.f.offset_of(addr),
                    "attribute",
                )
                .into());
            };
            if n != name {
                d.insert(&n, &m.data, m.creation_order.map(u64::from), m.flags, sizes)?;
            }
        }
        d.insert(name, &body, order.map(u64::from), 0, sizes)?;
        let at = d.store(cx)?;
        info.heap_addr = Some(at.heap);
        info.name_index_addr = Some(at.name);
        info.order_index_addr = at.order;
        // dense from this write on; then the compact copies go
        put_info(cx, &mut h, &info)?;
        while h.remove(cx, MessageType::ATTRIBUTE, |_| true)? {}
        return Ok(());
    }
    h.remove(cx, MessageType::ATTRIBUTE, same)?;
    put_info(cx, &mut h, &info)?;
    let mut m = MessageOut::new(MessageType::ATTRIBUTE.0, body);
    m.creation_order = order;
    h.add(cx, m)
}

/// Delete the attribute `name` from the object at `addr`; returns whether there was one.
pub(crate) fn delete(cx: &mut WriteCtx<'_>, addr: u64, name: &str) -> Result<bool> {
    let old = current(cx, addr, name)?;
    let found = remove(cx, addr, name)?;
    if found {
        recount_committed(cx, old.as_deref(), None)?;
    }
    Ok(found)
}

fn remove(cx: &mut WriteCtx<'_>, addr: u64, name: &str) -> Result<bool> {
    let sizes = cx.f.sizes;
    let mut h = HeaderEdit::load(cx, addr)?;
    if h.version() == 2 {
        let info = info_of(cx, &h, addr)?;
        if let Some(at) = dense_addrs(&info) {
            let mut d = Dense::open(cx, Kind::Attributes, at)?;
            let found = d.remove(name, sizes)?;
            d.store(cx)?;
            return Ok(found);
        }
    }
    h.remove(cx, MessageType::ATTRIBUTE, |m| {
        attr_name(m, sizes).as_deref() == Some(name)
    })
}

/// An attribute's dataspace for `shape` (`&[]`: scalar).
pub(crate) fn attribute_space(shape: &[u64]) -> Dataspace {
    if shape.is_empty() {
        Dataspace::scalar()
    } else {
        Dataspace::simple(shape.to_vec(), None)
    }
}

pub(crate) fn attr_name(m: &MessageOut, sizes: h5_format::Sizes) -> Option<String> {
    h5_format::message::attribute::Attribute::decode(&mut h5_format::Reader::new(
        &m.data,
        0,
        sizes,
        "attribute",
    ))
    .ok()
    .map(|a| a.name)
}

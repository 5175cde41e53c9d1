//! A header's attributes as stored: attribute messages in the header, or dense storage
//! (fractal heap + v2 B-tree name index) named by an attribute info message.

use crate::base::{message_body, resolve_dataspace, resolve_datatype, FileInner, ObjectHeader};
use crate::error::{Error, Result};
use h5_format::message::attribute::Attribute as AttrMsg;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::link::AttributeInfo;
use h5_format::message::MessageType;
use h5_format::Reader;

/// One attribute as stored: its name, type, shape and raw bytes.
#[derive(Debug, Clone)]
pub(crate) struct AttrData {
    pub(crate) name: String,
    pub(crate) dtype: Datatype,
    pub(crate) space: Dataspace,
    pub(crate) data: Vec<u8>,
    /// The committed datatype the type refers to.
    pub(crate) committed: Option<u64>,
}

/// Every attribute of the object with header `h`: in creation order when it tracks it, else
/// by name (bytewise), as h5py lists them.
pub(crate) fn all(f: &FileInner, h: &ObjectHeader) -> Result<Vec<AttrData>> {
    let mut v = load(f, h)?;
    v.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.name.as_bytes().cmp(b.1.name.as_bytes()))
    });
    Ok(v.into_iter().map(|(_, a)| a).collect())
}

/// The attribute called `name` of the object with header `h`. Attribute messages in the
/// header are compared by name alone, and only the one that matches is decoded (its type,
/// shape, data); dense storage is read whole, as [`all`] reads it. The first match in
/// [`all`]'s order when a damaged file holds the name twice.
pub(crate) fn find(f: &FileInner, h: &ObjectHeader, name: &str) -> Result<Option<AttrData>> {
    if h.find(MessageType::ATTRIBUTE_INFO).is_some() {
        return Ok(all(f, h)?.into_iter().find(|a| a.name == name));
    }
    for m in h.all(MessageType::ATTRIBUTE) {
        let (body, addr) = message_body(f, m.mtype, m.flags, &m.data, m.addr)?;
        let stored = f.dec(h5_format::message::attribute::name_bytes(&mut Reader::new(
            &body,
            addr,
            f.sizes,
            "attribute message",
        )))?;
        // as `decode` turns the name into text
        if String::from_utf8_lossy(stored) == name {
            return decode(f, &body, addr, "attribute message").map(Some);
        }
    }
    Ok(None)
}

/// (sort key, attribute): the sort key is the creation order when the object tracks it.
fn load(f: &FileInner, h: &ObjectHeader) -> Result<Vec<(u64, AttrData)>> {
    let mut out = Vec::new();
    let mut tracked = false;
    if let Some(m) = h.find(MessageType::ATTRIBUTE_INFO) {
        let ai = f.dec(AttributeInfo::decode(
            &mut m.reader(f, "attribute info message"),
        ))?;
        tracked = ai.track_order;
        if let (Some(heap), Some(bt)) = (ai.heap_addr, ai.name_index_addr) {
            let heap = crate::base::dense::FractalHeap::open(f, heap)?;
            for rec in crate::base::dense::btree2_records(f, bt, &Default::default())? {
                let (id, order, flags) = match rec {
                    h5_format::btree2::Record::AttributeName {
                        heap_id,
                        creation_order,
                        flags,
                        ..
                    } => (heap_id, creation_order, flags),
                    _ => {
                        return Err(h5_format::Error::invalid(
                            "v2 B-tree",
                            f.offset_of(bt),
                            "record type for an attribute name index",
                        )
                        .into())
                    }
                };
                let (body, addr) = heap.object(f, &id)?;
                let (body, addr) = message_body(f, MessageType::ATTRIBUTE, flags, &body, addr)?;
                let a = decode(f, &body, addr, "attribute message (dense)")?;
                out.push((if tracked { order as u64 } else { 0 }, a));
            }
        }
    }
    for m in h.all(MessageType::ATTRIBUTE) {
        let (body, addr) = message_body(f, m.mtype, m.flags, &m.data, m.addr)?;
        let a = decode(f, &body, addr, "attribute message")?;
        let key = if tracked {
            m.creation_order.unwrap_or(0) as u64
        } else {
            0
        };
        out.push((key, a));
    }
    Ok(out)
}

fn decode(f: &FileInner, body: &[u8], addr: u64, structure: &'static str) -> Result<AttrData> {
    let msg = f.dec(AttrMsg::decode(&mut Reader::new(
        body, addr, f.sizes, structure,
    )))?;
    let committed = match &msg.datatype {
        h5_format::message::attribute::MaybeShared::Shared(
            h5_format::message::shared::Shared::ObjectHeader(a),
        ) => Some(*a),
        _ => None,
    };
    let dtype = resolve_datatype(f, msg.datatype)?;
    let space = resolve_dataspace(f, msg.dataspace)?;
    let n = space
        .num_elements()
        .checked_mul(dtype.size())
        .ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                structure,
                f.offset_of(addr),
                "attribute size",
            ))
        })?;
    let data = msg.data.get(..n as usize).ok_or_else(|| {
        Error::from(h5_format::Error::new(
            structure,
            f.offset_of(addr),
            h5_format::ErrorKind::Truncated,
        ))
    })?;
    Ok(AttrData {
        name: msg.name,
        dtype,
        space,
        data: data.to_vec(),
        committed,
    })
}

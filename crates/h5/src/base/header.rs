//! Object headers as loaded from the file — all chunks followed, messages owned — and message
//! bodies wherever they live: in the header, in another object's header (shared), or in the
//! shared-message heap (spec III.F: messages stored once and referenced by heap ID).

use super::dense::FractalHeap;
use super::FileInner;
use crate::error::{Error, Result};
use h5_format::message::attribute::MaybeShared;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::misc::Continuation;
use h5_format::message::shared::Shared;
use h5_format::message::{MessageType, FLAG_FAIL_IF_UNKNOWN, FLAG_SHARED};
use h5_format::object_header::{decode_chunk, ChunkKind, Prefix, RawMessage, MAX_PREFIX_LEN};
use h5_format::Reader;
use std::borrow::Cow;
use std::collections::HashSet;

/// One header message, owned.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) mtype: MessageType,
    pub(crate) flags: u8,
    pub(crate) creation_order: Option<u16>,
    pub(crate) data: Vec<u8>,
    pub(crate) addr: u64,
}

impl Message {
    pub(crate) fn reader<'a>(&'a self, f: &FileInner, structure: &'static str) -> Reader<'a> {
        Reader::new(&self.data, self.addr, f.sizes, structure)
    }
    pub(crate) fn is_shared(&self) -> bool {
        self.flags & FLAG_SHARED != 0
    }
}

/// A whole object header.
#[derive(Debug, Clone)]
pub(crate) struct ObjectHeader {
    pub(crate) addr: u64,
    pub(crate) messages: Vec<Message>,
}

impl ObjectHeader {
    pub(crate) fn load(f: &FileInner, addr: u64) -> Result<ObjectHeader> {
        let mut messages = Vec::new();
        walk(f, addr, |_, chunk| {
            for m in chunk.messages {
                let mtype = MessageType(m.mtype);
                if !mtype.is_known() && m.flags & FLAG_FAIL_IF_UNKNOWN != 0 {
                    return Err(Error::Unsupported(format!(
                        "object header at {:#x} holds unknown message type {:#x} marked \"fail if unknown\"",
                        f.offset_of(addr),
                        m.mtype
                    )));
                }
                if mtype == MessageType::NIL || mtype == MessageType::CONTINUATION {
                    continue;
                }
                messages.push(Message {
                    mtype,
                    flags: m.flags,
                    creation_order: m.creation_order,
                    data: m.data.to_vec(),
                    addr: m.addr,
                });
            }
            Ok(())
        })?;
        Ok(ObjectHeader { addr, messages })
    }

    /// The message of type `t` the object must have; `what` names its absence in the error.
    pub(crate) fn required(
        &self,
        f: &FileInner,
        t: MessageType,
        what: &'static str,
    ) -> Result<&Message> {
        self.find(t).ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                f.offset_of(self.addr),
                what,
            ))
        })
    }

    pub(crate) fn find(&self, t: MessageType) -> Option<&Message> {
        self.messages.iter().find(|m| m.mtype == t)
    }

    pub(crate) fn all(&self, t: MessageType) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(move |m| m.mtype == t)
    }
}

/// One chunk of an object header as [`walk`] reads it.
pub(crate) struct Chunk<'a> {
    pub(crate) addr: u64,
    /// Bytes read for the chunk (the first: prefix included).
    pub(crate) len: u64,
    pub(crate) kind: ChunkKind,
    /// Every message in the chunk, continuations and NIL messages included.
    pub(crate) messages: Vec<RawMessage<'a>>,
}

/// Bytes read with an object header's prefix: a first chunk that fits is not read again.
const FIRST_READ: usize = 512;

/// Walk the object header at `addr`: decode its prefix, then each chunk in the order the
/// continuation messages name them (depth first, in order of appearance), handing each to
/// `visit` with the prefix. The one header walker: a continuation naming a chunk already
/// read is a cycle, and more chunks than `Limits::max_header_chunks` an error.
pub(crate) fn walk(
    f: &FileInner,
    addr: u64,
    mut visit: impl FnMut(&Prefix, Chunk<'_>) -> Result<()>,
) -> Result<Prefix> {
    // the prefix and, when it is small (most are), the whole first chunk in one read
    let pbuf = f.read_upto(addr, FIRST_READ.max(MAX_PREFIX_LEN) as u64, "object header")?;
    let prefix = f.dec(Prefix::decode(&pbuf, addr, f.sizes))?;
    let total = prefix.chunk0_total().ok_or_else(|| {
        Error::from(h5_format::Error::invalid(
            "object header",
            f.offset_of(addr),
            "chunk size",
        ))
    })?;
    let mut seen = HashSet::new();
    seen.insert(addr);
    let mut queue = vec![(addr, total, ChunkKind::First)];
    let mut chunks = 0usize;
    while let Some((caddr, len, kind)) = queue.pop() {
        chunks += 1;
        if chunks > f.limits.max_header_chunks {
            return Err(h5_format::Error::limit(
                "object header",
                f.offset_of(addr),
                "continuation chunks",
                chunks as u64,
                f.limits.max_header_chunks as u64,
            )
            .into());
        }
        let buf = match pbuf.get(..len as usize) {
            Some(first) if caddr == addr && len <= FIRST_READ as u64 => Cow::Borrowed(first),
            _ => Cow::Owned(f.read_meta(caddr, len, "object header")?),
        };
        let raw = f.dec(decode_chunk(&buf, caddr, f.sizes, &prefix, kind))?;
        let mut conts = Vec::new();
        for m in &raw {
            if MessageType(m.mtype) == MessageType::CONTINUATION {
                let mut r = Reader::new(m.data, m.addr, f.sizes, "continuation message");
                let c = f.dec(Continuation::decode(&mut r))?;
                if !seen.insert(c.addr) {
                    return Err(h5_format::Error::new(
                        "object header continuation",
                        f.offset_of(m.addr),
                        h5_format::ErrorKind::Cycle,
                    )
                    .into());
                }
                conts.push((c.addr, c.length, ChunkKind::Continuation));
            }
        }
        visit(
            &prefix,
            Chunk {
                addr: caddr,
                len,
                kind,
                messages: raw,
            },
        )?;
        // Continuations are read in the order they appear.
        conts.reverse();
        queue.extend(conts);
    }
    Ok(prefix)
}

/// What kind of object a header describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A group.
    Group,
    /// A dataset.
    Dataset,
    /// A committed (named) datatype.
    Datatype,
}

impl ObjectKind {
    /// What a header describes, by its messages (as libhdf5 tells them apart).
    pub(crate) fn of(h: &ObjectHeader) -> ObjectKind {
        if h.find(MessageType::LAYOUT).is_some() {
            ObjectKind::Dataset
        } else if h.find(MessageType::SYMBOL_TABLE).is_some()
            || h.find(MessageType::LINK_INFO).is_some()
            || h.find(MessageType::LINK).is_some()
            || h.find(MessageType::GROUP_INFO).is_some()
        {
            ObjectKind::Group
        } else if h.find(MessageType::DATATYPE).is_some()
            && h.find(MessageType::DATASPACE).is_none()
        {
            ObjectKind::Datatype
        } else {
            ObjectKind::Group
        }
    }
}

/// The body of a message of type `t` that is shared: fetch it from where it lives.
pub(crate) fn shared_body(f: &FileInner, s: &Shared, t: MessageType) -> Result<(Vec<u8>, u64)> {
    match s {
        Shared::ObjectHeader(addr) => {
            let h = ObjectHeader::load(f, *addr)?;
            let m = h.find(t).ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "object header",
                    f.offset_of(*addr),
                    "shared message target lacks the message",
                ))
            })?;
            if m.is_shared() {
                return Err(h5_format::Error::invalid(
                    "object header",
                    f.offset_of(*addr),
                    "shared message refers to another shared message",
                )
                .into());
            }
            Ok((m.data.clone(), m.addr))
        }
        Shared::Heap(id) => sohm_lookup(f, t, id),
    }
}

/// A message's body and its file address, fetched from where it lives when the message is
/// shared (committed object header or shared-message heap).
pub(crate) fn message_body(
    f: &FileInner,
    mtype: MessageType,
    flags: u8,
    data: &[u8],
    addr: u64,
) -> Result<(Vec<u8>, u64)> {
    if flags & h5_format::message::FLAG_SHARED != 0 {
        let s = f.dec(Shared::decode(&mut Reader::new(
            data,
            addr,
            f.sizes,
            "shared message",
        )))?;
        return shared_body(f, &s, mtype);
    }
    Ok((data.to_vec(), addr))
}

/// Decode message `m` with `decode`, following a shared reference first.
pub(crate) fn decode_message<T>(
    f: &FileInner,
    m: &Message,
    structure: &'static str,
    decode: impl FnOnce(&mut Reader<'_>) -> h5_format::Result<T>,
) -> Result<T> {
    let (body, addr) = message_body(f, m.mtype, m.flags, &m.data, m.addr)?;
    f.dec(decode(&mut Reader::new(&body, addr, f.sizes, structure)))
}

pub(crate) fn decode_datatype_message(f: &FileInner, m: &Message) -> Result<Datatype> {
    decode_message(f, m, "datatype message", Datatype::decode)
}

pub(crate) fn decode_dataspace_message(f: &FileInner, m: &Message) -> Result<Dataspace> {
    decode_message(f, m, "dataspace message", Dataspace::decode)
}

/// Resolve a possibly shared datatype from an attribute message.
pub(crate) fn resolve_datatype(f: &FileInner, d: MaybeShared<Datatype>) -> Result<Datatype> {
    match d {
        MaybeShared::Inline(t) => Ok(t),
        MaybeShared::Shared(s) => {
            let (body, addr) = shared_body(f, &s, MessageType::DATATYPE)?;
            f.dec(Datatype::decode(&mut Reader::new(
                &body,
                addr,
                f.sizes,
                "datatype message",
            )))
        }
    }
}

/// Resolve a possibly shared dataspace from an attribute message.
pub(crate) fn resolve_dataspace(f: &FileInner, d: MaybeShared<Dataspace>) -> Result<Dataspace> {
    match d {
        MaybeShared::Inline(t) => Ok(t),
        MaybeShared::Shared(s) => {
            let (body, addr) = shared_body(f, &s, MessageType::DATASPACE)?;
            f.dec(Dataspace::decode(&mut Reader::new(
                &body,
                addr,
                f.sizes,
                "dataspace message",
            )))
        }
    }
}

/// The body of a message of type `t` stored in the shared-message heap under `id`.
fn sohm_lookup(f: &FileInner, t: MessageType, id: &[u8; 8]) -> Result<(Vec<u8>, u64)> {
    let ext = f.superblock.extension_addr.ok_or_else(|| {
        Error::from(h5_format::Error::invalid(
            "superblock",
            f.base,
            "shared message without a superblock extension",
        ))
    })?;
    let eh = ObjectHeader::load(f, ext)?;
    let m = eh.find(MessageType::SHARED_MESSAGE_TABLE).ok_or_else(|| {
        Error::from(h5_format::Error::invalid(
            "superblock extension",
            f.offset_of(ext),
            "no shared message table",
        ))
    })?;
    let mut r = m.reader(f, "shared message table message");
    f.dec(r.version(&[0]))?;
    let table = f.dec(r.defined_offset("shared message table address"))?;
    let n = f.dec(r.u8())? as u64;
    let o = f.sizes.offset as u64;
    let len = 4 + n * (14 + 2 * o) + 4;
    let buf = f.read_meta(table, len, "shared message table")?;
    // Verify the checksum (the table's last 4 bytes) before trusting any entry.
    let mut ck = Reader::new(&buf, table, f.sizes, "shared message table");
    f.dec(ck.seek(buf.len() - 4))?;
    f.dec(ck.checksum(0))?;
    let mut r = Reader::new(&buf, table, f.sizes, "shared message table");
    f.dec(r.signature(b"SMTB"))?;
    for _ in 0..n {
        f.dec(r.version(&[0]))?;
        let _index_type = f.dec(r.u8())?;
        let types = f.dec(r.u16())?;
        f.dec(r.skip(4 + 2 + 2 + 2))?;
        let _index = f.dec(r.offset())?;
        let heap = f.dec(r.offset())?;
        if t.0 < 16 && types & (1 << t.0) != 0 {
            let heap = heap.ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "shared message table",
                    f.offset_of(table),
                    "heap address",
                ))
            })?;
            return FractalHeap::open(f, heap)?.object(f, id);
        }
    }
    Err(h5_format::Error::invalid(
        "shared message table",
        f.offset_of(table),
        "no index for the message type",
    )
    .into())
}

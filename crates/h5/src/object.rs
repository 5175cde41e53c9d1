//! Object headers as loaded from the file: all chunks followed, messages owned.

use crate::error::{Error, Result};
use crate::file::{File, FileInner};
use h5_format::message::attribute::MaybeShared;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::misc::Continuation;
use h5_format::message::shared::Shared;
use h5_format::message::{MessageType, FLAG_FAIL_IF_UNKNOWN, FLAG_SHARED};
use h5_format::object_header::{decode_chunk, ChunkKind, Prefix, MAX_PREFIX_LEN};
use h5_format::Reader;
use std::collections::HashSet;
use std::sync::Arc;

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
        let pbuf = f.read_upto(addr, MAX_PREFIX_LEN as u64, "object header")?;
        let prefix = f.dec(Prefix::decode(&pbuf, addr, f.sizes))?;
        let total = prefix.chunk0_total().ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                f.offset_of(addr),
                "chunk size",
            ))
        })?;
        let mut messages = Vec::new();
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
            let buf = f.read_meta(caddr, len, "object header")?;
            let raw = f.dec(decode_chunk(&buf, caddr, f.sizes, &prefix, kind))?;
            let mut conts = Vec::new();
            for m in raw {
                let mtype = MessageType(m.mtype);
                if mtype == MessageType::CONTINUATION {
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
                    continue;
                }
                if !mtype.is_known() && m.flags & FLAG_FAIL_IF_UNKNOWN != 0 {
                    return Err(Error::Unsupported(format!(
                        "object header at {:#x} holds unknown message type {:#x} marked \"fail if unknown\"",
                        f.offset_of(addr),
                        m.mtype
                    )));
                }
                if mtype == MessageType::NIL {
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
            // Continuations are read in the order they appear.
            conts.reverse();
            queue.extend(conts);
        }
        Ok(ObjectHeader { addr, messages })
    }

    pub(crate) fn find(&self, t: MessageType) -> Option<&Message> {
        self.messages.iter().find(|m| m.mtype == t)
    }

    pub(crate) fn all(&self, t: MessageType) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(move |m| m.mtype == t)
    }
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

/// An object in a file: its header, loaded once, and the path it was reached by.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) file: File,
    pub(crate) path: String,
    pub(crate) header: Arc<ObjectHeader>,
}

impl Object {
    pub(crate) fn load(file: &File, addr: u64, path: &str) -> Result<Object> {
        let header = ObjectHeader::load(&file.inner, addr).map_err(|e| e.at(path))?;
        Ok(Object {
            file: file.clone(),
            path: path.to_string(),
            header: Arc::new(header),
        })
    }

    /// The header as it is now: the one loaded at open, or — in a file open for writing,
    /// where it may have changed since — loaded again.
    pub(crate) fn header_now(&self) -> Result<Arc<ObjectHeader>> {
        if self.file.inner.write.is_none() {
            return Ok(self.header.clone());
        }
        let h = ObjectHeader::load(&self.file.inner, self.addr()).map_err(|e| e.at(&self.path))?;
        Ok(Arc::new(h))
    }

    pub(crate) fn f(&self) -> &FileInner {
        &self.file.inner
    }

    pub(crate) fn addr(&self) -> u64 {
        self.header.addr
    }

    pub(crate) fn kind(&self) -> ObjectKind {
        let h = &self.header;
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

    /// The datatype message, following a shared reference.
    pub(crate) fn datatype(&self) -> Result<Datatype> {
        let m = self.header.find(MessageType::DATATYPE).ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                self.f().offset_of(self.addr()),
                "missing datatype message",
            ))
        })?;
        decode_datatype_message(self.f(), m)
    }

    /// The header address of the committed datatype this object's type refers to, if any.
    pub(crate) fn committed_type(&self) -> Result<Option<u64>> {
        let Some(m) = self.header.find(MessageType::DATATYPE) else {
            return Ok(None);
        };
        if !m.is_shared() {
            return Ok(None);
        }
        let s = self
            .f()
            .dec(Shared::decode(&mut m.reader(self.f(), "shared message")))?;
        Ok(match s {
            Shared::ObjectHeader(a) => Some(a),
            Shared::Heap(_) => None,
        })
    }

    /// The dataspace message, following a shared reference.
    pub(crate) fn dataspace(&self) -> Result<Dataspace> {
        let m = self.header.find(MessageType::DATASPACE).ok_or_else(|| {
            Error::from(h5_format::Error::invalid(
                "object header",
                self.f().offset_of(self.addr()),
                "missing dataspace message",
            ))
        })?;
        decode_dataspace_message(self.f(), m)
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
        Shared::Heap(id) => crate::sohm::lookup(f, t, id),
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

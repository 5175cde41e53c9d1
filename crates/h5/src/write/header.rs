//! Object headers for writing (version 1, the default profile): create one with room to
//! grow, then add, replace and remove messages; a full header continues in a new chunk.

use super::WriteCtx;
use crate::error::{Error, Result};
use h5_format::message::misc::Continuation;
use h5_format::message::MessageType;
use h5_format::object_header::{self as oh, ChunkKind, MessageOut, Prefix, MAX_PREFIX_LEN};

/// Smallest continuation chunk.
const MIN_CHUNK: usize = 256;
/// A v1 continuation message: 8-byte message header + address + length.
fn continuation_len(cx: &WriteCtx<'_>) -> usize {
    oh::v1_message_len(cx.f.sizes.offset as usize + cx.f.sizes.length as usize)
}

/// One chunk of a header being edited.
#[derive(Debug, Clone)]
struct Chunk {
    addr: u64,
    /// Bytes for messages (v1 chunk 0: after the 16-byte prefix).
    size: usize,
    /// The messages in it, NIL messages dropped (they are re-created from free space).
    msgs: Vec<MessageOut>,
}

impl Chunk {
    fn used(&self) -> usize {
        self.msgs
            .iter()
            .map(|m| oh::v1_message_len(m.data.len()))
            .sum()
    }
    fn free(&self) -> usize {
        self.size - self.used()
    }
}

/// An object header loaded for editing.
#[derive(Debug, Clone)]
pub(crate) struct HeaderEdit {
    refcount: u32,
    chunks: Vec<Chunk>,
}

/// Write a new version-1 header holding `msgs` and `spare` free bytes; returns its address.
pub(crate) fn create(cx: &mut WriteCtx<'_>, msgs: Vec<MessageOut>, spare: usize) -> Result<u64> {
    let used: usize = msgs.iter().map(|m| oh::v1_message_len(m.data.len())).sum();
    let size = (used + spare).div_ceil(8) * 8;
    let addr = cx.alloc(16 + size as u64)?;
    let h = HeaderEdit {
        refcount: 1,
        chunks: vec![Chunk { addr, size, msgs }],
    };
    h.store(cx, 0)?;
    Ok(addr)
}

impl HeaderEdit {
    /// Load the header at `addr` (version 1 only, for now).
    pub(crate) fn load(cx: &WriteCtx<'_>, addr: u64) -> Result<HeaderEdit> {
        let f = cx.f;
        let pbuf = f.read_upto(addr, MAX_PREFIX_LEN as u64, "object header")?;
        let prefix = f.dec(Prefix::decode(&pbuf, addr, f.sizes))?;
        if prefix.version != 1 {
            return Err(Error::Unsupported(
                "editing version 2 object headers (files written with libver='latest')".into(),
            ));
        }
        let mut chunks = Vec::new();
        let mut todo = vec![(addr, prefix.chunk0_total().unwrap_or(16), ChunkKind::First)];
        while let Some((caddr, len, kind)) = todo.pop() {
            if chunks.len() > f.limits.max_header_chunks {
                return Err(h5_format::Error::new(
                    "object header",
                    f.offset_of(addr),
                    h5_format::ErrorKind::Cycle,
                )
                .into());
            }
            let buf = f.read_meta(caddr, len, "object header")?;
            let raw = f.dec(oh::decode_chunk(&buf, caddr, f.sizes, &prefix, kind))?;
            let mut msgs = Vec::new();
            for m in raw {
                if m.mtype == MessageType::NIL.0 {
                    continue;
                }
                if m.mtype == MessageType::CONTINUATION.0 {
                    let c = f.dec(Continuation::decode(&mut h5_format::Reader::new(
                        m.data,
                        m.addr,
                        f.sizes,
                        "continuation",
                    )))?;
                    todo.push((c.addr, c.length, ChunkKind::Continuation));
                }
                msgs.push(MessageOut {
                    mtype: m.mtype,
                    flags: m.flags,
                    creation_order: None,
                    data: m.data.to_vec(),
                });
            }
            let size = if kind == ChunkKind::First {
                len as usize - 16
            } else {
                len as usize
            };
            chunks.push(Chunk {
                addr: caddr,
                size,
                msgs,
            });
        }
        Ok(HeaderEdit {
            refcount: prefix.refcount,
            chunks,
        })
    }

    /// Change the object's reference count (the number of hard links to it) by `delta`;
    /// returns the new count.
    pub(crate) fn adjust_refcount(&mut self, cx: &mut WriteCtx<'_>, delta: i64) -> Result<u32> {
        let n = (self.refcount as i64 + delta).clamp(0, u32::MAX as i64) as u32;
        self.refcount = n;
        self.store(cx, 0)?;
        Ok(n)
    }

    /// Messages of a type (in header order).
    pub(crate) fn find(&self, t: MessageType) -> impl Iterator<Item = &MessageOut> {
        self.chunks
            .iter()
            .flat_map(|c| c.msgs.iter())
            .filter(move |m| m.mtype == t.0)
    }

    /// Total messages including one NIL per chunk with free space (v1 prefix field).
    fn nmessages(&self) -> u16 {
        self.chunks
            .iter()
            .map(|c| c.msgs.len() + usize::from(c.free() > 0))
            .sum::<usize>() as u16
    }

    /// Re-encode chunk `i` and write it where it is.
    fn store(&self, cx: &mut WriteCtx<'_>, i: usize) -> Result<()> {
        let c = &self.chunks[i];
        let bytes = if i == 0 {
            oh::encode_v1(self.nmessages(), self.refcount, &c.msgs, c.size, cx.f.sizes)
        } else {
            oh::encode_v1_continuation(&c.msgs, c.size, cx.f.sizes)
        }
        .map_err(Error::Format)?;
        cx.write(c.addr, &bytes)
    }

    /// Newest chunk first: a continuation message never names a chunk not yet written.
    fn store_all(&self, cx: &mut WriteCtx<'_>) -> Result<()> {
        (0..self.chunks.len())
            .rev()
            .try_for_each(|i| self.store(cx, i))
    }

    /// Add a message, continuing the header in a new chunk when no chunk has room.
    pub(crate) fn add(&mut self, cx: &mut WriteCtx<'_>, msg: MessageOut) -> Result<()> {
        let need = oh::v1_message_len(msg.data.len());
        if need > u16::MAX as usize {
            return Err(Error::Shape(format!(
                "a header message of {} bytes is too large for this format (h5py: \"object header message is too large\")",
                msg.data.len()
            )));
        }
        if let Some(i) = self.chunks.iter().position(|c| c.free() >= need) {
            self.chunks[i].msgs.push(msg);
            // chunk 0 holds the message count: rewrite it too
            self.store(cx, i)?;
            if i != 0 {
                self.store(cx, 0)?;
            }
            return Ok(());
        }
        // Make room for a continuation message in the last chunk by moving messages out.
        let clen = continuation_len(cx);
        let last = self.chunks.len() - 1;
        let mut moved = Vec::new();
        while self.chunks[last].free() < clen {
            match self.chunks[last].msgs.pop() {
                Some(m) => moved.insert(0, m),
                None => {
                    return Err(Error::Unsupported(
                        "object header chunk too small to continue".into(),
                    ))
                }
            }
        }
        moved.push(msg);
        let used: usize = moved.iter().map(|m| oh::v1_message_len(m.data.len())).sum();
        let size = (used + clen).max(MIN_CHUNK).div_ceil(8) * 8;
        let addr = cx.alloc(size as u64)?;
        self.chunks[last].msgs.push(MessageOut {
            mtype: MessageType::CONTINUATION.0,
            flags: 0,
            creation_order: None,
            data: oh::encode_continuation(addr, size as u64, cx.f.sizes),
        });
        self.chunks.push(Chunk {
            addr,
            size,
            msgs: moved,
        });
        self.store_all(cx)
    }

    /// Remove the first message of type `t` for which `pick` is true. Returns whether one was.
    pub(crate) fn remove(
        &mut self,
        cx: &mut WriteCtx<'_>,
        t: MessageType,
        pick: impl Fn(&MessageOut) -> bool,
    ) -> Result<bool> {
        for i in 0..self.chunks.len() {
            if let Some(k) = self.chunks[i]
                .msgs
                .iter()
                .position(|m| m.mtype == t.0 && pick(m))
            {
                self.chunks[i].msgs.remove(k);
                self.store(cx, i)?;
                if i != 0 {
                    self.store(cx, 0)?;
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Replace the first message of type `t` (or add it when there is none).
    pub(crate) fn replace(
        &mut self,
        cx: &mut WriteCtx<'_>,
        t: MessageType,
        data: Vec<u8>,
    ) -> Result<()> {
        for i in 0..self.chunks.len() {
            if let Some(k) = self.chunks[i].msgs.iter().position(|m| m.mtype == t.0) {
                let old = oh::v1_message_len(self.chunks[i].msgs[k].data.len());
                if oh::v1_message_len(data.len()) <= old + self.chunks[i].free() {
                    self.chunks[i].msgs[k].data = data;
                    return self.store(cx, i);
                }
                let flags = self.chunks[i].msgs[k].flags;
                self.chunks[i].msgs.remove(k);
                self.store(cx, i)?;
                return self.add(
                    cx,
                    MessageOut {
                        mtype: t.0,
                        flags,
                        creation_order: None,
                        data,
                    },
                );
            }
        }
        self.add(
            cx,
            MessageOut {
                mtype: t.0,
                flags: 0,
                creation_order: None,
                data,
            },
        )
    }
}

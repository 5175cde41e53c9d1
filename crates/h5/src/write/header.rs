//! Object headers for writing, version 1 (the default profile) and version 2 (libver
//! latest, and any v2 header of a file being edited): create one with room to grow, then add,
//! replace and remove messages; a full header continues in a new chunk.

use super::{LibVer, WriteCtx};
use crate::base::walk;
use crate::error::{Error, Result};
use h5_format::message::MessageType;
use h5_format::object_header::{self as oh, ChunkKind, MessageOut, V2_CONTINUATION_OVERHEAD};

/// Smallest continuation chunk (message bytes): libhdf5's `H5O_MIN_SIZE`. A new chunk holds
/// just what moves into it; it grows in place while the space after it is free.
const MIN_CHUNK: usize = 22;

/// Message flag bit 2: the message must not be shared (libhdf5 sets it on the attribute
/// info and reference count messages).
pub(crate) const DONT_SHARE: u8 = 0x04;

/// One chunk of a header being edited.
#[derive(Debug, Clone)]
struct Chunk {
    addr: u64,
    /// Bytes for messages (chunk 0: after the prefix; a v2 continuation chunk: without `OCHK`
    /// and the checksum).
    size: usize,
    /// The messages in it, NIL messages dropped (they are re-created from free space).
    msgs: Vec<MessageOut>,
}

/// The version-specific part of a header.
#[derive(Debug, Clone, Copy)]
enum Form {
    V1,
    V2 {
        flags: u8,
        times: Option<[u32; 4]>,
        phase: Option<(u16, u16)>,
    },
}

impl Form {
    fn track_order(self) -> bool {
        matches!(self, Form::V2 { flags, .. } if flags & 0x04 != 0)
    }
    fn msg_len(self, data_len: usize) -> usize {
        match self {
            Form::V1 => oh::v1_message_len(data_len),
            Form::V2 { .. } => oh::v2_message_len(data_len, self.track_order()),
        }
    }
}

/// An object header loaded for editing.
#[derive(Debug, Clone)]
pub(crate) struct HeaderEdit {
    form: Form,
    refcount: u32,
    chunks: Vec<Chunk>,
}

impl HeaderEdit {
    fn used(&self, i: usize) -> usize {
        self.chunks[i]
            .msgs
            .iter()
            .map(|m| self.form.msg_len(m.data.len()))
            .sum()
    }
    fn free(&self, i: usize) -> usize {
        self.chunks[i].size.saturating_sub(self.used(i))
    }
    /// Header version (1 or 2).
    pub(crate) fn version(&self) -> u8 {
        match self.form {
            Form::V1 => 1,
            Form::V2 { .. } => 2,
        }
    }
    /// The file space of every chunk, as `(address, size)`.
    pub(crate) fn extents(&self) -> Vec<(u64, u64)> {
        self.chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let extra = match (self.form, i) {
                    (Form::V1, 0) => oh::V1_PREFIX_LEN,
                    (Form::V1, _) => 0,
                    (Form::V2 { flags, .. }, 0) => oh::v2_prefix_len(flags) + 4,
                    (Form::V2 { .. }, _) => V2_CONTINUATION_OVERHEAD,
                };
                (c.addr, (c.size + extra) as u64)
            })
            .collect()
    }
    /// Whether attribute creation order is tracked (v2 flag bit 2).
    pub(crate) fn tracks_attribute_order(&self) -> bool {
        self.form.track_order()
    }
    /// Whether attribute creation order is indexed (v2 flag bit 3).
    pub(crate) fn indexes_attribute_order(&self) -> bool {
        matches!(self.form, Form::V2 { flags, .. } if flags & 0x08 != 0)
    }
    /// Attribute phase change (max compact, min dense): stored in v2 headers, else libhdf5's
    /// defaults.
    pub(crate) fn attr_phase_change(&self) -> (u16, u16) {
        match self.form {
            Form::V2 { phase: Some(p), .. } => p,
            _ => (8, 6),
        }
    }
}

/// Write a new header holding `msgs` with a message area of at least `min_area` bytes (libhdf5
/// gives datasets 256, version-2 groups 120); returns its address. Version 1 in the default
/// profile, version 2 in libver latest.
pub(crate) fn create(cx: &mut WriteCtx<'_>, msgs: Vec<MessageOut>, min_area: usize) -> Result<u64> {
    create_with(cx, msgs, min_area, false)
}

/// [`create`], with attribute creation order tracked and indexed when `track_order` (h5py's
/// `track_order=True`): always a version 2 header (flags bits 2 and 3), in every profile, as
/// libhdf5 writes it.
pub(crate) fn create_with(
    cx: &mut WriteCtx<'_>,
    msgs: Vec<MessageOut>,
    min_area: usize,
    track_order: bool,
) -> Result<u64> {
    let order_flags = if track_order { 0x04 | 0x08 } else { 0 };
    let form = match cx.st.libver {
        LibVer::Earliest if !track_order => Form::V1,
        _ => Form::V2 {
            flags: order_flags,
            times: None,
            phase: None,
        },
    };
    let used: usize = msgs.iter().map(|m| form.msg_len(m.data.len())).sum();
    // room for a continuation message at least, so the header can always grow
    let sizes = cx.f.sizes;
    let min_area = min_area.max(form.msg_len(sizes.offset as usize + sizes.length as usize));
    let (form, size, prefix) = match form {
        Form::V1 => (form, used.max(min_area).div_ceil(8) * 8, oh::V1_PREFIX_LEN),
        Form::V2 { times, phase, .. } => {
            let size = used.max(min_area);
            let flags = oh::v2_size_flags(size as u64) | order_flags;
            (
                Form::V2 {
                    flags,
                    times,
                    phase,
                },
                size,
                oh::v2_prefix_len(flags) + 4,
            )
        }
    };
    let addr = cx.alloc((prefix + size) as u64)?;
    let h = HeaderEdit {
        form,
        refcount: 1,
        chunks: vec![Chunk { addr, size, msgs }],
    };
    h.store(cx, 0)?;
    Ok(addr)
}

impl HeaderEdit {
    /// Load the header at `addr`.
    pub(crate) fn load(cx: &WriteCtx<'_>, addr: u64) -> Result<HeaderEdit> {
        if cx.st.dead.contains(&addr) {
            return Err(Error::NotFound(format!(
                "the object at {addr:#x} was deleted (its last link removed) in this session"
            )));
        }
        let f = cx.f;
        let mut refcount = None;
        let mut chunks = Vec::new();
        let prefix = walk(f, addr, |prefix, chunk| {
            let mut msgs = Vec::new();
            for m in &chunk.messages {
                if m.mtype == MessageType::NIL.0 {
                    continue;
                }
                if m.mtype == MessageType::REFCOUNT.0 && prefix.version == 2 {
                    let r = h5_format::Reader::new(m.data, m.addr, f.sizes, "header message");
                    refcount = Some(f.dec(h5_format::message::misc::decode_refcount(
                        &mut r.structure("reference count message"),
                    ))?);
                }
                msgs.push(MessageOut::from_raw(m));
            }
            let size = match (chunk.kind, prefix.version) {
                (ChunkKind::First, _) => prefix.chunk0_size as usize,
                (ChunkKind::Continuation, 1) => chunk.len as usize,
                (ChunkKind::Continuation, _) => {
                    (chunk.len as usize).saturating_sub(V2_CONTINUATION_OVERHEAD)
                }
            };
            chunks.push(Chunk {
                addr: chunk.addr,
                size,
                msgs,
            });
            Ok(())
        })?;
        let form = if prefix.version == 1 {
            Form::V1
        } else {
            Form::V2 {
                flags: prefix.flags,
                times: prefix.times,
                phase: prefix.attr_phase_change,
            }
        };
        let refcount = refcount.unwrap_or(prefix.refcount);
        Ok(HeaderEdit {
            form,
            refcount,
            chunks,
        })
    }

    /// Change the object's reference count (the number of hard links to it) by `delta`;
    /// returns the new count. Version 2 headers keep it in a reference count message, present
    /// only while the count is above 1.
    pub(crate) fn adjust_refcount(&mut self, cx: &mut WriteCtx<'_>, delta: i64) -> Result<u32> {
        let n = (self.refcount as i64 + delta).clamp(0, u32::MAX as i64) as u32;
        self.refcount = n;
        match self.form {
            Form::V1 => self.store(cx, 0)?,
            Form::V2 { .. } if n > 1 => {
                let mut w = h5_format::Writer::new(cx.f.sizes);
                h5_format::message::misc::encode_refcount(n, &mut w);
                self.replace_flagged(cx, MessageType::REFCOUNT, DONT_SHARE, w.finish())?
            }
            Form::V2 { .. } => {
                self.remove(cx, MessageType::REFCOUNT, |_| true)?;
            }
        }
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
        (0..self.chunks.len())
            .map(|i| self.chunks[i].msgs.len() + usize::from(self.free(i) > 0))
            .sum::<usize>() as u16
    }

    /// Re-encode chunk `i` and write it where it is.
    fn store(&self, cx: &mut WriteCtx<'_>, i: usize) -> Result<()> {
        let c = &self.chunks[i];
        let sizes = cx.f.sizes;
        let bytes = match (self.form, i) {
            (Form::V1, 0) => oh::encode_v1(self.nmessages(), self.refcount, &c.msgs, c.size, sizes),
            (Form::V1, _) => oh::encode_v1_continuation(&c.msgs, c.size, sizes),
            (
                Form::V2 {
                    flags,
                    times,
                    phase,
                },
                0,
            ) => oh::encode_v2(flags, times, phase, &c.msgs, c.size, sizes),
            (Form::V2 { .. }, _) => oh::encode_v2_continuation(
                &c.msgs,
                c.size + V2_CONTINUATION_OVERHEAD,
                self.form.track_order(),
                sizes,
            ),
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
        let need = self.form.msg_len(msg.data.len());
        if msg.data.len() > u16::MAX as usize || need > u16::MAX as usize {
            return Err(Error::Shape(format!(
                "a header message of {} bytes is too large for this format (h5py: \"object header message is too large\")",
                msg.data.len()
            )));
        }
        if let Some(i) = (0..self.chunks.len()).find(|&i| self.free(i) >= need) {
            self.chunks[i].msgs.push(msg);
            self.store(cx, i)?;
            // a v1 chunk 0 holds the message count: rewrite it too
            if i != 0 && matches!(self.form, Form::V1) {
                self.store(cx, 0)?;
            }
            return Ok(());
        }
        let mut pending = Some(msg);
        self.extend_with(cx, need, &mut pending)?;
        let Some(msg) = pending else {
            return Ok(());
        };
        // Make room for a continuation message in the last chunk by moving messages out.
        let clen = self
            .form
            .msg_len(cx.f.sizes.offset as usize + cx.f.sizes.length as usize);
        let last = self.chunks.len() - 1;
        let mut moved = Vec::new();
        // as libhdf5: one message that frees enough on its own, the smallest such
        let short = clen.saturating_sub(self.free(last));
        let form = self.form;
        let one = self.chunks[last]
            .msgs
            .iter()
            .enumerate()
            .filter(|(_, m)| m.mtype != MessageType::CONTINUATION.0)
            .map(|(k, m)| (form.msg_len(m.data.len()), k))
            .filter(|&(len, _)| short > 0 && len >= short)
            .min();
        if let Some((_, k)) = one {
            moved.push(self.chunks[last].msgs.remove(k));
        }
        while self.free(last) < clen {
            match self.chunks[last].msgs.pop() {
                Some(m) => moved.insert(0, m),
                None => {
                    return Err(Error::Unsupported(
                        "object header chunk too small to continue".into(),
                    ))
                }
            }
        }
        // As libhdf5 sizes a new chunk: the message, and room for a continuation message
        // (taken by the messages moved out to make room for this chunk's, if any)
        let moved_len: usize = moved.iter().map(|m| self.form.msg_len(m.data.len())).sum();
        let used = need + moved_len.max(clen);
        moved.push(msg);
        let (size, on_disk) = match self.form {
            Form::V1 => {
                let size = used.max(MIN_CHUNK).div_ceil(8) * 8;
                (size, size)
            }
            Form::V2 { .. } => {
                let size = used.max(MIN_CHUNK);
                (size, size + V2_CONTINUATION_OVERHEAD)
            }
        };
        // at the end of the file, where the next message can grow it in place
        let addr = cx.alloc_at_end(on_disk as u64)?;
        self.chunks[last].msgs.push(MessageOut {
            mtype: MessageType::CONTINUATION.0,
            flags: 0,
            creation_order: None,
            data: oh::encode_continuation(addr, on_disk as u64, cx.f.sizes),
        });
        self.chunks.push(Chunk {
            addr,
            size,
            msgs: moved,
        });
        self.store_all(cx)
    }

    /// Put `msg` (`need` bytes with its prefix) at the end of a chunk grown in place, as
    /// libhdf5's `H5O__alloc_extend_chunk` does, when the file space right after some chunk
    /// is free (the end of the file, or a freed block). Chunk 0 grows in one write (its size
    /// is in its own prefix). A continuation chunk's length is in another chunk's
    /// continuation message, so it grows only where two writes keep every moment readable:
    /// a version 1 chunk with no free space, whose new message lies wholly past its old end
    /// (written first, then the length naming it). A version 2 continuation chunk ends in a
    /// checksum over its old length and is not grown. `msg` is taken when it is placed.
    fn extend_with(
        &mut self,
        cx: &mut WriteCtx<'_>,
        need: usize,
        msg: &mut Option<MessageOut>,
    ) -> Result<()> {
        let extents = self.extents();
        for (i, &(addr, len)) in extents.iter().enumerate() {
            let free = self.free(i);
            // the continuation message naming chunk i, found before anything is written
            let naming = match i {
                0 => None,
                _ if !matches!(self.form, Form::V1) || free != 0 => continue,
                _ => match self.continuation_of(cx, addr) {
                    Some(at) => Some(at),
                    None => continue,
                },
            };
            let extra = need - free;
            // a version 2 chunk 0 keeps its size in a field whose width must not change
            if let (Form::V2 { flags, .. }, 0) = (self.form, i) {
                if oh::v2_size_flags((self.chunks[0].size + extra) as u64) != flags & 0x03 {
                    continue;
                }
            }
            if !cx.try_extend(addr + len, extra as u64)? {
                continue;
            }
            self.chunks[i].size += extra;
            self.chunks[i].msgs.extend(msg.take());
            self.store(cx, i)?;
            if let Some((j, k)) = naming {
                self.chunks[j].msgs[k].data =
                    oh::encode_continuation(addr, len + extra as u64, cx.f.sizes);
                self.store(cx, j)?;
            }
            if i != 0 && matches!(self.form, Form::V1) {
                self.store(cx, 0)?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// The continuation message that names the chunk at `addr`: (chunk, message index).
    fn continuation_of(&self, cx: &WriteCtx<'_>, addr: u64) -> Option<(usize, usize)> {
        let key = &addr.to_le_bytes()[..cx.f.sizes.offset as usize];
        self.chunks.iter().enumerate().find_map(|(j, c)| {
            c.msgs
                .iter()
                .position(|m| m.mtype == MessageType::CONTINUATION.0 && m.data.starts_with(key))
                .map(|k| (j, k))
        })
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
                if i != 0 && matches!(self.form, Form::V1) {
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
        self.replace_flagged(cx, t, 0, data)
    }

    /// Replace the first message of type `t` for which `pick` is true, keeping its flags and
    /// creation order; returns whether there was one.
    pub(crate) fn replace_where(
        &mut self,
        cx: &mut WriteCtx<'_>,
        t: MessageType,
        pick: impl Fn(&MessageOut) -> bool,
        data: Vec<u8>,
    ) -> Result<bool> {
        for i in 0..self.chunks.len() {
            if let Some(k) = self.chunks[i]
                .msgs
                .iter()
                .position(|m| m.mtype == t.0 && pick(m))
            {
                let old = self.form.msg_len(self.chunks[i].msgs[k].data.len());
                if self.form.msg_len(data.len()) <= old + self.free(i) {
                    self.chunks[i].msgs[k].data = data;
                    self.store(cx, i)?;
                    return Ok(true);
                }
                let mut m = self.chunks[i].msgs.remove(k);
                self.store(cx, i)?;
                m.data = data;
                self.add(cx, m)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Replace the first message of type `t`, or add one with `flags` when there is none.
    pub(crate) fn replace_flagged(
        &mut self,
        cx: &mut WriteCtx<'_>,
        t: MessageType,
        flags: u8,
        data: Vec<u8>,
    ) -> Result<()> {
        if self.find(t).next().is_some() {
            self.replace_where(cx, t, |_| true, data)?;
            return Ok(());
        }
        self.add(
            cx,
            MessageOut {
                mtype: t.0,
                flags,
                creation_order: None,
                data,
            },
        )
    }
}

//! Object headers v1 and v2 (spec IV.A.1): the prefix, and the messages of one chunk.
//!
//! A header is a chain of chunks: chunk 0 follows the prefix, later chunks are named by
//! continuation messages (0x10). The caller reads each chunk's bytes and calls
//! [`decode_chunk`]; following continuations (with a cycle check) is its job.
//!
//! Encoding mirrors it one chunk at a time: [`encode_v1`] / [`encode_v2`] write chunk 0 with
//! its prefix, [`encode_v1_continuation`] / [`encode_v2_continuation`] the later chunks, and
//! [`encode_continuation`] the body of the continuation message that links them. Each chunk is
//! written at the size the caller planned ([`v1_message_len`], [`v2_message_len`]); space
//! the messages leave is filled as libhdf5 fills it: with one NIL message (v2: a gap smaller
//! than a message header stays as zero bytes at the end of the chunk).

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;
use alloc::vec::Vec;

/// Bytes to read at an object header address to decode any prefix.
pub const MAX_PREFIX_LEN: usize = 4 + 1 + 1 + 16 + 4 + 8;

/// Decoded prefix of an object header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// 1 or 2.
    pub version: u8,
    /// v2 flags (0 for v1).
    pub flags: u8,
    /// Reference count (v1 prefix; v2 uses a refcount message, default 1).
    pub refcount: u32,
    /// v1: number of messages in all chunks.
    pub nmessages: u16,
    /// Access, modification, change and birth times (v2 flag bit 5).
    pub times: Option<[u32; 4]>,
    /// Max compact / min dense attribute counts (v2 flag bit 4).
    pub attr_phase_change: Option<(u16, u16)>,
    /// Bytes of the prefix (chunk 0's messages start here; v1: 16).
    pub prefix_len: usize,
    /// Size of chunk 0's message area (v1: the header data size; v2: excludes the checksum).
    pub chunk0_size: u64,
}

impl Prefix {
    /// Total bytes to read for chunk 0 including the prefix (and v2 checksum).
    pub fn chunk0_total(&self) -> Option<u64> {
        let extra = if self.version == 2 { 4 } else { 0 };
        (self.prefix_len as u64)
            .checked_add(self.chunk0_size)?
            .checked_add(extra)
    }
    /// Whether v2 messages carry a creation-order field.
    pub fn tracks_creation_order(&self) -> bool {
        self.version == 2 && self.flags & 0x04 != 0
    }

    /// Decode the prefix at `addr` (`buf` holds up to [`MAX_PREFIX_LEN`] bytes).
    ///
    /// # Errors
    /// `Truncated`; for a v2 prefix (`buf` starts with `OHDR`) `VersionNotAccepted` (2 only) and
    /// `Invalid` for flag bits 6–7 set; otherwise `VersionNotAccepted` (1 only, at `addr`) when
    /// the first byte (the v1 version) is not 1.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, "object header");
        if buf.len() >= 4 && &buf[..4] == b"OHDR" {
            let version = r.prologue(b"OHDR", &[2])?;
            let flags = r.u8()?;
            if flags & 0xc0 != 0 {
                return Err(r.invalid("object header flags"));
            }
            let times = if flags & 0x20 != 0 {
                Some([r.u32()?, r.u32()?, r.u32()?, r.u32()?])
            } else {
                None
            };
            let attr_phase_change = if flags & 0x10 != 0 {
                Some((r.u16()?, r.u16()?))
            } else {
                None
            };
            let chunk0_size = r.uint(1 << (flags & 3))?;
            Ok(Prefix {
                version,
                flags,
                refcount: 1,
                nmessages: 0,
                times,
                attr_phase_change,
                prefix_len: r.position(),
                chunk0_size,
            })
        } else {
            let version = r.version(&[1])?;
            r.skip(1)?;
            let nmessages = r.u16()?;
            let refcount = r.u32()?;
            let chunk0_size = r.u32()? as u64;
            Ok(Prefix {
                version,
                flags: 0,
                refcount,
                nmessages,
                times: None,
                attr_phase_change: None,
                prefix_len: 16,
                chunk0_size,
            })
        }
    }
}

/// One message as stored: its type, flags and undecoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage<'a> {
    /// Message type (see [`crate::message::MessageType`]).
    pub mtype: u16,
    /// Message flags (bit 1: shared; bit 7: fail if unknown; …).
    pub flags: u8,
    /// Creation order (v2 with flag bit 2).
    pub creation_order: Option<u16>,
    /// The message body.
    pub data: &'a [u8],
    /// File address of the body.
    pub addr: u64,
}

/// Where a chunk's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Chunk 0: `buf` holds the prefix too.
    First,
    /// A continuation chunk (`OCHK` in v2, raw messages in v1).
    Continuation,
}

/// Decode the messages of one chunk. `buf` holds the whole chunk: for [`ChunkKind::First`] it
/// starts at the header address and holds `prefix.chunk0_total()` bytes; for continuations it
/// holds exactly the length given by the continuation message. v2 checksums are verified.
///
/// # Errors
/// `Truncated` when `buf` is shorter than the prefix or the checksum, or (v1) a message body runs
/// past it; v2: `BadChecksum`, `BadSignature` for a continuation chunk not starting with `OCHK`,
/// `Invalid` for a message whose size runs into the checksum.
pub fn decode_chunk<'a>(
    buf: &'a [u8],
    addr: u64,
    sizes: Sizes,
    prefix: &Prefix,
    kind: ChunkKind,
) -> Result<Vec<RawMessage<'a>>> {
    let mut r = Reader::new(buf, addr, sizes, "object header");
    let mut out = Vec::new();
    if prefix.version == 1 {
        let start = if kind == ChunkKind::First { 16 } else { 0 };
        r.seek(start)?;
        while r.remaining() >= 8 {
            let mtype = r.u16()?;
            let size = r.u16()? as usize;
            let flags = r.u8()?;
            r.skip(3)?;
            let body_addr = r.addr();
            let data = r.bytes(size)?;
            out.push(RawMessage {
                mtype,
                flags,
                creation_order: None,
                data,
                addr: body_addr,
            });
            r.align(8).or_else(|_| r.seek(buf.len()))?;
        }
        return Ok(out);
    }
    // Version 2.
    if buf.len() < 4 {
        return Err(r.err(ErrorKind::Truncated));
    }
    let end = buf.len() - 4;
    // Verify the checksum first: a damaged chunk reports its checksum, not a symptom.
    let mut ck = r.clone();
    ck.seek(end)?;
    ck.checksum(0)?;
    match kind {
        ChunkKind::First => r.seek(prefix.prefix_len)?,
        ChunkKind::Continuation => {
            r = r.structure("object header continuation chunk");
            r.signature(b"OCHK")?;
        }
    }
    let header_len = if prefix.tracks_creation_order() { 6 } else { 4 };
    while end.saturating_sub(r.position()) >= header_len {
        let mtype = r.u8()? as u16;
        let size = r.u16()? as usize;
        let flags = r.u8()?;
        let creation_order = if prefix.tracks_creation_order() {
            Some(r.u16()?)
        } else {
            None
        };
        let body_addr = r.addr();
        if size > end - r.position() {
            return Err(r.invalid("message size"));
        }
        let data = r.bytes(size)?;
        out.push(RawMessage {
            mtype,
            flags,
            creation_order,
            data,
            addr: body_addr,
        });
    }
    Ok(out)
}

/// Bytes of a version-1 prefix: chunk 0's messages start this far from the header address.
pub const V1_PREFIX_LEN: usize = 16;

/// Bytes a version-2 continuation chunk spends besides its messages: `OCHK` and the checksum.
pub const V2_CONTINUATION_OVERHEAD: usize = 8;

/// The largest body a version-1 message can have: its size field is a u16 holding the size
/// padded to a multiple of 8.
pub const V1_MAX_MESSAGE_DATA: usize = 0xfff8;

/// One message to encode: type, flags, creation order (v2 headers that track it) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOut {
    /// Message type (see [`crate::message::MessageType`]); v2 headers store one byte.
    pub mtype: u16,
    /// Message flags (bit 0 constant, bit 1 shared, …).
    pub flags: u8,
    /// Creation order, written only in v2 headers whose flags have bit 2 set (`None` writes 0,
    /// which is what libhdf5 writes for its NIL and link messages); ignored otherwise.
    pub creation_order: Option<u16>,
    /// The body. v1 pads it with zeros to a multiple of 8; v2 writes it as is.
    pub data: Vec<u8>,
}

impl MessageOut {
    /// A message of type `mtype` with no flags and no creation order.
    pub fn new(mtype: u16, data: Vec<u8>) -> Self {
        MessageOut {
            mtype,
            flags: 0,
            creation_order: None,
            data,
        }
    }

    /// The same message as decoded, owned (to re-encode a header after an edit).
    pub fn from_raw(m: &RawMessage<'_>) -> Self {
        MessageOut {
            mtype: m.mtype,
            flags: m.flags,
            creation_order: m.creation_order,
            data: m.data.to_vec(),
        }
    }
}

/// Bytes a message with a `data_len`-byte body takes in a version-1 header: the 8-byte
/// message header plus the body padded to a multiple of 8.
pub fn v1_message_len(data_len: usize) -> usize {
    8usize.saturating_add(data_len.saturating_add(7) / 8 * 8)
}

/// Bytes a message with a `data_len`-byte body takes in a version-2 header: the 4-byte
/// message header (6 when creation order is tracked) plus the body, unpadded.
pub fn v2_message_len(data_len: usize, track_order: bool) -> usize {
    v2_message_header_len(track_order).saturating_add(data_len)
}

fn v2_message_header_len(track_order: bool) -> usize {
    if track_order {
        6
    } else {
        4
    }
}

/// Bytes of a version-2 prefix with these flags (`OHDR` to the chunk-0 size field): chunk 0's
/// messages start this far from the header address.
pub fn v2_prefix_len(flags: u8) -> usize {
    let mut n = 4 + 1 + 1 + (1usize << (flags & 3));
    if flags & 0x20 != 0 {
        n += 16;
    }
    if flags & 0x10 != 0 {
        n += 4;
    }
    n
}

/// Flag bits 0–1 of a version-2 header whose chunk 0 holds `chunk0_size` bytes of messages:
/// the narrowest width of the size field (1, 2, 4 or 8 bytes), as libhdf5 chooses it.
pub fn v2_size_flags(chunk0_size: u64) -> u8 {
    match chunk0_size {
        0..=0xff => 0,
        0x100..=0xffff => 1,
        0x1_0000..=0xffff_ffff => 2,
        _ => 3,
    }
}

/// How many NIL messages fill `gap` bytes of a version-1 chunk (one unless the gap exceeds
/// the 64 KiB a single message can span). The v1 prefix counts them.
pub fn v1_nil_count(gap: usize) -> usize {
    gap.div_ceil(V1_MAX_MESSAGE_DATA + 8)
}

/// The body of a continuation message (0x10): the chunk's address and length. For v1 the
/// length is the chunk's message bytes; for v2 it includes `OCHK` and the checksum.
pub fn encode_continuation(addr: u64, length: u64, sizes: Sizes) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    crate::message::misc::Continuation { addr, length }.encode(&mut w);
    w.finish()
}

fn encode_err(at: usize, kind: ErrorKind) -> Error {
    Error::new("object header", at as u64, kind)
}

/// Write version-1 messages and fill the chunk up to `end` with NIL messages.
fn put_v1_messages(w: &mut Writer, messages: &[MessageOut], end: usize) -> Result<()> {
    for m in messages {
        if m.data.len() > V1_MAX_MESSAGE_DATA {
            return Err(encode_err(
                w.len(),
                ErrorKind::Limit {
                    what: "object header message size",
                    value: m.data.len() as u64,
                    limit: V1_MAX_MESSAGE_DATA as u64,
                },
            ));
        }
        let padded = v1_message_len(m.data.len()) - 8;
        if w.len() + 8 + padded > end {
            return Err(encode_err(
                w.len(),
                ErrorKind::Invalid("object header chunk size (the messages do not fit)"),
            ));
        }
        w.u16(m.mtype).u16(padded as u16).u8(m.flags).zeros(3);
        w.bytes(&m.data).zeros(padded - m.data.len());
    }
    // What is left (a multiple of 8) becomes NIL messages: libhdf5 writes one whose body is
    // all zeros.
    while w.len() < end {
        let take = (end - w.len()).min(V1_MAX_MESSAGE_DATA + 8);
        w.u16(0)
            .u16((take - 8) as u16)
            .u8(0)
            .zeros(3)
            .zeros(take - 8);
    }
    Ok(())
}

fn check_v1_chunk_size(size: usize) -> Result<()> {
    if !size.is_multiple_of(8) || size > u32::MAX as usize {
        return Err(encode_err(
            0,
            ErrorKind::Invalid("object header chunk size (v1: a multiple of 8)"),
        ));
    }
    Ok(())
}

/// Encode chunk 0 of a version-1 object header: the 16-byte prefix (version 1, `nmessages`,
/// `refcount`, `chunk_size`) and `messages`, each padded to a multiple of 8, then NIL messages
/// filling the rest of the `chunk_size` bytes (which must be a multiple of 8). Returns
/// [`V1_PREFIX_LEN`] + `chunk_size` bytes.
///
/// `nmessages` is the prefix's count of every message in every chunk of the header,
/// continuation and NIL messages included (libhdf5 keeps it exact): the messages passed to
/// each chunk encoder plus [`v1_nil_count`] of each chunk's free space.
///
/// # Errors
/// Offsets are positions in the encoded bytes. `Limit` for a body over
/// [`V1_MAX_MESSAGE_DATA`] bytes; `Invalid` for messages that do not fit, or a chunk size
/// that is not a multiple of 8 (or is above `u32::MAX`).
pub fn encode_v1(
    nmessages: u16,
    refcount: u32,
    messages: &[MessageOut],
    chunk_size: usize,
    sizes: Sizes,
) -> Result<Vec<u8>> {
    check_v1_chunk_size(chunk_size)?;
    let mut w = Writer::new(sizes);
    w.u8(1)
        .u8(0)
        .u16(nmessages)
        .u32(refcount)
        .u32(chunk_size as u32)
        .zeros(4);
    put_v1_messages(&mut w, messages, V1_PREFIX_LEN + chunk_size)?;
    Ok(w.finish())
}

/// Encode a version-1 continuation chunk of `size` bytes (the length its continuation
/// message gives; a multiple of 8): the messages, then NIL messages filling the rest.
///
/// # Errors
/// As [`encode_v1`].
pub fn encode_v1_continuation(
    messages: &[MessageOut],
    size: usize,
    sizes: Sizes,
) -> Result<Vec<u8>> {
    check_v1_chunk_size(size)?;
    let mut w = Writer::new(sizes);
    put_v1_messages(&mut w, messages, size)?;
    Ok(w.finish())
}

/// Write version-2 messages, fill the chunk up to `end` (NIL messages, then a gap of zero
/// bytes smaller than a message header) and append the checksum of everything written.
fn put_v2_messages(
    w: &mut Writer,
    messages: &[MessageOut],
    end: usize,
    track_order: bool,
) -> Result<()> {
    let hl = v2_message_header_len(track_order);
    for m in messages {
        if m.mtype > 0xff {
            return Err(encode_err(
                w.len(),
                ErrorKind::Invalid("message type (v2 headers store one byte)"),
            ));
        }
        if m.data.len() > 0xffff {
            return Err(encode_err(
                w.len(),
                ErrorKind::Limit {
                    what: "object header message size",
                    value: m.data.len() as u64,
                    limit: 0xffff,
                },
            ));
        }
        if w.len() + hl + m.data.len() > end {
            return Err(encode_err(
                w.len(),
                ErrorKind::Invalid("object header chunk size (the messages do not fit)"),
            ));
        }
        w.u8(m.mtype as u8).u16(m.data.len() as u16).u8(m.flags);
        if track_order {
            w.u16(m.creation_order.unwrap_or(0));
        }
        w.bytes(&m.data);
    }
    while end - w.len() >= hl {
        let body = (end - w.len() - hl).min(0xffff);
        w.u8(0).u16(body as u16).u8(0);
        if track_order {
            w.u16(0);
        }
        w.zeros(body);
    }
    w.zeros(end - w.len());
    w.checksum_from(0);
    Ok(())
}

/// Encode chunk 0 of a version-2 object header: `OHDR`, version 2, `flags`, the times and
/// attribute phase-change values when given, the chunk-0 size, `messages` (type byte, u16
/// size, flags, [creation order], unpadded body), the fill of the `chunk0_size` bytes and the
/// lookup3 checksum. Returns [`v2_prefix_len`]`(flags)` + `chunk0_size` + 4 bytes.
///
/// Space the messages leave is one NIL message when it can hold a message header (4 bytes,
/// 6 with creation order), otherwise a gap of zero bytes, as libhdf5 leaves them.
///
/// # Errors
/// `Invalid` for `flags` with bits 6–7 set, bit 5 (times) or bit 4 (phase change) disagreeing
/// with `times` / `attr_phase_change`, bits 0–1 too narrow for `chunk0_size` (see
/// [`v2_size_flags`]); `Invalid` for a message type above 255, `Limit` for a body over 65535
/// bytes; `Invalid` for messages that do not fit.
pub fn encode_v2(
    flags: u8,
    times: Option<[u32; 4]>,
    attr_phase_change: Option<(u16, u16)>,
    messages: &[MessageOut],
    chunk0_size: usize,
    sizes: Sizes,
) -> Result<Vec<u8>> {
    if flags & 0xc0 != 0 {
        return Err(encode_err(5, ErrorKind::Invalid("object header flags")));
    }
    if (flags & 0x20 != 0) != times.is_some() {
        return Err(encode_err(
            5,
            ErrorKind::Invalid("object header flags (bit 5 and the times disagree)"),
        ));
    }
    if (flags & 0x10 != 0) != attr_phase_change.is_some() {
        return Err(encode_err(
            5,
            ErrorKind::Invalid("object header flags (bit 4 and the phase change disagree)"),
        ));
    }
    if v2_size_flags(chunk0_size as u64) > flags & 3 {
        return Err(encode_err(
            5,
            ErrorKind::Invalid("object header flags (chunk 0 size field too narrow)"),
        ));
    }
    let mut w = Writer::new(sizes);
    w.bytes(b"OHDR").u8(2).u8(flags);
    if let Some(t) = times {
        for v in t {
            w.u32(v);
        }
    }
    if let Some((max_compact, min_dense)) = attr_phase_change {
        w.u16(max_compact).u16(min_dense);
    }
    w.uint(chunk0_size as u64, 1 << (flags & 3));
    let end = w.len() + chunk0_size;
    put_v2_messages(&mut w, messages, end, flags & 0x04 != 0)?;
    Ok(w.finish())
}

/// Encode a version-2 continuation chunk of `size` bytes (the length its continuation
/// message gives: `OCHK`, messages, fill and checksum; at least
/// [`V2_CONTINUATION_OVERHEAD`]). `track_order` is bit 2 of the header's flags. Fill as
/// [`encode_v2`].
///
/// # Errors
/// `Invalid` for a `size` below [`V2_CONTINUATION_OVERHEAD`]; the message errors of
/// [`encode_v2`] (type, body size, messages that do not fit).
pub fn encode_v2_continuation(
    messages: &[MessageOut],
    size: usize,
    track_order: bool,
    sizes: Sizes,
) -> Result<Vec<u8>> {
    if size < V2_CONTINUATION_OVERHEAD {
        return Err(encode_err(
            0,
            ErrorKind::Invalid("object header continuation chunk size"),
        ));
    }
    let mut w = Writer::new(sizes);
    w.bytes(b"OCHK");
    put_v2_messages(&mut w, messages, size - 4, track_order)?;
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup3;

    #[test]
    fn v1_prefix_and_messages() {
        let mut b = alloc::vec![1u8, 0, 2, 0];
        b.extend(1u32.to_le_bytes());
        b.extend(24u32.to_le_bytes());
        b.extend([0; 4]);
        // message 0x11, size 16
        b.extend(0x11u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend([0, 0, 0, 0]);
        b.extend([7u8; 16]);
        let p = Prefix::decode(&b, 0x60, Sizes::DEFAULT).unwrap();
        assert_eq!(p.chunk0_size, 24);
        assert_eq!(p.chunk0_total(), Some(40));
        let m = decode_chunk(&b, 0x60, Sizes::DEFAULT, &p, ChunkKind::First).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mtype, 0x11);
        assert_eq!(m[0].addr, 0x60 + 24);
        assert_eq!(m[0].data, &[7u8; 16]);
    }

    #[test]
    fn v2_checksum_and_gap() {
        let mut b = b"OHDR".to_vec();
        b.extend([2, 0, 9]); // flags 0, chunk0 size 9 (1 byte)
        b.extend([0x01, 4, 0, 0, 1, 2, 3, 4]); // dataspace-ish, 4 bytes
        b.push(0); // 1-byte gap
        let c = lookup3::checksum(&b);
        b.extend(c.to_le_bytes());
        let p = Prefix::decode(&b, 0, Sizes::DEFAULT).unwrap();
        assert_eq!(p.prefix_len, 7);
        let m = decode_chunk(&b, 0, Sizes::DEFAULT, &p, ChunkKind::First).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].data, &[1, 2, 3, 4]);
        b[8] ^= 0xff;
        assert!(matches!(
            decode_chunk(&b, 0, Sizes::DEFAULT, &p, ChunkKind::First)
                .unwrap_err()
                .kind,
            ErrorKind::BadChecksum { .. }
        ));
    }

    /// A buffer that holds the prefix but not the checksum after it (a caller passing fewer
    /// bytes than `chunk0_total`) is an error, not an underflow.
    #[test]
    fn chunk_shorter_than_its_prefix_is_an_error() {
        let mut b = b"OHDR".to_vec();
        b.extend([2, 0, 0]);
        let p = Prefix::decode(&[b.clone(), vec![0; 4]].concat(), 0, Sizes::DEFAULT).unwrap();
        // the first n bytes of the prefix with a valid checksum after them: the checksum
        // passes, and the messages would start past the end
        for n in 0..p.prefix_len {
            let buf = [&b[..n], &lookup3::checksum(&b[..n]).to_le_bytes()[..]].concat();
            for kind in [ChunkKind::First, ChunkKind::Continuation] {
                let r = decode_chunk(&buf, 0, Sizes::DEFAULT, &p, kind);
                assert!(r.as_ref().map_or(true, |m| m.is_empty()), "{n}: {r:?}");
            }
        }
    }

    #[test]
    fn oversized_message_is_invalid() {
        let mut b = b"OHDR".to_vec();
        b.extend([2, 0, 4]);
        b.extend([0x01, 200, 0, 0]);
        let c = lookup3::checksum(&b);
        b.extend(c.to_le_bytes());
        let p = Prefix::decode(&b, 0, Sizes::DEFAULT).unwrap();
        assert!(decode_chunk(&b, 0, Sizes::DEFAULT, &p, ChunkKind::First).is_err());
    }

    fn msg(mtype: u16, data: &[u8]) -> MessageOut {
        MessageOut::new(mtype, data.to_vec())
    }

    #[test]
    fn lengths() {
        assert_eq!(v1_message_len(0), 8);
        assert_eq!(v1_message_len(1), 16);
        assert_eq!(v1_message_len(16), 24);
        assert_eq!(v2_message_len(5, false), 9);
        assert_eq!(v2_message_len(5, true), 11);
        assert_eq!(v2_prefix_len(0), 7);
        assert_eq!(v2_prefix_len(0x21), 24);
        assert_eq!(v2_prefix_len(0x13), 18);
        assert_eq!(v2_size_flags(255), 0);
        assert_eq!(v2_size_flags(256), 1);
        assert_eq!(v2_size_flags(65536), 2);
        assert_eq!(v2_size_flags(1 << 32), 3);
        assert_eq!(v1_nil_count(0), 0);
        assert_eq!(v1_nil_count(8), 1);
        assert_eq!(v1_nil_count(65536), 1);
        assert_eq!(v1_nil_count(65544), 2);
        let c = encode_continuation(0x320, 96, Sizes::DEFAULT);
        let d = crate::message::misc::Continuation::decode(&mut Reader::new(
            &c,
            0,
            Sizes::DEFAULT,
            "continuation",
        ))
        .unwrap();
        assert_eq!((d.addr, d.length), (0x320, 96));
    }

    #[test]
    fn v1_round_trip() {
        let sizes = Sizes::DEFAULT;
        let msgs = [
            msg(0x01, &[1, 2, 3, 4, 5, 6, 7, 8]),
            MessageOut {
                mtype: 0x03,
                flags: 1,
                creation_order: None,
                data: [9u8; 16].to_vec(),
            },
            msg(0x10, &encode_continuation(0x900, 64, sizes)),
        ];
        // 16 + 24 + 24 used, a NIL fills the last 40 bytes
        let b = encode_v1(4, 2, &msgs, 104, sizes).unwrap();
        assert_eq!(b.len(), 16 + 104);
        let p = Prefix::decode(&b, 0x60, sizes).unwrap();
        assert_eq!((p.version, p.nmessages, p.refcount), (1, 4, 2));
        assert_eq!(p.chunk0_size, 104);
        let m = decode_chunk(&b, 0x60, sizes, &p, ChunkKind::First).unwrap();
        let back: Vec<MessageOut> = m.iter().map(MessageOut::from_raw).collect();
        assert_eq!(&back[..3], &msgs);
        assert_eq!(back[3], msg(0, &[0; 32]));
        // a body is padded to 8 and the padding is part of the decoded body
        let b = encode_v1(1, 1, &[msg(0x0d, b"hi\0")], 16, sizes).unwrap();
        let m = decode_chunk(
            &b,
            0,
            sizes,
            &Prefix::decode(&b, 0, sizes).unwrap(),
            ChunkKind::First,
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].data, b"hi\0\0\0\0\0\0");
        // continuation chunks: raw messages, NIL-filled; an exactly full chunk has no NIL
        let c = encode_v1_continuation(&msgs[..2], 48, sizes).unwrap();
        assert_eq!(c.len(), 48);
        let m = decode_chunk(&c, 0x900, sizes, &p, ChunkKind::Continuation).unwrap();
        assert_eq!(m.len(), 3);
        let nil = RawMessage {
            mtype: 0,
            flags: 0,
            creation_order: None,
            data: &[],
            addr: 0x900 + 48,
        };
        assert_eq!(m[2], nil);
        let c = encode_v1_continuation(&msgs[..2], 40, sizes).unwrap();
        assert_eq!(
            decode_chunk(&c, 0, sizes, &p, ChunkKind::Continuation)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn v1_errors_and_big_gaps() {
        let sizes = Sizes::DEFAULT;
        let big = msg(0x0c, &alloc::vec![0u8; V1_MAX_MESSAGE_DATA + 1]);
        let e = encode_v1(1, 1, &[big], 70000, sizes).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Limit { .. }));
        let e = encode_v1(1, 1, &[msg(1, &[0; 16])], 16, sizes).unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(encode_v1(0, 1, &[], 12, sizes).is_err());
        assert!(encode_v1_continuation(&[], 20, sizes).is_err());
        // a gap larger than one message can span takes two NILs
        let gap = V1_MAX_MESSAGE_DATA + 8 + 16;
        let b = encode_v1(2, 1, &[], gap, sizes).unwrap();
        let p = Prefix::decode(&b, 0, sizes).unwrap();
        let m = decode_chunk(&b, 0, sizes, &p, ChunkKind::First).unwrap();
        assert_eq!(m.len(), v1_nil_count(gap));
        assert_eq!(m[0].data.len(), V1_MAX_MESSAGE_DATA);
        assert_eq!(m[1].data.len(), 8);
    }

    #[test]
    fn v2_round_trip() {
        let sizes = Sizes::DEFAULT;
        let msgs = [
            MessageOut {
                mtype: 0x02,
                flags: 0,
                creation_order: Some(3),
                data: [1u8; 18].to_vec(),
            },
            MessageOut {
                mtype: 0x0c,
                flags: 4,
                creation_order: Some(7),
                data: b"abc".to_vec(),
            },
        ];
        let times = Some([1, 2, 3, 4]);
        let phase = Some((8, 6));
        let flags = 0x04 | 0x10 | 0x20 | 1;
        let b = encode_v2(flags, times, phase, &msgs, 300, sizes).unwrap();
        assert_eq!(b.len(), v2_prefix_len(flags) + 300 + 4);
        let p = Prefix::decode(&b, 0x30, sizes).unwrap();
        assert_eq!(p.flags, flags);
        assert_eq!(p.times, times);
        assert_eq!(p.attr_phase_change, phase);
        assert_eq!(p.chunk0_size, 300);
        assert_eq!(p.prefix_len, v2_prefix_len(flags));
        let m = decode_chunk(&b, 0x30, sizes, &p, ChunkKind::First).unwrap();
        let back: Vec<MessageOut> = m.iter().map(MessageOut::from_raw).collect();
        assert_eq!(&back[..2], &msgs);
        // the rest is one NIL (creation order 0)
        assert_eq!(back.len(), 3);
        assert_eq!(back[2].mtype, 0);
        assert_eq!(back[2].creation_order, Some(0));
        assert_eq!(v2_message_len(back[2].data.len(), true), 300 - 24 - 9);
        // continuation chunk
        let c = encode_v2_continuation(&msgs, 64, true, sizes).unwrap();
        assert_eq!(c.len(), 64);
        assert_eq!(&c[..4], b"OCHK");
        let m = decode_chunk(&c, 0x800, sizes, &p, ChunkKind::Continuation).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(MessageOut::from_raw(&m[1]), msgs[1]);
        assert_eq!(m[2].data.len(), 64 - 8 - 24 - 9 - 6);
    }

    #[test]
    fn v2_gaps_smaller_than_a_message_header_stay_gaps() {
        let sizes = Sizes::DEFAULT;
        let one = [msg(0x01, &[5; 4])];
        for (gap, nil) in [(0, false), (1, false), (3, false), (4, true), (9, true)] {
            let b = encode_v2(0, None, None, &one, 8 + gap, sizes).unwrap();
            let p = Prefix::decode(&b, 0, sizes).unwrap();
            let m = decode_chunk(&b, 0, sizes, &p, ChunkKind::First).unwrap();
            assert_eq!(m.len(), 1 + usize::from(nil), "gap {gap}");
            if !nil {
                assert!(b[7 + 8..b.len() - 4].iter().all(|&x| x == 0));
            }
        }
        // with creation order a header is 6 bytes: 5 spare bytes are a gap
        let b = encode_v2(4, None, None, &one, 10 + 5, sizes).unwrap();
        let p = Prefix::decode(&b, 0, sizes).unwrap();
        assert_eq!(
            decode_chunk(&b, 0, sizes, &p, ChunkKind::First)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn v2_errors() {
        let sizes = Sizes::DEFAULT;
        let m = [msg(0x01, &[0; 8])];
        assert!(encode_v2(0, None, None, &m, 11, sizes).is_err()); // does not fit
        assert!(encode_v2(0, None, None, &m, 256, sizes).is_err()); // width 1 < 256
        assert!(encode_v2(1, None, None, &m, 256, sizes).is_ok());
        assert!(encode_v2(0x20, None, None, &m, 20, sizes).is_err()); // times missing
        assert!(encode_v2(0, Some([0; 4]), None, &m, 20, sizes).is_err());
        assert!(encode_v2(0x10, None, None, &m, 20, sizes).is_err()); // phase missing
        assert!(encode_v2(0x40, None, None, &m, 20, sizes).is_err());
        assert!(encode_v2(0, None, None, &[msg(0x100, &[])], 20, sizes).is_err());
        let big = msg(0x0c, &alloc::vec![0u8; 0x10000]);
        assert!(encode_v2(2, None, None, &[big], 0x20000, sizes).is_err());
        assert!(encode_v2_continuation(&[], 7, false, sizes).is_err());
        assert_eq!(
            encode_v2_continuation(&[], 8, false, sizes).unwrap().len(),
            8
        );
    }

    // Real headers written by libhdf5 (h5py fixtures): every chunk decoded and re-encoded
    // from its messages must give the file's bytes. Trailing NIL messages are dropped
    // before re-encoding, so the encoder's own fill (NIL placement, gaps) is checked too.
    const GROUPS_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/groups_earliest.h5");
    const GROUPS_LATEST: &[u8] = include_bytes!("../../../fixtures/files/groups_latest.h5");
    const ATTRS_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/attrs_earliest.h5");
    const ATTRS_LATEST: &[u8] = include_bytes!("../../../fixtures/files/attrs_latest.h5");
    const COMMITTED_LATEST: &[u8] = include_bytes!("../../../fixtures/files/committed_latest.h5");
    const FILL_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/fill_earliest.h5");
    const FILTERS_EXTRA_LATEST: &[u8] =
        include_bytes!("../../../fixtures/files/filters_extra_latest.h5");

    /// Re-encode every chunk of the header at `addr`; returns the number of chunks.
    fn reencode_header(file: &[u8], addr: u64) -> usize {
        use crate::message::misc::Continuation;
        let sizes = Sizes::DEFAULT;
        let prefix = Prefix::decode(&file[addr as usize..], addr, sizes).unwrap();
        let first_len = prefix.chunk0_total().unwrap() as usize;
        let mut todo = alloc::vec![(addr, first_len, ChunkKind::First)];
        let (mut chunks, mut total, mut counted) = (0, 0, 0);
        while let Some((a, len, kind)) = todo.pop() {
            let bytes = &file[a as usize..a as usize + len];
            let raw = decode_chunk(bytes, a, sizes, &prefix, kind).unwrap();
            total += raw.len();
            for m in &raw {
                if m.mtype == 0x10 {
                    let mut r = Reader::new(m.data, m.addr, sizes, "continuation");
                    let c = Continuation::decode(&mut r).unwrap();
                    todo.push((c.addr, c.length as usize, ChunkKind::Continuation));
                }
            }
            let mut msgs: Vec<MessageOut> = raw.iter().map(MessageOut::from_raw).collect();
            while msgs.last().is_some_and(|m| m.mtype == 0) {
                msgs.pop();
            }
            let out = match (prefix.version, kind) {
                (1, ChunkKind::First) => {
                    let size = prefix.chunk0_size as usize;
                    let used: usize = msgs.iter().map(|m| v1_message_len(m.data.len())).sum();
                    counted += msgs.len() + v1_nil_count(size - used);
                    encode_v1(prefix.nmessages, prefix.refcount, &msgs, size, sizes)
                }
                (1, ChunkKind::Continuation) => {
                    let used: usize = msgs.iter().map(|m| v1_message_len(m.data.len())).sum();
                    counted += msgs.len() + v1_nil_count(len - used);
                    encode_v1_continuation(&msgs, len, sizes)
                }
                (_, ChunkKind::First) => encode_v2(
                    prefix.flags,
                    prefix.times,
                    prefix.attr_phase_change,
                    &msgs,
                    prefix.chunk0_size as usize,
                    sizes,
                ),
                (_, ChunkKind::Continuation) => {
                    encode_v2_continuation(&msgs, len, prefix.tracks_creation_order(), sizes)
                }
            }
            .unwrap();
            assert!(
                out == bytes,
                "chunk at {a:#x} of the header at {addr:#x} differs"
            );
            chunks += 1;
        }
        if prefix.version == 1 {
            // libhdf5's count: every message of every chunk, NIL and continuation included.
            assert_eq!(prefix.nmessages as usize, total, "header at {addr:#x}");
            assert_eq!(counted, total, "header at {addr:#x}");
        }
        chunks
    }

    #[test]
    fn v1_headers_match_libhdf5_bytes() {
        // root of groups_earliest: converted to new-style, 17 messages over 7 chunks (one at
        // an odd address, 0x139d3): chunk 0 holds only a continuation message
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x60), 7);
        // a dataset: 4 messages and a 160-byte NIL in 256 bytes
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x23a0), 1);
        // an empty group: the symbol table message alone, 24 bytes
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x2f58), 1);
        // a group whose symbol table message moved to a continuation chunk (hard link count 2)
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x380), 2);
        // a converted group: a NIL in the continuation chunk
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x12c00), 2);
        // 48 attributes: chunk 0 is a continuation message, the chunk 5184 bytes
        assert_eq!(reencode_header(ATTRS_EARLIEST, 0x76e8), 2);
        assert_eq!(reencode_header(ATTRS_EARLIEST, 0x468), 3);
        // 8 bytes left over: a NIL message with an empty body
        assert_eq!(reencode_header(FILL_EARLIEST, 0x15e8), 1);
    }

    #[test]
    fn v2_headers_match_libhdf5_bytes() {
        // root of groups_latest: chunk 0 + 5 OCHK chunks
        assert_eq!(reencode_header(GROUPS_LATEST, 0x30), 6);
        // 2 spare bytes: a gap, no NIL
        assert_eq!(reencode_header(GROUPS_LATEST, 0xb3), 1);
        // a dataset: 2-byte chunk-0 size (256), NIL of 184
        assert_eq!(reencode_header(GROUPS_LATEST, 0x2ed), 1);
        // creation order tracked (flags 0x0c) in an earliest file: a NIL with crt order 0
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x11780), 1);
        assert_eq!(reencode_header(GROUPS_EARLIEST, 0x11dbb), 1);
        // a committed datatype with the four times (flags 0x20), a 2-byte gap in chunk 0
        assert_eq!(reencode_header(COMMITTED_LATEST, 0xb3), 2);
        // chunk 0 of 292 bytes (attributes)
        assert_eq!(reencode_header(ATTRS_LATEST, 0x30), 1);
        // flags 0x0d: 2-byte size, creation order tracked and indexed
        assert_eq!(reencode_header(ATTRS_LATEST, 0x7275), 1);
        // chunk 0 and 5 OCHK chunks, three of them ending in a 2-byte gap
        assert_eq!(reencode_header(FILTERS_EXTRA_LATEST, 0x30), 6);
    }
}

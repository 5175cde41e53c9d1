//! Object headers v1 and v2 (spec IV.A.1): the prefix, and the messages of one chunk.
//!
//! A header is a chain of chunks: chunk 0 follows the prefix, later chunks are named by
//! continuation messages (0x10). The caller reads each chunk's bytes and calls
//! [`decode_chunk`]; following continuations (with a cycle check) is its job.

use crate::error::{ErrorKind, Result};
use crate::reader::{Reader, Sizes};
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
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, "object header");
        if buf.len() >= 4 && &buf[..4] == b"OHDR" {
            r.skip(4)?;
            let version = r.u8()?;
            if version != 2 {
                return Err(r.err(ErrorKind::BadVersion(version)));
            }
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
            let version = r.u8()?;
            if version != 1 {
                return Err(r.err(ErrorKind::BadVersion(version)));
            }
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
    while end - r.position() >= header_len {
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
}

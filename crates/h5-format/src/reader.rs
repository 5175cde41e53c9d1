//! A little-endian cursor over a slice that knows the file address of its first byte, so
//! every error it raises names the structure and the absolute offset.

use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;

/// The two widths a superblock fixes for the whole file: "Size of Offsets" and "Size of
/// Lengths", in bytes. Validated once (2, 4 or 8) and passed to every decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes in an address.
    pub offset: u8,
    /// Bytes in a length.
    pub length: u8,
}

impl Sizes {
    /// The sizes almost every file uses: 8 and 8.
    pub const DEFAULT: Sizes = Sizes {
        offset: 8,
        length: 8,
    };
}

/// The undefined address (all bits set) decodes to `None`.
pub type Addr = Option<u64>;

/// A cursor over `buf`, whose first byte sits at file address `addr`.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    addr: u64,
    /// Offset and length widths of the file.
    pub sizes: Sizes,
    structure: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, which starts at file address `addr`, decoding `structure`.
    pub fn new(buf: &'a [u8], addr: u64, sizes: Sizes, structure: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            addr,
            sizes,
            structure,
        }
    }
    /// The same bytes, now decoding another structure.
    pub fn structure(mut self, structure: &'static str) -> Self {
        self.structure = structure;
        self
    }
    /// The name of the structure being decoded.
    pub fn structure_name(&self) -> &'static str {
        self.structure
    }
    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// File address of the next byte.
    pub fn addr(&self) -> u64 {
        self.addr.wrapping_add(self.pos as u64)
    }
    /// File address of the first byte.
    pub fn start_addr(&self) -> u64 {
        self.addr
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// The whole underlying slice.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }
    /// The bytes not yet consumed.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// An error at the current position.
    pub fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.structure, self.addr(), kind)
    }
    /// An "invalid field" error at the current position.
    pub fn invalid(&self, what: &'static str) -> Error {
        self.err(ErrorKind::Invalid(what))
    }
    /// An "unsupported" error at the current position.
    pub fn unsupported(&self, what: impl Into<alloc::string::String>) -> Error {
        self.err(ErrorKind::Unsupported(what.into()))
    }
    /// Take `n` bytes.
    ///
    /// # Errors
    /// `Truncated` when fewer than `n` bytes remain.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(ErrorKind::Truncated));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// Take `n` bytes as a reader of their own.
    ///
    /// # Errors
    /// `Truncated` when fewer than `n` bytes remain.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>> {
        let addr = self.addr();
        let b = self.bytes(n)?;
        Ok(Reader {
            buf: b,
            pos: 0,
            addr,
            sizes: self.sizes,
            structure: self.structure,
        })
    }
    /// Skip `n` bytes.
    ///
    /// # Errors
    /// `Truncated` when fewer than `n` bytes remain.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }
    /// Move to `pos` bytes from the start.
    ///
    /// # Errors
    /// `Truncated` when `pos` is beyond the end of the slice.
    pub fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(self.err(ErrorKind::Truncated));
        }
        self.pos = pos;
        Ok(())
    }
    /// Skip to the next multiple of `n` bytes counted from the start of the slice.
    ///
    /// # Errors
    /// `Truncated` when the padding runs past the end of the slice.
    pub fn align(&mut self, n: usize) -> Result<()> {
        let pad = (n - self.pos % n) % n;
        self.skip(pad)
    }
    /// One byte.
    ///
    /// # Errors
    /// `Truncated` when no byte remains.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    /// A little-endian u16.
    ///
    /// # Errors
    /// `Truncated` when fewer than 2 bytes remain.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(self.uint(2)? as u16)
    }
    /// A little-endian u32.
    ///
    /// # Errors
    /// `Truncated` when fewer than 4 bytes remain.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(self.uint(4)? as u32)
    }
    /// A little-endian u64.
    ///
    /// # Errors
    /// `Truncated` when fewer than 8 bytes remain.
    pub fn u64(&mut self) -> Result<u64> {
        self.uint(8)
    }
    /// A little-endian unsigned integer of `n` ≤ 8 bytes.
    ///
    /// # Errors
    /// `Invalid` when `n` is above 8; `Truncated` when fewer than `n` bytes remain.
    pub fn uint(&mut self, n: usize) -> Result<u64> {
        if n > 8 {
            return Err(self.invalid("integer width"));
        }
        let b = self.bytes(n)?;
        Ok(le_uint(b))
    }
    /// An address ("Size of Offsets" bytes); all bits set is the undefined address.
    ///
    /// # Errors
    /// `Truncated` when fewer than `sizes.offset` bytes remain; `Invalid` if that width is
    /// above 8.
    pub fn offset(&mut self) -> Result<Addr> {
        let n = self.sizes.offset as usize;
        let v = self.uint(n)?;
        Ok(if is_undefined(v, n) { None } else { Some(v) })
    }
    /// An address that must be defined.
    ///
    /// # Errors
    /// As [`Reader::offset`]; `Invalid` naming `what`, at the address's offset, when the
    /// address is undefined.
    pub fn defined_offset(&mut self, what: &'static str) -> Result<u64> {
        let here = self.addr();
        self.offset()?
            .ok_or_else(|| Error::invalid(self.structure, here, what))
    }
    /// A length ("Size of Lengths" bytes); all bits set decodes to `u64::MAX`.
    ///
    /// # Errors
    /// `Truncated` when fewer than `sizes.length` bytes remain; `Invalid` if that width is
    /// above 8.
    pub fn length(&mut self) -> Result<u64> {
        let n = self.sizes.length as usize;
        let v = self.uint(n)?;
        Ok(if is_undefined(v, n) { u64::MAX } else { v })
    }
    /// Expect the signature `sig` (4 bytes for every structure but the superblock's 8);
    /// `BadSignature` at the signature's offset.
    ///
    /// # Errors
    /// `Truncated` when fewer than `N` bytes remain; `BadSignature` when they are not `sig`.
    pub fn signature<const N: usize>(&mut self, sig: &[u8; N]) -> Result<()> {
        let here = self.addr();
        if self.bytes(N)? != sig {
            return Err(Error::new(self.structure, here, ErrorKind::BadSignature));
        }
        Ok(())
    }
    /// Expect the prologue most structures start with: the signature `sig`, then a version
    /// byte that must be one of `accepted`. Returns the version.
    ///
    /// # Errors
    /// `Truncated`; `BadSignature` at the signature's offset; `VersionNotAccepted` (naming
    /// the version found and `accepted`) at the version byte's offset, that is the
    /// structure's address + 4 for a 4-byte signature.
    pub fn prologue<const N: usize>(
        &mut self,
        sig: &[u8; N],
        accepted: &'static [u8],
    ) -> Result<u8> {
        self.signature(sig)?;
        self.version(accepted)
    }
    /// Read a version byte that must be one of `accepted`. Returns the version.
    ///
    /// # Errors
    /// `Truncated` when no byte remains; `VersionNotAccepted` (naming the version found and
    /// `accepted`) at the version byte's offset.
    pub fn version(&mut self, accepted: &'static [u8]) -> Result<u8> {
        let version_at = self.addr();
        let version = self.u8()?;
        if !accepted.contains(&version) {
            return Err(Error::new(
                self.structure,
                version_at,
                ErrorKind::VersionNotAccepted { version, accepted },
            ));
        }
        Ok(version)
    }
    /// Bytes up to (not including) the next NUL, consuming the NUL.
    ///
    /// # Errors
    /// `Truncated` when no NUL follows.
    pub fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None => Err(self.err(ErrorKind::Truncated)),
        }
    }
    /// Verify the lookup3 checksum of bytes `[start, position)` against the next u32.
    ///
    /// # Errors
    /// `Truncated` when fewer than 4 bytes remain for the stored checksum; `BadChecksum` when it
    /// differs from the computed one.
    pub fn checksum(&mut self, start: usize) -> Result<()> {
        let computed = lookup3::checksum(&self.buf[start..self.pos]);
        let here = self.addr();
        let stored = self.u32()?;
        if stored != computed {
            return Err(Error::new(
                self.structure,
                here,
                ErrorKind::BadChecksum { stored, computed },
            ));
        }
        Ok(())
    }
}

/// Decode a little-endian unsigned integer of up to 8 bytes.
pub fn le_uint(b: &[u8]) -> u64 {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(8) {
        v |= (byte as u64) << (8 * i);
    }
    v
}

fn is_undefined(v: u64, n: usize) -> bool {
    n > 0 && (n >= 8 && v == u64::MAX || n < 8 && v == (1u64 << (8 * n)) - 1)
}

/// Bytes needed to hold `v` (at least 1).
pub fn bytes_needed(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(8).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_errors_carry_offsets() {
        let data = [1u8, 2, 0, 0xff, 0xff, 0xff, 0xff, b'a', 0];
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let mut r = Reader::new(&data, 0x100, sizes, "test");
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 2);
        assert_eq!(r.offset().unwrap(), None);
        assert_eq!(r.cstr().unwrap(), b"a");
        let e = r.u32().unwrap_err();
        assert_eq!(e.offset, 0x109);
        assert_eq!(e.kind, ErrorKind::Truncated);
        assert_eq!(alloc::format!("{e}"), "test at 0x109: truncated");
    }

    #[test]
    fn prologue_checks_signature_then_version() {
        let sizes = Sizes::DEFAULT;
        let data = *b"ABCD\x01rest";
        let mut r = Reader::new(&data, 0x40, sizes, "test");
        assert_eq!(r.prologue(b"ABCD", &[0, 1]).unwrap(), 1);
        assert_eq!(r.position(), 5);
        let e = Reader::new(&data, 0x40, sizes, "test")
            .prologue(b"ABCE", &[1])
            .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadSignature, 0x40));
        let e = Reader::new(&data, 0x40, sizes, "test")
            .prologue(b"ABCD", &[0, 2])
            .unwrap_err();
        let accepted: &[u8] = &[0, 2];
        assert_eq!(
            (e.kind.clone(), e.offset),
            (
                ErrorKind::VersionNotAccepted {
                    version: 1,
                    accepted
                },
                0x44
            )
        );
        assert_eq!(
            alloc::format!("{e}"),
            "test at 0x44: unknown version 1 (accepted: 0, 2)"
        );
        let e = Reader::new(&data[..4], 0x40, sizes, "test")
            .prologue(b"ABCD", &[1])
            .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x44));
    }

    #[test]
    fn version_checks_one_byte_at_its_offset() {
        let sizes = Sizes::DEFAULT;
        let data = [7u8, 2, 9];
        let mut r = Reader::new(&data, 0x80, sizes, "test");
        r.skip(1).unwrap();
        assert_eq!(r.version(&[1, 2]).unwrap(), 2);
        assert_eq!(r.position(), 2);
        let e = r.version(&[1, 2]).unwrap_err();
        let accepted: &[u8] = &[1, 2];
        assert_eq!(
            (e.kind.clone(), e.offset),
            (
                ErrorKind::VersionNotAccepted {
                    version: 9,
                    accepted
                },
                0x82
            )
        );
        assert_eq!(
            alloc::format!("{e}"),
            "test at 0x82: unknown version 9 (accepted: 1, 2)"
        );
        let e = r.version(&[0]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0x83));
    }

    /// Every decoder that starts with signature + version reports an unknown version at the
    /// version byte (the structure's address + 4; + 8 after the superblock's signature),
    /// naming the structure.
    #[test]
    fn bad_versions_point_at_the_version_byte() {
        use crate::{
            btree2, cache_image, extensible_array, fixed_array, fractal_heap, global_heap,
            local_heap, object_header, superblock, symbol_table,
        };
        let at = 0x1000u64;
        let image = |sig: &[u8], version: u8| {
            let mut b = sig.to_vec();
            b.push(version);
            b.resize(512, 0);
            b
        };
        type Decode = fn(&[u8], u64) -> Result<()>;
        /// Signature, bad version, structure name, accepted versions, decoder.
        type Case = (&'static [u8], u8, &'static str, &'static [u8], Decode);
        let cases: [Case; 12] = [
            (b"FRHP", 1, "fractal heap header", &[0], |b, a| {
                fractal_heap::Header::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"BTHD", 1, "v2 B-tree header", &[0], |b, a| {
                btree2::Header::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"FAHD", 1, "fixed array header", &[0], |b, a| {
                fixed_array::Header::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"EAHD", 1, "extensible array header", &[0], |b, a| {
                extensible_array::Header::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"HEAP", 1, "local heap", &[0], |b, a| {
                local_heap::LocalHeap::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"GCOL", 2, "global heap collection", &[1], |b, a| {
                global_heap::collection_size(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"GCOL", 0, "global heap collection", &[1], |b, a| {
                global_heap::collection_size(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"SNOD", 2, "symbol table node", &[1], |b, a| {
                symbol_table::decode(b, a, Sizes::DEFAULT, 8).map(drop)
            }),
            (b"OHDR", 1, "object header", &[2], |b, a| {
                object_header::Prefix::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"MDCI", 1, "metadata cache image", &[0], |b, a| {
                cache_image::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (b"OHDR", 3, "object header", &[2], |b, a| {
                object_header::Prefix::decode(b, a, Sizes::DEFAULT).map(drop)
            }),
            (
                &superblock::SIGNATURE,
                4,
                "superblock",
                &[0, 1, 2, 3],
                |b, a| superblock::Superblock::decode(b, a).map(drop),
            ),
        ];
        for (sig, version, structure, accepted, decode) in cases {
            let e = decode(&image(sig, version), at).unwrap_err();
            assert_eq!(
                (e.structure, e.offset, e.kind),
                (
                    structure,
                    at + sig.len() as u64,
                    ErrorKind::VersionNotAccepted { version, accepted }
                ),
            );
        }
    }

    /// Every decoder of a body without a signature reports an unknown version the same way:
    /// `VersionNotAccepted` at the version field's offset, naming the structure it decodes.
    #[test]
    fn body_versions_point_at_the_version_field() {
        use crate::message::{
            attribute, dataspace, datatype, fill_value, filter_pipeline, layout, link, misc, shared,
        };
        use crate::{cache_image, object_header, selection, superblock, vds};
        let at = 0x2000u64;
        let body = |lead: &[u8]| {
            let mut b = lead.to_vec();
            b.resize(64, 0);
            b
        };
        type Decode = fn(&[u8], u64) -> Result<()>;
        /// Leading bytes, decoder, structure name, offset of the version field from `at`,
        /// the version found, the accepted versions.
        type Case = (&'static [u8], Decode, &'static str, u64, u8, &'static [u8]);
        fn rd(b: &[u8], a: u64) -> Reader<'_> {
            Reader::new(b, a, Sizes::DEFAULT, "body")
        }
        let cases: [Case; 22] = [
            (
                &[0],
                |b, a| attribute::Attribute::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                0,
                &[1, 2, 3],
            ),
            (
                &[4],
                |b, a| attribute::Attribute::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                4,
                &[1, 2, 3],
            ),
            (
                &[3],
                |b, a| dataspace::Dataspace::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                3,
                &[1, 2],
            ),
            (
                &[0x60],
                |b, a| datatype::Datatype::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                6,
                &[1, 2, 3, 4, 5],
            ),
            (
                &[0x00],
                |b, a| datatype::Datatype::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                0,
                &[1, 2, 3, 4, 5],
            ),
            (
                &[4],
                |b, a| fill_value::FillValue::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                4,
                &[1, 2, 3],
            ),
            (
                &[3],
                |b, a| filter_pipeline::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                3,
                &[1, 2],
            ),
            (
                &[6],
                |b, a| layout::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                6,
                &[1, 2, 3, 4, 5],
            ),
            (
                &[2],
                |b, a| link::Link::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                2,
                &[1],
            ),
            (
                &[1],
                |b, a| link::LinkInfo::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                1,
                &[0],
            ),
            (
                &[1],
                |b, a| link::AttributeInfo::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                1,
                &[0],
            ),
            (
                &[1],
                |b, a| link::GroupInfo::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                1,
                &[0],
            ),
            (
                &[2],
                |b, a| misc::ExternalFiles::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                2,
                &[1],
            ),
            (
                &[0],
                |b, a| misc::decode_mtime(&mut rd(b, a)).map(drop),
                "body",
                0,
                0,
                &[1],
            ),
            (
                &[1],
                |b, a| misc::decode_refcount(&mut rd(b, a)).map(drop),
                "body",
                0,
                1,
                &[0],
            ),
            (
                &[2],
                |b, a| misc::decode_file_space_info(&mut rd(b, a)).map(drop),
                "body",
                0,
                2,
                &[0, 1],
            ),
            (
                &[4],
                |b, a| shared::Shared::decode(&mut rd(b, a)).map(drop),
                "body",
                0,
                4,
                &[1, 2, 3],
            ),
            (
                &[1],
                |b, a| cache_image::decode_message(&mut rd(b, a)).map(drop),
                "body",
                0,
                1,
                &[0],
            ),
            (
                &[1, 0, 0, 0, 3],
                |b, a| selection::SelectionEncoding::decode(&mut rd(b, a)).map(drop),
                "body",
                4,
                3,
                &[1, 2],
            ),
            (
                &[2, 0, 0, 0, 4],
                |b, a| selection::SelectionEncoding::decode(&mut rd(b, a)).map(drop),
                "body",
                4,
                4,
                &[1, 2, 3],
            ),
            (
                &[2],
                |b, a| object_header::Prefix::decode(b, a, Sizes::DEFAULT).map(drop),
                "object header",
                0,
                2,
                &[1],
            ),
            (
                &[1],
                |b, a| superblock::driver_id(b, a).map(drop),
                "driver info block",
                0,
                1,
                &[0],
            ),
        ];
        for (lead, decode, structure, offset, version, accepted) in cases {
            let e = decode(&body(lead), at).unwrap_err();
            assert_eq!(
                (e.structure, e.offset, e.kind),
                (
                    structure,
                    at + offset,
                    ErrorKind::VersionNotAccepted { version, accepted }
                ),
                "{lead:?}"
            );
        }
        // The mapping block is checksummed; its version byte is its first.
        let mut b = body(&[2]);
        let ck = crate::lookup3::checksum(&b);
        b.extend(ck.to_le_bytes());
        let e = vds::decode(&b, at, Sizes::DEFAULT).unwrap_err();
        assert_eq!(
            (e.structure, e.offset, e.kind),
            (
                "virtual dataset mapping block",
                at,
                ErrorKind::VersionNotAccepted {
                    version: 2,
                    accepted: &[0, 1]
                }
            )
        );
    }

    #[test]
    fn widths() {
        assert_eq!(bytes_needed(0), 1);
        assert_eq!(bytes_needed(255), 1);
        assert_eq!(bytes_needed(256), 2);
        assert_eq!(bytes_needed(u64::MAX), 8);
    }
}

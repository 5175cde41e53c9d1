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
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(ErrorKind::Truncated));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// Take `n` bytes as a reader of their own.
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
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }
    /// Move to `pos` bytes from the start.
    pub fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(self.err(ErrorKind::Truncated));
        }
        self.pos = pos;
        Ok(())
    }
    /// Skip to the next multiple of `n` bytes counted from the start of the slice.
    pub fn align(&mut self, n: usize) -> Result<()> {
        let pad = (n - self.pos % n) % n;
        self.skip(pad)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    /// A little-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(self.uint(2)? as u16)
    }
    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(self.uint(4)? as u32)
    }
    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        self.uint(8)
    }
    /// A little-endian unsigned integer of `n` ≤ 8 bytes.
    pub fn uint(&mut self, n: usize) -> Result<u64> {
        if n > 8 {
            return Err(self.invalid("integer width"));
        }
        let b = self.bytes(n)?;
        Ok(le_uint(b))
    }
    /// An address ("Size of Offsets" bytes); all bits set is the undefined address.
    pub fn offset(&mut self) -> Result<Addr> {
        let n = self.sizes.offset as usize;
        let v = self.uint(n)?;
        Ok(if is_undefined(v, n) { None } else { Some(v) })
    }
    /// An address that must be defined.
    pub fn defined_offset(&mut self, what: &'static str) -> Result<u64> {
        let here = self.addr();
        self.offset()?
            .ok_or_else(|| Error::invalid(self.structure, here, what))
    }
    /// A length ("Size of Lengths" bytes); all bits set decodes to `u64::MAX`.
    pub fn length(&mut self) -> Result<u64> {
        let n = self.sizes.length as usize;
        let v = self.uint(n)?;
        Ok(if is_undefined(v, n) { u64::MAX } else { v })
    }
    /// Expect the 4-byte signature `sig`.
    pub fn signature(&mut self, sig: &[u8; 4]) -> Result<()> {
        let here = self.addr();
        if self.bytes(4)? != sig {
            return Err(Error::new(self.structure, here, ErrorKind::BadSignature));
        }
        Ok(())
    }
    /// Bytes up to (not including) the next NUL, consuming the NUL.
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
    fn widths() {
        assert_eq!(bytes_needed(0), 1);
        assert_eq!(bytes_needed(255), 1);
        assert_eq!(bytes_needed(256), 2);
        assert_eq!(bytes_needed(u64::MAX), 8);
    }
}

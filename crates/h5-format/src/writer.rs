//! The mirror of [`crate::Reader`]: a little-endian byte sink that knows the file's [`Sizes`],
//! used by every encoder (`encode` lives beside each `decode`).

use crate::reader::{Addr, Sizes};
use alloc::vec::Vec;

/// Appends little-endian fields to a buffer.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    /// The bytes so far.
    pub buf: Vec<u8>,
    /// Offset and length widths of the file.
    pub sizes: Sizes,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes::DEFAULT
    }
}

impl Writer {
    /// An empty writer for a file with these sizes.
    pub fn new(sizes: Sizes) -> Self {
        Writer {
            buf: Vec::new(),
            sizes,
        }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// A little-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A little-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A little-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// The low `n` ≤ 8 bytes of `v`, little-endian.
    pub fn uint(&mut self, v: u64, n: usize) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes()[..n.min(8)]);
        self
    }
    /// An address ("Size of Offsets" bytes); `None` is the undefined address (all bits set).
    pub fn offset(&mut self, a: Addr) -> &mut Self {
        let n = self.sizes.offset as usize;
        self.uint(a.unwrap_or(u64::MAX), n)
    }
    /// A length ("Size of Lengths" bytes); `u64::MAX` writes all bits set.
    pub fn length(&mut self, v: u64) -> &mut Self {
        let n = self.sizes.length as usize;
        self.uint(v, n)
    }
    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// `n` zero bytes.
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }
    /// Zero-pad to a multiple of `n` bytes counted from `start`.
    pub fn pad_from(&mut self, start: usize, n: usize) -> &mut Self {
        let used = self.buf.len() - start;
        self.zeros((n - used % n) % n)
    }
    /// Append the lookup3 checksum of the bytes from `start` to here.
    pub fn checksum_from(&mut self, start: usize) -> &mut Self {
        let c = crate::lookup3::checksum(&self.buf[start..]);
        self.u32(c)
    }
    /// The bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// What storing an edited in-memory structure (v2 B-tree, fractal heap, fixed or extensible
/// array) produces: the blocks to write and the old blocks the edit retired. Addresses come
/// from the caller's allocator (an infallible `&mut dyn FnMut(size) -> address`; the caller
/// grows the file before writing).
///
/// `writes` is in a safe order: no block is written before every block it names, so the
/// structure's fixed-address header (which the rest of the file names) comes last. `freed`
/// lists `(address, size)` extents nothing names once `writes` are done; free them after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// `(address, bytes)` to write, in order.
    pub writes: Vec<(u64, Vec<u8>)>,
    /// `(address, size)` extents to free after the writes.
    pub freed: Vec<(u64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Reader;

    #[test]
    fn writes_what_the_reader_reads() {
        let sizes = Sizes {
            offset: 4,
            length: 2,
        };
        let mut w = Writer::new(sizes);
        w.u8(1)
            .u16(2)
            .u32(3)
            .offset(None)
            .offset(Some(7))
            .length(9)
            .bytes(b"ab")
            .pad_from(0, 8);
        let start = 0;
        w.checksum_from(start);
        let b = w.finish();
        let mut r = Reader::new(&b, 0, sizes, "test");
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 2);
        assert_eq!(r.u32().unwrap(), 3);
        assert_eq!(r.offset().unwrap(), None);
        assert_eq!(r.offset().unwrap(), Some(7));
        assert_eq!(r.length().unwrap(), 9);
        assert_eq!(r.bytes(2).unwrap(), b"ab");
        r.align(8).unwrap();
        r.checksum(0).unwrap();
        assert_eq!(r.remaining(), 0);
    }
}

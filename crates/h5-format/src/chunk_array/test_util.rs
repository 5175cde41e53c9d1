//! Test helpers shared by the tests of both arrays: byte builders and an in-memory file image.

use alloc::vec::Vec;

use super::ChunkElement;
use crate::error::{Error, ErrorKind, Result};
use crate::lookup3;
use crate::reader::{Addr, Sizes};
use crate::writer::Stored;

pub(crate) const S88: Sizes = Sizes::DEFAULT;
pub(crate) const S44: Sizes = Sizes {
    offset: 4,
    length: 4,
};

pub(crate) fn put(out: &mut Vec<u8>, v: u64, n: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..n]);
}

pub(crate) fn put_addr(out: &mut Vec<u8>, sizes: Sizes, a: Addr) {
    put(out, a.unwrap_or(u64::MAX), sizes.offset as usize);
}

pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let c = lookup3::checksum(&out);
    out.extend_from_slice(&c.to_le_bytes());
    out
}

/// Bytes from a hex string (whitespace ignored).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub(crate) fn put_elem(out: &mut Vec<u8>, sizes: Sizes, e: &ChunkElement, csl: usize) {
    put_addr(out, sizes, e.addr);
    if let Some(size) = e.size {
        put(out, size, csl);
        put(out, e.filter_mask.into(), 4);
    }
}

pub(crate) fn unfiltered(a: u64) -> ChunkElement {
    ChunkElement {
        addr: Some(a),
        size: None,
        filter_mask: 0,
    }
}

/// A file image in memory: a bump allocator and the bytes written so far.
pub(crate) struct Mem {
    pub(crate) bytes: Vec<u8>,
    pub(crate) next: u64,
    pub(crate) allocs: Vec<(u64, u64)>,
}

impl Mem {
    pub(crate) fn new(start: u64) -> Self {
        Mem {
            bytes: Vec::new(),
            next: start,
            allocs: Vec::new(),
        }
    }

    pub(crate) fn alloc(&mut self, size: u64) -> u64 {
        let a = self.next;
        self.next += size;
        self.allocs.push((a, size));
        a
    }

    /// Apply the writes, checking each lies inside an allocated extent.
    pub(crate) fn apply(&mut self, s: &Stored) {
        for (a, b) in &s.writes {
            let end = a + b.len() as u64;
            assert!(
                self.allocs.iter().any(|&(x, n)| x <= *a && end <= x + n),
                "write at {a:#x}+{} outside every allocation",
                b.len()
            );
            if self.bytes.len() < end as usize {
                self.bytes.resize(end as usize, 0xee);
            }
            self.bytes[*a as usize..end as usize].copy_from_slice(b);
        }
        assert!(s.freed.is_empty());
    }

    pub(crate) fn read(&self, a: u64, n: usize) -> Result<Vec<u8>> {
        let a_us = a as usize;
        self.bytes
            .get(a_us..a_us.saturating_add(n))
            .map(<[u8]>::to_vec)
            .ok_or(Error::new("test image", a, ErrorKind::Truncated))
    }
}

/// The two editing models, as the shared [`store`] and [`load`] drive them.
pub(crate) trait EditModel: Sized {
    fn store_with(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)>;
    fn load_with(
        addr: u64,
        sizes: Sizes,
        read: &mut dyn FnMut(u64, usize) -> Result<Vec<u8>>,
    ) -> Result<Self>;
}

macro_rules! impl_edit_model {
    ($($model:ty),*) => {$(
        impl EditModel for $model {
            fn store_with(&mut self, alloc: &mut dyn FnMut(u64) -> u64) -> Result<(u64, Stored)> {
                self.store(alloc)
            }
            fn load_with(
                addr: u64,
                sizes: Sizes,
                read: &mut dyn FnMut(u64, usize) -> Result<Vec<u8>>,
            ) -> Result<Self> {
                Self::load(addr, sizes, read)
            }
        }
    )*};
}

impl_edit_model!(
    crate::fixed_array::FixedArrayEdit,
    crate::extensible_array::ExtensibleArrayEdit
);

/// Store `edit` into `mem` (allocating from it and applying the writes).
pub(crate) fn store<M: EditModel>(edit: &mut M, mem: &mut Mem) -> (u64, Stored) {
    let (a, s) = edit.store_with(&mut |n| mem.alloc(n)).unwrap();
    mem.apply(&s);
    (a, s)
}

/// Load the array whose header is at `addr` in `mem`.
pub(crate) fn load<M: EditModel>(mem: &Mem, addr: u64, sizes: Sizes) -> M {
    M::load_with(addr, sizes, &mut |a, n| mem.read(a, n)).unwrap()
}

/// The addresses of `s`'s writes, in order.
pub(crate) fn write_addrs(s: &Stored) -> Vec<u64> {
    s.writes.iter().map(|w| w.0).collect()
}

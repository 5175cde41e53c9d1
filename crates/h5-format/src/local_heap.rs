//! Local heap (spec III.D): names of an old-style group's links.

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{le_uint, Addr, Reader, Sizes};
use crate::writer::Writer;
use alloc::vec::Vec;

/// libhdf5's "no further free block" value (`H5HL_FREE_NULL`): ends the free list inside the
/// data segment, and is what libhdf5 writes as the header's free-list offset when the heap
/// has no free block at all (the spec says the undefined address; readers accept both).
pub const FREE_NULL: u64 = 1;

/// A decoded local heap header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHeap {
    /// Size of the data segment.
    pub data_size: u64,
    /// Offset of the first free block.
    pub free_list: Addr,
    /// Address of the data segment.
    pub data_addr: u64,
}

impl LocalHeap {
    /// Encoded header size.
    pub fn header_size(sizes: Sizes) -> usize {
        8 + 2 * sizes.length as usize + sizes.offset as usize
    }

    /// Where the data segment starts, counted from the header's address, when it follows
    /// the header as libhdf5 allocates a new heap: the header size rounded up to 8 (32 with
    /// 8-byte sizes; with 4-byte sizes 4 zero bytes separate the 20-byte header and the data).
    pub fn data_offset(sizes: Sizes) -> usize {
        Self::header_size(sizes).next_multiple_of(8)
    }

    /// Encode the header ([`LocalHeap::header_size`] bytes): `HEAP`, version 0, 3 reserved
    /// bytes, the data segment size, the free-list offset (`None`: all bits set) and the data
    /// segment address. `decode(encode(x)) == x`.
    pub fn encode(&self, sizes: Sizes) -> Vec<u8> {
        let mut w = Writer::new(sizes);
        w.bytes(b"HEAP")
            .u8(0)
            .zeros(3)
            .length(self.data_size)
            .length(self.free_list.unwrap_or(u64::MAX))
            .offset(Some(self.data_addr));
        w.finish()
    }

    /// Decode a local heap header.
    ///
    /// # Errors
    /// `Truncated`; `BadSignature` (not `HEAP`); `VersionNotAccepted` (0 only); `Invalid` when the
    /// data segment address is undefined.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let mut r = Reader::new(buf, addr, sizes, "local heap");
        r.prologue(b"HEAP", &[0])?;
        r.skip(3)?;
        let data_size = r.length()?;
        let free = r.length()?;
        let free_list = if free == u64::MAX { None } else { Some(free) };
        let data_addr = r.defined_offset("local heap data address")?;
        Ok(LocalHeap {
            data_size,
            free_list,
            data_addr,
        })
    }
}

/// The NUL-terminated string at `offset` in a heap data segment.
///
/// # Errors
/// `Invalid` when `offset` lies beyond `data`; `Truncated` when no NUL follows it. Both at file
/// address `data_addr` + `offset`.
pub fn string_at(data: &[u8], offset: u64, data_addr: u64) -> Result<&[u8]> {
    let err = |kind| crate::Error::new("local heap", data_addr.saturating_add(offset), kind);
    let off = usize::try_from(offset).map_err(|_| err(ErrorKind::Invalid("name offset")))?;
    let rest = data
        .get(off..)
        .ok_or(err(ErrorKind::Invalid("name offset")))?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(err(ErrorKind::Truncated))?;
    Ok(&rest[..end])
}

/// One free block of a local heap's data segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeBlock {
    /// Offset in the data segment.
    pub offset: u64,
    /// Bytes, the block's own two length fields included.
    pub size: u64,
}

/// Builds a local heap's data segment the way libhdf5 does, so that a group written here has
/// the heap libhdf5 would have written: the same offsets, segment size and free list.
///
/// Objects are NUL-terminated strings padded to a multiple of 8. Each goes into the first
/// free block (in list order) that either fits it exactly or keeps at least a free block's
/// minimum size (two lengths rounded up to 8) after it; otherwise the segment grows by the
/// larger of its size and the object (it doubles), extending the free block that ends the
/// segment or adding one at the old end. A full heap has the free-list offset
/// [`FREE_NULL`]. Free blocks are stored in the segment as (offset of the next block or
/// [`FREE_NULL`], size), the rest of each block zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHeapBuilder {
    sizes: Sizes,
    data: Vec<u8>,
    free: Vec<FreeBlock>,
}

impl LocalHeapBuilder {
    /// The data segment size of a new group's heap with libhdf5's default group creation
    /// properties (room for 4 names of 8 characters, a free block, the empty name):
    /// 88 bytes when lengths are 8 bytes, 80 when they are 4 or 2.
    pub fn initial_size(sizes: Sizes) -> u64 {
        8 + (4 * 16 + 2 * sizes.length as u64).next_multiple_of(8)
    }

    /// The smallest free block: its two length fields, rounded up to 8.
    pub fn min_free_block(sizes: Sizes) -> u64 {
        (2 * sizes.length as u64).next_multiple_of(8)
    }

    /// A new group's heap, as libhdf5 creates it: [`LocalHeapBuilder::initial_size`] bytes,
    /// the empty string at offset 0 (8 zero bytes), the rest one free block.
    pub fn new(sizes: Sizes) -> Self {
        Self::with_size(sizes, Self::initial_size(sizes))
    }

    /// A heap whose data segment is `data_size` bytes (rounded up to a multiple of 8, at
    /// least 8), the empty string at offset 0 and the rest one free block (when it is at
    /// least [`LocalHeapBuilder::min_free_block`]).
    pub fn with_size(sizes: Sizes, data_size: u64) -> Self {
        let size = data_size.max(8).next_multiple_of(8);
        let mut b = LocalHeapBuilder {
            sizes,
            data: alloc::vec![0; size as usize],
            free: Vec::new(),
        };
        if size - 8 >= Self::min_free_block(sizes) {
            b.free.push(FreeBlock {
                offset: 8,
                size: size - 8,
            });
        }
        b.write_free_list();
        b
    }

    /// Continue an existing heap (to add names to a group of an existing file): its header
    /// and whole data segment. The free list is walked and checked: every block must lie in
    /// the segment, hold its two length fields, and the list must end (a repeat or a block
    /// outside the segment is an error naming the block's file address).
    ///
    /// # Errors
    /// `Invalid` when `data` is not `header.data_size` bytes, a free block's two length fields lie
    /// outside the segment, or its size is smaller than those fields or runs past the segment's
    /// end; `Cycle` when the free list comes back to a block.
    pub fn from_existing(sizes: Sizes, header: &LocalHeap, data: Vec<u8>) -> Result<Self> {
        let size = header.data_size;
        let err = |off: u64, what| {
            Error::invalid("local heap", header.data_addr.saturating_add(off), what)
        };
        if data.len() as u64 != size {
            return Err(err(0, "data segment size"));
        }
        let l = sizes.length as usize;
        let mut free: Vec<FreeBlock> = Vec::new();
        let mut seen = alloc::collections::BTreeSet::new();
        let mut next = header.free_list.unwrap_or(FREE_NULL);
        while next != FREE_NULL && next != u64::MAX {
            if !seen.insert(next) {
                return Err(Error::new(
                    "local heap",
                    header.data_addr.saturating_add(next),
                    ErrorKind::Cycle,
                ));
            }
            let at = usize::try_from(next).map_err(|_| err(next, "free block offset"))?;
            let fields = at
                .checked_add(2 * l)
                .and_then(|end| data.get(at..end))
                .ok_or_else(|| err(next, "free block offset"))?;
            let block = FreeBlock {
                offset: next,
                size: le_uint(&fields[l..]),
            };
            if block.size < 2 * l as u64 || block.size > size - block.offset {
                return Err(err(next, "free block size"));
            }
            next = le_uint(&fields[..l]);
            if l < 8 && next == (1u64 << (8 * l)) - 1 {
                next = u64::MAX;
            }
            free.push(block);
        }
        Ok(LocalHeapBuilder { sizes, data, free })
    }

    /// Add a name: its bytes (which should hold no NUL) and a NUL, padded with zeros to a
    /// multiple of 8 (the empty string takes 8 bytes, as libhdf5 stores it). Returns its offset in the data segment; the segment
    /// may grow (compare [`LocalHeapBuilder::data_size`] before and after: a grown segment
    /// must be written at a new address).
    pub fn add(&mut self, name: &[u8]) -> u64 {
        let need = (name.len() as u64 + 1).next_multiple_of(8);
        let min = Self::min_free_block(self.sizes);
        let mut offset = None;
        let mut last: Option<usize> = None;
        for i in 0..self.free.len() {
            let b = self.free[i];
            if b.size > need && b.size - need >= min {
                offset = Some(b.offset);
                self.free[i].offset += need;
                self.free[i].size -= need;
                break;
            } else if b.size == need {
                offset = Some(b.offset);
                self.free.remove(i);
                break;
            } else if last.is_none_or(|j| self.free[j].offset < b.offset) {
                last = Some(i);
            }
        }
        let offset = match offset {
            Some(o) => o,
            None => self.grow(need, last),
        };
        let at = offset as usize;
        let end = at + need as usize;
        self.data[at..end].fill(0);
        self.data[at..at + name.len()].copy_from_slice(name);
        self.write_free_list();
        offset
    }

    /// Grow the segment for an object of `need` bytes that fits no free block; returns its
    /// offset. `last` is the free block with the highest offset.
    fn grow(&mut self, need: u64, last: Option<usize>) -> u64 {
        let min = Self::min_free_block(self.sizes);
        let old = self.data.len() as u64;
        let more = need.max(old).max(min);
        self.data.resize((old + more) as usize, 0);
        match last {
            Some(i) if self.free[i].offset + self.free[i].size == old => {
                let b = &mut self.free[i];
                let offset = b.offset;
                b.offset += need;
                b.size = b.size + more - need;
                if b.size < min {
                    self.free.remove(i);
                }
                offset
            }
            _ => {
                if more - need >= min {
                    self.free.insert(
                        0,
                        FreeBlock {
                            offset: old + need,
                            size: more - need,
                        },
                    );
                }
                old
            }
        }
    }

    /// Write each free block's (next, size) fields into the segment.
    fn write_free_list(&mut self) {
        let l = self.sizes.length as usize;
        for i in 0..self.free.len() {
            let next = self.free.get(i + 1).map_or(FREE_NULL, |b| b.offset);
            let at = self.free[i].offset as usize;
            let size = self.free[i].size;
            self.data[at..at + l].copy_from_slice(&next.to_le_bytes()[..l]);
            self.data[at + l..at + 2 * l].copy_from_slice(&size.to_le_bytes()[..l]);
        }
    }

    /// The data segment: names, and the free blocks with their fields.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Size of the data segment.
    pub fn data_size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The free blocks, in list order.
    pub fn free_blocks(&self) -> &[FreeBlock] {
        &self.free
    }

    /// The header's free-list offset: the first free block, or [`FREE_NULL`] when the heap
    /// is full (what libhdf5 writes).
    pub fn free_list(&self) -> Addr {
        Some(self.free.first().map_or(FREE_NULL, |b| b.offset))
    }

    /// The heap's header for a data segment stored at `data_addr`.
    pub fn header(&self, data_addr: u64) -> LocalHeap {
        LocalHeap {
            data_size: self.data_size(),
            free_list: self.free_list(),
            data_addr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_strings() {
        let mut b = b"HEAP\0\0\0\0".to_vec();
        b.extend(88u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        b.extend(0x2a8u64.to_le_bytes());
        let h = LocalHeap::decode(&b, 0x290, Sizes::DEFAULT).unwrap();
        assert_eq!(h.data_size, 88);
        assert_eq!(h.free_list, None);
        let data = b"\0\0\0\0\0\0\0\0abc\0";
        assert_eq!(string_at(data, 8, 0).unwrap(), b"abc");
        assert!(string_at(data, 100, 0).is_err());
        assert!(string_at(b"abc", 0, 0).is_err());
    }

    use crate::chunk_array::test_util::hex;

    #[test]
    fn header_round_trip() {
        for sizes in [
            Sizes::DEFAULT,
            Sizes {
                offset: 4,
                length: 2,
            },
        ] {
            for free_list in [None, Some(FREE_NULL), Some(24)] {
                let h = LocalHeap {
                    data_size: 88,
                    free_list,
                    data_addr: 0x2c8,
                };
                let b = h.encode(sizes);
                assert_eq!(b.len(), LocalHeap::header_size(sizes));
                assert_eq!(LocalHeap::decode(&b, 0x2a8, sizes).unwrap(), h);
            }
        }
        assert_eq!(LocalHeap::data_offset(Sizes::DEFAULT), 32);
        let s4 = Sizes {
            offset: 4,
            length: 4,
        };
        assert_eq!(LocalHeap::data_offset(s4), 24);
    }

    #[test]
    fn builder_allocates_like_libhdf5() {
        let sizes = Sizes::DEFAULT;
        let mut b = LocalHeapBuilder::new(sizes);
        assert_eq!(b.data_size(), 88);
        assert_eq!(b.free_list(), Some(8));
        assert_eq!(b.add(b"a"), 8);
        assert_eq!(b.add(b"abcdefgh"), 16); // 9 bytes take 16
        assert_eq!(
            b.free_blocks(),
            [FreeBlock {
                offset: 32,
                size: 56
            }]
        );
        assert_eq!(string_at(b.data(), 16, 0).unwrap(), b"abcdefgh");
        // fill to a 16-byte block: an 8-byte name cannot leave 8 (too small to be free)
        for n in [b"c", b"d", b"e", b"f", b"g"] {
            b.add(n);
        }
        assert_eq!(
            b.free_blocks(),
            [FreeBlock {
                offset: 72,
                size: 16
            }]
        );
        assert_eq!(b.add(b"h"), 72); // grows: 88 + 88, the end block extended
        assert_eq!(b.data_size(), 176);
        assert_eq!(
            b.free_blocks(),
            [FreeBlock {
                offset: 80,
                size: 96
            }]
        );
        // an exact fit empties the free list: libhdf5 then writes FREE_NULL
        let mut b = LocalHeapBuilder::new(sizes);
        for n in [b"n0", b"n1", b"n2", b"n3", b"n4", b"n5", b"n6", b"n7"] {
            b.add(n);
        }
        assert_eq!(b.add(b"abcdefghij"), 72);
        assert_eq!((b.data_size(), b.free_list()), (88, Some(FREE_NULL)));
        // a full heap grows by a new block at the old end; a big name more than doubles
        assert_eq!(b.add(&[b'x'; 100]), 88);
        assert_eq!(b.data_size(), 88 + 104);
        assert_eq!(b.free_list(), Some(FREE_NULL));
        assert_eq!(b.add(b"y"), 192);
        assert_eq!(b.data_size(), 384);
        assert_eq!(
            b.free_blocks(),
            [FreeBlock {
                offset: 200,
                size: 184
            }]
        );
    }

    #[test]
    fn full_heap_matches_libhdf5_bytes() {
        // libhdf5 1.10.8: a group with 8 two-letter names and one of 10 letters, which fills
        // the last free block exactly: the header's free-list offset is 1, not undefined.
        let header = hex("4845415000000000580000000000000001000000000000008805000000000000");
        let data = hex(
            "00000000000000006e300000000000006e310000000000006e320000000000006e33000000000000
             6e340000000000006e350000000000006e360000000000006e370000000000006162636465666768
             696a000000000000",
        );
        let sizes = Sizes::DEFAULT;
        let mut b = LocalHeapBuilder::new(sizes);
        for n in [b"n0", b"n1", b"n2", b"n3", b"n4", b"n5", b"n6", b"n7"] {
            b.add(n);
        }
        b.add(b"abcdefghij");
        assert_eq!(b.header(0x588).encode(sizes), header);
        assert_eq!(b.data(), data);
        assert_eq!(
            LocalHeap::decode(&header, 0x568, sizes).unwrap().free_list,
            Some(FREE_NULL)
        );
    }

    const GROUPS_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/groups_earliest.h5");

    /// The objects of a heap's data segment in offset order (= the order libhdf5 inserted
    /// them, since these heaps never had a deletion), skipping the free blocks.
    fn objects(data: &[u8], free: &[FreeBlock]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut p = 8; // offset 0: the empty string
        while p < data.len() {
            if let Some(b) = free.iter().find(|b| b.offset as usize == p) {
                p += b.size as usize;
                continue;
            }
            let s = string_at(data, p as u64, 0).unwrap();
            out.push(s.to_vec());
            p += (s.len() + 1).next_multiple_of(8);
        }
        out
    }

    #[test]
    fn heaps_match_libhdf5_bytes() {
        // Every group heap of groups_earliest.h5, rebuilt by adding its names (and soft link
        // values) in order: header and data segment byte for byte. /wide grew 88 -> 11264
        // through 7 doublings; /dense to 352; the others stayed at 88.
        let sizes = Sizes::DEFAULT;
        let heaps = [
            0x2a8, 0x5c8, 0x1a20, 0x1e00, 0x21e0, 0x31a0, 0x3460, 0x39f8, 0x8f40, 0xa798,
        ];
        for addr in heaps {
            let file = GROUPS_EARLIEST;
            let hlen = LocalHeap::header_size(sizes);
            let h = LocalHeap::decode(&file[addr..addr + hlen], addr as u64, sizes).unwrap();
            let (da, ds) = (h.data_addr as usize, h.data_size as usize);
            let data = &file[da..da + ds];
            let loaded = LocalHeapBuilder::from_existing(sizes, &h, data.to_vec()).unwrap();
            let names = objects(data, loaded.free_blocks());
            let mut b = LocalHeapBuilder::new(sizes);
            let mut half = None;
            for (i, n) in names.iter().enumerate() {
                b.add(n);
                if i == names.len() / 2 {
                    half = Some(b.clone());
                }
            }
            assert!(b.data() == data, "heap at {addr:#x}: data segment");
            assert_eq!(b.header(h.data_addr), h, "heap at {addr:#x}");
            assert_eq!(b.header(h.data_addr).encode(sizes), file[addr..addr + hlen]);
            assert_eq!(loaded, b);
            // a heap continued from its stored form grows the same way
            if let Some(half) = half {
                let hh = half.header(0);
                let mut cont =
                    LocalHeapBuilder::from_existing(sizes, &hh, half.data().to_vec()).unwrap();
                for n in &names[names.len() / 2 + 1..] {
                    cont.add(n);
                }
                assert_eq!(cont, b);
            }
        }
    }

    #[test]
    fn heap_with_4_byte_sizes_matches_libhdf5_bytes() {
        // libhdf5 1.10.8, H5Pset_sizes(4, 4): a group of 10 subgroups. The initial segment
        // is 80 bytes, grown to 160 at the 8th name; the data segment moved away from the
        // header (20 bytes, then 4 zero bytes before a segment that follows it).
        let header = hex("4845415000000000a000000068000000c0120000");
        let data = hex(
            "0000000000000000616c706861000000626574610000000067616d6d6100000064656c7461000000
             657073696c6f6e5f6c6f6e675f6e616d65000000000000007a657461000000006574610000000000
             7468657461000000696f7461000000006b6170706100000001000000380000000000000000000000
             00000000000000000000000000000000000000000000000000000000000000000000000000000000",
        );
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let mut b = LocalHeapBuilder::new(sizes);
        assert_eq!(b.data_size(), 80);
        let names: [&[u8]; 10] = [
            b"alpha",
            b"beta",
            b"gamma",
            b"delta",
            b"epsilon_long_name",
            b"zeta",
            b"eta",
            b"theta",
            b"iota",
            b"kappa",
        ];
        for n in names {
            b.add(n);
        }
        assert_eq!(b.header(0x12c0).encode(sizes), header);
        assert_eq!(b.data(), data);
    }

    #[test]
    fn bad_free_lists_are_errors() {
        let sizes = Sizes::DEFAULT;
        let b = LocalHeapBuilder::new(sizes);
        let mut h = b.header(0x100);
        let mut data = b.data().to_vec();
        // a list that points back at itself
        data[8] = 8;
        assert_eq!(
            LocalHeapBuilder::from_existing(sizes, &h, data.clone())
                .unwrap_err()
                .kind,
            ErrorKind::Cycle
        );
        // a block running past the segment
        data[8] = 1;
        data[16] = 200;
        assert!(LocalHeapBuilder::from_existing(sizes, &h, data.clone()).is_err());
        // a head outside the segment; a segment of the wrong size
        h.free_list = Some(4000);
        assert!(LocalHeapBuilder::from_existing(sizes, &h, b.data().to_vec()).is_err());
        h.free_list = Some(8);
        assert!(LocalHeapBuilder::from_existing(sizes, &h, alloc::vec![0; 8]).is_err());
        // a full heap (free list FREE_NULL or undefined) loads with no blocks
        h.free_list = None;
        let full = LocalHeapBuilder::from_existing(sizes, &h, b.data().to_vec()).unwrap();
        assert!(full.free_blocks().is_empty());
    }
}

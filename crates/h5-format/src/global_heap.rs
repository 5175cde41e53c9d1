//! Global heap collections (spec III.E): variable-length data and region references.

use crate::error::{ErrorKind, Result};
use crate::reader::{Reader, Sizes};
use crate::writer::Writer;
use alloc::vec::Vec;

/// The smallest collection libhdf5 creates (and accepts): 4096 bytes.
pub const MIN_COLLECTION_SIZE: u64 = 4096;

/// Bytes before the first object in a collection: signature, version, 3 reserved, the
/// collection size, padded to a multiple of 8 (libhdf5 aligns it: 16 bytes whether lengths
/// are 8, 4 or 2 bytes).
pub fn collection_header_size(sizes: Sizes) -> usize {
    (8 + sizes.length as usize).next_multiple_of(8)
}

/// Bytes before an object's data: index, reference count, 4 reserved, the size, padded to a
/// multiple of 8 as libhdf5 writes it (16 bytes for lengths of 8, 4 or 2 bytes).
pub fn object_header_size(sizes: Sizes) -> usize {
    (8 + sizes.length as usize).next_multiple_of(8)
}

/// Decode a collection header: returns the collection size (including the header).
///
/// # Errors
/// `Truncated`; `BadSignature` (not `GCOL`); `VersionNotAccepted` (1 only); `Invalid` when the
/// collection size is smaller than the collection header.
pub fn collection_size(buf: &[u8], addr: u64, sizes: Sizes) -> Result<u64> {
    let mut r = Reader::new(buf, addr, sizes, "global heap collection");
    r.prologue(b"GCOL", &[1])?;
    r.skip(3)?;
    let size = r.length()?;
    if size < collection_header_size(sizes) as u64 {
        return Err(r.invalid("global heap collection size"));
    }
    Ok(size)
}

/// A global heap ID as stored in vlen elements and region references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalHeapId {
    /// Collection address.
    pub collection: u64,
    /// Object index in the collection.
    pub index: u32,
}

/// Find object `index` in a whole collection (`buf` holds the collection, header included).
/// Returns the object's bytes.
///
/// # Errors
/// `Truncated` when `buf` ends inside the collection header or inside an object's data; `Invalid`
/// for an object size that does not fit in memory, or when no object before the free space (or the
/// end of `buf`) has index `index`. The collection header is skipped, not checked (see
/// [`collection_size`]).
pub fn find_object(buf: &[u8], addr: u64, sizes: Sizes, index: u32) -> Result<&[u8]> {
    let mut objects = Objects::new(buf, addr, sizes);
    for o in objects.by_ref() {
        let (id, range) = o?;
        if id as u32 == index {
            return Ok(&buf[range]);
        }
    }
    Err(objects.r.invalid("global heap object index (not found)"))
}

/// The objects of a whole collection in order, as (index, the object's bytes as a range of
/// `buf`), up to the free space (index 0) or the end of `buf`. An object that does not fit
/// is an error, and the last item. [`find_object`] is the first of these with its index.
#[derive(Debug, Clone)]
pub struct Objects<'a> {
    r: Reader<'a>,
    sizes: Sizes,
    /// The collection header's error, given as the first item.
    start: Option<crate::error::Error>,
    done: bool,
}

impl<'a> Objects<'a> {
    /// The objects of the collection `buf` (header included) at `addr`.
    pub fn new(buf: &'a [u8], addr: u64, sizes: Sizes) -> Self {
        let mut r = Reader::new(buf, addr, sizes, "global heap collection");
        let start = r.skip(collection_header_size(sizes)).err();
        Objects {
            r,
            sizes,
            start,
            done: false,
        }
    }

    fn next_object(&mut self) -> Result<Option<(u16, core::ops::Range<usize>)>> {
        let sizes = self.sizes;
        let obj_header = object_header_size(sizes);
        if self.r.remaining() < obj_header {
            return Ok(None);
        }
        let id = self.r.u16()?;
        let _refcount = self.r.u16()?;
        self.r.skip(4)?;
        let size = self.r.length()?;
        self.r.skip(obj_header - 8 - sizes.length as usize)?;
        if id == 0 {
            return Ok(None); // free space: the end of the objects
        }
        let n = usize::try_from(size).map_err(|_| self.r.invalid("global heap object size"))?;
        let start = self.r.position();
        self.r.bytes(n)?;
        let end = self.r.position();
        self.r
            .skip((8 - n % 8) % 8)
            .or_else(|_| self.r.seek(end + self.r.remaining()))?;
        let range = start..end;
        Ok(Some((id, range)))
    }
}

impl Iterator for Objects<'_> {
    type Item = Result<(u16, core::ops::Range<usize>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.start.take() {
            self.done = true;
            return Some(Err(e));
        }
        let item = self.next_object().transpose();
        self.done = !matches!(item, Some(Ok(_)));
        item
    }
}

/// One object of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapObject {
    /// Object index (1, 2, …; 0 is the free space).
    pub index: u16,
    /// Reference count: libhdf5 writes 0 for the vlen data and region references it
    /// stores.
    pub refcount: u16,
    /// The object's bytes.
    pub data: Vec<u8>,
}

/// Builds a global heap collection as libhdf5 lays it out: `GCOL`, version 1, the collection
/// size, the objects (each an aligned header, then its data padded to a multiple of 8), then
/// the free space as object 0 — a header whose size counts itself and the zero bytes after
/// it — when at least an object header's worth remains (less is left as zero bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionBuilder {
    sizes: Sizes,
    size: u64,
    objects: Vec<HeapObject>,
}

impl CollectionBuilder {
    /// An empty collection of [`MIN_COLLECTION_SIZE`] bytes.
    pub fn new(sizes: Sizes) -> Self {
        Self::with_size(sizes, MIN_COLLECTION_SIZE)
    }

    /// An empty collection of `size` bytes, rounded up to a multiple of 8 and to at least
    /// [`MIN_COLLECTION_SIZE`].
    pub fn with_size(sizes: Sizes, size: u64) -> Self {
        CollectionBuilder {
            sizes,
            size: size.max(MIN_COLLECTION_SIZE).next_multiple_of(8),
            objects: Vec::new(),
        }
    }

    /// The collection libhdf5 creates for an object of `data_len` bytes that fits in no
    /// existing collection: [`MIN_COLLECTION_SIZE`], or exactly the header, the object
    /// header and the padded data when that is more (no free space then).
    pub fn for_object(sizes: Sizes, data_len: usize) -> Self {
        let need = (collection_header_size(sizes) + Self::object_len(sizes, data_len)) as u64;
        Self::with_size(sizes, need)
    }

    /// Bytes an object of `data_len` bytes takes: its header and the data padded to 8.
    pub fn object_len(sizes: Sizes, data_len: usize) -> usize {
        object_header_size(sizes) + data_len.next_multiple_of(8)
    }

    /// Collection size in bytes (what [`CollectionBuilder::encode`] returns).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes not used by the header and the objects (the free-space object included).
    pub fn free_space(&self) -> u64 {
        let used: usize = collection_header_size(self.sizes)
            + self
                .objects
                .iter()
                .map(|o| Self::object_len(self.sizes, o.data.len()))
                .sum::<usize>();
        self.size.saturating_sub(used as u64)
    }

    /// Whether an object of `data_len` bytes fits in the free space.
    pub fn fits(&self, data_len: usize) -> bool {
        Self::object_len(self.sizes, data_len) as u64 <= self.free_space()
    }

    /// The objects, in collection order.
    pub fn objects(&self) -> &[HeapObject] {
        &self.objects
    }

    /// Add an object with reference count 0 (as libhdf5 stores vlen data); returns its
    /// index, or `None` when it does not fit (start a new collection, e.g.
    /// [`CollectionBuilder::for_object`]) or every index is taken.
    pub fn add(&mut self, data: &[u8]) -> Option<u16> {
        self.add_with_refcount(data, 0)
    }

    /// Add an object with the given reference count; see [`CollectionBuilder::add`].
    /// Indices go up from 1 (one past the largest in use, as libhdf5 assigns them; the
    /// smallest free one once 65535 is taken).
    pub fn add_with_refcount(&mut self, data: &[u8], refcount: u16) -> Option<u16> {
        if !self.fits(data.len()) {
            return None;
        }
        let max = self.objects.iter().map(|o| o.index).max().unwrap_or(0);
        let index = match max.checked_add(1) {
            Some(i) => i,
            None => (1..=u16::MAX).find(|i| self.objects.iter().all(|o| o.index != *i))?,
        };
        self.objects.push(HeapObject {
            index,
            refcount,
            data: data.to_vec(),
        });
        Some(index)
    }

    /// Encode the whole collection ([`CollectionBuilder::size`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let sizes = self.sizes;
        let l = sizes.length as usize;
        let mut w = Writer::new(sizes);
        w.bytes(b"GCOL").u8(1).zeros(3).length(self.size);
        w.zeros(collection_header_size(sizes) - 8 - l);
        let pad = object_header_size(sizes) - 8 - l;
        for o in &self.objects {
            w.u16(o.index)
                .u16(o.refcount)
                .zeros(4)
                .length(o.data.len() as u64);
            w.zeros(pad).bytes(&o.data).pad_from(0, 8);
        }
        let free = self.size as usize - w.len();
        if free >= object_header_size(sizes) {
            w.u16(0).u16(0).zeros(4).length(free as u64);
        }
        w.zeros(self.size as usize - w.len());
        w.finish()
    }

    /// Decode a whole collection (`buf` holds at least its size in bytes) into a builder that
    /// can take more objects; `decode(encode(x)) == x`. Objects are kept in stored order; the
    /// scan stops at the free-space object or when less than an object header remains.
    ///
    /// # Errors
    /// As [`collection_size`]; `Truncated` when `buf` is shorter than the collection size or ends
    /// inside an object; `Invalid` for an object size that does not fit in memory or an object
    /// whose padding runs past the end of the collection.
    pub fn decode(buf: &[u8], addr: u64, sizes: Sizes) -> Result<Self> {
        let size = collection_size(buf, addr, sizes)?;
        let len = usize::try_from(size)
            .ok()
            .filter(|&n| n <= buf.len())
            .ok_or_else(|| {
                crate::Error::new("global heap collection", addr, ErrorKind::Truncated)
            })?;
        let mut r = Reader::new(&buf[..len], addr, sizes, "global heap collection");
        r.skip(collection_header_size(sizes))?;
        let obj_header = object_header_size(sizes);
        let mut objects = Vec::new();
        while r.remaining() >= obj_header {
            let index = r.u16()?;
            let refcount = r.u16()?;
            r.skip(4)?;
            let n = r.length()?;
            r.skip(obj_header - 8 - sizes.length as usize)?;
            if index == 0 {
                break;
            }
            let n = usize::try_from(n).map_err(|_| r.invalid("global heap object size"))?;
            let data = r.bytes(n)?.to_vec();
            r.skip(n.next_multiple_of(8) - n)
                .map_err(|_| r.invalid("global heap object padding"))?;
            objects.push(HeapObject {
                index,
                refcount,
                data,
            });
        }
        Ok(CollectionBuilder {
            sizes,
            size,
            objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_objects() {
        let mut b = b"GCOL\x01\0\0\0".to_vec();
        b.extend(64u64.to_le_bytes());
        for (id, data) in [(1u16, &b"abc"[..]), (2, b"hello")] {
            b.extend(id.to_le_bytes());
            b.extend(1u16.to_le_bytes());
            b.extend([0; 4]);
            b.extend((data.len() as u64).to_le_bytes());
            b.extend(data);
            b.extend(&[0u8; 8][..(8 - data.len() % 8) % 8]);
        }
        b.resize(64, 0);
        assert_eq!(collection_size(&b, 0, Sizes::DEFAULT).unwrap(), 64);
        assert_eq!(find_object(&b, 0, Sizes::DEFAULT, 2).unwrap(), b"hello");
        assert_eq!(find_object(&b, 0, Sizes::DEFAULT, 1).unwrap(), b"abc");
        assert!(find_object(&b, 0, Sizes::DEFAULT, 3).is_err());
        // the objects in order, as ranges of the collection
        let all: Vec<_> = Objects::new(&b, 0, Sizes::DEFAULT)
            .map(|o| o.map(|(id, r)| (id, b[r].to_vec())))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(all, [(1, b"abc".to_vec()), (2, b"hello".to_vec())]);
        // an object that runs past the collection ends them with an error; one before it
        // is still found
        let mut cut = b[..16 + 16 + 8 + 16].to_vec();
        cut[16 + 16 + 8 + 8..16 + 16 + 8 + 16].copy_from_slice(&100u64.to_le_bytes());
        let items: Vec<_> = Objects::new(&cut, 0, Sizes::DEFAULT).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().0, 1);
        assert!(items[1].is_err());
        assert_eq!(find_object(&cut, 0, Sizes::DEFAULT, 1).unwrap(), b"abc");
        assert!(find_object(&cut, 0, Sizes::DEFAULT, 2).is_err());
        // a collection shorter than its header: the error comes first, then nothing
        let mut short = Objects::new(&b[..10], 0, Sizes::DEFAULT);
        assert!(short.next().unwrap().is_err());
        assert!(short.next().is_none());
    }

    use crate::chunk_array::test_util::hex;

    #[test]
    fn builder_round_trip() {
        for sizes in [
            Sizes::DEFAULT,
            Sizes {
                offset: 4,
                length: 4,
            },
            Sizes {
                offset: 8,
                length: 2,
            },
        ] {
            let mut c = CollectionBuilder::new(sizes);
            assert_eq!(c.add(b"hello world"), Some(1));
            assert_eq!(c.add(b""), Some(2));
            assert_eq!(c.add_with_refcount(&[7; 16], 3), Some(3));
            let b = c.encode();
            assert_eq!(b.len(), 4096);
            assert_eq!(collection_size(&b, 0x800, sizes).unwrap(), 4096);
            assert_eq!(find_object(&b, 0x800, sizes, 1).unwrap(), b"hello world");
            assert_eq!(find_object(&b, 0x800, sizes, 2).unwrap(), b"");
            assert_eq!(find_object(&b, 0x800, sizes, 3).unwrap(), &[7; 16]);
            let back = CollectionBuilder::decode(&b, 0x800, sizes).unwrap();
            assert_eq!(back, c);
            assert_eq!(back.objects()[2].refcount, 3);
            // the free space is object 0 whose size runs to the end
            let free_at = 16 + 32 + 16 + 32;
            assert_eq!(c.free_space(), 4096 - free_at as u64);
            assert_eq!(b[free_at..free_at + 2], [0, 0]);
        }
    }

    #[test]
    fn collection_sizes_follow_libhdf5() {
        // Measured with libhdf5 1.10.8 (one vlen string per collection): 5000 bytes make a
        // 5032-byte collection with no free-space object; 4064 fill 4096 exactly; 4056 leave
        // 8 bytes, too few for a free-space header, which stay zero.
        let sizes = Sizes::DEFAULT;
        for (len, size, free) in [
            (5000, 5032, 0),
            (4064, 4096, 0),
            (4056, 4096, 8),
            (3, 4096, 4056),
        ] {
            let mut c = CollectionBuilder::for_object(sizes, len);
            assert_eq!(c.size(), size);
            assert_eq!(c.add(&alloc::vec![b'x'; len]), Some(1));
            assert_eq!(c.free_space(), free);
            let b = c.encode();
            assert_eq!(b.len() as u64, size);
            if free < 16 {
                assert!(b[b.len() - free as usize..].iter().all(|&x| x == 0));
            }
            assert_eq!(CollectionBuilder::decode(&b, 0, sizes).unwrap(), c);
        }
        let mut full = CollectionBuilder::for_object(sizes, 4064);
        full.add(&[0; 4064]);
        assert!(!full.fits(0));
        assert_eq!(full.add(b"a"), None);
        let c = CollectionBuilder::new(sizes);
        assert!(c.fits(4064));
        assert!(!c.fits(4065));
    }

    // Collections written by libhdf5 (h5py fixtures): vlen strings and sequences, region
    // references, VDS mappings. Decoded and re-encoded, and rebuilt object by object.
    #[test]
    fn collections_match_libhdf5_bytes() {
        let files: [(&[u8], usize); 5] = [
            (
                include_bytes!("../../../fixtures/files/dtypes_earliest.h5"),
                0x48c0,
            ),
            (
                include_bytes!("../../../fixtures/files/attrs_earliest.h5"),
                0x800,
            ),
            (
                include_bytes!("../../../fixtures/files/layouts_earliest.h5"),
                0x840,
            ),
            (
                include_bytes!("../../../fixtures/files/filters_v110.h5"),
                0x458d,
            ),
            (
                include_bytes!("../../../fixtures/files/vds_earliest.h5"),
                0x2030,
            ),
        ];
        let sizes = Sizes::DEFAULT;
        for (file, addr) in files {
            let bytes = &file[addr..addr + 4096];
            let c = CollectionBuilder::decode(bytes, addr as u64, sizes).unwrap();
            assert!(c.encode() == bytes, "collection at {addr:#x}");
            let mut fresh = CollectionBuilder::new(sizes);
            for (i, o) in c.objects().iter().enumerate() {
                assert_eq!(o.index as usize, i + 1);
                assert_eq!(fresh.add_with_refcount(&o.data, o.refcount), Some(o.index));
            }
            assert!(fresh.encode() == bytes, "collection at {addr:#x} rebuilt");
        }
        // dtypes_earliest: 26 objects (empty strings among them), refcount 0 throughout
        let c = CollectionBuilder::decode(&files[0].0[0x48c0..], 0x48c0, sizes).unwrap();
        assert_eq!(c.objects().len(), 26);
        assert!(c.objects().iter().all(|o| o.refcount == 0));
        assert_eq!(c.objects()[3].data, b"");
    }

    #[test]
    fn collection_with_4_byte_lengths_matches_libhdf5_bytes() {
        // libhdf5 1.10.8, H5Pset_sizes(4, 4): three vlen strings ("hello", "", "world!!!!",
        // stored last to first). The collection header and every object header are padded
        // to 16 bytes; the rest of the 4096 bytes is zero.
        let used = hex(
            "47434f4c01000000001000000000000001000000000000000900000000000000776f726c642121212100
             000000000000020000000000000000000000000000000300000000000000050000000000000068656c6c
             6f0000000000000000000000a80f000000000000",
        );
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let mut full = used;
        full.resize(4096, 0);
        let mut c = CollectionBuilder::new(sizes);
        c.add(b"world!!!!");
        c.add(b"");
        c.add(b"hello");
        assert_eq!(c.encode(), full);
        assert_eq!(find_object(&full, 0, sizes, 3).unwrap(), b"hello");
        assert_eq!(CollectionBuilder::decode(&full, 0, sizes).unwrap(), c);
    }
}

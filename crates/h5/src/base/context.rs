//! The file as a reader sees it: storage, superblock, sizes and limits, and reads of
//! metadata and data bounded by the file and the limits. No handles, no writer state.

use super::cache::{Decoded, Kind, PageCache};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::storage::Storage;
use h5_format::superblock::Superblock;
use h5_format::{ErrorKind, Sizes};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// A global heap collection's bytes and where its objects are (the first of each index).
#[derive(Debug)]
pub(crate) struct Collection {
    addr: u64,
    bytes: Vec<u8>,
    first: HashMap<u16, Range<usize>>,
}

impl Collection {
    /// Object `index`: what `global_heap::find_object` gives, errors included.
    pub(crate) fn object(&self, f: &FileInner, index: u32) -> Result<&[u8]> {
        match u16::try_from(index).ok().and_then(|i| self.first.get(&i)) {
            Some(r) => Ok(&self.bytes[r.clone()]),
            None => f.dec(h5_format::global_heap::find_object(
                &self.bytes,
                self.addr,
                f.sizes,
                index,
            )),
        }
    }
}

/// An open file's read context (the writer keeps its own state beside it).
#[derive(Debug)]
pub(crate) struct FileInner {
    pub(crate) storage: Box<dyn Storage>,
    pub(crate) superblock: Superblock,
    /// File offset of address 0.
    pub(crate) base: u64,
    pub(crate) sizes: Sizes,
    pub(crate) limits: Limits,
    pub(crate) path: Option<PathBuf>,
    pub(crate) filters: std::sync::Arc<h5_filters::Registry>,
    /// Metadata saved in a metadata cache image; filled once at open, then only read.
    pub(crate) overlay: Overlay,
    /// Metadata pages read so far (writes drop what they touch).
    pub(crate) pages: PageCache,
    /// Structures decoded from them that lookups reuse (dropped by any write).
    pub(crate) decoded: Decoded,
}

/// The entries of a metadata cache image (superblock extension message 0x18): metadata
/// reads that fall within an entry are served from the image, as libhdf5 does, since an
/// entry's own address may never have been written.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// The image block as read from the file.
    pub(super) block: Vec<u8>,
    /// Entry address → (end address, byte range of its image in `block`). Entries do not
    /// overlap (checked by the decoder).
    pub(super) entries: BTreeMap<u64, (u64, Range<usize>)>,
}

impl Overlay {
    /// Whether the file had no metadata cache image.
    pub(crate) fn is_empty(&self) -> bool {
        self.block.is_empty()
    }

    /// The entry holding address `addr`: (its start address, end address, image range).
    fn entry_at(&self, addr: u64) -> Option<(u64, u64, &Range<usize>)> {
        let (&start, (end, range)) = self.entries.range(..=addr).next_back()?;
        (addr < *end).then_some((start, *end, range))
    }

    /// The bytes `[addr, addr + len)` when one entry holds all of them.
    fn within(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let (start, end, range) = self.entry_at(addr)?;
        if addr.checked_add(len)? > end {
            return None;
        }
        let from = range.start + (addr - start) as usize;
        Some(&self.block[from..from + len as usize])
    }

    /// Bytes available from `addr` to the end of the entry holding it.
    fn available(&self, addr: u64) -> Option<u64> {
        self.entry_at(addr).map(|(_, end, _)| end - addr)
    }

    /// Overwrite the parts of `buf` (read from storage at `addr`) that entries hold.
    fn patch(&self, addr: u64, buf: &mut [u8]) {
        if self.entries.is_empty() || buf.is_empty() {
            return;
        }
        let end = addr.saturating_add(buf.len() as u64);
        let first = self.entry_at(addr).map_or(addr, |(start, _, _)| start);
        for (&start, (eend, range)) in self.entries.range(first..end) {
            let lo = start.max(addr);
            let hi = (*eend).min(end);
            if lo >= hi {
                continue;
            }
            let src = range.start + (lo - start) as usize;
            let n = (hi - lo) as usize;
            let dst = (lo - addr) as usize;
            buf[dst..dst + n].copy_from_slice(&self.block[src..src + n]);
        }
    }
}

impl FileInner {
    pub(crate) fn file_len(&self) -> u64 {
        self.storage.len()
    }

    fn check_range(&self, addr: u64, len: u64, structure: &'static str) -> Result<u64> {
        let off = self.base.checked_add(addr);
        let end = off.and_then(|o| o.checked_add(len));
        match (off, end) {
            (Some(o), Some(e)) if e <= self.file_len() => Ok(o),
            _ => Err(h5_format::Error::new(
                structure,
                self.base.saturating_add(addr),
                ErrorKind::Truncated,
            )
            .into()),
        }
    }

    /// Read `len` bytes of metadata at address `addr` (relative to the base).
    pub(crate) fn read_meta(
        &self,
        addr: u64,
        len: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        if len > self.limits.max_metadata_block {
            return Err(h5_format::Error::limit(
                structure,
                self.base.saturating_add(addr),
                "block size",
                len,
                self.limits.max_metadata_block,
            )
            .into());
        }
        if let Some(bytes) = self.overlay.within(addr, len) {
            return Ok(bytes.to_vec());
        }
        let off = self.check_range(addr, len, structure)?;
        let mut buf = fallible_zeros(len)?;
        if self.storage.cache_metadata() {
            self.pages.read(&*self.storage, off, &mut buf)?;
        } else {
            self.storage.read_at(off, &mut buf)?;
        }
        self.overlay.patch(addr, &mut buf);
        Ok(buf)
    }

    /// Read up to `len` bytes at `addr`, fewer if the file ends first (or, for an address
    /// held in the metadata cache image, if its entry ends first).
    pub(crate) fn read_upto(
        &self,
        addr: u64,
        len: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        if let Some(n) = self.overlay.available(addr) {
            return self.read_meta(addr, len.min(n), structure);
        }
        let off = self.check_range(addr, 0, structure)?;
        let n = len.min(self.file_len() - off);
        self.read_meta(addr, n, structure)
    }

    /// Read raw data bytes into `buf` at address `addr`.
    pub(crate) fn read_data(
        &self,
        addr: u64,
        buf: &mut [u8],
        structure: &'static str,
    ) -> Result<()> {
        let off = self.check_range(addr, buf.len() as u64, structure)?;
        self.storage.read_at(off, buf)?;
        Ok(())
    }

    /// [`read_data`](Self::read_data) for the data of a small dataset (at most 4 KiB): served
    /// from the page cache when its page is already there (data written beside its object
    /// header, read just before). Data never fills the cache.
    pub(crate) fn read_small_data(
        &self,
        addr: u64,
        buf: &mut [u8],
        structure: &'static str,
    ) -> Result<()> {
        if buf.len() <= 4096 && self.storage.cache_metadata() {
            let off = self.check_range(addr, buf.len() as u64, structure)?;
            if self.pages.read_cached(off, buf) {
                return Ok(());
            }
        }
        self.read_data(addr, buf, structure)
    }

    /// Allocate a data buffer of `len` bytes after checking the limit.
    pub(crate) fn data_buffer(&self, len: u64) -> Result<Vec<u8>> {
        self.data_limit(len)?;
        fallible_zeros(len)
    }

    /// Refuse a data buffer of `len` bytes above [`Limits::max_data_bytes`].
    pub(crate) fn data_limit(&self, len: u64) -> Result<()> {
        if len > self.limits.max_data_bytes {
            return Err(Error::Unsupported(format!(
                "a buffer of {len} bytes exceeds the limit of {} bytes (Limits::max_data_bytes)",
                self.limits.max_data_bytes
            )));
        }
        Ok(())
    }

    /// `n` elements of `es` bytes, each the fill value `fill` (zeros when there is none or it
    /// is not `es` bytes long), held to the data limit like [`data_buffer`](Self::data_buffer):
    /// the sizes come from the file's datatype and chunk dimensions.
    pub(crate) fn filled_buffer(&self, fill: Option<&[u8]>, es: usize, n: u64) -> Result<Vec<u8>> {
        let mut buf = self.data_buffer(n.saturating_mul(es as u64))?;
        if let Some(v) = fill.filter(|v| v.len() == es && v.iter().any(|&b| b != 0)) {
            buf.chunks_exact_mut(es).for_each(|c| c.copy_from_slice(v));
        }
        Ok(buf)
    }

    /// File offset of an address (for error messages).
    pub(crate) fn offset_of(&self, addr: u64) -> u64 {
        self.base.saturating_add(addr)
    }
}

/// `len` zero bytes — an error, not an abort, when the system refuses the memory (a
/// damaged file can claim sizes the limits allow but the machine cannot give).
pub(crate) fn fallible_zeros(len: u64) -> Result<Vec<u8>> {
    let n =
        usize::try_from(len).map_err(|_| Error::Unsupported(format!("a buffer of {len} bytes")))?;
    zeroed_vec(n).ok_or_else(|| {
        Error::Unsupported(format!(
            "cannot allocate {len} bytes for a read (the system refused the memory)"
        ))
    })
}

/// `n` zeros of `T`, or `None` when the system refuses the memory. Zeroed by the allocator
/// (fresh pages are already zero: no pass over the memory), large ones advised onto huge pages
/// before anything touches them.
pub(crate) fn zeroed_vec<T: bytemuck::Zeroable>(n: usize) -> Option<Vec<T>> {
    let v = bytemuck::allocation::try_zeroed_vec(n).ok()?;
    crate::storage::huge_pages(&v);
    Some(v)
}

impl FileInner {
    /// A local heap: its header and its whole data segment.
    pub(crate) fn local_heap(
        &self,
        addr: u64,
    ) -> Result<(h5_format::local_heap::LocalHeap, Vec<u8>)> {
        let heap = self.local_heap_header(addr)?;
        let data = self.read_meta(heap.data_addr, heap.data_size, "local heap data")?;
        Ok((heap, data))
    }

    /// A local heap's header (where its data segment is), without the segment.
    pub(crate) fn local_heap_header(&self, addr: u64) -> Result<h5_format::local_heap::LocalHeap> {
        use h5_format::local_heap::LocalHeap;
        let head = self.read_meta(
            addr,
            LocalHeap::header_size(self.sizes) as u64,
            "local heap",
        )?;
        self.dec(LocalHeap::decode(&head, addr, self.sizes))
    }

    /// The string at `offset` in a local heap's data segment, read alone (a lookup by name
    /// reads the few names it compares, not the whole segment): what
    /// `local_heap::string_at` gives on the whole segment, errors included.
    pub(crate) fn local_heap_string(
        &self,
        heap: &h5_format::local_heap::LocalHeap,
        offset: u64,
    ) -> Result<Vec<u8>> {
        use h5_format::local_heap::string_at;
        let Some(left) = heap.data_size.checked_sub(offset) else {
            // past the segment: the error string_at gives
            return self
                .dec(string_at(&[], offset, heap.data_addr))
                .map(<[u8]>::to_vec);
        };
        let at = heap.data_addr.saturating_add(offset);
        let mut window = 64u64;
        loop {
            let bytes = self.read_meta(at, window.min(left), "local heap data")?;
            if bytes.contains(&0) || window >= left {
                return self.dec(string_at(&bytes, 0, at)).map(<[u8]>::to_vec);
            }
            window = window.saturating_mul(4);
        }
    }

    /// The `kind` structure at `addr` from the decoded cache, or `load`ed (with about how
    /// many bytes it takes) and kept until the next write.
    pub(crate) fn decoded<T: std::any::Any + Send + Sync>(
        &self,
        kind: Kind,
        addr: u64,
        load: impl FnOnce() -> Result<(T, usize)>,
    ) -> Result<Arc<T>> {
        self.decoded.get(kind, addr, self.pages.generation(), load)
    }

    /// A global heap collection, indexed, through the decoded cache.
    pub(crate) fn collection(&self, addr: u64) -> Result<Arc<Collection>> {
        self.decoded(Kind::Collection, addr, || {
            let bytes = self.global_heap_collection(addr)?;
            let mut first = HashMap::new();
            // up to the first object that does not fit: a lookup past it searches again
            let objects = h5_format::global_heap::Objects::new(&bytes, addr, self.sizes);
            for (id, range) in objects.map_while(|o| o.ok()) {
                first.entry(id).or_insert(range);
            }
            let n = bytes.len() + 32 * first.len();
            Ok((Collection { addr, bytes, first }, n))
        })
    }

    /// A whole global heap collection (bounded by the file: a collection cannot extend past
    /// its end).
    pub(crate) fn global_heap_collection(&self, addr: u64) -> Result<Vec<u8>> {
        use h5_format::global_heap;
        let hlen = global_heap::collection_header_size(self.sizes) as u64;
        let head = self.read_meta(addr, hlen, "global heap collection")?;
        let size = self.dec(global_heap::collection_size(&head, addr, self.sizes))?;
        self.read_upto(addr, size, "global heap collection")
    }

    /// Turn a decoder result into ours, moving its offset from address space to file offset.
    pub(crate) fn dec<T>(&self, r: h5_format::Result<T>) -> Result<T> {
        r.map_err(|mut e| {
            e.offset = e.offset.saturating_add(self.base);
            Error::Format(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries at 0x10..0x14 ("abcd") and 0x20..0x22 ("xy") in one block.
    fn overlay() -> Overlay {
        let block = b"HEADabcdxyCSUM".to_vec();
        let mut entries = BTreeMap::new();
        entries.insert(0x10, (0x14, 4..8));
        entries.insert(0x20, (0x22, 8..10));
        Overlay { block, entries }
    }

    #[test]
    fn overlay_serves_reads_within_one_entry() {
        let o = overlay();
        assert_eq!(o.within(0x10, 4), Some(&b"abcd"[..]));
        assert_eq!(o.within(0x11, 2), Some(&b"bc"[..]));
        assert_eq!(o.within(0x21, 1), Some(&b"y"[..]));
        assert_eq!(o.within(0x10, 5), None);
        assert_eq!(o.within(0x14, 1), None);
        assert_eq!(o.within(0x0f, 2), None);
        assert_eq!(o.available(0x12), Some(2));
        assert_eq!(o.available(0x14), None);
        assert_eq!(o.available(0x00), None);
        assert_eq!(Overlay::default().within(0x10, 1), None);
    }

    #[test]
    fn overlay_patches_reads_that_straddle_entries() {
        let o = overlay();
        let mut buf = vec![b'.'; 0x20];
        o.patch(0x08, &mut buf);
        let mut want = vec![b'.'; 0x20];
        want[0x08..0x0c].copy_from_slice(b"abcd");
        want[0x18..0x1a].copy_from_slice(b"xy");
        assert_eq!(buf, want);
        let mut tail = vec![b'.'; 4];
        o.patch(0x12, &mut tail);
        assert_eq!(&tail, b"cd..");
        let mut head = vec![b'.'; 4];
        o.patch(0x1f, &mut head);
        assert_eq!(&head, b".xy.");
    }
}

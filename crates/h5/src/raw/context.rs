//! The file as a reader sees it: storage, superblock, sizes and limits, and reads of
//! metadata and data bounded by the file and the limits. No handles, no writer state.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::storage::Storage;
use h5_format::superblock::{self, Superblock};
use h5_format::{ErrorKind, Sizes};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

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
    pub(crate) filters: h5_filters::Registry,
    /// Metadata saved in a metadata cache image; filled once at open, then only read.
    pub(crate) overlay: Overlay,
}

/// The entries of a metadata cache image (superblock extension message 0x18): metadata
/// reads that fall within an entry are served from the image, as libhdf5 does, since an
/// entry's own address may never have been written.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// The image block as read from the file.
    block: Vec<u8>,
    /// Entry address → (end address, byte range of its image in `block`). Entries do not
    /// overlap (checked by the decoder).
    entries: BTreeMap<u64, (u64, Range<usize>)>,
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
    /// Find the superblock (offset 0, 512, 1024, …), decode it, check the file is as long as
    /// it says (unless `allow_truncated`), validate the superblock extension and load a
    /// metadata cache image. Nothing else is read.
    pub(crate) fn open(
        storage: Box<dyn Storage>,
        limits: Limits,
        allow_truncated: bool,
        path: Option<PathBuf>,
    ) -> Result<FileInner> {
        let len = storage.len();
        let mut found = None;
        for off in superblock::candidate_offsets(len) {
            let mut sig = [0u8; 8];
            storage.read_at(off, &mut sig)?;
            if sig == superblock::SIGNATURE {
                found = Some(off);
                break;
            }
        }
        let Some(sb_off) = found else {
            return Err(h5_format::Error::new("superblock", 0, ErrorKind::BadSignature).into());
        };
        let n = (len - sb_off).min(256) as usize;
        let mut buf = vec![0u8; n];
        storage.read_at(sb_off, &mut buf)?;
        let sb = Superblock::decode(&buf, sb_off)?;
        // The stored end-of-file address is absolute (libhdf5 compares it with the file size).
        if len < sb.eof_addr && !allow_truncated {
            return Err(Error::Truncated {
                eof: sb.eof_addr,
                len,
            });
        }
        // libhdf5 uses the superblock's own offset as the base when they disagree.
        let base = if sb.base_addr == sb_off {
            sb.base_addr
        } else {
            sb_off
        };
        let mut inner = FileInner {
            storage,
            sizes: sb.sizes,
            superblock: sb,
            base,
            limits,
            path,
            filters: h5_filters::Registry::with_builtins(),
            overlay: Overlay::default(),
        };
        if let Some(d) = inner.superblock.driver_info_addr {
            let b = inner.read_upto(d, 16, "driver info block")?;
            let id = superblock::driver_id(&b, inner.base + d)?;
            return Err(Error::Unsupported(format!(
                "file driver {:?} (multi-file layouts)",
                String::from_utf8_lossy(&id)
            )));
        }
        if let Some(ext) = inner.superblock.extension_addr {
            if let Some(image) = inner.check_extension(ext)? {
                inner.overlay = inner.load_cache_image(image)?;
            }
        }
        if inner.superblock.root_addr().is_none() {
            return Err(
                h5_format::Error::invalid("superblock", sb_off, "root group address").into(),
            );
        }
        Ok(inner)
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
        self.storage.read_at(off, &mut buf)?;
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

    /// Allocate a data buffer of `len` bytes after checking the limit.
    pub(crate) fn data_buffer(&self, len: u64) -> Result<Vec<u8>> {
        if len > self.limits.max_data_bytes {
            return Err(Error::Unsupported(format!(
                "a buffer of {len} bytes exceeds the limit of {} bytes (Limits::max_data_bytes)",
                self.limits.max_data_bytes
            )));
        }
        fallible_zeros(len)
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
    if n <= 1 << 20 {
        return Ok(vec![0u8; n]);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::Unsupported(format!(
            "cannot allocate {len} bytes for a read (the system refused the memory)"
        ))
    })?;
    v.resize(n, 0);
    Ok(v)
}

impl FileInner {
    /// Decode the superblock extension's messages: a damaged one makes the file unreadable
    /// for libhdf5 too, and a driver info message means a multi-file layout. Returns the
    /// metadata cache image message, if there is one with a defined address.
    fn check_extension(&self, addr: u64) -> Result<Option<h5_format::cache_image::ImageMessage>> {
        use h5_format::message::{misc, MessageType};
        let h = super::header::ObjectHeader::load(self, addr)?;
        let mut image = None;
        for m in &h.messages {
            match m.mtype {
                MessageType::FILE_SPACE_INFO => {
                    self.dec(misc::decode_file_space_info(
                        &mut m.reader(self, "file space info message"),
                    ))?;
                }
                MessageType::DRIVER_INFO => {
                    return Err(Error::Unsupported(
                        "file driver info in the superblock extension (multi-file layouts)".into(),
                    ))
                }
                MessageType::MDC_IMAGE => {
                    let msg = self.dec(h5_format::cache_image::decode_message(
                        &mut m.reader(self, "metadata cache image message"),
                    ))?;
                    if msg.addr.is_some() {
                        image = Some(msg);
                    }
                }
                _ => {}
            }
        }
        Ok(image)
    }

    /// Read and decode the metadata cache image block once, at open.
    fn load_cache_image(&self, msg: h5_format::cache_image::ImageMessage) -> Result<Overlay> {
        let addr = msg.addr.unwrap_or(0);
        let block = self.read_meta(addr, msg.length, "metadata cache image")?;
        let list = self.dec(h5_format::cache_image::decode(&block, addr, self.sizes))?;
        let entries = list
            .into_iter()
            .map(|e| (e.addr, (e.end(), e.image)))
            .collect();
        Ok(Overlay { block, entries })
    }

    /// A local heap: its header and its whole data segment.
    pub(crate) fn local_heap(
        &self,
        addr: u64,
    ) -> Result<(h5_format::local_heap::LocalHeap, Vec<u8>)> {
        use h5_format::local_heap::LocalHeap;
        let head = self.read_meta(
            addr,
            LocalHeap::header_size(self.sizes) as u64,
            "local heap",
        )?;
        let heap = self.dec(LocalHeap::decode(&head, addr, self.sizes))?;
        let data = self.read_meta(heap.data_addr, heap.data_size, "local heap data")?;
        Ok((heap, data))
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
    use crate::storage::MemStorage;

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

    #[test]
    fn cache_image_entries_are_read_from_the_image() {
        // A v3 superblock whose extension holds message 0x18, an image block with one
        // entry for address 0x200, and zeros at 0x200 itself.
        let sizes = Sizes::DEFAULT;
        let ext = 0x100u64;
        let image = 0x300u64;
        let mut entry_img = b"ENTRY-BYTES".to_vec();
        entry_img.resize(16, b'!');
        let mut blk = b"MDCI\0\0".to_vec();
        blk.extend(0u64.to_le_bytes());
        blk.extend(1u32.to_le_bytes());
        blk.extend([5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        blk.extend((-1i32).to_le_bytes());
        blk.extend(0x200u64.to_le_bytes());
        blk.extend((entry_img.len() as u64).to_le_bytes());
        blk.extend(&entry_img);
        let total = (blk.len() + 4) as u64;
        blk[6..14].copy_from_slice(&total.to_le_bytes());
        let sum = h5_format::lookup3::checksum(&blk);
        blk.extend(sum.to_le_bytes());

        let mut ohdr = b"OHDR\x02\x00".to_vec();
        let mut body = vec![0u8];
        body.extend(image.to_le_bytes());
        body.extend((blk.len() as u64).to_le_bytes());
        ohdr.push((4 + body.len()) as u8);
        ohdr.extend([0x18, body.len() as u8, 0, 0x80]);
        ohdr.extend(&body);
        let sum = h5_format::lookup3::checksum(&ohdr);
        ohdr.extend(sum.to_le_bytes());

        let eof = image + blk.len() as u64;
        let mut file = vec![0u8; eof as usize];
        let mut sb = superblock::SIGNATURE.to_vec();
        sb.extend([3, sizes.offset, sizes.length, 0]);
        sb.extend(0u64.to_le_bytes());
        sb.extend(ext.to_le_bytes());
        sb.extend(eof.to_le_bytes());
        sb.extend(0x200u64.to_le_bytes());
        let sum = h5_format::lookup3::checksum(&sb);
        sb.extend(sum.to_le_bytes());
        file[..sb.len()].copy_from_slice(&sb);
        file[ext as usize..ext as usize + ohdr.len()].copy_from_slice(&ohdr);
        file[image as usize..].copy_from_slice(&blk);

        let open = |bytes: Vec<u8>| {
            FileInner::open(
                Box::new(MemStorage::new(bytes)),
                Limits::default(),
                false,
                None,
            )
        };
        let inner = &open(file.clone()).unwrap();
        assert_eq!(inner.overlay.entries.len(), 1);
        assert_eq!(inner.read_meta(0x200, 16, "t").unwrap(), entry_img);
        assert_eq!(inner.read_meta(0x205, 3, "t").unwrap(), b"-BY");
        // read_upto stops where the entry ends.
        assert_eq!(inner.read_upto(0x200, 100, "t").unwrap(), entry_img);
        // A read straddling the entry's start takes storage bytes, then the entry's.
        let mut want = vec![0u8; 4];
        want.extend(b"ENTR");
        assert_eq!(inner.read_meta(0x1fc, 8, "t").unwrap(), want);
        // Raw data reads stay on storage.
        let mut raw = [1u8; 4];
        inner.read_data(0x200, &mut raw, "t").unwrap();
        assert_eq!(raw, [0; 4]);

        // A damaged image makes the file unreadable, naming the block.
        let mut bad = file;
        bad[image as usize + 20] ^= 1;
        let e = open(bad).unwrap_err().to_string();
        assert!(e.contains("metadata cache image at 0x"), "{e}");
        assert!(e.contains("checksum"), "{e}");
    }
}

//! Opening: find the superblock, decode it, check the file against it, validate the
//! superblock extension and load a metadata cache image.

use super::context::{FileInner, Overlay};
use super::header::ObjectHeader;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::storage::Storage;
use h5_format::superblock::{self, Superblock};
use std::path::PathBuf;

/// Find the superblock (offset 0, 512, 1024, …), decode it, check the file is as long as
/// it says (unless `allow_truncated`), validate the superblock extension and load a
/// metadata cache image. Nothing else is read.
pub(crate) fn open(
    storage: Box<dyn Storage>,
    limits: Limits,
    allow_truncated: bool,
    path: Option<PathBuf>,
    filters: std::sync::Arc<h5_filters::Registry>,
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
        return Err(Error::NotHdf5 {
            path,
            searched: superblock::candidate_offsets(len).collect(),
            len,
        });
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
        filters,
        overlay: Overlay::default(),
        pages: Default::default(),
        decoded: Default::default(),
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
        if let Some(image) = check_extension(&inner, ext)? {
            inner.overlay = load_cache_image(&inner, image)?;
        }
    }
    if inner.superblock.root_addr().is_none() {
        return Err(h5_format::Error::invalid("superblock", sb_off, "root group address").into());
    }
    Ok(inner)
}

/// Decode the superblock extension's messages: a damaged one makes the file unreadable
/// for libhdf5 too, and a driver info message means a multi-file layout. Returns the
/// metadata cache image message, if there is one with a defined address.
fn check_extension(
    f: &FileInner,
    addr: u64,
) -> Result<Option<h5_format::cache_image::ImageMessage>> {
    use h5_format::message::{misc, MessageType};
    let h = ObjectHeader::load(f, addr)?;
    let mut image = None;
    for m in &h.messages {
        match m.mtype {
            MessageType::FILE_SPACE_INFO => {
                f.dec(misc::decode_file_space_info(
                    &mut m.reader(f, "file space info message"),
                ))?;
            }
            MessageType::DRIVER_INFO => {
                return Err(Error::Unsupported(
                    "file driver info in the superblock extension (multi-file layouts)".into(),
                ))
            }
            MessageType::MDC_IMAGE => {
                let msg = f.dec(h5_format::cache_image::decode_message(
                    &mut m.reader(f, "metadata cache image message"),
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
fn load_cache_image(f: &FileInner, msg: h5_format::cache_image::ImageMessage) -> Result<Overlay> {
    let addr = msg.addr.unwrap_or(0);
    let block = f.read_meta(addr, msg.length, "metadata cache image")?;
    let list = f.dec(h5_format::cache_image::decode(&block, addr, f.sizes))?;
    let entries = list
        .into_iter()
        .map(|e| (e.addr, (e.end(), e.image)))
        .collect();
    Ok(Overlay { block, entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;
    use h5_format::Sizes;

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

        let open_bytes = |bytes: Vec<u8>| {
            open(
                Box::new(MemStorage::new(bytes)),
                Limits::default(),
                false,
                None,
                Default::default(),
            )
        };
        let inner = &open_bytes(file.clone()).unwrap();
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
        let e = open_bytes(bad).unwrap_err().to_string();
        assert!(e.contains("metadata cache image at 0x"), "{e}");
        assert!(e.contains("checksum"), "{e}");
    }
}

//! Shared object header messages (spec III.F): messages stored once in a fractal heap and
//! referenced by heap ID from many object headers.

use crate::dense::FractalHeap;
use crate::error::{Error, Result};
use crate::file::FileInner;
use crate::object::ObjectHeader;
use h5_format::message::MessageType;
use h5_format::Reader;

/// The body of a message of type `t` stored in the shared-message heap under `id`.
pub(crate) fn lookup(f: &FileInner, t: MessageType, id: &[u8; 8]) -> Result<(Vec<u8>, u64)> {
    let ext = f.superblock.extension_addr.ok_or_else(|| {
        Error::from(h5_format::Error::invalid(
            "superblock",
            f.base,
            "shared message without a superblock extension",
        ))
    })?;
    let eh = ObjectHeader::load(f, ext)?;
    let m = eh.find(MessageType::SHARED_MESSAGE_TABLE).ok_or_else(|| {
        Error::from(h5_format::Error::invalid(
            "superblock extension",
            f.offset_of(ext),
            "no shared message table",
        ))
    })?;
    let mut r = m.reader(f, "shared message table message");
    let version = f.dec(r.u8())?;
    if version != 0 {
        return Err(h5_format::Error::new(
            "shared message table message",
            f.offset_of(m.addr),
            h5_format::ErrorKind::BadVersion(version),
        )
        .into());
    }
    let table = f.dec(r.defined_offset("shared message table address"))?;
    let n = f.dec(r.u8())? as u64;
    let o = f.sizes.offset as u64;
    let len = 4 + n * (14 + 2 * o) + 4;
    let buf = f.read_meta(table, len, "shared message table")?;
    // Verify the checksum (the table's last 4 bytes) before trusting any entry.
    let mut ck = Reader::new(&buf, table, f.sizes, "shared message table");
    f.dec(ck.seek(buf.len() - 4))?;
    f.dec(ck.checksum(0))?;
    let mut r = Reader::new(&buf, table, f.sizes, "shared message table");
    f.dec(r.signature(b"SMTB"))?;
    for _ in 0..n {
        let at = r.addr();
        let version = f.dec(r.u8())?;
        if version != 0 {
            return Err(h5_format::Error::new(
                "shared message table",
                f.offset_of(at),
                h5_format::ErrorKind::BadVersion(version),
            )
            .into());
        }
        let _index_type = f.dec(r.u8())?;
        let types = f.dec(r.u16())?;
        f.dec(r.skip(4 + 2 + 2 + 2))?;
        let _index = f.dec(r.offset())?;
        let heap = f.dec(r.offset())?;
        if t.0 < 16 && types & (1 << t.0) != 0 {
            let heap = heap.ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    "shared message table",
                    f.offset_of(table),
                    "heap address",
                ))
            })?;
            return FractalHeap::open(f, heap)?.object(f, id);
        }
    }
    Err(h5_format::Error::invalid(
        "shared message table",
        f.offset_of(table),
        "no index for the message type",
    )
    .into())
}

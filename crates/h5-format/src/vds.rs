//! The virtual dataset mapping block (spec III.E global heap object of a layout message of
//! class 3): which source dataset supplies which part of a virtual dataset.

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;
use crate::selection::SelectionEncoding;
use alloc::string::String;
use alloc::vec::Vec;

/// One mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Source file name (`"."`: this file); may hold printf-style `%b` block numbers.
    pub file: String,
    /// Source dataset path; may hold `%b`.
    pub dataset: String,
    /// Selection in the source dataset.
    pub source: SelectionEncoding,
    /// Selection in the virtual dataset.
    pub virtual_sel: SelectionEncoding,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Decode the mapping block (the whole global heap object; its last 4 bytes are a checksum).
///
/// # Errors
/// `Truncated` (also a name without its NUL); `BadChecksum` over the block;
/// `VersionNotAccepted` (at the version byte) above 1; `Invalid` for more mappings than the
/// bytes could hold, unknown mapping flags, or a shared file or dataset name index that names
/// no earlier mapping; the selections' errors (see [`SelectionEncoding::decode`]).
pub fn decode(buf: &[u8], addr: u64, sizes: crate::Sizes) -> Result<Vec<Mapping>> {
    let r = Reader::new(buf, addr, sizes, "virtual dataset mapping block");
    if buf.len() < 4 {
        return Err(r.err(ErrorKind::Truncated));
    }
    let mut ck = r.clone();
    ck.seek(buf.len() - 4)?;
    ck.checksum(0)?;
    let body = &buf[..buf.len() - 4];
    let mut r = Reader::new(body, addr, sizes, "virtual dataset mapping block");
    let version = r.version(&[0, 1])?;
    let n = r.length()?;
    if n > r.remaining() as u64 / 4 {
        return Err(r.invalid("number of mappings"));
    }
    let mut out: Vec<Mapping> = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let flags = if version >= 1 { r.u8()? } else { 0 };
        if flags & !0x07 != 0 {
            return Err(r.invalid("mapping flags"));
        }
        let file = if flags & 0x04 != 0 {
            String::from(".")
        } else if flags & 0x01 != 0 {
            let i = r.length()?;
            out.get(i as usize)
                .map(|m| m.file.clone())
                .ok_or_else(|| r.invalid("shared source file name index"))?
        } else {
            text(r.cstr()?)
        };
        let dataset = if flags & 0x02 != 0 {
            let i = r.length()?;
            out.get(i as usize)
                .map(|m| m.dataset.clone())
                .ok_or_else(|| r.invalid("shared source dataset name index"))?
        } else {
            text(r.cstr()?)
        };
        let source = SelectionEncoding::decode(&mut r)?;
        let virtual_sel = SelectionEncoding::decode(&mut r)?;
        out.push(Mapping {
            file,
            dataset,
            source,
            virtual_sel,
        });
    }
    Ok(out)
}

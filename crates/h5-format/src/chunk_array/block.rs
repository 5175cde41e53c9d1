//! The fields that start every header and block of both arrays.

use crate::error::Result;
use crate::reader::Reader;

/// Read an array header's signature and version (0), client ID and element size. Returns a
/// reader at the client ID (where errors about the element format point), the client ID
/// and the element size.
pub(crate) fn header_start<'a>(r: &mut Reader<'a>, sig: &[u8; 4]) -> Result<(Reader<'a>, u8, u8)> {
    r.prologue(sig, &[0])?;
    let fields = r.clone();
    let client_id = r.u8()?;
    let element_size = r.u8()?;
    Ok((fields, client_id, element_size))
}

/// Check a block's signature and version (0), then that its client ID and header address
/// are the header's.
pub(crate) fn block_start(
    r: &mut Reader<'_>,
    sig: &[u8; 4],
    client_id: u8,
    hdr_addr: u64,
) -> Result<()> {
    r.prologue(sig, &[0])?;
    let client_at = r.clone();
    if r.u8()? != client_id {
        return Err(client_at.invalid("client ID (differs from the header's)"));
    }
    let hdr_at = r.clone();
    if r.offset()? != Some(hdr_addr) {
        return Err(hdr_at.invalid("header address"));
    }
    Ok(())
}

//! Committed (named) datatypes: h5py's `f["name"] = np.dtype(...)`.

use crate::error::Error;
use crate::error::Result;
use h5_format::message::shared::Shared;
use h5_format::Sizes;
use h5_format::Writer;

/// The body of a datatype message that refers to the committed type at `addr`.
pub(crate) fn shared_body(sizes: Sizes, addr: u64) -> Result<Vec<u8>> {
    let sh = Shared::ObjectHeader(addr);
    let mut w = Writer::new(sizes);
    sh.encode(sh.version(), &mut w).map_err(Error::Format)?;
    Ok(w.finish())
}

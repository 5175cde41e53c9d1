//! The one place the writer calls into h5-format's encoders: message bodies in the versions
//! libhdf5 writes for the file's profile.

use super::LibVer;
use crate::error::{Error, Result};
use h5_format::message::attribute::{Attribute as AttrMsg, MaybeShared};
use h5_format::message::dataspace::Dataspace;
use h5_format::message::datatype::Datatype;
use h5_format::message::fill_value::FillValue;
use h5_format::message::layout::Layout;
use h5_format::message::misc::{Profile, SymbolTable};
use h5_format::message::shared::Shared;
use h5_format::{Sizes, Writer};

impl LibVer {
    /// The selection encodings libhdf5 writes in region references under this profile.
    pub(crate) fn selection_versions(self) -> h5_format::selection::SelectionVersions {
        use h5_format::selection::SelectionVersions as S;
        match self {
            LibVer::Earliest | LibVer::V108 => S::V1,
            LibVer::V110 => S::V110,
            LibVer::Latest => S::Latest,
        }
    }

    pub(crate) fn profile(self) -> Profile {
        match self {
            LibVer::Earliest => Profile::Default,
            LibVer::V108 => Profile::V18,
            LibVer::V110 => Profile::V110,
            LibVer::Latest => Profile::Latest,
        }
    }
}

fn with(sizes: Sizes, f: impl FnOnce(&mut Writer) -> h5_format::Result<()>) -> Result<Vec<u8>> {
    let mut w = Writer::new(sizes);
    f(&mut w).map_err(Error::Format)?;
    Ok(w.finish())
}

pub(crate) fn dataspace(sizes: Sizes, libver: LibVer, ds: &Dataspace) -> Result<Vec<u8>> {
    with(sizes, |w| ds.encode(ds.version_for(libver.profile()), w))
}

/// A dataspace message rewritten in the version it already has (a resize edits the message
/// in place; the profile of the session editing it does not change what readers expect).
pub(crate) fn dataspace_at(sizes: Sizes, ds: &Dataspace, version: u8) -> Result<Vec<u8>> {
    with(sizes, |w| ds.encode(version, w))
}

pub(crate) fn datatype(sizes: Sizes, libver: LibVer, dt: &Datatype) -> Result<Vec<u8>> {
    with(sizes, |w| dt.encode(dt.version_for(libver.profile()), w))
}

/// The fill value message, and the old one libhdf5 adds beside it in the default profile when
/// a value is set.
pub(crate) fn fill_value(
    sizes: Sizes,
    libver: LibVer,
    fv: &FillValue,
) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let p = libver.profile();
    let new = with(sizes, |w| fv.encode(FillValue::version_for(p), w))?;
    let old = if fv.writes_old_message(p) {
        Some(with(sizes, |w| fv.encode_old(w))?)
    } else {
        None
    };
    Ok((new, old))
}

pub(crate) fn layout(
    sizes: Sizes,
    libver: LibVer,
    layout: &Layout,
    filtered: bool,
) -> Result<Vec<u8>> {
    with(sizes, |w| {
        layout.encode(layout.version_for(libver.profile(), filtered), w)
    })
}

/// A layout message rewritten in the version it already has: the chunk index it names was
/// encoded for that version (v5 widens filtered chunk sizes), whatever the profile of the
/// session editing it.
pub(crate) fn layout_at(sizes: Sizes, layout: &Layout, version: u8) -> Result<Vec<u8>> {
    with(sizes, |w| layout.encode(version, w))
}

pub(crate) fn symbol_table(sizes: Sizes, st: &SymbolTable) -> Vec<u8> {
    let mut w = Writer::new(sizes);
    st.encode(&mut w);
    w.finish()
}

/// An attribute message; `committed`: the header address of a committed datatype the
/// attribute's type refers to (a shared datatype, as libhdf5 stores `dtype=f["t"]`).
pub(crate) fn attribute(
    sizes: Sizes,
    libver: LibVer,
    name: &str,
    dt: &Datatype,
    committed: Option<u64>,
    ds: &Dataspace,
    data: &[u8],
) -> Result<Vec<u8>> {
    let mut msg = AttrMsg::new(name, dt.clone(), ds.clone(), data);
    if let Some(t) = committed {
        msg.datatype = MaybeShared::Shared(Shared::ObjectHeader(t));
    }
    with(sizes, |w| msg.encode(msg.versions_for(libver.profile()), w))
}

/// The committed datatype an encoded attribute message's type refers to, if any.
pub(crate) fn attribute_committed_type(sizes: Sizes, body: &[u8]) -> Option<u64> {
    let a = AttrMsg::decode(&mut h5_format::Reader::new(body, 0, sizes, "attribute")).ok()?;
    match a.datatype {
        MaybeShared::Shared(Shared::ObjectHeader(t)) => Some(t),
        _ => None,
    }
}

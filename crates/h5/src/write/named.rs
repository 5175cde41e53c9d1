//! Committed (named) datatypes: h5py's `f["name"] = np.dtype(...)`.

use super::header::{self, DONT_SHARE};
use super::links;
use super::symtab::Target;
use super::{enc, with};
use crate::dataset::NamedDatatype;
use crate::error::{Error, Result};
use crate::group::Group;
use crate::object::Object;
use crate::read::convert::H5Type;
use h5_format::message::datatype::Datatype;
use h5_format::message::shared::Shared;
use h5_format::message::MessageType;
use h5_format::object_header::MessageOut;
use h5_format::{Sizes, Writer};

/// The body of a datatype message that refers to the committed type at `addr`.
pub(crate) fn shared_body(sizes: Sizes, addr: u64) -> Result<Vec<u8>> {
    let sh = Shared::ObjectHeader(addr);
    let mut w = Writer::new(sizes);
    sh.encode(sh.version(), &mut w).map_err(Error::Format)?;
    Ok(w.finish())
}

impl Group {
    /// Commit `dtype` under `path` (h5py's `group[path] = numpy_dtype`). Datasets can then use
    /// it ([`DatasetBuilder::committed`](super::objects::DatasetBuilder::committed)) and it
    /// can carry attributes.
    pub fn commit_datatype(&self, path: &str, dtype: &Datatype) -> Result<NamedDatatype> {
        let (parent, name) = self.split_parent(path)?;
        let addr = with(&self.obj.file.inner, |cx| {
            if super::objects::taken(cx, &parent, &name)? {
                return Err(Error::Exists(super::objects::join(parent.name(), &name)));
            }
            let body = enc::datatype(cx.f.sizes, cx.st.libver, dtype)?;
            // libhdf5: constant, never shared
            let m = MessageOut {
                flags: 0x01 | DONT_SHARE,
                ..MessageOut::new(MessageType::DATATYPE.0, body)
            };
            let addr = header::create(cx, vec![m], 0)?;
            links::insert(
                cx,
                parent.addr(),
                &name,
                Target::Object { addr, group: None },
            )?;
            Ok(addr)
        })?;
        let obj = Object::load(
            &self.obj.file,
            addr,
            &super::objects::join(parent.name(), &name),
        )?;
        Ok(NamedDatatype { obj })
    }

    /// Commit the datatype of Rust type `T` under `path`.
    pub fn commit<T: H5Type>(&self, path: &str) -> Result<NamedDatatype> {
        self.commit_datatype(path, &T::datatype())
    }
}

//! An object in an open file: its header, loaded once, and the path it was reached by.

use super::handles::Object;
use crate::base::ObjectKind;
use crate::base::{decode_datatype_message, FileInner, ObjectHeader};
use crate::error::Result;
use crate::write::OpenFile;
use h5_format::message::datatype::Datatype;
use h5_format::message::shared::Shared;
use h5_format::message::MessageType;
use std::sync::Arc;

impl Object {
    pub(crate) fn load(file: &Arc<OpenFile>, addr: u64, path: &str) -> Result<Object> {
        let header = ObjectHeader::load(file, addr).map_err(|e| e.at(path))?;
        Ok(Object {
            file: file.clone(),
            path: path.to_string(),
            header: Arc::new(header),
        })
    }

    /// The header as it is now: the one loaded at open, or — in a file open for writing,
    /// where it may have changed since — loaded again.
    pub(crate) fn header_now(&self) -> Result<Arc<ObjectHeader>> {
        if self.file.write.is_none() {
            return Ok(self.header.clone());
        }
        let h = ObjectHeader::load(&self.file, self.addr()).map_err(|e| e.at(&self.path))?;
        Ok(Arc::new(h))
    }

    pub(crate) fn f(&self) -> &FileInner {
        &self.file
    }

    pub(crate) fn addr(&self) -> u64 {
        self.header.addr
    }

    pub(crate) fn kind(&self) -> ObjectKind {
        ObjectKind::of(&self.header)
    }

    /// The datatype message, following a shared reference.
    pub(crate) fn datatype(&self) -> Result<Datatype> {
        let m =
            self.header
                .required(self.f(), MessageType::DATATYPE, "missing datatype message")?;
        decode_datatype_message(self.f(), m)
    }

    /// The header address of the committed datatype this object's type refers to, if any.
    pub(crate) fn committed_type(&self) -> Result<Option<u64>> {
        let Some(m) = self.header.find(MessageType::DATATYPE) else {
            return Ok(None);
        };
        if !m.is_shared() {
            return Ok(None);
        }
        let s = self
            .f()
            .dec(Shared::decode(&mut m.reader(self.f(), "shared message")))?;
        Ok(match s {
            Shared::ObjectHeader(a) => Some(a),
            Shared::Heap(_) => None,
        })
    }
}

//! Attributes on any object: compact (header messages) and dense (fractal heap + v2 B-tree).

use crate::error::{Error, Result};
use crate::file::File;
use crate::object::Object;
use crate::raw::{message_body, resolve_dataspace, resolve_datatype};
use crate::read::convert::H5Type;
use crate::read::value::Value;
use h5_format::message::attribute::Attribute as AttrMsg;
use h5_format::message::dataspace::{Dataspace, SpaceKind};
use h5_format::message::datatype::Datatype;
use h5_format::message::link::AttributeInfo;
use h5_format::message::MessageType;
use h5_format::Reader;

/// The attributes of one object (h5py's `obj.attrs`).
#[derive(Debug, Clone)]
pub struct Attributes {
    obj: Object,
}

/// One attribute, read into memory.
#[derive(Debug, Clone)]
pub struct Attribute {
    file: File,
    name: String,
    dtype: Datatype,
    space: Dataspace,
    data: Vec<u8>,
    /// The committed datatype the type refers to.
    committed: Option<u64>,
}

impl Attributes {
    pub(crate) fn new(obj: Object) -> Self {
        Attributes { obj }
    }

    pub(crate) fn object(&self) -> &Object {
        &self.obj
    }

    /// All attributes: in creation order when tracked, else by name (bytewise).
    pub fn all(&self) -> Result<Vec<Attribute>> {
        let mut v = self.load().map_err(|e| e.at(&self.obj.path))?;
        v.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.name.as_bytes().cmp(b.1.name.as_bytes()))
        });
        Ok(v.into_iter().map(|(_, a)| a).collect())
    }

    /// Attribute names (see [`Attributes::all`] for the order).
    pub fn names(&self) -> Result<Vec<String>> {
        Ok(self.all()?.into_iter().map(|a| a.name).collect())
    }

    /// The attribute called `name`.
    pub fn get(&self, name: &str) -> Result<Attribute> {
        self.all()?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::NotFound(format!("{}: attribute {name:?}", self.obj.path)))
    }

    /// Number of attributes.
    pub fn len(&self) -> Result<usize> {
        Ok(self.all()?.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// (sort key, attribute): the sort key is the creation order when the object tracks it.
    fn load(&self) -> Result<Vec<(u64, Attribute)>> {
        let f = self.obj.f();
        let h = &self.obj.header_now()?;
        let mut out = Vec::new();
        let mut tracked = false;
        if let Some(m) = h.find(MessageType::ATTRIBUTE_INFO) {
            let ai = f.dec(AttributeInfo::decode(
                &mut m.reader(f, "attribute info message"),
            ))?;
            tracked = ai.track_order;
            if let (Some(heap), Some(bt)) = (ai.heap_addr, ai.name_index_addr) {
                let heap = crate::raw::dense::FractalHeap::open(f, heap)?;
                for rec in crate::raw::dense::btree2_records(f, bt, &Default::default())? {
                    let (id, order, flags) = match rec {
                        h5_format::btree2::Record::AttributeName {
                            heap_id,
                            creation_order,
                            flags,
                            ..
                        } => (heap_id, creation_order, flags),
                        _ => {
                            return Err(h5_format::Error::invalid(
                                "v2 B-tree",
                                f.offset_of(bt),
                                "record type for an attribute name index",
                            )
                            .into())
                        }
                    };
                    let (body, addr) = heap.object(f, &id)?;
                    let (body, addr) = message_body(f, MessageType::ATTRIBUTE, flags, &body, addr)?;
                    let a = self.decode(&body, addr, "attribute message (dense)")?;
                    out.push((if tracked { order as u64 } else { 0 }, a));
                }
            }
        }
        for m in h.all(MessageType::ATTRIBUTE) {
            let (body, addr) = message_body(f, m.mtype, m.flags, &m.data, m.addr)?;
            let a = self.decode(&body, addr, "attribute message")?;
            let key = if tracked {
                m.creation_order.unwrap_or(0) as u64
            } else {
                0
            };
            out.push((key, a));
        }
        Ok(out)
    }

    fn decode(&self, body: &[u8], addr: u64, structure: &'static str) -> Result<Attribute> {
        let f = self.obj.f();
        let msg = f.dec(AttrMsg::decode(&mut Reader::new(
            body, addr, f.sizes, structure,
        )))?;
        let committed = match &msg.datatype {
            h5_format::message::attribute::MaybeShared::Shared(
                h5_format::message::shared::Shared::ObjectHeader(a),
            ) => Some(*a),
            _ => None,
        };
        let dtype = resolve_datatype(f, msg.datatype)?;
        let space = resolve_dataspace(f, msg.dataspace)?;
        let n = space
            .num_elements()
            .checked_mul(dtype.size())
            .ok_or_else(|| {
                Error::from(h5_format::Error::invalid(
                    structure,
                    f.offset_of(addr),
                    "attribute size",
                ))
            })?;
        let data = msg.data.get(..n as usize).ok_or_else(|| {
            Error::from(h5_format::Error::new(
                structure,
                f.offset_of(addr),
                h5_format::ErrorKind::Truncated,
            ))
        })?;
        Ok(Attribute {
            file: self.obj.file.clone(),
            name: msg.name,
            dtype,
            space,
            data: data.to_vec(),
            committed,
        })
    }
}

impl Attribute {
    /// The header address of the committed datatype the attribute's type refers to (h5py:
    /// `attrs.get_id(name).get_type().committed()`), `None` when its type is its own.
    pub fn committed_type(&self) -> Option<u64> {
        self.committed
    }
    /// Attribute name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Element type.
    pub fn dtype(&self) -> &Datatype {
        &self.dtype
    }
    /// Dataspace.
    pub fn space(&self) -> &Dataspace {
        &self.space
    }
    /// Shape (`None` for a null dataspace, empty for a scalar).
    pub fn shape(&self) -> Option<Vec<u64>> {
        match self.space.kind {
            SpaceKind::Null => None,
            _ => Some(self.space.dims.clone()),
        }
    }
    /// Raw stored bytes (file byte order; vlen elements as heap references).
    pub fn raw(&self) -> &[u8] {
        &self.data
    }
    /// Every element as a dynamic [`Value`].
    pub fn read_values(&self) -> Result<Vec<Value>> {
        crate::read::value::decode_all(&self.file.inner, &self.dtype, &self.data)
    }
    /// Every element converted to any [`crate::FromValue`] type (structs, strings, lists).
    pub fn read_as<T: crate::FromValue>(&self) -> Result<Vec<T>> {
        self.read_values()?.iter().map(T::from_value).collect()
    }
    /// Every element converted to `T`.
    pub fn read<T: H5Type>(&self) -> Result<Vec<T>> {
        crate::read::convert::convert_slice(&self.file.inner, &self.dtype, &self.data)
    }
    /// The single element of a scalar (or one-element) attribute.
    pub fn read_scalar<T: H5Type>(&self) -> Result<T> {
        let mut v = self.read::<T>()?;
        if v.len() != 1 {
            return Err(Error::Conversion(format!(
                "attribute {:?} has {} elements, not 1",
                self.name,
                v.len()
            )));
        }
        Ok(v.remove(0))
    }
}

//! Attributes on any object: compact (header messages) and dense (fractal heap + v2 B-tree).

use crate::error::{Error, Result};
use crate::file::File;
use crate::object::Object;
use crate::read::attrs;
use crate::read::convert::H5Type;
use crate::read::value::Value;
use h5_format::message::dataspace::{Dataspace, SpaceKind};
use h5_format::message::datatype::Datatype;

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
        let h = self.obj.header_now()?;
        let stored = attrs::all(self.obj.f(), &h).map_err(|e| e.at(&self.obj.path))?;
        Ok(stored
            .into_iter()
            .map(|a| Attribute {
                file: self.obj.file.clone(),
                name: a.name,
                dtype: a.dtype,
                space: a.space,
                data: a.data,
                committed: a.committed,
            })
            .collect())
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

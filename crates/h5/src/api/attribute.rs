//! Attributes on any object: compact (header messages) and dense (fractal heap + v2 B-tree).

use super::handles::{Attribute, Attributes, Object};
use crate::error::Error;
use crate::error::Result;
use crate::read::attrs;
use crate::read::convert::encode_scalar;
use crate::read::convert::H5Type;
use crate::read::value::ToValue;
use crate::read::value::Value;
use crate::write::attrs::attribute_space;
use crate::write::enc;
use crate::write::strings::{encode_values, vlen_strings, vlen_utf8};
use crate::write::with;
use h5_format::message::dataspace::Dataspace;
use h5_format::message::dataspace::SpaceKind;
use h5_format::message::datatype::Datatype;

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
        crate::read::value::decode_all(&self.file, &self.dtype, &self.data)
    }
    /// Every element converted to any [`crate::FromValue`] type (structs, strings, lists).
    pub fn read_as<T: crate::FromValue>(&self) -> Result<Vec<T>> {
        self.read_values()?.iter().map(T::from_value).collect()
    }
    /// Every element converted to `T`.
    pub fn read<T: H5Type>(&self) -> Result<Vec<T>> {
        crate::read::convert::convert_slice(&self.file, &self.dtype, &self.data)
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

impl Attributes {
    /// Create (or overwrite) an attribute holding `values` with shape `shape` (`&[]`: scalar).
    pub fn create<T: H5Type>(&self, name: &str, shape: &[u64], values: &[T]) -> Result<()> {
        let dt = T::datatype();
        let n: u64 = shape.iter().product();
        if values.len() as u64 != n {
            return Err(Error::Shape(format!(
                "{} values for an attribute of shape {shape:?}",
                values.len()
            )));
        }
        let mut data = vec![0u8; values.len() * dt.size() as usize];
        for (v, c) in values.iter().zip(data.chunks_exact_mut(dt.size() as usize)) {
            encode_scalar(&dt, v.to_scalar(), c)?;
        }
        self.create_raw(name, &dt, shape, &data)
    }

    /// Create (or overwrite) a scalar attribute.
    pub fn set<T: H5Type>(&self, name: &str, value: T) -> Result<()> {
        self.create(name, &[], &[value])
    }

    pub(crate) fn create_raw(
        &self,
        name: &str,
        dt: &Datatype,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        self.create_in(name, dt, None, &attribute_space(shape), data)
    }

    /// Store an attribute: its type (`committed`: a committed type's header the type refers
    /// to), its dataspace and its encoded elements.
    pub(crate) fn create_in(
        &self,
        name: &str,
        dt: &Datatype,
        committed: Option<u64>,
        space: &Dataspace,
        data: &[u8],
    ) -> Result<()> {
        if name.is_empty() {
            return Err(Error::Shape("an attribute needs a name".into()));
        }
        let addr = self.object().addr();
        with(&self.object().file, |cx| {
            let body = enc::attribute(cx.f.sizes, cx.st.libver, name, dt, committed, space, data)?;
            crate::write::attrs::put(cx, addr, name, body)
        })
    }

    /// Create (or overwrite) an attribute with no elements and no shape (a null dataspace):
    /// h5py's `attrs[name] = h5py.Empty(dtype)`.
    ///
    /// # Errors
    /// A read-only or closed file; an empty name.
    pub fn create_empty(&self, name: &str, dtype: &Datatype) -> Result<()> {
        self.create_in(name, dtype, None, &Dataspace::null(), &[])
    }

    /// Create (or overwrite) an attribute whose type is the committed datatype `t` (h5py's
    /// `attrs.create(name, data, dtype=f["t"])`): the attribute refers to the type, which
    /// counts it as a reference, as libhdf5 counts it. `shape` `&[]` is a scalar.
    ///
    /// # Errors
    /// A read-only or closed file; as many values as the shape holds are needed, each
    /// convertible to the type.
    pub fn create_committed(
        &self,
        name: &str,
        t: &crate::NamedDatatype,
        shape: &[u64],
        values: &[crate::Value],
    ) -> Result<()> {
        self.create_values_typed(name, &t.dtype()?, Some(t.addr()), shape, values)
    }

    /// Delete an attribute; a missing one is an error.
    pub fn delete(&self, name: &str) -> Result<()> {
        let addr = self.object().addr();
        let path = self.object().path.clone();
        with(&self.object().file, |cx| {
            if crate::write::attrs::delete(cx, addr, name)? {
                Ok(())
            } else {
                Err(Error::NotFound(format!("{path}: attribute {name:?}")))
            }
        })
    }
}

impl Attributes {
    /// Create (or overwrite) a string attribute, as h5py stores `attrs[name] = "text"`:
    /// a scalar variable-length UTF-8 string.
    pub fn set_str(&self, name: &str, value: &str) -> Result<()> {
        self.set_strings(name, &[], &[value])
    }

    /// Create (or overwrite) an attribute holding strings with the given shape (`&[]`: one).
    pub fn set_strings(&self, name: &str, shape: &[u64], values: &[&str]) -> Result<()> {
        let n: u64 = shape.iter().product();
        if values.len() as u64 != n {
            return Err(Error::Shape(format!(
                "{} strings for an attribute of shape {shape:?}",
                values.len()
            )));
        }
        let f = &self.object().file;
        let dt = vlen_utf8(f.sizes);
        let data = with(f, |cx| vlen_strings(cx, values))?;
        self.create_raw(name, &dt, shape, &data)
    }

    /// Create (or overwrite) an attribute from a dynamic value, choosing the type h5py would
    /// for the matching Python value: integers → `<i8`, floats → `<f8`, bools → h5py's bool,
    /// strings → variable-length UTF-8; a list of one kind becomes a 1-D array.
    pub fn set_value(&self, name: &str, value: &Value) -> Result<()> {
        fn kind(v: &Value) -> Option<u8> {
            match v {
                Value::Int(_) | Value::UInt(_) => Some(0),
                Value::Float(_) => Some(1),
                Value::Bool(_) => Some(2),
                Value::Str(_) => Some(3),
                _ => None,
            }
        }
        let (shape, items): (Vec<u64>, Vec<&Value>) = match value {
            Value::List(items) => (vec![items.len() as u64], items.iter().collect()),
            v => (vec![], vec![v]),
        };
        let k = items.first().and_then(|v| kind(v)).unwrap_or(1);
        if items.iter().any(|v| kind(v) != Some(k)) {
            return Err(Error::Conversion(format!(
                "attribute {name:?}: only numbers, bools, strings and lists of one of them can be stored"
            )));
        }
        match k {
            0 => {
                let v: Vec<i64> = items
                    .iter()
                    .map(|v| match v {
                        Value::Int(i) => *i,
                        Value::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                        _ => 0,
                    })
                    .collect();
                self.create(name, &shape, &v)
            }
            1 => {
                let v: Vec<f64> = items
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect();
                self.create(name, &shape, &v)
            }
            2 => {
                let v: Vec<bool> = items
                    .iter()
                    .map(|v| matches!(v, Value::Bool(true)))
                    .collect();
                self.create(name, &shape, &v)
            }
            _ => {
                let v: Vec<&str> = items
                    .iter()
                    .map(|v| match v {
                        Value::Str(s) => s.as_str(),
                        _ => "",
                    })
                    .collect();
                self.set_strings(name, &shape, &v)
            }
        }
    }

    /// Create (or overwrite) an attribute of any datatype from dynamic values (one per
    /// element): compounds, complex numbers, enums, fixed or variable-length strings, arrays,
    /// variable-length sequences, object references.
    pub fn create_values(
        &self,
        name: &str,
        dtype: &Datatype,
        shape: &[u64],
        values: &[Value],
    ) -> Result<()> {
        self.create_values_typed(name, dtype, None, shape, values)
    }

    /// [`create_values`](Self::create_values) with the type optionally a committed one (its
    /// header address).
    pub(crate) fn create_values_typed(
        &self,
        name: &str,
        dtype: &Datatype,
        committed: Option<u64>,
        shape: &[u64],
        values: &[Value],
    ) -> Result<()> {
        let n: u64 = shape.iter().product();
        if values.len() as u64 != n {
            return Err(Error::Shape(format!(
                "{} values for an attribute of shape {shape:?}",
                values.len()
            )));
        }
        let f = &self.object().file;
        let data = with(f, |cx| encode_values(cx, dtype, values, n as usize))?;
        let space = crate::write::attrs::attribute_space(shape);
        self.create_in(name, dtype, committed, &space, &data)
    }

    /// Set many attributes at once, like h5py's `attrs.update(metadata)`.
    pub fn update<'a>(&self, entries: impl IntoIterator<Item = (&'a str, Value)>) -> Result<()> {
        entries
            .into_iter()
            .try_for_each(|(k, v)| self.set_value(k, &v))
    }
}

impl Attributes {
    /// Create (or overwrite) an attribute holding `values` of a [`ToValue`] type — e.g. structs
    /// made compounds by [`compound!`](crate::compound) — with shape `shape` (`&[]`: scalar).
    pub fn create_from<T: ToValue>(&self, name: &str, shape: &[u64], values: &[T]) -> Result<()> {
        let v: Vec<Value> = values.iter().map(T::to_value).collect();
        self.create_values(name, &T::datatype(), shape, &v)
    }
}

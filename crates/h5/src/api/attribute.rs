//! Attributes on any object: compact (header messages) and dense (fractal heap + v2 B-tree).

use super::handles::{Attribute, Attributes, Object};
use crate::error::Error;
use crate::error::Result;
use crate::read::attrs;
use crate::read::element::H5Type;
use crate::read::value::Value;
use crate::write::attrs::attribute_space;
use crate::write::elements::Elements;
use crate::write::enc;
use crate::write::strings::{encode_values, fit_to_file};
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
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn all(&self) -> Result<Vec<Attribute>> {
        let h = self.obj.header_now()?;
        let stored = attrs::all(self.obj.f(), &h).map_err(|e| e.at(&self.obj.path))?;
        Ok(stored.into_iter().map(|a| self.handle(a)).collect())
    }

    /// The handle of a stored attribute of this object.
    fn handle(&self, a: attrs::AttrData) -> Attribute {
        Attribute {
            file: self.obj.file.clone(),
            name: a.name,
            dtype: a.dtype,
            space: a.space,
            data: a.data,
            committed: a.committed,
        }
    }

    /// Attribute names (see [`Attributes::all`] for the order).
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn names(&self) -> Result<Vec<String>> {
        Ok(self.all()?.into_iter().map(|a| a.name).collect())
    }

    /// The one element of the attribute called `name`, as `T` (h5py's `attrs[name]` for a
    /// scalar attribute). Arrays: [`open`](Self::open) the attribute and
    /// [`read`](Attribute::read) it.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// f.attrs().set("version", 3)?;
    /// f.attrs().set("title", "run 7")?;
    /// assert_eq!(f.attrs().get::<f64>("version")?, 3.0);
    /// assert_eq!(f.attrs().get::<String>("title")?, "run 7");
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// No such attribute; one of more or fewer elements; an element that does not convert.
    pub fn get<T: H5Type>(&self, name: &str) -> Result<T> {
        self.open(name)?.read_scalar()
    }

    /// The attribute called `name`.
    ///
    /// # Errors
    /// No such attribute; a damaged attribute message.
    pub fn open(&self, name: &str) -> Result<Attribute> {
        let h = self.obj.header_now()?;
        let a = attrs::find(self.obj.f(), &h, name)
            .map_err(|e| e.at(&self.obj.path))?
            .ok_or_else(|| Error::NotFound(format!("{}: attribute {name:?}", self.obj.path)))?;
        Ok(self.handle(a))
    }

    /// Number of attributes.
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
    pub fn len(&self) -> Result<usize> {
        Ok(self.all()?.len())
    }

    /// Whether there are none.
    ///
    /// # Errors
    /// A damaged file (the error names the structure and its offset).
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
    /// Every element as a dynamic [`Value`] (for types known only at run time).
    ///
    /// # Errors
    /// A damaged value (a variable-length element whose heap object is gone).
    pub fn read_values(&self) -> Result<Vec<Value>> {
        crate::read::value::decode_all(&self.file, &self.dtype, &self.data)
    }
    /// Every element as `T`, in the attribute's shape (a scalar attribute is 0-d).
    ///
    /// # Errors
    /// Elements that do not convert to `T`; an attribute with a null dataspace reads empty.
    pub fn read<T: H5Type>(&self) -> Result<ndarray::ArrayD<T>> {
        let shape: Vec<usize> = self
            .shape()
            .map_or(vec![0], |s| s.iter().map(|&d| d as usize).collect());
        ndarray::ArrayD::from_shape_vec(shape, self.read_vec()?)
            .map_err(|e| Error::Shape(format!("attribute {:?}: {e}", self.name)))
    }
    /// Every element as `T`, flat in row-major order.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_vec<T: H5Type>(&self) -> Result<Vec<T>> {
        crate::read::element::decode_elements(&self.file, &self.dtype, &self.data)
    }
    /// The single element of a scalar (or one-element) attribute.
    ///
    /// # Errors
    /// An attribute of more or fewer elements; as [`read`](Self::read).
    pub fn read_scalar<T: H5Type>(&self) -> Result<T> {
        super::dataset::one_element(self.read_vec()?, &format!("attribute {:?}", self.name))
    }
}

impl Attributes {
    /// Create (or overwrite) the attribute `name` holding `value` (h5py's
    /// `attrs[name] = value`): one element of any [`H5Type`] (`3`, `2.5`, `"text"`, a
    /// derived struct) is a scalar attribute; a slice, `Vec`, Rust array or ndarray array
    /// keeps its shape.
    ///
    /// ```
    /// # let f = h5::File::create_in_memory()?;
    /// let attrs = f.attrs();
    /// attrs.set("count", 3)?;
    /// attrs.set("bounds", [0.5, 2.5])?;
    /// attrs.set("labels", ["x", "y"])?;
    /// attrs.set("grid", h5::ndarray::arr2(&[[1u8, 2], [3, 4]]))?;
    /// assert_eq!(attrs.open("grid")?.read::<u8>()?.shape(), [2, 2]);
    /// assert_eq!(attrs.open("labels")?.read_vec::<String>()?, ["x", "y"]);
    /// # Ok::<(), h5::Error>(())
    /// ```
    ///
    /// # Errors
    /// A read-only or closed file; an empty name.
    pub fn set<E: Elements>(&self, name: &str, value: E) -> Result<()> {
        let f = &self.object().file;
        let dt = fit_to_file(&E::Elem::datatype(), f.sizes);
        let shape = value.shape();
        let count = shape.iter().product();
        let data = with(f, |cx| {
            crate::write::elements::encode(cx, &dt, &value, count)
        })?;
        self.create_raw(name, &dt, &shape, &data)
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
    ///
    /// # Errors
    /// No attribute of that name; a read-only or closed file.
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
    /// Create (or overwrite) an attribute from a dynamic value, choosing the type h5py would
    /// for the matching Python value: integers → `<i8`, floats → `<f8`, bools → h5py's bool,
    /// strings → variable-length UTF-8; a list of one kind becomes a 1-D array.
    ///
    /// # Errors
    /// A value that is not a number, bool, string or a list of one of them; a list of mixed kinds;
    /// a read-only or closed file.
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
        // a scalar is stored as one element, a list as a 1-D array
        let values: Vec<Value> = items.iter().map(|&v| v.clone()).collect();
        let store = |dt: Datatype| self.create_values(name, &dt, &shape, &values);
        match k {
            0 => store(i64::datatype()),
            1 => store(f64::datatype()),
            2 => store(bool::datatype()),
            _ => store(String::datatype()),
        }
    }

    /// Create (or overwrite) an attribute of any datatype from dynamic values (one per
    /// element): compounds, complex numbers, enums, fixed or variable-length strings, arrays,
    /// variable-length sequences, object references.
    ///
    /// # Errors
    /// Not as many values as the shape holds; a value the type cannot hold; a read-only or closed
    /// file; an empty name.
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
        let dtype = &fit_to_file(dtype, f.sizes);
        let data = with(f, |cx| encode_values(cx, dtype, values, n as usize))?;
        let space = crate::write::attrs::attribute_space(shape);
        self.create_in(name, dtype, committed, &space, &data)
    }

    /// Set many attributes at once, like h5py's `attrs.update(metadata)`.
    ///
    /// # Errors
    /// As [`set_value`](Self::set_value), for the first entry that fails (those before it are
    /// stored).
    pub fn update<'a>(&self, entries: impl IntoIterator<Item = (&'a str, Value)>) -> Result<()> {
        entries
            .into_iter()
            .try_for_each(|(k, v)| self.set_value(k, &v))
    }
}

//! `h5 dump --json`: the document of ../shared/dump-format.md, written as it is produced.
//!
//! Memory does not grow with the data: a dataset is read in pieces ([`h5::Dataset::batches`])
//! of at most [`BATCH`] elements and [`BATCH_BYTES`] stored bytes (up to four times that
//! where pieces are aligned to chunk boundaries, plus the chunks one piece touches), and each
//! piece is written out before the next is read. Metadata (types, attributes, one group's
//! link list, the address → path map for references) is held per object.
//!
//! An object that cannot be read does not stop the dump: its node gets an `"error"` entry
//! naming it (a dataset whose data fails part-way keeps the elements written so far, with
//! the lists closed), the message goes to stderr, and the exit code is 1, as h5dump does.

use h5::{
    ByteOrder, Charset, Dataset, Datatype, File, Group, LinkKind, Node, RefKind, Selection, Value,
};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::io::{self, Write};

/// Elements per piece of a dataset read.
pub const BATCH: u64 = 256 * 1024;
/// Stored bytes per piece of a dataset read (wide elements make smaller pieces).
pub const BATCH_BYTES: u64 = 32 << 20;

/// Dump `path` (or one dataset of it) to stdout. Returns how many objects could not be read
/// (each has an error entry in the output and a line on stderr).
pub fn run(
    path: &str,
    dataset: Option<&str>,
    select: Option<&str>,
    max_elements: u64,
) -> h5::Result<usize> {
    let file = File::open(path)?;
    let out = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut d = Dumper {
        file: file.clone(),
        paths: None,
        out,
        errors: 0,
        max_elements,
    };
    match dataset {
        None => {
            let root = file.root()?;
            let mut seen = HashMap::from([(root.addr(), "/".to_string())]);
            d.out
                .write_all(b"{\n  \"format\": \"h5-dump-json/1\",\n  \"root\": ")?;
            d.group(&root, "/", &mut seen, 1)?;
            d.out.write_all(b"\n}\n")?;
        }
        Some(p) => {
            let ds = file.dataset(p)?;
            let sel = match select {
                Some(s) => Selection::parse(s)?,
                None => Selection::All,
            };
            // A selection that does not fit is bad usage: refuse it before writing anything.
            ds.batches(&sel, 1)?;
            d.dataset(&ds, p, &sel, 0)?;
            d.out.write_all(b"\n")?;
        }
    }
    d.out.flush()?;
    Ok(d.errors)
}

struct Dumper<W: Write> {
    file: File,
    /// Object address → the first path found (depth-first, name order), for references.
    paths: Option<HashMap<u64, String>>,
    out: W,
    /// Objects that could not be read so far.
    errors: usize,
    /// The most elements one dataset's data may have (a damaged or never-written dataset
    /// can claim quintillions; dumping them would never end).
    max_elements: u64,
}

/// The members written so far of one JSON object in the output.
struct Obj {
    depth: usize,
    first: bool,
    /// Errors met while writing this object's node, for its `"error"` entry.
    errors: Vec<String>,
}

/// numpy's `dtype.str` for atomic types.
fn numpy_str(kind: char, size: u64, order: ByteOrder) -> String {
    let o = if size == 1 {
        '|'
    } else if order == ByteOrder::Big {
        '>'
    } else {
        '<'
    };
    format!("{o}{kind}{size}")
}

fn float_order(dt: &Datatype) -> ByteOrder {
    match dt {
        Datatype::Float { order, .. } => *order,
        _ => ByteOrder::Little,
    }
}

/// The type as libhdf5 hands it to h5py for datasets and attributes (`H5Dget_type` sets its
/// location to memory): variable-length strings become pointers (8 bytes), sequences become
/// `hvl_t` (16 bytes), and compound members after a resized member shift by the difference.
pub fn memory_layout(dt: &Datatype) -> Datatype {
    match dt {
        Datatype::VarLenStr { pad, charset, .. } => Datatype::VarLenStr {
            size: 8,
            pad: *pad,
            charset: *charset,
        },
        Datatype::VarLenSeq { base, .. } => Datatype::VarLenSeq {
            size: 16,
            base: Box::new(memory_layout(base)),
        },
        Datatype::Array { base, dims } => Datatype::Array {
            base: Box::new(memory_layout(base)),
            dims: dims.clone(),
        },
        Datatype::Compound { size, members } => {
            let mut members = members.clone();
            members.sort_by_key(|m| m.offset);
            let mut shift: i64 = 0;
            for m in &mut members {
                m.offset = (m.offset as i64 + shift) as u64;
                let old = m.dtype.size() as i64;
                m.dtype = memory_layout(&m.dtype);
                shift += m.dtype.size() as i64 - old;
            }
            Datatype::Compound {
                size: (*size as i64 + shift) as u32,
                members,
            }
        }
        other => other.clone(),
    }
}

/// The DTYPE of dump-format.md, for a dataset's or attribute's type.
pub fn dtype_desc(dt: &Datatype) -> h5::Result<Json> {
    dtype_desc_inner(&memory_layout(dt))
}

fn dtype_desc_inner(dt: &Datatype) -> h5::Result<Json> {
    Ok(match dt {
        Datatype::Integer {
            size,
            order,
            signed,
            bitfield,
            ..
        } => {
            let kind = if *signed && !*bitfield { 'i' } else { 'u' };
            Json::from(numpy_str(kind, *size as u64, *order))
        }
        Datatype::Float {
            size,
            order,
            exp_size,
            mant_size,
            ..
        } => {
            // h5py keeps IEEE half/single/double and x87 long double; any other layout
            // (bfloat16, odd sizes) becomes the smallest native float that holds it.
            let standard = [(2u32, 5u8, 10u8), (4, 8, 23), (8, 11, 52), (16, 15, 64)];
            if standard.contains(&(*size, *exp_size, *mant_size)) {
                Json::from(numpy_str('f', *size as u64, *order))
            } else {
                let fit = standard
                    .iter()
                    .find(|(_, e, m)| e >= exp_size && m >= mant_size)
                    .map_or(16, |s| s.0);
                // a layout that fits its own size keeps its byte order (be_data.h5's 20-bit
                // big-endian float is '>f4' to h5py); a wider one is native
                let order = if fit == *size {
                    *order
                } else {
                    ByteOrder::Little
                };
                Json::from(numpy_str('f', fit as u64, order))
            }
        }
        Datatype::Time { .. } => {
            return Err(h5::Error::Unsupported("the time datatype class".into()))
        }
        Datatype::String { size, charset, .. } => json!({"string": size, "charset": cs(*charset)}),
        Datatype::VarLenStr { charset, .. } => json!({"string": "vlen", "charset": cs(*charset)}),
        Datatype::Opaque { size, tag } => json!({"opaque": size, "tag": tag}),
        Datatype::Compound { size, members } => {
            if h5::raw::is_complex_compound(dt) {
                Json::from(numpy_str('c', *size as u64, float_order(&members[0].dtype)))
            } else {
                let mut fields = Vec::new();
                for m in members {
                    fields.push(json!({"name": m.name, "offset": m.offset, "dtype": dtype_desc_inner(&m.dtype)?}));
                }
                json!({"compound": fields, "size": size})
            }
        }
        Datatype::Complex { size, base } => {
            Json::from(numpy_str('c', *size as u64, float_order(base)))
        }
        Datatype::Reference { kind, .. } => match kind {
            RefKind::Object => Json::from("ref"),
            RefKind::Region => Json::from("regionref"),
            // Revised references: h5py describes them as "ref" (not the old region type).
            RefKind::Object2 | RefKind::Region2 | RefKind::Attribute => Json::from("ref"),
        },
        Datatype::Enum { base, members, .. } => {
            if h5::raw::is_bool(dt) {
                Json::from("|b1")
            } else {
                let mut m = Map::new();
                for (name, raw) in members {
                    let v = match h5::raw::decode_scalar(base, raw) {
                        Some(h5::raw::Scalar::Int(v)) => Json::from(v as i64),
                        _ => Json::Null,
                    };
                    m.insert(name.clone(), v);
                }
                json!({"enum": dtype_desc_inner(base)?, "members": m})
            }
        }
        Datatype::VarLenSeq { base, .. } => json!({"vlen": dtype_desc_inner(base)?}),
        Datatype::Array { base, dims } => json!({"array": dtype_desc_inner(base)?, "shape": dims}),
    })
}

fn cs(c: Charset) -> &'static str {
    match c {
        Charset::Ascii => "ascii",
        Charset::Utf8 => "utf8",
    }
}

fn fnum(x: f64) -> Json {
    if x.is_nan() {
        Json::from("nan")
    } else if x.is_infinite() {
        Json::from(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

fn shape_json(shape: &Option<Vec<u64>>) -> Json {
    match shape {
        None => Json::Null,
        Some(s) => json!(s),
    }
}

impl<W: Write> Dumper<W> {
    fn begin(&mut self, depth: usize) -> io::Result<Obj> {
        self.out.write_all(b"{")?;
        Ok(Obj {
            depth,
            first: true,
            errors: Vec::new(),
        })
    }

    fn key(&mut self, o: &mut Obj, key: &str) -> io::Result<()> {
        if !o.first {
            self.out.write_all(b",")?;
        }
        o.first = false;
        self.out.write_all(b"\n")?;
        self.indent(o.depth + 1)?;
        serde_json::to_writer(&mut self.out, key)?;
        self.out.write_all(b": ")
    }

    fn field(&mut self, o: &mut Obj, key: &str, value: &Json) -> io::Result<()> {
        self.key(o, key)?;
        serde_json::to_writer(&mut self.out, value)?;
        Ok(())
    }

    /// Record an object that could not be (fully) read: stderr now, its node's `"error"`
    /// entry at [`Dumper::end`].
    fn fail(&mut self, o: &mut Obj, path: &str, e: h5::Error) {
        let msg = e.at(path).to_string();
        eprintln!("h5: {msg}");
        if o.errors.is_empty() {
            self.errors += 1;
        }
        o.errors.push(msg);
    }

    fn end(&mut self, mut o: Obj) -> io::Result<()> {
        if !o.errors.is_empty() {
            let msg = std::mem::take(&mut o.errors).join("; ");
            self.field(&mut o, "error", &Json::from(msg))?;
        }
        self.out.write_all(b"\n")?;
        self.indent(o.depth)?;
        self.out.write_all(b"}")
    }

    fn indent(&mut self, depth: usize) -> io::Result<()> {
        for _ in 0..depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn path_of(&mut self, addr: u64) -> h5::Result<Option<String>> {
        if self.paths.is_none() {
            let mut m = HashMap::new();
            let root = self.file.root()?;
            m.insert(root.addr(), "/".to_string());
            root.visit_links(|rel, link| {
                if let LinkKind::Hard(a) = link.kind {
                    m.entry(a).or_insert_with(|| format!("/{rel}"));
                }
            })?;
            self.paths = Some(m);
        }
        Ok(self.paths.as_ref().and_then(|m| m.get(&addr).cloned()))
    }

    fn value(&mut self, v: &Value, dt: &Datatype) -> h5::Result<Json> {
        Ok(match v {
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            Value::BigInt(i) => fnum(*i as f64),
            Value::Float(x) => fnum(*x),
            Value::Complex(r, i) => json!([fnum(*r), fnum(*i)]),
            Value::Bool(b) => Json::from(*b),
            Value::Enum { value, .. } => Json::from(*value),
            Value::Str(s) => Json::from(s.as_str()),
            Value::Opaque(b) => {
                Json::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            }
            Value::Ref(a) => match a {
                Some(a) => self.path_of(*a)?.map_or(Json::Null, Json::from),
                None => Json::Null,
            },
            Value::RegionRef(r) => match r {
                Some(r) => self.path_of(r.object)?.map_or(Json::Null, Json::from),
                None => Json::Null,
            },
            Value::Compound(fields) => {
                let Datatype::Compound { members, .. } = dt else {
                    unreachable!("compound value of a compound type")
                };
                let mut m = Map::new();
                for ((name, fv), mem) in fields.iter().zip(members) {
                    m.insert(name.clone(), self.value(fv, &mem.dtype)?);
                }
                Json::Object(m)
            }
            Value::List(items) => match dt {
                Datatype::Array { base, dims } => {
                    let shape: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
                    let flat: h5::Result<Vec<Json>> =
                        items.iter().map(|x| self.value(x, base)).collect();
                    nest(&mut flat?.into_iter(), &shape)
                }
                Datatype::VarLenSeq { base, .. } => {
                    let v: h5::Result<Vec<Json>> =
                        items.iter().map(|x| self.value(x, base)).collect();
                    Json::Array(v?)
                }
                _ => Json::Null,
            },
        })
    }

    /// An attribute's (or a whole small selection's) data as one JSON value.
    fn data(&mut self, values: Vec<Value>, shape: &[u64], dt: &Datatype) -> h5::Result<Json> {
        let mut flat = Vec::with_capacity(values.len());
        for v in &values {
            flat.push(self.value(v, dt)?);
        }
        if shape.is_empty() {
            return Ok(flat.into_iter().next().unwrap_or(Json::Null));
        }
        Ok(nest(&mut flat.into_iter(), shape))
    }

    fn attrs(&mut self, attrs: h5::Attributes) -> h5::Result<Json> {
        let mut out = Map::new();
        let mut list = attrs.all()?;
        list.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
        for a in list {
            let shape = a.shape();
            let data = match &shape {
                None => Json::Null,
                Some(s) => {
                    let vals = a
                        .read_values()
                        .map_err(|e| e.at(&format!("attribute {:?}", a.name())))?;
                    self.data(vals, s, a.dtype())?
                }
            };
            out.insert(
                a.name().to_string(),
                json!({"dtype": dtype_desc(a.dtype())?, "shape": shape_json(&shape), "data": data}),
            );
        }
        Ok(Json::Object(out))
    }

    /// The `"attrs"` entry of a node (`{}` and an error when they cannot be read).
    fn attrs_field(&mut self, o: &mut Obj, path: &str, attrs: h5::Attributes) -> io::Result<()> {
        let a = match self.attrs(attrs) {
            Ok(a) => a,
            Err(e) => {
                self.fail(o, path, e);
                Json::Object(Map::new())
            }
        };
        self.field(o, "attrs", &a)
    }

    fn dataset(
        &mut self,
        ds: &Dataset,
        path: &str,
        sel: &Selection,
        depth: usize,
    ) -> io::Result<()> {
        let mut o = self.begin(depth)?;
        self.field(&mut o, "kind", &Json::from("dataset"))?;
        let shape = ds.shape();
        let dtype = match dtype_desc(ds.dtype()) {
            Ok(d) => d,
            Err(e) => {
                self.fail(&mut o, path, e);
                return self.end(o);
            }
        };
        let maxshape = ds.maxshape().map(|m| {
            m.into_iter()
                .map(|x| x.map_or(Json::Null, Json::from))
                .collect::<Vec<_>>()
        });
        let layout = match ds.layout() {
            h5::LayoutKind::Compact => "compact",
            h5::LayoutKind::Contiguous => "contiguous",
            h5::LayoutKind::Chunked => "chunked",
            h5::LayoutKind::Virtual => "virtual",
        };
        self.field(&mut o, "dtype", &dtype)?;
        self.field(&mut o, "shape", &shape_json(&shape))?;
        self.field(
            &mut o,
            "maxshape",
            &maxshape.map_or(Json::Null, Json::Array),
        )?;
        self.field(&mut o, "layout", &Json::from(layout))?;
        self.field(
            &mut o,
            "chunks",
            &ds.chunks().map_or(Json::Null, |c| json!(c)),
        )?;
        let filters: Vec<u16> = ds.filters().iter().map(|f| f.id).collect();
        self.field(&mut o, "filters", &json!(filters))?;
        self.attrs_field(&mut o, path, ds.attrs())?;
        self.key(&mut o, "data")?;
        if let Err(e) = self.stream_data(ds, sel)? {
            self.fail(&mut o, path, e);
        }
        self.end(o)
    }

    /// Write a dataset's selected data, piece by piece. The outer result is the output's;
    /// the inner one a read error, after which the lists written so far are closed.
    fn stream_data(&mut self, ds: &Dataset, sel: &Selection) -> io::Result<h5::Result<()>> {
        if ds.shape().is_none() {
            self.out.write_all(b"null")?;
            return Ok(Ok(()));
        }
        let es = ds.dtype().size().max(1);
        let pieces = match ds.batches(sel, BATCH.min((BATCH_BYTES / es).max(1))) {
            Ok(p) => p,
            Err(e) => {
                self.out.write_all(b"null")?;
                return Ok(Err(e));
            }
        };
        let shape = pieces.out_shape().to_vec();
        if pieces.len() > self.max_elements {
            self.out.write_all(b"null")?;
            return Ok(Err(h5::Error::Shape(format!(
                "{} elements selected, more than the dump writes (--max-elements {})",
                pieces.len(),
                self.max_elements
            ))));
        }
        if pieces.is_empty() {
            write_empty(&mut self.out, &shape)?;
            return Ok(Ok(()));
        }
        let fast = Fast::of(ds.dtype());
        let mut nest = Nester::new(&shape);
        let mut ibuf = itoa::Buffer::new();
        let mut fbuf = ryu::Buffer::new();
        for piece in pieces {
            let read = match fast {
                Some(Fast::Signed) => ds.read_slice::<i64>(&piece).map(|a| {
                    numbers(&mut self.out, &mut nest, &a, |w, x| {
                        w.write_all(ibuf.format(x).as_bytes())
                    })
                }),
                Some(Fast::Unsigned) => ds.read_slice::<u64>(&piece).map(|a| {
                    numbers(&mut self.out, &mut nest, &a, |w, x| {
                        w.write_all(ibuf.format(x).as_bytes())
                    })
                }),
                Some(Fast::Float) => ds.read_slice::<f64>(&piece).map(|a| {
                    numbers(&mut self.out, &mut nest, &a, |w, x| {
                        write_float(w, &mut fbuf, x)
                    })
                }),
                None => match ds.read_values(&piece) {
                    Ok((values, _)) => {
                        let mut r: Result<io::Result<()>, h5::Error> = Ok(Ok(()));
                        for v in &values {
                            match self.value(v, ds.dtype()) {
                                Ok(j) => nest.element(&mut self.out, |w| {
                                    serde_json::to_writer(w, &j).map_err(io::Error::from)
                                })?,
                                Err(e) => {
                                    r = Err(e);
                                    break;
                                }
                            }
                        }
                        r
                    }
                    Err(e) => Err(e),
                },
            };
            match read {
                Ok(Ok(())) => {}
                Ok(Err(io)) => return Err(io),
                Err(e) => {
                    nest.abort(&mut self.out)?;
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(()))
    }

    fn group(
        &mut self,
        g: &Group,
        path: &str,
        seen: &mut HashMap<u64, String>,
        depth: usize,
    ) -> io::Result<()> {
        let mut o = self.begin(depth)?;
        self.field(&mut o, "kind", &Json::from("group"))?;
        self.attrs_field(&mut o, path, g.attrs())?;
        self.key(&mut o, "members")?;
        let links = match g.links() {
            Ok(mut l) => {
                l.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
                l
            }
            Err(e) => {
                self.fail(&mut o, path, e);
                Vec::new()
            }
        };
        let mut m = Obj {
            depth: depth + 1,
            first: true,
            errors: Vec::new(),
        };
        self.out.write_all(b"{")?;
        for link in links {
            let child = if path == "/" {
                format!("/{}", link.name)
            } else {
                format!("{path}/{}", link.name)
            };
            self.key(&mut m, &link.name)?;
            match &link.kind {
                LinkKind::Soft(t) => {
                    serde_json::to_writer(&mut self.out, &json!({"kind": "softlink", "target": t}))?
                }
                LinkKind::External { file, path } => serde_json::to_writer(
                    &mut self.out,
                    &json!({"kind": "extlink", "file": file, "path": path}),
                )?,
                // Not in the contract (h5py cannot read these links); we report the type.
                LinkKind::UserDefined(k) => {
                    serde_json::to_writer(&mut self.out, &json!({"kind": "udlink", "type": k}))?
                }
                LinkKind::Hard(addr) => {
                    if let Some(first) = seen.get(addr) {
                        serde_json::to_writer(
                            &mut self.out,
                            &json!({"kind": "hardlink", "target": first}),
                        )?
                    } else {
                        seen.insert(*addr, child.clone());
                        match g.node(&link.name) {
                            Ok(Node::Group(sub)) => self.group(&sub, &child, seen, depth + 2)?,
                            Ok(Node::Dataset(ds)) => {
                                self.dataset(&ds, &child, &Selection::All, depth + 2)?
                            }
                            Ok(Node::Datatype(t)) => {
                                let mut o = self.begin(depth + 2)?;
                                self.field(&mut o, "kind", &Json::from("datatype"))?;
                                match t.dtype().and_then(|d| dtype_desc(&d)) {
                                    Ok(d) => self.field(&mut o, "dtype", &d)?,
                                    Err(e) => self.fail(&mut o, &child, e),
                                }
                                self.attrs_field(&mut o, &child, t.attrs())?;
                                self.end(o)?
                            }
                            Err(e) => {
                                let mut o = self.begin(depth + 2)?;
                                self.fail(&mut o, &child, e);
                                self.end(o)?
                            }
                        }
                    }
                }
            }
        }
        if !m.first {
            self.out.write_all(b"\n")?;
            self.indent(depth + 1)?;
        }
        self.out.write_all(b"}")?;
        self.end(o)
    }
}

/// Element types written without the dynamic [`Value`] path.
#[derive(Clone, Copy)]
enum Fast {
    Signed,
    Unsigned,
    Float,
}

impl Fast {
    fn of(dt: &Datatype) -> Option<Fast> {
        match dt {
            Datatype::Integer {
                size,
                signed,
                bitfield: false,
                ..
            } if *size <= 8 => Some(if *signed {
                Fast::Signed
            } else {
                Fast::Unsigned
            }),
            // IEEE half, single and double: exact as f64.
            Datatype::Float {
                size,
                exp_size,
                mant_size,
                ..
            } if [(2, 5, 10), (4, 8, 23), (8, 11, 52)]
                .contains(&(*size, *exp_size, *mant_size)) =>
            {
                Some(Fast::Float)
            }
            _ => None,
        }
    }
}

/// Write numbers as elements of the nested lists, each with `write`.
fn numbers<'a, W: Write, T: Copy + 'a>(
    out: &mut W,
    nest: &mut Nester,
    items: impl IntoIterator<Item = &'a T>,
    mut write: impl FnMut(&mut W, T) -> io::Result<()>,
) -> io::Result<()> {
    for &x in items {
        nest.element(out, |w| write(w, x))?;
    }
    Ok(())
}

fn write_float(w: &mut impl Write, buf: &mut ryu::Buffer, x: f64) -> io::Result<()> {
    if x.is_finite() {
        w.write_all(buf.format_finite(x).as_bytes())
    } else {
        w.write_all(if x.is_nan() {
            b"\"nan\""
        } else if x > 0.0 {
            b"\"inf\""
        } else {
            b"\"-inf\""
        })
    }
}

/// Writes a flat row-major run of elements as nested lists following a shape, across
/// pieces: opens and closes lists where an element starts or ends a row of some axis.
struct Nester {
    /// Elements per block of each axis (`strides[0]` = all, the last = one innermost row).
    strides: Vec<u64>,
    /// Elements written.
    i: u64,
    /// Position inside the current innermost row.
    col: u64,
}

impl Nester {
    fn new(shape: &[u64]) -> Nester {
        let mut strides = vec![1u64; shape.len()];
        let mut acc = 1u64;
        for (a, &n) in shape.iter().enumerate().rev() {
            acc = acc.saturating_mul(n);
            strides[a] = acc;
        }
        Nester {
            strides,
            i: 0,
            col: 0,
        }
    }

    /// How many lists end at element count `i` (all axes whose blocks divide `i`).
    fn boundaries(&self, i: u64) -> usize {
        self.strides
            .iter()
            .filter(|&&s| i.is_multiple_of(s))
            .count()
    }

    fn element<W: Write>(
        &mut self,
        w: &mut W,
        write: impl FnOnce(&mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.col != 0 {
            w.write_all(b",")?;
        } else if !self.strides.is_empty() {
            // The first element of an innermost row: open every list that starts here.
            if self.i > 0 {
                w.write_all(b",\n")?;
            }
            for _ in 0..self.boundaries(self.i) {
                w.write_all(b"[")?;
            }
        }
        write(w)?;
        self.i += 1;
        if let Some(&row) = self.strides.last() {
            self.col += 1;
            if self.col == row {
                self.col = 0;
                for _ in 0..self.boundaries(self.i) {
                    w.write_all(b"]")?;
                }
            }
        }
        Ok(())
    }

    /// Close the lists open after a failed read (`null` when nothing was written).
    fn abort(&self, w: &mut impl Write) -> io::Result<()> {
        if self.i == 0 {
            return w.write_all(b"null");
        }
        let open = self.strides.len() - self.boundaries(self.i);
        for _ in 0..open {
            w.write_all(b"]")?;
        }
        Ok(())
    }
}

/// Nested empty lists for a shape with a zero in it.
fn write_empty(w: &mut impl Write, shape: &[u64]) -> io::Result<()> {
    match shape {
        [] => w.write_all(b"null"),
        [0, ..] | [_] => w.write_all(b"[]"),
        [n, rest @ ..] => {
            w.write_all(b"[")?;
            for k in 0..*n {
                if k > 0 {
                    w.write_all(b",")?;
                }
                write_empty(w, rest)?;
            }
            w.write_all(b"]")
        }
    }
}

/// Nest a flat row-major list into lists following `shape`.
fn nest(flat: &mut impl Iterator<Item = Json>, shape: &[u64]) -> Json {
    match shape {
        [] => flat.next().unwrap_or(Json::Null),
        [n] => Json::Array(flat.take(*n as usize).collect()),
        [n, rest @ ..] => Json::Array((0..*n).map(|_| nest(flat, rest)).collect()),
    }
}

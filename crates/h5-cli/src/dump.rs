//! `h5 dump --json`: the document of ../shared/dump-format.md.

use h5::{
    ByteOrder, Charset, Dataset, Datatype, File, Group, LinkKind, Node, RefKind, Selection, Value,
};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::io::Write;

/// Dump `path` (or one dataset of it) to stdout.
pub fn run(path: &str, dataset: Option<&str>, select: Option<&str>) -> h5::Result<()> {
    let file = File::open(path)?;
    let mut d = Dumper {
        file: file.clone(),
        paths: None,
    };
    let doc = match dataset {
        None => {
            let root = file.root()?;
            let mut seen = HashMap::from([(root.addr(), "/".to_string())]);
            json!({"format": "h5-dump-json/1", "root": d.group(&root, "/", &mut seen)?})
        }
        Some(p) => {
            let ds = file.dataset(p)?;
            let sel = match select {
                Some(s) => Selection::parse(s)?,
                None => Selection::All,
            };
            d.dataset(&ds, &sel)?
        }
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| h5::Error::Io(e.into()))?;
    writeln!(out)?;
    Ok(())
}

struct Dumper {
    file: File,
    /// Object address → the first path found (depth-first, name order), for references.
    paths: Option<HashMap<u64, String>>,
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
                    .find(|(_, e, m)| e >= exp_size && m >= mant_size);
                Json::from(numpy_str(
                    'f',
                    fit.map_or(16, |s| s.0) as u64,
                    ByteOrder::Little,
                ))
            }
        }
        Datatype::Time { .. } => {
            return Err(h5::Error::Unsupported("the time datatype class".into()))
        }
        Datatype::String { size, charset, .. } => json!({"string": size, "charset": cs(*charset)}),
        Datatype::VarLenStr { charset, .. } => json!({"string": "vlen", "charset": cs(*charset)}),
        Datatype::Opaque { size, tag } => json!({"opaque": size, "tag": tag}),
        Datatype::Compound { size, members } => {
            if h5::is_complex_compound(dt) {
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
            if h5::is_bool(dt) {
                Json::from("|b1")
            } else {
                let mut m = Map::new();
                for (name, raw) in members {
                    let v = match h5::decode_scalar(base, raw) {
                        Some(h5::Scalar::Int(v)) => Json::from(v as i64),
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

impl Dumper {
    fn path_of(&mut self, addr: u64) -> h5::Result<Option<String>> {
        if self.paths.is_none() {
            let mut m = HashMap::new();
            let root = self.file.root()?;
            m.insert(root.addr(), "/".to_string());
            root.visit_links::<()>(|rel, link| {
                if let LinkKind::Hard(a) = link.kind {
                    m.entry(a).or_insert_with(|| format!("/{rel}"));
                }
                std::ops::ControlFlow::Continue(())
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

    fn dataset(&mut self, ds: &Dataset, sel: &Selection) -> h5::Result<Json> {
        let shape = ds.shape();
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
        let data = match &shape {
            None => Json::Null,
            Some(_) => {
                let (vals, out_shape) = ds.read_values(sel)?;
                self.data(vals, &out_shape, ds.dtype())?
            }
        };
        Ok(json!({
            "kind": "dataset",
            "dtype": dtype_desc(ds.dtype())?,
            "shape": shape_json(&shape),
            "maxshape": maxshape.map_or(Json::Null, Json::Array),
            "layout": layout,
            "chunks": ds.chunks().map_or(Json::Null, |c| json!(c)),
            "filters": ds.filters().iter().map(|f| f.id).collect::<Vec<_>>(),
            "attrs": self.attrs(ds.attrs())?,
            "data": data,
        }))
    }

    fn group(
        &mut self,
        g: &Group,
        path: &str,
        seen: &mut HashMap<u64, String>,
    ) -> h5::Result<Json> {
        let mut members = Map::new();
        let mut links = g.links()?;
        links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        for link in links {
            let child = if path == "/" {
                format!("/{}", link.name)
            } else {
                format!("{path}/{}", link.name)
            };
            let node = match &link.kind {
                LinkKind::Soft(t) => json!({"kind": "softlink", "target": t}),
                LinkKind::External { file, path } => {
                    json!({"kind": "extlink", "file": file, "path": path})
                }
                // Not in the contract (h5py cannot read these links); we report the type.
                LinkKind::UserDefined(k) => json!({"kind": "udlink", "type": k}),
                LinkKind::Hard(addr) => {
                    if let Some(first) = seen.get(addr) {
                        json!({"kind": "hardlink", "target": first})
                    } else {
                        seen.insert(*addr, child.clone());
                        match g.node(&link.name)? {
                            Node::Group(sub) => self.group(&sub, &child, seen)?,
                            Node::Dataset(ds) => self.dataset(&ds, &Selection::All)?,
                            Node::Datatype(t) => json!({
                                "kind": "datatype",
                                "dtype": dtype_desc(&t.dtype()?)?,
                                "attrs": self.attrs(t.attrs())?,
                            }),
                        }
                    }
                }
            };
            members.insert(link.name.clone(), node);
        }
        Ok(json!({"kind": "group", "attrs": self.attrs(g.attrs())?, "members": members}))
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

//! What our reader sees in a file, in the model's canonical JSON form, and the comparison of
//! two such forms.

use crate::model::fcanon;
use h5::{Datatype, File, LayoutKind, LinkKind, Node, Selection, Value};
use serde_json::{json, Value as Json};
use std::collections::HashMap;

pub fn dcanon(dt: &Datatype) -> String {
    match dt {
        Datatype::Integer { size, signed, .. } => {
            format!("{}{size}", if *signed { "i" } else { "u" })
        }
        Datatype::Float { size, .. } => format!("f{size}"),
        Datatype::Enum { .. } if h5::raw::is_bool(dt) => "b1".into(),
        Datatype::Enum { base, members, .. } => {
            let mut m: Vec<String> = members
                .iter()
                .map(|(n, v)| {
                    let mut b = [0u8; 8];
                    b[..v.len().min(8)].copy_from_slice(&v[..v.len().min(8)]);
                    let x = i64::from_le_bytes(b);
                    let bits = v.len().min(8) * 8;
                    let x = if bits < 64 {
                        (x << (64 - bits)) >> (64 - bits)
                    } else {
                        x
                    };
                    format!("{n}={x}")
                })
                .collect();
            m.sort();
            format!("enum({},{})", dcanon(base), m.join(","))
        }
        Datatype::String { size, .. } => format!("S{size}"),
        Datatype::VarLenStr { .. } => "vstr".into(),
        Datatype::VarLenSeq { base, .. } => format!("vlen({})", dcanon(base)),
        Datatype::Compound { size, .. } if h5::raw::is_complex_compound(dt) => format!("c{size}"),
        Datatype::Complex { size, .. } => format!("c{size}"),
        Datatype::Compound { members, .. } => {
            let m: Vec<String> = members
                .iter()
                .map(|m| format!("{}:{}", m.name, dcanon(&m.dtype)))
                .collect();
            format!("{{{}}}", m.join(","))
        }
        Datatype::Reference {
            kind: h5::RefKind::Object,
            ..
        } => "ref".into(),
        Datatype::Reference {
            kind: h5::RefKind::Region,
            ..
        } => "regionref".into(),
        Datatype::Array { base, dims } => format!(
            "arr({},[{}])",
            dcanon(base),
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("other({other:?})"),
    }
}

/// A value in canonical form; a reference names its object's canonical path (`""` when no
/// link reaches it).
pub fn vcanon(v: &Value, canon: &HashMap<u64, String>) -> Json {
    match v {
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::BigInt(i) => json!(i.to_string()),
        Value::Float(x) => json!(fcanon(*x)),
        Value::Complex(r, i) => json!([fcanon(*r), fcanon(*i)]),
        Value::Bool(b) => json!(b),
        Value::Enum { value, .. } => json!(value),
        // numpy drops a fixed string's trailing NULs
        Value::Str(s) => json!(s.trim_end_matches('\0')),
        Value::Opaque(b) => json!(b),
        Value::Compound(f) => Json::Array(f.iter().map(|(_, v)| vcanon(v, canon)).collect()),
        Value::List(l) => Json::Array(l.iter().map(|v| vcanon(v, canon)).collect()),
        Value::Ref(r) => json!(r.map(|a| canon.get(&a).cloned().unwrap_or_default())),
        Value::RegionRef(r) => json!(r
            .as_ref()
            .map(|r| canon.get(&r.object).cloned().unwrap_or_default())),
    }
}

fn attrs(a: &h5::Attributes, canon: &HashMap<u64, String>) -> Result<Json, String> {
    let mut out = serde_json::Map::new();
    for at in a.all().map_err(|e| e.to_string())? {
        let data = at
            .read_values()
            .map_err(|e| format!("{}: {e}", at.name()))?;
        let type_of = at
            .committed_type()
            .map(|a| canon.get(&a).cloned().unwrap_or_default());
        out.insert(
            at.name().to_string(),
            json!({"dtype": dcanon(at.dtype()), "shape": at.shape(),
                   "data": data.iter().map(|v| vcanon(v, canon)).collect::<Vec<_>>(),
                   "type_of": type_of}),
        );
    }
    Ok(Json::Object(out))
}

fn fill(ds: &h5::Dataset) -> Json {
    let dt = ds.dtype();
    let numeric = matches!(dt, Datatype::Integer { .. } | Datatype::Float { .. });
    if !numeric && !h5::raw::is_bool(dt) {
        return Json::Null;
    }
    let zero = vec![0u8; dt.size() as usize];
    let bytes = ds.fill_value().value.clone().unwrap_or(zero);
    match h5::raw::decode_scalar(dt, &bytes) {
        Some(h5::raw::Scalar::Int(i)) if h5::raw::is_bool(dt) => json!(i != 0),
        Some(h5::raw::Scalar::Int(i)) => {
            if i < 0 {
                json!(i as i64)
            } else {
                json!(i as u64)
            }
        }
        Some(h5::raw::Scalar::Float(x)) => json!(fcanon(x)),
        None => json!("undecodable"),
    }
}

fn dataset(
    ds: &h5::Dataset,
    canon: &HashMap<u64, String>,
    j: &mut serde_json::Map<String, Json>,
) -> Result<(), String> {
    j.insert("kind".into(), json!("dataset"));
    j.insert("dtype".into(), json!(dcanon(ds.dtype())));
    j.insert("shape".into(), json!(ds.shape()));
    j.insert("maxshape".into(), json!(ds.maxshape()));
    j.insert(
        "layout".into(),
        json!(match ds.layout() {
            LayoutKind::Compact => "compact",
            LayoutKind::Contiguous => "contiguous",
            LayoutKind::Chunked => "chunked",
            _ => "other",
        }),
    );
    j.insert("chunks".into(), json!(ds.chunks()));
    let (mut gzip, mut lzf, mut shuffle, mut fletcher32) = (None, false, false, false);
    for f in ds.filters() {
        match f.id {
            1 => gzip = f.client_data.first().copied(),
            2 => shuffle = true,
            3 => fletcher32 = true,
            32000 => lzf = true,
            _ => {}
        }
    }
    j.insert(
        "filters".into(),
        json!({"gzip": gzip, "lzf": lzf, "shuffle": shuffle, "fletcher32": fletcher32}),
    );
    j.insert("fill".into(), fill(ds));
    let t = ds.committed_type().map_err(|e| e.to_string())?;
    j.insert(
        "type_of".into(),
        json!(t.map(|a| canon.get(&a).cloned().unwrap_or_default())),
    );
    let (data, _) = ds
        .read_values(&Selection::All)
        .map_err(|e| format!("{}: {e}", ds.name()))?;
    j.insert(
        "data".into(),
        Json::Array(data.iter().map(|v| vcanon(v, canon)).collect()),
    );
    Ok(())
}

/// The canonical form of what our reader sees (no reference counts: the API does not show
/// them; h5py checks those).
pub fn observe(f: &File) -> Result<Json, String> {
    let e = |e: h5::Error| e.to_string();
    let root = f.root().map_err(e)?;
    let mut canon: HashMap<u64, String> = HashMap::from([(root.addr(), "/".to_string())]);
    let mut groups = serde_json::Map::new();
    let mut objects = serde_json::Map::new();
    let mut todo = vec![("/".to_string(), Node::Group(root.clone()))];
    // depth first, in name order, as the model walks
    fn walk(
        g: &h5::Group,
        base: &str,
        canon: &mut HashMap<u64, String>,
        groups: &mut serde_json::Map<String, Json>,
        todo: &mut Vec<(String, Node)>,
    ) -> Result<(), String> {
        let mut links = g.links().map_err(|e| e.to_string())?;
        links.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = serde_json::Map::new();
        for l in links {
            let path = format!("{base}/{}", l.name);
            let v = match &l.kind {
                LinkKind::Hard(addr) => {
                    if !canon.contains_key(addr) {
                        canon.insert(*addr, path.clone());
                        let node = g.node(&l.name).map_err(|e| format!("{path}: {e}"))?;
                        let sub = match &node {
                            Node::Group(sg) => Some(sg.clone()),
                            _ => None,
                        };
                        todo.push((path.clone(), node));
                        if let Some(sg) = sub {
                            walk(&sg, &path, canon, groups, todo)?;
                        }
                    }
                    json!(["hard", canon[addr]])
                }
                LinkKind::Soft(p) => json!(["soft", p]),
                LinkKind::External { file, path } => json!(["ext", file, path]),
                LinkKind::UserDefined(t) => json!(["user", t]),
            };
            out.insert(l.name.clone(), v);
        }
        let key = if base.is_empty() { "/" } else { base };
        groups.insert(key.to_string(), Json::Object(out));
        Ok(())
    }
    walk(&root, "", &mut canon, &mut groups, &mut todo)?;
    for (path, node) in todo {
        let mut j = serde_json::Map::new();
        let a = match &node {
            Node::Group(g) => g.attrs(),
            Node::Dataset(d) => d.attrs(),
            Node::Datatype(t) => t.attrs(),
        };
        j.insert("attr_order".into(), json!(a.names().map_err(e)?));
        match &node {
            Node::Group(g) => {
                j.insert("kind".into(), json!("group"));
                j.insert("attrs".into(), attrs(&g.attrs(), &canon)?);
                j.insert("order".into(), json!(g.member_names().map_err(e)?));
            }
            Node::Dataset(d) => {
                dataset(d, &canon, &mut j)?;
                j.insert("attrs".into(), attrs(&d.attrs(), &canon)?);
            }
            Node::Datatype(t) => {
                j.insert("kind".into(), json!("type"));
                j.insert("dtype".into(), json!(dcanon(&t.dtype().map_err(e)?)));
                j.insert("attrs".into(), attrs(&t.attrs(), &canon)?);
            }
        }
        objects.insert(path, Json::Object(j));
    }
    Ok(json!({"groups": groups, "objects": objects}))
}

/// Differences between the expected and the observed form, as "where: expected / got" lines.
/// What our reader cannot see (`rc`) and h5py's guessed chunks are skipped when `ours` is set.
pub fn diff(expected: &Json, got: &Json, ours: bool) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("", expected, got, ours, &mut out);
    out
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

fn diff_at(at: &str, e: &Json, g: &Json, ours: bool, out: &mut Vec<String>) {
    match (e, g) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in a {
                if ours && k == "rc" {
                    continue;
                }
                if ours && k == "chunks" && v.get("guess").is_some() {
                    continue;
                }
                match b.get(k) {
                    Some(w) => diff_at(&format!("{at}/{k}"), v, w, ours, out),
                    None => out.push(format!("{at}/{k}: expected {}, missing", short(v))),
                }
            }
            for k in b.keys() {
                if !(a.contains_key(k) || ours && k == "rc") {
                    out.push(format!("{at}/{k}: unexpected {}", short(&b[k])));
                }
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff_at(&format!("{at}[{i}]"), v, w, ours, out);
            }
        }
        _ if e == g || e == "ref:dead" => {}
        _ => out.push(format!("{at}: expected {}, got {}", short(e), short(g))),
    }
}

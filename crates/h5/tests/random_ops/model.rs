//! What a file must hold after a sequence of operations: element types and values, the
//! link graph with reference counts, datasets and attributes — and its canonical JSON form,
//! which h5py's observation (check.py) and ours (observe.rs) must equal.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Element types the test writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dt {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
    Bool,
    /// Variable-length UTF-8 string.
    VStr,
    /// Fixed-length ASCII string, null-padded.
    FStr(u32),
    /// A compound `{a: i32, b: f64}`.
    Pair,
    /// numpy's complex128.
    C16,
    /// A variable-length sequence of i32.
    VlenI32,
    /// An array of 3 i16.
    ArrI16,
    /// An enum of i8: RED=0, GREEN=1, BLUE=2.
    Color,
    /// An object reference (h5py's `ref_dtype`).
    ObjRef,
}

pub const ALL_DTS: [Dt; 20] = [
    Dt::I8,
    Dt::I16,
    Dt::I32,
    Dt::I64,
    Dt::U8,
    Dt::U16,
    Dt::U32,
    Dt::U64,
    Dt::F16,
    Dt::F32,
    Dt::F64,
    Dt::Bool,
    Dt::VStr,
    Dt::FStr(6),
    Dt::Pair,
    Dt::C16,
    Dt::VlenI32,
    Dt::ArrI16,
    Dt::Color,
    Dt::ObjRef,
];

impl Dt {
    /// The HDF5 type h5py makes for it.
    pub fn datatype(self) -> h5::Datatype {
        use h5::{types, H5Type};
        match self {
            Dt::I8 => i8::datatype(),
            Dt::I16 => i16::datatype(),
            Dt::I32 => i32::datatype(),
            Dt::I64 => i64::datatype(),
            Dt::U8 => u8::datatype(),
            Dt::U16 => u16::datatype(),
            Dt::U32 => u32::datatype(),
            Dt::U64 => u64::datatype(),
            Dt::F16 => types::float16(),
            Dt::F32 => f32::datatype(),
            Dt::F64 => f64::datatype(),
            Dt::Bool => bool::datatype(),
            Dt::VStr => types::vlen_utf8(),
            Dt::FStr(n) => types::fixed_ascii(n),
            Dt::Pair => types::compound(&[("a", i32::datatype()), ("b", f64::datatype())]),
            Dt::C16 => types::complex128(),
            Dt::VlenI32 => types::vlen(i32::datatype()),
            Dt::ArrI16 => h5::Datatype::Array {
                base: Box::new(i16::datatype()),
                dims: vec![3],
            },
            Dt::ObjRef => types::object_ref(),
            Dt::Color => h5::Datatype::Enum {
                size: 1,
                base: Box::new(i8::datatype()),
                members: vec![
                    ("RED".into(), vec![0]),
                    ("GREEN".into(), vec![1]),
                    ("BLUE".into(), vec![2]),
                ],
            },
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Dt::I8
                | Dt::I16
                | Dt::I32
                | Dt::I64
                | Dt::U8
                | Dt::U16
                | Dt::U32
                | Dt::U64
                | Dt::F16
                | Dt::F32
                | Dt::F64
        )
    }

    /// Can be a fill value in this test (numbers and bool).
    pub fn has_fill(self) -> bool {
        self.is_numeric() || self == Dt::Bool
    }

    /// What an unwritten element reads as without a fill value.
    pub fn zero(self) -> V {
        match self {
            Dt::I8 | Dt::I16 | Dt::I32 | Dt::I64 | Dt::Color => V::I(0),
            Dt::U8 | Dt::U16 | Dt::U32 | Dt::U64 => V::U(0),
            Dt::F16 | Dt::F32 | Dt::F64 => V::F(0.0),
            Dt::Bool => V::B(false),
            Dt::VStr | Dt::FStr(_) => V::S(String::new()),
            Dt::Pair => V::L(vec![V::I(0), V::F(0.0)]),
            Dt::C16 => V::L(vec![V::F(0.0), V::F(0.0)]),
            Dt::VlenI32 => V::L(vec![]),
            Dt::ArrI16 => V::L(vec![V::I(0); 3]),
            Dt::ObjRef => V::R(None),
        }
    }

    /// The canonical name check.py gives the numpy dtype h5py reads.
    pub fn canon(self) -> String {
        match self {
            Dt::I8 => "i1".into(),
            Dt::I16 => "i2".into(),
            Dt::I32 => "i4".into(),
            Dt::I64 => "i8".into(),
            Dt::U8 => "u1".into(),
            Dt::U16 => "u2".into(),
            Dt::U32 => "u4".into(),
            Dt::U64 => "u8".into(),
            Dt::F16 => "f2".into(),
            Dt::F32 => "f4".into(),
            Dt::F64 => "f8".into(),
            Dt::Bool => "b1".into(),
            Dt::VStr => "vstr".into(),
            Dt::FStr(n) => format!("S{n}"),
            Dt::Pair => "{a:i4,b:f8}".into(),
            Dt::C16 => "c16".into(),
            Dt::VlenI32 => "vlen(i4)".into(),
            Dt::ArrI16 => "arr(i2,[3])".into(),
            Dt::Color => "enum(i1,BLUE=2,GREEN=1,RED=0)".into(),
            Dt::ObjRef => "ref".into(),
        }
    }
}

/// One element's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum V {
    I(i64),
    U(u64),
    F(f64),
    B(bool),
    S(String),
    /// Compound fields, complex (re, im), array elements or a vlen sequence.
    L(Vec<V>),
    /// An object reference, by a path to the object when the op is drawn (null: `None`).
    R(Option<String>),
    /// An object reference in the model: the object it names.
    Id(Option<Id>),
}

impl V {
    pub fn canon(&self) -> Json {
        match self {
            V::I(v) => json!(v),
            V::U(v) => json!(v),
            V::F(x) => json!(fcanon(*x)),
            V::B(b) => json!(b),
            V::S(s) => json!(s),
            V::L(l) => Json::Array(l.iter().map(V::canon).collect()),
            V::R(p) => json!(p),
            V::Id(_) => unreachable!("references are made canonical by the model"),
        }
    }

    /// As a dynamic value of `dt`, for `write_values`.
    pub fn value(&self, dt: Dt) -> h5::Value {
        use h5::Value as Hv;
        match (dt, self) {
            (Dt::Pair, V::L(l)) => Hv::Compound(vec![
                ("a".into(), l[0].value(Dt::I32)),
                ("b".into(), l[1].value(Dt::F64)),
            ]),
            (Dt::C16, V::L(l)) => match (&l[0], &l[1]) {
                (V::F(r), V::F(i)) => Hv::Complex(*r, *i),
                _ => unreachable!(),
            },
            (Dt::VlenI32, V::L(l)) => Hv::List(l.iter().map(|v| v.value(Dt::I32)).collect()),
            (Dt::ArrI16, V::L(l)) => Hv::List(l.iter().map(|v| v.value(Dt::I16)).collect()),
            (Dt::Color, V::I(v)) => Hv::Enum {
                value: *v,
                name: None,
            },
            (_, V::I(v)) => Hv::Int(*v),
            (_, V::U(v)) => Hv::UInt(*v),
            (_, V::F(x)) => Hv::Float(*x),
            (_, V::B(b)) => Hv::Bool(*b),
            (_, V::S(s)) => Hv::Str(s.clone()),
            (_, V::L(_)) => unreachable!("list for {dt:?}"),
            (_, V::R(_) | V::Id(_)) => unreachable!("references are resolved by the runner"),
        }
    }
}

/// Floats compare bit for bit: the f64 bits in hex (f16/f32 widen exactly).
pub fn fcanon(x: f64) -> String {
    format!("f:{:016x}", x.to_bits())
}

/// A selection, as the test draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Sel {
    All,
    /// Per axis: an index, or start/stop/step (stop may pass the end: numpy clips).
    Slice(Vec<Ax>),
    Points(Vec<Vec<u64>>),
    Mask(Vec<bool>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ax {
    Index(u64),
    Range(u64, u64, u64),
    List(Vec<u64>),
}

impl Sel {
    pub fn to_h5(&self) -> h5::Selection {
        use h5::SliceArg;
        match self {
            Sel::All => h5::Selection::All,
            Sel::Slice(ax) => h5::Selection::Slice(
                ax.iter()
                    .map(|a| match a {
                        Ax::Index(i) => SliceArg::Index(*i as i64),
                        Ax::Range(a, b, s) => SliceArg::Range {
                            start: Some(*a as i64),
                            stop: Some(*b as i64),
                            step: *s as i64,
                        },
                        Ax::List(l) => SliceArg::Indices(l.iter().map(|&i| i as i64).collect()),
                    })
                    .collect(),
            ),
            Sel::Points(p) => h5::Selection::Points(p.clone()),
            Sel::Mask(m) => h5::Selection::Mask(m.clone()),
        }
    }

    /// The row-major element indices selected in `shape`, in the selection's order; `None`
    /// when h5py refuses it (an index out of range, a wrong rank).
    pub fn indices(&self, shape: &[u64]) -> Option<Vec<usize>> {
        let strides: Vec<u64> = (0..shape.len())
            .map(|d| shape[d + 1..].iter().product())
            .collect();
        match self {
            Sel::All => Some((0..shape.iter().product::<u64>() as usize).collect()),
            Sel::Points(pts) => pts
                .iter()
                .map(|p| {
                    (p.len() == shape.len() && p.iter().zip(shape).all(|(&i, &n)| i < n))
                        .then(|| p.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>() as usize)
                })
                .collect(),
            Sel::Mask(m) => (m.len() as u64 == shape.iter().product::<u64>())
                .then(|| m.iter().enumerate().filter(|x| *x.1).map(|x| x.0).collect()),
            Sel::Slice(ax) => {
                if ax.len() != shape.len() {
                    return None;
                }
                let mut per: Vec<Vec<u64>> = Vec::new();
                for (a, &n) in ax.iter().zip(shape) {
                    per.push(match a {
                        Ax::Index(i) if *i < n => vec![*i],
                        Ax::Index(_) => return None,
                        Ax::Range(a, b, s) => (*a..(*b).min(n)).step_by(*s as usize).collect(),
                        Ax::List(l) if l.iter().all(|&i| i < n) => l.clone(),
                        Ax::List(_) => return None,
                    });
                }
                let mut out = vec![0u64];
                for (d, coords) in per.iter().enumerate() {
                    let stride = strides[d];
                    out = out
                        .iter()
                        .flat_map(|&base| coords.iter().map(move |&c| base + c * stride))
                        .collect();
                }
                Some(out.into_iter().map(|i| i as usize).collect())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    Contiguous,
    Compact,
    Chunked,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    pub gzip: Option<u8>,
    pub lzf: bool,
    pub shuffle: bool,
    pub fletcher32: bool,
}

impl Filters {
    pub fn any(&self) -> bool {
        self.gzip.is_some() || self.lzf || self.shuffle || self.fletcher32
    }
}

/// What a dataset is created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DsSpec {
    pub dt: Dt,
    pub shape: Vec<u64>,
    pub maxshape: Option<Vec<Option<u64>>>,
    /// An explicit layout (`None`: what h5py picks).
    pub layout: Option<Layout>,
    /// Explicit chunks; `None` with a chunked layout: h5py's guess.
    pub chunks: Option<Vec<u64>>,
    pub filters: Filters,
    pub fill: Option<V>,
    /// A committed type's path to use (its type replaces `dt`).
    pub committed: Option<String>,
    /// A null dataspace (h5py's `Empty`): `shape` is ignored.
    #[serde(default)]
    pub empty: bool,
    /// Allocation time (1 early, 2 late, 3 incremental).
    #[serde(default)]
    pub alloc: Option<u8>,
    /// Fill time (0 on allocation, 1 never, 2 if set).
    #[serde(default)]
    pub fill_time: Option<u8>,
    /// Attributes in creation order (h5py's track_order=True).
    #[serde(default)]
    pub track_order: bool,
}

/// The operations the test draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    CreateGroup(String),
    /// A group keeping creation order (h5py's track_order=True).
    CreateGroupOrdered(String),
    CreateDataset(String, DsSpec),
    /// Write values (one: broadcast) through the typed API (`typed`) or dynamic values.
    Write {
        path: String,
        sel: Sel,
        values: Vec<V>,
        typed: bool,
    },
    Resize(String, Vec<u64>),
    SetAttr {
        path: String,
        name: String,
        dt: Dt,
        shape: Vec<u64>,
        values: Vec<V>,
    },
    /// An attribute whose type is the committed type at `ty`.
    SetAttrCommitted {
        path: String,
        name: String,
        ty: String,
        shape: Vec<u64>,
        values: Vec<V>,
    },
    /// An attribute with a null dataspace (h5py's `Empty`).
    SetAttrEmpty {
        path: String,
        name: String,
        dt: Dt,
    },
    DeleteAttr(String, String),
    LinkHard {
        target: String,
        path: String,
    },
    LinkSoft {
        target: String,
        path: String,
    },
    LinkExternal {
        file: String,
        target: String,
        path: String,
    },
    Unlink(String),
    Move(String, String),
    CommitType(String, Dt),
    Flush,
    Reopen,
}

pub type Id = usize;

#[derive(Debug, Clone, PartialEq)]
pub enum Lnk {
    Hard(Id),
    Soft(String),
    Ext(String, String),
}

#[derive(Debug, Clone)]
pub struct Ds {
    pub dt: Dt,
    pub shape: Vec<u64>,
    pub maxshape: Vec<Option<u64>>,
    pub layout: Layout,
    pub chunks: Option<Vec<u64>>,
    /// Chunks guessed by h5py's rule from this creation shape.
    pub guessed_from: Option<Vec<u64>>,
    pub filters: Filters,
    pub fill: Option<V>,
    pub committed: Option<Id>,
    /// A null dataspace.
    pub null: bool,
    /// Fill time "never": new storage holds zeros (the test only draws it with early
    /// allocation, where that is what the file holds).
    pub never_fill: bool,
    /// Row-major elements.
    pub data: Vec<V>,
}

impl Ds {
    fn fill_or_zero(&self) -> V {
        self.fill.clone().unwrap_or_else(|| self.dt.zero())
    }
    /// What newly allocated storage reads as.
    fn initial(&self) -> V {
        if self.never_fill {
            self.dt.zero()
        } else {
            self.fill_or_zero()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub dt: Dt,
    /// `None`: a null dataspace.
    pub shape: Option<Vec<u64>>,
    pub data: Vec<V>,
    /// The committed type the attribute's type refers to.
    pub committed: Option<Id>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Group(BTreeMap<String, Lnk>),
    Dataset(Ds),
    Type(Dt),
}

#[derive(Debug, Clone)]
pub struct Obj {
    pub kind: Kind,
    pub attrs: BTreeMap<String, Attr>,
    /// Hard links to it.
    pub links: u32,
    /// Datasets using it (committed types).
    pub users: u32,
    /// Links and attributes kept in creation order (h5py's track_order).
    pub tracked: bool,
    /// When each link (groups) and attribute was made, for tracked objects.
    pub link_seq: BTreeMap<String, u64>,
    pub attr_seq: BTreeMap<String, u64>,
}

impl Obj {
    /// Names in the order h5py lists them: creation order when tracked, else by name.
    fn listed<'a>(
        &self,
        names: impl Iterator<Item = &'a String>,
        seq: &BTreeMap<String, u64>,
    ) -> Vec<String> {
        let mut v: Vec<String> = names.cloned().collect();
        if self.tracked {
            v.sort_by_key(|n| seq.get(n).copied().unwrap_or(u64::MAX));
        }
        v
    }
}

/// The file's expected state.
#[derive(Debug, Clone)]
pub struct Model {
    pub objs: HashMap<Id, Obj>,
    next: Id,
    /// Creation sequence numbers (one counter serves every tracked object).
    seq: u64,
}

/// Why an operation must fail (the file must then be unchanged).
pub type Refusal = String;

impl Model {
    /// An empty file; `tracked`: its root group keeps creation order.
    pub fn new(tracked: bool) -> Model {
        let mut m = Model {
            objs: HashMap::new(),
            next: 0,
            seq: 0,
        };
        let root = m.add(Kind::Group(BTreeMap::new()), tracked);
        m.objs.get_mut(&root).unwrap().links = 1;
        m
    }

    fn add(&mut self, kind: Kind, tracked: bool) -> Id {
        let id = self.next;
        self.next += 1;
        self.objs.insert(
            id,
            Obj {
                kind,
                attrs: BTreeMap::new(),
                links: 0,
                users: 0,
                tracked,
                link_seq: BTreeMap::new(),
                attr_seq: BTreeMap::new(),
            },
        );
        id
    }

    fn tick(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn members(&self, id: Id) -> Option<&BTreeMap<String, Lnk>> {
        match &self.objs.get(&id)?.kind {
            Kind::Group(m) => Some(m),
            _ => None,
        }
    }

    fn members_mut(&mut self, id: Id) -> Option<&mut BTreeMap<String, Lnk>> {
        match &mut self.objs.get_mut(&id)?.kind {
            Kind::Group(m) => Some(m),
            _ => None,
        }
    }

    /// Split a path into its components (empty ones dropped, as libhdf5 does).
    fn parts(path: &str) -> Vec<&str> {
        path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The object at `path`, following soft links as libhdf5 does (relative targets from the
    /// group holding the link; external links are not followed: the other file is absent).
    pub fn resolve(&self, path: &str) -> Option<Id> {
        self.resolve_in(0, path, 0)
    }

    fn resolve_in(&self, start: Id, path: &str, depth: u32) -> Option<Id> {
        let mut at = if path.starts_with('/') { 0 } else { start };
        for p in Self::parts(path) {
            if p == "." {
                continue;
            }
            let l = self.members(at)?.get(p)?;
            at = self.follow(at, l, depth)?;
        }
        Some(at)
    }

    /// Where the link `l` in group `at` leads.
    fn follow(&self, at: Id, l: &Lnk, depth: u32) -> Option<Id> {
        match l {
            Lnk::Hard(id) => Some(*id),
            Lnk::Soft(t) if depth < 16 => self.resolve_in(at, t, depth + 1),
            _ => None,
        }
    }

    /// The link at `path` (its parent group and name).
    pub fn link(&self, path: &str) -> Option<(Id, String, Lnk)> {
        let parts = Self::parts(path);
        let (name, dir) = parts.split_last()?;
        let parent = self.resolve(&dir.join("/"))?;
        let l = self.members(parent)?.get(*name)?.clone();
        Some((parent, name.to_string(), l))
    }

    /// Where a new link at `path` goes: the parent (created with missing intermediate groups
    /// unless `dry`) and the name. Refused when a component is not a group or the name exists.
    fn place(&mut self, path: &str, dry: bool) -> Result<(Id, String), Refusal> {
        let parts = Self::parts(path);
        let (name, dir) = parts.split_last().ok_or("empty path")?;
        if *name == "." {
            return Err("bad name".into());
        }
        let mut at = 0;
        let mut missing = None;
        for (i, p) in dir.iter().enumerate() {
            match self.members(at).ok_or("not a group")?.get(*p) {
                Some(l) => {
                    at = self
                        .follow(at, l, 0)
                        .ok_or("a dangling soft link or an external link on the way")?;
                    if self.members(at).is_none() {
                        return Err(format!("{p} is not a group"));
                    }
                }
                None => {
                    missing = Some(i);
                    break;
                }
            }
        }
        if missing.is_none() && self.members(at).unwrap().contains_key(*name) {
            return Err(format!("{path} exists"));
        }
        if dry {
            return Ok((at, name.to_string()));
        }
        if let Some(i) = missing {
            for p in &dir[i..] {
                let g = self.add(Kind::Group(BTreeMap::new()), false);
                self.insert(at, p, Lnk::Hard(g));
                at = g;
            }
        }
        Ok((at, name.to_string()))
    }

    fn insert(&mut self, parent: Id, name: &str, l: Lnk) {
        if let Lnk::Hard(id) = l {
            self.objs.get_mut(&id).unwrap().links += 1;
        }
        let t = self.tick();
        self.objs
            .get_mut(&parent)
            .unwrap()
            .link_seq
            .insert(name.to_string(), t);
        self.members_mut(parent)
            .unwrap()
            .insert(name.to_string(), l);
    }

    /// Remove a link; drop what no longer has a reference.
    fn remove(&mut self, parent: Id, name: &str) {
        self.objs.get_mut(&parent).unwrap().link_seq.remove(name);
        if let Some(Lnk::Hard(id)) = self.members_mut(parent).unwrap().remove(name) {
            self.unref(id, false);
        }
    }

    fn unref(&mut self, id: Id, user: bool) {
        let Some(o) = self.objs.get_mut(&id) else {
            return;
        };
        if user {
            o.users -= 1;
        } else {
            o.links -= 1;
        }
        if o.links + o.users > 0 {
            return;
        }
        let o = self.objs.remove(&id).unwrap();
        for a in o.attrs.values() {
            if let Some(t) = a.committed {
                self.unref(t, true);
            }
        }
        match o.kind {
            Kind::Group(m) => {
                for l in m.into_values() {
                    if let Lnk::Hard(c) = l {
                        self.unref(c, false);
                    }
                }
            }
            Kind::Dataset(ds) => {
                if let Some(t) = ds.committed {
                    self.unref(t, true);
                }
            }
            Kind::Type(_) => {}
        }
    }

    fn dataset_mut(&mut self, path: &str) -> Result<&mut Ds, Refusal> {
        let id = self.resolve(path).ok_or("no such object")?;
        match &mut self.objs.get_mut(&id).unwrap().kind {
            Kind::Dataset(d) => Ok(d),
            _ => Err("not a dataset".into()),
        }
    }

    /// Object references by path become references to the objects the paths name now.
    fn bind(&self, values: &[V]) -> Result<Vec<V>, Refusal> {
        values
            .iter()
            .map(|v| match v {
                V::R(Some(p)) => Ok(V::Id(Some(self.resolve(p).ok_or("no object to refer to")?))),
                V::R(None) => Ok(V::Id(None)),
                other => Ok(other.clone()),
            })
            .collect()
    }

    /// A value in canonical form; a reference names its object's canonical path (`""` for
    /// an object no link reaches, `"ref:dead"` once it was freed: anything may read there).
    fn canon_v(&self, v: &V, canon: &HashMap<Id, String>) -> Json {
        match v {
            V::Id(None) => Json::Null,
            V::Id(Some(id)) if !self.objs.contains_key(id) => json!("ref:dead"),
            V::Id(Some(id)) => json!(canon.get(id).cloned().unwrap_or_default()),
            V::L(l) => Json::Array(l.iter().map(|v| self.canon_v(v, canon)).collect()),
            other => other.canon(),
        }
    }

    /// Apply `op` as h5py would: `Err` says why h5py refuses it (the model is then unchanged).
    pub fn apply(&mut self, op: &Op) -> Result<(), Refusal> {
        match op {
            Op::CreateGroup(path) | Op::CreateGroupOrdered(path) => {
                let (p, name) = self.place(path, false)?;
                let tracked = matches!(op, Op::CreateGroupOrdered(_));
                let g = self.add(Kind::Group(BTreeMap::new()), tracked);
                self.insert(p, &name, Lnk::Hard(g));
            }
            Op::CreateDataset(path, spec) => {
                let ds = self.new_dataset(spec)?;
                self.place(path, true)?;
                let (p, name) = self.place(path, false)?;
                if let Some(t) = ds.committed {
                    self.objs.get_mut(&t).unwrap().users += 1;
                }
                let id = self.add(Kind::Dataset(ds), spec.track_order);
                self.insert(p, &name, Lnk::Hard(id));
            }
            Op::Write {
                path, sel, values, ..
            } => {
                let values = &self.bind(values)?;
                let ds = self.dataset_mut(path)?;
                if ds.null {
                    return Err("a null dataspace".into());
                }
                let idx = sel.indices(&ds.shape).ok_or("selection out of range")?;
                if values.len() != idx.len() && values.len() != 1 {
                    return Err("value count".into());
                }
                for (k, &i) in idx.iter().enumerate() {
                    ds.data[i] = values[if values.len() == 1 { 0 } else { k }].clone();
                }
            }
            Op::Resize(path, shape) => {
                let ds = self.dataset_mut(path)?;
                if ds.layout != Layout::Chunked {
                    return Err("only chunked datasets resize".into());
                }
                if shape.len() != ds.shape.len()
                    || shape
                        .iter()
                        .zip(&ds.maxshape)
                        .any(|(&n, m)| m.is_some_and(|m| n > m))
                {
                    return Err("beyond maxshape".into());
                }
                let fill = ds.initial();
                let old = std::mem::take(&mut ds.data);
                let n: u64 = shape.iter().product();
                let mut data = vec![fill; n as usize];
                let oldshape = ds.shape.clone();
                for (i, v) in old.into_iter().enumerate() {
                    let c = unravel(i as u64, &oldshape);
                    if c.iter().zip(shape).all(|(&c, &n)| c < n) {
                        data[ravel(&c, shape) as usize] = v;
                    }
                }
                ds.data = data;
                ds.shape = shape.clone();
            }
            Op::SetAttr {
                path,
                name,
                dt,
                shape,
                values,
            } => {
                let a = Attr {
                    dt: *dt,
                    shape: Some(shape.clone()),
                    data: self.bind(values)?,
                    committed: None,
                };
                self.set_attr(path, name, a)?;
            }
            Op::SetAttrCommitted {
                path,
                name,
                ty,
                shape,
                values,
            } => {
                let t = self.resolve(ty).ok_or("no such type")?;
                let Kind::Type(dt) = self.objs[&t].kind else {
                    return Err("not a committed type".into());
                };
                let a = Attr {
                    dt,
                    shape: Some(shape.clone()),
                    data: self.bind(values)?,
                    committed: Some(t),
                };
                self.set_attr(path, name, a)?;
            }
            Op::SetAttrEmpty { path, name, dt } => {
                let a = Attr {
                    dt: *dt,
                    shape: None,
                    data: Vec::new(),
                    committed: None,
                };
                self.set_attr(path, name, a)?;
            }
            Op::DeleteAttr(path, name) => {
                let id = self.resolve(path).ok_or("no such object")?;
                let o = self.objs.get_mut(&id).unwrap();
                let old = o.attrs.remove(name).ok_or("no such attribute")?;
                o.attr_seq.remove(name);
                if let Some(t) = old.committed {
                    self.unref(t, true);
                }
            }
            Op::LinkHard { target, path } => {
                let t = self.resolve(target).ok_or("no such target")?;
                let (p, name) = self.place(path, false)?;
                self.insert(p, &name, Lnk::Hard(t));
            }
            Op::LinkSoft { target, path } => {
                let (p, name) = self.place(path, false)?;
                self.insert(p, &name, Lnk::Soft(target.clone()));
            }
            Op::LinkExternal { file, target, path } => {
                let (p, name) = self.place(path, false)?;
                self.insert(p, &name, Lnk::Ext(file.clone(), target.clone()));
            }
            Op::Unlink(path) => {
                let (p, name, _) = self.link(path).ok_or("no such link")?;
                self.remove(p, &name);
            }
            Op::Move(src, dst) => {
                if src == dst {
                    return Ok(()); // h5py's move returns at once
                }
                let (sp, sname, l) = self.link(src).ok_or("no such link")?;
                self.place(dst, true)?;
                let (dp, dname) = self.place(dst, false)?;
                // the link moves: insert first (the count goes up), then remove
                self.insert(dp, &dname, l);
                self.remove(sp, &sname);
            }
            Op::CommitType(path, dt) => {
                let (p, name) = self.place(path, false)?;
                let id = self.add(Kind::Type(*dt), false);
                self.insert(p, &name, Lnk::Hard(id));
            }
            Op::Flush | Op::Reopen => {}
        }
        Ok(())
    }

    /// Create or overwrite an attribute; a committed type gains its reference before the
    /// replaced attribute's type loses one.
    fn set_attr(&mut self, path: &str, name: &str, a: Attr) -> Result<(), Refusal> {
        let id = self.resolve(path).ok_or("no such object")?;
        if name.is_empty() {
            return Err("empty name".into());
        }
        if let Some(t) = a.committed {
            self.objs.get_mut(&t).unwrap().users += 1;
        }
        // an overwritten attribute is made anew: it moves to the end of the creation order
        let t = self.tick();
        let o = self.objs.get_mut(&id).unwrap();
        o.attr_seq.insert(name.to_string(), t);
        let old = o.attrs.insert(name.to_string(), a);
        if let Some(t) = old.and_then(|o| o.committed) {
            self.unref(t, true);
        }
        Ok(())
    }

    fn new_dataset(&self, spec: &DsSpec) -> Result<Ds, Refusal> {
        let (dt, committed) = match &spec.committed {
            Some(p) => {
                let id = self.resolve(p).ok_or("no such type")?;
                match self.objs[&id].kind {
                    Kind::Type(dt) => (dt, Some(id)),
                    _ => return Err("not a committed type".into()),
                }
            }
            None => (spec.dt, None),
        };
        if spec.empty {
            if spec.chunks.is_some()
                || spec.filters.any()
                || spec.maxshape.is_some()
                || matches!(spec.layout, Some(Layout::Compact | Layout::Chunked))
            {
                return Err("an empty dataset is contiguous".into());
            }
            return Ok(Ds {
                dt,
                shape: Vec::new(),
                maxshape: Vec::new(),
                layout: Layout::Contiguous,
                chunks: None,
                guessed_from: None,
                filters: Filters::default(),
                fill: spec.fill.clone(),
                committed,
                null: true,
                never_fill: false,
                data: Vec::new(),
            });
        }
        let rank = spec.shape.len();
        let chunked = spec.chunks.is_some()
            || spec.filters.any()
            || spec.maxshape.is_some()
            || spec.layout == Some(Layout::Chunked);
        if chunked && rank == 0 {
            return Err("scalar datasets don't support chunk/filter options".into());
        }
        if chunked && matches!(spec.layout, Some(Layout::Compact | Layout::Contiguous)) {
            return Err("chunked format required".into());
        }
        let maxshape = match &spec.maxshape {
            Some(m) => {
                if m.len() != rank
                    || m.iter()
                        .zip(&spec.shape)
                        .any(|(m, &s)| m.is_some_and(|m| m < s))
                {
                    return Err("bad maxshape".into());
                }
                m.clone()
            }
            None => spec.shape.iter().map(|&s| Some(s)).collect(),
        };
        if let Some(c) = &spec.chunks {
            if c.len() != rank
                || c.contains(&0)
                || c.iter()
                    .zip(&maxshape)
                    .any(|(&c, m)| m.is_some_and(|m| c > m))
            {
                return Err("bad chunks".into());
            }
        }
        let layout = if chunked {
            Layout::Chunked
        } else {
            spec.layout.unwrap_or(Layout::Contiguous)
        };
        if layout == Layout::Compact && spec.alloc.is_some_and(|a| a != 1) {
            return Err("compact dataset must have early space allocation".into());
        }
        let n: u64 = spec.shape.iter().product();
        let fill = spec.fill.clone();
        let never_fill = spec.fill_time == Some(1);
        let initial = match (&fill, never_fill) {
            (Some(f), false) => f.clone(),
            _ => dt.zero(),
        };
        let d = Ds {
            dt,
            shape: spec.shape.clone(),
            maxshape,
            layout,
            chunks: spec.chunks.clone(),
            guessed_from: (chunked && spec.chunks.is_none()).then(|| spec.shape.clone()),
            filters: spec.filters.clone(),
            fill,
            committed,
            null: false,
            never_fill,
            data: vec![initial; n as usize],
        };
        Ok(d)
    }

    /// The hard-link walk from the root: every link's path (first path of each group only,
    /// so cycles end), in name order.
    pub fn walk(&self) -> Vec<(String, Lnk)> {
        let mut out = Vec::new();
        let mut seen = HashSet::from([0]);
        self.walk_from(0, "", &mut seen, &mut out);
        out
    }

    fn walk_from(&self, g: Id, base: &str, seen: &mut HashSet<Id>, out: &mut Vec<(String, Lnk)>) {
        for (name, l) in self.members(g).unwrap() {
            let path = format!("{base}/{name}");
            out.push((path.clone(), l.clone()));
            if let Lnk::Hard(id) = l {
                if seen.insert(*id) && self.members(*id).is_some() {
                    self.walk_from(*id, &path, seen, out);
                }
            }
        }
    }

    /// Canonical JSON: `groups` (each reachable group's links, hard ones by the target's
    /// canonical path — the first path of the name-ordered walk) and `objects` (by canonical
    /// path: kind, reference count, attributes, dataset properties and values).
    pub fn canon(&self) -> Json {
        let mut canon: HashMap<Id, String> = HashMap::from([(0, "/".to_string())]);
        let mut order = vec![0];
        for (path, l) in self.walk() {
            if let Lnk::Hard(id) = l {
                canon.entry(id).or_insert_with(|| {
                    order.push(id);
                    path
                });
            }
        }
        let mut groups = serde_json::Map::new();
        let mut objects = serde_json::Map::new();
        for id in order {
            let o = &self.objs[&id];
            let path = canon[&id].clone();
            let mut j = serde_json::Map::new();
            j.insert("rc".into(), json!(o.links + o.users));
            let attrs: serde_json::Map<String, Json> = o
                .attrs
                .iter()
                .map(|(n, a)| {
                    (
                        n.clone(),
                        json!({"dtype": a.dt.canon(), "shape": a.shape,
                               "data": a.data.iter().map(|v| self.canon_v(v, &canon))
                                   .collect::<Vec<_>>(),
                               "type_of": a.committed
                                   .map(|t| canon.get(&t).cloned().unwrap_or_default())}),
                    )
                })
                .collect();
            j.insert("attrs".into(), Json::Object(attrs));
            j.insert(
                "attr_order".into(),
                json!(o.listed(o.attrs.keys(), &o.attr_seq)),
            );
            match &o.kind {
                Kind::Group(m) => {
                    j.insert("kind".into(), json!("group"));
                    j.insert("order".into(), json!(o.listed(m.keys(), &o.link_seq)));
                    let links: serde_json::Map<String, Json> = m
                        .iter()
                        .map(|(n, l)| {
                            let v = match l {
                                Lnk::Hard(t) => json!(["hard", canon[t]]),
                                Lnk::Soft(p) => json!(["soft", p]),
                                Lnk::Ext(f, p) => json!(["ext", f, p]),
                            };
                            (n.clone(), v)
                        })
                        .collect();
                    groups.insert(path.clone(), Json::Object(links));
                }
                Kind::Type(dt) => {
                    j.insert("kind".into(), json!("type"));
                    j.insert("dtype".into(), json!(dt.canon()));
                }
                Kind::Dataset(d) => {
                    j.insert("kind".into(), json!("dataset"));
                    j.insert("dtype".into(), json!(d.dt.canon()));
                    if d.null {
                        j.insert("shape".into(), Json::Null);
                        j.insert("maxshape".into(), Json::Null);
                    } else {
                        j.insert("shape".into(), json!(d.shape));
                        j.insert("maxshape".into(), json!(d.maxshape));
                    }
                    j.insert(
                        "layout".into(),
                        json!(match d.layout {
                            Layout::Contiguous => "contiguous",
                            Layout::Compact => "compact",
                            Layout::Chunked => "chunked",
                        }),
                    );
                    let chunks = match (&d.chunks, &d.guessed_from) {
                        (Some(c), _) => json!(c),
                        (None, Some(from)) => json!({"guess": from}),
                        (None, None) => Json::Null,
                    };
                    j.insert("chunks".into(), chunks);
                    let f = &d.filters;
                    j.insert(
                        "filters".into(),
                        json!({"gzip": f.gzip, "lzf": f.lzf, "shuffle": f.shuffle,
                               "fletcher32": f.fletcher32}),
                    );
                    j.insert(
                        "fill".into(),
                        if d.dt.has_fill() {
                            d.fill_or_zero().canon()
                        } else {
                            Json::Null
                        },
                    );
                    j.insert(
                        "type_of".into(),
                        json!(d
                            .committed
                            .map(|t| canon.get(&t).cloned().unwrap_or_default())),
                    );
                    j.insert(
                        "data".into(),
                        Json::Array(d.data.iter().map(|v| self.canon_v(v, &canon)).collect()),
                    );
                }
            }
            objects.insert(path, Json::Object(j));
        }
        json!({"groups": groups, "objects": objects})
    }
}

pub fn unravel(mut i: u64, shape: &[u64]) -> Vec<u64> {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        c[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
    c
}

pub fn ravel(c: &[u64], shape: &[u64]) -> u64 {
    c.iter().zip(shape).fold(0, |a, (&c, &n)| a * n + c)
}

//! The random-operations test of the writer (issue 7): seeded sequences of creates, writes
//! (hyperslabs with steps, index lists, points, masks, broadcasts), resizes, attributes,
//! hard/soft/external links, unlinks and moves (some that must fail), committed types,
//! flushes and reopens, run in all four profiles against a model of what the file must hold.
//! Every file is then read by our reader, by h5dump (a sample, where it reads the profile)
//! and by h5py, which compares everything (values bit for bit, dtypes, shapes, maxshape,
//! chunks, filters, fill values, reference counts, link targets), edits the file, and
//! compares again — and our reader reads h5py's edit too. A failing case is shrunk and
//! printed as JSON that `H5_RANDOM_REPLAY` replays.
//!
//! `cargo test -p h5 --test random_ops` runs seeds 0..200; a longer run:
//! `H5_RANDOM_SEEDS=2000 cargo test --release -p h5 --test random_ops -- --nocapture`
//! (`H5_RANDOM_FIRST` moves the start).

#[path = "../common/mod.rs"]
mod common;
mod gen;
mod model;
mod observe;

use h5::{File, LibVer, Node};
use model::{Dt, Layout, Model, Op, V};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// How many operations a case draws.
const OPS: std::ops::Range<u64> = 5..40;
/// Cases per h5py process.
const BATCH: usize = 100;

/// What a case does: how the file is created, then the operations. Printed (as JSON) for a
/// failing case; `H5_RANDOM_REPLAY` replays it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Script {
    /// The root group keeps creation order (h5py's `File(track_order=True)`).
    tracked_root: bool,
    ops: Vec<Op>,
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    libver: LibVer,
    script: Script,
}

impl Case {
    fn path(&self) -> PathBuf {
        common::tmp(&format!("ro_{}_{:?}.h5", self.seed, self.libver))
    }
}

fn draw(seed: u64) -> Script {
    let mut r = gen::Rng::new(seed);
    let tracked_root = r.chance(0.2);
    let mut m = Model::new(tracked_root);
    let n = OPS.start + r.below(OPS.end - OPS.start);
    let ops = (0..n)
        .map(|_| {
            let op = gen::op(&mut r, &m);
            let mut next = m.clone();
            if next.apply(&op).is_ok() {
                m = next;
            }
            op
        })
        .collect();
    Script { tracked_root, ops }
}

// ------------------------------------------------------------------------------------------
// Carrying out operations with h5

fn attrs_of(f: &File, path: &str) -> h5::Result<h5::Attributes> {
    let root = f.root()?;
    if path == "/" {
        return Ok(root.attrs());
    }
    Ok(match root.node(path)? {
        Node::Group(g) => g.attrs(),
        Node::Dataset(d) => d.attrs(),
        Node::Datatype(t) => t.attrs(),
    })
}

/// Each value as `T`: `take` gives it, or None for a value that is not `what` (a panic).
fn all_as<T>(v: &[V], what: &str, take: impl Fn(&V) -> Option<T>) -> Vec<T> {
    v.iter()
        .map(|x| take(x).unwrap_or_else(|| panic!("not {what}: {x:?}")))
        .collect()
}

fn ints(v: &[V]) -> Vec<i64> {
    all_as(v, "an integer", |v| match v {
        V::I(i) => Some(*i),
        V::U(u) => Some(*u as i64),
        _ => None,
    })
}

fn uints(v: &[V]) -> Vec<u64> {
    all_as(v, "an unsigned integer", |v| match v {
        V::U(u) => Some(*u),
        _ => None,
    })
}

fn floats(v: &[V]) -> Vec<f64> {
    all_as(v, "a float", |v| match v {
        V::F(x) => Some(*x),
        _ => None,
    })
}

/// `$as!(values, rust_type)` with `v` taken as `dt`'s own Rust type (f64 for half floats);
/// `$other` for the types without one.
macro_rules! in_rust_type {
    ($dt:expr, $v:expr, $as:ident, $other:expr) => {
        match $dt {
            Dt::I8 => $as!(ints($v), i8),
            Dt::I16 => $as!(ints($v), i16),
            Dt::I32 => $as!(ints($v), i32),
            Dt::I64 => $as!(ints($v), i64),
            Dt::U8 => $as!(uints($v), u8),
            Dt::U16 => $as!(uints($v), u16),
            Dt::U32 => $as!(uints($v), u32),
            Dt::U64 => $as!(uints($v), u64),
            Dt::F16 | Dt::F64 => $as!(floats($v), f64),
            Dt::F32 => $as!(floats($v), f32),
            _ => $other,
        }
    };
}

/// Write through the typed API in the dataset's own Rust type (f64 for half floats): one
/// value as a scalar, more as an array of the selection's shape.
fn write_typed(ds: &h5::Dataset, sel: &h5::Selection, dt: Dt, v: &[V]) -> h5::Result<()> {
    let shape: Vec<usize> = match v.len() {
        1 => Vec::new(),
        _ => ds
            .batches(sel, u64::MAX)?
            .out_shape()
            .iter()
            .map(|&d| d as usize)
            .collect(),
    };
    macro_rules! as_ {
        ($src:expr, $t:ty) => {{
            let flat = $src.into_iter().map(|x| x as $t).collect::<Vec<$t>>();
            let data = ndarray::ArrayD::from_shape_vec(shape, flat)
                .map_err(|e| h5::Error::Shape(e.to_string()))?;
            ds.write_slice(sel, &data)
        }};
    }
    in_rust_type!(dt, v, as_, unreachable!("typed write of {dt:?}"))
}

/// Dynamic values of `dt`; object references by path become the objects' addresses.
fn hvalues(f: &File, values: &[V], dt: Dt) -> h5::Result<Vec<h5::Value>> {
    values
        .iter()
        .map(|v| match v {
            V::R(None) => Ok(h5::Value::Ref(None)),
            V::R(Some(p)) => Ok(h5::Value::Ref(Some(match f.root()?.node(p)? {
                Node::Group(g) => g.addr(),
                Node::Dataset(d) => d.addr(),
                Node::Datatype(t) => t.addr(),
            }))),
            other => Ok(other.value(dt)),
        })
        .collect()
}

fn set_attr(
    f: &File,
    a: &h5::Attributes,
    name: &str,
    dt: Dt,
    shape: &[u64],
    v: &[V],
) -> h5::Result<()> {
    macro_rules! as_ {
        ($src:expr, $t:ty) => {
            a.set(
                name,
                ndarray::ArrayD::from_shape_vec(
                    shape.iter().map(|&d| d as usize).collect::<Vec<_>>(),
                    $src.into_iter().map(|x| x as $t).collect::<Vec<$t>>(),
                )
                .map_err(|e| h5::Error::Shape(e.to_string()))?,
            )
        };
    }
    // these types through the typed API, the rest as dynamic values
    if matches!(dt, Dt::I8 | Dt::I32 | Dt::U16 | Dt::U64 | Dt::F32 | Dt::F64) {
        in_rust_type!(dt, v, as_, unreachable!())
    } else {
        let vals = hvalues(f, v, dt)?;
        a.create_values(name, &dt.datatype(), shape, &vals)
    }
}

fn create_dataset(f: &File, path: &str, s: &model::DsSpec) -> h5::Result<()> {
    let root = f.root()?;
    let mut b = root.new_dataset_of(s.dt.datatype()).shape(&s.shape);
    if let Some(t) = &s.committed {
        match root.node(t)? {
            Node::Datatype(t) => b = b.committed(&t)?,
            _ => return Err(h5::Error::Shape(format!("{t} is not a committed type"))),
        }
    }
    if let Some(m) = &s.maxshape {
        b = b.maxshape(m);
    }
    b = match s.layout {
        Some(Layout::Compact) => b.compact(),
        Some(Layout::Contiguous) => b.contiguous(),
        Some(Layout::Chunked) => b.auto_chunks(),
        None => b,
    };
    if let Some(c) = &s.chunks {
        b = b.chunks(c);
    }
    if let Some(l) = s.filters.gzip {
        b = b.deflate(l);
    }
    if s.filters.lzf {
        b = b.lzf();
    }
    if s.filters.shuffle {
        b = b.shuffle();
    }
    if s.filters.fletcher32 {
        b = b.fletcher32();
    }
    if s.empty {
        b = b.empty();
    }
    if s.track_order {
        b = b.track_order();
    }
    if let Some(v) = &s.fill {
        let dt = match &s.committed {
            Some(t) => dt_of_type(f, t)?,
            None => s.dt,
        };
        b = match v {
            V::I(i) if dt.is_numeric() => b.fill_value(*i)?,
            V::U(u) => b.fill_value(*u)?,
            V::F(x) if dt.is_numeric() => b.fill_value(*x)?,
            V::B(x) => b.fill_value(*x)?,
            other => b.fill_value_of(other.value(dt)),
        };
    }
    if let Some(a) = s.alloc {
        b = b.alloc_time(match a {
            1 => h5::AllocTime::Early,
            2 => h5::AllocTime::Late,
            _ => h5::AllocTime::Incremental,
        });
    }
    if let Some(t) = s.fill_time {
        b = b.fill_time(match t {
            0 => h5::FillTime::Alloc,
            1 => h5::FillTime::Never,
            _ => h5::FillTime::IfSet,
        });
    }
    b.create(path).map(|_| ())
}

/// The model type of the committed type at `path` (the test commits only its own types).
fn dt_of_type(f: &File, path: &str) -> h5::Result<Dt> {
    let Node::Datatype(t) = f.root()?.node(path)? else {
        return Err(h5::Error::Shape(format!("{path} is not a committed type")));
    };
    let dt = t.dtype()?;
    model::ALL_DTS
        .iter()
        .copied()
        .find(|d| d.datatype() == dt)
        .ok_or_else(|| h5::Error::Shape(format!("{path}: a type the test does not make")))
}

fn dt_of(m: &Model, path: &str) -> Option<Dt> {
    match &m.objs.get(&m.resolve(path)?)?.kind {
        model::Kind::Dataset(d) => Some(d.dt),
        _ => None,
    }
}

/// Carry out one operation; `f` is replaced on reopen.
fn run_op(f: &mut Option<File>, path: &Path, m: &Model, op: &Op) -> h5::Result<()> {
    let file = f.as_ref().expect("open file");
    let root = file.root()?;
    match op {
        Op::CreateGroup(p) => root.create_group(p).map(|_| ()),
        Op::CreateGroupOrdered(p) => root.create_group_ordered(p).map(|_| ()),
        Op::CreateDataset(p, s) => create_dataset(file, p, s),
        Op::Write {
            path: p,
            sel,
            values,
            typed,
        } => {
            let ds = root.dataset(p)?;
            let dt = dt_of(m, p).unwrap_or(Dt::I32);
            if *typed && dt.is_numeric() {
                write_typed(&ds, &sel.to_h5(), dt, values)
            } else {
                let vals = hvalues(file, values, dt)?;
                ds.write_values(sel.to_h5(), &vals)
            }
        }
        Op::Resize(p, shape) => root.dataset(p)?.resize(shape),
        Op::SetAttr {
            path: p,
            name,
            dt,
            shape,
            values,
        } => set_attr(file, &attrs_of(file, p)?, name, *dt, shape, values),
        Op::SetAttrCommitted {
            path: p,
            name,
            ty,
            shape,
            values,
        } => {
            let Node::Datatype(t) = root.node(ty)? else {
                return Err(h5::Error::Shape(format!("{ty} is not a committed type")));
            };
            let dt = dt_of_type(file, ty)?;
            let vals = hvalues(file, values, dt)?;
            attrs_of(file, p)?.create_committed(name, &t, shape, &vals)
        }
        Op::SetAttrEmpty { path: p, name, dt } => {
            attrs_of(file, p)?.create_empty(name, &dt.datatype())
        }
        Op::DeleteAttr(p, name) => attrs_of(file, p)?.delete(name),
        Op::LinkHard { target, path: p } => root.link_hard(target, p),
        Op::LinkSoft { target, path: p } => root.link_soft(target, p),
        Op::LinkExternal {
            file: ext,
            target,
            path: p,
        } => root.link_external(ext, target, p),
        Op::Unlink(p) => root.unlink(p),
        Op::Move(a, b) => root.move_link(a, b),
        Op::CommitType(p, dt) => root.commit_datatype(p, &dt.datatype()).map(|_| ()),
        Op::Flush => file.flush(),
        Op::Reopen => {
            drop(root);
            f.take().unwrap().close()?;
            *f = Some(File::append(path)?);
            Ok(())
        }
    }
}

/// Write the case's file; the model of what it must hold, or how h5 diverged from h5py's
/// behaviour (an operation accepted that h5py refuses, or the reverse, or a panic).
fn write_case(case: &Case) -> Result<Model, String> {
    let path = case.path();
    let _ = std::fs::remove_file(&path);
    let run = || -> Result<Model, String> {
        let mut f = Some(
            File::create_with(
                &path,
                h5::CreateOptions {
                    libver: case.libver,
                    track_order: case.script.tracked_root,
                    ..Default::default()
                },
            )
            .map_err(|e| format!("create: {e}"))?,
        );
        let mut m = Model::new(case.script.tracked_root);
        for (i, op) in case.script.ops.iter().enumerate() {
            let mut next = m.clone();
            let want = next.apply(op);
            let got = run_op(&mut f, &path, &m, op);
            match (&want, &got) {
                (Ok(()), Ok(())) => m = next,
                (Err(_), Err(_)) => {}
                (Ok(()), Err(e)) => {
                    return Err(format!("op {i} {op:?}: h5py accepts it, h5 says: {e}"))
                }
                (Err(why), Ok(())) => {
                    return Err(format!(
                        "op {i} {op:?}: h5py refuses it ({why}), h5 accepts it"
                    ))
                }
            }
        }
        f.take()
            .unwrap()
            .close()
            .map_err(|e| format!("close: {e}"))?;
        Ok(m)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "h5 panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Our reader's view of a file against the expectation.
fn our_view(path: &Path, expected: &serde_json::Value, stage: &str) -> Vec<String> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| observe::observe(&f))
    }));
    match r {
        Ok(Ok(got)) => observe::diff(expected, &got, true)
            .into_iter()
            .map(|d| format!("our reader {stage}: {d}"))
            .collect(),
        Ok(Err(e)) => vec![format!("our reader {stage} fails: {e}")],
        Err(_) => vec![format!("our reader {stage} panicked")],
    }
}

/// Run cases through the whole pipeline; the problems of each.
fn run_cases(cases: &[Case], h5dump_every: u64) -> Vec<Vec<String>> {
    let mut problems: Vec<Vec<String>> = vec![Vec::new(); cases.len()];
    let mut jobs = Vec::new();
    let mut after = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let m = match write_case(case) {
            Ok(m) => m,
            Err(e) => {
                problems[i].push(e);
                continue;
            }
        };
        let path = case.path();
        let expected = m.canon();
        problems[i].extend(our_view(&path, &expected, "after h5 wrote"));
        // h5dump 1.10 cannot dump an attribute or dataset whose committed type no link
        // reaches any more ("unknown committed type"), on libhdf5's own files too
        let orphan_type = expected.to_string().contains("\"type_of\":\"\"");
        // h5dump 1.10 dumps what object references point to, recursively: a dataset that
        // refers to itself crashes it (libhdf5's own files too)
        let refs = expected.to_string().contains("\"dtype\":\"ref\"");
        if case.libver != LibVer::Latest && case.seed % h5dump_every == 0 && !orphan_type && !refs {
            // h5dump has no LZF filter: headers only when a dataset uses it
            let lzf = expected.to_string().contains("\"lzf\":true");
            let out = std::process::Command::new("h5dump")
                .args(if lzf { &["-H"][..] } else { &[] })
                .arg(&path)
                .output()
                .expect("h5dump (hdf5-tools) must be installed: `bash .ci/run` does");
            if !out.status.success() {
                problems[i].push(format!(
                    "h5dump fails: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let mut r = gen::Rng::new(case.seed ^ 0xed17);
        let edits = gen::h5py_edits(&mut r, &m);
        let mut m2 = m.clone();
        for e in &edits {
            m2.apply(e).expect("h5py's edits apply to the model");
        }
        let expected_after = m2.canon();
        jobs.push(serde_json::json!({
            "file": path, "expected": expected, "edits": edits,
            "expected_after": expected_after,
        }));
        after.push((i, expected_after));
    }
    let checker = common::root().join("crates/h5/tests/random_ops/check.py");
    for (chunk, idx) in jobs.chunks(BATCH).zip(after.chunks(BATCH)) {
        let input = common::tmp(&format!("ro_batch_{}.json", cases[idx[0].0].seed));
        std::fs::write(&input, serde_json::to_vec(chunk).unwrap()).unwrap();
        let out = common::run_ok(
            std::process::Command::new(common::python())
                .arg(&checker)
                .arg(&input),
            "check.py",
        );
        let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(results.len(), chunk.len());
        for (res, (i, expected_after)) in results.iter().zip(idx) {
            for p in res["problems"].as_array().unwrap() {
                problems[*i].push(p.as_str().unwrap().to_string());
            }
            if res["problems"].as_array().unwrap().is_empty() {
                problems[*i].extend(our_view(
                    &cases[*i].path(),
                    expected_after,
                    "after h5py edited",
                ));
            }
        }
    }
    problems
}

/// Shrink a failing case: drop runs of operations while it still fails.
fn shrink(case: &Case) -> Case {
    let fails = |c: &Case| !run_cases(std::slice::from_ref(c), 1)[0].is_empty();
    let mut best = case.clone();
    let mut size = best.script.ops.len().div_ceil(2);
    while size >= 1 {
        let mut start = 0;
        while start < best.script.ops.len() {
            let mut c = best.clone();
            let end = (start + size).min(c.script.ops.len());
            c.script.ops.drain(start..end);
            if fails(&c) {
                best = c;
            } else {
                start += size;
            }
        }
        size /= 2;
    }
    best
}

/// How many operations of each kind the cases draw, and how many of those h5py refuses.
fn print_mix(cases: &[Case]) {
    let mut mix: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for c in cases.iter().filter(|c| c.libver == LibVer::Earliest) {
        let mut m = Model::new(c.script.tracked_root);
        for op in &c.script.ops {
            let kind = format!("{op:?}");
            let kind = kind.split([' ', '(', '{']).next().unwrap_or("").to_string();
            let e = mix.entry(kind.clone()).or_default();
            e.0 += 1;
            let mut next = m.clone();
            match next.apply(op) {
                Ok(()) => m = next,
                Err(why) => {
                    e.1 += 1;
                    if std::env::var("H5_RANDOM_WHY").is_ok_and(|k| kind.starts_with(&k)) {
                        println!("refused {op:?}: {why}");
                    }
                }
            }
        }
    }
    let line: Vec<String> = mix
        .iter()
        .map(|(k, (n, refused))| format!("{k} {n} ({refused} refused)"))
        .collect();
    println!("operations drawn: {}", line.join(", "));
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

#[test]
fn random_operations_read_back_equal_in_h5py() {
    let cases: Vec<Case> = if let Ok(replay) = std::env::var("H5_RANDOM_REPLAY") {
        let text = std::fs::read_to_string(&replay).unwrap_or(replay);
        let script: Script =
            serde_json::from_str(&text).expect("H5_RANDOM_REPLAY: a script as JSON");
        common::PROFILES
            .iter()
            .map(|&libver| Case {
                seed: 0,
                libver,
                script: script.clone(),
            })
            .collect()
    } else {
        let first = env_u64("H5_RANDOM_FIRST", 0);
        let n = env_u64("H5_RANDOM_SEEDS", 200);
        (first..first + n)
            .flat_map(|seed| {
                let script = draw(seed);
                common::PROFILES.iter().map(move |&libver| Case {
                    seed,
                    libver,
                    script: script.clone(),
                })
            })
            .collect()
    };
    print_mix(&cases);
    let problems = run_cases(&cases, 8);
    let failed: Vec<usize> = (0..cases.len())
        .filter(|&i| !problems[i].is_empty())
        .collect();
    println!(
        "random operations: {} cases ({} seeds × 4 profiles), {} failed",
        cases.len(),
        cases.len() / 4,
        failed.len()
    );
    if let Some(&i) = failed.first() {
        for &j in failed.iter().take(8) {
            eprintln!(
                "seed {} {:?}: {}",
                cases[j].seed,
                cases[j].libver,
                problems[j]
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n    ")
            );
        }
        let small = shrink(&cases[i]);
        let why = run_cases(std::slice::from_ref(&small), 1).remove(0);
        panic!(
            "{} of {} cases failed. Smallest reproduction of seed {} in {:?} ({} ops):\n{}\n\
             problems:\n    {}\nreplay: H5_RANDOM_REPLAY='<the JSON above>' cargo test -p h5 \
             --test random_ops",
            failed.len(),
            cases.len(),
            cases[i].seed,
            cases[i].libver,
            small.script.ops.len(),
            serde_json::to_string(&small.script).unwrap(),
            why.join("\n    ")
        );
    }
}

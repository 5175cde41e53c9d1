//! The read API against values h5py read from the same fixtures (the committed dumps).

use h5::storage::{CountingStorage, MemStorage};
use h5::{File, LinkKind, Node, OpenOptions, Selection, SliceArg, Value};
use ndarray::{s, ArrayD, IxDyn};
use serde_json::Value as Json;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

mod common;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/files")
        .join(name)
}

/// The error reading dataset `name` of `f` as `T` gives (the read must fail), as text.
fn read_error<T: h5::H5Type + std::fmt::Debug>(f: &File, name: &str) -> String {
    f.dataset(name)
        .unwrap()
        .read_vec::<T>()
        .unwrap_err()
        .to_string()
}

/// The `data` h5py dumped for a dataset, flattened to f64 in row-major order, with its shape.
fn h5py_data(file: &str, path: &[&str]) -> (Vec<f64>, Vec<usize>) {
    let text = std::fs::read_to_string(fixture(file).with_extension("json")).unwrap();
    let doc: Json = serde_json::from_str(&text).unwrap();
    let mut node = &doc["root"];
    for p in path {
        node = &node["members"][*p];
    }
    let shape = node["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let mut flat = Vec::new();
    fn walk(v: &Json, out: &mut Vec<f64>) {
        match v {
            Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
            x => out.push(x.as_f64().unwrap()),
        }
    }
    walk(&node["data"], &mut flat);
    (flat, shape)
}

#[test]
fn typed_reads_equal_h5py() {
    for file in [
        "filters_earliest.h5",
        "filters_latest.h5",
        "chunkidx_latest.h5",
        "layouts_v110.h5",
    ] {
        let f = File::open(fixture(file)).unwrap();
        let paths: &[&str] = match file {
            "chunkidx_latest.h5" => &[
                "btree2",
                "extensible_array_2d",
                "fixed_array_paged_gzip",
                "implicit",
                "btree2_big_gzip",
            ],
            "layouts_v110.h5" => &[
                "chunked_3d_edge",
                "contiguous_2d",
                "contiguous_3d",
                "compact_2d",
            ],
            _ => &[
                "gzip_1",
                "fletcher32_shuffle_gzip",
                "lzf",
                "gzip_int16_be",
                "gzip_sparse_fill",
                "gzip_float64",
            ],
        };
        for p in paths {
            let Ok(ds) = f.dataset(p) else {
                panic!("{file}: no dataset {p}")
            };
            let (expected, shape) = h5py_data(file, &[p]);
            let a: ArrayD<f64> = ds.read().unwrap();
            assert_eq!(a.shape(), shape.as_slice(), "{file}/{p}");
            assert_eq!(
                a.iter().copied().collect::<Vec<_>>(),
                expected,
                "{file}/{p}"
            );
            let v: Vec<f64> = ds.read_vec().unwrap();
            assert_eq!(v, expected, "{file}/{p} as Vec");
        }
    }
}

#[test]
fn conversions_follow_libhdf5() {
    let f = File::open(fixture("dtypes_latest.h5")).unwrap();
    // int64 extremes narrowed to i8 clip; floats truncate toward zero into integers.
    {
        let ds = f.dataset("int64_extremes").unwrap();
        let wide: Vec<i64> = ds.read_vec().unwrap();
        let narrow: Vec<i8> = ds.read_vec().unwrap();
        for (w, n) in wide.iter().zip(&narrow) {
            assert_eq!(*n as i64, (*w).clamp(i8::MIN as i64, i8::MAX as i64));
        }
    }
    {
        let ds = f.dataset("float64_le").unwrap();
        let fl: Vec<f64> = ds.read_vec().unwrap();
        let ints: Vec<i32> = ds.read_vec().unwrap();
        for (x, i) in fl.iter().zip(&ints) {
            if x.is_finite() && x.abs() < 1e9 {
                assert_eq!(*i, x.trunc() as i32);
            }
        }
    }
    // Strings are not numbers: a clear error, not garbage.
    let e = read_error::<f64>(&f, "str_vlen_utf8");
    assert!(e.contains("is not a number"), "{e}");
}

#[test]
fn selections_equal_whole_array_indexing() {
    let f = File::open(fixture("layouts_latest.h5")).unwrap();
    let ds = f.dataset("chunked_3d_edge").unwrap();
    let all: ArrayD<f64> = ds.read().unwrap();
    let all3 = all.clone().into_dimensionality::<ndarray::Ix3>().unwrap();
    let cases: Vec<(&str, ArrayD<f64>)> = vec![
        (
            "1:4, ::2, 3",
            all3.slice(s![1..4, ..;2, 3]).to_owned().into_dyn(),
        ),
        ("-1", all3.slice(s![-1, .., ..]).to_owned().into_dyn()),
        (
            "..., 2:5",
            all3.slice(s![.., .., 2..5]).to_owned().into_dyn(),
        ),
        (
            "0:100, 5:, :",
            all3.slice(s![.., 5.., ..]).to_owned().into_dyn(),
        ),
        ("2, 3, 4", all3.slice(s![2, 3, 4]).to_owned().into_dyn()),
    ];
    for (sel, want) in cases {
        let got: ArrayD<f64> = ds.read_slice(Selection::parse(sel).unwrap()).unwrap();
        assert_eq!(got, want, "selection {sel}");
    }
    // An index list on one axis.
    let got: ArrayD<f64> = ds
        .read_slice(Selection::Slice(vec![
            SliceArg::Indices(vec![0, 2, 4]),
            SliceArg::Index(1),
        ]))
        .unwrap();
    let want = ndarray::stack(
        ndarray::Axis(0),
        &[
            all3.slice(s![0, 1, ..]),
            all3.slice(s![2, 1, ..]),
            all3.slice(s![4, 1, ..]),
        ],
    )
    .unwrap();
    assert_eq!(got, want.into_dyn());
    // Points and masks give 1-D results in the given (row-major for masks) order.
    let pts = vec![vec![4, 5, 6], vec![0, 0, 0], vec![2, 3, 1]];
    let got: ArrayD<f64> = ds.read_slice(Selection::Points(pts.clone())).unwrap();
    let want: Vec<f64> = pts
        .iter()
        .map(|p| all3[[p[0] as usize, p[1] as usize, p[2] as usize]])
        .collect();
    assert_eq!(got.into_raw_vec_and_offset().0, want);
    let mask: Vec<bool> = all.iter().map(|&x| x > 100.0).collect();
    let got: ArrayD<f64> = ds.read_slice(Selection::Mask(mask)).unwrap();
    assert_eq!(
        got.into_raw_vec_and_offset().0,
        all.iter()
            .copied()
            .filter(|&x| x > 100.0)
            .collect::<Vec<_>>()
    );
    // Out of range and malformed selections are errors.
    assert!(ds
        .read_slice::<f64>(&Selection::parse("5").unwrap())
        .is_err());
    assert!(ds
        .read_slice::<f64>(&Selection::parse("0,0,0,0").unwrap())
        .is_err());
    assert!(ds
        .read_slice::<f64>(&Selection::Points(vec![vec![9, 9, 9]]))
        .is_err());
}

#[test]
fn a_slice_reads_only_the_chunks_it_touches() {
    let bytes = std::fs::read(fixture("filters_latest.h5")).unwrap();
    let total = bytes.len() as u64;
    let storage = Arc::new(CountingStorage::new(MemStorage::new(bytes)));
    let f = File::from_storage(storage.clone(), OpenOptions::default()).unwrap();
    // Opening reads the superblock only.
    assert!(
        storage.bytes_read() <= 1024,
        "open read {} bytes",
        storage.bytes_read()
    );
    let ds = f.dataset("gzip_1").unwrap(); // 20×25, chunks 10×10, deflate
    let chunks = ds.chunk_info().unwrap();
    assert_eq!(chunks.len(), 6);
    let stored = |offs: &[[u64; 2]]| -> u64 {
        offs.iter()
            .map(|o| chunks.iter().find(|c| c.offset == o.to_vec()).unwrap().size)
            .sum()
    };
    for (sel, touched) in [
        ("0:5, 0:5", vec![[0, 0]]),
        ("12, 3:17", vec![[10, 0], [10, 10]]),
        ("::19, 24", vec![[0, 20], [10, 20]]),
    ] {
        storage.reset();
        let part: ArrayD<i32> = ds.read_slice(Selection::parse(sel).unwrap()).unwrap();
        assert!(!part.is_empty());
        assert_eq!(
            storage.bytes_read(),
            stored(&touched),
            "{sel}: read {} bytes of a {total}-byte file",
            storage.bytes_read()
        );
    }
    // Sanity: the whole dataset reads every chunk.
    storage.reset();
    let _: ArrayD<i32> = ds.read().unwrap();
    assert_eq!(
        storage.bytes_read(),
        chunks.iter().map(|c| c.size).sum::<u64>()
    );
}

#[test]
fn threads_read_one_file_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<File>();
    assert_send_sync::<h5::Dataset>();
    let f = File::open(fixture("chunkidx_latest.h5")).unwrap();
    let names = [
        "btree2_big_gzip",
        "extensible_array_gzip",
        "fixed_array_paged_gzip",
        "many_chunks",
    ];
    let expected: Vec<Vec<f64>> = names
        .iter()
        .map(|n| h5py_data("chunkidx_latest.h5", &[n]).0)
        .collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let f = f.clone();
            let expected = &expected;
            scope.spawn(move || {
                for round in 0..25 {
                    let k = (t + round) % names.len();
                    let ds = f.dataset(names[k]).unwrap();
                    let v: Vec<f64> = ds.read_vec().unwrap();
                    assert_eq!(v, expected[k], "thread {t} round {round} {}", names[k]);
                }
            });
        }
    });
}

#[test]
fn groups_links_attributes_and_visits() {
    let f = File::open(fixture("groups_earliest.h5")).unwrap();
    let root = f.root().unwrap();
    let mut kinds_seen = (0, 0);
    root.visit_links(|_, l| match l.kind {
        LinkKind::Soft(_) => kinds_seen.0 += 1,
        LinkKind::External { .. } => kinds_seen.1 += 1,
        _ => {}
    })
    .unwrap();
    assert!(
        kinds_seen.0 > 0 && kinds_seen.1 > 0,
        "soft and external links are reported: {kinds_seen:?}"
    );
    // Names come in byte order when creation order is not tracked.
    let names = root.member_names().unwrap();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(names, sorted);
    // The wide group (a multi-level B-tree in this file) has all its members.
    let wide = root.group("wide").unwrap();
    assert_eq!(wide.member_names().unwrap().len(), 300);
    // Visits stop early.
    let mut seen = 0;
    let stopped = root
        .visit(|_| {
            seen += 1;
            if seen == 10 {
                ControlFlow::Break(seen)
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(stopped, Some(10));
    // visit and visit_items reach every object once, as h5py's do; the dump (which also
    // lists each object once) says how many groups and datasets there are.
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("groups_earliest.json")).unwrap())
            .unwrap();
    fn count(node: &Json, out: &mut [usize; 2]) {
        for (_, m) in node["members"].as_object().unwrap() {
            match m["kind"].as_str() {
                Some("group") => {
                    out[0] += 1;
                    count(m, out);
                }
                Some("dataset") => out[1] += 1,
                _ => {}
            }
        }
    }
    let mut want = [0usize; 2];
    count(&doc["root"], &mut want);
    let mut kinds = [0usize; 2];
    root.visit_items(|_, n| match n {
        Node::Group(_) => kinds[0] += 1,
        Node::Dataset(_) => kinds[1] += 1,
        Node::Datatype(_) => {}
    })
    .unwrap();
    assert_eq!(kinds, want);
    let mut names = 0;
    root.visit(|_| {
        names += 1;
    })
    .unwrap();
    assert_eq!(names, want[0] + want[1]);
    // Creation order is honoured when tracked.
    let ordered = File::open(fixture("groups_latest.h5")).unwrap();
    let g = ordered.root().unwrap();
    let tracked = g
        .links()
        .unwrap()
        .into_iter()
        .find(|l| l.name.starts_with("track"))
        .map(|l| l.name);
    if let Some(t) = tracked {
        let names = g.group(&t).unwrap().member_names().unwrap();
        let mut sorted = names.clone();
        sorted.sort();
        assert_ne!(
            names, sorted,
            "creation order differs from name order in {t}"
        );
    }
    // Attributes of any type read as values.
    let a = File::open(fixture("attrs_latest.h5")).unwrap();
    let attrs = a.root().unwrap().attrs().all().unwrap();
    assert!(!attrs.is_empty());
    for at in attrs {
        let v = at.read_values();
        assert!(v.is_ok(), "{}: {:?}", at.name(), v.err());
    }
    // Missing things are NotFound, and kinds are checked.
    assert!(matches!(f.dataset("nope"), Err(h5::Error::NotFound(_))));
    assert!(matches!(
        f.dataset("wide"),
        Err(h5::Error::WrongKind { .. })
    ));
}

#[test]
fn strings_compounds_and_references_read_as_values() {
    let f = File::open(fixture("dtypes_latest.h5")).unwrap();
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("dtypes_latest.json")).unwrap())
            .unwrap();
    let members = doc["root"]["members"].as_object().unwrap();
    let mut checked = 0;
    for (name, node) in members {
        if node["kind"] != "dataset" || node["shape"].as_array().is_none_or(|s| s.len() != 1) {
            continue;
        }
        let ds = f.dataset(name).unwrap();
        let (vals, shape) = ds.read_values(&Selection::All).unwrap();
        assert_eq!(shape.len(), 1);
        for (v, j) in vals.iter().zip(node["data"].as_array().unwrap()) {
            match (v, j) {
                (Value::Str(s), Json::String(e)) => assert_eq!(s, e, "{name}"),
                (Value::Bool(b), Json::Bool(e)) => assert_eq!(b, e, "{name}"),
                (Value::Int(i), Json::Number(e)) => assert_eq!(Some(*i), e.as_i64(), "{name}"),
                (Value::UInt(i), Json::Number(e)) => assert_eq!(Some(*i), e.as_u64(), "{name}"),
                (Value::Ref(Some(a)), Json::String(p)) => {
                    let target = f.root().unwrap().node(p).unwrap();
                    assert_eq!(target.addr(), *a, "{name}");
                }
                _ => continue,
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} values checked");
}

#[test]
fn errors_say_where() {
    let f = File::open(fixture("layouts_latest.h5")).unwrap();
    let e = f.group("chunked_2d_edge").unwrap_err();
    assert!(e.to_string().contains("chunked_2d_edge"), "{e}");
    let e = File::from_bytes(vec![0u8; 100]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an HDF5 file: no HDF5 signature at offset 0 (100 bytes)"
    );
    let _ = IxDyn(&[1]);
}

struct Row {
    i: i32,
    f: f64,
    s: String,
}
h5::compound!(Row { i, f, s });

#[test]
fn compounds_read_into_structs_and_references_dereference() {
    let f = File::open(fixture("filters_latest.h5")).unwrap();
    let rows: Vec<Row> = f.dataset("gzip_compound").unwrap().read_vec().unwrap();
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("filters_latest.json")).unwrap())
            .unwrap();
    let want = doc["root"]["members"]["gzip_compound"]["data"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), want.len());
    for (r, w) in rows.iter().zip(want) {
        assert_eq!(r.i as i64, w["i"].as_i64().unwrap());
        assert_eq!(r.f, w["f"].as_f64().unwrap());
        assert_eq!(r.s, w["s"].as_str().unwrap());
    }
    // A struct whose fields are not in the compound is a clear error.
    #[derive(Debug)]
    struct Wrong {
        #[allow(dead_code)]
        nope: i32,
    }
    h5::compound!(Wrong { nope });
    let e = read_error::<Wrong>(&f, "gzip_compound");
    assert!(e.contains("no field \"nope\""), "{e}");

    let f = File::open(fixture("dtypes_latest.h5")).unwrap();
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("dtypes_latest.json")).unwrap())
            .unwrap();
    // each reference (as we read it) with what h5py dumped for it: a path, or null
    let refs_and_dumped = |name: &str| {
        let (refs, _) = f
            .dataset(name)
            .unwrap()
            .read_values(&Selection::All)
            .unwrap();
        let dumped = doc["root"]["members"][name]["data"]
            .as_array()
            .unwrap()
            .clone();
        refs.into_iter().zip(dumped)
    };
    for (r, w) in refs_and_dumped("ref_object") {
        match w.as_str() {
            Some(path) => {
                let node = f.dereference(&r).unwrap();
                assert_eq!(node.name(), path);
            }
            None => assert!(matches!(f.dereference(&r), Err(h5::Error::NotFound(_)))),
        }
    }
    for (r, w) in refs_and_dumped("ref_region") {
        if let Some(path) = w.as_str() {
            assert_eq!(f.dereference(&r).unwrap().name(), path);
        }
    }
}

/// Flatten nested JSON lists into leaves.
fn leaves(v: &Json, out: &mut Vec<Json>) {
    match v {
        Json::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        x => out.push(x.clone()),
    }
}

fn value_leaves(v: &Value, out: &mut Vec<Json>) {
    match v {
        Value::List(items) => items.iter().for_each(|x| value_leaves(x, out)),
        Value::Int(i) => out.push(Json::from(*i)),
        Value::UInt(u) => out.push(Json::from(*u)),
        Value::Float(x) => out.push(Json::from(*x)),
        Value::Str(s) => out.push(Json::from(s.as_str())),
        other => panic!("unexpected value {other:?}"),
    }
}

fn top_level_array_types_read_as_h5py_reads_them(libver: &str) {
    // h5py_dump.py cannot describe these files, so generate.py recorded h5py's values.
    let name = format!("arraytype_{libver}.h5");
    let f = File::open(fixture(&name)).unwrap();
    let text = std::fs::read_to_string(fixture(&name).with_extension("values.json")).unwrap();
    let doc: Json = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (ds, want) in doc["datasets"].as_object().unwrap() {
        let (vals, _) = f.dataset(ds).unwrap().read_values(&Selection::All).unwrap();
        let (mut got, mut exp) = (Vec::new(), Vec::new());
        vals.iter().for_each(|v| value_leaves(v, &mut got));
        leaves(want, &mut exp);
        assert_eq!(got, exp, "{name}/{ds}");
        checked += 1;
    }
    for (a, want) in doc["attrs"].as_object().unwrap() {
        let vals = f
            .root()
            .unwrap()
            .attrs()
            .open(a)
            .unwrap()
            .read_values()
            .unwrap();
        let (mut got, mut exp) = (Vec::new(), Vec::new());
        vals.iter().for_each(|v| value_leaves(v, &mut got));
        leaves(want, &mut exp);
        assert_eq!(got, exp, "{name} attribute {a}");
        checked += 1;
    }
    assert_eq!(checked, 6, "{name}");
}

// generate.py writes these files in two profiles only
crate::per_case!(top_level_array_types_read_as_h5py_reads_them:
    earliest => "earliest",
    latest => "latest",
);

/// A group searched many times is indexed by name (h5's `read::links`): every name h5py
/// made is found, as the object it names, before and after the index exists, and names
/// that are not there (prefixes, extensions, neighbours, non-ASCII) are not. (No name here
/// is non-ASCII: libhdf5 stores a UTF-8 name as a link message, not in a symbol table.)
#[test]
fn many_lookups_in_one_group_find_what_h5py_made() {
    let path = common::h5py_writes(
        "many_lookups",
        "earliest",
        r#"
    for i in range(300):
        f[f"n{i:04}"] = [i]
    f.create_group("g")
    f["soft"] = h5py.SoftLink("/n0007")
"#,
    );
    let f = File::open(&path).unwrap();
    let root = f.root().unwrap();
    let absent_names_are_not_found = || {
        for absent in [
            "n", "n000", "n00000", "n0300", "n02991", "café2", "n-001", "",
        ] {
            assert!(root.link(absent).unwrap().is_none(), "{absent:?}");
        }
    };
    // before the group is indexed (fewer than 32 lookups so far), then through the index
    absent_names_are_not_found();
    for round in 0..3 {
        for i in 0..300 {
            let d = f.dataset(&format!("n{i:04}")).unwrap();
            assert_eq!(d.read_vec::<i64>().unwrap(), [i], "round {round}");
        }
        absent_names_are_not_found();
        assert!(f.group("g").is_ok());
        assert_eq!(f.dataset("soft").unwrap().read_vec::<i64>().unwrap(), [7]);
    }
}

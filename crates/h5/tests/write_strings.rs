//! String attributes and h5py's `attrs.update(metadata)`, judged by h5py.

use h5::{File, Value};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("h5-write-strings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn h5py_dump(path: &Path) -> Json {
    let py = root().join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `bash .ci/run` once (it creates the venv with h5py)",
        py.display()
    );
    let out = Command::new(py)
        .arg(root().join("../shared/tools/h5py_dump.py"))
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "h5py cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn h5dump_reads(path: &Path) {
    let out = Command::new("h5dump")
        .arg(path)
        .output()
        .expect("h5dump (Debian hdf5-tools; `bash .ci/run` installs it)");
    assert!(
        out.status.success(),
        "h5dump fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn string_attributes_read_back_in_h5py() {
    let path = tmp("strings.h5");
    let many: Vec<String> = (0..2000)
        .map(|i| format!("value number {i} ").repeat(1 + i % 4))
        .collect();
    let big = "x".repeat(10_000);
    {
        let f = File::create(&path).unwrap();
        let r = f.root().unwrap();
        r.attrs().set_str("title", "Hëllo, wörld ✓").unwrap();
        r.attrs().set_str("empty", "").unwrap();
        r.attrs().set_str("big", &big).unwrap();
        let refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
        r.create_group("g")
            .unwrap()
            .attrs()
            .set_strings("many", &[refs.len() as u64], &refs)
            .unwrap();
        r.attrs().set_str("title", "overwritten").unwrap();
        f.close().unwrap();
    }
    h5dump_reads(&path);
    let d = h5py_dump(&path);
    let a = &d["root"]["attrs"];
    assert_eq!(
        a["title"],
        json!({"dtype": {"string": "vlen", "charset": "utf8"}, "shape": [], "data": "overwritten"})
    );
    assert_eq!(a["empty"]["data"], "");
    assert_eq!(a["big"]["data"], big.as_str());
    let got = d["root"]["members"]["g"]["attrs"]["many"]["data"]
        .as_array()
        .unwrap();
    assert_eq!(got.len(), many.len());
    assert!(got.iter().zip(&many).all(|(g, w)| g == w.as_str()));
}

#[test]
fn attrs_update_like_the_articles_metadata() {
    // The article stores a dict of metadata with attrs.update(metadata).
    let path = tmp("metadata.h5");
    {
        let f = File::create(&path).unwrap();
        let ds = f
            .root()
            .unwrap()
            .create_dataset("data", &ndarray::arr1(&[1.0f64, 2.0]))
            .unwrap();
        ds.attrs()
            .update([
                ("date", Value::Str("2026-11-23".into())),
                ("user", Value::Str("Ada".into())),
                ("OS", Value::Str("Linux".into())),
                ("version", Value::Int(2)),
                ("scale", Value::Float(0.25)),
                ("valid", Value::Bool(true)),
                (
                    "bounds",
                    Value::List(vec![Value::Float(-1.0), Value::Float(1.5)]),
                ),
                (
                    "tags",
                    Value::List(vec![Value::Str("a".into()), Value::Str("bc".into())]),
                ),
            ])
            .unwrap();
        assert!(ds
            .attrs()
            .set_value(
                "mixed",
                &Value::List(vec![Value::Int(1), Value::Str("x".into())])
            )
            .is_err());
        f.close().unwrap();
    }
    let d = h5py_dump(&path);
    let a = &d["root"]["members"]["data"]["attrs"];
    assert_eq!(a["date"]["data"], "2026-11-23");
    assert_eq!(
        a["version"],
        json!({"dtype": "<i8", "shape": [], "data": 2})
    );
    assert_eq!(
        a["scale"],
        json!({"dtype": "<f8", "shape": [], "data": 0.25})
    );
    assert_eq!(
        a["valid"],
        json!({"dtype": "|b1", "shape": [], "data": true})
    );
    assert_eq!(
        a["bounds"],
        json!({"dtype": "<f8", "shape": [2], "data": [-1.0, 1.5]})
    );
    assert_eq!(a["tags"]["data"], json!(["a", "bc"]));
    assert!(a.get("mixed").is_none());
}

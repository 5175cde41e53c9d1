//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[path = "../../../h5/tests/common/run.rs"]
pub mod run;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Run the `h5` binary in `dir` with `args`: (exit code, stdout, stderr).
pub fn h5(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_h5"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run h5");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Start the `h5` binary with `args` under an address-space cap of `cap` bytes for the whole
/// process (util-linux's `prlimit`), with `stdout` as given and stderr piped.
pub fn h5_under_memory_cap(cap: u64, args: &[&str], path: &Path, stdout: Stdio) -> Child {
    Command::new("prlimit")
        .arg(format!("--as={cap}"))
        .arg(env!("CARGO_BIN_EXE_h5"))
        .args(args)
        .arg(path)
        .env("MALLOC_ARENA_MAX", "2")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prlimit (util-linux) with h5")
}

/// Differences between two dumps as ../shared/tools/compare_dumps.py judges them: key order
/// free, numbers compared by value. Returns at most `limit` differences, by JSON path.
pub fn diff(expected: &Json, actual: &Json, path: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match (expected, actual) {
        (Json::Object(a), Json::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (a.get(k), b.get(k)) {
                    (None, _) => out.push(format!("{path}/{k}: unexpected")),
                    (_, None) => out.push(format!("{path}/{k}: missing")),
                    (Some(x), Some(y)) => diff(x, y, &format!("{path}/{k}"), out, limit),
                }
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: length {}, expected {}", b.len(), a.len()));
                return;
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, &format!("{path}[{i}]"), out, limit);
            }
        }
        (Json::Number(a), Json::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            };
            if !same {
                out.push(format!("{path}: {b}, expected {a}"));
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {}, expected {}", trim(b), trim(a))),
    }
}

fn trim(v: &Json) -> String {
    let s = v.to_string();
    s.chars().take(120).collect()
}

/// Parse JSON text or panic naming `what`.
pub fn parse(text: &str, what: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"))
}

#[test]
fn diff_compares_numbers_by_value() {
    let a: Json = serde_json::json!({"x": [1, 2.0, "a"], "y": null});
    let b: Json = serde_json::json!({"y": null, "x": [1.0, 2, "a"]});
    let mut out = Vec::new();
    diff(&a, &b, "", &mut out, 10);
    assert!(out.is_empty(), "{out:?}");
    let c: Json = serde_json::json!({"x": [1, 3, "b"]});
    diff(&a, &c, "", &mut out, 10);
    assert_eq!(
        out,
        [
            "/x[1]: 3, expected 2.0",
            "/x[2]: \"b\", expected \"a\"",
            "/y: missing"
        ]
    );
}

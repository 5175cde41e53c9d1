//! `h5 dump` in bounded memory (issue 8): a dataset of 2^30 elements dumps under a 256 MiB
//! address-space cap, element for element what h5py wrote (slices compared with
//! ../shared/tools/h5py_dump.py, every other element with the values the h5py script wrote);
//! a file with one undecodable dataset dumps the rest, exits 1, and names the dataset.
//! Needs the venv `.ci/run` installs and util-linux's `prlimit`.
#![cfg(target_os = "linux")]

mod common;

use common::{diff, parse, root};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash .ci/run` once (it creates the venv with h5py)",
        python.display()
    );
    python
}

fn run_python(script: &str) -> String {
    let out = common::run::run_ok(Command::new(python()).arg("-c").arg(script), "h5py script");
    String::from_utf8(out.stdout).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("h5-dump-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Frames h5py writes (the rest stay at the fill value 7); element (f, r, c) of a written
/// frame is (7f + 3r + c) mod 251.
const WRITTEN: [u64; 4] = [0, 1, 511, 1023];
const N: u64 = 1024;

fn expected(f: u64, r: u64, c: u64) -> u64 {
    if WRITTEN.contains(&f) {
        (7 * f + 3 * r + c) % 251
    } else {
        7
    }
}

/// Rows captured from our stream to compare with h5py's dump of the same selection.
const SLICES: [(&str, u64, std::ops::Range<u64>); 3] = [
    ("1,0:4,:", 1, 0..4),
    ("1023,1022:,:", 1023, 1022..1024),
    ("5,0:2,:", 5, 0..2),
];

#[test]
fn a_billion_elements_dump_in_bounded_memory() {
    let dir = scratch("big");
    let path = dir.join("big.h5");
    run_python(&format!(
        r#"
import h5py, numpy as np
with h5py.File({p:?}, "w") as f:
    d = f.create_dataset("big", shape=({n}, {n}, {n}), dtype="u1", chunks=(1, {n}, {n}),
                         compression="gzip", compression_opts=1, fillvalue=7)
    r = np.arange({n}, dtype=np.int64)
    for fr in {w:?}:
        d[fr] = ((7 * fr + 3 * r[:, None] + r[None, :]) % 251).astype("u1")
    d.attrs["note"] = "mostly fill"
"#,
        p = path.to_str().unwrap(),
        n = N,
        w = WRITTEN,
    ));

    // 256 MiB of address space for the whole process (code, stacks, rayon's threads, heap).
    let mut child = common::h5_under_memory_cap(
        256 << 20,
        &["dump", "--json", "--dataset", "/big"],
        &path,
        Stdio::piped(),
    );
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());

    // Everything before the data, then the data as a token stream checked element by element.
    let mut head = Vec::new();
    let marker = b"\"data\": ";
    let mut byte = [0u8; 1];
    while !head.ends_with(marker) {
        assert_eq!(
            out.read(&mut byte).unwrap(),
            1,
            "no data in {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let mut captured: HashMap<(u64, u64), Vec<u64>> = HashMap::new();
    let (mut depth, mut opened, mut count) = (0usize, 0u64, 0u64);
    let mut num: Option<u64> = None;
    let mut buf = vec![0u8; 1 << 20];
    let mut tail = Vec::new();
    let mut bad = Vec::new();
    'stream: loop {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "output ended inside the data after {count} elements");
        for (k, &b) in buf[..n].iter().enumerate() {
            match b {
                b'0'..=b'9' => num = Some(num.unwrap_or(0) * 10 + u64::from(b - b'0')),
                _ => {
                    if let Some(v) = num.take() {
                        assert_eq!(depth, 3, "element {count} at list depth {depth}");
                        let (f, r, c) = (count / (N * N), count / N % N, count % N);
                        if v != expected(f, r, c) && bad.len() < 5 {
                            bad.push(format!(
                                "[{f},{r},{c}] = {v}, h5py wrote {}",
                                expected(f, r, c)
                            ));
                        }
                        if SLICES.iter().any(|s| s.1 == f && s.2.contains(&r)) {
                            captured.entry((f, r)).or_default().push(v);
                        }
                        count += 1;
                    }
                    match b {
                        b'[' => {
                            depth += 1;
                            opened += 1;
                        }
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                tail.extend_from_slice(&buf[k + 1..n]);
                                break 'stream;
                            }
                        }
                        b',' | b'\n' | b' ' => {}
                        other => panic!("unexpected byte {:?} in the data", other as char),
                    }
                }
            }
        }
    }
    out.read_to_end(&mut tail).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "h5 dump under a 256 MiB cap: {status}: {err}"
    );
    assert!(
        bad.is_empty(),
        "elements differ from what h5py wrote: {bad:?}"
    );
    assert_eq!(count, N * N * N, "elements in the dump");
    assert_eq!(opened, 1 + N + N * N, "lists in the dump");

    // The node around the data equals h5py's (data aside).
    let mut doc = head;
    doc.extend_from_slice(b"null");
    doc.extend_from_slice(&tail);
    let ours = parse(std::str::from_utf8(&doc).unwrap(), "our node");
    // (h5py_dump.py cannot dump all 2^30 elements; a selection brings the same metadata.)
    let theirs = h5py_dump(&path, "/big", Some(SLICES[0].0));
    let mut d = Vec::new();
    for key in [
        "dtype", "shape", "maxshape", "layout", "chunks", "filters", "attrs",
    ] {
        diff(&theirs[key], &ours[key], key, &mut d, 5);
    }
    assert!(d.is_empty(), "{d:?}");

    // Slices: our stream's elements equal h5py_dump.py's for the same selection.
    for (sel, f, rows) in SLICES {
        let theirs = h5py_dump(&path, "/big", Some(sel));
        let ours: Vec<Json> = rows
            .map(|r| Json::from(captured[&(f, r)].clone()))
            .collect();
        let mut d = Vec::new();
        diff(&theirs["data"], &Json::Array(ours), sel, &mut d, 5);
        assert!(d.is_empty(), "{sel}: {d:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn h5py_dump(path: &Path, dataset: &str, select: Option<&str>) -> Json {
    let mut cmd = Command::new(python());
    cmd.arg(root().join("../shared/tools/h5py_dump.py"))
        .arg(path)
        .args(["--dataset", dataset]);
    if let Some(s) = select {
        cmd.arg(format!("--select={s}"));
    }
    let out = cmd.output().expect("run h5py_dump.py");
    assert!(
        out.status.success(),
        "h5py_dump.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8(out.stdout).unwrap(), "h5py_dump.py")
}

#[test]
fn one_undecodable_dataset_does_not_stop_the_dump() {
    let dir = scratch("broken");
    let path = dir.join("broken.h5");
    // h5py writes three datasets and says where b's one chunk is; we spoil its deflate stream.
    let at: u64 = run_python(&format!(
        r#"
import h5py, numpy as np
with h5py.File({p:?}, "w") as f:
    f["a"] = np.arange(10, dtype="i4")
    b = f.create_dataset("g/b", data=np.arange(1000, dtype="f8"), chunks=(1000,), compression="gzip")
    f["z"] = np.arange(5, dtype="u2")
    print(b.id.get_chunk_info(0).byte_offset)
"#,
        p = path.to_str().unwrap()
    ))
    .trim()
    .parse()
    .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[at as usize + 2..at as usize + 40] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_h5"))
        .args(["dump", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/g/b") && err.contains("deflate"), "{err}");
    let doc = parse(
        &String::from_utf8_lossy(&out.stdout),
        "dump with one bad dataset",
    );
    let members = &doc["root"]["members"];
    assert_eq!(
        members["a"]["data"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    );
    assert_eq!(members["z"]["data"], serde_json::json!([0, 1, 2, 3, 4]));
    let b = &members["g"]["members"]["b"];
    assert_eq!(b["shape"], serde_json::json!([1000]));
    assert!(b["data"].is_null(), "{b}");
    let e = b["error"].as_str().expect("an error entry");
    assert!(e.contains("/g/b") && e.contains("deflate"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

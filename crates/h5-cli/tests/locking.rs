//! The `h5` binary honours `HDF5_USE_FILE_LOCKING` as libhdf5 does: while h5py holds a file
//! open for writing, `h5 ls` is refused (exit 1, the file named); with the variable `FALSE`
//! it reads the file. Needs the venv `.ci/run` installs.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn h5_honours_hdf5_use_file_locking() {
    let python = common::root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash .ci/run` once (it creates the venv with h5py)",
        python.display()
    );
    let dir = std::env::temp_dir().join(format!("h5-cli-locking-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("held.h5");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(format!(
            r#"
import sys, h5py
f = h5py.File({p:?}, "w")
f["x"] = [1, 2, 3]
f.flush()
print("ready", flush=True)
sys.stdin.readline()
f.close()
"#,
            p = path.to_str().unwrap()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");

    let run = |env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_h5"));
        cmd.arg("ls").arg(&path).env_remove("HDF5_USE_FILE_LOCKING");
        if let Some(v) = env {
            cmd.env("HDF5_USE_FILE_LOCKING", v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for env in [None, Some("TRUE"), Some("BEST_EFFORT")] {
        let (code, _, err) = run(env);
        assert_eq!(code, Some(1), "{env:?}: {err}");
        assert!(
            err.contains("held.h5") && err.contains("lock"),
            "{env:?}: {err}"
        );
    }
    let (code, out, err) = run(Some("FALSE"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains('x'), "{out}");

    writeln!(child.stdin.take().unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    let (code, _, err) = run(None);
    assert_eq!(code, Some(0), "after h5py closed: {err}");
}

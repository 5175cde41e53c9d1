//! File locking and libhdf5's "open for write" superblock flags (issue 8): two processes —
//! ours and h5py — in each order; whoever opens second for writing gets a clear error naming
//! the file and the first writer's data stays intact. Needs the venv `.ci/run` installs.
#![cfg(unix)]

mod common;
use common::{create, python, tmp};

use h5::{Error, File, LibVer, Locking, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// An h5py process holding `path` open in mode `a` (after writing a dataset `held`), until
/// told to go on; then it writes `after`, closes and prints "done".
struct H5pyWriter {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<std::process::ChildStdout>,
}

impl H5pyWriter {
    fn start(path: &Path, libver: &str, env_no_locking: bool) -> H5pyWriter {
        let script = format!(
            r#"
import sys, h5py, numpy as np
f = h5py.File({p:?}, "a", libver={libver:?})
f["held"] = np.arange(10)
f.flush()
print("ready", flush=True)
sys.stdin.readline()
f["after"] = np.arange(5)
f.close()
print("done", flush=True)
"#,
            p = path.to_str().unwrap()
        );
        let mut cmd = Command::new(python());
        cmd.arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if env_no_locking {
            cmd.env("HDF5_USE_FILE_LOCKING", "FALSE");
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the h5py writer did not start");
        H5pyWriter { child, stdin, out }
    }

    fn finish(mut self) {
        writeln!(self.stdin).unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done");
        assert!(self.child.wait().unwrap().success());
    }
}

/// h5py opening `path` in `mode` (with file locking off when `no_locking`): "ok", or the
/// error it raises.
fn h5py_open(path: &Path, mode: &str, no_locking: bool) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(format!(
        r#"
import h5py
try:
    with h5py.File({p:?}, {mode:?}) as f:
        list(f)
    print("ok")
except Exception as e:
    print(e)
"#,
        p = path.to_str().unwrap()
    ));
    if no_locking {
        cmd.env("HDF5_USE_FILE_LOCKING", "FALSE");
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn locked(e: &Error, path: &Path) -> bool {
    matches!(e, Error::Locked { path: p, .. } if p == &path.display().to_string())
}

fn no_locking() -> OpenOptions {
    OpenOptions {
        locking: Locking::Disabled,
        ..Default::default()
    }
}

fn h5py_cannot_open_what_we_hold_for_writing(libver: LibVer) {
    let path = tmp(&format!("ours_first_{libver:?}.h5"));
    let f = create(&path, libver);
    f.root()
        .unwrap()
        .create_dataset("ours", ndarray::arr1(&[1i32, 2, 3]))
        .unwrap();
    f.flush().unwrap();
    for mode in ["r", "r+", "a"] {
        let msg = h5py_open(&path, mode, false);
        assert!(
            msg.contains("unable to lock file"),
            "{libver:?} {mode}: {msg}"
        );
    }
    f.close().unwrap();
    assert_eq!(h5py_open(&path, "r+", false), "ok");
    let back = File::open(&path).unwrap();
    assert_eq!(
        back.dataset("ours").unwrap().read_vec::<i32>().unwrap(),
        [1, 2, 3]
    );
}

crate::per_profile!(h5py_cannot_open_what_we_hold_for_writing);

fn we_cannot_open_what_h5py_holds_for_writing(libver: &str) {
    let path = tmp(&format!("h5py_first_{libver}.h5"));
    let _ = std::fs::remove_file(&path);
    let w = H5pyWriter::start(&path, libver, false);
    for e in [
        File::open_rw(&path).unwrap_err(),
        File::append(&path).unwrap_err(),
        File::open(&path).unwrap_err(),
        File::create(&path).unwrap_err(),
    ] {
        assert!(locked(&e, &path), "{libver}: {e}");
        let text = e.to_string();
        assert!(
            text.contains(&*path.to_string_lossy()) && text.contains("lock"),
            "{text}"
        );
    }
    // nothing we tried touched the file: h5py goes on and everything is there
    w.finish();
    let f = File::open(&path).unwrap();
    assert_eq!(
        f.dataset("held").unwrap().read_vec::<i64>().unwrap(),
        (0..10).collect::<Vec<i64>>()
    );
    assert_eq!(
        f.dataset("after").unwrap().read_vec::<i64>().unwrap().len(),
        5
    );
}

crate::per_h5py_profile!(we_cannot_open_what_h5py_holds_for_writing);

#[test]
fn two_writers_in_one_process_are_refused() {
    let path = tmp("in_process.h5");
    let f = create(&path, LibVer::Earliest);
    let e = File::open_rw(&path).unwrap_err();
    assert!(locked(&e, &path), "{e}");
    assert!(locked(&File::open(&path).unwrap_err(), &path));
    f.close().unwrap();
    // readers share the file
    let a = File::open(&path).unwrap();
    let b = File::open(&path).unwrap();
    assert!(locked(&File::open_rw(&path).unwrap_err(), &path));
    drop((a, b));
    let w = File::open_rw(&path).unwrap();
    drop(w); // dropping the last handle closes and unlocks
    File::open_rw(&path).unwrap().close().unwrap();
}

#[test]
fn without_locks_the_superblock_flags_still_guard_v3_files() {
    // h5py holds a libver latest file with locking off: its superblock says "open for write"
    let path = tmp("flags_h5py.h5");
    let _ = std::fs::remove_file(&path);
    let w = H5pyWriter::start(&path, "latest", true);
    let e = File::open_rw_with(&path, no_locking()).unwrap_err();
    assert!(
        locked(&e, &path) && e.to_string().contains("already open for write"),
        "{e}"
    );
    assert!(e.to_string().contains("h5clear"), "{e}");
    // reading stays possible
    let f = File::open_with(&path, no_locking()).unwrap();
    assert!(f
        .root()
        .unwrap()
        .member_names()
        .unwrap()
        .contains(&"held".to_string()));
    drop(f);
    w.finish();

    // we hold one with locking off: h5py (locking off too) refuses it as libhdf5 does
    let path = tmp("flags_ours.h5");
    let f = h5::File::create_with(
        &path,
        h5::CreateOptions {
            libver: LibVer::Latest,
            locking: Locking::Disabled,
            ..Default::default()
        },
    )
    .unwrap();
    f.root().unwrap().create_group("g").unwrap();
    f.flush().unwrap();
    let msg = h5py_open(&path, "r", true);
    assert!(msg.contains("already open for write"), "{msg}");
    f.close().unwrap();
    assert_eq!(h5py_open(&path, "r", true), "ok");
    assert_eq!(h5py_open(&path, "r+", false), "ok");

    // h5py holds a libver earliest file (superblock v0: no flags) with locking off: libhdf5
    // would let a second writer in, and so do we
    let path = tmp("noflags_h5py.h5");
    let _ = std::fs::remove_file(&path);
    let w = H5pyWriter::start(&path, "earliest", true);
    File::open_rw_with(&path, no_locking())
        .unwrap()
        .close()
        .unwrap();
    w.finish();
}

#[test]
fn a_crashed_writers_flags_refuse_writing_but_not_reading() {
    // h5py's file copied while it was open for writing: the flags are set in the copy
    let path = tmp("crashed.h5");
    let script = format!(
        r#"
import h5py, shutil
f = h5py.File("crashed_src.h5", "w", libver="latest")
f["x"] = [1, 2, 3]
f.flush()
shutil.copy("crashed_src.h5", {p:?})
f.close()
print("ok")
"#,
        p = path.to_str().unwrap()
    );
    common::h5py_ok(path.parent().unwrap(), &script);
    let e = File::open_rw(&path).unwrap_err();
    assert!(e.to_string().contains("already open for write"), "{e}");
    assert!(e.to_string().contains("h5clear"), "{e}");
    let f = File::open(&path).unwrap();
    assert_eq!(
        f.dataset("x").unwrap().read_vec::<i64>().unwrap(),
        [1, 2, 3]
    );
    drop(f);
    // h5clear clears them; then we write, and our close leaves them clear for h5py
    let out = Command::new("h5clear")
        .arg("-s")
        .arg(&path)
        .output()
        .expect("h5clear (hdf5-tools) must be installed: `bash .ci/run` does");
    assert!(out.status.success());
    let f = File::open_rw(&path).unwrap();
    f.root()
        .unwrap()
        .create_dataset("y", ndarray::arr1(&[4u8]))
        .unwrap();
    f.close().unwrap();
    assert_eq!(h5py_open(&path, "r", false), "ok");
}

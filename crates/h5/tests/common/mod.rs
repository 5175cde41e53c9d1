//! Helpers shared by the tests that judge our files with h5py and h5dump. They need the venv
//! and hdf5-tools that `.ci/run` installs; without them they fail and say so.
#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "run.rs"]
mod run;
pub use run::run_ok;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A path in a temporary directory of this test binary and process.
pub fn tmp(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = std::env::temp_dir().join(format!("h5-{stem}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Build the crate's examples once (a filtered `cargo test` would not build them), and
/// return the directory holding their binaries.
pub fn examples_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        run_ok(
            Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "h5",
                    "--examples",
                    "--message-format=short",
                ])
                .current_dir(root()),
            "cargo building the examples",
        );
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("examples")
    })
}

/// The venv's Python (with h5py).
pub fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash .ci/run` once (it creates the venv with h5py)",
        p.display()
    );
    p
}

/// h5py's dump of a file (../shared/tools/h5py_dump.py).
pub fn h5py_dump(path: &Path) -> Json {
    let out = run_ok(
        Command::new(python())
            .arg(root().join("../shared/tools/h5py_dump.py"))
            .arg(path),
        &format!("h5py_dump.py (h5py reading {})", path.display()),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// h5dump (libhdf5 1.10) reads the whole file without error.
pub fn h5dump_reads(path: &Path) {
    h5dump_ok(&[], path);
}

/// h5dump (libhdf5 1.10) with `args` (e.g. `-H`, `-d /name`) succeeds on the file.
pub fn h5dump_ok(args: &[&str], path: &Path) {
    run_ok(
        Command::new("h5dump").args(args).arg(path),
        &format!(
            "h5dump {args:?} on {} (Debian's hdf5-tools: `bash .ci/run` installs them)",
            path.display()
        ),
    );
}

/// Run an h5py script in `dir` that must end by printing "ok"; returns its output.
pub fn h5py_ok(dir: &Path, script: &str) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "h5py check failed in {}:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Run Python with h5py on a snippet (which must succeed); returns its stdout.
pub fn h5py(code: &str) -> String {
    let out = run_ok(Command::new(python()).arg("-c").arg(code), "h5py snippet");
    String::from_utf8(out.stdout).unwrap()
}

/// Every write profile (h5py's libver earliest, v108, v110, latest), for tests that run in
/// each.
pub const PROFILES: [h5::LibVer; 4] = [
    h5::LibVer::Earliest,
    h5::LibVer::V108,
    h5::LibVer::V110,
    h5::LibVer::Latest,
];

/// Options that hold reads and writes to `max_data_bytes` of data buffers (the rest default).
pub fn data_limit(max_data_bytes: u64) -> h5::OpenOptions {
    h5::OpenOptions {
        limits: h5::Limits {
            max_data_bytes,
            ..h5::Limits::default()
        },
        ..h5::OpenOptions::default()
    }
}

/// A new unwritten dataset of `T` in `parent`: contiguous of `shape`, or chunked when
/// `chunks` are given.
pub fn unwritten<T: h5::H5Type>(
    parent: &h5::Group,
    name: &str,
    shape: &[u64],
    chunks: Option<&[u64]>,
) -> h5::Dataset {
    let b = parent.new_dataset::<T>().shape(shape);
    let b = match chunks {
        Some(c) => b.chunks(c),
        None => b,
    };
    b.create(name).unwrap()
}

/// A new unwritten dataset of `shape` in `parent` whose type is the committed type `t`.
pub fn of_committed(
    parent: &h5::Group,
    t: &h5::NamedDatatype,
    name: &str,
    shape: &[u64],
) -> h5::Dataset {
    parent
        .new_dataset_of(t.dtype().unwrap())
        .committed(t)
        .unwrap()
        .shape(shape)
        .create(name)
        .unwrap()
}

/// A new file in a profile.
pub fn create(path: &Path, libver: h5::LibVer) -> h5::File {
    h5::File::create_with(
        path,
        h5::CreateOptions {
            libver,
            ..Default::default()
        },
    )
    .unwrap()
}

/// A new file `<tag>_<profile>.h5` in profile `libver`, left open: its path and handle.
pub fn new_file(tag: &str, libver: h5::LibVer) -> (PathBuf, h5::File) {
    let path = tmp(&format!("{tag}_{libver:?}.h5"));
    let f = create(&path, libver);
    (path, f)
}

/// A new file `<tag>_<profile>.h5` in profile `libver`, filled by `write` and closed: its
/// path, for h5py and h5dump to judge.
pub fn write_file(tag: &str, libver: h5::LibVer, write: impl FnOnce(&h5::File)) -> PathBuf {
    let (path, f) = new_file(tag, libver);
    write(&f);
    f.close().unwrap();
    path
}

/// [`write_file`], then h5dump reads the file (where it reads the profile): its path, for
/// h5py's checks.
pub fn written(tag: &str, libver: h5::LibVer, write: impl FnOnce(&h5::File)) -> PathBuf {
    let path = write_file(tag, libver, write);
    h5dump_reads_profile(&path, libver);
    path
}

/// h5dump (libhdf5 1.10) reads the file — every profile but libver latest, whose HDF5 2.0
/// encodings (datatype v5, layout v5) 1.10 cannot read (nor h5py's own latest files).
pub fn h5dump_reads_profile(path: &Path, libver: h5::LibVer) {
    if libver != h5::LibVer::Latest {
        h5dump_reads(path);
    }
}

/// One `#[test]` per case for a function: a module named after the function with a test per
/// case, each calling it with that case's argument, so each case passes or fails on its own.
/// `per_case!(f: earliest => "earliest", latest => "latest")`.
#[macro_export]
macro_rules! per_case {
    ($f:ident: $($case:ident => $arg:expr),+ $(,)?) => {
        mod $f {
            $(
                #[test]
                fn $case() {
                    super::$f($arg)
                }
            )+
        }
    };
}

/// One `#[test]` per profile for each function named: a module named after the function with
/// the tests `earliest`, `v108`, `v110` and `latest`, each calling it with that profile's
/// argument, so each profile passes or fails on its own.
#[macro_export]
macro_rules! four_profiles {
    ([$e:expr, $v8:expr, $v10:expr, $l:expr] $($f:ident),*) => {$(
        $crate::per_case!($f: earliest => $e, v108 => $v8, v110 => $v10, latest => $l);
    )*};
}

/// [`four_profiles!`] for functions `fn(h5::LibVer)`: files we write in each profile.
#[macro_export]
macro_rules! per_profile {
    ($($f:ident),* $(,)?) => {
        $crate::four_profiles!([h5::LibVer::Earliest, h5::LibVer::V108, h5::LibVer::V110,
            h5::LibVer::Latest] $($f),*);
    };
}

/// [`four_profiles!`] for functions `fn(&str)`: files h5py writes with each `libver` name.
#[macro_export]
macro_rules! per_h5py_profile {
    ($($f:ident),* $(,)?) => {
        $crate::four_profiles!(["earliest", "v108", "v110", "latest"] $($f),*);
    };
}

/// The lines h5py prints running `code` with `p`, the path of the file to judge (`h5py` and
/// `numpy as np` imported).
pub fn h5py_prints(path: &Path, code: &str) -> Vec<String> {
    let out = h5py(&format!(
        "import h5py, numpy as np\np = {:?}\n{code}",
        path.to_str().unwrap()
    ));
    out.lines().map(str::to_string).collect()
}

/// A file h5py writes with its `libver` (`earliest`, `v108`, …): `body` runs indented under
/// `with h5py.File(path, 'w', libver=libver) as f:`, with `h5py` and `numpy as np` imported.
/// Its path, a temporary file named after `tag` and the profile.
pub fn h5py_writes(tag: &str, libver: &str, body: &str) -> PathBuf {
    let path = tmp(&format!("{libver}_{tag}.h5"));
    h5py(&format!(
        "import h5py, numpy as np\nwith h5py.File({:?}, 'w', libver={libver:?}) as f:\n{body}",
        path.to_str().unwrap()
    ));
    path
}

/// h5py opens `path` for reading as `f` (with `h5py` and `numpy as np` imported) and runs
/// `asserts`, which must pass.
pub fn h5py_asserts(path: &Path, asserts: &str) {
    let script = format!(
        "import h5py, numpy as np\nf = h5py.File({:?}, 'r')\n{}\nprint('ok')\n",
        path.to_str().unwrap(),
        asserts.trim_matches('\n')
    );
    h5py_ok(path.parent().unwrap(), &script);
}

/// Write flat row-major `data` into `sel` of `ds`: one value fills the selection, more are
/// shaped as the selection reads (what numpy's `dset[sel] = data.reshape(...)` does).
pub fn write_flat<T: h5::H5Type + Clone>(
    ds: &h5::Dataset,
    sel: impl Into<h5::Selection>,
    data: &[T],
) -> h5::Result<()> {
    let sel = sel.into();
    if data.len() == 1 {
        return ds.write_slice(sel, std::slice::from_ref(&data[0]));
    }
    let shape: Vec<usize> = ds
        .batches(&sel, u64::MAX)?
        .out_shape()
        .iter()
        .map(|&d| d as usize)
        .collect();
    let data = ndarray::ArrayView::from_shape(shape, data)
        .map_err(|e| h5::Error::Shape(format!("{e}: {} values", data.len())))?;
    ds.write_slice(sel, data)
}

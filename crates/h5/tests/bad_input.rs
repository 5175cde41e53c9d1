//! Bad input: every fixture truncated at many offsets and with bytes flipped across its
//! metadata. Every case must give an error or valid data — never a panic, a hang (each case
//! runs on a worker with a deadline) or an allocation beyond the cap below. Format errors
//! must name the structure and the file offset.

use h5::storage::MemStorage;
use h5::{Error, File, Limits, Node, OpenOptions, Selection};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

#[path = "common/damage.rs"]
mod damage;
use damage::{fixture_files, read_fixture, Rng};

/// Total live heap allowed for this test process: far below the default `Limits` (a read may
/// claim 16 GiB), so a size from a damaged file that reaches an allocation unchecked — or
/// is allocated infallibly — aborts the test. Reads, edits and what they allocate must all
/// turn such sizes into errors.
#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 1 << 30);

const DEADLINE: Duration = Duration::from_secs(60);

/// Read everything a user could: tree, attributes, data. Returns the errors met.
fn exercise(bytes: Vec<u8>) -> Vec<Error> {
    let mut errors = Vec::new();
    // allow_truncated: reach past the superblock's size check, into every decoder.
    let options = OpenOptions {
        limits: Limits::default(),
        allow_truncated: true,
        ..Default::default()
    };
    let f = match File::from_storage(MemStorage::new(bytes), options) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let root = match f.root() {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    match root.attrs().all() {
        Ok(a) => a.iter().for_each(|a| {
            if let Err(e) = a.read_values() {
                errors.push(e)
            }
        }),
        Err(e) => errors.push(e),
    }
    let mut nodes = 0;
    let r = root.visit_items(|_, node| {
        nodes += 1;
        let attrs = match node {
            Node::Group(g) => g.attrs(),
            Node::Dataset(d) => {
                if let Err(e) = d.read_values(&Selection::All) {
                    errors.push(e);
                }
                if let Err(e) = d.read_slice::<f64>(&Selection::parse("1:").unwrap()) {
                    errors.push(e);
                }
                d.attrs()
            }
            Node::Datatype(t) => t.attrs(),
        };
        match attrs.all() {
            Ok(a) => a.iter().for_each(|a| {
                if let Err(e) = a.read_values() {
                    errors.push(e)
                }
            }),
            Err(e) => errors.push(e),
        }
        if nodes > 100_000 {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Err(e) = r {
        errors.push(e);
    }
    errors
}

enum Case {
    Truncate(usize),
    Flip(usize, u8),
}

/// Object header addresses (file offsets) of an undamaged file.
fn header_offsets(bytes: &[u8]) -> Vec<usize> {
    let f = File::from_bytes(bytes.to_vec()).expect("undamaged fixture opens");
    let root = f.root().expect("root");
    let mut v = vec![root.addr() as usize];
    root.visit_items(|_, n| {
        v.push(n.addr() as usize);
    })
    .expect("undamaged fixture visits");
    // Addresses are relative to the base address (the superblock's offset).
    let base = [0usize, 512, 1024, 2048]
        .into_iter()
        .find(|&o| bytes.get(o..o + 8) == Some(b"\x89HDF\r\n\x1a\n"))
        .unwrap_or(0);
    v.iter().map(|a| a + base).collect()
}

fn cases(len: usize, headers: &[usize], rng: &mut Rng) -> Vec<Case> {
    let mut v = Vec::new();
    // Flips inside every object header's first bytes (prefix and first messages).
    for &h in headers {
        for k in (0..64).step_by(5) {
            if h + k < len {
                v.push(Case::Flip(h + k, rng.flip()));
            }
        }
    }
    // Truncations: dense at the start (superblock, root header), spread after.
    for n in [0, 7, 8, 9, 40, 95, 96, 97, 200, 500, 800] {
        if n < len {
            v.push(Case::Truncate(n));
        }
    }
    for i in 1..20 {
        v.push(Case::Truncate(len * i / 20));
    }
    // Flips: every byte of the first 256 (superblock and what follows), then spread.
    for p in (0..len.min(256)).step_by(3) {
        v.push(Case::Flip(p, 0xff));
    }
    for _ in 0..90 {
        let p = rng.offset(len);
        let x = rng.flip();
        v.push(Case::Flip(p, x));
    }
    v
}

/// What a harness met: the cases it ran, the errors they gave, and the problems (panics,
/// hangs, errors that do not say where) that fail the test.
#[derive(Default)]
struct Tally {
    cases: usize,
    errors: usize,
    problems: Vec<String>,
}

impl Tally {
    /// Run one case on a worker with the deadline: its errors checked and counted, a panic
    /// or a hang recorded as a problem. False after a hang: stop.
    fn run(&mut self, what: &str, job: impl FnOnce() -> Vec<Error> + Send + 'static) -> bool {
        self.cases += 1;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            let _ = tx.send(r);
        });
        match rx.recv_timeout(DEADLINE) {
            Ok(Ok(errors)) => {
                for e in &errors {
                    check_error(e, what, &mut self.problems);
                }
                self.errors += errors.len();
                true
            }
            Ok(Err(panic)) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.problems.push(format!("{what}: PANIC {msg}"));
                true
            }
            Err(_) => {
                self.problems
                    .push(format!("{what}: no answer within {DEADLINE:?} (hang?)"));
                false
            }
        }
    }
}

/// Damage every fixture with `each` (given its name, bytes and object header offsets),
/// with panic messages silenced while the cases run; then there must be no problems.
fn damage_every_fixture(mut each: impl FnMut(&str, &[u8], &[usize], &mut Tally)) -> Tally {
    std::panic::set_hook(Box::new(|_| {})); // panics are reported below, per case
    let mut tally = Tally::default();
    for path in fixture_files() {
        let (name, original) = read_fixture(&path);
        let headers = header_offsets(&original);
        each(&name, &original, &headers, &mut tally);
    }
    let _ = std::panic::take_hook();
    assert!(
        tally.problems.is_empty(),
        "{} problems in {} cases:\n{}",
        tally.problems.len(),
        tally.cases,
        tally.problems.join("\n")
    );
    tally
}

fn check_error(e: &Error, what: &str, problems: &mut Vec<String>) {
    if let Error::Format(fe) = e.root_cause() {
        let s = fe.to_string();
        if !s.contains(" at 0x") || fe.structure.is_empty() {
            problems.push(format!(
                "{what}: format error without structure/offset: {s}"
            ));
        }
    }
    if e.to_string().is_empty() {
        problems.push(format!("{what}: empty error message"));
    }
}

#[test]
fn truncated_and_corrupted_fixtures_never_panic_hang_or_overallocate() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tally = damage_every_fixture(|name, original, headers, tally| {
        for case in cases(original.len(), headers, &mut rng) {
            let (bytes, what) = match case {
                Case::Truncate(n) => (original[..n].to_vec(), format!("{name} truncated at {n}")),
                Case::Flip(p, x) => {
                    let mut b = original.to_vec();
                    b[p] ^= x;
                    (b, format!("{name} byte {p:#x} ^= {x:#04x}"))
                }
            };
            if !tally.run(&what, move || exercise(bytes)) {
                break;
            }
        }
    });
    let (n_cases, n_errors) = (tally.cases, tally.errors);
    assert!(n_cases > 5000, "only {n_cases} cases");
    assert!(
        n_errors > 1000,
        "damage should be detected: only {n_errors} errors in {n_cases} cases"
    );
    eprintln!("{n_cases} damaged files, {n_errors} errors, no panics");
}

/// Edit a damaged file as a user would: new group, attributes, writes into every dataset,
/// resizes, a deletion, a new dataset; then close. Returns the errors met.
fn edit(path: std::path::PathBuf) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut keep = |r: h5::Result<()>| {
        if let Err(e) = r {
            errors.push(e)
        }
    };
    let f = match File::append(&path) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let root = match f.root() {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    keep(root.create_group("new/deeper").map(|_| ()));
    keep(root.attrs().set("edited", 1i32));
    keep(root.attrs().set("note", "x".repeat(5000)));
    let mut nodes = Vec::new();
    keep(
        root.visit_items(|_, n| {
            nodes.push(n.clone());
            if nodes.len() > 200 {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })
        .map(|_| ()),
    );
    for n in nodes {
        match n {
            Node::Dataset(mut d) => {
                // one element (a damaged shape can make a whole row huge: that is real work)
                let rank = d.shape().map_or(0, |s| s.len());
                let first = if rank == 0 {
                    Selection::All
                } else {
                    Selection::parse(&vec!["0"; rank].join(",")).unwrap_or(Selection::All)
                };
                keep(d.write_slice(&first, &[7i32]));
                keep(d.attrs().set("touched", true));
                if let Some(mut shape) = d.shape().filter(|s| !s.is_empty()) {
                    shape[0] += 3;
                    let _ = d.resize(&shape); // errors expected for fixed shapes
                }
            }
            Node::Group(g) => {
                for i in 0..10 {
                    keep(g.create_group(&format!("edit{i}")).map(|_| ()));
                }
                keep(g.attrs().set("touched", 2u8));
            }
            Node::Datatype(t) => keep(t.attrs().set("touched", 3u8)),
        }
    }
    if let Ok(Some(first)) = root.member_names().map(|m| m.into_iter().next()) {
        keep(root.unlink(&first));
    }
    keep(
        root.new_dataset::<f64>()
            .shape(&[100])
            .chunks(&[10])
            .deflate(4)
            .create("added")
            .and_then(|d| d.write(ndarray::Array1::<f64>::zeros(100))),
    );
    keep(f.close());
    errors
}

#[test]
fn damaged_files_opened_for_editing_never_panic_hang_or_overallocate() {
    let tmp = std::env::temp_dir().join(format!("h5-bad-edit-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let tally = damage_every_fixture(|name, original, headers, tally| {
        let mut flips: Vec<(usize, u8)> = headers
            .iter()
            .flat_map(|&h| (0..48).step_by(12).map(move |k| h + k))
            .filter(|&p| p < original.len())
            .map(|p| (p, rng.flip()))
            .collect();
        for _ in 0..15 {
            let p = rng.offset(original.len());
            flips.push((p, rng.flip()));
        }
        for (p, x) in flips {
            let mut b = original.to_vec();
            b[p] ^= x;
            let what = format!("{name} byte {p:#x} ^= {x:#04x}, edited");
            let file = tmp.join(format!("case{}.h5", tally.cases));
            std::fs::write(&file, &b).unwrap();
            let f2 = file.clone();
            if !tally.run(&what, move || edit(f2)) {
                break;
            }
            let _ = std::fs::remove_file(&file);
        }
    });
    let _ = std::fs::remove_dir_all(&tmp);
    let (n_cases, n_errors) = (tally.cases, tally.errors);
    assert!(n_cases > 1000, "only {n_cases} cases");
    assert!(n_errors > 500, "only {n_errors} errors in {n_cases} cases");
    eprintln!("{n_cases} damaged files edited, {n_errors} errors, no panics");
}

#[test]
fn truncated_files_are_refused_by_default_as_libhdf5_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/files/layouts_latest.h5");
    let bytes = std::fs::read(path).unwrap();
    let n = bytes.len() - 1;
    let e = File::from_bytes(bytes[..n].to_vec()).unwrap_err();
    assert!(
        matches!(e, Error::Truncated { len, .. } if len == n as u64),
        "{e}"
    );
    assert!(e.to_string().starts_with("truncated file"), "{e}");
    let f = File::from_storage(
        MemStorage::new(bytes[..n].to_vec()),
        OpenOptions {
            allow_truncated: true,
            ..Default::default()
        },
    );
    assert!(f.is_ok());
}

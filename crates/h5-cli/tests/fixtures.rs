//! Every fixture in fixtures/files dumps exactly as h5py dumps it (committed beside it), and
//! every selection in fixtures/selections.tsv gives what `dset[SEL]` gives in h5py.

mod common;
use common::{diff, h5, parse, root};
use std::fs;

/// Fixtures that use filters this milestone reports as unsupported, with the filter name the
/// error must carry. They are dumped in full once those filters land.
const UNSUPPORTED: &[(&str, &str)] = &[];

#[test]
fn every_fixture_dumps_like_h5py() {
    let dir = root().join("fixtures/files");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("fixtures/files")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the fixture matrix, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (code, out, err) = h5(&dir, &["dump", "--json", &name]);
        if let Some((_, filter)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            if code != 1 || !err.contains(filter) {
                failures.push(format!(
                    "{name}: expected a clean error naming {filter}, got exit {code}: {err}"
                ));
            }
            continue;
        }
        if code != 0 {
            failures.push(format!("{name}: exit {code}: {err}"));
            continue;
        }
        if !f.with_extension("json").exists() && f.with_extension("values.json").exists() {
            // The reference dump tool cannot describe this file (h5py reads it: its values are
            // checked by crates/h5/tests/read.rs); the dump must still succeed.
            parse(&out, &name);
            compared += 1;
            continue;
        }
        let expected = parse(
            &fs::read_to_string(f.with_extension("json")).expect("expected dump"),
            &name,
        );
        let mut d = Vec::new();
        diff(&expected, &parse(&out, &name), "", &mut d, 5);
        if !d.is_empty() {
            failures.push(format!("{name}:\n  {}", d.join("\n  ")));
        }
        compared += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert_eq!(compared + UNSUPPORTED.len(), files.len());
}

#[test]
fn selections_match_h5py() {
    let fx = root().join("fixtures");
    let table = fs::read_to_string(fx.join("selections.tsv")).expect("selections.tsv");
    let mut failures = Vec::new();
    let mut n_ok = 0;
    for (n, line) in table.lines().skip(1).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, ds, sel) = (cols[0], cols[1], cols[2]);
        let sel_arg = format!("--select={sel}");
        let (code, out, err) = h5(
            &fx.join("files"),
            &["dump", "--json", file, "--dataset", ds, &sel_arg],
        );
        let expected_json = fx.join(format!("selections/{n}.json"));
        if expected_json.exists() {
            let expected = parse(&fs::read_to_string(&expected_json).unwrap(), line);
            if code != 0 {
                failures.push(format!("{line}: exit {code}: {err}"));
                continue;
            }
            let mut d = Vec::new();
            diff(&expected, &parse(&out, line), "", &mut d, 5);
            if !d.is_empty() {
                failures.push(format!("{line}:\n  {}", d.join("\n  ")));
            }
            n_ok += 1;
        } else {
            // h5py rejects this selection; so must we, as bad input (exit 1) with a message.
            let why = fs::read_to_string(fx.join(format!("selections/{n}.err")))
                .expect("expected .json or .err");
            if code != 1 || !err.contains("selection") {
                failures.push(format!(
                    "{line}: h5py rejects it ({}), we gave exit {code}: {err}",
                    why.trim()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n_ok >= 8, "only {n_ok} selections compared");
}

#[test]
fn usage_errors_exit_2() {
    let dir = root();
    let (code, _, err) = h5(&dir, &["dump", "fixtures/files/groups_latest.h5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = h5(&dir, &["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _, err) = h5(
        &dir,
        &[
            "dump",
            "--json",
            "--select",
            "1",
            "fixtures/files/groups_latest.h5",
        ],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn bad_files_exit_1_with_a_message() {
    let dir = root();
    let (code, _, err) = h5(&dir, &["dump", "--json", "Cargo.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("\"Cargo.toml\" is not an HDF5 file"), "{err}");
    let (code, _, err) = h5(&dir, &["dump", "--json", "no/such/file.h5"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn ls_lists_recursively() {
    let (code, out, err) = h5(
        &root().join("fixtures/files"),
        &["ls", "-r", "layouts_latest.h5"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("chunked_2d_edge") && out.contains("Dataset {10, 7} \"<i4\""),
        "{out}"
    );
    let (code, out, _) = h5(
        &root().join("fixtures/files"),
        &["ls", "-v", "layouts_latest.h5/chunked_2d_edge"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("Chunked [4, 3]"), "{out}");
}

/// `h5 ls -v` shows each filter as h5ls (libhdf5 1.10's tools) does: `Filter-N:  name-id OPT
/// {client data}`, the same lines in the same order for every dataset.
#[test]
fn ls_shows_filters_as_h5ls_does() {
    let dir = root().join("fixtures/files");
    for file in [
        "filters_earliest.h5",
        "plugins_earliest.h5",
        "blosc_earliest.h5",
    ] {
        let (code, out, err) = h5(&dir, &["ls", "-r", "-v", file]);
        assert_eq!(code, 0, "{err}");
        let ours: Vec<&str> = out.lines().filter(|l| l.contains("Filter-")).collect();
        let h5ls = std::process::Command::new("h5ls")
            .args(["-r", "-v", file])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("h5ls (Debian's hdf5-tools: `bash .ci/run` installs them): {e}")
            });
        let theirs = String::from_utf8_lossy(&h5ls.stdout).into_owned();
        let theirs: Vec<&str> = theirs.lines().filter(|l| l.contains("Filter-")).collect();
        assert!(!ours.is_empty(), "{file}: no filters listed");
        assert_eq!(ours, theirs, "{file}");
    }
}

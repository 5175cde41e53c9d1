//! Every input the fuzzers found a bug with, committed under `fuzz/regressions/<target>/`,
//! replayed through the target's body: it must return (an error is fine) — on stable, in
//! `cargo test`. And every target once over the fixtures and a few hand-made inputs, so
//! each body runs in CI even where it has no regression yet.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn regression_inputs_return_cleanly() {
    let dir = root().join("fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let (_, body) = h5_fuzz::TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("fuzz/regressions/{name}: no such target"));
        for input in std::fs::read_dir(entry.path()).unwrap() {
            let input = input.unwrap().path();
            let bytes = std::fs::read(&input).unwrap();
            body(&bytes);
            replayed += 1;
        }
    }
    println!("replayed {replayed} regression inputs");
}

#[test]
fn every_target_runs_over_the_fixtures() {
    let files: Vec<Vec<u8>> = std::fs::read_dir(root().join("fixtures/files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(files.len() > 20, "the fixtures are missing");
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0],
        vec![0xff; 64],
        b"3, 1:9:2, ...".to_vec(),
        (0..=255u8).collect(),
    ];
    // bodies that take a selector byte see the files behind one
    for f in files.iter().take(8) {
        let mut v = vec![2u8, 40];
        v.extend_from_slice(&f[..f.len().min(4096)]);
        inputs.push(v);
    }
    for (name, body) in h5_fuzz::TARGETS {
        for input in inputs
            .iter()
            .chain(if *name == "open_walk" || *name == "edit" {
                files.iter()
            } else {
                [].iter()
            })
        {
            body(input);
        }
    }
}

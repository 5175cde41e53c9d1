//! `h5 dump --json` on damaged files (issue 8): every fixture truncated and bit-flipped,
//! each dump run under a 1 GiB address-space cap — far below the default `Limits` (16 GiB of
//! data), so a size taken from the file without a check aborts the process — and a 20 s
//! deadline. Every run must end with exit 0 or 1 (a clean error on stderr), never a signal,
//! an abort or a hang. The library-level read and edit paths have the same harness in
//! crates/h5/tests/bad_input.rs. Needs util-linux's `prlimit`.
#![cfg(target_os = "linux")]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "../../h5/tests/common/damage.rs"]
mod damage;
use damage::{fixture_files, read_fixture, Rng};

/// Truncations and flips of one file: (label, damaged bytes).
fn damaged(bytes: &[u8], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let len = bytes.len();
    let mut v = Vec::new();
    for i in [0, 1, 2, 3, 5, 8, 12, 16, 19] {
        let n = len * i / 20;
        v.push((format!("truncated to {n}"), bytes[..n].to_vec()));
    }
    for _ in 0..30 {
        let mut b = bytes.to_vec();
        let mut what = Vec::new();
        for _ in 0..1 + rng.next() % 4 {
            let p = rng.offset(len);
            let x = rng.flip();
            b[p] ^= x;
            what.push(format!("{p}^{x:#04x}"));
        }
        v.push((format!("flipped {}", what.join(",")), b));
    }
    v
}

#[test]
fn damaged_files_dump_cleanly_under_a_memory_cap() {
    let files = fixture_files();
    let work = std::env::temp_dir().join(format!("h5-bad-dump-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut runs, mut errors) = (0usize, 0usize);
    let mut problems = Vec::new();
    for file in &files {
        let (name, bytes) = read_fixture(file);
        for (label, b) in damaged(&bytes, &mut rng) {
            let path = work.join("case.h5");
            std::fs::write(&path, &b).unwrap();
            let mut child =
                common::h5_under_memory_cap(1 << 30, &["dump", "--json"], &path, Stdio::null());
            let start = Instant::now();
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break Some(s);
                }
                if start.elapsed() > Duration::from_secs(20) {
                    child.kill().ok();
                    child.wait().ok();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            runs += 1;
            match status.and_then(|s| s.code()) {
                Some(0) => {}
                Some(1) if !err.trim().is_empty() => errors += 1,
                None if status.is_none() => problems.push(format!("{name} {label}: hang")),
                other => problems.push(format!(
                    "{name} {label}: exit {other:?} ({})",
                    err.lines().last().unwrap_or("")
                )),
            }
        }
    }
    std::fs::remove_dir_all(&work).ok();
    assert!(
        problems.is_empty(),
        "{} of {runs} damaged dumps went wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        errors > runs / 10,
        "only {errors} of {runs} damaged files gave errors"
    );
    eprintln!("{runs} damaged dumps: {errors} clean errors, the rest dumped");
}

//! `h5 dump --json` on damaged files (issue 8): every fixture truncated and bit-flipped,
//! each dump run under a 1 GiB address-space cap — far below the default `Limits` (16 GiB of
//! data), so a size taken from the file without a check aborts the process — and a 20 s
//! deadline. Every run must end with exit 0 or 1 (a clean error on stderr), never a signal,
//! an abort or a hang. The library-level read and edit paths have the same harness in
//! crates/h5/tests/bad_input.rs. Needs util-linux's `prlimit`.
#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A deterministic generator (xorshift) so failures can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

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
            let p = (rng.next() % len as u64) as usize;
            let x = (rng.next() % 255 + 1) as u8;
            b[p] ^= x;
            what.push(format!("{p}^{x:#04x}"));
        }
        v.push((format!("flipped {}", what.join(",")), b));
    }
    v
}

#[test]
fn damaged_files_dump_cleanly_under_a_memory_cap() {
    let dir = common::root().join("fixtures/files");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/files")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    let work = std::env::temp_dir().join(format!("h5-bad-dump-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut runs, mut errors) = (0usize, 0usize);
    let mut problems = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (label, b) in damaged(&bytes, &mut rng) {
            let path = work.join("case.h5");
            std::fs::write(&path, &b).unwrap();
            let mut child = Command::new("prlimit")
                .arg(format!("--as={}", 1u64 << 30))
                .arg(env!("CARGO_BIN_EXE_h5"))
                .args(["dump", "--json"])
                .arg(&path)
                .env("MALLOC_ARENA_MAX", "2")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run prlimit (util-linux) with h5");
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

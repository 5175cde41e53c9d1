//! Running the tools the tests judge files with (Python with h5py, h5clear, cargo, …);
//! shared by the h5 and h5-cli tests.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Run `cmd` to its end: it must start (`what` names it, and how to get it where that helps)
/// and succeed, or the test fails with its stderr. Its output.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} not runnable: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

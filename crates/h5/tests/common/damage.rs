//! What the bad-input harnesses share (crates/h5/tests/bad_input.rs for the library,
//! crates/h5-cli/tests/bad_input_dump.rs for `h5 dump`): the fixtures they damage and the
//! deterministic generator that picks the damage.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A deterministic generator (xorshift) so failures can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A random byte to XOR with: never 0, so it always changes the byte.
    pub fn flip(&mut self) -> u8 {
        (self.next() % 255 + 1) as u8
    }

    /// A random offset below `len`.
    pub fn offset(&mut self, len: usize) -> usize {
        (self.next() % len as u64) as usize
    }
}

/// Every fixture file (fixtures/files/*.h5), sorted; at least 40 of them.
pub fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/files");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/files")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    files
}

/// A fixture's file name and bytes.
pub fn read_fixture(path: &Path) -> (String, Vec<u8>) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, std::fs::read(path).unwrap())
}

//! The benchmark's quick mode, as CI runs it: every workload at small sizes, with h5 and
//! with h5py, each result checked — h5py reads back what h5 wrote, and h5 reads what h5py
//! wrote — so a fast path that gets the data wrong fails here. No timing is judged.
use std::process::Command;

#[test]
fn quick_mode_agrees_with_h5py_on_every_workload() {
    let dir = std::env::temp_dir().join(format!("h5-bench-quick-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_h5-bench"))
        .arg("--quick")
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run h5-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "h5-bench --quick failed (it needs the venv with h5py: README):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("checked: every workload's data equal between h5 and h5py"),
        "{stdout}"
    );
    for w in [
        "W1", "W2", "W3", "W4", "W5", "W6", "W7a", "W7b", "W8a", "W8b", "W9a", "W9b", "W10",
        "W11a", "W11b", "W12-1", "W12-2", "W12-4", "W13",
    ] {
        assert!(
            stdout.contains(&format!("| {w} |")),
            "no row for {w}:\n{stdout}"
        );
    }
    // the filter table: every filter written by both (where h5 writes it) and read by both
    for f in [
        "gzip 4",
        "LZF",
        "szip nn, 8 pixels/block",
        "scale-offset, automatic bits",
        "n-bit (the movie as a 12-bit integer)",
        "LZ4",
        "zstd 3",
        "bzip2 9",
        "bitshuffle + LZ4",
        "Blosc lz4 5, byte shuffle",
        "Blosc blosclz 5, byte shuffle",
        "Blosc zstd 5, bit shuffle",
        "Blosc2 blosclz 5, shuffle",
        "Blosc2 lz4 5, shuffle",
        "ZFP rate 16 (the movie as f32)",
    ] {
        assert!(
            stdout.contains(&format!("| {f} |")),
            "no filter row for {f}:\n{stdout}"
        );
    }
}

//! A writing process killed (SIGKILL) at many moments leaves a file that h5py opens, holding
//! everything flushed before the kill. Every other case writes libver latest (v2 headers,
//! dense links, an extensible array chunk index); those files keep the superblock's "open for
//! write" flags a killed writer leaves, and are cleared with h5clear first, as libhdf5's are.
#![cfg(unix)]

mod common;
use common::{examples_dir, python};

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn killed_writers_leave_everything_flushed() {
    let bin = examples_dir().join("durability_writer");
    let py = python();
    let dir = std::env::temp_dir().join(format!("h5-durability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Kill after the k-th flush plus a delay that varies: mid-write of later objects.
    let plan: Vec<(usize, u64)> = (0..48)
        .map(|n| (1 + (n * 5) % 13, (n as u64 * 13) % 37))
        .collect();
    for (case, (after_flushes, delay_ms)) in plan.into_iter().enumerate() {
        let path = dir.join(format!("killed{case}.h5"));
        let profile = if case % 2 == 1 { "latest" } else { "earliest" };
        let mut child = Command::new(&bin)
            .arg(&path)
            .arg(profile)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut durable = 0u64;
        for _ in 0..after_flushes {
            let line = lines.next().expect("writer ended early").unwrap();
            durable = line.strip_prefix("flushed ").unwrap().parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Later flushes may have completed before the kill: count them too.
        for line in lines.map_while(|l| l.ok()) {
            if let Some(n) = line.strip_prefix("flushed ") {
                durable = n.parse().unwrap();
            }
        }
        if profile == "latest" {
            // a writer killed with the file open leaves libhdf5's "open for write" flags set
            // (superblock v3), as libhdf5's own writers do: h5py refuses the file until
            // h5clear clears them
            common::run_ok(
                Command::new("h5clear").arg("-s").arg(&path),
                &format!("h5clear -s on case {case} (hdf5-tools: `bash .ci/run` installs them)"),
            );
        }
        let check = format!(
            r#"
import h5py, numpy as np
with h5py.File({p:?}, 'r') as f:
    for i in range({n}):
        d = f[f'g{{i % 7}}/d{{i}}']
        assert np.array_equal(d[()], i * 1000 + np.arange(100 + i)), i
        assert d.attrs['i'] == i
        assert f'm{{i:05}}' in f['many']
        if i % 3 == 0:
            assert np.array_equal(f[f'c{{i}}'][()], np.full(64, i, 'f4'))
    list(f['many'].keys())
    log = f['log'][()]
    assert len(log) >= 3 * {n} and np.array_equal(log[:3 * {n}], np.arange(3 * {n})), log[:3 * {n}]
print('ok')
"#,
            p = path.to_str().unwrap(),
            n = durable
        );
        let out = Command::new(&py).arg("-c").arg(check).output().unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
            "case {case} ({profile}): killed after {durable} durable objects (+{delay_ms} ms): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

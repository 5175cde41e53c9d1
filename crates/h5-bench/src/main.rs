//! `h5-bench`: every workload of BENCHMARKS.md run with h5 and with h5py in the same run —
//! interleaved, each run in a fresh process, best of N — printing seconds, the ratio, peak RSS
//! and file sizes, and checking that both libraries read and wrote the same data.
//!
//! ```text
//! cargo run --release -p h5-bench -- --compare h5py        the table (BENCHMARKS.md)
//! cargo run --release -p h5-bench -- --quick               small sizes; every result checked
//! ```
//! Each run is a child process: `h5-bench child W DIR OUT` for h5, `h5py_bench.py run W DIR OUT`
//! for h5py. A child loads its inputs untimed, times the workload (open to close), and prints
//! one JSON line: seconds, peak RSS, and the digest of what it read.
mod sizes;
mod workloads;

use clap::Parser;
use serde_json::Value;
use sizes::Sizes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type R<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "h5 beside h5py, workload by workload")]
struct Args {
    /// Run h5py beside h5 (the only peer so far).
    #[arg(long, value_parser = ["h5py"])]
    compare: Option<String>,
    /// Small sizes, one run, every result checked against h5py (what CI runs).
    #[arg(long)]
    quick: bool,
    /// Runs per workload and library; the best counts.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these workloads (comma-separated, e.g. W1,W2,W12-2; a trailing `*` matches a
    /// prefix: `F-*` is the filter table, `F-blosc*` its Blosc rows).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where inputs and outputs go (default: target/h5-bench/{full,quick}).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The Python with h5py (default: the project's .venv).
    #[arg(long)]
    python: Option<PathBuf>,
    /// (internal) run one workload with h5 in this process: W DIR OUT.
    #[arg(long, num_args = 3, value_names = ["W", "DIR", "OUT"], hide = true)]
    child: Option<Vec<String>>,
}

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.child {
        Some(c) => child(&c[0], Path::new(&c[1]), Path::new(&c[2])),
        None => drive(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h5-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One timed run of `w` with h5, in this (fresh) process.
fn child(w: &str, dir: &Path, out: &Path) -> R<()> {
    let s = Sizes::load(dir)?;
    let timed = workloads::setup(w, &s, dir, out)?;
    let t = std::time::Instant::now();
    let digest = timed()?;
    let secs = t.elapsed().as_secs_f64();
    // the peak before the digest: the workload's own memory
    let rss_kib = peak_rss_kib();
    let digest = digest.map(|d| d());
    let out = serde_json::json!({"secs": secs, "rss_kib": rss_kib, "digest": digest});
    println!("{out}");
    Ok(())
}

/// This process's peak resident set (Linux's VmHWM), in KiB; 0 where there is none.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[derive(Debug, Default, Clone)]
struct Best {
    secs: Option<f64>,
    rss_kib: u64,
    file_bytes: u64,
    digest: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    H5,
    H5py,
}

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::H5 => "h5",
            Lib::H5py => "h5py",
        }
    }
}

struct Driver {
    python: PathBuf,
    script: PathBuf,
    exe: PathBuf,
    dir: PathBuf,
}

impl Driver {
    fn run(&self, lib: Lib, w: &str) -> R<(Value, PathBuf)> {
        let out = self.dir.join("out").join(format!("{}_{w}.h5", lib.name()));
        let _ = std::fs::remove_file(&out);
        let mut cmd = match lib {
            Lib::H5 => {
                let mut c = Command::new(&self.exe);
                c.arg("--child");
                // W12 measures threads the caller starts: h5's own decode pool stays out of it
                if w.starts_with("W12") {
                    c.env("RAYON_NUM_THREADS", "1");
                }
                c
            }
            Lib::H5py => {
                let mut c = Command::new(&self.python);
                c.arg(&self.script).arg("run");
                c
            }
        };
        let text = stdout_of(cmd.arg(w).arg(&self.dir).arg(&out), || {
            format!("{} {w} failed", lib.name())
        })?;
        let last = text.lines().last().ok_or("child printed nothing")?;
        Ok((serde_json::from_str(last)?, out))
    }

    /// What h5py reads from the file a write workload made.
    fn h5py_digest(&self, w: &str, file: &Path) -> R<String> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script)
            .args(["digest", w])
            .arg(&self.dir)
            .arg(file);
        let text = stdout_of(&mut cmd, || {
            format!("h5py could not read {} ({w})", file.display())
        })?;
        Ok(text.trim().to_string())
    }

    fn python_says(&self, code: &str) -> String {
        Command::new(&self.python)
            .args(["-c", code])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }
}

/// What `cmd` prints; its stderr in the error when it fails.
fn stdout_of(cmd: &mut Command, what: impl FnOnce() -> String) -> R<String> {
    let o = cmd.output()?;
    if !o.status.success() {
        let why = String::from_utf8_lossy(&o.stderr);
        return Err(format!("{}: {}", what(), why.trim()).into());
    }
    Ok(String::from_utf8(o.stdout)?)
}

fn drive(args: &Args) -> R<()> {
    let quick = args.quick;
    let sizes = if quick { Sizes::quick() } else { Sizes::full() };
    let dir = args.dir.clone().unwrap_or_else(|| {
        Path::new(ROOT)
            .join("target/h5-bench")
            .join(if quick { "quick" } else { "full" })
    });
    let python = args.python.clone().unwrap_or_else(|| {
        let venv = Path::new(ROOT).join(".venv/bin/python");
        if venv.exists() {
            venv
        } else {
            "python3".into()
        }
    });
    let d = Driver {
        python,
        script: Path::new(env!("CARGO_MANIFEST_DIR")).join("h5py_bench.py"),
        exe: std::env::current_exe()?,
        dir: dir.clone(),
    };
    if d.python_says("import h5py; print('ok')") != "ok" {
        return Err(format!(
            "{} cannot import h5py, which writes the reference files (README: set up the venv)",
            d.python.display()
        )
        .into());
    }
    if !sizes.prepared(&dir) {
        eprintln!("preparing inputs in {} …", dir.display());
        sizes.write_inputs(&dir)?;
        let o = Command::new(&d.python)
            .arg(&d.script)
            .arg("prepare")
            .arg(&dir)
            .status()?;
        if !o.success() {
            let _ = std::fs::remove_file(dir.join("sizes.json"));
            return Err("h5py_bench.py prepare failed".into());
        }
    }
    std::fs::create_dir_all(dir.join("out"))?;
    let compare = quick || args.compare.is_some();
    let runs = if quick { 1 } else { args.runs.max(1) };
    let all = workloads::all();
    let picked = |w: &str, o: &str| match o.strip_suffix('*') {
        Some(prefix) => w.starts_with(prefix),
        None => w == o,
    };
    let chosen: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|w| args.only.is_empty() || args.only.iter().any(|o| picked(w, o)))
        .collect();
    if chosen.is_empty() {
        return Err(format!("--only names none of {all:?}").into());
    }
    let libs: &[Lib] = if compare {
        &[Lib::H5, Lib::H5py]
    } else {
        &[Lib::H5]
    };
    let mut best: BTreeMap<(&str, &str), Best> = BTreeMap::new();
    let mut failures = Vec::new();
    for run in 0..runs {
        for &w in &chosen {
            // interleave, and alternate who goes first
            let order: Vec<Lib> = if run % 2 == 0 {
                libs.to_vec()
            } else {
                libs.iter().rev().copied().collect()
            };
            for lib in order {
                let (v, out) = d.run(lib, w)?;
                let b = best.entry((w, lib.name())).or_default();
                let secs = v["secs"].as_f64().ok_or("child gave no seconds")?;
                b.secs = Some(b.secs.map_or(secs, |s: f64| s.min(secs)));
                b.rss_kib = b.rss_kib.max(v["rss_kib"].as_u64().unwrap_or(0));
                if workloads::writes(w) {
                    b.file_bytes = std::fs::metadata(&out)?.len();
                    // h5py reads what each library wrote (every file in quick mode)
                    if run == 0 || quick {
                        b.digest = Some(d.h5py_digest(w, &out)?);
                    }
                } else {
                    b.digest = v["digest"].as_str().map(str::to_string);
                }
            }
            if compare && run == 0 {
                let (a, b) = (&best[&(w, "h5")].digest, &best[&(w, "h5py")].digest);
                if a != b || a.is_none() {
                    failures.push(format!("{w}: h5 gives {a:?}, h5py {b:?}"));
                }
            }
        }
        eprintln!("run {}/{runs} done", run + 1);
    }
    print_table(&d, &sizes, &chosen, &best, compare, runs);
    if failures.is_empty() {
        if compare {
            println!("\nchecked: every workload's data equal between h5 and h5py");
        }
        Ok(())
    } else {
        Err(format!("results differ:\n  {}", failures.join("\n  ")).into())
    }
}

fn goal(w: &str) -> &'static str {
    match w {
        "W1" | "W2" | "W11a" | "W11b" | "W13" => "≤ 1.0",
        "W3" | "W4" => "≤ 0.45",
        "W5" | "W6" => "≤ 0.3",
        "W7a" => "≤ 0.04",
        "W7b" => "≤ 0.02",
        "W8a" => "≤ 0.5",
        "W8b" => "≤ 0.4",
        "W9a" => "≤ 0.03",
        "W9b" => "≤ 0.01",
        "W10" => "≤ 0.08",
        "W12-2" => "h5 1→2 threads ≥ 1.8×",
        _ => "",
    }
}

fn print_table(
    d: &Driver,
    s: &Sizes,
    chosen: &[&str],
    best: &BTreeMap<(&str, &str), Best>,
    compare: bool,
    runs: usize,
) {
    let mib = |k: u64| format!("{:.0}", k as f64 / 1024.0);
    let file_mib = |b: u64| {
        if b == 0 {
            "".to_string()
        } else {
            format!("{:.2}", b as f64 / (1 << 20) as f64)
        }
    };
    println!(
        "h5-bench: {} sizes, best of {runs} run(s) in fresh processes; {}; {}",
        if s == &Sizes::quick() {
            "quick"
        } else {
            "full"
        },
        d.python_says(
            "import h5py; print('h5py', h5py.__version__, 'libhdf5', h5py.version.hdf5_version)"
        ),
        machine()
    );
    println!();
    println!("| workload | what | h5py s | h5 s | h5 / h5py | goal | h5 peak RSS MiB | h5py peak RSS MiB | h5 file MiB | h5py file MiB |");
    println!("|---|---|---:|---:|---:|---|---:|---:|---:|---:|");
    for &w in chosen.iter().filter(|w| !w.starts_with("F-")) {
        let h = best.get(&(w, "h5")).cloned().unwrap_or_default();
        let p = best.get(&(w, "h5py")).cloned().unwrap_or_default();
        let secs = |b: &Best| b.secs.map_or(String::new(), |s| format!("{s:.3}"));
        let ratio = match (h.secs, p.secs) {
            (Some(a), Some(b)) if compare && b > 0.0 => format!("**{:.2}**", a / b),
            _ => String::new(),
        };
        println!(
            "| {w} | {} | {} | {} | {ratio} | {} | {} | {} | {} | {} |",
            workloads::describe(w, s),
            secs(&p),
            secs(&h),
            goal(w),
            mib(h.rss_kib),
            if compare {
                mib(p.rss_kib)
            } else {
                String::new()
            },
            file_mib(h.file_bytes),
            file_mib(p.file_bytes),
        );
    }
    let scale = |lib: &str| -> Option<f64> {
        Some(best.get(&("W12-1", lib))?.secs? / best.get(&("W12-2", lib))?.secs?)
    };
    if let Some(h) = scale("h5") {
        let p = scale("h5py").map_or(String::new(), |p| format!(", h5py {p:.2}×"));
        println!("\nW12 throughput from 1 to 2 threads: h5 {h:.2}×{p}");
    }
    print_filter_table(s, chosen, best, compare);
}

/// Each filter's encode and decode throughput (the uncompressed MiB through the whole write or
/// read, open to close), h5 beside h5py + hdf5plugin, and the compression ratio each got.
fn print_filter_table(
    s: &Sizes,
    chosen: &[&str],
    best: &BTreeMap<(&str, &str), Best>,
    compare: bool,
) {
    let cases: Vec<&workloads::FilterCase> = workloads::FILTERS
        .iter()
        .filter(|c| {
            chosen
                .iter()
                .any(|w| workloads::filter_case(w).is_some_and(|(x, _)| x.key == c.key))
        })
        .collect();
    if cases.is_empty() {
        return;
    }
    let [_, h, w] = s.movie;
    let elements = s.filter_frames * h * w;
    println!();
    println!(
        "Filters: {} frames of the movie ({elements} values, chunks (1,{h},{w})), one filter each; MiB/s of uncompressed data, open to close",
        s.filter_frames
    );
    println!();
    println!("| filter | h5py write MiB/s | h5 write MiB/s | h5 / h5py time | h5py read MiB/s | h5 read MiB/s | h5 / h5py time | h5py ratio | h5 ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let get = |w: &str, lib: &str| {
        best.iter()
            .find(|((a, b), _)| *a == w && *b == lib)
            .map(|(_, v)| v.clone())
    };
    for c in cases {
        let bytes = elements * c.stored.value_bytes();
        let mib = bytes as f64 / (1 << 20) as f64;
        let rate = |b: &Option<Best>| {
            b.as_ref()
                .and_then(|b| b.secs)
                .map_or(String::new(), |t| format!("{:.0}", mib / t))
        };
        let ratio = |a: &Option<Best>, b: &Option<Best>| match (
            a.as_ref().and_then(|x| x.secs),
            b.as_ref().and_then(|x| x.secs),
        ) {
            (Some(x), Some(y)) if compare && y > 0.0 => format!("**{:.2}**", x / y),
            _ => String::new(),
        };
        let packed = |b: &Option<Best>| {
            b.as_ref()
                .filter(|b| b.file_bytes > 0)
                .map_or(String::new(), |b| {
                    format!("{:.2}", bytes as f64 / b.file_bytes as f64)
                })
        };
        let (ww, rw) = (format!("F-{}-w", c.key), format!("F-{}-r", c.key));
        let (hw, pw) = (get(&ww, "h5"), get(&ww, "h5py"));
        let (hr, pr) = (get(&rw, "h5"), get(&rw, "h5py"));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.what,
            rate(&pw),
            rate(&hw),
            ratio(&hw, &pw),
            rate(&pr),
            rate(&hr),
            ratio(&hr, &pr),
            packed(&pw),
            packed(&hw),
        );
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("model name"))?;
            Some(l.split(':').nth(1)?.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

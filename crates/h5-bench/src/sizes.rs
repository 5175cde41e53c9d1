//! The workloads' sizes (full and quick) and their deterministic inputs, written once per
//! size as raw little-endian files that both libraries load untimed.
use serde_json::json;
use std::path::Path;

type R<T> = Result<T, Box<dyn std::error::Error>>;

/// Every size the workloads use; `sizes.json` carries it to the Python side.
#[derive(Clone, Debug, PartialEq)]
pub struct Sizes {
    /// W1/W2/W10: f64 elements.
    pub w1_n: u64,
    /// W3–W5, W8, W12: the u16 movie (frames, height, width).
    pub movie: [u64; 3],
    /// W5: [start, end) per axis.
    pub crop: [[u64; 2]; 3],
    /// W6: frames appended, and each frame's shape.
    pub append_frames: u64,
    /// W6: a frame's shape.
    pub frame: [u64; 2],
    /// W7: groups × subgroups.
    pub groups: [u64; 2],
    /// W9: datasets, and f64 elements in each.
    pub small_n: u64,
    /// W9: elements per dataset.
    pub small_len: u64,
    /// W10: single-element reads.
    pub points: u64,
    /// W11: compound rows.
    pub rows: u64,
    /// W13: f32 elements.
    pub f4_n: u64,
    /// The filter table: frames of the movie each filter compresses.
    pub filter_frames: u64,
}

impl Sizes {
    /// The sizes of the published table.
    pub fn full() -> Sizes {
        Sizes {
            w1_n: 64 << 20,
            movie: [128, 512, 512],
            crop: [[0, 128], [100, 164], [200, 264]],
            append_frames: 1000,
            frame: [64, 64],
            groups: [100, 100],
            small_n: 10_000,
            small_len: 10,
            points: 10_000,
            rows: 1_000_000,
            f4_n: 32 << 20,
            filter_frames: 32,
        }
    }

    /// Small sizes for the correctness run CI makes.
    pub fn quick() -> Sizes {
        Sizes {
            w1_n: 128 << 10,
            movie: [8, 64, 64],
            crop: [[0, 8], [10, 26], [20, 36]],
            append_frames: 50,
            frame: [16, 16],
            groups: [10, 10],
            small_n: 200,
            small_len: 10,
            points: 500,
            rows: 10_000,
            f4_n: 64 << 10,
            filter_frames: 8,
        }
    }

    /// W10's indices (h5py_bench.py's `points`).
    pub fn points(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.points).map(|k| (k * 7919 * 1009 + 17) % self.w1_n)
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "w1_n": self.w1_n, "movie": self.movie, "crop": self.crop,
            "append_frames": self.append_frames, "frame": self.frame, "groups": self.groups,
            "small_n": self.small_n, "small_len": self.small_len, "points": self.points,
            "rows": self.rows, "f4_n": self.f4_n, "filter_frames": self.filter_frames,
        })
    }

    /// Read back what [`Sizes::write_inputs`] recorded.
    pub fn load(dir: &Path) -> R<Sizes> {
        let text = std::fs::read_to_string(dir.join("sizes.json"))?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        for s in [Sizes::full(), Sizes::quick()] {
            if s.json() == v {
                return Ok(s);
            }
        }
        Err(format!(
            "{}: sizes.json is neither the full nor the quick size",
            dir.display()
        )
        .into())
    }

    /// Whether `dir` already holds this size's inputs.
    pub fn prepared(&self, dir: &Path) -> bool {
        Sizes::load(dir).is_ok_and(|s| s == *self)
            && dir.join("ref_f4.h5").exists()
            && crate::workloads::FILTERS
                .iter()
                .all(|c| dir.join(format!("ref_f_{}.h5", c.key)).exists())
    }

    /// Write the raw inputs and `sizes.json` into `dir` (sizes.json last).
    pub fn write_inputs(&self, dir: &Path) -> R<()> {
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_file(dir.join("sizes.json"));
        let mut rng = Lcg(0x5eed);
        let f64s: Vec<f64> = (0..self.w1_n).map(|_| rng.unit() * 4.0 - 2.0).collect();
        write(dir, "f64.bin", &f64s)?;
        let [t, h, w] = self.movie;
        // a smooth scene that drifts, plus sensor noise: compresses as camera frames do
        let mut movie = Vec::with_capacity((t * h * w) as usize);
        for k in 0..t {
            for y in 0..h {
                for x in 0..w {
                    let scene = ((x + 2 * k) as f64 / 37.0).sin() * ((y + k) as f64 / 53.0).cos();
                    movie.push((1000.0 + 400.0 * scene) as u16 + (rng.next() % 64) as u16);
                }
            }
        }
        write(dir, "movie.bin", &movie)?;
        let frames: Vec<f32> = (0..self.append_frames * self.frame[0] * self.frame[1])
            .map(|i| (i % 1021) as f32 * 0.25)
            .collect();
        write(dir, "frames.bin", &frames)?;
        let mut rows = Vec::with_capacity(self.rows as usize * 28);
        for i in 0..self.rows {
            rows.extend_from_slice(&(i as i32).to_le_bytes());
            rows.extend_from_slice(&(i as f64 * 0.25).to_le_bytes());
            let mut name = [0u8; 16];
            let text = format!("row-{i}");
            name[..text.len()].copy_from_slice(text.as_bytes());
            rows.extend_from_slice(&name);
        }
        std::fs::write(dir.join("rows.bin"), rows)?;
        let f4: Vec<f32> = (0..self.f4_n).map(|_| rng.unit() as f32 * 100.0).collect();
        write(dir, "f4.bin", &f4)?;
        std::fs::write(dir.join("sizes.json"), self.json().to_string())?;
        Ok(())
    }
}

fn write<T: bytemuck::NoUninit>(dir: &Path, name: &str, v: &[T]) -> R<()> {
    Ok(std::fs::write(dir.join(name), bytemuck::cast_slice(v))?)
}

/// A 64-bit LCG (Knuth's MMIX constants): the same inputs on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

//! The article's "Basic Saving and Reading Data", in Rust:
//! `cargo run --example article_basic -- OUTDIR`.
use h5::{File, Selection};
use ndarray::Array1;

/// A deterministic stand-in for `np.random.randn`.
fn randn(n: usize, seed: u64) -> Array1<f64> {
    let mut s = seed;
    Array1::from_iter((0..n).map(|_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 4.0
    }))
}

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let path = std::path::Path::new(&dir).join("random.hdf5");
    let arr = randn(1000, 1);
    {
        // with h5py.File('random.hdf5', 'w') as f: f.create_dataset("default", data=arr)
        let f = File::create(&path)?;
        f.root()?.create_dataset("default", &arr)?;
        f.close()?;
    }
    // with h5py.File('random.hdf5', 'r') as f: data = f['default']; min, max, data[:15]
    let f = File::open(&path)?;
    let data = f.dataset("default")?;
    let all: Vec<f64> = data.read_vec()?;
    let min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let max = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let first: ndarray::ArrayD<f64> = data.read_slice(&Selection::parse(":15")?)?;
    println!("min {min} max {max}\nfirst 15: {first}");
    for key in f.root()?.member_names()? {
        println!("{key}");
    }
    Ok(())
}

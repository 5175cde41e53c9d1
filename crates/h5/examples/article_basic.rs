//! The article's "Basic Saving and Reading Data", in Rust:
//! `cargo run --example article_basic -- OUTDIR`.
use h5::File;

fn main() -> h5::Result<()> {
    let path =
        std::path::Path::new(&std::env::args().nth(1).unwrap_or(".".into())).join("random.hdf5");
    // arr = np.random.randn(1000), deterministic here
    let mut s = 1u64;
    let arr: Vec<f64> = (0..1000)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 4.0
        })
        .collect();
    // with h5py.File('random.hdf5', 'w') as f: f.create_dataset("default", data=arr)
    File::create(&path)?.create_dataset("default", &arr)?;
    // with h5py.File('random.hdf5', 'r') as f: data = f['default']; min, max, data[:15]
    let f = File::open(&path)?;
    let data = f.dataset("default")?.read::<f64>()?;
    let (min, max) = data.fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    println!(
        "min {min} max {max}\nfirst 15: {}",
        f.dataset("default")?.read_slice::<f64>(..15)?
    );
    for key in f.member_names()? {
        println!("{key}");
    }
    Ok(())
}

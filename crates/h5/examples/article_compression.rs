//! The article's "Compressing Data": `cargo run --example article_compression -- OUTDIR`.
use h5::{types, File, H5Type};

fn main() -> h5::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    // np.random.randn(100000), deterministic here
    let arr: Vec<f64> = (0..100_000)
        .map(|i| ((i * 7919) % 1000) as f64 / 100.0 - 5.0)
        .collect();
    for level in [9u8, 4] {
        for (name, dtype) in [
            ("integer_1", i8::datatype()),
            ("integer_8", i64::datatype()),
            ("float", types::long_double()),
        ] {
            // f.create_dataset('dataset', (100000,), dtype=..., compression="gzip", compression_opts=level)
            let path = dir.join(format!("{name}_compr{level}.hdf5"));
            let f = File::create(&path)?;
            let d = f
                .new_dataset_of(dtype)
                .shape(&[100_000])
                .deflate(level)
                .create("dataset")?;
            d.write(&arr)?; // d[:] = arr
            f.close()?;
            println!(
                "{name} gzip {level}: {} bytes",
                std::fs::metadata(&path)?.len()
            );
        }
    }
    Ok(())
}

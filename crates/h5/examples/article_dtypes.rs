//! The article's "Specify Data Types to Optimize Space":
//! `cargo run --example article_dtypes -- OUTDIR`.
use h5::{num_complex::Complex, types, File, H5Type};

fn main() -> h5::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let f = File::create(dir.join("several_datasets.hdf5"))?;
    let int1 = f.new_dataset::<i8>().shape(&[10]).create("integers")?;
    let int8 = f.new_dataset::<i64>().shape(&[10]).create("integers8")?;
    let complex = f
        .new_dataset::<Complex<f64>>()
        .shape(&[10])
        .create("complex")?;
    int1.write_slice(0, 1200)?; // stored as 127
    int8.write_slice(0, 1200.1)?; // stored as 1200
    complex.write_slice(0, Complex::new(3.0, 4.0))?; // 3 + 4j
    f.close()?;
    // The size table: 100 000 values as i1, i8 and f16 (long double).
    let arr: Vec<f64> = (0..100_000)
        .map(|i| ((i * 7919) % 1000) as f64 / 100.0 - 5.0)
        .collect();
    for (name, dtype) in [
        ("integer_1.hdf5", i8::datatype()),
        ("integer_8.hdf5", i64::datatype()),
        ("float.hdf5", types::long_double()),
    ] {
        let f = File::create(dir.join(name))?;
        f.new_dataset_of(dtype)
            .shape(&[100_000])
            .create("dataset")?
            .write(&arr)?;
        f.close()?;
        println!("{name}: {} bytes", std::fs::metadata(dir.join(name))?.len());
    }
    Ok(())
}

//! The article's "Specify Data Types to Optimize Space":
//! `cargo run --example article_dtypes -- OUTDIR`.
use h5::{types, File, H5Type, Selection, Value};
use std::path::Path;

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let dir = Path::new(&dir);
    {
        let f = File::create(dir.join("several_datasets.hdf5"))?;
        let root = f.root()?;
        let int1 = root.new_dataset::<i8>().shape(&[10]).create("integers")?;
        let int8 = root.new_dataset::<i64>().shape(&[10]).create("integers8")?;
        let complex = root
            .new_dataset_of(types::complex128())
            .shape(&[10])
            .create("complex")?;
        int1.write_slice(&Selection::parse("0")?, &[1200i32])?; // stored as 127
        int8.write_slice(&Selection::parse("0")?, &[1200.1f64])?; // stored as 1200
        complex.write_values(&Selection::parse("0")?, &[Value::Complex(3.0, 4.0)])?; // 3 + 4j
        f.close()?;
    }
    // The size table: 100 000 values as i1, i8 and f16 (long double).
    let arr: Vec<f64> = (0..100_000)
        .map(|i| ((i * 7919) % 1000) as f64 / 100.0 - 5.0)
        .collect();
    for (name, dtype) in [
        ("integer_1.hdf5", <i8 as H5Type>::datatype()),
        ("integer_8.hdf5", <i64 as H5Type>::datatype()),
        ("float.hdf5", types::long_double()),
    ] {
        let path = dir.join(name);
        let f = File::create(&path)?;
        let d = f
            .root()?
            .new_dataset_of(dtype)
            .shape(&[100_000])
            .create("dataset")?;
        d.write_slice(&Selection::All, &arr)?;
        f.close()?;
        println!("{name}: {} bytes", std::fs::metadata(&path)?.len());
    }
    Ok(())
}

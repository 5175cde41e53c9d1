//! The article's "Resizing Datasets": `cargo run --example article_resize -- OUTDIR`.
use h5::{ndarray::Array2, File};

fn main() -> h5::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let path = dir.join("resize_dataset.hdf5");
    let batch = |k: usize| -> Vec<f32> { (0..100).map(|i| (k * 100 + i) as f32 / 8.0).collect() };
    // d = f.create_dataset('dataset', (100,), maxshape=(500,)); d[:100] = …; d.resize((200,)); d[100:200] = …
    let f = File::create(&path)?;
    let mut d = f
        .new_dataset::<f32>()
        .shape(&[100])
        .maxshape(&[Some(500)])
        .create("dataset")?;
    d.write_slice(..100, batch(0))?;
    d.resize(&[200])?;
    d.write_slice(100..200, batch(1))?;
    f.close()?;
    // with h5py.File('resize_dataset.hdf5', 'a'): resize to 300, dset[:200] = 0, dset[200:300] = …
    let f = File::append(&path)?;
    let mut d = f.dataset("dataset")?;
    d.resize(&[300])?;
    d.write_slice(..200, 0.0)?;
    d.write_slice(200..300, batch(2))?;
    f.close()?;
    let v = File::open(&path)?.dataset("dataset")?.read_vec::<f32>()?;
    println!("{} {} {}", v[99], v[199], v[299]);
    // A movie of unknown length: (1024, 1024, 1) frames, unlimited along the third axis.
    let f = File::create(dir.join("movie_dataset.hdf5"))?;
    let shape = [Some(1024), Some(1024), None];
    let mut d = f
        .new_dataset::<f32>()
        .shape(&[1024, 1024, 1])
        .maxshape(&shape)
        .create("dataset")?;
    let frame = |k| {
        Array2::from_shape_fn((1024, 1024), |(i, j)| {
            (((i * 1024 + j) * 31 + k) % 251) as f32
        })
    };
    d.write_slice((.., .., 0), frame(0))?;
    d.resize(&[1024, 1024, 2])?;
    d.write_slice((.., .., 1), frame(1))?;
    f.close()
}

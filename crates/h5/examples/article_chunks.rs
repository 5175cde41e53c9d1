//! The article's "Save Data in Chunks": `cargo run --example article_chunks -- OUTDIR`.
use h5::{ndarray::Array2, File};

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let f = File::create(std::path::Path::new(&dir).join("chunks.hdf5"))?;
    let data = Array2::from_shape_fn((1000, 1000), |(i, j)| (i * 1000 + j) as f32);
    // dset = f.create_dataset("chunked", (1000, 1000), chunks=(100, 100)); dset[...] = data
    let chunked = f
        .new_dataset::<f32>()
        .shape(&[1000, 1000])
        .chunks(&[100, 100]);
    chunked.create("chunked")?.write(&data)?;
    // dset = f.create_dataset("autochunk", (1000, 1000), chunks=True)
    let auto = f
        .new_dataset::<f32>()
        .shape(&[1000, 1000])
        .auto_chunks()
        .create("autochunk")?;
    auto.write(&data)?;
    println!("autochunk chunks: {:?}", auto.chunks());
    f.close()
}

//! The article's "Selective Writing to HDF5 Files":
//! `cargo run --example article_selective_write -- OUTDIR`.
use h5::File;

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let arr: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
    let f = File::create(std::path::Path::new(&dir).join("random.hdf5"))?;
    // dset = f.create_dataset("default", (1000,)) — h5py's default dtype is float32
    let dset = f.new_dataset::<f32>().shape(&[1000]).create("default")?;
    dset.write_slice(10..20, &arr[50..60])?; // dset[10:20] = arr[50:60]
    let d2 = f
        .new_dataset::<f32>()
        .shape(&[500, 1024])
        .create("default2d")?;
    d2.write_slice((1, 2), 1)?; // dset[1,2] = 1
    d2.write_slice((200..500, 500..1024), 123)?; // dset[200:500, 500:1024] = 123
    f.close()
}

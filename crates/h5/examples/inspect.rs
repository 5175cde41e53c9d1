//! Print a dataset's datatype and the first values: `cargo run --example inspect FILE PATH`.
fn main() -> Result<(), h5::Error> {
    let args: Vec<String> = std::env::args().collect();
    let f = h5::File::open(&args[1])?;
    let ds = f.dataset(&args[2])?;
    println!("{:#?}", ds.dtype());
    let (v, shape) = ds.read_values(&h5::Selection::All)?;
    println!("shape {shape:?}: {:?}", &v[..v.len().min(6)]);
    Ok(())
}

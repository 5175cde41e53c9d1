//! Print a dataset's datatype and raw stored bytes: `cargo run --example raw FILE PATH`.
fn main() -> Result<(), h5::Error> {
    let args: Vec<String> = std::env::args().collect();
    let f = h5::File::open(&args[1])?;
    let ds = f.dataset(&args[2])?;
    println!("{:?}", ds.dtype());
    let (raw, shape) = ds.read_raw(&h5::Selection::All)?;
    println!("shape {shape:?}");
    for c in raw.chunks(ds.dtype().size() as usize).take(8) {
        println!(
            "{}",
            c.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
    Ok(())
}

//! The article's "Storing Metadata in HDF5":
//! `cargo run --example article_metadata -- OUTDIR`.
use h5::{File, Value};
use ndarray::Array1;

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let path = std::path::Path::new(&dir).join("groups.hdf5");
    let arr = Array1::from_iter((0..1000).map(|i| i as f64));
    let f = File::create(&path)?;
    let g = f.root()?.create_group("Base_Group")?;
    let d = g.create_dataset("default", &arr)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |t| t.as_secs_f64());
    g.attrs().set("Date", now)?;
    g.attrs().set_str("User", "Me")?;
    d.attrs().set_str("OS", std::env::consts::OS)?;
    for a in g.attrs().all()? {
        println!("{} => {:?}", a.name(), a.read_values()?);
    }
    // attrs.update(metadata)
    let metadata = [
        ("Date", Value::Float(now)),
        ("User", Value::Str("Me".into())),
        ("OS", Value::Str(std::env::consts::OS.into())),
    ];
    d.attrs().update(metadata)?;
    for a in d.attrs().all()? {
        println!("{} => {:?}", a.name(), a.read_values()?);
    }
    f.close()
}

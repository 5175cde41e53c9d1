//! The article's "Storing Metadata in HDF5":
//! `cargo run --example article_metadata -- OUTDIR`.
use h5::{File, Value};

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let f = File::create(std::path::Path::new(&dir).join("groups.hdf5"))?;
    let g = f.create_group("Base_Group")?;
    let d = g.create_dataset("default", (0..1000).map(f64::from).collect::<Vec<_>>())?;
    let now = std::time::UNIX_EPOCH
        .elapsed()
        .map_or(0.0, |t| t.as_secs_f64());
    g.attrs().set("Date", now)?;
    g.attrs().set("User", "Me")?;
    d.attrs().set("OS", std::env::consts::OS)?;
    for a in g.attrs().all()? {
        println!("{} => {:?}", a.name(), a.read_values()?);
    }
    // dset.attrs.update(metadata), with values known only at run time (a JSON document, say)
    let os = Value::Str(std::env::consts::OS.into());
    d.attrs().update([
        ("Date", Value::Float(now)),
        ("User", Value::Str("Me".into())),
        ("OS", os),
    ])?;
    for a in d.attrs().all()? {
        println!("{} => {:?}", a.name(), a.read_values()?);
    }
    f.close()
}

//! Writes objects to PATH forever, flushing every few, and prints `flushed N` after each flush
//! (N objects are then durable). The durability test kills it at random moments.
//! `cargo run --example durability_writer -- PATH [latest]`
use h5::{CreateOptions, File, LibVer, Selection};
use ndarray::Array1;
use std::io::Write;

fn main() -> h5::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: durability_writer PATH [latest]");
    let libver = match std::env::args().nth(2).as_deref() {
        Some("latest") => LibVer::Latest,
        _ => LibVer::Earliest,
    };
    let f = File::create_with(
        &path,
        CreateOptions {
            libver,
            ..Default::default()
        },
    )?;
    let root = f.root()?;
    let many = root.create_group("many")?;
    // An appending log: one-element chunks, so its chunk index splits often.
    let mut log = root
        .new_dataset::<i64>()
        .shape(&[0])
        .maxshape(&[None])
        .chunks(&[1])
        .create("log")?;
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let g = root.require_group(&format!("g{}", i % 7))?;
        let data = Array1::from_iter((0..100 + i).map(|k| (i * 1000 + k) as i64));
        let d = g.create_dataset(&format!("d{i}"), &data)?;
        d.attrs().set("i", i)?;
        many.create_group(&format!("m{i:05}"))?;
        if i % 3 == 0 {
            let c = root
                .new_dataset::<f32>()
                .shape(&[64])
                .chunks(&[16])
                .deflate(4)
                .create(&format!("c{i}"))?;
            c.write_slice(&Selection::All, &[i as f32])?;
        }
        let n = log.shape().map_or(0, |s| s[0]);
        log.resize(&[n + 3])?;
        let next: Vec<i64> = (n..n + 3).map(|k| k as i64).collect();
        log.write_slice(&Selection::parse(&format!("{n}:{}", n + 3))?, &next)?;
        if i % 5 == 4 {
            f.flush()?;
            writeln!(out, "flushed {}", i + 1)?;
            out.flush()?;
        }
    }
    Ok(())
}

//! The article's "Organizing Data with Groups":
//! `cargo run --example article_groups -- OUTDIR`.
use h5::{File, Node};
use std::ops::ControlFlow::{Break, Continue};

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let path = std::path::Path::new(&dir).join("groups.hdf5");
    let arr: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5 - 100.0).collect();
    {
        let f = File::create(&path)?;
        let g = f.create_group("Base_Group")?;
        g.create_dataset("default", &arr)?;
        g.create_group("Sub_Group")?
            .create_dataset("default", &arr)?;
        f.close()?;
    }
    let f = File::open(&path)?;
    let d = f.dataset("Base_Group/default")?.read_slice::<f64>(1)?;
    let dd = f
        .dataset("Base_Group/Sub_Group/default")?
        .read_slice::<f64>(1)?;
    println!("{d} {dd}");
    // f.visit(get_all): print every name
    f.visit(|name| {
        println!("{name}");
    })?;
    // f.visit(get_all) returning the first name containing Sub_Group
    let found = f.visit(|name| {
        if name.contains("Sub_Group") {
            Break(name.to_string())
        } else {
            Continue(())
        }
    })?;
    println!("found {found:?}");
    // f.visititems(get_objects): the object itself
    let group = f.visit_items(|name, node| match node {
        Node::Group(g) if name.contains("Sub_Group") => Break(g.clone()),
        _ => Continue(()),
    })?;
    if let Some(g) = group {
        println!(
            "First data element: {}",
            g.dataset("default")?.read_slice::<f64>(0)?
        );
    }
    Ok(())
}

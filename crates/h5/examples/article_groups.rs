//! The article's "Organizing Data with Groups":
//! `cargo run --example article_groups -- OUTDIR`.
use h5::{File, Node};
use ndarray::Array1;
use std::ops::ControlFlow;

fn main() -> h5::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let path = std::path::Path::new(&dir).join("groups.hdf5");
    let arr = Array1::from_iter((0..1000).map(|i| i as f64 * 0.5 - 100.0));
    {
        let f = File::create(&path)?;
        let g = f.root()?.create_group("Base_Group")?;
        let gg = g.create_group("Sub_Group")?;
        g.create_dataset("default", &arr)?;
        gg.create_dataset("default", &arr)?;
        f.close()?;
    }
    let f = File::open(&path)?;
    let root = f.root()?;
    let d: Vec<f64> = f.dataset("Base_Group/default")?.read_vec()?;
    let dd: Vec<f64> = f.dataset("Base_Group/Sub_Group/default")?.read_vec()?;
    println!("{} {}", d[1], dd[1]);
    // f.visit(get_all): print every name
    root.visit::<()>(|name| {
        println!("{name}");
        ControlFlow::Continue(())
    })?;
    // f.visit(get_all) returning the first name containing Sub_Group
    let found = root.visit(|name| {
        if name.contains("Sub_Group") {
            ControlFlow::Break(name.to_string())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    println!("found {found:?}");
    // f.visititems(get_objects): the object itself
    let group = root.visit_items(|name, node| match node {
        Node::Group(g) if name.contains("Sub_Group") => ControlFlow::Break(g.clone()),
        _ => ControlFlow::Continue(()),
    })?;
    if let Some(g) = group {
        let first: Vec<f64> = g.dataset("default")?.read_vec()?;
        println!("First data element: {}", first[0]);
    }
    Ok(())
}

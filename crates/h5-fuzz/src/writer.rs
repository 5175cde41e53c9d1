//! The structure-aware writer target: an `arbitrary` sequence of creates, writes, resizes,
//! attributes, links, deletes, flushes and reopens on an in-memory file, against a model of
//! the datasets' values; afterwards our reader must read back exactly the model. An operation
//! the writer refuses must leave the file as it was.

use arbitrary::{Arbitrary, Unstructured};
use h5::storage::VecStorage;
use h5::{CreateOptions, File, LibVer, Locking, OpenOptions, Selection, SliceArg};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Arbitrary, Debug)]
enum Op {
    Create {
        name: u8,
        dims: Vec<u8>,
        chunks: Option<Vec<u8>>,
        unlimited: bool,
        gzip: Option<u8>,
        shuffle: bool,
        fill: Option<i32>,
    },
    Write {
        name: u8,
        start: Vec<u8>,
        count: Vec<u8>,
        step: u8,
        value: i32,
    },
    Resize {
        name: u8,
        dims: Vec<u8>,
    },
    Attr {
        name: u8,
        key: u8,
        value: i64,
    },
    Group {
        name: u8,
    },
    Unlink {
        name: u8,
    },
    Flush,
    Reopen,
}

/// A dataset as the model knows it.
#[derive(Debug, Clone)]
struct Ds {
    shape: Vec<u64>,
    max: Vec<Option<u64>>,
    fill: i32,
    data: Vec<i32>,
}

fn ds_name(n: u8) -> String {
    format!("d{}", n % 4)
}

fn dims_of(v: &[u8]) -> Vec<u64> {
    v.iter().take(3).map(|&d| u64::from(d % 9)).collect()
}

fn ravel(c: &[u64], shape: &[u64]) -> usize {
    c.iter().zip(shape).fold(0, |a, (&c, &n)| a * n + c) as usize
}

fn unravel(mut i: u64, shape: &[u64]) -> Vec<u64> {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        let n = shape[d].max(1);
        c[d] = i % n;
        i /= n;
    }
    c
}

/// Run the ops; panics (the finding) when what our reader reads differs from the model.
pub fn writer(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(profile) = u.int_in_range(0u8..=3) else {
        return;
    };
    let libver = [LibVer::Earliest, LibVer::V108, LibVer::V110, LibVer::Latest][profile as usize];
    let Ok(ops) = Vec::<Op>::arbitrary(&mut u) else {
        return;
    };
    let store = Arc::new(VecStorage::default());
    let Ok(file) = File::create_on(
        store.clone(),
        CreateOptions {
            libver,
            ..Default::default()
        },
    ) else {
        return;
    };
    let mut f = Some(file);
    let mut model: BTreeMap<String, Ds> = BTreeMap::new();
    for op in ops.iter().take(64) {
        apply(&mut f, &store, &mut model, op);
    }
    f.take().expect("open file").close().expect("close");
    let back = File::from_storage(
        h5::storage::MemStorage::new(store.to_bytes()),
        OpenOptions {
            locking: Locking::Disabled,
            ..Default::default()
        },
    )
    .expect("our own file opens");
    for (name, ds) in &model {
        let d = back.dataset(name).expect("a dataset the model has");
        assert_eq!(d.shape().unwrap(), ds.shape, "{name}: shape, after {ops:?}");
        let got = d.read_vec::<i32>().expect("read");
        assert_eq!(got, ds.data, "{name}: values, after {ops:?}");
    }
    let names = back.root().unwrap().member_names().unwrap();
    for n in names.iter().filter(|n| n.starts_with('d')) {
        assert!(
            model.contains_key(n),
            "{n} exists but the model has none, after {ops:?}"
        );
    }
}

fn apply(f: &mut Option<File>, store: &Arc<VecStorage>, model: &mut BTreeMap<String, Ds>, op: &Op) {
    let Some(file) = f.as_ref() else { return };
    let Ok(root) = file.root() else { return };
    match op {
        Op::Create {
            name,
            dims,
            chunks,
            unlimited,
            gzip,
            shuffle,
            fill,
        } => {
            let name = ds_name(*name);
            let shape = dims_of(dims);
            let mut b = root.new_dataset::<i32>().shape(&shape);
            let max: Vec<Option<u64>> = if *unlimited && !shape.is_empty() {
                shape.iter().map(|_| None).collect()
            } else {
                shape.iter().map(|&n| Some(n)).collect()
            };
            if *unlimited && !shape.is_empty() {
                b = b.maxshape(&max);
            }
            if let Some(c) = chunks {
                let c: Vec<u64> = shape
                    .iter()
                    .zip(c.iter().chain(std::iter::repeat(&1)))
                    .map(|(_, &c)| u64::from(c % 5) + 1)
                    .collect();
                b = b.chunks(&c);
            }
            if let Some(l) = gzip {
                b = b.deflate(l % 10);
            }
            if *shuffle {
                b = b.shuffle();
            }
            let fv = fill.unwrap_or(0);
            if let Some(v) = fill {
                b = match b.fill_value(*v) {
                    Ok(b) => b,
                    Err(_) => return,
                };
            }
            if b.create(&name).is_ok() {
                let n = shape.iter().product::<u64>() as usize;
                model.insert(
                    name,
                    Ds {
                        shape,
                        max,
                        fill: fv,
                        data: vec![fv; n],
                    },
                );
            }
        }
        Op::Write {
            name,
            start,
            count,
            step,
            value,
        } => {
            let name = ds_name(*name);
            let Ok(d) = root.dataset(&name) else { return };
            let Some(ds) = model.get_mut(&name) else {
                return;
            };
            let step = u64::from(step % 3) + 1;
            let args: Vec<SliceArg> = (0..ds.shape.len())
                .map(|i| {
                    let a = u64::from(start.get(i).copied().unwrap_or(0) % 10);
                    let n = u64::from(count.get(i).copied().unwrap_or(1) % 10);
                    SliceArg::Range {
                        start: Some(a as i64),
                        stop: Some((a + n * step) as i64),
                        step: step as i64,
                    }
                })
                .collect();
            let sel = if ds.shape.is_empty() {
                Selection::All
            } else {
                Selection::Slice(args.clone())
            };
            if d.write_slice(&sel, &[*value]).is_err() {
                return;
            }
            // numpy's clipping of each range to the shape
            let axes: Vec<Vec<u64>> = args
                .iter()
                .zip(&ds.shape)
                .map(|(a, &n)| match a {
                    SliceArg::Range {
                        start: Some(s),
                        stop: Some(e),
                        step,
                    } => ((*s as u64)..(*e as u64).min(n))
                        .step_by(*step as usize)
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            if ds.shape.is_empty() {
                ds.data[0] = *value;
                return;
            }
            let mut idx = vec![Vec::<u64>::new()];
            for ax in &axes {
                idx = idx
                    .iter()
                    .flat_map(|p| {
                        ax.iter().map(move |&c| {
                            let mut q = p.clone();
                            q.push(c);
                            q
                        })
                    })
                    .collect();
            }
            for c in idx {
                let i = ravel(&c, &ds.shape);
                ds.data[i] = *value;
            }
        }
        Op::Resize { name, dims } => {
            let name = ds_name(*name);
            let Ok(mut d) = root.dataset(&name) else {
                return;
            };
            let Some(ds) = model.get_mut(&name) else {
                return;
            };
            let new: Vec<u64> = ds
                .shape
                .iter()
                .enumerate()
                .map(|(i, _)| u64::from(dims.get(i).copied().unwrap_or(0) % 12))
                .collect();
            if d.resize(&new).is_err() {
                return;
            }
            assert!(
                new.iter()
                    .zip(&ds.max)
                    .all(|(&n, m)| m.is_none_or(|m| n <= m)),
                "{name}: resized past its maximum shape to {new:?}"
            );
            let mut data = vec![ds.fill; new.iter().product::<u64>() as usize];
            for (i, v) in ds.data.iter().enumerate() {
                let c = unravel(i as u64, &ds.shape);
                if c.iter().zip(&new).all(|(&c, &n)| c < n) {
                    data[ravel(&c, &new)] = *v;
                }
            }
            ds.data = data;
            ds.shape = new;
        }
        Op::Attr { name, key, value } => {
            let target = if name % 2 == 0 {
                root.attrs()
            } else {
                match root.dataset(&ds_name(*name)) {
                    Ok(d) => d.attrs(),
                    Err(_) => return,
                }
            };
            let _ = target.set(&format!("k{}", key % 12), *value);
        }
        Op::Group { name } => {
            let _ = root.create_group(&format!("g{}/sub", name % 3));
        }
        Op::Unlink { name } => {
            let n = if name % 2 == 0 {
                ds_name(name / 2)
            } else {
                format!("g{}", name % 3)
            };
            if root.unlink(&n).is_ok() {
                model.remove(&n);
            }
        }
        Op::Flush => {
            let _ = file.flush();
        }
        Op::Reopen => {
            drop(root);
            if let Some(old) = f.take() {
                old.close().expect("close before reopening");
            }
            *f = Some(
                File::from_storage(
                    store.clone(),
                    OpenOptions {
                        locking: Locking::Disabled,
                        ..Default::default()
                    },
                )
                .expect("our own file reopens for writing"),
            );
        }
    }
}

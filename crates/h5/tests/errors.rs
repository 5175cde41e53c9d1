//! Errors a user can act on: each names what failed and where — the file, the object, the
//! axis and its bound.

mod common;
use common::tmp;
use h5::{Error, File, Selection};

#[test]
fn opening_a_missing_file_names_it() {
    let path = tmp("missing.h5");
    let _ = std::fs::remove_file(&path);
    for e in [
        File::open(&path).unwrap_err(),
        File::open_rw(&path).unwrap_err(),
        File::open_mmap(&path).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Open { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "cannot open {:?}: No such file or directory",
                path.display().to_string()
            )
        );
        // the operating system's error stays reachable
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.to_string().contains("No such file"), "{source}");
    }
    let dir = tmp("no-such-dir").join("sub").join("new.h5");
    let e = File::create(&dir).unwrap_err().to_string();
    assert!(e.starts_with("cannot open ") && e.contains("new.h5"), "{e}");
}

#[test]
fn a_file_without_a_superblock_is_not_hdf5_and_says_where_it_looked() {
    let path = tmp("notes.txt");
    std::fs::write(&path, "not HDF5\n".repeat(400)).unwrap(); // 3600 bytes
    let e = File::open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{:?} is not an HDF5 file: no HDF5 signature at offsets 0, 512, 1024 or 2048 \
             (3600 bytes)",
            path.display().to_string()
        )
    );
    let e = File::from_bytes(vec![7u8; 600]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an HDF5 file: no HDF5 signature at offsets 0 or 512 (600 bytes)"
    );
    let e = File::from_bytes(vec![0u8; 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an HDF5 file: 5 bytes, too short to hold a superblock"
    );
}

#[test]
fn writes_outside_a_dataset_name_the_axis_and_its_bound() {
    let path = tmp("bounds.h5");
    let f = File::create(&path).unwrap();
    let d = common::unwritten::<i32>(&f, "grid", &[4, 5], None);
    let cases = [
        (
            Selection::parse("4, 0").unwrap(),
            "/grid: bad selection: index 4 is out of range for axis 0 with size 4",
        ),
        (
            Selection::parse("0, -6").unwrap(),
            "/grid: bad selection: index -6 is out of range for axis 1 with size 5",
        ),
        (
            Selection::Points(vec![vec![1, 1], vec![2, 5]]),
            "/grid: bad selection: point [2, 5]: index 5 is out of range for axis 1 with size 5",
        ),
        (
            Selection::parse(":, ::0").unwrap(),
            "/grid: bad selection: step 0 on axis 1 must be positive (h5py rejects it too)",
        ),
    ];
    for (sel, want) in cases {
        let e = d.write_slice(&sel, &[1i32]).unwrap_err();
        assert_eq!(e.to_string(), want);
        assert!(matches!(e.root_cause(), Error::Selection(_)), "{e:?}");
    }
    // nothing was written
    let back: Vec<i32> = d.read_vec().unwrap();
    assert_eq!(back, vec![0; 20]);
    f.close().unwrap();
}

/// A visitor's error stops the walk at once and comes back to the caller as it was.
#[test]
fn visitor_callbacks_stop_the_walk_with_their_error() {
    let f = h5::File::create_in_memory().unwrap();
    for g in ["a/x", "b", "c"] {
        f.create_group(g).unwrap();
    }
    let mut seen = Vec::new();
    let e = f
        .visit_items(|name, _| {
            seen.push(name.to_string());
            if name == "a/x" {
                return Err(h5::Error::NotFound(format!("{name} is not wanted")));
            }
            Ok(std::ops::ControlFlow::<()>::Continue(()))
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        h5::Error::NotFound("a/x is not wanted".into()).to_string()
    );
    assert_eq!(seen, ["a", "a/x"], "the walk stops at the error");
    // `Result<()>` works as well, and `()` goes on
    let mut n = 0;
    f.visit_links(|_, _| -> h5::Result<()> {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 4);
}

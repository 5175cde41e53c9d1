//! Files h5py wrote, opened with `File::append` / `File::open_rw`, edited, then read by h5py.

mod common;
use common::{h5dump_reads, h5py_dump, h5py_writes};

use h5::{File, Selection};
use ndarray::arr1;
use serde_json::json;

/// A group of 20 datasets, a dataset and an attribute, as h5py writes them.
const H5PY_GROUP_AND_DATASETS: &str = r#"
    g = f.create_group('existing')
    for i in range(20):
        g.create_dataset(f'd{i:02}', data=np.arange(i + 1, dtype='<i4'))
    f.create_dataset('vals', data=np.arange(10, dtype='<f8'))
    f.attrs['note'] = 'from h5py'
"#;

/// A dataset with 12 attributes, as h5py writes them.
const H5PY_DATASET_WITH_12_ATTRIBUTES: &str = r#"
    d = f.create_dataset('d', data=np.zeros(3))
    for i in range(12):
        d.attrs[f'a{i}'] = i
"#;

crate::per_h5py_profile!(h5py_default_files_take_new_groups_datasets_and_attributes);

fn h5py_default_files_take_new_groups_datasets_and_attributes(libver: &str) {
    let path = h5py_writes("from_h5py", libver, H5PY_GROUP_AND_DATASETS);
    let before = h5py_dump(&path);
    {
        let f = File::append(&path).unwrap();
        let r = f.root().unwrap();
        let g = r.group("existing").unwrap();
        for i in 20..40 {
            g.create_dataset(&format!("d{i:02}"), arr1(&[i])).unwrap();
        }
        r.create_group("new/nested").unwrap();
        r.dataset("vals")
            .unwrap()
            .write_slice(Selection::parse("2:4").unwrap(), [-1.0f64])
            .unwrap();
        r.attrs().set("count", 40i32).unwrap();
        g.attrs().set("edited_by", "h5 (Rust)").unwrap();
        f.close().unwrap();
    }
    let after = h5py_dump(&path);
    let m = &after["root"]["members"];
    // everything h5py wrote is still there
    for i in 0..20 {
        let k = format!("d{i:02}");
        assert_eq!(
            m["existing"]["members"][&k],
            before["root"]["members"]["existing"]["members"][&k]
        );
    }
    for i in 20..40 {
        assert_eq!(
            m["existing"]["members"][format!("d{i:02}")]["data"],
            json!([i])
        );
    }
    assert_eq!(m["new"]["members"]["nested"]["kind"], "group");
    assert_eq!(
        m["vals"]["data"],
        json!([0.0, 1.0, -1.0, -1.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    );
    assert_eq!(after["root"]["attrs"]["note"]["data"], "from h5py");
    assert_eq!(after["root"]["attrs"]["count"]["data"], 40);
    assert_eq!(m["existing"]["attrs"]["edited_by"]["data"], "h5 (Rust)");
    if libver == "latest" {
        return;
    }
    // and libhdf5 1.10 reads it too
    h5dump_reads(&path);
}

crate::per_h5py_profile!(attributes_overwrite_and_delete_on_h5py_objects);

fn attributes_overwrite_and_delete_on_h5py_objects(libver: &str) {
    let path = h5py_writes("attrs_edit", libver, H5PY_DATASET_WITH_12_ATTRIBUTES);
    {
        let f = File::open_rw(&path).unwrap();
        let d = f.dataset("d").unwrap();
        d.attrs().set("a3", 300i64).unwrap();
        d.attrs().delete("a5").unwrap();
        assert!(matches!(
            d.attrs().delete("missing"),
            Err(h5::Error::NotFound(_))
        ));
        d.attrs().set("big", vec![1.5f64; 1000]).unwrap();
        f.close().unwrap();
    }
    let d = h5py_dump(&path);
    let a = &d["root"]["members"]["d"]["attrs"];
    assert_eq!(a["a3"]["data"], 300);
    assert!(a.get("a5").is_none());
    assert_eq!(a["a11"]["data"], 11);
    assert_eq!(a["big"]["data"].as_array().unwrap().len(), 1000);
    assert_eq!(a.as_object().unwrap().len(), 12);
}

//! Files we write, judged by h5py (../shared/tools/h5py_dump.py) and by h5dump (libhdf5
//! 1.10) — never only by our own reader. Needs the venv and hdf5-tools that `.ci/run`
//! installs; without them these tests fail and say so.

mod common;
use common::{create, h5dump_reads_profile, h5py, h5py_dump, h5py_prints, tmp, write_file};

use h5::{Error, File, LibVer, Selection};

use ndarray::{arr1, arr2, Array1};

crate::per_profile!(groups_datasets_and_attributes_read_back_in_h5py);

fn groups_datasets_and_attributes_read_back_in_h5py(libver: LibVer) {
    let path = write_file("basic", libver, |f| {
        let root = f.root().unwrap();
        let g = root.create_group("a/b").unwrap();
        assert_eq!(g.name(), "/a/b");
        root.create_dataset("ints", arr2(&[[1i32, 2, 3], [4, 5, 6]]))
            .unwrap();
        g.create_dataset("floats", arr1(&[0.5f64, -1.25, 1e300]))
            .unwrap();
        let d = root
            .new_dataset::<u8>()
            .shape(&[])
            .create("scalar")
            .unwrap();
        d.write(ndarray::arr0(7u8)).unwrap();
        root.new_dataset::<i16>()
            .shape(&[4])
            .fill_value(-3i16)
            .unwrap()
            .create("unwritten")
            .unwrap();
        root.attrs().set("version", 3i64).unwrap();
        g.attrs().set("vec", [1.5f32, 2.5, 3.5]).unwrap();
        root.dataset("ints")
            .unwrap()
            .attrs()
            .set("flag", true)
            .unwrap();
        root.link_soft("/a/b/floats", "alias").unwrap();
    });
    // h5dump (libhdf5 1.10) cannot read what libver latest writes (HDF5 2.0's datatype v5
    // for the bool enum), nor can it read h5py's own latest files
    h5dump_reads_profile(&path, libver);
    let d = h5py_dump(&path);
    // superblock version: byte 8
    let sb = std::fs::read(&path).unwrap()[8];
    let want = match libver {
        LibVer::Earliest => 0,
        LibVer::V108 => 2,
        _ => 3,
    };
    assert_eq!(sb, want);
    let m = &d["root"]["members"];
    assert_eq!(m["ints"]["dtype"], "<i4");
    assert_eq!(m["ints"]["data"], serde_json::json!([[1, 2, 3], [4, 5, 6]]));
    assert_eq!(m["ints"]["layout"], "contiguous");
    assert_eq!(m["ints"]["attrs"]["flag"]["dtype"], "|b1");
    assert_eq!(m["ints"]["attrs"]["flag"]["data"], true);
    assert_eq!(
        m["a"]["members"]["b"]["members"]["floats"]["data"],
        serde_json::json!([0.5, -1.25, 1e300])
    );
    assert_eq!(
        m["a"]["members"]["b"]["attrs"]["vec"]["data"],
        serde_json::json!([1.5, 2.5, 3.5])
    );
    assert_eq!(m["scalar"]["shape"], serde_json::json!([]));
    assert_eq!(m["scalar"]["data"], 7);
    assert_eq!(m["unwritten"]["data"], serde_json::json!([-3, -3, -3, -3]));
    assert_eq!(d["root"]["attrs"]["version"]["data"], 3);
    assert_eq!(
        m["alias"],
        serde_json::json!({"kind": "softlink", "target": "/a/b/floats"})
    );
}

crate::per_profile!(slice_writes_broadcast_and_clip_like_libhdf5);

fn slice_writes_broadcast_and_clip_like_libhdf5(libver: LibVer) {
    let path = write_file("slices", libver, |f| {
        let ds = common::unwritten::<i8>(f, "d", &[4, 6], None);
        // the article: 1200 written into int8 stores 127; a scalar broadcasts
        common::write_flat(&ds, Selection::parse("1:3, 2:5").unwrap(), &[1200i32]).unwrap();
        common::write_flat(
            &ds,
            Selection::parse("0, ::2").unwrap(),
            &[-1.9f64, 2.9, -300.0],
        )
        .unwrap();
    });
    let d = h5py_dump(&path);
    assert_eq!(
        d["root"]["members"]["d"]["data"],
        serde_json::json!([
            [-1, 0, 2, 0, -128, 0],
            [0, 0, 127, 127, 127, 0],
            [0, 0, 127, 127, 127, 0],
            [0, 0, 0, 0, 0, 0]
        ])
    );
}

crate::per_profile!(many_members_split_nodes_and_h5py_sees_all);

fn many_members_split_nodes_and_h5py_sees_all(libver: LibVer) {
    let path = tmp(&format!("{libver:?}_wide.h5"));
    let names: Vec<String> = (0..300)
        .map(|i| format!("m{:03}", (i * 7919) % 300))
        .collect();
    {
        let f = create(&path, libver);
        let g = f.root().unwrap().create_group("wide").unwrap();
        for (i, n) in names.iter().enumerate() {
            if i % 3 == 0 {
                g.create_group(n).unwrap();
            } else {
                g.create_dataset(n, arr1(&[i as i32])).unwrap();
            }
        }
        f.close().unwrap();
    }
    // looking a name up (B-tree descent / name-index search) agrees with listing the group
    {
        let f = File::open(&path).unwrap();
        let g = f.group("wide").unwrap();
        let listed = g.links().unwrap();
        assert_eq!(listed.len(), 300);
        for l in &listed {
            let found = g.link(&l.name).unwrap().expect("listed name found");
            assert_eq!(found.kind, l.kind, "{}", l.name);
        }
        for absent in ["m", "m0005", "m299x", "n", "", "m1000"] {
            assert!(g.link(absent).unwrap().is_none(), "{absent:?}");
        }
    }
    h5dump_reads_profile(&path, libver);
    let lines = h5py_prints(
        &path,
        "f = h5py.File(p); g = f['wide']; print(len(g)); print(','.join(g.keys())); print(sum(int(g[k][0]) for k in g if isinstance(g[k], h5py.Dataset)))",
    );
    assert_eq!(lines[0], "300");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(lines[1], sorted.join(","));
    let want: usize = (0..300).filter(|i| i % 3 != 0).sum();
    assert_eq!(lines[2], want.to_string());
}

#[test]
fn file_size_matches_h5py_for_the_articles_int8_example() {
    // The article: 100 000 int8 values make a 102 144-byte file with h5py.
    let path = tmp("int8.h5");
    let data = Array1::from_iter((0..100_000).map(|i| (i % 256) as i8));
    {
        let f = File::create(&path).unwrap();
        f.root().unwrap().create_dataset("data", &data).unwrap();
        f.close().unwrap();
    }
    let ours = std::fs::metadata(&path).unwrap().len() as f64;
    let theirs: f64 = h5py(&format!(
        "import h5py, numpy as np, os\nwith h5py.File({p:?}, 'w') as f: f.create_dataset('data', data=(np.arange(100000) % 256).astype('i1'))\nprint(os.path.getsize({p:?}))",
        p = tmp("int8_h5py.h5").to_str().unwrap()
    ))
    .trim()
    .parse()
    .unwrap();
    assert!(
        (ours - theirs).abs() / theirs < 0.01,
        "ours {ours} bytes, h5py {theirs}"
    );
    let d = h5py_dump(&path);
    assert_eq!(d["root"]["members"]["data"]["data"][255], -1);
}

crate::per_profile!(bad_use_gets_clear_errors);

fn bad_use_gets_clear_errors(libver: LibVer) {
    let (path, f) = common::new_file("bad", libver);
    let root = f.root().unwrap();
    let ds = root.new_dataset::<f32>().shape(&[3]).create("d").unwrap();
    assert!(matches!(root.create_group("d"), Err(Error::Exists(_))));
    assert!(matches!(
        root.new_dataset::<f32>().shape(&[1]).create("d"),
        Err(Error::Exists(_))
    ));
    assert!(matches!(
        ds.write_slice(Selection::parse("3").unwrap(), [1.0f32])
            .unwrap_err()
            .root_cause(),
        Error::Selection(_)
    ));
    assert!(matches!(
        ds.write(arr1(&[1.0f32, 2.0])),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        ds.write_slice(Selection::parse("0:2").unwrap(), [1.0f32, 2.0, 3.0]),
        Err(Error::Shape(_))
    ));
    f.clone().close().unwrap();
    assert!(
        matches!(root.create_group("late"), Err(Error::ReadOnly(_))),
        "writes after close fail"
    );
    // A read-only file refuses writes.
    let ro = File::open(&path).unwrap();
    assert!(matches!(
        ro.root().unwrap().create_group("x"),
        Err(Error::ReadOnly(_))
    ));
    // create_excl refuses an existing file.
    assert!(matches!(
        File::create_excl(&path),
        Err(Error::Open { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists
    ));
    h5py_dump(&path);
}

crate::per_profile!(reads_through_the_writing_handle_see_the_writes);

fn reads_through_the_writing_handle_see_the_writes(libver: LibVer) {
    let (path, f) = common::new_file("same_handle", libver);
    let root = f.root().unwrap();
    let contiguous = root.new_dataset::<i32>().shape(&[5]).create("c").unwrap();
    contiguous.write(arr1(&[1, 2, 3, 4, 5])).unwrap();
    assert_eq!(contiguous.read_vec::<i32>().unwrap(), [1, 2, 3, 4, 5]);
    let chunked = root
        .new_dataset::<f64>()
        .shape(&[4])
        .chunks(&[2])
        .maxshape(&[None])
        .create("k")
        .unwrap();
    chunked.write(arr1(&[0.5, 1.5, 2.5, 3.5])).unwrap();
    assert_eq!(chunked.read_vec::<f64>().unwrap(), [0.5, 1.5, 2.5, 3.5]);
    let mut grown = chunked.clone();
    grown.resize(&[6]).unwrap();
    assert_eq!(
        chunked.shape(),
        Some(vec![6]),
        "another handle sees the new shape"
    );
    assert_eq!(
        chunked.read_vec::<f64>().unwrap(),
        [0.5, 1.5, 2.5, 3.5, 0.0, 0.0]
    );
    f.close().unwrap();
    let d = h5py_dump(&path);
    assert_eq!(
        d["root"]["members"]["k"]["data"],
        serde_json::json!([0.5, 1.5, 2.5, 3.5, 0.0, 0.0])
    );
}

crate::per_profile!(links_delete_and_move_like_h5py);

fn links_delete_and_move_like_h5py(libver: LibVer) {
    let path = write_file("links", libver, |f| {
        let r = f.root().unwrap();
        let g = r.create_group("g").unwrap();
        for i in 0..300 {
            g.create_dataset(&format!("m{i:03}"), arr1(&[i])).unwrap();
        }
        // delete most of them: empty symbol table nodes and B-tree children go away
        for i in (0..300).filter(|i| i % 10 != 0) {
            g.unlink(&format!("m{i:03}")).unwrap();
        }
        assert!(matches!(g.unlink("m001"), Err(Error::NotFound(_))));
        r.create_dataset("data", arr1(&[1.5f64, 2.5])).unwrap();
        r.link_hard("/data", "data_alias").unwrap();
        r.link_soft("/data", "soft").unwrap();
        r.create_group("a/b")
            .unwrap()
            .create_dataset("leaf", arr1(&[7i8]))
            .unwrap();
        r.move_link("a", "g/a_moved").unwrap();
        r.move_link("soft", "g/soft2").unwrap();
        assert!(matches!(r.move_link("data", "g"), Err(Error::Exists(_))));
        assert_eq!(
            r.group("g/a_moved/b")
                .unwrap()
                .dataset("leaf")
                .unwrap()
                .read_vec::<i8>()
                .unwrap(),
            [7]
        );
    });
    h5dump_reads_profile(&path, libver);
    assert_eq!(
        h5py_prints(&path, "f = h5py.File(p, 'a')\nprint(sorted(f['g'].keys()) == sorted(['a_moved', 'soft2'] + [f'm{i:03}' for i in range(0, 300, 10)]))\nprint(f['g/a_moved/b/leaf'][0], f['g/soft2'][1])\ndel f['data']\nprint(f['data_alias'][()].tolist())\nf.close()\nf = h5py.File(p, 'r')\nprint(f['data_alias'][()].tolist(), 'a' in f, 'soft' in f)"),
        ["True", "7 2.5", "[1.5, 2.5]", "[1.5, 2.5] False False"]
    );
}

#[test]
fn attributes_too_large_for_the_default_profile_are_errors_as_in_h5py() {
    let path = tmp("big_attr.h5");
    let f = File::create(&path).unwrap();
    let r = f.root().unwrap();
    // 70 000 bytes cannot be one version-1 header message (h5py: "object header message is
    // too large"); nothing is written and the file stays valid.
    let e = r.attrs().set("big", vec![1u8; 70_000]).unwrap_err();
    assert!(matches!(e, Error::Shape(_)), "{e}");
    r.attrs().set("fits", vec![2u8; 60_000]).unwrap();
    f.close().unwrap();
    let d = h5py_dump(&path);
    assert!(d["root"]["attrs"].get("big").is_none());
    assert_eq!(
        d["root"]["attrs"]["fits"]["data"].as_array().unwrap().len(),
        60_000
    );
    let out = h5py(&format!(
        "import h5py, numpy as np\ntry:\n    with h5py.File({p:?}, 'a') as f: f.attrs['big'] = np.ones(70000, 'u1')\nexcept Exception as e:\n    print('h5py refuses too')",
        p = tmp("big_attr_h5py.h5").to_str().unwrap()
    ));
    assert_eq!(out.trim(), "h5py refuses too");
}

fn external_links_like_h5py(libver: LibVer) {
    let path = tmp(&format!("ext_{libver:?}.h5"));
    let target = tmp(&format!("ext_target_{libver:?}.h5"));
    {
        let t = File::create(&target).unwrap();
        t.root()
            .unwrap()
            .create_dataset("x", arr1(&[4i16, 5]))
            .unwrap();
        t.close().unwrap();
    }
    {
        let f = create(&path, libver);
        let r = f.root().unwrap();
        r.create_dataset("before", arr1(&[1u8])).unwrap();
        let g = r.create_group("g").unwrap();
        g.create_group("sub").unwrap();
        // the root and `g` (symbol tables in the default profile) are converted
        r.link_external(target.to_str().unwrap(), "/x", "ext")
            .unwrap();
        g.link_external("elsewhere.h5", "/a/b", "dangling").unwrap();
        // past 8 members the converted group is dense from the start
        let big = r.create_group("big").unwrap();
        for i in 0..12 {
            big.create_dataset(&format!("d{i:02}"), arr1(&[i])).unwrap();
        }
        big.link_external("elsewhere.h5", "/x", "ext").unwrap();
        r.create_dataset("after", arr1(&[2u8])).unwrap();
        assert!(matches!(
            r.link_external("f.h5", "/", "ext"),
            Err(Error::Exists(_))
        ));
        f.close().unwrap();
    }
    h5dump_reads_profile(&path, libver);
    assert_eq!(
        h5py_prints(
            &path,
            &format!(
                "f = h5py.File(p, 'r')\nl = f.get('ext', getlink=True)\nprint(type(l).__name__, l.filename == {t:?}, l.path)\nprint(f['ext'][()].tolist())\nd = f['g'].get('dangling', getlink=True)\nprint(d.filename, d.path, sorted(f.keys()), sorted(f['g'].keys()))\nprint(f['before'][0], f['after'][0])\nb = f['big']\nprint(len(b), sum(int(b[f'd{{i:02}}'][0]) for i in range(12)), b.get('ext', getlink=True).path)",
                t = target.to_str().unwrap()
            )
        ),
        [
            "ExternalLink True /x",
            "[4, 5]",
            "elsewhere.h5 /a/b ['after', 'before', 'big', 'ext', 'g'] ['dangling', 'sub']",
            "1 2",
            "13 66 /x"
        ],
        "{libver:?}"
    );
}

crate::per_profile!(external_links_like_h5py);

fn committed_datatypes_like_h5py(libver: LibVer) {
    let path = common::written("committed", libver, |f| {
        let r = f.root().unwrap();
        let t = r.commit::<i32>("types/int").unwrap();
        t.attrs().set("doc", "a committed int").unwrap();
        r.commit::<f64>("real").unwrap();
        r.link_hard("/types/int", "int_alias").unwrap();
        let d = common::of_committed(&r, &t, "d", &[3]);
        d.write(arr1(&[7i32, 8, 9])).unwrap();
        assert!(matches!(r.commit::<u8>("real"), Err(Error::Exists(_))));
    });
    assert_eq!(
        h5py_prints(&path, "f = h5py.File(p, 'r')\nt = f['types/int']\nprint(type(t).__name__, t.dtype, t.attrs['doc'], f['real'].dtype)\nprint(f['d'].id.get_type().committed(), f['d'][()].tolist(), f['d'].dtype)\nprint(f['int_alias'] == t)"),
        [
            "Datatype int32 a committed int float64",
            "True [7, 8, 9] int32",
            "True"
        ],
        "{libver:?}"
    );
    // our reader agrees
    let f = File::open(&path).unwrap();
    assert_eq!(
        f.dataset("d").unwrap().read_vec::<i32>().unwrap(),
        [7, 8, 9]
    );
}

crate::per_profile!(committed_datatypes_like_h5py);

fn many_attributes_like_h5py(libver: LibVer) {
    // libver latest keeps 8 in the header, then moves them all to dense storage (fractal
    // heap + v2 B-tree); the default profile keeps every one in the (version 1) header
    let path = write_file("many_attrs", libver, |f| {
        let d = f.root().unwrap().create_dataset("d", arr1(&[1u8])).unwrap();
        let a = d.attrs();
        for i in 0..30 {
            a.set(&format!("a{i:02}"), vec![i as i32; i + 1]).unwrap();
        }
        a.set("a03", -3.5f64).unwrap();
        for i in (0..30).step_by(4) {
            a.delete(&format!("a{i:02}")).unwrap();
        }
        assert!(matches!(a.delete("a00"), Err(Error::NotFound(_))));
        a.set("note", "after the deletes").unwrap();
        // our reader sees the attributes written through this handle
        assert_eq!(a.len().unwrap(), 30 - 8 + 1);
    });
    h5dump_reads_profile(&path, libver);
    assert_eq!(
        h5py_prints(&path, "f = h5py.File(p, 'a')\na = f['d'].attrs\nprint(len(a), a['a03'], a['a29'].tolist()[-1], len(a['a29']), a['note'])\nprint(sorted(a.keys()) == sorted(['note'] + [f'a{i:02}' for i in range(30) if i % 4]))\na['x'] = 5\ndel a['a01']\nf.close()\nf = h5py.File(p, 'r')\nprint(len(f['d'].attrs), f['d'].attrs['x'])"),
        ["23 -3.5 29 30 after the deletes", "True", "23 5"],
        "{libver:?}"
    );
}

crate::per_profile!(many_attributes_like_h5py);

/// A new group `g` with twelve contiguous datasets `d0`..`d11` (the first 5000 values of
/// `big`) and a chunked, deflated `z` (all of `big`).
fn fill_group_g(r: &h5::Group, big: &[f64]) {
    let g = r.create_group("g").unwrap();
    for i in 0..12 {
        g.create_dataset(&format!("d{i}"), Array1::from(big[..5000].to_vec()))
            .unwrap();
    }
    g.new_dataset::<f64>()
        .shape(&[big.len() as u64])
        .chunks(&[1000])
        .deflate(1)
        .create("z")
        .unwrap()
        .write(Array1::from(big.to_vec()))
        .unwrap();
}

fn deleted_objects_space_is_reused_in_the_session(libver: LibVer) {
    let path = tmp(&format!("reuse_{libver:?}.h5"));
    let (first, second);
    {
        let f = create(&path, libver);
        let r = f.root().unwrap();
        let big: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        fill_group_g(&r, &big);
        r.create_dataset("keep", arr1(&[1i32, 2, 3])).unwrap();
        r.link_hard("/g/d3", "d3_alias").unwrap();
        f.flush().unwrap();
        first = std::fs::metadata(&path).unwrap().len();
        let stale = r.dataset("g/d5").unwrap();
        r.unlink("g").unwrap();
        // a handle to a deleted object refuses writes (its space may be reused)
        assert!(stale.write(Array1::from(big[..5000].to_vec())).is_err());
        // the same content again fits in the space the deletion freed
        fill_group_g(&r, &big);
        f.close().unwrap();
        second = std::fs::metadata(&path).unwrap().len();
    }
    // d3 lives on through its alias: its 40 000 bytes stay, the new d3 needs as many;
    // deleted objects' first header chunks are not reused (a few hundred bytes each)
    assert!(
        second < first + 40_000 + first / 50,
        "{libver:?}: {first} bytes grew to {second} after deleting and rewriting"
    );
    h5dump_reads_profile(&path, libver);
    assert_eq!(
        h5py_prints(
            &path,
            "f = h5py.File(p, 'r')\nprint(f['keep'][()].tolist(), f['d3_alias'][-1], f['g/d11'][4999], f['g/z'][99999], len(f['g']))"
        ),
        ["[1, 2, 3] 4999.0 4999.0 99999.0 13"],
        "{libver:?}"
    );
}

crate::per_profile!(deleted_objects_space_is_reused_in_the_session);

#[test]
fn large_attributes_go_to_dense_storage_in_the_latest_profile() {
    // As with h5py's libver='latest': an attribute too large for a header message goes to
    // dense storage (a huge fractal heap object), and so do the compact ones beside it.
    let path = tmp("big_attr_latest.h5");
    {
        let f = create(&path, LibVer::Latest);
        let r = f.root().unwrap();
        r.attrs().set("small", 1i32).unwrap();
        r.attrs().set("big", vec![7u8; 70_000]).unwrap();
        r.attrs().set("mid", vec![2.5f64; 1000]).unwrap();
        r.attrs().delete("small").unwrap();
        r.attrs().set("big", vec![9u8; 80_000]).unwrap();
        f.close().unwrap();
    }
    assert_eq!(
        h5py_prints(&path, "f = h5py.File(p, 'a')\na = f.attrs\nprint(sorted(a.keys()), a['big'].shape, int(a['big'][79999]), float(a['mid'][999]))\na['more'] = np.zeros(50000)\ndel a['mid']\nf.close()\nf = h5py.File(p, 'r')\nprint(sorted(f.attrs.keys()), f.attrs['more'].shape)"),
        ["['big', 'mid'] (80000,) 9 2.5", "['big', 'more'] (50000,)"]
    );
    // and our reader reads what libhdf5 added
    let f = File::open(&path).unwrap();
    let more = f.root().unwrap().attrs().open("more").unwrap();
    assert_eq!(more.read::<f64>().unwrap().len(), 50_000);
}

fn every_layout_and_number_type(libver: LibVer) {
    // compact, contiguous, one chunk (libver latest: the single-chunk index), many chunks
    // with a fill value (fixed array), for every numeric type h5py has
    let types: Vec<(&str, h5::Datatype, &str)> = vec![
        ("i1", <i8 as h5::H5Type>::datatype(), "int8"),
        ("u1", <u8 as h5::H5Type>::datatype(), "uint8"),
        ("i2", <i16 as h5::H5Type>::datatype(), "int16"),
        ("u2", <u16 as h5::H5Type>::datatype(), "uint16"),
        ("i4", <i32 as h5::H5Type>::datatype(), "int32"),
        ("u4", <u32 as h5::H5Type>::datatype(), "uint32"),
        ("i8", <i64 as h5::H5Type>::datatype(), "int64"),
        ("u8", <u64 as h5::H5Type>::datatype(), "uint64"),
        ("f2", h5::types::float16(), "float16"),
        ("f4", h5::types::float32(), "float32"),
        ("f8", h5::types::float64(), "float64"),
        ("f16", h5::types::long_double(), "float128"),
        ("b", <bool as h5::H5Type>::datatype(), "bool"),
    ];
    let values: Vec<f64> = (0..24).map(|i| (i % 2) as f64).collect();
    let path = write_file("matrix", libver, |f| {
        let r = f.root().unwrap();
        for (name, dt, _) in &types {
            for (layout, b) in [
                (
                    "compact",
                    r.new_dataset_of(dt.clone()).shape(&[4, 6]).compact(),
                ),
                (
                    "contiguous",
                    r.new_dataset_of(dt.clone()).shape(&[4, 6]).contiguous(),
                ),
                (
                    "single",
                    r.new_dataset_of(dt.clone()).shape(&[4, 6]).chunks(&[4, 6]),
                ),
                (
                    "chunked",
                    r.new_dataset_of(dt.clone())
                        .shape(&[4, 6])
                        .chunks(&[3, 4])
                        .fill_value(1u8)
                        .unwrap(),
                ),
            ] {
                let d = b.create(&format!("{name}_{layout}")).unwrap();
                if layout == "chunked" {
                    // rows 0-1 written, the rest reads as the fill value 1
                    common::write_flat(&d, Selection::parse("0:2, :").unwrap(), &values[..12])
                        .unwrap();
                } else {
                    common::write_flat(&d, &Selection::All, &values).unwrap();
                }
            }
        }
    });
    h5dump_reads_profile(&path, libver);
    let out = h5py_prints(
        &path,
        "f = h5py.File(p, 'r')\nwant = (np.arange(24) % 2).reshape(4, 6)\nfill = want.copy(); fill[2:] = 1\nbad = []\nfor name, ds in f.items():\n    w = fill if name.endswith('_chunked') else want\n    if not np.array_equal(ds[()].astype('f8'), w): bad.append(name)\n    lay = ds.id.get_create_plist().get_layout()\n    if name.endswith('_compact') and lay != h5py.h5d.COMPACT: bad.append(name + ' layout')\n    if name.endswith('_single') and ds.chunks != (4, 6): bad.append(name + ' chunks')\nprint(len(f), sorted(set(str(d.dtype) for d in f.values())), bad)",
    );
    let mut dtypes: Vec<String> = types.iter().map(|t| format!("'{}'", t.2)).collect();
    dtypes.sort();
    assert_eq!(
        out,
        [format!("{} [{}] []", types.len() * 4, dtypes.join(", "))],
        "{libver:?}"
    );
}

crate::per_profile!(every_layout_and_number_type);

/// Object headers that fill up: a chunk grows in place while the file space after it is
/// free (as libhdf5's headers do), and continues in a new chunk when it is not — here two
/// groups take attributes in turn, so neither header can grow in place and each becomes a
/// chain of small chunks. libhdf5 reads every attribute back, h5dump walks the headers.
fn headers_grow_in_place_or_continue(libver: LibVer) {
    let path = common::tmp(&format!("header_growth_{libver:?}.h5"));
    let f = common::create(&path, libver);
    let (a, b) = (f.create_group("a").unwrap(), f.create_group("b").unwrap());
    let alone = f.create_group("alone").unwrap();
    for i in 0..40i64 {
        a.attrs().set(&format!("x{i:02}"), i).unwrap();
        b.attrs()
            .set(&format!("y{i:02}"), format!("value {i}").as_str())
            .unwrap();
    }
    for i in 0..6i64 {
        alone.attrs().set(&format!("z{i}"), i as f64 * 0.5).unwrap();
    }
    f.close().unwrap();
    let back = h5::File::open(&path).unwrap();
    assert_eq!(
        back.group("a").unwrap().attrs().get::<i64>("x39").unwrap(),
        39
    );
    common::h5dump_reads_profile(&path, libver);
    common::h5py_asserts(
        &path,
        "a, b, alone = f['a'].attrs, f['b'].attrs, f['alone'].attrs
assert sorted(a.keys()) == ['x%02d' % i for i in range(40)], list(a.keys())
assert all(a['x%02d' % i] == i for i in range(40))
assert all(b['y%02d' % i] == b'value %d' % i or b['y%02d' % i] == 'value %d' % i for i in range(40))
assert [alone['z%d' % i] for i in range(6)] == [i * 0.5 for i in range(6)]",
    );
}
crate::per_profile!(headers_grow_in_place_or_continue);

/// A group's local heap is kept loaded between inserts: when the group is deleted and a new
/// group's heap may take its space, the new group's names are its own.
fn kept_local_heaps_follow_deleted_groups(libver: LibVer) {
    let path = tmp(&format!("kept_heap_{libver:?}.h5"));
    let f = create(&path, libver);
    for round in 0..3 {
        let old = f.create_group("old").unwrap();
        for n in ["alpha", "beta", "gamma"] {
            old.create_group(&format!("{n}{round}")).unwrap();
        }
        f.unlink("old").unwrap();
        let new = f.create_group(&format!("new{round}")).unwrap();
        for n in ["x", "y"] {
            new.create_group(&format!("{n}{round}")).unwrap();
        }
        assert_eq!(
            new.member_names().unwrap(),
            [format!("x{round}"), format!("y{round}")]
        );
    }
    f.close().unwrap();
    common::h5py_asserts(
        &path,
        "assert sorted(f.keys()) == ['new0', 'new1', 'new2'], list(f.keys())
for r in range(3):
    assert list(f['new%d' % r].keys()) == ['x%d' % r, 'y%d' % r], list(f['new%d' % r].keys())",
    );
}
crate::per_profile!(kept_local_heaps_follow_deleted_groups);

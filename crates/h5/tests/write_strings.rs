//! String attributes and h5py's `attrs.update(metadata)`, judged by h5py.

mod common;
use common::{create, h5dump_reads_profile, h5py_dump, h5py_prints, tmp, write_file};

use h5::{LibVer, Value};
use serde_json::{json, Value as Json};
use std::path::Path;

/// h5py's dump of `path` with group `skip` removed first (in a copy, by h5py).
fn h5py_dump_without(path: &Path, skip: &str) -> Json {
    let copy = path.with_extension("copy.h5");
    std::fs::copy(path, &copy).unwrap();
    common::h5py(&format!(
        "import h5py\nwith h5py.File({:?}, 'a') as f: del f[{skip:?}]",
        copy.to_str().unwrap()
    ));
    h5py_dump(&copy)
}

crate::per_profile!(string_attributes_read_back_in_h5py);

fn string_attributes_read_back_in_h5py(libver: LibVer) {
    let path = tmp(&format!("{libver:?}_strings.h5"));
    let many: Vec<String> = (0..2000)
        .map(|i| format!("value number {i} ").repeat(1 + i % 4))
        .collect();
    let big = "x".repeat(10_000);
    {
        let f = create(&path, libver);
        let r = f.root().unwrap();
        r.attrs().set("title", "Hëllo, wörld ✓").unwrap();
        r.attrs().set("empty", "").unwrap();
        r.attrs().set("big", &big).unwrap();
        let refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
        r.create_group("g")
            .unwrap()
            .attrs()
            .set("many", &refs[..])
            .unwrap();
        r.attrs().set("title", "overwritten").unwrap();
        f.close().unwrap();
    }
    h5dump_reads_profile(&path, libver);
    let d = h5py_dump(&path);
    let a = &d["root"]["attrs"];
    assert_eq!(
        a["title"],
        json!({"dtype": {"string": "vlen", "charset": "utf8"}, "shape": [], "data": "overwritten"})
    );
    assert_eq!(a["empty"]["data"], "");
    assert_eq!(a["big"]["data"], big.as_str());
    let got = d["root"]["members"]["g"]["attrs"]["many"]["data"]
        .as_array()
        .unwrap();
    assert_eq!(got.len(), many.len());
    assert!(got.iter().zip(&many).all(|(g, w)| g == w.as_str()));
}

crate::per_profile!(attrs_update_like_the_articles_metadata);

fn attrs_update_like_the_articles_metadata(libver: LibVer) {
    // The article stores a dict of metadata with attrs.update(metadata).
    let path = write_file("metadata", libver, |f| {
        let ds = f
            .root()
            .unwrap()
            .create_dataset("data", ndarray::arr1(&[1.0f64, 2.0]))
            .unwrap();
        ds.attrs()
            .update([
                ("date", Value::Str("2026-11-23".into())),
                ("user", Value::Str("Ada".into())),
                ("OS", Value::Str("Linux".into())),
                ("version", Value::Int(2)),
                ("scale", Value::Float(0.25)),
                ("valid", Value::Bool(true)),
                (
                    "bounds",
                    Value::List(vec![Value::Float(-1.0), Value::Float(1.5)]),
                ),
                (
                    "tags",
                    Value::List(vec![Value::Str("a".into()), Value::Str("bc".into())]),
                ),
            ])
            .unwrap();
        assert!(ds
            .attrs()
            .set_value(
                "mixed",
                &Value::List(vec![Value::Int(1), Value::Str("x".into())])
            )
            .is_err());
    });
    let d = h5py_dump(&path);
    let a = &d["root"]["members"]["data"]["attrs"];
    assert_eq!(a["date"]["data"], "2026-11-23");
    assert_eq!(
        a["version"],
        json!({"dtype": "<i8", "shape": [], "data": 2})
    );
    assert_eq!(
        a["scale"],
        json!({"dtype": "<f8", "shape": [], "data": 0.25})
    );
    assert_eq!(
        a["valid"],
        json!({"dtype": "|b1", "shape": [], "data": true})
    );
    assert_eq!(
        a["bounds"],
        json!({"dtype": "<f8", "shape": [2], "data": [-1.0, 1.5]})
    );
    assert_eq!(a["tags"]["data"], json!(["a", "bc"]));
    assert!(a.get("mixed").is_none());
}

crate::per_profile!(attributes_of_any_type_from_values);

fn attributes_of_any_type_from_values(libver: LibVer) {
    use h5::types;
    use h5_format::message::datatype::{ByteOrder, Charset, Datatype, Member, StrPad};
    let path = tmp(&format!("{libver:?}_anytype.h5"));
    let i4 = Datatype::Integer {
        size: 4,
        order: ByteOrder::Little,
        signed: true,
        bit_offset: 0,
        precision: 32,
        bitfield: false,
    };
    let compound = Datatype::Compound {
        size: 24,
        members: vec![
            Member {
                name: "id".into(),
                offset: 0,
                dtype: i4.clone(),
            },
            Member {
                name: "z".into(),
                offset: 8,
                dtype: types::complex128(),
            },
        ],
    };
    let fixed = Datatype::String {
        size: 6,
        pad: StrPad::NullPad,
        charset: Charset::Ascii,
    };
    let color = Datatype::Enum {
        size: 1,
        base: Box::new(Datatype::Integer {
            size: 1,
            order: ByteOrder::Little,
            signed: false,
            bit_offset: 0,
            precision: 8,
            bitfield: false,
        }),
        members: vec![("RED".into(), vec![0]), ("GREEN".into(), vec![1])],
    };
    let arr = Datatype::Array {
        base: Box::new(i4.clone()),
        dims: vec![2, 2],
    };
    let seq = Datatype::VarLenSeq {
        size: 16,
        base: Box::new(i4.clone()),
    };
    {
        let f = create(&path, libver);
        let a = f.root().unwrap().attrs();
        a.create_values("z", &types::complex128(), &[], &[Value::Complex(3.0, 4.0)])
            .unwrap();
        a.create_values(
            "rows",
            &compound,
            &[2],
            &[
                Value::Compound(vec![
                    ("id".into(), Value::Int(1)),
                    ("z".into(), Value::Complex(0.5, -1.0)),
                ]),
                Value::Compound(vec![
                    ("id".into(), Value::Int(2)),
                    ("z".into(), Value::Complex(0.0, 2.0)),
                ]),
            ],
        )
        .unwrap();
        a.create_values(
            "fixed",
            &fixed,
            &[2],
            &[Value::Str("abc".into()), Value::Str("toolong!".into())],
        )
        .unwrap();
        a.create_values(
            "color",
            &color,
            &[2],
            &[Value::Str("GREEN".into()), Value::Int(0)],
        )
        .unwrap();
        let ints = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(i)).collect());
        // array types: h5py_dump.py cannot describe them, so h5py checks this one directly below
        f.root()
            .unwrap()
            .create_group("arrays")
            .unwrap()
            .attrs()
            .create_values("grid", &arr, &[], &[ints(&[1, 2, 3, 4])])
            .unwrap();
        a.create_values(
            "ragged",
            &seq,
            &[3],
            &[ints(&[]), ints(&[7]), ints(&[8, 9, 10])],
        )
        .unwrap();
        a.create_values(
            "ld",
            &types::long_double(),
            &[2],
            &[Value::Float(0.1), Value::Float(-2.5)],
        )
        .unwrap();
        assert!(a
            .create_values("bad", &compound, &[], &[Value::Int(3)])
            .is_err());
        f.close().unwrap();
    }
    h5dump_reads_profile(&path, libver);
    common::h5py_asserts(
        &path,
        "g = f['arrays'].attrs['grid']\nassert g.dtype == np.int32 and g.tolist() == [[1, 2], [3, 4]], g",
    );
    // the dump tool would fail on the array attribute: dump a copy without that group
    let d = h5py_dump_without(&path, "arrays");
    let a = &d["root"]["attrs"];
    assert_eq!(
        a["z"],
        json!({"dtype": "<c16", "shape": [], "data": [3.0, 4.0]})
    );
    assert_eq!(
        a["rows"]["data"],
        json!([{"id": 1, "z": [0.5, -1.0]}, {"id": 2, "z": [0.0, 2.0]}])
    );
    assert_eq!(
        a["fixed"],
        json!({"dtype": {"string": 6, "charset": "ascii"}, "shape": [2], "data": ["abc", "toolon"]})
    );
    assert_eq!(a["color"]["data"], json!([1, 0]));
    assert_eq!(
        a["color"]["dtype"]["members"],
        json!({"RED": 0, "GREEN": 1})
    );
    assert_eq!(a["ragged"]["data"], json!([[], [7], [8, 9, 10]]));
    assert_eq!(a["ld"]["dtype"], "<f16");
    assert_eq!(a["ld"]["data"], json!([0.1, -2.5]));
    assert!(a.get("bad").is_none());
}

crate::per_profile!(string_complex_and_compound_datasets);

fn string_complex_and_compound_datasets(libver: LibVer) {
    use h5::{types, Selection};
    let path = write_file("value_datasets", libver, |f| {
        let r = f.root().unwrap();
        let s = r
            .new_dataset_of(types::vlen_utf8())
            .shape(&[3])
            .create("names")
            .unwrap();
        s.write_values(
            &Selection::All,
            &[
                Value::Str("α".into()),
                Value::Str("".into()),
                Value::Str("gamma".into()),
            ],
        )
        .unwrap();
        let z = r
            .new_dataset_of(types::vlen_utf8())
            .shape(&[40])
            .chunks(&[8])
            .deflate(4)
            .create("zipped")
            .unwrap();
        let words: Vec<Value> = (0..40).map(|i| Value::Str(format!("word {i}"))).collect();
        z.write_values(&Selection::All, &words).unwrap();
        // the article: dset_complex[0] = 3 + 4j
        let c = r
            .new_dataset_of(types::complex128())
            .shape(&[10])
            .create("complex")
            .unwrap();
        c.write_values(Selection::parse("0").unwrap(), &[Value::Complex(3.0, 4.0)])
            .unwrap();
        let fx = r
            .new_dataset_of(types::fixed_ascii(4))
            .shape(&[2])
            .create("fixed")
            .unwrap();
        fx.write_values(&Selection::All, &[Value::Str("ab".into())])
            .unwrap();
        assert!(c
            .write_values(&Selection::All, &[Value::Str("x".into())])
            .is_err());
    });
    h5dump_reads_profile(&path, libver);
    let d = h5py_dump(&path);
    let m = &d["root"]["members"];
    assert_eq!(m["names"]["data"], json!(["α", "", "gamma"]));
    assert_eq!(m["zipped"]["filters"], json!([1]));
    assert_eq!(m["zipped"]["data"][39], "word 39");
    assert_eq!(m["complex"]["dtype"], "<c16");
    assert_eq!(m["complex"]["data"][0], json!([3.0, 4.0]));
    assert_eq!(m["complex"]["data"][1], json!([0.0, 0.0]));
    assert_eq!(m["fixed"]["data"], json!(["ab", "ab"]));
}

#[derive(Debug, Clone, PartialEq)]
struct Point {
    x: f32,
    y: f32,
}
h5::compound!(Point { x, y });

/// The derive (Point above uses the macro it expands to).
#[derive(Debug, Clone, PartialEq, h5::Compound)]
struct Particle {
    id: i32,
    pub mass: f64,
    /// doc comments and visibility are skipped
    pub(crate) name: String,
    alive: bool,
    at: Point,
    track: Vec<u16>,
}

crate::per_profile!(structs_written_as_compounds);

fn structs_written_as_compounds(libver: LibVer) {
    let ps: Vec<Particle> = (0..5)
        .map(|i| Particle {
            id: i,
            mass: 1.5 * i as f64,
            name: format!("p{i}"),
            alive: i % 2 == 0,
            at: Point {
                x: i as f32,
                y: -(i as f32),
            },
            track: (0..i as u16).collect(),
        })
        .collect();
    let path = common::written("structs", libver, |f| {
        let r = f.root().unwrap();
        let d = r.create_dataset("particles", &ps).unwrap();
        d.write_slice(4, &ps[0]).unwrap();
        r.attrs().set("origin", &ps[2].at).unwrap();
    });
    assert_eq!(
        h5py_prints(&path, "f = h5py.File(p, 'r')\nd = f['particles']\nprint(d.dtype.names, d.dtype['mass'], d.dtype['at'].names)\nr = d[()]\nprint([int(v) for v in r['id']], [x.decode() if isinstance(x, bytes) else x for x in r['name']], r['track'][3].tolist(), bool(r['alive'][2]), float(r['at'][1]['y']))\nprint(f.attrs['origin'].tolist())"),
        [
            "('id', 'mass', 'name', 'alive', 'at', 'track') float64 ('x', 'y')",
            "[0, 1, 2, 3, 0] ['p0', 'p1', 'p2', 'p3', 'p0'] [0, 1, 2] True -1.0",
            "(2.0, -2.0)"
        ],
        "{libver:?}"
    );
    let f = h5::File::open(&path).unwrap();
    let back: Vec<Particle> = f.dataset("particles").unwrap().read_vec().unwrap();
    assert_eq!(&back[..4], &ps[..4]);
    assert_eq!(back[4], ps[0]);
}

/// Variable-length data counts against `Limits::max_data_bytes` in total, not per heap
/// object: 200 strings of 10 KB (2 MB) read under a 1 MiB limit give an error naming the
/// limit; under the default they read back whole.
#[test]
fn variable_length_reads_are_held_to_the_data_limit() {
    use h5::{types, File, Selection};
    let path = tmp("vlen_limit.h5");
    {
        let f = create(&path, LibVer::Earliest);
        let d = f
            .root()
            .unwrap()
            .new_dataset_of(types::vlen_utf8())
            .shape(&[200])
            .create("long")
            .unwrap();
        let words: Vec<Value> = (0..200)
            .map(|i| Value::Str(format!("{i:05}").repeat(2000)))
            .collect();
        d.write_values(&Selection::All, &words).unwrap();
        f.close().unwrap();
    }
    let tight = common::data_limit(1 << 20);
    let f = File::open_with(&path, tight).unwrap();
    let e = f
        .dataset("long")
        .unwrap()
        .read_values(&Selection::All)
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_data_bytes"), "{e}");
    let f = File::open(&path).unwrap();
    let (v, _) = f
        .dataset("long")
        .unwrap()
        .read_values(&Selection::All)
        .unwrap();
    assert_eq!(v.len(), 200);
    assert_eq!(v[199], Value::Str("00199".repeat(2000)));
}

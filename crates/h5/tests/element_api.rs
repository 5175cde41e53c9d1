//! The one element API, as a user meets it: every kind of Rust value through
//! `create_dataset`, `new_dataset::<T>`, `read::<T>`, `read_slice`, `write_slice` and
//! `attrs().set` / `get::<T>` (judged by h5py); selections made from Rust values; writes that
//! follow numpy's broadcasting rules, one test per rule.
mod common;

use common::{create, h5dump_reads_profile, h5py, tmp, write_file};
use h5::half::f16;
use h5::ndarray::{arr1, arr2, Array, Array3, ArrayD, IxDyn};
use h5::num_complex::Complex;
use h5::{s, FixedAscii, FixedUtf8, H5Type, LibVer, Selection};

#[derive(h5::H5Type, Debug, Clone, Copy, PartialEq)]
#[repr(i16)]
enum Phase {
    Solid = -1,
    Liquid = 3,
    /// (implicit discriminant: 4)
    Gas,
}

#[derive(h5::H5Type, Debug, Clone, PartialEq)]
struct Sample {
    id: u32,
    phase: Phase,
    pos: [f32; 3],
    label: FixedAscii<8>,
    z: Complex<f64>,
    tags: Vec<String>,
}

fn samples() -> Vec<Sample> {
    (0..3)
        .map(|i| Sample {
            id: 10 + i,
            phase: [Phase::Solid, Phase::Liquid, Phase::Gas][i as usize],
            pos: [i as f32, 0.5, -1.0],
            label: FixedAscii::new(&format!("s{i}")).unwrap(),
            z: Complex::new(i as f64, -(i as f64)),
            tags: (0..i).map(|t| format!("t{t}")).collect(),
        })
        .collect()
}

/// Every kind of element written by the typed API, read back by us and by h5py.
fn every_element_kind(libver: LibVer) {
    let path = tmp(&format!("{libver:?}_kinds.h5"));
    let halves = [f16::from_f32(1.5), f16::from_f32(-0.25), f16::MAX];
    let c64 = [Complex::new(1.0f32, 2.0), Complex::new(-3.0, 0.5)];
    let fixed = [
        FixedAscii::<5>::new("ab").unwrap(),
        FixedAscii::new("hello").unwrap(),
    ];
    let utf8 = [FixedUtf8::<8>::new("héllo").unwrap()];
    let ragged = vec![vec![1i32], vec![], vec![2, 3, 4]];
    let matrices = vec![[[1u8, 2], [3, 4]], [[5, 6], [7, 8]]];
    {
        let f = create(&path, libver);
        f.create_dataset("f16", halves).unwrap();
        f.create_dataset("c64", c64).unwrap();
        f.create_dataset("bool", [true, false, true]).unwrap();
        f.create_dataset("fixed", fixed).unwrap();
        f.create_dataset("utf8", utf8).unwrap();
        f.create_dataset("names", ["ä", "b"]).unwrap();
        f.create_dataset("ragged", &ragged).unwrap();
        f.create_dataset("matrices", &matrices).unwrap();
        f.create_dataset("phases", [Phase::Gas, Phase::Solid])
            .unwrap();
        f.create_dataset("samples", samples()).unwrap();
        f.create_dataset("answer", 42i64).unwrap();
        let ds = f
            .new_dataset::<Sample>()
            .shape(&[2])
            .create("later")
            .unwrap();
        ds.write_slice(1, &samples()[2]).unwrap();
        let a = f.attrs();
        a.set("half", f16::from_f32(0.5)).unwrap();
        a.set("z", Complex::new(1.0f64, -1.0)).unwrap();
        a.set("phase", Phase::Liquid).unwrap();
        a.set("sample", &samples()[1]).unwrap();
        a.set("labels", ["x", "yy"]).unwrap();
        a.set("grid", arr2(&[[1i8, 2, 3], [4, 5, 6]])).unwrap();
        a.set("fixed", FixedAscii::<4>::new("ab").unwrap()).unwrap();
        f.close().unwrap();
    }
    h5dump_reads_profile(&path, libver);

    let f = h5::File::open(&path).unwrap();
    let ds = |n: &str| f.dataset(n).unwrap();
    assert_eq!(ds("f16").read_vec::<f16>().unwrap(), halves);
    assert_eq!(ds("f16").read_vec::<f64>().unwrap(), [1.5, -0.25, 65504.0]);
    assert_eq!(ds("c64").read_vec::<Complex<f32>>().unwrap(), c64);
    assert_eq!(ds("bool").read_vec::<bool>().unwrap(), [true, false, true]);
    assert_eq!(ds("fixed").read_vec::<FixedAscii<5>>().unwrap(), fixed);
    assert_eq!(ds("fixed").read_vec::<String>().unwrap(), ["ab", "hello"]);
    assert_eq!(ds("utf8").read_vec::<FixedUtf8<8>>().unwrap(), utf8);
    assert_eq!(ds("names").read_vec::<String>().unwrap(), ["ä", "b"]);
    assert_eq!(ds("ragged").read_vec::<Vec<i32>>().unwrap(), ragged);
    assert_eq!(ds("matrices").read_vec::<[[u8; 2]; 2]>().unwrap(), matrices);
    assert_eq!(
        ds("phases").read_vec::<Phase>().unwrap(),
        [Phase::Gas, Phase::Solid]
    );
    assert_eq!(ds("samples").read_vec::<Sample>().unwrap(), samples());
    assert_eq!(
        ds("samples").read_slice::<Sample>(-1).unwrap()[[]],
        samples()[2]
    );
    assert_eq!(ds("answer").read_scalar::<i64>().unwrap(), 42);
    assert_eq!(
        ds("answer").read::<f32>().unwrap().shape(),
        [] as [usize; 0]
    );
    assert_eq!(
        ds("later").read_slice::<Sample>(1).unwrap()[[]],
        samples()[2]
    );
    // the unwritten element reads as zeros, and 0 is not a Phase: said, not made up
    let e = ds("later").read_slice::<Sample>(0).unwrap_err().to_string();
    assert!(e.contains("0 is not a member of Phase"), "{e}");
    let a = f.attrs();
    assert_eq!(a.get::<f16>("half").unwrap(), f16::from_f32(0.5));
    assert_eq!(a.get::<Complex<f64>>("z").unwrap(), Complex::new(1.0, -1.0));
    assert_eq!(a.get::<Phase>("phase").unwrap(), Phase::Liquid);
    assert_eq!(a.get::<Sample>("sample").unwrap(), samples()[1]);
    assert_eq!(
        a.open("labels").unwrap().read_vec::<String>().unwrap(),
        ["x", "yy"]
    );
    assert_eq!(a.get::<String>("fixed").unwrap(), "ab");
    // attributes read in their shapes, as datasets do
    let grid = a.open("grid").unwrap().read::<i32>().unwrap();
    assert_eq!(grid, arr2(&[[1, 2, 3], [4, 5, 6]]).into_dyn());
    let e = a.get::<i32>("grid").unwrap_err().to_string();
    assert!(e.contains("6 elements, not one"), "{e}");
    assert!(ds("names").read_vec::<f64>().is_err());

    let out = h5py(&format!(
        r#"
import h5py
f = h5py.File({p:?}, "r")
print(f["f16"].dtype, f["f16"][()].tolist())
print(f["c64"].dtype, f["c64"][()].tolist())
print(f["bool"].dtype, f["bool"][()].tolist())
print(f["fixed"].dtype, f["fixed"][()].tolist(), f["utf8"][0].decode())
print(f["names"].asstr()[()].tolist(), [x.tolist() for x in f["ragged"][()]])
print(f["matrices"].dtype, f["matrices"][()].tolist())
print(h5py.check_enum_dtype(f["phases"].dtype), f["phases"][()].tolist())
s = f["samples"]
print(s.dtype.names, s["id"].tolist(), s["pos"][2].tolist(), s["label"].tolist(), s["z"].tolist())
print([t.tolist() for t in s["tags"]], f["answer"][()], f["answer"].shape)
print(f.attrs["half"].dtype, f.attrs["half"], f.attrs["z"], f.attrs["phase"], f.attrs["sample"]["id"])
print(f.attrs["labels"].tolist(), f.attrs["grid"].tolist(), f.attrs["fixed"], f["later"]["id"].tolist())
"#,
        p = path.to_str().unwrap()
    ));
    let want = [
        "float16 [1.5, -0.25, 65504.0]",
        "complex64 [(1+2j), (-3+0.5j)]",
        "bool [True, False, True]",
        "|S5 [b'ab', b'hello'] héllo",
        "['ä', 'b'] [[1], [], [2, 3, 4]]",
        "('u1', (2, 2)) [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]",
        "{'Solid': -1, 'Liquid': 3, 'Gas': 4} [4, -1]",
        "('id', 'phase', 'pos', 'label', 'z', 'tags') [10, 11, 12] [2.0, 0.5, -1.0] \
         [b's0', b's1', b's2'] [-0j, (1-1j), (2-2j)]",
        // (h5py gives strings inside compounds as bytes)
        "[[], [b't0'], [b't0', b't1']] 42 ()",
        "float16 0.5 (1-1j) 3 11",
        "['x', 'yy'] [[1, 2, 3], [4, 5, 6]] b'ab' [0, 12]",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{libver:?}:\n{out}");
}

crate::per_profile!(every_element_kind);

/// A 4×6 dataset of 0..24, in memory.
fn grid() -> (h5::File, h5::Dataset) {
    let f = h5::File::create_in_memory().unwrap();
    let ds = f
        .create_dataset(
            "g",
            Array::from_iter(0..24)
                .into_shape_with_order((4, 6))
                .unwrap(),
        )
        .unwrap();
    (f, ds)
}

fn flat(a: ArrayD<i32>) -> (Vec<usize>, Vec<i32>) {
    (a.shape().to_vec(), a.iter().copied().collect())
}

#[test]
fn selections_come_from_rust_values() {
    let (_f, ds) = grid();
    let r = |sel: Selection| flat(ds.read_slice::<i32>(sel).unwrap());
    let row1 = (vec![6], (6..12).collect::<Vec<_>>());
    // (selection, shape, elements)
    let cases: Vec<(Selection, Vec<usize>, Vec<i32>)> = vec![
        (1.into(), row1.0.clone(), row1.1.clone()),
        (1usize.into(), row1.0.clone(), row1.1.clone()),
        ((-1).into(), vec![6], (18..24).collect()),
        ((1, 2).into(), vec![], vec![8]),
        ((.., 2).into(), vec![4], vec![2, 8, 14, 20]),
        ((1..3).into(), vec![2, 6], (6..18).collect()),
        ((..1).into(), vec![1, 6], (0..6).collect()),
        ((3..).into(), vec![1, 6], (18..24).collect()),
        ((..=1).into(), vec![2, 6], (0..12).collect()),
        ((..=-1).into(), vec![4, 6], (0..24).collect()),
        ((..=-2).into(), vec![3, 6], (0..18).collect()),
        (
            (.., 4..).into(),
            vec![4, 2],
            vec![4, 5, 10, 11, 16, 17, 22, 23],
        ),
        ([1..2, 2..4].into(), vec![1, 2], vec![8, 9]),
        ((..).into(), vec![4, 6], (0..24).collect()),
        (
            s![.., ..;3].try_into().unwrap(),
            vec![4, 2],
            vec![0, 3, 6, 9, 12, 15, 18, 21],
        ),
        (s![1..;2, -1].try_into().unwrap(), vec![2], vec![11, 23]),
        (
            vec![[0u64, 0], [3, 5], [1, 1]].into(),
            vec![3],
            vec![0, 23, 7],
        ),
        (
            (0..24).map(|i| i % 5 == 0).collect::<Vec<_>>().into(),
            vec![5],
            vec![0, 5, 10, 15, 20],
        ),
        ("2, 1::2".try_into().unwrap(), vec![3], vec![13, 15, 17]),
        ((&Selection::All).into(), vec![4, 6], (0..24).collect()),
    ];
    for (sel, shape, want) in cases {
        assert_eq!(r(sel.clone()), (shape, want), "{sel:?}");
    }
    // a mask as an ndarray of bools
    let mask = ArrayD::from_shape_fn(IxDyn(&[4, 6]), |i| i[0] == i[1]);
    assert_eq!(flat(ds.read_slice::<i32>(&mask).unwrap()).1, [0, 7, 14, 21]);
    // and the generic argument alone is enough at the call
    assert_eq!(ds.read_slice::<i32>((2, 3)).unwrap()[[]], 15);
}

#[test]
fn invalid_selections_are_refused_naming_the_axis() {
    let (_f, ds) = grid();
    let err = |r: h5::Result<ArrayD<i32>>| r.unwrap_err().to_string();
    // (what was asked, what the error must say)
    let cases: Vec<(String, &str)> = vec![
        (
            err(ds.read_slice(4)),
            "index 4 is out of range for axis 0 with size 4",
        ),
        (
            err(ds.read_slice((0, -7))),
            "index -7 is out of range for axis 1 with size 6",
        ),
        (
            err(ds.read_slice(s![.., ..;-1])),
            "step -1 on axis 1 must be positive",
        ),
        (
            err(ds.read_slice((0, 0, 0))),
            "3 indices for a dataset of rank 2",
        ),
        (
            err(ds.read_slice(vec![[0u64, 9]])),
            "out of range for axis 1 with size 6",
        ),
        (
            err(ds.read_slice(s![h5::ndarray::NewAxis, ..])),
            "a new axis",
        ),
        (err(ds.read_slice("1:x")), "not an integer"),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "{got:?} should say {want:?}");
        assert!(
            got.contains("/g") || want == "not an integer",
            "{got:?} names the dataset"
        );
    }
}

/// Write `data` into `sel` of a fresh (4, 5) dataset of zeros; the elements after, or the
/// error.
fn write_4x5<E: h5::Elements>(sel: impl Into<Selection>, data: E) -> Result<Vec<f64>, String> {
    let f = h5::File::create_in_memory().unwrap();
    let ds = f.new_dataset::<f64>().shape(&[4, 5]).create("d").unwrap();
    let before = ds.read_vec::<f64>().unwrap();
    match ds.write_slice(sel.into(), data) {
        Ok(()) => Ok(ds.read_vec().unwrap()),
        Err(e) => {
            // a refused write changes nothing
            assert_eq!(ds.read_vec::<f64>().unwrap(), before);
            Err(e.to_string())
        }
    }
}

#[test]
fn broadcast_rule_equal_shapes_write_element_for_element() {
    let data = Array::from_iter((0..20).map(f64::from))
        .into_shape_with_order((4, 5))
        .unwrap();
    assert_eq!(
        write_4x5(.., &data).unwrap(),
        (0..20).map(f64::from).collect::<Vec<_>>()
    );
}

#[test]
fn broadcast_rule_one_value_fills_the_selection() {
    let got = write_4x5((1..3, 1..3), 7.0).unwrap();
    let want: Vec<f64> = (0..20)
        .map(|i| {
            if (1..3).contains(&(i / 5)) && (1..3).contains(&(i % 5)) {
                7.0
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn broadcast_rule_a_row_fills_every_row() {
    let got = write_4x5(.., arr1(&[1.0, 2.0, 3.0, 4.0, 5.0])).unwrap();
    assert_eq!(got, [1.0, 2.0, 3.0, 4.0, 5.0].repeat(4));
    // a slice is a row too
    assert_eq!(write_4x5(2.., &[9.0; 5][..]).unwrap()[10..], [9.0; 10]);
}

#[test]
fn broadcast_rule_a_column_fills_every_column() {
    let col = arr2(&[[1.0], [2.0], [3.0], [4.0]]);
    let got = write_4x5(.., &col).unwrap();
    let want: Vec<f64> = (0..20).map(|i| (i / 5 + 1) as f64).collect();
    assert_eq!(got, want);
}

#[test]
fn broadcast_rule_leading_axes_of_length_one_are_dropped() {
    let data = Array3::from_shape_fn((1, 1, 5), |(_, _, k)| k as f64);
    assert_eq!(
        write_4x5(3, &data).unwrap()[15..],
        [0.0, 1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn broadcast_rule_transposed_shapes_are_refused_naming_both() {
    let data = Array::from_iter((0..20).map(f64::from))
        .into_shape_with_order((5, 4))
        .unwrap();
    let e = write_4x5(.., &data).unwrap_err();
    assert!(
        e.contains("can't broadcast data of shape (5, 4) to the selection's shape (4, 5)"),
        "{e}"
    );
    assert!(e.contains("/d"), "{e}");
}

#[test]
fn broadcast_rule_a_mismatched_last_axis_is_refused() {
    let e = write_4x5(.., [1.0, 2.0, 3.0, 4.0]).unwrap_err();
    assert!(
        e.contains("shape (4,) to the selection's shape (4, 5)"),
        "{e}"
    );
    // the right number of elements in the wrong shape is refused too, as numpy refuses it
    let e = write_4x5(.., vec![0.0; 20]).unwrap_err();
    assert!(
        e.contains("shape (20,) to the selection's shape (4, 5)"),
        "{e}"
    );
}

#[test]
fn broadcast_rule_an_index_drops_its_axis() {
    // dset[1, :] has shape (5,): a row fits, a (1, 5) array fits (leading 1 dropped)
    assert_eq!(write_4x5(1, [1.0; 5]).unwrap()[5..10], [1.0; 5]);
    assert_eq!(write_4x5(1, arr2(&[[2.0; 5]])).unwrap()[5..10], [2.0; 5]);
    let e = write_4x5((1, 2), [1.0, 2.0]).unwrap_err();
    assert!(e.contains("shape (2,) to the selection's shape ()"), "{e}");
}

/// Broadcast writes in a file h5py reads: what numpy's assignment would give.
fn broadcast_writes_h5py_agrees(libver: LibVer) {
    let path = write_file("broadcast", libver, |f| {
        let ds = common::unwritten::<i32>(f, "d", &[3, 4], Some(&[2, 3]));
        ds.write(5).unwrap();
        ds.write_slice(1, [1, 2, 3, 4]).unwrap();
        ds.write_slice((.., 3), arr2(&[[7], [8], [9]]).column(0))
            .unwrap();
        ds.write_slice(s![2, ..;2], arr1(&[0, 0])).unwrap();
    });
    let out = h5py(&format!(
        "import h5py\nprint(h5py.File({:?}, 'r')['d'][()].tolist())",
        path.to_str().unwrap()
    ));
    assert_eq!(
        out.trim(),
        "[[5, 5, 5, 7], [1, 2, 3, 8], [0, 5, 0, 9]]",
        "{libver:?}"
    );
}

crate::per_profile!(broadcast_writes_h5py_agrees);

#[test]
fn derived_types_describe_themselves_as_numpy_would() {
    let Some(h5::Datatype::Enum { base, members, .. }) = Some(Phase::datatype()) else {
        panic!("an enum")
    };
    assert_eq!(base.size(), 2);
    let names: Vec<(&str, i16)> = members
        .iter()
        .map(|(n, v)| (n.as_str(), i16::from_le_bytes([v[0], v[1]])))
        .collect();
    assert_eq!(names, [("Solid", -1), ("Liquid", 3), ("Gas", 4)]);
    // u32 + i16 + 3×f32 + 8 bytes + complex128 + vlen
    assert_eq!(Sample::datatype().size(), 4 + 2 + 12 + 8 + 16 + 16);
    assert!(FixedAscii::<3>::new("abcd").is_err());
    assert!(FixedAscii::<3>::new("é").is_err());
}

//! libhdf5's own filters beyond deflate/shuffle/fletcher32: what we write has the chunk bytes
//! libhdf5 writes for the same data and parameters (h5py's `read_direct_chunk` on both files),
//! and h5py reads it back equal.
mod common;

use common::{h5py, new_file};
use h5::{ByteOrder, Datatype, LibVer, Value};

fn int_type(size: u32, signed: bool, order: ByteOrder, precision: u16, offset: u16) -> Datatype {
    Datatype::Integer {
        size,
        order,
        signed,
        bit_offset: offset,
        precision,
        bitfield: false,
    }
}

/// h5py judges our file `ours` beside libhdf5's twin: `create` runs with `theirs`, a new file
/// in the same profile; `theirs` is then reopened (libhdf5's chunk cache holds unfiltered
/// values until the file is closed) and `checks` run, where `chunks_equal(name)` asserts the
/// dataset's type, filter options and values equal and every stored chunk byte-identical.
fn judge_beside_libhdf5(ours: &std::path::Path, libver: LibVer, create: &str, checks: &str) {
    let libver = match libver {
        LibVer::Earliest => "earliest",
        LibVer::V108 => "v108",
        LibVer::V110 => "v110",
        LibVer::Latest => "latest",
    };
    let script = format!(
        "import h5py, numpy as np, itertools
ours = h5py.File({ours:?}, 'r')
name = {theirs:?}
theirs = h5py.File(name, 'w', libver={libver:?})
{create}
theirs.close()
theirs = h5py.File(name, 'r')
def chunks_equal(name):
    a, d = ours[name], theirs[name]
    assert a.dtype == d.dtype and a.compression_opts == d.compression_opts, (name, a.dtype, d.dtype, a.compression_opts, d.compression_opts)
    assert (a[()] == d[()]).all(), (name, a[()], d[()])
    for c in itertools.product(*[range(0, s, k) for s, k in zip(d.shape, d.chunks)]):
        mine, theirs_chunk = a.id.read_direct_chunk(c), d.id.read_direct_chunk(c)
        assert mine == theirs_chunk, (name, c, mine, theirs_chunk)
{checks}
print('ok')
",
        ours = ours.to_str().unwrap(),
        theirs = ours.with_extension("libhdf5.h5").to_str().unwrap(),
    );
    let out = h5py(&script);
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

/// n-bit: numbers with unused bits (odd precisions, offsets, big-endian, a compound), chunks
/// with edge chunks; every chunk's stored bytes equal libhdf5's.
fn nbit_chunks_are_libhdf5s(libver: LibVer) {
    let (ours, f) = new_file("nbit", libver);
    // (name, h5py type expression, our type, values, chunk)
    let cases: Vec<(&str, &str, Datatype, Vec<i64>, u64)> = vec![
        (
            "i17",
            "t = h5py.h5t.STD_I32LE.copy(); t.set_precision(17)",
            int_type(4, true, ByteOrder::Little, 17, 0),
            (0..40).map(|i| (i * 3797) % 131072 - 65536).collect(),
            16,
        ),
        (
            "u16be_off3_prec5",
            "t = h5py.h5t.STD_U16BE.copy(); t.set_precision(5); t.set_offset(3)",
            int_type(2, false, ByteOrder::Big, 5, 3),
            (0..20).map(|i| i % 32).collect(),
            8,
        ),
        (
            "u8_prec3",
            "t = h5py.h5t.STD_U8LE.copy(); t.set_precision(3)",
            int_type(1, false, ByteOrder::Little, 3, 0),
            (0..33).map(|i| i % 8).collect(),
            10,
        ),
        (
            "i64_prec40_off7",
            "t = h5py.h5t.STD_I64LE.copy(); t.set_precision(40); t.set_offset(7)",
            int_type(8, true, ByteOrder::Little, 40, 7),
            (0..25).map(|i| i * 1_000_003 - 7_000_000).collect(),
            6,
        ),
    ];
    let (mut create, mut checks) = (String::new(), String::new());
    for (name, ty, dt, values, chunk) in &cases {
        let ds = f
            .new_dataset_of(dt.clone())
            .shape(&[values.len() as u64])
            .chunks(&[*chunk])
            .nbit()
            .create(name)
            .unwrap();
        let v: Vec<Value> = values.iter().map(|&x| Value::Int(x)).collect();
        ds.write_values(.., &v).unwrap();
        create += &format!(
            "{ty}
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_chunk(({chunk},)); dcpl.set_filter(h5py.h5z.FILTER_NBIT)
dcpl.set_fill_time(h5py.h5d.FILL_TIME_IFSET)
space = h5py.h5s.create_simple(({n},))
d = h5py.h5d.create(theirs.id, b'{name}', t, space, dcpl=dcpl)
d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array({values:?}, dtype=t.dtype))
",
            n = values.len()
        );
        checks += &format!(
            "assert list(ours['{name}'][()]) == {values:?}, (list(ours['{name}'][()]), {values:?})
chunks_equal('{name}')
"
        );
    }
    f.close().unwrap();
    judge_beside_libhdf5(&ours, libver, &create, &checks);
}
crate::per_profile!(nbit_chunks_are_libhdf5s);

/// The type numpy's `code` names (the few the scale-offset cases use).
fn numpy_type(code: &str) -> Datatype {
    let order = if code.starts_with('>') {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    let body = code.trim_start_matches(['<', '>', '|']);
    let size: u32 = body[1..].parse().unwrap();
    match &body[..1] {
        "i" => int_type(size, true, order, 8 * size as u16, 0),
        "u" => int_type(size, false, order, 8 * size as u16, 0),
        "f" => {
            let mut t = if size == 4 {
                h5::types::float32()
            } else {
                h5::types::float64()
            };
            if let Datatype::Float { order: o, .. } = &mut t {
                *o = order;
            }
            t
        }
        other => panic!("no numpy type {other}"),
    }
}

/// What the values are and how h5py makes them.
struct SoCase {
    name: &'static str,
    /// numpy dtype.
    dtype: &'static str,
    /// The values, as a Python expression.
    values: &'static str,
    /// Our values (the same numbers).
    ours: Vec<Value>,
    factor: i32,
    fill: Option<Value>,
    chunk: u64,
}

/// Scale-offset: integers (automatic and given bits, fill values, a range that needs every
/// bit, all-equal chunks, big-endian) and D-scale floats; every chunk's stored bytes equal
/// libhdf5's, and h5py reads our file as it reads its own.
fn scale_offset_chunks_are_libhdf5s(libver: LibVer) {
    let ints = |v: &[i64]| v.iter().map(|&x| Value::Int(x)).collect::<Vec<_>>();
    let floats = |v: &[f64]| v.iter().map(|&x| Value::Float(x)).collect::<Vec<_>>();
    let ramp: Vec<i64> = (0..100).map(|i| 1000 + (i % 37)).collect();
    let signed: Vec<i64> = (0..40).map(|i| (i * 7919) % 2001 - 1000).collect();
    let wide: Vec<i64> = (0..30)
        .map(|i| {
            if i % 2 == 0 {
                i64::MIN + i
            } else {
                i64::MAX - i
            }
        })
        .collect();
    let wave: Vec<f64> = (0..60).map(|i| (i as f64 / 7.0).sin() * 50.0).collect();
    let mut same = vec![7i64; 20];
    same.extend([5, 9, 7, 7, 7]);
    let cases = vec![
        SoCase { name: "int_auto", dtype: "<i4", values: "(np.arange(100) % 37) + 1000", ours: ints(&ramp), factor: 0, fill: None, chunk: 25 },
        SoCase { name: "int_fill", dtype: "<i2", values: "np.arange(40) * 3 - 50", ours: ints(&(0..40).map(|i| i * 3 - 50).collect::<Vec<_>>()), factor: 0, fill: Some(Value::Int(-50)), chunk: 16 },
        SoCase { name: "int_bits", dtype: "<i4", values: "(np.arange(40) * 7919) % 2001 - 1000", ours: ints(&signed), factor: 11, fill: None, chunk: 12 },
        SoCase { name: "uint_be", dtype: ">u2", values: "(np.arange(100) % 37) + 1000", ours: ints(&ramp), factor: 0, fill: Some(Value::Int(1003)), chunk: 30 },
        SoCase { name: "i1_auto", dtype: "i1", values: "(np.arange(40) * 7919) % 255 - 127", ours: ints(&(0..40).map(|i| (i * 7919) % 255 - 127).collect::<Vec<_>>()), factor: 0, fill: None, chunk: 16 },
        SoCase { name: "int_wide", dtype: "<i8", values: "[np.iinfo('i8').min + i if i % 2 == 0 else np.iinfo('i8').max - i for i in range(30)]", ours: ints(&wide), factor: 0, fill: None, chunk: 10 },
        SoCase { name: "int_same", dtype: "<i4", values: "[7] * 20 + [5, 9, 7, 7, 7]", ours: ints(&same), factor: 0, fill: None, chunk: 10 },
        SoCase { name: "f8_d3", dtype: "<f8", values: "np.sin(np.arange(60) / 7.0) * 50.0", ours: floats(&wave), factor: 3, fill: None, chunk: 16 },
        SoCase { name: "f4_d2_fill", dtype: "<f4", values: "np.sin(np.arange(60) / 7.0) * 50.0", ours: floats(&wave), factor: 2, fill: Some(Value::Float(0.0)), chunk: 16 },
        SoCase { name: "f4_be_d1", dtype: ">f4", values: "np.sin(np.arange(60) / 7.0) * 50.0", ours: floats(&wave), factor: 1, fill: Some(Value::Float(1.5)), chunk: 25 },
    ];
    let (ours, f) = new_file("scaleoffset", libver);
    let (mut create, mut checks) = (String::new(), String::new());
    for c in cases {
        let dt = numpy_type(c.dtype);
        let mut b = f
            .new_dataset_of(dt)
            .shape(&[c.ours.len() as u64])
            .chunks(&[c.chunk])
            .scale_offset(c.factor);
        if let Some(fill) = &c.fill {
            b = b.fill_value_of(fill.clone());
        }
        b.create(c.name).unwrap().write_values(.., &c.ours).unwrap();
        let fill = c.fill.as_ref().map_or("None".to_string(), |v| match v {
            Value::Int(i) => i.to_string(),
            Value::Float(x) => format!("{x:?}"),
            _ => unreachable!(),
        });
        create += &format!(
            "theirs.create_dataset('{name}', data=np.array({values}, dtype='{dtype}'), chunks=({chunk},), scaleoffset={factor}, fillvalue={fill})
",
            name = c.name,
            values = c.values,
            dtype = c.dtype,
            chunk = c.chunk,
            factor = c.factor,
        );
        checks += &format!("chunks_equal('{name}')\n", name = c.name);
    }
    f.close().unwrap();
    judge_beside_libhdf5(&ours, libver, &create, &checks);
}
crate::per_profile!(scale_offset_chunks_are_libhdf5s);

/// SZIP: integer and float types of 1, 2, 4 and 8 bytes, both byte orders, NN and EC, block
/// sizes, scanlines that do not fill their last block and scanlines capped at 128 blocks;
/// every chunk's stored bytes equal libhdf5's (libaec's), and h5py reads our file as its own.
fn szip_chunks_are_libhdf5s(libver: LibVer) {
    // (name, numpy dtype, Python values, our values, shape, chunk, nn, pixels per block)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Vec<Value>,
        Vec<u64>,
        Vec<u64>,
        bool,
        u8,
    );
    let ints = |v: Vec<i64>| v.into_iter().map(Value::Int).collect::<Vec<_>>();
    let floats = |v: Vec<f64>| v.into_iter().map(Value::Float).collect::<Vec<_>>();
    let cases: Vec<Case> = vec![
        (
            "i4_nn8",
            "<i4",
            "np.arange(200) % 50",
            ints((0..200).map(|i| i % 50).collect()),
            vec![200],
            vec![100],
            true,
            8,
        ),
        (
            "u2_ec16",
            "<u2",
            "(np.arange(300) * 7) % 1000",
            ints((0..300).map(|i| (i * 7) % 1000).collect()),
            vec![300],
            vec![150],
            false,
            16,
        ),
        (
            "i2_be_nn32",
            ">i2",
            "np.arange(500) - 250",
            ints((0..500).map(|i| i - 250).collect()),
            vec![500],
            vec![500],
            true,
            32,
        ),
        (
            "u1_nn8",
            "u1",
            "(np.arange(400) // 3) % 256",
            ints((0..400).map(|i| (i / 3) % 256).collect()),
            vec![400],
            vec![130],
            true,
            8,
        ),
        (
            "i8_nn16",
            "<i8",
            "np.arange(120) * 1000003 - 50000000",
            ints((0..120).map(|i| i * 1_000_003 - 50_000_000).collect()),
            vec![120],
            vec![60],
            true,
            16,
        ),
        (
            "f4_ec16_2d",
            "<f4",
            "np.linspace(0, 1, 64).reshape(8, 8)",
            floats((0..64).map(|i| (i as f64 / 63.0) as f32 as f64).collect()),
            vec![8, 8],
            vec![4, 8],
            false,
            16,
        ),
        (
            "f8_nn32",
            "<f8",
            "np.sin(np.arange(256) / 9.0)",
            floats((0..256).map(|i| (i as f64 / 9.0).sin()).collect()),
            vec![256],
            vec![256],
            true,
            32,
        ),
        (
            "i4_long_scanline",
            "<i4",
            "np.arange(2 * 5000) % 1234",
            ints((0..10000).map(|i| i % 1234).collect()),
            vec![2, 5000],
            vec![2, 5000],
            true,
            8,
        ),
        (
            "u2_short_rows",
            "<u2",
            "np.arange(100 * 6) % 77",
            ints((0..600).map(|i| i % 77).collect()),
            vec![100, 6],
            vec![50, 6],
            true,
            8,
        ),
        (
            "i4_zeros_noise",
            "<i4",
            "np.where(np.arange(3000) % 700 < 500, 0, (np.arange(3000) * 2654435761) % 65536)",
            ints(
                (0..3000i64)
                    .map(|i| {
                        if i % 700 < 500 {
                            0
                        } else {
                            (i * 2654435761) % 65536
                        }
                    })
                    .collect(),
            ),
            vec![3000],
            vec![3000],
            true,
            16,
        ),
    ];
    let (ours, f) = new_file("szip", libver);
    let (mut create, mut checks) = (String::new(), String::new());
    for (name, dtype, values, ourv, shape, chunk, nn, ppb) in cases {
        f.new_dataset_of(numpy_type(dtype))
            .shape(&shape)
            .chunks(&chunk)
            .szip(nn, ppb)
            .create(name)
            .unwrap()
            .write_values(.., &ourv)
            .unwrap();
        let opt = if nn { "nn" } else { "ec" };
        create += &format!(
            "theirs.create_dataset('{name}', data=np.array({values}, dtype='{dtype}').reshape({shape:?}), chunks=tuple({chunk:?}), compression='szip', compression_opts=('{opt}', {ppb}))\n"
        );
        checks += &format!("chunks_equal('{name}')\n");
    }
    f.close().unwrap();
    judge_beside_libhdf5(&ours, libver, &create, &checks);
}
crate::per_profile!(szip_chunks_are_libhdf5s);

/// What libhdf5 refuses, we refuse at creation, with its reason.
#[test]
fn filters_refuse_what_libhdf5_refuses() {
    let f = h5::File::create_in_memory().unwrap();
    let refused = |b: h5::DatasetBuilder, needle: &str| {
        let e = b.create("x").unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    };
    let strings = || f.new_dataset::<h5::FixedAscii<8>>().shape(&[10]);
    refused(strings().szip(true, 8), "invalid datatype endianness order");
    refused(
        f.new_dataset::<i32>().shape(&[10]).szip(true, 7),
        "pixels per block must be even",
    );
    refused(
        f.new_dataset::<i32>()
            .shape(&[10])
            .chunks(&[2])
            .szip(true, 8),
        "pixels per block greater than total number of elements in the chunk",
    );
    refused(
        strings().scale_offset(0),
        "Scale/offset filter only supported for integer and floating-point types",
    );
    refused(
        f.new_dataset::<i16>().shape(&[10]).scale_offset(17),
        "exceed",
    );
    // libhdf5 writes szip'd 3-byte integers, but h5py then reads 293 of 300 values wrong
    // (libaec codes 17-24-bit pixels as 4-byte words): refused rather than written so
    refused(
        f.new_dataset_of(int_type(3, true, ByteOrder::Little, 24, 0))
            .shape(&[300])
            .szip(true, 8),
        "szip cannot code 3-byte numbers of 24 bits",
    );
}

/// n-bit inside a compound (members of odd precision, a float, padding between them) and an
/// array of odd-precision integers: every member's parameters as libhdf5's set-local makes
/// them, every chunk byte-identical to libhdf5's.
fn nbit_compound_and_array_chunks_are_libhdf5s(libver: LibVer) {
    let (ours, f) = new_file("nbit_nested", libver);
    let i17 = int_type(4, true, ByteOrder::Little, 17, 0);
    let u3 = int_type(1, false, ByteOrder::Little, 3, 0);
    let member = |name: &str, offset: u64, dtype: Datatype| h5::Member {
        name: name.into(),
        offset,
        dtype,
    };
    let compound = Datatype::Compound {
        size: 12,
        members: vec![
            member("a", 0, i17.clone()),
            member("b", 4, u3.clone()),
            member("c", 8, h5::types::float32()),
        ],
    };
    let n = 30i64;
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            Value::Compound(vec![
                ("a".into(), Value::Int(i * 4099 - 60000)),
                ("b".into(), Value::Int(i % 8)),
                ("c".into(), Value::Float(i as f64 * 0.75)),
            ])
        })
        .collect();
    f.new_dataset_of(compound)
        .shape(&[n as u64])
        .chunks(&[8])
        .nbit()
        .create("compound")
        .unwrap()
        .write_values(.., &rows)
        .unwrap();
    let array = Datatype::Array {
        base: Box::new(i17.clone()),
        dims: vec![3],
    };
    let lists: Vec<Value> = (0..n)
        .map(|i| Value::List((0..3).map(|k| Value::Int(i * 1000 + k - 15000)).collect()))
        .collect();
    f.new_dataset_of(array)
        .shape(&[n as u64])
        .chunks(&[7])
        .nbit()
        .create("array")
        .unwrap()
        .write_values(.., &lists)
        .unwrap();
    f.close().unwrap();
    let create = format!(
        "i17 = h5py.h5t.STD_I32LE.copy(); i17.set_precision(17)
u3 = h5py.h5t.STD_U8LE.copy(); u3.set_precision(3)
ct = h5py.h5t.create(h5py.h5t.COMPOUND, 12)
ct.insert(b'a', 0, i17); ct.insert(b'b', 4, u3); ct.insert(b'c', 8, h5py.h5t.IEEE_F32LE)
at = h5py.h5t.array_create(i17, (3,))
i = np.arange({n})
rows = np.zeros({n}, dtype=ct.dtype)
rows['a'] = i * 4099 - 60000; rows['b'] = i % 8; rows['c'] = i * 0.75
lists = (i[:, None] * 1000 + np.arange(3)[None, :] - 15000).astype('<i4')
mc = h5py.h5t.py_create(rows.dtype)
ma = h5py.h5t.array_create(h5py.h5t.STD_I32LE, (3,))
for dn, t, chunk, data, mt in [(b'compound', ct, 8, rows, mc), (b'array', at, 7, lists, ma)]:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_chunk((chunk,)); dcpl.set_filter(h5py.h5z.FILTER_NBIT)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_IFSET)
    d = h5py.h5d.create(theirs.id, dn, t, h5py.h5s.create_simple(({n},)), dcpl=dcpl)
    d.write(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=mt)
"
    );
    let checks = "for dn in ('compound', 'array'):
    pa = ours[dn].id.get_create_plist().get_filter(0)
    pd = theirs[dn].id.get_create_plist().get_filter(0)
    assert (pa[0], pa[2]) == (pd[0], pd[2]), (dn, pa, pd)  # flags: H5Pset_nbit's optional vs set_filter's 0
assert (ours['compound']['a'] == np.arange(30) * 4099 - 60000).all()
assert (ours['array'][()][:, 2] == np.arange(30) * 1000 - 14998).all()
chunks_equal('compound')
chunks_equal('array')
";
    judge_beside_libhdf5(&ours, libver, &create, checks);
}
crate::per_profile!(nbit_compound_and_array_chunks_are_libhdf5s);

/// szip on integers of odd precisions (bits per pixel from the precision at 24 bits or less,
/// the whole size above) and bits at an offset; every chunk byte-identical to libhdf5's.
/// (3-byte types are refused: `filters_refuse_what_libhdf5_refuses`.)
fn szip_odd_integers_are_libhdf5s(libver: LibVer) {
    // (name, h5py type expression, our type, values, chunk, nn, pixels per block)
    type Case = (
        &'static str,
        &'static str,
        Datatype,
        Vec<i64>,
        u64,
        bool,
        u8,
    );
    let cases: Vec<Case> = vec![
        (
            "i4_prec17",
            "t = h5py.h5t.STD_I32LE.copy(); t.set_precision(17)",
            int_type(4, true, ByteOrder::Little, 17, 0),
            (0..256).map(|i| (i * 1021) % 131072 - 65536).collect(),
            100,
            true,
            8,
        ),
        (
            "u4_prec28",
            "t = h5py.h5t.STD_U32LE.copy(); t.set_precision(28)",
            int_type(4, false, ByteOrder::Little, 28, 0),
            (0..160).map(|i| (i * 1_234_567) % (1 << 28)).collect(),
            160,
            true,
            32,
        ),
        (
            "u2_prec9_off4",
            "t = h5py.h5t.STD_U16LE.copy(); t.set_precision(9); t.set_offset(4)",
            int_type(2, false, ByteOrder::Little, 9, 4),
            (0..120).map(|i| (i * 5) % 512).collect(),
            50,
            true,
            8,
        ),
    ];
    let (ours, f) = new_file("szip_odd", libver);
    let (mut create, mut checks) = (String::new(), String::new());
    for (name, ty, dt, values, chunk, nn, ppb) in cases {
        let v: Vec<Value> = values.iter().map(|&x| Value::Int(x)).collect();
        f.new_dataset_of(dt)
            .shape(&[values.len() as u64])
            .chunks(&[chunk])
            .szip(nn, ppb)
            .create(name)
            .unwrap()
            .write_values(.., &v)
            .unwrap();
        let mask = if nn {
            "h5py.h5z.SZIP_NN_OPTION_MASK"
        } else {
            "h5py.h5z.SZIP_EC_OPTION_MASK"
        };
        create += &format!(
            "{ty}
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_chunk(({chunk},)); dcpl.set_szip({mask}, {ppb})
dcpl.set_fill_time(h5py.h5d.FILL_TIME_IFSET)
d = h5py.h5d.create(theirs.id, b'{name}', t, h5py.h5s.create_simple(({n},)), dcpl=dcpl)
d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array({values:?}, dtype='<i8'), mtype=h5py.h5t.STD_I64LE)
",
            n = values.len()
        );
        // read through libhdf5's low-level API as i8, whatever numpy makes of the type
        checks += &format!(
            "odd_equal(b'{name}', {values:?}, {chunk})
"
        );
    }
    f.close().unwrap();
    let checks = format!(
        "def odd_equal(dn, values, chunk):
    a, d = h5py.h5d.open(ours.id, dn), h5py.h5d.open(theirs.id, dn)
    assert a.get_create_plist().get_filter(0)[2] == d.get_create_plist().get_filter(0)[2], dn
    assert a.get_type().get_size() == d.get_type().get_size(), dn
    got = np.empty(len(values), '<i8')
    a.read(h5py.h5s.ALL, h5py.h5s.ALL, got, mtype=h5py.h5t.STD_I64LE)
    assert list(got) == values, (dn, list(got))
    for c in range(0, len(values), chunk):
        assert a.read_direct_chunk((c,)) == d.read_direct_chunk((c,)), (dn, c)
{checks}"
    );
    judge_beside_libhdf5(&ours, libver, &create, &checks);
}
crate::per_profile!(szip_odd_integers_are_libhdf5s);

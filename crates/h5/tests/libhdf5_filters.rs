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
    let mut script = format!(
        "import h5py, numpy as np\nours = h5py.File({:?}, 'r')\ntheirs = h5py.File({:?}, 'w', libver={:?})\n",
        ours.to_str().unwrap(),
        ours.with_extension("libhdf5.h5").to_str().unwrap(),
        match libver {
            LibVer::Earliest => "earliest",
            LibVer::V108 => "v108",
            LibVer::V110 => "v110",
            LibVer::Latest => "latest",
        }
    );
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
        script += &format!(
            "{ty}
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_chunk(({chunk},)); dcpl.set_filter(h5py.h5z.FILTER_NBIT)
dcpl.set_fill_time(h5py.h5d.FILL_TIME_IFSET)
space = h5py.h5s.create_simple(({n},))
d = h5py.h5d.create(theirs.id, b'{name}', t, space, dcpl=dcpl)
d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array({values:?}, dtype=t.dtype))
a = ours['{name}']
assert list(a[()]) == {values:?}, (list(a[()]), {values:?})
for i in range(0, {n}, {chunk}):
    mine, theirs_chunk = a.id.read_direct_chunk((i,)), d.read_direct_chunk((i,))
    assert mine == theirs_chunk, ('{name}', i, mine, theirs_chunk)
",
            n = values.len()
        );
    }
    f.close().unwrap();
    script += "print('ok')\n";
    let out = h5py(&script);
    assert!(out.trim_end().ends_with("ok"), "{out}");
}
crate::per_profile!(nbit_chunks_are_libhdf5s);

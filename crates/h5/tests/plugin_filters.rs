//! hdf5plugin's filters, both ways: what we write with `.lz4()`, `.zstd(..)` and `.bzip2(..)`
//! h5py reads back equal with `import hdf5plugin`, in every profile; what h5py + hdf5plugin
//! writes we read equal (fixtures/files/plugins_*.h5, dumped by the fixtures test); unknown
//! filters keep a clean error naming them.
mod common;

use common::{h5py_asserts, new_file};
use h5::ndarray::Array2;
use h5::LibVer;

/// The same data through each codec, chunks with edge chunks, with and without shuffle.
fn we_write_h5py_reads(libver: LibVer) {
    let (path, f) = new_file("plugins", libver);
    let ramp = Array2::from_shape_fn((19, 13), |(i, j)| ((i * 13 + j) % 97) as i32);
    let wave = Array2::from_shape_fn((12, 10), |(i, j)| ((i * 10 + j) as f64 / 6.0).sin());
    type Pick = fn(h5::DatasetBuilder) -> h5::DatasetBuilder;
    let codecs: [(&str, Pick); 7] = [
        ("lz4", |b| b.lz4()),
        ("zstd", |b| b.zstd(3)),
        ("zstd22", |b| b.zstd(22)),
        ("bzip2", |b| b.bzip2(9)),
        ("bshuf", |b| b.bitshuffle("lz4")),
        ("bshufzstd", |b| b.bitshuffle("zstd")),
        ("bshufnone", |b| b.bitshuffle("none")),
    ];
    for (name, pick) in codecs {
        let b = f.new_dataset::<i32>().shape(&[19, 13]).chunks(&[10, 8]);
        pick(b)
            .create(&format!("{name}_i4"))
            .unwrap()
            .write(&ramp)
            .unwrap();
        let b = f
            .new_dataset::<f64>()
            .shape(&[12, 10])
            .chunks(&[5, 10])
            .shuffle();
        pick(b)
            .create(&format!("{name}_f8"))
            .unwrap()
            .write(&wave)
            .unwrap();
    }
    // read back by us too, before h5py judges
    let back: Array2<i32> = f
        .dataset("zstd_i4")
        .unwrap()
        .read_slice(..)
        .unwrap()
        .into_dimensionality()
        .unwrap();
    assert_eq!(back, ramp);
    f.close().unwrap();
    h5py_asserts(
        &path,
        "import hdf5plugin
ramp = (np.arange(19 * 13) % 97).reshape(19, 13)
wave = np.sin(np.arange(120).reshape(12, 10) / 6.0)
ids = {'lz4': 32004, 'zstd': 32015, 'zstd22': 32015, 'bzip2': 307, 'bshuf': 32008,
       'bshufzstd': 32008, 'bshufnone': 32008}
for name, fid in ids.items():
    d = f[name + '_i4']
    assert str(fid) in d._filters, d._filters
    assert (d[()] == ramp).all(), name
    assert np.allclose(f[name + '_f8'][()], wave), name
assert f['zstd22_i4']._filters['32015'] == (22,)
assert f['bzip2_i4']._filters['307'] == (9,)
assert f['bshufzstd_i4']._filters['32008'] == (0, 4, 4, 0, 3, 3), f['bshufzstd_i4']._filters",
    );
}
crate::per_profile!(we_write_h5py_reads);

#[test]
fn levels_are_checked_as_hdf5plugin_checks_them() {
    let f = h5::File::create_in_memory().unwrap();
    let e = f
        .new_dataset::<i32>()
        .shape(&[10])
        .zstd(23)
        .create("z")
        .unwrap_err()
        .to_string();
    assert!(e.contains("zstd level must be in 1-22, not 23"), "{e}");
    let e = f
        .new_dataset::<i32>()
        .shape(&[10])
        .bzip2(0)
        .create("b")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bzip2 block size must be in 1-9, not 0"), "{e}");
}

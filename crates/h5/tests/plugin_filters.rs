//! hdf5plugin's filters, both ways: what we write with `.lz4()`, `.zstd(..)`, `.bzip2(..)`,
//! `.bitshuffle(..)`, `.blosc(..)` and `.blosc2(..)`
//! h5py reads back equal with `import hdf5plugin`, in every profile; what h5py + hdf5plugin
//! writes we read equal (fixtures/files/plugins_*.h5, dumped by the fixtures test); a filter of
//! the user's own, registered through `OpenOptions::filters`, decodes chunks.
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
    let codecs: [(&str, Pick); 20] = [
        ("lz4", |b| b.lz4()),
        ("zstd", |b| b.zstd(3)),
        ("zstd22", |b| b.zstd(22)),
        ("bzip2", |b| b.bzip2(9)),
        ("bshuf", |b| b.bitshuffle("lz4")),
        ("bshufzstd", |b| b.bitshuffle("zstd")),
        ("bshufnone", |b| b.bitshuffle("none")),
        ("blosc_blosclz", |b| b.blosc("blosclz", 5, 1)),
        ("blosc_lz4", |b| b.blosc("lz4", 5, 0)),
        ("blosc_lz4hc", |b| b.blosc("lz4hc", 9, 2)),
        ("blosc_zlib", |b| b.blosc("zlib", 5, 1)),
        ("blosc_zstd", |b| b.blosc("zstd", 5, 2)),
        ("blosc_0", |b| b.blosc("lz4", 0, 1)),
        ("blosc2_blosclz", |b| b.blosc2("blosclz", 5, 1)),
        ("blosc2_lz4", |b| b.blosc2("lz4", 5, 2)),
        ("blosc2_lz4hc", |b| b.blosc2("lz4hc", 5, 0)),
        ("blosc2_zlib", |b| b.blosc2("zlib", 5, 3)),
        ("blosc2_zstd", |b| b.blosc2("zstd", 5, 1)),
        ("blosc2_trunc", |b| b.blosc2("lz4", 5, 4)),
        ("blosc2_0", |b| b.blosc2("blosclz", 0, 1)),
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
ids.update({n: 32001 for n in ('blosc_blosclz', 'blosc_lz4', 'blosc_lz4hc', 'blosc_zlib',
                               'blosc_zstd', 'blosc_0')})
ids.update({n: 32026 for n in ('blosc2_blosclz', 'blosc2_lz4', 'blosc2_lz4hc', 'blosc2_zlib',
                               'blosc2_zstd', 'blosc2_trunc', 'blosc2_0')})
for name, fid in ids.items():
    d = f[name + '_i4']
    assert str(fid) in d._filters, d._filters
    assert (d[()] == ramp).all(), name
    assert np.allclose(f[name + '_f8'][()], wave), name
assert f['zstd22_i4']._filters['32015'] == (22,)
assert f['bzip2_i4']._filters['307'] == (9,)
assert f['bshufzstd_i4']._filters['32008'] == (0, 4, 4, 0, 3, 3), f['bshufzstd_i4']._filters
# the client data hdf5plugin's set_local stores for the same options (2-D chunks: B2ND)
assert f['blosc_lz4hc_i4']._filters['32001'] == (2, 2, 4, 320, 9, 2, 2), f['blosc_lz4hc_i4']._filters
assert f['blosc2_zlib_f8']._filters['32026'] == (1, 0, 8, 400, 5, 3, 4, 2, 5, 10), f['blosc2_zlib_f8']._filters
# the same, written by hdf5plugin, for comparison
g = h5py.File(f.filename + '.twin.h5', 'w', libver=f.libver)
a = g.create_dataset('a', data=ramp.astype('<i4'), chunks=(10, 8), **hdf5plugin.Blosc('lz4hc', 9, 2))
b = g.create_dataset('b', data=wave, chunks=(5, 10), shuffle=True, **hdf5plugin.Blosc2('zlib', 5, 3))
assert a._filters['32001'] == f['blosc_lz4hc_i4']._filters['32001'], a._filters
assert b._filters['32026'] == f['blosc2_zlib_f8']._filters['32026'], b._filters
# chunks hdf5plugin could not shrink (clevel 0, trunc_prec) are stored raw, filter mask set
assert f['blosc_0_i4'].id.read_direct_chunk((0, 0))[0] == 1
assert f['blosc2_trunc_i4'].id.read_direct_chunk((0, 0))[0] == 1
assert f['blosc2_lz4_i4'].id.read_direct_chunk((0, 0))[0] == 0",
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
    let refused = |b: h5::DatasetBuilder, needle: &str| {
        let e = b.create("x").unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    };
    let ints = || f.new_dataset::<i32>().shape(&[10]);
    refused(
        ints().blosc("lzma", 5, 1),
        "blosc compression must be one of",
    );
    refused(
        ints().blosc("lz4", 10, 1),
        "blosc level must be in 0-9, not 10",
    );
    refused(ints().blosc("lz4", 5, 3), "blosc shuffle must be one of");
    refused(ints().blosc2("zstd", 5, 5), "blosc2 filters must be one of");
}

/// A filter of our own, registered as libhdf5's `H5Zregister` registers one: here it takes
/// over id 32015 (zstd), counting the chunks it decodes and handing them to the built-in.
#[derive(Default)]
struct Counting {
    chunks: std::sync::atomic::AtomicUsize,
}

impl h5::filters::Filter for Counting {
    fn id(&self) -> u16 {
        h5::filters::id::ZSTD
    }
    fn decode(
        &self,
        params: &h5::filters::FilterParams<'_>,
        input: Vec<u8>,
        limit: usize,
    ) -> h5::filters::Result<Vec<u8>> {
        self.chunks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let builtin = h5::filters::Registry::with_builtins();
        let zstd = builtin.get(h5::filters::id::ZSTD).expect("zstd built in");
        zstd.decode(params, input, limit)
    }
}

#[test]
fn registered_filters_decode_chunks() {
    struct Shared(std::sync::Arc<Counting>);
    impl h5::filters::Filter for Shared {
        fn id(&self) -> u16 {
            self.0.id()
        }
        fn decode(
            &self,
            p: &h5::filters::FilterParams<'_>,
            input: Vec<u8>,
            limit: usize,
        ) -> h5::filters::Result<Vec<u8>> {
            self.0.decode(p, input, limit)
        }
    }
    let counting = std::sync::Arc::new(Counting::default());
    let mut registry = h5::filters::Registry::with_builtins();
    registry.register(Box::new(Shared(counting.clone())));
    let path = common::root().join("fixtures/files/plugins_latest.h5");
    let f = h5::File::open_with(
        &path,
        h5::OpenOptions {
            filters: Some(std::sync::Arc::new(registry)),
            ..Default::default()
        },
    )
    .unwrap();
    let v: Vec<i32> = f.dataset("zstd_i4").unwrap().read_vec().unwrap();
    assert_eq!(v, (0..19 * 13).map(|i| i % 97).collect::<Vec<_>>());
    // 19 × 13 in chunks of 10 × 8: 2 × 2 chunks, each through our filter
    assert_eq!(
        counting.chunks.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    // without it, the built-in decodes and ours is not called
    let plain = h5::File::open(&path).unwrap();
    let _: Vec<i32> = plain.dataset("zstd_i4").unwrap().read_vec().unwrap();
    assert_eq!(
        counting.chunks.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
}

/// A filter of the user's own for writing: XORs every byte with client data value 0, at id
/// 32100 (unregistered, so no libhdf5 plugin can stand in for it).
struct Xor;

impl h5::filters::Filter for Xor {
    fn id(&self) -> u16 {
        32100
    }
    fn decode(
        &self,
        p: &h5::filters::FilterParams<'_>,
        mut input: Vec<u8>,
        _limit: usize,
    ) -> h5::filters::Result<Vec<u8>> {
        let k = p.client_data.first().copied().unwrap_or(0) as u8;
        input.iter_mut().for_each(|b| *b ^= k);
        Ok(input)
    }
    fn encode(
        &self,
        p: &h5::filters::FilterParams<'_>,
        input: Vec<u8>,
    ) -> h5::filters::Result<h5::filters::Encoded> {
        Ok(h5::filters::Encoded::Data(self.decode(
            p,
            input,
            usize::MAX,
        )?))
    }
}

/// Writing through `CreateOptions::filters` and `.filter(id, client_data)`: the user's own
/// filter encodes the chunks (libhdf5 sees its id, flags and client data in the pipeline and
/// its bytes in every chunk), and `.filter` also drives a built-in with chosen client data.
fn registered_filters_encode_chunks(libver: LibVer) {
    let mut registry = h5::filters::Registry::with_builtins();
    registry.register(Box::new(Xor));
    let registry = std::sync::Arc::new(registry);
    let path = common::tmp(&format!("xor_{libver:?}.h5"));
    let f = h5::File::create_with(
        &path,
        h5::CreateOptions {
            libver,
            filters: Some(registry.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let data: Vec<u16> = (0..100).map(|i| i * 7).collect();
    f.new_dataset::<u16>()
        .shape(&[100])
        .chunks(&[30])
        .filter(32100, &[0x5a])
        .create("xor")
        .unwrap()
        .write(&data)
        .unwrap();
    f.new_dataset::<u16>()
        .shape(&[100])
        .chunks(&[30])
        .filter(h5::filters::id::ZSTD, &[7])
        .create("zstd7")
        .unwrap()
        .write(&data)
        .unwrap();
    // a filter the registry lacks is refused at creation, as h5py refuses it
    let e = f
        .new_dataset::<u16>()
        .shape(&[100])
        .filter(32101, &[])
        .create("nope")
        .unwrap_err()
        .to_string();
    assert!(e.contains("filter 32101"), "{e}");
    f.close().unwrap();
    // read back with the registry; without it the chunk cannot be decoded
    let back = h5::File::open_with(
        &path,
        h5::OpenOptions {
            filters: Some(registry),
            ..Default::default()
        },
    )
    .unwrap();
    let v: Vec<u16> = back.dataset("xor").unwrap().read_vec().unwrap();
    assert_eq!(v, data);
    let plain = h5::File::open(&path).unwrap();
    let e = plain
        .dataset("xor")
        .unwrap()
        .read_vec::<u16>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("32100"), "{e}");
    h5py_asserts(
        &path,
        "import hdf5plugin
data = np.arange(100, dtype='u2') * 7
d = f['xor']
pl = d.id.get_create_plist()
assert pl.get_nfilters() == 1
fid, flags, cd, _name = pl.get_filter(0)
assert (fid, flags & 1, tuple(cd)) == (32100, 1, (0x5a,)), (fid, flags, cd)
for i in range(4):
    mask, raw = d.id.read_direct_chunk((i * 30,))
    assert mask == 0
    want = data[i * 30:(i + 1) * 30].tobytes()
    want = want + bytes(60 - len(want))
    assert bytes(b ^ 0x5a for b in raw) == want, i
z = f['zstd7']
assert z._filters['32015'] == (7,), z._filters
assert (z[()] == data).all()",
    );
}
crate::per_profile!(registered_filters_encode_chunks);

/// ZFP as hdf5plugin writes it: every mode, chunks of 1 to 3 dimensions with edge chunks;
/// h5py + hdf5plugin reads our files, their client data equals what hdf5plugin stores for the
/// same settings, and every chunk equals the plugin's own byte for byte.
fn zfp_chunks_are_hdf5plugins(libver: LibVer) {
    use h5::filters::zfp::Mode;
    let (path, f) = new_file("zfp", libver);
    let wave = Array2::from_shape_fn((12, 10), |(i, j)| ((i * 10 + j) as f64 / 6.0).sin());
    let ramp = Array2::from_shape_fn((19, 13), |(i, j)| ((i * 13 + j) % 97) as i32 - 40);
    let modes: [(&str, Mode, &str); 5] = [
        ("rate", Mode::Rate(12.0), "rate=12.0"),
        ("precision", Mode::Precision(20), "precision=20"),
        ("accuracy", Mode::Accuracy(0.001), "accuracy=0.001"),
        ("reversible", Mode::Reversible, "reversible=True"),
        (
            "expert",
            Mode::Expert {
                minbits: 32,
                maxbits: 1024,
                maxprec: 30,
                minexp: -60,
            },
            "minbits=32, maxbits=1024, maxprec=30, minexp=-60",
        ),
    ];
    let mut twins = String::new();
    for (name, mode, py) in modes {
        f.new_dataset::<f64>()
            .shape(&[12, 10])
            .chunks(&[5, 7])
            .zfp(mode)
            .create(&format!("{name}_f8"))
            .unwrap()
            .write(&wave)
            .unwrap();
        f.new_dataset::<i32>()
            .shape(&[19, 13])
            .chunks(&[19, 1])
            .zfp(mode)
            .create(&format!("{name}_i4"))
            .unwrap()
            .write(&ramp)
            .unwrap();
        twins += &format!(
            "g.create_dataset('{name}_f8', data=wave, chunks=(5, 7), **hdf5plugin.Zfp({py}))
g.create_dataset('{name}_i4', data=ramp, chunks=(19, 1), **hdf5plugin.Zfp({py}))
"
        );
    }
    // types H5Z-ZFP refuses are refused at creation
    let e = f
        .new_dataset::<u16>()
        .shape(&[10])
        .zfp(Mode::Reversible)
        .create("u2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("zfp codes"), "{e}");
    f.close().unwrap();
    h5py_asserts(
        &path,
        &format!(
            "import hdf5plugin, itertools
wave = np.sin(np.arange(120).reshape(12, 10) / 6.0)
ramp = ((np.arange(19 * 13) % 97) - 40).reshape(19, 13).astype('<i4')
g = h5py.File(f.filename + '.twin.h5', 'w', libver=f.libver)
{twins}g.close()
g = h5py.File(f.filename + '.twin.h5', 'r')
for name in g:
    a, b = f[name], g[name]
    assert a._filters == b._filters, (name, a._filters, b._filters)
    assert (a[()] == b[()]).all(), name
    for c in itertools.product(*[range(0, s, k) for s, k in zip(b.shape, b.chunks)]):
        assert a.id.read_direct_chunk(c) == b.id.read_direct_chunk(c), (name, c)
assert (f['reversible_f8'][()] == wave).all() and (f['reversible_i4'][()] == ramp).all()
assert np.abs(f['accuracy_f8'][()] - wave).max() <= 0.001"
        ),
    );
}
crate::per_profile!(zfp_chunks_are_hdf5plugins);

/// A registry without libhdf5's own filters refuses them at creation too, rather than
/// storing every chunk unfiltered.
#[test]
fn a_registry_without_a_filter_refuses_it() {
    let mut only_xor = h5::filters::Registry::default();
    only_xor.register(Box::new(Xor));
    let f = h5::File::create_on(
        h5::storage::VecStorage::default(),
        h5::CreateOptions {
            filters: Some(std::sync::Arc::new(only_xor)),
            ..Default::default()
        },
    )
    .unwrap();
    for (b, id) in [
        (f.new_dataset::<i32>().shape(&[10]).deflate(4), "filter 1 "),
        (f.new_dataset::<i32>().shape(&[10]).shuffle(), "filter 2 "),
        (
            f.new_dataset::<i32>().shape(&[10]).fletcher32(),
            "filter 3 ",
        ),
        (f.new_dataset::<i32>().shape(&[10]).lzf(), "filter 32000 "),
    ] {
        let e = b.create("x").unwrap_err().to_string();
        assert!(e.contains(id) && e.contains("registry"), "{e}");
    }
    f.new_dataset::<i32>()
        .shape(&[10])
        .filter(32100, &[3])
        .create("ok")
        .unwrap()
        .write([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .unwrap();
    let back: Vec<i32> = f.dataset("ok").unwrap().read_vec().unwrap();
    assert_eq!(back, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}

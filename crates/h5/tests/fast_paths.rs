//! The byte-moving fast paths (a typed read or write whose memory type is the stored type)
//! give exactly what the converting paths give: the same values read, the same file bytes
//! written, and files h5py reads back equal.
mod common;

use common::{h5py_asserts, h5py_writes, tmp};
use h5::ndarray::{Array2, ArrayD};
use h5::{File, Selection, Value};

/// One dataset of each layout, holding 0..24 as `T`, shaped (4, 6).
fn layouts(f: &File) -> h5::Result<()> {
    let data = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f64);
    let shape = [4, 6];
    f.new_dataset::<f64>()
        .shape(&shape)
        .create("contiguous")?
        .write(&data)?;
    f.new_dataset::<f64>()
        .shape(&shape)
        .compact()
        .create("compact")?
        .write(&data)?;
    let chunked = f.new_dataset::<f64>().shape(&shape).chunks(&[3, 4]);
    chunked.create("chunked")?.write(&data)?;
    let filtered = f
        .new_dataset::<i32>()
        .shape(&shape)
        .chunks(&[2, 5])
        .shuffle()
        .deflate(4);
    filtered
        .create("filtered")?
        .write(data.mapv(|x| x as i32))?;
    f.new_dataset::<u16>()
        .shape(&shape)
        .create("u16")?
        .write(data.mapv(|x| x as u16))?;
    Ok(())
}

/// The files at `a` and `b` hold the same bytes (`what` says which paths made them).
fn assert_same_bytes(a: &std::path::Path, b: &std::path::Path, what: &str) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{what}: the files differ"
    );
}

/// Every element of `ds` as `T`, through [`Value`] (the general path).
fn by_values<T: h5::H5Type>(ds: &h5::Dataset) -> h5::Result<Vec<T>> {
    ds.read_values(..)?.0.iter().map(T::from_value).collect()
}

/// What the converting path reads: every element through [`Value`].
fn by_value(ds: &h5::Dataset, sel: &Selection) -> Vec<f64> {
    ds.read_values(sel)
        .unwrap()
        .0
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn typed_reads_equal_the_converting_path_in_every_layout_and_selection() {
    let f = File::create_in_memory().unwrap();
    layouts(&f).unwrap();
    let selections = ["...", "1:3, ::2", "2", ":, 5", "0:4:3, 1:6:2", "1:2, 0:6"];
    for name in ["contiguous", "compact", "chunked", "filtered", "u16"] {
        let ds = f.dataset(name).unwrap();
        for text in selections {
            let sel = Selection::parse(text).unwrap();
            let want = by_value(&ds, &sel);
            let got: Vec<f64> = match name {
                "filtered" => ds
                    .read_slice::<i32>(&sel)
                    .unwrap()
                    .iter()
                    .map(|&x| x as f64)
                    .collect(),
                "u16" => ds
                    .read_slice::<u16>(&sel)
                    .unwrap()
                    .iter()
                    .map(|&x| x as f64)
                    .collect(),
                _ => ds
                    .read_slice::<f64>(&sel)
                    .unwrap()
                    .iter()
                    .copied()
                    .collect(),
            };
            assert_eq!(got, want, "{name}[{text}]");
            // into a buffer: the same
            let mut buf = vec![0.0f64; want.len()];
            if name == "contiguous" || name == "chunked" || name == "compact" {
                ds.read_slice_into(&sel, &mut buf).unwrap();
                assert_eq!(buf, want, "{name}[{text}] into a buffer");
            }
        }
        let points = vec![[3u64, 5], [0, 0], [2, 1]];
        let want = by_value(&ds, &Selection::from(points.clone()));
        let got: Vec<f64> = ds
            .read_slice::<f64>(points)
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(got, want, "{name} points");
    }
}

#[test]
fn read_into_checks_the_buffer_and_converts_when_types_differ() {
    let f = File::create_in_memory().unwrap();
    layouts(&f).unwrap();
    let ds = f.dataset("contiguous").unwrap();
    let mut short = vec![0.0f64; 23];
    let e = ds.read_into(&mut short).unwrap_err().to_string();
    assert!(
        e.contains("a buffer of 23 elements for a selection of 24"),
        "{e}"
    );
    // f64 stored, f32 wanted: the converting path fills the buffer
    let mut f32s = vec![0.0f32; 6];
    ds.read_slice_into(1, &mut f32s).unwrap();
    assert_eq!(f32s, [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
    let mut whole = ArrayD::<u16>::zeros(vec![4, 6]);
    f.dataset("u16")
        .unwrap()
        .read_into(whole.as_slice_mut().unwrap())
        .unwrap();
    assert_eq!(whole[[3, 5]], 23);
}

/// The same writes through the borrowed-bytes path (`write(&[T])`) and the converting path
/// (`write_values`) make byte-identical files; h5py reads the fast one back.
#[test]
fn byte_moving_writes_make_the_same_file_as_converting_writes() {
    let fast = tmp("fast.h5");
    let slow = tmp("slow.h5");
    let data: Vec<f64> = (0..24).map(|i| i as f64 * 1.5).collect();
    let values: Vec<Value> = data.iter().map(|&x| Value::Float(x)).collect();
    for (path, by_bytes) in [(&fast, true), (&slow, false)] {
        let f = File::create(path).unwrap();
        let write = |ds: &h5::Dataset, sel: &str, lo: usize, hi: usize| {
            let sel = Selection::parse(sel).unwrap();
            if by_bytes {
                let part = Array2::from_shape_vec(((hi - lo) / 6, 6), data[lo..hi].to_vec());
                ds.write_slice(sel, part.unwrap()).unwrap()
            } else {
                ds.write_values(sel, &values[lo..hi]).unwrap()
            }
        };
        let whole = f
            .new_dataset::<f64>()
            .shape(&[4, 6])
            .create("whole")
            .unwrap();
        write(&whole, "...", 0, 24);
        // a first write of some rows (the rest is the fill value), then the rest
        let rows = f
            .new_dataset::<f64>()
            .shape(&[4, 6])
            .fill_value(-1.0)
            .unwrap();
        let rows = rows.create("rows").unwrap();
        write(&rows, "1:3", 6, 18);
        let chunked = f
            .new_dataset::<f64>()
            .shape(&[4, 6])
            .chunks(&[2, 3])
            .deflate(4);
        write(&chunked.create("chunked").unwrap(), "...", 0, 24);
        let later = f
            .new_dataset::<f64>()
            .shape(&[4, 6])
            .create("later")
            .unwrap();
        write(&later, "0:2", 0, 12);
        write(&later, "2:4", 12, 24);
        f.close().unwrap();
    }
    assert_same_bytes(&fast, &slow, "the fast path and the converting path");
    h5py_asserts(
        &fast,
        "a = np.arange(24).reshape(4, 6) * 1.5
for n in ['whole', 'chunked', 'later']:
    assert (f[n][()] == a).all(), n
r = f['rows'][()]
assert (r[1:3] == a[1:3]).all() and (r[0] == -1).all() and (r[3] == -1).all(), r",
    );
}

#[derive(h5::H5Type, Debug, PartialEq, Clone)]
#[repr(u8)]
enum Phase {
    Solid,
    Liquid,
    Gas = 7,
}

#[derive(h5::H5Type, Debug, PartialEq, Clone)]
struct Inner {
    a: i16,
    ok: bool,
}

/// Every kind of part a field plan moves: numbers, fixed strings, arrays (nested), a nested
/// compound, an enum, complex.
#[derive(h5::H5Type, Debug, PartialEq, Clone)]
struct Rec {
    id: i32,
    value: f64,
    name: h5::FixedAscii<6>,
    tag: h5::FixedUtf8<8>,
    pos: [f32; 3],
    grid: [[u8; 2]; 2],
    inner: Inner,
    phase: Phase,
    z: h5::num_complex::Complex<f64>,
}

fn recs(n: usize) -> Vec<Rec> {
    (0..n)
        .map(|i| Rec {
            id: i as i32 - 3,
            value: i as f64 * 0.25,
            name: h5::FixedAscii::new(&"abcdef"[..i % 7]).unwrap(),
            tag: h5::FixedUtf8::new(if i % 2 == 0 { "héllo" } else { "" }).unwrap(),
            pos: [i as f32, -(i as f32), 0.5],
            grid: [[i as u8, 1], [2, 3]],
            inner: Inner {
                a: (i as i16).wrapping_neg(),
                ok: i % 3 == 0,
            },
            phase: [Phase::Solid, Phase::Liquid, Phase::Gas][i % 3].clone(),
            z: h5::num_complex::Complex::new(i as f64, -1.0),
        })
        .collect()
}

/// A derived struct goes through its field plan, both ways: the file is byte-identical to
/// the one the `Value` path writes, h5py reads it equal, and reading gives what `Value`s give.
#[test]
fn field_plans_write_the_value_paths_bytes_and_read_its_values() {
    let fast = tmp("plan_fast.h5");
    let slow = tmp("plan_slow.h5");
    let rows = recs(10);
    for (path, by_plan) in [(&fast, true), (&slow, false)] {
        let f = File::create(path).unwrap();
        let ds = f
            .new_dataset::<Rec>()
            .shape(&[10])
            .chunks(&[4])
            .create("rows")
            .unwrap();
        if by_plan {
            ds.write(&rows).unwrap();
        } else {
            let values: Vec<Value> = rows.iter().map(h5::H5Type::to_value).collect();
            ds.write_values(.., &values).unwrap();
        }
        f.close().unwrap();
    }
    assert_same_bytes(&fast, &slow, "the field plan and the Value path");
    let f = File::open(&fast).unwrap();
    let ds = f.dataset("rows").unwrap();
    assert_eq!(ds.read_vec::<Rec>().unwrap(), rows);
    assert_eq!(by_values::<Rec>(&ds).unwrap(), rows);
    assert_eq!(
        ds.read_slice::<Rec>(3..5)
            .unwrap()
            .into_raw_vec_and_offset()
            .0,
        rows[3..5]
    );
    h5py_asserts(
        &fast,
        "r = f['rows'][()]
assert list(r['id']) == [i - 3 for i in range(10)], r['id']
assert list(r['value']) == [i * 0.25 for i in range(10)]
assert [x.decode() for x in r['name']] == ['abcdef'[:i % 7] for i in range(10)], r['name']
assert [x.decode() for x in r['tag']] == ['héllo' if i % 2 == 0 else '' for i in range(10)]
assert (r['pos'][:, 0] == np.arange(10)).all() and (r['pos'][:, 2] == 0.5).all()
assert r['grid'].shape == (10, 2, 2) and list(r['grid'][:, 0, 0]) == list(range(10))
assert list(r['inner']['a']) == [-i for i in range(10)]
assert list(r['inner']['ok']) == [i % 3 == 0 for i in range(10)]
assert list(r['phase']) == [[0, 1, 7][i % 3] for i in range(10)]
assert (r['z'] == np.arange(10) - 1j).all(), r['z']",
    );
}

#[derive(h5::H5Type, Debug, PartialEq)]
struct Sub {
    id: i32,
    value: f64,
}

/// A file compound with the fields in another order, among other members, is read by member
/// name through the plan; a member of another type falls back to the converting path. Both
/// give what the `Value` path gives.
#[test]
fn field_plans_find_members_by_name_and_fall_back_on_other_types() {
    use h5::types::{compound, float64};
    use h5::H5Type;
    let f = File::create_in_memory().unwrap();
    let cases = [
        (
            "reordered",
            compound(&[
                ("extra", i64::datatype()),
                ("value", float64()),
                ("id", i32::datatype()),
            ]),
        ),
        (
            "wider",
            compound(&[("id", i64::datatype()), ("value", float64())]),
        ),
    ];
    for (name, dt) in cases {
        let values: Vec<Value> = (0..5)
            .map(|i| {
                let mut fields = vec![
                    ("id".to_string(), Value::Int(i * 10)),
                    ("value".to_string(), Value::Float(i as f64 / 2.0)),
                ];
                if name == "reordered" {
                    fields.push(("extra".to_string(), Value::Int(-1)));
                }
                Value::Compound(fields)
            })
            .collect();
        let ds = f.new_dataset_of(dt).shape(&[5]).create(name).unwrap();
        ds.write_values(.., &values).unwrap();
        let want: Vec<Sub> = (0..5)
            .map(|i| Sub {
                id: i * 10,
                value: i as f64 / 2.0,
            })
            .collect();
        assert_eq!(ds.read_vec::<Sub>().unwrap(), want, "{name}");
    }
}

/// A large one-run write of a derived type streams while it is encoded and makes the `Value`
/// path's bytes. A large one-run read of it is read in parts on every core (parts of 256 KiB:
/// the datasets here span several), each element
/// decoded straight into the result: it gives what the `Value` path gives, whole and for a
/// one-run slice; an element the type refuses (an enum value with no member, far into the
/// data) fails the read with an error instead of a panic; fixed strings with bytes after
/// their NUL, or that are not ASCII, read as the `Value` path reads them.
#[test]
fn parallel_field_plan_reads_equal_the_value_path_and_fail_cleanly() {
    use h5::H5Type;
    let n = 100_000;
    let rows = recs(n);
    let path = tmp("plan_parallel.h5");
    let slow = tmp("plan_parallel_values.h5");
    // 6 MB of rows: streamed to the file while they are encoded; the Value path's file is
    // the same bytes
    for (p, by_plan) in [(&path, true), (&slow, false)] {
        let f = File::create(p).unwrap();
        let ds = f
            .new_dataset::<Rec>()
            .shape(&[n as u64])
            .create("rows")
            .unwrap();
        if by_plan {
            ds.write(&rows).unwrap();
        } else {
            let values: Vec<Value> = rows.iter().map(H5Type::to_value).collect();
            ds.write_values(.., &values).unwrap();
        }
        f.close().unwrap();
    }
    assert_same_bytes(&path, &slow, "the streamed write and the Value path");
    h5py_asserts(
        &path,
        "r = f['rows'][()]
assert len(r) == 100000 and (r['id'] == np.arange(100000) - 3).all(), r['id']
assert (r['value'] == np.arange(100000) * 0.25).all()
assert r['name'][99999] == b'abcdef'[:99999 % 7], r['name'][99999]",
    );
    let f = File::open(&path).unwrap();
    let ds = f.dataset("rows").unwrap();
    assert_eq!(ds.read_vec::<Rec>().unwrap(), rows);
    assert_eq!(by_values::<Rec>(&ds).unwrap(), rows);
    let part = ds.read_slice::<Rec>(1234..51234).unwrap();
    assert_eq!(part.into_raw_vec_and_offset().0, rows[1234..51234]);

    let made = h5py_writes(
        "plan_parallel_refused",
        "earliest",
        "    e = h5py.enum_dtype({'Solid': 0, 'Liquid': 1, 'Gas': 7}, basetype='u1')
    v = np.array([0, 1, 7] * 200000, 'u1'); v[456789] = 5
    f.create_dataset('phase', data=v, dtype=e)
    s = np.array([b'abc'] * 200000, 'S6')
    s[7] = b'ab\\0xyz'; s[50000] = b'\\xe9t\\xe9'; s[50001] = b'\\xff\\xfe'
    f.create_dataset('names', data=s)",
    );
    let f = File::open(&made).unwrap();
    let err = f
        .dataset("phase")
        .unwrap()
        .read_vec::<Phase>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("5 is not a member of Phase"), "{err}");
    let names = f.dataset("names").unwrap();
    let fast = names.read_vec::<h5::FixedAscii<6>>();
    let slow = by_values::<h5::FixedAscii<6>>(&names);
    match (fast, slow) {
        (Ok(fast), Ok(slow)) => {
            assert_eq!(fast, slow);
            assert_eq!(fast[7].as_str(), "ab");
            assert_eq!(fast[1].as_str(), "abc");
        }
        // the read names the dataset; the test's own conversion does not
        (Err(fast), Err(slow)) => {
            assert_eq!(fast.to_string(), format!("/names: {slow}"));
        }
        (fast, slow) => panic!("the plan gives {fast:?}, the Value path {slow:?}"),
    }
    let utf8 = names.read_vec::<h5::FixedUtf8<12>>().unwrap();
    assert_eq!(utf8[7].as_str(), "ab");
    assert_eq!(utf8[50000].as_str(), "\u{fffd}t\u{fffd}");
}

/// A large one-run read of numbers of another stored type is read and converted in parts
/// on every core: it gives what the `Value` path gives, for numpy's layouts and others
/// (big-endian), widening and narrowing (clipped as libhdf5 clips), whole and for a slice.
#[test]
fn parallel_conversions_equal_the_value_path() {
    use h5::H5Type;
    let made = h5py_writes(
        "parallel_conversions",
        "earliest",
        "    n = 300000
    f.create_dataset('f4', data=(np.arange(n, dtype='f4') - 1000.5) * 7.25)
    f.create_dataset('be', data=(np.arange(n) % 65536 - 32768).astype('>i2'))
    f.create_dataset('u8', data=np.arange(n, dtype='u8') * np.uint64(123456789))",
    );
    let f = File::open(&made).unwrap();
    fn check<T: H5Type + PartialEq + std::fmt::Debug>(ds: &h5::Dataset) {
        let slow = by_values::<T>(ds).unwrap();
        assert_eq!(ds.read_vec::<T>().unwrap(), slow, "{}", ds.name());
        let part = ds.read_slice::<T>(12345..234567).unwrap();
        assert_eq!(part.into_raw_vec_and_offset().0, slow[12345..234567]);
    }
    for name in ["f4", "be", "u8"] {
        let ds = f.dataset(name).unwrap();
        check::<f64>(&ds);
        check::<i32>(&ds);
        check::<u8>(&ds);
        check::<f32>(&ds);
    }
}

/// Memory storage whose large writes fail after the first two, as a disk that fills up
/// part-way through a write does.
#[derive(Debug, Default)]
struct FailsLater(h5::storage::VecStorage, std::sync::atomic::AtomicUsize);

impl h5::storage::Storage for FailsLater {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        if data.len() >= 128 << 10 && self.1.fetch_add(1, Ordering::SeqCst) >= 2 {
            // slowly: an encoder running ahead is waiting for a buffer by then
            std::thread::sleep(std::time::Duration::from_millis(100));
            return Err(std::io::Error::other("no space left (test)"));
        }
        self.0.write_at(offset, data)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn writable(&self) -> bool {
        true
    }
}

/// A streamed write whose storage fails part-way returns the storage's error: the encoder
/// thread, waiting for a buffer or sending a piece, stops, and nothing waits forever.
#[test]
fn a_streamed_write_that_fails_returns_the_error() {
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rows = recs(200_000); // 12 MB: streamed in pieces of about 256 KiB
        let f = File::create_on(FailsLater::default(), Default::default()).unwrap();
        let ds = f
            .new_dataset::<Rec>()
            .shape(&[rows.len() as u64])
            .create("rows")
            .unwrap();
        let _ = done.send(ds.write(&rows).map_err(|e| e.to_string()));
    });
    let got = wait
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the failed write did not return within a minute");
    let err = got.unwrap_err();
    assert!(err.contains("no space left (test)"), "{err}");
}

/// A type with a field plan whose encoding refuses one value (`u32::MAX`), as a hand-written
/// `Fixed` may.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Picky(u32);

impl h5::H5Type for Picky {
    fn datatype() -> h5::Datatype {
        <u32 as h5::H5Type>::datatype()
    }
    fn to_value(&self) -> Value {
        Value::UInt(u64::from(self.0))
    }
    fn from_value(v: &Value) -> h5::Result<Self> {
        <u32 as h5::H5Type>::from_value(v).map(Picky)
    }
    fn fixed() -> Option<h5::Fixed<Self>> {
        Some(h5::Fixed {
            plan: h5::when_equal::<Self>,
            decode: |_, b| Ok(Picky(u32::from_le_bytes(b.try_into().unwrap_or_default()))),
            encode: |_, x, b| match x.0 {
                u32::MAX => Err(h5::Error::Conversion("Picky refuses u32::MAX".into())),
                v => h5::put(&v.to_le_bytes(), b),
            },
        })
    }
}

/// A large write of such elements that is not one run of a new dataset's storage is encoded
/// before anything changes: when an element is refused, the dataset keeps no storage and
/// still reads as its fill value, here and in h5py.
#[test]
fn a_refused_element_leaves_an_unwritten_dataset_as_it_was() {
    let path = tmp("refused_element.h5");
    let f = File::create(&path).unwrap();
    let ds = f
        .new_dataset::<Picky>()
        .shape(&[2_000_000])
        .fill_value(Picky(7))
        .unwrap()
        .create("d")
        .unwrap();
    let mut v = vec![Picky(1); 1_500_000]; // 6 MB: large enough to stream, were it one run
    v[1_400_000] = Picky(u32::MAX);
    let err = ds.write_slice(0..1_500_000, &v).unwrap_err().to_string();
    assert!(err.contains("Picky refuses"), "{err}");
    assert_eq!(ds.layout(), h5::LayoutKind::Contiguous);
    let back = ds.read_vec::<Picky>().unwrap();
    assert!(
        back.iter().all(|&p| p == Picky(7)),
        "the fill value was lost"
    );
    f.close().unwrap();
    h5py_asserts(
        &path,
        "d = f['d']
assert d.id.get_storage_size() == 0, d.id.get_storage_size()
assert d.shape == (2000000,) and (d[()] == 7).all()",
    );
}

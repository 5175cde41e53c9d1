//! The h5 side of every workload. Each `setup` loads its inputs untimed and returns the timed
//! part, which returns the digest of what it read (`None` for writes: the driver has h5py
//! digest the file). `h5py_bench.py` holds the same workloads for h5py, name by name.
use crate::sizes::Sizes;
use h5::ndarray::{ArrayView2, ArrayView3};
use h5::{File, FixedAscii, H5Type};
use std::path::{Path, PathBuf};

type R<T> = Result<T, Box<dyn std::error::Error>>;
/// The timed part of a workload.
pub type Timed = Box<dyn FnOnce() -> R<Option<Digest>>>;
/// A read's digest, computed after the clock stops (as the h5py side does).
pub type Digest = Box<dyn FnOnce() -> String>;

/// The compound row of W11, as h5py's `[("id", "<i4"), ("value", "<f8"), ("name", "S16")]`.
#[derive(H5Type, Clone, Debug)]
pub struct Row {
    id: i32,
    value: f64,
    name: FixedAscii<16>,
}

/// The workloads of the main table, in order. The filter workloads ([`filter_workloads`])
/// follow them.
pub const MAIN: &[&str] = &[
    "W1", "W2", "W3", "W4", "W5", "W6", "W7a", "W7b", "W8a", "W8b", "W9a", "W9b", "W10", "W11a",
    "W11b", "W12-1", "W12-2", "W12-4", "W13",
];

/// How the filter table's datasets are made: the first frames of the movie, one chunk per
/// frame, through one filter alone (no shuffle unless the filter does its own), so that the
/// time is the codec's. `F-<key>-w` writes them, `F-<key>-r` reads h5py's file back.
/// h5py_bench.py's `FILTERS` has the same keys with hdf5plugin's settings.
pub struct FilterCase {
    /// The workload key.
    pub key: &'static str,
    /// What it is, for the table.
    pub what: &'static str,
    /// The builder settings (`None`: h5 reads this filter but does not write it).
    pub apply: Option<fn(h5::DatasetBuilder) -> h5::DatasetBuilder>,
    /// How the movie's values are stored.
    pub stored: Stored,
}

/// The type the filter table stores the movie's values (all below 4096) as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// `u16`.
    U16,
    /// A 12-bit unsigned integer in 2 bytes (read and written as `u16`): bits n-bit packs.
    U12,
    /// `f32`, for codecs of floats.
    F32,
}

impl Stored {
    /// The file's type.
    fn dtype(self) -> h5::Datatype {
        match self {
            Stored::U16 => u16::datatype(),
            Stored::U12 => h5::Datatype::Integer {
                size: 2,
                order: h5::ByteOrder::Little,
                signed: false,
                bit_offset: 0,
                precision: 12,
                bitfield: false,
            },
            Stored::F32 => f32::datatype(),
        }
    }
    /// Bytes per value in memory.
    pub fn value_bytes(self) -> u64 {
        if self == Stored::F32 {
            4
        } else {
            2
        }
    }
}

const fn case(
    key: &'static str,
    what: &'static str,
    apply: Option<fn(h5::DatasetBuilder) -> h5::DatasetBuilder>,
    stored: Stored,
) -> FilterCase {
    FilterCase {
        key,
        what,
        apply,
        stored,
    }
}

/// Every filter of the throughput table.
pub const FILTERS: &[FilterCase] = &[
    case("gzip", "gzip 4", Some(|b| b.deflate(4)), Stored::U16),
    case("lzf", "LZF", Some(|b| b.lzf()), Stored::U16),
    case(
        "szip",
        "szip nn, 8 pixels/block",
        Some(|b| b.szip(true, 8)),
        Stored::U16,
    ),
    case(
        "scaleoffset",
        "scale-offset, automatic bits",
        Some(|b| b.scale_offset(0)),
        Stored::U16,
    ),
    case(
        "nbit",
        "n-bit (the movie as a 12-bit integer)",
        Some(|b| b.nbit()),
        Stored::U12,
    ),
    case("lz4", "LZ4", Some(|b| b.lz4()), Stored::U16),
    case("zstd", "zstd 3", Some(|b| b.zstd(3)), Stored::U16),
    case("bzip2", "bzip2 9", Some(|b| b.bzip2(9)), Stored::U16),
    case(
        "bshuf",
        "bitshuffle + LZ4",
        Some(|b| b.bitshuffle("lz4")),
        Stored::U16,
    ),
    case(
        "blosc-lz4",
        "Blosc lz4 5, byte shuffle",
        Some(|b| b.blosc("lz4", 5, 1)),
        Stored::U16,
    ),
    case(
        "blosc-blosclz",
        "Blosc blosclz 5, byte shuffle",
        Some(|b| b.blosc("blosclz", 5, 1)),
        Stored::U16,
    ),
    case(
        "blosc-zstd",
        "Blosc zstd 5, bit shuffle",
        Some(|b| b.blosc("zstd", 5, 2)),
        Stored::U16,
    ),
    case(
        "blosc2-blosclz",
        "Blosc2 blosclz 5, shuffle",
        Some(|b| b.blosc2("blosclz", 5, 1)),
        Stored::U16,
    ),
    case(
        "blosc2-lz4",
        "Blosc2 lz4 5, shuffle",
        Some(|b| b.blosc2("lz4", 5, 1)),
        Stored::U16,
    ),
    case(
        "zfp",
        "ZFP rate 16 (the movie as f32)",
        Some(|b| b.zfp(h5::filters::zfp::Mode::Rate(16.0))),
        Stored::F32,
    ),
];

/// `F-<key>-w` and `F-<key>-r` for every filter case (no write where h5 cannot write it).
pub fn filter_workloads() -> Vec<String> {
    let mut out = Vec::new();
    for c in FILTERS {
        if c.apply.is_some() {
            out.push(format!("F-{}-w", c.key));
        }
        out.push(format!("F-{}-r", c.key));
    }
    out
}

/// Every workload, in table order.
pub fn all() -> Vec<String> {
    let mut v: Vec<String> = MAIN.iter().map(|w| w.to_string()).collect();
    v.extend(filter_workloads());
    v
}

/// The filter case of an `F-<key>-<w|r>` workload.
pub fn filter_case(w: &str) -> Option<(&'static FilterCase, bool)> {
    let rest = w.strip_prefix("F-")?;
    let (key, dir) = rest.rsplit_once('-')?;
    let c = FILTERS.iter().find(|c| c.key == key)?;
    Some((c, dir == "w"))
}

/// Whether `w` writes a file (which the driver then has h5py check).
pub fn writes(w: &str) -> bool {
    matches!(w, "W1" | "W3" | "W6" | "W7a" | "W8a" | "W9a" | "W11a")
        || filter_case(w).is_some_and(|(_, write)| write)
}

/// What `w` does, for the table.
pub fn describe(w: &str, s: &Sizes) -> String {
    let [t, h, wd] = s.movie;
    let movie = format!("u16 movie ({t},{h},{wd}), chunks (1,{h},{wd})");
    let mib = |bytes: u64| format!("{} MiB", bytes >> 20);
    match w {
        "W1" => format!("write contiguous f64, {}", mib(s.w1_n * 8)),
        "W2" => "read it back".into(),
        "W3" => format!("write {movie}, shuffle + gzip 4"),
        "W4" => "read the gzip movie".into(),
        "W5" => {
            let c = s.crop;
            format!("crop [:, {}:{}, {}:{}]", c[1][0], c[1][1], c[2][0], c[2][1])
        }
        "W6" => format!(
            "append {} f32 frames {:?} (resize + write each)",
            s.append_frames, s.frame
        ),
        "W7a" => format!(
            "create {}×{} groups × 3 attributes",
            s.groups[0], s.groups[1]
        ),
        "W7b" => "visit them + read every attribute".into(),
        "W8a" => "write the movie, shuffle + LZF".into(),
        "W8b" => "read the LZF movie".into(),
        "W9a" => format!("write {} small datasets ({} f64)", s.small_n, s.small_len),
        "W9b" => "read them".into(),
        "W10" => format!("{} single-element reads", s.points),
        "W11a" => format!("write {} compound rows {{i32, f64, S16}} (derive)", s.rows),
        "W11b" => "read them (derive)".into(),
        "W12-1" | "W12-2" | "W12-4" => {
            format!("gzip movie read by {} thread(s), one File", &w[4..])
        }
        "W13" => format!("read {} f4 as f64", s.f4_n),
        _ => match filter_case(w) {
            Some((c, true)) => format!("write {}", c.what),
            Some((c, false)) => format!("read {}", c.what),
            None => w.into(),
        },
    }
}

fn raw<T: bytemuck::Pod>(dir: &Path, name: &str) -> R<Vec<T>> {
    // read straight into the values: the input's peak memory is the input
    let mut f = std::fs::File::open(dir.join(name))?;
    let len = usize::try_from(f.metadata()?.len())?;
    let mut v = vec![T::zeroed(); len / std::mem::size_of::<T>()];
    std::io::Read::read_exact(&mut f, bytemuck::cast_slice_mut(&mut v))?;
    Ok(v)
}

/// CRC-32 of the values' little-endian bytes (Python: `zlib.crc32(a.tobytes())`).
pub fn crc<T: bytemuck::NoUninit>(v: &[T]) -> String {
    const {
        assert!(
            cfg!(target_endian = "little"),
            "digests assume a little-endian host"
        )
    };
    format!("{:08x}", crc32fast::hash(bytemuck::cast_slice(v)))
}

fn bits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn digest(d: impl FnOnce() -> String + 'static) -> R<Option<Digest>> {
    Ok(Some(Box::new(d)))
}

/// Set up workload `w` over the inputs in `dir`, writing to `out` if it writes.
pub fn setup(w: &str, s: &Sizes, dir: &Path, out: &Path) -> R<Timed> {
    let out = out.to_path_buf();
    let inputs = dir;
    let dir = dir.to_path_buf();
    let s = s.clone();
    let w = w.to_string();
    let at = move |name: &str| -> PathBuf { dir.join(name) };
    Ok(match w.as_str() {
        "W1" => {
            let a: Vec<f64> = raw(inputs, "f64.bin")?;
            Box::new(move || {
                let f = File::create(&out)?;
                f.new_dataset::<f64>()
                    .shape(&[a.len() as u64])
                    .create("data")?
                    .write(&a)?;
                f.close()?;
                Ok(None)
            })
        }
        "W2" => Box::new(move || {
            let v = File::open(at("ref_w1.h5"))?
                .dataset("data")?
                .read_vec::<f64>()?;
            digest(move || crc(&v))
        }),
        "W3" | "W8a" => {
            let m: Vec<u16> = raw(inputs, "movie.bin")?;
            let gzip = w == "W3";
            Box::new(move || {
                let f = File::create(&out)?;
                let [_, h, wd] = s.movie;
                let b = f
                    .new_dataset::<u16>()
                    .shape(&s.movie)
                    .chunks(&[1, h, wd])
                    .shuffle();
                let b = if gzip { b.deflate(4) } else { b.lzf() };
                let [t, h, wd] = s.movie.map(|n| n as usize);
                b.create("movie")?
                    .write(ArrayView3::from_shape((t, h, wd), &m)?)?;
                f.close()?;
                Ok(None)
            })
        }
        "W4" | "W8b" => Box::new(move || {
            let name = if w == "W4" {
                "ref_movie_gzip.h5"
            } else {
                "ref_movie_lzf.h5"
            };
            let v = File::open(at(name))?.dataset("movie")?.read_vec::<u16>()?;
            digest(move || crc(&v))
        }),
        "W5" => Box::new(move || {
            let c = s.crop;
            let sel = (c[0][0]..c[0][1], c[1][0]..c[1][1], c[2][0]..c[2][1]);
            let a = File::open(at("ref_movie_gzip.h5"))?
                .dataset("movie")?
                .read_slice::<u16>(sel)?;
            digest(move || crc(&a.iter().copied().collect::<Vec<_>>()))
        }),
        "W6" => {
            let fr: Vec<f32> = raw(inputs, "frames.bin")?;
            Box::new(move || {
                let [fh, fw] = s.frame;
                let f = File::create(&out)?;
                let mut d = f
                    .new_dataset::<f32>()
                    .shape(&[0, fh, fw])
                    .maxshape(&[None, Some(fh), Some(fw)])
                    .chunks(&[1, fh, fw])
                    .create("frames")?;
                let n = (fh * fw) as usize;
                for (k, frame) in fr.chunks_exact(n).enumerate() {
                    d.resize_axis(0, k as u64 + 1)?;
                    let frame = ArrayView2::from_shape((fh as usize, fw as usize), frame)?;
                    d.write_slice(k as u64, frame)?;
                }
                f.close()?;
                Ok(None)
            })
        }
        "W7a" => Box::new(move || {
            let f = File::create(&out)?;
            let [g1, g2] = s.groups;
            for i in 0..g1 {
                let g = f.create_group(&format!("g{i:03}"))?;
                for j in 0..g2 {
                    let sub = g.create_group(&format!("s{j:03}"))?;
                    let k = i * g2 + j;
                    let a = sub.attrs();
                    a.set("a", k as i64)?;
                    a.set("b", k as f64 * 0.5)?;
                    a.set("c", format!("name{i}-{j}").as_str())?;
                }
            }
            f.close()?;
            Ok(None)
        }),
        "W7b" => Box::new(move || {
            let f = File::open(at("ref_groups.h5"))?;
            let (mut n, mut sa, mut sb, mut lc) = (0u64, 0i64, 0f64, 0usize);
            f.visit_items(|_, node| -> h5::Result<()> {
                if let h5::Node::Group(g) = node {
                    let a = g.attrs();
                    if let Ok(x) = a.get::<i64>("a") {
                        n += 1;
                        sa += x;
                        sb += a.get::<f64>("b")?;
                        lc += a.get::<String>("c")?.len();
                    }
                }
                Ok(())
            })?;
            digest(move || format!("{n}:{sa}:{}:{lc}", bits(sb)))
        }),
        "W9a" => Box::new(move || {
            let f = File::create(&out)?;
            let m = s.small_len;
            for i in 0..s.small_n {
                let v: Vec<f64> = (i * m..(i + 1) * m).map(|x| x as f64).collect();
                f.create_dataset(&format!("d{i:05}"), &v)?;
            }
            f.close()?;
            Ok(None)
        }),
        "W9b" => Box::new(move || {
            let f = File::open(at("ref_small.h5"))?;
            let mut total = 0.0;
            for i in 0..s.small_n {
                let v = f.dataset(&format!("d{i:05}"))?.read_vec::<f64>()?;
                total += v.iter().sum::<f64>();
            }
            digest(move || bits(total))
        }),
        "W10" => Box::new(move || {
            let f = File::open(at("ref_w1.h5"))?;
            let d = f.dataset("data")?;
            let mut total = 0.0;
            for i in s.points() {
                total += d.read_slice::<f64>(i)?.first().ok_or("no element")?;
            }
            digest(move || bits(total))
        }),
        "W11a" => {
            let rows = rows(&inputs.join("rows.bin"))?;
            Box::new(move || {
                let f = File::create(&out)?;
                f.create_dataset("rows", &rows)?;
                f.close()?;
                Ok(None)
            })
        }
        "W11b" => Box::new(move || {
            let rows = File::open(at("ref_rows.h5"))?
                .dataset("rows")?
                .read_vec::<Row>()?;
            digest(move || rows_crc(&rows))
        }),
        "W12-1" | "W12-2" | "W12-4" => {
            let threads: u64 = w[4..].parse()?;
            Box::new(move || {
                let f = File::open(at("ref_movie_gzip.h5"))?;
                let d = f.dataset("movie")?;
                let n = s.movie[0];
                let parts = std::thread::scope(|sc| {
                    let hs: Vec<_> = (0..threads)
                        .map(|k| {
                            let d = &d;
                            sc.spawn(move || {
                                d.read_slice::<u16>(k * n / threads..(k + 1) * n / threads)
                            })
                        })
                        .collect();
                    hs.into_iter()
                        .map(|h| h.join().expect("reader thread panicked"))
                        .collect::<h5::Result<Vec<_>>>()
                })?;
                // the parts are joined for the digest, after the clock: the workload is the
                // reading (joining 64 MiB in one thread would cap any scaling)
                digest(move || {
                    let mut all: Vec<u16> = Vec::new();
                    for a in &parts {
                        all.extend(a.iter());
                    }
                    crc(&all)
                })
            })
        }
        "W13" => Box::new(move || {
            let v = File::open(at("ref_f4.h5"))?
                .dataset("data")?
                .read_vec::<f64>()?;
            digest(move || crc(&v))
        }),
        other => match filter_case(other) {
            Some((c, write)) => filter_workload(c, write, &s, inputs, &at(""), &out)?,
            None => return Err(format!("unknown workload {other}").into()),
        },
    })
}

/// The first `s.filter_frames` frames of the movie, as `u16` or as `f32`.
enum FilterData {
    U16(Vec<u16>),
    F32(Vec<f32>),
}

fn filter_workload(
    c: &'static FilterCase,
    write: bool,
    s: &Sizes,
    inputs: &Path,
    dir: &Path,
    out: &Path,
) -> R<Timed> {
    let [_, h, wd] = s.movie;
    let shape = [s.filter_frames, h, wd];
    let out = out.to_path_buf();
    if !write {
        let path = dir.join(format!("ref_f_{}.h5", c.key));
        let float = c.stored == Stored::F32;
        return Ok(Box::new(move || {
            let d = File::open(&path)?.dataset("movie")?;
            if float {
                let v = d.read_vec::<f32>()?;
                digest(move || crc(&v))
            } else {
                let v = d.read_vec::<u16>()?;
                digest(move || crc(&v))
            }
        }));
    }
    let apply = c.apply.ok_or("h5 does not write this filter")?;
    let mut m: Vec<u16> = raw(inputs, "movie.bin")?;
    m.truncate((shape.iter().product::<u64>()) as usize);
    let data = if c.stored == Stored::F32 {
        FilterData::F32(m.iter().map(|&x| x as f32).collect())
    } else {
        FilterData::U16(m)
    };
    let dims = shape.map(|n| n as usize);
    Ok(Box::new(move || {
        let f = File::create(&out)?;
        let new = || {
            f.new_dataset_of(c.stored.dtype())
                .shape(&shape)
                .chunks(&[1, h, wd])
        };
        match &data {
            FilterData::U16(v) => apply(new())
                .create("movie")?
                .write(ArrayView3::from_shape(dims, v)?)?,
            FilterData::F32(v) => apply(new())
                .create("movie")?
                .write(ArrayView3::from_shape(dims, v)?)?,
        }
        f.close()?;
        Ok(None)
    }))
}

/// The rows of `rows.bin`: packed 28-byte records (i32, f64, 16 bytes NUL-padded).
fn rows(path: &Path) -> R<Vec<Row>> {
    let bytes = std::fs::read(path)?;
    bytes
        .chunks_exact(28)
        .map(|r| {
            let name = std::str::from_utf8(&r[12..28])?.trim_end_matches('\0');
            Ok(Row {
                id: i32::from_le_bytes(r[0..4].try_into()?),
                value: f64::from_le_bytes(r[4..12].try_into()?),
                name: FixedAscii::new(name)?,
            })
        })
        .collect()
}

/// CRC-32 of the rows packed as h5py's dtype packs them.
fn rows_crc(rows: &[Row]) -> String {
    let mut b = Vec::with_capacity(rows.len() * 28);
    for r in rows {
        b.extend_from_slice(&r.id.to_le_bytes());
        b.extend_from_slice(&r.value.to_le_bytes());
        let mut name = [0u8; 16];
        name[..r.name.len()].copy_from_slice(r.name.as_bytes());
        b.extend_from_slice(&name);
    }
    crc(&b)
}

//! Chunks written by libhdf5 with hdf5plugin 7.1's Blosc and Blosc2 filters (c-blosc 1.21.6,
//! c-blosc2), made by `tests/data/blosc/make_blosc_vectors.py`: each must decode to the chunk
//! libhdf5 wrote into an unfiltered twin dataset. Chunks libhdf5 stored raw (the filter's bit
//! set in the chunk's mask) come back as they are.
#![cfg(all(feature = "blosc", feature = "blosc2"))]

use h5_filters::{FilterParams, Registry};
use std::io::Read;

struct Vector {
    name: String,
    id: u16,
    cd: Vec<u32>,
    elem: usize,
    mask: u32,
    chunk: Vec<u8>,
    expected: Vec<u8>,
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = b.split_at(n);
    *b = rest;
    head
}

fn u32_of(b: &mut &[u8]) -> u32 {
    u32::from_le_bytes(take(b, 4).try_into().unwrap())
}

fn load(file: &str) -> Vec<Vector> {
    let path = format!("{}/tests/data/blosc/{file}", env!("CARGO_MANIFEST_DIR"));
    let all = std::fs::read(path).unwrap();
    let mut b = &all[..];
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = u16::from_le_bytes(take(&mut b, 2).try_into().unwrap()) as usize;
        let name = String::from_utf8(take(&mut b, n).to_vec()).unwrap();
        let id = u16::from_le_bytes(take(&mut b, 2).try_into().unwrap());
        let ncd = take(&mut b, 1)[0] as usize;
        let cd = (0..ncd).map(|_| u32_of(&mut b)).collect();
        let elem = u32_of(&mut b) as usize;
        let mask = u32_of(&mut b);
        let len = u32_of(&mut b) as usize;
        let chunk = take(&mut b, len).to_vec();
        let zlen = u32_of(&mut b) as usize;
        let mut expected = Vec::new();
        flate2::read::ZlibDecoder::new(take(&mut b, zlen))
            .read_to_end(&mut expected)
            .unwrap();
        out.push(Vector {
            name,
            id,
            cd,
            elem,
            mask,
            chunk,
            expected,
        });
    }
    out
}

fn check(file: &str) -> Vec<Vector> {
    let r = Registry::with_builtins();
    let vectors = load(file);
    for v in &vectors {
        let p = [FilterParams {
            id: v.id,
            client_data: &v.cd,
            element_size: v.elem,
        }];
        let got = r
            .decode_chunk(&p, v.mask, v.chunk.clone(), v.expected.len())
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert!(got == v.expected, "{}: decoded bytes differ", v.name);
    }
    vectors
}

#[test]
fn blosc1_chunks_from_hdf5plugin_decode() {
    let v = check("blosc1.vec");
    let raw: Vec<&str> = v
        .iter()
        .filter(|v| v.mask != 0)
        .map(|v| &v.name[..])
        .collect();
    // clevel 0, a 100-byte chunk and incompressible data: the C filter fails, libhdf5 stores
    // raw (so do 300-byte u1 chunks that the fast codecs cannot shrink below 300 bytes)
    for name in ["b1_clevel0@0", "b1_small@0", "b1_noise@0"] {
        assert!(raw.contains(&name), "{name}");
    }
    assert!(raw.len() < 40 && v.len() - raw.len() > 250);
    assert!(v.iter().any(|v| v.name.starts_with("corpus:")));
    assert!(v.len() > 300);
}

#[test]
fn blosc2_chunks_from_hdf5plugin_decode() {
    let v = check("blosc2.vec");
    // zero-size and repeated-byte streams, special all-zero chunks, padded B2ND blocks
    for name in [
        "b2_const@0",
        "b2_half@0,0",
        "b2_zeros_r3@0,0,0",
        "b2_big_lz4hc_c1_f2_r3@0,0,0",
    ] {
        find(&v, name);
    }
    assert!(v.len() > 800);
    // TRUNC_PREC with hdf5plugin's precision 0 fails in c-blosc2: every such chunk is raw
    for v in &v {
        assert_eq!(v.mask != 0, v.name.contains("_f4_"), "{}", v.name);
    }
}

/// Data for the encode checks: smooth values of `elem`-byte elements, or noise.
fn sample(n: usize, elem: usize, noisy: bool) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64 ^ n as u64;
    (0..n / elem)
        .flat_map(|i| {
            let v = if noisy {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            } else {
                ((i / 4) % 50 * 3 + (i / 997) % 7) as u64
            };
            v.to_le_bytes().into_iter().cycle().take(elem)
        })
        .collect()
}

/// `v` in the vector layout, its expected bytes not zlib'd (the checking script reads them
/// as they are).
fn record(out: &mut Vec<u8>, v: &Vector) {
    out.extend((v.name.len() as u16).to_le_bytes());
    out.extend(v.name.as_bytes());
    out.extend(v.id.to_le_bytes());
    out.push(v.cd.len() as u8);
    for x in &v.cd {
        out.extend(x.to_le_bytes());
    }
    for x in [v.elem as u32, v.mask, v.chunk.len() as u32] {
        out.extend(x.to_le_bytes());
    }
    out.extend(&v.chunk);
    out.extend((v.expected.len() as u32).to_le_bytes());
    out.extend(&v.expected);
}

/// A way to damage a chunk.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

/// Our encoder's chunks for every codec × shuffle (Blosc) and codec × filter × rank (Blosc2),
/// written to `$BLOSC_DUMP` for `tests/data/blosc/check_our_chunks.py`, which stores each with
/// libhdf5's write_direct_chunk into a dataset using the hdf5plugin filter and reads it back.
/// Run: `BLOSC_DUMP=/tmp/ours.vec cargo test -p h5-filters --test blosc_vectors -- --ignored`.
#[test]
#[ignore]
fn dump_our_chunks_for_hdf5plugin() {
    let Ok(path) = std::env::var("BLOSC_DUMP") else {
        return;
    };
    let r = Registry::with_builtins();
    let mut out = Vec::new();
    let mut put = |name: String, id: u16, cd: Vec<u32>, elem: usize, data: Vec<u8>| {
        let p = [FilterParams {
            id,
            client_data: &cd,
            element_size: elem,
        }];
        let (z, mask) = r.encode_chunk(&p, &[true], data.clone()).unwrap();
        let back = r.decode_chunk(&p, mask, z.clone(), data.len()).unwrap();
        assert!(back == data, "{name}");
        let v = Vector {
            name,
            id,
            cd,
            elem,
            mask,
            chunk: z,
            expected: data,
        };
        record(&mut out, &v);
    };
    for compcode in 0..=5u32 {
        for shuffle in 0..=2u32 {
            for (elem, n, clevel, noisy) in [
                (1usize, 1000usize, 5u32, false),
                (2, 30_002, 9, false),
                (4, 140_000, 1, false),
                (8, 80_000, 5, false),
                (8, 4096, 5, true),
                (4, 100, 5, false),
                (2, 1000, 0, false),
                (3, 9999, 5, false),
            ] {
                let data = sample(n, elem, noisy);
                let cd = h5_filters::client_data::blosc(
                    elem as u32,
                    data.len() as u32,
                    clevel,
                    shuffle,
                    compcode,
                );
                let name = format!("b1_c{compcode}_s{shuffle}_e{elem}_n{n}_l{clevel}");
                put(name, h5_filters::id::BLOSC, cd.to_vec(), elem, data);
            }
        }
    }
    for compcode in [0u32, 1, 2, 4, 5] {
        for filter in 0..=4u32 {
            for (elem, dims, clevel, noisy) in [
                (4usize, vec![1000u32], 5u32, false),
                (8, vec![20, 30], 5, false),
                (2, vec![7, 11, 13], 9, false),
                (4, vec![300, 41], 1, false), // HCR codecs: blocks smaller than the chunk
                (1, vec![5, 6, 7, 8], 1, false),
                (2, vec![100, 3, 70], 1, false),
                (8, vec![40_000], 5, false),
                (8, vec![64, 70], 5, true),
                (2, vec![50, 60], 0, false),
                (4, vec![3, 5], 5, false),
            ] {
                let n = dims.iter().product::<u32>() as usize * elem;
                let data = if filter == 0 && dims.len() == 2 && !noisy && clevel == 5 && elem == 8 {
                    vec![0; n] // an all-zero chunk: a special chunk in the frame
                } else {
                    sample(n, elem, noisy)
                };
                let cd = h5_filters::client_data::blosc2(
                    elem as u32,
                    elem as u32,
                    &dims,
                    clevel,
                    filter,
                    compcode,
                );
                let name = format!("b2_c{compcode}_f{filter}_e{elem}_{dims:?}_l{clevel}");
                put(name, h5_filters::id::BLOSC2, cd, elem, data);
            }
        }
    }
    // repeated-byte and zero streams (c-blosc2 writes them too)
    for (compcode, dims) in [(1u32, vec![1000u32]), (0, vec![30, 40]), (5, vec![9000])] {
        let data: Vec<u8> =
            std::iter::repeat_n([5u8, 0, 0, 0], dims.iter().product::<u32>() as usize)
                .flatten()
                .collect();
        let cd = h5_filters::client_data::blosc2(4, 4, &dims, 5, 1, compcode);
        put(
            format!("b2_const_c{compcode}_{dims:?}"),
            h5_filters::id::BLOSC2,
            cd,
            4,
            data,
        );
    }
    std::fs::write(path, out).unwrap();
}

fn find<'a>(v: &'a [Vector], name: &str) -> &'a Vector {
    v.iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{name}"))
}

/// Decode `chunk` as `v`'s filter would; errors must name the filter, successes have the
/// expected size (decode_chunk checks it).
fn try_decode(v: &Vector, chunk: Vec<u8>) -> Result<Vec<u8>, h5_filters::Error> {
    let p = [FilterParams {
        id: v.id,
        client_data: &v.cd,
        element_size: v.elem,
    }];
    Registry::with_builtins().decode_chunk(&p, 0, chunk, v.expected.len())
}

fn is_corrupt(e: &h5_filters::Error, id: u16) -> bool {
    matches!(e, h5_filters::Error::Corrupt { id: i, .. } | h5_filters::Error::TooLarge { id: i, .. } if *i == id)
}

fn put32(c: &mut [u8], at: usize, v: u32) {
    c[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn lying_blosc1_headers_are_errors() {
    let all = load("blosc1.vec");
    let v = find(&all, "b1_big_blosclz_c1_s1_i4@0");
    assert!(v.chunk.len() > 100 && v.mask == 0);
    let c = &v.chunk;
    let nblocks = {
        let nbytes = u32::from_le_bytes(c[4..8].try_into().unwrap());
        let bs = u32::from_le_bytes(c[8..12].try_into().unwrap());
        nbytes.div_ceil(bs) as usize
    };
    assert!(nblocks > 1);
    let bstart = u32::from_le_bytes(c[16..20].try_into().unwrap()) as usize;
    let cases: Vec<(&str, Damage)> = vec![
        ("nbytes past the limit", Box::new(|c| put32(c, 4, 1 << 30))),
        ("nbytes negative", Box::new(|c| put32(c, 4, 0x8000_0000))),
        ("blocksize 0", Box::new(|c| put32(c, 8, 0))),
        ("blocksize above nbytes", Box::new(|c| put32(c, 8, 1 << 29))),
        (
            "cbytes past the end",
            Box::new(|c| {
                let n = c.len() as u32;
                put32(c, 12, n + 1)
            }),
        ),
        ("cbytes under the header", Box::new(|c| put32(c, 12, 3))),
        ("bstart negative", Box::new(|c| put32(c, 16, 0xffff_fff0))),
        (
            "bstart past the end",
            Box::new(move |c| {
                let n = c.len() as u32;
                put32(c, 16 + 4 * (nblocks - 1), n)
            }),
        ),
        ("bstart inside the header", Box::new(|c| put32(c, 16, 4))),
        (
            "csize negative",
            Box::new(move |c| put32(c, bstart, 0xffff_ff00)),
        ),
        (
            "csize huge",
            Box::new(move |c| put32(c, bstart, 0x7fff_0000)),
        ),
        ("version 3", Box::new(|c| c[0] = 3)),
        ("reserved flag", Box::new(|c| c[2] |= 0x08)),
        ("typesize 0", Box::new(|c| c[3] = 0)),
        (
            "memcpyed flag on a compressed chunk",
            Box::new(|c| c[2] |= 0x02),
        ),
        ("unknown codec", Box::new(|c| c[2] = c[2] & 0x1f | 7 << 5)),
        ("truncated to the header", Box::new(|c| c.truncate(16))),
        ("truncated in the header", Box::new(|c| c.truncate(9))),
    ];
    for (what, damage) in cases {
        let mut bad = c.clone();
        damage(&mut bad);
        let e = try_decode(v, bad).expect_err(what);
        assert!(is_corrupt(&e, 32001), "{what}: {e}");
    }
    // a memcpyed chunk that claims more than it holds
    let mut m = vec![2u8, 1, 0x02, 1];
    for x in [100u32, 100, 116] {
        m.extend(x.to_le_bytes());
    }
    m.extend([7u8; 50]);
    let e = try_decode(v, m).unwrap_err();
    assert!(is_corrupt(&e, 32001), "{e}");
}

#[test]
fn lying_blosc2_frames_are_errors() {
    let all = load("blosc2.vec");
    for name in [
        "b2_big_zlib_c1_f1_r2@0,0",
        "b2_big_zstd_c1_f3_r1@0",
        "b2_zeros_r2@0,0",
    ] {
        let v = find(&all, name);
        let c = &v.chunk;
        let hl = u32::from_be_bytes(c[11..15].try_into().unwrap()) as usize;
        let cbytes = u64::from_be_bytes(c[39..47].try_into().unwrap()) as usize;
        let index = hl + cbytes;
        assert_eq!(c[index], 5, "{name}: index chunk");
        let be32 =
            |c: &mut Vec<u8>, at: usize, v: u32| c[at..at + 4].copy_from_slice(&v.to_be_bytes());
        let be64 =
            |c: &mut Vec<u8>, at: usize, v: u64| c[at..at + 8].copy_from_slice(&v.to_be_bytes());
        let mut cases: Vec<(&str, Damage)> = vec![
            (
                "header_len huge",
                Box::new(move |c| be32(c, 11, 0x7fff_ffff)),
            ),
            ("header_len small", Box::new(move |c| be32(c, 11, 20))),
            (
                "header_len negative",
                Box::new(move |c| be32(c, 11, 0xffff_fff0)),
            ),
            (
                "frame_len past the end",
                Box::new(move |c| be64(c, 16, c.len() as u64 + 1)),
            ),
            ("frame_len huge", Box::new(move |c| be64(c, 16, u64::MAX))),
            ("cbytes huge", Box::new(move |c| be64(c, 39, 1 << 40))),
            ("cbytes negative", Box::new(move |c| be64(c, 39, u64::MAX))),
            ("nbytes huge", Box::new(move |c| be64(c, 30, 1 << 40))),
            ("chunksize 0", Box::new(move |c| be32(c, 58, 0))),
            ("typesize 0", Box::new(move |c| be32(c, 48, 0))),
            ("frame type", Box::new(|c| c[26] = 1)),
            ("magic", Box::new(|c| c[3] = b'x')),
            (
                "index offset past the data",
                Box::new(move |c| {
                    c[index + 32..index + 40].copy_from_slice(&(1u64 << 40).to_le_bytes())
                }),
            ),
            (
                "index offset unknown special",
                Box::new(move |c| {
                    c[index + 32..index + 40].copy_from_slice(&(0x88u64 << 56).to_le_bytes())
                }),
            ),
            (
                "index chunk nbytes",
                Box::new(move |c| put32(c, index + 4, 16)),
            ),
            (
                "index chunk cbytes",
                Box::new(move |c| put32(c, index + 12, 1 << 30)),
            ),
            ("truncated header", Box::new(|c| c.truncate(60))),
            (
                "truncated before the index",
                Box::new(move |c| c.truncate(index + 20)),
            ),
        ];
        if cbytes > 0 {
            cases.push((
                "chunk nbytes huge",
                Box::new(move |c| put32(c, hl + 4, 0x7fff_0000)),
            ));
            cases.push(("chunk blocksize 0", Box::new(move |c| put32(c, hl + 8, 0))));
            cases.push((
                "chunk cbytes past the data",
                Box::new(move |c| put32(c, hl + 12, 0x7fff_0000)),
            ));
            cases.push((
                "chunk bstart",
                Box::new(move |c| put32(c, hl + 32, 0x7fff_0000)),
            ));
            cases.push(("chunk version", Box::new(move |c| c[hl] = 9)));
            cases.push(("chunk filter", Box::new(move |c| c[hl + 21] = 35)));
        }
        if hl > 97 {
            // the b2nd metalayer's value offset, and its shape
            cases.push((
                "metalayer offset",
                Box::new(|c| c[100..104].copy_from_slice(&[0xff; 4])),
            ));
            cases.push((
                "b2nd shape",
                Box::new(|c| c[116..120].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff])),
            ));
        }
        for (what, damage) in cases {
            let mut bad = c.clone();
            damage(&mut bad);
            match try_decode(v, bad) {
                Err(e) => assert!(is_corrupt(&e, 32026), "{name} {what}: {e}"),
                Ok(_) => panic!("{name} {what}: decoded"),
            }
        }
    }
}

/// Fixed-seed random damage (flipped bytes, overwritten words, cuts) to valid chunks of both
/// filters: errors or, rarely, other bytes of the right size, never a panic.
#[test]
fn random_damage_never_panics() {
    let mut x = 0x1234_5678_9abc_def1u64;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    let mut vectors = load("blosc1.vec");
    vectors.extend(load("blosc2.vec"));
    vectors.retain(|v| v.mask == 0);
    let mut errors = 0;
    for (k, v) in vectors.iter().enumerate() {
        if k % 3 != 0 {
            continue;
        }
        for round in 0..60 {
            let mut bad = v.chunk.clone();
            match round % 4 {
                0 => {
                    for _ in 0..1 + rnd(3) {
                        let at = rnd(bad.len());
                        bad[at] ^= 1 << rnd(8);
                    }
                }
                1 => {
                    // damage the headers more often than the data
                    let at = rnd(bad.len().min(140).saturating_sub(4));
                    let word = [
                        0u32,
                        1,
                        0xffff_ffff,
                        0x7fff_ffff,
                        0x8000_0000,
                        rnd(1 << 20) as u32,
                    ];
                    bad[at..at + 4].copy_from_slice(&word[rnd(word.len())].to_le_bytes());
                }
                2 => bad.truncate(rnd(bad.len())),
                _ => {
                    let at = rnd(bad.len());
                    bad[at] = rnd(256) as u8;
                    bad.extend((0..rnd(20)).map(|_| rnd(256) as u8));
                }
            }
            if let Err(e) = try_decode(v, bad) {
                assert!(is_corrupt(&e, v.id), "{}: {e}", v.name);
                errors += 1;
            }
        }
    }
    assert!(errors > 5000, "{errors}");
}

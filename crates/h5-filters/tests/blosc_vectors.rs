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

fn record(
    out: &mut Vec<u8>,
    name: &str,
    id: u16,
    cd: &[u32],
    elem: usize,
    mask: u32,
    chunk: &[u8],
    raw: &[u8],
) {
    out.extend((name.len() as u16).to_le_bytes());
    out.extend(name.as_bytes());
    out.extend(id.to_le_bytes());
    out.push(cd.len() as u8);
    for v in cd {
        out.extend(v.to_le_bytes());
    }
    for v in [elem as u32, mask, chunk.len() as u32] {
        out.extend(v.to_le_bytes());
    }
    out.extend(chunk);
    out.extend((raw.len() as u32).to_le_bytes());
    out.extend(raw); // not zlib'd: the checking script reads it as is
}

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
        record(&mut out, &name, id, &cd, elem, mask, &z, &data);
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
                let cd = h5_filters::blosc::hdf5plugin_client_data(
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
                let cd = h5_filters::blosc2::hdf5plugin_client_data(
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
    std::fs::write(path, out).unwrap();
}

//! Test vectors checked against h5py (libhdf5 2.0.0, h5py 3.16): each encoded chunk below
//! was written into an h5py dataset with the same filters and one chunk
//! (`dataset.id.write_direct_chunk((0,), bytes, filter_mask=mask)`), the file closed and
//! reopened (libhdf5 keeps a direct write's mask cached until then), and read back with
//! h5py equal to the input — so libhdf5's deflate and fletcher32 and h5py's bundled liblzf
//! decode them. The tests pin our encoders to these exact bytes: a change to an encoder
//! (or a zlib-rs upgrade that changes deflate's output) must be re-checked the same way
//! before its new vectors replace these.

use crate::{fletcher32, id, lzf, FilterParams, Registry};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// xorshift64 bytes: the same generator made the inputs given to h5py.
fn xorshift(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Encode with the builtins, check the result decodes, return (bytes, mask).
fn encode(filters: &[(u16, &[u32], bool)], element_size: usize, input: &[u8]) -> (Vec<u8>, u32) {
    let r = Registry::with_builtins();
    let p: Vec<FilterParams<'_>> = filters
        .iter()
        .map(|&(id, client_data, _)| FilterParams {
            id,
            client_data,
            element_size,
        })
        .collect();
    let optional: Vec<bool> = filters.iter().map(|f| f.2).collect();
    let (out, mask) = r.encode_chunk(&p, &optional, input.to_vec()).unwrap();
    assert_eq!(
        r.decode_chunk(&p, mask, out.clone(), input.len()).unwrap(),
        input
    );
    (out, mask)
}

const LZF_TEXT: &[u8] = b"h5 LZF vector: abcabcabcabcabc; hello hello hello hello; \
    0000000000000000000000000000000000000000000000000000000000000000 end";

#[test]
fn lzf_text() {
    assert_eq!(LZF_TEXT.len(), 125);
    let (out, mask) = encode(&[(id::LZF, &[4, 261, 125], true)], 1, LZF_TEXT);
    assert_eq!(mask, 0);
    assert_eq!(
        out,
        unhex("116835204c5a4620766563746f723a20616263e00302073b2068656c6c6f20e00805023b2030e03600032065\
        6e64")
    );
}

/// Random bytes, the first 300 again at distance 8192 (the farthest reach), 264 random
/// bytes twice (one longest match), 1000 zeros (runs of longest matches at distance 1).
pub(crate) fn lzf_long_input() -> Vec<u8> {
    let mut d = xorshift(1, 8192);
    let head = d[..300].to_vec();
    d.extend_from_slice(&head);
    let x = xorshift(2, 264);
    d.extend_from_slice(&x);
    d.extend_from_slice(&x);
    d.push(x[0] ^ 0xff);
    d.extend(std::iter::repeat_n(0u8, 1000));
    d.extend_from_slice(b"the end of the long vector, the end");
    d
}

#[test]
fn lzf_long() {
    let input = lzf_long_input();
    assert_eq!(input.len(), 10056);
    let (out, mask) = encode(&[(id::LZF, &[4, 261, 10056], true)], 1, &input);
    assert_eq!(mask, 0);
    // (8790 bytes: pinned by length and checksum rather than spelled out)
    assert_eq!(out.len(), 8790);
    assert_eq!(fletcher32(&out), 0x273f_497c);
}

#[test]
fn lzf_incompressible_is_stored_raw() {
    // h5py's filter fails on it, libhdf5 sets the mask bit: as fixture `lzf_incompressible`
    let input = xorshift(3, 64);
    let (out, mask) = encode(&[(id::LZF, &[4, 261, 64], true)], 1, &input);
    assert_eq!((out, mask), (input, 1));
}

/// 64 little-endian i32 values `(i * i / 7) % 1000`.
fn ints() -> Vec<u8> {
    (0..64i32)
        .flat_map(|i| ((i * i / 7) % 1000).to_le_bytes())
        .collect()
}

/// Level 1 runs as zlib-rs level 2 and level 6 as level 9 (see `deflate`'s module docs):
/// 6 and 9 share a body and differ in the header's FLEVEL bits. Re-checked with h5py.
#[test]
fn deflate_levels() {
    let input = ints();
    for (level, want) in [
        (
            1,
            "780145c1a14e02600006c0fb7ec690b9b9310906036e18281402730612c1d92cce666133b251888c46d46aa1\
            90a1dad8e8ce4a23f000da0d46eff817145450450d759ce20c0d3471814bb4d046075df470830186b8c7039e\
            f08c178c31c50c0bbce11d2bacf1811d3eb1c711dff8c5496886abd00db7e12e3c8651988479780dcbb009db\
            f0150ee12794c279e1bad02ffc0167ff16a8",
        ),
        (
            6,
            "789c45cf210f41010085d1e79961369b1104818da0bc22980992609a629a62136d8a689a48551499aad97453\
            35c10fa00b4e73b7d3ef1704ffc508899320499a0c5972142852a24c953a110d5a74e8d267c0883153662c58\
            b266cb8e0347ce5cb9f1e0c59b2f29070b548868d363c884392b36ec3971e1ce930fa1c03c359a6110fc0067\
            ff16a8",
        ),
        (
            9,
            "78da45cf210f41010085d1e79961369b1104818da0bc22980992609a629a62136d8a689a48551499aad97453\
            35c10fa00b4e73b7d3ef1704ffc508899320499a0c5972142852a24c953a110d5a74e8d267c0883153662c58\
            b266cb8e0347ce5cb9f1e0c59b2f29070b548868d363c884392b36ec3971e1ce930fa1c03c359a6110fc0067\
            ff16a8",
        ),
    ] {
        let (out, mask) = encode(&[(id::DEFLATE, &[level], true)], 4, &input);
        assert_eq!(mask, 0);
        assert_eq!(out, unhex(want), "level {level}");
    }
}

#[test]
fn deflate_larger_than_input_is_kept() {
    // libhdf5 keeps a zlib stream up to 1.001 × input + 12 bytes (h5py stores such chunks
    // with mask 0 too)
    let input = xorshift(4, 1024);
    let (out, mask) = encode(&[(id::DEFLATE, &[6], true)], 1, &input);
    assert_eq!(mask, 0);
    assert_eq!(out.len(), 1035);
    assert_eq!(fletcher32(&out), 0xa732_862c);
}

/// 100 little-endian i32 values `i * 3 - 50`.
fn ramp() -> Vec<u8> {
    (0..100i32)
        .flat_map(|i| (i * 3 - 50).to_le_bytes())
        .collect()
}

#[test]
fn shuffle_deflate_fletcher32() {
    // h5py's order and flags for shuffle=True, compression='gzip', fletcher32=True
    let (out, mask) = encode(
        &[
            (id::SHUFFLE, &[4], true),
            (id::DEFLATE, &[4], true),
            (id::FLETCHER32, &[], false),
        ],
        4,
        &ramp(),
    );
    assert_eq!(mask, 0);
    assert_eq!(
        out,
        unhex("785e3b77f1caf55b771f3c7ef6f2cdfb4f5f7ffcfec7c8c2cec52b202c262923afa4aaa1ad6768626e65ebe0\
        ece6e9e31f141a111d9798929e955b505c565953dfd4dad1dd3771caf45973172c5eb672cdfa4d5b77ecde77\
        f0c8f153672f5cbe76f3cefd474f5fbc7ef7f1cbf7ffe88081fa60b8d8010007816a48b76734fc")
    );
}

#[test]
fn shuffle_lzf() {
    let input: Vec<u8> = (0..256i32).flat_map(|i| (i * 1000).to_le_bytes()).collect();
    let (out, mask) = encode(
        &[(id::SHUFFLE, &[4], true), (id::LZF, &[4, 261, 1024], true)],
        4,
        &input,
    );
    assert_eq!(mask, 0);
    assert_eq!(
        out,
        unhex("1f00e8d0b8a0887058402810f8e0c8b098806850382008f0d8c0a8907860483018e0d81f1f03070b0f13171b\
        1f23272a2e32363a3e42464a4e5255595d6165696d7175797d1f8084888c9094989ca0a4a7abafb3b7bbbfc3\
        c7cbcfd2d6dadee2e6eaeef2f6fa1ffd0105090d1115191d2124282c3034383c4044484c4f53575b5f63676b\
        6f73771f7a7e82868a8e92969a9ea1a5a9adb1b5b9bdc1c5c9ccd0d4d8dce0e4e8ecf0f405f7fbff03070b40\
        82021e2226c08202494d51c0820274787ca082029b9fa3c08203c6caced2a08202f1f5f9a08204181c202428\
        80820243474bc082036e72767a80820595999da1a5a9608202c0c4c8a0820000e038000001e038000002e037\
        000003e03100e038fee0b600")
    );
}

#[test]
fn fletcher32_alone() {
    let input = ramp();
    let (out, mask) = encode(&[(id::FLETCHER32, &[], false)], 4, &input);
    assert_eq!(mask, 0);
    assert_eq!(out[..400], input[..]);
    assert_eq!(out[400..], unhex("268b9973"));
}

#[test]
fn fletcher32_matches_fixture() {
    // fixtures/files/filters_earliest.h5 "fletcher32": np.arange(100, dtype="<f4") / 3 in
    // chunks of 25; the last 4 bytes of each stored chunk (h5py read_direct_chunk)
    let stored = ["5d31b239", "0a74cf65", "be807f82", "6fa6ccec"];
    for (k, want) in stored.iter().enumerate() {
        let chunk: Vec<u8> = (k * 25..k * 25 + 25)
            .flat_map(|i| (i as f32 / 3.0).to_le_bytes())
            .collect();
        let (out, mask) = encode(&[(id::FLETCHER32, &[], false)], 4, &chunk);
        assert_eq!(mask, 0);
        assert_eq!(out[100..], unhex(want), "chunk {k}");
    }
    // the first chunk whole, as stored
    let first: Vec<u8> = (0..25)
        .flat_map(|i| (i as f32 / 3.0).to_le_bytes())
        .collect();
    assert_eq!(first[..8], unhex("00000000abaaaa3e"));
}

#[test]
fn lzf_sizes_decode() {
    // 600 inputs (lengths 1..=600, patterned noise) whose streams h5py read back, some longer
    // than their input (h5py's decoder takes those too): pinned by total length and checksum
    let mut all = Vec::new();
    for n in 1..=600usize {
        let mut d = xorshift(n as u64 + 10, n);
        for (k, b) in d.iter_mut().enumerate() {
            if (k / 7) % 3 != 0 {
                *b = (k % 5) as u8;
            }
        }
        let z = lzf::compress(&d);
        assert_eq!(lzf::decompress(&z, n).unwrap(), d, "{n}");
        all.extend(z);
    }
    assert_eq!((all.len(), fletcher32(&all)), (112_129, 0x8159_98f4));
}

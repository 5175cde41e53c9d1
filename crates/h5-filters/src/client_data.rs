//! The client data hdf5plugin's filters store once their `set_local` has seen the dataset
//! (what a writer puts in the pipeline message), for every build: a registry may hold a
//! codec of the user's own for these ids even when this crate's is compiled out.

/// The client data hdf5plugin's `set_local` stores for `Blosc(cname, clevel, shuffle)` on a
/// dataset of `typesize`-byte elements (the base type's size for array types; above 255, 1)
/// and `chunk_bytes`-byte chunks. `compcode`: 0 blosclz, 1 lz4, 2 lz4hc, 3 snappy, 4 zlib,
/// 5 zstd; `shuffle`: 0 none, 1 byte, 2 bit.
pub fn blosc(
    typesize: u32,
    chunk_bytes: u32,
    clevel: u32,
    shuffle: u32,
    compcode: u32,
) -> [u32; 7] {
    let typesize = if typesize > 255 { 1 } else { typesize };
    [2, 2, typesize, chunk_bytes, clevel, shuffle, compcode]
}

/// The client data hdf5plugin's `set_local` stores for `Blosc2(cname, clevel, filters)` on
/// a dataset whose chunks have `chunk_dims` and elements of `typesize` bytes (the base type's
/// for array types), `elem_size` bytes in all. `compcode`: 0 blosclz, 1 lz4, 2 lz4hc, 4 zlib,
/// 5 zstd; `filter`: 0 none, 1 shuffle, 2 bitshuffle, 3 delta, 4 trunc_prec.
pub fn blosc2(
    typesize: u32,
    elem_size: u32,
    chunk_dims: &[u32],
    clevel: u32,
    filter: u32,
    compcode: u32,
) -> Vec<u32> {
    let bytes = chunk_dims.iter().fold(elem_size, |a, &d| a.wrapping_mul(d));
    let mut cd = vec![1, 0, typesize, bytes, clevel, filter, compcode];
    if (2..=8).contains(&chunk_dims.len()) {
        cd.push(chunk_dims.len() as u32);
        cd.extend_from_slice(chunk_dims);
    }
    cd
}

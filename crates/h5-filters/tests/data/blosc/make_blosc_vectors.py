"""Regenerate the Blosc / Blosc2 decode vectors (blosc1.vec, blosc2.vec) with h5py and
hdf5plugin (7.1 when these were made). Run: python make_blosc_vectors.py [corpus h5ex_d_blosc.h5]

Every chunk of every dataset below is written by libhdf5 + the hdf5plugin filter, read back
raw with read_direct_chunk, and stored with what it must decode to: the same chunk of a twin
dataset written without filters (so edge-chunk padding is libhdf5's own). Record layout, all
little-endian:
  u16 name length, name (utf-8), u16 filter id, u8 number of client data values, u32 each,
  u32 element size, u32 filter mask, u32 chunk length, chunk, u32 zlib length,
  zlib(expected decoded chunk).
"""
import itertools, os, struct, sys, zlib
import h5py, hdf5plugin, numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def data(dtype, shape, kind):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    if kind == "noise":
        v = np.random.default_rng(7).integers(0, 256, n * np.dtype(dtype).itemsize, dtype=np.uint8)
        return v.view(dtype).reshape(shape)
    if kind == "zeros":
        return np.zeros(shape, dtype)
    v = ((i // 4) % 50) * 3 - 60 + (i // 997) % 7 + (i % 13 == 0)
    if np.dtype(dtype).kind == "u":
        v = np.abs(v)
    return v.astype(dtype).reshape(shape)


def record(out, name, fid, cd, elem, mask, chunk, expected):
    nb = name.encode()
    out += struct.pack("<H", len(nb)) + nb
    out += struct.pack("<HB", fid, len(cd)) + struct.pack("<%dI" % len(cd), *cd)
    out += struct.pack("<III", elem, mask, len(chunk)) + chunk
    z = zlib.compress(expected, 9)
    out += struct.pack("<I", len(z)) + z


def dump(f, out, name, arr, chunks, comp):
    ds = f.create_dataset(name, data=arr, chunks=chunks, compression=comp)
    twin = f.create_dataset(name + "_raw", data=arr, chunks=chunks)
    fid, _, cd, _ = ds.id.get_create_plist().get_filter(0)
    assert (ds[...] == arr).all(), name
    for idx in itertools.product(*[range(0, s, c) for s, c in zip(arr.shape, chunks)]):
        mask, chunk = ds.id.read_direct_chunk(idx)
        m2, raw = twin.id.read_direct_chunk(idx)
        assert m2 == 0
        record(out, "%s@%s" % (name, ",".join(map(str, idx))), fid, cd, arr.dtype.itemsize, mask, chunk, raw)


def blosc1(f):
    out = bytearray()
    for cname in ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"]:
        for shuffle in [0, 1, 2]:
            for dtype, shape, chunks in [("u1", (1000,), (300,)), ("<i2", (37, 41), (20, 30)),
                                         ("<i4", (5000,), (4096,)), ("<f8", (3, 50, 7), (2, 33, 7))]:
                comp = hdf5plugin.Blosc(cname=cname, clevel=5, shuffle=shuffle)
                dump(f, out, "b1_%s_s%d_%s" % (cname, shuffle, dtype[-2:]), data(dtype, shape, "ramp"), chunks, comp)
    # several blocks, split and not, leftover blocks, bitshuffle with counts not a multiple of 8
    for cname, clevel, shuffle, dtype, n, c in [("blosclz", 1, 1, "<i4", 60001, 50001), ("lz4", 9, 2, "<f8", 40003, 40003),
                                                ("zstd", 3, 1, "<i2", 70001, 70001), ("zlib", 1, 2, "<i4", 20000, 19999),
                                                ("blosclz", 9, 2, "<i2", 100000, 99997), ("lz4", 4, 0, "u1", 150003, 150003)]:
        comp = hdf5plugin.Blosc(cname=cname, clevel=clevel, shuffle=shuffle)
        dump(f, out, "b1_big_%s_c%d_s%d_%s" % (cname, clevel, shuffle, dtype[-2:]), data(dtype, (n,), "ramp"), (c,), comp)
    # stored raw by libhdf5 (mask bit set): clevel 0, a small chunk, incompressible data
    dump(f, out, "b1_clevel0", data("<i4", (500,), "ramp"), (500,), hdf5plugin.Blosc(clevel=0))
    dump(f, out, "b1_small", data("u1", (100,), "ramp"), (100,), hdf5plugin.Blosc())
    dump(f, out, "b1_noise", data("<f8", (512,), "noise"), (512,), hdf5plugin.Blosc(cname="zstd"))
    return out


def blosc2(f):
    out = bytearray()
    shapes = [("<i4", (1000,), (300,)), ("<i2", (20, 30), (7, 11)), ("<f8", (5, 6, 7), (2, 4, 3))]
    for cname in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
        for filters in [0, 1, 2, 3, 4]:
            for dtype, shape, chunks in shapes:
                comp = hdf5plugin.Blosc2(cname=cname, clevel=5, filters=filters)
                dump(f, out, "b2_%s_f%d_r%d" % (cname, filters, len(shape)), data(dtype, shape, "ramp"), chunks, comp)
    # several blocks per chunk, B2ND padding (block shapes that do not divide the chunk)
    for cname, clevel, filters, dtype, shape, chunks in [
            ("blosclz", 9, 1, "<f8", (300, 200), (150, 120)), ("lz4", 5, 2, "<i4", (70, 80, 9), (35, 80, 9)),
            ("zstd", 1, 3, "<i2", (100000,), (99999,)), ("zlib", 5, 1, "u1", (300, 300), (257, 299)),
            ("lz4", 9, 3, "<i4", (64, 64, 16), (64, 64, 16)),
            # HCR codecs at clevel 1: 32 KiB blocks, smaller than the chunk, so B2ND pads
            ("zlib", 1, 1, "<f8", (100, 90), (100, 90)), ("lz4hc", 1, 2, "<i4", (30, 40, 50), (30, 40, 50)),
            ("zstd", 9, 0, "<i2", (130, 7, 5, 19), (130, 7, 5, 19)), ("blosclz", 5, 0, "<i2", (2, 3, 4, 5, 6), (2, 3, 4, 5, 6))]:
        comp = hdf5plugin.Blosc2(cname=cname, clevel=clevel, filters=filters)
        dump(f, out, "b2_big_%s_c%d_f%d_r%d" % (cname, clevel, filters, len(shape)), data(dtype, shape, "ramp"), chunks, comp)
    for rank, (shape, chunks) in enumerate([((1000,), (500,)), ((30, 40), (30, 40)), ((4, 5, 6), (4, 5, 6))], 1):
        dump(f, out, "b2_zeros_r%d" % rank, data("<f4", shape, "zeros"), chunks, hdf5plugin.Blosc2())
    # streams c-blosc2 writes without data: all zeros (size 0) and one repeated byte (size -byte)
    dump(f, out, "b2_const", np.full(1000, 5, "<i4"), (1000,), hdf5plugin.Blosc2(cname="lz4"))
    half = np.concatenate([np.full(20000, 7, "<i4"), np.arange(20000, dtype="<i4") // 3 % 200]).reshape(200, 200)
    dump(f, out, "b2_half", half, (200, 200), hdf5plugin.Blosc2(cname="blosclz"))
    dump(f, out, "b2_clevel0", data("<i4", (500,), "ramp"), (500,), hdf5plugin.Blosc2(clevel=0))
    dump(f, out, "b2_small", data("u1", (20,), "ramp"), (20,), hdf5plugin.Blosc2())
    dump(f, out, "b2_noise", data("<f8", (512,), "noise"), (512,), hdf5plugin.Blosc2(cname="zstd"))
    dump(f, out, "b2_noise_r2", data("<f8", (20, 30), "noise"), (20, 30), hdf5plugin.Blosc2(cname="lz4"))
    return out


def corpus(path, out):
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.chunks:
                plist = obj.id.get_create_plist()
                fid, _, cd, _ = plist.get_filter(0)
                arr = obj[...]
                pad = np.zeros([((s + c - 1) // c) * c for s, c in zip(arr.shape, obj.chunks)], arr.dtype)
                pad[tuple(slice(0, s) for s in arr.shape)] = arr
                for idx in itertools.product(*[range(0, s, c) for s, c in zip(arr.shape, obj.chunks)]):
                    mask, chunk = obj.id.read_direct_chunk(idx)
                    exp = pad[tuple(slice(i, i + c) for i, c in zip(idx, obj.chunks))]
                    record(out, "corpus:%s@%s" % (name, ",".join(map(str, idx))), fid, cd,
                           arr.dtype.itemsize, mask, chunk, np.ascontiguousarray(exp).tobytes())
        f.visititems(visit)


if __name__ == "__main__":
    tmp = os.path.join(HERE, "tmp_vectors.h5")
    with h5py.File(tmp, "w") as f:
        b1 = blosc1(f)
        if len(sys.argv) > 1:
            corpus(sys.argv[1], b1)
        b2 = blosc2(f)
    os.remove(tmp)
    for name, blob in [("blosc1.vec", b1), ("blosc2.vec", b2)]:
        with open(os.path.join(HERE, name), "wb") as fh:
            fh.write(blob)
        print(name, len(blob), "bytes")

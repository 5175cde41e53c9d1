"""Regenerate the ZFP (filter 32013) test vectors in this directory.

Documentation only: the Rust tests read the .bin files and need no Python.
Run with h5py + hdf5plugin (made with h5py 3.16 / libhdf5 2.0, hdf5plugin 7.1.0, which
ships H5Z-ZFP 1.1.1 and zfp 1.0.1):

    H5EX_D_ZFP=.../HDF5Examples/C/H5FLT/tfiles/h5ex_d_zfp.h5 python make_zfp_vectors.py

Each vector is one chunk written by libhdf5 through H5Z-ZFP. Its file `<name>.bin` holds,
all little-endian:

    b"ZFPV"
    u32 n, then n u32        the filter's client data as stored in the file
    u32 len, then len bytes  the raw chunk (read_direct_chunk)
    u32 len, then len bytes  the chunk as h5py reads it back (libhdf5 + H5Z-ZFP decoding)
    u32 len, then len bytes  the values written (empty for chunks copied from a file)
"""
import os
import struct

import h5py
import hdf5plugin
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {1: (23,), 2: (7, 9), 3: (3, 5, 6), 4: (2, 3, 5, 3)}
TYPES = ["f4", "f8", "i4", "i8"]


def data_for(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    idx = np.indices(shape).astype("f8")
    smooth = np.ones(shape)
    for k, ax in enumerate(idx):
        smooth = smooth * np.cos(0.3 * (k + 1) * ax + 0.5 * k)
    if dtype.startswith("f"):
        x = 100.0 * smooth + rng.normal(0.0, 1.0, shape) * 3.0
        flat = x.reshape(-1)
        flat[:4] = 0.0  # the first block's row of zeros
        flat[-3:] *= 1e-6
        return x.astype(dtype)
    scale = 1e6 if dtype == "i4" else 2.0**40
    x = scale * smooth + rng.integers(-1000, 1000, shape)
    return np.round(x).astype(dtype)


def modes(dtype):
    floaty = dtype.startswith("f")
    wide = dtype.endswith("8")
    yield "rate", dict(rate=16.0 if wide else 8.0)
    yield "precision", dict(precision=24 if wide else 12)
    yield "accuracy", dict(accuracy=1e-3 if floaty else 1.0)
    yield "expert", dict(minbits=16, maxbits=300, maxprec=20, minexp=-20)
    yield "reversible", dict(reversible=True)
    yield "default", dict()


def write_vector(name, data, chunks, zfp_kwargs):
    path = "/tmp/zfp_vector.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("d", data=data, chunks=chunks, **hdf5plugin.Zfp(**zfp_kwargs))
    with h5py.File(path, "r") as f:
        ds = f["d"]
        fid, flags, cd, _ = ds.id.get_create_plist().get_filter(0)
        assert fid == 32013, fid
        mask, raw = ds.id.read_direct_chunk((0,) * data.ndim)
        assert mask == 0
        back = ds[...]
    out = np.ascontiguousarray(back).astype(back.dtype.newbyteorder("<")).tobytes()
    blob = b"ZFPV" + struct.pack("<I", len(cd)) + struct.pack(f"<{len(cd)}I", *cd)
    blob += struct.pack("<I", len(raw)) + raw + struct.pack("<I", len(out)) + out
    original = np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes()
    blob += struct.pack("<I", len(original)) + original
    with open(os.path.join(HERE, name + ".bin"), "wb") as fh:
        fh.write(blob)


def main():
    seed = 1
    for dtype in TYPES:
        for ndim, shape in SHAPES.items():
            for mode, kw in modes(dtype):
                seed += 1
                data = data_for(dtype, shape, seed)
                write_vector(f"{mode}_{dtype}_{ndim}d", data, shape, kw)
    # unity dimensions of the chunk are dropped: a (1, 7, 1, 9) chunk is a 2-D zfp field
    data = data_for("f4", (1, 7, 1, 9), 99)
    write_vector("unity_dims_f4", data, data.shape, dict(rate=10.0))
    # a fractional rate, and a 1-D chunk spanning many blocks
    data = data_for("f8", (301,), 100)
    write_vector("rate_fraction_f8_1d", data, data.shape, dict(rate=3.5))
    # bit patterns only the reversible mode keeps
    for dtype in ["f4", "f8"]:
        x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40 if dtype == "f4" else 1e-310,
                      -(1e-45 if dtype == "f4" else 5e-324), np.finfo(dtype).max,
                      np.finfo(dtype).min, 1.0, -2.5, 3.0], dtype=dtype)
        write_vector(f"specials_reversible_{dtype}", x, x.shape, dict(reversible=True))
    # tiny values through the lossy path. Near the least normal number the decoder's scale
    # 2^(emax - 30) (2^(emax - 62) for double) underflows to 0 and every value decodes to +-0.
    # Up to about 2^-97 (2^-961) the encoder's scale 2^(30 - emax) overflows to infinity and the
    # block is garbage, decoded all the same. Above that the values survive.
    for dtype in ["f4", "f8"]:
        least = float(np.finfo(dtype).smallest_normal)
        f4 = dtype == "f4"
        for name, scale in [("underflow", least),
                            ("encoder_overflow", least * 2.0**(25 if f4 else 12)),
                            ("tiny", least * 2.0**(40 if f4 else 70))]:
            x = np.linspace(-3, 5, 4 * 6) * scale
            x[5] *= 2.0**-20
            x[13] *= 2.0**-9
            x = x.astype(dtype).reshape(4, 6)
            write_vector(f"{name}_precision_{dtype}", x, x.shape, dict(precision=40))
            write_vector(f"{name}_rate_{dtype}", x, x.shape, dict(rate=20.0))
    # NaN and infinities through the lossy path (what the C encoder makes of them is what x86's
    # float-to-integer conversion makes of out-of-range values)
    for dtype in ["f4", "f8"]:
        x = np.array([1.0, np.nan, 2.0, 3.0, np.inf, 1.0, -np.inf, 0.5, 7.0, 8.0, np.nan, 1e30],
                     dtype=dtype)
        write_vector(f"specials_rate_{dtype}", x, x.shape, dict(rate=16.0))
        write_vector(f"specials_precision_{dtype}", x, x.shape, dict(precision=20))
    # integers at the ends of their range
    for dtype in ["i4", "i8"]:
        info = np.iinfo(dtype)
        x = np.array([info.min, info.max, 0, -1, 1, info.max // 3, info.min // 5, 7] * 2,
                     dtype=dtype).reshape(4, 4)
        write_vector(f"extremes_reversible_{dtype}", x, x.shape, dict(reversible=True))
        write_vector(f"extremes_precision_{dtype}", x, x.shape, dict(precision=64))

    # HDF5's own example file, written by H5Z-ZFP 1.0.1 with zfp 0.5.5 (its version word has
    # no codec field): two of its chunks, copied as they are
    corpus = os.environ.get("H5EX_D_ZFP", "h5ex_d_zfp.h5")  # HDF5Examples/C/H5FLT/tfiles
    if os.path.exists(corpus):
        with h5py.File(corpus, "r") as f:
            ds = f["DS1"]
            cd = ds.id.get_create_plist().get_filter(0)[2]
            for index, origin in enumerate([(0, 0), (28, 56)]):
                mask, raw = ds.id.read_direct_chunk(origin)
                assert mask == 0
                sel = tuple(slice(o, o + c) for o, c in zip(origin, ds.chunks))
                out = np.ascontiguousarray(ds[sel]).astype("<f4").tobytes()
                blob = b"ZFPV" + struct.pack("<I", len(cd)) + struct.pack(f"<{len(cd)}I", *cd)
                blob += struct.pack("<I", len(raw)) + raw + struct.pack("<I", len(out)) + out
                blob += struct.pack("<I", 0)
                with open(os.path.join(HERE, f"h5ex_d_zfp_chunk{index}.bin"), "wb") as fh:
                    fh.write(blob)


if __name__ == "__main__":
    main()

"""The h5py side of h5-bench (crates/h5-bench): the same workloads, timed the same way.

    python h5py_bench.py prepare DIR      write the reference files every read workload reads
    python h5py_bench.py run W DIR OUT    time workload W; print one JSON line
    python h5py_bench.py digest W DIR PATH  the digest of what workload W wrote to PATH

DIR holds sizes.json and the raw inputs the Rust side generated (little-endian .bin files).
A digest is what both libraries must agree on: a CRC-32 of the data's bytes, or exact sums.
"""
import json
import os
import struct
import sys
import threading
import time
import zlib

import h5py
import numpy as np

try:
    import hdf5plugin  # noqa: F401  (registers the plugin filters the filter table reads)
except ImportError:
    pass

ROW = np.dtype([("id", "<i4"), ("value", "<f8"), ("name", "S16")])


def sizes(d):
    with open(os.path.join(d, "sizes.json")) as f:
        return json.load(f)


def raw(d, name, dtype, shape=None):
    a = np.fromfile(os.path.join(d, name), dtype=dtype)
    return a if shape is None else a.reshape(shape)


def crc(a):
    return "%08x" % (zlib.crc32(np.ascontiguousarray(a).tobytes()) & 0xFFFFFFFF)


def bits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def crop(s):
    return tuple(slice(a, b) for a, b in s["crop"])


def group_digest(f):
    n, sa, sb, lc = 0, 0, 0.0, 0

    def each(name, obj):
        nonlocal n, sa, sb, lc
        if isinstance(obj, h5py.Group) and "a" in obj.attrs:
            n += 1
            sa += int(obj.attrs["a"])
            sb += float(obj.attrs["b"])
            lc += len(obj.attrs["c"])

    f.visititems(each)
    return "%d:%d:%s:%d" % (n, sa, bits(sb), lc)


def small_digest(f, s):
    total = 0.0
    for i in range(s["small_n"]):
        total += float(f["d%05d" % i][()].sum())
    return bits(total)


def rows_digest(a):
    return crc(np.asarray(a, dtype=ROW))


def movie(s, d):
    return raw(d, "movie.bin", "<u2", s["movie"])


def write_movie(path, data, s, **filters):
    with h5py.File(path, "w") as f:
        f.create_dataset("movie", data=data, chunks=(1,) + tuple(s["movie"][1:]), **filters)


GZIP = dict(shuffle=True, compression="gzip", compression_opts=4)
LZF = dict(shuffle=True, compression="lzf")


def filters():
    """The filter table's settings, key by key (workloads.rs's FILTERS): one filter each."""
    import hdf5plugin as p

    return {
        "gzip": dict(compression="gzip", compression_opts=4),
        "lzf": dict(compression="lzf"),
        "szip": dict(compression="szip", compression_opts=("nn", 8)),
        "scaleoffset": dict(scaleoffset=0),
        "lz4": dict(p.LZ4()),
        "zstd": dict(p.Zstd(clevel=3)),
        "bzip2": dict(p.BZip2(blocksize=9)),
        "bshuf": dict(p.Bitshuffle(cname="lz4")),
        "blosc-lz4": dict(p.Blosc(cname="lz4", clevel=5, shuffle=p.Blosc.SHUFFLE)),
        "blosc-blosclz": dict(p.Blosc(cname="blosclz", clevel=5, shuffle=p.Blosc.SHUFFLE)),
        "blosc-zstd": dict(p.Blosc(cname="zstd", clevel=5, shuffle=p.Blosc.BITSHUFFLE)),
        "blosc2-blosclz": dict(p.Blosc2(cname="blosclz", clevel=5, filters=p.Blosc2.SHUFFLE)),
        "blosc2-lz4": dict(p.Blosc2(cname="lz4", clevel=5, filters=p.Blosc2.SHUFFLE)),
        "zfp": dict(p.Zfp(rate=16)),
    }


# The rows of the filter table (workloads.rs's FILTERS, in its order).
FILTER_KEYS = ("gzip", "lzf", "szip", "scaleoffset", "nbit", "lz4", "zstd", "bzip2", "bshuf", "blosc-lz4",
               "blosc-blosclz", "blosc-zstd", "blosc2-blosclz", "blosc2-lz4", "zfp")
FLOAT_FILTERS = ("zfp",)


def filter_movie(s, d, key):
    m = movie(s, d)[: s["filter_frames"]]
    return m.astype("<f4") if key in FLOAT_FILTERS else m


def write_filtered(path, data, key):
    with h5py.File(path, "w") as f:
        if key == "nbit":  # the movie (< 4096) as a 12-bit integer, which n-bit packs
            t = h5py.h5t.STD_U16LE.copy()
            t.set_precision(12)
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((1,) + data.shape[1:])
            dcpl.set_filter(h5py.h5z.FILTER_NBIT)
            d = h5py.h5d.create(f.id, b"movie", t, h5py.h5s.create_simple(data.shape), dcpl=dcpl)
            d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))
            return
        f.create_dataset("movie", data=data, chunks=(1,) + data.shape[1:], **filters()[key])


def filter_workload(key, write):
    def setup(s, d, out):
        if write:
            data = filter_movie(s, d, key)
            return lambda: write_filtered(out, data, key)
        return read_movie(d, "ref_f_%s.h5" % key)

    return setup


def prepare(d):
    s = sizes(d)
    with h5py.File(os.path.join(d, "ref_w1.h5"), "w") as f:
        f.create_dataset("data", data=raw(d, "f64.bin", "<f8"))
    m = movie(s, d)
    write_movie(os.path.join(d, "ref_movie_gzip.h5"), m, s, **GZIP)
    write_movie(os.path.join(d, "ref_movie_lzf.h5"), m, s, **LZF)
    w7a(s, d, os.path.join(d, "ref_groups.h5"))()
    w9a(s, d, os.path.join(d, "ref_small.h5"))()
    with h5py.File(os.path.join(d, "ref_rows.h5"), "w") as f:
        f.create_dataset("rows", data=raw(d, "rows.bin", ROW))
    with h5py.File(os.path.join(d, "ref_f4.h5"), "w") as f:
        f.create_dataset("data", data=raw(d, "f4.bin", "<f4"))
    for key in FILTER_KEYS:
        write_filtered(os.path.join(d, "ref_f_%s.h5" % key), filter_movie(s, d, key), key)


# Each workload: (setup, timed) — setup loads inputs untimed and returns the timed callable,
# which returns the digest of what it read (None for writes: the driver digests the file).


def w1(s, d, out):
    a = raw(d, "f64.bin", "<f8")

    def go():
        with h5py.File(out, "w") as f:
            f.create_dataset("data", data=a)

    return go


def w2(s, d, out):
    def go():
        with h5py.File(os.path.join(d, "ref_w1.h5"), "r") as f:
            return f["data"][:]

    return go, crc


def w3(s, d, out):
    m = movie(s, d)
    return lambda: write_movie(out, m, s, **GZIP)


def read_movie(d, name, sel=()):
    def go():
        with h5py.File(os.path.join(d, name), "r") as f:
            return f["movie"][sel] if sel else f["movie"][:]

    return go, crc


def w6(s, d, out):
    fr = raw(d, "frames.bin", "<f4", [s["append_frames"]] + s["frame"])

    def go():
        with h5py.File(out, "w") as f:
            shape = tuple(s["frame"])
            ds = f.create_dataset(
                "frames", shape=(0,) + shape, maxshape=(None,) + shape,
                chunks=(1,) + shape, dtype="<f4")
            for k in range(len(fr)):
                ds.resize(k + 1, axis=0)
                ds[k] = fr[k]

    return go


def w7a(s, d, out):
    def go():
        g1, g2 = s["groups"]
        with h5py.File(out, "w") as f:
            for i in range(g1):
                g = f.create_group("g%03d" % i)
                for j in range(g2):
                    sub = g.create_group("s%03d" % j)
                    k = i * g2 + j
                    sub.attrs["a"] = np.int64(k)
                    sub.attrs["b"] = k * 0.5
                    sub.attrs["c"] = "name%d-%d" % (i, j)

    return go


def w7b(s, d, out):
    def go():
        with h5py.File(os.path.join(d, "ref_groups.h5"), "r") as f:
            return group_digest(f)

    return go, None


def w9a(s, d, out):
    def go():
        n, m = s["small_n"], s["small_len"]
        with h5py.File(out, "w") as f:
            for i in range(n):
                f.create_dataset("d%05d" % i, data=np.arange(i * m, (i + 1) * m, dtype="<f8"))

    return go


def w9b(s, d, out):
    def go():
        with h5py.File(os.path.join(d, "ref_small.h5"), "r") as f:
            return small_digest(f, s)

    return go, None


def points(s):
    n = s["w1_n"]
    return [(k * 7919 * 1009 + 17) % n for k in range(s["points"])]


def w10(s, d, out):
    idx = points(s)

    def go():
        total = 0.0
        with h5py.File(os.path.join(d, "ref_w1.h5"), "r") as f:
            ds = f["data"]
            for i in idx:
                total += float(ds[i])
        return bits(total)

    return go, None


def w11a(s, d, out):
    rows = raw(d, "rows.bin", ROW)

    def go():
        with h5py.File(out, "w") as f:
            f.create_dataset("rows", data=rows)

    return go


def w11b(s, d, out):
    def go():
        with h5py.File(os.path.join(d, "ref_rows.h5"), "r") as f:
            return f["rows"][:]

    return go, rows_digest


def w12(threads):
    def setup(s, d, out):
        def go():
            with h5py.File(os.path.join(d, "ref_movie_gzip.h5"), "r") as f:
                ds = f["movie"]
                n = ds.shape[0]
                parts = [None] * threads

                def part(k):
                    parts[k] = ds[k * n // threads:(k + 1) * n // threads]

                ts = [threading.Thread(target=part, args=(k,)) for k in range(threads)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                # joined for the digest, after the clock (as the h5 side does)
                return parts

        return go, lambda parts: crc(np.concatenate(parts))

    return setup


def w13(s, d, out):
    def go():
        with h5py.File(os.path.join(d, "ref_f4.h5"), "r") as f:
            return f["data"].astype("<f8")[:]

    return go, crc


WORKLOADS = {
    "W1": w1,
    "W2": w2,
    "W3": w3,
    "W4": lambda s, d, out: read_movie(d, "ref_movie_gzip.h5"),
    "W5": lambda s, d, out: read_movie(d, "ref_movie_gzip.h5", crop(s)),
    "W6": w6,
    "W7a": w7a,
    "W7b": w7b,
    "W8a": lambda s, d, out: (lambda m: lambda: write_movie(out, m, s, **LZF))(movie(s, d)),
    "W8b": lambda s, d, out: read_movie(d, "ref_movie_lzf.h5"),
    "W9a": w9a,
    "W9b": w9b,
    "W10": w10,
    "W11a": w11a,
    "W11b": w11b,
    "W12-1": w12(1),
    "W12-2": w12(2),
    "W12-4": w12(4),
    "W13": w13,
}
for _key in FILTER_KEYS:
    WORKLOADS["F-%s-w" % _key] = filter_workload(_key, True)
    WORKLOADS["F-%s-r" % _key] = filter_workload(_key, False)


def digest_file(w, path, s, d):
    """The digest of the file a write workload made, read back with h5py."""
    with h5py.File(path, "r") as f:
        if w in ("W1",):
            return crc(f["data"][:])
        if w in ("W3", "W8a"):
            return crc(f["movie"][:])
        if w == "W6":
            return crc(f["frames"][:])
        if w == "W7a":
            return group_digest(f)
        if w == "W9a":
            return small_digest(f, s)
        if w == "W11a":
            return rows_digest(f["rows"][:])
        if w.startswith("F-"):
            return crc(f["movie"][:])
    raise SystemExit("no digest for " + w)


def peak_rss_kib():
    """VmHWM: this process's own peak (ru_maxrss would carry the spawning process's over exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run(w, d, out):
    s = sizes(d)
    made = WORKLOADS[w](s, d, out)
    go, digest = made if isinstance(made, tuple) else (made, None)
    t = time.perf_counter()
    result = go()
    secs = time.perf_counter() - t
    rss = peak_rss_kib()  # before the digest, as on the h5 side
    if digest is not None:
        result = digest(result)
    print(json.dumps({"secs": secs, "rss_kib": rss, "digest": result}))


def main():
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2])
    elif cmd == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "digest":
        w, d, path = sys.argv[2], sys.argv[3], sys.argv[4]
        print(digest_file(w, path, sizes(d), d))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()

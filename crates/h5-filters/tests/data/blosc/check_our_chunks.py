"""Check that hdf5plugin (libhdf5 + c-blosc / c-blosc2) decodes chunks our encoder made.

Reads the records written by the ignored test `dump_our_chunks_for_hdf5plugin` (same layout
as make_blosc_vectors.py's, but the expected bytes are not zlib'd), creates for each a dataset
with the same hdf5plugin filter and chunk shape, stores our chunk with write_direct_chunk,
reads the dataset back through the plugin and compares. Prints one line per failure and a
"N passed, N failed" summary.
"""
import struct, sys, os, tempfile
import h5py, hdf5plugin, numpy as np

B1 = {0: "blosclz", 1: "lz4", 2: "lz4hc", 3: "snappy", 4: "zlib", 5: "zstd"}
DT = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}


def records(blob):
    p = 0
    while p < len(blob):
        (nl,) = struct.unpack_from("<H", blob, p); p += 2
        name = blob[p:p + nl].decode(); p += nl
        fid, ncd = struct.unpack_from("<HB", blob, p); p += 3
        cd = struct.unpack_from("<%dI" % ncd, blob, p); p += 4 * ncd
        elem, mask, cl = struct.unpack_from("<III", blob, p); p += 12
        chunk = blob[p:p + cl]; p += cl
        (rl,) = struct.unpack_from("<I", blob, p); p += 4
        raw = blob[p:p + rl]; p += rl
        yield name, fid, cd, elem, mask, chunk, raw


def main(path):
    ok = bad = 0
    tmp = os.path.join(tempfile.mkdtemp(), "ours.h5")
    todo = []
    with h5py.File(tmp, "w") as f:
        for i, (name, fid, cd, elem, mask, chunk, raw) in enumerate(records(open(path, "rb").read())):
            dtype = DT.get(elem, "V%d" % elem)
            if fid == 32001:
                comp = hdf5plugin.Blosc(cname=B1[cd[6]], clevel=cd[4], shuffle=cd[5])
                shape = (len(raw) // elem,)
            else:
                comp = hdf5plugin.Blosc2(cname=B1[cd[6]], clevel=cd[4], filters=cd[5])
                shape = tuple(cd[8:8 + cd[7]]) if len(cd) > 7 else (len(raw) // elem,)
            ds = f.create_dataset("d%d" % i, shape=shape, chunks=shape, dtype=dtype, compression=comp)
            got_cd = ds.id.get_create_plist().get_filter(0)[2]
            if tuple(got_cd) != tuple(cd):
                print("FAIL client data", name, got_cd, cd)
                bad += 1
                continue
            ds.id.write_direct_chunk((0,) * len(shape), chunk, filter_mask=mask)
            todo.append((i, name, raw))
    # libhdf5 2.0 honours a direct chunk's filter mask only once the file is reopened
    with h5py.File(tmp, "r") as f:
        for i, name, raw in todo:
            try:
                back = f["d%d" % i][...].tobytes()
            except Exception as e:
                print("FAIL read", name, e)
                bad += 1
                continue
            if back != raw:
                print("FAIL bytes", name)
                bad += 1
            else:
                ok += 1
    print("%d passed, %d failed" % (ok, bad))
    return bad == 0


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1]) else 1)

"""Seed corpora for the fuzz targets (fuzz/corpus/<target>/), cut from the fixtures and, when
it sits beside the checkout, ../shared/corpus: whole files for open_walk/edit, and for the
decoder targets the structures found by their signatures, behind the selector bytes each
body reads (8 = offsets and lengths of 8 bytes; then the split point / 4).

    python3 fuzz/seed.py
"""
import os
import glob

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
files = sorted(glob.glob(os.path.join(ROOT, "fixtures/files/*.h5")))
files += sorted(glob.glob(os.path.join(ROOT, "../shared/corpus/**/*.h5"), recursive=True))

SIGS = [b"OHDR", b"OCHK", b"TREE", b"BTHD", b"BTIN", b"BTLF", b"FRHP", b"FHDB", b"FHIB",
        b"FAHD", b"FADB", b"EAHD", b"EAIB", b"EASB", b"EADB", b"HEAP", b"GCOL", b"SNOD"]


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def found(data):
    """(signature, offset) of every structure, in file order."""
    out = []
    for s in SIGS:
        i = data.find(s)
        while i != -1 and len(out) < 4000:
            out.append((i, s))
            i = data.find(s, i + 1)
    return sorted(out)


n = 0
for path in files:
    data = open(path, "rb").read()
    if len(data) > 4 << 20:
        continue
    base = os.path.basename(path)
    put("open_walk", base, data)
    put("edit", base, data)
    sb = data.find(b"\x89HDF\r\n\x1a\n")
    if sb >= 0:
        put("superblock", base, data[sb:sb + 256])
    structs = found(data)
    for k, (off, sig) in enumerate(structs[:200]):
        end = structs[k + 1][0] if k + 1 < len(structs) else len(data)
        nxt = data[end:end + 4096]
        head = data[off:min(end, off + 4096)]
        name = f"{base}.{off:x}"
        split = bytes([8, min(len(head) // 4, 255)])
        if sig in (b"OHDR",):
            put("object_header", name, bytes([8]) + data[off:off + 4096])
            put("messages", name, bytes([8]) + data[off + 16:off + 512])
        elif sig in (b"TREE", b"BTHD"):
            put("btree", name, split + head + nxt)
        elif sig == b"FRHP":
            put("fractal_heap", name, split + head + nxt)
        elif sig in (b"FAHD", b"EAHD"):
            put("chunk_index", name, split + head + nxt)
        elif sig in (b"HEAP", b"GCOL", b"SNOD"):
            put("heaps", name, bytes([8]) + data[off:off + 8192])
        n += 1
for i, text in enumerate(["3, 100:164, ::2", "...", "[1,4,9]", "-1", "0:0, :", "::3, [0,1,2]"]):
    put("selection", f"s{i}", bytes([3]) + text.encode())
print(f"{len(files)} files, {n} structures")

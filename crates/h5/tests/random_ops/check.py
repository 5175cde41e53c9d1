"""h5py's side of the random-operations test (random_ops/main.rs).

Input (argv[1], JSON): a list of cases {file, expected, edits, expected_after}. For each:
h5py reads the file and its canonical form must equal `expected`; then h5py makes `edits`
(operations in the test's serde form) in append mode, and after reopening the file must equal
`expected_after`. Output (stdout, JSON): one {file, problems} per case.
"""
import json
import struct
import sys
import traceback

import h5py
import numpy as np
from h5py._hl.filters import guess_chunk


def fhex(x):
    return "f:%016x" % struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def dcanon(dt):
    r = h5py.check_ref_dtype(dt)
    if r is not None:
        return "ref" if r is h5py.Reference else "regionref"
    s = h5py.check_string_dtype(dt)
    if s is not None:
        return "vstr" if s.length is None else "S%d" % s.length
    v = h5py.check_vlen_dtype(dt)
    if v is not None:
        return "vlen(%s)" % dcanon(v)
    e = h5py.check_enum_dtype(dt)
    if e is not None:
        members = ",".join("%s=%d" % (k, e[k]) for k in sorted(e))
        return "enum(%s%d,%s)" % (dt.kind, dt.itemsize, members)
    if dt.subdtype is not None:
        return "arr(%s,%s)" % (dcanon(dt.subdtype[0]), list(dt.subdtype[1]))
    if dt.names:
        return "{" + ",".join("%s:%s" % (n, dcanon(dt.fields[n][0])) for n in dt.names) + "}"
    if dt.kind == "b":
        return "b1"
    return "%s%d" % (dt.kind, dt.itemsize)


# the file being observed and its canonical paths by address (references resolve through it)
CTX = {}


def ecanon(x, dt):
    if h5py.check_ref_dtype(dt) is not None:
        if not x:
            return None
        try:
            return CTX["canon"].get(h5py.h5o.get_info(CTX["f"][x].id).addr, "")
        except Exception:
            return "ref:error"
    s = h5py.check_string_dtype(dt)
    if s is not None:
        if isinstance(x, bytes):
            x = x.decode("utf-8" if s.length is None else "latin-1")
        return str(x)
    v = h5py.check_vlen_dtype(dt)
    if v is not None:
        return [ecanon(e, v) for e in x]
    if dt.names:
        return [ecanon(x[n], dt.fields[n][0]) for n in dt.names]
    if dt.subdtype is not None:
        return [ecanon(e, dt.subdtype[0]) for e in np.asarray(x).ravel()]
    if dt.kind == "b":
        return bool(x)
    if dt.kind in "iu":
        return int(x)
    if dt.kind == "f":
        return fhex(x)
    if dt.kind == "c":
        return [fhex(x.real), fhex(x.imag)]
    return repr(x)


def elements(value, dt, shape):
    """The row-major elements of a read value of `shape` (array dtypes read with extra axes)."""
    if len(shape) == 0:
        if dt.subdtype is not None:
            return [ecanon(value, dt)]
        return [ecanon(value[()] if isinstance(value, np.ndarray) else value, dt)]
    arr = np.asarray(value)
    n = int(np.prod(shape))
    if dt.subdtype is not None:
        arr = arr.reshape((n,) + dt.subdtype[1])
    else:
        arr = arr.reshape(n)
    return [ecanon(e, dt) for e in arr]


def committed_path(tid, canon):
    """The canonical path of the committed type `tid` refers to ("" if unreachable)."""
    return canon.get(h5py.h5o.get_info(tid).addr, "") if tid.committed() else None


def attrs(obj, canon):
    out = {}
    for name in obj.attrs:
        aid = obj.attrs.get_id(name)
        dt = aid.dtype
        value = obj.attrs[name]
        if isinstance(value, h5py.Empty):
            shape, data = None, []
        else:
            shape = list(aid.shape)
            data = elements(value, dt, shape)
        out[name] = {"dtype": dcanon(dt), "shape": shape, "data": data,
                     "type_of": committed_path(aid.get_type(), canon)}
    return out


def observe(f):
    root = f["/"]
    canon = {h5py.h5o.get_info(root.id).addr: "/"}
    groups, todo = {}, [("/", root)]

    def walk(g, base):
        links = {}
        for name in sorted(g.keys()):
            path = base + "/" + name
            ln = g.get(name, getlink=True)
            if isinstance(ln, h5py.HardLink):
                obj = g[name]
                a = h5py.h5o.get_info(obj.id).addr
                if a not in canon:
                    canon[a] = path
                    todo.append((path, obj))
                    if isinstance(obj, h5py.Group):
                        walk(obj, path)
                links[name] = ["hard", canon[a]]
            elif isinstance(ln, h5py.SoftLink):
                links[name] = ["soft", ln.path]
            elif isinstance(ln, h5py.ExternalLink):
                links[name] = ["ext", ln.filename, ln.path]
            else:
                links[name] = ["other", repr(ln)]
        groups[base or "/"] = links

    walk(root, "")
    CTX["f"], CTX["canon"] = f, canon
    objects = {}
    for path, obj in todo:
        j = {"rc": h5py.h5o.get_info(obj.id).rc, "attrs": attrs(obj, canon),
             "attr_order": list(obj.attrs)}
        if isinstance(obj, h5py.Group):
            j["kind"] = "group"
            j["order"] = list(obj)
        elif isinstance(obj, h5py.Datatype):
            j["kind"] = "type"
            j["dtype"] = dcanon(obj.dtype)
        else:
            dt = obj.dtype
            shape = list(obj.shape) if obj.shape is not None else None
            j["kind"] = "dataset"
            j["dtype"] = dcanon(dt)
            j["shape"] = shape
            j["maxshape"] = list(obj.maxshape) if obj.maxshape is not None else None
            layout = obj.id.get_create_plist().get_layout()
            j["layout"] = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
                           h5py.h5d.CHUNKED: "chunked"}.get(layout, "other")
            j["chunks"] = list(obj.chunks) if obj.chunks is not None else None
            j["filters"] = {
                "gzip": obj.compression_opts if obj.compression == "gzip" else None,
                "lzf": obj.compression == "lzf",
                "shuffle": bool(obj.shuffle),
                "fletcher32": bool(obj.fletcher32),
            }
            numeric = dt.kind in "iufb" and dt.names is None and dt.subdtype is None \
                and h5py.check_enum_dtype(dt) is None
            j["fill"] = ecanon(obj.fillvalue, dt) if numeric else None
            j["type_of"] = committed_path(obj.id.get_type(), canon)
            j["data"] = elements(obj[()], dt, shape) if shape is not None else []
        objects[path] = j
    return {"groups": groups, "objects": objects}


def resolve_guesses(expected, f):
    """h5py's guessed chunks stand in the expectation as {"guess": creation shape}."""
    for path, o in expected["objects"].items():
        c = o.get("chunks")
        if isinstance(c, dict):
            ds = f[path]
            o["chunks"] = list(guess_chunk(tuple(c["guess"]), None, ds.dtype.itemsize))


def diff(e, g, at, out):
    if isinstance(e, dict) and isinstance(g, dict):
        for k in e:
            if k not in g:
                out.append("%s/%s: expected %s, missing" % (at, k, json.dumps(e[k])[:300]))
            else:
                diff(e[k], g[k], at + "/" + k, out)
        for k in g:
            if k not in e:
                out.append("%s/%s: unexpected %s" % (at, k, json.dumps(g[k])[:300]))
    elif isinstance(e, list) and isinstance(g, list) and len(e) == len(g):
        for i, (a, b) in enumerate(zip(e, g)):
            diff(a, b, "%s[%d]" % (at, i), out)
    elif e == "ref:dead":
        pass  # a reference to a freed object: anything may be read there
    elif e != g or type(e) is not type(g):
        out.append("%s: expected %s, got %s" % (at, json.dumps(e)[:300], json.dumps(g)[:300]))


def value(v):
    (kind, x), = v.items()
    return x


def edit(f, op):
    (kind, body), = op.items()
    if kind == "SetAttr":
        f[body["path"]].attrs.create(body["name"], np.int32(value(body["values"][0])), dtype="i4")
    elif kind == "CreateGroup":
        f.create_group(body)
    elif kind == "CreateDataset":
        path, spec = body
        assert spec["dt"] == "I32", spec
        f.create_dataset(path, shape=tuple(spec["shape"]), dtype="i4")
    elif kind == "Write":
        ds = f[body["path"]]
        vals = [value(v) for v in body["values"]]
        sel = body["sel"]
        if sel == "All":
            ds[...] = np.array(vals, dtype=ds.dtype).reshape(ds.shape)
        else:
            (point,) = sel["Points"]
            ds[tuple(point)] = vals[0]
    elif kind == "Resize":
        path, shape = body
        f[path].resize(tuple(shape))
    elif kind == "Unlink":
        del f[body]
    else:
        raise ValueError("no h5py edit for %s" % kind)


def check(case, problems):
    path = case["file"]
    with h5py.File(path, "r") as f:
        exp = case["expected"]
        resolve_guesses(exp, f)
        diff(exp, observe(f), "h5py", problems)
    with h5py.File(path, "a") as f:
        for op in case["edits"]:
            edit(f, op)
    with h5py.File(path, "r") as f:
        exp = case["expected_after"]
        resolve_guesses(exp, f)
        diff(exp, observe(f), "h5py after its edits", problems)


def main():
    cases = json.load(open(sys.argv[1]))
    out = []
    for case in cases:
        problems = []
        try:
            check(case, problems)
        except Exception:
            problems.append("h5py failed: " + traceback.format_exc(limit=4))
        out.append({"file": case["file"], "problems": problems})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

//! Variable-length data through the global heap, and the attribute kinds built on it: strings
//! (h5py's `str`, stored as variable-length UTF-8) and h5py's `attrs.update(metadata)`.

use super::WriteCtx;
use crate::error::Error;
use crate::error::Result;
use crate::read::value::Value;
use h5_format::global_heap::CollectionBuilder;
use h5_format::message::datatype::Datatype;
use h5_format::message::datatype::StrPad;
use h5_format::Writer;

/// Store `data` as a global heap object; returns the heap ID (collection, index).
pub(crate) fn put(cx: &mut WriteCtx<'_>, data: &[u8]) -> Result<(u64, u32)> {
    let sizes = cx.f.sizes;
    let fits = matches!(&cx.st.heap.current, Some((_, c)) if c.fits(data.len()));
    if !fits {
        let c = if CollectionBuilder::new(sizes).fits(data.len()) {
            CollectionBuilder::new(sizes)
        } else {
            CollectionBuilder::for_object(sizes, data.len())
        };
        let addr = cx.alloc(c.size())?;
        cx.st.heap.current = Some((addr, c));
    }
    let (addr, index, bytes) = {
        let (addr, c) = cx
            .st
            .heap
            .current
            .as_mut()
            .expect("a collection was just made current");
        let index = c
            .add(data)
            .ok_or_else(|| Error::Unsupported("global heap collection full".into()))?;
        (*addr, index, c.encode())
    };
    cx.write(addr, &bytes)?;
    Ok((addr, index as u32))
}

/// A variable-length element: length, then the heap ID.
fn vlen_element(cx: &WriteCtx<'_>, count: usize, id: (u64, u32)) -> Vec<u8> {
    let mut w = Writer::new(cx.f.sizes);
    w.u32(count as u32).offset(Some(id.0)).u32(id.1);
    w.finish()
}

/// `dt` with its variable-length parts sized for this file: a variable-length element is a
/// 4-byte length and a global heap ID (an address and a 4-byte index), so 16 bytes in the
/// files we create and 12 in a file with 4-byte addresses. Packed compounds are packed again
/// around the new sizes; a compound with its own offsets keeps them.
pub(crate) fn fit_to_file(dt: &Datatype, sizes: h5_format::Sizes) -> Datatype {
    let vlen = 8 + sizes.offset as u32;
    match dt {
        Datatype::VarLenStr { pad, charset, .. } => Datatype::VarLenStr {
            size: vlen,
            pad: *pad,
            charset: *charset,
        },
        Datatype::VarLenSeq { base, .. } => Datatype::VarLenSeq {
            size: vlen,
            base: Box::new(fit_to_file(base, sizes)),
        },
        Datatype::Array { base, dims } => Datatype::Array {
            base: Box::new(fit_to_file(base, sizes)),
            dims: dims.clone(),
        },
        Datatype::Compound { size, members } => {
            let mut end = 0u64;
            let packed = members.iter().all(|m| {
                let at = m.offset == end;
                end += m.dtype.size();
                at
            }) && end == *size as u64;
            if !packed {
                return dt.clone();
            }
            let fitted: Vec<(&str, Datatype)> = members
                .iter()
                .map(|m| (m.name.as_str(), fit_to_file(&m.dtype, sizes)))
                .collect();
            crate::read::types::compound(&fitted)
        }
        other => other.clone(),
    }
}

/// Stored bytes of variable-length strings.
pub(crate) fn vlen_strings(cx: &mut WriteCtx<'_>, values: &[&str]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for s in values {
        if s.as_bytes().contains(&0) {
            return Err(Error::Conversion(
                "strings with NUL bytes cannot be stored as HDF5 strings".into(),
            ));
        }
        let id = put(cx, s.as_bytes())?;
        out.extend(vlen_element(cx, s.len(), id));
    }
    Ok(out)
}

/// Encode one dynamic value as an element of `dt` into `out` (exactly `dt.size()` bytes),
/// storing variable-length parts in the global heap.
pub(crate) fn encode_value(
    cx: &mut WriteCtx<'_>,
    dt: &Datatype,
    v: &Value,
    out: &mut [u8],
) -> Result<()> {
    use crate::read::convert::encode_scalar;
    let mismatch = || {
        Error::Conversion(format!(
            "{} cannot be stored as {}",
            v.kind(),
            crate::read::types::describe(dt)
        ))
    };
    match (dt, v) {
        (Datatype::Compound { members, .. }, Value::Complex(re, im))
            if crate::read::value::is_complex_compound(dt) =>
        {
            let n = members[0].dtype.size() as usize;
            encode_scalar(
                &members[0].dtype,
                crate::read::convert::Scalar::Float(*re),
                &mut out[..n],
            )?;
            encode_scalar(
                &members[1].dtype,
                crate::read::convert::Scalar::Float(*im),
                &mut out[n..2 * n],
            )
        }
        (Datatype::Complex { base, .. }, Value::Complex(re, im)) => {
            let n = base.size() as usize;
            encode_scalar(
                base,
                crate::read::convert::Scalar::Float(*re),
                &mut out[..n],
            )?;
            encode_scalar(
                base,
                crate::read::convert::Scalar::Float(*im),
                &mut out[n..2 * n],
            )
        }
        (Datatype::Compound { members, .. }, Value::Compound(fields)) => {
            for m in members {
                let (_, fv) = fields.iter().find(|(n, _)| *n == m.name).ok_or_else(|| {
                    Error::Conversion(format!("the value has no field {:?}", m.name))
                })?;
                let at = m.offset as usize;
                encode_value(cx, &m.dtype, fv, &mut out[at..at + m.dtype.size() as usize])?;
            }
            Ok(())
        }
        (Datatype::Enum { members, base, .. }, Value::Str(name)) => {
            let (_, raw) = members.iter().find(|(n, _)| n == name).ok_or_else(|| {
                Error::Conversion(format!("{name:?} is not a member of the enum"))
            })?;
            out[..base.size() as usize].copy_from_slice(raw);
            Ok(())
        }
        (Datatype::Integer { .. } | Datatype::Float { .. } | Datatype::Enum { .. }, _) => {
            encode_scalar(dt, v.as_scalar().ok_or_else(mismatch)?, out)
        }
        (Datatype::String { pad, .. }, Value::Str(s)) => {
            let b = s.as_bytes();
            let keep = match pad {
                StrPad::NullTerm => b.len().min(out.len().saturating_sub(1)),
                _ => b.len().min(out.len()),
            };
            let fill = if *pad == StrPad::SpacePad { b' ' } else { 0 };
            out.fill(fill);
            out[..keep].copy_from_slice(&b[..keep]);
            Ok(())
        }
        (Datatype::VarLenStr { .. }, Value::Str(s)) => {
            let el = vlen_strings(cx, &[s.as_str()])?;
            out.copy_from_slice(&el);
            Ok(())
        }
        (Datatype::VarLenSeq { base, .. }, Value::List(items)) => {
            let es = base.size() as usize;
            let mut data =
                cx.f.data_buffer((items.len() as u64).saturating_mul(es as u64))?;
            for (item, slot) in items.iter().zip(data.chunks_exact_mut(es.max(1))) {
                encode_value(cx, base, item, slot)?;
            }
            let id = put(cx, &data)?;
            out.copy_from_slice(&vlen_element(cx, items.len(), id));
            Ok(())
        }
        (Datatype::Array { base, .. }, Value::List(items)) => {
            let es = base.size() as usize;
            if items.len() * es != out.len() {
                return Err(Error::Shape(format!(
                    "{} values for an array element of {} bytes",
                    items.len(),
                    out.len()
                )));
            }
            for (item, slot) in items.iter().zip(out.chunks_exact_mut(es)) {
                encode_value(cx, base, item, slot)?;
            }
            Ok(())
        }
        (Datatype::Opaque { .. }, Value::Opaque(b)) if b.len() == out.len() => {
            out.copy_from_slice(b);
            Ok(())
        }
        (
            Datatype::Reference {
                kind: h5_format::message::datatype::RefKind::Object,
                ..
            },
            Value::Ref(a),
        ) => {
            let mut w = Writer::new(cx.f.sizes);
            w.uint(a.unwrap_or(0), cx.f.sizes.offset as usize);
            out[..w.len()].copy_from_slice(&w.finish());
            Ok(())
        }
        (
            Datatype::Reference {
                kind: h5_format::message::datatype::RefKind::Region,
                ..
            },
            Value::RegionRef(r),
        ) => {
            // a global heap object: the object's address, then the selection as libhdf5
            // encodes it for the file's profile; the element is that object's heap ID
            let mut w = Writer::new(cx.f.sizes);
            match r {
                None => {
                    w.offset(Some(0)).u32(0);
                }
                Some(crate::Region {
                    object,
                    selection: Some(sel),
                }) => {
                    let mut obj = Writer::new(cx.f.sizes);
                    obj.offset(Some(*object));
                    sel.encode(cx.st.libver.selection_versions(), &mut obj)
                        .map_err(Error::Format)?;
                    let (coll, index) = put(cx, &obj.finish())?;
                    w.offset(Some(coll)).u32(index);
                }
                Some(_) => {
                    return Err(Error::Conversion(
                        "a region reference without its selection (a revised reference) cannot \
                         be stored"
                            .into(),
                    ))
                }
            }
            let b = w.finish();
            out[..b.len()].copy_from_slice(&b);
            Ok(())
        }
        _ => Err(mismatch()),
    }
}

/// Encode values (one per selected element, or one to broadcast) into stored bytes.
pub(crate) fn encode_values(
    cx: &mut WriteCtx<'_>,
    dt: &Datatype,
    values: &[Value],
    n: usize,
) -> Result<Vec<u8>> {
    let es = dt.size() as usize;
    if values.len() != n && values.len() != 1 {
        return Err(Error::Shape(format!(
            "{} values for a selection of {n} elements",
            values.len()
        )));
    }
    if es == 0 {
        return Err(Error::Unsupported(format!(
            "storing values of a zero-sized {dt:?}"
        )));
    }
    let mut out = cx.f.data_buffer((n as u64).saturating_mul(es as u64))?;
    if values.len() == 1 && n > 1 {
        encode_value(cx, dt, &values[0], &mut out[..es])?;
        let first = out[..es].to_vec();
        out.chunks_exact_mut(es)
            .skip(1)
            .for_each(|c| c.copy_from_slice(&first));
    } else {
        for (v, slot) in values.iter().zip(out.chunks_exact_mut(es)) {
            encode_value(cx, dt, v, slot)?;
        }
    }
    Ok(out)
}

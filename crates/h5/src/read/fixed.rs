//! [`Fixed`]: elements of a fixed stored size (numbers, fixed strings, arrays and compounds of
//! them, enums) decode and encode straight between their bytes and the Rust type, through a
//! [`FieldPlan`] made once per read or write — no [`Value`](crate::Value) per element.

use crate::error::{Error, Result};
use h5_format::message::datatype::Datatype;
use std::ops::Range;

/// How `T` decodes from and encodes to stored bytes without a [`Value`](crate::Value) per element.
#[doc(hidden)]
#[derive(Debug)]
pub struct Fixed<T> {
    /// The plan for elements stored as this datatype, or `None` when they need the general
    /// conversion (another member type, a missing member…).
    pub plan: PlanFn,
    /// One element from its stored bytes (exactly the datatype's size) under a plan.
    pub decode: fn(&FieldPlan, &[u8]) -> Result<T>,
    /// One element into its stored bytes (zeroed, exactly the datatype's size) under a plan.
    pub encode: fn(&FieldPlan, &T, &mut [u8]) -> Result<()>,
}

impl<T> Clone for Fixed<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Fixed<T> {}

/// Where the parts of a stored element are: for a compound, each field's member (offset,
/// size and the member's own plan, in field order); for an array, each element; empty for a
/// type stored as itself.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct FieldPlan {
    /// (offset, size, plan) of each part.
    pub parts: Vec<(usize, usize, FieldPlan)>,
}

impl FieldPlan {
    /// The plan of a compound stored as `dt`, for fields (name, how the field's type plans)
    /// in the struct's order: each found by member name, as libhdf5 converts compounds.
    pub fn compound(dt: &Datatype, fields: &[(&str, PlanFn)]) -> Option<FieldPlan> {
        let Datatype::Compound { members, .. } = dt else {
            return None;
        };
        let parts = fields
            .iter()
            .map(|(name, plan)| {
                let m = members.iter().find(|m| m.name == *name)?;
                Some((
                    usize::try_from(m.offset).ok()?,
                    usize::try_from(m.dtype.size()).ok()?,
                    plan(&m.dtype)?,
                ))
            })
            .collect::<Option<_>>()?;
        Some(FieldPlan { parts })
    }

    /// Where part `i` lies in an element of `len` bytes, and its plan.
    #[inline(always)]
    fn part(&self, i: usize, len: usize) -> Result<(Range<usize>, &FieldPlan)> {
        if let Some((at, size, plan)) = self.parts.get(i) {
            if let Some(end) = at.checked_add(*size).filter(|&end| end <= len) {
                return Ok((*at..end, plan));
            }
        }
        Err(self.bad_part(i, len))
    }

    /// Why part `i` is not in an element of `len` bytes (out of line: the loops stay small).
    #[cold]
    #[inline(never)]
    fn bad_part(&self, i: usize, len: usize) -> Error {
        match self.parts.get(i) {
            None => Error::Conversion(format!("no part {i} in the element's plan")),
            Some((at, size, _)) => Error::Conversion(format!(
                "a member at {at} of {size} bytes outside an element of {len}"
            )),
        }
    }

    /// Part `i` of the stored element `b`, decoded by `decode` (the part's type's
    /// `H5Type::decode_fixed`: called directly, so it inlines into the caller's loop).
    ///
    /// # Errors
    /// A part outside `b`, or what `decode` refuses.
    #[inline(always)]
    pub fn decode<T>(
        &self,
        i: usize,
        b: &[u8],
        decode: impl FnOnce(&FieldPlan, &[u8]) -> Result<T>,
    ) -> Result<T> {
        let (at, plan) = self.part(i, b.len())?;
        decode(plan, &b[at])
    }

    /// Part `i` of the stored element `b` from `x`, encoded by `encode` (the part's type's
    /// `H5Type::encode_fixed`).
    ///
    /// # Errors
    /// A part outside `b`, or what `encode` refuses.
    #[inline(always)]
    pub fn encode<T>(
        &self,
        i: usize,
        x: &T,
        b: &mut [u8],
        encode: impl FnOnce(&FieldPlan, &T, &mut [u8]) -> Result<()>,
    ) -> Result<()> {
        let (at, plan) = self.part(i, b.len())?;
        encode(plan, x, &mut b[at])
    }
}

/// How a field's type plans for a stored member type.
#[doc(hidden)]
pub type PlanFn = fn(&Datatype) -> Option<FieldPlan>;

/// `src` into `out`, which must be as long.
///
/// # Errors
/// Lengths that differ.
#[doc(hidden)]
#[inline]
pub fn put(src: &[u8], out: &mut [u8]) -> Result<()> {
    if src.len() != out.len() {
        return Err(Error::Conversion(format!(
            "{} bytes into an element of {}",
            src.len(),
            out.len()
        )));
    }
    out.copy_from_slice(src);
    Ok(())
}

/// The error for a type with no fixed-size layout.
pub(crate) fn no_fixed<T>() -> Error {
    Error::Conversion(format!(
        "{} has no fixed-size layout",
        std::any::type_name::<T>()
    ))
}

/// Decode every element of `data` (elements of `size` bytes) under a plan, onto `out`;
/// large runs on rayon's pool, each element decoded straight into its place in `out`.
pub(crate) fn decode_all<T: Send>(
    decode: impl Fn(&FieldPlan, &[u8]) -> Result<T> + Sync,
    plan: &FieldPlan,
    size: usize,
    data: &[u8],
    out: &mut Vec<T>,
) -> Result<()> {
    let size = size.max(1);
    let read = |first: usize, buf: &mut [u8]| {
        let part = first
            .checked_mul(size)
            .and_then(|at| data.get(at..at.checked_add(buf.len())?))
            .ok_or_else(|| Error::Conversion("a part past the elements' bytes".into()))?;
        buf.copy_from_slice(part);
        Ok(())
    };
    decode_from(decode, plan, size, data.len() / size, read, out)
}

/// `f()`, on a path taken rarely (kept out of the loop that calls it).
#[cold]
#[inline(never)]
fn cold<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Fill `buf` with the stored bytes of elements `want` (of `size` bytes), and `held` with
/// that range (empty when the read fails). Out of line: once a part.
#[inline(never)]
fn refill(
    read: &(impl Fn(usize, &mut [u8]) -> Result<()> + Sync),
    buf: &mut Vec<u8>,
    held: &mut Range<usize>,
    want: Range<usize>,
    size: usize,
) -> Result<()> {
    buf.resize(want.len() * size, 0);
    *held = 0..0;
    read(want.start, buf)?;
    *held = want;
    Ok(())
}

/// Decode `n` elements of `size` bytes that `read(first, buf)` fetches (the stored bytes of
/// elements `first..` into `buf`), onto `out`: parts of about 256 KiB are read and decoded on
/// rayon's pool, each element straight into its place in `out` — the stored bytes are never
/// held whole. Each element decodes through `decode`: a closure `#[inline(always)]` that
/// calls the type's `H5Type::decode_fixed` (the same function as its `fixed()`'s `decode`),
/// so that the decode inlines into the loop (through a pointer, or the function item
/// itself, it does not). On an error `out` is as it was.
pub(crate) fn decode_from<T: Send>(
    decode: impl Fn(&FieldPlan, &[u8]) -> Result<T> + Sync,
    plan: &FieldPlan,
    size: usize,
    n: usize,
    read: impl Fn(usize, &mut [u8]) -> Result<()> + Sync,
    out: &mut Vec<T>,
) -> Result<()> {
    const PART: usize = 256 << 10;
    let size = size.max(1);
    let per = (PART / size).max(1);
    let start = out.len();
    #[cfg(not(target_arch = "wasm32"))]
    if n > 2 * per && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        use std::sync::Mutex;
        let mut first = vec![0u8; size];
        read(0, &mut first)?;
        decode(plan, &first)?;
        let failed = Mutex::new(None);
        // set at the first failure: the rest is filled without reading
        let stop = std::sync::atomic::AtomicBool::new(false);
        // every slot is filled (after a failure, with the first element decoded again: its
        // bytes decoded a moment ago); the first failure is returned
        let filler =
            || decode(plan, &first).expect("decoding is a function of the plan and the bytes");
        let fail = |e: Error| {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Ok(mut f) = failed.lock() {
                f.get_or_insert(e);
            }
            filler()
        };
        // Each split of the range decodes its elements in order from a buffer that holds
        // the stored bytes from its current element to the next part boundary.
        out.par_extend((0..n).into_par_iter().with_min_len(per).map_init(
            || (Vec::new(), 0..0),
            // the loop's body is this closure, inlined so that the element's decode is (a
            // struct returned from a call is stored field by field and loaded whole, a
            // store-forwarding stall per element); the refill and the failures are out of
            // line
            #[inline(always)]
            |(buf, held): &mut (Vec<u8>, Range<usize>), i| {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return cold(filler);
                }
                if !held.contains(&i) {
                    let want = i..((i / per + 1) * per).min(n);
                    if let Err(e) = refill(&read, buf, held, want, size) {
                        return cold(|| fail(e));
                    }
                }
                let at = (i - held.start) * size;
                match decode(plan, &buf[at..at + size]) {
                    Ok(x) => x,
                    Err(e) => cold(|| fail(e)),
                }
            },
        ));
        let failed = match failed.into_inner() {
            Ok(None) => return Ok(()),
            Ok(Some(e)) => e,
            Err(_) => Error::Conversion("a decoding thread failed".into()),
        };
        out.truncate(start);
        return Err(failed);
    }
    out.reserve(n);
    let mut buf = Vec::new();
    let serial = (0..n).step_by(per).try_for_each(|first| {
        buf.resize(per.min(n - first) * size, 0);
        read(first, &mut buf)?;
        for b in buf.chunks_exact(size) {
            out.push(decode(plan, b)?);
        }
        Ok(())
    });
    if serial.is_err() {
        out.truncate(start);
    }
    serial
}

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
    fn part(&self, i: usize, len: usize) -> Result<(Range<usize>, &FieldPlan)> {
        let (at, size, plan) = self
            .parts
            .get(i)
            .ok_or_else(|| Error::Conversion(format!("no part {i} in the element's plan")))?;
        match at.checked_add(*size) {
            Some(end) if end <= len => Ok((*at..end, plan)),
            _ => Err(Error::Conversion(format!(
                "a member at {at} of {size} bytes outside an element of {len}"
            ))),
        }
    }

    /// Part `i` of the stored element `b`, decoded by `fx`.
    ///
    /// # Errors
    /// No `fx`, a part outside `b`, or what `fx` refuses.
    pub fn decode<T>(&self, i: usize, b: &[u8], fx: Option<Fixed<T>>) -> Result<T> {
        let fx = fx.ok_or_else(no_fixed::<T>)?;
        let (at, plan) = self.part(i, b.len())?;
        (fx.decode)(plan, &b[at])
    }

    /// Part `i` of the stored element `b` from `x`, encoded by `fx`.
    ///
    /// # Errors
    /// No `fx`, a part outside `b`, or what `fx` refuses.
    pub fn encode<T>(&self, i: usize, x: &T, b: &mut [u8], fx: Option<Fixed<T>>) -> Result<()> {
        let fx = fx.ok_or_else(no_fixed::<T>)?;
        let (at, plan) = self.part(i, b.len())?;
        (fx.encode)(plan, x, &mut b[at])
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

fn no_fixed<T>() -> Error {
    Error::Conversion(format!(
        "{} has no fixed-size layout",
        std::any::type_name::<T>()
    ))
}

/// Decode every element of `data` (elements of `size` bytes) under a plan, onto `out`;
/// large runs in parts on rayon's pool, appended in order.
pub(crate) fn decode_all<T: Send>(
    fx: Fixed<T>,
    plan: &FieldPlan,
    size: usize,
    data: &[u8],
    out: &mut Vec<T>,
) -> Result<()> {
    let size = size.max(1);
    let serial = |data: &[u8], out: &mut Vec<T>| -> Result<()> {
        for b in data.chunks_exact(size) {
            out.push((fx.decode)(plan, b)?);
        }
        Ok(())
    };
    const PART: usize = 256 << 10;
    if data.len() < 2 * PART {
        return serial(data, out);
    }
    let parts: Vec<&[u8]> = data.chunks(PART / size * size).collect();
    for part in super::chunks::par_map(&parts, |part| {
        let mut v = Vec::with_capacity(part.len() / size);
        serial(part, &mut v).map(|()| v)
    }) {
        out.append(&mut part?);
    }
    Ok(())
}

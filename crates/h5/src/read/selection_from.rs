//! Selections from Rust values, as [`crate::Dataset::read_slice`] and
//! [`crate::Dataset::write_slice`] take them (anything `TryInto<Selection>`): integers, ranges
//! (`2..5`, `..`, `3..`, `..=7`), per-axis tuples and arrays of them, ndarray's `s![]` (with
//! steps), point lists (`Vec<[u64; D]>`), boolean masks, and text in numpy's syntax. The
//! selection is checked when it meets the dataset's shape: an index past an axis or a step
//! that is not positive is refused there, with the axis named.

use super::selection::{Selection, SliceArg};
use crate::error::{Error, Result};
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// An index as `i64`; one beyond `i64::MAX` cannot be in range of any axis, so it stays out
/// of range rather than wrapping.
trait Index: Copy {
    fn index(self) -> i64;
}

/// One axis argument as a whole selection (the later axes whole).
macro_rules! selection_from_axis {
    ($($a:ty),*) => {$(
        impl From<$a> for Selection {
            fn from(a: $a) -> Self {
                Selection::Slice(vec![a.into()])
            }
        }
    )*};
}

macro_rules! axis_from_ints {
    ($($t:ty),*) => {$(
        impl Index for $t {
            fn index(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
            }
        }
        impl From<$t> for SliceArg {
            fn from(i: $t) -> Self {
                SliceArg::Index(i.index())
            }
        }
        impl From<Range<$t>> for SliceArg {
            fn from(r: Range<$t>) -> Self {
                SliceArg::Range { start: Some(r.start.index()), stop: Some(r.end.index()), step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for SliceArg {
            fn from(r: RangeFrom<$t>) -> Self {
                SliceArg::Range { start: Some(r.start.index()), stop: None, step: 1 }
            }
        }
        impl From<RangeTo<$t>> for SliceArg {
            fn from(r: RangeTo<$t>) -> Self {
                SliceArg::Range { start: None, stop: Some(r.end.index()), step: 1 }
            }
        }
        impl From<RangeInclusive<$t>> for SliceArg {
            fn from(r: RangeInclusive<$t>) -> Self {
                let stop = r.end().index();
                // `..=-1` is "through the last": open-ended, as numpy has no inclusive stop
                let stop = if stop == -1 { None } else { Some(stop.saturating_add(1)) };
                SliceArg::Range { start: Some(r.start().index()), stop, step: 1 }
            }
        }
        impl From<RangeToInclusive<$t>> for SliceArg {
            fn from(r: RangeToInclusive<$t>) -> Self {
                let stop = r.end.index();
                let stop = if stop == -1 { None } else { Some(stop.saturating_add(1)) };
                SliceArg::Range { start: None, stop, step: 1 }
            }
        }
        selection_from_axis!($t, Range<$t>, RangeFrom<$t>, RangeTo<$t>, RangeInclusive<$t>,
            RangeToInclusive<$t>);
    )*};
}
axis_from_ints!(i32, i64, isize, u32, u64, usize);

impl From<RangeFull> for SliceArg {
    fn from(_: RangeFull) -> Self {
        SliceArg::All
    }
}

/// `..`: everything.
impl From<RangeFull> for Selection {
    fn from(_: RangeFull) -> Self {
        Selection::All
    }
}

macro_rules! selection_from_tuples {
    ($(($($a:ident),+)),*) => {$(
        /// One argument per axis (missing trailing axes are whole).
        #[allow(non_snake_case)]
        impl<$($a: Into<SliceArg>),+> From<($($a,)+)> for Selection {
            fn from(($($a,)+): ($($a,)+)) -> Self {
                Selection::Slice(vec![$($a.into()),+])
            }
        }
    )*};
}
selection_from_tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F)
);

/// One argument per axis, all of one kind (`[2..4, 0..3]`).
impl<A: Into<SliceArg>, const N: usize> From<[A; N]> for Selection {
    fn from(axes: [A; N]) -> Self {
        Selection::Slice(axes.into_iter().map(Into::into).collect())
    }
}

/// A list of points, each with one coordinate per axis; the result is 1-D, in this order.
impl<const D: usize> From<Vec<[u64; D]>> for Selection {
    fn from(points: Vec<[u64; D]>) -> Self {
        Selection::Points(points.into_iter().map(|p| p.to_vec()).collect())
    }
}

/// A list of points, each with one coordinate per axis.
impl<const D: usize> From<&[[u64; D]]> for Selection {
    fn from(points: &[[u64; D]]) -> Self {
        Selection::Points(points.iter().map(|p| p.to_vec()).collect())
    }
}

/// A boolean mask with the dataset's shape, row-major (numpy's `dset[mask]`).
impl From<Vec<bool>> for Selection {
    fn from(mask: Vec<bool>) -> Self {
        Selection::Mask(mask)
    }
}

/// A boolean mask with the dataset's shape (numpy's `dset[mask]`).
impl<S: ndarray::Data<Elem = bool>, D: ndarray::Dimension> From<&ndarray::ArrayBase<S, D>>
    for Selection
{
    fn from(mask: &ndarray::ArrayBase<S, D>) -> Self {
        Selection::Mask(mask.iter().copied().collect())
    }
}

impl From<&Selection> for Selection {
    fn from(s: &Selection) -> Self {
        s.clone()
    }
}

/// numpy's syntax: `"3, 100:164, ::2"` (see [`Selection::parse`]).
impl TryFrom<&str> for Selection {
    type Error = Error;
    fn try_from(text: &str) -> Result<Self> {
        Selection::parse(text)
    }
}

/// ndarray's `s![2, 1..4;2, ..]`: indices, ranges with steps (a negative step is refused when
/// the selection meets the shape, as h5py refuses it); `NewAxis` has no meaning in a file.
impl<T: AsRef<[ndarray::SliceInfoElem]>, Din: ndarray::Dimension, Dout: ndarray::Dimension>
    TryFrom<ndarray::SliceInfo<T, Din, Dout>> for Selection
{
    type Error = Error;
    fn try_from(info: ndarray::SliceInfo<T, Din, Dout>) -> Result<Self> {
        let elems: &[ndarray::SliceInfoElem] = info.as_ref();
        elems
            .iter()
            .enumerate()
            .map(|(axis, e)| match *e {
                ndarray::SliceInfoElem::Index(i) => Ok(SliceArg::Index(i as i64)),
                ndarray::SliceInfoElem::Slice {
                    start: 0,
                    end: None,
                    step: 1,
                } => Ok(SliceArg::All),
                ndarray::SliceInfoElem::Slice { start, end, step } => Ok(SliceArg::Range {
                    start: Some(start as i64),
                    stop: end.map(|e| e as i64),
                    step: step as i64,
                }),
                ndarray::SliceInfoElem::NewAxis => Err(Error::Selection(format!(
                    "s![] argument {axis}: a new axis cannot select from a dataset"
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Selection::Slice)
    }
}

/// Anything a selection can be made from, made into one.
pub(crate) fn selection(s: impl TryInto<Selection, Error: Into<Error>>) -> Result<Selection> {
    s.try_into().map_err(Into::into)
}

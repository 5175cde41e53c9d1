//! Selections in h5py's vocabulary: per-dimension indices, ranges with steps, full axes,
//! ellipsis, increasing index lists; plus point lists and boolean masks.

use crate::error::{Error, Result};

/// One dimension's part of a hyperslab selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SliceArg {
    /// One index (drops the dimension); negative counts from the end.
    Index(i64),
    /// `start:stop:step` (step > 0); `None` ends are open; negatives count from the end.
    Range {
        /// First index.
        start: Option<i64>,
        /// One past the last index.
        stop: Option<i64>,
        /// Step (positive).
        step: i64,
    },
    /// The whole axis (`:`).
    All,
    /// `...`: as many full axes as needed.
    Ellipsis,
    /// An increasing list of indices (numpy fancy indexing, one axis at a time).
    Indices(Vec<i64>),
}

/// A selection of elements of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Everything.
    All,
    /// A hyperslab: one argument per dimension (missing trailing ones are full axes).
    Slice(Vec<SliceArg>),
    /// A list of points (each with one coordinate per dimension); result is 1-D.
    Points(Vec<Vec<u64>>),
    /// A boolean mask with the dataset's shape (row-major); result is 1-D.
    Mask(Vec<bool>),
}

impl From<Vec<SliceArg>> for Selection {
    fn from(v: Vec<SliceArg>) -> Self {
        Selection::Slice(v)
    }
}

impl Selection {
    /// Parse numpy slice syntax: `"3, 100:164, ::2"`, `"..."`, `"-1"`, `"[1,4,9]"` (an index
    /// list on one axis).
    pub fn parse(text: &str) -> Result<Selection> {
        let bad = |m: &str| Error::Selection(format!("{m} in {text:?}"));
        let mut args = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (part, tail) = if rest.starts_with('[') {
                let end = rest.find(']').ok_or_else(|| bad("unclosed ["))?;
                (&rest[..=end], rest[end + 1..].trim_start())
            } else {
                match rest.find(',') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, ""),
                }
            };
            let tail = tail.strip_prefix(',').unwrap_or(tail).trim_start();
            if !tail.is_empty()
                && !tail.starts_with(|c: char| {
                    c == '[' || c == '.' || c == ':' || c == '-' || c.is_ascii_digit()
                })
            {
                return Err(bad("unexpected text"));
            }
            let part = part.trim();
            let num = |s: &str| -> Result<Option<i64>> {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<i64>()
                        .map(Some)
                        .map_err(|_| bad("not an integer"))
                }
            };
            if part == "..." {
                args.push(SliceArg::Ellipsis);
            } else if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                let v: Result<Vec<i64>> = inner
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| num(s).map(|x| x.unwrap_or(0)))
                    .collect();
                args.push(SliceArg::Indices(v?));
            } else if part.contains(':') {
                let bits: Vec<&str> = part.split(':').collect();
                if bits.len() > 3 {
                    return Err(bad("too many ':'"));
                }
                let start = num(bits[0])?;
                let stop = num(bits[1])?;
                let step = if bits.len() == 3 {
                    num(bits[2])?.unwrap_or(1)
                } else {
                    1
                };
                if start.is_none() && stop.is_none() && step == 1 {
                    args.push(SliceArg::All);
                } else {
                    args.push(SliceArg::Range { start, stop, step });
                }
            } else if part.is_empty() {
                return Err(bad("empty index"));
            } else {
                args.push(SliceArg::Index(num(part)?.unwrap_or(0)));
            }
            rest = tail;
        }
        Ok(Selection::Slice(args))
    }
}

/// One dimension of a resolved hyperslab: coordinates `start + i*step` for `i < count`, or
/// an explicit increasing list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dim {
    Range { start: u64, step: u64, count: u64 },
    List(Vec<u64>),
}

impl Dim {
    pub(crate) fn count(&self) -> u64 {
        match self {
            Dim::Range { count, .. } => *count,
            Dim::List(v) => v.len() as u64,
        }
    }
    pub(crate) fn coord(&self, i: u64) -> u64 {
        match self {
            Dim::Range { start, step, .. } => start + i * step,
            Dim::List(v) => v[i as usize],
        }
    }
    /// Positions `[a, b)` of the selected coordinates that fall in `[lo, hi)`.
    pub(crate) fn positions_in(&self, lo: u64, hi: u64) -> (u64, u64) {
        match self {
            Dim::Range { start, step, count } => {
                let first = if lo <= *start {
                    0
                } else {
                    (lo - start).div_ceil(*step)
                };
                let end = if hi <= *start {
                    0
                } else {
                    (hi - start).div_ceil(*step)
                };
                (first.min(*count), end.min(*count))
            }
            Dim::List(v) => {
                let a = v.partition_point(|&c| c < lo) as u64;
                let b = v.partition_point(|&c| c < hi) as u64;
                (a, b)
            }
        }
    }
    pub(crate) fn unit_step(&self) -> bool {
        match self {
            Dim::Range { step, .. } => *step == 1,
            Dim::List(_) => false,
        }
    }
}

/// A selection resolved against a shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Hyperslab: per-dimension coordinates, and which dimensions the result keeps.
    Slab { dims: Vec<Dim>, keep: Vec<bool> },
    /// Points (row-major order for masks).
    Points(Vec<Vec<u64>>),
}

impl Resolved {
    /// Shape of the result.
    pub(crate) fn out_shape(&self) -> Vec<u64> {
        match self {
            Resolved::Slab { dims, keep } => dims
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(d, _)| d.count())
                .collect(),
            Resolved::Points(p) => vec![p.len() as u64],
        }
    }
    /// Number of selected elements.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Resolved::Slab { dims, .. } => {
                dims.iter().fold(1u64, |a, d| a.saturating_mul(d.count()))
            }
            Resolved::Points(p) => p.len() as u64,
        }
    }
}

fn norm_index(i: i64, n: u64, axis: usize) -> Result<u64> {
    let v = if i < 0 {
        n as i128 + i as i128
    } else {
        i as i128
    };
    if v < 0 || v >= n as i128 {
        return Err(Error::Selection(format!(
            "index {i} is out of range for axis {axis} with size {n}"
        )));
    }
    Ok(v as u64)
}

fn clamp_end(i: i64, n: u64) -> u64 {
    let v = if i < 0 {
        n as i128 + i as i128
    } else {
        i as i128
    };
    v.clamp(0, n as i128) as u64
}

impl Selection {
    /// Resolve against `shape`.
    pub(crate) fn resolve(&self, shape: &[u64]) -> Result<Resolved> {
        match self {
            Selection::All => Ok(Resolved::Slab {
                dims: shape
                    .iter()
                    .map(|&n| Dim::Range {
                        start: 0,
                        step: 1,
                        count: n,
                    })
                    .collect(),
                keep: vec![true; shape.len()],
            }),
            Selection::Points(pts) => {
                for p in pts {
                    if p.len() != shape.len() || p.iter().zip(shape).any(|(&c, &n)| c >= n) {
                        return Err(Error::Selection(format!(
                            "point {p:?} is outside the shape {shape:?}"
                        )));
                    }
                }
                Ok(Resolved::Points(pts.clone()))
            }
            Selection::Mask(m) => {
                let total = shape.iter().fold(1u64, |a, &n| a.saturating_mul(n));
                if m.len() as u64 != total {
                    return Err(Error::Selection(format!(
                        "mask has {} elements, the dataset {total}",
                        m.len()
                    )));
                }
                let mut pts = Vec::new();
                for (flat, _) in m.iter().enumerate().filter(|(_, &b)| b) {
                    let mut rem = flat as u64;
                    let mut p = vec![0u64; shape.len()];
                    for d in (0..shape.len()).rev() {
                        p[d] = rem % shape[d];
                        rem /= shape[d];
                    }
                    pts.push(p);
                }
                Ok(Resolved::Points(pts))
            }
            Selection::Slice(args) => {
                let ell = args.iter().filter(|a| **a == SliceArg::Ellipsis).count();
                if ell > 1 {
                    return Err(Error::Selection("more than one ellipsis".into()));
                }
                let explicit = args.len() - ell;
                if explicit > shape.len() {
                    return Err(Error::Selection(format!(
                        "{explicit} indices for a dataset of rank {}",
                        shape.len()
                    )));
                }
                let mut full = Vec::with_capacity(shape.len());
                for a in args {
                    if *a == SliceArg::Ellipsis {
                        full.extend(std::iter::repeat_n(SliceArg::All, shape.len() - explicit));
                    } else {
                        full.push(a.clone());
                    }
                }
                while full.len() < shape.len() {
                    full.push(SliceArg::All);
                }
                let mut dims = Vec::with_capacity(shape.len());
                let mut keep = Vec::with_capacity(shape.len());
                for (axis, (a, &n)) in full.iter().zip(shape).enumerate() {
                    match a {
                        SliceArg::Index(i) => {
                            dims.push(Dim::Range {
                                start: norm_index(*i, n, axis)?,
                                step: 1,
                                count: 1,
                            });
                            keep.push(false);
                        }
                        SliceArg::All | SliceArg::Ellipsis => {
                            dims.push(Dim::Range {
                                start: 0,
                                step: 1,
                                count: n,
                            });
                            keep.push(true);
                        }
                        SliceArg::Range { start, stop, step } => {
                            if *step <= 0 {
                                return Err(Error::Selection(format!(
                                    "step {step} must be positive (h5py rejects it too)"
                                )));
                            }
                            let s = start.map_or(0, |v| clamp_end(v, n));
                            let e = stop.map_or(n, |v| clamp_end(v, n));
                            let step = *step as u64;
                            let count = if e > s { (e - s).div_ceil(step) } else { 0 };
                            dims.push(Dim::Range {
                                start: s,
                                step,
                                count,
                            });
                            keep.push(true);
                        }
                        SliceArg::Indices(v) => {
                            let mut out = Vec::with_capacity(v.len());
                            for &i in v {
                                let c = norm_index(i, n, axis)?;
                                if out.last().is_some_and(|&l| l >= c) {
                                    return Err(Error::Selection(
                                        "index lists must be increasing (as in h5py)".into(),
                                    ));
                                }
                                out.push(c);
                            }
                            dims.push(Dim::List(out));
                            keep.push(true);
                        }
                    }
                }
                if dims.iter().filter(|d| matches!(d, Dim::List(_))).count() > 1 {
                    return Err(Error::Selection(
                        "only one index list per selection (as in h5py)".into(),
                    ));
                }
                Ok(Resolved::Slab { dims, keep })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_syntax() {
        let s = Selection::parse("3, 100:164, ::2").unwrap();
        assert_eq!(
            s,
            Selection::Slice(vec![
                SliceArg::Index(3),
                SliceArg::Range {
                    start: Some(100),
                    stop: Some(164),
                    step: 1
                },
                SliceArg::Range {
                    start: None,
                    stop: None,
                    step: 2
                },
            ])
        );
        assert_eq!(
            Selection::parse("...,-1").unwrap(),
            Selection::Slice(vec![SliceArg::Ellipsis, SliceArg::Index(-1)])
        );
        assert_eq!(
            Selection::parse("[1,4],:").unwrap(),
            Selection::Slice(vec![SliceArg::Indices(vec![1, 4]), SliceArg::All])
        );
        assert!(Selection::parse("a").is_err());
        assert!(Selection::parse("1:2:3:4").is_err());
    }

    #[test]
    fn resolves_like_numpy() {
        let r = Selection::parse("-1, 2:9:3, ...")
            .unwrap()
            .resolve(&[5, 10, 4])
            .unwrap();
        assert_eq!(r.out_shape(), vec![3, 4]);
        match &r {
            Resolved::Slab { dims, .. } => {
                assert_eq!(
                    dims[0],
                    Dim::Range {
                        start: 4,
                        step: 1,
                        count: 1
                    }
                );
                assert_eq!(
                    dims[1],
                    Dim::Range {
                        start: 2,
                        step: 3,
                        count: 3
                    }
                );
                assert_eq!(dims[1].positions_in(3, 9), (1, 3));
            }
            _ => panic!(),
        }
        assert!(Selection::parse("5").unwrap().resolve(&[5]).is_err());
        assert!(Selection::parse("::0").unwrap().resolve(&[5]).is_err());
        assert_eq!(
            Selection::parse("7:2")
                .unwrap()
                .resolve(&[9])
                .unwrap()
                .out_shape(),
            vec![0]
        );
        assert_eq!(
            Selection::parse("2:100")
                .unwrap()
                .resolve(&[9])
                .unwrap()
                .out_shape(),
            vec![7]
        );
        let m = Selection::Mask(vec![false, true, true, false])
            .resolve(&[2, 2])
            .unwrap();
        assert_eq!(m, Resolved::Points(vec![vec![0, 1], vec![1, 0]]));
    }
}

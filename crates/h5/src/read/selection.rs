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

/// A selection of elements of a dataset. Reads and writes take anything that converts into
/// one (see the conversions below): Rust values or numpy's text.
///
/// ```
/// use h5::{s, Selection, SliceArg};
/// let f = h5::File::create_in_memory()?;
/// let ds = f.create_dataset("x", h5::ndarray::Array::from_iter(0..12).into_shape_with_order((3, 4)).unwrap())?;
/// assert_eq!(ds.read_slice::<i32>((1, 2..))?.as_slice().unwrap(), [6, 7]);    // dset[1, 2:]
/// assert_eq!(ds.read_slice::<i32>(s![.., -1])?.as_slice().unwrap(), [3, 7, 11]); // dset[:, -1]
/// assert_eq!(ds.read_slice::<i32>("::2, 0")?.as_slice().unwrap(), [0, 8]);    // dset[::2, 0]
/// assert_eq!(ds.read_slice::<i32>(vec![[0u64, 1], [2, 3]])?.as_slice().unwrap(), [1, 11]);
/// let sel = Selection::Slice(vec![SliceArg::Index(2), SliceArg::All]);
/// assert_eq!(ds.read_slice::<i32>(&sel)?.len(), 4);
/// # Ok::<(), h5::Error>(())
/// ```
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
    ///
    /// # Errors
    /// Text that is not numpy's slice syntax (the error quotes it).
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
                    if p.len() != shape.len() {
                        return Err(Error::Selection(format!(
                            "point {p:?} has {} coordinates for a dataset of rank {}",
                            p.len(),
                            shape.len()
                        )));
                    }
                    if let Some((axis, (&c, &n))) =
                        p.iter().zip(shape).enumerate().find(|(_, (&c, &n))| c >= n)
                    {
                        return Err(Error::Selection(format!(
                            "point {p:?}: index {c} is out of range for axis {axis} with size {n}"
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
                                    "step {step} on axis {axis} must be positive (h5py rejects \
                                     it too)"
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

/// A selection split into pieces, in row-major order, each at most about `max_elements`
/// elements: what [`crate::Dataset::batches`] returns, to read a large selection in bounded
/// memory. Reading the pieces one after another yields exactly the elements of one read of
/// the whole selection, in the same order.
///
/// A hyperslab is split along one axis (the outermost whose trailing axes fit in a batch);
/// the axes before it advance one index at a time. When the dataset is chunked and a chunk's
/// extent along that axis fits in four batches, pieces end at chunk boundaries so no chunk is
/// decoded twice along it. A piece therefore holds at most `4 * max_elements` elements (or one
/// innermost row, when a row alone is larger). Point selections are split into runs of points.
#[derive(Debug, Clone)]
pub struct Batches {
    out_shape: Vec<u64>,
    len: u64,
    state: BatchState,
}

#[derive(Debug, Clone)]
enum BatchState {
    /// One piece: the whole selection (small, empty, or a null dataspace).
    Whole(Option<Selection>),
    Points {
        pts: Vec<Vec<u64>>,
        at: usize,
        per: usize,
    },
    Slab {
        dims: Vec<Dim>,
        keep: Vec<bool>,
        /// The axis split into windows.
        axis: usize,
        /// Positions (not coordinates) of the axes before `axis`, odometer style.
        outer: Vec<u64>,
        /// Next position along `axis`.
        pos: u64,
        /// Rows per window when not aligned to chunks.
        rows: u64,
        /// Chunk extent along `axis` and the number of chunks per window, when aligned.
        align: Option<(u64, u64)>,
        done: bool,
    },
}

impl Batches {
    /// Plan the pieces of `sel` over a dataset of `shape` (chunked with `chunks`, if so).
    pub(crate) fn new(
        sel: &Selection,
        shape: Option<&[u64]>,
        chunks: Option<&[u64]>,
        max_elements: u64,
    ) -> Result<Batches> {
        let Some(shape) = shape else {
            return Ok(Batches {
                out_shape: Vec::new(),
                len: 0,
                state: BatchState::Whole(Some(sel.clone())),
            });
        };
        if let Some(&big) = shape.iter().find(|&&n| n > i64::MAX as u64) {
            return Err(Error::Selection(format!(
                "a dimension of {big} elements is too large to select from"
            )));
        }
        let res = sel.resolve(shape)?;
        let (out_shape, len) = (res.out_shape(), res.len());
        let max = max_elements.max(1);
        if len <= max {
            return Ok(Batches {
                out_shape,
                len,
                state: BatchState::Whole(Some(sel.clone())),
            });
        }
        let state = match res {
            Resolved::Points(pts) => BatchState::Points {
                pts,
                at: 0,
                per: usize::try_from(max).unwrap_or(usize::MAX),
            },
            Resolved::Slab { dims, keep } => {
                // The outermost axis whose trailing axes fit in one batch.
                let n = dims.len();
                let mut inner = vec![1u64; n];
                for a in (0..n.saturating_sub(1)).rev() {
                    inner[a] = inner[a + 1].saturating_mul(dims[a + 1].count());
                }
                let axis = (0..n).find(|&a| inner[a] <= max).unwrap_or(n - 1);
                let rows = (max / inner[axis]).max(1);
                let step = match &dims[axis] {
                    Dim::Range { step, .. } => *step,
                    Dim::List(_) => 1,
                };
                let align = chunks.and_then(|c| c.get(axis).copied()).and_then(|c| {
                    (c > 1 && c.saturating_mul(inner[axis]) <= max.saturating_mul(4))
                        .then(|| (c, (rows.saturating_mul(step) / c).max(1)))
                });
                BatchState::Slab {
                    outer: vec![0; axis],
                    dims,
                    keep,
                    axis,
                    pos: 0,
                    rows,
                    align,
                    done: false,
                }
            }
        };
        Ok(Batches {
            out_shape,
            len,
            state,
        })
    }

    /// The shape of the whole selection's result.
    pub fn out_shape(&self) -> &[u64] {
        &self.out_shape
    }

    /// The number of elements in the whole selection.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the selection holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One axis of a piece: its coordinates `[a, b)` (positions) of `d` as a slice argument.
fn piece_arg(d: &Dim, a: u64, b: u64) -> SliceArg {
    match d {
        Dim::Range { start, step, .. } => SliceArg::Range {
            start: Some((start + a * step) as i64),
            stop: Some((start + (b - 1) * step + 1) as i64),
            step: *step as i64,
        },
        Dim::List(v) => SliceArg::Indices(
            v[a as usize..b as usize]
                .iter()
                .map(|&c| c as i64)
                .collect(),
        ),
    }
}

impl Iterator for Batches {
    type Item = Selection;

    fn next(&mut self) -> Option<Selection> {
        match &mut self.state {
            BatchState::Whole(s) => s.take(),
            BatchState::Points { pts, at, per } => {
                if *at >= pts.len() {
                    return None;
                }
                let end = at.saturating_add(*per).min(pts.len());
                let piece = Selection::Points(pts[*at..end].to_vec());
                *at = end;
                Some(piece)
            }
            BatchState::Slab {
                dims,
                keep,
                axis,
                outer,
                pos,
                rows,
                align,
                done,
            } => {
                if *done {
                    return None;
                }
                let d = &dims[*axis];
                let count = d.count();
                let end = match *align {
                    Some((c, per)) => {
                        let first = d.coord(*pos);
                        let hi = (first / c).saturating_add(per).saturating_mul(c);
                        d.positions_in(first, hi).1.max(*pos + 1)
                    }
                    None => pos.saturating_add(*rows).min(count),
                };
                // Per axis, the positions this piece takes: one before `axis`, the window
                // along it, everything after it; a dropped axis stays a single index.
                let mut args = Vec::with_capacity(dims.len());
                for (a, dim) in dims.iter().enumerate() {
                    let (lo, hi) = match a.cmp(axis) {
                        std::cmp::Ordering::Less => (outer[a], outer[a] + 1),
                        std::cmp::Ordering::Equal => (*pos, end),
                        std::cmp::Ordering::Greater => (0, dim.count()),
                    };
                    args.push(if keep[a] {
                        piece_arg(dim, lo, hi)
                    } else {
                        SliceArg::Index(dim.coord(0) as i64)
                    });
                }
                // Advance: the window along `axis`, then the odometer before it.
                *pos = end;
                if *pos >= count {
                    *pos = 0;
                    let mut a = *axis;
                    loop {
                        if a == 0 {
                            *done = true;
                            break;
                        }
                        a -= 1;
                        outer[a] += 1;
                        if outer[a] < dims[a].count() {
                            break;
                        }
                        outer[a] = 0;
                    }
                }
                Some(Selection::Slice(args))
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

    /// Every selected coordinate of `r`, in the order a read returns them.
    fn coords(r: &Resolved) -> Vec<Vec<u64>> {
        match r {
            Resolved::Points(p) => p.clone(),
            Resolved::Slab { dims, .. } => {
                let mut out: Vec<Vec<u64>> = vec![Vec::new()];
                for d in dims {
                    out = out
                        .iter()
                        .flat_map(|p| {
                            (0..d.count()).map(move |i| {
                                let mut q = p.clone();
                                q.push(d.coord(i));
                                q
                            })
                        })
                        .collect();
                }
                out
            }
        }
    }

    #[test]
    fn batches_cover_the_selection_in_order_within_the_bound() {
        // (selection, shape, chunks, max elements per piece)
        type Case<'a> = (&'a str, &'a [u64], Option<&'a [u64]>, u64);
        let cases: &[Case] = &[
            ("...", &[7, 5, 3], None, 4),
            ("...", &[7, 5, 3], Some(&[2, 2, 3]), 4),
            ("...", &[7, 5, 3], Some(&[3, 5, 3]), 16),
            ("1:7:2, 1, ::2", &[7, 5, 3], Some(&[2, 2, 2]), 2),
            ("[0,2,5], 1:", &[7, 5, 3], Some(&[4, 1, 1]), 3),
            ("2:, [1,3,4]", &[7, 5], Some(&[3, 3]), 2),
            ("...", &[100], Some(&[7]), 10),
            ("3:90:4", &[100], Some(&[10]), 3),
            ("-1, ...", &[4, 9, 9], Some(&[1, 9, 9]), 20),
            ("...", &[4, 9, 9], None, 1000),
        ];
        for &(text, shape, chunks, max) in cases {
            let sel = Selection::parse(text).unwrap();
            let whole = coords(&sel.resolve(shape).unwrap());
            let b = Batches::new(&sel, Some(shape), chunks, max).unwrap();
            assert_eq!(b.len(), whole.len() as u64, "{text}");
            assert_eq!(
                b.out_shape(),
                sel.resolve(shape).unwrap().out_shape().as_slice()
            );
            let row = *shape.last().unwrap();
            let mut got = Vec::new();
            for piece in b {
                let c = coords(&piece.resolve(shape).unwrap());
                assert!(!c.is_empty(), "{text}: an empty piece");
                assert!(
                    c.len() as u64 <= (4 * max).max(row),
                    "{text}: a piece of {} elements over {max}",
                    c.len()
                );
                got.extend(c);
            }
            assert_eq!(got, whole, "{text} {shape:?} {chunks:?} {max}");
        }
        // Pieces aligned to chunks: no chunk row is split between two pieces.
        let sel = Selection::All;
        for piece in Batches::new(&sel, Some(&[100, 10]), Some(&[8, 10]), 30).unwrap() {
            let c = coords(&piece.resolve(&[100, 10]).unwrap());
            let (lo, hi) = (c[0][0], c.last().unwrap()[0]);
            assert!(
                lo % 8 == 0 && (hi + 1 == 100 || (hi + 1) % 8 == 0),
                "{lo}..={hi}"
            );
        }
        // Points in runs; a null dataspace and small selections in one piece.
        let pts = Selection::Points(vec![vec![0, 1], vec![2, 2], vec![3, 0]]);
        let pieces: Vec<_> = Batches::new(&pts, Some(&[4, 4]), None, 2)
            .unwrap()
            .collect();
        assert_eq!(pieces.len(), 2);
        assert_eq!(Batches::new(&sel, None, None, 2).unwrap().count(), 1);
        assert_eq!(
            Batches::new(&sel, Some(&[3, 0]), None, 2).unwrap().count(),
            1
        );
        assert!(Batches::new(&Selection::parse("9").unwrap(), Some(&[3]), None, 2).is_err());
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

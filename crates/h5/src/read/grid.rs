//! Grid maths shared by reads and writes: row-major strides and the runs of selected
//! elements that fall inside a block (a chunk, or the whole dataset).

use super::selection::{Dim, Resolved};

/// Row-major element strides of a shape.
pub(crate) fn row_strides(dims: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; dims.len()];
    for d in (0..dims.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * dims[d + 1];
    }
    s
}

/// Copy the selected elements that fall inside a block (a chunk with `origin` and shape
/// `bdims`, row-major in `src`) into their places in `out`.
pub(crate) fn copy_selection(
    src: &[u8],
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    copy_block(src, 0, origin, bdims, res, es, out)
}

/// As [`copy_selection`] for a whole-dataset block whose bytes start at `skip` bytes in.
pub(crate) fn copy_selection_offset(
    src: &[u8],
    skip: usize,
    dims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    copy_block(src, skip, &vec![0; dims.len()], dims, res, es, out)
}

fn copy_block(
    src: &[u8],
    skip: usize,
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    out: &mut [u8],
) {
    for_each_run(skip, origin, bdims, res, es, |block, sel, n| {
        if let Some(v) = src.get(block..block + n) {
            out[sel..sel + n].copy_from_slice(v);
        }
    })
}

/// Where the chunk at grid position `scaled` (`cd` elements a side) lands in the output of
/// the hyperslab `sel`, when it lies whole inside the selection and its elements follow one
/// another there (one element on every axis before its first longer one, the selection's
/// whole extent on every axis after it): the output element index of its first element.
pub(crate) fn whole_run(scaled: &[u64], cd: &[u64], sel: &[Dim]) -> Option<usize> {
    let first = cd.iter().position(|&c| c > 1).unwrap_or(cd.len());
    let mut at: u64 = 0;
    for (d, ((&s, &c), dim)) in scaled.iter().zip(cd).zip(sel).enumerate() {
        let Dim::Range { start, step, count } = *dim else {
            return None;
        };
        let o = s.checked_mul(c)?;
        if (step != 1 && count > 1) || o < start || o.checked_add(c)? > start + count {
            return None;
        }
        if d > first && c != count {
            return None;
        }
        at = at.checked_mul(count)?.checked_add(o - start)?;
    }
    usize::try_from(at).ok()
}

/// The first and last element (row-major index) a selection touches.
pub(crate) fn span(dims: &[u64], res: &Resolved) -> (u64, u64) {
    match res {
        Resolved::Slab { dims: sel, .. } => {
            // the first and last selected elements, with the strides of `row_strides` made
            // on the way in from the last dimension (no allocation: every small read
            // passes here)
            let (mut lo, mut hi, mut stride) = (0u64, 0u64, 1u64);
            for i in (0..dims.len()).rev() {
                if let Some(d) = sel.get(i) {
                    lo += d.coord(0) * stride;
                    hi += d.coord(d.count() - 1) * stride;
                }
                if i > 0 {
                    stride *= dims[i];
                }
            }
            (lo, hi)
        }
        Resolved::Points(pts) => {
            let strides = row_strides(dims);
            let lin = |p: &[u64]| p.iter().zip(&strides).map(|(&x, s)| x * s).sum::<u64>();
            (
                pts.iter().map(|p| lin(p)).min().unwrap_or(0),
                pts.iter().map(|p| lin(p)).max().unwrap_or(0),
            )
        }
    }
}

/// Where a selection is one run of the dataset's elements in row-major order (a whole
/// dataset, whole rows), its first element.
pub(crate) fn one_run(dims: &[u64], res: &Resolved) -> Option<u64> {
    let (lo, hi) = span(dims, res);
    (matches!(res, Resolved::Slab { .. }) && hi - lo + 1 == res.len()).then_some(lo)
}

/// Every run of selected elements that lies inside a block (row-major, shape `bdims`, first
/// element at `origin`, whose bytes start `skip` bytes in): `f(block_offset, selection_offset,
/// bytes)`. Reads copy block → selection; writes copy selection → block.
pub(crate) fn for_each_run(
    skip: usize,
    origin: &[u64],
    bdims: &[u64],
    res: &Resolved,
    es: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    let rank = bdims.len();
    let bstr = row_strides(bdims);
    let block_off = |elem: u64| (elem as usize * es).checked_sub(skip);
    match res {
        Resolved::Points(pts) => {
            for (k, p) in pts.iter().enumerate() {
                let inside = p
                    .iter()
                    .zip(origin)
                    .zip(bdims)
                    .all(|((&x, &o), &b)| x >= o && x < o + b);
                if inside {
                    let elem = p
                        .iter()
                        .zip(origin)
                        .zip(&bstr)
                        .map(|((&x, &o), &s)| (x - o) * s)
                        .sum();
                    if let Some(b) = block_off(elem) {
                        f(b, k * es, es);
                    }
                }
            }
        }
        Resolved::Slab { dims: sel, .. } => {
            if rank == 0 {
                if let Some(b) = block_off(0) {
                    f(b, 0, es);
                }
                return;
            }
            let counts: Vec<u64> = sel.iter().map(|d| d.count()).collect();
            let ostr = row_strides(&counts);
            let ranges: Vec<(u64, u64)> = (0..rank)
                .map(|d| sel[d].positions_in(origin[d], origin[d] + bdims[d]))
                .collect();
            if ranges.iter().any(|(a, b)| a >= b) {
                return;
            }
            let last = rank - 1;
            let mut pos: Vec<u64> = ranges.iter().map(|r| r.0).collect();
            loop {
                // Innermost dimension: one run when the step is 1.
                let (a, b) = ranges[last];
                let base_src: u64 = (0..last)
                    .map(|d| (sel[d].coord(pos[d]) - origin[d]) * bstr[d])
                    .sum();
                let base_dst: u64 = (0..last).map(|d| pos[d] * ostr[d]).sum();
                if sel[last].unit_step() {
                    if let Some(s0) = block_off(base_src + sel[last].coord(a) - origin[last]) {
                        f(s0, (base_dst + a) as usize * es, (b - a) as usize * es);
                    }
                } else {
                    for p in a..b {
                        if let Some(s0) = block_off(base_src + sel[last].coord(p) - origin[last]) {
                            f(s0, (base_dst + p) as usize * es, es);
                        }
                    }
                }
                // odometer over the outer dimensions
                let mut d = last;
                loop {
                    if d == 0 {
                        return;
                    }
                    d -= 1;
                    pos[d] += 1;
                    if pos[d] < ranges[d].1 {
                        break;
                    }
                    pos[d] = ranges[d].0;
                }
            }
        }
    }
}

/// numpy's broadcasting of an array of shape `from` to shape `to`, as an assignment does it:
/// leading axes of length 1 may be dropped, then `from` is aligned to the right of `to` and
/// each of its axes must equal `to`'s or be 1. The aligned shape (with `to`'s rank), or
/// `None` where numpy says "could not broadcast".
pub(crate) fn broadcast_shape(from: &[u64], to: &[u64]) -> Option<Vec<u64>> {
    let mut from = from;
    while from.len() > to.len() && from.first() == Some(&1) {
        from = &from[1..];
    }
    if from.len() > to.len() {
        return None;
    }
    let mut aligned = vec![1u64; to.len() - from.len()];
    aligned.extend_from_slice(from);
    aligned
        .iter()
        .zip(to)
        .all(|(&f, &t)| f == t || f == 1)
        .then_some(aligned)
}

/// Spread `src` (row-major elements of `es` bytes, shape `from` as [`broadcast_shape`]
/// aligned it) over `out` (shape `to`): axes of length 1 repeat.
pub(crate) fn broadcast(src: &[u8], es: usize, from: &[u64], to: &[u64], out: &mut [u8]) {
    fn fill(
        src: &[u8],
        es: usize,
        from: &[u64],
        to: &[u64],
        src_strides: &[usize],
        out: &mut [u8],
    ) {
        let Some((&n, to_rest)) = to.split_first() else {
            out[..es].copy_from_slice(&src[..es]);
            return;
        };
        let piece = to_rest.iter().product::<u64>() as usize * es;
        if to_rest.is_empty() && from[0] == n {
            // the innermost axis is stored whole: one copy
            out[..piece * n as usize].copy_from_slice(&src[..piece * n as usize]);
            return;
        }
        for i in 0..n as usize {
            let s = if from[0] == 1 { 0 } else { i * src_strides[0] };
            fill(
                &src[s..],
                es,
                &from[1..],
                to_rest,
                &src_strides[1..],
                &mut out[i * piece..(i + 1) * piece],
            );
        }
    }
    let mut strides = vec![es; from.len()];
    for d in (0..from.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * from[d + 1] as usize;
    }
    if to.iter().product::<u64>() == 0 {
        return;
    }
    fill(src, es, from, to, &strides, out);
}

#[cfg(test)]
mod broadcast_tests {
    use super::{broadcast, broadcast_shape, one_run, row_strides, span, whole_run, Dim};
    use crate::read::selection::Resolved;

    #[test]
    fn a_span_is_the_first_and_last_selected_elements() {
        let slab = |dims: Vec<Dim>| Resolved::Slab {
            keep: vec![true; dims.len()],
            dims,
        };
        let r = |start, step, count| Dim::Range { start, step, count };
        // (6, 5, 4): element (a, b, c) is at a * 20 + b * 4 + c
        let dims = [6, 5, 4];
        let lin = |p: [u64; 3]| p.iter().zip(row_strides(&dims)).map(|(x, s)| x * s).sum();
        let cases = [
            (
                vec![r(0, 1, 6), r(0, 1, 5), r(0, 1, 4)],
                [0, 0, 0],
                [5, 4, 3],
            ),
            (
                vec![r(1, 2, 3), r(2, 1, 2), r(1, 2, 2)],
                [1, 2, 1],
                [5, 3, 3],
            ),
            (
                vec![r(4, 1, 1), Dim::List(vec![0, 3]), r(3, 1, 1)],
                [4, 0, 3],
                [4, 3, 3],
            ),
        ];
        for (sel, first, last) in cases {
            assert_eq!(span(&dims, &slab(sel)), (lin(first), lin(last)));
        }
        // the whole dataset is one run from 0; a column is not a run
        assert_eq!(
            one_run(&dims, &slab(vec![r(0, 1, 6), r(0, 1, 5), r(0, 1, 4)])),
            Some(0)
        );
        assert_eq!(
            one_run(&dims, &slab(vec![r(0, 1, 6), r(0, 1, 5), r(2, 1, 1)])),
            None
        );
        // whole rows 2-3 of a (6, 5) array start at 10
        assert_eq!(
            one_run(&[6, 5], &slab(vec![r(2, 1, 2), r(0, 1, 5)])),
            Some(10)
        );
        // points: the least and the greatest
        let pts = Resolved::Points(vec![vec![3, 1, 0], vec![0, 4, 2], vec![5, 0, 1]]);
        assert_eq!(span(&dims, &pts), (lin([0, 4, 2]), lin([5, 0, 1])));
    }

    #[test]
    fn numpy_rules_decide_what_broadcasts() {
        // (from, to, aligned or refused)
        type Case = (&'static [u64], &'static [u64], Option<&'static [u64]>);
        let cases: &[Case] = &[
            (&[4, 5], &[4, 5], Some(&[4, 5])),
            (&[5, 4], &[4, 5], None),
            (&[5], &[4, 5], Some(&[1, 5])),
            (&[4, 1], &[4, 5], Some(&[4, 1])),
            (&[4], &[4, 5], None),
            (&[], &[4, 5], Some(&[1, 1])),
            (&[1, 1, 5], &[4, 5], Some(&[1, 5])),
            (&[2, 5], &[5], None),
            (&[20], &[4, 5], None),
            (&[0], &[1], None),
            (&[1], &[0], Some(&[1])),
        ];
        for &(from, to, want) in cases {
            assert_eq!(
                broadcast_shape(from, to).as_deref(),
                want,
                "{from:?} -> {to:?}"
            );
        }
    }

    #[test]
    fn broadcasting_repeats_rows_columns_and_scalars() {
        let run = |src: &[u8], from: &[u64], to: &[u64]| {
            let from = broadcast_shape(from, to).unwrap();
            let mut out = vec![0u8; to.iter().product::<u64>() as usize];
            broadcast(src, 1, &from, to, &mut out);
            out
        };
        assert_eq!(run(&[1, 2, 3], &[3], &[2, 3]), [1, 2, 3, 1, 2, 3]);
        assert_eq!(run(&[1, 2], &[2, 1], &[2, 3]), [1, 1, 1, 2, 2, 2]);
        assert_eq!(run(&[7], &[], &[2, 2]), [7; 4]);
        assert_eq!(run(&[1, 2, 3, 4], &[2, 2], &[2, 2]), [1, 2, 3, 4]);
        assert_eq!(
            run(&[1, 2], &[2, 1, 1], &[2, 2, 2]),
            [1, 1, 1, 1, 2, 2, 2, 2]
        );
    }

    #[test]
    fn whole_chunks_land_as_one_run_of_the_output() {
        let r = |start, count| Dim::Range {
            start,
            step: 1,
            count,
        };
        // frames (1, 4, 5) of a (3, 4, 5) movie, read whole: frame k starts at k * 20
        let all = [r(0, 3), r(0, 4), r(0, 5)];
        assert_eq!(whole_run(&[2, 0, 0], &[1, 4, 5], &all), Some(40));
        // rows (2, 5) of a (6, 5) array, rows 1.. selected: chunk 1 (rows 2-3) at row 1
        assert_eq!(whole_run(&[1, 0], &[2, 5], &[r(1, 5), r(0, 5)]), Some(5));
        // a crop cuts the chunk: not whole
        assert_eq!(
            whole_run(&[0, 0, 0], &[1, 4, 5], &[r(0, 3), r(1, 2), r(0, 5)]),
            None
        );
        // whole but not consecutive: (2, 2) blocks of a (4, 4) array
        assert_eq!(whole_run(&[0, 1], &[2, 2], &[r(0, 4), r(0, 4)]), None);
        // ...unless one row: (1, 2) blocks of a (1, 4) selection
        assert_eq!(whole_run(&[3, 1], &[1, 2], &[r(3, 1), r(0, 4)]), Some(2));
        // strided selections and point lists never are
        let strided = Dim::Range {
            start: 0,
            step: 2,
            count: 2,
        };
        assert_eq!(whole_run(&[0], &[4], &[strided]), None);
        assert_eq!(whole_run(&[0], &[2], &[Dim::List(vec![0, 1])]), None);
        // an edge chunk reaching past the selection
        assert_eq!(whole_run(&[1], &[4], &[r(0, 6)]), None);
    }
}

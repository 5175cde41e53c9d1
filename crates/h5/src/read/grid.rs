//! Grid maths shared by reads and writes: row-major strides and the runs of selected
//! elements that fall inside a block (a chunk, or the whole dataset).

use super::selection::Resolved;

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

//! Serialized dataspace selections (spec Appendix, "Dataspace Selection"): used by virtual
//! dataset mappings and region references.

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;
use alloc::vec::Vec;

/// The "unlimited" count of a regular hyperslab.
pub const UNLIMITED: u64 = u64::MAX;

/// Most dimensions accepted.
const MAX_RANK: usize = 32;

/// One dimension of a regular hyperslab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegularDim {
    /// First coordinate.
    pub start: u64,
    /// Distance between block starts.
    pub stride: u64,
    /// Number of blocks ([`UNLIMITED`] allowed).
    pub count: u64,
    /// Block length.
    pub block: u64,
}

/// A decoded selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionEncoding {
    /// Nothing selected.
    None,
    /// Everything selected.
    All,
    /// A list of points (one coordinate per dimension each).
    Points(Vec<Vec<u64>>),
    /// A regular hyperslab.
    Regular(Vec<RegularDim>),
    /// A list of blocks: (start, end inclusive) corners.
    Blocks(Vec<(Vec<u64>, Vec<u64>)>),
}

fn rank(r: &mut Reader<'_>) -> Result<usize> {
    let n = r.u32()? as usize;
    if n == 0 || n > MAX_RANK {
        return Err(r.invalid("selection rank"));
    }
    Ok(n)
}

/// An integer of `width` bytes whose all-ones value means unlimited.
fn wide(r: &mut Reader<'_>, width: usize) -> Result<u64> {
    let v = r.uint(width)?;
    Ok(if width < 8 && v == (1u64 << (8 * width)) - 1 {
        UNLIMITED
    } else {
        v
    })
}

fn count_fits(r: &Reader<'_>, n: u64, item: usize) -> Result<usize> {
    if n.saturating_mul(item as u64) > r.remaining() as u64 {
        return Err(r.err(ErrorKind::Truncated));
    }
    Ok(n as usize)
}

impl SelectionEncoding {
    /// Decode one selection.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let kind = r.u32()?;
        let version = r.u32()?;
        match (kind, version) {
            (0, _) | (3, _) => {
                r.skip(8)?;
                Ok(if kind == 0 {
                    SelectionEncoding::None
                } else {
                    SelectionEncoding::All
                })
            }
            (1, 1) => {
                r.skip(8)?;
                let n = rank(r)?;
                let np = r.u32()? as u64;
                let np = count_fits(r, np, 4 * n)?;
                let mut pts = Vec::with_capacity(np);
                for _ in 0..np {
                    pts.push(
                        (0..n)
                            .map(|_| r.u32().map(u64::from))
                            .collect::<Result<Vec<_>>>()?,
                    );
                }
                Ok(SelectionEncoding::Points(pts))
            }
            (1, 2) => {
                let w = r.u8()? as usize;
                if !matches!(w, 2 | 4 | 8) {
                    return Err(start.invalid("selection encoding size"));
                }
                let n = rank(r)?;
                let np = r.uint(w)?;
                let np = count_fits(r, np, w * n)?;
                let mut pts = Vec::with_capacity(np);
                for _ in 0..np {
                    pts.push((0..n).map(|_| r.uint(w)).collect::<Result<Vec<_>>>()?);
                }
                Ok(SelectionEncoding::Points(pts))
            }
            (2, 1) => {
                r.skip(8)?;
                let n = rank(r)?;
                let nb = r.u32()? as u64;
                let nb = count_fits(r, nb, 8 * n)?;
                let mut blocks = Vec::with_capacity(nb);
                for _ in 0..nb {
                    let s = (0..n)
                        .map(|_| r.u32().map(u64::from))
                        .collect::<Result<Vec<_>>>()?;
                    let e = (0..n)
                        .map(|_| r.u32().map(u64::from))
                        .collect::<Result<Vec<_>>>()?;
                    blocks.push((s, e));
                }
                Ok(SelectionEncoding::Blocks(blocks))
            }
            (2, 2) => {
                let flags = r.u8()?;
                r.skip(4)?; // length
                let n = rank(r)?;
                if flags & 1 == 0 {
                    return Err(start.invalid("version 2 hyperslab without the regular flag"));
                }
                let dims = (0..n)
                    .map(|_| {
                        Ok(RegularDim {
                            start: r.u64()?,
                            stride: r.u64()?,
                            count: r.u64()?,
                            block: r.u64()?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(SelectionEncoding::Regular(dims))
            }
            (2, 3) => {
                let flags = r.u8()?;
                let w = r.u8()? as usize;
                if !matches!(w, 2 | 4 | 8) {
                    return Err(start.invalid("selection encoding size"));
                }
                let n = rank(r)?;
                if flags & 1 != 0 {
                    let dims = (0..n)
                        .map(|_| {
                            Ok(RegularDim {
                                start: r.uint(w)?,
                                stride: r.uint(w)?,
                                count: wide(r, w)?,
                                block: wide(r, w)?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok(SelectionEncoding::Regular(dims))
                } else {
                    let nb = r.uint(w)?;
                    let nb = count_fits(r, nb, 2 * w * n)?;
                    let mut blocks = Vec::with_capacity(nb);
                    for _ in 0..nb {
                        let s = (0..n).map(|_| r.uint(w)).collect::<Result<Vec<_>>>()?;
                        let e = (0..n).map(|_| r.uint(w)).collect::<Result<Vec<_>>>()?;
                        blocks.push((s, e));
                    }
                    Ok(SelectionEncoding::Blocks(blocks))
                }
            }
            (k, v) if k <= 3 => Err(start.err(ErrorKind::BadVersion(v.min(255) as u8))),
            _ => Err(start.invalid("selection type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    #[test]
    fn hyperslabs_from_a_real_vds() {
        // From 4_vds.h5: a v1 block list, then a v2 regular hyperslab with an unlimited count.
        let hex = "020000000100000000000000200000000300000001000000000000000000000000000000020000000300000003000000020000000200000001040000000300000000000000000000000300000000000000ffffffffffffffff030000000000000000000000000000000100000000000000010000000000000004000000000000000000000000000000010000000000000001000000000000000400000000000000";
        let b: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut r = Reader::new(&b, 0, Sizes::DEFAULT, "selection");
        let src = SelectionEncoding::decode(&mut r).unwrap();
        assert_eq!(
            src,
            SelectionEncoding::Blocks(alloc::vec![(alloc::vec![0, 0, 0], alloc::vec![2, 3, 3])])
        );
        let virt = SelectionEncoding::decode(&mut r).unwrap();
        let SelectionEncoding::Regular(d) = virt else {
            panic!()
        };
        assert_eq!(
            d[0],
            RegularDim {
                start: 0,
                stride: 3,
                count: UNLIMITED,
                block: 3
            }
        );
        assert_eq!(
            d[2],
            RegularDim {
                start: 0,
                stride: 1,
                count: 1,
                block: 4
            }
        );
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let mut b = alloc::vec::Vec::new();
        for v in [1u32, 1, 0, 0, 2, u32::MAX] {
            b.extend(v.to_le_bytes());
        }
        let e = SelectionEncoding::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "selection"))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
    }
}

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
    ///
    /// # Errors
    /// `Truncated` (also when a point or block count needs more bytes than remain); `Invalid` for a
    /// selection type above 3, a rank of 0 or above 32, an encoding size other than 2, 4 or 8, or a
    /// version 2 hyperslab without the regular flag; `VersionNotAccepted` (at the version field,
    /// 4 bytes in; a version above 255 is named as 255) for a version the selection type does
    /// not have (none and all accept any).
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let kind = r.u32()?;
        // The version is a u32 field, so `Reader::version` (one byte) does not fit; the error
        // is the same one, at the version field.
        let version_at = r.clone();
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
            (k @ (1 | 2), v) => Err(version_at.err(ErrorKind::VersionNotAccepted {
                version: v.min(255) as u8,
                accepted: if k == 1 { &[1, 2] } else { &[1, 2, 3] },
            })),
            _ => Err(start.invalid("selection type")),
        }
    }
}

/// Which selection encodings a library version writes (libhdf5 picks them from the file's
/// low bound): 1.8 and earlier write version 1 of everything; 1.10 writes regular
/// hyperslabs as version 2 (u64 fields); 1.12 and later write hyperslabs as version 3 and
/// points as version 2, both in the narrowest of 2/4/8-byte integers that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionVersions {
    /// Version 1 only (libver earliest, v108).
    V1,
    /// Regular hyperslabs in version 2 (libver v110).
    V110,
    /// Hyperslab version 3, points version 2 (libver latest).
    Latest,
}

/// The narrowest of 2, 4 and 8 bytes holding every value.
fn enc_size(values: impl Iterator<Item = u64>) -> usize {
    match values.max().unwrap_or(0) {
        m if m <= u16::MAX as u64 => 2,
        m if m <= u32::MAX as u64 => 4,
        _ => 8,
    }
}

fn u32_field(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| crate::Error::invalid("selection", 0, "coordinate over 32 bits"))
}

impl SelectionEncoding {
    /// The rank a selection encodes (`None` for none/all, which carry no rank).
    fn rank(&self) -> Option<usize> {
        match self {
            SelectionEncoding::None | SelectionEncoding::All => None,
            SelectionEncoding::Points(p) => p.first().map(Vec::len),
            SelectionEncoding::Regular(d) => Some(d.len()),
            SelectionEncoding::Blocks(b) => b.first().map(|b| b.0.len()),
        }
    }

    /// The blocks of a regular hyperslab, in row-major order of the block grid.
    pub fn regular_blocks(dims: &[RegularDim]) -> Vec<(Vec<u64>, Vec<u64>)> {
        let mut out: Vec<(Vec<u64>, Vec<u64>)> = alloc::vec![(Vec::new(), Vec::new())];
        for d in dims {
            let mut next = Vec::with_capacity(out.len().saturating_mul(d.count as usize));
            for (s, e) in &out {
                for i in 0..d.count {
                    let a = d.start + i * d.stride;
                    let (mut s, mut e) = (s.clone(), e.clone());
                    s.push(a);
                    e.push(a + d.block - 1);
                    next.push((s, e));
                }
            }
            out = next;
        }
        out
    }

    /// Encode the selection as libhdf5 does for a file of profile `v` (region references).
    ///
    /// # Errors
    /// `Invalid` for a coordinate past 32 bits in a version 1 encoding, a rank outside
    /// 1–32 or a selection whose points or blocks differ in rank.
    pub fn encode(&self, v: SelectionVersions, w: &mut crate::Writer) -> Result<()> {
        if let Some(n) = self.rank() {
            if n == 0 || n > MAX_RANK {
                return Err(crate::Error::invalid("selection", 0, "selection rank"));
            }
            let same = match self {
                SelectionEncoding::Points(p) => p.iter().all(|x| x.len() == n),
                SelectionEncoding::Blocks(b) => b.iter().all(|(s, e)| s.len() == n && e.len() == n),
                _ => true,
            };
            if !same {
                return Err(crate::Error::invalid("selection", 0, "mixed ranks"));
            }
        }
        match (self, v) {
            (SelectionEncoding::None, _) => {
                w.u32(0).u32(1).u32(0).u32(0);
            }
            (SelectionEncoding::All, _) => {
                w.u32(3).u32(1).u32(0).u32(0);
            }
            (SelectionEncoding::Points(p), SelectionVersions::Latest) => {
                let n = p[0].len();
                let e = enc_size(p.iter().flatten().copied().chain([p.len() as u64]));
                w.u32(1)
                    .u32(2)
                    .u8(e as u8)
                    .u32(n as u32)
                    .uint(p.len() as u64, e);
                for c in p.iter().flatten() {
                    w.uint(*c, e);
                }
            }
            (SelectionEncoding::Points(p), _) => {
                let n = p[0].len();
                let len = 8 + p.len() * n * 4;
                w.u32(1).u32(1).u32(0).u32(u32_field(len as u64)?);
                w.u32(n as u32).u32(u32_field(p.len() as u64)?);
                for c in p.iter().flatten() {
                    w.u32(u32_field(*c)?);
                }
            }
            (SelectionEncoding::Regular(d), SelectionVersions::Latest) => {
                let e = enc_size(d.iter().flat_map(|x| [x.start, x.stride, x.count, x.block]));
                w.u32(2).u32(3).u8(1).u8(e as u8).u32(d.len() as u32);
                for x in d {
                    w.uint(x.start, e)
                        .uint(x.stride, e)
                        .uint(x.count, e)
                        .uint(x.block, e);
                }
            }
            (SelectionEncoding::Regular(d), SelectionVersions::V110) => {
                w.u32(2)
                    .u32(2)
                    .u8(1)
                    .u32(4 + 32 * d.len() as u32)
                    .u32(d.len() as u32);
                for x in d {
                    w.u64(x.start).u64(x.stride).u64(x.count).u64(x.block);
                }
            }
            (SelectionEncoding::Regular(d), SelectionVersions::V1) => {
                SelectionEncoding::Blocks(Self::regular_blocks(d)).encode(v, w)?;
            }
            (SelectionEncoding::Blocks(b), SelectionVersions::Latest) => {
                let n = b[0].0.len();
                let e = enc_size(
                    b.iter()
                        .flat_map(|(s, e)| s.iter().chain(e).copied())
                        .chain([b.len() as u64]),
                );
                w.u32(2)
                    .u32(3)
                    .u8(0)
                    .u8(e as u8)
                    .u32(n as u32)
                    .uint(b.len() as u64, e);
                for (s, en) in b {
                    for c in s.iter().chain(en) {
                        w.uint(*c, e);
                    }
                }
            }
            (SelectionEncoding::Blocks(b), _) => {
                let n = b[0].0.len();
                let len = 8 + b.len() * n * 8;
                w.u32(2).u32(1).u32(0).u32(u32_field(len as u64)?);
                w.u32(n as u32).u32(u32_field(b.len() as u64)?);
                for (s, e) in b {
                    for c in s.iter().chain(e) {
                        w.u32(u32_field(*c)?);
                    }
                }
            }
        }
        Ok(())
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

    use crate::chunk_array::test_util::hex;

    fn encoded(sel: &SelectionEncoding, v: SelectionVersions) -> Vec<u8> {
        let mut w = crate::Writer::new(Sizes::DEFAULT);
        sel.encode(v, &mut w).unwrap();
        w.finish()
    }

    /// Region references h5py (libhdf5 2.0) wrote for `d.regionref[2:5, 1:9:2]`,
    /// `d.regionref[mask]` (points (1,2), (7,3)), `d.regionref[[1,3,4], 2]` and
    /// `d.regionref[0:0, :]` under each libver: we encode them byte for byte, and decode them
    /// back.
    #[test]
    fn region_selections_as_libhdf5_encodes_them() {
        use SelectionVersions::*;
        let regular = SelectionEncoding::Regular(alloc::vec![
            RegularDim {
                start: 2,
                stride: 1,
                count: 1,
                block: 3
            },
            RegularDim {
                start: 1,
                stride: 2,
                count: 4,
                block: 1
            },
        ]);
        let points = SelectionEncoding::Points(alloc::vec![alloc::vec![1, 2], alloc::vec![7, 3]]);
        let blocks = SelectionEncoding::Blocks(alloc::vec![
            (alloc::vec![1, 2], alloc::vec![1, 2]),
            (alloc::vec![3, 2], alloc::vec![4, 2]),
        ]);
        let cases = [
            (&regular, V1, "02000000010000000000000048000000020000000400000002000000010000000400000001000000020000000300000004000000030000000200000005000000040000000500000002000000070000000400000007000000"),
            (&regular, V110, "020000000200000001440000000200000002000000000000000100000000000000010000000000000003000000000000000100000000000000020000000000000004000000000000000100000000000000"),
            (&regular, Latest, "020000000300000001020200000002000100010003000100020004000100"),
            (&points, V1, "01000000010000000000000018000000020000000200000001000000020000000700000003000000"),
            (&points, V110, "01000000010000000000000018000000020000000200000001000000020000000700000003000000"),
            (&points, Latest, "0100000002000000020200000002000100020007000300"),
            (&blocks, V1, "0200000001000000000000002800000002000000020000000100000002000000010000000200000003000000020000000400000002000000"),
            (&blocks, V110, "0200000001000000000000002800000002000000020000000100000002000000010000000200000003000000020000000400000002000000"),
            (&blocks, Latest, "0200000003000000000202000000020001000200010002000300020004000200"),
            (&SelectionEncoding::None, Latest, "00000000010000000000000000000000"),
        ];
        for (sel, v, want) in cases {
            let got = encoded(sel, v);
            assert_eq!(got, hex(want), "{sel:?} {v:?}");
            let back =
                SelectionEncoding::decode(&mut Reader::new(&got, 0, Sizes::DEFAULT, "selection"))
                    .unwrap();
            let same = match (sel, &back) {
                (SelectionEncoding::Regular(d), SelectionEncoding::Blocks(b)) => {
                    SelectionEncoding::regular_blocks(d) == *b
                }
                _ => back == *sel,
            };
            assert!(same, "{sel:?} {v:?} decodes as {back:?}");
        }
        // version 1 has 32-bit fields only
        let far = SelectionEncoding::Points(alloc::vec![alloc::vec![1 << 33]]);
        let mut w = crate::Writer::new(Sizes::DEFAULT);
        assert!(far.encode(V1, &mut w).is_err());
        assert_eq!(encoded(&far, Latest)[8], 8, "an 8-byte encoding");
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

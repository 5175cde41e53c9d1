//! Dataspace message 0x01 (spec IV.A.2.b), versions 1 and 2.

use crate::error::{Error, ErrorKind, Result};
use crate::message::misc::Profile;
use crate::reader::Reader;
use crate::writer::Writer;
use alloc::vec::Vec;

/// The maximum rank libhdf5 allows.
pub const MAX_RANK: usize = 32;

/// Kind of dataspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceKind {
    /// One element, no dimensions.
    Scalar,
    /// An N-dimensional array.
    Simple,
    /// No elements at all (h5py `Empty`).
    Null,
}

/// A decoded dataspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataspace {
    /// Scalar, simple or null.
    pub kind: SpaceKind,
    /// Current dimensions (empty for scalar/null).
    pub dims: Vec<u64>,
    /// Maximum dimensions; `u64::MAX` is unlimited. `None` when not stored (= dims).
    pub max_dims: Option<Vec<u64>>,
}

impl Dataspace {
    /// A scalar dataspace (one element).
    pub fn scalar() -> Self {
        Dataspace {
            kind: SpaceKind::Scalar,
            dims: Vec::new(),
            max_dims: None,
        }
    }

    /// A null dataspace (no elements; h5py `Empty`).
    pub fn null() -> Self {
        Dataspace {
            kind: SpaceKind::Null,
            dims: Vec::new(),
            max_dims: None,
        }
    }

    /// A simple dataspace as libhdf5 builds it: the maximum dimensions are always stored,
    /// equal to `dims` when `max_dims` is `None` (`u64::MAX` = unlimited).
    pub fn simple(dims: Vec<u64>, max_dims: Option<Vec<u64>>) -> Self {
        let max = max_dims.unwrap_or_else(|| dims.clone());
        Dataspace {
            kind: SpaceKind::Simple,
            dims,
            max_dims: Some(max),
        }
    }

    /// The oldest version able to express this dataspace: 1, or 2 for a null dataspace.
    pub fn min_version(&self) -> u8 {
        match self.kind {
            SpaceKind::Null => 2,
            _ => 1,
        }
    }

    /// The version libhdf5 writes under `profile`: [`min_version`](Self::min_version) by
    /// default, 2 in the other (1.8+) profiles.
    pub fn version_for(&self, profile: Profile) -> u8 {
        match profile {
            Profile::Default => self.min_version(),
            _ => 2,
        }
    }

    /// Encode the message body at `version` (1 or 2). The maximum dimensions are written
    /// when `max_dims` is `Some` (libhdf5 always stores them for simple dataspaces, even
    /// when they equal the current ones).
    ///
    /// # Errors
    /// `BadVersion` for other versions; `Invalid` for a null dataspace in version 1, a
    /// simple one without dimensions, a scalar/null one with dimensions, more than
    /// [`MAX_RANK`] dimensions, or maximum dimensions of another rank or below the current.
    pub fn encode(&self, version: u8, w: &mut Writer) -> Result<()> {
        let bad = |what| Error::invalid("dataspace", 0, what);
        let rank = self.dims.len();
        if rank > MAX_RANK {
            return Err(bad("dataspace rank"));
        }
        match self.kind {
            SpaceKind::Simple if rank == 0 => {
                return Err(bad("simple dataspace without dimensions"))
            }
            SpaceKind::Scalar | SpaceKind::Null
                if rank != 0 || self.max_dims.as_ref().is_some_and(|m| !m.is_empty()) =>
            {
                return Err(bad("dataspace rank for scalar/null"))
            }
            _ => {}
        }
        if let Some(m) = &self.max_dims {
            if m.len() != rank || m.iter().zip(&self.dims).any(|(&m, &d)| m < d) {
                return Err(bad("dataspace maximum dimension"));
            }
        }
        let flags = u8::from(self.max_dims.is_some());
        w.u8(version).u8(rank as u8).u8(flags);
        match version {
            1 => {
                if self.kind == SpaceKind::Null {
                    return Err(bad("null dataspace in version 1"));
                }
                w.zeros(5);
            }
            2 => {
                w.u8(match self.kind {
                    SpaceKind::Scalar => 0,
                    SpaceKind::Simple => 1,
                    SpaceKind::Null => 2,
                });
            }
            v => return Err(Error::new("dataspace", 0, ErrorKind::BadVersion(v))),
        }
        for &d in &self.dims {
            w.length(d);
        }
        for &m in self.max_dims.iter().flatten() {
            w.length(m);
        }
        Ok(())
    }

    /// Number of elements (0 for null; saturates on overflow).
    pub fn num_elements(&self) -> u64 {
        match self.kind {
            SpaceKind::Null => 0,
            SpaceKind::Scalar => 1,
            SpaceKind::Simple => self.dims.iter().fold(1u64, |a, &d| a.saturating_mul(d)),
        }
    }
    /// Maximum dimensions (current dims when none are stored).
    pub fn max_dims(&self) -> &[u64] {
        self.max_dims.as_deref().unwrap_or(&self.dims)
    }

    /// Decode a dataspace message body.
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) outside 1–2; `Invalid` for a rank
    /// above [`MAX_RANK`], an unknown dataspace type (v2), a nonzero rank for a scalar or null
    /// dataspace, or a maximum dimension below its current dimension.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let r0 = r.clone();
        let version = r.version(&[1, 2])?;
        let rank = r.u8()? as usize;
        let flags = r.u8()?;
        if rank > MAX_RANK {
            return Err(r0.invalid("dataspace rank"));
        }
        let kind = if version == 1 {
            r.skip(5)?;
            if rank == 0 {
                SpaceKind::Scalar
            } else {
                SpaceKind::Simple
            }
        } else {
            match r.u8()? {
                0 => SpaceKind::Scalar,
                1 => SpaceKind::Simple,
                2 => SpaceKind::Null,
                _ => return Err(r.invalid("dataspace type")),
            }
        };
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(r.length()?);
        }
        let max_dims = if flags & 1 != 0 {
            let mut m = Vec::with_capacity(rank);
            for _ in 0..rank {
                m.push(r.length()?);
            }
            Some(m)
        } else {
            None
        };
        if kind != SpaceKind::Simple && rank != 0 {
            return Err(r0.invalid("dataspace rank for scalar/null"));
        }
        if let Some(m) = &max_dims {
            if m.iter().zip(&dims).any(|(&m, &d)| m < d) {
                return Err(r0.invalid("dataspace maximum dimension"));
            }
        }
        Ok(Dataspace {
            kind,
            dims,
            max_dims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    use crate::chunk_array::test_util::hex;

    fn enc(ds: &Dataspace, version: u8) -> Vec<u8> {
        let mut w = Writer::new(Sizes::DEFAULT);
        ds.encode(version, &mut w).unwrap();
        w.finish()
    }

    fn dec(b: &[u8]) -> Dataspace {
        let mut r = Reader::new(b, 0, Sizes::DEFAULT, "dataspace");
        let ds = Dataspace::decode(&mut r).unwrap();
        assert_eq!(r.remaining(), 0);
        ds
    }

    #[test]
    fn round_trips_every_kind_and_version() {
        let spaces = [
            Dataspace::scalar(),
            Dataspace::null(),
            Dataspace::simple(alloc::vec![3, 4], None),
            Dataspace::simple(alloc::vec![0, 7], Some(alloc::vec![u64::MAX, 9])),
            Dataspace {
                kind: SpaceKind::Simple,
                dims: alloc::vec![5],
                max_dims: None,
            },
        ];
        for ds in &spaces {
            for v in [1, 2] {
                if v == 1 && ds.kind == SpaceKind::Null {
                    assert!(ds.encode(1, &mut Writer::default()).is_err());
                    continue;
                }
                assert_eq!(&dec(&enc(ds, v)), ds, "v{v} {ds:?}");
            }
        }
        // 4-byte lengths
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let ds = Dataspace::simple(alloc::vec![2, 3], Some(alloc::vec![u64::MAX, 3]));
        let mut w = Writer::new(sizes);
        ds.encode(2, &mut w).unwrap();
        let b = w.finish();
        assert_eq!(b.len(), 4 + 16);
        let back = Dataspace::decode(&mut Reader::new(&b, 0, sizes, "dataspace")).unwrap();
        assert_eq!(back, ds);
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let mut w = Writer::default();
        assert!(Dataspace::simple(alloc::vec![], None)
            .encode(1, &mut w)
            .is_err());
        assert!(Dataspace::simple(alloc::vec![5], Some(alloc::vec![4]))
            .encode(1, &mut w)
            .is_err());
        assert!(Dataspace::scalar().encode(3, &mut w).is_err());
    }

    #[test]
    fn versions_for_profiles() {
        assert_eq!(Dataspace::scalar().version_for(Profile::Default), 1);
        assert_eq!(Dataspace::null().version_for(Profile::Default), 2);
        assert_eq!(Dataspace::scalar().version_for(Profile::Latest), 2);
        assert_eq!(Dataspace::null().min_version(), 2);
    }

    /// Dataspace message bodies libhdf5 (2.0, through h5py) wrote in the fixtures, decoded and
    /// re-encoded with the version the file used. In every case libhdf5 stores the maximum
    /// dimensions of a simple dataspace even when they equal the current ones. Version 1
    /// bodies in a v1 object header are followed by alignment padding to 8 (already none here).
    #[test]
    fn byte_exact_against_libhdf5() {
        for (file_and_object, h) in [
            // dtypes_earliest.h5 /int32_be: v1, 3×4, max stored (= dims)
            (
                "dtypes_earliest /int32_be",
                "01020100000000000300000000000000040000000000000003000000000000000400000000000000",
            ),
            // dtypes_earliest.h5 /bool... scalar v1 (attribute dataspaces are the same bytes)
            ("attrs_earliest / title", "0100000000000000"),
            // dtypes_latest.h5 /int32_be: v2 simple
            (
                "dtypes_latest /int32_be",
                "020201010300000000000000040000000000000003000000000000000400000000000000",
            ),
            // dtypes_latest.h5 /scalar_int and /null_f4
            ("dtypes_latest /scalar_int", "02000000"),
            ("dtypes_latest /null_f4", "02000002"),
            // chunkidx_latest.h5 /btree2: two unlimited dimensions
            (
                "chunkidx_latest /btree2",
                "0202010105000000000000000700000000000000ffffffffffffffffffffffffffffffff",
            ),
        ] {
            let b = hex(h);
            let ds = dec(&b);
            assert_eq!(enc(&ds, b[0]), b, "{file_and_object}");
        }
    }

    #[test]
    fn v1_simple_with_max() {
        let mut b = alloc::vec![1u8, 2, 1, 0, 0, 0, 0, 0];
        for v in [3u64, 4, u64::MAX, 4] {
            b.extend(v.to_le_bytes());
        }
        let ds = Dataspace::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "dataspace")).unwrap();
        assert_eq!(ds.kind, SpaceKind::Simple);
        assert_eq!(ds.dims, [3, 4]);
        assert_eq!(ds.max_dims(), [u64::MAX, 4]);
        assert_eq!(ds.num_elements(), 12);
    }

    #[test]
    fn v2_null_and_scalar() {
        let b = [2u8, 0, 0, 2];
        let ds = Dataspace::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "dataspace")).unwrap();
        assert_eq!(ds.kind, SpaceKind::Null);
        assert_eq!(ds.num_elements(), 0);
        let b = [1u8, 0, 0, 0, 0, 0, 0, 0];
        let ds = Dataspace::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "dataspace")).unwrap();
        assert_eq!(ds.kind, SpaceKind::Scalar);
    }

    #[test]
    fn max_below_current_is_invalid() {
        let mut b = alloc::vec![1u8, 1, 1, 0, 0, 0, 0, 0];
        b.extend(5u64.to_le_bytes());
        b.extend(4u64.to_le_bytes());
        assert!(Dataspace::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "dataspace")).is_err());
    }
}

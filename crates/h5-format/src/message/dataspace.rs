//! Dataspace message 0x01 (spec IV.A.2.b), versions 1 and 2.

use crate::error::{ErrorKind, Result};
use crate::reader::Reader;
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
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let r0 = r.clone();
        let version = r.u8()?;
        let rank = r.u8()? as usize;
        let flags = r.u8()?;
        if rank > MAX_RANK {
            return Err(r0.invalid("dataspace rank"));
        }
        let kind = match version {
            1 => {
                r.skip(5)?;
                if rank == 0 {
                    SpaceKind::Scalar
                } else {
                    SpaceKind::Simple
                }
            }
            2 => match r.u8()? {
                0 => SpaceKind::Scalar,
                1 => SpaceKind::Simple,
                2 => SpaceKind::Null,
                _ => return Err(r.invalid("dataspace type")),
            },
            v => return Err(r0.err(ErrorKind::BadVersion(v))),
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

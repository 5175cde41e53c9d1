//! Fletcher-32 (filter 3): HDF5's variant over big-endian 16-bit words, appended to each
//! chunk as a little-endian u32.

use crate::{id, Encoded, Error, Filter, FilterParams, Result};

/// HDF5's Fletcher-32 of `data`.
pub fn fletcher32(data: &[u8]) -> u32 {
    let (mut s1, mut s2) = (0u32, 0u32);
    let mut words = data.chunks_exact(2);
    let mut left = data.len() / 2;
    while left > 0 {
        let n = left.min(360);
        left -= n;
        for w in words.by_ref().take(n) {
            s1 += u32::from(w[0]) << 8 | u32::from(w[1]);
            s2 += s1;
        }
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    if data.len() % 2 == 1 {
        s1 += u32::from(data[data.len() - 1]) << 8;
        s2 += s1;
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >> 16);
    s2 = (s2 & 0xffff) + (s2 >> 16);
    (s2 << 16) | s1
}

pub(crate) struct Fletcher32;

impl Filter for Fletcher32 {
    fn id(&self) -> u16 {
        id::FLETCHER32
    }
    fn decode(&self, _p: &FilterParams<'_>, mut input: Vec<u8>, _limit: usize) -> Result<Vec<u8>> {
        if input.len() < 4 {
            return Err(Error::Corrupt {
                id: id::FLETCHER32,
                what: "chunk shorter than its checksum",
            });
        }
        let n = input.len() - 4;
        let stored = u32::from_le_bytes([input[n], input[n + 1], input[n + 2], input[n + 3]]);
        let computed = fletcher32(&input[..n]);
        // HDF5 before 1.6.3 computed it with the bytes of each 16-bit half swapped.
        let legacy = ((computed & 0x00ff_00ff) << 8) | ((computed >> 8) & 0x00ff_00ff);
        if stored != computed && stored != legacy {
            return Err(Error::Checksum {
                id: id::FLETCHER32,
                stored,
                computed,
            });
        }
        input.truncate(n);
        Ok(input)
    }
    /// Appends the checksum as 4 little-endian bytes (libhdf5's `UINT32ENCODE`); never
    /// declines.
    fn encode(&self, _p: &FilterParams<'_>, mut input: Vec<u8>) -> Result<Encoded> {
        let sum = fletcher32(&input);
        input.extend_from_slice(&sum.to_le_bytes());
        Ok(Encoded::Data(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(fletcher32(b""), 0);
        // "ab": word 0x6162 → s1 = 0x6162, s2 = 0x6162
        assert_eq!(fletcher32(b"ab"), 0x6162_6162);
        // odd trailing byte is the high half of a word; sums fold at 16 bits:
        // s1 = 0x6162 + 0x6300 = 0xc462, s2 = 0x6162 + 0xc462 = 0x125c4 → 0x25c5
        assert_eq!(fletcher32(b"abc"), 0x25c5_c462);
    }

    #[test]
    fn verifies() {
        let mut d = b"hello world!".to_vec();
        let c = fletcher32(&d);
        d.extend(c.to_le_bytes());
        let p = FilterParams {
            id: 3,
            client_data: &[],
            element_size: 1,
        };
        assert_eq!(
            Fletcher32.decode(&p, d.clone(), 100).unwrap(),
            b"hello world!"
        );
        d[0] ^= 1;
        assert!(matches!(
            Fletcher32.decode(&p, d, 100),
            Err(Error::Checksum { .. })
        ));
    }

    #[test]
    fn encode_appends_little_endian() {
        let p = FilterParams {
            id: 3,
            client_data: &[],
            element_size: 1,
        };
        let Encoded::Data(z) = Fletcher32.encode(&p, b"abc".to_vec()).unwrap() else {
            panic!()
        };
        // fletcher32("abc") = 0x25c5_c462
        assert_eq!(z, [b'a', b'b', b'c', 0x62, 0xc4, 0xc5, 0x25]);
        assert_eq!(Fletcher32.decode(&p, z, 3).unwrap(), b"abc");
        let Encoded::Data(z) = Fletcher32.encode(&p, vec![]).unwrap() else {
            panic!()
        };
        assert_eq!(z, [0, 0, 0, 0]);
        assert_eq!(Fletcher32.decode(&p, z, 0).unwrap(), b"");
    }
}

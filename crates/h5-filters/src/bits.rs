//! Bit streams packed most significant bit first, as libhdf5's n-bit and scale-offset filters
//! pack them.

use crate::{Error, Result};

/// Bits appended most significant first.
pub(crate) struct BitWriter {
    out: Vec<u8>,
    /// Bits used in the last byte (0–7; 0: start a new byte).
    used: u32,
}

impl BitWriter {
    pub(crate) fn with_capacity(n: usize) -> Self {
        BitWriter {
            out: Vec::with_capacity(n),
            used: 0,
        }
    }

    /// The bytes, sized as libhdf5 sizes n-bit and scale-offset output: floor(bits / 8) + 1,
    /// a last byte even when the bits fill the one before.
    pub(crate) fn finish_libhdf5(mut self) -> Vec<u8> {
        if self.used == 0 {
            self.out.push(0);
        }
        self.out
    }

    /// The bytes, the last one zero-padded: ceil(bits / 8) of them.
    #[cfg_attr(not(feature = "szip"), allow(dead_code))]
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }

    /// Bits written so far.
    #[cfg_attr(not(feature = "szip"), allow(dead_code))]
    pub(crate) fn bits(&self) -> usize {
        self.out.len() * 8
            - if self.used == 0 {
                0
            } else {
                (8 - self.used) as usize
            }
    }

    /// Append the low `n` bits of `v`, most significant first.
    pub(crate) fn put(&mut self, v: u128, mut n: u32) {
        while n > 0 {
            if self.used == 0 {
                self.out.push(0);
            }
            let free = 8 - self.used;
            let take = free.min(n);
            let bits = ((v >> (n - take)) & ((1u128 << take) - 1)) as u8;
            let last = self.out.len() - 1;
            self.out[last] |= bits << (free - take);
            self.used = (self.used + take) % 8;
            n -= take;
        }
    }
}

/// Bits read most significant first.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// The next bit's position.
    bit: usize,
    /// The filter whose data this is (for errors).
    filter: u16,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], filter: u16) -> Self {
        BitReader {
            data,
            bit: 0,
            filter,
        }
    }

    /// The count of 0 bits before the next 1 bit (a fundamental-sequence codeword), the 1
    /// consumed; an error past the end of the data.
    #[cfg_attr(not(feature = "szip"), allow(dead_code))]
    pub(crate) fn zeros_then_one(&mut self) -> Result<u64> {
        let mut m = 0u64;
        loop {
            let byte = *self.data.get(self.bit / 8).ok_or(Error::Corrupt {
                id: self.filter,
                what: "packed bits end early",
            })?;
            let used = (self.bit % 8) as u32;
            let rest = byte << used;
            if rest == 0 {
                m += u64::from(8 - used);
                self.bit += (8 - used) as usize;
                continue;
            }
            let z = rest.leading_zeros();
            m += u64::from(z);
            self.bit += z as usize + 1;
            return Ok(m);
        }
    }

    /// The next `n` bits as a number (the first bit most significant).
    pub(crate) fn get(&mut self, mut n: u32) -> Result<u128> {
        let mut v = 0u128;
        while n > 0 {
            let byte = *self.data.get(self.bit / 8).ok_or(Error::Corrupt {
                id: self.filter,
                what: "packed bits end early",
            })?;
            let used = (self.bit % 8) as u32;
            let take = (8 - used).min(n);
            let bits = (byte >> (8 - used - take)) & ((1u16 << take) - 1) as u8;
            v = (v << take) | bits as u128;
            self.bit += take as usize;
            n -= take;
        }
        Ok(v)
    }
}

/// The unsigned number in `b` (at most 16 bytes), its bytes big- or little-endian.
pub(crate) fn load(b: &[u8], big_endian: bool) -> u128 {
    let mut v = 0u128;
    if big_endian {
        for &x in b {
            v = (v << 8) | x as u128;
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | x as u128;
        }
    }
    v
}

/// `v`'s low bytes into `b`, big- or little-endian.
pub(crate) fn store(v: u128, b: &mut [u8], big_endian: bool) {
    let n = b.len();
    for i in 0..n {
        let byte = (v >> (8 * i)) as u8;
        if big_endian {
            b[n - 1 - i] = byte;
        } else {
            b[i] = byte;
        }
    }
}

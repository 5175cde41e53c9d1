//! SZIP (filter 4): CCSDS 121.0-B adaptive entropy coding as libaec's SZIP-compatible layer
//! writes it for libhdf5 — our own encoder and decoder (the encoder makes libaec's choices,
//! so chunks are byte-identical to libhdf5's).
//!
//! Client data: `[options mask, pixels per block, bits per pixel, pixels per scanline]` (mask
//! bits: 4 EC, 8 LSB, 16 MSB, 32 NN (the preprocessor), 1 K13 and 128 RAW always). A chunk is
//! its uncompressed size (u32 LE) and the coded stream.
//!
//! The SZIP layer: 32- and 64-bit pixels are split into byte planes first and coded as 8-bit
//! samples; samples sit in 1-, 2- or 4-byte containers (by bits per sample), in the byte order
//! the MSB flag says; every scanline is one reference sample interval (RSI) of
//! ceil(scanline / block) blocks, its last block padded (with the last pixel under NN, else
//! zeros).
//!
//! The coding, per block of J samples (after the preprocessor's unit-delay prediction and
//! mapping, when NN; the first block of an RSI then carries the raw reference sample):
//! an option id, then zero-block runs (`id` zeros, 0, FS(run)), second extension (`id`
//! zeros, 1, one FS codeword per pair), split-k (`id` = k + 1, FS(x >> k) for each sample,
//! then the k low bits of each), or the samples uncompressed (`id` all ones). FS(m) is m
//! zeros and a one. The encoder picks per block what libaec picks: the shortest, split
//! before SE before uncompressed on the ties libaec breaks that way, its k search carried
//! from block to block.

use crate::bits::{load, store, BitReader, BitWriter};
use crate::{id, Encoded, Error, Filter, FilterParams, Result};

pub(crate) struct Szip;

const MSB: u32 = 16;
const NN: u32 = 32;

fn invalid(what: &'static str) -> Error {
    Error::InvalidParams { id: id::SZIP, what }
}

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { id: id::SZIP, what }
}

/// The coding parameters the client data gives.
struct Params {
    /// Bits per coded sample (8 after a byte-plane split).
    bps: u32,
    /// Bytes per sample container.
    container: usize,
    /// Samples per block (J).
    block: usize,
    /// Blocks per RSI (one scanline, padded).
    rsi: usize,
    /// Pixels per scanline.
    scanline: usize,
    /// Byte-plane split width (4 or 8 bytes), for 32- and 64-bit pixels.
    planes: Option<usize>,
    msb: bool,
    preprocess: bool,
}

fn params(cd: &[u32]) -> Result<Params> {
    let [mask, ppb, bpp, pps, ..] = *cd else {
        return Err(invalid("expected 4 values"));
    };
    let block = ppb as usize;
    if !(2..=64).contains(&block) || !block.is_multiple_of(2) {
        return Err(invalid("pixels per block must be even, 2 to 64"));
    }
    let (bps, planes) = match bpp {
        1..=24 => (bpp, None),
        32 => (8, Some(4)),
        64 => (8, Some(8)),
        _ => return Err(invalid("bits per pixel")),
    };
    let scanline = pps as usize;
    if scanline == 0 || scanline > block * 128 {
        return Err(invalid("pixels per scanline"));
    }
    Ok(Params {
        bps,
        container: match bps {
            1..=8 => 1,
            9..=16 => 2,
            _ => 4,
        },
        block,
        rsi: scanline.div_ceil(block),
        scanline,
        planes,
        msb: mask & MSB != 0,
        preprocess: mask & NN != 0,
    })
}

impl Params {
    fn id_len(&self) -> u32 {
        match self.bps {
            1..=8 => 3,
            9..=16 => 4,
            _ => 5,
        }
    }

    fn xmax(&self) -> u64 {
        (1u64 << self.bps) - 1
    }

    /// Pixels of the coded buffer (its containers) and the samples coded for them (whole
    /// RSIs).
    fn layout(&self, nbytes: usize) -> (usize, usize) {
        let pixels = nbytes / self.container;
        let lines = pixels.div_ceil(self.scanline);
        (pixels, lines * self.rsi * self.block)
    }
}

/// The byte planes of `data` (`w`-byte pixels): byte j of every pixel, then byte j + 1…
fn split_planes(data: &[u8], w: usize) -> Vec<u8> {
    let n = data.len() / w;
    let mut out = vec![0u8; data.len()];
    for (i, px) in data[..n * w].chunks_exact(w).enumerate() {
        for (j, &b) in px.iter().enumerate() {
            out[j * n + i] = b;
        }
    }
    out[n * w..].copy_from_slice(&data[n * w..]);
    out
}

fn join_planes(data: &[u8], w: usize) -> Vec<u8> {
    let n = data.len() / w;
    let mut out = vec![0u8; data.len()];
    for (i, px) in out[..n * w].chunks_exact_mut(w).enumerate() {
        for (j, b) in px.iter_mut().enumerate() {
            *b = data[j * n + i];
        }
    }
    out[n * w..].copy_from_slice(&data[n * w..]);
    out
}

// ---------------------------------------------------------------------------------------
// Decoding

fn decode_stream(p: &Params, stream: &[u8], samples: usize) -> Result<Vec<u64>> {
    let (j, r, n) = (p.block, p.rsi, p.bps);
    let id_len = p.id_len();
    let all_ones = (1u128 << id_len) - 1;
    let mut rd = BitReader::new(stream, id::SZIP);
    let mut out = Vec::with_capacity(samples);
    let per_rsi = r * j;
    while out.len() < samples {
        // one RSI: mapped values, then the reconstruction
        let mut d: Vec<u64> = Vec::with_capacity(per_rsi);
        let mut reference = None;
        let mut blocks = 0usize;
        while blocks < r {
            let with_ref = p.preprocess && blocks == 0;
            let id = rd.get(id_len)?;
            if id == 0 {
                let second_extension = rd.get(1)? == 1;
                if with_ref {
                    reference = Some(rd.get(n)? as u64);
                }
                if second_extension {
                    for pair in 0..j / 2 {
                        let m = rd.zeros_then_one()?;
                        if m > 90 {
                            return Err(corrupt("second-extension codeword out of range"));
                        }
                        let mut s = 0u64;
                        while (s + 1) * (s + 2) / 2 <= m {
                            s += 1;
                        }
                        let b = m - s * (s + 1) / 2;
                        if !(with_ref && pair == 0) {
                            d.push(s - b);
                        }
                        d.push(b);
                    }
                    blocks += 1;
                } else {
                    let m = rd.zeros_then_one()?;
                    let run = match m + 1 {
                        5 => (r - blocks).min(64 - blocks % 64) as u64,
                        b if b > 5 => m,
                        b => b,
                    };
                    let run = usize::try_from(run)
                        .ok()
                        .filter(|&b| b >= 1 && b <= r - blocks)
                        .ok_or(corrupt("zero-block run past the interval"))?;
                    d.resize(d.len() + run * j - usize::from(with_ref), 0);
                    blocks += run;
                }
            } else if id == all_ones {
                if with_ref {
                    reference = Some(rd.get(n)? as u64);
                }
                for _ in usize::from(with_ref)..j {
                    d.push(rd.get(n)? as u64);
                }
                blocks += 1;
            } else {
                let k = (id - 1) as u32;
                if with_ref {
                    reference = Some(rd.get(n)? as u64);
                }
                let start = d.len();
                for _ in usize::from(with_ref)..j {
                    let m = rd.zeros_then_one()?;
                    if k > 0 && m >> (64 - k) != 0 {
                        return Err(corrupt("split-sample codeword out of range"));
                    }
                    d.push(m << k);
                }
                if k > 0 {
                    for v in &mut d[start..] {
                        *v |= rd.get(k)? as u64;
                    }
                }
                blocks += 1;
            }
        }
        match reference {
            Some(x0) if p.preprocess => {
                let xmax = p.xmax();
                let mut x = x0.min(xmax);
                out.push(x);
                for &dv in &d {
                    let high = x > xmax / 2;
                    let theta = if high { xmax - x } else { x };
                    x = if dv.div_ceil(2) <= theta {
                        if dv % 2 == 0 {
                            x + dv / 2
                        } else {
                            x - dv.div_ceil(2)
                        }
                    } else if high {
                        xmax.saturating_sub(dv)
                    } else {
                        dv.min(xmax)
                    };
                    out.push(x);
                }
            }
            _ => out.extend(d),
        }
    }
    out.truncate(samples);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Encoding

/// The encoder's state across blocks and RSIs: libaec's split k.
struct Encoder<'p> {
    p: &'p Params,
    w: BitWriter,
    k: u32,
}

impl Encoder<'_> {
    fn fs(&mut self, m: u64) {
        let mut m = m;
        while m >= 64 {
            self.w.put(0, 64);
            m -= 64;
        }
        self.w.put(1, m as u32 + 1);
    }

    /// A run of `count` zero blocks, the first with `reference` when it is an RSI's first;
    /// `end`: the run ends an RSI or a 64-block segment (ROS may code it).
    fn zero_run(&mut self, count: u64, reference: Option<u64>, end: bool) {
        self.w.put(0, self.p.id_len() + 1);
        if let Some(x) = reference {
            self.w.put(u128::from(x), self.p.bps);
        }
        match count {
            1..=4 => self.fs(count - 1),
            _ if end => self.fs(4),
            _ => self.fs(count),
        }
    }

    /// libaec's split-k search (`assess_splitting_option`), from the last block's k.
    fn split(&mut self, block: &[u64], with_ref: bool) -> (u32, u64) {
        let j = block.len() as u64;
        let coded = j - u64::from(with_ref);
        let kmax = (1u32 << self.p.id_len()) - 3;
        let fs = |k: u32| block.iter().map(|&v| v >> k).sum::<u64>();
        let len = |k: u32| fs(k) + coded * u64::from(k + 1);
        let k0 = self.k;
        let (mut k, mut best, mut kbest) = (k0, u64::MAX, k0);
        let (mut no_turn, mut up) = (k0 == 0, true);
        loop {
            let l = len(k);
            if l < best {
                if best != u64::MAX {
                    no_turn = true;
                }
                best = l;
                kbest = k;
                if up {
                    if fs(k) < coded || k >= kmax {
                        if no_turn {
                            break;
                        }
                        k = k0 - 1;
                        up = false;
                        no_turn = true;
                    } else {
                        k += 1;
                    }
                } else {
                    if fs(k) >= coded || k == 0 {
                        break;
                    }
                    k -= 1;
                }
            } else {
                if no_turn {
                    break;
                }
                k = k0 - 1;
                up = false;
                no_turn = true;
            }
        }
        self.k = kbest;
        (kbest, best)
    }

    /// The second extension's length (its extra id bit included), or `u64::MAX` past `limit`.
    fn se_len(block: &[u64], limit: u64) -> u64 {
        let mut len = 1u64;
        for pair in block.chunks_exact(2) {
            let s = pair[0] + pair[1];
            if s > 1 << 20 {
                return u64::MAX;
            }
            len += s * (s + 1) / 2 + pair[1] + 1;
            if len > limit {
                return u64::MAX;
            }
        }
        len
    }

    /// One block that is not all zeros.
    fn block(&mut self, block: &[u64], reference: Option<u64>) {
        let p = self.p;
        let (n, id_len) = (p.bps, p.id_len());
        let with_ref = reference.is_some();
        let coded = &block[usize::from(with_ref)..];
        let uncomp = coded.len() as u64 * u64::from(n);
        let (k, split) = self.split(block, with_ref);
        let se = Self::se_len(block, uncomp);
        let put_ref = |w: &mut BitWriter| {
            if let Some(x) = reference {
                w.put(u128::from(x), n);
            }
        };
        if split < uncomp && split < se {
            self.w.put(u128::from(k + 1), id_len);
            put_ref(&mut self.w);
            for &v in coded {
                self.fs(v >> k);
            }
            if k > 0 {
                for &v in coded {
                    self.w.put(u128::from(v & ((1u64 << k) - 1)), k);
                }
            }
        } else if split >= uncomp && uncomp <= se {
            self.w.put((1u128 << id_len) - 1, id_len);
            put_ref(&mut self.w);
            for &v in coded {
                self.w.put(u128::from(v), n);
            }
        } else {
            self.w.put(1, id_len + 1);
            put_ref(&mut self.w);
            for pair in block.chunks_exact(2) {
                let s = pair[0] + pair[1];
                self.fs(s * (s + 1) / 2 + pair[1]);
            }
        }
    }

    /// One RSI of `x` (r × J samples).
    fn rsi(&mut self, x: &[u64]) {
        let p = self.p;
        let j = p.block;
        let xmax = p.xmax();
        let d: Vec<u64> = if p.preprocess {
            let mut d = vec![0u64; x.len()];
            for i in 1..x.len() {
                let (prev, cur) = (x[i - 1], x[i]);
                d[i] = if cur >= prev {
                    let delta = cur - prev;
                    if delta <= prev {
                        2 * delta
                    } else {
                        cur
                    }
                } else {
                    let delta = prev - cur;
                    if delta <= xmax - prev {
                        2 * delta - 1
                    } else {
                        xmax - cur
                    }
                };
            }
            d
        } else {
            x.to_vec()
        };
        let blocks = d.len() / j;
        let mut run: Option<(u64, Option<u64>)> = None;
        for b in 0..blocks {
            let block = &d[b * j..(b + 1) * j];
            let reference = (p.preprocess && b == 0).then(|| x[0]);
            if block.iter().all(|&v| v == 0) {
                let r = run.get_or_insert((0, reference));
                r.0 += 1;
                if b + 1 == blocks || (b + 1) % 64 == 0 {
                    let (count, reference) = r.to_owned();
                    self.zero_run(count, reference, true);
                    run = None;
                }
                continue;
            }
            if let Some((count, reference)) = run.take() {
                self.zero_run(count, reference, false);
            }
            self.block(block, reference);
        }
    }
}

impl Filter for Szip {
    fn id(&self) -> u16 {
        id::SZIP
    }

    fn decode(&self, fp: &FilterParams<'_>, input: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
        let p = params(fp.client_data)?;
        let size = input
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(corrupt("no size header"))?;
        if size > limit {
            return Err(Error::TooLarge {
                id: id::SZIP,
                limit,
            });
        }
        let (pixels, samples) = p.layout(size);
        let coded = decode_stream(&p, &input[4..], samples)?;
        // each scanline's pixels, its padding dropped
        let mut out = vec![0u8; size];
        let line = p.rsi * p.block;
        for (i, px) in out[..pixels * p.container]
            .chunks_exact_mut(p.container)
            .enumerate()
        {
            let at = (i / p.scanline) * line + i % p.scanline;
            store(u128::from(coded[at]), px, p.msb);
        }
        Ok(match p.planes {
            Some(w) => join_planes(&out, w),
            None => out,
        })
    }

    /// Declines (libhdf5 then skips the optional filter for the chunk) when the coded stream
    /// would be larger than the chunk.
    fn encode(&self, fp: &FilterParams<'_>, input: Vec<u8>) -> Result<Encoded> {
        let p = params(fp.client_data)?;
        let nbytes = input.len();
        let size = u32::try_from(nbytes).map_err(|_| invalid("chunk of 4 GiB or more"))?;
        let data = match p.planes {
            Some(w) => split_planes(&input, w),
            None => input.clone(),
        };
        let (pixels, samples) = p.layout(nbytes);
        let xmax = p.xmax();
        let line = p.rsi * p.block;
        let mut x = vec![0u64; samples];
        for (l, dst) in x.chunks_exact_mut(line).enumerate() {
            let first = l * p.scanline;
            let count = p.scanline.min(pixels - first);
            for (i, v) in dst[..count].iter_mut().enumerate() {
                let at = (first + i) * p.container;
                *v = load(&data[at..at + p.container], p.msb) as u64 & xmax;
            }
            let pad = if p.preprocess { dst[count - 1] } else { 0 };
            dst[count..].fill(pad);
        }
        let mut e = Encoder {
            p: &p,
            w: BitWriter::with_capacity(nbytes / 2 + 16),
            k: 0,
        };
        for rsi in x.chunks_exact(line) {
            e.rsi(rsi);
        }
        if e.w.bits().div_ceil(8) > nbytes {
            return Ok(Encoded::Declined {
                data: input,
                why: "szip output larger than the chunk",
            });
        }
        let mut out = size.to_le_bytes().to_vec();
        out.extend(e.w.finish());
        Ok(Encoded::Data(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(cd: &[u32]) -> FilterParams<'_> {
        FilterParams {
            id: id::SZIP,
            client_data: cd,
            element_size: 4,
        }
    }

    #[test]
    fn every_option_round_trips() {
        // NN and EC, 8-, 16-, 32-bit pixels; smooth, noisy, constant and zero data; a
        // scanline that does not fill its last block
        for (mask, bpp, size) in [
            (169u32, 16u32, 2usize),
            (141, 16, 2),
            (169, 32, 4),
            (141, 8, 1),
            (169, 64, 8),
            (169, 12, 2),
        ] {
            for pps in [64u32, 100] {
                let cd = [mask, 16, bpp, pps];
                let n = 1000;
                let sets: Vec<Vec<u64>> = vec![
                    (0..n).map(|i| 1000 + (i % 37)).collect(),
                    (0..n).map(|i| (i * 2654435761u64) >> 7).collect(),
                    vec![7; n as usize],
                    vec![0; n as usize],
                ];
                for vals in sets {
                    let mask_bits = if bpp >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << bpp) - 1
                    };
                    let data: Vec<u8> = vals
                        .iter()
                        .flat_map(|&v| (v & mask_bits).to_le_bytes()[..size].to_vec())
                        .collect();
                    match Szip.encode(&fp(&cd), data.clone()).unwrap() {
                        Encoded::Data(z) => {
                            let back = Szip.decode(&fp(&cd), z, data.len()).unwrap();
                            assert_eq!(back, data, "mask {mask} bpp {bpp} pps {pps}");
                        }
                        Encoded::Declined { .. } => {}
                    }
                }
            }
        }
    }

    #[test]
    fn damage_is_an_error() {
        let cd = [169, 16, 16, 64];
        let data: Vec<u8> = (0..500u16).flat_map(|i| (i * 7).to_le_bytes()).collect();
        let z = Szip.encode(&fp(&cd), data.clone()).unwrap().into_inner();
        for cut in [0, 3, 4, 5, z.len() / 2] {
            assert!(
                Szip.decode(&fp(&cd), z[..cut].to_vec(), data.len())
                    .is_err(),
                "cut {cut}"
            );
        }
        assert!(
            Szip.decode(&fp(&cd), z.clone(), data.len() - 1).is_err(),
            "size too large"
        );
        for at in (4..z.len()).step_by(7) {
            let mut bad = z.clone();
            bad[at] ^= 0xa5;
            if let Ok(out) = Szip.decode(&fp(&cd), bad, data.len()) {
                assert_eq!(out.len(), data.len());
            }
        }
        assert!(
            Szip.decode(&fp(&[169, 15, 16, 64]), z, 1000).is_err(),
            "odd block"
        );
    }
}

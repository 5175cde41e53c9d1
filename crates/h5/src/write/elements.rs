//! [`Elements`]: what a write takes — one element, a slice, a `Vec`, a Rust array, or any
//! ndarray array or view — and their encoding into stored bytes.

use super::strings::encode_values;
use super::WriteCtx;
use crate::error::{Error, Result};
use crate::read::chunks::par_encode;
use crate::read::convert::encode_scalar;
use crate::read::element::{field_plan_for, is_number, plain_for, H5Type};
use crate::read::value::Value;
use h5_format::message::datatype::Datatype;
use std::borrow::Cow;

/// Data to write: elements of one [`H5Type`] with a shape, in row-major order.
///
/// One element (a number, `bool`, string, complex, a derived struct or enum…) has shape `[]`
/// and broadcasts over any selection; a slice, `Vec` or Rust array `[T; N]` is 1-D; an
/// ndarray array or view has its own shape. Writes check the shape against the selection's
/// with numpy's broadcasting rules.
///
/// (A Rust array is a 1-D run of elements here, as a list is to h5py; as the *element type*
/// of a dataset, `[T; N]` is an HDF5 array type.)
pub trait Elements {
    /// The element type.
    type Elem: H5Type;
    /// The shape (`[]` for one element).
    fn shape(&self) -> Vec<u64>;
    /// Call `f` on each element, in row-major order.
    ///
    /// # Errors
    /// What `f` returns.
    fn each(&self, f: &mut dyn FnMut(&Self::Elem) -> Result<()>) -> Result<()>;
    /// The elements as one slice in row-major order, where they are held that way: then a
    /// write whose stored type is the element type copies their bytes, element by element
    /// conversion skipped.
    fn as_slice(&self) -> Option<&[Self::Elem]> {
        None
    }
}

/// `impl Elements` for a type whose values are one element each (shape `[]`): the numbers,
/// strings and the types `#[derive(h5::H5Type)]` makes: `Type`, or
/// `generic [generics] Type`.
#[doc(hidden)]
#[macro_export]
macro_rules! __scalar_elements {
    (generic [$($g:tt)*] $ty:ty) => {
        impl<$($g)*> $crate::Elements for $ty {
            type Elem = Self;
            fn shape(&self) -> Vec<u64> {
                Vec::new()
            }
            fn each(
                &self,
                f: &mut dyn FnMut(&Self) -> $crate::Result<()>,
            ) -> $crate::Result<()> {
                f(self)
            }
            fn as_slice(&self) -> Option<&[Self]> {
                Some(std::slice::from_ref(self))
            }
        }
    };
    ($ty:ty) => {
        $crate::__scalar_elements!(generic [] $ty);
    };
}

macro_rules! scalar_elements {
    ($($t:ty),*) => {$(
        __scalar_elements!($t);
    )*};
}
scalar_elements!(
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    f32,
    f64,
    bool,
    half::f16,
    num_complex::Complex<f32>,
    num_complex::Complex<f64>,
    String
);
__scalar_elements!(generic [const N: usize] crate::read::element::FixedAscii<N>);
__scalar_elements!(generic [const N: usize] crate::read::element::FixedUtf8<N>);

/// A string: one variable-length UTF-8 element, as h5py stores `"text"`.
impl Elements for str {
    type Elem = String;
    fn shape(&self) -> Vec<u64> {
        Vec::new()
    }
    fn each(&self, f: &mut dyn FnMut(&String) -> Result<()>) -> Result<()> {
        f(&self.to_string())
    }
}

impl<T: H5Type> Elements for [T] {
    type Elem = T;
    fn shape(&self) -> Vec<u64> {
        vec![self.len() as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&T) -> Result<()>) -> Result<()> {
        self.iter().try_for_each(f)
    }
    fn as_slice(&self) -> Option<&[T]> {
        Some(self)
    }
}

/// Strings as variable-length UTF-8.
impl Elements for [&str] {
    type Elem = String;
    fn shape(&self) -> Vec<u64> {
        vec![self.len() as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&String) -> Result<()>) -> Result<()> {
        self.iter().try_for_each(|s| f(&s.to_string()))
    }
}

impl<T: H5Type> Elements for Vec<T> {
    type Elem = T;
    fn shape(&self) -> Vec<u64> {
        vec![self.len() as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&T) -> Result<()>) -> Result<()> {
        self.iter().try_for_each(f)
    }
    fn as_slice(&self) -> Option<&[T]> {
        Some(&self[..])
    }
}

/// Strings as variable-length UTF-8.
impl Elements for Vec<&str> {
    type Elem = String;
    fn shape(&self) -> Vec<u64> {
        vec![self.len() as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&String) -> Result<()>) -> Result<()> {
        self.as_slice().each(f)
    }
}

impl<T: H5Type, const N: usize> Elements for [T; N] {
    type Elem = T;
    fn shape(&self) -> Vec<u64> {
        vec![N as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&T) -> Result<()>) -> Result<()> {
        self.iter().try_for_each(f)
    }
    fn as_slice(&self) -> Option<&[T]> {
        Some(&self[..])
    }
}

/// Strings as variable-length UTF-8.
impl<const N: usize> Elements for [&str; N] {
    type Elem = String;
    fn shape(&self) -> Vec<u64> {
        vec![N as u64]
    }
    fn each(&self, f: &mut dyn FnMut(&String) -> Result<()>) -> Result<()> {
        self.as_slice().each(f)
    }
}

impl<T: H5Type, S: ndarray::Data<Elem = T>, D: ndarray::Dimension> Elements
    for ndarray::ArrayBase<S, D>
{
    type Elem = T;
    fn shape(&self) -> Vec<u64> {
        ndarray::ArrayBase::shape(self)
            .iter()
            .map(|&d| d as u64)
            .collect()
    }
    fn each(&self, f: &mut dyn FnMut(&T) -> Result<()>) -> Result<()> {
        self.iter().try_for_each(f)
    }
    fn as_slice(&self) -> Option<&[T]> {
        ndarray::ArrayBase::as_slice(self)
    }
}

impl<E: Elements + ?Sized> Elements for &E {
    type Elem = E::Elem;
    fn shape(&self) -> Vec<u64> {
        (**self).shape()
    }
    fn each(&self, f: &mut dyn FnMut(&Self::Elem) -> Result<()>) -> Result<()> {
        (**self).each(f)
    }
    fn as_slice(&self) -> Option<&[Self::Elem]> {
        (**self).as_slice()
    }
}

/// A large write's elements as a way to encode any range of their bytes, so a write that
/// lands as one run of the file streams them to it while they are encoded, with no buffer
/// of them all.
pub(crate) struct Parts<'d> {
    /// Bytes in all.
    pub len: usize,
    /// Bytes per element (a range starts on an element).
    pub es: usize,
    /// The bytes from `offset` into the buffer (as long as the range).
    #[allow(clippy::type_complexity)]
    pub fill: Box<dyn Fn(usize, &mut [u8]) -> Result<()> + Sync + 'd>,
}

/// `data` as [`Parts`] when it is a slice of at least `min` bytes of a type with a field
/// plan for `dt` (its own datatype) that is not its own bytes (those are borrowed whole).
pub(crate) fn encode_parts<'d, E: Elements + ?Sized>(
    dt: &Datatype,
    data: &'d E,
    count: u64,
    min: usize,
) -> Option<Parts<'d>> {
    if plain_for::<E::Elem>(dt).is_some() || *dt != E::Elem::datatype() {
        return None;
    }
    let plan = field_plan_for::<E::Elem>(dt)?;
    let s = data.as_slice().filter(|s| s.len() as u64 == count)?;
    let es = (dt.size() as usize).max(1);
    let len = s.len().checked_mul(es).filter(|&l| l >= min)?;
    Some(Parts {
        len,
        es,
        fill: Box::new(move |off, buf| {
            // member gaps and padding are zeros
            buf.fill(0);
            buf.chunks_exact_mut(es)
                .zip(s.get(off / es..).unwrap_or_default())
                // called directly (the same function as `fixed()`'s `encode`): it inlines
                .try_for_each(|(slot, x)| E::Elem::encode_fixed(&plan, x, slot))
        }),
    })
}

/// Write `parts` from file address `at` while they are encoded: pieces of about 256 KiB
/// (they stay in the cache between the encode and the write, and the first write starts
/// early) are encoded on a thread of their own and written here in order (three buffers go
/// round), so encoding and writing overlap. Elements that fail to encode leave the pieces
/// before them written, as libhdf5's conversion buffers do.
pub(crate) fn stream(cx: &mut WriteCtx<'_>, at: u64, parts: Parts<'_>) -> Result<()> {
    let piece = ((256 << 10) / parts.es).max(1) * parts.es;
    let pieces = move || {
        (0..parts.len)
            .step_by(piece)
            .map(move |off| (off, piece.min(parts.len - off)))
    };
    // in turn, here: small writes, WebAssembly, or no thread to be had
    let serially = |cx: &mut WriteCtx<'_>| -> Result<()> {
        let mut buf = Vec::new();
        for (off, len) in pieces() {
            buf.resize(len, 0);
            (parts.fill)(off, &mut buf)?;
            cx.write(at + off as u64, &buf)?;
        }
        Ok(())
    };
    #[cfg(not(target_arch = "wasm32"))]
    if parts.len > piece {
        use std::sync::mpsc::sync_channel;
        let (full_tx, full_rx) = sync_channel::<Result<(usize, Vec<u8>)>>(3);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(3);
        for _ in 0..3 {
            let _ = empty_tx.send(Vec::new());
        }
        let fill = &parts.fill;
        return std::thread::scope(|s| {
            // both ends this side holds are dropped when it returns (an error included),
            // before the scope waits for the encoder: an encoder waiting for a buffer or
            // sending a piece then stops
            let (empty_tx, full_rx) = (empty_tx, full_rx);
            let encoder = std::thread::Builder::new().spawn_scoped(s, move || {
                for (off, len) in pieces() {
                    let Ok(mut buf) = empty_rx.recv() else { return };
                    buf.resize(len, 0);
                    let r = fill(off, &mut buf).map(|()| (off, buf));
                    let failed = r.is_err();
                    if full_tx.send(r).is_err() || failed {
                        return;
                    }
                }
            });
            if encoder.is_err() {
                return serially(cx);
            }
            for r in full_rx {
                let (off, buf) = r?;
                cx.write(at + off as u64, &buf)?;
                // the encoder may have stopped (an error it sent, read next)
                let _ = empty_tx.send(buf);
            }
            Ok(())
        });
    }
    serially(cx)
}

/// Encode the elements of `data` (`count` of them) as elements of `dt`: numbers straight to
/// their bytes, types of a fixed size (when `dt` is their own) through their field plan,
/// everything else through [`Value`] (variable-length parts go to the global
/// heap).
pub(crate) fn encode<'d, E: Elements + ?Sized>(
    cx: &mut WriteCtx<'_>,
    dt: &Datatype,
    data: &'d E,
    count: u64,
) -> Result<Cow<'d, [u8]>> {
    if let (Some(p), Some(s)) = (plain_for::<E::Elem>(dt), data.as_slice()) {
        if s.len() as u64 == count {
            // the caller's memory is the stored bytes: no staging copy
            return Ok(Cow::Borrowed((p.bytes)(s)));
        }
    }
    if let Some(num) = E::Elem::numeric().filter(|_| is_number(dt)) {
        let es = dt.size() as usize;
        let mut out = cx.f.data_buffer(count.saturating_mul(es as u64))?;
        let mut slots = out.chunks_exact_mut(es);
        data.each(&mut |v| {
            let slot = slots
                .next()
                .ok_or_else(|| Error::Shape("more elements than the data's shape".into()))?;
            encode_scalar(dt, (num.to_scalar)(v), slot)
        })?;
        return Ok(Cow::Owned(out));
    }
    if let Some(plan) = field_plan_for::<E::Elem>(dt).filter(|_| *dt == E::Elem::datatype()) {
        // a field plan made once: each element's parts straight into their bytes
        let es = dt.size() as usize;
        let mut out = cx.f.data_buffer(count.saturating_mul(es as u64))?;
        if let Some(s) = data.as_slice().filter(|s| s.len() as u64 == count) {
            par_encode(s, &mut out, es, |v, slot| {
                E::Elem::encode_fixed(&plan, v, slot)
            })?;
            return Ok(Cow::Owned(out));
        }
        let mut slots = out.chunks_exact_mut(es.max(1));
        data.each(&mut |v| {
            let slot = slots
                .next()
                .ok_or_else(|| Error::Shape("more elements than the data's shape".into()))?;
            E::Elem::encode_fixed(&plan, v, slot)
        })?;
        return Ok(Cow::Owned(out));
    }
    let mut values: Vec<Value> = cx.f.limits.vec_for(count as usize, "elements")?;
    data.each(&mut |v| {
        values.push(v.to_value());
        Ok(())
    })?;
    encode_values(cx, dt, &values, values.len()).map(Cow::Owned)
}

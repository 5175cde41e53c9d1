//! The page-initialised bitmaps of paged data blocks: bit `i` set = page `i` was written.

/// Whether bit `i` of a page-initialised bitmap is set. Bits are numbered from the most
/// significant bit of each byte (page 0 = `0x80` of byte 0), as libhdf5 writes them; the spec
/// text does not state the bit order. Bits beyond the bitmap read as clear.
pub fn page_initialised(bitmap: &[u8], i: u64) -> bool {
    let Ok(byte) = usize::try_from(i / 8) else {
        return false;
    };
    bitmap
        .get(byte)
        .is_some_and(|b| b & (0x80u8 >> (i % 8)) != 0)
}

/// Set bit `i` of a page-initialised bitmap (MSB-first, see [`page_initialised`]); bits beyond
/// the bitmap are ignored.
pub(crate) fn set_page_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = usize::try_from(i / 8).ok().and_then(|k| bitmap.get_mut(k)) {
        *b |= 0x80u8 >> (i % 8);
    }
}

/// The set bits among bits `first..first + count` of a page-initialised bitmap (MSB-first),
/// as offsets from `first`, in order. Zero bytes are skipped whole, so the work is bounded by
/// the bitmap's length, not by `count`.
pub(crate) fn set_bits(bitmap: &[u8], first: u64, count: u64) -> impl Iterator<Item = u64> + '_ {
    let end = first.saturating_add(count);
    let bytes = usize::try_from(first / 8).unwrap_or(usize::MAX)
        ..usize::try_from(end.div_ceil(8)).unwrap_or(usize::MAX);
    let bytes = bytes.start.min(bitmap.len())..bytes.end.min(bitmap.len());
    bitmap[bytes.clone()]
        .iter()
        .zip(bytes)
        .filter(|(b, _)| **b != 0)
        .flat_map(move |(&b, k)| {
            (0..8u64)
                .filter(move |bit| b & (0x80u8 >> bit) != 0)
                .map(move |bit| k as u64 * 8 + bit)
        })
        .filter(move |&bit| bit >= first && bit < end)
        .map(move |bit| bit - first)
}

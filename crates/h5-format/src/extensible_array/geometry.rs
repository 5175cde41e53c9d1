//! The sizing arithmetic of an extensible array (the spec gives layouts, not sizes; this is
//! libhdf5's): the [`Geometry`] of its super blocks and data blocks.

use alloc::vec::Vec;

use crate::reader::Sizes;

/// Signature, version, client ID and header address: the start of every block.
pub(super) fn block_start_size(sizes: Sizes) -> u64 {
    4 + 1 + 1 + sizes.offset as u64
}

/// Sizing of one super block (also of the super blocks whose data blocks the index block
/// holds directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuperBlockInfo {
    /// Number of data blocks: `2^(u/2)`.
    pub ndblks: u64,
    /// Elements per data block: `2^((u+1)/2) · data_blk_min_elmts`.
    pub dblk_nelmts: u64,
    /// First element index covered (counted after the index block's elements).
    pub start_idx: u64,
    /// Number of data blocks in all earlier super blocks.
    pub start_dblk: u64,
}

/// The block structure of an extensible array, derived from its creation parameters with
/// checked arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// One entry per super block (`nsblks` ≤ [`MAX_SUPER_BLOCKS`](super::MAX_SUPER_BLOCKS) entries).
    pub sblks: Vec<SuperBlockInfo>,
    /// Super blocks whose data blocks the index block addresses directly:
    /// `2 · log2(sup_blk_min_data_ptrs)`.
    pub iblock_nsblks: usize,
    /// Data block addresses in the index block: `2 · (sup_blk_min_data_ptrs - 1)`.
    pub ndblk_addrs: usize,
    /// Super block addresses in the index block: `nsblks - iblock_nsblks`.
    pub nsblk_addrs: usize,
    /// Width in bytes of the "block offset" field of super and data blocks:
    /// `ceil(max_nelmts_bits / 8)`.
    pub arr_off_size: usize,
    /// Elements in one data block page: `2^max_dblk_page_nelmts_bits` (saturating).
    pub dblk_page_nelmts: u64,
}

impl Geometry {
    /// Compute the geometry. `data_blk_min_elmts` and `sup_blk_min_data_ptrs` must be powers
    /// of two, `max_nelmts_bits` in `log2(data_blk_min_elmts)..=63`, and the index block's
    /// super blocks must not outnumber all super blocks.
    ///
    /// # Errors
    /// The name of the offending parameter.
    pub fn new(
        max_nelmts_bits: u8,
        data_blk_min_elmts: u8,
        sup_blk_min_data_ptrs: u8,
        max_dblk_page_nelmts_bits: u8,
    ) -> core::result::Result<Self, &'static str> {
        if !data_blk_min_elmts.is_power_of_two() {
            return Err("data block minimum elements");
        }
        if !sup_blk_min_data_ptrs.is_power_of_two() {
            return Err("secondary block minimum data block pointers");
        }
        let bits = u32::from(max_nelmts_bits);
        let min_log2 = data_blk_min_elmts.trailing_zeros();
        if bits == 0 || bits > 63 || bits < min_log2 {
            return Err("maximum number of elements bits");
        }
        let nsblks = (1 + bits - min_log2) as usize;
        let iblock_nsblks = 2 * sup_blk_min_data_ptrs.trailing_zeros() as usize;
        if iblock_nsblks > nsblks {
            return Err("secondary block minimum data block pointers");
        }
        let m = u64::from(data_blk_min_elmts);
        let mut sblks = Vec::with_capacity(nsblks);
        let (mut start_idx, mut start_dblk) = (0u64, 0u64);
        for u in 0..nsblks as u32 {
            // u ≤ 63 and m ≤ 128: every value fits (all super blocks together cover
            // 2^(bits+1) - m ≤ 2^64 - 1 elements); checked all the same.
            let ndblks = 1u64 << (u / 2);
            let dblk_nelmts = (1u64 << u.div_ceil(2))
                .checked_mul(m)
                .ok_or("maximum number of elements bits")?;
            sblks.push(SuperBlockInfo {
                ndblks,
                dblk_nelmts,
                start_idx,
                start_dblk,
            });
            let covered = ndblks
                .checked_mul(dblk_nelmts)
                .ok_or("maximum number of elements bits")?;
            start_idx = start_idx
                .checked_add(covered)
                .ok_or("maximum number of elements bits")?;
            start_dblk = start_dblk
                .checked_add(ndblks)
                .ok_or("maximum number of elements bits")?;
        }
        Ok(Geometry {
            sblks,
            iblock_nsblks,
            ndblk_addrs: 2 * (usize::from(sup_blk_min_data_ptrs) - 1),
            nsblk_addrs: nsblks - iblock_nsblks,
            arr_off_size: max_nelmts_bits.div_ceil(8) as usize,
            dblk_page_nelmts: 1u64
                .checked_shl(max_dblk_page_nelmts_bits.into())
                .unwrap_or(u64::MAX),
        })
    }

    /// Number of super blocks.
    pub fn nsblks(&self) -> usize {
        self.sblks.len()
    }

    /// Number of elements the super blocks can hold (excluding the index block's elements).
    pub fn capacity(&self) -> u64 {
        self.sblks.last().map_or(0, |s| {
            s.start_idx
                .saturating_add(s.ndblks.saturating_mul(s.dblk_nelmts))
        })
    }

    /// Whether the data blocks of super block `sblk` are paged (hold more elements than one
    /// page). False for an out-of-range `sblk`.
    pub fn is_paged(&self, sblk: usize) -> bool {
        self.sblks
            .get(sblk)
            .is_some_and(|s| s.dblk_nelmts > self.dblk_page_nelmts)
    }

    /// Pages per data block of super block `sblk` (0 when not paged). Both sizes are powers of
    /// two, so pages are always full.
    pub fn dblk_npages(&self, sblk: usize) -> u64 {
        if self.is_paged(sblk) {
            self.sblks[sblk]
                .dblk_nelmts
                .checked_div(self.dblk_page_nelmts)
                .unwrap_or(0)
        } else {
            0
        }
    }

    /// Bytes of page-initialised bitmap per data block in super block `sblk`:
    /// `ceil(dblk_npages / 8)`.
    pub fn dblk_page_init_size(&self, sblk: usize) -> u64 {
        self.dblk_npages(sblk).div_ceil(8)
    }
}

//! The editing model of a fractal heap: [`HeapEdit`].

mod huge;
mod load;
mod objects;
mod space;
mod store;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use crate::btree2::TreeEdit;
use crate::error::{Error, Result};
use crate::reader::Sizes;

use super::*;

/// Largest direct block [`HeapEdit`] keeps in memory (64 MiB; libhdf5 writes 64 KiB blocks
/// at most by default and refuses more than 2 GiB).
pub const MAX_EDIT_DIRECT_BLOCK_SIZE: u64 = 1 << 26;

/// Encoded size of a free-space manager header (`FSHD`): signature, version, client ID,
/// four lengths, four u16 fields, a length, an address, two lengths, the checksum.
fn fshd_size(sizes: Sizes) -> usize {
    18 + 7 * usize::from(sizes.length) + usize::from(sizes.offset)
}

/// The parameters a fractal heap is created with.
///
/// [`HeapParams::dense_links`] and [`HeapParams::dense_attributes`] are what libhdf5 2.0
/// writes (measured in h5py files, every libver from v108 to latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapParams {
    /// Columns of the doubling table (a power of two).
    pub table_width: u16,
    /// Size of the blocks in rows 0 and 1 (a power of two).
    pub start_block_size: u64,
    /// Largest direct block (a power of two, at least `start_block_size`).
    pub max_direct_block_size: u64,
    /// log2 of the size of the heap address space.
    pub max_heap_size_bits: u16,
    /// Rows a new root indirect block starts with (0: every row the heap can have).
    pub start_root_rows: u16,
    /// Objects larger than this are "huge" (stored outside the managed blocks).
    pub max_managed_object_size: u32,
    /// Length of every heap ID in bytes.
    pub id_len: u16,
    /// Whether direct blocks carry a checksum (header flag bit 1).
    pub checksum_direct_blocks: bool,
}

impl HeapParams {
    /// The heap of a dense group's links (libhdf5 `H5G` dense storage): 7-byte IDs, table
    /// width 4, 512-byte starting blocks, 64 KiB direct blocks at most, a 2^32-byte heap,
    /// one starting root row, objects up to 4096 bytes managed, checksummed direct blocks.
    pub fn dense_links() -> Self {
        HeapParams {
            table_width: 4,
            start_block_size: 512,
            max_direct_block_size: 65536,
            max_heap_size_bits: 32,
            start_root_rows: 1,
            max_managed_object_size: 4096,
            id_len: 7,
            checksum_direct_blocks: true,
        }
    }

    /// The heap of dense attribute storage (libhdf5 `H5A` dense storage): 8-byte IDs, table
    /// width 4, 1024-byte starting blocks, 64 KiB direct blocks at most, a 2^40-byte heap,
    /// one starting root row, objects up to 4096 bytes managed, checksummed direct blocks.
    pub fn dense_attributes() -> Self {
        HeapParams {
            table_width: 4,
            start_block_size: 1024,
            max_direct_block_size: 65536,
            max_heap_size_bits: 40,
            start_root_rows: 1,
            max_managed_object_size: 4096,
            id_len: 8,
            checksum_direct_blocks: true,
        }
    }
}

/// A direct block held by [`HeapEdit`]: the whole block (prefix rewritten on store).
#[derive(Debug, Clone)]
struct DBlock {
    addr: Option<u64>,
    data: Vec<u8>,
    dirty: bool,
}

/// An indirect block held by [`HeapEdit`]; its entries are derived from the blocks present.
#[derive(Debug, Clone)]
struct IBlock {
    addr: Option<u64>,
    nrows: u16,
    dirty: bool,
}

/// An editable fractal heap: insert, read, overwrite and remove objects, then
/// [`HeapEdit::store`] what changed.
///
/// Objects are placed as libhdf5 places them, so a heap built here from the same objects in
/// the same order is byte for byte the heap libhdf5 builds (free-space manager aside), and
/// libhdf5 can go on adding to it:
///
/// * objects larger than [`Header::max_managed_obj_size`] are *huge*: each gets file space of
///   its own and the next huge object ID (1, 2, … — IDs are not reused while the heap has
///   huge objects), recorded in the heap's v2 B-tree of huge objects (record type 1:
///   address, length, ID; [`btree2::DENSE_NODE_SIZE`](crate::btree2::DENSE_NODE_SIZE)-byte nodes, created with the first
///   huge object and deleted, the ID counter reset, when the last one goes); the other
///   objects no longer than the ID allows are *tiny* (stored in the ID); the rest are
///   *managed*, stored in direct blocks;
/// * a managed object goes into the smallest free section that holds it (lowest heap offset
///   on ties) — the free space left at the end of a direct block, the space of removed
///   objects (merged with its neighbours), or a row of direct blocks the allocation iterator
///   skipped (from a run of skipped blocks libhdf5 allocates the first block of the run's
///   first row, the last block of its last row, or the first block of a row in between,
///   splitting the run);
/// * when none holds it, a new direct block of at least `object + prefix` bytes (rounded up
///   to a power of two, at least the starting size) is allocated at the allocation iterator,
///   which walks the doubling table in heap-offset order; smaller blocks it passes over are
///   left unallocated and become free sections;
/// * the first block is a root direct block when the first object fits a starting-size
///   block; otherwise, or when the root direct block is full, a root indirect block takes
///   over (the old root becoming its entry 0) with `max(start rows, rows needed)` rows;
///   when the iterator runs off its last row the root grows to `max(2 · rows, rows
///   needed)` rows, and child indirect blocks appear as the iterator enters their rows.
///
/// The header statistics follow libhdf5: *free space* counts every direct block of the
/// managed space (allocated or not) less the managed objects; *managed space* is the span of
/// the root's rows (the root direct block's size for a direct root); the iterator offset is
/// 0 while the root is a direct block.
///
/// The heap is stored without a free-space manager (its address undefined; the manager of a
/// loaded heap is dropped, and its blocks freed, on the first managed change). libhdf5 then
/// starts an empty manager: it leaves the free space of existing blocks alone and puts new
/// objects in new blocks, while space it frees itself is reused.
///
/// Huge objects are kept in memory: those inserted in this session, and those of a loaded
/// heap, which [`HeapEdit::load`] reads with the rest of the heap (so that
/// [`HeapEdit::get`] needs no I/O). Huge objects of heaps whose IDs hold the address and
/// length themselves (IDs of at least 1 + offset size + length size bytes, never the case
/// for dense links and attributes) are not supported: such a heap loads, but its huge
/// objects and their B-tree are left as they are and cannot be read, added or removed.
#[derive(Debug, Clone)]
pub struct HeapEdit {
    hdr: Header,
    /// Whether `hdr.addr` is allocated.
    placed: bool,
    header_dirty: bool,
    /// Direct blocks by heap offset.
    direct: BTreeMap<u64, DBlock>,
    /// Indirect blocks by heap offset (the root at 0).
    indirect: BTreeMap<u64, IBlock>,
    /// Every free section as (size, heap offset): the best-fit index.
    fit: BTreeSet<(u64, u64)>,
    /// Free space inside allocated direct blocks: heap offset → size.
    singles: BTreeMap<u64, u64>,
    /// Runs of unallocated direct blocks the iterator skipped, by run number.
    runs: BTreeMap<u64, Run>,
    /// The free sections of the runs, one per row: heap offset → (run, row).
    parts: BTreeMap<u64, (u64, u16)>,
    next_run: u64,
    /// Extents of a loaded heap's free-space manager (header and section list).
    fsm: Vec<(u64, u64)>,
    /// Extents retired since the last store.
    freed: Vec<(u64, u64)>,
    /// Huge objects by huge object ID (the key in their heap IDs).
    huge: BTreeMap<u64, HugeObject>,
    /// The v2 B-tree of huge objects (record type 1), once loaded or created.
    huge_tree: Option<TreeEdit>,
}

/// A huge object held by [`HeapEdit`].
#[derive(Debug, Clone)]
struct HugeObject {
    /// Where the object is in the file (`None`: not stored yet).
    addr: Option<u64>,
    data: Vec<u8>,
    /// The bytes must be written at the next store.
    dirty: bool,
}

/// Direct-block entries `[start, end)` of the indirect block at heap offset `base` that the
/// allocation iterator skipped (libhdf5's "indirect section"); each row of it is one free
/// section, of that row's block size less the block prefix.
#[derive(Debug, Clone, Copy)]
struct Run {
    base: u64,
    start: usize,
    end: usize,
}

fn sat_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

impl HeapEdit {
    /// A new, empty heap with these parameters for a file with these `sizes`.
    ///
    /// # Errors
    /// `Invalid` when the parameters make no valid heap (the rules of [`Header::decode`]),
    /// when the ID length cannot hold a managed object's offset and length, when a starting
    /// block has no room for objects, or when the largest managed object does not fit the
    /// largest direct block; `Limit` for direct blocks beyond
    /// [`MAX_EDIT_DIRECT_BLOCK_SIZE`].
    pub fn new(params: HeapParams, sizes: Sizes) -> Result<Self> {
        let flags = if params.checksum_direct_blocks {
            FLAG_CHECKSUMMED_DIRECT_BLOCKS
        } else {
            0
        };
        let hdr = Header {
            addr: 0,
            sizes,
            heap_id_len: params.id_len,
            io_filters_len: 0,
            flags,
            max_managed_obj_size: params.max_managed_object_size,
            next_huge_id: 0,
            huge_btree_addr: None,
            free_space: 0,
            fsm_addr: None,
            managed_space: 0,
            allocated_managed_space: 0,
            alloc_iter_offset: 0,
            managed_count: 0,
            huge_size: 0,
            huge_count: 0,
            tiny_size: 0,
            tiny_count: 0,
            table_width: params.table_width,
            start_block_size: params.start_block_size,
            max_direct_block_size: params.max_direct_block_size,
            max_heap_bits: params.max_heap_size_bits,
            start_root_rows: params.start_root_rows,
            root_addr: None,
            current_root_rows: 0,
            filtered_root_size: None,
            root_filter_mask: None,
            filter_pipeline: Vec::new(),
        };
        // The decoder's checks are the rules of a valid table.
        let hdr = Header::decode(&hdr.encode(), 0, sizes)?;
        let ed = HeapEdit::with_header(hdr)?;
        let h = &ed.hdr;
        if usize::from(h.heap_id_len) < 1 + h.heap_off_size() + h.heap_len_size() {
            return Err(h.error("heap ID length (too short for a managed object)"));
        }
        if h.start_block_size <= ed.overhead() {
            return Err(h.error("starting block size (no room for objects)"));
        }
        if h.max_managed_obj_size == 0 || u64::from(h.max_managed_obj_size) > ed.managed_limit() {
            return Err(h.error("maximum size of managed objects (beyond a direct block)"));
        }
        Ok(ed)
    }

    fn with_header(hdr: Header) -> Result<Self> {
        if hdr.max_direct_block_size > MAX_EDIT_DIRECT_BLOCK_SIZE {
            return Err(Error::limit(
                HEADER,
                hdr.addr,
                "maximum direct block size",
                hdr.max_direct_block_size,
                MAX_EDIT_DIRECT_BLOCK_SIZE,
            ));
        }
        // Heap offsets plus sizes then always fit a u64.
        if hdr.max_heap_bits > 63 {
            return Err(Error::limit(
                HEADER,
                hdr.addr,
                "maximum heap size (bits)",
                u64::from(hdr.max_heap_bits),
                63,
            ));
        }
        Ok(HeapEdit {
            hdr,
            placed: false,
            header_dirty: true,
            direct: BTreeMap::new(),
            indirect: BTreeMap::new(),
            fit: BTreeSet::new(),
            singles: BTreeMap::new(),
            runs: BTreeMap::new(),
            parts: BTreeMap::new(),
            next_run: 0,
            fsm: Vec::new(),
            freed: Vec::new(),
            huge: BTreeMap::new(),
            huge_tree: None,
        })
    }

    /// The header as it stands (statistics up to date; addresses as of the last store).
    pub fn header(&self) -> &Header {
        &self.hdr
    }

    /// File address of the header, once loaded or stored.
    pub fn addr(&self) -> Option<u64> {
        self.placed.then_some(self.hdr.addr)
    }

    /// Number of objects in the heap: managed, tiny and huge.
    pub fn len(&self) -> u64 {
        self.hdr
            .managed_count
            .saturating_add(self.hdr.tiny_count)
            .saturating_add(self.hdr.huge_count)
    }

    /// Whether the heap holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn err(&self, what: &'static str) -> Error {
        Error::invalid(HEADER, self.hdr.addr, what)
    }

    fn full(&self) -> Error {
        Error::limit(
            HEADER,
            self.hdr.addr,
            "fractal heap size (bits)",
            u64::from(self.hdr.max_heap_bits) + 1,
            u64::from(self.hdr.max_heap_bits),
        )
    }

    fn huge_unsupported(&self) -> Error {
        Error::unsupported(
            HEADER,
            self.hdr.addr,
            "directly accessed huge fractal heap objects",
        )
    }
}

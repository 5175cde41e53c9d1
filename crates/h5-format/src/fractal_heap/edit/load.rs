//! Loading a heap from a file into the model.

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Reader, Sizes};

use super::*;

impl HeapEdit {
    /// Load the heap whose header is at `addr`: the header, every indirect and direct block
    /// (checksums verified, each block checked to belong to the heap at its offset), the
    /// extents of its free-space manager header and section list, and the v2 B-tree of huge
    /// objects with every huge object's bytes. `read(address, length)` returns the bytes
    /// there; it should fail rather than allocate when the range lies beyond the end of the
    /// file.
    ///
    /// Huge objects are read whole (they must not overlap, so together they are no larger
    /// than the file); the B-tree must be of record type 1, hold as many records and bytes
    /// as the header counts, in strictly increasing ID order, with IDs from 1 up to
    /// [`Header::next_huge_id`] (any ID the heap IDs can hold once the counter wrapped).
    ///
    /// After loading, the unallocated direct blocks the allocation iterator skipped are free
    /// space again; the free space left inside allocated blocks is unknown until
    /// [`HeapEdit::track_free_space`] is given the live IDs (until then new objects go into
    /// new blocks, as libhdf5 does without a free-space manager).
    ///
    /// # Errors
    /// Whatever `read` returns; `Truncated`, `BadSignature`, `VersionNotAccepted`, `BadChecksum` or
    /// `Invalid` from the decoders (the heap's and the B-tree's); `Cycle` when a block
    /// address repeats; `Limit` when the heap has more than `max_blocks` blocks or huge-object
    /// B-tree nodes, or direct blocks beyond [`MAX_EDIT_DIRECT_BLOCK_SIZE`]; `Invalid` for a
    /// huge-object B-tree or huge objects unlike the above; `Unsupported` for heaps with I/O
    /// filters.
    pub fn load<E: From<Error>>(
        addr: u64,
        sizes: Sizes,
        max_blocks: usize,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<Self, E> {
        let o = usize::from(sizes.offset);
        let l = usize::from(sizes.length);
        let fixed = 14 + 12 * l + 3 * o + 2 + 2 + 2 + 2 + 4;
        let buf = read(addr, fixed)?;
        if buf.get(..4) == Some(b"FRHP") && buf.get(7..9).is_some_and(|b| b != [0, 0]) {
            return Err(Error::unsupported(
                HEADER,
                addr.saturating_add(7),
                "fractal heaps with I/O filters",
            )
            .into());
        }
        let hdr = Header::decode(&buf, addr, sizes)?;
        let mut ed = HeapEdit::with_header(hdr)?;
        ed.placed = true;
        ed.header_dirty = false;
        ed.load_huge(max_blocks, read)?;

        let mut seen = BTreeSet::new();
        seen.insert(addr);
        let mut count = 0usize;
        let mut visit = |a: u64, structure: &'static str| -> Result<()> {
            if !seen.insert(a) {
                return Err(Error::new(structure, a, ErrorKind::Cycle));
            }
            count += 1;
            if count > max_blocks {
                return Err(Error::limit(
                    structure,
                    a,
                    "fractal heap blocks",
                    count as u64,
                    max_blocks as u64,
                ));
            }
            Ok(())
        };

        if let Some(fa) = ed.hdr.fsm_addr {
            visit(fa, FSM)?;
            let size = fshd_size(sizes);
            let buf = read(fa, size)?;
            let mut r = Reader::new(&buf, fa, sizes, FSM);
            r.prologue(b"FSHD", &[0])?;
            if r.u8()? != 0 {
                return Err(Error::invalid(
                    FSM,
                    fa.saturating_add(5),
                    "client ID (not a fractal heap)",
                )
                .into());
            }
            r.skip(5 * l + 8)?;
            let list = r.offset()?;
            let _used = r.length()?;
            let allocated = r.length()?;
            r.checksum(0)?;
            ed.fsm.push((fa, size as u64));
            if let Some(list) = list {
                if allocated > 0 && allocated != u64::MAX {
                    ed.fsm.push((list, allocated));
                }
            }
        }

        let Some(root) = ed.hdr.root_addr else {
            if ed.hdr.current_root_rows != 0 {
                return Err(ed
                    .err("current # of rows in root indirect block (no root)")
                    .into());
            }
            return Ok(ed);
        };
        let rows = ed.hdr.current_root_rows;
        if rows == 0 {
            visit(root, DIRECT)?;
            let start = ed.hdr.start_block_size;
            ed.load_direct(read, root, 0, start)?;
            return Ok(ed);
        }
        // Unallocated direct entries: free again if the iterator is past them.
        let mut holes: Vec<(u64, usize, u64, u64)> = Vec::new();
        let mut stack = vec![(root, 0u64, rows)];
        let width = usize::from(ed.hdr.table_width);
        let max_direct = ed.hdr.max_direct_rows();
        while let Some((a, base, nrows)) = stack.pop() {
            visit(a, INDIRECT)?;
            let size = ed.hdr.indirect_block_size(nrows)?;
            let len = usize::try_from(size)
                .map_err(|_| Error::limit(INDIRECT, a, "indirect block size", size, 0))?;
            let buf = read(a, len)?;
            let ib = IndirectBlock::decode(&buf, a, sizes, &ed.hdr, nrows)?;
            if ib.block_offset != base {
                let at = a.saturating_add(5 + u64::from(sizes.offset));
                return Err(Error::invalid(INDIRECT, at, "block offset").into());
            }
            let mut blocks = Vec::with_capacity(ib.direct.len());
            for (i, e) in ib.direct.iter().enumerate() {
                let (row, col) = ((i / width) as u16, (i % width) as u64);
                let (off, size) = ed.entry_offset(a, base, row, col)?;
                blocks.push((e.addr, i, off, size));
            }
            for (j, child) in ib.indirect.iter().enumerate() {
                if let Some(ca) = child {
                    let row = max_direct + (j / width) as u16;
                    let (off, _) = ed.entry_offset(a, base, row, (j % width) as u64)?;
                    stack.push((*ca, off, ed.hdr.child_indirect_rows(row)?));
                }
            }
            for (da, entry, off, size) in blocks {
                match da {
                    Some(da) => {
                        visit(da, DIRECT)?;
                        ed.load_direct(read, da, off, size)?;
                    }
                    None => holes.push((base, entry, off, size)),
                }
            }
            ed.indirect.insert(
                base,
                IBlock {
                    addr: Some(a),
                    nrows,
                    dirty: false,
                },
            );
        }
        // The iterator sits after the last allocated block; keep the header's value when it
        // is a block boundary at or after that.
        let end = ed
            .direct
            .iter()
            .map(|(&off, b)| off + b.data.len() as u64)
            .max()
            .unwrap_or(0);
        let it = ed.hdr.alloc_iter_offset;
        let span = ed.span(rows);
        let aligned = u128::from(it) == span
            || (u128::from(it) < span && ed.slot_in(rows, it).is_ok_and(|(o, _)| o == it));
        if !(aligned && it >= end) {
            ed.hdr.alloc_iter_offset = end;
        }
        let it = ed.hdr.alloc_iter_offset;
        let mut run = None;
        for (base, entry, off, size) in holes {
            run = if off.saturating_add(size) <= it {
                ed.skip_entry(base, entry, run)
            } else {
                None
            };
        }
        Ok(ed)
    }

    /// Heap offset and size of the entry at `row`, `col` of the indirect block at `at`
    /// starting at heap offset `base`.
    pub(super) fn entry_offset(
        &self,
        at: u64,
        base: u64,
        row: u16,
        col: u64,
    ) -> Result<(u64, u64)> {
        let h = &self.hdr;
        let bad = || Error::invalid(INDIRECT, at, "block offset (overflow)");
        let size = h.row_block_size(row).ok_or_else(bad)?;
        let off = h
            .row_block_offset(row)
            .and_then(|o| o.checked_add(size.checked_mul(col)?))
            .and_then(|o| o.checked_add(base))
            .ok_or_else(bad)?;
        Ok((off, size))
    }

    pub(super) fn load_direct<E: From<Error>>(
        &mut self,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
        addr: u64,
        off: u64,
        size: u64,
    ) -> core::result::Result<(), E> {
        let len = usize::try_from(size)
            .map_err(|_| Error::limit(DIRECT, addr, "direct block size", size, 0))?;
        let mut buf = read(addr, len)?;
        if buf.len() < len {
            let end = addr.saturating_add(buf.len() as u64);
            return Err(Error::new(DIRECT, end, ErrorKind::Truncated).into());
        }
        buf.truncate(len);
        check_direct_block(&buf, addr, self.hdr.sizes, &self.hdr, off)?;
        self.direct.insert(
            off,
            DBlock {
                addr: Some(addr),
                data: buf,
                dirty: false,
            },
        );
        Ok(())
    }
}

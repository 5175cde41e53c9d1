//! Where libhdf5 puts managed objects: the doubling table's rows and slots, free-space runs,
//! growing the root and allocating blocks.

use alloc::collections::btree_map;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};

use super::*;

impl HeapEdit {
    /// Bytes of a direct block before its objects.
    pub(super) fn overhead(&self) -> u64 {
        self.hdr.direct_block_header_size() as u64
    }

    /// The largest direct block the table has.
    pub(super) fn largest_block(&self) -> u64 {
        let h = &self.hdr;
        let rows = h.max_direct_rows().min(h.max_root_rows());
        h.row_block_size(rows.saturating_sub(1)).unwrap_or(0)
    }

    /// The largest object stored in the managed blocks.
    pub(super) fn managed_limit(&self) -> u64 {
        u64::from(self.hdr.max_managed_obj_size)
            .min(self.largest_block().saturating_sub(self.overhead()))
    }

    /// The largest tiny object: the ID less its one (normal form, up to 16 bytes) or two
    /// (extended form, IDs longer than 18 bytes) leading bytes.
    pub(super) fn tiny_limit(&self) -> u64 {
        let n = u64::from(self.hdr.heap_id_len);
        if n <= TINY_NORMAL_MAX_ID_LEN as u64 {
            n.saturating_sub(1).min(16)
        } else {
            (n - 2).min(4096)
        }
    }

    /// Heap bytes spanned by the first `rows` rows of the root.
    pub(super) fn span(&self, rows: u16) -> u128 {
        if rows == 0 {
            return 0;
        }
        let h = &self.hdr;
        let off = h.row_block_offset(rows - 1).unwrap_or(0);
        let size = h.row_block_size(rows - 1).unwrap_or(0);
        u128::from(off) + u128::from(size) * u128::from(h.table_width)
    }

    /// Object bytes (direct block sizes less their prefixes) in each row of an indirect
    /// block, child indirect blocks included.
    pub(super) fn row_payloads(&self) -> Vec<u128> {
        let h = &self.hdr;
        let width = u128::from(h.table_width);
        let ovh = u128::from(self.overhead());
        let mut v: Vec<u128> = Vec::new();
        for r in 0..h.max_root_rows() {
            let p = if r < h.max_direct_rows() {
                width * u128::from(h.row_block_size(r).unwrap_or(0)).saturating_sub(ovh)
            } else {
                match h.child_indirect_rows(r) {
                    Ok(c) => width * v.iter().take(usize::from(c)).sum::<u128>(),
                    Err(_) => 0,
                }
            };
            v.push(p);
        }
        v
    }

    pub(super) fn add_free(&mut self, bytes: u128) {
        self.hdr.free_space = sat_u64(u128::from(self.hdr.free_space) + bytes);
    }

    /// The direct block slot holding heap offset `x` in a root of `nrows` rows: the heap
    /// offset of the indirect block holding it, its entry there, its heap offset and size.
    pub(super) fn slot_path(&self, nrows: u16, x: u64) -> Result<(u64, usize, u64, u64)> {
        let (mut base, mut rows) = (0u64, nrows);
        for _ in 0..=64 {
            match locate(&self.hdr, base, rows, x)? {
                Slot::Direct {
                    entry,
                    block_offset,
                    block_size,
                } => return Ok((base, entry, block_offset, block_size)),
                Slot::Indirect {
                    block_offset,
                    nrows,
                    ..
                } => (base, rows) = (block_offset, nrows),
            }
        }
        Err(self.err("doubling table depth"))
    }

    /// Heap offset and size of the direct block slot holding heap offset `x`.
    pub(super) fn slot_in(&self, nrows: u16, x: u64) -> Result<(u64, u64)> {
        self.slot_path(nrows, x)
            .map(|(_, _, off, size)| (off, size))
    }

    /// Heap offset and size of direct-block entry `entry` of the indirect block at `base`.
    pub(super) fn entry_slot(&self, base: u64, entry: usize) -> Option<(u64, u64)> {
        let h = &self.hdr;
        let w = usize::from(h.table_width);
        let row = u16::try_from(entry / w).ok()?;
        let size = h.row_block_size(row)?;
        let off = h
            .row_block_offset(row)?
            .checked_add(size.checked_mul((entry % w) as u64)?)?
            .checked_add(base)?;
        Some((off, size))
    }

    /// The root row holding heap offset `x`.
    pub(super) fn root_row(&self, x: u64) -> u16 {
        let first = self.hdr.first_row_bits();
        match x.checked_shr(first) {
            Some(0) | None => 0,
            Some(_) => (63 - x.leading_zeros() - first + 1) as u16,
        }
    }

    /// The rows a root needs so that the first direct block of at least `min` bytes at or
    /// after heap offset `from` is inside it.
    pub(super) fn rows_to_reach(&self, from: u64, min: u64) -> Result<u16> {
        let max = self.hdr.max_root_rows();
        let end = self.span(max);
        let mut x = from;
        loop {
            if u128::from(x) >= end {
                return Err(self.full());
            }
            let (off, size) = self.slot_in(max, x)?;
            if size >= min {
                return Ok(self.root_row(off) + 1);
            }
            x = off.checked_add(size).ok_or_else(|| self.full())?;
        }
    }

    /// Rows of a new root indirect block that must reach a block of `min` bytes from `from`.
    pub(super) fn initial_rows(&self, from: u64, min: u64) -> Result<u16> {
        let max = self.hdr.max_root_rows();
        if self.hdr.start_root_rows == 0 {
            return Ok(max);
        }
        Ok(self
            .hdr
            .start_root_rows
            .max(self.rows_to_reach(from, min)?)
            .min(max))
    }

    pub(super) fn add_single(&mut self, start: u64, size: u64) {
        if size > 0 {
            self.singles.insert(start, size);
            self.fit.insert((size, start));
        }
    }

    pub(super) fn remove_single(&mut self, start: u64) -> Option<u64> {
        let size = self.singles.remove(&start)?;
        self.fit.remove(&(size, start));
        Some(size)
    }

    /// The free sections of a run: (size, heap offset of its first block, row) per row.
    pub(super) fn run_parts(&self, run: &Run) -> Vec<(u64, u64, u16)> {
        let w = usize::from(self.hdr.table_width);
        let mut v = Vec::new();
        if run.start >= run.end {
            return v;
        }
        for row in run.start / w..=(run.end - 1) / w {
            if let Some((off, size)) = self.entry_slot(run.base, run.start.max(row * w)) {
                let payload = size.saturating_sub(self.overhead());
                if payload > 0 {
                    v.push((payload, off, row as u16));
                }
            }
        }
        v
    }

    pub(super) fn add_run(&mut self, run: Run) -> Option<u64> {
        if run.start >= run.end {
            return None;
        }
        let id = self.next_run;
        self.next_run += 1;
        for (size, off, row) in self.run_parts(&run) {
            self.fit.insert((size, off));
            self.parts.insert(off, (id, row));
        }
        self.runs.insert(id, run);
        Some(id)
    }

    pub(super) fn remove_run(&mut self, id: u64) -> Option<Run> {
        let run = self.runs.remove(&id)?;
        for (size, off, _) in self.run_parts(&run) {
            self.fit.remove(&(size, off));
            self.parts.remove(&off);
        }
        Some(run)
    }

    /// The iterator skips entry `entry` of the indirect block at `base`: run `cur` grows
    /// when it ends right before, else a run starts. Returns the run.
    pub(super) fn skip_entry(&mut self, base: u64, entry: usize, cur: Option<u64>) -> Option<u64> {
        if let Some(r) = cur.and_then(|id| self.runs.get(&id)).copied() {
            if r.base == base && r.end == entry {
                cur.and_then(|id| self.remove_run(id));
                return self.add_run(Run {
                    end: entry + 1,
                    ..r
                });
            }
        }
        self.add_run(Run {
            base,
            start: entry,
            end: entry + 1,
        })
    }

    /// Take a block from row `row` of run `id` as libhdf5 does: the first block of the
    /// run's first row, the last block of its last row, or the first block of a row in
    /// between (which splits the run). Returns its heap offset and size.
    pub(super) fn take_from_run(&mut self, id: u64, row: u16) -> Result<(u64, u64)> {
        let run = self
            .remove_run(id)
            .ok_or_else(|| self.err("free section"))?;
        let w = usize::from(self.hdr.table_width);
        let row = usize::from(row);
        let entry = if row == run.start / w {
            self.add_run(Run {
                start: run.start + 1,
                ..run
            });
            run.start
        } else if row == (run.end - 1) / w {
            self.add_run(Run {
                end: run.end - 1,
                ..run
            });
            run.end - 1
        } else {
            let e = row * w;
            self.add_run(Run { end: e, ..run });
            self.add_run(Run {
                start: e + 1,
                ..run
            });
            e
        };
        self.entry_slot(run.base, entry)
            .ok_or_else(|| self.err("free section"))
    }

    /// The root indirect block takes over with `nrows` rows: from an empty heap, or with
    /// the root direct block as its entry 0.
    pub(super) fn make_root_indirect(&mut self, nrows: u16, from_direct: bool) {
        let mut extra: u128 = self.row_payloads().iter().take(usize::from(nrows)).sum();
        if from_direct {
            let root = u128::from(self.hdr.start_block_size.saturating_sub(self.overhead()));
            extra = extra.saturating_sub(root);
        }
        self.add_free(extra);
        self.hdr.managed_space = sat_u64(self.span(nrows));
        self.hdr.current_root_rows = nrows;
        self.hdr.alloc_iter_offset = if from_direct {
            self.hdr.start_block_size
        } else {
            0
        };
        self.indirect.insert(
            0,
            IBlock {
                addr: None,
                nrows,
                dirty: true,
            },
        );
    }

    /// The root indirect block grows to `new_rows` rows (a new block; the old one is freed).
    pub(super) fn grow_root(&mut self, new_rows: u16) -> Result<()> {
        let old = self.hdr.current_root_rows;
        let old_size = self.hdr.indirect_block_size(old)?;
        let extra: u128 = self
            .row_payloads()
            .iter()
            .take(usize::from(new_rows))
            .skip(usize::from(old))
            .sum();
        self.add_free(extra);
        self.hdr.managed_space = sat_u64(self.span(new_rows));
        self.hdr.current_root_rows = new_rows;
        let root = self.indirect.entry(0).or_insert(IBlock {
            addr: None,
            nrows: new_rows,
            dirty: true,
        });
        if let Some(a) = root.addr.take() {
            self.freed.push((a, old_size));
        }
        root.nrows = new_rows;
        root.dirty = true;
        Ok(())
    }

    /// Allocate the direct block at heap offset `off` (and the indirect blocks above it).
    pub(super) fn allocate_block(&mut self, off: u64, size: u64) -> Result<()> {
        let len = usize::try_from(size)
            .map_err(|_| Error::limit(DIRECT, self.hdr.addr, "direct block size", size, 0))?;
        if self.hdr.current_root_rows > 0 {
            let (mut base, mut rows) = (0u64, self.hdr.current_root_rows);
            for _ in 0..=64 {
                match locate(&self.hdr, base, rows, off)? {
                    Slot::Direct { .. } => break,
                    Slot::Indirect {
                        block_offset,
                        nrows,
                        ..
                    } => {
                        if let btree_map::Entry::Vacant(e) = self.indirect.entry(block_offset) {
                            e.insert(IBlock {
                                addr: None,
                                nrows,
                                dirty: true,
                            });
                            if let Some(p) = self.indirect.get_mut(&base) {
                                p.dirty = true;
                            }
                        }
                        (base, rows) = (block_offset, nrows);
                    }
                }
            }
            if let Some(p) = self.indirect.get_mut(&base) {
                p.dirty = true;
            }
        }
        self.direct.insert(
            off,
            DBlock {
                addr: None,
                data: vec![0; len],
                dirty: true,
            },
        );
        self.hdr.allocated_managed_space = self.hdr.allocated_managed_space.saturating_add(size);
        Ok(())
    }

    /// A new direct block of at least `min` bytes at the allocation iterator, growing the
    /// root as needed; smaller blocks passed over become free sections. Returns its offset.
    pub(super) fn alloc_at_iterator(&mut self, min: u64) -> Result<u64> {
        let mut run = None;
        loop {
            let rows = self.hdr.current_root_rows;
            let iter = self.hdr.alloc_iter_offset;
            if u128::from(iter) >= self.span(rows) {
                let max = self.hdr.max_root_rows();
                if rows >= max {
                    return Err(self.full());
                }
                let needed = self.rows_to_reach(iter, min)?;
                let doubled = rows.saturating_mul(2).min(max);
                self.grow_root(doubled.max(needed).min(max))?;
                continue;
            }
            let (base, entry, off, size) = self.slot_path(rows, iter)?;
            self.hdr.alloc_iter_offset = off.checked_add(size).ok_or_else(|| self.full())?;
            if size >= min {
                self.allocate_block(off, size)?;
                return Ok(off);
            }
            run = self.skip_entry(base, entry, run);
        }
    }

    /// Place `n` bytes: returns the heap offset of the object.
    pub(super) fn place(&mut self, n: u64) -> Result<u64> {
        let ovh = self.overhead();
        // Best fit among the free sections (smallest, then lowest offset).
        if let Some(&(size, start)) = self.fit.range((n, 0)..).next() {
            if self.remove_single(start).is_some() {
                self.add_single(start + n, size - n);
                return Ok(start);
            }
            let (run, row) = self
                .parts
                .get(&start)
                .copied()
                .ok_or_else(|| self.err("free section"))?;
            let (off, block) = self.take_from_run(run, row)?;
            self.allocate_block(off, block)?;
            self.add_single(off + ovh + n, block.saturating_sub(ovh + n));
            return Ok(off + ovh);
        }
        let start = self.hdr.start_block_size;
        let min = (n + ovh)
            .checked_next_power_of_two()
            .ok_or_else(|| self.full())?
            .max(start);
        let block = if self.hdr.current_root_rows > 0 {
            self.alloc_at_iterator(min)?
        } else if self.direct.is_empty() {
            if min == start {
                self.hdr.managed_space = start;
                self.add_free(u128::from(start.saturating_sub(ovh)));
                self.allocate_block(0, start)?;
                0
            } else {
                let rows = self.initial_rows(0, min)?;
                self.make_root_indirect(rows, false);
                self.alloc_at_iterator(min)?
            }
        } else {
            let rows = self.initial_rows(start, min)?;
            self.make_root_indirect(rows, true);
            self.alloc_at_iterator(min)?
        };
        let size = self.direct.get(&block).map_or(0, |b| b.data.len() as u64);
        self.add_single(block + ovh + n, size.saturating_sub(ovh + n));
        Ok(block + ovh)
    }

    /// The first managed change drops a loaded heap's free-space manager.
    pub(super) fn managed_changed(&mut self) {
        self.header_dirty = true;
        if self.hdr.fsm_addr.take().is_some() {
            self.freed.append(&mut self.fsm);
        }
    }
}

//! Inserting, reading, overwriting and removing objects.

use alloc::vec::Vec;
use core::ops::Range;

use crate::error::{Error, Result};

use super::*;

impl HeapEdit {
    /// The direct block holding `length` bytes at heap offset `offset`, and their range in it.
    pub(super) fn object_at(&self, offset: u64, length: u64) -> Result<(u64, Range<usize>)> {
        let Some((&boff, b)) = self.direct.range(..=offset).next_back() else {
            return Err(self.err("heap ID (object outside the allocated blocks)"));
        };
        let addr = b.addr.unwrap_or(self.hdr.addr);
        let range = object_range(&self.hdr, addr, boff, b.data.len() as u64, offset, length)?;
        Ok((boff, range))
    }

    pub(super) fn decode_id(&self, id: &[u8]) -> Result<HeapId> {
        HeapId::decode(id, &self.hdr, self.hdr.sizes, self.hdr.addr)
    }

    /// Insert an object; returns its heap ID ([`Header::heap_id_len`] bytes).
    ///
    /// Objects larger than [`Header::max_managed_obj_size`] are huge: the ID holds the next
    /// huge object ID (`0x10`, then the ID in the ID's other bytes, at most 8), and the
    /// object gets file space of its own at the next [`HeapEdit::store`]. Of the others,
    /// objects no longer than the ID allows (6 bytes for 7-byte IDs) become tiny objects
    /// inside the ID; the rest are managed, placed as described on [`HeapEdit`].
    ///
    /// # Errors
    /// `Invalid` for an empty object; `Limit` when the heap address space is full;
    /// `Unsupported` for huge objects of heaps whose huge object IDs hold addresses or
    /// whose huge object ID counter wrapped around (libhdf5 refuses those too).
    pub fn insert(&mut self, obj: &[u8]) -> Result<Vec<u8>> {
        let n = obj.len() as u64;
        let id_len = usize::from(self.hdr.heap_id_len);
        if n == 0 {
            return Err(self.err("heap object (empty)"));
        }
        if n > self.managed_limit() {
            return self.insert_huge(obj);
        }
        if n <= self.tiny_limit() {
            let mut id = Vec::with_capacity(id_len);
            let len = obj.len() - 1;
            if id_len > TINY_NORMAL_MAX_ID_LEN {
                id.push(0x20 | (len >> 8) as u8);
                id.push(len as u8);
            } else {
                id.push(0x20 | len as u8);
            }
            id.extend_from_slice(obj);
            id.resize(id_len, 0);
            self.hdr.tiny_count = self.hdr.tiny_count.saturating_add(1);
            self.hdr.tiny_size = self.hdr.tiny_size.saturating_add(n);
            self.header_dirty = true;
            return Ok(id);
        }
        if id_len < 1 + self.hdr.heap_off_size() + self.hdr.heap_len_size() {
            return Err(self.err("heap ID length (too short for a managed object)"));
        }
        let at = self.place(n)?;
        self.write_at(at, obj)?;
        self.hdr.managed_count = self.hdr.managed_count.saturating_add(1);
        self.hdr.free_space = self.hdr.free_space.saturating_sub(n);
        self.managed_changed();
        let mut id = Vec::with_capacity(id_len);
        id.push(0);
        id.extend_from_slice(&at.to_le_bytes()[..self.hdr.heap_off_size()]);
        id.extend_from_slice(&n.to_le_bytes()[..self.hdr.heap_len_size()]);
        id.resize(id_len, 0);
        Ok(id)
    }

    pub(super) fn write_at(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let (boff, range) = self.object_at(at, bytes.len() as u64)?;
        let b = self
            .direct
            .get_mut(&boff)
            .ok_or_else(|| Error::invalid(HEADER, at, "heap offset"))?;
        b.data[range].copy_from_slice(bytes);
        b.dirty = true;
        Ok(())
    }

    /// The object a heap ID names (huge objects from memory: see [`HeapEdit`]).
    ///
    /// # Errors
    /// `Invalid` for an ID this heap cannot have given out (see [`HeapId::decode`]), a
    /// managed object outside the allocated blocks or a huge object ID the heap does not
    /// hold; `Unsupported` for directly accessed huge objects.
    pub fn get(&self, id: &[u8]) -> Result<Vec<u8>> {
        match self.decode_id(id)? {
            HeapId::Tiny { range } => Ok(id[range].to_vec()),
            HeapId::Managed { offset, length } => {
                let (boff, range) = self.object_at(offset, length)?;
                Ok(self
                    .direct
                    .get(&boff)
                    .map_or(Vec::new(), |b| b.data[range].to_vec()))
            }
            other => {
                let key = self.huge_key(other)?;
                Ok(self.huge.get(&key).map_or(Vec::new(), |o| o.data.clone()))
            }
        }
    }

    /// Overwrite a managed or huge object with bytes of the same length (libhdf5 rewrites an
    /// attribute's value in place this way; a stored huge object is rewritten where it is).
    ///
    /// # Errors
    /// As [`HeapEdit::get`]; `Invalid` when the length differs; `Unsupported` for tiny
    /// objects (their bytes are the ID).
    pub fn overwrite(&mut self, id: &[u8], obj: &[u8]) -> Result<()> {
        match self.decode_id(id)? {
            HeapId::Managed { offset, length } => {
                if length != obj.len() as u64 {
                    return Err(self.err("heap object (overwritten with another length)"));
                }
                self.write_at(offset, obj)
            }
            HeapId::Tiny { .. } => Err(Error::unsupported(
                HEADER,
                self.hdr.addr,
                "overwriting tiny fractal heap objects",
            )),
            other => {
                let key = self.huge_key(other)?;
                let bad = self.err("heap object (overwritten with another length)");
                let o = self.huge.get_mut(&key).ok_or(bad.clone())?;
                if o.data.len() != obj.len() {
                    return Err(bad);
                }
                o.data.copy_from_slice(obj);
                o.dirty = true;
                Ok(())
            }
        }
    }

    /// Remove an object: a managed object's bytes are zeroed and become free space (merged
    /// with free neighbours, reused by later inserts); the statistics follow. Removing the
    /// last managed object empties the managed part of the heap (every block freed, the root
    /// address undefined), as libhdf5 does.
    ///
    /// Blocks that become empty otherwise stay allocated (libhdf5 would free them). Removing
    /// an object twice is detected within a session, and across sessions once
    /// [`HeapEdit::track_free_space`] was given the live IDs; the caller passes IDs of live
    /// objects (an ID naming part of an object is not detected).
    ///
    /// A huge object leaves the B-tree, and its file space goes to [`Stored::freed`](crate::writer::Stored::freed) at the
    /// next store (removing a huge object twice is always detected).
    ///
    /// # Errors
    /// As [`HeapEdit::get`]; `Invalid` when the object overlaps known free space.
    pub fn remove(&mut self, id: &[u8]) -> Result<()> {
        match self.decode_id(id)? {
            HeapId::Tiny { range } => {
                self.hdr.tiny_count = self.hdr.tiny_count.saturating_sub(1);
                self.hdr.tiny_size = self.hdr.tiny_size.saturating_sub(range.len() as u64);
                self.header_dirty = true;
                Ok(())
            }
            HeapId::Managed { offset, length } => {
                if length == 0 || self.hdr.managed_count == 0 {
                    return Err(self.err("heap ID (no such object)"));
                }
                let end = offset + length;
                let (boff, range) = self.object_at(offset, length)?;
                if let Some((&s, &n)) = self.singles.range(..end).next_back() {
                    if s + n > offset {
                        return Err(self.err("heap ID (object already removed)"));
                    }
                }
                if let Some(b) = self.direct.get_mut(&boff) {
                    b.data[range].fill(0);
                    b.dirty = true;
                }
                let mut start = offset;
                let mut size = length;
                if let Some((&s, &n)) = self.singles.range(..offset).next_back() {
                    if s + n == offset {
                        self.remove_single(s);
                        start = s;
                        size += n;
                    }
                }
                if let Some(n) = self.remove_single(end) {
                    size += n;
                }
                self.add_single(start, size);
                self.hdr.managed_count -= 1;
                self.hdr.free_space = self.hdr.free_space.saturating_add(length);
                self.managed_changed();
                if self.hdr.managed_count == 0 {
                    self.empty_managed()?;
                }
                Ok(())
            }
            other => {
                let key = self.huge_key(other)?;
                let sizes = self.hdr.sizes;
                let removed = match &mut self.huge_tree {
                    Some(t) => t.remove::<Error>(&mut Self::huge_cmp(sizes, key))?,
                    None => None,
                };
                if removed.is_none() {
                    return Err(Error::invalid(
                        HUGE_TREE,
                        self.hdr.huge_btree_addr.unwrap_or(self.hdr.addr),
                        "huge object ID (not in the B-tree)",
                    ));
                }
                if let Some(o) = self.huge.remove(&key) {
                    let n = o.data.len() as u64;
                    if let Some(a) = o.addr {
                        self.freed.push((a, n));
                    }
                    let h = &mut self.hdr;
                    h.huge_count = h.huge_count.saturating_sub(1);
                    h.huge_size = h.huge_size.saturating_sub(n);
                }
                self.header_dirty = true;
                Ok(())
            }
        }
    }

    /// Drop every managed block: the state of a heap with no managed object.
    pub(super) fn empty_managed(&mut self) -> Result<()> {
        for b in self.direct.values() {
            if let Some(a) = b.addr {
                self.freed.push((a, b.data.len() as u64));
            }
        }
        for ib in self.indirect.values() {
            if let Some(a) = ib.addr {
                self.freed
                    .push((a, self.hdr.indirect_block_size(ib.nrows)?));
            }
        }
        self.direct.clear();
        self.indirect.clear();
        self.fit.clear();
        self.singles.clear();
        self.runs.clear();
        self.parts.clear();
        let h = &mut self.hdr;
        h.free_space = 0;
        h.managed_space = 0;
        h.allocated_managed_space = 0;
        h.alloc_iter_offset = 0;
        h.current_root_rows = 0;
        h.root_addr = None;
        self.header_dirty = true;
        Ok(())
    }

    /// Learn the free space inside the allocated blocks of a loaded heap from the IDs of
    /// every live object (the records of the index over the heap): the gaps between them
    /// become free sections that later inserts fill, best fit first, as libhdf5 fills the
    /// sections of its free-space manager. Tiny and huge IDs are ignored.
    ///
    /// # Errors
    /// `Invalid` when the managed IDs are not as many as [`Header::managed_count`], lie
    /// outside the allocated blocks, or overlap.
    pub fn track_free_space<'a>(&mut self, live: impl IntoIterator<Item = &'a [u8]>) -> Result<()> {
        let mut objs = Vec::new();
        for id in live {
            if let HeapId::Managed { offset, length } = self.decode_id(id)? {
                objs.push((offset, length));
            }
        }
        if objs.len() as u64 != self.hdr.managed_count {
            return Err(self.err("live heap IDs (not as many as the managed objects)"));
        }
        objs.sort_unstable();
        let ovh = self.overhead();
        let bad = || self.err("live heap IDs (overlapping, or outside the allocated blocks)");
        let mut gaps = Vec::new();
        let mut it = objs.iter().peekable();
        for (&boff, b) in &self.direct {
            let end = boff + b.data.len() as u64;
            let mut cursor = boff + ovh;
            while let Some(&&(o, n)) = it.peek() {
                if o >= end {
                    break;
                }
                if o < cursor {
                    return Err(bad());
                }
                gaps.push((cursor, o - cursor));
                cursor = o.checked_add(n).filter(|&c| c <= end).ok_or_else(bad)?;
                it.next();
            }
            gaps.push((cursor, end - cursor));
        }
        if it.next().is_some() {
            return Err(bad());
        }
        for (start, size) in core::mem::take(&mut self.singles) {
            self.fit.remove(&(size, start));
        }
        for (start, size) in gaps {
            self.add_single(start, size);
        }
        Ok(())
    }
}

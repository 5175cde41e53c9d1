//! Huge objects: stored on their own, outside the heap's blocks, found through their IDs or
//! the heap's v2 B-tree of huge objects.

use alloc::vec::Vec;

use crate::btree2::{self, TreeEdit};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{le_uint, Sizes};
use crate::writer::{Stored, Writer};

use super::*;

impl HeapEdit {
    /// Load the huge-object B-tree and every huge object (see [`HeapEdit::load`]).
    pub(super) fn load_huge<E: From<Error>>(
        &mut self,
        max_nodes: usize,
        read: &mut dyn FnMut(u64, usize) -> core::result::Result<Vec<u8>, E>,
    ) -> core::result::Result<(), E> {
        let h = &self.hdr;
        let Some(bt) = h.huge_btree_addr else {
            if h.huge_count != 0 || h.huge_size != 0 {
                return Err(self
                    .err("huge objects (without a huge object B-tree)")
                    .into());
            }
            return Ok(());
        };
        if self.huge_direct() {
            // Left as they are (see `HeapEdit`).
            return Ok(());
        }
        let sizes = h.sizes;
        let tree = TreeEdit::load(bt, sizes, max_nodes, read)?;
        let bad = |what: &'static str| Error::invalid(HUGE_TREE, bt, what);
        if tree.record_type() != HUGE_RECORD_TYPE {
            return Err(bad("record type (not unfiltered huge objects)").into());
        }
        if tree.record_size() != self.huge_record_size() {
            return Err(bad("record size").into());
        }
        let wrapped = h.flags & FLAG_HUGE_IDS_WRAPPED != 0;
        let max_id = self.huge_max_id();
        let mut objects = Vec::new();
        let (mut prev, mut total) = (0u64, 0u64);
        for rec in tree.records() {
            let btree2::Record::HugeObject { addr, length, id } = btree2::Record::decode(
                HUGE_RECORD_TYPE,
                rec,
                bt,
                sizes,
                &btree2::RecordContext::default(),
            )?
            else {
                return Err(bad("record type (not unfiltered huge objects)").into());
            };
            if id <= prev {
                return Err(bad("huge object IDs (not increasing)").into());
            }
            if id > max_id || (!wrapped && id > h.next_huge_id) {
                return Err(bad("huge object ID (beyond the next huge object ID)").into());
            }
            if length == 0 || addr.checked_add(length).is_none() {
                return Err(bad("huge object length").into());
            }
            total = total
                .checked_add(length)
                .ok_or_else(|| bad("huge object length"))?;
            prev = id;
            objects.push((addr, length, id));
        }
        if objects.len() as u64 != h.huge_count {
            return Err(self
                .err("number of huge objects (unlike the B-tree's)")
                .into());
        }
        if total != h.huge_size {
            return Err(self
                .err("size of huge objects (unlike the B-tree's)")
                .into());
        }
        objects.sort_unstable();
        if objects.windows(2).any(|w| w[0].0 + w[0].1 > w[1].0) {
            return Err(bad("huge objects (overlapping)").into());
        }
        for (addr, length, id) in objects {
            let n = usize::try_from(length)
                .map_err(|_| Error::limit(HUGE, addr, "huge object size", length, 0))?;
            let mut data = read(addr, n)?;
            if data.len() < n {
                let end = addr.saturating_add(data.len() as u64);
                return Err(Error::new(HUGE, end, ErrorKind::Truncated).into());
            }
            data.truncate(n);
            self.huge.insert(
                id,
                HugeObject {
                    addr: Some(addr),
                    data,
                    dirty: false,
                },
            );
        }
        self.huge_tree = Some(tree);
        Ok(())
    }

    /// Whether huge object IDs hold the object's address and length (libhdf5's choice when
    /// the ID has room for them, as [`HeapId::decode`] reads them) rather than a B-tree key.
    pub(super) fn huge_direct(&self) -> bool {
        let s = self.hdr.sizes;
        usize::from(self.hdr.heap_id_len).saturating_sub(1)
            >= usize::from(s.offset) + usize::from(s.length)
    }

    /// Bytes of the B-tree key in a huge object ID (the ID less its first byte, at most 8).
    pub(super) fn huge_key_len(&self) -> usize {
        usize::from(self.hdr.heap_id_len).saturating_sub(1).min(8)
    }

    /// The largest huge object ID: what the key in the ID and the record's ID field hold.
    pub(super) fn huge_max_id(&self) -> u64 {
        let bits = 8 * self.huge_key_len().min(usize::from(self.hdr.sizes.length)) as u32;
        1u64.checked_shl(bits).map_or(u64::MAX, |x| x - 1)
    }

    /// Bytes of a type-1 record: address, length, ID.
    pub(super) fn huge_record_size(&self) -> usize {
        let s = self.hdr.sizes;
        usize::from(s.offset) + 2 * usize::from(s.length)
    }

    pub(super) fn huge_record(&self, addr: u64, length: u64, id: u64) -> Vec<u8> {
        let mut w = Writer::new(self.hdr.sizes);
        w.offset(Some(addr)).length(length).length(id);
        w.finish()
    }

    /// The heap ID of huge object `id`.
    pub(super) fn huge_id(&self, id: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(usize::from(self.hdr.heap_id_len));
        v.push(0x10);
        v.extend_from_slice(&id.to_le_bytes()[..self.huge_key_len()]);
        v.resize(usize::from(self.hdr.heap_id_len), 0);
        v
    }

    /// How a type-1 record compares with huge object ID `id` (for [`TreeEdit`]).
    pub(super) fn huge_cmp(
        sizes: Sizes,
        id: u64,
    ) -> impl FnMut(&[u8]) -> Result<core::cmp::Ordering> {
        let at = usize::from(sizes.offset) + usize::from(sizes.length);
        let len = usize::from(sizes.length);
        move |rec: &[u8]| Ok(le_uint(rec.get(at..at + len).unwrap_or(&[])).cmp(&id))
    }

    /// The huge object a heap ID names, by its ID.
    pub(super) fn huge_key(&self, heap_id: HeapId) -> Result<u64> {
        match heap_id {
            HeapId::HugeIndirect { key } if self.huge.contains_key(&key) => Ok(key),
            HeapId::HugeIndirect { .. } => Err(self.err("heap ID (no such huge object)")),
            _ => Err(self.huge_unsupported()),
        }
    }

    pub(super) fn insert_huge(&mut self, obj: &[u8]) -> Result<Vec<u8>> {
        if self.huge_direct() {
            return Err(self.huge_unsupported());
        }
        if self.hdr.flags & FLAG_HUGE_IDS_WRAPPED != 0 {
            return Err(Error::unsupported(
                HEADER,
                self.hdr.addr,
                "huge object IDs that wrapped around",
            ));
        }
        let max = self.huge_max_id();
        let Some(id) = self.hdr.next_huge_id.checked_add(1).filter(|&i| i <= max) else {
            return Err(Error::limit(
                HEADER,
                self.hdr.addr,
                "next huge object ID",
                self.hdr.next_huge_id.saturating_add(1),
                max,
            ));
        };
        let sizes = self.hdr.sizes;
        let n = obj.len() as u64;
        // The record names the object's address once it has one (at store).
        let rec = self.huge_record(0, n, id);
        let tree = match &mut self.huge_tree {
            Some(t) => t,
            None => self.huge_tree.insert(TreeEdit::new(
                HUGE_RECORD_TYPE,
                rec.len() as u16,
                btree2::DENSE_NODE_SIZE,
                btree2::SPLIT_PERCENT,
                btree2::MERGE_PERCENT,
                sizes,
            )?),
        };
        if !tree.insert::<_, Error>(&rec, &mut Self::huge_cmp(sizes, id))? {
            return Err(Error::invalid(
                HUGE_TREE,
                self.hdr.addr,
                "huge object ID (in use)",
            ));
        }
        self.huge.insert(
            id,
            HugeObject {
                addr: None,
                data: obj.to_vec(),
                dirty: true,
            },
        );
        let h = &mut self.hdr;
        h.next_huge_id = id;
        if id == max {
            h.flags |= FLAG_HUGE_IDS_WRAPPED;
        }
        h.huge_count = h.huge_count.saturating_add(1);
        h.huge_size = h.huge_size.saturating_add(n);
        self.header_dirty = true;
        Ok(self.huge_id(id))
    }

    /// The huge-object part of [`HeapEdit::store`].
    pub(super) fn store_huge(
        &mut self,
        alloc: &mut dyn FnMut(u64) -> u64,
        out: &mut Stored,
    ) -> Result<()> {
        let Some(tree) = self.huge_tree.as_mut() else {
            return Ok(());
        };
        if self.huge.is_empty() {
            // libhdf5 deletes the B-tree of a heap without huge objects when it closes it.
            if let Some(t) = self.huge_tree.take() {
                self.freed.extend(t.delete());
            }
            let h = &mut self.hdr;
            h.huge_btree_addr = None;
            h.next_huge_id = 0;
            h.flags &= !FLAG_HUGE_IDS_WRAPPED;
            self.header_dirty = true;
            return Ok(());
        }
        let sizes = self.hdr.sizes;
        for (&id, o) in self.huge.iter_mut() {
            if o.addr.is_none() {
                let n = o.data.len() as u64;
                let a = alloc(n);
                o.addr = Some(a);
                o.dirty = true;
                let mut w = Writer::new(sizes);
                w.offset(Some(a)).length(n).length(id);
                if !tree.replace::<_, Error>(w.finish(), &mut Self::huge_cmp(sizes, id))? {
                    return Err(Error::invalid(
                        HUGE_TREE,
                        self.hdr.addr,
                        "huge object ID (not in the B-tree)",
                    ));
                }
            }
        }
        for o in self.huge.values_mut() {
            if let (true, Some(a)) = (o.dirty, o.addr) {
                out.writes.push((a, o.data.clone()));
                o.dirty = false;
            }
        }
        let (at, st) = tree.store(self.hdr.huge_btree_addr, alloc)?;
        out.writes.extend(st.writes);
        self.freed.extend(st.freed);
        if self.hdr.huge_btree_addr != Some(at) {
            self.hdr.huge_btree_addr = Some(at);
            self.header_dirty = true;
        }
        Ok(())
    }
}

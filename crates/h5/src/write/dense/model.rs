//! A dense store as an in-memory model: its heap and indexes (h5-format's edit models),
//! and the changes made to them.

use crate::error::{Error, Result};
use h5_format::btree2::{self, TreeEdit};
use h5_format::fractal_heap::{HeapEdit, HeapParams};
use h5_format::lookup3;
use h5_format::message::attribute::Attribute as AttrMsg;
use h5_format::message::link::Link;
use h5_format::Reader;
use std::cmp::Ordering;

/// What a dense store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Links,
    Attributes,
}

impl Kind {
    pub(super) fn heap_params(self) -> HeapParams {
        match self {
            Kind::Links => HeapParams::dense_links(),
            Kind::Attributes => HeapParams::dense_attributes(),
        }
    }
    pub(super) fn name_type(self) -> u8 {
        match self {
            Kind::Links => 5,
            Kind::Attributes => 8,
        }
    }
    pub(super) fn order_type(self) -> u8 {
        match self {
            Kind::Links => 6,
            Kind::Attributes => 9,
        }
    }
}

/// Addresses of a dense store: heap, name index, creation-order index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addrs {
    pub(crate) heap: u64,
    pub(crate) name: u64,
    pub(crate) order: Option<u64>,
}

/// A dense store open for changes.
#[derive(Debug)]
pub(crate) struct Dense {
    pub(super) view: DenseView,
    pub(super) heap: HeapEdit,
    pub(super) name: TreeEdit,
    pub(super) order: Option<TreeEdit>,
    /// Heap objects to clear once the indexes no longer name them.
    pub(super) retired: Vec<Vec<u8>>,
    pub(super) at: Option<Addrs>,
}

/// The name inside a stored message.
fn message_name(kind: Kind, body: &[u8], sizes: h5_format::Sizes) -> Result<String> {
    let mut r = Reader::new(body, 0, sizes, "dense storage object");
    Ok(match kind {
        Kind::Links => Link::decode(&mut r).map_err(Error::Format)?.name,
        Kind::Attributes => AttrMsg::decode(&mut r).map_err(Error::Format)?.name,
    })
}

impl Dense {
    /// An empty store (nothing written until [`Dense::store`]).
    pub(crate) fn create(sizes: h5_format::Sizes, kind: Kind, index_order: bool) -> Result<Dense> {
        let params = kind.heap_params();
        let id_len = params.id_len as usize;
        let heap = HeapEdit::new(params, sizes)?;
        let new_tree = |t: u8, size: usize| {
            TreeEdit::new(
                t,
                size as u16,
                btree2::DENSE_NODE_SIZE,
                btree2::SPLIT_PERCENT,
                btree2::MERGE_PERCENT,
                sizes,
            )
        };
        let (name_size, order_size) = match kind {
            Kind::Links => (4 + id_len, 8 + id_len),
            Kind::Attributes => (id_len + 1 + 4 + 4, id_len + 1 + 4),
        };
        Ok(Dense {
            view: DenseView { kind, id_len },
            heap,
            name: new_tree(kind.name_type(), name_size)?,
            order: if index_order {
                Some(new_tree(kind.order_type(), order_size)?)
            } else {
                None
            },
            retired: Vec::new(),
            at: None,
        })
    }

    /// Add the message `body` called `name` (which must not be there yet), with its
    /// creation order and (attributes) message flags.
    pub(crate) fn insert(
        &mut self,
        name: &str,
        body: &[u8],
        order: Option<u64>,
        flags: u8,
        sizes: h5_format::Sizes,
    ) -> Result<()> {
        let hash = lookup3::hash(name.as_bytes(), 0);
        let id = self.heap.insert(body)?;
        let order_n = order.unwrap_or(0);
        let v = self.view;
        let rec: Vec<u8> = match v.kind {
            Kind::Links => hash.to_le_bytes().iter().chain(&id).copied().collect(),
            Kind::Attributes => {
                let mut r = id.clone();
                r.push(flags);
                r.extend((order_n as u32).to_le_bytes());
                r.extend(hash.to_le_bytes());
                r
            }
        };
        let heap = &self.heap;
        let fresh = self
            .name
            .insert::<_, Error>(&rec, &mut |r| v.cmp_name(heap, r, name, hash, sizes))?;
        if !fresh {
            return Err(Error::Exists(name.to_string()));
        }
        if let Some(t) = self.order.as_mut() {
            let rec: Vec<u8> = match v.kind {
                Kind::Links => order_n.to_le_bytes().iter().chain(&id).copied().collect(),
                Kind::Attributes => {
                    let mut r = id.clone();
                    r.push(flags);
                    r.extend((order_n as u32).to_le_bytes());
                    r
                }
            };
            t.insert::<_, Error>(&rec, &mut |r| Ok(v.order_key(r).cmp(&order_n)))?;
        }
        Ok(())
    }

    /// Remove `name`; returns whether it was there.
    pub(crate) fn remove(&mut self, name: &str, sizes: h5_format::Sizes) -> Result<bool> {
        let hash = lookup3::hash(name.as_bytes(), 0);
        let this = self.view;
        let heap = &self.heap;
        let Some(rec) = self
            .name
            .remove::<Error>(&mut |r| this.cmp_name(heap, r, name, hash, sizes))?
        else {
            return Ok(false);
        };
        let id = this.id_of(&rec).to_vec();
        if let Some(t) = self.order.as_mut() {
            t.retain(&mut |r| this.id_of_order(r) != id.as_slice());
        }
        self.retired.push(id);
        Ok(true)
    }

    /// Whether `name` is there.
    pub(crate) fn contains(&self, name: &str, sizes: h5_format::Sizes) -> Result<bool> {
        Ok(self.get(name, sizes)?.is_some())
    }

    /// The message stored for `name`.
    pub(crate) fn get(&self, name: &str, sizes: h5_format::Sizes) -> Result<Option<Vec<u8>>> {
        let hash = lookup3::hash(name.as_bytes(), 0);
        let v = self.view;
        match self
            .name
            .find::<Error>(&mut |r| v.cmp_name(&self.heap, r, name, hash, sizes))?
        {
            Some(rec) => Ok(Some(self.heap.get(v.id_of(rec))?)),
            None => Ok(None),
        }
    }
}

impl Dense {
    /// Every stored message, in name-index order.
    pub(crate) fn messages(&self) -> Result<Vec<Vec<u8>>> {
        self.name
            .records()
            .into_iter()
            .map(|r| Ok(self.heap.get(self.view.id_of(r))?))
            .collect()
    }

    /// The file space of the whole store (to free with its object).
    pub(crate) fn extents(self) -> Result<Vec<(u64, u64)>> {
        let mut out = self.heap.extents()?;
        out.extend(self.name.delete());
        if let Some(o) = self.order {
            out.extend(o.delete());
        }
        Ok(out)
    }
}

/// The parts of a [`Dense`] record comparisons need while its trees are borrowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct DenseView {
    pub(super) kind: Kind,
    pub(super) id_len: usize,
}

impl DenseView {
    pub(super) fn id_of<'r>(&self, rec: &'r [u8]) -> &'r [u8] {
        match self.kind {
            Kind::Links => &rec[4..4 + self.id_len],
            Kind::Attributes => &rec[..self.id_len],
        }
    }
    pub(super) fn id_of_order<'r>(&self, rec: &'r [u8]) -> &'r [u8] {
        match self.kind {
            Kind::Links => &rec[8..8 + self.id_len],
            Kind::Attributes => &rec[..self.id_len],
        }
    }
    pub(super) fn order_key(&self, rec: &[u8]) -> u64 {
        h5_format::reader::le_uint(match self.kind {
            Kind::Links => &rec[..8],
            Kind::Attributes => &rec[self.id_len + 1..self.id_len + 5],
        })
    }
    pub(super) fn cmp_name(
        &self,
        heap: &HeapEdit,
        rec: &[u8],
        name: &str,
        hash: u32,
        sizes: h5_format::Sizes,
    ) -> Result<Ordering> {
        let h = match self.kind {
            Kind::Links => &rec[..4],
            Kind::Attributes => &rec[self.id_len + 5..self.id_len + 9],
        };
        match u32::from_le_bytes([h[0], h[1], h[2], h[3]]).cmp(&hash) {
            Ordering::Equal => {
                let body = heap.get(self.id_of(rec))?;
                Ok(message_name(self.kind, &body, sizes)?
                    .as_bytes()
                    .cmp(name.as_bytes()))
            }
            o => Ok(o),
        }
    }
}

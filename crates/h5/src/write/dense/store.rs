//! Opening a dense store from the file (or the session's cache) and storing it back.

use super::model::{Dense, DenseView};
use super::{Addrs, Kind};
use crate::error::{Error, Result};
use crate::write::WriteCtx;
use h5_format::btree2::TreeEdit;
use h5_format::fractal_heap::HeapEdit;

impl Dense {
    /// Open the store at `at`: the one kept from an earlier change in this session, or
    /// loaded. Give it back with [`Dense::store`] (or drop it, with its object).
    pub(crate) fn open(cx: &mut WriteCtx<'_>, kind: Kind, at: Addrs) -> Result<Dense> {
        match cx.st.dense.remove(&at.heap) {
            Some(d) if d.view.kind == kind && d.at == Some(at) => Ok(d),
            _ => Self::load(cx, kind, at),
        }
    }

    fn load(cx: &WriteCtx<'_>, kind: Kind, at: Addrs) -> Result<Dense> {
        let sizes = cx.f.sizes;
        let max = cx.f.limits.max_nodes;
        let heap = HeapEdit::load(at.heap, sizes, max, &mut cx.meta_reader("fractal heap"))?;
        let id_len = heap.header().heap_id_len as usize;
        let name = TreeEdit::load(at.name, sizes, max, &mut cx.meta_reader("v2 B-tree"))?;
        let order = match at.order {
            Some(a) => Some(TreeEdit::load(
                a,
                sizes,
                max,
                &mut cx.meta_reader("v2 B-tree"),
            )?),
            None => None,
        };
        let bad = |what| -> Error {
            h5_format::Error::invalid("v2 B-tree", cx.f.offset_of(at.name), what).into()
        };
        if name.record_type() != kind.name_type() {
            return Err(bad("record type for a dense name index"));
        }
        if order
            .as_ref()
            .is_some_and(|o| o.record_type() != kind.order_type())
        {
            return Err(bad("record type for a dense creation-order index"));
        }
        // the record fields the comparisons read: hash + ID (links); ID, flags, order, hash
        // (attributes); creation order + ID, or ID, flags, order
        let (name_min, order_min) = match kind {
            Kind::Links => (4 + id_len, 8 + id_len),
            Kind::Attributes => (id_len + 9, id_len + 5),
        };
        if name.record_size() < name_min {
            return Err(bad("record size for a dense name index"));
        }
        if order.as_ref().is_some_and(|o| o.record_size() < order_min) {
            return Err(bad("record size for a dense creation-order index"));
        }
        let view = DenseView { kind, id_len };
        // the space between live objects is reused (libhdf5 keeps it in a free-space
        // manager, which we neither read nor write)
        let mut heap = heap;
        heap.track_free_space(name.records().into_iter().map(|r| view.id_of(r)))?;
        Ok(Dense {
            view,
            heap,
            name,
            order,
            retired: Vec::new(),
            at: Some(at),
        })
    }

    /// Write the store: heap (new objects), then the indexes, then the heap again with the
    /// removed objects cleared; keep it loaded for the next change. Returns the addresses
    /// (new ones for a new store).
    pub(crate) fn store(mut self, cx: &mut WriteCtx<'_>) -> Result<Addrs> {
        let heap = cx.store_edit(|a| self.heap.store(a))?;
        let at = self.at;
        let name = cx.store_edit(|a| self.name.store(at.map(|x| x.name), a))?;
        let order = match self.order.as_mut() {
            Some(t) => Some(cx.store_edit(|a| t.store(at.and_then(|x| x.order), a))?),
            None => None,
        };
        if !self.retired.is_empty() {
            for id in std::mem::take(&mut self.retired) {
                self.heap.remove(&id)?;
            }
            cx.store_edit(|a| self.heap.store(a))?;
        }
        let at = Addrs { heap, name, order };
        self.at = Some(at);
        cx.st.dense.insert(heap, self);
        Ok(at)
    }

    /// Keep the store loaded for the next change, unchanged.
    pub(crate) fn keep(self, cx: &mut WriteCtx<'_>) {
        if let Some(at) = self.at {
            cx.st.dense.insert(at.heap, self);
        }
    }
}

//! The bodies of `h5`'s fuzz targets. Each takes arbitrary bytes and must return — an error
//! from the library is the right answer to a bad input; a panic, a hang or an allocation past
//! the limits is a finding. The cargo-fuzz targets in `fuzz/` call these; `cargo test`
//! replays every input committed under `fuzz/regressions/<target>/` through them
//! (`tests/regressions.rs`).

#![forbid(unsafe_code)]

mod writer;

pub use writer::writer;

use h5::storage::{MemStorage, VecStorage};
use h5::{File, Limits, Locking, Node, OpenOptions, Selection};
use h5_format::Sizes;
use std::ops::ControlFlow;
use std::sync::Arc;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (the fuzz target's and the regressions folder's) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("open_walk", open_walk),
    ("superblock", superblock),
    ("object_header", object_header),
    ("messages", messages),
    ("btree", btree),
    ("fractal_heap", fractal_heap),
    ("chunk_index", chunk_index),
    ("heaps", heaps),
    ("filters", filters),
    ("selection", selection),
    ("edit", edit),
    ("writer", writer),
];

/// Limits small enough that a missed check shows as an over-allocation under the fuzzers'
/// memory cap (512 MiB).
pub fn limits() -> Limits {
    Limits {
        max_metadata_block: 4 << 20,
        max_data_bytes: 32 << 20,
        max_header_chunks: 2_000,
        max_nodes: 100_000,
        max_depth: 32,
        max_soft_links: 8,
    }
}

fn options() -> OpenOptions {
    OpenOptions {
        limits: limits(),
        allow_truncated: true,
        locking: Locking::Disabled,
        filters: None,
    }
}

/// Visit at most this many objects of one file.
const MAX_OBJECTS: usize = 200;

/// Read everything a user could: every object, attribute and dataset (as values).
pub fn walk(f: &File) {
    let Ok(root) = f.root() else { return };
    read_attrs(&root.attrs());
    let mut paths = Vec::new();
    let _ = root.visit(|p| {
        paths.push(p.to_string());
        if paths.len() >= MAX_OBJECTS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    for p in paths {
        match root.node(&p) {
            Ok(Node::Group(g)) => {
                read_attrs(&g.attrs());
                let _ = g.links();
            }
            Ok(Node::Dataset(d)) => {
                read_attrs(&d.attrs());
                let _ = d.chunk_info();
                let _ = d.read_values(&Selection::All);
                let _ = d.read::<f64>();
                if let Some(shape) = d.shape() {
                    if !shape.is_empty() && shape.iter().all(|&n| n > 0) {
                        let corner = Selection::Points(vec![vec![0; shape.len()]]);
                        let _ = d.read_raw(&corner);
                    }
                }
            }
            Ok(Node::Datatype(t)) => {
                read_attrs(&t.attrs());
                let _ = t.dtype();
            }
            Err(_) => {}
        }
    }
}

fn read_attrs(a: &h5::Attributes) {
    if let Ok(all) = a.all() {
        for at in all.iter().take(64) {
            let _ = at.read_values();
        }
    }
}

/// Open any bytes as a file and read everything.
pub fn open_walk(data: &[u8]) {
    if let Ok(f) = File::from_storage(MemStorage::new(data.to_vec()), options()) {
        walk(&f);
    }
}

/// The sizes a decoder sees: the first byte picks offset and length widths.
fn sizes_from(b: u8) -> Sizes {
    let widths = [2u8, 4, 8];
    Sizes {
        offset: widths[(b % 3) as usize],
        length: widths[((b / 3) % 3) as usize],
    }
}

/// Split `data` at a position its first two bytes choose: (selector byte, left, right).
fn split(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&sel, rest) = data.split_first()?;
    let (&at, rest) = rest.split_first()?;
    let at = (at as usize * 4).min(rest.len());
    Some((sel, &rest[..at], &rest[at..]))
}

/// The superblock decoder (any version, any offset widths).
pub fn superblock(data: &[u8]) {
    let _ = h5_format::superblock::Superblock::decode(data, 0);
    if let Some(rest) = data.get(8..) {
        let _ = h5_format::superblock::Superblock::decode(rest, 512);
    }
}

/// An object header: prefix, chunk 0, every message decoded by its type, and the rest as a
/// continuation chunk.
pub fn object_header(data: &[u8]) {
    use h5_format::object_header::{decode_chunk, ChunkKind, Prefix};
    let Some((&s, data)) = data.split_first() else {
        return;
    };
    let sizes = sizes_from(s);
    let Ok(prefix) = Prefix::decode(data, 0x800, sizes) else {
        return;
    };
    let n = prefix
        .chunk0_total()
        .map_or(data.len(), |t| (t as usize).min(data.len()));
    if let Ok(msgs) = decode_chunk(&data[..n], 0x800, sizes, &prefix, ChunkKind::First) {
        for m in msgs {
            decode_message(m.mtype, m.data, sizes);
        }
    }
    if let Ok(msgs) = decode_chunk(&data[n..], 0x2000, sizes, &prefix, ChunkKind::Continuation) {
        for m in msgs {
            decode_message(m.mtype, m.data, sizes);
        }
    }
}

/// Decode a message body as the message type says.
fn decode_message(mtype: u16, body: &[u8], sizes: Sizes) {
    use h5_format::message::attribute::Attribute;
    use h5_format::message::dataspace::Dataspace;
    use h5_format::message::datatype::Datatype;
    use h5_format::message::fill_value::FillValue;
    use h5_format::message::link::{AttributeInfo, GroupInfo, Link, LinkInfo};
    use h5_format::message::{filter_pipeline, layout, misc, shared, MessageType};
    use h5_format::Reader;
    let r = || Reader::new(body, 0x1000, sizes, "message");
    match MessageType(mtype) {
        MessageType::DATASPACE => drop(Dataspace::decode(&mut r())),
        MessageType::DATATYPE => drop(Datatype::decode(&mut r())),
        MessageType::FILL_VALUE_OLD => drop(FillValue::decode_old(&mut r())),
        MessageType::FILL_VALUE => drop(FillValue::decode(&mut r())),
        MessageType::LINK => drop(Link::decode(&mut r())),
        MessageType::LINK_INFO => drop(LinkInfo::decode(&mut r())),
        MessageType::ATTRIBUTE_INFO => drop(AttributeInfo::decode(&mut r())),
        MessageType::LAYOUT => drop(layout::decode(&mut r())),
        MessageType::FILTER_PIPELINE => drop(filter_pipeline::decode(&mut r())),
        MessageType::ATTRIBUTE => drop(Attribute::decode(&mut r())),
        MessageType::SYMBOL_TABLE => drop(misc::SymbolTable::decode(&mut r())),
        MessageType::GROUP_INFO => drop(GroupInfo::decode(&mut r())),
        MessageType::CONTINUATION => drop(misc::Continuation::decode(&mut r())),
        _ => {
            let _ = shared::Shared::decode(&mut r());
            let _ = misc::decode_refcount(&mut r());
            let _ = misc::decode_mtime(&mut r());
        }
    }
}

/// Every message decoder on the same body (the first byte picks the sizes).
pub fn messages(data: &[u8]) {
    let Some((&s, body)) = data.split_first() else {
        return;
    };
    let sizes = sizes_from(s);
    for t in [1u16, 3, 4, 5, 6, 8, 10, 11, 12, 16, 17, 2, 21, 0x16] {
        decode_message(t, body, sizes);
    }
    let _ = h5_format::vds::decode(body, 0x1000, sizes);
    let _ = h5_format::cache_image::decode(body, 0x1000, sizes);
}

/// v1 B-tree nodes, v2 B-tree headers and the nodes and records under one.
pub fn btree(data: &[u8]) {
    use h5_format::btree2::{self, Header, Record, RecordContext};
    let Some((s, head, rest)) = split(data) else {
        return;
    };
    let sizes = sizes_from(s);
    let _ = h5_format::btree1::Node::decode(head, 0x800, sizes, (s % 4) as usize, 64);
    let _ = h5_format::btree1::Node::decode(rest, 0x800, sizes, 0, 32);
    let Ok(h) = Header::decode(head, 0x800, sizes) else {
        return;
    };
    let ctx = RecordContext {
        rank: 1 + (s % 3) as usize,
        chunk_size_len: 1 + (s % 8) as usize,
    };
    let nrec = u64::from(s) % 64;
    if let Ok(n) = btree2::decode_leaf(rest, 0x2000, sizes, &h, nrec) {
        for i in 0..n.records.len() {
            let _ = n.record(i, &h, &ctx);
        }
    }
    if let Ok(n) = btree2::decode_internal(rest, 0x2000, sizes, &h, 1 + (s % 3) as u16, nrec) {
        for i in 0..n.records.len() {
            let _ = n.record(i, &h, &ctx);
        }
    }
    for t in 1..=11 {
        let _ = Record::decode(t, rest, 0x2000, sizes, &ctx);
    }
}

/// Fractal heap headers, and the blocks and heap IDs under one.
pub fn fractal_heap(data: &[u8]) {
    use h5_format::fractal_heap::{self, Header, HeapId, IndirectBlock};
    let Some((s, head, rest)) = split(data) else {
        return;
    };
    let sizes = sizes_from(s);
    let Ok(h) = Header::decode(head, 0x800, sizes) else {
        return;
    };
    let _ = IndirectBlock::decode(rest, 0x2000, sizes, &h, h.current_root_rows);
    let _ = IndirectBlock::decode(rest, 0x2000, sizes, &h, u16::from(s) % 16);
    let _ = fractal_heap::check_direct_block(rest, 0x2000, sizes, &h, u64::from(s) * 512);
    let id_len = usize::from(h.heap_id_len).min(rest.len());
    if let Ok(id) = HeapId::decode(&rest[..id_len], &h, sizes, 0x3000) {
        let _ = id;
    }
}

/// Fixed and extensible array headers (chunk indexes) and their blocks and pages.
pub fn chunk_index(data: &[u8]) {
    use h5_format::{extensible_array as ea, fixed_array as fa};
    let Some((s, head, rest)) = split(data) else {
        return;
    };
    let sizes = sizes_from(s);
    if let Ok(h) = fa::Header::decode(head, 0x800, sizes) {
        let _ = fa::DataBlock::decode(rest, 0x2000, sizes, &h);
        let _ = fa::decode_page(rest, 0x2000, sizes, &h, u64::from(s) % 4);
    }
    if let Ok(h) = ea::Header::decode(head, 0x800, sizes) {
        let _ = ea::IndexBlock::decode(rest, 0x2000, sizes, &h);
        let sblk = (s % 8) as usize;
        let _ = ea::SuperBlock::decode(rest, 0x2000, sizes, &h, sblk);
        let _ = ea::DataBlock::decode(rest, 0x2000, sizes, &h, sblk);
        let _ = ea::decode_page(rest, 0x2000, sizes, &h);
    }
}

/// Local heaps, global heap collections and symbol table nodes.
pub fn heaps(data: &[u8]) {
    use h5_format::{global_heap, local_heap, symbol_table};
    let Some((&s, body)) = data.split_first() else {
        return;
    };
    let sizes = sizes_from(s);
    if let Ok(h) = local_heap::LocalHeap::decode(body, 0x800, sizes) {
        let _ = local_heap::string_at(body, u64::from(s) * 3, 0x800);
        let _ = h;
    }
    let _ = global_heap::collection_size(body, 0x800, sizes);
    let _ = global_heap::CollectionBuilder::decode(body, 0x800, sizes);
    for i in 0..4 {
        let _ = global_heap::find_object(body, 0x800, sizes, i);
    }
    let _ = symbol_table::decode(body, 0x800, sizes, 8 + (s % 32) as usize);
}

/// Every filter's decoder: the first bytes pick the filter, its parameters and the size the
/// chunk should decode to (bounded as a chunk's declared size is).
pub fn filters(data: &[u8]) {
    let [f, es, sz0, sz1, c0, c1, rest @ ..] = data else {
        return;
    };
    let ids = [
        h5_filters::id::DEFLATE,
        h5_filters::id::SHUFFLE,
        h5_filters::id::FLETCHER32,
        h5_filters::id::LZF,
    ];
    let id = ids[(*f % 4) as usize];
    let client = [
        u32::from(*c0),
        u32::from(*c1),
        u32::from_le_bytes([*sz0, *sz1, 0, 0]),
    ];
    let params = [h5_filters::FilterParams {
        id,
        client_data: &client[..(*f as usize / 4) % 4],
        element_size: 1 + (*es as usize % 16),
    }];
    let expected = usize::from(u16::from_le_bytes([*sz0, *sz1])) * 4;
    let registry = h5_filters::Registry::with_builtins();
    let _ = registry.decode_chunk(&params, 0, rest.to_vec(), expected);
    let _ = registry.decode_chunk(&params, 1, rest.to_vec(), expected);
}

/// The selection parser and resolution against a shape; the serialized selection decoder.
pub fn selection(data: &[u8]) {
    let Some((&r, rest)) = data.split_first() else {
        return;
    };
    let rank = (r % 5) as usize;
    let shape: Vec<u64> = (0..rank)
        .map(|i| u64::from(rest.get(i).copied().unwrap_or(3)))
        .collect();
    let text = String::from_utf8_lossy(rest);
    if let Ok(sel) = Selection::parse(&text) {
        // a dataset of that shape: resolving is what reads do first
        if let Ok(f) = tiny_dataset(&shape) {
            if let Ok(d) = f.dataset("d") {
                let _ = d.read_raw(&sel);
                let _ = d.region(&sel);
            }
        }
    }
    let _ = h5_format::selection::SelectionEncoding::decode(&mut h5_format::Reader::new(
        rest,
        0x800,
        Sizes::DEFAULT,
        "selection",
    ));
}

/// A small in-memory file with an i8 dataset `d` of `shape` (at most 4096 elements).
fn tiny_dataset(shape: &[u64]) -> h5::Result<File> {
    if shape.iter().product::<u64>() > 4096 {
        return Err(h5::Error::Shape("too large for the harness".into()));
    }
    let store = Arc::new(VecStorage::default());
    let f = File::create_on(store.clone(), Default::default())?;
    f.root()?.new_dataset::<i8>().shape(shape).create("d")?;
    f.close()?;
    File::from_bytes(store.to_bytes())
}

/// Damaged bytes opened for editing, then the edits a user makes: groups, attributes (also
/// dense and large), writes into every dataset, resizes, a delete, a new compressed dataset.
pub fn edit(data: &[u8]) {
    let store = Arc::new(VecStorage::new(data.to_vec()));
    let Ok(f) = File::from_storage(store.clone(), options()) else {
        return;
    };
    let Ok(root) = f.root() else { return };
    let _ = root.create_group("fuzz/new");
    for i in 0..10 {
        let _ = root.attrs().set(&format!("a{i}"), i as i64);
    }
    let _ = root.attrs().set("big", [1.5f64; 2048]);
    let mut paths = Vec::new();
    let _ = root.visit(|p| {
        paths.push(p.to_string());
        if paths.len() >= 50 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    for p in &paths {
        if let Ok(Node::Dataset(mut d)) = root.node(p) {
            let _ = d.write_slice(&Selection::All, &[7i32]);
            let _ = d.attrs().set("units", "m");
            if let Some(s) = d.shape() {
                let grown: Vec<u64> = s.iter().map(|&n| n.saturating_add(1).min(64)).collect();
                let _ = d.resize(&grown);
            }
        }
    }
    if let Some(p) = paths.first() {
        let _ = root.unlink(p);
    }
    let _ = root
        .new_dataset::<u16>()
        .shape(&[40])
        .chunks(&[8])
        .deflate(4)
        .create("fuzz/packed")
        .and_then(|d| d.write_slice(&Selection::All, &[3u16]));
    let _ = f.close();
    // what the edits left must open and read without a panic too
    if let Ok(f) = File::from_storage(MemStorage::new(store.to_bytes()), options()) {
        walk(&f);
    }
}

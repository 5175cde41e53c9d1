//! Creating a new file: superblock and root group in the chosen profile.

use super::state::{flush, LibVer, OpenFile, WriteCtx, WriteState};
use super::{links, symtab};
use crate::base::{FileInner, Overlay};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::storage::Storage;
use h5_format::superblock::{EntryCache, Root, Superblock, SymbolTableEntry};
use h5_format::Sizes;
use std::path::PathBuf;
use std::sync::Mutex;

/// A new, empty file on `storage` in the given profile: superblock, root group.
pub(crate) fn create_file(
    storage: Box<dyn Storage>,
    libver: LibVer,
    track_order: bool,
    filters: Option<std::sync::Arc<h5_filters::Registry>>,
    path: Option<PathBuf>,
) -> Result<OpenFile> {
    let sizes = Sizes::DEFAULT;
    // v0 (96 bytes, root symbol table entry) or v3 (48 bytes, root header address)
    let (version, sb_len) = match libver {
        LibVer::Earliest => (0, 96u64),
        LibVer::V108 => (2, 48u64),
        LibVer::V110 | LibVer::Latest => (3, 48u64),
    };
    let placeholder = Superblock {
        version,
        sizes,
        base_addr: 0,
        extension_addr: None,
        eof_addr: sb_len,
        driver_info_addr: None,
        root: Root::Entry(SymbolTableEntry {
            name_offset: 0,
            header_addr: Some(0),
            cache: EntryCache::None,
        }),
        group_leaf_k: symtab::LEAF_K,
        group_internal_k: symtab::INTERNAL_K,
        indexed_storage_k: 32,
        flags: 0,
        encoded_len: sb_len as usize,
    };
    let mut inner = FileInner {
        storage,
        superblock: placeholder,
        base: 0,
        sizes,
        limits: Limits::default(),
        path,
        filters: filters
            .unwrap_or_else(|| std::sync::Arc::new(h5_filters::Registry::with_builtins())),
        overlay: Overlay::default(),
        pages: Default::default(),
        decoded: Default::default(),
    };
    let mut st = WriteState::new(sb_len, libver);
    if version >= 3 {
        st.sb_flags = 0x01; // open for write until closed
    }
    let root = links::create_group(
        &mut WriteCtx {
            f: &inner,
            st: &mut st,
        },
        track_order,
    )?;
    inner.superblock.root = match libver {
        // a root group with link messages: the superblock's entry caches no symbol table
        LibVer::Earliest if track_order => Root::Entry(SymbolTableEntry {
            name_offset: 0,
            header_addr: Some(root),
            cache: EntryCache::None,
        }),
        LibVer::Earliest => {
            let (btree, heap) = links::symbol_table_of(
                &WriteCtx {
                    f: &inner,
                    st: &mut st,
                },
                root,
            )
            .ok_or_else(|| Error::Unsupported("root group without a symbol table".into()))?;
            Root::Entry(SymbolTableEntry {
                name_offset: 0,
                header_addr: Some(root),
                cache: EntryCache::Group {
                    btree: Some(btree),
                    heap: Some(heap),
                },
            })
        }
        _ => Root::Header(root),
    };
    let f = OpenFile {
        raw: inner,
        write: Some(Mutex::new(st)),
        root: Default::default(),
    };
    flush(&f, false)?;
    Ok(f)
}

//! Symbol table nodes `SNOD` (spec III.B): the leaves of an old-style group's B-tree.

use crate::error::Result;
use crate::reader::{Reader, Sizes};
use crate::superblock::SymbolTableEntry;
use crate::writer::Writer;
use alloc::vec::Vec;

/// Bytes of a node holding `2k` entries.
pub fn node_size(sizes: Sizes, leaf_k: u16) -> usize {
    8 + 2 * leaf_k as usize * SymbolTableEntry::size(sizes)
}

/// Decode a symbol table node: its used entries.
///
/// # Errors
/// `Truncated`; `BadSignature` (not `SNOD`); `VersionNotAccepted` (1 only); `Invalid` when the
/// symbol count exceeds `max_entries`; the entries' errors (see [`SymbolTableEntry::decode`]).
pub fn decode(
    buf: &[u8],
    addr: u64,
    sizes: Sizes,
    max_entries: usize,
) -> Result<Vec<SymbolTableEntry>> {
    let mut r = Reader::new(buf, addr, sizes, "symbol table node");
    r.prologue(b"SNOD", &[1])?;
    r.skip(1)?;
    let n = r.u16()? as usize;
    if n > max_entries {
        return Err(r.invalid("number of symbols"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(SymbolTableEntry::decode(&mut r)?);
    }
    Ok(out)
}

/// Encode a symbol table node as libhdf5 allocates it: `SNOD`, version 1, a reserved byte,
/// the number of symbols, the entries (which the caller keeps sorted by name), then zeros up
/// to [`node_size`] (room for 2·`leaf_k` entries). `decode(encode(x)) == x`.
///
/// # Panics
///
/// If there are more than 2·`leaf_k` entries (the node would overrun its allocation).
pub fn encode(entries: &[SymbolTableEntry], sizes: Sizes, leaf_k: u16) -> Vec<u8> {
    assert!(
        entries.len() <= 2 * leaf_k as usize,
        "{} entries in a symbol table node for 2 x {leaf_k}",
        entries.len()
    );
    let mut w = Writer::new(sizes);
    w.bytes(b"SNOD").u8(1).u8(0).u16(entries.len() as u16);
    for e in entries {
        e.encode(&mut w);
    }
    let total = node_size(sizes, leaf_k);
    w.zeros(total - w.len());
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::superblock::EntryCache;

    use crate::chunk_array::test_util::hex;

    #[test]
    fn round_trip() {
        let entries = [
            SymbolTableEntry {
                name_offset: 8,
                header_addr: Some(0x300),
                cache: EntryCache::None,
            },
            SymbolTableEntry {
                name_offset: 16,
                header_addr: Some(0x400),
                cache: EntryCache::Group {
                    btree: Some(0x500),
                    heap: Some(0x600),
                },
            },
            SymbolTableEntry {
                name_offset: 24,
                header_addr: None,
                cache: EntryCache::SoftLink { value_offset: 32 },
            },
        ];
        for sizes in [
            Sizes::DEFAULT,
            Sizes {
                offset: 4,
                length: 4,
            },
            Sizes {
                offset: 2,
                length: 8,
            },
        ] {
            let b = encode(&entries, sizes, 4);
            assert_eq!(b.len(), node_size(sizes, 4));
            assert_eq!(decode(&b, 0x1000, sizes, 8).unwrap(), entries);
        }
        assert_eq!(encode(&[], Sizes::DEFAULT, 4)[..8], *b"SNOD\x01\0\0\0");
    }

    #[test]
    #[should_panic]
    fn too_many_entries() {
        let e = SymbolTableEntry {
            name_offset: 0,
            header_addr: Some(0),
            cache: EntryCache::None,
        };
        encode(&alloc::vec![e; 9], Sizes::DEFAULT, 4);
    }

    const GROUPS_EARLIEST: &[u8] = include_bytes!("../../../fixtures/files/groups_earliest.h5");

    #[test]
    fn nodes_match_libhdf5_bytes() {
        let sizes = Sizes::DEFAULT;
        let len = node_size(sizes, 4);
        // /dense: 7 and 8 (full) entries of datasets (no cache) and groups (cache type 1);
        // /wide: soft links (cache type 2, header address undefined); a 1-entry node
        for (addr, n) in [
            (0xf548, 7),
            (0x10be0, 8),
            (0x10658, 5),
            (0x6c58, 5),
            (0x3668, 1),
        ] {
            let bytes = &GROUPS_EARLIEST[addr..addr + len];
            let entries = decode(bytes, addr as u64, sizes, 8).unwrap();
            assert_eq!(entries.len(), n);
            assert!(encode(&entries, sizes, 4) == bytes, "SNOD at {addr:#x}");
        }
    }

    #[test]
    fn node_with_4_byte_sizes_matches_libhdf5_bytes() {
        // The root SNOD of a file written by libhdf5 1.10.8 with H5Pset_sizes(4, 4): three
        // entries, the group's with cache type 1 (8 bytes of scratch pad used, 8 zero);
        // the rest of the node (5 entries) is zeros in the file.
        let used = hex(
            "534e4f4401000300180000009428000000000000000000000000000000000000000000000000000008000000
             ec0100000100000000000000140200002803000000000000000000001000000060170000000000000000000000
             000000000000000000000000000000",
        );
        let sizes = Sizes {
            offset: 4,
            length: 4,
        };
        let mut full = used;
        full.resize(node_size(sizes, 4), 0);
        let entries = decode(&full, 0x390, sizes, 8).unwrap();
        assert_eq!(
            entries[1].cache,
            EntryCache::Group {
                btree: Some(0x214),
                heap: Some(0x328)
            }
        );
        assert_eq!(encode(&entries, sizes, 4), full);
    }
}

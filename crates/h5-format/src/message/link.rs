//! Link message 0x06 (IV.A.2.g), Link Info 0x02 (IV.A.2.c) and Group Info 0x0A (IV.A.2.k).

use crate::error::{Error, Result};
use crate::message::datatype::Charset;
use crate::reader::{Addr, Reader};
use crate::writer::Writer;
use alloc::string::String;
use alloc::vec::Vec;

/// Where a link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// An object header address.
    Hard(u64),
    /// A path in this file.
    Soft(String),
    /// A file name and an object path in it.
    External {
        /// File name.
        file: String,
        /// Object path.
        path: String,
    },
    /// A user-defined link type (≥ 65, other than 64) with its raw data.
    UserDefined {
        /// Link type.
        kind: u8,
        /// Link data.
        data: Vec<u8>,
    },
}

/// A decoded link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Link name (UTF-8 or ASCII bytes, lossily decoded).
    pub name: String,
    /// Creation order, if tracked.
    pub creation_order: Option<u64>,
    /// Character set of the name (stored only when not ASCII).
    pub charset: Charset,
    /// Target.
    pub target: LinkTarget,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Link {
    /// Decode a link message body.
    ///
    /// # Errors
    /// `Truncated` (also an external link's file name or path without its NUL);
    /// `VersionNotAccepted` (at the version byte) when the version is not 1; `Invalid` for a
    /// name character set other than ASCII and UTF-8, an empty name, an undefined hard link
    /// address, or a link type 2–63.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        r.version(&[1])?;
        let flags = r.u8()?;
        let kind = if flags & 0x08 != 0 { r.u8()? } else { 0 };
        let creation_order = if flags & 0x04 != 0 {
            Some(r.u64()?)
        } else {
            None
        };
        let mut charset = Charset::Ascii;
        if flags & 0x10 != 0 {
            charset = match r.u8()? {
                0 => Charset::Ascii,
                1 => Charset::Utf8,
                _ => return Err(start.invalid("link name character set")),
            };
        }
        let name_len = r.uint(1 << (flags & 3))? as usize;
        if name_len == 0 {
            return Err(start.invalid("empty link name"));
        }
        let name = text(r.bytes(name_len)?);
        let target = match kind {
            0 => LinkTarget::Hard(r.defined_offset("hard link address")?),
            1 => {
                let n = r.u16()? as usize;
                LinkTarget::Soft(text(r.bytes(n)?))
            }
            64 => {
                let n = r.u16()? as usize;
                let mut d = r.sub(n)?;
                let _version_flags = d.u8()?;
                let file = text(d.cstr()?);
                let path = text(d.cstr()?);
                LinkTarget::External { file, path }
            }
            k if k >= 65 => {
                let n = r.u16()? as usize;
                LinkTarget::UserDefined {
                    kind: k,
                    data: r.bytes(n)?.to_vec(),
                }
            }
            _ => return Err(start.invalid("link type")),
        };
        Ok(Link {
            name,
            creation_order,
            charset,
            target,
        })
    }

    /// Encode the body (version 1, the only one), as libhdf5 does: flags bits 0–1 give the
    /// smallest width (1, 2, 4 or 8 bytes) holding the name length, bit 2 a creation order
    /// (u64), bit 3 a link type (stored only when not hard), bit 4 a character set (stored
    /// only when not ASCII); then the name (no NUL) and the target — a hard link's address;
    /// a soft link's u16 length and path; an external link's u16 length, a version/flags byte
    /// 0, the file name and object path each NUL-terminated; a user-defined link's u16 length
    /// and data.
    ///
    /// # Errors
    /// `Invalid` for an empty name, a link type below 65 for user-defined data (64 is the
    /// external type), or a target over 65 535 bytes.
    pub fn encode(&self, w: &mut Writer) -> Result<()> {
        let bad = |what| Error::invalid("link", 0, what);
        let n = self.name.len();
        if n == 0 {
            return Err(bad("empty link name"));
        }
        let width_code: u8 = match n {
            0..=0xff => 0,
            0x100..=0xffff => 1,
            _ if n as u64 <= u32::MAX as u64 => 2,
            _ => 3,
        };
        let kind = match &self.target {
            LinkTarget::Hard(_) => 0,
            LinkTarget::Soft(_) => 1,
            LinkTarget::External { .. } => 64,
            LinkTarget::UserDefined { kind, .. } if *kind >= 65 => *kind,
            LinkTarget::UserDefined { .. } => return Err(bad("link type")),
        };
        let mut flags = width_code;
        if self.creation_order.is_some() {
            flags |= 0x04;
        }
        if kind != 0 {
            flags |= 0x08;
        }
        if self.charset != Charset::Ascii {
            flags |= 0x10;
        }
        w.u8(1).u8(flags);
        if kind != 0 {
            w.u8(kind);
        }
        if let Some(c) = self.creation_order {
            w.u64(c);
        }
        if self.charset != Charset::Ascii {
            w.u8(1);
        }
        w.uint(n as u64, 1 << width_code)
            .bytes(self.name.as_bytes());
        let len16 = |n: usize| u16::try_from(n).map_err(|_| bad("link target size"));
        match &self.target {
            LinkTarget::Hard(a) => {
                w.offset(Some(*a));
            }
            LinkTarget::Soft(path) => {
                w.u16(len16(path.len())?).bytes(path.as_bytes());
            }
            LinkTarget::External { file, path } => {
                w.u16(len16(1 + file.len() + 1 + path.len() + 1)?)
                    .u8(0)
                    .bytes(file.as_bytes())
                    .u8(0)
                    .bytes(path.as_bytes())
                    .u8(0);
            }
            LinkTarget::UserDefined { data, .. } => {
                w.u16(len16(data.len())?).bytes(data);
            }
        }
        Ok(())
    }
}

/// Link Info (0x02, IV.A.2.c) and Attribute Info (0x15, IV.A.2.v) messages share one layout:
/// where an object keeps its dense links or attributes — a fractal heap, a v2 B-tree name
/// index and, when creation order is indexed, an order index. They differ only in the width
/// of the maximum creation index: `u64` for links ([`LinkInfo`]), `u16` for attributes
/// ([`AttributeInfo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseInfo<Index> {
    /// Creation order tracked.
    pub track_order: bool,
    /// Creation order indexed (a v2 B-tree of type 6 for links, 9 for attributes, once
    /// dense).
    pub index_order: bool,
    /// Max creation index.
    pub max_creation_index: Option<Index>,
    /// Fractal heap of the dense links or attributes.
    pub heap_addr: Addr,
    /// v2 B-tree name index (type 5 for links, 8 for attributes).
    pub name_index_addr: Addr,
    /// v2 B-tree creation order index (type 6 for links, 9 for attributes).
    pub order_index_addr: Addr,
}

/// Link Info message: where a new-style group keeps dense links.
pub type LinkInfo = DenseInfo<u64>;
/// Attribute Info message: where an object keeps dense attributes.
pub type AttributeInfo = DenseInfo<u16>;

/// The width of a [`DenseInfo`]'s maximum creation index.
pub trait CreationIndex: Copy + Default {
    /// Read one.
    ///
    /// # Errors
    /// `Truncated`.
    fn read(r: &mut Reader<'_>) -> Result<Self>;
    /// Write one.
    fn write(self, w: &mut Writer);
}

impl CreationIndex for u64 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.u64()
    }
    fn write(self, w: &mut Writer) {
        w.u64(self);
    }
}

impl CreationIndex for u16 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.u16()
    }
    fn write(self, w: &mut Writer) {
        w.u16(self);
    }
}

impl<Index: CreationIndex> DenseInfo<Index> {
    /// Decode a Link Info or Attribute Info body.
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 0.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.version(&[0])?;
        let flags = r.u8()?;
        let max_creation_index = if flags & 1 != 0 {
            Some(Index::read(r)?)
        } else {
            None
        };
        let heap_addr = r.offset()?;
        let name_index_addr = r.offset()?;
        let order_index_addr = if flags & 2 != 0 { r.offset()? } else { None };
        Ok(DenseInfo {
            track_order: flags & 1 != 0,
            index_order: flags & 2 != 0,
            max_creation_index,
            heap_addr,
            name_index_addr,
            order_index_addr,
        })
    }

    /// Encode the body (version 0): flags (bit 0 creation order tracked, bit 1 indexed),
    /// [the maximum creation index when tracked (0 when `None`)], the fractal heap and name
    /// index addresses, [the creation order index address when indexed].
    pub fn encode(&self, w: &mut Writer) {
        let flags = u8::from(self.track_order) | u8::from(self.index_order) << 1;
        w.u8(0).u8(flags);
        if self.track_order {
            self.max_creation_index.unwrap_or_default().write(w);
        }
        w.offset(self.heap_addr).offset(self.name_index_addr);
        if self.index_order {
            w.offset(self.order_index_addr);
        }
    }
}

/// Group Info message 0x0A (IV.A.2.k): a new-style group's storage thresholds. libhdf5 (and
/// h5py) write it with no fields at all — the defaults 8/6 and 4/8 apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupInfo {
    /// Link phase change: (most links in compact storage, fewest in dense storage), when
    /// not the defaults (8, 6).
    pub link_phase_change: Option<(u16, u16)>,
    /// Estimated (number of entries, name length), when not the defaults (4, 8).
    pub estimates: Option<(u16, u16)>,
}

impl GroupInfo {
    /// Decode a Group Info body.
    ///
    /// # Errors
    /// `Truncated`; `VersionNotAccepted` (at the version byte) when the version is not 0.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.version(&[0])?;
        let flags = r.u8()?;
        let link_phase_change = if flags & 1 != 0 {
            Some((r.u16()?, r.u16()?))
        } else {
            None
        };
        let estimates = if flags & 2 != 0 {
            Some((r.u16()?, r.u16()?))
        } else {
            None
        };
        Ok(GroupInfo {
            link_phase_change,
            estimates,
        })
    }

    /// Encode the body (version 0): flags (bit 0 phase change values stored, bit 1
    /// estimates stored), then the stored pairs.
    pub fn encode(&self, w: &mut Writer) {
        let flags =
            u8::from(self.link_phase_change.is_some()) | u8::from(self.estimates.is_some()) << 1;
        w.u8(0).u8(flags);
        for (a, b) in self.link_phase_change.iter().chain(&self.estimates) {
            w.u16(*a).u16(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

    use crate::chunk_array::test_util::hex;

    fn with(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new(Sizes::DEFAULT);
        f(&mut w);
        w.finish()
    }

    fn rd(b: &[u8]) -> Reader<'_> {
        Reader::new(b, 0, Sizes::DEFAULT, "link")
    }

    #[test]
    fn links_round_trip() {
        let long = "n".repeat(300);
        let targets = [
            LinkTarget::Hard(0x1234),
            LinkTarget::Soft("/a/b".into()),
            LinkTarget::External {
                file: "f.h5".into(),
                path: "/x".into(),
            },
            LinkTarget::UserDefined {
                kind: 187,
                data: alloc::vec![1, 2, 3],
            },
        ];
        for target in targets {
            for (name, order, charset) in [
                ("a", None, Charset::Ascii),
                ("ünï", Some(7), Charset::Utf8),
                (long.as_str(), Some(u64::MAX), Charset::Ascii),
            ] {
                let l = Link {
                    name: name.into(),
                    creation_order: order,
                    charset,
                    target: target.clone(),
                };
                let b = with(|w| l.encode(w).unwrap());
                let mut r = rd(&b);
                assert_eq!(Link::decode(&mut r).unwrap(), l);
                assert_eq!(r.remaining(), 0);
            }
        }
        let mut l = Link {
            name: String::new(),
            creation_order: None,
            charset: Charset::Ascii,
            target: LinkTarget::Hard(0),
        };
        assert!(l.encode(&mut Writer::default()).is_err());
        l.name = "x".into();
        l.target = LinkTarget::UserDefined {
            kind: 64,
            data: Vec::new(),
        };
        assert!(l.encode(&mut Writer::default()).is_err());
    }

    #[test]
    fn info_messages_round_trip() {
        for li in [
            LinkInfo {
                track_order: false,
                index_order: false,
                max_creation_index: None,
                heap_addr: None,
                name_index_addr: None,
                order_index_addr: None,
            },
            LinkInfo {
                track_order: true,
                index_order: true,
                max_creation_index: Some(12),
                heap_addr: Some(1),
                name_index_addr: Some(2),
                order_index_addr: None,
            },
        ] {
            let b = with(|w| li.encode(w));
            assert_eq!(LinkInfo::decode(&mut rd(&b)).unwrap(), li);
        }
        for ai in [
            AttributeInfo {
                track_order: true,
                index_order: false,
                max_creation_index: Some(3),
                heap_addr: Some(1),
                name_index_addr: None,
                order_index_addr: None,
            },
            AttributeInfo {
                track_order: true,
                index_order: true,
                max_creation_index: Some(3),
                heap_addr: None,
                name_index_addr: None,
                order_index_addr: Some(9),
            },
        ] {
            let b = with(|w| ai.encode(w));
            assert_eq!(AttributeInfo::decode(&mut rd(&b)).unwrap(), ai);
        }
        for gi in [
            GroupInfo::default(),
            GroupInfo {
                link_phase_change: Some((16, 10)),
                estimates: Some((100, 20)),
            },
            GroupInfo {
                link_phase_change: None,
                estimates: Some((1, 2)),
            },
        ] {
            let b = with(|w| gi.encode(w));
            let mut r = rd(&b);
            assert_eq!(GroupInfo::decode(&mut r).unwrap(), gi);
            assert_eq!(r.remaining(), 0);
        }
    }

    /// Link, Link Info, Group Info and Attribute Info bodies libhdf5 2.0 wrote (through h5py)
    /// in groups_latest.h5 and attrs_latest.h5 (v2 object headers and fractal heap objects:
    /// no padding), decoded and re-encoded. libhdf5 stores the charset only for UTF-8 names —
    /// and h5py asks for UTF-8 only on some paths: `/ünïcødé` (a group) has it, the dataset
    /// `ñame with spaces` inside it is stored as ASCII.
    #[test]
    fn byte_exact_against_libhdf5() {
        for (label, h) in [
            (
                "groups_latest /ordered yankee (creation order 4)",
                "010404000000000000000679616e6b65651e71000000000000",
            ),
            (
                "groups_latest / ünïcødé (UTF-8)",
                "0110010bc3bc6ec3af63c3b864c3a9ba05000000000000",
            ),
            (
                "groups_latest /ünïcødé ñame with spaces",
                "010011c3b1616d652077697468207370616365737406000000000000",
            ),
            ("groups_latest / dense", "01000564656e73658556000000000000"),
            (
                "groups_latest /links soft_group (dense heap)",
                "0108010a736f66745f67726f757004002f612f62",
            ),
            (
                "groups_latest /links ext_missing (dense heap)",
                "0108400b6578745f6d697373696e67160000646f65735f6e6f745f65786973742e6835002f7800",
            ),
            (
                "groups_latest /links hard_dataset (dense heap)",
                "01000c686172645f64617461736574f903000000000000",
            ),
        ] {
            let b = hex(h);
            let mut r = rd(&b);
            let l = Link::decode(&mut r).unwrap();
            assert_eq!(r.remaining(), 0, "{label}");
            assert_eq!(with(|w| l.encode(w).unwrap()), b, "{label}");
        }
        for (label, h) in [
            (
                "groups_latest (compact group)",
                "0000ffffffffffffffffffffffffffffffff",
            ),
            (
                "groups_latest /ordered (tracked + indexed, compact)",
                "00030500000000000000ffffffffffffffffffffffffffffffffffffffffffffffff",
            ),
            (
                "groups_latest /ordered_dense",
                "00030c00000000000000c67b000000000000587c0000000000007e7c000000000000",
            ),
            (
                "groups_latest (dense)",
                "0000505e000000000000d121000000000000",
            ),
        ] {
            let b = hex(h);
            let li = LinkInfo::decode(&mut rd(&b)).unwrap();
            assert_eq!(with(|w| li.encode(w)), b, "{label}");
        }
        for (label, h) in [
            (
                "attrs_latest (compact)",
                "0000ffffffffffffffffffffffffffffffff",
            ),
            (
                "attrs_latest /tracked_compact (tracked + indexed)",
                "00030300ffffffffffffffffffffffffffffffffffffffffffffffff",
            ),
            (
                "attrs_latest /tracked (dense)",
                "00030c002eb2000000000000c0b2000000000000e6b2000000000000",
            ),
            (
                "attrs_latest (dense, not tracked)",
                "0000e6590000000000009a22000000000000",
            ),
        ] {
            let b = hex(h);
            let ai = AttributeInfo::decode(&mut rd(&b)).unwrap();
            assert_eq!(with(|w| ai.encode(w)), b, "{label}");
        }
        let b = [0u8, 0];
        let gi = GroupInfo::decode(&mut rd(&b)).unwrap();
        assert_eq!(gi, GroupInfo::default());
        assert_eq!(with(|w| gi.encode(w)), b, "groups_latest group info");
    }

    #[test]
    fn soft_and_external() {
        let b = [1u8, 0x08, 1, 1, b'a', 2, 0, b'/', b'x'];
        let l = Link::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "link")).unwrap();
        assert_eq!(l.name, "a");
        assert_eq!(l.target, LinkTarget::Soft("/x".into()));
        let mut b = alloc::vec![1u8, 0x08 | 0x04, 64];
        b.extend(7u64.to_le_bytes());
        b.extend([2, b'e', b'x']);
        b.extend(6u16.to_le_bytes());
        b.extend([0, b'f', 0, b'/', b'p', 0]);
        let l = Link::decode(&mut Reader::new(&b, 0, Sizes::DEFAULT, "link")).unwrap();
        assert_eq!(l.creation_order, Some(7));
        assert_eq!(
            l.target,
            LinkTarget::External {
                file: "f".into(),
                path: "/p".into()
            }
        );
    }
}

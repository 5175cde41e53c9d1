//! Link message 0x06 (IV.A.2.g), Link Info 0x02 (IV.A.2.c) and Group Info 0x0A (IV.A.2.k).

use crate::error::{ErrorKind, Result};
use crate::reader::{Addr, Reader};
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
    /// Target.
    pub target: LinkTarget,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Link {
    /// Decode a link message body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        if version != 1 {
            return Err(start.err(ErrorKind::BadVersion(version)));
        }
        let flags = r.u8()?;
        let kind = if flags & 0x08 != 0 { r.u8()? } else { 0 };
        let creation_order = if flags & 0x04 != 0 {
            Some(r.u64()?)
        } else {
            None
        };
        if flags & 0x10 != 0 {
            let cs = r.u8()?;
            if cs > 1 {
                return Err(start.invalid("link name character set"));
            }
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
            target,
        })
    }
}

/// Link Info message: where a new-style group keeps dense links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Creation order tracked.
    pub track_order: bool,
    /// Creation order indexed.
    pub index_order: bool,
    /// Max creation index.
    pub max_creation_index: Option<u64>,
    /// Fractal heap of dense links.
    pub heap_addr: Addr,
    /// v2 B-tree (type 5) name index.
    pub name_index_addr: Addr,
    /// v2 B-tree (type 6) creation order index.
    pub order_index_addr: Addr,
}

impl LinkInfo {
    /// Decode a Link Info body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        if version != 0 {
            return Err(start.err(ErrorKind::BadVersion(version)));
        }
        let flags = r.u8()?;
        let max_creation_index = if flags & 1 != 0 { Some(r.u64()?) } else { None };
        let heap_addr = r.offset()?;
        let name_index_addr = r.offset()?;
        let order_index_addr = if flags & 2 != 0 { r.offset()? } else { None };
        Ok(LinkInfo {
            track_order: flags & 1 != 0,
            index_order: flags & 2 != 0,
            max_creation_index,
            heap_addr,
            name_index_addr,
            order_index_addr,
        })
    }
}

/// Attribute Info message 0x15 (IV.A.2.v): where an object keeps dense attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeInfo {
    /// Creation order tracked.
    pub track_order: bool,
    /// Max creation index.
    pub max_creation_index: Option<u16>,
    /// Fractal heap of dense attributes.
    pub heap_addr: Addr,
    /// v2 B-tree (type 8) name index.
    pub name_index_addr: Addr,
    /// v2 B-tree (type 9) creation order index.
    pub order_index_addr: Addr,
}

impl AttributeInfo {
    /// Decode an Attribute Info body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.clone();
        let version = r.u8()?;
        if version != 0 {
            return Err(start.err(ErrorKind::BadVersion(version)));
        }
        let flags = r.u8()?;
        let max_creation_index = if flags & 1 != 0 { Some(r.u16()?) } else { None };
        let heap_addr = r.offset()?;
        let name_index_addr = r.offset()?;
        let order_index_addr = if flags & 2 != 0 { r.offset()? } else { None };
        Ok(AttributeInfo {
            track_order: flags & 1 != 0,
            max_creation_index,
            heap_addr,
            name_index_addr,
            order_index_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Sizes;

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

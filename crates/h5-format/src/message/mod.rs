//! Object header messages (spec IV.A.2), one module per message.

pub mod attribute;
pub mod dataspace;
pub mod datatype;
pub mod fill_value;
pub mod filter_pipeline;
pub mod layout;
pub mod link;
pub mod misc;
pub mod shared;

/// A header message type: an open newtype, so unknown values are representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageType(pub u16);

impl MessageType {
    /// Padding / deleted space.
    pub const NIL: Self = Self(0x00);
    /// Dataspace.
    pub const DATASPACE: Self = Self(0x01);
    /// Link info.
    pub const LINK_INFO: Self = Self(0x02);
    /// Datatype.
    pub const DATATYPE: Self = Self(0x03);
    /// Fill value (old).
    pub const FILL_VALUE_OLD: Self = Self(0x04);
    /// Fill value.
    pub const FILL_VALUE: Self = Self(0x05);
    /// Link.
    pub const LINK: Self = Self(0x06);
    /// External data files.
    pub const EXTERNAL_FILES: Self = Self(0x07);
    /// Data layout.
    pub const LAYOUT: Self = Self(0x08);
    /// Bogus (test only).
    pub const BOGUS: Self = Self(0x09);
    /// Group info.
    pub const GROUP_INFO: Self = Self(0x0a);
    /// Filter pipeline.
    pub const FILTER_PIPELINE: Self = Self(0x0b);
    /// Attribute.
    pub const ATTRIBUTE: Self = Self(0x0c);
    /// Object comment.
    pub const COMMENT: Self = Self(0x0d);
    /// Modification time (old).
    pub const MTIME_OLD: Self = Self(0x0e);
    /// Shared message table.
    pub const SHARED_MESSAGE_TABLE: Self = Self(0x0f);
    /// Header continuation.
    pub const CONTINUATION: Self = Self(0x10);
    /// Symbol table.
    pub const SYMBOL_TABLE: Self = Self(0x11);
    /// Modification time.
    pub const MTIME: Self = Self(0x12);
    /// B-tree K values.
    pub const BTREE_K: Self = Self(0x13);
    /// Driver info.
    pub const DRIVER_INFO: Self = Self(0x14);
    /// Attribute info.
    pub const ATTRIBUTE_INFO: Self = Self(0x15);
    /// Object reference count.
    pub const REFCOUNT: Self = Self(0x16);
    /// File space info.
    pub const FILE_SPACE_INFO: Self = Self(0x17);
    /// Metadata cache image (undocumented in spec 4.0).
    pub const MDC_IMAGE: Self = Self(0x18);

    /// Whether this implementation knows the type (decodes or deliberately skips it).
    pub fn is_known(self) -> bool {
        self.0 <= 0x18
    }
}

/// Message flag bit: the body is a shared-message reference.
pub const FLAG_SHARED: u8 = 0x02;
/// Message flag bit: fail to open for writing if the type is unknown.
pub const FLAG_FAIL_IF_UNKNOWN_WRITE: u8 = 0x08;
/// Message flag bit: always fail if the type is unknown.
pub const FLAG_FAIL_IF_UNKNOWN: u8 = 0x80;

//! The one error type of `h5-format`: what went wrong, in which structure, at which file offset.

use alloc::string::String;
use core::fmt;

/// A decoding error. Every error names the structure being decoded and the absolute file
/// offset (relative to the start of the storage, base address already applied) where the
/// problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The structure being decoded ("object header", "v1 B-tree node", ...).
    pub structure: &'static str,
    /// Absolute file offset of the problem.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The structure ends beyond the bytes available.
    Truncated,
    /// The signature bytes do not match.
    BadSignature,
    /// A version an encoder was asked to write that it cannot write (offset 0: there is no
    /// file position). Decoders never raise it — an unknown version *read* from a file is
    /// always [`ErrorKind::VersionNotAccepted`]; kept for the encoders and for compatibility.
    BadVersion(u8),
    /// A version read from a file is not one the decoder reads (raised by
    /// [`Reader::version`](crate::Reader::version) and
    /// [`Reader::prologue`](crate::Reader::prologue), or by hand for versions that are not a
    /// whole byte, always at the version field's offset).
    VersionNotAccepted {
        /// The version found.
        version: u8,
        /// The versions the decoder reads.
        accepted: &'static [u8],
    },
    /// The stored lookup3 checksum does not match the computed one.
    BadChecksum {
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum computed over the bytes.
        computed: u32,
    },
    /// A field holds a value the format does not allow.
    Invalid(&'static str),
    /// A valid feature this implementation does not support (yet).
    Unsupported(String),
    /// A size or count from the file exceeds a configured limit.
    Limit {
        /// What was too large.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A chain of addresses loops back on itself.
    Cycle,
}

impl Error {
    /// Build an error.
    pub fn new(structure: &'static str, offset: u64, kind: ErrorKind) -> Self {
        Error {
            structure,
            offset,
            kind,
        }
    }
    /// An invalid-field error.
    pub fn invalid(structure: &'static str, offset: u64, what: &'static str) -> Self {
        Self::new(structure, offset, ErrorKind::Invalid(what))
    }
    /// An unsupported-feature error.
    pub fn unsupported(structure: &'static str, offset: u64, what: impl Into<String>) -> Self {
        Self::new(structure, offset, ErrorKind::Unsupported(what.into()))
    }
    /// A limit error.
    pub fn limit(
        structure: &'static str,
        offset: u64,
        what: &'static str,
        value: u64,
        limit: u64,
    ) -> Self {
        Self::new(structure, offset, ErrorKind::Limit { what, value, limit })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated => f.write_str("truncated"),
            ErrorKind::BadSignature => f.write_str("bad signature"),
            ErrorKind::BadVersion(v) => write!(f, "unknown version {v}"),
            ErrorKind::VersionNotAccepted { version, accepted } => {
                write!(f, "unknown version {version} (accepted:")?;
                for (i, v) in accepted.iter().enumerate() {
                    write!(f, "{} {v}", if i == 0 { "" } else { "," })?;
                }
                f.write_str(")")
            }
            ErrorKind::BadChecksum { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
            ErrorKind::Invalid(what) => write!(f, "invalid {what}"),
            ErrorKind::Unsupported(what) => write!(f, "unsupported: {what}"),
            ErrorKind::Limit { what, value, limit } => {
                write!(f, "{what} {value} exceeds the limit {limit}")
            }
            ErrorKind::Cycle => f.write_str("address cycle"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:#x}: {}", self.structure, self.offset, self.kind)
    }
}

impl core::error::Error for Error {}

/// Result alias for this crate.
pub type Result<T> = core::result::Result<T, Error>;

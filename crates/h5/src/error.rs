//! The error type of `h5`.

use std::fmt;

/// Everything that can go wrong reading a file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The operating system failed a read.
    Io(std::io::Error),
    /// The file could not be opened or created (it does not exist, permissions…).
    Open {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The bytes hold no HDF5 superblock where libhdf5 looks for one.
    NotHdf5 {
        /// The file, when opened from a path.
        path: Option<std::path::PathBuf>,
        /// The offsets searched for the signature (0, 512, 1024, … below the file's end).
        searched: Vec<u64>,
        /// The file's length.
        len: u64,
    },
    /// The file's bytes are malformed (names the structure and the file offset).
    Format(h5_format::Error),
    /// A filter failed on a chunk at this file offset.
    Filter {
        /// The filter's error.
        source: h5_filters::Error,
        /// File offset of the chunk.
        offset: u64,
    },
    /// The file is shorter than its superblock says: cut off, or one member of a family or
    /// split file. `OpenOptions::allow_truncated` opens it anyway.
    Truncated {
        /// End-of-file address stored in the superblock.
        eof: u64,
        /// Bytes actually present.
        len: u64,
    },
    /// A valid feature we do not support yet.
    Unsupported(String),
    /// The file is in use: another process (or another handle in this one) holds its lock,
    /// or its superblock says a writer has it open (or crashed with it open).
    Locked {
        /// The file.
        path: String,
        /// Why, and what to do.
        reason: String,
    },
    /// No object or link by that name.
    NotFound(String),
    /// A link by that name already exists.
    Exists(String),
    /// A write to a file opened read-only, or after `close()`.
    ReadOnly(String),
    /// Data that does not fit the dataset (shape, type, or a write outside it).
    Shape(String),
    /// The object is not what the call needs (a group where a dataset was asked for…).
    WrongKind {
        /// The path.
        path: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A selection that does not fit the dataset.
    Selection(String),
    /// A type conversion that is not possible.
    Conversion(String),
    /// An error with the object path it happened under.
    At {
        /// Object path.
        path: String,
        /// The error.
        source: Box<Error>,
    },
}

impl Error {
    /// Wrap with the object path.
    pub fn at(self, path: &str) -> Error {
        match self {
            Error::At { .. } | Error::NotFound(_) | Error::WrongKind { .. } => self,
            e => Error::At {
                path: path.to_string(),
                source: Box::new(e),
            },
        }
    }
    /// The innermost error (without object paths).
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::At { source, .. } => source.root_cause(),
            e => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Open { path, source } => {
                write!(
                    f,
                    "cannot open {:?}: {}",
                    path.display().to_string(),
                    os_message(source)
                )
            }
            Error::NotHdf5 {
                path,
                searched,
                len,
            } => {
                match path {
                    Some(p) => write!(f, "{:?} is not an HDF5 file", p.display().to_string())?,
                    None => write!(f, "not an HDF5 file")?,
                }
                let at: Vec<String> = searched.iter().map(|o| o.to_string()).collect();
                match at.len() {
                    0 => write!(f, ": {len} bytes, too short to hold a superblock"),
                    1 => write!(f, ": no HDF5 signature at offset {} ({len} bytes)", at[0]),
                    n => write!(
                        f,
                        ": no HDF5 signature at offsets {} or {} ({len} bytes)",
                        at[..n - 1].join(", "),
                        at[n - 1]
                    ),
                }
            }
            Error::Format(e) => write!(f, "{e}"),
            Error::Filter { source, offset } => write!(f, "chunk at {offset:#x}: {source}"),
            Error::Truncated { eof, len } => write!(
                f,
                "truncated file: the superblock says it ends at {eof:#x} but it has {len:#x} bytes \
                 (cut off, or a member of a family/split file)"
            ),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Locked { path, reason } => write!(f, "cannot open {path:?}: {reason}"),
            Error::NotFound(p) => write!(f, "no object named {p:?}"),
            Error::Exists(p) => write!(f, "{p:?} already exists"),
            Error::ReadOnly(m) => write!(f, "cannot write: {m}"),
            Error::Shape(m) => write!(f, "{m}"),
            Error::WrongKind { path, expected } => write!(f, "{path:?} is not a {expected}"),
            Error::Selection(m) => write!(f, "bad selection: {m}"),
            Error::Conversion(m) => write!(f, "cannot convert: {m}"),
            Error::At { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Open { source, .. } => Some(source),
            Error::Format(e) => Some(e),
            Error::Filter { source, .. } => Some(source),
            Error::At { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<h5_format::Error> for Error {
    fn from(e: h5_format::Error) -> Self {
        Error::Format(e)
    }
}

/// What the operating system said, without the "(os error N)" suffix.
fn os_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Conversions that cannot fail (a [`crate::Selection`] from a range) meet fallible ones
/// (one parsed from text) in the same `TryInto` bound.
impl From<std::convert::Infallible> for Error {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

//! Link names and paths.

use crate::error::Error;
use crate::error::Result;

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name.contains('/') {
        return Err(Error::Shape(format!("{name:?} is not a valid link name")));
    }
    Ok(())
}

pub(crate) fn join(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

//! Link names and paths.

use super::WriteCtx;
use crate::base::ObjectHeader;
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

/// Whether the group whose header is at `parent` already has a link `name`.
pub(crate) fn taken(cx: &mut WriteCtx<'_>, parent: u64, name: &str) -> Result<bool> {
    match super::links::fast_contains(cx, parent, name)? {
        Some(b) => Ok(b),
        None => {
            let h = ObjectHeader::load(cx.f, parent)?;
            Ok(crate::read::links::find(cx.f, &h, name)?.is_some())
        }
    }
}

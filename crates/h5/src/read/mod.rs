//! Reading: links, selections and their maths, number conversion, element values, datatype
//! constructors.

pub(crate) mod chunks;
pub(crate) mod convert;
pub(crate) mod links;
pub(crate) mod selection;
pub mod types;
pub(crate) mod value;

//! Reading: attributes, links, chunk indexes, the dataset read engine, selections and their maths, number conversion, element values, datatype
//! constructors.

pub(crate) mod attrs;
pub(crate) mod chunks;
pub(crate) mod convert;
pub(crate) mod dataset;
pub(crate) mod element;
pub(crate) mod fixed;
pub(crate) mod grid;
pub(crate) mod links;
pub(crate) mod selection;
pub(crate) mod selection_from;
pub mod types;
pub(crate) mod value;

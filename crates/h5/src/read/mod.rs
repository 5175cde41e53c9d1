//! Reading: selections and their maths, number conversion, element values, datatype
//! constructors.

pub(crate) mod convert;
pub(crate) mod selection;
pub mod types;
pub(crate) mod value;

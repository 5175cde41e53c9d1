//! The public handles: File, Group, Dataset, Attribute(s), the dataset builder, and virtual
//! datasets (whose sources are other files' datasets).

pub(crate) mod attribute;
pub(crate) mod builder;
pub(crate) mod dataset;
pub(crate) mod file;
pub(crate) mod group;
pub(crate) mod handles;
pub(crate) mod object;
pub(crate) mod virtual_ds;

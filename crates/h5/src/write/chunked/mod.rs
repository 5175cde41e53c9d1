//! Chunked datasets: chunk shapes as h5py guesses them, the filter pipeline h5py builds,
//! chunk reads and writes through the filters, and resizing. The chunk indexes are in
//! [`index`] (one interface over every kind) and [`btree1`] (the version 1 B-tree of the
//! default profile).

mod btree1;
mod edit;
mod index;
mod meta;
mod plan;

pub(crate) use edit::{extents, resize, write};
#[cfg(feature = "zfp")]
pub(crate) use plan::ZfpMode;
pub(crate) use plan::{
    blosc_codec, new_layout, pipeline_message, plan, scale_offset_fill, Compression, FilterSpec,
};

//! h5: HDF5 in pure Rust.

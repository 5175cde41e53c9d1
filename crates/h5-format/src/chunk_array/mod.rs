//! What the two paged chunk-index arrays ([`crate::fixed_array`] and
//! [`crate::extensible_array`]) share: the chunk element and its encoding ([`ChunkElement`],
//! [`ElementFormat`]), the MSB-first page-initialised bitmaps of their paged data blocks, and
//! the bookkeeping of their editing models (block-size limit, loaded extents, element runs,
//! checked allocation).

mod block;
mod edit;
mod element;
mod pages;
#[cfg(test)]
pub(crate) mod test_util;
#[cfg(test)]
mod tests;

pub(crate) use block::{block_start, header_start};
pub use edit::MAX_EDIT_BLOCK_BYTES;
pub(crate) use edit::{
    block_len, check_fits, checked_alloc, edit_format, encode_elements_page, filled, load_header,
    sealed_elements, DataBlockAt, Extents, HeaderSlot, Segment,
};
pub use element::{
    filtered_chunk_size_len, ChunkElement, ElementFormat, CLIENT_FILTERED_CHUNKS,
    CLIENT_UNFILTERED_CHUNKS,
};
pub use pages::page_initialised;
pub(crate) use pages::{set_bits, set_page_bit};

//! stub
use crate::{id, Filter, FilterParams, Result};
pub(crate) struct Blosc2;
impl Filter for Blosc2 {
    fn id(&self) -> u16 {
        id::BLOSC2
    }
    fn decode(&self, _p: &FilterParams<'_>, input: Vec<u8>, _limit: usize) -> Result<Vec<u8>> {
        Ok(input)
    }
}

//! One codec per protocol body format.

pub mod cbor;
pub mod json;
pub mod query;
pub mod xml;

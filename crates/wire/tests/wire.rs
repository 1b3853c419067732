//! Integration tests for the wire layer: SigV4 against the published AWS vectors, every
//! codec's output (as insta snapshots) and input, protocol resolution, bad input, and
//! property tests. One binary; the areas live in `tests/wire/`.

#[path = "wire/common.rs"]
mod common;

#[path = "wire/sigv4.rs"]
mod sigv4;

#[path = "wire/codecs.rs"]
mod codecs;

#[path = "wire/errors.rs"]
mod errors;

#[path = "wire/bad_input.rs"]
mod bad_input;

#[path = "wire/resolve.rs"]
mod resolve;

#[path = "wire/props.rs"]
mod props;

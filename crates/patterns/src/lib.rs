//! The Amazon EventBridge event pattern language: parsing (with the validation that
//! backs `InvalidEventPatternException`, including EventBridge's limits: 4096 characters
//! of pattern text, at most 1000 combinations of `$or` alternatives, numeric operands
//! within ±5.0e9 to 15 significant digits and six decimal places), matching one pattern
//! against an event, and a [`Matcher`] that compiles many patterns into one automaton so
//! that matching an event costs about the same with 100,000 patterns as with ten.
//!
//! Semantics, as implemented here:
//! - A pattern is a JSON object; every field must match (AND), and the values in a leaf
//!   array are alternatives (OR). `"$or": [p1, p2, ..]` may appear at any object level.
//! - Event arrays are flattened: a leaf matches if any element matches. When the event
//!   holds an array of objects under a nested pattern, all fields of that nested pattern
//!   must be satisfied by the same element.
//! - A leaf's event values are the scalars found at that path (arrays flattened, objects
//!   ignored). `{"exists": true}` needs at least one; `{"exists": false}` needs none.
//!   Every other condition needs at least one value that satisfies it, so a missing field
//!   never matches `null` nor `anything-but`.

mod eval;
mod matcher;
mod ops;
mod parse;
mod value;

use thiserror::Error;

pub use matcher::Matcher;
pub use parse::{MAX_OR_COMBINATIONS, MAX_PATTERN_CHARS};

/// Why a pattern was rejected. The message names the problem and, for validation errors,
/// the JSON path in the pattern, so that it can be returned verbatim to API callers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The pattern text is not JSON at all.
    #[error("event pattern is not valid JSON: {0}")]
    Json(String),
    /// The pattern is JSON but not a valid event pattern.
    #[error("{reason} at {path}")]
    Invalid {
        /// Where in the pattern the problem is, e.g. `$.detail.state[0]`.
        path: String,
        /// What is wrong there.
        reason: String,
    },
}

/// Why an event given as JSON text could not be matched: it is not JSON. The message
/// says what was expected and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("event is not valid JSON: {0}")]
pub struct EventError(pub String);

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A validated, compiled event pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub(crate) root: parse::Node,
}

/// Parses and validates an event pattern given as JSON text.
pub fn parse(pattern_json: &str) -> Result<Pattern> {
    parse::check_length(pattern_json)?;
    let value: serde_json::Value =
        serde_json::from_str(pattern_json).map_err(|e| Error::Json(e.to_string()))?;
    parse_value(&value)
}

/// Parses and validates an event pattern that is already a JSON value, so callers that
/// hold a decoded request body need not re-serialize it. The length limit applies to
/// pattern text, which a value no longer has, so only [`parse`] enforces it.
pub fn parse_value(pattern: &serde_json::Value) -> Result<Pattern> {
    Ok(Pattern {
        root: parse::root(pattern)?,
    })
}

impl Pattern {
    /// Whether `event` matches this pattern.
    pub fn matches(&self, event: &serde_json::Value) -> bool {
        eval::node_matches(&self.root, event.as_object())
    }
}

impl std::str::FromStr for Pattern {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}

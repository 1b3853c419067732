//! The two small languages of Amazon CloudWatch alarms and GetMetricData, kept in one
//! crate so every API that accepts them refuses and evaluates them alike:
//!
//! * metric math ([`parse`], [`evaluate`]), including `SEARCH(...)` expressions
//!   ([`search`]), evaluated against a [`Context`] the caller provides (the other queries
//!   of the request, the metric catalogue for searches, the request's time grid);
//! * composite alarm rules ([`rule`]).
//!
//! The crate does no I/O and knows nothing of storage: the caller looks metrics up and
//! computes statistics, this crate does the language.

mod calendar;
mod error;
mod eval;
mod expr;
mod functions;
mod lexer;
pub mod rule;
pub mod search;
mod series;
mod words;

pub use error::Error;
pub use eval::{Context, evaluate};
pub use expr::{BinaryOp, Expr, parse};
pub use search::{Search, SearchQuery};
pub use series::{Output, Series};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}

    #[test]
    fn parsed_forms_are_shareable() {
        assert_send_sync::<Expr>();
        assert_send_sync::<rule::Rule>();
        assert_send_sync::<Error>();
    }
}

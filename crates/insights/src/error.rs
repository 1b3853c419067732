//! Why a query was refused or failed. A refused query carries the character offsets of
//! the offending text, because StartQuery reports them to the client as
//! `queryCompileError.location` so a console can underline the mistake.

use std::fmt;

/// A query the language does not accept, located in the query text.
///
/// `start` and `end` are 0-based character (not byte) offsets into the query string,
/// `end` exclusive, matching how AWS counts `startCharOffset`/`endCharOffset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl QueryError {
    pub(crate) fn new(message: impl Into<String>, span: crate::ast::Span) -> QueryError {
        QueryError {
            message: message.into(),
            start: span.start,
            end: span.end,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (characters {} to {})",
            self.message, self.start, self.end
        )
    }
}

impl std::error::Error for QueryError {}

/// Everything that can go wrong between receiving a query and returning its rows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query text itself is malformed (MalformedQueryException).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The engine failed while running a valid query (for example the input could not
    /// be read, or the query was cancelled underneath the engine).
    #[error("query execution failed: {0}")]
    Execution(#[from] datafusion::error::DataFusionError),
    #[error("query execution failed: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

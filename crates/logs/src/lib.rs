//! CloudWatch Logs: log groups and streams, durable ingestion into the lake's
//! `log_events` dataset, reads by stream (GetLogEvents) and by filter pattern across a
//! group (FilterLogEvents), retention, tags, and the metric and subscription filters
//! that run the same pattern language over every event.

pub mod api;
pub mod batch;
pub mod crypt;
pub mod engine;
pub mod filters;
pub mod ingest;
pub mod kms;
pub mod model;
pub mod names;
pub mod otlp;
pub mod queries;
pub mod read;
pub mod retention;
pub mod sink;
pub mod store;
pub mod subscriptions;
pub mod syslog;
pub mod udf;

pub use engine::Logs;

/// Errors of the logs service, with their AWS codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceAlreadyExists(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    OperationAborted(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    MalformedQuery(sightline_insights::QueryError),
    #[error("query failed: {0}")]
    QueryFailed(String),
    #[error("storage: {0}")]
    Storage(#[from] sightline_lake::Error),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("delivery: {0}")]
    Delivery(String),
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("meta store: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sightline_logfilter::Error> for Error {
    fn from(e: sightline_logfilter::Error) -> Self {
        Error::InvalidParameter(e.to_string())
    }
}

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        use sightline_wire::ApiError;
        let bad = |code: &str, m: String| ApiError::bad_request(code, m);
        match e {
            Error::InvalidParameter(m) => bad("InvalidParameterException", m),
            Error::ResourceNotFound(m) => bad("ResourceNotFoundException", m),
            Error::ResourceAlreadyExists(m) => bad("ResourceAlreadyExistsException", m),
            Error::LimitExceeded(m) => bad("LimitExceededException", m),
            Error::OperationAborted(m) => bad("OperationAbortedException", m),
            Error::TooManyTags(m) => bad("TooManyTagsException", m),
            Error::AccessDenied(m) => bad("AccessDeniedException", m),
            Error::MalformedQuery(e) => bad("MalformedQueryException", e.message.clone())
                .with_member(
                    "queryCompileError",
                    serde_json::json!({
                        "location": {"startCharOffset": e.start, "endCharOffset": e.end},
                        "message": e.message,
                    }),
                ),
            other => ApiError::new(
                500,
                "ServiceUnavailableException",
                format!("internal error: {other}"),
            ),
        }
    }
}

//! CloudTrail: event history over the audit dataset (LookupEvents). Trails, digests and
//! delivery come with the trail-integrity work.

pub mod api;
pub mod engine;
pub mod model;

pub use engine::Trail;

/// Errors of the CloudTrail service, with their AWS codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidLookupAttributes(String),
    #[error("{0}")]
    InvalidTimeRange(String),
    #[error("{0}")]
    InvalidMaxResults(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("storage: {0}")]
    Storage(#[from] sightline_lake::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        use sightline_wire::ApiError;
        match e {
            Error::InvalidLookupAttributes(m) => {
                ApiError::bad_request("InvalidLookupAttributesException", m)
            }
            Error::InvalidTimeRange(m) => ApiError::bad_request("InvalidTimeRangeException", m),
            Error::InvalidMaxResults(m) => ApiError::bad_request("InvalidMaxResultsException", m),
            Error::InvalidNextToken(m) => ApiError::bad_request("InvalidNextTokenException", m),
            Error::Storage(s) => {
                ApiError::new(500, "CloudTrailException", format!("internal error: {s}"))
            }
        }
    }
}

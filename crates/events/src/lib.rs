//! EventBridge: event buses, rules whose patterns or schedules pick events, and the
//! targets they are delivered to with retries and dead-letter queues.
//!
//! PutEvents matches each entry against the bus's rules when it arrives and stores every
//! owed invocation in one group-committed SQLite transaction, and every archived copy in
//! the lake (`archived_events`, one fsynced append), before it answers, so an acknowledged event is delivered at least once even across a
//! `kill -9`. A dispatcher then invokes targets, rescheduling failures with exponential
//! backoff and jitter until the target's retry policy is exhausted, and sends what it
//! gives up on to the target's dead-letter queue.
//!
//! Targets reach other services only through core traits ([`sightline_core::QueueSink`],
//! [`sightline_core::TopicPublisher`], [`sightline_core::LogSink`],
//! [`sightline_core::MetricSink`]); API destinations are plain HTTP(S) calls and the
//! remediation target runs a command from the server's allow-list.

pub mod api;
pub mod archived;
pub mod archives;
pub mod buses;
pub mod connections;
pub mod deliver;
pub mod engine;
pub mod invoke;
pub mod journal;
pub mod model;
pub mod names;
pub mod policy;
pub mod put;
pub mod remediation;
pub mod rules;
pub mod schedules;
pub mod store;
pub mod transform;

pub use engine::{Events, Options, RemediationCommand, Sinks};

/// Errors of the EventBridge service, each with the code AWS answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceAlreadyExists(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidEventPattern(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    IllegalStatus(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    ConcurrentModification(String),
    #[error("{0}")]
    PolicyLengthExceeded(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("storage: {0}")]
    Storage(String),
    /// The lake (archived events) failed.
    #[error("lake: {0}")]
    Lake(#[from] sightline_lake::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The code and HTTP status EventBridge answers with.
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            Error::ResourceNotFound(_) => ("ResourceNotFoundException", 400),
            Error::ResourceAlreadyExists(_) => ("ResourceAlreadyExistsException", 400),
            Error::Validation(_) => ("ValidationException", 400),
            Error::InvalidEventPattern(_) => ("InvalidEventPatternException", 400),
            Error::LimitExceeded(_) => ("LimitExceededException", 400),
            Error::IllegalStatus(_) => ("IllegalStatusException", 400),
            Error::InvalidState(_) => ("InvalidStateException", 400),
            Error::ConcurrentModification(_) => ("ConcurrentModificationException", 400),
            Error::PolicyLengthExceeded(_) => ("PolicyLengthExceededException", 400),
            Error::AccessDenied(_) => ("AccessDeniedException", 400),
            Error::Storage(_) | Error::Lake(_) => ("InternalException", 500),
        }
    }
}

impl From<sightline_meta::Error> for Error {
    fn from(e: sightline_meta::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::Lake(e.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        let (code, status) = e.code();
        if status >= 500 {
            tracing::error!(error = %e, "events internal error");
            return sightline_wire::ApiError::new(500, code, "internal error");
        }
        sightline_wire::ApiError::new(status, code, e.to_string())
    }
}

impl From<Error> for sightline_core::Error {
    fn from(e: Error) -> Self {
        use sightline_core::Error as Core;
        match e {
            Error::ResourceNotFound(m) => Core::NotFound(m),
            Error::AccessDenied(m) => Core::AccessDenied(m),
            Error::Storage(m) => Core::Storage(m),
            Error::Lake(e) => Core::Storage(e.to_string()),
            other => {
                let (code, _) = other.code();
                Core::Service {
                    code: code.to_owned(),
                    message: other.to_string(),
                }
            }
        }
    }
}

/// Milliseconds since the epoch, the unit every stored time uses.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

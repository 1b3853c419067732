//! SNS: topics, subscriptions and the deliveries behind them. Publish accepts a message
//! only once every delivery it owes is stored in SQLite; a background task then POSTs
//! signed notifications to HTTP(S) endpoints, mails them through an SMTP relay, or hands
//! them to a queue sender, retrying per the delivery policy across restarts.
//!
//! The server wires it in with [`Sns::open`], [`Sns::spawn`] (the delivery task),
//! [`Sns::public_get`] (the unsigned GETs of SubscribeURL, UnsubscribeURL and the signing
//! certificate) and [`api::SnsService`] (the awsQuery operations).

pub mod api;
pub mod delivery;
pub mod engine;
pub mod message;
pub mod model;
pub mod policy;
pub mod public;
pub mod publish;
pub mod retry;
pub mod signing;
pub mod smtp;
pub mod store;
pub mod subscriptions;

pub use engine::{Config, QueueSender, Sns, Timing};
pub use public::PublicResponse;

/// Errors of the SNS service, each with the code AWS SNS answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `InvalidParameter`: the message is the whole text AWS sends
    /// (`Invalid parameter: TopicArn`).
    #[error("{0}")]
    InvalidParameter(String),
    /// `ParameterValueInvalid` (a message attribute that is not what its type says).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// `NotFound`, 404: an unknown topic or subscription.
    #[error("{0}")]
    NotFound(String),
    /// `ResourceNotFound`, 404: the tagging operations' word for an unknown topic.
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Authorization(String),
    #[error("{0}")]
    TagLimitExceeded(String),
    #[error("{0}")]
    EmptyBatchRequest(String),
    #[error("{0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("{0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("{0}")]
    InvalidBatchEntryId(String),
    #[error("{0}")]
    BatchRequestTooLong(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error("storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(what: impl std::fmt::Display) -> Error {
        Error::InvalidParameter(format!("Invalid parameter: {what}"))
    }

    pub(crate) fn topic_not_found() -> Error {
        Error::NotFound("Topic does not exist".into())
    }

    /// The code and HTTP status SNS answers with.
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            Error::InvalidParameter(_) => ("InvalidParameter", 400),
            Error::InvalidParameterValue(_) => ("ParameterValueInvalid", 400),
            Error::NotFound(_) => ("NotFound", 404),
            Error::ResourceNotFound(_) => ("ResourceNotFound", 404),
            Error::Authorization(_) => ("AuthorizationError", 403),
            Error::TagLimitExceeded(_) => ("TagLimitExceeded", 400),
            Error::EmptyBatchRequest(_) => ("EmptyBatchRequest", 400),
            Error::TooManyEntriesInBatchRequest(_) => ("TooManyEntriesInBatchRequest", 400),
            Error::BatchEntryIdsNotDistinct(_) => ("BatchEntryIdsNotDistinct", 400),
            Error::InvalidBatchEntryId(_) => ("InvalidBatchEntryId", 400),
            Error::BatchRequestTooLong(_) => ("BatchRequestTooLong", 400),
            Error::Signing(_) | Error::Storage(_) => ("InternalError", 500),
        }
    }
}

impl From<sightline_meta::Error> for Error {
    fn from(e: sightline_meta::Error) -> Self {
        Error::Storage(e.to_string())
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
            tracing::error!(error = %e, "sns internal error");
            return sightline_wire::ApiError::new(500, code, "internal error");
        }
        sightline_wire::ApiError::new(status, code, e.to_string())
    }
}

impl From<Error> for sightline_core::Error {
    fn from(e: Error) -> Self {
        use sightline_core::Error as Core;
        match e {
            Error::NotFound(m) | Error::ResourceNotFound(m) => Core::NotFound(m),
            Error::Authorization(m) => Core::AccessDenied(m),
            Error::Signing(m) | Error::Storage(m) => Core::Storage(m),
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

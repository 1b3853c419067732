//! The IAM crate's errors and their AWS wire form.

use sightline_wire::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    AccessDenied(String),
    /// Organizations errors carry their own codes (`AccountNotFoundException`, …).
    #[error("{code}: {message}")]
    Org { code: &'static str, message: String },
    #[error("storage: {0}")]
    Storage(#[from] sightline_meta::Error),
    #[error("storage encoding: {0}")]
    Encoding(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let msg = e.to_string();
        match e {
            Error::NoSuchEntity(m) => ApiError::new(404, "NoSuchEntity", m),
            Error::EntityAlreadyExists(m) => ApiError::new(409, "EntityAlreadyExists", m),
            Error::LimitExceeded(m) => ApiError::new(409, "LimitExceeded", m),
            Error::DeleteConflict(m) => ApiError::new(409, "DeleteConflict", m),
            Error::MalformedPolicyDocument(m) => ApiError::new(400, "MalformedPolicyDocument", m),
            Error::Validation(m) => ApiError::new(400, "ValidationError", m),
            Error::InvalidInput(m) => ApiError::new(400, "InvalidInput", m),
            Error::AccessDenied(m) => ApiError::new(403, "AccessDenied", m),
            Error::Org { code, message } => ApiError::new(400, code, message),
            Error::Storage(_) | Error::Encoding(_) => {
                tracing::error!(error = %msg, "iam storage failure");
                ApiError::new(
                    500,
                    "ServiceFailure",
                    "The request processing has failed because of an unknown error.",
                )
            }
        }
    }
}

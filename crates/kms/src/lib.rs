//! KMS: symmetric keys whose material never leaves the server unwrapped, aliases, key
//! policies, rotation and scheduled deletion, and the envelope operations (Encrypt,
//! Decrypt, GenerateDataKey, ReEncrypt) that other services use for encryption at rest.

pub mod api;
pub mod crypto;
pub mod engine;
pub mod model;
pub mod store;

pub use engine::Kms;

/// Errors of the KMS service, each with the code AWS KMS answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidAliasName(String),
    #[error("{0}")]
    Disabled(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    InvalidCiphertext(String),
    #[error("{0}")]
    IncorrectKey(String),
    #[error("{0}")]
    InvalidKeyUsage(String),
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidMarker(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Tag(String),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
        use sightline_wire::ApiError;
        let code = match &e {
            Error::NotFound(_) => "NotFoundException",
            Error::InvalidArn(_) => "InvalidArnException",
            Error::AlreadyExists(_) => "AlreadyExistsException",
            Error::InvalidAliasName(_) => "InvalidAliasNameException",
            Error::Disabled(_) => "DisabledException",
            Error::InvalidState(_) => "KMSInvalidStateException",
            Error::InvalidCiphertext(_) => "InvalidCiphertextException",
            Error::IncorrectKey(_) => "IncorrectKeyException",
            Error::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            Error::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            Error::Validation(_) => "ValidationException",
            Error::InvalidMarker(_) => "InvalidMarkerException",
            Error::Unsupported(_) => "UnsupportedOperationException",
            Error::Tag(_) => "TagException",
            Error::MasterKey(_) | Error::Crypto(_) | Error::Storage(_) => {
                tracing::error!(error = %e, "kms internal error");
                return ApiError::new(500, "KMSInternalException", "internal error");
            }
        };
        ApiError::bad_request(code, e.to_string())
    }
}

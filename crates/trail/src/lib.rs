//! CloudTrail: the event history over the audit dataset (LookupEvents), and trails that
//! deliver the audit records as gzipped log files into S3 buckets, with signed digest
//! files chaining them so that any change, deletion or forgery is detectable
//! (`aws cloudtrail validate-logs`, and `sightline trail verify` which checks more).

pub mod api;
pub mod delivery;
pub mod digest;
pub mod engine;
pub mod model;
pub mod scan;
pub mod signing;
pub mod store;
pub mod tlog;
pub mod trails;
pub mod verify;

pub use engine::Trail;
pub use trails::{DeliveryOptions, Trails};

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
    #[error("{0}")]
    TrailNotFound(String),
    #[error("{0}")]
    TrailAlreadyExists(String),
    #[error("{0}")]
    InvalidTrailName(String),
    #[error("{0}")]
    CloudTrailArnInvalid(String),
    #[error("{0}")]
    InvalidHomeRegion(String),
    #[error("{0}")]
    MaximumNumberOfTrailsExceeded(String),
    #[error("{0}")]
    S3BucketDoesNotExist(String),
    #[error("{0}")]
    InsufficientS3BucketPolicy(String),
    #[error("{0}")]
    InvalidS3BucketName(String),
    #[error("{0}")]
    InvalidS3Prefix(String),
    #[error("{0}")]
    InvalidKmsKeyId(String),
    #[error("{0}")]
    KmsKeyNotFound(String),
    #[error("{0}")]
    KmsKeyDisabled(String),
    #[error("{0}")]
    InsufficientEncryptionPolicy(String),
    #[error("{0}")]
    Kms(String),
    #[error("{0}")]
    InvalidEventSelectors(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error("storage: {0}")]
    Storage(#[from] sightline_lake::Error),
    #[error("meta store: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        use sightline_wire::ApiError;
        let bad = |code: &str, m: String| ApiError::bad_request(code, m);
        match e {
            Error::InvalidLookupAttributes(m) => bad("InvalidLookupAttributesException", m),
            Error::InvalidTimeRange(m) => bad("InvalidTimeRangeException", m),
            Error::InvalidMaxResults(m) => bad("InvalidMaxResultsException", m),
            Error::InvalidNextToken(m) => bad("InvalidNextTokenException", m),
            Error::TrailNotFound(m) => bad("TrailNotFoundException", m),
            Error::TrailAlreadyExists(m) => bad("TrailAlreadyExistsException", m),
            Error::InvalidTrailName(m) => bad("InvalidTrailNameException", m),
            Error::CloudTrailArnInvalid(m) => bad("CloudTrailARNInvalidException", m),
            Error::InvalidHomeRegion(m) => bad("InvalidHomeRegionException", m),
            Error::MaximumNumberOfTrailsExceeded(m) => {
                bad("MaximumNumberOfTrailsExceededException", m)
            }
            Error::S3BucketDoesNotExist(m) => bad("S3BucketDoesNotExistException", m),
            Error::InsufficientS3BucketPolicy(m) => bad("InsufficientS3BucketPolicyException", m),
            Error::InvalidS3BucketName(m) => bad("InvalidS3BucketNameException", m),
            Error::InvalidS3Prefix(m) => bad("InvalidS3PrefixException", m),
            Error::InvalidKmsKeyId(m) => bad("InvalidKmsKeyIdException", m),
            Error::KmsKeyNotFound(m) => bad("KmsKeyNotFoundException", m),
            Error::KmsKeyDisabled(m) => bad("KmsKeyDisabledException", m),
            Error::InsufficientEncryptionPolicy(m) => {
                bad("InsufficientEncryptionPolicyException", m)
            }
            Error::Kms(m) => bad("KmsException", m),
            Error::InvalidEventSelectors(m) => bad("InvalidEventSelectorsException", m),
            Error::InvalidParameterCombination(m) => bad("InvalidParameterCombinationException", m),
            Error::InvalidParameter(m) => bad("InvalidParameterException", m),
            Error::InvalidToken(m) => bad("InvalidTokenException", m),
            other => ApiError::new(
                500,
                "CloudTrailException",
                format!("internal error: {other}"),
            ),
        }
    }
}

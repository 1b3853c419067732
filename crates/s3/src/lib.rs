//! S3, the subset trails deliver into: buckets, objects with user metadata, ranges and
//! ETags, versioning with delete markers, and the listings. Object bytes live in an
//! `object_store` (a directory inside the data directory by default); buckets and
//! versions are rows in SQLite, so a listing is an indexed query and a version appears
//! only once its bytes are stored.

pub mod api;
pub mod engine;
pub mod model;
pub mod store;

pub use engine::S3;

/// S3 errors, each with the code and HTTP status S3 answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("The specified bucket is not valid.")]
    InvalidBucketName(String),
    #[error("The specified bucket does not exist")]
    NoSuchBucket(String),
    #[error(
        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
    )]
    BucketAlreadyExists(String),
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou(String),
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty(String),
    #[error("The specified key does not exist.")]
    NoSuchKey(String),
    #[error("The specified version does not exist.")]
    NoSuchVersion(String),
    #[error("The specified method is not allowed against this resource.")]
    MethodNotAllowed,
    /// The key's latest version (404, NoSuchKey) or the version named (405,
    /// MethodNotAllowed) is a delete marker; the answer says so in headers.
    #[error("{}", if *named { Error::MethodNotAllowed.to_string() } else { Error::NoSuchKey(String::new()).to_string() })]
    DeleteMarker { named: bool, version_id: String },
    #[error("The requested range is not satisfiable")]
    InvalidRange,
    #[error("{0}")]
    InvalidArgument(String),
    #[error(
        "The XML you provided was not well-formed or did not validate against our published schema"
    )]
    MalformedXml,
    #[error(
        "The Content-MD5 or checksum value that you specified did not match what the server received."
    )]
    BadDigest,
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    #[error("Access Denied")]
    AccessDenied,
    #[error("{0}")]
    NotImplemented(String),
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    #[error("Object Lock configuration cannot be enabled on existing buckets")]
    InvalidBucketState,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Object Lock configuration does not exist for this bucket")]
    ObjectLockConfigurationNotFound,
    #[error("The specified object does not have a ObjectLock configuration")]
    NoSuchObjectLockConfiguration,
    #[error("The bucket policy does not exist")]
    NoSuchBucketPolicy,
    #[error("{0}")]
    MalformedPolicy(String),
    /// A KMS refusal while encrypting or decrypting for the caller, with S3's code.
    #[error("{message}")]
    Kms {
        status: u16,
        code: String,
        message: String,
    },
    #[error("storage: {0}")]
    Storage(String),
}

impl From<sightline_core::Error> for Error {
    fn from(e: sightline_core::Error) -> Self {
        match e {
            sightline_core::Error::AccessDenied(message) => Error::Kms {
                status: 403,
                code: "AccessDenied".into(),
                message,
            },
            sightline_core::Error::Service { code, message } => Error::Kms {
                status: 400,
                code: format!("KMS.{code}"),
                message,
            },
            other => Error::Storage(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sightline_meta::Error> for Error {
    fn from(e: sightline_meta::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl Error {
    /// (HTTP status, S3 error code).
    pub fn status_code(&self) -> (u16, &str) {
        match self {
            Error::Kms { status, code, .. } => (*status, code.as_str()),
            Error::InvalidBucketName(_) => (400, "InvalidBucketName"),
            Error::NoSuchBucket(_) => (404, "NoSuchBucket"),
            Error::BucketAlreadyExists(_) => (409, "BucketAlreadyExists"),
            Error::BucketAlreadyOwnedByYou(_) => (409, "BucketAlreadyOwnedByYou"),
            Error::BucketNotEmpty(_) => (409, "BucketNotEmpty"),
            Error::NoSuchKey(_) => (404, "NoSuchKey"),
            Error::NoSuchVersion(_) => (404, "NoSuchVersion"),
            Error::MethodNotAllowed => (405, "MethodNotAllowed"),
            Error::DeleteMarker { named: true, .. } => Error::MethodNotAllowed.status_code(),
            Error::DeleteMarker { .. } => (404, "NoSuchKey"),
            Error::InvalidRange => (416, "InvalidRange"),
            Error::InvalidArgument(_) => (400, "InvalidArgument"),
            Error::MalformedXml => (400, "MalformedXML"),
            Error::BadDigest => (400, "BadDigest"),
            Error::ContentSha256Mismatch => (400, "XAmzContentSHA256Mismatch"),
            Error::AccessDenied => (403, "AccessDenied"),
            Error::NotImplemented(_) => (501, "NotImplemented"),
            Error::PreconditionFailed => (412, "PreconditionFailed"),
            Error::InvalidBucketState => (409, "InvalidBucketState"),
            Error::InvalidRequest(_) => (400, "InvalidRequest"),
            Error::ObjectLockConfigurationNotFound => (404, "ObjectLockConfigurationNotFoundError"),
            Error::NoSuchObjectLockConfiguration => (404, "NoSuchObjectLockConfiguration"),
            Error::NoSuchBucketPolicy => (404, "NoSuchBucketPolicy"),
            Error::MalformedPolicy(_) => (400, "MalformedPolicy"),
            Error::Storage(_) => (500, "InternalError"),
        }
    }
}

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = e.status_code();
        if let Error::Storage(s) = &e {
            tracing::error!(error = %s, "s3 storage error");
            return sightline_wire::ApiError::new(
                status,
                code,
                "We encountered an internal error. Please try again.",
            );
        }
        let api = sightline_wire::ApiError::new(status, code, e.to_string());
        match &e {
            Error::DeleteMarker { version_id, .. } => {
                let api = api.with_header("x-amz-delete-marker", "true");
                match version_id.as_str() {
                    crate::model::NULL_VERSION => api,
                    id => api.with_header("x-amz-version-id", id),
                }
            }
            _ => api,
        }
    }
}

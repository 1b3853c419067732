//! SQS: standard queues with their attributes, tags and policies, and the messages in
//! them. A message is acknowledged only once its row is committed to SQLite (FULL sync,
//! concurrent writes grouped into one transaction by the writer thread), so a
//! SendMessage that returned survives `kill -9`; receives, visibility changes and deletes
//! are written the same way before they are answered, so receipts and visibility
//! survive restarts too. Queues and their messages are also held in memory, where
//! receives pick them and long polls wait for them.
//!
//! Other services send to queues through [`sightline_core::QueueSink`] (SNS `sqs`
//! subscriptions, EventBridge targets), as their service principal: the queue's policy
//! must allow it, as on AWS.
//!
//! The server wires it in with [`Sqs::open`], [`Sqs::spawn`] (the retention sweep) and
//! [`api::SqsService`] (awsJson1_0, and awsQuery for older CLIs).

pub mod api;
pub mod attributes;
pub mod digests;
pub mod engine;
pub mod message;
pub mod model;
pub mod receive;
pub mod send;
pub mod sink;
pub mod store;

pub use engine::{Clock, Config, Sqs};

/// Errors of the SQS service. Each maps to the error shape AWS's JSON protocol names
/// and the code its Query protocol answers with (they differ for some:
/// `QueueDoesNotExist` is `AWS.SimpleQueueService.NonExistentQueue`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    #[error("{0}")]
    QueueNameExists(String),
    #[error(
        "You must wait 60 seconds after deleting a queue before you can create another queue with the same name."
    )]
    QueueDeletedRecently,
    #[error("{0}")]
    InvalidAttributeName(String),
    #[error("{0}")]
    InvalidAttributeValue(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    InvalidAddress(String),
    #[error("{0}")]
    InvalidMessageContents(String),
    #[error("{0}")]
    ReceiptHandleIsInvalid(String),
    #[error("{0}")]
    MessageNotInflight(String),
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
    #[error("{0}")]
    PurgeQueueInProgress(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error("{0}")]
    OverLimit(String),
    /// A service principal the queue policy does not allow (cross-service sends only;
    /// callers are authorized by the pipeline).
    #[error("{0}")]
    AccessDenied(String),
    #[error("storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The JSON error type, the Query code and the HTTP status.
    pub fn codes(&self) -> (&'static str, &'static str, u16) {
        match self {
            Error::QueueDoesNotExist => (
                "QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
                400,
            ),
            Error::QueueNameExists(_) => ("QueueNameExists", "QueueAlreadyExists", 400),
            Error::QueueDeletedRecently => (
                "QueueDeletedRecently",
                "AWS.SimpleQueueService.QueueDeletedRecently",
                400,
            ),
            Error::InvalidAttributeName(_) => ("InvalidAttributeName", "InvalidAttributeName", 400),
            Error::InvalidAttributeValue(_) => {
                ("InvalidAttributeValue", "InvalidAttributeValue", 400)
            }
            Error::InvalidParameterValue(_) => {
                ("InvalidParameterValue", "InvalidParameterValue", 400)
            }
            Error::MissingParameter(_) => ("MissingParameter", "MissingParameter", 400),
            Error::InvalidAddress(_) => ("InvalidAddress", "InvalidAddress", 404),
            Error::InvalidMessageContents(_) => {
                ("InvalidMessageContents", "InvalidMessageContents", 400)
            }
            Error::ReceiptHandleIsInvalid(_) => {
                ("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400)
            }
            Error::MessageNotInflight(_) => (
                "MessageNotInflight",
                "AWS.SimpleQueueService.MessageNotInflight",
                400,
            ),
            Error::EmptyBatchRequest(_) => (
                "EmptyBatchRequest",
                "AWS.SimpleQueueService.EmptyBatchRequest",
                400,
            ),
            Error::TooManyEntriesInBatchRequest(_) => (
                "TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                400,
            ),
            Error::BatchEntryIdsNotDistinct(_) => (
                "BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                400,
            ),
            Error::InvalidBatchEntryId(_) => (
                "InvalidBatchEntryId",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                400,
            ),
            Error::BatchRequestTooLong(_) => (
                "BatchRequestTooLong",
                "AWS.SimpleQueueService.BatchRequestTooLong",
                400,
            ),
            Error::PurgeQueueInProgress(_) => (
                "PurgeQueueInProgress",
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                403,
            ),
            Error::UnsupportedOperation(_) => (
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
                400,
            ),
            Error::OverLimit(_) => ("OverLimit", "OverLimit", 403),
            Error::AccessDenied(_) => ("AccessDenied", "AccessDenied", 403),
            Error::Storage(_) => ("InternalError", "InternalError", 500),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidParameterValue(message.into())
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
        let (kind, query_code, status) = e.codes();
        if status >= 500 {
            tracing::error!(error = %e, "sqs internal error");
            return sightline_wire::ApiError::new(500, kind, "internal error");
        }
        let err = sightline_wire::ApiError::new(status, kind, e.to_string());
        // The service is query-compatible: JSON clients read the Query code here.
        err.with_header("x-amzn-query-error", format!("{query_code};Sender"))
    }
}

impl From<Error> for sightline_core::Error {
    fn from(e: Error) -> Self {
        use sightline_core::Error as Core;
        match e {
            Error::QueueDoesNotExist => Core::NotFound(e.to_string()),
            Error::AccessDenied(m) => Core::AccessDenied(m),
            Error::Storage(m) => Core::Storage(m),
            Error::InvalidMessageContents(m)
            | Error::InvalidParameterValue(m)
            | Error::MissingParameter(m) => Core::Invalid(m),
            other => {
                let (kind, _, _) = other.codes();
                Core::Service {
                    code: kind.to_owned(),
                    message: other.to_string(),
                }
            }
        }
    }
}

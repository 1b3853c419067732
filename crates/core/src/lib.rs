//! Shared vocabulary of Sightline: who is calling, in which (account, region), and the
//! traits through which services talk to each other without depending on one another.

pub mod audit;
pub mod b64;
pub mod events;
pub mod identity;
pub mod keys;
pub mod logsink;
pub mod metrics;
pub mod objects;
pub mod queues;
pub mod resources;
pub mod secrets;
pub mod topics;

pub use audit::{AuditClock, AuditSink, ClockedSink};
pub use events::{Event, EventPublisher};
pub use identity::{Caller, PrincipalKind, Scope, SessionContext, SessionIssuer};
pub use keys::{DataKey, KeyRequest, KeyService};
pub use logsink::LogSink;
pub use metrics::{MetricDatum, MetricSink};
pub use objects::{ObjectEncryption, ObjectWrite, ServiceActor, ServiceBuckets};
pub use queues::{NoQueues, QueueAttribute, QueueMessage, QueueSink};
pub use resources::{ConfigurationChange, ResourceProvider, ResourceRecorder, ResourceRef};
pub use secrets::SecretSealer;
pub use topics::{NoTopics, TopicMessage, TopicPublisher};

/// Errors raised by trait implementations that cross service boundaries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("resource not found: {0}")]
    NotFound(String),
    #[error("resource already exists: {0}")]
    AlreadyExists(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("{code}: {message}")]
    Service { code: String, message: String },
    #[error("{0}")]
    AccessDenied(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

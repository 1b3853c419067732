//! Service events onto the event bus, in the EventBridge envelope.

use crate::{Result, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The EventBridge envelope; `detail` is the service-specific body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: DateTime<Utc>,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: serde_json::Value,
}

/// Services publish through this trait so that none depends on the bus implementation;
/// until the bus exists the server wires a publisher that discards.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, scope: &Scope, event: Event) -> Result<()>;

    /// Puts an event on a named bus (a log subscription filter's destination) on behalf
    /// of `scope`'s account: the bus must exist, and one in another account must allow
    /// that account by its policy. Durable when this returns.
    async fn publish_to(&self, _scope: &Scope, bus_arn: &str, _event: Event) -> Result<()> {
        Err(crate::Error::NotFound(bus_arn.to_owned()))
    }

    /// Whether read-only API calls are wanted on the bus (some rule's state is
    /// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`); otherwise callers need not
    /// build events for them.
    fn wants_read_only_calls(&self) -> bool {
        false
    }
}

/// Publisher used before an event bus is wired in.
pub struct NoopPublisher;

#[async_trait]
impl EventPublisher for NoopPublisher {
    async fn publish(&self, _scope: &Scope, _event: Event) -> Result<()> {
        Ok(())
    }
}

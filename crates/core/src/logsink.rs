//! Log events that services write into CloudWatch Logs groups (EventBridge log-group
//! targets), through this trait so that no service depends on the logs service.

use crate::{Result, Scope};
use async_trait::async_trait;

/// Writes events into a log group of `scope`'s account, creating the stream when it
/// does not exist yet. An unknown group is `NotFound`. Each event is
/// `(timestamp ms, message)`; the write is durable when this returns.
#[async_trait]
pub trait LogSink: Send + Sync {
    async fn write(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        events: Vec<(i64, String)>,
    ) -> Result<()>;
}

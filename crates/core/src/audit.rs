//! Where every API call's audit record goes.

use crate::{Result, Scope};
use async_trait::async_trait;

/// One CloudTrail-format record per call. `record` returns only once the record is
/// durable: the caller's response waits on it, so an acknowledged call is never missing
/// from the trail.
#[async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(&self, scope: &Scope, record: serde_json::Value) -> Result<()>;
}

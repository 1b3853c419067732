//! Where every API call's audit record goes.

use crate::{Result, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One CloudTrail-format record per call. `record` returns only once the record is
/// durable: the caller's response waits on it, so an acknowledged call is never missing
/// from the trail. `time` is the call's precise time: the record's `eventTime` has whole
/// seconds only, and event history orders calls within a second by it.
#[async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(
        &self,
        scope: &Scope,
        time: DateTime<Utc>,
        record: serde_json::Value,
    ) -> Result<()>;
}

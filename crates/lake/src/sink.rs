//! The audit trail's sink: every record becomes a row of `audit_events`.

use crate::Lake;
use async_trait::async_trait;
use sightline_core::{AuditSink, Error, Result, Scope};
use std::sync::Arc;

pub struct LakeAuditSink(pub Arc<Lake>);

#[async_trait]
impl AuditSink for LakeAuditSink {
    async fn record(
        &self,
        scope: &Scope,
        time: chrono::DateTime<chrono::Utc>,
        record: serde_json::Value,
    ) -> Result<()> {
        let row = crate::datasets::audit::row(time, record);
        self.0
            .append(crate::datasets::audit::NAME, scope, vec![row])
            .await
            .map_err(|e| Error::Storage(e.to_string()))
    }
}

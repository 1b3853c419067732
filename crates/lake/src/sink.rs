//! The lake behind the cross-service sinks: every audit record becomes a row of
//! `audit_events`, every metric datapoint a row of `metric_samples`.

use crate::Lake;
use async_trait::async_trait;
use sightline_core::{AuditSink, Error, MetricDatum, MetricSink, Result, Scope};
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

pub struct LakeMetricSink(pub Arc<Lake>);

#[async_trait]
impl MetricSink for LakeMetricSink {
    async fn put(&self, scope: &Scope, data: Vec<MetricDatum>) -> Result<()> {
        let rows = data.iter().map(crate::datasets::metrics::row).collect();
        self.0
            .append(crate::datasets::metrics::NAME, scope, rows)
            .await
            .map_err(|e| Error::Storage(e.to_string()))
    }
}

//! Metric datapoints that services emit (log metric filters, service metrics such as
//! `AWS/Events`), handed to whatever stores metrics through this trait so that no
//! service depends on the metrics service.

use crate::{Result, Scope};
use async_trait::async_trait;

/// One observation of a metric, as PutMetricData would carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    pub namespace: String,
    pub name: String,
    /// Sorted by name, as CloudWatch identifies a metric by its set of dimensions.
    pub dimensions: Vec<(String, String)>,
    pub timestamp_ms: i64,
    pub value: f64,
    pub unit: Option<String>,
    /// 1 for high-resolution metrics, 60 otherwise.
    pub storage_resolution: u32,
}

/// Stores datapoints durably before returning, so that a datapoint a service counted
/// is never lost after the call that caused it was acknowledged.
#[async_trait]
pub trait MetricSink: Send + Sync {
    async fn put(&self, scope: &Scope, data: Vec<MetricDatum>) -> Result<()>;
}

//! The datasets the lake knows.

pub mod archived;
pub mod audit;
pub mod logs;
pub mod metrics;

use crate::dataset::Dataset;
use std::sync::Arc;

/// Every dataset, by name.
pub fn all() -> Vec<Arc<dyn Dataset>> {
    vec![
        Arc::new(archived::ArchivedEvents),
        Arc::new(audit::AuditEvents),
        Arc::new(logs::LogEvents),
        Arc::new(metrics::MetricSamples),
        Arc::new(metrics::MetricRollups),
    ]
}

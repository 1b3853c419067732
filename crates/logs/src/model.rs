//! The logs service's resources as they are kept (in memory and, as JSON, in the meta
//! store): log groups, their streams, and the metric and subscription filters on them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One incarnation of a log group. `id` changes when a group is deleted and created
/// again under the same name, so the events of the old group stay out of the new one
/// until retention or compaction removes them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogGroup {
    pub id: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_ms: i64,
    #[serde(default)]
    pub retention_days: Option<u32>,
    pub class: String,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Data keys the group's events were sealed with, newest last; old ones stay for
    /// the events they sealed.
    #[serde(default)]
    pub data_keys: Vec<DataKeyRecord>,
    /// The data key new events are sealed with, while a KMS key is associated.
    #[serde(default)]
    pub active_key: Option<u32>,
}

/// A group data key as KMS sealed it (with `aws:logs:arn` as encryption context).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataKeyRecord {
    pub id: u32,
    pub kms_key_arn: String,
    #[serde(with = "sightline_core::b64")]
    pub ciphertext: Vec<u8>,
}

impl LogGroup {
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, the form tags and policies use.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            self.region, self.account, self.name
        )
    }

    /// The `arn` member of DescribeLogGroups, which ends in `:*` (all its streams).
    pub fn arn_with_streams(&self) -> String {
        format!("{}:*", self.arn())
    }

    /// The KMS key new events are sealed under: the active data key's.
    pub fn kms_key_arn(&self) -> Option<&str> {
        let id = self.active_key?;
        self.data_keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.kms_key_arn.as_str())
    }

    pub fn stream_arn(&self, stream: &str) -> String {
        format!("{}:log-stream:{stream}", self.arn())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LogStream {
    pub group_id: String,
    pub name: String,
    pub created_ms: i64,
    #[serde(default)]
    pub first_event_ms: Option<i64>,
    #[serde(default)]
    pub last_event_ms: Option<i64>,
    #[serde(default)]
    pub last_ingestion_ms: Option<i64>,
    #[serde(default)]
    pub stored_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricTransformation {
    pub metric_name: String,
    pub metric_namespace: String,
    pub metric_value: String,
    #[serde(default)]
    pub default_value: Option<f64>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricFilter {
    pub group_id: String,
    pub name: String,
    pub pattern: String,
    pub transformations: Vec<MetricTransformation>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubscriptionFilter {
    pub group_id: String,
    pub name: String,
    pub pattern: String,
    pub destination_arn: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    pub distribution: String,
    pub created_ms: i64,
    /// The sequence number up to which the group's events have been delivered.
    #[serde(default)]
    pub cursor: i64,
}

/// The retention periods AWS accepts, in days.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

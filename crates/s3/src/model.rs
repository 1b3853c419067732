//! S3 domain types as stored: buckets and object versions (delete markers included).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// Never enabled: every key has one version, `null`.
    Unversioned,
    Enabled,
    /// Was enabled: old versions stay, new writes replace the `null` version.
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub account: String,
    pub region: String,
    pub created: DateTime<Utc>,
    pub versioning: Versioning,
    /// Created with `x-amz-bucket-object-lock-enabled: true` (which forces versioning).
    pub object_lock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub key: String,
    /// `null` in unversioned and suspended buckets.
    pub version_id: String,
    pub delete_marker: bool,
    pub size: u64,
    /// Hex MD5 of the bytes, without quotes.
    pub etag: String,
    pub content_type: Option<String>,
    /// `x-amz-meta-*` pairs, names lower-cased without the prefix.
    pub metadata: BTreeMap<String, String>,
    pub last_modified: DateTime<Utc>,
    /// Where the bytes are in the object store; none for delete markers.
    pub blob: Option<String>,
    /// Set by the store: the newest version of its key.
    #[serde(skip)]
    pub latest: bool,
}

pub const NULL_VERSION: &str = "null";

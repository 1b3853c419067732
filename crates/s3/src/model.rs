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

/// Object Lock retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    /// Bypassable by a caller with `s3:BypassGovernanceRetention` who sends
    /// `x-amz-bypass-governance-retention: true`.
    Governance,
    /// No one, the account root included, may delete the version or shorten the
    /// retention before its date.
    Compliance,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }

    pub fn parse(s: &str) -> Option<LockMode> {
        match s {
            "GOVERNANCE" => Some(LockMode::Governance),
            "COMPLIANCE" => Some(LockMode::Compliance),
            _ => None,
        }
    }
}

/// A bucket's default retention for new versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: LockMode,
    pub days: Option<i64>,
    pub years: Option<i64>,
}

/// A version's retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: LockMode,
    pub until: DateTime<Utc>,
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
    #[serde(default)]
    pub default_retention: Option<DefaultRetention>,
    /// The bucket policy document, as set.
    #[serde(default)]
    pub policy: Option<String>,
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
    #[serde(default)]
    pub retention: Option<Retention>,
    #[serde(default)]
    pub legal_hold: bool,
    #[serde(default)]
    pub encryption: Option<Encryption>,
    /// Set by the store: the newest version of its key.
    #[serde(skip)]
    pub latest: bool,
}

pub const NULL_VERSION: &str = "null";

/// Server-side encryption of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encryption {
    /// `AES256` requested: reported as such (bytes are stored as written).
    S3Managed,
    /// `aws:kms`: the bytes are sealed (AES-256-GCM, nonce first) under a data key
    /// whose KMS ciphertext is kept here; reading needs `kms:Decrypt` on the key.
    Kms {
        key_arn: String,
        #[serde(with = "sightline_core::b64")]
        data_key: Vec<u8>,
        /// Encryption context pairs the writer added to S3's own (CloudTrail adds
        /// `aws:cloudtrail:arn`); decrypting needs them again.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        context: std::collections::BTreeMap<String, String>,
    },
}

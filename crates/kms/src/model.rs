//! KMS domain types as stored: keys (metadata, policy, tags, wrapped material versions)
//! and aliases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

/// One version of a key's material, wrapped under the master key. Versions only grow:
/// rotation adds one, and every version stays to decrypt what it sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub version: u32,
    /// nonce ‖ wrapped 32 bytes ‖ tag, base64 in storage.
    #[serde(with = "sightline_core::b64")]
    pub wrapped: Vec<u8>,
    pub created: DateTime<Utc>,
    /// `AUTOMATIC` or `ON_DEMAND` for rotations; absent for the first material.
    pub rotation_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub key_id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub state: KeyState,
    pub deletion_date: Option<DateTime<Utc>>,
    pub pending_window_days: Option<i64>,
    pub policy: String,
    pub rotation_enabled: bool,
    pub rotation_period_days: i64,
    pub next_rotation: Option<DateTime<Utc>>,
    pub tags: Vec<Tag>,
    pub materials: Vec<Material>,
}

impl Key {
    pub fn current_material(&self) -> Option<&Material> {
        self.materials.iter().max_by_key(|m| m.version)
    }

    pub fn material(&self, version: u32) -> Option<&Material> {
        self.materials.iter().find(|m| m.version == version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// `alias/name`.
    pub name: String,
    pub account: String,
    pub region: String,
    pub target_key_id: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Alias {
    pub fn arn(&self) -> String {
        format!("arn:aws:kms:{}:{}:{}", self.region, self.account, self.name)
    }
}

/// The policy AWS attaches to a key created without one: the account may use the key
/// through its IAM policies.
pub fn default_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

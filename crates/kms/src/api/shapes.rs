//! KMS request and response shapes as the wire carries them (PascalCase members, blobs
//! base64 in JSON), and the KeyMetadata view of a stored key.

use crate::crypto::Context;
use crate::model::{Key, KeyState, Tag};
use serde::{Deserialize, Serialize};
use sightline_wire::{Blob, Timestamp};

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagWire {
    pub(super) tag_key: String,
    pub(super) tag_value: String,
}

impl From<TagWire> for Tag {
    fn from(t: TagWire) -> Tag {
        Tag {
            key: t.tag_key,
            value: t.tag_value,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateKeyIn {
    pub(super) policy: Option<String>,
    pub(super) description: Option<String>,
    pub(super) key_usage: Option<String>,
    pub(super) customer_master_key_spec: Option<String>,
    pub(super) key_spec: Option<String>,
    pub(super) origin: Option<String>,
    #[serde(default)]
    pub(super) bypass_policy_lockout_safety_check: bool,
    #[serde(default)]
    pub(super) tags: Vec<TagWire>,
    pub(super) multi_region: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyIdIn {
    pub(super) key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PageIn {
    pub(super) limit: Option<i64>,
    pub(super) marker: Option<String>,
    pub(super) key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AliasIn {
    pub(super) alias_name: String,
    pub(super) target_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptIn {
    pub(super) key_id: String,
    pub(super) plaintext: Blob,
    pub(super) encryption_context: Option<Context>,
    pub(super) encryption_algorithm: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DecryptIn {
    pub(super) ciphertext_blob: Blob,
    pub(super) encryption_context: Option<Context>,
    pub(super) key_id: Option<String>,
    pub(super) encryption_algorithm: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReEncryptIn {
    pub(super) ciphertext_blob: Blob,
    pub(super) source_encryption_context: Option<Context>,
    pub(super) source_key_id: Option<String>,
    pub(super) destination_key_id: String,
    pub(super) destination_encryption_context: Option<Context>,
    pub(super) source_encryption_algorithm: Option<String>,
    pub(super) destination_encryption_algorithm: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DataKeyIn {
    pub(super) key_id: String,
    pub(super) encryption_context: Option<Context>,
    pub(super) number_of_bytes: Option<i64>,
    pub(super) key_spec: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RandomIn {
    pub(super) number_of_bytes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RotationIn {
    pub(super) key_id: String,
    pub(super) rotation_period_in_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ScheduleIn {
    pub(super) key_id: String,
    pub(super) pending_window_in_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyIn {
    pub(super) key_id: String,
    pub(super) policy_name: Option<String>,
    pub(super) policy: Option<String>,
    #[serde(default)]
    pub(super) bypass_policy_lockout_safety_check: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DescriptionIn {
    pub(super) key_id: String,
    pub(super) description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagIn {
    pub(super) key_id: String,
    #[serde(default)]
    pub(super) tags: Vec<TagWire>,
    #[serde(default)]
    pub(super) tag_keys: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub(super) aws_account_id: String,
    pub(super) key_id: String,
    pub(super) arn: String,
    pub(super) creation_date: Timestamp,
    pub(super) enabled: bool,
    pub(super) description: String,
    pub(super) key_usage: &'static str,
    pub(super) key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) deletion_date: Option<Timestamp>,
    pub(super) origin: &'static str,
    pub(super) key_manager: &'static str,
    pub(super) customer_master_key_spec: &'static str,
    pub(super) key_spec: &'static str,
    pub(super) encryption_algorithms: [&'static str; 1],
    pub(super) multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pending_deletion_window_in_days: Option<i64>,
}

pub(super) fn metadata(k: &Key) -> KeyMetadata {
    KeyMetadata {
        aws_account_id: k.account.clone(),
        key_id: k.key_id.clone(),
        arn: k.arn.clone(),
        creation_date: Timestamp(k.created),
        enabled: k.state == KeyState::Enabled,
        description: k.description.clone(),
        key_usage: "ENCRYPT_DECRYPT",
        key_state: k.state.as_str(),
        deletion_date: k.deletion_date.map(Timestamp),
        origin: "AWS_KMS",
        key_manager: "CUSTOMER",
        customer_master_key_spec: "SYMMETRIC_DEFAULT",
        key_spec: "SYMMETRIC_DEFAULT",
        encryption_algorithms: ["SYMMETRIC_DEFAULT"],
        multi_region: false,
        pending_deletion_window_in_days: k.pending_window_days,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyMetadataOut {
    pub(super) key_metadata: KeyMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyListEntry {
    pub(super) key_id: String,
    pub(super) key_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListKeysOut {
    pub(super) keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_marker: Option<String>,
    pub(super) truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AliasEntry {
    pub(super) alias_name: String,
    pub(super) alias_arn: String,
    pub(super) target_key_id: String,
    pub(super) creation_date: Timestamp,
    pub(super) last_updated_date: Timestamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListAliasesOut {
    pub(super) aliases: Vec<AliasEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_marker: Option<String>,
    pub(super) truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptOut {
    pub(super) ciphertext_blob: Blob,
    pub(super) key_id: String,
    pub(super) encryption_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DecryptOut {
    pub(super) key_id: String,
    pub(super) plaintext: Blob,
    pub(super) encryption_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReEncryptOut {
    pub(super) ciphertext_blob: Blob,
    pub(super) source_key_id: String,
    pub(super) key_id: String,
    pub(super) source_encryption_algorithm: &'static str,
    pub(super) destination_encryption_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DataKeyOut {
    pub(super) ciphertext_blob: Blob,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) plaintext: Option<Blob>,
    pub(super) key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RandomOut {
    pub(super) plaintext: Blob,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RotationStatusOut {
    pub(super) key_rotation_enabled: bool,
    pub(super) key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rotation_period_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_rotation_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) on_demand_rotation_start_date: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyIdOut {
    pub(super) key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ScheduleOut {
    pub(super) key_id: String,
    pub(super) deletion_date: Option<Timestamp>,
    pub(super) key_state: &'static str,
    pub(super) pending_window_in_days: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyOut {
    pub(super) policy: String,
    pub(super) policy_name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyNamesOut {
    pub(super) policy_names: [&'static str; 1],
    pub(super) truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagsOut {
    pub(super) tags: Vec<TagWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_marker: Option<String>,
    pub(super) truncated: bool,
}

//! Response shapes shared by IAM operations.

use crate::model::{ManagedPolicy, Role, Tag, User};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use sightline_wire::Timestamp;

const POLICY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// IAM returns policy documents URL-encoded; SDKs decode them.
pub fn encode_document(text: &str) -> String {
    utf8_percent_encode(text, POLICY_ENCODE).to_string()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserShape {
    pub path: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

impl UserShape {
    pub fn new(u: &User, with_tags: bool) -> Self {
        UserShape {
            path: u.path.clone(),
            user_name: u.name.clone(),
            user_id: u.id.clone(),
            arn: u.arn(),
            create_date: u.created.into(),
            tags: (with_tags && !u.tags.is_empty()).then(|| u.tags.clone()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleShape {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: Timestamp,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub tags: Option<Vec<Tag>>,
}

impl RoleShape {
    pub fn new(r: &Role, with_tags: bool) -> Self {
        RoleShape {
            path: r.path.clone(),
            role_name: r.name.clone(),
            role_id: r.id.clone(),
            arn: r.arn(),
            create_date: r.created.into(),
            assume_role_policy_document: encode_document(&r.trust.text),
            description: r.description.clone(),
            max_session_duration: r.max_session_duration,
            tags: (with_tags && !r.tags.is_empty()).then(|| r.tags.clone()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyShape {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: &'static str,
    pub attachment_count: i64,
    pub permissions_boundary_usage_count: i64,
    pub is_attachable: bool,
    pub description: Option<String>,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
    pub tags: Option<Vec<Tag>>,
}

impl PolicyShape {
    pub fn new(p: &ManagedPolicy, attachments: usize) -> Self {
        PolicyShape {
            policy_name: p.name.clone(),
            policy_id: p.id.clone(),
            arn: p.arn(),
            path: p.path.clone(),
            default_version_id: "v1",
            attachment_count: attachments as i64,
            permissions_boundary_usage_count: 0,
            is_attachable: true,
            description: p.description.clone(),
            create_date: p.created.into(),
            update_date: p.updated.into(),
            tags: (!p.tags.is_empty()).then(|| p.tags.clone()),
        }
    }
}

//! Identity domain types: accounts, the organization, users, roles, managed policies,
//! access keys and temporary sessions. Stored as JSON rows, held in memory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sightline_policy::{Policy, PolicyKind};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const PARTITION: &str = "aws";
/// Owner of AWS managed policies in ARNs (`arn:aws:iam::aws:policy/...`).
pub const AWS_OWNED: &str = "aws";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub joined_method: String,
    pub joined: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub management_account_id: String,
    pub management_email: String,
}

impl Organization {
    pub fn arn(&self) -> String {
        format!(
            "arn:{PARTITION}:organizations::{}:organization/{}",
            self.management_account_id, self.id
        )
    }
    pub fn account_arn(&self, account: &str) -> String {
        format!(
            "arn:{PARTITION}:organizations::{}:account/{}/{account}",
            self.management_account_id, self.id
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateAccountStatus {
    pub id: String,
    pub account_name: String,
    pub email: String,
    pub role_name: String,
    pub state: String,
    pub requested: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
    pub account_id: Option<String>,
    pub failure_reason: Option<String>,
}

/// A policy document kept as the text the client sent (IAM returns it verbatim) next
/// to its parsed form, so authorization never re-parses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyDoc {
    pub text: String,
    #[serde(skip)]
    pub parsed: Option<Arc<Policy>>,
}

impl PolicyDoc {
    pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDoc, sightline_policy::Error> {
        let parsed = Policy::parse(text, kind)?;
        Ok(PolicyDoc {
            text: text.to_owned(),
            parsed: Some(Arc::new(parsed)),
        })
    }

    /// Re-parses after loading from storage; a stored document was valid when stored.
    pub fn hydrate(&mut self, kind: PolicyKind) {
        if self.parsed.is_none() {
            self.parsed = Policy::parse(&self.text, kind).ok().map(Arc::new);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: DateTime<Utc>,
    pub tags: Vec<Tag>,
    pub inline: BTreeMap<String, PolicyDoc>,
    pub attached: Vec<String>,
}

impl User {
    pub fn arn(&self) -> String {
        format!(
            "arn:{PARTITION}:iam::{}:user{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: DateTime<Utc>,
    pub trust: PolicyDoc,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub tags: Vec<Tag>,
    pub inline: BTreeMap<String, PolicyDoc>,
    pub attached: Vec<String>,
}

impl Role {
    pub fn arn(&self) -> String {
        format!(
            "arn:{PARTITION}:iam::{}:role{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// Owning account, or [`AWS_OWNED`].
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub description: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub document: PolicyDoc,
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        format!(
            "arn:{PARTITION}:iam::{}:policy{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyOwner {
    Root,
    User(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub account: String,
    pub owner: KeyOwner,
    pub active: bool,
    pub created: DateTime<Utc>,
}

/// What temporary credentials stand for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SessionKind {
    AssumedRole {
        role_name: String,
        role_path: String,
        role_id: String,
        session_name: String,
    },
    /// GetSessionToken: the long-term identity's own permissions.
    SessionToken { owner: KeyOwner },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    pub account: String,
    pub kind: SessionKind,
    pub created: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    /// The identity that obtained the session, for CloudTrail's sessionIssuer.
    pub source_arn: String,
}

//! The authenticated caller and the (account, region) scope every data access carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every read and write is scoped by this pair; storage layers take it explicitly so that
/// no path can reach another account's data by omission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub account_id: String,
    pub region: String,
}

impl Scope {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
        }
    }
}

/// CloudTrail's `userIdentity.type` values that Sightline issues credentials for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalKind {
    Root,
    IAMUser,
    AssumedRole,
    /// Credentials from GetSessionToken: same permissions as the long-term identity.
    FederatedUser,
    AWSService,
    Unknown,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::IAMUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::AWSService => "AWSService",
            PrincipalKind::Unknown => "Unknown",
        }
    }
}

/// The long-term identity behind temporary credentials (a role for AssumeRole, the
/// user or root for GetSessionToken).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIssuer {
    pub kind: PrincipalKind,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    pub user_name: String,
}

/// Who made a request, as resolved from its access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub kind: PrincipalKind,
    pub account_id: String,
    /// The ARN policies and `aws:PrincipalArn` see (for roles: the role ARN).
    pub arn: String,
    /// The ARN reported by GetCallerIdentity (for roles: the assumed-role session ARN).
    pub identity_arn: String,
    pub principal_id: String,
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub session: Option<SessionContext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionContext {
    pub issuer: SessionIssuer,
    pub creation_date: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    pub mfa_authenticated: bool,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.kind == PrincipalKind::Root
    }

    /// An AWS service acting on its own (CloudTrail delivering log files): it belongs
    /// to no account and holds no identity policies, so only resource policies that
    /// name it (`"Principal": {"Service": "cloudtrail.amazonaws.com"}`) grant it anything.
    pub fn service(name: &str) -> Caller {
        Caller {
            kind: PrincipalKind::AWSService,
            account_id: String::new(),
            arn: name.to_owned(),
            identity_arn: name.to_owned(),
            principal_id: name.to_owned(),
            user_name: None,
            access_key_id: String::new(),
            session: None,
        }
    }

    pub fn is_service(&self) -> bool {
        self.kind == PrincipalKind::AWSService
    }
}

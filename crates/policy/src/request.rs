//! The request side of an evaluation: who is asking, for what, and with which condition keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The result of evaluating one policy on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    Allow,
    /// An explicit deny: a matching `Deny` statement, which no allow anywhere can override.
    Deny,
    /// No statement matched; the policy neither grants nor refuses.
    NotApplicable,
}

/// The final answer after combining identity and resource policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

/// The caller's identity as policies see it.
///
/// A principal is usually known by several ARNs at once (an assumed-role session is both the
/// session ARN and its role's ARN), and a `Principal` element naming any of them must match, so
/// the caller lists them all rather than this crate guessing how ARNs relate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub account: String,
    pub arns: Vec<String>,
    /// Set for AWS service principals such as `cloudtrail.amazonaws.com`.
    pub service: Option<String>,
}

impl Principal {
    /// Whether this principal is an AWS service rather than an identity in an account.
    pub fn is_service(&self) -> bool {
        self.service.is_some()
    }
}

/// Condition keys of a request.
///
/// Key names are case-insensitive in AWS, so they are stored folded; values keep their case
/// because most operators compare them case-sensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    /// Sets a multivalued key (for `ForAnyValue`/`ForAllValues`); an empty list is kept and
    /// behaves like an absent key, which is how AWS treats an empty request set.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(key.to_ascii_lowercase(), values);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    pub fn remove(&mut self, key: &str) {
        self.values.remove(&key.to_ascii_lowercase());
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `iam:CreateUser`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions that take no resource.
    pub resource: &'a str,
    pub principal: &'a Principal,
    pub context: &'a Context,
}

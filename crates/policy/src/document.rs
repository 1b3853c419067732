//! Parsing and validation of policy documents into statements ready for evaluation.
//!
//! Error messages reuse the wording IAM puts in `MalformedPolicyDocument` so that clients see the
//! same reasons they would from AWS.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::condition::{self, Condition};
use crate::matching::{Token, compile};
use crate::variables::Template;
use crate::{Error, Result, SYNTAX_ERROR, malformed};

pub(crate) const VENDOR_MESSAGE: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

/// Where a policy is attached, which decides the rules for `Principal` and `Resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Attached to a user, group or role: the principal is implied, so none may be named.
    Identity,
    /// Attached to a resource (bucket, key, ...): must say whom it applies to.
    Resource,
    /// A role's assume-role policy: names principals, and its resource is the role itself.
    Trust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// One entry of a `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers and services.
    Anyone,
    /// An account id or that account's root ARN: delegates to every principal of the account.
    Account(String),
    /// A user, role or session ARN, compared exactly against the ARNs the caller is known by.
    Arn(String),
    Service(String),
    /// Federated and canonical-user principals are accepted but never match, since the server
    /// has no such callers.
    Unmatchable,
}

#[derive(Debug, Clone)]
pub(crate) struct PrincipalSpec {
    pub(crate) negated: bool,
    pub(crate) entries: Vec<PrincipalEntry>,
}

#[derive(Debug, Clone)]
pub(crate) struct ActionSpec {
    pub(crate) negated: bool,
    /// Compiled from the lower-cased text, because action names match case-insensitively.
    pub(crate) patterns: Vec<Vec<Token>>,
}

#[derive(Debug, Clone)]
pub(crate) struct ResourceSpec {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalSpec>,
    pub(crate) actions: ActionSpec,
    /// Absent only in trust policies, where the resource is implicitly the role.
    pub(crate) resources: Option<ResourceSpec>,
    pub(crate) conditions: Vec<Condition>,
}

/// A parsed and validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    version: Option<String>,
    id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

const TOP_LEVEL_FIELDS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_FIELDS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Policy {
    /// Parses and validates a policy document for the given attachment point.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy> {
        let value: Value = serde_json::from_str(document).map_err(|_| malformed(SYNTAX_ERROR))?;
        let Value::Object(top) = value else {
            return Err(malformed(SYNTAX_ERROR));
        };
        reject_unknown_fields(&top, &TOP_LEVEL_FIELDS)?;
        let version = match top.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(_) => {
                return Err(malformed("The policy must contain a valid version string"));
            }
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(malformed(SYNTAX_ERROR)),
        };
        // Variables were introduced with 2012-10-17; older or unversioned policies keep `${...}`
        // as literal text.
        let variables = version.as_deref() == Some("2012-10-17");
        let raw_statements: Vec<&Value> = match top.get("Statement") {
            None => return Err(malformed("Missing required field Statement")),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(_) => return Err(malformed(SYNTAX_ERROR)),
        };
        if raw_statements.is_empty() {
            return Err(malformed("Missing required field Statement"));
        }
        let mut statements = Vec::with_capacity(raw_statements.len());
        for raw in raw_statements {
            statements.push(parse_statement(raw, kind, variables)?);
        }
        check_unique_sids(&statements)?;
        Ok(Policy {
            kind,
            version,
            id,
            statements,
        })
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The `Version` as written; `None` means AWS's default of 2008-10-17.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The `Sid`s of the statements in order, `None` where a statement has none.
    pub fn statement_ids(&self) -> Vec<Option<&str>> {
        self.statements.iter().map(|s| s.sid.as_deref()).collect()
    }
}

fn reject_unknown_fields(object: &Map<String, Value>, known: &[&str]) -> Result<()> {
    if object.keys().all(|key| known.contains(&key.as_str())) {
        Ok(())
    } else {
        Err(malformed(SYNTAX_ERROR))
    }
}

fn check_unique_sids(statements: &[Statement]) -> Result<()> {
    let mut seen = HashSet::new();
    for sid in statements.iter().filter_map(|s| s.sid.as_deref()) {
        if !sid.is_empty() && !seen.insert(sid) {
            return Err(malformed(
                "Statement IDs (SID) in a single policy must be unique.",
            ));
        }
    }
    Ok(())
}

fn parse_statement(raw: &Value, kind: PolicyKind, variables: bool) -> Result<Statement> {
    let Value::Object(fields) = raw else {
        return Err(malformed(SYNTAX_ERROR));
    };
    reject_unknown_fields(fields, &STATEMENT_FIELDS)?;

    let sid = match fields.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(malformed(SYNTAX_ERROR)),
    };
    // IAM restricts Sids of the policies it stores; S3 and KMS accept any string.
    if let Some(sid) = &sid
        && kind != PolicyKind::Resource
        && !sid.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(malformed(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ));
    }

    let effect = match fields.get("Effect") {
        None => return Err(malformed("Missing required field Effect")),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(Value::String(e)) => return Err(malformed(format!("Invalid effect: {e}"))),
        Some(_) => return Err(malformed(SYNTAX_ERROR)),
    };

    let principal = parse_principal(fields, kind)?;
    let actions = parse_actions(fields)?;
    let resources = parse_resources(fields, kind, variables)?;
    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(block) => condition::parse_block(block, variables)?,
    };

    Ok(Statement {
        sid,
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

/// Reads an element that may be a string or an array of strings.
fn string_list(value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(SYNTAX_ERROR)),
            })
            .collect(),
        _ => Err(malformed(SYNTAX_ERROR)),
    }
}

/// Picks exactly one of an element and its `Not` form; `Ok(None)` when neither is present.
fn one_of<'a>(
    fields: &'a Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<(bool, &'a Value)>> {
    match (fields.get(positive), fields.get(negative)) {
        (Some(_), Some(_)) => Err(malformed(SYNTAX_ERROR)),
        (Some(value), None) => Ok(Some((false, value))),
        (None, Some(value)) => Ok(Some((true, value))),
        (None, None) => Ok(None),
    }
}

fn parse_actions(fields: &Map<String, Value>) -> Result<ActionSpec> {
    let Some((negated, value)) = one_of(fields, "Action", "NotAction")? else {
        return Err(malformed("Policy statement must contain actions."));
    };
    let actions = string_list(value)?;
    if actions.is_empty() {
        return Err(malformed("Policy statement must contain actions."));
    }
    for action in &actions {
        validate_action(action)?;
    }
    Ok(ActionSpec {
        negated,
        patterns: actions.iter().map(|a| compile(&a.to_lowercase())).collect(),
    })
}

fn validate_action(action: &str) -> Result<()> {
    if action == "*" {
        return Ok(());
    }
    let Some((vendor, name)) = action.split_once(':') else {
        return Err(malformed(VENDOR_MESSAGE));
    };
    if name.contains(':') {
        return Err(malformed("Actions/Condition can contain only one colon."));
    }
    let vendor_ok = !vendor.is_empty()
        && vendor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'));
    if !vendor_ok || name.is_empty() {
        return Err(malformed(VENDOR_MESSAGE));
    }
    Ok(())
}

fn parse_resources(
    fields: &Map<String, Value>,
    kind: PolicyKind,
    variables: bool,
) -> Result<Option<ResourceSpec>> {
    let Some((negated, value)) = one_of(fields, "Resource", "NotResource")? else {
        return match kind {
            PolicyKind::Trust => Ok(None),
            _ => Err(malformed("Policy statement must contain resources.")),
        };
    };
    let resources = string_list(value)?;
    if resources.is_empty() {
        return Err(malformed("Policy statement must contain resources."));
    }
    for resource in &resources {
        if resource != "*" && !resource.starts_with("arn:") {
            return Err(malformed(format!(
                "Resource {resource} must be in ARN format or \"*\"."
            )));
        }
    }
    Ok(Some(ResourceSpec {
        negated,
        patterns: resources
            .iter()
            .map(|r| Template::parse(r, variables))
            .collect(),
    }))
}

fn parse_principal(fields: &Map<String, Value>, kind: PolicyKind) -> Result<Option<PrincipalSpec>> {
    let element = one_of(fields, "Principal", "NotPrincipal")?;
    let (negated, value) = match (kind, element) {
        (PolicyKind::Identity, Some(_)) => {
            return Err(malformed("Policy document should not specify a principal."));
        }
        (PolicyKind::Identity, None) => return Ok(None),
        (_, None) => return Err(malformed("Missing required field Principal")),
        (_, Some(found)) => found,
    };
    let entries = match value {
        Value::String(s) if s == "*" => vec![PrincipalEntry::Anyone],
        Value::Object(map) if !map.is_empty() => {
            let mut entries = Vec::new();
            for (principal_type, ids) in map {
                let ids = string_list(ids).map_err(|_| invalid_principal(principal_type, ids))?;
                if ids.is_empty() {
                    return Err(invalid_principal(principal_type, &Value::Array(Vec::new())));
                }
                for id in ids {
                    entries.push(principal_entry(principal_type, &id)?);
                }
            }
            entries
        }
        other => {
            return Err(malformed(format!("Invalid principal in policy: {other}")));
        }
    };
    Ok(Some(PrincipalSpec { negated, entries }))
}

fn invalid_principal(principal_type: &str, id: &Value) -> Error {
    malformed(format!(
        "Invalid principal in policy: \"{principal_type}\":{id}"
    ))
}

fn principal_entry(principal_type: &str, id: &str) -> Result<PrincipalEntry> {
    let invalid = || invalid_principal(principal_type, &Value::String(id.to_string()));
    match principal_type {
        "AWS" => {
            if id == "*" {
                return Ok(PrincipalEntry::Anyone);
            }
            // AWS does not allow partial wildcards in principals.
            if id.contains('*') || id.contains('?') {
                return Err(invalid());
            }
            if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
                return Ok(PrincipalEntry::Account(id.to_string()));
            }
            let parts: Vec<&str> = id.splitn(6, ':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[5].is_empty() {
                return Err(invalid());
            }
            if parts[2] == "iam" && parts[5] == "root" {
                return Ok(PrincipalEntry::Account(parts[4].to_string()));
            }
            Ok(PrincipalEntry::Arn(id.to_string()))
        }
        "Service" if !id.is_empty() => Ok(PrincipalEntry::Service(id.to_string())),
        "Federated" | "CanonicalUser" if !id.is_empty() => Ok(PrincipalEntry::Unmatchable),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(document: &str, kind: PolicyKind) -> String {
        match Policy::parse(document, kind) {
            Ok(_) => String::new(),
            Err(Error::Malformed(message)) => message,
        }
    }

    #[test]
    fn root_arn_becomes_account() {
        assert_eq!(
            principal_entry("AWS", "arn:aws:iam::111122223333:root"),
            Ok(PrincipalEntry::Account("111122223333".into()))
        );
    }

    #[test]
    fn rejects_bad_version() {
        let doc = r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        assert!(error(doc, PolicyKind::Identity).contains("valid version"));
    }
}

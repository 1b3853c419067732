//! Event bus resource policies: the statements PutPermission adds and RemovePermission
//! takes away, and the check a rule's bus target in another account passes.

use crate::{Error, Result};
use serde_json::{Value as Json, json};
use sightline_policy::{Context, Decision, Policy, PolicyKind, Principal, Request};

/// A statement as PutPermission describes it.
pub struct Grant<'a> {
    pub statement_id: &'a str,
    pub principal: &'a str,
    pub action: &'a str,
    /// (type, key, value), e.g. StringEquals aws:PrincipalOrgID o-abc.
    pub condition: Option<(&'a str, &'a str, &'a str)>,
}

pub fn validate(document: &str) -> Result<()> {
    Policy::parse(document, PolicyKind::Resource)
        .map(|_| ())
        .map_err(|e| Error::Validation(format!("The policy is not valid: {e}")))
}

fn statements(doc: &mut Json) -> Result<&mut Vec<Json>> {
    sightline_policy::statements_mut(doc).ok_or_else(|| {
        Error::Validation("The policy's Statement is not a list of statements.".into())
    })
}

/// The policy with `grant` added (replacing a statement with the same id).
pub fn add(policy: Option<&str>, bus_arn: &str, grant: &Grant<'_>) -> Result<String> {
    if grant.action != "events:PutEvents" {
        return Err(Error::Validation(format!(
            "Provided value in parameter 'action' is not supported: {}",
            grant.action
        )));
    }
    let principal = match grant.principal {
        "*" => json!("*"),
        a if crate::names::is_account(a) => json!({"AWS": format!("arn:aws:iam::{a}:root")}),
        other => {
            return Err(Error::Validation(format!(
                "Provided value in parameter 'principal' is not valid: {other}"
            )));
        }
    };
    if grant.principal == "*" && grant.condition.is_none() {
        // AWS accepts this, but it opens the bus to everyone; nothing to refuse.
    }
    let mut statement = json!({
        "Sid": grant.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": grant.action,
        "Resource": bus_arn,
    });
    if let Some((kind, key, value)) = grant.condition {
        statement["Condition"] = json!({ kind: { key: value } });
    }
    let mut doc: Json = match policy {
        Some(p) => serde_json::from_str(p)?,
        None => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let list = statements(&mut doc)?;
    list.retain(|s| s.get("Sid").and_then(Json::as_str) != Some(grant.statement_id));
    list.push(statement);
    Ok(doc.to_string())
}

/// The policy without statement `sid`; `None` when nothing is left.
pub fn remove(policy: &str, sid: &str) -> Result<Option<String>> {
    let mut doc: Json = serde_json::from_str(policy)?;
    let list = statements(&mut doc)?;
    let before = list.len();
    list.retain(|s| s.get("Sid").and_then(Json::as_str) != Some(sid));
    if list.len() == before {
        return Err(Error::ResourceNotFound(
            "Statement with the provided id does not exist.".into(),
        ));
    }
    if list.is_empty() {
        return Ok(None);
    }
    Ok(Some(doc.to_string()))
}

/// Whether a bus policy lets `account` put events on the bus (a rule in that account
/// forwarding to it).
pub fn allows_account(policy: Option<&str>, bus_arn: &str, account: &str, rule_arn: &str) -> bool {
    let Some(p) = policy.and_then(|p| Policy::parse(p, PolicyKind::Resource).ok()) else {
        return false;
    };
    let principal = Principal {
        account: account.to_owned(),
        arns: vec![format!("arn:aws:iam::{account}:root")],
        service: None,
    };
    let mut context = Context::new();
    context.set("aws:SourceArn", rule_arn);
    context.set("aws:SourceAccount", account);
    p.evaluate(&Request {
        action: "events:PutEvents",
        resource: bus_arn,
        principal: &principal,
        context: &context,
    }) == Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUS: &str = "arn:aws:events:us-east-1:111111111111:event-bus/default";

    #[test]
    fn grants_are_added_replaced_and_removed() {
        let g = Grant {
            statement_id: "b",
            principal: "222222222222",
            action: "events:PutEvents",
            condition: None,
        };
        let p = add(None, BUS, &g).unwrap();
        validate(&p).unwrap();
        let rule = "arn:aws:events:us-east-1:222222222222:rule/x";
        assert!(allows_account(Some(&p), BUS, "222222222222", rule));
        assert!(!allows_account(Some(&p), BUS, "333333333333", rule));
        let p2 = add(Some(&p), BUS, &g).unwrap();
        let doc: Json = serde_json::from_str(&p2).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(remove(&p2, "b").unwrap(), None);
        assert!(remove(&p2, "zz").is_err());
        assert!(
            add(
                None,
                BUS,
                &Grant {
                    action: "events:Other",
                    ..g
                }
            )
            .is_err()
        );
    }
}

//! What services need of resource policies beyond authorizing callers: the decision for
//! an AWS service principal acting on behalf of an account (a topic, queue or bucket
//! taking a delivery), and the statement list of a document edited in place
//! (AddPermission, PutPermission).

use crate::{Context, Decision, Policy, PolicyKind, Principal, Request};
use serde_json::Value;

/// What `document` says about `service` (`sns.amazonaws.com`) doing `action` on
/// `resource` for `source_account` because of `source_arn`, with the condition keys AWS
/// sets for such calls (`aws:SourceArn`, `aws:SourceAccount`, `aws:PrincipalServiceName`)
/// plus any a service adds. A document that does not parse decides nothing.
pub fn service_decision(
    document: &str,
    action: &str,
    resource: &str,
    service: &str,
    source_account: &str,
    source_arn: &str,
    extra_keys: &[(&str, &str)],
) -> Decision {
    let Ok(policy) = Policy::parse(document, PolicyKind::Resource) else {
        return Decision::NotApplicable;
    };
    let principal = Principal {
        account: String::new(),
        arns: Vec::new(),
        service: Some(service.to_owned()),
    };
    let mut context = Context::new();
    context.set("aws:SourceArn", source_arn);
    context.set("aws:SourceAccount", source_account);
    context.set("aws:PrincipalServiceName", service);
    for (k, v) in extra_keys {
        context.set(k, *v);
    }
    policy.evaluate(&Request {
        action,
        resource,
        principal: &principal,
        context: &context,
    })
}

/// The `Statement` list of a policy document, a single statement object made a list of
/// one (as AWS accepts either); `None` when the document is not an object or its
/// `Statement` is neither.
pub fn statements_mut(document: &mut Value) -> Option<&mut Vec<Value>> {
    let entry = document
        .as_object_mut()?
        .entry("Statement")
        .or_insert_with(|| Value::Array(Vec::new()));
    if entry.is_object() {
        let one = entry.take();
        *entry = Value::Array(vec![one]);
    }
    entry.as_array_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_single_statement_becomes_a_list() {
        let mut doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}});
        assert_eq!(statements_mut(&mut doc).map(|s| s.len()), Some(1));
        assert!(doc["Statement"].is_array());
        let mut empty = json!({});
        assert_eq!(statements_mut(&mut empty).map(|s| s.len()), Some(0));
        assert!(statements_mut(&mut json!([1])).is_none());
        assert!(statements_mut(&mut json!({"Statement": 3})).is_none());
    }

    #[test]
    fn a_service_is_allowed_only_as_the_document_says() {
        let doc = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:111111111111:q",
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:111111111111:rule/r"}}
            }]
        })
        .to_string();
        let q = "arn:aws:sqs:us-east-1:111111111111:q";
        let rule = "arn:aws:events:us-east-1:111111111111:rule/r";
        let decide = |service: &str, source: &str| {
            service_decision(
                &doc,
                "sqs:SendMessage",
                q,
                service,
                "111111111111",
                source,
                &[],
            )
        };
        assert_eq!(decide("events.amazonaws.com", rule), Decision::Allow);
        assert_ne!(decide("sns.amazonaws.com", rule), Decision::Allow);
        assert_ne!(
            decide(
                "events.amazonaws.com",
                "arn:aws:events:us-east-1:111111111111:rule/x"
            ),
            Decision::Allow
        );
        assert_eq!(
            service_decision("not json", "a:b", q, "x", "1", "2", &[]),
            Decision::NotApplicable
        );
    }
}

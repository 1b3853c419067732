//! Topic policies: the one AWS attaches to a new topic, the edits AddPermission and
//! RemovePermission make, validation of a policy set as an attribute, and the check a
//! service principal's publish passes (CloudWatch alarm actions).

use crate::{Error, Result};
use serde_json::{Value as Json, json};
use sightline_policy::{Decision, Policy, PolicyKind};

/// The actions of AWS's default topic policy, in its order.
const DEFAULT_ACTIONS: &[&str] = &[
    "SNS:GetTopicAttributes",
    "SNS:SetTopicAttributes",
    "SNS:AddPermission",
    "SNS:RemovePermission",
    "SNS:DeleteTopic",
    "SNS:Subscribe",
    "SNS:ListSubscriptionsByTopic",
    "SNS:Publish",
];

/// Actions AddPermission may grant.
const GRANTABLE: &[&str] = &[
    "AddPermission",
    "ConfirmSubscription",
    "DeleteTopic",
    "GetTopicAttributes",
    "ListSubscriptionsByTopic",
    "Publish",
    "Receive",
    "RemovePermission",
    "SetTopicAttributes",
    "Subscribe",
    "Unsubscribe",
    "GetSubscriptionAttributes",
    "SetSubscriptionAttributes",
    "ListTagsForResource",
    "TagResource",
    "UntagResource",
];

/// The policy a topic gets when created without one: every principal of the owning
/// account may use it, subject to their IAM policies.
pub fn default_policy(topic_arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": DEFAULT_ACTIONS,
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// Checks a policy set through CreateTopic or SetTopicAttributes.
pub fn validate(document: &str) -> Result<()> {
    Policy::parse(document, PolicyKind::Resource)
        .map(|_| ())
        .map_err(|e| Error::invalid(format!("Policy Error: {e}")))
}

fn statements(doc: &mut Json) -> Result<&mut Vec<Json>> {
    sightline_policy::statements_mut(doc)
        .ok_or_else(|| Error::invalid("Policy Error: the topic policy's Statement is not a list"))
}

/// The policy with a statement `label` granting `actions` to `accounts`.
pub fn add_permission(
    policy: &str,
    topic_arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<String> {
    if label.is_empty()
        || label.len() > 100
        || !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid("Label"));
    }
    if accounts.is_empty() {
        return Err(Error::invalid("AWSAccountId"));
    }
    if actions.is_empty() {
        return Err(Error::invalid("ActionName"));
    }
    let mut principals = Vec::new();
    for a in accounts {
        if !crate::model::is_account_id(a) {
            return Err(Error::invalid("AWSAccountId"));
        }
        principals.push(format!("arn:aws:iam::{a}:root"));
    }
    let mut granted = Vec::new();
    for a in actions {
        let name = GRANTABLE
            .iter()
            .find(|g| g.eq_ignore_ascii_case(a))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Policy statement action out of service scope! ({a})"
                ))
            })?;
        granted.push(format!("SNS:{name}"));
    }
    let mut doc: Json = serde_json::from_str(policy)?;
    let list = statements(&mut doc)?;
    if list
        .iter()
        .any(|s| s.get("Sid").and_then(Json::as_str) == Some(label))
    {
        return Err(Error::invalid("Statement already exists"));
    }
    let one_or_many = |v: Vec<String>| {
        if v.len() == 1 { json!(v[0]) } else { json!(v) }
    };
    list.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(principals)},
        "Action": one_or_many(granted),
        "Resource": topic_arn,
    }));
    Ok(doc.to_string())
}

/// The policy without the statement `label`.
pub fn remove_permission(policy: &str, label: &str) -> Result<String> {
    let mut doc: Json = serde_json::from_str(policy)?;
    let list = statements(&mut doc)?;
    let before = list.len();
    list.retain(|s| s.get("Sid").and_then(Json::as_str) != Some(label));
    if list.len() == before {
        return Err(Error::invalid("Statement does not exist"));
    }
    Ok(doc.to_string())
}

/// What a topic policy says about a service principal publishing on behalf of
/// `source_account` because of `source_arn`.
pub fn service_publish(
    policy: &str,
    topic_arn: &str,
    service: &str,
    source_account: &str,
    source_arn: &str,
) -> Decision {
    // SNS's older name for the source account stays available to topic policies.
    sightline_policy::service_decision(
        policy,
        "sns:Publish",
        topic_arn,
        service,
        source_account,
        source_arn,
        &[("AWS:SourceOwner", source_account)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sns:us-east-1:111111111111:alerts";

    #[test]
    fn the_default_policy_is_a_valid_resource_policy() {
        let p = default_policy(ARN, "111111111111");
        validate(&p).unwrap();
        let doc: Json = serde_json::from_str(&p).unwrap();
        assert_eq!(doc["Statement"][0]["Action"].as_array().unwrap().len(), 8);
    }

    #[test]
    fn permissions_are_added_and_removed_by_label() {
        let p = default_policy(ARN, "111111111111");
        let p = add_permission(
            &p,
            ARN,
            "cross",
            &["222222222222".into()],
            &["Publish".into()],
        )
        .unwrap();
        validate(&p).unwrap();
        assert!(
            add_permission(
                &p,
                ARN,
                "cross",
                &["222222222222".into()],
                &["Publish".into()]
            )
            .is_err()
        );
        assert!(add_permission(&p, ARN, "x", &["222222222222".into()], &["Fly".into()]).is_err());
        let p = remove_permission(&p, "cross").unwrap();
        assert!(remove_permission(&p, "cross").is_err());
        let doc: Json = serde_json::from_str(&p).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_service_is_allowed_only_where_the_policy_names_it() {
        let p = default_policy(ARN, "111111111111");
        let alarm = "arn:aws:cloudwatch:us-east-1:222222222222:alarm:high";
        assert_ne!(
            service_publish(&p, ARN, "cloudwatch.amazonaws.com", "222222222222", alarm),
            Decision::Allow
        );
        let granted = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": ARN,
                "Condition": {"StringEquals": {"aws:SourceAccount": "222222222222"}}
            }]
        })
        .to_string();
        assert_eq!(
            service_publish(
                &granted,
                ARN,
                "cloudwatch.amazonaws.com",
                "222222222222",
                alarm
            ),
            Decision::Allow
        );
        assert_ne!(
            service_publish(
                &granted,
                ARN,
                "cloudwatch.amazonaws.com",
                "333333333333",
                alarm
            ),
            Decision::Allow
        );
    }
}

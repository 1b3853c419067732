//! Queue attributes: the settable ones with their defaults and AWS's ranges, the
//! checks CreateQueue and SetQueueAttributes make (AWS's `InvalidAttributeName` and
//! `InvalidAttributeValue` words), RedrivePolicy's own rules, and what
//! GetQueueAttributes reports.

use crate::model::{Queue, QueueArn};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Settable attributes every queue has, with their defaults.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "1048576"),
    ("MessageRetentionPeriod", "345600"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("VisibilityTimeout", "30"),
    ("SqsManagedSseEnabled", "true"),
];

/// Integer attributes and their inclusive ranges.
const RANGES: &[(&str, i64, i64)] = &[
    ("DelaySeconds", 0, 900),
    ("MaximumMessageSize", 1024, 1_048_576),
    ("MessageRetentionPeriod", 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("VisibilityTimeout", 0, 43_200),
    ("KmsDataKeyReusePeriodSeconds", 60, 86_400),
];

/// Attributes GetQueueAttributes reports but no call sets.
pub const READ_ONLY: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// Settable attributes a queue has only when set.
const OPTIONAL: &[&str] = &[
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
];

/// Attributes of FIFO queues, which Sightline does not have.
const FIFO: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

pub fn default_of(name: &str) -> Option<&'static str> {
    DEFAULTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn unknown(name: &str) -> Error {
    Error::InvalidAttributeName(format!("Unknown Attribute {name}."))
}

fn invalid_value(name: &str) -> Error {
    Error::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

fn invalid_redrive(value: &str, reason: &str) -> Error {
    Error::invalid(format!(
        "Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}"
    ))
}

/// What a settable attribute is checked against: the queue it belongs to and whether
/// another queue (a dead-letter target) exists.
pub struct Checks<'a> {
    pub queue_arn: &'a str,
    pub queue_exists: &'a dyn Fn(&str) -> bool,
}

/// Checks one attribute of CreateQueue or SetQueueAttributes and returns the value to
/// store, normalized (`None`: the attribute is removed).
pub fn check(name: &str, value: &str, checks: &Checks<'_>) -> Result<Option<String>> {
    if let Some((_, lo, hi)) = RANGES.iter().find(|(n, ..)| *n == name) {
        return match value.trim().parse::<i64>() {
            Ok(v) if (*lo..=*hi).contains(&v) => Ok(Some(v.to_string())),
            _ => Err(invalid_value(name)),
        };
    }
    match name {
        "SqsManagedSseEnabled" => match value.to_ascii_lowercase().as_str() {
            v @ ("true" | "false") => Ok(Some(v.to_owned())),
            _ => Err(invalid_value(name)),
        },
        "Policy" => {
            if value.is_empty() {
                return Ok(None);
            }
            sightline_policy::Policy::parse(value, sightline_policy::PolicyKind::Resource)
                .map_err(|_| invalid_value(name))?;
            Ok(Some(value.to_owned()))
        }
        "RedrivePolicy" => redrive_policy(value, checks),
        "RedriveAllowPolicy" => redrive_allow_policy(value),
        "KmsMasterKeyId" => Ok((!value.is_empty()).then(|| value.to_owned())),
        _ if FIFO.contains(&name) => Err(unknown(name)),
        _ => Err(unknown(name)),
    }
}

fn redrive_policy(value: &str, checks: &Checks<'_>) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let doc: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| invalid_redrive(value, "Redrive policy is not a valid JSON map."))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| invalid_redrive(value, "Redrive policy is not a valid JSON map."))?;
    if let Some(k) = obj
        .keys()
        .find(|k| *k != "deadLetterTargetArn" && *k != "maxReceiveCount")
    {
        return Err(invalid_redrive(
            value,
            &format!(
                "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount], not {k}."
            ),
        ));
    }
    let target = obj
        .get("deadLetterTargetArn")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            invalid_redrive(
                value,
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            )
        })?;
    let count = obj.get("maxReceiveCount").ok_or_else(|| {
        invalid_redrive(
            value,
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        )
    })?;
    let count_text = match count {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let max = count_text
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            invalid_redrive(
                value,
                &format!(
                    "Invalid value for maxReceiveCount: {count_text}, valid values are from 1 to 1000 both inclusive."
                ),
            )
        })?;
    let own = QueueArn::parse(checks.queue_arn);
    let same_place = match (QueueArn::parse(target), &own) {
        (Some(t), Some(o)) => t.account == o.account && t.region == o.region,
        _ => false,
    };
    if !same_place || !(checks.queue_exists)(target) {
        return Err(invalid_redrive(value, "Dead letter target does not exist."));
    }
    if target == checks.queue_arn {
        return Err(invalid_redrive(
            value,
            "Dead letter target cannot be the source queue.",
        ));
    }
    Ok(Some(
        serde_json::json!({"deadLetterTargetArn": target, "maxReceiveCount": max}).to_string(),
    ))
}

fn redrive_allow_policy(value: &str) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = |reason: &str| {
        Error::invalid(format!(
            "Value {value} for parameter RedriveAllowPolicy is invalid. Reason: {reason}"
        ))
    };
    let doc: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| bad("Redrive allow policy is not a valid JSON map."))?;
    match doc
        .get("redrivePermission")
        .and_then(serde_json::Value::as_str)
    {
        Some("allowAll" | "denyAll") if doc.get("sourceQueueArns").is_none() => {}
        Some("byQueue") => {
            let arns = doc
                .get("sourceQueueArns")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| {
                    bad("sourceQueueArns must be a list when redrivePermission is byQueue.")
                })?;
            if arns.is_empty() || arns.len() > 10 {
                return Err(bad("sourceQueueArns must name 1 to 10 queues."));
            }
        }
        Some("allowAll" | "denyAll") => {
            return Err(bad(
                "sourceQueueArns may only be given when redrivePermission is byQueue.",
            ));
        }
        _ => {
            return Err(bad(
                "redrivePermission must be one of allowAll, denyAll, byQueue.",
            ));
        }
    }
    Ok(Some(value.to_owned()))
}

/// Checks every attribute of a request, in name order, into the values to store.
pub fn check_all(
    given: &BTreeMap<String, String>,
    checks: &Checks<'_>,
) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        out.insert(name.clone(), check(name, value, checks)?);
    }
    Ok(out)
}

/// The attributes of a new queue: the defaults with the request's values over them.
pub fn initial(checked: &BTreeMap<String, Option<String>>) -> BTreeMap<String, String> {
    let mut attrs: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in checked {
        match v {
            Some(v) => attrs.insert(k.clone(), v.clone()),
            None => attrs.remove(k),
        };
    }
    if attrs.contains_key("KmsMasterKeyId") && !attrs.contains_key("KmsDataKeyReusePeriodSeconds") {
        attrs.insert("KmsDataKeyReusePeriodSeconds".into(), "300".into());
    }
    attrs
}

/// The first requested attribute whose value differs from the queue's, for
/// CreateQueue's idempotency rule.
pub fn first_difference(
    queue: &Queue,
    checked: &BTreeMap<String, Option<String>>,
) -> Option<String> {
    checked
        .iter()
        .find(|(k, v)| queue.attributes.get(k.as_str()) != v.as_ref())
        .map(|(k, _)| k.clone())
}

/// A queue's message counts, computed by the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub visible: usize,
    pub not_visible: usize,
    pub delayed: usize,
}

/// Checks GetQueueAttributes' names (`All` or known names).
pub fn check_names(names: &[String]) -> Result<()> {
    for n in names {
        let known = n == "All"
            || READ_ONLY.contains(&n.as_str())
            || default_of(n).is_some()
            || OPTIONAL.contains(&n.as_str());
        if !known {
            return Err(unknown(n));
        }
    }
    Ok(())
}

/// What GetQueueAttributes returns for `names` (already checked).
pub fn report(queue: &Queue, counts: Counts, names: &[String]) -> BTreeMap<String, String> {
    let all = names.iter().any(|n| n == "All");
    let wanted = |n: &str| all || names.iter().any(|x| x == n);
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if wanted(k) {
            out.insert(k.to_owned(), v);
        }
    };
    put("QueueArn", queue.arn.clone());
    put("ApproximateNumberOfMessages", counts.visible.to_string());
    put(
        "ApproximateNumberOfMessagesNotVisible",
        counts.not_visible.to_string(),
    );
    put(
        "ApproximateNumberOfMessagesDelayed",
        counts.delayed.to_string(),
    );
    put("CreatedTimestamp", queue.created.to_string());
    put("LastModifiedTimestamp", queue.modified.to_string());
    for (k, v) in &queue.attributes {
        put(k, v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:111111111111:src";
    const DLQ: &str = "arn:aws:sqs:us-east-1:111111111111:dlq";

    fn checks() -> Checks<'static> {
        Checks {
            queue_arn: ARN,
            queue_exists: &|a: &str| a == DLQ,
        }
    }

    fn err(name: &str, value: &str) -> Error {
        check(name, value, &checks()).unwrap_err()
    }

    #[test]
    fn numbers_are_held_to_aws_ranges() {
        for (name, lo, hi) in RANGES {
            assert_eq!(
                check(name, &lo.to_string(), &checks()).unwrap(),
                Some(lo.to_string())
            );
            assert_eq!(
                check(name, &hi.to_string(), &checks()).unwrap(),
                Some(hi.to_string())
            );
            for bad in [
                (lo - 1).to_string(),
                (hi + 1).to_string(),
                "x".into(),
                "1.5".into(),
            ] {
                match err(name, &bad) {
                    Error::InvalidAttributeValue(m) => {
                        assert_eq!(m, format!("Invalid value for the parameter {name}."))
                    }
                    other => panic!("{name}={bad}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn unknown_read_only_and_fifo_names_are_invalid_names() {
        for name in [
            "Colour",
            "QueueArn",
            "ApproximateNumberOfMessages",
            "FifoQueue",
        ] {
            match err(name, "1") {
                Error::InvalidAttributeName(m) => {
                    assert_eq!(m, format!("Unknown Attribute {name}."))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn policies_must_parse_and_empty_removes() {
        assert!(matches!(
            err("Policy", "{not json"),
            Error::InvalidAttributeValue(_)
        ));
        assert_eq!(check("Policy", "", &checks()).unwrap(), None);
        let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}]}"#;
        assert_eq!(check("Policy", p, &checks()).unwrap().as_deref(), Some(p));
    }

    #[test]
    fn redrive_policies_name_an_existing_queue_and_a_count() {
        let ok = format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":"3"}}"#);
        assert_eq!(
            check("RedrivePolicy", &ok, &checks()).unwrap().unwrap(),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":3}}"#)
        );
        let reason = |v: &str| match err("RedrivePolicy", v) {
            Error::InvalidParameterValue(m) => m.split("Reason: ").nth(1).unwrap_or("").to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(reason("[]"), "Redrive policy is not a valid JSON map.");
        assert_eq!(
            reason(&format!(
                r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":0}}"#
            )),
            "Invalid value for maxReceiveCount: 0, valid values are from 1 to 1000 both inclusive."
        );
        assert_eq!(
            reason(r#"{"maxReceiveCount":2}"#),
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn."
        );
        assert_eq!(
            reason(
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111111111111:nope","maxReceiveCount":2}"#
            ),
            "Dead letter target does not exist."
        );
        assert_eq!(check("RedrivePolicy", "", &checks()).unwrap(), None);
    }

    #[test]
    fn new_queues_start_from_the_defaults() {
        let mut given = BTreeMap::new();
        given.insert("VisibilityTimeout".to_owned(), "45".to_owned());
        let attrs = initial(&check_all(&given, &checks()).unwrap());
        assert_eq!(attrs["VisibilityTimeout"], "45");
        assert_eq!(attrs["MessageRetentionPeriod"], "345600");
        assert_eq!(attrs["MaximumMessageSize"], "1048576");
        assert!(!attrs.contains_key("Policy"));
    }

    #[test]
    fn get_names_are_checked_and_reported() {
        assert!(check_names(&["All".into()]).is_ok());
        assert!(matches!(
            check_names(&["Nope".into()]),
            Err(Error::InvalidAttributeName(_))
        ));
        let q = Queue {
            id: "id".into(),
            arn: ARN.into(),
            name: "src".into(),
            account: "111111111111".into(),
            region: "us-east-1".into(),
            created: 10,
            modified: 20,
            attributes: initial(&BTreeMap::new()),
            tags: BTreeMap::new(),
        };
        let counts = Counts {
            visible: 3,
            not_visible: 2,
            delayed: 1,
        };
        let all = report(&q, counts, &["All".into()]);
        assert_eq!(all["QueueArn"], ARN);
        assert_eq!(all["ApproximateNumberOfMessages"], "3");
        assert_eq!(all["ApproximateNumberOfMessagesNotVisible"], "2");
        assert_eq!(all["ApproximateNumberOfMessagesDelayed"], "1");
        assert_eq!(all["CreatedTimestamp"], "10");
        let some = report(&q, counts, &["VisibilityTimeout".into()]);
        assert_eq!(some.len(), 1);
        assert_eq!(some["VisibilityTimeout"], "30");
    }
}

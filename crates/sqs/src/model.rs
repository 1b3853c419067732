//! Queues and messages as stored, and the names that identify them: queue ARNs, queue
//! URLs (`<endpoint>/<account>/<name>`, the only handle most operations take) and
//! receipt handles (which receive of which message a delete or visibility change means).

use crate::{Error, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `arn:aws:sqs:REGION:ACCOUNT:NAME`.
pub fn queue_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// A queue ARN's region, account and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

impl<'a> QueueArn<'a> {
    pub fn parse(arn: &'a str) -> Option<QueueArn<'a>> {
        let p: Vec<&str> = arn.splitn(6, ':').collect();
        (p.len() == 6
            && p[0] == "arn"
            && p[2] == "sqs"
            && !p[3].is_empty()
            && is_account_id(p[4])
            && valid_name(p[5]))
        .then(|| QueueArn {
            region: p[3],
            account: p[4],
            name: p[5],
        })
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// 1 to 80 alphanumeric characters, hyphens or underscores.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn check_name(name: &str) -> Result<()> {
    if name.ends_with(".fifo") {
        return Err(Error::UnsupportedOperation(
            "FIFO queues are not supported by Sightline".into(),
        ));
    }
    if !valid_name(name) {
        return Err(Error::invalid(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    Ok(())
}

/// The account and name a queue URL names. The host is not checked: clients reach the
/// server under several names (`localhost`, an IP, a public name), and AWS's own
/// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` form is accepted too.
pub fn parse_queue_url(url: &str) -> Result<(String, String)> {
    let bad =
        || Error::InvalidAddress(format!("The address {url} is not valid for this endpoint."));
    let rest = url.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
    let path = rest.split_once('/').map(|(_, p)| p).ok_or_else(bad)?;
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut parts = path.trim_end_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(account), Some(name), None) if is_account_id(account) && valid_name(name) => {
            Ok((account.to_owned(), name.to_owned()))
        }
        _ => Err(bad()),
    }
}

/// A queue's configuration; its messages live apart, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Distinguishes a queue from one of the same name created after it was deleted.
    pub id: String,
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    /// Epoch seconds.
    pub created: i64,
    pub modified: i64,
    /// Every settable attribute, defaults included; absent optional ones (Policy,
    /// RedrivePolicy) are not present.
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl Queue {
    /// A numeric attribute (all of them have defaults, so absence is a bug's fallback).
    pub fn number(&self, name: &str) -> i64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .or_else(|| crate::attributes::default_of(name).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    }

    pub fn visibility_timeout(&self) -> i64 {
        self.number("VisibilityTimeout")
    }

    pub fn retention_ms(&self) -> i64 {
        self.number("MessageRetentionPeriod") * 1000
    }

    pub fn delay_seconds(&self) -> i64 {
        self.number("DelaySeconds")
    }

    pub fn max_message_size(&self) -> usize {
        usize::try_from(self.number("MaximumMessageSize")).unwrap_or(0)
    }

    pub fn wait_seconds(&self) -> i64 {
        self.number("ReceiveMessageWaitTimeSeconds")
    }

    pub fn policy(&self) -> Option<&str> {
        self.attributes.get("Policy").map(String::as_str)
    }

    /// The dead-letter queue and maxReceiveCount of the RedrivePolicy, if one is set.
    pub fn redrive(&self) -> Option<(String, u32)> {
        let doc: serde_json::Value =
            serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        let target = doc.get("deadLetterTargetArn")?.as_str()?.to_owned();
        let max = doc.get("maxReceiveCount")?.as_u64()?;
        Some((target, u32::try_from(max).ok()?))
    }

    pub fn url(&self, endpoint: &str) -> String {
        format!("{endpoint}/{}/{}", self.account, self.name)
    }
}

/// A message attribute as SendMessage takes it and ReceiveMessage returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_option")]
    pub binary: Option<Vec<u8>>,
}

impl AttributeValue {
    pub fn is_binary(&self) -> bool {
        self.data_type.starts_with("Binary")
    }

    /// The bytes the attribute counts toward the message size.
    pub fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + self.string.as_ref().map_or(0, String::len)
            + self.binary.as_ref().map_or(0, Vec::len)
    }
}

pub type Attributes = BTreeMap<String, AttributeValue>;

/// What a message is, fixed when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub id: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
    /// Message system attributes (`AWSTraceHeader`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system: Attributes,
    pub md5_body: String,
    /// Epoch milliseconds.
    pub sent: i64,
    pub sender: String,
    /// The queue a dead-letter queue's message was moved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_source: Option<String>,
}

/// A message in a queue: its content and where it is in its life.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Position in the engine's send order; the SQLite row id.
    pub seq: u64,
    /// The queue's `id`.
    pub queue: String,
    pub content: std::sync::Arc<Content>,
    /// Epoch milliseconds from which a receive may return it (the end of a delay or of
    /// a visibility timeout).
    pub visible_at: i64,
    pub receive_count: u32,
    pub first_receive: Option<i64>,
    /// The nonce of the latest receive's receipt handle.
    pub receipt: Option<String>,
}

impl Message {
    pub fn in_flight(&self, now: i64) -> bool {
        self.receive_count > 0 && self.visible_at > now
    }

    pub fn delayed(&self, now: i64) -> bool {
        self.receive_count == 0 && self.visible_at > now
    }
}

/// A receipt handle: which message, and which receive of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub seq: u64,
    pub nonce: String,
}

impl Receipt {
    pub fn encode(&self, queue_id: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{queue_id}:{}:{}", self.seq, self.nonce))
    }

    /// The receipt a handle carries if it is one of `queue_id`'s; a handle that is
    /// not a receipt at all is `ReceiptHandleIsInvalid`.
    pub fn decode(handle: &str) -> Result<(String, Receipt)> {
        let invalid = || {
            Error::ReceiptHandleIsInvalid(format!(
                "The input receipt handle \"{handle}\" is not a valid receipt handle."
            ))
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(handle.trim())
            .map_err(|_| invalid())?;
        let text = String::from_utf8(raw).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, ':');
        let (Some(queue), Some(seq), Some(nonce)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let seq = seq.parse().map_err(|_| invalid())?;
        if queue.is_empty() || nonce.is_empty() {
            return Err(invalid());
        }
        Ok((
            queue.to_owned(),
            Receipt {
                seq,
                nonce: nonce.to_owned(),
            },
        ))
    }

    pub fn new_nonce() -> String {
        let mut b = [0u8; 12];
        rand::fill(&mut b);
        hex::encode(b)
    }
}

/// Optional bytes as base64 text in a JSON row.
mod b64_option {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_name_an_account_and_a_queue() {
        assert_eq!(
            parse_queue_url("http://127.0.0.1:4566/123456789012/jobs").unwrap(),
            ("123456789012".into(), "jobs".into())
        );
        assert_eq!(
            parse_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/a-b_c/").unwrap(),
            ("123456789012".into(), "a-b_c".into())
        );
        for bad in [
            "jobs",
            "http://host/jobs",
            "http://host/12345/jobs",
            "http://host/123456789012/jo bs",
            "http://host/123456789012/a/b",
        ] {
            assert!(
                matches!(parse_queue_url(bad), Err(Error::InvalidAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn queue_arns_parse() {
        let a = QueueArn::parse("arn:aws:sqs:eu-west-1:123456789012:q1").unwrap();
        assert_eq!(
            (a.region, a.account, a.name),
            ("eu-west-1", "123456789012", "q1")
        );
        assert!(QueueArn::parse("arn:aws:sns:eu-west-1:123456789012:q1").is_none());
        assert!(QueueArn::parse("arn:aws:sqs:eu-west-1:1234:q1").is_none());
    }

    #[test]
    fn receipts_round_trip_and_garbage_is_invalid() {
        let r = Receipt {
            seq: 42,
            nonce: Receipt::new_nonce(),
        };
        let handle = r.encode("queue-id");
        assert_eq!(Receipt::decode(&handle).unwrap(), ("queue-id".into(), r));
        assert!(matches!(
            Receipt::decode("not a handle"),
            Err(Error::ReceiptHandleIsInvalid(_))
        ));
        let no_seq = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("q:x:y");
        assert!(Receipt::decode(&no_seq).is_err());
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(check_name("orders-1_a").is_ok());
        assert!(check_name(&"a".repeat(80)).is_ok());
        assert!(check_name(&"a".repeat(81)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a.b").is_err());
        assert!(matches!(
            check_name("jobs.fifo"),
            Err(Error::UnsupportedOperation(_))
        ));
    }
}

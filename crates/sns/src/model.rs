//! SNS domain types as stored: topics, subscriptions, published messages, the deliveries
//! still owed for them, and the signing keys; plus the ARN and name rules they obey.

use crate::retry::RetryPolicy;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocols Sightline delivers to.
pub const PROTOCOLS: &[&str] = &["http", "https", "email", "email-json", "sqs"];
/// Protocols SNS knows but Sightline has nothing to deliver to.
pub const UNSUPPORTED_PROTOCOLS: &[&str] = &["sms", "application", "lambda", "firehose"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    pub created: DateTime<Utc>,
    /// The attributes as set (Policy always present): DisplayName, DeliveryPolicy,
    /// SignatureVersion, TracingConfig, KmsMasterKeyId, the delivery-status feedback
    /// attributes. Computed ones (counts, Owner, EffectiveDeliveryPolicy) are not kept.
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<Tag>,
    pub subscriptions_deleted: u64,
}

impl Topic {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    pub fn display_name(&self) -> &str {
        self.attribute("DisplayName").unwrap_or("")
    }

    /// `1` (SHA1withRSA) unless the topic asks for `2` (SHA256withRSA).
    pub fn signature_version(&self) -> u8 {
        match self.attribute("SignatureVersion") {
            Some("2") => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    /// The account that subscribed.
    pub owner: String,
    pub region: String,
    pub protocol: String,
    pub endpoint: String,
    pub confirmed: bool,
    /// The confirmation token; its issue time bounds how long it stays valid.
    pub token: String,
    pub token_issued: DateTime<Utc>,
    /// Confirmed through a signed ConfirmSubscription with AuthenticateOnUnsubscribe:
    /// the unsigned UnsubscribeURL may not remove it then.
    pub authenticated: bool,
    /// RawMessageDelivery, FilterPolicy, FilterPolicyScope, DeliveryPolicy,
    /// RedrivePolicy, … as set.
    pub attributes: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
}

impl Subscription {
    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn is_http(&self) -> bool {
        self.protocol == "http" || self.protocol == "https"
    }
}

/// One message attribute as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    /// The string value, or base64 of the bytes for Binary types: what notifications
    /// carry as `Value` either way.
    pub value: String,
}

/// A message accepted by Publish, kept until every delivery of it is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub id: String,
    pub topic_arn: String,
    pub region: String,
    pub subject: Option<String>,
    /// The message, or the `default` entry of a `MessageStructure=json` message.
    pub message: String,
    /// Per-protocol messages of a `MessageStructure=json` message.
    pub per_protocol: BTreeMap<String, String>,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub timestamp: DateTime<Utc>,
    pub signature_version: u8,
    /// The topic's DisplayName at publish time: the From name of emails.
    pub display_name: String,
}

impl Published {
    /// The text a subscription of `protocol` receives.
    pub fn message_for(&self, protocol: &str) -> &str {
        self.per_protocol
            .get(protocol)
            .map_or(self.message.as_str(), String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryKind {
    SubscriptionConfirmation,
    Notification,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::SubscriptionConfirmation => "SubscriptionConfirmation",
            DeliveryKind::Notification => "Notification",
        }
    }
}

/// One message owed to one endpoint. The endpoint and the policy are copied from the
/// subscription when the delivery is made, so a retry schedule does not change midway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub kind: DeliveryKind,
    /// The published message (notifications) or this delivery's own message id
    /// (confirmations, which have no stored message).
    pub message_id: String,
    pub topic_arn: String,
    pub region: String,
    pub subscription_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub raw: bool,
    /// Confirmation token (confirmations only).
    pub token: Option<String>,
    pub signature_version: u8,
    pub content_type: Option<String>,
    pub retry: RetryPolicy,
    /// Failed attempts so far.
    pub attempts: u32,
    pub due: DateTime<Utc>,
    pub created: DateTime<Utc>,
    /// From name of emails (the topic's DisplayName).
    pub display_name: String,
}

/// A region's notification signing key: the private half sealed, the certificate
/// served at the SigningCertURL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub region: String,
    /// Hex of the first 16 bytes of the SHA-256 of the public key (DER): names the
    /// certificate file.
    pub id: String,
    #[serde(with = "sightline_core::b64")]
    pub sealed_private: Vec<u8>,
    pub certificate_pem: String,
    pub created: DateTime<Utc>,
}

/// The parts of a topic ARN `arn:aws:sns:REGION:ACCOUNT:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn {
    pub region: String,
    pub account: String,
    pub name: String,
}

impl TopicArn {
    pub fn parse(arn: &str) -> Option<TopicArn> {
        let mut parts = arn.split(':');
        let (arn_, partition, service, region, account, name) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some()
            || arn_ != "arn"
            || partition.is_empty()
            || service != "sns"
            || region.is_empty()
            || !is_account_id(account)
            || valid_topic_name(name).is_err()
        {
            return None;
        }
        Some(TopicArn {
            region: region.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The topic ARN a subscription ARN (`TOPIC_ARN:ID`) belongs to.
pub fn subscription_topic(arn: &str) -> Option<&str> {
    let (topic, id) = arn.rsplit_once(':')?;
    if id.is_empty() || TopicArn::parse(topic).is_none() {
        return None;
    }
    Some(topic)
}

pub fn topic_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sns:{region}:{account}:{name}")
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Topic names: 1–256 of letters, digits, `-` and `_` (FIFO names end in `.fifo`).
pub fn valid_topic_name(name: &str) -> Result<()> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if name.is_empty()
        || name.len() > 256
        || base.is_empty()
        || !base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid("Topic Name"));
    }
    Ok(())
}

pub fn valid_tags(tags: &[Tag]) -> Result<()> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(Error::invalid(
                "Tag keys must be between 1 and 128 characters",
            ));
        }
        if t.value.chars().count() > 256 {
            return Err(Error::invalid("Tag values must be at most 256 characters"));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::invalid(
                "Tag keys may not begin with the reserved prefix aws:",
            ));
        }
    }
    Ok(())
}

/// Merges `new` into `tags`, a later value replacing an earlier one.
pub fn merge_tags(tags: &mut Vec<Tag>, new: Vec<Tag>) {
    for t in new {
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(existing) => existing.value = t.value,
            None => tags.push(t),
        }
    }
}

/// Timestamps as SNS writes them in notifications: milliseconds, `Z`.
pub fn sns_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_parse_only_when_well_formed() {
        let a = TopicArn::parse("arn:aws:sns:us-east-1:123456789012:alerts").unwrap();
        assert_eq!(a.name, "alerts");
        assert_eq!(a.account, "123456789012");
        for bad in [
            "alerts",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
            "arn:aws:sns:us-east-1:1234:alerts",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:bad name",
            "arn:aws:sns:us-east-1:123456789012:a:b",
        ] {
            assert!(TopicArn::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            subscription_topic("arn:aws:sns:us-east-1:123456789012:alerts:1f2e"),
            Some("arn:aws:sns:us-east-1:123456789012:alerts")
        );
        assert_eq!(
            subscription_topic("arn:aws:sns:us-east-1:123456789012:alerts"),
            None
        );
    }

    #[test]
    fn topic_names_follow_sns_rules() {
        assert!(valid_topic_name("my-topic_1").is_ok());
        assert!(valid_topic_name("orders.fifo").is_ok());
        assert!(valid_topic_name(&"a".repeat(256)).is_ok());
        assert!(valid_topic_name(&"a".repeat(257)).is_err());
        assert!(valid_topic_name("").is_err());
        assert!(valid_topic_name("a.b").is_err());
    }
}

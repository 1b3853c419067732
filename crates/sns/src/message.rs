//! What a published message must be (size, subject, `MessageStructure=json`, message
//! attributes, each refused with SNS's error), and the documents endpoints receive: the
//! JSON notification and confirmation messages and the string their signatures cover.

use crate::model::{MessageAttribute, sns_time};
use crate::{Error, Result};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// The largest message SNS takes, attributes included.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
const MAX_ATTRIBUTES: usize = 10;
const MAX_SUBJECT: usize = 100;

/// One message attribute as it arrives in a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeInput {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// Subjects are printable ASCII, start with a letter, digit or punctuation mark and
/// are at most 100 characters long.
pub fn check_subject(subject: &str) -> Result<()> {
    let printable = |b: u8| (0x20..=0x7e).contains(&b);
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT
        || !subject.bytes().all(printable)
        || subject.starts_with(' ')
    {
        return Err(Error::invalid("Subject"));
    }
    Ok(())
}

/// A subject a service sends (alarm names can make it long): cut to what SNS takes.
pub fn tidy_subject(subject: &str) -> Option<String> {
    let s: String = subject
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { ' ' })
        .collect();
    let s = s.trim_start();
    let s: String = s.chars().take(MAX_SUBJECT).collect();
    (!s.is_empty()).then_some(s)
}

/// The per-protocol messages of a `MessageStructure=json` message: a JSON object with a
/// string `default`; other string entries are kept, other values ignored.
pub fn parse_structure(message: &str) -> Result<(String, BTreeMap<String, String>)> {
    let doc: Map<String, Json> = match serde_json::from_str::<Json>(message) {
        Ok(Json::Object(m)) => m,
        _ => {
            return Err(Error::invalid(
                "Message Structure - JSON message body failed to parse",
            ));
        }
    };
    let default = match doc.get("default") {
        Some(Json::String(s)) => s.clone(),
        _ => {
            return Err(Error::invalid(
                "Message Structure - No default entry in JSON message body",
            ));
        }
    };
    let per_protocol = doc
        .into_iter()
        .filter(|(k, _)| k != "default")
        .filter_map(|(k, v)| match v {
            Json::String(s) => Some((k, s)),
            _ => None,
        })
        .collect();
    Ok((default, per_protocol))
}

fn check_attribute_name(name: &str) -> Result<()> {
    let lower = name.to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "The message attribute name '{name}' is invalid. Names may hold letters, digits, '_', '-' and '.', may not begin or end with a period or hold two in a row, may not begin with 'AWS.' or 'Amazon.', and are at most 256 characters long."
        )))
    }
}

/// Numbers as SNS takes them: decimal, at most 38 significant digits, magnitude
/// between 10^-128 and 10^126.
fn is_sns_number(s: &str) -> bool {
    let t = s.trim();
    let Ok(v) = t.parse::<f64>() else {
        return false;
    };
    if !v.is_finite() || t.contains(['x', 'X', 'n', 'N', 'i', 'I']) {
        return false;
    }
    let mantissa = t.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    let a = v.abs();
    significant <= 38 && (a == 0.0 || (1e-128..=1e126).contains(&a))
}

fn is_string_array(s: &str) -> bool {
    match serde_json::from_str::<Json>(s) {
        Ok(Json::Array(items)) => items.iter().all(|i| {
            matches!(
                i,
                Json::String(_) | Json::Number(_) | Json::Bool(_) | Json::Null
            )
        }),
        _ => false,
    }
}

/// Validates message attributes and turns them into what notifications carry.
pub fn check_attributes(
    input: BTreeMap<String, AttributeInput>,
) -> Result<BTreeMap<String, MessageAttribute>> {
    if input.len() > MAX_ATTRIBUTES {
        return Err(Error::invalid(format!(
            "MessageAttributes Reason: Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            input.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (name, a) in input {
        check_attribute_name(&name)?;
        let t = a.data_type.as_str();
        let prefix = t.split('.').next().unwrap_or("");
        if !matches!(prefix, "String" | "Number" | "Binary") || t.len() > 256 {
            return Err(Error::invalid(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        let empty = || {
            Error::invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{prefix}'."
            ))
        };
        let value = if prefix == "Binary" {
            match a.binary_value {
                Some(b) if !b.is_empty() => base64::engine::general_purpose::STANDARD.encode(b),
                _ => return Err(empty()),
            }
        } else {
            match a.string_value {
                Some(s) if !s.is_empty() => s,
                _ => return Err(empty()),
            }
        };
        if prefix == "Number" && !is_sns_number(&value) {
            return Err(Error::InvalidParameterValue(format!(
                "Could not cast message attribute '{name}' value to number."
            )));
        }
        if t == "String.Array" && !is_string_array(&value) {
            return Err(Error::invalid(format!(
                "The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a JSON array of strings, numbers, true, false or null."
            )));
        }
        out.insert(
            name,
            MessageAttribute {
                data_type: a.data_type,
                value,
            },
        );
    }
    Ok(out)
}

/// The size SNS counts against the 256 KiB limit: the message and every part of its
/// attributes.
pub fn counted_size(message: &str, attributes: &BTreeMap<String, MessageAttribute>) -> usize {
    message.len()
        + attributes
            .iter()
            .map(|(k, a)| k.len() + a.data_type.len() + a.value.len())
            .sum::<usize>()
}

/// The fields of a JSON message an endpoint receives, before its signature.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub kind: &'a str,
    pub message_id: &'a str,
    pub topic_arn: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub timestamp: DateTime<Utc>,
    /// Confirmations only.
    pub token: Option<&'a str>,
    pub subscribe_url: Option<&'a str>,
    /// Notifications only.
    pub unsubscribe_url: Option<&'a str>,
    pub attributes: Option<&'a BTreeMap<String, MessageAttribute>>,
}

impl Envelope<'_> {
    /// The string SNS signs: `Key\nValue\n` for the documented keys of the message
    /// type, in byte order of the key names, Subject only when present.
    pub fn string_to_sign(&self) -> String {
        let ts = sns_time(&self.timestamp);
        let mut fields: Vec<(&str, &str)> = vec![("Message", self.message)];
        fields.push(("MessageId", self.message_id));
        if self.kind == "Notification" {
            if let Some(s) = self.subject {
                fields.push(("Subject", s));
            }
            fields.push(("Timestamp", &ts));
            fields.push(("TopicArn", self.topic_arn));
            fields.push(("Type", self.kind));
        } else {
            fields.push(("SubscribeURL", self.subscribe_url.unwrap_or("")));
            fields.push(("Timestamp", &ts));
            fields.push(("Token", self.token.unwrap_or("")));
            fields.push(("TopicArn", self.topic_arn));
            fields.push(("Type", self.kind));
        }
        let mut out = String::new();
        for (k, v) in fields {
            out.push_str(k);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        }
        out
    }

    /// The JSON document, in the member order SNS writes.
    pub fn to_json(&self, signature_version: u8, signature: &str, cert_url: &str) -> String {
        let mut m = Map::new();
        let s = |v: &str| Json::String(v.to_owned());
        m.insert("Type".into(), s(self.kind));
        m.insert("MessageId".into(), s(self.message_id));
        if let Some(t) = self.token {
            m.insert("Token".into(), s(t));
        }
        m.insert("TopicArn".into(), s(self.topic_arn));
        if let Some(sub) = self.subject {
            m.insert("Subject".into(), s(sub));
        }
        m.insert("Message".into(), s(self.message));
        if let Some(u) = self.subscribe_url {
            m.insert("SubscribeURL".into(), s(u));
        }
        m.insert("Timestamp".into(), s(&sns_time(&self.timestamp)));
        m.insert("SignatureVersion".into(), s(&signature_version.to_string()));
        m.insert("Signature".into(), s(signature));
        m.insert("SigningCertURL".into(), s(cert_url));
        if let Some(u) = self.unsubscribe_url {
            m.insert("UnsubscribeURL".into(), s(u));
        }
        if let Some(attrs) = self.attributes.filter(|a| !a.is_empty()) {
            let mut am = Map::new();
            for (k, a) in attrs {
                let mut one = Map::new();
                one.insert("Type".into(), s(&a.data_type));
                one.insert("Value".into(), s(&a.value));
                am.insert(k.clone(), Json::Object(one));
            }
            m.insert("MessageAttributes".into(), Json::Object(am));
        }
        Json::Object(m).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(t: &str, s: Option<&str>, b: Option<&[u8]>) -> AttributeInput {
        AttributeInput {
            data_type: t.into(),
            string_value: s.map(str::to_owned),
            binary_value: b.map(<[u8]>::to_vec),
        }
    }

    fn one(name: &str, a: AttributeInput) -> Result<BTreeMap<String, MessageAttribute>> {
        check_attributes(BTreeMap::from([(name.to_owned(), a)]))
    }

    #[test]
    fn subjects_are_short_printable_ascii() {
        assert!(check_subject("Disk usage high").is_ok());
        assert!(check_subject(&"s".repeat(100)).is_ok());
        assert!(check_subject(&"s".repeat(101)).is_err());
        assert!(check_subject("two\nlines").is_err());
        assert!(check_subject("").is_err());
        assert!(check_subject(" leading space").is_err());
        assert!(check_subject("caf\u{e9}").is_err());
        assert_eq!(tidy_subject(&"x".repeat(300)).unwrap().len(), 100);
        assert_eq!(tidy_subject("a\nb").unwrap(), "a b");
    }

    #[test]
    fn message_structure_needs_a_json_object_with_default() {
        let (d, p) = parse_structure(r#"{"default":"d","email":"e","http":7}"#).unwrap();
        assert_eq!(d, "d");
        assert_eq!(p.get("email").map(String::as_str), Some("e"));
        assert!(!p.contains_key("http"));
        let e = parse_structure("{not json").unwrap_err().to_string();
        assert!(e.contains("failed to parse"), "{e}");
        let e = parse_structure(r#"{"email":"e"}"#).unwrap_err().to_string();
        assert!(e.contains("No default entry"), "{e}");
        assert!(parse_structure("[1]").is_err());
    }

    #[test]
    fn attributes_are_validated_by_type() {
        assert!(one("n", attr("Number", Some("12.5"), None)).is_ok());
        assert!(one("n", attr("Number.float", Some("-1e10"), None)).is_ok());
        assert!(matches!(
            one("n", attr("Number", Some("twelve"), None)),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(one("n", attr("Number", Some("NaN"), None)).is_err());
        assert!(one("s", attr("String", Some(""), None)).is_err());
        assert!(one("s", attr("String", None, None)).is_err());
        assert!(one("s", attr("Integer", Some("1"), None)).is_err());
        let b = one("b", attr("Binary", None, Some(b"\x00\x01"))).unwrap();
        assert_eq!(b["b"].value, "AAE=");
        assert!(one("b", attr("Binary", Some("x"), None)).is_err());
        assert!(
            one(
                "a",
                attr("String.Array", Some(r#"["a",1,true,null]"#), None)
            )
            .is_ok()
        );
        assert!(one("a", attr("String.Array", Some(r#"["a",{"b":1}]"#), None)).is_err());
        assert!(one("a", attr("String.Array", Some("a,b"), None)).is_err());
        for bad in ["AWS.x", "amazon.y", ".a", "a.", "a..b", "a b", ""] {
            assert!(one(bad, attr("String", Some("v"), None)).is_err(), "{bad}");
        }
        let many: BTreeMap<String, AttributeInput> = (0..11)
            .map(|i| (format!("a{i}"), attr("String", Some("v"), None)))
            .collect();
        assert!(check_attributes(many).is_err());
    }

    #[test]
    fn notification_string_to_sign_follows_the_documented_order() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Envelope {
            kind: "Notification",
            message_id: "m",
            topic_arn: "arn:t",
            subject: Some("s"),
            message: "hello",
            timestamp: t,
            token: None,
            subscribe_url: None,
            unsubscribe_url: Some("u"),
            attributes: None,
        };
        assert_eq!(
            e.string_to_sign(),
            "Message\nhello\nMessageId\nm\nSubject\ns\nTimestamp\n2024-01-02T03:04:05.678Z\nTopicArn\narn:t\nType\nNotification\n"
        );
        let c = Envelope {
            kind: "SubscriptionConfirmation",
            subject: None,
            token: Some("tok"),
            subscribe_url: Some("url"),
            unsubscribe_url: None,
            ..e
        };
        assert_eq!(
            c.string_to_sign(),
            "Message\nhello\nMessageId\nm\nSubscribeURL\nurl\nTimestamp\n2024-01-02T03:04:05.678Z\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n"
        );
    }
}

//! What SendMessage accepts (body characters, delay, message attributes and their
//! types, the system attribute `AWSTraceHeader`, the queue's size limit), in AWS's
//! words, and what ReceiveMessage returns of a message's attributes.

use crate::model::{AttributeValue, Attributes, Message};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Message attributes a message may carry.
const MAX_ATTRIBUTES: usize = 10;
/// The longest DelaySeconds.
pub const MAX_DELAY: i64 = 900;

/// A message attribute as a request gives it, before it is checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawAttribute {
    pub data_type: Option<String>,
    pub string: Option<String>,
    pub binary: Option<Vec<u8>>,
    /// StringListValues or BinaryListValues were given (AWS reserves them).
    pub lists: bool,
}

/// A message as a sender gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outgoing {
    pub body: String,
    pub delay: Option<i64>,
    pub attributes: BTreeMap<String, RawAttribute>,
    pub system: BTreeMap<String, RawAttribute>,
}

/// A message that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub body: String,
    pub delay: Option<i64>,
    pub attributes: Attributes,
    pub system: Attributes,
    /// Body plus attributes, as the size limit counts them.
    pub size: usize,
}

const CHARACTERS: &str = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

/// Whether every character is one XML 1.0 allows (Rust strings hold no surrogates).
pub fn valid_characters(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    })
}

pub fn check_delay(delay: i64) -> Result<()> {
    if !(0..=MAX_DELAY).contains(&delay) {
        return Err(Error::invalid(format!(
            "Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= {MAX_DELAY}."
        )));
    }
    Ok(())
}

fn valid_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
}

fn reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("aws.") || lower.starts_with("amazon.")
}

/// Checks one message attribute into its stored form.
fn check_attribute(name: &str, raw: &RawAttribute) -> Result<AttributeValue> {
    if !valid_attribute_name(name) {
        return Err(Error::invalid(format!(
            "Message (user) attribute name '{name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters."
        )));
    }
    if reserved(name) {
        return Err(Error::invalid(format!(
            "Message (user) attribute name '{name}' is invalid. Attribute names may not start with the reserved prefixes AWS. or Amazon."
        )));
    }
    if raw.lists {
        return Err(Error::invalid(
            "Message attribute list values in SendMessage operation are not supported.",
        ));
    }
    let data_type = raw.data_type.as_deref().unwrap_or("");
    if data_type.is_empty() {
        return Err(Error::invalid(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    let (base, label) = match data_type.split_once('.') {
        Some((b, l)) => (b, Some(l)),
        None => (data_type, None),
    };
    let label_ok = label.is_none_or(|l| !l.is_empty() && valid_characters(l));
    if !matches!(base, "String" | "Number" | "Binary") || !label_ok || data_type.len() > 256 {
        return Err(Error::invalid(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    let empty_value = || {
        Error::invalid(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
        ))
    };
    if base == "Binary" {
        if raw.string.is_some() {
            return Err(Error::invalid(format!(
                "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
            )));
        }
        let bytes = raw
            .binary
            .clone()
            .filter(|b| !b.is_empty())
            .ok_or_else(empty_value)?;
        return Ok(AttributeValue {
            data_type: data_type.to_owned(),
            string: None,
            binary: Some(bytes),
        });
    }
    if raw.binary.is_some() {
        return Err(Error::invalid(format!(
            "The message attribute '{name}' with type '{base}' must use field 'String'."
        )));
    }
    let text = raw
        .string
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(empty_value)?;
    if !valid_characters(&text) {
        return Err(Error::InvalidMessageContents(CHARACTERS.into()));
    }
    if base == "Number" && !text.trim().parse::<f64>().is_ok_and(f64::is_finite) {
        return Err(Error::invalid(format!(
            "Can't cast the value of message (user) attribute '{name}' to a number."
        )));
    }
    Ok(AttributeValue {
        data_type: data_type.to_owned(),
        string: Some(text),
        binary: None,
    })
}

fn check_system(name: &str, raw: &RawAttribute) -> Result<AttributeValue> {
    if name != "AWSTraceHeader" {
        return Err(Error::invalid(format!(
            "Message system attribute name '{name}' is invalid."
        )));
    }
    if raw.data_type.as_deref() != Some("String") || raw.binary.is_some() || raw.lists {
        return Err(Error::invalid(
            "Message system attribute 'AWSTraceHeader' must be of type String.".to_owned(),
        ));
    }
    let text = raw
        .string
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "The message system attribute 'AWSTraceHeader' must contain a non-empty value.",
            )
        })?;
    Ok(AttributeValue {
        data_type: "String".into(),
        string: Some(text),
        binary: None,
    })
}

/// Checks a message for a queue whose MaximumMessageSize is `max_size`.
pub fn check(message: &Outgoing, max_size: usize) -> Result<Checked> {
    if message.body.is_empty() {
        return Err(Error::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    if let Some(d) = message.delay {
        check_delay(d)?;
    }
    if message.attributes.len() > MAX_ATTRIBUTES {
        return Err(Error::invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            message.attributes.len()
        )));
    }
    let mut attributes = Attributes::new();
    let mut size = message.body.len();
    for (name, raw) in &message.attributes {
        let v = check_attribute(name, raw)?;
        size += v.size(name);
        attributes.insert(name.clone(), v);
    }
    let mut system = Attributes::new();
    for (name, raw) in &message.system {
        system.insert(name.clone(), check_system(name, raw)?);
    }
    if !valid_characters(&message.body) {
        return Err(Error::InvalidMessageContents(CHARACTERS.into()));
    }
    if size > max_size {
        return Err(Error::invalid(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
        )));
    }
    Ok(Checked {
        body: message.body.clone(),
        delay: message.delay,
        attributes,
        system,
        size,
    })
}

/// The message attributes a receive asked for: `All`, `.*`, names, and `prefix.*`.
pub fn select_attributes(attributes: &Attributes, names: &[String]) -> Attributes {
    if names.iter().any(|n| n == "All" || n == ".*") {
        return attributes.clone();
    }
    attributes
        .iter()
        .filter(|(k, _)| {
            names.iter().any(|n| match n.strip_suffix('*') {
                Some(prefix) if prefix.ends_with('.') => k.starts_with(prefix),
                _ => *k == n,
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The message system attributes a receive asked for (`All` or names).
pub fn system_attributes(m: &Message, names: &[String]) -> BTreeMap<String, String> {
    let all = names.iter().any(|n| n == "All");
    let wanted = |n: &str| all || names.iter().any(|x| x == n);
    let mut out = BTreeMap::new();
    let c = &m.content;
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v
            && wanted(k)
        {
            out.insert(k.to_owned(), v);
        }
    };
    put("SenderId", Some(c.sender.clone()));
    put("SentTimestamp", Some(c.sent.to_string()));
    put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    put(
        "ApproximateFirstReceiveTimestamp",
        m.first_receive.map(|t| t.to_string()),
    );
    put(
        "AWSTraceHeader",
        c.system
            .get("AWSTraceHeader")
            .and_then(|v| v.string.clone()),
    );
    put("DeadLetterQueueSourceArn", c.dead_letter_source.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(data_type: &str, v: &str) -> RawAttribute {
        RawAttribute {
            data_type: Some(data_type.into()),
            string: Some(v.into()),
            ..RawAttribute::default()
        }
    }

    fn msg(body: &str, attrs: &[(&str, RawAttribute)]) -> Outgoing {
        Outgoing {
            body: body.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..Outgoing::default()
        }
    }

    fn message_of(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn bodies_need_text_of_allowed_characters() {
        assert!(matches!(
            check(&msg("", &[]), 1024),
            Err(Error::MissingParameter(_))
        ));
        assert!(matches!(
            check(&msg("bell \u{7}", &[]), 1024),
            Err(Error::InvalidMessageContents(_))
        ));
        assert!(matches!(
            check(&msg("\u{FFFE}", &[]), 1024),
            Err(Error::InvalidMessageContents(_))
        ));
        assert!(check(&msg("tab\tand emoji 🙂 and \u{E000}", &[]), 1024).is_ok());
    }

    #[test]
    fn size_counts_body_and_attributes() {
        let body = "x".repeat(1000);
        let ok = check(&msg(&body, &[("ab", s("String", "cd"))]), 1012).unwrap();
        assert_eq!(ok.size, 1000 + 2 + 6 + 2);
        let e = check(&msg(&body, &[("ab", s("String", "cd"))]), 1009).unwrap_err();
        assert_eq!(
            message_of(e),
            "One or more parameters are invalid. Reason: Message must be shorter than 1009 bytes."
        );
    }

    #[test]
    fn attributes_are_checked_as_aws_does() {
        let bad =
            |name: &str, raw: RawAttribute| check(&msg("b", &[(name, raw)]), 1 << 20).unwrap_err();
        assert!(message_of(bad("n", s("Number", "12a"))).contains("to a number"));
        assert!(message_of(bad("n", s("Float", "1"))).contains("supported type prefixes"));
        assert!(
            message_of(bad("n", s("String", ""))).contains("non-empty message attribute value")
        );
        assert!(message_of(bad("AWS.x", s("String", "v"))).contains("reserved"));
        assert!(message_of(bad("a..b", s("String", "v"))).contains("is invalid"));
        assert!(
            message_of(bad("n", RawAttribute::default()))
                .contains("non-empty message attribute type")
        );
        let lists = RawAttribute {
            data_type: Some("String".into()),
            lists: true,
            ..RawAttribute::default()
        };
        assert!(message_of(bad("n", lists)).contains("not supported"));
        let ok = check(
            &msg(
                "b",
                &[
                    ("n", s("Number.int", "-1.5e3")),
                    (
                        "blob",
                        RawAttribute {
                            data_type: Some("Binary".into()),
                            binary: Some(vec![1, 2]),
                            ..RawAttribute::default()
                        },
                    ),
                ],
            ),
            1 << 20,
        )
        .unwrap();
        assert_eq!(ok.attributes.len(), 2);
        let many: Vec<(String, RawAttribute)> = (0..11)
            .map(|i| (format!("a{i}"), s("String", "v")))
            .collect();
        let many: Vec<(&str, RawAttribute)> =
            many.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        assert!(message_of(check(&msg("b", &many), 1 << 20).unwrap_err()).contains("[11]"));
    }

    #[test]
    fn delays_are_at_most_fifteen_minutes() {
        assert!(check_delay(900).is_ok());
        assert!(check_delay(901).is_err());
        assert!(check_delay(-1).is_err());
    }

    #[test]
    fn receives_select_attributes_by_name_prefix_or_all() {
        let checked = check(
            &msg(
                "b",
                &[
                    ("color", s("String", "red")),
                    ("size.w", s("Number", "1")),
                    ("size.h", s("Number", "2")),
                ],
            ),
            1 << 20,
        )
        .unwrap();
        let a = &checked.attributes;
        assert_eq!(select_attributes(a, &["All".into()]).len(), 3);
        assert_eq!(select_attributes(a, &[".*".into()]).len(), 3);
        assert_eq!(select_attributes(a, &["size.*".into()]).len(), 2);
        assert_eq!(select_attributes(a, &["color".into()]).len(), 1);
        assert!(select_attributes(a, &["colour".into()]).is_empty());
        assert!(select_attributes(a, &[]).is_empty());
    }
}

//! The `Condition` element: operator parsing and evaluation against the request context.
//!
//! Semantics follow the IAM documentation: operators and keys in a block are ANDed, the values
//! of one key are ORed, a negated operator is the negation of its positive form (so it is true
//! when the key is missing), `...IfExists` is true when the key is missing, `Null` tests presence,
//! and the `ForAnyValue:`/`ForAllValues:` qualifiers quantify over a multivalued request key.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ipnet::IpNet;
use serde_json::Value;

use crate::matching::{Token, arn_tokens_match, tokens_match};
use crate::request::Context;
use crate::variables::Template;
use crate::{Result, SYNTAX_ERROR, malformed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Compare {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Compare::Equal => request == policy,
            Compare::Less => request < policy,
            Compare::LessOrEqual => request <= policy,
            Compare::Greater => request > policy,
            Compare::GreaterOrEqual => request >= policy,
        }
    }
}

/// The positive test behind an operator; negated operators reuse it with `negated` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    /// `ArnEquals` and `ArnLike` are the same test: both accept wildcards per ARN part.
    Arn,
    IpAddress,
    Bool,
    Binary,
    Numeric(Compare),
    Date(Compare),
    Null,
}

impl Test {
    /// AWS substitutes policy variables only for these operator families.
    fn takes_variables(self) -> bool {
        matches!(
            self,
            Test::StringEquals
                | Test::StringEqualsIgnoreCase
                | Test::StringLike
                | Test::Arn
                | Test::Bool
        )
    }
}

/// One `operator: { key: values }` entry of a Condition block.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    qualifier: Qualifier,
    test: Test,
    negated: bool,
    if_exists: bool,
    key: String,
    values: Vec<Template>,
}

/// Parses a whole Condition block into its ANDed entries.
pub(crate) fn parse_block(block: &Value, variables: bool) -> Result<Vec<Condition>> {
    let Value::Object(operators) = block else {
        return Err(malformed(SYNTAX_ERROR));
    };
    let mut conditions = Vec::new();
    for (operator, keys) in operators {
        let (qualifier, test, negated, if_exists) = parse_operator(operator)?;
        let Value::Object(keys) = keys else {
            return Err(malformed(SYNTAX_ERROR));
        };
        for (key, values) in keys {
            validate_key(key)?;
            let values = condition_values(values)?
                .into_iter()
                .map(|v| Template::parse(&v, variables && test.takes_variables()))
                .collect();
            conditions.push(Condition {
                qualifier,
                test,
                negated,
                if_exists,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(conditions)
}

fn parse_operator(name: &str) -> Result<(Qualifier, Test, bool, bool)> {
    let invalid = || malformed(format!("Invalid Condition type : {name}"));
    let (qualifier, rest) = match name.split_once(':') {
        None => (Qualifier::None, name),
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
            (Qualifier::ForAnyValue, rest)
        }
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
            (Qualifier::ForAllValues, rest)
        }
        Some(_) => return Err(invalid()),
    };
    let lower = rest.to_ascii_lowercase();
    let (base, if_exists) = match lower.strip_suffix("ifexists") {
        Some(base) => (base, true),
        None => (lower.as_str(), false),
    };
    let (test, negated) = match base {
        "stringequals" => (Test::StringEquals, false),
        "stringnotequals" => (Test::StringEquals, true),
        "stringequalsignorecase" => (Test::StringEqualsIgnoreCase, false),
        "stringnotequalsignorecase" => (Test::StringEqualsIgnoreCase, true),
        "stringlike" => (Test::StringLike, false),
        "stringnotlike" => (Test::StringLike, true),
        "arnequals" | "arnlike" => (Test::Arn, false),
        "arnnotequals" | "arnnotlike" => (Test::Arn, true),
        "ipaddress" => (Test::IpAddress, false),
        "notipaddress" => (Test::IpAddress, true),
        "bool" => (Test::Bool, false),
        "binaryequals" => (Test::Binary, false),
        "numericequals" => (Test::Numeric(Compare::Equal), false),
        "numericnotequals" => (Test::Numeric(Compare::Equal), true),
        "numericlessthan" => (Test::Numeric(Compare::Less), false),
        "numericlessthanequals" => (Test::Numeric(Compare::LessOrEqual), false),
        "numericgreaterthan" => (Test::Numeric(Compare::Greater), false),
        "numericgreaterthanequals" => (Test::Numeric(Compare::GreaterOrEqual), false),
        "dateequals" => (Test::Date(Compare::Equal), false),
        "datenotequals" => (Test::Date(Compare::Equal), true),
        "datelessthan" => (Test::Date(Compare::Less), false),
        "datelessthanequals" => (Test::Date(Compare::LessOrEqual), false),
        "dategreaterthan" => (Test::Date(Compare::Greater), false),
        "dategreaterthanequals" => (Test::Date(Compare::GreaterOrEqual), false),
        // `Null` is itself an existence test, so it has no IfExists form.
        "null" if !if_exists => (Test::Null, false),
        _ => return Err(invalid()),
    };
    Ok((qualifier, test, negated, if_exists))
}

/// Condition keys need a vendor prefix just like actions; IAM reports both with one message.
fn validate_key(key: &str) -> Result<()> {
    match key.split_once(':') {
        Some((vendor, name)) if !vendor.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(malformed(crate::document::VENDOR_MESSAGE)),
    }
}

/// Values may be written as strings, numbers or booleans, alone or in an array.
fn condition_values(value: &Value) -> Result<Vec<String>> {
    fn scalar(value: &Value) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(malformed(SYNTAX_ERROR)),
        }
    }
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

impl Condition {
    pub(crate) fn evaluate(&self, context: &Context) -> bool {
        let request = context.get(&self.key).unwrap_or(&[]);
        if self.test == Test::Null {
            return self.evaluate_null(!request.is_empty(), context);
        }
        if request.is_empty() {
            if self.if_exists {
                return true;
            }
            return match self.qualifier {
                Qualifier::None => self.negated,
                Qualifier::ForAnyValue => false,
                Qualifier::ForAllValues => true,
            };
        }
        let matches_any_policy_value = |value: &String| {
            self.values
                .iter()
                .any(|policy| self.test_value(policy, value, context))
        };
        match self.qualifier {
            Qualifier::None => request.iter().any(matches_any_policy_value) != self.negated,
            Qualifier::ForAnyValue => request
                .iter()
                .any(|v| matches_any_policy_value(v) != self.negated),
            Qualifier::ForAllValues => request
                .iter()
                .all(|v| matches_any_policy_value(v) != self.negated),
        }
    }

    /// `"Null": {"key": "true"}` asks for the key to be absent, `"false"` for it to be present.
    fn evaluate_null(&self, present: bool, context: &Context) -> bool {
        self.values.iter().any(|policy| {
            match policy
                .text(context)
                .map(|t| t.to_ascii_lowercase())
                .as_deref()
            {
                Some("true") => !present,
                Some("false") => present,
                _ => false,
            }
        })
    }

    /// Whether one request value satisfies the positive test against one policy value. A policy
    /// value that cannot be resolved or parsed matches nothing.
    fn test_value(&self, policy: &Template, request: &str, context: &Context) -> bool {
        match self.test {
            Test::StringEquals | Test::Binary => policy.text(context).is_some_and(|p| p == request),
            Test::StringEqualsIgnoreCase => policy
                .text(context)
                .is_some_and(|p| p.to_lowercase() == request.to_lowercase()),
            Test::StringLike => policy.pattern(context, false).is_some_and(|pattern| {
                let text: Vec<char> = request.chars().collect();
                tokens_match(&pattern, &text)
            }),
            Test::Arn => policy
                .pattern(context, false)
                .is_some_and(|pattern: Vec<Token>| arn_tokens_match(&pattern, request)),
            Test::Bool => policy
                .text(context)
                .is_some_and(|p| p.eq_ignore_ascii_case(request)),
            Test::IpAddress => {
                match (
                    policy.text(context).and_then(|p| parse_network(&p)),
                    parse_ip(request),
                ) {
                    (Some(network), Some(address)) => network.contains(&address),
                    _ => false,
                }
            }
            Test::Numeric(compare) => {
                match (
                    policy.text(context).and_then(|p| parse_number(&p)),
                    parse_number(request),
                ) {
                    (Some(p), Some(r)) => compare.holds(r, p),
                    _ => false,
                }
            }
            Test::Date(compare) => {
                match (
                    policy.text(context).and_then(|p| parse_date(&p)),
                    parse_date(request),
                ) {
                    (Some(p), Some(r)) => compare.holds(r, p),
                    _ => false,
                }
            }
            Test::Null => false,
        }
    }
}

/// A bare address in a policy means that single host (/32 or /128).
fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<IpNet>().ok().map(|net| net.addr()))
}

/// Only finite decimal numbers count; `NaN` or `inf` in a request must not compare as numbers.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Dates are ISO 8601 (with or without time and offset; UTC when no offset is written) or
/// seconds since the epoch, as `aws:EpochTime` carries them.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        let seconds: i64 = text.parse().ok()?;
        return DateTime::from_timestamp(seconds, 0);
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    let without_zone = text.strip_suffix('Z').unwrap_or(text);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y%m%dT%H%M%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(without_zone, format) {
            return Some(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(without_zone, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|naive| naive.and_utc());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_all_forms() {
        let expected = DateTime::from_timestamp(1_700_000_000, 0);
        assert_eq!(parse_date("1700000000"), expected);
        assert_eq!(parse_date("2023-11-14T22:13:20Z"), expected);
        assert_eq!(parse_date("2023-11-14T23:13:20+01:00"), expected);
        assert_eq!(parse_date("2023-11-14T22:13:20.000Z"), expected);
        assert!(parse_date("2023-11-14").is_some());
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn operator_names() {
        assert!(parse_operator("ForAllValues:StringNotLikeIfExists").is_ok());
        assert!(parse_operator("NullIfExists").is_err());
        assert!(parse_operator("StringEqual").is_err());
        assert!(parse_operator("ForSomeValues:StringEquals").is_err());
    }
}

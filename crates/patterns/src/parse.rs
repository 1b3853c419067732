//! Validation of pattern JSON into the compiled tree. Every rejection carries the JSON
//! path of the offending element so that callers can tell users exactly what to fix.

use serde_json::{Map, Value};

use crate::ops::{Cidr, Wildcard};
use crate::{Error, Result};

/// An object level of a pattern: all `fields` and every `$or` group must match.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub fields: Vec<(String, Field)>,
    /// Each group is satisfied when any of its alternatives matches the same object.
    pub ors: Vec<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// A leaf: the alternatives listed in the pattern's array.
    Leaf(Vec<Cond>),
    /// A nested object pattern.
    Object(Node),
}

/// A JSON scalar as it appears in patterns and events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// One alternative of a leaf. Case-insensitive operands are stored lowercased so that
/// matching lowercases only the event side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Exact(Scalar),
    Prefix(String),
    PrefixIc(String),
    Suffix(String),
    SuffixIc(String),
    EqIc(String),
    Wildcard(Wildcard),
    AnythingBut(Excl),
    Numeric(Range),
    Cidr(Cidr),
    Exists(bool),
}

/// What `anything-but` excludes; only string values can match the string-operator forms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Excl {
    Values(Vec<Scalar>),
    Prefix(String),
    Suffix(String),
    EqIc(Vec<String>),
    Wildcard(Wildcard),
}

/// A numeric interval; each bound is `(value, inclusive)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Range {
    pub lo: Option<(f64, bool)>,
    pub hi: Option<(f64, bool)>,
}

/// The longest pattern text PutRule accepts (`EventPattern`, in characters).
pub const MAX_PATTERN_CHARS: usize = 4096;

/// The most combinations `$or` may multiply a pattern into: EventBridge refuses
/// patterns beyond it, and it bounds what one pattern can cost the compiled matcher.
pub const MAX_OR_COMBINATIONS: usize = 1000;

/// Numeric matching is defined only within ±5.0e9, to 15 significant digits and six
/// decimal places; EventBridge refuses operands outside that rather than compare them
/// at a precision it does not promise.
const NUMERIC_LIMIT: f64 = 5.0e9;
const NUMERIC_DIGITS: usize = 15;
const NUMERIC_DECIMALS: i64 = 6;

/// Refuses pattern text over the length limit before it is decoded, so an oversized
/// pattern costs no parsing.
pub(crate) fn check_length(text: &str) -> Result<()> {
    // Counting chars stops early: only the first MAX + 1 are looked at.
    let chars = text.chars().take(MAX_PATTERN_CHARS + 1).count();
    if chars > MAX_PATTERN_CHARS {
        return Err(invalid(
            "$",
            format!("event pattern is longer than {MAX_PATTERN_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A numeric operand within the range and precision numeric matching supports.
fn numeric_bound(n: &serde_json::Number, path: &str) -> Result<f64> {
    let value = n
        .as_f64()
        .filter(|v| v.abs() <= NUMERIC_LIMIT)
        .ok_or_else(|| {
            invalid(
                path,
                format!("numeric value {n} is outside the range -5.0e9 to 5.0e9"),
            )
        })?;
    // The shortest text that reads back as this f64 says how many digits it really has.
    let (digits, decimals) = precision(&value.to_string());
    if decimals > NUMERIC_DECIMALS {
        return Err(invalid(
            path,
            format!(
                "numeric value {n} has more than {NUMERIC_DECIMALS} digits after the decimal point"
            ),
        ));
    }
    if digits > NUMERIC_DIGITS {
        return Err(invalid(
            path,
            format!("numeric value {n} has more than {NUMERIC_DIGITS} significant digits"),
        ));
    }
    Ok(value)
}

/// Significant digits and digits after the decimal point of a decimal numeral such as
/// `-12.50`, `1e-7` or `3.018e2`.
fn precision(text: &str) -> (usize, i64) {
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let frac = frac.trim_end_matches('0');
    let all: String = format!("{int}{frac}");
    let significant = all.trim_start_matches('0').trim_end_matches('0').len();
    let decimals = (i64::try_from(frac.len()).unwrap_or(i64::MAX) - exp).max(0);
    (significant, decimals)
}

impl Range {
    /// The one number an inclusive `[n, n]` range holds (what `["=", n]` parses to),
    /// which matches exactly as the plain value `n` does.
    pub(crate) fn point(&self) -> Option<f64> {
        match (self.lo, self.hi) {
            (Some((a, true)), Some((b, true))) if a == b => Some(a),
            _ => None,
        }
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn child(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn root(value: &Value) -> Result<Node> {
    let root = match value {
        Value::Object(map) => node(map, "$")?,
        _ => return Err(invalid("$", "event pattern must be a JSON object")),
    };
    if combinations(&root) > MAX_OR_COMBINATIONS {
        return Err(invalid(
            "$",
            format!(
                "event pattern has more than {MAX_OR_COMBINATIONS} combinations of $or alternatives"
            ),
        ));
    }
    Ok(root)
}

/// How many alternatives `node` multiplies out into: each `$or` group contributes the
/// sum of its alternatives', and groups and nested objects multiply.
fn combinations(node: &Node) -> usize {
    let nested = node
        .fields
        .iter()
        .fold(1usize, |acc, (_, field)| match field {
            Field::Object(sub) => acc.saturating_mul(combinations(sub)),
            Field::Leaf(_) => acc,
        });
    node.ors.iter().fold(nested, |acc, group| {
        let sum = group
            .iter()
            .fold(0usize, |s, alt| s.saturating_add(combinations(alt)));
        acc.saturating_mul(sum)
    })
}

fn node(map: &Map<String, Value>, path: &str) -> Result<Node> {
    if map.is_empty() {
        return Err(invalid(path, "pattern object must not be empty"));
    }
    let mut out = Node {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in map {
        let here = child(path, key);
        if key == "$or" {
            out.ors.push(or_group(value, &here)?);
            continue;
        }
        let field = match value {
            Value::Array(items) => Field::Leaf(leaf(items, &here)?),
            Value::Object(sub) => Field::Object(node(sub, &here)?),
            _ => {
                return Err(invalid(
                    &here,
                    "pattern value must be an array of allowed values or an object",
                ));
            }
        };
        out.fields.push((key.clone(), field));
    }
    // Compiled patterns live as long as their rules; growth slack would be kept too.
    out.fields.shrink_to_fit();
    out.ors.shrink_to_fit();
    Ok(out)
}

fn or_group(value: &Value, path: &str) -> Result<Vec<Node>> {
    let Value::Array(items) = value else {
        return Err(invalid(path, "$or must be an array of pattern objects"));
    };
    if items.len() < 2 {
        return Err(invalid(
            path,
            "$or must contain at least two pattern objects",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => node(map, &index(path, i)),
            _ => Err(invalid(
                &index(path, i),
                "$or element must be a pattern object",
            )),
        })
        .collect()
}

fn leaf(items: &[Value], path: &str) -> Result<Vec<Cond>> {
    if items.is_empty() {
        return Err(invalid(path, "array of allowed values must not be empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| cond(item, &index(path, i)))
        .collect()
}

fn scalar(value: &Value) -> Option<Scalar> {
    Some(match value {
        Value::String(s) => Scalar::Str(s.clone()),
        Value::Number(n) => Scalar::Num(n.as_f64()?),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        _ => return None,
    })
}

fn cond(item: &Value, path: &str) -> Result<Cond> {
    let map = match item {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(invalid(path, "nested arrays are not allowed in a pattern"));
        }
        other => {
            return scalar(other)
                .map(Cond::Exact)
                .ok_or_else(|| invalid(path, "number is out of range"));
        }
    };
    let mut entries = map.iter();
    let (Some((op, operand)), None) = (entries.next(), entries.next()) else {
        return Err(invalid(path, "operator object must have exactly one key"));
    };
    let here = child(path, op);
    match op.as_str() {
        "prefix" => prefix_like(operand, &here, "prefix", Cond::Prefix, Cond::PrefixIc),
        "suffix" => prefix_like(operand, &here, "suffix", Cond::Suffix, Cond::SuffixIc),
        "equals-ignore-case" => Ok(Cond::EqIc(string(operand, &here, op)?.to_lowercase())),
        "wildcard" => Ok(Cond::Wildcard(wildcard(operand, &here)?)),
        "anything-but" => Ok(Cond::AnythingBut(anything_but(operand, &here)?)),
        "numeric" => Ok(Cond::Numeric(numeric(operand, &here)?)),
        "cidr" => {
            let text = string(operand, &here, op)?;
            Cidr::parse(text)
                .map(Cond::Cidr)
                .ok_or_else(|| invalid(&here, format!("invalid CIDR block {text:?}")))
        }
        "exists" => match operand {
            Value::Bool(b) => Ok(Cond::Exists(*b)),
            _ => Err(invalid(&here, "exists must be true or false")),
        },
        other => Err(invalid(path, format!("unrecognized operator {other:?}"))),
    }
}

fn string<'a>(operand: &'a Value, path: &str, op: &str) -> Result<&'a str> {
    operand
        .as_str()
        .ok_or_else(|| invalid(path, format!("{op} operand must be a string")))
}

/// `prefix`/`suffix` take a string or `{"equals-ignore-case": string}`.
fn prefix_like(
    operand: &Value,
    path: &str,
    op: &str,
    exact: fn(String) -> Cond,
    ignore_case: fn(String) -> Cond,
) -> Result<Cond> {
    match operand {
        Value::String(s) => Ok(exact(s.clone())),
        Value::Object(map) => {
            let mut entries = map.iter();
            match (entries.next(), entries.next()) {
                (Some((k, v)), None) if k == "equals-ignore-case" => {
                    let here = child(path, k);
                    Ok(ignore_case(string(v, &here, k)?.to_lowercase()))
                }
                _ => Err(invalid(
                    path,
                    format!("{op} operand object must be {{\"equals-ignore-case\": string}}"),
                )),
            }
        }
        _ => Err(invalid(path, format!("{op} operand must be a string"))),
    }
}

fn wildcard(operand: &Value, path: &str) -> Result<Wildcard> {
    let text = string(operand, path, "wildcard")?;
    Wildcard::parse(text).map_err(|reason| invalid(path, reason))
}

fn anything_but(operand: &Value, path: &str) -> Result<Excl> {
    match operand {
        Value::String(_) | Value::Number(_) => Ok(Excl::Values(vec![excluded(operand, path)?])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid(path, "anything-but list must not be empty"));
            }
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| excluded(v, &index(path, i)))
                .collect::<Result<_>>()?;
            Ok(Excl::Values(values))
        }
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((op, inner)), None) = (entries.next(), entries.next()) else {
                return Err(invalid(
                    path,
                    "anything-but object must have exactly one key",
                ));
            };
            let here = child(path, op);
            match op.as_str() {
                "prefix" => Ok(Excl::Prefix(string(inner, &here, op)?.to_string())),
                "suffix" => Ok(Excl::Suffix(string(inner, &here, op)?.to_string())),
                "wildcard" => Ok(Excl::Wildcard(wildcard(inner, &here)?)),
                "equals-ignore-case" => match inner {
                    Value::String(s) => Ok(Excl::EqIc(vec![s.to_lowercase()])),
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Ok(string(v, &index(&here, i), op)?.to_lowercase()))
                        .collect::<Result<_>>()
                        .map(Excl::EqIc),
                    _ => Err(invalid(
                        &here,
                        "equals-ignore-case operand must be a string or a non-empty array of strings",
                    )),
                },
                other => Err(invalid(
                    path,
                    format!("unsupported operator {other:?} inside anything-but"),
                )),
            }
        }
        _ => Err(invalid(
            path,
            "anything-but operand must be a string, a number, an array or an operator object",
        )),
    }
}

fn excluded(value: &Value, path: &str) -> Result<Scalar> {
    match value {
        Value::String(_) | Value::Number(_) => {
            scalar(value).ok_or_else(|| invalid(path, "number is out of range"))
        }
        _ => Err(invalid(
            path,
            "anything-but values must be strings or numbers",
        )),
    }
}

fn numeric(operand: &Value, path: &str) -> Result<Range> {
    let Value::Array(items) = operand else {
        return Err(invalid(
            path,
            "numeric operand must be an array of operator/value pairs",
        ));
    };
    if items.is_empty() || items.len() % 2 != 0 {
        return Err(invalid(
            path,
            "numeric operand must be a non-empty list of operator/value pairs",
        ));
    }
    let mut range = Range::default();
    for (i, pair) in items.chunks(2).enumerate() {
        let at = index(path, i * 2);
        let op = pair[0]
            .as_str()
            .ok_or_else(|| invalid(&at, "numeric operator must be a string"))?;
        let at_num = index(path, i * 2 + 1);
        let num = match &pair[1] {
            Value::Number(n) => numeric_bound(n, &at_num)?,
            _ => {
                return Err(invalid(
                    &at_num,
                    format!("numeric operator {op:?} must be followed by a number"),
                ));
            }
        };
        let (slot, bound) = match op {
            ">" => (&mut range.lo, (num, false)),
            ">=" => (&mut range.lo, (num, true)),
            "<" => (&mut range.hi, (num, false)),
            "<=" => (&mut range.hi, (num, true)),
            "=" => {
                if items.len() != 2 {
                    return Err(invalid(
                        &at,
                        "numeric \"=\" cannot be combined with other operators",
                    ));
                }
                range.lo = Some((num, true));
                range.hi = Some((num, true));
                continue;
            }
            other => {
                return Err(invalid(
                    &at,
                    format!("unrecognized numeric operator {other:?}"),
                ));
            }
        };
        if slot.is_some() {
            let which = if op.starts_with('>') {
                "lower"
            } else {
                "upper"
            };
            return Err(invalid(
                &at,
                format!("numeric has more than one {which} bound"),
            ));
        }
        *slot = Some(bound);
    }
    if let (Some((lo, _)), Some((hi, _))) = (range.lo, range.hi)
        && lo > hi
    {
        return Err(invalid(
            path,
            "numeric lower bound is greater than upper bound",
        ));
    }
    Ok(range)
}

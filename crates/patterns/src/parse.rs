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
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// One alternative of a leaf. Case-insensitive operands are stored lowercased so that
/// matching lowercases only the event side.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub(crate) enum Excl {
    Values(Vec<Scalar>),
    Prefix(String),
    Suffix(String),
    EqIc(Vec<String>),
    Wildcard(Wildcard),
}

/// A numeric interval; each bound is `(value, inclusive)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Range {
    pub lo: Option<(f64, bool)>,
    pub hi: Option<(f64, bool)>,
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
    match value {
        Value::Object(map) => node(map, "$"),
        _ => Err(invalid("$", "event pattern must be a JSON object")),
    }
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
        let num = pair[1].as_f64().ok_or_else(|| {
            invalid(
                &index(path, i * 2 + 1),
                format!("numeric operator {op:?} must be followed by a number"),
            )
        })?;
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

//! What a matching event exposes to metric filters: `$.a.b[0]` selectors for JSON
//! patterns, and `$name` (a named slot) or `$N` (the N-th field, from 1) for
//! space-delimited ones, as the guide's extraction example lists them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::delimited::Span;
use crate::jsonscan;
use crate::selector::Selector;
use crate::value::{Subject, parse_number};

/// A value read from a log event.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Number(f64),
    String(String),
    Bool(bool),
    Null,
}

/// The text a dimension value takes: strings as they are, numbers in their shortest
/// form (`50`, `12.5`), booleans and null as JSON keywords.
impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Number(n) => write!(f, "{n}"),
            FieldValue::String(s) => f.write_str(s),
            FieldValue::Bool(b) => write!(f, "{b}"),
            FieldValue::Null => f.write_str("null"),
        }
    }
}

impl FieldValue {
    /// The value as a metric observation: numbers, and strings that read as numbers.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Number(n) => Some(*n),
            FieldValue::String(s) => parse_number(s.trim()),
            _ => None,
        }
    }
}

/// The fields of one matching event, borrowed from its message.
#[derive(Debug, Clone)]
pub struct Captures<'a> {
    inner: Inner<'a>,
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    None,
    /// The root object's text, validated when the event was matched.
    Json(&'a str),
    Delimited {
        message: &'a str,
        spans: Vec<Span>,
        named: Vec<(Arc<str>, usize)>,
    },
}

impl<'a> Captures<'a> {
    pub(crate) fn none() -> Self {
        Captures { inner: Inner::None }
    }

    pub(crate) fn json(root: &'a str) -> Self {
        Captures {
            inner: Inner::Json(root),
        }
    }

    pub(crate) fn delimited(
        message: &'a str,
        spans: Vec<Span>,
        named: Vec<(Arc<str>, usize)>,
    ) -> Self {
        Captures {
            inner: Inner::Delimited {
                message,
                spans,
                named,
            },
        }
    }
}

impl Captures<'_> {
    /// Reads `selector` from the event; `None` when it is absent, names an object or an
    /// array, or does not fit the pattern's kind. A wildcard selector yields the first
    /// value it reaches.
    pub fn get(&self, selector: &str) -> Option<FieldValue> {
        match &self.inner {
            Inner::None => None,
            Inner::Json(root) => json_value(root, selector),
            Inner::Delimited {
                message,
                spans,
                named,
            } => {
                let name = selector.strip_prefix('$')?;
                let index = match named.iter().find(|(n, _)| &**n == name) {
                    Some((_, index)) => *index,
                    None => name.parse::<usize>().ok()?.checked_sub(1)?,
                };
                let &(a, b) = spans.get(index)?;
                Some(FieldValue::String(message.get(a..b)?.to_string()))
            }
        }
    }

    /// The fields TestMetricFilter reports as `extractedValues`: for space-delimited
    /// patterns every field, under `$name` when a named slot took it and `$N` (its
    /// position, from 1) otherwise, as in the guide's example; empty for other patterns,
    /// as AWS documents.
    pub fn extracted(&self) -> BTreeMap<String, String> {
        let Inner::Delimited {
            message,
            spans,
            named,
        } = &self.inner
        else {
            return BTreeMap::new();
        };
        spans
            .iter()
            .enumerate()
            .filter_map(|(i, &(a, b))| {
                let key = match named.iter().find(|(_, index)| *index == i) {
                    Some((name, _)) => format!("${name}"),
                    None => format!("${}", i + 1),
                };
                Some((key, message.get(a..b)?.to_string()))
            })
            .collect()
    }

    /// Every field of a space-delimited event, in order; empty for other patterns.
    pub fn fields(&self) -> Vec<&str> {
        match &self.inner {
            Inner::Delimited { message, spans, .. } => spans
                .iter()
                .filter_map(|&(a, b)| message.get(a..b))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn json_value(root: &str, selector: &str) -> Option<FieldValue> {
    let selector = Selector::parse_str(selector).ok()?;
    let mut found = None;
    jsonscan::select(
        jsonscan::Node::from_validated(root),
        &selector.steps,
        &mut |node| {
            found = node.subject().map(|subject| match subject {
                Subject::JsonString(s) => FieldValue::String(s.into_owned()),
                Subject::JsonNumber(raw) | Subject::Field(raw) => match parse_number(raw) {
                    Some(n) => FieldValue::Number(n),
                    None => FieldValue::String(raw.to_string()),
                },
                Subject::JsonBool(b) => FieldValue::Bool(b),
                Subject::JsonNull => FieldValue::Null,
            });
            found.is_some()
        },
    );
    found
}

//! The protocol-neutral document every codec decodes into and encodes from.
//!
//! Typed request and response structs are converted to and from [`Value`] with serde, so
//! an operation is declared once and every protocol serves it. Timestamps and blobs keep
//! their identity here because each protocol writes them differently (epoch seconds in
//! JSON, ISO 8601 in XML, tag 1 in CBOR).

use chrono::{DateTime, Utc};
use indexmap_lite::Map;

pub use indexmap_lite::Map as ValueMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text; the Query protocol delivers every scalar as text, so the deserializer
    /// parses numbers and booleans out of it on demand.
    String(String),
    Blob(Vec<u8>),
    Timestamp(DateTime<Utc>),
    List(Vec<Value>),
    Map(Map),
    /// A request member left as its JSON text, for an operation that reads it itself
    /// ([`crate::OperationDef::raw_json`]): a PutLogEvents batch is a megabyte of
    /// strings, and a tree of them costs more than storing them. Only its extent was
    /// found, so a reader must check what it reads; typed decoding reads it as the tree
    /// it stands for, or refuses it as a malformed body.
    RawJson(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    pub fn map() -> Value {
        Value::Map(Map::new())
    }

    /// The value with its top-level raw JSON members decoded into trees, for readers
    /// that do not take the raw text themselves (typed decoding, encoders). The codec
    /// only found where a raw member ends, so its text may still be malformed; the
    /// error is the codec's message for a malformed body.
    pub fn into_plain(self) -> Result<Value, String> {
        match self {
            Value::RawJson(text) => crate::codec::json::decode_value(&text),
            Value::Map(m) if m.values().any(|v| matches!(v, Value::RawJson(_))) => m
                .into_iter()
                .map(|(k, v)| Ok((k, v.into_plain()?)))
                .collect::<Result<Map, String>>()
                .map(Value::Map),
            v => Ok(v),
        }
    }

    /// A raw member's text as the tree it stands for, for writers (encoders, audit),
    /// which keep malformed text as a string rather than fail.
    pub(crate) fn raw_as_tree(text: &str) -> Value {
        crate::codec::json::decode_value(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    }

    /// Converts to JSON for audit records (`requestParameters`), where timestamps are
    /// written the way CloudTrail writes them and blobs are elided.
    pub fn to_audit_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::String(s) => J::String(s.clone()),
            Value::Blob(_) => J::String("HIDDEN_DUE_TO_SECURITY_REASONS".into()),
            Value::Timestamp(t) => J::String(crate::timestamp::format_audit(t)),
            Value::List(l) => J::Array(l.iter().map(Value::to_audit_json).collect()),
            Value::RawJson(text) => Value::raw_as_tree(text).to_audit_json(),
            // `$` members are transport (raw request headers, response status and
            // headers, raw bodies), not parameters.
            Value::Map(m) => match crate::timestamp::flat_items(m) {
                Some(items) => J::Array(items.iter().map(Value::to_audit_json).collect()),
                None => J::Object(
                    m.iter()
                        .filter(|(k, _)| !k.starts_with('$'))
                        .map(|(k, v)| (lower_first(k), v.to_audit_json()))
                        .collect(),
                ),
            },
        }
    }
}

/// CloudTrail writes request parameter names in lower camel case (`userName`).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A small insertion-ordered map: wire output keeps declaration order, which snapshots
/// and human readers rely on, and maps here are small enough for linear lookups.
pub(crate) mod indexmap_lite {
    use super::Value;

    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Map {
        entries: Vec<(String, Value)>,
    }

    impl Map {
        pub fn new() -> Self {
            Self::default()
        }
        pub fn len(&self) -> usize {
            self.entries.len()
        }
        pub fn is_empty(&self) -> bool {
            self.entries.is_empty()
        }
        pub fn get(&self, key: &str) -> Option<&Value> {
            self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
            self.entries
                .iter_mut()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
        pub fn insert(&mut self, key: String, value: Value) {
            match self.get_mut(&key) {
                Some(slot) => *slot = value,
                None => self.entries.push((key, value)),
            }
        }
        pub fn remove(&mut self, key: &str) -> Option<Value> {
            let pos = self.entries.iter().position(|(k, _)| k == key)?;
            Some(self.entries.remove(pos).1)
        }
        pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
            self.entries.iter().map(|(k, v)| (k, v))
        }
        pub fn keys(&self) -> impl Iterator<Item = &String> {
            self.entries.iter().map(|(k, _)| k)
        }
        pub fn values(&self) -> impl Iterator<Item = &Value> {
            self.entries.iter().map(|(_, v)| v)
        }
    }

    impl IntoIterator for Map {
        type Item = (String, Value);
        type IntoIter = std::vec::IntoIter<(String, Value)>;
        fn into_iter(self) -> Self::IntoIter {
            self.entries.into_iter()
        }
    }

    impl FromIterator<(String, Value)> for Map {
        fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
            let mut m = Map::new();
            for (k, v) in iter {
                m.insert(k, v);
            }
            m
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::Blob(b) => crate::Blob(b.clone()).serialize(s),
            Value::Timestamp(t) => crate::Timestamp(*t).serialize(s),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::RawJson(text) => Value::raw_as_tree(text).serialize(s),
        }
    }
}

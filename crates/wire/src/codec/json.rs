//! awsJson1_0 / awsJson1_1 / restJson1 bodies.

use crate::timestamp::epoch_f64;
use crate::value::{Value, ValueMap};
use base64::Engine;

pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::map());
    }
    let text =
        std::str::from_utf8(body).map_err(|_| "Request body is not valid UTF-8".to_string())?;
    // The fast path: straight into a Value, no document in between (a PutLogEvents
    // batch is a megabyte of strings). Anything it refuses is decoded again below, so
    // errors and the non-finite fallback read as they always have.
    if let Ok(Direct(v @ Value::Map(_))) = sonic_rs::from_str::<Direct>(text) {
        return Ok(v);
    }
    let json: serde_json::Value = match serde_json::from_str(text) {
        Ok(j) => j,
        // Python's json (botocore) writes non-finite doubles as bare NaN / Infinity;
        // they become the strings AWS JSON protocols use, so the service can refuse
        // the value with its own error instead of a parse failure.
        Err(e) => serde_json::from_str(&quote_non_finite(text))
            .map_err(|_| format!("Invalid JSON: {e}"))?,
    };
    match json {
        serde_json::Value::Object(_) => Ok(from_json(json)),
        _ => Err("Request body must be a JSON object".into()),
    }
}

/// A [`Value`] deserialized from JSON text, with the numbers and members serde_json's
/// document would give: integers that fit i64 as `Int`, every other number as `Float`,
/// a repeated member's last value in its first place.
struct Direct(Value);

/// Nesting the fast path follows before it gives up (and serde_json, which allows 128,
/// decodes the body): each level is a few stack frames, large ones in debug builds.
const DIRECT_MAX_DEPTH: u32 = 64;

impl<'de> serde::Deserialize<'de> for Direct {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::DeserializeSeed::deserialize(DirectVisitor { depth: 0 }, d).map(Direct)
    }
}

#[derive(Clone, Copy)]
struct DirectVisitor {
    depth: u32,
}

impl DirectVisitor {
    fn nested<E: serde::de::Error>(self) -> Result<DirectVisitor, E> {
        if self.depth >= DIRECT_MAX_DEPTH {
            return Err(E::custom("nested too deeply for the fast path"));
        }
        Ok(DirectVisitor {
            depth: self.depth + 1,
        })
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for DirectVisitor {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DirectVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Value, E> {
        // serde_json refuses a literal out of a double's range; so does this path.
        if !f.is_finite() {
            return Err(E::custom("number out of range"));
        }
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = ValueMap::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(inner)?;
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }
}

/// Quotes bare `NaN`, `Infinity` and `-Infinity` tokens outside strings.
fn quote_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        match token {
            Some(t) => {
                out.push('"');
                out.push_str(t);
                out.push('"');
                rest = &rest[t.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

pub fn from_json(json: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(s),
        J::Array(a) => Value::List(a.into_iter().map(from_json).collect()),
        J::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (k, from_json(v)))
                .collect::<ValueMap>(),
        ),
    }
}

pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => float_json(*f),
        Value::String(s) => J::String(s.clone()),
        Value::Blob(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Timestamp(t) => float_json(epoch_f64(t)),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => match crate::timestamp::flat_items(m) {
            Some(items) => J::Array(items.iter().map(to_json).collect()),
            None => J::Object(
                m.iter()
                    .filter(|(k, v)| {
                        k.as_str() != crate::timestamp::MAP_MARKER
                            && !crate::timestamp::is_empty_flat(v)
                    })
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            ),
        },
    }
}

/// JSON has no NaN or infinities; AWS JSON protocols send them as strings.
fn float_json(f: f64) -> serde_json::Value {
    if f.is_nan() {
        serde_json::Value::String("NaN".into())
    } else if f.is_infinite() {
        serde_json::Value::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

pub fn encode(v: &Value) -> Vec<u8> {
    serde_json::to_vec(&to_json(v)).unwrap_or_else(|_| b"{}".to_vec())
}

pub fn encode_error(code: &str, message: &str, members: &[(String, serde_json::Value)]) -> Vec<u8> {
    let mut doc = serde_json::Map::new();
    doc.insert("__type".into(), serde_json::Value::String(code.to_owned()));
    doc.insert(
        "message".into(),
        serde_json::Value::String(message.to_owned()),
    );
    for (k, v) in members {
        doc.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
mod non_finite_tests {
    use super::*;

    #[test]
    fn bare_non_finite_numbers_become_strings_but_text_inside_strings_stays() {
        let v =
            decode(br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN \" Infinity"}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Value::String("NaN".into())));
        assert_eq!(
            v.get("b"),
            Some(&Value::List(vec![
                Value::String("Infinity".into()),
                Value::String("-Infinity".into())
            ]))
        );
        assert_eq!(v.get("c"), Some(&Value::String("NaN \" Infinity".into())));
        assert!(decode(b"{\"a\": Nope}").is_err());
    }
}

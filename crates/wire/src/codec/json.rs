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

/// Decodes a request body, leaving the top-level member `raw` (if given and present) as
/// its JSON text ([`Value::RawJson`]) for the operation to read itself. The member's
/// extent is found by its brackets and strings alone (its contents are the reader's to
/// check: a full check here would cost as much as reading it); the other members
/// decode as [`decode`] would decode them. A body the scan does not follow is decoded
/// whole.
pub fn decode_keeping(body: &[u8], raw: Option<&'static str>) -> Result<Value, String> {
    if let Some(member) = raw
        && let Ok(text) = std::str::from_utf8(body)
        && let Some(v) = keeping(text, member)
    {
        return Ok(v);
    }
    decode(body)
}

fn keeping(text: &str, member: &str) -> Option<Value> {
    let b = text.as_bytes();
    let mut i = skip_space(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(b, i + 1);
    let mut out = ValueMap::new();
    let mut found = false;
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            // Names with escapes or control characters are left to the full decoder.
            let len = b
                .get(i + 1..)?
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            let key_end = i + 1 + len;
            if b[key_end] != b'"' {
                return None;
            }
            let key = &text[i + 1..key_end];
            i = skip_space(b, key_end + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_space(b, i + 1);
            let end = value_end(b, i)?;
            let value = if key == member {
                found = true;
                Value::RawJson(text[i..end].to_owned())
            } else {
                decode_value(&text[i..end]).ok()?
            };
            out.insert(key.to_owned(), value);
            i = skip_space(b, end);
            match b.get(i) {
                Some(b',') => i = skip_space(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (found && skip_space(b, i) == b.len()).then_some(Value::Map(out))
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Where the value starting at `i` ends, by brackets and strings only.
fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            while let Some(&c) = b.get(i) {
                match c {
                    b'"' => {
                        i = string_end(b, i + 1)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let n = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(b.len() - i);
            (n > 0).then_some(i + n)
        }
    }
}

/// The index after the closing quote of a string whose contents start at `i`, eight
/// bytes at a time between stops.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        if let Some(word) = word_at(b, i) {
            let stops = string_stops(word);
            if stops == 0 {
                i += 8;
                continue;
            }
            i += stops.trailing_zeros() as usize / 8;
        }
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The eight bytes at `i`, little-endian, if there are eight.
pub fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The bytes of a little-endian word of JSON string text where a reader must stop: `"`,
/// `\` and control characters (below 0x20), as the high bit of each. The lowest bit set
/// is exact; bits above it may be false (a borrow), so a reader only trusts the first.
pub fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_in = |w: u64| w.wrapping_sub(ONES) & !w;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (zero_in(quote) | zero_in(backslash) | control) & HIGHS
}

/// Decodes JSON text of any kind into a tree, as [`decode`] would decode it as a member.
pub fn decode_value(text: &str) -> Result<Value, String> {
    if let Ok(Direct(v)) = sonic_rs::from_str::<Direct>(text) {
        return Ok(v);
    }
    let json: serde_json::Value = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => serde_json::from_str(&quote_non_finite(text))
            .map_err(|_| format!("Invalid JSON: {e}"))?,
    };
    Ok(from_json(json))
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
        Value::RawJson(text) => to_json(&Value::raw_as_tree(text)),
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

#[cfg(test)]
mod raw_member_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_kept_member_is_its_text_and_reads_as_the_tree_it_stands_for() {
        let body = br#"{"g": "x", "logEvents": [ {"timestamp": 1, "message": "a\"b"} ], "n": 2}"#;
        let v = decode_keeping(body, Some("logEvents")).unwrap();
        assert_eq!(
            v.get("logEvents"),
            Some(&Value::RawJson(
                r#"[ {"timestamp": 1, "message": "a\"b"} ]"#.into()
            ))
        );
        assert_eq!(v.get("n"), Some(&Value::Int(2)));
        assert_eq!(v.into_plain().unwrap(), decode(body).unwrap());
        // Only the top level is kept as text.
        let nested = br#"{"a": {"logEvents": [1]}}"#;
        assert_eq!(
            decode_keeping(nested, Some("logEvents")).unwrap(),
            decode(nested).unwrap()
        );
    }

    #[test]
    fn bodies_the_scan_does_not_follow_decode_whole() {
        // Bare NaN beside the kept member reads as it always did.
        let body = br#"{"logEvents": [1], "x": NaN}"#;
        let v = decode_keeping(body, Some("logEvents")).unwrap();
        assert_eq!(v.into_plain().unwrap(), decode(body).unwrap());
        // Trailing text, bad JSON outside the kept member, and brackets that do not
        // close fail as they always did.
        for bad in [
            &br#"{"logEvents": [1]} x"#[..],
            br#"{"logEvents": [1], "x": [1,]}"#,
            br#"{"logEvents": [1], "x": "a\qb"}"#,
            br#"{"logEvents": [1] "x": 1}"#,
            br#"{"logEvents": [1}"#,
            br#"{"logEvents": [1}]}"#,
            br#"{"logEvents": "#,
        ] {
            assert_eq!(
                decode_keeping(bad, Some("logEvents")),
                decode(bad),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert!(decode(bad).is_err());
        }
    }

    #[test]
    fn malformed_text_in_the_kept_member_is_refused_when_read_as_a_tree() {
        for bad in [
            &br#"{"logEvents": ["a\qb"]}"#[..],
            b"{\"logEvents\": [\"a\x01\"]}",
            br#"{"logEvents": [1,]}"#,
            br#"{"logEvents": [{"a" 1}]}"#,
            br#"{"logEvents": tru}"#,
        ] {
            let kept = decode_keeping(bad, Some("logEvents")).unwrap();
            assert!(matches!(kept.get("logEvents"), Some(Value::RawJson(_))));
            let err = kept.into_plain().unwrap_err();
            assert!(err.starts_with("Invalid JSON: "), "{err}");
            assert!(decode(bad).is_err());
        }
    }

    #[test]
    fn writers_see_a_kept_member_as_its_tree_or_keep_malformed_text() {
        let v = Value::RawJson(r#"[1, "a"]"#.into());
        assert_eq!(to_json(&v), serde_json::json!([1, "a"]));
        assert_eq!(v.to_audit_json(), serde_json::json!([1, "a"]));
        let bad = Value::RawJson("[1,".into());
        assert_eq!(to_json(&bad), serde_json::json!("[1,"));
    }

    #[test]
    fn a_repeated_kept_member_keeps_its_last_value() {
        let body = br#"{"logEvents": [1], "logEvents": [2]}"#;
        let v = decode_keeping(body, Some("logEvents")).unwrap();
        assert_eq!(v.get("logEvents"), Some(&Value::RawJson("[2]".into())));
        assert_eq!(v.into_plain().unwrap(), decode(body).unwrap());
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_first_stop_in_a_word_is_the_first_stop_byte(bytes in any::<[u8; 8]>()) {
            let first = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            let stops = string_stops(u64::from_le_bytes(bytes));
            let found = (stops != 0).then(|| stops.trailing_zeros() as usize / 8);
            prop_assert_eq!(found, first);
        }

        #[test]
        fn keeping_a_member_as_text_changes_nothing_a_reader_sees(
            members in prop::collection::btree_map("[a-c]", json_value(), 0..4),
        ) {
            let body = serde_json::Value::Object(members.into_iter().collect()).to_string();
            let kept = decode_keeping(body.as_bytes(), Some("a")).unwrap();
            prop_assert_eq!(kept.into_plain().unwrap(), decode(body.as_bytes()).unwrap());
        }
    }
}

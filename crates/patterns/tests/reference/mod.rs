//! A deliberately naive reference matcher that interprets pattern JSON directly, with no
//! compilation or indexing, plus proptest generators for small patterns and events. It
//! covers exact values, prefix, suffix, equals-ignore-case, anything-but value lists,
//! numeric, exists and `$or`; other operators make `matches_text` return `None`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Reference result for raw pattern text, or `None` if it uses an operator not modelled.
pub fn matches_text(text: &str, event: &Value) -> Option<bool> {
    let pattern: Value = serde_json::from_str(text).ok()?;
    supported(&pattern).then(|| matches(&pattern, event))
}

fn supported(p: &Value) -> bool {
    match p {
        Value::Object(m) => m.iter().all(|(k, v)| match (k.as_str(), v) {
            ("prefix" | "suffix" | "equals-ignore-case", Value::String(_)) => true,
            ("numeric", _) | ("exists", _) => true,
            ("anything-but", Value::String(_) | Value::Number(_)) => true,
            ("anything-but", Value::Array(a)) => a.iter().all(|x| x.is_string() || x.is_number()),
            ("wildcard" | "cidr" | "anything-but" | "prefix" | "suffix", _) => false,
            _ => supported(v),
        }),
        Value::Array(a) => a.iter().all(supported),
        _ => true,
    }
}

/// Whether `event` matches the (assumed valid) pattern JSON.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    object(pattern, event.as_object())
}

fn object(pattern: &Value, obj: Option<&Map<String, Value>>) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    for (name, sub) in fields {
        let ok = if name == "$or" {
            sub.as_array()
                .is_some_and(|alts| alts.iter().any(|alt| object(alt, obj)))
        } else {
            let value = obj.and_then(|o| o.get(name));
            if sub.is_array() {
                leaf(sub, value)
            } else {
                let mut elements = Vec::new();
                if let Some(v) = value {
                    objects_in(v, &mut elements);
                }
                if elements.is_empty() {
                    object(sub, None)
                } else {
                    elements.iter().any(|e| object(sub, Some(e)))
                }
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

fn objects_in<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match v {
        Value::Object(m) => out.push(m),
        Value::Array(a) => a.iter().for_each(|x| objects_in(x, out)),
        _ => {}
    }
}

fn scalars_in<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(_) => {}
        Value::Array(a) => a.iter().for_each(|x| scalars_in(x, out)),
        other => out.push(other),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn leaf(allowed: &Value, value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    if let Some(v) = value {
        scalars_in(v, &mut values);
    }
    let Some(alternatives) = allowed.as_array() else {
        return false;
    };
    alternatives.iter().any(|alt| {
        if let Some(e) = alt.get("exists").and_then(Value::as_bool) {
            return e != values.is_empty();
        }
        values.iter().any(|v| one(alt, v))
    })
}

fn one(alt: &Value, v: &Value) -> bool {
    let Some(op) = alt.as_object() else {
        return same(alt, v);
    };
    let s = v.as_str();
    let lower = s.map(str::to_lowercase);
    op.iter().all(|(k, operand)| match k.as_str() {
        "prefix" => s
            .zip(operand.as_str())
            .is_some_and(|(s, p)| s.starts_with(p)),
        "suffix" => s.zip(operand.as_str()).is_some_and(|(s, p)| s.ends_with(p)),
        "equals-ignore-case" => lower
            .as_deref()
            .zip(operand.as_str())
            .is_some_and(|(s, p)| s == p.to_lowercase()),
        "anything-but" => match operand {
            Value::Array(list) => !list.iter().any(|x| same(x, v)),
            single => !same(single, v),
        },
        "numeric" => {
            let Some(n) = v.as_f64().filter(|_| v.is_number()) else {
                return false;
            };
            let terms = operand.as_array().cloned().unwrap_or_default();
            terms.chunks(2).all(|pair| {
                let b = pair.get(1).and_then(Value::as_f64).unwrap_or(f64::NAN);
                match pair.first().and_then(Value::as_str) {
                    Some("<") => n < b,
                    Some("<=") => n <= b,
                    Some(">") => n > b,
                    Some(">=") => n >= b,
                    Some("=") => n == b,
                    _ => false,
                }
            })
        }
        _ => false,
    })
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn arb_name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(String::from)
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["x", "y", "xy", "", "X"]).prop_map(|s| json!(s)),
        prop::sample::select(vec![0.0, 1.0, 2.5, 5.0, -3.0]).prop_map(|n| json!(n)),
        prop::sample::select(vec![0i64, 1, 5, -3]).prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
    ]
}

fn arb_cond() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_scalar(),
        1 => prop::sample::select(vec!["x", "", "X"]).prop_map(|p| json!({"prefix": p})),
        1 => any::<bool>().prop_map(|b| json!({"exists": b})),
        1 => (
            prop::sample::select(vec![">", ">=", "="]),
            prop::sample::select(vec![-3.0, 0.0, 1.0, 2.5]),
            prop::option::of((prop::sample::select(vec!["<", "<="]), prop::sample::select(vec![2.5, 5.0]))),
        )
            .prop_map(|(lo_op, lo, hi)| match (lo_op, hi) {
                ("=", _) => json!({"numeric": ["=", lo]}),
                (op, Some((hop, h))) => json!({"numeric": [op, lo, hop, h]}),
                (op, None) => json!({"numeric": [op, lo]}),
            }),
    ]
}

fn arb_fields(depth: u32) -> BoxedStrategy<Map<String, Value>> {
    let leaf = prop::collection::vec(arb_cond(), 1..3).prop_map(Value::Array);
    let field: BoxedStrategy<Value> = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![3 => leaf, 1 => arb_fields(depth - 1).prop_map(Value::Object)].boxed()
    };
    prop::collection::btree_map(arb_name(), field, 1..3)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

/// A small random valid pattern, sometimes with a top-level `$or`.
pub fn arb_pattern() -> impl Strategy<Value = Value> {
    (
        arb_fields(1),
        prop::option::of(prop::collection::vec(arb_fields(1), 2..3)),
    )
        .prop_map(|(mut fields, ors)| {
            if let Some(alts) = ors {
                fields.insert(
                    "$or".into(),
                    Value::Array(alts.into_iter().map(Value::Object).collect()),
                );
            }
            Value::Object(fields)
        })
}

fn arb_value(depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 {
        return prop_oneof![
            3 => arb_scalar(),
            1 => prop::collection::vec(arb_scalar(), 0..3).prop_map(Value::Array),
        ]
        .boxed();
    }
    prop_oneof![
        3 => arb_scalar(),
        1 => prop::collection::vec(arb_scalar(), 0..3).prop_map(Value::Array),
        2 => arb_object(depth - 1),
        1 => prop::collection::vec(arb_object(depth - 1), 0..3).prop_map(Value::Array),
    ]
    .boxed()
}

fn arb_object(depth: u32) -> BoxedStrategy<Value> {
    prop::collection::btree_map(arb_name(), arb_value(depth), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

/// A small random event: flat or nested, with arrays of scalars and of objects.
pub fn arb_event() -> impl Strategy<Value = Value> {
    arb_object(2)
}

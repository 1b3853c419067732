//! Evaluation of a compiled pattern tree against a JSON event, implementing the array
//! flattening and same-element rules described in the crate docs.

use serde_json::{Map, Value};

use crate::parse::{Cond, Excl, Field, Node, Range, Scalar};

type Object = Map<String, Value>;

/// Whether `node` matches the object `obj` (`None` stands for "no object here", which can
/// still match when the node only asks for absent fields).
pub(crate) fn node_matches(node: &Node, obj: Option<&Object>) -> bool {
    node.fields.iter().all(|(name, field)| {
        let value = obj.and_then(|m| m.get(name));
        match field {
            Field::Leaf(conds) => leaf_matches(conds, value),
            Field::Object(sub) => object_matches(sub, value),
        }
    }) && node
        .ors
        .iter()
        .all(|group| group.iter().any(|alt| node_matches(alt, obj)))
}

/// A nested pattern against an event value: for arrays, one element must satisfy the
/// whole nested pattern (the same-element rule).
fn object_matches(node: &Node, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Object(m)) => node_matches(node, Some(m)),
        Some(Value::Array(items)) => {
            let mut objects = Vec::new();
            collect_objects(items, &mut objects);
            if objects.is_empty() {
                node_matches(node, None)
            } else {
                objects.into_iter().any(|m| node_matches(node, Some(m)))
            }
        }
        _ => node_matches(node, None),
    }
}

fn collect_objects<'a>(items: &'a [Value], out: &mut Vec<&'a Object>) {
    for item in items {
        match item {
            Value::Object(m) => out.push(m),
            Value::Array(inner) => collect_objects(inner, out),
            _ => {}
        }
    }
}

/// The scalars at a leaf path: arrays are flattened and objects contribute nothing.
fn collect_scalars<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_scalars(v, out)),
        Value::Object(_) => {}
        scalar => out.push(scalar),
    }
}

fn leaf_matches(conds: &[Cond], value: Option<&Value>) -> bool {
    let mut scalars = Vec::new();
    if let Some(v) = value {
        collect_scalars(v, &mut scalars);
    }
    conds.iter().any(|cond| match cond {
        Cond::Exists(want) => *want != scalars.is_empty(),
        _ => scalars.iter().any(|v| cond_matches(cond, v)),
    })
}

pub(crate) fn scalar_eq(pattern: &Scalar, value: &Value) -> bool {
    match (pattern, value) {
        (Scalar::Str(a), Value::String(b)) => a == b,
        (Scalar::Num(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (Scalar::Bool(a), Value::Bool(b)) => a == b,
        (Scalar::Null, Value::Null) => true,
        _ => false,
    }
}

fn in_range(range: &Range, n: f64) -> bool {
    let lo_ok = match range.lo {
        Some((b, true)) => n >= b,
        Some((b, false)) => n > b,
        None => true,
    };
    let hi_ok = match range.hi {
        Some((b, true)) => n <= b,
        Some((b, false)) => n < b,
        None => true,
    };
    lo_ok && hi_ok
}

fn cond_matches(cond: &Cond, value: &Value) -> bool {
    if let Cond::Exact(s) = cond {
        return scalar_eq(s, value);
    }
    if let Cond::Numeric(range) = cond {
        return value.as_f64().is_some_and(|n| in_range(range, n));
    }
    if let Cond::AnythingBut(Excl::Values(values)) = cond {
        return !values.iter().any(|s| scalar_eq(s, value));
    }
    let Some(s) = value.as_str() else {
        return false;
    };
    match cond {
        Cond::Prefix(p) => s.starts_with(p.as_str()),
        Cond::PrefixIc(p) => s.to_lowercase().starts_with(p.as_str()),
        Cond::Suffix(p) => s.ends_with(p.as_str()),
        Cond::SuffixIc(p) => s.to_lowercase().ends_with(p.as_str()),
        Cond::EqIc(p) => s.to_lowercase() == *p,
        Cond::Wildcard(w) => w.matches(s),
        Cond::Cidr(c) => c.contains(s),
        Cond::AnythingBut(excl) => match excl {
            Excl::Prefix(p) => !s.starts_with(p.as_str()),
            Excl::Suffix(p) => !s.ends_with(p.as_str()),
            Excl::EqIc(list) => {
                let lower = s.to_lowercase();
                !list.contains(&lower)
            }
            Excl::Wildcard(w) => !w.matches(s),
            Excl::Values(_) => false,
        },
        Cond::Exact(_) | Cond::Numeric(_) | Cond::Exists(_) => false,
    }
}

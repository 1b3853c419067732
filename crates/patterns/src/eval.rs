//! Evaluation of a compiled pattern tree against a JSON event, implementing the array
//! flattening and same-element rules described in the crate docs.

use serde_json::{Map, Value};

use crate::parse::{Cond, Excl, Field, Node, Range, Scalar};
use crate::value::Val;

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
fn collect_scalars<'a>(value: &'a Value, out: &mut Vec<Val<'a>>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_scalars(v, out)),
        other => out.extend(Val::of(other)),
    }
}

fn leaf_matches(conds: &[Cond], value: Option<&Value>) -> bool {
    let mut scalars = Vec::new();
    if let Some(v) = value {
        collect_scalars(v, &mut scalars);
    }
    leaf_matches_any(conds, scalars.len(), scalars.iter())
}

/// Whether a leaf's alternatives accept the `count` scalars found at its path: `exists`
/// looks only at whether there are any, every other condition needs one scalar it
/// accepts.
pub(crate) fn leaf_matches_any<'v, 'a: 'v>(
    conds: &[Cond],
    count: usize,
    scalars: impl Iterator<Item = &'v Val<'a>> + Clone,
) -> bool {
    conds.iter().any(|cond| match cond {
        Cond::Exists(want) => *want != (count == 0),
        _ => scalars.clone().any(|v| cond_matches(cond, v)),
    })
}

fn scalar_eq(pattern: &Scalar, value: &Val) -> bool {
    match (pattern, value) {
        (Scalar::Str(a), Val::Str(b)) => a == b,
        (Scalar::Num(a), Val::Num(b)) => a == b,
        (Scalar::Bool(a), Val::Bool(b)) => a == b,
        (Scalar::Null, Val::Null) => true,
        _ => false,
    }
}

pub(crate) fn in_range(range: &Range, n: f64) -> bool {
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

/// Whether one scalar satisfies one condition (`exists` is decided per leaf, not here).
pub(crate) fn cond_matches(cond: &Cond, value: &Val) -> bool {
    match (cond, value) {
        (Cond::Exact(s), _) => return scalar_eq(s, value),
        (Cond::Numeric(range), Val::Num(n)) => return in_range(range, *n),
        (Cond::AnythingBut(Excl::Values(values)), _) => {
            return !values.iter().any(|s| scalar_eq(s, value));
        }
        _ => {}
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

//! Many patterns compiled together. Each pattern is indexed by an "anchor": a set of
//! (field path, exact value) pairs at least one of which must occur in any event it
//! matches. Matching walks the event once, looks each leaf up in the index and verifies
//! only the candidates found, so cost grows with event size and the number of candidates
//! rather than with the number of patterns. Patterns with no exact-value anchor (for
//! example only `prefix` or `numeric` leaves) are kept in a short list checked every time.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::Pattern;
use crate::parse::{Cond, Field, Node, Scalar};

/// An exact value as an index key; numbers are keyed by their `f64` bits so that `5` and
/// `5.0` meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Num(u64),
    Bool(bool),
    Null,
}

fn num_key(n: f64) -> Key {
    // -0.0 and 0.0 compare equal, so they must share a key.
    Key::Num(if n == 0.0 {
        0.0f64.to_bits()
    } else {
        n.to_bits()
    })
}

fn key_of_scalar(s: &Scalar) -> Key {
    match s {
        Scalar::Str(s) => Key::Str(s.clone()),
        Scalar::Num(n) => num_key(*n),
        Scalar::Bool(b) => Key::Bool(*b),
        Scalar::Null => Key::Null,
    }
}

fn key_of_value(v: &Value) -> Option<Key> {
    Some(match v {
        Value::String(s) => Key::Str(s.clone()),
        Value::Number(n) => num_key(n.as_f64()?),
        Value::Bool(b) => Key::Bool(*b),
        Value::Null => Key::Null,
        _ => return None,
    })
}

/// Field paths are joined with a NUL before each segment, which cannot be confused with
/// dots inside field names.
fn extend(path: &str, segment: &str) -> String {
    let mut p = String::with_capacity(path.len() + segment.len() + 1);
    p.push_str(path);
    p.push('\0');
    p.push_str(segment);
    p
}

/// A collection of compiled patterns, each tagged with a caller key (e.g. a rule name).
#[derive(Debug, Clone)]
pub struct Matcher<K> {
    entries: Vec<(K, Pattern)>,
    /// path -> exact value -> indices of patterns anchored there.
    index: HashMap<String, HashMap<Key, Vec<usize>>>,
    /// Every proper prefix of an anchor path, so the event walk can skip subtrees that
    /// no anchor reaches into.
    prefixes: HashSet<String>,
    /// Patterns that have no anchor and are verified for every event.
    unindexed: Vec<usize>,
}

impl<K> Default for Matcher<K> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: HashMap::new(),
            prefixes: HashSet::new(),
            unindexed: Vec::new(),
        }
    }
}

impl<K> Matcher<K> {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of patterns added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no pattern has been added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a pattern under `key`; keys need not be unique.
    pub fn add(&mut self, key: K, pattern: Pattern) {
        let id = self.entries.len();
        match anchor(&pattern.root, "") {
            Some(pairs) => {
                for (path, value) in pairs {
                    let mut cut = path.len();
                    while let Some(at) = path[..cut].rfind('\0') {
                        if !self.prefixes.insert(path[..at].to_string()) {
                            break;
                        }
                        cut = at;
                    }
                    let ids = self
                        .index
                        .entry(path)
                        .or_default()
                        .entry(value)
                        .or_default();
                    if ids.last() != Some(&id) {
                        ids.push(id);
                    }
                }
            }
            None => self.unindexed.push(id),
        }
        self.entries.push((key, pattern));
    }

    /// Keys of all patterns matching `event`, in the order they were added.
    pub fn matching(&self, event: &Value) -> Vec<&K> {
        let mut candidates = self.unindexed.clone();
        if !self.index.is_empty() {
            self.walk(event, "", &mut candidates);
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|id| self.entries.get(id))
            .filter(|(_, pattern)| pattern.matches(event))
            .map(|(key, _)| key)
            .collect()
    }

    fn walk(&self, value: &Value, path: &str, out: &mut Vec<usize>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = extend(path, k);
                    // Skip whole subtrees no anchor path reaches into.
                    if self.prefixes.contains(&p) || self.index.contains_key(&p) {
                        self.walk(v, &p, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.walk(v, path, out)),
            scalar => {
                if let Some(ids) = self
                    .index
                    .get(path)
                    .and_then(|by_value| key_of_value(scalar).and_then(|k| by_value.get(&k)))
                {
                    out.extend_from_slice(ids);
                }
            }
        }
    }
}

/// The smallest set of (path, value) pairs one of which every matching event must hold,
/// or `None` when the node requires no exact value.
fn anchor(node: &Node, path: &str) -> Option<Vec<(String, Key)>> {
    let mut best: Option<Vec<(String, Key)>> = None;
    let mut consider = |found: Vec<(String, Key)>| {
        if best.as_ref().is_none_or(|b| found.len() < b.len()) {
            best = Some(found);
        }
    };
    for (name, field) in &node.fields {
        let here = extend(path, name);
        match field {
            Field::Leaf(conds) => {
                let exact: Option<Vec<_>> = conds
                    .iter()
                    .map(|c| match c {
                        Cond::Exact(s) => Some((here.clone(), key_of_scalar(s))),
                        _ => None,
                    })
                    .collect();
                if let Some(found) = exact {
                    consider(found);
                }
            }
            Field::Object(sub) => {
                if let Some(found) = anchor(sub, &here) {
                    consider(found);
                }
            }
        }
    }
    for group in &node.ors {
        // An $or group anchors only if every alternative does.
        let union: Option<Vec<_>> = group.iter().map(|alt| anchor(alt, path)).collect();
        if let Some(parts) = union {
            consider(parts.into_iter().flatten().collect());
        }
    }
    best
}

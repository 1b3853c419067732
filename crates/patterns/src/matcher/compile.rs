//! Turning a pattern tree into what the automaton stores: a disjunction of conjunctions
//! of field conditions over absolute paths, with `$or` multiplied out, each conjunction
//! in one global field order so that patterns sharing their first conditions share
//! automaton states. Also finds where the same-element rule could make the flattened
//! view of an event disagree with the tree semantics.

use crate::parse::{Cond, Field, Node};

/// Past this many alternatives a pattern is not multiplied out but evaluated as a tree
/// for every event. Parsing already refuses more than this, so it only guards against
/// the two counts ever disagreeing.
pub(crate) const MAX_ALTERNATIVES: usize = crate::parse::MAX_OR_COMBINATIONS;

/// One field condition of a conjunction: the leaf's alternatives (normalized: sorted and
/// without duplicates, so equal leaves compare equal) at an absolute path.
#[derive(Debug, Clone)]
pub(crate) struct FieldCond {
    pub path: Vec<String>,
    pub conds: Vec<Cond>,
    /// Sort key: selective, hash-indexed conditions first so that matching prunes early,
    /// then the path, then the conditions themselves.
    order: (u8, String, String),
}

impl FieldCond {
    fn new(path: Vec<String>, conds: &[Cond]) -> Self {
        let mut keyed: Vec<(String, Cond)> = conds
            .iter()
            .map(|c| (format!("{c:?}"), c.clone()))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.1 == b.1);
        let canon = keyed
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join("\u{1f}");
        let conds: Vec<Cond> = keyed.into_iter().map(|(_, c)| c).collect();
        let order = (rank(&conds), path.join("\0"), canon);
        Self { path, conds, order }
    }
}

/// How cheaply and selectively a leaf narrows the candidates: 0 for hash lookups of
/// exact values, up to 4 for leaves an absent field satisfies.
fn rank(conds: &[Cond]) -> u8 {
    let worst = conds.iter().map(|c| match c {
        Cond::Exact(_) | Cond::EqIc(_) => 0,
        Cond::Numeric(r) if r.point().is_some() => 0,
        Cond::Prefix(_) | Cond::PrefixIc(_) | Cond::Cidr(_) | Cond::Wildcard(_) => 1,
        Cond::Suffix(_) | Cond::SuffixIc(_) | Cond::Numeric(_) => 2,
        Cond::AnythingBut(_) | Cond::Exists(true) => 3,
        Cond::Exists(false) => 4,
    });
    worst.max().unwrap_or(0)
}

/// What a pattern compiles to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {
    /// The conjunctions, each sorted; `None` when there would be more than
    /// [`MAX_ALTERNATIVES`].
    pub alternatives: Option<Vec<Vec<FieldCond>>>,
    /// Paths of nested pattern objects whose fields must come from one array element
    /// and where flattening could therefore over- or under-match.
    pub element_rule: Vec<Vec<String>>,
}

pub(crate) fn compile(root: &Node) -> Compiled {
    let mut prefix = Vec::new();
    let alternatives = expand(root, &mut prefix).map(|alts| {
        alts.into_iter()
            .map(|mut conj| {
                conj.sort_by(|a, b| a.order.cmp(&b.order));
                conj.dedup_by(|a, b| a.order == b.order);
                conj
            })
            .collect()
    });
    let mut element_rule = Vec::new();
    find_element_rules(root, &mut prefix, &mut element_rule);
    element_rule.sort();
    element_rule.dedup();
    Compiled {
        alternatives,
        element_rule,
    }
}

fn expand(node: &Node, prefix: &mut Vec<String>) -> Option<Vec<Vec<FieldCond>>> {
    let mut acc: Vec<Vec<FieldCond>> = vec![Vec::new()];
    for (name, field) in &node.fields {
        prefix.push(name.clone());
        let step = match field {
            Field::Leaf(conds) => {
                let fc = FieldCond::new(prefix.clone(), conds);
                acc.iter_mut().for_each(|conj| conj.push(fc.clone()));
                Some(())
            }
            Field::Object(sub) => expand(sub, prefix).and_then(|subs| {
                acc = cross(&acc, &subs)?;
                Some(())
            }),
        };
        prefix.pop();
        step?;
    }
    for group in &node.ors {
        let mut alts = Vec::new();
        for alt in group {
            alts.extend(expand(alt, prefix)?);
            if alts.len() > MAX_ALTERNATIVES {
                return None;
            }
        }
        acc = cross(&acc, &alts)?;
    }
    Some(acc)
}

fn cross(a: &[Vec<FieldCond>], b: &[Vec<FieldCond>]) -> Option<Vec<Vec<FieldCond>>> {
    if a.len().saturating_mul(b.len()) > MAX_ALTERNATIVES {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| {
                b.iter().map(move |y| {
                    let mut conj = x.clone();
                    conj.extend(y.iter().cloned());
                    conj
                })
            })
            .collect(),
    )
}

/// Leaves below `node` (counting every `$or` alternative) and whether any of them can be
/// satisfied by an absent field.
fn leaves(node: &Node) -> (usize, bool) {
    let mut count = 0;
    let mut negative = false;
    let mut add = |(c, n): (usize, bool)| {
        count += c;
        negative |= n;
    };
    for (_, field) in &node.fields {
        match field {
            Field::Leaf(conds) => add((1, conds.contains(&Cond::Exists(false)))),
            Field::Object(sub) => add(leaves(sub)),
        }
    }
    node.ors.iter().flatten().for_each(|alt| add(leaves(alt)));
    (count, negative)
}

/// A nested pattern object is exact on flattened values when it holds a single leaf that
/// needs a value: any element holding a matching value is an element that matches. With
/// two leaves the values could come from different elements, and an `exists: false`
/// leaf is satisfied by an element lacking the field even when another has it.
fn find_element_rules(node: &Node, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (name, field) in &node.fields {
        if let Field::Object(sub) = field {
            prefix.push(name.clone());
            let (count, negative) = leaves(sub);
            if count >= 2 || negative {
                out.push(prefix.clone());
            }
            find_element_rules(sub, prefix, out);
            prefix.pop();
        }
    }
    for alt in node.ors.iter().flatten() {
        find_element_rules(alt, prefix, out);
    }
}

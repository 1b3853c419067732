//! The automaton: a trie of field conditions. Every alternative of every pattern is a
//! path from the root, one edge per field condition in the global field order, ending in
//! a state that names the pattern. Patterns sharing their first conditions share states,
//! so matching an event walks the edges its values satisfy from the states it has
//! reached, and the work depends on how many (partial) matches the event has, not on how
//! many patterns were added. States are reference-counted so that removing a pattern
//! frees exactly the states only it used.

use super::flat::Flat;
use super::index::{FieldIndex, StateId};
use super::paths::PathId;
use crate::eval::leaf_matches_any;
use crate::parse::Cond;

const ROOT: StateId = 0;

/// Up to this many edges on one field of one state are tried one by one; more are filed
/// in a [`FieldIndex`]. Most states past the first few fields have a single edge.
const FEW: usize = 4;

#[derive(Debug, Clone, Default)]
struct State {
    /// The field and conditions of the edge into this state.
    path: PathId,
    leaf: Box<[Cond]>,
    parent: StateId,
    /// Alternatives passing through or ending here.
    refs: u32,
    /// Outgoing edges grouped by field, sorted by path.
    trans: Vec<Trans>,
    /// Entries (pattern slots) with an alternative ending here; repeats allowed.
    ends: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Trans {
    path: PathId,
    edges: Edges,
    count: u32,
    /// Edges an absent field can take (their leaf has `exists: false`).
    absent: u32,
}

#[derive(Debug, Clone)]
enum Edges {
    Few(Vec<StateId>),
    Many(Box<FieldIndex>),
}

#[derive(Debug, Clone)]
pub(crate) struct Automaton {
    states: Vec<State>,
    free: Vec<StateId>,
}

impl Default for Automaton {
    fn default() -> Self {
        Self {
            states: vec![State::default()],
            free: Vec::new(),
        }
    }
}

/// Scratch space for one run, reused across events by the caller.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    stack: Vec<StateId>,
    next: Vec<StateId>,
    /// Entries reached, for the caller.
    pub hits: Vec<u32>,
}

impl Automaton {
    /// Number of live states, root included.
    pub(crate) fn state_count(&self) -> usize {
        self.states.len() - self.free.len()
    }

    /// Adds one alternative (fields in the global order) for `entry`; returns the state
    /// it ends in, which [`Automaton::remove`] takes back.
    pub(crate) fn insert(&mut self, fields: &[(PathId, &[Cond])], entry: u32) -> StateId {
        let mut cur = ROOT;
        for &(path, leaf) in fields {
            let next = match self.find_edge(cur, path, leaf) {
                Some(n) => n,
                None => self.add_edge(cur, path, leaf),
            };
            self.states[next as usize].refs += 1;
            cur = next;
        }
        let ends = &mut self.states[cur as usize].ends;
        // Most states end one alternative or none: no growth slack, there are many.
        ends.reserve_exact(1);
        ends.push(entry);
        cur
    }

    fn trans_at(&self, state: StateId, path: PathId) -> Option<&Trans> {
        let trans = &self.states[state as usize].trans;
        trans
            .binary_search_by_key(&path, |t| t.path)
            .ok()
            .map(|i| &trans[i])
    }

    fn find_edge(&self, state: StateId, path: PathId, leaf: &[Cond]) -> Option<StateId> {
        let trans = self.trans_at(state, path)?;
        let same = |s: &StateId| *self.states[*s as usize].leaf == *leaf;
        match &trans.edges {
            Edges::Few(list) => list.iter().copied().find(same),
            Edges::Many(index) => index.filed_under(leaf.first()?).into_iter().find(same),
        }
    }

    fn add_edge(&mut self, from: StateId, path: PathId, leaf: &[Cond]) -> StateId {
        let state = State {
            path,
            leaf: leaf.into(),
            parent: from,
            ..State::default()
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.states[id as usize] = state;
                id
            }
            None => {
                self.states.push(state);
                StateId::try_from(self.states.len() - 1).unwrap_or(StateId::MAX)
            }
        };
        let absent = u32::from(leaf.contains(&Cond::Exists(false)));
        let trans = &mut self.states[from as usize].trans;
        let at = match trans.binary_search_by_key(&path, |t| t.path) {
            Ok(at) => at,
            Err(at) => {
                trans.reserve_exact(1);
                trans.insert(
                    at,
                    Trans {
                        path,
                        edges: Edges::Few(Vec::new()),
                        count: 0,
                        absent: 0,
                    },
                );
                at
            }
        };
        let t = &mut trans[at];
        t.count += 1;
        t.absent += absent;
        match &mut t.edges {
            Edges::Few(list) => {
                list.push(id);
                if list.len() > FEW {
                    let list = std::mem::take(list);
                    let mut index = FieldIndex::default();
                    for &s in &list {
                        for c in &self.states[s as usize].leaf {
                            index.edit(c, s, true);
                        }
                    }
                    self.states[from as usize].trans[at].edges = Edges::Many(Box::new(index));
                }
            }
            Edges::Many(index) => leaf.iter().for_each(|c| index.edit(c, id, true)),
        }
        id
    }

    /// Takes back one alternative of `entry` ending in `end`, freeing states no other
    /// alternative uses.
    pub(crate) fn remove(&mut self, end: StateId, entry: u32) {
        let ends = &mut self.states[end as usize].ends;
        if let Some(at) = ends.iter().position(|&e| e == entry) {
            ends.swap_remove(at);
        }
        let mut s = end;
        while s != ROOT {
            let state = &mut self.states[s as usize];
            state.refs = state.refs.saturating_sub(1);
            let parent = state.parent;
            if state.refs == 0 {
                self.unlink(parent, s);
                self.states[s as usize] = State::default();
                self.free.push(s);
            }
            s = parent;
        }
    }

    fn unlink(&mut self, from: StateId, s: StateId) {
        let leaf = std::mem::take(&mut self.states[s as usize].leaf);
        let path = self.states[s as usize].path;
        let trans = &mut self.states[from as usize].trans;
        let Ok(at) = trans.binary_search_by_key(&path, |t| t.path) else {
            return;
        };
        let t = &mut trans[at];
        t.count = t.count.saturating_sub(1);
        if leaf.contains(&Cond::Exists(false)) {
            t.absent = t.absent.saturating_sub(1);
        }
        match &mut t.edges {
            Edges::Few(list) => list.retain(|&x| x != s),
            Edges::Many(index) => leaf.iter().for_each(|c| index.edit(c, s, false)),
        }
        if t.count == 0 {
            trans.remove(at);
        }
    }

    /// Pushes onto `out` the entries of every alternative `flat` satisfies (with repeats
    /// when several alternatives of one entry do).
    pub(crate) fn run(&self, flat: &Flat, scratch: &mut Scratch) {
        let Scratch {
            stack,
            next,
            hits: out,
        } = scratch;
        out.clear();
        stack.clear();
        stack.push(ROOT);
        // Every state has one incoming edge and each step below pushes a state at most
        // once, so each state is visited at most once per event.
        while let Some(s) = stack.pop() {
            let state = &self.states[s as usize];
            out.extend_from_slice(&state.ends);
            for t in &state.trans {
                let vals = flat.at(t.path);
                if vals.is_empty() && t.absent == 0 {
                    continue;
                }
                match &t.edges {
                    Edges::Few(list) => {
                        for &n in list {
                            let leaf = &self.states[n as usize].leaf;
                            if leaf_matches_any(leaf, vals.len(), vals.iter().map(|(_, v)| v)) {
                                stack.push(n);
                            }
                        }
                    }
                    Edges::Many(index) => {
                        next.clear();
                        index.query(vals, next);
                        if next.len() > 1 {
                            next.sort_unstable();
                            next.dedup();
                        }
                        stack.extend_from_slice(next);
                    }
                }
            }
        }
    }
}

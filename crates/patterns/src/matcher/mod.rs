//! Many patterns compiled into one automaton, so that the cost of matching an event
//! grows with the event and with how many patterns (partly) match it, not with how many
//! patterns there are: an event bus with 100,000 rules pays about what one with ten
//! does.
//!
//! How: each pattern is multiplied out into alternatives (`$or`), each alternative is a
//! conjunction of field conditions sorted into one global order, and the conjunctions
//! form a trie ([`automaton`]). An event is flattened once into the scalars at the paths
//! some pattern mentions ([`flat`], or [`scan`] straight from JSON text), and the trie
//! is walked along the edges those scalars satisfy, each state's edges for one field
//! filed by value ([`index`]).
//!
//! Flattening loses which array element a value came from. Where that matters (a nested
//! pattern object with two or more leaves, or with `exists: false`, meeting an array of
//! two or more objects) the patterns concerned are decided by the tree evaluator instead,
//! for that event only. Patterns that would multiply out into more than
//! [`compile::MAX_ALTERNATIVES`] alternatives are always decided that way.

mod automaton;
mod compile;
mod flat;
mod hash;
mod index;
mod paths;
mod scan;
mod table;

use std::cell::RefCell;

use serde_json::Value;

use crate::{EventError, Pattern};
use automaton::{Automaton, Scratch};
use flat::Flat;
use index::StateId;
use paths::{PathId, Paths};

#[derive(Debug, Clone)]
struct Entry<K> {
    key: K,
    /// Kept only where the tree evaluator may be needed (same-element rule, too many
    /// alternatives); the automaton holds everything else.
    pattern: Option<Pattern>,
    /// Insertion number; results are reported in this order.
    seq: u64,
    /// The state each alternative ends in.
    ends: Vec<StateId>,
    /// Path nodes held: one per field condition, then those of the same-element rule.
    leaves: Vec<PathId>,
    element_paths: Vec<PathId>,
    /// Decided by the tree evaluator for every event.
    always: bool,
}

/// A collection of compiled patterns, each tagged with a caller key (e.g. a rule ARN).
#[derive(Debug, Clone)]
pub struct Matcher<K> {
    entries: Vec<Option<Entry<K>>>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
    paths: Paths,
    automaton: Automaton,
    /// Entries with too many alternatives to compile.
    always: Vec<u32>,
}

impl<K> Default for Matcher<K> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            live: 0,
            next_seq: 0,
            paths: Paths::default(),
            automaton: Automaton::default(),
            always: Vec::new(),
        }
    }
}

thread_local! {
    /// Per-thread scratch for the automaton walk, so matching allocates only its result
    /// and the flattened event.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl<K> Matcher<K> {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of patterns held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no pattern is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds a pattern under `key`; keys need not be unique. Costs time proportional to
    /// the pattern's size (times its `$or` alternatives), whatever the matcher holds.
    pub fn add(&mut self, key: K, pattern: Pattern) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.entries.push(None);
                u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let compiled = compile::compile(&pattern.root);
        let keep = compiled.alternatives.is_none() || !compiled.element_rule.is_empty();
        let mut entry = Entry {
            key,
            pattern: keep.then_some(pattern),
            seq: self.next_seq,
            ends: Vec::new(),
            leaves: Vec::new(),
            element_paths: Vec::new(),
            always: compiled.alternatives.is_none(),
        };
        self.next_seq += 1;
        match &compiled.alternatives {
            Some(alternatives) => {
                for conj in alternatives {
                    let mut fields = Vec::with_capacity(conj.len());
                    for field in conj {
                        let path = self.paths.intern(&field.path);
                        self.paths.add_leaf(path);
                        entry.leaves.push(path);
                        fields.push((path, field.conds.as_slice()));
                    }
                    entry.ends.push(self.automaton.insert(&fields, slot));
                }
                for segments in &compiled.element_rule {
                    let path = self.paths.intern(segments);
                    self.paths.add_element_rule(path, slot);
                    entry.element_paths.push(path);
                }
            }
            None => self.always.push(slot),
        }
        self.entries[slot as usize] = Some(entry);
        self.live += 1;
    }

    /// Keys of all patterns matching `event`, in the order they were added.
    pub fn matching(&self, event: &Value) -> Vec<&K> {
        if self.live == 0 {
            return Vec::new();
        }
        let mut flat = Flat::new();
        flat::from_value(&self.paths, event, &mut flat);
        self.decide(&flat, event)
    }

    /// Keys of all patterns matching the event given as JSON text, in the order they were
    /// added, without decoding the whole event: only the fields some pattern mentions are
    /// read, the rest is skipped. For valid JSON the result is that of
    /// [`Matcher::matching`] on the decoded event. Text that is not JSON is an error, but
    /// inside skipped values only strings and brackets are checked, so some malformed
    /// text is matched rather than refused; validate events where that matters.
    pub fn matching_str(&self, event: &str) -> Result<Vec<&K>, EventError> {
        if self.live == 0 {
            return Ok(Vec::new());
        }
        let mut flat = Flat::new();
        match scan::from_str(&self.paths, event, &mut flat) {
            Ok(()) if flat.element_arrays.is_empty() && self.always.is_empty() => {
                Ok(self.resolve(&flat, &[], |_| false))
            }
            // The tree evaluator needs the decoded event; so does a repeated key, which
            // decoding resolves as serde_json does (the last occurrence wins).
            Ok(()) | Err(scan::Stop::DuplicateKey) => {
                let value: Value =
                    serde_json::from_str(event).map_err(|e| EventError(e.to_string()))?;
                Ok(self.matching(&value))
            }
            Err(scan::Stop::Invalid(e)) => Err(e),
        }
    }

    fn entry(&self, slot: u32) -> Option<&Entry<K>> {
        self.entries.get(slot as usize).and_then(Option::as_ref)
    }

    /// Runs the automaton, then lets the tree evaluator decide the patterns the flattened
    /// view cannot.
    fn decide(&self, flat: &Flat, event: &Value) -> Vec<&K> {
        let mut judged: Vec<u32> = flat
            .element_arrays
            .iter()
            .flat_map(|&p| self.paths.node(p).element_rule.iter().copied())
            .collect();
        judged.extend_from_slice(&self.always);
        judged.sort_unstable();
        judged.dedup();
        self.resolve(flat, &judged, |entry| {
            entry.pattern.as_ref().is_some_and(|p| p.matches(event))
        })
    }

    /// Keys of the entries the automaton reaches for `flat`, except that those in
    /// `judged` (sorted) are reported when `judge` accepts them instead.
    fn resolve(&self, flat: &Flat, judged: &[u32], judge: impl Fn(&Entry<K>) -> bool) -> Vec<&K> {
        let go = |scratch: &mut Scratch| {
            self.automaton.run(flat, scratch);
            let hits = &mut scratch.hits;
            if !judged.is_empty() {
                hits.retain(|e| judged.binary_search(e).is_err());
                hits.extend(
                    judged
                        .iter()
                        .copied()
                        .filter(|&slot| self.entry(slot).is_some_and(&judge)),
                );
            }
            self.keys_of(hits)
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => go(&mut scratch),
            // Only reachable if a caller matched from inside a match on this thread.
            Err(_) => go(&mut Scratch::default()),
        })
    }

    /// Entry slots (with repeats) to keys in insertion order.
    fn keys_of(&self, hits: &mut Vec<u32>) -> Vec<&K> {
        if hits.len() > 1 {
            hits.sort_unstable_by_key(|&slot| self.entry(slot).map_or(u64::MAX, |e| e.seq));
            hits.dedup();
        }
        hits.iter()
            .filter_map(|&slot| self.entry(slot).map(|e| &e.key))
            .collect()
    }

    /// Number of automaton states, root included: a measure of memory use.
    pub fn state_count(&self) -> usize {
        self.automaton.state_count()
    }
}

impl<K: PartialEq> Matcher<K> {
    /// Removes every pattern added under `key`; returns whether there was any. Costs a
    /// comparison per pattern held, plus the size of the patterns removed.
    pub fn remove(&mut self, key: &K) -> bool {
        let slots: Vec<u32> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().is_some_and(|e| e.key == *key))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        for &slot in &slots {
            let Some(entry) = self.entries[slot as usize].take() else {
                continue;
            };
            for &end in &entry.ends {
                self.automaton.remove(end, slot);
            }
            for &path in &entry.leaves {
                self.paths.remove_leaf(path);
            }
            for &path in &entry.element_paths {
                self.paths.remove_element_rule(path, slot);
            }
            if entry.always {
                self.always.retain(|&s| s != slot);
            }
            self.free.push(slot);
            self.live -= 1;
        }
        !slots.is_empty()
    }
}

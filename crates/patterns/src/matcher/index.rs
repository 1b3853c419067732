//! The conditions on one field leaving one automaton state, filed so that the states an
//! event value leads to are found without trying every condition: exact values and
//! `equals-ignore-case` in hash maps, prefixes and suffixes in hash maps by length (one
//! lookup per distinct length), wildcards by their literal head, CIDR blocks by prefix
//! length, numeric ranges in ordered sets by bound (every one-sided range a number
//! satisfies is a contiguous run). `anything-but`, which most values satisfy, is kept in
//! a list and tried in turn: its cost is about the number of conditions it satisfies.

use std::collections::BTreeSet;

use super::hash::FastMap;
use super::table::KeyTable;
use crate::eval::cond_matches;
use crate::ops::{Wildcard, address, prefix_mask};
use crate::parse::{Cond, Range, Scalar};
use crate::value::Val;

pub(crate) type StateId = u32;

/// Values of one key by length, so that all prefixes (or suffixes) of a string present
/// in the map are found with one hash lookup per distinct length.
#[derive(Debug, Clone)]
struct Affix<T> {
    by_key: KeyTable<Vec<T>>,
    /// Distinct key lengths, ascending, with how many keys have each.
    lengths: Vec<(usize, u32)>,
}

impl<T> Default for Affix<T> {
    fn default() -> Self {
        Self {
            by_key: KeyTable::default(),
            lengths: Vec::new(),
        }
    }
}

impl<T> Affix<T> {
    fn get(&self, key: &[u8]) -> &[T] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    fn insert(&mut self, key: &[u8], item: T) {
        let list = self.by_key.get_or_insert_with(key, Vec::new);
        if list.is_empty() {
            match self.lengths.binary_search_by_key(&key.len(), |(l, _)| *l) {
                Ok(i) => self.lengths[i].1 += 1,
                Err(i) => self.lengths.insert(i, (key.len(), 1)),
            }
        }
        list.push(item);
    }

    fn remove(&mut self, key: &[u8], pick: impl Fn(&T) -> bool) {
        let Some(list) = self.by_key.get_mut(key) else {
            return;
        };
        if let Some(at) = list.iter().position(pick) {
            list.swap_remove(at);
        }
        if list.is_empty() {
            self.by_key.remove(key);
            if let Ok(i) = self.lengths.binary_search_by_key(&key.len(), |(l, _)| *l) {
                self.lengths[i].1 -= 1;
                if self.lengths[i].1 == 0 {
                    self.lengths.remove(i);
                }
            }
        }
    }

    /// Items of every key that is a prefix (`suffix == false`) or suffix of `s`.
    fn each_affix(&self, s: &[u8], suffix: bool, mut f: impl FnMut(&T)) {
        for &(len, _) in &self.lengths {
            let Some(part) = (if suffix {
                s.len().checked_sub(len).map(|from| &s[from..])
            } else {
                s.get(..len)
            }) else {
                break;
            };
            self.get(part).iter().for_each(&mut f);
        }
    }

    fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

fn num_key(n: f64) -> u64 {
    // 0.0 and -0.0 are equal and must share a key.
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// One CIDR prefix length of one address family.
#[derive(Debug, Clone)]
struct CidrLevel {
    v6: bool,
    mask: u128,
    len: u32,
    networks: FastMap<u128, Vec<StateId>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct FieldIndex {
    strs: KeyTable<Vec<StateId>>,
    nums: FastMap<u64, Vec<StateId>>,
    trues: Vec<StateId>,
    falses: Vec<StateId>,
    nulls: Vec<StateId>,
    eq_ic: KeyTable<Vec<StateId>>,
    prefix: Affix<StateId>,
    suffix: Affix<StateId>,
    prefix_ic: Affix<StateId>,
    suffix_ic: Affix<StateId>,
    wildcards: Affix<(Wildcard, StateId)>,
    cidrs: Vec<CidrLevel>,
    ranges: Ranges,
    /// Conditions tried one by one.
    scan: Vec<(Cond, StateId)>,
    exists: Vec<StateId>,
    absent: Vec<StateId>,
    /// Which of the above hold anything, so a query skips the rest without looking.
    kinds: u16,
}

const STRS: u16 = 1;
const NUMS: u16 = 1 << 1;
const LOWER: u16 = 1 << 2;
const PREFIX: u16 = 1 << 3;
const SUFFIX: u16 = 1 << 4;
const WILD: u16 = 1 << 5;
const CIDR: u16 = 1 << 6;
const SCAN: u16 = 1 << 7;
const RANGES: u16 = 1 << 8;

/// A number as a key whose unsigned order is the numeric order (-0 taken as 0).
fn ordered(n: f64) -> u64 {
    let bits = if n == 0.0 { 0 } else { n.to_bits() };
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Numeric ranges by bound. For `> b` / `>= b` the ranges a number satisfies are those
/// with the smallest bounds, a run from the start of the set; `< b` / `<= b` likewise
/// from the end. Two-sided ranges are filed by lower bound and their upper bound is
/// checked for each whose lower bound holds.
#[derive(Debug, Clone, Default)]
struct Ranges {
    /// (lower bound, exclusive, state): inclusive sorts first, so one range query takes
    /// every bound below the number and the inclusive ones equal to it.
    lower: BTreeSet<(u64, bool, StateId)>,
    /// (upper bound, inclusive, state).
    upper: BTreeSet<(u64, bool, StateId)>,
    /// (lower bound, exclusive, state, upper bound, inclusive).
    both: BTreeSet<(u64, bool, StateId, u64, bool)>,
}

impl Ranges {
    fn edit(&mut self, r: &Range, s: StateId, add: bool) {
        let lo = r.lo.map(|(b, incl)| (ordered(b), !incl, s));
        let hi = r.hi.map(|(b, incl)| (ordered(b), incl, s));
        match (lo, hi) {
            (Some((lo, excl, _)), Some((hi, incl, _))) => {
                let key = (lo, excl, s, hi, incl);
                if add {
                    self.both.insert(key);
                } else {
                    self.both.remove(&key);
                }
            }
            (Some(key), None) => edit_set(&mut self.lower, key, add),
            (None, Some(key)) => edit_set(&mut self.upper, key, add),
            (None, None) => {}
        }
    }

    /// States with a range of this bound (a superset of those with exactly `r`).
    fn filed_under(&self, r: &Range, out: &mut Vec<StateId>) {
        match (r.lo, r.hi) {
            (Some((b, incl)), Some(_)) => {
                let k = (ordered(b), !incl);
                let (from, to) = (
                    (k.0, k.1, 0, 0, false),
                    (k.0, k.1, StateId::MAX, u64::MAX, true),
                );
                out.extend(self.both.range(from..=to).map(|key| key.2));
            }
            (Some((b, incl)), None) => {
                let k = (ordered(b), !incl);
                out.extend(
                    self.lower
                        .range((k.0, k.1, 0)..=(k.0, k.1, StateId::MAX))
                        .map(|key| key.2),
                );
            }
            (None, Some((b, incl))) => {
                let k = (ordered(b), incl);
                out.extend(
                    self.upper
                        .range((k.0, k.1, 0)..=(k.0, k.1, StateId::MAX))
                        .map(|key| key.2),
                );
            }
            (None, None) => {}
        }
    }

    fn query(&self, n: f64, out: &mut Vec<StateId>) {
        if n.is_nan() {
            return;
        }
        let v = ordered(n);
        out.extend(self.lower.range(..=(v, false, StateId::MAX)).map(|k| k.2));
        out.extend(self.upper.range((v, true, 0)..).map(|k| k.2));
        for &(_, _, s, hi, incl) in self.both.range(..=(v, false, StateId::MAX, u64::MAX, true)) {
            if v < hi || (incl && v == hi) {
                out.push(s);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.lower.is_empty() && self.upper.is_empty() && self.both.is_empty()
    }
}

fn edit_set(set: &mut BTreeSet<(u64, bool, StateId)>, key: (u64, bool, StateId), add: bool) {
    if add {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

fn remove_state(list: &mut Vec<StateId>, s: StateId) {
    if let Some(at) = list.iter().position(|&x| x == s) {
        list.swap_remove(at);
    }
}

impl FieldIndex {
    /// Files `cond` as leading to state `s` (`add`), or takes that filing out again.
    pub(crate) fn edit(&mut self, cond: &Cond, s: StateId, add: bool) {
        self.file(cond, s, add);
        let flag = |on: bool, bit: u16| if on { bit } else { 0 };
        self.kinds = flag(!self.strs.is_empty(), STRS)
            | flag(!self.nums.is_empty(), NUMS)
            | flag(
                !self.eq_ic.is_empty() || !self.prefix_ic.is_empty() || !self.suffix_ic.is_empty(),
                LOWER,
            )
            | flag(!self.prefix.is_empty(), PREFIX)
            | flag(!self.suffix.is_empty(), SUFFIX)
            | flag(!self.wildcards.is_empty(), WILD)
            | flag(!self.cidrs.is_empty(), CIDR)
            | flag(!self.scan.is_empty(), SCAN)
            | flag(!self.ranges.is_empty(), RANGES);
    }

    fn file(&mut self, cond: &Cond, s: StateId, add: bool) {
        let list: &mut Vec<StateId> = match cond {
            Cond::Exact(Scalar::Str(v)) => {
                return table_edit(&mut self.strs, v.as_bytes(), s, add);
            }
            Cond::Exact(Scalar::Num(n)) => return map_edit(&mut self.nums, num_key(*n), s, add),
            Cond::Numeric(r) if r.point().is_some() => {
                let n = r.point().unwrap_or_default();
                return map_edit(&mut self.nums, num_key(n), s, add);
            }
            Cond::EqIc(v) => return table_edit(&mut self.eq_ic, v.as_bytes(), s, add),
            Cond::Exact(Scalar::Bool(true)) => &mut self.trues,
            Cond::Exact(Scalar::Bool(false)) => &mut self.falses,
            Cond::Exact(Scalar::Null) => &mut self.nulls,
            Cond::Exists(true) => &mut self.exists,
            Cond::Exists(false) => &mut self.absent,
            Cond::Prefix(p) => return affix_edit(&mut self.prefix, p, s, add),
            Cond::Suffix(p) => return affix_edit(&mut self.suffix, p, s, add),
            Cond::PrefixIc(p) => return affix_edit(&mut self.prefix_ic, p, s, add),
            Cond::SuffixIc(p) => return affix_edit(&mut self.suffix_ic, p, s, add),
            Cond::Wildcard(w) => {
                let key = w.head().as_bytes();
                if add {
                    self.wildcards.insert(key, (w.clone(), s));
                } else {
                    self.wildcards.remove(key, |(_, x)| *x == s);
                }
                return;
            }
            Cond::Cidr(c) => return self.cidr_edit(c.key(), s, add),
            Cond::Numeric(r) => return self.ranges.edit(r, s, add),
            Cond::AnythingBut(_) => {
                if add {
                    self.scan.push((cond.clone(), s));
                } else if let Some(at) = self.scan.iter().position(|(c, x)| *x == s && c == cond) {
                    self.scan.swap_remove(at);
                }
                return;
            }
        };
        if add {
            list.push(s);
        } else {
            remove_state(list, s);
        }
    }

    fn cidr_edit(&mut self, (v6, len, network): (bool, u32, u128), s: StateId, add: bool) {
        let at = self.cidrs.iter().position(|l| l.v6 == v6 && l.len == len);
        match (at, add) {
            (Some(i), true) => self.cidrs[i].networks.entry(network).or_default().push(s),
            (None, true) => {
                let mut networks = FastMap::default();
                networks.insert(network, vec![s]);
                self.cidrs.push(CidrLevel {
                    v6,
                    len,
                    mask: prefix_mask(v6, len),
                    networks,
                });
            }
            (Some(i), false) => {
                map_edit(&mut self.cidrs[i].networks, network, s, false);
                if self.cidrs[i].networks.is_empty() {
                    self.cidrs.swap_remove(i);
                }
            }
            (None, false) => {}
        }
    }

    /// States filed under exactly this condition (a superset of those whose leaf holds
    /// it), for finding an existing edge.
    pub(crate) fn filed_under(&self, cond: &Cond) -> Vec<StateId> {
        let mut clone = Vec::new();
        let direct: &[StateId] = match cond {
            Cond::Exact(Scalar::Str(v)) => self.strs.get(v.as_bytes()).map_or(&[], Vec::as_slice),
            Cond::Exact(Scalar::Num(n)) => self.nums.get(&num_key(*n)).map_or(&[], Vec::as_slice),
            Cond::Numeric(r) if r.point().is_some() => {
                let n = r.point().unwrap_or_default();
                self.nums.get(&num_key(n)).map_or(&[], Vec::as_slice)
            }
            Cond::Exact(Scalar::Bool(true)) => &self.trues,
            Cond::Exact(Scalar::Bool(false)) => &self.falses,
            Cond::Exact(Scalar::Null) => &self.nulls,
            Cond::EqIc(v) => self.eq_ic.get(v.as_bytes()).map_or(&[], Vec::as_slice),
            Cond::Exists(true) => &self.exists,
            Cond::Exists(false) => &self.absent,
            Cond::Prefix(p) => self.prefix.get(p.as_bytes()),
            Cond::Suffix(p) => self.suffix.get(p.as_bytes()),
            Cond::PrefixIc(p) => self.prefix_ic.get(p.as_bytes()),
            Cond::SuffixIc(p) => self.suffix_ic.get(p.as_bytes()),
            Cond::Wildcard(w) => {
                clone.extend(
                    self.wildcards
                        .get(w.head().as_bytes())
                        .iter()
                        .filter(|(x, _)| x == w)
                        .map(|(_, s)| *s),
                );
                &[]
            }
            Cond::Cidr(c) => {
                let (v6, len, network) = c.key();
                self.cidrs
                    .iter()
                    .find(|l| l.v6 == v6 && l.len == len)
                    .and_then(|l| l.networks.get(&network))
                    .map_or(&[], Vec::as_slice)
            }
            Cond::Numeric(r) => {
                self.ranges.filed_under(r, &mut clone);
                &[]
            }
            Cond::AnythingBut(_) => {
                clone.extend(self.scan.iter().filter(|(c, _)| c == cond).map(|(_, s)| *s));
                &[]
            }
        };
        clone.extend_from_slice(direct);
        clone
    }

    /// Every state some condition here leads to for the scalars `vals` found at this
    /// field (possibly with repeats).
    pub(crate) fn query(&self, vals: &[(u32, Val)], out: &mut Vec<StateId>) {
        if vals.is_empty() {
            out.extend_from_slice(&self.absent);
            return;
        }
        out.extend_from_slice(&self.exists);
        let kinds = self.kinds;
        for (_, v) in vals {
            match v {
                Val::Str(s) => self.string(s, kinds, out),
                Val::Num(n) => {
                    if kinds & NUMS != 0
                        && let Some(list) = self.nums.get(&num_key(*n))
                    {
                        out.extend_from_slice(list);
                    }
                    if kinds & RANGES != 0 {
                        self.ranges.query(*n, out);
                    }
                }
                Val::Bool(true) => out.extend_from_slice(&self.trues),
                Val::Bool(false) => out.extend_from_slice(&self.falses),
                Val::Null => out.extend_from_slice(&self.nulls),
            }
            if kinds & SCAN != 0 {
                for (cond, s) in &self.scan {
                    if cond_matches(cond, v) {
                        out.push(*s);
                    }
                }
            }
        }
    }

    fn string(&self, s: &str, kinds: u16, out: &mut Vec<StateId>) {
        let bytes = s.as_bytes();
        if kinds & STRS != 0
            && let Some(list) = self.strs.get(bytes)
        {
            out.extend_from_slice(list);
        }
        if kinds & (PREFIX | SUFFIX | LOWER) != 0 {
            let mut push = |x: &StateId| out.push(*x);
            self.prefix.each_affix(bytes, false, &mut push);
            self.suffix.each_affix(bytes, true, &mut push);
            if kinds & LOWER != 0 {
                let lower = s.to_lowercase();
                if let Some(list) = self.eq_ic.get(lower.as_bytes()) {
                    list.iter().for_each(&mut push);
                }
                self.prefix_ic
                    .each_affix(lower.as_bytes(), false, &mut push);
                self.suffix_ic.each_affix(lower.as_bytes(), true, &mut push);
            }
        }
        if kinds & WILD != 0 {
            self.wildcards.each_affix(bytes, false, |(w, x)| {
                if w.matches(s) {
                    out.push(*x);
                }
            });
        }
        if kinds & CIDR != 0
            && let Some((v6, bits)) = address(s)
        {
            for level in self.cidrs.iter().filter(|l| l.v6 == v6) {
                if let Some(list) = level.networks.get(&(bits & level.mask)) {
                    out.extend_from_slice(list);
                }
            }
        }
    }
}

fn map_edit<K: std::hash::Hash + Eq>(
    map: &mut FastMap<K, Vec<StateId>>,
    key: K,
    s: StateId,
    add: bool,
) {
    if add {
        map.entry(key).or_default().push(s);
    } else if let Some(list) = map.get_mut(&key) {
        remove_state(list, s);
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

fn table_edit(table: &mut KeyTable<Vec<StateId>>, key: &[u8], s: StateId, add: bool) {
    if add {
        table.get_or_insert_with(key, Vec::new).push(s);
    } else if let Some(list) = table.get_mut(key) {
        remove_state(list, s);
        if list.is_empty() {
            table.remove(key);
        }
    }
}

fn affix_edit(map: &mut Affix<StateId>, key: &str, s: StateId, add: bool) {
    if add {
        map.insert(key.as_bytes(), s);
    } else {
        map.remove(key.as_bytes(), |&x| x == s);
    }
}

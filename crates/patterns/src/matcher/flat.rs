//! An event reduced to what the compiled patterns can see: the scalars at the paths they
//! mention, grouped by path, plus where arrays of objects occurred on paths whose
//! patterns care which element a value came from. Built once per event, from a decoded
//! `serde_json::Value` here or from JSON text by `scan`.

use std::cell::Cell;

use serde_json::{Map, Value};

use super::paths::{PathId, Paths, ROOT};
use crate::value::Val;

thread_local! {
    /// How many scalars the last event on this thread had, so the next one's vector is
    /// allocated once at about the right size instead of grown step by step.
    static LAST_LEN: Cell<usize> = const { Cell::new(16) };
}

/// Slots of the per-event path table (open addressing, at most half full); an event
/// with more distinct mentioned paths than half of this falls back to binary search.
const SLOTS: usize = 64;
const EMPTY: PathId = PathId::MAX;

/// Where one path's scalars are in [`Flat::vals`].
#[derive(Debug, Clone, Copy)]
struct Span {
    path: PathId,
    start: u16,
    end: u16,
}

#[derive(Debug)]
pub(crate) struct Flat<'a> {
    /// (path, scalar) pairs, each path's scalars contiguous once [`Flat::finish`] has
    /// run (sorted by path if they were not contiguous already).
    pub vals: Vec<(PathId, Val<'a>)>,
    /// Paths where an array held two or more objects and some pattern's same-element
    /// rule spans them; those patterns are decided by the tree evaluator.
    pub element_arrays: Vec<PathId>,
    /// Each present path's span, hashed by path; unused when `sorted`.
    spans: [Span; SLOTS],
    /// Set when `vals` had to be sorted and is searched instead of `spans`.
    sorted: bool,
}

fn slot_of(path: PathId) -> usize {
    // Fibonacci hashing: the top bits of the product.
    (path.wrapping_mul(0x9e37_79b9) >> (32 - SLOTS.trailing_zeros())) as usize
}

impl<'a> Flat<'a> {
    pub(crate) fn new() -> Self {
        Self {
            vals: Vec::with_capacity(LAST_LEN.with(Cell::get)),
            element_arrays: Vec::new(),
            spans: [Span {
                path: EMPTY,
                start: 0,
                end: 0,
            }; SLOTS],
            sorted: false,
        }
    }

    /// Indexes the scalars by path. Values arrive grouped by path unless arrays of
    /// objects interleave them, so usually this is one pass and no sort.
    pub(crate) fn finish(&mut self) {
        LAST_LEN.with(|last| last.set(self.vals.len().clamp(16, 1024)));
        if !self.index_spans() {
            self.vals.sort_unstable_by_key(|(p, _)| *p);
            self.sorted = true;
        }
    }

    /// Fills `spans`; false if a path's scalars are not contiguous or there are too
    /// many paths for the table.
    fn index_spans(&mut self) -> bool {
        let mut start = 0;
        let mut runs = 0;
        while start < self.vals.len() {
            let path = self.vals[start].0;
            let mut end = start + 1;
            while end < self.vals.len() && self.vals[end].0 == path {
                end += 1;
            }
            runs += 1;
            if runs > SLOTS / 2 {
                return false;
            }
            let mut i = slot_of(path);
            loop {
                let slot = &mut self.spans[i];
                if slot.path == EMPTY {
                    let (Ok(start), Ok(end)) = (u16::try_from(start), u16::try_from(end)) else {
                        return false;
                    };
                    *slot = Span { path, start, end };
                    break;
                }
                if slot.path == path {
                    return false;
                }
                i = (i + 1) % SLOTS;
            }
            start = end;
        }
        true
    }

    /// The scalars at `path`.
    #[inline]
    pub(crate) fn at(&self, path: PathId) -> &[(PathId, Val<'a>)] {
        if self.sorted {
            let start = self.vals.partition_point(|(p, _)| *p < path);
            let len = self.vals[start..].partition_point(|(p, _)| *p == path);
            return &self.vals[start..start + len];
        }
        let mut i = slot_of(path);
        loop {
            let span = self.spans[i];
            if span.path == path {
                return &self.vals[span.start as usize..span.end as usize];
            }
            if span.path == EMPTY {
                return &[];
            }
            i = (i + 1) % SLOTS;
        }
    }

    pub(crate) fn push_scalar(&mut self, paths: &Paths, at: PathId, val: Val<'a>) {
        if paths.node(at).leaf_refs > 0 {
            self.vals.push((at, val));
        }
    }

    pub(crate) fn end_array(&mut self, paths: &Paths, at: PathId, objects: usize) {
        if objects >= 2 && !paths.node(at).element_rule.is_empty() {
            self.element_arrays.push(at);
        }
    }
}

/// Flattens a decoded event. A non-object event has no fields.
pub(crate) fn from_value<'a>(paths: &Paths, event: &'a Value, out: &mut Flat<'a>) {
    if let Value::Object(map) = event {
        object(paths, ROOT, map, out);
    }
    out.finish();
}

fn object<'a>(paths: &Paths, at: PathId, map: &'a Map<String, Value>, out: &mut Flat<'a>) {
    let children = &paths.node(at).children;
    if children.is_empty() {
        return;
    }
    for (key, value) in map {
        if let Some(&child) = children.get(key.as_bytes()) {
            field(paths, child, value, out);
        }
    }
}

fn field<'a>(paths: &Paths, at: PathId, value: &'a Value, out: &mut Flat<'a>) {
    match value {
        Value::Object(map) => object(paths, at, map, out),
        Value::Array(items) => {
            let mut objects = 0;
            array(paths, at, items, out, &mut objects);
            out.end_array(paths, at, objects);
        }
        scalar => {
            if let Some(v) = Val::of(scalar) {
                out.push_scalar(paths, at, v);
            }
        }
    }
}

/// Nested arrays flatten into their parent, as the tree evaluator's do.
fn array<'a>(
    paths: &Paths,
    at: PathId,
    items: &'a [Value],
    out: &mut Flat<'a>,
    objects: &mut usize,
) {
    for item in items {
        match item {
            Value::Object(map) => {
                *objects += 1;
                object(paths, at, map, out);
            }
            Value::Array(inner) => array(paths, at, inner, out, objects),
            scalar => {
                if let Some(v) = Val::of(scalar) {
                    out.push_scalar(paths, at, v);
                }
            }
        }
    }
}

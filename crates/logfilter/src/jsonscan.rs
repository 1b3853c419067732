//! Zero-copy reading of JSON log events: one validating pass decides whether the message
//! is a JSON object at all, then selectors walk the raw text directly. Nothing is
//! allocated per event unless a string that must be compared holds escapes.

use std::borrow::Cow;

use crate::selector::Step;
use crate::value::Subject;

/// Deeper documents are treated as not JSON rather than risking the stack.
const MAX_DEPTH: usize = 512;

/// A JSON value inside a validated document, as its raw text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    raw: &'a str,
}

/// Returns the root object when `message` is exactly one JSON object (surrounding
/// whitespace allowed); anything else cannot match a JSON pattern.
pub(crate) fn root_object(message: &str) -> Option<Node<'_>> {
    let b = message.as_bytes();
    let start = skip_ws(b, 0);
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let end = validate(b, start, 0)?;
    if skip_ws(b, end) != b.len() {
        return None;
    }
    Some(Node {
        raw: message.get(start..end)?,
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Validates the value starting at `i` and returns the index just past it.
fn validate(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'{' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                i = skip_ws(b, validate_string(b, i)?);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(b, validate(b, skip_ws(b, i + 1), depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(b, validate(b, i, depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'"' => validate_string(b, i),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => validate_number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

fn validate_string(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let rest = b.get(i..)?;
        let at = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(..at)?.iter().any(|&c| c < 0x20) {
            return None;
        }
        i += at;
        if b.get(i) == Some(&b'"') {
            return Some(i + 1);
        }
        match b.get(i + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
            b'u' => {
                if !b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                i += 6;
            }
            _ => return None,
        }
    }
}

fn validate_number(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    Some(i)
}

/// Returns the index just past the (already validated) value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                let rest = b.get(j..)?;
                let at = rest
                    .iter()
                    .position(|&c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']'))?;
                j += at;
                match b.get(j)? {
                    b'"' => j = skip_string(b, j)?,
                    b'{' | b'[' => {
                        depth += 1;
                        j += 1;
                    }
                    _ => {
                        depth = depth.checked_sub(1)?;
                        j += 1;
                        if depth == 0 {
                            return Some(j);
                        }
                    }
                }
            }
        }
        _ => {
            let rest = b.get(i..)?;
            let len = rest
                .iter()
                .position(|&c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len());
            Some(i + len)
        }
    }
}

fn skip_string(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let at = memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        i += at;
        if b.get(i) == Some(&b'"') {
            return Some(i + 1);
        }
        i += 2;
    }
}

impl<'a> Node<'a> {
    /// The raw text, for carrying a validated document without re-validating it.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Rebuilds a node from text that `root_object` validated earlier.
    pub fn from_validated(raw: &'a str) -> Node<'a> {
        Node { raw }
    }

    fn first(&self) -> u8 {
        self.raw.as_bytes().first().copied().unwrap_or(0)
    }

    pub fn is_null(&self) -> bool {
        self.raw == "null"
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.raw {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// The value as a comparable scalar; objects and arrays are not value nodes, and AWS
    /// never matches a comparison against them (not even `!=`).
    pub fn subject(&self) -> Option<Subject<'a>> {
        match self.first() {
            b'{' | b'[' => None,
            b'"' => Some(Subject::JsonString(decode(self.string_body()))),
            b't' => Some(Subject::JsonBool(true)),
            b'f' => Some(Subject::JsonBool(false)),
            b'n' => Some(Subject::JsonNull),
            _ => Some(Subject::JsonNumber(self.raw)),
        }
    }

    fn string_body(&self) -> &'a str {
        let len = self.raw.len();
        self.raw.get(1..len.saturating_sub(1)).unwrap_or("")
    }

    /// Calls `visit` on the children: object members (`with_keys`) or array elements.
    /// Stops early when `visit` returns true, and reports whether it did.
    fn children(&self, visit: &mut dyn FnMut(&'a str, Node<'a>) -> bool) -> bool {
        let b = self.raw.as_bytes();
        let object = match self.first() {
            b'{' => true,
            b'[' => false,
            _ => return false,
        };
        let close = if object { b'}' } else { b']' };
        let mut i = skip_ws(b, 1);
        loop {
            match b.get(i) {
                None => return false,
                Some(&c) if c == close => return false,
                Some(b',') => {
                    i = skip_ws(b, i + 1);
                    continue;
                }
                Some(_) => {}
            }
            let mut key = "";
            if object {
                let Some(end) = skip_string(b, i) else {
                    return false;
                };
                key = self.raw.get(i + 1..end - 1).unwrap_or("");
                i = skip_ws(b, end);
                if b.get(i) != Some(&b':') {
                    return false;
                }
                i = skip_ws(b, i + 1);
            }
            let Some(end) = skip_value(b, i) else {
                return false;
            };
            let Some(raw) = self.raw.get(i..end) else {
                return false;
            };
            if visit(key, Node { raw }) {
                return true;
            }
            i = skip_ws(b, end);
        }
    }

    /// The member named `key`; with duplicate keys the last one wins, as in the JSON
    /// readers AWS uses.
    fn member(&self, key: &str) -> Option<Node<'a>> {
        let mut found = None;
        self.children(&mut |k, node| {
            if key_equals(k, key) {
                found = Some(node);
            }
            false
        });
        found
    }

    fn element(&self, index: usize) -> Option<Node<'a>> {
        if self.first() != b'[' {
            return None;
        }
        let mut seen = 0usize;
        let mut found = None;
        self.children(&mut |_, node| {
            if seen == index {
                found = Some(node);
                return true;
            }
            seen += 1;
            false
        });
        found
    }
}

/// Calls `visit` on every node `steps` reaches from `node`, stopping when it returns true.
pub(crate) fn select<'a>(
    node: Node<'a>,
    steps: &[Step],
    visit: &mut dyn FnMut(Node<'a>) -> bool,
) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return visit(node);
    };
    match step {
        Step::Key(key) => {
            if node.first() != b'{' {
                return false;
            }
            node.member(key).is_some_and(|n| select(n, rest, visit))
        }
        Step::Index(i) => node.element(*i).is_some_and(|n| select(n, rest, visit)),
        Step::Wildcard => node.children(&mut |_, child| select(child, rest, visit)),
    }
}

fn key_equals(raw: &str, wanted: &str) -> bool {
    if raw.contains('\\') {
        decode(raw) == wanted
    } else {
        raw == wanted
    }
}

/// Unescapes the body of a validated JSON string, borrowing when there is nothing to do.
pub(crate) fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let high = hex4(&mut chars);
                let code = match high {
                    Some(h @ 0xD800..=0xDBFF) => {
                        let mut look = chars.clone();
                        let low = (look.next() == Some('\\') && look.next() == Some('u'))
                            .then(|| hex4(&mut look))
                            .flatten()
                            .filter(|l| (0xDC00..=0xDFFF).contains(l));
                        match low {
                            Some(l) => {
                                chars = look;
                                Some(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00))
                            }
                            None => None,
                        }
                    }
                    other => other,
                };
                out.push(code.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut value = 0u32;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_objects_only() {
        assert!(root_object(r#" {"a": [1, {"b": null}], "c": "x\"y"} "#).is_some());
        assert!(root_object("[1]").is_none());
        assert!(root_object(r#"{"a": 1"#).is_none());
        assert!(root_object(r#"{"a": 01}"#).is_none());
        assert!(root_object("{\"a\": \"tab\there\"}").is_none());
        assert!(root_object(r#"{"a": 1} x"#).is_none());
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode(r"a\u00e9\ud83d\ude00\n"), "aé😀\n");
        assert_eq!(decode(r"\ud800x"), "\u{FFFD}x");
    }
}

//! Discovered JSON fields, found by scanning the raw message for one flattened path
//! (`a.b`, `items.0.id`) without building a document.
//!
//! Insights flattens JSON events into dotted field names, arrays by index. Queries name
//! only a handful of fields, so rather than flatten every event this scanner walks the
//! text once per referenced field, skipping unrelated values with `memchr`, and returns
//! the byte range of the value so callers can hand out zero-copy views of the message.
//! Only leaves are fields: a path naming an object, an array or `null` finds nothing.

use std::borrow::Cow;

/// Where a field's value lies in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    /// A string holding backslash escapes, which must be decoded before use.
    pub escaped: bool,
}

impl Found {
    /// The field's value as Insights shows it: strings decoded, numbers and booleans as
    /// written.
    pub(crate) fn text<'a>(&self, message: &'a str) -> Cow<'a, str> {
        let raw = message.get(self.start..self.end).unwrap_or_default();
        if self.escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }
}

/// Finds the leaf at `path` in `message` when the message is a JSON object.
pub(crate) fn find(message: &str, path: &str) -> Option<Found> {
    let b = message.as_bytes();
    let start = skip_ws(b, 0);
    if b.get(start) != Some(&b'{') {
        return None;
    }
    find_in_object(b, start, path.as_bytes())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `i` is at an opening quote; returns the index past the closing quote and whether
/// the string contains escapes.
fn skip_string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let offset = memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        j += offset;
        if b[j] == b'\\' {
            escaped = true;
            j += 2;
        } else {
            return Some((j + 1, escaped));
        }
    }
}

/// Index just past the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(b, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while let Some(&c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The leaf value at `i`, or `None` for containers and `null`.
fn leaf(b: &[u8], i: usize) -> Option<Found> {
    match *b.get(i)? {
        b'"' => {
            let (end, escaped) = skip_string(b, i)?;
            Some(Found {
                start: i + 1,
                end: end - 1,
                escaped,
            })
        }
        b'{' | b'[' | b'n' => None,
        _ => {
            let end = skip_value(b, i)?;
            Some(Found {
                start: i,
                end,
                escaped: false,
            })
        }
    }
}

/// How `key` relates to the remaining `path`: the path names the key itself, or
/// continues below it (a key may itself contain dots, so this is a prefix test).
fn key_match<'p>(key: &[u8], path: &'p [u8]) -> Option<Option<&'p [u8]>> {
    if key == path {
        return Some(None);
    }
    if path.len() > key.len() && path.starts_with(key) && path[key.len()] == b'.' {
        return Some(Some(&path[key.len() + 1..]));
    }
    None
}

fn descend(b: &[u8], i: usize, rest: &[u8]) -> Option<Found> {
    match b.get(i)? {
        b'{' => find_in_object(b, i, rest),
        b'[' => find_in_array(b, i, rest),
        _ => None,
    }
}

fn find_in_object(b: &[u8], open: usize, path: &[u8]) -> Option<Found> {
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, key_escaped) = skip_string(b, i)?;
        let raw_key = b.get(i + 1..key_end - 1)?;
        let decoded;
        let key: &[u8] = if key_escaped {
            decoded = unescape(std::str::from_utf8(raw_key).ok()?);
            decoded.as_bytes()
        } else {
            raw_key
        };
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value = skip_ws(b, i + 1);
        match key_match(key, path) {
            Some(None) => return leaf(b, value),
            Some(Some(rest)) => {
                if let Some(found) = descend(b, value, rest) {
                    return Some(found);
                }
            }
            None => {}
        }
        i = skip_ws(b, skip_value(b, value)?);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            _ => return None,
        }
    }
}

fn find_in_array(b: &[u8], open: usize, path: &[u8]) -> Option<Found> {
    let (index_text, rest) = match path.iter().position(|&c| c == b'.') {
        Some(dot) => (&path[..dot], Some(&path[dot + 1..])),
        None => (path, None),
    };
    if index_text.is_empty() || !index_text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let wanted: usize = std::str::from_utf8(index_text).ok()?.parse().ok()?;
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b']') {
        return None;
    }
    let mut index = 0usize;
    loop {
        if index == wanted {
            return match rest {
                None => leaf(b, i),
                Some(rest) => descend(b, i, rest),
            };
        }
        i = skip_ws(b, skip_value(b, i)?);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            _ => return None,
        }
        index += 1;
    }
}

/// Decodes JSON string escapes; malformed escapes are kept as written.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let Ok(unit) = u32::from_str_radix(&hex, 16) else {
                    out.push_str("\\u");
                    out.push_str(&hex);
                    continue;
                };
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate must be followed by `\uDCxx`.
                    let mut lookahead = chars.clone();
                    if lookahead.next() == Some('\\') && lookahead.next() == Some('u') {
                        let low: String = lookahead.by_ref().take(4).collect();
                        if let Ok(low) = u32::from_str_radix(&low, 16)
                            && (0xDC00..0xE000).contains(&low)
                        {
                            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            chars = lookahead;
                            continue;
                        }
                    }
                    out.push('\u{FFFD}');
                } else {
                    out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(message: &str, path: &str) -> Option<String> {
        find(message, path).map(|f| f.text(message).into_owned())
    }

    #[test]
    fn finds_nested_and_array_leaves() {
        let m = r#"{"a":{"b":[1,{"c":"x\"y"}],"n":null},"d.e":true,"s":"t"}"#;
        assert_eq!(get(m, "a.b.0").as_deref(), Some("1"));
        assert_eq!(get(m, "a.b.1.c").as_deref(), Some("x\"y"));
        assert_eq!(get(m, "d.e").as_deref(), Some("true"));
        assert_eq!(get(m, "s").as_deref(), Some("t"));
        assert_eq!(get(m, "a"), None);
        assert_eq!(get(m, "a.n"), None);
        assert_eq!(get(m, "a.b.2"), None);
        assert_eq!(get(m, "zz"), None);
    }

    #[test]
    fn non_json_and_truncated_messages_find_nothing() {
        assert_eq!(get("plain text", "a"), None);
        assert_eq!(get(r#"{"a": "unterminated"#, "a"), None);
        assert_eq!(get(r#"{"a": [1, 2"#, "b"), None);
        assert_eq!(get("{", "a"), None);
    }

    #[test]
    fn decodes_unicode_escapes() {
        assert_eq!(unescape(r"\u00e9\ud83d\ude00"), "é😀");
    }
}

//! Flattening straight from JSON text, for callers that hold the event as text: decoding
//! a CloudTrail record into a `serde_json::Value` costs several times what matching it
//! does, and most of the record is in fields no pattern mentions. The scanner follows
//! the path trie, decodes only the keys and scalars on mentioned paths, and skips every
//! other value by its brackets and string quotes.
//!
//! For valid JSON the result is what `flat::from_value` gives for the decoded value, with
//! one exception it reports instead of handling: a key repeated on a mentioned path,
//! where a decoded value keeps only the last occurrence. Malformed JSON is rejected when
//! the scanner runs into it; inside skipped values only the nesting and strings are
//! checked.

use std::borrow::Cow;

use super::flat::Flat;
use super::paths::{PathId, Paths, ROOT};
use crate::EventError;
use crate::value::Val;

/// Why scanning stopped short of a flattened event.
pub(crate) enum Stop {
    /// The text is not JSON.
    Invalid(EventError),
    /// A mentioned key occurs twice in one object; decode the event instead.
    DuplicateKey,
}

type Step<T = ()> = Result<T, Stop>;

pub(crate) fn from_str<'a>(paths: &Paths, text: &'a str, out: &mut Flat<'a>) -> Step {
    let mut scan = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
        paths,
        seen: Vec::new(),
    };
    scan.ws();
    if scan.peek() == Some(b'{') {
        scan.at += 1;
        scan.object(ROOT, out)?;
    } else {
        scan.skip_value()?;
    }
    scan.ws();
    if scan.at != scan.bytes.len() {
        return Err(scan.invalid("trailing characters after the event"));
    }
    out.finish();
    Ok(())
}

struct Scanner<'a, 'p> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    paths: &'p Paths,
    /// Mentioned keys met in the objects being read, innermost last, to notice repeats.
    seen: Vec<PathId>,
}

const QUOTES: u64 = 0x2222_2222_2222_2222;
const BACKSLASHES: u64 = 0x5c5c_5c5c_5c5c_5c5c;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is zero; the lowest flagged byte is exact.
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

impl<'a> Scanner<'a, '_> {
    fn invalid(&self, reason: &str) -> Stop {
        Stop::Invalid(EventError(format!("{reason} at byte {}", self.at)))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips whitespace. Compact JSON has none, so the common case is one comparison:
    /// every JSON whitespace byte is at most a space, and no other byte that low may
    /// appear outside a string.
    #[inline(always)]
    fn ws(&mut self) {
        if self.bytes.get(self.at).is_some_and(|&b| b <= b' ') {
            self.ws_run();
        }
    }

    fn ws_run(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Step {
        self.ws();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.invalid(what))
        }
    }

    /// Index of the next `"` or `\` at or after `from`, eight bytes at a time.
    #[inline(always)]
    fn quote_or_escape(&self, mut from: usize) -> Option<usize> {
        let b = self.bytes;
        while let Some(chunk) = b.get(from..from + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let hits = zero_bytes(w ^ QUOTES) | zero_bytes(w ^ BACKSLASHES);
            if hits != 0 {
                return Some(from + (hits.trailing_zeros() / 8) as usize);
            }
            from += 8;
        }
        b[from.min(b.len())..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\')
            .map(|p| from + p)
    }

    /// Reads a string whose opening quote is at `self.at`; borrows unless it has escapes.
    #[inline]
    fn string(&mut self) -> Step<Cow<'a, str>> {
        let start = self.at + 1;
        match self.quote_or_escape(start) {
            Some(end) if self.bytes[end] == b'"' => {
                self.at = end + 1;
                Ok(Cow::Borrowed(&self.text[start..end]))
            }
            Some(end) => self.escaped_string(start, end),
            None => Err(self.invalid("unterminated string")),
        }
    }

    /// The rest of [`Scanner::string`] for a string whose first escape is at `end`.
    #[cold]
    fn escaped_string(&mut self, start: usize, end: usize) -> Step<Cow<'a, str>> {
        let mut owned = String::from(&self.text[start..end]);
        self.at = end;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.at += 1;
                    self.escape(&mut owned)?;
                }
                Some(_) => {
                    let run_end = self
                        .quote_or_escape(self.at)
                        .ok_or_else(|| self.invalid("unterminated string"))?;
                    owned.push_str(&self.text[self.at..run_end]);
                    self.at = run_end;
                }
                None => return Err(self.invalid("unterminated string")),
            }
        }
    }

    /// Decodes the escape after a backslash.
    fn escape(&mut self, out: &mut String) -> Step {
        let Some(c) = self.peek() else {
            return Err(self.invalid("unterminated escape"));
        };
        self.at += 1;
        let decoded = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.invalid("invalid escape")),
        };
        out.push(decoded);
        Ok(())
    }

    fn hex4(&mut self) -> Step<u32> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.invalid("invalid \\u escape"))?;
        let n = u32::from_str_radix(digits, 16).map_err(|_| self.invalid("invalid \\u escape"))?;
        self.at += 4;
        Ok(n)
    }

    fn unicode_escape(&mut self) -> Step<char> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) {
            if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                return Err(self.invalid("lone leading surrogate in \\u escape"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return Err(self.invalid("invalid surrogate pair in \\u escape"));
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.invalid("lone trailing surrogate in \\u escape"))
    }

    fn skip_string(&mut self) -> Step {
        let mut from = self.at + 1;
        loop {
            let end = self
                .quote_or_escape(from)
                .ok_or_else(|| self.invalid("unterminated string"))?;
            if self.bytes[end] == b'"' {
                self.at = end + 1;
                return Ok(());
            }
            from = end + 2;
        }
    }

    /// Skips an object or array whose opening bracket is at `self.at`.
    fn skip_nested(&mut self) -> Step {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.skip_string()?;
                    continue;
                }
                Some(b'{' | b'[') => depth += 1,
                Some(b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                Some(_) => {}
                None => return Err(self.invalid("unterminated object or array")),
            }
            self.at += 1;
        }
    }

    /// Skips the value starting at `self.at` (after whitespace).
    fn skip_value(&mut self) -> Step {
        self.ws();
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{' | b'[') => self.skip_nested(),
            Some(_) => self.scalar_token().map(|_| ()),
            None => Err(self.invalid("expected a value")),
        }
    }

    /// The text of a number or literal starting at `self.at`.
    fn scalar_token(&mut self) -> Step<&'a str> {
        let start = self.at;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t' | b':') {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return Err(self.invalid("expected a value"));
        }
        Ok(&self.text[start..self.at])
    }

    fn scalar(&mut self) -> Step<Val<'a>> {
        if self.peek() == Some(b'"') {
            return self.string().map(Val::Str);
        }
        let token = self.scalar_token()?;
        Ok(match token {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            "null" => Val::Null,
            _ => Val::Num(self.number(token)?),
        })
    }

    /// Reads a number as `serde_json` would, so both matching entry points agree to the
    /// last bit: short plain integers directly, anything else through `serde_json`.
    fn number(&self, token: &str) -> Step<f64> {
        let plain = token.len() <= 15
            && token.bytes().all(|b| b.is_ascii_digit())
            && (token.len() == 1 || !token.starts_with('0'));
        if plain && let Ok(n) = token.parse::<u64>() {
            // At most 15 digits, so exactly representable.
            return Ok(n as f64);
        }
        serde_json::from_str::<f64>(token).map_err(|_| self.invalid("invalid number or literal"))
    }

    /// Reads the members of an object whose `{` has been consumed, at path `at`.
    fn object(&mut self, at: PathId, out: &mut Flat<'a>) -> Step {
        let paths = self.paths;
        let children = &paths.node(at).children;
        let frame = self.seen.len();
        self.ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.invalid("expected a field name"));
            }
            let child = if children.is_empty() {
                self.skip_string()?;
                None
            } else {
                let key = self.string()?;
                children.get(key.as_bytes()).copied()
            };
            self.expect(b':', "expected ':' after a field name")?;
            match child {
                Some(c) => {
                    if self.seen[frame..].contains(&c) {
                        return Err(Stop::DuplicateKey);
                    }
                    self.seen.push(c);
                    self.value(c, out)?;
                }
                None => self.skip_value()?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    self.seen.truncate(frame);
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or '}' in an object")),
            }
        }
    }

    /// Reads the value of a mentioned field.
    fn value(&mut self, at: PathId, out: &mut Flat<'a>) -> Step {
        self.ws();
        match self.peek() {
            Some(b'{') => self.nested_object(at, out),
            Some(b'[') => {
                let mut objects = 0;
                self.array(at, out, &mut objects)?;
                out.end_array(self.paths, at, objects);
                Ok(())
            }
            Some(_) => self.leaf(at, out),
            None => Err(self.invalid("expected a value")),
        }
    }

    fn nested_object(&mut self, at: PathId, out: &mut Flat<'a>) -> Step {
        if self.paths.node(at).children.is_empty() {
            self.skip_nested()
        } else {
            self.at += 1;
            self.object(at, out)
        }
    }

    fn leaf(&mut self, at: PathId, out: &mut Flat<'a>) -> Step {
        if self.paths.node(at).leaf_refs > 0 {
            let v = self.scalar()?;
            out.vals.push((at, v));
            Ok(())
        } else {
            self.skip_value()
        }
    }

    /// Reads an array whose `[` is at `self.at`; nested arrays flatten into it.
    fn array(&mut self, at: PathId, out: &mut Flat<'a>, objects: &mut usize) -> Step {
        self.at += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    *objects += 1;
                    self.nested_object(at, out)?;
                }
                Some(b'[') => self.array(at, out, objects)?,
                Some(_) => self.leaf(at, out)?,
                None => return Err(self.invalid("unterminated array")),
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or ']' in an array")),
            }
        }
    }
}

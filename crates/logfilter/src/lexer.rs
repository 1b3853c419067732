//! A byte cursor shared by the three pattern grammars, with the token readers they have in
//! common (quoted strings, `%regex%` bodies, bare words) and the error constructors that
//! turn byte offsets into the character positions users see.

use crate::{Error, Result};

/// Reads one region of the pattern text; `end` lets the JSON and space-delimited parsers
/// stop before their closing brace or bracket without copying the inner text.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
}

/// A double-quoted string split at its unescaped `*`, so value matchers can tell the
/// wildcard from a literal asterisk (`\*`).
pub(crate) struct Quoted {
    pub segments: Vec<String>,
    /// Byte offset of the opening quote.
    pub start: usize,
    /// The raw token, quotes included, for error messages.
    pub raw: String,
}

impl Quoted {
    /// The decoded text with every `*` literal, as exact phrases need it.
    pub fn text(&self) -> String {
        self.segments.join("*")
    }
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str, start: usize, end: usize) -> Self {
        Cursor {
            src,
            pos: start,
            end,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Rewinds to a byte offset seen earlier, to re-read a token for an error message.
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }

    pub fn source(&self) -> &'a str {
        self.src
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// The text consumed since byte `from`.
    pub fn slice_from(&self, from: usize) -> &'a str {
        self.src.get(from..self.pos).unwrap_or("")
    }

    pub fn rest(&self) -> &'a str {
        self.src.get(self.pos..self.end).unwrap_or("")
    }

    pub fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    pub fn peek_at(&self, offset: usize) -> Option<u8> {
        let at = self.pos + offset;
        if at < self.end {
            self.src.as_bytes().get(at).copied()
        } else {
            None
        }
    }

    pub fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Advances by `n` bytes; callers only step over ASCII they have just peeked.
    pub fn bump(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    pub fn bump_char(&mut self) {
        if let Some(c) = self.peek_char() {
            self.pos += c.len_utf8();
        }
    }

    pub fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    pub fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consumes characters while `keep` holds and returns them.
    pub fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek_char() {
            if !keep(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// Consumes the rest of a malformed token so it can be quoted in an error.
    pub fn take_token(&mut self, stop: impl Fn(char) -> bool) -> &'a str {
        self.take_while(|c| !c.is_ascii_whitespace() && !stop(c))
    }

    pub fn syntax(&self, message: impl Into<String>) -> Error {
        self.syntax_at(self.pos, message)
    }

    pub fn syntax_at(&self, byte: usize, message: impl Into<String>) -> Error {
        Error::Syntax {
            message: message.into(),
            position: char_position(self.src, byte),
        }
    }

    pub fn invalid(&self, term: impl Into<String>, byte: usize) -> Error {
        Error::InvalidCharacters {
            term: term.into(),
            position: char_position(self.src, byte),
        }
    }

    /// Reads a double-quoted string starting at the cursor. `\"` and `\\` unescape,
    /// `\*` is a literal asterisk, and any other backslash stays as written, which keeps
    /// Windows paths and regex-looking text usable without doubling every backslash.
    pub fn quoted(&mut self) -> Result<Quoted> {
        let start = self.pos;
        self.bump(1);
        let mut segments = Vec::new();
        let mut current = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(self.syntax_at(start, "unterminated quoted string"));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => break,
                '*' => segments.push(std::mem::take(&mut current)),
                '\\' => {
                    let Some(next) = self.peek_char() else {
                        return Err(self.syntax_at(start, "unterminated quoted string"));
                    };
                    self.pos += next.len_utf8();
                    if !matches!(next, '"' | '\\' | '*') {
                        current.push('\\');
                    }
                    current.push(next);
                }
                other => current.push(other),
            }
        }
        segments.push(current);
        let raw = self.slice_from(start).to_string();
        Ok(Quoted {
            segments,
            start,
            raw,
        })
    }

    /// Reads `%body%` starting at the cursor and returns the body and its byte offset.
    pub fn regex_body(&mut self) -> Result<(&'a str, usize)> {
        let start = self.pos;
        self.bump(1);
        let body_start = self.pos;
        match self.rest().find('%') {
            Some(len) => {
                self.pos += len + 1;
                Ok((
                    self.src.get(body_start..body_start + len).unwrap_or(""),
                    start,
                ))
            }
            None => Err(self.syntax_at(start, "unterminated regular expression")),
        }
    }
}

/// Converts a byte offset into the 0-based character offset reported to users.
pub(crate) fn char_position(src: &str, byte: usize) -> usize {
    let byte = byte.min(src.len());
    let mut boundary = byte;
    while !src.is_char_boundary(boundary) {
        boundary -= 1;
    }
    src[..boundary].chars().count()
}

/// The characters of `term` that `allowed` rejects, each once and in order, which is how
/// AWS quotes them back (`Invalid character(s) in term ':'` for `Status:`).
pub(crate) fn disallowed_chars(term: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in term.chars() {
        if !allowed(c) && !out.contains(c) {
            out.push(c);
        }
    }
    out
}

/// Characters AWS accepts in an unquoted term: ASCII letters, digits and underscore.
pub(crate) fn is_term_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Characters accepted in an unquoted JSON or space-delimited comparison value. AWS
/// documents alphanumerics only but accepts dotted IPs, signed numbers and wildcards
/// (`123.123.*`, `+1000`, `*.html*`) in its own examples.
pub(crate) fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '+' | '-')
}

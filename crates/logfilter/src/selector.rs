//! JSON property selectors (`$.a.b`, `$.list[0]`, `$.grid[0][1]`, `$.['dotted.key']`,
//! `$.*`, `$.list[*]`), parsed once and shared by patterns, captures and metric values.

use crate::lexer::Cursor;
use crate::{Error, Result};

/// One step from a JSON node to its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
    /// Every member of an object or element of an array.
    Wildcard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    pub steps: Vec<Step>,
}

/// AWS allows "up to one wildcard selector in a property selector".
const MAX_WILDCARDS_PER_SELECTOR: usize = 1;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl Selector {
    pub fn has_wildcard(&self) -> bool {
        self.steps.contains(&Step::Wildcard)
    }

    /// Parses a whole string as a selector, for captures and metric values.
    pub fn parse_str(text: &str) -> Result<Selector> {
        let mut cur = Cursor::new(text, 0, text.len());
        let selector = Selector::read(&mut cur)?;
        if !cur.at_end() {
            let start = cur.pos();
            let token = cur.take_while(|_| true);
            return Err(cur.invalid(token, start));
        }
        Ok(selector)
    }

    /// Reads a selector at the cursor. Property names are letters, digits, `-` and `_`;
    /// anything else must use the bracket form, and array indexes must follow a
    /// property, as AWS documents.
    pub fn read(cur: &mut Cursor<'_>) -> Result<Selector> {
        let start = cur.pos();
        if !cur.eat("$") {
            return Err(cur.syntax("expected a property selector starting with '$.'"));
        }
        let mut steps = Vec::new();
        loop {
            match cur.peek() {
                Some(b'.') => {
                    cur.bump(1);
                    match cur.peek() {
                        Some(b'*') => {
                            cur.bump(1);
                            steps.push(Step::Wildcard);
                        }
                        Some(b'[') => steps.push(read_bracket(cur, start)?),
                        _ => {
                            let name = cur.take_while(is_name_char);
                            if name.is_empty() {
                                return Err(invalid_here(cur, start));
                            }
                            steps.push(Step::Key(name.to_string()));
                        }
                    }
                }
                Some(b'[') if !steps.is_empty() => steps.push(read_bracket(cur, start)?),
                _ => break,
            }
        }
        if steps.is_empty() {
            return Err(invalid_here(cur, start));
        }
        let wildcards = steps.iter().filter(|s| **s == Step::Wildcard).count();
        if wildcards > MAX_WILDCARDS_PER_SELECTOR {
            return Err(Error::Limit(
                "a property selector can contain at most one wildcard".to_string(),
            ));
        }
        Ok(Selector { steps })
    }
}

/// AWS quotes the selector up to and including the first character it could not take
/// (`Invalid character(s) in term '$."'` for `$."sc-status"`).
fn invalid_here(cur: &Cursor<'_>, start: usize) -> Error {
    let mut term = cur.slice_from(start).to_string();
    if let Some(c) = cur.peek_char() {
        term.push(c);
    }
    cur.invalid(term, start)
}

/// Reads `[N]`, `[*]` or `['key']` (single or double quotes).
fn read_bracket(cur: &mut Cursor<'_>, start: usize) -> Result<Step> {
    let open = cur.pos();
    cur.bump(1);
    let step = match cur.peek() {
        Some(b'*') => {
            cur.bump(1);
            Step::Wildcard
        }
        Some(q @ (b'\'' | b'"')) => {
            cur.bump(1);
            let quote = char::from(q);
            let key = cur.take_while(|c| c != quote);
            if !cur.eat(&quote.to_string()) {
                return Err(cur.syntax_at(open, "unterminated quoted property name"));
            }
            Step::Key(key.to_string())
        }
        Some(b) if b.is_ascii_digit() => {
            let digits = cur.take_while(|c| c.is_ascii_digit());
            let index = digits
                .parse::<usize>()
                .map_err(|_| cur.syntax_at(open, "array index is too large"))?;
            Step::Index(index)
        }
        _ => return Err(invalid_here(cur, start)),
    };
    if !cur.eat("]") {
        return Err(invalid_here(cur, start));
    }
    Ok(step)
}

//! Space-delimited patterns, `[ip, user, ..., status_code = 4* || status_code = 5*, bytes]`:
//! the message is split into fields and each pattern slot must accept its field.
//!
//! Fields are separated by runs of whitespace; text between `[` and `]` or between two
//! `"` is one field with the brackets or quotes stripped, as in the guide's extraction
//! example. Without `...` the field count must equal the slot count; each `...` stands
//! for any number of fields (zero included), and fields bind leftmost-first around it.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use crate::json::collapse;
use crate::lexer::{Cursor, char_position, is_term_char};
use crate::regex::RegexBudget;
use crate::value::{Comparison, Op, Subject};
use crate::{Error, Result};

#[derive(Debug, Clone)]
enum Slot {
    Ellipsis,
    Field {
        name: Option<String>,
        cond: Option<FieldExpr>,
    },
}

#[derive(Debug, Clone)]
enum FieldExpr {
    Or(Vec<FieldExpr>),
    And(Vec<FieldExpr>),
    Cmp(Comparison),
}

#[derive(Debug, Clone)]
pub(crate) struct DelimitedPattern {
    slots: Vec<Slot>,
    /// Runs of non-ellipsis slots, in order.
    groups: Vec<Range<usize>>,
    leading_ellipsis: bool,
    trailing_ellipsis: bool,
    /// Named slots as (name, group, offset in group), for captures.
    named: Vec<(Arc<str>, usize, usize)>,
}

/// A field's byte range in the message.
pub(crate) type Span = (usize, usize);

/// The fields of a matching message and the slot names bound to them (by field index).
pub(crate) struct Bound {
    pub spans: Vec<Span>,
    pub names: Vec<(Arc<str>, usize)>,
}

thread_local! {
    /// Reused per thread so that matching allocates nothing once warm.
    static SPANS: RefCell<Vec<Span>> = const { RefCell::new(Vec::new()) };
}

impl DelimitedPattern {
    /// Parses `text`, which starts with `[`.
    pub fn parse(text: &str) -> Result<DelimitedPattern> {
        if !text.ends_with(']') || text.len() < 2 {
            return Err(Error::UnclosedDelimited);
        }
        let mut cur = Cursor::new(text, 1, text.len() - 1);
        let mut budget = RegexBudget::default();
        let mut slots = Vec::new();
        loop {
            slots.push(read_slot(&mut cur, &mut budget)?);
            cur.skip_ws();
            if cur.at_end() {
                break;
            }
            if !cur.eat(",") {
                let start = cur.pos();
                let token = cur.take_token(|c| c == ',');
                return Err(cur.invalid(token, start));
            }
        }
        Ok(DelimitedPattern::from_slots(slots))
    }

    fn from_slots(slots: Vec<Slot>) -> DelimitedPattern {
        let mut groups = Vec::new();
        let mut named = Vec::new();
        let mut run_start = None;
        for (i, slot) in slots.iter().enumerate() {
            match slot {
                Slot::Ellipsis => {
                    if let Some(s) = run_start.take() {
                        groups.push(s..i);
                    }
                }
                Slot::Field { name, .. } => {
                    let s = *run_start.get_or_insert(i);
                    if let Some(name) = name {
                        named.push((Arc::from(name.as_str()), groups.len(), i - s));
                    }
                }
            }
        }
        if let Some(s) = run_start {
            groups.push(s..slots.len());
        }
        DelimitedPattern {
            leading_ellipsis: matches!(slots.first(), Some(Slot::Ellipsis)),
            trailing_ellipsis: matches!(slots.last(), Some(Slot::Ellipsis)),
            slots,
            groups,
            named,
        }
    }

    pub fn matches(&self, message: &str) -> bool {
        with_spans(message, |spans| self.place(message, spans, |_, _| {}))
    }

    /// Matches and, on success, returns the fields and the names bound to them.
    pub fn evaluate(&self, message: &str) -> Option<Bound> {
        let mut spans = Vec::new();
        tokenize(message, &mut spans);
        let mut starts = vec![0usize; self.groups.len()];
        if !self.place(message, &spans, |g, s| {
            if let Some(slot) = starts.get_mut(g) {
                *slot = s;
            }
        }) {
            return None;
        }
        let names = self
            .named
            .iter()
            .filter_map(|(name, g, k)| Some((name.clone(), starts.get(*g)? + k)))
            .collect();
        Some(Bound { spans, names })
    }

    /// Whether `name` is a named slot, for validating `$name` metric values.
    pub fn has_field(&self, name: &str) -> bool {
        self.named.iter().any(|(n, _, _)| &**n == name)
    }

    pub fn required_substrings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for slot in &self.slots {
            if let Slot::Field {
                cond: Some(expr), ..
            } = slot
            {
                expr.required_literals(&mut out);
            }
        }
        out
    }

    /// Finds where each group of fixed slots sits among the fields, reporting each
    /// group's first field through `record`. Middle groups take their leftmost match,
    /// which is always safe: an earlier placement leaves more room for what follows.
    fn place(&self, message: &str, spans: &[Span], mut record: impl FnMut(usize, usize)) -> bool {
        let n = spans.len();
        if self.groups.is_empty() {
            // Only ellipses (any field count), or no slot at all.
            return !self.slots.is_empty() || n == 0;
        }
        let no_ellipsis = !self.slots.iter().any(|s| matches!(s, Slot::Ellipsis));
        if no_ellipsis && n != self.slots.len() {
            return false;
        }
        let last = self.groups.len() - 1;
        let mut pos = 0usize;
        for (g, range) in self.groups.iter().enumerate() {
            let len = range.len();
            let start = if g == 0 && !self.leading_ellipsis {
                (len <= n && self.group_accepts(range, message, spans, 0)).then_some(0)
            } else if g == last && !self.trailing_ellipsis {
                n.checked_sub(len)
                    .filter(|&s| s >= pos && self.group_accepts(range, message, spans, s))
            } else {
                (pos..=n.saturating_sub(len))
                    .filter(|&s| s + len <= n)
                    .find(|&s| self.group_accepts(range, message, spans, s))
            };
            let Some(start) = start else {
                return false;
            };
            if g == last && !self.trailing_ellipsis && start + len != n {
                return false;
            }
            record(g, start);
            pos = start + len;
        }
        true
    }

    fn group_accepts(
        &self,
        range: &Range<usize>,
        message: &str,
        spans: &[Span],
        at: usize,
    ) -> bool {
        range.clone().enumerate().all(|(k, slot)| {
            let Some(&(a, b)) = spans.get(at + k) else {
                return false;
            };
            let field = message.get(a..b).unwrap_or("");
            match self.slots.get(slot) {
                Some(Slot::Field {
                    cond: Some(expr), ..
                }) => expr.accepts(field),
                Some(Slot::Field { cond: None, .. }) => true,
                _ => false,
            }
        })
    }
}

impl FieldExpr {
    fn accepts(&self, field: &str) -> bool {
        match self {
            FieldExpr::Or(terms) => terms.iter().any(|t| t.accepts(field)),
            FieldExpr::And(terms) => terms.iter().all(|t| t.accepts(field)),
            FieldExpr::Cmp(cmp) => cmp.holds(&Subject::Field(field)),
        }
    }

    fn required_literals(&self, out: &mut Vec<String>) {
        match self {
            FieldExpr::Cmp(cmp) => out.extend(cmp.required_literals()),
            FieldExpr::And(terms) => terms.iter().for_each(|t| t.required_literals(out)),
            FieldExpr::Or(_) => {}
        }
    }
}

fn with_spans<R>(message: &str, f: impl FnOnce(&[Span]) -> R) -> R {
    SPANS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut spans) => {
            tokenize(message, &mut spans);
            f(&spans)
        }
        Err(_) => {
            let mut spans = Vec::new();
            tokenize(message, &mut spans);
            f(&spans)
        }
    })
}

/// Splits a message into fields.
pub(crate) fn tokenize(message: &str, out: &mut Vec<Span>) {
    out.clear();
    let b = message.as_bytes();
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let Some(&first) = b.get(i) else {
            break;
        };
        let closer = match first {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = closer
            && let Some(len) = b.get(i + 1..).and_then(|rest| memchr::memchr(close, rest))
        {
            out.push((i + 1, i + 1 + len));
            i += len + 2;
            continue;
        }
        let start = i;
        while b.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
            i += 1;
        }
        out.push((start, i));
    }
}

fn is_after_name(c: Option<u8>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_ascii_whitespace() || matches!(c, b',' | b'=' | b'!' | b'<' | b'>'),
    }
}

fn read_slot(cur: &mut Cursor<'_>, budget: &mut RegexBudget) -> Result<Slot> {
    cur.skip_ws();
    let start = cur.pos();
    if cur.at_end() || cur.peek() == Some(b',') {
        return Ok(Slot::Field {
            name: None,
            cond: None,
        });
    }
    if cur.starts_with("...") {
        cur.bump(3);
        cur.skip_ws();
        if cur.at_end() || cur.peek() == Some(b',') {
            return Ok(Slot::Ellipsis);
        }
        cur.set_pos(start);
    }
    let name = read_name(cur, start)?;
    cur.skip_ws();
    let Some(op) = Op::read(cur) else {
        return Ok(Slot::Field {
            name: Some(name.to_string()),
            cond: None,
        });
    };
    let first = Comparison::read_operand(op, cur, budget)?;
    let cond = read_conditions(cur, budget, name, first)?;
    Ok(Slot::Field {
        name: Some(name.to_string()),
        cond: Some(cond),
    })
}

fn read_name<'a>(cur: &mut Cursor<'a>, start: usize) -> Result<&'a str> {
    let name = cur.take_while(is_term_char);
    if name.is_empty() || !is_after_name(cur.peek()) {
        cur.set_pos(start);
        let token = cur.take_token(|c| c == ',');
        return Err(cur.invalid(token, start));
    }
    Ok(name)
}

/// Reads the `&&`/`||` chain after a slot's first comparison; every condition must name
/// the slot's own field (AWS refuses `status_code = 4* && bytes > 1000` in one slot).
fn read_conditions(
    cur: &mut Cursor<'_>,
    budget: &mut RegexBudget,
    name: &str,
    first: Comparison,
) -> Result<FieldExpr> {
    let mut alternatives: Vec<Vec<Comparison>> = vec![vec![first]];
    loop {
        cur.skip_ws();
        let or = if cur.eat("&&") {
            false
        } else if cur.eat("||") {
            true
        } else {
            break;
        };
        cur.skip_ws();
        let start = cur.pos();
        let other = read_name(cur, start)?;
        if other != name {
            return Err(Error::Syntax {
                message: format!(
                    "a condition in field '{name}' can only test '{name}', not '{other}'"
                ),
                position: char_position(cur.source(), start),
            });
        }
        cur.skip_ws();
        let Some(op) = Op::read(cur) else {
            return Err(cur.syntax(format!("expected an operator after '{other}'")));
        };
        let cmp = Comparison::read_operand(op, cur, budget)?;
        if or {
            alternatives.push(vec![cmp]);
        } else if let Some(last) = alternatives.last_mut() {
            last.push(cmp);
        }
    }
    let ors: Vec<FieldExpr> = alternatives
        .into_iter()
        .map(|ands| {
            collapse(
                ands.into_iter().map(FieldExpr::Cmp).collect(),
                FieldExpr::And,
            )
        })
        .collect();
    Ok(collapse(ors, FieldExpr::Or))
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    fn fields(message: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        tokenize(message, &mut spans);
        spans.iter().map(|&(a, b)| &message[a..b]).collect()
    }

    #[test]
    fn splits_apache_line() {
        assert_eq!(
            fields(
                r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 200 1534"#
            ),
            vec![
                "127.0.0.1",
                "-",
                "frank",
                "10/Oct/2000:13:25:15 -0700",
                "GET /a.gif HTTP/1.0",
                "200",
                "1534"
            ]
        );
        assert_eq!(fields("  a\tb  "), vec!["a", "b"]);
        assert_eq!(
            fields(r#"x "unterminated y"#),
            vec!["x", "\"unterminated", "y"]
        );
        assert_eq!(fields(r#""""#), vec![""]);
    }
}

//! Comparison values shared by JSON and space-delimited patterns: wildcard strings,
//! numbers and regexes on the right of an operator, and the rules for comparing them with
//! what a log event holds.

use std::borrow::Cow;

use crate::Result;
use crate::lexer::{Cursor, disallowed_chars, is_value_char};
use crate::regex::{AwsRegex, RegexBudget};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// Reads an operator at the cursor, if one is there.
    pub fn read(cur: &mut Cursor<'_>) -> Option<Op> {
        for (text, op) in [
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if cur.eat(text) {
                return Some(op);
            }
        }
        None
    }

    fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// A string with `*` wildcards.
///
/// Matching reproduces what CloudWatch Logs does rather than textbook globbing: after the
/// leading literal, each later piece is found at its *first* occurrence and the last one
/// must then end the text. So `1*3` matches `123`, yet `*111.111.111` does not match
/// `111.111.111.111` (its first occurrence is not at the end), as TestMetricFilter shows.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    parts: Vec<String>,
}

impl Glob {
    pub fn new(parts: Vec<String>) -> Glob {
        let parts = if parts.is_empty() {
            vec![String::new()]
        } else {
            parts
        };
        Glob { parts }
    }

    pub fn is_match(&self, text: &str) -> bool {
        let Some((first, rest)) = self.parts.split_first() else {
            return text.is_empty();
        };
        if rest.is_empty() {
            return text == first;
        }
        let Some(mut tail) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for part in rest {
            if part.is_empty() {
                continue;
            }
            match memchr::memmem::find(tail.as_bytes(), part.as_bytes()) {
                Some(at) => match tail.get(at + part.len()..) {
                    Some(rest) => tail = rest,
                    None => return false,
                },
                None => return false,
            }
        }
        tail.is_empty() || self.parts.last().is_some_and(String::is_empty)
    }

    /// Literal pieces every matching text contains.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .map(String::as_str)
            .filter(|p| !p.is_empty())
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// An unquoted number without wildcards: compared numerically with numbers.
    Number {
        value: f64,
        text: String,
    },
    /// Quoted text, or unquoted text that is not a plain number.
    Glob(Glob),
    Regex(AwsRegex),
}

/// What a log event holds at a selector or field position.
pub(crate) enum Subject<'a> {
    /// A space-delimited field: text that counts as a number when it reads as one.
    Field(&'a str),
    JsonString(Cow<'a, str>),
    /// A JSON number, as written in the event.
    JsonNumber(&'a str),
    JsonBool(bool),
    JsonNull,
}

impl Subject<'_> {
    /// The text that string comparisons see: JSON numbers compare as written (`"123"`
    /// matches `123` but `"123.0"` does not), booleans and null as their keywords.
    fn text(&self) -> &str {
        match self {
            Subject::Field(t) | Subject::JsonNumber(t) => t,
            Subject::JsonString(s) => s,
            Subject::JsonBool(true) => "true",
            Subject::JsonBool(false) => "false",
            Subject::JsonNull => "null",
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Subject::Field(t) | Subject::JsonNumber(t) => parse_number(t),
            _ => None,
        }
    }
}

/// A complete comparison: operator and operand.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    pub op: Op,
    pub operand: Operand,
}

impl Comparison {
    /// Reads the operand after `op`, refusing what AWS refuses: ordering operators take
    /// only numbers, and unquoted text only letters, digits and `_ . * + -`.
    pub fn read_operand(op: Op, cur: &mut Cursor<'_>, budget: &mut RegexBudget) -> Result<Self> {
        cur.skip_ws();
        let start = cur.pos();
        let operand = match cur.peek() {
            Some(b'"') => {
                let quoted = cur.quoted()?;
                if op.is_ordering() {
                    return Err(cur.invalid(quoted.raw, quoted.start));
                }
                Operand::Glob(Glob::new(quoted.segments))
            }
            Some(b'%') => {
                if op.is_ordering() {
                    let token = cur.take_token(|_| false);
                    return Err(cur.invalid(token, start));
                }
                Operand::Regex(budget.read(cur)?)
            }
            _ => {
                let token = cur.take_token(|c| matches!(c, ',' | ')' | '}' | ']' | '&' | '|'));
                if token.is_empty() {
                    return Err(cur.syntax("expected a value after the operator"));
                }
                let bad = disallowed_chars(token, is_value_char);
                if !bad.is_empty() {
                    return Err(cur.invalid(bad, start));
                }
                match parse_number(token) {
                    Some(value) => Operand::Number {
                        value,
                        text: token.to_string(),
                    },
                    None if op.is_ordering() => return Err(cur.invalid(token, start)),
                    None => {
                        Operand::Glob(Glob::new(token.split('*').map(str::to_string).collect()))
                    }
                }
            }
        };
        Ok(Comparison { op, operand })
    }

    pub fn holds(&self, subject: &Subject<'_>) -> bool {
        match self.op {
            Op::Eq => self.equals(subject),
            Op::Ne => !self.equals(subject),
            ordering => {
                let (Operand::Number { value, .. }, Some(n)) = (&self.operand, subject.number())
                else {
                    return false;
                };
                match ordering {
                    Op::Lt => n < *value,
                    Op::Le => n <= *value,
                    Op::Gt => n > *value,
                    _ => n >= *value,
                }
            }
        }
    }

    fn equals(&self, subject: &Subject<'_>) -> bool {
        match &self.operand {
            Operand::Number { value, text } => match subject.number() {
                Some(n) => n == *value,
                None => subject.text() == text,
            },
            Operand::Glob(glob) => glob.is_match(subject.text()),
            Operand::Regex(re) => re.is_match(subject.text()),
        }
    }

    /// Substrings any text satisfying this comparison contains.
    pub fn required_literals(&self) -> Vec<String> {
        match (&self.op, &self.operand) {
            (Op::Eq, Operand::Glob(glob)) => glob.literals().map(str::to_string).collect(),
            _ => Vec::new(),
        }
    }
}

/// Parses the numbers AWS accepts: an optional sign, digits with an optional fraction
/// (or a bare fraction), and an optional exponent. Stricter than `f64::from_str`, which
/// would also take `inf` and `NaN`.
pub fn parse_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::{Glob, parse_number};

    fn glob(p: &str) -> Glob {
        Glob::new(p.split('*').map(str::to_string).collect())
    }

    #[test]
    fn glob_follows_first_occurrence_rule() {
        assert!(glob("1*3").is_match("123"));
        assert!(glob("*").is_match(""));
        assert!(glob("*.111.111.111").is_match("111.111.111.111"));
        assert!(!glob("*111.111.111").is_match("111.111.111.111"));
        assert!(!glob("111*111").is_match("111.111.111.111"));
        assert!(glob("abc").is_match("abc"));
        assert!(!glob("abc").is_match("abcd"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("+1000"), Some(1000.0));
        assert_eq!(parse_number("10e-3"), Some(0.01));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("5."), Some(5.0));
        assert_eq!(parse_number("1e"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("-"), None);
        assert_eq!(parse_number("1.2.3"), None);
    }
}

//! Tokens of metric math: numbers, quoted literals (kept raw, backslashes included),
//! words and operators, each with the character position errors point at.

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Number(f64),
    Str(String),
    /// A word; `call` when a `(` follows it.
    Word {
        text: String,
        call: bool,
    },
    Punct(&'static str),
}

impl Kind {
    pub(crate) fn describe(&self) -> String {
        match self {
            Kind::Number(n) => format!("number {n}"),
            Kind::Str(_) => "string".to_string(),
            Kind::Word { text, .. } => format!("'{text}'"),
            Kind::Punct(p) => format!("'{p}'"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) position: usize,
}

const PUNCTS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", "+", "-", "*", "/", "^", "<", ">",
];

pub(crate) fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (value, next) = lex_number(&chars, i)?;
            tokens.push(Token {
                kind: Kind::Number(value),
                position: start,
            });
            i = next;
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            // The logical operators are never calls, even right before a parenthesis.
            let call = chars.get(j) == Some(&'(') && !matches!(text.as_str(), "AND" | "OR" | "NOT");
            if !call && text.starts_with('_') {
                return Err(Error::syntax(
                    format!("'{text}' is not a valid id: ids start with a lowercase letter"),
                    start,
                ));
            }
            tokens.push(Token {
                kind: Kind::Word { text, call },
                position: start,
            });
        } else if c == '\'' || c == '"' {
            i += 1;
            let mut value = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(Error::syntax("unterminated string", start)),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        value.push('\\');
                        if let Some(&next) = chars.get(i + 1) {
                            value.push(next);
                        }
                        i += 2;
                    }
                    Some(&other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            i += 1;
            tokens.push(Token {
                kind: Kind::Str(value),
                position: start,
            });
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) else {
                return Err(Error::syntax(format!("unexpected character '{c}'"), start));
            };
            i += p.len();
            tokens.push(Token {
                kind: Kind::Punct(p),
                position: start,
            });
        }
    }
    Ok(tokens)
}

fn lex_number(chars: &[char], start: usize) -> Result<(f64, usize)> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
    };
    digits(&mut i);
    if chars.get(i) == Some(&'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            i = j;
            digits(&mut i);
        }
    }
    if chars
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
    {
        return Err(Error::syntax("malformed number", start));
    }
    let text: String = chars[start..i].iter().collect();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((v, i)),
        _ => Err(Error::syntax(
            format!("number {text} is out of range"),
            start,
        )),
    }
}

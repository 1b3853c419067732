//! Unstructured (term) patterns: `ERROR`, `ERROR -ARGUMENTS`, `?ERROR ?WARN`,
//! `"exact phrase"` and `%regex%`, matched as case-sensitive substrings of the message.
//!
//! As AWS documents, all plain terms must appear and no `-` term may; `?` terms are
//! alternatives, and they are ignored altogether once the pattern has any plain or `-`
//! term. Unquoted terms may hold only ASCII letters, digits and `_`.

use memchr::memmem::Finder;

use crate::Result;
use crate::lexer::{Cursor, disallowed_chars, is_term_char};
use crate::regex::{AwsRegex, RegexBudget};

#[derive(Debug, Clone)]
enum Matcher {
    /// Boxed: a finder is large and patterns hold few of them.
    Literal(Box<Finder<'static>>),
    Regex(AwsRegex),
    /// A quoted phrase of only whitespace, which AWS documents as matching everything.
    Everything,
}

impl Matcher {
    fn is_match(&self, message: &str) -> bool {
        match self {
            Matcher::Literal(f) => f.find(message.as_bytes()).is_some(),
            Matcher::Regex(re) => re.is_match(message),
            Matcher::Everything => true,
        }
    }

    fn literal(&self) -> Option<String> {
        match self {
            Matcher::Literal(f) => Some(String::from_utf8_lossy(f.needle()).into_owned()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TermPattern {
    required: Vec<Matcher>,
    excluded: Vec<Matcher>,
    optional: Vec<Matcher>,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Required,
    Excluded,
    Optional,
}

impl TermPattern {
    pub fn parse(text: &str) -> Result<TermPattern> {
        let mut cur = Cursor::new(text, 0, text.len());
        let mut budget = RegexBudget::default();
        let mut pattern = TermPattern::default();
        loop {
            cur.skip_ws();
            if cur.at_end() {
                break;
            }
            let role = match cur.peek() {
                Some(b'-') => Role::Excluded,
                Some(b'?') => Role::Optional,
                _ => Role::Required,
            };
            if role != Role::Required {
                let prefix = cur.pos();
                cur.bump(1);
                // The guide's `"ERROR" - "Exiting"` puts a space after the minus.
                cur.skip_ws();
                if cur.at_end() {
                    return Err(
                        cur.syntax_at(prefix, "a '-' or '?' prefix must be followed by a term")
                    );
                }
            }
            let matcher = read_term(&mut cur, &mut budget)?;
            match role {
                Role::Required => pattern.required.push(matcher),
                Role::Excluded => pattern.excluded.push(matcher),
                Role::Optional => pattern.optional.push(matcher),
            }
        }
        if !pattern.required.is_empty() || !pattern.excluded.is_empty() {
            pattern.optional.clear();
        }
        pattern
            .required
            .retain(|m| !matches!(m, Matcher::Everything));
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        if !self.optional.is_empty() {
            return self.optional.iter().any(|m| m.is_match(message));
        }
        self.required.iter().all(|m| m.is_match(message))
            && !self.excluded.iter().any(|m| m.is_match(message))
    }

    pub fn matches_everything(&self) -> bool {
        self.required.is_empty()
            && self.excluded.is_empty()
            && (self.optional.is_empty()
                || self
                    .optional
                    .iter()
                    .any(|m| matches!(m, Matcher::Everything)))
    }

    pub fn required_substrings(&self) -> Vec<String> {
        if self.optional.len() == 1 {
            return self.optional.iter().filter_map(Matcher::literal).collect();
        }
        self.required.iter().filter_map(Matcher::literal).collect()
    }
}

fn read_term(cur: &mut Cursor<'_>, budget: &mut RegexBudget) -> Result<Matcher> {
    let start = cur.pos();
    match cur.peek() {
        Some(b'"') => {
            let phrase = cur.quoted()?.text();
            if phrase.trim().is_empty() {
                Ok(Matcher::Everything)
            } else {
                Ok(literal(&phrase))
            }
        }
        Some(b'%') => Ok(Matcher::Regex(budget.read(cur)?)),
        _ => {
            let word = cur.take_token(|_| false);
            let bad = disallowed_chars(word, is_term_char);
            if !bad.is_empty() {
                return Err(cur.invalid(bad, start));
            }
            Ok(literal(word))
        }
    }
}

fn literal(text: &str) -> Matcher {
    Matcher::Literal(Box::new(Finder::new(text.as_bytes()).into_owned()))
}

//! Policy variables (`${aws:username}`, `${key, 'default'}`) and the `${*}`, `${?}`, `${$}` escapes.
//!
//! Strings that may hold variables are parsed once into a [`Template`] and resolved against the
//! request context at evaluation time. Version `2008-10-17` predates variables, so its strings
//! are taken literally, as AWS does.

use crate::matching::{Token, wildcard_token};
use crate::request::Context;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text written in the policy; `*` and `?` in it are wildcards where the operator has them.
    Text(String),
    /// A character produced by an escape; never a wildcard.
    Escaped(char),
    /// A variable, with its key folded to lower case because key names are case-insensitive.
    Variable {
        key: String,
        default: Option<String>,
    },
}

/// A policy string that may contain variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// A template after substitution: each character tagged with whether it may act as a wildcard.
type Resolved = Vec<(char, bool)>;

impl Template {
    pub(crate) fn literal(text: &str) -> Self {
        Template {
            parts: vec![Part::Text(text.to_string())],
        }
    }

    /// Parses `text`, recognising variables only when `variables` is set (version 2012-10-17).
    pub(crate) fn parse(text: &str, variables: bool) -> Self {
        if !variables {
            return Self::literal(text);
        }
        let mut parts = Vec::new();
        let mut plain = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                break;
            };
            plain.push_str(&rest[..start]);
            if !plain.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut plain)));
            }
            parts.push(parse_placeholder(&after[..end]));
            rest = &after[end + 1..];
        }
        plain.push_str(rest);
        if !plain.is_empty() {
            parts.push(Part::Text(plain));
        }
        Template { parts }
    }

    /// Substitutes variables from the context. `None` means a variable had no single value and
    /// no default, which AWS treats as "this value cannot match".
    fn resolve(&self, context: &Context) -> Option<Resolved> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.extend(text.chars().map(|c| (c, true))),
                Part::Escaped(c) => out.push((*c, false)),
                Part::Variable { key, default } => {
                    let value = match context.get(key) {
                        Some([single]) => single.as_str(),
                        _ => default.as_deref()?,
                    };
                    out.extend(value.chars().map(|c| (c, false)));
                }
            }
        }
        Some(out)
    }

    /// The resolved value as plain text, for operators without wildcards.
    pub(crate) fn text(&self, context: &Context) -> Option<String> {
        self.resolve(context)
            .map(|chars| chars.into_iter().map(|(c, _)| c).collect())
    }

    /// The resolved value as a wildcard pattern; `fold_case` lowers it for case-insensitive use.
    pub(crate) fn pattern(&self, context: &Context, fold_case: bool) -> Option<Vec<Token>> {
        let resolved = self.resolve(context)?;
        let mut tokens = Vec::with_capacity(resolved.len());
        for (c, wild) in resolved {
            if fold_case {
                for lower in c.to_lowercase() {
                    tokens.push(if wild {
                        wildcard_token(lower)
                    } else {
                        Token::Char(lower)
                    });
                }
            } else {
                tokens.push(if wild {
                    wildcard_token(c)
                } else {
                    Token::Char(c)
                });
            }
        }
        Some(tokens)
    }
}

fn parse_placeholder(inner: &str) -> Part {
    match inner {
        "*" => return Part::Escaped('*'),
        "?" => return Part::Escaped('?'),
        "$" => return Part::Escaped('$'),
        _ => {}
    }
    let Some((key, default)) = inner.split_once(',') else {
        return Part::Variable {
            key: inner.trim().to_ascii_lowercase(),
            default: None,
        };
    };
    let key = key.trim().to_ascii_lowercase();
    let quoted = default.trim();
    let default = quoted
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .filter(|_| quoted.len() >= 2)
        .and_then(unquote);
    match default {
        Some(default) => Part::Variable {
            key,
            default: Some(default),
        },
        // A malformed default can never be substituted; an empty key never resolves.
        None => Part::Variable {
            key: String::new(),
            default: None,
        },
    }
}

/// Inside a default value a single quote is written twice; a lone one is malformed.
fn unquote(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_escapes() {
        let mut context = Context::new();
        context.set("aws:username", "alice");
        let template = Template::parse("home/${aws:UserName}/${*}", true);
        assert_eq!(template.text(&context).as_deref(), Some("home/alice/*"));
        let pattern = template.pattern(&context, false).unwrap_or_default();
        assert_eq!(pattern.last(), Some(&Token::Char('*')));
    }

    #[test]
    fn default_values() {
        let context = Context::new();
        let template = Template::parse("${aws:username, 'it''s'}", true);
        assert_eq!(template.text(&context).as_deref(), Some("it's"));
        let missing = Template::parse("${aws:username}", true);
        assert_eq!(missing.text(&context), None);
    }

    #[test]
    fn old_version_is_literal() {
        let context = Context::new();
        let template = Template::parse("${aws:username}", false);
        assert_eq!(template.text(&context).as_deref(), Some("${aws:username}"));
    }
}

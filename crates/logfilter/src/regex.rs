//! `%regex%` terms: CloudWatch Logs accepts only a documented subset of regular-expression
//! syntax, so bodies are checked against that subset first (refusing what AWS refuses)
//! and then translated into the `regex` crate's dialect with AWS's ASCII meanings of
//! `\d`, `\w` and `\s`.

use crate::lexer::Cursor;
use crate::{Error, Result};

/// The documented quota: "a limit of 2 regex for each filter pattern".
pub(crate) const MAX_REGEX_PER_PATTERN: usize = 2;

/// A compiled `%regex%`; `source` keeps the body as written, for `Debug`.
#[derive(Clone)]
pub(crate) struct AwsRegex {
    source: String,
    compiled: ::regex::Regex,
}

impl std::fmt::Debug for AwsRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}%", self.source)
    }
}

impl AwsRegex {
    /// Searches anywhere in `text`; AWS regexes are unanchored unless they use `^`/`$`.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }
}

/// Counts regexes across one pattern so the quota can be enforced wherever they appear.
#[derive(Default)]
pub(crate) struct RegexBudget {
    used: usize,
}

impl RegexBudget {
    /// Reads `%body%` at the cursor, validates and compiles it, and charges the quota.
    pub fn read(&mut self, cur: &mut Cursor<'_>) -> Result<AwsRegex> {
        let (body, start) = cur.regex_body()?;
        self.used += 1;
        if self.used > MAX_REGEX_PER_PATTERN {
            return Err(Error::Limit(format!(
                "a filter pattern can contain at most {MAX_REGEX_PER_PATTERN} regular expressions"
            )));
        }
        compile(body, start, cur)
    }
}

fn is_symbol(c: char) -> bool {
    matches!(c, ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-')
}

fn is_operator(c: char) -> bool {
    matches!(
        c,
        '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.'
    )
}

/// The documented character list omits the space, but the guide's own example
/// `%^starting|^initializing|^shutting down%` uses one, so it is accepted.
fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || is_symbol(c) || is_operator(c)
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0B\\x0C\\r ";

/// Validates `body` (whose opening `%` is at byte `start`) and compiles it.
fn compile(body: &str, start: usize, cur: &Cursor<'_>) -> Result<AwsRegex> {
    if body.is_empty() {
        return Err(cur.syntax_at(start, "empty regular expression"));
    }
    let invalid = crate::lexer::disallowed_chars(body, is_allowed);
    if !invalid.is_empty() {
        return Err(cur.invalid(invalid, start));
    }
    let translated = translate(body).map_err(|msg| cur.syntax_at(start, msg))?;
    let compiled = ::regex::RegexBuilder::new(&translated)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            cur.syntax_at(
                start,
                format!("invalid regular expression %{body}% ({last})"),
            )
        })?;
    Ok(AwsRegex {
        source: body.to_string(),
        compiled,
    })
}

/// Rewrites an AWS regex into the `regex` crate's syntax. Returns a message for escapes
/// AWS does not document, which it refuses too.
fn translate(body: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len() + 8);
    let mut in_class = false;
    let mut class_start = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err("regular expression ends with '\\'".to_string());
                };
                i += 1;
                match e {
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                        let set = match e.to_ascii_lowercase() {
                            'd' => DIGIT,
                            'w' => WORD,
                            _ => SPACE,
                        };
                        let negated = e.is_ascii_uppercase();
                        match (in_class, negated) {
                            (true, false) => out.push_str(set),
                            (_, true) => {
                                out.push_str("[^");
                                out.push_str(set);
                                out.push(']');
                            }
                            (false, false) => {
                                out.push('[');
                                out.push_str(set);
                                out.push(']');
                            }
                        }
                    }
                    'x' => {
                        let hex: String = chars.iter().skip(i).take(2).collect();
                        if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            return Err("'\\x' must be followed by two hexadecimal digits".into());
                        }
                        i += 2;
                        out.push_str("\\x");
                        out.push_str(&hex);
                    }
                    other if !other.is_ascii_alphanumeric() => {
                        out.push_str(&::regex::escape(&other.to_string()));
                    }
                    other => {
                        return Err(format!(
                            "unsupported escape sequence '\\{other}' in regular expression"
                        ));
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = i;
            }
            ']' if in_class && i - 1 == class_start => out.push_str("\\]"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' => out.push_str("\\["),
            '-' if in_class && chars.get(i) == Some(&'-') => out.push_str("\\-"),
            '{' if !in_class && chars.get(i) == Some(&',') => out.push_str("{0"),
            '{' | '}' | '^' | '$' | '?' | '|' | '*' | '+' | '.' if in_class => {
                out.push_str(&::regex::escape(&c.to_string()));
            }
            '#' | '&' | '~' => out.push_str(&::regex::escape(&c.to_string())),
            other => out.push(other),
        }
    }
    if in_class {
        return Err("unterminated character class in regular expression".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn translates_shorthand_classes_to_ascii() {
        assert_eq!(translate(r"\d+").unwrap(), "[0-9]+");
        assert_eq!(translate(r"[\d.]").unwrap(), "[0-9\\.]");
        assert_eq!(translate(r"[^\W]").unwrap(), "[^[^0-9A-Za-z_]]");
        assert_eq!(translate("a{,3}").unwrap(), "a{0,3}");
        assert!(translate(r"\b").is_err());
    }
}

//! Wildcard matching shared by actions, resources, `StringLike` and the ARN operators.
//!
//! Patterns are kept as tokens rather than strings because policy variables can produce a
//! literal `*` or `?` (`${*}`, `${?}`) that must not act as a wildcard.

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Char(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, including none.
    Many,
}

/// Compiles a pattern in which every `*` and `?` is a wildcard.
pub(crate) fn compile(pattern: &str) -> Vec<Token> {
    pattern.chars().map(wildcard_token).collect()
}

pub(crate) fn wildcard_token(c: char) -> Token {
    match c {
        '*' => Token::Many,
        '?' => Token::One,
        other => Token::Char(other),
    }
}

/// Matches with backtracking to the most recent `*` only, which is enough for `*`/`?` globs and
/// keeps the worst case at O(pattern × text) instead of exponential.
pub(crate) fn tokens_match(pattern: &[Token], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        if let Some(token) = pattern.get(p) {
            match *token {
                Token::Many => {
                    resume = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Token::One => {
                    p += 1;
                    t += 1;
                    continue;
                }
                Token::Char(c) if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                Token::Char(_) => {}
            }
        }
        match resume {
            Some((after_star, from)) => {
                p = after_star;
                t = from + 1;
                resume = Some((after_star, from + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|token| *token == Token::Many)
}

/// Case-sensitive glob match where `*` matches any run of characters and `?` exactly one.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let text: Vec<char> = value.chars().collect();
    tokens_match(&compile(pattern), &text)
}

/// Glob match ignoring case, as AWS does for action names.
pub fn wildcard_match_ignore_case(pattern: &str, value: &str) -> bool {
    wildcard_match(&pattern.to_lowercase(), &value.to_lowercase())
}

/// ARN matching as `ArnLike`/`ArnEquals` define it: the six colon-separated parts are compared
/// one by one, so a wildcard in one part cannot swallow the next (the last part, the resource,
/// keeps its own colons).
pub(crate) fn arn_tokens_match(pattern: &[Token], value: &str) -> bool {
    let pattern_parts = split_tokens(pattern);
    let value_parts: Vec<&str> = value.splitn(6, ':').collect();
    if pattern_parts.len() != 6 || value_parts.len() != 6 {
        let text: Vec<char> = value.chars().collect();
        // A pattern without any colon (typically `*`) is a plain glob over the whole value.
        return pattern_parts.len() == 1 && tokens_match(pattern, &text);
    }
    pattern_parts
        .iter()
        .zip(value_parts)
        .all(|(part, value_part)| {
            let text: Vec<char> = value_part.chars().collect();
            tokens_match(part, &text)
        })
}

/// Splits a token pattern at its first five `:` characters.
fn split_tokens(pattern: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (index, token) in pattern.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *token == Token::Char(':') {
            parts.push(&pattern[start..index]);
            start = index + 1;
        }
    }
    parts.push(&pattern[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question() {
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("*a*b", "xxaxxb"));
        assert!(!wildcard_match("*a*b", "xxaxxbc"));
    }

    #[test]
    fn arn_parts_are_separate() {
        let pattern = compile("arn:aws:iam::*:role/x");
        assert!(arn_tokens_match(&pattern, "arn:aws:iam::123:role/x"));
        // The `*` stands for one part only, so it cannot cover the empty region part plus more.
        let pattern = compile("arn:aws:*:role/x");
        assert!(!arn_tokens_match(&pattern, "arn:aws:iam::123:role/x"));
        let pattern = compile("arn:aws:s3:::bucket/*");
        assert!(arn_tokens_match(&pattern, "arn:aws:s3:::bucket/a:b:c"));
    }
}

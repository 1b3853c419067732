//! Regular expressions as Logs Insights writes them, compiled for the `regex` crate.
//!
//! Insights accepts Java-style named groups `(?<name>...)` whose names may contain
//! characters the `regex` crate refuses (`(?<@logLevel>\w+)` is common), so every named
//! group is renamed to a synthetic name and the original names are kept by group index.

use regex::Regex;

#[derive(Debug, Clone)]
pub(crate) struct CompiledRegex {
    pub regex: Regex,
    /// One entry per capturing group in order (group 1 first): its Insights name, if
    /// it has one.
    pub names: Vec<Option<String>>,
}

/// Compiles `pattern`, or explains why it is not a valid regular expression.
pub(crate) fn compile(pattern: &str) -> Result<CompiledRegex, String> {
    let (translated, names) = translate(pattern);
    let regex = regex::RegexBuilder::new(&translated)
        .size_limit(16 << 20)
        .build()
        .map_err(|err| {
            let detail = err.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!(
                "Invalid regular expression: {}",
                last.trim_start_matches("error: ")
            )
        })?;
    Ok(CompiledRegex { regex, names })
}

fn translate(pattern: &str) -> (String, Vec<Option<String>>) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut names = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal member of the class.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '(' if !in_class => {
                let rest: String = chars[i + 1..chars.len().min(i + 4)].iter().collect();
                let named_prefix = if rest.starts_with("?P<") {
                    Some(3)
                } else if rest.starts_with("?<")
                    && !matches!(chars.get(i + 3), Some('=') | Some('!'))
                {
                    Some(2)
                } else {
                    None
                };
                if let Some(skip) = named_prefix {
                    let start = i + 1 + skip;
                    if let Some(len) = chars[start..].iter().position(|&c| c == '>') {
                        let name: String = chars[start..start + len].iter().collect();
                        names.push(Some(name));
                        out.push_str(&format!("(?P<g{}>", names.len()));
                        i = start + len + 1;
                        continue;
                    }
                } else if chars.get(i + 1) != Some(&'?') {
                    names.push(None);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    (out, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_groups_and_keeps_their_names() {
        let (re, names) = translate(r"(?<@level>\w+) (x)(?:y)(?P<b.c>[(>]+)");
        assert_eq!(re, r"(?P<g1>\w+) (x)(?:y)(?P<g3>[(>]+)");
        assert_eq!(
            names,
            vec![Some("@level".to_string()), None, Some("b.c".to_string())]
        );
    }

    #[test]
    fn lookbehind_is_refused_with_a_message() {
        assert!(compile("(?<=a)b").is_err());
    }
}

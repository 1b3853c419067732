//! The tokens CloudWatch search derives from names, and the partial-match rule built on
//! them (the "Tokenization" and "Partial matches" sections of the search expression
//! syntax guide).
//!
//! A name splits into words at every non-alphanumeric character, at a lower-to-upper
//! case change (`CustomCount`), before the last capital of a capital run followed by a
//! lower-case letter (`SDB|Failure`) and where digits start or stop (`Project|2`). The
//! whole name with its delimiters removed, lower-cased, is one more token
//! (`project2trial333`).
//!
//! A search word matches a name word regardless of case (`count`, `COUNT`). A search
//! term that splits into several words by case or digits is a composite token and must
//! appear consecutively with the same case (`CustomCount`, `Count1`, but not `count1`);
//! words separated by punctuation in the term are matched one by one, so
//! `network/errors` finds `Network-Errors-2` as well as `NetworkErrors2`.

/// The words of `s`, in order, with their original case.
pub(crate) fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for run in s.split(|c: char| !c.is_alphanumeric()) {
        split_run(run, &mut out);
    }
    out
}

/// Splits one alphanumeric run at case and digit boundaries.
fn split_run<'a>(run: &'a str, out: &mut Vec<&'a str>) {
    let chars: Vec<(usize, char)> = run.char_indices().collect();
    let mut start = 0;
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next = chars.get(i + 1).map(|p| p.1);
        let boundary = prev.is_numeric() != c.is_numeric()
            || (prev.is_lowercase() && c.is_uppercase())
            || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase));
        if boundary {
            if let Some(word) = run.get(start..at) {
                out.push(word);
            }
            start = at;
        }
    }
    if let Some(word) = run.get(start..)
        && !word.is_empty()
    {
        out.push(word);
    }
}

/// The whole-name token: every alphanumeric character, lower-cased.
fn full_token(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the unquoted search term `term` partially matches the name `name`.
pub(crate) fn partial_match(term: &str, name: &str) -> bool {
    let pieces: Vec<Vec<&str>> = term
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(words)
        .collect();
    if pieces.is_empty() {
        return false;
    }
    let joined = full_token(term);
    if joined == full_token(name) {
        return true;
    }
    let name_words = words(name);
    (0..name_words.len()).any(|start| matches_at(&pieces, &name_words[start..]))
}

/// Whether the pieces match consecutive name words starting at the first of `rest`.
fn matches_at(pieces: &[Vec<&str>], rest: &[&str]) -> bool {
    let mut at = 0;
    for piece in pieces {
        let Some(window) = rest.get(at..at + piece.len()) else {
            return false;
        };
        let ok = match piece.as_slice() {
            [single] => window.first().is_some_and(|w| eq_ignore_case(w, single)),
            composite => window == composite,
        };
        if !ok {
            return false;
        }
        at += piece.len();
    }
    true
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_tokens() {
        assert_eq!(words("CustomCount1"), vec!["Custom", "Count", "1"]);
        assert_eq!(words("SDBFailure"), vec!["SDB", "Failure"]);
        assert_eq!(
            words("Project2-trial333"),
            vec!["Project", "2", "trial", "333"]
        );
        assert_eq!(words("Network-Errors_2"), vec!["Network", "Errors", "2"]);
        assert_eq!(
            words("HTTPCode_Target_5XX_Count"),
            vec!["HTTP", "Code", "Target", "5", "XX", "Count"]
        );
        assert_eq!(words("AWS/EC2"), vec!["AWS", "EC", "2"]);
        assert_eq!(words("--"), Vec::<&str>::new());
        assert_eq!(full_token("Project2-trial333"), "project2trial333");
    }

    #[test]
    fn documented_partial_matches() {
        for term in [
            "count",
            "Count",
            "COUNT",
            "CustomCount",
            "Count1",
            "custom",
            "1",
            "customcount1",
        ] {
            assert!(partial_match(term, "CustomCount1"), "{term}");
        }
        for term in ["couNT", "customcount", "ustom", "Cust", "xyz", "-"] {
            assert!(!partial_match(term, "CustomCount1"), "{term}");
        }
        assert!(!partial_match("count1", "CustomCount1"));
        for term in [
            "network/errors",
            "network+errors",
            "network-errors",
            "Network_Errors",
        ] {
            assert!(partial_match(term, "Network-Errors-2"), "{term}");
            assert!(partial_match(term, "NetworkErrors2"), "{term}");
        }
        assert!(partial_match("sdbfailure", "SDBFailure"));
        assert!(partial_match("sdb", "SDBFailure"));
        assert!(partial_match("micro", "t2.micro"));
        assert!(partial_match("EC2", "AWS/EC2"));
        assert!(!partial_match("EC", "AWS/ECS"));
    }
}

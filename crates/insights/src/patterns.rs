//! Clustering of text values into patterns, for the `pattern` and `diff` commands.
//!
//! AWS does not document its algorithm, only its output: the shared structure of a group
//! of messages with the parts that vary shown as `<Token-N>`. This is a Drain-like
//! clustering chosen to be deterministic and explainable:
//!
//! 1. A value is split into tokens: runs of word characters (letters, digits and
//!    `_ . - : @ + % # $ ~ * \ ^`, so IPs, timestamps, UUIDs and versions stay whole, with
//!    a trailing `.`, `:` or `-` split off), single punctuation characters, and runs of
//!    whitespace. Delimiters are kept so the pattern reads like the messages.
//! 2. Tokens that are obviously variable are dynamic at once: anything containing a
//!    digit (numbers, ids, IPs, timestamps, UUIDs), hex strings of 16 or more characters,
//!    and quoted strings that are the value of `key="..."`.
//! 3. Values with the same token count, the same severity and the same first word (as
//!    Drain's parse tree splits on leading tokens; a value starting with a dynamic token
//!    is filed under it) are merged when their static words agree at more than
//!    [`SIMILARITY`] of the word positions (delimiters must agree exactly); positions
//!    that differ become dynamic. Distinct token sequences are merged most frequent
//!    first, ties by their tokens, so the result does not depend on the order events
//!    arrive in. Values are reduced to counts per distinct token sequence as they are
//!    read, and a bucket compares with at most [`MAX_COMPARED`] clusters, which bounds
//!    the work for high-cardinality text.
//!
//! A value's severity comes from its first level word (`ERROR`/`Error`/`error` →
//! `Error`, `WARN`/`WARNING` → `Warning`, `INFO` → `Info`, `DEBUG` → `Debug`, else
//! `Unknown`); values of different severities never share a pattern.
//!
//! Results: `@ratio` is the pattern's share of the values clustered (events where the
//! expression has no value are left out), rounded to four decimal places; `diff`'s
//! `@changePercentage` is a whole number, 100 for a pattern the previous period lacks.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use crate::Result;
use crate::compile::Kind;
use crate::functions::{DIFF_FIELDS, PATTERN_FIELDS};

/// The share of word positions that must be exceeded for two values to share a pattern.
const SIMILARITY: f64 = 0.5;

/// The most clusters a value is compared with in its bucket; past that, the most
/// frequent ones (formed first) are the candidates.
const MAX_COMPARED: usize = 1_000;

/// Where a value's clusters are looked for: token count, severity and first word.
type Bucket = (usize, &'static str, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Token {
    /// Text that must match exactly: a word.
    Word(String),
    /// Punctuation or whitespace, which must match exactly and does not count towards
    /// similarity.
    Delim(String),
    /// A variable part.
    Dynamic,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(
            c,
            '_' | '.' | '-' | ':' | '@' | '+' | '%' | '#' | '$' | '~' | '*' | '\\' | '^'
        )
        || (!c.is_ascii() && !c.is_whitespace())
}

fn is_dynamic_word(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
        || (word.len() >= 16 && word.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Splits `text` into tokens, classifying the obviously variable ones as dynamic.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let start = i;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token::Delim(chars[start..i].iter().collect()));
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            // `"key":value` keeps its colon apart; so do `word:` and `word.`.
            let mut begin = start;
            while begin < i && chars[begin] == ':' {
                tokens.push(Token::Delim(":".into()));
                begin += 1;
            }
            let mut end = i;
            while end > begin + 1 && matches!(chars[end - 1], '.' | ':' | '-') {
                end -= 1;
            }
            let word: String = chars[begin..end].iter().collect();
            if word.is_empty() {
                continue;
            }
            tokens.push(if !word.chars().any(char::is_alphanumeric) {
                Token::Delim(word)
            } else if is_dynamic_word(&word) {
                Token::Dynamic
            } else {
                Token::Word(word)
            });
            for &trailing in &chars[end..i] {
                tokens.push(Token::Delim(trailing.to_string()));
            }
        } else if matches!(c, '"' | '\'')
            && matches!(tokens.last(), Some(Token::Delim(d)) if d == "=")
            && let Some(close) = chars[i + 1..].iter().position(|&q| q == c)
        {
            // `key="a quoted value"`: the whole value varies.
            tokens.push(Token::Dynamic);
            i += close + 2;
        } else {
            tokens.push(Token::Delim(c.to_string()));
            i += 1;
        }
    }
    tokens
}

/// The severity label of a value, from its first level word.
pub(crate) fn severity(text: &str) -> &'static str {
    for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
        let label = match word {
            "ERROR" | "Error" | "error" => "Error",
            "WARN" | "Warn" | "warn" | "WARNING" | "Warning" | "warning" => "Warning",
            "INFO" | "Info" | "info" => "Info",
            "DEBUG" | "Debug" | "debug" => "Debug",
            _ => continue,
        };
        return label;
    }
    "Unknown"
}

/// One pattern found, with how many values of each input set it covers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    /// The pattern text, dynamic parts shown as `<Token-1>`, `<Token-2>`, ...
    pub text: String,
    pub severity: &'static str,
    /// Values per input set (the current period first, then the previous one for
    /// `diff`), in the order the sets were given.
    pub counts: Vec<u64>,
}

struct Cluster {
    template: Vec<Token>,
    severity: &'static str,
    counts: Vec<u64>,
}

impl Cluster {
    /// The share of word positions where `tokens` agrees with the template, or `None`
    /// when a delimiter differs.
    fn similarity(&self, tokens: &[Token]) -> Option<f64> {
        let mut words = 0usize;
        let mut agree = 0usize;
        for (mine, theirs) in self.template.iter().zip(tokens) {
            match (mine, theirs) {
                (Token::Delim(a), Token::Delim(b)) if a == b => {}
                (Token::Delim(_), _) | (_, Token::Delim(_)) => return None,
                (Token::Dynamic, _) => {
                    words += 1;
                    agree += 1;
                }
                (Token::Word(a), Token::Word(b)) => {
                    words += 1;
                    agree += usize::from(a == b);
                }
                (Token::Word(_), Token::Dynamic) => words += 1,
            }
        }
        Some(if words == 0 {
            1.0
        } else {
            agree as f64 / words as f64
        })
    }

    fn absorb(&mut self, tokens: &[Token]) {
        for (mine, theirs) in self.template.iter_mut().zip(tokens) {
            if mine != theirs {
                *mine = Token::Dynamic;
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let mut n = 0;
        for token in &self.template {
            match token {
                Token::Word(w) | Token::Delim(w) => out.push_str(w),
                Token::Dynamic => {
                    n += 1;
                    out.push_str(&format!("<Token-{n}>"));
                }
            }
        }
        out
    }
}

/// A value's tokens and severity: values with the same shape are counted once.
type Shape = (Vec<Token>, &'static str);

/// The values of one or more input sets (the current period, then the previous one for
/// `diff`), reduced as they arrive to counts per distinct shape, so no value is kept.
pub(crate) struct Shapes {
    distinct: HashMap<Shape, Vec<u64>>,
    totals: Vec<u64>,
}

impl Shapes {
    pub(crate) fn new(sets: usize) -> Shapes {
        Shapes {
            distinct: HashMap::new(),
            totals: vec![0; sets],
        }
    }

    pub(crate) fn add(&mut self, set: usize, value: &str) {
        let Some(total) = self.totals.get_mut(set) else {
            return;
        };
        *total += 1;
        let sets = self.totals.len();
        let counts = self
            .distinct
            .entry((tokenize(value), severity(value)))
            .or_insert_with(|| vec![0; sets]);
        counts[set] += 1;
    }
}

/// Clusters the values of every input set together, so that patterns are comparable
/// across sets, and counts each set's values per pattern. Patterns come most frequent
/// first (by the first set, then all sets together), ties by text.
fn cluster(shapes: Shapes) -> Vec<Pattern> {
    let mut distinct: Vec<_> = shapes.distinct.into_iter().collect();
    let total = |c: &Vec<u64>| c.iter().sum::<u64>();
    distinct.sort_by(|(a, ac), (b, bc)| total(bc).cmp(&total(ac)).then_with(|| a.cmp(b)));
    let mut by_shape: HashMap<Bucket, Vec<Cluster>> = HashMap::new();
    let mut order: Vec<Bucket> = Vec::new();
    for ((tokens, severity), counts) in distinct {
        let first = tokens.iter().find_map(|t| match t {
            Token::Word(w) => Some(Some(w.clone())),
            Token::Dynamic => Some(None),
            Token::Delim(_) => None,
        });
        let shape = (tokens.len(), severity, first.flatten());
        let clusters = by_shape.entry(shape.clone()).or_insert_with(|| {
            order.push(shape);
            Vec::new()
        });
        let best = clusters
            .iter()
            .take(MAX_COMPARED)
            .enumerate()
            .filter_map(|(i, c)| c.similarity(&tokens).map(|s| (i, s)))
            .filter(|(_, s)| *s > SIMILARITY)
            .fold(None::<(usize, f64)>, |best, (i, s)| match best {
                Some((_, bs)) if bs >= s => best,
                _ => Some((i, s)),
            });
        match best.and_then(|(i, _)| clusters.get_mut(i)) {
            Some(cluster) => {
                cluster.absorb(&tokens);
                for (total, n) in cluster.counts.iter_mut().zip(&counts) {
                    *total += n;
                }
            }
            None => clusters.push(Cluster {
                template: tokens,
                severity,
                counts,
            }),
        }
    }
    let mut patterns: Vec<Pattern> = order
        .iter()
        .filter_map(|shape| by_shape.remove(shape))
        .flatten()
        .map(|c| Pattern {
            text: c.text(),
            severity: c.severity,
            counts: c.counts,
        })
        .collect();
    // Two clusters can end up with the same text (one generalised into the other's
    // shape after both were formed); they are one pattern.
    let mut merged: Vec<Pattern> = Vec::with_capacity(patterns.len());
    let mut index: HashMap<(String, &'static str), usize> = HashMap::new();
    for pattern in patterns.drain(..) {
        match index.get(&(pattern.text.clone(), pattern.severity)) {
            Some(&i) => {
                for (total, n) in merged[i].counts.iter_mut().zip(&pattern.counts) {
                    *total += n;
                }
            }
            None => {
                index.insert((pattern.text.clone(), pattern.severity), merged.len());
                merged.push(pattern);
            }
        }
    }
    merged.sort_by(|a, b| {
        let first = |p: &Pattern| p.counts.first().copied().unwrap_or(0);
        let total = |p: &Pattern| p.counts.iter().sum::<u64>();
        first(b)
            .cmp(&first(a))
            .then_with(|| total(b).cmp(&total(a)))
            .then_with(|| a.text.cmp(&b.text))
    });
    merged
}

/// The result table of `pattern` (no `previous`) or `diff` (with the previous period's
/// values): one row per pattern in [`cluster`]'s order, columns named `__pat0`, ... in
/// the order of `names`, and a last column `__rank` with each row's position.
pub(crate) struct PatternTable {
    pub batch: RecordBatch,
    pub names: Vec<(&'static str, Kind)>,
}

/// The share of the events a pattern covers, to four decimal places.
fn ratio(count: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (count as f64 / total as f64 * 10_000.0).round() / 10_000.0
}

/// The change from `previous` to `current` in percent, rounded to a whole number; a
/// pattern absent from the previous period counts as a 100% increase.
fn change_percentage(previous: u64, current: u64) -> f64 {
    if previous == 0 {
        return 100.0;
    }
    ((current as f64 - previous as f64) / previous as f64 * 100.0).round()
}

/// The result table of the values in `shapes`: `diff`'s when it holds two sets.
pub(crate) fn table(shapes: Shapes) -> Result<PatternTable> {
    let total = shapes.totals.first().copied().unwrap_or(0);
    let diff = shapes.totals.len() > 1;
    let patterns = cluster(shapes);
    let count = |p: &Pattern, set: usize| p.counts.get(set).copied().unwrap_or(0);
    let text_column = |values: Vec<&str>| -> ArrayRef { Arc::new(StringViewArray::from(values)) };
    let num_column = |values: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(values)) };
    let texts = text_column(patterns.iter().map(|p| p.text.as_str()).collect());
    let severities = text_column(patterns.iter().map(|p| p.severity).collect());
    let samples = num_column(patterns.iter().map(|p| count(p, 0) as f64).collect());
    let ratios = num_column(patterns.iter().map(|p| ratio(count(p, 0), total)).collect());
    let (names, mut columns): (Vec<(&'static str, Kind)>, Vec<ArrayRef>) = if diff {
        let before = |p: &Pattern| count(p, 1);
        let change = num_column(
            patterns
                .iter()
                .map(|p| count(p, 0) as f64 - before(p) as f64)
                .collect(),
        );
        let percentage = num_column(
            patterns
                .iter()
                .map(|p| change_percentage(before(p), count(p, 0)))
                .collect(),
        );
        let previous = num_column(patterns.iter().map(|p| before(p) as f64).collect());
        let columns = vec![
            texts, previous, samples, change, percentage, severities, ratios,
        ];
        let kinds = [
            Kind::Text,
            Kind::Num,
            Kind::Num,
            Kind::Num,
            Kind::Num,
            Kind::Text,
            Kind::Num,
        ];
        (DIFF_FIELDS.into_iter().zip(kinds).collect(), columns)
    } else {
        let kinds = [Kind::Text, Kind::Num, Kind::Num, Kind::Text];
        (
            PATTERN_FIELDS.into_iter().zip(kinds).collect(),
            vec![texts, ratios, samples, severities],
        )
    };
    let rank: Vec<i64> = (0..patterns.len() as i64).collect();
    columns.push(Arc::new(Int64Array::from(rank)));
    let mut fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("__pat{i}"), c.data_type().clone(), false))
        .collect();
    if let Some(last) = fields.last_mut() {
        *last = Field::new(RANK, DataType::Int64, false);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok(PatternTable { batch, names })
}

/// The column holding each pattern's position in the default order.
pub(crate) const RANK: &str = "__rank";

#[cfg(test)]
mod tests {
    use super::*;

    fn clustered(sets: &[&[&str]]) -> Vec<Pattern> {
        let mut shapes = Shapes::new(sets.len());
        for (set, values) in sets.iter().enumerate() {
            for value in values.iter() {
                shapes.add(set, value);
            }
        }
        cluster(shapes)
    }

    fn texts(values: &[&str]) -> Vec<(String, u64)> {
        clustered(&[values])
            .into_iter()
            .map(|p| (p.text, p.counts[0]))
            .collect()
    }

    #[test]
    fn variable_parts_become_tokens() {
        assert_eq!(
            texts(&[
                "Connected to 10.0.0.1:5432 in 12ms",
                "Connected to 10.0.0.2:5432 in 7ms",
            ]),
            vec![("Connected to <Token-1> in <Token-2>".to_string(), 2)]
        );
    }

    #[test]
    fn differing_words_merge_when_most_agree() {
        assert_eq!(
            texts(&["user alice logged in", "user bob logged in", "disk full"]),
            vec![
                ("user <Token-1> logged in".to_string(), 2),
                ("disk full".to_string(), 1)
            ]
        );
    }

    #[test]
    fn quoted_values_and_punctuation() {
        assert_eq!(
            texts(&["msg=\"hello world\" code=E", "msg=\"bye\" code=E"]),
            vec![("msg=<Token-1> code=E".to_string(), 2)]
        );
        assert_eq!(
            texts(&["Failed: timeout."]),
            vec![("Failed: timeout.".to_string(), 1)]
        );
    }

    #[test]
    fn json_keys_stay_and_values_vary() {
        assert_eq!(
            texts(&[
                r#"{"level":"INFO","status":200,"path":"/a"}"#,
                r#"{"level":"INFO","status":404,"path":"/b"}"#,
            ]),
            vec![(
                r#"{"level":"INFO","status":<Token-1>,"path":"/<Token-2>"}"#.to_string(),
                2
            )]
        );
    }

    #[test]
    fn severities_never_merge() {
        let patterns = clustered(&[&["ERROR x failed", "INFO x failed"]]);
        assert_eq!(patterns.len(), 2);
        assert_eq!(severity("[warn] slow"), "Warning");
        assert_eq!(severity("all good"), "Unknown");
        assert_eq!(severity("Errors here"), "Unknown");
    }

    #[test]
    fn sets_are_counted_separately() {
        let patterns = clustered(&[&["a 1", "a 2"], &["a 3", "b c"]]);
        assert_eq!(patterns[0].text, "a <Token-1>");
        assert_eq!(patterns[0].counts, vec![2, 1]);
        assert_eq!(patterns[1].counts, vec![0, 1]);
    }
}

//! SEARCH expressions: the query string `{Namespace,Dim1,...} terms` parsed into a schema
//! and a boolean tree of terms, and the test of one metric against it, so GetMetricData
//! (and anything listing metrics) can find exactly the metrics CloudWatch would.
//!
//! Terms follow the search expression syntax guide: bare words match partially (see
//! [`crate::words`]), double-quoted phrases match a whole name exactly, `Name=value`
//! restricts a term to the metric name (`MetricName`), the namespace (`Namespace`) or a
//! dimension's value, and `AND`, `OR`, `NOT` (upper-case only) combine terms, with
//! juxtaposition meaning `AND`.

use std::fmt;

use crate::expr::{Expr, quoted};
use crate::words::partial_match;
use crate::{Error, Result};

/// The documented limit on a search query.
pub const MAX_QUERY_LENGTH: usize = 1024;

/// A `SEARCH(query, statistic[, period])` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub query: SearchQuery,
    /// The statistic as written (`Average`, `p99`, ...); the caller validates it with the
    /// rest of its statistics handling.
    pub stat: String,
    /// Seconds; `None` when omitted, in which case the MetricDataQuery's own `Period`
    /// applies.
    pub period: Option<i64>,
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    text: String,
    pub schema: Option<Schema>,
    pub term: Option<Term>,
}

/// `{Namespace, DimensionName, ...}`: the metric must be in that namespace and carry
/// exactly those dimension names, no more and no fewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub namespace: String,
    pub dimensions: Vec<String>,
}

/// How a single term compares with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// An unquoted word: token-wise, see [`crate::words`].
    Partial(String),
    /// A double-quoted phrase: the whole name, case included.
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Matches the namespace, metric name, any dimension name or any dimension value.
    Any(Matcher),
    /// `MetricName=...`, `Namespace=...` or `DimensionName=...`.
    Property {
        name: String,
        matcher: Matcher,
    },
    And(Box<Term>, Box<Term>),
    Or(Box<Term>, Box<Term>),
    Not(Box<Term>),
}

impl Matcher {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Partial(term) => partial_match(term, name),
            Matcher::Exact(phrase) => phrase == name,
        }
    }
}

impl Term {
    pub fn matches(&self, namespace: &str, metric_name: &str, dims: &[(String, String)]) -> bool {
        match self {
            Term::Any(m) => {
                m.matches(namespace)
                    || m.matches(metric_name)
                    || dims.iter().any(|(k, v)| m.matches(k) || m.matches(v))
            }
            Term::Property { name, matcher } => match name.as_str() {
                "MetricName" => matcher.matches(metric_name),
                "Namespace" => matcher.matches(namespace),
                _ => dims.iter().any(|(k, v)| k == name && matcher.matches(v)),
            },
            Term::And(a, b) => {
                a.matches(namespace, metric_name, dims) && b.matches(namespace, metric_name, dims)
            }
            Term::Or(a, b) => {
                a.matches(namespace, metric_name, dims) || b.matches(namespace, metric_name, dims)
            }
            Term::Not(a) => !a.matches(namespace, metric_name, dims),
        }
    }
}

impl SearchQuery {
    /// The query exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a metric belongs to the search's results.
    pub fn matches(&self, namespace: &str, metric_name: &str, dims: &[(String, String)]) -> bool {
        if let Some(schema) = &self.schema {
            if schema.namespace != namespace || schema.dimensions.len() != dims.len() {
                return false;
            }
            let all_named = dims.iter().all(|(k, _)| schema.dimensions.contains(k));
            let all_present = schema
                .dimensions
                .iter()
                .all(|d| dims.iter().any(|(k, _)| k == d));
            if !all_named || !all_present {
                return false;
            }
        }
        self.term
            .as_ref()
            .is_none_or(|t| t.matches(namespace, metric_name, dims))
    }
}

impl Search {
    /// Builds a search from the arguments of a `SEARCH(...)` call, which must be literals.
    pub(crate) fn from_args(args: &[Expr]) -> Result<Search> {
        let Some(Expr::Str(text)) = args.first() else {
            return Err(Error::type_error(
                "SEARCH expects the search expression as a quoted string",
            ));
        };
        let Some(Expr::Str(stat)) = args.get(1) else {
            return Err(Error::type_error(
                "SEARCH expects the statistic as a quoted string",
            ));
        };
        if stat.trim().is_empty() {
            return Err(Error::type_error("SEARCH needs a statistic"));
        }
        let period = match args.get(2) {
            None => None,
            Some(Expr::Number(p)) if *p >= 1.0 && p.fract() == 0.0 && *p <= i64::MAX as f64 => {
                Some(*p as i64)
            }
            Some(_) => {
                return Err(Error::type_error(
                    "SEARCH expects the period as a positive whole number of seconds",
                ));
            }
        };
        Ok(Search {
            query: parse_query(text)?,
            stat: stat.clone(),
            period,
        })
    }
}

impl fmt::Display for Search {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SEARCH({}, {}",
            quoted(&self.query.text),
            quoted(&self.stat)
        )?;
        if let Some(p) = self.period {
            write!(f, ", {p}")?;
        }
        f.write_str(")")
    }
}

/// Parses the first argument of SEARCH (backslash escapes still in place).
pub fn parse_query(text: &str) -> Result<SearchQuery> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > MAX_QUERY_LENGTH {
        return Err(search_error(
            format!("the query is longer than {MAX_QUERY_LENGTH} characters"),
            MAX_QUERY_LENGTH,
        ));
    }
    let mut p = QueryParser { chars, pos: 0 };
    p.skip_ws();
    let schema = if p.peek() == Some('{') {
        let s = p.schema()?;
        p.skip_ws();
        if p.peek() == Some(',') {
            p.pos += 1;
        }
        Some(s)
    } else {
        None
    };
    let tokens = p.tokens()?;
    let mut tp = TermParser {
        tokens,
        pos: 0,
        end: p.chars.len(),
        depth: 0,
    };
    let term = if tp.tokens.is_empty() {
        None
    } else {
        let t = tp.or()?;
        if let Some(tok) = tp.tokens.get(tp.pos) {
            return Err(search_error(
                format!("unexpected {}", tok.kind.describe()),
                tok.position,
            ));
        }
        Some(t)
    };
    if schema.is_none() && term.is_none() {
        return Err(search_error(
            "a search must contain a metric schema, a search term, or both",
            0,
        ));
    }
    Ok(SearchQuery {
        text: text.to_string(),
        schema,
        term,
    })
}

fn search_error(message: impl Into<String>, position: usize) -> Error {
    Error::Search {
        message: message.into(),
        position,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokKind {
    Open,
    Close,
    Equals,
    Word(String),
    Quoted(String),
}

impl TokKind {
    fn describe(&self) -> String {
        match self {
            TokKind::Open => "'('".into(),
            TokKind::Close => "')'".into(),
            TokKind::Equals => "'='".into(),
            TokKind::Word(w) => format!("'{w}'"),
            TokKind::Quoted(q) => format!("\"{q}\""),
        }
    }
}

#[derive(Debug, Clone)]
struct Tok {
    kind: TokKind,
    position: usize,
}

struct QueryParser {
    chars: Vec<char>,
    pos: usize,
}

impl QueryParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A double-quoted string starting at the current `"`, with `\x` read as `x`.
    fn quoted(&mut self) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(search_error("unterminated quoted string", start)),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    if let Some(c) = self.chars.get(self.pos + 1) {
                        out.push(*c);
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn schema(&mut self) -> Result<Schema> {
        let open = self.pos;
        self.pos += 1;
        let mut names = Vec::new();
        loop {
            self.skip_ws();
            let at = self.pos;
            let name = match self.peek() {
                None => return Err(search_error("the metric schema has no closing '}'", open)),
                Some('"') => self.quoted()?,
                Some(_) => {
                    let mut s = String::new();
                    while let Some(c) = self.peek() {
                        if c == ',' || c == '}' || c == '"' || c.is_whitespace() || c == '{' {
                            break;
                        }
                        s.push(c);
                        self.pos += 1;
                    }
                    s
                }
            };
            if name.is_empty() {
                return Err(search_error("the metric schema has an empty name", at));
            }
            names.push(name);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    return Err(search_error(
                        format!("expected ',' or '}}' in the metric schema but found '{c}'"),
                        self.pos,
                    ));
                }
                None => return Err(search_error("the metric schema has no closing '}'", open)),
            }
        }
        let namespace = names.remove(0);
        Ok(Schema {
            namespace,
            dimensions: names,
        })
    }

    fn tokens(&mut self) -> Result<Vec<Tok>> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            let position = self.pos;
            let kind = match self.peek() {
                None => return Ok(out),
                Some('(') => {
                    self.pos += 1;
                    TokKind::Open
                }
                Some(')') => {
                    self.pos += 1;
                    TokKind::Close
                }
                Some('=') => {
                    self.pos += 1;
                    TokKind::Equals
                }
                Some('"') => TokKind::Quoted(self.quoted()?),
                Some('{') => {
                    return Err(search_error(
                        "the metric schema must come first and only once",
                        position,
                    ));
                }
                Some(_) => {
                    let mut w = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_whitespace() || matches!(c, '(' | ')' | '=' | '"') {
                            break;
                        }
                        w.push(c);
                        self.pos += 1;
                    }
                    TokKind::Word(w)
                }
            };
            out.push(Tok { kind, position });
        }
    }
}

/// Deeper nesting than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 64;

struct TermParser {
    tokens: Vec<Tok>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl TermParser {
    fn peek(&self) -> Option<&TokKind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.position)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(TokKind::Word(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Term> {
        let mut left = self.and()?;
        while self.eat_word("OR") {
            let right = self.and()?;
            left = Term::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// Explicit `AND` or plain juxtaposition: both mean AND.
    fn and(&mut self) -> Result<Term> {
        let mut left = self.not()?;
        loop {
            let explicit = self.eat_word("AND");
            let starts_term = match self.peek() {
                Some(TokKind::Word(w)) => w != "OR" && w != "AND",
                Some(TokKind::Quoted(_) | TokKind::Open) => true,
                _ => false,
            };
            if !explicit && !starts_term {
                return Ok(left);
            }
            let right = self.not()?;
            left = Term::And(Box::new(left), Box::new(right));
        }
    }

    fn not(&mut self) -> Result<Term> {
        if self.eat_word("NOT") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(search_error("the search is nested too deeply", self.at()));
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Term::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Term> {
        let position = self.at();
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err(search_error("expected a search term at the end", self.end));
        };
        self.pos += 1;
        match tok.kind {
            TokKind::Open => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(search_error("the search is nested too deeply", position));
                }
                let inner = self.or()?;
                if self.peek() != Some(&TokKind::Close) {
                    return Err(search_error("expected ')'", self.at()));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            TokKind::Word(w) if matches!(w.as_str(), "AND" | "OR") => Err(search_error(
                format!("expected a search term but found '{w}'"),
                position,
            )),
            TokKind::Word(name) | TokKind::Quoted(name)
                if self.peek() == Some(&TokKind::Equals) =>
            {
                self.pos += 1;
                let value_at = self.at();
                let matcher = match self.tokens.get(self.pos).map(|t| t.kind.clone()) {
                    Some(TokKind::Word(v)) => Matcher::Partial(v),
                    Some(TokKind::Quoted(v)) => Matcher::Exact(v),
                    _ => {
                        return Err(search_error(
                            format!("expected a value after '{name}='"),
                            value_at,
                        ));
                    }
                };
                self.pos += 1;
                Ok(Term::Property { name, matcher })
            }
            TokKind::Word(w) => Ok(Term::Any(Matcher::Partial(w))),
            TokKind::Quoted(q) => Ok(Term::Any(Matcher::Exact(q))),
            TokKind::Close | TokKind::Equals => Err(search_error(
                format!("unexpected {}", tok.kind.describe()),
                position,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn schema_and_terms() {
        let q = parse_query(r#"{AWS/EC2,InstanceId} MetricName="CPUUtilization""#).expect("parses");
        let schema = q.schema.as_ref().expect("schema");
        assert_eq!(schema.namespace, "AWS/EC2");
        assert_eq!(schema.dimensions, vec!["InstanceId"]);
        let d = dims(&[("InstanceId", "i-1")]);
        assert!(q.matches("AWS/EC2", "CPUUtilization", &d));
        assert!(!q.matches("AWS/EC2", "CPUUtilization", &[]));
        assert!(!q.matches("AWS/EC2", "NetworkIn", &d));
    }

    #[test]
    fn quoted_schema_names_and_escapes() {
        let q = parse_query(
            r#" {"My Namespace", "Dimension@Name"}, "Europe\\France Traffic\(Network\)" "#,
        )
        .expect("parses");
        let d = dims(&[("Dimension@Name", "x")]);
        assert!(q.matches("My Namespace", r"Europe\France Traffic(Network)", &d));
    }

    #[test]
    fn refusals() {
        assert!(parse_query("").is_err());
        assert!(parse_query("   ").is_err());
        assert!(parse_query("{AWS/EC2").is_err());
        assert!(parse_query("a AND").is_err());
        assert!(parse_query("(a").is_err());
        assert!(parse_query("MetricName=").is_err());
        assert!(parse_query("\"abc").is_err());
        assert!(parse_query(&"x".repeat(1025)).is_err());
        let deep = format!("{}a{}", "(".repeat(400), ")".repeat(400));
        assert!(parse_query(&deep).is_err());
        assert!(parse_query(&format!("{}a", "NOT ".repeat(200))).is_err());
        assert_eq!(parse_query("a ) b").map_err(|e| e.position()), Err(Some(2)));
    }
}

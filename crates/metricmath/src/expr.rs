//! The metric math grammar: tokens, the syntax tree and a precedence-climbing parser, so
//! that PutMetricAlarm can refuse a malformed expression before any data is read and
//! GetMetricData can learn which ids an expression depends on.
//!
//! Precedence, loosest first: `OR`/`||`, `AND`/`&&`, prefix `NOT`, comparisons, `+ -`,
//! `* /`, unary minus, `^` (right-associative). `AND`, `OR` and `NOT` are operators only
//! in upper case; `and` is an id like any other lower-case word.

use std::fmt;

use crate::lexer::{Kind, Token, lex};
use crate::search::Search;
use crate::{Error, Result};

/// Trees deeper than this (operators, calls and arrays nested in one another) are
/// refused: evaluating and printing recurse once per level.
const MAX_DEPTH: usize = 64;
/// Parser recursion (parentheses and right operands) deeper than this is refused. It is
/// twice the tree limit so that any accepted tree's printed form parses back.
const MAX_NESTING: usize = 2 * MAX_DEPTH;

/// A parsed metric math expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    /// A quoted literal, kept raw (backslashes included) so that a SEARCH query reaches
    /// the search parser exactly as written.
    Str(String),
    /// The id of another query of the request (`m1`, `errors`).
    Id(String),
    /// A bare upper-case word used as an argument: `REPEAT`, `LINEAR`, `ASC`, `SUM`, ...
    Keyword(String),
    Array(Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// A function call; `name` is upper-cased so evaluation need not care how it was
    /// spelled.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `SEARCH(...)`, parsed eagerly so a bad query is a parse error, not a late surprise.
    Search(Search),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Le => "<=",
            BinaryOp::Ge => ">=",
            BinaryOp::Lt => "<",
            BinaryOp::Gt => ">",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

/// A function metric math knows, with how many arguments it takes.
struct FunctionSpec {
    name: &'static str,
    min: usize,
    max: usize,
    expected: &'static str,
}

const fn spec(name: &'static str, min: usize, max: usize, expected: &'static str) -> FunctionSpec {
    FunctionSpec {
        name,
        min,
        max,
        expected,
    }
}

const FUNCTIONS: &[FunctionSpec] = &[
    spec("ABS", 1, 1, "1"),
    spec("AVG", 1, 1, "1"),
    spec("CEIL", 1, 1, "1"),
    spec("DATAPOINT_COUNT", 1, 1, "1"),
    spec("DATE", 1, 1, "1"),
    spec("DAY", 1, 1, "1"),
    spec("DIFF", 1, 1, "1"),
    spec("DIFF_TIME", 1, 1, "1"),
    spec("EPOCH", 1, 1, "1"),
    spec("FILL", 2, 2, "2"),
    spec("FIRST", 1, 1, "1"),
    spec("FLOOR", 1, 1, "1"),
    spec("HOUR", 1, 1, "1"),
    spec("IF", 2, 3, "2 or 3"),
    spec("LAST", 1, 1, "1"),
    spec("LOG", 1, 1, "1"),
    spec("LOG10", 1, 1, "1"),
    spec("MAX", 1, 1, "1"),
    spec("METRICS", 0, 1, "0 or 1"),
    spec("METRIC_COUNT", 1, 1, "1"),
    spec("MIN", 1, 1, "1"),
    spec("MINUTE", 1, 1, "1"),
    spec("MONTH", 1, 1, "1"),
    spec("PERIOD", 1, 1, "1"),
    spec("RATE", 1, 1, "1"),
    spec("REMOVE_EMPTY", 1, 1, "1"),
    spec("RUNNING_SUM", 1, 1, "1"),
    spec("SEARCH", 2, 3, "2 or 3"),
    spec("SLICE", 2, 3, "2 or 3"),
    spec("SORT", 3, 4, "3 or 4"),
    spec("SQRT", 1, 1, "1"),
    spec("STDDEV", 1, 1, "1"),
    spec("SUM", 1, 1, "1"),
    spec("TIME_SERIES", 1, 1, "1"),
    spec("YEAR", 1, 1, "1"),
];

/// Documented CloudWatch functions that need services this crate does not model.
const UNSUPPORTED: &[&str] = &[
    "ANOMALY_DETECTION_BAND",
    "DB_PERF_INSIGHTS",
    "INSIGHT_RULE_METRIC",
    "LAMBDA",
    "SERVICE_QUOTA",
];

/// Parses a metric math expression.
pub fn parse(text: &str) -> Result<Expr> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        nesting: 0,
        end: text.chars().count(),
    };
    if parser.tokens.is_empty() {
        return Err(Error::syntax("the expression is empty", 0));
    }
    let (expr, _) = parser.expr(OR)?;
    match parser.peek() {
        None => Ok(expr),
        Some(t) => Err(Error::syntax(
            format!("unexpected {}", t.kind.describe()),
            t.position,
        )),
    }
}

impl Expr {
    /// The ids of other queries this expression reads, each once, in order of first use,
    /// so GetMetricData can order evaluation and refuse unknown or circular references.
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Id(id) = e
                && !out.contains(id)
            {
                out.push(id.clone());
            }
        });
        out
    }

    /// Every SEARCH in the expression; alarms refuse expressions that have one.
    pub fn searches(&self) -> Vec<&Search> {
        let mut out = Vec::new();
        self.collect_searches(&mut out);
        out
    }

    /// Whether the expression reads every metric of the request through `METRICS()`,
    /// which makes it depend on all MetricStat queries without naming them.
    pub fn uses_all_metrics(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::Call { name, .. } if name == "METRICS") {
                found = true;
            }
        });
        found
    }

    fn collect_searches<'a>(&'a self, out: &mut Vec<&'a Search>) {
        match self {
            Expr::Search(s) => out.push(s),
            Expr::Array(items) | Expr::Call { args: items, .. } => {
                items.iter().for_each(|e| e.collect_searches(out))
            }
            Expr::Neg(e) | Expr::Not(e) => e.collect_searches(out),
            Expr::Binary { left, right, .. } => {
                left.collect_searches(out);
                right.collect_searches(out);
            }
            _ => {}
        }
    }

    fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Array(items) | Expr::Call { args: items, .. } => {
                items.iter().for_each(|e| e.walk(f))
            }
            Expr::Neg(e) | Expr::Not(e) => e.walk(f),
            Expr::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            _ => {}
        }
    }
}

/// Prints an expression that parses back to the same tree, with parentheses only where
/// precedence or associativity needs them; so the printed form is never nested deeper
/// than the tree, and always parses back within the depth limits.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Str(s) => f.write_str(&quoted(s)),
            Expr::Id(s) | Expr::Keyword(s) => f.write_str(s),
            Expr::Array(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Expr::Neg(e) => {
                f.write_str("-")?;
                write_operand(f, e, strength(e) < NEG)
            }
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                write_operand(f, e, strength(e) < NOT)
            }
            Expr::Binary { op, left, right } => {
                let s = op_strength(*op);
                let right_assoc = *op == BinaryOp::Pow;
                let (l, r) = (strength(left), strength(right));
                write_operand(f, left, l < s || (right_assoc && l == s))?;
                write!(f, " {} ", op.symbol())?;
                write_operand(f, right, r < s || (!right_assoc && r == s))
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Search(s) => write!(f, "{s}"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// How tightly an expression holds together when printed next to an operator.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Binary { op, .. } => op_strength(*op),
        Expr::Neg(_) => NEG,
        Expr::Not(_) => NOT,
        _ => ATOM,
    }
}

fn op_strength(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => OR,
        BinaryOp::And => AND,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Le | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Gt => {
            COMPARE
        }
        BinaryOp::Add | BinaryOp::Sub => ADD,
        BinaryOp::Mul | BinaryOp::Div => MUL,
        BinaryOp::Pow => POW,
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// A literal as it would be written: single quotes, unless the raw text holds a bare
/// single quote (it was read between double quotes, so it cannot hold a bare double one).
pub(crate) fn quoted(s: &str) -> String {
    let quote = if has_unescaped(s, '\'') { '"' } else { '\'' };
    format!("{quote}{s}{quote}")
}

/// Whether `quote` occurs in `s` without a backslash before it.
fn has_unescaped(s: &str, quote: char) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return true;
        }
    }
    false
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// How many `expr` calls are under way.
    nesting: usize,
    /// Character length of the text, where "unexpected end" errors point.
    end: usize,
}

/// Binding strength of the operators, loosest first; `NOT` and unary minus are prefix
/// operators at their level.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const COMPARE: u8 = 4;
const ADD: u8 = 5;
const MUL: u8 = 6;
const NEG: u8 = 7;
const POW: u8 = 8;
const ATOM: u8 = 9;

/// A parsed sub-expression with the depth of its tree, tracked while parsing so that a
/// too-deep tree is refused before it exists (evaluation and printing recurse on it).
type Parsed = (Expr, usize);

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.end, |t| t.position)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Token { kind: Kind::Punct(q), .. }) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str, shown: &str) -> Result<()> {
        if self.eat_punct(p) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => Error::syntax(
                format!("expected {shown} but found {}", t.kind.describe()),
                t.position,
            ),
            None => Error::syntax(format!("expected {shown} at the end"), self.end),
        })
    }

    fn deeper(&self, depth: usize, at: usize) -> Result<usize> {
        if depth >= MAX_DEPTH {
            return Err(Error::syntax("the expression is nested too deeply", at));
        }
        Ok(depth + 1)
    }

    /// The binary operator at the cursor, with its strength and associativity.
    fn infix(&self) -> Option<(BinaryOp, u8, bool)> {
        let op = match &self.peek()?.kind {
            Kind::Word { text, call: false } if text == "OR" => BinaryOp::Or,
            Kind::Word { text, call: false } if text == "AND" => BinaryOp::And,
            Kind::Punct("||") => BinaryOp::Or,
            Kind::Punct("&&") => BinaryOp::And,
            Kind::Punct("==") => BinaryOp::Eq,
            Kind::Punct("!=") => BinaryOp::Ne,
            Kind::Punct("<=") => BinaryOp::Le,
            Kind::Punct(">=") => BinaryOp::Ge,
            Kind::Punct("<") => BinaryOp::Lt,
            Kind::Punct(">") => BinaryOp::Gt,
            Kind::Punct("+") => BinaryOp::Add,
            Kind::Punct("-") => BinaryOp::Sub,
            Kind::Punct("*") => BinaryOp::Mul,
            Kind::Punct("/") => BinaryOp::Div,
            Kind::Punct("^") => BinaryOp::Pow,
            _ => return None,
        };
        Some((op, op_strength(op), op == BinaryOp::Pow))
    }

    /// Operators binding at least as tightly as `min`, by precedence climbing. The
    /// recursion itself is bounded here, before it goes deeper, since a tree's depth is
    /// only known on the way back up.
    fn expr(&mut self, min: u8) -> Result<Parsed> {
        self.nesting += 1;
        let result = if self.nesting > MAX_NESTING {
            Err(Error::syntax(
                "the expression is nested too deeply",
                self.at(),
            ))
        } else {
            self.climb(min)
        };
        self.nesting -= 1;
        result
    }

    fn climb(&mut self, min: u8) -> Result<Parsed> {
        let (mut left, mut depth) = self.prefix()?;
        while let Some((op, strength, right_assoc)) = self.infix() {
            if strength < min {
                break;
            }
            let at = self.at();
            self.pos += 1;
            let (right, right_depth) =
                self.expr(if right_assoc { strength } else { strength + 1 })?;
            depth = self.deeper(depth.max(right_depth), at)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok((left, depth))
    }

    fn prefix(&mut self) -> Result<Parsed> {
        let at = self.at();
        let unary = match self.peek().map(|t| &t.kind) {
            Some(Kind::Word { text, call: false }) if text == "NOT" => Some(NOT),
            Some(Kind::Punct("-")) => Some(NEG),
            _ => None,
        };
        let Some(strength) = unary else {
            return self.primary();
        };
        self.pos += 1;
        let (inner, depth) = self.expr(strength)?;
        let depth = self.deeper(depth, at)?;
        let inner = Box::new(inner);
        Ok((
            if strength == NOT {
                Expr::Not(inner)
            } else {
                Expr::Neg(inner)
            },
            depth,
        ))
    }

    fn primary(&mut self) -> Result<Parsed> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return Err(Error::syntax("unexpected end of expression", self.end));
        };
        self.pos += 1;
        match token.kind {
            Kind::Number(n) => Ok((Expr::Number(n), 1)),
            Kind::Str(s) => Ok((Expr::Str(s), 1)),
            Kind::Punct("(") => {
                let inner = self.expr(OR)?;
                self.expect_punct(")", "')'")?;
                Ok(inner)
            }
            Kind::Punct("[") => {
                let (items, depth) = self.list("]")?;
                Ok((Expr::Array(items), self.deeper(depth, token.position)?))
            }
            Kind::Word { text, call: true } => {
                self.expect_punct("(", "'('")?;
                let (args, depth) = self.list(")")?;
                let depth = self.deeper(depth, token.position)?;
                Ok((call(&text, args)?, depth))
            }
            Kind::Word { text, call: false } => {
                if matches!(text.as_str(), "AND" | "OR" | "NOT") {
                    Err(Error::syntax(
                        format!("expected an operand but found '{text}'"),
                        token.position,
                    ))
                } else if text.starts_with(|c: char| c.is_ascii_lowercase()) {
                    Ok((Expr::Id(text), 1))
                } else {
                    Ok((Expr::Keyword(text), 1))
                }
            }
            Kind::Punct(p) => Err(Error::syntax(
                format!("expected an operand but found '{p}'"),
                token.position,
            )),
        }
    }

    /// Comma-separated expressions up to `close` (possibly none), with the depth of the
    /// deepest.
    fn list(&mut self, close: &str) -> Result<(Vec<Expr>, usize)> {
        let mut items = Vec::new();
        let mut depth = 0;
        if self.eat_punct(close) {
            return Ok((items, depth));
        }
        loop {
            let (item, d) = self.expr(OR)?;
            items.push(item);
            depth = depth.max(d);
            if self.eat_punct(close) {
                return Ok((items, depth));
            }
            self.expect_punct(",", &format!("',' or '{close}'"))?;
        }
    }
}

/// Resolves a call against the function table, checking its arity.
fn call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    let upper = name.to_ascii_uppercase();
    if UNSUPPORTED.contains(&upper.as_str()) {
        return Err(Error::Unsupported(upper));
    }
    let Some(spec) = FUNCTIONS.iter().find(|f| f.name == upper) else {
        return Err(Error::UnknownFunction(name.to_string()));
    };
    if args.len() < spec.min || args.len() > spec.max {
        return Err(Error::Arity {
            function: upper,
            expected: spec.expected,
            got: args.len(),
        });
    }
    if upper == "SEARCH" {
        return Search::from_args(&args).map(Expr::Search);
    }
    Ok(Expr::Call { name: upper, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let e = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        let printed = e.to_string();
        let again = parse(&printed).unwrap_or_else(|err| panic!("{printed}: {err}"));
        assert_eq!(e, again, "{text} -> {printed}");
        printed
    }

    #[test]
    fn precedence() {
        assert_eq!(round_trip("1 + 2 * 3"), "1 + 2 * 3");
        assert_eq!(round_trip("(1 + 2) * 3"), "(1 + 2) * 3");
        assert_eq!(round_trip("-2 ^ 2"), "-2 ^ 2");
        assert_eq!(round_trip("(-2) ^ 2"), "(-2) ^ 2");
        assert_eq!(round_trip("2 ^ 3 ^ 2"), "2 ^ 3 ^ 2");
        assert_eq!(round_trip("(2 ^ 3) ^ 2"), "(2 ^ 3) ^ 2");
        assert_eq!(round_trip("a - b - c"), "a - b - c");
        assert_eq!(round_trip("a - (b - c)"), "a - (b - c)");
        assert_eq!(
            round_trip("m1 > 1 AND m2 < 2 OR NOT m3"),
            "m1 > 1 AND m2 < 2 OR NOT m3"
        );
        assert_eq!(round_trip("NOT m1 + 1"), "NOT m1 + 1");
        assert_eq!(round_trip("(NOT m1) + 1"), "(NOT m1) + 1");
        assert_eq!(round_trip("NOT (a OR b)"), "NOT (a OR b)");
        assert_eq!(round_trip("--m1"), "--m1");
        assert_eq!(round_trip("-(a * b)"), "-(a * b)");
        assert_eq!(round_trip("a * -b + c"), "a * -b + c");
        assert_eq!(round_trip("a ^ -b"), "a ^ (-b)");
        assert_eq!(round_trip("((((a))))"), "a");
    }

    #[test]
    fn calls_and_keywords() {
        assert_eq!(round_trip("fill(m1, REPEAT)"), "FILL(m1, REPEAT)");
        assert_eq!(
            round_trip("SORT(METRICS(), SUM, DESC, 2)"),
            "SORT(METRICS(), SUM, DESC, 2)"
        );
        assert_eq!(round_trip("METRICS(\"it's\")"), "METRICS(\"it's\")");
    }

    #[test]
    fn references_in_order() {
        let e = parse("m2 + SUM([m1, m2]) / PERIOD(m3)").expect("parses");
        assert_eq!(e.references(), vec!["m2", "m1", "m3"]);
        assert!(!e.uses_all_metrics());
        assert!(parse("SUM(METRICS())").expect("parses").uses_all_metrics());
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse("FOO(m1)"), Err(Error::UnknownFunction(f)) if f == "FOO"));
        assert!(matches!(
            parse("ANOMALY_DETECTION_BAND(m1)"),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            parse("ABS(m1, m2)"),
            Err(Error::Arity { got: 2, .. })
        ));
        assert_eq!(parse("m1 +").map_err(|e| e.position()), Err(Some(4)));
        assert_eq!(parse("(m1").map_err(|e| e.position()), Err(Some(3)));
        assert!(parse("").is_err());
        assert!(parse("1.2.3").is_err());
        assert!(parse("'abc").is_err());
        assert!(parse("m1 % 2").is_err());
        assert!(parse(&"(".repeat(500)).is_err());
    }
}

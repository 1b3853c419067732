//! The parsed form of a query: a pipeline of commands whose expressions remember where
//! they came from, so later checks can point at the exact text and unnamed results can
//! be named by the text the user wrote (`count(*)`, `avg(latency)`, `bin(5m)`).

/// A stretch of the query text: character offsets for error reporting and byte offsets
/// for slicing the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub byte_start: usize,
    pub byte_end: usize,
}

impl Span {
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
            byte_start: self.byte_start.min(other.byte_start),
            byte_end: self.byte_end.max(other.byte_end),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    /// The command keyword, for errors about the command as a whole.
    pub keyword: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    Fields(Vec<Item>),
    Display(Vec<FieldName>),
    Filter(Expr),
    Stats {
        items: Vec<Item>,
        by: Vec<Item>,
    },
    Sort(Vec<SortKey>),
    Limit(u64),
    Parse(ParseSpec),
    Dedup(Vec<FieldName>),
    /// Clusters the values of the expression into patterns (a terminal aggregation).
    Pattern(Expr),
    /// Compares the patterns of the query's time range with the previous period of the
    /// same length; without a `pattern` just before it, it clusters `@message`.
    Diff,
    /// Data protection is not modelled, so there is nothing to reveal.
    Unmask,
}

/// An expression with an optional `as` alias; its result is named by the alias, or else
/// by the expression text exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub expr: Expr,
    pub alias: Option<FieldName>,
    pub text: String,
}

impl Item {
    /// The alias, else the field's name for a bare field (without backticks), else the
    /// text as written.
    pub fn name(&self) -> &str {
        match (&self.alias, &self.expr.kind) {
            (Some(alias), _) => &alias.name,
            (None, ExprKind::Field(name)) => name,
            (None, _) => &self.text,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldName {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseSpec {
    pub source: Expr,
    pub pattern: ParsePattern,
    pub pattern_span: Span,
    /// Names given with `as`; empty for a regex, whose named groups name the fields.
    pub names: Vec<FieldName>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParsePattern {
    Glob(String),
    Regex(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Field(String),
    Number(f64),
    Str(String),
    Regex(String),
    Duration(Period),
    /// `*` inside `count(*)`.
    Star,
    List(Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Like {
        subject: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    In {
        subject: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Call {
        /// Lower-cased: Insights function names are case-insensitive (the docs write
        /// both `ispresent` and `isPresent`).
        name: String,
        name_span: Span,
        args: Vec<Expr>,
        /// The call as written; after `stats`, `count(*)` names that result.
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// A time period such as `5m` or `1mo`, as used by `bin`, `datefloor` and `dateceil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub amount: i64,
    pub unit: PeriodUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl PeriodUnit {
    /// The unit named by a suffix, accepting every spelling the `stats` documentation
    /// lists and their plurals (`hr` and `hrs` both mean hours).
    pub fn from_suffix(suffix: &str) -> Option<PeriodUnit> {
        let lower = suffix.to_ascii_lowercase();
        let singular = match lower.as_str() {
            // "ms" and "s" end in s but are not plurals.
            "ms" | "s" => lower.as_str(),
            other => other.strip_suffix('s').unwrap_or(other),
        };
        Some(match singular {
            "ms" | "millisecond" | "msec" => PeriodUnit::Millisecond,
            "s" | "second" | "sec" => PeriodUnit::Second,
            "m" | "minute" | "min" => PeriodUnit::Minute,
            "h" | "hour" | "hr" => PeriodUnit::Hour,
            "d" | "day" => PeriodUnit::Day,
            "w" | "week" => PeriodUnit::Week,
            "mo" | "month" | "mon" => PeriodUnit::Month,
            "q" | "quarter" | "qtr" => PeriodUnit::Quarter,
            "y" | "year" | "yr" => PeriodUnit::Year,
            _ => return None,
        })
    }

    /// Milliseconds per unit for the fixed-length units; calendar units have none.
    pub fn fixed_millis(self) -> Option<i64> {
        Some(match self {
            PeriodUnit::Millisecond => 1,
            PeriodUnit::Second => 1_000,
            PeriodUnit::Minute => 60_000,
            PeriodUnit::Hour => 3_600_000,
            PeriodUnit::Day => 86_400_000,
            PeriodUnit::Week => 7 * 86_400_000,
            PeriodUnit::Month | PeriodUnit::Quarter | PeriodUnit::Year => return None,
        })
    }
}

/// Calls `f` with every field name `command` mentions.
pub fn visit_fields(command: &Command, f: &mut dyn FnMut(&str)) {
    fn expr(e: &Expr, f: &mut dyn FnMut(&str)) {
        if let ExprKind::Field(name) = &e.kind {
            f(name);
        }
        for child in crate::functions::children(e) {
            expr(child, f);
        }
    }
    match &command.kind {
        CommandKind::Fields(items) => items.iter().for_each(|i| expr(&i.expr, f)),
        CommandKind::Stats { items, by } => {
            items.iter().chain(by).for_each(|i| expr(&i.expr, f));
        }
        CommandKind::Filter(e) => expr(e, f),
        CommandKind::Sort(keys) => keys.iter().for_each(|k| expr(&k.expr, f)),
        CommandKind::Parse(spec) => expr(&spec.source, f),
        CommandKind::Pattern(e) => expr(e, f),
        CommandKind::Diff => f("@message"),
        CommandKind::Display(names) | CommandKind::Dedup(names) => {
            names.iter().for_each(|n| f(&n.name));
        }
        CommandKind::Limit(_) | CommandKind::Unmask => {}
    }
}

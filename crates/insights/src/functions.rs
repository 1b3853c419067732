//! The function catalog and the static checks that run before a query is accepted:
//! unknown functions, wrong argument counts, aggregates outside `stats`, malformed
//! regular expressions and `parse` patterns, and command order rules. Doing these at
//! parse time lets StartQuery refuse a bad query with a located error instead of failing
//! later inside the engine.

use crate::ast::*;
use crate::error::QueryError;
use crate::regex_util;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FnClass {
    Scalar,
    Aggregate,
}

#[derive(Debug)]
pub(crate) struct FnSpec {
    pub name: &'static str,
    /// The documented spelling, for messages.
    pub display: &'static str,
    pub class: FnClass,
    pub min: usize,
    pub max: Option<usize>,
}

const fn scalar(name: &'static str, display: &'static str, min: usize, max: usize) -> FnSpec {
    FnSpec {
        name,
        display,
        class: FnClass::Scalar,
        min,
        max: Some(max),
    }
}

const fn variadic(name: &'static str, display: &'static str, min: usize) -> FnSpec {
    FnSpec {
        name,
        display,
        class: FnClass::Scalar,
        min,
        max: None,
    }
}

const fn aggregate(name: &'static str, display: &'static str, min: usize, max: usize) -> FnSpec {
    FnSpec {
        name,
        display,
        class: FnClass::Aggregate,
        min,
        max: Some(max),
    }
}

/// Every function of the Logs Insights query language this engine runs, keyed by
/// lower-case name.
static CATALOG: &[FnSpec] = &[
    // Numeric operations.
    scalar("abs", "abs", 1, 1),
    scalar("ceil", "ceil", 1, 1),
    scalar("floor", "floor", 1, 1),
    variadic("greatest", "greatest", 1),
    variadic("least", "least", 1),
    scalar("log", "log", 1, 1),
    scalar("sqrt", "sqrt", 1, 1),
    // Datetime functions.
    scalar("bin", "bin", 1, 1),
    scalar("datefloor", "datefloor", 2, 2),
    scalar("dateceil", "dateceil", 2, 2),
    scalar("frommillis", "fromMillis", 1, 1),
    scalar("tomillis", "toMillis", 1, 1),
    // General functions.
    scalar("ispresent", "ispresent", 1, 1),
    variadic("coalesce", "coalesce", 1),
    scalar("unmask", "unmask", 1, 1),
    // IP address functions.
    scalar("isvalidip", "isValidIp", 1, 1),
    scalar("isvalidipv4", "isValidIpV4", 1, 1),
    scalar("isvalidipv6", "isValidIpV6", 1, 1),
    scalar("isipinsubnet", "isIpInSubnet", 2, 2),
    scalar("isipv4insubnet", "isIpv4InSubnet", 2, 2),
    scalar("isipv6insubnet", "isIpv6InSubnet", 2, 2),
    // String functions.
    scalar("isempty", "isempty", 1, 1),
    scalar("isblank", "isblank", 1, 1),
    variadic("concat", "concat", 1),
    scalar("ltrim", "ltrim", 1, 2),
    scalar("rtrim", "rtrim", 1, 2),
    scalar("trim", "trim", 1, 2),
    scalar("strlen", "strlen", 1, 1),
    scalar("toupper", "toupper", 1, 1),
    scalar("tolower", "tolower", 1, 1),
    scalar("substr", "substr", 2, 3),
    scalar("replace", "replace", 3, 3),
    scalar("strcontains", "strcontains", 2, 2),
    // Aggregations, usable only in stats.
    aggregate("avg", "avg", 1, 1),
    aggregate("count", "count", 0, 1),
    aggregate("count_distinct", "count_distinct", 1, 1),
    aggregate("max", "max", 1, 1),
    aggregate("min", "min", 1, 1),
    aggregate("pct", "pct", 2, 2),
    aggregate("stddev", "stddev", 1, 1),
    aggregate("sum", "sum", 1, 1),
    aggregate("earliest", "earliest", 1, 1),
    aggregate("latest", "latest", 1, 1),
    aggregate("sortsfirst", "sortsFirst", 1, 1),
    aggregate("sortslast", "sortsLast", 1, 1),
];

pub(crate) fn lookup(name: &str) -> Option<&'static FnSpec> {
    CATALOG.iter().find(|spec| spec.name == name)
}

/// Where an expression appears, which decides what it may contain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Evaluated per log event: fields, filter, sort, stats `by`.
    Row,
    /// A stats result: aggregates allowed (but not nested).
    StatsItem,
    /// Inside an aggregate's argument.
    InAggregate,
}

/// Checks a parsed pipeline; the first problem found is returned.
pub(crate) fn check(commands: &[Command]) -> Result<(), QueryError> {
    let mut after_dedup = false;
    // The results of the last `stats`, which later commands may name by their text
    // (`sort count(*) desc`).
    let mut results: Vec<String> = Vec::new();
    // Whether an aggregating command (`stats`, `pattern`, `diff`) has run, for `diff`.
    let mut aggregated = false;
    let mut previous: Option<&CommandKind> = None;
    for command in commands {
        if after_dedup && !matches!(command.kind, CommandKind::Limit(_)) {
            return Err(QueryError::new(
                "Only the limit command can follow dedup",
                command.keyword,
            ));
        }
        match &command.kind {
            CommandKind::Fields(items) => {
                for item in items {
                    check_expr(&item.expr, Place::Row, &results)?;
                }
            }
            CommandKind::Filter(expr) => check_expr(expr, Place::Row, &results)?,
            CommandKind::Stats { items, by } => {
                check_stats(items, by, &results)?;
                aggregated = true;
                results = by
                    .iter()
                    .chain(items)
                    .flat_map(|i| [i.name().to_string(), i.text.clone()])
                    .collect();
            }
            CommandKind::Sort(keys) => {
                for key in keys {
                    check_expr(&key.expr, Place::Row, &results)?;
                }
            }
            CommandKind::Parse(spec) => check_parse(spec, &results)?,
            CommandKind::Dedup(_) => after_dedup = true,
            CommandKind::Pattern(expr) => {
                check_expr(expr, Place::Row, &results)?;
                results = PATTERN_FIELDS.iter().map(|f| f.to_string()).collect();
                aggregated = true;
            }
            CommandKind::Diff => {
                // `diff` compares patterns: right after `pattern`, or, before any
                // aggregation, as `pattern @message | diff`.
                if aggregated && !matches!(previous, Some(CommandKind::Pattern(_))) {
                    return Err(QueryError::new(
                        "diff must directly follow a pattern command, or come before any \
                         stats or pattern command (it then clusters @message)",
                        command.keyword,
                    ));
                }
                results = DIFF_FIELDS.iter().map(|f| f.to_string()).collect();
                aggregated = true;
            }
            CommandKind::Display(_) | CommandKind::Limit(_) | CommandKind::Unmask => {}
        }
        previous = Some(&command.kind);
    }
    Ok(())
}

/// The fields `pattern` outputs, in order.
pub(crate) const PATTERN_FIELDS: [&str; 4] =
    ["@pattern", "@ratio", "@sampleCount", "@severityLabel"];

/// The fields `diff` outputs, in order.
pub(crate) const DIFF_FIELDS: [&str; 7] = [
    "@pattern",
    "@previousSampleCount",
    "@sampleCount",
    "@changeInSampleCount",
    "@changePercentage",
    "@severityLabel",
    "@ratio",
];

fn check_stats(items: &[Item], by: &[Item], results: &[String]) -> Result<(), QueryError> {
    for group in by {
        check_expr(&group.expr, Place::Row, results)?;
    }
    let mut known: Vec<&str> = by
        .iter()
        .flat_map(|g| [g.name(), g.text.as_str()])
        .collect();
    for item in items {
        check_expr(&item.expr, Place::StatsItem, results)?;
        if let Some(span) = ungrouped_field(&item.expr, &known) {
            return Err(QueryError::new(
                "Each stats result must be computed by an aggregate function (such as count, sum or avg) or name a group-by field",
                span,
            ));
        }
        known.push(item.name());
    }
    Ok(())
}

/// The first field referenced outside any aggregate that is neither a group-by key nor
/// an earlier result of the same `stats`; a result made only of constants counts too.
fn ungrouped_field(expr: &Expr, known: &[&str]) -> Option<Span> {
    fn walk(expr: &Expr, known: &[&str], found_agg: &mut bool) -> Option<Span> {
        match &expr.kind {
            ExprKind::Field(name) => (!known.contains(&name.as_str())).then_some(expr.span),
            ExprKind::Call { name, args, .. } => {
                if lookup(name).is_some_and(|s| s.class == FnClass::Aggregate) {
                    *found_agg = true;
                    return None;
                }
                args.iter().find_map(|a| walk(a, known, found_agg))
            }
            _ => children(expr)
                .into_iter()
                .find_map(|c| walk(c, known, found_agg)),
        }
    }
    let mut found_agg = false;
    if let Some(span) = walk(expr, known, &mut found_agg) {
        return Some(span);
    }
    (!found_agg && !refers_to_any(expr)).then_some(expr.span)
}

fn refers_to_any(expr: &Expr) -> bool {
    matches!(expr.kind, ExprKind::Field(_)) || children(expr).into_iter().any(refers_to_any)
}

pub(crate) fn children(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Neg(e) | ExprKind::Not(e) => vec![e],
        ExprKind::Binary(_, l, r) => vec![l, r],
        ExprKind::Like {
            subject, pattern, ..
        } => vec![subject, pattern],
        ExprKind::In { subject, list, .. } => {
            let mut all: Vec<&Expr> = vec![subject];
            all.extend(list.iter());
            all
        }
        ExprKind::List(items) => items.iter().collect(),
        ExprKind::Call { args, .. } => args.iter().collect(),
        _ => Vec::new(),
    }
}

fn check_expr(expr: &Expr, place: Place, results: &[String]) -> Result<(), QueryError> {
    match &expr.kind {
        ExprKind::Field(_) | ExprKind::Number(_) | ExprKind::Str(_) => Ok(()),
        ExprKind::Regex(_) => Err(QueryError::new(
            "A regular expression can only follow like or =~",
            expr.span,
        )),
        ExprKind::Duration(_) => Err(QueryError::new(
            "A time period can only be an argument of bin, datefloor or dateceil",
            expr.span,
        )),
        ExprKind::Star => Err(QueryError::new(
            "'*' can only be used as count(*)",
            expr.span,
        )),
        ExprKind::List(_) => Err(QueryError::new(
            "A list can only follow in or not in",
            expr.span,
        )),
        ExprKind::Neg(inner) | ExprKind::Not(inner) => check_expr(inner, place, results),
        ExprKind::Binary(_, left, right) => {
            check_expr(left, place, results)?;
            check_expr(right, place, results)
        }
        ExprKind::Like {
            subject, pattern, ..
        } => {
            check_expr(subject, place, results)?;
            match &pattern.kind {
                ExprKind::Regex(re) => regex_util::compile(re)
                    .map(|_| ())
                    .map_err(|message| QueryError::new(message, pattern.span)),
                _ => check_expr(pattern, place, results),
            }
        }
        ExprKind::In { subject, list, .. } => {
            check_expr(subject, place, results)?;
            list.iter()
                .try_for_each(|item| check_expr(item, place, results))
        }
        ExprKind::Call {
            name,
            name_span,
            args,
            text,
        } => {
            if place == Place::Row && results.contains(text) {
                return Ok(());
            }
            check_call(expr, name, *name_span, args, place, results)
        }
    }
}

fn check_call(
    expr: &Expr,
    name: &str,
    name_span: Span,
    args: &[Expr],
    place: Place,
    results: &[String],
) -> Result<(), QueryError> {
    let Some(spec) = lookup(name) else {
        return Err(QueryError::new(
            format!("Unknown function '{name}'"),
            name_span,
        ));
    };
    let arity_ok = args.len() >= spec.min && spec.max.is_none_or(|max| args.len() <= max);
    if !arity_ok {
        let expected = match spec.max {
            Some(max) if max == spec.min => format!("{max}"),
            Some(max) => format!("{} to {max}", spec.min),
            None => format!("at least {}", spec.min),
        };
        let plural = if expected == "1" { "" } else { "s" };
        return Err(QueryError::new(
            format!(
                "Function {} expects {expected} argument{plural} but got {}",
                spec.display,
                args.len()
            ),
            expr.span,
        ));
    }
    let inner_place = match (spec.class, place) {
        (FnClass::Aggregate, Place::Row) => {
            return Err(QueryError::new(
                format!(
                    "Aggregate function {} can only be used in stats",
                    spec.display
                ),
                name_span,
            ));
        }
        (FnClass::Aggregate, Place::InAggregate) => {
            return Err(QueryError::new(
                format!(
                    "Aggregate function {} cannot be nested inside another aggregate",
                    spec.display
                ),
                name_span,
            ));
        }
        (FnClass::Aggregate, Place::StatsItem) => Place::InAggregate,
        (FnClass::Scalar, place) => place,
    };
    for (index, arg) in args.iter().enumerate() {
        match (&arg.kind, spec.name, index) {
            (ExprKind::Star, "count", 0) => {}
            (ExprKind::Duration(_), "bin", 0)
            | (ExprKind::Duration(_), "datefloor" | "dateceil", 1) => {}
            (_, "bin", 0) | (_, "datefloor" | "dateceil", 1) => {
                return Err(QueryError::new(
                    format!(
                        "{} expects a time period such as 5m or 1h here",
                        spec.display
                    ),
                    arg.span,
                ));
            }
            (ExprKind::Number(p), "pct", 1) if (0.0..=100.0).contains(p) => {}
            (_, "pct", 1) => {
                return Err(QueryError::new(
                    "pct expects a percentile from 0 to 100 as its second argument",
                    arg.span,
                ));
            }
            _ => check_expr(arg, inner_place, results)?,
        }
    }
    Ok(())
}

fn check_parse(spec: &ParseSpec, results: &[String]) -> Result<(), QueryError> {
    check_expr(&spec.source, Place::Row, results)?;
    match &spec.pattern {
        ParsePattern::Glob(glob) => {
            let stars = glob.matches('*').count();
            let names = spec.names.len();
            if names == 0 {
                return Err(QueryError::new(
                    "A parse glob pattern needs 'as' followed by a name for each '*'",
                    spec.pattern_span,
                ));
            }
            if stars != names && !(stars == 0 && names == 1) {
                return Err(QueryError::new(
                    format!(
                        "The parse pattern has {stars} wildcard(s) but {names} field name(s) follow 'as'"
                    ),
                    spec.pattern_span,
                ));
            }
            Ok(())
        }
        ParsePattern::Regex(re) => {
            let compiled = regex_util::compile(re)
                .map_err(|message| QueryError::new(message, spec.pattern_span))?;
            let named = compiled.names.iter().filter(|n| n.is_some()).count();
            if spec.names.is_empty() && named == 0 {
                return Err(QueryError::new(
                    "A parse regular expression must name its fields with (?<name>...) groups",
                    spec.pattern_span,
                ));
            }
            if !spec.names.is_empty() && spec.names.len() != compiled.names.len() {
                return Err(QueryError::new(
                    format!(
                        "The parse regular expression has {} group(s) but {} field name(s) follow 'as'",
                        compiled.names.len(),
                        spec.names.len()
                    ),
                    spec.pattern_span,
                ));
            }
            Ok(())
        }
    }
}

//! The `metrics` array: AWS's compact row syntax
//! `[namespace, metricName, dim1Name, dim1Value, ..., {options}]`, its `"."` and `"..."`
//! shorthands, metric-math rows `[{"expression": ..., "id": ...}]`, and the statistic and
//! period rules both kinds of row share with the widget.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::widget::{Axis, Checker, valid_color};

/// CloudWatch's limit on dimensions per metric.
const MAX_DIMENSIONS: usize = 30;

/// One row of the `metrics` array, with shorthands expanded and widget defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// Empty for an expression row.
    pub namespace: String,
    /// Empty for an expression row.
    pub metric_name: String,
    /// `(name, value)` pairs in the order written.
    pub dimensions: Vec<(String, String)>,
    /// The metric-math expression of an expression row.
    pub expression: Option<String>,
    /// The row's `stat`, else the widget's.
    pub stat: String,
    /// The row's `period`, else the widget's.
    pub period: i64,
    pub label: Option<String>,
    /// `#rrggbb` as written.
    pub color: Option<String>,
    pub y_axis: Axis,
    /// False for rows that only feed expressions.
    pub visible: bool,
    pub id: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
}

impl MetricSpec {
    pub fn is_expression(&self) -> bool {
        self.expression.is_some()
    }
}

/// One element of a row before shorthand expansion.
enum Token<'a> {
    Text(&'a str),
    /// `"."`: the value at the same position in the previous row.
    Same,
    /// `"..."`: as many of the previous row's values as keep the rest aligned to its end.
    Rest,
}

/// Validates and expands `metrics`, reporting problems through `ck`.
pub(crate) fn parse_rows(
    rows: &[Value],
    default_stat: &str,
    default_period: i64,
    ck: &mut Checker,
) -> Vec<MetricSpec> {
    let mut out = Vec::with_capacity(rows.len());
    let mut previous: Option<Vec<String>> = None;
    let mut ids = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let path = format!("/metrics/{i}");
        let Some(items) = row.as_array() else {
            ck.issue(&path, "Should be array");
            previous = None;
            continue;
        };
        let (items, options) = match items.split_last() {
            Some((Value::Object(o), rest)) => (rest, Some(o)),
            _ => (items.as_slice(), None),
        };
        let mut tokens = Vec::with_capacity(items.len());
        for (j, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(".") => tokens.push(Token::Same),
                Some("...") => tokens.push(Token::Rest),
                Some(s) => tokens.push(Token::Text(s)),
                None => ck.issue(&format!("{path}/{j}"), "Should be string"),
            }
        }
        let empty = Map::new();
        let opts = options.unwrap_or(&empty);
        let opts_path = format!("{path}/{}", items.len());
        let expression = ck.string(opts, "expression", &opts_path);
        let mut spec = MetricSpec {
            namespace: String::new(),
            metric_name: String::new(),
            dimensions: Vec::new(),
            expression: None,
            stat: default_stat.to_owned(),
            period: default_period,
            label: None,
            color: None,
            y_axis: Axis::Left,
            visible: true,
            id: None,
            region: None,
            account_id: None,
        };
        if let Some(expr) = expression {
            if !tokens.is_empty() {
                ck.issue(
                    &opts_path,
                    "A row holds either a metric or an expression, not both",
                );
            }
            if expr.trim().is_empty() {
                ck.issue(
                    &format!("{opts_path}/expression"),
                    "Should NOT be shorter than 1 characters",
                );
            }
            spec.expression = Some(expr.to_owned());
            previous = None;
        } else {
            let Some(values) = expand(&tokens, previous.as_deref(), &path, ck) else {
                previous = None;
                continue;
            };
            check_metric(&values, &path, ck);
            if let [namespace, name, dims @ ..] = values.as_slice() {
                spec.namespace = namespace.clone();
                spec.metric_name = name.clone();
                spec.dimensions = dims
                    .chunks_exact(2)
                    .map(|pair| (pair[0].clone(), pair[1].clone()))
                    .collect();
            }
            previous = Some(values);
        }
        read_options(opts, &opts_path, &mut spec, ck);
        if let Some(id) = &spec.id
            && !ids.insert(id.clone())
        {
            ck.issue(&format!("{opts_path}/id"), &format!("Duplicate id '{id}'"));
        }
        out.push(spec);
    }
    out
}

/// Replaces shorthands with the previous row's values, as the CloudWatch console writes
/// them: `["...", "i-2"]` is the previous metric with its last value replaced, and
/// `["...", {"stat": "Maximum"}]` the previous metric itself.
fn expand(
    tokens: &[Token],
    previous: Option<&[String]>,
    path: &str,
    ck: &mut Checker,
) -> Option<Vec<String>> {
    let rests = tokens.iter().filter(|t| matches!(t, Token::Rest)).count();
    if rests > 1 {
        ck.issue(path, "'...' may appear only once in a row");
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut ok = true;
    for (j, token) in tokens.iter().enumerate() {
        match token {
            Token::Text(s) => out.push((*s).to_owned()),
            Token::Same => match previous.and_then(|p| p.get(out.len())) {
                Some(v) => out.push(v.clone()),
                None => {
                    ck.issue(
                        &format!("{path}/{j}"),
                        "'.' has no value at the same position in the previous metric to repeat",
                    );
                    ok = false;
                    out.push(String::new());
                }
            },
            Token::Rest => {
                let Some(prev) = previous else {
                    ck.issue(
                        &format!("{path}/{j}"),
                        "'...' has no previous metric to repeat",
                    );
                    ok = false;
                    continue;
                };
                let after = tokens.len() - j - 1;
                let end = prev.len().saturating_sub(after);
                if let Some(copied) = prev.get(out.len()..end) {
                    out.extend(copied.iter().cloned());
                }
            }
        }
    }
    ok.then_some(out)
}

/// The rules a plain metric row obeys once expanded.
fn check_metric(values: &[String], path: &str, ck: &mut Checker) {
    if values.len() < 2 {
        ck.issue(
            path,
            "A metric row needs a namespace and a metric name, or an options object with an expression",
        );
        return;
    }
    if !values.len().is_multiple_of(2) {
        ck.issue(path, "Dimension names and values must come in pairs");
    }
    if (values.len() - 2) / 2 > MAX_DIMENSIONS {
        ck.issue(
            path,
            &format!("Should NOT have more than {MAX_DIMENSIONS} dimensions"),
        );
    }
    for (j, v) in values.iter().enumerate() {
        if v.is_empty() {
            ck.issue(
                &format!("{path}/{j}"),
                "Should NOT be shorter than 1 characters",
            );
        } else if v.chars().count() > 255 {
            ck.issue(
                &format!("{path}/{j}"),
                "Should NOT be longer than 255 characters",
            );
        }
    }
}

/// Reads the rendering-properties object of a row.
fn read_options(opts: &Map<String, Value>, path: &str, spec: &mut MetricSpec, ck: &mut Checker) {
    if let Some(stat) = ck.string(opts, "stat", path) {
        if is_valid_stat(stat) {
            spec.stat = stat.to_owned();
        } else {
            ck.issue(&format!("{path}/stat"), &invalid_stat_message(stat));
        }
    }
    if let Some(period) = ck.period(opts, "period", path) {
        spec.period = period;
    }
    spec.label = ck.string(opts, "label", path).map(str::to_owned);
    if let Some(color) = ck.string(opts, "color", path) {
        if valid_color(color) {
            spec.color = Some(color.to_owned());
        } else {
            ck.issue(
                &format!("{path}/color"),
                "Should match pattern \"^#([0-9a-fA-F]{6})$\"",
            );
        }
    }
    if let Some(axis) = ck.one_of(opts, "yAxis", path, &["left", "right"]) {
        spec.y_axis = if axis == "right" {
            Axis::Right
        } else {
            Axis::Left
        };
    }
    if let Some(visible) = ck.boolean(opts, "visible", path) {
        spec.visible = visible;
    }
    if let Some(id) = ck.string(opts, "id", path) {
        if valid_id(id) {
            spec.id = Some(id.to_owned());
        } else {
            ck.issue(
                &format!("{path}/id"),
                "Should match pattern \"^[a-z][a-zA-Z0-9_]*$\" (an id starts with a lowercase letter)",
            );
        }
    }
    spec.region = ck.string(opts, "region", path).map(str::to_owned);
    spec.account_id = ck.string(opts, "accountId", path).map(str::to_owned);
}

/// Metric-math ids start with a lowercase letter and hold letters, digits and `_`.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

pub(crate) fn invalid_stat_message(stat: &str) -> String {
    format!(
        "Invalid statistic '{stat}': use SampleCount, Average, Sum, Minimum, Maximum or an \
         extended statistic such as p99, tm90, TM(10%:90%), wm99, tc90, ts90, PR(:300) or IQM"
    )
}

/// Whether `stat` is a statistic CloudWatch graphs accept: the five basic statistics or
/// an extended one (percentile, trimmed/winsorized mean, trimmed count/sum, percentile
/// rank, IQM).
pub fn is_valid_stat(stat: &str) -> bool {
    if matches!(
        stat,
        "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum" | "IQM" | "iqm"
    ) {
        return true;
    }
    let lower = stat.to_ascii_lowercase();
    let same_case = stat == lower || stat == stat.to_ascii_uppercase();
    if !same_case {
        return false;
    }
    if let Some(rest) = lower.strip_prefix("pr") {
        return parse_range(rest, false);
    }
    if let Some(rest) = lower.strip_prefix('p') {
        return percent(rest).is_some_and(|p| (0.0..=100.0).contains(&p));
    }
    for prefix in ["tm", "wm", "tc", "ts"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            if rest.starts_with('(') {
                return parse_range(rest, true);
            }
            return percent(rest).is_some_and(|p| p > 0.0 && p <= 100.0);
        }
    }
    false
}

/// A plain decimal number, as written in a statistic.
fn percent(text: &str) -> Option<f64> {
    let valid = !text.is_empty()
        && text.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        && text.bytes().filter(|c| *c == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    if valid { text.parse().ok() } else { None }
}

/// `(lo:hi)` with either bound optional but not both; bounds are percentages (`10%`)
/// where `allow_percent`, else absolute values.
fn parse_range(text: &str, allow_percent: bool) -> bool {
    let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
        return false;
    };
    let Some((lo, hi)) = inner.split_once(':') else {
        return false;
    };
    if lo.is_empty() && hi.is_empty() {
        return false;
    }
    let bound = |b: &str| -> Option<Option<(f64, bool)>> {
        if b.is_empty() {
            return Some(None);
        }
        if let Some(p) = b.strip_suffix('%') {
            if !allow_percent {
                return None;
            }
            let v = percent(p)?;
            return (v <= 100.0).then_some(Some((v, true)));
        }
        let v: f64 = b.parse().ok()?;
        v.is_finite().then_some(Some((v, false)))
    };
    match (bound(lo), bound(hi)) {
        (Some(Some((a, pa))), Some(Some((b, pb)))) => pa == pb && a < b,
        (Some(_), Some(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        for ok in [
            "Average",
            "Sum",
            "SampleCount",
            "p99",
            "p99.9",
            "p0",
            "p100",
            "tm90",
            "TM(10%:90%)",
            "tm(:95%)",
            "wm99",
            "tc(10%:)",
            "ts(100:2000)",
            "PR(:300)",
            "pr(10:20)",
            "IQM",
        ] {
            assert!(is_valid_stat(ok), "{ok}");
        }
        for bad in [
            "average",
            "avg",
            "p101",
            "p",
            "p9x",
            "tm0",
            "TM(90%:10%)",
            "PR(10%:)",
            "tm(:)",
            "",
            "Tm90",
            "p.5",
        ] {
            assert!(!is_valid_stat(bad), "{bad}");
        }
    }
}

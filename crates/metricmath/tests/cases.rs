//! Walks the data-driven cases in `tests/data/*.json`, one file per topic, and runs the
//! property tests of the three parsers.
//!
//! Each data file is `{"kind": ..., "defaults": {...}, "cases": [...]}`; a case's fields
//! override the file's defaults. Kinds:
//!
//! * `math`: `expr`, with the context in `metrics` (MetricStat queries: `id`, `label`,
//!   `period`, `points` as `[[t, v], ...]`), `expressions` (other expressions' results:
//!   `id`, `series`), `grid` (a list, or `{start, end, period}` with `end` excluded) and
//!   `catalog` (metrics for SEARCH: `namespace`, `metric`, `dims`, `points`, `label`).
//!   Expectations: `series` (`[{label?, points}]`), `scalar` (`null` for NaN), `error` or
//!   `parse_error` (a substring of the message), `position`, `references`, `print`,
//!   `search` (`{stat, period}` of the single SEARCH).
//! * `search`: `query` (repeated `repeat` times) against the file's `catalog` (`id`,
//!   `namespace`, `metric`, `dims`); `expect` lists the ids that match, or `error` a
//!   substring of the refusal.
//! * `rule`: `rule` (repeated `repeat` times, joined by `joiner`) with `alarms`,
//!   `print`, `error`/`position`, and `evaluations` (`[{states: {name: state}, expect}]`)
//!   or `states` with `expect`.
//! * `cycle`: `graph` (`{alarm: [watched, ...]}`) and `cycle` (`false` or the path).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sightline_metricmath::rule::{self, AlarmState};
use sightline_metricmath::search::parse_query;
use sightline_metricmath::{Context, Error, Output, Search, Series, evaluate, parse};

struct Tally {
    assertions: usize,
    failures: Vec<String>,
}

impl Tally {
    fn expect(&mut self, ok: bool, at: &str, what: impl FnOnce() -> String) {
        self.assertions += 1;
        if !ok {
            self.failures.push(format!("{at}: {}", what()));
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn points(v: Option<&Value>) -> Vec<(i64, f64)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_i64()?, p.get(1)?.as_f64()?))
        })
        .collect()
}

fn series_of(v: &Value, default_label: &str) -> Series {
    let label = v
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or(default_label);
    let (timestamps, values) = points(v.get("points")).into_iter().unzip();
    Series::new(label, timestamps, values)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn dims_of(v: &Value) -> Vec<(String, String)> {
    match v.get("dims") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A request context built from a case.
struct CaseContext {
    metrics: Vec<(String, Series, i64)>,
    expressions: HashMap<String, Vec<Series>>,
    grid: Vec<i64>,
    catalog: Vec<Value>,
}

impl CaseContext {
    fn new(case: &Map<String, Value>) -> CaseContext {
        let metrics = case
            .get("metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                let id = str_of(m, "id").to_string();
                let series = series_of(m, &id);
                let period = m.get("period").and_then(Value::as_i64).unwrap_or(60);
                (id, series, period)
            })
            .collect();
        let expressions = case
            .get("expressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let id = str_of(e, "id").to_string();
                let list = e
                    .get("series")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|s| series_of(s, &id))
                    .collect();
                (id, list)
            })
            .collect();
        let grid = match case.get("grid") {
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_i64).collect(),
            Some(g @ Value::Object(_)) => {
                let start = g.get("start").and_then(Value::as_i64).unwrap_or(0);
                let end = g.get("end").and_then(Value::as_i64).unwrap_or(0);
                let period = g.get("period").and_then(Value::as_i64).unwrap_or(60).max(1);
                (start..end).step_by(period as usize).collect()
            }
            _ => Vec::new(),
        };
        let catalog = case
            .get("catalog")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        CaseContext {
            metrics,
            expressions,
            grid,
            catalog,
        }
    }
}

impl Context for CaseContext {
    fn series(&self, id: &str) -> Option<Vec<Series>> {
        if let Some((_, s, _)) = self.metrics.iter().find(|(m, _, _)| m == id) {
            return Some(vec![s.clone()]);
        }
        self.expressions.get(id).cloned()
    }

    fn all_metrics(&self) -> Vec<(String, Series)> {
        self.metrics
            .iter()
            .map(|(id, s, _)| (id.clone(), s.clone()))
            .collect()
    }

    fn period(&self, id: &str) -> Option<i64> {
        self.metrics.iter().find(|(m, _, _)| m == id).map(|m| m.2)
    }

    fn grid(&self) -> Vec<i64> {
        self.grid.clone()
    }

    fn search(&self, search: &Search) -> sightline_metricmath::Result<Vec<Series>> {
        Ok(self
            .catalog
            .iter()
            .filter(|m| {
                search
                    .query
                    .matches(str_of(m, "namespace"), str_of(m, "metric"), &dims_of(m))
            })
            .map(|m| series_of(m, str_of(m, "metric")))
            .collect())
    }
}

fn check_error(tally: &mut Tally, at: &str, case: &Map<String, Value>, err: &Error) {
    let msg = err.to_string();
    let want = case
        .get("error")
        .or_else(|| case.get("parse_error"))
        .and_then(Value::as_str);
    match want {
        Some(want) => tally.expect(msg.contains(want), at, || {
            format!("error {msg:?} does not contain {want:?}")
        }),
        None => tally.expect(false, at, || format!("unexpected error: {msg}")),
    }
    if let Some(want) = case.get("position").and_then(Value::as_u64) {
        let got = err.position();
        tally.expect(got == Some(want as usize), at, || {
            format!("error position {got:?}, expected {want}")
        });
    }
}

fn check_math(tally: &mut Tally, at: &str, case: &Map<String, Value>) {
    let text = case.get("expr").and_then(Value::as_str).unwrap_or("");
    let expr = match parse(text) {
        Ok(e) => e,
        Err(e) => return check_error(tally, at, case, &e),
    };
    tally.expect(!case.contains_key("parse_error"), at, || {
        "parsed, expected a parse error".into()
    });
    let printed = expr.to_string();
    let reparsed = parse(&printed);
    tally.expect(reparsed.as_ref() == Ok(&expr), at, || {
        format!("printed form {printed:?} parses to {reparsed:?}")
    });
    if let Some(want) = case.get("print").and_then(Value::as_str) {
        tally.expect(printed == want, at, || format!("printed as {printed:?}"));
    }
    if let Some(want) = case.get("references").and_then(Value::as_array) {
        let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
        let got = expr.references();
        tally.expect(got == want, at, || format!("references() = {got:?}"));
    }
    if let Some(want) = case.get("search") {
        let searches = expr.searches();
        let ok = match searches.as_slice() {
            [s] => {
                s.stat == str_of(want, "stat")
                    && s.period == want.get("period").and_then(Value::as_i64)
            }
            _ => false,
        };
        tally.expect(ok, at, || format!("searches() = {searches:?}"));
    }
    let ctx = CaseContext::new(case);
    let output = match evaluate(&expr, &ctx) {
        Ok(o) => o,
        Err(e) => return check_error(tally, at, case, &e),
    };
    tally.expect(!case.contains_key("error"), at, || {
        format!("evaluated to {output:?}, expected an error")
    });
    if let Some(want) = case.get("scalar") {
        let ok = match (&output, want.as_f64()) {
            (Output::Scalar(x), Some(w)) => close(*x, w),
            (Output::Scalar(x), None) => x.is_nan(),
            _ => false,
        };
        tally.expect(ok, at, || format!("got {output:?}, expected scalar {want}"));
    }
    if let Some(want) = case.get("series").and_then(Value::as_array) {
        let got = match &output {
            Output::Series(s) => s.clone(),
            Output::Scalar(_) => Vec::new(),
        };
        let same_len = got.len() == want.len() && matches!(output, Output::Series(_));
        tally.expect(same_len, at, || {
            format!("got {output:?}, expected {} series", want.len())
        });
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let w_points = points(w.get("points"));
            let g_points: Vec<(i64, f64)> = g.points().collect();
            let ok = g_points.len() == w_points.len()
                && g_points
                    .iter()
                    .zip(&w_points)
                    .all(|(a, b)| a.0 == b.0 && close(a.1, b.1));
            tally.expect(ok, at, || {
                format!("series #{i}: got {g_points:?}, expected {w_points:?}")
            });
            if let Some(label) = w.get("label").and_then(Value::as_str) {
                tally.expect(g.label == label, at, || {
                    format!("series #{i}: label {:?}, expected {label:?}", g.label)
                });
            }
        }
    }
}

fn check_search(tally: &mut Tally, at: &str, case: &Map<String, Value>) {
    let text = case.get("query").and_then(Value::as_str).unwrap_or("");
    let repeat = case.get("repeat").and_then(Value::as_u64).unwrap_or(1) as usize;
    let text = text.repeat(repeat);
    let query = match parse_query(&text) {
        Ok(q) => q,
        Err(e) => return check_error(tally, at, case, &e),
    };
    tally.expect(!case.contains_key("error"), at, || {
        "parsed, expected an error".into()
    });
    let Some(want) = case.get("expect").and_then(Value::as_array) else {
        return;
    };
    let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
    let got: Vec<&str> = case
        .get("catalog")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| query.matches(str_of(m, "namespace"), str_of(m, "metric"), &dims_of(m)))
        .map(|m| str_of(m, "id"))
        .collect();
    tally.expect(got == want, at, || {
        format!("matched {got:?}, expected {want:?}")
    });
}

fn state_map(v: Option<&Value>) -> HashMap<String, AlarmState> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, s)| Some((k.clone(), AlarmState::parse(s.as_str()?)?)))
        .collect()
}

fn check_rule(tally: &mut Tally, at: &str, case: &Map<String, Value>) {
    let text = case.get("rule").and_then(Value::as_str).unwrap_or("");
    let repeat = case.get("repeat").and_then(Value::as_u64).unwrap_or(1) as usize;
    let joiner = case.get("joiner").and_then(Value::as_str).unwrap_or(" ");
    let text = vec![text; repeat].join(joiner);
    let parsed = match rule::parse(&text) {
        Ok(r) => r,
        Err(e) => return check_error(tally, at, case, &e),
    };
    tally.expect(!case.contains_key("error"), at, || {
        "parsed, expected an error".into()
    });
    let printed = parsed.to_string();
    let reparsed = rule::parse(&printed);
    tally.expect(reparsed.as_ref() == Ok(&parsed), at, || {
        format!("printed form {printed:?} parses to {reparsed:?}")
    });
    if let Some(want) = case.get("print").and_then(Value::as_str) {
        tally.expect(printed == want, at, || format!("printed as {printed:?}"));
    }
    if let Some(want) = case.get("alarms").and_then(Value::as_array) {
        let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
        let got = parsed.alarms();
        tally.expect(got == want, at, || format!("alarms() = {got:?}"));
    }
    let mut evaluations: Vec<(HashMap<String, AlarmState>, bool)> = Vec::new();
    if let Some(expect) = case.get("expect").and_then(Value::as_bool) {
        evaluations.push((state_map(case.get("states")), expect));
    }
    for e in case
        .get("evaluations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let expect = e.get("expect").and_then(Value::as_bool).unwrap_or(false);
        evaluations.push((state_map(e.get("states")), expect));
    }
    for (i, (states, expect)) in evaluations.iter().enumerate() {
        let got = parsed.evaluate(&|name| states.get(name).copied());
        tally.expect(got == *expect, at, || {
            format!("evaluation #{i} with {states:?}: {got}, expected {expect}")
        });
    }
}

fn check_cycle(tally: &mut Tally, at: &str, case: &Map<String, Value>) {
    let graph: HashMap<String, Vec<String>> = case
        .get("graph")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let refs = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(String::from))
                .collect();
            (k.clone(), refs)
        })
        .collect();
    let got = rule::find_cycle(&graph);
    match case.get("cycle") {
        Some(Value::Array(path)) => {
            let want: Vec<String> = path
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect();
            tally.expect(got.as_ref() == Some(&want), at, || {
                format!("find_cycle() = {got:?}, expected {want:?}")
            });
        }
        _ => tally.expect(got.is_none(), at, || format!("find_cycle() = {got:?}")),
    }
}

/// Checks one case (with the file's defaults applied), recording every failed
/// expectation with its file and index.
fn check(tally: &mut Tally, kind: &str, file: &str, index: usize, case: &Map<String, Value>) {
    let title = ["expr", "query", "rule"]
        .iter()
        .find_map(|k| case.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    let title: String = title.chars().take(80).collect();
    let at = format!("{file} case #{index} `{title}`");
    match kind {
        "math" => check_math(tally, &at, case),
        "search" => check_search(tally, &at, case),
        "rule" => check_rule(tally, &at, case),
        "cycle" => check_cycle(tally, &at, case),
        other => tally.expect(false, &at, || format!("unknown kind {other:?}")),
    }
}

fn data_files() -> Vec<PathBuf> {
    // At run time: a binary reused from a shared target directory may have been built
    // in another checkout, which the compile-time path would name.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf())
        .join("tests/data");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/data exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn data_driven_cases() {
    let mut tally = Tally {
        assertions: 0,
        failures: Vec::new(),
    };
    let mut cases = 0;
    let files = data_files();
    assert!(!files.is_empty(), "no data files found");
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(path).expect("readable data file");
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = str_of(&doc, "kind");
        let defaults = doc
            .get("defaults")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let list = doc
            .get("cases")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name}: no cases"));
        for (i, case) in list.iter().enumerate() {
            let mut merged = defaults.clone();
            if let Some(fields) = case.as_object() {
                merged.extend(fields.clone());
            }
            check(&mut tally, kind, &name, i, &merged);
            cases += 1;
        }
    }
    println!(
        "{cases} cases, {} assertions over {} files",
        tally.assertions,
        files.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{} of {} assertions failed:\n{}",
        tally.failures.len(),
        tally.assertions,
        tally.failures.join("\n")
    );
}

#[path = "cases/properties.rs"]
mod properties;

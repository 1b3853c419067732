//! Walks the data-driven cases in `tests/data/*.json`, one file per topic, so that the
//! expected behaviour of every operator reads as a table rather than as code.
//!
//! A case holds a `pattern` and any of: `events` (`[{message, match}]`); `error` (a
//! substring of the expected message) with an optional `position`; `matches_everything`;
//! `required` (the exact required substrings); `message` with `captures`
//! (`{selector: value}`), `absent` (selectors that must yield nothing) and `extracted`
//! (TestMetricFilter's values); `metric_value` with `value` or `metric_error`. `repeat`
//! repeats the pattern text that many times.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sightline_logfilter::{FieldValue, FilterPattern, MetricValue};

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

fn field_value(v: &Value) -> Option<FieldValue> {
    Some(match v {
        Value::Null => FieldValue::Null,
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Number(n) => FieldValue::Number(n.as_f64()?),
        Value::String(s) => FieldValue::String(s.clone()),
        _ => return None,
    })
}

/// Checks one case, recording every failed expectation with its file and index.
fn check(tally: &mut Tally, file: &str, index: usize, case: &Value) {
    let at = format!("{file} case #{index}");
    let Some(base) = case.get("pattern").and_then(Value::as_str) else {
        tally.expect(false, &at, || "case has no \"pattern\"".into());
        return;
    };
    let repeat = case.get("repeat").and_then(Value::as_u64).unwrap_or(1) as usize;
    let text = base.repeat(repeat);
    let at = format!("{at} `{}`", if repeat > 1 { base } else { &text });
    let parsed = FilterPattern::parse(&text);

    if let Some(expected) = case.get("error").and_then(Value::as_str) {
        match &parsed {
            Ok(_) => tally.expect(false, &at, || {
                format!("parsed, expected error containing {expected:?}")
            }),
            Err(e) => {
                let msg = e.to_string();
                tally.expect(msg.contains(expected), &at, || {
                    format!("error {msg:?} does not contain {expected:?}")
                });
                if let Some(want) = case.get("position").and_then(Value::as_u64) {
                    let got = e.position();
                    tally.expect(got == Some(want as usize), &at, || {
                        format!("error position {got:?}, expected {want}")
                    });
                }
            }
        }
        return;
    }
    let pattern = match parsed {
        Ok(p) => p,
        Err(e) => {
            tally.expect(false, &at, || format!("unexpected parse error: {e}"));
            return;
        }
    };
    tally.expect(pattern.text() == text, &at, || {
        "text() differs from input".into()
    });

    if let Some(events) = case.get("events").and_then(Value::as_array) {
        for (i, event) in events.iter().enumerate() {
            let message = event.get("message").and_then(Value::as_str).unwrap_or("");
            let want = event.get("match").and_then(Value::as_bool).unwrap_or(false);
            let got = pattern.matches(message);
            tally.expect(got == want, &at, || {
                format!("event #{i} {message:?}: matches() = {got}, expected {want}")
            });
            let evaluated = pattern.evaluate(message).is_some();
            tally.expect(evaluated == want, &at, || {
                format!("event #{i} {message:?}: evaluate() = {evaluated}, expected {want}")
            });
            if want {
                for needle in pattern.required_substrings() {
                    tally.expect(message.contains(&needle), &at, || {
                        format!("event #{i} matches but lacks required substring {needle:?}")
                    });
                }
            }
        }
    }

    if let Some(want) = case.get("matches_everything").and_then(Value::as_bool) {
        let got = pattern.matches_everything();
        tally.expect(got == want, &at, || format!("matches_everything() = {got}"));
    }

    if let Some(want) = case.get("required").and_then(Value::as_array) {
        let want: Vec<String> = want
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let got = pattern.required_substrings();
        tally.expect(got == want, &at, || {
            format!("required_substrings() = {got:?}, expected {want:?}")
        });
    }

    let message = case.get("message").and_then(Value::as_str);
    if let (Some(message), Some(captures)) =
        (message, case.get("captures").and_then(Value::as_object))
    {
        let Some(found) = pattern.evaluate(message) else {
            tally.expect(false, &at, || format!("{message:?} does not match"));
            return;
        };
        for (selector, expected) in captures {
            let got = found.get(selector);
            let want = field_value(expected);
            tally.expect(got == want, &at, || {
                format!("get({selector:?}) = {got:?}, expected {want:?}")
            });
        }
        for selector in case
            .get("absent")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let selector = selector.as_str().unwrap_or("");
            let got = found.get(selector);
            tally.expect(got.is_none(), &at, || {
                format!("get({selector:?}) = {got:?}, expected None")
            });
        }
    }

    if let Some(metric) = case.get("metric_value").and_then(Value::as_str) {
        let parsed = MetricValue::parse(metric, &pattern);
        if let Some(expected) = case.get("metric_error").and_then(Value::as_str) {
            match parsed {
                Ok(v) => tally.expect(false, &at, || {
                    format!("metric value {metric:?} parsed as {v:?}")
                }),
                Err(e) => {
                    let msg = e.to_string();
                    tally.expect(msg.contains(expected), &at, || {
                        format!("metric error {msg:?} does not contain {expected:?}")
                    });
                }
            }
            return;
        }
        let value = match parsed {
            Ok(v) => v,
            Err(e) => {
                tally.expect(false, &at, || {
                    format!("metric value {metric:?} refused: {e}")
                });
                return;
            }
        };
        if let Some(message) = message {
            let want = case.get("value").and_then(Value::as_f64);
            let got = pattern.evaluate(message).and_then(|c| value.value(&c));
            tally.expect(got == want, &at, || {
                format!("metric value = {got:?}, expected {want:?}")
            });
        }
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
    let files = data_files();
    assert!(!files.is_empty(), "no data files found");
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(path).expect("readable data file");
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases = doc
            .get("cases")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name}: no cases"));
        for (i, case) in cases.iter().enumerate() {
            check(&mut tally, &name, i, case);
        }
    }
    println!("{} assertions over {} files", tally.assertions, files.len());
    assert!(
        tally.failures.is_empty(),
        "{} of {} assertions failed:\n{}",
        tally.failures.len(),
        tally.assertions,
        tally.failures.join("\n")
    );
}

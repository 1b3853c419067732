//! The single integration test binary. It walks the data-driven cases in
//! `tests/data/*.json` (one file per topic, so expected behaviour reads as a table), runs
//! a property test comparing compiled patterns with the naive reference matcher in
//! `reference/mod.rs`, and the compiled `Matcher`'s own properties in `matcher/mod.rs`.
//!
//! A data file is `{"cases": [...]}`. A case holds a `pattern` (a JSON value, or a JSON
//! string taken as raw pattern text) and either `event` with `matches`, or `error`: a
//! substring the validation message must contain.

mod matcher;
mod reference;

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use sightline_patterns::{Error, Matcher, parse};

fn data_files() -> Vec<PathBuf> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
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

fn pattern_text(case: &Value) -> Option<String> {
    match case.get("pattern")? {
        Value::String(raw) => Some(raw.clone()),
        other => Some(other.to_string()),
    }
}

/// Checks one case, returning a description of the failure if any. Matching cases are
/// checked through both `Pattern::matches` and a one-pattern `Matcher`, and against the
/// reference matcher so the two implementations are held to the same table.
fn check(at: &str, case: &Value) -> Result<(), String> {
    let text = pattern_text(case).ok_or("case has no \"pattern\"")?;
    let parsed = parse(&text);
    if let Some(expected) = case.get("error").and_then(Value::as_str) {
        return match parsed {
            Ok(_) => Err(format!("{at}: parsed {text}, expected error {expected:?}")),
            Err(e @ (Error::Invalid { .. } | Error::Json(_))) => {
                let msg = e.to_string();
                if msg.contains(expected) {
                    Ok(())
                } else {
                    Err(format!("{at}: error {msg:?} does not contain {expected:?}"))
                }
            }
        };
    }
    let pattern = parsed.map_err(|e| format!("{at}: unexpected error for {text}: {e}"))?;
    let event = case.get("event").ok_or(format!("{at}: no \"event\""))?;
    let want = case
        .get("matches")
        .and_then(Value::as_bool)
        .ok_or(format!("{at}: no boolean \"matches\""))?;
    let got = pattern.matches(event);
    if got != want {
        return Err(format!(
            "{at}: {text} on {event} gave {got}, expected {want}"
        ));
    }
    let mut matcher = Matcher::new();
    matcher.add((), pattern);
    if matcher.matching(event).is_empty() == want {
        return Err(format!("{at}: Matcher disagrees for {text} on {event}"));
    }
    if let Some(reference) = reference::matches_text(&text, event)
        && reference != want
    {
        return Err(format!(
            "{at}: reference matcher gave {reference} for {text} on {event}"
        ));
    }
    Ok(())
}

#[test]
fn data_driven_cases() {
    let mut failures = Vec::new();
    let mut total = 0;
    for file in data_files() {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let text = fs::read_to_string(&file).expect("readable data file");
        let doc: Value = serde_json::from_str(&text).expect("data file is JSON");
        let cases = doc["cases"].as_array().expect("data file has \"cases\"");
        assert!(!cases.is_empty(), "{name} has no cases");
        for (i, case) in cases.iter().enumerate() {
            total += 1;
            if let Err(e) = check(&format!("{name} #{i}"), case) {
                failures.push(e);
            }
        }
    }
    assert!(total >= 150, "only {total} data cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matcher_returns_keys_in_insertion_order_and_uses_all_kinds() {
    let mut m = Matcher::new();
    let texts = [
        ("a", r#"{"source": ["aws.ec2"]}"#),
        ("b", r#"{"source": [{"prefix": "aws."}]}"#),
        (
            "c",
            r#"{"$or": [{"source": ["aws.ec2"]}, {"detail-type": ["x"]}]}"#,
        ),
        ("d", r#"{"source": ["aws.s3"]}"#),
        ("e", r#"{"detail": {"n": [5]}}"#),
    ];
    for (k, t) in texts {
        m.add(k, parse(t).expect("valid"));
    }
    assert_eq!(m.len(), 5);
    let ev = json!({"source": "aws.ec2", "detail": {"n": 5.0}});
    assert_eq!(m.matching(&ev), vec![&"a", &"b", &"c", &"e"]);
    let ev = json!({"source": "other", "detail-type": "x"});
    assert_eq!(m.matching(&ev), vec![&"c"]);
}

#[test]
fn errors_carry_paths() {
    let err = parse(r#"{"detail": {"n": [{"numeric": [">", "x"]}]}}"#).expect_err("invalid");
    match err {
        Error::Invalid { path, reason } => {
            assert_eq!(path, "$.detail.n[0].numeric[1]");
            assert!(reason.contains("must be followed by a number"), "{reason}");
        }
        Error::Json(e) => panic!("unexpected JSON error {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The compiled pattern, the indexed matcher and the reference matcher agree.
    #[test]
    fn compiled_agrees_with_reference(
        patterns in prop::collection::vec(reference::arb_pattern(), 1..6),
        event in reference::arb_event(),
    ) {
        let mut matcher = Matcher::new();
        let mut expected = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let compiled = parse(&p.to_string()).expect("generated pattern is valid");
            let want = reference::matches(p, &event);
            prop_assert_eq!(compiled.matches(&event), want, "pattern {} event {}", p, event);
            if want {
                expected.push(i);
            }
            matcher.add(i, compiled);
        }
        let got: Vec<usize> = matcher.matching(&event).into_iter().copied().collect();
        prop_assert_eq!(got, expected);
    }
}

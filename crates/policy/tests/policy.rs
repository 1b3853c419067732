//! Data-driven tests over `tests/data/*.json`, plus a property test of the wildcard matcher.
//!
//! Each data file is either an evaluation case (policies plus requests with expected outcomes)
//! or a parse case (one document, its kind, and the expected error substring or `null`).

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;
use sightline_policy::matching::{wildcard_match, wildcard_match_ignore_case};
use sightline_policy::{
    Context, Error, Outcome, Policy, PolicyKind, Principal, Request, authorize, authorize_strict,
};

/// Documents are usually written as JSON objects; a JSON string is passed through verbatim so
/// that cases can feed text that is not valid JSON.
fn document_text(doc: &Value) -> String {
    match doc {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

fn kind(value: Option<&Value>, default: PolicyKind) -> Result<PolicyKind, String> {
    match value.and_then(Value::as_str) {
        None => Ok(default),
        Some("Identity") => Ok(PolicyKind::Identity),
        Some("Resource") => Ok(PolicyKind::Resource),
        Some("Trust") => Ok(PolicyKind::Trust),
        Some(other) => Err(format!("unknown kind {other}")),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn principal(value: &Value) -> Principal {
    Principal {
        account: value["account"].as_str().unwrap_or_default().to_string(),
        arns: value["arns"]
            .as_array()
            .map(|arns| arns.iter().map(scalar).collect())
            .unwrap_or_default(),
        service: value["service"].as_str().map(str::to_string),
    }
}

fn context(value: &Value) -> Context {
    let mut context = Context::new();
    if let Value::Object(keys) = value {
        for (key, values) in keys {
            match values {
                Value::Array(items) => context.set_multi(key, items.iter().map(scalar).collect()),
                single => context.set(key, scalar(single)),
            }
        }
    }
    context
}

fn parse(doc: &Value, kind: PolicyKind) -> Result<Policy, String> {
    Policy::parse(&document_text(doc), kind).map_err(|Error::Malformed(m)| m)
}

fn check_parse_case(case: &Value) -> Result<(), String> {
    let kind = kind(case.get("kind"), PolicyKind::Identity)?;
    let result = parse(&case["parse"], kind);
    match (case["error"].as_str(), result) {
        (None, Ok(_)) => Ok(()),
        (None, Err(message)) => Err(format!("expected success, got error {message:?}")),
        (Some(expected), Ok(_)) => Err(format!("expected error containing {expected:?}, parsed")),
        (Some(expected), Err(message)) if message.contains(expected) => Ok(()),
        (Some(expected), Err(message)) => Err(format!(
            "expected error containing {expected:?}, got {message:?}"
        )),
    }
}

fn check_eval_case(case: &Value) -> Result<(), String> {
    let policies = &case["policies"];
    let identity = policies["identity"]
        .as_array()
        .map(|docs| {
            docs.iter()
                .map(|doc| parse(doc, PolicyKind::Identity))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|m| format!("identity policy failed to parse: {m}"))?
        .unwrap_or_default();
    let resource_kind = kind(policies.get("resource_kind"), PolicyKind::Resource)?;
    let resource = match &policies["resource"] {
        Value::Null => None,
        doc => Some(
            parse(doc, resource_kind)
                .map_err(|m| format!("resource policy failed to parse: {m}"))?,
        ),
    };
    let identity_refs: Vec<&Policy> = identity.iter().collect();
    let strict = case["strict"].as_bool().unwrap_or(false);
    let resource_account = case["resource_account"].as_str().unwrap_or_default();
    let requests = case["requests"]
        .as_array()
        .ok_or("an evaluation case needs a requests array")?;
    let mut failures = Vec::new();
    for (index, item) in requests.iter().enumerate() {
        let principal = principal(&item["principal"]);
        let context = context(&item["context"]);
        let request = Request {
            action: item["action"].as_str().unwrap_or_default(),
            resource: item["resource"].as_str().unwrap_or("*"),
            principal: &principal,
            context: &context,
        };
        let combine = if strict { authorize_strict } else { authorize };
        let outcome = combine(
            &identity_refs,
            resource.as_ref(),
            resource_account,
            &request,
        );
        let expected = match item["expect"].as_str() {
            Some("Allowed") => Outcome::Allowed,
            Some("ExplicitDeny") => Outcome::ExplicitDeny,
            Some("ImplicitDeny") => Outcome::ImplicitDeny,
            other => return Err(format!("request {index}: unknown expectation {other:?}")),
        };
        if outcome != expected {
            let label = item["name"].as_str().map(str::to_string);
            failures.push(format!(
                "request {} ({}): expected {expected:?}, got {outcome:?}",
                index,
                label.unwrap_or_else(|| request.action.to_string())
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Runs every case file under `dir` and returns how many ran, or every failure by file name.
fn check(dir: &Path) -> Result<usize, Vec<String>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| vec![format!("{}: {e}", dir.display())])?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()))
            .and_then(|case| {
                if case.get("parse").is_some() {
                    check_parse_case(&case)
                } else if case.get("policies").is_some() {
                    check_eval_case(&case)
                } else {
                    Err("neither a parse nor an evaluation case".to_string())
                }
            });
        if let Err(message) = outcome {
            failures.push(format!("{name}: {message}"));
        }
    }
    if failures.is_empty() {
        Ok(files.len())
    } else {
        Err(failures)
    }
}

#[test]
fn data_cases() {
    // At run time: a binary reused from a shared target directory may have been built
    // in another checkout.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf())
        .join("tests/data");
    match check(&dir) {
        Ok(count) => assert!(count >= 80, "only {count} case files found"),
        Err(failures) => panic!(
            "{} failing case file(s):\n{}",
            failures.len(),
            failures.join("\n")
        ),
    }
}

/// The obviously-correct exponential definition of `*`/`?` globbing.
fn naive_match(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => {
            naive_match(rest, text) || (!text.is_empty() && naive_match(pattern, &text[1..]))
        }
        Some(('?', rest)) => !text.is_empty() && naive_match(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && naive_match(rest, &text[1..]),
    }
}

proptest! {
    #[test]
    fn wildcard_matches_reference(pattern in "[ab*?:]{0,10}", text in "[ab*:]{0,14}") {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(wildcard_match(&pattern, &text), naive_match(&p, &t));
    }

    #[test]
    fn ignore_case_matches_reference(pattern in "[aAbB*?]{0,8}", text in "[aAbB]{0,12}") {
        let p: Vec<char> = pattern.to_lowercase().chars().collect();
        let t: Vec<char> = text.to_lowercase().chars().collect();
        prop_assert_eq!(wildcard_match_ignore_case(&pattern, &text), naive_match(&p, &t));
    }
}

//! What a target receives: the whole event, a constant `Input`, the part an `InputPath`
//! selects, or an `InputTransformer`'s template filled from the event.
//!
//! Templates follow EventBridge: a placeholder inside a JSON string takes the value's
//! text (escaped for the string), elsewhere its JSON form; a string template (not JSON)
//! takes values as plain text. A path that selects nothing yields `null` (empty text
//! inside a string). Placeholders that name no variable are left as written, since `<`
//! and `>` are ordinary characters in text templates.

use crate::model::Target;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// The reserved variables every template may use.
const RESERVED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    Any,
}

/// A JSON path in EventBridge's subset: `$`, dot-separated names (letters, digits,
/// `-`, `_`, `/`, `:`, `@`), `[n]` indices and `*` / `[*]` wildcards.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    steps: Vec<Step>,
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | ':' | '@' | '$')
}

impl Path {
    pub fn parse(text: &str) -> Option<Path> {
        let rest = text.trim().strip_prefix('$')?;
        let mut steps = Vec::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    let mut name = String::new();
                    while let Some(&n) = chars.peek() {
                        if n == '.' || n == '[' {
                            break;
                        }
                        if !name_char(n) && n != '*' {
                            return None;
                        }
                        name.push(n);
                        chars.next();
                    }
                    if name.is_empty() {
                        return None;
                    }
                    if name == "*" {
                        steps.push(Step::Any);
                    } else if name.contains('*') {
                        return None;
                    } else {
                        steps.push(Step::Field(name));
                    }
                }
                '[' => {
                    let mut inner = String::new();
                    for n in chars.by_ref() {
                        if n == ']' {
                            break;
                        }
                        inner.push(n);
                    }
                    if inner == "*" {
                        steps.push(Step::Any);
                    } else {
                        steps.push(Step::Index(inner.parse().ok()?));
                    }
                }
                _ => return None,
            }
        }
        Some(Path { steps })
    }

    /// The value the path selects; wildcards collect their matches into an array.
    pub fn select(&self, root: &Value) -> Option<Value> {
        let mut current = vec![root];
        let mut many = false;
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Field(f) => {
                        if let Some(x) = v.get(f) {
                            next.push(x);
                        }
                    }
                    Step::Index(i) => {
                        if let Some(x) = v.get(*i) {
                            next.push(x);
                        }
                    }
                    Step::Any => {
                        many = true;
                        match v {
                            Value::Array(a) => next.extend(a.iter()),
                            Value::Object(m) => next.extend(m.values()),
                            _ => {}
                        }
                    }
                }
            }
            current = next;
        }
        if many {
            Some(Value::Array(current.into_iter().cloned().collect()))
        } else {
            current.into_iter().next().cloned()
        }
    }
}

/// Checks a target's input settings as PutTargets does.
pub fn validate(target: &Target) -> Result<()> {
    let set = [
        target.input.is_some(),
        target.input_path.is_some(),
        target.input_transformer.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set > 1 {
        return Err(Error::Validation(format!(
            "Only one of Input, InputPath, or InputTransformer must be provided for target {}.",
            target.id
        )));
    }
    if let Some(input) = &target.input
        && serde_json::from_str::<Value>(input).is_err()
    {
        return Err(Error::Validation(format!(
            "Input for target {} must be a valid JSON text.",
            target.id
        )));
    }
    if let Some(p) = &target.input_path
        && Path::parse(p).is_none()
    {
        return Err(Error::Validation(format!(
            "InputPath for target {} is invalid.",
            target.id
        )));
    }
    if let Some(t) = &target.input_transformer {
        let paths = t.input_paths_map.clone().unwrap_or_default();
        if paths.len() > 100 {
            return Err(Error::Validation(format!(
                "InputPathsMap for target {} has more than 100 entries.",
                target.id
            )));
        }
        for (name, path) in &paths {
            if RESERVED.contains(&name.as_str()) || name.starts_with("aws.") {
                return Err(Error::Validation(format!(
                    "InputTransformer for target {}: the key {name} of InputPathsMap is reserved.",
                    target.id
                )));
            }
            if name.is_empty() || !name.chars().all(|c| name_char(c) || c == '.') {
                return Err(Error::Validation(format!(
                    "InputTransformer for target {}: the key {name} of InputPathsMap is invalid.",
                    target.id
                )));
            }
            if Path::parse(path).is_none() {
                return Err(Error::Validation(format!(
                    "InputTransformer for target {}: {path} is not a valid JSON path.",
                    target.id
                )));
            }
        }
        let template = t.input_template.trim();
        if looks_like_json(template) {
            // Placeholders stand for any JSON value; the template must be JSON around them.
            let probe = fill(template, &|_| Some(Value::String("x".into())), true);
            if serde_json::from_str::<Value>(&probe).is_err() {
                return Err(Error::Validation(format!(
                    "InputTemplate for target {} contains invalid JSON.",
                    target.id
                )));
            }
        }
    }
    Ok(())
}

fn looks_like_json(template: &str) -> bool {
    template.starts_with('{') || template.starts_with('[')
}

/// What one event gives a template: its variables and the reserved ones.
pub struct Context<'a> {
    pub event: &'a Value,
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    pub ingestion_time: &'a str,
}

/// The body a target receives for `event`.
pub fn render(target: &Target, ctx: &Context<'_>) -> String {
    if let Some(input) = &target.input {
        return input.clone();
    }
    if let Some(path) = &target.input_path {
        return Path::parse(path)
            .and_then(|p| p.select(ctx.event))
            .map(|v| v.to_string())
            .unwrap_or_else(|| "null".into());
    }
    let Some(t) = &target.input_transformer else {
        return ctx.event.to_string();
    };
    let mut vars: BTreeMap<&str, Option<Value>> = BTreeMap::new();
    for (name, path) in t.input_paths_map.iter().flatten() {
        vars.insert(
            name.as_str(),
            Path::parse(path).and_then(|p| p.select(ctx.event)),
        );
    }
    let lookup = |name: &str| -> Option<Value> {
        if let Some(v) = vars.get(name) {
            return Some(v.clone().unwrap_or(Value::Null));
        }
        match name {
            "aws.events.rule-arn" => Some(Value::String(ctx.rule_arn.into())),
            "aws.events.rule-name" => Some(Value::String(ctx.rule_name.into())),
            "aws.events.event.ingestion-time" => Some(Value::String(ctx.ingestion_time.into())),
            "aws.events.event.json" => Some(ctx.event.clone()),
            "aws.events.event" => {
                let mut e = ctx.event.clone();
                if let Some(m) = e.as_object_mut() {
                    m.remove("detail");
                }
                Some(e)
            }
            _ => None,
        }
    };
    let template = &t.input_template;
    fill(template, &lookup, looks_like_json(template.trim()))
}

/// Replaces `<name>` placeholders; `json` says whether the template is JSON, where a
/// placeholder's form depends on whether it sits inside a string.
fn fill(template: &str, lookup: &dyn Fn(&str) -> Option<Value>, json: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest[1..].find('>')
        {
            let name = &rest[1..1 + end];
            if !name.is_empty()
                && !name.contains(['<', ' ', '"'])
                && let Some(value) = lookup(name)
            {
                let text_form = || match &value {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                if !json {
                    out.push_str(&text_form());
                } else if in_string {
                    let quoted = Value::String(text_form()).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                } else {
                    out.push_str(&value.to_string());
                }
                rest = &rest[end + 2..];
                continue;
            }
        }
        if json {
            if escaped {
                escaped = false;
            } else if c == '\\' && in_string {
                escaped = true;
            } else if c == '"' {
                in_string = !in_string;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InputTransformer;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "version": "0", "id": "e1", "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2", "account": "123456789012", "time": "2026-11-27T10:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
            "detail": {"instance-id": "i-1", "state": "running", "n": 3, "tags": [{"k": "a"}, {"k": "b"}], "q": "say \"hi\""}
        })
    }

    fn ctx(e: &Value) -> Context<'_> {
        Context {
            event: e,
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
            rule_name: "r",
            ingestion_time: "2026-11-27T10:00:01Z",
        }
    }

    fn transformer(paths: &[(&str, &str)], template: &str) -> Target {
        Target {
            id: "t".into(),
            arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
            input_transformer: Some(InputTransformer {
                input_paths_map: Some(
                    paths
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                ),
                input_template: template.into(),
            }),
            ..Target::default()
        }
    }

    #[test]
    fn paths_select_fields_indices_and_wildcards() {
        let e = event();
        let sel = |p: &str| Path::parse(p).unwrap().select(&e);
        assert_eq!(sel("$.detail.instance-id"), Some(json!("i-1")));
        assert_eq!(
            sel("$.resources[0]"),
            Some(json!("arn:aws:ec2:us-east-1:123456789012:instance/i-1"))
        );
        assert_eq!(sel("$.detail.tags[*].k"), Some(json!(["a", "b"])));
        assert_eq!(sel("$.detail.missing"), None);
        assert_eq!(sel("$"), Some(e.clone()));
        assert!(Path::parse("detail.x").is_none());
        assert!(Path::parse("$..x").is_none());
        assert!(Path::parse("$.a b").is_none());
    }

    #[test]
    fn text_templates_take_plain_values() {
        let e = event();
        let t = transformer(
            &[
                ("instance", "$.detail.instance-id"),
                ("state", "$.detail.state"),
            ],
            "<instance> is in state \"<state>\"",
        );
        validate(&t).unwrap();
        assert_eq!(render(&t, &ctx(&e)), "i-1 is in state \"running\"");
    }

    #[test]
    fn json_templates_quote_by_position() {
        let e = event();
        let t = transformer(
            &[
                ("instance", "$.detail.instance-id"),
                ("n", "$.detail.n"),
                ("q", "$.detail.q"),
                ("none", "$.detail.nope"),
            ],
            r#"{"id": <instance>, "count": <n>, "text": "<instance> says <q>", "missing": <none>, "rule": "<aws.events.rule-name>", "whole": <aws.events.event.json>, "head": <aws.events.event>}"#,
        );
        validate(&t).unwrap();
        let out: Value = serde_json::from_str(&render(&t, &ctx(&e))).unwrap();
        assert_eq!(out["id"], json!("i-1"));
        assert_eq!(out["count"], json!(3));
        assert_eq!(out["text"], json!("i-1 says say \"hi\""));
        assert_eq!(out["missing"], Value::Null);
        assert_eq!(out["rule"], json!("r"));
        assert_eq!(out["whole"], e);
        assert!(out["head"].get("detail").is_none());
        assert_eq!(out["head"]["id"], json!("e1"));
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut t = transformer(&[("aws.events.rule-arn", "$.x")], "<x>");
        assert!(validate(&t).is_err());
        t = transformer(&[("x", "detail")], "<x>");
        assert!(validate(&t).is_err());
        t = transformer(&[("x", "$.x")], "{\"a\": <x>");
        assert!(validate(&t).is_err());
        let both = Target {
            id: "t".into(),
            input: Some("{}".into()),
            input_path: Some("$.detail".into()),
            ..Target::default()
        };
        assert!(
            validate(&both)
                .unwrap_err()
                .to_string()
                .contains("Only one of")
        );
        let bad_input = Target {
            id: "t".into(),
            input: Some("{nope".into()),
            ..Target::default()
        };
        assert!(validate(&bad_input).is_err());
    }

    #[test]
    fn input_and_input_path_forms() {
        let e = event();
        let t = Target {
            input_path: Some("$.detail.state".into()),
            ..Target::default()
        };
        assert_eq!(render(&t, &ctx(&e)), "\"running\"");
        let t = Target {
            input: Some("{\"fixed\":1}".into()),
            ..Target::default()
        };
        assert_eq!(render(&t, &ctx(&e)), "{\"fixed\":1}");
        assert_eq!(render(&Target::default(), &ctx(&e)), e.to_string());
    }
}

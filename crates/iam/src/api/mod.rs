//! Wire shapes and operation tables of STS, IAM and Organizations.

pub mod iam;
pub mod organizations;
pub mod shapes;
pub mod sts;

use sightline_wire::{ApiError, DeError, ResourceCtx, Value};

/// CloudTrail and IAM error messages name members in lower camel case.
pub fn member_name(path: &str) -> String {
    path.split('.')
        .map(|seg| {
            let mut c = seg.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Query services (IAM, STS) report shape violations as `ValidationError`.
pub fn query_invalid(e: &DeError) -> ApiError {
    let member = member_name(e.path());
    let message = match e {
        DeError::Missing(_) => {
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            )
        }
        DeError::Invalid { message, .. } => {
            format!("1 validation error detected: Value at '{member}' is invalid: {message}")
        }
    };
    ApiError::new(400, "ValidationError", message)
}

pub(crate) fn input_str<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

pub(crate) fn iam_arn(
    ctx: &ResourceCtx<'_>,
    kind: &str,
    input: &Value,
    member: &str,
) -> Vec<String> {
    let path = input_str(input, "Path").unwrap_or("/");
    match input_str(input, member) {
        Some(name) => vec![format!(
            "arn:{}:iam::{}:{kind}{path}{name}",
            ctx.partition, ctx.account_id
        )],
        None => vec![ctx.caller_arn.to_owned()],
    }
}

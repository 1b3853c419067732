//! Name and ARN rules of EventBridge resources, with the validation messages AWS's
//! request validation produces, so a client sees the same text either way.

use crate::{Error, Result};

pub const DEFAULT_BUS: &str = "default";

fn pattern_error(value: &str, member: &str, pattern: &str) -> Error {
    Error::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    ))
}

fn length_error(value: &str, member: &str, max: usize) -> Error {
    Error::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
    ))
}

fn plain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')
}

/// Rule, target, connection, API destination, archive and replay names:
/// `[\.\-_A-Za-z0-9]+` up to `max` characters.
pub fn simple(value: &str, member: &str, max: usize) -> Result<()> {
    if value.is_empty() || !value.bytes().all(plain) {
        return Err(pattern_error(value, member, r"[\.\-_A-Za-z0-9]+"));
    }
    if value.len() > max {
        return Err(length_error(value, member, max));
    }
    Ok(())
}

/// Event bus names may also contain `/` (partner buses); a custom bus may not be named
/// like a partner source.
pub fn bus(value: &str, member: &str) -> Result<()> {
    if value.is_empty() || !value.bytes().all(|c| plain(c) || c == b'/') {
        return Err(pattern_error(value, member, r"[/\.\-_A-Za-z0-9]+"));
    }
    if value.len() > 256 {
        return Err(length_error(value, member, 256));
    }
    Ok(())
}

pub fn bus_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:event-bus/{name}")
}

/// Rules on the default bus keep AWS's short ARN form.
pub fn rule_arn(region: &str, account: &str, bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        format!("arn:aws:events:{region}:{account}:rule/{name}")
    } else {
        format!("arn:aws:events:{region}:{account}:rule/{bus}/{name}")
    }
}

pub fn connection_arn(region: &str, account: &str, name: &str, id: &str) -> String {
    format!("arn:aws:events:{region}:{account}:connection/{name}/{id}")
}

pub fn api_destination_arn(region: &str, account: &str, name: &str, id: &str) -> String {
    format!("arn:aws:events:{region}:{account}:api-destination/{name}/{id}")
}

pub fn archive_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:archive/{name}")
}

pub fn replay_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:replay/{name}")
}

/// The parts of an ARN: (service, region, account, resource).
pub fn split_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return None;
    };
    if partition.is_empty() || service.is_empty() || rest.is_empty() {
        return None;
    }
    Some((service, region, account, rest))
}

/// A bus named by name or ARN: ((region, account), name), `None` for a bare name.
pub fn bus_ref(value: &str) -> Result<(Option<(String, String)>, String)> {
    if value.starts_with("arn:") {
        let (service, region, account, rest) = split_arn(value).ok_or_else(|| {
            Error::Validation(format!(
                "Parameter {value} is not valid. Reason: Provided Arn is not in correct format."
            ))
        })?;
        let name = rest
            .strip_prefix("event-bus/")
            .filter(|_| service == "events");
        return match name {
            Some(n) if !n.is_empty() && is_account(account) && !region.is_empty() => {
                Ok((Some((region.to_owned(), account.to_owned())), n.to_owned()))
            }
            _ => Err(Error::Validation(format!(
                "Parameter {value} is not valid. Reason: Provided Arn is not in correct format."
            ))),
        };
    }
    bus(value, "eventBusName")?;
    Ok((None, value.to_owned()))
}

pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_follow_aws_forms() {
        assert_eq!(
            rule_arn("us-east-1", "123456789012", "default", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(
            rule_arn("us-east-1", "123456789012", "ops", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/ops/r"
        );
        assert_eq!(
            bus_ref("arn:aws:events:us-east-1:123456789012:event-bus/ops").unwrap(),
            (
                Some(("us-east-1".into(), "123456789012".into())),
                "ops".into()
            )
        );
        assert!(bus_ref("arn:aws:sqs:us-east-1:123456789012:q").is_err());
        assert!(bus_ref("bad name").is_err());
    }

    #[test]
    fn names_are_checked_like_aws() {
        assert!(simple("ok.name-1_x", "name", 64).is_ok());
        let e = simple("no spaces", "name", 64).unwrap_err();
        assert!(e.to_string().contains("regular expression pattern"));
        assert!(simple(&"a".repeat(65), "name", 64).is_err());
    }
}

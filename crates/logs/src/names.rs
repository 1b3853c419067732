//! Name and value checks with the messages AWS gives for them (the service validates
//! patterns; the SDKs check only lengths and required members).

use crate::{Error, Result};

fn constraint(value: &str, member: &str, what: &str) -> Error {
    Error::InvalidParameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {what}"
    ))
}

fn length(value: &str, member: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n == 0 {
        return Err(constraint(
            value,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if n > max {
        return Err(constraint(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Log group names: 1–512 of `[.-_/#A-Za-z0-9]`.
pub fn group(name: &str, member: &str) -> Result<()> {
    length(name, member, 512)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
    {
        return Err(constraint(
            name,
            member,
            r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// Stream and filter names: 1–512 characters, none of them `:` or `*`.
pub fn stream(name: &str, member: &str) -> Result<()> {
    length(name, member, 512)?;
    if name.contains([':', '*']) {
        return Err(constraint(
            name,
            member,
            "Member must satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(())
}

/// Filter names follow the stream name rules.
pub fn filter(name: &str) -> Result<()> {
    stream(name, "filterName")
}

pub fn retention(days: i64) -> Result<u32> {
    match u32::try_from(days) {
        Ok(d) if crate::model::RETENTION_DAYS.contains(&d) => Ok(d),
        _ => {
            let allowed: Vec<String> = crate::model::RETENTION_DAYS
                .iter()
                .map(u32::to_string)
                .collect();
            Err(constraint(
                &days.to_string(),
                "retentionInDays",
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

/// Tags: at most 50 per group, keys 1–128 and values up to 256 characters, no
/// `aws:` prefix on keys.
pub fn tags<'a>(tags: impl Iterator<Item = (&'a String, &'a String)>) -> Result<()> {
    for (k, v) in tags {
        length(k, "tags.key", 128)?;
        if v.chars().count() > 256 {
            return Err(constraint(
                v,
                "tags.value",
                "Member must have length less than or equal to 256",
            ));
        }
        if k.starts_with("aws:") {
            return Err(Error::InvalidParameter(
                "Tag keys beginning with 'aws:' are reserved for AWS use.".into(),
            ));
        }
    }
    Ok(())
}

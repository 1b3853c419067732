//! Reading an S3 request: path labels, query parameters, headers, the raw body and the
//! small XML documents some operations send.

use crate::engine::SseRequest;
use crate::model::{DefaultRetention, LockMode, Retention};
use crate::{Error, Result};
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use md5::Md5;
use sha2::{Digest, Sha256};
use sightline_wire::Value;
use sightline_wire::codec::xml;
use std::collections::BTreeMap;

pub struct Input<'a>(pub &'a Value);

impl<'a> Input<'a> {
    fn str(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A path label the route guarantees.
    pub fn label(&self, name: &str) -> Result<&'a str> {
        self.str(name)
            .ok_or_else(|| Error::InvalidArgument(format!("missing {name}")))
    }

    pub fn query(&self, name: &str) -> Option<&'a str> {
        self.str(name)
    }

    /// A request header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.0.get("$headers")?.get(name)?.as_str()
    }

    fn headers(&self) -> impl Iterator<Item = (&'a String, &'a str)> {
        let map = match self.0.get("$headers") {
            Some(Value::Map(m)) => Some(m),
            _ => None,
        };
        map.into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
    }

    fn raw_body(&self) -> &'a [u8] {
        match self.0.get("Body") {
            Some(Value::Blob(b)) => b,
            _ => &[],
        }
    }

    /// The body, copied out for storing.
    pub fn body(&self) -> Bytes {
        Bytes::copy_from_slice(self.raw_body())
    }

    /// The body, checked against `Content-MD5` and `x-amz-content-sha256` (the
    /// signature covers that header, so the body must match it). Every S3 request is
    /// checked before it is authorized; streaming (aws-chunked) payloads are not
    /// decoded here and are refused.
    pub fn check_body(&self) -> Result<()> {
        let body = self.raw_body();
        match self.header("x-amz-content-sha256") {
            Some(h) if h.starts_with("STREAMING-") => {
                return Err(Error::NotImplemented(
                    "aws-chunked (streaming) payloads are not supported; send the payload unchunked".into(),
                ));
            }
            Some(h) if h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                if !h.eq_ignore_ascii_case(&hex::encode(Sha256::digest(body))) {
                    return Err(Error::ContentSha256Mismatch);
                }
            }
            Some("UNSIGNED-PAYLOAD") | None => {}
            Some(_) => {
                return Err(Error::InvalidArgument(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest".into(),
                ));
            }
        }
        if let Some(md5) = self.header("content-md5") {
            let want = base64::engine::general_purpose::STANDARD
                .decode(md5.trim())
                .map_err(|_| {
                    Error::InvalidArgument("The Content-MD5 you specified was invalid.".into())
                })?;
            if want.as_slice() != Md5::digest(body).as_slice() {
                return Err(Error::BadDigest);
            }
        }
        Ok(())
    }

    /// `x-amz-meta-*` headers, names without the prefix.
    pub fn user_metadata(&self) -> BTreeMap<String, String> {
        self.headers()
            .filter_map(|(k, v)| {
                k.strip_prefix("x-amz-meta-")
                    .map(|n| (n.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// The body as an XML document: (root element, members).
    pub fn xml(&self) -> Result<Option<(String, Value)>> {
        let body = self.raw_body();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        xml::parse(body).map(Some).map_err(|_| Error::MalformedXml)
    }
}

pub fn location_constraint(i: &Input<'_>) -> Result<Option<String>> {
    Ok(i.xml()?.and_then(|(_, v)| {
        v.get("LocationConstraint")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }))
}

/// `PutBucketVersioning`: true for Enabled, false for Suspended.
pub fn versioning_status(i: &Input<'_>) -> Result<bool> {
    let (root, v) = i.xml()?.ok_or(Error::MalformedXml)?;
    if root != "VersioningConfiguration" {
        return Err(Error::MalformedXml);
    }
    match v.get("Status").and_then(Value::as_str) {
        Some("Enabled") => Ok(true),
        Some("Suspended") => Ok(false),
        _ => Err(Error::MalformedXml),
    }
}

pub struct DeleteRequest {
    pub objects: Vec<(String, Option<String>)>,
    pub quiet: bool,
}

/// `DeleteObjects`: at most 1000 keys.
pub fn delete_request(i: &Input<'_>) -> Result<DeleteRequest> {
    let (root, v) = i.xml()?.ok_or(Error::MalformedXml)?;
    if root != "Delete" {
        return Err(Error::MalformedXml);
    }
    let objects = match v.get("Object") {
        Some(Value::List(l)) => l.iter().collect::<Vec<_>>(),
        Some(one @ Value::Map(_)) => vec![one],
        _ => return Err(Error::MalformedXml),
    };
    if objects.len() > 1000 {
        return Err(Error::MalformedXml);
    }
    let objects = objects
        .into_iter()
        .map(|o| {
            let key = o
                .get("Key")
                .and_then(Value::as_str)
                .ok_or(Error::MalformedXml)?;
            let version = o
                .get("VersionId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok((key.to_owned(), version))
        })
        .collect::<Result<Vec<_>>>()?;
    let quiet = v.get("Quiet").and_then(Value::as_str) == Some("true");
    Ok(DeleteRequest { objects, quiet })
}

/// `x-amz-server-side-encryption` (with `-aws-kms-key-id` for `aws:kms`).
pub fn sse(i: &Input<'_>) -> Result<Option<SseRequest>> {
    match i.header("x-amz-server-side-encryption") {
        None => Ok(None),
        Some("AES256") => Ok(Some(SseRequest::S3Managed)),
        Some("aws:kms") => match i.header("x-amz-server-side-encryption-aws-kms-key-id") {
            Some(k) if !k.is_empty() => Ok(Some(SseRequest::Kms(k.to_owned()))),
            // AWS falls back to the account's aws/s3 managed key, which this server
            // does not create: the caller names a key of its own.
            _ => Err(Error::InvalidArgument(
                "x-amz-server-side-encryption-aws-kms-key-id is required with aws:kms on this server".into(),
            )),
        },
        Some(other) => Err(Error::InvalidArgument(format!(
            "The encryption method specified is not supported: {other}"
        ))),
    }
}

/// `x-amz-bypass-governance-retention: true`.
pub fn bypass_governance(i: &Input<'_>) -> bool {
    i.header("x-amz-bypass-governance-retention")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::InvalidArgument(format!("Invalid date '{s}'")))
}

fn mode(s: Option<&str>) -> Result<LockMode> {
    s.and_then(LockMode::parse)
        .ok_or_else(|| Error::InvalidArgument("Unknown wormMode directive.".into()))
}

/// PutObject's `x-amz-object-lock-mode` and `x-amz-object-lock-retain-until-date`: both
/// or neither.
pub fn lock_headers(i: &Input<'_>) -> Result<Option<Retention>> {
    match (
        i.header("x-amz-object-lock-mode"),
        i.header("x-amz-object-lock-retain-until-date"),
    ) {
        (None, None) => Ok(None),
        (Some(m), Some(d)) => {
            let until = parse_time(d)?;
            if until <= Utc::now() {
                return Err(Error::InvalidArgument(
                    "The retain until date must be in the future!".into(),
                ));
            }
            Ok(Some(Retention {
                mode: mode(Some(m))?,
                until,
            }))
        }
        _ => Err(Error::InvalidArgument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
                .into(),
        )),
    }
}

fn leaf<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// PutObjectLockConfiguration: the bucket default retention (none without a rule).
pub fn lock_configuration(i: &Input<'_>) -> Result<Option<DefaultRetention>> {
    let (root, v) = i.xml()?.ok_or(Error::MalformedXml)?;
    if root != "ObjectLockConfiguration" || leaf(&v, &["ObjectLockEnabled"]) != Some("Enabled") {
        return Err(Error::MalformedXml);
    }
    let Some(rule) = v.get("Rule").and_then(|r| r.get("DefaultRetention")) else {
        return Ok(None);
    };
    let number = |name: &str| -> Result<Option<i64>> {
        match leaf(rule, &[name]) {
            None => Ok(None),
            // At most a century either way: a retention date must stay representable.
            Some(n) => match n.trim().parse::<i64>() {
                Ok(n) if n > 0 && n <= if name == "Days" { 36_500 } else { 100 } => Ok(Some(n)),
                _ => Err(Error::InvalidArgument(
                    "Default retention period must be a positive integer value.".into(),
                )),
            },
        }
    };
    let (days, years) = (number("Days")?, number("Years")?);
    if days.is_some() == years.is_some() {
        return Err(Error::MalformedXml);
    }
    Ok(Some(DefaultRetention {
        mode: mode(leaf(rule, &["Mode"]))?,
        days,
        years,
    }))
}

/// PutObjectRetention: the new retention, or none to remove it.
pub fn retention(i: &Input<'_>) -> Result<Option<Retention>> {
    let Some((root, v)) = i.xml()? else {
        return Ok(None);
    };
    if root != "Retention" {
        return Err(Error::MalformedXml);
    }
    match (leaf(&v, &["Mode"]), leaf(&v, &["RetainUntilDate"])) {
        (None, None) => Ok(None),
        (Some(m), Some(d)) => Ok(Some(Retention {
            mode: mode(Some(m))?,
            until: parse_time(d)?,
        })),
        _ => Err(Error::MalformedXml),
    }
}

/// PutObjectLegalHold: ON or OFF.
pub fn legal_hold(i: &Input<'_>) -> Result<bool> {
    let (root, v) = i.xml()?.ok_or(Error::MalformedXml)?;
    match (root.as_str(), leaf(&v, &["Status"])) {
        ("LegalHold", Some("ON")) => Ok(true),
        ("LegalHold", Some("OFF")) => Ok(false),
        _ => Err(Error::MalformedXml),
    }
}

/// A single `bytes=` range resolved against the object size: `Ok(None)` for no (or an
/// ignorable) Range header, `Err(InvalidRange)` when unsatisfiable.
pub fn byte_range(header: Option<&str>, size: u64) -> Result<Option<std::ops::Range<u64>>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    // Several ranges are not supported by S3 either: it answers with the whole object.
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            let n: u64 = b.parse().map_err(|_| Error::InvalidRange)?;
            if n == 0 {
                return Err(Error::InvalidRange);
            }
            size.saturating_sub(n)..size
        }
        (false, _) => {
            let start: u64 = a.parse().map_err(|_| Error::InvalidRange)?;
            let end = match b.is_empty() {
                true => size.saturating_sub(1),
                false => b
                    .parse::<u64>()
                    .map_err(|_| Error::InvalidRange)?
                    .min(size.saturating_sub(1)),
            };
            if start >= size {
                return Err(Error::InvalidRange);
            }
            // A last byte before the first makes the header invalid: it is ignored.
            if end < start {
                return Ok(None);
            }
            start..end + 1
        }
    };
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_resolve_like_s3() {
        assert_eq!(byte_range(Some("bytes=0-9"), 100).unwrap(), Some(0..10));
        assert_eq!(byte_range(Some("bytes=90-"), 100).unwrap(), Some(90..100));
        assert_eq!(byte_range(Some("bytes=-10"), 100).unwrap(), Some(90..100));
        assert_eq!(byte_range(Some("bytes=-500"), 100).unwrap(), Some(0..100));
        assert_eq!(
            byte_range(Some("bytes=95-200"), 100).unwrap(),
            Some(95..100)
        );
        assert!(byte_range(Some("bytes=100-"), 100).is_err());
        assert_eq!(byte_range(Some("bytes=5-1"), 100).unwrap(), None);
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100).unwrap(), None);
        assert_eq!(byte_range(Some("items=0-1"), 100).unwrap(), None);
        assert_eq!(byte_range(None, 100).unwrap(), None);
    }
}

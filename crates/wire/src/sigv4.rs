//! AWS Signature Version 4: parsing, verification and (for tests and load clients) signing.
//!
//! Verification recomputes the signature over exactly the headers the client says it
//! signed; a signing library decides its own header set, so it cannot verify arbitrary
//! clients, which is why the canonicalisation lives here.

use crate::error::CommonError;
use crate::protocol::{WireRequest, header};
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const MAX_SKEW_SECONDS: i64 = 15 * 60;
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// RFC 3986 unreserved characters stay; everything else is escaped.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const PATH: &AsciiSet = &STRICT.remove(b'/');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Credential {
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub credential: Credential,
    pub signed_headers: Vec<String>,
    pub signature: String,
    pub amz_date: String,
    pub time: DateTime<Utc>,
    pub security_token: Option<String>,
    /// Presigned URLs carry the signature in the query string.
    pub presigned: bool,
    pub expires_seconds: Option<i64>,
}

fn parse_credential(s: &str) -> Result<Credential, CommonError> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, "aws4_request"] if !key.is_empty() && date.len() == 8 => {
            Ok(Credential {
                access_key_id: (*key).to_owned(),
                date: (*date).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
            })
        }
        _ => Err(CommonError::IncompleteSignature(format!(
            "Credential should be scoped to a valid region, a valid service and end with aws4_request. Got '{s}'."
        ))),
    }
}

fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Reads the signature from the Authorization header or the presigned query string.
/// `Ok(None)` means the request carries no SigV4 authentication at all.
pub fn parse(req: &WireRequest<'_>) -> Result<Option<ParsedAuth>, CommonError> {
    if let Some(auth) = header(req.headers, "authorization") {
        let rest = auth.strip_prefix(ALGORITHM).ok_or_else(|| {
            CommonError::IncompleteSignature(format!(
                "Unsupported authorization type: '{}'",
                auth.split(' ').next().unwrap_or("")
            ))
        })?;
        let (mut cred, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                cred = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                sig = Some(v);
            }
        }
        let missing = |what: &str| {
            CommonError::IncompleteSignature(format!(
                "Authorization header requires '{what}' parameter. Authorization={auth}"
            ))
        };
        let credential = parse_credential(cred.ok_or_else(|| missing("Credential"))?)?;
        let signed_headers = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = sig.ok_or_else(|| missing("Signature"))?.to_owned();
        let amz_date = header(req.headers, "x-amz-date")
            .map(str::to_owned)
            .ok_or_else(|| missing("X-Amz-Date"))?;
        let time = parse_amz_date(&amz_date).ok_or_else(|| {
            CommonError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
            ))
        })?;
        return Ok(Some(ParsedAuth {
            credential,
            signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
            signature,
            amz_date,
            time,
            security_token: header(req.headers, "x-amz-security-token").map(str::to_owned),
            presigned: false,
            expires_seconds: None,
        }));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(alg) = get("X-Amz-Algorithm") else {
        return Ok(None);
    };
    if alg != ALGORITHM {
        return Err(CommonError::IncompleteSignature(format!(
            "Unsupported algorithm '{alg}'"
        )));
    }
    let missing = |what: &str| {
        CommonError::IncompleteSignature(format!(
            "Query-string authentication requires the {what} parameter"
        ))
    };
    let credential =
        parse_credential(&get("X-Amz-Credential").ok_or_else(|| missing("X-Amz-Credential"))?)?;
    let amz_date = get("X-Amz-Date").ok_or_else(|| missing("X-Amz-Date"))?;
    let time = parse_amz_date(&amz_date).ok_or_else(|| {
        CommonError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ))
    })?;
    let signed = get("X-Amz-SignedHeaders").ok_or_else(|| missing("X-Amz-SignedHeaders"))?;
    let signature = get("X-Amz-Signature").ok_or_else(|| missing("X-Amz-Signature"))?;
    let expires_seconds = match get("X-Amz-Expires") {
        Some(e) => Some(e.parse::<i64>().map_err(|_| missing("X-Amz-Expires"))?),
        None => None,
    };
    Ok(Some(ParsedAuth {
        credential,
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature,
        amz_date,
        time,
        security_token: get("X-Amz-Security-Token"),
        presigned: true,
        expires_seconds,
    }))
}

/// The 15-minute window (and a presigned URL's own expiry).
pub fn check_time(auth: &ParsedAuth, now: DateTime<Utc>) -> Result<(), CommonError> {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    if !auth.amz_date.starts_with(&auth.credential.date) {
        return Err(CommonError::SignatureDoesNotMatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            auth.credential.date,
            auth.amz_date.get(..8).unwrap_or(""),
            auth.amz_date
        )));
    }
    if auth.presigned {
        let expires = auth.expires_seconds.unwrap_or(MAX_SKEW_SECONDS);
        if now > auth.time + chrono::Duration::seconds(expires) {
            return Err(CommonError::SignatureExpired(format!(
                "Signature expired: {} is now earlier than {} ({} - {} sec.)",
                auth.amz_date,
                fmt(now - chrono::Duration::seconds(expires)),
                fmt(now),
                expires
            )));
        }
    }
    let skew = (now - auth.time).num_seconds();
    if skew > MAX_SKEW_SECONDS && !auth.presigned {
        return Err(CommonError::SignatureExpired(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            auth.amz_date,
            fmt(now - chrono::Duration::seconds(MAX_SKEW_SECONDS)),
            fmt(now)
        )));
    }
    if -skew > MAX_SKEW_SECONDS {
        return Err(CommonError::SignatureExpired(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            auth.amz_date,
            fmt(now + chrono::Duration::seconds(MAX_SKEW_SECONDS)),
            fmt(now)
        )));
    }
    Ok(())
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The derived signing key; callers cache it per (key, date, region, service).
pub fn signing_key(secret: &str, cred: &Credential) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), cred.date.as_bytes());
    let k_region = hmac(&k_date, cred.region.as_bytes());
    let k_service = hmac(&k_region, cred.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, STRICT).to_string(),
                utf8_percent_encode(&v, STRICT).to_string(),
            )
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Collapses runs of spaces and trims, as SigV4 canonical header values require.
fn canonical_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for word in v.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes empty, `.` and `..` segments, as every service but S3 does before signing
/// (`//a/./b/../c/` becomes `/a/c/`); a trailing slash stays if a segment remains.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if segments.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// Builds the canonical request. `s3` selects S3's rules: the path as sent, encoded once;
/// other services normalise the path and encode it again.
pub fn canonical_request(
    req: &WireRequest<'_>,
    signed_headers: &[String],
    presigned: bool,
    s3: bool,
) -> String {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let uri = if s3 {
        path.to_owned()
    } else {
        utf8_percent_encode(&normalize_path(path), PATH).to_string()
    };
    let mut out = String::with_capacity(256 + req.query.len());
    out.push_str(req.method.as_str());
    out.push('\n');
    out.push_str(&uri);
    out.push('\n');
    out.push_str(&canonical_query(req.query, presigned));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| canonical_header_value(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    let payload = match header(req.headers, "x-amz-content-sha256") {
        Some(h) if s3 => h.to_owned(),
        _ if presigned && s3 => "UNSIGNED-PAYLOAD".to_owned(),
        _ => hex::encode(Sha256::digest(req.body)),
    };
    out.push_str(&payload);
    out
}

pub fn string_to_sign(amz_date: &str, cred: &Credential, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        cred.scope(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

pub fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}

/// Verifies the signature with a derived key. Comparison is constant-time.
pub fn verify(
    req: &WireRequest<'_>,
    auth: &ParsedAuth,
    key: &[u8; 32],
    s3: bool,
) -> Result<(), CommonError> {
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(CommonError::SignatureDoesNotMatch(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let canonical = canonical_request(req, &auth.signed_headers, auth.presigned, s3);
    let sts = string_to_sign(&auth.amz_date, &auth.credential, &canonical);
    let expected = signature(key, &sts);
    let ok = expected.len() == auth.signature.len()
        && expected
            .bytes()
            .zip(auth.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if ok {
        Ok(())
    } else {
        Err(CommonError::SignatureDoesNotMatch(MISMATCH.into()))
    }
}

/// Signs a request in place (Authorization and X-Amz-Date headers), for the load client,
/// the CLI and Rust tests. Signs `host`, `x-amz-date`, `content-type`, `x-amz-target` and
/// `x-amz-security-token` when present.
#[allow(clippy::too_many_arguments)] // mirrors the parts of an HTTP request; a struct would only rename them
pub fn sign(
    method: &http::Method,
    path: &str,
    query: &str,
    headers: &mut http::HeaderMap,
    body: &[u8],
    cred: &Credential,
    secret: &str,
    now: DateTime<Utc>,
) {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    if let Ok(v) = http::HeaderValue::from_str(&amz_date) {
        headers.insert("x-amz-date", v);
    }
    let mut signed: Vec<String> = [
        "host",
        "x-amz-date",
        "content-type",
        "x-amz-target",
        "x-amz-security-token",
    ]
    .iter()
    .filter(|h| headers.contains_key(**h))
    .map(|h| (*h).to_owned())
    .collect();
    signed.sort();
    let req = WireRequest {
        method,
        path,
        query,
        headers,
        body,
    };
    let canonical = canonical_request(&req, &signed, false, false);
    let sts = string_to_sign(&amz_date, cred, &canonical);
    let sig = signature(&signing_key(secret, cred), &sts);
    let value = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={sig}",
        cred.access_key_id,
        cred.scope(),
        signed.join(";")
    );
    if let Ok(v) = http::HeaderValue::from_str(&value) {
        headers.insert("authorization", v);
    }
}

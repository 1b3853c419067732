//! CloudTrail's file formats: where log and digest files go in the bucket, what a
//! digest holds, and the string its signature covers. Shared by the delivery loop that
//! writes them and the verifier that checks them, and pinned by `aws cloudtrail
//! validate-logs` in the conformance suite.

use crate::model::{LogFile, PreviousDigest};
use chrono::{DateTime, Utc};
use serde_json::{Value as J, json};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
pub const HASH_ALGORITHM: &str = "SHA-256";

/// `2015-08-17T14:01:31Z`: how digests write times.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn with_prefix(prefix: Option<&str>, key: String) -> String {
    match prefix.filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/{key}"),
        None => key,
    }
}

/// `[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<16 chars>.json.gz`
pub fn log_file_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    delivered: &DateTime<Utc>,
    unique: &str,
) -> String {
    with_prefix(
        prefix,
        format!(
            "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
            delivered.format("%Y/%m/%d"),
            delivered.format("%Y%m%dT%H%MZ"),
        ),
    )
}

/// `[prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_YYYYMMDDTHHMMSSZ.json.gz`
pub fn digest_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    trail: &str,
    home_region: &str,
    end: &DateTime<Utc>,
) -> String {
    with_prefix(
        prefix,
        format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{trail}_{home_region}_{}.json.gz",
            end.format("%Y/%m/%d"),
            end.format("%Y%m%dT%H%M%SZ"),
        ),
    )
}

/// The listing prefix of a region's digests.
pub fn digest_prefix(prefix: Option<&str>, account: &str, region: &str) -> String {
    with_prefix(
        prefix,
        format!("AWSLogs/{account}/CloudTrail-Digest/{region}/"),
    )
}

/// The listing prefix of a region's log files.
pub fn log_prefix(prefix: Option<&str>, account: &str, region: &str) -> String {
    with_prefix(prefix, format!("AWSLogs/{account}/CloudTrail/{region}/"))
}

/// The time a digest key carries (its end time), as `YYYYMMDDTHHMMSSZ`.
pub fn digest_key_time(key: &str) -> Option<DateTime<Utc>> {
    let stem = key.strip_suffix(".json.gz")?;
    let stamp = stem.rsplit('_').next()?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8 + 64),
        flate2::Compression::default(),
    );
    e.write_all(bytes)?;
    e.finish()
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 8);
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// A log file's bytes: `{"Records":[…]}` around records that are already JSON.
pub fn log_file_body<'a>(records: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut out = b"{\"Records\":[".to_vec();
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// Everything a digest states.
pub struct DigestParts<'a> {
    pub account: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bucket: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a str,
    pub previous: Option<&'a PreviousDigest>,
    pub logs: &'a [LogFile],
}

/// The digest document, fields in CloudTrail's order.
pub fn digest_document(p: &DigestParts<'_>) -> J {
    let newest = p.logs.iter().map(|l| l.newest_event_time).max();
    let oldest = p.logs.iter().map(|l| l.oldest_event_time).min();
    let logs: Vec<J> = p
        .logs
        .iter()
        .map(|l| {
            json!({
                "s3Bucket": l.bucket,
                "s3Object": l.key,
                "hashValue": l.hash,
                "hashAlgorithm": HASH_ALGORITHM,
                "newestEventTime": format_time(&l.newest_event_time),
                "oldestEventTime": format_time(&l.oldest_event_time),
            })
        })
        .collect();
    json!({
        "awsAccountId": p.account,
        "digestStartTime": format_time(&p.start),
        "digestEndTime": format_time(&p.end),
        "digestS3Bucket": p.bucket,
        "digestS3Object": p.key,
        "digestPublicKeyFingerprint": p.fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "newestEventTime": newest.as_ref().map(format_time),
        "oldestEventTime": oldest.as_ref().map(format_time),
        "previousDigestS3Bucket": p.previous.map(|d| d.bucket.clone()),
        "previousDigestS3Object": p.previous.map(|d| d.key.clone()),
        "previousDigestHashValue": p.previous.map(|d| d.hash.clone()),
        "previousDigestHashAlgorithm": p.previous.map(|_| HASH_ALGORITHM),
        "previousDigestSignature": p.previous.map(|d| d.signature.clone()),
        "logFiles": logs,
    })
}

/// What the signature covers: the end time as written, where the digest lives, the
/// hash of its uncompressed bytes, and the previous signature (`null` for the first).
pub fn string_to_sign(
    end_time: &str,
    bucket: &str,
    key: &str,
    digest_bytes: &[u8],
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{end_time}\n{bucket}/{key}\n{}\n{}",
        sha256_hex(digest_bytes),
        previous_signature.unwrap_or("null")
    )
}

/// Hex MD5 of a DER public key: how digests and ListPublicKeys name a key.
pub fn fingerprint(public_der: &[u8]) -> String {
    use md5::Md5;
    hex::encode(Md5::digest(public_der))
}

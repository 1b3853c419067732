//! The trail verifier behind `sightline trail verify`: everything `aws cloudtrail
//! validate-logs` checks (each digest's location and signature, each log file's hash),
//! and what it lets through: a digest whose `previousDigestHashValue` does not match the
//! previous digest, a chain whose links skip, repeat or reorder digests, a deleted newest
//! digest (given when the trail last delivered one), log files in the bucket that no
//! digest lists, and any signature or hash algorithm other than SHA-256 with RSA.

pub mod source;

use crate::digest::{
    self, HASH_ALGORITHM, SIGNATURE_ALGORITHM, digest_key, digest_key_time, digest_prefix,
    format_time, log_prefix, string_to_sign,
};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::Value as J;
use source::Source;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

/// Requests (digests, then log files) kept in flight at once by default. From outside
/// the server's machine a request's time is mostly its round trip (an S3 GetObject's
/// first byte takes 10-30 ms), so the verifier waits on the network unless many are in
/// flight. Measured with bench/trail_verify.sh (BENCH_SHAPE=realistic: 1,300 log files
/// of 4 KB gzipped, 104 digests, 20 ms round trip, kept-alive connections): 64 took
/// 0.74 s, 256 0.60 s, about the loopback time. Files waiting for a core to hash them
/// stay in memory, at most this many.
pub const DEFAULT_CONCURRENCY: usize = 256;

/// What to verify.
pub struct Plan {
    pub account: String,
    /// The region whose files are checked (CloudTrail's source region).
    pub region: String,
    pub trail_name: String,
    pub home_region: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// DER public keys by fingerprint (ListPublicKeys).
    pub public_keys: HashMap<String, Vec<u8>>,
    /// When the trail last delivered a digest (GetTrailStatus), to catch a deleted tail.
    pub latest_digest: Option<DateTime<Utc>>,
    /// The trail has stopped logging and its last digest lists everything delivered, so
    /// no log file after that digest is legitimately unlisted.
    pub closed: bool,
    /// Requests kept in flight at once ([`DEFAULT_CONCURRENCY`]; 0 counts as 1).
    pub concurrency: usize,
}

/// Progress of a run, for a progress bar.
pub trait Progress: Send + Sync {
    fn digests(&self, total: u64);
    fn logs(&self, total: u64);
    fn file_done(&self, bytes: u64);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn digests(&self, _: u64) {}
    fn logs(&self, _: u64) {}
    fn file_done(&self, _: u64) {}
}

/// The outcome, with a line per finding in the AWS CLI's style (`Digest file\ts3://…\tINVALID: …`).
#[derive(Debug, Default)]
pub struct Report {
    pub digests_valid: u64,
    pub digests_invalid: u64,
    pub logs_valid: u64,
    pub logs_invalid: u64,
    /// Problems the AWS CLI does not report (chain, tail, unlisted files, algorithms).
    pub chain_errors: u64,
    /// Uncompressed bytes of log files hashed.
    pub log_bytes: u64,
    pub compressed_bytes: u64,
    pub findings: Vec<String>,
    pub notes: Vec<String>,
    pub found_start: Option<DateTime<Utc>>,
    pub found_end: Option<DateTime<Utc>>,
}

impl Report {
    pub fn valid(&self) -> bool {
        self.digests_invalid == 0 && self.logs_invalid == 0 && self.chain_errors == 0
    }

    fn invalid_digest(&mut self, bucket: &str, key: &str, why: &str) {
        self.digests_invalid += 1;
        self.findings
            .push(format!("Digest file\ts3://{bucket}/{key}\tINVALID: {why}"));
    }

    fn invalid_log(&mut self, bucket: &str, key: &str, why: &str) {
        self.logs_invalid += 1;
        self.findings
            .push(format!("Log file\ts3://{bucket}/{key}\tINVALID: {why}"));
    }

    fn chain(&mut self, message: String) {
        self.chain_errors += 1;
        self.findings.push(message);
    }

    /// The summary, shaped like `aws cloudtrail validate-logs`'s.
    pub fn summary(&self, start: &DateTime<Utc>, end: &DateTime<Utc>) -> String {
        let mut out = format!(
            "Results requested for {} to {}\n",
            format_time(start),
            format_time(end)
        );
        if self.digests_valid + self.digests_invalid == 0 {
            out.push_str("No digests found\n");
        } else if let (Some(a), Some(b)) = (self.found_start, self.found_end) {
            out.push_str(&format!(
                "Results found for {} to {}:\n",
                format_time(&a),
                format_time(&b)
            ));
        } else {
            out.push_str("No valid digests found in range\n");
        }
        let ratio = |valid: u64, invalid: u64, name: &str| {
            let total = valid + invalid;
            if total == 0 {
                return String::new();
            }
            let mut s = format!("\n{valid}/{total} {name} files valid");
            if invalid > 0 {
                s.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
            }
            s
        };
        out.push_str(&ratio(self.digests_valid, self.digests_invalid, "digest"));
        out.push_str(&ratio(self.logs_valid, self.logs_invalid, "log"));
        if self.chain_errors > 0 {
            out.push_str(&format!(
                "\n{} chain problems (not checked by the AWS CLI)",
                self.chain_errors
            ));
        }
        out.push('\n');
        out
    }
}

/// A digest as fetched and checked.
struct Digest {
    key: String,
    doc: J,
    /// Hex SHA-256 of the uncompressed digest.
    hash: String,
    signature: String,
    valid: bool,
}

fn text<'a>(doc: &'a J, field: &str) -> Option<&'a str> {
    doc.get(field).and_then(J::as_str)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Hex SHA-256 of the uncompressed content of a gzip file, streamed.
pub fn gunzip_sha256(gz: &[u8]) -> std::io::Result<(String, u64)> {
    let mut d = flate2::read::MultiGzDecoder::new(gz);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        let n = d.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        ctx.update(&buf[..n]);
    }
    Ok((hex::encode(ctx.finish()), total))
}

fn verify_signature(der: &[u8], message: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, der)
        .verify(message, &sig)
        .is_ok()
}

const REQUIRED: &[&str] = &[
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
    "logFiles",
];

pub async fn run(plan: &Plan, source: &dyn Source, progress: &dyn Progress) -> Report {
    let mut report = Report::default();
    let bucket = plan.bucket.as_str();
    let prefix = plan.prefix.as_deref();
    let concurrency = plan.concurrency.max(1);
    // Both listings at once, each a round trip or more. Listing the log files before the
    // digests are read loses nothing: a file delivered after the last digest carries a
    // minute from that digest's end on, which `check_unlisted` leaves out while the trail
    // is logging.
    let digest_listing = digest_prefix(prefix, &plan.account, &plan.region);
    let log_listing = log_prefix(prefix, &plan.account, &plan.region);
    let (listed, log_keys) = futures::join!(
        source.list(bucket, &digest_listing),
        source.list(bucket, &log_listing)
    );
    // Digests in range, by the time their key carries (their end).
    let listed = match listed {
        Ok(l) => l,
        Err(e) => {
            report.chain(format!("cannot list digests in s3://{bucket}: {e}"));
            return report;
        }
    };
    let horizon = plan.end + Duration::hours(1);
    let mut keys: Vec<(DateTime<Utc>, String)> = Vec::new();
    // Digests of this trail before the range: files of the range's first minute may be
    // theirs.
    let mut older_digests = false;
    let suffix_marker = format!("_{}_{}_", plan.trail_name, plan.home_region);
    for key in listed {
        if !key.contains(&suffix_marker) {
            // Another trail's digest in the same prefix.
            continue;
        }
        let Some(t) = digest_key_time(&key) else {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: not a digest key"
            ));
            continue;
        };
        let expected = digest_key(
            prefix,
            &plan.account,
            &plan.region,
            &plan.trail_name,
            &plan.home_region,
            &t,
        );
        if expected != key {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: not a digest key"
            ));
            continue;
        }
        if t < plan.start {
            older_digests = true;
        }
        if t >= plan.start && t <= horizon {
            keys.push((t, key));
        }
    }
    keys.sort();
    progress.digests(keys.len() as u64);
    // Tail truncation: the newest digest the trail delivered must still be there.
    if let Some(latest) = plan.latest_digest
        && latest >= plan.start
        && latest <= horizon
        && keys.last().is_none_or(|(t, _)| *t < latest)
    {
        let expected = digest_key(
            prefix,
            &plan.account,
            &plan.region,
            &plan.trail_name,
            &plan.home_region,
            &latest,
        );
        report.invalid_digest(
            bucket,
            &expected,
            "not found (the newest digest the trail delivered is missing: the chain was truncated)",
        );
    }
    // Fetched many at once, checked one by one in key order (the chain is checked after).
    let mut digests: Vec<Digest> = Vec::with_capacity(keys.len());
    let fetches = futures::stream::iter(
        keys.iter()
            .map(|(t, key)| async move { (t, key, source.get(bucket, key).await) }),
    )
    .buffered(concurrency);
    futures::pin_mut!(fetches);
    while let Some((t, key, fetched)) = fetches.next().await {
        let d = check_digest(plan, &mut report, key, t, fetched);
        progress.file_done(0);
        if let Some(d) = d {
            digests.push(d);
        }
    }
    check_chain(plan, source, &mut report, &digests).await;
    // Log files, newest digest first like the AWS CLI.
    let mut listed_logs: BTreeSet<String> = BTreeSet::new();
    let total: usize = digests
        .iter()
        .filter(|d| d.valid)
        .map(|d| d.doc["logFiles"].as_array().map_or(0, Vec::len))
        .sum();
    progress.logs(total as u64);
    // (bucket, key, expected hash) of every listed file: `concurrency` fetched at once,
    // inflated and hashed as they arrive, as many at once as there are cores (the files
    // first in line first).
    let mut jobs: Vec<(String, String, String)> = Vec::new();
    for d in digests.iter().rev().filter(|d| d.valid) {
        let Some(files) = d.doc["logFiles"].as_array() else {
            continue;
        };
        for f in files {
            let (Some(b), Some(k), Some(h)) = (
                text(f, "s3Bucket"),
                text(f, "s3Object"),
                text(f, "hashValue"),
            ) else {
                report.chain(format!(
                    "Digest file\ts3://{bucket}/{}\tINVALID: a log file entry lacks its bucket, key or hash",
                    d.key
                ));
                continue;
            };
            if text(f, "hashAlgorithm") != Some(HASH_ALGORITHM) {
                report.invalid_log(b, k, "unexpected hash algorithm");
                continue;
            }
            if !listed_logs.insert(format!("{b}/{k}")) {
                report.chain(format!(
                    "Log file\ts3://{b}/{k}\tINVALID: listed by more than one digest"
                ));
            }
            jobs.push((b.to_owned(), k.to_owned(), h.to_owned()));
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let cpu = tokio::sync::Semaphore::new(cores);
    let cpu = &cpu;
    let checks = futures::stream::iter(jobs.into_iter().map(|(b, k, h)| async move {
        let outcome = match source.get(&b, &k).await {
            Ok(None) => Err("not found".to_owned()),
            Err(e) => Err(format!("cannot be read: {e}")),
            Ok(Some(obj)) => {
                let compressed = obj.body.len() as u64;
                // Never closed, so always a permit; held until the file is hashed.
                let _permit = cpu.acquire().await.ok();
                // Off the async thread, so several files inflate at once where cores allow.
                match tokio::task::spawn_blocking(move || gunzip_sha256(&obj.body)).await {
                    Ok(Ok((hash, n))) => Ok((hash, n, compressed)),
                    _ => Err("invalid format".to_owned()),
                }
            }
        };
        (b, k, h, outcome)
    }))
    .buffered(concurrency);
    futures::pin_mut!(checks);
    while let Some((b, k, h, outcome)) = checks.next().await {
        match outcome {
            Err(why) => report.invalid_log(&b, &k, &why),
            Ok((hash, n, compressed)) => {
                report.log_bytes += n;
                report.compressed_bytes += compressed;
                progress.file_done(n);
                if hash == h {
                    report.logs_valid += 1;
                } else {
                    report.invalid_log(&b, &k, "hash value doesn't match");
                }
            }
        }
    }
    check_unlisted(
        plan,
        log_keys,
        &mut report,
        &digests,
        &listed_logs,
        older_digests,
    );
    report
}

/// Checks a digest as fetched (`fetched`: what `Source::get` answered for `key`).
fn check_digest(
    plan: &Plan,
    report: &mut Report,
    key: &str,
    key_time: &DateTime<Utc>,
    fetched: Result<Option<source::Fetched>, String>,
) -> Option<Digest> {
    let bucket = plan.bucket.as_str();
    let obj = match fetched {
        Ok(Some(o)) => o,
        Ok(None) => {
            report.invalid_digest(bucket, key, "not found");
            return None;
        }
        Err(e) => {
            report.invalid_digest(bucket, key, &format!("cannot be read: {e}"));
            return None;
        }
    };
    let Ok(raw) = digest::gunzip(&obj.body) else {
        report.invalid_digest(bucket, key, "invalid format");
        return None;
    };
    let Ok(doc) = serde_json::from_slice::<J>(&raw) else {
        report.invalid_digest(bucket, key, "invalid format");
        return None;
    };
    let hash = digest::sha256_hex(&raw);
    let signature = obj.metadata.get("signature").cloned().unwrap_or_default();
    let mut d = Digest {
        key: key.to_owned(),
        doc,
        hash,
        signature,
        valid: false,
    };
    if REQUIRED.iter().any(|f| d.doc.get(*f).is_none()) {
        report.invalid_digest(bucket, key, "invalid format");
        return Some(d);
    }
    if text(&d.doc, "digestS3Bucket") != Some(bucket) || text(&d.doc, "digestS3Object") != Some(key)
    {
        report.invalid_digest(bucket, key, "has been moved from its original location");
        return Some(d);
    }
    // Only SHA256withRSA, in the metadata and in the document alike.
    let algorithm = obj.metadata.get("signature-algorithm").map(String::as_str);
    if algorithm != Some(SIGNATURE_ALGORITHM)
        || text(&d.doc, "digestSignatureAlgorithm") != Some(SIGNATURE_ALGORITHM)
    {
        report.invalid_digest(
            bucket,
            key,
            &format!(
                "unexpected signature algorithm {} (only {SIGNATURE_ALGORITHM} is accepted)",
                algorithm.unwrap_or("(none)")
            ),
        );
        return Some(d);
    }
    let end_text = text(&d.doc, "digestEndTime").unwrap_or_default().to_owned();
    if parse_time(&end_text) != Some(*key_time) {
        report.invalid_digest(bucket, key, "its end time differs from the time in its key");
        return Some(d);
    }
    let fingerprint = text(&d.doc, "digestPublicKeyFingerprint").unwrap_or_default();
    let Some(der) = plan.public_keys.get(fingerprint) else {
        report.invalid_digest(
            bucket,
            key,
            &format!(
                "public key not found in region {} for fingerprint {fingerprint}",
                plan.region
            ),
        );
        return Some(d);
    };
    let previous = text(&d.doc, "previousDigestSignature");
    let to_sign = string_to_sign(&end_text, bucket, key, &raw, previous);
    if !verify_signature(der, to_sign.as_bytes(), &d.signature) {
        report.invalid_digest(bucket, key, "signature verification failed");
        return Some(d);
    }
    d.valid = true;
    report.digests_valid += 1;
    let start = text(&d.doc, "digestStartTime").and_then(parse_time);
    if let Some(s) = start {
        let s = s.max(plan.start);
        report.found_start = Some(report.found_start.map_or(s, |f| f.min(s)));
    }
    let e = key_time.min(&plan.end).to_owned();
    report.found_end = Some(report.found_end.map_or(e, |f| f.max(e)));
    Some(d)
}

/// The links between consecutive digests: each must name the one before it, carry its
/// hash and signature, and start where it ended.
async fn check_chain(plan: &Plan, source: &dyn Source, report: &mut Report, digests: &[Digest]) {
    let bucket = plan.bucket.as_str();
    let by_key: HashMap<&str, usize> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d.key.as_str(), i))
        .collect();
    for (i, d) in digests.iter().enumerate() {
        if !d.valid {
            continue;
        }
        let prev_key = text(&d.doc, "previousDigestS3Object");
        let Some(prev_key) = prev_key else {
            if i > 0 {
                report.notes.push(format!(
                    "chain starts again at s3://{bucket}/{} (logging stopped, or validation turned off, before it)",
                    d.key
                ));
            }
            continue;
        };
        if text(&d.doc, "previousDigestHashAlgorithm") != Some(HASH_ALGORITHM) {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{}\tINVALID: unexpected previous digest hash algorithm",
                d.key
            ));
        }
        let prev_bucket = text(&d.doc, "previousDigestS3Bucket").unwrap_or(bucket);
        let prev = if i > 0 && digests[i - 1].key == prev_key && prev_bucket == bucket {
            Some((
                digests[i - 1].hash.clone(),
                digests[i - 1].signature.clone(),
                text(&digests[i - 1].doc, "digestEndTime").map(str::to_owned),
            ))
        } else if let Some(&j) = by_key.get(prev_key) {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{}\tINVALID: points back to s3://{bucket}/{prev_key}, which is not the digest before it (digests reordered or inserted)",
                d.key
            ));
            Some((
                digests[j].hash.clone(),
                digests[j].signature.clone(),
                text(&digests[j].doc, "digestEndTime").map(str::to_owned),
            ))
        } else {
            // Before the range (or in another bucket): fetched to check the link.
            match source.get(prev_bucket, prev_key).await {
                Ok(Some(o)) => match digest::gunzip(&o.body) {
                    Ok(raw) => {
                        let end = serde_json::from_slice::<J>(&raw)
                            .ok()
                            .and_then(|v| text(&v, "digestEndTime").map(str::to_owned));
                        if i > 0 {
                            report.chain(format!(
                                "Digest file\ts3://{bucket}/{}\tINVALID: the digest before it in the bucket is not the one it points back to",
                                d.key
                            ));
                        }
                        Some((
                            digest::sha256_hex(&raw),
                            o.metadata.get("signature").cloned().unwrap_or_default(),
                            end,
                        ))
                    }
                    Err(_) => {
                        report.chain(format!(
                            "Digest file\ts3://{prev_bucket}/{prev_key}\tINVALID: invalid format"
                        ));
                        None
                    }
                },
                Ok(None) => {
                    let before_range = digest_key_time(prev_key).is_some_and(|t| t < plan.start);
                    if !before_range {
                        report.invalid_digest(prev_bucket, prev_key, "not found");
                    }
                    None
                }
                Err(e) => {
                    report.chain(format!("cannot read s3://{prev_bucket}/{prev_key}: {e}"));
                    None
                }
            }
        };
        let Some((hash, signature, prev_end)) = prev else {
            continue;
        };
        if text(&d.doc, "previousDigestHashValue") != Some(hash.as_str()) {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{}\tINVALID: previousDigestHashValue does not match the previous digest (it was changed after this one was signed)",
                d.key
            ));
        }
        if text(&d.doc, "previousDigestSignature") != Some(signature.as_str()) {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{}\tINVALID: previousDigestSignature does not match the previous digest's signature",
                d.key
            ));
        }
        if prev_end.as_deref() != text(&d.doc, "digestStartTime") {
            report.chain(format!(
                "Digest file\ts3://{bucket}/{}\tINVALID: does not start where the previous digest ended",
                d.key
            ));
        }
    }
}

/// Log files in the bucket, delivered while the digests cover, that no digest lists:
/// inserted after the fact (or hidden from the chain). `log_keys`: the listing of the
/// region's log files.
fn check_unlisted(
    plan: &Plan,
    log_keys: Result<Vec<String>, String>,
    report: &mut Report,
    digests: &[Digest],
    listed: &BTreeSet<String>,
    older_digests: bool,
) {
    let valid: Vec<&Digest> = digests.iter().filter(|d| d.valid).collect();
    let (Some(first), Some(last)) = (valid.first(), valid.last()) else {
        return;
    };
    let Some(from) = text(&first.doc, "digestStartTime").and_then(parse_time) else {
        return;
    };
    let Some(to) = text(&last.doc, "digestEndTime").and_then(parse_time) else {
        return;
    };
    let bucket = plan.bucket.as_str();
    let Ok(keys) = log_keys else {
        return;
    };
    // Log keys carry their delivery minute only. A file of the first minute may belong
    // to a digest before the range, unless the trail has none before it; one of the
    // last minute may be waiting for the next digest, unless the trail has stopped.
    let minute = |t: DateTime<Utc>| t.format("%Y%m%dT%H%MZ").to_string();
    let (lo, hi) = (minute(from), minute(to));
    let lo_inclusive = !older_digests && first.doc["previousDigestS3Object"].is_null();
    let hi_inclusive = plan.closed;
    let mut unlisted: BTreeMap<String, ()> = BTreeMap::new();
    for k in keys {
        let Some(stamp) = k.rsplit('_').nth(1) else {
            continue;
        };
        let after_lo = *stamp > *lo.as_str() || (lo_inclusive && *stamp == *lo.as_str());
        let before_hi = *stamp < *hi.as_str() || (hi_inclusive && *stamp == *hi.as_str());
        if stamp.len() == 14 && after_lo && before_hi && !listed.contains(&format!("{bucket}/{k}"))
        {
            unlisted.insert(k, ());
        }
    }
    report.notes.push(format!(
        "log files delivered from {lo}{} to {hi}{} checked against the digests' lists ({} unlisted)",
        if lo_inclusive { " (inclusive)" } else { "" },
        if hi_inclusive { " (inclusive)" } else { "" },
        unlisted.len()
    ));
    for k in unlisted.keys() {
        report.chain(format!(
            "Log file\ts3://{bucket}/{k}\tINVALID: not listed by any digest (inserted)"
        ));
    }
}

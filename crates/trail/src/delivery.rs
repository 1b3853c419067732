//! The delivery loop: every delivery interval each logging trail's new audit records
//! (read from the lake in (time, event id) order up to the audit clock's settled time,
//! so none is missed) become gzipped log files in its bucket; every digest interval each
//! region's digest lists the files delivered since the previous one, points back to it,
//! and is signed. A failed write leaves the cursor where it was: the same records are
//! tried again next time and the error shows in GetTrailStatus. Nothing is dropped.

use crate::Result;
use crate::digest::{
    self, DigestParts, SIGNATURE_ALGORITHM, digest_document, digest_key, format_time, gzip,
    log_file_body, log_file_key, sha256_hex, string_to_sign,
};
use crate::model::{Cursor, LogFile, PreviousDigest, RecordTraits, TrailRecord};
use crate::scan::{Row, read_after};
use crate::trails::{SERVICE, Trails, new_chain};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sightline_core::{ObjectEncryption, ObjectWrite, ServiceActor};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Records read from the lake per round.
const ROUND: usize = 20_000;
/// Records per log file at most (CloudTrail's files stay well below 100 MB).
const RECORDS_PER_FILE: usize = 5_000;

#[derive(Deserialize)]
struct Traits {
    #[serde(rename = "managementEvent", default = "yes")]
    management: bool,
    #[serde(rename = "readOnly", default)]
    read_only: bool,
    #[serde(rename = "eventSource", default)]
    event_source: String,
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "ARN", default)]
    arn: String,
}

fn yes() -> bool {
    true
}

fn short_error(e: &sightline_core::Error) -> String {
    match e {
        sightline_core::Error::NotFound(_) => "NoSuchBucket".into(),
        sightline_core::Error::AccessDenied(_) => "AccessDenied".into(),
        sightline_core::Error::Service { code, .. } => format!("KMS.{code}"),
        other => other.to_string(),
    }
}

impl Trails {
    /// Runs delivery and digests until `shutdown` turns true.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut deliver = tokio::time::interval(this.options.delivery_interval);
            let mut digest = tokio::time::interval(this.options.digest_interval);
            deliver.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            digest.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first ticks fire at once; a digest right at start would only cover
            // the moment since logging began.
            digest.tick().await;
            loop {
                tokio::select! {
                    _ = deliver.tick() => this.deliver_all().await,
                    _ = digest.tick() => {
                        this.deliver_all().await;
                        this.digest_all().await;
                    }
                    _ = shutdown.changed() => break,
                }
            }
        })
    }

    fn arns(&self) -> Vec<String> {
        self.trails.lock().keys().cloned().collect()
    }

    /// One delivery round for every trail.
    pub async fn deliver_all(&self) {
        for arn in self.arns() {
            if let Err(e) = self.deliver(&arn).await {
                tracing::warn!(trail = %arn, error = %e, "log delivery failed");
            }
        }
    }

    /// One digest round for every trail.
    pub async fn digest_all(&self) {
        for arn in self.arns() {
            if let Err(e) = self.digest(&arn).await {
                tracing::warn!(trail = %arn, error = %e, "digest delivery failed");
            }
        }
    }

    fn actor<'a>(t: &'a TrailRecord, arn: &'a str) -> ServiceActor<'a> {
        ServiceActor {
            service: SERVICE,
            source_arn: arn,
            source_account: &t.config.account,
            region: &t.config.home_region,
        }
    }

    /// Delivers a trail's new records; returns how many log files were written.
    pub async fn deliver(&self, arn: &str) -> Result<usize> {
        let mut files = 0;
        loop {
            let Some(t) = self.trails.lock().get(arn).cloned() else {
                return Ok(files);
            };
            let Some(first) = t.windows.first() else {
                return Ok(files);
            };
            let mut upper = self.clock.settled().timestamp_millis();
            if let Some(last) = t.windows.last()
                && let Some(end) = last.to_ms
            {
                upper = upper.min(end);
            }
            let from = t
                .cursor
                .as_ref()
                .map_or(first.from_ms, |c| c.time_ms.max(first.from_ms));
            if from >= upper {
                self.retire_windows(arn, upper)?;
                return Ok(files);
            }
            let region = (!t.config.multi_region).then_some(t.config.home_region.as_str());
            let rows = read_after(
                &self.lake,
                &t.config.account,
                region,
                t.cursor.as_ref(),
                from,
                upper,
                ROUND,
            )
            .await?;
            let Some(last) = rows.last() else {
                self.retire_windows(arn, upper)?;
                return Ok(files);
            };
            let full_round = rows.len() == ROUND;
            let cursor = Cursor {
                time_ms: last.time_ms,
                event_id: last.event_id.clone(),
            };
            let mut by_region: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
            for r in &rows {
                if !t.windows.iter().any(|w| w.contains(r.time_ms))
                    || !t.config.covers_region(&r.region)
                {
                    continue;
                }
                let Ok(traits) = serde_json::from_str::<Traits>(&r.record) else {
                    continue;
                };
                let resources: Vec<String> = traits.resources.into_iter().map(|x| x.arn).collect();
                let admitted = t.config.admits(&RecordTraits {
                    read_only: traits.read_only,
                    management: traits.management,
                    event_source: &traits.event_source,
                    resources: &resources,
                });
                if admitted {
                    by_region.entry(r.region.as_str()).or_default().push(r);
                }
            }
            let now = Utc::now();
            let mut written: Vec<(String, LogFile)> = Vec::new();
            let mut failure = None;
            'regions: for (region, rows) in &by_region {
                for chunk in rows.chunks(RECORDS_PER_FILE) {
                    match self.write_log_file(&t, arn, region, chunk, now).await {
                        Ok(f) => written.push((region.to_string(), f)),
                        Err(e) => {
                            failure = Some(e);
                            break 'regions;
                        }
                    }
                }
            }
            files += written.len();
            let failed = failure.is_some();
            self.modify(arn, |rec| {
                rec.status.latest_delivery_attempt_time = Some(now);
                match &failure {
                    Some(e) => rec.status.latest_delivery_error = Some(e.clone()),
                    None => {
                        rec.status.latest_delivery_attempt_succeeded = Some(now);
                        rec.status.latest_delivery_error = None;
                        if !written.is_empty() {
                            rec.status.latest_delivery_time = Some(now);
                        }
                        rec.cursor = Some(cursor.clone());
                    }
                }
                // Files that did land are listed by the next digest, also when a later
                // one failed: they are in the bucket either way.
                if rec.config.log_file_validation {
                    for (region, f) in &written {
                        rec.chains
                            .entry(region.clone())
                            .or_insert_with(|| new_chain(now))
                            .pending
                            .push(f.clone());
                    }
                }
                Ok(())
            })?;
            if failed {
                return Ok(files);
            }
            if !full_round {
                self.retire_windows(arn, upper)?;
                return Ok(files);
            }
        }
    }

    /// Logging periods that ended by `upper`, once every record before `upper` is
    /// delivered, are done.
    fn retire_windows(&self, arn: &str, upper: i64) -> Result<()> {
        self.modify(arn, |rec| {
            rec.windows
                .retain(|w| w.to_ms.is_none_or(|end| end > upper));
            Ok(())
        })?;
        Ok(())
    }

    async fn write_log_file(
        &self,
        t: &TrailRecord,
        arn: &str,
        region: &str,
        rows: &[&Row],
        now: DateTime<Utc>,
    ) -> Result<LogFile, String> {
        let body = log_file_body(rows.iter().map(|r| r.record.as_str()));
        let hash = sha256_hex(&body);
        let gz = gzip(&body).map_err(|e| e.to_string())?;
        let unique: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(16)
            .collect::<String>()
            .to_ascii_uppercase();
        let key = log_file_key(
            t.config.s3_key_prefix.as_deref(),
            &t.config.account,
            region,
            &now,
            &unique,
        );
        let encryption = match &t.config.kms_key_id {
            Some(k) => ObjectEncryption::Kms {
                key_id: k.clone(),
                context: BTreeMap::from([("aws:cloudtrail:arn".to_owned(), arn.to_owned())]),
            },
            None => ObjectEncryption::S3Managed,
        };
        self.buckets
            .put(
                &Self::actor(t, arn),
                ObjectWrite {
                    bucket: &t.config.s3_bucket,
                    key: &key,
                    body: gz,
                    content_type: "application/json",
                    metadata: BTreeMap::new(),
                    encryption,
                },
            )
            .await
            .map_err(|e| short_error(&e))?;
        let secs = |ms: i64| DateTime::from_timestamp_millis(ms / 1000 * 1000).unwrap_or(now);
        let oldest = rows.iter().map(|r| r.time_ms).min().unwrap_or_default();
        let newest = rows.iter().map(|r| r.time_ms).max().unwrap_or_default();
        Ok(LogFile {
            bucket: t.config.s3_bucket.clone(),
            key,
            hash,
            oldest_event_time: secs(oldest),
            newest_event_time: secs(newest),
        })
    }

    /// Writes the digest of every chain of a trail that is due.
    pub async fn digest(&self, arn: &str) -> Result<usize> {
        let Some(t) = self.trails.lock().get(arn).cloned() else {
            return Ok(0);
        };
        // Digest times are whole seconds; rounding up keeps every file this digest lists
        // delivered before its end.
        let now = Utc::now();
        let end = DateTime::from_timestamp(now.timestamp() + 1, 0).unwrap_or(now);
        let mut written = 0;
        for (region, chain) in &t.chains {
            if end <= chain.start {
                continue;
            }
            let key = digest_key(
                t.config.s3_key_prefix.as_deref(),
                &t.config.account,
                region,
                &t.config.name,
                &t.config.home_region,
                &end,
            );
            let outcome = self.write_digest(&t, arn, region, &key, end).await;
            let included = chain.pending.len();
            let ok = outcome.is_ok();
            self.modify(arn, |rec| {
                match &outcome {
                    Ok(previous) => {
                        rec.status.latest_digest_delivery_time = Some(end);
                        rec.status.latest_digest_delivery_error = None;
                        if let Some(c) = rec.chains.get_mut(region) {
                            c.start = end;
                            c.previous = Some(previous.clone());
                            let n = included.min(c.pending.len());
                            c.pending.drain(..n);
                        }
                    }
                    Err(e) => rec.status.latest_digest_delivery_error = Some(e.clone()),
                }
                Ok(())
            })?;
            if ok {
                written += 1;
            }
        }
        // A stopped trail's chains end once everything it logged is delivered and listed.
        self.modify(arn, |rec| {
            if !rec.logging && rec.windows.is_empty() {
                rec.chains.retain(|_, c| !c.pending.is_empty());
            }
            Ok(())
        })?;
        Ok(written)
    }

    async fn write_digest(
        &self,
        t: &TrailRecord,
        arn: &str,
        region: &str,
        key: &str,
        end: DateTime<Utc>,
    ) -> Result<PreviousDigest, String> {
        let Some(chain) = t.chains.get(region) else {
            return Err("no chain".into());
        };
        // Each region signs its own digests, and verifiers ask that region for the key.
        let signing_key = self
            .signing
            .current(region)
            .await
            .map_err(|e| e.to_string())?;
        let doc = digest_document(&DigestParts {
            account: &t.config.account,
            start: chain.start,
            end,
            bucket: &t.config.s3_bucket,
            key,
            fingerprint: &signing_key.fingerprint,
            previous: chain.previous.as_ref(),
            logs: &chain.pending,
        });
        let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
        let to_sign = string_to_sign(
            &format_time(&end),
            &t.config.s3_bucket,
            key,
            &bytes,
            chain.previous.as_ref().map(|p| p.signature.as_str()),
        );
        let signature = hex::encode(
            self.signing
                .sign(&signing_key, to_sign.as_bytes())
                .map_err(|e| e.to_string())?,
        );
        let gz = digest::gzip(&bytes).map_err(|e| e.to_string())?;
        self.buckets
            .put(
                &Self::actor(t, arn),
                ObjectWrite {
                    bucket: &t.config.s3_bucket,
                    key,
                    body: gz,
                    content_type: "application/json",
                    metadata: BTreeMap::from([
                        ("signature".to_owned(), signature.clone()),
                        (
                            "signature-algorithm".to_owned(),
                            SIGNATURE_ALGORITHM.to_owned(),
                        ),
                    ]),
                    // Digests are SSE-S3 even when log files use a KMS key, as on AWS.
                    encryption: ObjectEncryption::S3Managed,
                },
            )
            .await
            .map_err(|e| short_error(&e))?;
        Ok(PreviousDigest {
            bucket: t.config.s3_bucket.clone(),
            key: key.to_owned(),
            hash: sha256_hex(&bytes),
            signature,
        })
    }
}

//! `sightline trail verify` and `sightline trail prove`: the trail's evidence checked on
//! the client side, trusting nothing the server says that it cannot prove.

use crate::client::{self, Connection, Profile};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value as J, json};
use sightline_merkle::{
    Checkpoint, Hash, Verifier, leaf_hash, verify_consistency, verify_inclusion,
};
use sightline_trail::verify::source::{DirSource, Fetched, Source};
use sightline_trail::verify::{self, Plan, Progress};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
const SIGHTLINE_TARGET: &str = "Sightline_20261126";

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The trail whose digests and log files to check.
    #[arg(long, required_unless_present = "checkpoint")]
    pub trail_arn: Option<String>,
    /// Check files delivered from this time on (e.g. 2026-11-26T10:00:00Z).
    #[arg(long, required_unless_present = "checkpoint")]
    pub start_time: Option<String>,
    /// Up to this time (default: now).
    #[arg(long)]
    pub end_time: Option<String>,
    /// Check a copy of the bucket in this directory instead of the live endpoint
    /// (objects at DIR/<key>, metadata in DIR/<key>.metadata.json).
    #[arg(long)]
    pub bucket_dir: Option<PathBuf>,
    /// Offline: the output of `aws cloudtrail list-public-keys` saved to a file.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
    /// The bucket, when not the trail's current one (offline: required).
    #[arg(long)]
    pub s3_bucket: Option<String>,
    /// The key prefix, when not the trail's current one.
    #[arg(long)]
    pub s3_prefix: Option<String>,
    /// Check that the transparency log only grew since this saved checkpoint (a missing
    /// file is created with the current checkpoint: trust on first use).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Replace the saved checkpoint with the newer one once it is proven consistent.
    #[arg(long, requires = "checkpoint")]
    pub update: bool,
    /// The checkpoint key to trust (C2SP vkey); default: the one the server names.
    #[arg(long)]
    pub vkey: Option<String>,
    /// Offline: the trail has stopped logging, so its last digest lists every file
    /// (live, GetTrailStatus says so).
    #[arg(long)]
    pub closed: bool,
    /// Print notes on the chain too (restarts after logging was stopped).
    #[arg(long)]
    pub verbose: bool,
    /// Requests to keep in flight at once: each waits for the network, so from afar the
    /// verifier mostly waits unless many are. At most this many log files are held in
    /// memory at once: lower it for huge files on a small machine.
    #[arg(long, default_value_t = verify::DEFAULT_CONCURRENCY as u32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(clap::Args)]
pub struct ProveArgs {
    /// The audit record's eventID.
    #[arg(long)]
    pub event_id: String,
    /// The checkpoint key to trust (C2SP vkey); default: the one the server names.
    #[arg(long)]
    pub vkey: Option<String>,
    #[command(flatten)]
    pub conn: Connection,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    bail!("cannot read the time {s:?} (use e.g. 2026-11-26T10:00:00Z)")
}

/// `Bucket/Key` paths as S3 wants them: CloudTrail keys need no escaping beyond this.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn xml_values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else {
            break;
        };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// The live bucket, read with the caller's credentials through the S3 API.
struct LiveSource {
    profile: Profile,
}

#[async_trait::async_trait]
impl Source for LiveSource {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!("list-type=2&prefix={}", encode(prefix).replace('/', "%2F"));
            if let Some(t) = &token {
                query.push_str(&format!(
                    "&continuation-token={}",
                    encode(t).replace('/', "%2F")
                ));
            }
            let (status, _, body) =
                client::get(&self.profile, "s3", &format!("/{}", encode(bucket)), &query)
                    .await
                    .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&body);
            if status != 200 {
                return Err(format!("ListObjectsV2 answered {status}: {text}"));
            }
            keys.extend(xml_values(&text, "Key").into_iter().map(xml_unescape));
            let truncated = xml_values(&text, "IsTruncated").first() == Some(&"true");
            token = xml_values(&text, "NextContinuationToken")
                .first()
                .map(|t| xml_unescape(t));
            if !truncated || token.is_none() {
                break;
            }
        }
        Ok(keys)
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Fetched>, String> {
        let path = format!("/{}/{}", encode(bucket), encode(key));
        let (status, headers, body) = client::get(&self.profile, "s3", &path, "")
            .await
            .map_err(|e| e.to_string())?;
        match status {
            200 => {
                let metadata = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.as_str().strip_prefix("x-amz-meta-")?;
                        Some((name.to_owned(), v.to_str().ok()?.to_owned()))
                    })
                    .collect();
                Ok(Some(Fetched {
                    body: body.to_vec(),
                    metadata,
                }))
            }
            404 => Ok(None),
            other => Err(format!(
                "GetObject answered {other}: {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

async fn cloudtrail(p: &Profile, op: &str, body: J) -> Result<J> {
    client::call(p, "cloudtrail", CLOUDTRAIL_TARGET, op, &body).await
}

async fn sightline(p: &Profile, op: &str, body: J) -> Result<J> {
    client::call(p, "sightline", SIGHTLINE_TARGET, op, &body).await
}

/// A public key's DER from ListPublicKeys' `Value` (a blob: base64 on the wire and in
/// the AWS CLI's output).
fn key_der(value: &str) -> Option<Vec<u8>> {
    B64.decode(value).ok()
}

fn public_keys(list: &J) -> HashMap<String, Vec<u8>> {
    list["PublicKeyList"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| {
                    Some((
                        k["Fingerprint"].as_str()?.to_owned(),
                        key_der(k["Value"].as_str()?)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn digests(&self, total: u64) {
        self.0.set_message(format!("{total} digests"));
    }
    fn logs(&self, total: u64) {
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn file_done(&self, bytes: u64) {
        if bytes > 0 {
            self.0.inc(1);
        }
    }
}

pub async fn verify(a: VerifyArgs) -> Result<bool> {
    let mut ok = true;
    if let Some(arn) = a.trail_arn.clone() {
        ok &= verify_trail(&a, &arn).await?;
    }
    if let Some(path) = &a.checkpoint {
        ok &= verify_checkpoint(&a, path).await?;
    }
    Ok(ok)
}

async fn verify_trail(a: &VerifyArgs, arn: &str) -> Result<bool> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (home_region, account, name) = match parts.as_slice() {
        ["arn", _, "cloudtrail", region, account, resource] => (
            region.to_string(),
            account.to_string(),
            resource
                .strip_prefix("trail/")
                .ok_or_else(|| anyhow!("{arn} is not a trail ARN"))?
                .to_owned(),
        ),
        _ => bail!("{arn} is not a trail ARN"),
    };
    let start = parse_time(a.start_time.as_deref().unwrap_or_default())?;
    let end = match &a.end_time {
        Some(t) => parse_time(t)?,
        None => Utc::now(),
    };
    if start > end {
        bail!("Invalid time range specified: start-time must occur before end-time");
    }
    let (source, plan): (Box<dyn Source>, Plan) = match &a.bucket_dir {
        Some(dir) => {
            let keys_file = a
                .public_keys
                .as_ref()
                .context("--bucket-dir needs --public-keys (the output of `aws cloudtrail list-public-keys`)")?;
            let keys: J = serde_json::from_slice(&std::fs::read(keys_file)?)
                .with_context(|| format!("{} is not JSON", keys_file.display()))?;
            let region = a.conn.region.clone().unwrap_or_else(|| home_region.clone());
            let bucket = a
                .s3_bucket
                .clone()
                .context("--bucket-dir needs --s3-bucket (the bucket the copy was made from)")?;
            (
                Box::new(DirSource { root: dir.clone() }),
                Plan {
                    account,
                    region,
                    trail_name: name,
                    home_region,
                    bucket,
                    prefix: a.s3_prefix.clone(),
                    start,
                    end,
                    public_keys: public_keys(&keys),
                    latest_digest: None,
                    closed: a.closed,
                    concurrency: a.concurrency as usize,
                },
            )
        }
        None => {
            let profile = a.conn.profile()?;
            // At once: each is a round trip.
            let (trails, keys, status) = tokio::try_join!(
                cloudtrail(&profile, "DescribeTrails", json!({"trailNameList": [arn]})),
                cloudtrail(
                    &profile,
                    "ListPublicKeys",
                    json!({"StartTime": 0, "EndTime": (Utc::now() + chrono::Duration::days(1)).timestamp()}),
                ),
                cloudtrail(&profile, "GetTrailStatus", json!({"Name": arn})),
            )?;
            let trail = trails["trailList"]
                .as_array()
                .and_then(|l| l.first())
                .cloned()
                .ok_or_else(|| anyhow!("trail {arn} not found"))?;
            let latest_digest = status["LatestDigestDeliveryTime"]
                .as_f64()
                .and_then(|s| DateTime::from_timestamp(s as i64, 0));
            let plan = Plan {
                account,
                region: profile.region.clone(),
                trail_name: name,
                home_region,
                bucket: a
                    .s3_bucket
                    .clone()
                    .or_else(|| trail["S3BucketName"].as_str().map(str::to_owned))
                    .context("the trail names no bucket")?,
                prefix: a
                    .s3_prefix
                    .clone()
                    .or_else(|| trail["S3KeyPrefix"].as_str().map(str::to_owned)),
                start,
                end,
                public_keys: public_keys(&keys),
                latest_digest,
                concurrency: a.concurrency as usize,
                // Stopped, and its last delivery is listed by a digest.
                closed: status["IsLogging"] == J::Bool(false)
                    && status["LatestDeliveryTime"]
                        .as_f64()
                        .is_none_or(|d| latest_digest.is_some_and(|g| d <= g.timestamp() as f64)),
            };
            (Box::new(LiveSource { profile }), plan)
        }
    };
    println!(
        "Validating log files for trail {arn} between {} and {}\n",
        sightline_trail::digest::format_time(&start),
        sightline_trail::digest::format_time(&end)
    );
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} log files")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let report = verify::run(&plan, source.as_ref(), &Bar(bar.clone())).await;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    for f in &report.findings {
        eprintln!("{f}\n");
    }
    if a.verbose {
        for n in &report.notes {
            println!("{n}");
        }
    }
    print!("{}", report.summary(&start, &end));
    println!(
        "\n{:.1} MB of log data ({:.1} MB compressed) in {:.2} s: {:.0} MB/s",
        report.log_bytes as f64 / 1e6,
        report.compressed_bytes as f64 / 1e6,
        elapsed,
        report.log_bytes as f64 / 1e6 / elapsed.max(1e-9)
    );
    Ok(report.valid())
}

fn open_checkpoint(vkey: &str, note: &str) -> Result<Checkpoint> {
    let v = Verifier::decode(vkey).map_err(|e| anyhow!("verifier key: {e}"))?;
    v.open(note)
        .map_err(|e| anyhow!("checkpoint does not verify: {e}"))
}

fn hashes(list: &J) -> Result<Vec<Hash>> {
    list.as_array()
        .context("proof missing")?
        .iter()
        .map(|h| {
            let bytes = B64.decode(h.as_str().unwrap_or_default())?;
            bytes
                .try_into()
                .map_err(|_| anyhow!("a proof hash is not 32 bytes"))
        })
        .collect()
}

fn trusted_key(pinned: &Option<String>, served: &J) -> Result<String> {
    match pinned {
        Some(k) => Ok(k.clone()),
        None => {
            let k = served
                .as_str()
                .context("the server named no verifier key")?
                .to_owned();
            eprintln!(
                "note: trusting the checkpoint key the server names ({k}); pin it with --vkey"
            );
            Ok(k)
        }
    }
}

async fn verify_checkpoint(a: &VerifyArgs, path: &PathBuf) -> Result<bool> {
    let profile = a.conn.profile()?;
    let current = sightline(&profile, "GetCheckpoint", json!({})).await?;
    let vkey = trusted_key(&a.vkey, &current["VerifierKey"])?;
    if !path.exists() {
        // Trust on first use: later runs prove the log only grew from here.
        let note = current["Checkpoint"].as_str().context("no checkpoint")?;
        let c = open_checkpoint(&vkey, note)?;
        std::fs::write(path, note)?;
        println!(
            "{}: saved the checkpoint at {} records to {}; later runs prove the log only grows from it",
            c.origin,
            c.size,
            path.display()
        );
        return Ok(true);
    }
    let old_note =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let old = open_checkpoint(&vkey, &old_note)?;
    let answer = sightline(
        &profile,
        "GetConsistencyProof",
        json!({"FirstSize": old.size}),
    )
    .await?;
    let new_note = answer["Checkpoint"].as_str().context("no checkpoint")?;
    let new = open_checkpoint(&vkey, new_note)?;
    if new.origin != old.origin {
        println!(
            "INVALID: the saved checkpoint is of {}, the server's of {}",
            old.origin, new.origin
        );
        return Ok(false);
    }
    let proof = hashes(&answer["Proof"])?;
    if verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
        println!(
            "{}: the log grew from {} to {} records and keeps every earlier one (consistency proof verified)",
            new.origin, old.size, new.size
        );
        if a.update {
            std::fs::write(path, new_note)?;
        }
        Ok(true)
    } else {
        println!(
            "INVALID: {} at {} records is not an extension of the saved checkpoint at {} records: records were changed or removed",
            new.origin, new.size, old.size
        );
        Ok(false)
    }
}

pub async fn prove(a: ProveArgs) -> Result<bool> {
    let profile = a.conn.profile()?;
    let answer = sightline(
        &profile,
        "GetInclusionProof",
        json!({"EventId": a.event_id}),
    )
    .await?;
    let vkey = trusted_key(&a.vkey, &answer["VerifierKey"])?;
    let note = answer["Checkpoint"].as_str().context("no checkpoint")?;
    let checkpoint = open_checkpoint(&vkey, note)?;
    let record = answer["Record"].as_str().unwrap_or_default();
    let index = answer["LeafIndex"].as_u64().context("no leaf index")?;
    let proof = hashes(&answer["Proof"])?;
    let parsed: J = serde_json::from_str(record).unwrap_or(J::Null);
    if parsed["eventID"].as_str() != Some(a.event_id.as_str()) {
        println!(
            "INVALID: the server returned a record that is not event {}",
            a.event_id
        );
        return Ok(false);
    }
    let leaf = leaf_hash(record.as_bytes());
    if verify_inclusion(index, checkpoint.size, &leaf, &proof, &checkpoint.root) {
        let fields: BTreeMap<&str, &str> = ["eventTime", "eventSource", "eventName"]
            .iter()
            .filter_map(|f| Some((*f, parsed[*f].as_str()?)))
            .collect();
        println!(
            "event {} ({} {} at {}) is record {} of {} in {}: inclusion proof verified against the signed checkpoint",
            a.event_id,
            fields.get("eventSource").unwrap_or(&""),
            fields.get("eventName").unwrap_or(&""),
            fields.get("eventTime").unwrap_or(&""),
            index,
            checkpoint.size,
            checkpoint.origin
        );
        print!("{note}");
        Ok(true)
    } else {
        println!(
            "INVALID: the inclusion proof of event {} does not lead to the checkpoint's root",
            a.event_id
        );
        Ok(false)
    }
}

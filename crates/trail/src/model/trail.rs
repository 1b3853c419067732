//! A trail: its configuration as the API sets it, and the delivery state the delivery
//! loop advances (which records are in delivered log files, and each region's digest
//! chain).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PARTITION: &str = "aws";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: Option<String>,
}

/// `AWS::S3::Object` with ARN prefixes, and the other data resource types AWS accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataResource {
    pub kind: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadWrite {
    ReadOnly,
    WriteOnly,
    All,
}

impl ReadWrite {
    pub fn parse(s: &str) -> Option<ReadWrite> {
        match s {
            "ReadOnly" => Some(ReadWrite::ReadOnly),
            "WriteOnly" => Some(ReadWrite::WriteOnly),
            "All" => Some(ReadWrite::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReadWrite::ReadOnly => "ReadOnly",
            ReadWrite::WriteOnly => "WriteOnly",
            ReadWrite::All => "All",
        }
    }

    pub fn admits(self, read_only: bool) -> bool {
        match self {
            ReadWrite::All => true,
            ReadWrite::ReadOnly => read_only,
            ReadWrite::WriteOnly => !read_only,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSelector {
    pub read_write: ReadWrite,
    pub include_management_events: bool,
    pub data_resources: Vec<DataResource>,
    pub exclude_management_event_sources: Vec<String>,
}

impl Default for EventSelector {
    /// What a trail logs until PutEventSelectors says otherwise: every management event.
    fn default() -> Self {
        EventSelector {
            read_write: ReadWrite::All,
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

/// What a record says about itself that selectors look at.
#[derive(Debug, Clone, Copy)]
pub struct RecordTraits<'a> {
    pub read_only: bool,
    pub management: bool,
    pub event_source: &'a str,
    /// For data events: the resource ARNs (objects) the call touched.
    pub resources: &'a [String],
}

impl EventSelector {
    pub fn admits(&self, r: &RecordTraits<'_>) -> bool {
        if !self.read_write.admits(r.read_only) {
            return false;
        }
        if r.management {
            return self.include_management_events
                && !self
                    .exclude_management_event_sources
                    .iter()
                    .any(|s| s == r.event_source);
        }
        self.data_resources.iter().any(|d| {
            let service = match d.kind.as_str() {
                "AWS::S3::Object" => "s3.amazonaws.com",
                "AWS::Lambda::Function" => "lambda.amazonaws.com",
                "AWS::DynamoDB::Table" => "dynamodb.amazonaws.com",
                _ => return false,
            };
            service == r.event_source
                && d.values.iter().any(|prefix| {
                    // `arn:aws:s3` alone selects every bucket.
                    prefix == "arn:aws:s3"
                        || prefix == "arn:aws:s3:::"
                        || r.resources.iter().any(|a| a.starts_with(prefix.as_str()))
                })
        })
    }
}

/// A trail as CreateTrail/UpdateTrail define it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailConfig {
    pub name: String,
    pub account: String,
    pub home_region: String,
    pub s3_bucket: String,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: bool,
    pub multi_region: bool,
    pub organization: bool,
    pub log_file_validation: bool,
    /// The key's ARN once resolved.
    pub kms_key_id: Option<String>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    /// None until PutEventSelectors: the default selector applies.
    pub event_selectors: Option<Vec<EventSelector>>,
    pub tags: Vec<Tag>,
}

impl TrailConfig {
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account, &self.name)
    }

    pub fn selectors(&self) -> Vec<EventSelector> {
        self.event_selectors
            .clone()
            .unwrap_or_else(|| vec![EventSelector::default()])
    }

    /// Whether a record from `region` belongs in this trail.
    pub fn covers_region(&self, region: &str) -> bool {
        self.multi_region || region == self.home_region
    }

    pub fn admits(&self, r: &RecordTraits<'_>) -> bool {
        // Global services (IAM) are recorded in us-east-1 and delivered only by trails
        // that include them.
        if !self.include_global_service_events && r.event_source == "iam.amazonaws.com" {
            return false;
        }
        self.selectors().iter().any(|s| s.admits(r))
    }
}

pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:{PARTITION}:cloudtrail:{region}:{account}:trail/{name}")
}

/// A delivered log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    pub bucket: String,
    pub key: String,
    /// Hex SHA-256 of the uncompressed file.
    pub hash: String,
    pub oldest_event_time: DateTime<Utc>,
    pub newest_event_time: DateTime<Utc>,
}

/// The last digest of a chain, which the next one points back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousDigest {
    pub bucket: String,
    pub key: String,
    /// Hex SHA-256 of the uncompressed digest.
    pub hash: String,
    /// Hex signature.
    pub signature: String,
}

/// One region's digest chain: where the next digest starts, the digest it points back
/// to, and the log files delivered since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestChain {
    pub start: DateTime<Utc>,
    pub previous: Option<PreviousDigest>,
    pub pending: Vec<LogFile>,
}

/// Where delivery stands: the last record (time in ms, event id) in a delivered log
/// file. Records are read in (time, id) order, so everything up to here is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub time_ms: i64,
    pub event_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub start_logging_time: Option<DateTime<Utc>>,
    pub stop_logging_time: Option<DateTime<Utc>>,
    pub latest_delivery_time: Option<DateTime<Utc>>,
    pub latest_delivery_attempt_time: Option<DateTime<Utc>>,
    pub latest_delivery_attempt_succeeded: Option<DateTime<Utc>>,
    pub latest_delivery_error: Option<String>,
    pub latest_digest_delivery_time: Option<DateTime<Utc>>,
    pub latest_digest_delivery_error: Option<String>,
}

/// A logging period `[from, to)` in ms; open while logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: Option<i64>,
}

impl Window {
    pub fn contains(&self, ms: i64) -> bool {
        self.from_ms <= ms && self.to_ms.is_none_or(|t| ms < t)
    }
}

/// A trail with its delivery state; stored as one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailRecord {
    pub config: TrailConfig,
    pub logging: bool,
    pub status: Status,
    /// The periods the trail was logging, oldest first; records timed inside one are
    /// the trail's. Periods wholly before the cursor are dropped.
    pub windows: Vec<Window>,
    pub cursor: Option<Cursor>,
    /// Digest chains by region, while log file validation is on.
    pub chains: BTreeMap<String, DigestChain>,
}

impl TrailRecord {
    pub fn new(config: TrailConfig) -> TrailRecord {
        TrailRecord {
            config,
            logging: false,
            status: Status::default(),
            windows: Vec::new(),
            cursor: None,
            chains: BTreeMap::new(),
        }
    }
}

/// A digest signing key of one region, its private half sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub region: String,
    /// Hex MD5 of the DER public key, as digests name it.
    pub fingerprint: String,
    /// PKCS#1 DER of the public key.
    #[serde(with = "sightline_core::b64")]
    pub public_der: Vec<u8>,
    #[serde(with = "sightline_core::b64")]
    pub sealed_private: Vec<u8>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
}

//! Trails as the API manages them: validation with CloudTrail's errors, the destination
//! checks CreateTrail makes (the bucket policy must let `cloudtrail.amazonaws.com` write,
//! the key policy must let it encrypt), logging periods, event selectors and public keys.

use crate::model::{
    DigestChain, EventSelector, PARTITION, SigningKey, Status, Tag, TrailConfig, TrailRecord,
    Window, trail_arn,
};
use crate::signing::Signing;
use crate::{Error, Result, store};
use chrono::{DateTime, Utc};
use sightline_core::{
    AuditClock, Caller, KeyRequest, KeyService, Scope, SecretSealer, ServiceActor, ServiceBuckets,
};
use sightline_lake::Lake;
use sightline_meta::Meta;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const SERVICE: &str = "cloudtrail.amazonaws.com";
/// AWS allows five trails per region.
const MAX_TRAILS_PER_REGION: usize = 5;

#[derive(Debug, Clone, Copy)]
pub struct DeliveryOptions {
    /// How often new records are written out as log files (CloudTrail: about 5 minutes).
    pub delivery_interval: Duration,
    /// How often each region's digest is written (CloudTrail: hourly).
    pub digest_interval: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            delivery_interval: Duration::from_secs(300),
            digest_interval: Duration::from_secs(3600),
        }
    }
}

/// What CreateTrail and UpdateTrail carry; `None` leaves a setting as it is (update) or
/// takes CloudTrail's default (create).
#[derive(Debug, Default, Clone)]
pub struct TrailSettings {
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: Option<bool>,
    pub multi_region: Option<bool>,
    pub organization: Option<bool>,
    pub log_file_validation: Option<bool>,
    pub kms_key_id: Option<String>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
}

pub struct Trails {
    pub(crate) meta: Arc<Meta>,
    pub(crate) lake: Arc<Lake>,
    pub(crate) buckets: Arc<dyn ServiceBuckets>,
    pub(crate) keys: Arc<dyn KeyService>,
    pub(crate) signing: Signing,
    pub(crate) clock: Arc<AuditClock>,
    pub(crate) options: DeliveryOptions,
    /// By trail ARN.
    pub(crate) trails: parking_lot::Mutex<BTreeMap<String, TrailRecord>>,
}

/// CloudTrail's trail name rules.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |m: &str| Err(Error::InvalidTrailName(m.to_owned()));
    if name.len() < 3 {
        return Err(Error::InvalidTrailName(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {} characters.",
            name.len()
        )));
    }
    if name.len() > 128 {
        return Err(Error::InvalidTrailName(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {} characters.",
            name.len()
        )));
    }
    let bytes = name.as_bytes();
    if !bytes[0].is_ascii_alphanumeric() {
        return bad("Trail name must starts with a letter or number.");
    }
    if !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return bad("Trail name must ends with a letter or number.");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        );
    }
    if bytes
        .windows(2)
        .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
    {
        return bad(
            "Trail name cannot have adjacent periods (.), hyphens (-), or underscores (_).",
        );
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return bad("Trail name cannot be formatted as an IP address.");
    }
    Ok(())
}

fn validate_bucket_name(name: &str) -> Result<()> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidS3BucketName(format!(
            "Bucket name is not valid: {name}"
        )))
    }
}

fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > 200 || prefix.starts_with('/') || prefix.ends_with('/') {
        return Err(Error::InvalidS3Prefix(format!(
            "Invalid S3 key prefix: {prefix}. The prefix must be at most 200 characters and must not begin or end with a slash."
        )));
    }
    Ok(())
}

/// `arn:aws:cloudtrail:<region>:<account>:trail/<name>` split into its parts.
fn parse_arn(arn: &str) -> Result<(String, String, String)> {
    let invalid = || {
        Error::CloudTrailArnInvalid(format!(
            "Invalid trail ARN: {arn}. The ARN must be in the format arn:aws:cloudtrail:region:account-id:trail/trail-name."
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", p, "cloudtrail", region, account, resource]
            if *p == PARTITION
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let name = resource.strip_prefix("trail/").ok_or_else(invalid)?;
            validate_name(name)?;
            Ok((region.to_string(), account.to_string(), name.to_owned()))
        }
        _ => Err(invalid()),
    }
}

fn not_found(arn: &str, account: &str) -> Error {
    Error::TrailNotFound(format!("Unknown trail: {arn} for the user: {account}"))
}

pub fn validate_selectors(selectors: &[EventSelector]) -> Result<()> {
    if selectors.len() > 5 {
        return Err(Error::InvalidEventSelectors(
            "The number of event selectors must be at most 5.".into(),
        ));
    }
    let mut values = 0;
    for s in selectors {
        for d in &s.data_resources {
            if !matches!(
                d.kind.as_str(),
                "AWS::S3::Object" | "AWS::Lambda::Function" | "AWS::DynamoDB::Table"
            ) {
                return Err(Error::InvalidEventSelectors(format!(
                    "Value {} for DataResources.Type is invalid.",
                    d.kind
                )));
            }
            for v in &d.values {
                if d.kind == "AWS::S3::Object" && !v.starts_with("arn:aws:s3") {
                    return Err(Error::InvalidEventSelectors(format!(
                        "Value {v} for DataResources.Values is invalid."
                    )));
                }
            }
            values += d.values.len();
        }
    }
    if values > 250 {
        return Err(Error::InvalidEventSelectors(
            "The total number of data resource values across all event selectors must be at most 250.".into(),
        ));
    }
    Ok(())
}

impl Trails {
    pub fn open(
        meta: Arc<Meta>,
        lake: Arc<Lake>,
        buckets: Arc<dyn ServiceBuckets>,
        keys: Arc<dyn KeyService>,
        sealer: Arc<dyn SecretSealer>,
        clock: Arc<AuditClock>,
        options: DeliveryOptions,
    ) -> Result<Trails> {
        store::migrate(&meta)?;
        let trails = store::load_trails(&meta)?
            .into_iter()
            .map(|t| (t.config.arn(), t))
            .collect();
        let signing = Signing::open(meta.clone(), sealer)?;
        Ok(Trails {
            meta,
            lake,
            buckets,
            keys,
            signing,
            clock,
            options,
            trails: parking_lot::Mutex::new(trails),
        })
    }

    /// The ARN a name or ARN stands for, and whether it names a trail whose home is
    /// this region; a multi-region trail is visible (read-only) from every region.
    fn locate(&self, scope: &Scope, name: &str) -> Result<(String, bool)> {
        let (arn, by_arn) = if name.starts_with("arn:") {
            let (_, account, _) = parse_arn(name)?;
            if account != scope.account_id {
                return Err(not_found(name, &scope.account_id));
            }
            (name.to_owned(), true)
        } else {
            validate_name(name)?;
            (trail_arn(&scope.region, &scope.account_id, name), false)
        };
        let trails = self.trails.lock();
        if let Some(t) = trails.get(&arn) {
            let home = t.config.home_region == scope.region;
            if home || t.config.multi_region {
                return Ok((arn, home));
            }
            return Err(not_found(&arn, &scope.account_id));
        }
        if !by_arn {
            // A multi-region trail created elsewhere, named by its name alone.
            if let Some(t) = trails.values().find(|t| {
                t.config.account == scope.account_id
                    && t.config.name == name
                    && t.config.multi_region
            }) {
                return Ok((t.config.arn(), false));
            }
        }
        Err(not_found(&arn, &scope.account_id))
    }

    /// A trail this region may change: its home region only.
    fn locate_home(&self, scope: &Scope, name: &str) -> Result<String> {
        let (arn, home) = self.locate(scope, name)?;
        if !home {
            return Err(Error::InvalidHomeRegion(format!(
                "This operation must be called from the trail's home region: {}",
                arn.split(':').nth(3).unwrap_or_default()
            )));
        }
        Ok(arn)
    }

    fn record(&self, arn: &str) -> Option<TrailRecord> {
        self.trails.lock().get(arn).cloned()
    }

    /// Applies `f` to a trail and stores the result before anyone sees it.
    pub(crate) fn modify<T>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut TrailRecord) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut trails = self.trails.lock();
        let Some(current) = trails.get(arn) else {
            return Ok(None);
        };
        let mut next = current.clone();
        let out = f(&mut next)?;
        if next != *current {
            store::put_trail(&self.meta, &next)?;
            trails.insert(arn.to_owned(), next);
        }
        Ok(Some(out))
    }

    /// The checks CreateTrail and UpdateTrail make before accepting a destination.
    async fn check_destination(&self, config: &TrailConfig) -> Result<Option<String>> {
        let arn = config.arn();
        let actor = ServiceActor {
            service: SERVICE,
            source_arn: &arn,
            source_account: &config.account,
            region: &config.home_region,
        };
        let probe = crate::digest::log_prefix(
            config.s3_key_prefix.as_deref(),
            &config.account,
            &config.home_region,
        );
        match self
            .buckets
            .check_write(&actor, &config.s3_bucket, &probe)
            .await
        {
            Ok(()) => {}
            Err(sightline_core::Error::NotFound(_)) => {
                return Err(Error::S3BucketDoesNotExist(format!(
                    "S3 bucket {} does not exist.",
                    config.s3_bucket
                )));
            }
            Err(_) => {
                return Err(Error::InsufficientS3BucketPolicy(format!(
                    "Incorrect S3 bucket policy is detected for bucket: {}",
                    config.s3_bucket
                )));
            }
        }
        let Some(key_id) = &config.kms_key_id else {
            return Ok(None);
        };
        let service = Caller::service(SERVICE);
        let scope = Scope::new(&config.account, &config.home_region);
        let request = KeyRequest {
            caller: &service,
            scope: &scope,
            source_ip: SERVICE,
            secure_transport: true,
            via_service: format!("cloudtrail.{}.amazonaws.com", config.home_region),
            source_arn: Some(&arn),
        };
        let context = BTreeMap::from([("aws:cloudtrail:arn".to_owned(), arn.clone())]);
        match self
            .keys
            .generate_data_key(&request, key_id, &context)
            .await
        {
            Ok(k) => Ok(Some(k.key_arn)),
            Err(sightline_core::Error::AccessDenied(_)) => {
                Err(Error::InsufficientEncryptionPolicy(format!(
                    "Insufficient permissions to access S3 bucket {} or KMS key {key_id}.",
                    config.s3_bucket
                )))
            }
            Err(sightline_core::Error::Service { code, message }) => Err(match code.as_str() {
                "NotFoundException" => {
                    Error::KmsKeyNotFound(format!("KMS key not found: {key_id}. {message}"))
                }
                "DisabledException" => {
                    Error::KmsKeyDisabled(format!("KMS key is disabled: {key_id}"))
                }
                _ => Error::Kms(format!("{code}: {message}")),
            }),
            Err(e) => Err(Error::Kms(e.to_string())),
        }
    }

    fn apply(config: &mut TrailConfig, s: &TrailSettings) -> Result<()> {
        if let Some(b) = &s.s3_bucket {
            validate_bucket_name(b)?;
            config.s3_bucket = b.clone();
        }
        if let Some(p) = &s.s3_key_prefix {
            validate_prefix(p)?;
            config.s3_key_prefix = (!p.is_empty()).then(|| p.clone());
        }
        if let Some(t) = &s.sns_topic_name {
            config.sns_topic_name = (!t.is_empty()).then(|| t.clone());
        }
        if let Some(v) = s.include_global_service_events {
            config.include_global_service_events = v;
        }
        if let Some(v) = s.multi_region {
            config.multi_region = v;
        }
        if let Some(v) = s.organization {
            config.organization = v;
        }
        if let Some(v) = s.log_file_validation {
            config.log_file_validation = v;
        }
        if let Some(k) = &s.kms_key_id {
            if k.is_empty() {
                config.kms_key_id = None;
            } else {
                if k.len() > 2048 {
                    return Err(Error::InvalidKmsKeyId(format!("Invalid KmsKeyId: {k}")));
                }
                config.kms_key_id = Some(k.clone());
            }
        }
        if let Some(v) = &s.cloud_watch_logs_log_group_arn {
            config.cloud_watch_logs_log_group_arn = (!v.is_empty()).then(|| v.clone());
        }
        if let Some(v) = &s.cloud_watch_logs_role_arn {
            config.cloud_watch_logs_role_arn = (!v.is_empty()).then(|| v.clone());
        }
        if config.multi_region && !config.include_global_service_events {
            return Err(Error::InvalidParameterCombination(
                "Multi-Region trail must include global service events.".into(),
            ));
        }
        if config.cloud_watch_logs_log_group_arn.is_some()
            != config.cloud_watch_logs_role_arn.is_some()
        {
            return Err(Error::InvalidParameterCombination(
                "You must specify a log group and a role ARN.".into(),
            ));
        }
        Ok(())
    }

    pub async fn create(
        &self,
        scope: &Scope,
        name: &str,
        settings: TrailSettings,
        tags: Vec<Tag>,
    ) -> Result<TrailConfig> {
        validate_name(name)?;
        let arn = trail_arn(&scope.region, &scope.account_id, name);
        let mut config = TrailConfig {
            name: name.to_owned(),
            account: scope.account_id.clone(),
            home_region: scope.region.clone(),
            s3_bucket: String::new(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            multi_region: false,
            organization: false,
            log_file_validation: false,
            kms_key_id: None,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            event_selectors: None,
            tags,
        };
        Self::apply(&mut config, &settings)?;
        self.check_new(scope, &arn)?;
        config.kms_key_id = self.check_destination(&config).await?;
        let mut trails = self.trails.lock();
        // Checked again: the destination checks ran without the lock.
        self.check_new_locked(&trails, scope, &arn)?;
        let record = TrailRecord::new(config.clone());
        store::put_trail(&self.meta, &record)?;
        trails.insert(arn, record);
        tracing::info!(trail = %config.arn(), bucket = %config.s3_bucket, "trail created");
        Ok(config)
    }

    fn check_new(&self, scope: &Scope, arn: &str) -> Result<()> {
        let trails = self.trails.lock();
        self.check_new_locked(&trails, scope, arn)
    }

    fn check_new_locked(
        &self,
        trails: &BTreeMap<String, TrailRecord>,
        scope: &Scope,
        arn: &str,
    ) -> Result<()> {
        if trails.contains_key(arn) {
            return Err(Error::TrailAlreadyExists(format!(
                "Trail {arn} already exists for customer: {}",
                scope.account_id
            )));
        }
        let in_region = trails
            .values()
            .filter(|t| {
                t.config.account == scope.account_id && t.config.home_region == scope.region
            })
            .count();
        if in_region >= MAX_TRAILS_PER_REGION {
            return Err(Error::MaximumNumberOfTrailsExceeded(format!(
                "User: {} already has {MAX_TRAILS_PER_REGION} trails in {}.",
                scope.account_id, scope.region
            )));
        }
        Ok(())
    }

    pub async fn update(
        &self,
        scope: &Scope,
        name: &str,
        settings: TrailSettings,
    ) -> Result<TrailConfig> {
        let arn = self.locate_home(scope, name)?;
        let current = self
            .record(&arn)
            .ok_or_else(|| not_found(&arn, &scope.account_id))?;
        let mut config = current.config.clone();
        Self::apply(&mut config, &settings)?;
        let destination_changed = config.s3_bucket != current.config.s3_bucket
            || config.s3_key_prefix != current.config.s3_key_prefix
            || config.kms_key_id != current.config.kms_key_id;
        if destination_changed {
            config.kms_key_id = self.check_destination(&config).await?;
        }
        let now = Utc::now();
        let out = self.modify(&arn, |t| {
            let validation_was = t.config.log_file_validation;
            t.config = config.clone();
            if t.config.log_file_validation && !validation_was && t.logging {
                t.chains
                    .insert(t.config.home_region.clone(), new_chain(now));
            }
            if !t.config.log_file_validation {
                // The chain ends; a later enable starts a new one.
                t.chains.clear();
            }
            Ok(t.config.clone())
        })?;
        out.ok_or_else(|| not_found(&arn, &scope.account_id))
    }

    pub fn delete(&self, scope: &Scope, name: &str) -> Result<()> {
        let arn = self.locate_home(scope, name)?;
        let mut trails = self.trails.lock();
        if trails.remove(&arn).is_none() {
            return Err(not_found(&arn, &scope.account_id));
        }
        store::delete_trail(&self.meta, &arn)?;
        tracing::info!(trail = %arn, "trail deleted");
        Ok(())
    }

    pub fn get(&self, scope: &Scope, name: &str) -> Result<TrailConfig> {
        let (arn, _) = self.locate(scope, name)?;
        self.record(&arn)
            .map(|t| t.config)
            .ok_or_else(|| not_found(&arn, &scope.account_id))
    }

    /// DescribeTrails: the named trails, or every trail visible in the region (its own
    /// and, with shadow trails, multi-region trails homed elsewhere).
    pub fn describe(
        &self,
        scope: &Scope,
        names: &[String],
        include_shadow: bool,
    ) -> Result<Vec<TrailConfig>> {
        if names.is_empty() {
            let trails = self.trails.lock();
            return Ok(trails
                .values()
                .filter(|t| t.config.account == scope.account_id)
                .filter(|t| {
                    t.config.home_region == scope.region
                        || (include_shadow && t.config.multi_region)
                })
                .map(|t| t.config.clone())
                .collect());
        }
        let mut out = Vec::new();
        for n in names {
            match self.locate(scope, n) {
                Ok((arn, _)) => {
                    if let Some(t) = self.record(&arn)
                        && !out.iter().any(|c: &TrailConfig| c.arn() == arn)
                    {
                        out.push(t.config);
                    }
                }
                // Unknown names are left out, as DescribeTrails does.
                Err(Error::TrailNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// ListTrails: every trail of the account, whatever its home region.
    pub fn list(&self, scope: &Scope) -> Vec<TrailConfig> {
        self.trails
            .lock()
            .values()
            .filter(|t| t.config.account == scope.account_id)
            .map(|t| t.config.clone())
            .collect()
    }

    pub fn status(&self, scope: &Scope, name: &str) -> Result<(bool, Status)> {
        let (arn, _) = self.locate(scope, name)?;
        self.record(&arn)
            .map(|t| (t.logging, t.status))
            .ok_or_else(|| not_found(&arn, &scope.account_id))
    }

    pub fn start_logging(&self, scope: &Scope, name: &str) -> Result<()> {
        let arn = self.locate_home(scope, name)?;
        let now = Utc::now();
        self.modify(&arn, |t| {
            if t.logging {
                return Ok(());
            }
            t.logging = true;
            t.windows.push(Window {
                from_ms: now.timestamp_millis(),
                to_ms: None,
            });
            t.status.start_logging_time = Some(now);
            if t.config.log_file_validation && !t.chains.contains_key(&t.config.home_region) {
                t.chains
                    .insert(t.config.home_region.clone(), new_chain(now));
            }
            Ok(())
        })?
        .ok_or_else(|| not_found(&arn, &scope.account_id))?;
        tracing::info!(trail = %arn, "trail logging started");
        Ok(())
    }

    pub fn stop_logging(&self, scope: &Scope, name: &str) -> Result<()> {
        let arn = self.locate_home(scope, name)?;
        let now = Utc::now();
        self.modify(&arn, |t| {
            if !t.logging {
                return Ok(());
            }
            t.logging = false;
            if let Some(w) = t.windows.last_mut() {
                w.to_ms = Some(now.timestamp_millis());
            }
            t.status.stop_logging_time = Some(now);
            Ok(())
        })?
        .ok_or_else(|| not_found(&arn, &scope.account_id))?;
        tracing::info!(trail = %arn, "trail logging stopped");
        Ok(())
    }

    pub fn put_event_selectors(
        &self,
        scope: &Scope,
        name: &str,
        selectors: Vec<EventSelector>,
    ) -> Result<TrailConfig> {
        validate_selectors(&selectors)?;
        let arn = self.locate_home(scope, name)?;
        self.modify(&arn, |t| {
            t.config.event_selectors = Some(selectors);
            Ok(t.config.clone())
        })?
        .ok_or_else(|| not_found(&arn, &scope.account_id))
    }

    /// ListPublicKeys: the region's keys valid in the range (the key in force now when
    /// no range is given), made on first use so a verifier always finds one.
    pub async fn public_keys(
        &self,
        scope: &Scope,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<SigningKey>> {
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(Error::InvalidTimeRange(
                "Start time must be before end time.".into(),
            ));
        }
        self.signing.current(&scope.region).await?;
        // After the key in force exists, so a key made by this call is in range.
        let now = Utc::now();
        let end = end.unwrap_or(now);
        let start = start.unwrap_or(end).min(end);
        Ok(self.signing.public_keys(&scope.region, start, end))
    }
}

pub(crate) fn new_chain(now: DateTime<Utc>) -> DigestChain {
    DigestChain {
        start: now,
        previous: None,
        pending: Vec::new(),
    }
}

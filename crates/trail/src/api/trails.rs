//! The wire shapes of the trail operations and their mapping onto [`Trails`].

use crate::model::{DataResource, EventSelector, ReadWrite, SigningKey, Status, Tag, TrailConfig};
use crate::trails::{TrailSettings, Trails};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sightline_core::Scope;
use sightline_wire::{Blob, Timestamp};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagIn {
    key: String,
    value: Option<String>,
}

/// CreateTrail and UpdateTrail carry the same members (UpdateTrail has no tags, and
/// only CreateTrail requires a bucket).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrailIn {
    name: String,
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    include_global_service_events: Option<bool>,
    is_multi_region_trail: Option<bool>,
    enable_log_file_validation: Option<bool>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    is_organization_trail: Option<bool>,
    #[serde(default)]
    tags_list: Vec<TagIn>,
}

impl TrailIn {
    fn settings(&self) -> TrailSettings {
        TrailSettings {
            s3_bucket: self.s3_bucket_name.clone(),
            s3_key_prefix: self.s3_key_prefix.clone(),
            sns_topic_name: self.sns_topic_name.clone(),
            include_global_service_events: self.include_global_service_events,
            multi_region: self.is_multi_region_trail,
            organization: self.is_organization_trail,
            log_file_validation: self.enable_log_file_validation,
            kms_key_id: self.kms_key_id.clone(),
            cloud_watch_logs_log_group_arn: self.cloud_watch_logs_log_group_arn.clone(),
            cloud_watch_logs_role_arn: self.cloud_watch_logs_role_arn.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct NameIn {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrailNameIn {
    trail_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTrailsIn {
    #[serde(default)]
    trail_name_list: Vec<String>,
    include_shadow_trails: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListPublicKeysIn {
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DataResourceIn {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EventSelectorIn {
    read_write_type: Option<String>,
    include_management_events: Option<bool>,
    #[serde(default)]
    data_resources: Vec<DataResourceIn>,
    #[serde(default)]
    exclude_management_event_sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutEventSelectorsIn {
    trail_name: String,
    event_selectors: Option<Vec<EventSelectorIn>>,
    advanced_event_selectors: Option<Vec<serde_json::Value>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrailOut {
    name: String,
    s3_bucket_name: String,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    #[serde(rename = "SnsTopicARN")]
    sns_topic_arn: Option<String>,
    include_global_service_events: bool,
    is_multi_region_trail: bool,
    home_region: Option<String>,
    #[serde(rename = "TrailARN")]
    trail_arn: String,
    log_file_validation_enabled: bool,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    has_custom_event_selectors: Option<bool>,
    has_insight_selectors: Option<bool>,
    is_organization_trail: bool,
}

/// The Trail shape (`full`), or CreateTrail/UpdateTrail's answer, which lacks the home
/// region and the selector flags.
fn trail_out(c: &TrailConfig, full: bool) -> TrailOut {
    TrailOut {
        name: c.name.clone(),
        s3_bucket_name: c.s3_bucket.clone(),
        s3_key_prefix: c.s3_key_prefix.clone(),
        sns_topic_name: c.sns_topic_name.clone(),
        sns_topic_arn: c
            .sns_topic_name
            .as_ref()
            .map(|t| format!("arn:aws:sns:{}:{}:{t}", c.home_region, c.account)),
        include_global_service_events: c.include_global_service_events,
        is_multi_region_trail: c.multi_region,
        home_region: full.then(|| c.home_region.clone()),
        trail_arn: c.arn(),
        log_file_validation_enabled: c.log_file_validation,
        cloud_watch_logs_log_group_arn: c.cloud_watch_logs_log_group_arn.clone(),
        cloud_watch_logs_role_arn: c.cloud_watch_logs_role_arn.clone(),
        kms_key_id: c.kms_key_id.clone(),
        has_custom_event_selectors: full.then_some(c.event_selectors.is_some()),
        has_insight_selectors: full.then_some(false),
        is_organization_trail: c.organization,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTrailsOut {
    trail_list: Vec<TrailOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetTrailOut {
    trail: TrailOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrailStatusOut {
    is_logging: bool,
    latest_delivery_error: Option<String>,
    latest_delivery_time: Option<Timestamp>,
    start_logging_time: Option<Timestamp>,
    stop_logging_time: Option<Timestamp>,
    latest_digest_delivery_time: Option<Timestamp>,
    latest_digest_delivery_error: Option<String>,
    latest_delivery_attempt_time: Option<String>,
    latest_delivery_attempt_succeeded: Option<String>,
    time_logging_started: Option<String>,
    time_logging_stopped: Option<String>,
}

fn text_time(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(crate::digest::format_time)
}

fn status_out(logging: bool, s: &Status) -> TrailStatusOut {
    TrailStatusOut {
        is_logging: logging,
        latest_delivery_error: s.latest_delivery_error.clone(),
        latest_delivery_time: s.latest_delivery_time.map(Timestamp),
        start_logging_time: s.start_logging_time.map(Timestamp),
        stop_logging_time: s.stop_logging_time.map(Timestamp),
        latest_digest_delivery_time: s.latest_digest_delivery_time.map(Timestamp),
        latest_digest_delivery_error: s.latest_digest_delivery_error.clone(),
        latest_delivery_attempt_time: text_time(&s.latest_delivery_attempt_time),
        latest_delivery_attempt_succeeded: text_time(&s.latest_delivery_attempt_succeeded),
        time_logging_started: text_time(&s.start_logging_time),
        time_logging_stopped: text_time(&s.stop_logging_time),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrailInfoOut {
    #[serde(rename = "TrailARN")]
    trail_arn: String,
    name: String,
    home_region: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListTrailsOut {
    trails: Vec<TrailInfoOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PublicKeyOut {
    value: Blob,
    validity_start_time: Timestamp,
    validity_end_time: Timestamp,
    fingerprint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListPublicKeysOut {
    public_key_list: Vec<PublicKeyOut>,
}

/// `Value` is the PKCS #1 DER (base64 on the wire, as for every blob; the AWS CLI keeps
/// blobs as that base64 text and decodes it itself).
fn public_key_out(k: &SigningKey) -> PublicKeyOut {
    PublicKeyOut {
        value: Blob(k.public_der.clone()),
        validity_start_time: Timestamp(k.valid_from),
        validity_end_time: Timestamp(k.valid_to),
        fingerprint: k.fingerprint.clone(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DataResourceOut {
    #[serde(rename = "Type")]
    kind: String,
    values: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EventSelectorOut {
    read_write_type: &'static str,
    include_management_events: bool,
    data_resources: Vec<DataResourceOut>,
    exclude_management_event_sources: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EventSelectorsOut {
    #[serde(rename = "TrailARN")]
    trail_arn: String,
    event_selectors: Vec<EventSelectorOut>,
}

fn selectors_out(c: &TrailConfig) -> EventSelectorsOut {
    EventSelectorsOut {
        trail_arn: c.arn(),
        event_selectors: c
            .selectors()
            .into_iter()
            .map(|s| EventSelectorOut {
                read_write_type: s.read_write.as_str(),
                include_management_events: s.include_management_events,
                data_resources: s
                    .data_resources
                    .into_iter()
                    .map(|d| DataResourceOut {
                        kind: d.kind,
                        values: d.values,
                    })
                    .collect(),
                exclude_management_event_sources: s.exclude_management_event_sources,
            })
            .collect(),
    }
}

#[derive(Serialize)]
pub(super) struct Empty {}

pub(super) async fn create(t: &Trails, scope: &Scope, r: TrailIn) -> Result<TrailOut> {
    if r.s3_bucket_name.is_none() {
        return Err(Error::InvalidParameter("S3BucketName is required.".into()));
    }
    if r.tags_list.len() > 50 {
        return Err(Error::InvalidParameter(
            "A trail can have at most 50 tags.".into(),
        ));
    }
    let settings = r.settings();
    let tags = r
        .tags_list
        .into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect();
    let c = t.create(scope, &r.name, settings, tags).await?;
    Ok(trail_out(&c, false))
}

pub(super) async fn update(t: &Trails, scope: &Scope, r: TrailIn) -> Result<TrailOut> {
    let c = t.update(scope, &r.name, r.settings()).await?;
    Ok(trail_out(&c, false))
}

pub(super) fn delete(t: &Trails, scope: &Scope, r: NameIn) -> Result<Empty> {
    t.delete(scope, &r.name)?;
    Ok(Empty {})
}

pub(super) fn describe(
    t: &Trails,
    scope: &Scope,
    r: DescribeTrailsIn,
) -> Result<DescribeTrailsOut> {
    let list = t.describe(
        scope,
        &r.trail_name_list,
        r.include_shadow_trails.unwrap_or(true),
    )?;
    Ok(DescribeTrailsOut {
        trail_list: list.iter().map(|c| trail_out(c, true)).collect(),
    })
}

pub(super) fn get(t: &Trails, scope: &Scope, r: NameIn) -> Result<GetTrailOut> {
    Ok(GetTrailOut {
        trail: trail_out(&t.get(scope, &r.name)?, true),
    })
}

pub(super) fn status(t: &Trails, scope: &Scope, r: NameIn) -> Result<TrailStatusOut> {
    let (logging, s) = t.status(scope, &r.name)?;
    Ok(status_out(logging, &s))
}

pub(super) fn start(t: &Trails, scope: &Scope, r: NameIn) -> Result<Empty> {
    t.start_logging(scope, &r.name)?;
    Ok(Empty {})
}

pub(super) fn stop(t: &Trails, scope: &Scope, r: NameIn) -> Result<Empty> {
    t.stop_logging(scope, &r.name)?;
    Ok(Empty {})
}

pub(super) fn list(t: &Trails, scope: &Scope) -> ListTrailsOut {
    ListTrailsOut {
        trails: t
            .list(scope)
            .into_iter()
            .map(|c| TrailInfoOut {
                trail_arn: c.arn(),
                name: c.name,
                home_region: c.home_region,
            })
            .collect(),
    }
}

pub(super) async fn public_keys(
    t: &Trails,
    scope: &Scope,
    r: ListPublicKeysIn,
) -> Result<ListPublicKeysOut> {
    if r.next_token.is_some() {
        // Every key fits one page, so no token was ever handed out.
        return Err(Error::InvalidToken("Invalid token.".into()));
    }
    let keys = t
        .public_keys(scope, r.start_time.map(|x| x.0), r.end_time.map(|x| x.0))
        .await?;
    Ok(ListPublicKeysOut {
        public_key_list: keys.iter().map(public_key_out).collect(),
    })
}

pub(super) fn put_selectors(
    t: &Trails,
    scope: &Scope,
    r: PutEventSelectorsIn,
) -> Result<EventSelectorsOut> {
    if r.advanced_event_selectors.is_some() {
        return Err(Error::InvalidParameterCombination(
            "Advanced event selectors are not supported by this endpoint; use EventSelectors."
                .into(),
        ));
    }
    let Some(selectors) = r.event_selectors else {
        return Err(Error::InvalidParameterCombination(
            "You must specify EventSelectors or AdvancedEventSelectors.".into(),
        ));
    };
    let mut out = Vec::new();
    for s in selectors {
        let read_write = match s.read_write_type.as_deref() {
            None => ReadWrite::All,
            Some(v) => ReadWrite::parse(v).ok_or_else(|| {
                Error::InvalidEventSelectors(format!("Value {v} for ReadWriteType is invalid."))
            })?,
        };
        let mut data_resources = Vec::new();
        for d in s.data_resources {
            let kind = d.kind.ok_or_else(|| {
                Error::InvalidEventSelectors("DataResources.Type is required.".into())
            })?;
            data_resources.push(DataResource {
                kind,
                values: d.values,
            });
        }
        out.push(EventSelector {
            read_write,
            include_management_events: s.include_management_events.unwrap_or(true),
            data_resources,
            exclude_management_event_sources: s.exclude_management_event_sources,
        });
    }
    let c = t.put_event_selectors(scope, &r.trail_name, out)?;
    Ok(selectors_out(&c))
}

pub(super) fn get_selectors(
    t: &Trails,
    scope: &Scope,
    r: TrailNameIn,
) -> Result<EventSelectorsOut> {
    Ok(selectors_out(&t.get(scope, &r.trail_name)?))
}

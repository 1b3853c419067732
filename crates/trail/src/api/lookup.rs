//! LookupEvents: the event history's wire shapes and their mapping onto the lake query.

use crate::Error;
use crate::engine::Trail;
use crate::model::{Attribute, Lookup};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sightline_wire::{ApiError, CallContext, DeError, Timestamp, Value, typed};

pub(super) fn invalid(e: &DeError) -> ApiError {
    let message = match e {
        DeError::Missing(p) => format!("{p} is required"),
        DeError::Invalid { path, message } => format!("Invalid value for {path}: {message}"),
    };
    ApiError::bad_request("InvalidParameterException", message)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttributeIn {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsIn {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttributeIn>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceOut {
    resource_type: Option<String>,
    resource_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventOut {
    event_id: Option<String>,
    event_name: Option<String>,
    read_only: Option<String>,
    access_key_id: Option<String>,
    event_time: Option<Timestamp>,
    event_source: Option<String>,
    username: Option<String>,
    resources: Vec<ResourceOut>,
    cloud_trail_event: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsOut {
    events: Vec<EventOut>,
    next_token: Option<String>,
}

/// AWS keeps 90 days of event history.
const HISTORY_DAYS: i64 = 90;

fn lookup_from(r: &LookupEventsIn) -> Result<Lookup, Error> {
    if r.lookup_attributes.len() > 1 {
        return Err(Error::InvalidLookupAttributes(
            "You cannot specify more than one lookup attribute.".into(),
        ));
    }
    if let Some(c) = &r.event_category
        && c != "insight"
    {
        return Err(Error::InvalidLookupAttributes(format!(
            "Invalid EventCategory: {c}"
        )));
    }
    let attribute = match r.lookup_attributes.first() {
        Some(a) => Some(Attribute::parse(&a.attribute_key, &a.attribute_value)?),
        None => None,
    };
    let now = Utc::now();
    let end = r.end_time.map(|t| t.0).unwrap_or(now);
    let start = r
        .start_time
        .map(|t| t.0)
        .unwrap_or(now - chrono::Duration::days(HISTORY_DAYS));
    // Only an explicit pair can be contradictory; a StartTime past the defaulted end
    // (now) simply matches nothing yet.
    if start > end && r.end_time.is_some() {
        return Err(Error::InvalidTimeRange(
            "Start time must be before end time.".into(),
        ));
    }
    let max_results = match r.max_results {
        None => 50,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(n) => {
            return Err(Error::InvalidMaxResults(format!(
                "Value {n} for MaxResults is invalid. MaxResults must be between 1 and 50."
            )));
        }
    };
    let fingerprint = format!(
        "{:?}|{:?}|{:?}",
        attribute,
        r.start_time.map(|t| t.0.timestamp_millis()),
        r.end_time.map(|t| t.0.timestamp_millis())
    );
    Ok(Lookup {
        attribute,
        start,
        end,
        max_results,
        fingerprint,
    })
}

/// The event summary LookupEvents returns, derived from the stored record.
fn event_out(record: String) -> EventOut {
    let r: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let username = match r["userIdentity"]["type"].as_str() {
        Some("Root") => Some("root".to_owned()),
        Some("AssumedRole") => r["userIdentity"]["arn"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_owned),
        _ => s(&r["userIdentity"]["userName"]),
    };
    let resources = r["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let arn = x["ARN"].as_str().unwrap_or_default();
                    ResourceOut {
                        resource_type: s(&x["type"])
                            .or_else(|| sightline_lake::datasets::audit::resource_type(arn)),
                        resource_name: Some(
                            arn.rsplit(['/', ':']).next().unwrap_or(arn).to_owned(),
                        ),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    EventOut {
        event_id: s(&r["eventID"]),
        event_name: s(&r["eventName"]),
        read_only: r["readOnly"].as_bool().map(|b| b.to_string()),
        access_key_id: s(&r["userIdentity"]["accessKeyId"]),
        event_time: r["eventTime"]
            .as_str()
            .and_then(sightline_wire::timestamp::parse_timestamp)
            .map(Timestamp),
        event_source: s(&r["eventSource"]),
        username,
        resources,
        cloud_trail_event: record,
    }
}

pub(super) async fn lookup_events(
    trail: &Trail,
    ctx: &CallContext,
    input: Value,
) -> Result<Value, ApiError> {
    typed(input, invalid, |r: LookupEventsIn| async move {
        let q = lookup_from(&r)?;
        let page = trail
            .lookup(&ctx.scope, &q, r.next_token.as_deref())
            .await?;
        Ok(LookupEventsOut {
            events: page.records.into_iter().map(event_out).collect(),
            next_token: page.next,
        })
    })
    .await
}

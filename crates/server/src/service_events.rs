//! Every mutating API call on the event bus: after a call's audit record is durable, a
//! write management event becomes an `AWS API Call via CloudTrail` event on the default
//! bus of its account and region, with the record as `detail`, before the caller hears
//! back. High-volume data-plane calls stay off the bus, as on AWS.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sightline_core::{AuditSink, Event, EventPublisher, Scope};
use std::sync::Arc;

/// Calls that carry data rather than change configuration; AWS does not put them on
/// the bus either, and at their rates they would drown it.
const DATA_PLANE: &[&str] = &[
    "PutEvents",
    "PutLogEvents",
    "PutMetricData",
    "ExportLogs",
    "ExportMetrics",
    "RemoteWrite",
    "SendMessage",
    "SendMessageBatch",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "ReceiveMessage",
    "Publish",
    "PublishBatch",
];

pub struct EventingSink {
    pub inner: Arc<dyn AuditSink>,
    pub publisher: Arc<dyn EventPublisher>,
}

/// The `source` of an API call event: `aws.` and the service's name, which for
/// CloudWatch (`monitoring.amazonaws.com`) is `cloudwatch`.
fn source_of(event_source: &str) -> String {
    let service = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    match service {
        "monitoring" => "aws.cloudwatch".into(),
        other => format!("aws.{other}"),
    }
}

/// The bus event for an audit record, when the record is a management call: a write,
/// or a read when `reads` (rules in state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`
/// exist; the bus routes reads to those rules only).
pub fn api_call_event(record: &Value, reads: bool) -> Option<Event> {
    let s = |k: &str| record.get(k).and_then(Value::as_str);
    let read_only = record.get("readOnly").and_then(Value::as_bool) != Some(false);
    if s("eventType") != Some("AwsApiCall")
        || (read_only && !reads)
        || record.get("managementEvent").and_then(Value::as_bool) == Some(false)
    {
        return None;
    }
    let name = s("eventName")?;
    if DATA_PLANE.contains(&name) {
        return None;
    }
    let time = s("eventTime")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Some(Event {
        version: "0".into(),
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: "AWS API Call via CloudTrail".into(),
        source: source_of(s("eventSource")?),
        account: s("recipientAccountId")?.to_owned(),
        time,
        region: s("awsRegion")?.to_owned(),
        resources: Vec::new(),
        detail: record.clone(),
    })
}

#[async_trait]
impl AuditSink for EventingSink {
    async fn record(
        &self,
        scope: &Scope,
        time: DateTime<Utc>,
        record: Value,
    ) -> sightline_core::Result<()> {
        let event = api_call_event(&record, self.publisher.wants_read_only_calls());
        self.inner.record(scope, time, record).await?;
        if let Some(event) = event {
            self.publisher.publish(scope, event).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, read_only: bool) -> Value {
        json!({
            "eventVersion": "1.08", "eventTime": "2026-11-27T10:00:00Z",
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "123456789012"
        })
    }

    #[test]
    fn only_write_management_calls_become_events() {
        let e = api_call_event(&record("CreateUser", false), false).unwrap();
        assert_eq!(e.source, "aws.iam");
        assert_eq!(e.detail_type, "AWS API Call via CloudTrail");
        assert_eq!(e.detail["eventName"], "CreateUser");
        assert_eq!(e.account, "123456789012");
        assert!(api_call_event(&record("ListUsers", true), false).is_none());
        assert!(api_call_event(&record("ListUsers", true), true).is_some());
        assert!(api_call_event(&record("PutLogEvents", false), true).is_none());
        assert_eq!(source_of("monitoring.amazonaws.com"), "aws.cloudwatch");
    }
}

//! OTLP/HTTP logs (`POST /v1/logs`, protobuf or JSON): each log record becomes one
//! event, stored as a JSON document so Logs Insights discovers its fields.
//!
//! Where records go (documented in the README):
//! - log group: the `x-aws-log-group` header (as on CloudWatch's own OTLP endpoint),
//!   else the resource attribute `aws.log.group.names` (first name), else
//!   `/otlp/<service.name>` (`unknown_service` without one);
//! - log stream: the `x-aws-log-stream` header, else `aws.log.stream.names`, else
//!   `service.instance.id`, else `host.name`, else `default`;
//! - event time: `timeUnixNano`, else `observedTimeUnixNano`, else arrival;
//! - message: `{"body", "severityText", "severityNumber", "attributes", "resource",
//!   "scope", "traceId", "spanId", "eventName"}`, attributes as plain JSON values.
//!
//! Groups and streams are created on first use.

use crate::engine::{Logs, NewGroup};
use crate::ingest::InputEvent;
use crate::{Error, Result};
use prost::Message;
use serde_json::{Map, Value as J, json};
use sightline_core::Scope;
pub use sightline_otlp::{
    AnyValue, ArrayValue, Encoding, InstrumentationScope, KeyValue, KeyValueList, Resource,
    any_value,
};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsServiceResponse {
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsPartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_log_records: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ResourceLogs {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ScopeLogs {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
}

#[derive(Clone, PartialEq, Message)]
pub struct LogRecord {
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    #[prost(int32, tag = "2")]
    pub severity_number: i32,
    #[prost(string, tag = "3")]
    pub severity_text: String,
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    #[prost(message, repeated, tag = "6")]
    pub attributes: Vec<KeyValue>,
    #[prost(bytes = "vec", tag = "9")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    pub span_id: Vec<u8>,
    #[prost(fixed64, tag = "11")]
    pub observed_time_unix_nano: u64,
    #[prost(string, tag = "12")]
    pub event_name: String,
}

/// The encoding of a request's `Content-Type`.
pub fn encoding_of(content_type: &str) -> Result<Encoding> {
    Encoding::of(content_type).map_err(|ct| {
        Error::InvalidParameter(format!(
            "OTLP/HTTP takes application/x-protobuf or application/json, not '{ct}'"
        ))
    })
}

pub fn decode(encoding: Encoding, body: &[u8]) -> Result<ExportLogsServiceRequest> {
    let bad = |e: String| Error::InvalidParameter(format!("malformed OTLP logs request: {e}"));
    match encoding {
        Encoding::Protobuf => {
            ExportLogsServiceRequest::decode(body).map_err(|e| bad(e.to_string()))
        }
        Encoding::Json => {
            let doc: J = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
            from_json(&doc).map_err(bad)
        }
    }
}

pub fn encode_response(encoding: Encoding, rejected: i64, message: &str) -> Vec<u8> {
    let partial = (rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: rejected,
        error_message: message.to_owned(),
    });
    match encoding {
        Encoding::Protobuf => ExportLogsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => match partial {
            Some(p) => json!({"partialSuccess": {"rejectedLogRecords": p.rejected_log_records.to_string(), "errorMessage": p.error_message}}),
            None => json!({}),
        }
        .to_string()
        .into_bytes(),
    }
}

// ------------------------------------------------------------------ OTLP/JSON

fn list<'a>(v: &'a J, key: &str) -> &'a [J] {
    v.get(key).and_then(J::as_array).map_or(&[], Vec::as_slice)
}

fn text(v: &J, key: &str) -> String {
    v.get(key).and_then(J::as_str).unwrap_or("").to_owned()
}

/// OTLP/JSON writes 64-bit integers as strings (numbers are accepted too).
fn int(v: Option<&J>) -> Option<i64> {
    match v? {
        J::String(s) => s.parse().ok(),
        J::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok())),
        _ => None,
    }
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

fn any_from_json(v: &J) -> Result<AnyValue, String> {
    use any_value::Value as V;
    let value = if let Some(s) = v.get("stringValue").and_then(J::as_str) {
        Some(V::StringValue(s.to_owned()))
    } else if let Some(b) = v.get("boolValue").and_then(J::as_bool) {
        Some(V::BoolValue(b))
    } else if let Some(i) = v.get("intValue") {
        Some(V::IntValue(
            int(Some(i)).ok_or("intValue is not an integer")?,
        ))
    } else if let Some(d) = v.get("doubleValue") {
        Some(V::DoubleValue(
            d.as_f64()
                .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
                .ok_or("doubleValue is not a number")?,
        ))
    } else if let Some(a) = v.get("arrayValue") {
        Some(V::ArrayValue(ArrayValue {
            values: list(a, "values")
                .iter()
                .map(any_from_json)
                .collect::<Result<_, _>>()?,
        }))
    } else if let Some(kv) = v.get("kvlistValue") {
        Some(V::KvlistValue(KeyValueList {
            values: kvs_from_json(list(kv, "values"))?,
        }))
    } else {
        v.get("bytesValue").and_then(J::as_str).map(|b| {
            use base64::Engine;
            V::BytesValue(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .unwrap_or_default(),
            )
        })
    };
    Ok(AnyValue { value })
}

fn kvs_from_json(items: &[J]) -> Result<Vec<KeyValue>, String> {
    items
        .iter()
        .map(|kv| {
            Ok(KeyValue {
                key: text(kv, "key"),
                value: kv.get("value").map(any_from_json).transpose()?,
            })
        })
        .collect()
}

fn from_json(doc: &J) -> Result<ExportLogsServiceRequest, String> {
    let mut out = ExportLogsServiceRequest::default();
    for rl in list(doc, "resourceLogs") {
        let resource = rl
            .get("resource")
            .map(|r| -> Result<Resource, String> {
                Ok(Resource {
                    attributes: kvs_from_json(list(r, "attributes"))?,
                })
            })
            .transpose()?;
        let mut scope_logs = Vec::new();
        for sl in list(rl, "scopeLogs") {
            let scope = sl.get("scope").map(|s| InstrumentationScope {
                name: text(s, "name"),
                version: text(s, "version"),
            });
            let mut log_records = Vec::new();
            for r in list(sl, "logRecords") {
                log_records.push(LogRecord {
                    time_unix_nano: int(r.get("timeUnixNano")).unwrap_or(0).max(0) as u64,
                    observed_time_unix_nano: int(r.get("observedTimeUnixNano")).unwrap_or(0).max(0)
                        as u64,
                    severity_number: int(r.get("severityNumber"))
                        .and_then(|n| i32::try_from(n).ok())
                        .unwrap_or(0),
                    severity_text: text(r, "severityText"),
                    body: r.get("body").map(any_from_json).transpose()?,
                    attributes: kvs_from_json(list(r, "attributes"))?,
                    trace_id: hex_bytes(&text(r, "traceId")),
                    span_id: hex_bytes(&text(r, "spanId")),
                    event_name: text(r, "eventName"),
                });
            }
            scope_logs.push(ScopeLogs { scope, log_records });
        }
        out.resource_logs.push(ResourceLogs {
            resource,
            scope_logs,
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------ mapping

fn plain(v: &AnyValue) -> J {
    use any_value::Value as V;
    match &v.value {
        None => J::Null,
        Some(V::StringValue(s)) => J::String(s.clone()),
        Some(V::BoolValue(b)) => J::Bool(*b),
        Some(V::IntValue(i)) => json!(i),
        Some(V::DoubleValue(d)) => json!(d),
        Some(V::ArrayValue(a)) => J::Array(a.values.iter().map(plain).collect()),
        Some(V::KvlistValue(kv)) => J::Object(attributes(&kv.values)),
        Some(V::BytesValue(b)) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
}

fn attributes(kvs: &[KeyValue]) -> Map<String, J> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, plain)))
        .collect()
}

fn attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn attr_text(kvs: &[KeyValue], key: &str) -> Option<String> {
    use any_value::Value as V;
    match &attr(kvs, key)?.value {
        Some(V::StringValue(s)) if !s.is_empty() => Some(s.clone()),
        Some(V::ArrayValue(a)) => a.values.first().and_then(|v| match &v.value {
            Some(V::StringValue(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Routing given by the request's headers.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub group: Option<String>,
    pub stream: Option<String>,
}

/// Events by (group, stream).
pub type Routed = BTreeMap<(String, String), Vec<InputEvent>>;

pub fn route(req: &ExportLogsServiceRequest, routing: &Routing, now_ms: i64) -> Routed {
    let mut out: Routed = BTreeMap::new();
    for rl in &req.resource_logs {
        let res: &[KeyValue] = rl.resource.as_ref().map_or(&[], |r| &r.attributes);
        let group = routing
            .group
            .clone()
            .or_else(|| attr_text(res, "aws.log.group.names"))
            .unwrap_or_else(|| {
                let service =
                    attr_text(res, "service.name").unwrap_or_else(|| "unknown_service".to_owned());
                let clean: String = service
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#') {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("/otlp/{clean}")
            });
        let stream = routing
            .stream
            .clone()
            .or_else(|| attr_text(res, "aws.log.stream.names"))
            .or_else(|| attr_text(res, "service.instance.id"))
            .or_else(|| attr_text(res, "host.name"))
            .unwrap_or_else(|| "default".to_owned())
            .replace([':', '*'], "_");
        let resource = J::Object(attributes(res));
        for sl in &rl.scope_logs {
            let scope = sl
                .scope
                .as_ref()
                .map(|s| json!({"name": s.name, "version": s.version}));
            for r in &sl.log_records {
                let nanos = if r.time_unix_nano > 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                let timestamp = if nanos > 0 {
                    i64::try_from(nanos / 1_000_000).unwrap_or(now_ms)
                } else {
                    now_ms
                };
                let mut doc = Map::new();
                doc.insert("body".into(), r.body.as_ref().map_or(J::Null, plain));
                if !r.severity_text.is_empty() {
                    doc.insert("severityText".into(), json!(r.severity_text));
                }
                if r.severity_number != 0 {
                    doc.insert("severityNumber".into(), json!(r.severity_number));
                }
                if !r.attributes.is_empty() {
                    doc.insert("attributes".into(), J::Object(attributes(&r.attributes)));
                }
                doc.insert("resource".into(), resource.clone());
                if let Some(s) = &scope {
                    doc.insert("scope".into(), s.clone());
                }
                if !r.trace_id.is_empty() {
                    doc.insert("traceId".into(), json!(hex(&r.trace_id)));
                }
                if !r.span_id.is_empty() {
                    doc.insert("spanId".into(), json!(hex(&r.span_id)));
                }
                if !r.event_name.is_empty() {
                    doc.insert("eventName".into(), json!(r.event_name));
                }
                out.entry((group.clone(), stream.clone()))
                    .or_default()
                    .push(InputEvent {
                        timestamp,
                        message: J::Object(doc).to_string(),
                    });
            }
        }
    }
    out
}

impl Logs {
    /// Stores routed OTLP records, creating groups and streams on first use; returns
    /// how many records were refused (too old, too new, past retention) and why.
    pub async fn ingest_otlp(&self, scope: &Scope, routed: Routed) -> Result<(i64, String)> {
        let mut rejected = 0i64;
        let mut why = String::new();
        for ((group, stream), mut events) in routed {
            crate::names::group(&group, "logGroupName")?;
            match self
                .create_group(
                    scope,
                    NewGroup {
                        name: group.clone(),
                        kms_key_id: None,
                        tags: BTreeMap::new(),
                        class: None,
                        deletion_protection: false,
                    },
                )
                .await
            {
                Ok(()) | Err(Error::ResourceAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
            match self.create_stream(scope, &group, &stream) {
                Ok(()) | Err(Error::ResourceAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
            events.sort_by_key(|e| e.timestamp);
            let mut batch: Vec<InputEvent> = Vec::new();
            let mut size = 0usize;
            let flush = |batch: Vec<InputEvent>| async {
                if batch.is_empty() {
                    return Ok((0, 0));
                }
                let n = batch.len();
                let out = self
                    .put_events(scope, &group, &stream, &batch.into())
                    .await?;
                Ok::<_, Error>((n, n - out.accepted))
            };
            for e in events {
                let spans_day = batch
                    .first()
                    .is_some_and(|f| e.timestamp - f.timestamp > 86_400_000);
                let bytes = e.message.len() + crate::ingest::EVENT_OVERHEAD;
                if spans_day
                    || batch.len() == crate::ingest::MAX_BATCH_EVENTS
                    || size + bytes > crate::ingest::MAX_BATCH_BYTES
                {
                    let (_, r) = flush(std::mem::take(&mut batch)).await?;
                    rejected += r as i64;
                    size = 0;
                }
                size += bytes;
                batch.push(e);
            }
            let (_, r) = flush(batch).await?;
            rejected += r as i64;
        }
        if rejected > 0 {
            why = "log records older than 14 days or the group's retention, or more than 2 hours ahead, were not stored".to_owned();
        }
        Ok((rejected, why))
    }
}

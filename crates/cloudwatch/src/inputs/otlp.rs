//! OTLP/HTTP metrics (`POST /v1/metrics`): an `ExportMetricsServiceRequest` as
//! protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`), gzip
//! allowed, answered with an `ExportMetricsServiceResponse` in the same encoding whose
//! `partialSuccess` counts the data points CloudWatch's limits refused (see [`super`]).
//!
//! Mapping onto CloudWatch (documented in the README):
//! - namespace: the `x-sightline-namespace` header or `namespace` query parameter,
//!   else the resource's
//!   `service.namespace` and `service.name` joined by `/` (either alone when the other
//!   is missing), else `OTLP`; characters CloudWatch does not allow become `_`;
//! - metric name: the OTLP metric name; dimensions: the data point's attributes
//!   (non-string values as their text, arrays and maps as JSON). Resource and scope
//!   attributes are not dimensions: SDKs attach dozens of them (`telemetry.sdk.*`,
//!   `process.*`, `host.*`), which would overflow the 30 CloudWatch allows;
//! - unit: UCUM units with a CloudWatch counterpart (`s`, `ms`, `us`, `By`, `KBy`/`KiBy`
//!   … `TBy`, `bit` … `Tbit`, their `/s` rates, `%`, `{thing}` and `1/s` for counts);
//!   others (`1`, `ns`, `Cel` …) leave the unit unset, which CloudWatch reads as `None`;
//! - time: the point's `timeUnixNano`, else arrival; points flagged
//!   "no recorded value" are skipped;
//! - gauge and sum points: one value each (double or int). Sums are stored as sent:
//!   a delta sum adds up with the Sum statistic, a cumulative one is a running total
//!   (its latest value is the Maximum; RATE() in metric math gives the rate);
//! - histogram points: count, sum, min and max as a statistic set (where the sender
//!   left sum, min or max out they are estimated from the buckets), and the bucket
//!   counts as `Values`/`Counts` so percentiles work. Approximation: each bucket's
//!   observations are taken to sit at one value, the midpoint of its bounds; the
//!   open-ended first and last buckets use the point's min and max (else their one
//!   finite bound), and every value is clamped into [min, max]. Percentiles are then as
//!   coarse as the buckets. Exponential histograms the same way, with bucket `i`
//!   spanning base^i..base^(i+1) (base = 2^(2^-scale)) and the zero bucket at 0;
//!   empty histograms are skipped;
//! - summary points: count and sum as a statistic set, with the 0 and 1 quantiles as
//!   minimum and maximum when sent (else the smallest and largest of the mean and the
//!   quantile values); each quantile is also stored as the metric with an extra
//!   `quantile` dimension, as Prometheus exposes summaries;
//! - exemplars, descriptions and metric metadata are ignored.

use super::{Batch, Distribution, InputError, Observed, Point, dimension};
use prost::Message;
pub use sightline_otlp::{
    AnyValue, ArrayValue, Encoding, KeyValue, KeyValueList, Resource, any_value,
};
use std::sync::Arc;

/// The namespace of resources without `service.namespace` or `service.name`.
pub const DEFAULT_NAMESPACE: &str = "OTLP";

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceResponse {
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsPartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub unit: String,
    #[prost(oneof = "metric::Data", tags = "5, 7, 9, 10, 11")]
    pub data: Option<metric::Data>,
}

pub mod metric {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        #[prost(message, tag = "5")]
        Gauge(super::Numbers),
        #[prost(message, tag = "7")]
        Sum(super::Numbers),
        #[prost(message, tag = "9")]
        Histogram(super::Histogram),
        #[prost(message, tag = "10")]
        ExponentialHistogram(super::ExponentialHistogram),
        #[prost(message, tag = "11")]
        Summary(super::Summary),
    }
}

/// Gauge and Sum: their data points are all this mapping reads of them.
#[derive(Clone, PartialEq, Message)]
pub struct Numbers {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`: the series has gone away.
const NO_RECORDED_VALUE: u32 = 1;

#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(oneof = "number::Value", tags = "4, 6")]
    pub value: Option<number::Value>,
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

pub mod number {
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(double, tag = "4")]
        AsDouble(f64),
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    #[prost(double, optional, tag = "11")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "12")]
    pub max: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogramDataPoint {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    #[prost(sint32, tag = "6")]
    pub scale: i32,
    #[prost(fixed64, tag = "7")]
    pub zero_count: u64,
    #[prost(message, optional, tag = "8")]
    pub positive: Option<Buckets>,
    #[prost(message, optional, tag = "9")]
    pub negative: Option<Buckets>,
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    #[prost(double, optional, tag = "12")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "13")]
    pub max: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Buckets {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint64, repeated, tag = "2")]
    pub bucket_counts: Vec<u64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SummaryDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    #[prost(double, tag = "5")]
    pub sum: f64,
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueAtQuantile {
    #[prost(double, tag = "1")]
    pub quantile: f64,
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// The encoding of a request's `Content-Type`.
pub fn encoding_of(content_type: &str) -> Result<Encoding, InputError> {
    Encoding::of(content_type).map_err(|ct| {
        InputError::Unsupported(format!(
            "OTLP/HTTP takes application/x-protobuf or application/json, not '{ct}'"
        ))
    })
}

pub fn decode(encoding: Encoding, body: &[u8]) -> Result<ExportMetricsServiceRequest, InputError> {
    let bad = |e: String| InputError::Malformed(format!("malformed OTLP metrics request: {e}"));
    match encoding {
        Encoding::Protobuf => {
            ExportMetricsServiceRequest::decode(body).map_err(|e| bad(e.to_string()))
        }
        Encoding::Json => {
            let doc: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
            super::otlp_json::request(&doc).map_err(bad)
        }
    }
}

pub fn encode_response(encoding: Encoding, rejected: usize, message: &str) -> Vec<u8> {
    let partial = (rejected > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.to_owned(),
    });
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => match partial {
            // OTLP/JSON writes 64-bit integers as strings.
            Some(p) => serde_json::json!({"partialSuccess": {
                "rejectedDataPoints": p.rejected_data_points.to_string(),
                "errorMessage": p.error_message,
            }}),
            None => serde_json::json!({}),
        }
        .to_string()
        .into_bytes(),
    }
}

/// The CloudWatch unit of a UCUM unit, where there is an obvious one.
pub fn cloudwatch_unit(ucum: &str) -> Option<&'static str> {
    let unit = match ucum {
        "s" => "Seconds",
        "ms" => "Milliseconds",
        "us" | "µs" => "Microseconds",
        "By" => "Bytes",
        "kBy" | "KBy" | "KiBy" => "Kilobytes",
        "MBy" | "MiBy" => "Megabytes",
        "GBy" | "GiBy" => "Gigabytes",
        "TBy" | "TiBy" => "Terabytes",
        "bit" => "Bits",
        "kbit" | "Kbit" | "Kibit" => "Kilobits",
        "Mbit" | "Mibit" => "Megabits",
        "Gbit" | "Gibit" => "Gigabits",
        "Tbit" | "Tibit" => "Terabits",
        "By/s" => "Bytes/Second",
        "kBy/s" | "KBy/s" | "KiBy/s" => "Kilobytes/Second",
        "MBy/s" | "MiBy/s" => "Megabytes/Second",
        "GBy/s" | "GiBy/s" => "Gigabytes/Second",
        "TBy/s" | "TiBy/s" => "Terabytes/Second",
        "bit/s" => "Bits/Second",
        "kbit/s" | "Kbit/s" | "Kibit/s" => "Kilobits/Second",
        "Mbit/s" | "Mibit/s" => "Megabits/Second",
        "Gbit/s" | "Gibit/s" => "Gigabits/Second",
        "Tbit/s" | "Tibit/s" => "Terabits/Second",
        "%" => "Percent",
        "1/s" => "Count/Second",
        u if u.starts_with('{') && u.ends_with("}/s") => "Count/Second",
        u if u.starts_with('{') && u.ends_with('}') => "Count",
        _ => return None,
    };
    Some(unit)
}

/// A namespace CloudWatch accepts from free text: disallowed characters become `_`,
/// cut at 255 characters.
fn clean_namespace(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#' | ':' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(255)
        .collect();
    if out.starts_with(':') {
        out.replace_range(..1, "_");
    }
    out
}

fn attr_text<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        })
}

/// The namespace of a resource's metrics (without the header).
pub fn namespace_of(resource: &[KeyValue]) -> String {
    let joined = match (
        attr_text(resource, "service.namespace"),
        attr_text(resource, "service.name"),
    ) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => DEFAULT_NAMESPACE.to_owned(),
    };
    clean_namespace(&joined)
}

fn plain(v: &AnyValue) -> serde_json::Value {
    use any_value::Value as V;
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(V::StringValue(s)) => J::String(s.clone()),
        Some(V::BoolValue(b)) => J::Bool(*b),
        Some(V::IntValue(i)) => J::from(*i),
        Some(V::DoubleValue(d)) => J::from(*d),
        Some(V::ArrayValue(a)) => J::Array(a.values.iter().map(plain).collect()),
        Some(V::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, plain)))
                .collect(),
        ),
        Some(V::BytesValue(b)) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
}

/// An attribute value as a dimension value: strings as they are, other values as text.
fn attr_value(v: Option<&AnyValue>) -> String {
    use any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => d.to_string(),
        Some(_) => v.map(plain).unwrap_or_default().to_string(),
    }
}

fn dimensions(attributes: &[KeyValue]) -> Vec<crate::model::Dimension> {
    attributes
        .iter()
        .filter_map(|kv| dimension(&kv.key, &attr_value(kv.value.as_ref())))
        .collect()
}

fn time_ms(nanos: u64, now_ms: i64) -> i64 {
    if nanos == 0 {
        now_ms
    } else {
        i64::try_from(nanos / 1_000_000).unwrap_or(now_ms)
    }
}

/// One observation per bucket at its representative value (see the module doc).
fn clamp_into(v: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    let v = min.map_or(v, |m| v.max(m));
    max.map_or(v, |m| v.min(m))
}

/// Count, sum, min and max, exact where sent and else estimated from the shape.
fn distribution(
    count: u64,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    shape: Vec<(f64, f64)>,
) -> Distribution {
    let seen = shape.iter().filter(|s| s.1 > 0.0);
    let low = seen.clone().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let high = seen.map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    let estimated_sum: f64 = shape.iter().map(|s| s.0 * s.1).sum();
    Distribution {
        count: count as f64,
        sum: sum.unwrap_or(estimated_sum),
        min: min.unwrap_or(low),
        max: max.unwrap_or(high),
        shape,
    }
}

fn explicit_shape(p: &HistogramDataPoint) -> Option<Vec<(f64, f64)>> {
    let bounds = &p.explicit_bounds;
    if p.bucket_counts.is_empty() {
        return Some(Vec::new());
    }
    if p.bucket_counts.len() != bounds.len() + 1 {
        return None;
    }
    let mean = p.sum.map(|s| s / p.count.max(1) as f64);
    let shape = p
        .bucket_counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let lower = i.checked_sub(1).and_then(|j| bounds.get(j)).copied();
            let upper = bounds.get(i).copied();
            let at = match (lower, upper) {
                (Some(lo), Some(hi)) => (lo + hi) / 2.0,
                (None, Some(hi)) => p.min.unwrap_or(hi),
                (Some(lo), None) => p.max.unwrap_or(lo),
                (None, None) => mean.or(p.min).or(p.max).unwrap_or(0.0),
            };
            (clamp_into(at, p.min, p.max), c as f64)
        })
        .collect();
    Some(shape)
}

fn exponential_shape(p: &ExponentialHistogramDataPoint) -> Vec<(f64, f64)> {
    // base^i = 2^(i * 2^-scale)
    let step = (-f64::from(p.scale)).exp2();
    let mid = |index: i64| {
        let lo = (index as f64 * step).exp2();
        let hi = ((index + 1) as f64 * step).exp2();
        (lo + hi) / 2.0
    };
    let mut shape = Vec::new();
    if let Some(neg) = &p.negative {
        for (i, &c) in neg.bucket_counts.iter().enumerate().rev() {
            let at = -mid(i64::from(neg.offset) + i as i64);
            shape.push((clamp_into(at, p.min, p.max), c as f64));
        }
    }
    if p.zero_count > 0 {
        shape.push((clamp_into(0.0, p.min, p.max), p.zero_count as f64));
    }
    if let Some(pos) = &p.positive {
        for (i, &c) in pos.bucket_counts.iter().enumerate() {
            let at = mid(i64::from(pos.offset) + i as i64);
            shape.push((clamp_into(at, p.min, p.max), c as f64));
        }
    }
    shape
}

/// Maps every data point of the request into `batch`.
pub fn map(
    request: &ExportMetricsServiceRequest,
    namespace: Option<&str>,
    batch: &mut Batch,
    now_ms: i64,
) {
    use metric::Data;
    for rm in &request.resource_metrics {
        let resource = rm.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let ns: Arc<str> = namespace
            .map_or_else(|| namespace_of(resource), str::to_owned)
            .into();
        for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let unit = cloudwatch_unit(&m.unit);
            let point = |attributes: &[KeyValue], nanos: u64, observed: Observed| Point {
                namespace: ns.clone(),
                name: m.name.clone(),
                dimensions: dimensions(attributes),
                time_ms: time_ms(nanos, now_ms),
                unit,
                observed,
            };
            match &m.data {
                None => {}
                Some(Data::Gauge(n) | Data::Sum(n)) => {
                    for p in &n.data_points {
                        let value = match p.value {
                            _ if p.flags & NO_RECORDED_VALUE != 0 => continue,
                            None => continue,
                            Some(number::Value::AsDouble(d)) => d,
                            Some(number::Value::AsInt(i)) => i as f64,
                        };
                        let observed = Observed::Value(value);
                        batch.push(point(&p.attributes, p.time_unix_nano, observed), now_ms);
                    }
                }
                Some(Data::Histogram(h)) => {
                    for p in &h.data_points {
                        if p.flags & NO_RECORDED_VALUE != 0 || p.count == 0 {
                            continue;
                        }
                        let Some(shape) = explicit_shape(p) else {
                            batch.skip(super::Skip::Distribution);
                            continue;
                        };
                        let d = distribution(p.count, p.sum, p.min, p.max, shape);
                        let observed = Observed::Distribution(d);
                        batch.push(point(&p.attributes, p.time_unix_nano, observed), now_ms);
                    }
                }
                Some(Data::ExponentialHistogram(h)) => {
                    for p in &h.data_points {
                        if p.flags & NO_RECORDED_VALUE != 0 || p.count == 0 {
                            continue;
                        }
                        let shape = exponential_shape(p);
                        let d = distribution(p.count, p.sum, p.min, p.max, shape);
                        let observed = Observed::Distribution(d);
                        batch.push(point(&p.attributes, p.time_unix_nano, observed), now_ms);
                    }
                }
                Some(Data::Summary(s)) => {
                    for p in &s.data_points {
                        if p.flags & NO_RECORDED_VALUE != 0 || p.count == 0 {
                            continue;
                        }
                        let mean = p.sum / p.count as f64;
                        let at = |q: f64| {
                            p.quantile_values
                                .iter()
                                .find(|v| v.quantile == q)
                                .map(|v| v.value)
                        };
                        let values = p.quantile_values.iter().map(|v| v.value);
                        let d = Distribution {
                            count: p.count as f64,
                            sum: p.sum,
                            min: at(0.0).unwrap_or_else(|| values.clone().fold(mean, f64::min)),
                            max: at(1.0).unwrap_or_else(|| values.fold(mean, f64::max)),
                            shape: Vec::new(),
                        };
                        let observed = Observed::Distribution(d);
                        batch.push(point(&p.attributes, p.time_unix_nano, observed), now_ms);
                        for q in &p.quantile_values {
                            let mut each =
                                point(&p.attributes, p.time_unix_nano, Observed::Value(q.value));
                            each.dimensions.retain(|d| d.name != "quantile");
                            each.dimensions
                                .extend(dimension("quantile", &q.quantile.to_string()));
                            batch.push(each, now_ms);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;

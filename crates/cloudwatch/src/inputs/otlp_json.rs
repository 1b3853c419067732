//! OTLP/JSON metrics read into the protobuf messages of [`super::otlp`], so one mapping
//! serves both encodings. OTLP/JSON names fields in lowerCamelCase, writes 64-bit
//! integers as strings (numbers are accepted too) and special doubles as `"NaN"`,
//! `"Infinity"`, `"-Infinity"`; unknown fields are ignored, as in protobuf.

use super::otlp::*;
use serde_json::Value as J;

type R<T> = Result<T, String>;

fn list<'a>(v: &'a J, key: &str) -> &'a [J] {
    v.get(key).and_then(J::as_array).map_or(&[], Vec::as_slice)
}

fn text(v: &J, key: &str) -> String {
    v.get(key).and_then(J::as_str).unwrap_or("").to_owned()
}

fn int_of(v: &J) -> Option<i64> {
    match v {
        J::String(s) => s.parse().ok(),
        J::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok())),
        _ => None,
    }
}

fn uint_of(v: &J) -> Option<u64> {
    match v {
        J::String(s) => s.parse().ok(),
        J::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn double_of(v: &J) -> Option<f64> {
    match v {
        J::Number(n) => n.as_f64(),
        J::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// An optional field, refused when present but not of its type.
fn field<T>(v: &J, key: &str, parse: fn(&J) -> Option<T>) -> R<Option<T>> {
    match v.get(key) {
        None | Some(J::Null) => Ok(None),
        Some(x) => parse(x)
            .map(Some)
            .ok_or_else(|| format!("{key} is not a valid number: {x}")),
    }
}

fn nanos(v: &J, key: &str) -> R<u64> {
    Ok(field(v, key, uint_of)?.unwrap_or(0))
}

fn flags(v: &J) -> R<u32> {
    field(v, "flags", uint_of)?.map_or(Ok(0), |f| {
        u32::try_from(f).map_err(|_| "flags out of range".to_owned())
    })
}

fn counts(v: &J, key: &str) -> R<Vec<u64>> {
    list(v, key)
        .iter()
        .map(|c| uint_of(c).ok_or_else(|| format!("{key} holds a non-count: {c}")))
        .collect()
}

fn any_value(v: &J) -> R<AnyValue> {
    use any_value::Value as V;
    let value = if let Some(s) = v.get("stringValue").and_then(J::as_str) {
        Some(V::StringValue(s.to_owned()))
    } else if let Some(b) = v.get("boolValue").and_then(J::as_bool) {
        Some(V::BoolValue(b))
    } else if let Some(i) = v.get("intValue") {
        Some(V::IntValue(int_of(i).ok_or("intValue is not an integer")?))
    } else if let Some(d) = v.get("doubleValue") {
        Some(V::DoubleValue(
            double_of(d).ok_or("doubleValue is not a number")?,
        ))
    } else if let Some(a) = v.get("arrayValue") {
        Some(V::ArrayValue(ArrayValue {
            values: list(a, "values").iter().map(any_value).collect::<R<_>>()?,
        }))
    } else if let Some(kv) = v.get("kvlistValue") {
        Some(V::KvlistValue(KeyValueList {
            values: key_values(list(kv, "values"))?,
        }))
    } else if let Some(b) = v.get("bytesValue").and_then(J::as_str) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|e| format!("bytesValue is not base64: {e}"))?;
        Some(V::BytesValue(bytes))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn key_values(items: &[J]) -> R<Vec<KeyValue>> {
    items
        .iter()
        .map(|kv| {
            Ok(KeyValue {
                key: text(kv, "key"),
                value: kv.get("value").map(any_value).transpose()?,
            })
        })
        .collect()
}

fn number_point(p: &J) -> R<NumberDataPoint> {
    let value = if let Some(d) = field(p, "asDouble", double_of)? {
        Some(number::Value::AsDouble(d))
    } else {
        field(p, "asInt", int_of)?.map(number::Value::AsInt)
    };
    Ok(NumberDataPoint {
        attributes: key_values(list(p, "attributes"))?,
        time_unix_nano: nanos(p, "timeUnixNano")?,
        value,
        flags: flags(p)?,
    })
}

fn histogram_point(p: &J) -> R<HistogramDataPoint> {
    Ok(HistogramDataPoint {
        attributes: key_values(list(p, "attributes"))?,
        time_unix_nano: nanos(p, "timeUnixNano")?,
        count: field(p, "count", uint_of)?.unwrap_or(0),
        sum: field(p, "sum", double_of)?,
        bucket_counts: counts(p, "bucketCounts")?,
        explicit_bounds: list(p, "explicitBounds")
            .iter()
            .map(|b| double_of(b).ok_or_else(|| format!("explicitBounds holds {b}")))
            .collect::<R<_>>()?,
        flags: flags(p)?,
        min: field(p, "min", double_of)?,
        max: field(p, "max", double_of)?,
    })
}

fn buckets(p: &J, key: &str) -> R<Option<Buckets>> {
    let Some(b) = p.get(key) else {
        return Ok(None);
    };
    let offset = field(b, "offset", int_of)?.unwrap_or(0);
    Ok(Some(Buckets {
        offset: i32::try_from(offset).map_err(|_| format!("{key}.offset out of range"))?,
        bucket_counts: counts(b, "bucketCounts")?,
    }))
}

fn exponential_point(p: &J) -> R<ExponentialHistogramDataPoint> {
    let scale = field(p, "scale", int_of)?.unwrap_or(0);
    Ok(ExponentialHistogramDataPoint {
        attributes: key_values(list(p, "attributes"))?,
        time_unix_nano: nanos(p, "timeUnixNano")?,
        count: field(p, "count", uint_of)?.unwrap_or(0),
        sum: field(p, "sum", double_of)?,
        scale: i32::try_from(scale).map_err(|_| "scale out of range".to_owned())?,
        zero_count: field(p, "zeroCount", uint_of)?.unwrap_or(0),
        positive: buckets(p, "positive")?,
        negative: buckets(p, "negative")?,
        flags: flags(p)?,
        min: field(p, "min", double_of)?,
        max: field(p, "max", double_of)?,
    })
}

fn summary_point(p: &J) -> R<SummaryDataPoint> {
    Ok(SummaryDataPoint {
        attributes: key_values(list(p, "attributes"))?,
        time_unix_nano: nanos(p, "timeUnixNano")?,
        count: field(p, "count", uint_of)?.unwrap_or(0),
        sum: field(p, "sum", double_of)?.unwrap_or(0.0),
        quantile_values: list(p, "quantileValues")
            .iter()
            .map(|q| {
                Ok(ValueAtQuantile {
                    quantile: field(q, "quantile", double_of)?.unwrap_or(0.0),
                    value: field(q, "value", double_of)?.unwrap_or(0.0),
                })
            })
            .collect::<R<_>>()?,
        flags: flags(p)?,
    })
}

fn points<T>(data: &J, each: fn(&J) -> R<T>) -> R<Vec<T>> {
    list(data, "dataPoints").iter().map(each).collect()
}

fn metric(m: &J) -> R<Metric> {
    use metric::Data;
    let data = if let Some(g) = m.get("gauge") {
        Some(Data::Gauge(Numbers {
            data_points: points(g, number_point)?,
        }))
    } else if let Some(s) = m.get("sum") {
        Some(Data::Sum(Numbers {
            data_points: points(s, number_point)?,
        }))
    } else if let Some(h) = m.get("histogram") {
        Some(Data::Histogram(Histogram {
            data_points: points(h, histogram_point)?,
        }))
    } else if let Some(h) = m.get("exponentialHistogram") {
        Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points(h, exponential_point)?,
        }))
    } else if let Some(s) = m.get("summary") {
        Some(Data::Summary(Summary {
            data_points: points(s, summary_point)?,
        }))
    } else {
        None
    };
    Ok(Metric {
        name: text(m, "name"),
        unit: text(m, "unit"),
        data,
    })
}

/// The request an OTLP/JSON document holds.
pub(super) fn request(doc: &J) -> R<ExportMetricsServiceRequest> {
    if !doc.is_object() {
        return Err("the body is not a JSON object".into());
    }
    let mut out = ExportMetricsServiceRequest::default();
    for rm in list(doc, "resourceMetrics") {
        let resource = rm
            .get("resource")
            .map(|r| -> R<Resource> {
                Ok(Resource {
                    attributes: key_values(list(r, "attributes"))?,
                })
            })
            .transpose()?;
        let scope_metrics = list(rm, "scopeMetrics")
            .iter()
            .map(|sm| {
                Ok(ScopeMetrics {
                    metrics: list(sm, "metrics").iter().map(metric).collect::<R<_>>()?,
                })
            })
            .collect::<R<_>>()?;
        out.resource_metrics.push(ResourceMetrics {
            resource,
            scope_metrics,
        });
    }
    Ok(out)
}

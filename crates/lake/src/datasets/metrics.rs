//! `metric_samples`: one row per datapoint put into a metric (a single value, or a
//! statistic set of sum, count, min and max, or a batch of values with their counts),
//! with the metric's identity: namespace, name, and its dimensions as one canonical JSON
//! object (sorted by name) so that equal dimension sets compare equal as text. Rows of
//! many values carry the serialized percentile sketch of those values in `sketch`; a
//! single value is its own sketch, so it carries none.

use crate::dataset::{Dataset, Row, RowRef, arrow_err, view};
use crate::{Error, Result};
use base64::Engine;
use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, Float64Builder, Int32Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use sightline_core::MetricDatum;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "metric_samples";

/// Rollups of `metric_samples` at 60, 300 and 3600 seconds, in the same columns:
/// `sample_time` is the bucket start and `storage_resolution` the bucket width.
pub const ROLLUPS: &str = "metric_rollups";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(
            "sample_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("namespace", DataType::Utf8View, false),
        Field::new("metric_name", DataType::Utf8View, false),
        Field::new("dimensions", DataType::Utf8View, false),
        Field::new("sum", DataType::Float64, false),
        Field::new("count", DataType::Float64, false),
        Field::new("min", DataType::Float64, false),
        Field::new("max", DataType::Float64, false),
        Field::new("unit", DataType::Utf8View, true),
        Field::new("storage_resolution", DataType::Int32, false),
        Field::new("sketch", DataType::Binary, true),
        Field::new("account_id", DataType::Utf8View, false),
        Field::new("region", DataType::Utf8View, false),
    ]))
});

pub struct MetricSamples;

/// The canonical text of a dimension set.
pub fn dimensions_json(dimensions: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = dimensions.iter().collect();
    sorted.sort();
    // Written directly (every datum has one): the same text serde_json gives the map.
    let mut out = Vec::with_capacity(
        2 + dimensions
            .iter()
            .map(|(k, v)| k.len() + v.len() + 6)
            .sum::<usize>(),
    );
    out.push(b'{');
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, v);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_text_is_the_sorted_json_object() {
        let dims = vec![
            ("b".to_owned(), "x\"y".to_owned()),
            ("a".to_owned(), "é\n".to_owned()),
        ];
        let expected = serde_json::json!({"a": "é\n", "b": "x\"y"}).to_string();
        assert_eq!(dimensions_json(&dims), expected);
        assert_eq!(dimensions_json(&[]), "{}");
    }
}

/// The row of one single-value datapoint.
pub fn row(d: &MetricDatum) -> Row {
    Row {
        time_ms: d.timestamp_ms,
        doc: serde_json::json!({
            "ns": d.namespace,
            "n": d.name,
            "d": dimensions_json(&d.dimensions),
            "s": d.value,
            "c": 1.0,
            "lo": d.value,
            "hi": d.value,
            "u": d.unit,
            "r": d.storage_resolution,
        }),
    }
}

fn text<'a>(doc: &'a J, key: &str) -> Result<&'a str> {
    doc.get(key)
        .and_then(J::as_str)
        .ok_or_else(|| Error::InvalidRow(format!("metric sample without '{key}'")))
}

fn number(doc: &J, key: &str) -> Result<f64> {
    doc.get(key)
        .and_then(J::as_f64)
        .ok_or_else(|| Error::InvalidRow(format!("metric sample without '{key}'")))
}

impl Dataset for MetricSamples {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn time_column(&self) -> &'static str {
        "sample_time"
    }

    fn document_time(&self, _doc: &J) -> Result<i64> {
        Err(Error::InvalidRow("metric sample without a time".into()))
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut strings: Vec<StringBuilder> = (0..3)
            .map(|_| StringBuilder::with_capacity(n, n * 24))
            .collect();
        let mut numbers: Vec<Float64Builder> =
            (0..4).map(|_| Float64Builder::with_capacity(n)).collect();
        let mut unit = StringBuilder::with_capacity(n, n * 8);
        let mut resolution = Int32Builder::with_capacity(n);
        let mut sketch = BinaryBuilder::with_capacity(n, 0);
        let mut acct = StringBuilder::with_capacity(n, n * account.len());
        let mut reg = StringBuilder::with_capacity(n, n * region.len());
        for row in rows {
            let d = row.doc;
            time.append_value(row.time_ms);
            for (b, key) in strings.iter_mut().zip(["ns", "n", "d"]) {
                b.append_value(text(d, key)?);
            }
            for (b, key) in numbers.iter_mut().zip(["s", "c", "lo", "hi"]) {
                b.append_value(number(d, key)?);
            }
            unit.append_option(d.get("u").and_then(J::as_str));
            let r = d.get("r").and_then(J::as_i64).unwrap_or(60);
            resolution.append_value(i32::try_from(r).unwrap_or(60));
            match d.get("k").and_then(J::as_str) {
                Some(b64) => sketch.append_value(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| Error::InvalidRow(format!("metric sample sketch: {e}")))?,
                ),
                None => sketch.append_null(),
            }
            acct.append_value(account);
            reg.append_value(region);
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(time.finish())];
        for mut b in strings {
            cols.push(view(b.finish()));
        }
        for mut b in numbers {
            cols.push(Arc::new(b.finish()));
        }
        cols.push(view(unit.finish()));
        cols.push(Arc::new(resolution.finish()));
        cols.push(Arc::new(sketch.finish()));
        cols.push(view(acct.finish()));
        cols.push(view(reg.finish()));
        RecordBatch::try_new(self.schema(), cols).map_err(arrow_err)
    }
}

/// Rollups share the samples' schema and row form; only the name differs.
pub struct MetricRollups;

impl Dataset for MetricRollups {
    fn name(&self) -> &'static str {
        ROLLUPS
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn time_column(&self) -> &'static str {
        "sample_time"
    }

    fn document_time(&self, doc: &J) -> Result<i64> {
        MetricSamples.document_time(doc)
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        MetricSamples.to_batch(account, region, rows)
    }
}

/// One sample as the metrics service appends it: the identity strings are shared by all
/// samples of one metric in a request, and the row writes its own WAL text.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub time_ms: i64,
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    /// Canonical JSON of the dimension set ([`dimensions_json`]).
    pub dimensions: Arc<str>,
    pub sum: f64,
    pub count: f64,
    pub min: f64,
    pub max: f64,
    pub unit: Option<Arc<str>>,
    pub resolution: i32,
    pub sketch: Option<Vec<u8>>,
}

#[derive(serde::Serialize)]
struct SampleText<'a> {
    ns: &'a str,
    n: &'a str,
    d: &'a str,
    s: f64,
    c: f64,
    lo: f64,
    hi: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    u: Option<&'a str>,
    r: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<String>,
}

impl crate::EncodeRow for Sample {
    fn time_ms(&self) -> i64 {
        self.time_ms
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let text = SampleText {
            ns: &self.namespace,
            n: &self.name,
            d: &self.dimensions,
            s: self.sum,
            c: self.count,
            lo: self.min,
            hi: self.max,
            u: self.unit.as_deref(),
            r: self.resolution,
            k: self
                .sketch
                .as_ref()
                .map(|k| base64::engine::general_purpose::STANDARD.encode(k)),
        };
        serde_json::to_writer(out, &text).map_err(|e| Error::InvalidRow(e.to_string()))
    }

    fn batch(rows: &[&Self], account: &str, region: &str) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut ns = StringBuilder::with_capacity(n, n * 16);
        let mut name = StringBuilder::with_capacity(n, n * 16);
        let mut dims = StringBuilder::with_capacity(n, n * 32);
        let mut numbers: Vec<Float64Builder> =
            (0..4).map(|_| Float64Builder::with_capacity(n)).collect();
        let mut unit = StringBuilder::with_capacity(n, n * 8);
        let mut resolution = Int32Builder::with_capacity(n);
        let mut sketch = BinaryBuilder::with_capacity(n, 0);
        let mut acct = StringBuilder::with_capacity(n, n * account.len());
        let mut reg = StringBuilder::with_capacity(n, n * region.len());
        for r in rows {
            time.append_value(r.time_ms);
            ns.append_value(&*r.namespace);
            name.append_value(&*r.name);
            dims.append_value(&*r.dimensions);
            for (b, v) in numbers.iter_mut().zip([r.sum, r.count, r.min, r.max]) {
                b.append_value(v);
            }
            unit.append_option(r.unit.as_deref());
            resolution.append_value(r.resolution);
            sketch.append_option(r.sketch.as_deref());
            acct.append_value(account);
            reg.append_value(region);
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(time.finish()),
            view(ns.finish()),
            view(name.finish()),
            view(dims.finish()),
        ];
        for mut b in numbers {
            cols.push(Arc::new(b.finish()));
        }
        cols.push(view(unit.finish()));
        cols.push(Arc::new(resolution.finish()));
        cols.push(Arc::new(sketch.finish()));
        cols.push(view(acct.finish()));
        cols.push(view(reg.finish()));
        RecordBatch::try_new(SCHEMA.clone(), cols).map_err(arrow_err)
    }
}

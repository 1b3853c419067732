//! `metric_samples`: one row per datapoint put into a metric (a single value, or a
//! statistic set of sum, count, min and max), with the metric's identity: namespace,
//! name, and its dimensions as one canonical JSON object (sorted by name) so that equal
//! dimension sets compare equal as text.

use crate::dataset::{Dataset, Row, RowRef, arrow_err, view};
use crate::{Error, Result};
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use sightline_core::MetricDatum;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "metric_samples";

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
        Field::new("account_id", DataType::Utf8View, false),
        Field::new("region", DataType::Utf8View, false),
    ]))
});

pub struct MetricSamples;

/// The canonical text of a dimension set.
pub fn dimensions_json(dimensions: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = dimensions.iter().collect();
    sorted.sort();
    let map: serde_json::Map<String, J> = sorted
        .into_iter()
        .map(|(k, v)| (k.clone(), J::String(v.clone())))
        .collect();
    J::Object(map).to_string()
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
        cols.push(view(acct.finish()));
        cols.push(view(reg.finish()));
        RecordBatch::try_new(self.schema(), cols).map_err(arrow_err)
    }
}

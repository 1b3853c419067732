//! `log_events`: one row per CloudWatch Logs event. The log group's incarnation id
//! (`group_id`) keeps the events of a deleted group out of a new group of the same name;
//! `seq` orders events of equal timestamp in the order they were ingested and makes
//! every event addressable for pagination tokens.

use crate::dataset::{ColumnHint, Dataset, Row, RowRef, arrow_err, view};
use crate::{Error, Result};
use datafusion::arrow::array::{
    ArrayRef, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "log_events";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("ingestion_time", DataType::Int64, false),
        Field::new("seq", DataType::Int64, false),
        Field::new("group_id", DataType::Utf8View, false),
        Field::new("log_group", DataType::Utf8View, false),
        Field::new("log_stream", DataType::Utf8View, false),
        Field::new("message", DataType::Utf8View, false),
        // The data key a message is sealed with (KMS-keyed groups), null for plaintext.
        Field::new("key_id", DataType::Utf8View, true),
        Field::new("account_id", DataType::Utf8View, false),
        Field::new("region", DataType::Utf8View, false),
    ]))
});

pub struct LogEvents;

/// One event as the logs service hands it to the lake.
pub struct LogEvent<'a> {
    pub timestamp_ms: i64,
    pub ingestion_ms: i64,
    pub seq: i64,
    pub group_id: &'a str,
    pub group: &'a str,
    pub stream: &'a str,
    pub message: &'a str,
    pub key_id: Option<&'a str>,
}

pub fn row(e: &LogEvent<'_>) -> Row {
    Row {
        time_ms: e.timestamp_ms,
        doc: serde_json::json!({
            "i": e.ingestion_ms,
            "q": e.seq,
            "g": e.group_id,
            "n": e.group,
            "s": e.stream,
            "m": e.message,
            "k": e.key_id,
        }),
    }
}

fn text<'a>(doc: &'a J, key: &str) -> Result<&'a str> {
    doc.get(key)
        .and_then(J::as_str)
        .ok_or_else(|| Error::InvalidRow(format!("log event without '{key}'")))
}

fn number(doc: &J, key: &str) -> Result<i64> {
    doc.get(key)
        .and_then(J::as_i64)
        .ok_or_else(|| Error::InvalidRow(format!("log event without '{key}'")))
}

impl Dataset for LogEvents {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn time_column(&self) -> &'static str {
        "event_time"
    }

    fn document_time(&self, _doc: &J) -> Result<i64> {
        // Log events were never written in the WAL's first format.
        Err(Error::InvalidRow("log event without a time".into()))
    }

    fn column_hints(&self) -> &'static [(&'static str, ColumnHint)] {
        &[("seq", ColumnHint::Unique)]
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut ingestion = Int64Builder::with_capacity(n);
        let mut seq = Int64Builder::with_capacity(n);
        let mut strings: Vec<StringBuilder> = (0..3)
            .map(|_| StringBuilder::with_capacity(n, n * 16))
            .collect();
        let bytes: usize = rows
            .iter()
            .filter_map(|r| r.doc.get("m").and_then(J::as_str).map(str::len))
            .sum();
        let mut message = StringBuilder::with_capacity(n, bytes);
        let mut key_id = StringBuilder::with_capacity(n, 0);
        let mut acct = StringBuilder::with_capacity(n, n * account.len());
        let mut reg = StringBuilder::with_capacity(n, n * region.len());
        for row in rows {
            let d = row.doc;
            time.append_value(row.time_ms);
            ingestion.append_value(number(d, "i")?);
            seq.append_value(number(d, "q")?);
            for (b, key) in strings.iter_mut().zip(["g", "n", "s"]) {
                b.append_value(text(d, key)?);
            }
            message.append_value(text(d, "m")?);
            key_id.append_option(d.get("k").and_then(J::as_str));
            acct.append_value(account);
            reg.append_value(region);
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(time.finish()),
            Arc::new(ingestion.finish()),
            Arc::new(seq.finish()),
        ];
        for mut b in strings {
            cols.push(view(b.finish()));
        }
        cols.push(view(message.finish()));
        cols.push(view(key_id.finish()));
        cols.push(view(acct.finish()));
        cols.push(view(reg.finish()));
        RecordBatch::try_new(self.schema(), cols).map_err(arrow_err)
    }
}

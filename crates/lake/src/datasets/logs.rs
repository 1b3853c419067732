//! `log_events`: one row per CloudWatch Logs event. The log group's incarnation id
//! (`group_id`) keeps the events of a deleted group out of a new group of the same name;
//! `seq` orders events of equal timestamp in the order they were ingested and makes
//! every event addressable for pagination tokens.

use crate::dataset::{ColumnHint, Dataset, RowRef, arrow_err, view};
use crate::{Error, Result};
use datafusion::arrow::array::{
    ArrayRef, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use std::borrow::Cow;
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

/// The WAL text of an event, written and read without a document in between.
#[derive(serde::Serialize, serde::Deserialize)]
struct Text<'a> {
    i: i64,
    q: i64,
    #[serde(borrow)]
    g: Cow<'a, str>,
    #[serde(borrow)]
    n: Cow<'a, str>,
    #[serde(borrow)]
    s: Cow<'a, str>,
    #[serde(borrow)]
    m: Cow<'a, str>,
    #[serde(borrow, default)]
    k: Option<Cow<'a, str>>,
}

impl<'a> LogEvent<'a> {
    fn text(&self) -> Text<'a> {
        Text {
            i: self.ingestion_ms,
            q: self.seq,
            g: Cow::Borrowed(self.group_id),
            n: Cow::Borrowed(self.group),
            s: Cow::Borrowed(self.stream),
            m: Cow::Borrowed(self.message),
            k: self.key_id.map(Cow::Borrowed),
        }
    }
}

impl crate::EncodeRow for LogEvent<'_> {
    fn time_ms(&self) -> i64 {
        self.timestamp_ms
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        sonic_rs::to_writer(out, &self.text()).map_err(|e| Error::InvalidRow(e.to_string()))
    }

    fn batch(rows: &[&Self], account: &str, region: &str) -> Result<RecordBatch> {
        let bytes = rows.iter().map(|r| r.message.len()).sum();
        let texts = rows.iter().map(|r| Ok((r.timestamp_ms, r.text())));
        columns(account, region, rows.len(), bytes, texts)
    }
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
        &[
            ("event_time", ColumnHint::Ordered),
            ("ingestion_time", ColumnHint::Ordered),
            ("seq", ColumnHint::Ordered),
            ("message", ColumnHint::Text),
        ]
    }

    fn to_batch_from_json(
        &self,
        account: &str,
        region: &str,
        rows: &[(i64, &str)],
    ) -> Option<Result<RecordBatch>> {
        Some(self.batch_from_texts(account, region, rows))
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        // The JSON text is the event's one form; documents add nothing here.
        let texts: Vec<(i64, &str)> = rows.iter().map(|r| (r.time_ms, r.json)).collect();
        self.batch_from_texts(account, region, &texts)
    }
}

impl LogEvents {
    fn batch_from_texts(
        &self,
        account: &str,
        region: &str,
        rows: &[(i64, &str)],
    ) -> Result<RecordBatch> {
        let bytes = rows.iter().map(|(_, j)| j.len()).sum();
        let parsed = rows.iter().map(|(t, json)| {
            let e: Text<'_> =
                sonic_rs::from_str(json).map_err(|e| Error::InvalidRow(e.to_string()))?;
            Ok((*t, e))
        });
        columns(account, region, rows.len(), bytes, parsed)
    }
}

/// The batch of events read from the WAL (`Text`) or handed over by an append
/// (`LogEvent`, whose fields borrow straight into `Text`).
fn columns<'a>(
    account: &str,
    region: &str,
    n: usize,
    message_bytes: usize,
    rows: impl Iterator<Item = Result<(i64, Text<'a>)>>,
) -> Result<RecordBatch> {
    let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut ingestion = Int64Builder::with_capacity(n);
    let mut seq = Int64Builder::with_capacity(n);
    let mut strings: Vec<StringBuilder> = (0..3)
        .map(|_| StringBuilder::with_capacity(n, n * 16))
        .collect();
    let mut message = StringBuilder::with_capacity(n, message_bytes);
    let mut key_id = StringBuilder::with_capacity(n, 0);
    let mut acct = StringBuilder::with_capacity(n, n * account.len());
    let mut reg = StringBuilder::with_capacity(n, n * region.len());
    for row in rows {
        let (t, e) = row?;
        time.append_value(t);
        ingestion.append_value(e.i);
        seq.append_value(e.q);
        for (b, v) in strings.iter_mut().zip([&e.g, &e.n, &e.s]) {
            b.append_value(v);
        }
        message.append_value(&e.m);
        key_id.append_option(e.k.as_deref());
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
    RecordBatch::try_new(SCHEMA.clone(), cols).map_err(arrow_err)
}

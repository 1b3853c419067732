//! `archived_events`: one row per event an EventBridge archive kept. The archive ARN
//! picks an archive's rows; `event_time` is when the event was archived (its ingestion
//! time), which retention and replay ranges are measured against; (`event_time`,
//! `event_id`) orders an archive's events stably, so a replay can resume after the last
//! one it sent. The event itself is kept as the JSON text the bus saw.

use crate::dataset::{ColumnHint, Dataset, RowRef, arrow_err, view};
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, StringBuilder, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "archived_events";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("archive", DataType::Utf8View, false),
        Field::new("event_id", DataType::Utf8View, false),
        Field::new("event", DataType::Utf8View, false),
        Field::new("account_id", DataType::Utf8View, false),
        Field::new("region", DataType::Utf8View, false),
    ]))
});

pub struct ArchivedEvents;

/// One archived event as EventBridge hands it to the lake (through
/// [`crate::Lake::append_encoded`]). The same fields as a JSON document
/// (`{"archive", "event_id", "event"}`, the event as a string) work with
/// [`crate::Lake::append`] too.
#[derive(Debug, Clone, Copy)]
pub struct ArchivedEvent<'a> {
    /// When the event was archived (ms since the epoch).
    pub time_ms: i64,
    pub archive: &'a str,
    pub event_id: &'a str,
    /// The event's JSON text.
    pub event: &'a str,
}

/// The WAL text of an archived event, written and read without a document in between.
#[derive(serde::Serialize, serde::Deserialize)]
struct Text<'a> {
    #[serde(borrow)]
    archive: Cow<'a, str>,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event: Cow<'a, str>,
}

impl<'a> ArchivedEvent<'a> {
    fn text(&self) -> Text<'a> {
        Text {
            archive: Cow::Borrowed(self.archive),
            event_id: Cow::Borrowed(self.event_id),
            event: Cow::Borrowed(self.event),
        }
    }
}

impl crate::EncodeRow for ArchivedEvent<'_> {
    fn time_ms(&self) -> i64 {
        self.time_ms
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        sonic_rs::to_writer(out, &self.text()).map_err(|e| Error::InvalidRow(e.to_string()))
    }

    fn batch(rows: &[&Self], account: &str, region: &str) -> Result<RecordBatch> {
        let bytes = rows.iter().map(|r| r.event.len()).sum();
        let texts = rows.iter().map(|r| Ok((r.time_ms, r.text())));
        columns(account, region, rows.len(), bytes, texts)
    }
}

impl Dataset for ArchivedEvents {
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
        // Archived events were never written in the WAL's first format.
        Err(Error::InvalidRow("archived event without a time".into()))
    }

    fn column_hints(&self) -> &'static [(&'static str, ColumnHint)] {
        // A replay reads a hundred events at a time: small pages of the event text.
        &[
            ("event_id", ColumnHint::Unique),
            ("event", ColumnHint::Wide),
        ]
    }

    fn to_batch_from_json(
        &self,
        account: &str,
        region: &str,
        rows: &[(i64, &str)],
    ) -> Option<Result<RecordBatch>> {
        Some(batch_from_texts(account, region, rows))
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        let texts: Vec<(i64, &str)> = rows.iter().map(|r| (r.time_ms, r.json)).collect();
        batch_from_texts(account, region, &texts)
    }
}

fn batch_from_texts(account: &str, region: &str, rows: &[(i64, &str)]) -> Result<RecordBatch> {
    let bytes = rows.iter().map(|(_, j)| j.len()).sum();
    let parsed = rows.iter().map(|(t, json)| {
        let e: Text<'_> = sonic_rs::from_str(json).map_err(|e| Error::InvalidRow(e.to_string()))?;
        Ok((*t, e))
    });
    columns(account, region, rows.len(), bytes, parsed)
}

/// The batch of events read from the WAL (`Text`) or handed over by an append
/// (`ArchivedEvent`, whose fields borrow straight into `Text`).
fn columns<'a>(
    account: &str,
    region: &str,
    n: usize,
    event_bytes: usize,
    rows: impl Iterator<Item = Result<(i64, Text<'a>)>>,
) -> Result<RecordBatch> {
    let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut archive = StringBuilder::with_capacity(n, n * 64);
    let mut event_id = StringBuilder::with_capacity(n, n * 36);
    let mut event = StringBuilder::with_capacity(n, event_bytes);
    let mut acct = StringBuilder::with_capacity(n, n * account.len());
    let mut reg = StringBuilder::with_capacity(n, n * region.len());
    for row in rows {
        let (t, e) = row?;
        time.append_value(t);
        archive.append_value(&e.archive);
        event_id.append_value(&e.event_id);
        event.append_value(&e.event);
        acct.append_value(account);
        reg.append_value(region);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        view(archive.finish()),
        view(event_id.finish()),
        view(event.finish()),
        view(acct.finish()),
        view(reg.finish()),
    ];
    RecordBatch::try_new(SCHEMA.clone(), cols).map_err(arrow_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeRow;
    use datafusion::arrow::array::AsArray;

    #[test]
    fn encoded_rows_and_their_wal_text_make_the_same_batch() {
        let e = ArchivedEvent {
            time_ms: 1_700_000_000_123,
            archive: "arn:aws:events:us-east-1:123456789012:archive/a",
            event_id: "id-1",
            event: r#"{"id":"id-1","detail":{"q":"\"quoted\""}}"#,
        };
        let direct = ArchivedEvent::batch(&[&e], "123456789012", "us-east-1").unwrap();
        let mut text = Vec::new();
        e.encode(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let replayed = ArchivedEvents
            .to_batch_from_json("123456789012", "us-east-1", &[(e.time_ms, &text)])
            .unwrap()
            .unwrap();
        assert_eq!(direct, replayed);
        assert_eq!(direct.column(3).as_string_view().value(0), e.event);
        assert_eq!(direct.column(4).as_string_view().value(0), "123456789012");
    }

    #[test]
    fn a_row_claiming_another_account_keeps_the_scope() {
        let text = r#"{"archive":"a","event_id":"i","event":"{}","account_id":"999999999999"}"#;
        let b = ArchivedEvents
            .to_batch_from_json("123456789012", "eu-west-1", &[(1, text)])
            .unwrap()
            .unwrap();
        assert_eq!(b.column(4).as_string_view().value(0), "123456789012");
        assert_eq!(b.column(5).as_string_view().value(0), "eu-west-1");
    }
}

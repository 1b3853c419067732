//! `log_events`: one row per CloudWatch Logs event. The log group's incarnation id
//! (`group_id`) keeps the events of a deleted group out of a new group of the same name;
//! `seq` orders events of equal timestamp in the order they were ingested and makes
//! every event addressable for pagination tokens.

use crate::dataset::{ColumnHint, Dataset, IndexedText, RowRef, arrow_err, view};
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

/// An event's fields as the WAL holds them, read back without a document in between:
/// borrowed from a packed row, or from a JSON row (the first form, still read) where its
/// text needed no unescaping.
#[derive(serde::Deserialize)]
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

/// Opens a packed row: `\u{1}` (a JSON row opens with `{`), the ingestion time and
/// sequence, the byte lengths of group id, group, stream, message and key id (`-` for
/// none), `;`, then those strings back to back. Log messages are mostly JSON: in a
/// JSON row every quote of them was escaped on the way in and unescaped on replay;
/// packed, they are copied as they are.
const PACKED: char = '\u{1}';

impl LogEvent<'_> {
    fn encode_packed(&self, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        out.push(PACKED as u8);
        out.extend_from_slice(num.format(self.ingestion_ms).as_bytes());
        out.push(b',');
        out.extend_from_slice(num.format(self.seq).as_bytes());
        for part in [self.group_id, self.group, self.stream, self.message] {
            out.push(b',');
            out.extend_from_slice(num.format(part.len()).as_bytes());
        }
        out.push(b',');
        match self.key_id {
            Some(k) => out.extend_from_slice(num.format(k.len()).as_bytes()),
            None => out.push(b'-'),
        }
        out.push(b';');
        for part in [self.group_id, self.group, self.stream, self.message] {
            out.extend_from_slice(part.as_bytes());
        }
        if let Some(k) = self.key_id {
            out.extend_from_slice(k.as_bytes());
        }
    }

    fn text(&self) -> Text<'_> {
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

/// Reads a WAL row in either form.
fn parse_row(row: &str) -> Result<Text<'_>> {
    let bad = || Error::InvalidRow("malformed log event row".into());
    let Some(packed) = row.strip_prefix(PACKED) else {
        return sonic_rs::from_str(row).map_err(|e| Error::InvalidRow(e.to_string()));
    };
    let (head, mut rest) = packed.split_once(';').ok_or_else(bad)?;
    let mut fields = head.split(',');
    let mut number =
        || -> Result<i64> { fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad) };
    let (i, q) = (number()?, number()?);
    let mut lens = [0usize; 4];
    for l in &mut lens {
        *l = usize::try_from(number()?).map_err(|_| bad())?;
    }
    let key_len = match fields.next().ok_or_else(bad)? {
        "-" => None,
        n => Some(n.parse::<usize>().map_err(|_| bad())?),
    };
    if fields.next().is_some() {
        return Err(bad());
    }
    let mut take = |n: usize| -> Result<&str> {
        let (a, b) = (
            rest.get(..n).ok_or_else(bad)?,
            rest.get(n..).ok_or_else(bad)?,
        );
        rest = b;
        Ok(a)
    };
    let [g, n, s, m] = lens;
    let (g, n, s, m) = (take(g)?, take(n)?, take(s)?, take(m)?);
    let k = key_len.map(&mut take).transpose()?;
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(Text {
        i,
        q,
        g: Cow::Borrowed(g),
        n: Cow::Borrowed(n),
        s: Cow::Borrowed(s),
        m: Cow::Borrowed(m),
        k: k.map(Cow::Borrowed),
    })
}

impl crate::EncodeRow for LogEvent<'_> {
    fn time_ms(&self) -> i64 {
        self.timestamp_ms
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.encode_packed(out);
        Ok(())
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

    fn indexed_text(&self) -> Option<IndexedText> {
        Some(IndexedText {
            column: "message",
            opaque: Some("key_id"),
        })
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
        // The WAL row is the event's one form; documents add nothing here.
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
        let parsed = rows.iter().map(|(t, row)| Ok((*t, parse_row(row)?)));
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

#[cfg(test)]
mod tests {
    use super::{LogEvent, parse_row};
    use proptest::prelude::*;

    fn packed(e: &LogEvent<'_>) -> String {
        let mut out = Vec::new();
        e.encode_packed(&mut out);
        String::from_utf8(out).expect("packed rows are UTF-8")
    }

    #[test]
    fn rows_of_either_form_read_back() {
        let json = r#"{"i":7,"q":9,"g":"gid","n":"grp","s":"st","m":"{\"a\":\"b\"}"}"#;
        let t = parse_row(json).unwrap();
        assert_eq!(
            (t.i, t.q, &*t.g, &*t.n, &*t.s, &*t.m),
            (7, 9, "gid", "grp", "st", r#"{"a":"b"}"#)
        );
        assert!(t.k.is_none());
        for bad in [
            "\u{1}",
            "\u{1}1,2,3;",
            "\u{1}1,2,1,1,1,1,-;abc",
            "\u{1}1,2,1,1,1,1,-;abcde",
            "\u{1}1,2,0,0,0,1,-;é",
            "{",
        ] {
            assert!(parse_row(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn packed_rows_round_trip(
            i in any::<i64>(), q in any::<i64>(), g in ".*", n in ".*", s in ".*", m in ".*",
            k in proptest::option::of(".*"),
        ) {
            let e = LogEvent {
                timestamp_ms: 0, ingestion_ms: i, seq: q, group_id: &g, group: &n, stream: &s,
                message: &m, key_id: k.as_deref(),
            };
            let row = packed(&e);
            let t = parse_row(&row).unwrap();
            prop_assert_eq!((t.i, t.q, &*t.g, &*t.n, &*t.s, &*t.m), (i, q, &*g, &*n, &*s, &*m));
            prop_assert_eq!(t.k.as_deref(), k.as_deref());
        }

        #[test]
        fn parsing_any_text_never_panics(row in "\u{1}[0-9,;\\-]{0,24}.{0,16}") {
            let _ = parse_row(&row);
        }
    }
}

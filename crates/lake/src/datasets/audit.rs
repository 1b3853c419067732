//! `audit_events`: one row per CloudTrail record, with the columns LookupEvents and SQL
//! filter on, and the full record as JSON.

use crate::dataset::{ColumnHint, Dataset, Row, RowRef, arrow_err, view};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value as J;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "audit_events";

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let list = |name: &str| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("event_id", DataType::Utf8View, false),
        Field::new("request_id", DataType::Utf8View, true),
        Field::new("event_name", DataType::Utf8View, false),
        Field::new("event_source", DataType::Utf8View, false),
        Field::new("user_name", DataType::Utf8View, true),
        Field::new("user_type", DataType::Utf8View, true),
        Field::new("principal_arn", DataType::Utf8View, true),
        Field::new("access_key_id", DataType::Utf8View, true),
        Field::new("source_ip", DataType::Utf8View, true),
        Field::new("error_code", DataType::Utf8View, true),
        Field::new("read_only", DataType::Boolean, true),
        list("resource_names"),
        list("resource_types"),
        Field::new("account_id", DataType::Utf8View, false),
        Field::new("region", DataType::Utf8View, false),
        Field::new("record", DataType::Utf8View, false),
    ]))
});

pub struct AuditEvents;

/// The row of one CloudTrail record, at the call's precise time (the record's
/// `eventTime` has whole seconds only).
pub fn row(time: DateTime<Utc>, record: J) -> Row {
    Row::new(time, record)
}

/// The row of a record whose `eventTime` is the only time known (imports, tests).
pub fn record_row(record: J) -> Result<Row> {
    let time_ms = event_time(&record)?;
    Ok(Row {
        time_ms,
        doc: record,
    })
}

fn event_time(record: &J) -> Result<i64> {
    let t = s(record, &["eventTime"])
        .ok_or_else(|| Error::InvalidRow("audit record without eventTime".into()))?;
    let time = DateTime::parse_from_rfc3339(t)
        .map_err(|_| Error::InvalidRow(format!("invalid eventTime '{t}'")))?;
    Ok(time.with_timezone(&Utc).timestamp_millis())
}

fn s<'a>(v: &'a J, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// CloudTrail's `Username` lookup attribute: the IAM user name, the role session's
/// issuer name, or `root`.
fn user_name(r: &J) -> Option<&str> {
    let ui = r.get("userIdentity")?;
    if let Some(n) = s(ui, &["userName"]) {
        return Some(n);
    }
    match s(ui, &["type"]) {
        Some("Root") => Some("root"),
        Some("AssumedRole") => s(ui, &["arn"]).and_then(|a| a.rsplit('/').next()),
        _ => None,
    }
}

/// S3's object-level operations: CloudTrail's data events (`eventCategory` `Data`),
/// which trails deliver only when a data resource selector asks for them and event
/// history (LookupEvents) does not show.
pub const S3_DATA_EVENTS: &[&str] = &[
    "GetObject",
    "HeadObject",
    "PutObject",
    "DeleteObject",
    "DeleteObjects",
    "GetObjectRetention",
    "PutObjectRetention",
    "GetObjectLegalHold",
    "PutObjectLegalHold",
];

pub fn is_data_event(event_source: &str, event_name: &str) -> bool {
    event_source == "s3.amazonaws.com" && S3_DATA_EVENTS.contains(&event_name)
}

/// A resource's type from its ARN, in CloudFormation naming (`AWS::IAM::User`).
pub fn resource_type(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service) = (parts.next()?, parts.next()?, parts.next()?);
    let resource = parts.nth(2)?;
    let kind = resource.split(['/', ':']).next()?;
    let service = match service {
        "iam" => "IAM",
        "sts" => "STS",
        "s3" => "S3",
        "kms" => "KMS",
        "logs" => "Logs",
        "cloudtrail" => "CloudTrail",
        "organizations" => "Organizations",
        "events" => "Events",
        "ec2" => "EC2",
        other => return Some(format!("AWS::{other}::{kind}")),
    };
    let mut k = kind.chars();
    let kind: String = match k.next() {
        Some(f) => f.to_uppercase().chain(k).collect(),
        None => return None,
    };
    let kind = if kind == "Policy" && service == "IAM" {
        "Policy".to_owned()
    } else {
        kind
    };
    Some(format!("AWS::{service}::{kind}"))
}

impl Dataset for AuditEvents {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn time_column(&self) -> &'static str {
        "event_time"
    }

    fn document_time(&self, doc: &J) -> Result<i64> {
        event_time(doc)
    }

    fn column_hints(&self) -> &'static [(&'static str, ColumnHint)] {
        &[
            ("event_id", ColumnHint::Unique),
            ("request_id", ColumnHint::Unique),
            ("record", ColumnHint::Wide),
        ]
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        // Built as plain strings, sized by the rows, then viewed without copying: a view
        // builder's blocks start at 8 KiB each, which a batch of one row would keep.
        let mut strings: Vec<StringBuilder> = (0..10)
            .map(|_| StringBuilder::with_capacity(n, n * 24))
            .collect();
        let mut read_only = BooleanBuilder::with_capacity(n);
        // Sized by the rows: the builders' default reserve (1024 items) would make a
        // one-row batch carry kilobytes of empty capacity in the buffer.
        let mut names = ListBuilder::with_capacity(StringBuilder::with_capacity(2 * n, 48 * n), n);
        let mut types = ListBuilder::with_capacity(StringBuilder::with_capacity(n, 16 * n), n);
        let mut acct = StringBuilder::with_capacity(n, n * account.len());
        let mut reg = StringBuilder::with_capacity(n, n * region.len());
        let mut record =
            StringBuilder::with_capacity(n, rows.iter().map(|r| r.json.len()).sum::<usize>());
        for row in rows {
            time.append_value(row.time_ms);
            let r = row.doc;
            let fields = [
                s(r, &["eventID"]),
                s(r, &["requestID"]),
                s(r, &["eventName"]),
                s(r, &["eventSource"]),
                user_name(r),
                s(r, &["userIdentity", "type"]),
                s(r, &["userIdentity", "arn"]),
                s(r, &["userIdentity", "accessKeyId"]),
                s(r, &["sourceIPAddress"]),
                s(r, &["errorCode"]),
            ];
            for (i, (b, v)) in strings.iter_mut().zip(fields).enumerate() {
                match v {
                    Some(v) => b.append_value(v),
                    // event_id, event_name and event_source are required.
                    None if matches!(i, 0 | 2 | 3) => b.append_value(""),
                    None => b.append_null(),
                }
            }
            read_only.append_option(r.get("readOnly").and_then(J::as_bool));
            for res in r
                .get("resources")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(arn) = s(res, &["ARN"]).filter(|a| !a.ends_with('/')) {
                    names.values().append_value(arn);
                    // LookupEvents matches ResourceName on the short name too (`alice`).
                    let short = arn.rsplit(['/', ':']).next().unwrap_or(arn);
                    if short != arn && !short.is_empty() {
                        names.values().append_value(short);
                    }
                    match s(res, &["type"]) {
                        Some(t) => types.values().append_value(t),
                        None => match resource_type(arn) {
                            Some(t) => types.values().append_value(t),
                            None => types.values().append_null(),
                        },
                    }
                }
            }
            names.append(true);
            types.append(true);
            acct.append_value(account);
            reg.append_value(region);
            record.append_value(row.json);
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(time.finish())];
        let mut strings = strings.into_iter();
        for _ in 0..10 {
            if let Some(mut b) = strings.next() {
                cols.push(view(b.finish()));
            }
        }
        cols.push(Arc::new(read_only.finish()));
        cols.push(Arc::new(names.finish()));
        cols.push(Arc::new(types.finish()));
        cols.push(view(acct.finish()));
        cols.push(view(reg.finish()));
        cols.push(view(record.finish()));
        RecordBatch::try_new(self.schema(), cols).map_err(arrow_err)
    }
}

//! `audit_events`: one row per CloudTrail record, with the columns LookupEvents and SQL
//! filter on, and the full record as JSON.

use crate::dataset::{Dataset, arrow_err};
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
        Field::new("event_id", DataType::Utf8, false),
        Field::new("request_id", DataType::Utf8, true),
        Field::new("event_name", DataType::Utf8, false),
        Field::new("event_source", DataType::Utf8, false),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("user_type", DataType::Utf8, true),
        Field::new("principal_arn", DataType::Utf8, true),
        Field::new("access_key_id", DataType::Utf8, true),
        Field::new("source_ip", DataType::Utf8, true),
        Field::new("error_code", DataType::Utf8, true),
        Field::new("read_only", DataType::Boolean, true),
        list("resource_names"),
        list("resource_types"),
        Field::new("account_id", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("record", DataType::Utf8, false),
    ]))
});

pub struct AuditEvents;

/// The stored row: the record and the call's precise time. A bare record is accepted too
/// (its `eventTime` is then the time).
pub fn row(time: DateTime<Utc>, record: J) -> J {
    serde_json::json!({ "timeMillis": time.timestamp_millis(), "record": record })
}

/// The CloudTrail record of a row and its precise time, if the row carries one.
fn unwrap(row: &J) -> (&J, Option<i64>) {
    match (row.get("record"), row.get("timeMillis").and_then(J::as_i64)) {
        (Some(r), Some(t)) => (r, Some(t)),
        _ => (row, None),
    }
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
fn user_name(r: &J) -> Option<String> {
    let ui = r.get("userIdentity")?;
    if let Some(n) = s(ui, &["userName"]) {
        return Some(n.to_owned());
    }
    match s(ui, &["type"]) {
        Some("Root") => Some("root".into()),
        Some("AssumedRole") => s(ui, &["arn"])
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_owned),
        _ => None,
    }
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

    fn row_time(&self, row: &J) -> Result<DateTime<Utc>> {
        let (row, precise) = unwrap(row);
        if let Some(ms) = precise {
            return DateTime::from_timestamp_millis(ms)
                .ok_or_else(|| Error::InvalidRow(format!("invalid time {ms}")));
        }
        let t = s(row, &["eventTime"])
            .ok_or_else(|| Error::InvalidRow("audit record without eventTime".into()))?;
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Error::InvalidRow(format!("invalid eventTime '{t}'")))
    }

    fn to_batch(&self, account: &str, region: &str, rows: &[&J]) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut strings: Vec<StringBuilder> = (0..10)
            .map(|_| StringBuilder::with_capacity(n, n * 16))
            .collect();
        let mut read_only = BooleanBuilder::with_capacity(n);
        let mut names = ListBuilder::new(StringBuilder::new());
        let mut types = ListBuilder::new(StringBuilder::new());
        let mut acct = StringBuilder::with_capacity(n, n * 12);
        let mut reg = StringBuilder::with_capacity(n, n * 9);
        let mut record = StringBuilder::with_capacity(n, n * 1024);
        for &row in rows {
            time.append_value(self.row_time(row)?.timestamp_millis());
            let (r, _) = unwrap(row);
            let fields = [
                s(r, &["eventID"]).map(str::to_owned),
                s(r, &["requestID"]).map(str::to_owned),
                s(r, &["eventName"]).map(str::to_owned),
                s(r, &["eventSource"]).map(str::to_owned),
                user_name(r),
                s(r, &["userIdentity", "type"]).map(str::to_owned),
                s(r, &["userIdentity", "arn"]).map(str::to_owned),
                s(r, &["userIdentity", "accessKeyId"]).map(str::to_owned),
                s(r, &["sourceIPAddress"]).map(str::to_owned),
                s(r, &["errorCode"]).map(str::to_owned),
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
                    match s(res, &["type"])
                        .map(str::to_owned)
                        .or_else(|| resource_type(arn))
                    {
                        Some(t) => types.values().append_value(t),
                        None => types.values().append_null(),
                    }
                }
            }
            names.append(true);
            types.append(true);
            acct.append_value(account);
            reg.append_value(region);
            record.append_value(
                serde_json::to_string(r).map_err(|e| Error::InvalidRow(e.to_string()))?,
            );
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(time.finish())];
        let mut strings = strings.into_iter();
        for _ in 0..10 {
            if let Some(mut b) = strings.next() {
                cols.push(Arc::new(b.finish()));
            }
        }
        cols.push(Arc::new(read_only.finish()));
        cols.push(Arc::new(names.finish()));
        cols.push(Arc::new(types.finish()));
        cols.push(Arc::new(acct.finish()));
        cols.push(Arc::new(reg.finish()));
        cols.push(Arc::new(record.finish()));
        RecordBatch::try_new(self.schema(), cols).map_err(arrow_err)
    }
}

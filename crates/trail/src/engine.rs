//! LookupEvents over the lake: newest first, keyset pagination on (time, event id).

use crate::model::{Attribute, Lookup, PageToken};
use crate::{Error, Result};
use base64::Engine;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::common::ScalarValue;
use datafusion::functions_nested::expr_fn::array_has;
use datafusion::logical_expr::{Expr, col, lit};
use sha2::{Digest, Sha256};
use sightline_core::Scope;
use sightline_lake::Lake;
use sightline_lake::datasets::audit;
use sightline_lake::newest::NewestFirst;
use std::sync::Arc;

pub struct Trail {
    pub lake: Arc<Lake>,
}

/// One page of events: (CloudTrail record JSON, event time millis, event id).
pub struct Page {
    pub records: Vec<String>,
    pub next: Option<String>,
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

fn attribute_filter(a: &Attribute) -> Expr {
    match a {
        Attribute::EventId(v) => col("event_id").eq(lit(v.clone())),
        Attribute::EventName(v) => col("event_name").eq(lit(v.clone())),
        Attribute::ReadOnly(v) => col("read_only").eq(lit(*v)),
        Attribute::Username(v) => col("user_name").eq(lit(v.clone())),
        Attribute::ResourceType(v) => array_has(col("resource_types"), lit(v.clone())),
        Attribute::ResourceName(v) => array_has(col("resource_names"), lit(v.clone())),
        Attribute::EventSource(v) => col("event_source").eq(lit(v.clone())),
        Attribute::AccessKeyId(v) => col("access_key_id").eq(lit(v.clone())),
    }
}

pub fn encode_token(t: &PageToken) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(t).unwrap_or_default())
}

pub fn decode_token(s: &str) -> Result<PageToken> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| Error::InvalidNextToken("Invalid NextToken".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidNextToken("Invalid NextToken".into()))
}

impl Trail {
    pub async fn lookup(&self, scope: &Scope, q: &Lookup, token: Option<&str>) -> Result<Page> {
        let fp = format!("{}|{}|{}", q.fingerprint, scope.account_id, scope.region);
        let fp = hex::encode(&Sha256::digest(fp.as_bytes())[..8]);
        let after = match token {
            Some(t) => {
                let t = decode_token(t)?;
                if t.query != fp {
                    return Err(Error::InvalidNextToken(
                        "The token is not valid for the parameters of this request".into(),
                    ));
                }
                Some(t)
            }
            None => None,
        };
        // Records carry whole-second eventTimes; the stored time is finer, so a bound
        // covers its whole second, as it does on CloudTrail.
        let (from, to) = (q.start.timestamp() * 1000, q.end.timestamp() * 1000 + 999);
        let table = self
            .lake
            .snapshot(
                audit::NAME,
                &scope.account_id,
                Some(&scope.region),
                from,
                to,
            )
            .await?;
        // Event history holds management events only, as on CloudTrail.
        let data_events: Vec<Expr> = audit::S3_DATA_EVENTS.iter().map(|n| lit(*n)).collect();
        let mut filter = col("event_time")
            .gt_eq(ts(from))
            .and(col("event_time").lt_eq(ts(to)))
            .and(
                col("event_source")
                    .not_eq(lit("s3.amazonaws.com"))
                    .or(col("event_name").in_list(data_events, true)),
            );
        if let Some(a) = &q.attribute {
            filter = filter.and(attribute_filter(a));
        }
        if let Some(t) = &after {
            filter = filter.and(
                col("event_time").lt(ts(t.time)).or(col("event_time")
                    .eq(ts(t.time))
                    .and(col("event_id").lt(lit(t.id.clone())))),
            );
        }
        // Phase one finds the page's keys from the small columns, newest segments
        // first; the wide `record` column is read afterwards for the page alone.
        let page = self
            .lake
            .newest_first(
                table,
                &NewestFirst {
                    filter,
                    columns: vec!["event_time".into(), "event_id".into()],
                    sparse_columns: vec!["record".into()],
                    limit: q.max_results + 1,
                },
            )
            .await?;
        let times = page.column(0).as_primitive::<TimestampMillisecondType>();
        let ids = page.column(1).as_string_view();
        let recs = page.column(2).as_string_view();
        let mut rows: Vec<(i64, String, Option<String>)> = (0..page.num_rows())
            .filter(|&i| !times.is_null(i))
            .map(|i| {
                let rec = (!recs.is_null(i)).then(|| recs.value(i).to_owned());
                (times.value(i), ids.value(i).to_owned(), rec)
            })
            .collect();
        // Phase two: the records the key walk did not read, for this page's rows alone.
        let missing: Vec<&(i64, String, Option<String>)> =
            rows.iter().filter(|r| r.2.is_none()).collect();
        if let (Some(newest), Some(oldest)) = (missing.first(), missing.last()) {
            let (lo, hi) = (oldest.0, newest.0);
            let table = self
                .lake
                .snapshot(audit::NAME, &scope.account_id, Some(&scope.region), lo, hi)
                .await?;
            let ctx = self.lake.lookup_context();
            let ids: Vec<Expr> = missing.iter().map(|r| lit(r.1.clone())).collect();
            let df = ctx
                .read_table(Arc::new(table))
                .map_err(sightline_lake::Error::from)?
                .filter(
                    col("event_time")
                        .gt_eq(ts(lo))
                        .and(col("event_time").lt_eq(ts(hi)))
                        .and(col("event_id").in_list(ids, false)),
                )
                .map_err(sightline_lake::Error::from)?
                .select_columns(&["event_id", "record"])
                .map_err(sightline_lake::Error::from)?;
            let mut records = std::collections::HashMap::new();
            for b in df.collect().await.map_err(sightline_lake::Error::from)? {
                let ids = b.column(0).as_string_view();
                let recs = b.column(1).as_string_view();
                for i in 0..b.num_rows() {
                    records.insert(ids.value(i).to_owned(), recs.value(i).to_owned());
                }
            }
            for r in rows.iter_mut().filter(|r| r.2.is_none()) {
                r.2 = records.remove(&r.1);
            }
        }
        let mut rows: Vec<(i64, String, String)> = rows
            .into_iter()
            .filter_map(|(t, id, r)| r.map(|r| (t, id, r)))
            .collect();
        let next = if rows.len() > q.max_results {
            rows.truncate(q.max_results);
            rows.last().map(|(t, id, _)| {
                encode_token(&PageToken {
                    time: *t,
                    id: id.clone(),
                    query: fp.clone(),
                })
            })
        } else {
            None
        };
        Ok(Page {
            records: rows.into_iter().map(|(_, _, r)| r).collect(),
            next,
        })
    }
}

//! LookupEvents over the lake: newest first, keyset pagination on (time, event id).

use crate::model::{Attribute, Lookup, PageToken};
use crate::{Error, Result};
use base64::Engine;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::common::ScalarValue;
use datafusion::functions_nested::expr_fn::array_has;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;
use sha2::{Digest, Sha256};
use sightline_core::Scope;
use sightline_lake::Lake;
use sightline_lake::datasets::audit;
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
            .snapshot(audit::NAME, &scope.account_id, from, to)
            .await?;
        let ctx = SessionContext::new();
        ctx.register_object_store(
            self.lake.store().url.as_ref(),
            self.lake.store().store.clone(),
        );
        let mut filter = col("region")
            .eq(lit(scope.region.clone()))
            .and(col("event_time").gt_eq(ts(from)))
            .and(col("event_time").lt_eq(ts(to)));
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
        // Phase one orders only the small key columns; the wide `record` column is read
        // afterwards for the page's events alone.
        let store = self.lake.store().clone();
        let df = ctx
            .read_table(Arc::new(table))
            .map_err(sightline_lake::Error::from)?
            .filter(filter)
            .map_err(sightline_lake::Error::from)?
            .select_columns(&["event_time", "event_id"])
            .map_err(sightline_lake::Error::from)?
            .sort(vec![
                col("event_time").sort(false, false),
                col("event_id").sort(false, false),
            ])
            .map_err(sightline_lake::Error::from)?
            .limit(0, Some(q.max_results + 1))
            .map_err(sightline_lake::Error::from)?;
        let batches = df.collect().await.map_err(sightline_lake::Error::from)?;
        let mut keys: Vec<(i64, String)> = Vec::new();
        for b in &batches {
            let times = b.column(0).as_primitive::<TimestampMillisecondType>();
            let ids = b.column(1).as_string::<i32>();
            for i in 0..b.num_rows() {
                if !times.is_null(i) {
                    keys.push((times.value(i), ids.value(i).to_owned()));
                }
            }
        }
        let mut rows: Vec<(i64, String, String)> = Vec::with_capacity(keys.len());
        if let (Some(newest), Some(oldest)) = (keys.first(), keys.last()) {
            let (lo, hi) = (oldest.0, newest.0);
            let table = self
                .lake
                .snapshot(audit::NAME, &scope.account_id, lo, hi)
                .await?;
            let ctx = SessionContext::new();
            ctx.register_object_store(store.url.as_ref(), store.store.clone());
            let ids: Vec<Expr> = keys.iter().map(|(_, id)| lit(id.clone())).collect();
            let df = ctx
                .read_table(Arc::new(table))
                .map_err(sightline_lake::Error::from)?
                .filter(
                    col("region")
                        .eq(lit(scope.region.clone()))
                        .and(col("event_time").gt_eq(ts(lo)))
                        .and(col("event_time").lt_eq(ts(hi)))
                        .and(col("event_id").in_list(ids, false)),
                )
                .map_err(sightline_lake::Error::from)?
                .select_columns(&["event_id", "record"])
                .map_err(sightline_lake::Error::from)?;
            let mut records = std::collections::HashMap::new();
            for b in df.collect().await.map_err(sightline_lake::Error::from)? {
                let ids = b.column(0).as_string::<i32>();
                let recs = b.column(1).as_string::<i32>();
                for i in 0..b.num_rows() {
                    records.insert(ids.value(i).to_owned(), recs.value(i).to_owned());
                }
            }
            for (t, id) in keys {
                if let Some(r) = records.remove(&id) {
                    rows.push((t, id, r));
                }
            }
        }
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

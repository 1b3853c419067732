//! Reading the audit dataset forward in (time, event id) order from a cursor, a bounded
//! round at a time: what trail delivery and the transparency log's sequencer both do.
//! The round's keys are found from the narrow columns first; the wide `record` column is
//! read only for the round's own time span, so a long backlog costs one pass over keys
//! per round rather than over every record.

use crate::Result;
use crate::model::Cursor;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use sightline_lake::Lake;
use sightline_lake::datasets::audit;
use std::sync::Arc;

pub struct Row {
    pub time_ms: i64,
    pub event_id: String,
    pub region: String,
    pub record: String,
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

/// (time, id) strictly after `c`.
fn after(c: &Cursor) -> Expr {
    col("event_time").gt(ts(c.time_ms)).or(col("event_time")
        .eq(ts(c.time_ms))
        .and(col("event_id").gt(lit(c.event_id.clone()))))
}

/// (time, id) at or before `c`.
fn up_to(c: &Cursor) -> Expr {
    col("event_time").lt(ts(c.time_ms)).or(col("event_time")
        .eq(ts(c.time_ms))
        .and(col("event_id").lt_eq(lit(c.event_id.clone()))))
}

/// Up to `limit` records of `account` (one region, or all) after `cursor`, timed in
/// `[from, upper)`, in (time, event id) order.
pub async fn read_after(
    lake: &Lake,
    account: &str,
    region: Option<&str>,
    cursor: Option<&Cursor>,
    from_ms: i64,
    upper_ms: i64,
    limit: usize,
) -> Result<Vec<Row>> {
    let lake_err = sightline_lake::Error::from;
    let mut filter = col("event_time")
        .gt_eq(ts(from_ms))
        .and(col("event_time").lt(ts(upper_ms)));
    if let Some(c) = cursor {
        filter = filter.and(after(c));
    }
    // Phase one: the round's last key, from the narrow columns.
    let table = lake
        .snapshot(audit::NAME, account, region, from_ms, upper_ms)
        .await?;
    let keys = lake
        .lookup_context()
        .read_table(Arc::new(table))
        .map_err(lake_err)?
        .filter(filter.clone())
        .map_err(lake_err)?
        .select_columns(&["event_time", "event_id"])
        .map_err(lake_err)?
        .sort(vec![
            col("event_time").sort(true, false),
            col("event_id").sort(true, false),
        ])
        .map_err(lake_err)?
        .limit(0, Some(limit))
        .map_err(lake_err)?
        .collect()
        .await
        .map_err(lake_err)?;
    let mut first: Option<i64> = None;
    let mut last: Option<Cursor> = None;
    for b in &keys {
        let times = b.column(0).as_primitive::<TimestampMillisecondType>();
        let ids = b.column(1).as_string_view();
        for i in 0..b.num_rows() {
            if times.is_null(i) {
                continue;
            }
            first.get_or_insert(times.value(i));
            last = Some(Cursor {
                time_ms: times.value(i),
                event_id: ids.value(i).to_owned(),
            });
        }
    }
    let (Some(lo), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    // Phase two: the records of the round, from its own time span only.
    let table = lake
        .snapshot(audit::NAME, account, region, lo, last.time_ms)
        .await?;
    let batches = lake
        .lookup_context()
        .read_table(Arc::new(table))
        .map_err(lake_err)?
        .filter(
            filter
                .and(col("event_time").gt_eq(ts(lo)))
                .and(up_to(&last)),
        )
        .map_err(lake_err)?
        .select_columns(&["event_time", "event_id", "region", "record"])
        .map_err(lake_err)?
        .collect()
        .await
        .map_err(lake_err)?;
    let mut rows = Vec::new();
    for b in &batches {
        let times = b.column(0).as_primitive::<TimestampMillisecondType>();
        let ids = b.column(1).as_string_view();
        let regions = b.column(2).as_string_view();
        let records = b.column(3).as_string_view();
        for i in 0..b.num_rows() {
            if times.is_null(i) {
                continue;
            }
            rows.push(Row {
                time_ms: times.value(i),
                event_id: ids.value(i).to_owned(),
                region: regions.value(i).to_owned(),
                record: records.value(i).to_owned(),
            });
        }
    }
    rows.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
    Ok(rows)
}

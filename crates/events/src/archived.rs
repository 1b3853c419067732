//! Archived events in the lake (`archived_events`, in each archive's own account and
//! region): the sizes DescribeArchive and ListArchives report, the batches a replay
//! reads in (time, event id) order after its cursor, and the purge that removes events
//! past their archive's retention and those of deleted archives.
//!
//! Every read starts at the archive's floor: its creation (rows of an earlier archive
//! of the same name, not yet purged, are not its own) and its retention, so no read
//! returns an event the purge has yet to remove.

use crate::engine::Events;
use crate::model::{Archive, ReplayCursor};
use crate::{Error, Result, now_ms};
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn::octet_length;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn::{min, sum};
use datafusion::prelude::{Expr, col, lit};
use sightline_lake::datasets::archived::NAME;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

/// How long after its archive time an event becomes replayable. An event's time is
/// taken before its append, and appends of one moment may finish out of order; within
/// this margin they have all finished, so a replay's cursor never passes an event that
/// is still being archived.
pub(crate) const SETTLE_MS: i64 = 2_000;

/// The earliest archive time `a`'s reads see at `now`.
pub(crate) fn floor(a: &Archive, now: i64) -> i64 {
    let retention = if a.retention_days > 0 {
        now.saturating_sub(a.retention_days.saturating_mul(DAY_MS))
    } else {
        i64::MIN
    };
    a.created_ms.max(retention)
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

/// Column `name` of `b` as `to` (the lake's strings are views, its times timestamps).
fn column(b: &RecordBatch, name: &str, to: &DataType) -> Result<Arc<dyn Array>> {
    let c = b
        .column_by_name(name)
        .ok_or_else(|| Error::Storage(format!("archived events without {name}")))?;
    cast(c, to).map_err(|e| Error::Storage(format!("archived events' {name}: {e}")))
}

/// One archived event as a replay reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub time_ms: i64,
    pub event_id: String,
    pub event: String,
}

/// Which scopes a purge pass looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgePass {
    /// Every scope with archived events (after a start, since deletions are
    /// remembered in memory only, and hourly for retention).
    Everything,
    /// Only the scopes with archives deleted since the last pass.
    Deleted,
}

impl Events {
    /// (event count, bytes of event JSON) per archive ARN, one query per (account,
    /// region); archives without events are absent.
    pub(crate) async fn archive_sizes(
        &self,
        archives: &[Archive],
    ) -> Result<HashMap<String, (i64, i64)>> {
        let now = now_ms();
        let mut scopes: BTreeMap<(&str, &str), Vec<&Archive>> = BTreeMap::new();
        for a in archives {
            scopes.entry((&a.account, &a.region)).or_default().push(a);
        }
        let mut out = HashMap::new();
        for ((account, region), list) in scopes {
            let floors: Vec<i64> = list.iter().map(|a| floor(a, now)).collect();
            let lo = floors.iter().copied().min().unwrap_or(i64::MIN);
            let which = list
                .iter()
                .zip(&floors)
                .map(|(a, f)| {
                    col("archive")
                        .eq(lit(a.arn.as_str()))
                        .and(col("event_time").gt_eq(ts(*f)))
                })
                .reduce(Expr::or);
            let Some(which) = which else { continue };
            let table = self
                .lake
                .snapshot(NAME, account, Some(region), lo, i64::MAX)
                .await?;
            let batches = self
                .lake
                .lookup_context()
                .read_table(Arc::new(table))?
                .filter(col("event_time").gt_eq(ts(lo)).and(which))?
                .aggregate(
                    vec![col("archive")],
                    vec![
                        count_all().alias("n"),
                        sum(octet_length(col("event"))).alias("bytes"),
                    ],
                )?
                .collect()
                .await?;
            for b in &batches {
                let arns = column(b, "archive", &DataType::Utf8)?;
                let counts = column(b, "n", &DataType::Int64)?;
                let bytes = column(b, "bytes", &DataType::Int64)?;
                let (arns, counts, bytes) = (
                    arns.as_string::<i32>(),
                    counts.as_primitive::<Int64Type>(),
                    bytes.as_primitive::<Int64Type>(),
                );
                for i in 0..b.num_rows() {
                    out.insert(arns.value(i).to_owned(), (counts.value(i), bytes.value(i)));
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` events of `a` archived in [`from_ms`, `to_ms`) after `after`, in
    /// (time, event id) order, never below the archive's floor.
    pub(crate) async fn archived_after(
        &self,
        a: &Archive,
        from_ms: i64,
        to_ms: i64,
        after: Option<&ReplayCursor>,
        limit: usize,
    ) -> Result<Vec<Stored>> {
        let lo = from_ms
            .max(floor(a, now_ms()))
            .max(after.map_or(i64::MIN, |c| c.time_ms));
        if lo >= to_ms {
            return Ok(Vec::new());
        }
        let mut filter = col("archive")
            .eq(lit(a.arn.as_str()))
            .and(col("event_time").gt_eq(ts(lo)))
            .and(col("event_time").lt(ts(to_ms)));
        if let Some(c) = after {
            filter = filter.and(
                col("event_time")
                    .gt(ts(c.time_ms))
                    .or(col("event_id").gt(lit(c.event_id.as_str()))),
            );
        }
        let table = self
            .lake
            .snapshot(NAME, &a.account, Some(&a.region), lo, to_ms)
            .await?;
        let batches = self
            .lake
            .lookup_context()
            .read_table(Arc::new(table))?
            .filter(filter)?
            .sort(vec![
                col("event_time").sort(true, false),
                col("event_id").sort(true, false),
            ])?
            .limit(0, Some(limit))?
            .select_columns(&["event_time", "event_id", "event"])?
            .collect()
            .await?;
        let mut out = Vec::new();
        for b in &batches {
            let times = column(b, "event_time", &DataType::Int64)?;
            let ids = column(b, "event_id", &DataType::Utf8)?;
            let events = column(b, "event", &DataType::Utf8)?;
            let (times, ids, events) = (
                times.as_primitive::<Int64Type>(),
                ids.as_string::<i32>(),
                events.as_string::<i32>(),
            );
            for i in 0..b.num_rows() {
                out.push(Stored {
                    time_ms: times.value(i),
                    event_id: ids.value(i).to_owned(),
                    event: events.value(i).to_owned(),
                });
            }
        }
        Ok(out)
    }

    /// Removes from the lake the archived events below their archive's floor (past its
    /// retention, or of an earlier archive of the same name) and those of archives
    /// that no longer exist, in the scopes `pass` names. Reads never return them,
    /// whether or not this has run yet. Returns the rows removed.
    pub async fn purge_archived(&self, pass: PurgePass) -> Result<usize> {
        let now = now_ms();
        let deleted = std::mem::take(&mut *self.deleted_archives.lock());
        let mut scopes = deleted.clone();
        if pass == PurgePass::Everything {
            match self.lake.scopes(NAME) {
                Ok(all) => scopes.extend(all),
                Err(e) => {
                    self.deleted_archives.lock().extend(deleted);
                    return Err(e.into());
                }
            }
        }
        let drop =
            |b: &RecordBatch| -> sightline_lake::Result<BooleanArray> { self.expired_rows(b, now) };
        let mut removed = 0;
        for (account, region) in scopes {
            let purged = match self.purge_bound(&account, &region, now).await {
                Ok(None) => continue,
                Ok(Some(before)) => self
                    .lake
                    .purge(NAME, &account, &region, before, &drop)
                    .await
                    .map_err(Error::from),
                Err(e) => Err(e),
            };
            match purged {
                Ok(stats) => removed += stats.rows_removed,
                Err(e) => {
                    // The deleted archives' scopes wait for the next pass.
                    self.deleted_archives.lock().extend(deleted);
                    return Err(e);
                }
            }
        }
        Ok(removed)
    }

    /// The time before which the segments of a scope hold rows to drop, or `None` when
    /// none do: one query of each archive's oldest row (two narrow columns), so a pass
    /// rewrites, and reads whole, only segments that lose rows.
    async fn purge_bound(&self, account: &str, region: &str, now: i64) -> Result<Option<i64>> {
        let table = self
            .lake
            .snapshot(NAME, account, Some(region), i64::MIN, i64::MAX)
            .await?;
        let batches = self
            .lake
            .lookup_context()
            .read_table(Arc::new(table))?
            .aggregate(
                vec![col("archive")],
                vec![min(col("event_time")).alias("oldest")],
            )?
            .collect()
            .await?;
        let state = self.state.read();
        let mut before: Option<i64> = None;
        for b in &batches {
            let arns = column(b, "archive", &DataType::Utf8)?;
            let oldest = column(b, "oldest", &DataType::Int64)?;
            let (arns, oldest) = (arns.as_string::<i32>(), oldest.as_primitive::<Int64Type>());
            for i in 0..b.num_rows() {
                let bound = match state.archives.get(arns.value(i)) {
                    // A deleted archive's rows may be anywhere.
                    None => Some(i64::MAX),
                    Some(a) => Some(floor(a, now)).filter(|f| oldest.value(i) < *f),
                };
                before = before.max(bound);
            }
        }
        Ok(before)
    }

    /// Rows whose archive is gone, or which lie below its floor at `now`. Archives are
    /// looked up as they are now: a row exists only once its archive did, so one whose
    /// archive is missing belongs to a deleted archive.
    fn expired_rows(&self, b: &RecordBatch, now: i64) -> sightline_lake::Result<BooleanArray> {
        let bad = |c: &str, e: String| {
            sightline_lake::Error::InvalidRow(format!("archived events' {c}: {e}"))
        };
        let get = |c: &str, to: &DataType| {
            let a = b
                .column_by_name(c)
                .ok_or_else(|| bad(c, "missing".into()))?;
            cast(a, to).map_err(|e| bad(c, e.to_string()))
        };
        let times = get("event_time", &DataType::Int64)?;
        let arns = get("archive", &DataType::Utf8)?;
        let (times, arns) = (times.as_primitive::<Int64Type>(), arns.as_string::<i32>());
        let state = self.state.read();
        let mut floors: HashMap<&str, Option<i64>> = HashMap::new();
        Ok((0..b.num_rows())
            .map(|i| {
                let arn = arns.value(i);
                let f = *floors
                    .entry(arn)
                    .or_insert_with(|| state.archives.get(arn).map(|a| floor(a, now)));
                Some(f.is_none_or(|f| times.value(i) < f))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(created_ms: i64, retention_days: i64) -> Archive {
        Archive {
            name: "a".into(),
            arn: "arn:aws:events:us-east-1:123456789012:archive/a".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            source_arn: "arn:aws:events:us-east-1:123456789012:event-bus/default".into(),
            description: None,
            event_pattern: None,
            retention_days,
            state: "ENABLED".into(),
            created_ms,
        }
    }

    #[test]
    fn the_floor_is_the_later_of_creation_and_retention() {
        let now = 100 * DAY_MS;
        // Kept forever: from its creation.
        assert_eq!(floor(&archive(5 * DAY_MS, 0), now), 5 * DAY_MS);
        // Retention reaches back past the creation: the creation.
        assert_eq!(floor(&archive(95 * DAY_MS, 7), now), 95 * DAY_MS);
        // Older than its retention: the retention.
        assert_eq!(floor(&archive(5 * DAY_MS, 7), now), 93 * DAY_MS);
        // Huge retentions do not overflow.
        assert_eq!(floor(&archive(0, i64::MAX), now), 0);
    }
}

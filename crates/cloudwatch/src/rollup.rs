//! Rollups in the lake, on CloudWatch's retention schedule: each complete hour of raw
//! samples is aggregated per metric into 60-, 300- and 3600-second rows of
//! `metric_rollups` (sums, counts, extremes and merged percentile sketches). Raw samples
//! are kept 15 days (late datapoints may arrive up to two weeks back); 60-second rows
//! 15 days, 5-minute rows 63 days, hourly rows 455 days. Reads of ranges older than the
//! in-memory window take the coarsest rollup that divides their period, and raw samples
//! for the hours not rolled up.
//!
//! An hour that receives samples after it was rolled up is marked dirty and rolled up
//! again: its rollup rows are purged and rebuilt from the raw samples.

use crate::engine::{CloudWatch, scope_key};
use crate::hot::ScopeKey;
use crate::model::{Agg, SeriesKey};
use crate::{Result, store};
use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{Int32Type, TimestampMillisecondType};
use serde::{Deserialize, Serialize};
use sightline_core::Scope;
use sightline_lake::datasets::metrics::{self as dataset, Sample};
use std::collections::{BTreeMap, BTreeSet};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Rollup widths in seconds, with how many days each is kept.
pub const RESOLUTIONS: [(i64, i64); 3] = [(60, 15), (300, 63), (3600, 455)];

/// Raw samples outlive the two weeks within which PutMetricData accepts datapoints,
/// so a late hour can always be rolled up again.
pub const RAW_RETENTION_DAYS: i64 = 15;

/// Hours are rolled up once they ended this long ago, so the usual stragglers arrive
/// first.
const SETTLE_MS: i64 = 10 * 60_000;

/// How far back a scope seen for the first time is rolled up.
const INITIAL_BACKFILL_MS: i64 = 15 * DAY_MS;

/// Hours rolled up per scope and pass: bounds one pass's work while a scope catches up.
const HOURS_PER_PASS: usize = 48;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RollupState {
    /// Rollups cover `[start_ms, through_ms)`, whole hours.
    pub start_ms: i64,
    pub through_ms: i64,
    /// Hours (start, ms) inside the covered range that received samples since.
    pub dirty: BTreeSet<i64>,
    /// The last retention pass (ms).
    pub retained_ms: i64,
}

fn floor_hour(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The rollup rows of one hour of raw samples.
fn aggregate(rows: Vec<(SeriesKey, i64, i64, Agg)>) -> Vec<Sample> {
    let mut by: BTreeMap<(SeriesKey, i64, i64), Agg> = BTreeMap::new();
    for (key, t, _, agg) in rows {
        for (res, _) in RESOLUTIONS {
            let bucket = t - t.rem_euclid(res);
            Agg::merge_at(&mut by, (key.clone(), res, bucket), agg.clone());
        }
    }
    let mut out: Vec<Sample> = by
        .into_iter()
        .map(|((key, res, bucket), a)| Sample {
            time_ms: bucket * 1000,
            namespace: key.namespace,
            name: key.name,
            dimensions: key.dims,
            sum: a.sum,
            count: a.count,
            min: a.min,
            max: a.max,
            unit: a.unit,
            resolution: res as i32,
            sketch: a.sketch.map(|s| s.to_bytes()),
        })
        .collect();
    out.sort_by_key(|s| s.time_ms);
    out
}

impl CloudWatch {
    fn rollup_state(&self, scope: &ScopeKey) -> Option<RollupState> {
        self.rollups.read().get(scope).cloned()
    }

    fn save_rollup_state(&self, scope: &ScopeKey, state: RollupState) -> Result<()> {
        store::put_rollup(&self.meta, &scope.0, &scope.1, &state)?;
        self.rollups.write().insert(scope.clone(), state);
        Ok(())
    }

    /// Notes samples that arrived for hours already rolled up.
    pub(crate) fn note_late(
        &self,
        scope: &Scope,
        times_ms: impl Iterator<Item = i64>,
    ) -> Result<()> {
        let key = scope_key(scope);
        let Some(mut state) = self.rollup_state(&key) else {
            return Ok(());
        };
        let before = state.dirty.len();
        for t in times_ms {
            if t >= state.start_ms && t < state.through_ms {
                state.dirty.insert(floor_hour(t));
            }
        }
        if state.dirty.len() != before {
            self.save_rollup_state(&key, state)?;
        }
        Ok(())
    }

    async fn roll_hour(&self, scope: &ScopeKey, hour_ms: i64) -> Result<usize> {
        let rows = self
            .lake_samples(&scope.0, &scope.1, None, hour_ms, hour_ms + HOUR_MS)
            .await?;
        let samples = aggregate(rows);
        let core = Scope::new(scope.0.clone(), scope.1.clone());
        let bytes = samples.iter().map(|s| s.dimensions.len() + 64).sum();
        self.lake
            .append_encoded(dataset::ROLLUPS, &core, &samples, bytes)
            .await?;
        Ok(samples.len())
    }

    /// One pass: every scope's complete hours since its last pass, its dirty hours,
    /// and (daily) retention. Returns the rollup rows written.
    pub async fn roll_up(&self, now_ms: i64) -> Result<usize> {
        let scopes: Vec<ScopeKey> = self.catalog.read().keys().cloned().collect();
        let mut written = 0;
        let ready = floor_hour(now_ms - SETTLE_MS);
        for scope in scopes {
            let mut state = match self.rollup_state(&scope) {
                Some(s) => s,
                None => {
                    // A scope's first pass starts at its oldest raw sample.
                    let oldest = self.oldest_sample_ms(&scope, now_ms).await?;
                    let start =
                        floor_hour(oldest.unwrap_or(ready).max(now_ms - INITIAL_BACKFILL_MS));
                    RollupState {
                        start_ms: start,
                        through_ms: start,
                        dirty: BTreeSet::new(),
                        retained_ms: now_ms,
                    }
                }
            };
            // Late hours first: their rollup rows are replaced as a whole.
            let dirty: Vec<i64> = std::mem::take(&mut state.dirty).into_iter().collect();
            for hour in &dirty {
                let hour = *hour;
                self.lake
                    .purge(dataset::ROLLUPS, &scope.0, &scope.1, hour + HOUR_MS, &|b| {
                        in_range(b, hour, hour + HOUR_MS)
                    })
                    .await?;
                written += self.roll_hour(&scope, hour).await?;
            }
            let mut hours = 0;
            while state.through_ms < ready && hours < HOURS_PER_PASS {
                written += self.roll_hour(&scope, state.through_ms).await?;
                state.through_ms += HOUR_MS;
                hours += 1;
            }
            if now_ms - state.retained_ms >= DAY_MS {
                self.retain(&scope, now_ms).await?;
                state.retained_ms = now_ms;
                state.start_ms = state
                    .start_ms
                    .max(floor_hour(now_ms - RAW_RETENTION_DAYS * DAY_MS));
            }
            // Samples that arrived for a dirty hour while it was being rebuilt are
            // caught by note_late on the stored state, which this save keeps.
            if let Some(current) = self.rollup_state(&scope) {
                state
                    .dirty
                    .extend(current.dirty.into_iter().filter(|h| !dirty.contains(h)));
            }
            self.save_rollup_state(&scope, state)?;
        }
        Ok(written)
    }

    async fn oldest_sample_ms(&self, scope: &ScopeKey, now_ms: i64) -> Result<Option<i64>> {
        use datafusion::functions_aggregate::expr_fn::min;
        use datafusion::prelude::col;
        let table = self
            .lake
            .snapshot(
                dataset::NAME,
                &scope.0,
                Some(&scope.1),
                now_ms - INITIAL_BACKFILL_MS,
                now_ms + 3 * HOUR_MS,
            )
            .await?;
        let ctx = self.lake.lookup_context();
        let batches = ctx
            .read_table(std::sync::Arc::new(table))?
            .aggregate(vec![], vec![min(col("sample_time")).alias("t")])?
            .collect()
            .await?;
        Ok(batches.first().and_then(|b| {
            let t = b.column(0).as_primitive::<TimestampMillisecondType>();
            (b.num_rows() > 0 && !t.is_null(0)).then(|| t.value(0))
        }))
    }

    /// Drops raw samples and rollup rows past their retention.
    async fn retain(&self, scope: &ScopeKey, now_ms: i64) -> Result<()> {
        let raw_cutoff = now_ms - RAW_RETENTION_DAYS * DAY_MS;
        self.lake
            .purge(dataset::NAME, &scope.0, &scope.1, raw_cutoff, &|b| {
                in_range(b, i64::MIN, raw_cutoff)
            })
            .await?;
        let oldest = RESOLUTIONS.iter().map(|(_, d)| *d).min().unwrap_or(15);
        let before = now_ms - oldest * DAY_MS;
        self.lake
            .purge(dataset::ROLLUPS, &scope.0, &scope.1, before, &move |b| {
                expired_rollups(b, now_ms)
            })
            .await?;
        Ok(())
    }

    /// Where reads of `[from_s, to_s)` at `period` find their data: rollup rows of one
    /// resolution for the covered whole hours, raw samples for the rest.
    pub(crate) async fn lake_period_rows(
        &self,
        scope: &ScopeKey,
        key: &SeriesKey,
        from_s: i64,
        to_s: i64,
        period: i64,
    ) -> Result<Vec<(SeriesKey, i64, i64, Agg)>> {
        let (from, to) = (from_s * 1000, to_s * 1000);
        let resolution = RESOLUTIONS
            .iter()
            .rev()
            .map(|(r, _)| *r)
            .find(|r| period % r == 0);
        let state = self.rollup_state(scope);
        let (Some(res), Some(state)) = (resolution, state) else {
            return self
                .lake_samples(&scope.0, &scope.1, Some(key), from, to)
                .await;
        };
        let dirty_free = |a: i64, b: i64| !state.dirty.iter().any(|h| *h + HOUR_MS > a && *h < b);
        let lo = from.max(state.start_ms);
        let hi = to.min(state.through_ms);
        // Rollup rows start at their bucket: whole buckets only, so a bucket straddling
        // the edge of the covered range comes from raw samples.
        let lo = lo + (res * 1000 - lo.rem_euclid(res * 1000)) % (res * 1000);
        let hi = hi - hi.rem_euclid(res * 1000);
        if lo >= hi || !dirty_free(lo, hi) {
            return self
                .lake_samples(&scope.0, &scope.1, Some(key), from, to)
                .await;
        }
        let mut out = Vec::new();
        if from < lo {
            out.extend(
                self.lake_samples(&scope.0, &scope.1, Some(key), from, lo)
                    .await?,
            );
        }
        out.extend(
            self.lake_rows(
                dataset::ROLLUPS,
                Some(res as i32),
                &scope.0,
                &scope.1,
                Some(key),
                lo,
                hi,
            )
            .await?,
        );
        if hi < to {
            out.extend(
                self.lake_samples(&scope.0, &scope.1, Some(key), hi, to)
                    .await?,
            );
        }
        Ok(out)
    }
}

fn times(
    b: &datafusion::arrow::record_batch::RecordBatch,
) -> Option<&datafusion::arrow::array::TimestampMillisecondArray> {
    b.column_by_name("sample_time")
        .map(|c| c.as_primitive::<TimestampMillisecondType>())
}

/// Rows with `from <= sample_time < to`.
fn in_range(
    b: &datafusion::arrow::record_batch::RecordBatch,
    from: i64,
    to: i64,
) -> sightline_lake::Result<BooleanArray> {
    let Some(t) = times(b) else {
        return Ok(BooleanArray::from(vec![false; b.num_rows()]));
    };
    Ok((0..b.num_rows())
        .map(|i| Some(!t.is_null(i) && t.value(i) >= from && t.value(i) < to))
        .collect())
}

/// Rollup rows older than their resolution's retention.
fn expired_rollups(
    b: &datafusion::arrow::record_batch::RecordBatch,
    now_ms: i64,
) -> sightline_lake::Result<BooleanArray> {
    let (Some(t), Some(r)) = (
        times(b),
        b.column_by_name("storage_resolution")
            .map(|c| c.as_primitive::<Int32Type>()),
    ) else {
        return Ok(BooleanArray::from(vec![false; b.num_rows()]));
    };
    Ok((0..b.num_rows())
        .map(|i| {
            let days = RESOLUTIONS
                .iter()
                .find(|(res, _)| *res == i64::from(r.value(i)))
                .map_or(455, |(_, d)| *d);
            Some(t.value(i) < now_ms - days * DAY_MS)
        })
        .collect())
}

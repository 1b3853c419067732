//! The retention pass: events past their group's retention, and events of deleted
//! groups, are removed from the lake's segments. Reads already leave them out; this
//! reclaims the storage.

use crate::engine::{Logs, ScopeKey, now_ms};
use crate::{Result, store};
use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use sightline_lake::datasets::logs as dataset;
use std::collections::HashMap;

impl Logs {
    /// Removes from storage the events past their group's retention and the events of
    /// deleted groups (recorded in the meta store with the deletion, so a restart
    /// between the two does not leave them behind). Reads never return either,
    /// whether or not this has run yet.
    pub async fn apply_retention(&self) -> Result<usize> {
        let now = now_ms();
        let mut plans: HashMap<ScopeKey, HashMap<String, i64>> = HashMap::new();
        {
            let state = self.state.read();
            for (k, groups) in &state.groups {
                for g in groups.values() {
                    if let Some(d) = g.info.retention_days {
                        plans
                            .entry(k.clone())
                            .or_default()
                            .insert(g.info.id.clone(), now - i64::from(d) * DAY_MS);
                    }
                }
            }
        }
        let deleted = std::mem::take(&mut *self.deleted.lock());
        for (k, ids) in &deleted {
            let plan = plans.entry(k.clone()).or_default();
            for id in ids {
                plan.insert(id.clone(), i64::MAX);
            }
        }
        let mut removed = 0;
        for ((account, region), cutoffs) in plans {
            let Some(before) = cutoffs.values().copied().max() else {
                continue;
            };
            let drop = move |b: &RecordBatch| -> sightline_lake::Result<BooleanArray> {
                expired_rows(b, &cutoffs)
            };
            match self
                .lake
                .purge(dataset::NAME, &account, &region, before, &drop)
                .await
            {
                Ok(stats) => {
                    removed += stats.rows_removed;
                    if let Some(ids) = deleted.get(&(account.clone(), region.clone())) {
                        store::forget_deleted(&self.meta, &account, &region, ids)?;
                    }
                }
                Err(e) => {
                    // Try the deleted groups again on the next pass.
                    if let Some(ids) = deleted.get(&(account.clone(), region.clone())) {
                        self.deleted
                            .lock()
                            .entry((account, region))
                            .or_default()
                            .extend(ids.iter().cloned());
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(removed)
    }
}

const DAY_MS: i64 = 86_400_000;

/// Rows whose group has a cutoff later than the row's time.
fn expired_rows(
    b: &RecordBatch,
    cutoffs: &HashMap<String, i64>,
) -> sightline_lake::Result<BooleanArray> {
    let missing = |c: &str| sightline_lake::Error::InvalidRow(format!("log events without {c}"));
    let times = b
        .column_by_name("event_time")
        .ok_or_else(|| missing("event_time"))?
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| missing("event_time"))?;
    let groups = b
        .column_by_name("group_id")
        .ok_or_else(|| missing("group_id"))?
        .as_string_view_opt()
        .ok_or_else(|| missing("group_id"))?;
    Ok((0..b.num_rows())
        .map(|i| {
            Some(
                cutoffs
                    .get(groups.value(i))
                    .is_some_and(|&cut| times.value(i) < cut),
            )
        })
        .collect())
}

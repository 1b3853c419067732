//! The recent past of every metric in memory: aggregates per storage-resolution bucket
//! (one second for high-resolution metrics, one minute otherwise) for the last
//! [`HOT_SECONDS`]. Alarms evaluate and most dashboards read from here; high-resolution
//! buckets older than three hours are rolled up into minutes, as CloudWatch keeps
//! 1-second data for three hours only. Older ranges are read from the lake.

use crate::model::{Agg, SeriesKey};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How far back memory serves queries: a day (the longest evaluation range of an
/// alarm with periods under an hour) plus slack for late datapoints.
pub const HOT_SECONDS: i64 = 26 * 3600;

/// How long 1-second buckets stay at that resolution.
pub const HIGH_RES_SECONDS: i64 = 3 * 3600;

pub type ScopeKey = (String, String);

#[derive(Debug, Default)]
pub struct Points {
    /// Bucket start (epoch seconds) → aggregate. Keys are multiples of 60 unless the
    /// bucket holds high-resolution data.
    pub buckets: BTreeMap<i64, Agg>,
}

/// The metrics of one (account, region).
type ScopeSeries = HashMap<SeriesKey, Arc<Mutex<Points>>>;

#[derive(Default)]
pub struct Hot {
    series: RwLock<HashMap<ScopeKey, ScopeSeries>>,
}

/// The bucket a sample at `time_s` falls in at `resolution` seconds.
pub fn bucket_of(time_s: i64, resolution: i64) -> i64 {
    time_s - time_s.rem_euclid(resolution.max(1))
}

impl Hot {
    fn points(&self, scope: &ScopeKey, key: &SeriesKey) -> Arc<Mutex<Points>> {
        if let Some(p) = self.series.read().get(scope).and_then(|m| m.get(key)) {
            return p.clone();
        }
        self.series
            .write()
            .entry(scope.clone())
            .or_default()
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// Adds samples of one metric: (time in seconds, resolution, aggregate).
    pub fn add(
        &self,
        scope: &ScopeKey,
        key: &SeriesKey,
        samples: impl Iterator<Item = (i64, i64, Agg)>,
    ) {
        let points = self.points(scope, key);
        let mut p = points.lock();
        for (t, resolution, agg) in samples {
            Agg::merge_at(&mut p.buckets, bucket_of(t, resolution), agg);
        }
    }

    /// The stored buckets of a metric with start in `[from, to)` (epoch seconds).
    pub fn range(&self, scope: &ScopeKey, key: &SeriesKey, from: i64, to: i64) -> Vec<(i64, Agg)> {
        let mut out = Vec::new();
        self.for_each(scope, key, from, to, |t, a| out.push((t, a.clone())));
        out
    }

    /// Calls `f` on every bucket of a metric in `[from, to)` without copying them.
    pub fn for_each(
        &self,
        scope: &ScopeKey,
        key: &SeriesKey,
        from: i64,
        to: i64,
        mut f: impl FnMut(i64, &Agg),
    ) {
        let points = {
            let map = self.series.read();
            match map.get(scope).and_then(|m| m.get(key)) {
                Some(p) => p.clone(),
                None => return,
            }
        };
        let p = points.lock();
        for (t, a) in p.buckets.range(from..to.max(from)) {
            f(*t, a);
        }
    }

    /// Drops buckets older than the hot window and rolls high-resolution buckets past
    /// three hours up into minutes.
    pub fn maintain(&self, now_s: i64) {
        let keep_from = now_s - HOT_SECONDS;
        let fine_from = now_s - HIGH_RES_SECONDS;
        let all: Vec<Arc<Mutex<Points>>> = self
            .series
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        for points in all {
            let mut p = points.lock();
            p.buckets = p.buckets.split_off(&keep_from);
            let old: Vec<i64> = p
                .buckets
                .range(..fine_from)
                .filter(|(t, _)| t.rem_euclid(60) != 0)
                .map(|(t, _)| *t)
                .collect();
            for t in old {
                if let Some(agg) = p.buckets.remove(&t) {
                    Agg::merge_at(&mut p.buckets, bucket_of(t, 60), agg);
                }
            }
        }
    }

    pub fn remove_scope(&self, scope: &ScopeKey) {
        self.series.write().remove(scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_resolution_buckets_roll_up_into_minutes_after_three_hours() {
        let hot = Hot::default();
        let scope = ("1".to_owned(), "r".to_owned());
        let key = SeriesKey::new("ns", "m", &[]);
        let now = 1_000_000_020;
        let old = now - HIGH_RES_SECONDS - 600;
        let minute = bucket_of(old, 60);
        hot.add(
            &scope,
            &key,
            (0..10).map(|i| (minute + i, 1, Agg::single(i as f64, None))),
        );
        hot.add(&scope, &key, [(now, 1, Agg::single(5.0, None))].into_iter());
        hot.maintain(now);
        let got = hot.range(&scope, &key, 0, i64::MAX);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, minute);
        assert_eq!(got[0].1.count, 10.0);
        assert_eq!(got[0].1.sum, 45.0);
        assert_eq!(got[1].0, now);
    }

    #[test]
    fn buckets_past_the_window_are_dropped() {
        let hot = Hot::default();
        let scope = ("1".to_owned(), "r".to_owned());
        let key = SeriesKey::new("ns", "m", &[("a".into(), "b".into())]);
        let now = 2_000_000_000;
        hot.add(
            &scope,
            &key,
            [(now - HOT_SECONDS - 60, 60, Agg::single(1.0, None))].into_iter(),
        );
        hot.maintain(now);
        assert!(hot.range(&scope, &key, 0, i64::MAX).is_empty());
    }
}

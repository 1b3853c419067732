//! The CloudWatch engine: metric catalog, the in-memory recent window, alarms and
//! dashboards in memory (written through to SQLite), and the background task that
//! evaluates alarms and maintains the window.

use crate::hot::{HOT_SECONDS, Hot, ScopeKey};
use crate::model::{Agg, Alarm, Dashboard, SeriesKey, Tag};
use crate::sketch::Sketch;
use crate::{Result, store};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int32Type, TimestampMillisecondType};
use datafusion::prelude::{col, lit};
use parking_lot::{Mutex, RwLock};
use sightline_core::{EventPublisher, Scope, TopicPublisher};
use sightline_lake::Lake;
use sightline_lake::datasets::metrics as dataset;
use sightline_meta::Meta;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    /// Evaluation interval of alarms with periods under a minute (CloudWatch: 10 s).
    pub fast_interval: Duration,
    /// Evaluation interval of the others (CloudWatch: a minute).
    pub slow_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fast_interval: Duration::from_secs(10),
            slow_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AlarmEntry {
    pub alarm: Alarm,
    pub tags: Vec<Tag>,
    /// When the evaluator last looked at it (epoch ms); not persisted.
    pub evaluated_ms: i64,
}

/// Dashboards by account, then by name, with their tags.
pub(crate) type Dashboards = HashMap<String, BTreeMap<String, (Dashboard, Vec<Tag>)>>;

#[derive(Debug, Clone, Copy)]
pub(crate) struct CatalogEntry {
    pub last_seen: i64,
    pub saved: i64,
}

pub struct CloudWatch {
    pub(crate) meta: Arc<Meta>,
    pub(crate) lake: Arc<Lake>,
    pub(crate) hot: Hot,
    pub(crate) catalog: RwLock<HashMap<ScopeKey, BTreeMap<SeriesKey, CatalogEntry>>>,
    pub(crate) alarms: RwLock<HashMap<ScopeKey, BTreeMap<String, AlarmEntry>>>,
    /// Serializes alarm changes (API and evaluator) so neither overwrites the other.
    pub(crate) alarm_writes: tokio::sync::Mutex<()>,
    pub(crate) dashboards: RwLock<Dashboards>,
    pub(crate) events: Arc<dyn EventPublisher>,
    pub(crate) topics: Arc<dyn TopicPublisher>,
    pub(crate) options: Options,
    /// Catalog rows to save at the next maintenance tick.
    pub(crate) touched: Mutex<Vec<(String, String, SeriesKey, i64)>>,
    /// How far each scope's samples are rolled up in the lake, and the hours that
    /// received late samples after they were.
    pub(crate) rollups: RwLock<HashMap<ScopeKey, crate::rollup::RollupState>>,
}

pub(crate) fn scope_key(scope: &Scope) -> ScopeKey {
    (scope.account_id.clone(), scope.region.clone())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl CloudWatch {
    /// Opens the engine and loads the recent window from the lake before returning,
    /// so alarms never evaluate a window that is still being reloaded.
    pub async fn open(
        meta: Arc<Meta>,
        lake: Arc<Lake>,
        events: Arc<dyn EventPublisher>,
        topics: Arc<dyn TopicPublisher>,
        options: Options,
    ) -> Result<Arc<CloudWatch>> {
        store::migrate(&meta)?;
        let mut catalog: HashMap<ScopeKey, BTreeMap<SeriesKey, CatalogEntry>> = HashMap::new();
        for (account, region, key, seen) in store::load_metrics(&meta)? {
            catalog.entry((account, region)).or_default().insert(
                key,
                CatalogEntry {
                    last_seen: seen,
                    saved: seen,
                },
            );
        }
        let mut alarms: HashMap<ScopeKey, BTreeMap<String, AlarmEntry>> = HashMap::new();
        for s in store::load_alarms(&meta)? {
            alarms.entry((s.account, s.region)).or_default().insert(
                s.alarm.name().to_owned(),
                AlarmEntry {
                    alarm: s.alarm,
                    tags: s.tags,
                    evaluated_ms: 0,
                },
            );
        }
        let mut dashboards = Dashboards::new();
        for (account, d, tags) in store::load_dashboards(&meta)? {
            dashboards
                .entry(account)
                .or_default()
                .insert(d.name.clone(), (d, tags));
        }
        let cw = Arc::new(CloudWatch {
            meta,
            lake,
            hot: Hot::default(),
            catalog: RwLock::new(catalog),
            alarms: RwLock::new(alarms),
            alarm_writes: tokio::sync::Mutex::new(()),
            dashboards: RwLock::new(dashboards),
            events,
            topics,
            options,
            touched: Mutex::new(Vec::new()),
            rollups: RwLock::new(HashMap::new()),
        });
        cw.warm().await?;
        *cw.rollups.write() = store::load_rollups(&cw.meta)?;
        Ok(cw)
    }

    /// Reloads the recent window of every (account, region) with metrics.
    async fn warm(&self) -> Result<()> {
        let scopes: Vec<ScopeKey> = self.catalog.read().keys().cloned().collect();
        let now = now_ms();
        let mut rows = 0usize;
        for (account, region) in scopes {
            let from = now - HOT_SECONDS * 1000;
            let samples = self
                .lake_samples(&account, &region, None, from, now + 3 * 3600 * 1000)
                .await?;
            rows += samples.len();
            let scope = (account, region);
            for (key, list) in samples.into_iter().fold(
                HashMap::<SeriesKey, Vec<(i64, i64, Agg)>>::new(),
                |mut m, (k, t, r, a)| {
                    m.entry(k).or_default().push((t, r, a));
                    m
                },
            ) {
                self.hot.add(&scope, &key, list.into_iter());
            }
        }
        self.hot.maintain(now / 1000);
        tracing::info!(samples = rows, "metrics window loaded");
        Ok(())
    }

    /// Samples from the lake in `[from_ms, to_ms)`, of one metric or of all:
    /// (metric, time in seconds, resolution, aggregate).
    pub(crate) async fn lake_samples(
        &self,
        account: &str,
        region: &str,
        key: Option<&SeriesKey>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(SeriesKey, i64, i64, Agg)>> {
        self.lake_rows(dataset::NAME, None, account, region, key, from_ms, to_ms)
            .await
    }

    /// Rows of `metric_samples` or `metric_rollups` (of one resolution) in
    /// `[from_ms, to_ms)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn lake_rows(
        &self,
        name: &str,
        resolution: Option<i32>,
        account: &str,
        region: &str,
        key: Option<&SeriesKey>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(SeriesKey, i64, i64, Agg)>> {
        let table = self
            .lake
            .snapshot(name, account, Some(region), from_ms, to_ms)
            .await?;
        let ctx = self.lake.lookup_context();
        let mut df = ctx.read_table(Arc::new(table))?;
        let ts = |ms: i64| {
            lit(datafusion::scalar::ScalarValue::TimestampMillisecond(
                Some(ms),
                Some("UTC".into()),
            ))
        };
        let mut filter = col("sample_time")
            .gt_eq(ts(from_ms))
            .and(col("sample_time").lt(ts(to_ms)));
        if let Some(r) = resolution {
            filter = filter.and(col("storage_resolution").eq(lit(r)));
        }
        if let Some(k) = key {
            filter = filter
                .and(col("namespace").eq(lit(&*k.namespace)))
                .and(col("metric_name").eq(lit(&*k.name)))
                .and(col("dimensions").eq(lit(&*k.dims)));
        }
        df = df.filter(filter)?.select_columns(&[
            "sample_time",
            "namespace",
            "metric_name",
            "dimensions",
            "sum",
            "count",
            "min",
            "max",
            "unit",
            "storage_resolution",
            "sketch",
        ])?;
        let batches = df.collect().await?;
        let mut out = Vec::new();
        let mut units: HashMap<String, Arc<str>> = HashMap::new();
        for b in &batches {
            let time = b.column(0).as_primitive::<TimestampMillisecondType>();
            let ns = b.column(1).as_string_view();
            let name = b.column(2).as_string_view();
            let dims = b.column(3).as_string_view();
            let nums: Vec<_> = (4..8)
                .map(|i| b.column(i).as_primitive::<Float64Type>())
                .collect();
            let unit = b.column(8).as_string_view();
            let res = b.column(9).as_primitive::<Int32Type>();
            let sketch = b.column(10).as_binary::<i32>();
            let mut last: Option<SeriesKey> = None;
            for i in 0..b.num_rows() {
                let k = match &last {
                    Some(k)
                        if *k.namespace == *ns.value(i)
                            && *k.name == *name.value(i)
                            && *k.dims == *dims.value(i) =>
                    {
                        k.clone()
                    }
                    _ => {
                        let k = SeriesKey {
                            namespace: ns.value(i).into(),
                            name: name.value(i).into(),
                            dims: dims.value(i).into(),
                        };
                        last = Some(k.clone());
                        k
                    }
                };
                let u = (!unit.is_null(i)).then(|| {
                    units
                        .entry(unit.value(i).to_owned())
                        .or_insert_with(|| unit.value(i).into())
                        .clone()
                });
                let sk = (!sketch.is_null(i))
                    .then(|| Sketch::from_bytes(sketch.value(i)))
                    .flatten();
                let (sum, count, min, max) = (
                    nums[0].value(i),
                    nums[1].value(i),
                    nums[2].value(i),
                    nums[3].value(i),
                );
                let percentiles = sk.is_some() || count == 1.0 || min == max;
                out.push((
                    k,
                    time.value(i).div_euclid(1000),
                    i64::from(res.value(i)),
                    Agg {
                        sum,
                        count,
                        min,
                        max,
                        sketch: sk.map(Box::new),
                        percentiles,
                        unit: u,
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Notes metrics that received data, for ListMetrics (saved in the background).
    pub(crate) fn touch(&self, scope: &ScopeKey, keys: &[SeriesKey], seen_ms: i64) {
        let mut fresh = Vec::new();
        {
            let cat = self.catalog.read();
            let known = cat.get(scope);
            for k in keys {
                match known.and_then(|m| m.get(k)) {
                    Some(e) if e.last_seen >= seen_ms - 60_000 => {}
                    _ => fresh.push(k),
                }
            }
        }
        if fresh.is_empty() {
            return;
        }
        let mut new_rows = Vec::new();
        {
            let mut cat = self.catalog.write();
            let m = cat.entry(scope.clone()).or_default();
            let mut touched = self.touched.lock();
            for k in fresh {
                let e = m.entry(k.clone()).or_insert(CatalogEntry {
                    last_seen: seen_ms,
                    saved: 0,
                });
                e.last_seen = e.last_seen.max(seen_ms);
                let row = (scope.0.clone(), scope.1.clone(), k.clone(), e.last_seen);
                if e.saved == 0 {
                    new_rows.push(row);
                    e.saved = e.last_seen;
                } else if e.last_seen - e.saved > 3_600_000 {
                    // Known metrics refresh their last-seen time hourly, in the background.
                    touched.push(row);
                    e.saved = e.last_seen;
                }
            }
        }
        // A new metric is recorded before its samples are acknowledged, so a restart
        // reloads and lists it.
        if let Err(e) = store::touch_metrics(&self.meta, &new_rows) {
            tracing::warn!(error = %e, "saving new metrics failed");
            self.touched.lock().extend(new_rows);
        }
    }

    pub(crate) fn save_catalog(&self) {
        let rows = std::mem::take(&mut *self.touched.lock());
        if let Err(e) = store::touch_metrics(&self.meta, &rows) {
            tracing::warn!(error = %e, "saving the metric catalog failed");
            self.touched.lock().extend(rows);
        }
    }

    /// The background task: alarm evaluation at the fast interval (slow alarms when
    /// their interval has passed), window maintenance and catalog saving every minute.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let cw = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(cw.options.fast_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut maintenance = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        cw.save_catalog();
                        if let Err(e) = cw.evaluate_due(now_ms()).await {
                            tracing::warn!(error = %e, "alarm evaluation failed");
                        }
                    }
                    _ = maintenance.tick() => {
                        let now = now_ms();
                        cw.hot.maintain(now / 1000);
                        if let Err(e) = cw.roll_up(now).await {
                            tracing::warn!(error = %e, "metric rollup failed");
                        }
                        if let Err(e) = store::trim_history(&cw.meta, now - 30 * 86_400_000) {
                            tracing::warn!(error = %e, "trimming alarm history failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
            cw.save_catalog();
        })
    }
}

//! The lake: durable, append-only, time-ordered telemetry. Appends go to a write-ahead
//! log (fsynced, group commit) and an in-memory buffer, then to immutable Parquet
//! segments partitioned by dataset/account/region/hour and registered in a catalog in
//! meta. DataFusion queries read segments and buffer together, one account at a time.

pub mod buffer;
pub mod catalog;
pub mod dataset;
pub mod datasets;
pub mod dict_count;
pub mod grams;
mod indexer;
pub mod newest;
pub mod purge;
pub mod query;
pub mod seal;
pub mod segment;
pub mod sink;
pub mod store;
pub mod table;
pub mod wal;
mod wal_file;

use buffer::{Buffer, PartitionKey, Prepared};
use catalog::Segment;
pub use dataset::{Dataset, Row, RowRef};
use object_store::{ObjectStore, ObjectStoreExt};
use parking_lot::Mutex;
use sightline_core::Scope;
use sightline_meta::Meta;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::SegmentStore;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("meta: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("arrow: {0}")]
    Arrow(String),
    #[error("parquet: {0}")]
    Parquet(String),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("query: {0}")]
    Query(String),
    #[error("invalid row: {0}")]
    InvalidRow(String),
    #[error("unknown dataset {0}")]
    UnknownDataset(String),
    #[error("wal: {0}")]
    Wal(String),
    #[error("the lake is closed")]
    Closed,
    #[error("configuration: {0}")]
    Config(String),
}

/// Parquet metadata kept in memory across queries (footers and page indexes).
const METADATA_CACHE_BYTES: usize = 256 << 20;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::Query(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Flush the buffer at least this often.
    pub flush_interval: Duration,
    /// ... and whenever it holds this many rows
    pub flush_rows: usize,
    /// ... or this many bytes of Arrow memory (what bounds the server's memory under
    /// load: small records and large ones fill it at different row counts).
    pub flush_bytes: usize,
    /// Compact a partition once it has this many small segments (under half of
    /// `compact_max_rows`).
    pub compact_segments: usize,
    /// Rows of one merged segment at most. A merge holds its rows in memory and is
    /// paid again for every row it rewrites, so merges take small segments only: merging
    /// a whole partition each time, a server under load rewrote hours of events every
    /// few seconds and held them in memory while it did (tens of GB).
    pub compact_max_rows: usize,
    /// Replaced segments are deleted this long after, so running queries finish.
    pub delete_grace: Duration,
    /// Drop hourly partitions older than this many days (all datasets); None keeps all.
    pub retention_days: Option<u32>,
    /// Seal a partition this long after its hour ended (None: never). Stragglers that
    /// arrive later are sealed on a later round.
    pub seal_after: Option<Duration>,
    /// zstd level of free text in sealed segments.
    pub seal_level: i32,
    /// Rows of one sealed segment at most: what the sealer holds in memory at once.
    pub seal_rows: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flush_interval: Duration::from_secs(60),
            flush_rows: 500_000,
            flush_bytes: 128 << 20,
            compact_segments: 8,
            compact_max_rows: 1 << 20,
            delete_grace: Duration::from_secs(60),
            retention_days: None,
            seal_after: Some(Duration::from_secs(600)),
            seal_level: 19,
            seal_rows: 1 << 20,
        }
    }
}

pub struct Lake {
    meta: Arc<Meta>,
    store: SegmentStore,
    wal_dir: PathBuf,
    datasets: HashMap<&'static str, Arc<dyn Dataset>>,
    buffer: Arc<Mutex<Buffer>>,
    writer: wal::Writer,
    /// Held for reading while a query snapshots catalog and buffer, for writing while a
    /// flush or compaction swaps rows between them, so no query sees a row twice.
    view: tokio::sync::RwLock<()>,
    maintenance: tokio::sync::Mutex<()>,
    pending_deletes: Mutex<Vec<(Instant, String)>>,
    flush_wanted: tokio::sync::Notify,
    /// Wakes the indexer when flushes or merges add hot segments.
    index_wanted: tokio::sync::Notify,
    options: Options,
    /// Shared by every query, so Parquet footers and page indexes (segments never
    /// change) are read once and cached, not on every query.
    runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushStats {
    pub segments: usize,
    pub rows: usize,
    pub bytes: usize,
}

impl Lake {
    /// Opens the lake, replaying the WAL into the buffer (cutting a torn tail) and
    /// removing segment files a crash left outside the catalog.
    pub async fn open(
        data_dir: &std::path::Path,
        store: SegmentStore,
        meta: Arc<Meta>,
        options: Options,
    ) -> Result<Arc<Lake>> {
        catalog::migrate(&meta)?;
        let wal_dir = data_dir.join("lake").join("wal");
        std::fs::create_dir_all(&wal_dir)?;
        let datasets: HashMap<&'static str, Arc<dyn Dataset>> =
            datasets::all().into_iter().map(|d| (d.name(), d)).collect();
        let flushed = catalog::flushed_through(&meta)?;
        let buffer = Arc::new(Mutex::new(Buffer::default()));
        let mut last = flushed;
        let mut replayed = 0usize;
        for (generation, path) in wal::list(&wal_dir)? {
            if generation <= flushed {
                std::fs::remove_file(&path)?;
                continue;
            }
            last = last.max(generation);
            for entry in wal::replay(&path)?.entries {
                let dataset = datasets
                    .get(entry.dataset.as_str())
                    .ok_or_else(|| Error::UnknownDataset(entry.dataset.clone()))?;
                let texts: Option<Vec<(i64, &str)>> = entry
                    .rows
                    .iter()
                    .map(|(t, j)| Some(((*t)?, std::str::from_utf8(j).ok()?)))
                    .collect();
                if let Some(texts) = texts {
                    replayed += texts.len();
                    let prepared =
                        prepare_json(dataset.as_ref(), &entry.account, &entry.region, &texts)?;
                    buffer.lock().insert(generation, prepared);
                    continue;
                }
                let docs: Vec<serde_json::Value> = entry
                    .rows
                    .iter()
                    .map(|(_, r)| {
                        serde_json::from_slice(r).map_err(|e| Error::InvalidRow(e.to_string()))
                    })
                    .collect::<Result<_>>()?;
                let refs: Vec<RowRef<'_>> = entry
                    .rows
                    .iter()
                    .zip(&docs)
                    .map(|((time_ms, json), doc)| {
                        let time_ms = match time_ms {
                            Some(t) => *t,
                            None => dataset.document_time(doc)?,
                        };
                        Ok(RowRef {
                            time_ms,
                            doc,
                            json: std::str::from_utf8(json)
                                .map_err(|e| Error::InvalidRow(e.to_string()))?,
                        })
                    })
                    .collect::<Result<_>>()?;
                replayed += refs.len();
                let prepared = prepare(dataset.as_ref(), &entry.account, &entry.region, &refs)?;
                buffer.lock().insert(generation, prepared);
            }
        }
        if replayed > 0 {
            tracing::info!(rows = replayed, "wal replayed");
        }
        let writer = wal::Writer::start(wal_dir.clone(), last + 1, buffer.clone())?;
        let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_metadata_cache_limit(METADATA_CACHE_BYTES)
            .build_arc()?;
        runtime.register_object_store(store.url.as_ref(), store.store.clone());
        let lake = Arc::new(Lake {
            meta,
            store,
            wal_dir,
            datasets,
            buffer,
            writer,
            view: tokio::sync::RwLock::new(()),
            maintenance: tokio::sync::Mutex::new(()),
            pending_deletes: Mutex::new(Vec::new()),
            flush_wanted: tokio::sync::Notify::new(),
            index_wanted: tokio::sync::Notify::new(),
            options,
            runtime,
        });
        lake.remove_orphans().await?;
        Ok(lake)
    }

    pub fn dataset(&self, name: &str) -> Result<&Arc<dyn Dataset>> {
        self.datasets
            .get(name)
            .ok_or_else(|| Error::UnknownDataset(name.to_owned()))
    }

    pub fn datasets(&self) -> impl Iterator<Item = &Arc<dyn Dataset>> {
        self.datasets.values()
    }

    /// A DataFusion session over the lake's store and shared caches.
    pub fn context(
        &self,
        config: datafusion::prelude::SessionConfig,
    ) -> datafusion::prelude::SessionContext {
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(self.runtime.clone())
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(dict_count::DictionaryCount))
            .build();
        datafusion::prelude::SessionContext::new_with_state(state)
    }

    pub fn store(&self) -> &SegmentStore {
        &self.store
    }

    pub fn meta(&self) -> &Arc<Meta> {
        &self.meta
    }

    /// Appends rows of one (account, region); returns once they are durable and visible.
    pub async fn append(&self, dataset: &str, scope: &Scope, rows: Vec<Row>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ds = self.dataset(dataset)?;
        let mut frame =
            wal::FrameBuilder::new(dataset, &scope.account_id, &scope.region, rows.len() * 1280)?;
        for r in &rows {
            frame.push(r.time_ms, &r.doc)?;
        }
        let frame = frame.finish()?;
        let refs: Vec<RowRef<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (time_ms, json) = frame
                    .row(i)
                    .ok_or_else(|| Error::InvalidRow("row outside its frame".into()))?;
                Ok(RowRef {
                    time_ms,
                    doc: &r.doc,
                    json,
                })
            })
            .collect::<Result<_>>()?;
        let prepared = prepare(ds.as_ref(), &scope.account_id, &scope.region, &refs)?;
        drop(refs);
        self.commit_frame(frame.bytes, prepared).await
    }

    /// Appends rows that write their own WAL text (no document is built): the text
    /// goes into the WAL frame and, for datasets that read it directly, into the
    /// columns; returns once the rows are durable and visible.
    pub async fn append_encoded<R: EncodeRow>(
        &self,
        dataset: &str,
        scope: &Scope,
        rows: &[R],
        size_hint: usize,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ds = self.dataset(dataset)?;
        let mut frame =
            wal::FrameBuilder::new(dataset, &scope.account_id, &scope.region, size_hint)?;
        for r in rows {
            frame.push_with(r.time_ms(), |buf| r.encode(buf))?;
        }
        let frame = frame.finish()?;
        // The columns come from the rows themselves; the text is for the WAL (replay
        // reads it back through the dataset).
        let prepared = prepare_encoded(ds.name(), &scope.account_id, &scope.region, rows)?;
        self.commit_frame(frame.bytes, prepared).await
    }

    /// Writes a frame (durable on return) with its rows, and asks for a flush when the
    /// buffer is full.
    async fn commit_frame(&self, frame: Vec<u8>, prepared: Prepared) -> Result<()> {
        self.writer.append(frame, prepared).await?;
        let full = {
            let b = self.buffer.lock();
            b.rows() >= self.options.flush_rows || b.bytes() >= self.options.flush_bytes
        };
        if full {
            self.flush_wanted.notify_one();
        }
        Ok(())
    }

    /// Moves every acknowledged row into segments.
    pub async fn flush(&self) -> Result<FlushStats> {
        let _m = self.maintenance.lock().await;
        let generation = self.writer.rotate().await?;
        let parts = self.buffer.lock().up_to(generation);
        let mut added = Vec::new();
        let mut stats = FlushStats::default();
        for (i, (key, batches)) in parts.into_iter().enumerate() {
            let ds = self.dataset(&key.dataset)?.clone();
            let rel = format!(
                "{}/{generation:016x}-{i:04}.parquet",
                segment::partition_dir(&key)
            );
            let seg = self
                .write_segment(ds, key, batches, rel, segment::Profile::Hot)
                .await?;
            stats.segments += 1;
            stats.rows += seg.rows as usize;
            stats.bytes += seg.bytes as usize;
            added.push(seg);
        }
        {
            let _v = self.view.write().await;
            catalog::commit(&self.meta, &added, &[], Some(generation))?;
            self.buffer.lock().remove_up_to(generation);
        }
        if !added.is_empty() {
            self.index_wanted.notify_one();
        }
        for (g, path) in wal::list(&self.wal_dir)? {
            if g <= generation {
                std::fs::remove_file(path)?;
            }
        }
        if stats.segments > 0 {
            tracing::debug!(
                segments = stats.segments,
                rows = stats.rows,
                bytes = stats.bytes,
                "lake flushed"
            );
        }
        Ok(stats)
    }

    async fn write_segment(
        &self,
        ds: Arc<dyn Dataset>,
        key: PartitionKey,
        batches: Vec<datafusion::arrow::record_batch::RecordBatch>,
        rel: String,
        profile: segment::Profile,
    ) -> Result<Segment> {
        let work = move || -> Result<_> {
            let schema = ds.schema();
            let sorted = segment::in_time_order(&schema, ds.time_column(), batches)?;
            let bytes = segment::encode(&sorted, &schema, ds.column_hints(), profile)?;
            Ok((sorted, bytes::Bytes::from(bytes)))
        };
        let (sorted, bytes) = match profile {
            segment::Profile::Hot => tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| Error::Wal(e.to_string()))??,
            segment::Profile::Sealed { .. } => seal::on_idle_thread("lake-sealer", work).await??,
        };
        let len = bytes.len();
        self.store
            .store
            .put(&self.store.object_path(&rel), bytes.into())
            .await?;
        let time_column = self.dataset(&key.dataset)?.time_column();
        segment::describe(&key, rel, &sorted, time_column, len)
    }

    /// Deletes a segment and its index, either of which may be gone already.
    async fn delete_segment(&self, rel: &str) -> Result<()> {
        for p in [rel.to_owned(), segment::grams_path(rel)] {
            match self.store.store.delete(&self.store.object_path(&p)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Merges the small segments of partitions that gathered many of them, into
    /// segments of at most `compact_max_rows` rows. Sealed segments are left alone:
    /// rewriting them at the hot profile would undo the sealer's work (see `seal`).
    pub async fn compact(&self) -> Result<usize> {
        let _m = self.maintenance.lock().await;
        let max_rows = self.options.compact_max_rows.max(2);
        let groups = catalog::by_partition(
            catalog::all_segments(&self.meta)?
                .into_iter()
                .filter(|s| !segment::is_sealed(&s.path))
                .filter(|s| (s.rows.max(0) as usize) < max_rows / 2),
        );
        let mut merged = 0;
        for (key, mut small) in groups {
            if small.len() < self.options.compact_segments {
                continue;
            }
            small.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
            for run in merge_runs(&small, max_rows) {
                let mut batches = Vec::new();
                for s in run {
                    batches.extend(self.read_segment(&s.path).await?);
                }
                let ds = self.dataset(&key.dataset)?.clone();
                let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
                let rel = format!("{}/c{stamp:016x}.parquet", segment::partition_dir(&key));
                let seg = self
                    .write_segment(ds, key.clone(), batches, rel, segment::Profile::Hot)
                    .await?;
                let removed: Vec<String> = run.iter().map(|s| s.path.clone()).collect();
                self.replace_segments(&[seg], removed).await?;
                merged += 1;
            }
        }
        if merged > 0 {
            self.index_wanted.notify_one();
        }
        self.delete_expired().await?;
        Ok(merged)
    }

    /// Commits `added` in place of `removed` (under the view lock, so no query sees
    /// both), and deletes the removed files once running queries are done with them.
    async fn replace_segments(&self, added: &[Segment], removed: Vec<String>) -> Result<()> {
        {
            let _v = self.view.write().await;
            catalog::commit(&self.meta, added, &removed, None)?;
        }
        let now = Instant::now();
        self.pending_deletes
            .lock()
            .extend(removed.into_iter().map(|p| (now, p)));
        Ok(())
    }

    async fn read_segment(
        &self,
        rel: &str,
    ) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
        let bytes = self
            .store
            .store
            .get(&self.store.object_path(rel))
            .await?
            .bytes()
            .await?;
        tokio::task::spawn_blocking(move || -> Result<_> {
            let reader =
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    bytes,
                )
                .map_err(|e| Error::Parquet(e.to_string()))?
                .build()
                .map_err(|e| Error::Parquet(e.to_string()))?;
            reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Arrow(e.to_string()))
        })
        .await
        .map_err(|e| Error::Wal(e.to_string()))?
    }

    async fn delete_expired(&self) -> Result<()> {
        let due: Vec<String> = {
            let mut pending = self.pending_deletes.lock();
            let grace = self.options.delete_grace;
            let (due, keep): (Vec<_>, Vec<_>) =
                pending.drain(..).partition(|(t, _)| t.elapsed() >= grace);
            *pending = keep;
            due.into_iter().map(|(_, p)| p).collect()
        };
        for p in due {
            self.delete_segment(&p).await?;
        }
        Ok(())
    }

    /// Drops whole hourly partitions of a dataset older than `days`.
    pub async fn retain(&self, dataset: &str, days: u32) -> Result<usize> {
        let _m = self.maintenance.lock().await;
        let cutoff_hour = (chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
            .timestamp()
            .div_euclid(3600);
        let old: Vec<String> = catalog::all_segments(&self.meta)?
            .into_iter()
            .filter(|s| s.dataset == dataset && s.hour < cutoff_hour)
            .map(|s| s.path)
            .collect();
        {
            let _v = self.view.write().await;
            catalog::commit(&self.meta, &[], &old, None)?;
            self.buffer.lock().remove_before(dataset, cutoff_hour);
        }
        let now = Instant::now();
        let n = old.len();
        self.pending_deletes
            .lock()
            .extend(old.into_iter().map(|p| (now, p)));
        self.delete_expired().await?;
        Ok(n)
    }

    /// Segment files that no catalog entry names (a crash between writing a segment and
    /// committing it) are removed; their rows are still in the WAL.
    async fn remove_orphans(&self) -> Result<()> {
        use futures::TryStreamExt;
        let known: std::collections::HashSet<String> = catalog::all_segments(&self.meta)?
            .into_iter()
            .map(|s| self.store.object_path(&s.path).to_string())
            .collect();
        let prefix = self.store.object_path("");
        let prefix = if self.store.root.is_empty() {
            None
        } else {
            Some(&prefix)
        };
        let objects: Vec<_> = self.store.store.list(prefix).try_collect().await?;
        for o in objects {
            let p = o.location.to_string();
            // An index belongs to the segment of the same name.
            let segment = match p.strip_suffix(".grams") {
                Some(stem) => format!("{stem}.parquet"),
                None => p.clone(),
            };
            if segment.ends_with(".parquet") && !known.contains(&segment) {
                tracing::warn!(path = %p, "removing segment file not in the catalog");
                self.store.store.delete(&o.location).await?;
            }
        }
        Ok(())
    }

    /// Runs flushes on the interval and when the buffer grows, then compaction.
    pub fn spawn_maintenance(
        self: &Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let lake = Arc::clone(self);
        let sealer = self
            .options
            .seal_after
            .map(|_| self.spawn_sealer(stop.clone()));
        let indexer = self.spawn_indexer(stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(lake.options.flush_interval) => {}
                    _ = lake.flush_wanted.notified() => {}
                    _ = stop.changed() => break,
                }
                if let Err(e) = lake.flush().await {
                    tracing::error!(error = %e, "lake flush failed");
                }
                // A stop waits for the flush in progress, not for compaction: the WAL
                // keeps whatever was not flushed.
                if *stop.borrow() {
                    break;
                }
                if let Err(e) = lake.compact().await {
                    tracing::error!(error = %e, "lake compaction failed");
                }
                if let Some(days) = lake.options.retention_days {
                    let names: Vec<&'static str> = lake.datasets().map(|d| d.name()).collect();
                    for name in names {
                        match lake.retain(name, days).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(
                                dataset = name,
                                segments = n,
                                days,
                                "retention dropped partitions"
                            ),
                            Err(e) => {
                                tracing::error!(error = %e, dataset = name, "retention failed")
                            }
                        }
                    }
                }
            }
            // A seal cut short leaves at most a file outside the catalog, which the
            // next open removes; its partition is sealed again later.
            // Likewise an index cut short: its segment is indexed again later.
            for task in sealer.into_iter().chain([indexer]) {
                task.abort();
                let _ = task.await;
            }
        })
    }

    /// Stops the WAL writer after every queued append is durable.
    pub fn close(&self) {
        self.writer.close();
    }

    /// A consistent snapshot of one account's segments and buffered rows for a dataset,
    /// in one region or all of them.
    /// Every (account, region) with rows of `dataset`, flushed or buffered.
    pub fn scopes(&self, dataset: &str) -> Result<Vec<(String, String)>> {
        let mut out = catalog::scopes(&self.meta, dataset)?;
        out.extend(self.buffer.lock().scopes(dataset));
        out.sort();
        out.dedup();
        Ok(out)
    }

    pub async fn snapshot(
        &self,
        dataset: &str,
        account: &str,
        region: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<table::ScopedTable> {
        let ds = self.dataset(dataset)?;
        let _v = self.view.read().await;
        let mut segments = catalog::segments(&self.meta, dataset, account, from, to)?;
        if let Some(r) = region {
            segments.retain(|s| s.region == r);
        }
        let buffered = self
            .buffer
            .lock()
            .batches(dataset, account)
            .into_iter()
            .filter(|(k, _)| region.is_none_or(|r| k.region == r))
            .map(|(_, b)| b)
            .collect();
        Ok(table::ScopedTable {
            schema: ds.schema(),
            time_column: ds.time_column(),
            store: self.store.clone(),
            segments,
            buffered,
            needles: Vec::new(),
        })
    }

    pub fn buffered_rows(&self) -> usize {
        self.buffer.lock().rows()
    }
}

/// Consecutive runs of segments to merge, each of at most `max_rows` rows and at least
/// two segments (one alone would only be rewritten).
fn merge_runs(segments: &[Segment], max_rows: usize) -> Vec<&[Segment]> {
    let mut runs = Vec::new();
    let (mut start, mut rows) = (0, 0usize);
    for (i, s) in segments.iter().enumerate() {
        let n = s.rows.max(0) as usize;
        if i > start && rows + n > max_rows {
            if i - start >= 2 {
                runs.push(&segments[start..i]);
            }
            (start, rows) = (i, 0);
        }
        rows += n;
    }
    if segments.len() - start >= 2 {
        runs.push(&segments[start..]);
    }
    runs
}

/// A row that writes its own WAL text (JSON, or a form of its dataset's own, which the
/// dataset reads back on replay) and builds its dataset's columns directly, for
/// [`Lake::append_encoded`].
pub trait EncodeRow: Sized {
    fn time_ms(&self) -> i64;
    fn encode(&self, out: &mut Vec<u8>) -> Result<()>;
    fn batch(
        rows: &[&Self],
        account: &str,
        region: &str,
    ) -> Result<datafusion::arrow::record_batch::RecordBatch>;
}

/// Encoded rows by hour, as batches.
fn prepare_encoded<R: EncodeRow>(
    dataset: &str,
    account: &str,
    region: &str,
    rows: &[R],
) -> Result<Prepared> {
    let mut by_hour: BTreeMap<i64, Vec<&R>> = BTreeMap::new();
    for r in rows {
        by_hour
            .entry(r.time_ms().div_euclid(3_600_000))
            .or_default()
            .push(r);
    }
    let mut prepared = Prepared::default();
    for (hour, group) in by_hour {
        let key = PartitionKey {
            dataset: dataset.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            hour,
        };
        prepared
            .batches
            .push((key, R::batch(&group, account, region)?));
    }
    Ok(prepared)
}

/// Rows given as (time, JSON text), by hour, as batches: through the dataset's text
/// reader when it has one, else through parsed documents.
fn prepare_json(
    ds: &dyn Dataset,
    account: &str,
    region: &str,
    rows: &[(i64, &str)],
) -> Result<Prepared> {
    let hour = |t: i64| t.div_euclid(3_600_000);
    let key = |hour| PartitionKey {
        dataset: ds.name().to_owned(),
        account: account.to_owned(),
        region: region.to_owned(),
        hour,
    };
    let batch = |group: &[(i64, &str)]| -> Result<datafusion::arrow::record_batch::RecordBatch> {
        if let Some(b) = ds.to_batch_from_json(account, region, group) {
            return b;
        }
        let docs: Vec<serde_json::Value> = group
            .iter()
            .map(|(_, j)| serde_json::from_str(j).map_err(|e| Error::InvalidRow(e.to_string())))
            .collect::<Result<_>>()?;
        let refs: Vec<RowRef<'_>> = group
            .iter()
            .zip(&docs)
            .map(|((time_ms, json), doc)| RowRef {
                time_ms: *time_ms,
                doc,
                json,
            })
            .collect();
        ds.to_batch(account, region, &refs)
    };
    let mut prepared = Prepared::default();
    let first = rows.first().map(|r| hour(r.0));
    if let Some(h) = first.filter(|h| rows.iter().all(|r| hour(r.0) == *h)) {
        prepared.batches.push((key(h), batch(rows)?));
        return Ok(prepared);
    }
    let mut by_hour: BTreeMap<i64, Vec<(i64, &str)>> = BTreeMap::new();
    for r in rows {
        by_hour.entry(hour(r.0)).or_default().push(*r);
    }
    for (h, group) in by_hour {
        prepared.batches.push((key(h), batch(&group)?));
    }
    Ok(prepared)
}

/// Splits rows by hour and converts each group to a batch.
fn prepare(ds: &dyn Dataset, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<Prepared> {
    let hour = |r: &RowRef<'_>| r.time_ms.div_euclid(3_600_000);
    let key = |hour| PartitionKey {
        dataset: ds.name().to_owned(),
        account: account.to_owned(),
        region: region.to_owned(),
        hour,
    };
    let mut prepared = Prepared::default();
    let first = rows.first().map(hour);
    if let Some(h) = first.filter(|h| rows.iter().all(|r| hour(r) == *h)) {
        // The usual case: one append, one hour.
        prepared
            .batches
            .push((key(h), ds.to_batch(account, region, rows)?));
        return Ok(prepared);
    }
    let mut by_hour: BTreeMap<i64, Vec<RowRef<'_>>> = BTreeMap::new();
    for r in rows {
        by_hour.entry(hour(r)).or_default().push(*r);
    }
    for (h, group) in by_hour {
        prepared
            .batches
            .push((key(h), ds.to_batch(account, region, &group)?));
    }
    Ok(prepared)
}

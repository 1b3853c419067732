//! Row-level deletion: rewrites the segments that hold rows a caller wants gone (log
//! events past their group's retention, events of deleted groups) without them. The
//! lake is otherwise append-only; this is the one way a row leaves before its whole
//! partition does.

use crate::buffer::PartitionKey;
use crate::catalog::{self, Segment};
use crate::{Error, Lake, Result, segment};
use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::compute::{filter_record_batch, not};
use datafusion::arrow::record_batch::RecordBatch;

/// Decides, for each row of a batch, whether it goes.
pub type DropRows<'a> = &'a (dyn Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync);

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeStats {
    pub segments_rewritten: usize,
    pub rows_removed: usize,
}

impl Lake {
    /// Removes the rows `drop` selects from the segments of one (account, region) whose
    /// rows start before `before_ms`. Buffered rows are flushed first, so that every row
    /// acknowledged before the call is considered.
    pub async fn purge(
        &self,
        dataset: &str,
        account: &str,
        region: &str,
        before_ms: i64,
        drop: DropRows<'_>,
    ) -> Result<PurgeStats> {
        self.flush().await?;
        let _m = self.maintenance.lock().await;
        let segments: Vec<Segment> =
            catalog::segments(&self.meta, dataset, account, i64::MIN, before_ms)?
                .into_iter()
                .filter(|s| s.region == region && s.min_time < before_ms)
                .collect();
        let mut stats = PurgeStats::default();
        for s in segments {
            let batches = self.read_segment(&s.path).await?;
            let mut kept = Vec::with_capacity(batches.len());
            let mut removed = 0usize;
            for b in batches {
                let mask = drop(&b)?;
                removed += mask.true_count();
                let keep = not(&mask).map_err(|e| Error::Arrow(e.to_string()))?;
                let b = filter_record_batch(&b, &keep).map_err(|e| Error::Arrow(e.to_string()))?;
                if b.num_rows() > 0 {
                    kept.push(b);
                }
            }
            if removed == 0 {
                continue;
            }
            let mut added = Vec::new();
            if !kept.is_empty() {
                let key = PartitionKey {
                    dataset: s.dataset.clone(),
                    account: s.account.clone(),
                    region: s.region.clone(),
                    hour: s.hour,
                };
                let ds = self.dataset(&key.dataset)?.clone();
                let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
                let rel = format!("{}/p{stamp:016x}.parquet", segment::partition_dir(&key));
                added.push(
                    self.write_segment(ds, key, kept, rel, segment::Profile::Hot)
                        .await?,
                );
            }
            self.replace_segments(&added, vec![s.path]).await?;
            stats.segments_rewritten += 1;
            stats.rows_removed += removed;
        }
        self.delete_expired().await?;
        if stats.rows_removed > 0 {
            tracing::info!(
                dataset,
                account,
                region,
                segments = stats.segments_rewritten,
                rows = stats.rows_removed,
                "lake rows purged"
            );
        }
        Ok(stats)
    }
}

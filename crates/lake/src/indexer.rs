//! The indexer: builds the text index (`grams`) of hot segments after they are in the
//! catalog, on an idle-priority thread. A flush must keep pace with ingestion, and
//! hashing every trigram of every message on its path cost a tenth of PutLogEvents'
//! throughput; searches only need the index once the burst is over, and until it is
//! built they read the whole segment, as they would without one.
//!
//! The catalog row is updated only if it still names the segment. A segment replaced
//! while its index was built loses the index with it: either its deletion (which
//! removes both files) runs after the index is written, or the update finds no row
//! and the indexer deletes what it wrote. A crash between writing the index and the
//! update leaves the row at 0, and the next round writes the object again.

use crate::catalog::{self, Segment};
use crate::dataset::{IndexedText, arrow_err};
use crate::{Error, Lake, Result, grams, seal, segment};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::ObjectStoreExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the indexer looks for segments without an index when no flush woke it
/// (a restart leaves the ones a crash or a stop did not reach).
const INDEX_ROUND: Duration = Duration::from_secs(30);

impl Lake {
    /// Builds the text index of every hot segment of an indexed dataset that has none
    /// yet, newest first; how many it built.
    pub async fn index_text(&self) -> Result<usize> {
        let indexed: HashMap<&str, IndexedText> = self
            .datasets()
            .filter_map(|d| d.indexed_text().map(|t| (d.name(), t)))
            .collect();
        let names: Vec<&str> = indexed.keys().copied().collect();
        if names.is_empty() {
            return Ok(0);
        }
        let mut built = 0;
        for s in catalog::unindexed(&self.meta, &names)? {
            let Some(&text) = indexed.get(s.dataset.as_str()) else {
                continue;
            };
            match self.index_segment(&s, text).await {
                Ok(true) => built += 1,
                Ok(false) => {}
                Err(e) => {
                    // Searches read such a segment whole, which is always correct; a
                    // retry on every round would only repeat the failure.
                    tracing::warn!(path = %s.path, error = %e, "segment left without a text index");
                    catalog::set_grams(&self.meta, &s.path, -1)?;
                }
            }
        }
        Ok(built)
    }

    /// Writes one segment's index and records it; false when the segment was gone.
    async fn index_segment(&self, s: &Segment, text: IndexedText) -> Result<bool> {
        let bytes = match self.store.store.get(&self.store.object_path(&s.path)).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let index = seal::on_idle_thread("lake-indexer", move || build(bytes, text)).await??;
        let len = index.len() as i64;
        let at = self.store.object_path(&segment::grams_path(&s.path));
        self.store.store.put(&at, index.into()).await?;
        if catalog::set_grams(&self.meta, &s.path, len)? {
            return Ok(true);
        }
        match self.store.store.delete(&at).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Indexes after every flush or merge that added segments, and on a fixed round,
    /// until `stop` changes.
    pub(crate) fn spawn_indexer(
        self: &Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let lake = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = lake.index_text().await {
                    tracing::error!(error = %e, "lake indexing failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(INDEX_ROUND) => {}
                    _ = lake.index_wanted.notified() => {}
                    _ = stop.changed() => break,
                }
            }
        })
    }
}

/// The index of an encoded segment's text column, read back a batch at a time.
fn build(file: bytes::Bytes, text: IndexedText) -> Result<Vec<u8>> {
    let starts = segment::page_starts(&file, text.column)?;
    let parquet = |e: datafusion::parquet::errors::ParquetError| Error::Parquet(e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let wanted = std::iter::once(text.column).chain(text.opaque);
    let mask = ProjectionMask::columns(builder.parquet_schema(), wanted);
    let reader = builder.with_projection(mask).build().map_err(parquet)?;
    let mut index = grams::Builder::new(starts, rows)?;
    for batch in reader {
        let batch = batch.map_err(arrow_err)?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::Arrow(format!("no column {name}")))
        };
        let opaque = text.opaque.map(column).transpose()?;
        index.push(column(text.column)?, opaque.map(|o| o.as_ref()))?;
    }
    index.finish()
}

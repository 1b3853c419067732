//! Immutable Parquet segments: rows of one hourly partition sorted by time, zstd.

use crate::buffer::PartitionKey;
use crate::catalog::Segment;
use crate::dataset::{ColumnHint, arrow_err};
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{Array, TimestampMillisecondArray};
use datafusion::arrow::compute::{SortOptions, concat_batches, sort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

/// Hive-style directory of a partition: `audit_events/account=…/region=…/date=…/hour=…`.
pub fn partition_dir(key: &PartitionKey) -> String {
    let t = Utc
        .timestamp_opt(key.hour * 3600, 0)
        .single()
        .unwrap_or_default();
    format!(
        "{}/account={}/region={}/date={}/hour={}",
        key.dataset,
        key.account,
        key.region,
        t.format("%Y-%m-%d"),
        t.format("%H")
    )
}

/// Concatenates and sorts by the time column (stable, so equal times keep append order).
pub fn sorted(
    schema: &SchemaRef,
    time_column: &str,
    batches: &[RecordBatch],
) -> Result<RecordBatch> {
    let all = concat_batches(schema, batches).map_err(arrow_err)?;
    let idx = schema.index_of(time_column).map_err(arrow_err)?;
    let indices = sort_to_indices(
        all.column(idx),
        Some(SortOptions {
            descending: false,
            nulls_first: true,
        }),
        None,
    )
    .map_err(arrow_err)?;
    take_record_batch(&all, &indices).map_err(arrow_err)
}

/// Uncompressed bytes per page of a wide column: a handful of rows, so reading one
/// row decompresses little else.
const WIDE_PAGE_BYTES: usize = 64 << 10;
/// Pages of free text: large, so zstd sees many similar rows at once.
const TEXT_PAGE_BYTES: usize = 1 << 20;
/// zstd level for free text (the rest uses 3).
const TEXT_ZSTD_LEVEL: i32 = 9;
/// Rows handed to the column writers at a time; page limits are checked at this grain,
/// so it bounds how far a wide column's page can overshoot its size.
const WRITE_BATCH_ROWS: usize = 64;

/// Writes one sorted batch as Parquet bytes.
pub fn encode(batch: &RecordBatch, hints: &[(&str, ColumnHint)]) -> Result<Vec<u8>> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| Error::Parquet(e.to_string()))?,
        ))
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_write_batch_size(WRITE_BATCH_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page);
    for (column, hint) in hints {
        let path = ColumnPath::from(*column);
        props = match hint {
            ColumnHint::Unique => props.set_column_dictionary_enabled(path, false),
            ColumnHint::Wide => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_data_page_size_limit(path, WIDE_PAGE_BYTES),
            ColumnHint::Text => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_data_page_size_limit(path.clone(), TEXT_PAGE_BYTES)
                .set_column_compression(
                    path,
                    Compression::ZSTD(
                        ZstdLevel::try_new(TEXT_ZSTD_LEVEL)
                            .map_err(|e| Error::Parquet(e.to_string()))?,
                    ),
                ),
        };
    }
    let props = props.build();
    let mut out = Vec::with_capacity(batch.get_array_memory_size() / 4);
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
        .map_err(|e| Error::Parquet(e.to_string()))?;
    w.write(batch).map_err(|e| Error::Parquet(e.to_string()))?;
    w.close().map_err(|e| Error::Parquet(e.to_string()))?;
    Ok(out)
}

/// Time bounds of a sorted batch, in milliseconds.
pub fn time_bounds(batch: &RecordBatch, time_column: &str) -> Result<(i64, i64)> {
    let col = batch
        .column_by_name(time_column)
        .ok_or_else(|| Error::Arrow(format!("no column {time_column}")))?;
    let ts = col
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(|| Error::Arrow(format!("{time_column} is not a millisecond timestamp")))?;
    if ts.is_empty() {
        return Ok((0, 0));
    }
    Ok((ts.value(0), ts.value(ts.len() - 1)))
}

pub fn describe(
    key: &PartitionKey,
    path: String,
    batch: &RecordBatch,
    time_column: &str,
    bytes: usize,
) -> Result<Segment> {
    let (min_time, max_time) = time_bounds(batch, time_column)?;
    Ok(Segment {
        path,
        dataset: key.dataset.clone(),
        account: key.account.clone(),
        region: key.region.clone(),
        hour: key.hour,
        min_time,
        max_time,
        rows: batch.num_rows() as i64,
        bytes: bytes as i64,
    })
}

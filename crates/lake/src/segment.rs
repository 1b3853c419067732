//! Immutable Parquet segments: rows of one hourly partition sorted by time.
//! A segment whose file name starts with `s` is sealed: written after its hour was
//! over, at the sealed profile, and left alone by the hot compaction.

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
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
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
/// Rows handed to the column writers at a time; page limits are checked at this grain,
/// so it bounds how far a wide column's page can overshoot its size.
const WRITE_BATCH_ROWS: usize = 64;

/// How hard a segment is compressed: what a flush writes must keep up with ingestion,
/// what the sealer writes once a partition's hour is over is read for its whole
/// retention, so it buys density with CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Flushes and merges of the current hours.
    Hot,
    /// Partitions whose hour is over, at this zstd level for free text.
    Sealed { level: i32 },
}

impl Profile {
    /// Codec and page size of free text. Hot text is LZ4: a flush and the merges after
    /// it must keep pace with ingestion (zstd at level 9 compresses ~70 MB/s of log
    /// text per core, LZ4 ~800 MB/s) and reads of recent events must scan fast (LZ4
    /// inflates ~3 GB/s per core, zstd at any level ~1.5 GB/s), at about twice the
    /// bytes until the hour is sealed. Hot pages are small because the trigram index
    /// (`grams`) selects whole pages: at 32 KiB (~150 log lines) a term found once in
    /// a thousand lines is absent from most of them. Sealed pages span the whole 8 MiB
    /// window of zstd's high levels, which is where most of their gain comes from.
    fn text(self) -> Result<(Compression, usize)> {
        match self {
            Profile::Hot => Ok((Compression::LZ4_RAW, 32 << 10)),
            Profile::Sealed { level } => Ok((zstd(level)?, 8 << 20)),
        }
    }

    /// Rows per page at most. Hot pages stay small so time filters skip finely;
    /// sealed text pages must reach their byte size, which at ~200-byte rows is tens
    /// of thousands of rows.
    fn page_rows(self) -> usize {
        match self {
            Profile::Hot => 20_000,
            Profile::Sealed { .. } => usize::MAX,
        }
    }

    /// Sealed text keeps its lengths apart from the bytes (interleaved, they break
    /// zstd's matches between neighbouring rows: 0.145 against 0.142 bytes per byte
    /// in bench/logs.sh); hot text stays plain, whose encoder costs a tenth of the
    /// delta-length one's CPU on the ingest path.
    fn text_encoding(self) -> Encoding {
        match self {
            Profile::Hot => Encoding::PLAIN,
            Profile::Sealed { .. } => Encoding::DELTA_LENGTH_BYTE_ARRAY,
        }
    }

    fn other_level(self) -> i32 {
        match self {
            Profile::Hot => 3,
            Profile::Sealed { level } => level.min(9),
        }
    }
}

fn zstd(level: i32) -> Result<Compression> {
    Ok(Compression::ZSTD(
        ZstdLevel::try_new(level).map_err(|e| Error::Parquet(e.to_string()))?,
    ))
}

/// Writes one sorted batch as Parquet bytes.
pub fn encode(
    batch: &RecordBatch,
    hints: &[(&str, ColumnHint)],
    profile: Profile,
) -> Result<Vec<u8>> {
    let (text_codec, text_page) = profile.text()?;
    let mut props = WriterProperties::builder()
        .set_compression(zstd(profile.other_level())?)
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_write_batch_size(WRITE_BATCH_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(profile.page_rows());
    for (column, hint) in hints {
        let path = ColumnPath::from(*column);
        props = match hint {
            ColumnHint::Unique => props.set_column_dictionary_enabled(path, false),
            ColumnHint::Wide => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_data_page_size_limit(path, WIDE_PAGE_BYTES),
            ColumnHint::Text => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path.clone(), profile.text_encoding())
                .set_column_data_page_size_limit(path.clone(), text_page)
                .set_column_compression(path, text_codec),
            ColumnHint::Ordered => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED),
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
        grams: 0,
    })
}

/// Where a segment's trigram index lives: beside it, `.grams` for `.parquet`.
pub fn grams_path(path: &str) -> String {
    format!("{}.grams", path.strip_suffix(".parquet").unwrap_or(path))
}

/// The first row of every page of `column` in an encoded segment, counted from the
/// segment's first row, from its offset index.
pub fn page_starts(file: &bytes::Bytes, column: &str) -> Result<Vec<u64>> {
    let md = ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Required)
        .parse_and_finish(file)
        .map_err(|e| Error::Parquet(e.to_string()))?;
    let leaf = md
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().string() == column)
        .ok_or_else(|| Error::Parquet(format!("no column {column} in the segment")))?;
    let offsets = md
        .offset_index()
        .ok_or_else(|| Error::Parquet("segment without an offset index".into()))?;
    let mut starts = Vec::new();
    let mut base = 0u64;
    for (rg, columns) in offsets.iter().enumerate() {
        let pages = columns
            .get(leaf)
            .ok_or_else(|| Error::Parquet(format!("no offset index for {column}")))?;
        for p in pages.page_locations() {
            starts.push(base + p.first_row_index.max(0) as u64);
        }
        base += md.row_group(rg).num_rows().max(0) as u64;
    }
    Ok(starts)
}

/// Whether a segment path names a sealed segment (see the module comment).
pub fn is_sealed(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with('s'))
}

//! Immutable Parquet segments: rows of one hourly partition sorted by time.
//! A segment whose file name starts with `s` is sealed: written after its hour was
//! over, at the sealed profile, and left alone by the hot compaction.

use crate::buffer::PartitionKey;
use crate::catalog::Segment;
use crate::dataset::{ColumnHint, arrow_err};
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{Array, TimestampMillisecondArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
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

/// The rows of `batches` in time order.
///
/// Appends arrive as batches that are each in time order and cover disjoint spans,
/// only not in the order of their spans (concurrent requests); those are put in order
/// as they are, without copying a row. Anything else is concatenated and sorted
/// stably (equal times keep append order).
pub fn in_time_order(
    schema: &SchemaRef,
    time_column: &str,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>> {
    let idx = schema.index_of(time_column).map_err(arrow_err)?;
    let mut spans = Vec::with_capacity(batches.len());
    for (i, b) in batches.iter().enumerate() {
        if b.num_rows() == 0 {
            continue;
        }
        match sorted_span(b.column(idx).as_ref()) {
            Some((first, last)) => spans.push((first, last, i)),
            None => return sort_all(schema, idx, &batches),
        }
    }
    spans.sort_by_key(|&(first, _, i)| (first, i));
    // Spans may touch: under load neighbouring requests often share their boundary
    // millisecond and arrive in either order, and sorting a whole flush for that would
    // cost what this path saves. Readers order equal times by a key of their own (log
    // events by `seq`), so rows at such a seam may come in either batch's order.
    if spans.windows(2).any(|w| w[0].1 > w[1].0) {
        return sort_all(schema, idx, &batches);
    }
    let mut slots: Vec<Option<RecordBatch>> = batches.into_iter().map(Some).collect();
    Ok(spans
        .iter()
        .filter_map(|&(_, _, i)| slots.get_mut(i).and_then(Option::take))
        .collect())
}

/// First and last time of a batch whose time column has no nulls and never goes back.
fn sorted_span(col: &dyn Array) -> Option<(i64, i64)> {
    let ts = col.as_any().downcast_ref::<TimestampMillisecondArray>()?;
    if ts.null_count() > 0 || ts.is_empty() {
        return None;
    }
    let v = ts.values();
    v.windows(2)
        .all(|w| w[0] <= w[1])
        .then(|| (v[0], v[v.len() - 1]))
}

/// Concatenates and sorts stably. Arrow's own sort is not stable: rows of one request
/// with equal times could trade places, and a query that takes storage order (one
/// without a sort) would show them out of the order they were put in.
fn sort_all(schema: &SchemaRef, idx: usize, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    let all = concat_batches(schema, batches).map_err(arrow_err)?;
    let times = all
        .column(idx)
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(|| Error::Arrow("the time column is not a millisecond timestamp".into()))?;
    let n = u32::try_from(all.num_rows()).map_err(|_| Error::Arrow("batch too large".into()))?;
    let mut order: Vec<u32> = (0..n).collect();
    if times.null_count() == 0 {
        let values = times.values();
        order.sort_by_key(|&i| values[i as usize]);
    } else {
        order.sort_by_key(|&i| {
            let i = i as usize;
            (times.is_valid(i), times.is_valid(i).then(|| times.value(i)))
        });
    }
    let indices = UInt32Array::from(order);
    Ok(vec![take_record_batch(&all, &indices).map_err(arrow_err)?])
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

/// Writes batches (in time order, one schema) as Parquet bytes.
pub fn encode(
    batches: &[RecordBatch],
    schema: &SchemaRef,
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
            // Bounds of free text prune nothing and cost a comparison of every value.
            ColumnHint::Text => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path.clone(), EnabledStatistics::None)
                .set_column_encoding(path.clone(), profile.text_encoding())
                .set_column_data_page_size_limit(path.clone(), text_page)
                .set_column_compression(path, text_codec),
            ColumnHint::Ordered => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED),
        };
    }
    let props = props.build();
    let memory: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    let mut out = Vec::with_capacity(memory / 4);
    let mut w = ArrowWriter::try_new(&mut out, schema.clone(), Some(props))
        .map_err(|e| Error::Parquet(e.to_string()))?;
    for batch in batches {
        w.write(batch).map_err(|e| Error::Parquet(e.to_string()))?;
    }
    w.close().map_err(|e| Error::Parquet(e.to_string()))?;
    Ok(out)
}

/// Time bounds of batches in time order, in milliseconds.
pub fn time_bounds(batches: &[RecordBatch], time_column: &str) -> Result<(i64, i64)> {
    let column = |b: &RecordBatch| -> Result<TimestampMillisecondArray> {
        let col = b
            .column_by_name(time_column)
            .ok_or_else(|| Error::Arrow(format!("no column {time_column}")))?;
        col.as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .cloned()
            .ok_or_else(|| Error::Arrow(format!("{time_column} is not a millisecond timestamp")))
    };
    let mut nonempty = batches.iter().filter(|b| b.num_rows() > 0);
    let (Some(first), Some(last)) = (nonempty.next(), batches.iter().rfind(|b| b.num_rows() > 0))
    else {
        return Ok((0, 0));
    };
    let (first, last) = (column(first)?, column(last)?);
    Ok((first.value(0), last.value(last.len() - 1)))
}

pub fn describe(
    key: &PartitionKey,
    path: String,
    batches: &[RecordBatch],
    time_column: &str,
    bytes: usize,
) -> Result<Segment> {
    let (min_time, max_time) = time_bounds(batches, time_column)?;
    Ok(Segment {
        path,
        dataset: key.dataset.clone(),
        account: key.account.clone(),
        region: key.region.clone(),
        hour: key.hour,
        min_time,
        max_time,
        rows: batches.iter().map(RecordBatch::num_rows).sum::<usize>() as i64,
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), false),
            Field::new("id", DataType::Int64, false),
        ]))
    }

    /// A batch of (time, id) rows.
    fn batch(rows: &[(i64, i64)]) -> RecordBatch {
        let t = TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.0));
        let id = Int64Array::from_iter_values(rows.iter().map(|r| r.1));
        RecordBatch::try_new(schema(), vec![Arc::new(t), Arc::new(id)]).unwrap()
    }

    fn rows(batches: &[RecordBatch]) -> Vec<(i64, i64)> {
        batches
            .iter()
            .flat_map(|b| {
                let t = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>();
                let id = b.column(1).as_any().downcast_ref::<Int64Array>();
                let (t, id) = (t.unwrap().clone(), id.unwrap().clone());
                (0..b.num_rows()).map(move |i| (t.value(i), id.value(i)))
            })
            .collect()
    }

    #[test]
    fn disjoint_batches_are_reordered_without_copying_a_row() {
        let input = vec![
            batch(&[(30, 0), (35, 1)]),
            batch(&[]),
            batch(&[(10, 2), (20, 3)]),
            batch(&[(20, 4), (25, 5)]),
        ];
        let data = |b: &RecordBatch| b.column(1).to_data().buffers()[0].as_ptr();
        let before: Vec<_> = input.iter().map(data).collect();
        let out = in_time_order(&schema(), "t", input).unwrap();
        assert_eq!(
            out.len(),
            3,
            "the empty batch is dropped, the rest kept whole"
        );
        assert_eq!(
            out.iter().map(data).collect::<Vec<_>>(),
            vec![before[2], before[3], before[0]]
        );
        assert_eq!(time_bounds(&out, "t").unwrap(), (10, 35));
    }

    #[test]
    fn overlapping_or_unsorted_batches_are_sorted_stably() {
        let overlapping = vec![batch(&[(10, 0), (30, 1)]), batch(&[(10, 2), (20, 3)])];
        let out = in_time_order(&schema(), "t", overlapping).unwrap();
        assert_eq!(rows(&out), vec![(10, 0), (10, 2), (20, 3), (30, 1)]);
        // Spans that only touch are put in order as they are, without a sort.
        let touching = vec![batch(&[(5, 0), (10, 1)]), batch(&[(3, 2), (5, 3)])];
        let out = in_time_order(&schema(), "t", touching).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(rows(&out), vec![(3, 2), (5, 3), (5, 0), (10, 1)]);
        let unsorted = vec![batch(&[(5, 0), (1, 1), (5, 2)])];
        let out = in_time_order(&schema(), "t", unsorted).unwrap();
        assert_eq!(rows(&out), vec![(1, 1), (5, 0), (5, 2)]);
    }

    proptest! {
        /// Whichever way it goes, the result holds every row once, in time order, and
        /// equal times keep append order except at a seam of two whole batches. Times
        /// are drawn close together, so that spans often touch and overlap.
        #[test]
        fn any_batches_come_out_in_time_order_with_every_row_once(
            spans in prop::collection::vec((0i64..40, prop::collection::vec(0i64..4, 0..12), any::<bool>()), 0..8)
        ) {
            let mut id = 0;
            let mut input = Vec::new();
            for (start, steps, keep_sorted) in spans {
                let mut t = start;
                let mut r = Vec::new();
                for s in steps {
                    t = if keep_sorted { t + s } else { start + s };
                    r.push((t, id));
                    id += 1;
                }
                input.push(batch(&r));
            }
            let mut want = rows(&input);
            want.sort_by_key(|r| r.0);
            let out = in_time_order(&schema(), "t", input.clone()).unwrap();
            let got = rows(&out);
            prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
            let (mut a, mut b) = (got.clone(), want.clone());
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
            // Within one batch, rows keep their order.
            let batch_of: std::collections::HashMap<i64, usize> = input
                .iter()
                .enumerate()
                .flat_map(|(i, b)| rows(std::slice::from_ref(b)).into_iter().map(move |r| (r.1, i)))
                .collect();
            for w in got.windows(2) {
                if w[0].0 == w[1].0 && batch_of[&w[0].1] == batch_of[&w[1].1] {
                    prop_assert!(w[0].1 < w[1].1);
                }
            }
            // Without a seam (one batch, or the sort), it is the stable sort exactly.
            if out.len() == 1 {
                prop_assert_eq!(got, want);
            }
        }
    }
}

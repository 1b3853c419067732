//! Newest-first reads (LookupEvents, and later log and event pages): the buffer and the
//! newest segments are queried first, a few at a time, and the walk stops as soon as no
//! older segment can hold a row that belongs on the page. A page over a long window then
//! costs a few segments, not the whole window.

use crate::table::ScopedTable;
use crate::{Lake, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use datafusion::arrow::compute::{
    SortColumn, SortOptions, concat, concat_batches, lexsort_to_indices, take_record_batch,
};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::logical_expr::{Expr, col};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Segments queried together after the first round, at most.
const MAX_CHUNK: usize = 8;

/// One newest-first page request over a snapshot.
pub struct NewestFirst {
    /// Rows must pass this filter (time bounds, attributes, keyset position).
    pub filter: Expr,
    /// Output columns; the first is the time column and the second the tie-breaking
    /// key, both sorted descending.
    pub columns: Vec<String>,
    /// Wide columns worth reading in the same pass once rows turn out to be sparse: when
    /// a round finds fewer rows than the page needs, later rounds read these too (the
    /// Parquet scan decodes them for matching rows only). Rows from dense rounds carry
    /// nulls in them, for the caller to fetch for the page's rows alone.
    pub sparse_columns: Vec<String>,
    pub limit: usize,
}

impl Lake {
    /// The first `limit` rows of `table` passing the filter, newest first, as one batch.
    pub async fn newest_first(&self, table: ScopedTable, q: &NewestFirst) -> Result<RecordBatch> {
        let ctx = self.lookup_context();
        let ScopedTable {
            schema,
            time_column,
            store,
            segments,
            buffered,
            needles,
        } = table;
        let keys: Vec<&str> = q.columns.iter().map(String::as_str).collect();
        let all: Vec<&str> = keys
            .iter()
            .copied()
            .chain(q.sparse_columns.iter().map(String::as_str))
            .collect();
        let mut fields = Vec::with_capacity(all.len());
        for (i, c) in all.iter().enumerate() {
            let f = schema
                .field_with_name(c)
                .map_err(crate::dataset::arrow_err)?;
            // Sparse columns are null where a dense round did not read them.
            fields.push(f.clone().with_nullable(f.is_nullable() || i >= keys.len()));
        }
        let out_schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let mut kept = RecordBatch::new_empty(out_schema.clone());
        let mut next = 0usize;
        let mut chunk = 1usize;
        let mut searched = 0usize;
        let mut buffered = Some(buffered);
        let mut sparse = false;
        loop {
            if kept.num_rows() >= q.limit && q.limit > 0 {
                let worst = time_at(&kept, q.limit - 1);
                if segments.get(next).is_none_or(|s| s.max_time < worst) {
                    break;
                }
            }
            let Some(buffer) = buffered
                .take()
                .or_else(|| (next < segments.len()).then(Vec::new))
            else {
                break;
            };
            let end = (next + chunk).min(segments.len());
            let part = ScopedTable {
                schema: schema.clone(),
                time_column,
                store: store.clone(),
                segments: segments[next..end].to_vec(),
                buffered: buffer,
                needles: needles.clone(),
            };
            searched += end - next;
            next = end;
            let columns = if sparse { &all } else { &keys };
            let found = page(&ctx, part, q, columns, &out_schema).await?;
            sparse = sparse || found.num_rows() < q.limit;
            kept = top(&out_schema, &[kept, found], q.limit)?;
            // Size the next round by the density seen so far, with some slack, so that a
            // sparse filter needs few rounds and a dense one reads no more than it must.
            let missing = q.limit.saturating_sub(kept.num_rows());
            let per_segment = kept.num_rows() as f64 / searched.max(1) as f64;
            chunk = if missing == 0 {
                1
            } else if per_segment > 0.0 {
                ((missing as f64 / per_segment) * 1.25).ceil() as usize
            } else {
                chunk * 2
            }
            .clamp(1, MAX_CHUNK);
        }
        Ok(kept)
    }

    /// A session for short, selective reads: Parquet filter pushdown decodes the wide
    /// columns only for rows that pass the filters.
    pub fn lookup_context(&self) -> SessionContext {
        self.context(lookup_config())
    }

    /// A lookup session whose scans split each segment into `partitions` byte ranges.
    /// A read of a narrow time range touches a few neighbouring row groups of a large
    /// segment; split only once per core, they mostly fall in one range and one core
    /// reads them while the others idle.
    pub fn fine_lookup_context(&self, partitions: usize) -> SessionContext {
        self.context(lookup_config().with_target_partitions(partitions.max(1)))
    }

    /// A fine lookup session for scans that a text index narrows (see `grams`),
    /// without Parquet's predicate cache: the cache decodes the filter's columns a
    /// whole batch (8,192 rows, dozens of text pages) at a time, the pages the index
    /// skipped included, which undid the index. The rows that pass are decoded again
    /// instead, a few pages.
    pub fn text_search_context(&self, partitions: usize) -> SessionContext {
        self.context(
            lookup_config()
                .with_target_partitions(partitions.max(1))
                .set_u64("datafusion.execution.parquet.max_predicate_cache_size", 0),
        )
    }
}

fn lookup_config() -> datafusion::prelude::SessionConfig {
    datafusion::prelude::SessionConfig::new()
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
        .set_bool("datafusion.execution.parquet.reorder_filters", true)
}

async fn page(
    ctx: &SessionContext,
    table: ScopedTable,
    q: &NewestFirst,
    columns: &[&str],
    out_schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch> {
    let batches = ctx
        .read_table(Arc::new(table))?
        .filter(q.filter.clone())?
        .select_columns(columns)?
        .sort(vec![
            col(columns[0]).sort(false, false),
            col(columns[1]).sort(false, false),
        ])?
        .limit(0, Some(q.limit))?
        .collect()
        .await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut out: Vec<ArrayRef> = Vec::with_capacity(out_schema.fields().len());
    for (i, f) in out_schema.fields().iter().enumerate() {
        if i < columns.len() {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            out.push(if parts.is_empty() {
                new_null_array(f.data_type(), 0)
            } else {
                concat(&parts).map_err(crate::dataset::arrow_err)?
            });
        } else {
            out.push(new_null_array(f.data_type(), rows));
        }
    }
    RecordBatch::try_new(out_schema.clone(), out).map_err(crate::dataset::arrow_err)
}

fn time_at(batch: &RecordBatch, i: usize) -> i64 {
    let t = batch.column(0).as_primitive::<TimestampMillisecondType>();
    if t.is_null(i) { i64::MIN } else { t.value(i) }
}

/// The newest `limit` rows of several sorted pages.
fn top(
    schema: &datafusion::arrow::datatypes::SchemaRef,
    pages: &[RecordBatch],
    limit: usize,
) -> Result<RecordBatch> {
    let all = concat_batches(schema, pages).map_err(crate::dataset::arrow_err)?;
    let order = SortOptions {
        descending: true,
        nulls_first: false,
    };
    let indices = lexsort_to_indices(
        &[
            SortColumn {
                values: all.column(0).clone(),
                options: Some(order),
            },
            SortColumn {
                values: all.column(1).clone(),
                options: Some(order),
            },
        ],
        Some(limit),
    )
    .map_err(crate::dataset::arrow_err)?;
    take_record_batch(&all, &indices).map_err(crate::dataset::arrow_err)
}

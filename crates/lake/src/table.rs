//! The DataFusion table of one dataset for one account: the catalog's segments (pruned
//! by time from the query's filters) and the unflushed buffer, as one relation. A table
//! is built for one account only, so no query through it can see another account's rows.

use crate::catalog::Segment;
use crate::store::SegmentStore;
use crate::{grams, segment};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl, PartitionedFile,
};
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::union::UnionExec;
use std::sync::Arc;

#[derive(Debug)]
pub struct ScopedTable {
    pub schema: SchemaRef,
    pub time_column: &'static str,
    pub store: SegmentStore,
    /// Segments of this account, newest first.
    pub segments: Vec<Segment>,
    pub buffered: Vec<RecordBatch>,
    /// Literals every row a query wants holds in the dataset's indexed text column
    /// (see `grams`): segments with an index then read only the pages that may hold
    /// them. The query must still test its rows; the index only narrows the read.
    pub needles: Vec<Vec<u8>>,
}

/// Milliseconds of a timestamp literal, whatever its unit.
fn literal_millis(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => match v {
            ScalarValue::TimestampMillisecond(Some(x), _) => Some(*x),
            ScalarValue::TimestampSecond(Some(x), _) => x.checked_mul(1000),
            ScalarValue::TimestampMicrosecond(Some(x), _) => Some(x / 1000),
            ScalarValue::TimestampNanosecond(Some(x), _) => Some(x / 1_000_000),
            _ => None,
        },
        Expr::Cast(c) => literal_millis(&c.expr),
        Expr::TryCast(c) => literal_millis(&c.expr),
        _ => None,
    }
}

fn is_time_column(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Column(c) => c.name == name,
        Expr::Cast(c) => is_time_column(&c.expr, name),
        _ => false,
    }
}

/// A comparison of the time column with a literal, as (operator with the column on the
/// left, milliseconds).
fn time_bound(e: &Expr, column: &str) -> Option<(Operator, i64)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    if is_time_column(left, column) {
        Some((*op, literal_millis(right)?))
    } else if is_time_column(right, column) {
        let flipped = match op {
            Operator::Lt => Operator::Gt,
            Operator::LtEq => Operator::GtEq,
            Operator::Gt => Operator::Lt,
            Operator::GtEq => Operator::LtEq,
            other => *other,
        };
        Some((flipped, literal_millis(left)?))
    } else {
        None
    }
}

/// The [from, to] time window (inclusive, milliseconds) the filters allow.
pub fn time_window(filters: &[Expr], column: &str) -> (i64, i64) {
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    for f in filters {
        // Conjunctions arrive split; BETWEEN arrives as a single expression.
        if let Expr::Between(b) = f
            && !b.negated
            && is_time_column(&b.expr, column)
        {
            if let Some(l) = literal_millis(&b.low) {
                from = from.max(l);
            }
            if let Some(h) = literal_millis(&b.high) {
                to = to.min(h);
            }
            continue;
        }
        match time_bound(f, column) {
            Some((Operator::Gt | Operator::GtEq, v)) => from = from.max(v),
            Some((Operator::Lt | Operator::LtEq, v)) => to = to.min(v),
            Some((Operator::Eq, v)) => {
                from = from.max(v);
                to = to.min(v);
            }
            _ => {}
        }
    }
    (from, to)
}

impl ScopedTable {
    /// A scan of `segments` that reads, of each segment with a trigram index, only the
    /// pages that may hold every needle, and leaves out segments where none may. The
    /// catalog knows each file's size, so nothing is listed either.
    async fn indexed_scan(
        &self,
        state: &dyn Session,
        segments: &[&Segment],
        bits: &[usize],
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        let mut files = Vec::with_capacity(segments.len());
        let mut skipped = 0usize;
        for s in segments {
            let path = self.store.object_path(&s.path);
            let mut file = PartitionedFile::new(path.to_string(), s.bytes.max(0) as u64);
            if s.grams > 0 {
                let index = self.store.object_path(&segment::grams_path(&s.path));
                match grams::select(self.store.store.as_ref(), &index, s.grams as u64, bits).await {
                    Ok(Some(sel)) if !sel.selects_any() => {
                        skipped += 1;
                        continue;
                    }
                    Ok(Some(sel)) => file = file.with_extension(ParquetRowSelection::new(sel)),
                    Ok(None) => {
                        tracing::warn!(path = %index, "text index unusable, reading the whole segment");
                    }
                    Err(e) => {
                        tracing::warn!(path = %index, error = %e, "text index unreadable, reading the whole segment");
                    }
                }
            }
            files.push(file);
        }
        tracing::debug!(segments = segments.len(), skipped, "text index consulted");
        if files.is_empty() {
            return Ok(None);
        }
        // The session's Parquet options (predicate cache, pushdown), which a default
        // format would replace with its own.
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(TableSchema::from(self.schema.clone()));
        let groups = FileGroup::new(files).split_files(state.config().target_partitions());
        let config = FileScanConfigBuilder::new(self.store.url.clone(), source)
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(Some(format.create_physical_plan(state, config).await?))
    }
}

#[async_trait]
impl TableProvider for ScopedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Used for pruning segments and row groups; DataFusion still applies them.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let (from, to) = time_window(filters, self.time_column);
        let segments: Vec<&Segment> = self
            .segments
            .iter()
            .filter(|s| s.max_time >= from && s.min_time <= to)
            .collect();
        let mut plans: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let bits = grams::needle_bits(&self.needles);
        if !bits.is_empty() {
            if let Some(plan) = self
                .indexed_scan(state, &segments, &bits, projection, limit)
                .await?
            {
                plans.push(plan);
            }
        } else if !segments.is_empty() {
            let urls: Vec<ListingTableUrl> = segments
                .iter()
                .map(|s| ListingTableUrl::parse(self.store.object_url(&s.path)))
                .collect::<DfResult<_>>()?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet");
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .with_schema(self.schema.clone());
            let listing = ListingTable::try_new(config)?;
            plans.push(listing.scan(state, projection, filters, limit).await?);
        }
        let buffered: Vec<RecordBatch> = self.buffered.clone();
        let mem = MemTable::try_new(self.schema.clone(), vec![buffered])?;
        plans.push(mem.scan(state, projection, filters, limit).await?);
        UnionExec::try_new(plans)
    }
}

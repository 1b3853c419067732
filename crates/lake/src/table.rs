//! The DataFusion table of one dataset for one account: the catalog's segments (pruned
//! by time from the query's filters) and the unflushed buffer, as one relation. A table
//! is built for one account only, so no query through it can see another account's rows.

use crate::catalog::Segment;
use crate::store::SegmentStore;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
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
        let urls: Vec<ListingTableUrl> = self
            .segments
            .iter()
            .filter(|s| s.max_time >= from && s.min_time <= to)
            .map(|s| ListingTableUrl::parse(self.store.object_url(&s.path)))
            .collect::<DfResult<_>>()?;
        let mut plans: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !urls.is_empty() {
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

//! Counting rows as they stream past, for the statistics GetQueryResults reports
//! (`recordsScanned`, `bytesScanned`, `recordsMatched`).
//!
//! A counter is a pass-through plan node inside the real query, so the counts cost one
//! addition per batch and no second scan. It enters the plan as a table wrapping the
//! physical plan beneath it: that boundary keeps the optimizer from pruning, merging
//! or moving it, which a counting expression would not survive.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use futures::StreamExt;

/// Rows and message bytes seen at one point of a plan, shared by all its partitions.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    pub(crate) fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A table whose scan is an already-planned subquery, counted as it is read.
#[derive(Debug)]
pub(crate) struct CountingTable {
    input: Arc<dyn ExecutionPlan>,
    counter: Arc<Counter>,
}

impl CountingTable {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, counter: Arc<Counter>) -> CountingTable {
        CountingTable { input, counter }
    }
}

#[async_trait]
impl TableProvider for CountingTable {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(CountingExec::new(
            Arc::clone(&self.input),
            Arc::clone(&self.counter),
            projection.cloned(),
        )?))
    }
}

#[derive(Debug)]
struct CountingExec {
    input: Arc<dyn ExecutionPlan>,
    counter: Arc<Counter>,
    projection: Option<Vec<usize>>,
    /// The column whose string bytes count as scanned bytes.
    message: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl CountingExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        counter: Arc<Counter>,
        projection: Option<Vec<usize>>,
    ) -> Result<CountingExec> {
        let input_schema = input.schema();
        let message = input_schema.index_of("message").ok();
        let schema = match &projection {
            Some(indices) => Arc::new(input_schema.project(indices)?),
            None => Arc::clone(&input_schema),
        };
        let properties = match &projection {
            None => PlanProperties::new(
                input.equivalence_properties().clone(),
                input.output_partitioning().clone(),
                input.pipeline_behavior(),
                input.boundedness(),
            ),
            Some(_) => PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&schema)),
                Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
                input.pipeline_behavior(),
                input.boundedness(),
            ),
        };
        Ok(CountingExec {
            input,
            counter,
            projection,
            message,
            schema,
            properties: Arc::new(properties),
        })
    }
}

fn string_bytes(array: &ArrayRef) -> u64 {
    match array.data_type() {
        DataType::Utf8View => array
            .as_string_view()
            .views()
            .iter()
            .map(|&view| u64::from(view as u32))
            .sum(),
        DataType::Utf8 => {
            let offsets = array.as_string::<i32>().value_offsets();
            let first = offsets.first().copied().unwrap_or(0);
            let last = offsets.last().copied().unwrap_or(0);
            u64::try_from(last - first).unwrap_or(0)
        }
        DataType::LargeUtf8 => {
            let offsets = array.as_string::<i64>().value_offsets();
            let first = offsets.first().copied().unwrap_or(0);
            let last = offsets.last().copied().unwrap_or(0);
            u64::try_from(last - first).unwrap_or(0)
        }
        _ => 0,
    }
}

impl DisplayAs for CountingExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CountingExec")
    }
}

impl ExecutionPlan for CountingExec {
    fn name(&self) -> &str {
        "CountingExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = match children.pop() {
            Some(child) if children.is_empty() => child,
            _ => {
                return datafusion::common::internal_err!("CountingExec has exactly one child");
            }
        };
        Ok(Arc::new(CountingExec::new(
            input,
            Arc::clone(&self.counter),
            self.projection.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let counter = Arc::clone(&self.counter);
        let projection = self.projection.clone();
        let message = self.message;
        let schema = Arc::clone(&self.schema);
        let stream = input.map(move |batch| {
            let batch: RecordBatch = batch?;
            counter
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            if let Some(index) = message {
                let bytes = string_bytes(batch.column(index));
                counter.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            match &projection {
                Some(indices) => Ok(batch.project(indices)?),
                None => Ok(batch),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

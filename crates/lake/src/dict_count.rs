//! `GROUP BY c` with `count` aggregates over segments, answered from Parquet dictionary
//! ids. Low-cardinality strings (event names, sources, user types) are stored
//! dictionary-encoded; hashing every decoded value, as the generic aggregation does,
//! costs several times more than counting the ids per batch and hashing each distinct
//! value once. A physical optimizer rule swaps the partial aggregation over the segment
//! scan for [`DictionaryCountExec`]; the unflushed buffer keeps the generic path, and the
//! final aggregation merges both, so results are the same either way.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
#[allow(deprecated)] // The replacement (a hand-written AsyncFileReader) buys nothing here.
use datafusion::parquet::arrow::async_reader::ParquetObjectReader;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use std::collections::HashMap;
use std::sync::Arc;

/// What each output count column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counts {
    /// `count(*)`: every row of the group.
    Rows,
    /// `count(c)` of the grouped column: rows whose value is not null.
    Values,
}

#[derive(Debug, Default)]
pub struct DictionaryCount;

impl PhysicalOptimizerRule for DictionaryCount {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| match rewrite(&node)? {
            Some(new) => Ok(Transformed::yes(new)),
            None => Ok(Transformed::no(node)),
        })
        .data()
    }

    fn name(&self) -> &str {
        "sightline_dictionary_count"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The replacement for a partial aggregation this rule handles, if `node` is one.
fn rewrite(node: &Arc<dyn ExecutionPlan>) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
    let Some(agg) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *agg.mode() != AggregateMode::Partial
        || !agg.group_expr().is_single()
        || agg.group_expr().expr().len() != 1
        || agg.filter_expr().iter().any(Option::is_some)
    {
        return Ok(None);
    }
    let Some(group) = agg.group_expr().expr()[0].0.downcast_ref::<Column>() else {
        return Ok(None);
    };
    let mut counts = Vec::new();
    for a in agg.aggr_expr() {
        if a.fun().name() != "count" || a.is_distinct() || !a.order_bys().is_empty() {
            return Ok(None);
        }
        let args = a.expressions();
        let [arg] = args.as_slice() else {
            return Ok(None);
        };
        if let Some(l) = arg.downcast_ref::<Literal>() {
            if l.value().is_null() {
                return Ok(None);
            }
            counts.push(Counts::Rows);
        } else if arg
            .downcast_ref::<Column>()
            .is_some_and(|c| c.index() == group.index())
        {
            counts.push(Counts::Values);
        } else {
            return Ok(None);
        }
    }
    let input = agg.input();
    let children: Vec<Arc<dyn ExecutionPlan>> = match input.downcast_ref::<UnionExec>() {
        Some(u) => u.children().into_iter().cloned().collect(),
        None => vec![input.clone()],
    };
    let mut files: Vec<(ObjectPath, u64)> = Vec::new();
    let mut url = None;
    let mut rest = Vec::new();
    for child in children {
        match parquet_files(&child, group.name()) {
            Some((u, f)) => {
                if url.as_ref().is_some_and(|x: &String| *x != u) {
                    return Ok(None);
                }
                url = Some(u);
                files.extend(f);
            }
            None => rest.push(child),
        }
    }
    let Some(url) = url else {
        return Ok(None);
    };
    let partitions = agg
        .properties()
        .output_partitioning()
        .partition_count()
        .max(1);
    let mut parts: Vec<Arc<dyn ExecutionPlan>> = vec![Arc::new(DictionaryCountExec::new(
        url,
        files,
        group.name().to_owned(),
        counts,
        agg.schema(),
        partitions,
    ))];
    if !rest.is_empty() {
        let rest_input: Arc<dyn ExecutionPlan> = if rest.len() == 1 {
            rest.remove(0)
        } else {
            UnionExec::try_new(rest)?
        };
        parts.push(Arc::new(AggregateExec::try_new(
            AggregateMode::Partial,
            agg.group_expr().clone(),
            agg.aggr_expr().to_vec(),
            agg.filter_expr().to_vec(),
            rest_input,
            agg.input_schema(),
        )?));
    }
    Ok(Some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        UnionExec::try_new(parts)?
    }))
}

/// The files of an unfiltered Parquet scan that reads only `column`.
fn parquet_files(
    plan: &Arc<dyn ExecutionPlan>,
    column: &str,
) -> Option<(String, Vec<(ObjectPath, u64)>)> {
    let exec = plan.downcast_ref::<DataSourceExec>()?;
    let config = exec.data_source().downcast_ref::<FileScanConfig>()?;
    let schema = plan.schema();
    if config.file_source().filter().is_some()
        || config.limit.is_some()
        || schema.fields().len() != 1
        || schema.field(0).name() != column
        || !matches!(
            schema.field(0).data_type(),
            DataType::Utf8 | DataType::Utf8View
        )
        || config.file_source().file_type() != "parquet"
    {
        return None;
    }
    // A file split into byte ranges across partitions is counted once, whole.
    let mut files: Vec<(ObjectPath, u64)> = config
        .file_groups
        .iter()
        .flat_map(|g| g.files().iter())
        .map(|f| (f.object_meta.location.clone(), f.object_meta.size))
        .collect();
    files.sort();
    files.dedup();
    Some((config.object_store_url.as_str().to_owned(), files))
}

/// Counts per value of one string column, read from the Parquet files as dictionary ids.
#[derive(Debug)]
pub struct DictionaryCountExec {
    url: String,
    /// Files per output partition.
    groups: Vec<Vec<(ObjectPath, u64)>>,
    column: String,
    counts: Vec<Counts>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl DictionaryCountExec {
    fn new(
        url: String,
        files: Vec<(ObjectPath, u64)>,
        column: String,
        counts: Vec<Counts>,
        schema: SchemaRef,
        partitions: usize,
    ) -> Self {
        let n = partitions.min(files.len()).max(1);
        let mut groups = vec![Vec::new(); n];
        for (i, f) in files.into_iter().enumerate() {
            groups[i % n].push(f);
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        DictionaryCountExec {
            url,
            groups,
            column,
            counts,
            schema,
            properties,
        }
    }
}

impl DisplayAs for DictionaryCountExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "DictionaryCountExec: column={}, files={}",
            self.column,
            self.groups.iter().map(Vec::len).sum::<usize>()
        )
    }
}

impl ExecutionPlan for DictionaryCountExec {
    fn name(&self) -> &str {
        "DictionaryCountExec"
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        ) -> DfResult<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> DfResult<datafusion::common::tree_node::TreeNodeRecursion> {
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let url = datafusion::execution::object_store::ObjectStoreUrl::parse(&self.url)?;
        let store = context.runtime_env().object_store(&url)?;
        let files = self.groups.get(partition).cloned().unwrap_or_default();
        let column = self.column.clone();
        let counts = self.counts.clone();
        let schema = self.schema.clone();
        let stream = futures::stream::once(async move {
            let mut totals: HashMap<Option<String>, (i64, i64)> = HashMap::new();
            for (path, size) in files {
                count_file(store.clone(), path, size, &column, &mut totals).await?;
            }
            output(&schema, &counts, totals)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// Adds one file's (rows, non-null values) per value of `column` to `totals`.
async fn count_file(
    store: Arc<dyn object_store::ObjectStore>,
    path: ObjectPath,
    size: u64,
    column: &str,
    totals: &mut HashMap<Option<String>, (i64, i64)>,
) -> DfResult<()> {
    let pq = |e: datafusion::parquet::errors::ParquetError| DataFusionError::External(e.into());
    #[allow(deprecated)]
    let mut reader = ParquetObjectReader::new(store, path).with_file_size(size);
    let plain = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
        .await
        .map_err(pq)?;
    // Ask for the column as dictionary ids instead of decoded strings.
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == column {
                Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                )
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let index = plain
        .schema()
        .index_of(column)
        .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
    let metadata = ArrowReaderMetadata::try_new(
        plain.metadata().clone(),
        ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields))),
    )
    .map_err(pq)?;
    let mask = ProjectionMask::roots(metadata.parquet_schema(), [index]);
    let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(pq)?;
    let mut per_key: Vec<i64> = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(pq)?;
        let dict = batch.column(0).as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        per_key.clear();
        per_key.resize(values.len(), 0);
        let mut nulls = 0i64;
        for k in dict.keys().iter() {
            match k.and_then(|k| usize::try_from(k).ok()) {
                Some(k) => match per_key.get_mut(k) {
                    Some(c) => *c += 1,
                    None => {
                        return Err(DataFusionError::Internal(
                            "dictionary id out of range".into(),
                        ));
                    }
                },
                None => nulls += 1,
            }
        }
        for (k, &n) in per_key.iter().enumerate() {
            if n > 0 {
                let v = values.is_valid(k).then(|| values.value(k).to_owned());
                let counted = v.is_some();
                let slot = totals.entry(v).or_default();
                slot.0 += n;
                if counted {
                    slot.1 += n;
                }
            }
        }
        if nulls > 0 {
            totals.entry(None).or_default().0 += nulls;
        }
    }
    Ok(())
}

/// The partial aggregation's output: the values, then each count column.
fn output(
    schema: &SchemaRef,
    counts: &[Counts],
    totals: HashMap<Option<String>, (i64, i64)>,
) -> DfResult<RecordBatch> {
    let mut groups: Vec<(Option<String>, (i64, i64))> = totals.into_iter().collect();
    groups.sort();
    let keys: StringArray = groups.iter().map(|(k, _)| k.as_deref()).collect();
    let target = schema.field(0).data_type();
    let mut columns: Vec<ArrayRef> =
        vec![cast(&keys, target).map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?];
    for (i, c) in counts.iter().enumerate() {
        let values: Int64Array = groups
            .iter()
            .map(|(_, (rows, values))| match c {
                Counts::Rows => *rows,
                Counts::Values => *values,
            })
            .collect();
        let field = schema.field(i + 1);
        columns.push(
            cast(&values, field.data_type())
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?,
        );
    }
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
}

//! What a dataset is to the lake: a name, an Arrow schema with a time column, and the
//! conversion from its input rows (JSON documents) to Arrow batches.

use crate::{Error, Result};
use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

/// One dataset kind. Rows arrive as JSON documents (what the WAL stores); the dataset
/// extracts its columns. `account_id` and `region` columns are added by the dataset
/// from the scope, never taken from the row, so a row cannot claim another account.
pub trait Dataset: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn schema(&self) -> SchemaRef;
    /// Name of the timestamp column that orders rows and partitions them by hour.
    fn time_column(&self) -> &'static str;
    /// The row's event time (used to choose its hourly partition).
    fn row_time(&self, row: &serde_json::Value) -> Result<DateTime<Utc>>;
    fn to_batch(
        &self,
        account: &str,
        region: &str,
        rows: &[&serde_json::Value],
    ) -> Result<RecordBatch>;
}

pub(crate) fn arrow_err(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::Arrow(e.to_string())
}

//! What a dataset is to the lake: a name, an Arrow schema with a time column, and the
//! conversion from its input rows (JSON documents with a time) to Arrow batches.

use crate::Error;
use crate::Result;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

/// A row as producers hand it to the lake: when it happened and its JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Milliseconds since the Unix epoch; picks the hourly partition and fills the
    /// dataset's time column.
    pub time_ms: i64,
    pub doc: serde_json::Value,
}

impl Row {
    pub fn new(time: chrono::DateTime<chrono::Utc>, doc: serde_json::Value) -> Row {
        Row {
            time_ms: time.timestamp_millis(),
            doc,
        }
    }
}

/// A row while it becomes columns: the document, and its JSON text exactly as the WAL
/// holds it, so a dataset can store the text without serializing the document again.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub time_ms: i64,
    pub doc: &'a serde_json::Value,
    pub json: &'a str,
}

/// One dataset kind. `account_id` and `region` columns are filled by the dataset from
/// the scope, never taken from the row, so a row cannot claim another account.
pub trait Dataset: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn schema(&self) -> SchemaRef;
    /// Name of the timestamp column that orders rows and partitions them by hour.
    fn time_column(&self) -> &'static str;
    fn to_batch(&self, account: &str, region: &str, rows: &[RowRef<'_>]) -> Result<RecordBatch>;
    /// The time of a document that arrived without one: rows in WAL files of the
    /// first format, which kept the time only inside the document.
    fn document_time(&self, doc: &serde_json::Value) -> Result<i64>;
    /// Columns read straight from the rows' JSON text (the WAL's form), for datasets
    /// that read it faster than they would a parsed document; `None` to be handed
    /// documents instead.
    fn to_batch_from_json(
        &self,
        _account: &str,
        _region: &str,
        _rows: &[(i64, &str)],
    ) -> Option<Result<RecordBatch>> {
        None
    }
    /// How segments should lay out particular columns.
    fn column_hints(&self) -> &'static [(&'static str, ColumnHint)] {
        &[]
    }
    /// The free-text column hot segments index by trigrams (see `grams`), if any.
    fn indexed_text(&self) -> Option<IndexedText> {
        None
    }
}

/// A text column searched for literals, and the column whose non-null value marks a
/// row's text as opaque (ciphertext), which the index must neither hash nor skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedText {
    pub column: &'static str,
    pub opaque: Option<&'static str>,
}

/// A column's access pattern, for the Parquet layout of segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnHint {
    /// Nearly every value distinct (ids): no dictionary.
    Unique,
    /// Large values read a few rows at a time (the full record of a page of results):
    /// small pages, so fetching one row decompresses little beside it.
    Wide,
    /// Free text scanned whole (log messages): large pages and a stronger zstd level,
    /// since it is most of what is stored and repeats itself across rows.
    Text,
    /// Integers that grow steadily down the sorted rows (times, sequence numbers):
    /// stored as bit-packed deltas, a fraction of a byte a row where zstd over plain
    /// values keeps several.
    Ordered,
}

/// The `Utf8View` form of a string column, over the same bytes.
pub(crate) fn view(a: datafusion::arrow::array::StringArray) -> datafusion::arrow::array::ArrayRef {
    std::sync::Arc::new(datafusion::arrow::array::StringViewArray::from(&a))
}

pub(crate) fn arrow_err(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::Arrow(e.to_string())
}

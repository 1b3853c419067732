//! Turns result batches into GetQueryResults rows: `(field, value)` pairs of text in
//! output order, missing values left out as AWS leaves them out.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType, UInt64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::Result;
use crate::udf::{format_number, format_timestamp};

/// The text of one value as query results show it.
fn value_text(array: &ArrayRef, row: usize) -> Result<Option<String>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(match array.data_type() {
        DataType::Utf8View => Some(array.as_string_view().value(row).to_string()),
        DataType::Utf8 => Some(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row).to_string()),
        DataType::Float64 => format_number(array.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(row).to_string()),
        DataType::UInt64 => Some(array.as_primitive::<UInt64Type>().value(row).to_string()),
        DataType::Boolean => Some(array.as_boolean().value(row).to_string()),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            format_timestamp(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
            Some(formatter.value(row).to_string())
        }
    })
}

/// Rows of `(field, value)`; `names` label the leading columns and, when `has_ptr`, the
/// last column is `@ptr`.
pub(crate) fn rows(
    batches: &[RecordBatch],
    names: &[String],
    has_ptr: bool,
) -> Result<Vec<Vec<(String, String)>>> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let mut fields = Vec::with_capacity(names.len() + 1);
            for (index, name) in names.iter().enumerate() {
                if let Some(value) = value_text(batch.column(index), row)? {
                    fields.push((name.clone(), value));
                }
            }
            if has_ptr && let Some(value) = value_text(batch.column(names.len()), row)? {
                fields.push(("@ptr".to_string(), value));
            }
            rows.push(fields);
        }
    }
    Ok(rows)
}

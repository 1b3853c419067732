//! The filter pattern as a DataFusion predicate, so a FilterLogEvents scan evaluates
//! the pattern inside the query (in parallel, before the sort) instead of shipping
//! every message out of it.
//!
//! A pattern that only matches messages holding some literal (a term, a phrase) first
//! looks for that literal in the column's data buffers as a whole, one search over
//! megabytes instead of one per message, and evaluates itself only on the rows a hit
//! falls in: a rare term then costs about what `rg` pays for the same bytes.

use datafusion::arrow::array::{Array, AsArray, BooleanArray, StringViewArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use memchr::memmem::Finder;
use sightline_logfilter::FilterPattern;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

#[derive(Debug)]
pub struct PatternUdf {
    pattern: Arc<FilterPattern>,
    /// The longest literal every matching message holds, if the pattern has one.
    required: Option<Finder<'static>>,
    signature: Signature,
}

impl PartialEq for PatternUdf {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.text() == other.pattern.text()
    }
}

impl Eq for PatternUdf {}

impl Hash for PatternUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pattern.text().hash(state);
    }
}

impl PatternUdf {
    /// `filter_pattern(message)`: true where the pattern matches.
    pub fn call(pattern: Arc<FilterPattern>, message: Expr) -> Expr {
        let required = pattern
            .required_substrings()
            .into_iter()
            .max_by_key(String::len)
            .filter(|s| !s.is_empty())
            .map(|s| Finder::new(s.as_bytes()).into_owned());
        let udf = ScalarUDF::new_from_impl(PatternUdf {
            pattern,
            required,
            signature: Signature::uniform(
                1,
                vec![DataType::Utf8View, DataType::Utf8],
                Volatility::Immutable,
            ),
        });
        udf.call(vec![message])
    }
}

impl ScalarUDFImpl for PatternUdf {
    fn name(&self) -> &str {
        "filter_pattern"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let p = &self.pattern;
        match args.args.first() {
            Some(ColumnarValue::Array(a)) => {
                let out: BooleanArray = match a.data_type() {
                    DataType::Utf8View => {
                        let a = a.as_string_view();
                        match self.required.as_ref().and_then(|f| candidates(a, f)) {
                            Some(hit) => hit
                                .iter()
                                .enumerate()
                                .map(|(i, &h)| Some(h && p.matches(a.value(i))))
                                .collect(),
                            None => a
                                .iter()
                                .map(|m| Some(m.is_some_and(|m| p.matches(m))))
                                .collect(),
                        }
                    }
                    _ => a
                        .as_string::<i32>()
                        .iter()
                        .map(|m| Some(m.is_some_and(|m| p.matches(m))))
                        .collect(),
                };
                Ok(ColumnarValue::Array(Arc::new(out) as Arc<dyn Array>))
            }
            Some(ColumnarValue::Scalar(s)) => {
                let m = match s {
                    ScalarValue::Utf8View(Some(m)) | ScalarValue::Utf8(Some(m)) => p.matches(m),
                    _ => false,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(m))))
            }
            None => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(false)))),
        }
    }
}

/// For each row, whether its value holds the finder's needle, found by searching each
/// data buffer once. `None` when the views do not lay their values out in buffer order
/// without overlap (as a Parquet decode does), where hits could not be told apart.
fn candidates(a: &StringViewArray, finder: &Finder<'_>) -> Option<Vec<bool>> {
    let needle = finder.needle().len();
    let mut hit = vec![false; a.len()];
    let buffers = a.data_buffers();
    // Per buffer: the rows whose values it holds, in order, and where the last ends.
    let mut rows: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); buffers.len()];
    let mut ends = vec![0usize; buffers.len()];
    for (i, view) in a.views().iter().enumerate() {
        if a.is_null(i) {
            continue;
        }
        let len = *view as u32 as usize;
        if len <= 12 {
            // Held in the view itself.
            hit[i] = len >= needle && finder.find(a.value(i).as_bytes()).is_some();
            continue;
        }
        if len < needle {
            continue;
        }
        let b = (*view >> 64) as u32 as usize;
        let offset = (*view >> 96) as u32 as usize;
        if b >= buffers.len() || offset < ends[b] || offset + len > buffers[b].len() {
            return None;
        }
        ends[b] = offset + len;
        rows[b].push((i, offset, offset + len));
    }
    for (b, rows) in rows.iter().enumerate() {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            continue;
        };
        let data = buffers[b].as_slice();
        let (mut pos, end) = (first.1, last.2);
        let mut r = 0;
        while pos < end {
            let Some(found) = finder.find(&data[pos..end]) else {
                break;
            };
            let at = pos + found;
            while r + 1 < rows.len() && rows[r + 1].1 <= at {
                r += 1;
            }
            let (row, start, stop) = rows[r];
            if at >= start && at + needle <= stop {
                hit[row] = true;
                // The row is a candidate already: go on from the next one.
                pos = stop;
            } else {
                // Across two values (or in the bytes between them): a value's own
                // occurrence may start inside this one.
                pos = at + 1;
            }
        }
    }
    Some(hit)
}

#[cfg(test)]
mod tests {
    use super::candidates;
    use datafusion::arrow::array::{Array, StringViewArray, StringViewBuilder};
    use memchr::memmem::Finder;

    fn naive(a: &StringViewArray, needle: &str) -> Vec<bool> {
        (0..a.len())
            .map(|i| a.is_valid(i) && a.value(i).contains(needle))
            .collect()
    }

    #[test]
    fn buffer_search_finds_what_a_row_search_finds() {
        let values = [
            Some("a message with needle inside it"),
            Some("short"),
            Some("needle"),
            None,
            Some("this long row ends in nee"),
            Some("dle starts this one, and no match across the two"),
            Some("needleneedle twice in a long row"),
            Some("nothing to see here at all, really"),
            Some("the last one ends with needle"),
        ];
        let mut b = StringViewBuilder::new();
        for v in values {
            b.append_option(v);
        }
        let a = b.finish();
        for needle in [
            "needle",
            "nee",
            "dle",
            "x",
            "needleneedle",
            "ends in needle",
        ] {
            let f = Finder::new(needle.as_bytes());
            assert_eq!(candidates(&a, &f), Some(naive(&a, needle)), "{needle}");
        }
    }
}

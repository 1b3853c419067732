//! The filter pattern as a DataFusion predicate, so a FilterLogEvents scan evaluates
//! the pattern inside the query (in parallel, before the sort) instead of shipping
//! every message out of it.

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use sightline_logfilter::FilterPattern;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

#[derive(Debug)]
pub struct PatternUdf {
    pattern: Arc<FilterPattern>,
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
        let udf = ScalarUDF::new_from_impl(PatternUdf {
            pattern,
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
                    DataType::Utf8View => a
                        .as_string_view()
                        .iter()
                        .map(|m| Some(m.is_some_and(|m| p.matches(m))))
                        .collect(),
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

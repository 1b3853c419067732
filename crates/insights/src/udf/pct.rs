//! `pct(field, p)`: the nearest-rank percentile — the smallest value with at least `p`
//! percent of the values at or below it, so the result is always one of the values seen
//! (the documentation describes the result as a log field value).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pct {
    name: String,
    /// The percentile in millionths, so the UDF can derive `Eq` and `Hash`.
    millionths: i64,
    signature: Signature,
}

impl Pct {
    pub(crate) fn new(percentile: f64) -> Pct {
        let millionths = (percentile * 1e6).round() as i64;
        Pct {
            name: format!("pct[{percentile}]"),
            millionths,
            signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for Pct {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PctAccumulator {
            values: Vec::new(),
            percentile: self.millionths as f64 / 1e6,
        }))
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new_list(
            "values",
            Field::new_list_field(DataType::Float64, true),
            true,
        ))])
    }
}

#[derive(Debug)]
struct PctAccumulator {
    values: Vec<f64>,
    percentile: f64,
}

impl PctAccumulator {
    fn absorb(&mut self, array: &ArrayRef) {
        if let Some(numbers) = array.as_primitive_opt::<Float64Type>() {
            self.values
                .extend(numbers.iter().flatten().filter(|v| !v.is_nan()));
        }
    }
}

impl Accumulator for PctAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if let Some(array) = values.first() {
            self.absorb(array);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return Ok(ScalarValue::Float64(None));
        }
        self.values.sort_by(f64::total_cmp);
        let n = self.values.len();
        let rank = (self.percentile / 100.0 * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        Ok(ScalarValue::Float64(Some(self.values[index])))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Float64Array::from(std::mem::take(&mut self.values));
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths([values.len()]),
            Arc::new(values),
            None,
        )?;
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) {
            for i in 0..lists.len() {
                if !lists.is_null(i) {
                    self.absorb(&lists.value(i));
                }
            }
        }
        Ok(())
    }
}

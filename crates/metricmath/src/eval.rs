//! Evaluation of a parsed expression against the other queries of a request: operands,
//! operators and the alignment rules CloudWatch documents for them. The functions live
//! in [`crate::functions`].
//!
//! Arithmetic and comparison between two series run over the union of their timestamps
//! with a missing value taken as 0, as the "Using metric math" guide states for both;
//! results that are not finite numbers (division by zero, `LOG(0)`, overflow) leave no
//! datapoint.

use std::cell::OnceCell;

use crate::expr::{BinaryOp, Expr};
use crate::functions;
use crate::search::Search;
use crate::series::{Output, Series, zip_union};
use crate::{Error, Result};

/// What the evaluator needs from the request being answered.
pub trait Context {
    /// The result of another query of the request (a metric's statistics or another
    /// expression's output), usually one series; `None` when no query has that id.
    fn series(&self, id: &str) -> Option<Vec<Series>>;
    /// Every MetricStat query of the request, in request order, for `METRICS()`.
    fn all_metrics(&self) -> Vec<(String, Series)>;
    /// The period of a MetricStat query, for `PERIOD(m1)`; `None` for expressions.
    fn period(&self, id: &str) -> Option<i64>;
    /// Every timestamp of the request's range at its period, which `FILL`,
    /// `TIME_SERIES` and the calendar functions produce values for.
    fn grid(&self) -> Vec<i64>;
    /// Runs a SEARCH; the caller owns the metric catalogue and the statistics.
    fn search(&self, search: &Search) -> Result<Vec<Series>>;
}

/// Evaluates `expr`. A scalar result is returned as such; see [`Output::into_series`].
pub fn evaluate(expr: &Expr, ctx: &dyn Context) -> Result<Output> {
    let evaluator = Evaluator {
        ctx,
        grid: OnceCell::new(),
    };
    match evaluator.eval(expr)? {
        Value::Scalar(x) => Ok(Output::Scalar(x)),
        Value::Series(s) => Ok(Output::Series(vec![s])),
        Value::Array(a) => Ok(Output::Series(a)),
        other => Err(Error::type_error(format!(
            "The expression evaluates to {}, not a time series",
            other.kind()
        ))),
    }
}

/// An intermediate result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// NaN stands for "no value" (the average of an empty series, 1/0) and leaves no
    /// datapoint wherever it is combined with a series.
    Scalar(f64),
    Series(Series),
    Array(Vec<Series>),
    Str(String),
    Keyword(String),
}

impl Value {
    pub(crate) fn kind(&self) -> String {
        match self {
            Value::Scalar(_) => "a scalar".into(),
            Value::Series(_) => "a time series".into(),
            Value::Array(_) => "an array of time series".into(),
            Value::Str(_) => "a string".into(),
            Value::Keyword(k) => format!("the keyword {k}"),
        }
    }

    /// The series of a time series or an array, for functions that take either.
    pub(crate) fn into_series_list(self) -> Option<Vec<Series>> {
        match self {
            Value::Series(s) => Some(vec![s]),
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

pub(crate) struct Evaluator<'a> {
    pub(crate) ctx: &'a dyn Context,
    grid: OnceCell<Vec<i64>>,
}

impl Evaluator<'_> {
    /// The request grid, sorted and de-duplicated once per evaluation.
    pub(crate) fn grid(&self) -> &[i64] {
        self.grid.get_or_init(|| {
            let mut g = self.ctx.grid();
            g.sort_unstable();
            g.dedup();
            g
        })
    }

    pub(crate) fn eval(&self, expr: &Expr) -> Result<Value> {
        match expr {
            Expr::Number(n) => Ok(Value::Scalar(*n)),
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Keyword(k) => Ok(Value::Keyword(k.clone())),
            Expr::Id(id) => {
                let found = self
                    .ctx
                    .series(id)
                    .ok_or_else(|| Error::UnknownId(id.clone()))?;
                Ok(from_list(
                    found.into_iter().map(Series::normalized).collect(),
                ))
            }
            Expr::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match self.eval(item)? {
                        Value::Series(s) => out.push(s),
                        Value::Array(a) => out.extend(a),
                        other => {
                            return Err(Error::type_error(format!(
                                "An array can only hold time series, not {}",
                                other.kind()
                            )));
                        }
                    }
                }
                Ok(Value::Array(out))
            }
            Expr::Neg(inner) => map_numeric(self.eval(inner)?, "-", |x| -x),
            Expr::Not(inner) => map_numeric(self.eval(inner)?, "NOT", |x| {
                if x.is_nan() {
                    f64::NAN
                } else {
                    bool_value(x == 0.0)
                }
            }),
            Expr::Binary { op, left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                binary(*op, l, r)
            }
            Expr::Call { name, args } => functions::call(self, name, args),
            Expr::Search(search) => {
                let found = self.ctx.search(search)?;
                Ok(Value::Array(
                    found.into_iter().map(Series::normalized).collect(),
                ))
            }
        }
    }
}

/// A query result: one series stands alone, anything else is an array.
fn from_list(mut list: Vec<Series>) -> Value {
    if list.len() == 1
        && let Some(s) = list.pop()
    {
        return Value::Series(s);
    }
    Value::Array(list)
}

pub(crate) fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Applies a unary numeric operation to scalars, series and arrays alike.
pub(crate) fn map_numeric(v: Value, what: &str, f: impl Fn(f64) -> f64) -> Result<Value> {
    match v {
        Value::Scalar(x) => Ok(Value::Scalar(f(x))),
        Value::Series(s) => Ok(Value::Series(s.map_values(f))),
        Value::Array(a) => Ok(Value::Array(a.iter().map(|s| s.map_values(&f)).collect())),
        other => Err(Error::type_error(format!(
            "{what} cannot be applied to {}",
            other.kind()
        ))),
    }
}

/// One operator on two numbers. NaN in means NaN out, so "no value" never turns into a
/// comparison result; division by zero yields NaN (no datapoint) rather than infinity.
fn apply(op: BinaryOp, x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div if y == 0.0 => f64::NAN,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Eq => bool_value(x == y),
        BinaryOp::Ne => bool_value(x != y),
        BinaryOp::Le => bool_value(x <= y),
        BinaryOp::Ge => bool_value(x >= y),
        BinaryOp::Lt => bool_value(x < y),
        BinaryOp::Gt => bool_value(x > y),
        BinaryOp::And => bool_value(x != 0.0 && y != 0.0),
        BinaryOp::Or => bool_value(x != 0.0 || y != 0.0),
    }
}

/// Combines two operands: scalars broadcast over series, series align on the union of
/// their timestamps (the result keeps the left label), and an array applies the
/// operation to each of its series, each result keeping its element's label.
pub(crate) fn binary(op: BinaryOp, l: Value, r: Value) -> Result<Value> {
    let f = move |x, y| apply(op, x, y);
    Ok(match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(f(a, b)),
        (Value::Series(s), Value::Scalar(b)) => Value::Series(s.map_values(|x| f(x, b))),
        (Value::Scalar(a), Value::Series(s)) => Value::Series(s.map_values(|y| f(a, y))),
        (Value::Series(a), Value::Series(b)) => Value::Series(zip_union(&a.label, &a, &b, f)),
        (Value::Array(xs), Value::Array(ys)) if ys.len() == 1 => {
            let y = Value::Series(ys.into_iter().next().unwrap_or_default());
            each(xs, |x| binary(op, Value::Series(x), y.clone()))?
        }
        (Value::Array(xs), Value::Array(ys)) if xs.len() == 1 => {
            let x = Value::Series(xs.into_iter().next().unwrap_or_default());
            each(ys, |y| {
                keep_label(&y.label.clone(), binary(op, x.clone(), Value::Series(y)))
            })?
        }
        (Value::Array(_), Value::Array(_)) => {
            return Err(Error::type_error(format!(
                "Operator {} cannot combine two arrays of time series",
                op.symbol()
            )));
        }
        (Value::Array(xs), other @ (Value::Scalar(_) | Value::Series(_))) => {
            each(xs, |x| binary(op, Value::Series(x), other.clone()))?
        }
        (other @ (Value::Scalar(_) | Value::Series(_)), Value::Array(ys)) => each(ys, |y| {
            keep_label(
                &y.label.clone(),
                binary(op, other.clone(), Value::Series(y)),
            )
        })?,
        (l, r) => {
            let bad = if matches!(l, Value::Str(_) | Value::Keyword(_)) {
                l
            } else {
                r
            };
            return Err(Error::type_error(format!(
                "Operator {} cannot be applied to {}",
                op.symbol(),
                bad.kind()
            )));
        }
    })
}

/// Gives a result the label of the array element it was computed from, whichever side
/// of the operator that element stood on.
fn keep_label(label: &str, result: Result<Value>) -> Result<Value> {
    result.map(|v| match v {
        Value::Series(mut s) => {
            s.label = label.to_string();
            Value::Series(s)
        }
        other => other,
    })
}

/// Maps each series of an array through an operation that yields one series each.
fn each(list: Vec<Series>, mut f: impl FnMut(Series) -> Result<Value>) -> Result<Value> {
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        match f(s)? {
            Value::Series(r) => out.push(r),
            Value::Array(a) => out.extend(a),
            other => {
                return Err(Error::type_error(format!(
                    "expected a time series but got {}",
                    other.kind()
                )));
            }
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, points: &[(i64, f64)]) -> Series {
        Series::from_points(label, points.to_vec())
    }

    #[test]
    fn documented_comparison_example() {
        let m1 = s("m1", &[(0, 30.0), (60, 20.0), (120, 0.0), (180, 0.0)]);
        let m2 = s("m2", &[(0, 20.0), (120, 20.0)]);
        let lt = binary(
            BinaryOp::Lt,
            Value::Series(m1.clone()),
            Value::Series(m2.clone()),
        );
        let Ok(Value::Series(lt)) = lt else {
            panic!("expected a series");
        };
        assert_eq!(lt.values, vec![0.0, 0.0, 1.0, 0.0]);
        assert_eq!(lt.label, "m1");
    }

    #[test]
    fn division_by_zero_drops_points() {
        let m1 = s("m1", &[(0, 1.0), (60, 2.0)]);
        let m2 = s("m2", &[(0, 0.0), (60, 4.0)]);
        let Ok(Value::Series(q)) = binary(BinaryOp::Div, Value::Series(m1), Value::Series(m2))
        else {
            panic!("expected a series");
        };
        assert_eq!(q.timestamps, vec![60]);
        assert_eq!(q.values, vec![0.5]);
        assert!(matches!(
            binary(BinaryOp::Div, Value::Scalar(1.0), Value::Scalar(0.0)),
            Ok(Value::Scalar(x)) if x.is_nan()
        ));
    }

    #[test]
    fn strings_are_refused() {
        let e = binary(BinaryOp::Div, Value::Str("a".into()), Value::Scalar(1.0));
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("Operator / cannot be applied to a string".to_string())
        );
    }
}

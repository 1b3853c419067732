//! The metric math functions, each with the argument kinds the CloudWatch function table
//! lists for it. Arity was already checked by the parser; this module checks kinds and
//! computes.

use crate::calendar;
use crate::eval::{Evaluator, Value, map_numeric};
use crate::expr::Expr;
use crate::series::{Series, union_all};
use crate::{Error, Result};

/// Evaluates the call `name(args)`; `name` is already upper-case.
pub(crate) fn call(ev: &Evaluator, name: &str, args: &[Expr]) -> Result<Value> {
    if name == "PERIOD" {
        return period(ev, args);
    }
    let mut values = Vec::with_capacity(args.len());
    for a in args {
        values.push(ev.eval(a)?);
    }
    let mut values = values.into_iter();
    let first = values.next();
    let second = values.next();
    let third = values.next();
    let fourth = values.next();
    let arg = first.unwrap_or(Value::Str(String::new()));
    match name {
        "ABS" => numeric(name, arg, f64::abs),
        "CEIL" => numeric(name, arg, f64::ceil),
        "FLOOR" => numeric(name, arg, f64::floor),
        "LOG" => numeric(name, arg, f64::ln),
        "LOG10" => numeric(name, arg, f64::log10),
        "SQRT" => numeric(name, arg, f64::sqrt),
        "AVG" => aggregate(name, arg, Stat::Avg),
        "SUM" => aggregate(name, arg, Stat::Sum),
        "MIN" => aggregate(name, arg, Stat::Min),
        "MAX" => aggregate(name, arg, Stat::Max),
        "STDDEV" => aggregate(name, arg, Stat::Stddev),
        "DATAPOINT_COUNT" => datapoint_count(arg),
        "METRIC_COUNT" => match arg {
            Value::Series(_) => Ok(Value::Scalar(1.0)),
            Value::Array(a) => Ok(Value::Scalar(a.len() as f64)),
            other => Err(kind_error(name, "an array of time series", &other)),
        },
        "DIFF" => per_series(name, arg, |prev, cur| Some(cur.1 - prev.1)),
        "DIFF_TIME" => per_series(name, arg, |prev, cur| Some((cur.0 - prev.0) as f64)),
        "RATE" => per_series(name, arg, |prev, cur| {
            let dt = cur.0 - prev.0;
            (dt != 0).then(|| (cur.1 - prev.1) / dt as f64)
        }),
        "RUNNING_SUM" => running_sum(arg),
        "FILL" => fill(ev, arg, second),
        "IF" => if_function(arg, second, third),
        "METRICS" => metrics(ev, first_or_none(args, arg)),
        "FIRST" | "LAST" => first_last(name, arg),
        "SORT" => sort(arg, second, third, fourth),
        "SLICE" => slice(arg, second, third),
        "REMOVE_EMPTY" => match arg.into_series_list() {
            Some(list) => Ok(Value::Array(
                list.into_iter().filter(|s| !s.is_empty()).collect(),
            )),
            None => Err(Error::type_error(
                "REMOVE_EMPTY expects an array of time series",
            )),
        },
        "TIME_SERIES" => match arg {
            Value::Scalar(x) => Ok(Value::Series(Series::from_points(
                "",
                ev.grid().iter().map(|&t| (t, x)).collect(),
            ))),
            other => Err(kind_error(name, "a scalar", &other)),
        },
        "MINUTE" | "HOUR" | "DAY" | "DATE" | "MONTH" | "YEAR" | "EPOCH" => {
            let label = match &arg {
                Value::Series(s) => s.label.clone(),
                Value::Array(_) => String::new(),
                other => return Err(kind_error(name, "a time series", other)),
            };
            let points = ev
                .grid()
                .iter()
                .map(|&t| (t, calendar::field(name, t)))
                .collect();
            Ok(Value::Series(Series::from_points(label, points)))
        }
        other => Err(Error::UnknownFunction(other.to_string())),
    }
}

/// `METRICS()` has no argument at all; tell that apart from `METRICS("")`.
fn first_or_none(args: &[Expr], arg: Value) -> Option<Value> {
    (!args.is_empty()).then_some(arg)
}

pub(crate) fn kind_error(function: &str, expected: &str, got: &Value) -> Error {
    Error::type_error(format!("{function} expects {expected}, not {}", got.kind()))
}

fn numeric(name: &str, arg: Value, f: fn(f64) -> f64) -> Result<Value> {
    map_numeric(arg, name, f)
}

#[derive(Clone, Copy)]
enum Stat {
    Avg,
    Sum,
    Min,
    Max,
    Stddev,
}

/// One number summarising `values`; NaN when there is nothing to summarise (except SUM,
/// whose empty sum is 0).
fn summarise(values: &[f64], stat: Stat) -> f64 {
    let n = values.len() as f64;
    match stat {
        Stat::Sum => values.iter().sum(),
        _ if values.is_empty() => f64::NAN,
        Stat::Avg => values.iter().sum::<f64>() / n,
        Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::Stddev => {
            let mean = values.iter().sum::<f64>() / n;
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
        }
    }
}

/// AVG, SUM, MIN, MAX and STDDEV: over one series a scalar; over an array a series
/// computed at each timestamp across the array. AVG (and with it SUM and STDDEV) counts
/// a series missing at a timestamp as 0, as the function table says for AVG; MIN and
/// MAX look only at the values present.
fn aggregate(name: &str, arg: Value, stat: Stat) -> Result<Value> {
    match arg {
        Value::Scalar(x) => Ok(Value::Scalar(match stat {
            Stat::Stddev if !x.is_nan() => 0.0,
            _ => x,
        })),
        Value::Series(s) => Ok(Value::Scalar(summarise(&s.values[..s.len()], stat))),
        Value::Array(list) => {
            let points = union_all(&list)
                .into_iter()
                .map(|t| {
                    let present: Vec<f64> = list.iter().filter_map(|s| s.value_at(t)).collect();
                    let value = match stat {
                        Stat::Min | Stat::Max => summarise(&present, stat),
                        _ => {
                            let mut all = present;
                            all.resize(list.len(), 0.0);
                            summarise(&all, stat)
                        }
                    };
                    (t, value)
                })
                .collect();
            Ok(Value::Series(Series::from_points("", points)))
        }
        other => Err(kind_error(
            name,
            "a time series or an array of time series",
            &other,
        )),
    }
}

fn datapoint_count(arg: Value) -> Result<Value> {
    match arg {
        Value::Series(s) => Ok(Value::Scalar(s.len() as f64)),
        Value::Array(list) => {
            let points = union_all(&list)
                .into_iter()
                .map(|t| {
                    let n = list.iter().filter(|s| s.value_at(t).is_some()).count();
                    (t, n as f64)
                })
                .collect();
            Ok(Value::Series(Series::from_points("", points)))
        }
        other => Err(kind_error(
            "DATAPOINT_COUNT",
            "a time series or an array of time series",
            &other,
        )),
    }
}

/// DIFF, DIFF_TIME and RATE: one value per pair of consecutive datapoints, stamped at
/// the later one, so the first datapoint has none.
fn per_series(
    name: &str,
    arg: Value,
    f: impl Fn((i64, f64), (i64, f64)) -> Option<f64>,
) -> Result<Value> {
    let one = |s: &Series| {
        let pts: Vec<(i64, f64)> = s.points().collect();
        let out = pts
            .windows(2)
            .filter_map(|w| f(w[0], w[1]).map(|v| (w[1].0, v)))
            .collect();
        Series::from_points(s.label.clone(), out)
    };
    match arg {
        Value::Series(s) => Ok(Value::Series(one(&s))),
        Value::Array(list) => Ok(Value::Array(list.iter().map(one).collect())),
        other => Err(kind_error(
            name,
            "a time series or an array of time series",
            &other,
        )),
    }
}

fn running_sum(arg: Value) -> Result<Value> {
    let one = |s: &Series| {
        let mut total = 0.0;
        let pts = s
            .points()
            .map(|(t, v)| {
                total += v;
                (t, total)
            })
            .collect();
        Series::from_points(s.label.clone(), pts)
    };
    match arg {
        Value::Series(s) => Ok(Value::Series(one(&s))),
        Value::Array(list) => Ok(Value::Array(list.iter().map(one).collect())),
        other => Err(kind_error(
            "RUNNING_SUM",
            "a time series or an array of time series",
            &other,
        )),
    }
}

enum Filler {
    Value(f64),
    Series(Series),
    Repeat,
    Linear,
}

/// FILL: every timestamp of the request grid gets a value; datapoints the series has
/// (on the grid or not) are kept as they are.
fn fill(ev: &Evaluator, target: Value, filler: Option<Value>) -> Result<Value> {
    let filler = match filler {
        Some(Value::Scalar(x)) => Filler::Value(x),
        Some(Value::Series(s)) => Filler::Series(s),
        Some(Value::Keyword(k)) if k == "REPEAT" => Filler::Repeat,
        Some(Value::Keyword(k)) if k == "LINEAR" => Filler::Linear,
        Some(other) => {
            return Err(kind_error(
                "FILL",
                "a scalar, a time series, REPEAT or LINEAR as its second argument",
                &other,
            ));
        }
        None => return Err(Error::type_error("FILL needs a value to fill with")),
    };
    let grid = ev.grid();
    let one = |s: &Series| fill_one(s, &filler, grid);
    match target {
        Value::Series(s) => Ok(Value::Series(one(&s))),
        Value::Array(list) => Ok(Value::Array(list.iter().map(one).collect())),
        other => Err(kind_error(
            "FILL",
            "a time series or an array of time series",
            &other,
        )),
    }
}

fn fill_one(s: &Series, filler: &Filler, grid: &[i64]) -> Series {
    let own: Vec<(i64, f64)> = s.points().collect();
    let mut times: Vec<i64> = grid
        .iter()
        .copied()
        .chain(own.iter().map(|p| p.0))
        .collect();
    times.sort_unstable();
    times.dedup();
    let points = times
        .into_iter()
        .filter_map(|t| {
            // Index of the first datapoint at or after t.
            let i = own.partition_point(|p| p.0 < t);
            if let Some(p) = own.get(i).filter(|p| p.0 == t) {
                return Some((t, p.1));
            }
            let before = i.checked_sub(1).and_then(|j| own.get(j));
            let after = own.get(i);
            let v = match filler {
                Filler::Value(x) => Some(*x),
                Filler::Series(f) => f.value_at(t),
                Filler::Repeat => before.map(|p| p.1),
                Filler::Linear => match (before, after) {
                    (Some(a), Some(b)) => {
                        Some(a.1 + (b.1 - a.1) * (t - a.0) as f64 / (b.0 - a.0) as f64)
                    }
                    _ => None,
                },
            };
            v.map(|v| (t, v))
        })
        .collect();
    Series::from_points(s.label.clone(), points)
}

/// IF(condition, a[, b]) with the per-datapoint rules of the "Using IF expressions"
/// guide: where the condition holds take `a` (0 if `a` is a series without that
/// datapoint), elsewhere take `b` (no datapoint if `b` lacks it or is omitted).
fn if_function(cond: Value, a: Option<Value>, b: Option<Value>) -> Result<Value> {
    let Some(a) = a else {
        return Err(Error::type_error(
            "IF needs a value for when the condition holds",
        ));
    };
    for v in std::iter::once(&a).chain(b.as_ref()) {
        if matches!(v, Value::Str(_) | Value::Keyword(_)) {
            return Err(kind_error("IF", "scalars or time series as its values", v));
        }
    }
    match cond {
        Value::Scalar(c) => {
            if !c.is_nan() && c != 0.0 {
                Ok(a)
            } else if let Some(b) = b {
                Ok(b)
            } else {
                let label = match &a {
                    Value::Series(s) => s.label.clone(),
                    _ => String::new(),
                };
                Ok(Value::Series(Series::new(label, vec![], vec![])))
            }
        }
        Value::Series(c) => if_series(&c, &a, b.as_ref()).map(Value::Series),
        Value::Array(conds) => {
            let pick = |v: &Value, i: usize| -> Result<Value> {
                match v {
                    Value::Array(list) if list.len() == conds.len() => {
                        Ok(Value::Series(list.get(i).cloned().unwrap_or_default()))
                    }
                    Value::Array(_) => Err(Error::type_error(
                        "IF needs arrays of the same length as its condition",
                    )),
                    other => Ok(other.clone()),
                }
            };
            let mut out = Vec::with_capacity(conds.len());
            for (i, c) in conds.iter().enumerate() {
                let ai = pick(&a, i)?;
                let bi = match &b {
                    Some(b) => Some(pick(b, i)?),
                    None => None,
                };
                out.push(if_series(c, &ai, bi.as_ref())?);
            }
            Ok(Value::Array(out))
        }
        other => Err(kind_error(
            "IF",
            "a scalar or a time series as its condition",
            &other,
        )),
    }
}

fn if_series(cond: &Series, a: &Value, b: Option<&Value>) -> Result<Series> {
    let label = match (a, b) {
        (Value::Series(s), _) | (_, Some(Value::Series(s))) => s.label.clone(),
        _ => cond.label.clone(),
    };
    let mut points = Vec::with_capacity(cond.len());
    for (t, c) in cond.points() {
        let v = if c != 0.0 {
            match a {
                Value::Scalar(x) => Some(*x),
                Value::Series(s) => Some(s.value_at(t).unwrap_or(0.0)),
                other => return Err(kind_error("IF", "a scalar or a time series", other)),
            }
        } else {
            match b {
                None => None,
                Some(Value::Scalar(y)) => Some(*y),
                Some(Value::Series(s)) => s.value_at(t),
                Some(other) => {
                    return Err(kind_error("IF", "a scalar or a time series", other));
                }
            }
        };
        if let Some(v) = v {
            points.push((t, v));
        }
    }
    Ok(Series::from_points(label, points))
}

/// METRICS() and METRICS("text"): the MetricStat queries whose Id contains the text.
fn metrics(ev: &Evaluator, filter: Option<Value>) -> Result<Value> {
    let filter = match filter {
        None => String::new(),
        Some(Value::Str(s)) => s,
        Some(other) => return Err(kind_error("METRICS", "a string", &other)),
    };
    Ok(Value::Array(
        ev.ctx
            .all_metrics()
            .into_iter()
            .filter(|(id, _)| id.contains(&filter))
            .map(|(_, s)| s.normalized())
            .collect(),
    ))
}

/// PERIOD(m1): only the id of a metric query has a period of its own.
fn period(ev: &Evaluator, args: &[Expr]) -> Result<Value> {
    let Some(Expr::Id(id)) = args.first() else {
        return Err(Error::type_error("PERIOD expects the id of a metric query"));
    };
    if let Some(p) = ev.ctx.period(id) {
        return Ok(Value::Scalar(p as f64));
    }
    if ev.ctx.series(id).is_some() {
        return Err(Error::type_error(format!(
            "PERIOD expects the id of a metric query, but {id} is an expression"
        )));
    }
    Err(Error::UnknownId(id.clone()))
}

fn first_last(name: &str, arg: Value) -> Result<Value> {
    match arg {
        Value::Series(s) => Ok(Value::Series(s)),
        Value::Array(list) => {
            let pick = if name == "FIRST" {
                list.into_iter().next()
            } else {
                list.into_iter().last()
            };
            Ok(Value::Series(pick.unwrap_or_default()))
        }
        other => Err(kind_error(name, "an array of time series", &other)),
    }
}

/// A scalar argument used as a count or index.
fn whole(function: &str, v: Option<Value>) -> Result<Option<usize>> {
    match v {
        None => Ok(None),
        Some(Value::Scalar(x)) if x >= 0.0 && x.is_finite() => Ok(Some(x.floor() as usize)),
        Some(other) => Err(kind_error(function, "a non-negative number", &other)),
    }
}

/// SORT(array, AVG|MIN|MAX|SUM, ASC|DESC[, limit]). Series without datapoints have no
/// value to sort by and go last whatever the order.
fn sort(
    arg: Value,
    function: Option<Value>,
    order: Option<Value>,
    limit: Option<Value>,
) -> Result<Value> {
    let Some(mut list) = arg.into_series_list() else {
        return Err(Error::type_error("SORT expects an array of time series"));
    };
    let stat = match function {
        Some(Value::Keyword(k)) if k == "AVG" => Stat::Avg,
        Some(Value::Keyword(k)) if k == "MIN" => Stat::Min,
        Some(Value::Keyword(k)) if k == "MAX" => Stat::Max,
        Some(Value::Keyword(k)) if k == "SUM" => Stat::Sum,
        _ => {
            return Err(Error::type_error(
                "SORT expects AVG, MIN, MAX or SUM as its second argument",
            ));
        }
    };
    let descending = match order {
        Some(Value::Keyword(k)) if k == "ASC" => false,
        Some(Value::Keyword(k)) if k == "DESC" => true,
        _ => {
            return Err(Error::type_error(
                "SORT expects ASC or DESC as its third argument",
            ));
        }
    };
    let limit = whole("SORT", limit)?;
    let key = |s: &Series| (!s.is_empty()).then(|| summarise(&s.values[..s.len()], stat));
    list.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) if descending => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    if let Some(n) = limit {
        list.truncate(n);
    }
    Ok(Value::Array(list))
}

/// SLICE(array, start[, end]): zero-based, end exclusive, clamped to the array.
fn slice(arg: Value, start: Option<Value>, end: Option<Value>) -> Result<Value> {
    let Some(list) = arg.into_series_list() else {
        return Err(Error::type_error("SLICE expects an array of time series"));
    };
    let start = whole("SLICE", start)?.unwrap_or(0).min(list.len());
    let end = whole("SLICE", end)?.unwrap_or(list.len()).min(list.len());
    Ok(Value::Array(
        list.into_iter().take(end).skip(start).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(summarise(&[1.0, 2.0, 3.0], Stat::Avg), 2.0);
        assert_eq!(summarise(&[], Stat::Sum), 0.0);
        assert!(summarise(&[], Stat::Max).is_nan());
        assert_eq!(
            summarise(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], Stat::Stddev),
            2.0
        );
    }

    #[test]
    fn linear_fill_between_points() {
        let s = Series::from_points("a", vec![(0, 0.0), (180, 3.0)]);
        let f = fill_one(&s, &Filler::Linear, &[0, 60, 120, 180, 240]);
        assert_eq!(f.timestamps, vec![0, 60, 120, 180]);
        assert_eq!(f.values, vec![0.0, 1.0, 2.0, 3.0]);
    }
}

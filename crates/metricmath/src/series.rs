//! The data an expression reads and yields: time series as parallel timestamp and value
//! columns (the shape MetricDataResult already has), plus the alignment helpers every
//! operator shares.

use crate::{Error, Result};

/// One labelled time series. Timestamps are epoch seconds in ascending order; the
/// evaluator sorts and de-duplicates whatever the caller hands it, so a sloppy context
/// cannot produce out-of-order results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub label: String,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(label: impl Into<String>, timestamps: Vec<i64>, values: Vec<f64>) -> Series {
        Series {
            label: label.into(),
            timestamps,
            values,
        }
    }

    /// Builds a series from `(timestamp, value)` pairs, dropping the NaN and infinite
    /// values that division by zero, LOG of zero or overflow leave behind: CloudWatch
    /// returns no datapoint there rather than a non-number.
    pub fn from_points(label: impl Into<String>, points: Vec<(i64, f64)>) -> Series {
        let mut timestamps = Vec::with_capacity(points.len());
        let mut values = Vec::with_capacity(points.len());
        for (t, v) in points {
            if v.is_finite() {
                timestamps.push(t);
                values.push(v);
            }
        }
        Series {
            label: label.into(),
            timestamps,
            values,
        }
    }

    /// The datapoints as pairs; extra entries of the longer column are ignored.
    pub fn points(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.timestamps
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    pub fn len(&self) -> usize {
        self.timestamps.len().min(self.values.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `t`, found by binary search on the (sorted) timestamps.
    pub fn value_at(&self, t: i64) -> Option<f64> {
        let n = self.len();
        let i = self.timestamps[..n].binary_search(&t).ok()?;
        self.values.get(i).copied()
    }

    /// Sorted by time with one value per timestamp (the last given wins) and only finite
    /// values, which is what every operator below assumes.
    pub(crate) fn normalized(self) -> Series {
        let mut points: Vec<(i64, f64)> = self.points().collect();
        let sorted = points.windows(2).all(|w| w[0].0 < w[1].0);
        if !sorted {
            points.sort_by_key(|p| p.0);
            let mut deduped: Vec<(i64, f64)> = Vec::with_capacity(points.len());
            for p in points {
                match deduped.last_mut() {
                    Some(last) if last.0 == p.0 => *last = p,
                    _ => deduped.push(p),
                }
            }
            points = deduped;
        }
        Series::from_points(self.label, points)
    }

    pub(crate) fn map_values(&self, f: impl Fn(f64) -> f64) -> Series {
        Series::from_points(
            self.label.clone(),
            self.points().map(|(t, v)| (t, f(v))).collect(),
        )
    }
}

/// What an expression evaluates to. Only `Series` is a valid final result of a
/// MetricDataQuery; a scalar is legal inside a larger expression, so the evaluator
/// returns it and leaves the refusal to [`Output::into_series`].
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// One time series, or the array an expression such as `METRICS()` yields.
    Series(Vec<Series>),
    Scalar(f64),
}

impl Output {
    /// The series of a final result, refusing a bare scalar as CloudWatch does.
    pub fn into_series(self) -> Result<Vec<Series>> {
        match self {
            Output::Series(s) => Ok(s),
            Output::Scalar(_) => Err(Error::type_error(
                "The final result of a math expression must be a time series or an array \
                 of time series, not a scalar",
            )),
        }
    }
}

/// Every timestamp of either (sorted) series, once, in order.
pub(crate) fn union_timestamps(a: &Series, b: &Series) -> Vec<i64> {
    let (x, y) = (&a.timestamps[..a.len()], &b.timestamps[..b.len()]);
    let mut out = Vec::with_capacity(x.len().max(y.len()));
    let (mut i, mut j) = (0, 0);
    while i < x.len() || j < y.len() {
        let next = match (x.get(i), y.get(j)) {
            (Some(&p), Some(&q)) if p == q => {
                i += 1;
                j += 1;
                p
            }
            (Some(&p), Some(&q)) if p < q => {
                i += 1;
                p
            }
            (Some(_), Some(&q)) => {
                j += 1;
                q
            }
            (Some(&p), None) => {
                i += 1;
                p
            }
            (None, Some(&q)) => {
                j += 1;
                q
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

/// Every timestamp of any of the series, sorted and unique.
pub(crate) fn union_all(series: &[Series]) -> Vec<i64> {
    let mut all: Vec<i64> = series
        .iter()
        .flat_map(|s| s.timestamps[..s.len()].iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Combines two series point by point over the union of their timestamps. CloudWatch
/// documents that arithmetic and comparison treat a value missing from one side as 0,
/// so `m1 - m2` still has a point where only `m1` reported.
pub(crate) fn zip_union(
    label: &str,
    a: &Series,
    b: &Series,
    f: impl Fn(f64, f64) -> f64,
) -> Series {
    let points = union_timestamps(a, b)
        .into_iter()
        .map(|t| {
            let x = a.value_at(t).unwrap_or(0.0);
            let y = b.value_at(t).unwrap_or(0.0);
            (t, f(x, y))
        })
        .collect();
    Series::from_points(label, points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_unsorted_input() {
        let s = Series::new("a", vec![60, 0, 60, 120], vec![1.0, 2.0, 3.0, f64::NAN]).normalized();
        assert_eq!(s.timestamps, vec![0, 60]);
        assert_eq!(s.values, vec![2.0, 3.0]);
    }

    #[test]
    fn mismatched_columns_do_not_panic() {
        let s = Series::new("a", vec![0, 60, 120], vec![1.0]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.value_at(120), None);
        assert_eq!(s.value_at(0), Some(1.0));
        let u = union_timestamps(&s, &Series::new("b", vec![30], vec![]));
        assert_eq!(u, vec![0]);
    }

    #[test]
    fn union_merges() {
        let a = Series::new("a", vec![0, 60, 180], vec![1.0, 1.0, 1.0]);
        let b = Series::new("b", vec![60, 120], vec![1.0, 1.0]);
        assert_eq!(union_timestamps(&a, &b), vec![0, 60, 120, 180]);
        let z = zip_union("z", &a, &b, |x, y| x - y);
        assert_eq!(z.values, vec![1.0, 0.0, -1.0, 1.0]);
    }

    #[test]
    fn scalar_is_not_a_final_result() {
        assert!(Output::Scalar(1.0).into_series().is_err());
        assert_eq!(Output::Series(vec![]).into_series(), Ok(vec![]));
    }
}

//! PutMetricData: every CloudWatch limit checked before anything is stored, then the
//! samples appended to the lake (durable before the call returns) and added to the
//! recent window. Log metric filters come in through [`MetricSink`] the same way.

use crate::engine::{CloudWatch, now_ms, scope_key};
use crate::model::{Agg, Dimension, SeriesKey, UNITS};
use crate::sketch::Sketch;
use crate::{Error, Result};
use async_trait::async_trait;
use serde::Deserialize;
use sightline_core::{MetricDatum, MetricSink, Scope};
use sightline_lake::datasets::metrics::{self as dataset, Sample};
use sightline_wire::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

pub const MAX_DATUMS: usize = 1000;
pub const MAX_DIMENSIONS: usize = 30;
pub const MAX_VALUES: usize = 150;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDatumIn {
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub timestamp: Option<Timestamp>,
    pub value: Option<f64>,
    pub statistic_values: Option<StatisticSet>,
    pub values: Option<Vec<f64>>,
    pub counts: Option<Vec<f64>>,
    pub unit: Option<String>,
    pub storage_resolution: Option<i64>,
    /// Statistics the sender measured exactly, kept over those computed from `Values`,
    /// which then only give the distribution's shape for percentiles (OTLP histograms,
    /// whose buckets are turned into values). Never read from the wire.
    #[serde(skip)]
    pub exact: Option<StatisticSet>,
}

/// CloudWatch rejects magnitudes outside 2^-260 … 2^360 and every non-finite value.
pub(crate) fn valid_value(v: f64) -> bool {
    v.is_finite() && (v == 0.0 || (v.abs() <= 2f64.powi(360) && v.abs() >= 2f64.powi(-260)))
}

fn show(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        v.to_string()
    }
}

fn invalid_value(v: f64, path: &str) -> Error {
    Error::InvalidParameterValue(format!(
        "The value {} for parameter {path} is invalid.",
        show(v)
    ))
}

pub fn check_namespace(ns: &str, param: &str) -> Result<()> {
    if ns.is_empty() || ns.len() > 255 || ns.starts_with(':') {
        return Err(Error::InvalidParameterValue(format!(
            "The value {ns} for parameter {param} is invalid."
        )));
    }
    Ok(())
}

/// A member path (`MetricData.member.3`) written only when a message needs it: every
/// datum of a request has one, and formatting them all would cost more than checking.
pub struct Member<'a>(pub &'a str, pub usize);

impl std::fmt::Display for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.member.{}", self.0, self.1 + 1)
    }
}

/// `path` followed by a member name, formatted on demand.
pub struct Field<'a, P: std::fmt::Display>(pub &'a P, pub &'a str);

impl<P: std::fmt::Display> std::fmt::Display for Field<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

pub fn check_dimensions(
    dims: &[Dimension],
    path: &(impl std::fmt::Display + ?Sized),
) -> Result<Vec<(String, String)>> {
    if dims.len() > MAX_DIMENSIONS {
        return Err(Error::InvalidParameterValue(format!(
            "The collection {path} must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(dims.len());
    for (j, d) in dims.iter().enumerate() {
        let p = format_args!("{path}.member.{}", j + 1);
        if d.name.is_empty() || d.name.len() > 255 {
            return Err(Error::InvalidParameterValue(format!(
                "The parameter {p}.Name must be between 1 and 255 characters long."
            )));
        }
        if d.value.is_empty() || d.value.len() > 1024 {
            return Err(Error::InvalidParameterValue(format!(
                "The parameter {p}.Value must be between 1 and 1024 characters long."
            )));
        }
        if out.iter().any(|(n, _)| *n == d.name) {
            return Err(Error::InvalidParameterValue(format!(
                "No metric may have duplicate dimension names. The dimension name {} appears more than once in {path}.",
                d.name
            )));
        }
        out.push((d.name.clone(), d.value.clone()));
    }
    out.sort();
    Ok(out)
}

pub fn check_unit(unit: &str, param: &(impl std::fmt::Display + ?Sized)) -> Result<()> {
    if UNITS.contains(&unit) {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "The value {unit} for parameter {param} is invalid."
        )))
    }
}

/// The samples one request stores, grouped by metric.
pub struct Prepared {
    pub samples: Vec<Sample>,
    /// (metric, index range into `samples`).
    pub metrics: Vec<(SeriesKey, std::ops::Range<usize>)>,
    pub bytes: usize,
}

pub fn prepare(namespace: &str, data: &[MetricDatumIn], now_ms: i64) -> Result<Prepared> {
    check_namespace(namespace, "Namespace")?;
    if namespace.starts_with("AWS/") {
        return Err(Error::InvalidParameterValue(format!(
            "The value {namespace} for parameter Namespace is invalid. Namespaces beginning with AWS/ are reserved for AWS services."
        )));
    }
    if data.is_empty() {
        return Err(Error::MissingParameter(
            "The parameter MetricData is required.".into(),
        ));
    }
    if data.len() > MAX_DATUMS {
        return Err(Error::InvalidParameterValue(format!(
            "The collection MetricData must not have a size greater than {MAX_DATUMS}."
        )));
    }
    let ns: Arc<str> = namespace.into();
    let mut units: HashMap<&str, Arc<str>> = HashMap::new();
    let mut samples = Vec::with_capacity(data.len());
    let mut metrics: Vec<(SeriesKey, std::ops::Range<usize>)> = Vec::with_capacity(data.len());
    let mut bytes = 0;
    for (i, d) in data.iter().enumerate() {
        let p = Member("MetricData", i);
        let name = d.metric_name.as_deref().ok_or_else(|| {
            Error::MissingParameter(format!("The parameter {p}.MetricName is required."))
        })?;
        if name.is_empty() || name.len() > 255 {
            return Err(Error::InvalidParameterValue(format!(
                "The parameter {p}.MetricName must be between 1 and 255 characters long."
            )));
        }
        let dims = check_dimensions(&d.dimensions, &Field(&p, "Dimensions"))?;
        let unit = match &d.unit {
            Some(u) => {
                check_unit(u, &Field(&p, "Unit"))?;
                Some(
                    units
                        .entry(u.as_str())
                        .or_insert_with(|| u.as_str().into())
                        .clone(),
                )
            }
            None => None,
        };
        let resolution = match d.storage_resolution {
            None => 60,
            Some(r @ (1 | 60)) => r as i32,
            Some(r) => {
                return Err(Error::InvalidParameterValue(format!(
                    "The value {r} for parameter {p}.StorageResolution is invalid. Valid values are 1 and 60."
                )));
            }
        };
        let time_ms = match d.timestamp {
            Some(t) => {
                let ms = t.0.timestamp_millis();
                if ms > now_ms + 2 * 3_600_000 {
                    return Err(Error::InvalidParameterValue(format!(
                        "The parameter {p}.Timestamp must specify a time no more than two hours in the future."
                    )));
                }
                if ms < now_ms - 14 * 86_400_000 {
                    return Err(Error::InvalidParameterValue(format!(
                        "The parameter {p}.Timestamp must specify a time within the past two weeks."
                    )));
                }
                ms
            }
            None => now_ms,
        };
        let given = [
            d.value.is_some(),
            d.statistic_values.is_some(),
            d.values.is_some(),
        ];
        let pairs = [
            ("Value", "StatisticValues"),
            ("Value", "Values"),
            ("StatisticValues", "Values"),
        ];
        for (k, (a, b)) in pairs.iter().enumerate() {
            let (x, y) = match k {
                0 => (given[0], given[1]),
                1 => (given[0], given[2]),
                _ => (given[1], given[2]),
            };
            if x && y {
                return Err(Error::InvalidParameterCombination(format!(
                    "The parameters {p}.{a} and {p}.{b} are mutually exclusive and you have specified both."
                )));
            }
        }
        if d.counts.is_some() && d.values.is_none() {
            return Err(Error::InvalidParameterCombination(format!(
                "The parameter {p}.Counts can only be specified together with {p}.Values."
            )));
        }
        let (sum, count, min, max, sketch) = if let Some(v) = d.value {
            if !valid_value(v) {
                return Err(invalid_value(v, &format!("{p}.Value")));
            }
            (v, 1.0, v, v, None)
        } else if let Some(s) = &d.statistic_values {
            for (v, field) in [
                (s.sample_count, "SampleCount"),
                (s.sum, "Sum"),
                (s.minimum, "Minimum"),
                (s.maximum, "Maximum"),
            ] {
                if !valid_value(v) {
                    return Err(invalid_value(v, &format!("{p}.StatisticValues.{field}")));
                }
            }
            if s.sample_count <= 0.0 {
                return Err(invalid_value(
                    s.sample_count,
                    &format!("{p}.StatisticValues.SampleCount"),
                ));
            }
            if s.minimum > s.maximum {
                return Err(Error::InvalidParameterValue(format!(
                    "The parameter {p}.StatisticValues.Maximum must be greater than or equal to {p}.StatisticValues.Minimum."
                )));
            }
            (s.sum, s.sample_count, s.minimum, s.maximum, None)
        } else if let Some(values) = &d.values {
            if values.is_empty() {
                return Err(Error::MissingParameter(format!(
                    "The parameter {p}.Values must contain at least one value."
                )));
            }
            if values.len() > MAX_VALUES {
                return Err(Error::InvalidParameterValue(format!(
                    "The collection {p}.Values must not have a size greater than {MAX_VALUES}."
                )));
            }
            if let Some(c) = &d.counts
                && c.len() != values.len()
            {
                return Err(Error::InvalidParameterValue(format!(
                    "The parameters {p}.Values and {p}.Counts must be of the same size."
                )));
            }
            let mut sketch = Sketch::default();
            let (mut sum, mut count, mut min, mut max) =
                (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            for (j, v) in values.iter().enumerate() {
                if !valid_value(*v) {
                    return Err(invalid_value(*v, &format!("{p}.Values.member.{}", j + 1)));
                }
                let c = d.counts.as_ref().map_or(1.0, |c| c[j]);
                if !c.is_finite() || c < 0.0 {
                    return Err(invalid_value(c, &format!("{p}.Counts.member.{}", j + 1)));
                }
                if c == 0.0 {
                    continue;
                }
                sum += v * c;
                count += c;
                min = min.min(*v);
                max = max.max(*v);
                sketch.add(*v, c);
            }
            if count == 0.0 {
                continue;
            }
            match &d.exact {
                Some(e) => {
                    let sketch = (e.minimum != e.maximum).then(|| sketch.to_bytes());
                    (e.sum, e.sample_count, e.minimum, e.maximum, sketch)
                }
                None => {
                    let sketch = (min != max).then(|| sketch.to_bytes());
                    (sum, count, min, max, sketch)
                }
            }
        } else {
            return Err(Error::InvalidParameterCombination(format!(
                "One of the parameters {p}.Value, {p}.StatisticValues or {p}.Values must be specified."
            )));
        };
        let key = SeriesKey {
            namespace: ns.clone(),
            name: name.into(),
            dims: dataset::dimensions_json(&dims).into(),
        };
        bytes += name.len() + key.dims.len() + 64;
        let start = samples.len();
        samples.push(Sample {
            time_ms,
            namespace: ns.clone(),
            name: key.name.clone(),
            dimensions: key.dims.clone(),
            sum,
            count,
            min,
            max,
            unit,
            resolution,
            sketch,
        });
        metrics.push((key, start..samples.len()));
    }
    Ok(Prepared {
        samples,
        metrics,
        bytes,
    })
}

fn agg_of(s: &Sample) -> Agg {
    let sketch = s
        .sketch
        .as_deref()
        .and_then(Sketch::from_bytes)
        .map(Box::new);
    let percentiles = sketch.is_some() || s.count == 1.0 || s.min == s.max;
    Agg {
        sum: s.sum,
        count: s.count,
        min: s.min,
        max: s.max,
        sketch,
        percentiles,
        unit: s.unit.clone(),
    }
}

impl CloudWatch {
    /// Stores prepared samples: durable in the lake first, then visible in memory.
    pub async fn store_samples(&self, scope: &Scope, prepared: Prepared) -> Result<()> {
        self.lake
            .append_encoded(dataset::NAME, scope, &prepared.samples, prepared.bytes)
            .await?;
        self.note_late(scope, prepared.samples.iter().map(|s| s.time_ms))?;
        let sk = scope_key(scope);
        let mut keys = Vec::with_capacity(prepared.metrics.len());
        for (key, range) in prepared.metrics {
            let samples = &prepared.samples[range];
            self.hot.add(
                &sk,
                &key,
                samples.iter().map(|s| {
                    (
                        s.time_ms.div_euclid(1000),
                        i64::from(s.resolution),
                        agg_of(s),
                    )
                }),
            );
            keys.push(key);
        }
        keys.sort();
        keys.dedup();
        self.touch(&sk, &keys, now_ms());
        Ok(())
    }

    pub async fn put_metric_data(
        &self,
        scope: &Scope,
        namespace: &str,
        data: &[MetricDatumIn],
    ) -> Result<()> {
        let prepared = prepare(namespace, data, now_ms())?;
        self.store_samples(scope, prepared).await
    }
}

/// Datapoints of other services (log metric filters) land here as if put by
/// PutMetricData, without its namespace restrictions.
#[async_trait]
impl MetricSink for CloudWatch {
    async fn put(&self, scope: &Scope, data: Vec<MetricDatum>) -> sightline_core::Result<()> {
        let mut samples = Vec::with_capacity(data.len());
        let mut metrics = Vec::with_capacity(data.len());
        let mut bytes = 0;
        for d in &data {
            let key = SeriesKey::new(&d.namespace, &d.name, &d.dimensions);
            bytes += key.namespace.len() + key.name.len() + key.dims.len() + 64;
            let start = samples.len();
            samples.push(Sample {
                time_ms: d.timestamp_ms,
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                dimensions: key.dims.clone(),
                sum: d.value,
                count: 1.0,
                min: d.value,
                max: d.value,
                unit: d.unit.as_deref().map(Arc::from),
                resolution: d.storage_resolution as i32,
                sketch: None,
            });
            metrics.push((key, start..samples.len()));
        }
        self.store_samples(
            scope,
            Prepared {
                samples,
                metrics,
                bytes,
            },
        )
        .await
        .map_err(|e| sightline_core::Error::Storage(e.to_string()))
    }
}

//! Metric input over push protocols besides PutMetricData: Prometheus remote-write
//! ([`prometheus`], `POST /api/v1/write`) and OTLP/HTTP metrics ([`otlp`],
//! `POST /v1/metrics`). Each protocol maps its series onto CloudWatch metrics as
//! [`Point`]s; a [`Batch`] then applies CloudWatch's limits point by point and hands
//! what passes to the same [`prepare`] and [`CloudWatch::store_samples`] as
//! PutMetricData, so the samples are durable before the answer and visible to
//! GetMetricStatistics, GetMetricData, ListMetrics and alarms.
//!
//! Rules shared by both protocols (the per-protocol mapping is in each module):
//! - the namespace may be set per request with the `x-sightline-namespace` header, or
//!   the `namespace` query parameter (`/api/v1/write?namespace=Shop`) for senders that
//!   cannot set headers; namespaces starting with `AWS/` are refused (400), as
//!   PutMetricData refuses them;
//! - a point CloudWatch would refuse is skipped and counted, not fatal to the request,
//!   because these senders batch unrelated series together and do not retry a refused
//!   batch: values CloudWatch cannot store (infinite, magnitude outside 2^-260…2^360),
//!   timestamps more than two weeks old or more than two hours ahead, metric names
//!   empty or over 255 characters, more than 30 dimensions (the point is skipped rather
//!   than dimensions dropped, which would merge distinct series);
//! - a label or attribute with an empty value is no dimension (CloudWatch refuses empty
//!   values, and Prometheus reads an empty label as an absent one); names over 255
//!   characters are dropped and values over 1024 characters cut to 1024;
//! - samples are stored at standard (one-minute) resolution;
//! - a distribution (OTLP histogram or summary) keeps its exact count, sum, minimum and
//!   maximum as a statistic set; its buckets become `Values`/`Counts` for percentiles
//!   (see [`otlp`] for the approximation), merged pairwise down to CloudWatch's 150
//!   values when there are more.

pub mod otlp;
mod otlp_json;
pub mod prometheus;

use crate::Result;
use crate::engine::CloudWatch;
use crate::ingest::{
    MAX_DATUMS, MAX_DIMENSIONS, MAX_VALUES, MetricDatumIn, Prepared, StatisticSet, prepare,
    valid_value,
};
use crate::model::Dimension;
use sightline_core::Scope;
use sightline_wire::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Largest body accepted after decompression: a small bomb must not expand without end.
pub const MAX_PLAIN_BODY: usize = 64 << 20;

/// The header naming the namespace of every metric of a request.
pub const NAMESPACE_HEADER: &str = "x-sightline-namespace";
/// The query parameter that does the same, for senders that cannot set headers.
pub const NAMESPACE_PARAMETER: &str = "namespace";

/// Why a request is refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A content type or encoding the endpoint does not speak (HTTP 415).
    #[error("{0}")]
    Unsupported(String),
    /// A body that does not decode (HTTP 400).
    #[error("{0}")]
    Malformed(String),
}

/// The plain bytes of a gzip body, bounded by [`MAX_PLAIN_BODY`].
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(body.len().saturating_mul(4));
    flate2::read::GzDecoder::new(body)
        .take(MAX_PLAIN_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| InputError::Malformed(format!("the body is not valid gzip: {e}")))?;
    if out.len() > MAX_PLAIN_BODY {
        return Err(InputError::Malformed(
            "the decompressed body is too large".into(),
        ));
    }
    Ok(out)
}

/// The plain bytes of a snappy (block format) body, bounded by [`MAX_PLAIN_BODY`]; the
/// length is read from the block's header before anything is allocated.
pub fn unsnappy(body: &[u8]) -> Result<Vec<u8>, InputError> {
    let bad = |e: snap::Error| InputError::Malformed(format!("the body is not valid snappy: {e}"));
    let len = snap::raw::decompress_len(body).map_err(bad)?;
    if len > MAX_PLAIN_BODY {
        return Err(InputError::Malformed(
            "the decompressed body is too large".into(),
        ));
    }
    snap::raw::Decoder::new().decompress_vec(body).map_err(bad)
}

/// What a point observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Value(f64),
    Distribution(Distribution),
}

/// Many observations summarized: exact statistics, and (value, count) pairs giving the
/// shape for percentiles (empty when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub shape: Vec<(f64, f64)>,
}

/// One CloudWatch datum mapped from a push protocol, before CloudWatch's checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub namespace: Arc<str>,
    pub name: String,
    pub dimensions: Vec<Dimension>,
    pub time_ms: i64,
    pub unit: Option<&'static str>,
    pub observed: Observed,
}

/// A dimension from a label or attribute, or `None` when CloudWatch cannot take it:
/// an empty value (also Prometheus' reading of an empty label) or a name over 255
/// characters. Values over 1024 characters are cut there.
pub fn dimension(name: &str, value: &str) -> Option<Dimension> {
    if name.is_empty() || name.len() > 255 || value.is_empty() {
        return None;
    }
    let mut value = value;
    if value.len() > 1024 {
        let mut end = 1024;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value = &value[..end];
    }
    Some(Dimension {
        name: name.to_owned(),
        value: value.to_owned(),
    })
}

/// Why a point was skipped; the set of reasons is what a sender is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    Value,
    Distribution,
    TooOld,
    TooNew,
    Name,
    Dimensions,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skip::Value => {
                "values CloudWatch cannot store (infinite, or magnitude outside 2^-260..2^360)"
            }
            Skip::Distribution => {
                "distributions with a count, sum, minimum or maximum CloudWatch cannot store"
            }
            Skip::TooOld => "timestamps more than two weeks old",
            Skip::TooNew => "timestamps more than two hours in the future",
            Skip::Name => "metric names empty or longer than 255 characters",
            Skip::Dimensions => "more than 30 dimensions",
        })
    }
}

/// The points of one request that pass CloudWatch's checks, by namespace, and a count
/// of those that did not.
#[derive(Debug, Default)]
pub struct Batch {
    by_namespace: BTreeMap<Arc<str>, Vec<MetricDatumIn>>,
    pub accepted: usize,
    pub rejected: usize,
    reasons: BTreeSet<Skip>,
}

impl Batch {
    pub fn skip(&mut self, why: Skip) {
        self.rejected += 1;
        self.reasons.insert(why);
    }

    /// Why points were skipped, for the sender ("" when none was).
    pub fn message(&self) -> String {
        if self.reasons.is_empty() {
            return String::new();
        }
        let why: Vec<String> = self.reasons.iter().map(Skip::to_string).collect();
        format!(
            "{} data points were not stored: {}",
            self.rejected,
            why.join("; ")
        )
    }

    /// Checks a point as PutMetricData would, keeping it or counting it as skipped.
    pub fn push(&mut self, point: Point, now_ms: i64) {
        if let Err(why) = self.check(&point, now_ms) {
            self.skip(why);
            return;
        }
        let Point {
            namespace,
            name,
            mut dimensions,
            time_ms,
            unit,
            observed,
        } = point;
        // Sorted by name, first of a repeated name wins: CloudWatch refuses duplicates.
        dimensions.sort_by(|a, b| a.name.cmp(&b.name));
        dimensions.dedup_by(|b, a| a.name == b.name);
        let mut datum = MetricDatumIn {
            metric_name: Some(name),
            dimensions,
            timestamp: chrono::DateTime::from_timestamp_millis(time_ms).map(Timestamp),
            unit: unit.map(str::to_owned),
            ..MetricDatumIn::default()
        };
        match observed {
            Observed::Value(v) => datum.value = Some(v),
            Observed::Distribution(d) => {
                let exact = StatisticSet {
                    sample_count: d.count,
                    sum: d.sum,
                    minimum: d.min,
                    maximum: d.max,
                };
                let shape = reduce(d.shape);
                if shape.is_empty() {
                    datum.statistic_values = Some(exact);
                } else {
                    datum.values = Some(shape.iter().map(|s| s.0).collect());
                    datum.counts = Some(shape.iter().map(|s| s.1).collect());
                    datum.exact = Some(exact);
                }
            }
        }
        self.accepted += 1;
        self.by_namespace.entry(namespace).or_default().push(datum);
    }

    fn check(&self, p: &Point, now_ms: i64) -> Result<(), Skip> {
        if p.name.is_empty() || p.name.len() > 255 {
            return Err(Skip::Name);
        }
        let mut names: Vec<&str> = p.dimensions.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() > MAX_DIMENSIONS {
            return Err(Skip::Dimensions);
        }
        if p.time_ms > now_ms + 2 * 3_600_000 {
            return Err(Skip::TooNew);
        }
        if p.time_ms < now_ms - 14 * 86_400_000 {
            return Err(Skip::TooOld);
        }
        match &p.observed {
            Observed::Value(v) if !valid_value(*v) => Err(Skip::Value),
            Observed::Value(_) => Ok(()),
            Observed::Distribution(d) => {
                let stats_ok = d.count > 0.0
                    && [d.count, d.sum, d.min, d.max]
                        .iter()
                        .all(|v| valid_value(*v))
                    && d.min <= d.max;
                let shape_ok = d
                    .shape
                    .iter()
                    .all(|(v, c)| valid_value(*v) && c.is_finite() && *c >= 0.0);
                if stats_ok && shape_ok {
                    Ok(())
                } else {
                    Err(Skip::Distribution)
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_namespace.is_empty()
    }

    /// The accepted points as samples, through PutMetricData's own preparation (in
    /// chunks of its 1000-datum limit); a refused namespace fails the whole request.
    pub fn prepare(self, now_ms: i64) -> Result<Prepared> {
        let mut out = Prepared {
            samples: Vec::new(),
            metrics: Vec::new(),
            bytes: 0,
        };
        for (namespace, data) in &self.by_namespace {
            for chunk in data.chunks(MAX_DATUMS) {
                let more = prepare(namespace, chunk, now_ms)?;
                let offset = out.samples.len();
                out.samples.extend(more.samples);
                out.metrics.extend(
                    more.metrics
                        .into_iter()
                        .map(|(k, r)| (k, r.start + offset..r.end + offset)),
                );
                out.bytes += more.bytes;
            }
        }
        Ok(out)
    }
}

/// Zero-count values dropped, then neighbours merged pairwise (count-weighted mean)
/// until CloudWatch's 150 values are not exceeded.
fn reduce(mut shape: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    shape.retain(|(_, c)| *c > 0.0);
    while shape.len() > MAX_VALUES {
        shape = shape
            .chunks(2)
            .map(|pair| {
                let count: f64 = pair.iter().map(|p| p.1).sum();
                let value = pair.iter().map(|p| p.0 * p.1).sum::<f64>() / count;
                (value, count)
            })
            .collect();
    }
    shape
}

impl CloudWatch {
    /// Stores a request's accepted points as PutMetricData stores its data.
    pub async fn store_batch(&self, scope: &Scope, batch: Batch, now_ms: i64) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let prepared = batch.prepare(now_ms)?;
        if prepared.samples.is_empty() {
            return Ok(());
        }
        self.store_samples(scope, prepared).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, time_ms: i64, observed: Observed) -> Point {
        Point {
            namespace: "App".into(),
            name: name.into(),
            dimensions: vec![dimension("host", "a").unwrap()],
            time_ms,
            unit: None,
            observed,
        }
    }

    #[test]
    fn points_cloudwatch_would_refuse_are_skipped_and_counted() {
        let now = 1_800_000_000_000;
        let mut b = Batch::default();
        b.push(point("ok", now, Observed::Value(1.0)), now);
        b.push(point("inf", now, Observed::Value(f64::INFINITY)), now);
        b.push(
            point("old", now - 15 * 86_400_000, Observed::Value(1.0)),
            now,
        );
        b.push(
            point("ahead", now + 3 * 3_600_000, Observed::Value(1.0)),
            now,
        );
        b.push(point(&"n".repeat(256), now, Observed::Value(1.0)), now);
        let mut wide = point("wide", now, Observed::Value(1.0));
        wide.dimensions = (0..31)
            .filter_map(|i| dimension(&format!("d{i}"), "v"))
            .collect();
        b.push(wide, now);
        assert_eq!((b.accepted, b.rejected), (1, 5));
        assert!(b.message().contains("more than 30 dimensions"));
        let prepared = b.prepare(now).unwrap();
        assert_eq!(prepared.samples.len(), 1);
        assert_eq!(&*prepared.samples[0].name, "ok");
    }

    #[test]
    fn distributions_keep_exact_statistics_and_a_sketch() {
        let now = 1_800_000_000_000;
        let mut b = Batch::default();
        let d = Distribution {
            count: 4.0,
            sum: 10.0,
            min: 1.0,
            max: 4.0,
            shape: vec![(1.5, 2.0), (3.5, 2.0), (9.0, 0.0)],
        };
        b.push(point("lat", now, Observed::Distribution(d)), now);
        let prepared = b.prepare(now).unwrap();
        let s = &prepared.samples[0];
        assert_eq!((s.count, s.sum, s.min, s.max), (4.0, 10.0, 1.0, 4.0));
        assert!(s.sketch.is_some());
    }

    #[test]
    fn many_values_are_merged_down_to_the_limit() {
        let shape: Vec<(f64, f64)> = (1..=400).map(|i| (f64::from(i), 1.0)).collect();
        let out = reduce(shape);
        assert!(out.len() <= MAX_VALUES);
        assert_eq!(out.iter().map(|s| s.1).sum::<f64>(), 400.0);
        let mean = out.iter().map(|s| s.0 * s.1).sum::<f64>() / 400.0;
        assert!((mean - 200.5).abs() < 1e-9);
    }

    #[test]
    fn dimensions_follow_cloudwatch_limits() {
        assert_eq!(dimension("a", ""), None);
        assert_eq!(dimension(&"n".repeat(256), "v"), None);
        let long = "é".repeat(600);
        let d = dimension("a", &long).unwrap();
        assert!(d.value.len() <= 1024 && long.starts_with(&d.value));
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let plain = vec![0u8; 1000];
        let packed = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        assert_eq!(unsnappy(&packed).ok(), Some(plain));
        assert!(unsnappy(b"\xff\xff\xff\xff\x7f garbage").is_err());
        assert!(gunzip(b"not gzip").is_err());
    }
}

//! Prometheus remote-write 1.0 (`POST /api/v1/write`): a snappy-compressed (block
//! format) protobuf `prometheus.WriteRequest`, answered 204 with an empty body; a body
//! that does not decode is answered 400 (remote-write senders do not retry a 4xx), a
//! remote-write 2.0 body or another encoding 415.
//!
//! Mapping onto CloudWatch (documented in the README):
//! - namespace: the `x-sightline-namespace` header or `namespace` query parameter,
//!   else `Prometheus`. No label is used: `namespace` is the Kubernetes namespace on
//!   most scraped series and `job` the name of a scrape configuration, and either would
//!   scatter one source's metrics over namespaces a reader would have to guess;
//! - metric name: the `__name__` label; a series without one makes the request
//!   malformed (400), as the remote-write specification requires it;
//! - dimensions: every other label, `job` and `instance` included, with the shared
//!   rules of [`super`] (empty values dropped, over 30 dimensions skips the series);
//! - values: each sample as one datum at its own timestamp (milliseconds), no unit.
//!   NaN samples (staleness markers, and NaN results) are skipped without being counted
//!   as refused: they carry no value CloudWatch could store. Counters are stored as
//!   sent (cumulative): RATE() or DIFF() in metric math turns them into rates;
//! - classic histograms and summaries arrive as their own series (`_bucket` with an
//!   `le` dimension, `_sum`, `_count`, `quantile`) and are stored as such; native
//!   histograms, exemplars and metadata in the request are ignored.
//!
//! Samples skipped by CloudWatch's limits (see [`super`]) do not fail the request:
//! the count is logged and returned in the `x-sightline-rejected-samples` header.

use super::{Batch, InputError, Observed, Point, dimension};
use prost::Message;
use std::sync::Arc;

/// The namespace of remote-written series without the namespace header.
pub const DEFAULT_NAMESPACE: &str = "Prometheus";

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Decodes a remote-write body after checking the headers that say what it is.
pub fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Result<WriteRequest, InputError> {
    if let Some(ct) = content_type {
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !media.is_empty() && !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(InputError::Unsupported(format!(
                "remote-write takes application/x-protobuf, not '{media}'"
            )));
        }
        // Remote-write 2.0 names its message; a 415 makes a 2.0 sender fall back to 1.0.
        if let Some(proto) = parts.find_map(|p| p.strip_prefix("proto="))
            && proto != "prometheus.WriteRequest"
        {
            return Err(InputError::Unsupported(format!(
                "remote-write 1.0 (prometheus.WriteRequest) only, not '{proto}'"
            )));
        }
    }
    match content_encoding.map(str::trim) {
        None | Some("") => {}
        Some(e) if e.eq_ignore_ascii_case("snappy") => {}
        Some(other) => {
            return Err(InputError::Unsupported(format!(
                "remote-write bodies are snappy-encoded, not '{other}'"
            )));
        }
    }
    let plain = super::unsnappy(body)?;
    WriteRequest::decode(plain.as_slice())
        .map_err(|e| InputError::Malformed(format!("malformed remote-write request: {e}")))
}

/// Maps every sample onto a point of `namespace`; fails (storing nothing) on a series
/// without a metric name.
pub fn map(
    request: &WriteRequest,
    namespace: &Arc<str>,
    batch: &mut Batch,
    now_ms: i64,
) -> Result<(), InputError> {
    let mut points = Vec::new();
    for (i, series) in request.timeseries.iter().enumerate() {
        let name = series
            .labels
            .iter()
            .find(|l| l.name == "__name__")
            .map(|l| l.value.as_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                InputError::Malformed(format!("time series {} has no __name__ label", i + 1))
            })?;
        let dimensions: Vec<_> = series
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .filter_map(|l| dimension(&l.name, &l.value))
            .collect();
        for s in series.samples.iter().filter(|s| !s.value.is_nan()) {
            points.push(Point {
                namespace: namespace.clone(),
                name: name.to_owned(),
                dimensions: dimensions.clone(),
                time_ms: s.timestamp,
                unit: None,
                observed: Observed::Value(s.value),
            });
        }
    }
    for p in points {
        batch.push(p, now_ms);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    fn body(request: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap()
    }

    const NOW: i64 = 1_800_000_000_000;
    /// Prometheus' staleness marker, a NaN with a payload.
    const STALE: u64 = 0x7ff0_0000_0000_0002;

    fn request() -> WriteRequest {
        WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![
                        label("__name__", "http_requests_total"),
                        label("job", "api"),
                        label("instance", "10.0.0.1:9090"),
                        label("empty", ""),
                    ],
                    samples: vec![
                        Sample {
                            value: 5.0,
                            timestamp: NOW - 30_000,
                        },
                        Sample {
                            value: f64::from_bits(STALE),
                            timestamp: NOW - 15_000,
                        },
                        Sample {
                            value: 7.0,
                            timestamp: NOW - 20 * 86_400_000,
                        },
                    ],
                },
                TimeSeries {
                    labels: vec![label("__name__", "up")],
                    samples: vec![Sample {
                        value: 1.0,
                        timestamp: NOW,
                    }],
                },
            ],
        }
    }

    #[test]
    fn snappy_protobuf_round_trips() {
        let want = request();
        let got = decode(Some("application/x-protobuf"), Some("snappy"), &body(&want)).unwrap();
        assert_eq!(got.timeseries.len(), 2);
        assert_eq!(got.timeseries[0].labels, want.timeseries[0].labels);
        assert_eq!(got.timeseries[0].samples[0], want.timeseries[0].samples[0]);
        assert_eq!(got.timeseries[0].samples[1].value.to_bits(), STALE);
    }

    #[test]
    fn series_map_onto_metrics_with_label_dimensions() {
        let mut batch = Batch::default();
        let ns: Arc<str> = DEFAULT_NAMESPACE.into();
        map(&request(), &ns, &mut batch, NOW).unwrap();
        // The stale NaN is not counted; the three-week-old sample is.
        assert_eq!((batch.accepted, batch.rejected), (2, 1));
        let prepared = batch.prepare(NOW).unwrap();
        let first = &prepared.samples[0];
        assert_eq!(&*first.namespace, "Prometheus");
        assert_eq!(&*first.name, "http_requests_total");
        assert_eq!(
            &*first.dimensions,
            r#"{"instance":"10.0.0.1:9090","job":"api"}"#
        );
        assert_eq!((first.time_ms, first.sum), (NOW - 30_000, 5.0));
    }

    #[test]
    fn malformed_bodies_and_other_protocols_are_refused() {
        let packed = body(&request());
        assert!(matches!(
            decode(None, None, b"\x00\x01garbage"),
            Err(InputError::Malformed(_))
        ));
        // Snappy framing of bytes that are not a WriteRequest.
        let junk = snap::raw::Encoder::new()
            .compress_vec(b"\xff\xff\xff")
            .unwrap();
        assert!(matches!(
            decode(None, Some("snappy"), &junk),
            Err(InputError::Malformed(_))
        ));
        assert!(matches!(
            decode(Some("application/json"), Some("snappy"), &packed),
            Err(InputError::Unsupported(_))
        ));
        assert!(matches!(
            decode(
                Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
                Some("snappy"),
                &packed
            ),
            Err(InputError::Unsupported(_))
        ));
        assert!(matches!(
            decode(None, Some("gzip"), &packed),
            Err(InputError::Unsupported(_))
        ));
        let nameless = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![label("job", "x")],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: NOW,
                }],
            }],
        };
        let mut batch = Batch::default();
        let ns: Arc<str> = DEFAULT_NAMESPACE.into();
        assert!(map(&nameless, &ns, &mut batch, NOW).is_err());
        assert!(batch.is_empty());
    }
}

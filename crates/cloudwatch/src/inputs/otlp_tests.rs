//! Tests of OTLP metrics: both encodings decode to the same request, and each kind of
//! data point maps as the module doc says.

use super::*;
use crate::ingest::Prepared;
use crate::inputs::Batch;

const NOW: i64 = 1_800_000_000_000;
const T: u64 = (NOW as u64 - 10_000) * 1_000_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

fn metric(name: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(data),
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.namespace", s("shop")),
                    kv("service.name", s("checkout")),
                    kv("host.name", s("h1")),
                ],
            }),
            scope_metrics: vec![ScopeMetrics { metrics }],
        }],
    }
}

fn number(value: number::Value, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: T,
        value: Some(value),
        flags: 0,
    }
}

fn stored(req: &ExportMetricsServiceRequest) -> (Batch, Prepared) {
    let mut batch = Batch::default();
    map(req, None, &mut batch, NOW);
    let counts = Batch {
        accepted: batch.accepted,
        rejected: batch.rejected,
        ..Batch::default()
    };
    (counts, batch.prepare(NOW).unwrap())
}

fn histogram() -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![kv("route", s("/pay"))],
        time_unix_nano: T,
        count: 6,
        sum: Some(61.0),
        bucket_counts: vec![1, 2, 3, 0],
        explicit_bounds: vec![5.0, 10.0, 20.0],
        flags: 0,
        min: Some(2.0),
        max: Some(18.0),
    }
}

#[test]
fn protobuf_round_trips() {
    let req = request(vec![
        metric(
            "requests",
            "{request}",
            metric::Data::Sum(Numbers {
                data_points: vec![number(number::Value::AsInt(42), vec![kv("code", s("200"))])],
            }),
        ),
        metric(
            "latency",
            "ms",
            metric::Data::Histogram(Histogram {
                data_points: vec![histogram()],
            }),
        ),
    ]);
    let got = decode(Encoding::Protobuf, &req.encode_to_vec()).unwrap();
    assert_eq!(got, req);
    assert!(decode(Encoding::Protobuf, b"\xff\x01garbage").is_err());
}

#[test]
fn json_decodes_to_the_same_request() {
    let doc = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [
            {"key": "service.namespace", "value": {"stringValue": "shop"}},
            {"key": "service.name", "value": {"stringValue": "checkout"}},
            {"key": "host.name", "value": {"stringValue": "h1"}}]},
        "scopeMetrics": [{"scope": {"name": "lib"}, "metrics": [
            {"name": "requests", "unit": "{request}", "sum": {
                "aggregationTemporality": 2, "isMonotonic": true,
                "dataPoints": [{"attributes": [{"key": "code", "value": {"stringValue": "200"}}],
                                "timeUnixNano": T.to_string(), "asInt": "42"}]}},
            {"name": "latency", "unit": "ms", "histogram": {"dataPoints": [{
                "attributes": [{"key": "route", "value": {"stringValue": "/pay"}}],
                "timeUnixNano": T.to_string(), "count": "6", "sum": 61,
                "bucketCounts": ["1", "2", "3", "0"], "explicitBounds": [5, 10, 20],
                "min": 2, "max": 18}]}}
        ]}]
    }]});
    let from_json = decode(Encoding::Json, doc.to_string().as_bytes()).unwrap();
    let req = request(vec![
        metric(
            "requests",
            "{request}",
            metric::Data::Sum(Numbers {
                data_points: vec![number(number::Value::AsInt(42), vec![kv("code", s("200"))])],
            }),
        ),
        metric(
            "latency",
            "ms",
            metric::Data::Histogram(Histogram {
                data_points: vec![histogram()],
            }),
        ),
    ]);
    assert_eq!(from_json, req);
    let bad = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"asInt":"ten"}]}}]}]}]}"#;
    assert!(decode(Encoding::Json, bad.as_bytes()).is_err());
    assert!(decode(Encoding::Json, b"[1]").is_err());
}

#[test]
fn gauges_and_sums_become_values_with_attribute_dimensions() {
    let req = request(vec![
        metric(
            "temperature",
            "Cel",
            metric::Data::Gauge(Numbers {
                data_points: vec![
                    number(
                        number::Value::AsDouble(21.5),
                        vec![
                            kv("room", s("a")),
                            kv("floor", any_value::Value::IntValue(3)),
                            kv("empty", s("")),
                        ],
                    ),
                    NumberDataPoint {
                        flags: 1,
                        ..number(number::Value::AsDouble(0.0), vec![])
                    },
                ],
            }),
        ),
        metric(
            "bytes",
            "By",
            metric::Data::Sum(Numbers {
                data_points: vec![number(number::Value::AsInt(1024), vec![])],
            }),
        ),
    ]);
    let (counts, p) = stored(&req);
    assert_eq!((counts.accepted, counts.rejected), (2, 0));
    let t = &p.samples[0];
    assert_eq!(&*t.namespace, "shop/checkout");
    assert_eq!(&*t.dimensions, r#"{"floor":"3","room":"a"}"#);
    assert_eq!((t.sum, t.count, t.time_ms), (21.5, 1.0, NOW - 10_000));
    assert_eq!(t.unit, None);
    let b = &p.samples[1];
    assert_eq!((b.sum, b.unit.as_deref()), (1024.0, Some("Bytes")));
}

#[test]
fn histograms_keep_exact_statistics_and_bucket_midpoints() {
    let req = request(vec![metric(
        "latency",
        "ms",
        metric::Data::Histogram(Histogram {
            data_points: vec![histogram()],
        }),
    )]);
    let shape = explicit_shape(&histogram()).unwrap();
    // First bucket (-inf, 5] at the min, (5, 10] at 7.5, (10, 20] at 15.
    assert_eq!(
        shape,
        vec![(2.0, 1.0), (7.5, 2.0), (15.0, 3.0), (18.0, 0.0)]
    );
    let (_, p) = stored(&req);
    let h = &p.samples[0];
    assert_eq!((h.count, h.sum, h.min, h.max), (6.0, 61.0, 2.0, 18.0));
    assert_eq!(h.unit.as_deref(), Some("Milliseconds"));
    let sketch = crate::sketch::Sketch::from_bytes(h.sketch.as_deref().unwrap()).unwrap();
    let p50 = sketch.percentile(50.0, h.min, h.max).unwrap();
    assert!((7.0..=8.0).contains(&p50), "p50 {p50}");
    // Without min, max and sum they are estimated from the buckets.
    let bare = HistogramDataPoint {
        sum: None,
        min: None,
        max: None,
        ..histogram()
    };
    let d = distribution(6, None, None, None, explicit_shape(&bare).unwrap());
    assert_eq!((d.min, d.max, d.sum), (5.0, 15.0, 5.0 + 15.0 + 45.0));
    // Bucket counts that do not fit the bounds are refused.
    let wrong = HistogramDataPoint {
        bucket_counts: vec![1, 2],
        ..histogram()
    };
    assert!(explicit_shape(&wrong).is_none());
}

#[test]
fn exponential_histograms_use_their_bucket_midpoints() {
    let p = ExponentialHistogramDataPoint {
        attributes: vec![],
        time_unix_nano: T,
        count: 4,
        sum: Some(7.0),
        scale: 0,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 1,
            bucket_counts: vec![2, 1],
        }),
        negative: None,
        flags: 0,
        min: None,
        max: None,
    };
    // scale 0: base 2, bucket 1 is (2, 4], bucket 2 is (4, 8].
    assert_eq!(
        exponential_shape(&p),
        vec![(0.0, 1.0), (3.0, 2.0), (6.0, 1.0)]
    );
    let req = request(vec![metric(
        "sizes",
        "By",
        metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![p],
        }),
    )]);
    let (_, stored) = stored(&req);
    let e = &stored.samples[0];
    assert_eq!((e.count, e.sum, e.min, e.max), (4.0, 7.0, 0.0, 6.0));
}

#[test]
fn summaries_give_statistics_and_quantile_series() {
    let req = request(vec![metric(
        "rpc",
        "s",
        metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: vec![kv("method", s("get"))],
                time_unix_nano: T,
                count: 10,
                sum: 5.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.0,
                        value: 0.1,
                    },
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 1.5,
                    },
                ],
                flags: 0,
            }],
        }),
    )]);
    let (counts, p) = stored(&req);
    assert_eq!(counts.accepted, 3);
    let stats = &p.samples[0];
    assert_eq!(
        (stats.count, stats.sum, stats.min, stats.max),
        (10.0, 5.0, 0.1, 1.5)
    );
    assert_eq!(stats.unit.as_deref(), Some("Seconds"));
    let q99 = &p.samples[2];
    assert_eq!(&*q99.dimensions, r#"{"method":"get","quantile":"0.99"}"#);
    assert_eq!(q99.sum, 1.5);
}

#[test]
fn refused_points_are_counted_for_partial_success() {
    let req = request(vec![metric(
        "g",
        "",
        metric::Data::Gauge(Numbers {
            data_points: vec![
                number(number::Value::AsDouble(f64::NAN), vec![]),
                NumberDataPoint {
                    time_unix_nano: 1_000_000,
                    ..number(number::Value::AsDouble(1.0), vec![])
                },
                number(number::Value::AsDouble(2.0), vec![]),
            ],
        }),
    )]);
    let mut batch = Batch::default();
    map(&req, Some("Custom/App"), &mut batch, NOW);
    assert_eq!((batch.accepted, batch.rejected), (1, 2));
    let message = batch.message();
    assert!(message.contains("two weeks old"), "{message}");
    let body = encode_response(Encoding::Protobuf, batch.rejected, &message);
    let answer = ExportMetricsServiceResponse::decode(body.as_slice()).unwrap();
    assert_eq!(answer.partial_success.unwrap().rejected_data_points, 2);
    let json: serde_json::Value =
        serde_json::from_slice(&encode_response(Encoding::Json, 2, &message)).unwrap();
    assert_eq!(json["partialSuccess"]["rejectedDataPoints"], "2");
    assert_eq!(encode_response(Encoding::Json, 0, ""), b"{}");
    assert!(encode_response(Encoding::Protobuf, 0, "").is_empty());
    let p = batch.prepare(NOW).unwrap();
    assert_eq!(&*p.samples[0].namespace, "Custom/App");
}

#[test]
fn units_and_namespaces_map_as_documented() {
    for (ucum, cw) in [
        ("s", Some("Seconds")),
        ("ms", Some("Milliseconds")),
        ("By", Some("Bytes")),
        ("MiBy", Some("Megabytes")),
        ("By/s", Some("Bytes/Second")),
        ("%", Some("Percent")),
        ("{packet}", Some("Count")),
        ("{packet}/s", Some("Count/Second")),
        ("1", None),
        ("ns", None),
        ("", None),
    ] {
        assert_eq!(cloudwatch_unit(ucum), cw, "{ucum}");
    }
    assert_eq!(namespace_of(&[]), "OTLP");
    assert_eq!(namespace_of(&[kv("service.name", s("api"))]), "api");
    assert_eq!(
        namespace_of(&[kv("service.name", s(":odd name\u{e9}!"))]),
        "_odd name__"
    );
}

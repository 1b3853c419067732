//! Alarm evaluation benchmark: one cycle over 10,000 metric alarms (1,000 metrics with
//! a datapoint every minute for the last hour, ten alarms per metric with different
//! thresholds, statistics and missing-data treatments), timed through
//! `CloudWatch::evaluate_due` as the server's background task calls it.
//!
//! Run with `cargo bench -p sightline-cloudwatch --bench alarms` (bench/metrics.sh runs
//! it too). Environment: `BENCH_ALARMS` (10000), `BENCH_CYCLES` (20).
//!
//! Prints the first cycle (every alarm leaves INSUFFICIENT_DATA: one transaction of
//! 10,000 state changes and history items, 10,000 events) and the steady cycles after
//! it (the usual case: every alarm evaluated, none changes), with the 200 ms target.

use serde_json::json;
use sightline_cloudwatch::ingest::MetricDatumIn;
use sightline_cloudwatch::{CloudWatch, Options};
use sightline_core::Scope;
use sightline_lake::Lake;
use sightline_lake::store::SegmentStore;
use sightline_meta::Meta;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let alarms = env("BENCH_ALARMS", 10_000);
    let cycles = env("BENCH_CYCLES", 20);
    let metrics = (alarms / 10).max(1);
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or("/var/tmp".into()))
        .expect("bench dir");
    let meta = Arc::new(Meta::open(dir.path()).expect("meta"));
    let lake = Lake::open(
        dir.path(),
        SegmentStore::local(&dir.path().join("segments")).expect("store"),
        meta.clone(),
        sightline_lake::Options::default(),
    )
    .await
    .expect("lake");
    let cw = CloudWatch::open(
        meta,
        lake,
        Arc::new(sightline_core::events::NoopPublisher),
        Arc::new(sightline_core::NoTopics),
        Options::default(),
    )
    .await
    .expect("cloudwatch");
    let scope = Scope::new("111122223333", "us-east-1");
    let now = chrono::Utc::now().timestamp();
    let start = Instant::now();
    for m in 0..metrics {
        let data: Vec<MetricDatumIn> = (0..60)
            .map(|i| {
                serde_json::from_value(json!({
                    "MetricName": "Load",
                    "Dimensions": [{"Name": "Host", "Value": format!("h{m:05}")}],
                    "Timestamp": now - 60 * i,
                    "Value": ((m + i as usize) % 100) as f64,
                }))
                .expect("datum")
            })
            .collect();
        cw.put_metric_data(&scope, "Bench", &data)
            .await
            .expect("put");
    }
    println!(
        "loaded {} datapoints into {metrics} metrics in {:.1} s",
        metrics * 60,
        start.elapsed().as_secs_f64()
    );
    let stats = ["Average", "Maximum", "Minimum", "Sum", "SampleCount"];
    let treatments = ["missing", "breaching", "notBreaching", "ignore"];
    for a in 0..alarms {
        let m = a % metrics;
        cw.put_metric_alarm(
            &scope,
            serde_json::from_value(json!({
                "AlarmName": format!("alarm-{a:05}"),
                "Namespace": "Bench",
                "MetricName": "Load",
                "Dimensions": [{"Name": "Host", "Value": format!("h{m:05}")}],
                "Statistic": stats[a % stats.len()],
                "Period": 60,
                "EvaluationPeriods": 1 + a % 5,
                "DatapointsToAlarm": 1,
                "Threshold": (a % 100) as f64,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": treatments[a % treatments.len()],
            }))
            .expect("alarm"),
        )
        .await
        .expect("put alarm");
    }
    println!("created {alarms} alarms");
    let mut t = chrono::Utc::now().timestamp_millis();
    let first = Instant::now();
    let n = cw.evaluate_due(t).await.expect("cycle");
    let first = first.elapsed();
    assert_eq!(n, alarms, "every alarm is due in the first cycle");
    let mut times = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        t += 60_000;
        let c = Instant::now();
        let n = cw.evaluate_due(t).await.expect("cycle");
        times.push(c.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(n, alarms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!();
    println!("| measure | value | target | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| first cycle, {alarms} alarms all leaving INSUFFICIENT_DATA | {:.0} ms | 200 ms | {:.2}x |",
        first.as_secs_f64() * 1000.0,
        200.0 / (first.as_secs_f64() * 1000.0)
    );
    println!(
        "| steady cycle, {alarms} alarms (median of {cycles}) | {median:.0} ms | 200 ms | {:.2}x |",
        200.0 / median
    );
    println!(
        "| steady cycle, {alarms} alarms (slowest of {cycles}) | {worst:.0} ms | 200 ms | {:.2}x |",
        200.0 / worst
    );
}

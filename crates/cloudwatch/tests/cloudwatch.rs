//! The CloudWatch engine driven directly: the missing-data truth tables as data, alarm
//! evaluation with its events and actions, composite alarms, percentiles, metric math,
//! restarts, and refusals that change nothing.

use serde_json::json;
use sightline_cloudwatch::evaluate::{Decision, Treatment, decide};
use sightline_cloudwatch::ingest::MetricDatumIn;
use sightline_cloudwatch::model::StateValue;
use sightline_cloudwatch::{CloudWatch, Options};
use sightline_core::{Event, EventPublisher, Scope, TopicMessage, TopicPublisher};
use sightline_lake::Lake;
use sightline_lake::store::SegmentStore;
use sightline_meta::Meta;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

#[async_trait::async_trait]
impl EventPublisher for Events {
    async fn publish(&self, _scope: &Scope, event: Event) -> sightline_core::Result<()> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

#[derive(Default)]
struct Topics(Mutex<Vec<TopicMessage>>);

#[async_trait::async_trait]
impl TopicPublisher for Topics {
    async fn publish(&self, _scope: &Scope, m: TopicMessage) -> sightline_core::Result<String> {
        if m.topic_arn.ends_with(":missing") {
            return Err(sightline_core::Error::NotFound(m.topic_arn));
        }
        self.0.lock().unwrap().push(m);
        Ok("message-1".into())
    }
}

struct Fixture {
    cw: Arc<CloudWatch>,
    events: Arc<Events>,
    topics: Arc<Topics>,
    lake: Arc<Lake>,
}

async fn open(dir: &std::path::Path) -> Fixture {
    let meta = Arc::new(Meta::open(dir).unwrap());
    let lake = Lake::open(
        dir,
        SegmentStore::local(&dir.join("segments")).unwrap(),
        meta.clone(),
        sightline_lake::Options::default(),
    )
    .await
    .unwrap();
    let events = Arc::new(Events::default());
    let topics = Arc::new(Topics::default());
    let cw = CloudWatch::open(
        meta,
        lake.clone(),
        events.clone(),
        topics.clone(),
        Options::default(),
    )
    .await
    .unwrap();
    Fixture {
        cw,
        events,
        topics,
        lake,
    }
}

fn scope() -> Scope {
    Scope::new("111122223333", "us-east-1")
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

fn datum(name: &str, value: f64, at_s: i64, resolution: i64) -> MetricDatumIn {
    serde_json::from_value(json!({
        "MetricName": name,
        "Dimensions": [{"Name": "Host", "Value": "a"}],
        "Timestamp": at_s,
        "Value": value,
        "StorageResolution": resolution,
    }))
    .unwrap()
}

fn state_of(cw: &CloudWatch, name: &str) -> StateValue {
    cw.alarm(&scope(), name).unwrap().alarm.state()
}

#[test]
fn missing_data_truth_tables() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("data/missing_data.json")).unwrap();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let points: Vec<Option<bool>> = case["points"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .map(|p| match p {
                "X" => Some(true),
                "0" => Some(false),
                _ => None,
            })
            .collect();
        let n = case["n"].as_u64().unwrap() as usize;
        let m = case["m"].as_u64().unwrap() as usize;
        for (key, t) in [
            ("missing", Treatment::Missing),
            ("ignore", Treatment::Ignore),
            ("breaching", Treatment::Breaching),
            ("notBreaching", Treatment::NotBreaching),
        ] {
            let want = case[key].as_str().unwrap();
            let got = match decide(&points, n, m, t) {
                Decision::Keep => "KEEP",
                Decision::State(s) => s.as_str(),
            };
            assert_eq!(got, want, "{} of {}, {:?}, {key}", m, n, case["points"]);
            checked += 1;
        }
    }
    assert_eq!(checked, 19 * 4);
}

#[tokio::test]
async fn an_alarm_fires_on_a_breaching_datapoint_with_its_event_and_action_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path()).await;
    let s = scope();
    f.cw.put_metric_alarm(
        &s,
        serde_json::from_value(json!({
            "AlarmName": "high-latency",
            "AlarmDescription": "p99 too high",
            "Namespace": "App",
            "MetricName": "Latency",
            "Dimensions": [{"Name": "Host", "Value": "a"}],
            "Statistic": "Maximum",
            "Period": 10,
            "EvaluationPeriods": 1,
            "Threshold": 50.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:oncall"],
            "OKActions": ["arn:aws:sns:us-east-1:111122223333:missing"],
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        state_of(&f.cw, "high-latency"),
        StateValue::InsufficientData
    );
    let t = now_s();
    f.cw.put_metric_data(&s, "App", &[datum("Latency", 120.0, t, 1)])
        .await
        .unwrap();
    f.cw.evaluate_due(t * 1000 + 500).await.unwrap();
    assert_eq!(state_of(&f.cw, "high-latency"), StateValue::Alarm);
    let events = f.events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.detail_type, "CloudWatch Alarm State Change");
    assert_eq!(e.source, "aws.cloudwatch");
    assert_eq!(
        e.resources,
        vec!["arn:aws:cloudwatch:us-east-1:111122223333:alarm:high-latency"]
    );
    assert_eq!(e.detail["alarmName"], "high-latency");
    assert_eq!(e.detail["state"]["value"], "ALARM");
    assert_eq!(e.detail["previousState"]["value"], "INSUFFICIENT_DATA");
    assert_eq!(e.detail["configuration"]["description"], "p99 too high");
    let metric = &e.detail["configuration"]["metrics"][0]["metricStat"];
    assert_eq!(metric["metric"]["name"], "Latency");
    assert_eq!(metric["metric"]["dimensions"]["Host"], "a");
    assert_eq!(metric["period"], 10);
    assert_eq!(metric["stat"], "Maximum");
    let reason_data: serde_json::Value =
        serde_json::from_str(e.detail["state"]["reasonData"].as_str().unwrap()).unwrap();
    assert_eq!(reason_data["recentDatapoints"], json!([120.0]));
    let sent = f.topics.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].topic_arn,
        "arn:aws:sns:us-east-1:111122223333:oncall"
    );
    assert_eq!(
        sent[0].subject.as_deref(),
        Some("ALARM: \"high-latency\" in US East (N. Virginia)")
    );
    let body: serde_json::Value = serde_json::from_str(&sent[0].message).unwrap();
    assert_eq!(body["NewStateValue"], "ALARM");
    assert_eq!(body["OldStateValue"], "INSUFFICIENT_DATA");
    assert_eq!(body["Trigger"]["MetricName"], "Latency");
    assert_eq!(body["Trigger"]["Statistic"], "MAXIMUM");
    assert_eq!(body["Trigger"]["Threshold"], 50.0);

    // The next period's datapoint is fine: OK, and the failing OK action is recorded.
    f.cw.put_metric_data(&s, "App", &[datum("Latency", 3.0, t + 10, 1)])
        .await
        .unwrap();
    f.cw.evaluate_due(t * 1000 + 10_500).await.unwrap();
    assert_eq!(state_of(&f.cw, "high-latency"), StateValue::Ok);
    let history =
        f.cw.describe_alarm_history(
            &s,
            serde_json::from_value(
                json!({"AlarmName": "high-latency", "ScanBy": "TimestampAscending"}),
            )
            .unwrap(),
        )
        .unwrap();
    let kinds: Vec<(&str, &str)> = history
        .alarm_history_items
        .iter()
        .map(|h| (h.history_item_type.as_str(), h.history_summary.as_str()))
        .collect();
    assert_eq!(
        kinds[0],
        ("ConfigurationUpdate", "Alarm \"high-latency\" created")
    );
    assert_eq!(
        kinds[1],
        (
            "StateUpdate",
            "Alarm updated from INSUFFICIENT_DATA to ALARM"
        )
    );
    assert!(kinds.contains(&(
        "Action",
        "Successfully executed action arn:aws:sns:us-east-1:111122223333:oncall"
    )));
    assert!(kinds.contains(&("StateUpdate", "Alarm updated from ALARM to OK")));
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "Action" && s.starts_with("Failed to execute action"))
    );
}

#[tokio::test]
async fn composite_alarms_follow_their_children_and_refuse_cycles_and_unknown_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path()).await;
    let s = scope();
    for name in ["cpu", "disk"] {
        f.cw.put_metric_alarm(
            &s,
            serde_json::from_value(json!({
                "AlarmName": name, "Namespace": "App", "MetricName": name,
                "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold",
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    }
    f.cw.put_composite_alarm(
        &s,
        serde_json::from_value(json!({
            "AlarmName": "both",
            "AlarmRule": "ALARM(cpu) AND (ALARM(\"disk\") OR NOT OK(disk))",
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    // Children in INSUFFICIENT_DATA: cpu is not in ALARM, so the rule is false.
    assert_eq!(state_of(&f.cw, "both"), StateValue::Ok);
    f.cw.set_alarm_state(&s, "cpu", "ALARM", "test".into(), None)
        .await
        .unwrap();
    assert_eq!(state_of(&f.cw, "both"), StateValue::Alarm, "disk is not OK");
    // Setting the state it already has only refreshes the reason: no event, no history.
    let events_before = f.events.0.lock().unwrap().len();
    f.cw.set_alarm_state(&s, "cpu", "ALARM", "again".into(), None)
        .await
        .unwrap();
    assert_eq!(f.events.0.lock().unwrap().len(), events_before);
    assert_eq!(f.cw.alarm(&s, "cpu").unwrap().alarm.reason().0, "again");
    f.cw.set_alarm_state(&s, "disk", "OK", "test".into(), None)
        .await
        .unwrap();
    assert_eq!(state_of(&f.cw, "both"), StateValue::Ok);
    let bad =
        f.cw.put_composite_alarm(
            &s,
            serde_json::from_value(json!({"AlarmName": "x", "AlarmRule": "ALARM(nope)"})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("[nope]"), "{bad}");
    f.cw.put_composite_alarm(
        &s,
        serde_json::from_value(json!({"AlarmName": "outer", "AlarmRule": "ALARM(both)"})).unwrap(),
    )
    .await
    .unwrap();
    let cycle =
        f.cw.put_composite_alarm(
            &s,
            serde_json::from_value(json!({"AlarmName": "both", "AlarmRule": "ALARM(outer)"}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(cycle.to_string().contains("cycle"), "{cycle}");
    let syntax =
        f.cw.put_composite_alarm(
            &s,
            serde_json::from_value(json!({"AlarmName": "y", "AlarmRule": "ALARM(cpu) AND"}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        syntax.to_string().starts_with("Error in AlarmRule"),
        "{syntax}"
    );
    assert!(f.cw.alarm(&s, "y").is_none() && f.cw.alarm(&s, "x").is_none());
    let events = f.events.0.lock().unwrap().clone();
    let composite = events
        .iter()
        .find(|e| e.detail["alarmName"] == "both" && e.detail["state"]["value"] == "ALARM")
        .unwrap();
    assert_eq!(
        composite.detail["configuration"]["alarmRule"],
        "ALARM(cpu) AND (ALARM(\"disk\") OR NOT OK(disk))"
    );
}

#[tokio::test]
async fn statistics_percentiles_and_metric_math_and_state_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = scope();
    let t = now_s() - 120;
    {
        let f = open(dir.path()).await;
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let d: MetricDatumIn = serde_json::from_value(json!({
            "MetricName": "Latency", "Timestamp": t, "Values": values,
        }))
        .unwrap();
        f.cw.put_metric_data(&s, "App", &[d, datum("Errors", 4.0, t, 60)])
            .await
            .unwrap();
        f.cw.put_metric_alarm(
            &s,
            serde_json::from_value(json!({
                "AlarmName": "p90", "Namespace": "App", "MetricName": "Latency",
                "ExtendedStatistic": "p90", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": 80.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            }))
            .unwrap(),
        )
        .await
        .unwrap();
        f.cw.evaluate_due(t * 1000 + 1000).await.unwrap();
        assert_eq!(state_of(&f.cw, "p90"), StateValue::Alarm);
        f.lake.close();
    }
    // After a restart the window is reloaded from the lake and the state kept.
    let f = open(dir.path()).await;
    assert_eq!(state_of(&f.cw, "p90"), StateValue::Alarm);
    let out =
        f.cw.get_metric_statistics(
            &s,
            serde_json::from_value(json!({
                "Namespace": "App", "MetricName": "Latency",
                "StartTime": t - 600, "EndTime": t + 600, "Period": 3600,
                "ExtendedStatistics": ["p50", "p99", "p100"],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(out.datapoints.len(), 1);
    let ext = out.datapoints[0].extended_statistics.clone().unwrap().0;
    let get = |k: &str| ext.iter().find(|(n, _)| n == k).unwrap().1;
    assert!((get("p50") - 50.0).abs() <= 0.5, "{ext:?}");
    assert!((get("p99") - 99.0).abs() <= 1.0, "{ext:?}");
    assert_eq!(get("p100"), 100.0);
    let data = f
        .cw
        .get_metric_data(
            &s,
            serde_json::from_value(json!({
                "StartTime": t - 600, "EndTime": t + 600,
                "MetricDataQueries": [
                    {"Id": "lat", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Sum"}, "ReturnData": false},
                    {"Id": "err", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}]}, "Period": 60, "Stat": "Sum"}, "ReturnData": false},
                    {"Id": "ratio", "Expression": "100 * err / lat", "Label": "Error ratio"},
                ],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(data.metric_data_results.len(), 1);
    let r = &data.metric_data_results[0];
    assert_eq!(r.label, "Error ratio");
    assert_eq!(r.values.len(), 1);
    assert!(
        (r.values[0] - 100.0 * 4.0 / 5050.0).abs() < 1e-9,
        "{:?}",
        r.values
    );
}

#[tokio::test]
async fn bad_datapoints_are_refused_whole_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path()).await;
    let s = scope();
    let t = now_s();
    let cases: Vec<(Vec<serde_json::Value>, &str, &str)> = vec![
        (
            vec![
                json!({"MetricName": "a", "Value": 1.0}),
                json!({"MetricName": "b", "Value": f64::MAX}),
            ],
            "InvalidParameterValue",
            "MetricData.member.2.Value",
        ),
        (
            vec![
                json!({"MetricName": "a", "Value": 1.0, "StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}}),
            ],
            "InvalidParameterCombination",
            "mutually exclusive",
        ),
        (
            vec![json!({"MetricName": "a", "Value": 1.0, "Timestamp": t + 3 * 3600})],
            "InvalidParameterValue",
            "two hours in the future",
        ),
        (
            vec![json!({"MetricName": "a", "Value": 1.0, "StorageResolution": 5})],
            "InvalidParameterValue",
            "StorageResolution",
        ),
        (
            vec![json!({"MetricName": "a", "Values": [1.0, 2.0], "Counts": [1.0]})],
            "InvalidParameterValue",
            "same size",
        ),
        (
            vec![json!({"MetricName": "a", "Value": 1.0, "Unit": "Parsecs"})],
            "InvalidParameterValue",
            "Unit",
        ),
    ];
    for (data, code, text) in cases {
        let data: Vec<MetricDatumIn> = data
            .into_iter()
            .map(|d| serde_json::from_value(d).unwrap())
            .collect();
        let err = f.cw.put_metric_data(&s, "App", &data).await.unwrap_err();
        let api: sightline_wire::ApiError = err.into();
        assert_eq!(api.code, code);
        assert!(api.message.contains(text), "{}", api.message);
    }
    let too_many: Vec<MetricDatumIn> = (0..1001)
        .map(|i| datum(&format!("m{i}"), 1.0, t, 60))
        .collect();
    assert!(f.cw.put_metric_data(&s, "App", &too_many).await.is_err());
    let reserved =
        f.cw.put_metric_data(&s, "AWS/EC2", &[datum("a", 1.0, t, 60)])
            .await
            .unwrap_err();
    assert!(reserved.to_string().contains("AWS/"));
    let listed = f.cw.list_metrics(&s, Default::default()).unwrap();
    assert!(listed.metrics.is_empty(), "{:?}", listed.metrics);
    // Unknown alarms and bad states are refused without creating anything.
    assert!(
        f.cw.set_alarm_state(&s, "none", "ALARM", "r".into(), None)
            .await
            .is_err()
    );
    let bad_period =
        f.cw.put_metric_alarm(
            &s,
            serde_json::from_value(json!({
                "AlarmName": "p", "Namespace": "App", "MetricName": "a", "Statistic": "Average",
                "Period": 45, "EvaluationPeriods": 1, "Threshold": 1.0,
                "ComparisonOperator": "GreaterThanThreshold",
            }))
            .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(bad_period.to_string().contains("Period"));
    assert!(f.cw.alarm(&s, "p").is_none());
}

#[tokio::test]
async fn old_ranges_are_read_from_rollups_and_late_hours_are_rolled_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path()).await;
    let s = scope();
    let now = now_s();
    // Two hours of minute data, two days ago: outside the in-memory window.
    let hour0 = (now - 2 * 86_400) - (now - 2 * 86_400).rem_euclid(3600);
    let data: Vec<MetricDatumIn> = (0..120)
        .map(|i| datum("Old", f64::from(i), hour0 + 60 * i64::from(i), 60))
        .collect();
    f.cw.put_metric_data(&s, "App", &data).await.unwrap();
    let written = f.cw.roll_up(now * 1000).await.unwrap();
    // 120 one-minute rows, 24 five-minute rows, 2 hourly rows.
    assert_eq!(written, 120 + 24 + 2);
    let rows = f
        .lake
        .sql(
            &s.account_id,
            "SELECT storage_resolution AS r, count(*) AS n, sum(sum) AS total FROM metric_rollups GROUP BY storage_resolution ORDER BY r",
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&rows.json_rows().unwrap()).unwrap();
    assert!(text.contains("7140"), "{text}");
    let stats = |period: i64| {
        let cw = f.cw.clone();
        let s = s.clone();
        async move {
            cw.get_metric_statistics(
                &s,
                serde_json::from_value(json!({
                    "Namespace": "App", "MetricName": "Old",
                    "Dimensions": [{"Name": "Host", "Value": "a"}],
                    "StartTime": hour0, "EndTime": hour0 + 7200, "Period": period,
                    "Statistics": ["Sum", "SampleCount", "Maximum"],
                }))
                .unwrap(),
            )
            .await
            .unwrap()
            .datapoints
        }
    };
    let hourly = stats(3600).await;
    assert_eq!(hourly.len(), 2);
    assert_eq!(hourly[0].sum, Some((0..60).sum::<i32>() as f64));
    assert_eq!(hourly[1].maximum, Some(119.0));
    assert_eq!(stats(300).await.len(), 24);
    // A late datapoint for the first hour: read from raw at once, then rolled up again.
    f.cw.put_metric_data(&s, "App", &[datum("Old", 1000.0, hour0 + 30, 60)])
        .await
        .unwrap();
    assert_eq!(stats(3600).await[0].sum, Some(1770.0 + 1000.0));
    f.cw.roll_up(now * 1000).await.unwrap();
    let hourly = stats(3600).await;
    assert_eq!(hourly[0].sum, Some(2770.0));
    assert_eq!(hourly[0].sample_count, Some(61.0));
}

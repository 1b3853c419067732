"""CloudWatch metrics, alarms, dashboards and widget images, with SNS notifications.

Every call goes through a real client: the aws CLI v1 and boto3 (awsJson1_0), Debian's
aws CLI v2 (awsQuery), and botocore's own smithy-rpc-v2-cbor client. Alarms are driven by
datapoints and evaluated by the server; notifications arrive over real HTTP and SMTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import gzip
import http.server
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import boto3
import botocore.session
import pytest
import requests
from aiosmtpd.controller import Controller
from botocore.config import Config

from sightline_support import (
    REGION,
    aws,
    aws_error,
    error_message,
    expect_error,
    free_port,
    retry_until,
    unique,
)

DEBIAN_AWS = "/usr/bin/aws"


def first(items, what: str):
    """The first of `items`, or an AssertionError that retry_until retries on."""
    for item in items:
        return item
    raise AssertionError(f"no {what} yet")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- metrics


def test_datapoints_in_every_form_give_the_statistics_cli_and_boto3_ask_for(server):
    ns = unique("App")
    env = server.env
    t = now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    aws("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Latency",
        "--dimensions", "Host=a", "--value", "10", "--unit", "Milliseconds",
        "--timestamp", iso(t), env=env)
    cw = server.client("cloudwatch")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}],
         "Timestamp": t + dt.timedelta(seconds=10), "Values": [20.0, 30.0, 1000.0],
         "Counts": [1.0, 2.0, 1.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}],
         "Timestamp": t + dt.timedelta(seconds=70), "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 4, "Sum": 40, "Minimum": 5, "Maximum": 15}},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "b"}],
         "Timestamp": t, "Value": 7.0},
    ])
    out = aws(
        "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Latency",
        "--dimensions", "Name=Host,Value=a", "--start-time", iso(t),
        "--end-time", iso(t + dt.timedelta(minutes=2)), "--period", "120",
        "--statistics", "SampleCount", "Sum", "Average", "Minimum", "Maximum", env=env)
    assert out["Label"] == "Latency"
    [dp] = out["Datapoints"]
    assert dp["SampleCount"] == 1 + 4 + 4
    assert dp["Sum"] == 10 + (20 + 60 + 1000) + 40
    assert dp["Minimum"] == 5 and dp["Maximum"] == 1000
    assert math.isclose(dp["Average"], dp["Sum"] / dp["SampleCount"])
    assert dp["Unit"] == "Milliseconds"
    # Percentiles need every value known: the statistic set of the second minute hides
    # its values, so only the first minute has them.
    pct = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a"}],
        StartTime=t, EndTime=t + dt.timedelta(minutes=2), Period=60,
        ExtendedStatistics=["p50", "p99"])["Datapoints"]
    pct.sort(key=lambda d: d["Timestamp"])
    ext = pct[0]["ExtendedStatistics"]
    assert math.isclose(ext["p50"], 30.0, rel_tol=0.01), ext
    assert math.isclose(ext["p99"], 1000.0, rel_tol=0.01), ext
    assert pct[1]["ExtendedStatistics"] == {}
    # A unit the data was not reported in matches nothing.
    none = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a"}],
        StartTime=t, EndTime=t + dt.timedelta(minutes=1), Period=60,
        Statistics=["Sum"], Unit="Bytes")
    assert none["Datapoints"] == []
    listed = cw.list_metrics(Namespace=ns)["Metrics"]
    assert sorted(m["Dimensions"][0]["Value"] for m in listed) == ["a", "b"]
    only_b = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "b"}])["Metrics"]
    assert [m["Dimensions"] for m in only_b] == [[{"Name": "Host", "Value": "b"}]]
    recent = cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]
    assert len(recent) == 2


def test_bad_datapoints_get_cloudwatch_errors_and_store_nothing(server):
    ns = unique("Bad")
    cw = server.client("cloudwatch", validate=False)
    cases = [
        ({"MetricName": "m", "Value": 1.0, "Timestamp": now() + dt.timedelta(hours=3)},
         "InvalidParameterValue", "two hours in the future"),
        ({"MetricName": "m", "Value": 1.0, "Timestamp": now() - dt.timedelta(days=15)},
         "InvalidParameterValue", "two weeks"),
        ({"MetricName": "m", "Value": 1e200},
         "InvalidParameterValue", "MetricData.member.2.Value"),
        ({"MetricName": "m", "Value": 1.0, "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]},
         "InvalidParameterValue", "must not have a size greater than 30"),
        ({"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
         "InvalidParameterCombination", "mutually exclusive"),
        ({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]},
         "InvalidParameterValue", "same size"),
        ({"MetricName": "m", "Value": 1.0, "StorageResolution": 30},
         "InvalidParameterValue", "StorageResolution"),
    ]
    for datum, code, text in cases:
        good = {"MetricName": "ok", "Value": 1.0}
        err = expect_error(code, cw.put_metric_data, Namespace=ns, MetricData=[good, datum])
        assert text in error_message(err), error_message(err)
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    expect_error("InvalidParameterValue", cw.put_metric_data, Namespace="AWS/EC2",
                 MetricData=[{"MetricName": "m", "Value": 1.0}])
    expect_error("InvalidParameterValue", cw.put_metric_data, Namespace=ns,
                 MetricData=[{"MetricName": f"m{i}", "Value": 1.0} for i in range(1001)])
    # NaN and infinities are refused, never stored (botocore writes them as bare JSON
    # tokens).
    for bad in ("NaN", "Infinity", "-Infinity"):
        r = aws_error("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "m",
                      f"--value={bad}", env=server.env, code="InvalidParameterValue")
        assert f"The value {bad} for parameter MetricData.member.1.Value is invalid" in r.stderr
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    # Reads are checked the same way.
    expect_error("InvalidParameterCombination", cw.get_metric_statistics, Namespace=ns,
                 MetricName="m", StartTime=now() - dt.timedelta(days=3), EndTime=now(),
                 Period=60, Statistics=["Sum"])
    expect_error("InvalidParameterValue", cw.get_metric_statistics, Namespace=ns,
                 MetricName="m", StartTime=now() - dt.timedelta(hours=1), EndTime=now(),
                 Period=61, Statistics=["Sum"])
    expect_error("InvalidParameterValue", cw.get_metric_statistics, Namespace=ns,
                 MetricName="m", StartTime=now() - dt.timedelta(hours=1), EndTime=now(),
                 Period=60, ExtendedStatistics=["p101"])


def test_large_put_metric_data_is_sent_gzipped_and_stored(server):
    ns = unique("Gzip")
    cw = server.client("cloudwatch")
    seen = []
    cw.meta.events.register("before-send.cloudwatch.PutMetricData",
                            lambda request, **_: seen.append(request.headers.get("Content-Encoding")))
    t = now() - dt.timedelta(minutes=2)
    data = [{"MetricName": "Bytes", "Dimensions": [{"Name": "Shard", "Value": f"s{i:04d}"}],
             "Timestamp": t, "Value": float(i)} for i in range(1000)]
    cw.put_metric_data(Namespace=ns, MetricData=data)
    assert seen == [b"gzip"] or seen == ["gzip"], seen
    got = cw.get_metric_statistics(
        Namespace=ns, MetricName="Bytes", Dimensions=[{"Name": "Shard", "Value": "s0999"}],
        StartTime=t - dt.timedelta(minutes=1), EndTime=t + dt.timedelta(minutes=1),
        Period=60, Statistics=["Sum"])["Datapoints"]
    assert [d["Sum"] for d in got] == [999.0]
    assert len(cw.list_metrics(Namespace=ns)["Metrics"]) == 500  # one page of 500


def test_get_metric_data_runs_metric_math_and_search_and_pages(server):
    ns = unique("Math")
    cw = server.client("cloudwatch")
    t0 = now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    data = []
    for i in range(5):
        ts = t0 + dt.timedelta(minutes=i)
        data.append({"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": ts, "Value": 100.0})
        data.append({"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "b"}], "Timestamp": ts, "Value": 50.0})
        data.append({"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": ts, "Value": float(i)})
    cw.put_metric_data(Namespace=ns, MetricData=data)

    def stat(name, host):
        return {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}]},
                "Period": 60, "Stat": "Sum"}

    out = cw.get_metric_data(
        StartTime=t0, EndTime=t0 + dt.timedelta(minutes=5), ScanBy="TimestampAscending",
        MetricDataQueries=[
            {"Id": "req", "MetricStat": stat("Requests", "a"), "ReturnData": False},
            {"Id": "err", "MetricStat": stat("Errors", "a"), "ReturnData": False},
            {"Id": "rate", "Expression": "100 * err / req", "Label": "Error rate"},
            {"Id": "total", "Expression": f"SUM(SEARCH('{{{ns},Host}} MetricName=\"Requests\"', 'Sum', 60))"},
            {"Id": "grown", "Expression": "RUNNING_SUM(err)"},
        ])
    by_id = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(by_id) == {"rate", "total", "grown"}
    assert by_id["rate"]["Label"] == "Error rate"
    assert by_id["rate"]["Values"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert by_id["total"]["Values"] == [150.0] * 5
    assert by_id["grown"]["Values"] == [0.0, 1.0, 3.0, 6.0, 10.0]
    assert all(r["StatusCode"] == "Complete" for r in out["MetricDataResults"])
    assert by_id["rate"]["Timestamps"][0] == t0
    # Pages of at most 3 datapoints, newest first by default, until no NextToken.
    values, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        page = cw.get_metric_data(
            StartTime=t0, EndTime=t0 + dt.timedelta(minutes=5), MaxDatapoints=3,
            MetricDataQueries=[{"Id": "err", "MetricStat": stat("Errors", "a")}], **kw)
        pages += 1
        for r in page["MetricDataResults"]:
            values += r["Values"]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2 and values == [4.0, 3.0, 2.0, 1.0, 0.0]
    err = expect_error("ValidationError", cw.get_metric_data,
                       StartTime=t0, EndTime=t0 + dt.timedelta(minutes=5),
                       MetricDataQueries=[{"Id": "e1", "Expression": "m1 +* 2"},
                                          {"Id": "m1", "MetricStat": stat("Errors", "a")}])
    assert "Error in expression e1" in error_message(err)


def test_debian_aws_cli_v2_speaks_query(server):
    assert Path(DEBIAN_AWS).exists(), "the test setup installs Debian's awscli (v2)"
    ns = unique("QueryCli")
    env = server.env
    base = [DEBIAN_AWS, "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json"]
    t = now() - dt.timedelta(minutes=3)

    def run(*args, check=True):
        p = subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    version = run("--version").stdout + run("--version").stderr
    assert version.startswith("aws-cli/2."), version
    run("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Queue",
        "--value", "42", "--unit", "Count", "--timestamp", iso(t), "--debug")
    out = json.loads(run("cloudwatch", "get-metric-statistics", "--namespace", ns,
                         "--metric-name", "Queue", "--start-time", iso(t - dt.timedelta(minutes=1)),
                         "--end-time", iso(t + dt.timedelta(minutes=1)), "--period", "60",
                         "--statistics", "Maximum").stdout)
    assert [d["Maximum"] for d in out["Datapoints"]] == [42.0]
    pct = json.loads(run("cloudwatch", "get-metric-statistics", "--namespace", ns,
                         "--metric-name", "Queue", "--start-time", iso(t - dt.timedelta(minutes=1)),
                         "--end-time", iso(t + dt.timedelta(minutes=1)), "--period", "60",
                         "--extended-statistics", "p90").stdout)
    assert pct["Datapoints"][0]["ExtendedStatistics"] == {"p90": 42.0}
    name = unique("q-alarm")
    run("cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", ns,
        "--metric-name", "Queue", "--statistic", "Maximum", "--period", "60",
        "--evaluation-periods", "1", "--threshold", "10",
        "--comparison-operator", "GreaterThanThreshold")
    alarms = json.loads(run("cloudwatch", "describe-alarms", "--alarm-names", name).stdout)
    assert alarms["MetricAlarms"][0]["AlarmName"] == name
    assert alarms["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    bad = run("cloudwatch", "set-alarm-state", "--alarm-name", "no-such-alarm",
              "--state-value", "OK", "--state-reason", "x", check=False)
    assert bad.returncode != 0 and "ResourceNotFound" in bad.stderr, bad.stderr
    # The request really was Query: the debug log shows the form body.
    dbg = run("cloudwatch", "list-metrics", "--namespace", ns, "--debug")
    assert "application/x-www-form-urlencoded" in dbg.stderr
    assert "'Action': 'ListMetrics'" in dbg.stderr


def cbor_client(server):
    """botocore's smithy-rpc-v2-cbor client: the same botocore model, told to speak CBOR."""
    import botocore
    src = Path(botocore.__file__).parent / "data" / "cloudwatch" / "2010-08-01"
    root = Path(tempfile.mkdtemp())
    dst = root / "cloudwatch" / "2010-08-01"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        name = f.name[:-3] if f.suffix == ".gz" else f.name
        if name == "service-2.json":
            model = json.loads(raw)
            model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
            model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
            raw = json.dumps(model).encode()
        (dst / name).write_bytes(raw)
    session = botocore.session.Session()
    session.set_config_variable("data_path", str(root))
    creds = server.root
    return session.create_client(
        "cloudwatch", region_name=REGION, endpoint_url=server.endpoint,
        aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}))


def test_cbor_client_puts_and_reads_and_sees_query_error_codes(server):
    cw = cbor_client(server)
    seen = []
    cw.meta.events.register("before-send", lambda request, **_: seen.append(
        (request.url, request.headers.get("Content-Type"))))
    ns = unique("Cbor")
    t = now() - dt.timedelta(minutes=2)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Depth", "Timestamp": t, "Value": 3.5, "Unit": "Count"}])
    got = cw.get_metric_statistics(Namespace=ns, MetricName="Depth",
                                   StartTime=t - dt.timedelta(minutes=1), EndTime=t + dt.timedelta(minutes=1),
                                   Period=60, Statistics=["Average"])
    assert [d["Average"] for d in got["Datapoints"]] == [3.5]
    assert isinstance(got["Datapoints"][0]["Timestamp"], dt.datetime)
    url, ctype = seen[0]
    assert url.endswith("/service/GraniteServiceVersion20100801/operation/PutMetricData")
    assert ctype in (b"application/cbor", "application/cbor")
    err = expect_error("ResourceNotFound", cw.set_alarm_state, AlarmName="nope",
                       StateValue="OK", StateReason="x")
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# --------------------------------------------------------------------------- alarms


def test_alarm_validation_refuses_bad_definitions_and_creates_nothing(server):
    cw = server.client("cloudwatch", validate=False)
    name = unique("bad")
    base = dict(AlarmName=name, Namespace="App", MetricName="m", Statistic="Average",
                Period=60, EvaluationPeriods=1, Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold")
    for change, code in [
        ({"Period": 45}, "InvalidParameterValue"),
        ({"DatapointsToAlarm": 2}, "ValidationError"),
        ({"Statistic": None, "ExtendedStatistic": "p999"}, "InvalidParameterValue"),
        ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
        ({"TreatMissingData": "sometimes"}, "ValidationError"),
        ({"EvaluationPeriods": 1441}, "ValidationError"),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationError"),
    ]:
        args = {k: v for k, v in {**base, **change}.items() if v is not None}
        expect_error(code, cw.put_metric_alarm, **args)
    expect_error("ValidationError", cw.put_metric_alarm, AlarmName=name, EvaluationPeriods=1,
                 Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                 Metrics=[{"Id": "a", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}},
                          {"Id": "b", "Expression": "a * 2"}])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_alarm_history_tags_actions_toggle_and_describe_filters(server):
    env = server.env
    name = unique("cpu")
    arn_prefix = f"arn:aws:cloudwatch:{REGION}:{server.account_id}:alarm:"
    aws("cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "App",
        "--metric-name", "CPU", "--statistic", "Average", "--period", "60",
        "--evaluation-periods", "3", "--datapoints-to-alarm", "2", "--threshold", "80",
        "--comparison-operator", "GreaterThanOrEqualToThreshold",
        "--treat-missing-data", "ignore", "--tags", "Key=team,Value=web", env=env)
    aws("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM",
        "--state-reason", "testing", "--state-reason-data", '{"why": "test"}', env=env)
    got = aws("cloudwatch", "describe-alarms", "--alarm-name-prefix", name,
                         "--state-value", "ALARM", env=env)["MetricAlarms"]
    assert [a["AlarmName"] for a in got] == [name]
    assert got[0]["StateReason"] == "testing" and got[0]["AlarmArn"] == arn_prefix + name
    # Without data and with `ignore`, the evaluator keeps the state set here.
    assert got[0]["DatapointsToAlarm"] == 2 and got[0]["TreatMissingData"] == "ignore"
    aws("cloudwatch", "disable-alarm-actions", "--alarm-names", name, env=env)
    got = aws("cloudwatch", "describe-alarms", "--alarm-names", name, env=env)
    assert got["MetricAlarms"][0]["ActionsEnabled"] is False
    hist = aws("cloudwatch", "describe-alarm-history", "--alarm-name", name, env=env)
    summaries = [h["HistorySummary"] for h in hist["AlarmHistoryItems"]]
    assert summaries == ["Alarm updated from INSUFFICIENT_DATA to ALARM", f'Alarm "{name}" created']
    data = json.loads(hist["AlarmHistoryItems"][0]["HistoryData"])
    assert data["newState"]["stateValue"] == "ALARM" and data["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    tags = aws("cloudwatch", "list-tags-for-resource", "--resource-arn", arn_prefix + name, env=env)
    assert tags["Tags"] == [{"Key": "team", "Value": "web"}]
    aws("cloudwatch", "tag-resource", "--resource-arn", arn_prefix + name, "--tags", "Key=tier,Value=1", env=env)
    aws("cloudwatch", "untag-resource", "--resource-arn", arn_prefix + name, "--tag-keys", "team", env=env)
    tags = aws("cloudwatch", "list-tags-for-resource", "--resource-arn", arn_prefix + name, env=env)
    assert tags["Tags"] == [{"Key": "tier", "Value": "1"}]
    aws_error("cloudwatch", "list-tags-for-resource", "--resource-arn", arn_prefix + "nope",
              env=env, code="ResourceNotFoundException")
    for_metric = aws("cloudwatch", "describe-alarms-for-metric", "--namespace", "App",
                                "--metric-name", "CPU", env=env)["MetricAlarms"]
    assert name in [a["AlarmName"] for a in for_metric]
    aws_error("cloudwatch", "delete-alarms", "--alarm-names", name, "nope-" + name, env=env, code="ResourceNotFound")
    aws("cloudwatch", "delete-alarms", "--alarm-names", name, env=env)
    assert aws("cloudwatch", "describe-alarms", "--alarm-names", name, env=env)["MetricAlarms"] == []


def test_composite_alarm_follows_its_children(server):
    env = server.env
    a, b, comp = unique("child-a"), unique("child-b"), unique("comp")
    # No data and `ignore`: the evaluator keeps the states SetAlarmState gives them.
    for n in (a, b):
        aws("cloudwatch", "put-metric-alarm", "--alarm-name", n, "--namespace", "App",
            "--metric-name", n, "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1",
            "--threshold", "1", "--comparison-operator", "GreaterThanThreshold",
            "--treat-missing-data", "ignore", env=env)
    aws("cloudwatch", "put-composite-alarm", "--alarm-name", comp,
        "--alarm-rule", f'ALARM("{a}") OR (ALARM({b}) AND NOT INSUFFICIENT_DATA({a}))', env=env)

    def state(n):
        out = aws("cloudwatch", "describe-alarms", "--alarm-names", n,
                             "--alarm-types", "CompositeAlarm", "MetricAlarm", env=env)
        return (out["MetricAlarms"] + out["CompositeAlarms"])[0]["StateValue"]

    assert state(comp) == "OK"
    aws("cloudwatch", "set-alarm-state", "--alarm-name", b, "--state-value", "ALARM", "--state-reason", "t", env=env)
    assert state(comp) == "OK"  # a is still INSUFFICIENT_DATA
    aws("cloudwatch", "set-alarm-state", "--alarm-name", a, "--state-value", "OK", "--state-reason", "t", env=env)
    assert state(comp) == "ALARM"
    aws("cloudwatch", "set-alarm-state", "--alarm-name", b, "--state-value", "OK", "--state-reason", "t", env=env)
    assert state(comp) == "OK"
    aws("cloudwatch", "set-alarm-state", "--alarm-name", a, "--state-value", "ALARM", "--state-reason", "t", env=env)
    out = aws("cloudwatch", "describe-alarms", "--alarm-names", comp,
                         "--alarm-types", "CompositeAlarm", env=env)["CompositeAlarms"][0]
    assert out["StateValue"] == "ALARM" and a in out["StateReason"]
    children = aws("cloudwatch", "describe-alarms", "--children-of-alarm-name", comp,
                              "--alarm-types", "MetricAlarm", env=env)["MetricAlarms"]
    assert sorted(c["AlarmName"] for c in children) == sorted([a, b])
    parents = aws("cloudwatch", "describe-alarms", "--parents-of-alarm-name", a,
                             "--alarm-types", "CompositeAlarm", env=env)["CompositeAlarms"]
    assert [p["AlarmName"] for p in parents] == [comp]
    # Without --alarm-types only metric alarms are listed, as on AWS.
    plain = aws("cloudwatch", "describe-alarms", "--alarm-names", comp, env=env)
    assert plain["CompositeAlarms"] == [] and plain["MetricAlarms"] == []
    r = aws_error("cloudwatch", "put-composite-alarm", "--alarm-name", unique("x"),
                  "--alarm-rule", "ALARM(does-not-exist)", env=env, code="ValidationError")
    assert "does-not-exist" in r.stderr
    r = aws_error("cloudwatch", "put-composite-alarm", "--alarm-name", unique("x"),
                  "--alarm-rule", f"ALARM({a}) AND", env=env, code="ValidationError")
    assert "Error in AlarmRule" in r.stderr
    outer = unique("outer")
    aws("cloudwatch", "put-composite-alarm", "--alarm-name", outer, "--alarm-rule", f"ALARM({comp})", env=env)
    r = aws_error("cloudwatch", "put-composite-alarm", "--alarm-name", comp,
                  "--alarm-rule", f"ALARM({outer})", env=env, code="ValidationError")
    assert "cycle" in r.stderr


class Sink(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Sink.received.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def verify_sns_signature(msg: dict) -> None:
    """Checks a notification's signature with openssl against the served certificate."""
    if msg["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{k}\n{msg[k]}\n" for k in keys if k in msg)
    cert = requests.get(msg["SigningCertURL"], timeout=10)
    assert cert.status_code == 200 and b"BEGIN CERTIFICATE" in cert.content
    with tempfile.TemporaryDirectory() as d:
        Path(d, "cert.pem").write_bytes(cert.content)
        pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", f"{d}/cert.pem"],
                             capture_output=True, check=True).stdout
        Path(d, "pub.pem").write_bytes(pub)
        Path(d, "sig").write_bytes(base64.b64decode(msg["Signature"]))
        Path(d, "text").write_text(text)
        digest = "-sha1" if msg["SignatureVersion"] == "1" else "-sha256"
        check = subprocess.run(["openssl", "dgst", digest, "-verify", f"{d}/pub.pem",
                                "-signature", f"{d}/sig", f"{d}/text"], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_datapoints_drive_an_alarm_to_alarm_with_http_and_email_notifications_and_back(server_factory):
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    Sink.received = []
    http_port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Sink)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        srv = server_factory.start(extra_args=["--smtp-url", f"smtp://127.0.0.1:{smtp_port}"])
        sns = srv.client("sns")
        cw = srv.client("cloudwatch")
        topic = sns.create_topic(Name="oncall")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{http_port}/hook")
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
        confirm = retry_until(lambda: first((m for h, m in Sink.received if m["Type"] == "SubscriptionConfirmation"), "confirmation"), timeout=15)
        verify_sns_signature(confirm)
        assert requests.get(confirm["SubscribeURL"], timeout=10).status_code == 200
        mail = retry_until(lambda: first(mailbox.messages, "email"), timeout=15)
        link = next(w for w in mail.get_payload(decode=True).decode().split() if "ConfirmSubscription" in w)
        assert requests.get(link, timeout=10).status_code == 200
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert all(not s["SubscriptionArn"].startswith("Pending") for s in subs), subs

        cw.put_metric_alarm(AlarmName="queue-depth", Namespace="Jobs", MetricName="Depth",
                            Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=100,
                            ComparisonOperator="GreaterThanThreshold",
                            AlarmActions=[topic], OKActions=[topic])
        started = time.monotonic()
        cw.put_metric_data(Namespace="Jobs", MetricData=[
            {"MetricName": "Depth", "Value": 500, "StorageResolution": 1}])

        def notified(state):
            for h, m in Sink.received:
                if m["Type"] == "Notification" and json.loads(m["Message"])["NewStateValue"] == state:
                    return h, m
            raise AssertionError(f"no {state} notification yet")

        headers, note = retry_until(lambda: notified("ALARM"), timeout=25)
        elapsed = time.monotonic() - started
        assert elapsed <= 10 + 1 + 3, elapsed  # one evaluation interval plus slack for delivery
        assert note["Subject"] == 'ALARM: "queue-depth" in US East (N. Virginia)'
        assert headers.get("x-amz-sns-message-type") == "Notification"
        verify_sns_signature(note)
        body = json.loads(note["Message"])
        assert body["AlarmName"] == "queue-depth" and body["OldStateValue"] == "INSUFFICIENT_DATA"
        assert body["Trigger"]["MetricName"] == "Depth" and body["Trigger"]["Threshold"] == 100
        assert "Threshold Crossed" in body["NewStateReason"]
        alarm_mail = retry_until(lambda: first((m for m in mailbox.messages if "ALARM" in (m["Subject"] or "")), "alarm email"), timeout=15)
        assert "queue-depth" in alarm_mail["Subject"]
        state = cw.describe_alarms(AlarmNames=["queue-depth"])["MetricAlarms"][0]
        assert state["StateValue"] == "ALARM"

        # Fine datapoints bring it back to OK, with another notification.
        def fine():
            cw.put_metric_data(Namespace="Jobs", MetricData=[
                {"MetricName": "Depth", "Value": 1, "StorageResolution": 1}])
            return notified("OK")

        retry_until(fine, timeout=30, interval=2)
        hist = cw.describe_alarm_history(AlarmName="queue-depth", HistoryItemType="Action")["AlarmHistoryItems"]
        assert any(h["HistorySummary"].startswith("Successfully executed action") for h in hist)
    finally:
        httpd.shutdown()
        smtp.stop()


def test_alarms_dashboards_and_metrics_survive_a_restart(server_factory):
    srv = server_factory.start()
    cw = srv.client("cloudwatch")
    t = now() - dt.timedelta(minutes=3)
    cw.put_metric_data(Namespace="Keep", MetricData=[{"MetricName": "m", "Timestamp": t, "Value": 9.0}])
    # Missing data keeps the state, so the evaluator leaves the state set here alone.
    cw.put_metric_alarm(AlarmName="kept", Namespace="Keep", MetricName="m", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=100, TreatMissingData="ignore",
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="kept", StateValue="ALARM", StateReason="before restart")
    cw.put_dashboard(DashboardName="ops", DashboardBody=json.dumps({"widgets": []}))
    data_dir = srv.data_dir
    assert srv.stop() == 0
    srv = server_factory.start(data_dir=data_dir)
    cw = srv.client("cloudwatch")
    alarm = cw.describe_alarms(AlarmNames=["kept"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and alarm["StateReason"] == "before restart"
    assert cw.get_dashboard(DashboardName="ops")["DashboardBody"] == json.dumps({"widgets": []})
    got = cw.get_metric_statistics(Namespace="Keep", MetricName="m", StartTime=t - dt.timedelta(minutes=1),
                                   EndTime=t + dt.timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert [d["Sum"] for d in got["Datapoints"]] == [9.0]
    assert cw.list_metrics(Namespace="Keep")["Metrics"] == [{"Namespace": "Keep", "MetricName": "m", "Dimensions": []}]


# --------------------------------------------------------------------------- dashboards


def test_dashboards_are_validated_stored_listed_and_deleted(server):
    env = server.env
    name = unique("dash")
    body = {"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
         "properties": {"metrics": [["App", "Latency", "Host", "a"]], "period": 300, "stat": "Average",
                        "region": REGION, "title": "Latency"}},
        {"type": "text", "x": 12, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "# Ops"}},
    ]}
    out = aws("cloudwatch", "put-dashboard", "--dashboard-name", name,
                         "--dashboard-body", json.dumps(body), env=env)
    assert out["DashboardValidationMessages"] == []
    got = aws("cloudwatch", "get-dashboard", "--dashboard-name", name, env=env)
    assert json.loads(got["DashboardBody"]) == body
    assert got["DashboardArn"] == f"arn:aws:cloudwatch::{server.account_id}:dashboard/{name}"
    listed = aws("cloudwatch", "list-dashboards", "--dashboard-name-prefix", name, env=env)
    assert [d["DashboardName"] for d in listed["DashboardEntries"]] == [name]
    assert listed["DashboardEntries"][0]["Size"] == len(json.dumps(body))
    cw = server.client("cloudwatch")
    bad = {"widgets": [{"type": "chart", "width": 30, "properties": {}}, {"type": "text", "properties": {}}]}
    err = expect_error("InvalidParameterInput", cw.put_dashboard, DashboardName=name + "-bad",
                       DashboardBody=json.dumps(bad))
    paths = [m["DataPath"] for m in err.response.get("DashboardValidationMessages", [])] or error_message(err)
    assert "/widgets/0/type" in str(paths) and "/widgets/0/width" in str(paths) and "/widgets/1/properties" in str(paths)
    expect_error("InvalidParameterInput", cw.put_dashboard, DashboardName=name + "-bad", DashboardBody="{not json")
    expect_error("InvalidParameterValue", cw.put_dashboard, DashboardName="bad name!", DashboardBody=json.dumps(body))
    expect_error("ResourceNotFound", cw.get_dashboard, DashboardName=name + "-bad")
    aws_error("cloudwatch", "delete-dashboards", "--dashboard-names", name, name + "-missing", env=env, code="ResourceNotFound")
    aws("cloudwatch", "delete-dashboards", "--dashboard-names", name, env=env)
    expect_error("ResourceNotFound", cw.get_dashboard, DashboardName=name)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_metric_widget_image_is_a_png_of_the_requested_size(server):
    ns = unique("Widget")
    cw = server.client("cloudwatch")
    t = now()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Load", "Timestamp": t - dt.timedelta(minutes=i * 5), "Value": float(i % 7)} for i in range(30)])
    widget = {"metrics": [[ns, "Load"], [{"expression": "m1 * 2", "label": "double", "id": "e1"}]],
              "view": "timeSeries", "stat": "Average", "period": 300, "width": 640, "height": 320,
              "start": "-PT3H", "title": "Load"}
    widget["metrics"][0].append({"id": "m1"})
    img = cw.get_metric_widget_image(MetricWidget=json.dumps(widget))["MetricWidgetImage"]
    assert png_size(img) == (640, 320)
    out_dir = os.environ.get("SIGHTLINE_TEST_ARTIFACTS")
    if out_dir:
        Path(out_dir, "widget.png").write_bytes(img)
    # The CLI writes the same image (base64 on the wire, bytes in the file).
    env = server.env
    with tempfile.TemporaryDirectory() as d:
        out = aws("cloudwatch", "get-metric-widget-image", "--metric-widget",
                             json.dumps({**widget, "width": 300, "height": 200}), env=env)
        assert png_size(base64.b64decode(out["MetricWidgetImage"])) == (300, 200)
    expect_error("ValidationError", cw.get_metric_widget_image,
                 MetricWidget=json.dumps({"metrics": [[ns, "Load"]], "width": 5000}))


def test_log_metric_filters_land_in_cloudwatch(server):
    logs = server.client("logs")
    cw = server.client("cloudwatch")
    group = unique("/app/metrics")
    ns = unique("LogMetrics")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=[{"metricName": "ErrorCount", "metricNamespace": ns, "metricValue": "1"}])
    t = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": t, "message": "ERROR one"}, {"timestamp": t, "message": "ok"},
        {"timestamp": t + 1, "message": "ERROR two"}])
    got = cw.get_metric_statistics(Namespace=ns, MetricName="ErrorCount",
                                   StartTime=now() - dt.timedelta(minutes=5), EndTime=now() + dt.timedelta(minutes=1),
                                   Period=60, Statistics=["Sum"])
    assert sum(d["Sum"] for d in got["Datapoints"]) == 2.0
    assert cw.list_metrics(Namespace=ns)["Metrics"][0]["MetricName"] == "ErrorCount"

"""Metric input besides PutMetricData: OTLP/HTTP metrics (`POST /v1/metrics`) from the
real OpenTelemetry SDK and as OTLP/JSON, and Prometheus remote-write 1.0
(`POST /api/v1/write`, snappy-compressed protobuf built here by hand), authenticated
with SigV4 for `monitoring` or with an ingest token. What arrives is read back through
boto3's CloudWatch client, as any PutMetricData datum would be.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import struct
import subprocess
import time

import botocore.auth
import cramjam
import pytest
import requests
from botocore.awsrequest import AWSRequest

from sightline_support import (
    REGION,
    allow,
    audit_record,
    free_port,
    make_user,
    policy,
    retry_until,
    sightline_bin,
    unique,
)

WRITE = "/api/v1/write"
METRICS = "/v1/metrics"


def now_ms() -> int:
    return int(time.time() * 1000)


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def make_token(server) -> str:
    made = subprocess.run([sightline_bin(), "logs", "token", "create", "--description", "metrics"],
                          env=server.env, capture_output=True, text=True, timeout=30)
    assert made.returncode == 0 and made.stdout.startswith("slt_"), made.stderr
    return made.stdout.strip()


def signed(server, path: str, body: bytes, headers: dict, creds=None) -> requests.Response:
    """POST `body` signed with SigV4 for `monitoring`, as an AWS SDK would sign it."""
    url = server.endpoint + path
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    botocore.auth.SigV4Auth((creds or server.root).botocore(), "monitoring", REGION).add_auth(req)
    return requests.post(url, data=body, headers=dict(req.headers), timeout=30)


def bearer(server, path: str, body: bytes, headers: dict, token: str) -> requests.Response:
    return requests.post(server.endpoint + path, data=body,
                         headers={**headers, "Authorization": f"Bearer {token}"}, timeout=30)


def totals(cw, namespace: str, name: str, dims: dict, unit: str | None = None, **extra) -> dict:
    """Sum, SampleCount, Maximum and Minimum over the last hour (one-minute datapoints)."""
    args = dict(Namespace=namespace, MetricName=name,
                Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
                StartTime=utc(now_ms() - 3_600_000), EndTime=utc(now_ms() + 600_000), Period=60,
                Statistics=["Sum", "SampleCount", "Maximum", "Minimum"], **extra)
    if unit:
        args["Unit"] = unit
    points = cw.get_metric_statistics(**args)["Datapoints"]
    if not points:
        return {}
    return {"Sum": sum(p["Sum"] for p in points),
            "SampleCount": sum(p["SampleCount"] for p in points),
            "Maximum": max(p["Maximum"] for p in points),
            "Minimum": min(p["Minimum"] for p in points),
            "Points": points}


def listed_dims(cw, namespace: str, name: str) -> list:
    metrics = cw.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]
    return sorted(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in metrics)


# --------------------------------------------------------------------------- OTLP


def test_otlp_metrics_from_the_opentelemetry_sdk_with_an_ingest_token(server):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    token = make_token(server)
    service = unique("checkout")
    exporter = OTLPMetricExporter(endpoint=server.endpoint + METRICS,
                                  headers={"Authorization": f"Bearer {token}"},
                                  compression=Compression.Gzip)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create(
        {"service.namespace": "shop", "service.name": service, "host.name": "h1"}),
        metric_readers=[reader])
    meter = provider.get_meter("payments")
    orders = meter.create_counter("orders", unit="{order}")
    orders.add(5, {"route": "/pay", "code": 200})
    orders.add(3, {"route": "/pay", "code": 200})
    orders.add(1, {"route": "/refund", "code": 500})
    latency = meter.create_histogram("latency", unit="ms")
    for v in (7, 20, 60):
        latency.record(v, {"route": "/pay"})
    meter.create_observable_gauge("cpu", unit="%",
                                  callbacks=[lambda _options: [Observation(42.5)]])
    # Shutting down collects and exports once (a force_flush first would export twice).
    provider.shutdown()

    cw = server.client("cloudwatch")
    ns = f"shop/{service}"
    assert listed_dims(cw, ns, "orders") == [[("code", "200"), ("route", "/pay")],
                                             [("code", "500"), ("route", "/refund")]]
    # A cumulative sum is stored as the running total the SDK sent.
    pay = totals(cw, ns, "orders", {"route": "/pay", "code": "200"}, unit="Count")
    assert (pay["Maximum"], pay["SampleCount"]) == (8, 1)
    # The histogram keeps its exact statistics; percentiles come from bucket midpoints.
    lat = totals(cw, ns, "latency", {"route": "/pay"}, unit="Milliseconds")
    assert (lat["SampleCount"], lat["Sum"], lat["Minimum"], lat["Maximum"]) == (3, 87, 7, 60)
    pct = cw.get_metric_statistics(
        Namespace=ns, MetricName="latency", Dimensions=[{"Name": "route", "Value": "/pay"}],
        StartTime=utc(now_ms() - 3_600_000), EndTime=utc(now_ms() + 600_000), Period=3600,
        ExtendedStatistics=["p50", "p99"])["Datapoints"]
    assert len(pct) >= 1
    p50 = pct[0]["ExtendedStatistics"]["p50"]
    assert 15 <= p50 <= 20, pct  # the (10, 25] bucket's midpoint, 17.5
    assert abs(pct[0]["ExtendedStatistics"]["p99"] - 60) <= 1, pct  # the max, through the sketch
    cpu = totals(cw, ns, "cpu", {}, unit="Percent")
    assert cpu["Maximum"] == 42.5
    assert listed_dims(cw, ns, "cpu") == [[]]


def test_otlp_json_signed_for_monitoring_with_gzip_summary_and_partial_success(server):
    name = unique("otlp-json")
    t = now_ms() - 5_000
    doc = {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
        "scopeMetrics": [{"scope": {"name": "lib"}, "metrics": [
            {"name": name, "unit": "s", "summary": {"dataPoints": [{
                "attributes": [{"key": "method", "value": {"stringValue": "GET"}}],
                "timeUnixNano": str(t * 1_000_000), "count": "4", "sum": 2.0,
                "quantileValues": [{"quantile": 0.0, "value": 0.1},
                                   {"quantile": 0.5, "value": 0.4},
                                   {"quantile": 1.0, "value": 1.2}]}]}},
            {"name": name + "-gauge", "gauge": {"dataPoints": [
                {"timeUnixNano": str(t * 1_000_000), "asInt": "7"},
                # Three weeks old: CloudWatch keeps two weeks, so this one is refused.
                {"timeUnixNano": str((t - 21 * 86_400_000) * 1_000_000), "asDouble": 1.5}]}},
        ]}]}]}
    body = gzip.compress(json.dumps(doc).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
               "x-sightline-namespace": "Edge/Json"}
    resp = signed(server, METRICS, body, headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    partial = resp.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1" and "two weeks" in partial["errorMessage"]

    cw = server.client("cloudwatch")
    got = totals(cw, "Edge/Json", name, {"method": "GET"}, unit="Seconds")
    assert (got["SampleCount"], got["Sum"], got["Minimum"], got["Maximum"]) == (4, 2, 0.1, 1.2)
    q50 = totals(cw, "Edge/Json", name, {"method": "GET", "quantile": "0.5"})
    assert q50["Maximum"] == 0.4
    gauge = totals(cw, "Edge/Json", name + "-gauge", {})
    assert (gauge["SampleCount"], gauge["Sum"]) == (1, 7)
    record = audit_record(server, resp.headers["x-amzn-RequestId"])
    assert record["eventName"] == "ExportMetrics"
    assert record["eventSource"] == "monitoring.amazonaws.com"

    # Reserved namespaces are refused as PutMetricData refuses them, and nothing is stored.
    aws_doc = json.loads(json.dumps(doc))
    aws_doc["resourceMetrics"][0]["resource"]["attributes"] = [
        {"key": "service.namespace", "value": {"stringValue": "AWS"}},
        {"key": "service.name", "value": {"stringValue": "EC2"}}]
    refused = signed(server, METRICS, json.dumps(aws_doc).encode(),
                     {"Content-Type": "application/json"})
    assert refused.status_code == 400 and "AWS/" in refused.text
    assert cw.list_metrics(Namespace="AWS/EC2", MetricName=name)["Metrics"] == []
    # Malformed bodies and unknown content types are refused.
    bad = signed(server, METRICS, b"\xff\x01garbage", {"Content-Type": "application/x-protobuf"})
    assert bad.status_code == 400
    odd = signed(server, METRICS, b"{}", {"Content-Type": "text/plain"})
    assert odd.status_code == 415
    # Unsigned requests are refused.
    anon = requests.post(server.endpoint + METRICS, data=json.dumps(doc).encode(),
                         headers={"Content-Type": "application/json"}, timeout=30)
    assert anon.status_code in (400, 403)


# --------------------------------------------------------------------------- remote-write


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def length_delimited(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def time_series(labels: dict, samples: list) -> bytes:
    """prometheus.TimeSeries: Label{name=1, value=2} = 1, Sample{double value=1,
    int64 timestamp=2} = 2."""
    out = b"".join(length_delimited(1, length_delimited(1, k.encode())
                                    + length_delimited(2, v.encode()))
                   for k, v in sorted(labels.items()))
    for value, ts in samples:
        sample = varint(1 << 3 | 1) + struct.pack("<d", value) + varint(2 << 3) + varint(ts)
        out += length_delimited(2, sample)
    return out


def write_request(*series: bytes) -> bytes:
    """prometheus.WriteRequest{repeated TimeSeries timeseries = 1}, snappy-compressed."""
    plain = b"".join(length_delimited(1, s) for s in series)
    return bytes(cramjam.snappy.compress_raw(plain))


REMOTE_WRITE = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "Prometheus/2.42.0"}
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def test_remote_write_signed_with_sigv4_stores_every_sample(server):
    name = unique("http_requests_total").replace("-", "_")
    t = now_ms() - 60_000
    labels = {"__name__": name, "job": "api", "instance": "10.0.0.1:9090", "empty": ""}
    body = write_request(
        time_series(labels, [(10, t), (12, t + 15_000), (STALE_NAN, t + 30_000),
                             (3, t - 21 * 86_400_000)]),
        time_series({"__name__": name, "job": "api", "instance": "10.0.0.2:9090"}, [(4, t)]))
    resp = signed(server, WRITE, body, REMOTE_WRITE)
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    # The stale marker is no sample; the three-week-old one is refused.
    assert resp.headers["x-sightline-rejected-samples"] == "1"

    cw = server.client("cloudwatch")
    assert listed_dims(cw, "Prometheus", name) == [
        [("instance", "10.0.0.1:9090"), ("job", "api")],
        [("instance", "10.0.0.2:9090"), ("job", "api")]]
    one = totals(cw, "Prometheus", name, {"job": "api", "instance": "10.0.0.1:9090"})
    assert (one["SampleCount"], one["Sum"], one["Maximum"]) == (2, 22, 12)
    record = audit_record(server, resp.headers["x-amzn-RequestId"])
    assert record["eventName"] == "RemoteWrite"
    assert record["userIdentity"]["type"] == "Root"

    # IAM decides as for PutMetricData.
    iam = server.client("iam")
    user = make_user(iam, "writer", {"read": policy(allow("cloudwatch:GetMetricStatistics"))})
    other = unique("denied_total").replace("-", "_")
    denied = signed(server, WRITE, write_request(time_series({"__name__": other}, [(1, t)])),
                    REMOTE_WRITE, creds=user.creds)
    assert denied.status_code in (400, 403) and "AccessDenied" in denied.text
    assert cw.list_metrics(Namespace="Prometheus", MetricName=other)["Metrics"] == []


def test_remote_write_with_a_token_and_a_namespace_header(server):
    token = make_token(server)
    name = unique("queue_depth").replace("-", "_")
    t = now_ms() - 30_000
    body = write_request(time_series({"__name__": name, "queue": "jobs"}, [(5, t), (9, t + 1)]))
    resp = bearer(server, WRITE, body, {**REMOTE_WRITE, "x-sightline-namespace": "Workers"}, token)
    assert resp.status_code == 204, resp.text
    cw = server.client("cloudwatch")
    got = totals(cw, "Workers", name, {"queue": "jobs"})
    assert (got["SampleCount"], got["Sum"], got["Minimum"], got["Maximum"]) == (2, 14, 5, 9)
    # Senders that cannot set headers name the namespace in the URL.
    by_url = bearer(server, WRITE + "?namespace=Workers/Url", body, REMOTE_WRITE, token)
    assert by_url.status_code == 204, by_url.text
    assert totals(cw, "Workers/Url", name, {"queue": "jobs"})["Sum"] == 14
    # A reserved namespace is refused whole.
    aws_ns = bearer(server, WRITE, body, {**REMOTE_WRITE, "x-sightline-namespace": "AWS/SQS"},
                    token)
    assert aws_ns.status_code == 400
    assert cw.list_metrics(Namespace="AWS/SQS", MetricName=name)["Metrics"] == []
    # A wrong secret is refused.
    wrong = bearer(server, WRITE, body, REMOTE_WRITE, token[:-3] + "abc")
    assert wrong.status_code in (400, 403)


def test_bad_remote_write_bodies_get_400_and_store_nothing(server):
    cw = server.client("cloudwatch")
    token = make_token(server)
    name = unique("bad_total").replace("-", "_")
    t = now_ms()
    good = time_series({"__name__": name, "job": "x"}, [(1, t)])
    # A series without __name__ makes the whole request malformed.
    nameless = write_request(good, time_series({"job": "x"}, [(2, t)]))
    for body in (b"\xff\x01 not snappy at all", bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff")),
                 nameless):
        resp = bearer(server, WRITE, body, REMOTE_WRITE, token)
        assert resp.status_code == 400, (body, resp.status_code, resp.text)
        assert resp.text
    # Remote-write 2.0 gets 415, so that a 2.0 sender falls back to 1.0.
    v2 = bearer(server, WRITE, write_request(good),
                {**REMOTE_WRITE, "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
                token)
    assert v2.status_code == 415
    assert cw.list_metrics(Namespace="Prometheus", MetricName=name)["Metrics"] == []


def test_an_ingest_token_calls_only_its_paths_operation(server):
    token = make_token(server)
    cw = server.client("cloudwatch")
    name = unique("sneaky")
    put = json.dumps({"Namespace": "Sneaky", "MetricData": [{"MetricName": name, "Value": 1}]})
    # PutMetricData over awsJson1_0 on a token path is refused.
    for path in (WRITE, METRICS):
        resp = bearer(server, path, put.encode(), {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}, token)
        assert resp.status_code in (400, 403) and "AccessDenied" in resp.text, resp.text
    # So is the Query protocol, and the other push route's operation.
    form = f"Action=PutMetricData&Version=2010-08-01&Namespace=Sneaky&MetricData.member.1.MetricName={name}&MetricData.member.1.Value=1"
    resp = bearer(server, METRICS, form.encode(),
                  {"Content-Type": "application/x-www-form-urlencoded"}, token)
    assert resp.status_code in (400, 403) and "AccessDenied" in resp.text, resp.text
    assert cw.list_metrics(Namespace="Sneaky", MetricName=name)["Metrics"] == []
    # Elsewhere a bearer token is no credential at all.
    elsewhere = bearer(server, "/", put.encode(), {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}, token)
    assert elsewhere.status_code in (400, 403)
    assert cw.list_metrics(Namespace="Sneaky", MetricName=name)["Metrics"] == []


# --------------------------------------------------------------------------- a real Prometheus


def test_a_real_prometheus_remote_writes_its_own_metrics(server, tmp_path):
    assert shutil.which("prometheus"), "the test setup installs Debian's prometheus package"
    token = make_token(server)
    namespace = unique("PromE2E")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "self",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
        "remote_write": [{
            # The namespace goes in the URL: this Prometheus drops custom headers once
            # `authorization` is set.
            "url": f"{server.endpoint}{WRITE}?namespace={namespace}",
            "authorization": {"credentials": token},
            "queue_config": {"batch_send_deadline": "1s"},
            "metadata_config": {"send": False},
        }],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        cw = server.client("cloudwatch")

        def arrived():
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
            got = totals(cw, namespace, "up", {"job": "self", "instance": f"127.0.0.1:{port}"})
            assert got and got["Maximum"] == 1
            return got

        retry_until(arrived, timeout=60, interval=1)
        # Prometheus counts what the receiver refused: nothing was.
        def sent():
            q = requests.get(f"http://127.0.0.1:{port}/api/v1/query", timeout=10, params={
                "query": "sum(prometheus_remote_storage_samples_total)"}).json()
            assert q["data"]["result"] and float(q["data"]["result"][0]["value"][1]) > 0
        retry_until(sent, timeout=30, interval=1)
        failed = requests.get(f"http://127.0.0.1:{port}/api/v1/query", timeout=10, params={
            "query": "sum(prometheus_remote_storage_samples_failed_total)"}).json()
        assert float(failed["data"]["result"][0]["value"][1]) == 0
        assert len(cw.list_metrics(Namespace=namespace)["Metrics"]) > 50
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()

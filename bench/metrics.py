"""Driver of bench/metrics.sh (see there)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "conformance"))

import botocore.auth  # noqa: E402
import requests  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

from sightline_support import SightlineServer, free_port  # noqa: E402

LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
TRIALS = int(os.environ.get("BENCH_TRIALS", "6"))
PHASES = os.environ.get("BENCH_PHASES", "ingest,stats,alarms,latency,prometheus").split(",")
TARGET = "GraniteServiceVersion20100801"


def signed(srv, body: bytes, op: str) -> dict:
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{TARGET}.{op}"})
    botocore.auth.SigV4Auth(srv.root.botocore(), "monitoring", "us-east-1").add_auth(req)
    return dict(req.headers)


def put_body(ns: str, data: list) -> bytes:
    return json.dumps({"Namespace": ns, "MetricData": data}, separators=(",", ":")).encode()


def ingest(base: Path, rows: list) -> None:
    srv = SightlineServer(base / "ingest-data", base / "ingest-logs", ["--lake-flush-seconds", "10"])
    srv.start()
    try:
        r = random.Random(5)
        now = int(time.time())
        lua = ["bodies = {}", "heads = {}"]
        n = 40
        for i in range(n):
            data = [{"MetricName": f"m{r.randrange(200)}",
                     "Dimensions": [{"Name": "Host", "Value": f"h{r.randrange(50)}"},
                                    {"Name": "Service", "Value": f"s{r.randrange(5)}"}],
                     "Timestamp": now - r.randrange(3000), "Value": round(r.random() * 1000, 3),
                     "Unit": "Milliseconds"} for _ in range(1000)]
            body = put_body("Bench", data)
            path = base / f"put{i}.json"
            path.write_bytes(body)
            h = signed(srv, body, "PutMetricData")
            lua.append(f'do local f = io.open("{path}", "rb"); bodies[{i + 1}] = f:read("*a"); f:close() end')
            lua.append(f"heads[{i + 1}] = {{" + ", ".join(f'["{k}"] = "{v}"' for k, v in h.items()) + "}")
        lua.append(f"n = {n}; i = 0")
        lua.append('request = function() i = i % n + 1; return wrk.format("POST", "/", heads[i], bodies[i]) end')
        (base / "put.lua").write_text("\n".join(lua))
        print(f"PutMetricData: loading for {LOAD_SECONDS} s with {CONNECTIONS} connections ...", flush=True)
        out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{LOAD_SECONDS}s", "--latency",
                              "-s", str(base / "put.lua"), srv.endpoint + "/"],
                             capture_output=True, text=True, check=True)
        rps = float(next(l for l in out.stdout.splitlines() if "Requests/sec" in l).split()[1])
        if any("Non-2xx" in l for l in out.stdout.splitlines()):
            raise SystemExit("refused requests during the load:\n" + out.stdout)
        dps = rps * 1000
        rows.append(("PutMetricData datapoints/s (durable, HTTP)", f"{dps:,.0f}", "300,000",
                     f"{dps / 300_000:.2f}x"))
    finally:
        srv.stop()


def stats(base: Path, rows: list) -> None:
    srv = SightlineServer(base / "stats-data", base / "stats-logs", ["--lake-flush-seconds", "10"])
    srv.start()
    try:
        session = requests.Session()
        # A day of whole minutes, as a dashboard asks for it: 1,440 datapoints.
        now = int(time.time()) // 60 * 60
        start = now - 86_400
        for chunk in range(0, 86_400, 1000):
            data = [{"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}],
                     "Timestamp": start + chunk + i, "Value": float((chunk + i) % 997),
                     "StorageResolution": 1} for i in range(min(1000, 86_400 - chunk))]
            body = put_body("Day", data)
            session.post(srv.endpoint + "/", data=body, headers=signed(srv, body, "PutMetricData")).raise_for_status()
        print("GetMetricStatistics: one day of 1-second data loaded; waiting for the window's rollup ...", flush=True)
        time.sleep(65)
        for ext in (False, True):
            q = {"Namespace": "Day", "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}],
                 "StartTime": start, "EndTime": now, "Period": 60}
            if ext:
                q["ExtendedStatistics"] = ["p99"]
            else:
                q["Statistics"] = ["Average", "Maximum", "SampleCount"]
            body = json.dumps(q).encode()
            headers = signed(srv, body, "GetMetricStatistics")
            times = []
            for _ in range(200):
                t = time.perf_counter()
                resp = session.post(srv.endpoint + "/", data=body, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                resp.raise_for_status()
            points = json.loads(resp.content)["Datapoints"]
            assert len(points) == 1440, len(points)
            times.sort()
            p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
            what = "p99 statistic" if ext else "Average, Maximum, SampleCount"
            rows.append((f"GetMetricStatistics 1 day of 1 s data, {what}: p50", f"{p50:.1f} ms", "", ""))
            rows.append((f"GetMetricStatistics 1 day of 1 s data, {what}: p99", f"{p99:.1f} ms", "50 ms",
                         f"{50 / p99:.2f}x"))
    finally:
        srv.stop()


class Hook(http.server.BaseHTTPRequestHandler):
    arrivals: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        Hook.arrivals.append((time.monotonic(), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def latency(base: Path, rows: list) -> None:
    srv = SightlineServer(base / "lat-data", base / "lat-logs")
    srv.start()
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        sns = srv.client("sns")
        cw = srv.client("cloudwatch")
        topic = sns.create_topic(Name="bench")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{port}/")
        deadline = time.time() + 15
        while not any(b.get("Type") == "SubscriptionConfirmation" for _, b in Hook.arrivals):
            if time.time() > deadline:
                raise SystemExit("no subscription confirmation")
            time.sleep(0.1)
        confirm = next(b for _, b in Hook.arrivals if b.get("Type") == "SubscriptionConfirmation")
        requests.get(confirm["SubscribeURL"], timeout=10).raise_for_status()
        r = random.Random(3)
        waits = []
        for trial in range(TRIALS):
            name = f"lat-{trial}"
            cw.put_metric_alarm(AlarmName=name, Namespace="Lat", MetricName=name, Statistic="Maximum",
                                Period=10, EvaluationPeriods=1, Threshold=10,
                                ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic])
            time.sleep(r.random() * 10)
            sent = time.monotonic()
            cw.put_metric_data(Namespace="Lat", MetricData=[
                {"MetricName": name, "Value": 100, "StorageResolution": 1}])
            while True:
                hit = [t for t, b in Hook.arrivals if b.get("Type") == "Notification"
                       and json.loads(b["Message"])["AlarmName"] == name]
                if hit:
                    waits.append(hit[0] - sent)
                    break
                if time.monotonic() - sent > 30:
                    raise SystemExit(f"alarm {name} never notified")
                time.sleep(0.02)
            print(f"  trial {trial}: {waits[-1]:.2f} s", flush=True)
        worst = max(waits)
        rows.append(("breaching datapoint to SNS notification: mean", f"{statistics.mean(waits):.2f} s", "", ""))
        rows.append((f"breaching datapoint to SNS notification: worst of {TRIALS}", f"{worst:.2f} s",
                     "11 s", f"{11 / worst:.2f}x"))
    finally:
        httpd.shutdown()
        srv.stop()


def alarms(rows: list) -> None:
    path = Path("/tmp/sightline-alarm-bench.txt")
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith(("first cycle", "steady cycle")):
            rows.append(tuple(cells))


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="metrics-bench-"))
    rows: list = []
    phases = [("ingest", lambda: ingest(base, rows)), ("stats", lambda: stats(base, rows)),
              ("alarms", lambda: alarms(rows)), ("latency", lambda: latency(base, rows)),
              ("prometheus", lambda: prometheus(base, rows))]
    failed = []
    for name, run in phases:
        if name not in PHASES:
            continue
        # One phase failing still leaves the others' figures in the table.
        try:
            run()
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            print(f"phase {name} failed: {exc!r}", flush=True)
            failed.append(name)
    print()
    print("| measure | value | target | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if failed:
        raise SystemExit(f"failed phases: {', '.join(failed)}")


def prometheus(base: Path, rows: list) -> None:
    from metrics_prometheus import compare  # noqa: PLC0415

    compare(base, rows)


if __name__ == "__main__":
    main()

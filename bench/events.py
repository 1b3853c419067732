"""Driver of bench/events.sh (see there)."""

from __future__ import annotations

import asyncio
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
RATE_SECONDS = int(os.environ.get("BENCH_RATE_SECONDS", "20"))
PHASES = os.environ.get("BENCH_PHASES", "ingest,latency").split(",")


def signed(srv, body: bytes, op: str) -> dict:
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSEvents.{op}"})
    botocore.auth.SigV4Auth(srv.root.botocore(), "events", "us-east-1").add_auth(req)
    return dict(req.headers)


def varied_rules(events, n: int) -> None:
    """Rules like a real account's: most watch AWS sources and detail types the bench
    events do not carry, with prefixes, numeric ranges, anything-but and nested fields."""
    r = random.Random(7)
    for i in range(n):
        kind = i % 5
        if kind == 0:
            p = {"source": [f"aws.svc{r.randrange(50)}"], "detail-type": [f"Change {i}"]}
        elif kind == 1:
            p = {"source": [{"prefix": f"com.team{r.randrange(40)}."}], "detail": {"state": ["FAILED"]}}
        elif kind == 2:
            p = {"detail": {"amount": [{"numeric": [">", 1000 + i]}], "currency": ["EUR"]}}
        elif kind == 3:
            p = {"source": ["app.other"], "detail": {"region": [{"anything-but": ["us-east-1"]}]}}
        else:
            p = {"$or": [{"source": [f"aws.x{i}"]}, {"detail": {"user": {"id": [f"u{i}"]}}}]}
        events.put_rule(Name=f"r{i}", EventPattern=json.dumps(p))


def ingest(base: Path, rows: list) -> None:
    srv = SightlineServer(base / "ingest-data", base / "ingest-logs")
    srv.start()
    try:
        events = srv.client("events")
        varied_rules(events, 1000)
        lua = ["bodies = {}", "heads = {}"]
        n = 20
        for i in range(n):
            entries = [{"Source": "app.bench", "DetailType": "Order Placed",
                        "Detail": json.dumps({"order": f"o-{i}-{k}", "amount": k * 3.5, "currency": "USD",
                                              "items": [{"sku": f"s{k}", "qty": 1}], "region": "us-east-1"})}
                       for k in range(10)]
            body = json.dumps({"Entries": entries}, separators=(",", ":")).encode()
            path = base / f"put{i}.json"
            path.write_bytes(body)
            h = signed(srv, body, "PutEvents")
            lua.append(f'do local f = io.open("{path}", "rb"); bodies[{i + 1}] = f:read("*a"); f:close() end')
            lua.append(f"heads[{i + 1}] = {{" + ", ".join(f'["{k}"] = "{v}"' for k, v in h.items()) + "}")
        lua.append(f"n = {n}; i = 0")
        lua.append('request = function() i = i % n + 1; return wrk.format("POST", "/", heads[i], bodies[i]) end')
        (base / "put.lua").write_text("\n".join(lua))
        print(f"PutEvents: loading for {LOAD_SECONDS} s with {CONNECTIONS} connections ...", flush=True)
        out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{LOAD_SECONDS}s", "--latency",
                              "-s", str(base / "put.lua"), srv.endpoint + "/"],
                             capture_output=True, text=True, check=True)
        if any("Non-2xx" in line for line in out.stdout.splitlines()):
            raise SystemExit("refused requests during the load:\n" + out.stdout)
        rps = float(next(line for line in out.stdout.splitlines() if "Requests/sec" in line).split()[1])
        rows.append(("PutEvents entries/s (durable, HTTP, 1,000 rules)", f"{rps * 10:,.0f}", "20,000",
                     f"{rps * 10 / 20_000:.2f}x"))
    finally:
        srv.stop()


class Receiver:
    """A minimal HTTP/1.1 keep-alive server on asyncio that records arrival times."""

    def __init__(self):
        self.arrivals: dict[int, float] = {}

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                now = time.time()
                try:
                    self.arrivals[json.loads(body)["detail"]["seq"]] = now
                except (ValueError, KeyError, TypeError):
                    pass
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def serve(self, port: int) -> None:
        loop = asyncio.new_event_loop()

        async def main():
            server = await asyncio.start_server(self.handle, "127.0.0.1", port)
            async with server:
                await server.serve_forever()

        threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True).start()


def latency(base: Path, rows: list) -> None:
    port = free_port()
    receiver = Receiver()
    receiver.serve(port)
    srv = SightlineServer(base / "latency-data", base / "latency-logs")
    srv.start()
    try:
        events = srv.client("events")
        conn = events.create_connection(Name="bench", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
        dest = events.create_api_destination(Name="bench", ConnectionArn=conn["ConnectionArn"],
                                             InvocationEndpoint=f"http://127.0.0.1:{port}/in",
                                             HttpMethod="POST", InvocationRateLimitPerSecond=5000)
        events.put_rule(Name="latency", EventPattern=json.dumps({"source": ["app.latency"]}))
        events.put_targets(Rule="latency", Targets=[{"Id": "d", "Arn": dest["ApiDestinationArn"]}])
        session = requests.Session()
        sent: dict[int, float] = {}
        seq = 0
        print(f"PutEvents to API destination: 1,000 events/s for {RATE_SECONDS} s ...", flush=True)
        start = time.monotonic()
        for tick in range(RATE_SECONDS * 100):
            due = start + tick / 100
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            entries = []
            now = time.time()
            for _ in range(10):
                entries.append({"Source": "app.latency", "DetailType": "t", "Detail": json.dumps({"seq": seq})})
                sent[seq] = now
                seq += 1
            body = json.dumps({"Entries": entries}).encode()
            resp = session.post(srv.endpoint + "/", data=body, headers=signed(srv, body, "PutEvents"))
            if resp.status_code != 200 or resp.json()["FailedEntryCount"]:
                raise SystemExit(f"PutEvents failed: {resp.status_code} {resp.text[:300]}")
        achieved = seq / (time.monotonic() - start)
        deadline = time.monotonic() + 30
        while len(receiver.arrivals) < seq and time.monotonic() < deadline:
            time.sleep(0.1)
        lat = sorted((receiver.arrivals[s] - sent[s]) * 1000 for s in sent if s in receiver.arrivals)
        if len(lat) < seq:
            raise SystemExit(f"only {len(lat)} of {seq} events delivered")
        p50 = statistics.median(lat)
        p99 = lat[int(len(lat) * 0.99) - 1]
        rows.append(("send rate achieved (events/s)", f"{achieved:,.0f}", "1,000", f"{achieved / 1000:.2f}x"))
        rows.append(("PutEvents → API destination p50 (ms)", f"{p50:.1f}", "-", "-"))
        rows.append(("PutEvents → API destination p99 (ms)", f"{p99:.1f}", "< 50", f"{50 / p99:.2f}x"))
    finally:
        srv.stop()


def main() -> None:
    rows: list = []
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        if "ingest" in PHASES:
            ingest(base, rows)
        if "latency" in PHASES:
            latency(base, rows)
    print()
    print(f"{'measure':<52} {'value':>12} {'target':>10} {'ratio':>8}")
    for name, value, target, ratio in rows:
        print(f"{name:<52} {value:>12} {target:>10} {ratio:>8}")


if __name__ == "__main__":
    main()

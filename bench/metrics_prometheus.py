"""Part 5 of bench/metrics.sh: the same samples remote-written to Sightline and to
Prometheus (Debian's package, `--web.enable-remote-write-receiver`), timed with the
same client; then bytes at rest per sample: Prometheus's TSDB snapshot (the head
written out as a compacted block), Sightline's raw `metric_samples` segments, and
Sightline's `metric_rollups` once the hour is rolled up."""

from __future__ import annotations

import concurrent.futures
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import botocore.auth
import cramjam
import requests
from botocore.awsrequest import AWSRequest

from sightline_support import SightlineServer, free_port, query

SERIES = int(os.environ.get("BENCH_PROM_SERIES", "500"))
SECONDS = int(os.environ.get("BENCH_PROM_SECONDS", "3600"))
PER_REQUEST = 2000  # Prometheus's default max_samples_per_send
SENDERS = int(os.environ.get("BENCH_PROM_SENDERS", "4"))


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num: int, payload: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def sample(value: float, ts_ms: int) -> bytes:
    import struct
    return b"\x09" + struct.pack("<d", value) + b"\x10" + varint(ts_ms)


def series_bytes(labels: list, samples: list) -> bytes:
    out = b"".join(field(1, field(1, k.encode()) + field(2, v.encode())) for k, v in labels)
    return out + b"".join(field(2, sample(v, t)) for v, t in samples)


def requests_for(start_ms: int) -> list:
    """Remote-write bodies of about PER_REQUEST samples, per shard: a shard's series go
    in time order, as a Prometheus remote-write queue shards them."""
    r = random.Random(9)
    shards = []
    for k in range(SENDERS):
        mine = [s for s in range(SERIES) if s % SENDERS == k]
        per_series = max(1, PER_REQUEST // max(1, len(mine)))
        bodies = []
        for t in range(0, SECONDS, per_series):
            chunk = []
            for s in mine:
                labels = sorted([("__name__", f"bench_metric_{s % 50}"), ("instance", f"host-{s // 50}"),
                                 ("job", "bench")])
                pts = [(round(r.gauss(100, 15), 1), start_ms + (t + i) * 1000)
                       for i in range(min(per_series, SECONDS - t))]
                chunk.append(field(1, series_bytes(labels, pts)))
            bodies.append(bytes(cramjam.snappy.compress_raw(b"".join(chunk))))
        shards.append(bodies)
    return shards


HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def send_all(url: str, shards: list, sign=None) -> float:
    """Sends each shard's bodies in order on its own connection, shards in parallel."""
    def worker(bodies):
        s = requests.Session()
        for b in bodies:
            h = dict(HEADERS)
            if sign:
                h = sign(b, h)
            resp = s.post(url, data=b, headers=h)
            if resp.status_code >= 300:
                raise SystemExit(f"{url}: {resp.status_code} {resp.text[:200]}")
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(shards)) as pool:
        list(pool.map(worker, shards))
    return time.perf_counter() - t


def dir_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def compare(base: Path, rows: list) -> None:
    if not shutil.which("prometheus"):
        print("prometheus comparison unavailable: no prometheus binary", flush=True)
        return
    now = int(time.time() * 1000)
    # The hour before last, so Sightline's rollup pass takes it at once.
    start = (now // 3_600_000 - 2) * 3_600_000
    bodies = requests_for(start)
    total = SERIES * SECONDS
    print(f"remote-write: {total:,} samples in {sum(map(len, bodies))} requests of ~{PER_REQUEST}, "
          f"{len(bodies)} shards", flush=True)

    prom_dir = base / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    prom = subprocess.Popen(["prometheus", f"--config.file={prom_dir / 'prometheus.yml'}",
                             f"--storage.tsdb.path={prom_dir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--web.enable-remote-write-receiver", "--web.enable-admin-api",
                             "--storage.tsdb.retention.time=30d"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        prom_secs = send_all(f"http://127.0.0.1:{port}/api/v1/write", bodies)
        snap = requests.post(f"http://127.0.0.1:{port}/api/v1/admin/tsdb/snapshot", timeout=120).json()
        snap_dir = prom_dir / "data" / "snapshots" / snap["data"]["name"]
        prom_bytes = dir_bytes(snap_dir)
    finally:
        prom.terminate()
        prom.wait(timeout=30)

    srv = SightlineServer(base / "rw-data", base / "rw-logs", ["--lake-flush-seconds", "2"])
    srv.start()
    try:
        creds = srv.root.botocore()

        def sign(body, headers):
            req = AWSRequest(method="POST", url=srv.endpoint + "/api/v1/write", data=body, headers=headers)
            botocore.auth.SigV4Auth(creds, "monitoring", "us-east-1").add_auth(req)
            return dict(req.headers)

        sl_secs = send_all(srv.endpoint + "/api/v1/write", bodies, sign)
        stored = int(query(srv, "SELECT count(*) AS n FROM metric_samples")[0]["n"])
        if stored != total:
            raise SystemExit(f"sightline stored {stored} of {total} samples")
        deadline = time.time() + 180
        rolled = 0
        while time.time() < deadline:
            rolled = int(query(srv, "SELECT count(*) AS n FROM metric_rollups")[0]["n"])
            if rolled and not list((srv.data_dir / "lake" / "wal").glob("*.log"))[1:]:
                break
            time.sleep(2)
        time.sleep(4)
        seg = srv.data_dir / "lake" / "segments"
        raw_bytes = dir_bytes(seg / "metric_samples")
        rollup_bytes = dir_bytes(seg / "metric_rollups") if (seg / "metric_rollups").exists() else 0
    finally:
        srv.stop()
    rows.append(("remote-write ingest samples/s: Sightline (durable, SigV4)", f"{total / sl_secs:,.0f}", "", ""))
    rows.append(("remote-write ingest samples/s: Prometheus", f"{total / prom_secs:,.0f}", "",
                 f"{prom_secs / sl_secs:.2f}x"))
    rows.append(("bytes per sample at rest: Prometheus (TSDB block)", f"{prom_bytes / total:.2f}", "", ""))
    rows.append(("bytes per sample at rest: Sightline raw samples", f"{raw_bytes / total:.2f}", "",
                 f"{prom_bytes / max(raw_bytes, 1):.2f}x"))
    rows.append(("bytes per sample after rollup: Sightline 60/300/3600 s rows", f"{rollup_bytes / total:.3f}", "",
                 f"{prom_bytes / max(rollup_bytes, 1):.2f}x"))

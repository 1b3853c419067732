"""Driver of bench/trail_verify.sh (see there).

Two scenarios over the same trail, both verifiers checking it fully (each must exit 0):

- loopback: the verifiers on the server's machine, no network in between. With big log
  files both are CPU-bound (inflating and hashing), so this measures CPU.
- remote: the same runs through bench/latency_proxy.py, which adds BENCH_RTT_MS (default
  20) of round trip to every request, as reading a trail from S3 does (a GetObject's
  first byte typically takes 10-30 ms). `aws cloudtrail validate-logs` fetches one
  object at a time on one kept-alive connection, so it should take about
  (files + digests) x RTT on top of its loopback time; `sightline trail verify` keeps
  `--concurrency` requests in flight.

The trail's shape decides how much the round trips weigh, so the table states it (log
files, digests, mean file size). BENCH_SHAPE picks one:

- bulk (default): wrk as fast as it goes for BENCH_LOAD_SECONDS (20) with
  BENCH_CONNECTIONS (64), a delivery every 2 s, a digest every 6 s. Files fill up to
  the server's 5,000 records per file: on a 2-core machine 70-150 files (as fast as the
  server takes the load) of ~3 MB of JSON (~0.2 MB gzipped), 4-7 digests. CPU-heavy;
  the shape measured historically.
- realistic: CloudTrail's own rhythm, 3000x faster (a delivery every 100 ms for its 5
  minutes, a digest every 1.2 s for its hour: 12 files a digest), at a steady 1000
  requests/s from 4 connections for 120 s: ~1,200 files of ~100 records (a few KB
  gzipped) and ~100 digests, like 4 days of one region of a modest account, or a day of
  four (what validating a few days of a trail reads).

Each knob can be set on its own too: BENCH_LOAD_SECONDS, BENCH_CONNECTIONS, BENCH_RATE
(requests/s over all connections; 0: unthrottled), BENCH_DELIVERY_INTERVAL,
BENCH_DIGEST_INTERVAL. BENCH_CONCURRENCIES (e.g. `8,32,128`) adds remote rows of
`sightline trail verify --concurrency N` besides its default.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "conformance"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

from sightline_support import SightlineServer, aws_cli_path, read_shared_credentials  # noqa: E402
from test_trails import start_trail  # noqa: E402
from test_trail_verify import copy_bucket  # noqa: E402
import latency_proxy  # noqa: E402

SHAPES = {
    "bulk": {"BENCH_LOAD_SECONDS": "20", "BENCH_CONNECTIONS": "64", "BENCH_RATE": "0",
             "BENCH_DELIVERY_INTERVAL": "2s", "BENCH_DIGEST_INTERVAL": "6s"},
    "realistic": {"BENCH_LOAD_SECONDS": "120", "BENCH_CONNECTIONS": "4", "BENCH_RATE": "1000",
                  "BENCH_DELIVERY_INTERVAL": "100ms", "BENCH_DIGEST_INTERVAL": "1200ms"},
}
SHAPE = os.environ.get("BENCH_SHAPE", "bulk")
if SHAPE not in SHAPES:
    sys.exit(f"BENCH_SHAPE must be one of {', '.join(SHAPES)}")


def knob(name: str) -> str:
    return os.environ.get(name) or SHAPES[SHAPE][name]


LOAD_SECONDS = int(knob("BENCH_LOAD_SECONDS"))
CONNECTIONS = int(knob("BENCH_CONNECTIONS"))
RATE = float(knob("BENCH_RATE"))
DELIVERY_INTERVAL = knob("BENCH_DELIVERY_INTERVAL")
DIGEST_INTERVAL = knob("BENCH_DIGEST_INTERVAL")
RTT_MS = float(os.environ.get("BENCH_RTT_MS", "20"))
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCIES", "").split(",") if c.strip()]


def seconds(interval: str) -> float:
    """`2s`, `500ms`, `5m` (as the server's interval flags take them) in seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", interval)
    if not m:
        sys.exit(f"cannot read the interval {interval!r} (e.g. 2s, 500ms)")
    return float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]


def wrk_script(srv, path: Path) -> None:
    """A GetCallerIdentity signed once; SigV4 accepts it again for 15 minutes."""
    creds = read_shared_credentials(srv.credentials_path)
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(creds.botocore(), "sts", "us-east-1").add_auth(req)
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in req.headers.items())
    # Each connection waits this long between requests, for BENCH_RATE in all.
    pace = f"function delay() return {CONNECTIONS * 1000 / RATE:.3f} end\n" if RATE > 0 else ""
    path.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n{headers}{pace}')


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv, env, cores=None) -> tuple[float, subprocess.CompletedProcess]:
    if cores is not None:
        argv = ["taskset", "-c", cores, *argv]
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    return time.perf_counter() - t, out


def count(stdout: str, what: str) -> int:
    """N of `N/N <what> files valid` in a verifier's summary (0 when absent)."""
    m = re.search(rf"(\d+)/\d+ {what} files valid", stdout)
    return int(m[1]) if m else 0


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="trail-bench-"))
    srv = SightlineServer(base / "data", base / "logs",
                          ["--trail-delivery-interval", DELIVERY_INTERVAL,
                           "--trail-digest-interval", DIGEST_INTERVAL])
    srv.start()
    proxy = None
    try:
        s3 = srv.client("s3")
        account = srv.account_id
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=1)
        ct, name, arn, bucket = start_trail(srv, s3, account)
        script = base / "load.lua"
        wrk_script(srv, script)
        rate = f" at {RATE:.0f} requests/s" if RATE > 0 else ""
        print(f"shape {SHAPE}: loading for {LOAD_SECONDS} s with {CONNECTIONS} connections{rate}, "
              f"a delivery every {DELIVERY_INTERVAL}, a digest every {DIGEST_INTERVAL} ...", flush=True)
        subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{LOAD_SECONDS}s", "-s", str(script),
                        srv.endpoint + "/"], check=True, capture_output=True)
        # Everything delivered and listed: stop, then wait for the final digest.
        time.sleep(3)
        ct.stop_logging(Name=name)
        while True:
            st = ct.get_trail_status(Name=name)
            if st.get("LatestDigestDeliveryTime") and st.get("LatestDeliveryTime") and \
                    st["LatestDigestDeliveryTime"] >= st["LatestDeliveryTime"] and \
                    not st.get("LatestDeliveryError"):
                break
            time.sleep(1)
        time.sleep(seconds(DIGEST_INTERVAL) + 1)
        stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        env = srv.env
        t_ours, ours = timed([os.environ["SIGHTLINE_BIN"], "trail", "verify", "--trail-arn", arn,
                              "--start-time", stamp], env)
        assert ours.returncode == 0, ours.stdout + ours.stderr
        mb = next(float(l.split()[0]) for l in ours.stdout.splitlines() if "MB of log data" in l)
        t_aws, theirs = timed([aws_cli_path(), "cloudtrail", "validate-logs", "--trail-arn", arn,
                               "--start-time", stamp], env)
        assert theirs.returncode == 0, theirs.stdout + theirs.stderr
        copy = base / "copy"
        copy_bucket(s3, bucket, "AWSLogs/", copy)
        keys = ct.list_public_keys(StartTime=dt.datetime(2020, 1, 1),
                                   EndTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
        import base64
        keys_file = base / "keys.json"
        keys_file.write_text(json.dumps({"PublicKeyList": [
            {"Fingerprint": k["Fingerprint"], "Value": base64.b64encode(k["Value"]).decode()}
            for k in keys["PublicKeyList"]]}))
        offline = [os.environ["SIGHTLINE_BIN"], "trail", "verify", "--trail-arn", arn, "--start-time",
                   stamp, "--bucket-dir", str(copy), "--public-keys", str(keys_file),
                   "--s3-bucket", bucket, "--closed"]
        subprocess.run(offline, env=env, capture_output=True)  # warm the page cache
        runs = [timed(offline, env, cores="0") for _ in range(3)]
        for _, r in runs:
            assert r.returncode == 0, r.stdout + r.stderr
        t_off = min(t for t, _ in runs)

        # Remote: the same verifications through a proxy that adds the round trip.
        upstream = urllib.parse.urlsplit(srv.endpoint)
        proxy, port = latency_proxy.start(f"{upstream.hostname}:{upstream.port}", RTT_MS / 2)
        remote_env = dict(env, AWS_ENDPOINT_URL=f"{upstream.scheme}://127.0.0.1:{port}")
        ours_argv = [os.environ["SIGHTLINE_BIN"], "trail", "verify", "--trail-arn", arn,
                     "--start-time", stamp]
        # The proxy's own CPU per run, to see it is not what limits a run.
        proxy_cpu = [cpu_seconds(proxy.pid)]
        t_aws_remote, theirs_remote = timed([aws_cli_path(), "cloudtrail", "validate-logs",
                                             "--trail-arn", arn, "--start-time", stamp], remote_env)
        assert theirs_remote.returncode == 0, theirs_remote.stdout + theirs_remote.stderr
        proxy_cpu.append(cpu_seconds(proxy.pid))
        remote = []
        for c in [None, *CONCURRENCIES]:
            argv = ours_argv if c is None else [*ours_argv, "--concurrency", str(c)]
            t, r = timed(argv, remote_env)
            assert r.returncode == 0, r.stdout + r.stderr
            remote.append((c, t, r))
            proxy_cpu.append(cpu_seconds(proxy.pid))
        # Every run saw the whole trail.
        logs, digests = count(ours.stdout, "log"), count(ours.stdout, "digest")
        for out in [theirs, theirs_remote, *(r for _, _, r in remote)]:
            assert (count(out.stdout, "log"), count(out.stdout, "digest")) == (logs, digests), \
                out.stdout
        gz = sum(f.stat().st_size for f in copy.rglob("*.json.gz") if "/CloudTrail/" in str(f)) / 1e6

        rtt = f"RTT {RTT_MS:g} ms"
        print()
        print(f"trail ({SHAPE}): {logs} log files, {digests} digests; {mb:.1f} MB of log data "
              f"({gz:.1f} MB gzipped), a log file {mb / max(logs, 1) * 1000:.0f} KB on average "
              f"({gz / max(logs, 1) * 1000:.0f} KB gzipped)")
        print()
        print("| verifier | wall s | MB/s | ratio |")
        print("|---|---|---|---|")
        print(f"| aws cloudtrail validate-logs (live) | {t_aws:.2f} | {mb / t_aws:.1f} | 1.0x |")
        print(f"| sightline trail verify (live, 1 process) | {t_ours:.2f} | {mb / t_ours:.1f} | "
              f"{t_aws / t_ours:.1f}x validate-logs (target >= 50x) |")
        print(f"| sightline trail verify --bucket-dir (one core) | {t_off:.2f} | {mb / t_off:.1f} | "
              f"{(mb / t_off) / 500:.2f}x the 500 MB/s target |")
        print(f"| aws cloudtrail validate-logs (remote, {rtt}) | {t_aws_remote:.2f} | "
              f"{mb / t_aws_remote:.1f} | 1.0x |")
        for c, t, _ in remote:
            flag = "" if c is None else f" --concurrency {c}"
            print(f"| sightline trail verify{flag} (remote, {rtt}) | {t:.2f} | {mb / t:.1f} | "
                  f"{t_aws_remote / t:.1f}x validate-logs (target >= 50x) |")
        # validate-logs gets one object at a time: the proxy should cost it one round trip
        # per object (and a few per listing and call).
        extra = t_aws_remote - t_aws
        print()
        print(f"validate-logs: remote - loopback = {extra:.2f} s = {extra * 1000 / RTT_MS:.0f} round trips "
              f"for {logs + digests} objects")
        used = [f"{b - a:.2f}" for a, b in zip(proxy_cpu, proxy_cpu[1:])]
        print(f"proxy CPU s per remote run (rows in order): {', '.join(used)}")
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait()
        srv.stop()


if __name__ == "__main__":
    main()

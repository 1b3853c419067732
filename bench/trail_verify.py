"""Driver of bench/trail_verify.sh (see there)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "conformance"))

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

from sightline_support import SightlineServer, aws_cli_path, read_shared_credentials  # noqa: E402
from test_trails import start_trail  # noqa: E402
from test_trail_verify import copy_bucket  # noqa: E402

LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))


def wrk_script(srv, path: Path) -> None:
    """A GetCallerIdentity signed once; SigV4 accepts it again for 15 minutes."""
    creds = read_shared_credentials(srv.credentials_path)
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(creds.botocore(), "sts", "us-east-1").add_auth(req)
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in req.headers.items())
    path.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n{headers}')


def timed(argv, env, cores=None) -> tuple[float, subprocess.CompletedProcess]:
    if cores is not None:
        argv = ["taskset", "-c", cores, *argv]
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    return time.perf_counter() - t, out


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="trail-bench-"))
    srv = SightlineServer(base / "data", base / "logs",
                          ["--trail-delivery-interval", "2s", "--trail-digest-interval", "6s"])
    srv.start()
    try:
        s3 = srv.client("s3")
        account = srv.account_id
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=1)
        ct, name, arn, bucket = start_trail(srv, s3, account)
        script = base / "load.lua"
        wrk_script(srv, script)
        print(f"loading for {LOAD_SECONDS} s with {CONNECTIONS} connections ...", flush=True)
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
        time.sleep(7)
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
        counts = [l for l in ours.stdout.splitlines() if "files valid" in l]
        print()
        print(f"trail: {' · '.join(counts)}; {mb:.1f} MB of log data")
        print()
        print("| verifier | wall s | MB/s | ratio |")
        print("|---|---|---|---|")
        print(f"| aws cloudtrail validate-logs (live) | {t_aws:.2f} | {mb / t_aws:.1f} | 1.0x |")
        print(f"| sightline trail verify (live, 1 process) | {t_ours:.2f} | {mb / t_ours:.1f} | "
              f"{t_aws / t_ours:.1f}x validate-logs (target >= 50x) |")
        print(f"| sightline trail verify --bucket-dir (one core) | {t_off:.2f} | {mb / t_off:.1f} | "
              f"{(mb / t_off) / 500:.2f}x the 500 MB/s target |")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()

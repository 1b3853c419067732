"""`sightline trail verify` and `sightline trail prove`, run as real processes against a
real server: everything `aws cloudtrail validate-logs` catches, what it misses (a deleted
newest digest, a previous-digest hash that does not match, a log file no digest lists,
an unexpected signature algorithm), offline verification of a copied bucket, and the
transparency log's inclusion and consistency proofs.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest
import rsa

from sightline_support import SightlineServer, retry_until, sightline_bin, unique, utcnow
from test_trails import (
    digests,
    keys_under,
    read_gz_json,
    start_trail,
    trail_server,
    validate_logs,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    yield from trail_server(tmp_path_factory, "sightline-verify", "2s")


def sightline(srv, *args, check=None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sightline_bin(), *map(str, args)], env=srv.env, capture_output=True, text=True, timeout=120
    )
    if check is not None:
        assert out.returncode == check, out.stdout + out.stderr
    return out


def stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def quiet_trail(srv):
    """A trail that logged some calls, delivered them with a few digests and stopped,
    so its bucket no longer changes."""
    s3 = srv.client("s3")
    account = srv.account_id
    start = utcnow().replace(microsecond=0) - dt.timedelta(minutes=1)
    ct, name, arn, bucket = start_trail(srv, s3, account)
    iam = srv.client("iam")
    for _ in range(3):
        iam.create_user(UserName=unique("v"))
        time.sleep(1.5)

    def listed_logs():
        docs = [read_gz_json(s3, bucket, k) for k in digests(s3, bucket, account)]
        assert sum(len(d["logFiles"]) for d in docs) >= 2 and len(docs) >= 3
        return docs

    retry_until(listed_logs, timeout=30, interval=0.5)
    ct.stop_logging(Name=name)
    time.sleep(4)  # the final digest
    return {"s3": s3, "ct": ct, "name": name, "arn": arn, "bucket": bucket, "start": start, "account": account}


def test_verify_passes_an_untouched_trail_like_the_aws_cli(srv, quiet_trail):
    t = quiet_trail
    out = sightline(srv, "trail", "verify", "--trail-arn", t["arn"], "--start-time", stamp(t["start"]), check=0)
    n_digests = len(digests(t["s3"], t["bucket"], t["account"]))
    assert f"{n_digests}/{n_digests} digest files valid" in out.stdout, out.stdout
    assert "log files valid" in out.stdout and "INVALID" not in out.stdout + out.stderr
    aws = validate_logs(srv, t["arn"], t["start"])
    assert aws.returncode == 0, aws.stdout + aws.stderr
    # Both count the same digests and log files.
    ours = [line for line in out.stdout.splitlines() if "files valid" in line]
    theirs = [line for line in aws.stdout.splitlines() if "files valid" in line]
    assert ours == theirs, (ours, theirs)


def restore_after(s3, bucket, key):
    obj = s3.get_object(Bucket=bucket, Key=key)
    body, meta = obj["Body"].read(), obj["Metadata"]
    return lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=meta)


def test_verify_catches_what_validate_logs_catches(srv, quiet_trail):
    t = quiet_trail
    s3, bucket = t["s3"], t["bucket"]
    keys = sorted(digests(s3, bucket, t["account"]))
    docs = {k: read_gz_json(s3, bucket, k) for k in keys}
    with_logs = [k for k in keys if docs[k]["logFiles"]]
    log_key = docs[with_logs[0]]["logFiles"][0]["s3Object"]
    digest_key = keys[1]
    args = ("trail", "verify", "--trail-arn", t["arn"], "--start-time", stamp(t["start"]))
    # A modified log file.
    restore = restore_after(s3, bucket, log_key)
    s3.put_object(Bucket=bucket, Key=log_key, Body=gzip.compress(b'{"Records":[]}'))
    out = sightline(srv, *args, check=1)
    assert f"s3://{bucket}/{log_key}\tINVALID: hash value doesn't match" in out.stderr
    restore()
    # A deleted log file.
    s3.delete_object(Bucket=bucket, Key=log_key)
    out = sightline(srv, *args, check=1)
    assert f"s3://{bucket}/{log_key}\tINVALID: not found" in out.stderr
    restore()
    # A forged signature.
    restore = restore_after(s3, bucket, digest_key)
    obj = s3.get_object(Bucket=bucket, Key=digest_key)
    s3.put_object(Bucket=bucket, Key=digest_key, Body=obj["Body"].read(),
                  Metadata=dict(obj["Metadata"], signature="00" * 256))
    out = sightline(srv, *args, check=1)
    assert f"s3://{bucket}/{digest_key}\tINVALID: signature verification failed" in out.stderr
    restore()
    sightline(srv, *args, check=0)


def test_verify_catches_what_validate_logs_misses(srv, quiet_trail):
    t = quiet_trail
    s3, bucket = t["s3"], t["bucket"]
    args = ("trail", "verify", "--trail-arn", t["arn"], "--start-time", stamp(t["start"]), "--verbose")
    keys = sorted(digests(s3, bucket, t["account"]))
    # 1. An unexpected signature algorithm: the AWS CLI only checks that one is named.
    restore = restore_after(s3, bucket, keys[0])
    obj = s3.get_object(Bucket=bucket, Key=keys[0])
    s3.put_object(Bucket=bucket, Key=keys[0], Body=obj["Body"].read(),
                  Metadata=dict(obj["Metadata"], **{"signature-algorithm": "SHA1withRSA"}))
    assert validate_logs(srv, t["arn"], t["start"]).returncode == 0
    out = sightline(srv, *args, check=1)
    assert "unexpected signature algorithm SHA1withRSA" in out.stderr
    restore()
    # 2. A log file no digest lists, dropped into the bucket between two digests.
    docs = [read_gz_json(s3, bucket, k) for k in keys]
    listed = next(f for d in docs for f in d["logFiles"])
    inserted = listed["s3Object"][:-24] + "ZZZZZZZZZZZZZZZZ.json.gz"
    body = s3.get_object(Bucket=bucket, Key=listed["s3Object"])["Body"].read()
    s3.put_object(Bucket=bucket, Key=inserted, Body=body)
    assert validate_logs(srv, t["arn"], t["start"]).returncode == 0
    out = sightline(srv, *args, check=1)
    assert f"s3://{bucket}/{inserted}\tINVALID: not listed by any digest" in out.stderr
    s3.delete_object(Bucket=bucket, Key=inserted)
    # 3. The newest digest deleted: the chain still validates for the AWS CLI.
    newest = keys[-1]
    restore = restore_after(s3, bucket, newest)
    s3.delete_object(Bucket=bucket, Key=newest)
    aws = validate_logs(srv, t["arn"], t["start"])
    assert aws.returncode == 0, aws.stdout + aws.stderr
    out = sightline(srv, *args, check=1)
    assert "the chain was truncated" in out.stderr, out.stderr
    restore()
    sightline(srv, *args, check=0)


def copy_bucket(s3, bucket: str, prefix: str, to: Path) -> None:
    """A bucket copy as `--bucket-dir` reads it: objects at their keys, metadata beside."""
    for key in keys_under(s3, bucket, prefix):
        obj = s3.get_object(Bucket=bucket, Key=key)
        path = to / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(obj["Body"].read())
        if obj["Metadata"]:
            (to / (key + ".metadata.json")).write_text(json.dumps({"Metadata": obj["Metadata"]}))


def test_offline_verification_and_a_rewritten_history(srv, quiet_trail, tmp_path):
    """Offline from a copy; then a history rewritten and re-signed with a key the attacker
    holds (standing in for a stolen signing key): each digest verifies, but the chain of
    hashes does not — the AWS CLI cannot tell."""
    t = quiet_trail
    s3, bucket, account = t["s3"], t["bucket"], t["account"]
    copy = tmp_path / "bucket"
    copy_bucket(s3, bucket, "AWSLogs/", copy)
    keys_file = tmp_path / "keys.json"
    ct = t["ct"]
    listed = ct.list_public_keys(StartTime=dt.datetime(2020, 1, 1), EndTime=utcnow() + dt.timedelta(days=1))
    keys_file.write_text(json.dumps({"PublicKeyList": [
        {"Fingerprint": k["Fingerprint"], "Value": base64.b64encode(k["Value"]).decode()}
        for k in listed["PublicKeyList"]
    ]}))
    offline = ("trail", "verify", "--trail-arn", t["arn"], "--start-time", stamp(t["start"]),
               "--bucket-dir", copy, "--public-keys", keys_file, "--s3-bucket", bucket)
    out = sightline(srv, *offline, check=0)
    assert "log files valid" in out.stdout and "INVALID" not in out.stdout
    # Tamper in the copy: a log file changed.
    log = next(p for p in copy.rglob("*_CloudTrail_*.json.gz"))
    original = log.read_bytes()
    doc = json.loads(gzip.decompress(original))
    doc["Records"][0]["eventName"] += "-edited"
    log.write_bytes(gzip.compress(json.dumps(doc).encode()))
    out = sightline(srv, *offline, check=1)
    assert "hash value doesn't match" in out.stderr
    log.write_bytes(original)
    # Rewrite the first digest and re-sign the chain with the attacker's key.
    (pub, priv) = rsa.newkeys(2048)
    der = pub.save_pkcs1(format="DER")
    fingerprint = hashlib.md5(der).hexdigest()
    keys_file.write_text(json.dumps({"PublicKeyList": [
        {"Fingerprint": fingerprint, "Value": base64.b64encode(der).decode()}]}))
    digest_paths = sorted(copy.rglob("*_CloudTrail-Digest_*.json.gz"))
    previous_signature = None
    for i, path in enumerate(digest_paths):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        doc["digestPublicKeyFingerprint"] = fingerprint
        if i == 0:
            doc["logFiles"] = []  # history rewritten: the first digest's files vanish
        if previous_signature is not None:
            doc["previousDigestSignature"] = previous_signature  # keep the signature chain
        raw = json.dumps(doc).encode()
        key = str(path.relative_to(copy))
        to_sign = "\n".join([doc["digestEndTime"], f"{bucket}/{key}", hashlib.sha256(raw).hexdigest(),
                             doc["previousDigestSignature"] or "null"])
        signature = rsa.sign(to_sign.encode(), priv, "SHA-256").hex()
        path.write_bytes(gzip.compress(raw))
        (copy / (key + ".metadata.json")).write_text(json.dumps(
            {"Metadata": {"signature": signature, "signature-algorithm": "SHA256withRSA"}}))
        previous_signature = signature
    out = sightline(srv, *offline, check=1)
    assert "previousDigestHashValue does not match the previous digest" in out.stderr, out.stderr


def test_prove_and_consistency_of_the_transparency_log(srv, tmp_path):
    sts = srv.client("sts")
    ct = srv.client("cloudtrail")
    checkpoint = tmp_path / "checkpoint"
    out = sightline(srv, "trail", "verify", "--checkpoint", checkpoint, check=0)
    assert "saved the checkpoint" in out.stdout and checkpoint.read_text().startswith("sightline.local/audit/")
    sts.get_caller_identity()
    event_id = retry_until(
        lambda: ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}])["Events"][0]["EventId"],
        timeout=10,
    )

    def proven():
        out = sightline(srv, "trail", "prove", "--event-id", event_id)
        assert out.returncode == 0, out.stdout + out.stderr
        return out

    out = retry_until(proven, timeout=15, interval=0.5)
    assert f"event {event_id} (sts.amazonaws.com GetCallerIdentity" in out.stdout
    assert "inclusion proof verified" in out.stdout
    missing = sightline(srv, "trail", "prove", "--event-id", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode != 0 and "is not in the transparency log" in missing.stderr
    # A wrong pinned key refuses the checkpoint.
    wrong = sightline(srv, "trail", "prove", "--event-id", event_id, "--vkey",
                      "sightline.local/audit+01020304+AQ" + "A" * 42)
    assert wrong.returncode != 0
    old_size = int(checkpoint.read_text().split("\n")[1])
    out = sightline(srv, "trail", "verify", "--checkpoint", checkpoint, "--update", check=0)
    assert "consistency proof verified" in out.stdout
    assert int(checkpoint.read_text().split("\n")[1]) > old_size


def test_a_rewritten_transparency_log_fails_consistency(tmp_path):
    base = tmp_path / "srv"
    s = SightlineServer(base / "data", base / "logs", ["--tlog-interval", "1s"])
    s.start()
    try:
        sts = s.client("sts")
        for _ in range(5):
            sts.get_caller_identity()
        checkpoint = tmp_path / "checkpoint"
        time.sleep(3)
        sightline(s, "trail", "verify", "--checkpoint", checkpoint, check=0)
        assert int(checkpoint.read_text().split("\n")[1]) >= 5
        # A clean restart keeps the log: the saved checkpoint stays consistent.
        assert s.stop() == 0
        s.start()
        sts = s.client("sts")
        sts.get_caller_identity()
        time.sleep(3)
        out = sightline(s, "trail", "verify", "--checkpoint", checkpoint, check=0)
        assert "consistency proof verified" in out.stdout
        assert s.stop() == 0
        # An administrator rewrites an early leaf and lets the upper levels be rebuilt.
        scope = next((base / "data" / "tlog").glob("*/us-east-1"))
        level0 = scope / "level-00"
        leaves = bytearray(level0.read_bytes())
        leaves[0] ^= 0xFF
        level0.write_bytes(bytes(leaves))
        for upper in scope.glob("level-*"):
            if upper.name != "level-00":
                upper.unlink()
        s.start()
        out = sightline(s, "trail", "verify", "--checkpoint", checkpoint, check=1)
        assert "INVALID" in out.stdout
    finally:
        if s.running:
            s.stop()

"""CloudTrail trails: the trail API, delivery of gzipped log files into S3 at CloudTrail's
keys as `cloudtrail.amazonaws.com` (bucket policy, SSE-KMS, Object Lock), signed and
chained digest files, and the real `aws cloudtrail validate-logs` on an untouched trail
and on every kind of tampering it can detect.

One dedicated server delivers every second and writes digests every three seconds.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import subprocess
import time

import pytest

from sightline_support import (
    SightlineServer,
    allow,
    aws,
    aws_cli_path,
    aws_error,
    expect_error,
    make_user,
    policy,
    retry_until,
    unique,
    utcnow,
)

pytestmark = pytest.mark.timeout(300)

REGION = "us-east-1"
LOG_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=account)_CloudTrail_(?P=region)_"
    r"(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)
DIGEST_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail-Digest/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=account)_CloudTrail-Digest_(?P=region)_"
    r"(?P<trail>[A-Za-z0-9._-]+)_(?P<home>[a-z0-9-]+)_(?P=y)(?P=m)(?P=d)T\d{6}Z\.json\.gz$"
)


def trail_server(tmp_path_factory, name: str, digest_interval: str):
    """A dedicated server delivering every second, checked when it stops."""
    base = tmp_path_factory.mktemp(name)
    s = SightlineServer(
        base / "data",
        base / "logs",
        ["--trail-delivery-interval", "1s", "--trail-digest-interval", digest_interval,
         "--tlog-interval", "1s"],
    )
    s.start()
    yield s
    code = s.stop()
    assert code == 0, s.stderr()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    yield from trail_server(tmp_path_factory, "sightline-trails", "3s")


@pytest.fixture(scope="module")
def account(srv):
    return srv.account_id


def bucket_policy(bucket: str, account: str, prefix: str | None = None, trail_arn: str | None = None) -> str:
    """AWS's recommended CloudTrail bucket policy."""
    key_path = f"{prefix}/AWSLogs/{account}/*" if prefix else f"AWSLogs/{account}/*"
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}} if trail_arn else None
    acl_check = {
        "Sid": "AWSCloudTrailAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "s3:GetBucketAcl",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    write = {
        "Sid": "AWSCloudTrailWrite",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{key_path}",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    if condition:
        acl_check["Condition"] = condition
        write["Condition"]["StringEquals"]["aws:SourceArn"] = trail_arn
    return json.dumps({"Version": "2012-10-17", "Statement": [acl_check, write]})


def trail_bucket(s3, account: str, prefix: str | None = None, trail_name: str | None = None, **create) -> str:
    name = unique("trail-bkt")
    s3.create_bucket(Bucket=name, **create)
    arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{trail_name}" if trail_name else None
    s3.put_bucket_policy(Bucket=name, Policy=bucket_policy(name, account, prefix, arn))
    return name


def keys_under(s3, bucket: str, prefix: str) -> list[str]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(o["Key"] for o in page.get("Contents", []))
    return out


def read_gz_json(s3, bucket: str, key: str) -> dict:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(gzip.decompress(body))


def delivered_records(s3, bucket: str, account: str, prefix: str | None = None) -> list[dict]:
    base = f"{prefix}/" if prefix else ""
    records = []
    for key in keys_under(s3, bucket, f"{base}AWSLogs/{account}/CloudTrail/"):
        assert LOG_KEY.match(key), key
        records.extend(read_gz_json(s3, bucket, key)["Records"])
    return records


def digests(s3, bucket: str, account: str, prefix: str | None = None) -> list[str]:
    base = f"{prefix}/" if prefix else ""
    return keys_under(s3, bucket, f"{base}AWSLogs/{account}/CloudTrail-Digest/")


def validate_logs(srv, trail_arn: str, start) -> subprocess.CompletedProcess:
    """The real `aws cloudtrail validate-logs`, pointed at Sightline by AWS_ENDPOINT_URL."""
    return subprocess.run(
        [
            aws_cli_path(),
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            trail_arn,
            "--start-time",
            start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--verbose",
        ],
        env=srv.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_trail(srv, s3, account, name=None, prefix=None, **extra):
    ct = srv.client("cloudtrail")
    name = name or unique("trail")
    bucket = trail_bucket(s3, account, prefix, name)
    args = {"Name": name, "S3BucketName": bucket, "EnableLogFileValidation": True, **extra}
    if prefix:
        args["S3KeyPrefix"] = prefix
    arn = ct.create_trail(**args)["TrailARN"]
    ct.start_logging(Name=name)
    return ct, name, arn, bucket


def wait_for_digests(s3, bucket, account, count, prefix=None, timeout=30.0):
    def enough():
        found = digests(s3, bucket, account, prefix)
        assert len(found) >= count, found
        return found

    return retry_until(enough, timeout=timeout, interval=0.5)


# --------------------------------------------------------------------------- the API


def test_trail_lifecycle_through_the_cli(srv, account):
    s3 = srv.client("s3")
    name = unique("cli-trail")
    bucket = trail_bucket(s3, account, prefix="audit")
    env = srv.env
    created = aws(
        "cloudtrail", "create-trail", "--name", name, "--s3-bucket-name", bucket,
        "--s3-key-prefix", "audit", "--enable-log-file-validation", "--is-multi-region-trail",
        env=env,
    )
    arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}"
    assert created["TrailARN"] == arn
    assert created["LogFileValidationEnabled"] is True
    assert created["IsMultiRegionTrail"] is True
    assert created["S3KeyPrefix"] == "audit"
    described = aws("cloudtrail", "describe-trails", "--trail-name-list", name, env=env)["trailList"]
    assert [t["TrailARN"] for t in described] == [arn]
    assert described[0]["HomeRegion"] == REGION
    assert described[0]["HasCustomEventSelectors"] is False
    got = aws("cloudtrail", "get-trail", "--name", arn, env=env)["Trail"]
    assert got["S3BucketName"] == bucket
    status = aws("cloudtrail", "get-trail-status", "--name", name, env=env)
    assert status["IsLogging"] is False
    aws("cloudtrail", "start-logging", "--name", name, env=env)
    status = aws("cloudtrail", "get-trail-status", "--name", name, env=env)
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    listed = aws("cloudtrail", "list-trails", env=env)["Trails"]
    assert {"TrailARN": arn, "Name": name, "HomeRegion": REGION} in listed
    # A multi-region trail is visible from another region, read-only.
    other = aws("cloudtrail", "get-trail", "--name", name, "--region", "eu-west-1", env=env)
    assert other["Trail"]["TrailARN"] == arn
    aws_error("cloudtrail", "stop-logging", "--name", arn, "--region", "eu-west-1",
              env=env, code="InvalidHomeRegionException")
    selectors = aws(
        "cloudtrail", "put-event-selectors", "--trail-name", name, "--event-selectors",
        json.dumps([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                     "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/"]}]}]),
        env=env,
    )
    assert selectors["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    got = aws("cloudtrail", "get-event-selectors", "--trail-name", name, env=env)
    assert got["TrailARN"] == arn
    assert got["EventSelectors"][0]["DataResources"][0]["Values"] == [f"arn:aws:s3:::{bucket}/"]
    assert aws("cloudtrail", "get-trail", "--name", name, env=env)["Trail"]["HasCustomEventSelectors"] is True
    updated = aws("cloudtrail", "update-trail", "--name", name, "--no-enable-log-file-validation", env=env)
    assert updated["LogFileValidationEnabled"] is False
    aws("cloudtrail", "stop-logging", "--name", name, env=env)
    status = aws("cloudtrail", "get-trail-status", "--name", name, env=env)
    assert status["IsLogging"] is False and "StopLoggingTime" in status
    aws("cloudtrail", "delete-trail", "--name", name, env=env)
    aws_error("cloudtrail", "get-trail", "--name", name, env=env, code="TrailNotFoundException")
    assert aws("cloudtrail", "describe-trails", "--trail-name-list", name, env=env)["trailList"] == []


def test_bad_trails_get_cloudtrails_errors_and_change_nothing(srv, account):
    ct = srv.client("cloudtrail")
    s3 = srv.client("s3")
    kms = srv.client("kms")
    before = ct.describe_trails()["trailList"]
    missing = unique("no-such-bucket")
    expect_error("S3BucketDoesNotExistException", ct.create_trail, Name=unique("t"), S3BucketName=missing)
    no_policy = unique("nopolicy")
    s3.create_bucket(Bucket=no_policy)
    expect_error("InsufficientS3BucketPolicyException", ct.create_trail, Name=unique("t"), S3BucketName=no_policy)
    bucket = trail_bucket(s3, account)
    # The policy covers AWSLogs/<account>/ only: a prefix outside it is refused.
    expect_error("InsufficientS3BucketPolicyException", ct.create_trail,
                 Name=unique("t"), S3BucketName=bucket, S3KeyPrefix="elsewhere")
    for bad in ["ab", "-starts-with-dash", "has space", "double..dot", "x" * 129, "10.0.0.1"]:
        expect_error("InvalidTrailNameException", ct.create_trail, Name=bad, S3BucketName=bucket)
    expect_error("InvalidS3BucketNameException", ct.create_trail, Name=unique("t"), S3BucketName="Bad_Bucket")
    expect_error("KmsKeyNotFoundException", ct.create_trail, Name=unique("t"), S3BucketName=bucket,
                 KmsKeyId=f"arn:aws:kms:{REGION}:{account}:key/00000000-0000-0000-0000-000000000000")
    # The default key policy does not let CloudTrail encrypt.
    key = kms.create_key()["KeyMetadata"]["Arn"]
    expect_error("InsufficientEncryptionPolicyException", ct.create_trail,
                 Name=unique("t"), S3BucketName=bucket, KmsKeyId=key)
    expect_error("TrailNotFoundException", ct.get_trail, Name=unique("nope"))
    expect_error("TrailNotFoundException", ct.get_trail_status, Name=unique("nope"))
    expect_error("TrailNotFoundException", ct.start_logging, Name=unique("nope"))
    expect_error("CloudTrailARNInvalidException", ct.get_trail, Name="arn:aws:cloudtrail:us-east-1:nope")
    expect_error("InvalidTimeRangeException", ct.list_public_keys,
                 StartTime=utcnow(), EndTime=utcnow().replace(year=2020))
    assert ct.describe_trails()["trailList"] == before
    name = unique("dup")
    ct.create_trail(Name=name, S3BucketName=bucket)
    expect_error("TrailAlreadyExistsException", ct.create_trail, Name=name, S3BucketName=bucket)
    expect_error("InvalidEventSelectorsException", ct.put_event_selectors, TrailName=name,
                 EventSelectors=[{"ReadWriteType": "Sometimes"}])
    expect_error("InvalidEventSelectorsException", ct.put_event_selectors, TrailName=name,
                 EventSelectors=[{"DataResources": [{"Type": "AWS::Nothing", "Values": ["x"]}]}])
    assert ct.get_event_selectors(TrailName=name)["EventSelectors"] == [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
         "ExcludeManagementEventSources": []}
    ]
    ct.delete_trail(Name=name)


def test_public_keys_are_der_rsa_named_by_md5(srv):
    keys = srv.client("cloudtrail").list_public_keys()["PublicKeyList"]
    assert len(keys) >= 1
    for k in keys:
        der = k["Value"]  # boto3 decodes the blob
        assert hashlib.md5(der).hexdigest() == k["Fingerprint"]
        assert der[0] == 0x30  # a DER SEQUENCE: PKCS #1 RSAPublicKey
        assert k["ValidityStartTime"] <= utcnow() < k["ValidityEndTime"]


# --------------------------------------------------------------------------- delivery


def test_records_are_delivered_as_gzipped_log_files_and_digests_chain(srv, account):
    s3 = srv.client("s3")
    before = utcnow()
    ct, name, arn, bucket = start_trail(srv, s3, account, prefix="org/audit")
    marker = unique("marker")
    s3.create_bucket(Bucket=marker)
    iam = srv.client("iam")
    user = iam.create_user(UserName=unique("u"))["User"]["UserName"]

    def has_both():
        names = {(r["eventName"], json.dumps(r.get("requestParameters"))) for r in
                 delivered_records(s3, bucket, account, "org/audit")}
        assert any(n == "CreateBucket" and marker in p for n, p in names), names
        assert any(n == "CreateUser" and user in p for n, p in names), names

    retry_until(has_both, timeout=20, interval=0.5)
    records = delivered_records(s3, bucket, account, "org/audit")
    # Records appear once, each a complete CloudTrail record of this account.
    ids = [r["eventID"] for r in records]
    assert len(ids) == len(set(ids))
    for r in records:
        assert r["recipientAccountId"] == account
        assert r["eventVersion"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r["eventTime"])
    # Nothing before logging started.
    assert all(r["eventTime"] >= before.strftime("%Y-%m-%dT%H:%M:%SZ") for r in records)
    found = wait_for_digests(s3, bucket, account, 2, "org/audit")
    chain = sorted(found)
    for key in chain:
        m = DIGEST_KEY.match(key)
        assert m and m["trail"] == name and m["home"] == REGION and m["prefix"] == "org/audit", key
    docs = [read_gz_json(s3, bucket, k) for k in chain]
    first, second = docs[0], docs[1]
    assert first["previousDigestSignature"] is None and first["previousDigestS3Object"] is None
    assert second["previousDigestS3Object"] == chain[0]
    assert second["digestStartTime"] == first["digestEndTime"]
    raw_first = gzip.decompress(s3.get_object(Bucket=bucket, Key=chain[0])["Body"].read())
    assert second["previousDigestHashValue"] == hashlib.sha256(raw_first).hexdigest()
    head = s3.head_object(Bucket=bucket, Key=chain[0])
    assert head["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert second["previousDigestSignature"] == head["Metadata"]["signature"]
    assert first["digestSignatureAlgorithm"] == "SHA256withRSA"
    listed = [f for d in docs for f in d["logFiles"]]
    for f in listed:
        raw = gzip.decompress(s3.get_object(Bucket=f["s3Bucket"], Key=f["s3Object"])["Body"].read())
        assert hashlib.sha256(raw).hexdigest() == f["hashValue"]
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] and "LatestDeliveryError" not in status
    assert "LatestDeliveryTime" in status and "LatestDigestDeliveryTime" in status
    # Every digest and log file is valid for AWS's own validator.
    out = validate_logs(srv, arn, before.replace(microsecond=0) - dt.timedelta(minutes=1))
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"(\d+)/\1 digest files valid", out.stdout), out.stdout
    assert re.search(r"(\d+)/\1 log files valid", out.stdout), out.stdout
    assert "INVALID" not in out.stdout + out.stderr


def test_validate_logs_finds_every_kind_of_tampering(srv, account):
    s3 = srv.client("s3")
    start = utcnow().replace(microsecond=0) - dt.timedelta(minutes=1)
    ct, name, arn, bucket = start_trail(srv, s3, account)
    srv.client("iam").create_user(UserName=unique("tamper"))

    def digest_with_logs():
        keys = sorted(digests(s3, bucket, account))
        docs = [(k, read_gz_json(s3, bucket, k)) for k in keys]
        with_logs = [(k, d) for k, d in docs if d["logFiles"]]
        assert with_logs and len(keys) >= 2, keys
        return with_logs[0]

    digest_key, doc = retry_until(digest_with_logs, timeout=30, interval=0.5)
    ct.stop_logging(Name=name)
    # Let the final digest land, then validate a quiet trail.
    time.sleep(4)
    clean = validate_logs(srv, arn, start)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    log_key = doc["logFiles"][0]["s3Object"]
    original_log = s3.get_object(Bucket=bucket, Key=log_key)["Body"].read()
    original_digest = s3.get_object(Bucket=bucket, Key=digest_key)
    digest_bytes = original_digest["Body"].read()
    digest_meta = original_digest["Metadata"]

    def restore():
        s3.put_object(Bucket=bucket, Key=log_key, Body=original_log)
        s3.put_object(Bucket=bucket, Key=digest_key, Body=digest_bytes, Metadata=digest_meta)
        ok = validate_logs(srv, arn, start)
        assert ok.returncode == 0, ok.stdout + ok.stderr

    # A modified log file.
    records = json.loads(gzip.decompress(original_log))
    records["Records"][0]["eventName"] = "NothingToSeeHere"
    s3.put_object(Bucket=bucket, Key=log_key, Body=gzip.compress(json.dumps(records).encode()))
    out = validate_logs(srv, arn, start)
    assert out.returncode == 1
    assert f"s3://{bucket}/{log_key}\tINVALID: hash value doesn't match" in out.stderr
    restore()
    # A deleted log file.
    s3.delete_object(Bucket=bucket, Key=log_key)
    out = validate_logs(srv, arn, start)
    assert out.returncode == 1
    assert f"s3://{bucket}/{log_key}\tINVALID: not found" in out.stderr
    restore()
    # A modified digest (its signature no longer covers it).
    body = json.loads(gzip.decompress(digest_bytes))
    body["logFiles"] = []
    s3.put_object(Bucket=bucket, Key=digest_key, Body=gzip.compress(json.dumps(body).encode()),
                  Metadata=digest_meta)
    out = validate_logs(srv, arn, start)
    assert out.returncode == 1
    assert f"s3://{bucket}/{digest_key}\tINVALID: signature verification failed" in out.stderr
    restore()
    # A forged signature on the untouched digest.
    forged = dict(digest_meta, signature=("00" * 256))
    s3.put_object(Bucket=bucket, Key=digest_key, Body=digest_bytes, Metadata=forged)
    out = validate_logs(srv, arn, start)
    assert out.returncode == 1
    assert f"s3://{bucket}/{digest_key}\tINVALID: signature verification failed" in out.stderr
    restore()
    # A deleted digest.
    s3.delete_object(Bucket=bucket, Key=digest_key)
    out = validate_logs(srv, arn, start)
    assert out.returncode == 1
    assert f"s3://{bucket}/{digest_key}\tINVALID: not found" in out.stderr
    restore()


def test_failed_delivery_is_reported_retried_and_loses_nothing(srv, account):
    s3 = srv.client("s3")
    ct, name, arn, bucket = start_trail(srv, s3, account)
    saved = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    during = unique("during-outage")
    s3.create_bucket(Bucket=during)

    def reported():
        status = ct.get_trail_status(Name=name)
        assert status.get("LatestDeliveryError") == "AccessDenied", status
        return status

    retry_until(reported, timeout=20, interval=0.5)
    s3.put_bucket_policy(Bucket=bucket, Policy=saved)

    def delivered():
        recs = delivered_records(s3, bucket, account)
        assert any(r["eventName"] == "CreateBucket" and during in json.dumps(r["requestParameters"])
                   for r in recs)
        assert "LatestDeliveryError" not in ct.get_trail_status(Name=name)

    retry_until(delivered, timeout=20, interval=0.5)
    ct.stop_logging(Name=name)


def test_encrypted_trail_into_a_locked_bucket(srv, account):
    s3 = srv.client("s3")
    kms = srv.client("kms")
    name = unique("locked")
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}"
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "cloudtrail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceArn": trail_arn},
                           "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                          f"arn:aws:cloudtrail:*:{account}:trail/*"}}},
        ],
    }
    key = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    bucket = trail_bucket(s3, account, trail_name=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
                                 "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}},
    )
    ct = srv.client("cloudtrail")
    created = ct.create_trail(Name=name, S3BucketName=bucket, KmsKeyId=key, EnableLogFileValidation=True)
    assert created["KmsKeyId"] == key
    start = utcnow().replace(microsecond=0)
    ct.start_logging(Name=name)
    s3.create_bucket(Bucket=unique("while-locked"))

    def a_log_file():
        keys = [k for k in keys_under(s3, bucket, f"AWSLogs/{account}/CloudTrail/")]
        assert keys
        return keys[0]

    log_key = retry_until(a_log_file, timeout=20, interval=0.5)
    head = s3.head_object(Bucket=bucket, Key=log_key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key
    assert head["ObjectLockMode"] == "COMPLIANCE"
    # The root user can read (the key policy lets the account decrypt) ...
    body = s3.get_object(Bucket=bucket, Key=log_key)["Body"].read()
    assert json.loads(gzip.decompress(body))["Records"]
    # ... but not delete the locked version, even as root.
    version = head["VersionId"]
    expect_error("AccessDenied", s3.delete_object, Bucket=bucket, Key=log_key, VersionId=version)
    # A user allowed every S3 action but no kms:Decrypt cannot read the log file.
    iam = srv.client("iam")
    reader = make_user(iam, "reader", inline={"s3": policy(allow("s3:*"))})
    reader_s3 = srv.client("s3", creds=reader.creds)
    expect_error("AccessDenied", reader_s3.get_object, Bucket=bucket, Key=log_key)
    wait_for_digests(s3, bucket, account, 2)
    out = validate_logs(srv, created["TrailARN"], start - dt.timedelta(minutes=1))
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"(\d+)/\1 log files valid", out.stdout), out.stdout
    ct.stop_logging(Name=name)
    # A disabled key makes delivery fail and say why; records wait for it.
    kms.disable_key(KeyId=key)
    ct.start_logging(Name=name)
    s3.create_bucket(Bucket=unique("while-disabled"))

    def kms_error():
        status = ct.get_trail_status(Name=name)
        assert status.get("LatestDeliveryError", "").startswith("KMS."), status

    retry_until(kms_error, timeout=20, interval=0.5)
    kms.enable_key(KeyId=key)
    def recovered():
        assert "LatestDeliveryError" not in ct.get_trail_status(Name=name)

    retry_until(recovered, timeout=20, interval=0.5)
    ct.stop_logging(Name=name)


def test_s3_object_calls_are_data_events_delivered_only_when_selected(srv, account):
    s3 = srv.client("s3")
    ct, name, arn, bucket = start_trail(srv, s3, account)
    data_bucket = unique("data")
    s3.create_bucket(Bucket=data_bucket)
    s3.put_object(Bucket=data_bucket, Key="before-selector", Body=b"x")

    def management_delivered():
        recs = delivered_records(s3, bucket, account)
        assert any(r["eventName"] == "CreateBucket" and data_bucket in json.dumps(r["requestParameters"])
                   for r in recs)
        return recs

    recs = retry_until(management_delivered, timeout=20, interval=0.5)
    # Default selectors: management events only.
    assert not any(r["eventName"] == "PutObject" and data_bucket in json.dumps(r["requestParameters"])
                   for r in recs)
    ct.put_event_selectors(TrailName=name, EventSelectors=[{
        "ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data_bucket}/"]}],
    }])
    s3.put_object(Bucket=data_bucket, Key="after-selector", Body=b"y")
    s3.get_object(Bucket=data_bucket, Key="after-selector")  # a read: not selected

    def data_delivered():
        recs = delivered_records(s3, bucket, account)
        puts = [r for r in recs if r["eventName"] == "PutObject"
                and "after-selector" in json.dumps(r["requestParameters"])]
        assert puts, [r["eventName"] for r in recs]
        return recs, puts[0]

    recs, put = retry_until(data_delivered, timeout=20, interval=0.5)
    assert put["eventCategory"] == "Data" and put["managementEvent"] is False
    assert not any(r["eventName"] == "GetObject" and data_bucket in json.dumps(r.get("requestParameters"))
                   for r in recs)
    # Event history shows management events only.
    lookup = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutObject"}])
    assert lookup["Events"] == []
    ct.stop_logging(Name=name)

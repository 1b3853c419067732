"""Audit capture: every call past service identification leaves exactly one CloudTrail
record in the lake's `audit_events` dataset, allowed or denied or failed, with no secret
in it. Records are read through the product only: `sightline query` and LookupEvents."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest

from sightline_support import (
    Creds,
    allow,
    as_utc,
    audit_record,
    aws,
    expect_error,
    make_user,
    policy,
    query,
    request_id_of,
    segment_files,
    signed_post,
    trust,
    wal_files,
)

pytestmark = pytest.mark.timeout(120)


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def other_request_ids(srv) -> list:
    """Request ids of every record except those of `sightline query` itself."""
    rows = query(srv, "SELECT request_id FROM audit_events WHERE event_name <> 'ExecuteQuery'")
    return [r["request_id"] for r in rows]


def test_one_record_per_call_with_cloudtrail_fields(server_factory):
    srv = server_factory.start()
    before = other_request_ids(srv)
    sts = srv.client("sts")
    ident = sts.get_caller_identity()
    rid = request_id_of(ident)
    rec = audit_record(srv, rid)
    assert rec["eventVersion"] == "1.11"
    assert rec["eventSource"] == "sts.amazonaws.com"
    assert rec["eventName"] == "GetCallerIdentity"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3" in rec["userAgent"] or "botocore" in rec["userAgent"]
    assert rec["readOnly"] is True
    assert rec["eventType"] == "AwsApiCall"
    assert rec["recipientAccountId"] == ident["Account"]
    assert rec["userIdentity"]["type"] == "Root"
    assert rec["userIdentity"]["arn"] == f"arn:aws:iam::{ident['Account']}:root"
    assert rec["userIdentity"]["accessKeyId"] == srv.root.access_key_id
    assert rec["requestID"] == rid
    assert len(rec["eventID"]) == 36
    assert "errorCode" not in rec
    after = other_request_ids(srv)
    assert sorted(after) == sorted(before + [rid])

    # The columns of the row are derived from the record.
    (row,) = query(
        srv,
        "SELECT event_time, event_id, request_id, event_name, event_source, user_name, "
        "user_type, principal_arn, access_key_id, source_ip, error_code, read_only, "
        "resource_names, resource_types, account_id, region "
        f"FROM audit_events WHERE request_id = '{rid}'",
    )
    assert as_utc(row.pop("event_time")).replace(microsecond=0) == as_utc(rec["eventTime"])
    assert row == {
        "event_id": rec["eventID"],
        "request_id": rid,
        "event_name": "GetCallerIdentity",
        "event_source": "sts.amazonaws.com",
        "user_name": "root",
        "user_type": "Root",
        "principal_arn": root_arn(ident["Account"]),
        "access_key_id": srv.root.access_key_id,
        "source_ip": "127.0.0.1",
        "error_code": None,
        "read_only": True,
        "resource_names": [],
        "resource_types": [],
        "account_id": ident["Account"],
        "region": "us-east-1",
    }


def _wait_in_segments(srv, request_ids, timeout=20.0) -> None:
    """Waits until a flush has put every given request id into the Parquet segments."""
    wanted = set(request_ids)
    deadline = time.monotonic() + timeout
    while True:
        found = set()
        for path in segment_files(srv):
            found.update(pq.ParquetFile(path).read(columns=["request_id"]).column(0).to_pylist())
        if wanted <= found:
            return
        assert time.monotonic() < deadline, (
            f"not flushed to segments within {timeout}s: {sorted(wanted - found)}"
        )
        time.sleep(0.2)


def _assert_no_secret(blobs: dict, secrets: dict) -> None:
    for where, data in blobs.items():
        for what, secret in secrets.items():
            assert secret.encode() not in data, f"{what} found in {where}"


def test_mutating_call_records_parameters_and_response_without_secrets(server_factory):
    # No flush during the calls: the records sit in the WAL first.
    srv = server_factory.start(extra_args=["--lake-flush-seconds", "3600"])
    iam = srv.client("iam")
    iam.create_user(UserName="audited")
    key = iam.create_access_key(UserName="audited")
    rid = request_id_of(key)
    rec = audit_record(srv, rid)
    assert rec["eventSource"] == "iam.amazonaws.com"
    assert rec["eventName"] == "CreateAccessKey"
    assert rec["readOnly"] is False
    assert rec["requestParameters"] == {"userName": "audited"}
    assert rec["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKey"]["AccessKeyId"]
    assert rec["resources"][0]["ARN"].endswith(":user/audited")

    # Session tokens and secrets from AssumeRole stay out too.
    role = iam.create_role(RoleName="audited-role", AssumeRolePolicyDocument=trust(root_arn(srv.account_id)))
    assumed = srv.client("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="audit")
    creds = Creds.from_sts(assumed["Credentials"])
    ident = srv.client("sts", creds).get_caller_identity()
    rec = audit_record(srv, request_id_of(ident))
    assert rec["userIdentity"]["type"] == "AssumedRole"
    assert rec["userIdentity"]["sessionContext"]["sessionIssuer"]["type"] == "Role"
    assert rec["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role["Role"]["Arn"]

    secrets = {
        "the new user's secret key": key["AccessKey"]["SecretAccessKey"],
        "the root secret key": srv.root.secret_access_key,
        "the role session's secret key": creds.secret_access_key,
        "the role session's token": creds.session_token,
    }
    everything = query(srv, "SELECT * FROM audit_events", fmt="json")
    dump = json.dumps(everything)
    for r in (rid, request_id_of(assumed), request_id_of(ident)):
        assert r in dump
    _assert_no_secret({"sightline query output": dump.encode()}, secrets)

    # The write-ahead log holds the records (not flushed yet) and no secret.
    wal = {str(p): p.read_bytes() for p in wal_files(srv)}
    assert wal, "no WAL file under lake/wal"
    assert any(rid.encode() in data for data in wal.values()), "the WAL does not hold the record"
    _assert_no_secret(wal, secrets)

    # After a restart with frequent flushes the records move into Parquet segments.
    assert srv.stop() == 0, srv.stderr()
    srv = server_factory.start(data_dir=srv.data_dir, extra_args=["--lake-flush-seconds", "1"])
    flushed = [rid, request_id_of(assumed), request_id_of(ident)]
    _wait_in_segments(srv, flushed)
    files = segment_files(srv) + wal_files(srv)
    blobs = {str(p): p.read_bytes() for p in files}
    # Segments are compressed: search their decoded content as well.
    for path in segment_files(srv):
        table = pq.ParquetFile(path).read()
        blobs[f"{path} (decoded)"] = json.dumps(table.to_pylist(), default=str).encode()
    assert any(rid.encode() in data for data in blobs.values())
    _assert_no_secret(blobs, secrets)
    dump = json.dumps(query(srv, "SELECT * FROM audit_events"))
    _assert_no_secret({"sightline query output after the flush": dump.encode()}, secrets)


def test_denied_and_failed_calls_are_recorded_once(server):
    iam = server.client("iam")
    user = make_user(iam, "nopolicy")
    denied = expect_error("AccessDenied", server.client("iam", user.creds).list_users, status=403)
    rec = audit_record(server, request_id_of(denied))
    assert rec["errorCode"] == "AccessDenied"
    assert "iam:ListUsers" in rec["errorMessage"]
    assert rec["userIdentity"]["type"] == "IAMUser"
    assert rec["userIdentity"]["userName"] == user.name

    missing = expect_error("NoSuchEntity", iam.get_user, UserName="nobody-here")
    rec = audit_record(server, request_id_of(missing))
    assert rec["errorCode"] == "NoSuchEntity"
    assert rec["eventName"] == "GetUser"


def test_bad_signature_and_unknown_key_are_recorded(server_factory):
    srv = server_factory.start()
    account = srv.account_id
    before = other_request_ids(srv)
    bad = signed_post(srv.endpoint, srv.root.with_secret("x" * 40), "Action=GetCallerIdentity&Version=2011-06-15")
    assert bad.status_code == 403
    unknown = signed_post(
        srv.endpoint,
        Creds("AKIAUNKNOWNUNKNOWN00", "y" * 40, None),
        "Action=ListUsers&Version=2010-05-08",
        service="iam",
    )
    assert unknown.status_code == 403
    first = audit_record(srv, request_id_of(bad))
    second = audit_record(srv, request_id_of(unknown))
    assert sorted(other_request_ids(srv)) == sorted(before + [request_id_of(bad), request_id_of(unknown)])
    assert [first["errorCode"], second["errorCode"]] == ["SignatureDoesNotMatch", "InvalidClientTokenId"]
    assert first["userIdentity"]["type"] == "Root"
    assert second["userIdentity"]["type"] == "Unknown"
    assert second["eventName"] == "ListUsers"
    assert second["recipientAccountId"] == account


def test_every_call_of_a_cli_session_is_recorded(server_factory):
    srv = server_factory.start()
    aws("iam", "create-user", "--user-name", "cli-audit", env=srv.env)
    aws("iam", "put-user-policy", "--user-name", "cli-audit", "--policy-name", "p",
        "--policy-document", policy(allow("iam:GetUser")), env=srv.env)
    aws("iam", "list-user-policies", "--user-name", "cli-audit", env=srv.env)
    found = aws(
        "cloudtrail", "lookup-events",
        "--lookup-attributes", "AttributeKey=EventSource,AttributeValue=iam.amazonaws.com",
        env=srv.env,
    )["Events"]
    # LookupEvents lists newest first.
    names = [e["EventName"] for e in reversed(found)]
    assert names == ["CreateUser", "PutUserPolicy", "ListUserPolicies"], (
        f"oldest first: {names}, event times {[e['EventTime'] for e in reversed(found)]}"
    )
    for event in found:
        assert json.loads(event["CloudTrailEvent"])["userAgent"].startswith("aws-cli/")

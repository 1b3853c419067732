"""Audit capture: every call past service identification leaves exactly one CloudTrail
record in the audit log, allowed or denied or failed, with no secret in it."""

from __future__ import annotations

import json

import pytest

from sightline_support import (
    allow,
    assume,
    aws,
    expect_error,
    make_user,
    policy,
    signed_post,
    trust,
)


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"

pytestmark = pytest.mark.timeout(120)


def records(srv):
    path = srv.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_request_id(srv, request_id):
    found = [r for r in records(srv) if r["requestID"] == request_id]
    assert len(found) == 1, f"expected exactly one record for {request_id}, got {len(found)}"
    return found[0]


def test_one_record_per_call_with_cloudtrail_fields(server_factory):
    srv = server_factory.start()
    before = len(records(srv))
    sts = srv.client("sts")
    ident = sts.get_caller_identity()
    rid = ident["ResponseMetadata"]["RequestId"]
    rec = by_request_id(srv, rid)
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
    assert len(rec["eventID"]) == 36
    assert "errorCode" not in rec
    assert len(records(srv)) == before + 1


def test_mutating_call_records_parameters_and_response_without_secrets(server_factory):
    srv = server_factory.start()
    iam = srv.client("iam")
    iam.create_user(UserName="audited")
    key = iam.create_access_key(UserName="audited")
    rid = key["ResponseMetadata"]["RequestId"]
    rec = by_request_id(srv, rid)
    assert rec["eventSource"] == "iam.amazonaws.com"
    assert rec["eventName"] == "CreateAccessKey"
    assert rec["readOnly"] is False
    assert rec["requestParameters"] == {"userName": "audited"}
    assert rec["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKey"]["AccessKeyId"]
    assert rec["resources"][0]["ARN"].endswith(":user/audited")
    text = (srv.data_dir / "audit" / "audit.jsonl").read_text()
    assert key["AccessKey"]["SecretAccessKey"] not in text
    assert srv.root.secret_access_key not in text

    # Session tokens and secrets from AssumeRole stay out too.
    role = iam.create_role(RoleName="audited-role", AssumeRolePolicyDocument=trust(root_arn(srv.account_id)))
    creds = assume(srv.client("sts"), role["Role"]["Arn"], "audit")
    text = (srv.data_dir / "audit" / "audit.jsonl").read_text()
    assert creds.secret_access_key not in text
    assert creds.session_token not in text
    srv.client("sts", creds).get_caller_identity()
    rec = records(srv)[-1]
    assert rec["userIdentity"]["type"] == "AssumedRole"
    assert rec["userIdentity"]["sessionContext"]["sessionIssuer"]["type"] == "Role"
    assert rec["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role["Role"]["Arn"]


def test_denied_and_failed_calls_are_recorded_once(server_factory):
    srv = server_factory.start()
    iam = srv.client("iam")
    user = make_user(iam, "nopolicy")
    denied = expect_error("AccessDenied", srv.client("iam", user.creds).list_users, status=403)
    rec = by_request_id(srv, denied.response["ResponseMetadata"]["RequestId"])
    assert rec["errorCode"] == "AccessDenied"
    assert "iam:ListUsers" in rec["errorMessage"]
    assert rec["userIdentity"]["type"] == "IAMUser"
    assert rec["userIdentity"]["userName"] == user.name

    missing = expect_error("NoSuchEntity", iam.get_user, UserName="nobody-here")
    rec = by_request_id(srv, missing.response["ResponseMetadata"]["RequestId"])
    assert rec["errorCode"] == "NoSuchEntity"
    assert rec["eventName"] == "GetUser"


def test_bad_signature_and_unknown_key_are_recorded(server_factory):
    srv = server_factory.start()
    before = len(records(srv))
    bad = signed_post(srv.endpoint, srv.root.with_secret("x" * 40), "Action=GetCallerIdentity&Version=2011-06-15")
    assert bad.status_code == 403
    unknown = signed_post(
        srv.endpoint,
        type(srv.root)("AKIAUNKNOWNUNKNOWN00", "y" * 40, None),
        "Action=ListUsers&Version=2010-05-08",
        service="iam",
    )
    assert unknown.status_code == 403
    new = records(srv)[before:]
    assert [r["errorCode"] for r in new] == ["SignatureDoesNotMatch", "InvalidClientTokenId"]
    assert new[0]["userIdentity"]["type"] == "Root"
    assert new[1]["userIdentity"]["type"] == "Unknown"
    assert new[1]["eventName"] == "ListUsers"
    assert new[1]["recipientAccountId"] == srv.account_id


def test_every_call_of_a_cli_session_is_recorded(server_factory):
    srv = server_factory.start()
    before = len(records(srv))
    aws("iam", "create-user", "--user-name", "cli-audit", env=srv.env)
    aws("iam", "put-user-policy", "--user-name", "cli-audit", "--policy-name", "p",
        "--policy-document", policy(allow("iam:GetUser")), env=srv.env)
    aws("iam", "list-user-policies", "--user-name", "cli-audit", env=srv.env)
    names = [r["eventName"] for r in records(srv)[before:]]
    assert names == ["CreateUser", "PutUserPolicy", "ListUserPolicies"]

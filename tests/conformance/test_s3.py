"""S3 subset: buckets, objects (metadata, ranges, ETags), versioning with delete markers,
the listings (v1 with Marker, v2, versions), DeleteObjects, virtual-hosted addressing.

Everything through `aws s3api` and boto3 against a real server; object bytes are checked
byte for byte.
"""

import datetime as dt
import hashlib
import json
import os

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest

from sightline_support import (
    allow,
    assume,
    aws,
    aws_error,
    expect_error,
    make_user,
    org_role_arn,
    policy,
    retry_until,
    unique,
    utcnow,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def s3(server):
    return server.client("s3")


def new_bucket(s3, **kwargs) -> str:
    name = unique("bkt")
    s3.create_bucket(Bucket=name, **kwargs)
    return name


# --------------------------------------------------------------------------- buckets


def test_bucket_lifecycle_through_the_cli(server, s3):
    name = unique("cli-bucket")
    out = aws("s3api", "create-bucket", "--bucket", name, env=server.env)
    assert out["Location"] == f"/{name}"
    names = [b["Name"] for b in aws("s3api", "list-buckets", env=server.env)["Buckets"]]
    assert name in names
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    aws("s3api", "delete-bucket", "--bucket", name, env=server.env)
    aws_error("s3api", "head-bucket", "--bucket", name, env=server.env, code="404")
    expect_error("NoSuchBucket", s3.delete_bucket, Bucket=name, status=404)


def test_bucket_names_and_ownership(server, s3, member_accounts):
    for bad in ["ab", "UPPER", "has_underscore", "-dash", "a..b", "192.168.1.1", "x" * 64]:
        expect_error("InvalidBucketName", server.client("s3", validate=False).create_bucket,
                     Bucket=bad, status=400)
    name = new_bucket(s3)
    # us-east-1 answers the owner's repeated CreateBucket with 200.
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=name, status=409)

    member = assume(server.client("sts"), org_role_arn(member_accounts[0]))
    other = server.client("s3", member)
    expect_error("BucketAlreadyExists", other.create_bucket, Bucket=name, status=409)
    expect_error("AccessDenied", other.get_object, Bucket=name, Key="k", status=403)
    assert name not in [b["Name"] for b in other.list_buckets()["Buckets"]]


def test_iam_decides_who_may_use_buckets(server, iam, s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="doc", Body=b"secret")
    reader = make_user(iam, "s3-reader", inline={"read": policy(
        allow("s3:GetObject", f"arn:aws:s3:::{name}/*"))})
    rs3 = server.client("s3", reader.creds)
    assert rs3.get_object(Bucket=name, Key="doc")["Body"].read() == b"secret"
    expect_error("AccessDenied", rs3.put_object, Bucket=name, Key="doc", Body=b"x", status=403)
    expect_error("AccessDenied", rs3.list_objects_v2, Bucket=name, status=403)


# --------------------------------------------------------------------------- objects


def test_put_get_head_with_metadata_and_etag(server, s3, tmp_path):
    name = new_bucket(s3)
    data = os.urandom(100_000)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    put = aws("s3api", "put-object", "--bucket", name, "--key", "dir/blob.bin", "--body", str(f),
              "--content-type", "application/x-test", "--metadata", "color=blue,Owner=ops",
              env=server.env)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'

    out = tmp_path / "out.bin"
    got = aws("s3api", "get-object", "--bucket", name, "--key", "dir/blob.bin", str(out),
              env=server.env)
    assert out.read_bytes() == data
    assert got["ContentLength"] == len(data)
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue", "owner": "ops"}

    head = s3.head_object(Bucket=name, Key="dir/blob.bin")
    assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"color": "blue", "owner": "ops"}
    assert "VersionId" not in head
    expect_error("404", s3.head_object, Bucket=name, Key="missing")
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="missing", status=404)


def test_ranges(s3):
    name = new_bucket(s3)
    data = bytes(range(256)) * 40
    s3.put_object(Bucket=name, Key="r", Body=data)
    part = s3.get_object(Bucket=name, Key="r", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=name, Key="r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=name, Key="r", Range="bytes=10000-")["Body"].read() == data[10000:]
    expect_error("InvalidRange", s3.get_object, Bucket=name, Key="r",
                 Range=f"bytes={len(data)}-", status=416)


def test_overwrite_and_delete_in_an_unversioned_bucket(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"one")
    s3.put_object(Bucket=name, Key="k", Body=b"two")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"two"
    versions = s3.list_object_versions(Bucket=name)
    assert [(v["Key"], v["VersionId"]) for v in versions["Versions"]] == [("k", "null")]
    s3.delete_object(Bucket=name, Key="k")
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="k")
    # Deleting what is not there succeeds, as in S3.
    s3.delete_object(Bucket=name, Key="k")


def test_body_integrity_is_checked(server, s3):
    name = new_bucket(s3)
    raw = server.client("s3", validate=False)
    wrong_md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="  # md5 of the empty string
    expect_error("BadDigest", raw.put_object, Bucket=name, Key="k", Body=b"data",
                 ContentMD5=wrong_md5, status=400)
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="k")


# --------------------------------------------------------------------------- versioning


def test_versioning_keeps_every_version_and_delete_markers(server, s3):
    name = new_bucket(s3)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    aws("s3api", "put-bucket-versioning", "--bucket", name,
        "--versioning-configuration", "Status=Enabled", env=server.env)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    v1 = s3.put_object(Bucket=name, Key="k", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=name, Key="k", Body=b"v2")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v2"
    assert s3.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"v1"

    gone = s3.delete_object(Bucket=name, Key="k")
    assert gone["DeleteMarker"] is True
    marker = gone["VersionId"]
    err = expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="k")
    headers = err.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    assert s3.get_object(Bucket=name, Key="k", VersionId=v2)["Body"].read() == b"v2"
    err = expect_error("MethodNotAllowed", s3.get_object, Bucket=name, Key="k",
                       VersionId=marker, status=405)
    assert err.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0

    listed = s3.list_object_versions(Bucket=name)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [marker]
    assert listed["DeleteMarkers"][0]["IsLatest"] is True
    assert not any(v["IsLatest"] for v in listed["Versions"])

    # Removing the marker brings the object back; removing a version is permanent.
    s3.delete_object(Bucket=name, Key="k", VersionId=marker)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v2"
    s3.delete_object(Bucket=name, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v1"
    expect_error("NoSuchVersion", s3.get_object, Bucket=name, Key="k", VersionId=v2)

    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    assert "VersionId" not in s3.put_object(Bucket=name, Key="k", Body=b"null-version")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]]
    assert ids == ["null", v1]


def test_version_listing_pages_with_key_and_version_markers(s3):
    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for key in ["a", "b"]:
        ids = [s3.put_object(Bucket=name, Key=key, Body=b"x")["VersionId"] for _ in range(3)]
        expected += [(key, i) for i in reversed(ids)]
    seen = []
    paginator = s3.get_paginator("list_object_versions")
    pages = 0
    for page in paginator.paginate(Bucket=name, PaginationConfig={"PageSize": 2}):
        pages += 1
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert pages == 3 and seen == expected
    expect_error("InvalidArgument", s3.list_object_versions, Bucket=name, KeyMarker="a",
                 VersionIdMarker="no-such-version", status=400)
    expect_error("InvalidArgument", s3.list_object_versions, Bucket=name,
                 VersionIdMarker=expected[0][1], status=400)


# --------------------------------------------------------------------------- listings


def test_list_objects_v1_and_v2_with_prefixes_delimiters_and_pages(server, s3):
    name = new_bucket(s3)
    keys = ["a.txt", "logs/2026/01/x", "logs/2026/02/y", "logs/readme", "z/1", "z/2"]
    for k in keys:
        s3.put_object(Bucket=name, Key=k, Body=k.encode())

    v2 = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [c["Key"] for c in v2["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["logs/", "z/"]
    assert v2["KeyCount"] == 3

    inner = s3.list_objects_v2(Bucket=name, Prefix="logs/", Delimiter="/")
    assert [c["Key"] for c in inner["Contents"]] == ["logs/readme"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["logs/2026/"]

    # v2 pages with continuation tokens, through the paginator.
    paginator = s3.get_paginator("list_objects_v2")
    seen = [c["Key"] for page in paginator.paginate(Bucket=name, PaginationConfig={"PageSize": 2})
            for c in page.get("Contents", [])]
    assert seen == keys
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=name, StartAfter="logs/readme")["Contents"]] == ["z/1", "z/2"]

    # v1 with Marker, through the CLI's own paging and by hand.
    first = s3.list_objects(Bucket=name, MaxKeys=2)
    assert first["IsTruncated"] and [c["Key"] for c in first["Contents"]] == keys[:2]
    rest = s3.list_objects(Bucket=name, Marker=first["Contents"][-1]["Key"])
    assert [c["Key"] for c in rest["Contents"]] == keys[2:]
    cli = aws("s3api", "list-objects", "--bucket", name, "--page-size", "2", env=server.env)
    assert [c["Key"] for c in cli["Contents"]] == keys
    c0 = first["Contents"][0]
    assert c0["Size"] == len(b"a.txt") and c0["ETag"] == f'"{hashlib.md5(b"a.txt").hexdigest()}"'


def test_delete_objects_reports_each_key(s3):
    name = new_bucket(s3)
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=name, Key=k, Body=b"x")
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a"}, {"Key": "b"},
                                                             {"Key": "never"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "never"]
    assert "Errors" not in out or out["Errors"] == []
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=name)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


# --------------------------------------------------------------------------- addressing, audit


def hosted_request(server, method: str, bucket: str, path: str, body: bytes = b""):
    """A SigV4-signed virtual-hosted request: `Host: <bucket>.localhost:<port>`, sent to
    the server's loopback address (such names need not resolve here)."""
    port = server.endpoint.rsplit(":", 1)[1]
    request = AWSRequest(method=method, url=f"http://{bucket}.localhost:{port}{path}", data=body,
                         headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    botocore.auth.S3SigV4Auth(server.root.botocore(), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    headers = dict(prepared.headers)
    headers["Host"] = f"{bucket}.localhost:{port}"
    return requests.request(method, f"{server.endpoint}{path}", data=body, headers=headers,
                            timeout=30)


def test_virtual_hosted_style_on_localhost(server, s3):
    name = new_bucket(s3)
    put = hosted_request(server, "PUT", name, "/vh/key", b"hosted")
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == f'"{hashlib.md5(b"hosted").hexdigest()}"'
    assert s3.get_object(Bucket=name, Key="vh/key")["Body"].read() == b"hosted"
    got = hosted_request(server, "GET", name, "/vh/key")
    assert got.status_code == 200 and got.content == b"hosted"
    listed = hosted_request(server, "GET", name, "/?list-type=2")
    assert listed.status_code == 200 and b"<Key>vh/key</Key>" in listed.content, listed.text
    # The same path on the plain endpoint names a bucket called "vh".
    plain = s3.list_objects_v2(Bucket=name)
    assert [c["Key"] for c in plain["Contents"]] == ["vh/key"]


def test_unsigned_requests_are_refused(server, s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    resp = requests.get(f"{server.endpoint}/{name}/k", timeout=10)
    assert resp.status_code == 403
    assert b"<Code>AccessDenied</Code>" in resp.content


# --------------------------------------------------------------------------- object lock


def future(days: float = 1.0):
    return utcnow() + dt.timedelta(days=days)


def lock_bucket(s3, mode=None, days=1) -> str:
    name = unique("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    if mode:
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}}})
    return name


def test_object_lock_configuration(server, s3):
    plain = new_bucket(s3)
    expect_error("ObjectLockConfigurationNotFoundError", s3.get_object_lock_configuration,
                 Bucket=plain, status=404)
    expect_error("InvalidBucketState", s3.put_object_lock_configuration, Bucket=plain,
                 ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}, status=409)
    expect_error("InvalidRequest", s3.put_object, Bucket=plain, Key="k", Body=b"x",
                 ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future())

    name = lock_bucket(s3)
    # Object Lock forces versioning, which cannot be suspended.
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    expect_error("InvalidArgument", s3.put_bucket_versioning, Bucket=name,
                 VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"}
    aws("s3api", "put-object-lock-configuration", "--bucket", name,
        "--object-lock-configuration",
        '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":2}}}',
        env=server.env)
    rule = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]["Rule"]
    assert rule == {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2}}
    put = s3.put_object(Bucket=name, Key="k", Body=b"x")
    r = s3.get_object_retention(Bucket=name, Key="k", VersionId=put["VersionId"])["Retention"]
    assert r["Mode"] == "COMPLIANCE"
    assert 1.9 < (r["RetainUntilDate"] - utcnow()).total_seconds() / 86400 <= 2.0
    head = s3.head_object(Bucket=name, Key="k")
    assert head["ObjectLockMode"] == "COMPLIANCE"


def test_compliance_retention_binds_even_the_root_user(server, s3):
    name = lock_bucket(s3)
    vid = s3.put_object(Bucket=name, Key="evidence", Body=b"log", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=future(3))["VersionId"]
    # The caller here is the account root.
    assert server.client("sts").get_caller_identity()["Arn"].endswith(":root")
    expect_error("AccessDenied", s3.delete_object, Bucket=name, Key="evidence", VersionId=vid,
                 status=403)
    expect_error("AccessDenied", s3.delete_object, Bucket=name, Key="evidence", VersionId=vid,
                 BypassGovernanceRetention=True)
    aws_error("s3api", "delete-object", "--bucket", name, "--key", "evidence", "--version-id",
              vid, env=server.env, code="AccessDenied")
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "evidence", "VersionId": vid}]})
    assert [e["Code"] for e in out["Errors"]] == ["AccessDenied"]
    # Shortening or weakening is refused; extending is allowed.
    expect_error("AccessDenied", s3.put_object_retention, Bucket=name, Key="evidence",
                 VersionId=vid, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": future(1)})
    expect_error("AccessDenied", s3.put_object_retention, Bucket=name, Key="evidence",
                 VersionId=vid, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future(5)},
                 BypassGovernanceRetention=True)
    s3.put_object_retention(Bucket=name, Key="evidence", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": future(10)})
    r = s3.get_object_retention(Bucket=name, Key="evidence", VersionId=vid)["Retention"]
    assert (r["RetainUntilDate"] - utcnow()).total_seconds() > 9 * 86400
    # A plain delete only adds a delete marker; the locked version stays readable.
    assert s3.delete_object(Bucket=name, Key="evidence")["DeleteMarker"] is True
    assert s3.get_object(Bucket=name, Key="evidence", VersionId=vid)["Body"].read() == b"log"
    expect_error("InvalidArgument", s3.put_object_retention, Bucket=name, Key="evidence",
                 VersionId=vid, Retention={"Mode": "COMPLIANCE",
                                           "RetainUntilDate": utcnow() - dt.timedelta(days=1)})


def test_governance_needs_the_bypass_header_and_permission(server, iam, s3):
    name = lock_bucket(s3, mode="GOVERNANCE", days=1)
    vid = s3.put_object(Bucket=name, Key="g", Body=b"x")["VersionId"]
    expect_error("AccessDenied", s3.delete_object, Bucket=name, Key="g", VersionId=vid)

    deleter = make_user(iam, "s3-deleter", inline={"del": policy(
        allow(["s3:DeleteObject", "s3:DeleteObjectVersion"], f"arn:aws:s3:::{name}/*"))})
    ds3 = server.client("s3", deleter.creds)
    # The header without the permission is refused before anything happens.
    expect_error("AccessDenied", ds3.delete_object, Bucket=name, Key="g", VersionId=vid,
                 BypassGovernanceRetention=True)
    iam.put_user_policy(UserName=deleter.name, PolicyName="bypass", PolicyDocument=policy(
        allow("s3:BypassGovernanceRetention", f"arn:aws:s3:::{name}/*")))
    expect_error("AccessDenied", ds3.delete_object, Bucket=name, Key="g", VersionId=vid)
    ds3.delete_object(Bucket=name, Key="g", VersionId=vid, BypassGovernanceRetention=True)
    expect_error("NoSuchVersion", s3.get_object, Bucket=name, Key="g", VersionId=vid)


def test_a_legal_hold_blocks_deletion_until_released(server, s3):
    name = lock_bucket(s3)
    vid = s3.put_object(Bucket=name, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.get_object_legal_hold(Bucket=name, Key="h")["LegalHold"]["Status"] == "ON"
    expect_error("AccessDenied", s3.delete_object, Bucket=name, Key="h", VersionId=vid,
                 BypassGovernanceRetention=True)
    aws("s3api", "put-object-legal-hold", "--bucket", name, "--key", "h", "--version-id", vid,
        "--legal-hold", "Status=OFF", env=server.env)
    assert s3.get_object_legal_hold(Bucket=name, Key="h")["LegalHold"]["Status"] == "OFF"
    s3.delete_object(Bucket=name, Key="h", VersionId=vid)
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="h")


# --------------------------------------------------------------------------- bucket policies


def test_bucket_policies_grant_and_deny(server, iam, s3, member_accounts):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="shared/doc", Body=b"for the member")
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=name, status=404)
    expect_error("MalformedPolicy", s3.put_bucket_policy, Bucket=name, Policy="not json")

    member_id = member_accounts[1]
    member = server.client("s3", assume(server.client("sts"), org_role_arn(member_id)))
    expect_error("AccessDenied", member.get_object, Bucket=name, Key="shared/doc")

    nobody = make_user(iam, "s3-nobody")
    doc = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member_id}:root"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/shared/*"},
        {"Effect": "Allow", "Principal": {"AWS": nobody.arn},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/shared/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
         "Resource": f"arn:aws:s3:::{name}"},
    )
    aws("s3api", "put-bucket-policy", "--bucket", name, "--policy", doc, env=server.env)
    assert s3.get_bucket_policy(Bucket=name)["Policy"] == doc

    # Across accounts: the bucket policy and the member's own (admin) policy both allow.
    assert member.get_object(Bucket=name, Key="shared/doc")["Body"].read() == b"for the member"
    expect_error("AccessDenied", member.put_object, Bucket=name, Key="shared/x", Body=b"x")
    # In the account: the bucket policy alone grants a user with no IAM policy.
    user = server.client("s3", nobody.creds)
    assert user.get_object(Bucket=name, Key="shared/doc")["Body"].read() == b"for the member"
    # An explicit deny binds the root user too.
    s3.delete_object(Bucket=name, Key="shared/doc")
    expect_error("AccessDenied", s3.delete_bucket, Bucket=name)
    s3.delete_bucket_policy(Bucket=name)
    expect_error("AccessDenied", member.get_object, Bucket=name, Key="shared/doc")
    s3.delete_bucket(Bucket=name)


# --------------------------------------------------------------------------- SSE-KMS


def test_sse_kms_objects_need_kms_decrypt_to_read(server, iam, s3, tmp_path):
    kms = server.client("kms")
    key = kms.create_key(Description="bucket key")["KeyMetadata"]
    name = new_bucket(s3)
    secret = b"sse-kms-plaintext-" + os.urandom(8).hex().encode()
    f = tmp_path / "secret.txt"
    f.write_bytes(secret)
    put = aws("s3api", "put-object", "--bucket", name, "--key", "enc", "--body", str(f),
              "--server-side-encryption", "aws:kms", "--ssekms-key-id", key["KeyId"],
              env=server.env)
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key["Arn"]
    head = s3.head_object(Bucket=name, Key="enc")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key["Arn"]
    assert s3.get_object(Bucket=name, Key="enc")["Body"].read() == secret
    assert s3.get_object(Bucket=name, Key="enc", Range="bytes=0-5")["Body"].read() == secret[:6]

    # At rest the bytes are ciphertext.
    stored = [p for p in (server.data_dir / "s3" / name).rglob("*") if p.is_file()]
    assert stored and all(secret not in p.read_bytes() for p in stored)

    reader = make_user(iam, "sse-reader", inline={"s3": policy(
        allow("s3:GetObject", f"arn:aws:s3:::{name}/*"))})
    rs3 = server.client("s3", reader.creds)
    rs3.head_object(Bucket=name, Key="enc")
    err = expect_error("AccessDenied", rs3.get_object, Bucket=name, Key="enc", status=403)
    assert "kms:Decrypt" in err.response["Error"]["Message"]
    iam.put_user_policy(UserName=reader.name, PolicyName="kms", PolicyDocument=policy(
        allow("kms:Decrypt", key["Arn"])))
    assert rs3.get_object(Bucket=name, Key="enc")["Body"].read() == secret

    kms.disable_key(KeyId=key["KeyId"])
    expect_error("KMS.DisabledException", s3.get_object, Bucket=name, Key="enc", status=400)
    expect_error("KMS.DisabledException", s3.put_object, Bucket=name, Key="enc2", Body=b"x",
                 ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert s3.get_object(Bucket=name, Key="enc")["Body"].read() == secret

    expect_error("InvalidArgument", s3.put_object, Bucket=name, Key="k", Body=b"x",
                 ServerSideEncryption="aws:kms")
    expect_error("KMS.NotFoundException", s3.put_object, Bucket=name, Key="k", Body=b"x",
                 ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/none-such")
    plain = s3.put_object(Bucket=name, Key="s3-managed", Body=b"x", ServerSideEncryption="AES256")
    assert plain["ServerSideEncryption"] == "AES256"


# --------------------------------------------------------------------------- refusals


def signed_request(server, method: str, path: str, body: bytes = b"", *, send: bytes = None,
                   host: str = None):
    """A SigV4-signed S3 request for `body`; `send` replaces the body after signing,
    `host` sends a virtual-hosted Host header to the loopback address."""
    port = server.endpoint.rsplit(":", 1)[1]
    authority = host or f"127.0.0.1:{port}"
    request = AWSRequest(method=method, url=f"http://{authority}{path}", data=body,
                         headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    botocore.auth.S3SigV4Auth(server.root.botocore(), "s3", "us-east-1").add_auth(request)
    headers = dict(request.prepare().headers)
    headers["Host"] = authority
    return requests.request(method, f"{server.endpoint}{path}",
                            data=body if send is None else send, headers=headers, timeout=30)


def test_unimplemented_subresources_never_reach_the_bare_operation(server, s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"keep me")
    for call, kwargs in [
        (s3.put_object_tagging, {"Key": "k", "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}}),
        (s3.delete_object_tagging, {"Key": "k"}),
        (s3.put_object_acl, {"Key": "k", "ACL": "private"}),
        (s3.copy_object, {"Key": "k2", "CopySource": {"Bucket": name, "Key": "k"}}),
        (s3.put_bucket_encryption, {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
        (s3.delete_bucket_tagging, {}),
    ]:
        expect_error("NotImplemented", call, Bucket=name, status=501, **kwargs)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"keep me"
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="k2")
    s3.head_bucket(Bucket=name)


def test_a_body_that_does_not_match_its_signed_hash_is_refused(server, s3):
    name = new_bucket(s3)
    good = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
                   "Resource": f"arn:aws:s3:::{name}"})
    evil = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                   "Resource": f"arn:aws:s3:::{name}"})
    resp = signed_request(server, "PUT", f"/{name}?policy", good.encode(), send=evil.encode())
    assert resp.status_code == 400 and b"XAmzContentSHA256Mismatch" in resp.content
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=name)
    ok = signed_request(server, "PUT", f"/{name}?policy", good.encode())
    assert ok.status_code == 204, ok.text


def test_locking_on_upload_needs_the_lock_permissions(server, iam, s3):
    name = lock_bucket(s3)
    writer = make_user(iam, "s3-writer", inline={"w": policy(
        allow("s3:PutObject", f"arn:aws:s3:::{name}/*"))})
    ws3 = server.client("s3", writer.creds)
    ws3.put_object(Bucket=name, Key="plain", Body=b"x")
    expect_error("AccessDenied", ws3.put_object, Bucket=name, Key="locked", Body=b"x",
                 ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=future(3650))
    expect_error("AccessDenied", ws3.put_object, Bucket=name, Key="held", Body=b"x",
                 ObjectLockLegalHoldStatus="ON")
    expect_error("NoSuchKey", s3.get_object, Bucket=name, Key="locked")
    expect_error("InvalidArgument", s3.put_object_lock_configuration, Bucket=name,
                 ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {
                     "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 100_000_000}}})


def test_only_the_owner_manages_a_bucket_policy(server, s3, member_accounts):
    name = new_bucket(s3)
    member_id = member_accounts[0]
    s3.put_bucket_policy(Bucket=name, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member_id}:root"},
         "Action": "s3:*", "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}))
    member = server.client("s3", assume(server.client("sts"), org_role_arn(member_id)))
    member.put_object(Bucket=name, Key="from-member", Body=b"x")
    for call, kwargs in [(member.get_bucket_policy, {}), (member.delete_bucket_policy, {}),
                         (member.put_bucket_policy, {"Policy": policy(
                             {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                              "Resource": f"arn:aws:s3:::{name}"})})]:
        expect_error("MethodNotAllowed", call, Bucket=name, status=405, **kwargs)
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=name)["Contents"]] == ["from-member"]


def test_suspending_a_never_versioned_bucket_reports_suspended(s3):
    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"


def test_key_policy_conditions_apply_when_s3_uses_the_key(server, iam, s3):
    kms = server.client("kms")
    acct = server.account_id
    reader = make_user(iam, "via-s3", inline={"s3": policy(allow("s3:GetObject"))})
    key_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        # The reader may decrypt only through S3, never directly.
        {"Effect": "Allow", "Principal": {"AWS": reader.arn}, "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringEquals": {
             "kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    )
    key = kms.create_key(Policy=key_policy)["KeyMetadata"]
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"via s3 only", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key["Arn"])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"direct")["CiphertextBlob"]
    rs3 = server.client("s3", reader.creds)
    assert rs3.get_object(Bucket=name, Key="k")["Body"].read() == b"via s3 only"
    expect_error("AccessDeniedException", server.client("kms", reader.creds).decrypt,
                 CiphertextBlob=blob)

    # A deny on plain-HTTP use binds S3's use of the key as well (this suite speaks HTTP).
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ))
    expect_error("AccessDenied", s3.get_object, Bucket=name, Key="k", status=403)
    expect_error("AccessDenied", s3.put_object, Bucket=name, Key="k2", Body=b"x",
                 ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])


def test_s3_use_of_a_key_is_audited_as_kms_events(server, iam, s3):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    name = new_bucket(s3)
    user = make_user(iam, "sse-audit", inline={"all": policy(allow(["s3:*", "kms:GenerateDataKey"]))})
    us3 = server.client("s3", user.creds)
    us3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                   SSEKMSKeyId=key["Arn"])
    expect_error("AccessDenied", us3.get_object, Bucket=name, Key="k")
    trail = server.client("cloudtrail")

    def events(event_name):
        found = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "Username", "AttributeValue": user.name}], MaxResults=50)["Events"]
        recs = [json.loads(e["CloudTrailEvent"]) for e in found if e["EventName"] == event_name]
        assert recs, f"no {event_name} by {user.name} yet"
        return recs

    generated = retry_until(lambda: events("GenerateDataKey"))[0]
    assert generated["eventSource"] == "kms.amazonaws.com"
    assert generated["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
    assert generated["userIdentity"]["userName"] == user.name
    assert generated["requestParameters"]["encryptionContext"] == {
        "aws:s3:arn": f"arn:aws:s3:::{name}/k"}
    assert key["Arn"] in [r["ARN"] for r in generated["resources"]]
    assert "errorCode" not in generated
    denied = retry_until(lambda: events("Decrypt"))[0]
    assert denied["errorCode"] == "AccessDenied"

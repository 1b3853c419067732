"""Request authentication: SigV4 signatures, unknown keys, clock skew, unsigned requests."""

import datetime as dt
import re

import pytest
import requests
from botocore.exceptions import ClientError

from sightline_support import (
    Creds,
    aws_error,
    expect_error,
    make_role,
    signed_post,
    trust,
    utcnow,
    xml_error,
)

pytestmark = pytest.mark.timeout(60)

GET_CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15"
LIST_USERS = "Action=ListUsers&Version=2010-05-08"
SKEW_CODES = {"RequestExpired", "RequestTimeTooSkewed"}
TIME_MESSAGE_RE = re.compile(r"(?i)(time|expired|not yet current|\d{8}T\d{6}Z)")


def mutate(secret: str) -> str:
    last = "A" if secret[-1] != "A" else "B"
    return secret[:-1] + last


def test_health_endpoint(server):
    resp = requests.get(server.endpoint + "/health", timeout=5)
    assert resp.status_code == 200


def test_raw_signed_request_is_accepted(server):
    # Control for the hand-signed requests below: the signing harness itself is correct.
    resp = signed_post(server.endpoint, server.root, GET_CALLER_IDENTITY)
    assert resp.status_code == 200, resp.text
    assert "GetCallerIdentityResult" in resp.text
    assert f"<Account>{server.account_id}</Account>" in resp.text


@pytest.mark.parametrize("body", [GET_CALLER_IDENTITY, LIST_USERS], ids=["sts", "iam"])
def test_unsigned_request_is_missing_authentication_token(server, body):
    resp = requests.post(
        server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        timeout=10,
    )
    assert resp.status_code == 403, resp.text
    code, _ = xml_error(resp.content)
    assert code == "MissingAuthenticationToken", resp.text


def test_unsigned_cli_request_is_missing_authentication_token(server):
    aws_error("sts", "get-caller-identity", "--no-sign-request", env=server.env,
              code="MissingAuthenticationToken")


@pytest.mark.parametrize("service", ["sts", "iam"])
def test_wrong_secret_is_signature_does_not_match(server, service):
    bad = server.root.with_secret(mutate(server.root.secret_access_key))
    client = server.client(service, bad)
    call = client.get_caller_identity if service == "sts" else client.list_users
    expect_error("SignatureDoesNotMatch", call, status=403)


def test_wrong_secret_cli(server):
    bad = server.root.with_secret(mutate(server.root.secret_access_key))
    aws_error("iam", "list-users", env=server.env_for(bad), code="SignatureDoesNotMatch")


def test_wrong_secret_organizations_is_rejected(server):
    bad = server.root.with_secret(mutate(server.root.secret_access_key))
    with pytest.raises(ClientError) as info:
        server.client("organizations", bad).describe_organization()
    # JSON-protocol services name it InvalidSignatureException (HTTP 400); the query
    # protocol's name is SignatureDoesNotMatch (HTTP 403).
    code = info.value.response["Error"]["Code"]
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert (code, status) in {("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403)}, (
        info.value.response
    )


def test_body_tampered_after_signing_is_signature_does_not_match(server):
    resp = signed_post(
        server.endpoint,
        server.root,
        "Action=ListUsers&Version=2010-05-08&MaxItems=1",
        service="iam",
        tamper=lambda body: body.replace("MaxItems=1", "MaxItems=2"),
    )
    assert resp.status_code == 403, resp.text
    assert xml_error(resp.content)[0] == "SignatureDoesNotMatch", resp.text


def test_unknown_access_key_is_invalid_client_token_id(server):
    stranger = Creds("AKIA" + "Z" * 16, "x" * 40)
    expect_error("InvalidClientTokenId", server.client("sts", stranger).get_caller_identity, status=403)
    expect_error("InvalidClientTokenId", server.client("iam", stranger).list_users, status=403)
    aws_error("sts", "get-caller-identity", env=server.env_for(stranger), code="InvalidClientTokenId")


def test_temporary_key_without_its_session_token_is_rejected(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "no-token")
    creds = Creds.from_sts(
        server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="stripped")["Credentials"]
    )
    stripped = Creds(creds.access_key_id, creds.secret_access_key)
    expect_error("InvalidClientTokenId", server.client("sts", stripped).get_caller_identity, status=403)
    forged = Creds(creds.access_key_id, creds.secret_access_key, creds.session_token[:-4] + "AAAA")
    with pytest.raises(ClientError) as info:
        server.client("sts", forged).get_caller_identity()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


@pytest.mark.parametrize("minutes", [20, -20], ids=["ahead", "behind"])
def test_clock_skew_is_rejected(server, minutes):
    when = utcnow() + dt.timedelta(minutes=minutes)
    resp = signed_post(server.endpoint, server.root, GET_CALLER_IDENTITY, when=when)
    assert resp.status_code in (400, 403), resp.text
    code, message = xml_error(resp.content)
    if code == "SignatureDoesNotMatch":
        assert message and TIME_MESSAGE_RE.search(message), (
            f"SignatureDoesNotMatch for a skewed clock must say why (time): {resp.text}"
        )
    else:
        assert code in SKEW_CODES, resp.text


@pytest.mark.parametrize("minutes", [3, -3], ids=["ahead", "behind"])
def test_small_clock_skew_is_tolerated(server, minutes):
    when = utcnow() + dt.timedelta(minutes=minutes)
    resp = signed_post(server.endpoint, server.root, GET_CALLER_IDENTITY, when=when)
    assert resp.status_code == 200, resp.text


def _presigned_get_caller_identity(server, creds, expires=60, when=None):
    """A presigned GET of STS GetCallerIdentity, signed by botocore's query signer."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from unittest import mock

    request = AWSRequest(method="GET", url=server.endpoint + "/", params={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    signer = botocore.auth.SigV4QueryAuth(creds.botocore(), "sts", "us-east-1", expires=expires)
    if when is None:
        signer.add_auth(request)
    else:
        naive = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: naive):
            signer.add_auth(request)
    return requests.get(request.prepare().url, timeout=10)


def test_presigned_url_is_accepted(server):
    resp = _presigned_get_caller_identity(server, server.root)
    assert resp.status_code == 200, resp.text
    assert f"<Account>{server.account_id}</Account>" in resp.text


def test_presigned_url_with_wrong_secret_is_rejected(server):
    resp = _presigned_get_caller_identity(server, server.root.with_secret(mutate(server.root.secret_access_key)))
    assert resp.status_code == 403
    assert xml_error(resp.content)[0] == "SignatureDoesNotMatch"


def test_expired_presigned_url_is_rejected(server):
    resp = _presigned_get_caller_identity(server, server.root, expires=60, when=utcnow() - dt.timedelta(minutes=5))
    assert resp.status_code == 403
    code, message = xml_error(resp.content)
    assert code == "SignatureDoesNotMatch" and "expired" in message.lower(), resp.text

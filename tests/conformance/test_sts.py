"""STS: GetCallerIdentity, AssumeRole (duration, trust policy), GetSessionToken, expiry."""

import re
import time

import pytest

from sightline_support import (
    ACCOUNT_ID_RE,
    Creds,
    allow,
    as_utc,
    assume,
    aws,
    aws_error,
    expect_error,
    make_role,
    make_user,
    policy,
    trust,
    unique,
    utcnow,
)

pytestmark = pytest.mark.timeout(90)

TEMP_KEY_RE = re.compile(r"^ASIA[A-Z0-9]{16}$")


def assert_expires_in(expiration, seconds: int, slack: int = 90) -> None:
    remaining = (as_utc(expiration) - utcnow()).total_seconds()
    assert seconds - slack <= remaining <= seconds + slack, (
        f"expected credentials to expire in ~{seconds}s, they expire in {remaining:.0f}s"
    )


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


# --------------------------------------------------------------------------- GetCallerIdentity


def test_get_caller_identity_root_cli(server):
    ident = aws("sts", "get-caller-identity", env=server.env)
    assert ACCOUNT_ID_RE.match(ident["Account"]), ident
    assert ident["Arn"] == root_arn(ident["Account"])
    assert ident["UserId"] == ident["Account"]


def test_get_caller_identity_root_boto3_matches_cli(server, sts):
    ident = sts.get_caller_identity()
    assert ident["Arn"] == root_arn(ident["Account"])
    assert ident["Account"] == aws("sts", "get-caller-identity", env=server.env)["Account"]


def test_get_caller_identity_iam_user(server, iam):
    user = make_user(iam, "ident")
    assert re.match(r"^AIDA[A-Z0-9]{17}$", user.user_id), user.user_id
    ident = server.client("sts", user.creds).get_caller_identity()
    assert ident == {
        "UserId": user.user_id,
        "Account": server.account_id,
        "Arn": f"arn:aws:iam::{server.account_id}:user/{user.name}",
        "ResponseMetadata": ident["ResponseMetadata"],
    }


# --------------------------------------------------------------------------- AssumeRole


def test_assume_role_cli(server, iam):
    role = make_role(iam, trust(root_arn(server.account_id)), "assume-cli")
    out = aws(
        "sts", "assume-role",
        "--role-arn", role["Arn"],
        "--role-session-name", "me",
        "--duration-seconds", "900",
        env=server.env,
    )
    creds = out["Credentials"]
    assert TEMP_KEY_RE.match(creds["AccessKeyId"]), creds["AccessKeyId"]
    assert len(creds["SecretAccessKey"]) >= 40
    assert creds["SessionToken"]
    assert_expires_in(creds["Expiration"], 900)

    session_arn = f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/me"
    assert out["AssumedRoleUser"]["Arn"] == session_arn
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:me"

    ident = aws("sts", "get-caller-identity", env=server.env_for(Creds.from_sts(creds)))
    assert ident["Arn"] == session_arn
    assert ident["Account"] == server.account_id
    assert ident["UserId"] == f"{role['RoleId']}:me"


def test_assume_role_default_duration_is_one_hour(server, iam, sts):
    role = make_role(iam, trust(root_arn(server.account_id)), "default-duration")
    resp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="default")
    assert_expires_in(resp["Credentials"]["Expiration"], 3600)


def test_assume_role_credentials_are_usable_for_iam(server, iam, sts):
    role = make_role(iam, trust(root_arn(server.account_id)), "usable")
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="read-roles", PolicyDocument=policy(allow("iam:GetRole"))
    )
    creds = assume(sts, role["Arn"], "usable")
    got = server.client("iam", creds).get_role(RoleName=role["RoleName"])["Role"]
    assert got["Arn"] == role["Arn"]


@pytest.mark.parametrize("duration", [899, 0])
def test_assume_role_duration_below_minimum_is_validation_error(server, iam, duration):
    role = make_role(iam, trust(root_arn(server.account_id)), "too-short")
    sts_raw = server.client("sts", validate=False)
    expect_error(
        "ValidationError",
        sts_raw.assume_role,
        RoleArn=role["Arn"],
        RoleSessionName="short",
        DurationSeconds=duration,
        status=400,
    )


def test_assume_role_duration_above_max_session_duration_is_validation_error(server, iam, sts):
    role = make_role(iam, trust(root_arn(server.account_id)), "too-long")
    assert role.get("MaxSessionDuration", 3600) == 3600
    expect_error(
        "ValidationError",
        sts.assume_role,
        RoleArn=role["Arn"],
        RoleSessionName="long",
        DurationSeconds=7200,
        status=400,
    )


def test_assume_role_denied_when_trust_policy_names_someone_else(server, iam):
    bob = make_user(iam, "bob")
    alice = make_user(
        iam, "alice", inline={"admin": policy(allow(["sts:*", "iam:*"]))}
    )
    role = make_role(iam, trust(bob.arn), "bob-only")
    err = expect_error(
        "AccessDenied",
        server.client("sts", alice.creds).assume_role,
        RoleArn=role["Arn"],
        RoleSessionName="alice",
        status=403,
    )
    assert "sts:AssumeRole" in err.response["Error"]["Message"]


def test_assume_role_allowed_when_trust_policy_names_the_user(server, iam):
    # Same account: a trust policy naming the user ARN grants access on its own.
    bob = make_user(iam, "trusted")
    role = make_role(iam, trust(bob.arn), "names-user")
    creds = assume(server.client("sts", bob.creds), role["Arn"], "bob")
    ident = server.client("sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/bob"


def test_assume_role_trusting_account_needs_identity_policy(server, iam):
    role = make_role(iam, trust(root_arn(server.account_id)), "needs-identity")
    carol = make_user(iam, "carol")
    expect_error(
        "AccessDenied",
        server.client("sts", carol.creds).assume_role,
        RoleArn=role["Arn"],
        RoleSessionName="carol",
    )
    iam.put_user_policy(
        UserName=carol.name,
        PolicyName="may-assume",
        PolicyDocument=policy(allow("sts:AssumeRole", role["Arn"])),
    )
    creds = assume(server.client("sts", carol.creds), role["Arn"], "carol")
    assert server.client("sts", creds).get_caller_identity()["Account"] == server.account_id


def test_assume_missing_role_is_access_denied(server, sts):
    expect_error(
        "AccessDenied",
        sts.assume_role,
        RoleArn=f"arn:aws:iam::{server.account_id}:role/{unique('nope')}",
        RoleSessionName="missing",
        status=403,
    )


# --------------------------------------------------------------------------- GetSessionToken


def test_get_session_token_iam_user_cli(server, iam):
    user = make_user(iam, "sess")
    out = aws(
        "sts", "get-session-token", "--duration-seconds", "900", env=server.env_for(user.creds)
    )
    creds = out["Credentials"]
    assert TEMP_KEY_RE.match(creds["AccessKeyId"]), creds["AccessKeyId"]
    assert creds["SessionToken"]
    assert_expires_in(creds["Expiration"], 900)
    ident = aws("sts", "get-caller-identity", env=server.env_for(Creds.from_sts(creds)))
    assert ident["Arn"] == user.arn
    assert ident["UserId"] == user.user_id
    assert ident["Account"] == server.account_id


def test_get_session_token_root_defaults_to_one_hour(server, sts):
    resp = sts.get_session_token()
    assert_expires_in(resp["Credentials"]["Expiration"], 3600)
    ident = server.client("sts", Creds.from_sts(resp["Credentials"])).get_caller_identity()
    assert ident["Arn"] == root_arn(server.account_id)


# --------------------------------------------------------------------------- expiry


@pytest.mark.timeout(60)
def test_expired_token(server_factory):
    """With the hidden test flag --min-session-seconds 1 the minimum DurationSeconds
    drops, so a 2-second session can be observed expiring."""
    srv = server_factory.start(extra_args=["--min-session-seconds", "1"])
    iam = srv.client("iam")
    role = make_role(iam, trust(root_arn(srv.account_id)), "short-lived")
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="all", PolicyDocument=policy(allow("*"))
    )
    resp = srv.client("sts", validate=False).assume_role(
        RoleArn=role["Arn"], RoleSessionName="brief", DurationSeconds=2
    )
    creds = Creds.from_sts(resp["Credentials"])
    assert_expires_in(resp["Credentials"]["Expiration"], 2, slack=5)
    srv.client("sts", creds).get_caller_identity()  # still valid

    wait = (as_utc(resp["Credentials"]["Expiration"]) - utcnow()).total_seconds() + 1.5
    time.sleep(max(wait, 0))
    expect_error("ExpiredToken", srv.client("sts", creds).get_caller_identity)
    expect_error("ExpiredToken", srv.client("iam", creds).list_users)
    aws_error("sts", "get-caller-identity", env=srv.env_for(creds), code="ExpiredToken")

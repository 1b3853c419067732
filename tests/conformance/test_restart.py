"""Server lifecycle: bootstrap files, graceful SIGTERM, state and keys across restarts."""

import configparser
import re
import stat

import pytest
import requests

from sightline_support import (
    ACCOUNT_ID_RE,
    Creds,
    allow,
    assume,
    aws,
    create_member_account,
    org_role_arn,
    policy,
    trust,
    unique,
)

pytestmark = pytest.mark.timeout(120)


def test_bootstrap_files(server):
    for path in (server.credentials_path, server.config_path):
        assert path.is_file(), path
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path} has mode {oct(mode)}"

    creds = configparser.RawConfigParser()
    creds.read(server.credentials_path)
    assert creds.sections() == ["default"]
    key_id = creds["default"]["aws_access_key_id"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key_id), key_id
    assert len(creds["default"]["aws_secret_access_key"]) == 40

    config = configparser.RawConfigParser()
    config.read(server.config_path)
    assert config.sections() == ["default"]
    assert config["default"]["region"] == "us-east-1"

    ident = aws("sts", "get-caller-identity", env=server.env)
    assert ACCOUNT_ID_RE.match(ident["Account"])
    assert ident["Arn"] == f"arn:aws:iam::{ident['Account']}:root"


def test_fresh_data_dirs_get_distinct_accounts(server_factory):
    first = server_factory.start()
    second = server_factory.start()
    assert first.account_id != second.account_id
    assert first.root.access_key_id != second.root.access_key_id


def test_sigterm_exits_zero(server_factory):
    srv = server_factory.start()
    assert requests.get(srv.endpoint + "/health", timeout=5).status_code == 200
    assert srv.stop() == 0, srv.stderr()


@pytest.mark.timeout(180)
def test_state_and_keys_survive_restart(server_factory, tmp_path):
    data_dir = tmp_path / "persistent"
    srv = server_factory.start(data_dir=data_dir)
    credentials_before = srv.credentials_path.read_bytes()
    config_before = srv.config_path.read_bytes()
    account_id = srv.account_id

    iam = srv.client("iam")
    user = unique("survivor")
    aws("iam", "create-user", "--user-name", user, env=srv.env)
    iam.tag_user(UserName=user, Tags=[{"Key": "k", "Value": "v"}])
    user_key = Creds.from_access_key(iam.create_access_key(UserName=user)["AccessKey"])
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=policy(allow("iam:ListUsers")))
    role = iam.create_role(
        RoleName=unique("survivor-role"), AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account_id}:root")
    )["Role"]
    managed = iam.create_policy(PolicyName=unique("survivor-pol"), PolicyDocument=policy(allow("iam:Get*")))[
        "Policy"
    ]["Arn"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=managed)
    org = srv.client("organizations")
    org_id = org.describe_organization()["Organization"]["Id"]
    member = create_member_account(org, "survivor")

    assert srv.stop() == 0, srv.stderr()

    restarted = server_factory.start(data_dir=data_dir)
    assert restarted.credentials_path.read_bytes() == credentials_before
    assert restarted.config_path.read_bytes() == config_before

    # The same root key still works and belongs to the same account.
    ident = aws("sts", "get-caller-identity", env=restarted.env)
    assert ident["Account"] == account_id

    iam = restarted.client("iam")
    assert iam.get_user(UserName=user)["User"]["Arn"] == f"arn:aws:iam::{account_id}:user/{user}"
    assert {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user)["Tags"]} == {"k": "v"}
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["list"]
    # The user's key and its permissions survive too.
    listed = restarted.client("iam", user_key).list_users()["Users"]
    assert user in [u["UserName"] for u in listed]

    got_role = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert got_role["RoleId"] == role["RoleId"]
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [managed]
    creds = assume(restarted.client("sts"), role["Arn"], "after-restart")
    assert restarted.client("sts", creds).get_caller_identity()["Account"] == account_id

    org = restarted.client("organizations")
    assert org.describe_organization()["Organization"]["Id"] == org_id
    assert org.describe_account(AccountId=member)["Account"]["Status"] == "ACTIVE"
    in_member = assume(restarted.client("sts"), org_role_arn(member), "after-restart")
    assert restarted.client("sts", in_member).get_caller_identity()["Account"] == member


def test_temporary_credentials_survive_restart(server_factory, tmp_path):
    data_dir = tmp_path / "sessions"
    srv = server_factory.start(data_dir=data_dir)
    role = srv.client("iam").create_role(
        RoleName=unique("session-role"),
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{srv.account_id}:root"),
    )["Role"]
    creds = assume(srv.client("sts"), role["Arn"], "kept")
    assert srv.stop() == 0, srv.stderr()

    restarted = server_factory.start(data_dir=data_dir)
    ident = restarted.client("sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{srv.account_id}:assumed-role/{role['RoleName']}/kept"

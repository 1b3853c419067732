"""Organizations: the organization, asynchronous CreateAccount, member accounts and their
OrganizationAccountAccessRole."""

import json
import re
import time

import pytest

from sightline_support import (
    ACCOUNT_ID_RE,
    Creds,
    allow,
    assume,
    aws,
    aws_error,
    expect_error,
    org_role_arn,
    policy,
    trust,
    unique,
    wait_create_account,
)

pytestmark = pytest.mark.timeout(150)

ORG_ID_RE = r"o-[a-z0-9]{10,32}"


def all_accounts(org):
    accounts = []
    for page in org.get_paginator("list_accounts").paginate():
        accounts.extend(page["Accounts"])
    return accounts


def test_describe_organization(server, org):
    orgn = org.describe_organization()["Organization"]
    mgmt = server.account_id
    assert re.fullmatch(ORG_ID_RE, orgn["Id"]), orgn["Id"]
    assert orgn["Arn"] == f"arn:aws:organizations::{mgmt}:organization/{orgn['Id']}"
    assert orgn["MasterAccountId"] == mgmt
    assert orgn["MasterAccountArn"] == f"arn:aws:organizations::{mgmt}:account/{orgn['Id']}/{mgmt}"
    assert orgn["FeatureSet"] == "ALL"
    assert orgn.get("MasterAccountEmail")


def test_describe_organization_cli(server):
    orgn = aws("organizations", "describe-organization", env=server.env)["Organization"]
    assert orgn["MasterAccountId"] == aws("sts", "get-caller-identity", env=server.env)["Account"]


def test_management_account_is_listed_and_describable(server, org):
    mgmt = server.account_id
    listed = {a["Id"]: a for a in all_accounts(org)}
    assert mgmt in listed, listed
    assert listed[mgmt]["Status"] == "ACTIVE"
    described = org.describe_account(AccountId=mgmt)["Account"]
    assert described["Id"] == mgmt
    assert described["Status"] == "ACTIVE"
    org_id = org.describe_organization()["Organization"]["Id"]
    assert described["Arn"] == f"arn:aws:organizations::{mgmt}:account/{org_id}/{mgmt}"


@pytest.mark.timeout(180)
def test_create_account_and_act_in_it_cli(server, org):
    """The user-facing flow: create an account, wait for it, assume its admin role and
    work inside it with the returned credentials."""
    mgmt = server.account_id
    name = unique("ops")
    email = f"{name}@example.com"

    started = aws("organizations", "create-account", "--email", email, "--account-name", name,
                  env=server.env)["CreateAccountStatus"]
    assert started["State"] == "IN_PROGRESS"
    assert started["AccountName"] == name
    request_id = started["Id"]
    assert re.fullmatch(r"car-[a-z0-9]{8,32}", request_id), request_id

    status = wait_create_account(org, request_id)
    account_id = status["AccountId"]
    assert ACCOUNT_ID_RE.match(account_id), account_id
    assert account_id != mgmt
    cli_status = aws("organizations", "describe-create-account-status",
                     "--create-account-request-id", request_id, env=server.env)["CreateAccountStatus"]
    assert cli_status["State"] == "SUCCEEDED"
    assert cli_status["AccountId"] == account_id
    assert cli_status["Id"] == request_id

    account = aws("organizations", "describe-account", "--account-id", account_id,
                  env=server.env)["Account"]
    assert account["Id"] == account_id
    assert account["Email"] == email
    assert account["Name"] == name
    assert account["Status"] == "ACTIVE"
    assert account["JoinedMethod"] == "CREATED"
    org_id = org.describe_organization()["Organization"]["Id"]
    assert account["Arn"] == f"arn:aws:organizations::{mgmt}:account/{org_id}/{account_id}"

    listed = aws("organizations", "list-accounts", env=server.env)["Accounts"]
    assert account_id in [a["Id"] for a in listed]

    role_arn = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    assumed = aws("sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "me",
                  env=server.env)
    assert assumed["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/me"
    )
    member_env = server.env_for(Creds.from_sts(assumed["Credentials"]))

    ident = aws("sts", "get-caller-identity", env=member_env)
    assert ident["Account"] == account_id
    assert ident["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/me"

    # The bootstrap role trusts the management account.
    role = aws("iam", "get-role", "--role-name", "OrganizationAccountAccessRole", env=member_env)["Role"]
    assert role["Arn"] == role_arn
    principals = [
        s.get("Principal", {}).get("AWS") for s in role["AssumeRolePolicyDocument"]["Statement"]
    ]
    flat = [p for entry in principals for p in (entry if isinstance(entry, list) else [entry])]
    assert f"arn:aws:iam::{mgmt}:root" in flat

    # Acting in the member account: its IAM namespace is its own.
    user_name = unique("member-user")
    user = aws("iam", "create-user", "--user-name", user_name, env=member_env)["User"]
    assert user["Arn"] == f"arn:aws:iam::{account_id}:user/{user_name}"
    member_users = [u["UserName"] for u in aws("iam", "list-users", env=member_env)["Users"]]
    assert user_name in member_users
    mgmt_users = [u["UserName"] for u in aws("iam", "list-users", env=server.env)["Users"]]
    assert user_name not in mgmt_users
    aws_error("iam", "get-user", "--user-name", user_name, env=server.env, code="NoSuchEntity")

    key = aws("iam", "create-access-key", "--user-name", user_name, env=member_env)["AccessKey"]
    member_user_ident = aws("sts", "get-caller-identity",
                            env=server.env_for(Creds.from_access_key(key)))
    assert member_user_ident["Account"] == account_id
    assert member_user_ident["Arn"] == user["Arn"]


def test_member_account_role_has_admin_rights(server, org):
    account_id = _new_account(org)
    creds = assume(server.client("sts"), org_role_arn(account_id), "admin")
    iam = server.client("iam", creds)

    role_name = unique("member-role")
    role = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account_id}:root")
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account_id}:role/{role_name}"
    iam.put_role_policy(RoleName=role_name, PolicyName="p", PolicyDocument=policy(allow("iam:Get*")))
    pol = iam.create_policy(PolicyName=unique("member-pol"), PolicyDocument=policy(allow("iam:List*")))
    assert pol["Policy"]["Arn"].startswith(f"arn:aws:iam::{account_id}:policy/")
    iam.attach_role_policy(RoleName=role_name, PolicyArn=pol["Policy"]["Arn"])
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "OrganizationAccountAccessRole" in names and role_name in names

    # Management account does not see the member's role.
    expect_error("NoSuchEntity", server.client("iam").get_role, RoleName=role_name)

    # Member accounts may read the organization they belong to.
    member_org = server.client("organizations", creds).describe_organization()["Organization"]
    assert member_org["Id"] == org.describe_organization()["Organization"]["Id"]
    assert member_org["MasterAccountId"] == server.account_id


def test_new_account_listed_with_describe_account(server, org):
    account_id = _new_account(org)
    account = org.describe_account(AccountId=account_id)["Account"]
    assert account["Id"] == account_id
    assert account["Status"] == "ACTIVE"
    assert account_id in [a["Id"] for a in all_accounts(org)]


def test_describe_unknown_account(org):
    expect_error("AccountNotFoundException", org.describe_account, AccountId="000000000000")


def test_describe_unknown_create_account_status(org):
    expect_error(
        "CreateAccountStatusNotFoundException",
        org.describe_create_account_status,
        CreateAccountRequestId="car-" + "0" * 32,
    )


def test_create_account_status_in_progress_then_succeeded(org):
    name = unique("async")
    started = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    assert started["State"] == "IN_PROGRESS"
    t0 = time.monotonic()
    done = wait_create_account(org, started["Id"])
    assert done["State"] == "SUCCEEDED"
    assert done["AccountName"] == name
    assert time.monotonic() - t0 < 90


def _new_account(org) -> str:
    name = unique("acct")
    started = org.create_account(Email=f"{name}@example.com", AccountName=name)
    return wait_create_account(org, started["CreateAccountStatus"]["Id"])["AccountId"]

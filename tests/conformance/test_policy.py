"""Authorization: implicit deny, explicit deny over allow, conditions, resources,
cross-account trust."""

import pytest

from sightline_support import (
    allow,
    assume,
    aws,
    aws_error,
    deny,
    expect_error,
    make_role,
    make_user,
    org_role_arn,
    policy,
    retry_until,
    trust,
    unique,
)

pytestmark = pytest.mark.timeout(120)


def root_arn(account_id):
    return f"arn:aws:iam::{account_id}:root"


def test_user_without_policy_is_denied_cli(server, iam):
    user = make_user(iam, "nopolicy")
    result = aws_error("iam", "list-users", env=server.env_for(user.creds), code="AccessDenied")
    assert user.arn in result.stderr
    assert "iam:ListUsers" in result.stderr


def test_user_without_policy_is_denied_boto3(server, iam):
    user = make_user(iam, "nopolicy")
    client = server.client("iam", user.creds)
    err = expect_error("AccessDenied", client.list_users, status=403)
    assert "iam:ListUsers" in err.response["Error"]["Message"]
    expect_error("AccessDenied", client.create_user, UserName=unique("x"), status=403)
    expect_error("AccessDenied", client.list_roles, status=403)
    # GetCallerIdentity needs no permission.
    assert server.client("sts", user.creds).get_caller_identity()["Arn"] == user.arn


def test_inline_allow_grants_only_what_it_names(server, iam):
    user = make_user(iam, "lister", inline={"list": policy(allow("iam:ListUsers"))})
    client = server.client("iam", user.creds)
    names = [u["UserName"] for u in client.list_users()["Users"]]
    assert user.name in names
    expect_error("AccessDenied", client.list_roles)
    expect_error("AccessDenied", client.create_user, UserName=unique("x"))


def test_attached_managed_policy_grants_and_detach_revokes(server, iam):
    user = make_user(iam, "managed")
    arn = iam.create_policy(PolicyName=unique("list-users"), PolicyDocument=policy(allow("iam:List*")))[
        "Policy"
    ]["Arn"]
    client = server.client("iam", user.creds)
    expect_error("AccessDenied", client.list_users)
    iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    retry_until(lambda: client.list_users())
    client.list_roles()  # wildcard action iam:List*
    expect_error("AccessDenied", client.get_user, UserName=user.name)
    iam.detach_user_policy(UserName=user.name, PolicyArn=arn)
    retry_until(lambda: expect_error("AccessDenied", client.list_users))


def test_explicit_deny_beats_allow(server, iam):
    user = make_user(iam, "denied", inline={"admin": policy(allow("*"))})
    client = server.client("iam", user.creds)
    client.list_users()
    client.list_roles()

    deny_arn = iam.create_policy(
        PolicyName=unique("deny-list-users"), PolicyDocument=policy(deny("iam:ListUsers"))
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user.name, PolicyArn=deny_arn)
    retry_until(lambda: expect_error("AccessDenied", client.list_users, status=403))
    client.list_roles()  # the allow still applies to everything else


def test_explicit_deny_in_same_policy_beats_allow(server, iam):
    user = make_user(
        iam,
        "samedoc",
        inline={"mixed": policy(allow("iam:*"), deny("iam:CreateUser"))},
    )
    client = server.client("iam", user.creds)
    client.list_users()
    expect_error("AccessDenied", client.create_user, UserName=unique("blocked"), status=403)
    expect_error("NoSuchEntity", client.get_user, UserName=unique("ghost"))


def test_explicit_deny_applies_to_assumed_role_sessions(server, iam, sts):
    role = make_role(iam, trust(root_arn(server.account_id)), "deny-role")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="admin", PolicyDocument=policy(allow("*")))
    deny_arn = iam.create_policy(
        PolicyName=unique("deny-roles"), PolicyDocument=policy(deny("iam:ListRoles"))
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=deny_arn)
    creds = assume(sts, role["Arn"], "denied")
    client = server.client("iam", creds)
    client.list_users()
    err = expect_error("AccessDenied", client.list_roles, status=403)
    assert f"assumed-role/{role['RoleName']}/denied" in err.response["Error"]["Message"]


def test_resource_scoped_allow(server, iam):
    user = make_user(iam, "scoped")
    other = make_user(iam, "other")
    iam.put_user_policy(
        UserName=user.name, PolicyName="self-only", PolicyDocument=policy(allow("iam:GetUser", user.arn))
    )
    client = server.client("iam", user.creds)
    assert client.get_user(UserName=user.name)["User"]["Arn"] == user.arn
    expect_error("AccessDenied", client.get_user, UserName=other.name, status=403)


@pytest.mark.parametrize(
    "cidr, allowed",
    [("10.0.0.0/8", False), ("127.0.0.0/8", True)],
    ids=["elsewhere", "loopback"],
)
def test_source_ip_condition(server, iam, cidr, allowed):
    doc = policy(allow("iam:ListUsers", Condition={"IpAddress": {"aws:SourceIp": cidr}}))
    user = make_user(iam, "sourceip", inline={"ip": doc})
    client = server.client("iam", user.creds)
    if allowed:
        client.list_users()
    else:
        expect_error("AccessDenied", client.list_users, status=403)


def test_requested_region_condition(server, iam):
    target = make_role(iam, trust(root_arn(server.account_id)), "regional")
    doc = policy(
        allow(
            "sts:AssumeRole",
            target["Arn"],
            Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        )
    )
    user = make_user(iam, "regional", inline={"region": doc})

    creds = assume(server.client("sts", user.creds, region="us-east-1"), target["Arn"], "east")
    assert server.client("sts", creds).get_caller_identity()["Account"] == server.account_id

    west = server.client("sts", user.creds, region="eu-west-1")
    assert west.get_caller_identity()["Arn"] == user.arn  # the region itself is served
    expect_error("AccessDenied", west.assume_role, RoleArn=target["Arn"], RoleSessionName="west",
                 status=403)


def test_requested_region_condition_iam(server, iam):
    """aws:RequestedRegion as the request's signing region: a client configured for
    eu-west-1 signs IAM requests for eu-west-1 when given a custom endpoint."""
    doc = policy(
        allow("iam:ListUsers", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
    )
    user = make_user(iam, "regional-iam", inline={"region": doc})
    server.client("iam", user.creds, region="us-east-1").list_users()
    expect_error("AccessDenied", server.client("iam", user.creds, region="eu-west-1").list_users,
                 status=403)


def test_requested_region_condition_cli(server, iam):
    target = make_role(iam, trust(root_arn(server.account_id)), "regional-cli")
    doc = policy(
        allow(
            "sts:AssumeRole",
            target["Arn"],
            Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        )
    )
    user = make_user(iam, "regional-cli", inline={"region": doc})
    args = ("sts", "assume-role", "--role-arn", target["Arn"], "--role-session-name", "cli")
    aws(*args, env=server.env_for(user.creds, region="us-east-1"))
    aws_error(*args, env=server.env_for(user.creds, region="eu-west-1"), code="AccessDenied")


def test_cross_account_assume_not_trusted_is_denied(server, member_accounts):
    account_a, account_b = member_accounts
    sts = server.client("sts")
    in_a = assume(sts, org_role_arn(account_a), "in-a")
    sts_a = server.client("sts", in_a)
    assert sts_a.get_caller_identity()["Account"] == account_a
    # B's bootstrap role trusts only the management account, not account A.
    err = expect_error(
        "AccessDenied",
        sts_a.assume_role,
        RoleArn=org_role_arn(account_b),
        RoleSessionName="hop",
        status=403,
    )
    assert "sts:AssumeRole" in err.response["Error"]["Message"]


def test_cross_account_assume_trusted_is_allowed(server, member_accounts):
    account_a, account_b = member_accounts
    sts = server.client("sts")
    in_a = assume(sts, org_role_arn(account_a), "in-a")
    in_b = assume(sts, org_role_arn(account_b), "in-b")

    # B creates a role that trusts account A; A's admin session may then hop into it.
    role = make_role(server.client("iam", in_b), trust(root_arn(account_a)), "trusts-a")
    assert role["Arn"].startswith(f"arn:aws:iam::{account_b}:role/")
    hop = assume(server.client("sts", in_a), role["Arn"], "hop")
    ident = server.client("sts", hop).get_caller_identity()
    assert ident["Account"] == account_b
    assert ident["Arn"] == f"arn:aws:sts::{account_b}:assumed-role/{role['RoleName']}/hop"

    # A user of account A without any identity policy may not use that trust.
    iam_a = server.client("iam", in_a)
    plain = make_user(iam_a, "plain-a")
    expect_error("AccessDenied", server.client("sts", plain.creds).assume_role,
                 RoleArn=role["Arn"], RoleSessionName="plain")


def test_management_user_without_policy_cannot_assume_member_admin_role(
    server, member_accounts, iam
):
    # The bootstrap role trusts the management account root, which delegates to the
    # management account's IAM policies: a user with none gets nothing.
    account_a, _ = member_accounts
    user = make_user(iam, "mgmt-plain")
    expect_error("AccessDenied", server.client("sts", user.creds).assume_role,
                 RoleArn=org_role_arn(account_a), RoleSessionName="escalate", status=403)
    iam.put_user_policy(UserName=user.name, PolicyName="hop",
                        PolicyDocument=policy(allow("sts:AssumeRole", org_role_arn(account_a))))
    creds = assume(server.client("sts", user.creds), org_role_arn(account_a), "allowed")
    assert server.client("sts", creds).get_caller_identity()["Account"] == account_a


def test_member_account_cannot_read_management_iam(server, member_accounts, iam):
    account_a, _ = member_accounts
    mgmt_user = make_user(iam, "mgmt-only")
    in_a = assume(server.client("sts"), org_role_arn(account_a), "look")
    # Names resolve inside the caller's own account only.
    expect_error("NoSuchEntity", server.client("iam", in_a).get_user, UserName=mgmt_user.name)

"""IAM: users, access keys, roles, inline and managed policies, attachments, tags."""

import json
import re

import pytest

from sightline_support import (
    Creds,
    allow,
    aws,
    aws_error,
    deny,
    expect_error,
    make_role,
    make_user,
    policy,
    trust,
    uid,
    unique,
)

pytestmark = pytest.mark.timeout(90)

MALFORMED_DOCUMENTS = {
    "not-json": "this is not a policy",
    "bad-effect": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "iam:*", "Resource": "*"}]}
    ),
    "no-statement": json.dumps({"Version": "2012-10-17"}),
}


def all_pages(client, operation, key, **kwargs):
    items = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page[key])
    return items


def user_arn(server, name, path="/"):
    return f"arn:aws:iam::{server.account_id}:user{path}{name}"


# --------------------------------------------------------------------------- users


def test_user_lifecycle_cli(server):
    name = unique("alice")
    created = aws("iam", "create-user", "--user-name", name, env=server.env)["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/"
    assert created["Arn"] == user_arn(server, name)
    assert re.match(r"^AIDA[A-Z0-9]{17}$", created["UserId"]), created["UserId"]
    assert created["CreateDate"]

    got = aws("iam", "get-user", "--user-name", name, env=server.env)["User"]
    assert got["UserId"] == created["UserId"]
    assert got["Arn"] == created["Arn"]

    listed = aws("iam", "list-users", env=server.env)["Users"]
    assert [u["UserId"] for u in listed if u["UserName"] == name] == [created["UserId"]]

    assert aws("iam", "delete-user", "--user-name", name, env=server.env) == {}
    aws_error("iam", "get-user", "--user-name", name, env=server.env, code="NoSuchEntity")
    listed = aws("iam", "list-users", env=server.env)["Users"]
    assert name not in [u["UserName"] for u in listed]


def test_create_duplicate_user_is_entity_already_exists(iam):
    name = unique("dup")
    iam.create_user(UserName=name)
    expect_error("EntityAlreadyExists", iam.create_user, UserName=name, status=409)


def test_missing_user_is_no_such_entity(iam):
    name = unique("ghost")
    err = expect_error("NoSuchEntity", iam.get_user, UserName=name, status=404)
    assert name in err.response["Error"]["Message"]
    expect_error("NoSuchEntity", iam.delete_user, UserName=name, status=404)


def test_user_path_and_list_pagination(server, iam):
    path = f"/team-{uid()}/"
    names = sorted(unique("paged") for _ in range(3))
    for name in names:
        user = iam.create_user(UserName=name, Path=path)["User"]
        assert user["Path"] == path
        assert user["Arn"] == user_arn(server, name, path)

    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert len(first["Users"]) == 2
    assert first["IsTruncated"] is True
    assert first.get("Marker")
    second = iam.list_users(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert len(second["Users"]) == 1
    assert not second.get("IsTruncated")
    assert sorted(u["UserName"] for u in first["Users"] + second["Users"]) == names

    outside = iam.list_users(PathPrefix=f"/other-{uid()}/")["Users"]
    assert outside == []


def test_get_user_without_name_returns_caller(server, iam):
    user = make_user(iam, "self")
    iam.put_user_policy(
        UserName=user.name, PolicyName="self", PolicyDocument=policy(allow("iam:GetUser", user.arn))
    )
    got = server.client("iam", user.creds).get_user()["User"]
    assert got["UserName"] == user.name
    assert got["Arn"] == user.arn


# --------------------------------------------------------------------------- access keys


def test_access_key_lifecycle_cli(server, iam):
    name = unique("keys")
    iam.create_user(UserName=name)
    first = aws("iam", "create-access-key", "--user-name", name, env=server.env)["AccessKey"]
    assert first["UserName"] == name
    assert first["Status"] == "Active"
    assert re.match(r"^AKIA[A-Z0-9]{16}$", first["AccessKeyId"]), first["AccessKeyId"]
    assert len(first["SecretAccessKey"]) == 40
    second = aws("iam", "create-access-key", "--user-name", name, env=server.env)["AccessKey"]
    assert second["AccessKeyId"] != first["AccessKeyId"]

    aws_error("iam", "create-access-key", "--user-name", name, env=server.env, code="LimitExceeded")

    listed = aws("iam", "list-access-keys", "--user-name", name, env=server.env)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted(
        [first["AccessKeyId"], second["AccessKeyId"]]
    )
    for meta in listed:
        assert meta["UserName"] == name
        assert meta["Status"] == "Active"
        assert "SecretAccessKey" not in meta

    # The new key works straight away.
    creds = Creds.from_access_key(first)
    ident = aws("sts", "get-caller-identity", env=server.env_for(creds))
    assert ident["Arn"] == user_arn(server, name)

    # Deactivated keys are refused, reactivated keys work again.
    aws("iam", "update-access-key", "--user-name", name, "--access-key-id", first["AccessKeyId"],
        "--status", "Inactive", env=server.env)
    statuses = {
        k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    }
    assert statuses == {first["AccessKeyId"]: "Inactive", second["AccessKeyId"]: "Active"}
    aws_error("sts", "get-caller-identity", env=server.env_for(creds), code="InvalidClientTokenId")
    iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Active")
    server.client("sts", creds).get_caller_identity()

    # Deleted keys are refused and disappear from the list.
    aws("iam", "delete-access-key", "--user-name", name, "--access-key-id", first["AccessKeyId"],
        env=server.env)
    expect_error("InvalidClientTokenId", server.client("sts", creds).get_caller_identity, status=403)
    remaining = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in remaining] == [second["AccessKeyId"]]

    # Room for one key again.
    iam.create_access_key(UserName=name)


def test_access_key_errors(iam):
    expect_error("NoSuchEntity", iam.create_access_key, UserName=unique("ghost"), status=404)
    expect_error("NoSuchEntity", iam.list_access_keys, UserName=unique("ghost"), status=404)
    name = unique("nokey")
    iam.create_user(UserName=name)
    expect_error(
        "NoSuchEntity",
        iam.delete_access_key,
        UserName=name,
        AccessKeyId="AKIA" + uid().upper().ljust(16, "X")[:16],
        status=404,
    )
    expect_error(
        "NoSuchEntity",
        iam.update_access_key,
        UserName=name,
        AccessKeyId="AKIA" + uid().upper().ljust(16, "X")[:16],
        Status="Inactive",
        status=404,
    )


def test_delete_user_with_access_key_is_delete_conflict(iam):
    name = unique("conflict-key")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    expect_error("DeleteConflict", iam.delete_user, UserName=name, status=409)
    iam.get_user(UserName=name)  # still there
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)
    expect_error("NoSuchEntity", iam.get_user, UserName=name)


def test_delete_user_with_inline_policy_is_delete_conflict(iam):
    name = unique("conflict-inline")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(allow("iam:GetUser")))
    expect_error("DeleteConflict", iam.delete_user, UserName=name, status=409)
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_user(UserName=name)


def test_delete_user_with_attached_policy_is_delete_conflict(iam):
    name = unique("conflict-attached")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=unique("pol"), PolicyDocument=policy(allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    expect_error("DeleteConflict", iam.delete_user, UserName=name, status=409)
    iam.detach_user_policy(UserName=name, PolicyArn=arn)
    iam.delete_user(UserName=name)


# --------------------------------------------------------------------------- roles


def test_role_lifecycle(server, iam):
    name = unique("role")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(document), Description="conformance"
    )["Role"]
    assert role["RoleName"] == name
    assert role["Path"] == "/"
    assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role/{name}"
    assert re.match(r"^AROA[A-Z0-9]{17}$", role["RoleId"]), role["RoleId"]
    assert role["AssumeRolePolicyDocument"] == document

    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == role["RoleId"]
    assert got["AssumeRolePolicyDocument"] == document
    assert got.get("Description") == "conformance"

    assert name in [r["RoleName"] for r in all_pages(iam, "list_roles", "Roles")]

    iam.delete_role(RoleName=name)
    expect_error("NoSuchEntity", iam.get_role, RoleName=name, status=404)
    expect_error("NoSuchEntity", iam.delete_role, RoleName=name, status=404)
    assert name not in [r["RoleName"] for r in all_pages(iam, "list_roles", "Roles")]


def test_role_cli(server):
    name = unique("role-cli")
    doc = trust(f"arn:aws:iam::{server.account_id}:root")
    role = aws("iam", "create-role", "--role-name", name, "--assume-role-policy-document", doc,
               env=server.env)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role/{name}"
    got = aws("iam", "get-role", "--role-name", name, env=server.env)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(doc)
    names = [r["RoleName"] for r in aws("iam", "list-roles", env=server.env)["Roles"]]
    assert name in names
    aws("iam", "delete-role", "--role-name", name, env=server.env)
    aws_error("iam", "get-role", "--role-name", name, env=server.env, code="NoSuchEntity")


def test_create_duplicate_role_is_entity_already_exists(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "duprole")
    expect_error(
        "EntityAlreadyExists",
        iam.create_role,
        RoleName=role["RoleName"],
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{server.account_id}:root"),
        status=409,
    )


@pytest.mark.parametrize("kind", sorted(MALFORMED_DOCUMENTS))
def test_create_role_with_malformed_trust_policy(iam, kind):
    name = unique("badtrust")
    expect_error(
        "MalformedPolicyDocument",
        iam.create_role,
        RoleName=name,
        AssumeRolePolicyDocument=MALFORMED_DOCUMENTS[kind],
        status=400,
    )
    expect_error("NoSuchEntity", iam.get_role, RoleName=name)


def test_delete_role_with_policies_is_delete_conflict(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "conflict-role")
    name = role["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=policy(allow("iam:*")))
    expect_error("DeleteConflict", iam.delete_role, RoleName=name, status=409)
    iam.delete_role_policy(RoleName=name, PolicyName="inline")

    arn = iam.create_policy(PolicyName=unique("rp"), PolicyDocument=policy(allow("iam:*")))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    expect_error("DeleteConflict", iam.delete_role, RoleName=name, status=409)
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    iam.delete_role(RoleName=name)


# --------------------------------------------------------------------------- inline policies


def test_user_inline_policy_lifecycle(iam):
    name = unique("inline-user")
    iam.create_user(UserName=name)
    doc1 = json.loads(policy(allow("iam:GetUser")))
    doc2 = json.loads(policy(allow(["iam:GetUser", "iam:ListUsers"]), deny("iam:DeleteUser")))

    iam.put_user_policy(UserName=name, PolicyName="p1", PolicyDocument=json.dumps(doc1))
    got = iam.get_user_policy(UserName=name, PolicyName="p1")
    assert got["UserName"] == name
    assert got["PolicyName"] == "p1"
    assert got["PolicyDocument"] == doc1
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["p1"]

    # Putting the same name replaces the document.
    iam.put_user_policy(UserName=name, PolicyName="p1", PolicyDocument=json.dumps(doc2))
    assert iam.get_user_policy(UserName=name, PolicyName="p1")["PolicyDocument"] == doc2
    iam.put_user_policy(UserName=name, PolicyName="p2", PolicyDocument=json.dumps(doc1))
    assert sorted(iam.list_user_policies(UserName=name)["PolicyNames"]) == ["p1", "p2"]

    iam.delete_user_policy(UserName=name, PolicyName="p1")
    expect_error("NoSuchEntity", iam.get_user_policy, UserName=name, PolicyName="p1", status=404)
    expect_error("NoSuchEntity", iam.delete_user_policy, UserName=name, PolicyName="p1", status=404)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["p2"]


def test_role_inline_policy_lifecycle_cli(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "inline-role")
    name = role["RoleName"]
    doc = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    aws("iam", "put-role-policy", "--role-name", name, "--policy-name", "read",
        "--policy-document", doc, env=server.env)
    got = aws("iam", "get-role-policy", "--role-name", name, "--policy-name", "read", env=server.env)
    assert got["RoleName"] == name
    assert got["PolicyName"] == "read"
    assert got["PolicyDocument"] == json.loads(doc)
    listed = aws("iam", "list-role-policies", "--role-name", name, env=server.env)
    assert listed["PolicyNames"] == ["read"]
    aws("iam", "delete-role-policy", "--role-name", name, "--policy-name", "read", env=server.env)
    aws_error("iam", "get-role-policy", "--role-name", name, "--policy-name", "read",
              env=server.env, code="NoSuchEntity")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_user_policy_cli(server, iam):
    name = unique("inline-cli")
    iam.create_user(UserName=name)
    doc = policy(allow("iam:ListUsers"))
    aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "list",
        "--policy-document", doc, env=server.env)
    got = aws("iam", "get-user-policy", "--user-name", name, "--policy-name", "list", env=server.env)
    assert got["PolicyDocument"] == json.loads(doc)
    assert aws("iam", "list-user-policies", "--user-name", name, env=server.env)["PolicyNames"] == ["list"]
    aws("iam", "delete-user-policy", "--user-name", name, "--policy-name", "list", env=server.env)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []


@pytest.mark.parametrize("kind", sorted(MALFORMED_DOCUMENTS))
def test_put_malformed_inline_policies(server, iam, kind):
    user = unique("malformed")
    iam.create_user(UserName=user)
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "malformed")["RoleName"]
    expect_error(
        "MalformedPolicyDocument",
        iam.put_user_policy,
        UserName=user,
        PolicyName="bad",
        PolicyDocument=MALFORMED_DOCUMENTS[kind],
        status=400,
    )
    expect_error(
        "MalformedPolicyDocument",
        iam.put_role_policy,
        RoleName=role,
        PolicyName="bad",
        PolicyDocument=MALFORMED_DOCUMENTS[kind],
        status=400,
    )
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []


def test_inline_policy_on_missing_principal_is_no_such_entity(iam):
    doc = policy(allow("iam:GetUser"))
    expect_error("NoSuchEntity", iam.put_user_policy, UserName=unique("ghost"), PolicyName="p",
                 PolicyDocument=doc, status=404)
    expect_error("NoSuchEntity", iam.put_role_policy, RoleName=unique("ghost"), PolicyName="p",
                 PolicyDocument=doc, status=404)
    expect_error("NoSuchEntity", iam.list_role_policies, RoleName=unique("ghost"), status=404)


# --------------------------------------------------------------------------- managed policies


def test_managed_policy_lifecycle(server, iam):
    name = unique("managed")
    doc = policy(allow("iam:ListUsers"))
    created = iam.create_policy(PolicyName=name, PolicyDocument=doc, Description="conformance")["Policy"]
    arn = f"arn:aws:iam::{server.account_id}:policy/{name}"
    assert created["PolicyName"] == name
    assert created["Arn"] == arn
    assert re.match(r"^ANPA[A-Z0-9]{17}$", created["PolicyId"]), created["PolicyId"]
    assert created["DefaultVersionId"] == "v1"
    assert created["AttachmentCount"] == 0
    assert created["IsAttachable"] is True
    assert created["Path"] == "/"

    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["PolicyId"] == created["PolicyId"]
    assert got["DefaultVersionId"] == "v1"

    local = all_pages(iam, "list_policies", "Policies", Scope="Local")
    assert arn in [p["Arn"] for p in local]
    assert all(":aws:policy/" not in p["Arn"] for p in local)

    expect_error("EntityAlreadyExists", iam.create_policy, PolicyName=name, PolicyDocument=doc,
                 status=409)

    iam.delete_policy(PolicyArn=arn)
    expect_error("NoSuchEntity", iam.get_policy, PolicyArn=arn, status=404)
    expect_error("NoSuchEntity", iam.delete_policy, PolicyArn=arn, status=404)
    local = all_pages(iam, "list_policies", "Policies", Scope="Local")
    assert arn not in [p["Arn"] for p in local]


def test_managed_policy_cli(server):
    name = unique("managed-cli")
    doc = policy(allow("iam:GetRole"))
    created = aws("iam", "create-policy", "--policy-name", name, "--policy-document", doc,
                  env=server.env)["Policy"]
    got = aws("iam", "get-policy", "--policy-arn", created["Arn"], env=server.env)["Policy"]
    assert got["PolicyName"] == name
    listed = aws("iam", "list-policies", "--scope", "Local", env=server.env)["Policies"]
    assert created["Arn"] in [p["Arn"] for p in listed]
    aws("iam", "delete-policy", "--policy-arn", created["Arn"], env=server.env)
    aws_error("iam", "get-policy", "--policy-arn", created["Arn"], env=server.env, code="NoSuchEntity")


@pytest.mark.parametrize("kind", sorted(MALFORMED_DOCUMENTS))
def test_create_malformed_managed_policy(server, iam, kind):
    name = unique("badpol")
    expect_error("MalformedPolicyDocument", iam.create_policy, PolicyName=name,
                 PolicyDocument=MALFORMED_DOCUMENTS[kind], status=400)
    expect_error("NoSuchEntity", iam.get_policy,
                 PolicyArn=f"arn:aws:iam::{server.account_id}:policy/{name}")


def test_attach_detach_user_policy(server, iam):
    user = unique("attach-user")
    iam.create_user(UserName=user)
    name = unique("attachable")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("iam:ListUsers")))["Policy"]["Arn"]

    aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn, env=server.env)
    attached = aws("iam", "list-attached-user-policies", "--user-name", user, env=server.env)
    assert attached["AttachedPolicies"] == [{"PolicyName": name, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    expect_error("DeleteConflict", iam.delete_policy, PolicyArn=arn, status=409)

    aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", arn, env=server.env)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    expect_error("NoSuchEntity", iam.detach_user_policy, UserName=user, PolicyArn=arn, status=404)

    missing = f"arn:aws:iam::{server.account_id}:policy/{unique('nope')}"
    expect_error("NoSuchEntity", iam.attach_user_policy, UserName=user, PolicyArn=missing, status=404)
    expect_error("NoSuchEntity", iam.attach_user_policy, UserName=unique("ghost"), PolicyArn=arn,
                 status=404)
    iam.delete_policy(PolicyArn=arn)


def test_attach_detach_role_policy(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "attach-role")["RoleName"]
    name = unique("role-attachable")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("iam:GetRole")))["Policy"]["Arn"]

    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": name, "PolicyArn": arn}]
    cli = aws("iam", "list-attached-role-policies", "--role-name", role, env=server.env)
    assert cli["AttachedPolicies"] == attached
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    expect_error("DeleteConflict", iam.delete_policy, PolicyArn=arn, status=409)

    aws("iam", "detach-role-policy", "--role-name", role, "--policy-arn", arn, env=server.env)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    expect_error("NoSuchEntity", iam.detach_role_policy, RoleName=role, PolicyArn=arn, status=404)
    missing = f"arn:aws:iam::{server.account_id}:policy/{unique('nope')}"
    expect_error("NoSuchEntity", iam.attach_role_policy, RoleName=role, PolicyArn=missing, status=404)
    iam.delete_policy(PolicyArn=arn)


# --------------------------------------------------------------------------- tags


def tag_map(tags):
    return {t["Key"]: t["Value"] for t in tags}


def test_user_tags(iam):
    name = unique("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "core"}])
    assert tag_map(iam.list_user_tags(UserName=name)["Tags"]) == {"team": "core"}

    iam.tag_user(UserName=name, Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "infra"}])
    assert tag_map(iam.list_user_tags(UserName=name)["Tags"]) == {"team": "infra", "env": "test"}

    iam.untag_user(UserName=name, TagKeys=["team"])
    assert tag_map(iam.list_user_tags(UserName=name)["Tags"]) == {"env": "test"}

    expect_error("NoSuchEntity", iam.tag_user, UserName=unique("ghost"),
                 Tags=[{"Key": "a", "Value": "b"}], status=404)
    expect_error("NoSuchEntity", iam.list_user_tags, UserName=unique("ghost"), status=404)


def test_role_tags_cli(server, iam):
    role = make_role(iam, trust(f"arn:aws:iam::{server.account_id}:root"), "tagged-role",
                     Tags=[{"Key": "owner", "Value": "ops"}])["RoleName"]
    assert tag_map(aws("iam", "list-role-tags", "--role-name", role, env=server.env)["Tags"]) == {
        "owner": "ops"
    }
    aws("iam", "tag-role", "--role-name", role, "--tags", "Key=cost,Value=42", env=server.env)
    assert tag_map(iam.list_role_tags(RoleName=role)["Tags"]) == {"owner": "ops", "cost": "42"}
    aws("iam", "untag-role", "--role-name", role, "--tag-keys", "owner", env=server.env)
    assert tag_map(iam.list_role_tags(RoleName=role)["Tags"]) == {"cost": "42"}
    aws_error("iam", "tag-role", "--role-name", unique("ghost"), "--tags", "Key=a,Value=b",
              env=server.env, code="NoSuchEntity")

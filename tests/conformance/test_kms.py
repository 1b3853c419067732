"""KMS: keys, aliases, envelope encryption, key states, rotation, key policies, master key.

Every call goes through the real aws CLI or boto3. Ciphertexts are real AES-GCM blobs:
the tests tamper with them, move them between keys and contexts, and decrypt them after
rotations and restarts.
"""

import base64
import datetime as dt
import json
import os
import stat

import pytest

from sightline_support import (
    allow,
    assume,
    aws,
    aws_error,
    error_message,
    expect_error,
    make_role,
    make_user,
    org_role_arn,
    policy,
    retry_until,
    unique,
    utcnow,
)

pytestmark = pytest.mark.timeout(120)

UUID_LEN = 36


@pytest.fixture
def kms(server):
    return server.client("kms")


def new_key(kms, **kwargs) -> dict:
    return kms.create_key(Description=unique("key"), **kwargs)["KeyMetadata"]


def material_version(blob: bytes) -> int:
    """The material version in a Sightline ciphertext header (1, arn length, arn, version)."""
    n = int.from_bytes(blob[1:3], "big")
    return int.from_bytes(blob[3 + n:7 + n], "big")


def days_from_now(when) -> float:
    return (when - utcnow()).total_seconds() / 86400


# --------------------------------------------------------------------------- keys


def test_create_describe_and_list_keys_through_the_cli(server, kms):
    created = aws("kms", "create-key", "--description", "cli key", env=server.env)["KeyMetadata"]
    assert len(created["KeyId"]) == UUID_LEN
    assert created["Arn"] == (
        f"arn:aws:kms:us-east-1:{server.account_id}:key/{created['KeyId']}"
    )
    assert created["AWSAccountId"] == server.account_id
    assert created["KeyState"] == "Enabled" and created["Enabled"] is True
    assert created["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert created["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert created["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert created["Origin"] == "AWS_KMS" and created["KeyManager"] == "CUSTOMER"

    described = kms.describe_key(KeyId=created["Arn"])["KeyMetadata"]
    assert described["KeyId"] == created["KeyId"]
    assert described["Description"] == "cli key"

    listed = aws("kms", "list-keys", env=server.env)["Keys"]
    assert {"KeyId": created["KeyId"], "KeyArn": created["Arn"]} in listed


def test_list_keys_pages_with_limit_and_marker(kms):
    ids = {new_key(kms)["KeyId"] for _ in range(3)}
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Limit": 2} | ({"Marker": marker} if marker else {})
        page = kms.list_keys(**kwargs)
        assert len(page["Keys"]) <= 2
        seen += [k["KeyId"] for k in page["Keys"]]
        pages += 1
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert pages >= 2 and ids <= set(seen) and len(seen) == len(set(seen))
    expect_error("InvalidMarkerException", kms.list_keys, Marker="not-a-marker")


def test_unknown_and_malformed_key_ids(server, kms):
    missing = "11111111-2222-3333-4444-555555555555"
    err = expect_error("NotFoundException", kms.describe_key, KeyId=missing, status=400)
    assert missing in error_message(err)
    expect_error("NotFoundException", kms.describe_key, KeyId="not-a-key")
    expect_error("NotFoundException", kms.describe_key, KeyId="alias/does-not-exist")
    aws_error("kms", "encrypt", "--key-id", missing, "--plaintext", "aGk=", env=server.env,
              code="NotFoundException")


def test_only_symmetric_keys_are_offered(kms):
    expect_error("UnsupportedOperationException", kms.create_key, KeySpec="RSA_2048",
                 KeyUsage="ENCRYPT_DECRYPT")


# --------------------------------------------------------------------------- crypto


def test_encrypt_decrypt_round_trip_through_the_cli(server, tmp_path):
    key = aws("kms", "create-key", env=server.env)["KeyMetadata"]
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(200))
    enc = aws("kms", "encrypt", "--key-id", key["KeyId"], "--plaintext", f"fileb://{plain}",
              "--encryption-context", "purpose=test,team=ops", env=server.env)
    assert enc["KeyId"] == key["Arn"]
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(enc["CiphertextBlob"]))
    assert plain.read_bytes() not in blob.read_bytes()

    # No KeyId needed: the blob names its key.
    dec = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
              "--encryption-context", "team=ops,purpose=test", env=server.env)
    assert base64.b64decode(dec["Plaintext"]) == plain.read_bytes()
    assert dec["KeyId"] == key["Arn"]

    # The context is bound to the ciphertext.
    aws_error("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
              "--encryption-context", "purpose=test", env=server.env,
              code="InvalidCiphertextException")
    aws_error("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", env=server.env,
              code="InvalidCiphertextException")


def test_tampered_and_foreign_ciphertexts_are_refused(kms):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"payload")["CiphertextBlob"]
    for i in (len(blob) - 1, len(blob) // 2, len(blob) - 20):
        bad = bytearray(blob)
        bad[i] ^= 0x55
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bytes(bad))
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=b"\x00" * 64)
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=os.urandom(80))
    # Naming another key than the one that sealed it.
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=blob, KeyId=b["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob, KeyId=a["Arn"])["Plaintext"] == b"payload"


def test_plaintext_size_limits(kms):
    key = new_key(kms)
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * 4096)
    err = expect_error("ValidationException", kms.encrypt, KeyId=key["KeyId"],
                       Plaintext=b"x" * 4097)
    assert "4096" in error_message(err)


def test_generate_data_key_variants(server, kms):
    key = new_key(kms)
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256",
                               EncryptionContext={"bucket": "logs"})
    assert len(dk["Plaintext"]) == 32 and dk["KeyId"] == key["Arn"]
    again = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"bucket": "logs"})
    assert again["Plaintext"] == dk["Plaintext"]

    assert len(kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)["Plaintext"]) == 64

    wp = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in wp
    assert len(kms.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]) == 32

    expect_error("ValidationException", kms.generate_data_key, KeyId=key["KeyId"])
    expect_error("ValidationException", kms.generate_data_key, KeyId=key["KeyId"],
                 KeySpec="AES_256", NumberOfBytes=32)
    cli = aws("kms", "generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256",
              env=server.env)
    assert len(base64.b64decode(cli["Plaintext"])) == 32

    rnd = kms.generate_random(NumberOfBytes=48)["Plaintext"]
    assert len(rnd) == 48 and rnd != kms.generate_random(NumberOfBytes=48)["Plaintext"]


def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"move me",
                       EncryptionContext={"k": "1"})["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"k": "1"},
                           DestinationKeyId=b["Arn"], DestinationEncryptionContext={"k": "2"})
    assert moved["SourceKeyId"] == a["Arn"] and moved["KeyId"] == b["Arn"]
    out = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"k": "2"})
    assert out["Plaintext"] == b"move me" and out["KeyId"] == b["Arn"]
    expect_error("InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=blob,
                 DestinationKeyId=b["KeyId"])


# --------------------------------------------------------------------------- aliases


def test_aliases_name_keys_and_can_be_moved(server, kms):
    a, b = new_key(kms), new_key(kms)
    name = f"alias/{unique('app')}"
    aws("kms", "create-alias", "--alias-name", name, "--target-key-id", a["KeyId"],
        env=server.env)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == a["KeyId"]
    alias_arn = f"arn:aws:kms:us-east-1:{server.account_id}:{name}"
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == a["KeyId"]
    enc = kms.encrypt(KeyId=name, Plaintext=b"via alias")
    assert enc["KeyId"] == a["Arn"]

    listed = kms.list_aliases(KeyId=a["KeyId"])["Aliases"]
    assert [x["AliasName"] for x in listed] == [name]
    assert listed[0]["AliasArn"] == alias_arn and listed[0]["TargetKeyId"] == a["KeyId"]

    expect_error("AlreadyExistsException", kms.create_alias, AliasName=name,
                 TargetKeyId=b["KeyId"])
    kms.update_alias(AliasName=name, TargetKeyId=b["KeyId"])
    assert kms.encrypt(KeyId=name, Plaintext=b"x")["KeyId"] == b["Arn"]
    # What the old target sealed still decrypts.
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == b"via alias"

    kms.delete_alias(AliasName=name)
    expect_error("NotFoundException", kms.describe_key, KeyId=name)
    expect_error("NotFoundException", kms.delete_alias, AliasName=name)


def test_alias_names_are_validated(server, kms):
    key = new_key(kms)
    raw = server.client("kms", validate=False)
    expect_error("ValidationException", raw.create_alias, AliasName="noprefix",
                 TargetKeyId=key["KeyId"])
    expect_error("ValidationException", raw.create_alias, AliasName="alias/bad name!",
                 TargetKeyId=key["KeyId"])
    expect_error("InvalidAliasNameException", kms.create_alias, AliasName="alias/aws/mine",
                 TargetKeyId=key["KeyId"])
    expect_error("NotFoundException", kms.create_alias, AliasName=f"alias/{unique('x')}",
                 TargetKeyId="11111111-2222-3333-4444-555555555555")


# --------------------------------------------------------------------------- key states


def test_disabled_keys_refuse_crypto_until_enabled(server, kms):
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    aws("kms", "disable-key", "--key-id", key["KeyId"], env=server.env)
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    err = expect_error("DisabledException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    assert key["Arn"] in error_message(err)
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=blob)
    expect_error("DisabledException", kms.generate_data_key, KeyId=key["KeyId"],
                 KeySpec="AES_256")
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"


def test_scheduled_deletion_makes_a_key_unusable_and_cancel_restores_it(server, kms):
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"keep")["CiphertextBlob"]
    aws_error("kms", "schedule-key-deletion", "--key-id", key["KeyId"],
              "--pending-window-in-days", "6", env=server.env, code="ValidationException")
    expect_error("ValidationException", kms.schedule_key_deletion, KeyId=key["KeyId"],
                 PendingWindowInDays=31)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"

    out = aws("kms", "schedule-key-deletion", "--key-id", key["KeyId"],
              "--pending-window-in-days", "7", env=server.env)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["PendingDeletionWindowInDays"] == 7
    assert 6.9 < days_from_now(meta["DeletionDate"]) <= 7.0

    for call, kwargs in [
        (kms.encrypt, {"KeyId": key["KeyId"], "Plaintext": b"x"}),
        (kms.decrypt, {"CiphertextBlob": blob}),
        (kms.enable_key, {"KeyId": key["KeyId"]}),
        (kms.schedule_key_deletion, {"KeyId": key["KeyId"]}),
        (kms.create_alias, {"AliasName": f"alias/{unique('p')}", "TargetKeyId": key["KeyId"]}),
    ]:
        err = expect_error("KMSInvalidStateException", call, **kwargs)
        assert "pending deletion" in error_message(err)

    assert kms.cancel_key_deletion(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and "DeletionDate" not in meta
    expect_error("KMSInvalidStateException", kms.cancel_key_deletion, KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"keep"


def test_rotation_status_and_on_demand_rotation_keep_old_ciphertexts(server, kms):
    key = new_key(kms)
    old = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"v1")["CiphertextBlob"]
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is False

    # The server's own check, past boto3's client-side one.
    expect_error("ValidationException", server.client("kms", validate=False).enable_key_rotation,
                 KeyId=key["KeyId"], RotationPeriodInDays=30)
    aws("kms", "enable-key-rotation", "--key-id", key["KeyId"], "--rotation-period-in-days",
        "90", env=server.env)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert 89.9 < days_from_now(status["NextRotationDate"]) <= 90

    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    new = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"v2")["CiphertextBlob"]
    assert "OnDemandRotationStartDate" in kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"v2"
    # Sealed with different material: the blob header names the material version.
    assert (material_version(old), material_version(new)) == (1, 2)

    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False


def test_tags_and_description(kms):
    key = new_key(kms, Tags=[{"TagKey": "team", "TagValue": "ops"}])
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "env", "TagValue": "prod"},
                                               {"TagKey": "team", "TagValue": "sec"}])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert tags == {"team": "sec", "env": "prod"}
    kms.untag_resource(KeyId=key["KeyId"], TagKeys=["team"])
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [
        {"TagKey": "env", "TagValue": "prod"}
    ]
    expect_error("TagException", kms.tag_resource, KeyId=key["KeyId"],
                 Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    kms.update_key_description(KeyId=key["KeyId"], Description="renamed")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == "renamed"


# --------------------------------------------------------------------------- key policies


def test_the_default_key_policy_delegates_to_iam(server, iam, kms):
    key = new_key(kms)
    doc = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert doc["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{server.account_id}:root"}
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]

    nobody = make_user(iam, "kms-nobody")
    user_kms = server.client("kms", nobody.creds)
    err = expect_error("AccessDeniedException", user_kms.encrypt, KeyId=key["KeyId"],
                       Plaintext=b"x", status=400)
    assert "kms:Encrypt" in error_message(err)

    allowed = make_user(iam, "kms-user", inline={"kms": policy(allow(["kms:Encrypt",
                                                                       "kms:Decrypt"]))})
    user_kms = server.client("kms", allowed.creds)
    blob = user_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"by iam")["CiphertextBlob"]
    assert user_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"by iam"
    expect_error("AccessDeniedException", user_kms.disable_key, KeyId=key["KeyId"])


def test_a_key_policy_grants_a_principal_decrypt_directly(server, iam, kms):
    reader = make_user(iam, "kms-reader")
    key_policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "admin", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "reader", "Effect": "Allow", "Principal": {"AWS": reader.arn},
             "Action": "kms:Decrypt", "Resource": "*"},
        ],
    })
    key = new_key(kms, Policy=key_policy)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"for the reader")["CiphertextBlob"]
    reader_kms = server.client("kms", reader.creds)
    # No IAM policy at all: the key policy alone grants Decrypt, and nothing else.
    assert reader_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"for the reader"
    expect_error("AccessDeniedException", reader_kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")


def test_a_key_policy_that_leaves_out_the_account_overrides_iam(server, iam, kms):
    admin = make_user(iam, "kms-admin", inline={"all": policy(allow("kms:*"))})
    locked = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin.arn},
                       "Action": ["kms:PutKeyPolicy", "kms:DescribeKey"], "Resource": "*"}],
    })
    # The root caller is not in that policy, so only a bypass of the lockout check sets it.
    expect_error("MalformedPolicyDocumentException", kms.create_key, Policy=locked)
    key = new_key(kms, Policy=locked, BypassPolicyLockoutSafetyCheck=True)
    other = make_user(iam, "kms-other", inline={"all": policy(allow("kms:*"))})
    expect_error("AccessDeniedException", server.client("kms", other.creds).encrypt,
                 KeyId=key["KeyId"], Plaintext=b"x")
    admin_kms = server.client("kms", admin.creds)
    admin_kms.describe_key(KeyId=key["KeyId"])
    expect_error("AccessDeniedException", admin_kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    # The key policy binds the account root too.
    expect_error("AccessDeniedException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")


def test_put_key_policy_has_the_lockout_safety_check(server, iam, kms):
    key = new_key(kms)
    stranger = make_user(iam, "kms-stranger")
    lockout = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": stranger.arn},
                       "Action": "kms:*", "Resource": "*"}],
    })
    err = expect_error("MalformedPolicyDocumentException", kms.put_key_policy,
                       KeyId=key["KeyId"], PolicyName="default", Policy=lockout)
    assert "will not allow you to update the key policy" in error_message(err)
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=key["KeyId"],
                 PolicyName="default", Policy="{not json")
    before = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    assert "Enable IAM User Permissions" in before
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=lockout,
                       BypassPolicyLockoutSafetyCheck=True)
    stranger_kms = server.client("kms", stranger.creds)
    assert stranger_kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == lockout
    # What the check guards against: the root user is locked out of its own key now.
    expect_error("AccessDeniedException", kms.get_key_policy, KeyId=key["KeyId"],
                 PolicyName="default")


def test_other_accounts_use_a_key_only_when_its_policy_says_so(server, kms, sts,
                                                                 member_accounts):
    member = member_accounts[0]
    creds = assume(sts, org_role_arn(member))
    member_kms = server.client("kms", creds)
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"shared")["CiphertextBlob"]
    expect_error("AccessDeniedException", member_kms.decrypt, CiphertextBlob=blob)
    # The member's own keys never show the management account's.
    assert key["KeyId"] not in [k["KeyId"] for k in member_kms.list_keys()["Keys"]]

    doc = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    doc["Statement"].append({"Sid": "member", "Effect": "Allow",
                             "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
                             "Action": ["kms:Decrypt", "kms:DisableKey"], "Resource": "*"})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(doc))
    # The member's role has AdministratorAccess, which is the member account's half.
    assert member_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    expect_error("AccessDeniedException", member_kms.encrypt, KeyId=key["Arn"], Plaintext=b"x")
    # Management calls never cross accounts, whatever the policy grants.
    expect_error("NotFoundException", member_kms.disable_key, KeyId=key["Arn"])


# --------------------------------------------------------------------------- audit and storage


def test_audit_records_never_hold_plaintext_or_key_material(server, kms):
    key = new_key(kms)
    marker = base64.b64encode(b"audit-secret-" + os.urandom(8)).decode()
    kms.encrypt(KeyId=key["KeyId"], Plaintext=base64.b64decode(marker))
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    trail = server.client("cloudtrail")

    def find():
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}],
            MaxResults=50,
        )["Events"]
        names = {e["EventName"] for e in events}
        assert {"Encrypt", "GenerateDataKey"} <= names, names
        return events

    events = retry_until(find)
    text = json.dumps([e["CloudTrailEvent"] for e in events])
    assert marker not in text
    assert base64.b64encode(dk["Plaintext"]).decode() not in text
    encrypt = next(json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "Encrypt")
    assert encrypt["requestParameters"]["plaintext"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert encrypt["readOnly"] is True
    assert key["Arn"] in [r["ARN"] for r in encrypt["resources"]]


def test_keys_survive_a_restart_and_need_their_master_key(server_factory, tmp_path):
    master = tmp_path / "secrets" / "master.key"
    srv = server_factory.start(extra_args=["--kms-master-key-file", str(master)])
    assert stat.S_IMODE(master.stat().st_mode) == 0o600
    assert not (srv.data_dir / "kms" / "master.key").exists()
    kms = srv.client("kms")
    key = new_key(kms)
    kms.create_alias(AliasName="alias/kept", TargetKeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=kms.create_key()["KeyMetadata"]["KeyId"],
                              PendingWindowInDays=10)
    blob = kms.encrypt(KeyId="alias/kept", Plaintext=b"durable")["CiphertextBlob"]
    assert srv.stop() == 0

    srv.start()
    kms = srv.client("kms")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"durable"
    assert kms.describe_key(KeyId="alias/kept")["KeyMetadata"]["KeyId"] == key["KeyId"]
    states = {k["KeyId"]: kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
              for k in kms.list_keys()["Keys"]}
    assert sorted(states.values()) == ["Enabled", "PendingDeletion"]
    key_text = master.read_text().strip()
    assert key_text not in srv.stderr() and key_text not in srv.stdout()
    assert srv.stop() == 0

    # Another master key cannot open the stored material: the server refuses to start.
    master.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    wrong = server_factory.new(data_dir=srv.data_dir,
                               extra_args=["--kms-master-key-file", str(master)])
    with pytest.raises(RuntimeError) as exc:
        wrong.start()
    assert "master key" in str(exc.value)

"""SQS through boto3 and the aws CLI (awsJson1_0), and through an older CLI that still
speaks awsQuery: queue lifecycle and attributes, messages with attributes (digests
checked against an independent implementation of AWS's), batches with per-entry
failures, long polling, visibility timeouts, delays, redrive, purge, query-compatible
error codes, queue policies for other accounts and for SNS, and messages that survive
a SIGKILL. Retention expiry (60 s at the least) is covered by the crate's tests with a
clock of their own."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sightline_support import (
    assume,
    aws,
    aws_error,
    error_message,
    expect_error,
    org_role_arn,
    unique,
)

pytestmark = pytest.mark.timeout(120)


def md5_of_attributes(attributes: dict) -> str:
    """AWS's MD5OfMessageAttributes, written from the SQS developer guide."""
    buf = b""
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        buf += struct.pack(">I", len(name.encode())) + name.encode()
        buf += struct.pack(">I", len(data_type.encode())) + data_type.encode()
        if data_type.startswith("Binary"):
            raw = value["BinaryValue"]
            buf += b"\x02" + struct.pack(">I", len(raw)) + raw
        else:
            raw = value["StringValue"].encode()
            buf += b"\x01" + struct.pack(">I", len(raw)) + raw
    return hashlib.md5(buf).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def sqs(server):
    return server.client("sqs")


def new_queue(sqs, prefix="q", **attributes) -> str:
    kwargs = {"QueueName": unique(prefix)}
    if attributes:
        kwargs["Attributes"] = {k: str(v) for k, v in attributes.items()}
    return sqs.create_queue(**kwargs)["QueueUrl"]


def counts(sqs, url) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


def cli(server, *args, **kwargs):
    """The aws CLI on SQS. It replaces the endpoint of `sqs` commands with
    queue.amazonaws.com unless --endpoint-url is given (AWS_ENDPOINT_URL is not enough)."""
    return aws("sqs", *args, "--endpoint-url", server.endpoint, env=server.env, **kwargs)


def cli_error(server, *args, code):
    return aws_error("sqs", *args, "--endpoint-url", server.endpoint, env=server.env, code=code)


def test_queue_lifecycle_through_the_cli(server):
    name = unique("orders")
    url = cli(server, "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=45",
              "--tags", "team=shop")["QueueUrl"]
    assert url == f"{server.endpoint}/{server.account_id}/{name}"
    # Same name and attributes: the same queue; other attributes: refused.
    assert cli(server, "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=45")["QueueUrl"] == url
    cli_error(server, "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=46",
              code="QueueAlreadyExists")
    assert cli(server, "get-queue-url", "--queue-name", name)["QueueUrl"] == url
    listed = cli(server, "list-queues", "--queue-name-prefix", name)["QueueUrls"]
    assert listed == [url]

    attrs = cli(server, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{server.account_id}:{name}"
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["MaximumMessageSize"] == "1048576"
    assert attrs["DelaySeconds"] == "0"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert abs(int(attrs["CreatedTimestamp"]) - time.time()) < 60
    cli(server, "set-queue-attributes", "--queue-url", url, "--attributes",
        "ReceiveMessageWaitTimeSeconds=2,DelaySeconds=3")
    some = cli(server, "get-queue-attributes", "--queue-url", url, "--attribute-names",
               "ReceiveMessageWaitTimeSeconds", "DelaySeconds")["Attributes"]
    assert some == {"ReceiveMessageWaitTimeSeconds": "2", "DelaySeconds": "3"}

    assert cli(server, "list-queue-tags", "--queue-url", url)["Tags"] == {"team": "shop"}
    cli(server, "tag-queue", "--queue-url", url, "--tags", "env=prod")
    cli(server, "untag-queue", "--queue-url", url, "--tag-keys", "team")
    assert cli(server, "list-queue-tags", "--queue-url", url)["Tags"] == {"env": "prod"}

    cli(server, "delete-queue", "--queue-url", url)
    cli_error(server, "get-queue-url", "--queue-name", name,
              code="AWS.SimpleQueueService.NonExistentQueue")
    # The name stays taken for 60 seconds after a deletion, as on AWS.
    cli_error(server, "create-queue", "--queue-name", name,
              code="AWS.SimpleQueueService.QueueDeletedRecently")


def test_list_queues_pages(sqs):
    prefix = unique("page")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert first["QueueUrls"] == urls[:2]
    second = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=first["NextToken"])
    third = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=second["NextToken"])
    assert second["QueueUrls"] + third["QueueUrls"] == urls[2:]
    assert "NextToken" not in third
    # Without MaxResults: everything, no token.
    assert "NextToken" not in sqs.list_queues(QueueNamePrefix=prefix)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=unique("none"))


def test_send_receive_delete(server, sqs):
    url = new_queue(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello world")
    assert sent["MD5OfMessageBody"] == md5("hello world")
    assert "MD5OfMessageAttributes" not in sent
    assert counts(sqs, url) == (1, 0, 0)

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == "hello world"
    assert m["MD5OfBody"] == md5("hello world")
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["Attributes"]["SenderId"] == server.account_id
    assert abs(int(m["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 60
    assert "ApproximateFirstReceiveTimestamp" in m["Attributes"]
    assert counts(sqs, url) == (0, 1, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)

    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    # Deleting again is not an error; a handle that is not one is.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    expect_error("ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=url, ReceiptHandle="nonsense")

    # Only the system attributes asked for come back.
    sqs.send_message(QueueUrl=url, MessageBody="second")
    m = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["SentTimestamp"])["Messages"][0]
    assert set(m["Attributes"]) == {"SentTimestamp"}


def test_message_attributes_round_trip_with_aws_digests(sqs):
    url = new_queue(sqs)
    attributes = {
        "customer": {"DataType": "String", "StringValue": "Zoë ☃"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "ratio": {"DataType": "Number.float", "StringValue": "-1.5e3"},
        "payload": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
        "trace.id": {"DataType": "String", "StringValue": "abc"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="with attributes", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)

    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    assert m["MessageAttributes"] == attributes
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(attributes)

    # A prefix selects part of them, and the digest is of what came back.
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["trace.*", "count"],
                            VisibilityTimeout=0)["Messages"][0]
    chosen = {k: attributes[k] for k in ("trace.id", "count")}
    assert m["MessageAttributes"] == chosen
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(chosen)
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "MessageAttributes" not in m

    err = expect_error("InvalidParameterValue", sqs.send_message, QueueUrl=url, MessageBody="x",
                       MessageAttributes={"n": {"DataType": "Number", "StringValue": "twelve"}})
    assert "to a number" in error_message(err)
    expect_error("InvalidMessageContents", sqs.send_message, QueueUrl=url, MessageBody="bell \x07")


def test_batches_report_each_entry(sqs):
    url = new_queue(sqs, MaximumMessageSize=1024)
    result = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "good", "MessageBody": "fine", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "b"}}},
        {"Id": "too-big", "MessageBody": "x" * 1025},
        {"Id": "bad-chars", "MessageBody": "nul \x00"},
        {"Id": "late", "MessageBody": "later", "DelaySeconds": 1},
    ])
    ok = {e["Id"]: e for e in result["Successful"]}
    assert set(ok) == {"good", "late"}
    assert ok["good"]["MD5OfMessageBody"] == md5("fine")
    assert ok["good"]["MD5OfMessageAttributes"] == md5_of_attributes({"a": {"DataType": "String", "StringValue": "b"}})
    failed = {e["Id"]: e for e in result["Failed"]}
    assert failed["too-big"]["Code"] == "InvalidParameterValue"
    assert failed["too-big"]["SenderFault"] is True
    assert failed["bad-chars"]["Code"] == "InvalidMessageContents"

    # As AWS's JSON protocol does, an empty list of failures is left out.
    assert "Failed" not in sqs.send_message_batch(QueueUrl=new_queue(sqs), Entries=[{"Id": "x", "MessageBody": "y"}])
    expect_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", sqs.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}])
    expect_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", sqs.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])
    expect_error("AWS.SimpleQueueService.InvalidBatchEntryId", sqs.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": "no spaces", "MessageBody": "m"}])
    expect_error("AWS.SimpleQueueService.EmptyBatchRequest", sqs.send_message_batch, QueueUrl=url, Entries=[])

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["fine"]
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "one", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "two", "ReceiptHandle": "junk", "VisibilityTimeout": 0},
    ])
    assert [e["Id"] for e in changed["Successful"]] == ["one"]
    assert [(e["Id"], e["Code"]) for e in changed["Failed"]] == [("two", "ReceiptHandleIsInvalid")]
    time.sleep(1.1)  # the delayed one shows too
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in again) == ["fine", "later"]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(again)
    ] + [{"Id": "junk", "ReceiptHandle": "junk"}])
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1"]
    assert [e["Id"] for e in deleted["Failed"]] == ["junk"]
    assert counts(sqs, url) == (0, 0, 0)


def test_a_long_poll_is_woken_by_a_send(sqs):
    url = new_queue(sqs)
    result = {}

    def poll():
        started = time.monotonic()
        result["response"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15)
        result["elapsed"] = time.monotonic() - started

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(1.0)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    t.join(timeout=20)
    assert result["response"]["Messages"][0]["Body"] == "wake up"
    assert 0.9 <= result["elapsed"] < 4, result["elapsed"]

    # With nothing to wake it, it waits the whole time; the queue's default applies.
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert 0.9 <= time.monotonic() - started < 3
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert 0.9 <= time.monotonic() - started < 3
    expect_error("InvalidParameterValue", sqs.receive_message, QueueUrl=url, WaitTimeSeconds=21)
    expect_error("InvalidParameterValue", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)


def test_visibility_timeout_expiry_makes_a_message_visible_again(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="retry me")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1, AttributeNames=["All"])["Messages"][0]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    # A long poll wakes when the message shows again.
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["All"])["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["Attributes"]["ApproximateFirstReceiveTimestamp"] == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # The stale receipt cannot change the visibility any more; the fresh one can.
    expect_error("InvalidParameterValue", sqs.change_message_visibility, QueueUrl=url,
                 ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["MessageId"] == first["MessageId"]


def test_delays_per_queue_and_per_message(sqs):
    url = new_queue(sqs, DelaySeconds=2)
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    assert counts(sqs, url) == (1, 0, 1)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["no delay"]
    started = time.monotonic()
    later = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert later[0]["Body"] == "queue delay"
    assert time.monotonic() - started < 5
    expect_error("InvalidParameterValue", sqs.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901)


def test_purge_and_redrive(sqs):
    url = new_queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    sqs.receive_message(QueueUrl=url)
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)
    expect_error("AWS.SimpleQueueService.PurgeQueueInProgress", sqs.purge_queue, QueueUrl=url)

    dlq_url = new_queue(sqs, "dead")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    work = new_queue(sqs, "work", RedrivePolicy=redrive)
    stored = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(stored["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}
    sqs.send_message(QueueUrl=work, MessageBody="poison")
    sqs.receive_message(QueueUrl=work, VisibilityTimeout=1)
    # Received once already: the next receive moves it instead of returning it.
    time.sleep(1.2)
    assert "Messages" not in sqs.receive_message(QueueUrl=work)
    dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"][0]
    assert dead["Body"] == "poison"
    err = expect_error("InvalidParameterValue", sqs.set_queue_attributes, QueueUrl=work, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn + "-gone", "maxReceiveCount": 1})})
    assert "Dead letter target does not exist" in error_message(err)


def test_errors_carry_query_codes_and_modeled_exceptions(server, sqs):
    missing = f"{server.endpoint}/{server.account_id}/{unique('missing')}"
    try:
        sqs.send_message(QueueUrl=missing, MessageBody="x")
        raise AssertionError("sent to a missing queue")
    except sqs.exceptions.QueueDoesNotExist as err:
        assert err.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
        assert err.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
        assert err.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == \
            "AWS.SimpleQueueService.NonExistentQueue;Sender"
    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName=unique("nope"))

    url = new_queue(sqs)
    err = expect_error("InvalidAttributeName", sqs.set_queue_attributes, QueueUrl=url,
                       Attributes={"Colour": "blue"})
    assert error_message(err) == "Unknown Attribute Colour."
    err = expect_error("InvalidAttributeValue", sqs.set_queue_attributes, QueueUrl=url,
                       Attributes={"VisibilityTimeout": "43201"})
    assert error_message(err) == "Invalid value for the parameter VisibilityTimeout."
    expect_error("InvalidAttributeValue", sqs.set_queue_attributes, QueueUrl=url,
                 Attributes={"MessageRetentionPeriod": "59"})
    expect_error("InvalidAttributeValue", sqs.set_queue_attributes, QueueUrl=url,
                 Attributes={"Policy": "{not a policy"})
    expect_error("InvalidAttributeName", sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["Nope"])
    expect_error("InvalidParameterValue", sqs.create_queue, QueueName="bad name!")
    expect_error("InvalidAddress", sqs.send_message, QueueUrl="not-a-url", MessageBody="x")


def test_queue_policies_grant_other_accounts(server, sqs, member_accounts):
    member_id = member_accounts[0]
    member = server.client("sqs", assume(server.client("sts"), org_role_arn(member_id)))
    url = new_queue(sqs, "shared")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    expect_error("AccessDenied", member.send_message, QueueUrl=url, MessageBody="from afar")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{member_id}:root"},
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
            "Resource": arn,
        }],
    })})
    member.send_message(QueueUrl=url, MessageBody="from afar")
    name = url.rsplit("/", 1)[1]
    assert member.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=server.account_id)["QueueUrl"] == url
    # Only what the policy grants.
    expect_error("AccessDenied", member.receive_message, QueueUrl=url)
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["SenderId"])["Messages"][0]
    assert m["Body"] == "from afar"
    assert m["Attributes"]["SenderId"].endswith(":conformance")


def test_sns_delivers_to_queues_its_policy_allows(server, sqs):
    sns = server.client("sns")
    topic = sns.create_topic(Name=unique("fanout"))["TopicArn"]

    def queue_for_topic(prefix):
        url = new_queue(sqs, prefix)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }],
        })})
        return url, arn

    enveloped_url, enveloped_arn = queue_for_topic("envelope")
    raw_url, raw_arn = queue_for_topic("raw")
    closed_url = new_queue(sqs, "closed")
    closed_arn = sqs.get_queue_attributes(QueueUrl=closed_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=enveloped_arn,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn,
                  Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=closed_arn)
    published = sns.publish(TopicArn=topic, Subject="hello", Message="the payload")

    m = sqs.receive_message(QueueUrl=enveloped_url, WaitTimeSeconds=10, AttributeNames=["SenderId"])["Messages"][0]
    envelope = json.loads(m["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "hello"
    assert envelope["Message"] == "the payload"
    assert envelope["SignatureVersion"] in ("1", "2")
    assert m["Attributes"]["SenderId"] == "sns.amazonaws.com"

    raw = sqs.receive_message(QueueUrl=raw_url, WaitTimeSeconds=10)["Messages"][0]
    assert raw["Body"] == "the payload"
    # A queue whose policy does not let SNS in gets nothing.
    time.sleep(1)
    assert counts(sqs, closed_url) == (0, 0, 0)


@pytest.mark.timeout(180)
def test_messages_survive_sigkill(server_factory, tmp_path):
    data_dir = tmp_path / "durable"
    srv = server_factory.start(data_dir=data_dir)
    sqs = srv.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"message {i}")["MessageId"] for i in range(5)]
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "batched", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    ])
    sent.append(batch["Successful"][0]["MessageId"])
    held = sqs.receive_message(QueueUrl=url)["Messages"][0]
    srv.kill()

    restarted = server_factory.start(data_dir=data_dir)
    sqs = restarted.client("sqs")
    # The URL from before names the same queue, whatever port the server came back on.
    assert counts(sqs, url) == (5, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
    got = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if "Messages" not in page:
            break
        got.extend(page["Messages"])
    assert sorted(m["MessageId"] for m in got) == sorted(set(sent) - {held["MessageId"]})
    batched = next(m for m in got if m["Body"] == "batched")
    assert batched["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}


# --------------------------------------------------------------------------- awsQuery

OLD_CLI = Path("/usr/bin/aws")


def query_cli_env(server) -> dict:
    env = server.env
    env.pop("AWS_ENDPOINT_URL", None)
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    return env


def old_aws(server, *args, check=True):
    proc = subprocess.run(
        [str(OLD_CLI), "--endpoint-url", server.endpoint, "--output", "json", *map(str, args)],
        env=query_cli_env(server), capture_output=True, text=True, timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def _old_cli_speaks_query() -> bool:
    if not OLD_CLI.exists() or not Path("/usr/bin/python3").exists():
        return False
    # The CLI's own interpreter and botocore (not the suite's).
    probe = subprocess.run(
        ["/usr/bin/python3", "-c", "import awscli, botocore.session as s; "
         "print(s.get_session().get_service_model('sqs').protocol)"],
        capture_output=True, text=True, timeout=60,
    )
    return probe.stdout.strip() == "query"


@pytest.mark.skipif(not _old_cli_speaks_query(), reason="no aws CLI that speaks awsQuery to SQS")
def test_an_older_cli_speaking_query(server, sqs):
    name = unique("legacy")
    url = old_aws(server, "sqs", "create-queue", "--queue-name", name,
                  "--attributes", "VisibilityTimeout=20", "--tags", "via=query")["QueueUrl"]
    assert url.endswith(f"/{server.account_id}/{name}")
    listed = old_aws(server, "sqs", "list-queues", "--queue-name-prefix", name)["QueueUrls"]
    assert listed == [url]
    # Empty answers still parse (the result element is there, with nothing in it).
    assert old_aws(server, "sqs", "list-queues", "--queue-name-prefix", unique("none")) == {}
    assert old_aws(server, "sqs", "receive-message", "--queue-url", url) == {}
    assert old_aws(server, "sqs", "get-queue-attributes", "--queue-url", url) == {}
    attrs = old_aws(server, "sqs", "get-queue-attributes", "--queue-url", url,
                    "--attribute-names", "All")["Attributes"]
    assert attrs["VisibilityTimeout"] == "20"
    assert attrs["QueueArn"].endswith(f":{name}")
    assert old_aws(server, "sqs", "list-queue-tags", "--queue-url", url)["Tags"] == {"via": "query"}

    sent = old_aws(server, "sqs", "send-message", "--queue-url", url, "--message-body", "over query",
                   "--message-attributes", json.dumps({
                       "n": {"DataType": "Number", "StringValue": "7"},
                       "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x01\x02").decode()},
                   }))
    assert sent["MD5OfMessageBody"] == md5("over query")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes({
        "n": {"DataType": "Number", "StringValue": "7"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
    })
    got = old_aws(server, "sqs", "receive-message", "--queue-url", url, "--attribute-names", "All",
                  "--message-attribute-names", "All", "--max-number-of-messages", "5")["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == "over query"
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "7"}
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]

    batch = old_aws(server, "sqs", "send-message-batch", "--queue-url", url, "--entries", json.dumps([
        {"Id": "ok", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "nul \u0001"},
    ]))
    assert [e["Id"] for e in batch["Successful"]] == ["ok"]
    assert [(e["Id"], e["Code"]) for e in batch["Failed"]] == [("bad", "InvalidMessageContents")]
    old_aws(server, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
    # JSON clients see what the query client made.
    assert counts(sqs, url) == (1, 0, 0)

    missing = old_aws(server, "sqs", "get-queue-url", "--queue-name", unique("nope"), check=False)
    assert missing.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in missing.stderr
    old_aws(server, "sqs", "delete-queue", "--queue-url", url)

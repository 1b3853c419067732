"""SNS topics and subscriptions through the aws CLI (awsQuery) and boto3: attributes as
Query maps, the HTTP confirmation handshake, signed notifications with message
attributes and raw delivery, topic policies for other accounts' users, and SNS's
own error codes."""

from __future__ import annotations

import http.server
import json
import threading

from sightline_support import (
    aws,
    aws_error,
    error_message,
    expect_error,
    free_port,
    make_user,
    policy,
    allow,
    retry_until,
    unique,
)


class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append((dict(self.headers), body.decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def first(items, what):
    for item in items:
        return item
    raise AssertionError(f"no {what} yet")


def test_topics_attributes_and_tags_through_the_cli(server):
    env = server.env
    name = unique("orders")
    arn = aws("sns", "create-topic", "--name", name, "--tags", "Key=team,Value=shop", env=env)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{server.account_id}:{name}"
    # CreateTopic is idempotent for the same name and attributes.
    assert aws("sns", "create-topic", "--name", name, env=env)["TopicArn"] == arn
    aws("sns", "set-topic-attributes", "--topic-arn", arn, "--attribute-name", "DisplayName",
        "--attribute-value", "Orders", env=env)
    attrs = aws("sns", "get-topic-attributes", "--topic-arn", arn, env=env)["Attributes"]
    assert attrs["TopicArn"] == arn and attrs["DisplayName"] == "Orders"
    assert attrs["Owner"] == server.account_id
    assert json.loads(attrs["Policy"])["Statement"][0]["Effect"] == "Allow"
    assert attrs["SubscriptionsConfirmed"] == "0"
    topics = [t["TopicArn"] for t in aws("sns", "list-topics", env=env)["Topics"]]
    assert arn in topics
    tags = aws("sns", "list-tags-for-resource", "--resource-arn", arn, env=env)["Tags"]
    assert tags == [{"Key": "team", "Value": "shop"}]
    aws_error("sns", "get-topic-attributes", "--topic-arn", arn + "-missing", env=env, code="NotFound")
    aws_error("sns", "publish", "--topic-arn", "not-an-arn", "--message", "x", env=env, code="InvalidParameter")
    aws("sns", "delete-topic", "--topic-arn", arn, env=env)
    aws_error("sns", "get-topic-attributes", "--topic-arn", arn, env=env, code="NotFound")


def test_http_subscription_handshake_attributes_and_raw_delivery(server):
    Hook.received = []
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        sns = server.client("sns")
        env = server.env
        arn = sns.create_topic(Name=unique("events"))["TopicArn"]
        pending = aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "http",
                      "--notification-endpoint", f"http://127.0.0.1:{port}/in", env=env)
        assert pending["SubscriptionArn"] == "pending confirmation"
        headers, body = retry_until(lambda: first(Hook.received, "confirmation"), timeout=15)
        confirmation = json.loads(body)
        assert confirmation["Type"] == "SubscriptionConfirmation"
        assert headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation"
        sub_arn = aws("sns", "confirm-subscription", "--topic-arn", arn, "--token",
                      confirmation["Token"], env=env)["SubscriptionArn"]
        assert sub_arn.startswith(arn + ":")
        subs = aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn, env=env)["Subscriptions"]
        assert [s["SubscriptionArn"] for s in subs] == [sub_arn]
        msg_id = sns.publish(TopicArn=arn, Subject="Order created", Message="order 42",
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "created"},
                                                "amount": {"DataType": "Number", "StringValue": "42.5"}})["MessageId"]

        def notification():
            for h, b in Hook.received:
                if h.get("x-amz-sns-message-id") == msg_id:
                    return json.loads(b)
            raise AssertionError("notification not delivered yet")

        note = retry_until(notification, timeout=15)
        assert note["Type"] == "Notification" and note["Message"] == "order 42"
        assert note["Subject"] == "Order created" and note["TopicArn"] == arn
        assert note["MessageAttributes"]["kind"] == {"Type": "String", "Value": "created"}
        assert note["MessageAttributes"]["amount"] == {"Type": "Number", "Value": "42.5"}
        assert note["SignatureVersion"] == "1" and note["SigningCertURL"].startswith(server.endpoint)
        # Raw delivery sends the bare message.
        aws("sns", "set-subscription-attributes", "--subscription-arn", sub_arn, "--attribute-name",
            "RawMessageDelivery", "--attribute-value", "true", env=env)
        attrs = aws("sns", "get-subscription-attributes", "--subscription-arn", sub_arn, env=env)["Attributes"]
        assert attrs["RawMessageDelivery"] == "true" and attrs["Protocol"] == "http"
        raw_id = sns.publish(TopicArn=arn, Message="raw body")["MessageId"]

        def raw():
            for h, b in Hook.received:
                if h.get("x-amz-sns-message-id") == raw_id:
                    return b
            raise AssertionError("raw message not delivered yet")

        assert retry_until(raw, timeout=15) == "raw body"
        # Per-protocol message structure: http gets its own text.
        struct_id = sns.publish(TopicArn=arn, MessageStructure="json",
                                Message=json.dumps({"default": "d", "http": "for http"}))["MessageId"]

        def structured():
            for h, b in Hook.received:
                if h.get("x-amz-sns-message-id") == struct_id:
                    return b
            raise AssertionError("structured message not delivered yet")

        assert retry_until(structured, timeout=15) == "for http"
        err = expect_error("InvalidParameter", sns.publish, TopicArn=arn, MessageStructure="json",
                           Message=json.dumps({"http": "no default"}))
        assert "default" in error_message(err)
        expect_error("InvalidParameter", sns.publish, TopicArn=arn, Message="x", Subject="s" * 101)
        aws("sns", "unsubscribe", "--subscription-arn", sub_arn, env=env)
        assert aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn, env=env)["Subscriptions"] == []
    finally:
        httpd.shutdown()


def test_users_need_permission_and_get_authorization_error(server):
    iam = server.client("iam")
    sns = server.client("sns")
    arn = sns.create_topic(Name=unique("guarded"))["TopicArn"]
    nobody = make_user(iam, "sns-nobody")
    publisher = make_user(iam, "sns-publisher", {"p": policy(allow("sns:Publish", arn))})
    denied = expect_error("AuthorizationError", server.client("sns", nobody.creds).publish,
                          TopicArn=arn, Message="x")
    assert denied.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    retry_until(lambda: server.client("sns", publisher.creds).publish(TopicArn=arn, Message="ok"), timeout=5)
    expect_error("AuthorizationError", server.client("sns", publisher.creds).delete_topic, TopicArn=arn)

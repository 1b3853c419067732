"""EventBridge through the aws CLI and boto3: buses, rules and targets with AWS's
errors, the pattern language via TestEventPattern, PutEvents per-entry results, and
real deliveries: API destinations (API key, basic and OAuth client credentials) to a
local HTTP receiver with input transformers, SQS queues and dead-letter queues after
retries, log groups, SNS topics, the remediation command target, schedules, service
events (API calls via CloudTrail, alarm state changes), another account's bus,
archives with replay, AWS/Events metrics, and delivery across a SIGKILL."""

from __future__ import annotations

import base64
import email
import http.server
import json
import os
import stat
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from aiosmtpd.controller import Controller

from sightline_support import (
    assume,
    aws,
    aws_error,
    create_member_account,
    error_message,
    expect_error,
    free_port,
    org_role_arn,
    query,
    retry_until,
    sql_str,
    unique,
)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records every request; `/token` answers as an OAuth token endpoint and a path
    starting with `/fail` answers 500."""

    def _handle(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.received.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body})
        if self.path.startswith("/token"):
            payload = json.dumps({"access_token": "tok-123", "token_type": "Bearer",
                                  "expires_in": 3600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(500 if self.path.startswith("/fail") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_GET = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    httpd.received = []
    httpd.url = f"http://127.0.0.1:{port}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def requests_to(httpd, path):
    found = [r for r in httpd.received if r["path"].startswith(path)]
    assert found, f"nothing received at {path} yet"
    return found


def api_destination(events, url, auth="API_KEY", name=None):
    name = name or unique("dest")
    params = {
        "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}},
        "BASIC": {"BasicAuthParameters": {"Username": "alice", "Password": "pw"}},
    }.get(auth)
    if auth == "OAUTH_CLIENT_CREDENTIALS":
        params = {"OAuthParameters": {
            "ClientParameters": {"ClientID": "client", "ClientSecret": "csecret"},
            "AuthorizationEndpoint": url.split("/hook")[0] + "/token", "HttpMethod": "POST",
            "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "events", "IsValueSecret": False}]}}}
    conn = events.create_connection(Name=name, AuthorizationType=auth, AuthParameters=params)
    dest = events.create_api_destination(Name=name, ConnectionArn=conn["ConnectionArn"],
                                         InvocationEndpoint=url, HttpMethod="POST",
                                         InvocationRateLimitPerSecond=100)
    return dest["ApiDestinationArn"]


def queue_for_events(sqs, account, name=None):
    """A queue whose policy lets EventBridge send to it, as the console sets it up."""
    url = sqs.create_queue(QueueName=name or unique("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": arn,
                       "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})})
    return url, arn


def receive_all(sqs, url, want, timeout=20):
    got = []

    def more():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"]).get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert len(got) >= want, f"{len(got)} of {want} messages"
        return got

    return retry_until(more, timeout=timeout, interval=0.1)


def put(events, source="app.orders", detail_type="Order", detail=None, bus=None, **extra):
    entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail or {"n": 1})}
    if bus:
        entry["EventBusName"] = bus
    entry.update(extra)
    resp = events.put_events(Entries=[entry])
    assert resp["FailedEntryCount"] == 0, resp
    return resp["Entries"][0]["EventId"]


def test_buses_rules_and_targets_with_aws_errors_through_the_cli(server):
    env = server.env
    acct = server.account_id
    bus = unique("ops")
    arn = aws("events", "create-event-bus", "--name", bus, env=env)["EventBusArn"]
    assert arn == f"arn:aws:events:us-east-1:{acct}:event-bus/{bus}"
    aws_error("events", "create-event-bus", "--name", bus, env=env, code="ResourceAlreadyExistsException")
    names = [b["Name"] for b in aws("events", "list-event-buses", env=env)["EventBuses"]]
    assert "default" in names and bus in names
    assert aws("events", "describe-event-bus", "--name", bus, env=env)["Arn"] == arn
    aws_error("events", "describe-event-bus", "--name", "nope-" + bus, env=env, code="ResourceNotFoundException")

    rule = unique("orders")
    pattern = json.dumps({"source": ["app.orders"], "detail": {"amount": [{"numeric": [">", 100]}]}})
    rule_arn = aws("events", "put-rule", "--name", rule, "--event-bus-name", bus, "--event-pattern", pattern,
                   "--description", "big orders", env=env)["RuleArn"]
    assert rule_arn == f"arn:aws:events:us-east-1:{acct}:rule/{bus}/{rule}"
    described = aws("events", "describe-rule", "--name", rule, "--event-bus-name", bus, env=env)
    assert described["State"] == "ENABLED" and described["EventBusName"] == bus
    assert json.loads(described["EventPattern"]) == json.loads(pattern)
    assert [r["Name"] for r in aws("events", "list-rules", "--event-bus-name", bus, "--name-prefix", rule[:6],
                                   env=env)["Rules"]] == [rule]
    aws("events", "disable-rule", "--name", rule, "--event-bus-name", bus, env=env)
    assert aws("events", "describe-rule", "--name", rule, "--event-bus-name", bus, env=env)["State"] == "DISABLED"
    aws("events", "enable-rule", "--name", rule, "--event-bus-name", bus, env=env)

    target_arn = f"arn:aws:logs:us-east-1:{acct}:log-group:/aws/events/{rule}"
    out = aws("events", "put-targets", "--rule", rule, "--event-bus-name", bus, "--targets",
              json.dumps([{"Id": "logs", "Arn": target_arn},
                          {"Id": "fn", "Arn": f"arn:aws:lambda:us-east-1:{acct}:function:f"}]), env=env)
    assert out["FailedEntryCount"] == 1 and out["FailedEntries"][0]["TargetId"] == "fn"
    targets = aws("events", "list-targets-by-rule", "--rule", rule, "--event-bus-name", bus, env=env)["Targets"]
    assert [t["Id"] for t in targets] == ["logs"]
    assert aws("events", "list-rule-names-by-target", "--target-arn", target_arn, "--event-bus-name", bus,
               env=env)["RuleNames"] == [rule]
    # A rule with targets cannot go; the bus cannot go while it has rules.
    err = aws_error("events", "delete-rule", "--name", rule, "--event-bus-name", bus, env=env,
                    code="ValidationException")
    assert "has targets" in err.stderr
    aws_error("events", "delete-event-bus", "--name", bus, env=env, code="ValidationException")
    aws("events", "tag-resource", "--resource-arn", rule_arn, "--tags", "Key=team,Value=shop", env=env)
    assert aws("events", "list-tags-for-resource", "--resource-arn", rule_arn, env=env)["Tags"] == [
        {"Key": "team", "Value": "shop"}]
    aws("events", "untag-resource", "--resource-arn", rule_arn, "--tag-keys", "team", env=env)
    assert aws("events", "list-tags-for-resource", "--resource-arn", rule_arn, env=env)["Tags"] == []
    removed = aws("events", "remove-targets", "--rule", rule, "--event-bus-name", bus, "--ids", "logs", "ghost",
                  env=env)
    assert removed["FailedEntryCount"] == 1 and removed["FailedEntries"][0]["TargetId"] == "ghost"
    aws("events", "delete-rule", "--name", rule, "--event-bus-name", bus, env=env)
    aws_error("events", "describe-rule", "--name", rule, "--event-bus-name", bus, env=env,
              code="ResourceNotFoundException")
    aws("events", "delete-event-bus", "--name", bus, env=env)
    aws_error("events", "delete-event-bus", "--name", "default", env=env, code="ValidationException")

    # Bad input changes nothing.
    aws_error("events", "put-rule", "--name", "bad", "--event-pattern", '{"source": "not-a-list"}', env=env,
              code="InvalidEventPatternException")
    aws_error("events", "put-rule", "--name", "bad", "--schedule-expression", "rate(1 minutes)", env=env,
              code="ValidationException")
    aws_error("events", "put-rule", "--name", "bad name", "--event-pattern", '{"source": ["x"]}', env=env,
              code="ValidationException")
    aws_error("events", "put-rule", "--name", "bad", env=env, code="ValidationException")
    aws_error("events", "describe-rule", "--name", "bad", env=env, code="ResourceNotFoundException")
    transformer = json.dumps([{"Id": "t", "Arn": target_arn, "InputTransformer": {
        "InputPathsMap": {"x": "detail.x"}, "InputTemplate": "<x>"}}])
    aws("events", "put-rule", "--name", "good-" + rule, "--event-pattern", '{"source": ["x"]}', env=env)
    aws_error("events", "put-targets", "--rule", "good-" + rule, "--targets", transformer, env=env,
              code="ValidationException")
    # The CLI checks this range itself; the server must too.
    unchecked = server.client("events", validate=False)
    err = expect_error("ValidationException", unchecked.put_targets, Rule="good-" + rule, Targets=[
        {"Id": "t", "Arn": target_arn, "RetryPolicy": {"MaximumEventAgeInSeconds": 10}}])
    assert "maximumEventAgeInSeconds" in error_message(err)
    assert aws("events", "list-targets-by-rule", "--rule", "good-" + rule, env=env)["Targets"] == []


def test_test_event_pattern_and_put_events_entry_results(server):
    events = server.client("events")
    event = {"id": "1", "account": server.account_id, "source": "app", "time": "2026-11-27T00:00:00Z",
             "region": "us-east-1", "detail-type": "t", "resources": [],
             "detail": {"ip": "10.0.3.7", "tags": [{"k": "env", "v": "prod"}, {"k": "team", "v": "x"}]}}

    def test(pattern):
        return events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]

    assert test({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}})
    assert not test({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}})
    assert test({"detail": {"tags": {"k": ["env"], "v": ["prod"]}}})
    assert not test({"detail": {"tags": {"k": ["env"], "v": ["x"]}}})  # same element rule
    assert test({"source": [{"anything-but": {"prefix": "aws."}}]})
    err = expect_error("InvalidEventPatternException", events.test_event_pattern,
                       EventPattern='{"detail": {"ip": [{"cidr": "10.0.0.0/99"}]}}', Event=json.dumps(event))
    assert "cidr" in error_message(err).lower()

    resp = events.put_events(Entries=[
        {"Source": "app", "DetailType": "ok", "Detail": "{}"},
        {"Source": "app", "DetailType": "no detail"},
        {"Source": "app", "DetailType": "bad", "Detail": "[1, 2"},
        {"Source": "app", "DetailType": "nobus", "Detail": "{}", "EventBusName": "missing-bus"},
        {"Source": "aws.ec2", "DetailType": "spoof", "Detail": "{}"},
    ])
    assert resp["FailedEntryCount"] == 4
    codes = [e.get("ErrorCode") for e in resp["Entries"]]
    assert codes == [None, "InvalidArgument", "MalformedDetail", "ResourceNotFoundException",
                     "NotAuthorizedForSourceException"]
    assert len(resp["Entries"][0]["EventId"]) == 36
    expect_error("ValidationException", events.put_events,
                 Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}] * 11)
    big = json.dumps({"blob": "x" * (256 * 1024)})
    expect_error("ValidationException", events.put_events,
                 Entries=[{"Source": "a", "DetailType": "b", "Detail": big}])


def test_api_destinations_with_each_authorization_and_an_input_transformer(server, receiver):
    events = server.client("events")
    rule = unique("dest")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.orders"]}))
    key_arn = api_destination(events, receiver.url + "/hook/key/*")
    basic_arn = api_destination(events, receiver.url + "/hook/basic", auth="BASIC")
    oauth_arn = api_destination(events, receiver.url + "/hook/oauth", auth="OAUTH_CLIENT_CREDENTIALS")
    out = events.put_targets(Rule=rule, Targets=[
        {"Id": "key", "Arn": key_arn,
         "HttpParameters": {"PathParameterValues": ["$.detail.id"],
                            "HeaderParameters": {"x-order": "$.detail.id", "x-static": "yes"},
                            "QueryStringParameters": {"src": "eb"}},
         "InputTransformer": {"InputPathsMap": {"id": "$.detail.id", "amount": "$.detail.amount"},
                              "InputTemplate": '{"order": <id>, "total": <amount>, "text": "order <id> by <aws.events.rule-name>"}'}},
        {"Id": "basic", "Arn": basic_arn, "InputPath": "$.detail"},
        {"Id": "oauth", "Arn": oauth_arn, "Input": '{"fixed": true}'},
    ])
    assert out["FailedEntryCount"] == 0, out
    event_id = put(events, detail={"id": "o-42", "amount": 99.5})

    key = retry_until(lambda: requests_to(receiver, "/hook/key"), timeout=10)[0]
    assert key["path"] == "/hook/key/o-42?src=eb"
    assert key["headers"]["x-api-key"] == "s3cret" and key["headers"]["x-order"] == "o-42"
    assert key["headers"]["x-static"] == "yes"
    assert json.loads(key["body"]) == {"order": "o-42", "total": 99.5, "text": f"order o-42 by {rule}"}
    basic = retry_until(lambda: requests_to(receiver, "/hook/basic"), timeout=10)[0]
    assert basic["headers"]["authorization"] == "Basic " + base64.b64encode(b"alice:pw").decode()
    assert json.loads(basic["body"]) == {"id": "o-42", "amount": 99.5}
    oauth = retry_until(lambda: requests_to(receiver, "/hook/oauth"), timeout=10)[0]
    assert oauth["headers"]["authorization"] == "Bearer tok-123"
    assert json.loads(oauth["body"]) == {"fixed": True}
    token = requests_to(receiver, "/token")[0]
    assert token["headers"]["authorization"] == "Basic " + base64.b64encode(b"client:csecret").decode()
    assert "grant_type=client_credentials" in token["body"] and "scope=events" in token["body"]
    assert event_id

    # Secrets never come back.
    name = key_arn.split("/")[1]
    conn = events.describe_connection(Name=name)
    assert conn["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    assert conn["ConnectionState"] == "AUTHORIZED"
    assert events.describe_api_destination(Name=name)["InvocationEndpoint"].endswith("/hook/key/*")
    assert name in [c["Name"] for c in events.list_connections()["Connections"]]
    events.deauthorize_connection(Name=name)
    assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
    expect_error("ResourceNotFoundException", events.describe_connection, Name="nope")


def test_retries_then_dead_letter_queue_with_eventbridge_attributes(server, receiver):
    events, sqs = server.client("events"), server.client("sqs")
    rule = unique("retry")
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.retry"]}))["RuleArn"]
    dlq_url, dlq_arn = queue_for_events(sqs, server.account_id)
    failing = api_destination(events, receiver.url + "/fail")
    events.put_targets(Rule=rule, Targets=[{
        "Id": "failing", "Arn": failing, "DeadLetterConfig": {"Arn": dlq_arn},
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}}])
    event_id = put(events, source="app.retry")
    msg = receive_all(sqs, dlq_url, 1, timeout=30)[0]
    assert json.loads(msg["Body"])["id"] == event_id
    attrs = {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()}
    assert attrs["RULE_ARN"] == rule_arn and attrs["TARGET_ARN"] == failing
    assert attrs["ERROR_CODE"] == "500" and attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["RETRY_ATTEMPTS"] == "2" and "500" in attrs["ERROR_MESSAGE"]
    assert len(requests_to(receiver, "/fail")) == 3  # the first attempt and two retries

    # A queue target without a policy for EventBridge refuses; the event goes to the DLQ
    # at once (no retries for a refusal).
    closed = sqs.create_queue(QueueName=unique("closed"))["QueueUrl"]
    closed_arn = sqs.get_queue_attributes(QueueUrl=closed, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "closed", "Arn": closed_arn,
                                            "DeadLetterConfig": {"Arn": dlq_arn}}])
    events.remove_targets(Rule=rule, Ids=["failing"])
    put(events, source="app.retry")
    refused = receive_all(sqs, dlq_url, 1, timeout=15)[0]
    refused_attrs = {k: v["StringValue"] for k, v in refused["MessageAttributes"].items()}
    assert refused_attrs["ERROR_CODE"] == "AccessDeniedException"
    assert "EXHAUSTED_RETRY_CONDITION" not in refused_attrs and refused_attrs["RETRY_ATTEMPTS"] == "0"


def test_queue_log_group_and_topic_targets(server):
    events, sqs, logs, sns = (server.client(s) for s in ("events", "sqs", "logs", "sns"))
    acct = server.account_id
    rule = unique("fanout")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.fanout"]}))
    url, qarn = queue_for_events(sqs, acct)
    group = f"/aws/events/{rule}"
    logs.create_log_group(logGroupName=group)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    topic_queue, topic_queue_arn = queue_for_events(sqs, acct)
    sqs.set_queue_attributes(QueueUrl=topic_queue, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": topic_queue_arn}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    events.put_targets(Rule=rule, Targets=[
        {"Id": "q", "Arn": qarn},
        {"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{acct}:log-group:{group}"},
        {"Id": "topic", "Arn": topic, "InputPath": "$.detail"},
    ])
    event_id = put(events, source="app.fanout", detail={"k": "v"})
    body = json.loads(receive_all(sqs, url, 1)[0]["Body"])
    assert body["id"] == event_id and body["detail"] == {"k": "v"} and body["account"] == acct
    assert body["source"] == "app.fanout" and body["detail-type"] == "Order"

    def logged():
        found = logs.filter_log_events(logGroupName=group)["events"]
        assert found, "no log events yet"
        return found

    entry = retry_until(logged, timeout=15)[0]
    assert json.loads(entry["message"])["id"] == event_id and entry["logStreamName"] == event_id
    assert json.loads(receive_all(sqs, topic_queue, 1)[0]["Body"]) == {"k": "v"}


def test_api_calls_and_alarm_changes_arrive_as_service_events(server, receiver):
    events, iam, cw = server.client("events"), server.client("iam"), server.client("cloudwatch")
    rule = unique("iam-calls")
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["CreateUser"]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/calls")}])
    alarms = unique("alarms")
    events.put_rule(Name=alarms, EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}))
    events.put_targets(Rule=alarms, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/alarms")}])

    user = unique("u")
    iam.create_user(UserName=user)
    iam.list_users()  # read-only calls stay off the bus
    call = json.loads(retry_until(lambda: requests_to(receiver, "/calls"), timeout=10)[0]["body"])
    assert call["source"] == "aws.iam" and call["detail"]["eventName"] == "CreateUser"
    assert call["detail"]["requestParameters"]["userName"] == user
    assert call["detail"]["eventSource"] == "iam.amazonaws.com"

    alarm = unique("cpu")
    cw.put_metric_alarm(AlarmName=alarm, Namespace="App", MetricName="Cpu", Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")

    def alarm_event():
        for r in requests_to(receiver, "/alarms"):
            e = json.loads(r["body"])
            if e["detail"]["alarmName"] == alarm:
                return e
        raise AssertionError("no alarm event yet")

    e = retry_until(alarm_event, timeout=10)
    assert e["detail-type"] == "CloudWatch Alarm State Change"
    assert e["detail"]["state"]["value"] == "ALARM"
    time.sleep(1)
    assert len(requests_to(receiver, "/calls")) == 1


def test_another_account_puts_events_only_once_the_bus_policy_allows_it(server, receiver):
    events = server.client("events")
    member = create_member_account(server.client("organizations"))
    creds = assume(server.client("sts"), org_role_arn(member))
    member_events = server.client("events", creds=creds)
    bus = unique("shared")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    rule = unique("cross")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["partner.app"]}))
    events.put_targets(Rule=rule, EventBusName=bus,
                       Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/cross")}])
    entry = {"Source": "partner.app", "DetailType": "hello", "Detail": "{}", "EventBusName": bus_arn}
    expect_error("AccessDeniedException", member_events.put_events, Entries=[entry])
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=member, StatementId="member")
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{member}:root"}
    resp = member_events.put_events(Entries=[entry])
    assert resp["FailedEntryCount"] == 0
    got = json.loads(retry_until(lambda: requests_to(receiver, "/cross"), timeout=10)[0]["body"])
    assert got["account"] == member and got["source"] == "partner.app"

    # A rule in the member account forwards from its own default bus to the shared bus.
    forward = unique("forward")
    member_events.put_rule(Name=forward, EventPattern=json.dumps({"source": ["partner.app"]}))
    member_events.put_targets(Rule=forward, Targets=[{"Id": "bus", "Arn": bus_arn}])
    member_events.put_events(Entries=[{"Source": "partner.app", "DetailType": "forwarded", "Detail": "{}"}])

    def forwarded():
        for r in requests_to(receiver, "/cross"):
            e = json.loads(r["body"])
            if e["detail-type"] == "forwarded":
                return e
        raise AssertionError("not forwarded yet")

    assert retry_until(forwarded, timeout=10)["account"] == member
    events.remove_permission(EventBusName=bus, StatementId="member")
    expect_error("AccessDeniedException", member_events.put_events, Entries=[entry])

    # Another account's bus, connection and API destination are not the member's to use.
    expect_error("AccessDeniedException", member_events.create_archive, ArchiveName=unique("spy"),
                 EventSourceArn=bus_arn)
    expect_error("AccessDeniedException", member_events.put_rule, Name=unique("spy"), EventBusName=bus_arn,
                 EventPattern=json.dumps({"source": ["x"]}))
    dest_arn = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"][0]["Arn"]
    conn_arn = events.describe_api_destination(Name=dest_arn.split("/")[1])["ConnectionArn"]
    expect_error("ResourceNotFoundException", member_events.create_api_destination, Name=unique("steal"),
                 ConnectionArn=conn_arn, InvocationEndpoint="http://127.0.0.1:9/", HttpMethod="POST")
    out = member_events.put_targets(Rule=forward, Targets=[{"Id": "theirs", "Arn": dest_arn}])
    assert out["FailedEntryCount"] == 1 and "account" in out["FailedEntries"][0]["ErrorMessage"]


def test_archive_and_replay_resend_events_marked_with_the_replay_name(server, receiver):
    events = server.client("events")
    bus = unique("arch")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive = unique("keep")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn,
                                        EventPattern=json.dumps({"source": ["app.keep"]}),
                                        RetentionDays=1)["ArchiveArn"]
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    ids = [put(events, source="app.keep", bus=bus, detail={"i": i}) for i in range(3)]
    put(events, source="app.other", bus=bus)
    described = retry_until(lambda: _archived(events, archive, 3), timeout=10)
    assert described["ArchiveArn"] == archive_arn and described["RetentionDays"] == 1
    assert described["SizeBytes"] > 0
    assert [a["EventCount"] for a in events.list_archives(NamePrefix=archive)["Archives"]] == [3]
    # The archive's events are in the lake: `sightline query` sees them, as rows of the
    # archive's account and region.
    rows = query(server, f"SELECT count(*) AS n, min(account_id) AS account, min(region) AS region, "
                         f"count(DISTINCT event_id) AS ids FROM archived_events WHERE archive = {sql_str(archive_arn)}")
    assert rows == [{"n": 3, "account": archive_arn.split(":")[4], "region": archive_arn.split(":")[3], "ids": 3}]
    kept = query(server, f"SELECT event FROM archived_events WHERE archive = {sql_str(archive_arn)} ORDER BY event_time, event_id")
    assert sorted(json.loads(r["event"])["id"] for r in kept) == sorted(ids)
    rule = unique("replayed")
    rule_arn = events.put_rule(Name=rule, EventBusName=bus,
                               EventPattern=json.dumps({"source": ["app.keep"]}))["RuleArn"]
    events.put_targets(Rule=rule, EventBusName=bus,
                       Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/replay")}])
    replay = unique("rp")
    resp = events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start,
                               EventEndTime=datetime.now(timezone.utc) + timedelta(seconds=1),
                               Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    assert resp["State"] == "STARTING"
    retry_until(lambda: _replay_state(events, replay, "COMPLETED"), timeout=15)
    got = [json.loads(r["body"]) for r in retry_until(lambda: _at_least(receiver, "/replay", 3), timeout=10)]
    assert sorted(e["id"] for e in got) == sorted(ids)
    assert all(e["replay-name"] == replay for e in got)
    assert replay in [r["ReplayName"] for r in events.list_replays()["Replays"]]
    expect_error("IllegalStatusException", events.cancel_replay, ReplayName=replay)
    expect_error("ValidationException", events.start_replay, ReplayName=unique("bad"),
                 EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=start - timedelta(hours=1),
                 Destination={"Arn": bus_arn})
    events.delete_archive(ArchiveName=archive)
    expect_error("ResourceNotFoundException", events.describe_archive, ArchiveName=archive)
    # Deleting the archive purges its events from the lake.
    retry_until(lambda: _lake_rows(server, archive_arn, 0), timeout=10)


def _lake_rows(server, archive_arn, n):
    rows = query(server, f"SELECT count(*) AS n FROM archived_events WHERE archive = {sql_str(archive_arn)}")
    assert rows == [{"n": n}], rows
    return rows


def _archived(events, name, count):
    d = events.describe_archive(ArchiveName=name)
    assert d["EventCount"] == count, d
    return d


def _replay_state(events, name, state):
    d = events.describe_replay(ReplayName=name)
    assert d["State"] == state, d
    return d


def _at_least(receiver, path, n):
    found = requests_to(receiver, path)
    assert len(found) >= n, f"{len(found)} of {n}"
    return found


def test_delivery_metrics_land_in_the_aws_events_namespace(server, receiver):
    events, cw = server.client("events"), server.client("cloudwatch")
    rule = unique("metered")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.metered"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/m")}])
    for _ in range(3):
        put(events, source="app.metered")

    def summed(metric):
        now = datetime.now(timezone.utc)
        points = cw.get_metric_statistics(Namespace="AWS/Events", MetricName=metric,
                                          Dimensions=[{"Name": "RuleName", "Value": rule}],
                                          StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
                                          Period=60, Statistics=["Sum"])["Datapoints"]
        total = sum(p["Sum"] for p in points)
        assert total == 3, f"{metric}: {total}"
        return total

    retry_until(lambda: summed("Invocations"), timeout=30, interval=1)
    retry_until(lambda: summed("TriggeredRules"), timeout=5, interval=1)


def test_remediation_command_runs_with_the_event_and_is_audited(server_factory, tmp_path):
    out = tmp_path / "remediated.json"
    script = tmp_path / "fix.sh"
    script.write_text(f"#!/bin/sh\ncat > {out}\necho fixed $SIGHTLINE_TARGET_ID\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    srv = server_factory.start(extra_args=["--remediation-command", f"restart-service={script}"])
    events = srv.client("events")
    acct = srv.account_id
    rule = unique("fix")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.health"]}))
    unknown = events.put_targets(Rule=rule, Targets=[
        {"Id": "nope", "Arn": f"arn:aws:sightline:us-east-1:{acct}:remediation/rm-rf"}])
    assert unknown["FailedEntryCount"] == 1
    events.put_targets(Rule=rule, Targets=[
        {"Id": "fix", "Arn": f"arn:aws:sightline:us-east-1:{acct}:remediation/restart-service"}])
    event_id = put(events, source="app.health", detail={"service": "web", "status": "down"})
    ran = retry_until(lambda: _written_json(out), timeout=10)
    assert ran["id"] == event_id and ran["detail"]["service"] == "web"
    trail = srv.client("cloudtrail")

    def audited():
        found = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "InvokeRemediationCommand"}])["Events"]
        assert found, "no audit record yet"
        return json.loads(found[0]["CloudTrailEvent"])

    record = retry_until(audited, timeout=15)
    details = record["serviceEventDetails"]
    assert details["command"] == "restart-service" and details["exitStatus"] == 0
    assert details["stdout"].strip() == "fixed fix" and details["eventId"] == event_id


def _written_json(path):
    """The JSON a command wrote to `path`; an AssertionError (retried) until it has."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise AssertionError(f"{path} not written yet: {e}") from e


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def test_a_topic_target_mails_the_event_through_an_email_subscription(server_factory):
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        srv = server_factory.start(extra_args=["--smtp-url", f"smtp://127.0.0.1:{smtp_port}"])
        events, sns = srv.client("events"), srv.client("sns")
        topic = sns.create_topic(Name=unique("mail"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
        def first_mail():
            assert mailbox.messages, "no confirmation mail yet"
            return mailbox.messages[0]

        confirm = retry_until(first_mail, timeout=15)
        link = next(w for w in confirm.get_payload(decode=True).decode().split() if "ConfirmSubscription" in w)
        assert requests.get(link, timeout=10).status_code == 200
        rule = unique("mail")
        events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.mail"]}))
        events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": topic, "InputTransformer": {
            "InputPathsMap": {"svc": "$.detail.service"}, "InputTemplate": '"Service <svc> is down"'}}])
        put(events, source="app.mail", detail={"service": "billing"})

        def mailed():
            for m in mailbox.messages[1:]:
                text = m.get_payload(decode=True).decode()
                if "billing" in text:
                    return text
            raise AssertionError("no event mail yet")

        assert "Service billing is down" in retry_until(mailed, timeout=15)
    finally:
        smtp.stop()


def test_a_cron_schedule_fires_scheduled_events(server, receiver):
    events = server.client("events")
    rule = unique("every-minute")
    rule_arn = events.put_rule(Name=rule, ScheduleExpression="cron(* * * * ? *)")["RuleArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/tick")}])
    tick = json.loads(retry_until(lambda: requests_to(receiver, "/tick"), timeout=75, interval=0.5)[0]["body"])
    assert tick["source"] == "aws.events" and tick["detail-type"] == "Scheduled Event"
    assert tick["resources"] == [rule_arn] and tick["detail"] == {}
    assert tick["time"].endswith(":00Z")
    events.disable_rule(Name=rule)
    expect_error("ValidationException", events.put_rule, Name=unique("bad"), ScheduleExpression="cron(0 12 * * * *)")


def test_acknowledged_events_are_delivered_after_a_sigkill(server_factory):
    port = free_port()
    srv = server_factory.start()
    events = srv.client("events")
    rule = unique("durable")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["app.durable"]}))
    # Nothing listens yet: every invocation fails and is retried.
    events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": api_destination(events, f"http://127.0.0.1:{port}/in")}])
    ids = {put(events, source="app.durable", detail={"i": i}) for i in range(20)}
    srv.kill()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    httpd.received = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        srv.start()

        def delivered():
            got = {json.loads(r["body"])["id"] for r in httpd.received}
            assert ids <= got, f"{len(ids - got)} not delivered yet"
            return got

        retry_until(delivered, timeout=60, interval=0.5)
    finally:
        httpd.shutdown()


def test_a_log_subscription_filter_delivers_matching_events_to_a_bus(server, receiver):
    events, logs = server.client("events"), server.client("logs")
    acct = server.account_id
    group = "/app/" + unique("sub")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    rule = unique("logsub")
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.logs"], "detail": {"logGroup": [group]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/logsub")}])
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                 destinationArn=f"arn:aws:events:us-east-1:{acct}:event-bus/default")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now, "message": "ERROR disk full"}, {"timestamp": now + 1, "message": "INFO fine"}])
    got = json.loads(retry_until(lambda: requests_to(receiver, "/logsub"), timeout=20)[0]["body"])
    assert got["detail-type"] == "CloudWatch Logs Subscription Filter"
    assert got["resources"] == [f"arn:aws:logs:us-east-1:{acct}:log-group:{group}"]
    detail = got["detail"]
    assert detail["messageType"] == "DATA_MESSAGE" and detail["subscriptionFilters"] == ["errors"]
    assert [e["message"] for e in detail["logEvents"]] == ["ERROR disk full"]


def test_read_only_calls_reach_only_rules_that_ask_for_all_management_events(server, receiver):
    events, iam = server.client("events"), server.client("iam")
    pattern = json.dumps({"source": ["aws.iam"], "detail": {"eventName": ["ListRoles"]}})
    every = unique("all-calls")
    events.put_rule(Name=every, EventPattern=pattern, State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    events.put_targets(Rule=every, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/all")}])
    writes = unique("writes-only")
    events.put_rule(Name=writes, EventPattern=pattern)
    events.put_targets(Rule=writes, Targets=[{"Id": "d", "Arn": api_destination(events, receiver.url + "/writes")}])
    iam.list_roles()
    call = json.loads(retry_until(lambda: requests_to(receiver, "/all"), timeout=10)[0]["body"])
    assert call["detail"]["eventName"] == "ListRoles" and call["detail"]["readOnly"] is True
    time.sleep(1)
    assert not [r for r in receiver.received if r["path"].startswith("/writes")]
    events.put_rule(Name=every, EventPattern=pattern, State="DISABLED")

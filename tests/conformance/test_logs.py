"""CloudWatch Logs: groups, streams, PutLogEvents with every batch rule, GetLogEvents
tokens, FilterLogEvents with filter patterns, retention, tags, metric and subscription
filters, and durability (restart, SIGKILL during ingestion).

Every call goes through the real aws CLI or boto3.
"""

from __future__ import annotations

import gzip
import http.server
import datetime as dt
import json
import socket
import subprocess
import threading
import time

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest

from sightline_support import (
    allow,
    audit_record,
    aws,
    aws_error,
    error_message,
    expect_error,
    free_port,
    make_user,
    policy,
    query,
    request_id_of,
    retry_until,
    sightline_bin,
    sql_str,
    unique,
)

pytestmark = pytest.mark.timeout(180)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@pytest.fixture
def logs(server):
    return server.client("logs")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_group(logs, **kwargs) -> str:
    name = unique("/sightline/test-")
    logs.create_log_group(logGroupName=name, **kwargs)
    return name


def new_stream(logs, group: str, name: str | None = None) -> str:
    name = name or unique("stream-")
    logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def put(logs, group, stream, messages, start=None, step=1):
    start = start if start is not None else now_ms() - 60_000
    events = [{"timestamp": start + i * step, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def all_filtered(logs, **kwargs) -> list[dict]:
    pages = logs.get_paginator("filter_log_events").paginate(**kwargs)
    return [e for p in pages for e in p["events"]]


# --------------------------------------------------------------------------- groups


def test_group_lifecycle_through_the_cli(server):
    name = unique("/cli/group-")
    env = server.env
    aws("logs", "create-log-group", "--log-group-name", name, "--tags", "team=core", env=env)
    err = aws_error("logs", "create-log-group", "--log-group-name", name, env=env,
                    code="ResourceAlreadyExistsException")
    assert "already exists" in err.stderr
    groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", name, env=env)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name]
    g = groups[0]
    assert g["arn"] == f"arn:aws:logs:us-east-1:{server.account_id}:log-group:{name}:*"
    assert g["logGroupArn"] == g["arn"][:-2]
    assert g["storedBytes"] == 0 and g["metricFilterCount"] == 0
    assert g["logGroupClass"] == "STANDARD"
    assert "retentionInDays" not in g
    assert abs(g["creationTime"] - now_ms()) < 60_000
    tags = aws("logs", "list-tags-log-group", "--log-group-name", name, env=env)["tags"]
    assert tags == {"team": "core"}
    aws("logs", "delete-log-group", "--log-group-name", name, env=env)
    aws_error("logs", "delete-log-group", "--log-group-name", name, env=env,
              code="ResourceNotFoundException")
    assert aws("logs", "describe-log-groups", "--log-group-name-prefix", name, env=env)["logGroups"] == []


def test_group_names_and_listing(logs):
    for bad in ["has space", "colon:name", "star*", "a" * 513]:
        err = expect_error("InvalidParameterException", logs.create_log_group, logGroupName=bad) \
            if len(bad) <= 512 else None
        if err is not None:
            assert "logGroupName" in error_message(err)
    base = unique("/list/")
    names = [f"{base}{i:02d}" for i in range(7)]
    for n in names:
        logs.create_log_group(logGroupName=n)
    seen, token = [], None
    while True:
        kwargs = {"logGroupNamePrefix": base, "limit": 3}
        if token:
            kwargs["nextToken"] = token
        page = logs.describe_log_groups(**kwargs)
        assert len(page["logGroups"]) <= 3
        seen += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    # logGroupNamePattern is a case-insensitive substring.
    found = logs.describe_log_groups(logGroupNamePattern=base.upper().strip("/") + "03")["logGroups"]
    assert [g["logGroupName"] for g in found] == [names[3]]
    expect_error("InvalidParameterException", logs.describe_log_groups,
                 logGroupNamePrefix=base, logGroupNamePattern="x")


# --------------------------------------------------------------------------- streams


def test_streams_order_and_statistics(logs):
    group = new_group(logs)
    a = new_stream(logs, group, "a-stream")
    b = new_stream(logs, group, "b-stream")
    expect_error("ResourceAlreadyExistsException", logs.create_log_stream,
                 logGroupName=group, logStreamName=a)
    expect_error("InvalidParameterException", logs.create_log_stream,
                 logGroupName=group, logStreamName="bad:name")
    expect_error("ResourceNotFoundException", logs.create_log_stream,
                 logGroupName=group + "-missing", logStreamName="x")
    t = now_ms() - 10_000
    put(logs, group, b, ["one", "two"], start=t - 5_000)
    put(logs, group, a, ["three"], start=t)

    def described(**kw):
        # Statistics are saved in the background; the described values follow within
        # seconds, as on AWS.
        return logs.describe_log_streams(logGroupName=group, **kw)["logStreams"]

    streams = described()
    assert [s["logStreamName"] for s in streams] == ["a-stream", "b-stream"]
    by_time = described(orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in by_time] == ["a-stream", "b-stream"]
    sb = {s["logStreamName"]: s for s in streams}["b-stream"]
    assert sb["firstEventTimestamp"] == t - 5_000
    assert sb["lastEventTimestamp"] == t - 4_999
    assert sb["storedBytes"] == len("one") + len("two")
    assert sb["arn"].endswith(f":log-group:{group}:log-stream:b-stream")
    assert [s["logStreamName"] for s in described(logStreamNamePrefix="b-")] == ["b-stream"]
    page = logs.describe_log_streams(logGroupName=group, limit=1)
    assert len(page["logStreams"]) == 1 and page["nextToken"]
    rest = logs.describe_log_streams(logGroupName=group, limit=1, nextToken=page["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["b-stream"]
    logs.delete_log_stream(logGroupName=group, logStreamName=a)
    expect_error("ResourceNotFoundException", logs.delete_log_stream,
                 logGroupName=group, logStreamName=a)
    assert [s["logStreamName"] for s in described()] == ["b-stream"]


# --------------------------------------------------------------------------- ingestion


def test_put_log_events_batch_rules_refuse_the_whole_batch(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    t = now_ms() - 60_000
    err = expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                       logStreamName=stream,
                       logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])
    assert error_message(err) == \
        "Log events in a single PutLogEvents request must be in chronological order."
    err = expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                       logStreamName=stream,
                       logEvents=[{"timestamp": t - 25 * HOUR_MS, "message": "a"},
                                  {"timestamp": t, "message": "b"}])
    assert "cannot span more than 24 hours" in error_message(err)
    big = "x" * 200_000
    err = expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                       logStreamName=stream,
                       logEvents=[{"timestamp": t + i, "message": big} for i in range(6)])
    assert error_message(err) == "Upload too large: 1200156 bytes exceeds limit of 1048576"
    expect_error("ResourceNotFoundException", logs.put_log_events, logGroupName=group,
                 logStreamName="missing", logEvents=[{"timestamp": t, "message": "m"}])
    err = expect_error("ResourceNotFoundException", logs.put_log_events, logGroupName=group + "x",
                       logStreamName=stream, logEvents=[{"timestamp": t, "message": "m"}])
    assert error_message(err) == "The specified log group does not exist."
    # Nothing of a refused batch was stored.
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert got["events"] == []
    # Exactly at the limits is fine: 10,000 events, and 1,048,576 bytes with overhead.
    ok = logs.put_log_events(logGroupName=group, logStreamName=stream,
                             logEvents=[{"timestamp": t, "message": "m"}] * 10_000)
    assert "rejectedLogEventsInfo" not in ok and ok["nextSequenceToken"]
    exact = "y" * (1_048_576 - 26)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t, "message": exact}])


def test_put_log_events_rejects_too_old_too_new_and_expired_events(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    now = now_ms()
    events = [
        {"timestamp": now - 15 * DAY_MS, "message": "too old"},
        {"timestamp": now - 15 * DAY_MS + 1, "message": "too old too"},
        {"timestamp": now - 1000, "message": "fine"},
        {"timestamp": now + 3 * HOUR_MS, "message": "too new"},
    ]
    # The span rule comes first: this batch spans more than 24 hours.
    expect_error("InvalidParameterException", logs.put_log_events, logGroupName=group,
                 logStreamName=stream, logEvents=events)
    events = [
        {"timestamp": now - 20 * HOUR_MS, "message": "kept"},
        {"timestamp": now + 3 * HOUR_MS - 1000, "message": "too new"},
    ]
    out = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    old_group = new_group(logs)
    old_stream = new_stream(logs, old_group)
    old = [{"timestamp": now - 15 * DAY_MS + i, "message": f"old {i}"} for i in range(3)]
    out = logs.put_log_events(logGroupName=old_group, logStreamName=old_stream, logEvents=old)
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    logs.put_retention_policy(logGroupName=old_group, retentionInDays=1)
    mixed = [
        {"timestamp": now - DAY_MS - 600_000, "message": "expired"},
        {"timestamp": now - DAY_MS - 599_999, "message": "expired too"},
        {"timestamp": now - 1_200_000, "message": "within retention"},
    ]
    out = logs.put_log_events(logGroupName=old_group, logStreamName=old_stream, logEvents=mixed)
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    got = logs.get_log_events(logGroupName=old_group, logStreamName=old_stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["within retention"]
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["kept"]


def test_put_log_events_is_audited_without_its_messages(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    out = put(logs, group, stream, ["a message that belongs in the log only"])
    record = audit_record(server, request_id_of(out))
    assert record["eventSource"] == "logs.amazonaws.com"
    assert record["eventName"] == "PutLogEvents"
    assert record["requestParameters"] == {"logGroupName": group, "logStreamName": stream}
    assert "a message that belongs" not in json.dumps(record)



def raw_put(srv, body: str) -> requests.Response:
    """PutLogEvents with a body written by hand, as clients other than botocore may
    spell it, signed like any call."""
    return requests.post(srv.endpoint + "/", data=body.encode(), auth=SigV4Auth(srv), timeout=30,
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "Logs_20140328.PutLogEvents"})


def test_put_log_events_reads_every_json_spelling_of_a_batch(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    t = now_ms() - 60_000
    # Escapes of every kind, a surrogate pair, members in either order, whitespace
    # between every token, and a member of the request the call does not know.
    body = (
        '{ "logStreamName" : "%s" ,\n "logEvents" : [\n'
        '  { "message" : "{\\"level\\":\\"INFO\\",\\"path\\":\\"a\\/b\\\\\\\\c\\"}\\t\\u00e9\\ud83d\\ude00",'
        ' "timestamp" : %d } ,\n'
        '  {"timestamp":%d,"message":"line\\nbreak \\"quoted\\" \\b\\f\\r\\u0001"}\n ] ,'
        ' "sequenceToken": "0001", "logGroupName": "%s" }'
    ) % (stream, t, t + 1, group)
    resp = raw_put(server, body)
    assert resp.status_code == 200, resp.text
    # Forms read the general way: a member of an event the call does not know, and a
    # whole-number timestamp written as a double.
    resp = raw_put(server, json.dumps({
        "logGroupName": group, "logStreamName": stream,
        "logEvents": [{"timestamp": t + 2, "message": "with extra", "extra": [1, {"a": None}]},
                      {"timestamp": float(t + 3), "message": "double time"}]}))
    assert resp.status_code == 200, resp.text
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [(e["timestamp"], e["message"]) for e in got["events"]] == [
        (t, '{"level":"INFO","path":"a/b\\\\c"}\t\u00e9\U0001F600'),
        (t + 1, 'line\nbreak "quoted" \b\f\r\u0001'),
        (t + 2, "with extra"),
        (t + 3, "double time"),
    ]
    # A batch whose event lacks its message, or whose message is not text, is refused
    # whole with the protocol's error, and nothing of it is stored.
    refused = [
        ([{"timestamp": t + 4}],
         "1 validation error detected: Value null at 'logEvents.1.member.message' failed to "
         "satisfy constraint: Member must not be null"),
        ([{"timestamp": t + 4, "message": "ok"}, {"timestamp": t + 5, "message": 7}],
         "Invalid value for logEvents.2.member.message: invalid type: integer `7`, "
         "expected a string"),
        ([{"timestamp": "soon", "message": "m"}],
         'Invalid value for logEvents.1.member.timestamp: invalid type: string "soon", '
         "expected i64"),
    ]
    for events, message in refused:
        resp = raw_put(server, json.dumps(
            {"logGroupName": group, "logStreamName": stream, "logEvents": events}))
        assert resp.status_code == 400, resp.text
        assert resp.json() == {"__type": "InvalidParameterException", "message": message}
    # Malformed JSON among the events is a malformed body, whichever way it is read.
    for events in ('[{"timestamp": %d, "message": "a\\qb"}]' % (t + 4),
                   '[{"timestamp": %d, "message": "tab\there"}]' % (t + 4),
                   '[{"timestamp": %d, "message": "a"},]' % (t + 4)):
        resp = raw_put(server, '{"logGroupName": "%s", "logStreamName": "%s", "logEvents": %s}'
                       % (group, stream, events))
        assert resp.status_code == 400, resp.text
        assert resp.json()["__type"] == "SerializationException", resp.text
        assert resp.json()["message"].startswith("Invalid JSON: "), resp.text
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert len(got["events"]) == 4


# --------------------------------------------------------------------------- reading


def test_get_log_events_tokens_walk_forward_and_backward(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    t = now_ms() - 600_000
    messages = [f"event {i:02d}" for i in range(25)]
    put(logs, group, stream, messages, start=t, step=1000)
    # Without a token the newest events come back (oldest first within the page).
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert [e["message"] for e in tail["events"]] == messages[15:]
    assert all(e["ingestionTime"] >= e["timestamp"] for e in tail["events"])
    back = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                               nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == messages[5:15]
    back2 = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                                nextToken=back["nextBackwardToken"])
    assert [e["message"] for e in back2["events"]] == messages[:5]
    # At the start the backward token stops moving.
    back3 = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                                nextToken=back2["nextBackwardToken"])
    assert back3["events"] == [] and back3["nextBackwardToken"] == back2["nextBackwardToken"]
    # From the head, forward pages until the forward token repeats.
    seen, token = [], None
    for _ in range(10):
        kwargs = {"logGroupName": group, "logStreamName": stream, "limit": 7, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == messages
    # New events appear behind the last forward token.
    put(logs, group, stream, ["late"], start=t + 100_000)
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token)
    assert [e["message"] for e in page["events"]] == ["late"]
    # startTime inclusive, endTime exclusive.
    window = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                 startTime=t + 3000, endTime=t + 6000)
    assert [e["message"] for e in window["events"]] == messages[3:6]
    expect_error("InvalidParameterException", logs.get_log_events, logGroupName=group,
                 logStreamName=stream, nextToken="f/not-a-token")
    expect_error("ResourceNotFoundException", logs.get_log_events, logGroupName=group,
                 logStreamName="nope")


def test_get_log_events_through_the_cli_by_group_arn(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["hello from the cli"])
    arn = f"arn:aws:logs:us-east-1:{server.account_id}:log-group:{group}"
    out = aws("logs", "get-log-events", "--log-group-identifier", arn, "--log-stream-name",
              stream, "--start-from-head", env=server.env)
    assert [e["message"] for e in out["events"]] == ["hello from the cli"]


def test_filter_log_events_with_patterns_and_pagination(server, logs):
    group = new_group(logs)
    s1 = new_stream(logs, group, "web-1")
    s2 = new_stream(logs, group, "web-2")
    s3 = new_stream(logs, group, "db-1")
    t = now_ms() - 300_000
    put(logs, group, s1, ["ERROR disk full", "INFO all good", "WARN slow"], start=t)
    put(logs, group, s2, ['{"level": "error", "latency": 250, "user": {"id": 7}}',
                          '{"level": "info", "latency": 12}'], start=t + 10)
    put(logs, group, s3, ["127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.html HTTP/1.0\" 404 2326",
                          "127.0.0.1 - frank [10/Oct/2000:13:55:37 -0700] \"GET /b.gif HTTP/1.0\" 200 100"],
        start=t + 20)

    def msgs(**kw):
        return [e["message"] for e in all_filtered(logs, logGroupName=group, **kw)]

    assert len(msgs()) == 7
    assert msgs(filterPattern="ERROR") == ["ERROR disk full"]
    assert msgs(filterPattern="?ERROR ?WARN") == ["ERROR disk full", "WARN slow"]
    assert msgs(filterPattern='"all good"') == ["INFO all good"]
    assert msgs(filterPattern="{ $.latency > 100 }") == [
        '{"level": "error", "latency": 250, "user": {"id": 7}}']
    assert msgs(filterPattern='{ $.level = "info" || $.user.id = 7 }') == [
        '{"level": "error", "latency": 250, "user": {"id": 7}}', '{"level": "info", "latency": 12}']
    assert msgs(filterPattern="[ip, id, user, timestamp, request, status_code = 4*, bytes]") == [
        "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.html HTTP/1.0\" 404 2326"]
    assert msgs(filterPattern="INFO", logStreamNames=["web-1"]) == ["INFO all good"]
    assert msgs(logStreamNamePrefix="db-") == [
        e for e in msgs() if e.startswith("127.")]
    assert msgs(startTime=t + 1, endTime=t + 10) == [
        "INFO all good", "WARN slow", '{"level": "error", "latency": 250, "user": {"id": 7}}']
    # Events come back by time across streams, with ids and stream names.
    events = all_filtered(logs, logGroupName=group)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert len({e["eventId"] for e in events}) == 7
    assert {e["logStreamName"] for e in events} == {"web-1", "web-2", "db-1"}
    # Explicit pages of two.
    page = logs.filter_log_events(logGroupName=group, limit=2)
    assert len(page["events"]) == 2 and page["nextToken"]
    assert {s["logStreamName"] for s in page["searchedLogStreams"]} == {"web-1", "web-2", "db-1"}
    nxt = logs.filter_log_events(logGroupName=group, limit=2, nextToken=page["nextToken"])
    assert [e["eventId"] for e in nxt["events"]] == [e["eventId"] for e in events[2:4]]
    # The CLI paginates on its own.
    out = aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern",
              "?disk ?slow", "--page-size", "1", env=server.env)
    assert [e["message"] for e in out["events"]] == ["ERROR disk full", "WARN slow"]
    expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group,
                 filterPattern="{ $.latency > }")
    expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group,
                 logStreamNames=["web-1"], logStreamNamePrefix="web")
    expect_error("ResourceNotFoundException", logs.filter_log_events,
                 logGroupName=group + "-missing")


def test_deleted_group_events_do_not_reappear(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["from the first group"])
    logs.delete_log_group(logGroupName=group)
    logs.create_log_group(logGroupName=group)
    new_stream(logs, group, stream)
    assert logs.filter_log_events(logGroupName=group)["events"] == []
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert got["events"] == []


# --------------------------------------------------------------------------- retention and tags


def test_retention_policy_values(logs):
    group = new_group(logs)
    for bad in [0, 2, 4, 366, 10_000]:
        err = expect_error("InvalidParameterException", logs.put_retention_policy,
                           logGroupName=group, retentionInDays=bad)
        assert "Member must satisfy enum value set" in error_message(err)
    for good in [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                 2192, 2557, 2922, 3288, 3653]:
        logs.put_retention_policy(logGroupName=group, retentionInDays=good)
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert g["retentionInDays"] == 3653
    logs.delete_retention_policy(logGroupName=group)
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert "retentionInDays" not in g
    expect_error("ResourceNotFoundException", logs.put_retention_policy,
                 logGroupName=group + "-missing", retentionInDays=1)


def test_retention_really_removes_stored_events(server_factory):
    srv = server_factory.start()
    logs = srv.client("logs")
    group = new_group(logs)
    other = new_group(logs)
    stream = new_stream(logs, group)
    other_stream = new_stream(logs, other)
    now = now_ms()
    put(logs, group, stream, ["two days old"], start=now - 2 * DAY_MS)
    put(logs, group, stream, ["fresh"], start=now - 1000)
    put(logs, other, other_stream, ["two days old elsewhere"], start=now - 2 * DAY_MS)

    def stored(name):
        sql = f"SELECT message FROM log_events WHERE log_group = {sql_str(name)} ORDER BY event_time"
        return [r["message"] for r in query(srv, sql)]

    assert stored(group) == ["two days old", "fresh"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    # Reads leave expired events out at once.
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["fresh"]
    assert [e["message"] for e in all_filtered(logs, logGroupName=group)] == ["fresh"]
    # Storage follows: the rows are gone from the lake, the other group's are not.
    def expect(name, messages):
        assert stored(name) == messages

    retry_until(lambda: expect(group, ["fresh"]), timeout=30)
    assert stored(other) == ["two days old elsewhere"]
    # A deleted group's events leave storage too.
    logs.delete_log_group(logGroupName=other)
    retry_until(lambda: expect(other, []), timeout=30)


def test_a_deleted_groups_events_leave_storage_even_across_a_crash(server_factory):
    srv = server_factory.start()
    logs = srv.client("logs")
    group, kept = new_group(logs), new_group(logs)
    stream, kept_stream = new_stream(logs, group), new_stream(logs, kept)
    start = now_ms() - 3_600_000
    # Enough events that removing them takes far longer than the kill below.
    for b in range(30):
        put(logs, group, stream, [f"batch {b} event {i} of a deleted group" for i in range(5000)],
            start=start + b * 5000)
    put(logs, kept, kept_stream, ["kept"], start=start)

    def count(name):
        sql = f"SELECT count(*) AS n FROM log_events WHERE log_group = {sql_str(name)}"
        return int(query(srv, sql)[0]["n"])

    assert count(group) == 150_000
    logs.delete_log_group(logGroupName=group)
    srv.kill()
    srv.start()

    def gone():
        assert count(group) == 0

    retry_until(gone, timeout=60)
    assert count(kept) == 1


def test_tags_by_name_and_by_arn(server, logs):
    group = new_group(logs, tags={"a": "1"})
    logs.tag_log_group(logGroupName=group, tags={"b": "2"})
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"a": "1", "b": "2"}
    logs.untag_log_group(logGroupName=group, tags=["a"])
    arn = f"arn:aws:logs:us-east-1:{server.account_id}:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"c": "3"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2", "c": "3"}
    logs.untag_resource(resourceArn=arn, tagKeys=["b", "c"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    expect_error("ResourceNotFoundException", logs.list_tags_for_resource,
                 resourceArn=arn + "-missing")
    expect_error("InvalidParameterException", logs.tag_log_group, logGroupName=group,
                 tags={"aws:reserved": "x"})


# --------------------------------------------------------------------------- filters


def test_metric_filters_and_test_metric_filter(server, logs):
    group = new_group(logs)
    logs.put_metric_filter(
        logGroupName=group, filterName="latency", filterPattern="{ $.latency > 0 }",
        metricTransformations=[{"metricName": "Latency", "metricNamespace": "App",
                                "metricValue": "$.latency", "unit": "Milliseconds"}])
    logs.put_metric_filter(
        logGroupName=group, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": "App",
                                "metricValue": "1", "defaultValue": 0}])
    got = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in got] == ["errors", "latency"]
    assert got[1]["metricTransformations"][0]["metricValue"] == "$.latency"
    assert got[0]["logGroupName"] == group
    by_metric = logs.describe_metric_filters(metricName="Latency", metricNamespace="App")
    assert group in {f["logGroupName"] for f in by_metric["metricFilters"]}
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 2
    expect_error("InvalidParameterException", logs.put_metric_filter, logGroupName=group,
                 filterName="bad", filterPattern="{ $.x = ",
                 metricTransformations=[{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}])
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    expect_error("ResourceNotFoundException", logs.delete_metric_filter, logGroupName=group,
                 filterName="errors")
    out = aws("logs", "test-metric-filter", "--filter-pattern",
              "[ip, user, status = 4*, bytes]", "--log-event-messages",
              "1.2.3.4 alice 404 10", "1.2.3.4 bob 200 20", "5.6.7.8 carol 403 30",
              env=server.env)
    matches = out["matches"]
    assert [m["eventNumber"] for m in matches] == [1, 3]
    assert matches[0]["eventMessage"] == "1.2.3.4 alice 404 10"
    assert matches[0]["extractedValues"]["$user"] == "alice"
    assert matches[1]["extractedValues"]["$status"] == "403"


def test_metric_filters_put_datapoints_into_the_metrics_dataset(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    ns = unique("App")
    logs.put_metric_filter(
        logGroupName=group, filterName="latency", filterPattern="{ $.latency > 0 }",
        metricTransformations=[{"metricName": "Latency", "metricNamespace": ns,
                                "metricValue": "$.latency", "unit": "Milliseconds",
                                "dimensions": {"Service": "$.service"}}])
    logs.put_metric_filter(
        logGroupName=group, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": ns,
                                "metricValue": "1", "defaultValue": 0}])
    minute = (now_ms() // 60_000 - 5) * 60_000
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": minute + 1, "message": '{"latency": 120, "service": "api"}'},
        {"timestamp": minute + 2, "message": '{"latency": 30, "service": "db"}'},
        {"timestamp": minute + 3, "message": "INFO fine"},
        {"timestamp": minute + 4, "message": '{"latency": "n/a", "service": "api"}'},
        {"timestamp": minute + 60_000, "message": "ERROR boom"},
        {"timestamp": minute + 60_001, "message": "ERROR again"},
    ])
    rows = query(server, "SELECT metric_name, dimensions, sum, count, unit, "
                 "CAST(sample_time AS BIGINT) AS t FROM metric_samples "
                 f"WHERE namespace = {sql_str(ns)} ORDER BY metric_name, t")
    got = [(r["metric_name"], json.loads(r["dimensions"]), r["sum"], r["count"], r["unit"], r["t"])
           for r in rows]
    assert got == [
        # The minute without an error reports the default value, once.
        ("Errors", {}, 0.0, 1.0, None, minute),
        ("Errors", {}, 1.0, 1.0, None, minute + 60_000),
        ("Errors", {}, 1.0, 1.0, None, minute + 60_001),
        ("Latency", {"Service": "api"}, 120.0, 1.0, "Milliseconds", minute + 1),
        ("Latency", {"Service": "db"}, 30.0, 1.0, "Milliseconds", minute + 2),
    ]


def test_subscription_filters(logs):
    group = new_group(logs)
    for name in ["one", "two"]:
        logs.put_subscription_filter(logGroupName=group, filterName=name, filterPattern="ERROR",
                                     destinationArn="arn:aws:events:us-east-1:123456789012:event-bus/default")
    err = expect_error("LimitExceededException", logs.put_subscription_filter, logGroupName=group,
                       filterName="three", filterPattern="",
                       destinationArn="arn:aws:events:us-east-1:123456789012:event-bus/default")
    assert error_message(err) == "Resource limit exceeded."
    # Replacing an existing filter is not a new one.
    logs.put_subscription_filter(logGroupName=group, filterName="two", filterPattern="WARN",
                                 destinationArn="arn:aws:events:us-east-1:123456789012:event-bus/default",
                                 distribution="Random")
    got = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [(f["filterName"], f["filterPattern"], f["distribution"]) for f in got] == [
        ("one", "ERROR", "ByLogStream"), ("two", "WARN", "Random")]
    logs.delete_subscription_filter(logGroupName=group, filterName="one")
    got = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [f["filterName"] for f in got] == ["two"]


class Receiver:
    """A local HTTP endpoint that records the subscription messages POSTed to it and
    answers the first `failures` of them with 503."""

    def __init__(self, failures: int = 0):
        self.messages: list[dict] = []
        self.failures = failures
        self.headers: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                receiver.messages.append(json.loads(gzip.decompress(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def data(self) -> list[dict]:
        return [m for m in self.messages if m["messageType"] == "DATA_MESSAGE"]

    def close(self):
        self.server.shutdown()


def test_subscription_filters_deliver_matching_events_over_http(server, logs):
    rx = Receiver()
    try:
        group = new_group(logs)
        s1 = new_stream(logs, group, "app-1")
        s2 = new_stream(logs, group, "app-2")
        put(logs, group, s1, ["ERROR before the filter existed"])
        logs.put_subscription_filter(logGroupName=group, filterName="errors",
                                     filterPattern="ERROR", destinationArn=rx.url)
        # The destination got AWS's test message when the filter was put.
        assert rx.messages[0]["messageType"] == "CONTROL_MESSAGE"
        t = now_ms() - 10_000
        put(logs, group, s1, ["ERROR one", "INFO skip", "ERROR two"], start=t)
        put(logs, group, s2, ["ERROR three"], start=t + 5)

        def delivered():
            got = {(m["logStream"], e["message"]) for m in rx.data() for e in m["logEvents"]}
            assert got == {("app-1", "ERROR one"), ("app-1", "ERROR two"), ("app-2", "ERROR three")}

        retry_until(delivered, timeout=20)
        m = rx.data()[0]
        assert m["owner"] == server.account_id and m["logGroup"] == group
        assert m["subscriptionFilters"] == ["errors"]
        assert set(m["logEvents"][0]) == {"id", "timestamp", "message"}
        assert rx.headers[-1]["content-encoding"] == "gzip"
        time.sleep(2)
        assert sum(len(m["logEvents"]) for m in rx.data()) == 3, "an event was delivered twice"
    finally:
        rx.close()


def test_subscription_delivery_retries_until_the_endpoint_takes_it(server, logs):
    rx = Receiver()
    try:
        group = new_group(logs)
        stream = new_stream(logs, group)
        logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                     destinationArn=rx.url)
        rx.failures = 3
        put(logs, group, stream, ["kept through failures"])

        def delivered():
            assert [e["message"] for m in rx.data() for e in m["logEvents"]] == ["kept through failures"]

        retry_until(delivered, timeout=30)
    finally:
        rx.close()
    err = expect_error("InvalidParameterException", logs.put_subscription_filter,
                       logGroupName=group, filterName="dead", filterPattern="",
                       destinationArn="http://127.0.0.1:9/nothing-listens")
    assert "Could not deliver test message" in error_message(err)
    expect_error("InvalidParameterException", logs.put_subscription_filter,
                 logGroupName=group, filterName="lambda", filterPattern="",
                 destinationArn="arn:aws:lambda:us-east-1:123456789012:function:f")


def test_subscription_delivery_resumes_after_sigkill(server_factory):
    rx = Receiver()
    try:
        srv = server_factory.start()
        logs = srv.client("logs")
        group = new_group(logs)
        stream = new_stream(logs, group)
        logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                     destinationArn=rx.url)
        rx.failures = 1_000_000  # nothing gets through before the crash
        put(logs, group, stream, [f"event {i}" for i in range(50)])
        time.sleep(1.5)
        srv.kill()
        rx.failures = 0
        srv.start()

        def delivered():
            got = sorted(e["message"] for m in rx.data() for e in m["logEvents"])
            assert got == sorted(f"event {i}" for i in range(50))

        retry_until(delivered, timeout=30)
    finally:
        rx.close()


def test_sightline_logs_tail_prints_and_follows(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group, "tail-stream")
    t = now_ms() - 60_000
    put(logs, group, stream, ["first line", "ERROR second line"], start=t)
    run = [sightline_bin(), "logs", "tail", group, "--since", "5m"]
    out = subprocess.run(run, env=server.env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [l.split(" ", 2)[1:] for l in lines] == [
        ["tail-stream", "first line"], ["tail-stream", "ERROR second line"]]
    assert lines[0].split(" ")[0].endswith("Z")
    out = subprocess.run(run + ["--filter", "ERROR"], env=server.env, capture_output=True,
                         text=True, timeout=30)
    assert [l.split(" ", 2)[2] for l in out.stdout.splitlines()] == ["ERROR second line"]
    # --since leaves older events out.
    old = new_stream(logs, group, "old-stream")
    put(logs, group, old, ["an hour ago"], start=now_ms() - 3_600_000)
    out = subprocess.run(run, env=server.env, capture_output=True, text=True, timeout=30)
    assert "an hour ago" not in out.stdout
    # --follow prints what arrives later, once.
    proc = subprocess.Popen(run + ["--follow"], env=server.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().endswith("first line\n")
        assert proc.stdout.readline().endswith("ERROR second line\n")
        put(logs, group, stream, ["arrived while following"], start=now_ms())
        assert proc.stdout.readline().endswith("tail-stream arrived while following\n")
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=10)
    assert "first line" not in rest and "arrived while following" not in rest
    bad = subprocess.run([sightline_bin(), "logs", "tail", group + "-missing"], env=server.env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1
    assert "(ResourceNotFoundException)" in bad.stderr


def logs_key(server, kms) -> str:
    """A KMS key whose policy lets the account and CloudWatch Logs (for its groups) use it."""
    account = server.account_id
    doc = policy(
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   f"arn:aws:logs:us-east-1:{account}:log-group:*"}}},
    )
    return server.client("kms").create_key(Policy=doc)["KeyMetadata"]["Arn"]


def stored_messages(server, group):
    sql = (f"SELECT message, key_id FROM log_events WHERE log_group = {sql_str(group)} "
           "ORDER BY event_time, seq")
    return [(r["message"], r["key_id"]) for r in query(server, sql)]


def test_kms_keyed_group_is_sealed_at_rest_and_needs_decrypt_to_read(server, logs):
    key_arn = logs_key(server, server.client("kms"))
    group = unique("/kms/group-")
    logs.create_log_group(logGroupName=group, kmsKeyId=key_arn)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["kmsKeyId"] == key_arn
    stream = new_stream(logs, group)
    put(logs, group, stream, ["secret one", "secret two"])
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["secret one", "secret two"]
    assert [e["message"] for e in all_filtered(logs, logGroupName=group, filterPattern="two")] == [
        "secret two"]
    # At rest the messages are sealed.
    stored = stored_messages(server, group)
    assert len(stored) == 2 and all(k == "1" for _, k in stored)
    assert not any("secret" in m for m, _ in stored)
    # A user allowed every logs action but not kms:Decrypt cannot read the events.
    iam = server.client("iam")
    reader = make_user(iam, "logreader", {"logs": policy(allow("logs:*"))})
    rl = server.client("logs", reader.creds)
    expect_error("AccessDeniedException", rl.get_log_events, logGroupName=group,
                 logStreamName=stream, startFromHead=True)
    expect_error("AccessDeniedException", rl.filter_log_events, logGroupName=group)
    # ... and can once kms:Decrypt on the key is granted.
    iam.put_user_policy(UserName=reader.name, PolicyName="decrypt",
                        PolicyDocument=policy(allow("kms:Decrypt", key_arn)))
    got = retry_until(lambda: rl.get_log_events(logGroupName=group, logStreamName=stream,
                                                startFromHead=True))
    assert [e["message"] for e in got["events"]] == ["secret one", "secret two"]


def test_kms_association_changes_only_new_events(server, logs):
    kms = server.client("kms")
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["plain before"], start=now_ms() - 30_000)
    # A key whose policy does not admit CloudWatch Logs is refused, and changes nothing.
    bare = kms.create_key()["KeyMetadata"]["Arn"]
    err = expect_error("InvalidParameterException", logs.associate_kms_key,
                       logGroupName=group, kmsKeyId=bare)
    assert "not allowed to be used" in error_message(err)
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    refused = unique("/kms/refused-")
    expect_error("InvalidParameterException", logs.create_log_group, logGroupName=refused,
                 kmsKeyId=bare)
    assert logs.describe_log_groups(logGroupNamePrefix=refused)["logGroups"] == []
    key_arn = logs_key(server, kms)
    logs.associate_kms_key(logGroupName=group, kmsKeyId=key_arn)
    put(logs, group, stream, ["sealed during"], start=now_ms() - 20_000)
    logs.disassociate_kms_key(logGroupName=group)
    put(logs, group, stream, ["plain after"], start=now_ms() - 10_000)
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["plain before", "sealed during", "plain after"]
    stored = stored_messages(server, group)
    assert [k for _, k in stored] == [None, "1", None]
    assert stored[0][0] == "plain before" and stored[2][0] == "plain after"
    assert "sealed" not in stored[1][0]
    expect_error("InvalidParameterException", logs.disassociate_kms_key, logGroupName=group)


def test_syslog_over_udp_and_tcp_into_log_groups(server_factory):
    udp, tcp, closed = free_port(), free_port(), free_port()
    srv = server_factory.start(extra_args=[
        "--syslog", f"udp://127.0.0.1:{udp}?group=/syslog/udp&allow=127.0.0.0/8",
        "--syslog", f"tcp://127.0.0.1:{tcp}?group=/syslog/tcp&allow=127.0.0.1/32",
        "--syslog", f"udp://127.0.0.1:{closed}?group=/syslog/closed&allow=10.0.0.0/8",
    ])
    logs = srv.client("logs")
    stamp = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).replace(microsecond=0)
    rfc5424 = f"<34>1 {stamp.strftime('%Y-%m-%dT%H:%M:%S')}.250Z web-1 sshd 42 ID47 - Failed password for root"
    rfc3164 = f"<13>{stamp.strftime('%b')} {stamp.day:2d} {stamp.strftime('%H:%M:%S')} db-2 cron[7]: job done"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(rfc5424.encode(), ("127.0.0.1", udp))
        u.sendto(rfc3164.encode(), ("127.0.0.1", udp))
        u.sendto(b"no header at all", ("127.0.0.1", udp))
        u.sendto(b"<13>from a network not allowed", ("127.0.0.1", closed))
    with socket.create_connection(("127.0.0.1", tcp)) as t:
        framed = b"<14>1 - tcp-host app - - - counted frame with\nnewline inside"
        t.sendall(str(len(framed)).encode() + b" " + framed)
        t.sendall(b"<14>1 - tcp-host app - - - line one\n<14>1 - tcp-host app - - - line two\n")

    def events(group):
        return {(e["logStreamName"], e["message"], e["timestamp"])
                for e in all_filtered(logs, logGroupName=group)}

    def udp_arrived():
        got = events("/syslog/udp")
        assert {(s, m) for s, m, _ in got} == {
            ("web-1", rfc5424), ("db-2", rfc3164), ("127.0.0.1", "no header at all")}
        times = {m: t for _, m, t in got}
        assert times[rfc5424] == int(stamp.timestamp() * 1000) + 250
        assert times[rfc3164] == int(stamp.timestamp() * 1000)

    retry_until(udp_arrived, timeout=20)

    def tcp_arrived():
        got = sorted(m for _, m, _ in events("/syslog/tcp"))
        assert got == sorted([
            "<14>1 - tcp-host app - - - counted frame with\nnewline inside",
            "<14>1 - tcp-host app - - - line one",
            "<14>1 - tcp-host app - - - line two",
        ])

    retry_until(tcp_arrived, timeout=20)
    streams = logs.describe_log_streams(logGroupName="/syslog/tcp")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["tcp-host"]
    # Nothing from a network the listener does not allow.
    time.sleep(0.5)
    assert logs.describe_log_groups(logGroupNamePrefix="/syslog/closed")["logGroups"] == []


class SigV4Auth(requests.auth.AuthBase):
    """Signs a `requests` request with SigV4 for CloudWatch Logs, as the collector's
    sigv4auth extension does for OTLP exporters."""

    def __init__(self, srv):
        self.creds = srv.root

    def __call__(self, r):
        body = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        signed = {k: v for k, v in r.headers.items()
                  if k.lower() in ("content-type", "content-encoding", "x-aws-log-group",
                                   "x-aws-log-stream")}
        req = AWSRequest(method=r.method, url=r.url, data=body, headers=signed)
        botocore.auth.SigV4Auth(self.creds.botocore(), "logs", "us-east-1").add_auth(req)
        for k, v in req.headers.items():
            r.headers[k] = v
        return r


def test_otlp_logs_from_the_opentelemetry_sdk(server, logs):
    import logging

    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    service = unique("checkout-")
    session = requests.Session()
    session.auth = SigV4Auth(server)
    exporter = OTLPLogExporter(endpoint=server.endpoint + "/v1/logs", session=session,
                               compression=Compression.Gzip)
    provider = LoggerProvider(resource=Resource.create(
        {"service.name": service, "service.instance.id": "i-0abc"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(service)
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    logger.warning("payment failed", extra={"order_id": 42})
    logger.error("card declined")
    provider.shutdown()
    group = f"/otlp/{service}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["i-0abc"]
    events = all_filtered(logs, logGroupName=group)
    docs = [json.loads(e["message"]) for e in events]
    assert [d["body"] for d in docs] == ["payment failed", "card declined"]
    assert docs[0]["severityText"] == "WARN" and docs[1]["severityText"] == "ERROR"
    assert docs[0]["attributes"]["order_id"] == 42
    assert docs[0]["resource"]["service.name"] == service
    assert abs(events[0]["timestamp"] - now_ms()) < 60_000
    # JSON patterns reach into the stored documents.
    hits = all_filtered(logs, logGroupName=group, filterPattern='{ $.attributes.order_id = 42 }')
    assert [json.loads(e["message"])["body"] for e in hits] == ["payment failed"]


def test_otlp_json_with_routing_headers_and_authentication(server, logs):
    group = unique("/otlp/json-")
    body = json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeLogs": [{"scope": {"name": "lib", "version": "1.0"}, "logRecords": [{
            "timeUnixNano": str((now_ms() - 5000) * 1_000_000),
            "severityText": "INFO",
            "body": {"stringValue": "hello over json"},
            "attributes": [{"key": "n", "value": {"intValue": "7"}},
                           {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}}],
            "traceId": "5b8efff798038103d269b633813fc60c",
        }]}],
    }]}).encode()
    headers = {"Content-Type": "application/json", "x-aws-log-group": group,
               "x-aws-log-stream": "edge"}
    resp = requests.post(server.endpoint + "/v1/logs", data=body, headers=headers,
                         auth=SigV4Auth(server), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {}
    got = logs.get_log_events(logGroupName=group, logStreamName="edge", startFromHead=True)
    doc = json.loads(got["events"][0]["message"])
    assert doc["body"] == "hello over json"
    assert doc["attributes"] == {"n": 7, "tags": ["a"]}
    assert doc["scope"] == {"name": "lib", "version": "1.0"}
    assert doc["traceId"] == "5b8efff798038103d269b633813fc60c"
    # Unsigned requests are refused and store nothing.
    other = unique("/otlp/unsigned-")
    resp = requests.post(server.endpoint + "/v1/logs", data=body,
                         headers={**headers, "x-aws-log-group": other}, timeout=30)
    assert resp.status_code in (400, 403)
    assert logs.describe_log_groups(logGroupNamePrefix=other)["logGroups"] == []
    # A malformed body is refused.
    resp = requests.post(server.endpoint + "/v1/logs", data=b"\xff\x01garbage",
                         headers={"Content-Type": "application/x-protobuf"},
                         auth=SigV4Auth(server), timeout=30)
    assert resp.status_code == 400


def run_query(logs, group, text, **kwargs):
    now = int(time.time())
    qid = logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now + 60,
                           queryString=text, **kwargs)["queryId"]

    def done():
        r = logs.get_query_results(queryId=qid)
        assert r["status"] not in ("Scheduled", "Running"), r["status"]
        return r

    r = retry_until(done, timeout=60)
    assert r["status"] == "Complete", r
    return qid, r


def rows(result):
    """Result rows as dicts, without the @ptr every non-aggregate row carries."""
    return [{c["field"]: c["value"] for c in row if c["field"] != "@ptr"}
            for row in result["results"]]


def test_logs_insights_queries(server, logs):
    group = new_group(logs)
    web = new_stream(logs, group, "web")
    t = (now_ms() // 300_000) * 300_000 - 600_000
    put(logs, group, web, [
        '{"service": "api", "latency": 120, "level": "ERROR", "user": {"id": 1}}',
        '{"service": "api", "latency": 80, "level": "INFO", "user": {"id": 2}}',
        '{"service": "db", "latency": 300, "level": "ERROR", "user": {"id": 1}}',
        "plain text line ERROR code=500 path=/orders",
    ], start=t, step=1000)
    put(logs, group, web, ['{"service": "db", "latency": 20, "level": "INFO"}'],
        start=t + 300_000)
    # fields, filter, sort, limit.
    _, r = run_query(logs, group, "fields @timestamp, @message, @logStream "
                     "| filter @message like /ERROR/ | sort @timestamp desc | limit 2")
    got = rows(r)
    assert [g["@message"] for g in got] == [
        "plain text line ERROR code=500 path=/orders",
        '{"service": "db", "latency": 300, "level": "ERROR", "user": {"id": 1}}']
    assert all(g["@logStream"] == "web" for g in got)
    assert all(any(c["field"] == "@ptr" for c in row) for row in r["results"])
    assert r["statistics"]["recordsScanned"] == 5
    assert r["statistics"]["recordsMatched"] == 3
    # Discovered JSON fields, numeric comparison, stats by a field.
    _, r = run_query(logs, group, "filter latency > 50 | stats avg(latency) as avg_latency, "
                     "count(*) by service | sort service")
    assert rows(r) == [{"service": "api", "avg_latency": "100", "count(*)": "2"},
                       {"service": "db", "avg_latency": "300", "count(*)": "1"}]
    # bin() buckets.
    _, r = run_query(logs, group, "stats count(*) by bin(5m) as slot | sort slot")
    got = rows(r)
    assert [g["count(*)"] for g in got] == ["4", "1"]
    # parse.
    _, r = run_query(logs, group, 'parse @message "code=* path=*" as code, path '
                     "| filter ispresent(code) | display code, path")
    assert rows(r) == [{"code": "500", "path": "/orders"}]
    # Nested fields and the StartQuery limit.
    _, r = run_query(logs, group, "filter user.id = 1 | fields service", limit=1)
    assert len(r["results"]) == 1
    # A malformed query says where.
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=group,
                       startTime=0, endTime=int(time.time()), queryString="fields @message | frobnicate")
    loc = err.response["queryCompileError"]["location"]
    assert loc["startCharOffset"] < loc["endCharOffset"]
    expect_error("ResourceNotFoundException", logs.start_query, logGroupName=group + "-missing",
                 startTime=0, endTime=int(time.time()), queryString="fields @message")
    expect_error("ResourceNotFoundException", logs.get_query_results, queryId="nope")


def test_logs_insights_through_the_cli_and_sightline_logs_query(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ['{"op": "get", "ms": 5}', '{"op": "put", "ms": 7}',
                              '{"op": "get", "ms": 9}'])
    now = int(time.time())
    qid = aws("logs", "start-query", "--log-group-name", group, "--start-time", str(now - 3600),
              "--end-time", str(now + 60), "--query-string",
              "stats count(*) as n, max(ms) as slowest by op | sort op", env=server.env)["queryId"]

    def done():
        r = aws("logs", "get-query-results", "--query-id", qid, env=server.env)
        assert r["status"] == "Complete", r["status"]
        return r

    r = retry_until(done, timeout=60)
    assert rows(r) == [{"op": "get", "n": "2", "slowest": "9"}, {"op": "put", "n": "1", "slowest": "7"}]
    listed = logs.describe_queries(logGroupName=group)["queries"]
    assert [q["queryId"] for q in listed] == [qid]
    assert listed[0]["status"] == "Complete"
    assert logs.stop_query(queryId=qid)["success"] is False
    out = subprocess.run([sightline_bin(), "logs", "query", "--group", group, "--format", "csv",
                          "stats count(*) as n by op | sort op"],
                         env=server.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["op,n", "get,2", "put,1"]
    bad = subprocess.run([sightline_bin(), "logs", "query", "--group", group, "fields |"],
                         env=server.env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "(MalformedQueryException)" in bad.stderr


def test_logs_insights_stop_query_cancels(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, [f"line {i}" for i in range(1000)])
    now = int(time.time())
    qid = logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now + 60,
                           queryString="stats count(*) by @message")["queryId"]
    stopped = logs.stop_query(queryId=qid)["success"]
    status = logs.get_query_results(queryId=qid)["status"]
    # Either the stop caught it running, or it had already finished.
    assert (stopped and status == "Cancelled") or (not stopped and status == "Complete")
    if stopped:
        time.sleep(0.5)
        assert logs.get_query_results(queryId=qid)["status"] == "Cancelled"


def test_logs_insights_pattern(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, [
        "ERROR Connection to 10.0.0.1:5432 failed after 30 ms",
        "INFO user alice logged in from 192.168.1.10",
        "INFO user bob logged in from 192.168.1.11",
        "ERROR Connection to 10.0.0.2:5432 failed after 45 ms",
        "INFO user carol logged in from 10.1.2.3",
        "WARN disk usage at 91%",
    ], step=1000)
    _, r = run_query(logs, group, "pattern @message")
    assert rows(r) == [
        {"@pattern": "INFO user <Token-1> logged in from <Token-2>", "@ratio": "0.5",
         "@sampleCount": "3", "@severityLabel": "Info"},
        {"@pattern": "ERROR Connection to <Token-1> failed after <Token-2> ms",
         "@ratio": "0.3333", "@sampleCount": "2", "@severityLabel": "Error"},
        {"@pattern": "WARN disk usage at <Token-1>", "@ratio": "0.1667",
         "@sampleCount": "1", "@severityLabel": "Warning"},
    ]
    assert all(all(c["field"] != "@ptr" for c in row) for row in r["results"])
    assert r["statistics"]["recordsScanned"] == 6
    assert r["statistics"]["recordsMatched"] == 6
    # Commands before it feed it; sort and limit apply to the patterns.
    _, r = run_query(logs, group, "filter @message not like /WARN/ | pattern @message "
                     "| sort @sampleCount asc | limit 1")
    assert [g["@pattern"] for g in rows(r)] == [
        "ERROR Connection to <Token-1> failed after <Token-2> ms"]
    assert r["statistics"]["recordsMatched"] == 5
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=group,
                       startTime=0, endTime=int(time.time()), queryString="pattern")
    loc = err.response["queryCompileError"]["location"]
    assert (loc["startCharOffset"], loc["endCharOffset"]) == (0, 7)


def test_logs_insights_diff(server, logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    now = int(time.time())
    start, end = now - 1800, now + 60
    length = end - start + 1
    # Older than the previous period: ignored.
    put(logs, group, stream, ["DEBUG ancient 1"], start=(start - 2 * length - 60) * 1000)
    # The previous period: [start - length, start).
    put(logs, group, stream, ["ERROR payment 901 declined", "INFO order 5 shipped",
                              "INFO order 6 shipped", "DEBUG cache warmed"],
        start=(start - 600) * 1000, step=1000)
    put(logs, group, stream, ["ERROR payment 1001 declined", "ERROR payment 1002 declined",
                              "INFO order 17 shipped", "WARN queue depth 250"],
        start=(now - 60) * 1000, step=1000)
    qid = logs.start_query(logGroupName=group, startTime=start, endTime=end,
                           queryString="pattern @message | diff")["queryId"]

    def done():
        got = logs.get_query_results(queryId=qid)
        assert got["status"] not in ("Scheduled", "Running"), got["status"]
        return got

    r = retry_until(done, timeout=60)
    assert r["status"] == "Complete", r
    assert rows(r) == [
        {"@pattern": "ERROR payment <Token-1> declined", "@previousSampleCount": "1",
         "@sampleCount": "2", "@changeInSampleCount": "1", "@changePercentage": "100",
         "@severityLabel": "Error", "@ratio": "0.5"},
        {"@pattern": "INFO order <Token-1> shipped", "@previousSampleCount": "2",
         "@sampleCount": "1", "@changeInSampleCount": "-1", "@changePercentage": "-50",
         "@severityLabel": "Info", "@ratio": "0.25"},
        {"@pattern": "WARN queue depth <Token-1>", "@previousSampleCount": "0",
         "@sampleCount": "1", "@changeInSampleCount": "1", "@changePercentage": "100",
         "@severityLabel": "Warning", "@ratio": "0.25"},
        {"@pattern": "DEBUG cache warmed", "@previousSampleCount": "1",
         "@sampleCount": "0", "@changeInSampleCount": "-1", "@changePercentage": "-100",
         "@severityLabel": "Debug", "@ratio": "0"},
    ]
    # Statistics count the query's own period.
    assert r["statistics"]["recordsScanned"] == 4
    # A range from the epoch has a previous period before it; diff alone clusters @message.
    qid = logs.start_query(logGroupName=group, startTime=0, endTime=end,
                           queryString="filter @message like /payment/ | diff")["queryId"]
    r = retry_until(done, timeout=60)
    assert r["status"] == "Complete", r
    assert [(g["@pattern"], g["@previousSampleCount"], g["@sampleCount"]) for g in rows(r)] == [
        ("ERROR payment <Token-1> declined", "0", "3")]
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=group,
                       startTime=start, endTime=end, queryString="stats count(*) | diff")
    loc = err.response["queryCompileError"]["location"]
    assert (loc["startCharOffset"], loc["endCharOffset"]) == (17, 21)


def sightline_call(srv, creds, op, body):
    """A call to Sightline's own API (awsJson1_1, signing name `sightline`)."""
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Sightline_20261126.{op}"})
    botocore.auth.SigV4Auth(creds.botocore(), "sightline", "us-east-1").add_auth(req)
    return requests.post(srv.endpoint + "/", data=data, headers=dict(req.headers), timeout=30)


def otlp_json(message):
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": str(now_ms() * 1_000_000), "body": {"stringValue": message}}]}]}]}).encode()


def test_otlp_with_a_per_account_ingest_token(server, logs):
    made = sightline_call(server, server.root, "CreateIngestToken", {"Description": "edge agent"})
    assert made.status_code == 200, made.text
    token_id, token = made.json()["TokenId"], made.json()["Token"]
    cli = subprocess.run([sightline_bin(), "logs", "token", "create", "--description", "cli"],
                         env=server.env, capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0 and cli.stdout.startswith("slt_"), cli.stderr
    secret = token.split("_", 2)[2]
    group = unique("/otlp/token-")
    headers = {"Content-Type": "application/json", "x-aws-log-group": group,
               "x-aws-log-stream": "agent", "Authorization": f"Bearer {token}"}
    resp = requests.post(server.endpoint + "/v1/logs", data=otlp_json("pushed with a token"),
                         headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    got = logs.get_log_events(logGroupName=group, logStreamName="agent", startFromHead=True)
    assert [json.loads(e["message"])["body"] for e in got["events"]] == ["pushed with a token"]
    # The secret is shown once: neither the listing nor the audit record holds it.
    listed = sightline_call(server, server.root, "ListIngestTokens", {}).json()["Tokens"]
    assert [t["TokenId"] for t in listed if t["TokenId"] == token_id] == [token_id]
    assert secret not in json.dumps(listed)
    record = audit_record(server, made.headers["x-amzn-RequestId"])
    assert record["eventName"] == "CreateIngestToken"
    assert secret not in json.dumps(record)
    # The token is good for OTLP logs only.
    other = requests.post(server.endpoint + "/v1/logs", data=json.dumps({"logGroupName": group}),
                          headers={"Content-Type": "application/x-amz-json-1.1",
                                   "X-Amz-Target": "Logs_20140328.DeleteLogGroup",
                                   "Authorization": f"Bearer {token}"}, timeout=30)
    assert other.status_code in (400, 403) and "AccessDenied" in other.text
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] != []
    # A wrong secret is refused.
    bad = requests.post(server.endpoint + "/v1/logs", data=otlp_json("x"),
                        headers={**headers, "Authorization": f"Bearer {token[:-3]}abc"}, timeout=30)
    assert bad.status_code in (400, 403)
    # IAM still decides: a token of a user without logs:PutLogEvents cannot write.
    iam = server.client("iam")
    user = make_user(iam, "tokenmaker", {"tokens": policy(allow("sightline:CreateIngestToken"))})
    theirs = sightline_call(server, user.creds, "CreateIngestToken", {}).json()["Token"]
    denied = requests.post(server.endpoint + "/v1/logs", data=otlp_json("nope"),
                           headers={**headers, "Authorization": f"Bearer {theirs}"}, timeout=30)
    assert denied.status_code in (400, 403) and "AccessDenied" in denied.text
    # The CLI lists and deletes tokens; a deleted token stops working.
    listed = subprocess.run([sightline_bin(), "logs", "token", "list"], env=server.env,
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0 and token_id in listed.stdout and secret not in listed.stdout
    gone = subprocess.run([sightline_bin(), "logs", "token", "delete", token_id], env=server.env,
                          capture_output=True, text=True, timeout=30)
    assert gone.returncode == 0, gone.stderr
    after = requests.post(server.endpoint + "/v1/logs", data=otlp_json("late"), headers=headers,
                          timeout=30)
    assert after.status_code in (400, 403)
    got = logs.get_log_events(logGroupName=group, logStreamName="agent", startFromHead=True)
    assert len(got["events"]) == 1


# --------------------------------------------------------------------------- durability


def test_everything_survives_a_restart(server_factory):
    srv = server_factory.start()
    logs = srv.client("logs")
    group = new_group(logs)
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["before restart 1", "before restart 2"])
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="restart",
                           metricTransformations=[{"metricName": "M", "metricNamespace": "N",
                                                   "metricValue": "1"}])
    assert srv.stop() == 0
    srv.start()
    logs = srv.client("logs")
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert g["retentionInDays"] == 30 and g["metricFilterCount"] == 1
    s = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert s["storedBytes"] == len("before restart 1") * 2
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["before restart 1", "before restart 2"]


def test_sigkill_during_ingestion_loses_no_acknowledged_batch(server_factory):
    srv = server_factory.start()
    logs = srv.client("logs")
    group = new_group(logs)
    stream = new_stream(logs, group)
    acked: list[int] = []
    stop = threading.Event()

    def writer():
        client = srv.client("logs")
        batch = 0
        base = now_ms() - 3_600_000
        while not stop.is_set():
            events = [{"timestamp": base + batch, "message": f"batch {batch} event {i}"}
                      for i in range(200)]
            try:
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            except Exception:
                return
            acked.append(batch)
            batch += 1

    th = threading.Thread(target=writer)
    th.start()
    deadline = time.time() + 30
    while len(acked) < 20 and time.time() < deadline:
        time.sleep(0.05)
    srv.kill()
    stop.set()
    th.join(timeout=30)
    assert len(acked) >= 20
    srv.start()
    logs = srv.client("logs")
    messages = [e["message"] for e in all_filtered(logs, logGroupName=group)]
    assert len(messages) == len(set(messages)), "an event was stored twice"
    present = {int(m.split()[1]) for m in messages}
    missing = [b for b in acked if b not in present]
    assert not missing, f"acknowledged batches lost: {missing[:10]}"
    # A batch is all or nothing.
    for b in present:
        assert sum(1 for m in messages if m.startswith(f"batch {b} ")) == 200

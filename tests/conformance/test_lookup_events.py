"""CloudTrail LookupEvents over the audit lake, through the real aws CLI and boto3:
every lookup attribute, time ranges, newest-first order, MaxResults/NextToken paging,
CloudTrailEvent against the stored record, errors, and region scoping.

The module runs on its own server (`module_server`) so that it knows every event of the
account; lookups are themselves audited (EventName LookupEvents, read-only, by root), so
tests that filter on something root shares with other calls bound the time window."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field

import pytest

from sightline_support import (
    Creds,
    User,
    allow,
    as_utc,
    audit_record,
    aws,
    aws_error,
    expect_error,
    lookup_all,
    make_user,
    policy,
    query,
    request_id_of,
    trust,
    unique,
)

pytestmark = pytest.mark.timeout(150)


# --------------------------------------------------------------------------- helpers


def iso(epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_second() -> int:
    """Sleeps into the next wall-clock second (event times have one-second resolution)
    and returns it."""
    now = time.time()
    target = math.floor(now) + 1
    time.sleep(target - now + 0.02)
    return target


def sleep_until_second(second: int) -> None:
    now = time.time()
    if now < second + 0.02:
        time.sleep(second + 0.02 - now)


def cli_lookup(env, *args, attribute=None, start=None, end=None, region=None) -> list:
    """`aws cloudtrail lookup-events` (the CLI follows NextToken by itself)."""
    argv = ["cloudtrail", "lookup-events", *args]
    if attribute is not None:
        argv += ["--lookup-attributes", f"AttributeKey={attribute[0]},AttributeValue={attribute[1]}"]
    if start is not None:
        argv += ["--start-time", iso(start)]
    if end is not None:
        argv += ["--end-time", iso(end)]
    if region is not None:
        argv += ["--region", region]
    return aws(*argv, env=env)["Events"]


def sdk_lookup(srv, attribute=None, start=None, end=None, region="us-east-1", **kwargs) -> list:
    """The same through boto3, following NextToken."""
    args = dict(kwargs)
    if attribute is not None:
        args["LookupAttributes"] = [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}]
    if start is not None:
        args["StartTime"] = dt.datetime.fromtimestamp(start, dt.timezone.utc)
    if end is not None:
        args["EndTime"] = dt.datetime.fromtimestamp(end, dt.timezone.utc)
    return lookup_all(srv.client("cloudtrail", region=region), **args)


def rids(events) -> list:
    return [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]


@dataclass
class Call:
    request_id: str
    name: str
    source: str
    username: str
    access_key: str
    read_only: bool
    resources: list  # [(type, short name)]


@dataclass
class Scenario:
    user: User
    role_name: str
    role_arn: str
    session_name: str
    session: Creds
    root_key: str
    start: int  # first second of the scenario
    end: int  # a second after its last event; nothing else happens until end + 1
    calls: list = field(default_factory=list)

    def select(self, pred) -> list:
        return sorted(c.request_id for c in self.calls if pred(c))


@pytest.fixture(scope="module")
def scenario(module_server) -> Scenario:
    """Distinctive calls by root, an IAM user and a role session, in their own window."""
    srv = module_server
    root_key = srv.root.access_key_id
    account = srv.account_id  # (a GetCallerIdentity call the first time: not in the window)
    start = next_second()
    iam = srv.client("iam")
    calls = []
    user_name = unique("lk-user")
    role_name = unique("lk-role")
    session_name = unique("lk-sess")
    U = ("AWS::IAM::User", user_name)
    R = ("AWS::IAM::Role", role_name)

    def root_call(resp, name, source, read_only, resources):
        calls.append(Call(request_id_of(resp), name, source, "root", root_key, read_only, resources))
        return resp

    created = root_call(iam.create_user(UserName=user_name), "CreateUser", "iam", False, [U])
    key = root_call(iam.create_access_key(UserName=user_name), "CreateAccessKey", "iam", False, [U])
    root_call(
        iam.put_user_policy(UserName=user_name, PolicyName="p", PolicyDocument=policy(allow("iam:GetUser"))),
        "PutUserPolicy", "iam", False, [U],
    )
    role = root_call(
        iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:root")),
        "CreateRole", "iam", False, [R],
    )["Role"]
    assumed = root_call(
        srv.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName=session_name),
        "AssumeRole", "sts", False, [R],
    )
    user = User(user_name, created["User"]["Arn"], created["User"]["UserId"], Creds.from_access_key(key["AccessKey"]))
    session = Creds.from_sts(assumed["Credentials"])

    def as_user(resp, name, source, read_only, resources):
        calls.append(Call(request_id_of(resp), name, source, user_name, user.creds.access_key_id, read_only, resources))

    def as_session(resp, name, source, read_only, resources):
        calls.append(Call(request_id_of(resp), name, source, session_name, session.access_key_id, read_only, resources))

    user_iam = srv.client("iam", user.creds)
    as_user(user_iam.get_user(UserName=user_name), "GetUser", "iam", True, [U])
    as_user(srv.client("sts", user.creds).get_caller_identity(), "GetCallerIdentity", "sts", True, [])
    as_user(expect_error("AccessDenied", user_iam.get_role, RoleName=role_name), "GetRole", "iam", True, [R])
    as_session(srv.client("sts", session).get_caller_identity(), "GetCallerIdentity", "sts", True, [])
    as_session(
        expect_error("AccessDenied", srv.client("iam", session).get_user, UserName=user_name),
        "GetUser", "iam", True, [U],
    )
    for c in calls:
        c.source = f"{c.source}.amazonaws.com"
    end = math.floor(time.time()) + 1
    sleep_until_second(end + 1)
    return Scenario(user, role_name, role["Arn"], session_name, session, root_key, start, end, calls)


# --------------------------------------------------------------------------- attributes


def _on(kind):
    return lambda s, c: any(t == kind for t, _ in c.resources)


ATTRIBUTES = [
    # (id, key, value of the scenario, which calls must match, bound to the scenario's
    # window, through the CLI or boto3): every key goes through the CLI once.
    ("EventId", "EventId", None, None, False, "cli"),
    ("EventName", "EventName", lambda s: "GetUser", lambda s, c: c.name == "GetUser", True, "cli"),
    ("ReadOnly-true", "ReadOnly", lambda s: "true", lambda s, c: c.read_only, True, "cli"),
    ("ReadOnly-false", "ReadOnly", lambda s: "false", lambda s, c: not c.read_only, True, "sdk"),
    ("Username-user", "Username", lambda s: s.user.name, lambda s, c: c.username == s.user.name, False, "cli"),
    ("Username-session", "Username", lambda s: s.session_name, lambda s, c: c.username == s.session_name, False, "cli"),
    ("Username-root", "Username", lambda s: "root", lambda s, c: c.username == "root", True, "sdk"),
    ("ResourceType-user", "ResourceType", lambda s: "AWS::IAM::User", _on("AWS::IAM::User"), True, "cli"),
    ("ResourceType-role", "ResourceType", lambda s: "AWS::IAM::Role", _on("AWS::IAM::Role"), True, "sdk"),
    ("ResourceName-user", "ResourceName", lambda s: s.user.name, _on("AWS::IAM::User"), False, "cli"),
    ("ResourceName-user-arn", "ResourceName", lambda s: s.user.arn, _on("AWS::IAM::User"), False, "sdk"),
    ("ResourceName-role", "ResourceName", lambda s: s.role_name, _on("AWS::IAM::Role"), False, "sdk"),
    ("ResourceName-role-arn", "ResourceName", lambda s: s.role_arn, _on("AWS::IAM::Role"), False, "sdk"),
    ("EventSource-sts", "EventSource", lambda s: "sts.amazonaws.com", lambda s, c: c.source == "sts.amazonaws.com", True, "cli"),
    ("EventSource-iam", "EventSource", lambda s: "iam.amazonaws.com", lambda s, c: c.source == "iam.amazonaws.com", True, "sdk"),
    ("AccessKeyId-user", "AccessKeyId", lambda s: s.user.creds.access_key_id,
     lambda s, c: c.access_key == s.user.creds.access_key_id, False, "cli"),
    ("AccessKeyId-session", "AccessKeyId", lambda s: s.session.access_key_id,
     lambda s, c: c.access_key == s.session.access_key_id, False, "sdk"),
    ("AccessKeyId-root", "AccessKeyId", lambda s: s.root_key, lambda s, c: c.access_key == s.root_key, True, "sdk"),
]


@pytest.mark.parametrize(
    "key,value,expected,windowed,via",
    [a[1:] for a in ATTRIBUTES],
    ids=[a[0] for a in ATTRIBUTES],
)
def test_lookup_attribute_matches_exactly_the_expected_events(module_server, scenario, key, value, expected, windowed, via):
    s = scenario
    if key == "EventId":
        target = next(c for c in s.calls if c.name == "GetCallerIdentity" and c.username == s.user.name)
        value_text = audit_record(module_server, target.request_id)["eventID"]
        want = [target.request_id]
    else:
        value_text = value(s)
        want = s.select(lambda c: expected(s, c))
    assert want, "the scenario has no event for this case"
    # Attributes that root's later calls (these lookups) share are bound to the
    # scenario's window; the others must match nothing else in the whole history.
    window = {"start": s.start, "end": s.end} if windowed else {}
    if via == "cli":
        events = cli_lookup(module_server.env, attribute=(key, value_text), **window)
    else:
        events = sdk_lookup(module_server, attribute=(key, value_text), **window)
    got = rids(events)
    assert len(got) == len(set(got)), f"duplicate events: {got}"
    assert sorted(got) == want, (
        f"{key}={value_text}: expected {[c.name for c in s.calls if c.request_id in want]}, "
        f"got {[e['EventName'] for e in events]}"
    )


def test_unfiltered_window_holds_exactly_the_scenario(module_server, scenario):
    events = sdk_lookup(module_server, start=scenario.start, end=scenario.end)
    assert sorted(rids(events)) == sorted(c.request_id for c in scenario.calls)


def test_events_summarize_their_cloudtrail_record(module_server, scenario):
    s = scenario
    events = cli_lookup(module_server.env, attribute=("Username", s.user.name))
    by_rid = {c.request_id: c for c in s.calls}
    assert sorted(rids(events)) == s.select(lambda c: c.username == s.user.name)
    for event in events:
        rec = json.loads(event["CloudTrailEvent"])
        call = by_rid[rec["requestID"]]
        (row,) = query(module_server, f"SELECT record FROM audit_events WHERE request_id = '{call.request_id}'")
        # CloudTrailEvent is the stored record, byte for byte.
        assert event["CloudTrailEvent"] == row["record"]
        assert event["EventId"] == rec["eventID"]
        assert event["EventName"] == call.name == rec["eventName"]
        assert event["EventSource"] == call.source
        assert event["ReadOnly"] == ("true" if call.read_only else "false")
        assert event["AccessKeyId"] == s.user.creds.access_key_id
        assert event["Username"] == s.user.name
        assert as_utc(dt.datetime.fromtimestamp(event["EventTime"], dt.timezone.utc)) == as_utc(rec["eventTime"])
        assert sorted((r["ResourceType"], r["ResourceName"]) for r in event["Resources"]) == sorted(call.resources)


def test_list_calls_report_no_resource_without_a_name(module_server):
    resp = module_server.client("iam").list_users()
    event_id = audit_record(module_server, request_id_of(resp))["eventID"]
    (event,) = sdk_lookup(module_server, attribute=("EventId", event_id))
    assert event["EventName"] == "ListUsers"
    for resource in event["Resources"]:
        assert resource.get("ResourceName"), f"resource without a name: {event['Resources']}"


# --------------------------------------------------------------------------- time and order


def test_start_and_end_time_bound_the_events(module_server):
    iam = module_server.client("iam")
    user = make_user(iam, "lk-time")
    sts = module_server.client("sts", user.creds)
    first = next_second()
    a = request_id_of(sts.get_caller_identity())
    sleep_until_second(first + 2)
    b = request_id_of(sts.get_caller_identity())
    sleep_until_second(first + 4)
    c = request_id_of(sts.get_caller_identity())
    mid = first + 2
    who = ("Username", user.name)
    env = module_server.env
    srv = module_server
    assert rids(sdk_lookup(srv, attribute=who)) == [c, b, a]
    assert rids(cli_lookup(env, attribute=who, start=mid - 1, end=mid + 1)) == [b]
    assert rids(cli_lookup(env, attribute=who, start=mid - 1)) == [c, b]
    assert rids(sdk_lookup(srv, attribute=who, end=mid + 1)) == [b, a]
    assert rids(sdk_lookup(srv, attribute=who, start=first + 5)) == []
    assert rids(sdk_lookup(srv, attribute=who, end=first - 1)) == []


def test_events_come_newest_first(module_server):
    user = make_user(module_server.client("iam"), "lk-order")
    sts = module_server.client("sts", user.creds)
    made = []
    for _ in range(6):
        made.append(request_id_of(sts.get_caller_identity()))
        time.sleep(0.25)
    events = cli_lookup(module_server.env, attribute=("Username", user.name))
    got = rids(events)
    assert sorted(got) == sorted(made)
    order = [made.index(r) for r in got]
    assert order == [5, 4, 3, 2, 1, 0], (
        f"call numbers in the order LookupEvents listed them: {order} "
        f"(event times {[e['EventTime'] for e in events]})"
    )


# --------------------------------------------------------------------------- paging


@pytest.fixture(scope="module")
def pager(module_server):
    """An IAM user that made 55 calls, more than one default page (50)."""
    user = make_user(module_server.client("iam"), "lk-pager")
    sts = module_server.client("sts", user.creds)
    start = math.floor(time.time())
    made = [request_id_of(sts.get_caller_identity()) for _ in range(55)]
    end = math.floor(time.time()) + 1
    return user, made, start, end


@pytest.mark.parametrize("windowed", [True, False], ids=["with-start-and-end", "without-times"])
def test_max_results_and_next_token_page_through_everything_once(module_server, pager, windowed):
    user, made, start, end = pager
    ct = module_server.client("cloudtrail")
    args = {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": user.name}], "MaxResults": 12}
    if windowed:
        args["StartTime"] = dt.datetime.fromtimestamp(start, dt.timezone.utc)
        args["EndTime"] = dt.datetime.fromtimestamp(end, dt.timezone.utc)
    pages = []
    token = None
    while True:
        page = ct.lookup_events(**args, **({"NextToken": token} if token else {}))
        pages.append(page["Events"])
        token = page.get("NextToken")
        if not token:
            break
        assert len(pages) < 20, "paging does not end"
    assert [len(p) for p in pages] == [12, 12, 12, 12, 7]
    seen = [rid for p in pages for rid in rids(p)]
    assert len(seen) == len(set(seen)), "an event was returned twice"
    assert sorted(seen) == sorted(made), "events missing from the pages"
    times = [e["EventTime"] for p in pages for e in p]
    assert times == sorted(times, reverse=True)


def test_max_results_defaults_to_50(module_server, pager):
    user, made, start, end = pager
    page = module_server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user.name}],
        StartTime=dt.datetime.fromtimestamp(start, dt.timezone.utc),
        EndTime=dt.datetime.fromtimestamp(end, dt.timezone.utc),
    )
    assert len(page["Events"]) == 50
    assert page.get("NextToken")


@pytest.mark.parametrize("page_size", [None, 7], ids=["default-page-size", "page-size-7"])
def test_cli_pagination_returns_everything(module_server, pager, page_size):
    user, made, _, _ = pager
    args = [] if page_size is None else ["--page-size", str(page_size)]
    events = cli_lookup(module_server.env, *args, attribute=("Username", user.name))
    got = rids(events)
    assert len(got) == len(set(got))
    assert sorted(got) == sorted(made)


# --------------------------------------------------------------------------- errors


def test_invalid_lookup_attributes(module_server):
    env = module_server.env
    two = aws_error(
        "cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=GetUser", "AttributeKey=Username,AttributeValue=root",
        env=env, code="InvalidLookupAttributesException",
    )
    assert "more than one" in two.stderr
    aws_error(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=Bogus,AttributeValue=x",
        env=env, code="InvalidLookupAttributesException",
    )
    aws_error(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=ReadOnly,AttributeValue=yes",
        env=env, code="InvalidLookupAttributesException",
    )
    ct = module_server.client("cloudtrail")
    for bad in ("TRUE", "1", "False"):
        expect_error(
            "InvalidLookupAttributesException", ct.lookup_events,
            LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": bad}], status=400,
        )
    expect_error(
        "InvalidLookupAttributesException", ct.lookup_events,
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetUser"}] * 2, status=400,
    )
    expect_error(
        "InvalidLookupAttributesException", ct.lookup_events,
        LookupAttributes=[{"AttributeKey": "eventname", "AttributeValue": "GetUser"}], status=400,
    )


def test_invalid_time_range(module_server):
    now = math.floor(time.time())
    aws_error(
        "cloudtrail", "lookup-events", "--start-time", iso(now), "--end-time", iso(now - 60),
        env=module_server.env, code="InvalidTimeRangeException",
    )
    ct = module_server.client("cloudtrail")
    expect_error(
        "InvalidTimeRangeException", ct.lookup_events,
        StartTime=dt.datetime.fromtimestamp(now, dt.timezone.utc),
        EndTime=dt.datetime.fromtimestamp(now - 1, dt.timezone.utc),
        status=400,
    )


def test_invalid_max_results(module_server):
    ct = module_server.client("cloudtrail", validate=False)
    for bad in (0, 51, -1):
        expect_error("InvalidMaxResultsException", ct.lookup_events, MaxResults=bad, status=400)
    for good in (1, 50):
        assert len(ct.lookup_events(MaxResults=good)["Events"]) <= good


def test_invalid_next_token(module_server, pager):
    user, made, start, end = pager
    ct = module_server.client("cloudtrail")
    expect_error("InvalidNextTokenException", ct.lookup_events, NextToken="not-a-token", status=400)
    expect_error("InvalidNextTokenException", ct.lookup_events, NextToken="eyJ0aW1lIjoxfQ", status=400)
    window = {
        "StartTime": dt.datetime.fromtimestamp(start, dt.timezone.utc),
        "EndTime": dt.datetime.fromtimestamp(end, dt.timezone.utc),
    }
    by_user = [{"AttributeKey": "Username", "AttributeValue": user.name}]
    first = ct.lookup_events(LookupAttributes=by_user, MaxResults=1, **window)
    token = first["NextToken"]
    # The same parameters continue...
    second = ct.lookup_events(LookupAttributes=by_user, MaxResults=1, NextToken=token, **window)
    assert rids(second["Events"]) != rids(first["Events"])
    # ...other parameters do not.
    expect_error(
        "InvalidNextTokenException", ct.lookup_events,
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}],
        MaxResults=1, NextToken=token, status=400, **window,
    )
    expect_error(
        "InvalidNextTokenException", ct.lookup_events,
        LookupAttributes=by_user, MaxResults=1, NextToken=token, status=400,
        StartTime=window["StartTime"], EndTime=window["EndTime"] + dt.timedelta(seconds=5),
    )
    # A token is also bound to the region it was issued in.
    expect_error(
        "InvalidNextTokenException",
        module_server.client("cloudtrail", region="eu-west-1").lookup_events,
        LookupAttributes=by_user, MaxResults=1, NextToken=token, status=400, **window,
    )


# --------------------------------------------------------------------------- regions


def test_events_are_scoped_to_the_region_of_the_request(module_server):
    srv = module_server
    sts_eu = srv.client("sts", region="eu-west-1")
    sts_rid = request_id_of(sts_eu.get_caller_identity())
    sts_event_id = audit_record(srv, sts_rid)["eventID"]
    # IAM is global: its events are filed in us-east-1 whatever region signed the call.
    name = unique("lk-region")
    iam_rid = request_id_of(srv.client("iam", region="eu-west-1").create_user(UserName=name))
    assert audit_record(srv, iam_rid)["awsRegion"] == "us-east-1"
    assert audit_record(srv, sts_rid)["awsRegion"] == "eu-west-1"

    env = srv.env
    assert rids(cli_lookup(env, attribute=("EventId", sts_event_id), region="eu-west-1")) == [sts_rid]
    assert rids(cli_lookup(env, attribute=("EventId", sts_event_id), region="us-east-1")) == []
    assert rids(sdk_lookup(srv, attribute=("ResourceName", name), region="us-east-1")) == [iam_rid]
    assert rids(sdk_lookup(srv, attribute=("ResourceName", name), region="eu-west-1")) == []

    everything_eu = sdk_lookup(srv, region="eu-west-1")
    assert sts_rid in rids(everything_eu)
    assert {json.loads(e["CloudTrailEvent"])["awsRegion"] for e in everything_eu} == {"eu-west-1"}
    rows = query(srv, f"SELECT request_id, region FROM audit_events WHERE request_id IN ('{sts_rid}', '{iam_rid}')")
    assert sorted((r["request_id"], r["region"]) for r in rows) == sorted(
        [(sts_rid, "eu-west-1"), (iam_rid, "us-east-1")]
    )

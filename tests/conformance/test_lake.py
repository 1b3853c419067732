"""The audit lake: account isolation of LookupEvents and `sightline query`, no loss and no
duplicate after SIGKILL (WAL with group commit, Parquet segments readable by other
tools), and recovery from a corrupted WAL tail. (Retention is not exposed on the API yet.)"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time

import duckdb
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from sightline_support import (
    assume,
    audit_records,
    create_member_account,
    lookup_all,
    org_role_arn,
    query,
    request_id_of,
    segment_files,
    unique,
    wal_files,
)

pytestmark = pytest.mark.timeout(180)

AUDIT_COLUMNS = [
    "event_time", "event_id", "request_id", "event_name", "event_source", "user_name",
    "user_type", "principal_arn", "access_key_id", "source_ip", "error_code", "read_only",
    "resource_names", "resource_types", "account_id", "region", "record",
]


def _by_attribute(cloudtrail, key, value) -> list:
    return lookup_all(cloudtrail, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])


def _rids(events) -> list:
    return [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]


# --------------------------------------------------------------------------- isolation


def test_accounts_never_see_each_others_events(server):
    org = server.client("organizations")
    management = server.account_id
    member = create_member_account(org, "lake-iso")
    creds = assume(server.client("sts"), org_role_arn(member), "lake-iso")

    member_user = unique("iso-member")
    member_rid = request_id_of(server.client("iam", creds).create_user(UserName=member_user))
    member_event = server.client("sts", creds).get_caller_identity()
    mgmt_user = unique("iso-mgmt")
    mgmt_rid = request_id_of(server.client("iam").create_user(UserName=mgmt_user))
    member_env = server.env_for(creds)

    # The member sees its own events only.
    assert query(member_env, "SELECT DISTINCT account_id FROM audit_events") == [{"account_id": member}]
    assert len(audit_records(member_env, member_rid)) == 1
    assert audit_records(member_env, mgmt_rid) == []
    assert query(member_env, f"SELECT count(*) AS n FROM audit_events WHERE account_id = '{management}'") == [{"n": 0}]
    member_ct = server.client("cloudtrail", creds)
    assert _rids(_by_attribute(member_ct, "ResourceName", member_user)) == [member_rid]
    assert _by_attribute(member_ct, "ResourceName", mgmt_user) == []
    mgmt_event_id = audit_records(server, mgmt_rid)[0]["eventID"]
    assert _by_attribute(member_ct, "EventId", mgmt_event_id) == []
    assert _by_attribute(member_ct, "Username", "root") == []
    everything = lookup_all(member_ct)
    assert request_id_of(member_event) in _rids(everything)
    for event in everything:
        record = json.loads(event["CloudTrailEvent"])
        assert record["recipientAccountId"] == member, record
        assert record["userIdentity"]["accountId"] == member, record

    # And the management account sees none of the member's.
    assert query(server, "SELECT DISTINCT account_id FROM audit_events") == [{"account_id": management}]
    assert audit_records(server, member_rid) == []
    mgmt_ct = server.client("cloudtrail")
    assert _by_attribute(mgmt_ct, "ResourceName", member_user) == []
    member_event_id = audit_records(member_env, member_rid)[0]["eventID"]
    assert _by_attribute(mgmt_ct, "EventId", member_event_id) == []
    assert _rids(_by_attribute(mgmt_ct, "ResourceName", mgmt_user)) == [mgmt_rid]


# --------------------------------------------------------------------------- flushes


def test_rows_stay_visible_exactly_once_while_flushes_move_them(server_factory):
    srv = server_factory.start(extra_args=["--lake-flush-seconds", "1"])
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=1)
    sts = srv.client("sts")
    made = [request_id_of(sts.get_caller_identity()) for _ in range(40)]
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    ids = ", ".join(f"'{r}'" for r in made)
    counted = f"SELECT count(*) AS n, count(DISTINCT request_id) AS d FROM audit_events WHERE request_id IN ({ids})"
    since = f"{counted} AND event_time >= TIMESTAMP '{start.strftime('%Y-%m-%d %H:%M:%S')}'"
    ct = srv.client("cloudtrail")
    rounds = 0
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline or rounds < 3:
        rounds += 1
        assert query(srv, counted) == [{"n": 40, "d": 40}], f"round {rounds}"
        assert query(srv, since) == [{"n": 40, "d": 40}], f"round {rounds} (time-pruned)"
        events = lookup_all(
            ct, StartTime=start, EndTime=end, MaxResults=15,
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
        )
        assert sorted(_rids(events)) == sorted(made), f"round {rounds} (LookupEvents)"
    # By now a flush has moved them into segments, where they are found the same way.
    in_segments = set()
    for path in segment_files(srv):
        in_segments.update(pq.ParquetFile(path).read(columns=["request_id"]).column(0).to_pylist())
    assert set(made) <= in_segments


# --------------------------------------------------------------------------- crash safety


def _hammer(srv, threads: int, seconds: float):
    """Calls from `threads` clients as fast as they go; SIGKILLs the server after
    `seconds`. Returns the request ids of every call that got an HTTP response."""
    acknowledged: list = []
    stop = threading.Event()
    clients = [(srv.client("sts"), srv.client("iam")) for _ in range(threads)]

    def work(index, sts, iam):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 2:
                    resp = sts.get_caller_identity()
                else:
                    resp = iam.create_user(UserName=f"crash-{index}-{n}")
                acknowledged.append(request_id_of(resp))
            except ClientError as err:
                acknowledged.append(request_id_of(err))
            except Exception:  # no HTTP response (the server is gone)
                time.sleep(0.01)

    workers = [threading.Thread(target=work, args=(i, *c), daemon=True) for i, c in enumerate(clients)]
    for w in workers:
        w.start()
    time.sleep(seconds)
    srv.proc.kill()
    srv.proc.wait(timeout=10)
    stop.set()
    for w in workers:
        w.join(timeout=30)
    return acknowledged


def _read_segment(path) -> tuple:
    """(rows, event ids) of one segment, checked with pyarrow and duckdb alike."""
    table = pq.ParquetFile(path).read()
    assert table.column_names == AUDIT_COLUMNS, f"{path}: {table.column_names}"
    event_ids = table.column("event_id").to_pylist()
    con = duckdb.connect()
    try:
        # Every column decoded (the timestamp as text: no tz database needed in Python).
        rows = con.execute(
            "SELECT * REPLACE (CAST(event_time AS VARCHAR) AS event_time) FROM read_parquet(?)", [str(path)]
        ).fetchall()
        (count, distinct) = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM read_parquet(?)", [str(path)]
        ).fetchone()
    finally:
        con.close()
    assert len(rows) == count == table.num_rows == distinct, f"{path}: pyarrow and duckdb disagree"
    return table.num_rows, event_ids


def test_sigkill_loses_no_acknowledged_call_and_leaves_readable_segments(server_factory):
    srv = server_factory.start(extra_args=["--lake-flush-seconds", "1"])
    srv.account_id  # (known before the storm)
    acknowledged = _hammer(srv, threads=3, seconds=3.0)
    assert not srv.running
    assert len(acknowledged) >= 50, f"only {len(acknowledged)} calls got through in 3 s"
    assert len(acknowledged) == len(set(acknowledged)), "the server reused a request id"

    again = server_factory.start(data_dir=srv.data_dir, extra_args=["--lake-flush-seconds", "1"])
    # The segments left by the crash (read before the restarted server flushes again).
    files = segment_files(again)
    assert files, "no segment was flushed in 3 s with --lake-flush-seconds 1"
    on_disk = 0
    seen_on_disk: list = []
    for path in files:
        rows, ids = _read_segment(path)
        on_disk += rows
        seen_on_disk.extend(ids)
    assert len(seen_on_disk) == len(set(seen_on_disk)), "a row is in two segment files"

    duplicates = query(
        again,
        "SELECT request_id, count(*) AS n FROM audit_events GROUP BY request_id HAVING count(*) > 1",
    )
    assert duplicates == []
    stored = {r["request_id"] for r in query(again, "SELECT request_id FROM audit_events")}
    missing = [rid for rid in acknowledged if rid not in stored]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged calls lost, e.g. {missing[:5]}"
    (total,) = query(again, "SELECT count(*) AS n FROM audit_events")
    assert on_disk <= total["n"]


# --------------------------------------------------------------------------- WAL recovery


@pytest.mark.parametrize("tail", ["garbage", "torn-frame"])
def test_a_corrupt_wal_tail_is_cut_and_acknowledged_calls_survive(server_factory, tail):
    srv = server_factory.start(extra_args=["--lake-flush-seconds", "3600"])
    iam = srv.client("iam")
    sts = srv.client("sts")
    made = [request_id_of(iam.create_user(UserName=f"wal-{i}")) for i in range(8)]
    made += [request_id_of(sts.get_caller_identity()) for _ in range(8)]
    srv.proc.kill()
    srv.proc.wait(timeout=10)

    newest = wal_files(srv)[-1]
    # The WAL is written with direct I/O and ends in zeros up to a 4 KiB boundary; the
    # frames end before them (a frame ends with its row's text, never a zero byte), and
    # a torn commit lands there.
    data = newest.read_bytes()
    intact = len(data.rstrip(b"\x00"))
    assert intact > 0
    assert len(data) % 4096 == 0, f"{len(data)} bytes: the WAL was not written with direct I/O"
    os.truncate(newest, intact)
    with open(newest, "ab") as fh:
        if tail == "garbage":
            fh.write(b"\x00\xffnot a wal frame\x13\x37" * 7)
        else:
            # The start of a frame whose payload never made it to disk.
            fh.write(newest.read_bytes()[:12 + 10])

    again = server_factory.start(data_dir=srv.data_dir, extra_args=["--lake-flush-seconds", "3600"])
    assert "wal tail cut" in again.stderr(), again.stderr()
    assert newest.stat().st_size == intact

    def counts(target):
        ids = ", ".join(f"'{r}'" for r in made)
        rows = query(target, f"SELECT request_id, count(*) AS n FROM audit_events WHERE request_id IN ({ids}) GROUP BY request_id")
        return {r["request_id"]: r["n"] for r in rows}

    assert counts(again) == {rid: 1 for rid in made}
    # The next start finds a clean log and the same records.
    assert again.stop() == 0, again.stderr()
    third = server_factory.start(data_dir=srv.data_dir, extra_args=["--lake-flush-seconds", "3600"])
    assert "wal tail cut" not in third.stderr(), third.stderr()
    assert counts(third) == {rid: 1 for rid in made}

"""`sightline query`: SQL over the caller's account's datasets, run by the same binary as
the server, as an ordinary signed, authorized and audited API call
(`sightline:ExecuteQuery`). Output formats, where it finds endpoint, credentials and
region (like the aws CLI), SQL errors, refused DDL/DML, permissions, and its own audit."""

from __future__ import annotations

import json
import re

import pytest

from sightline_support import (
    allow,
    aws,
    deny,
    lookup_all,
    make_user,
    policy,
    query,
    query_error,
    query_raw,
    sql_str,
    uid,
)

pytestmark = pytest.mark.timeout(120)

GROUP_BY = (
    "SELECT event_name, count(*) AS n FROM audit_events "
    "WHERE event_name <> 'ExecuteQuery' GROUP BY event_name ORDER BY event_name"
)


def _ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc.stdout


def test_table_json_and_csv_output_of_a_group_by(server_factory):
    srv = server_factory.start()
    iam = srv.client("iam")
    sts = srv.client("sts")
    for i in range(3):
        iam.create_user(UserName=f"fmt-{i}")
    sts.get_caller_identity()
    sts.get_caller_identity()
    iam.list_users()

    assert _ok(query_raw(srv, GROUP_BY, "json")) == (
        '{"event_name":"CreateUser","n":3}\n'
        '{"event_name":"GetCallerIdentity","n":2}\n'
        '{"event_name":"ListUsers","n":1}\n'
    )
    assert query(srv, GROUP_BY) == [
        {"event_name": "CreateUser", "n": 3},
        {"event_name": "GetCallerIdentity", "n": 2},
        {"event_name": "ListUsers", "n": 1},
    ]
    assert _ok(query_raw(srv, GROUP_BY, "csv")) == (
        "event_name,n\nCreateUser,3\nGetCallerIdentity,2\nListUsers,1\n"
    )
    table = (
        "+-------------------+---+\n"
        "| event_name        | n |\n"
        "+-------------------+---+\n"
        "| CreateUser        | 3 |\n"
        "| GetCallerIdentity | 2 |\n"
        "| ListUsers         | 1 |\n"
        "+-------------------+---+\n"
        "3 rows\n"
    )
    assert _ok(query_raw(srv, GROUP_BY, "table")) == table
    # Table is the default format.
    assert _ok(query_raw(srv, GROUP_BY, None)) == table

    # Quoting and NULLs.
    tricky = "SELECT 'a,b' AS x, 'say \"hi\"' AS y, CAST(NULL AS VARCHAR) AS z"
    assert _ok(query_raw(srv, tricky, "csv")) == 'x,y,z\n"a,b","say ""hi""",\n'
    assert query(srv, tricky) == [{"x": "a,b", "y": 'say "hi"', "z": None}]
    # No rows: nothing in json, the header in csv.
    empty = "SELECT event_name FROM audit_events WHERE event_name = 'NoSuchEvent'"
    assert _ok(query_raw(srv, empty, "json")) == ""
    assert _ok(query_raw(srv, empty, "csv")) == "event_name\n"


def _caller_of(srv, marker: str) -> dict:
    """The ExecuteQuery record whose SQL carried `marker` (looked up once per marker)."""
    rows = query(
        srv,
        "SELECT principal_arn, region, record FROM audit_events "
        f"WHERE event_name = 'ExecuteQuery' AND record LIKE '%{marker}%'",
    )
    assert len(rows) == 1, f"expected one ExecuteQuery record with {marker}, got {rows}"
    return rows[0]


def test_endpoint_credentials_and_region_are_found_like_the_aws_cli(server, tmp_path):
    iam = server.client("iam")
    user = make_user(iam, "q-creds", inline={"q": policy(allow("sightline:ExecuteQuery"))})
    root = server.root
    creds_file = tmp_path / "credentials"
    creds_file.write_text(
        f"[default]\naws_access_key_id = {root.access_key_id}\naws_secret_access_key = {root.secret_access_key}\n"
        f"[q]\naws_access_key_id = {user.creds.access_key_id}\naws_secret_access_key = {user.creds.secret_access_key}\n"
    )
    config_file = tmp_path / "config"
    config_file.write_text("[default]\nregion = us-east-1\n[profile q]\nregion = us-west-2\n")
    base = server.env
    base["AWS_SHARED_CREDENTIALS_FILE"] = str(creds_file)
    base["AWS_CONFIG_FILE"] = str(config_file)
    with_keys = dict(base, AWS_ACCESS_KEY_ID=user.creds.access_key_id,
                     AWS_SECRET_ACCESS_KEY=user.creds.secret_access_key)
    root_arn = f"arn:aws:iam::{server.account_id}:root"

    cases = [
        # (name, env, extra args, expected caller, expected region)
        ("profile-file-default", base, [], root_arn, "us-east-1"),
        ("env-keys", with_keys, [], user.arn, "us-east-1"),
        ("AWS_PROFILE", dict(base, AWS_PROFILE="q"), [], user.arn, "us-west-2"),
        ("--profile", base, ["--profile", "q"], user.arn, "us-west-2"),
        ("--profile-over-env-keys", with_keys, ["--profile", "default"], root_arn, "us-east-1"),
        ("AWS_DEFAULT_REGION", dict(base, AWS_DEFAULT_REGION="eu-west-1"), [], root_arn, "eu-west-1"),
        ("AWS_REGION", dict(base, AWS_REGION="eu-central-1"), [], root_arn, "eu-central-1"),
        ("--region", dict(base, AWS_REGION="eu-central-1"), ["--region", "ap-south-1"], root_arn, "ap-south-1"),
        ("--endpoint-url", dict(base, AWS_ENDPOINT_URL="http://127.0.0.1:9"),
         ["--endpoint-url", server.endpoint], root_arn, "us-east-1"),
    ]
    failures = []
    for name, env, extra, want_arn, want_region in cases:
        marker = f"m{uid()}"
        proc = query_raw(env, f"SELECT '{marker}' AS m", "json", extra)
        if proc.returncode != 0 or json.loads(proc.stdout) != {"m": marker}:
            failures.append(f"{name}: exit {proc.returncode}: {proc.stdout} {proc.stderr}")
            continue
        got = _caller_of(server, marker)
        if (got["principal_arn"], got["region"]) != (want_arn, want_region):
            failures.append(f"{name}: called as {got['principal_arn']} in {got['region']}, "
                            f"expected {want_arn} in {want_region}")
    # The expectations are the aws CLI's own choices for the credential cases.
    assert aws("sts", "get-caller-identity", env=with_keys)["Arn"] == user.arn
    assert aws("sts", "get-caller-identity", "--profile", "default", env=with_keys)["Arn"] == root_arn
    assert aws("sts", "get-caller-identity", env=dict(base, AWS_PROFILE="q"))["Arn"] == user.arn
    assert not failures, "\n".join(failures)


def test_sql_errors_report_the_position_and_exit_1(server):
    sql = "SELECT event_name FROM audit_events WHERE event_name = = 'x'"
    err = query_error(server, sql, "InvalidQueryException")
    assert err.stderr.startswith(
        "An error occurred (InvalidQueryException) when calling the ExecuteQuery operation: "
    ), err.stderr
    column = sql.index("= =") + 3  # 1-based column of the second '='
    match = re.search(r"at Line: (\d+), Column: (\d+)", err.stderr)
    assert match, err.stderr
    assert (int(match.group(1)), int(match.group(2))) == (1, column)

    err = query_error(server, "SELEC 1", "InvalidQueryException")
    assert "at Line: 1, Column: 1" in err.stderr
    err = query_error(server, "SELECT no_such_column FROM audit_events", "InvalidQueryException")
    assert "no_such_column" in err.stderr
    query_error(server, "SELECT * FROM no_such_table", "InvalidQueryException")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a INT)",
        "CREATE VIEW v AS SELECT 1",
        "DROP TABLE audit_events",
        "INSERT INTO audit_events (event_id) VALUES ('x')",
        "DELETE FROM audit_events",
        "UPDATE audit_events SET event_name = 'x'",
        "CREATE EXTERNAL TABLE ext STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO '{out}'",
        "SET datafusion.execution.batch_size = 1",
    ],
    ids=["create-table", "create-view", "drop", "insert", "delete", "update", "external-table", "copy", "set"],
)
def test_ddl_dml_and_statements_are_refused(server, tmp_path, sql):
    out = tmp_path / "copied.csv"
    before = query(server, "SELECT count(*) AS n FROM audit_events")[0]["n"]
    query_error(server, sql.format(out=out), "InvalidQueryException")
    assert not out.exists()
    tables = query(server, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    # Exactly the lake's datasets: the refused statement created nothing.
    assert sorted(t["table_name"] for t in tables) == ["archived_events", "audit_events", "log_events", "metric_rollups", "metric_samples"]
    after = query(server, "SELECT count(*) AS n FROM audit_events")[0]["n"]
    assert after >= before + 2  # the rows are all still there, plus the new calls


def test_access_denied_without_permission_then_granted(server):
    iam = server.client("iam")
    user = make_user(iam, "q-perm")
    env = server.env_for(user.creds)
    sql = f"SELECT '{uid()}' AS m"
    err = query_error(env, sql, "AccessDeniedException")
    assert err.stderr.startswith(
        "An error occurred (AccessDeniedException) when calling the ExecuteQuery operation: "
    )
    assert f"User: {user.arn} is not authorized to perform: sightline:ExecuteQuery" in err.stderr

    # Another service's read permission does not grant it.
    iam.put_user_policy(UserName=user.name, PolicyName="trail", PolicyDocument=policy(allow("cloudtrail:LookupEvents")))
    query_error(env, sql, "AccessDeniedException")

    iam.put_user_policy(UserName=user.name, PolicyName="q", PolicyDocument=policy(allow("sightline:ExecuteQuery")))
    rows = query(env, f"SELECT DISTINCT user_name FROM audit_events WHERE user_name = {sql_str(user.name)}")
    assert rows == [{"user_name": user.name}]

    # An explicit deny wins.
    iam.put_user_policy(UserName=user.name, PolicyName="no", PolicyDocument=policy(deny("sightline:*")))
    query_error(env, sql, "AccessDeniedException")

    denied = query(
        server,
        "SELECT error_code, count(*) AS n FROM audit_events WHERE event_name = 'ExecuteQuery' "
        f"AND user_name = '{user.name}' GROUP BY error_code ORDER BY error_code",
    )
    assert denied == [{"error_code": "AccessDeniedException", "n": 3}, {"error_code": None, "n": 1}]


def test_the_query_call_is_itself_audited(server):
    marker = f"audit-{uid()}"
    sql = f"SELECT '{marker}' AS m"
    assert query(server, sql) == [{"m": marker}]
    rows = query(
        server,
        "SELECT event_name, event_source, read_only, user_type, error_code, region, account_id, record "
        f"FROM audit_events WHERE event_name = 'ExecuteQuery' AND record LIKE '%{marker}%'",
    )
    assert len(rows) == 1, rows
    row = rows[0]
    rec = json.loads(row.pop("record"))
    assert row == {
        "event_name": "ExecuteQuery",
        "event_source": "sightline.amazonaws.com",
        "read_only": True,
        "user_type": "Root",
        "error_code": None,
        "region": "us-east-1",
        "account_id": server.account_id,
    }
    assert rec["eventName"] == "ExecuteQuery"
    assert rec["eventSource"] == "sightline.amazonaws.com"
    assert rec["requestParameters"] == {"sql": sql}
    assert rec["userIdentity"]["accessKeyId"] == server.root.access_key_id
    assert rec["userAgent"], "the query client sent no User-Agent"
    # And LookupEvents lists it.
    found = lookup_all(
        server.client("cloudtrail"),
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": rec["eventID"]}],
    )
    assert [e["EventName"] for e in found] == ["ExecuteQuery"]
    assert found[0]["EventSource"] == "sightline.amazonaws.com"

"""Shared helpers of the Sightline conformance suite.

Everything here talks to a real `sightline server` process through real AWS clients:
the `aws` CLI (as a subprocess) and boto3. Fixtures live in conftest.py; test modules
import the plain helpers from this module.
"""

from __future__ import annotations

import configparser
import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional
from unittest import mock

import boto3
import botocore.auth
import requests
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

DEFAULT_BIN = "/var/tmp/sightline-target/release/sightline"
HEALTH_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
REGION = "us-east-1"

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ERROR_CODE_RE = re.compile(r"An error occurred \(([^)]+)\)")


# --------------------------------------------------------------------------- naming


def uid() -> str:
    """A short unique suffix so that tests never collide on a shared server."""
    return uuid.uuid4().hex[:10]


def unique(prefix: str) -> str:
    return f"{prefix}-{uid()}"


# --------------------------------------------------------------------------- binaries


def sightline_bin() -> str:
    return os.environ.get("SIGHTLINE_BIN", DEFAULT_BIN)


def aws_cli_path() -> str:
    candidate = Path(sys.executable).parent / "aws"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        raise RuntimeError("the aws CLI is neither next to the python interpreter nor on PATH")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict:
    """The current environment without any AWS_* setting that could leak into clients."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_RETRY_MODE"] = "standard"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_PAGER"] = ""
    return env


# Keep the pytest process itself free of ambient AWS configuration (profiles, keys,
# endpoints) so that boto3 sessions only ever see what the tests give them.
for _key in [k for k in os.environ if k.startswith("AWS_")]:
    del os.environ[_key]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None

    @classmethod
    def from_sts(cls, credentials: dict) -> "Creds":
        """From the `Credentials` member of AssumeRole / GetSessionToken."""
        return cls(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )

    @classmethod
    def from_access_key(cls, access_key: dict) -> "Creds":
        """From the `AccessKey` member of CreateAccessKey."""
        return cls(access_key["AccessKeyId"], access_key["SecretAccessKey"])

    def with_secret(self, secret: str) -> "Creds":
        return Creds(self.access_key_id, secret, self.session_token)

    def botocore(self) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key, self.session_token)


def read_shared_credentials(path: Path, profile: str = "default") -> Creds:
    parser = configparser.RawConfigParser()
    with open(path, encoding="utf-8") as fh:
        parser.read_file(fh)
    section = parser[profile]
    return Creds(
        section["aws_access_key_id"].strip(),
        section["aws_secret_access_key"].strip(),
        section.get("aws_session_token"),
    )


# --------------------------------------------------------------------------- CLI


class CommandError(AssertionError):
    """A failed command-line client; `code` is the AWS error code it printed on stderr."""

    program = "?"

    def __init__(self, argv: list, returncode: int, stdout: str, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        match = ERROR_CODE_RE.search(stderr)
        self.code = match.group(1) if match else None
        super().__init__(
            f"{self.program} {' '.join(argv)} exited {returncode}\n"
            f"stdout: {stdout}\nstderr: {stderr}"
        )


class AwsCliError(CommandError):
    """A failed `aws` invocation."""

    program = "aws"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    json: Any
    code: Optional[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def aws(*args, env: dict, check: bool = True, timeout: float = 60):
    """Run the real `aws` CLI with `--output json`.

    check=True: returns the parsed JSON output ({} when the command prints nothing) and
    raises AwsCliError (carrying stderr and the error code) on a non-zero exit.
    check=False: returns a CliResult whatever the exit status.
    """
    argv = [str(a) for a in args]
    proc = subprocess.run(
        [aws_cli_path(), *argv, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    parsed = None
    if proc.returncode == 0 and proc.stdout.strip():
        parsed = json.loads(proc.stdout)
    if check:
        if proc.returncode != 0:
            raise AwsCliError(argv, proc.returncode, proc.stdout, proc.stderr)
        return parsed if parsed is not None else {}
    match = ERROR_CODE_RE.search(proc.stderr)
    return CliResult(
        proc.returncode, proc.stdout, proc.stderr, parsed, match.group(1) if match else None
    )


def aws_error(*args, env: dict, code: str, timeout: float = 60) -> CliResult:
    """Run the CLI expecting failure with exactly the AWS error `code`."""
    result = aws(*args, env=env, check=False, timeout=timeout)
    assert result.returncode != 0, (
        f"expected aws {' '.join(map(str, args))} to fail with {code}, "
        f"but it succeeded: {result.stdout}"
    )
    assert result.code == code, (
        f"expected error code {code}, got {result.code}; stderr: {result.stderr}"
    )
    return result


# --------------------------------------------------------------------------- boto3 errors


def expect_error(code: str, fn: Callable, *args, status: Optional[int] = None, **kwargs) -> ClientError:
    """Call fn expecting a ClientError with exactly `code` (and HTTP `status`, if given)."""
    try:
        response = fn(*args, **kwargs)
    except ClientError as err:
        got = err.response.get("Error", {}).get("Code")
        assert got == code, f"expected {code}, got {got}: {err.response}"
        if status is not None:
            got_status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            assert got_status == status, f"expected HTTP {status} for {code}, got {got_status}"
        return err
    raise AssertionError(f"expected {code}, but the call succeeded: {response}")


def error_message(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Message", "") or ""


# --------------------------------------------------------------------------- raw requests


def xml_error(body: bytes | str) -> tuple[Optional[str], Optional[str]]:
    """(Code, Message) of an AWS query-protocol XML error body."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    code = message = None
    for elem in root.iter():
        tag = elem.tag.rsplit("}", 1)[-1]
        if tag == "Code" and code is None:
            code = (elem.text or "").strip()
        elif tag == "Message" and message is None:
            message = (elem.text or "").strip()
    return code, message


def signed_post(
    endpoint: str,
    creds: Creds,
    body: str,
    *,
    service: str = "sts",
    region: str = REGION,
    when: Optional[dt.datetime] = None,
    tamper: Optional[Callable[[str], str]] = None,
) -> requests.Response:
    """POST a form-encoded query-protocol request signed with SigV4.

    `when` signs as if the client's clock read that UTC time; `tamper` rewrites the body
    after signing.
    """
    request = AWSRequest(
        method="POST",
        url=endpoint.rstrip("/") + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    signer = botocore.auth.SigV4Auth(creds.botocore(), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        naive = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: naive):
            signer.add_auth(request)
    prepared = request.prepare()
    data = prepared.body
    if isinstance(data, bytes):
        data = data.decode()
    if tamper is not None:
        data = tamper(data)
    return requests.post(prepared.url, data=data, headers=dict(prepared.headers), timeout=30)


# --------------------------------------------------------------------------- the server


class SightlineServer:
    """One `sightline server` process on a data dir and a free local port."""

    def __init__(self, data_dir: Path, log_dir: Path, extra_args: Iterable[str] = ()):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.extra_args = [str(a) for a in extra_args]
        self.scheme = "http"
        self.port: Optional[int] = None
        self.proc: Optional[subprocess.Popen] = None
        self._generation = 0
        self._account_id: Optional[str] = None
        self._stdout_path: Optional[Path] = None
        self._stderr_path: Optional[Path] = None

    # ---- lifecycle

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config"

    def start(self, port: Optional[int] = None) -> "SightlineServer":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._generation += 1
        self.port = port or free_port()
        self._stdout_path = self.log_dir / f"stdout.{self._generation}.log"
        self._stderr_path = self.log_dir / f"stderr.{self._generation}.log"
        argv = [
            sightline_bin(),
            "server",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            f"127.0.0.1:{self.port}",
            *self.extra_args,
        ]
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=clean_env())
        self._wait_ready(argv)
        return self

    def _wait_ready(self, argv: list) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sightline exited with {self.proc.returncode} before becoming ready\n"
                    f"argv: {argv}\nstderr:\n{self.stderr()}\nstdout:\n{self.stdout()}"
                )
            try:
                # Readiness only: TLS tests check the certificate with their own client.
                resp = requests.get(self.endpoint + "/health", timeout=1, verify=False)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"sightline did not answer GET /health with 200 within {HEALTH_TIMEOUT}s "
            f"(last: {last})\nargv: {argv}\nstderr:\n{self.stderr()}\nstdout:\n{self.stdout()}"
        )

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"sightline did not exit within {STOP_TIMEOUT}s of SIGTERM\n"
                    f"stderr:\n{self.stderr()}"
                )
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        return _read_text(self._stderr_path)

    def stdout(self) -> str:
        return _read_text(self._stdout_path)

    # ---- clients

    @property
    def root(self) -> Creds:
        return read_shared_credentials(self.credentials_path)

    @property
    def env(self) -> dict:
        """Environment for `aws` subprocesses acting as the management account root."""
        env = clean_env()
        env["AWS_ENDPOINT_URL"] = self.endpoint
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.credentials_path)
        env["AWS_CONFIG_FILE"] = str(self.config_path)
        return env

    def env_for(self, creds: Creds, region: Optional[str] = None) -> dict:
        """Environment for `aws` subprocesses acting with explicit credentials."""
        env = self.env
        env["AWS_ACCESS_KEY_ID"] = creds.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = creds.secret_access_key
        if creds.session_token:
            env["AWS_SESSION_TOKEN"] = creds.session_token
        if region:
            env["AWS_DEFAULT_REGION"] = region
        return env

    def session(self, creds: Optional[Creds] = None, region: str = REGION) -> boto3.Session:
        creds = creds or self.root
        return boto3.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=region,
        )

    def client(
        self,
        service: str,
        creds: Optional[Creds] = None,
        region: str = REGION,
        validate: bool = True,
    ):
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            parameter_validation=validate,
        )
        return self.session(creds, region).client(
            service, endpoint_url=self.endpoint, config=config
        )

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            ident = self.client("sts").get_caller_identity()
            self._account_id = ident["Account"]
        return self._account_id


def _read_text(path: Optional[Path]) -> str:
    if path is None or not path.exists():
        return "<none>"
    return path.read_text(errors="replace")


# --------------------------------------------------------------------------- IAM helpers


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal_arn) -> str:
    """A trust policy letting `principal_arn` (str or list) call sts:AssumeRole."""
    return policy(
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
    )


@dataclass
class User:
    name: str
    arn: str
    user_id: str
    creds: Creds


def make_user(iam, prefix: str = "user", inline: Optional[dict] = None, path: str = "/") -> User:
    """Create an IAM user with one access key and optional inline policies {name: doc}."""
    name = unique(prefix)
    created = iam.create_user(UserName=name, Path=path)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    for policy_name, document in (inline or {}).items():
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=document)
    return User(name, created["Arn"], created["UserId"], Creds.from_access_key(key))


def make_role(iam, trust_document: str, prefix: str = "role", **kwargs) -> dict:
    name = unique(prefix)
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_document, **kwargs)["Role"]


def assume(sts, role_arn: str, session_name: str = "conformance", **kwargs) -> Creds:
    resp = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **kwargs)
    return Creds.from_sts(resp["Credentials"])


def retry_until(fn: Callable[[], Any], timeout: float = 5.0, interval: float = 0.25):
    """Call fn until it stops raising (AssertionError / ClientError) or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (AssertionError, ClientError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)


# --------------------------------------------------------------------------- Organizations


def wait_create_account(org, request_id: str, timeout: float = 90.0) -> dict:
    """Poll DescribeCreateAccountStatus until SUCCEEDED; returns the final status."""
    deadline = time.monotonic() + timeout
    while True:
        status = org.describe_create_account_status(CreateAccountRequestId=request_id)[
            "CreateAccountStatus"
        ]
        state = status["State"]
        if state == "SUCCEEDED":
            return status
        assert state == "IN_PROGRESS", f"account creation ended in {state}: {status}"
        assert time.monotonic() < deadline, f"account creation still IN_PROGRESS after {timeout}s"
        time.sleep(0.25)


def create_member_account(org, prefix: str = "member") -> str:
    name = unique(prefix)
    resp = org.create_account(Email=f"{name}@example.com", AccountName=name)
    status = wait_create_account(org, resp["CreateAccountStatus"]["Id"])
    return status["AccountId"]


def org_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"


# --------------------------------------------------------------------------- sightline query


class QueryError(CommandError):
    """A failed `sightline query`."""

    program = "sightline"


def _query_env(target) -> dict:
    """`target` is a SightlineServer (acting as its management root) or an env dict."""
    if isinstance(target, SightlineServer):
        return target.env
    return dict(target)


def query_raw(target, sql: str, fmt: Optional[str] = "json", extra_args: Iterable[str] = (),
              timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `sightline query` and return the finished process, whatever its exit status."""
    argv = ["query"]
    if fmt is not None:
        argv += ["--format", fmt]
    argv += [str(a) for a in extra_args]
    argv.append(sql)
    return subprocess.run(
        [sightline_bin(), *argv],
        env=_query_env(target),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def query(target, sql: str, fmt: str = "json", extra_args: Iterable[str] = (), timeout: float = 60):
    """Run `sightline query --format fmt SQL` with the server's (or the given) environment.

    Returns the rows: a list of dicts for json (one JSON object per line) and csv (keyed
    by the header), the printed text for table. Raises QueryError on a non-zero exit.
    """
    proc = query_raw(target, sql, fmt, extra_args, timeout)
    if proc.returncode != 0:
        raise QueryError(proc.args[1:], proc.returncode, proc.stdout, proc.stderr)
    if fmt == "json":
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(proc.stdout)))
    return proc.stdout


def query_error(target, sql: str, code: str, extra_args: Iterable[str] = ()) -> QueryError:
    """Run `sightline query` expecting exit 1 with exactly the AWS error `code`."""
    proc = query_raw(target, sql, "json", extra_args)
    err = QueryError(proc.args[1:], proc.returncode, proc.stdout, proc.stderr)
    assert proc.returncode == 1, f"expected exit 1 with {code}: {err}"
    assert err.code == code, f"expected error code {code}, got {err.code}: {err}"
    assert proc.stdout == "", f"a failed query printed rows: {proc.stdout!r}"
    return err


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def audit_records(target, request_id: str) -> list:
    """Every CloudTrail record of a request id, through `sightline query`."""
    rows = query(target, f"SELECT record FROM audit_events WHERE request_id = {sql_str(request_id)}")
    return [json.loads(r["record"]) for r in rows]


def audit_record(target, request_id: str) -> dict:
    """The one CloudTrail record of a request id (asserts there is exactly one)."""
    found = audit_records(target, request_id)
    assert len(found) == 1, f"expected exactly one record for {request_id}, got {len(found)}: {found}"
    return found[0]


def request_id_of(response) -> str:
    """The request id of a boto3 response, a ClientError, or a raw requests.Response."""
    if isinstance(response, ClientError):
        response = response.response
    if isinstance(response, requests.Response):
        for header in ("x-amzn-RequestId", "x-amz-request-id"):
            if header in response.headers:
                return response.headers[header]
        raise AssertionError(f"no request id header in {dict(response.headers)}")
    return response["ResponseMetadata"]["RequestId"]


def lookup_all(cloudtrail, **kwargs) -> list:
    """Every event of a LookupEvents query, following NextToken (boto3)."""
    events = []
    token = None
    while True:
        args = dict(kwargs)
        if token:
            args["NextToken"] = token
        page = cloudtrail.lookup_events(**args)
        events.extend(page["Events"])
        token = page.get("NextToken")
        if not token:
            return events


def event_request_id(event: dict) -> str:
    """The requestID of a LookupEvents event's CloudTrailEvent."""
    return json.loads(event["CloudTrailEvent"])["requestID"]


# --------------------------------------------------------------------------- the lake on disk


def segment_files(srv: "SightlineServer", dataset: str = "audit_events") -> list:
    root = srv.data_dir / "lake" / "segments" / dataset
    return sorted(root.rglob("*.parquet")) if root.exists() else []


def wal_files(srv: "SightlineServer") -> list:
    root = srv.data_dir / "lake" / "wal"
    return sorted(root.glob("wal-*.log")) if root.exists() else []


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value) -> dt.datetime:
    """A datetime from boto3 (aware) or CLI JSON (ISO string) in UTC."""
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)

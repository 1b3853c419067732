"""Fixtures of the Sightline conformance suite.

`server` is one fresh Sightline for the whole session (tmp data dir, free port);
`module_server` is one fresh Sightline per test module; `server_factory` starts dedicated
servers (restart tests, special flags). Every server still running at teardown is stopped
with SIGTERM and must exit 0 (a server a test killed on purpose is not running any more).
"""

from __future__ import annotations

import pytest

from sightline_support import (  # noqa: F401  (re-exported for convenience)
    AwsCliError,
    Creds,
    SightlineServer,
    assume,
    aws,
    aws_error,
    create_member_account,
    org_role_arn,
)


def _stop_and_check(srv: SightlineServer) -> None:
    if not srv.running:
        return
    code = srv.stop()
    assert code == 0, f"sightline exited with {code} after SIGTERM\nstderr:\n{srv.stderr()}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared Sightline server: `.env` for `aws` subprocesses, `.client()` /
    `.session()` for boto3, `.root` for the management account root credentials."""
    yield from _running(tmp_path_factory.mktemp("sightline"))


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """A fresh Sightline for one test module, for modules that need to know every event
    of the account they look at (the shared server collects the other modules' calls)."""
    yield from _running(tmp_path_factory.mktemp("sightline-module"))


def _running(base):
    """A server started in `base` for the fixture's life, checked when it stops."""
    srv = SightlineServer(base / "data", base / "logs")
    try:
        srv.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield srv
    _stop_and_check(srv)


class ServerFactory:
    """Starts dedicated servers; `start(data_dir=None, extra_args=())`."""

    def __init__(self, tmp_path):
        self._tmp = tmp_path
        self._servers: list[SightlineServer] = []

    def new(self, data_dir=None, extra_args=()) -> SightlineServer:
        index = len(self._servers)
        data_dir = data_dir or (self._tmp / f"data-{index}")
        srv = SightlineServer(data_dir, self._tmp / f"logs-{index}", extra_args)
        self._servers.append(srv)
        return srv

    def start(self, data_dir=None, extra_args=()) -> SightlineServer:
        srv = self.new(data_dir, extra_args)
        try:
            srv.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        return srv

    def close(self) -> None:
        failures = []
        for srv in self._servers:
            try:
                _stop_and_check(srv)
            except AssertionError as exc:
                failures.append(str(exc))
            finally:
                srv.kill()
        assert not failures, "\n".join(failures)


@pytest.fixture
def server_factory(tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def iam(server):
    return server.client("iam")


@pytest.fixture
def sts(server):
    return server.client("sts")


@pytest.fixture
def org(server):
    return server.client("organizations")


@pytest.fixture(scope="session")
def member_accounts(server):
    """Two member accounts created through Organizations, shared by tests that only
    need some member accounts (they never modify the accounts' bootstrap role)."""
    org_client = server.client("organizations")
    return [create_member_account(org_client, "shared-a"), create_member_account(org_client, "shared-b")]

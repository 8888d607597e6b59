"""A real PostgreSQL streaming replica for the tests here: a hot standby of the test server.

``replica_servers`` (once per session) runs ``scripts/replica start`` on a free port with a
directory of its own, and ``scripts/replica stop`` at the end, which removes it. It needs
``GOALFLOW_TEST_POSTGRES`` to name a server on this machine, and root or the postgres user
(pg_basebackup runs as postgres). Without them the tests skip with the reason, unless
``GOALFLOW_REQUIRE_REPLICA=1`` (as on CI, ``.ci/run``), when they fail instead.

``replicated`` gives a test a schema of its own: its url on the primary and on the replica.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from standby import Replicated, Servers, replica_script, schema_on

POSTGRES_ENV = "GOALFLOW_TEST_POSTGRES"
REQUIRE_ENV = "GOALFLOW_REQUIRE_REPLICA"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, but {REQUIRE_ENV}=1")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    host = f"{userinfo}@" if userinfo else ""
    return urlunsplit(parts._replace(netloc=f"{host}{parts.hostname}:{port}"))


@pytest.fixture(scope="session")
def replica_servers() -> Iterator[Servers]:
    """A streaming replica of the test server, made for this session and removed after."""
    primary = os.environ.get(POSTGRES_ENV)
    if not primary:
        _unavailable(f"{POSTGRES_ENV} is not set")
    assert primary is not None
    parts = urlsplit(primary)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        _unavailable(f"{POSTGRES_ENV} names a server on another machine; the replica is made"
                     " on this one")
    port = _free_port()
    directory = tempfile.mkdtemp(prefix="goalflow-replica-")
    started = replica_script("start", port, directory, parts.port or 5432)
    if started.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(f"scripts/replica start failed: {started.stderr.strip()}")
    try:
        yield Servers(primary, _with_port(primary, port), directory, port, parts.port or 5432)
    finally:
        stopped = replica_script("stop", port, directory, parts.port or 5432)
        assert stopped.returncode == 0, stopped.stderr
        assert not Path(directory).exists(), "scripts/replica stop left the directory"


@pytest.fixture
def replicated(replica_servers: Servers) -> Iterator[Replicated]:
    """A schema of this test's own: a store made on the primary, read on the replica."""
    with schema_on(replica_servers) as replicated:
        yield replicated

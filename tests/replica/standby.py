"""The replica the tests here read from: the servers, a test's schema on both, and the
script that makes and removes the replica (``scripts/replica``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

import goalflow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "replica"


@dataclass(frozen=True)
class Servers:
    """The primary test server and its streaming replica (urls without a schema)."""

    primary: str
    replica: str
    directory: str
    port: int
    primary_port: int

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the replica has replayed everything the primary has written so far
        (PostgreSQL's own measure, the WAL position: for setting tests up, not testing
        goalflow's waiting)."""
        with psycopg.connect(self.primary, autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        assert row is not None
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.replica, autocommit=True) as replica:
            while True:
                done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                       (row[0],)).fetchone()
                if done and done[0]:
                    return
                assert time.monotonic() < deadline, "the replica did not catch up"
                time.sleep(0.02)

    def pause_replay(self) -> None:
        """Stop the replica replaying the primary's WAL (it still receives it)."""
        with psycopg.connect(self.replica, autocommit=True) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            while replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() \
                    != ("paused",):
                time.sleep(0.01)

    def resume_replay(self) -> None:
        with psycopg.connect(self.replica, autocommit=True) as replica:
            replica.execute("SELECT pg_wal_replay_resume()")


@dataclass(frozen=True)
class Replicated:
    """One test's schema: its goalflow url on the primary and on the replica."""

    servers: Servers
    primary: str
    replica: str
    schema: str

    def open_replica(self, **options: Any) -> goalflow.Goals:
        """The store on the replica, once the primary's tables have got there."""
        self.servers.caught_up()
        return goalflow.open(self.replica, **options)


@contextlib.contextmanager
def schema_on(servers: Servers) -> Iterator[Replicated]:
    """A schema of its own for a test (or a module), dropped on the primary afterwards
    (and so on the replica)."""
    schema = f"gf_{uuid.uuid4().hex}"
    option = f"{'&' if '?' in servers.primary else '?'}schema={schema}"
    try:
        yield Replicated(servers, f"{servers.primary}{option}", f"{servers.replica}{option}",
                         schema)
    finally:
        servers.resume_replay()  # (a test that paused it and failed)
        with psycopg.connect(servers.primary, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def replica_script(action: str, port: int, directory: str, primary_port: int
                   ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOALFLOW_REPLICA_PRIMARY_PORT": str(primary_port)}
    return subprocess.run([str(SCRIPT), action, "--port", str(port), "--dir", directory],
                          capture_output=True, text=True, env=env, timeout=300, check=False)

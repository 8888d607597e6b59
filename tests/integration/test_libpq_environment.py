"""libpq's environment supplies what a PostgreSQL store url leaves out, never where the
store is (README, Configuration).

PGPASSWORD and ~/.pgpass, PGUSER, PGSSLMODE, PGAPPNAME, ... apply to every connection
(the pool's, eventsourcing's, and goalflow's own) for what the url does not give;
PGHOST, PGHOSTADDR, PGPORT and PGDATABASE never do: the url names the server, the
database and the schema.
"""

from __future__ import annotations

import socket
import struct
import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from anxiety_goal import agreed_anxiety_goal
from as_printed import printed

import goalflow
from goalflow import StoreError

LIBPQ_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
                   "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGSSLMODE", "PGAPPNAME",
                   "PGOPTIONS", "PGCONNECT_TIMEOUT")


@pytest.fixture(autouse=True)
def no_libpq_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test sets the variables it is about, and no ~/.pgpass is read."""
    for name in LIBPQ_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def settings(goals: goalflow.Goals) -> tuple[str, str]:
    """(application_name, current_user) of a pooled connection of the store."""
    with goals.store.recorder.transaction(commit=False) as tx:
        row = tx.execute("SELECT current_setting('application_name') AS a,"
                         " current_user AS b").fetchone()
    assert row is not None
    return row[0], row[1]


def own_session_names(url: str, goals: goalflow.Goals) -> list[str]:
    """The application_name of goalflow's own listening connection."""
    goals.store.wait_for_events(0.01)
    with psycopg.connect(url.partition("?")[0]) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s",
                            (goals.store._listener.info.backend_pid,)).fetchall()
    return [row[0] for row in rows]


@pytest.mark.postgres
def test_pgappname_names_the_sessions_unless_the_url_does(
        postgres_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"ward-7-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)
    with goalflow.open(postgres_url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
        assert settings(goals)[0] == name
        assert own_session_names(postgres_url, goals) == [name]
    with goalflow.open(f"{postgres_url}&application_name=from-the-url") as goals:
        assert settings(goals)[0] == "from-the-url"
        assert own_session_names(postgres_url, goals) == ["from-the-url"]


@pytest.mark.postgres
def test_pgsslmode_applies_unless_the_url_says(postgres_url: str, clock: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as env:  # (the fixture's own clean-up connects after)
        env.setenv("PGSSLMODE", "require")  # the test server has no TLS
        with pytest.raises(StoreError, match="SSL"):
            goalflow.open(postgres_url, clock=clock).close()
        with goalflow.open(f"{postgres_url}&sslmode=disable", clock=clock) as goals:
            agreed_anxiety_goal(goals)


@pytest.mark.postgres
def test_a_url_without_a_user_connects_as_pguser(postgres_url: str, clock: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scheme, _, rest = postgres_url.partition("://")
    user, _, where = rest.rpartition("@")
    assert user == "postgres", "the test server's trusted user"
    monkeypatch.setenv("PGUSER", user)
    url = f"{scheme}://{where}"  # postgresql://127.0.0.1:5432/test?schema=...
    with goalflow.open(url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
        assert settings(goals)[1] == "postgres"
    with goalflow.open(url, readonly=True) as reader:
        assert len(printed(reader.goal_index())) == 1


@pytest.mark.postgres
def test_the_environment_never_moves_the_store(postgres_url: str, clock: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with goalflow.open(postgres_url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
    with monkeypatch.context() as env:  # (the fixture's own clean-up connects after)
        env.setenv("PGHOST", "nowhere.invalid")
        env.setenv("PGHOSTADDR", "127.0.0.2")  # loopback, but no server listens there
        env.setenv("PGPORT", "1")
        env.setenv("PGDATABASE", "elsewhere")
        for readonly in (False, True):
            with goalflow.open(postgres_url, readonly=readonly) as goals:
                assert goals.get(goal_id).version == 2
                goals.store.wait_for_events(0.01)  # goalflow's own connection too
                assert goals.store._listener is not None


class PasswordCatcher:
    """A PostgreSQL server that asks each client for its password, notes it, and refuses.

    The test server trusts everyone, so it cannot show which password a client sends.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.passwords: list[str | None] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as stream:
                self.passwords.append(self._password(conn, stream))

    @staticmethod
    def _password(conn: socket.socket, stream: Any) -> str | None:
        try:
            while True:
                length, code = struct.unpack("!II", stream.read(8))
                stream.read(length - 8)
                if code not in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                    break
                conn.sendall(b"N")  # no TLS here; go on
            conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            kind = stream.read(1)
            if kind != b"p":
                return None  # the client had no password to give
            (length,) = struct.unpack("!I", stream.read(4))
            password: str = stream.read(length - 4).rstrip(b"\0").decode()
            error = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
            conn.sendall(b"E" + struct.pack("!I", len(error) + 4) + error)
            return password
        except (OSError, struct.error):
            return None


@pytest.fixture
def catcher() -> Any:
    server = PasswordCatcher()
    yield server
    server.close()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_url_without_a_password_sends_pgpassword_or_the_pgpass_entry(
        catcher: PasswordCatcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        readonly: bool) -> None:
    url = f"postgresql://dr-lee@127.0.0.1:{catcher.port}/clinic"
    monkeypatch.setenv("PGPASSWORD", "from-pgpassword")
    with pytest.raises(StoreError, match="password authentication failed"):
        goalflow.open(url, readonly=readonly)
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{catcher.port}:clinic:dr-lee:from-pgpass\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with pytest.raises(StoreError, match="password authentication failed"):
        goalflow.open(url, readonly=readonly)
    monkeypatch.setenv("PGPASSWORD", "from-pgpassword")
    with pytest.raises(StoreError, match="password authentication failed"):
        goalflow.open(f"postgresql://dr-lee:from-the-url@127.0.0.1:{catcher.port}/clinic",
                      readonly=readonly)
    assert catcher.passwords == ["from-pgpassword", "from-pgpass", "from-the-url"]


@pytest.mark.postgres
def test_pgoptions_never_applies_the_urls_options_do(postgres_url: str, clock: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # goalflow always gives libpq `options` (its lock wait), so libpq never reads PGOPTIONS.
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=4321")
    for url, expected in ((postgres_url, "0"),
                          (f"{postgres_url}&options=-c%20statement_timeout%3D4321", "4321ms")):
        with goalflow.open(url, clock=clock) as goals, \
                goals.store.recorder.transaction(commit=False) as tx:
            assert tx.execute("SHOW statement_timeout").fetchone() == (expected,)

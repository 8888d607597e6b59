"""Store faults (issue 5, item 5): a locked SQLite file, a read-only directory, a full disk,
PostgreSQL stopped in the middle of a run, a connection dropped.

For each: (a) a clear one-line error (a StoreError from the API; exit code 1 and one
``Error:`` line from ``goalflow apply``), (b) nothing half-written (every event has its
read-model rows and its command record, every command record its event, every read model
at the head of the log), and (c) once the fault clears, the same command (same
``command_id``) is recorded exactly once and the store is fully usable.

Faults that need mounts (a tiny tmpfs, a read-only remount) skip where mounting is not
permitted, and fail there instead when GOALFLOW_REQUIRE_MOUNT=1 (as on CI); a full disk is
also simulated without a mount, so that guarantee is always tested. PostgreSQL is never
stopped (other tests share it): goalflow reaches it through a TCP proxy (``tcp_proxy.py``)
that the tests stop, start again and cut.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import orjson
import psycopg
import pytest
from anxiety_goal import MAYA, agreed_anxiety_goal, draft_anxiety_goal
from as_printed import printed
from click.testing import CliRunner, Result
from tcp_proxy import TcpProxy

import goalflow
import goalflow.persistence.store as store_module
from goalflow import StoreError
from goalflow.cli import cli
from goalflow.projection import Projections

# -- what every fault must leave behind ---------------------------------------------------


@dataclass(frozen=True)
class StoreState:
    """What a store holds, read back after checking that it hangs together."""

    events: tuple[tuple[int, UUID, int], ...]  # (position, goal, version), in log order
    commands: dict[str, tuple[UUID, int, int]]  # command_id -> (goal, version, position)

    def versions_of(self, goal_id: UUID | str) -> list[int]:
        return [v for _, g, v in self.events if g == UUID(str(goal_id))]


def store_state(url: str) -> StoreState:
    """The store's events and command records, after checking nothing is half-written:
    each event has its audit entry and its goal's plan row is at its latest version, each
    command record points at its event, and each read model is at the head of the log."""
    with goalflow.open(url, readonly=True) as goals:
        store = goals.store
        with store.recorder.transaction(commit=False) as tx:
            position = "rowid" if tx.dialect == "sqlite" else "notification_id"
            events = tuple(
                (int(p), _uuid(g), int(v)) for p, g, v in tx.execute(
                    f"SELECT {position}, originator_id, originator_version FROM"
                    f" {tx.table(store.events_table)} ORDER BY {position}").fetchall())
            commands = {
                cid: (_uuid(g), int(v), int(n)) for cid, g, v, n in tx.execute(
                    "SELECT command_id, goal_id, version, notification_id FROM"
                    f" {tx.table('goalflow_commands')}").fetchall()}
        audit = [(int(e["position"]), _uuid(e["goal_id"]), int(e["version"]))
                 for e in printed(goals.audit())]
        plan = {_uuid(g["goal_id"]): int(g["version"]) for g in printed(goals.goal_index())}
        status = goals.projections.status()

    assert audit == list(events), "the audit trail and the log disagree"
    latest: dict[UUID, int] = {}
    for _, goal_id, version in events:
        latest[goal_id] = max(latest.get(goal_id, 0), version)
    assert plan == latest, "the plans read model and the log disagree"
    head = events[-1][0] if events else 0
    for row in status:
        assert (row["state"], row["position"], row["head"]) == ("ready", head, head), row
    at = {p: (g, v) for p, g, v in events}
    for command_id, (goal_id, version, notification_id) in commands.items():
        assert at.get(notification_id) == (goal_id, version), \
            f"command {command_id} is recorded without its event"
    return StoreState(events, commands)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def assert_clear(error: BaseException, says: str, where: str) -> None:
    """One line, goalflow's own words (not an 'unexpected' fault), saying what happened
    (``says``, a regular expression) and where (the store's file or server)."""
    message = str(error)
    assert isinstance(error, StoreError), f"{type(error).__name__}: {message}"
    assert "failed unexpectedly" not in message, message
    assert "\n" not in message.strip(), message
    assert re.search(says, message, re.IGNORECASE), message
    assert where in message, message


def assert_one_clear_error(result: Result, says: str, where: str) -> str:
    """``goalflow`` failed with exit code 1 and one ``Error:`` line, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "failed unexpectedly" not in errors[0], errors[0]
    assert "--debug" not in errors[0], errors[0]
    assert re.search(says, errors[0], re.IGNORECASE), errors[0]
    assert where in errors[0], errors[0]
    return errors[0]


# -- commands as data, for goalflow apply --------------------------------------------------


def plan_lines(goal_id: UUID, prefix: str) -> list[dict[str, Any]]:
    """Four commands for one new goal, each with a command id: draft, agree, a step done,
    progress recorded."""
    dr = {"id": "dr-lee", "role": "clinician"}
    maya = {"id": "client-7", "role": "client"}
    gid = str(goal_id)
    return [
        {"command": "draft", "goal_id": gid, "subject": {"kind": "client", "id": "client-7"},
         "statement": "Use breathing exercises and daily yoga to manage anxiety before work",
         "client_words": "I want to stop panicking before work",
         "addresses": ["generalised anxiety disorder"],
         "target_date": (date.today() + timedelta(days=60)).isoformat(),
         "measures": [{"name": "GAD-7", "baseline": 15, "target": 7,
                       "direction": "decrease"}],
         "steps": ["Learn two breathing exercises", "10 minutes of yoga daily"],
         "by": dr, "command_id": f"{prefix}-1"},
        {"command": "agree", "goal_id": gid, "by": maya, "terms_version": 1,
         "method": "signature", "command_id": f"{prefix}-2"},
        {"command": "complete_step", "goal_id": gid, "step_id": "s1", "by": maya,
         "command_id": f"{prefix}-3"},
        {"command": "record_progress", "goal_id": gid, "measure": "GAD-7", "value": 11,
         "by": maya, "command_id": f"{prefix}-4"},
    ]


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def goalflow_cli(url: str, *args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", url, *args], input=input)


def applied_lines(result: Result) -> list[dict[str, Any]]:
    """The results ``goalflow apply`` printed, one per command it recorded (or replayed)."""
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def applied(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return applied_lines(result)


def assert_applied_once_each(state: StoreState, goal_id: UUID, prefix: str, count: int) -> None:
    assert state.versions_of(goal_id) == list(range(1, count + 1))
    for n in range(1, count + 1):
        assert state.commands[f"{prefix}-{n}"][:2] == (goal_id, n)


# -- a fault inside the events' own transaction ---------------------------------------------


class TransactionFaults:
    """Runs an action inside the next transaction that records an event of a given type:
    after its events, command records and read-model rows are written, before the commit.
    Reaches every store opened meanwhile, the CLI's included."""

    def __init__(self) -> None:
        self._armed: list[tuple[str, Callable[[Any], None]]] = []
        self.fired = 0

    def on(self, event_type: str, action: Callable[[Any], None]) -> None:
        self._armed.append((event_type, action))

    def run(self, tx: Any, events: Any) -> None:
        types = {type(event).__name__ for event in events}
        for i, (event_type, action) in enumerate(self._armed):
            if event_type in types:
                del self._armed[i]
                self.fired += 1
                action(tx)
                return


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> TransactionFaults:
    faults = TransactionFaults()
    inline_write = Projections.inline_write

    def with_faults(self: Projections, events: Any, goals: Any = ()) -> Any:
        write = inline_write(self, events, goals)

        def faulty(tx: Any, notification_ids: Any) -> None:
            write(tx, notification_ids)
            faults.run(tx, events)

        return faulty

    monkeypatch.setattr(Projections, "inline_write", with_faults)
    return faults


# -- mounts ---------------------------------------------------------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def _why(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where``, always unmounted afterwards; skips the test
    where mounting is not permitted."""
    where.mkdir()
    if shutil.which("mount") is None:
        cannot("no mount command here")
    done = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    if done.returncode != 0:
        cannot(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {_why(done)}")
    try:
        yield where
    finally:
        gc.collect()  # connections a failed test left open keep the mount busy
        if subprocess.run(["umount", str(where)], capture_output=True,
                          check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, check=True)


def remount(where: Path, mode: str) -> None:
    done = _mount("-o", f"remount,{mode}", str(where))
    if done.returncode != 0:
        cannot(f"cannot remount {where} {mode} here: {_why(done)}")


REQUIRE_MOUNT_ENV = "GOALFLOW_REQUIRE_MOUNT"


def cannot(reason: str) -> NoReturn:
    """Skip a test that needs mounts where there are none, unless they are required (CI,
    which runs as root, sets GOALFLOW_REQUIRE_MOUNT=1): then it fails, so its evidence is
    never silently lost."""
    if os.environ.get(REQUIRE_MOUNT_ENV) == "1":
        pytest.fail(f"{reason}, but {REQUIRE_MOUNT_ENV}=1")
    pytest.skip(reason)


def fill_up(where: Path) -> Path:
    """Fill the filesystem at ``where`` to the last byte; returns the filler file."""
    filler = where / "filler"
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0")
    assert os.statvfs(where).f_bavail == 0
    return filler


def checkpoint(path: Path) -> None:
    """Move everything from the WAL into the database file and truncate the WAL, so the
    next write has to grow a file."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0


# -- SQLite: a locked file ------------------------------------------------------------------


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer holding the SQLite file's write lock (BEGIN IMMEDIATE)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        with contextlib.suppress(sqlite3.Error):
            other.rollback()
        other.close()


@pytest.fixture
def short_sqlite_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite waits 1 s for a lock instead of goalflow's default (see the test that
    measures it), to keep the file fast."""
    environment = store_module._environment

    def shorter(url: Any, *, readonly: bool) -> dict[str, str]:
        env = environment(url, readonly=readonly)
        assert "SQLITE_LOCK_TIMEOUT" in env or url.kind == "postgresql"
        if "SQLITE_LOCK_TIMEOUT" in env:
            env["SQLITE_LOCK_TIMEOUT"] = "1"
        return env

    monkeypatch.setattr(store_module, "_environment", shorter)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "goals.db"


@pytest.mark.slow  # waits out goalflow's real SQLite lock timeout (10 s at the time of writing)
def test_a_command_on_a_locked_sqlite_file_waits_then_fails_clearly_and_applies_once_released(
    sqlite_path, clock
):
    url = f"sqlite:///{sqlite_path}"
    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(url)

        with write_lock_held(sqlite_path):
            started = time.monotonic()
            with pytest.raises(StoreError) as refused:
                goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="lock-1")
            waited = time.monotonic() - started
            # Reading needs no write lock: inspection goes on meanwhile.
            shown = goalflow_cli(url, "show", str(goal_id))
            assert shown.exit_code == 0, shown.stderr
            assert "version 2" in shown.stdout

        assert_clear(refused.value, r"locked", str(sqlite_path))
        # It waits its turn (a busy timeout, not an immediate failure), but not forever.
        assert 1 <= waited < 15, waited
        assert store_state(url) == before

        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="lock-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="lock-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
    after = store_state(url)
    assert after.versions_of(goal_id) == [1, 2, 3, 4]
    assert after.commands["lock-1"][:2] == (goal_id, 3)


def test_a_writer_that_waits_for_the_lock_succeeds_once_it_is_released_in_time(
    sqlite_path, clock
):
    url = f"sqlite:///{sqlite_path}"
    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        with write_lock_held(sqlite_path) as other:
            release = threading.Timer(0.5, other.rollback)
            release.start()
            started = time.monotonic()
            try:
                version = goals.complete_step(goal_id, by=MAYA, step_id="s1",
                                              command_id="wait-1")
            finally:
                release.join()
            waited = time.monotonic() - started
        assert version == 3
        assert waited >= 0.4, "the write did not wait for the lock at all"
    state = store_state(url)
    assert state.versions_of(goal_id) == [1, 2, 3]
    assert state.commands["wait-1"][:2] == (goal_id, 3)


def test_opening_a_locked_sqlite_file_for_writing_is_a_clear_store_error(
    sqlite_path, clock, short_sqlite_lock_timeout
):
    url = f"sqlite:///{sqlite_path}"
    with goalflow.open(url, clock=clock) as goals:
        agreed_anxiety_goal(goals)
    before = store_state(url)

    with write_lock_held(sqlite_path), pytest.raises(StoreError) as refused:
        goalflow.open(url, clock=clock).close()

    assert_clear(refused.value, r"locked", str(sqlite_path))
    assert store_state(url) == before


def test_goalflow_apply_on_a_locked_sqlite_file_prints_one_clear_error_and_applies_once_released(
    sqlite_path, short_sqlite_lock_timeout
):
    url = f"sqlite:///{sqlite_path}"
    with goalflow.open(url):
        pass
    goal_id = uuid.uuid4()
    plan = jsonl(plan_lines(goal_id, "locked"))

    with write_lock_held(sqlite_path):
        result = goalflow_cli(url, "apply", "-", input=plan)
    assert_one_clear_error(result, r"locked", str(sqlite_path))
    assert store_state(url).events == ()

    outcomes = applied(goalflow_cli(url, "apply", "-", input=plan))
    assert [o["replayed"] for o in outcomes] == [False] * 4
    assert [o["replayed"] for o in applied(goalflow_cli(url, "apply", "-", input=plan))] \
        == [True] * 4
    assert_applied_once_each(store_state(url), goal_id, "locked", 4)


# -- a full disk ----------------------------------------------------------------------------


def _disk_full_error(dialect: str, kind: str) -> BaseException:
    if kind == "os":
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if dialect == "sqlite":
        return sqlite3.OperationalError("database or disk is full")
    return psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left'
                                   " on device")


@pytest.mark.parametrize("kind", ["driver", "os"])
def test_a_disk_full_inside_the_events_transaction_records_nothing_and_the_retry_applies_once(
    store_url, clock, faults, kind
):
    dialect = "sqlite" if store_url.startswith("sqlite") else "postgresql"
    where = store_url.removeprefix("sqlite:///") if dialect == "sqlite" \
        else urlsplit(store_url).netloc

    def disk_full(_tx: Any) -> None:
        raise _disk_full_error(dialect, kind)

    with goalflow.open(store_url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(store_url)

        faults.on("StepCompleted", disk_full)
        with pytest.raises(StoreError) as refused:
            goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="full-1")
        assert faults.fired == 1
        assert_clear(refused.value, r"full|no space", where)
        assert store_state(store_url) == before

        # The same through goalflow apply: one clear line, nothing recorded.
        plan = jsonl(plan_lines(uuid.uuid4(), "full-cli"))
        faults.on("Drafted", disk_full)
        assert_one_clear_error(goalflow_cli(store_url, "apply", "-", input=plan),
                               r"full|no space", where)
        assert store_state(store_url) == before

        # The fault clears: the same command is recorded, once.
        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="full-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="full-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
    assert [o["replayed"] for o in applied(goalflow_cli(store_url, "apply", "-", input=plan))] \
        == [False] * 4
    after = store_state(store_url)
    assert after.versions_of(goal_id) == [1, 2, 3, 4]
    assert after.commands["full-1"][:2] == (goal_id, 3)
    assert len(after.events) == len(before.events) + 2 + 4


def test_a_really_full_disk_records_nothing_and_the_same_commands_apply_once_there_is_room(
    tmp_path, clock
):
    with tmpfs(tmp_path / "small", "1m") as disk:
        path = disk / "goals.db"
        url = f"sqlite:///{path}"
        with goalflow.open(url, clock=clock) as goals:
            goal_id = agreed_anxiety_goal(goals)
            checkpoint(path)
            before = store_state(url)
            filler = fill_up(disk)

            with pytest.raises(StoreError) as refused:
                goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="room-1",
                                    note="Practised box breathing every evening. " * 50)
            assert_clear(refused.value, r"full|no space", str(path))

            plan = jsonl(plan_lines(uuid.uuid4(), "disk"))
            assert_one_clear_error(goalflow_cli(url, "apply", "-", input=plan),
                                   r"full|no space", str(path))
            # Reading needs no room.
            shown = goalflow_cli(url, "show", str(goal_id))
            assert shown.exit_code == 0, shown.stderr
            assert store_state(url) == before

            filler.unlink()
            assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="room-1",
                                       note="Practised box breathing every evening. " * 50) == 3
            assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
        assert [o["replayed"] for o in applied(goalflow_cli(url, "apply", "-", input=plan))] \
            == [False] * 4
        after = store_state(url)
        assert after.versions_of(goal_id) == [1, 2, 3, 4]
        assert after.commands["room-1"][:2] == (goal_id, 3)
        assert len(after.events) == len(before.events) + 2 + 4


# -- a read-only directory ------------------------------------------------------------------


@pytest.fixture
def read_only_store(tmp_path: Path, clock: Any) -> Iterator[tuple[Path, UUID]]:
    """A store with one agreed goal, on a filesystem then remounted read-only."""
    with tmpfs(tmp_path / "records", "4m") as disk:
        path = disk / "goals.db"
        with goalflow.open(f"sqlite:///{path}", clock=clock) as goals:
            goal_id = agreed_anxiety_goal(goals)
        remount(disk, "ro")
        yield path, goal_id


def test_opening_a_store_on_a_read_only_directory_for_writing_is_a_clear_store_error(
    read_only_store
):
    path, goal_id = read_only_store
    url = f"sqlite:///{path}"
    with pytest.raises(StoreError) as refused:
        goalflow.open(url).close()
    assert_clear(refused.value, r"read.?only", str(path))

    plan = jsonl(plan_lines(uuid.uuid4(), "ro"))
    assert_one_clear_error(goalflow_cli(url, "apply", "-", input=plan), r"read.?only",
                           str(path))

    remount(path.parent, "rw")
    assert [o["replayed"] for o in applied(goalflow_cli(url, "apply", "-", input=plan))] \
        == [False] * 4
    state = store_state(url)
    assert state.versions_of(goal_id) == [1, 2]
    assert len(state.events) == 2 + 4


def test_a_store_on_a_read_only_directory_can_still_be_inspected(read_only_store):
    path, goal_id = read_only_store
    url = f"sqlite:///{path}"
    with goalflow.open(url, readonly=True) as reader:
        assert reader.get(goal_id).version == 2
        assert [row["lag"] for row in reader.projections.status()] == [0, 0, 0, 0]
    shown = goalflow_cli(url, "show", str(goal_id))
    assert shown.exit_code == 0, shown.stderr
    assert "version 2" in shown.stdout
    assert sorted(p.name for p in path.parent.iterdir()) == ["goals.db"]


# -- PostgreSQL going away: through a proxy the tests control -------------------------------


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(postgres_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with the proxy's address in place of the server's."""
    parts = urlsplit(url)
    user, _, _ = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{proxy.port}"))


def terminate(server_url: str, pids: list[int]) -> None:
    """pg_terminate_backend, waiting until each session is gone."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def goalflow_sessions(server_url: str, proxy: TcpProxy) -> list[int]:
    """The server's pids of the sessions goalflow opened through the proxy."""
    ports = proxy.upstream_ports()
    with psycopg.connect(server_url, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)",
                             (ports,)).fetchall()
    return [row[0] for row in rows]


def drop_idle_connections(how: str, server_url: str, proxy: TcpProxy) -> None:
    """Drop goalflow's connections under it: cut on the network by the proxy, or ended by
    the server (pg_terminate_backend)."""
    if how == "network":
        proxy.drop_connections()
    else:
        sessions = goalflow_sessions(server_url, proxy)
        assert sessions
        terminate(server_url, sessions)


@pytest.mark.postgres
def test_postgres_stopped_in_the_middle_of_a_run_stops_it_cleanly_and_a_rerun_finishes_it(
    postgres_url, postgres_server, proxy, faults
):
    url = through(proxy, postgres_url)
    where = f"127.0.0.1:{proxy.port}"
    with goalflow.open(url):
        pass
    goal_id = uuid.uuid4()
    plan = jsonl(plan_lines(goal_id, "run"))

    # The server goes away while line 3 is in its transaction.
    faults.on("StepCompleted", lambda _tx: proxy.stop())
    result = goalflow_cli(url, "apply", "-", input=plan)
    assert faults.fired == 1
    assert_one_clear_error(result, r"connect|server", where)
    # What apply printed as done is exactly what was recorded: lines before line 3 (all
    # of them, or none if apply writes them in one transaction), and not line 3.
    done = applied_lines(result)
    assert [o["line"] for o in done] in ([1, 2], [])
    assert_applied_once_each(store_state(postgres_url), goal_id, "run", len(done))

    # While it is down, every command says so at once, in one line.
    assert_one_clear_error(goalflow_cli(url, "apply", "-", input=plan), r"connect", where)
    assert_one_clear_error(goalflow_cli(url, "show", str(goal_id)), r"connect", where)
    with pytest.raises(StoreError) as refused:
        goalflow.open(url)
    assert_clear(refused.value, r"connect", where)

    proxy.start()
    outcomes = applied(goalflow_cli(url, "apply", "-", input=plan))
    assert [o["replayed"] for o in outcomes] == [True] * len(done) + [False] * (4 - len(done))
    assert_applied_once_each(store_state(postgres_url), goal_id, "run", 4)


@pytest.mark.postgres
def test_postgres_stopped_under_an_open_store_fails_clearly_and_the_same_command_applies_once_back(
    postgres_url, proxy, clock
):
    url = through(proxy, postgres_url)
    where = f"127.0.0.1:{proxy.port}"
    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(postgres_url)

        proxy.stop()
        started = time.monotonic()
        with pytest.raises(StoreError) as refused:
            goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="down-1")
        assert time.monotonic() - started < 10
        assert_clear(refused.value, r"connect|server", where)
        assert store_state(postgres_url) == before

        proxy.start()
        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="down-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="down-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
        assert goals.get(goal_id).version == 4
    after = store_state(postgres_url)
    assert after.versions_of(goal_id) == [1, 2, 3, 4]
    assert after.commands["down-1"][:2] == (goal_id, 3)


@pytest.mark.postgres
def test_a_connection_dropped_inside_a_command_records_nothing_and_the_retry_applies_once(
    postgres_url, postgres_server, proxy, clock, faults
):
    url = through(proxy, postgres_url)

    def drop_this_session(tx: Any) -> None:
        (pid,) = tx.execute("SELECT pg_backend_pid()").fetchone()
        terminate(postgres_server, [pid])

    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(postgres_url)

        faults.on("StepCompleted", drop_this_session)
        with pytest.raises(StoreError) as refused:
            goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="drop-1")
        assert faults.fired == 1
        assert_clear(refused.value, r"connect|server|terminat", f"127.0.0.1:{proxy.port}")
        assert store_state(postgres_url) == before

        assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="drop-1") == 3
        assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
    after = store_state(postgres_url)
    assert after.versions_of(goal_id) == [1, 2, 3, 4]
    assert after.commands["drop-1"][:2] == (goal_id, 3)

    # The same through goalflow apply: its session dropped while line 3 is being written.
    cli_goal = uuid.uuid4()
    plan = jsonl(plan_lines(cli_goal, "drop-cli"))
    faults.on("StepCompleted", drop_this_session)
    result = goalflow_cli(url, "apply", "-", input=plan)
    assert faults.fired == 2
    assert_one_clear_error(result, r"connect|server|terminat", f"127.0.0.1:{proxy.port}")
    done = applied_lines(result)
    assert [o["line"] for o in done] in ([1, 2], [])
    assert_applied_once_each(store_state(postgres_url), cli_goal, "drop-cli", len(done))
    outcomes = applied(goalflow_cli(url, "apply", "-", input=plan))
    assert [o["replayed"] for o in outcomes] == [True] * len(done) + [False] * (4 - len(done))
    assert_applied_once_each(store_state(postgres_url), cli_goal, "drop-cli", 4)


@pytest.mark.postgres
def test_an_answer_lost_during_commit_is_recorded_exactly_once_when_the_command_is_retried(
    postgres_url, proxy, clock, faults
):
    # The client cannot know whether a commit whose answer never came took effect; the
    # command id makes retrying it safe either way.
    url = through(proxy, postgres_url)
    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(postgres_url)

        faults.on("StepCompleted", lambda _tx: proxy.cut_after_next_request())
        with pytest.raises(StoreError) as refused:
            goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="commit-1")
        assert faults.fired == 1
        assert_clear(refused.value, r"connect|server", f"127.0.0.1:{proxy.port}")
        during = store_state(postgres_url)
        assert len(during.events) in (len(before.events), len(before.events) + 1)

        outcome = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1",
                                command_id="commit-1")
        assert (outcome.version, outcome.replayed) == (3, len(during.events) > len(before.events))
        assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4
    after = store_state(postgres_url)
    assert after.versions_of(goal_id) == [1, 2, 3, 4]
    assert after.commands["commit-1"][:2] == (goal_id, 3)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["network", "pg_terminate_backend"])
def test_connections_dropped_while_idle_do_not_fail_the_next_command(
    postgres_url, postgres_server, proxy, clock, how
):
    url = through(proxy, postgres_url)
    with goalflow.open(url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        before = store_state(postgres_url)
        drop_idle_connections(how, postgres_server, proxy)

        try:
            version = goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="idle-1")
        except StoreError as e:
            # Nothing was lost, but a command failed although the server was there.
            assert store_state(postgres_url) == before
            pytest.fail(f"the first command after idle connections were dropped failed: {e}")
        assert version == 3
        assert draft_anxiety_goal(goals)
        assert goals.get(goal_id).version == 3
    after = store_state(postgres_url)
    assert after.versions_of(goal_id) == [1, 2, 3]
    assert after.commands["idle-1"][:2] == (goal_id, 3)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["network", "pg_terminate_backend"])
def test_connections_dropped_while_idle_do_not_fail_the_next_goal_loads(
    postgres_url, postgres_server, proxy, clock, how
):
    # A goal load takes its pooled connection without the pre-ping (one round trip less)
    # and sends its one query again if that connection turns out to be lost.
    url = through(proxy, postgres_url)
    with goalflow.open(url, clock=clock) as goals:
        goal_ids = [agreed_anxiety_goal(goals) for _ in range(3)]
        for goal_id in goal_ids:  # the pool's connections all used, idle now
            assert goals.get(goal_id).version == 2
        drop_idle_connections(how, postgres_server, proxy)
        try:
            loaded = [goals.get(goal_id).version for goal_id in goal_ids * 3]
        except StoreError as e:
            pytest.fail(f"a goal load after idle connections were dropped failed: {e}")
        assert loaded == [2] * 9
        assert goals.complete_step(goal_ids[0], by=MAYA, step_id="s1") == 3
        assert goals.get(goal_ids[0]).version == 3


# -- PostgreSQL: an insert whose connection failed is tried again ---------------------------


@pytest.mark.postgres
def test_an_insert_whose_connection_failed_is_tried_again(postgres_url: str, clock: Any,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    import psycopg
    from eventsourcing.persistence import OperationalError

    from goalflow.persistence.recorders import PostgresRecorder

    goals = goalflow.open(postgres_url, clock=clock)
    real = PostgresRecorder._insert_with_writes
    calls = []

    def flaky(self: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            try:  # as psycopg says it: a client-side fault, no SQLSTATE
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            except psycopg.Error as e:
                raise OperationalError(str(e)) from e
        return real(self, *args)

    monkeypatch.setattr(PostgresRecorder, "_insert_with_writes", flaky)
    goal_id = goals.draft(goalflow.Subject.client("client-7"), "Sleep better",
                          by=goalflow.Actor("dr-lee", "clinician"), command_id="ehr-1")
    assert len(calls) == 2
    assert goals.get(goal_id).version == 1
    goals.close()


@pytest.mark.postgres
def test_an_insert_that_timed_out_on_a_lock_is_not_tried_again(postgres_url: str, clock: Any,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    import psycopg
    from eventsourcing.persistence import OperationalError

    from goalflow.persistence.recorders import PostgresRecorder

    goals = goalflow.open(postgres_url, clock=clock)
    calls = []

    def locked(self: Any, *args: Any) -> Any:
        calls.append(1)
        try:
            raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
        except psycopg.Error as e:
            raise OperationalError(str(e)) from e

    monkeypatch.setattr(PostgresRecorder, "_insert_with_writes", locked)
    with pytest.raises(goalflow.StoreError, match=r"database is locked .*waited"):
        goals.draft(goalflow.Subject.client("client-7"), "Sleep better",
                    by=goalflow.Actor("dr-lee", "clinician"))
    assert len(calls) == 1
    goals.close()

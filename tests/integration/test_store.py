"""The store: what the url picks, what survives a fresh process, and snapshots."""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import sqlite3
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from uuid import uuid4

import pytest
from anxiety_goal import (
    DR_LEE,
    DR_OKAFOR,
    GAD7,
    MAYA,
    MAYAS_MOTHER,
    YOGA,
    agreed_anxiety_goal,
    draft_anxiety_goal,
    recorded_event_count,
    replay,
)
from eventsourcing.persistence import PersistenceError

import goalflow
from goalflow import GoalflowError, Measure, StoreError

NEW_YORK = timezone(timedelta(hours=-5))

# Runs in a fresh interpreter: reads the goal back and checks every value's type there,
# where nothing of the writing process (caches, class state) can help.
READ_BACK_IN_A_FRESH_PROCESS = r"""
import base64, json, pickle, sys
from datetime import date, datetime, timedelta
from uuid import UUID

import goalflow
from goalflow import Actor, Agreement, FieldChange, Measure, Reading, Step, Subject

url, goal_id = sys.argv[1], sys.argv[2]
problems = []

def check(ok, what):
    if not ok:
        problems.append(what)

def aware(value):
    return type(value) is datetime and value.utcoffset() is not None

def a_date(value):
    return type(value) is date

with goalflow.open(url) as goals:
    goal = goals.get(goal_id)
    history = goals.history(goal_id)

check(type(goal.id) is UUID, f"id is a {type(goal.id).__name__}")
check(a_date(goal.target_date), f"target_date is a {type(goal.target_date).__name__}")
check(a_date(goal.next_review_on), f"next_review_on is a {type(goal.next_review_on).__name__}")
for name in ("drafted_at", "last_reviewed_at", "activated_at", "created_on", "modified_on"):
    check(aware(getattr(goal, name)), f"{name} is {getattr(goal, name)!r}")
check(type(goal.subject) is Subject, f"subject is {goal.subject!r}")
check(type(goal.drafted_by) is Actor, f"drafted_by is {goal.drafted_by!r}")
for name in ("addresses", "strengths", "measures", "steps", "agreements"):
    check(type(getattr(goal, name)) is tuple, f"{name} is {getattr(goal, name)!r}")
check(all(type(m) is Measure for m in goal.measures), f"measures are {goal.measures!r}")
check([type(m.baseline) for m in goal.measures] == [int, float],
      f"measure baselines are {[m.baseline for m in goal.measures]!r}")
check(all(type(s) is Step for s in goal.steps), f"steps are {goal.steps!r}")
for a in goal.agreements:
    check(type(a) is Agreement, f"agreement {a!r}")
    check(type(a.by) is Actor, f"agreement by {a.by!r}")
    check(aware(a.occurred_at), f"agreement occurred_at {a.occurred_at!r}")
check(type(goal.agreements[-1].witnessed_by) is Actor, "a verbal agreement's witness")
for name, reading in goal.readings.items():
    check(type(reading) is Reading, f"reading {name}: {reading!r}")
    check(aware(reading.occurred_at), f"reading {name} at {reading.occurred_at!r}")
check(type(goal.readings["GAD-7"].value) is float, "a float reading stays a float")
check(type(goal.readings["PHQ-9"].value) is int, "an int reading stays an int")
check(goal.readings["PHQ-9"].occurred_at.utcoffset() == timedelta(hours=-5),
      "a reading taken in New York keeps its UTC offset")

for event in history:
    name = type(event).__name__
    check(type(event.originator_id) is UUID, f"{name} originator_id")
    check(aware(event.occurred_at), f"{name} occurred_at {event.occurred_at!r}")
    check(aware(event.timestamp), f"{name} recorded at {event.timestamp!r}")
    check(type(event.actor) is Actor, f"{name} actor {event.actor!r}")
revised = [e for e in history if type(e).__name__ == "Revised"][0]
for change in revised.changes:
    check(type(change) is FieldChange, f"a revision's change {change!r}")
    if change.field == "target_date":
        check(a_date(change.before) and a_date(change.after), f"target_date change {change!r}")
    if change.field == "measures":
        check(type(change.after) is tuple and all(type(m) is Measure for m in change.after),
              f"measures change {change!r}")

print(json.dumps({
    "to_dict": goal.to_dict(),
    "history": [repr(e) for e in history],
    "problems": problems,
    "pickled": base64.b64encode(pickle.dumps(goal)).decode(),
}))
"""


def _a_goal_with_every_kind_of_value(goals, clock) -> str:
    goal_id = agreed_anxiety_goal(goals)
    clock.advance(days=3)
    goals.revise(
        goal_id, by=DR_LEE, reason="Meditation made Maya feel worse; her mood needs watching",
        remove_steps=["s2"], add_steps=[YOGA], target_date=clock.now.date() + timedelta(days=45),
        measures=[GAD7, Measure("PHQ-9", baseline=12.5, target=5)],
    )
    goals.agree(goal_id, by=MAYA, terms_version=2, method="verbal", witnessed_by=DR_OKAFOR)
    clock.advance(days=4)
    goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=11.5)
    goals.record_progress(goal_id, by=MAYAS_MOTHER, measure="PHQ-9", value=9,
                          occurred_at=(clock.now - timedelta(hours=20)).astimezone(NEW_YORK))
    goals.complete_step(goal_id, by=MAYA, step_id="s4")
    goals.review(goal_id, by=DR_LEE, outcome="continue", notes="Sleeping better",
                 next_review_on=clock.now.date() + timedelta(days=30))
    return str(goal_id)


def test_a_fresh_process_reads_back_exactly_the_same_goal(goals, store_url, clock):
    goal_id = _a_goal_with_every_kind_of_value(goals, clock)
    here = goals.get(goal_id)

    child = subprocess.run(
        [sys.executable, "-c", READ_BACK_IN_A_FRESH_PROCESS, store_url, goal_id],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert child.returncode == 0, child.stderr
    there = json.loads(child.stdout)
    assert there["problems"] == []
    assert there["to_dict"] == here.to_dict()
    assert there["history"] == [repr(e) for e in goals.history(goal_id)]
    assert pickle.loads(base64.b64decode(there["pickled"])) == here


def test_reopening_the_store_gives_back_an_equal_goal(goals, store_url, clock):
    goal_id = _a_goal_with_every_kind_of_value(goals, clock)
    with goalflow.open(store_url) as reopened:
        assert reopened.get(goal_id) == goals.get(goal_id)
        assert reopened.get(goal_id).to_dict() == goals.get(goal_id).to_dict()


def _stray(tmp_path: Path) -> dict[str, str]:
    """Environment variables eventsourcing would read, pointing somewhere else."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "GOALFLOW_PERSISTENCE_MODULE": "eventsourcing.popo",
        "SQLITE_DBNAME": str(tmp_path / "stray.db"),
        "GOALFLOW_SQLITE_DBNAME": str(tmp_path / "stray-goalflow.db"),
        "POSTGRES_DBNAME": "no_such_database",
        "GOALFLOW_POSTGRES_DBNAME": "no_such_database",
        "POSTGRES_SCHEMA": "stray_schema",
        "GOALFLOW_POSTGRES_SCHEMA": "stray_schema",
        "GOALFLOW_COMPRESSOR_TOPIC": "zlib",
        "GOALFLOW_DB": f"sqlite:///{tmp_path}/stray-url.db",
    }


@pytest.mark.parametrize(
    "variables",
    [[name] for name in _stray(Path("/"))] + [list(_stray(Path("/")))],
    ids=[*_stray(Path("/")), "all-at-once"],
)
def test_stray_environment_variables_do_not_change_the_store_the_url_picks(
    goals, store_url, tmp_path, monkeypatch, variables
):
    already_there = agreed_anxiety_goal(goals)
    stray = _stray(tmp_path)
    for name in variables:
        monkeypatch.setenv(name, stray[name])

    with goalflow.open(store_url) as opened_with_stray_env:
        assert opened_with_stray_env.get(already_there) == goals.get(already_there)
        drafted_there = draft_anxiety_goal(opened_with_stray_env)
    with goalflow.open(store_url) as reopened:
        assert reopened.get(drafted_there).version == 1
    assert goals.get(drafted_there).version == 1
    assert sorted(p.name for p in tmp_path.iterdir() if "stray" in p.name) == []


def test_opening_without_a_url_uses_the_goalflow_db_variable(goals, store_url, monkeypatch):
    goal_id = agreed_anxiety_goal(goals)
    monkeypatch.setenv("GOALFLOW_DB", store_url)
    with goalflow.open(None) as from_the_environment:
        assert from_the_environment.get(goal_id) == goals.get(goal_id)
        drafted_there = draft_anxiety_goal(from_the_environment)
    assert goals.get(drafted_there).version == 1


def test_opening_without_a_url_or_variable_uses_goalflow_db_in_the_working_directory(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("GOALFLOW_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    with goalflow.open() as goals:
        goal_id = draft_anxiety_goal(goals)
    assert (tmp_path / "goalflow.db").is_file()
    with goalflow.open(f"sqlite:///{tmp_path}/goalflow.db") as goals:
        assert goals.get(goal_id).version == 1


def test_a_relative_sqlite_url_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "clinic").mkdir()
    monkeypatch.chdir(tmp_path)
    with goalflow.open("sqlite:///clinic/goals.db") as goals:
        goal_id = draft_anxiety_goal(goals)
    with goalflow.open(f"sqlite:///{tmp_path}/clinic/goals.db") as goals:
        assert goals.get(goal_id).version == 1


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/goals",
        "sqlite://goals.db",
        "sqlite:///",
        "sqlite:",
        "goals.db",
        "/var/lib/goalflow/goals.db",
        "memory:",
        "memory:///goals",
        "",
        "   ",
        "postgresql://",
        "postgresql://db.clinic.example",
        "postgresql:///goals",
        "postgresql://maya:s3cret@db.clinic.example:notaport/goals",
        "postgresql://maya:s3cret@db.clinic.example/goals?sslmod=require",
        "postgresql://maya:s3cret@db.clinic.example/goals?schema=drop table",
        "postgresql://maya:s3cret@db.clinic.example/goals/extra",
    ],
)
def test_a_bad_url_is_refused_naming_the_accepted_forms(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as refused:
        goalflow.open(url)
    message = str(refused.value)
    for form in ("sqlite:///", "sqlite:////", "memory://", "postgresql://"):
        assert form in message
    assert "s3cret" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_url_in_a_directory_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "no-such-clinic" / "records"
    with pytest.raises(StoreError) as refused:
        goalflow.open(f"sqlite:///{missing}/goals.db")
    assert "no-such-clinic" in str(refused.value)
    assert not (tmp_path / "no-such-clinic").exists()


def test_a_sqlite_url_naming_a_directory_is_refused(tmp_path):
    with pytest.raises(StoreError):
        goalflow.open(f"sqlite:///{tmp_path}")


def test_a_postgres_server_that_does_not_answer_is_a_store_error():
    with pytest.raises(StoreError):
        goalflow.open("postgresql://postgres@127.0.0.1:1/test")


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_is_a_store_error(postgres_url):
    parts = urlsplit(postgres_url)
    with pytest.raises(StoreError) as refused:
        goalflow.open(urlunsplit(parts._replace(path="/no_such_database_for_goalflow")))
    assert "no_such_database_for_goalflow" in str(refused.value)


def test_a_store_opened_read_only_refuses_commands_and_records_nothing(goals, store_url):
    goal_id = agreed_anxiety_goal(goals)
    with goalflow.open(store_url, readonly=True) as reader:
        assert reader.get(goal_id) == goals.get(goal_id)
        with pytest.raises(GoalflowError):
            reader.complete_step(goal_id, by=MAYA, step_id="s1")
        with pytest.raises(GoalflowError):
            draft_anxiety_goal(reader)
    assert recorded_event_count(goals) == 2


def test_a_read_only_store_cannot_write_even_below_the_service(goals, store_url):
    # The service refuses commands; this checks the connection itself refuses writes
    # (SQLite mode=ro, PostgreSQL sessions with default_transaction_read_only).
    with goalflow.open(store_url, readonly=True) as reader, \
            pytest.raises(PersistenceError, match=r"(?i)read.?only"), \
            reader.store.recorder.transaction(commit=True) as tx:
        tx.execute(f"CREATE TABLE {tx.table('intruder')} (x INTEGER)")


def test_opening_a_sqlite_file_that_does_not_exist_read_only_does_not_create_it(tmp_path):
    with pytest.raises(StoreError):
        goalflow.open(f"sqlite:///{tmp_path}/goals.db", readonly=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_a_postgres_schema_named_with_capitals_works_or_is_refused_at_open(postgres_server,
                                                                         clock):
    import psycopg

    server = postgres_server
    schema = f"Clinic_{uuid4().hex[:8]}"
    try:
        try:
            separator = "&" if "?" in server else "?"
            goals = goalflow.open(f"{server}{separator}schema={schema}", clock=clock)
        except StoreError:
            return  # refused up front, with a clear error: fine
        with goals:
            goal_id = agreed_anxiety_goal(goals)
            assert goals.complete_step(goal_id, by=MAYA, step_id="s1") == 3
            assert goals.get(goal_id).version == 3
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            for name in (schema, schema.lower()):
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


def _snapshot_versions(store_url: str) -> list[int]:
    """The versions at which snapshots are stored, read straight from the database."""
    if store_url.startswith("sqlite:"):
        path = store_url[len("sqlite:///"):]
        with contextlib.closing(sqlite3.connect(path)) as db:
            (table,) = [name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%snapshots'")]
            return [v for (v,) in db.execute(
                f'SELECT originator_version FROM "{table}" ORDER BY 1')]
    import psycopg

    parts = urlsplit(store_url)
    schema = parse_qs(parts.query)["schema"][0]
    with psycopg.connect(urlunsplit(parts._replace(query=""))) as db:
        (table,) = [name for (name,) in db.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name LIKE '%%snapshots'", (schema,))]
        return [v for (v,) in db.execute(
            f'SELECT originator_version FROM "{schema}"."{table}" ORDER BY 1')]  # type: ignore[arg-type]


def test_a_goal_with_hundreds_of_events_loads_from_snapshots_equal_to_a_full_replay(
    goals, store_url, clock
):
    goal_id = agreed_anxiety_goal(goals)
    for day in range(260):
        clock.advance(hours=6)
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=15 - day % 9 + 0.5)
        if day == 60:
            goals.complete_step(goal_id, by=MAYA, step_id="s1")
        if day == 120:
            goals.hold(goal_id, by=DR_LEE, reason="Maya is travelling for work")
        if day == 130:
            goals.resume(goal_id, by=DR_LEE)
        if day == 190:
            goals.revise(goal_id, by=DR_LEE, reason="Meditation made Maya feel worse",
                         remove_steps=["s2"], add_steps=[YOGA],
                         target_date=clock.now.date() + timedelta(days=60),
                         measures=[GAD7, Measure("PHQ-9", baseline=12, target=4.5)])
            goals.agree(goal_id, by=MAYA, terms_version=2, method="signature")
        if day == 200:
            goals.review(goal_id, by=DR_LEE, outcome="continue",
                         next_review_on=clock.now.date() + timedelta(days=90))
    history = goals.history(goal_id)
    assert len(history) == 2 + 260 + 6 == goals.get(goal_id).version

    assert _snapshot_versions(store_url) == [100, 200]
    assert goals.store.load(goal_id) == replay(history)
    assert goals.get(goal_id) == replay(history)
    for version in range(1, len(history) + 1):
        assert goals.get(goal_id, version=version) == replay(history[:version]), version
    with goalflow.open(store_url) as reopened:
        assert reopened.get(goal_id) == replay(history)
        assert reopened.get(goal_id).to_dict() == replay(history).to_dict()
    assert recorded_event_count(goals) == len(history)


def test_a_snapshot_that_cannot_be_written_costs_speed_only(goals, store_url, clock,
                                                            monkeypatch):
    # Why goalflow takes its own snapshots rather than eventsourcing's snapshotting_intervals:
    # Application.save raises a failed snapshot write after the events have committed, and
    # the command would be reported failed (or, as an IntegrityError, retried) though recorded.
    from eventsourcing.persistence import OperationalError

    goal_id = agreed_anxiety_goal(goals)

    def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(goals.store._snapshots, "put", locked)
    versions = []
    for _ in range(99):
        clock.advance(hours=6)
        versions.append(goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=9))
    assert versions == list(range(3, 102))  # the 100th event among them, reported recorded
    assert _snapshot_versions(store_url) == []
    monkeypatch.undo()
    history = goals.history(goal_id)
    assert len(history) == 101 == recorded_event_count(goals)
    assert goals.store.load(goal_id) == replay(history)


def test_a_store_keeps_only_the_goals_it_wrote_most_recently(store_url, clock, monkeypatch):
    from anxiety_goal import DR_LEE, draft_anxiety_goal

    import goalflow.persistence.store as store_module

    monkeypatch.setattr(store_module, "RECENT_GOALS", 2)
    with goalflow.open(store_url, clock=clock) as goals:
        first, second, third = (draft_anxiety_goal(goals) for _ in range(3))
        kept = goals.store._recent  # the goals it may change without reading them again
        assert list(kept) == [second, third]
        goals.add_step(first, by=DR_LEE, description="Walk to work twice a week")
        assert list(kept) == [third, first]
        assert goals.get(first).version == 2


@pytest.mark.postgres
def test_a_listener_whose_connection_died_waits_and_listens_again_next_time(postgres_url):
    with goalflow.open(postgres_url) as goals:
        store = goals.store
        store.wait_for_events(0.01)  # listening now
        assert store._listener is not None
        store._listener.close()  # as a server restart would leave it

        store.wait_for_events(0.01)  # no error: waits as SQLite does
        assert store._listener is None
        store.wait_for_events(0.01)  # and listens on a new connection
        assert store._listener is not None
        assert not store._listener.closed


@pytest.mark.postgres
def test_an_import_wakes_followers_as_the_recorders_own_inserts_do(
        postgres_url: str, tmp_path: Path, clock: Any) -> None:
    import psycopg

    from goalflow import transfer

    source = goalflow.open("memory://", clock=clock)
    agreed_anxiety_goal(source)
    export = tmp_path / "export.jsonl"
    with export.open("wb") as out:
        transfer.export(source, out)
    source.close()
    target = goalflow.open(postgres_url)
    channel = target.store.recorder.channel_name  # type: ignore[attr-defined]
    server = postgres_url.partition("?")[0]
    with psycopg.connect(server, autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel}"')  # type: ignore[arg-type]
        with export.open("rb") as file:
            transfer.import_(target, file)
        heard = list(listener.notifies(timeout=10, stop_after=1))
    target.close()
    # Other stores on this server share the channel's name (it is the events table's):
    # their inserts may wake the listener too, so look for ours among what was heard.
    assert channel in [n.channel for n in heard]


def test_sqlite_connections_keep_the_statements_a_command_runs(tmp_path: Path, clock: Any,
                                                                monkeypatch: Any) -> None:
    # eventsourcing's own SQLite connections keep one prepared statement
    # (cached_statements=True): a command's dozen statements were compiled every time.
    from goalflow.persistence.recorders import STATEMENT_CACHE

    opened: list[dict[str, Any]] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    with goalflow.open(f"sqlite:///{tmp_path / 'cached.db'}", clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=9)
        assert goals.get(goal_id).version == 3
    pooled = [k for k in opened if k.get("check_same_thread") is False]
    assert pooled, opened
    assert STATEMENT_CACHE >= 64
    assert all(k["cached_statements"] == STATEMENT_CACHE for k in pooled), pooled

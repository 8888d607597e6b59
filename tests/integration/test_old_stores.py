"""A store and an export written by goalflow 0.1 keep working (tests/fixtures/stores/v1).

The fixtures were captured from goalflow 0.1 before schema evolution: a SQLite file, the
same scenario dumped from PostgreSQL, an export of it, its content digest, and what the
inspection commands printed. Here the current code must read them the same (every field
they had, with the same value), upgrade the store when it opens it for writing (and only
then), rebuild the read models to the same rows, recognise retries of commands recorded
before, and append new commands normally.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from as_printed import printed
from click.testing import CliRunner

import goalflow
from goalflow import transfer
from goalflow.cli import cli
from goalflow.commands import parse_command
from goalflow.persistence import formats
from goalflow.version import goalflow_version

OLD = Path(__file__).resolve().parent.parent / "fixtures" / "stores" / "v1"
OUTPUTS: dict[str, Any] = orjson.loads((OLD / "outputs.json").read_bytes())
DIGEST = orjson.loads((OLD / "digest.json").read_bytes())
SCHEMA_MARK = "gf_old_store_schema"

# Commands the v1 store recorded with command ids, as the EHR sent them then.
ANXIETY = "7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
DR = {"id": "dr-okafor", "role": "clinician"}
RETRIES = [
    {"command": "draft", "goal_id": ANXIETY, "by": DR, "command_id": "ehr-1",
     "occurred_at": "2025-03-03T09:00:00+00:00",
     "subject": {"kind": "client", "id": "client-7"},
     "statement": "By the end of next month I use relaxation, daily exercise and"
                  " constructive expression of emotions to manage my anxiety",
     "client_words": "I want to stop panicking before work",
     "addresses": ["Generalised anxiety disorder (F41.1)"],
     "strengths": ["walks the dog every morning", "close to her sister"],
     "measures": [{"name": "GAD-7", "baseline": 15, "target": 7},
                  {"name": "Days exercised a week", "baseline": 1, "target": 5.5,
                   "direction": "increase"}],
     "steps": ["Learn two breathing exercises", "Meditate for 10 minutes daily"],
     "target_date": "2025-05-02"},
    {"command": "record_progress", "goal_id": ANXIETY, "by": DR, "measure": "GAD-7",
     "value": 12, "occurred_at": "2025-03-17T10:00:00+00:00", "command_id": "ehr-3"},
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The url of a copy of the v1 store (the fixture itself is never opened)."""
    if request.param == "sqlite":
        shutil.copyfile(OLD / "goalflow.sqlite", tmp_path / "old.db")
        return f"sqlite:///{tmp_path}/old.db"
    import psycopg

    url: str = request.getfixturevalue("postgres_url")
    schema = re.search(r"schema=(\w+)", url)
    assert schema is not None
    server = url[:url.index("?")] if "?" in url else url
    dump = (OLD / "postgresql.sql").read_text().replace(SCHEMA_MARK, schema.group(1))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(dump)  # type: ignore[call-overload]  (a script, no parameters)
    return url


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def inspection_args(key: str) -> list[str]:
    """The command line a key of outputs.json was captured with."""
    words = key.split()
    if words[-1] == "--as-of":
        words.append("2025-03-03T10:00:00+00:00")
    if words == ["reviews"]:
        words += ["--as-of", "2025-06-01"]
    return [*words, "--json"]


def has_all_of(new: Any, old: Any, where: str = "") -> None:
    """Every field ``old`` had is in ``new`` with the same value (``new`` may have more)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for key, value in old.items():
            assert key in new, f"{where}.{key} is gone"
            has_all_of(new[key], value, f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list), where
        assert len(new) == len(old), where
        for n, (a, b) in enumerate(zip(new, old, strict=True)):
            has_all_of(a, b, f"{where}[{n}]")
    else:
        assert new == old, f"{where}: {new!r} != {old!r}"


def rows_have_all_of(new: dict[str, list[Any]], old: dict[str, list[Any]]) -> None:
    """The same rows, each cell the same, or (JSON cells) with every field it had; columns a
    later version added come after the old ones."""
    assert new.keys() == old.keys()
    for table, rows in old.items():
        assert len(new[table]) == len(rows), table
        for new_row, old_row in zip(new[table], rows, strict=True):
            assert len(new_row) >= len(old_row), table
            for n, (a, b) in enumerate(zip(new_row[:len(old_row)], old_row, strict=True)):
                has_all_of(_json(a), _json(b), f"{table}[{n}]")


def _json(cell: Any) -> Any:
    if isinstance(cell, str) and cell[:1] in ("{", "["):
        return orjson.loads(cell)
    return cell


def execute(goals: goalflow.Goals, line: dict[str, Any]) -> goalflow.Outcome:
    command, arguments = parse_command(dict(line))
    return goals.execute(command, **arguments)


def reads_as_captured(url: str) -> None:
    for key, captured in OUTPUTS.items():
        output = run(url, *inspection_args(key))
        has_all_of(orjson.loads(output) if key.startswith("show") else
                   [orjson.loads(line) for line in output.splitlines()], captured, key)


def view_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, by its public (view) name."""
    with goalflow.open(url, readonly=True) as goals:
        installed = goals.projections.tracking()  # (0.1 had no outcomes read model)
        names = [t.name for p in goals.projections.all.values() if p.name in installed
                 for t in p.tables]
        with goals.store.recorder.transaction(commit=False) as tx:
            return {name: sorted(tx.execute(f"SELECT * FROM {tx.table(name)}").fetchall(),
                                 key=repr) for name in names}


def stored_formats(url: str) -> tuple[dict[str, tuple[int, str]], list[tuple[Any, ...]]]:
    with goalflow.open(url, readonly=True) as goals, \
            goals.store.recorder.transaction(commit=False) as tx:
        found = formats.read(tx)
        migrations = [] if not found else tx.execute(
            f"SELECT name, from_version, to_version, goalflow FROM"
            f" {tx.table(formats.MIGRATIONS_TABLE)} ORDER BY name, to_version").fetchall()
        return found, migrations


def test_an_old_store_reads_as_it_did_and_inspection_leaves_it_as_it_was(old_store: str
                                                                       ) -> None:
    reads_as_captured(old_store)
    assert stored_formats(old_store) == ({}, [])  # inspection never upgrades


def test_an_old_store_is_upgraded_once_by_a_writer_and_recorded(old_store: str) -> None:
    before = view_rows(old_store)
    goalflow.open(old_store).close()
    found, migrations = stored_formats(old_store)
    version = goalflow_version()
    assert found == {"tables": (formats.TABLES_FORMAT, version),
                     "events": (formats.EVENTS_SCHEMA, version)}
    assert migrations == [("events", 1, formats.EVENTS_SCHEMA, version),
                          ("read model audit", 1, 2, version),
                          ("read model plans", 1, 2, version),
                          ("read model reviews", 1, 2, version),
                          ("tables", 1, 2, version), ("tables", 2, 3, version),
                          ("tables", 3, 4, version)]
    goalflow.open(old_store).close()  # a second writer finds nothing to do
    assert stored_formats(old_store)[1] == migrations
    reads_as_captured(old_store)
    # The audit trail was rebuilt (its version 2 writes measures' new fields), and the plans
    # and reviews (version 2: who drafted each goal): every row is there, with every value
    # it had. The outcomes read model, new, was built.
    after = view_rows(old_store)
    assert sorted(set(after) - set(before)) == ["gf_outcome_gas", "gf_outcome_goals",
                                                "gf_outcome_measures", "gf_outcome_ratings"]
    assert after["gf_outcome_goals"]
    rows_have_all_of({name: rows for name, rows in after.items() if name in before}, before)


def test_an_old_store_read_only_has_no_clinicians_until_a_writer_rebuilds_it(old_store: str
                                                                           ) -> None:
    with goalflow.open(old_store, readonly=True) as goals:
        index = goals.goal_index()
        assert index
        assert {g.drafted_by for g in index} == {None}
        assert {r.drafted_by for r in goals.reviews(as_of=date(2026, 12, 1))} <= {None}
        for query in (lambda: goals.goal_index(clinician="dr-okafor"),
                      lambda: goals.plan("client-7", clinician="dr-okafor"),
                      lambda: goals.reviews(clinician="dr-okafor")):
            with pytest.raises(goalflow.ProjectionError, match=r"clinician filter.*rebuild"):
                query()
    goalflow.open(old_store).close()
    with goalflow.open(old_store, readonly=True) as goals:
        assert {g.goal_id for g in goals.goal_index(clinician="dr-okafor")} == {
            g.goal_id for g in goals.goal_index()}


def test_an_old_store_has_no_time_zone_and_reads_its_dates_in_utc_as_it_did(old_store: str
                                                                            ) -> None:
    with goalflow.open(old_store, readonly=True) as goals:  # no settings table yet
        assert (goals.timezone, goals.timezone_history()) == ("UTC", [])
        worklist = printed(goals.reviews(as_of=date(2026, 12, 1)))
    goalflow.open(old_store).close()
    with goalflow.open(old_store, readonly=True) as goals:
        assert (goals.timezone, goals.timezone_history()) == ("UTC", [])
        assert printed(goals.reviews(as_of=date(2026, 12, 1))) == worklist


def test_an_old_store_rebuilds_its_read_models_to_the_same_rows(old_store: str) -> None:
    goalflow.open(old_store).close()
    built = view_rows(old_store)
    run(old_store, "projections", "rebuild")
    assert view_rows(old_store) == built
    if old_store.startswith("sqlite"):  # the rows as goalflow 0.1 wrote them
        captured = orjson.loads((OLD / "tables.json").read_bytes())
        rows_have_all_of({name: sorted(map(list, rows), key=repr)
                          for name, rows in built.items() if name in captured},
                         {name: sorted(captured[name], key=repr) for name in built
                          if name in captured})


def test_retries_sent_before_the_upgrade_are_replayed_and_new_commands_append(
        old_store: str) -> None:
    with goalflow.open(old_store) as goals:
        for line in RETRIES:
            outcome = execute(goals, line)
            assert outcome.replayed, line["command_id"]
        changed = dict(RETRIES[1], value=9)
        with pytest.raises(goalflow.CommandIdReused):
            execute(goals, changed)
        long_goal = "5d4c3b2a-1908-4f7e-8d6c-5b4a39281706"  # snapshotted at v100 by 0.1
        before = goals.get(long_goal)
        version = goals.record_progress(long_goal, by=goalflow.Actor("dr-okafor", "clinician"),
                                        measure="Steps a day", value=9000, command_id="ehr-9")
        assert version == before.version + 1
        assert goals.get(long_goal).readings["Steps a day"].value == 9000
        assert execute(goals, {
            "command": "record_progress", "goal_id": str(long_goal), "by": DR,
            "measure": "Steps a day", "value": 9000, "command_id": "ehr-9"}).replayed


def test_the_long_goal_reads_the_same_past_its_old_snapshot(old_store: str) -> None:
    # goalflow 0.1 snapshotted it at version 100; that snapshot is of an older Goal, so it
    # is ignored and the goal is replayed from its events, to the same state.
    long_goal = UUID("5d4c3b2a-1908-4f7e-8d6c-5b4a39281706")
    with goalflow.open(old_store, readonly=True) as goals:
        with goals.store.recorder.transaction(commit=False) as tx:
            assert tx.execute(f"SELECT COUNT(*) FROM {tx.table(SNAPSHOTS[tx.dialect])}"
                              ).fetchone() == (1,)
        snapshot, events = goals.store._latest_snapshot_and_events(long_goal, lte=None)
        assert snapshot is None
        assert len(events) == goals.get(long_goal).version == 105
        has_all_of(orjson.loads(orjson.dumps(goals.get(long_goal).to_dict())),
                   OUTPUTS[f"show {long_goal}"])


SNAPSHOTS = {"sqlite": "stored_snapshots", "postgresql": "goalflow_snapshots"}


def test_an_old_export_imports_with_the_same_digest(store_url: str) -> None:
    run(store_url, "import", str(OLD / "export.jsonl"))
    with goalflow.open(store_url) as goals:
        assert transfer.digest(goals) == (DIGEST["events"], DIGEST["sha256"])
        for line in RETRIES:
            assert execute(goals, line).replayed
    reads_as_captured(store_url)


def test_the_v1_sqlite_fixture_is_as_goalflow_0_1_wrote_it() -> None:
    with sqlite3.connect(f"file:{OLD / 'goalflow.sqlite'}?mode=ro&immutable=1",
                         uri=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(goalflow_commands)")}
    assert formats.FORMATS_TABLE not in tables
    assert "fingerprint_rule" not in columns

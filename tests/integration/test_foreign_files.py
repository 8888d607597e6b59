"""goalflow never takes over another application's SQLite file, and reads read-only copies."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from anxiety_goal import agreed_anxiety_goal
from as_printed import printed
from click.testing import CliRunner
from read_only import unwritable_for_root

import goalflow
from goalflow.cli import cli
from goalflow.errors import StoreError
from goalflow.projection import Projections, discover


def test_a_foreign_sqlite_file_is_refused_for_writing_and_left_as_it_was(tmp_path: Path
                                                                          ) -> None:
    path = tmp_path / "billing.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount NUMERIC)")
    with pytest.raises(StoreError, match=r"billing\.db is not a goalflow store: it holds another"
                                         r" application's tables \(invoices\)"):
        goalflow.open(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["invoices"]


def test_another_eventsourcing_applications_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version"
                     " INTEGER, topic TEXT, state BLOB)")
    with pytest.raises(StoreError, match=r"another application's tables \(stored_events\)"):
        goalflow.open(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == \
            ["stored_events"]


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    (tmp_path / "new.db").touch()
    goalflow.open(f"sqlite:///{tmp_path}/new.db").close()


def test_a_store_in_a_directory_the_reader_cannot_write_can_be_inspected(
        tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # An auditor's read-only copy. Root may write anywhere, so there the directory is made
    # unwritable to goalflow's eyes only; either way SQLite must not need a -shm file.
    folder = tmp_path / "copy"
    folder.mkdir()
    with goalflow.open(f"sqlite:///{folder}/copy.db", clock=clock) as goals:
        goal = agreed_anxiety_goal(goals)
    assert list(folder.iterdir()) == [folder / "copy.db"]
    unwritable_for_root(monkeypatch, folder)
    folder.chmod(0o555)
    try:
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{folder}/copy.db", "show",
                                          str(goal)])
        assert result.exit_code == 0, result.output
        assert "active" in result.output
        assert list(folder.iterdir()) == [folder / "copy.db"]
    finally:
        folder.chmod(0o755)


def _relations(store_url: str) -> list[str]:
    """Every table, view, index and type the store's file or schema holds."""
    if store_url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as conn:
            return sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_master"))
    import psycopg

    server, schema = store_url.rsplit("?schema=", 1)
    with psycopg.connect(server) as conn:
        rows = conn.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON"
                            " n.oid = c.relnamespace WHERE n.nspname = %s UNION ALL"
                            " SELECT t.typname FROM pg_type t JOIN pg_namespace n ON"
                            " n.oid = t.typnamespace WHERE n.nspname = %s",
                            (schema, schema)).fetchall()
    return sorted(row[0] for row in rows)


def test_a_store_whose_making_fails_midway_is_left_without_goalflow_tables_and_opens_later(
        store_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The last statement of a new store's making fails: the last read model's views,
    # after eventsourcing's tables, goalflow's own and the other read models' were made.
    # Made one transaction at a time, they would stay, as a store that reads as empty.
    real = Projections._create_views
    names = sorted(p.name for p in discover())
    made: list[str] = []

    def create_views(self: Projections, tx: Any, projection: Any, generation: int) -> None:
        real(self, tx, projection, generation)
        made.append(projection.name)
        if sorted(made) == names:
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Projections, "_create_views", create_views)
    with pytest.raises(StoreError, match="disk I/O error"):
        goalflow.open(store_url, clock=clock)
    assert sorted(made) == names
    assert _relations(store_url) == []

    monkeypatch.undo()
    with goalflow.open(store_url, clock=clock) as goals:
        goal_id = agreed_anxiety_goal(goals)
        assert set(goals.projections.tracking()) == set(names)
        assert [row["goal_id"] for row in printed(goals.goal_index())] == [str(goal_id)]
    with goalflow.open(store_url, readonly=True) as goals:  # the read models are there
        assert [row["goal_id"] for row in printed(goals.goal_index())] == [str(goal_id)]
        assert goals.get(goal_id).version == 2

"""goalflow never takes over another application's SQLite file, and reads read-only copies."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from anxiety_goal import agreed_anxiety_goal
from click.testing import CliRunner

import goalflow
from goalflow.cli import cli
from goalflow.errors import StoreError


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
    if os.getuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (
            Path(p) == folder and mode & os.W_OK) else real_access(p, mode, **kw))
    folder.chmod(0o555)
    try:
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{folder}/copy.db", "show",
                                          str(goal)])
        assert result.exit_code == 0, result.output
        assert "active" in result.output
        assert list(folder.iterdir()) == [folder / "copy.db"]
    finally:
        folder.chmod(0o755)

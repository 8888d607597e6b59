"""Exports, imports and migrations of an encrypted store keep it encrypted."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from test_privacy import MAYAS_WORDS, SAMS_WORDS, SUPERVISOR, draft_maya, draft_sam, words_in

import goalflow
from goalflow import transfer
from goalflow.cli import cli
from goalflow.crypto import master
from goalflow.crypto.sealing import SPARE_KEYS
from goalflow.errors import GoalErased, StoreError

pytest_plugins = ["test_privacy"]  # its fixtures: key, vault, keys_cleanup


def exported(goals: goalflow.Goals, **options: Any) -> bytes:
    out = io.BytesIO()
    transfer.export(goals, out, **options)
    return out.getvalue()


def test_an_export_holds_ciphertext_and_with_keys_the_wrapped_keys(
        vault: goalflow.Goals, tmp_path: Path, key: str) -> None:
    maya, sam = draft_maya(vault), draft_sam(vault)
    vault.forget("maya", by=SUPERVISOR, reason="retention period ended")
    plain = exported(vault)
    header = orjson.loads(plain.splitlines()[0])
    assert header["encrypted"] is True
    assert "keys" not in header
    assert words_in(plain, MAYAS_WORDS + SAMS_WORDS) == []
    records = [orjson.loads(line) for line in plain.splitlines()[1:]]
    assert {r["topic"].rpartition(".")[2] for r in records if r.get("ciphertext")} == {
        "Drafted", "StepAdded"}
    with goalflow.open(f"sqlite:///{tmp_path}/nokeys.db", master_key=key) as target, \
            pytest.raises(StoreError, match=r"carries no data keys.*--with-keys"):
        transfer.import_(target, io.BytesIO(plain))

    with_keys = exported(vault, with_keys=True)
    keys = orjson.loads(with_keys.splitlines()[0])["keys"]
    assert [k["key_id"] for k in keys] == [str(vault.store.subject_key_id("sam"))]
    assert words_in(with_keys, SAMS_WORDS) == []
    with goalflow.open(f"sqlite:///{tmp_path}/copy.db", master_key=key) as copy:
        transfer.import_(copy, io.BytesIO(with_keys))
        assert copy.get(sam).statement.startswith(SAMS_WORDS[0])
        with pytest.raises(GoalErased, match=r"erased on .* by dr-achebe"):
            copy.get(maya)
        assert transfer.digest(copy) == transfer.digest(vault)
        assert copy.verify().damage == ()
        copy.forget("sam", by=SUPERVISOR, reason="r")  # its goal-to-key map came along


def test_an_encrypted_export_needs_the_master_key_and_an_encrypted_store(
        vault: goalflow.Goals, tmp_path: Path) -> None:
    draft_sam(vault)
    data = exported(vault, with_keys=True)
    with goalflow.open(f"sqlite:///{tmp_path}/plain.db") as plain, \
            pytest.raises(StoreError, match="import it into a store opened with its master"):
        transfer.import_(plain, io.BytesIO(data))
    with goalflow.open(f"sqlite:///{tmp_path}/other.db",
                       master_key=master.new_key_text()) as other, \
            pytest.raises(StoreError, match="do not open with the master key"):
        transfer.import_(other, io.BytesIO(data))


def test_an_unencrypted_export_is_not_imported_into_an_encrypted_store(
        tmp_path: Path, key: str) -> None:
    with goalflow.open(f"sqlite:///{tmp_path}/plain.db") as plain:
        draft_sam(plain)
        data = exported(plain)
        with pytest.raises(goalflow.InvalidCommand, match="not encrypted"):
            exported(plain, with_keys=True)
    with goalflow.open(f"sqlite:///{tmp_path}/vault.db", master_key=key) as vault, \
            pytest.raises(StoreError, match="would keep its events in clear"):
        transfer.import_(vault, io.BytesIO(data))


def test_the_cli_forgets_holds_rotates_and_exports_owner_only(tmp_path: Path) -> None:
    run = CliRunner().invoke
    assert run(cli, ["new-master-key", str(tmp_path / "k")]).exit_code == 0
    assert run(cli, ["new-master-key", str(tmp_path / "k")]).exit_code == 1  # never overwritten
    db = ["--db", f"sqlite:///{tmp_path}/g.db", "--master-key-file", str(tmp_path / "k")]
    with goalflow.open(f"sqlite:///{tmp_path}/g.db",
                       master_key=master.from_file(tmp_path / "k")) as goals:
        maya = draft_maya(goals)
        draft_sam(goals)
    result = run(cli, [*db, "hold-retention", "maya", "--until", "2099-01-01", "--by",
                       "dr-achebe:supervisor", "--reason", "subpoena"])
    assert result.exit_code == 0, result.output
    result = run(cli, [*db, "forget", "maya", "--by", "dr-achebe:supervisor", "--reason", "r"])
    assert result.exit_code == 1
    assert "retention hold until 2099-01-01" in result.output
    result = run(cli, [*db, "forget", "maya", "--by", "dr-achebe:supervisor", "--reason",
                       "asked", "--override-hold", "court lifted it", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["hold_overridden"] == "court lifted it"
    result = run(cli, [*db, "show", str(maya)])
    assert result.exit_code == 1
    assert f"Error: goal {maya} was erased on " in result.output
    assert result.output.rstrip().endswith("by dr-achebe (asked)")
    result = run(cli, [*db, "plan", "maya"])
    assert "maya: erased on " in result.output
    assert "by dr-achebe (asked)" in result.output
    result = run(cli, [*db, "events"])
    assert result.output.count("ERASED") == 2, result.output
    assert run(cli, [*db, "verify"]).exit_code == 0
    old = os.umask(0o022)
    try:
        result = run(cli, [*db, "export", "--with-keys", "-o", str(tmp_path / "e.jsonl")])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert oct((tmp_path / "e.jsonl").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "k").stat().st_mode & 0o777) == "0o600"
    assert run(cli, ["new-master-key", str(tmp_path / "k2")]).exit_code == 0
    result = run(cli, [*db, "rotate-master-key", "--new-key-file", str(tmp_path / "k2")])
    assert result.exit_code == 0
    # maya's is gone; sam's and the rest of those made ahead with them are re-wrapped
    assert result.output.startswith(f"{SPARE_KEYS - 1} data key(s) re-wrapped")
    result = run(cli, [*db, "stats"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: wrong master key")
    result = run(cli, ["--db", f"sqlite:///{tmp_path}/g.db", "stats"])
    assert result.exit_code == 1
    assert "is encrypted: give its master key" in result.output
    result = run(cli, ["--db", f"sqlite:///{tmp_path}/g.db", "--master-key-file",
                       str(tmp_path / "nothere"), "stats"])
    assert result.exit_code == 1
    assert "cannot read master key file" in result.output


def test_migrate_keeps_an_encrypted_store_encrypted(store_url: str, tmp_path: Path,
                                                    keys_cleanup: None) -> None:
    run = CliRunner().invoke
    assert run(cli, ["new-master-key", str(tmp_path / "k")]).exit_code == 0
    key = master.from_file(tmp_path / "k")
    source = f"sqlite:///{tmp_path}/source.db"
    with goalflow.open(source, master_key=key) as goals:
        sam = draft_sam(goals)
    result = run(cli, ["--db", source, "--master-key-file", str(tmp_path / "k"), "migrate",
                       "--to", store_url])
    assert result.exit_code == 0, result.output
    with pytest.raises(StoreError, match="is encrypted"):
        goalflow.open(store_url)
    with goalflow.open(store_url, master_key=key) as copy:
        assert copy.get(sam).statement.startswith(SAMS_WORDS[0])


def test_an_encrypted_import_stopped_before_its_read_models_finishes_when_run_again(
        vault: goalflow.Goals, tmp_path: Path, key: str) -> None:
    """The store holds the export's events (the run stopped while the read models were
    built): importing it again recognises them by their stored bytes, ciphertext here."""
    sam = draft_sam(vault)
    data = exported(vault, with_keys=True)
    with goalflow.open(f"sqlite:///{tmp_path}/copy.db", master_key=key) as copy:
        transfer.import_(copy, io.BytesIO(data))
        again = transfer.import_(copy, io.BytesIO(data))
        assert again["resumed"] is True
        assert copy.get(sam).statement.startswith(SAMS_WORDS[0])
        assert transfer.digest(copy) == transfer.digest(vault)

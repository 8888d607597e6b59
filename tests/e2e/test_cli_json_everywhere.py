"""``--json`` on every command: each one that prints something for a person takes it; the
few whose output is JSON by nature (``fhir``, ``import-fhir``) are named here. The summary
objects of ``export -o``, ``report -o``, ``prove -o``, ``new-master-key`` and
``rotate-master-key``."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from test_cli import GOAL_ID, agree_line, draft_line, jsonl

import goalflow
from goalflow.cli import cli
from goalflow.crypto import master

JSON_BY_NATURE = {"fhir", "import-fhir"}  # they print FHIR resources / outcomes as JSON


def leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaves(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", leaves(cli), ids=" ".join)
def test_every_command_takes_json_or_prints_json_by_nature(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--json" in options or path[-1] in JSON_BY_NATURE, " ".join(path)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'goals.db'}"
    commands = tmp_path / "commands.jsonl"
    commands.write_text(jsonl(draft_line(), agree_line()))
    assert run("--db", url, "apply", str(commands)).exit_code == 0
    return url


def test_export_json_summarises_the_file_it_wrote(db: str, tmp_path: Path) -> None:
    out = tmp_path / "client-7.jsonl"

    result = run("--db", db, "export", "--subject", "client-7", "-o", str(out), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output"] == str(out)
    header = json.loads(out.read_text().splitlines()[0])
    assert (summary["events"], summary["commands"]) == (2, header["commands"])
    assert summary["scope"]["subjects"] == ["client-7"]
    assert summary["encrypted"] is False
    # the header, then the two events and the two command ids
    assert len(out.read_text().splitlines()) == 1 + 2 + header["commands"]


def test_export_json_without_an_output_file_is_a_usage_error(db: str) -> None:
    result = run("--db", db, "export", "--json")

    assert result.exit_code == 2
    assert "--json needs --output" in result.output


def test_report_json_names_the_page_it_wrote(db: str, tmp_path: Path) -> None:
    page = tmp_path / "goal.html"

    result = run("--db", db, "report", GOAL_ID[:8], "-o", str(page), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {"output": str(page), "pdf": None, "goal_id": GOAL_ID,
                       "subject": None, "bytes": page.stat().st_size}
    assert stat.S_IMODE(page.stat().st_mode) == 0o600


def test_report_json_to_stdout_is_a_usage_error(db: str) -> None:
    result = run("--db", db, "report", GOAL_ID, "--json")

    assert result.exit_code == 2
    assert "--json needs -o or --pdf" in result.output


def test_prove_json_summarises_the_proof_it_wrote(db: str, tmp_path: Path) -> None:
    digest, proof = tmp_path / "digest.json", tmp_path / "goal.proof.json"
    kept = run("--db", db, "digest", "--json")
    assert kept.exit_code == 0
    digest.write_text(kept.stdout)

    result = run("--db", db, "prove", GOAL_ID, "--digest", str(digest), "-o", str(proof),
                 "--json")

    assert result.exit_code == 0, result.output
    written = json.loads(proof.read_text())
    assert json.loads(result.stdout) == {
        "output": str(proof), "goal_id": GOAL_ID, "events": len(written["events"]),
        "tree_size": written["tree_size"], "events_after_digest": 0}
    assert run("--db", db, "prove", GOAL_ID, "--digest", str(digest), "--json").exit_code == 2


def _encrypted_store_with_a_goal(tmp_path: Path, key_file: Path) -> str:
    """The url of a new store encrypted with the key in ``key_file``, holding one goal."""
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    with goalflow.open(url, master_key=master.from_file(key_file)) as goals:
        goals.draft(goalflow.Subject.client("client-7"), "Walk to the shop",
                    by=goalflow.Actor("dr-lee", "clinician"))
    return url


def test_new_and_rotated_master_keys_in_json(tmp_path: Path) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    assert json.loads(run("new-master-key", str(old), "--json").stdout) == {
        "written": str(old), "mode": "0600"}
    assert json.loads(run("new-master-key", str(new), "--json").stdout)["written"] == str(new)
    url = _encrypted_store_with_a_goal(tmp_path, old)

    result = run("--db", url, "--master-key-file", str(old), "rotate-master-key",
                 "--new-key-file", str(new), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["new_key_file"] == str(new)
    assert isinstance(summary["rewrapped"], int)
    assert summary["rewrapped"] >= 1
    with goalflow.open(url, readonly=True, master_key=master.from_file(new)) as goals:
        assert len(goals.goal_index()) == 1


def test_rotate_master_key_refusal_is_json_on_stderr_under_json(tmp_path: Path) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_text(master.new_key_text() + "\n")
    new.write_text("not a key\n")
    url = _encrypted_store_with_a_goal(tmp_path, old)

    result = run("--db", url, "--master-key-file", str(old), "rotate-master-key",
                 "--new-key-file", str(new), "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"] == "InvalidCommand"
    assert error["message"] == f"master key file {new} is not base64 text (of 32 random bytes)"
    with goalflow.open(url, readonly=True, master_key=master.from_file(old)) as goals:
        assert len(goals.goal_index()) == 1  # the old key still opens it: nothing re-wrapped


def test_new_master_key_refusal_is_json_on_stderr_under_json(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_text("already here\n")

    result = run("new-master-key", str(key), "--json")

    assert result.exit_code == 1
    error = json.loads(result.stderr)
    assert error["error"] == "InvalidCommand"
    assert "a master key is never overwritten" in error["message"]
    assert key.read_text() == "already here\n"

"""The README's Python examples run as written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import goalflow
from goalflow.projection import discover

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def python_block(starting_with: str) -> str:
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL):
        if block.startswith(starting_with):
            return str(block)
    raise AssertionError(f"no python block in the README starts with {starting_with!r}")


def test_the_first_five_lines_draft_a_proposed_goal(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code = python_block("import goalflow\ngoals = goalflow.open")
    assert len(code.strip().splitlines()) == 5

    exec(compile(code, "README.md", "exec"), {})

    assert capsys.readouterr().out.splitlines() == ["proposed"]


def test_the_longer_example_prints_what_it_says(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code = python_block("from datetime import date\nimport goalflow")

    exec(compile(code, "README.md", "exec"), {})

    assert capsys.readouterr().out.splitlines() == ["active 3", "proposed"]
    assert (tmp_path / "goals.db").exists()


def test_the_custom_read_model_example_keeps_its_table_current() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(python_block("# my_ehr/readmodels.py"), "README.md", "exec"), namespace)
    steps_completed = namespace["StepsCompleted"]()
    goals = goalflow.open("memory://", projections=[*discover(), steps_completed])
    code = python_block("from datetime import date\nimport goalflow")
    setup = code.split("goals.agree")[0].replace('goalflow.open("sqlite:///goals.db")',
                                                 "GOALS")
    scope: dict[str, Any] = {"GOALS": goals}
    exec(compile(setup, "README.md", "exec"), scope)
    goal_id, client = scope["goal_id"], scope["client"]
    goals.agree(goal_id, by=client, terms_version=1, method="signature")

    goals.complete_step(goal_id, by=client, step_id="s1")
    with goals.store.recorder.transaction(commit=False) as tx:
        rows = tx.execute("SELECT goal_id, step_id FROM ehr_steps_completed").fetchall()
    assert rows == [(str(goal_id), "s1")]

    goals.projections.rebuild("steps_completed")
    with goals.store.recorder.transaction(commit=False) as tx:
        assert tx.execute("SELECT step_id FROM ehr_steps_completed").fetchall() == [("s1",)]


def test_the_execute_many_example_records_the_ehrs_commands(
        capsys: pytest.CaptureFixture[str]) -> None:
    goal_id = "3f0c9a1e-2b4d-4c6e-8f10-a2b3c4d5e6f7"
    clinician = {"id": "dr-okafor", "role": "clinician"}
    commands = [
        {"command": "draft", "goal_id": goal_id, "by": clinician, "statement": "Sleep better",
         "subject": {"kind": "client", "id": "client-7"}, "command_id": "ehr-1"},
        {"command": "add_step", "goal_id": goal_id, "by": clinician,
         "description": "No screens after ten", "command_id": "ehr-2"},
    ]
    with goalflow.open("memory://") as goals:
        exec(compile(python_block("from goalflow.commands import parse_command"), "README.md",
                     "exec"), {"goals": goals, "commands_from_the_ehr": commands})
        assert goals.get(goal_id).version == 2
    assert capsys.readouterr().out.splitlines() == [f"{goal_id} 1 Drafted",
                                                    f"{goal_id} 2 StepAdded"]


def test_the_auditors_ten_lines_give_the_digest_goalflow_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(python_block("from datetime import date\nimport goalflow"), "README.md",
                 "exec"), {})
    capsys.readouterr()
    code = python_block("import hashlib, sqlite3, struct, uuid")
    assert len([line for line in code.splitlines() if line.strip()]) <= 13

    exec(compile(code, "README.md", "exec"), {"store_path": str(tmp_path / "goals.db")})

    with goalflow.open("sqlite:///goals.db", readonly=True) as goals:
        digest = goals.digest()
    assert capsys.readouterr().out.split() == [str(digest.size), digest.root]


def test_the_help_and_the_api_show_the_readmes_store_url_forms() -> None:
    from click.testing import CliRunner

    from goalflow.cli import cli

    table = README.split("| url | store |", 1)[1].split("\n\n", 1)[0]
    forms = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    assert len(forms) == 4, forms
    assert forms[3].startswith("postgresql://"), forms
    shown = CliRunner().invoke(cli, ["--help"]).output
    docstring = " ".join((goalflow.open.__doc__ or "").split())
    for form in forms:
        assert form in shown, form
        assert f"``{form}``" in docstring, form
    for text in (shown, docstring):
        assert "libpq" in text
        assert "sslmode" in text


def test_the_encryption_example_forgets_a_client_and_still_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOALFLOW_MASTER_KEY", raising=False)
    code = python_block("from datetime import date\n\nimport goalflow")

    exec(compile(code, "README.md", "exec"), {})

    erased, damage = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"goal [0-9a-f-]{36} was erased on \d{4}-\d\d-\d\d by dr-achebe"
                        r" \(erasure request\)", erased)
    assert damage == "()"
    assert {p.name for p in tmp_path.iterdir()} >= {"clinic.db", "clinic.keys.db"}
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o600"}


def test_the_unit_of_work_example_records_both_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(python_block("# all or nothing"), "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["['Drafted', 'AgreedByClient']"]


def test_the_policy_example_refuses_a_stranger(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(python_block("# a care-team policy"), "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("clinician dr-who may not draft goal ")
    assert printed.endswith(": refused by the store's policy")


def test_the_small_command_file_applies_as_written(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from goalflow.cli import cli

    block = re.search(r"```json\n(\{\"command\": \"draft\".*?)```", README, flags=re.DOTALL)
    assert block, "no small command file in the README"
    path = tmp_path / "plan.jsonl"
    path.write_text(block[1])
    db = f"sqlite:///{tmp_path / 'goals.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "apply", str(path)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == [
        "Drafted", "AgreedByClient", "StepCompleted"]
    again = CliRunner().invoke(cli, ["--db", db, "apply", str(path)])
    assert [json.loads(line)["replayed"] for line in again.stdout.splitlines()] == [True] * 3

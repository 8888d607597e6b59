"""The goalflow CLI as a user runs it: apply, show, demo, and its errors."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import goalflow
from goalflow import demo as demo_scenario
from goalflow.cli import cli

ROOT = Path(__file__).resolve().parents[2]
GOAL_ID = "0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b"
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}
CLIENT = {"id": "client-7", "role": "client"}


def draft_line(**extra: object) -> dict[str, object]:
    return {
        "command": "draft", "goal_id": GOAL_ID, "by": CLINICIAN,
        "subject": {"kind": "client", "id": "client-7"},
        "statement": "Use relaxation to manage anxiety before work",
        "client_words": "I want to stop panicking",
        "measures": [{"name": "GAD-7", "baseline": 15, "target": 7}],
        "steps": ["Learn two breathing exercises", "10 minutes of yoga daily"],
        "target_date": (date.today() + timedelta(days=30)).isoformat(),
        "command_id": "ehr-1", **extra,
    }


def agree_line() -> dict[str, object]:
    return {"command": "agree", "goal_id": GOAL_ID, "by": CLIENT, "terms_version": 1,
            "method": "signature", "command_id": "ehr-2"}


def jsonl(*commands: object) -> str:
    return "".join(
        (c if isinstance(c, str) else json.dumps(c)) + "\n" for c in commands
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goals.db'}"


def run(db: str, *args: str, input: str | bytes | None = None):
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def test_apply_prints_one_result_per_command(db: str) -> None:
    result = run(db, "apply", "-", input=jsonl(draft_line(), "", agree_line()))

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"line": 1, "goal_id": GOAL_ID, "version": 1, "event": "Drafted", "replayed": False,
         "retries": 0, "position": 1},
        {"line": 3, "goal_id": GOAL_ID, "version": 2, "event": "AgreedByClient",
         "replayed": False, "retries": 0, "position": 2},
    ]
    assert goalflow.open(db).get(GOAL_ID).status == "active"


def test_reapplying_a_file_replays_lines_with_command_ids(db: str, tmp_path: Path) -> None:
    path = tmp_path / "commands.jsonl"
    path.write_text(jsonl(draft_line(), agree_line()))
    run(db, "apply", str(path))

    again = run(db, "apply", str(path))

    assert again.exit_code == 0, again.output
    assert [json.loads(line)["replayed"] for line in again.stdout.splitlines()] == [True, True]
    assert goalflow.open(db).get(GOAL_ID).version == 2


def test_apply_warns_once_about_lines_without_command_id(db: str) -> None:
    first = draft_line()
    del first["command_id"]
    progress = {"command": "add_step", "goal_id": GOAL_ID, "by": CLINICIAN,
                "description": "Practise expressing emotions in session"}

    result = run(db, "apply", "-", input=jsonl(first, progress))

    assert result.exit_code == 0, result.output
    assert result.stderr.count("Warning:") == 1
    assert "line 1 has no command_id" in result.stderr


def progress_lines(count: int) -> list[dict[str, object]]:
    return [{"command": "record_progress", "goal_id": GOAL_ID, "by": CLINICIAN,
             "measure": "GAD-7", "value": n % 20, "command_id": f"p-{n}"}
            for n in range(count)]


@pytest.mark.parametrize("batch", [[], ["--batch", "1"], ["--batch", "7"]])
def test_a_bad_line_in_a_batch_stops_the_run_after_the_lines_before_it(
    db: str, tmp_path: Path, batch: list[str]
) -> None:
    source = tmp_path / "commands.jsonl"
    lines = [draft_line(), agree_line(), *progress_lines(147)]
    source.write_text(jsonl(*lines, {"command": "meditate"}, *progress_lines(3)))

    result = run(db, "apply", str(source), *batch)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("Error: line 150: unknown command")
    assert [json.loads(line)["line"] for line in result.stdout.splitlines()] == \
        list(range(1, 150))
    assert goalflow.open(db).get(GOAL_ID).version == 149


def test_apply_refuses_a_batch_of_none(db: str) -> None:
    result = run(db, "apply", "-", "--batch", "0", input=jsonl(draft_line()))
    assert result.exit_code == 2
    assert "--batch" in result.stderr


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"command": "meditate", "goal_id": "x"}', "line 2: unknown command 'meditate'"),
        (json.dumps({**agree_line(), "mood": "good"}), "line 2: agree has no argument 'mood'"),
        (json.dumps({**agree_line(), "terms_version": "one"}), "line 2: terms_version"),
        (json.dumps({**agree_line(), "terms_version": 2}), "line 2: goal " + GOAL_ID),
        (json.dumps({**agree_line(), "by": {"id": "client-7"}}), "line 2: by needs 'role'"),
        (json.dumps({**agree_line(), "occurred_at": "2026-03-01T09:30:00"}),
         "line 2: occurred_at '2026-03-01T09:30:00' needs a UTC offset"),
        ("[1, 2]", "line 2: a command is a JSON object, not a list"),
        (json.dumps({"goal_id": GOAL_ID}), "line 2: missing field 'command'"),
    ],
)
def test_a_bad_line_stops_the_run_and_names_its_line(db: str, bad_line: str,
                                                     message: str) -> None:
    result = run(db, "apply", "-", input=jsonl(draft_line(), bad_line, agree_line()))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
    goal = goalflow.open(db).get(GOAL_ID)
    assert goal.version == 1  # line 1 stays applied, line 3 never ran


def test_invalid_utf8_is_refused_with_its_line(db: str) -> None:
    data = jsonl(draft_line()).encode() + b'{"command": "agree\xff"}\n'

    result = run(db, "apply", "-", input=data)

    assert result.exit_code == 1
    assert "line 2: not valid UTF-8" in result.stderr


@pytest.fixture
def demo_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_scenario.run(url, date.today()).close()
    return url


def test_show_prints_the_goal_for_people(demo_store: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID))

    assert result.exit_code == 0, result.output
    assert "completed" in result.stdout
    assert "[x] s5 Progressive muscle relaxation for 10 minutes daily" in result.stdout
    assert "verbal, witnessed by clinician dr-okafor" in result.stdout


def test_show_a_past_version_as_json(demo_store: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--version", "2",
                 "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["version"] == 2
    assert shown["status"] == "proposed"
    assert shown["steps"][1] == {"step_id": "s2", "description": "Meditate for 10 minutes daily",
                                 "status": "open"}


def test_show_as_of_a_date_means_the_end_of_that_day(demo_store: str) -> None:
    drafted_day = (date.today() - timedelta(days=60)).isoformat()

    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--as-of", drafted_day,
                 "--json")

    assert result.exit_code == 0, result.output
    # Drafted and the disagreement were both recorded that day.
    assert json.loads(result.stdout)["version"] == 2


def test_show_as_of_with_an_offset(demo_store: str) -> None:
    drafted_day = date.today() - timedelta(days=60)
    moment = f"{drafted_day.isoformat()}T11:07:00+01:00"  # 10:07 UTC: after the draft only

    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--as-of", moment,
                 "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == 1


@pytest.mark.parametrize("value", ["yesterday", "2026-03-01T09:30:00", "2026-13-01"])
def test_show_refuses_a_bad_timestamp(demo_store: str, value: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--as-of", value)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --as-of: ")
    assert "2026-03-01T09:30:00+01:00" in result.stderr


def test_show_refuses_version_and_as_of_together(demo_store: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--version", "1",
                 "--as-of", "2026-03-01")

    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_show_a_version_past_the_latest_is_an_error(demo_store: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID), "--version", "99")

    assert result.exit_code == 1
    assert "has no version 99 (versions run from 1 to 15)" in result.stderr


def test_show_an_unknown_goal_is_an_error(demo_store: str) -> None:
    result = run(demo_store, "show", GOAL_ID)

    assert result.exit_code == 1
    assert result.stderr == f"Error: goal {GOAL_ID} not found\n"


def test_show_never_creates_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"

    result = run(f"sqlite:///{missing}", "show", GOAL_ID)

    assert result.exit_code == 1
    assert f"no goalflow store at {missing}" in result.stderr
    assert not missing.exists()


def test_show_leaves_the_database_file_unchanged(demo_store: str, tmp_path: Path) -> None:
    before = (tmp_path / "demo.db").read_bytes()

    run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID))

    assert (tmp_path / "demo.db").read_bytes() == before


def test_a_bad_url_names_the_accepted_forms() -> None:
    result = run("mysql://localhost/goals", "show", GOAL_ID)

    assert result.exit_code == 1
    assert "unsupported store url 'mysql://localhost/goals'" in result.stderr
    assert "postgresql://user[:password]@host[:port]/dbname" in result.stderr
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback() -> None:
    result = CliRunner().invoke(cli, ["--debug", "--db", "mysql://x/y", "show", GOAL_ID])

    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_the_store_comes_from_goalflow_db(demo_store: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where the default store, sqlite:///goalflow.db, would be
    monkeypatch.setenv("GOALFLOW_DB", demo_store)

    result = CliRunner().invoke(cli, ["show", str(demo_scenario.DEMO_GOAL_ID)])

    assert result.exit_code == 0, result.output
    assert "completed" in result.stdout  # the demo's goal, read from $GOALFLOW_DB
    assert "[x] s5 Progressive muscle relaxation for 10 minutes daily" in result.stdout
    assert list(elsewhere.iterdir()) == []  # and no default store made beside it


def test_demo_runs_the_anxiety_scenario_into_a_fresh_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.db"

    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "completed" in result.stdout
    assert f"The demo store is {out}" in result.stdout
    events = goalflow.open(f"sqlite:///{out}").history(demo_scenario.DEMO_GOAL_ID)
    names = [type(e).__name__ for e in events]
    assert names[:4] == ["Drafted", "ClientDisagreed", "Revised", "AgreedByClient"]
    assert names[-1] == "Achieved"
    late = [e for e in events if (e.recorded_at - e.occurred_at).days >= 2]
    assert [(type(e).__name__, e.step_id) for e in late] == [("StepCompleted", "s4")]


def test_demo_refuses_an_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.db"
    out.write_text("precious")

    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert out.read_text() == "precious"


@pytest.mark.slow
def test_scripts_demo_works_as_the_readme_says(tmp_path: Path) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "demo"), "--out", str(tmp_path / "d.db")],
                          capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout


def test_the_goalflow_command_is_installed() -> None:
    done = subprocess.run([sys.executable, "-m", "goalflow", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert "apply" in done.stdout


def test_every_command_module_of_the_cli_is_registered() -> None:
    # A module added to goalflow/cli/ but not named in COMMAND_MODULES would hold
    # commands that goalflow never offers.
    import goalflow.cli as package

    modules = {m.name for m in pkgutil.iter_modules(package.__path__)
               if not m.name.startswith("_")}
    assert modules == set(package.COMMAND_MODULES)
    for name in package.COMMAND_MODULES:
        for command in importlib.import_module(f"goalflow.cli.{name}").COMMANDS:
            assert cli.commands[command.name] is command


def test_show_takes_a_unique_prefix_of_a_goal_id(demo_store: str) -> None:
    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID)[:8])

    assert result.exit_code == 0, result.output
    assert f"Goal {demo_scenario.DEMO_GOAL_ID}" in result.stdout


def test_an_unknown_prefix_is_not_found(demo_store: str) -> None:
    result = run(demo_store, "history", "0123abcd")

    assert result.exit_code == 1
    assert result.stderr == "Error: goal 0123abcd not found\n"


def test_an_ambiguous_prefix_names_the_goals_it_could_be(demo_store: str) -> None:
    twin = str(demo_scenario.DEMO_GOAL_ID)[:8] + "-0000-4000-8000-000000000001"
    drafted = run(demo_store, "apply", "-", input=jsonl(draft_line(goal_id=twin,
                                                                   command_id="twin")))
    assert drafted.exit_code == 0, drafted.output

    result = run(demo_store, "show", str(demo_scenario.DEMO_GOAL_ID)[:8])

    assert result.exit_code == 1
    assert "is ambiguous: it starts" in result.stderr
    assert twin in result.stderr


def test_a_prefix_shorter_than_six_digits_is_not_taken(demo_store: str) -> None:
    result = run(demo_store, "show", "7a1f")

    assert result.exit_code == 1
    assert "is not a goal id (a UUID)" in result.stderr


def test_a_database_fault_anywhere_is_one_error_line_naming_the_store(
    demo_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from goalflow import inspection

    def failing_log(*args: object, **kwargs: object) -> object:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(inspection, "log", failing_log)
    result = run(demo_store, "events")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: store {demo_store}: disk I/O error"]


def test_an_unforeseen_fault_is_one_line_that_quotes_no_internals(
    demo_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from goalflow import inspection

    def buggy_log(*args: object, **kwargs: object) -> object:
        raise TypeError("'NoneType' at client-7's statement 'I want to stop panicking'")

    monkeypatch.setattr(inspection, "log", buggy_log)
    result = run(demo_store, "events")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: goalflow failed unexpectedly (TypeError); run with --debug for the traceback"]

"""Moving part of a store, as a user runs it: export --subject/--goal/--since/--occurred-since
into another store (empty, or holding other goals), conflicts refused in one line (JSON
under --json); show --as-of --clinical; --json on import, migrate, demo and projections;
and the phases of an import or migrate, each its own progress bar on a terminal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_cli_inspection import (
    DEMO_GOAL,
    SLEEP,
    TODAY,
    VOIDED,
    _Clock,
    day,
    fails,
    json_lines,
    ok,
    on_terminal,
    run,
    store_contents,
)

import goalflow
from goalflow import Actor
from goalflow import demo as demo_scenario
from goalflow.cli import cli
from goalflow.persistence.urls import parse_url

pytest_plugins = ["test_cli_inspection"]  # its fixtures: clinic, clinic_export, pg_clinic


def invoke(*args: str, code: int = 0) -> Result:
    """In process, through click's CliRunner."""
    result = CliRunner().invoke(cli, list(args), env={"GOALFLOW_DB": None})
    assert result.exit_code == code, result.output + result.stderr
    return result


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store holding the demo goal only (another clinic's), on SQLite and PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'other-clinic.db'}" if request.param == "sqlite" else \
        str(request.getfixturevalue("postgres_url"))
    demo_scenario.run(url, TODAY).close()
    return url


def goal_ids(url: str) -> list[str]:
    return sorted(g["goal_id"] for g in json_lines(ok(url, "goals", "--json").stdout))


# -- moving a client between stores ----------------------------------------------------


def test_a_clients_export_merges_into_a_store_with_other_goals_and_verifies(
        clinic: str, demo_target: str, tmp_path: Path) -> None:
    part = tmp_path / "client-9.jsonl"
    ok(clinic, "export", "--subject", "client-9", "--output", str(part))

    first = ok(demo_target, "import", str(part))
    second = ok(demo_target, "import", str(part))

    assert first.stdout == "imported 2 events and 2 command ids\n"
    assert second.stdout == ("the store already holds these 2 events and 2 command ids:"
                             " nothing to import\n")
    assert goal_ids(demo_target) == sorted([DEMO_GOAL, SLEEP])
    assert json.loads(ok(demo_target, "show", SLEEP, "--json").stdout) == \
        json.loads(ok(clinic, "show", SLEEP, "--json").stdout)
    assert ok(demo_target, "verify").stdout.startswith("intact: 17 events")
    # The command ids came too: replaying clinic-2 records nothing new.
    replay = {"command": "agree", "goal_id": SLEEP, "by": {"id": "client-9", "role": "client"},
              "terms_version": 1, "method": "portal", "command_id": "clinic-2"}
    ok(demo_target, "apply", "-", input=json.dumps(replay) + "\n")
    assert store_contents(demo_target)[0][0] == 17


def test_a_partial_export_imports_into_an_empty_store_through_stdin(
        clinic: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'new.db'}"
    part = ok(clinic, "export", "--goal", SLEEP, "--goal", VOIDED).stdout

    result = ok(target, "import", "-", "--json", input=part)

    assert json.loads(result.stdout) == {
        "store": str(parse_url(target)), "complete": False, "resumed": False, "events": 4,
        "commands": 2, "added": 4, "commands_added": 2, "held": 0, "commands_held": 0,
        "timezone": "UTC", "encrypted": False}
    assert result.stderr == ""
    assert goal_ids(target) == sorted([SLEEP, VOIDED])


def test_a_goal_held_with_other_events_is_refused_in_one_line_naming_it(
        clinic: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    demo_scenario.run(other, TODAY - timedelta(days=1)).close()  # the demo goal, other times
    part = tmp_path / "demo.jsonl"
    ok(clinic, "export", "--goal", DEMO_GOAL, "--goal", SLEEP, "--output", str(part))
    before = store_contents(other)

    error = fails(other, "import", str(part))
    as_json = run(other, "import", str(part), "--json")

    assert error == (f"Error: goal {DEMO_GOAL} already exists in store {parse_url(other)} with"
                     " different events (version 1 differs)\n")
    assert (as_json.returncode, as_json.stdout) == (1, "")
    assert json.loads(as_json.stderr) == {
        "error": "MergeConflict", "message": error.removeprefix("Error: ").strip(),
        "line": None, "field": None, "goal_id": DEMO_GOAL}
    assert store_contents(other) == before
    assert SLEEP not in goal_ids(other)  # nothing half-written


def test_a_command_id_used_for_another_command_is_refused_naming_it(
        clinic: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    draft = {"command": "draft", "subject": {"kind": "client", "id": "client-3"},
             "statement": "Walk to the shop on my own", "by": {"id": "dr-lee",
                                                               "role": "clinician"},
             "command_id": "clinic-1"}
    ok(other, "apply", "-", input=json.dumps(draft) + "\n")
    theirs = goal_ids(other)[0]
    before = store_contents(other)

    part = tmp_path / "sleep.jsonl"
    part.write_text(ok(clinic, "export", "--goal", SLEEP).stdout)
    error = fails(other, "import", str(part))

    assert error == (f"Error: command id clinic-1 is already used in store {parse_url(other)}"
                     f" for a different command (goal {theirs}); the export's is of goal"
                     f" {SLEEP}\n")
    assert store_contents(other) == before


def test_an_export_since_a_time_continues_a_goal_a_store_took_earlier(
        clinic: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    ok(target, "import", "-", input=ok(clinic, "export", "--goal", DEMO_GOAL).stdout)
    since = ok(clinic, "export", "--since", day(2)).stdout
    header = json_lines(since)[0]

    assert list(header["bases"]) == [DEMO_GOAL]
    result = ok(target, "import", "-", input=since)

    # The demo goal's last versions were held already; client-9's and client-8's are new.
    assert result.stdout.startswith("imported 4 events and 2 command ids (2 events and 2"
                                    " command ids already held)")
    assert goal_ids(target) == sorted([DEMO_GOAL, SLEEP, VOIDED])
    assert store_contents(target) == store_contents(clinic)


# -- the clinical view -------------------------------------------------------------------


def test_show_as_of_clinical_holds_an_event_entered_late_and_as_of_alone_does_not(
        clinic: str) -> None:
    entered = datetime.fromisoformat(f"{TODAY.isoformat()}T08:00:00+00:00")
    with goalflow.open(clinic, clock=_Clock(entered)) as goals:
        # Yesterday's session, typed in this morning.
        goals.record_progress(SLEEP, by=Actor("client-9", "client"), measure="ISI", value=15,
                              occurred_at=entered - timedelta(hours=20))
    moment = f"{day(1)}T23:00:00+00:00"

    record = json.loads(ok(clinic, "show", SLEEP, "--as-of", moment, "--json").stdout)
    clinical = json.loads(ok(clinic, "show", SLEEP, "--as-of", moment, "--clinical",
                             "--json").stdout)

    assert record["version"] == 2
    assert clinical["version"] == 3
    assert "ISI" not in str(record.get("readings"))
    assert clinical == json.loads(ok(clinic, "show", SLEEP, "--json").stdout)
    text = ok(clinic, "show", SLEEP, "--as-of", moment, "--clinical").stdout
    assert "ISI" in text


def test_show_clinical_needs_as_of(clinic: str) -> None:
    result = invoke("--db", clinic, "show", SLEEP, "--clinical", code=2)

    assert "--clinical needs --as-of" in result.output + result.stderr


def test_an_export_of_what_occurred_since_takes_a_goal_from_its_first_such_event(
        clinic: str) -> None:
    header, *records = json_lines(ok(clinic, "export", "--occurred-since", day(1)).stdout)

    assert header["scope"]["occurred_since"] == f"{day(1)}T00:00:00+00:00"
    assert sorted({r["goal_id"] for r in records}) == sorted([SLEEP, VOIDED])
    assert header["bases"] == {}


# -- --json everywhere -------------------------------------------------------------------


def test_demo_json_prints_a_summary_of_the_store_it_made(tmp_path: Path) -> None:
    out = tmp_path / "demo.db"

    summary = json.loads(invoke("demo", "--out", str(out), "--json").stdout)

    assert {k: summary[k] for k in ("path", "url", "goal_id", "events")} == {
        "path": str(out), "url": f"sqlite:///{out}", "goal_id": DEMO_GOAL, "events": 15}
    assert summary["goal"]["status"] == "completed"
    again = invoke("demo", "--out", str(out), "--json", code=1)
    assert json.loads(again.stderr)["message"] == f"{out} already exists; the demo needs a" \
        " fresh file"


def test_migrate_json_prints_counts_and_the_digest(clinic: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'moved.db'}"

    summary = json.loads(invoke("--db", clinic, "migrate", "--to", target, "--json").stdout)

    assert {k: summary[k] for k in ("events", "commands", "timezone", "encrypted",
                                    "digests_match")} == {
        "events": 19, "commands": 17, "timezone": "UTC", "encrypted": False,
        "digests_match": True}
    assert summary["sha256"] == store_contents(clinic)[0][1]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    demo_scenario.run(other, TODAY - timedelta(days=1)).close()
    refused = invoke("--db", clinic, "migrate", "--to", other, "--json", code=1)
    assert json.loads(refused.stderr)["error"] == "StoreError"
    assert "is not empty" in json.loads(refused.stderr)["message"]


def test_projections_commands_print_json(clinic: str) -> None:
    rebuilt = json.loads(invoke("--db", clinic, "projections", "rebuild", "audit",
                                "--json").stdout)
    mode = json.loads(invoke("--db", clinic, "projections", "mode", "plans", "worker",
                             "--json").stdout)
    unknown = invoke("--db", clinic, "projections", "rebuild", "nope", "--json", code=1)
    back = json.loads(invoke("--db", clinic, "projections", "mode", "plans", "inline",
                             "--json").stdout)
    none_running = invoke("--db", clinic, "projections", "run", "--json", code=1)

    assert rebuilt == {"rebuilt": [{"name": "audit", "events": 19}]}
    assert (mode, back) == ({"name": "plans", "mode": "worker"},
                            {"name": "plans", "mode": "inline"})
    assert json.loads(unknown.stderr)["error"] != "InternalError"
    assert json.loads(none_running.stderr)["message"].startswith("no projection is in worker")


# -- progress, phase by phase ------------------------------------------------------------


def test_migrate_on_a_terminal_shows_every_phase_and_under_json_none(
        clinic: str, tmp_path: Path) -> None:
    shown, stdout, code = on_terminal("--db", clinic, "migrate", "--to",
                                      f"sqlite:///{tmp_path / 'a.db'}", stream="stderr")
    quiet, json_out, json_code = on_terminal("--db", clinic, "migrate", "--to",
                                             f"sqlite:///{tmp_path / 'b.db'}", "--json",
                                             stream="stderr")

    assert (code, json_code) == (0, 0)
    assert stdout.startswith("migrated 19 events")
    with goalflow.open(f"sqlite:///{tmp_path / 'a.db'}", readonly=True) as moved:
        names = sorted(moved.projections.all)
    phases = ["exporting", "copying events",
              *(f"building read model {name}" for name in names),
              "checking this store's digest", "checking the copy's digest"]
    at = [shown.find(label) for label in phases]
    assert -1 not in at, shown
    assert at == sorted(at)  # in that order
    assert quiet == ""
    assert json.loads(json_out)["events"] == 19


def test_import_json_on_a_terminal_shows_no_progress(clinic_export: Path,
                                                     tmp_path: Path) -> None:
    shown, stdout, code = on_terminal("--db", f"sqlite:///{tmp_path / 'new.db'}", "import",
                                      str(clinic_export), "--json", stream="stderr")

    assert (code, shown) == (0, "")
    assert json.loads(stdout)["added"] == 19


@pytest.mark.postgres
def test_a_postgresql_clients_export_merges_into_a_sqlite_store(
        pg_clinic: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'other-clinic.db'}"
    demo_scenario.run(target, TODAY - timedelta(days=3)).close()  # its own demo goal
    part = ok(pg_clinic, "export", "--subject", "client-9").stdout

    summary: dict[str, Any] = json.loads(ok(target, "import", "-", "--json",
                                            input=part).stdout)

    assert (summary["added"], summary["commands_added"]) == (2, 2)
    assert ok(target, "verify").stdout.startswith("intact: 17 events")
    assert json.loads(ok(target, "show", SLEEP, "--json").stdout) == \
        json.loads(ok(pg_clinic, "show", SLEEP, "--json").stdout)


def test_export_of_a_subject_with_no_goals_or_a_bad_time_is_an_error(clinic: str) -> None:
    assert fails(clinic, "export", "--subject", "nobody") == \
        f"Error: subject 'nobody' has no goals in store {parse_url(clinic)}\n"
    assert fails(clinic, "export", "--occurred-since", "March") == \
        "Error: --occurred-since: 'March' is not a date or time; use 2026-03-01," \
        " 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z\n"

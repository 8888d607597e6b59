"""``goalflow config timezone``: showing and setting the store's clinic time zone, and the
dates the other commands take in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import goalflow
from goalflow.cli import cli
from goalflow.cli._options import parse_timestamp

GOAL_ID = "0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b"
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}
CLIENT = {"id": "client-7", "role": "client"}
# Monday 2 June 2025, in Chicago's evening (CDT): already Tuesday in UTC.
AGREED = "2025-06-02T20:00:00-05:00"


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def ok(db: str, *args: str, input: str | None = None) -> Result:
    result = run(db, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def refused(db: str, *args: str, code: int = 1) -> str:
    result = run(db, *args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or code == 2, result.stderr
    return result.stderr.strip().splitlines()[-1]


def jsonl(*commands: dict[str, Any]) -> str:
    return "".join(json.dumps(c) + "\n" for c in commands)


def agreed_goal(db: str) -> None:
    """Maya's goal drafted in the morning and agreed at 20:00 in Chicago; her GAD-7 taken
    at 23:30 that evening."""
    ok(db, "apply", "-", input=jsonl(
        {"command": "draft", "goal_id": GOAL_ID, "by": CLINICIAN,
         "subject": {"kind": "client", "id": "client-7"}, "statement": "Manage anxiety",
         "addresses": ["anxiety"], "measures": [{"name": "GAD-7", "baseline": 15,
                                                  "target": 7}],
         "steps": ["10 minutes of yoga daily"], "target_date": "2025-09-30",
         "occurred_at": "2025-06-02T09:00:00-05:00", "command_id": "ehr-1"},
        {"command": "agree", "goal_id": GOAL_ID, "by": CLIENT, "terms_version": 1,
         "method": "signature", "occurred_at": AGREED, "command_id": "ehr-2"},
        {"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT, "measure": "GAD-7",
         "value": 9, "occurred_at": "2025-06-03T04:30:00+00:00", "command_id": "ehr-3"},
    ))


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goals.db'}"


# -- showing -------------------------------------------------------------------------------------


def test_a_store_with_no_zone_set_shows_utc_as_the_default(db: str) -> None:
    agreed_goal(db)

    assert ok(db, "config", "timezone").stdout == "UTC (the default: no time zone set)\n"
    assert json.loads(ok(db, "config", "timezone", "--json").stdout) == {
        "timezone": "UTC", "default": True, "changes": []}


def test_showing_the_zone_of_a_store_that_does_not_exist_creates_none(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    assert refused(db, "config", "timezone") == f"Error: no goalflow store at {tmp_path}/none.db"
    assert not (tmp_path / "none.db").exists()


# -- setting -------------------------------------------------------------------------------------


def test_setting_a_zone_creates_the_store_and_is_shown_with_when_it_was_set(db: str) -> None:
    assert ok(db, "config", "timezone", "America/Chicago").stdout == \
        "the store's time zone is now America/Chicago (was UTC)\n"

    shown = ok(db, "config", "timezone").stdout
    assert shown.startswith("America/Chicago (set 20")
    assert shown.endswith(", from log position 0)\n")
    [change] = json.loads(ok(db, "config", "timezone", "--json").stdout)["changes"]
    assert (change["timezone"], change["position"]) == ("America/Chicago", 0)
    assert ok(db, "config", "timezone", "America/Chicago").stdout == \
        "the store's time zone is already America/Chicago\n"


def test_a_store_with_goals_changes_its_zone_only_with_force(db: str) -> None:
    agreed_goal(db)

    said = refused(db, "config", "timezone", "America/Chicago")
    assert said.startswith("Error: store ")
    assert "holds goals, whose review due dates are worked out in its time zone UTC" in said
    assert "goalflow config timezone America/Chicago --force" in said
    assert ok(db, "config", "timezone").stdout.startswith("UTC (the default")

    changed = ok(db, "config", "timezone", "America/Chicago", "--force", "--json")
    assert json.loads(changed.stdout) == {"timezone": "America/Chicago", "previous": "UTC",
                                          "changed": True}


@pytest.mark.parametrize(("name", "said"), [
    ("America/Chicgo", "Error: unknown time zone 'America/Chicgo': not an IANA time zone name"
                       " this machine knows; did you mean America/Chicago?"),
    ("CST", "Error: unknown time zone 'CST': not an IANA time zone name this machine knows;"
            " IANA names look like America/Chicago or Europe/London"),
    ("-05:00", "Error: unknown time zone '-05:00'"),
    ("localtime", "Error: timezone 'localtime' is not a clinic's time zone"),
])
def test_a_name_that_is_not_a_zone_is_one_error_line_and_creates_no_store(
        tmp_path: Path, name: str, said: str) -> None:
    db = f"sqlite:///{tmp_path / 'new.db'}"
    assert refused(db, "config", "timezone", "--", name).startswith(said)
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["--force"], "--force goes with a NAME to set"),
    (["America/Chicago", "Europe/London"], "unexpected extra argument (Europe/London)"),
    (["--zone", "America/Chicago"], "No such option '--zone'"),
])
def test_misuse_of_the_command_is_a_usage_error(db: str, args: list[str], said: str) -> None:
    result = run(db, "config", "timezone", *args)
    assert result.exit_code == 2, result.output
    assert said in result.stderr


def test_config_alone_lists_its_settings(db: str) -> None:
    result = run(db, "config")
    assert "timezone" in result.output


# -- the dates other commands take in it ----------------------------------------------------


def test_the_worklist_dates_the_20_00_agreement_in_chicago_on_monday(db: str,
                                                                     tmp_path: Path) -> None:
    utc = f"sqlite:///{tmp_path / 'utc.db'}"
    agreed_goal(utc)
    ok(db, "config", "timezone", "America/Chicago")
    agreed_goal(db)

    [in_chicago] = [json.loads(line) for line in
                    ok(db, "reviews", "--as-of", "2025-08-31", "--json").stdout.splitlines()]
    [in_utc] = [json.loads(line) for line in
                ok(utc, "reviews", "--as-of", "2025-08-31", "--json").stdout.splitlines()]
    assert (in_chicago["due_on"], in_chicago["overdue"]) == ("2025-08-31", False)
    assert (in_utc["due_on"], in_utc["overdue"]) == ("2025-09-01", False)
    overdue = ok(db, "reviews", "--overdue", "--as-of", "2025-09-01").stdout
    assert "OVERDUE" in overdue
    assert "2025-08-31" in overdue


def test_show_dates_a_reading_on_the_clinics_day(db: str, tmp_path: Path) -> None:
    ok(db, "config", "timezone", "America/Chicago")
    agreed_goal(db)
    utc = f"sqlite:///{tmp_path / 'utc.db'}"
    agreed_goal(utc)

    assert "GAD-7: baseline 15, target 7 (decrease); latest 9 on 2025-06-02" in \
        ok(db, "show", GOAL_ID).stdout
    assert "latest 9 on 2025-06-03" in ok(utc, "show", GOAL_ID).stdout


# (zone, a date given to --since/--until/--as-of, its first and last moments in UTC)
DAYS = [
    pytest.param("America/Chicago", "2025-06-02", "2025-06-02T05:00:00+00:00",
                 "2025-06-03T04:59:59.999999+00:00", id="chicago-in-summer"),
    pytest.param("America/Chicago", "2025-03-09", "2025-03-09T06:00:00+00:00",
                 "2025-03-10T04:59:59.999999+00:00", id="chicago-spring-forward-23-hours"),
    pytest.param("America/Chicago", "2025-11-02", "2025-11-02T05:00:00+00:00",
                 "2025-11-03T05:59:59.999999+00:00", id="chicago-fall-back-25-hours"),
    pytest.param("Europe/London", "2025-03-30", "2025-03-30T00:00:00+00:00",
                 "2025-03-30T22:59:59.999999+00:00", id="london-spring-forward-23-hours"),
    pytest.param("Europe/London", "2025-10-26", "2025-10-25T23:00:00+00:00",
                 "2025-10-26T23:59:59.999999+00:00", id="london-fall-back-25-hours"),
    pytest.param("UTC", "2025-06-02", "2025-06-02T00:00:00+00:00",
                 "2025-06-02T23:59:59.999999+00:00", id="utc"),
]


@pytest.mark.parametrize(("zone", "day", "first", "last"), DAYS)
def test_a_bare_date_means_the_clinics_day_from_its_first_moment_to_its_last(
        zone: str, day: str, first: str, last: str) -> None:
    with goalflow.open("memory://", timezone=zone) as goals:
        start = parse_timestamp("--since", day, end_of_day=False, goals=goals)
        end = parse_timestamp("--until", day, end_of_day=True, goals=goals)
    assert (start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()) == (first,
                                                                                    last)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"])
def test_a_date_beyond_the_years_goalflow_takes_is_refused_in_any_zone(db: str, day: str
                                                                       ) -> None:
    ok(db, "config", "timezone", "Pacific/Kiritimati")  # UTC+14: the far side of any day
    for option in ("--since", "--until"):
        assert refused(db, "events", option, day) == \
            f"Error: {option} {day} is out of range (from 1900 to 2999)"
    ok(db, "config", "timezone", "Pacific/Pago_Pago")  # UTC-11
    assert refused(db, "show", GOAL_ID, "--as-of", day) == \
        f"Error: --as-of {day} is out of range (from 1900 to 2999)"


def test_a_time_with_its_offset_is_taken_as_it_is_in_any_zone() -> None:
    with goalflow.open("memory://", timezone="America/Chicago") as goals:
        moment = parse_timestamp("--as-of", "2025-06-02T20:00:00+00:00", end_of_day=True,
                                 goals=goals)
    assert moment == datetime(2025, 6, 2, 20, 0, tzinfo=UTC)


def test_migrate_takes_the_zone_and_its_changes_with_the_events(db: str,
                                                                tmp_path: Path) -> None:
    ok(db, "config", "timezone", "America/Chicago")
    agreed_goal(db)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"

    ok(db, "migrate", "--to", copy)

    assert json.loads(ok(copy, "config", "timezone", "--json").stdout) == \
        json.loads(ok(db, "config", "timezone", "--json").stdout)
    assert ok(copy, "reviews", "--as-of", "2025-08-31", "--json").stdout == \
        ok(db, "reviews", "--as-of", "2025-08-31", "--json").stdout


"""The read-model commands as a user runs them: plan, audit, reviews and projections."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import goalflow
from goalflow import demo as demo_scenario
from goalflow.cli import cli

DEMO_GOAL = str(demo_scenario.DEMO_GOAL_ID)
TODAY = date.today()
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}
TIMESTAMP_FORMS = "2026-03-01, 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z"
INSTALLED = "(installed: audit, outcomes, plans, reviews)"

# The goals of a small clinic (see the ``clinic`` fixture).
ANXIETY = "11111111-1111-4111-8111-111111111111"  # client-7, active, review overdue
SLEEP = "22222222-2222-4222-8222-222222222222"  # client-7, active, next review set
GROUP = "33333333-3333-4333-8333-333333333333"  # group of client-7 and client-9, half agreed
DONE = "44444444-4444-4444-8444-444444444444"  # client-7, achieved
WALKING = "55555555-5555-4555-8555-555555555555"  # client-8, reviewed without a date, on hold
REVISED = "66666666-6666-4666-8666-666666666666"  # client-8, agreed, then revised
REDRAFTED = "77777777-7777-4777-8777-777777777777"  # client-8, revised before any agreement


# -- helpers ---------------------------------------------------------------------


def run(db: str, *args: str, input: str | None = None,
        env: dict[str, str] | None = None) -> Result:
    # The caller's own review policy must not leak into the tests.
    environment: dict[str, str | None] = {"GOALFLOW_REVIEW_INTERVAL_DAYS": None, **(env or {})}
    return CliRunner().invoke(cli, ["--db", db, *args], input=input, env=environment)


def ok(db: str, *args: str, **kwargs: Any) -> Result:
    result = run(db, *args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def positions(result: Result) -> list[int]:
    return [entry["position"] for entry in json_lines(result)]


def day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def at(days_ago: int, hour: int = 10) -> str:
    """A clinical time ``days_ago`` days back (never in the future: days_ago >= 1)."""
    return datetime.combine(day(days_ago), clock_time(hour), UTC).isoformat()


def client(client_id: str) -> dict[str, str]:
    return {"id": client_id, "role": "client"}


def draft(goal_id: str, subject: dict[str, Any], statement: str, days_ago: int,
          steps: list[str], measures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"command": "draft", "goal_id": goal_id, "by": CLINICIAN, "subject": subject,
            "statement": statement, "client_words": "I want to feel better",
            "addresses": ["Generalised anxiety disorder"],
            "measures": measures or [{"name": "GAD-7", "baseline": 15, "target": 7}],
            "steps": steps, "target_date": (TODAY + timedelta(days=60)).isoformat(),
            "occurred_at": at(days_ago)}


def agree(goal_id: str, client_id: str, terms_version: int, days_ago: int) -> dict[str, Any]:
    return {"command": "agree", "goal_id": goal_id, "by": client(client_id),
            "terms_version": terms_version, "method": "signature", "occurred_at": at(days_ago)}


def revise(goal_id: str, days_ago: int, step: str) -> dict[str, Any]:
    return {"command": "revise", "goal_id": goal_id, "by": CLINICIAN,
            "reason": "Client asked for something she can do at home", "add_steps": [step],
            "occurred_at": at(days_ago)}


def apply(db: str, *commands: dict[str, Any]) -> Result:
    numbered = [{"command_id": f"t-{n}-{c['command']}-{c.get('goal_id')}", **c}
                for n, c in enumerate(commands)]
    return ok(db, "apply", "-", input="".join(json.dumps(c) + "\n" for c in numbered))


def status(db: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in json_lines(ok(db, "projections", "status", "--json"))}


def read_models(db: str) -> dict[str, str]:
    """Everything the read-model commands print, as JSON."""
    return {
        "plan": ok(db, "plan", "client-7", "--all", "--json").stdout,
        "plan-8": ok(db, "plan", "client-8", "--all", "--json").stdout,
        "audit": ok(db, "audit", "--json").stdout,
        "reviews": ok(db, "reviews", "--as-of", TODAY.isoformat(), "--json").stdout,
    }


# -- stores ----------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goals.db'}"


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """The demo scenario in a SQLite file, closed (so its WAL is checkpointed)."""
    path = tmp_path / "demo.db"
    demo_scenario.run(f"sqlite:///{path}", TODAY).close()
    return path


@pytest.fixture
def demo_store(demo_file: Path) -> str:
    return f"sqlite:///{demo_file}"


def clinic_commands() -> list[dict[str, Any]]:
    group = {"kind": "group", "id": "anxiety-group", "members": ["client-7", "client-9"]}
    return [
        draft(ANXIETY, {"kind": "client", "id": "client-7"}, "Manage anxiety before work", 100,
              ["Learn two breathing exercises", "10 minutes of yoga daily"]),
        agree(ANXIETY, "client-7", 1, 100),
        {"command": "complete_step", "goal_id": ANXIETY, "by": client("client-7"),
         "step_id": "s1", "occurred_at": at(90)},
        {"command": "record_progress", "goal_id": ANXIETY, "by": CLINICIAN, "measure": "GAD-7",
         "value": 11, "occurred_at": at(80)},
        draft(DONE, {"kind": "client", "id": "client-7"}, "Return to work three days a week", 50,
              ["Talk to the employer"]),
        agree(DONE, "client-7", 1, 50),
        {"command": "achieve", "goal_id": DONE, "by": CLINICIAN, "evidence": "Back at work",
         "occurred_at": at(40)},
        draft(GROUP, group, "Practise social skills in the group", 30, ["Introduce yourself"]),
        agree(GROUP, "client-7", 1, 30),
        draft(SLEEP, {"kind": "client", "id": "client-7"}, "Sleep seven hours a night", 20,
              ["Keep a sleep diary"]),
        agree(SLEEP, "client-7", 1, 20),
        {"command": "review", "goal_id": SLEEP, "by": CLINICIAN, "outcome": "continue",
         "next_review_on": (TODAY + timedelta(days=5)).isoformat(), "occurred_at": at(10)},
        draft(WALKING, {"kind": "client", "id": "client-8"}, "Walk to the shops alone", 60,
              ["Walk to the corner"]),
        agree(WALKING, "client-8", 1, 60),
        {"command": "review", "goal_id": WALKING, "by": CLINICIAN, "outcome": "continue",
         "occurred_at": at(30)},
        {"command": "hold", "goal_id": WALKING, "by": CLINICIAN, "reason": "Knee surgery",
         "occurred_at": at(20)},
        draft(REVISED, {"kind": "client", "id": "client-8"}, "Cook a meal once a week", 40,
              ["Plan a menu"]),
        agree(REVISED, "client-8", 1, 40),
        revise(REVISED, 5, "Shop for the ingredients"),
        draft(REDRAFTED, {"kind": "client", "id": "client-8"}, "Call a friend weekly", 30,
              ["Make a list of friends"]),
        revise(REDRAFTED, 25, "Call one friend"),
    ]


@pytest.fixture
def clinic(db: str) -> str:
    apply(db, *clinic_commands())
    return db


# -- goalflow plan ---------------------------------------------------------------


def test_plan_shows_each_open_goal_with_its_steps_measures_and_next_review(clinic: str) -> None:
    result = ok(clinic, "plan", "client-7")

    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert [block.split()[0] for block in blocks] == [ANXIETY, GROUP, SLEEP]  # DONE is closed
    assert blocks[0].splitlines() == [
        f"{ANXIETY}  active  terms v1",
        "  Manage anxiety before work",
        f"  target {TODAY + timedelta(days=60)}; next review -",
        "  [x] s1 Learn two breathing exercises",
        "  [ ] s2 10 minutes of yoga daily",
        f"  GAD-7: baseline 15, target 7 (decrease), latest 11 ({day(80)})",
    ]
    assert f"next review {TODAY + timedelta(days=5)}" in blocks[2]


def test_plan_of_a_client_includes_the_group_goals_they_are_in_and_who_must_still_agree(
        clinic: str) -> None:
    result = ok(clinic, "plan", "client-9")

    assert result.stdout.splitlines() == [
        f"{GROUP}  proposed  terms v1  (group goal)",
        "  Practise social skills in the group",
        "  awaiting agreement from client-9",
        f"  target {TODAY + timedelta(days=60)}; next review -",
        "  [ ] s1 Introduce yourself",
        "  GAD-7: baseline 15, target 7 (decrease)",
    ]
    assert ok(clinic, "plan", "anxiety-group").stdout == result.stdout


def test_plan_marks_only_group_goals_as_group_goals(clinic: str) -> None:
    lines = ok(clinic, "plan", "client-7").stdout.splitlines()

    assert [line.split()[0] for line in lines if "(group goal)" in line] == [GROUP]


def test_plan_all_includes_completed_goals(clinic: str) -> None:
    open_only = ok(clinic, "plan", "client-7").stdout
    everything = ok(clinic, "plan", "client-7", "--all").stdout

    assert DONE not in open_only
    assert f"{DONE}  completed  terms v1" in everything
    assert "  [ ] s1 Talk to the employer" in everything


def test_plan_json_prints_one_goal_per_line_with_the_documented_keys(clinic: str) -> None:
    goals = json_lines(ok(clinic, "plan", "client-7", "--json"))

    assert [g["goal_id"] for g in goals] == [ANXIETY, GROUP, SLEEP]
    for goal in goals:
        assert set(goal) >= {
            "goal_id", "subject_kind", "subject_id", "status", "terms_version",
            "awaiting_agreement", "awaiting_agreement_from", "statement", "client_words",
            "target_date", "next_review_on", "drafted_at", "version", "updated_at",
            "group_goal", "steps", "measures"}
    anxiety, group, sleep = goals
    assert (anxiety["status"], anxiety["awaiting_agreement"], anxiety["group_goal"]) == \
        ("active", False, False)
    assert anxiety["steps"] == [
        {"step_id": "s1", "description": "Learn two breathing exercises", "status": "completed",
         "completed_at": at(90)},
        {"step_id": "s2", "description": "10 minutes of yoga daily", "status": "open",
         "completed_at": None},
    ]
    assert anxiety["measures"] == [{"name": "GAD-7", "baseline": 15, "target": 7,
                                    "direction": "decrease", "latest": 11,
                                    "latest_at": at(80)}]
    assert (group["subject_kind"], group["subject_id"], group["group_goal"]) == \
        ("group", "anxiety-group", True)
    assert (group["awaiting_agreement"], group["awaiting_agreement_from"]) == (True, ["client-9"])
    assert sleep["next_review_on"] == (TODAY + timedelta(days=5)).isoformat()


def test_plan_all_json_includes_completed_goals(clinic: str) -> None:
    goals = json_lines(ok(clinic, "plan", "client-7", "--all", "--json"))

    assert [(g["goal_id"], g["status"]) for g in goals] == [
        (ANXIETY, "active"), (DONE, "completed"), (GROUP, "proposed"), (SLEEP, "active")]


def test_plan_says_so_when_a_subject_has_no_goals(clinic: str) -> None:
    assert ok(clinic, "plan", "client-99").stdout == "No open goals for client-99.\n"
    assert ok(clinic, "plan", "client-99", "--all").stdout == "No goals for client-99.\n"
    assert ok(clinic, "plan", "client-99", "--json").stdout == ""


def test_plan_says_so_when_every_goal_is_closed(demo_store: str) -> None:
    assert ok(demo_store, "plan", "client-7").stdout == "No open goals for client-7.\n"
    assert "completed  terms v3" in ok(demo_store, "plan", "client-7", "--all").stdout


# -- goalflow audit --------------------------------------------------------------


def test_audit_of_the_demo_goal_shows_the_revision_that_replaced_meditation(
        demo_store: str) -> None:
    result = ok(demo_store, "audit", DEMO_GOAL)

    text = result.stdout
    assert [int(line.split()[0][1:]) for line in text.splitlines() if line.startswith("#")] == \
        list(range(1, 16))
    assert "client-7 disagreed: Sitting still makes me restless; I want to move more" in text
    assert "       step removed s2: Meditate for 10 minutes daily\n" \
           "       step added s5: Progressive muscle relaxation for 10 minutes daily\n" \
           f"       client agreement to terms v3: agreed at {at(40)}\n" in text
    assert "client-7 agreed to terms v3 (verbal, witnessed by dr-okafor)" in text


def test_audit_marks_the_step_entered_five_days_late(demo_store: str) -> None:
    lines = ok(demo_store, "audit").stdout.splitlines()

    marked = [line for line in lines if "days late]" in line]
    assert len(marked) == 1
    assert marked[0].startswith("#11 ")
    assert marked[0].endswith("StepCompleted  by dr-okafor (clinician)  [entered 5 days late]")


def test_the_late_marker_follows_the_days_asked_for(demo_store: str) -> None:
    lines = ok(demo_store, "audit", "--late", "--days", "0.01").stdout.splitlines()

    headers = [line for line in lines if line.startswith("#")]
    assert len(headers) > 1  # entered 15 minutes or more after they happened
    assert all(" late]" in line for line in headers)


def test_days_without_late_is_a_usage_error(demo_store: str) -> None:
    result = run(demo_store, "audit", "--days", "3")

    assert result.exit_code == 2
    assert "--days goes with --late" in result.stderr


def test_audit_refuses_a_goal_id_that_is_not_a_uuid(demo_store: str) -> None:
    result = run(demo_store, "audit", "goal-1")

    assert result.exit_code == 1
    assert result.stderr == "Error: goal_id 'goal-1' is not a goal id (a UUID)\n"


def test_audit_of_an_unknown_goal_is_an_error(demo_store: str) -> None:
    result = run(demo_store, "audit", "0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: goal 0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b not found\n"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], list(range(1, 16))),
        (["--actor", "client-7"], [2, 4, 5, 8, 10, 12]),
        (["--actor", "dr-okafor", "--event", "ProgressRecorded"], [6, 13]),
        (["--event", "Revised"], [3, 7]),
        (["--event", "Revised", "--actor", "client-7"], []),
        (["--subject", "client-7"], list(range(1, 16))),
        (["--subject", "client-8"], []),
        (["--late"], [11]),
        (["--late", "--days", "5"], [11]),
        (["--late", "--days", "6"], []),
        (["--late", "--days", "0.05"], [11, 15]),  # 72 minutes; #15 was entered after 75
        (["--unagreed"], []),
        (["--since", day(3).isoformat()], [13, 14, 15]),
        (["--until", day(59).isoformat()], [1, 2, 3, 4]),
    ],
)
def test_audit_filters_narrow_the_trail(demo_store: str, options: list[str],
                                        expected: list[int]) -> None:
    assert positions(ok(demo_store, "audit", "--json", *options)) == expected


def test_audit_filters_combine_with_a_goal_id(demo_store: str) -> None:
    assert positions(ok(demo_store, "audit", DEMO_GOAL, "--actor", "client-7", "--event",
                        "StepCompleted", "--json")) == [5, 10, 12]


def test_audit_since_a_date_means_its_start_and_until_a_date_its_end(demo_store: str) -> None:
    # #7 was recorded at 10:35 and #8 at 10:40 (UTC) on that day, and nothing else.
    revision_day = day(40).isoformat()

    result = ok(demo_store, "audit", "--since", revision_day, "--until", revision_day, "--json")

    assert positions(result) == [7, 8]


def test_audit_since_and_until_take_times_with_an_offset_and_include_their_bounds(
        demo_store: str) -> None:
    revision_day = day(40).isoformat()

    result = ok(demo_store, "audit", "--json",
                "--since", f"{revision_day}T11:35:00+01:00",  # #7, recorded 10:35 UTC
                "--until", f"{revision_day}T10:40:00Z")  # #8, recorded 10:40 UTC

    assert positions(result) == [7, 8]
    assert positions(ok(demo_store, "audit", "--json",
                        "--since", f"{revision_day}T10:35:00.000001+00:00")) == list(range(8, 16))


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["yesterday", "2026-03-01T09:30:00", "2026-13-01", "3/1/2026"])
def test_audit_refuses_a_bad_timestamp_naming_the_accepted_forms(
        demo_store: str, option: str, value: str) -> None:
    result = run(demo_store, "audit", option, value)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {option}: {value!r} ")
    assert result.stderr.endswith(f"use {TIMESTAMP_FORMS}\n")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_audit_json_gives_revised_entries_their_changes_and_agreement(demo_store: str) -> None:
    entries = json_lines(ok(demo_store, "audit", "--json"))

    assert set(entries[0]) == {
        "position", "goal_id", "version", "event_type", "recorded_at", "occurred_at",
        "late_seconds", "actor_id", "actor_role", "on_behalf_of", "reason", "subject_kind",
        "subject_id", "details"}
    assert [e["position"] for e in entries if "changes" in e or "agreement" in e] == [3, 7]
    revision = entries[6]
    assert (revision["event_type"], revision["version"], revision["actor_id"]) == \
        ("Revised", 7, "dr-okafor")
    assert revision["reason"].startswith("Meditation made the client feel worse")
    assert revision["changes"] == [
        {"change": "step removed", "field": "steps", "step_id": "s2",
         "before": "Meditate for 10 minutes daily", "after": None},
        {"change": "step added", "field": "steps", "step_id": "s5", "before": None,
         "after": "Progressive muscle relaxation for 10 minutes daily"},
    ]
    assert revision["agreement"] == {
        "terms_version": 3, "previously_agreed": True, "agreement": "agreed",
        "agreed_parties": ["client-7"], "required_parties": ["client-7"],
        "agreed_at": at(40),
        "agreed_recorded_at": f"{day(40).isoformat()}T10:40:00+00:00",
        "superseded_by": None}
    assert entries[2]["agreement"]["previously_agreed"] is False  # before the first agreement
    late = entries[10]
    assert (late["event_type"], late["details"]["step_id"]) == ("StepCompleted", "s4")
    assert late["late_seconds"] == 5 * 86400 + 55 * 60
    assert late["occurred_at"] == at(12)


def test_audit_subject_includes_the_group_goals_a_client_is_in(clinic: str) -> None:
    for subject in ("client-9", "anxiety-group"):
        entries = json_lines(ok(clinic, "audit", "--subject", subject, "--json"))
        assert {e["goal_id"] for e in entries} == {GROUP}
        assert [e["event_type"] for e in entries] == ["Drafted", "AgreedByClient"]
    client_7 = json_lines(ok(clinic, "audit", "--subject", "client-7", "--json"))
    assert {e["goal_id"] for e in client_7} == {ANXIETY, DONE, GROUP, SLEEP}


def test_audit_unagreed_lists_a_revision_of_an_agreed_goal_until_it_is_agreed(
        clinic: str) -> None:
    pending = run(clinic, "audit", "--unagreed")

    assert pending.exit_code == 0, pending.output
    headers = [line for line in pending.stdout.splitlines() if line.startswith("#")]
    assert len(headers) == 1  # not REDRAFTED's revision: that goal was never agreed
    assert f"{REVISED} v3  Revised  by dr-okafor (clinician)" in headers[0]
    assert "       client agreement to terms v2: pending (awaiting client-8)\n" in pending.stdout
    entry, = json_lines(ok(clinic, "audit", "--unagreed", "--json"))
    assert entry["agreement"]["agreement"] == "pending"
    assert entry["agreement"]["previously_agreed"] is True

    apply(clinic, agree(REVISED, "client-8", 2, 1))

    assert ok(clinic, "audit", "--unagreed").stdout == "No entries.\n"
    revision, = json_lines(ok(clinic, "audit", REVISED, "--event", "Revised", "--json"))
    assert revision["agreement"]["agreement"] == "agreed"
    assert revision["agreement"]["agreed_at"] == at(1)


def test_audit_unagreed_keeps_a_group_revision_until_every_member_agrees(db: str) -> None:
    group = {"kind": "group", "id": "walking-group", "members": ["client-1", "client-2"]}
    apply(db, draft(GROUP, group, "Walk together twice a week", 30, ["Meet at the park"]),
          agree(GROUP, "client-1", 1, 30), agree(GROUP, "client-2", 1, 30),
          revise(GROUP, 20, "Walk for 30 minutes"), agree(GROUP, "client-1", 2, 19))

    pending = ok(db, "audit", "--unagreed")

    assert "client agreement to terms v2: pending (awaiting client-2)" in pending.stdout
    assert [e["agreement"]["agreed_parties"]
            for e in json_lines(ok(db, "audit", "--unagreed", "--json"))] == [["client-1"]]

    apply(db, agree(GROUP, "client-2", 2, 18))

    assert ok(db, "audit", "--unagreed").stdout == "No entries.\n"


def test_audit_unagreed_leaves_out_a_superseded_revision(db: str) -> None:
    apply(db, draft(REVISED, {"kind": "client", "id": "client-8"}, "Cook weekly", 30,
                    ["Plan a menu"]),
          agree(REVISED, "client-8", 1, 30), revise(REVISED, 20, "Shop for it"),
          revise(REVISED, 19, "Invite a friend"))

    entries = json_lines(ok(db, "audit", "--unagreed", "--json"))

    assert [(e["version"], e["agreement"]["agreement"]) for e in entries] == [(4, "pending")]
    first = json_lines(ok(db, "audit", "--event", "Revised", "--json"))[0]
    assert (first["agreement"]["agreement"], first["agreement"]["superseded_by"]) == \
        ("superseded", entries[0]["position"])


# -- goalflow reviews ------------------------------------------------------------


def worklist(db: str, *options: str, env: dict[str, str] | None = None
             ) -> list[tuple[str, str, str, bool]]:
    items = json_lines(ok(db, "reviews", "--json", *options, env=env))
    return [(i["goal_id"], i["due_on"], i["basis"], i["overdue"]) for i in items]


def test_reviews_lists_due_dates_oldest_first_with_their_basis(clinic: str) -> None:
    result = ok(clinic, "reviews", "--as-of", TODAY.isoformat())

    lines = result.stdout.splitlines()
    assert lines[0].split() == ["due", "goal", "subject", "status", "basis", "statement"]
    assert lines[1].split() == [(day(10)).isoformat(), "OVERDUE", ANXIETY, "client-7", "active",
                                "interval", "after", "agreement", "Manage", "anxiety",
                                "before", "work"]
    assert lines[2].split() == [(TODAY + timedelta(days=5)).isoformat(), SLEEP, "client-7",
                                "active", "set", "at", "last", "review", "Sleep", "seven",
                                "hours", "a", "night"]
    assert lines[3].split() == [(TODAY + timedelta(days=60)).isoformat(), WALKING, "client-8",
                                "on-hold", "interval", "after", "last", "review", "Walk", "to",
                                "the", "shops", "alone"]
    assert len(lines) == 4  # proposed and completed goals are not reviewed


def test_reviews_json_gives_each_goal_its_due_date_and_whether_it_is_overdue(
        clinic: str) -> None:
    items = json_lines(ok(clinic, "reviews", "--as-of", TODAY.isoformat(), "--json"))

    assert set(items[0]) == {"goal_id", "subject_kind", "subject_id", "status", "statement",
                             "activated_at", "last_review_at", "next_review_on", "due_on",
                             "basis", "overdue", "days_overdue"}
    anxiety, sleep, walking = items
    assert (anxiety["goal_id"], anxiety["activated_at"], anxiety["due_on"], anxiety["overdue"],
            anxiety["days_overdue"]) == (ANXIETY, at(100), day(10).isoformat(), True, 10)
    assert (sleep["next_review_on"], sleep["overdue"], sleep["days_overdue"]) == \
        ((TODAY + timedelta(days=5)).isoformat(), False, 0)
    assert (walking["status"], walking["last_review_at"]) == ("on-hold", at(30))


def test_reviews_overdue_shows_only_what_is_overdue_on_the_as_of_date(clinic: str) -> None:
    assert [g for g, *_ in worklist(clinic, "--overdue", "--as-of", TODAY.isoformat())] == \
        [ANXIETY]
    # On its due date a review is due, not overdue; the day after it is.
    sleep_due = TODAY + timedelta(days=5)
    assert [g for g, *_ in worklist(clinic, "--overdue", "--as-of", sleep_due.isoformat())] == \
        [ANXIETY]
    later = (sleep_due + timedelta(days=1)).isoformat()
    assert [g for g, *_ in worklist(clinic, "--overdue", "--as-of", later)] == [ANXIETY, SLEEP]
    text = ok(clinic, "reviews", "--overdue", "--as-of", later).stdout
    assert text.count("OVERDUE") == 2
    assert WALKING not in text


def test_reviews_overdue_says_so_when_nothing_is_overdue(clinic: str) -> None:
    result = ok(clinic, "reviews", "--overdue", "--as-of", day(20).isoformat())

    assert result.stdout == "No reviews due.\n"


def test_reviews_says_so_when_no_goal_is_active_or_on_hold(demo_store: str) -> None:
    assert ok(demo_store, "reviews").stdout == "No active or on-hold goals.\n"


def test_reviews_interval_changes_due_dates_without_a_rebuild(clinic: str) -> None:
    as_of = TODAY.isoformat()
    before = status(clinic)

    default = worklist(clinic, "--as-of", as_of)
    longer = worklist(clinic, "--as-of", as_of, "--interval", "120")
    from_env = worklist(clinic, "--as-of", as_of,
                        env={"GOALFLOW_REVIEW_INTERVAL_DAYS": "120"})

    assert default == [
        (ANXIETY, day(10).isoformat(), "interval after agreement", True),
        (SLEEP, (TODAY + timedelta(days=5)).isoformat(), "set at last review", False),
        (WALKING, (TODAY + timedelta(days=60)).isoformat(), "interval after last review", False),
    ]
    assert longer == [
        (SLEEP, (TODAY + timedelta(days=5)).isoformat(), "set at last review", False),
        (ANXIETY, (TODAY + timedelta(days=20)).isoformat(), "interval after agreement", False),
        (WALKING, (TODAY + timedelta(days=90)).isoformat(), "interval after last review", False),
    ]
    assert from_env == longer
    # The option wins over the environment.
    assert worklist(clinic, "--as-of", as_of, "--interval", "90",
                    env={"GOALFLOW_REVIEW_INTERVAL_DAYS": "120"}) == default
    assert status(clinic) == before  # nothing was rebuilt or moved


@pytest.mark.parametrize("value", ["tomorrow", "2026-02-30", "1/3/2026"])
def test_reviews_refuses_a_bad_as_of_date(clinic: str, value: str) -> None:
    result = run(clinic, "reviews", "--as-of", value)

    assert result.exit_code == 1
    assert result.stderr == f"Error: --as-of: {value!r} is not a date; use 2026-03-01\n"


def test_reviews_refuses_an_interval_below_one_day(clinic: str) -> None:
    result = run(clinic, "reviews", "--interval", "0")

    assert result.exit_code == 2
    assert "--interval" in result.stderr


# -- goalflow projections --------------------------------------------------------


def test_projections_status_shows_each_read_model_caught_up(demo_store: str) -> None:
    result = ok(demo_store, "projections", "status")

    assert [line.split() for line in result.stdout.splitlines()] == [
        ["projection", "mode", "position", "head", "lag", "state"],
        ["audit", "inline", "15", "15", "0", "ready"],
        ["outcomes", "inline", "15", "15", "0", "ready"],
        ["plans", "inline", "15", "15", "0", "ready"],
        ["reviews", "inline", "15", "15", "0", "ready"],
    ]


def test_projections_status_json(demo_store: str) -> None:
    rows = json_lines(ok(demo_store, "projections", "status", "--json"))

    assert rows == [
        {"name": name, "mode": "inline", "generation": 1, "position": 15, "head": 15,
         "lag": 0, "state": "ready"}
        for name in ("audit", "outcomes", "plans", "reviews")
    ]


def test_a_worker_mode_projection_waits_for_its_worker_and_inline_catches_up(
        demo_store: str) -> None:
    result = ok(demo_store, "projections", "mode", "plans", "worker")
    assert result.stdout == "plans now runs worker\n"
    draft_new = draft(ANXIETY, {"kind": "client", "id": "client-7"}, "Sleep better", 5,
                      ["Keep a sleep diary"])

    apply(demo_store, draft_new)

    now = status(demo_store)
    assert (now["plans"]["mode"], now["plans"]["position"], now["plans"]["lag"]) == \
        ("worker", 15, 1)
    assert (now["audit"]["mode"], now["audit"]["lag"], now["reviews"]["lag"]) == ("inline", 0, 0)
    assert ok(demo_store, "plan", "client-7").stdout == "No open goals for client-7.\n"
    assert ANXIETY in ok(demo_store, "audit", ANXIETY).stdout

    assert ok(demo_store, "projections", "mode", "plans", "inline").stdout == \
        "plans now runs inline\n"
    apply(demo_store, {"command": "agree", "goal_id": ANXIETY, "by": client("client-7"),
                       "terms_version": 1, "method": "portal", "occurred_at": at(4)})

    assert status(demo_store)["plans"]["lag"] == 0
    assert ok(demo_store, "plan", "client-7").stdout.startswith(f"{ANXIETY}  active  terms v1")


def test_projections_mode_names_the_installed_read_models_for_an_unknown_one(
        demo_store: str) -> None:
    result = run(demo_store, "projections", "mode", "plan", "worker")

    assert result.exit_code == 1
    assert result.stderr == f"Error: no projection named 'plan' {INSTALLED}\n"
    assert {row["mode"] for row in status(demo_store).values()} == {"inline"}


def test_projections_mode_refuses_an_unknown_mode(demo_store: str) -> None:
    result = run(demo_store, "projections", "mode", "plans", "batch")

    assert result.exit_code == 2
    assert "'batch' is not one of 'inline', 'worker'" in result.stderr


def test_projections_rebuild_gives_identical_results(clinic: str) -> None:
    before = read_models(clinic)

    result = ok(clinic, "projections", "rebuild")

    head = status(clinic)["audit"]["head"]
    assert result.stdout.splitlines() == [f"rebuilt {name} from {head} events"
                                          for name in ("audit", "outcomes", "plans", "reviews")]
    assert read_models(clinic) == before
    assert [(r["generation"], r["position"], r["lag"], r["state"])
            for r in status(clinic).values()] == [(2, head, 0, "ready")] * 4


def test_projections_rebuild_of_named_read_models_leaves_the_others(clinic: str) -> None:
    result = ok(clinic, "projections", "rebuild", "reviews")

    assert result.stdout == f"rebuilt reviews from {status(clinic)['audit']['head']} events\n"
    assert {name: row["generation"] for name, row in status(clinic).items()} == \
        {"audit": 1, "outcomes": 1, "plans": 1, "reviews": 2}


def test_projections_rebuild_refuses_an_unknown_name_before_rebuilding_anything(
        clinic: str) -> None:
    result = run(clinic, "projections", "rebuild", "plans", "reveiws")

    assert result.exit_code == 1
    assert result.stderr == f"Error: no projection named 'reveiws' {INSTALLED}\n"
    assert result.stdout == ""
    assert {row["generation"] for row in status(clinic).values()} == {1}


class Interrupted(Exception):
    pass


@pytest.fixture
def interrupted_rebuild(clinic: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The clinic with a rebuild of plans stopped after its first batch of 5 events."""
    monkeypatch.setattr("goalflow.projection.BATCH_SIZE", 5)
    monkeypatch.setattr("goalflow.projection.REBUILD_BATCH_SIZE", 5)

    def stop(done: int, total: int) -> None:
        raise Interrupted

    goals = goalflow.open(clinic)
    try:
        with pytest.raises(Interrupted):
            goals.projections.rebuild("plans", progress=stop)
    finally:
        goals.close()
    return clinic


def test_readers_see_the_old_tables_while_a_rebuild_is_interrupted(
        clinic: str, request: pytest.FixtureRequest) -> None:
    before = read_models(clinic)
    request.getfixturevalue("interrupted_rebuild")

    plans = status(clinic)["plans"]
    head = plans["head"]
    assert (plans["generation"], plans["state"]) == (1, f"rebuilding (5/{head})")
    assert read_models(clinic) == before


def test_an_interrupted_rebuild_resumes_and_takes_in_writes_made_meanwhile(
        interrupted_rebuild: str) -> None:
    db = interrupted_rebuild
    apply(db, {"command": "complete_step", "goal_id": ANXIETY, "by": client("client-7"),
               "step_id": "s2", "occurred_at": at(2)})
    before = read_models(db)
    assert "[x] s2 10 minutes of yoga daily" in ok(db, "plan", "client-7").stdout

    result = ok(db, "projections", "rebuild", "plans")

    head = status(db)["plans"]["head"]
    assert result.stdout == f"rebuilt plans from {head} events\n"
    assert (status(db)["plans"]["generation"], status(db)["plans"]["state"]) == (2, "ready")
    assert read_models(db) == before


def test_rebuild_restart_discards_an_interrupted_rebuild(interrupted_rebuild: str) -> None:
    db = interrupted_rebuild
    before = read_models(db)

    result = ok(db, "projections", "rebuild", "plans", "--restart")

    assert result.stdout == f"rebuilt plans from {status(db)['plans']['head']} events\n"
    plans = status(db)["plans"]
    assert (plans["generation"], plans["lag"], plans["state"]) == (3, 0, "ready")
    assert read_models(db) == before


def test_projections_run_refuses_when_no_read_model_is_in_worker_mode(demo_store: str) -> None:
    result = run(demo_store, "projections", "run", "--poll", "0.05")

    assert result.exit_code == 1
    assert result.stderr == ("Error: no projection is in worker mode; set one with goalflow"
                             " projections mode NAME worker\n")


def test_projections_run_names_the_installed_read_models_for_an_unknown_one(
        demo_store: str) -> None:
    ok(demo_store, "projections", "mode", "plans", "worker")

    result = run(demo_store, "projections", "run", "plan", "--poll", "0.05")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: no projection named 'plan' {INSTALLED}"


def test_projections_run_refuses_an_inline_read_model(demo_store: str) -> None:
    ok(demo_store, "projections", "mode", "plans", "worker")

    result = run(demo_store, "projections", "run", "audit", "--poll", "0.05")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: projection audit runs inline; set it to worker mode first"
        " (goalflow projections mode audit worker)")


def _default_sigint() -> None:
    # As in a terminal: a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_worker(url: str, poll: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "goalflow", "--db", url, "projections", "run", "--poll", poll],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint)


@pytest.fixture
def workers() -> Iterator[Callable[[str, str], subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(url: str, poll: str) -> subprocess.Popen[str]:
        started.append(start_worker(url, poll))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_until(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str],
               timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the worker ended (exit {proc.returncode}) before {what}:"
                        f" {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.1)


def caught_up(url: str, head: int) -> Callable[[], bool]:
    def check() -> bool:
        plans = status(url)["plans"]
        return bool(plans["head"] >= head and plans["lag"] == 0)

    return check


def stop(proc: subprocess.Popen[str], signum: int = signal.SIGINT) -> str:
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.endswith("stopped\n")
    return stderr


def complete_s2(url: str) -> None:
    apply(url, {"command": "complete_step", "goal_id": ANXIETY, "by": client("client-7"),
                "step_id": "s2", "occurred_at": at(1)})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_worker_applies_commands_as_they_come_and_stops_cleanly(
        clinic: str, workers: Callable[[str, str], subprocess.Popen[str]], signum: int) -> None:
    ok(clinic, "projections", "mode", "plans", "worker")
    head = status(clinic)["plans"]["head"]
    proc = workers(clinic, "0.2")

    complete_s2(clinic)
    assert status(clinic)["plans"]["head"] == head + 1
    wait_until(caught_up(clinic, head + 1), "catch-up of the plans", proc)

    assert "  [x] s2 10 minutes of yoga daily" in ok(clinic, "plan", "client-7").stdout
    stderr = stop(proc, signum)
    assert stderr.startswith("following the log for plans (Ctrl-C stops)\n")
    assert "plans: applied 1 events\n" in stderr


@pytest.mark.postgres
def test_a_worker_on_postgresql_is_woken_by_notify_and_stops_cleanly_on_ctrl_c(
        postgres_url: str, postgres_server: str,
        workers: Callable[[str, str], subprocess.Popen[str]]) -> None:
    import psycopg

    apply(postgres_url, *clinic_commands())
    ok(postgres_url, "projections", "mode", "plans", "worker")
    head = status(postgres_url)["plans"]["head"]

    def listeners() -> int:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity"
                               " WHERE query LIKE 'LISTEN %'").fetchone()
        return int(row[0]) if row else 0

    already = listeners()
    # It polls only every 60 s, so catching up within 15 s shows a NOTIFY woke it.
    proc = workers(postgres_url, "60")
    wait_until(lambda: listeners() > already, "LISTEN from the worker", proc)

    complete_s2(postgres_url)
    wait_until(caught_up(postgres_url, head + 1), "catch-up of the plans", proc)

    assert "  [x] s2 10 minutes of yoga daily" in ok(postgres_url, "plan", "client-7").stdout
    stderr = stop(proc)
    assert "plans: applied 1 events\n" in stderr


@pytest.mark.postgres
def test_plan_and_reviews_work_on_postgresql(postgres_url: str) -> None:
    apply(postgres_url, *clinic_commands())

    goals = json_lines(ok(postgres_url, "plan", "client-7", "--json"))
    assert [(g["goal_id"], g["group_goal"]) for g in goals] == \
        [(ANXIETY, False), (GROUP, True), (SLEEP, False)]
    assert goals[0]["measures"][0]["latest"] == 11
    assert goals[0]["steps"][0]["completed_at"] == at(90)
    assert worklist(postgres_url, "--as-of", TODAY.isoformat()) == [
        (ANXIETY, day(10).isoformat(), "interval after agreement", True),
        (SLEEP, (TODAY + timedelta(days=5)).isoformat(), "set at last review", False),
        (WALKING, (TODAY + timedelta(days=60)).isoformat(), "interval after last review", False),
    ]
    assert [(e["goal_id"], e["event_type"]) for e in json_lines(ok(
        postgres_url, "audit", "--late", "--days", "99", "--json"))] \
        == [(ANXIETY, "Drafted"), (ANXIETY, "AgreedByClient")]


@pytest.mark.postgres
def test_the_demo_audit_trail_on_postgresql_shows_each_revision(postgres_url: str) -> None:
    demo_scenario.run(postgres_url, TODAY).close()

    text = run(postgres_url, "audit", DEMO_GOAL)
    entries = run(postgres_url, "audit", "--event", "Revised", "--json")

    assert text.exit_code == 0, text.output
    assert "       step removed s2: Meditate for 10 minutes daily\n" in text.stdout
    assert "client-7 agreed to terms v3 (verbal, witnessed by dr-okafor)" in text.stdout
    assert entries.exit_code == 0, entries.output
    assert [e["changes"] for e in json_lines(entries)][1] == [
        {"change": "step removed", "field": "steps", "step_id": "s2",
         "before": "Meditate for 10 minutes daily", "after": None},
        {"change": "step added", "field": "steps", "step_id": "s5", "before": None,
         "after": "Progressive muscle relaxation for 10 minutes daily"},
    ]


# -- inspection never writes -----------------------------------------------------


INSPECTIONS = [
    ["plan", "client-7"],
    ["plan", "client-7", "--all", "--json"],
    ["audit"],
    ["audit", DEMO_GOAL, "--late", "--json"],
    ["audit", "--unagreed"],
    ["reviews"],
    ["reviews", "--overdue", "--json"],
    ["projections", "status"],
    ["projections", "status", "--json"],
    ["show", DEMO_GOAL],
]


@pytest.mark.parametrize("args", INSPECTIONS, ids=" ".join)
def test_inspection_leaves_the_database_file_byte_identical(demo_file: Path,
                                                            args: list[str]) -> None:
    before = demo_file.read_bytes()

    ok(f"sqlite:///{demo_file}", *args)

    assert demo_file.read_bytes() == before


@pytest.fixture
def store_without_reviews(demo_file: Path) -> Path:
    """The demo store as an older goalflow left it: without the reviews read model."""
    conn = sqlite3.connect(demo_file)
    try:
        conn.execute("DROP VIEW gf_review_schedule")
        conn.execute("DROP TABLE gf_review_schedule__g1")
        conn.execute("DELETE FROM goalflow_projections WHERE name = 'reviews'")
        conn.commit()
    finally:
        conn.close()
    return demo_file


@pytest.mark.parametrize("args", [a for a in INSPECTIONS if a[0] != "reviews"], ids=" ".join)
def test_inspection_does_not_install_a_missing_read_model(store_without_reviews: Path,
                                                          args: list[str]) -> None:
    before = store_without_reviews.read_bytes()

    ok(f"sqlite:///{store_without_reviews}", *args)

    assert store_without_reviews.read_bytes() == before


def test_reviews_on_a_store_without_that_read_model_says_how_to_install_it(
        store_without_reviews: Path) -> None:
    url = f"sqlite:///{store_without_reviews}"
    before = store_without_reviews.read_bytes()

    result = run(url, "reviews")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the reviews read model is not in store ")
    assert result.stderr.endswith("; open the store for writing once to install it\n")
    assert store_without_reviews.read_bytes() == before
    assert status(url)["reviews"]["state"] == "not installed"


@pytest.mark.parametrize("args", [
    ["plan", "client-7"], ["audit"], ["reviews"], ["projections", "status"], ["show", DEMO_GOAL],
], ids=" ".join)
def test_inspection_never_creates_a_missing_store(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "nowhere.db"

    result = run(f"sqlite:///{missing}", *args)

    assert result.exit_code == 1
    assert result.stderr == f"Error: no goalflow store at {missing}\n"
    assert list(tmp_path.iterdir()) == []


def test_inspection_of_a_store_in_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "goals.db"

    result = run(f"sqlite:///{missing}", "projections", "status")

    assert result.exit_code == 1
    assert str(missing) in result.stderr
    assert list(tmp_path.iterdir()) == []

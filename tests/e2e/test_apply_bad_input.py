"""Bad input through ``goalflow apply`` (issue 5, item 4): one clear error, nothing half done.

A bad line stops the run with exit code 1 and exactly one ``Error: line N: ...`` on stderr
that names the problem (never a traceback, never the catch-all ``unexpected ...`` that
marks a bug). The lines before it stay applied, nothing of the bad line is recorded, and
the store takes the corrected file afterwards. Most cases run in-process (click's
CliRunner, on a SQLite file); a few run the installed ``goalflow`` executable, and a few
run on PostgreSQL too. A hypothesis test feeds arbitrary JSON and arbitrary bytes.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import goalflow
from goalflow.application import _PARAMETERS, COMMANDS
from goalflow.cli import cli
from goalflow.domain.values import MAX_ID_LENGTH, MAX_LINE_LENGTH, MAX_TEXT_LENGTH
from goalflow.persistence.recorders import COMMANDS_TABLE

GOAL_ID = "0b6a2f4e-8c1d-4f5e-9a7b-3c2d1e0f9a8b"
UNKNOWN_GOAL = "9b2e7c1a-0000-4000-8000-00000000dead"
CLINICIAN = {"id": "dr-okafor", "role": "clinician"}
CLIENT = {"id": "client-7", "role": "client"}
MAX_ERROR_LENGTH = 2_000  # an error names the problem; it does not echo megabytes back


def line(data: object) -> bytes:
    return json.dumps(data).encode() + b"\n"


def draft(**extra: object) -> dict[str, Any]:
    return {
        "command": "draft", "goal_id": GOAL_ID, "by": CLINICIAN,
        "subject": {"kind": "client", "id": "client-7"},
        "statement": "Use relaxation to manage anxiety before work",
        "client_words": "I want to stop panicking",
        "addresses": ["generalised anxiety disorder"],
        "measures": [{"name": "GAD-7", "baseline": 15, "target": 7}],
        "steps": ["Learn two breathing exercises", "10 minutes of yoga daily"],
        "target_date": (date.today() + timedelta(days=30)).isoformat(),
        "command_id": "ehr-1", **extra,
    }


def agree(**extra: object) -> dict[str, Any]:
    """Agreement to terms version 1; with changes, under a command id of its own."""
    command_id = "ehr-agree-again" if extra else "ehr-2"
    return {"command": "agree", "goal_id": GOAL_ID, "by": CLIENT, "terms_version": 1,
            "method": "signature", "command_id": command_id, **extra}


def step(step_id: str = "s1", **extra: object) -> dict[str, Any]:
    return {"command": "complete_step", "goal_id": GOAL_ID, "by": CLIENT,
            "step_id": step_id, "command_id": f"ehr-step-{step_id}", **extra}


def hold(**extra: object) -> dict[str, Any]:
    return {"command": "hold", "goal_id": GOAL_ID, "by": CLINICIAN,
            "reason": "Client in hospital", "command_id": "ehr-hold", **extra}


PREFIX = line(draft()) + line(agree())  # lines 1 and 2: a goal, active at version 2
SUFFIX = line(step())  # the line after the bad one, which must never run


# -- running it and looking at the store -----------------------------------------------------


def run(url: str, data: bytes) -> Result:
    return CliRunner().invoke(cli, ["--db", url, "apply", "-"], input=data)


def recorded(url: str) -> tuple[int, int]:
    """(events, command records) in the store."""
    goals = goalflow.open(url)
    try:
        with goals.store.recorder.transaction(commit=False) as tx:
            events = tx.execute(
                f"SELECT COUNT(*) FROM {tx.table(goals.store.events_table)}").fetchone()
            commands = tx.execute(f"SELECT COUNT(*) FROM {tx.table(COMMANDS_TABLE)}"
                                  ).fetchone()
    finally:
        goals.close()
    assert events is not None
    assert commands is not None
    return int(events[0]), int(commands[0])


def error_line(stderr: str, stdout: str, number: int) -> str:
    """The one ``Error: line N: ...`` the run printed, after checking it is the only one."""
    lines = stderr.splitlines()
    errors = [text for text in lines if text.startswith("Error:")]
    assert len(errors) == 1, stderr[:MAX_ERROR_LENGTH]
    assert all(text.startswith(("Error:", "Warning:")) for text in lines), stderr[:2000]
    error = errors[0]
    assert error.startswith(f"Error: line {number}: "), error[:MAX_ERROR_LENGTH]
    assert "Traceback" not in stderr
    assert "Traceback" not in stdout
    assert "--debug for the traceback" not in error, error[:MAX_ERROR_LENGTH]  # a bug
    assert len(error) <= MAX_ERROR_LENGTH, f"{len(error)} characters: {error[:200]}..."
    assert not any(c < " " or "\x7f" <= c <= "\x9f" for c in error), repr(error[:200])
    return error


def refused(result: Result, number: int) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output[:2000])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    return error_line(result.stderr, result.stdout, number)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goals.db'}"


# -- the corpus -------------------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def big(text: str) -> str:
    return text * (TEN_MB // len(text))


BAD_LINES = [
    # Raw bytes and broken JSON.
    pytest.param(b"{not json\n", ["not valid JSON"], id="not-json"),
    pytest.param(line(step())[:40] + b"\n", ["not valid JSON"], id="truncated-line"),
    pytest.param(b'{"command": "complete_step", "step_id": "caf\xe9"}\n', ["UTF-8"],
                 id="invalid-utf8-latin1"),
    pytest.param(b'{"command": "hold", "reason": "\xc0\xaf"}\n', ["UTF-8"],
                 id="invalid-utf8-overlong"),
    pytest.param(b'{"command": "hold", "reason": "\xed\xa0\x80"}\n', ["UTF-8"],
                 id="invalid-utf8-encoded-surrogate"),
    pytest.param(b'{"command": "hold", "reason": "\xe2\x82"}\n', ["UTF-8"],
                 id="invalid-utf8-cut-sequence"),
    pytest.param(b'\xff\xfe{\x00"\x00}\x00\n', ["UTF-8"], id="utf16-line"),
    pytest.param(b"\x00\n", ["not valid JSON"], id="nul-byte"),
    pytest.param(b'{"command": "hold", "reason": "a\x00b"}\n', ["not valid JSON"],
                 id="nul-byte-inside-a-string"),
    pytest.param(b"\xef\xbb\xbf" + line(step()), ["BOM"], id="bom-mid-file"),
    pytest.param(b"[1, 2]\n", ["JSON object", "list"], id="json-array"),
    pytest.param(b'"complete_step"\n', ["JSON object", "string"], id="json-string"),
    pytest.param(b"42\n", ["JSON object", "number"], id="json-number"),
    pytest.param(b"null\n", ["JSON object", "null"], id="json-null"),
    pytest.param(line(step()).rstrip() + b" " + line(step("s2")), ["not valid JSON"],
                 id="two-objects-on-one-line"),
    pytest.param(b"[" * 100_000 + b"\n", ["not valid JSON"], id="deeply-nested"),
    # Deep enough for the standard library (read again for its 20-digit number) to give up.
    pytest.param(b'{"command": "draft", "x": ' + b"[" * 1_000 + b"12345678901234567890"
                 + b"]" * 1_000 + b"}\n", ["not valid JSON", "recursion"],
                 id="deeply-nested-with-a-long-number"),
    pytest.param(line(step())[:-2] + b', "x": NaN}\n', ["not valid JSON"], id="nan-literal"),
    pytest.param(b'{"command": "record_progress", "goal_id": "' + GOAL_ID.encode()
                 + b'", "by": {"id": "client-7", "role": "client"}, "measure": "GAD-7",'
                 b' "value": 1e400}\n', ["not valid JSON"], id="number-overflowing-to-infinity"),
    # (Ten-megabyte lines are made when the test runs, not held from collection on.)
    pytest.param(lambda: b" " * TEN_MB + b"{\n", ["not valid JSON"],
                 id="ten-megabytes-of-space"),
    pytest.param(lambda: b"x" * TEN_MB + b"\n", ["not valid JSON"],
                 id="ten-megabytes-of-junk"),
    pytest.param(lambda: line(hold(reason=big("x"))), ["reason", str(MAX_TEXT_LENGTH)],
                 id="ten-megabyte-reason"),
    pytest.param(lambda: line({"command": big("meditate")}), ["unknown command"],
                 id="ten-megabyte-command-name"),
    pytest.param(lambda: line(hold(goal_id=big("0b6a2f4e"))), ["goal_id"],
                 id="ten-megabyte-goal-id"),
    pytest.param(lambda: line(step(big("s"), command_id="ehr-9")), ["step"],
                 id="ten-megabyte-step-id"),
    pytest.param(lambda: line({**hold(), big("x"): 1}), ["has no argument"],
                 id="ten-megabyte-field-name"),
    # Commands and fields.
    pytest.param(line({"goal_id": GOAL_ID, "by": CLINICIAN}), ["command"],
                 id="missing-command"),
    pytest.param(line({**hold(), "command": "meditate"}), ["meditate"], id="unknown-command"),
    pytest.param(line({**hold(), "command": ["hold"]}), ["command"], id="command-a-list"),
    pytest.param(line(hold(mood="good")), ["mood"], id="unknown-field"),
    pytest.param(line(hold(recorded_at="2026-01-01T00:00:00+00:00")), ["recorded_at"],
                 id="recorded-at-is-not-a-field"),
    pytest.param(line(hold(by={**CLINICIAN, "email": "x@y"})), ["by", "email"],
                 id="unknown-field-in-by"),
    pytest.param(line(hold(subject={"kind": "client", "id": "c"})), ["subject"],
                 id="field-of-another-command"),
    # Who.
    pytest.param(line({k: v for k, v in hold().items() if k != "by"}), ["by"],
                 id="missing-actor"),
    pytest.param(line(hold(by=None)), ["by"], id="actor-null"),
    pytest.param(line(hold(by="dr-okafor")), ["by"], id="actor-a-string"),
    pytest.param(line(hold(by={"id": "dr-okafor"})), ["by", "role"], id="actor-without-role"),
    pytest.param(line(hold(by={"id": "dr-okafor", "role": "nurse"})), ["by.role", "nurse"],
                 id="unknown-role"),
    pytest.param(line(hold(by=CLIENT)), ["client-7", "hold", "clinician"], id="wrong-role"),
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "measure": "GAD-7",
                       "value": 3, "by": {"id": "mum", "role": "guardian",
                                          "on_behalf_of": "client-8"}}),
                 ["mum", "record_progress"], id="guardian-of-another-client"),
    pytest.param(line(agree(method="verbal", witnessed_by={"id": "dr\u0001", "role":
                 "clinician"})), ["witnessed_by"], id="control-character-in-witness-id"),
    pytest.param(line(agree(method="verbal", witnessed_by={"id": "d" * (MAX_ID_LENGTH + 1),
                 "role": "clinician"})), ["witnessed_by"], id="witness-id-over-limit"),
    # Which goal, which step.
    pytest.param(line(hold(goal_id=UNKNOWN_GOAL)), [UNKNOWN_GOAL, "not found"],
                 id="unknown-goal"),
    pytest.param(line(hold(goal_id="not-a-goal")), ["goal_id", "not-a-goal"],
                 id="goal-id-not-a-uuid"),
    pytest.param(line(hold(goal_id=42)), ["goal_id"], id="goal-id-a-number"),
    pytest.param(line({k: v for k, v in hold().items() if k != "goal_id"}), ["goal_id"],
                 id="missing-goal-id"),
    pytest.param(line(step("s9")), ["s9", GOAL_ID], id="unknown-step"),
    pytest.param(line(step(7)), ["step", "7"], id="step-id-a-number"),
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT,
                       "measure": "PHQ-9", "value": 3}), ["PHQ-9"], id="unknown-measure"),
    pytest.param(line(draft(command_id="ehr-9")), [GOAL_ID, "already exists"],
                 id="draft-over-an-existing-goal"),
    pytest.param(line(draft(statement="Another statement")), ["ehr-1", "different command"],
                 id="command-id-reused"),
    # Wrong types.
    pytest.param(line(hold(reason=5)), ["reason"], id="reason-a-number"),
    pytest.param(line(hold(reason="  ")), ["reason"], id="reason-blank"),
    pytest.param(line(hold(command_id=5)), ["command_id"], id="command-id-a-number"),
    pytest.param(line(hold(expected_version="2")), ["expected_version"],
                 id="expected-version-a-string"),
    pytest.param(line(hold(expected_version=1.5)), ["expected_version"],
                 id="expected-version-a-fraction"),
    pytest.param(line(hold(expected_version=0)), ["expected_version"],
                 id="expected-version-zero"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", steps="Breathe")), ["steps"],
                 id="steps-a-string"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", steps={"Breathe": 1})),
                 ["steps"], id="steps-an-object"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", measures={"name": "GAD-7"})),
                 ["measures"], id="measures-an-object"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", measures=[{"name": "GAD-7",
                 "baseline": "15"}])), ["baseline"], id="baseline-a-string"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", measures=[{"title": "x"}])),
                 ["measures", "title"], id="unknown-field-in-a-measure"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", subject={"kind": "group",
                 "id": "g", "members": "abc"})), ["subject.members"],
                 id="members-a-string"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", subject="client-7")),
                 ["subject"], id="subject-a-string"),
    pytest.param(line(agree(terms_version="1")), ["terms_version"],
                 id="terms-version-a-string"),
    pytest.param(line(agree(terms_version=True)), ["terms_version"], id="terms-version-true"),
    pytest.param(line(agree(method="telepathy")), ["method", "telepathy"],
                 id="unknown-agreement-method"),
    pytest.param(line({**step(), "command": "record_progress", "step_id": None}),
                 ["step_id"], id="null-field-of-another-command"),
    # Numbers.
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT,
                       "measure": "GAD-7", "value": "NaN"}), ["value"], id="nan-as-a-string"),
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT,
                       "measure": "GAD-7", "value": 2**64 - 1}), ["value"],
                 id="value-just-past-64-bits"),
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT,
                       "measure": "GAD-7", "value": 2**64}), ["value"],
                 id="value-past-64-bits-that-json-parsers-turn-into-a-float"),
    pytest.param(line({"command": "record_progress", "goal_id": GOAL_ID, "by": CLIENT,
                       "measure": "GAD-7", "value": 10**400}), ["number"],
                 id="value-a-400-digit-integer"),
    # Dates and times.
    pytest.param(line(hold(occurred_at="2026-03-01T09:30:00")), ["occurred_at",
                 "UTC offset"], id="occurred-at-naive"),
    pytest.param(line(hold(occurred_at="yesterday")), ["occurred_at", "yesterday"],
                 id="occurred-at-not-a-datetime"),
    pytest.param(line(hold(occurred_at=1700000000)), ["occurred_at"],
                 id="occurred-at-a-number"),
    pytest.param(line(hold(occurred_at="2026-03-01T09:30:00+24:00")), ["occurred_at"],
                 id="occurred-at-offset-out-of-range"),
    pytest.param(line(hold(occurred_at="0000-01-01T00:00:00+00:00")), ["occurred_at"],
                 id="occurred-at-year-0"),
    pytest.param(line(hold(occurred_at="10000-01-01T00:00:00+00:00")), ["occurred_at"],
                 id="occurred-at-year-10000"),
    pytest.param(line(hold(occurred_at="9999-12-31T23:00:00-05:00")), ["occurred_at",
                 "out of range"], id="occurred-at-year-9999-west-of-utc"),
    pytest.param(line(hold(occurred_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())),
                 ["occurred_at", "future"], id="occurred-at-in-the-future"),
    pytest.param(line(hold(occurred_at="2001-01-01T00:00:00+00:00")), ["occurred_at",
                 "before"], id="occurred-at-before-the-draft"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9",
                            occurred_at="0001-01-01T00:00:00+05:00")), ["occurred_at"],
                 id="draft-occurred-at-year-1-east-of-utc"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", target_date="2026-02-30")),
                 ["target_date", "2026-02-30"], id="target-date-not-a-day"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", target_date="10000-01-01")),
                 ["target_date"], id="target-date-year-10000"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", target_date=20260301)),
                 ["target_date"], id="target-date-a-number"),
    # Limits.
    pytest.param(line(hold(reason="x" * (MAX_TEXT_LENGTH + 1))), ["reason",
                 str(MAX_TEXT_LENGTH)], id="reason-over-limit"),
    pytest.param(line(hold(by={"id": "d" * (MAX_ID_LENGTH + 1), "role": "clinician"})),
                 ["by.id", str(MAX_ID_LENGTH)], id="actor-id-over-limit"),
    pytest.param(line(hold(command_id="c" * (MAX_ID_LENGTH + 1))), ["command_id"],
                 id="command-id-over-limit"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", addresses=[
                 "a" * (MAX_LINE_LENGTH + 1)])), ["addresses", str(MAX_LINE_LENGTH)],
                 id="address-over-limit"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9", steps=["s"] * 101)),
                 ["steps", "100"], id="too-many-steps"),
    # Control characters (as JSON escapes: raw ones are not JSON at all).
    pytest.param(line(hold(reason="\u001b[2J\u001b[31mred")), ["reason", "control"],
                 id="escape-sequence-in-reason"),
    pytest.param(line(hold(reason="a\u0000b")), ["reason", "control"], id="nul-in-reason"),
    pytest.param(line(hold(reason="done\r\n")), ["reason", "control"],
                 id="carriage-return-in-reason"),
    pytest.param(line(hold(reason="\u009b31m")), ["reason", "control"], id="c1-csi-in-reason"),
    pytest.param(line(hold(by={"id": "dr\u0007", "role": "clinician"})), ["by.id"],
                 id="bell-in-actor-id"),
    pytest.param(b'{"command": "hold", "goal_id": "' + GOAL_ID.encode() + b'", "by": '
                 b'{"id": "dr-okafor", "role": "clinician"}, "reason": "\\ud800"}\n',
                 ["not valid JSON"], id="lone-surrogate-escape"),
    pytest.param(line(hold(command_id="ehr\u0000")), ["command_id"], id="nul-in-command-id"),
]


@pytest.mark.parametrize(("bad", "names"), BAD_LINES)
def test_a_bad_line_is_refused_by_name_and_nothing_of_it_is_recorded(
        db: str, bad: bytes | Callable[[], bytes], names: list[str]) -> None:
    result = run(db, PREFIX + (bad if isinstance(bad, bytes) else bad()) + SUFFIX)

    error = refused(result, 3)
    for name in names:
        assert name in error, error[:MAX_ERROR_LENGTH]
    results = [json.loads(text) for text in result.stdout.splitlines()]
    assert [(r["line"], r["event"]) for r in results] == [(1, "Drafted"),
                                                          (2, "AgreedByClient")]
    assert recorded(db) == (2, 2)  # lines 1 and 2 only: nothing of line 3, line 4 never ran
    # The store takes the corrected file: lines 1 and 2 replay, the next one applies.
    fixed = run(db, PREFIX + SUFFIX)
    assert fixed.exit_code == 0, fixed.output[:2000]
    assert [json.loads(text)["replayed"] for text in fixed.stdout.splitlines()] == [
        True, True, False]
    assert recorded(db) == (3, 3)


def test_a_truncated_last_line_without_newline_is_refused(db: str) -> None:
    result = run(db, PREFIX + line(step())[:-20])

    error = refused(result, 3)
    assert "not valid JSON" in error
    assert recorded(db) == (2, 2)
    assert run(db, PREFIX + line(step())[:-1]).exit_code == 0  # complete, just no newline
    assert recorded(db) == (3, 3)


@pytest.mark.parametrize("data", [
    pytest.param(b"\n" + PREFIX + b"\n\n" + SUFFIX, id="empty-lines"),
    pytest.param(b"   \t \n" + PREFIX + b"\t\n" + SUFFIX + b"  \n", id="blank-lines"),
    pytest.param(PREFIX.replace(b"\n", b"\r\n") + SUFFIX.replace(b"\n", b"\r\n"), id="crlf"),
])
def test_empty_and_blank_lines_are_skipped(db: str, data: bytes) -> None:
    result = run(db, data)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert [json.loads(text)["event"] for text in result.stdout.splitlines()] == [
        "Drafted", "AgreedByClient", "StepCompleted"]
    assert recorded(db) == (3, 3)


def test_a_byte_order_mark_at_the_start_is_named(db: str) -> None:
    result = run(db, b"\xef\xbb\xbf" + PREFIX)

    if result.exit_code == 0:  # skipping it would do as well as naming it
        assert recorded(db) == (2, 2)
        return
    error = refused(result, 1)
    assert "BOM" in error or "byte order mark" in error
    assert recorded(db) == (0, 0)


def test_an_empty_input_applies_nothing(db: str) -> None:
    result = run(db, b"")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert recorded(db) == (0, 0)


SQL_TEXTS = [
    "'); DROP TABLE stored_events; --",
    "'); DROP TABLE goalflow_events CASCADE; --",
    "x' OR '1'='1",
    "%s %(reason)s ? $1 {gf_plan_goals}",
]


@pytest.mark.parametrize("text", SQL_TEXTS)
def test_sql_in_text_is_applied_as_text(store_url: str, text: str) -> None:
    person = {"id": text, "role": "clinician"}
    data = (line(draft(by=person, statement=text, client_words=text, steps=[text],
                       command_id=text))
            + line(agree()) + line(hold(by=person, reason=text)))

    result = run(store_url, data)

    assert result.exit_code == 0, result.output
    assert recorded(store_url) == (3, 3)
    goals = goalflow.open(store_url)
    try:
        goal = goals.get(GOAL_ID)
        assert (goal.statement, goal.client_words, goal.status_reason) == (text, text, text)
        assert goal.drafted_by.id == text
        assert goal.steps[0].description == text
        assert goals.audit(GOAL_ID, actor=text)[-1].reason == text
    finally:
        goals.close()
    shown = CliRunner().invoke(cli, ["--db", store_url, "show", GOAL_ID, "--json"])
    assert json.loads(shown.stdout)["statement"] == text
    assert run(store_url, data).exit_code == 0  # a re-run replays every line
    assert recorded(store_url) == (3, 3)


@pytest.mark.parametrize(("bad", "names"), [
    pytest.param(b"{not json\n", ["not valid JSON"], id="not-json"),
    pytest.param(line(hold(goal_id=UNKNOWN_GOAL)), [UNKNOWN_GOAL], id="unknown-goal"),
    pytest.param(line(hold(by=CLIENT)), ["client-7", "hold"], id="wrong-role"),
    pytest.param(line(draft(goal_id=None, command_id="ehr-9",
                            occurred_at="0001-01-01T00:00:00+05:00")), ["occurred_at"],
                 id="draft-occurred-at-year-1-east-of-utc"),
    pytest.param(line(hold(reason="x" * (MAX_TEXT_LENGTH + 1))), ["reason"],
                 id="reason-over-limit"),
])
def test_a_bad_line_on_either_store(store_url: str, bad: bytes, names: list[str]) -> None:
    result = run(store_url, PREFIX + bad + SUFFIX)

    error = refused(result, 3)
    for name in names:
        assert name in error
    assert recorded(store_url) == (2, 2)
    assert run(store_url, PREFIX + SUFFIX).exit_code == 0
    assert recorded(store_url) == (3, 3)


# -- the installed executable -----------------------------------------------------------------


def goalflow_command() -> list[str]:
    installed = shutil.which("goalflow", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "goalflow"]


@pytest.mark.parametrize(("bad", "names"), [
    pytest.param(b'{"command": "agree\xff"}\n', ["not valid UTF-8"], id="invalid-utf8"),
    pytest.param(lambda: line(hold(reason="x" * TEN_MB)), ["reason", str(MAX_TEXT_LENGTH)],
                 id="ten-megabyte-line"),
    pytest.param(b"\x00\x00\x00\n", ["not valid JSON"], id="nul-bytes"),
    pytest.param(line(hold(goal_id=UNKNOWN_GOAL)), [UNKNOWN_GOAL], id="unknown-goal"),
])
def test_the_installed_command_refuses_a_bad_line(
        tmp_path: Path, bad: bytes | Callable[[], bytes], names: list[str]) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_bytes(PREFIX + (bad if isinstance(bad, bytes) else bad()) + SUFFIX)
    db = f"sqlite:///{tmp_path / 'goals.db'}"

    done = subprocess.run([*goalflow_command(), "--db", db, "apply", str(path)],
                          capture_output=True, timeout=120, check=False)

    assert done.returncode == 1, done.stderr[-2000:]
    stderr, stdout = done.stderr.decode(), done.stdout.decode()
    error = error_line(stderr, stdout, 3)
    for name in names:
        assert name in error
    assert [json.loads(text)["line"] for text in stdout.splitlines()] == [1, 2]
    assert recorded(db) == (2, 2)
    path.write_bytes(PREFIX + SUFFIX)
    fixed = subprocess.run([*goalflow_command(), "--db", db, "apply", str(path)],
                           capture_output=True, timeout=120, check=False)
    assert fixed.returncode == 0, fixed.stderr
    assert recorded(db) == (3, 3)


# -- arbitrary input --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats() | st.text(max_size=12)
    | st.sampled_from(["s1", "s2", "client-7", "dr-okafor", "clinician", "client", "verbal",
                       "signature", "GAD-7", GOAL_ID, "2026-03-01",
                       "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "role", "kind", "members", "name", "baseline",
                                       "target", "direction", "on_behalf_of", "s1", "x"]),
                      children, max_size=3),
    max_leaves=8,
)
actors = st.sampled_from([CLIENT, CLINICIAN, {"id": "client-8", "role": "client"},
                          {"id": "mum", "role": "guardian", "on_behalf_of": "client-7"}])
texts = st.sampled_from(["Breathe", "Walk daily", "Client asked"]) | st.text(min_size=1,
                                                                             max_size=12)
text_lists = st.lists(texts, max_size=3)
dates = st.sampled_from([(date.today() + timedelta(days=n)).isoformat() for n in (-1, 0, 1, 30)]
                        ) | st.dates().map(date.isoformat)
times = st.sampled_from([(datetime.now(UTC) - timedelta(minutes=n)).isoformat()
                         for n in (0, 5, 60 * 24 * 400)]) | st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5)),
                               timezone(timedelta(hours=-5))])).map(datetime.isoformat)
measures = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["GAD-7", "PHQ-9"]) | texts},
    optional={"baseline": st.integers(0, 30) | st.floats(), "target": st.integers(0, 30),
              "direction": st.sampled_from(["decrease", "increase", "down"])}), max_size=2)
LIKELY: dict[str, st.SearchStrategy[Any]] = {
    "by": actors,
    "witnessed_by": actors,
    "subject": st.sampled_from([{"kind": "client", "id": "client-7"},
                                {"kind": "group", "id": "g-1", "members": ["client-7", "c-2"]}]),
    "step_id": st.sampled_from(["s1", "s2", "s3", "s9"]),
    "measure": st.sampled_from(["GAD-7", "PHQ-9"]),
    "terms_version": st.sampled_from([1, 1, 2, 3, 0]),
    "method": st.sampled_from(["signature", "portal", "verbal", "telepathy"]),
    "outcome": st.sampled_from(["continue", "revise", "achieve", "discontinue", "maybe"]),
    "value": st.integers(-(2**65), 2**65) | st.floats(),
    "target_date": dates, "next_review_on": dates, "occurred_at": times,
    "measures": measures,
    "steps": text_lists, "addresses": text_lists, "strengths": text_lists,
    "add_steps": text_lists, "remove_steps": st.lists(st.sampled_from(["s1", "s2", "s9"]),
                                                      max_size=2),
    "reword_steps": st.dictionaries(st.sampled_from(["s1", "s2", "s9"]), texts, max_size=2),
    "expected_version": st.integers(-1, 6),
    "command_id": st.sampled_from(["c1", "c2", "c3"]) | st.uuids().map(str),
}


def chance(draw: st.DrawFn, percent: int) -> bool:
    """True ``percent`` times in a hundred (sampled_from is even; integers lean on their ends)."""
    return bool(draw(st.sampled_from(range(100))) < percent)


@st.composite
def plausible(draw: st.DrawFn, name: str) -> Any:
    """Mostly a value of the right shape for the field (so the domain's rules get tried)."""
    return draw(LIKELY.get(name, texts) if chance(draw, 85) else json_values)


@st.composite
def commands(draw: st.DrawFn, goal_ids: list[str]) -> dict[str, Any]:
    """Mostly well-formed envelopes, so that arbitrary values reach the domain's rules."""
    command = draw(st.sampled_from([*COMMANDS, "meditate"]))
    goal_id = draw(st.sampled_from(goal_ids) if chance(draw, 90) else json_values)
    data: dict[str, Any] = {"command": command, "goal_id": goal_id, "by": draw(plausible("by"))}
    for name, parameter in _PARAMETERS.get(command, {}).items():
        required = parameter.default is inspect.Parameter.empty
        if name != "by" and chance(draw, 95 if required else 40):
            data[name] = draw(plausible(name))
    for name, percent in (("command_id", 50), ("occurred_at", 15), ("expected_version", 10),
                          ("surprise", 3)):
        if chance(draw, percent):
            data[name] = draw(plausible(name))
    return data


FRESH_GOAL = "00000000-0000-4000-8000-0000000000ff"


@st.composite
def documents(draw: st.DrawFn) -> list[bytes]:
    """The lines of one file: often a fresh goal drafted (and agreed to) first, then lines
    that are mostly commands aimed at it, else any JSON document, else any bytes.

    The fresh goal's id is ``FRESH_GOAL``, replaced by a new UUID for each run.
    """
    goal_id = FRESH_GOAL
    data = []
    if chance(draw, 70):
        data.append(line(draft(goal_id=goal_id, command_id=None)))
        if chance(draw, 60):
            data.append(line(agree(goal_id=goal_id, command_id=None)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(range(10)))
        if kind < 7:
            raw = json.dumps(draw(commands([goal_id, GOAL_ID]))).encode()
        elif kind < 9:
            raw = json.dumps(draw(json_values)).encode()
        else:
            raw = draw(st.binary(max_size=40))
        data.append(raw.replace(b"\n", b" "))
    return [raw.rstrip(b"\n") for raw in data]


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite store for every example, holding an active goal."""
    path = tmp_path_factory.mktemp("fuzz") / "goals.db"
    result = run(f"sqlite:///{path}", PREFIX)
    assert result.exit_code == 0, result.output
    return path


def counted(path: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        events = conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        commands = conn.execute(f"SELECT COUNT(*) FROM {COMMANDS_TABLE}").fetchone()[0]
    return int(events), int(commands)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=documents())
def test_arbitrary_input_gives_one_error_line_or_whole_commands(
        fuzz_store: Path, data: list[bytes]) -> None:
    fresh = str(uuid.uuid4()).encode()
    data = [raw.replace(FRESH_GOAL.encode(), fresh) for raw in data]
    before = counted(fuzz_store)

    result = run(f"sqlite:///{fuzz_store}", b"\n".join(data) + b"\n")

    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    results = [json.loads(text) for text in result.stdout.splitlines()]
    new = [r for r in results if not r["replayed"]]
    with_ids = [r for r in new if isinstance(_decoded(data[r["line"] - 1]).get("command_id"),
                                             str)]
    assert counted(fuzz_store) == (before[0] + len(new), before[1] + len(with_ids))
    if result.exit_code == 1:
        failed = max((r["line"] for r in results), default=0) + 1
        while failed <= len(data) and _blank(data[failed - 1]):
            failed += 1  # blank lines are skipped
        error_line(result.stderr, result.stdout, failed)
    else:
        assert "Error" not in result.stderr
        assert len(results) == sum(1 for raw in data if not _blank(raw))


def _blank(raw: bytes) -> bool:
    try:
        return not raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def _decoded(raw: bytes) -> dict[str, Any]:
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value

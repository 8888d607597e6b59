"""A corpus of bad input through the Python API (issue 5, item 4), on SQLite and PostgreSQL.

Every case must be refused with the right ``GoalflowError`` subclass and a message that
names the problem (the field, the goal id, the step id), must record nothing (no event, no
command record, no read-model row), and must leave the store usable: a valid command right
after it succeeds. Text that merely *looks* dangerous (SQL, placeholders) is ordinary text:
it is accepted and stored verbatim. Texts exactly at a documented limit are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from as_printed import printed

import goalflow
from goalflow import (
    Actor,
    ConcurrencyError,
    GoalflowError,
    GoalNotFound,
    Goals,
    InvalidCommand,
    InvalidTransition,
    Measure,
    NotPermitted,
    Subject,
    VersionNotFound,
)
from goalflow.domain.values import (
    MAX_ID_LENGTH,
    MAX_LINE_LENGTH,
    MAX_LIST_LENGTH,
    MAX_TEXT_LENGTH,
)
from goalflow.persistence.recorders import COMMANDS_TABLE

DR = Actor("dr-lee", "clinician")
CLIENT = Actor("client-7", "client")
SUBJECT = Subject.client("client-7")
GAD7 = Measure("GAD-7", baseline=15, target=7)
STATEMENT = "Use relaxation and daily exercise to manage anxiety before work"
TARGET = date(2025, 6, 1)  # three months after the tests' clock starts (2025-03-03)
UNKNOWN_GOAL = "9b2e7c1a-0000-4000-8000-00000000dead"
EAST = timezone(timedelta(hours=5))
WEST = timezone(timedelta(hours=-5))
DROP = object()  # leave this argument out of the command


# -- the store under test ------------------------------------------------------------------


@dataclass
class World:
    """A store with a proposed goal and an active one (step s1 done, s2 open)."""

    goals: Goals
    clock: Any
    proposed: UUID
    active: UUID

    @property
    def ids(self) -> dict[str, str]:
        return {"proposed": str(self.proposed), "active": str(self.active)}


@pytest.fixture
def world(store_url: str, clock: Any) -> Iterator[World]:
    goals = goalflow.open(store_url, clock=clock)
    terms: dict[str, Any] = {
        "client_words": "I want to stop panicking before work",
        "addresses": ["generalised anxiety disorder"], "measures": [GAD7],
        "steps": ["Learn two breathing exercises", "10 minutes of yoga daily"],
        "target_date": TARGET,
    }
    proposed = goals.draft(SUBJECT, STATEMENT, by=DR, command_id="seed-1", **terms)
    active = goals.draft(SUBJECT, STATEMENT, by=DR, command_id="seed-2", **terms)
    goals.agree(active, by=CLIENT, terms_version=1, method="signature", command_id="seed-3")
    goals.complete_step(active, by=CLIENT, step_id="s1")
    clock.advance(hours=1)
    yield World(goals, clock, proposed, active)
    goals.close()


def recorded(goals: Goals) -> tuple[int, int, int]:
    """(events, command records, audit entries) in the store."""
    store = goals.store
    with store.recorder.transaction(commit=False) as tx:
        events = tx.execute(f"SELECT COUNT(*) FROM {tx.table(store.events_table)}").fetchone()
        commands = tx.execute(f"SELECT COUNT(*) FROM {tx.table(COMMANDS_TABLE)}").fetchone()
    assert events is not None
    assert commands is not None
    return int(events[0]), int(commands[0]), len(goals.audit())


def still_usable(world: World, before: tuple[int, int, int]) -> None:
    """Nothing was recorded by the bad input, and a valid command still goes through."""
    goals = world.goals
    assert recorded(goals) == before, "the bad input recorded something"
    assert goals.get(world.proposed).version == 1
    assert goals.get(world.active).version == 3
    version = goals.record_progress(world.active, by=CLIENT, measure="GAD-7", value=11,
                                    command_id="after-the-bad-input")
    assert version == 4
    assert goals.get(world.active).readings["GAD-7"].value == 11
    events, commands, audit = before
    assert recorded(goals) == (events + 1, commands + 1, audit + 1)


# -- the corpus -----------------------------------------------------------------------------

BASE: dict[str, tuple[str | None, dict[str, Any]]] = {
    # command: (which seeded goal, valid arguments)
    "draft": (None, {"subject": SUBJECT, "statement": STATEMENT, "by": DR}),
    "agree": ("proposed", {"by": CLIENT, "terms_version": 1, "method": "signature"}),
    "disagree": ("proposed", {"by": CLIENT, "reason": "I can't do yoga at home"}),
    "add_step": ("proposed", {"by": DR, "description": "Walk the dog every morning"}),
    "complete_step": ("active", {"by": CLIENT, "step_id": "s2"}),
    "reopen_step": ("active", {"by": DR, "step_id": "s1", "reason": "Forgot the exercises"}),
    "record_progress": ("active", {"by": CLIENT, "measure": "GAD-7", "value": 12}),
    "revise": ("active", {"by": DR, "reason": "Client asked", "statement": "A new wording"}),
    "review": ("active", {"by": DR, "outcome": "continue", "notes": "Going well"}),
    "hold": ("active", {"by": DR, "reason": "Client in hospital"}),
    "resume": ("active", {"by": DR}),
    "achieve": ("active", {"by": DR, "evidence": "GAD-7 at 6"}),
    "discontinue": ("active", {"by": DR, "reason": "Client moved away"}),
    "withdraw": ("proposed", {"by": DR, "reason": "Drafted for the wrong client"}),
    "enter_in_error": ("active", {"by": DR, "reason": "Wrong chart"}),
}


def cmd(command: str, **changes: Any) -> Callable[[World], object]:
    """``goals.execute(command, ...)`` with the valid arguments, changed as given.

    ``goal`` picks the seeded goal ("active", "proposed") or gives a goal id outright;
    ``DROP`` leaves an argument out; a callable value is called with the world (for
    values that depend on the clock).
    """

    def call(world: World) -> object:
        default_goal, valid = BASE[command]
        args = {k: (v(world) if callable(v) else v)
                for k, v in {**valid, **changes}.items() if v is not DROP}
        goal = args.pop("goal", default_goal)
        if goal in ("active", "proposed"):
            args["goal_id"] = getattr(world, goal)
        elif goal is not None:
            args["goal_id"] = goal
        return world.goals.execute(command, **args)

    return call


def method(name: str, *args: Any, **kwargs: Any) -> Callable[[World], object]:
    """A named service method (``goals.hold(...)``), its goal given as "active"/"proposed"."""

    def call(world: World) -> object:
        resolved = [getattr(world, a) if a in ("active", "proposed") else a for a in args]
        return getattr(world.goals, name)(*resolved, **kwargs)

    return call


@dataclass(frozen=True)
class Bad:
    call: Callable[[World], object]
    error: type[GoalflowError] | tuple[type[GoalflowError], ...]
    names: tuple[str, ...]  # each must appear in the message ({active}, {proposed} filled in)
    field: str | None = None  # InvalidCommand.field, where the case is about one field


def bad(id: str, call: Callable[[World], object],
        error: type[GoalflowError] | tuple[type[GoalflowError], ...],
        *names: str, field: str | None = None) -> Any:
    return pytest.param(Bad(call, error, names, field), id=id)


def actor(id: str = "dr-lee", role: str = "clinician", on_behalf_of: str | None = None
          ) -> Callable[[World], Actor]:
    """An Actor built when the case runs, so that building it is part of the case."""
    return lambda _world: Actor(id, role, on_behalf_of)  # type: ignore[arg-type]


def subject(kind: str, id: str, members: Any = ()) -> Callable[[World], Subject]:
    return lambda _world: Subject(kind, id, members)  # type: ignore[arg-type]


def measure(name: str, baseline: Any = None, target: Any = None, direction: str = "decrease"
            ) -> Callable[[World], list[Measure]]:
    return lambda _world: [Measure(name, baseline, target, direction)]  # type: ignore[arg-type]


def now(**delta: float) -> Callable[[World], datetime]:
    return lambda world: world.clock.now + timedelta(**delta)


def long(limit: int, over: int = 1) -> str:
    return "x" * (limit + over)


UNKNOWN_AND_MISSING = [
    bad("unknown-command", lambda w: w.goals.execute("meditate", by=DR), InvalidCommand,
        "meditate", field="command"),
    bad("command-name-wrong-case", lambda w: w.goals.execute("Draft", subject=SUBJECT,
        statement=STATEMENT, by=DR), InvalidCommand, "Draft", field="command"),
    bad("unknown-argument", cmd("hold", mood="good"), InvalidCommand, "mood", field="mood"),
    # An unknown argument through a method is Python's TypeError (the methods have no
    # catch-all keyword): tests/integration/test_command_options.py.
    bad("recorded-at-is-not-an-argument", cmd("hold", recorded_at=now()), InvalidCommand,
        "recorded_at", field="recorded_at"),
    bad("argument-of-another-command", cmd("hold", step_id="s1"), InvalidCommand, "step_id",
        field="step_id"),
    bad("missing-actor", cmd("hold", by=DROP), InvalidCommand, "by", field="by"),
    bad("missing-actor-on-draft", cmd("draft", by=DROP), InvalidCommand, "by", field="by"),
    bad("actor-none", cmd("hold", by=None), InvalidCommand, "by", field="by"),
    bad("actor-as-a-dict", cmd("hold", by={"id": "dr-lee", "role": "clinician"}),
        InvalidCommand, "by", field="by"),
    bad("actor-as-a-string", cmd("hold", by="dr-lee"), InvalidCommand, "by", field="by"),
    bad("missing-goal-id", cmd("hold", goal=None), InvalidCommand, "goal_id",
        field="goal_id"),
    bad("missing-reason", cmd("hold", reason=DROP), InvalidCommand, "reason",
        field="reason"),
    bad("missing-statement", cmd("draft", statement=DROP), InvalidCommand, "statement",
        field="statement"),
    bad("missing-subject", cmd("draft", subject=DROP), InvalidCommand, "subject",
        field="subject"),
    bad("missing-step-id", cmd("complete_step", step_id=DROP), InvalidCommand, "step_id",
        field="step_id"),
    bad("verbal-agreement-without-witness", cmd("agree", method="verbal"), InvalidCommand,
        "witnessed_by", field="witnessed_by"),
    bad("revise-changing-nothing", cmd("revise", statement=DROP), InvalidCommand,
        "changes nothing"),
]

ROLES = [
    bad("unknown-role", cmd("hold", by=actor(role="nurse")), InvalidCommand, "nurse",
        field="by.role"),
    bad("role-not-a-string", cmd("hold", by=actor(role=5)), InvalidCommand, "by.role",  # type: ignore[arg-type]
        field="by.role"),
    bad("client-drafts", cmd("draft", by=CLIENT), NotPermitted, "client-7", "draft"),
    bad("client-holds", cmd("hold", by=CLIENT), NotPermitted, "client-7", "hold",
        "{active}"),
    bad("client-revises", cmd("revise", by=CLIENT), NotPermitted, "client-7", "revise"),
    bad("client-enters-in-error", cmd("enter_in_error", by=CLIENT), NotPermitted,
        "client-7", "enter_in_error"),
    bad("clinician-agrees-for-the-client", cmd("agree", by=DR), NotPermitted, "dr-lee",
        "agree"),
    bad("another-client-agrees", cmd("agree", by=actor("client-8", "client")), NotPermitted,
        "client-8", "agree"),
    bad("another-client-completes-a-step", cmd("complete_step", by=actor("client-8",
        "client")), NotPermitted, "client-8", "complete_step"),
    bad("guardian-of-another-client", cmd("agree", by=actor("mum", "guardian", "client-8")),
        NotPermitted, "mum", "agree"),
    bad("guardian-for-nobody", cmd("agree", by=actor("mum", "guardian")), InvalidCommand,
        "by.on_behalf_of", field="by.on_behalf_of"),
    bad("clinician-on-behalf-of-a-client", cmd("hold", by=actor("dr-lee", "clinician",
        "client-7")), InvalidCommand, "by.on_behalf_of", field="by.on_behalf_of"),
    bad("witness-is-a-client", cmd("agree", method="verbal", witnessed_by=CLIENT),
        InvalidCommand, "witnessed_by", field="witnessed_by"),
    bad("witness-on-a-signature", cmd("agree", witnessed_by=DR), InvalidCommand,
        "witnessed_by", field="witnessed_by"),
]

UNKNOWN_IDS = [
    bad("unknown-goal", cmd("hold", goal=UNKNOWN_GOAL), GoalNotFound, UNKNOWN_GOAL),
    bad("unknown-goal-through-a-method", method("complete_step", UNKNOWN_GOAL, by=CLIENT,
        step_id="s1"), GoalNotFound, UNKNOWN_GOAL),
    bad("goal-id-not-a-uuid", cmd("hold", goal="not-a-goal"), InvalidCommand, "not-a-goal",
        field="goal_id"),
    bad("goal-id-a-number", cmd("hold", goal=42), InvalidCommand, "goal_id", field="goal_id"),
    bad("goal-id-a-list", cmd("hold", goal=["x"]), InvalidCommand, "goal_id", field="goal_id"),
    bad("goal-id-a-prefix", cmd("hold", goal=lambda w: str(w.active)[:8]), InvalidCommand,
        "goal_id", field="goal_id"),
    bad("draft-over-an-existing-goal", cmd("draft", goal_id=lambda w: w.active),
        InvalidCommand, "{active}", "already exists", field="goal_id"),
    bad("unknown-step-completed", cmd("complete_step", step_id="s9"), InvalidCommand, "s9",
        "{active}", field="step_id"),
    bad("unknown-step-reopened", cmd("reopen_step", step_id="s9"), InvalidCommand, "s9",
        field="step_id"),
    bad("step-id-a-number", cmd("complete_step", step_id=2), InvalidCommand, "step", "2",
        field="step_id"),
    bad("step-id-removed-unknown", cmd("revise", remove_steps=["s9"]), InvalidCommand, "s9"),
    bad("step-id-reworded-unknown", cmd("revise", reword_steps={"s9": "x"}), InvalidCommand,
        "s9"),
    bad("unknown-measure", cmd("record_progress", measure="PHQ-9"), InvalidCommand, "PHQ-9",
        field="measure"),
    bad("stale-terms-version", cmd("agree", terms_version=2), InvalidTransition,
        "terms version 2", "{proposed}"),
    bad("stale-expected-version", cmd("hold", expected_version=1), ConcurrencyError,
        "{active}", "expected version 1"),
    bad("wrong-status", cmd("resume"), InvalidTransition, "{active}", "active", "resume"),
    bad("remove-a-completed-step", cmd("revise", remove_steps=["s1"]), InvalidTransition,
        "s1"),
    bad("complete-a-completed-step", cmd("complete_step", step_id="s1"), InvalidTransition,
        "s1"),
]

WRONG_TYPES = [
    bad("statement-a-number", cmd("draft", statement=42), InvalidCommand, "statement",
        field="statement"),
    bad("statement-none", cmd("draft", statement=None), InvalidCommand, "statement",
        field="statement"),
    bad("statement-blank", cmd("draft", statement=" \n\t "), InvalidCommand, "statement",
        field="statement"),
    bad("statement-bytes", cmd("draft", statement=STATEMENT.encode()), InvalidCommand,
        "statement", field="statement"),
    bad("reason-a-list", cmd("hold", reason=["a"]), InvalidCommand, "reason", field="reason"),
    bad("steps-a-string", cmd("draft", steps="Breathe"), InvalidCommand, "steps",
        field="steps"),
    bad("steps-a-number", cmd("draft", steps=5), InvalidCommand, "steps", field="steps"),
    bad("steps-a-mapping", cmd("draft", steps={"Breathe": 1}), InvalidCommand, "steps",
        field="steps"),
    bad("addresses-a-mapping", cmd("draft", addresses={"anxiety": True}), InvalidCommand,
        "addresses", field="addresses"),
    bad("steps-holding-numbers", cmd("draft", steps=[1, 2]), InvalidCommand, "steps",
        field="steps"),
    bad("measures-a-string", cmd("draft", measures="GAD-7"), InvalidCommand, "measures",
        field="measures"),
    bad("measures-as-dicts", cmd("draft", measures=[{"name": "GAD-7"}]), InvalidCommand,
        "measures", field="measures[]"),
    bad("measures-named-twice", cmd("draft", measures=[GAD7, GAD7]), InvalidCommand,
        "GAD-7", field="measures"),
    bad("measure-baseline-a-string", cmd("draft", measures=measure("GAD-7", "15")),
        InvalidCommand, "baseline"),
    bad("measure-direction-unknown", cmd("draft", measures=measure("GAD-7", 15, 7, "down")),
        InvalidCommand, "direction", field="measure.direction"),
    bad("subject-a-string", cmd("draft", subject="client-7"), InvalidCommand, "subject",
        field="subject"),
    bad("subject-kind-unknown", cmd("draft", subject=subject("family", "f-1")),
        InvalidCommand, "family", field="subject.kind"),
    bad("subject-members-a-string", cmd("draft", subject=subject("group", "g", "abc")),
        InvalidCommand, "subject.members", field="subject.members"),
    bad("subject-members-a-number", cmd("draft", subject=subject("group", "g", 5)),
        InvalidCommand, "subject.members", field="subject.members"),
    bad("subject-members-twice", cmd("draft", subject=subject("group", "g", ["a", "a"])),
        InvalidCommand, "subject.members", field="subject.members"),
    bad("subject-group-without-members", cmd("draft", subject=subject("group", "g")),
        InvalidCommand, "member", field="subject.members"),
    bad("target-date-a-string", cmd("draft", target_date="2025-06-01"), InvalidCommand,
        "target_date", field="target_date"),
    bad("target-date-a-datetime", cmd("draft", target_date=datetime(2025, 6, 1, tzinfo=UTC)),
        InvalidCommand, "target_date", field="target_date"),
    bad("occurred-at-a-string", cmd("hold", occurred_at="2025-03-03T09:30:00+00:00"),
        InvalidCommand, "occurred_at", field="occurred_at"),
    bad("occurred-at-naive", cmd("hold", occurred_at=datetime(2025, 3, 3, 9, 30)),
        InvalidCommand, "occurred_at", field="occurred_at"),
    bad("occurred-at-a-date", cmd("hold", occurred_at=date(2025, 3, 3)), InvalidCommand,
        "occurred_at", field="occurred_at"),
    bad("terms-version-a-string", cmd("agree", terms_version="1"), InvalidCommand,
        "terms_version", field="terms_version"),
    bad("terms-version-true", cmd("agree", terms_version=True), InvalidCommand,
        "terms_version", field="terms_version"),
    bad("terms-version-a-float", cmd("agree", terms_version=1.0), InvalidCommand,
        "terms_version", field="terms_version"),
    bad("value-a-string", cmd("record_progress", value="12"), InvalidCommand, "value",
        field="value"),
    bad("value-true", cmd("record_progress", value=True), InvalidCommand, "value",
        field="value"),
    bad("value-none", cmd("record_progress", value=None), InvalidCommand, "value",
        field="value"),
    bad("expected-version-a-string", cmd("hold", expected_version="3"), InvalidCommand,
        "expected_version", field="expected_version"),
    bad("expected-version-zero", cmd("hold", expected_version=0), InvalidCommand,
        "expected_version", field="expected_version"),
    bad("expected-version-negative", cmd("hold", expected_version=-1), InvalidCommand,
        "expected_version", field="expected_version"),
    bad("expected-version-on-a-draft", cmd("draft", expected_version=1), InvalidCommand,
        "expected_version", field="expected_version"),
    bad("command-id-a-number", cmd("hold", command_id=5), InvalidCommand, "command_id",
        field="command_id"),
    bad("command-id-empty", cmd("hold", command_id=""), InvalidCommand, "command_id",
        field="command_id"),
    bad("method-unknown", cmd("agree", method="telepathy"), InvalidCommand, "telepathy",
        field="method"),
    bad("outcome-unknown", cmd("review", outcome="maybe"), InvalidCommand, "maybe",
        field="outcome"),
    bad("reword-steps-a-list", cmd("revise", reword_steps=["s2"]), InvalidCommand,
        "reword_steps", field="reword_steps"),
    bad("reword-steps-to-a-number", cmd("revise", reword_steps={"s2": 5}), InvalidCommand,
        "reword_steps", field="reword_steps"),
    bad("next-review-a-string", cmd("review", next_review_on="2025-06-01"), InvalidCommand,
        "next_review_on", field="next_review_on"),
]

NUMBERS = [
    bad("value-nan", cmd("record_progress", value=float("nan")), InvalidCommand, "value",
        "finite", field="value"),
    bad("value-infinity", cmd("record_progress", value=float("inf")), InvalidCommand,
        "value", "finite", field="value"),
    bad("value-minus-infinity", cmd("record_progress", value=float("-inf")), InvalidCommand,
        "value", "finite", field="value"),
    bad("value-beyond-64-bits", cmd("record_progress", value=2**63), InvalidCommand, "value",
        field="value"),
    bad("value-below-64-bits", cmd("record_progress", value=-(2**63) - 1), InvalidCommand,
        "value", field="value"),
    bad("baseline-nan", cmd("draft", measures=measure("GAD-7", float("nan"), 7)),
        InvalidCommand, "baseline", "finite"),
    bad("target-infinity", cmd("draft", measures=measure("GAD-7", 15, float("inf"))),
        InvalidCommand, "target", "finite"),
    bad("baseline-beyond-64-bits", cmd("draft", measures=measure("GAD-7", 2**64, 7)),
        InvalidCommand, "baseline"),
    # Whatever refuses these must say which argument was out of range.
    bad("terms-version-beyond-64-bits", cmd("agree", terms_version=2**64),
        (InvalidCommand, InvalidTransition), "terms"),
    bad("terms-version-beyond-64-bits-with-command-id", cmd("agree", terms_version=2**64,
        command_id="agree-big"), (InvalidCommand, InvalidTransition), "terms_version"),
    bad("expected-version-beyond-64-bits", cmd("hold", expected_version=2**64,
        command_id="hold-big"), (InvalidCommand, ConcurrencyError), "expected"),
]

DATES = [
    bad("occurred-at-in-the-future", cmd("hold", occurred_at=now(seconds=1)), InvalidCommand,
        "occurred_at", "future", field="occurred_at"),
    bad("draft-occurred-at-in-the-future", cmd("draft", occurred_at=now(days=1)),
        InvalidCommand, "occurred_at", "future", field="occurred_at"),
    bad("occurred-at-year-9999-west-of-utc", cmd("hold", occurred_at=datetime(
        9999, 12, 31, 23, 0, tzinfo=WEST)), InvalidCommand, "occurred_at", field="occurred_at"),
    bad("draft-occurred-at-year-9999-west-of-utc", cmd("draft", occurred_at=datetime(
        9999, 12, 31, 23, 0, tzinfo=WEST)), InvalidCommand, "occurred_at", field="occurred_at"),
    # 0001-01-01T00:00+05:00 is before datetime.min in UTC: converting it overflows.
    bad("draft-occurred-at-year-1-east-of-utc", cmd("draft", occurred_at=datetime(
        1, 1, 1, tzinfo=EAST)), InvalidCommand, "occurred_at", field="occurred_at"),
    bad("draft-occurred-at-the-first-minute-east-of-utc", cmd("draft", occurred_at=datetime(
        1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=23, minutes=59)))), InvalidCommand,
        "occurred_at", field="occurred_at"),
    bad("occurred-at-year-1-east-of-utc", cmd("hold", occurred_at=datetime(
        1, 1, 1, tzinfo=EAST)), InvalidCommand, "occurred_at", field="occurred_at"),
    bad("occurred-at-before-the-draft", cmd("hold", occurred_at=datetime(
        2025, 3, 3, 8, 59, tzinfo=UTC)), InvalidCommand, "occurred_at", "before",
        field="occurred_at"),
    bad("next-review-before-the-review", cmd("review", next_review_on=date(1, 1, 1)),
        InvalidCommand, "next_review_on", field="next_review_on"),
    bad("next-review-on-the-review-day", cmd("review", next_review_on=date(2025, 3, 3)),
        InvalidCommand, "next_review_on", field="next_review_on"),
]

LIMITS = [
    bad("statement-over-limit", cmd("draft", statement=long(MAX_TEXT_LENGTH)), InvalidCommand,
        "statement", str(MAX_TEXT_LENGTH), field="statement"),
    bad("statement-of-ten-megabytes", cmd("draft", statement="x" * 10_000_000),
        InvalidCommand, "statement", str(MAX_TEXT_LENGTH), field="statement"),
    bad("client-words-over-limit", cmd("draft", client_words=long(MAX_TEXT_LENGTH)),
        InvalidCommand, "client_words", field="client_words"),
    bad("step-text-over-limit", cmd("draft", steps=["ok", long(MAX_TEXT_LENGTH)]),
        InvalidCommand, "steps", field="steps"),
    bad("address-over-limit", cmd("draft", addresses=[long(MAX_LINE_LENGTH)]),
        InvalidCommand, "addresses", str(MAX_LINE_LENGTH), field="addresses"),
    bad("strength-over-limit", cmd("draft", strengths=[long(MAX_LINE_LENGTH)]),
        InvalidCommand, "strengths", field="strengths"),
    bad("measure-name-over-limit", cmd("draft", measures=measure(long(MAX_LINE_LENGTH))),
        InvalidCommand, "measure.name", field="measure.name"),
    bad("actor-id-over-limit", cmd("hold", by=actor(long(MAX_ID_LENGTH))), InvalidCommand,
        "by.id", str(MAX_ID_LENGTH), field="by.id"),
    bad("guardian-for-an-id-over-limit", cmd("agree", by=actor("mum", "guardian",
        long(MAX_ID_LENGTH))), InvalidCommand, "by.on_behalf_of", field="by.on_behalf_of"),
    bad("subject-id-over-limit", cmd("draft", subject=subject("client", long(MAX_ID_LENGTH))),
        InvalidCommand, "subject.id", field="subject.id"),
    bad("member-id-over-limit", cmd("draft", subject=subject("group", "g",
        [long(MAX_ID_LENGTH)])), InvalidCommand, "subject.members", field="subject.members"),
    bad("command-id-over-limit", cmd("hold", command_id=long(MAX_ID_LENGTH)), InvalidCommand,
        "command_id", field="command_id"),
    bad("reason-over-limit", cmd("hold", reason=long(MAX_TEXT_LENGTH)), InvalidCommand,
        "reason", field="reason"),
    bad("description-over-limit", cmd("add_step", description=long(MAX_TEXT_LENGTH)),
        InvalidCommand, "description", field="description"),
    bad("note-over-limit", cmd("complete_step", note=long(MAX_TEXT_LENGTH)), InvalidCommand,
        "note", field="note"),
    bad("evidence-over-limit", cmd("achieve", evidence=long(MAX_TEXT_LENGTH)), InvalidCommand,
        "evidence", field="evidence"),
    bad("review-notes-over-limit", cmd("review", notes=long(MAX_TEXT_LENGTH)), InvalidCommand,
        "notes", field="notes"),
    bad("alternative-over-limit", cmd("disagree", alternative=long(MAX_TEXT_LENGTH)),
        InvalidCommand, "alternative", field="alternative"),
    bad("progress-measure-over-limit", cmd("record_progress", measure=long(MAX_LINE_LENGTH)),
        InvalidCommand, "measure", field="measure"),
    bad("rewording-over-limit", cmd("revise", reword_steps={"s2": long(MAX_TEXT_LENGTH)}),
        InvalidCommand, "reword_steps", field="reword_steps"),
    bad("too-many-steps", cmd("draft", steps=["a"] * (MAX_LIST_LENGTH + 1)), InvalidCommand,
        "steps", str(MAX_LIST_LENGTH), field="steps"),
    bad("too-many-addresses", cmd("draft", addresses=["a"] * (MAX_LIST_LENGTH + 1)),
        InvalidCommand, "addresses", field="addresses"),
    bad("too-many-strengths", cmd("draft", strengths=["a"] * (MAX_LIST_LENGTH + 1)),
        InvalidCommand, "strengths", field="strengths"),
    bad("too-many-measures", cmd("draft", measures=[Measure(f"m{n}") for n in range(
        MAX_LIST_LENGTH + 1)]), InvalidCommand, "measures", field="measures"),
    bad("too-many-members", cmd("draft", subject=subject("group", "g", [
        f"c{n}" for n in range(MAX_LIST_LENGTH + 1)])), InvalidCommand, "subject.members",
        field="subject.members"),
    bad("too-many-steps-added", cmd("revise", add_steps=["a"] * (MAX_LIST_LENGTH - 1)),
        InvalidCommand, "steps", str(MAX_LIST_LENGTH)),
]

CONTROL_CHARACTERS = [
    bad("nul-in-statement", cmd("draft", statement="Manage\x00anxiety"), InvalidCommand,
        "statement", "control character", field="statement"),
    bad("escape-in-reason", cmd("hold", reason="\x1b[2J\x1b[31mred"), InvalidCommand,
        "reason", "control character", field="reason"),
    bad("bell-in-actor-id", cmd("hold", by=actor("dr\x07lee")), InvalidCommand, "by.id",
        "control character", field="by.id"),
    bad("carriage-return-in-note", cmd("complete_step", note="done\r\n"), InvalidCommand,
        "note", "control character", field="note"),
    bad("delete-in-client-words", cmd("draft", client_words="I want\x7f"), InvalidCommand,
        "client_words", field="client_words"),
    bad("c1-csi-in-step", cmd("draft", steps=["Breathe \x9b31m"]), InvalidCommand, "steps",
        field="steps"),
    bad("next-line-c1-in-address", cmd("draft", addresses=["anxiety\x85"]), InvalidCommand,
        "addresses", field="addresses"),
    bad("control-in-subject-id", cmd("draft", subject=subject("client", "client\x01")),
        InvalidCommand, "subject.id", field="subject.id"),
    bad("control-in-measure-name", cmd("draft", measures=measure("GAD\x08-7")),
        InvalidCommand, "measure.name", field="measure.name"),
    bad("control-in-command-id", cmd("hold", command_id="ehr\x00-1"), InvalidCommand,
        "command_id", field="command_id"),
    bad("control-in-rewording", cmd("revise", reword_steps={"s2": "yoga\x00"}),
        InvalidCommand, "reword_steps", field="reword_steps"),
]

INVALID_UNICODE = [
    bad("lone-surrogate-in-statement", cmd("draft", statement="Manage \ud800 anxiety"),
        InvalidCommand, "statement", field="statement"),
    bad("lone-low-surrogate-in-reason", cmd("hold", reason="\udfff"), InvalidCommand,
        "reason", field="reason"),
    bad("surrogate-in-actor-id", cmd("hold", by=actor("dr-\udc80")), InvalidCommand, "by.id",
        field="by.id"),
    bad("surrogate-in-command-id", cmd("hold", command_id="ehr-\ud83d"), InvalidCommand,
        "command_id", field="command_id"),
    bad("surrogate-in-step-id", cmd("complete_step", step_id="s\ud800"), InvalidCommand,
        "step", field="step_id"),
    bad("surrogate-in-progress-measure", cmd("record_progress", measure="GAD\udc00"),
        InvalidCommand, "measure", field="measure"),
    bad("surrogate-in-goal-id", cmd("hold", goal="\ud800"), InvalidCommand, "goal_id",
        field="goal_id"),
    bad("invalid-utf8-bytes-as-reason", cmd("hold", reason=b"\xff\xfe"), InvalidCommand,
        "reason", field="reason"),
]

CORPUS = [*UNKNOWN_AND_MISSING, *ROLES, *UNKNOWN_IDS, *WRONG_TYPES, *NUMBERS, *DATES,
          *LIMITS, *CONTROL_CHARACTERS, *INVALID_UNICODE]


@pytest.mark.parametrize("case", CORPUS)
def test_bad_input_is_refused_by_name_and_records_nothing(world: World, case: Bad) -> None:
    before = recorded(world.goals)

    with pytest.raises(GoalflowError) as raised:
        case.call(world)

    error = raised.value
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    message = str(error)
    for name in case.names:
        assert name.format(**world.ids) in message, message
    if case.field is not None:
        assert isinstance(error, InvalidCommand)
        assert error.field == case.field, message
    assert "\x1b" not in message
    assert "\x00" not in message
    message.encode("utf-8")  # and printable at all (no lone surrogates)
    still_usable(world, before)


# -- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    call: Callable[[World], object]
    error: type[GoalflowError] | tuple[type[GoalflowError], ...]
    names: tuple[str, ...]
    may_answer: bool = False  # an answer (no error) is as good as a refusal by name


def query(id: str, call: Callable[[World], object],
          error: type[GoalflowError] | tuple[type[GoalflowError], ...], *names: str,
          may_answer: bool = False) -> Any:
    return pytest.param(Query(call, error, names, may_answer), id=id)


QUERIES = [
    query("get-version-zero", lambda w: w.goals.get(w.active, version=0), InvalidCommand,
          "version"),
    query("get-version-true", lambda w: w.goals.get(w.active, version=True), InvalidCommand,
          "version"),
    query("get-version-a-string", lambda w: w.goals.get(w.active, version="1"),
          InvalidCommand, "version"),
    query("get-version-beyond-64-bits", lambda w: w.goals.get(w.active, version=2**64),
          (VersionNotFound, InvalidCommand), "version"),
    query("get-version-past-the-latest", lambda w: w.goals.get(w.active, version=4),
          VersionNotFound, "{active}", "version 4"),
    query("get-as-of-naive", lambda w: w.goals.get(w.active, as_of=datetime(2025, 3, 3)),
          InvalidCommand, "as_of"),
    query("get-as-of-a-string", lambda w: w.goals.get(w.active, as_of="2025-03-03"),
          InvalidCommand, "as_of"),
    query("get-version-and-as-of", lambda w: w.goals.get(w.active, version=1,
          as_of=datetime(2025, 3, 3, tzinfo=UTC)), InvalidCommand, "as_of"),
    query("get-unknown-goal", lambda w: w.goals.get(UNKNOWN_GOAL), GoalNotFound,
          UNKNOWN_GOAL),
    query("get-goal-id-not-a-uuid", lambda w: w.goals.get("'; DROP TABLE stored_events; --"),
          InvalidCommand, "goal_id"),
    query("history-unknown-goal", lambda w: w.goals.history(UNKNOWN_GOAL), GoalNotFound,
          UNKNOWN_GOAL),
    query("smart-check-unknown-goal", lambda w: w.goals.smart_check(UNKNOWN_GOAL),
          GoalNotFound, UNKNOWN_GOAL),
    query("audit-goal-id-not-a-uuid", lambda w: w.goals.audit("nope"), InvalidCommand,
          "goal_id"),
    query("audit-since-naive", lambda w: w.goals.audit(since=datetime(2025, 3, 3)),
          InvalidCommand, "since"),
    query("audit-since-year-1-east-of-utc", lambda w: w.goals.audit(since=datetime(
          1, 1, 1, tzinfo=EAST)), InvalidCommand, "since", may_answer=True),
    query("audit-until-year-9999-west-of-utc", lambda w: w.goals.audit(until=datetime(
          9999, 12, 31, 23, tzinfo=WEST)), InvalidCommand, "until", may_answer=True),
    query("audit-late-days-nan", lambda w: w.goals.audit(late_days=float("nan")),
          InvalidCommand, "late_days"),
    query("audit-late-days-negative", lambda w: w.goals.audit(late_days=-1), InvalidCommand,
          "late_days"),
    query("audit-late-days-infinite", lambda w: w.goals.audit(late_days=float("inf")),
          InvalidCommand, "late_days", may_answer=True),
    query("audit-late-days-huge", lambda w: w.goals.audit(late_days=1e300), InvalidCommand,
          "late_days", may_answer=True),
    query("audit-actor-a-number", lambda w: w.goals.audit(actor=5), InvalidCommand, "actor",
          may_answer=True),
    query("plan-subject-a-number", lambda w: w.goals.plan(5), InvalidCommand, "subject",
          may_answer=True),
    query("goal-index-status-a-number", lambda w: w.goals.goal_index(status=5),
          InvalidCommand, "status", may_answer=True),
    query("reviews-interval-zero", lambda w: w.goals.reviews(interval_days=0), InvalidCommand,
          "interval_days"),
    query("reviews-interval-past-the-calendar", lambda w: w.goals.reviews(
          interval_days=10**7), InvalidCommand, "interval_days", may_answer=True),
    query("reviews-as-of-a-string", lambda w: w.goals.reviews(as_of="2025-03-03"),
          InvalidCommand, "as_of"),
    query("reviews-as-of-a-datetime", lambda w: w.goals.reviews(as_of=datetime(
          2025, 3, 3, tzinfo=UTC)), InvalidCommand, "as_of"),
]


@pytest.mark.parametrize("case", QUERIES)
def test_bad_queries_are_refused_by_name(world: World, case: Query) -> None:
    before = recorded(world.goals)

    refusal = attempt(case.call, world)

    if refusal is None:
        assert case.may_answer, "the query was answered, not refused"
    else:
        assert isinstance(refusal, case.error), f"{type(refusal).__name__}: {refusal}"
        for name in case.names:
            assert name.format(**world.ids) in str(refusal), str(refusal)
    still_usable(world, before)


def attempt(call: Callable[[World], object], world: World) -> GoalflowError | None:
    """The GoalflowError the call raised, or None if it answered (anything else propagates)."""
    try:
        call(world)
    except GoalflowError as error:
        return error
    return None


# -- what looks dangerous but is just text ---------------------------------------------------

SQL_FRAGMENTS = [
    "'); DROP TABLE stored_events; --",
    "\"; DROP TABLE goalflow_commands; --",
    "x' OR '1'='1",
    "Robert'); DELETE FROM gf_plan_goals WHERE ('1'='1",
    "%s %(statement)s ? $1 :name {gf_plan_goals}",
    "1; SELECT pg_sleep(10); --",
    "/* comment */ UNION SELECT * FROM sqlite_master --",
    "\\'; TRUNCATE stored_events; \\",
    "'); DROP TABLE goalflow_events CASCADE; DROP SCHEMA public CASCADE; --",
]


@pytest.mark.parametrize("text", SQL_FRAGMENTS, ids=[f"sql-{n}" for n in range(len(
    SQL_FRAGMENTS))])
def test_sql_fragments_are_stored_as_ordinary_text(world: World, text: str) -> None:
    goals = world.goals
    events, commands, _ = recorded(goals)
    person = text[:MAX_ID_LENGTH]
    # Another person's id, as hostile: a client may not act on their own goal as clinician.
    clinician = Actor("dr " + text[:MAX_ID_LENGTH - 3], "clinician")
    client = Actor(person, "client")

    goal_id = goals.draft(Subject.client(person), text, by=clinician, client_words=text,
                          addresses=[text], strengths=[text], steps=[text, "second step"],
                          measures=[Measure(text, 10, 2)], target_date=TARGET,
                          command_id=text)
    goals.agree(goal_id, by=client, terms_version=1, method="signature",
                command_id=text + " agree")
    goals.complete_step(goal_id, by=client, step_id="s1", note=text)
    goals.record_progress(goal_id, by=client, measure=text, value=5)
    goals.hold(goal_id, by=clinician, reason=text)

    goal = goals.get(goal_id)
    assert (goal.statement, goal.client_words, goal.addresses, goal.strengths) == (
        text, text, (text,), (text,))
    assert goal.subject.id == person
    assert goal.drafted_by.id == clinician.id
    assert goal.steps[0].description == text
    assert goal.measures[0].name == text
    assert goal.readings[text].value == 5
    assert goal.status_reason == text
    history = goals.history(goal_id)
    assert history[0].statement == text
    assert history[-1].reason == text
    assert goals.execute("draft", subject=Subject.client(person), statement=text,
                         by=clinician, client_words=text, addresses=[text],
                         strengths=[text], steps=[text, "second step"],
                         measures=[Measure(text, 10, 2)], target_date=TARGET,
                         command_id=text).replayed
    [plan] = printed(goals.plan(person))
    assert plan["statement"] == text
    assert plan["subject_id"] == person
    assert plan["steps"][0]["description"] == text
    audit = printed(goals.audit(goal_id))
    assert audit[-1]["reason"] == text
    assert audit[-1]["actor_id"] == clinician.id
    assert printed(goals.audit(actor=clinician.id))[0]["goal_id"] == str(goal_id)
    assert len(printed(goals.audit(subject=person))) == 5
    assert recorded(goals)[:2] == (events + 5, commands + 2)
    assert {goals.store.events_table, COMMANDS_TABLE} <= tables(goals)
    still_usable(world, recorded(goals))


def tables(goals: Goals) -> set[str]:
    store = goals.store
    with store.recorder.transaction(commit=False) as tx:
        if tx.dialect == "sqlite":
            rows = tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        else:
            rows = tx.execute("SELECT table_name FROM information_schema.tables"
                              " WHERE table_schema = ?", (store.url.schema,)).fetchall()
    return {row[0] for row in rows}


# -- at the limits ------------------------------------------------------------------------------


def test_everything_exactly_at_its_limit_is_accepted(world: World) -> None:
    goals = world.goals
    events, commands, _ = recorded(goals)
    member = "m" * (MAX_ID_LENGTH - 3)
    members = [f"{n:03d}{member}" for n in range(MAX_LIST_LENGTH)]
    prose = "p" * MAX_TEXT_LENGTH
    line = "l" * MAX_LINE_LENGTH
    clinician = Actor("d" * MAX_ID_LENGTH, "clinician")
    guardian = Actor("g" * MAX_ID_LENGTH, "guardian", on_behalf_of=members[0])
    measures = [Measure(f"{n:03d}" + "n" * (MAX_LINE_LENGTH - 3), 10, 2)
                for n in range(MAX_LIST_LENGTH)]

    goal_id = goals.draft(
        Subject.group("g" * MAX_ID_LENGTH, members), prose, by=clinician, client_words=prose,
        addresses=[line] * MAX_LIST_LENGTH, strengths=[line] * MAX_LIST_LENGTH,
        steps=[prose] * MAX_LIST_LENGTH, measures=measures, target_date=TARGET,
        command_id="c" * MAX_ID_LENGTH)
    goals.disagree(goal_id, by=guardian, reason=prose, alternative=prose)
    goals.revise(goal_id, by=clinician, reason=prose, reword_steps={"s1": prose[:-1] + "q"})

    goal = goals.get(goal_id)
    assert goal.version == 3
    assert goal.statement == prose
    assert goal.client_words == prose
    assert goal.subject.members == tuple(members)
    assert goal.addresses == (line,) * MAX_LIST_LENGTH
    assert [m.name for m in goal.measures] == [m.name for m in measures]
    assert [s.description for s in goal.steps[1:]] == [prose] * (MAX_LIST_LENGTH - 1)
    assert goals.execute("draft", subject=Subject.group("g" * MAX_ID_LENGTH, members),
                         statement=prose, by=clinician, client_words=prose,
                         addresses=[line] * MAX_LIST_LENGTH,
                         strengths=[line] * MAX_LIST_LENGTH,
                         steps=[prose] * MAX_LIST_LENGTH, measures=measures,
                         target_date=TARGET, command_id="c" * MAX_ID_LENGTH).replayed
    with pytest.raises(InvalidCommand, match="steps"):  # a hundred steps is the most
        goals.revise(goal_id, by=clinician, reason="one more", add_steps=["one too many"])
    assert len(printed(goals.plan(members[0]))[0]["steps"]) == MAX_LIST_LENGTH
    assert recorded(goals)[:2] == (events + 3, commands + 1)
    still_usable(world, recorded(goals))


def test_numbers_at_the_edge_of_64_bits_are_accepted(world: World) -> None:
    goals = world.goals
    goal_id = goals.draft(SUBJECT, STATEMENT, by=DR, target_date=TARGET, steps=["a"],
                          measures=[Measure("big", -(2**63), 2**63 - 1)],
                          addresses=["anxiety"])
    goals.agree(goal_id, by=CLIENT, terms_version=1, method="signature")
    goals.record_progress(goal_id, by=CLIENT, measure="big", value=2**63 - 1)

    goal = goals.get(goal_id)
    assert (goal.measures[0].baseline, goal.measures[0].target) == (-(2**63), 2**63 - 1)
    assert goal.readings["big"].value == 2**63 - 1
    assert printed(goals.audit(goal_id))[-1]["details"]["value"] == 2**63 - 1
    [plan] = printed(goals.plan("client-7", include_closed=True))[-1:]
    assert (plan["measures"][0]["baseline"], plan["measures"][0]["latest"]) == (
        -(2**63), 2**63 - 1)
    still_usable(world, recorded(goals))


@pytest.mark.parametrize("value", [-1.7976931348623157e308, 1e300, 5e-324, 0.1])
def test_extreme_floats_read_back_as_recorded_from_every_read_model(
        world: World, value: float) -> None:
    goals = world.goals

    goals.record_progress(world.active, by=CLIENT, measure="GAD-7", value=value)

    assert goals.get(world.active).readings["GAD-7"].value == value
    audited = printed(goals.audit(world.active))[-1]["details"]["value"]
    [plan] = [p for p in printed(goals.plan("client-7")) if p["goal_id"] == str(world.active)]
    latest = plan["measures"][0]["latest"]
    assert audited == value, f"the audit trail says {audited!r}, not {value!r}"
    assert latest == value, f"the plan says {latest!r}, not {value!r}"


def test_newlines_and_tabs_are_the_control_characters_allowed(world: World) -> None:
    goals = world.goals
    text = "First line\n\tindented second line\n"

    version = goals.hold(world.active, by=DR, reason=text)

    assert goals.get(world.active, version=version).status_reason == text
    assert printed(goals.audit(world.active))[-1]["reason"] == text


# -- dates at the ends of the calendar ------------------------------------------------------------


SECONDS_EAST = timezone(timedelta(hours=5, minutes=30, seconds=7))
EDGE_DATES = [
    pytest.param("draft", "target_date", date(1, 1, 1), id="target-year-1"),
    pytest.param("draft", "target_date", date(9999, 12, 31), id="target-year-9999"),
    pytest.param("draft", "occurred_at", datetime(1, 1, 1, tzinfo=UTC),
                 id="draft-occurred-in-year-1-utc"),
    pytest.param("draft", "occurred_at", datetime(999, 12, 31, 12, tzinfo=UTC),
                 id="draft-occurred-in-year-999"),
    pytest.param("draft", "occurred_at", datetime(1, 1, 1, 12, tzinfo=EAST),
                 id="draft-occurred-in-year-1-east-of-utc-after-utc-midnight"),
    pytest.param("draft", "occurred_at", datetime(2025, 3, 3, 9, 55, tzinfo=UTC).astimezone(
                 SECONDS_EAST), id="draft-offset-with-seconds"),
    pytest.param("review", "next_review_on", date(9999, 12, 31), id="next-review-year-9999"),
    pytest.param("revise", "target_date", date(9999, 12, 31), id="revised-target-year-9999"),
    pytest.param("revise", "target_date", date(1, 1, 1), id="revised-target-year-1"),
]


@pytest.mark.parametrize(("command", "field", "value"), EDGE_DATES)
def test_dates_at_the_ends_of_the_calendar_round_trip_or_are_refused_by_name(
        world: World, command: str, field: str, value: date) -> None:
    goals = world.goals
    before = recorded(goals)
    outcomes: list[object] = []
    refusal = attempt(lambda w: outcomes.append(cmd(command, **{field: value})(w)), world)
    if refusal is not None:
        assert isinstance(refusal, InvalidCommand), f"{type(refusal).__name__}: {refusal}"
        assert refusal.field == field, str(refusal)
        assert field in str(refusal)
        still_usable(world, before)
        return
    # Accepted: then it reads back exactly, and every way of reading the store still works.
    [outcome] = outcomes
    assert isinstance(outcome, goalflow.Outcome)
    goal = goals.get(outcome.goal_id)
    event = goals.history(outcome.goal_id)[-1]
    if field == "occurred_at":
        assert isinstance(value, datetime)
        assert event.occurred_at == goal.drafted_at == value
        assert event.occurred_at.utcoffset() == value.utcoffset()
    else:
        assert getattr(goal, field) == value
    goal.to_dict()
    goals.smart_check(outcome.goal_id)
    assert printed(goals.audit(outcome.goal_id))[-1]["version"] == outcome.version
    goals.audit(late_days=2)
    goals.audit(since=datetime(2025, 1, 1, tzinfo=UTC))
    goals.audit(until=datetime(2030, 1, 1, tzinfo=UTC))
    goals.plan("client-7", include_closed=True)
    goals.goal_index()
    goals.reviews(as_of=world.clock.now.date())
    goals.reviews(as_of=date(2999, 12, 31), overdue=True)
    goals.reviews(as_of=date(1900, 1, 1))
    assert recorded(goals) == (before[0] + 1, before[1], before[2] + 1)
    version = goals.draft(SUBJECT, STATEMENT, by=DR, command_id="after-the-edge-date")
    assert goals.get(version).version == 1
    assert recorded(goals)[:2] == (before[0] + 2, before[1] + 1)

"""The people, goals and moments the unit tests share, and builders for goals in each status.

Every moment is fixed: the domain never reads the clock, so neither do its tests. The clinic
keeps Eastern Standard Time (UTC-05:00), so an offset that goes missing shows up as a
five-hour error rather than passing silently as UTC.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypedDict
from uuid import UUID, uuid4

import attrs
import pytest

from goalflow.domain import Actor, Goal, Measure, Subject

# -- moments -----------------------------------------------------------------------------

CLINIC_TIME = timezone(timedelta(hours=-5))
DRAFTED_AT = datetime(2024, 3, 4, 9, 30, tzinfo=CLINIC_TIME)  # a Monday morning session
TARGET_DATE = date(2024, 4, 4)  # "by the end of one month"


class When(TypedDict):
    """When something happened clinically, and when it was entered."""

    occurred_at: datetime
    recorded_at: datetime


def moment(*, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment after the anxiety goal was drafted."""
    return DRAFTED_AT + timedelta(days=days, hours=hours, minutes=minutes)


def at(*, days: float = 0, hours: float = 0, minutes: float = 0) -> When:
    """``occurred_at`` and ``recorded_at`` for something entered as it happened."""
    when = moment(days=days, hours=hours, minutes=minutes)
    return {"occurred_at": when, "recorded_at": when}


# Later than anything the builders do, so a test's own command never predates the set-up.
LATER = at(days=2)

# -- people ------------------------------------------------------------------------------

DR_OKAFOR = Actor("dr-okafor", "clinician")
DR_LINDQVIST = Actor("dr-lindqvist", "supervisor")
MAYA = Actor("maya", "client")
ROSA = Actor("rosa", "guardian", on_behalf_of="maya")  # Maya's mother
JONAH = Actor("jonah", "client")  # another of Dr Okafor's clients
JONAHS_FATHER = Actor("jonahs-father", "guardian", on_behalf_of="jonah")

MAYAS_SUBJECT = Subject.client("maya")
TUESDAY_GROUP = Subject.group("tuesday-anxiety-group", ["maya", "jonah", "priya"])

# -- the anxiety goal (DOMAIN.md) ---------------------------------------------------------

STATEMENT = (
    "By the end of one month, use relaxation, daily exercise and constructive expression of"
    " emotions to manage anxiety, measured by self-report and observation"
)
CLIENT_WORDS = "I want to stop dreading Monday mornings"
BREATHING = "Learn two breathing exercises"
YOGA = "10 minutes of yoga daily"
EXPRESSING = "Practise expressing emotions constructively in session"
GAD7 = Measure("GAD-7", baseline=15, target=7)
CALM = Measure("self-rated calm", baseline=3, target=7, direction="increase")

ANXIETY_GOAL: dict[str, Any] = {
    "statement": STATEMENT,
    "client_words": CLIENT_WORDS,
    "addresses": ("Generalised anxiety disorder",),
    "target_date": TARGET_DATE,
    "strengths": ("Walks her dog every day", "Close to her sister"),
    "measures": (GAD7, CALM),
    "steps": (BREATHING, YOGA, EXPRESSING),
}

STATUSES = (
    "proposed",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "rejected",
    "entered-in-error",
)
FINAL = ("completed", "cancelled", "rejected", "entered-in-error")


def draft_anxiety_goal(
    *, subject: Subject = MAYAS_SUBJECT, goal_id: UUID | None = None, **overrides: Any
) -> Goal:
    """The anxiety goal, drafted with Maya by Dr Okafor; no pending events."""
    terms = {**ANXIETY_GOAL, **overrides}
    goal = Goal.draft(goal_id=goal_id or uuid4(), subject=subject, by=DR_OKAFOR, **at(), **terms)
    goal.collect_events()
    return goal


def agree_all(goal: Goal, *, hours: float = 1) -> Goal:
    """Every required party signs the current terms."""
    for party in goal.awaiting_agreement_from:
        goal.agree(
            by=Actor(party, "client"),
            terms_version=goal.terms_version,
            method="signature",
            **at(hours=hours),
        )
    goal.collect_events()
    return goal


def goal_in(status: str, *, subject: Subject = MAYAS_SUBJECT) -> Goal:
    """The anxiety goal brought to ``status``, with no pending events.

    Once active, the yoga step (s2) is completed, so a test can both complete a step (s1)
    and reopen one (s2).
    """
    goal = draft_anxiety_goal(subject=subject)
    if status == "rejected":
        goal.withdraw(by=DR_OKAFOR, reason="Maya moved to another clinic", **at(hours=1))
    elif status == "entered-in-error":
        goal.enter_in_error(by=DR_OKAFOR, reason="Drafted in the wrong chart", **at(hours=1))
    elif status != "proposed":
        agree_all(goal, hours=1)
        goal.complete_step(by=MAYA, step_id="s2", **at(hours=2))
        if status == "on-hold":
            goal.hold(by=DR_OKAFOR, reason="Maya is in hospital for two weeks", **at(hours=3))
        elif status == "completed":
            goal.achieve(by=DR_OKAFOR, evidence="GAD-7 at 6 for four weeks", **at(hours=3))
        elif status == "cancelled":
            goal.discontinue(by=DR_OKAFOR, reason="Maya ended treatment", **at(hours=3))
        elif status != "active":
            raise ValueError(f"no builder for status {status!r}")
    goal.collect_events()
    assert goal.status == status
    return goal


# -- every command, with arguments that succeed in a status that allows it ---------------

Command = Callable[[Goal, Actor, When], None]

COMMANDS: dict[str, Command] = {
    "agree": lambda g, by, when: g.agree(
        by=by, terms_version=g.terms_version, method="signature", **when
    ),
    "disagree": lambda g, by, when: g.disagree(
        by=by, reason="Yoga feels impossible with my knee", **when
    ),
    "add_step": lambda g, by, when: g.add_step(by=by, description="Keep a worry diary", **when),
    "complete_step": lambda g, by, when: g.complete_step(by=by, step_id="s1", **when),
    "reopen_step": lambda g, by, when: g.reopen_step(
        by=by, step_id="s2", reason="Stopped the yoga after a week", **when
    ),
    "record_progress": lambda g, by, when: g.record_progress(
        by=by, measure="GAD-7", value=11, **when
    ),
    "revise": lambda g, by, when: g.revise(
        by=by, reason="Meditation made Maya feel worse", add_steps=["Keep a worry diary"], **when
    ),
    "review": lambda g, by, when: g.review(
        by=by, outcome="continue", notes="Sleeping better", next_review_on=date(2024, 4, 1), **when
    ),
    "hold": lambda g, by, when: g.hold(by=by, reason="Maya is travelling for a month", **when),
    "resume": lambda g, by, when: g.resume(by=by, reason="Maya is back", **when),
    "achieve": lambda g, by, when: g.achieve(by=by, evidence="GAD-7 at 6 for four weeks", **when),
    "discontinue": lambda g, by, when: g.discontinue(by=by, reason="Maya ended treatment", **when),
    "withdraw": lambda g, by, when: g.withdraw(by=by, reason="Maya chose another goal", **when),
    "enter_in_error": lambda g, by, when: g.enter_in_error(
        by=by, reason="Entered in the wrong chart", **when
    ),
}

# The lifecycle table of issue 2: where each command may start, where it leads
# (None: the status stays), the event it records and whether it changes the terms.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "agree": ("proposed",),
    "disagree": ("proposed",),
    "add_step": ("proposed",),
    "complete_step": ("active",),
    "reopen_step": ("active",),
    "record_progress": ("active", "on-hold"),
    "revise": ("proposed", "active", "on-hold"),
    "review": ("active", "on-hold"),
    "hold": ("active",),
    "resume": ("on-hold",),
    "achieve": ("active",),
    "discontinue": ("active", "on-hold"),
    "withdraw": ("proposed",),
    "enter_in_error": tuple(s for s in STATUSES if s != "entered-in-error"),
}
LEADS_TO: dict[str, str | None] = {
    "agree": "active",
    "disagree": None,
    "add_step": "proposed",
    "complete_step": None,
    "reopen_step": None,
    "record_progress": None,
    "revise": "proposed",
    "review": None,
    "hold": "on-hold",
    "resume": "active",
    "achieve": "completed",
    "discontinue": "cancelled",
    "withdraw": "rejected",
    "enter_in_error": "entered-in-error",
}
RECORDS: dict[str, type[Goal.Event]] = {
    "agree": Goal.AgreedByClient,
    "disagree": Goal.ClientDisagreed,
    "add_step": Goal.StepAdded,
    "complete_step": Goal.StepCompleted,
    "reopen_step": Goal.StepReopened,
    "record_progress": Goal.ProgressRecorded,
    "revise": Goal.Revised,
    "review": Goal.ReviewHeld,
    "hold": Goal.PutOnHold,
    "resume": Goal.Resumed,
    "achieve": Goal.Achieved,
    "discontinue": Goal.Discontinued,
    "withdraw": Goal.Withdrawn,
    "enter_in_error": Goal.EnteredInError,
}
CHANGES_TERMS = frozenset({"add_step", "revise"})

# Who may do what: agreement is the client's own (or their guardian's); steps and progress
# are also the client's to report; everything else is clinical.
CLIENT_ONLY = frozenset({"agree", "disagree"})
CLIENT_OR_CLINICAL = frozenset({"complete_step", "record_progress"})
CLINICAL_ONLY = frozenset(COMMANDS) - CLIENT_ONLY - CLIENT_OR_CLINICAL


def default_actor(command: str) -> Actor:
    """Someone who may give ``command`` on Maya's goal."""
    return MAYA if command in CLIENT_ONLY | CLIENT_OR_CLINICAL else DR_OKAFOR


def run(command: str, goal: Goal, by: Actor | None = None, *, when: When = LATER) -> None:
    """Give ``command`` to ``goal``, by someone entitled to it unless told, at ``when``."""
    COMMANDS[command](goal, by or default_actor(command), when)


def first_allowed_status(command: str) -> str:
    return ALLOWED_FROM[command][0]


# -- refusals ----------------------------------------------------------------------------


def state_of(goal: Goal) -> dict[str, Any]:
    """Everything the goal holds, deep-copied, so a later change cannot alter it."""
    return copy.deepcopy(vars(goal))


@contextmanager
def refused(
    goal: Goal, error: type[Exception], match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect the command in the block to raise ``error`` and leave ``goal`` untouched."""
    before = state_of(goal)
    version = goal.version
    with pytest.raises(error, match=match) as excinfo:
        yield excinfo
    assert goal.collect_events() == [], "a refused command recorded an event"
    assert goal.version == version
    assert state_of(goal) == before, "a refused command changed the goal"


# -- exact comparison ----------------------------------------------------------------------


def assert_identical(actual: Any, expected: Any, path: str = "value") -> None:
    """Equal, and of exactly the same types all the way down.

    ``==`` alone forgives too much: 15 == 15.0, and two datetimes at the same instant in
    different offsets are equal. A round trip must keep both the type and the offset.
    """
    assert type(actual) is type(expected), (
        f"{path}: {type(actual).__name__} {actual!r} is not {type(expected).__name__} {expected!r}"
    )
    if isinstance(expected, float):
        assert repr(actual) == repr(expected), f"{path}: {actual!r} != {expected!r}"  # -0.0
    elif isinstance(expected, datetime):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        assert actual.utcoffset() == expected.utcoffset(), f"{path}: offset lost: {actual!r}"
    elif attrs.has(type(expected)):
        for field in attrs.fields(type(expected)):
            assert_identical(
                getattr(actual, field.name),
                getattr(expected, field.name),
                f"{path}.{field.name}",
            )
    elif isinstance(expected, tuple | list):
        assert len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for n, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_identical(a, e, f"{path}[{n}]")
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key, value in expected.items():
            assert_identical(actual[key], value, f"{path}[{key!r}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_same_event(actual: Any, expected: Any) -> None:
    assert type(actual) is type(expected)
    assert_identical(dict(vars(actual)), dict(vars(expected)), type(expected).__name__)

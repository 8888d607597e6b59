"""The people and the goal the integration tests share: Maya's anxiety goal with Dr Lee.

From the practice in DOMAIN.md: "by the end of one month the client uses relaxation, daily
exercise and constructive expression of emotions to manage anxiety", broken into steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from uuid import UUID

import goalflow
from goalflow import Actor, Goal, Measure, Subject

DR_LEE = Actor("dr-lee", "clinician")
DR_OKAFOR = Actor("dr-okafor", "supervisor")
MAYA = Actor("client-7", "client")
MAYAS_MOTHER = Actor("guardian-3", "guardian", on_behalf_of="client-7")
ANOTHER_CLIENT = Actor("client-9", "client")

MAYA_SUBJECT = Subject.client("client-7")
GAD7 = Measure("GAD-7", baseline=15, target=7, direction="decrease")

STATEMENT = (
    "By the end of one month, Maya uses relaxation, daily exercise and constructive"
    " expression of emotions to manage anxiety, measured by self-report and observation"
)
BREATHING = "Learn two breathing exercises"
MEDITATION = "20 minutes of guided meditation daily"
EXPRESSING = "Practise expressing emotions constructively in session"
YOGA = "10 minutes of yoga daily"

# A month after the tests' clock starts (CLINIC_OPENS in tests/conftest.py, 2025-03-03).
ONE_MONTH_ON = date(2025, 4, 3)


def draft_anxiety_goal(goals: goalflow.Goals, **overrides: Any) -> UUID:
    """Draft Maya's anxiety goal, SMART-complete unless ``overrides`` say otherwise."""
    terms: dict[str, Any] = {
        "target_date": ONE_MONTH_ON,
        "measures": [GAD7],
        "steps": [BREATHING, MEDITATION, EXPRESSING],
        "strengths": ["walks her dog every morning", "close to her sister"],
        "addresses": ["generalised anxiety disorder"],
        "client_words": "I want to stop lying awake worrying about work",
    }
    terms.update(overrides)
    statement = terms.pop("statement", STATEMENT)
    by = terms.pop("by", DR_LEE)
    return goals.draft(MAYA_SUBJECT, statement, by=by, **terms)


def agreed_anxiety_goal(goals: goalflow.Goals) -> UUID:
    """Maya's anxiety goal, drafted and signed by her: active at version 2."""
    goal_id = draft_anxiety_goal(goals)
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    return goal_id


def replay(events: Iterable[Goal.Event]) -> Goal:
    """The goal the events make, applied one by one with no snapshot and no store."""
    goal: Any = None
    for event in events:
        goal = event.mutate(goal)  # type: ignore[attr-defined]
    assert goal is not None, "no events to replay"
    return goal  # type: ignore[no-any-return]


def recorded_event_count(goals: goalflow.Goals) -> int:
    """How many events the whole store holds (across all goals)."""
    # Counted, not read off the highest notification id: a PostgreSQL sequence
    # skips the ids of inserts that were rolled back (a lost race, a replay).
    recorder = goals.store.recorder
    return len(recorder.select_notifications(start=None, limit=10**9))  # type: ignore[attr-defined]


def at_once(call: Callable[[int], object], workers: int) -> list[object]:
    """Run ``call(i)`` in ``workers`` threads released together; results or exceptions."""
    start = threading.Barrier(workers)

    def run(i: int) -> object:
        start.wait()
        try:
            return call(i)
        except Exception as e:  # returned, so a failure shows which and how
            return e

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))

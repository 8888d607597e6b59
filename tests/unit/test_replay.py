"""``replay``: a goal loaded from its events is the goal its events' ``mutate`` would give."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from eventsourcing.domain import OriginatorIDError, OriginatorVersionError

from goalflow.domain import Goal
from goalflow.domain.goal import replay

from .builders import (
    ANXIETY_GOAL,
    DR_OKAFOR,
    MAYA,
    MAYAS_SUBJECT,
    at,
    state_of,
)


def _events() -> list[Goal.Event]:
    """A goal's whole life, terms changes included (a step added, agreement again)."""
    goal = Goal.draft(goal_id=uuid4(), subject=MAYAS_SUBJECT, by=DR_OKAFOR, **at(),
                      **ANXIETY_GOAL)
    goal.add_step(by=DR_OKAFOR, description="Walk the dog before work", **at(minutes=5))
    goal.agree(by=MAYA, terms_version=goal.terms_version, method="signature", **at(hours=1))
    goal.complete_step(by=MAYA, step_id="s2", **at(hours=2))
    goal.record_progress(by=MAYA, measure="GAD-7", value=11, **at(days=1))
    goal.record_progress(by=MAYA, measure="GAD-7", value=9, **at(days=1, hours=1))
    goal.hold(by=DR_OKAFOR, reason="Maya is in hospital for two weeks", **at(days=1, hours=2))
    return list(goal.collect_events())


def _mutated(events: list[Goal.Event]) -> Goal:
    goal = None
    for event in events:
        goal = event.mutate(goal)
    assert goal is not None
    return goal


def test_replay_gives_the_state_mutate_gives_from_the_first_event_or_from_a_midpoint() -> None:
    events = _events()
    expected = state_of(_mutated(events))
    replayed = replay(None, events)
    assert replayed is not None
    assert state_of(replayed) == expected
    assert replayed.version == len(events)
    assert replayed.modified_on == events[-1].timestamp
    assert replayed.terms_version == 2  # the added step changed the terms
    # From a goal part-way through (as after a snapshot).
    resumed = replay(_mutated(events[:3]), events[3:])
    assert resumed is not None
    assert state_of(resumed) == expected


def test_replay_stops_before_the_first_event_recorded_after_the_moment() -> None:
    events = _events()
    cut = events[4].timestamp
    replayed = replay(None, events, recorded_by=cut)
    assert replayed is not None
    assert state_of(replayed) == state_of(_mutated(events[:5]))
    assert replay(None, events, recorded_by=events[0].timestamp - timedelta(seconds=1)) is None


def test_replay_refuses_a_skipped_version_and_another_goals_event() -> None:
    events = _events()
    with pytest.raises(OriginatorVersionError):
        replay(None, events[:2] + events[3:])
    other = _events()
    with pytest.raises(OriginatorIDError):
        replay(None, [*events[:2], other[2]])

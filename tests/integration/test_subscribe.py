"""goals.subscribe(): new events in log order as they are recorded, restartable from a
position, for an EHR that reacts to changes without writing a read model."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from anxiety_goal import DR_LEE, MAYA, agreed_anxiety_goal, draft_anxiety_goal

import goalflow
from goalflow import InvalidCommand


def test_it_gives_every_event_in_log_order_then_ends_when_idle(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    other = draft_anxiety_goal(goals)
    got = list(goals.subscribe(idle=0.05, poll=0.01))
    assert [(d.event.originator_id, type(d.event).__name__) for d in got] == [
        (goal_id, "Drafted"), (goal_id, "AgreedByClient"), (other, "Drafted")]
    positions = [d.position for d in got]
    assert positions == sorted(positions)


def test_it_restarts_after_the_last_position_handled(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    first = list(goals.subscribe(idle=0.05, poll=0.01))
    goals.complete_step(goal_id, by=MAYA, step_id="s1")
    again = list(goals.subscribe(after=first[-1].position, idle=0.05, poll=0.01))
    assert [type(d.event).__name__ for d in again] == ["StepCompleted"]


def test_it_filters_by_goal_and_type(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    draft_anxiety_goal(goals)
    goals.complete_step(goal_id, by=MAYA, step_id="s1")
    mine = list(goals.subscribe(goal_id=goal_id, types=["Drafted", "StepCompleted"],
                                idle=0.05, poll=0.01))
    assert [(d.event.originator_id, type(d.event).__name__) for d in mine] == [
        (goal_id, "Drafted"), (goal_id, "StepCompleted")]


def test_it_hears_events_another_writer_records_while_it_waits(store_url, clock) -> None:
    with goalflow.open(store_url, clock=clock) as writer, \
            goalflow.open(store_url, clock=clock, readonly=True) as reader:
        goal_id = agreed_anxiety_goal(writer)
        start = list(reader.subscribe(idle=0.05, poll=0.01))[-1].position
        heard: list[Any] = []
        subscription = reader.subscribe(after=start, idle=5, poll=0.05)
        listening = threading.Thread(target=lambda: heard.extend(
            d for _, d in zip(range(2), subscription, strict=False)))
        listening.start()
        writer.complete_step(goal_id, by=MAYA, step_id="s1")
        writer.review(goal_id, by=DR_LEE, outcome="continue")
        listening.join(10)
        assert not listening.is_alive()
    assert [type(d.event).__name__ for d in heard] == ["StepCompleted", "ReviewHeld"]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"after": -1}, "after must be a log position"),
    ({"after": "5"}, "after must be a log position"),
    ({"poll": 0}, "poll must be from 0.01"),
    ({"poll": "fast"}, "poll must be a number"),
    ({"idle": "soon"}, "idle must be a number"),
    ({"types": ["Drafed"]}, "unknown event type 'Drafed'"),
    ({"goal_id": "not-a-goal"}, "is not a goal id"),
])
def test_bad_arguments_are_refused_before_it_starts(goals, arguments: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(InvalidCommand, match=message):
        goals.subscribe(**arguments)

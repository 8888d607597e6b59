"""Every command says where in the log it recorded its event (``Outcome.position``), and a
read can wait for a position (``get(min_position=...)``, ``wait_for_position``): on both
stores. (On a replica, where the waiting matters: tests/replica.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from anxiety_goal import DR_LEE, MAYA, MAYA_SUBJECT, agreed_anxiety_goal, draft_anxiety_goal

import goalflow
from goalflow.errors import ReplicaBehind


def log(goals: goalflow.Goals) -> dict[int, tuple[Any, int]]:
    """Each event's (goal, version), by position."""
    return {n.id: (n.originator_id, n.originator_version) for n in goals.store.scan()}


def test_each_command_s_position_is_that_of_its_event_in_the_log(
        goals: goalflow.Goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    held = goals.execute("hold", goal_id=goal_id, by=DR_LEE, reason="Away",
                         command_id="ehr-1")
    batch = list(goals.execute_many([
        ("resume", {"goal_id": goal_id, "by": DR_LEE, "command_id": "ehr-2"}),
        ("hold", {"goal_id": goal_id, "by": DR_LEE, "reason": "Away again"}),
        ("resume", {"goal_id": goal_id, "by": DR_LEE, "command_id": "ehr-2"}),  # a replay
    ]))
    with goals.batch() as unit:
        unit.add("resume", goal_id=goal_id, by=DR_LEE)
        unit.add("draft", subject=MAYA_SUBJECT, statement="Sleep better", by=DR_LEE)
    at = log(goals)
    for outcome in [held, *batch, *unit.outcomes]:
        assert outcome.position is not None
        assert at[outcome.position] == (outcome.goal_id, outcome.version), outcome
    assert batch[2] == goalflow.Outcome(goal_id, batch[0].version, "Resumed", replayed=True,
                                        position=batch[0].position)
    assert unit.outcomes[-1].position == max(at)
    # A retry of a recorded command gives the position it was first recorded at.
    again = goals.execute("hold", goal_id=goal_id, by=DR_LEE, reason="Away",
                          command_id="ehr-1")
    assert (again.replayed, again.position) == (True, held.position)
    assert again.to_dict()["position"] == held.position


def test_a_dry_run_records_nothing_and_has_no_position(goals: goalflow.Goals) -> None:
    goal_id = draft_anxiety_goal(goals)
    judged = list(goals.dry_run([("agree", {"goal_id": goal_id, "by": MAYA,
                                            "terms_version": 1, "method": "signature"})]))
    assert [getattr(j, "position", "error") for j in judged] == [None]


def test_a_read_at_a_recorded_position_does_not_wait(goals: goalflow.Goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    position = goals.execute("hold", goal_id=goal_id, by=DR_LEE, reason="Away").position
    assert position is not None
    assert goals.get(goal_id, min_position=position, timeout=0).status == "on-hold"
    assert goals.wait_for_position(position, timeout=0) == position
    assert goals.wait_for_position(0, timeout=0) == position


def test_a_position_the_store_never_recorded_times_out_naming_its_head(
        goals: goalflow.Goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    with goals.store.recorder.transaction(commit=False) as tx:
        head = goals.store.head(tx)
    with pytest.raises(ReplicaBehind) as behind:
        goals.get(goal_id, min_position=head + 5, timeout=0.05)
    assert re.fullmatch(
        rf"store {re.escape(str(goals.store.url))} holds the log up to position {head}, not"
        rf" {head + 5} \(waited [\d.]+ s\): {head + 5} is not a position it recorded",
        str(behind.value))
    assert behind.value.waited >= 0.05
    assert (behind.value.position, behind.value.replayed) == (head + 5, head)
    assert not goals.store.replica
    assert goals.replay() is None

"""A command retried with its ``command_id`` (the EHR's retry after a timeout) happens once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from anxiety_goal import (
    DR_LEE,
    MAYA,
    MAYA_SUBJECT,
    STATEMENT,
    agreed_anxiety_goal,
    at_once,
    draft_anxiety_goal,
    recorded_event_count,
)

import goalflow
from goalflow import CommandIdReused, GoalflowError

THREADS = 8


def test_a_retried_draft_returns_the_goal_it_drafted_and_records_nothing(goals):
    goal_id = draft_anxiety_goal(goals, command_id="ehr-draft-4411")
    events = recorded_event_count(goals)
    assert draft_anxiety_goal(goals, command_id="ehr-draft-4411") == goal_id
    assert recorded_event_count(goals) == events == 1


def test_a_retried_command_returns_its_original_version_after_the_goal_moved_on(goals):
    goal_id = draft_anxiety_goal(goals)
    assert goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                       command_id="ehr-8811") == 2
    assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812") == 3
    assert goals.complete_step(goal_id, by=MAYA, step_id="s2") == 4

    # Agreeing again would now be refused; the retry is recognised, not re-run.
    assert goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                       command_id="ehr-8811") == 2
    assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812") == 3
    assert goals.get(goal_id).version == 4
    assert len(goals.history(goal_id)) == 4


def test_a_retry_reports_the_original_outcome_as_replayed(goals):
    goal_id = agreed_anxiety_goal(goals)
    first = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1",
                          note=None, command_id="ehr-8812")
    again = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1",
                          note=None, command_id="ehr-8812")
    assert (first.version, first.event, first.replayed) == (3, "StepCompleted", False)
    assert (again.goal_id, again.version, again.event, again.replayed) == (
        goal_id, 3, "StepCompleted", True
    )


def test_a_command_retried_after_the_store_is_reopened_still_happens_once(store_url, clock):
    with goalflow.open(store_url, clock=clock) as goals:
        goal_id = draft_anxiety_goal(goals, command_id="ehr-draft-4411")
        goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                    command_id="ehr-8811")
        goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=12,
                              command_id="ehr-8813")

    clock.advance(hours=2)
    with goalflow.open(store_url, clock=clock) as goals:
        assert draft_anxiety_goal(goals, command_id="ehr-draft-4411") == goal_id
        assert goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                           command_id="ehr-8811") == 2
        assert goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=12,
                                     command_id="ehr-8813") == 3
        assert recorded_event_count(goals) == 3
        assert goals.get(goal_id).readings["GAD-7"].value == 12


@pytest.mark.parametrize(
    "different",
    [
        pytest.param({"value": 11}, id="another-value"),
        pytest.param({"measure": "PHQ-9"}, id="another-measure"),
        pytest.param({"by": DR_LEE}, id="another-actor"),
        pytest.param({"occurred_at": "an hour ago"}, id="another-time"),
        pytest.param({"expected_version": 3}, id="an-expected-version"),
    ],
)
def test_the_same_command_id_with_different_content_is_refused(goals, clock, different):
    goal_id = agreed_anxiety_goal(goals)
    command = {"by": MAYA, "measure": "GAD-7", "value": 12, "command_id": "ehr-8813"}
    goals.record_progress(goal_id, **command)
    events = recorded_event_count(goals)
    if different.get("occurred_at"):
        different["occurred_at"] = clock.now - timedelta(hours=1)
    with pytest.raises(CommandIdReused) as refused:
        goals.record_progress(goal_id, **{**command, **different})
    assert refused.value.command_id == "ehr-8813"
    assert recorded_event_count(goals) == events


def test_a_command_id_used_for_another_goal_or_command_is_refused(goals):
    goal_id = agreed_anxiety_goal(goals)
    other_goal = agreed_anxiety_goal(goals)
    goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812")
    events = recorded_event_count(goals)
    with pytest.raises(CommandIdReused):
        goals.complete_step(other_goal, by=MAYA, step_id="s1", command_id="ehr-8812")
    with pytest.raises(CommandIdReused):
        goals.reopen_step(goal_id, by=DR_LEE, step_id="s1", reason="Not really done",
                          command_id="ehr-8812")
    with pytest.raises(CommandIdReused):
        goals.draft(MAYA_SUBJECT, STATEMENT, by=DR_LEE, command_id="ehr-8812")
    assert recorded_event_count(goals) == events
    assert goals.get(other_goal).steps[0].status == "open"


def test_a_refused_command_does_not_use_up_its_command_id(goals):
    goal_id = draft_anxiety_goal(goals)
    with pytest.raises(GoalflowError):
        # Not yet active: completing a step is refused.
        goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812")
    goals.agree(goal_id, by=MAYA, terms_version=1, method="signature")
    assert goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812") == 3


@pytest.mark.parametrize("services", ["shared", "one-per-thread"])
def test_concurrent_retries_of_a_step_completion_record_it_once(goals, store_url, clock,
                                                                 services):
    goal_id = agreed_anxiety_goal(goals)
    own = [goalflow.open(store_url, clock=clock) for _ in range(THREADS)] \
        if services == "one-per-thread" else [goals] * THREADS
    try:
        # One round per step: the race is real, so give it several chances to show.
        for version, step_id in enumerate(["s1", "s2", "s3"], start=3):
            results = at_once(lambda i, step_id=step_id: own[i].complete_step(
                goal_id, by=MAYA, step_id=step_id, command_id=f"ehr-complete-{step_id}"), THREADS)
            assert results == [version] * THREADS, f"retries of completing {step_id}"
    finally:
        for service in own:
            if service is not goals:
                service.close()
    assert [type(e).__name__ for e in goals.history(goal_id)][2:] == ["StepCompleted"] * 3
    assert recorded_event_count(goals) == 5


def test_a_retry_whose_first_attempt_is_recorded_while_it_runs_returns_the_original_result(
    goals, store_url, clock, monkeypatch
):
    # The race above, made deterministic: the EHR's first attempt (slow, on another
    # worker) is recorded just after this retry looked for its command_id and found none.
    goal_id = agreed_anxiety_goal(goals)
    first_worker = goalflow.open(store_url, clock=clock)
    look_up = goals.store.find_command
    landed = []

    def first_attempt_lands_meanwhile(command_id):
        found = look_up(command_id)
        if found is None and not landed:
            landed.append(first_worker.complete_step(goal_id, by=MAYA, step_id="s1",
                                                     command_id=command_id))
        return found

    monkeypatch.setattr(goals.store, "find_command", first_attempt_lands_meanwhile)
    try:
        retried = goals.complete_step(goal_id, by=MAYA, step_id="s1", command_id="ehr-8812")
    finally:
        first_worker.close()
    assert landed == [3]
    assert retried == 3
    assert recorded_event_count(goals) == 3


@pytest.mark.parametrize("services", ["shared", "one-per-thread"])
def test_concurrent_retries_of_a_draft_draft_one_goal(goals, store_url, clock, services):
    own = [goalflow.open(store_url, clock=clock) for _ in range(THREADS)] \
        if services == "one-per-thread" else [goals] * THREADS
    try:
        results = at_once(lambda i: draft_anxiety_goal(own[i], command_id="ehr-draft-4411"),
                            THREADS)
    finally:
        for service in own:
            if service is not goals:
                service.close()
    assert len(set(results)) == 1, results
    assert not isinstance(results[0], Exception), results[0]
    assert recorded_event_count(goals) == 1
    assert goals.get(results[0]).version == 1

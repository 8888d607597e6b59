"""Writers racing on one goal: expected_version refuses stale writes, the rest are retried."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from anxiety_goal import (
    DR_LEE,
    MAYA,
    agreed_anxiety_goal,
    at_once,
    draft_anxiety_goal,
    recorded_event_count,
)

import goalflow
from goalflow import ConcurrencyError, InvalidTransition

THREADS = 6
COMMANDS_PER_THREAD = 5


def test_a_command_expecting_the_current_version_is_recorded(goals):
    goal_id = draft_anxiety_goal(goals)
    assert goals.agree(goal_id, by=MAYA, terms_version=1, method="signature",
                       expected_version=1) == 2
    assert goals.complete_step(goal_id, by=MAYA, step_id="s1", expected_version=2) == 3


@pytest.mark.parametrize("expected_version", [1, 3, 40])
def test_a_command_expecting_a_version_the_goal_is_not_at_records_nothing(
    goals, expected_version
):
    goal_id = agreed_anxiety_goal(goals)
    with pytest.raises(ConcurrencyError) as refused:
        goals.complete_step(goal_id, by=MAYA, step_id="s1", expected_version=expected_version)
    assert refused.value.goal_id == goal_id
    assert refused.value.expected == expected_version
    # A storage conflict, not a domain refusal.
    assert not isinstance(refused.value, InvalidTransition)
    assert goals.get(goal_id).steps[0].status == "open"
    assert recorded_event_count(goals) == 2


def test_of_two_writers_expecting_the_same_version_only_the_first_is_recorded(goals):
    goal_id = agreed_anxiety_goal(goals)
    seen = goals.get(goal_id).version
    goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=12, expected_version=seen)
    with pytest.raises(ConcurrencyError):
        goals.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=11,
                              expected_version=seen)
    assert goals.get(goal_id).readings["GAD-7"].value == 12
    assert goals.get(goal_id).version == 3


def test_of_writers_racing_with_the_same_expected_version_exactly_one_is_recorded(goals):
    goal_id = agreed_anxiety_goal(goals)
    results = at_once(lambda i: goals.record_progress(goal_id, by=MAYA, measure="GAD-7",
                                                    value=i, expected_version=2), THREADS)
    assert [r for r in results if not isinstance(r, ConcurrencyError)] == [3]
    assert goals.get(goal_id).version == 3
    assert recorded_event_count(goals) == 3


@pytest.mark.parametrize("services", ["shared", "one-per-thread"])
def test_writers_racing_on_one_goal_all_succeed_and_nothing_is_lost(
    goals, store_url, clock, services
):
    goal_id = agreed_anxiety_goal(goals)
    own = [goalflow.open(store_url, clock=clock) for _ in range(THREADS)] \
        if services == "one-per-thread" else [goals] * THREADS

    def record_several(i: int) -> list[int]:
        return [
            own[i].record_progress(goal_id, by=MAYA, measure="GAD-7", value=i * 10 + n)
            for n in range(COMMANDS_PER_THREAD)
        ]

    try:
        results = at_once(record_several, THREADS)
    finally:
        for service in own:
            if service is not goals:
                service.close()
    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == []
    versions = sorted(v for vs in results for v in vs)  # type: ignore[union-attr]
    total = 2 + THREADS * COMMANDS_PER_THREAD
    assert versions == list(range(3, total + 1))
    goal = goals.get(goal_id)
    assert goal.version == total
    assert len(goals.history(goal_id)) == total
    recorded_values = sorted(e.value for e in goals.history(goal_id)[2:])
    assert recorded_values == sorted(i * 10 + n for i in range(THREADS)
                                     for n in range(COMMANDS_PER_THREAD))


def test_a_command_that_loses_a_race_is_checked_again_against_the_fresh_goal(goals):
    goal_id = agreed_anxiety_goal(goals)
    # Two clinicians end the goal at the same moment; only one ending can happen.
    results = at_once(
        lambda i: (goals.achieve(goal_id, by=DR_LEE, evidence="GAD-7 at 6") if i % 2 else
                   goals.discontinue(goal_id, by=DR_LEE, reason="Maya moved away")),
        THREADS,
    )
    successes = [r for r in results if isinstance(r, int)]
    assert successes == [3]
    assert all(isinstance(r, InvalidTransition) for r in results if r not in successes)
    assert goals.get(goal_id).version == 3
    assert goals.get(goal_id).status in ("completed", "cancelled")


def _open_and_draft(url: str, start: multiprocessing.synchronize.Barrier,
                    results: multiprocessing.Queue) -> None:
    """In a process of its own: open the store the moment the others do, draft, report."""
    import traceback

    from anxiety_goal import draft_anxiety_goal

    try:
        start.wait(timeout=60)
        with goalflow.open(url) as goals:
            goal_id = draft_anxiety_goal(goals, target_date=None)
            results.put(("ok", str(goal_id)))
    except BaseException:
        results.put(("failed", traceback.format_exc()))


@pytest.mark.parametrize("store", ["new", "existing"])
def test_processes_opening_one_store_at_once_all_succeed(store_url, store):
    # A new store's tables are made in one transaction (of the first to get the lock);
    # the others wait for it, then find the tables made.
    if store == "existing":
        goalflow.open(store_url).close()
    processes = 4
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = [context.Process(target=_open_and_draft, args=(store_url, start, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [kind for kind, _ in outcomes] == ["ok"] * processes, outcomes
    assert [worker.exitcode for worker in workers] == [0] * processes
    with goalflow.open(store_url) as goals:
        for _, goal_id in outcomes:
            assert goals.get(goal_id).status == "proposed"


def test_an_outcome_counts_the_races_its_command_lost(goals, store_url, clock, monkeypatch):
    goal_id = agreed_anxiety_goal(goals)
    rival = goalflow.open(store_url, clock=clock)
    real_take = goals.store.take
    races = iter([True, True])  # the rival writes between each of two loads and their saves

    def take_then_lose_the_race(gid):
        goal = real_take(gid)
        if next(races, False):
            rival.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=9)
        return goal

    monkeypatch.setattr(goals.store, "take", take_then_lose_the_race)
    try:
        outcome = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1")
    finally:
        rival.close()
    assert (outcome.version, outcome.retries, outcome.replayed) == (5, 2, False)
    assert [type(e).__name__ for e in goals.history(goal_id)][2:] == \
        ["ProgressRecorded", "ProgressRecorded", "StepCompleted"]


def test_a_goal_kept_from_the_last_write_that_another_service_moved_on_is_caught_up(
    goals, store_url, clock
):
    goal_id = agreed_anxiety_goal(goals)  # this service keeps the goal at version 2
    with goalflow.open(store_url, clock=clock) as other:
        other.record_progress(goal_id, by=DR_LEE, measure="GAD-7", value=12)  # version 3

        outcome = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1")

        assert (outcome.version, outcome.retries) == (4, 1)  # its kept copy lost the race
        assert goals.get(goal_id).version == other.get(goal_id).version == 4


def test_a_refusal_by_a_kept_goal_is_judged_again_on_the_goal_as_stored(
    goals, store_url, clock
):
    goal_id = agreed_anxiety_goal(goals)
    goals.complete_step(goal_id, by=MAYA, step_id="s1")  # kept: s1 completed
    with goalflow.open(store_url, clock=clock) as other:
        other.reopen_step(goal_id, by=DR_LEE, step_id="s1", reason="Slipped back")

        # By the kept copy s1 is done already; as stored it is open again.
        outcome = goals.execute("complete_step", goal_id=goal_id, by=MAYA, step_id="s1")

    assert (outcome.version, outcome.event) == (5, "StepCompleted")
    assert recorded_event_count(goals) == 5


def test_a_command_that_loses_every_race_says_so_without_an_expected_version(
        monkeypatch: pytest.MonkeyPatch, clock: Any) -> None:
    from eventsourcing.persistence import IntegrityError

    import goalflow.application

    goals = goalflow.open("memory://", clock=clock)
    goal_id = agreed_anxiety_goal(goals)

    def always_beaten(*args: object, **kwargs: object) -> None:
        raise IntegrityError("another writer got there first")

    monkeypatch.setattr(goals.store, "append_many", always_beaten)
    monkeypatch.setattr(goalflow.application, "_backoff", lambda attempt: None)
    with pytest.raises(goalflow.ConcurrencyError) as raised:
        goals.hold(goal_id, by=DR_LEE, reason="away")
    assert str(raised.value) == (
        f"goal {goal_id} was changed by other writers 20 times while this command was being"
        " recorded; nothing was recorded: try again")
    assert raised.value.expected is None
    goals.close()

"""All or nothing: ``execute_many(atomic=True)`` and ``goals.batch()`` record every command
of a unit of work in one transaction, or none of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from anxiety_goal import (
    BREATHING,
    DR_LEE,
    GAD7,
    MAYA,
    MAYA_SUBJECT,
    ONE_MONTH_ON,
    STATEMENT,
    agreed_anxiety_goal,
    recorded_event_count,
)

import goalflow
from goalflow import InvalidCommand, InvalidTransition, StoreError

DRAFT: dict[str, Any] = {
    "subject": MAYA_SUBJECT, "statement": STATEMENT, "by": DR_LEE, "target_date": ONE_MONTH_ON,
    "measures": [GAD7], "steps": [BREATHING], "addresses": ["generalised anxiety disorder"],
}


def draft_and_agree(goal_id: Any, terms_version: int = 1) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("draft", {"goal_id": goal_id, **DRAFT}),
        ("agree", {"goal_id": goal_id, "by": MAYA, "terms_version": terms_version,
                   "method": "signature"}),
    ]


def test_an_atomic_run_records_every_command(goals) -> None:
    goal_id = uuid4()
    outcomes = list(goals.execute_many(draft_and_agree(goal_id), atomic=True))
    assert [(o.version, o.event) for o in outcomes] == [(1, "Drafted"), (2, "AgreedByClient")]
    assert goals.get(goal_id).status == "active"


def test_a_refusal_in_an_atomic_run_records_none_of_it(goals) -> None:
    """The draft is not kept when the agreement that follows it is refused."""
    goal_id = uuid4()
    with pytest.raises(InvalidTransition, match="terms version 2"):
        list(goals.execute_many(draft_and_agree(goal_id, terms_version=2), atomic=True))
    assert not goals.store.exists(goal_id)
    assert recorded_event_count(goals) == 0


def test_a_bad_item_in_an_atomic_run_records_none_of_it(goals) -> None:
    existing = agreed_anxiety_goal(goals)

    def commands() -> Iterator[tuple[str, dict[str, Any]]]:
        yield ("record_progress", {"goal_id": existing, "by": DR_LEE, "measure": "GAD-7",
                                   "value": 9})
        raise InvalidCommand("line 2: not JSON", field="line")

    with pytest.raises(InvalidCommand, match="line 2"):
        list(goals.execute_many(commands(), atomic=True))
    assert recorded_event_count(goals) == 2


def test_a_batch_records_its_commands_when_the_block_ends(goals) -> None:
    with goals.batch() as batch:
        goal_id = batch.add("draft", **DRAFT)
        batch.add("agree", goal_id=goal_id, by=MAYA, terms_version=1, method="signature")
        assert not goals.store.exists(goal_id)  # nothing yet
    assert [o.event for o in batch.outcomes] == ["Drafted", "AgreedByClient"]
    assert goals.get(goal_id).status == "active"


def test_an_error_in_the_block_records_nothing(goals) -> None:
    def unit_of_work() -> None:
        with goals.batch() as batch:
            batch.add("draft", **DRAFT)
            raise RuntimeError("the EHR's own failure")

    with pytest.raises(RuntimeError):
        unit_of_work()
    assert recorded_event_count(goals) == 0


def test_a_refusal_at_the_end_of_the_block_records_nothing(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)

    def unit_of_work() -> None:
        with goals.batch() as batch:
            batch.add("complete_step", goal_id=goal_id, by=MAYA, step_id="s1")
            batch.add("complete_step", goal_id=goal_id, by=MAYA, step_id="s1")  # done by then

    with pytest.raises(InvalidTransition, match="s1"):
        unit_of_work()
    assert recorded_event_count(goals) == 2
    assert goals.get(goal_id).version == 2


def test_a_bad_argument_is_refused_when_it_is_added(goals) -> None:
    with goals.batch() as batch:
        with pytest.raises(InvalidCommand, match="goal_id"):
            batch.add("agree", by=MAYA, terms_version=1, method="signature")
        with pytest.raises(InvalidCommand, match="unknown command"):
            batch.add("delete", goal_id=uuid4())  # type: ignore[arg-type]
    assert batch.outcomes == []


def test_a_batch_is_recorded_once(goals) -> None:
    with goals.batch() as batch:
        batch.add("draft", **DRAFT)
    with pytest.raises(InvalidCommand, match="recorded already"):
        batch.add("draft", **DRAFT)


def test_an_atomic_run_that_loses_a_race_is_judged_again_whole(
    goals, store_url, clock, monkeypatch
) -> None:
    goal_id = agreed_anxiety_goal(goals)
    real_append = goals.store.append_many
    rival = goalflow.open(store_url, clock=clock)

    def lose_the_race_once(*args: Any, **kwargs: Any) -> list[int]:
        monkeypatch.setattr(goals.store, "append_many", real_append)
        rival.complete_step(goal_id, by=MAYA, step_id="s2")
        return real_append(*args, **kwargs)

    monkeypatch.setattr(goals.store, "append_many", lose_the_race_once)
    commands = [
        ("record_progress", {"goal_id": goal_id, "by": DR_LEE, "measure": "GAD-7",
                             "value": 9}),
        # Fine before the rival's write, refused after it: so the whole run is refused,
        # and the progress that came before it in the run is not kept either.
        ("complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s2"}),
    ]
    try:
        with pytest.raises(InvalidTransition, match="s2"):
            list(goals.execute_many(commands, atomic=True))
    finally:
        rival.close()
    assert [type(e).__name__ for e in goals.history(goal_id)][2:] == ["StepCompleted"]


def test_a_read_only_store_refuses_a_batch(store_url, clock) -> None:
    goalflow.open(store_url, clock=clock).close()
    with goalflow.open(store_url, readonly=True) as goals, goals.batch() as batch, \
            pytest.raises(StoreError, match="read-only"):
        batch.add("draft", **DRAFT)

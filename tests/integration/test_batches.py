"""Goals.execute_many: several commands to a transaction, with the same results as one each."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anxiety_goal import DR_LEE, MAYA, agreed_anxiety_goal, recorded_event_count

import goalflow
from goalflow import CommandIdReused, InvalidCommand, InvalidTransition
from goalflow.commands import parse_command

sys.path.insert(0, str(Path(__file__).parents[1] / "reliability"))
import harness  # the reliability trials' command generator


def until_stopped(outcomes: Iterator[goalflow.Outcome]) -> tuple[list[Any], Exception]:
    """The outcomes yielded before the run stopped, and the error that stopped it."""
    seen = []
    try:
        for outcome in outcomes:
            seen.append(outcome)
    except Exception as e:
        return seen, e
    raise AssertionError(f"the run did not stop: {seen}")


def pairs(commands: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [parse_command(c) for c in commands]


@pytest.mark.parametrize("batch", [1, 7, 100, 10_000])
def test_batches_record_exactly_what_one_command_at_a_time_records(
    store_url: str, batch: int
) -> None:
    sequence = harness.valid_sequence(goals=3, commands=250, seed=21)
    with goalflow.open(store_url) as goals:
        outcomes = list(goals.execute_many(pairs(sequence), batch=batch))

    assert [o.replayed for o in outcomes] == [False] * len(sequence)
    assert harness.same_log_as(store_url, sequence) == []
    tally = harness.Tally()
    for command, outcome in zip(sequence, outcomes, strict=True):
        tally.accept(command["command_id"], outcome)
    assert harness.audit(store_url, tally).clean


def test_a_refused_command_stops_the_run_after_recording_the_ones_before_it(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    commands = [
        ("complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s1"}),
        ("record_progress", {"goal_id": goal_id, "by": DR_LEE, "measure": "GAD-7",
                             "value": 11}),
        ("complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s1"}),  # done already
        ("complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s2"}),
    ]
    seen, error = until_stopped(goals.execute_many(commands, batch=10))

    assert [o.event for o in seen] == ["StepCompleted", "ProgressRecorded"]
    assert isinstance(error, InvalidTransition)
    assert "s1" in str(error)
    assert goals.get(goal_id).version == 4
    assert goals.get(goal_id).steps[1].status == "open"


def test_a_bad_input_stops_the_run_after_recording_the_commands_before_it(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)

    def commands() -> Iterator[tuple[str, dict[str, Any]]]:
        yield "complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s1"}
        raise InvalidCommand("line 2: not valid JSON")

    seen, error = until_stopped(goals.execute_many(commands(), batch=10))

    assert isinstance(error, InvalidCommand)
    assert "line 2" in str(error)
    assert [o.version for o in seen] == [3]
    assert recorded_event_count(goals) == 3


def test_a_command_id_repeated_in_a_batch_is_a_replay_or_a_reuse(goals) -> None:
    goal_id = agreed_anxiety_goal(goals)
    step = {"goal_id": goal_id, "by": MAYA, "step_id": "s1", "command_id": "ehr-1"}
    outcomes = list(goals.execute_many([("complete_step", step), ("complete_step", step)]))

    assert [(o.version, o.replayed) for o in outcomes] == [(3, False), (3, True)]
    assert recorded_event_count(goals) == 3
    other = {**step, "step_id": "s2", "command_id": "ehr-2"}
    with pytest.raises(CommandIdReused):
        list(goals.execute_many([("complete_step", other),
                                 ("complete_step", {**other, "step_id": "s3"})]))
    assert recorded_event_count(goals) == 4  # the first of the pair, then the refusal


def test_a_batch_that_loses_a_race_is_run_again_one_command_at_a_time(
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
                             "value": 9, "command_id": "p-1"}),
        # Judged in the batch before the rival's write, this was fine; run again after
        # it, it is refused: the second judgement is the one that counts.
        ("complete_step", {"goal_id": goal_id, "by": MAYA, "step_id": "s2"}),
    ]
    try:
        seen, error = until_stopped(goals.execute_many(commands))
    finally:
        rival.close()
    assert [(o.version, o.event) for o in seen] == [(4, "ProgressRecorded")]
    assert isinstance(error, InvalidTransition)
    assert "s2" in str(error)
    assert [type(e).__name__ for e in goals.history(goal_id)][2:] == \
        ["StepCompleted", "ProgressRecorded"]


@pytest.mark.parametrize("batch", [0, -1, True, "10"])
def test_a_batch_size_must_be_a_whole_number_from_one(goals, batch: Any) -> None:
    with pytest.raises(InvalidCommand, match="batch"):
        list(goals.execute_many([], batch=batch))

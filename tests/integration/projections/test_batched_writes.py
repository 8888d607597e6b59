"""Read models written for a whole batch of commands in one transaction end up exactly as
when each command is written on its own: every event type, with reads after writes."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from random_clinic import ClinicClock
from read_models import dump_all

import goalflow
from goalflow import demo as demo_scenario
from goalflow.commands import parse_command

TODAY = date(2026, 3, 2)
GOALS = 12  # PostgreSQL prepares a statement used five times on a connection


def story(goal: int) -> list[tuple[str, dict[str, Any]]]:
    goal_id = str(UUID(int=goal + 1))
    return [parse_command({**data, "goal_id": goal_id, "command_id": f"ehr-{goal}-{n}"})
            for n, (_, _, data) in enumerate(demo_scenario.scenario(TODAY))]


def test_batches_of_every_kind_of_command_write_what_one_by_one_writes(
    store_url: str, second_store_url: str, clock: ClinicClock, second_clock: ClinicClock
) -> None:
    clock.now = second_clock.now = demo_scenario.scenario(TODAY)[-1][1]
    with goalflow.open(store_url, clock=clock) as batched, \
            goalflow.open(second_store_url, clock=second_clock) as one_by_one:
        for goal in range(GOALS):
            commands = story(goal)
            # The draft alone first: in the second batch every read model reads rows an
            # earlier transaction wrote, after the others have sent their own writes.
            outcomes = [*batched.execute_many(commands[:1]),
                        *batched.execute_many(commands[1:])]
            assert len(outcomes) == len(commands)
            for command, arguments in commands:
                one_by_one.execute(command, **arguments)

        kinds = {type(e).__name__ for e in batched.history(UUID(int=1))}
        assert {"ClientDisagreed", "Revised", "AgreedByClient", "ReviewHeld"} <= kinds
        assert dump_all(batched) == dump_all(one_by_one)

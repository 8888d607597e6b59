"""Clinical time and record time: both kept, never in the future, never before the draft."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from goalflow.domain import Goal
from goalflow.errors import InvalidCommand

from .builders import (
    ANXIETY_GOAL,
    COMMANDS,
    DR_OKAFOR,
    DRAFTED_AT,
    MAYA,
    MAYAS_SUBJECT,
    STATUSES,
    first_allowed_status,
    goal_in,
    moment,
    refused,
    run,
)

NAIVE = datetime(2024, 3, 5, 9, 30)


def draft(occurred_at: object, recorded_at: object) -> Goal:
    return Goal.draft(
        goal_id=uuid4(),
        subject=MAYAS_SUBJECT,
        by=DR_OKAFOR,
        occurred_at=occurred_at,
        recorded_at=recorded_at,  # type: ignore[arg-type]
        **ANXIETY_GOAL,
    )


# -- drafting ----------------------------------------------------------------------------------


def test_a_goal_drafted_in_last_weeks_session_is_entered_late_and_shows_it() -> None:
    goal = draft(occurred_at=DRAFTED_AT, recorded_at=DRAFTED_AT + timedelta(days=6))
    [drafted] = goal.collect_events()
    assert drafted.occurred_at == goal.drafted_at == DRAFTED_AT
    assert drafted.recorded_at == goal.created_on == DRAFTED_AT + timedelta(days=6)


def test_a_draft_that_happened_after_it_was_recorded_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="is in the future") as e:
        draft(occurred_at=DRAFTED_AT + timedelta(seconds=1), recorded_at=DRAFTED_AT)
    assert e.value.field == "occurred_at"


@pytest.mark.parametrize(
    ("occurred_at", "recorded_at", "field"),
    [
        (NAIVE, DRAFTED_AT, "occurred_at"),
        (DRAFTED_AT, NAIVE, "recorded_at"),
        ("2024-03-04T09:30:00-05:00", DRAFTED_AT, "occurred_at"),
        (DRAFTED_AT.date(), DRAFTED_AT, "occurred_at"),
    ],
    ids=["naive occurred_at", "naive recorded_at", "a string", "a date"],
)
def test_a_draft_needs_aware_datetimes(
    occurred_at: object, recorded_at: object, field: str
) -> None:
    with pytest.raises(InvalidCommand, match=field) as e:
        draft(occurred_at=occurred_at, recorded_at=recorded_at)
    assert e.value.field == field


def test_a_naive_datetime_is_refused_with_its_reason() -> None:
    with pytest.raises(InvalidCommand, match="naive datetimes are refused"):
        draft(occurred_at=NAIVE, recorded_at=DRAFTED_AT)


# -- commands ------------------------------------------------------------------------------------

COMMAND_STATUS = [(command, first_allowed_status(command)) for command in sorted(COMMANDS)]


def with_times(command: str, goal: Goal, occurred_at: object, recorded_at: object) -> None:
    run(command, goal, when={"occurred_at": occurred_at, "recorded_at": recorded_at})


@pytest.mark.parametrize(("command", "status"), COMMAND_STATUS)
def test_a_command_that_happened_after_it_was_recorded_is_refused(
    command: str, status: str
) -> None:
    goal = goal_in(status)
    with refused(goal, InvalidCommand, match="occurred_at .* is in the future") as e:
        with_times(command, goal, moment(days=3), moment(days=2))
    assert e.value.field == "occurred_at"


@pytest.mark.parametrize(("command", "status"), COMMAND_STATUS)
def test_a_command_dated_before_the_goal_was_drafted_is_refused(command: str, status: str) -> None:
    goal = goal_in(status)
    with refused(goal, InvalidCommand, match="before the goal was drafted"):
        with_times(command, goal, DRAFTED_AT - timedelta(minutes=1), moment(days=2))


@pytest.mark.parametrize(("command", "status"), COMMAND_STATUS)
def test_a_command_with_a_naive_datetime_is_refused(command: str, status: str) -> None:
    goal = goal_in(status)
    with refused(goal, InvalidCommand, match="naive"):
        with_times(command, goal, NAIVE, moment(days=2))
    with refused(goal, InvalidCommand, match="naive"):
        with_times(command, goal, moment(days=1), NAIVE)


def test_a_command_at_the_very_moment_of_drafting_is_accepted() -> None:
    goal = goal_in("proposed")
    goal.agree(
        by=MAYA, terms_version=1, method="signature", occurred_at=DRAFTED_AT, recorded_at=DRAFTED_AT
    )
    assert goal.status == "active"


def test_moments_are_compared_as_instants_whatever_their_offsets() -> None:
    goal = goal_in("proposed")
    # 14:29 UTC is 09:29 in the clinic: one minute before the session began.
    with refused(goal, InvalidCommand, match="before the goal was drafted"):
        goal.agree(
            by=MAYA,
            terms_version=1,
            method="signature",
            occurred_at=datetime(2024, 3, 4, 14, 29, tzinfo=UTC),
            recorded_at=moment(hours=1),
        )
    # 14:31 UTC is after it, though its wall-clock hour is "later" in no obvious way.
    goal.agree(
        by=MAYA,
        terms_version=1,
        method="signature",
        occurred_at=datetime(2024, 3, 4, 14, 31, tzinfo=UTC),
        recorded_at=moment(hours=1),
    )
    assert goal.status == "active"


@pytest.mark.parametrize("status", STATUSES[1:4])
def test_a_late_entry_keeps_its_clinical_time_and_its_recorded_time(status: str) -> None:
    goal = goal_in(status)
    goal.enter_in_error(
        by=DR_OKAFOR, reason="Wrong chart", occurred_at=moment(days=1), recorded_at=moment(days=9)
    )
    [event] = goal.collect_events()
    assert (event.occurred_at, event.recorded_at) == (moment(days=1), moment(days=9))

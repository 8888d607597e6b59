"""Progress readings, reviews, and the reasons that pausing and closing a goal need."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from goalflow.domain import Goal
from goalflow.errors import InvalidCommand

from .builders import DR_OKAFOR, LATER, MAYA, goal_in, moment, refused

# -- progress ----------------------------------------------------------------------------------


def test_progress_on_a_measure_the_goal_does_not_have_is_refused(active_goal: Goal) -> None:
    with refused(
        active_goal,
        InvalidCommand,
        match="has no measure 'PHQ-9' \\(its measures: GAD-7, self-rated calm\\)",
    ) as e:
        active_goal.record_progress(by=MAYA, measure="PHQ-9", value=9, **LATER)
    assert e.value.field == "measure"


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, True, False, "11", None, [11]],
    ids=["nan", "inf", "-inf", "True", "False", "text", "None", "list"],
)
def test_a_reading_must_be_a_finite_number(active_goal: Goal, value: object) -> None:
    with refused(active_goal, InvalidCommand, match="value must be a") as e:
        active_goal.record_progress(by=MAYA, measure="GAD-7", value=value, **LATER)  # type: ignore[arg-type]
    assert e.value.field == "value"


@pytest.mark.parametrize("value", [0, -3, 2.5, 1e-9])
def test_zero_negative_and_fractional_readings_are_numbers_like_any_other(
    active_goal: Goal, value: float
) -> None:
    active_goal.record_progress(by=MAYA, measure="self-rated calm", value=value, **LATER)
    reading = active_goal.readings["self-rated calm"]
    assert reading.value == value
    assert type(reading.value) is type(value)


def test_a_reading_keeps_the_moment_it_was_taken_not_when_it_was_entered(
    active_goal: Goal,
) -> None:
    active_goal.record_progress(
        by=MAYA, measure="GAD-7", value=11, occurred_at=moment(days=1), recorded_at=moment(days=5)
    )
    assert active_goal.readings["GAD-7"].occurred_at == moment(days=1)


# -- reviews -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_review_on",
    [date(2024, 3, 6), date(2024, 3, 1)],
    ids=["the review day", "before the review"],
)
def test_the_next_review_must_come_after_this_one(active_goal: Goal, next_review_on: date) -> None:
    # LATER is 2024-03-06 in the clinic's time.
    with refused(
        active_goal,
        InvalidCommand,
        match=f"next_review_on {next_review_on} must be after the review \\(2024-03-06\\)",
    ) as e:
        active_goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=next_review_on, **LATER)
    assert e.value.field == "next_review_on"


def test_the_day_after_the_review_is_soon_enough_for_the_next(active_goal: Goal) -> None:
    active_goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=date(2024, 3, 7), **LATER)
    assert active_goal.next_review_on == date(2024, 3, 7)


def test_a_review_ninety_days_on_is_accepted(active_goal: Goal) -> None:
    active_goal.review(by=DR_OKAFOR, outcome="continue", next_review_on=date(2024, 6, 4), **LATER)
    assert active_goal.next_review_on == date(2024, 6, 4)


@pytest.mark.parametrize("outcome", ["pause", "Continue", "", None])
def test_a_review_decides_continue_revise_achieve_or_discontinue(
    active_goal: Goal, outcome: object
) -> None:
    with refused(active_goal, InvalidCommand, match="outcome must be one of"):
        active_goal.review(by=DR_OKAFOR, outcome=outcome, **LATER)  # type: ignore[arg-type]


def test_the_next_review_is_a_date_not_a_moment(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="next_review_on must be a date"):
        active_goal.review(
            by=DR_OKAFOR,
            outcome="continue",
            next_review_on=datetime(2024, 6, 4, 9, tzinfo=moment().tzinfo),
            **LATER,
        )


def test_review_notes_are_checked_like_any_other_text(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="notes contains a control character"):
        active_goal.review(by=DR_OKAFOR, outcome="continue", notes="Calmer\x1b[2J", **LATER)


# -- reasons -------------------------------------------------------------------------------------

NEEDS_A_REASON = {
    "hold": lambda g, reason: g.hold(by=DR_OKAFOR, reason=reason, **LATER),
    "discontinue": lambda g, reason: g.discontinue(by=DR_OKAFOR, reason=reason, **LATER),
    "withdraw": lambda g, reason: g.withdraw(by=DR_OKAFOR, reason=reason, **LATER),
    "enter_in_error": lambda g, reason: g.enter_in_error(by=DR_OKAFOR, reason=reason, **LATER),
    "disagree": lambda g, reason: g.disagree(by=MAYA, reason=reason, **LATER),
}
STARTS_IN = {
    "hold": "active",
    "discontinue": "active",
    "withdraw": "proposed",
    "enter_in_error": "active",
    "disagree": "proposed",
}


@pytest.mark.parametrize("reason", ["", "  \n", None])
@pytest.mark.parametrize("command", sorted(NEEDS_A_REASON))
def test_pausing_closing_or_disagreeing_needs_a_reason(command: str, reason: object) -> None:
    goal = goal_in(STARTS_IN[command])
    with refused(goal, InvalidCommand, match="reason") as e:
        NEEDS_A_REASON[command](goal, reason)
    assert e.value.field == "reason"


def test_resuming_needs_no_reason_but_refuses_a_blank_one(on_hold_goal: Goal) -> None:
    with refused(on_hold_goal, InvalidCommand, match="reason must not be empty"):
        on_hold_goal.resume(by=DR_OKAFOR, reason="", **LATER)
    on_hold_goal.resume(by=DR_OKAFOR, **LATER)
    assert on_hold_goal.status == "active"


def test_achieving_needs_no_evidence_but_refuses_a_blank_one(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="evidence must not be empty"):
        active_goal.achieve(by=DR_OKAFOR, evidence="  ", **LATER)
    active_goal.achieve(by=DR_OKAFOR, **LATER)
    assert active_goal.status == "completed"


def test_a_disagreements_alternative_is_checked_like_any_other_text(anxiety_goal: Goal) -> None:
    with refused(anxiety_goal, InvalidCommand, match="alternative is 5001 characters long"):
        anxiety_goal.disagree(
            by=MAYA, reason="Yoga hurts my knee", alternative="s" * 5_001, **LATER
        )


def test_a_step_completion_note_is_checked_like_any_other_text(active_goal: Goal) -> None:
    with refused(active_goal, InvalidCommand, match="note contains a control character"):
        active_goal.complete_step(by=MAYA, step_id="s1", note="Done\x00", **LATER)

"""The SMART check: each criterion met or missing, with the reason."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from goalflow.domain import Goal, Measure

from .builders import DR_OKAFOR, MAYAS_SUBJECT, TARGET_DATE, at, draft_anxiety_goal

SESSION_DAY = date(2024, 3, 4)  # the day the anxiety goal was drafted
CRITERIA = ["specific", "measurable", "achievable", "relevant", "time-bound"]


def criteria(goal: Goal, on: date = SESSION_DAY) -> dict[str, tuple[bool, str]]:
    report = goal.smart_check(on=on)
    return {c.name: (c.met, c.reason) for c in report.criteria}


def test_the_anxiety_goal_is_smart_complete() -> None:
    report = draft_anxiety_goal().smart_check(on=SESSION_DAY)

    assert report.complete
    assert report.missing == {}
    assert [c.name for c in report.criteria] == CRITERIA
    assert criteria(draft_anxiety_goal()) == {
        "specific": (True, "has a statement"),
        "measurable": (True, "target set for GAD-7, self-rated calm"),
        "achievable": (True, "3 step(s)"),
        "relevant": (True, "says what it addresses or why it matters to the client"),
        "time-bound": (True, "target date 2024-04-04"),
    }


def test_a_bare_statement_is_specific_and_nothing_else() -> None:
    goal = Goal.draft(
        goal_id=uuid4(), subject=MAYAS_SUBJECT, statement="Feel less anxious", by=DR_OKAFOR, **at()
    )
    report = goal.smart_check(on=SESSION_DAY)

    assert not report.complete
    assert report.missing == {
        "measurable": "no measure with a target",
        "achievable": "no steps",
        "relevant": "neither addresses nor client_words given",
        "time-bound": "no target date",
    }
    assert criteria(goal)["specific"] == (True, "has a statement")


def test_measures_without_targets_are_not_measurable() -> None:
    goal = draft_anxiety_goal(measures=[Measure("GAD-7", baseline=15), Measure("PHQ-9")])
    assert criteria(goal)["measurable"] == (False, "no measure with a target")


def test_one_measure_with_a_target_is_enough_to_be_measurable() -> None:
    goal = draft_anxiety_goal(
        measures=[Measure("GAD-7", baseline=15), Measure("PHQ-9", baseline=12, target=4)]
    )
    assert criteria(goal)["measurable"] == (True, "target set for PHQ-9")


def test_a_target_of_zero_still_counts_as_a_target() -> None:
    goal = draft_anxiety_goal(measures=[Measure("panic attacks a week", baseline=3, target=0)])
    assert criteria(goal)["measurable"][0] is True


def test_a_goal_without_steps_is_not_achievable() -> None:
    assert criteria(draft_anxiety_goal(steps=[]))["achievable"] == (False, "no steps")


def test_one_step_is_enough_to_be_achievable() -> None:
    assert criteria(draft_anxiety_goal(steps=["10 minutes of yoga daily"]))["achievable"] == (
        True,
        "1 step(s)",
    )


@pytest.mark.parametrize(
    ("addresses", "client_words"),
    [
        (("Generalised anxiety disorder",), None),
        ((), "I want to stop dreading Monday mornings"),
    ],
    ids=["addresses alone", "client words alone"],
)
def test_addresses_or_the_clients_words_make_the_goal_relevant(
    addresses: tuple[str, ...], client_words: str | None
) -> None:
    goal = draft_anxiety_goal(addresses=addresses, client_words=client_words)
    assert criteria(goal)["relevant"][0] is True


def test_without_addresses_or_client_words_the_goal_is_not_relevant() -> None:
    goal = draft_anxiety_goal(addresses=(), client_words=None)
    assert criteria(goal)["relevant"] == (False, "neither addresses nor client_words given")


def test_a_goal_without_a_target_date_is_not_time_bound() -> None:
    assert criteria(draft_anxiety_goal(target_date=None))["time-bound"] == (
        False,
        "no target date",
    )


@pytest.mark.parametrize(
    "target_date", [SESSION_DAY, date(2024, 3, 1)], ids=["the day drafted", "before it"]
)
def test_a_target_date_not_after_the_day_drafted_is_not_time_bound(target_date: date) -> None:
    goal = draft_anxiety_goal(target_date=target_date)
    assert criteria(goal, on=SESSION_DAY)["time-bound"] == (
        False,
        f"target date {target_date} is not after the date drafted (2024-03-04)",
    )


def test_the_day_after_drafting_is_a_valid_target_date() -> None:
    goal = draft_anxiety_goal(target_date=date(2024, 3, 5))
    assert criteria(goal)["time-bound"] == (True, "target date 2024-03-05")


def test_a_target_date_is_judged_against_the_day_of_the_check() -> None:
    goal = draft_anxiety_goal()
    assert criteria(goal, on=TARGET_DATE)["time-bound"][0] is True
    assert criteria(goal, on=date(2024, 4, 5))["time-bound"] == (
        False,
        "target date 2024-04-04 has passed",
    )


def test_the_check_follows_the_current_terms_after_a_revision() -> None:
    goal = draft_anxiety_goal()
    goal.revise(
        by=DR_OKAFOR,
        reason="Start again with Maya",
        remove_steps=["s1", "s2", "s3"],
        client_words=None,
        addresses=[],
        **at(hours=1),
    )

    assert goal.smart_check(on=SESSION_DAY).missing == {
        "achievable": "no steps",
        "relevant": "neither addresses nor client_words given",
    }


def test_the_report_reads_as_json_ready_data() -> None:
    report = draft_anxiety_goal(steps=[]).smart_check(on=SESSION_DAY)
    data = report.to_dict()
    assert data["complete"] is False
    assert list(data["criteria"]) == CRITERIA
    assert data["criteria"]["achievable"] == {"met": False, "reason": "no steps"}
    assert data["criteria"]["specific"] == {"met": True, "reason": "has a statement"}

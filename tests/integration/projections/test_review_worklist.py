"""The reviews worklist: when each active or on-hold goal is next due for review.

Due is the date set at the last review; else the policy interval (90 days unless told) after
the later of the last review and the agreement that made the current terms active. The
interval is applied when the worklist is read, so changing it needs no rebuild.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import attrs
import pytest
from anxiety_goal import DR_LEE, GAD7, MAYA, YOGA, draft_anxiety_goal
from as_printed import printed
from random_clinic import ClinicClock

import goalflow
from goalflow import Actor, Subject

FIRST_DAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the clock fixture's start
LATER = date(2026, 3, 1)  # a target date that stays ahead of every agreement here
CLIENT_8 = Actor("client-8", "client")
CLIENT_9 = Actor("client-9", "client")


def day(n: float) -> datetime:
    """Nine in the morning, ``n`` days after the clinic's first day (Monday 2025-03-03)."""
    return FIRST_DAY + timedelta(days=n)


@attrs.frozen
class Caseload:
    agreed: UUID            # agreed on day 0, never reviewed
    reviewed: UUID          # agreed on day 1, reviewed on day 10 without a date
    date_set: UUID          # agreed on day 2, reviewed on day 5: "see her on 1 April"
    on_hold: UUID           # a group goal agreed on day 3, on hold from day 4
    re_agreed: UUID         # reviewed on day 1, revised on day 20, agreed again on day 21
    late_review: UUID       # re-agreed on day 21; a review held on day 19 entered on day 22
    not_listed: tuple[UUID, ...]


def signed(goals: goalflow.Goals, clock: ClinicClock, at: float, subject: Subject,
           *by: Actor) -> UUID:
    clock.now = day(at)
    goal_id = goals.draft(subject, "Manage anxiety with breathing and yoga", by=DR_LEE,
                          steps=[YOGA], measures=[GAD7], target_date=LATER,
                          addresses=["generalised anxiety disorder"])
    for party in by:
        goals.agree(goal_id, by=party, terms_version=1, method="signature")
    return goal_id


@pytest.fixture
def caseload(goals: goalflow.Goals, clock: ClinicClock) -> Caseload:
    maya, client_8, client_9 = (Subject.client(c) for c in ("client-7", "client-8", "client-9"))
    agreed = signed(goals, clock, 0, maya, MAYA)
    re_agreed = signed(goals, clock, 0, client_9, CLIENT_9)
    late_review = signed(goals, clock, 0.5, client_8, CLIENT_8)
    reviewed = signed(goals, clock, 1, client_9, CLIENT_9)
    goals.review(re_agreed, by=DR_LEE, outcome="revise")
    date_set = signed(goals, clock, 2, client_8, CLIENT_8)
    on_hold = signed(goals, clock, 3, Subject.group("anxiety-group-2", ["client-7", "client-8"]),
                     MAYA, CLIENT_8)
    clock.now = day(4)
    goals.hold(on_hold, by=DR_LEE, reason="The group room is being refurbished")
    clock.now = day(5)
    goals.review(date_set, by=DR_LEE, outcome="continue", next_review_on=date(2025, 4, 1))
    clock.now = day(10)
    goals.review(reviewed, by=DR_LEE, outcome="continue", notes="Going well")

    clock.now = day(20)
    for goal_id in (re_agreed, late_review):
        goals.revise(goal_id, by=DR_LEE, reason="Agreed at review to aim higher",
                     measures=[attrs.evolve(GAD7, target=5)])
    clock.now = day(21)
    goals.agree(re_agreed, by=CLIENT_9, terms_version=2, method="portal")
    goals.agree(late_review, by=CLIENT_8, terms_version=2, method="portal")
    clock.now = day(22)
    goals.review(late_review, by=DR_LEE, outcome="continue", occurred_at=day(19))

    # Goals with nothing to review: not agreed yet, awaiting agreement to revised terms, closed.
    proposed = draft_anxiety_goal(goals, target_date=LATER)
    awaiting = signed(goals, clock, 22, client_9, CLIENT_9)
    goals.revise(awaiting, by=DR_LEE, reason="Yoga first", add_steps=["Walk the dog"])
    achieved, discontinued = (signed(goals, clock, 23, maya, MAYA) for _ in range(2))
    goals.achieve(achieved, by=DR_LEE, evidence="GAD-7 at 6 for a month")
    goals.discontinue(discontinued, by=DR_LEE, reason="Moved to another city")
    withdrawn = draft_anxiety_goal(goals, target_date=LATER)
    goals.withdraw(withdrawn, by=DR_LEE, reason="Maya chose another service")
    voided = signed(goals, clock, 24, maya, MAYA)
    goals.enter_in_error(voided, by=DR_LEE, reason="Recorded against the wrong client")
    return Caseload(agreed, reviewed, date_set, on_hold, re_agreed, late_review,
                    (proposed, awaiting, achieved, discontinued, withdrawn, voided))


def due(goals: goalflow.Goals, **query: object) -> dict[str, str]:
    return {item["goal_id"]: item["due_on"] for item in printed(goals.reviews(**query))}  # type: ignore[arg-type]


def test_each_goal_is_due_by_its_set_date_or_the_interval_after_its_last_review_or_agreement(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    c = caseload
    assert due(goals, as_of=date(2025, 3, 31)) == {
        str(c.date_set): "2025-04-01",   # the date set at the last review
        str(c.agreed): "2025-06-01",     # day 0 + 90
        str(c.on_hold): "2025-06-04",    # day 3 + 90: on hold, still reviewed
        str(c.reviewed): "2025-06-11",   # the review on day 10 + 90
        str(c.re_agreed): "2025-06-22",  # the agreement to revised terms on day 21 + 90
        str(c.late_review): "2025-06-22",  # day 21 + 90: that agreement is later than the review
    }


def test_the_worklist_lists_oldest_due_first_and_says_why(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    worklist = printed(goals.reviews(as_of=date(2025, 3, 31)))
    assert [item["due_on"] for item in worklist] == sorted(item["due_on"] for item in worklist)
    basis = {item["goal_id"]: item["basis"] for item in worklist}
    assert basis[str(caseload.date_set)] == "set at last review"
    assert basis[str(caseload.reviewed)] == "interval after last review"
    assert basis[str(caseload.agreed)] == "interval after agreement"
    assert basis[str(caseload.late_review)] == "interval after agreement"
    statuses = {item["goal_id"]: item["status"] for item in worklist}
    assert statuses[str(caseload.on_hold)] == "on-hold"


def test_only_active_and_on_hold_goals_are_on_the_worklist(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    listed = set(due(goals, as_of=date(2025, 3, 31)))
    assert listed.isdisjoint(str(goal_id) for goal_id in caseload.not_listed)
    assert len(listed) == 6


def test_as_of_judges_which_goals_are_overdue_and_by_how_many_days(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    c = caseload
    on_the_day = {item["goal_id"]: item for item in printed(goals.reviews(as_of=date(2025, 6, 1)))}
    assert (on_the_day[str(c.agreed)]["overdue"], on_the_day[str(c.agreed)]["days_overdue"]) \
        == (False, 0), "due today is not overdue yet"

    overdue = printed(goals.reviews(as_of=date(2025, 6, 5), overdue=True))
    assert [(item["goal_id"], item["days_overdue"]) for item in overdue] == [
        (str(c.date_set), 65), (str(c.agreed), 4), (str(c.on_hold), 1)]
    assert all(item["overdue"] for item in overdue)
    assert printed(goals.reviews(as_of=date(2025, 3, 31), overdue=True)) == []


def test_without_as_of_the_worklist_is_judged_on_the_services_today(
    goals: goalflow.Goals, caseload: Caseload, clock: ClinicClock
) -> None:
    clock.now = datetime(2025, 6, 5, 17, 0, tzinfo=UTC)
    assert goals.reviews(overdue=True) == goals.reviews(as_of=date(2025, 6, 5), overdue=True)
    assert len(printed(goals.reviews(overdue=True))) == 3


def test_a_new_review_interval_applies_at_once_without_a_rebuild(
    goals: goalflow.Goals, caseload: Caseload
) -> None:
    c = caseload
    generations = {n: s.generation for n, s in goals.projections.tracking().items()}

    monthly = due(goals, as_of=date(2025, 3, 31), interval_days=30)

    assert monthly[str(c.agreed)] == "2025-04-02"
    assert monthly[str(c.reviewed)] == "2025-04-12"
    assert monthly[str(c.re_agreed)] == "2025-04-23"
    assert monthly[str(c.date_set)] == "2025-04-01", "a date set at review is kept"
    assert {n: s.generation for n, s in goals.projections.tracking().items()} == generations


@pytest.mark.parametrize("interval_days", [0, -90, 1.5, True, "90"])
def test_an_interval_that_is_not_a_whole_number_of_days_is_refused(
    goals: goalflow.Goals, interval_days: object
) -> None:
    with pytest.raises(goalflow.InvalidCommand):
        printed(goals.reviews(interval_days=interval_days))  # type: ignore[arg-type]

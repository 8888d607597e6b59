"""Cloned-plan flags: revisions that changed nothing but the target date, and plans whose
every revision and review in their latest review period changed nothing but dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from anxiety_goal import DR_LEE, MAYA, agreed_anxiety_goal
from as_printed import printed
from click.testing import CliRunner

import goalflow
from goalflow.cli import cli


def push_back(goals: goalflow.Goals, goal_id: UUID, clock: Any, days: int) -> None:
    """A review that continues, then the target date moved on, agreed again."""
    clock.advance(days=days)
    goals.review(goal_id, by=DR_LEE, outcome="continue", notes="No change",
                 next_review_on=goals.today() + timedelta(days=30))
    goals.revise(goal_id, by=DR_LEE, reason="More time",
                 target_date=goals.today() + timedelta(days=60))
    goals.agree(goal_id, by=MAYA, terms_version=goals.get(goal_id).terms_version,
                method="signature")


def test_a_revision_of_the_target_date_alone_is_marked_date_only(goals: goalflow.Goals,
                                                                clock: Any) -> None:
    goal_id = agreed_anxiety_goal(goals)
    push_back(goals, goal_id, clock, 20)
    clock.advance(days=1)
    goals.revise(goal_id, by=DR_LEE, reason="Yoga instead", add_steps=["Yoga twice a week"])
    revisions = printed(goals.audit(goal_id, event="Revised"))
    assert [r["date_only"] for r in revisions] == [True, False]
    [flagged] = printed(goals.audit(date_only=True))
    assert flagged["position"] == revisions[0]["position"]


def test_a_plan_whose_period_changed_only_dates_is_flagged(goals: goalflow.Goals,
                                                          clock: Any) -> None:
    goal_id = agreed_anxiety_goal(goals)
    push_back(goals, goal_id, clock, 30)
    push_back(goals, goal_id, clock, 30)
    [clone] = goals.cloned_plans()
    assert clone["subject_id"] == "client-7"
    assert clone["goals"] == [str(goal_id)]
    assert (len(clone["revisions"]), len(clone["reviews"])) == (2, 2)
    # A real change in the period clears the flag; outside the period it does not count.
    clock.advance(days=10)
    goals.revise(goal_id, by=DR_LEE, reason="Meditation made her feel worse",
                 remove_steps=["s2"])
    assert goals.cloned_plans() == []
    clock.advance(days=200)
    goals.revise(goal_id, by=DR_LEE, reason="More time", target_date=date(2026, 1, 1))
    goals.agree(goal_id, by=MAYA, terms_version=goals.get(goal_id).terms_version,
                method="signature")
    push_back(goals, goal_id, clock, 1)
    assert [c["revisions"] for c in goals.cloned_plans()] == \
        [[r["position"] for r in printed(goals.audit(goal_id, event="Revised"))[-2:]]]
    assert goals.cloned_plans(interval_days=365) == []


def test_a_review_that_decides_anything_but_continue_clears_the_flag(goals: goalflow.Goals,
                                                                    clock: Any) -> None:
    goal_id = agreed_anxiety_goal(goals)
    push_back(goals, goal_id, clock, 30)
    clock.advance(days=1)
    goals.review(goal_id, by=DR_LEE, outcome="revise", notes="The plan needs rethinking")
    assert goals.cloned_plans() == []
    with pytest.raises(goalflow.InvalidCommand, match="interval_days must be a whole number"):
        goals.cloned_plans(interval_days=0)


def test_goalflow_audit_flagged_lists_both(goals: goalflow.Goals, clock: Any,
                                          store_url: str) -> None:
    goal_id = agreed_anxiety_goal(goals)
    push_back(goals, goal_id, clock, 30)
    result = CliRunner().invoke(cli, ["--db", store_url, "audit", "--flagged"])
    assert result.exit_code == 0, result.output
    assert "date only: the target date is all it changed" in result.stdout
    assert "Plans that changed nothing but dates in their latest 90-day review period:\n" \
        "  client-7: " in result.stdout
    lines = CliRunner().invoke(cli, ["--db", store_url, "audit", "--flagged", "--json"]).stdout
    assert lines.splitlines()[-1].startswith('{"cloned_plan":{')
    quiet = CliRunner().invoke(cli, ["--db", store_url, "audit", "--flagged", "--subject",
                                     "client-9"])
    assert quiet.stdout == "No date-only revisions.\nNo plan changed only dates in its latest" \
        " 90-day review period.\n"

"""A client's current treatment plan: her goals, her groups' goals, steps and latest measures."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from anxiety_goal import (
    BREATHING,
    DR_LEE,
    EXPRESSING,
    GAD7,
    MAYA,
    MAYAS_MOTHER,
    ONE_MONTH_ON,
    STATEMENT,
    YOGA,
    agreed_anxiety_goal,
    draft_anxiety_goal,
)
from as_printed import printed
from mayas_month import TUESDAY_GROUP, YOGA_STEP, record_mayas_month
from random_clinic import ClinicClock

import goalflow
from goalflow import Actor, Measure, Subject

CLIENT_9 = Actor("client-9", "client")
PHQ9 = Measure("PHQ-9", baseline=14, target=5)


def goal_ids(plan: list[dict[str, Any]]) -> list[str]:
    return [entry["goal_id"] for entry in plan]


def entry_for(goals: goalflow.Goals, subject_id: str, goal_id: object) -> dict[str, Any]:
    [entry] = [e for e in printed(goals.plan(subject_id, include_closed=True))
               if e["goal_id"] == str(goal_id)]
    return entry


def test_a_clients_plan_lists_her_goals_and_the_group_goals_she_is_a_member_of(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    anxiety = draft_anxiety_goal(goals)
    clock.advance(minutes=5)
    tuesday = goals.draft(TUESDAY_GROUP, "Practise calming techniques together", by=DR_LEE)
    clock.advance(minutes=5)
    sleep_group = goals.draft(Subject.group("sleep-group-1", ["client-8", "client-9"]),
                              "Sleep through the night", by=DR_LEE)
    clock.advance(minutes=5)
    someone_else = goals.draft(Subject.client("client-9"), "Walk to the shop", by=DR_LEE)

    mayas = printed(goals.plan("client-7"))
    assert goal_ids(mayas) == [str(anxiety), str(tuesday)]
    assert [(e["group_goal"], e["subject_kind"], e["subject_id"]) for e in mayas] == [
        (False, "client", "client-7"), (True, "group", "anxiety-group-2")]
    assert goal_ids(printed(goals.plan("client-8"))) == [str(tuesday), str(sleep_group)]
    assert goal_ids(printed(goals.plan("client-9"))) == [str(sleep_group), str(someone_else)]
    assert goal_ids(printed(goals.plan("anxiety-group-2"))) == [str(tuesday)]
    assert printed(goals.plan("client-404")) == []


def test_a_goal_entered_in_error_is_in_nobodys_plan_even_with_closed_goals_shown(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    month = record_mayas_month(goals, clock)

    goals.enter_in_error(month.anxiety_goal, by=DR_LEE, reason="Recorded for the wrong Maya")
    goals.enter_in_error(month.group_goal, by=DR_LEE, reason="Wrong group")

    assert printed(goals.plan("client-7", include_closed=True)) == []
    assert printed(goals.plan("client-8", include_closed=True)) == []
    assert goal_ids(printed(goals.plan("client-9", include_closed=True))) == [
        str(month.other_clients_goal)]


def test_closed_goals_are_shown_only_when_asked_for(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    achieved, discontinued, active, on_hold = (agreed_anxiety_goal(goals) for _ in range(4))
    withdrawn, proposed = draft_anxiety_goal(goals), draft_anxiety_goal(goals)
    clock.advance(days=1)
    goals.achieve(achieved, by=DR_LEE, evidence="GAD-7 at 6 for a month")
    goals.discontinue(discontinued, by=DR_LEE, reason="Moved to another city")
    goals.withdraw(withdrawn, by=DR_LEE, reason="Maya chose another service")
    goals.hold(on_hold, by=DR_LEE, reason="In hospital for two weeks")

    def statuses(plan: list[dict[str, Any]]) -> dict[str, str]:
        return {e["goal_id"]: e["status"] for e in plan}

    assert statuses(printed(goals.plan("client-7"))) == {
        str(active): "active", str(on_hold): "on-hold", str(proposed): "proposed"}
    assert statuses(printed(goals.plan("client-7", include_closed=True))) == {
        str(achieved): "completed", str(discontinued): "cancelled", str(active): "active",
        str(on_hold): "on-hold", str(withdrawn): "rejected", str(proposed): "proposed"}


def test_a_group_goal_awaits_agreement_from_fewer_members_as_each_agrees(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    group = Subject.group("anxiety-group-2", ["client-7", "client-8", "client-9"])
    goal_id = goals.draft(group, STATEMENT, by=DR_LEE, steps=[YOGA], measures=[GAD7],
                          target_date=ONE_MONTH_ON, addresses=["generalised anxiety"])

    def awaiting() -> tuple[str, bool, list[str]]:
        entry = entry_for(goals, "client-8", goal_id)
        return entry["status"], entry["awaiting_agreement"], entry["awaiting_agreement_from"]

    assert awaiting() == ("proposed", True, ["client-7", "client-8", "client-9"])
    goals.agree(goal_id, by=MAYAS_MOTHER, terms_version=1, method="signature")
    assert awaiting() == ("proposed", True, ["client-8", "client-9"])
    goals.agree(goal_id, by=CLIENT_9, terms_version=1, method="portal")
    assert awaiting() == ("proposed", True, ["client-8"])
    goals.disagree(goal_id, by=CLIENT_9, reason="Yoga hurts my back")
    assert awaiting() == ("proposed", True, ["client-8", "client-9"])
    goals.add_step(goal_id, by=DR_LEE, description="Chair yoga for anyone with a bad back")
    assert awaiting() == ("proposed", True, ["client-7", "client-8", "client-9"])
    assert entry_for(goals, "client-8", goal_id)["terms_version"] == 2
    for member in ("client-7", "client-8", "client-9"):
        goals.agree(goal_id, by=Actor(member, "client"), terms_version=2, method="portal")
    assert awaiting() == ("active", False, [])


def test_the_plan_shows_each_step_and_each_measure_with_its_latest_value(
    goals: goalflow.Goals, clock: ClinicClock
) -> None:
    month = record_mayas_month(goals, clock)
    review_date = goals.get(month.anxiety_goal).next_review_on
    assert review_date is not None

    plan = entry_for(goals, "client-7", month.anxiety_goal)

    assert (plan["status"], plan["terms_version"], plan["version"]) == ("active", 2, 8)
    assert plan["next_review_on"] == review_date.isoformat()
    assert [(s["step_id"], s["description"], s["status"]) for s in plan["steps"]] == [
        ("s1", BREATHING, "completed"), ("s3", EXPRESSING, "open"), (YOGA_STEP, YOGA, "open")]
    assert plan["steps"][0]["completed_at"] == "2025-03-05T09:40:00+00:00"
    assert plan["measures"] == [{
        "name": "GAD-7", "baseline": 15, "target": 7, "direction": "decrease",
        "latest": 10.5, "latest_at": "2025-03-12T10:40:00+00:00"}]

    goals.revise(month.anxiety_goal, by=DR_LEE, reason="Agreed at review to aim higher",
                 measures=[attrs.evolve(GAD7, target=5), PHQ9], statement="Maya uses yoga",
                 reword_steps={"s3": "Say how she feels in session"})
    plan = entry_for(goals, "client-7", month.anxiety_goal)
    assert (plan["status"], plan["terms_version"], plan["statement"]) == (
        "proposed", 3, "Maya uses yoga")
    assert plan["awaiting_agreement_from"] == ["client-7"]
    assert plan["steps"][1]["description"] == "Say how she feels in session"
    assert [(m["name"], m["target"], m["latest"]) for m in plan["measures"]] == [
        ("GAD-7", 5, 10.5), ("PHQ-9", 5, None)]

    goals.agree(month.anxiety_goal, by=MAYA, terms_version=3, method="signature")
    goals.record_progress(month.anxiety_goal, by=MAYA, measure="PHQ-9", value=9)
    goals.revise(month.anxiety_goal, by=DR_LEE, reason="GAD-7 is enough for the group",
                 measures=[PHQ9])
    plan = entry_for(goals, "client-7", month.anxiety_goal)
    assert [(m["name"], m["latest"]) for m in plan["measures"]] == [("PHQ-9", 9)]



@pytest.mark.parametrize("score", [1 / 3, 0.1 + 0.2, 123456789.12345679, 12.3, 2**62])
def test_a_measures_latest_value_is_shown_exactly_as_recorded(
    goals: goalflow.Goals, score: float
) -> None:
    goal_id = agreed_anxiety_goal(goals)
    goals.record_progress(goal_id, by=MAYA, measure="GAD-7", value=score)

    [measure] = entry_for(goals, "client-7", goal_id)["measures"]
    assert measure["latest"] == goals.get(goal_id).readings["GAD-7"].value == score

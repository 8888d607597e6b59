"""A read model kept inline is written in the command's own transaction: neither or both.

When a projection's handler raises part-way through a command (after other read models, and
itself, have written rows), the command fails and nothing of it is left: no event, no
record of its command id, no read-model row, no tracking position moved. The store stays
usable. On PostgreSQL this matters most: eventsourcing's own insert path commits anyway.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from anxiety_goal import GAD7, MAYA, recorded_event_count
from as_printed import printed
from ehr_dashboard import DashboardBroken, StepsDone, steps_done
from mayas_month import YOGA_STEP, record_mayas_month
from random_clinic import ClinicClock
from read_models import dump_all

import goalflow
from goalflow import Goal
from goalflow.projection import Projection, ProjectionError, Table, Writer, discover


def everything_recorded(goals: goalflow.Goals, goal_id: UUID) -> dict[str, Any]:
    """The log, the goal, the tracking and every read-model row, to compare before/after."""
    return {
        "events": recorded_event_count(goals),
        "head": goals.projections.head(),
        "goal": goals.get(goal_id).to_dict(),
        "tracking": goals.projections.tracking(),
        "read models": dump_all(goals),
    }


def test_a_failing_read_model_fails_the_command_and_leaves_nothing_of_it(
    store_url: str, clock: ClinicClock
) -> None:
    dashboard = StepsDone()
    with goalflow.open(store_url, clock=clock, projections=[*discover(), dashboard]) as goals:
        month = record_mayas_month(goals, clock)
        before = everything_recorded(goals, month.anxiety_goal)
        assert [s["step_id"] for s in steps_done(goals, month.anxiety_goal)] == ["s1"]

        dashboard.fail_on = {"StepCompleted"}
        with pytest.raises(ProjectionError, match="the dashboard cannot take"):
            goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP,
                                command_id="ehr-8812")

        assert everything_recorded(goals, month.anxiety_goal) == before
        assert goals.store.find_command("ehr-8812") is None

        # The store is still usable: other commands go through, and read models follow.
        goals.record_progress(month.anxiety_goal, by=MAYA, measure="GAD-7", value=9)
        [plan_entry] = [g for g in printed(goals.plan("client-7"))
                        if g["goal_id"] == str(month.anxiety_goal)]
        assert plan_entry["measures"][0]["latest"] == 9
        assert goals.projections.tracking()["plans"].position == goals.projections.head()

        # Once the dashboard is mended, the same command (same id) is recorded, not replayed.
        dashboard.fail_on = set()
        outcome = goals.execute("complete_step", goal_id=month.anxiety_goal, by=MAYA,
                                step_id=YOGA_STEP, command_id="ehr-8812")
        assert (outcome.replayed, outcome.event) == (False, "StepCompleted")
        assert [s["step_id"] for s in steps_done(goals, month.anxiety_goal)] == ["s1", "s4"]


def test_a_read_model_failing_on_a_new_goal_leaves_no_goal_behind(
    store_url: str, clock: ClinicClock
) -> None:
    dashboard = StepsDone()
    with goalflow.open(store_url, clock=clock, projections=[*discover(), dashboard]) as goals:
        month = record_mayas_month(goals, clock)
        before = everything_recorded(goals, month.anxiety_goal)
        dashboard.fail_on = {"Drafted"}
        new_goal = UUID("5e1f0c9a-2b4d-4c6e-8f10-a2b3c4d5e6f7")

        with pytest.raises(ProjectionError, match="the dashboard cannot take"):
            goals.draft(goalflow.Subject.client("client-7"), "Go to the gym twice a week",
                        by=goalflow.Actor("dr-lee", "clinician"), goal_id=new_goal,
                        steps=["Book an induction"], measures=[GAD7], command_id="ehr-8813")

        assert everything_recorded(goals, month.anxiety_goal) == before
        assert goals.store.find_command("ehr-8813") is None
        with pytest.raises(goalflow.GoalNotFound):
            goals.get(new_goal)
        assert str(new_goal) not in {g["goal_id"] for g in printed(goals.plan("client-7"))}


def test_a_built_in_read_model_failing_takes_the_audit_entry_already_written_with_it(
    goals: goalflow.Goals, clock: ClinicClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = record_mayas_month(goals, clock)
    before = everything_recorded(goals, month.anxiety_goal)
    plans = goals.projections.get("plans")
    kept = plans.on_StepCompleted  # type: ignore[attr-defined]

    def complete_then_fail(w: Writer, event: Goal.StepCompleted) -> None:
        kept(w, event)
        raise DashboardBroken("the plans table is full")

    # audit runs before plans: its entry for this event is written when plans fails.
    assert list(goals.projections.all) == ["audit", "outcomes", "plans", "reviews"]
    monkeypatch.setattr(plans, "on_StepCompleted", complete_then_fail)
    with pytest.raises(ProjectionError, match=r"read model plans failed .* the plans table is"):
        goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP,
                            command_id="ehr-8814")

    assert everything_recorded(goals, month.anxiety_goal) == before
    assert goals.store.find_command("ehr-8814") is None
    monkeypatch.undo()
    goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP, command_id="ehr-8814")
    assert printed(goals.audit(month.anxiety_goal, event="StepCompleted"))[-1]["details"] == {
        "note": None, "step_id": YOGA_STEP}


def test_a_read_model_s_database_error_is_told_without_the_keys_it_quotes(
        store_url: str, clock: Any) -> None:
    class Duplicating(Projection):
        name = "duplicating"
        tables = (Table("gf_dup_rows", (("goal_id", "uuid"),), ("goal_id",)),)

        def on_Drafted(self, w: Writer, event: Goal.Drafted) -> None:
            for _ in range(2):  # straight to the database: the second violates the key
                w.tx.execute(f"INSERT INTO {w.tx.table('gf_dup_rows__g1')} (goal_id)"
                             " VALUES (?)", (w.tx.goal_id(event.originator_id),))

    goals = goalflow.open(store_url, clock=clock, projections=[Duplicating()])
    goal_id = uuid4()
    with pytest.raises(goalflow.ProjectionError) as raised:
        goals.draft(goalflow.Subject.client("client-7"), "Sleep better", goal_id=goal_id,
                    by=goalflow.Actor("dr-lee", "clinician"))
    goals.close()
    assert "DETAIL" not in str(raised.value)
    assert "Key (" not in str(raised.value), str(raised.value)
    assert str(raised.value).endswith("; nothing was recorded"), str(raised.value)

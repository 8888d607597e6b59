"""Read models come and go: found through entry points, passed by an EHR, added to a store
that already has a history, or left behind by a process that did not know them."""

from __future__ import annotations

import pytest
from anxiety_goal import MAYA
from as_printed import printed
from ehr_dashboard import StepsDone, steps_done
from mayas_month import YOGA_STEP, record_mayas_month
from random_clinic import ClinicClock
from read_models import dump, rebuilt

import goalflow
from goalflow.projection import ProjectionError, discover


def test_goalflows_read_models_are_found_through_the_entry_point_group(
    goals: goalflow.Goals,
) -> None:
    assert [p.name for p in discover()] == ["audit", "outcomes", "plans", "reviews"]
    assert sorted(goals.projections.all) == ["audit", "outcomes", "plans", "reviews"]
    assert sorted(goals.projections.tracking()) == ["audit", "outcomes", "plans", "reviews"]


def test_a_read_model_added_to_a_store_with_a_history_is_built_when_the_store_opens(
    goals: goalflow.Goals, clock: ClinicClock, store_url: str
) -> None:
    month = record_mayas_month(goals, clock)
    head = goals.projections.head()

    with goalflow.open(store_url, clock=clock, projections=[*discover(), StepsDone()]) as ehr:
        assert ehr.projections.tracking()["ehr_steps_done"].position == head
        [done] = steps_done(ehr, month.anxiety_goal)
        assert (done["step_id"], done["done_by"]) == ("s1", MAYA.id)
        built_on_open = dump(ehr, "ehr_steps_done")
        assert rebuilt(ehr, "ehr_steps_done") == built_on_open


def test_an_ehr_read_model_passed_to_open_is_kept_current_with_each_command(
    store_url: str, clock: ClinicClock
) -> None:
    with goalflow.open(store_url, clock=clock, projections=[StepsDone()]) as goals:
        month = record_mayas_month(goals, clock)
        goals.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)

        assert [(s["step_id"], s["description"]) for s in steps_done(goals, month.anxiety_goal)] \
            == [("s1", "Learn two breathing exercises"), (YOGA_STEP, "10 minutes of yoga daily")]
        assert list(goals.projections.tracking()) == ["ehr_steps_done"]
        assert goals.projections.tracking()["ehr_steps_done"].position \
            == goals.projections.head()
        # Passed projections replace the entry points: this store has no plans.
        with pytest.raises(ProjectionError, match="no projection named 'plans'"):
            printed(goals.plan("client-7"))


def test_a_read_model_left_behind_by_a_process_that_did_not_know_it_is_current_once_opened(
    goals: goalflow.Goals, clock: ClinicClock, store_url: str
) -> None:
    month = record_mayas_month(goals, clock)
    # The EHR's process passes only its own read model, and records a command.
    with goalflow.open(store_url, clock=clock, projections=[StepsDone()]) as ehr:
        ehr.complete_step(month.anxiety_goal, by=MAYA, step_id=YOGA_STEP)

    with goalflow.open(store_url, clock=clock) as reopened:
        head = reopened.projections.head()
        behind = {name: state.position for name, state in
                  reopened.projections.tracking().items() if state.position != head}
        [entry] = [g for g in printed(reopened.plan("client-7"))
                   if g["goal_id"] == str(month.anxiety_goal)]
        yoga = {s["step_id"]: s["status"] for s in entry["steps"]}[YOGA_STEP]
    assert (behind, yoga) == ({}, "completed"), \
        "an inline read model is stale for readers after the store is opened"

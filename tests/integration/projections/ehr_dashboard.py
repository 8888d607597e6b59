"""An EHR's own read model, written as an EHR vendor would: the steps each client completed.

It uses only goalflow's public events and its projection interface. ``fail_on`` lets a test
break it for chosen event types (it writes its row first, then raises), to show a failing
read model takes the whole command down with it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from goalflow import Goal
from goalflow.projection import Projection, Reader, Table, Writer


class DashboardBroken(Exception):
    """The EHR dashboard's read model failed (a bug of the EHR's, not goalflow's)."""


class StepsDone(Projection):
    name = "ehr_steps_done"
    description = "the steps each client completed, for the clinic's dashboard"
    tables = (
        Table("ehr_step_texts", (
            ("goal_id", "uuid"), ("step_id", "text"), ("description", "text"),
        ), primary_key=("goal_id", "step_id")),
        Table("ehr_steps_done", (
            ("position", "int"), ("goal_id", "uuid"), ("step_id", "text"),
            ("description", "text"), ("done_by", "text"), ("done_at", "timestamp"),
        ), primary_key=("position",), indexes=(("goal_id",),)),
    )

    def __init__(self) -> None:
        self.fail_on: set[str] = set()

    def handle(self, w: Writer, event: Goal.Event) -> None:
        super().handle(w, event)
        if type(event).__name__ in self.fail_on:
            raise DashboardBroken(f"the dashboard cannot take {type(event).__name__}")

    def on_Drafted(self, w: Writer, e: Goal.Drafted) -> None:
        for step in e.steps:
            self._text(w, e.originator_id, step.step_id, step.description)

    def on_StepAdded(self, w: Writer, e: Goal.StepAdded) -> None:
        self._text(w, e.originator_id, e.step_id, e.description)

    def on_Revised(self, w: Writer, e: Goal.Revised) -> None:
        for step in e.steps_added:
            self._text(w, e.originator_id, step.step_id, step.description)
        for rewording in e.steps_reworded:
            w.update("ehr_step_texts", {"goal_id": e.originator_id,
                                        "step_id": rewording.step_id},
                     {"description": rewording.after})

    def on_StepCompleted(self, w: Writer, e: Goal.StepCompleted) -> None:
        text = w.select("ehr_step_texts", {"goal_id": e.originator_id, "step_id": e.step_id},
                        columns="description")[0]["description"]
        w.insert("ehr_steps_done", {
            "position": w.position, "goal_id": e.originator_id, "step_id": e.step_id,
            "description": text, "done_by": e.actor.id, "done_at": e.occurred_at})

    def _text(self, w: Writer, goal_id: UUID, step_id: str, description: str) -> None:
        w.insert("ehr_step_texts", {"goal_id": goal_id, "step_id": step_id,
                                    "description": description})

    # -- the EHR's query --------------------------------------------------------------

    def done(self, r: Reader, goal_id: UUID) -> list[dict[str, Any]]:
        return r.rows("SELECT step_id, description, done_by, done_at FROM {ehr_steps_done}"
                      " WHERE goal_id = ? ORDER BY position", (goal_id,))


def steps_done(goals: Any, goal_id: UUID) -> list[dict[str, Any]]:
    """What the EHR's dashboard shows for a goal, read through goalflow's Reader."""
    projection = goals.projections.get(StepsDone.name)
    with goals.store.recorder.transaction(commit=False) as tx:
        return projection.done(Reader(tx, projection), goal_id)  # type: ignore[no-any-return]

"""Current treatment plans: per subject, every goal that is not entered-in-error.

Tables (views over the live generation):

- ``gf_plan_goals``: one row per goal (entered-in-error ones too, which plans
  leave out; ``goalflow goals`` lists them), with its status, terms version, whether
  it awaits agreement and from whom, statement, target date, next review date.
- ``gf_plan_members``: the listed members of group goals (one row each), so a
  client's plan can include the group goals they belong to.
- ``gf_plan_steps``: each goal's steps, ordered by ``position``.
- ``gf_plan_measures``: each goal's measures with baseline, target and the
  latest recorded value.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from goalflow import Goal, agreement
from goalflow.projection import Json, Projection, Reader, Table, Writer
from goalflow.projection import write_versions as _write_versions

from . import _parties

OPEN_STATUSES = ("proposed", "active", "on-hold")


class Plans(Projection):
    name = "plans"
    version = 2  # 2: drafted_by, the clinician who drafted the goal
    tables = (
        Table("gf_plan_goals", (
            ("goal_id", "uuid"), ("subject_kind", "text"), ("subject_id", "text"),
            ("status", "text"), ("terms_version", "int"), ("awaiting_agreement", "bool"),
            ("awaiting_agreement_from", "json"), ("required_parties", "json"),
            ("agreed_parties", "json"), ("statement", "text"), ("client_words", "text"),
            ("target_date", "date"), ("next_review_on", "date"), ("drafted_at", "timestamp"),
            ("version", "int"), ("updated_at", "timestamp"), ("drafted_by", "text"),
        ), primary_key=("goal_id",), indexes=(("subject_id",), ("status",))),
        Table("gf_plan_members", (("goal_id", "uuid"), ("client_id", "text")),
              primary_key=("goal_id", "client_id"), indexes=(("client_id",),)),
        Table("gf_plan_steps", (
            ("goal_id", "uuid"), ("step_id", "text"), ("position", "int"),
            ("description", "text"), ("status", "text"), ("completed_at", "timestamp"),
        ), primary_key=("goal_id", "step_id")),
        Table("gf_plan_measures", (
            ("goal_id", "uuid"), ("name", "text"), ("position", "int"),
            ("baseline", "numeric"), ("target", "numeric"), ("direction", "text"),
            ("latest", "numeric"), ("latest_at", "timestamp"),
        ), primary_key=("goal_id", "name")),
    )

    def handle(self, w: Writer, event: Goal.Event) -> None:
        super().handle(w, event)
        # The goal's version and when it changed: written once per batch, by end_batch.
        w.memo.setdefault("plans: versions", {})[event.originator_id] = event

    def end_batch(self, w: Writer) -> None:
        _write_versions(w, "plans: versions", "gf_plan_goals")

    # -- events ---------------------------------------------------------------------

    def on_Drafted(self, w: Writer, e: Goal.Drafted) -> None:
        required = agreement.required_parties(e.subject)
        w.insert("gf_plan_goals", {
            "goal_id": e.originator_id, "subject_kind": e.subject.kind,
            "subject_id": e.subject.id, "status": agreement.PROPOSED,
            "terms_version": agreement.FIRST_TERMS,
            "awaiting_agreement": True, "awaiting_agreement_from": Json(list(required)),
            "required_parties": Json(list(required)), "agreed_parties": Json([]),
            "statement": e.statement, "client_words": e.client_words,
            "target_date": e.target_date, "next_review_on": None, "drafted_at": e.occurred_at,
            "version": e.originator_version, "updated_at": e.timestamp,
            "drafted_by": e.actor.id,
        })
        for member in e.subject.members:
            w.insert("gf_plan_members", {"goal_id": e.originator_id, "client_id": member})
        for step in e.steps:
            self._insert_step(w, e.originator_id, step.step_id, step.description)
        self._insert_measures(w, e.originator_id, e.measures, start=1)

    def on_AgreedByClient(self, w: Writer, e: Goal.AgreedByClient) -> None:
        goal = self._goal(w, e.originator_id)
        agreed = agreement.with_agreement(goal["agreed_parties"], e.party)
        self._set_agreement(w, e.originator_id, goal["required_parties"], agreed,
                            active_if_complete=True)

    def on_ClientDisagreed(self, w: Writer, e: Goal.ClientDisagreed) -> None:
        goal = self._goal(w, e.originator_id)
        agreed = agreement.without(goal["agreed_parties"], e.party)
        self._set_agreement(w, e.originator_id, goal["required_parties"], agreed,
                            active_if_complete=False)

    def on_StepAdded(self, w: Writer, e: Goal.StepAdded) -> None:
        self._insert_step(w, e.originator_id, e.step_id, e.description)

    def on_StepCompleted(self, w: Writer, e: Goal.StepCompleted) -> None:
        w.update("gf_plan_steps", {"goal_id": e.originator_id, "step_id": e.step_id},
                 {"status": "completed", "completed_at": e.occurred_at})

    def on_StepReopened(self, w: Writer, e: Goal.StepReopened) -> None:
        w.update("gf_plan_steps", {"goal_id": e.originator_id, "step_id": e.step_id},
                 {"status": "open", "completed_at": None})

    def on_ProgressRecorded(self, w: Writer, e: Goal.ProgressRecorded) -> None:
        w.update("gf_plan_measures", {"goal_id": e.originator_id, "name": e.measure},
                 {"latest": e.value, "latest_at": e.occurred_at})

    def on_Revised(self, w: Writer, e: Goal.Revised) -> None:
        goal_id = e.originator_id
        for change in e.changes:
            if change.field in ("statement", "client_words", "target_date"):
                w.update("gf_plan_goals", {"goal_id": goal_id}, {change.field: change.after})
            elif change.field == "measures":
                kept = {m.name for m in change.after}
                for old in change.before:
                    if old.name not in kept:
                        w.delete("gf_plan_measures", {"goal_id": goal_id, "name": old.name})
                existing = {m.name for m in change.before}
                for position, measure in enumerate(change.after, start=1):
                    values = {"position": position, "baseline": measure.baseline,
                              "target": measure.target, "direction": measure.direction}
                    if measure.name in existing:
                        w.update("gf_plan_measures", {"goal_id": goal_id, "name": measure.name},
                                 values)
                    else:
                        w.insert("gf_plan_measures", {"goal_id": goal_id, "name": measure.name,
                                                      **values, "latest": None,
                                                      "latest_at": None})
        for step in e.steps_removed:
            w.delete("gf_plan_steps", {"goal_id": goal_id, "step_id": step.step_id})
        for rewording in e.steps_reworded:
            w.update("gf_plan_steps", {"goal_id": goal_id, "step_id": rewording.step_id},
                     {"description": rewording.after})
        for step in e.steps_added:
            self._insert_step(w, goal_id, step.step_id, step.description)

    def on_ReviewHeld(self, w: Writer, e: Goal.ReviewHeld) -> None:
        w.update("gf_plan_goals", {"goal_id": e.originator_id},
                 {"next_review_on": e.next_review_on})

    def on_PutOnHold(self, w: Writer, e: Goal.Event) -> None:
        self._status(w, e, "on-hold")

    def on_Resumed(self, w: Writer, e: Goal.Event) -> None:
        self._status(w, e, "active")

    def on_Achieved(self, w: Writer, e: Goal.Event) -> None:
        self._status(w, e, "completed")

    def on_Discontinued(self, w: Writer, e: Goal.Event) -> None:
        self._status(w, e, "cancelled")

    def on_Withdrawn(self, w: Writer, e: Goal.Event) -> None:
        self._status(w, e, "rejected")

    def on_EnteredInError(self, w: Writer, e: Goal.Event) -> None:
        # Kept (for `goalflow goals`), but never shown in a plan.
        self._status(w, e, "entered-in-error")

    # -- helpers --------------------------------------------------------------------

    def _goal(self, w: Writer, goal_id: UUID) -> dict[str, Any]:
        return w.select("gf_plan_goals", {"goal_id": goal_id},
                        columns="required_parties, agreed_parties")[0]

    def _set_agreement(self, w: Writer, goal_id: UUID, required: list[str],
                       agreed: tuple[str, ...], *, active_if_complete: bool) -> None:
        values: dict[str, Any] = {
            "agreed_parties": Json(list(agreed)),
            "awaiting_agreement_from": Json(list(agreement.awaiting(required, agreed)))}
        if active_if_complete and agreement.complete(required, agreed):
            values.update(status=agreement.ACTIVE_WHEN_AGREED, awaiting_agreement=False)
        w.update("gf_plan_goals", {"goal_id": goal_id}, values)

    def on_terms_changed(self, w: Writer, e: Goal.Event) -> None:
        goal = w.select("gf_plan_goals", {"goal_id": e.originator_id},
                        columns="required_parties, terms_version")[0]
        terms = agreement.changed_terms(goal["terms_version"])
        w.update("gf_plan_goals", {"goal_id": e.originator_id}, {
            "terms_version": terms.terms_version, "status": terms.status,
            "awaiting_agreement": True, "agreed_parties": Json(list(terms.agreed)),
            "awaiting_agreement_from": Json(list(agreement.awaiting(goal["required_parties"],
                                                                    terms.agreed)))})

    def _status(self, w: Writer, e: Goal.Event, status: str) -> None:
        w.update("gf_plan_goals", {"goal_id": e.originator_id},
                 {"status": status, "awaiting_agreement": False,
                  "awaiting_agreement_from": Json([])})

    def _insert_step(self, w: Writer, goal_id: UUID, step_id: str, description: str) -> None:
        w.insert("gf_plan_steps", {"goal_id": goal_id, "step_id": step_id,
                                   "position": int(step_id[1:]), "description": description,
                                   "status": "open", "completed_at": None})

    def _insert_measures(self, w: Writer, goal_id: UUID, measures: Any, *, start: int) -> None:
        for position, measure in enumerate(measures, start=start):
            w.insert("gf_plan_measures", {
                "goal_id": goal_id, "name": measure.name, "position": position,
                "baseline": measure.baseline, "target": measure.target,
                "direction": measure.direction, "latest": None, "latest_at": None})

    # -- queries --------------------------------------------------------------------

    def index(self, r: Reader, *, subject: str | None = None, status: str | None = None,
              clinician: str | None = None, awaiting_agreement: bool | None = None,
              limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Every goal (optionally of one subject, status or clinician, awaiting agreement
        or not), most recently changed first; ``limit`` and ``offset`` page it."""
        where, params = _filters(r, subject=subject, status=status, clinician=clinician,
                                 awaiting_agreement=awaiting_agreement)
        return r.rows(
            "SELECT goal_id, subject_kind, subject_id, status, terms_version, statement,"
            f" version, drafted_at, updated_at, {r.column('drafted_by', since=2)}"
            " FROM {gf_plan_goals}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY updated_at DESC, goal_id" + r.page(limit, offset), params)

    def plan(self, r: Reader, subject_id: str, *, include_closed: bool = False,
             status: str | None = None, clinician: str | None = None,
             awaiting_agreement: bool | None = None, limit: int | None = None,
             offset: int = 0) -> list[dict[str, Any]]:
        """The subject's goals, oldest first, each with its steps and measures; only open
        ones unless ``include_closed``; filtered as :meth:`index` is, and paged."""
        where, params = _filters(r, subject=subject_id, status=status, clinician=clinician,
                                 awaiting_agreement=awaiting_agreement)
        where.append("status <> 'entered-in-error'" if include_closed else
                     f"status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})")
        goals = r.rows(
            "SELECT goal_id, subject_kind, subject_id, status, terms_version,"
            " awaiting_agreement, awaiting_agreement_from, statement, client_words,"
            " target_date, next_review_on, drafted_at, version, updated_at,"
            f" {r.column('drafted_by', since=2)} FROM {{gf_plan_goals}}"
            " WHERE " + " AND ".join(where) + " ORDER BY drafted_at, goal_id"
            + r.page(limit, offset), params)
        for goal in goals:
            goal["group_goal"] = goal["subject_kind"] == "group"
            goal["steps"] = r.rows(
                "SELECT step_id, description, status, completed_at FROM {gf_plan_steps}"
                " WHERE goal_id = ? ORDER BY position", (goal["goal_id"],))
            goal["measures"] = r.rows(
                "SELECT name, baseline, target, direction, latest, latest_at"
                " FROM {gf_plan_measures} WHERE goal_id = ? ORDER BY position",
                (goal["goal_id"],))
        return goals


def _filters(r: Reader, *, subject: str | None, status: str | None, clinician: str | None,
             awaiting_agreement: bool | None) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``gf_plan_goals`` and their parameters, for the filters given."""
    where: list[str] = []
    params: list[Any] = []
    if clinician is not None:
        r.require(2, "the clinician filter")
    if subject is not None:
        where.append(_parties.of_subject("gf_plan_members"))
        params += [subject, subject]
    for column, value in (("status", status), ("drafted_by", clinician),
                          ("awaiting_agreement", awaiting_agreement)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return where, params

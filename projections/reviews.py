"""The reviews worklist: when each active or on-hold goal is next due for review.

Table (a view over the live generation):

- ``gf_review_schedule``: one row per goal not yet closed, with its status, the
  date set at its last review (``next_review_on``), when that review was held
  (``last_review_at``) and when the agreement that made its current terms
  active was given (``activated_at``).

The due date is worked out when the worklist is read: the date set at the last
review, else the policy interval after the day (in the clinic's time zone) of the
later of the last review and the activation. The rows keep moments, never a date
worked out from one: changing the interval or the store's time zone therefore needs
no rebuild, and the worklist always takes its dates in the zone in force.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from goalflow import Goal, agreement
from goalflow.projection import Json, Projection, Reader, Table, Writer

DEFAULT_INTERVAL_DAYS = 90


class Reviews(Projection):
    name = "reviews"
    version = 2  # 2: drafted_by, the clinician who drafted the goal
    tables = (
        Table("gf_review_schedule", (
            ("goal_id", "uuid"), ("subject_kind", "text"), ("subject_id", "text"),
            ("status", "text"), ("statement", "text"), ("required_parties", "json"),
            ("agreed_parties", "json"), ("activated_at", "timestamp"),
            ("last_review_at", "timestamp"), ("next_review_on", "date"),
            ("drafted_by", "text"),
        ), primary_key=("goal_id",), indexes=(("status",),)),
    )

    def on_Drafted(self, w: Writer, e: Goal.Drafted) -> None:
        w.insert("gf_review_schedule", {
            "goal_id": e.originator_id, "subject_kind": e.subject.kind,
            "subject_id": e.subject.id, "status": agreement.PROPOSED, "statement": e.statement,
            "required_parties": Json(list(agreement.required_parties(e.subject))),
            "agreed_parties": Json([]),
            "activated_at": None, "last_review_at": None, "next_review_on": None,
            "drafted_by": e.actor.id})

    def on_AgreedByClient(self, w: Writer, e: Goal.AgreedByClient) -> None:
        row = self._row(w, e.originator_id)
        agreed = list(agreement.with_agreement(row["agreed_parties"], e.party))
        values: dict[str, Any] = {"agreed_parties": Json(agreed)}
        if agreement.complete(row["required_parties"], agreed):
            values.update(status=agreement.ACTIVE_WHEN_AGREED, activated_at=e.occurred_at)
        w.update("gf_review_schedule", {"goal_id": e.originator_id}, values)

    def on_ClientDisagreed(self, w: Writer, e: Goal.ClientDisagreed) -> None:
        row = self._row(w, e.originator_id)
        w.update("gf_review_schedule", {"goal_id": e.originator_id},
                 {"agreed_parties": Json(list(agreement.without(row["agreed_parties"],
                                                                e.party)))})

    def on_Revised(self, w: Writer, e: Goal.Revised) -> None:
        for change in e.changes:
            if change.field == "statement":
                w.update("gf_review_schedule", {"goal_id": e.originator_id},
                         {"statement": change.after})

    def on_ReviewHeld(self, w: Writer, e: Goal.ReviewHeld) -> None:
        w.update("gf_review_schedule", {"goal_id": e.originator_id},
                 {"last_review_at": e.occurred_at, "next_review_on": e.next_review_on})

    def on_PutOnHold(self, w: Writer, e: Goal.Event) -> None:
        w.update("gf_review_schedule", {"goal_id": e.originator_id}, {"status": "on-hold"})

    def on_Resumed(self, w: Writer, e: Goal.Event) -> None:
        w.update("gf_review_schedule", {"goal_id": e.originator_id}, {"status": "active"})

    def on_Achieved(self, w: Writer, e: Goal.Event) -> None:
        w.delete("gf_review_schedule", {"goal_id": e.originator_id})

    on_Discontinued = on_Achieved
    on_Withdrawn = on_Achieved
    on_EnteredInError = on_Achieved

    def _row(self, w: Writer, goal_id: UUID) -> dict[str, Any]:
        return w.select("gf_review_schedule", {"goal_id": goal_id},
                        columns="required_parties, agreed_parties")[0]

    def on_terms_changed(self, w: Writer, e: Goal.Event) -> None:
        terms = agreement.changed_terms(0)  # only its agreement and status are kept here
        w.update("gf_review_schedule", {"goal_id": e.originator_id},
                 {"status": terms.status, "agreed_parties": Json(list(terms.agreed))})

    # -- queries --------------------------------------------------------------------

    def worklist(self, r: Reader, *, as_of: date, zone: ZoneInfo, overdue: bool = False,
                 interval_days: int = DEFAULT_INTERVAL_DAYS, subject: str | None = None,
                 status: str | None = None, clinician: str | None = None,
                 due_before: date | None = None, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, Any]]:
        """Active and on-hold goals by review due date, oldest first, judged on ``as_of``
        (the clinic's today); a moment's day is taken in ``zone``, the clinic's.

        ``subject``, ``status``, ``clinician`` (who drafted the goal): only those goals;
        ``due_before``: only reviews due before that date (``overdue``: before ``as_of``);
        ``limit`` and ``offset`` page the ordered worklist, in SQL.
        """
        by_interval = (
            "CASE WHEN last_review_at IS NOT NULL AND (activated_at IS NULL"
            " OR last_review_at >= activated_at) THEN last_review_at ELSE activated_at END")
        due = (f"CASE WHEN next_review_on IS NOT NULL THEN next_review_on"
               f" ELSE {r.plus_days(r.day_in_zone(by_interval, zone), interval_days)} END")
        basis = ("CASE WHEN next_review_on IS NOT NULL THEN 'set at last review'"
                 " WHEN last_review_at IS NOT NULL AND (activated_at IS NULL"
                 " OR last_review_at >= activated_at) THEN 'interval after last review'"
                 " ELSE 'interval after agreement' END")
        if clinician is not None:
            r.require(2, "the clinician filter")
        where = ["status IN ('active', 'on-hold')"]
        params: list[Any] = []
        for column, value in (("subject_id", subject), ("status", status),
                              ("drafted_by", clinician)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        before = min((d for d in (due_before, as_of if overdue else None) if d is not None),
                     default=None)
        if before is not None:
            where.append("due_on < ?")
            params.append(before)
        rows = r.rows(
            "SELECT * FROM (SELECT goal_id, subject_kind, subject_id, status, statement,"
            f" {r.column('drafted_by', since=2)}, activated_at, last_review_at,"
            f" next_review_on, {due} AS due_on,"
            f" {basis} AS basis FROM {{gf_review_schedule}}) w"
            f" WHERE {' AND '.join(where)} ORDER BY due_on, goal_id"
            + r.page(limit, offset), params)
        for row in rows:
            due_on = row["due_on"]
            due_on = due_on if isinstance(due_on, date) else date.fromisoformat(due_on)
            days_overdue = (as_of - due_on).days
            row.update(due_on=due_on.isoformat(), overdue=days_overdue > 0,
                       days_overdue=max(days_overdue, 0))
        return rows

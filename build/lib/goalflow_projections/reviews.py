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

from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

from goalflow import Goal, agreement
from goalflow.projection import Json, Projection, Reader, Table, Writer

DEFAULT_INTERVAL_DAYS = 90


class Reviews(Projection):
    name = "reviews"
    tables = (
        Table("gf_review_schedule", (
            ("goal_id", "uuid"), ("subject_kind", "text"), ("subject_id", "text"),
            ("status", "text"), ("statement", "text"), ("required_parties", "json"),
            ("agreed_parties", "json"), ("activated_at", "timestamp"),
            ("last_review_at", "timestamp"), ("next_review_on", "date"),
        ), primary_key=("goal_id",), indexes=(("status",),)),
    )

    def on_Drafted(self, w: Writer, e: Goal.Drafted) -> None:
        w.insert("gf_review_schedule", {
            "goal_id": e.originator_id, "subject_kind": e.subject.kind,
            "subject_id": e.subject.id, "status": agreement.PROPOSED, "statement": e.statement,
            "required_parties": Json(list(agreement.required_parties(e.subject))),
            "agreed_parties": Json([]),
            "activated_at": None, "last_review_at": None, "next_review_on": None})

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

    def worklist(self, r: Reader, *, as_of: date, zone: tzinfo, overdue: bool = False,
                 interval_days: int = DEFAULT_INTERVAL_DAYS) -> list[dict[str, Any]]:
        """Active and on-hold goals by review due date, oldest first, judged on ``as_of``
        (the clinic's today); a moment's day is taken in ``zone``, the clinic's."""
        rows = r.rows(
            "SELECT goal_id, subject_kind, subject_id, status, statement, activated_at,"
            " last_review_at, next_review_on FROM {gf_review_schedule}"
            " WHERE status IN ('active', 'on-hold')", ())
        interval = timedelta(days=interval_days)
        worklist = []
        for row in rows:
            if row["next_review_on"] is not None:
                due, basis = date.fromisoformat(row["next_review_on"]), "set at last review"
            else:
                last_review = _moment(row["last_review_at"])
                activated = _moment(row["activated_at"])
                if last_review is not None and (activated is None or last_review >= activated):
                    due = last_review.astimezone(zone).date() + interval
                    basis = "interval after last review"
                else:
                    assert activated is not None
                    due = activated.astimezone(zone).date() + interval
                    basis = "interval after agreement"
            days_overdue = (as_of - due).days
            if overdue and days_overdue <= 0:
                continue
            worklist.append({**row, "due_on": due.isoformat(), "basis": basis,
                             "overdue": days_overdue > 0,
                             "days_overdue": max(days_overdue, 0)})
        worklist.sort(key=lambda item: (item["due_on"], item["goal_id"]))
        return worklist


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)

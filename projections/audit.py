"""The audit trail: one entry per event of every goal, and every revision's agreement.

Tables (views over the live generation):

- ``gf_audit_entries``: one row per event: its position in the log, goal,
  version, event type, when it was recorded and when it occurred (and how late
  it was entered, in seconds), who did it in which role (and for whom), the
  reason where the event has one, and the event's other fields as ``details``.
- ``gf_audit_changes``: for each ``Revised`` entry, the exact field-level change:
  a changed field with its value before and after, or a step added, removed or
  reworded.
- ``gf_audit_revisions``: for each ``Revised`` entry, whether the revised terms
  were agreed by every required party (``agreed``, with when), are still
  ``pending``, or were ``superseded`` by a later revision before agreement. (Whether
  a revision was ``date_only``, the target date all it changed, is read from
  ``gf_audit_changes``: no column, so stores built before need no rebuild.)
- ``gf_audit_goals`` and ``gf_audit_members``: each goal's subject, required
  parties and agreement to its current terms (what the above are derived from).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from goalflow import Goal, agreement
from goalflow.projection import Json, Projection, Reader, Table, Writer, plain

from . import _parties

_COMMON = {"originator_id", "originator_version", "timestamp", "actor", "occurred_at",
           "originator_topic", "reason"}


class AuditTrail(Projection):
    name = "audit"
    version = 2  # 2: measures in details and changes with event schema 2's scale fields
    tables = (
        Table("gf_audit_entries", (
            ("position", "int"), ("goal_id", "uuid"), ("version", "int"),
            ("event_type", "text"), ("recorded_at", "timestamp"),
            ("occurred_at", "timestamp"), ("late_seconds", "int"), ("actor_id", "text"),
            ("actor_role", "text"), ("on_behalf_of", "text"), ("reason", "text"),
            ("subject_kind", "text"), ("subject_id", "text"), ("details", "json"),
        ), primary_key=("position",),
            indexes=(("goal_id",), ("actor_id",), ("recorded_at",), ("subject_id",))),
        Table("gf_audit_changes", (
            ("position", "int"), ("seq", "int"), ("goal_id", "uuid"), ("change", "text"),
            ("field", "text"), ("step_id", "text"), ("before", "json"), ("after", "json"),
        ), primary_key=("position", "seq")),
        Table("gf_audit_revisions", (
            ("position", "int"), ("goal_id", "uuid"), ("version", "int"),
            ("terms_version", "int"), ("previously_agreed", "bool"), ("agreement", "text"),
            ("agreed_parties", "json"), ("required_parties", "json"),
            ("agreed_at", "timestamp"), ("agreed_recorded_at", "timestamp"),
            ("superseded_by", "int"),
        ), primary_key=("position",), indexes=(("goal_id",),)),
        Table("gf_audit_goals", (
            ("goal_id", "uuid"), ("subject_kind", "text"), ("subject_id", "text"),
            ("required_parties", "json"), ("agreed_parties", "json"), ("terms_version", "int"),
            ("ever_agreed", "bool"), ("open_revision", "int"),
        ), primary_key=("goal_id",)),
        Table("gf_audit_members", (("goal_id", "uuid"), ("client_id", "text")),
              primary_key=("goal_id", "client_id"), indexes=(("client_id",),)),
    )

    def handle(self, w: Writer, event: Goal.Event) -> None:
        if isinstance(event, Goal.SubjectForgotten):
            self._forgotten(w, event)
            return
        if isinstance(event, Goal.Drafted):
            self._new_goal(w, event)
        subject_kind, subject_id = self._subject(w, event.originator_id)
        actor = event.actor
        # Json values are written as goalflow's canonical JSON, which turns value objects,
        # dates and ids into their plain forms itself.
        fields = {k: v for k, v in vars(event).items() if k not in _COMMON}
        w.insert("gf_audit_entries", {
            "position": w.position, "goal_id": event.originator_id,
            "version": event.originator_version, "event_type": type(event).__name__,
            "recorded_at": event.timestamp, "occurred_at": event.occurred_at,
            "late_seconds": int((event.timestamp - event.occurred_at).total_seconds()),
            "actor_id": actor.id, "actor_role": actor.role, "on_behalf_of": actor.on_behalf_of,
            "reason": getattr(event, "reason", None), "subject_kind": subject_kind,
            "subject_id": subject_id, "details": Json(fields),
        })
        super().handle(w, event)

    def _forgotten(self, w: Writer, e: Goal.SubjectForgotten) -> None:
        """The goal's entries go (they held what the client said); one entry stays: the
        erasure, who and why (the same whether the rows were there or, rebuilt after the
        key was destroyed, never made)."""
        self.erase_goal(w, e.originator_id)
        w.insert("gf_audit_entries", {
            "position": w.position, "goal_id": e.originator_id,
            "version": e.originator_version, "event_type": "SubjectForgotten",
            "recorded_at": e.timestamp, "occurred_at": e.occurred_at,
            "late_seconds": int((e.timestamp - e.occurred_at).total_seconds()),
            "actor_id": e.actor.id, "actor_role": e.actor.role,
            "on_behalf_of": e.actor.on_behalf_of, "reason": e.reason, "subject_kind": None,
            "subject_id": e.subject_id,
            "details": Json({"hold_overridden": e.hold_overridden, "erased": True})})

    def _subject(self, w: Writer, goal_id: UUID) -> tuple[str, str]:
        # A goal's subject never changes, so one look per batch is enough (none when
        # the writer knows the goal).
        goal = w.goals.get(goal_id)
        if goal is not None:
            return goal.subject.kind, goal.subject.id
        subject = w.memo.get(("subject", goal_id))
        if subject is None:
            row = w.select("gf_audit_goals", {"goal_id": goal_id},
                           columns="subject_kind, subject_id")[0]
            subject = w.memo[("subject", goal_id)] = (row["subject_kind"], row["subject_id"])
        return subject

    def _new_goal(self, w: Writer, e: Goal.Drafted) -> None:
        w.insert("gf_audit_goals", {
            "goal_id": e.originator_id, "subject_kind": e.subject.kind,
            "subject_id": e.subject.id,
            "required_parties": Json(list(agreement.required_parties(e.subject))),
            "agreed_parties": Json([]), "terms_version": agreement.FIRST_TERMS,
            "ever_agreed": False,
            "open_revision": None})
        for member in e.subject.members:
            w.insert("gf_audit_members", {"goal_id": e.originator_id, "client_id": member})

    # -- events ---------------------------------------------------------------------

    def on_AgreedByClient(self, w: Writer, e: Goal.AgreedByClient) -> None:
        goal = w.select("gf_audit_goals", {"goal_id": e.originator_id})[0]
        agreed = list(agreement.with_agreement(goal["agreed_parties"], e.party))
        complete = agreement.complete(goal["required_parties"], agreed)
        values: dict[str, Any] = {"agreed_parties": Json(agreed)}
        if complete:
            values["ever_agreed"] = True
            values["open_revision"] = None
        w.update("gf_audit_goals", {"goal_id": e.originator_id}, values)
        if goal["open_revision"] is not None:
            revision: dict[str, Any] = {"agreed_parties": Json(agreed)}
            if complete:
                revision.update(agreement="agreed", agreed_at=e.occurred_at,
                                agreed_recorded_at=e.timestamp)
            w.update("gf_audit_revisions", {"position": goal["open_revision"]}, revision)

    def on_ClientDisagreed(self, w: Writer, e: Goal.ClientDisagreed) -> None:
        goal = w.select("gf_audit_goals", {"goal_id": e.originator_id})[0]
        agreed = list(agreement.without(goal["agreed_parties"], e.party))
        w.update("gf_audit_goals", {"goal_id": e.originator_id}, {"agreed_parties": Json(agreed)})
        if goal["open_revision"] is not None:
            w.update("gf_audit_revisions", {"position": goal["open_revision"]},
                     {"agreed_parties": Json(agreed)})

    def on_Revised(self, w: Writer, e: Goal.Revised) -> None:
        changes: list[tuple[str, str | None, str | None, Any, Any]] = [
            ("changed", c.field, None, plain(c.before), plain(c.after)) for c in e.changes
        ]
        changes += [("step removed", "steps", s.step_id, s.description, None)
                    for s in e.steps_removed]
        changes += [("step reworded", "steps", r.step_id, r.before, r.after)
                    for r in e.steps_reworded]
        changes += [("step added", "steps", s.step_id, None, s.description)
                    for s in e.steps_added]
        for seq, (change, field, step_id, before, after) in enumerate(changes, start=1):
            w.insert("gf_audit_changes", {
                "position": w.position, "seq": seq, "goal_id": e.originator_id,
                "change": change, "field": field, "step_id": step_id,
                "before": Json(before), "after": Json(after)})

    def on_terms_changed(self, w: Writer, e: Goal.Event) -> None:
        """A new terms version, pending everyone's agreement; a revision is recorded as one
        (a step added changes the terms too, and is in the trail as its own entry)."""
        goal_id = e.originator_id
        revision = e if isinstance(e, Goal.Revised) else None
        goal = w.select("gf_audit_goals", {"goal_id": goal_id})[0]
        if goal["open_revision"] is not None:
            w.update("gf_audit_revisions", {"position": goal["open_revision"]},
                     {"agreement": "superseded", "superseded_by": w.position})
        terms = agreement.changed_terms(goal["terms_version"])
        terms_version = terms.terms_version
        w.update("gf_audit_goals", {"goal_id": goal_id}, {
            "terms_version": terms_version, "agreed_parties": Json(list(terms.agreed)),
            "open_revision": w.position if revision is not None else None})
        if revision is not None:
            w.insert("gf_audit_revisions", {
                "position": w.position, "goal_id": goal_id,
                "version": revision.originator_version, "terms_version": terms_version,
                "previously_agreed": goal["ever_agreed"], "agreement": "pending",
                "agreed_parties": Json(list(terms.agreed)),
                "required_parties": Json(goal["required_parties"]),
                "agreed_at": None, "agreed_recorded_at": None, "superseded_by": None})

    # -- queries --------------------------------------------------------------------

    def entries(
        self,
        r: Reader,
        *,
        goal_id: UUID | None = None,
        actor: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event: str | None = None,
        unagreed: bool = False,
        late_days: float | None = None,
        date_only: bool = False,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Audit entries in log order (``newest_first``: the other way), of positions after
        ``after`` and before ``before``, at most ``limit`` after the first ``offset``; each
        ``Revised`` one with its changes and agreement."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("goal_id", goal_id), ("actor_id", actor), ("event_type", event)):
            if value is not None:
                where.append(f"e.{column} = ?")
                params.append(value)
        if subject is not None:
            where.append(_parties.of_subject("gf_audit_members", alias="e."))
            params += [subject, subject]
        bounds: list[tuple[str, object]] = [
            ("e.recorded_at >= ?", since), ("e.recorded_at <= ?", until),
            ("e.position > ?", after), ("e.position < ?", before)]
        for condition, bound in bounds:
            if bound is not None:
                where.append(condition)
                params.append(bound)
        if late_days is not None:
            where.append("e.late_seconds > ?")
            params.append(int(late_days * 86400))
        if unagreed:
            where.append("e.position IN (SELECT position FROM {gf_audit_revisions}"
                         " WHERE previously_agreed AND agreement = 'pending')")
        if date_only:
            where.append(f"e.position IN ({_DATE_ONLY})")
        sql = ("SELECT e.* FROM {gf_audit_entries} e"
               + (" WHERE " + " AND ".join(where) if where else "")
               + f" ORDER BY e.position{' DESC' if newest_first else ''}")
        sql += r.page(limit, offset)
        rows = r.rows(sql, params)
        revised = [row["position"] for row in rows if row["event_type"] == "Revised"]
        if revised:  # the page's revisions in two queries, not two per revision
            changes: dict[int, list[dict[str, Any]]] = {p: [] for p in revised}
            agreements: dict[int, dict[str, Any]] = {}
            for chunk in (revised[i:i + 500] for i in range(0, len(revised), 500)):
                marks = ", ".join("?" for _ in chunk)
                for change in r.rows(
                        "SELECT position, change, field, step_id, before, after FROM"
                        f" {{gf_audit_changes}} WHERE position IN ({marks})"
                        " ORDER BY position, seq", chunk):
                    changes[change.pop("position")].append(change)
                for found in r.rows(
                        "SELECT position, terms_version, previously_agreed, agreement,"
                        " agreed_parties, required_parties, agreed_at, agreed_recorded_at,"
                        f" superseded_by FROM {{gf_audit_revisions}} WHERE position IN"
                        f" ({marks})", chunk):
                    agreements[found.pop("position")] = found
            for row in rows:
                if row["event_type"] == "Revised":
                    row["changes"] = changes[row["position"]]
                    row["agreement"] = agreements[row["position"]]
                    row["date_only"] = [(c["change"], c["field"])
                                        for c in row["changes"]] == [("changed", "target_date")]
        return rows

    def plan_changes(self, r: Reader) -> list[dict[str, Any]]:
        """Every revision and review, by subject then clinical time: the subject, goal,
        event, when it occurred, whether a revision was date-only and a review's outcome
        (for the cloned-plan check)."""
        rows = r.rows(
            "SELECT e.position, e.subject_id, e.goal_id, e.event_type, e.occurred_at,"
            f" e.details, CASE WHEN e.position IN ({_DATE_ONLY}) THEN 1 ELSE 0 END"
            " AS date_only_revision FROM {gf_audit_entries} e"
            " WHERE e.event_type IN ('Revised', 'ReviewHeld')"
            " ORDER BY e.subject_id, e.occurred_at, e.position")
        for row in rows:
            row["date_only"] = bool(row.pop("date_only_revision"))
        return rows


# The positions of revisions whose one change is the target date.
_DATE_ONLY = ("SELECT position FROM {gf_audit_changes} GROUP BY position HAVING COUNT(*) = 1"
              " AND MAX(CASE WHEN change = 'changed' AND field = 'target_date' THEN 1"
              " ELSE 0 END) = 1")

"""Typed results of the read-model queries: plan entries, audit entries, reviews due, goals.

``Goals.plan``, ``Goals.audit`` (and ``audit_entries``), ``Goals.reviews`` and
``Goals.goal_index`` give these frozen attrs values, with real ``UUID``, ``date``,
``datetime`` (aware, in UTC) and ``int`` fields parsed from the read models' rows. Each has
``to_dict()``: the JSON-ready mapping the command line prints (``--json``), key for key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import attrs

Number = int | float
"""A measure's value as recorded: a whole number, or a float."""


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@attrs.frozen
class PlanStep:
    """A step of a goal in a plan: ``status`` is ``open`` or ``completed`` (then when)."""

    step_id: str
    description: str
    status: str
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PlanStep:
        return cls(row["step_id"], row["description"], row["status"],
                   _moment(row["completed_at"]))

    def to_dict(self) -> dict[str, Any]:
        return {"step_id": self.step_id, "description": self.description,
                "status": self.status, "completed_at": _iso(self.completed_at)}


@attrs.frozen
class PlanMeasure:
    """A measure of a goal in a plan: baseline, target, direction and the latest value."""

    name: str
    baseline: Number | None
    target: Number | None
    direction: str | None
    latest: Number | None
    latest_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PlanMeasure:
        return cls(row["name"], row["baseline"], row["target"], row["direction"],
                   row["latest"], _moment(row["latest_at"]))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "baseline": self.baseline, "target": self.target,
                "direction": self.direction, "latest": self.latest,
                "latest_at": _iso(self.latest_at)}


@attrs.frozen
class Achievement:
    """A goal's FHIR achievementStatus code and why (from the ``outcomes`` read model)."""

    code: str
    explanation: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "explanation": self.explanation}


@attrs.frozen
class PlanEntry:
    """A goal in a subject's treatment plan.

    ``awaiting_agreement``: its current terms (``terms_version``) are not yet agreed by
    every required party, ``awaiting_agreement_from`` those still to agree;
    ``next_review_on``: the date set at its last review; ``drafted_by``: the clinician who
    drafted it (not in ``to_dict``, which keeps the command line's keys);
    ``achievement_status``: None where the store has no ``outcomes`` read model.
    """

    goal_id: UUID
    subject_kind: str
    subject_id: str
    status: str
    terms_version: int
    awaiting_agreement: bool
    awaiting_agreement_from: tuple[str, ...]
    statement: str
    client_words: str | None
    target_date: date | None
    next_review_on: date | None
    drafted_at: datetime
    version: int
    updated_at: datetime
    drafted_by: str | None
    group_goal: bool
    steps: tuple[PlanStep, ...]
    measures: tuple[PlanMeasure, ...]
    achievement_status: Achievement | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any],
                 achievement: Mapping[str, Any] | None) -> PlanEntry:
        return cls(
            UUID(row["goal_id"]), row["subject_kind"], row["subject_id"], row["status"],
            row["terms_version"], row["awaiting_agreement"],
            tuple(row["awaiting_agreement_from"]), row["statement"], row["client_words"],
            _day(row["target_date"]), _day(row["next_review_on"]),
            datetime.fromisoformat(row["drafted_at"]), row["version"],
            datetime.fromisoformat(row["updated_at"]), row["drafted_by"], row["group_goal"],
            tuple(PlanStep.from_row(s) for s in row["steps"]),
            tuple(PlanMeasure.from_row(m) for m in row["measures"]),
            None if achievement is None else Achievement(achievement["code"],
                                                         achievement["explanation"]))

    def to_dict(self) -> dict[str, Any]:
        """As ``goalflow plan --json`` prints it."""
        return {
            "goal_id": str(self.goal_id), "subject_kind": self.subject_kind,
            "subject_id": self.subject_id, "status": self.status,
            "terms_version": self.terms_version, "awaiting_agreement": self.awaiting_agreement,
            "awaiting_agreement_from": list(self.awaiting_agreement_from),
            "statement": self.statement, "client_words": self.client_words,
            "target_date": _iso(self.target_date), "next_review_on": _iso(self.next_review_on),
            "drafted_at": self.drafted_at.isoformat(), "version": self.version,
            "updated_at": self.updated_at.isoformat(), "group_goal": self.group_goal,
            "steps": [s.to_dict() for s in self.steps],
            "measures": [m.to_dict() for m in self.measures],
            "achievement_status": None if self.achievement_status is None
            else self.achievement_status.to_dict(),
        }


@attrs.frozen
class GoalIndexEntry:
    """A goal in the goal index: who it is for, its status and when it last changed."""

    goal_id: UUID
    subject_kind: str
    subject_id: str
    status: str
    terms_version: int
    statement: str
    version: int
    drafted_at: datetime
    updated_at: datetime
    drafted_by: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> GoalIndexEntry:
        return cls(UUID(row["goal_id"]), row["subject_kind"], row["subject_id"],
                   row["status"], row["terms_version"], row["statement"], row["version"],
                   datetime.fromisoformat(row["drafted_at"]),
                   datetime.fromisoformat(row["updated_at"]), row["drafted_by"])

    def to_dict(self) -> dict[str, Any]:
        """As ``goalflow goals --json`` prints it (without ``drafted_by``)."""
        return {"goal_id": str(self.goal_id), "subject_kind": self.subject_kind,
                "subject_id": self.subject_id, "status": self.status,
                "terms_version": self.terms_version, "statement": self.statement,
                "version": self.version, "drafted_at": self.drafted_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


@attrs.frozen
class ReviewDue:
    """A goal on the reviews worklist, with the date its review is due and why then.

    ``basis``: ``set at last review``, ``interval after last review`` or ``interval after
    agreement``; ``days_overdue`` is 0 unless ``overdue`` (judged on the day asked about).
    """

    goal_id: UUID
    subject_kind: str
    subject_id: str
    status: str
    statement: str
    drafted_by: str | None
    activated_at: datetime | None
    last_review_at: datetime | None
    next_review_on: date | None
    due_on: date
    basis: str
    overdue: bool
    days_overdue: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ReviewDue:
        return cls(UUID(row["goal_id"]), row["subject_kind"], row["subject_id"],
                   row["status"], row["statement"], row["drafted_by"],
                   _moment(row["activated_at"]), _moment(row["last_review_at"]),
                   _day(row["next_review_on"]), date.fromisoformat(row["due_on"]),
                   row["basis"], row["overdue"], row["days_overdue"])

    def to_dict(self) -> dict[str, Any]:
        """As ``goalflow reviews --json`` prints it."""
        return {"goal_id": str(self.goal_id), "subject_kind": self.subject_kind,
                "subject_id": self.subject_id, "status": self.status,
                "statement": self.statement, "activated_at": _iso(self.activated_at),
                "last_review_at": _iso(self.last_review_at),
                "next_review_on": _iso(self.next_review_on), "due_on": self.due_on.isoformat(),
                "basis": self.basis, "overdue": self.overdue,
                "days_overdue": self.days_overdue}


@attrs.frozen
class AuditChange:
    """One change a revision made: ``changed`` (a field, before and after), ``step added``,
    ``step removed`` or ``step reworded`` (with the step's id); values as JSON."""

    change: str
    field: str | None
    step_id: str | None
    before: Any = attrs.field(hash=False)
    after: Any = attrs.field(hash=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditChange:
        return cls(row["change"], row["field"], row["step_id"], row["before"], row["after"])

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "field": self.field, "step_id": self.step_id,
                "before": self.before, "after": self.after}


@attrs.frozen
class RevisionAgreement:
    """Whether a revision's terms were ``agreed`` (when), are ``pending``, or were
    ``superseded`` by the revision at ``superseded_by`` before agreement."""

    terms_version: int
    previously_agreed: bool
    agreement: str
    agreed_parties: tuple[str, ...]
    required_parties: tuple[str, ...]
    agreed_at: datetime | None
    agreed_recorded_at: datetime | None
    superseded_by: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RevisionAgreement:
        return cls(row["terms_version"], row["previously_agreed"], row["agreement"],
                   tuple(row["agreed_parties"]), tuple(row["required_parties"]),
                   _moment(row["agreed_at"]), _moment(row["agreed_recorded_at"]),
                   row["superseded_by"])

    def to_dict(self) -> dict[str, Any]:
        return {"terms_version": self.terms_version,
                "previously_agreed": self.previously_agreed, "agreement": self.agreement,
                "agreed_parties": list(self.agreed_parties),
                "required_parties": list(self.required_parties),
                "agreed_at": _iso(self.agreed_at),
                "agreed_recorded_at": _iso(self.agreed_recorded_at),
                "superseded_by": self.superseded_by}


@attrs.frozen
class AuditEntry:
    """One event in the audit trail: its log ``position``, who did it, when it was recorded
    and when it occurred (``late_seconds`` between), why, and its other fields as
    ``details`` (JSON). A ``Revised`` entry has its ``changes``, its ``agreement`` and
    whether it was ``date_only``; other entries have None there."""

    position: int
    goal_id: UUID
    version: int
    event_type: str
    recorded_at: datetime
    occurred_at: datetime
    late_seconds: int
    actor_id: str
    actor_role: str
    on_behalf_of: str | None
    reason: str | None
    subject_kind: str | None
    subject_id: str | None
    details: Mapping[str, Any] = attrs.field(hash=False)
    changes: tuple[AuditChange, ...] | None = None
    agreement: RevisionAgreement | None = None
    date_only: bool | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditEntry:
        revised = "changes" in row
        return cls(
            row["position"], UUID(row["goal_id"]), row["version"], row["event_type"],
            datetime.fromisoformat(row["recorded_at"]),
            datetime.fromisoformat(row["occurred_at"]), row["late_seconds"],
            row["actor_id"], row["actor_role"], row["on_behalf_of"], row["reason"],
            row["subject_kind"], row["subject_id"], row["details"],
            tuple(AuditChange.from_row(c) for c in row["changes"]) if revised else None,
            RevisionAgreement.from_row(row["agreement"]) if revised else None,
            row["date_only"] if revised else None)

    def to_dict(self) -> dict[str, Any]:
        """As ``goalflow audit --json`` prints it (``changes``, ``agreement`` and
        ``date_only`` only for a ``Revised`` entry)."""
        found: dict[str, Any] = {
            "position": self.position, "goal_id": str(self.goal_id), "version": self.version,
            "event_type": self.event_type, "recorded_at": self.recorded_at.isoformat(),
            "occurred_at": self.occurred_at.isoformat(), "late_seconds": self.late_seconds,
            "actor_id": self.actor_id, "actor_role": self.actor_role,
            "on_behalf_of": self.on_behalf_of, "reason": self.reason,
            "subject_kind": self.subject_kind, "subject_id": self.subject_id,
            "details": dict(self.details)}
        if self.changes is not None:
            found["changes"] = [c.to_dict() for c in self.changes]
            found["agreement"] = None if self.agreement is None else self.agreement.to_dict()
            found["date_only"] = self.date_only
        return found

"""The Goal aggregate and its events: the public record of a treatment goal's life.

Pure: no I/O, no clock reads. Every command takes the clinical time
(``occurred_at``) and the recording time (``recorded_at``) as data; the
recording time becomes the event's ``timestamp``. The commands that judge a
calendar date (agreeing: has the target date passed; a review: is the next one
after it) take the clinic's time zone as data too (``zone``, a ``tzinfo``), and
take the date of each moment in it, never in the offset the moment came with.
No event records the zone: what is recorded is the decision, and the dates given.

Event names and fields are a schema that EHRs and auditors depend on. Their
stored topics are pinned (``TOPIC``) so that moving this module never breaks
reading old events. Never change a stored event's meaning: add a new class
version with an upcaster instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any, ClassVar, Final, Literal, cast
from uuid import UUID

from eventsourcing.domain import Aggregate, OriginatorIDError, OriginatorVersionError
from eventsourcing.domain import Snapshot as _Snapshot

from goalflow.domain import agreement as rules
from goalflow.domain.plain import plain
from goalflow.domain.smart import SmartReport, assess
from goalflow.domain.values import (
    AGREEMENT_METHODS,
    GAS_LEVELS,
    MAX_ID_LENGTH,
    MAX_LINE_LENGTH,
    MAX_LIST_LENGTH,
    MAX_TEXT_LENGTH,
    REVIEW_OUTCOMES,
    Actor,
    Agreement,
    FieldChange,
    GasScale,
    Measure,
    Rating,
    Reading,
    Step,
    StepRewording,
    Subject,
    brief,
    calendar_date,
    check_aware,
    check_choice,
    check_date,
    check_number,
    check_text,
    check_zone,
    rater_role,
    to_tuple,
)
from goalflow.errors import InvalidCommand, InvalidTransition, NotPermitted, NotSmart

Status = Literal[
    "proposed", "active", "on-hold", "completed", "cancelled", "rejected", "entered-in-error"
]
FINAL_STATUSES: Final = frozenset({"completed", "cancelled", "rejected", "entered-in-error"})

# The fields of the terms that ``revise`` can change, with their types. The
# codec reads this to restore the ``before``/``after`` of a stored FieldChange.
REVISABLE_FIELDS: Final[dict[str, Any]] = {
    "statement": str,
    "client_words": str | None,
    "addresses": tuple[str, ...],
    "target_date": date | None,
    "strengths": tuple[str, ...],
    "measures": tuple[Measure, ...],
}


class _Unchanged:
    """Marks a revise argument that was not given (``None`` is a real value)."""

    _instance: ClassVar[_Unchanged | None] = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"

    def __bool__(self) -> bool:
        return False


UNCHANGED: Final = _Unchanged()


class Goal(Aggregate):
    """A treatment goal set with a client (or a therapy group) and pursued over time."""

    TOPIC = "goalflow:Goal"
    # The version of the goal's state in snapshots. A snapshot of another version is
    # ignored and the goal replayed from its events (snapshots are only a cache).
    class_version = 3  # 2: measures as in Drafted v2; 3: first readings, counts, GAS

    # Declared state; the codec restores snapshots by these annotations.
    subject: Subject
    status: Status
    terms_version: int
    statement: str
    client_words: str | None
    addresses: tuple[str, ...]
    target_date: date | None
    strengths: tuple[str, ...]
    measures: tuple[Measure, ...]
    readings: dict[str, Reading]  # the latest recorded of each measure
    first_readings: dict[str, Reading]  # the first recorded of each measure
    reading_counts: dict[str, int]
    gas_scale: GasScale | None
    ratings: dict[str, Rating]  # the latest attainment rating by each rater role
    steps: tuple[Step, ...]
    steps_added: int
    agreements: tuple[Agreement, ...]
    agreed_parties: tuple[str, ...]
    ever_agreed: bool
    activated_at: datetime | None
    drafted_by: Actor
    drafted_at: datetime
    last_reviewed_at: datetime | None
    next_review_on: date | None
    status_reason: str | None
    _created_on: datetime
    _modified_on: datetime

    class Event(Aggregate.Event):
        """Every goal event records who did it and when it happened clinically.

        ``timestamp`` is when it was recorded (``recorded_at``).
        """

        TOPIC = "goalflow:Goal.Event"
        # The schema version of each event's stored form; a change to an event's fields
        # gives it a new version and an upcaster from the one before (README, "Changing
        # an event"), and src/goalflow/domain/events.lock.json records every version.
        class_version = 1
        actor: Actor
        occurred_at: datetime

        @property
        def recorded_at(self) -> datetime:
            return self.timestamp

        def mutate(self, aggregate: Any) -> Any:
            goal = cast("Goal", super().mutate(aggregate))
            if type(self).__name__ in rules.TERMS_CHANGES:  # the rule's one statement
                goal._terms_changed()
            return goal

        @property
        def goal_id(self) -> UUID:
            return self.originator_id

    class Created(Event, Aggregate.Created):
        TOPIC = "goalflow:Goal.Created"

    class Drafted(Created):
        TOPIC = "goalflow:Goal.Drafted"
        class_version = 2  # 2: measures gained instrument, range, sd, reliability, cutoff
        subject: Subject
        statement: str
        client_words: str | None
        addresses: tuple[str, ...]
        target_date: date | None
        strengths: tuple[str, ...]
        measures: tuple[Measure, ...]
        steps: tuple[Step, ...]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["measures"] = [_measure_v2(m) for m in state["measures"]]

    class AgreedByClient(Event):
        TOPIC = "goalflow:Goal.AgreedByClient"
        party: str
        terms_version: int
        method: str
        witnessed_by: Actor | None

        def apply(self, goal: Goal) -> None:
            goal.agreements += (
                Agreement(
                    party=self.party,
                    by=self.actor,
                    terms_version=self.terms_version,
                    method=self.method,  # type: ignore[arg-type]
                    witnessed_by=self.witnessed_by,
                    occurred_at=self.occurred_at,
                ),
            )
            goal.agreed_parties = rules.with_agreement(goal.agreed_parties, self.party)
            if rules.complete(rules.required_parties(goal.subject), goal.agreed_parties):
                goal.status = rules.ACTIVE_WHEN_AGREED
                goal.ever_agreed = True
                goal.activated_at = self.occurred_at

    class ClientDisagreed(Event):
        TOPIC = "goalflow:Goal.ClientDisagreed"
        party: str
        reason: str
        alternative: str | None

        def apply(self, goal: Goal) -> None:
            goal.agreed_parties = rules.without(goal.agreed_parties, self.party)

    class StepAdded(Event):
        TOPIC = "goalflow:Goal.StepAdded"
        step_id: str
        description: str

        def apply(self, goal: Goal) -> None:
            goal.steps += (Step(self.step_id, self.description),)
            goal.steps_added += 1

    class StepCompleted(Event):
        TOPIC = "goalflow:Goal.StepCompleted"
        step_id: str
        note: str | None

        def apply(self, goal: Goal) -> None:
            goal._set_step_status(self.step_id, "completed")

    class StepReopened(Event):
        TOPIC = "goalflow:Goal.StepReopened"
        step_id: str
        reason: str

        def apply(self, goal: Goal) -> None:
            goal._set_step_status(self.step_id, "open")

    class ProgressRecorded(Event):
        TOPIC = "goalflow:Goal.ProgressRecorded"
        measure: str
        value: int | float

        def apply(self, goal: Goal) -> None:
            reading = Reading(self.value, self.occurred_at)
            goal.readings = {**goal.readings, self.measure: reading}
            if self.measure not in goal.first_readings:
                goal.first_readings = {**goal.first_readings, self.measure: reading}
            goal.reading_counts = {**goal.reading_counts,
                                   self.measure: goal.reading_counts.get(self.measure, 0) + 1}

    class Revised(Event):
        TOPIC = "goalflow:Goal.Revised"
        class_version = 2  # 2: measures (before and after) as in Drafted v2
        reason: str
        changes: tuple[FieldChange, ...]
        steps_added: tuple[Step, ...]
        steps_removed: tuple[Step, ...]  # as they were, so the record shows what went
        steps_reworded: tuple[StepRewording, ...]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            for change in state["changes"]:
                if change["field"] == "measures":
                    change["before"] = [_measure_v2(m) for m in change["before"]]
                    change["after"] = [_measure_v2(m) for m in change["after"]]

        def apply(self, goal: Goal) -> None:
            for change in self.changes:
                setattr(goal, change.field, change.after)
            names = {m.name for m in goal.measures}
            goal.readings = {k: v for k, v in goal.readings.items() if k in names}
            goal.first_readings = {k: v for k, v in goal.first_readings.items() if k in names}
            goal.reading_counts = {k: v for k, v in goal.reading_counts.items() if k in names}
            reworded = {r.step_id: r.after for r in self.steps_reworded}
            removed = {s.step_id for s in self.steps_removed}
            goal.steps = tuple(
                Step(s.step_id, reworded.get(s.step_id, s.description), s.status)
                for s in goal.steps
                if s.step_id not in removed
            ) + self.steps_added
            goal.steps_added += len(self.steps_added)

    class ReviewHeld(Event):
        TOPIC = "goalflow:Goal.ReviewHeld"
        outcome: str
        notes: str | None
        next_review_on: date | None

        def apply(self, goal: Goal) -> None:
            goal.last_reviewed_at = self.occurred_at
            goal.next_review_on = self.next_review_on

    class PutOnHold(Event):
        TOPIC = "goalflow:Goal.PutOnHold"
        reason: str

        def apply(self, goal: Goal) -> None:
            goal._set_status("on-hold", self.reason)

    class Resumed(Event):
        TOPIC = "goalflow:Goal.Resumed"
        reason: str | None

        def apply(self, goal: Goal) -> None:
            goal._set_status("active", self.reason)

    class Achieved(Event):
        TOPIC = "goalflow:Goal.Achieved"
        evidence: str | None

        def apply(self, goal: Goal) -> None:
            goal._set_status("completed", self.evidence)

    class Discontinued(Event):
        TOPIC = "goalflow:Goal.Discontinued"
        reason: str

        def apply(self, goal: Goal) -> None:
            goal._set_status("cancelled", self.reason)

    class Withdrawn(Event):
        TOPIC = "goalflow:Goal.Withdrawn"
        reason: str

        def apply(self, goal: Goal) -> None:
            goal._set_status("rejected", self.reason)

    class EnteredInError(Event):
        TOPIC = "goalflow:Goal.EnteredInError"
        reason: str

        def apply(self, goal: Goal) -> None:
            goal._set_status("entered-in-error", self.reason)

    class GasScaleSet(Event):
        """A goal attainment scale was set for the goal (or replaced)."""

        TOPIC = "goalflow:Goal.GasScaleSet"
        scale: GasScale

        def apply(self, goal: Goal) -> None:
            goal.gas_scale = self.scale

    class AttainmentRated(Event):
        """The goal's attainment was rated on its GAS scale, from one rater's view."""

        TOPIC = "goalflow:Goal.AttainmentRated"
        level: int
        rater_role: str

        def apply(self, goal: Goal) -> None:
            # The latest in clinical time: a rating entered late does not replace a newer one.
            kept = goal.ratings.get(self.rater_role)
            if kept is None or kept.occurred_at <= self.occurred_at:
                goal.ratings = {**goal.ratings, self.rater_role: Rating(
                    self.level, self.rater_role, self.actor, self.occurred_at)}  # type: ignore[arg-type]
    class SubjectForgotten(Event):
        """The goal's subject was forgotten (crypto-shredding): the data key its events
        were encrypted with is destroyed, so none of them can be read again. Recorded in
        clear, by the service, on each of the subject's goals; it holds no client data:
        the subject's id, who and why, and the reason a retention hold was overridden,
        if one was. A goal with it is erased: it is not read or changed any more."""

        TOPIC = "goalflow:Goal.SubjectForgotten"
        subject_id: str
        reason: str
        hold_overridden: str | None

        def apply(self, goal: Goal) -> None:
            pass  # nothing of the goal is left to change: readers stop at this event

    class Snapshot(_Snapshot):
        TOPIC = "goalflow:Goal.Snapshot"

    # -- creation ------------------------------------------------------------

    def __init__(
        self,
        actor: Actor,
        occurred_at: datetime,
        subject: Subject,
        statement: str,
        client_words: str | None,
        addresses: tuple[str, ...],
        target_date: date | None,
        strengths: tuple[str, ...],
        measures: tuple[Measure, ...],
        steps: tuple[Step, ...],
    ) -> None:
        self.subject = subject
        self.status = rules.PROPOSED
        self.terms_version = rules.FIRST_TERMS
        self.statement = statement
        self.client_words = client_words
        self.addresses = addresses
        self.target_date = target_date
        self.strengths = strengths
        self.measures = measures
        self.readings = {}
        self.first_readings = {}
        self.reading_counts = {}
        self.gas_scale = None
        self.ratings = {}
        self.steps = steps
        self.steps_added = len(steps)
        self.agreements = ()
        self.agreed_parties = ()
        self.ever_agreed = False
        self.activated_at = None
        self.drafted_by = actor
        self.drafted_at = occurred_at
        self.last_reviewed_at = None
        self.next_review_on = None
        self.status_reason = None

    @classmethod
    def draft(
        cls,
        *,
        goal_id: UUID,
        subject: Subject,
        statement: str,
        by: Actor,
        occurred_at: datetime,
        recorded_at: datetime,
        client_words: str | None = None,
        addresses: Iterable[str] = (),
        target_date: date | None = None,
        strengths: Iterable[str] = (),
        measures: Iterable[Measure] = (),
        steps: Iterable[str] = (),
    ) -> Goal:
        """Draft a goal with the client; it stays ``proposed`` until they agree."""
        _check_value("subject", subject, Subject)
        _check_value("by", by, Actor)
        check_text("statement", statement, limit=MAX_TEXT_LENGTH)
        check_text("client_words", client_words, limit=MAX_TEXT_LENGTH, optional=True)
        addresses = _texts("addresses", addresses, MAX_LINE_LENGTH)
        strengths = _texts("strengths", strengths, MAX_LINE_LENGTH)
        step_texts = _texts("steps", steps, MAX_TEXT_LENGTH)
        measures = _measures(measures)
        check_date("target_date", target_date, optional=True)
        _check_times(occurred_at, recorded_at, not_before=None)
        if not by.is_clinical:
            raise NotPermitted(
                f"{by.describe()} may not draft goals; only a clinician or supervisor may",
                actor_id=by.id, role=by.role, command="draft",
            )
        _require_own_role(by, subject, "draft", None)
        return cls._create(
            cls.Drafted,
            id=goal_id,
            timestamp=recorded_at,
            actor=by,
            occurred_at=occurred_at,
            subject=subject,
            statement=statement,
            client_words=client_words,
            addresses=addresses,
            target_date=target_date,
            strengths=strengths,
            measures=measures,
            steps=tuple(Step(f"s{n}", text) for n, text in enumerate(step_texts, start=1)),
        )

    # -- commands --------------------------------------------------------------

    def agree(
        self,
        *,
        by: Actor,
        terms_version: int,
        method: str,
        occurred_at: datetime,
        recorded_at: datetime,
        witnessed_by: Actor | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """Record a party's agreement to the terms they were shown.

        The goal must be SMART on the day of the agreement, that day and the day it was
        drafted taken in ``zone``, the clinic's time zone.
        """
        check_choice("method", method, AGREEMENT_METHODS)
        check_zone("zone", zone)
        _check_int("terms_version", terms_version)
        if method == "verbal":
            if witnessed_by is None:
                raise InvalidCommand(
                    "a verbal agreement needs witnessed_by: the clinician or supervisor"
                    " who heard it and entered it", field="witnessed_by",
                )
            _check_value("witnessed_by", witnessed_by, Actor)
            if not witnessed_by.is_clinical:
                raise InvalidCommand(
                    f"witnessed_by must be a clinician or supervisor, not a {witnessed_by.role}",
                    field="witnessed_by",
                )
        elif witnessed_by is not None:
            raise InvalidCommand(
                f"witnessed_by is only for verbal agreements, not {method}", field="witnessed_by"
            )
        self._guard("agree", by, occurred_at, recorded_at, allowed=("proposed",))
        party = self._party(by, "agree")
        if terms_version != self.terms_version:
            raise InvalidTransition(
                f"goal {self.id}: agreement names terms version {terms_version}, but the"
                f" current terms are version {self.terms_version}; the client must see"
                " the current terms",
                goal_id=self.id, status=self.status,
            )
        if party in self.agreed_parties:
            raise InvalidTransition(
                f"goal {self.id}: {party} has already agreed to terms version"
                f" {self.terms_version}",
                goal_id=self.id, status=self.status,
            )
        report = assess(self, on=calendar_date(occurred_at, zone), zone=zone)
        if not report.complete:
            missing = report.missing
            raise NotSmart(
                f"goal {self.id} is not SMART-complete: "
                + "; ".join(f"{name}: {why}" for name, why in missing.items()),
                goal_id=self.id, missing=missing,
            )
        self._trigger(
            self.AgreedByClient, by, occurred_at, recorded_at,
            party=party, terms_version=terms_version, method=method, witnessed_by=witnessed_by,
        )

    def disagree(
        self,
        *,
        by: Actor,
        reason: str,
        occurred_at: datetime,
        recorded_at: datetime,
        alternative: str | None = None,
    ) -> None:
        """Record a party's disagreement, in their own words; it withdraws their agreement."""
        check_text("reason", reason, limit=MAX_TEXT_LENGTH)
        check_text("alternative", alternative, limit=MAX_TEXT_LENGTH, optional=True)
        self._guard("disagree", by, occurred_at, recorded_at, allowed=("proposed",))
        party = self._party(by, "disagree")
        self._trigger(self.ClientDisagreed, by, occurred_at, recorded_at,
                      party=party, reason=reason, alternative=alternative)

    def add_step(
        self, *, by: Actor, description: str, occurred_at: datetime, recorded_at: datetime
    ) -> None:
        """Add a step while the goal is still being drafted (it changes the terms)."""
        check_text("description", description, limit=MAX_TEXT_LENGTH)
        self._guard("add_step", by, occurred_at, recorded_at, allowed=("proposed",))
        self._require_clinical(by, "add_step")
        if self.ever_agreed:
            raise InvalidTransition(
                f"goal {self.id} has been agreed before; its terms change only through"
                " revise, with a reason",
                goal_id=self.id, status=self.status,
            )
        if len(self.steps) >= MAX_LIST_LENGTH:
            raise InvalidCommand(f"a goal has at most {MAX_LIST_LENGTH} steps", field="steps")
        self._trigger(self.StepAdded, by, occurred_at, recorded_at,
                      step_id=self._next_step_id(), description=description)

    def complete_step(
        self,
        *,
        by: Actor,
        step_id: str,
        occurred_at: datetime,
        recorded_at: datetime,
        note: str | None = None,
    ) -> None:
        check_text("note", note, limit=MAX_TEXT_LENGTH, optional=True)
        self._guard("complete_step", by, occurred_at, recorded_at, allowed=("active",))
        self._require_clinical_or_self(by, "complete_step")
        step = self._step(step_id)
        if step.status == "completed":
            raise InvalidTransition(f"goal {self.id}: step {step_id} is already completed",
                                    goal_id=self.id, status=self.status)
        self._trigger(self.StepCompleted, by, occurred_at, recorded_at,
                      step_id=step_id, note=note)

    def reopen_step(
        self, *, by: Actor, step_id: str, reason: str, occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        check_text("reason", reason, limit=MAX_TEXT_LENGTH)
        self._guard("reopen_step", by, occurred_at, recorded_at, allowed=("active",))
        self._require_clinical(by, "reopen_step")
        step = self._step(step_id)
        if step.status == "open":
            raise InvalidTransition(f"goal {self.id}: step {step_id} is not completed",
                                    goal_id=self.id, status=self.status)
        self._trigger(self.StepReopened, by, occurred_at, recorded_at,
                      step_id=step_id, reason=reason)

    def record_progress(
        self, *, by: Actor, measure: str, value: int | float, occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        check_text("measure", measure, limit=MAX_LINE_LENGTH)
        check_number("value", value)
        self._guard("record_progress", by, occurred_at, recorded_at,
                    allowed=("active", "on-hold"))
        self._require_clinical_or_self(by, "record_progress")
        scale = next((m for m in self.measures if m.name == measure), None)
        if scale is None:
            known = ", ".join(m.name for m in self.measures) or "none"
            raise InvalidCommand(
                f"goal {self.id} has no measure {brief(measure)} (its measures: {known})",
                field="measure",
            )
        scale.check_value(value)
        self._trigger(self.ProgressRecorded, by, occurred_at, recorded_at,
                      measure=measure, value=value)

    def set_gas_scale(
        self, *, by: Actor, levels: Iterable[str], occurred_at: datetime,
        recorded_at: datetime, weight: int | float = 1, baseline_level: int = -1,
    ) -> None:
        """Give the goal a goal attainment scale: five level descriptions, -2 to +2 (0 is
        the expected outcome), its weight, and its level at baseline (-1 or -2)."""
        scale = GasScale(levels=levels, weight=weight, baseline_level=baseline_level)
        self._guard("set_gas_scale", by, occurred_at, recorded_at,
                    allowed=("proposed", "active", "on-hold"))
        self._require_clinical(by, "set_gas_scale")
        if scale == self.gas_scale:
            raise InvalidCommand(f"goal {self.id} already has this GAS scale",
                                 field="levels")
        self._trigger(self.GasScaleSet, by, occurred_at, recorded_at, scale=scale)

    def rate_attainment(
        self, *, by: Actor, level: int, occurred_at: datetime, recorded_at: datetime,
    ) -> None:
        """Rate the goal's attainment on its GAS scale (-2 to +2), from the rater's view
        (client, clinician or carer, by their role). Also after the goal has ended: a
        follow-up rating is usual."""
        if isinstance(level, bool) or not isinstance(level, int) or level not in GAS_LEVELS:
            raise InvalidCommand(f"level must be a whole number from -2 to 2, not"
                                 f" {brief(level)}", field="level")
        self._guard("rate_attainment", by, occurred_at, recorded_at,
                    allowed=("active", "on-hold", "completed", "cancelled"))
        self._require_clinical_or_self(by, "rate_attainment")
        if self.gas_scale is None:
            raise InvalidTransition(f"goal {self.id} has no GAS scale to rate against;"
                                    " set one first (set_gas_scale)",
                                    goal_id=self.id, status=self.status)
        self._trigger(self.AttainmentRated, by, occurred_at, recorded_at,
                      level=level, rater_role=rater_role(by))

    def revise(
        self,
        *,
        by: Actor,
        reason: str,
        occurred_at: datetime,
        recorded_at: datetime,
        statement: Any = UNCHANGED,
        client_words: Any = UNCHANGED,
        addresses: Any = UNCHANGED,
        target_date: Any = UNCHANGED,
        strengths: Any = UNCHANGED,
        measures: Any = UNCHANGED,
        add_steps: Iterable[str] = (),
        remove_steps: Iterable[str] = (),
        reword_steps: Mapping[str, str] | None = None,
    ) -> None:
        """Change the terms, with a reason; the goal then awaits renewed agreement."""
        check_text("reason", reason, limit=MAX_TEXT_LENGTH)
        proposed: dict[str, Any] = {}
        if statement is not UNCHANGED:
            check_text("statement", statement, limit=MAX_TEXT_LENGTH)
            proposed["statement"] = statement
        if client_words is not UNCHANGED:
            check_text("client_words", client_words, limit=MAX_TEXT_LENGTH, optional=True)
            proposed["client_words"] = client_words
        if addresses is not UNCHANGED:
            proposed["addresses"] = _texts("addresses", addresses, MAX_LINE_LENGTH)
        if target_date is not UNCHANGED:
            check_date("target_date", target_date, optional=True)
            proposed["target_date"] = target_date
        if strengths is not UNCHANGED:
            proposed["strengths"] = _texts("strengths", strengths, MAX_LINE_LENGTH)
        if measures is not UNCHANGED:
            proposed["measures"] = _measures(measures)
        additions = _texts("add_steps", add_steps, MAX_TEXT_LENGTH)
        removals = _texts("remove_steps", remove_steps, MAX_ID_LENGTH)
        rewordings = dict(reword_steps or {})
        for text in rewordings.values():
            check_text("reword_steps", text, limit=MAX_TEXT_LENGTH)

        self._guard("revise", by, occurred_at, recorded_at,
                    allowed=("proposed", "active", "on-hold"))
        self._require_clinical(by, "revise")

        changes = tuple(
            FieldChange(name, getattr(self, name), value)
            for name, value in proposed.items()
            if getattr(self, name) != value
        )
        for step_id in removals:
            if self._step(step_id).status == "completed":
                raise InvalidTransition(
                    f"goal {self.id}: step {step_id} is completed and cannot be removed"
                    " (it is history); reword it instead",
                    goal_id=self.id, status=self.status,
                )
        if len(set(removals)) != len(removals):
            raise InvalidCommand("remove_steps names a step twice", field="remove_steps")
        reworded = []
        for step_id, text in rewordings.items():
            step = self._step(step_id)
            if step_id in removals:
                raise InvalidCommand(f"step {step_id} cannot be both removed and reworded",
                                     field="reword_steps")
            if step.description != text:
                reworded.append(StepRewording(step_id, step.description, text))
        if len(self.steps) - len(removals) + len(additions) > MAX_LIST_LENGTH:
            raise InvalidCommand(f"a goal has at most {MAX_LIST_LENGTH} steps", field="add_steps")
        added = tuple(
            Step(f"s{self.steps_added + n}", text) for n, text in enumerate(additions, start=1)
        )
        if not (changes or added or removals or reworded):
            raise InvalidCommand(
                f"goal {self.id}: revise changes nothing; give at least one new value",
                field="revise",
            )
        self._trigger(
            self.Revised, by, occurred_at, recorded_at,
            reason=reason, changes=changes, steps_added=added,
            steps_removed=tuple(self._step(step_id) for step_id in removals),
            steps_reworded=tuple(reworded),
        )

    def review(
        self,
        *,
        by: Actor,
        outcome: str,
        occurred_at: datetime,
        recorded_at: datetime,
        notes: str | None = None,
        next_review_on: date | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """Record a review and its decision; the matching command follows separately.

        ``next_review_on`` must be after the day of the review, taken in ``zone``, the
        clinic's time zone.
        """
        check_choice("outcome", outcome, REVIEW_OUTCOMES)
        check_text("notes", notes, limit=MAX_TEXT_LENGTH, optional=True)
        check_date("next_review_on", next_review_on, optional=True)
        check_zone("zone", zone)
        self._guard("review", by, occurred_at, recorded_at, allowed=("active", "on-hold"))
        self._require_clinical(by, "review")
        reviewed_on = calendar_date(occurred_at, zone)
        if next_review_on is not None and next_review_on <= reviewed_on:
            raise InvalidCommand(
                f"next_review_on {next_review_on} must be after the review ({reviewed_on})",
                field="next_review_on",
            )
        self._trigger(self.ReviewHeld, by, occurred_at, recorded_at,
                      outcome=outcome, notes=notes, next_review_on=next_review_on)

    def hold(
        self, *, by: Actor, reason: str, occurred_at: datetime, recorded_at: datetime
    ) -> None:
        self._close_or_pause("hold", self.PutOnHold, ("active",), by, occurred_at, recorded_at,
                             reason=_reason(reason))

    def resume(
        self, *, by: Actor, occurred_at: datetime, recorded_at: datetime,
        reason: str | None = None,
    ) -> None:
        check_text("reason", reason, limit=MAX_TEXT_LENGTH, optional=True)
        self._close_or_pause("resume", self.Resumed, ("on-hold",), by, occurred_at, recorded_at,
                             reason=reason)

    def achieve(
        self, *, by: Actor, occurred_at: datetime, recorded_at: datetime,
        evidence: str | None = None,
    ) -> None:
        check_text("evidence", evidence, limit=MAX_TEXT_LENGTH, optional=True)
        self._close_or_pause("achieve", self.Achieved, ("active",), by, occurred_at,
                             recorded_at, evidence=evidence)

    def discontinue(
        self, *, by: Actor, reason: str, occurred_at: datetime, recorded_at: datetime
    ) -> None:
        self._close_or_pause("discontinue", self.Discontinued, ("active", "on-hold"), by,
                             occurred_at, recorded_at, reason=_reason(reason))

    def withdraw(
        self, *, by: Actor, reason: str, occurred_at: datetime, recorded_at: datetime
    ) -> None:
        self._close_or_pause("withdraw", self.Withdrawn, ("proposed",), by, occurred_at,
                             recorded_at, reason=_reason(reason))

    def enter_in_error(
        self, *, by: Actor, reason: str, occurred_at: datetime, recorded_at: datetime
    ) -> None:
        """Void a goal recorded by mistake; it stays in the log for audit."""
        reason = _reason(reason)
        allowed = tuple(s for s in STATUSES if s != "entered-in-error")
        self._close_or_pause("enter_in_error", self.EnteredInError, allowed, by, occurred_at,
                             recorded_at, reason=reason)

    # -- queries -------------------------------------------------------------

    @property
    def goal_id(self) -> UUID:
        return self.id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def awaiting_agreement_from(self) -> tuple[str, ...]:
        """Required parties who have not agreed to the current terms."""
        return rules.awaiting(rules.required_parties(self.subject), self.agreed_parties)

    @property
    def current_agreements(self) -> tuple[Agreement, ...]:
        """The agreements to the current terms that still stand."""
        return tuple(
            a for a in self.agreements
            if a.terms_version == self.terms_version and a.party in self.agreed_parties
        )

    @property
    def recorded_at(self) -> datetime:
        return self.modified_on

    def smart_check(self, on: date, zone: tzinfo = UTC) -> SmartReport:
        """Which SMART criteria the current terms meet, judged on the given date (the day
        the goal was drafted taken in ``zone``, the clinic's time zone)."""
        check_zone("zone", zone)
        return assess(self, on=on, zone=zone)

    def to_dict(self) -> dict[str, Any]:
        """The goal's state, JSON-ready (ISO strings for dates and times), with its FHIR
        achievementStatus and the reason for it."""
        # Imported here: goalflow.outcomes reads the domain's values, which import this
        # module through goalflow.domain (outcomes never imports the goal).
        from goalflow.outcomes import achievement

        return {
            "goal_id": str(self.id),
            "version": self.version,
            "status": self.status,
            "status_reason": self.status_reason,
            "terms_version": self.terms_version,
            "subject": plain(self.subject),
            "statement": self.statement,
            "client_words": self.client_words,
            "addresses": list(self.addresses),
            "target_date": plain(self.target_date),
            "strengths": list(self.strengths),
            "measures": [
                {**plain(m), "latest": plain(self.readings.get(m.name))} for m in self.measures
            ],
            "achievement_status": achievement(self).to_dict(),
            "gas_scale": plain(self.gas_scale),
            "ratings": {role: plain(r) for role, r in self.ratings.items()},
            "steps": [plain(s) for s in self.steps],
            "agreements": [plain(a) for a in self.agreements],
            "awaiting_agreement_from": list(self.awaiting_agreement_from),
            "drafted_by": plain(self.drafted_by),
            "drafted_at": plain(self.drafted_at),
            "last_reviewed_at": plain(self.last_reviewed_at),
            "next_review_on": plain(self.next_review_on),
            "created_on": plain(self.created_on),
            "modified_on": plain(self.modified_on),
        }

    # -- internals -------------------------------------------------------------

    def _guard(
        self, command: str, by: Actor, occurred_at: datetime, recorded_at: datetime,
        *, allowed: Sequence[str],
    ) -> None:
        _check_value("by", by, Actor)
        _check_times(occurred_at, recorded_at, not_before=self.drafted_at)
        _require_own_role(by, self.subject, command, self.id)
        if self.status not in allowed:
            raise InvalidTransition(
                f"goal {self.id} is {self.status}; {command} needs it to be"
                f" {' or '.join(allowed)}",
                goal_id=self.id, status=self.status,
            )

    def _close_or_pause(
        self, command: str, event_class: type[Goal.Event], allowed: Sequence[str], by: Actor,
        occurred_at: datetime, recorded_at: datetime, **fields: Any,
    ) -> None:
        self._guard(command, by, occurred_at, recorded_at, allowed=allowed)
        self._require_clinical(by, command)
        self._trigger(event_class, by, occurred_at, recorded_at, **fields)

    def _trigger(
        self, event_class: type[Goal.Event], by: Actor, occurred_at: datetime,
        recorded_at: datetime, **fields: Any,
    ) -> None:
        self.trigger_event(event_class, timestamp=recorded_at, actor=by,
                           occurred_at=occurred_at, **fields)

    def _require_clinical(self, by: Actor, command: str) -> None:
        if not by.is_clinical:
            raise NotPermitted(
                f"{by.describe()} may not {command} goal {self.id}; only a clinician or"
                " supervisor may",
                actor_id=by.id, role=by.role, command=command,
            )

    def _require_clinical_or_self(self, by: Actor, command: str) -> None:
        if by.is_clinical or by.acts_for in self.subject.required_parties:
            return
        raise NotPermitted(
            f"{by.describe()} may not {command} goal {self.id}; only its client"
            " (or their guardian) or a clinician may",
            actor_id=by.id, role=by.role, command=command,
        )

    def _party(self, by: Actor, command: str) -> str:
        """The client an agreement or disagreement is for, if this actor may give it."""
        if by.role in ("client", "guardian") and by.acts_for in self.subject.required_parties:
            return by.acts_for
        # Whose goal it is stays unsaid: the actor may have no right to know.
        whose = "the group's members" if self.subject.kind == "group" else "its client"
        raise NotPermitted(
            f"{by.describe()} may not {command} to goal {self.id}; only {whose}"
            " (or a guardian on their behalf) may",
            actor_id=by.id, role=by.role, command=command,
        )

    def _step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        known = ", ".join(s.step_id for s in self.steps) or "none"
        raise InvalidCommand(f"goal {self.id} has no step {brief(step_id)} (its steps: {known})",
                             field="step_id")

    def _next_step_id(self) -> str:
        return f"s{self.steps_added + 1}"

    def _set_step_status(self, step_id: str, status: Literal["open", "completed"]) -> None:
        self.steps = tuple(
            Step(s.step_id, s.description, status) if s.step_id == step_id else s
            for s in self.steps
        )

    def _set_status(self, status: Status, reason: str | None) -> None:
        self.status = status
        self.status_reason = reason

    def _terms_changed(self) -> None:
        self.terms_version, self.agreed_parties, status = rules.changed_terms(self.terms_version)
        self.status = cast(Status, status)


STATUSES: Final = (
    "proposed", "active", "on-hold", "completed", "cancelled", "rejected", "entered-in-error"
)
EVENT_CLASSES: Final[tuple[type[Goal.Event], ...]] = tuple(
    value for name, value in vars(Goal).items()
    if isinstance(value, type) and issubclass(value, Goal.Event)
    and name not in ("Event", "Created")
)
"""The goal's events, in the order they are declared."""
EVENT_TYPES: Final = tuple(cls.__name__ for cls in EVENT_CLASSES)
"""The names of the goal's events, in the order they are declared."""


def replay(goal: Goal | None, events: Iterable[Goal.Event], *,
           recorded_by: datetime | None = None) -> Goal | None:
    """The goal after ``events`` (a goal's, oldest first) are applied to it (None: from
    its first event), stopping before the first one recorded after ``recorded_by``.

    What :meth:`Goal.Event.mutate` does one event at a time, its checks (the event is the
    goal's, its version the next) made inline on eventsourcing's own attributes: loading a
    goal replays tens of events, and the method calls were a fifth of a load's time
    (scripts/bench, "goal load")."""
    terms_changes = rules.TERMS_CHANGES  # read now: the rule is the agreement module's
    for event in events:
        if recorded_by is not None and event.timestamp > recorded_by:
            break
        if goal is None:
            goal = cast(Goal, event.mutate(None))
            continue
        if event.originator_id != goal._id:
            raise OriginatorIDError(event.originator_id, goal._id)
        if event.originator_version != goal._version + 1:
            raise OriginatorVersionError(event.originator_version, goal._version + 1)
        event.apply(goal)
        goal._version = event.originator_version
        goal._modified_on = event.timestamp
        if type(event).__name__ in terms_changes:
            goal._terms_changed()
    return goal


def _measure_v2(measure: dict[str, Any]) -> dict[str, Any]:
    """A measure stored before event schema 2: it described no scale."""
    return {"instrument": None, "minimum": None, "maximum": None, "sd": None,
            "reliability": None, "cutoff": None, **measure}


def _check_times(
    occurred_at: datetime, recorded_at: datetime, *, not_before: datetime | None
) -> None:
    check_aware("occurred_at", occurred_at)
    check_aware("recorded_at", recorded_at)
    if occurred_at > recorded_at:
        raise InvalidCommand(
            f"occurred_at {occurred_at.isoformat()} is in the future"
            f" (now is {recorded_at.isoformat()})",
            field="occurred_at",
        )
    if not_before is not None and occurred_at < not_before:
        raise InvalidCommand(
            f"occurred_at {occurred_at.isoformat()} is before the goal was drafted"
            f" ({not_before.isoformat()})",
            field="occurred_at",
        )


def _check_value(field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise InvalidCommand(
            f"{field} must be a {kind.__name__}, not {type(value).__name__}", field=field
        )


def _check_int(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCommand(f"{field} must be a whole number, not {brief(value)}", field=field)


def _reason(reason: object) -> str:
    check_text("reason", reason, limit=MAX_TEXT_LENGTH)
    assert isinstance(reason, str)
    return reason


def _texts(field: str, values: Iterable[str], limit: int) -> tuple[str, ...]:
    items = to_tuple(values, field)
    if len(items) > MAX_LIST_LENGTH:
        raise InvalidCommand(f"{field} has more than {MAX_LIST_LENGTH} entries", field=field)
    for item in items:
        check_text(field, item, limit=limit)
    return items


def _measures(values: Iterable[Measure]) -> tuple[Measure, ...]:
    measures = to_tuple(values, "measures")
    if len(measures) > MAX_LIST_LENGTH:
        raise InvalidCommand(f"measures has more than {MAX_LIST_LENGTH} entries",
                             field="measures")
    for measure in measures:
        _check_value("measures[]", measure, Measure)
    names = [m.name for m in measures]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidCommand(f"measure names must be unique within a goal: {', '.join(duplicates)}",
                             field="measures")
    return measures


def _require_own_role(by: Actor, subject: Subject, command: str, goal_id: UUID | None) -> None:
    """A goal's own client (or group member) acts on it only as a client: never as its
    clinician, supervisor or guardian, whatever role the caller asserts."""
    if by.role == "client" or by.id not in subject.required_parties:
        return
    goal = "a goal of theirs" if goal_id is None else f"goal {goal_id}"
    raise NotPermitted(
        f"{by.id} is a client of {goal} and may not {command} it as {by.role}; they act on"
        " their own goals only as a client",
        actor_id=by.id, role=by.role, command=command,
    )

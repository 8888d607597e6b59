"""The ``Goals`` service: load a goal, call its command, save its events.

The service is where the clock is read (the domain never does), where the store's
clinic time zone is read and given to the domain and the read models (every
calendar date is taken in it), where retried commands are recognised by their
``command_id``, and where a write that lost a race to another writer is checked
again against the fresh goal and retried.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from datetime import tzinfo as Zone  # Goals.tzinfo is a property
from typing import Any, cast
from uuid import UUID, uuid4

import attrs
from eventsourcing.persistence import IntegrityError

from goalflow import zones
from goalflow.domain.goal import UNCHANGED, Goal
from goalflow.domain.smart import SmartReport
from goalflow.domain.values import (
    MAX_ID_LENGTH,
    MAX_INT,
    Actor,
    Measure,
    Subject,
    brief,
    calendar_date,
    check_aware,
    check_date,
    check_text,
)
from goalflow.errors import (
    CommandIdReused,
    ConcurrencyError,
    GoalflowError,
    GoalNotFound,
    InvalidCommand,
    ProjectionError,
    StoreError,
)
from goalflow.fhir import bundles, codes, export
from goalflow.fingerprints import CURRENT_RULE, fingerprint
from goalflow.integrity import chain
from goalflow.integrity import digest as digests
from goalflow.integrity import verify as verification
from goalflow.integrity.digest import Digest
from goalflow.persistence import settings
from goalflow.persistence.codec import dumps
from goalflow.persistence.recorders import Write
from goalflow.persistence.settings import Setting
from goalflow.persistence.store import CommandRecord, GoalStore, storage_errors
from goalflow.persistence.urls import parse_url, resolve_url
from goalflow.projection import (
    Projection,
    Projections,
    Reader,
    discover,
    read_tracking,
)

Clock = Callable[[], datetime]

MAX_DAYS = 36_500
"""The longest span in days a query takes (a century)."""

MAX_ATTEMPTS = 20
"""How often a command that lost a race is re-checked and retried."""

COMMANDS = (
    "draft", "agree", "disagree", "add_step", "complete_step", "reopen_step",
    "record_progress", "revise", "review", "hold", "resume", "achieve", "discontinue",
    "withdraw", "enter_in_error",
)


_ZONED: frozenset[str] = frozenset(
    command for command in COMMANDS
    if "zone" in inspect.signature(getattr(Goal, command)).parameters)
"""The commands whose domain method judges a calendar date, and so takes the clinic's zone."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class Outcome:
    """What a command did: the goal, its new version, the event recorded.

    ``replayed``: the command id was seen before and nothing new was recorded.
    ``retries``: how often the command lost a race to another writer and was
    re-checked against the fresh goal before it was recorded.
    """

    goal_id: UUID
    version: int
    event: str
    replayed: bool = False
    retries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"goal_id": str(self.goal_id), "version": self.version, "event": self.event,
                "replayed": self.replayed, "retries": self.retries}


class Goals:
    """Treatment goals in one store. Open one with :func:`goalflow.open`."""

    def __init__(self, store: GoalStore, projections: Projections, *,
                 clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock
        self.projections = projections
        # The clinic's zone as last read, for judging commands without a read each time;
        # the events' transaction checks it is still in force (_ClinicZone.still_in_force).
        self._known_zone: _ClinicZone | None = None

    @property
    def store(self) -> GoalStore:
        return self._store

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Goals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands --------------------------------------------------------------
    # Each method names its arguments for readers and type checkers, then hands
    # them to execute(), which fills defaults and checks names for every caller.
    # Every one takes occurred_at (when it happened clinically: an aware datetime,
    # default now) and command_id (for safe retries); all but draft take
    # expected_version (the goal's version the caller saw). Any other keyword is
    # refused, as execute() refuses it: an InvalidCommand that names it.

    def draft(
        self,
        subject: Subject,
        statement: str,
        *,
        by: Actor,
        goal_id: UUID | str | None = None,
        target_date: date | None = None,
        measures: Iterable[Measure] = (),
        steps: Iterable[str] = (),
        strengths: Iterable[str] = (),
        addresses: Iterable[str] = (),
        client_words: str | None = None,
        occurred_at: datetime | None = None,
        command_id: str | None = None,
        **options: Any,
    ) -> UUID:
        """Draft a goal with the client. Returns its id. It starts ``proposed``."""
        return self.execute("draft", subject=subject, statement=statement, by=by,
                            goal_id=goal_id, target_date=target_date, measures=measures,
                            steps=steps, strengths=strengths, addresses=addresses,
                            client_words=client_words, occurred_at=occurred_at,
                            command_id=command_id, **options).goal_id

    def agree(self, goal_id: UUID | str, *, by: Actor, terms_version: int, method: str,
              witnessed_by: Actor | None = None, occurred_at: datetime | None = None,
              command_id: str | None = None, expected_version: int | None = None,
              **options: Any) -> int:
        """A party agrees to the terms version they were shown."""
        return self._change("agree", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, terms_version=terms_version, method=method,
                            witnessed_by=witnessed_by)

    def disagree(self, goal_id: UUID | str, *, by: Actor, reason: str,
                 alternative: str | None = None, occurred_at: datetime | None = None,
                 command_id: str | None = None, expected_version: int | None = None,
                 **options: Any) -> int:
        """A party disagrees, in their own words, optionally with the goal they'd rather have."""
        return self._change("disagree", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, reason=reason, alternative=alternative)

    def add_step(self, goal_id: UUID | str, *, by: Actor, description: str,
                 occurred_at: datetime | None = None, command_id: str | None = None,
                 expected_version: int | None = None, **options: Any) -> int:
        """Add a step to a goal that has not been agreed yet (it changes the terms)."""
        return self._change("add_step", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, description=description)

    def complete_step(self, goal_id: UUID | str, *, by: Actor, step_id: str,
                      note: str | None = None, occurred_at: datetime | None = None,
                      command_id: str | None = None, expected_version: int | None = None,
                      **options: Any) -> int:
        return self._change("complete_step", goal_id, occurred_at, command_id,
                            expected_version, options, by=by, step_id=step_id, note=note)

    def reopen_step(self, goal_id: UUID | str, *, by: Actor, step_id: str, reason: str,
                    occurred_at: datetime | None = None, command_id: str | None = None,
                    expected_version: int | None = None, **options: Any) -> int:
        return self._change("reopen_step", goal_id, occurred_at, command_id,
                            expected_version, options, by=by, step_id=step_id, reason=reason)

    def record_progress(self, goal_id: UUID | str, *, by: Actor, measure: str,
                        value: int | float, occurred_at: datetime | None = None,
                        command_id: str | None = None, expected_version: int | None = None,
                        **options: Any) -> int:
        return self._change("record_progress", goal_id, occurred_at, command_id,
                            expected_version, options, by=by, measure=measure, value=value)

    def revise(
        self,
        goal_id: UUID | str,
        *,
        by: Actor,
        reason: str,
        statement: Any = UNCHANGED,
        client_words: Any = UNCHANGED,
        addresses: Any = UNCHANGED,
        target_date: Any = UNCHANGED,
        strengths: Any = UNCHANGED,
        measures: Any = UNCHANGED,
        add_steps: Iterable[str] = (),
        remove_steps: Iterable[str] = (),
        reword_steps: Mapping[str, str] | None = None,
        occurred_at: datetime | None = None,
        command_id: str | None = None,
        expected_version: int | None = None,
        **options: Any,
    ) -> int:
        """Change the terms, with a reason. Only the fields given change."""
        return self._change("revise", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, reason=reason, statement=statement,
                            client_words=client_words, addresses=addresses,
                            target_date=target_date, strengths=strengths, measures=measures,
                            add_steps=add_steps, remove_steps=remove_steps,
                            reword_steps=reword_steps)

    def review(self, goal_id: UUID | str, *, by: Actor, outcome: str, notes: str | None = None,
               next_review_on: date | None = None, occurred_at: datetime | None = None,
               command_id: str | None = None, expected_version: int | None = None,
               **options: Any) -> int:
        return self._change("review", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, outcome=outcome, notes=notes,
                            next_review_on=next_review_on)

    def hold(self, goal_id: UUID | str, *, by: Actor, reason: str,
             occurred_at: datetime | None = None, command_id: str | None = None,
             expected_version: int | None = None, **options: Any) -> int:
        return self._change("hold", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, reason=reason)

    def resume(self, goal_id: UUID | str, *, by: Actor, reason: str | None = None,
               occurred_at: datetime | None = None, command_id: str | None = None,
               expected_version: int | None = None, **options: Any) -> int:
        return self._change("resume", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, reason=reason)

    def achieve(self, goal_id: UUID | str, *, by: Actor, evidence: str | None = None,
                occurred_at: datetime | None = None, command_id: str | None = None,
                expected_version: int | None = None, **options: Any) -> int:
        return self._change("achieve", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, evidence=evidence)

    def discontinue(self, goal_id: UUID | str, *, by: Actor, reason: str,
                    occurred_at: datetime | None = None, command_id: str | None = None,
                    expected_version: int | None = None, **options: Any) -> int:
        return self._change("discontinue", goal_id, occurred_at, command_id,
                            expected_version, options, by=by, reason=reason)

    def withdraw(self, goal_id: UUID | str, *, by: Actor, reason: str,
                 occurred_at: datetime | None = None, command_id: str | None = None,
                 expected_version: int | None = None, **options: Any) -> int:
        return self._change("withdraw", goal_id, occurred_at, command_id, expected_version,
                            options, by=by, reason=reason)

    def enter_in_error(self, goal_id: UUID | str, *, by: Actor, reason: str,
                       occurred_at: datetime | None = None, command_id: str | None = None,
                       expected_version: int | None = None, **options: Any) -> int:
        """Void a goal recorded by mistake; it stays in the log, marked entered-in-error."""
        return self._change("enter_in_error", goal_id, occurred_at, command_id,
                            expected_version, options, by=by, reason=reason)

    def _change(self, command: str, goal_id: UUID | str, occurred_at: datetime | None,
                command_id: str | None, expected_version: int | None,
                options: dict[str, Any], **arguments: Any) -> int:
        """Run a command on an existing goal; returns the goal's new version."""
        return self.execute(command, goal_id=goal_id, occurred_at=occurred_at,
                            command_id=command_id, expected_version=expected_version,
                            **arguments, **options).version

    # -- queries ---------------------------------------------------------------

    def get(self, goal_id: UUID | str, *, version: int | None = None,
            as_of: datetime | None = None) -> Goal:
        """The goal now, at a past ``version``, or as recorded at the moment ``as_of``."""
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or not 1 <= version <= MAX_INT):
            raise InvalidCommand(f"version must be a whole number from 1, not {brief(version)}",
                                 field="version")
        if as_of is not None:
            check_aware("as_of", as_of)
        if version is not None and as_of is not None:
            raise InvalidCommand("give version or as_of, not both", field="as_of")
        return self._store.load(parse_goal_id(goal_id), version=version, as_of=as_of)

    def history(self, goal_id: UUID | str) -> list[Goal.Event]:
        """Every event of the goal, decoded, oldest first."""
        events = self._store.events(parse_goal_id(goal_id))
        if not events:
            raise GoalNotFound(goal_id)
        return events

    def smart_check(self, goal_id: UUID | str) -> SmartReport:
        """Which SMART criteria the goal's current terms meet, judged today (in the
        clinic's time zone)."""
        goal = self.get(goal_id)
        zone = self.tzinfo
        return goal.smart_check(on=calendar_date(self._clock(), zone), zone=zone)

    # -- FHIR ------------------------------------------------------------------------

    def fhir(self, goal_id: UUID | str, *, version: int | None = None,
             as_of: datetime | None = None, release: str = "R5") -> dict[str, Any]:
        """The goal (now, at a ``version`` or ``as_of`` a moment) as a FHIR Goal resource,
        JSON-ready; ``release`` "R5" or "R4B" (README, "FHIR")."""
        codes.check_release(release)
        goal = self.get(goal_id, version=version, as_of=as_of)
        state, facts = export.at_version(self.history(goal.id), goal.version)
        return export.goal_resource(state, facts, self.tzinfo, release)

    def fhir_history(self, goal_id: UUID | str, *, release: str = "R5") -> dict[str, Any]:
        """A FHIR ``history`` Bundle: every version of the goal, newest first, each with
        its Provenance."""
        codes.check_release(release)
        return bundles.history(self.history(goal_id), self.tzinfo, release)

    def fhir_subject(self, subject_id: str, *, include_closed: bool = False,
                     release: str = "R5") -> dict[str, Any]:
        """A FHIR ``collection`` Bundle of a subject's goals as their plan lists them (open
        ones, or all but those entered in error), group goals of a client's groups too."""
        codes.check_release(release)
        rows = self.plan(subject_id, include_closed=include_closed)
        return bundles.collection(self.fhir(row["goal_id"], release=release) for row in rows)

    def import_fhir(self, resource: Mapping[str, Any], *, by: Actor) -> list[Outcome]:
        """Bring in a FHIR Goal, or a Bundle of Goals (R4B or R5): each becomes a goal,
        reached through the commands that lead to its status (README, "FHIR import").
        Importing the same resource again records nothing. Returns every command's
        outcome; a resource that cannot be mapped records nothing."""
        from goalflow.fhir import imports  # here: it opens a scratch store (goalflow.open)

        return imports.import_resource(self, resource, by=by, clock=self._clock)

    # -- the clinic's time zone --------------------------------------------------

    @property
    def timezone(self) -> str:
        """The store's clinic time zone, an IANA name (``America/Chicago``): every calendar
        date is taken in it (the day of an agreement or a review, review due dates,
        today). ``UTC`` on a store that has none set."""
        found = self._store.setting(settings.TIMEZONE)
        return zones.DEFAULT_TIMEZONE if found is None else found.value

    @property
    def tzinfo(self) -> Zone:
        """The store's clinic time zone as a ``tzinfo``, to take dates in (read from the
        store each time: another process may have changed it)."""
        return self._read_zone().zone

    def _read_zone(self) -> _ClinicZone:
        found = self._store.setting(settings.TIMEZONE)
        name = zones.DEFAULT_TIMEZONE if found is None else found.value
        self._known_zone = _ClinicZone(zones.stored_zone(name, self._store.url),
                                       0 if found is None else found.seq)
        return self._known_zone

    def today(self) -> date:
        """Today's date on the clinic's calendar (its time zone), by the service's clock."""
        return calendar_date(self._clock(), self.tzinfo)

    def set_timezone(self, name: str, *, force: bool = False) -> str:
        """Set the clinic's time zone (an IANA name such as ``America/Chicago``), in which
        every calendar date is taken from now on; returns the zone in force before.

        On a store that holds events, a change moves the dates worked out from moments (a
        review due 90 days after an agreement given at 20:00 in Chicago, 01:00 UTC, falls
        a day earlier in Chicago's zone than in UTC), so it needs ``force=True``. Nothing
        recorded changes: events keep their moments and the dates people gave (target
        dates, next review dates), and the read models keep moments and take their dates
        as they are read, so they follow the change at once, with no rebuild. Each change
        is kept, with when it was made and the log's position then.

        Raises InvalidCommand for a name that is not an IANA time zone this machine knows,
        or for a change on a store with events without ``force``; StoreError on a store
        opened read-only.
        """
        zones.clinic_zone(name)
        if not isinstance(force, bool):
            raise InvalidCommand(f"force must be true or false, not {brief(force)}",
                                 field="force")
        before: list[str] = []

        def check(current: Setting | None, head: int) -> None:
            in_force = zones.DEFAULT_TIMEZONE if current is None else current.value
            before.append(in_force)
            if head and in_force != name and not force:
                raise InvalidCommand(
                    f"store {self._store.url} holds goals, whose review due dates are worked"
                    f" out in its time zone {in_force}: changing it to {name} can move them"
                    f" by a day; to change it anyway, give force (goalflow config timezone"
                    f" {name} --force, or set_timezone(..., force=True))", field="timezone")

        with storage_errors(self._store.url):
            self._store.change_setting(settings.TIMEZONE, name, set_at=self._clock(),
                                       check=check)
        self._known_zone = None
        return before[0] if before else name

    def timezone_history(self) -> list[dict[str, Any]]:
        """Every time zone the store was given, oldest first: ``timezone``, ``set_at``,
        ``position`` (the log's head then: the zone holds for the events after it) and
        the ``goalflow`` that set it. Empty for a store that never had one set (UTC)."""
        return [{"timezone": s.value, "set_at": s.set_at.isoformat(), "position": s.position,
                 "goalflow": s.goalflow}
                for s in self._store.setting_history(settings.TIMEZONE)]

    # -- read models ---------------------------------------------------------------

    def plan(self, subject_id: str, *, include_closed: bool = False) -> list[dict[str, Any]]:
        """A subject's current treatment plan, from the ``plans`` read model.

        Every goal of the client (or group) that is not entered-in-error, and the
        group goals a client is a member of (``group_goal: true``); only open goals
        (proposed, active, on-hold) unless ``include_closed``.
        """
        check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
        return cast(list[dict[str, Any]],
                    self._read("plans", "plan", subject_id, include_closed=include_closed))

    def audit(self, goal_id: UUID | str | None = None, *, actor: str | None = None,
              subject: str | None = None, since: datetime | None = None,
              until: datetime | None = None, event: str | None = None,
              unagreed: bool = False, late_days: float | None = None) -> list[dict[str, Any]]:
        """Audit trail entries in log order, from the ``audit`` read model.

        ``unagreed``: revisions of goals agreed before whose revised terms still
        await agreement; ``late_days``: entries recorded more than that many days
        after they occurred. ``since``/``until`` bound the recorded time.
        """
        for name, moment in (("since", since), ("until", until)):
            if moment is not None:
                check_aware(name, moment)
        for name, text in (("actor", actor), ("subject", subject), ("event", event)):
            check_text(name, text, limit=MAX_ID_LENGTH, optional=True)
        if late_days is not None and (isinstance(late_days, bool)
                                      or not isinstance(late_days, int | float)
                                      or not 0 <= late_days <= MAX_DAYS):
            raise InvalidCommand(f"late_days must be a number of days from 0 to {MAX_DAYS},"
                                 f" not {brief(late_days)}", field="late_days")
        gid = None if goal_id is None else parse_goal_id(goal_id)
        return cast(list[dict[str, Any]], self._read(
            "audit", "entries", goal_id=gid, actor=actor, subject=subject, since=since,
            until=until, event=event, unagreed=unagreed, late_days=late_days))

    def reviews(self, *, as_of: date | None = None, overdue: bool = False,
                interval_days: int = 90) -> list[dict[str, Any]]:
        """Active and on-hold goals by review due date (oldest first), judged on ``as_of``
        (default today); due dates and today are the clinic's (its time zone)."""
        check_date("as_of", as_of, optional=True)
        if isinstance(interval_days, bool) or not isinstance(interval_days, int) \
                or not 1 <= interval_days <= MAX_DAYS:
            raise InvalidCommand(f"interval_days must be a whole number of days from 1 to"
                                 f" {MAX_DAYS}, not {brief(interval_days)}",
                                 field="interval_days")
        zone = self.tzinfo
        return cast(list[dict[str, Any]], self._read(
            "reviews", "worklist", as_of=as_of or calendar_date(self._clock(), zone),
            overdue=overdue, interval_days=interval_days, zone=zone))

    def goal_index(self, *, subject: str | None = None, status: str | None = None
                   ) -> list[dict[str, Any]]:
        """Every goal (of a subject, or in a status), most recently changed first."""
        check_text("subject", subject, limit=MAX_ID_LENGTH, optional=True)
        check_text("status", status, limit=MAX_ID_LENGTH, optional=True)
        return cast(list[dict[str, Any]], self._read("plans", "index", subject=subject,
                                                     status=status))

    # -- the tamper-evident log -------------------------------------------------

    def digest(self) -> Digest:
        """The log's size and Merkle root now, with the time: what an auditor keeps
        outside the system, to verify the log against later."""
        with storage_errors(self._store.url):
            self._store.require_chain()
            try:
                return digests.take(self._store, self._clock().isoformat())
            except chain.MissingNode as e:
                raise StoreError(f"store {self._store.url}: {e}; run goalflow verify") from e

    def verify(self, digest: Digest | str | Mapping[str, Any] | None = None, *,
               progress: Callable[[int, int], None] | None = None
               ) -> verification.Verification:
        """Recompute every leaf and the root from the stored events and check the chain;
        given a kept digest (a Digest, its JSON, or a dict of it), also prove the log
        still begins with the events it covered. Reads the whole log, a page at a time."""
        kept = None if digest is None else _digest(digest)
        with storage_errors(self._store.url):
            self._store.require_chain()
            return verification.verify(self._store, kept, progress=progress)

    def prove(self, goal_id: UUID | str, digest: Digest | str | Mapping[str, Any]
              ) -> dict[str, Any]:
        """One goal's events with their inclusion proofs against a kept digest, as JSON-
        ready data that :func:`goalflow.integrity.proofs.check` checks with no store."""
        # Imported here: proofs renders events as goalflow.inspection does, which
        # imports this module.
        from goalflow.integrity import proofs

        goal = parse_goal_id(goal_id)
        kept = _digest(digest)
        with storage_errors(self._store.url):
            self._store.require_chain()
            return proofs.prove(self._store, goal, kept)

    def _read(self, projection: str, query: str, *args: Any, **kwargs: Any) -> Any:
        found = self.projections.get(projection)
        with storage_errors(self._store.url), \
                self._store.recorder.transaction(commit=False) as tx:
            if projection not in read_tracking(tx):
                raise ProjectionError(
                    f"the {projection} read model is not in store {self._store.url}; open the"
                    " store for writing once to install it")
            return getattr(found, query)(Reader(tx, found), *args, **kwargs)

    # -- the engine --------------------------------------------------------------

    def execute(self, command: str, /, **arguments: Any) -> Outcome:
        """Run one command by name (as ``goalflow apply`` does) and say what it did.

        ``arguments`` are the command method's own, plus ``goal_id``, ``occurred_at``,
        ``command_id`` and ``expected_version``.
        """
        call = self._prepare(command, arguments)
        replayed = self._replayed(call, 0)
        if replayed is not None:
            return replayed

        for attempt in range(MAX_ATTEMPTS):
            try:
                goal, zone = self._decide_on_latest(call)
            except GoalflowError:
                # A retry whose first attempt landed meanwhile is judged against the
                # goal that attempt made; it is a replay, not a refusal.
                replayed = self._replayed(call, attempt)
                if replayed is not None:
                    return replayed
                raise
            events = cast(list[Goal.Event], goal.collect_events())
            outcome = Outcome(call.goal_id, goal.version, type(events[-1]).__name__,
                              retries=attempt)
            try:
                record = call.record(outcome)
                commands = [] if record is None else [(record, len(events) - 1)]
                self._store.append_many([(goal, events)], commands=commands, remember=True,
                                        writes=[] if zone is None else [zone.still_in_force()])
            except settings.SettingChanged:
                # The zone changed since it was read: nothing was recorded; judge the
                # command again in the zone now in force.
                self._known_zone = None
                continue
            except IntegrityError:
                replayed = self._replayed(call, attempt)
                if replayed is not None:
                    return replayed
                if command == "draft" and self._store.exists(call.goal_id):
                    raise InvalidCommand(f"a goal with id {call.goal_id} already exists",
                                         field="goal_id") from None
                if call.expected_version is not None:
                    raise ConcurrencyError(call.goal_id, call.expected_version, None) from None
                _backoff(attempt)
                continue
            return outcome
        raise ConcurrencyError(call.goal_id, None, None, attempts=MAX_ATTEMPTS)

    def _replayed(self, call: _Call, retries: int) -> Outcome | None:
        """The outcome of the command, if its command id was recorded already."""
        if call.command_id is None:
            return None
        prior = self._store.find_command(call.command_id)
        return None if prior is None else call.replays(prior, retries)

    def execute_many(self, commands: Iterable[tuple[str, dict[str, Any]]], *,
                     batch: int = 100) -> Iterator[Outcome]:
        """Run ``(command, arguments)`` pairs in order, ``batch`` to a transaction.

        Yields each command's outcome once its batch is recorded. A refused command
        stops the run: the commands before it are recorded (and yielded), then its
        error is raised, so the number of outcomes yielded says which one it was. An
        error raised by ``commands`` itself (a bad line of a file) likewise comes after
        the commands before it are recorded. Much faster than one ``execute`` per
        command when goals get several commands each; the results are the same.
        """
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidCommand(f"batch must be a whole number from 1, not {brief(batch)}",
                                 field="batch")
        pending: list[tuple[str, dict[str, Any]]] = []
        items = iter(commands)
        while True:
            try:
                item = next(items)
            except StopIteration:
                break
            except GoalflowError:  # a bad line: record the ones before it, then say so
                yield from self._execute_batch(pending)
                raise
            pending.append(item)
            if len(pending) == batch:
                yield from self._execute_batch(pending)
                pending = []
        yield from self._execute_batch(pending)

    def _execute_batch(self, commands: list[tuple[str, dict[str, Any]]]) -> Iterator[Outcome]:
        """One transaction for the commands; on a lost race, one transaction each."""
        if not commands:
            return
        calls: list[_Call] = []
        refusal: GoalflowError | None = None
        for command, arguments in commands:
            try:
                calls.append(self._prepare(command, arguments))
            except GoalflowError as e:
                refusal = e
                break
        prior = self._store.find_commands([c.command_id for c in calls if c.command_id])
        goals = self._store.take_many(c.goal_id for c in calls if c.command != "draft")
        # Read afresh for each batch, so that no refusal is judged in a zone gone by.
        zone = self._read_zone() if any(c.command in _ZONED for c in calls) else None
        changes: list[tuple[Goal, list[Goal.Event]]] = []
        records: list[tuple[CommandRecord, int]] = []
        outcomes: list[Outcome] = []
        in_batch: dict[str, tuple[_Call, Outcome]] = {}
        recorded = 0

        def load(goal_id: UUID) -> Goal:
            if goal_id not in goals:
                raise GoalNotFound(goal_id)
            return goals[goal_id]

        try:
            for call in calls:
                if call.command_id is not None:
                    earlier = in_batch.get(call.command_id)
                    if earlier is not None:
                        if earlier[0].fingerprint != call.fingerprint:
                            raise CommandIdReused(call.command_id)
                        outcomes.append(attrs.evolve(earlier[1], replayed=True))
                        continue
                    if call.command_id in prior:
                        outcomes.append(call.replays(prior[call.command_id]))
                        continue
                if call.command == "draft" and call.goal_id in goals:
                    raise InvalidCommand(f"a goal with id {call.goal_id} already exists",
                                         field="goal_id")
                goal = goals[call.goal_id] = self._decide(call, load, zone)
                events = cast(list[Goal.Event], goal.collect_events())
                recorded += len(events)
                outcome = Outcome(call.goal_id, goal.version, type(events[-1]).__name__)
                record = call.record(outcome)
                if record is not None:
                    in_batch[record.command_id] = (call, outcome)
                    records.append((record, recorded - 1))
                changes.append((goal, events))
                outcomes.append(outcome)
        except GoalflowError as e:
            refusal = e
        if refusal is not None and any(c.command_id is not None for c in calls):
            # The refused command may be one another writer recorded after this batch
            # looked its command ids up (two runs of one file at once): then it is a
            # replay. Judge the batch one by one, where each refusal is checked for that.
            for command, arguments in commands:
                yield self.execute(command, **arguments)
            return
        if changes:
            try:
                self._store.append_many(
                    changes, commands=records,
                    writes=[] if zone is None else [zone.still_in_force()])
            except (IntegrityError, settings.SettingChanged):
                # Another writer got to one of these goals (or command ids) first, or
                # changed the zone. Nothing of this batch was recorded, and a refusal was
                # judged against goals that have moved on: run every command again, one
                # by one.
                for command, arguments in commands:
                    yield self.execute(command, **arguments)
                return
        self._store.remember(goals.values())  # all as recorded now, changed or not
        yield from outcomes
        if refusal is not None:
            raise refusal

    def _prepare(self, command: str, arguments: dict[str, Any]) -> _Call:
        """Check a command's arguments (not yet against the goal) and fingerprint it."""
        if command not in COMMANDS:
            raise InvalidCommand(f"unknown command {brief(command)}", field="command")
        if self._store.readonly:
            raise StoreError(f"store {self._store.url} is open read-only; {command} refused")
        args = dict(arguments)
        goal_id = args.pop("goal_id", None)
        occurred_at = args.pop("occurred_at", None)
        command_id = args.pop("command_id", None)
        expected_version = args.pop("expected_version", None)
        args = _normalised(command, args)
        if occurred_at is not None:
            check_aware("occurred_at", occurred_at)
        if expected_version is not None and (
            isinstance(expected_version, bool) or not isinstance(expected_version, int)
            or not 1 <= expected_version <= MAX_INT
        ):
            raise InvalidCommand(f"expected_version must be a goal's version (a whole number"
                                 f" from 1), not {brief(expected_version)}",
                                 field="expected_version")
        if command == "draft" and expected_version is not None:
            raise InvalidCommand("expected_version does not apply to draft (a new goal)",
                                 field="expected_version")
        if command == "draft":
            gid = uuid4() if goal_id is None else parse_goal_id(goal_id)
        elif goal_id is None:
            raise InvalidCommand(f"{command} needs a goal_id", field="goal_id")
        else:
            gid = parse_goal_id(goal_id)
        call = _Call(command, gid, args, occurred_at, command_id, expected_version,
                     None if goal_id is None else gid)
        if command_id is not None:
            check_text("command_id", command_id, limit=MAX_ID_LENGTH)
            call.fingerprint = call.fingerprint_by(CURRENT_RULE)
        return call

    def _decide_on_latest(self, call: _Call) -> tuple[Goal, _ClinicZone | None]:
        """Decide on the goal this service kept from its last write, if it has it, in the
        zone it last read; a refusal is judged again on the goal as stored (it may have
        moved on), in the zone as stored. Returns the goal and the zone it was judged in
        (None: the command judges no date)."""
        zone = None
        if call.command in _ZONED:
            zone = self._known_zone or self._read_zone()
        try:
            return self._decide(call, self._store.take, zone), zone
        except GoalflowError:
            if call.command == "draft":
                raise
            zone = None if zone is None else self._read_zone()
            return self._decide(call, self._store.load, zone), zone

    def _decide(self, call: _Call, load: Callable[[UUID], Goal],
                zone: _ClinicZone | None = None) -> Goal:
        """The goal with the command's event pending, or the domain's refusal."""
        recorded_at = self._clock()
        occurred_at = call.occurred_at or recorded_at
        if call.command == "draft":
            return Goal.draft(goal_id=call.goal_id, occurred_at=occurred_at,
                              recorded_at=recorded_at, **call.args)
        goal = load(call.goal_id)
        if call.expected_version is not None and goal.version != call.expected_version:
            raise ConcurrencyError(call.goal_id, call.expected_version, goal.version)
        dated = {"zone": (zone or self._read_zone()).zone} if call.command in _ZONED else {}
        getattr(goal, call.command)(occurred_at=occurred_at, recorded_at=recorded_at,
                                    **call.args, **dated)
        return goal


@attrs.frozen
class _ClinicZone:
    """The clinic's zone as read from the store, and which change of it that was."""

    zone: Zone
    seq: int  # of the timezone setting's rows; 0 when it was never set

    def still_in_force(self) -> Write:
        """A write for the events' transaction that records them only if the zone has not
        changed since it was read (else SettingChanged, and nothing is recorded)."""
        return settings.unchanged(settings.TIMEZONE, self.seq)


@attrs.define
class _Call:
    """A command whose arguments have been checked, ready to be decided."""

    command: str
    goal_id: UUID
    args: dict[str, Any]
    occurred_at: datetime | None
    command_id: str | None
    expected_version: int | None
    given_goal_id: UUID | None
    fingerprint: str = ""  # by the current rule, when there is a command id

    def fingerprint_by(self, rule: int) -> str:
        try:
            return fingerprint(self.command, self.given_goal_id, self.occurred_at,
                               self.expected_version, self.args, _defaults(self.command),
                               rule=rule)
        except TypeError as e:  # also orjson's refusals, such as a number beyond 64 bits
            field = next((name for name, value in self.args.items() if not _storable(value)),
                         None)
            raise InvalidCommand(f"{self.command}: {field or 'a value'}: {e}",
                                 field=field) from None

    def record(self, outcome: Outcome) -> CommandRecord | None:
        if self.command_id is None:
            return None
        return CommandRecord(self.command_id, self.goal_id, self.command, self.fingerprint,
                             outcome.version, outcome.event, 0, CURRENT_RULE)

    def replays(self, prior: CommandRecord, retries: int = 0) -> Outcome:
        """The outcome recorded for this command's id, if it was this same command."""
        ours = (self.fingerprint if prior.fingerprint_rule == CURRENT_RULE
                else self.fingerprint_by(prior.fingerprint_rule))
        if prior.fingerprint != ours:
            raise CommandIdReused(prior.command_id)
        return Outcome(prior.goal_id, prior.version, prior.event, replayed=True,
                       retries=retries)


_OPTIONS = frozenset({"goal_id", "occurred_at", "command_id", "expected_version", "options"})


def _parameters(command: str) -> dict[str, inspect.Parameter]:
    """A command's own arguments, as the Goals method of that name declares them."""
    signature = inspect.signature(getattr(Goals, command))
    return {name: p for name, p in signature.parameters.items()
            if name != "self" and name not in _OPTIONS}


_PARAMETERS = {command: _parameters(command) for command in COMMANDS}


def _normal_default(name: str, default: Any) -> Any:
    if name == "reword_steps":
        return {}
    return default if default is inspect.Parameter.empty else _listed(default)


@functools.cache
def _defaults(command: str) -> dict[str, Any]:
    """The command's defaults as _normalised fills them in (for fingerprints of what was
    given)."""
    return {name: _normal_default(name, p.default) for name, p in _PARAMETERS[command].items()}


def _normalised(command: str, args: dict[str, Any]) -> dict[str, Any]:
    """Check argument names and fill defaults, so the same command always looks the same."""
    parameters = _PARAMETERS[command]
    unknown = sorted(set(args) - set(parameters))
    if unknown:
        raise InvalidCommand(f"{command} has no argument {brief(unknown[0])}", field=unknown[0])
    missing = [name for name, p in parameters.items()
               if p.default is inspect.Parameter.empty and name not in args]
    if missing:
        raise InvalidCommand(f"{command} needs {missing[0]}", field=missing[0])
    normal = {}
    for name, parameter in parameters.items():
        value = args.get(name, parameter.default)
        if value is UNCHANGED:
            continue
        if name == "reword_steps":
            if value is not None and not isinstance(value, Mapping):
                raise InvalidCommand("reword_steps must map step ids to new wording",
                                     field="reword_steps")
            value = dict(value or {})
        normal[name] = _listed(value)
    return normal


def open(
    url: str | None = None,
    *,
    readonly: bool = False,
    clock: Clock = utc_now,
    projections: Iterable[Projection] | None = None,
    progress: Callable[[int, int], None] | None = None,
    timezone: str | None = None,
) -> Goals:
    """Open the goal store at ``url`` (else ``$GOALFLOW_DB``, else ``sqlite:///goalflow.db``).

    Accepted urls: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    ``memory://`` and
    ``postgresql://user[:password]@host[:port]/dbname[?schema=name&option=value...]``, where
    the options are any of libpq's connection options (``sslmode``, ``sslrootcert``,
    ``sslcert``, ``sslkey``, ``connect_timeout``, ``application_name``, ...).
    ``projections`` replaces the read models found through the ``goalflow.projections``
    entry points. ``progress(done, total)`` hears of long work on opening (a store
    written before the log was chained gets its chain the first time a writer opens
    it). ``timezone`` is the clinic's time zone (an IANA name) the store must have: a
    new or empty store is given it (:meth:`Goals.set_timezone`); one that holds events
    in another zone is refused (change it with ``set_timezone(name, force=True)``), as
    is, read-only, a store in another zone. Raises
    :class:`~goalflow.errors.StoreError` for a bad url or an unreachable store,
    :class:`~goalflow.errors.InvalidCommand` for a ``timezone`` that is not an IANA name
    (before anything is created).
    """
    if timezone is not None:
        zones.clinic_zone(timezone)
    chosen = list(discover() if projections is None else projections)

    def install(store: GoalStore) -> None:
        # For a new store, in the transaction that makes its tables: all or nothing.
        with storage_errors(store.url, "cannot open store"):
            Projections(store, chosen).install()

    store = GoalStore(parse_url(resolve_url(url)), readonly=readonly, progress=progress,
                      prepare=None if readonly else install)
    try:
        registry = Projections(store, chosen)
        if not readonly:
            store.inline_writes = registry.inline_write
        goals = Goals(store, registry, clock=clock)
        if timezone is not None and readonly and goals.timezone != timezone:
            raise InvalidCommand(f"store {store.url} keeps its dates in time zone"
                                 f" {goals.timezone}, not {timezone}", field="timezone")
        if timezone is not None and not readonly:
            goals.set_timezone(timezone)
    except BaseException:
        store.close()
        raise
    return goals


def parse_goal_id(goal_id: UUID | str) -> UUID:
    """A goal id from a UUID or its string; anything else is an InvalidCommand."""
    if isinstance(goal_id, UUID):
        return goal_id
    try:
        return UUID(str(goal_id))
    except ValueError:
        raise InvalidCommand(f"goal_id {brief(goal_id)} is not a goal id (a UUID)",
                             field="goal_id") from None


def _digest(value: Digest | str | Mapping[str, Any]) -> Digest:
    if isinstance(value, Digest):
        return value
    if isinstance(value, Mapping):
        return Digest.parse(dict(value))
    return Digest.parse(value)


def _listed(values: Any) -> Any:
    # Keep strings and non-iterables as they are, for the domain to refuse by name.
    if isinstance(values, str | bytes | Mapping) or not hasattr(values, "__iter__"):
        return values
    return tuple(values)


def _storable(value: Any) -> bool:
    try:
        dumps(value)
    except TypeError:
        return False
    return True


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.005 * 2**attempt, 0.25)))  # jittered, capped

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
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import tzinfo as Zone  # Goals.tzinfo is a property
from typing import Any, Literal, NamedTuple, cast
from uuid import UUID, uuid4

import attrs
from eventsourcing.persistence import IntegrityError

from goalflow import access, zones
from goalflow import cloned_plans as clones  # (Goals.cloned_plans is a method)
from goalflow import outcomes as mbc  # measurement-based care (Goals.outcomes is a method)
from goalflow.access import Policy
from goalflow.domain.goal import EVENT_TYPES, FINAL_STATUSES, STATUSES, UNCHANGED, Goal, replay
from goalflow.domain.smart import SmartReport
from goalflow.domain.values import (
    MAX_ID_LENGTH,
    MAX_INT,
    RATER_ROLES,
    Actor,
    Measure,
    Subject,
    brief,
    calendar_date,
    check_aware,
    check_choice,
    check_date,
    check_number,
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
    VersionNotFound,
)
from goalflow.fhir import bundles, codes, export
from goalflow.fingerprints import CURRENT_RULE, fingerprint
from goalflow.integrity import chain
from goalflow.integrity import digest as digests
from goalflow.integrity import verify as verification
from goalflow.integrity.digest import Digest
from goalflow.persistence import replicas, settings
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
from goalflow.queries import AuditEntry, GoalIndexEntry, PlanEntry, ReviewDue

Clock = Callable[[], datetime]
LagCallback = Callable[[str, int, int], None]

MAX_DAYS = 36_500
"""The longest span in days a query takes (a century)."""

OPEN_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s not in FINAL_STATUSES)
"""The statuses of the goals a plan shows unless it is asked for closed ones too."""

REVIEWED_STATUSES: tuple[str, ...] = ("active", "on-hold")
"""The statuses of the goals on the reviews worklist."""

MAX_ATTEMPTS = 20
"""How often a command that lost a race is re-checked and retried."""

CommandName = Literal[
    "draft", "agree", "disagree", "add_step", "complete_step", "reopen_step",
    "record_progress", "revise", "review", "hold", "resume", "achieve", "discontinue",
    "withdraw", "enter_in_error", "set_gas_scale", "rate_attainment",
]
"""The commands ``execute`` takes by name: the ``Goals`` methods that record an event."""

COMMANDS: tuple[CommandName, ...] = typing.get_args(CommandName)


_ZONED: frozenset[str] = frozenset(
    command for command in COMMANDS
    if "zone" in inspect.signature(getattr(Goal, command)).parameters)
"""The commands whose domain method judges a calendar date, and so takes the clinic's zone."""


_REQUIRED: Any = object()
"""Goals._read's default: a read model that is not in the store is an error."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Delivery(NamedTuple):
    """An event from :meth:`Goals.subscribe` and its position in the log (to restart after
    it)."""

    position: int
    event: Goal.Event


@attrs.frozen
class Outcome:
    """What a command did: the goal, its new version, the event recorded.

    ``replayed``: the command id was seen before and nothing new was recorded.
    ``retries``: how often the command lost a race to another writer and was
    re-checked against the fresh goal before it was recorded.
    ``position``: the log position of the event (a replay: of the event recorded the
    first time); a read at it sees the command, on a replica too
    (``get(..., min_position=position)``). None for a dry run, which records nothing.
    """

    goal_id: UUID
    version: int
    event: str
    replayed: bool = False
    retries: int = 0
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"goal_id": str(self.goal_id), "version": self.version, "event": self.event,
                "replayed": self.replayed, "retries": self.retries,
                "position": self.position}


class Goals:
    """Treatment goals in one store. Open one with :func:`goalflow.open`."""

    def __init__(self, store: GoalStore, projections: Projections, *,
                 clock: Clock = utc_now, policy: Policy | None = None) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self.projections = projections
        self.on_lag: LagCallback | None = None
        """Called with (read model, its position, the head of the log) when a query reads a
        worker-mode read model that is behind the log (the CLI warns on stderr)."""
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
    # expected_version (the goal's version the caller saw). There is no catch-all
    # keyword: a misspelt one is Python's TypeError, and mypy's error in the caller's
    # code; execute() (and so `goalflow apply`) refuses an unknown name with an
    # InvalidCommand that names it.

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
    ) -> UUID:
        """Draft a goal with the client. Returns its id. It starts ``proposed``."""
        return self.execute("draft", subject=subject, statement=statement, by=by,
                            goal_id=goal_id, target_date=target_date, measures=measures,
                            steps=steps, strengths=strengths, addresses=addresses,
                            client_words=client_words, occurred_at=occurred_at,
                            command_id=command_id).goal_id

    def agree(self, goal_id: UUID | str, *, by: Actor, terms_version: int, method: str,
              witnessed_by: Actor | None = None, occurred_at: datetime | None = None,
              command_id: str | None = None, expected_version: int | None = None) -> int:
        """A party agrees to the terms version they were shown."""
        return self._change("agree", goal_id, occurred_at, command_id, expected_version,
                            by=by, terms_version=terms_version, method=method,
                            witnessed_by=witnessed_by)

    def disagree(self, goal_id: UUID | str, *, by: Actor, reason: str,
                 alternative: str | None = None, occurred_at: datetime | None = None,
                 command_id: str | None = None, expected_version: int | None = None) -> int:
        """A party disagrees, in their own words, optionally with the goal they'd rather have."""
        return self._change("disagree", goal_id, occurred_at, command_id, expected_version,
                            by=by, reason=reason, alternative=alternative)

    def add_step(self, goal_id: UUID | str, *, by: Actor, description: str,
                 occurred_at: datetime | None = None, command_id: str | None = None,
                 expected_version: int | None = None) -> int:
        """Add a step to a goal that has not been agreed yet (it changes the terms)."""
        return self._change("add_step", goal_id, occurred_at, command_id, expected_version,
                            by=by, description=description)

    def complete_step(self, goal_id: UUID | str, *, by: Actor, step_id: str,
                      note: str | None = None, occurred_at: datetime | None = None,
                      command_id: str | None = None, expected_version: int | None = None) -> int:
        return self._change("complete_step", goal_id, occurred_at, command_id,
                            expected_version, by=by, step_id=step_id, note=note)

    def reopen_step(self, goal_id: UUID | str, *, by: Actor, step_id: str, reason: str,
                    occurred_at: datetime | None = None, command_id: str | None = None,
                    expected_version: int | None = None) -> int:
        return self._change("reopen_step", goal_id, occurred_at, command_id,
                            expected_version, by=by, step_id=step_id, reason=reason)

    def record_progress(self, goal_id: UUID | str, *, by: Actor, measure: str,
                        value: int | float, occurred_at: datetime | None = None,
                        command_id: str | None = None, expected_version: int | None = None) -> int:
        return self._change("record_progress", goal_id, occurred_at, command_id,
                            expected_version, by=by, measure=measure, value=value)

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
    ) -> int:
        """Change the terms, with a reason. Only the fields given change."""
        return self._change("revise", goal_id, occurred_at, command_id, expected_version,
                            by=by, reason=reason, statement=statement,
                            client_words=client_words, addresses=addresses,
                            target_date=target_date, strengths=strengths, measures=measures,
                            add_steps=add_steps, remove_steps=remove_steps,
                            reword_steps=reword_steps)

    def review(self, goal_id: UUID | str, *, by: Actor, outcome: str, notes: str | None = None,
               next_review_on: date | None = None, occurred_at: datetime | None = None,
               command_id: str | None = None, expected_version: int | None = None) -> int:
        return self._change("review", goal_id, occurred_at, command_id, expected_version,
                            by=by, outcome=outcome, notes=notes,
                            next_review_on=next_review_on)

    def hold(self, goal_id: UUID | str, *, by: Actor, reason: str,
             occurred_at: datetime | None = None, command_id: str | None = None,
             expected_version: int | None = None) -> int:
        return self._change("hold", goal_id, occurred_at, command_id, expected_version,
                            by=by, reason=reason)

    def resume(self, goal_id: UUID | str, *, by: Actor, reason: str | None = None,
               occurred_at: datetime | None = None, command_id: str | None = None,
               expected_version: int | None = None) -> int:
        return self._change("resume", goal_id, occurred_at, command_id, expected_version,
                            by=by, reason=reason)

    def achieve(self, goal_id: UUID | str, *, by: Actor, evidence: str | None = None,
                occurred_at: datetime | None = None, command_id: str | None = None,
                expected_version: int | None = None) -> int:
        return self._change("achieve", goal_id, occurred_at, command_id, expected_version,
                            by=by, evidence=evidence)

    def discontinue(self, goal_id: UUID | str, *, by: Actor, reason: str,
                    occurred_at: datetime | None = None, command_id: str | None = None,
                    expected_version: int | None = None) -> int:
        return self._change("discontinue", goal_id, occurred_at, command_id,
                            expected_version, by=by, reason=reason)

    def withdraw(self, goal_id: UUID | str, *, by: Actor, reason: str,
                 occurred_at: datetime | None = None, command_id: str | None = None,
                 expected_version: int | None = None) -> int:
        return self._change("withdraw", goal_id, occurred_at, command_id, expected_version,
                            by=by, reason=reason)

    def enter_in_error(self, goal_id: UUID | str, *, by: Actor, reason: str,
                       occurred_at: datetime | None = None, command_id: str | None = None,
                       expected_version: int | None = None) -> int:
        """Void a goal recorded by mistake; it stays in the log, marked entered-in-error."""
        return self._change("enter_in_error", goal_id, occurred_at, command_id,
                            expected_version, by=by, reason=reason)

    def set_gas_scale(self, goal_id: UUID | str, *, by: Actor, levels: Iterable[str],
                      weight: int | float = 1, baseline_level: int = -1,
                      occurred_at: datetime | None = None, command_id: str | None = None,
                      expected_version: int | None = None) -> int:
        """Give the goal a goal attainment scale: five level descriptions (-2 to +2), its
        weight, and its level at baseline (-1, or -2 when no worse outcome is plausible)."""
        return self._change("set_gas_scale", goal_id, occurred_at, command_id,
                            expected_version, by=by, levels=levels, weight=weight,
                            baseline_level=baseline_level)

    def rate_attainment(self, goal_id: UUID | str, *, by: Actor, level: int,
                        occurred_at: datetime | None = None, command_id: str | None = None,
                        expected_version: int | None = None) -> int:
        """Rate the goal's attainment (-2 to +2) on its GAS scale; the rater's role
        (client, clinician, carer) is kept with the rating."""
        return self._change("rate_attainment", goal_id, occurred_at, command_id,
                            expected_version, by=by, level=level)

    def _change(self, command: str, goal_id: UUID | str, occurred_at: datetime | None,
                command_id: str | None, expected_version: int | None,
                **arguments: Any) -> int:
        """Run a command on an existing goal; returns the goal's new version."""
        return self._execute(command, {
            "goal_id": goal_id, "occurred_at": occurred_at, "command_id": command_id,
            "expected_version": expected_version, **arguments}).version

    # -- queries ---------------------------------------------------------------

    def get(self, goal_id: UUID | str, *, version: int | None = None,
            as_of: datetime | None = None, clinical: bool = False,
            by: Actor | None = None, min_position: int | None = None,
            timeout: float = replicas.WAIT_TIMEOUT) -> Goal:
        """The goal now, at a past ``version``, or as recorded at the moment ``as_of``
        (what the record said then); ``clinical=True`` with ``as_of``: with every event
        that had happened (``occurred_at``) by then, including those recorded later,
        replayed in log order.

        ``by``: who reads it, for the store's policy (every read takes it).
        ``min_position``: first wait (up to ``timeout`` seconds) until the store holds the
        log up to that position, as :meth:`wait_for_position` does: read-your-writes on a
        replica, given the :attr:`Outcome.position` of a command."""
        if min_position is not None:
            _check_count("min_position", min_position)
            self.wait_for_position(min_position, timeout=timeout)
        _check_point(version, as_of, clinical=clinical)
        goal = self._store.load(parse_goal_id(goal_id), version=version, as_of=as_of,
                                clinical=bool(clinical))
        self._may_read(by, "get", goal)
        return goal

    def wait_for_position(self, position: int, *, timeout: float = replicas.WAIT_TIMEOUT
                          ) -> int:
        """Wait until the store holds the log up to ``position`` (a replica: has replayed
        the primary's log that far), so that every read after it sees the commands recorded
        up to there; returns the position the store holds (its head).

        Raises :class:`~goalflow.errors.ReplicaBehind` after ``timeout`` seconds, naming
        how far behind the store is. On the primary a position it gave is there already."""
        _check_count("position", position)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
                or not 0 <= timeout <= replicas.MAX_WAIT:
            raise InvalidCommand(f"timeout must be a number of seconds from 0 to"
                                 f" {replicas.MAX_WAIT}, not {brief(timeout)}", field="timeout")
        with storage_errors(self._store.url):
            return replicas.wait_for_position(self._store, position, float(timeout))

    def replay(self, primary: Goals | None = None) -> replicas.Replay | None:
        """How far this store, a replica, has replayed its primary's log (None: the store
        is not a replica). ``primary``: the primary's store, to say how many of its events
        the replica has yet to replay."""
        if not self._store.replica:
            return None
        with storage_errors(self._store.url), \
                self._store.recorder.transaction(commit=False) as tx:
            replayed = replicas.replay(tx, self._store.head(tx))
        if primary is None:
            return replayed
        with storage_errors(primary.store.url):
            return replicas.against_primary(replayed, primary.store, self._clock())

    def history(self, goal_id: UUID | str, *, by: Actor | None = None) -> list[Goal.Event]:
        """Every event of the goal, decoded, oldest first."""
        events = self._store.events(parse_goal_id(goal_id))
        if not events:
            raise GoalNotFound(goal_id)
        if self._policy is not None:
            self._may_read(by, "history", self._store.load(parse_goal_id(goal_id)))
        return events

    def smart_check(self, goal_id: UUID | str, *, by: Actor | None = None) -> SmartReport:
        """Which SMART criteria the goal's current terms meet, judged today (in the
        clinic's time zone)."""
        goal = self._store.load(parse_goal_id(goal_id))
        self._may_read(by, "smart_check", goal)
        zone = self.tzinfo
        return goal.smart_check(on=calendar_date(self._clock(), zone), zone=zone)

    def subscribe(self, *, after: int = 0, goal_id: UUID | str | None = None,
                  types: Iterable[str] = (), poll: float = 0.5,
                  idle: float | None = None) -> Iterator[Delivery]:
        """New events in log order, as they are recorded: a :class:`Delivery` (position,
        event) each, from the position ``after`` on (0: from the start).

        Keep the last position you handled to restart from it: nothing is skipped or
        given twice. PostgreSQL wakes the iterator with the NOTIFY each write sends;
        SQLite looks again every ``poll`` seconds. It waits for ever unless ``idle``:
        then it ends once no new event has come for that many seconds. ``goal_id`` and
        ``types`` (event type names) narrow it. An event this goalflow cannot read (of a
        newer schema) raises :class:`~goalflow.errors.UnreadableEvent` naming its
        position; restart after it to skip it.
        """
        check_number("poll", poll)
        if not 0.01 <= poll <= 3600:
            raise InvalidCommand(f"poll must be from 0.01 to 3600 seconds, not {poll}",
                                 field="poll")
        check_number("idle", idle, optional=True)
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_INT:
            raise InvalidCommand(f"after must be a log position (a whole number from 0), not"
                                 f" {brief(after)}", field="after")
        chosen = list(types)
        unknown = [t for t in chosen if t not in EVENT_TYPES]
        if unknown:
            raise InvalidCommand(f"unknown event type {brief(unknown[0])} (known:"
                                 f" {', '.join(EVENT_TYPES)})", field="types")
        goal_ids = None if goal_id is None else [parse_goal_id(goal_id)]
        topics = [f"goalflow:Goal.{t}" for t in chosen]
        return self._deliveries(after, goal_ids, topics, poll, idle)

    def _deliveries(self, after: int, goal_ids: list[UUID] | None, topics: list[str],
                    poll: float, idle: float | None) -> Iterator[Delivery]:
        quiet_since = time.monotonic()
        while True:
            for notification in self._store.scan(after=after, goal_ids=goal_ids,
                                                 topics=topics, page=500):
                event, _ = self._store.decode_stored(notification)
                after = notification.id
                quiet_since = time.monotonic()
                yield Delivery(notification.id, event)
            wait = poll
            if idle is not None:
                left = idle - (time.monotonic() - quiet_since)
                if left <= 0:
                    return
                wait = min(poll, left)
            self._store.wait_for_events(wait)

    # -- FHIR ------------------------------------------------------------------------

    def fhir(self, goal_id: UUID | str, *, version: int | None = None,
             as_of: datetime | None = None, release: str = "R5") -> dict[str, Any]:
        """The goal (now, at a ``version`` or ``as_of`` a moment) as a FHIR Goal resource,
        JSON-ready; ``release`` "R5" or "R4B" (README, "FHIR")."""
        codes.check_release(release)
        _check_point(version, as_of)
        events = self.history(goal_id)  # the facts (agreements, notes) need every event
        latest = events[-1].originator_version
        if version is not None and version > latest:
            raise VersionNotFound(events[0].originator_id, version, latest)
        if as_of is not None:  # the version get() finds: the last recorded by then
            goal = replay(None, events, recorded_by=as_of)
            if goal is None:
                raise GoalNotFound(f"{goal_id} (not yet recorded at {as_of.isoformat()})")
            version = goal.version
        state, facts = export.at_version(events, version or latest)
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
        return bundles.collection(self.fhir(row.goal_id, release=release) for row in rows)

    def import_fhir(self, resource: Mapping[str, Any], *, by: Actor) -> list[Outcome]:
        """Bring in a FHIR Goal, or a Bundle of Goals (R4B or R5): each becomes a goal,
        reached through the commands that lead to its status (README, "FHIR import").
        Importing the same resource again records nothing. Returns every command's
        outcome; a resource that cannot be mapped records nothing."""
        from goalflow.fhir import imports  # here: it opens a scratch store (goalflow.open)

        self._store.refuse_writes("import-fhir")
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

    def plan(self, subject_id: str, *, include_closed: bool = False,
             status: str | None = None, clinician: str | None = None,
             awaiting_agreement: bool | None = None, limit: int | None = None,
             offset: int = 0, by: Actor | None = None) -> list[PlanEntry]:
        """A subject's current treatment plan, from the ``plans`` read model, oldest first.

        Every goal of the client (or group) that is not entered-in-error, and the
        group goals a client is a member of (``group_goal``); only open goals
        (proposed, active, on-hold) unless ``include_closed``. ``status``: only goals in
        it (a closed one needs ``include_closed``); ``clinician``: only goals that
        clinician drafted; ``awaiting_agreement``: only goals whose current terms await
        (True) or have (False) every required party's agreement; ``limit`` and
        ``offset`` page the plan. Raises InvalidCommand for a filter of the wrong type or
        value, naming it.
        """
        check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
        filters = _plan_filters(status=status, clinician=clinician,
                                awaiting_agreement=awaiting_agreement, limit=limit,
                                offset=offset)
        _check_flag("include_closed", include_closed)
        if status == "entered-in-error":
            raise InvalidCommand("status entered-in-error: a plan never shows goals entered"
                                 " in error (goal_index lists them)", field="status")
        if status is not None and status not in OPEN_STATUSES and not include_closed:
            raise InvalidCommand(f"status {status} is a closed status, which a plan shows"
                                 " only with include_closed", field="status")
        self._may_read(by, "plan", subject_id=subject_id)
        goals = cast(list[dict[str, Any]], self._read(
            "plans", "plan", subject_id, include_closed=include_closed, **filters))
        # None where the outcomes read model is not there: a store opened with chosen read
        # models, or one written before goalflow had it, opened read-only.
        found = self._read("outcomes", "achievement", [g["goal_id"] for g in goals],
                           missing={}) if "outcomes" in self.projections.all else {}
        return [PlanEntry.from_row(goal, found.get(goal["goal_id"])) for goal in goals]

    def audit(self, goal_id: UUID | str | None = None, *, actor: str | None = None,
              subject: str | None = None, since: datetime | None = None,
              until: datetime | None = None, event: str | None = None,
              unagreed: bool = False, late_days: float | None = None,
              date_only: bool = False, by: Actor | None = None, after: int | None = None,
              before: int | None = None, limit: int | None = None, offset: int = 0,
              newest_first: bool = False) -> list[AuditEntry]:
        """Audit trail entries in log order, from the ``audit`` read model.

        ``unagreed``: revisions of goals agreed before whose revised terms still
        await agreement; ``late_days``: entries recorded more than that many days
        after they occurred; ``date_only``: revisions that changed nothing but the
        target date. ``since``/``until`` bound the recorded time; ``after`` and
        ``before`` the log position; ``limit`` the number of entries after the first
        ``offset``; ``newest_first`` turns the order round. For a long trail,
        :meth:`audit_entries` reads it a page at a time.
        """
        query = self._audit_query(goal_id, actor=actor, subject=subject, since=since,
                                  until=until, event=event, unagreed=unagreed,
                                  late_days=late_days, date_only=date_only, by=by)
        for name, value in (("after", after), ("before", before), ("limit", limit)):
            _check_count(name, value, optional=True)
        _check_count("offset", offset)
        _check_flag("newest_first", newest_first)
        rows = self._read("audit", "entries", **query, after=after, before=before,
                          limit=limit, offset=offset, newest_first=newest_first)
        return [AuditEntry.from_row(row) for row in rows]

    def audit_entries(self, goal_id: UUID | str | None = None, *, after: int | None = None,
                      before: int | None = None, newest_first: bool = False,
                      page: int = 1000, **filters: Any) -> Iterator[AuditEntry]:
        """The audit trail as :meth:`audit` gives it, read ``page`` entries at a time (one
        transaction each), so memory stays flat however long it is. Takes :meth:`audit`'s
        filters."""
        _check_count("page", page)
        if page < 1:
            raise InvalidCommand("page must be a whole number from 1, not 0", field="page")
        for name, value in (("after", after), ("before", before)):
            _check_count(name, value, optional=True)
        _check_flag("newest_first", newest_first)
        query = self._audit_query(goal_id, **filters)
        return self._audit_pages(query, after, before, newest_first, page)

    def _audit_pages(self, query: dict[str, Any], after: int | None, before: int | None,
                     newest_first: bool, page: int) -> Iterator[AuditEntry]:
        while True:
            rows = self._read("audit", "entries", **query, after=after, before=before,
                              limit=page, newest_first=newest_first)
            yield from (AuditEntry.from_row(row) for row in rows)
            if len(rows) < page:
                return
            if newest_first:
                before = rows[-1]["position"]
            else:
                after = rows[-1]["position"]

    def _audit_query(self, goal_id: UUID | str | None = None, *, actor: str | None = None,
                     subject: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, event: str | None = None,
                     unagreed: bool = False, late_days: float | None = None,
                     date_only: bool = False, by: Actor | None = None) -> dict[str, Any]:
        """The audit filters, checked, as the read model takes them."""
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
        if self._policy is not None:
            self._may_read(by, "audit", None if gid is None else self._store.load(gid),
                           subject_id=subject)
        return {"goal_id": gid, "actor": actor, "subject": subject, "since": since,
                "until": until, "event": event, "unagreed": unagreed, "late_days": late_days,
                "date_only": date_only}

    def cloned_plans(self, *, interval_days: int = 90) -> list[dict[str, Any]]:
        """Subjects whose plans, in their latest review period of ``interval_days``, were
        revised and reviewed with nothing changed but dates (:mod:`goalflow.cloned_plans`)."""
        _check_days("interval_days", interval_days)
        return clones.flagged(self._read("audit", "plan_changes"), interval_days)

    def reviews(self, *, as_of: date | None = None, overdue: bool = False,
                interval_days: int = 90, subject: str | None = None,
                status: str | None = None, clinician: str | None = None,
                due_before: date | None = None, limit: int | None = None, offset: int = 0,
                by: Actor | None = None) -> list[ReviewDue]:
        """Active and on-hold goals by review due date (oldest first), judged on ``as_of``
        (default today); due dates and today are the clinic's (its time zone).

        ``overdue``: only reviews due before ``as_of``; ``due_before``: only those due
        before that date; ``subject`` (a client's or a group's own goals), ``status``
        (``active`` or ``on-hold``), ``clinician`` (who drafted the goal): only those;
        ``limit`` and ``offset`` page the worklist. Raises InvalidCommand for a filter of
        the wrong type or value, naming it.
        """
        check_date("as_of", as_of, optional=True)
        check_date("due_before", due_before, optional=True)
        _check_days("interval_days", interval_days)
        _check_flag("overdue", overdue)
        check_text("subject", subject, limit=MAX_ID_LENGTH, optional=True)
        if status is not None:
            check_choice("status", status, REVIEWED_STATUSES)
        check_text("clinician", clinician, limit=MAX_ID_LENGTH, optional=True)
        _check_count("limit", limit, optional=True)
        _check_count("offset", offset)
        self._may_read(by, "reviews")
        zone = self.tzinfo
        rows = self._read(
            "reviews", "worklist", as_of=as_of or calendar_date(self._clock(), zone),
            overdue=overdue, interval_days=interval_days, zone=zone, subject=subject,
            status=status, clinician=clinician, due_before=due_before, limit=limit,
            offset=offset)
        return [ReviewDue.from_row(row) for row in rows]

    def goal_index(self, *, subject: str | None = None, status: str | None = None,
                   clinician: str | None = None, awaiting_agreement: bool | None = None,
                   limit: int | None = None, offset: int = 0,
                   by: Actor | None = None) -> list[GoalIndexEntry]:
        """Every goal, entered-in-error ones too, most recently changed first, from the
        ``plans`` read model: of a ``subject`` (and the group goals a client is a member
        of), in a ``status``, drafted by a ``clinician``, whose current terms await
        (``awaiting_agreement=True``) or have every required party's agreement; ``limit``
        and ``offset`` page it. Raises InvalidCommand for a filter of the wrong type or
        value, naming it.
        """
        check_text("subject", subject, limit=MAX_ID_LENGTH, optional=True)
        filters = _plan_filters(status=status, clinician=clinician,
                                awaiting_agreement=awaiting_agreement, limit=limit,
                                offset=offset)
        self._may_read(by, "goal_index", subject_id=subject)
        rows = self._read("plans", "index", subject=subject, **filters)
        return [GoalIndexEntry.from_row(row) for row in rows]

    # -- outcomes ------------------------------------------------------------------

    def outcomes(self, subject_id: str, *, as_of: datetime | None = None
                 ) -> mbc.SubjectOutcomes:
        """A subject's outcomes now, or as recorded at ``as_of``: each goal's measure
        results, paired result and achievementStatus, and the GAS T-scores over its rated
        goals. The subject's own goals (a client's, or a group's), not entered-in-error."""
        return mbc.subject_outcomes(subject_id, self._subject_goals(subject_id, as_of),
                                         as_of)

    def gas(self, subject_id: str, *, as_of: datetime | None = None,
            rater_role: str | None = None) -> mbc.GasResult:
        """The subject's goal attainment T-score and baseline T-score over its rated goals,
        each by its latest rating (from ``rater_role`` only: client, clinician or carer)."""
        if rater_role is not None:
            check_choice("rater_role", rater_role, RATER_ROLES)
        goals = self._subject_goals(subject_id, as_of)
        return mbc.gas(subject_id, mbc.rated(goals, rater_role), rater_role)

    def service_outcomes(self, *, since: date | None = None) -> mbc.ServiceFigures:
        """Service-level figures as NHS Talking Therapies reports them, from the
        ``outcomes`` read model: reliable improvement, deterioration, recovery and reliable
        recovery rates over goals that ended (completed or cancelled; on or after the
        clinic's date ``since``) with a paired result, with the counts behind each."""
        check_date("since", since, optional=True)
        zone = self.tzinfo
        rows = cast(list[dict[str, Any]], self._read("outcomes", "ended"))
        ended = [
            mbc.PairedResult(tuple(row["paired_measures"]), row["paired_rule"],
                             row["paired_reliable"], row["paired_clinical_at_baseline"],
                             row["paired_recovered"], row["paired_reliably_recovered"])
            for row in rows
            if since is None
            or calendar_date(datetime.fromisoformat(row["closed_at"]), zone) >= since]
        return mbc.figures(ended, since)

    def _subject_goals(self, subject_id: str, as_of: datetime | None) -> list[Goal]:
        check_text("subject_id", subject_id, limit=MAX_ID_LENGTH)
        if as_of is not None:
            check_aware("as_of", as_of)
        found = []
        for row in self.goal_index(subject=subject_id):
            try:
                goal = self.get(row.goal_id, as_of=as_of)
            except GoalNotFound:  # not yet recorded then
                continue
            if goal.subject.id == subject_id and goal.status != "entered-in-error":
                found.append(goal)
        return sorted(found, key=lambda g: (g.drafted_at, str(g.id)))
    # -- privacy: forgetting a subject, retention holds, the master key ------------

    def forget(self, subject_id: str, *, by: Actor, reason: str,
               override_hold: str | None = None, occurred_at: datetime | None = None
               ) -> dict[str, Any]:
        """Forget a subject (crypto-shredding; an encrypted store only): record
        ``SubjectForgotten`` on each of their goals, delete their read-model rows and
        destroy their data key, so nothing they said can be read again, here or in any
        copy. Refused while a retention hold is in force, unless ``override_hold`` gives
        the reason to override it (recorded in the events)."""
        from goalflow.crypto import erasure  # (imports the store module, as this one does)

        now = self._clock()
        if occurred_at is not None:
            check_aware("occurred_at", occurred_at)
        with storage_errors(self._store.url):
            return erasure.forget(self._store, subject_id, by=by, reason=reason,
                                  override_hold=override_hold, now=now,
                                  occurred_at=occurred_at or now, today=self.today())

    def hold_retention(self, subject_id: str, *, until: date, by: Actor, reason: str
                       ) -> dict[str, Any]:
        """Hold the subject's data (litigation, an investigation): ``forget`` is refused
        until the hold is released or ``until`` has passed."""
        from goalflow.crypto import erasure

        with storage_errors(self._store.url):
            return erasure.hold(self._store, subject_id, until=until, by=by, reason=reason,
                                now=self._clock(), today=self.today())

    def release_retention(self, subject_id: str, *, by: Actor, reason: str) -> dict[str, Any]:
        """End the retention hold in force on the subject."""
        from goalflow.crypto import erasure

        with storage_errors(self._store.url):
            return erasure.release(self._store, subject_id, by=by, reason=reason,
                                   now=self._clock(), today=self.today())

    def retention_holds(self) -> list[dict[str, Any]]:
        """The retention holds in force today."""
        from goalflow.crypto import erasure

        with storage_errors(self._store.url):
            return erasure.holds(self._store, self.today())

    def rotate_master_key(self, new_key: Any) -> int:
        """Re-wrap every data key with ``new_key`` (base64 text, 32 bytes or a MasterKey)
        in one transaction, touching no event; afterwards only the new key opens the
        store. Returns how many data keys were re-wrapped."""
        from goalflow.crypto import erasure, master

        key = master.parse(new_key, source="new master key")
        with storage_errors(self._store.url):
            return erasure.rotate(self._store, key)

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

    # -- the report ----------------------------------------------------------------

    def report(self, goal_id: UUID | str | None = None, *, subject: str | None = None,
               as_of: datetime | None = None, late_days: float = 2.0,
               interval_days: int = 90) -> str:
        """One self-contained HTML page of a goal's whole life (or of every goal of a
        client or group, ``subject``): terms, timeline, charts, verification. See
        :func:`goalflow.report.render`."""
        if as_of is not None:
            check_aware("as_of", as_of)
        check_text("subject", subject, limit=MAX_ID_LENGTH, optional=True)
        # Imported here: the report reads goals through this module's Goals.
        from goalflow.report import render

        return render(self, goal_id, subject=subject, as_of=as_of, late_days=late_days,
                      interval_days=interval_days, made_at=self._clock())

    def _may_read(self, by: Actor | None, action: str, goal: Goal | None = None, *,
                  subject_id: str | None = None) -> None:
        """Ask the store's policy whether ``by`` may make this read."""
        if self._policy is None:
            return
        if by is not None and not isinstance(by, Actor):
            raise InvalidCommand(f"by must be an Actor, not {brief(by)}", field="by")
        access.check(self._policy, access.Access(
            by, action, "read", goal, goal.subject.id if goal is not None else subject_id))

    def _read(self, projection: str, query: str, *args: Any, missing: Any = _REQUIRED,
              **kwargs: Any) -> Any:
        """A read model's query; ``missing``: what to give if the read model is not in the
        store (else ProjectionError)."""
        found = self.projections.get(projection)
        with storage_errors(self._store.url), \
                self._store.recorder.transaction(commit=False) as tx:
            state = read_tracking(tx).get(projection)
            if state is None:
                if missing is not _REQUIRED:
                    return missing
                raise ProjectionError(
                    f"the {projection} read model is not in store {self._store.url}; open the"
                    " store for writing once to install it")
            if self.on_lag is not None and state.mode == "worker":  # inline ones never lag
                head = int(self._store.head(tx))
                if state.position < head:
                    self.on_lag(projection, state.position, head)
            # (A store opened read-only may hold rows an earlier version wrote.)
            reader = Reader(tx, found, version=state.version)
            return getattr(found, query)(reader, *args, **kwargs)

    def batch(self) -> Batch:
        """A unit of work: ``with goals.batch() as b: b.add("draft", ...)``. The commands
        added are recorded together when the block ends, all or none; an error in the
        block records none of them. ``b.outcomes`` then says what each did."""
        return Batch(self)

    # -- the engine --------------------------------------------------------------

    def execute(self, command: CommandName, /, **arguments: Any) -> Outcome:
        """Run one command by name (as ``goalflow apply`` does) and say what it did.

        ``arguments`` are the command method's own, plus ``goal_id``, ``occurred_at``,
        ``command_id`` and ``expected_version``.
        """
        return self._execute(command, arguments)

    def _execute(self, command: str, arguments: dict[str, Any]) -> Outcome:
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
                positions = self._store.append_many(
                    [(goal, events)], commands=commands, remember=True,
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
            return attrs.evolve(outcome, position=positions[-1])
        raise ConcurrencyError(call.goal_id, None, None, attempts=MAX_ATTEMPTS)

    def _replayed(self, call: _Call, retries: int) -> Outcome | None:
        """The outcome of the command, if its command id was recorded already."""
        if call.command_id is None:
            return None
        prior = self._store.find_command(call.command_id)
        return None if prior is None else call.replays(prior, retries)

    def execute_many(self, commands: Iterable[tuple[str, dict[str, Any]]], *,
                     batch: int = 100, atomic: bool = False) -> Iterator[Outcome]:
        """Run ``(command, arguments)`` pairs in order, ``batch`` to a transaction.

        ``atomic=True``: all of them in one transaction, or none. Every command is judged
        (each on the goal as the ones before it left it) before anything is recorded; a
        refused command, or a bad item from ``commands``, raises its error and nothing of
        the run is recorded; the error's ``command_index`` says which command it was (from
        0). ``batch`` does not apply.

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
        if atomic:
            yield from self._execute_atomic(list(commands))
            return
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

    def dry_run(self, commands: Iterable[tuple[str, dict[str, Any]]]
                ) -> Iterator[Outcome | GoalflowError]:
        """Judge each command as ``execute_many`` would, recording nothing: yields its
        :class:`Outcome` (what it would record), or the error that would refuse it, and
        goes on. Each command is judged on the goal as the accepted commands before it
        would leave it; a command id already recorded is a replay, as it would be."""
        goals: dict[UUID, Goal] = {}
        in_run: _InRun = {}
        zone: _ClinicZone | None = None

        def load(goal_id: UUID) -> Goal:
            if goal_id not in goals:
                goals[goal_id] = self._store.load(goal_id)
            return goals[goal_id]

        for command, arguments in commands:
            try:
                call = self._prepare(command, arguments, to_record=False)
                replayed = _replay(call, in_run, self._store.find_command)
                if replayed is not None:
                    yield replayed[0]
                    continue
                _check_new(call, lambda g: g in goals or self._store.exists(g))
                if zone is None and call.command in _ZONED:
                    zone = self._read_zone()
                goal = self._decide(call, load, zone)
                goals[goal.id] = goal
                events = goal.collect_events()
                outcome = Outcome(call.goal_id, goal.version, type(events[-1]).__name__)
                if call.command_id is not None:
                    in_run[call.command_id] = (call, outcome, None)
                yield outcome
            except GoalflowError as e:
                yield e

    def _execute_batch(self, commands: list[tuple[str, dict[str, Any]]]) -> Iterator[Outcome]:
        """One transaction for the commands; on a lost race, one transaction each."""
        if not commands:
            return
        judged = self._judge(commands)
        if judged.refusal is not None and any(c.command_id is not None for c in judged.calls):
            # The refused command may be one another writer recorded after this batch
            # looked its command ids up (two runs of one file at once): then it is a
            # replay. Judge the batch one by one, where each refusal is checked for that.
            for command, arguments in commands:
                yield self._execute(command, arguments)
            return
        positions: list[int] = []
        if judged.changes:
            try:
                positions = self._store.append_many(judged.changes, commands=judged.records,
                                                    writes=judged.writes)
            except (IntegrityError, settings.SettingChanged):
                # Another writer got to one of these goals (or command ids) first, or
                # changed the zone. Nothing of this batch was recorded, and a refusal was
                # judged against goals that have moved on: run every command again, one
                # by one.
                for command, arguments in commands:
                    yield self._execute(command, arguments)
                return
        self._store.remember(judged.goals.values())  # all as recorded now, changed or not
        yield from judged.placed(positions)
        if judged.refusal is not None:
            raise judged.refusal

    def _execute_atomic(self, commands: list[tuple[str, dict[str, Any]]]) -> list[Outcome]:
        """Every command in one transaction, or none: a refusal records nothing."""
        for attempt in range(MAX_ATTEMPTS):
            judged = self._judge(commands)
            if judged.refusal is not None:
                judged.refusal.command_index = len(judged.outcomes)
                raise judged.refusal
            positions: list[int] = []
            if judged.changes:
                try:
                    positions = self._store.append_many(judged.changes, commands=judged.records,
                                                        writes=judged.writes)
                except (IntegrityError, settings.SettingChanged):
                    # Another writer got there first: nothing was recorded; judge them all
                    # again on the goals as they are now.
                    self._known_zone = None
                    _backoff(attempt)
                    continue
            self._store.remember(judged.goals.values())
            return [attrs.evolve(o, retries=attempt) for o in judged.placed(positions)]
        raise ConcurrencyError(judged.changes[0][0].id, None, None, attempts=MAX_ATTEMPTS)

    def _judge(self, commands: list[tuple[str, dict[str, Any]]]) -> _Judged:
        """Decide the commands in order, in memory, each on the goal as the ones before it
        left it; stop at the first refusal. Nothing is recorded."""
        judged = _Judged()
        for command, arguments in commands:
            try:
                judged.calls.append(self._prepare(command, arguments))
            except GoalflowError as e:
                judged.refusal = e
                break
        calls = judged.calls
        prior = self._store.find_commands([c.command_id for c in calls if c.command_id])
        goals = judged.goals = self._store.take_many(
            c.goal_id for c in calls if c.command != "draft")
        # Read afresh for each batch, so that no refusal is judged in a zone gone by.
        zone = self._read_zone() if any(c.command in _ZONED for c in calls) else None
        if zone is not None:
            judged.writes.append(zone.still_in_force())
        in_batch: _InRun = {}
        recorded = 0

        def load(goal_id: UUID) -> Goal:
            if goal_id not in goals:
                raise GoalNotFound(goal_id)
            return goals[goal_id]

        try:
            for call in calls:
                replayed = _replay(call, in_batch, prior.get)
                if replayed is not None:
                    judged.add(*replayed)
                    continue
                _check_new(call, goals.__contains__)
                goal = goals[call.goal_id] = self._decide(call, load, zone)
                events = cast(list[Goal.Event], goal.collect_events())
                recorded += len(events)
                outcome = Outcome(call.goal_id, goal.version, type(events[-1]).__name__)
                record = call.record(outcome)
                if record is not None:
                    in_batch[record.command_id] = (call, outcome, recorded - 1)
                    judged.records.append((record, recorded - 1))
                judged.changes.append((goal, events))
                judged.add(outcome, recorded - 1)
        except GoalflowError as e:
            judged.refusal = e
        return judged

    def _prepare(self, command: str, arguments: dict[str, Any], *,
                 to_record: bool = True) -> _Call:
        """Check a command's arguments (not yet against the goal) and fingerprint it."""
        if command not in COMMANDS:
            raise InvalidCommand(f"unknown command {brief(command)}", field="command")
        if to_record:
            self._store.refuse_writes(command)
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
            drafted = Goal.draft(goal_id=call.goal_id, occurred_at=occurred_at,
                                 recorded_at=recorded_at, **call.args)
            self._may(call, drafted)
            return drafted
        goal = load(call.goal_id)
        if call.expected_version is not None and goal.version != call.expected_version:
            raise ConcurrencyError(call.goal_id, call.expected_version, goal.version)
        self._may(call, goal)
        dated = {"zone": (zone or self._read_zone()).zone} if call.command in _ZONED else {}
        getattr(goal, call.command)(occurred_at=occurred_at, recorded_at=recorded_at,
                                    **call.args, **dated)
        return goal

    def _may(self, call: _Call, goal: Goal) -> None:
        """Ask the store's policy whether the command's actor may run it on the goal."""
        if self._policy is not None:
            access.check(self._policy, access.Access(
                call.args["by"], call.command, "command", goal, goal.subject.id))


class Batch:
    """Commands gathered to be recorded in one transaction, all or none (``goals.batch()``)."""

    def __init__(self, goals: Goals) -> None:
        self._goals = goals
        self._commands: list[tuple[str, dict[str, Any]]] = []
        self.outcomes: list[Outcome] = []

    def add(self, command: CommandName, /, **arguments: Any) -> UUID:
        """Queue a command, as ``Goals.execute`` takes it; returns its goal's id. A draft
        given no ``goal_id`` gets one now, so later commands of the batch can name it."""
        if self.outcomes:
            raise InvalidCommand("this batch was recorded already; start another",
                                 field="command")
        arguments = dict(arguments)
        if command == "draft" and arguments.get("goal_id") is None:
            arguments["goal_id"] = uuid4()
        call = self._goals._prepare(command, arguments)  # a bad argument fails here
        self._commands.append((command, arguments))
        return call.goal_id

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None and self._commands:
            self.outcomes = self._goals._execute_atomic(self._commands)


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
class _Judged:
    """Commands decided in memory: the changes to record, or the refusal that stops them."""

    calls: list[_Call] = attrs.Factory(list)
    goals: dict[UUID, Goal] = attrs.Factory(dict)
    changes: list[tuple[Goal, list[Goal.Event]]] = attrs.Factory(list)
    records: list[tuple[CommandRecord, int]] = attrs.Factory(list)
    outcomes: list[Outcome] = attrs.Factory(list)
    writes: list[Write] = attrs.Factory(list)
    refusal: GoalflowError | None = None
    # Per outcome: the index (in all the events of changes) of its command's last event;
    # None for a replay of an earlier run, whose outcome has its position already.
    last_events: list[int | None] = attrs.Factory(list)

    def add(self, outcome: Outcome, last_event: int | None = None) -> None:
        self.outcomes.append(outcome)
        self.last_events.append(last_event)

    def placed(self, positions: Sequence[int]) -> list[Outcome]:
        """The outcomes with their positions, once the changes are recorded at
        ``positions`` (one per event, in order)."""
        return [o if at is None else attrs.evolve(o, position=positions[at])
                for o, at in zip(self.outcomes, self.last_events, strict=True)]


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
                       retries=retries, position=prior.notification_id)


_InRun = dict[str, tuple["_Call", Outcome, int | None]]
"""The commands with ids decided in a run: each with its outcome and the index of its last
event among the run's (None where it has no place: a dry run)."""


def _replay(call: _Call, in_run: _InRun, recorded: Callable[[str], CommandRecord | None]
            ) -> tuple[Outcome, int | None] | None:
    """The outcome of a command whose id was seen earlier in this run (``in_run``), with that
    one's last event, or is ``recorded`` in the store (its position known): a replay. None
    for a command to decide. The same id with another command is CommandIdReused."""
    if call.command_id is None:
        return None
    earlier = in_run.get(call.command_id)
    if earlier is not None:
        if earlier[0].fingerprint != call.fingerprint:
            raise CommandIdReused(call.command_id)
        return attrs.evolve(earlier[1], replayed=True), earlier[2]
    prior = recorded(call.command_id)
    return (call.replays(prior), None) if prior is not None else None


def _check_new(call: _Call, exists: Callable[[UUID], bool]) -> None:
    """A draft may not take the id of a goal that exists."""
    if call.command == "draft" and exists(call.goal_id):
        raise InvalidCommand(f"a goal with id {call.goal_id} already exists", field="goal_id")


_OPTIONS = frozenset({"goal_id", "occurred_at", "command_id", "expected_version"})


def _parameters(command: str) -> dict[str, inspect.Parameter]:
    """A command's own arguments, as the Goals method of that name declares them."""
    signature = inspect.signature(getattr(Goals, command))
    return {name: p for name, p in signature.parameters.items()
            if name != "self" and name not in _OPTIONS}


_PARAMETERS: dict[str, dict[str, inspect.Parameter]] = {
    command: _parameters(command) for command in COMMANDS}


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
    master_key: Any = None,
    keys: str | None = None,
    policy: Policy | None = None,
) -> Goals:
    """Open the goal store at ``url`` (else ``$GOALFLOW_DB``, else ``sqlite:///goalflow.db``).

    ``master_key`` (base64 text of 32 bytes, the bytes, or a
    :class:`~goalflow.crypto.master.MasterKey`; else ``$GOALFLOW_MASTER_KEY``) makes a new
    store encrypted, with a data key per subject kept in the key store at ``keys`` (a
    store url; default: ``goals.db`` -> ``goals.keys.db`` beside a SQLite store, schema
    ``<schema>_keys`` in a PostgreSQL store's database). An encrypted store needs it;
    an unencrypted one refuses it.

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
    (before anything is created). ``policy`` is the EHR's say on who may do what
    (:mod:`goalflow.access`): asked before every command and every read, it refuses
    with :class:`~goalflow.errors.NotPermitted`.

    A PostgreSQL hot standby (a read replica) opens read-only whatever ``readonly`` says
    (``goals.store.replica``): its writes raise :class:`~goalflow.errors.ReadOnlyReplica`;
    :meth:`Goals.wait_for_position` and ``get(..., min_position=)`` read your writes there.
    """
    if timezone is not None:
        zones.clinic_zone(timezone)
    from goalflow.crypto import master

    key = master.from_environment() if master_key is None else master.parse(master_key)
    keys_url = None if keys is None else parse_url(keys)
    chosen = list(discover() if projections is None else projections)

    def install(store: GoalStore) -> None:
        # For a new store, in the transaction that makes its tables: all or nothing.
        with storage_errors(store.url, "cannot open store"):
            Projections(store, chosen).install()

    store = GoalStore(parse_url(resolve_url(url)), readonly=readonly, progress=progress,
                      prepare=None if readonly else install, master_key=key, keys=keys_url)
    try:
        registry = Projections(store, chosen)
        if not store.readonly:  # (a replica is opened read-only whatever was asked)
            store.inline_writes = registry.inline_write
        goals = Goals(store, registry, clock=clock, policy=policy)
        if timezone is not None and store.readonly and goals.timezone != timezone:
            raise InvalidCommand(f"store {store.url} keeps its dates in time zone"
                                 f" {goals.timezone}, not {timezone}", field="timezone")
        if timezone is not None and not store.readonly:
            goals.set_timezone(timezone)
    except BaseException:
        store.close()
        raise
    return goals


def _check_point(version: Any, as_of: datetime | None, *, clinical: bool = False) -> None:
    """Check the point in a goal's life a read asks for: a version, or a moment."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or not 1 <= version <= MAX_INT):
        raise InvalidCommand(f"version must be a whole number from 1, not {brief(version)}",
                             field="version")
    if as_of is not None:
        check_aware("as_of", as_of)
    if version is not None and as_of is not None:
        raise InvalidCommand("give version or as_of, not both", field="as_of")
    if clinical and as_of is None:
        raise InvalidCommand("clinical needs as_of (the moment to look back from)",
                             field="clinical")


def _check_count(name: str, value: object, *, optional: bool = False) -> None:
    """A count or a log position: a whole number from 0."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidCommand(f"{name} must be a whole number from 0, not {brief(value)}",
                             field=name)


def _check_flag(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, bool):
        raise InvalidCommand(f"{name} must be true or false, not {brief(value)}", field=name)


def _plan_filters(*, status: str | None, clinician: str | None,
                  awaiting_agreement: bool | None, limit: int | None,
                  offset: int) -> dict[str, Any]:
    """The filters the ``plans`` read model's queries take, checked."""
    if status is not None:
        check_choice("status", status, STATUSES)
    check_text("clinician", clinician, limit=MAX_ID_LENGTH, optional=True)
    _check_flag("awaiting_agreement", awaiting_agreement, optional=True)
    _check_count("limit", limit, optional=True)
    _check_count("offset", offset)
    return {"status": status, "clinician": clinician,
            "awaiting_agreement": awaiting_agreement, "limit": limit, "offset": offset}


@functools.lru_cache(maxsize=8192)
def _uuid(text: str) -> UUID:
    """UUID(text), remembered: a run of commands names the same goals again and again,
    and the uuid module's parsing is pure Python (a few microseconds each time)."""
    return UUID(text)


def parse_goal_id(goal_id: UUID | str) -> UUID:
    """A goal id from a UUID or its string; anything else is an InvalidCommand."""
    if isinstance(goal_id, UUID):
        return goal_id
    try:
        return _uuid(goal_id) if type(goal_id) is str else UUID(str(goal_id))
    except ValueError:
        raise InvalidCommand(f"goal_id {brief(goal_id)} is not a goal id (a UUID)",
                             field="goal_id") from None


def _check_days(field: str, days: object) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidCommand(f"{field} must be a whole number of days from 1 to {MAX_DAYS},"
                             f" not {brief(days)}", field=field)


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

"""The baseline: a plain eventsourcing ``Application`` doing the storage work goalflow does.

``BaselineGoal`` is an ordinary eventsourcing ``Aggregate`` whose events carry the same fields
as goalflow's (the actor as a dict, ``occurred_at``, the statement, steps and measures as lists
of dicts, ...), one event per command, stored by eventsourcing's default mapper and its JSON
transcoding (with one extra transcoding, for ``date``, which it lacks), the bytes made and read
by orjson as goalflow's are. Commands check what a lifecycle needs (status, parties, terms
version) and nothing more; there are no read models, no idempotency records, no snapshots:
it is the bare cost of get -> change -> save, with eventsourcing's aggregate cache keeping
the goals saved last as goalflow keeps its own (``LIBRARY_SETTINGS``).

The application is configured only from the ``env`` it is given (never ``os.environ``, which
would leak a shell's ``PERSISTENCE_MODULE`` or ``SQLITE_DBNAME`` into the measurement).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.utils import Environment, EnvType, get_topic

_UNSET: Any = object()


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class OrjsonTranscoder(JSONTranscoder):
    """eventsourcing's ``JSONTranscoder`` (its transcodings, its ``_type_``/``_data_``
    objects), with orjson for the bytes, as goalflow's codec has.

    orjson has no ``object_hook``: the decoded value is walked once to restore the
    transcoded objects (bottom-up, as the hook would). Dates and datetimes go through the
    transcodings (``OPT_PASSTHROUGH_DATETIME``); orjson would write a UUID itself, as a
    string read back as a string, but the baseline's event states hold none (the mapper
    takes the originator id out).
    """

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj,
                            option=orjson.OPT_PASSTHROUGH_DATETIME)

    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        if type(value) is dict and "_type_" in value:
            return self._decode_obj(value)
        if type(value) in (dict, list):
            self._restore(value)
        return value

    def _restore(self, container: dict[str, Any] | list[Any]) -> None:
        """Restore, in place, the transcoded objects in a decoded dict or list."""
        items = container.items() if type(container) is dict else enumerate(container)
        for key, value in items:
            kind = type(value)
            if kind is dict:
                if "_type_" in value and len(value) == 2:
                    if type(value.get("_data_")) in (dict, list):
                        self._restore(value["_data_"])
                    container[key] = self._decode_obj(value)  # type: ignore[index]
                else:
                    self._restore(value)
            elif kind is list:
                self._restore(value)


class BaselineGoal(Aggregate):
    """A goal as a plain eventsourcing aggregate, with goalflow's event fields."""

    class Event(Aggregate.Event):
        actor: dict[str, Any]
        occurred_at: datetime

    class Created(Event, Aggregate.Created):
        pass

    class Drafted(Created):
        subject: dict[str, Any]
        statement: str
        client_words: str | None
        addresses: list[str]
        target_date: date | None
        strengths: list[str]
        measures: list[dict[str, Any]]
        steps: list[dict[str, Any]]

    class AgreedByClient(Event):
        party: str
        terms_version: int
        method: str
        witnessed_by: dict[str, Any] | None

        def apply(self, goal: BaselineGoal) -> None:
            goal.agreements.append({"party": self.party, "by": self.actor,
                                    "terms_version": self.terms_version, "method": self.method,
                                    "witnessed_by": self.witnessed_by,
                                    "occurred_at": self.occurred_at})
            goal.agreed_parties.append(self.party)
            if all(p in goal.agreed_parties for p in goal.required_parties):
                goal.status = "active"

    class ClientDisagreed(Event):
        party: str
        reason: str
        alternative: str | None

        def apply(self, goal: BaselineGoal) -> None:
            goal.agreed_parties = [p for p in goal.agreed_parties if p != self.party]

    class StepAdded(Event):
        step_id: str
        description: str

        def apply(self, goal: BaselineGoal) -> None:
            goal.steps.append({"step_id": self.step_id, "description": self.description,
                               "status": "open"})
            goal.steps_added += 1
            goal.terms_changed()

    class StepCompleted(Event):
        step_id: str
        note: str | None

        def apply(self, goal: BaselineGoal) -> None:
            for step in goal.steps:
                if step["step_id"] == self.step_id:
                    step["status"] = "completed"

    class ProgressRecorded(Event):
        measure: str
        value: int | float

        def apply(self, goal: BaselineGoal) -> None:
            goal.readings[self.measure] = {"value": self.value, "occurred_at": self.occurred_at}

    class Revised(Event):
        reason: str
        changes: list[dict[str, Any]]
        steps_added: list[dict[str, Any]]
        steps_removed: list[dict[str, Any]]
        steps_reworded: list[dict[str, Any]]

        def apply(self, goal: BaselineGoal) -> None:
            for change in self.changes:
                setattr(goal, change["field"], change["after"])
            removed = {s["step_id"] for s in self.steps_removed}
            reworded = {r["step_id"]: r["after"] for r in self.steps_reworded}
            goal.steps = [
                {**s, "description": reworded.get(s["step_id"], s["description"])}
                for s in goal.steps if s["step_id"] not in removed
            ] + [dict(s) for s in self.steps_added]
            goal.steps_added += len(self.steps_added)
            goal.terms_changed()

    class ReviewHeld(Event):
        outcome: str
        notes: str | None
        next_review_on: date | None

        def apply(self, goal: BaselineGoal) -> None:
            goal.last_reviewed_at = self.occurred_at
            goal.next_review_on = self.next_review_on

    class StatusChanged(Event):
        status: ClassVar[str] = ""
        reason: str | None

        def apply(self, goal: BaselineGoal) -> None:
            goal.status = self.status
            goal.status_reason = self.reason

    class PutOnHold(StatusChanged):
        status = "on-hold"

    class Resumed(StatusChanged):
        status = "active"

    class Achieved(Event):
        evidence: str | None

        def apply(self, goal: BaselineGoal) -> None:
            goal.status = "completed"
            goal.status_reason = self.evidence

    class Discontinued(StatusChanged):
        status = "cancelled"

    class Withdrawn(StatusChanged):
        status = "rejected"

    def __init__(self, actor: dict[str, Any], occurred_at: datetime, subject: dict[str, Any],
                 statement: str, client_words: str | None, addresses: list[str],
                 target_date: date | None, strengths: list[str],
                 measures: list[dict[str, Any]], steps: list[dict[str, Any]]) -> None:
        self.subject = subject
        self.required_parties = (subject["members"] if subject["kind"] == "group"
                                 else [subject["id"]])
        self.status = "proposed"
        self.status_reason: str | None = None
        self.terms_version = 1
        self.statement = statement
        self.client_words = client_words
        self.addresses = addresses
        self.target_date = target_date
        self.strengths = strengths
        self.measures = measures
        self.readings: dict[str, Any] = {}
        self.steps = [dict(s) for s in steps]
        self.steps_added = len(steps)
        self.agreements: list[dict[str, Any]] = []
        self.agreed_parties: list[str] = []
        self.drafted_by = actor
        self.drafted_at = occurred_at
        self.last_reviewed_at: datetime | None = None
        self.next_review_on: date | None = None

    def terms_changed(self) -> None:
        self.terms_version += 1
        self.agreed_parties = []
        self.status = "proposed"

    # -- commands ------------------------------------------------------------------------

    @classmethod
    def draft(cls, *, goal_id: UUID, by: dict[str, Any], occurred_at: datetime,
              recorded_at: datetime, subject: dict[str, Any], statement: str,
              client_words: str | None = None, addresses: Iterable[str] = (),
              target_date: date | None = None, strengths: Iterable[str] = (),
              measures: Iterable[dict[str, Any]] = (), steps: Iterable[str] = ()
              ) -> BaselineGoal:
        _require(by["role"] in ("clinician", "supervisor"), "only clinicians draft goals")
        return cls._create(
            cls.Drafted, id=goal_id, timestamp=recorded_at, actor=by, occurred_at=occurred_at,
            subject=subject, statement=statement, client_words=client_words,
            addresses=list(addresses), target_date=target_date, strengths=list(strengths),
            measures=list(measures),
            steps=[{"step_id": f"s{n}", "description": text, "status": "open"}
                   for n, text in enumerate(steps, start=1)],
        )

    def agree(self, *, by: dict[str, Any], terms_version: int, method: str,
              occurred_at: datetime, recorded_at: datetime,
              witnessed_by: dict[str, Any] | None = None) -> None:
        self._guard(("proposed",))
        party = by["id"]
        _require(party in self.required_parties, "only a required party agrees")
        _require(terms_version == self.terms_version, "agreement to old terms")
        _require(party not in self.agreed_parties, "already agreed")
        self._trigger(self.AgreedByClient, by, occurred_at, recorded_at, party=party,
                      terms_version=terms_version, method=method, witnessed_by=witnessed_by)

    def disagree(self, *, by: dict[str, Any], reason: str, occurred_at: datetime,
                 recorded_at: datetime, alternative: str | None = None) -> None:
        self._guard(("proposed",))
        self._trigger(self.ClientDisagreed, by, occurred_at, recorded_at, party=by["id"],
                      reason=reason, alternative=alternative)

    def add_step(self, *, by: dict[str, Any], description: str, occurred_at: datetime,
                 recorded_at: datetime) -> None:
        self._guard(("proposed",))
        self._trigger(self.StepAdded, by, occurred_at, recorded_at,
                      step_id=f"s{self.steps_added + 1}", description=description)

    def complete_step(self, *, by: dict[str, Any], step_id: str, occurred_at: datetime,
                      recorded_at: datetime, note: str | None = None) -> None:
        self._guard(("active",))
        _require(any(s["step_id"] == step_id and s["status"] == "open" for s in self.steps),
                 f"no open step {step_id}")
        self._trigger(self.StepCompleted, by, occurred_at, recorded_at, step_id=step_id,
                      note=note)

    def record_progress(self, *, by: dict[str, Any], measure: str, value: int | float,
                        occurred_at: datetime, recorded_at: datetime) -> None:
        self._guard(("active", "on-hold"))
        _require(any(m["name"] == measure for m in self.measures), f"no measure {measure}")
        self._trigger(self.ProgressRecorded, by, occurred_at, recorded_at, measure=measure,
                      value=value)

    def revise(self, *, by: dict[str, Any], reason: str, occurred_at: datetime,
               recorded_at: datetime, statement: Any = _UNSET, client_words: Any = _UNSET,
               addresses: Any = _UNSET, target_date: Any = _UNSET, strengths: Any = _UNSET,
               measures: Any = _UNSET, add_steps: Iterable[str] = (),
               remove_steps: Iterable[str] = (),
               reword_steps: dict[str, str] | None = None) -> None:
        self._guard(("proposed", "active", "on-hold"))
        proposed = {"statement": statement, "client_words": client_words,
                    "addresses": addresses, "target_date": target_date,
                    "strengths": strengths, "measures": measures}
        changes = [{"field": name, "before": getattr(self, name), "after": value}
                   for name, value in proposed.items()
                   if value is not _UNSET and getattr(self, name) != value]
        removals = set(remove_steps)
        added = [{"step_id": f"s{self.steps_added + n}", "description": text, "status": "open"}
                 for n, text in enumerate(add_steps, start=1)]
        rewordings = reword_steps or {}
        reworded = [{"step_id": s["step_id"], "before": s["description"],
                     "after": rewordings[s["step_id"]]}
                    for s in self.steps if s["step_id"] in rewordings]
        _require(bool(changes or added or removals or reworded), "revise changes nothing")
        self._trigger(self.Revised, by, occurred_at, recorded_at, reason=reason,
                      changes=changes, steps_added=added,
                      steps_removed=[s for s in self.steps if s["step_id"] in removals],
                      steps_reworded=reworded)

    def review(self, *, by: dict[str, Any], outcome: str, occurred_at: datetime,
               recorded_at: datetime, notes: str | None = None,
               next_review_on: date | None = None) -> None:
        self._guard(("active", "on-hold"))
        self._trigger(self.ReviewHeld, by, occurred_at, recorded_at, outcome=outcome,
                      notes=notes, next_review_on=next_review_on)

    def achieve(self, *, by: dict[str, Any], occurred_at: datetime, recorded_at: datetime,
                evidence: str | None = None) -> None:
        self._guard(("active",))
        self._trigger(self.Achieved, by, occurred_at, recorded_at, evidence=evidence)

    def discontinue(self, *, by: dict[str, Any], reason: str, occurred_at: datetime,
                    recorded_at: datetime) -> None:
        self._guard(("active", "on-hold"))
        self._trigger(self.Discontinued, by, occurred_at, recorded_at, reason=reason)

    def hold(self, *, by: dict[str, Any], reason: str, occurred_at: datetime,
             recorded_at: datetime) -> None:
        self._guard(("active",))
        self._trigger(self.PutOnHold, by, occurred_at, recorded_at, reason=reason)

    def resume(self, *, by: dict[str, Any], occurred_at: datetime, recorded_at: datetime,
               reason: str | None = None) -> None:
        self._guard(("on-hold",))
        self._trigger(self.Resumed, by, occurred_at, recorded_at, reason=reason)

    def withdraw(self, *, by: dict[str, Any], reason: str, occurred_at: datetime,
                 recorded_at: datetime) -> None:
        self._guard(("proposed",))
        self._trigger(self.Withdrawn, by, occurred_at, recorded_at, reason=reason)

    def _guard(self, allowed: tuple[str, ...]) -> None:
        _require(self.status in allowed, f"goal {self.id} is {self.status}")

    def _trigger(self, event_class: type[BaselineGoal.Event], by: dict[str, Any],
                 occurred_at: datetime, recorded_at: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=recorded_at, actor=by,
                           occurred_at=occurred_at, **fields)


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


CACHED_GOALS = 8192
"""Goals the baseline's aggregate cache holds: goalflow's ``RECENT_GOALS``."""

LIBRARY_SETTINGS = {
    # eventsourcing's aggregate cache, as goalflow's own: the goals saved last are kept
    # (Application._record puts them in the cache) and handed over as they are, neither
    # fast-forwarded (no query for newer events) nor deep-copied (goalflow takes its goal
    # out of its cache and keeps it again only once recorded; see stores.py's notes).
    "AGGREGATE_CACHE_MAXSIZE": str(CACHED_GOALS),
    "AGGREGATE_CACHE_FASTFORWARD": "n",
    "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    "TRANSCODER_TOPIC": get_topic(OrjsonTranscoder),
}
"""What every baseline application is configured with, before the store's settings."""

UNCACHED = {"AGGREGATE_CACHE_MAXSIZE": ""}
"""Settings for a baseline that reads every goal from the store (goal load, long goal,
prove: goalflow's ``Goals.get`` reads the store too, never its cache of recent goals)."""


class BaselineApp(Application[UUID]):
    """A plain eventsourcing application: default mapper, JSON transcoding by orjson, the
    aggregate cache on (``LIBRARY_SETTINGS``)."""

    name = "baseline"
    env: ClassVar[dict[str, str]] = LIBRARY_SETTINGS

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Application's own, minus os.environ: only the env given configures the store.
        values = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        values.update(env or {})
        return Environment(name, values)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


class SnapshottingBaselineApp(BaselineApp):
    """The baseline with eventsourcing's snapshotting every 100 events (the long goal only)."""

    name = "baseline_snapshotting"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {BaselineGoal: 100}


# -- commands as data ----------------------------------------------------------------------


def parse(data: dict[str, Any]) -> tuple[str, UUID, dict[str, Any]]:
    """(command, goal id, keyword arguments) from a command as ``goalflow apply`` reads it."""
    fields = dict(data)
    command = fields.pop("command")
    goal_id = UUID(fields.pop("goal_id"))
    fields.pop("command_id", None)
    for key in ("by", "witnessed_by"):
        if fields.get(key) is not None:
            actor = fields[key]
            fields[key] = {"id": actor["id"], "role": actor["role"],
                           "on_behalf_of": actor.get("on_behalf_of")}
    if "subject" in fields:
        subject = fields["subject"]
        fields["subject"] = {"kind": subject["kind"], "id": subject["id"],
                             "members": list(subject.get("members", []))}
    if "measures" in fields:
        fields["measures"] = [{"name": m["name"], "baseline": m.get("baseline"),
                               "target": m.get("target"),
                               "direction": m.get("direction", "decrease")}
                              for m in fields["measures"]]
    for key in ("target_date", "next_review_on"):
        if fields.get(key) is not None:
            fields[key] = date.fromisoformat(fields[key])
    return command, goal_id, fields


def decide(goal: BaselineGoal | None, command: str, goal_id: UUID, args: dict[str, Any],
           occurred_at: datetime, recorded_at: datetime) -> BaselineGoal:
    if command == "draft":
        return BaselineGoal.draft(goal_id=goal_id, occurred_at=occurred_at,
                                  recorded_at=recorded_at, **args)
    assert goal is not None
    getattr(goal, command)(occurred_at=occurred_at, recorded_at=recorded_at, **args)
    return goal


def execute(app: BaselineApp, command: str, goal_id: UUID, args: dict[str, Any]) -> None:
    """One command in its own transaction: get -> change -> save."""
    now = datetime.now(UTC)
    goal = None if command == "draft" else app.repository.get(goal_id)
    app.save(decide(goal, command, goal_id, args, now, now))


def append_file(app: BaselineApp, path: Path, batch: int) -> int:
    """The baseline's bulk append: the JSON Lines file, ``batch`` events per transaction.

    Each command is parsed (orjson), its goal got from the store (or from the batch not yet
    saved), changed, and the batch saved in one transaction once it holds ``batch`` events.
    """
    pending: dict[UUID, BaselineGoal] = {}
    events = done = 0
    with path.open("rb") as source:
        for line in source:
            command, goal_id, args = parse(orjson.loads(line))
            now = datetime.now(UTC)
            goal = pending.get(goal_id)
            if goal is None and command != "draft":
                goal = app.repository.get(goal_id)
            pending[goal_id] = decide(goal, command, goal_id, args, now, now)
            events += 1
            done += 1
            if events >= batch:
                app.save(*pending.values())
                pending.clear()
                events = 0
    if pending:
        app.save(*pending.values())
    return done


def prefill(app: BaselineApp, lifecycle: list[dict[str, Any]], start: datetime,
            *, per_transaction: int | None = None) -> int:
    """Record one goal's whole lifecycle, a minute per command from ``start``.

    All its events in one transaction, or ``per_transaction`` at a time.
    """
    goal: BaselineGoal | None = None
    pending = 0
    for k, data in enumerate(lifecycle):
        command, goal_id, args = parse(data)
        when = start + timedelta(minutes=k)
        goal = decide(goal, command, goal_id, args, when, when)
        pending += 1
        if per_transaction is not None and pending >= per_transaction:
            app.save(goal)
            pending = 0
    if pending and goal is not None:
        app.save(goal)
    return len(lifecycle)

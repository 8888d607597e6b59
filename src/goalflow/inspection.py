"""Looking at a store: the log in order, one goal's history, diffs, statistics.

Everything here reads; nothing writes. Events are shown in one JSON shape
(:func:`event_record`) wherever they appear: ``goalflow events``, ``history``
and ``export`` alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import attrs

from goalflow.application import Goals, parse_goal_id
from goalflow.domain.goal import Goal
from goalflow.domain.plain import plain
from goalflow.errors import ErasedEvent, GoalErased, GoalNotFound, UnknownEvent, UnreadableEvent
from goalflow.persistence.codec import loads

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "actor", "occurred_at",
             "originator_topic"}


@attrs.frozen
class RawEvent:
    """A stored event this goalflow cannot decode, as it is in the log.

    ``unknown``: of a type or schema version this goalflow does not know (written by a
    newer one); otherwise damaged. ``problem`` says which, in words.
    """

    goal_id: UUID
    version: int
    topic: str
    state: bytes
    problem: UnreadableEvent

    @property
    def unknown(self) -> bool:
        return isinstance(self.problem, UnknownEvent)

    @property
    def erased(self) -> bool:
        """Its subject was forgotten: only its metadata is left."""
        return isinstance(self.problem, ErasedEvent)


class Entry(NamedTuple):
    """An event in the log: its position, the event (or raw, if it cannot be read), and
    the schema version it was stored in."""

    position: int
    event: Goal.Event | RawEvent
    schema_version: int


def event_record(position: int, event: Goal.Event | RawEvent, schema_version: int = 1
                 ) -> dict[str, Any]:
    """An event as JSON-ready data: where it stands, what it is, who, when, and its fields.

    An event that cannot be read is shown raw: ``unknown`` (written by a newer goalflow)
    or ``unreadable`` (damaged), with the reason and its stored state as it is.
    """
    if isinstance(event, RawEvent) and event.erased:
        return {
            "position": position, "goal_id": str(event.goal_id), "version": event.version,
            "type": event.topic.rpartition(".")[2] or event.topic, "schema_version": None,
            "unknown": False, "unreadable": False, "erased": True,
            "problem": "erased (its subject was forgotten)", "topic": event.topic,
            "state": None,
        }
    if isinstance(event, RawEvent):
        try:
            state: Any = loads(event.state)
        except ValueError:
            state = event.state.decode(errors="replace")
        return {
            "position": position, "goal_id": str(event.goal_id), "version": event.version,
            "type": event.topic.rpartition(".")[2] or event.topic,
            "schema_version": event.problem.class_version
            if isinstance(event.problem, UnknownEvent) else None,
            "unknown": event.unknown, "unreadable": not event.unknown,
            "problem": event.problem.message, "topic": event.topic, "state": state,
        }
    return {
        "position": position,
        "goal_id": str(event.originator_id),
        "version": event.originator_version,
        "type": type(event).__name__,
        "schema_version": schema_version,
        "recorded_at": event.timestamp.isoformat(),
        "occurred_at": event.occurred_at.isoformat(),
        "actor": plain(event.actor),
        "data": plain({k: v for k, v in vars(event).items() if k not in _ENVELOPE}),
    }


def log(
    goals: Goals,
    *,
    after: int = 0,
    limit: int | None = None,
    goal_ids: Sequence[UUID] | None = None,
    types: Sequence[str] = (),
    keep: Callable[[Goal.Event], bool] | None = None,
    batch: int = 1000,
    upto: int | None = None,
    newest_first: bool = False,
) -> Iterator[Entry]:
    """The global log in order from ``after`` (to ``upto``; ``newest_first``: the other
    way), filtered.

    An event that cannot be read does not stop the log: it comes as a :class:`RawEvent`
    (and passes ``keep``, which cannot judge it), so the rest can still be inspected.
    """
    store = goals.store
    topics = [f"goalflow:Goal.{t}" for t in types]
    shown = 0
    for notification in store.scan(after=after, upto=upto, goal_ids=goal_ids, topics=topics,
                                   page=batch, newest_first=newest_first):
        if limit is not None and shown >= limit:
            return
        try:
            event, schema_version = store.decode_stored(notification)
        except UnreadableEvent as e:
            raw = RawEvent(e.goal_id, notification.originator_version,
                           notification.topic, notification.state, e)
            yield Entry(notification.id, raw, 0)
            shown += 1
            continue
        if keep is None or keep(event):
            yield Entry(notification.id, event, schema_version)
            shown += 1


def history(goals: Goals, goal_id: UUID | str) -> list[Entry]:
    """Every event of one goal with its position in the log, oldest first.

    Events of a type or version this goalflow does not know are listed raw; a damaged
    one is an error naming its position (the goal's history cannot be trusted past it).
    """
    goal = parse_goal_id(goal_id)
    events = list(log(goals, goal_ids=[goal]))
    if not events:
        raise GoalNotFound(goal_id)
    if any((isinstance(e.event, RawEvent) and e.event.erased)
           or isinstance(e.event, Goal.SubjectForgotten) for e in events):
        raise GoalErased(goal, goals.store.erasure(goal))
    for entry in events:
        if isinstance(entry.event, RawEvent) and not entry.event.unknown:
            raise entry.event.problem
    return events


def between(since: datetime | None, until: datetime | None, actor: str | None, *,
            occurred_since: datetime | None = None, occurred_until: datetime | None = None
            ) -> Callable[[Goal.Event], bool] | None:
    """A filter on recorded time, clinical (occurred) time and actor, or None when there
    is nothing to filter."""
    if all(bound is None for bound in (since, until, actor, occurred_since, occurred_until)):
        return None

    def keep(event: Goal.Event) -> bool:
        return ((since is None or event.timestamp >= since)
                and (until is None or event.timestamp <= until)
                and (occurred_since is None or event.occurred_at >= occurred_since)
                and (occurred_until is None or event.occurred_at <= occurred_until)
                and (actor is None or event.actor.id == actor))

    return keep


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two ``Goal.to_dict()`` views, field by field.

    Steps are matched by step id and measures by name, so a reworded step shows
    as that step changing rather than as a whole new list.
    """
    changes: list[dict[str, Any]] = []
    for field in before.keys() | after.keys():
        old, new = before.get(field), after.get(field)
        if old == new or field in ("version", "modified_on"):
            continue
        if isinstance(old, list) and isinstance(new, list) and new[:len(old)] == old:
            changes.append({"field": f"{field} (added)", "before": None,
                            "after": new[len(old):]})
        elif field in ("steps", "measures"):
            key = "step_id" if field == "steps" else "name"
            olds = {item[key]: item for item in old or []}
            news = {item[key]: item for item in new or []}
            for name in [*olds, *(n for n in news if n not in olds)]:
                if olds.get(name) != news.get(name):
                    changes.append({"field": f"{field}.{name}", "before": olds.get(name),
                                    "after": news.get(name)})
        else:
            changes.append({"field": field, "before": old, "after": new})
    order = list(after) + [k for k in before if k not in after]
    changes.sort(key=lambda c: (order.index(c["field"].split(".")[0].split(" ")[0]),
                                c["field"]))
    return changes


def stats(goals: Goals) -> dict[str, Any]:
    """Events by type, goals by status, subjects, size, first and last recorded time."""
    store = goals.store
    with store.recorder.transaction(commit=False) as tx:
        events_table = tx.table(store.events_table)
        rows = tx.execute(f"SELECT topic, COUNT(*) FROM {events_table} GROUP BY topic"
                          ).fetchall()
        first = store.notifications(tx, after=0, limit=1)
        head = store.head(tx)
        last = store.notifications(tx, after=head - 1, limit=1) if head else []
        size = store.size(tx)
    index = goals.goal_index()
    by_status = Counter(goal.status for goal in index)
    return {
        "events": sum(count for _, count in rows),
        "events_by_type": {topic.rpartition(".")[2]: count for topic, count in sorted(rows)},
        "goals": len(index),
        "goals_by_status": dict(sorted(by_status.items())),
        "subjects": len({(g.subject_kind, g.subject_id) for g in index}),
        "first_recorded_at": _recorded_at(store, first),
        "last_recorded_at": _recorded_at(store, last),
        "store_bytes": size,
        "store": str(store.url),
    }


def _recorded_at(store: Any, notifications: Sequence[Any]) -> str | None:
    """When the (one) event was recorded; None if there is none, or it cannot be read."""
    try:
        return store.decode(notifications[0]).timestamp.isoformat() if notifications else None
    except UnreadableEvent:
        return None

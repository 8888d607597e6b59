"""Serialisation of events and snapshots: the one place where bytes are made and read.

Stored state is plain JSON written by orjson with sorted keys, so an event's
stored bytes are canonical (the same event always gives the same bytes) and
readable by any JSON tool: UUIDs, dates and times are ISO strings, value
objects are objects. Reading restores every type exactly, driven by the event
classes' own annotations: a UUID stays a UUID, a date a date, an aware
datetime an aware datetime, an attrs value the attrs value.

Values are restored without re-running their validators: a stored event is a
fact, and tightening a rule later must never make the history unreadable.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any, Final, Literal, Union, cast
from uuid import UUID

import attrs
import orjson
from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from goalflow.crypto.sealing import KeyDestroyed, Sealer
from goalflow.domain.goal import EVENT_CLASSES, REVISABLE_FIELDS, Goal
from goalflow.domain.values import FieldChange
from goalflow.errors import ErasedEvent, UnknownEvent, UnreadableEvent, first_line
from goalflow.version import goalflow_version

Decoder = Callable[[Any], Any]

# orjson writes datetimes itself but rounds a UTC offset to whole minutes; passing
# them through to isoformat() keeps offsets like +00:19:32 exact (and gives the
# same bytes as orjson for every whole-minute offset).
_DUMP_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _default(value: Any) -> Any:
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        return {f.name: getattr(value, f.name) for f in fields}
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes for a value (sorted keys, ISO dates, attrs as objects)."""
    return orjson.dumps(value, default=_default, option=_DUMP_OPTIONS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


class OrjsonTranscoder(Transcoder):
    """Plain JSON in and out; the typed work is the mapper's."""

    def encode(self, obj: Any) -> bytes:
        return dumps(obj)

    def decode(self, data: bytes) -> Any:
        return loads(data)


class GoalflowMapper(Mapper[UUID]):
    """Turns domain events into stored events and back, restoring exact types."""

    def __init__(self) -> None:
        super().__init__(transcoder=OrjsonTranscoder())
        self.written_by: str | None = None  # the goalflow that last wrote the store
        # An encrypted store's: seals each state with its subject's key (goalflow.crypto).
        self.sealer: Sealer | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(domain_event.__dict__)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = dumps(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        topic = get_topic(type(domain_event))
        if self.sealer is not None:
            data = self.sealer.seal(originator_id, originator_version, topic, data)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        originator_id = stored_event.originator_id
        return self.decode_event(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            stored_event.originator_version, stored_event.topic, stored_event.state)

    def decode_event(self, originator_id: UUID, originator_version: int, topic: str,
                     data: bytes, opened: bool = False) -> Any:
        """The domain event stored as ``data`` under ``topic``, of that goal and version."""
        return self.decode_stored(originator_id, originator_version, topic, data, opened)[0]

    def decode_stored(self, originator_id: UUID, originator_version: int, topic: str,
                      data: bytes, opened: bool = False) -> tuple[Any, int]:
        """The domain event and the schema version it was stored in.

        ``opened``: ``data`` is an encrypted store's state already opened by its sealer
        (:meth:`Sealer.open_goal`), not as stored.

        The one place stored events become objects: the state is upcast from its stored
        version to the class's current one here, so every reader sees the current shape.
        Raises :class:`UnknownEvent` for a type or version this goalflow does not know
        (written by a newer one), :class:`UnreadableEvent` for anything else it cannot read.
        """
        reader = _readers.get(topic) or _reader(topic)  # (None, 0, None): an unknown topic
        cls, class_version, decode = reader
        try:
            if self.sealer is not None and not opened:
                data = self.sealer.unseal(originator_id, originator_version, topic, data)
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state: dict[str, Any] = orjson.loads(data)
            stored_version = state.pop("class_version", 1)
            if cls is Goal.Snapshot:  # versioned by the goal's state within
                stored_version = state["state"].get("class_version", 1)
            if type(stored_version) is not int:  # (nor a bool)
                raise ValueError(f"class_version {stored_version!r} is not a number")
        except KeyDestroyed as e:
            raise ErasedEvent(
                f"stored event {topic} of {_where(originator_id, originator_version)} is"
                f" erased: {e}", goal_id=originator_id, version=originator_version,
                topic=topic, key_id=e.key_id) from None
        except Exception as e:
            raise UnreadableEvent(
                f"cannot read stored event {topic} of"
                f" {_where(originator_id, originator_version)}: {first_line(e)}",
                goal_id=originator_id, version=originator_version, topic=topic) from e
        if cls is None or stored_version > class_version:
            known = "" if cls is None else f" (it knows up to version {class_version})"
            ours = goalflow_version()
            if self.written_by not in (None, ours):
                newer = (f"a newer goalflow (the store was last written by goalflow"
                         f" {self.written_by}: use that or later)")
            else:
                newer = f"a newer goalflow than {ours}"
            raise UnknownEvent(
                f"stored event {topic} version {stored_version} of"
                f" {_where(originator_id, originator_version)} is not known to"
                f" this goalflow{known}: it was written by {newer}",
                goal_id=originator_id, version=originator_version, topic=topic,
                class_version=stored_version, written_by=self.written_by)
        try:
            if stored_version != class_version and cls is not Goal.Snapshot:
                # (a snapshot's goal state is versioned within, and an old one is stale)
                for version in range(stored_version, class_version):
                    getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            state = decode(state)  # type: ignore[misc]
        except StaleSnapshot:
            raise
        except Exception as e:
            raise UnreadableEvent(
                f"cannot read stored event {topic} of"
                f" {_where(originator_id, originator_version)}: {first_line(e)}",
                goal_id=originator_id, version=originator_version, topic=topic) from e
        state["originator_id"] = originator_id
        state["originator_version"] = originator_version
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event, stored_version


def _where(goal_id: UUID, version: int) -> str:
    return f"goal {goal_id} version {version}"


_Reader = tuple[type | None, int, Callable[[dict[str, Any]], dict[str, Any]] | None]
_readers: dict[str, _Reader] = {}
"""Each known topic's class, the schema version it writes and its state's decoder, looked
up once (a goal load decodes tens of events: scripts/bench, "goal load")."""


def _reader(topic: str) -> _Reader:
    cls = KNOWN_TOPICS.get(topic)
    if cls is None:
        return (None, 0, None)  # (not kept: the table holds only known topics)
    reader = _readers[topic] = (cls, _class_version(cls), event_decoder(cls))
    return reader


def _class_version(cls: type) -> int:
    """The schema version a class writes (a snapshot's: its aggregate's)."""
    return int(getattr(Goal if cls is Goal.Snapshot else cls, "class_version", 1))


class StaleSnapshot(Exception):
    """A snapshot of an older version of the aggregate's state: ignored, and the
    aggregate is replayed from its events instead (snapshots are a cache)."""


# Stored topics are read only from this table: a topic naming any other module is not
# imported (eventsourcing's resolve_topic would), it is an unknown event.
KNOWN_TOPICS: Final[dict[str, type]] = {
    cls.TOPIC: cls for cls in (*EVENT_CLASSES, Goal.Snapshot)  # type: ignore[attr-defined,misc]
}
_AGGREGATES: Final[dict[str, type]] = {Goal.TOPIC: Goal}


@cache
def event_decoder(cls: type) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function restoring the typed fields of a stored event's state."""
    hints = typing.get_type_hints(cls)
    decode = _fields_decoder({
        f.name: hints[f.name]
        for f in dataclasses.fields(cls)
        if f.name not in ("originator_id", "originator_version")
    })
    if not issubclass(cls, CanSnapshotAggregate):
        return decode

    def decode_snapshot(state: dict[str, Any]) -> dict[str, Any]:
        # A snapshot's state is its aggregate's __dict__, typed by the annotations
        # of the aggregate class that the snapshot's "topic" names.
        restored = decode(state)
        aggregate_class = _AGGREGATES.get(restored["topic"])
        if aggregate_class is None:
            raise ValueError(f"a snapshot of {restored['topic']!r}, not of a goal")
        taken_at = restored["state"].get("class_version", 1)
        if taken_at != getattr(aggregate_class, "class_version", 1):
            raise StaleSnapshot(taken_at)
        restored["state"] = aggregate_state_decoder(aggregate_class)(restored["state"])
        return restored

    return decode_snapshot


def _fields_decoder(hints: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function restoring, in place, the typed fields of freshly parsed JSON (``hints``:
    each field's type), written out for those fields whose JSON form is not already their
    value: it runs once per event of every goal load."""
    namespace: dict[str, Any] = {}
    lines = ["def decode(state):"]
    for k, (name, hint) in enumerate(hints.items()):
        if (field_decoder := decoder_for(hint)) is not _identity:
            namespace[f"decode_{k}"] = field_decoder
            lines += [f"    if {name!r} in state:",
                      f"        state[{name!r}] = decode_{k}(state[{name!r}])"]
    lines.append("    return state")
    exec(compile("\n".join(lines), "<goalflow decoder of an event's fields>", "exec"),
         namespace)
    return cast(Callable[[dict[str, Any]], dict[str, Any]], namespace["decode"])


@cache
def aggregate_state_decoder(cls: type) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function restoring an aggregate's attributes from a snapshot's state."""
    hints = typing.get_type_hints(cls)
    own = vars(cls).get("__annotations__", {})
    return _fields_decoder({
        name: hints[name] for name in own if typing.get_origin(hints[name]) is not typing.ClassVar
    })


def _identity(value: Any) -> Any:
    return value


@cache
def decoder_for(hint: Any) -> Decoder:
    """A function turning the JSON form of a value of type ``hint`` back into it."""
    if hint in (str, int, float, bool, Any, type(None)):
        return _identity
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if hint is UUID:
        return UUID
    if hint is FieldChange:
        return _decode_field_change
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        return _identity
    if origin in (Union, types.UnionType):
        others = tuple(a for a in args if a is not type(None))
        if all(a in (str, int, float, bool) for a in others):
            return _identity
        if len(others) != 1:
            raise TypeError(f"cannot decode the union {hint}")
        inner = decoder_for(others[0])
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        item = decoder_for(args[0])
        if item is _identity:
            return tuple
        return lambda v: tuple(item(i) for i in v)
    if origin is dict:
        value_decoder = decoder_for(args[1])
        return lambda v: {k: value_decoder(i) for k, i in v.items()}
    if attrs.has(hint):
        return _attrs_decoder(hint)
    raise TypeError(f"no decoder for {hint!r}")


def _attrs_decoder(cls: type) -> Decoder:
    """A function making a value of the attrs class ``cls`` from its JSON object, written
    out for the class (as attrs writes its ``__init__``): a goal load makes one or two per
    event (an actor, a reading), and a loop over the fields cost half as much again.

    A field missing from the stored object reads as its default (a field added after the
    value was stored); one without a default is a ValueError naming it."""
    attrs.resolve_types(cls)
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__, "set": object.__setattr__}
    lines = ["def decode(data):", "    value = new(cls)"]
    for k, field in enumerate(attrs.fields(cls)):
        name, field_decoder = field.name, decoder_for(field.type)
        read = f"data[{name!r}]"
        if field_decoder is not _identity:
            namespace[f"decode_{k}"] = field_decoder
            read = f"decode_{k}({read})"
        if field.default is attrs.NOTHING:
            missing = repr(f"{cls.__name__} has no {name}")
            lines += [f"    if {name!r} not in data:", f"        raise ValueError({missing})",
                      f"    set(value, {name!r}, {read})"]
        else:
            namespace[f"default_{k}"] = field.default
            lines.append(f"    set(value, {name!r}, {read} if {name!r} in data else default_{k})")
    lines.append("    return value")
    exec(compile("\n".join(lines), f"<goalflow decoder of {cls.__qualname__}>", "exec"),
         namespace)
    return cast(Decoder, namespace["decode"])


def _decode_field_change(data: dict[str, Any]) -> FieldChange:
    decode = decoder_for(REVISABLE_FIELDS[data["field"]])
    return FieldChange(field=data["field"], before=decode(data["before"]),
                       after=decode(data["after"]))

"""The stored schema of the goal's events: each event type's fields, as words, by version.

``describe()`` says, for every stored event type (and the goal's snapshots), the fields
its stored form has and their types, value objects spelled out field by field. The
schema lock (``events.lock.json`` beside this module, written by ``scripts/lock-events``)
keeps that description for every version ever stored; a test compares the code with it,
so a change to the public record cannot land without a new version, an upcaster and
fixtures (README, "Changing an event").
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

import attrs

from goalflow.domain.goal import EVENT_CLASSES, REVISABLE_FIELDS, Goal
from goalflow.domain.values import FieldChange

_ENVELOPE = ("originator_id", "originator_version")


def stored_types() -> dict[str, tuple[str, int, dict[str, str]]]:
    """Each stored type's name: (topic, current class_version, field descriptions)."""
    described = {
        cls.__name__: (cls.TOPIC, cls.class_version, event_fields(cls))
        for cls in EVENT_CLASSES
    }
    described["Snapshot"] = (Goal.Snapshot.TOPIC, Goal.class_version, snapshot_fields())
    return described


def event_fields(cls: type) -> dict[str, str]:
    hints = typing.get_type_hints(cls)
    return {f.name: describe(hints[f.name]) for f in dataclasses.fields(cls)
            if f.name not in _ENVELOPE}


def snapshot_fields() -> dict[str, str]:
    """A snapshot's state: the goal's declared attributes (what the codec restores)."""
    hints = typing.get_type_hints(Goal)
    return {name: describe(hints[name]) for name in vars(Goal)["__annotations__"]
            if typing.get_origin(hints[name]) is not typing.ClassVar}


def describe(hint: Any) -> str:
    """A type in words, value objects with their fields (and defaults) spelled out."""
    if hint is type(None):
        return "None"
    if hint is Any:
        return "Any"
    if hint is FieldChange:
        kinds = ", ".join(f"{name}: {describe(kind)}" for name, kind in REVISABLE_FIELDS.items())
        return f"FieldChange{{field, before and after as one of {{{kinds}}}}}"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in (Union, types.UnionType):
        return " | ".join(describe(a) for a in args)
    if origin is tuple:
        return f"tuple[{describe(args[0])}, ...]"
    if origin is dict:
        return f"dict[{describe(args[0])}, {describe(args[1])}]"
    if attrs.has(hint):
        attrs.resolve_types(hint)
        fields = []
        for f in attrs.fields(hint):
            default = "" if f.default is attrs.NOTHING else f" = {f.default!r}"
            fields.append(f"{f.name}: {describe(f.type)}{default}")
        return f"{hint.__name__}{{{', '.join(fields)}}}"
    if isinstance(hint, type):
        return hint.__name__
    raise TypeError(f"cannot describe {hint!r}")

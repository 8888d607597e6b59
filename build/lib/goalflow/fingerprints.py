"""Command fingerprints: how a retried command is told from a different one, rule by rule.

A command that carries a ``command_id`` is stored with a fingerprint of its content; a
retry with the same id must give the same fingerprint, or it is refused as
:class:`~goalflow.errors.CommandIdReused`. Fingerprints outlive upgrades, so each stored
record says which rule made it, and every rule is kept:

- **Rule 1** (goalflow 0.1): every argument of the command, defaults filled in, value
  objects with every field. Adding an optional argument or a value-object field changed
  it, so a retry sent before an upgrade failed after it. Kept only to recognise records
  made by it, with the arguments and fields of that time (``_RULE_1_*``).
- **Rule 2** (from goalflow 0.2): what was given. Arguments equal to their default, and
  value-object fields equal to theirs, are left out, so adding an optional argument or
  field (with a default) leaves every earlier command's fingerprint as it was.

Both hash canonical JSON (:func:`goalflow.persistence.codec.dumps`) of the command, the
goal id given, ``occurred_at`` (with its offset), ``expected_version`` and the arguments.
``tests/unit/test_fingerprints.py`` pins digests of both rules.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs
import orjson

from goalflow.domain.values import Actor, Measure, Subject
from goalflow.persistence.codec import dumps

CURRENT_RULE: Final = 2

# The value objects' fields when rule 1 was in use: a field added since is not in rule 1.
_RULE_1_FIELDS: Final[dict[type, tuple[str, ...]]] = {
    Actor: ("id", "role", "on_behalf_of"),
    Subject: ("kind", "id", "members"),
    Measure: ("name", "baseline", "target", "direction"),
}
# Command arguments added since rule 1 was retired, by command (none yet): rule 1
# never saw them, so they are left out of it.
_ADDED_AFTER_RULE_1: Final[dict[str, frozenset[str]]] = {}


def fingerprint(command: str, goal_id: UUID | None, occurred_at: datetime | None,
                expected_version: int | None, args: Mapping[str, Any],
                defaults: Mapping[str, Any], *, rule: int = CURRENT_RULE) -> str:
    """The fingerprint of a command under ``rule``.

    ``args`` are the command's own arguments with defaults filled in (as the service
    normalises them), ``defaults`` each argument's default, normalised the same way
    (``inspect.Parameter.empty`` for a required one). Raises ``TypeError`` for a value
    that cannot be stored.
    """
    if rule == 1:
        left_out = _ADDED_AFTER_RULE_1.get(command, frozenset())
        kept = {name: value for name, value in args.items() if name not in left_out}
        return _digest(command, goal_id, occurred_at, expected_version, kept, _rule_1_value)
    if rule == 2:
        given = {name: value for name, value in args.items()
                 if not _is_default(value, defaults.get(name, inspect.Parameter.empty))}
        return _digest(command, goal_id, occurred_at, expected_version, given, _given_value)
    raise ValueError(f"no fingerprint rule {rule}")


def _digest(command: str, goal_id: UUID | None, occurred_at: datetime | None,
            expected_version: int | None, args: dict[str, Any], values: Any) -> str:
    content = {"command": command, "goal_id": goal_id, "occurred_at": occurred_at,
               "expected_version": expected_version, "args": args}
    # Value objects go through ``values`` first; orjson then writes everything else as
    # the stored events' canonical JSON does.
    return hashlib.sha256(dumps(_convert(content, values))).hexdigest()


def _convert(value: Any, values: Any) -> Any:
    if attrs.has(type(value)):
        return {name: _convert(v, values) for name, v in values(value).items()}
    if isinstance(value, dict):
        return {k: _convert(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_convert(v, values) for v in value]
    return value


def _rule_1_value(value: Any) -> dict[str, Any]:
    names = _RULE_1_FIELDS.get(type(value)) or tuple(f.name for f in attrs.fields(type(value)))
    return {name: getattr(value, name) for name in names}


def _given_value(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in attrs.fields(type(value))
            if f.default is attrs.NOTHING or not _same(getattr(value, f.name), f.default)}


def _is_default(value: Any, default: Any) -> bool:
    return default is not inspect.Parameter.empty and _same(value, default)


def _same(value: Any, default: Any) -> bool:
    """Equal in stored form: () and [] are the same, 1 and 1.0 and True are not."""
    if type(value) is not type(default) and not (
            isinstance(value, list | tuple) and isinstance(default, list | tuple)):
        return False
    try:
        return bool(orjson.dumps(value) == orjson.dumps(default))
    except TypeError:
        return False

"""Commands as data: one JSON object per command, as ``goalflow apply`` reads them.

Field names are the service's keyword arguments. Values are JSON: ``by``,
``witnessed_by`` and ``subject`` are objects, ``measures`` a list of objects,
dates and times ISO strings (times with a UTC offset). Everything else is
passed through for the domain to check, so an error names the field either way.

    {"command": "complete_step", "goal_id": "...", "step_id": "s2",
     "by": {"id": "client-7", "role": "client"}, "command_id": "ehr-8812"}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import IO, Any

import attrs
import orjson

from goalflow.application import COMMANDS
from goalflow.domain.values import Actor, Measure, Subject, brief
from goalflow.errors import GoalflowError, InvalidCommand

_LONG_NUMBER = re.compile(rb"\d{20}")


@attrs.frozen
class Line:
    """One command read from a JSON Lines source, with its line number."""

    number: int
    command: str
    arguments: dict[str, Any]

    @property
    def command_id(self) -> str | None:
        value = self.arguments.get("command_id")
        return value if isinstance(value, str) else None


class LineError(GoalflowError, ValueError):
    """A line of a commands file is bad; the message starts with ``line N:``."""

    def __init__(self, number: int, problem: str) -> None:
        super().__init__(f"line {number}: {problem}")
        self.number = number
        self.problem = problem


def parse_command(data: object) -> tuple[str, dict[str, Any]]:
    """Turn one decoded JSON object into a command name and typed keyword arguments."""
    if not isinstance(data, dict):
        raise InvalidCommand(f"a command is a JSON object, not {_json_kind(data)}")
    fields = dict(data)
    command = fields.pop("command", None)
    if command is None:
        raise InvalidCommand("missing field 'command'", field="command")
    if command not in COMMANDS:
        raise InvalidCommand(
            f"unknown command {brief(command)} (known: {', '.join(COMMANDS)})", field="command"
        )
    return command, {name: _convert(name, value) for name, value in fields.items()}


def read_lines(source: IO[bytes]) -> Iterator[Line]:
    """Parse a JSON Lines source lazily; blank lines are skipped."""
    for number, raw in enumerate(source, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise LineError(number, f"not valid UTF-8 (byte {e.start})") from None
        if not text.strip():
            continue
        try:
            data = orjson.loads(text)
            if _LONG_NUMBER.search(raw):
                # orjson reads whole numbers beyond 64 bits as floats; the standard
                # library keeps them whole, so the range check refuses them by name.
                data = json.loads(text)
        except (orjson.JSONDecodeError, ValueError, RecursionError) as e:
            raise LineError(number, f"not valid JSON: {brief(str(e), 200)}") from None
        try:
            command, arguments = parse_command(data)
        except GoalflowError as e:
            raise LineError(number, str(e)) from None
        yield Line(number, command, arguments)


def _convert(name: str, value: Any) -> Any:
    converter = _CONVERTERS.get(name)
    if converter is None or value is None:
        return value
    try:
        return converter(value)
    except GoalflowError:
        raise
    except (TypeError, ValueError) as e:
        raise InvalidCommand(f"{name}: {e}", field=name) from None


def _object(name: str, value: Any, cls: type, fields: tuple[str, ...]) -> Any:
    if not isinstance(value, dict):
        raise InvalidCommand(f"{name} must be an object with {', '.join(fields)}, not"
                             f" {_json_kind(value)}", field=name)
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise InvalidCommand(f"{name} has an unknown field {brief(unknown[0])}",
                             field=f"{name}.{unknown[0]}")
    required = [f.name for f in attrs.fields(cls)
                if f.default is attrs.NOTHING and f.name not in value]
    if required:
        raise InvalidCommand(f"{name} needs {brief(required[0])}", field=f"{name}.{required[0]}")
    try:
        return cls(**value)
    except InvalidCommand as e:
        # An Actor names its fields as "by.*"; a witness is the same kind of value.
        if name == "by" or not (e.field or "").startswith("by."):
            raise
        field = f"{name}.{e.field.removeprefix('by.')}"  # type: ignore[union-attr]
        raise InvalidCommand(e.message.replace(e.field, field, 1),  # type: ignore[arg-type]
                             field=field) from None


def _actor(name: str) -> Callable[[Any], Actor]:
    return lambda value: _object(name, value, Actor, ("id", "role", "on_behalf_of"))


def _subject(value: Any) -> Subject:
    if isinstance(value, dict) and isinstance(value.get("members"), list):
        value = {**value, "members": tuple(value["members"])}
    return _object("subject", value, Subject, ("kind", "id", "members"))  # type: ignore[no-any-return]


def _measures(value: Any) -> list[Measure]:
    if not isinstance(value, list):
        raise InvalidCommand(f"measures must be a list, not {_json_kind(value)}",
                             field="measures")
    return [_object("measures[]", item, Measure, _MEASURE_FIELDS) for item in value]


_MEASURE_FIELDS = tuple(f.name for f in attrs.fields(Measure))


def _date(name: str) -> Callable[[Any], date]:
    def convert(value: Any) -> date:
        if not isinstance(value, str):
            raise InvalidCommand(f"{name} must be an ISO date string (2026-03-01), not"
                                 f" {_json_kind(value)}", field=name)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidCommand(f"{name} {brief(value)} is not an ISO date (2026-03-01)",
                                 field=name) from None

    return convert


def parse_datetime(name: str, value: Any) -> datetime:
    """An ISO datetime with a UTC offset; naive times are refused."""
    if not isinstance(value, str):
        raise InvalidCommand(f"{name} must be an ISO datetime string, not {_json_kind(value)}",
                             field=name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidCommand(
            f"{name} {brief(value)} is not an ISO datetime (2026-03-01T09:30:00+01:00)", field=name
        ) from None
    if moment.tzinfo is None:
        raise InvalidCommand(f"{name} {brief(value)} needs a UTC offset, e.g. +00:00", field=name)
    return moment


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "by": _actor("by"),
    "witnessed_by": _actor("witnessed_by"),
    "subject": _subject,
    "measures": _measures,
    "target_date": _date("target_date"),
    "next_review_on": _date("next_review_on"),
    "occurred_at": lambda value: parse_datetime("occurred_at", value),
}

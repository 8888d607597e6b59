"""Options and arguments several commands share, and what their values mean."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import click

from goalflow import zones
from goalflow.application import Goals, parse_goal_id
from goalflow.cli._context import Context
from goalflow.domain.values import check_date
from goalflow.errors import GoalNotFound, InvalidCommand
from goalflow.persistence.replicas import MAX_WAIT, WAIT_TIMEOUT
from goalflow.persistence.urls import DEFAULT_URL, ENV_VAR

F = TypeVar("F", bound=Callable[..., Any])

TIMESTAMP_FORMS = "2026-03-01, 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z"

db_option = click.option("--db", "url", envvar=ENV_VAR, metavar="URL",
                         help=f"Store url, in a form above (default ${ENV_VAR}, else"
                              f" {DEFAULT_URL}).")
subject_option = click.option("--subject", metavar="ID",
                              help="Only goals of this client or group.")
since_option = click.option("--since", metavar="T", help="Recorded at or after T (a date"
                            " means its start, in the store's time zone).")
until_option = click.option("--until", metavar="T", help="Recorded at or before T (a date"
                            " means its end, in the store's time zone).")


def occurred_options(command: F) -> F:
    """--occurred-since and --occurred-until: the clinical axis, when it happened."""
    command = click.option("--occurred-until", metavar="T",
                           help="Happened (clinically) at or before T, whenever recorded.")(
        command)
    return click.option("--occurred-since", metavar="T",
                        help="Happened (clinically) at or after T, whenever recorded.")(
        command)


def json_option(help: str) -> Callable[[F], F]:
    """``--json`` (the parameter ``as_json``), with what it prints; errors then go to
    stderr as JSON objects too."""
    return click.option("--json", "as_json", is_flag=True, help=help,
                        callback=_errors_as_json)


def _errors_as_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        obj = ctx.find_object(Context)
        if obj is not None:
            obj.json_errors = True
    return value


def min_position_options(command: F, *, expose: bool = False) -> F:
    """--min-position P and --wait S: read the store only once it holds the log up to
    position P (a replica: has replayed it), waiting up to S seconds. ``expose``: the
    command gets them as ``min_position`` and ``wait`` (the root group's, given before the
    command's :class:`Context` exists); else they go to the Context."""
    command = click.option(
        "--wait", type=click.FloatRange(min=0, max=MAX_WAIT), metavar="S", expose_value=expose,
        callback=_remember("wait"),
        help=f"With --min-position: seconds to wait for it [default: {WAIT_TIMEOUT:g}].")(
        command)
    return click.option(
        "--min-position", type=click.IntRange(min=0), metavar="P", expose_value=expose,
        callback=_remember("min_position"),
        help="Read only once the store holds the log up to position P (a command's"
             " \"position\"): a replica waits until it has replayed it.")(command)


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def remember(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        obj = ctx.find_object(Context)
        if obj is not None and value is not None:
            setattr(obj, name, value)
        return value

    return remember


def poll_option(help: str) -> Callable[[F], F]:
    """``--poll``: seconds between looks at the log, for commands that follow it."""
    return click.option("--poll", type=click.FloatRange(min=0.05), default=0.5,
                        show_default=True, help=help)


def resolve_goal(goals: Goals, text: str) -> UUID:
    """A goal id, or a unique prefix of one (at least 6 hex digits), as git takes hashes."""
    try:
        goal_id = parse_goal_id(text)
    except InvalidCommand:
        pass
    else:
        if not goals.store.exists(goal_id):  # an unknown goal is an error everywhere
            raise GoalNotFound(goal_id)
        return goal_id
    try:
        return parse_goal_id(text)
    except InvalidCommand:
        prefix = text.lower()
        if not 6 <= len(prefix) < 36 or set(prefix) - set("0123456789abcdef-"):
            raise
    matches = [str(g.goal_id) for g in goals.goal_index()
               if str(g.goal_id).startswith(prefix)]
    if not matches:
        raise GoalNotFound(text)
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:3]) + (" ..." if len(matches) > 3 else "")
        raise InvalidCommand(f"goal id prefix {text!r} is ambiguous: it starts {shown}",
                             field="goal_id")
    return UUID(matches[0])


def parse_date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(f"{option}: {text!r} is not a date; use 2026-03-01",
                             field=option) from None


def parse_timestamp(option: str, text: str, *, end_of_day: bool, goals: Goals) -> datetime:
    """An ISO date or an ISO datetime with an offset; a date means its first or last moment
    on the clinic's calendar (the store's time zone)."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
        moment = datetime.fromisoformat(text) if day is None else None
    except ValueError:
        raise InvalidCommand(f"{option}: {text!r} is not a date or time; use {TIMESTAMP_FORMS}",
                             field=option) from None
    if day is not None:
        check_date(option, day)  # the years goalflow takes: no overflow in any zone
        zone = goals.tzinfo
        return zones.end_of_day(day, zone) if end_of_day else zones.start_of_day(day, zone)
    assert moment is not None
    if moment.tzinfo is None:
        raise InvalidCommand(f"{option}: {text!r} needs a UTC offset; use {TIMESTAMP_FORMS}",
                             field=option)
    return moment

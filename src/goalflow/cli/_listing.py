"""How list commands page and print: --limit/--offset/--reverse/-n, --after/--before,
text or JSON Lines or CSV/TSV with a choice of --fields, through a pager on a terminal."""

from __future__ import annotations

import contextlib
import csv
import functools
import itertools
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar

import attrs
import click
import orjson

from goalflow.cli._context import Context
from goalflow.cli._options import json_option
from goalflow.cli._output import _Pager, print_json
from goalflow.errors import InvalidCommand

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_PAGER = "less -FRX"
"""What pages a terminal's output when $PAGER is not set: less, quitting at once when it
fits one screen (-F), keeping colours (-R) and the screen (-X)."""


@attrs.frozen
class Paging:
    """Which part of a list, in which order."""

    limit: int | None = None
    offset: int = 0
    newest_first: bool = False
    after: int | None = None
    before: int | None = None

    def window(self, items: Iterable[Any]) -> Iterator[Any]:
        """``items`` (already in the chosen order) from ``offset``, at most ``limit``."""
        stop = None if self.limit is None else self.offset + self.limit
        return itertools.islice(items, self.offset, stop)

    def fetch(self, query: Callable[..., list[Any]]) -> list[Any]:
        """The page of a query that takes ``limit`` and ``offset`` (in its own order),
        paged by the database; reversed (--reverse, -n), it is read whole and turned."""
        if not self.newest_first:
            return query(limit=self.limit, offset=self.offset)
        return list(self.window(reversed(query())))


def paging_options(*, positions: bool) -> Callable[[F], F]:
    """--limit, --offset, --reverse and -n (and, for lists of the log, --after and
    --before a position); the command gets ``paging: Paging``."""

    def decorate(command: F) -> F:
        options = [
            click.option("--limit", type=click.IntRange(min=1), metavar="N",
                         help="Show at most N."),
            click.option("--offset", type=click.IntRange(min=0), default=0, metavar="K",
                         help="Skip the first K (in the order shown)."),
            click.option("--reverse", "newest_first", is_flag=True,
                         help="Newest first."),
            click.option("-n", "newest", type=click.IntRange(min=1), metavar="N",
                         help="The newest N, newest first (--reverse --limit N)."),
        ]
        if positions:
            options += [
                click.option("--after", type=click.IntRange(min=0), metavar="POSITION",
                             help="Only positions in the log after this one."),
                click.option("--before", type=click.IntRange(min=1), metavar="POSITION",
                             help="Only positions in the log before this one."),
            ]
        for option in reversed(options):
            command = option(command)
        return _gather(command, positions)

    return decorate


def _gather(command: F, positions: bool) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, limit: int | None, offset: int, newest_first: bool,
                newest: int | None, **kwargs: Any) -> Any:
        if newest is not None:
            if limit is not None:
                raise click.UsageError("give -n or --limit, not both")
            limit, newest_first = newest, True
        after = kwargs.pop("after", None) if positions else None
        before = kwargs.pop("before", None) if positions else None
        if after is not None and before is not None and before <= after + 1:
            raise click.UsageError(f"no position is after {after} and before {before}")
        return command(*args, paging=Paging(limit, offset, newest_first, after, before),
                       **kwargs)

    return wrapper  # type: ignore[return-value]


@attrs.frozen
class Output:
    """How a list is printed: ``text``, ``json`` (JSON Lines), ``csv`` or ``tsv``; which
    fields (for csv/tsv and JSON)."""

    format: str = "text"
    fields: tuple[str, ...] | None = None

    @property
    def text(self) -> bool:
        return self.format == "text"


def format_options(json_help: str) -> Callable[[F], F]:
    """--json, --csv, --tsv and --fields; the command gets ``output: Output``."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, as_json: bool, as_csv: bool, as_tsv: bool,
                    fields: str | None, **kwargs: Any) -> Any:
            chosen = [name for name, on in (("--json", as_json), ("--csv", as_csv),
                                            ("--tsv", as_tsv)) if on]
            if len(chosen) > 1:
                raise click.UsageError(f"give one of {', '.join(chosen)}, not several")
            kind = chosen[0].removeprefix("--") if chosen else "text"
            names = None
            if fields is not None:
                if kind == "text":
                    raise click.UsageError("--fields goes with --csv, --tsv or --json")
                names = tuple(name.strip() for name in fields.split(",") if name.strip())
                if not names:
                    raise click.UsageError("--fields needs at least one field name")
            return command(*args, output=Output(kind, names), **kwargs)

        wrapped: Any = wrapper
        for option in reversed([
            json_option(json_help),
            click.option("--csv", "as_csv", is_flag=True,
                         help="Print CSV with a header row (for spreadsheets)."),
            click.option("--tsv", "as_tsv", is_flag=True,
                         help="Print tab-separated values with a header row."),
            click.option("--fields", metavar="A,B,...",
                         help="With --csv, --tsv or --json: only these fields, in this"
                              " order (nested ones as actor.id)."),
        ]):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def emit(records: Iterable[dict[str, Any]], output: Output, *,
         render: Callable[[dict[str, Any]], str], columns: Sequence[str],
         open_prefixes: Sequence[str] = (), empty: str | None = None) -> int:
    """Print the records as ``output`` says, through the pager on a terminal; returns
    how many were printed. ``columns`` are the fields of csv/tsv when --fields is not
    given, and what --fields may name, besides any name under ``open_prefixes``
    (``data.`` for an event's own fields), which is blank where a record has none."""
    names = list(output.fields or columns)
    unknown = [n for n in names if n not in columns and not n.startswith(tuple(open_prefixes))]
    if unknown:  # said before anything is printed
        known = [*columns, *(f"{prefix}FIELD" for prefix in open_prefixes)]
        raise InvalidCommand(f"--fields: no field {unknown[0]!r} (fields: {', '.join(known)})",
                             field="--fields")
    count = 0
    with paged():
        if output.text:
            for record in records:
                click.echo(render(record))
                count += 1
        elif output.format == "json":
            for record in records:
                if output.fields:
                    flat = _flatten(record)
                    record = {name: flat.get(name) for name in names}
                print_json(record)
                count += 1
        else:
            writer = csv.writer(sys.stdout,
                                dialect="excel-tab" if output.format == "tsv" else "excel",
                                lineterminator="\n")
            writer.writerow(names)
            for record in records:
                flat = _flatten(record)
                writer.writerow([_cell(flat.get(name)) for name in names])
                count += 1
        if count == 0 and output.text and empty is not None:
            click.echo(empty)
    return count


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted names (``actor.id``); lists stay whole."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat[name] = value
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _on_terminal() -> bool:
    return sys.stdout.isatty()


@contextlib.contextmanager
def paged() -> Iterator[None]:
    """Send what is printed to ``$PAGER`` (else ``less -FRX``) when stdout is a terminal,
    unless --no-pager; otherwise print as usual."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Context) if ctx else None
    if obj is None or obj.no_pager or not _on_terminal():
        yield
        return
    command = os.environ.get("PAGER") or DEFAULT_PAGER
    try:
        pager = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE)
    except OSError:  # no such pager: print as usual
        yield
        return
    assert pager.stdin is not None
    stream: IO[str] = open(pager.stdin.fileno(), "w", encoding="utf-8",  # noqa: SIM115
                           closefd=False)
    assert ctx is not None
    colour = ctx.color
    if ctx.color is None:
        ctx.color = True  # the pager shows colours (-R); --no-color still turns them off
    saved = sys.stdout
    sys.stdout = stream
    _Pager.on = True
    try:
        yield
    except BrokenPipeError:  # the reader quit the pager before the end
        pass
    finally:
        sys.stdout = saved
        _Pager.on = False
        ctx.color = colour
        with contextlib.suppress(BrokenPipeError):
            stream.close()
        with contextlib.suppress(BrokenPipeError):
            pager.stdin.close()
        pager.wait()

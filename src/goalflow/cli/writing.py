"""Commands that record: apply a file of commands."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, Final

import click
import orjson

from goalflow.application import Goals
from goalflow.cli._context import Context, error_record
from goalflow.cli._options import json_option
from goalflow.cli._output import print_json, progress_bar
from goalflow.commands import Line, LineError, parse_line
from goalflow.errors import GoalflowError

BATCH: Final = 100
"""Commands per transaction unless --batch says otherwise."""


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option("--batch", type=click.IntRange(min=1), metavar="N",
              help=f"Commands per transaction (at most) [default: {BATCH}].")
@click.option("--dry-run", is_flag=True,
              help="Check every line against the store and report; record nothing.")
@click.option("--keep-going", is_flag=True,
              help="Apply every line that can be applied; report the refused ones.")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="FILE",
              help="With --keep-going: write each refused line there, with its error.")
@click.option("--atomic", is_flag=True,
              help="Record the whole file in one transaction, or nothing of it.")
@json_option("Errors as JSON on stderr too (results are JSON Lines already).")
@click.pass_obj
def apply(obj: Context, file: IO[bytes], batch: int | None, dry_run: bool, keep_going: bool,
          rejects: str | None, atomic: bool, as_json: bool) -> None:
    """Apply commands from FILE (JSON Lines; - for stdin), one per line.

    Prints one JSON result per line once its batch is recorded. A bad line
    stops the run with its line number; the lines before it stay applied, and
    re-running the fixed file is safe for every line that carries a command_id.

    \b
    Examples:
      goalflow apply commands.jsonl --dry-run
      goalflow apply commands.jsonl --keep-going --rejects refused.jsonl
      echo '{"command": "complete_step", "goal_id": "...", "step_id": "s2",
             "by": {"id": "client-7", "role": "client"}, "command_id": "ehr-8812"}'
        | goalflow apply -
    """
    chosen = [name for name, on in (("--dry-run", dry_run), ("--keep-going", keep_going),
                                    ("--atomic", atomic)) if on]
    if len(chosen) > 1:
        raise click.UsageError(f"give one of {', '.join(chosen)}, not several")
    if rejects is not None and not keep_going:
        raise click.UsageError("--rejects goes with --keep-going")
    if atomic and batch is not None:
        raise click.UsageError("--atomic records the whole file at once; --batch does not"
                               " apply")
    source = _Source(file)
    if dry_run:
        _dry_run(obj.goals(readonly=True), source)
        return
    goals = obj.goals()
    if atomic:
        lines = [item for item in source.lines() if isinstance(item, Line)]
        try:
            outcomes = list(goals.execute_many(_pairs(lines), atomic=True))
        except GoalflowError as e:
            if e.command_index is None:
                raise
            raise _line_error(lines[e.command_index].number, e) from e
        for line, outcome in zip(lines, outcomes, strict=True):
            print_json({"line": line.number, **outcome.to_dict()})
        return
    refused = _Rejects(rejects) if keep_going else None
    last: Line | None = None
    with _interruptible() as interrupted, progress_bar("applying") as progress, \
            contextlib.closing(refused or _Rejects(None)):
        for item in source.batches(batch or BATCH, interrupted, progress):
            if isinstance(item, LineError):  # a line that is not a command at all
                if refused is None:
                    raise item
                refused.add(item.number, source.raw_of(item), item)
                continue
            last = _record(goals, item, refused) or last
    if interrupted():
        after = f"line {last.number}" if last else "no line"
        click.echo(f"Interrupted after {after}: the lines up to it are recorded, none after"
                   " it; re-run the file to go on", err=True)
        sys.exit(130)
    if refused is not None and refused.count:
        where = f"; they are in {rejects}" if rejects else ""
        click.echo(f"{refused.count} line(s) refused{where}; the others are recorded",
                   err=True)
        sys.exit(1)


def _record(goals: Goals, lines: list[Line], refused: _Rejects | None) -> Line | None:
    """Record a batch of lines, printing each result; the last line recorded. A refused
    line stops the run, or (``refused``) is set aside and the rest go on."""
    last = None
    while lines:
        recorded = 0
        try:
            for line, outcome in zip(lines, goals.execute_many(_pairs(lines),
                                                               batch=len(lines)),
                                     strict=False):
                print_json({"line": line.number, **outcome.to_dict()})
                recorded += 1
                last = line
            return last
        except GoalflowError as e:  # the lines before the refused one are recorded
            failed = lines[recorded]
            error = _line_error(failed.number, e)
            if refused is None:
                raise error from e
            refused.add(failed.number, failed.raw, error)
            lines = lines[recorded + 1:]
    return last


def _dry_run(goals: Goals, source: _Source) -> None:
    """Every line judged against the store as it is, nothing recorded; exit 1 if any
    would be refused."""
    items = list(source.lines(keep_going=True))
    commands = [item for item in items if isinstance(item, Line)]
    results = iter(goals.dry_run(_pairs(commands)))
    refusals = 0
    for item in items:
        result: Any = item if isinstance(item, LineError) else next(results)
        if isinstance(result, GoalflowError):
            refusals += 1
            error = _line_error(item.number, result)
            print_json({"line": item.number, "ok": False, **error_record(str(error), error)})
        else:
            print_json({"line": item.number, "ok": True, **result.to_dict()})
    click.echo(f"Dry run: {len(items) - refusals} line(s) would be recorded, {refusals}"
               " refused; nothing was recorded", err=True)
    if refusals:
        sys.exit(1)


def _line_error(number: int, error: GoalflowError) -> LineError:
    if isinstance(error, LineError):
        return error
    named = LineError(number, str(error))
    named.__cause__ = error
    return named


def _pairs(lines: list[Line]) -> list[tuple[str, dict[str, Any]]]:
    return [(line.command, line.arguments) for line in lines]


class _Source:
    """The file's lines, in batches: of N lines from a file; from a pipe, of the lines
    that have come (up to N), so that a process feeding commands one at a time sees each
    recorded at once while a file piped in still goes in batches."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.regular = _is_regular(file)
        self._raw: dict[int, bytes] = {}  # of bad lines, for the rejects file

    def raw_of(self, error: LineError) -> bytes:
        return self._raw.get(error.number, b"")

    def _read(self) -> Iterator[tuple[int, Line | LineError | None, bool]]:
        """Each line parsed (None: blank), and whether another is ready without waiting."""
        for number, (raw, more) in enumerate(self._raw_lines(), start=1):
            try:
                yield number, parse_line(number, raw), more
            except LineError as e:
                self._raw[number] = raw
                yield number, e, more

    def _raw_lines(self) -> Iterator[tuple[bytes, bool]]:
        if self.regular or not _has_fd(self.file):
            for raw in self.file:
                yield raw, True
            return
        fd = self.file.fileno()
        pending = b""
        while chunk := os.read(fd, 1 << 16):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for i, raw in enumerate(complete):
                yield raw + b"\n", i < len(complete) - 1 or bool(pending) or _ready(fd)
        if pending:
            yield pending, False

    def lines(self, *, keep_going: bool = False) -> Iterator[Line | LineError]:
        """Every line that is not blank; a bad one raises, or (``keep_going``) comes as
        its error."""
        for _number, item, _more in self._read():
            if isinstance(item, LineError) and not keep_going:
                raise item
            if item is not None:
                yield item

    def batches(self, size: int, interrupted: Callable[[], bool],
                progress: Callable[[int, int], None]) -> Iterator[list[Line] | LineError]:
        """Batches of command lines, and each bad line (as its error) in its place."""
        total = _size(self.file) if self.regular else 0
        pending: list[Line] = []
        warned = False
        for _number, item, more in self._read():
            if interrupted():
                break
            if isinstance(item, LineError):
                if pending:
                    yield pending
                    pending = []
                yield item
                continue
            if item is not None:
                if item.command_id is None and not warned:
                    click.echo(f"Warning: line {item.number} has no command_id; re-running"
                               " this file would apply such lines again", err=True)
                    warned = True
                pending.append(item)
            if len(pending) >= size or (pending and not more):
                yield pending
                pending = []
                if total:
                    progress(self.file.tell(), total)
        if pending and not interrupted():
            yield pending
        if total:
            progress(total, total)


class _Rejects:
    """Refused lines, each as a JSON line: the error as ``--json`` gives it, and the line
    as it was read. Created readable by its owner only: the lines hold clients' data."""

    def __init__(self, path: str | None) -> None:
        self.count = 0
        self._file: IO[bytes] | None = None
        if path is not None:
            self._file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                           0o600), "wb")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, number: int, raw: bytes, error: LineError) -> None:
        self.count += 1
        click.echo(f"Refused: {error}", err=True)
        if self._file is not None:
            self._file.write(orjson.dumps({
                **error_record(str(error), error),
                "input": raw.decode("utf-8", errors="replace").rstrip("\r\n")}) + b"\n")
            self._file.flush()


class _interruptible:
    """Ctrl-C stops the run between batches, never inside a command (an interrupt raised
    inside orjson comes out as a TypeError, which would blame a valid line). A second
    Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.stopped = False

    def __enter__(self) -> Callable[[], bool]:
        self.previous = signal.signal(signal.SIGINT, self._interrupt)
        return lambda: self.stopped

    def _interrupt(self, _signum: int, _frame: object) -> None:
        self.stopped = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)


def _has_fd(file: IO[bytes]) -> bool:
    try:
        file.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's BytesIO)
        return False
    return True


def _ready(fd: int) -> bool:
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _size(file: IO[bytes]) -> int:
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return 0


def _is_regular(file: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


COMMANDS: Final = (apply,)

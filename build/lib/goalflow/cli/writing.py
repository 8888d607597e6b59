"""Commands that record: apply a file of commands."""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

import click

from goalflow.cli._context import Context
from goalflow.cli._output import print_json
from goalflow.commands import LineError, read_lines
from goalflow.errors import GoalflowError


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option("--batch", type=click.IntRange(min=1), metavar="N",
              help="Commands per transaction [default: 100 from a file, 1 from stdin].")
@click.pass_obj
def apply(obj: Context, file: IO[bytes], batch: int | None) -> None:
    """Apply commands from FILE (JSON Lines; - for stdin), one per line.

    Prints one JSON result per line once its batch is recorded. A bad line
    stops the run with its line number; the lines before it stay applied, and
    re-running the fixed file is safe for every line that carries a command_id.

    \b
    Example:
      echo '{"command": "complete_step", "goal_id": "...", "step_id": "s2",
             "by": {"id": "client-7", "role": "client"}, "command_id": "ehr-8812"}'
        | goalflow apply -
    """
    if batch is None:
        batch = 1 if file is sys.stdin.buffer or not _is_regular(file) else 100
    goals = obj.goals()
    numbers: list[int] = []
    interrupted = False

    def interrupt(_signum: int, _frame: object) -> None:
        # Ctrl-C stops the run between commands, never inside one (an interrupt raised
        # inside orjson comes out as a TypeError, which would blame a valid line). A
        # second Ctrl-C stops at once.
        nonlocal interrupted
        interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def commands() -> Iterator[tuple[str, dict[str, Any]]]:
        warned = False
        for line in read_lines(file):
            if interrupted:
                return
            if line.command_id is None and not warned:
                click.echo(f"Warning: line {line.number} has no command_id; re-running this"
                           " file would apply such lines again", err=True)
                warned = True
            numbers.append(line.number)
            yield line.command, line.arguments

    done = 0
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        for outcome in goals.execute_many(commands(), batch=batch):
            print_json({"line": numbers[done], **outcome.to_dict()})
            done += 1
    except LineError:
        raise
    except GoalflowError as e:  # the command after the last one printed
        raise LineError(numbers[done], str(e)) from e
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        last = f"line {numbers[done - 1]}" if done else "no line"
        click.echo(f"Interrupted after {last}: the lines up to it are recorded, none after"
                   " it; re-run the file to go on", err=True)
        sys.exit(130)


def _is_regular(file: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # not a real file (a test's BytesIO)
        return False


COMMANDS: Final = (apply,)

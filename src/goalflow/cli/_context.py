"""How every goalflow command runs: the store it opens, and the one way errors are said."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Any, NoReturn

import click
import orjson

import goalflow
from goalflow.application import Goals
from goalflow.cli._output import progress_bar
from goalflow.commands import LineError
from goalflow.crypto import master
from goalflow.errors import GoalflowError
from goalflow.persistence.store import STORAGE_FAULTS, describe_fault
from goalflow.persistence.urls import parse_url, resolve_url


class Context:
    """What the root command knows: the store url, and the store once opened."""

    def __init__(self, url: str | None, debug: bool, *, master_key_file: str | None = None,
                 keys: str | None = None) -> None:
        self.url = url
        self.debug = debug
        self.master_key_file = master_key_file
        self.keys = keys
        self.json_errors = False  # --json was given: errors go to stderr as JSON too
        self.no_pager = False
        # --min-position: the store is read once it holds the log up to there (a replica
        # waits, up to --wait seconds, to have replayed it).
        self.min_position: int | None = None
        self.wait: float | None = None
        self._goals: Goals | None = None
        self._lagging: set[str] = set()  # read models warned of as behind the log

    def goals(self, *, readonly: bool = False) -> Goals:
        if self._goals is None:
            # --master-key-file, else $GOALFLOW_MASTER_KEY (goalflow.open reads it).
            key = None if self.master_key_file is None else master.from_file(
                self.master_key_file)
            # A writer's first open of a store from before the log was chained chains it.
            # (No bar under --json: its output is the JSON alone.)
            with progress_bar("chaining the log's events") as progress:
                self._goals = goalflow.open(self.url, readonly=readonly,
                                            progress=None if self.json_errors else progress,
                                            master_key=key, keys=self.keys)
            self._goals.on_lag = self._warn_lag
            if self.min_position is not None:
                self._goals.wait_for_position(self.min_position, **(
                    {} if self.wait is None else {"timeout": self.wait}))
        return self._goals

    def _warn_lag(self, name: str, position: int, head: int) -> None:
        """A worker-mode read model read behind the log: one warning line on stderr, once
        per read model and command."""
        if name in self._lagging:
            return
        self._lagging.add(name)
        behind = head - position
        click.echo(f"Warning: the {name} read model is {behind} position"
                   f"{'' if behind == 1 else 's'} behind the log (at {position} of {head});"
                   " is goalflow projections run running?", err=True)

    def close(self) -> None:
        if self._goals is not None:
            self._goals.close()

    @property
    def store_name(self) -> str:
        """The store as errors name it."""
        if self._goals:
            return str(self._goals.store.url)
        try:
            return str(parse_url(resolve_url(self.url)))  # never shows a password
        except GoalflowError:
            return "?"


class GoalflowGroup(click.Group):
    """Turns every error into one ``Error: ...`` line (a JSON object on stderr, under
    ``--json``) and a non-zero exit code; Ctrl-C exits 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GoalflowError as e:
            if _debug(ctx):
                traceback.print_exc()
            _fail(ctx, str(e), e)
        except click.ClickException as e:
            if _json_errors(ctx):
                _fail(ctx, e.format_message(), e)
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (goalflow audit | head): stop quietly.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream
            ctx.exit(0)
        except STORAGE_FAULTS as e:  # the database failed somewhere not guarded below
            if _debug(ctx):
                traceback.print_exc()
            obj = ctx.find_object(Context)
            store = obj.store_name if obj else "?"
            _fail(ctx, f"store {store}: {describe_fault(e)}", e)
        except Exception as e:  # a bug or an unforeseen fault: still one line
            if _debug(ctx):
                traceback.print_exc()
            # Only the kind of error: its text may quote internals or a client's data.
            _fail(ctx, f"goalflow failed unexpectedly ({type(e).__name__}); run with --debug"
                  " for the traceback", e)


def _fail(ctx: click.Context, message: str, error: BaseException) -> NoReturn:
    """Say the error once, as a line or (under --json) a JSON object, and exit non-zero."""
    if not _json_errors(ctx):
        raise click.ClickException(message) from error
    click.echo(orjson.dumps(error_record(message, error)).decode(), err=True)
    ctx.exit(getattr(error, "exit_code", 1) or 1)


def error_record(message: str, error: BaseException) -> dict[str, Any]:
    """An error as ``--json`` prints it: its kind, the message, and what it names."""
    named = [error, error.__cause__]
    line = next((n.number for n in named if isinstance(n, LineError)), None)

    def first(attribute: str) -> Any:
        return next((getattr(n, attribute) for n in named
                     if getattr(n, attribute, None) is not None), None)

    kind = type(error.__cause__ if isinstance(error, LineError) and error.__cause__
                else error).__name__
    if isinstance(error, click.UsageError):
        kind = "UsageError"
    elif not isinstance(error, GoalflowError | click.ClickException):
        kind = "StorageFault" if isinstance(error, STORAGE_FAULTS) else "InternalError"
    goal_id = first("goal_id")
    return {"error": kind, "message": message, "line": line, "field": first("field"),
            "goal_id": None if goal_id is None else str(goal_id)}


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug)


def _json_errors(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.json_errors)


def stop_on_sigterm() -> None:
    """From now on a SIGTERM (a service manager's stop) ends the command as Ctrl-C does."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt

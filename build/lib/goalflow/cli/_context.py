"""How every goalflow command runs: the store it opens, and the one way errors are said."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Any

import click

import goalflow
from goalflow.application import Goals
from goalflow.cli._output import progress_bar
from goalflow.errors import GoalflowError
from goalflow.persistence.store import STORAGE_FAULTS, describe_fault
from goalflow.persistence.urls import parse_url, resolve_url


class Context:
    """What the root command knows: the store url, and the store once opened."""

    def __init__(self, url: str | None, debug: bool) -> None:
        self.url = url
        self.debug = debug
        self._goals: Goals | None = None

    def goals(self, *, readonly: bool = False) -> Goals:
        if self._goals is None:
            # A writer's first open of a store from before the log was chained chains it.
            with progress_bar("chaining the log's events") as progress:
                self._goals = goalflow.open(self.url, readonly=readonly, progress=progress)
        return self._goals

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
    """Turns every error into one ``Error: ...`` line and a non-zero exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GoalflowError as e:
            if _debug(ctx):
                traceback.print_exc()
            raise click.ClickException(str(e)) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            # The reader went away (goalflow audit | head): stop quietly.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream
            ctx.exit(0)
        except STORAGE_FAULTS as e:  # the database failed somewhere not guarded below
            if _debug(ctx):
                traceback.print_exc()
            obj = ctx.find_object(Context)
            store = obj.store_name if obj else "?"
            raise click.ClickException(f"store {store}: {describe_fault(e)}") from e
        except Exception as e:  # a bug or an unforeseen fault: still one line
            if _debug(ctx):
                traceback.print_exc()
            # Only the kind of error: its text may quote internals or a client's data.
            raise click.ClickException(
                f"goalflow failed unexpectedly ({type(e).__name__}); run with --debug for"
                " the traceback"
            ) from e


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug)


def stop_on_sigterm() -> None:
    """From now on a SIGTERM (a service manager's stop) ends the command as Ctrl-C does."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt

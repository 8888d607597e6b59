"""The ``goalflow`` command line: the only place that imports click and wires things up."""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any, TypeVar

import click
import orjson

import goalflow
from goalflow import demo as demo_scenario
from goalflow.application import Goals
from goalflow.commands import LineError, apply_line, read_lines
from goalflow.domain.goal import Goal
from goalflow.errors import GoalflowError, InvalidCommand
from goalflow.persistence.urls import DEFAULT_URL, ENV_VAR

F = TypeVar("F", bound=Callable[..., Any])

TIMESTAMP_FORMS = "2026-03-01, 2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z"


class Context:
    """What the root command knows: the store url, and the store once opened."""

    def __init__(self, url: str | None, debug: bool) -> None:
        self.url = url
        self.debug = debug
        self._goals: Goals | None = None

    def goals(self, *, readonly: bool = False) -> Goals:
        if self._goals is None:
            self._goals = goalflow.open(self.url, readonly=readonly)
        return self._goals

    def close(self) -> None:
        if self._goals is not None:
            self._goals.close()


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
        except Exception as e:  # a bug or an unforeseen fault: still one line
            if _debug(ctx):
                traceback.print_exc()
            raise click.ClickException(
                f"unexpected {type(e).__name__}: {e} (run with --debug for the traceback)"
            ) from e


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug)


@click.group(cls=GoalflowGroup)
@click.option("--db", "url", envvar=ENV_VAR, metavar="URL",
              help=f"Store url (default ${ENV_VAR}, else {DEFAULT_URL}).")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="goalflow")
@click.pass_context
def cli(ctx: click.Context, url: str | None, debug: bool) -> None:
    """goalflow: treatment goals as an event-sourced record."""
    ctx.obj = Context(url, debug)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.pass_obj
def apply(obj: Context, file: IO[bytes]) -> None:
    """Apply commands from FILE (JSON Lines; - for stdin), one per line.

    Prints one JSON result per line. A bad line stops the run with its line
    number; the lines before it stay applied, and re-running the fixed file is
    safe for every line that carries a command_id.
    """
    goals = obj.goals()
    warned = False
    for line in read_lines(file):
        if line.command_id is None and not warned:
            click.echo(f"Warning: line {line.number} has no command_id; re-running this file"
                       " would apply such lines again", err=True)
            warned = True
        outcome = apply_line(goals, line)
        click.echo(orjson.dumps({"line": line.number, **outcome.to_dict()}).decode())


@cli.command()
@click.argument("goal_id")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="Show the goal as recorded at this moment (a date means its end, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: Context, goal_id: str, version: int | None, as_of: str | None,
         as_json: bool) -> None:
    """Print a goal, now or at a past version or moment. Never creates a store."""
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    moment = parse_timestamp("--as-of", as_of, end_of_day=True) if as_of else None
    goal = obj.goals(readonly=True).get(goal_id, version=version, as_of=moment)
    if as_json:
        click.echo(orjson.dumps(goal.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_goal(goal))


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to create the demo store (default: a new temporary directory).")
@click.pass_obj
def demo(obj: Context, out: Path | None) -> None:
    """Run the bundled anxiety-goal scenario into a fresh SQLite file and show the goal."""
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="goalflow-demo-")) / "demo.db"
    if out.exists():
        raise click.ClickException(f"{out} already exists; the demo needs a fresh file")
    url = f"sqlite:///{out.absolute()}"
    with demo_scenario.run(url, date.today()) as goals:
        goal = goals.get(demo_scenario.DEMO_GOAL_ID)
        click.echo(render_goal(goal))
    click.echo(f"\nThe demo store is {out.absolute()}. Look around with:")
    click.echo(f"  goalflow --db {url} show {goal.id} --version 3")


def parse_timestamp(option: str, text: str, *, end_of_day: bool) -> datetime:
    """An ISO date or an ISO datetime with an offset; a date means its start or end (UTC)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(f"{option}: {text!r} is not a date or time; use {TIMESTAMP_FORMS}",
                             field=option) from None
    if moment.tzinfo is None:
        raise InvalidCommand(f"{option}: {text!r} needs a UTC offset; use {TIMESTAMP_FORMS}",
                             field=option)
    return moment


# -- rendering -------------------------------------------------------------------

STATUS_COLOURS = {"proposed": "yellow", "active": "green", "on-hold": "blue",
                  "completed": "cyan", "cancelled": "red", "rejected": "red",
                  "entered-in-error": "magenta"}


def render_goal(goal: Goal) -> str:
    """A goal for people: labelled lines, times in ISO 8601 with their offset."""
    status = click.style(goal.status, fg=STATUS_COLOURS.get(goal.status), bold=True)
    rows: list[tuple[str, str]] = [
        ("Subject", _subject(goal)),
        ("Statement", goal.statement),
    ]
    if goal.client_words:
        rows.append(("Client's words", f"\u201c{goal.client_words}\u201d"))
    rows += [
        ("Addresses", "; ".join(goal.addresses) or "-"),
        ("Strengths", "; ".join(goal.strengths) or "-"),
        ("Target date", goal.target_date.isoformat() if goal.target_date else "-"),
    ]
    for n, measure in enumerate(goal.measures):
        reading = goal.readings.get(measure.name)
        latest = (f"; latest {_number(reading.value)} on {reading.occurred_at.date()}"
                  if reading else "")
        rows.append(("Measures" if n == 0 else "",
                     f"{measure.name}: baseline {_number(measure.baseline)}, target"
                     f" {_number(measure.target)} ({measure.direction}){latest}"))
    for n, step in enumerate(goal.steps):
        mark = "[x]" if step.status == "completed" else "[ ]"
        rows.append(("Steps" if n == 0 else "", f"{mark} {step.step_id} {step.description}"))
    for n, agreement in enumerate(goal.agreements):
        how: str = agreement.method
        if agreement.witnessed_by is not None:
            how += f", witnessed by {agreement.witnessed_by.describe()}"
        by = "" if agreement.by.id == agreement.party else f" (by {agreement.by.describe()})"
        rows.append(("Agreements" if n == 0 else "",
                     f"{agreement.party} agreed to terms v{agreement.terms_version}{by}"
                     f" ({how}) at {agreement.occurred_at.isoformat()}"))
    if goal.awaiting_agreement_from and goal.status == "proposed":
        rows.append(("Awaiting", "agreement from " + ", ".join(goal.awaiting_agreement_from)))
    if goal.status_reason:
        rows.append(("Status reason", goal.status_reason))
    rows += [
        ("Next review", goal.next_review_on.isoformat() if goal.next_review_on else "-"),
        ("Drafted", f"{goal.drafted_at.isoformat()} by {goal.drafted_by.describe()}"),
        ("Last recorded", goal.modified_on.isoformat()),
    ]
    width = max(len(label) for label, _ in rows) + 2
    header = f"Goal {goal.id}  {status}  (version {goal.version}, terms v{goal.terms_version})"
    return "\n".join([header, *(f"{label:<{width}}{value}" for label, value in rows)])


def _subject(goal: Goal) -> str:
    if goal.subject.kind == "group":
        return f"group {goal.subject.id} (members: {', '.join(goal.subject.members)})"
    return f"client {goal.subject.id}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def main() -> None:
    try:
        cli(prog_name="goalflow")
    except LineError:  # pragma: no cover - click turns these into ClickException
        sys.exit(1)

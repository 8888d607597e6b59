"""The ``goalflow`` command line: the only place that imports click and wires things up."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

import click
import orjson

import goalflow
from goalflow import demo as demo_scenario
from goalflow import inspection, transfer
from goalflow.application import Goals, parse_goal_id
from goalflow.commands import LineError, read_lines
from goalflow.domain.goal import EVENT_TYPES, STATUSES, Goal
from goalflow.errors import GoalflowError, GoalNotFound, InvalidCommand
from goalflow.persistence.store import STORAGE_FAULTS, describe_fault
from goalflow.persistence.urls import DEFAULT_URL, ENV_VAR, parse_url, resolve_url

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


@click.group(cls=GoalflowGroup)
@click.option("--db", "url", envvar=ENV_VAR, metavar="URL",
              help=f"Store url, in a form above (default ${ENV_VAR}, else {DEFAULT_URL}).")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="goalflow")
@click.pass_context
def cli(ctx: click.Context, url: str | None, debug: bool) -> None:
    """goalflow: treatment goals as an event-sourced record.

    Every command takes the store from --db or $GOALFLOW_DB. Inspection
    commands open it read-only.

    \b
    Store urls:
      sqlite:///relative/path.db, sqlite:////absolute/path.db, memory://,
      postgresql://user[:password]@host[:port]/dbname[?schema=name&option=value...]
      (options: libpq's, such as sslmode, sslrootcert, application_name)

    \b
    Example:
      goalflow demo --out demo.db
      goalflow --db sqlite:///demo.db audit --event Revised
    """
    ctx.obj = Context(url, debug)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
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
            click.echo(orjson.dumps({"line": numbers[done], **outcome.to_dict()}).decode())
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


@cli.command()
@click.argument("goal_id")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="Show the goal as recorded at this moment (a date means its end, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: Context, goal_id: str, version: int | None, as_of: str | None,
         as_json: bool) -> None:
    """Print a goal, now or at a past version or moment. Never creates a store.

    \b
    Example:
      goalflow show 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --as-of 2026-03-01
    """
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    moment = parse_timestamp("--as-of", as_of, end_of_day=True) if as_of else None
    goals = obj.goals(readonly=True)
    goal = goals.get(resolve_goal(goals, goal_id), version=version, as_of=moment)
    if as_json:
        click.echo(orjson.dumps(goal.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_goal(goal))


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to create the demo store (default: a new temporary directory).")
@click.pass_obj
def demo(obj: Context, out: Path | None) -> None:
    """Run the bundled anxiety-goal scenario into a fresh SQLite file and show the goal.

    \b
    Example:
      goalflow demo --out demo.db
    """
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


@cli.command()
@click.option("--goal", "goal_id", metavar="ID", help="Only this goal's events.")
@click.option("--subject", metavar="ID", help="Only goals of this client or group.")
@click.option("--type", "event_type", metavar="EVENT", help="Only this event type, e.g."
              " Revised.")
@click.option("--actor", metavar="ID", help="Only events by this actor id.")
@click.option("--since", metavar="T", help="Recorded at or after T (a date means its start).")
@click.option("--until", metavar="T", help="Recorded at or before T (a date means its end).")
@click.option("--after", "after", type=click.IntRange(min=0),
              help="Start after this position in the log (with --follow: default now).")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="With --follow: seconds between looks at the log (SQLite).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, the full events.")
@click.pass_obj
def events(obj: Context, goal_id: str | None, subject: str | None, event_type: str | None,
           actor: str | None, since: str | None, until: str | None, after: int | None,
           limit: int | None, follow: bool, poll: float, as_json: bool) -> None:
    """Print the global log in order, one line per event.

    \b
    Examples:
      goalflow events --type Revised --since 2026-03-01
      goalflow events --goal 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
      goalflow events --follow
    """
    goals = obj.goals(readonly=True)
    if event_type is not None and event_type not in EVENT_TYPES:
        raise InvalidCommand(f"--type: unknown event type {event_type!r} (known:"
                             f" {', '.join(EVENT_TYPES)})", field="--type")
    only = [resolve_goal(goals, goal_id)] if goal_id else None

    def chosen_goals() -> list[UUID] | None:
        # Asked again on every pass, so --follow sees goals drafted meanwhile.
        if subject is None:
            return only
        theirs = [parse_goal_id(g["goal_id"]) for g in goals.goal_index(subject=subject)]
        return theirs if only is None else [g for g in only if g in theirs]

    keep = inspection.between(
        parse_timestamp("--since", since, end_of_day=False) if since else None,
        parse_timestamp("--until", until, end_of_day=True) if until else None, actor)
    types = [event_type] if event_type else []
    shown = 0

    def show_from(start: int, remaining: int | None) -> int:
        nonlocal shown
        last = start
        for last, event, schema_version in inspection.log(
                goals, after=start, limit=remaining, goal_ids=chosen_goals(), types=types,
                keep=keep):
            record = inspection.event_record(last, event, schema_version)
            click.echo(orjson.dumps(record).decode() if as_json else render_event_line(record))
            shown += 1
        return last

    if not follow:
        show_from(after or 0, limit)
        if not shown and not as_json:
            click.echo("No events.")
        return
    if after is None:
        after = goals.projections.head()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while limit is None or shown < limit:
            after = max(after, show_from(after, None if limit is None else limit - shown))
            goals.store.wait_for_events(poll)
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("--subject", metavar="ID", help="Only goals of this client or group.")
@click.option("--status", type=click.Choice(STATUSES), help="Only goals in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one goal per line.")
@click.pass_obj
def goals(obj: Context, subject: str | None, status: str | None, as_json: bool) -> None:
    """List goals, most recently changed first (from the read models, no replay).

    \b
    Example:
      goalflow goals --subject client-7 --status active
    """
    index = obj.goals(readonly=True).goal_index(subject=subject, status=status)
    if as_json:
        _json_lines(index)
        return
    if not index:
        click.echo("No goals.")
        return
    click.echo(render_table(
        ["goal", "status", "subject", "version", "last change", "statement"],
        [[g["goal_id"], click.style(g["status"], fg=STATUS_COLOURS.get(g["status"])),
          f"{g['subject_kind']} {g['subject_id']}", g["version"], g["updated_at"],
          g["statement"]] for g in index]))


@cli.command()
@click.argument("goal_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, the full events.")
@click.pass_obj
def history(obj: Context, goal_id: str, as_json: bool) -> None:
    """Print every event of one goal, decoded in full, oldest first.

    \b
    Example:
      goalflow history 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
    """
    goals = obj.goals(readonly=True)
    for position, event, schema_version in inspection.history(goals,
                                                             resolve_goal(goals, goal_id)):
        record = inspection.event_record(position, event, schema_version)
        if as_json:
            click.echo(orjson.dumps(record).decode())
            continue
        click.echo(render_event_line(record, full=True))


@cli.command()
@click.argument("goal_id")
@click.argument("v1", type=click.IntRange(min=1))
@click.argument("v2", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def diff(obj: Context, goal_id: str, v1: int, v2: int, as_json: bool) -> None:
    """What changed in a goal's state between versions V1 and V2.

    \b
    Example:
      goalflow diff 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b 3 8
    """
    goals = obj.goals(readonly=True)
    gid = resolve_goal(goals, goal_id)
    before = goals.get(gid, version=v1).to_dict()
    after = goals.get(gid, version=v2).to_dict()
    changes = inspection.diff(before, after)
    if as_json:
        click.echo(orjson.dumps({"goal_id": before["goal_id"], "from": v1, "to": v2,
                                 "changes": changes}, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"Goal {before['goal_id']}: version {v1} -> {v2}")
    if not changes:
        click.echo("  no change")
    for change in changes:
        click.echo(f"  {change['field']}: {_brief_value(change['before'])}"
                   f" -> {_brief_value(change['after'])}")


@cli.command()
@click.option("--goal", "goal_ids", metavar="ID", multiple=True,
              help="Only this goal (repeatable). Makes a partial export.")
@click.option("--since", metavar="T", help="Only events recorded at or after T. Makes a"
              " partial export.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (default stdout).")
@click.pass_obj
def export(obj: Context, goal_ids: tuple[str, ...], since: str | None,
           output: Path | None) -> None:
    """Export events as JSON Lines; a complete export can rebuild the store with import.

    \b
    Example:
      goalflow export --output goals-2026-11.jsonl
    """
    goals = obj.goals(readonly=True)
    ids = [resolve_goal(goals, g) for g in goal_ids] or None
    moment = parse_timestamp("--since", since, end_of_day=False) if since else None
    with _progress("exporting") as progress, _output(output) as out:
        header = transfer.export(goals, out, goal_ids=ids, since=moment, progress=progress)
    if output is not None:
        click.echo(f"exported {header['events']} events and {header['commands']} command"
                   f" ids to {output}", err=True)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path,
                                        allow_dash=True))
@click.pass_obj
def import_command(obj: Context, file: Path) -> None:
    """Load a complete export into an empty store (--db), then build its read models.

    \b
    Example:
      goalflow --db postgresql://ehr@db/goals import goals-2026-11.jsonl
    """
    with _input(file) as source, _progress("importing") as progress:
        # The file first: a bad export must not even create the target store.
        header = transfer.check(source)
        source.seek(0)
        done = transfer.import_(obj.goals(), source, progress=progress, header=header)
    if done.get("resumed"):
        click.echo(f"the store already holds these {header['events']} events and"
                   f" {header['commands']} command ids (an earlier import); read models built")
        return
    click.echo(f"imported {header['events']} events and {header['commands']} command ids")


@cli.command()
@click.option("--to", "target", required=True, metavar="URL", help="The empty store to fill.")
@click.pass_obj
def migrate(obj: Context, target: str) -> None:
    """Copy the whole store into another (SQLite to PostgreSQL, say) and check both sides.

    \b
    Example:
      goalflow --db sqlite:///goalflow.db migrate --to postgresql://ehr@db/goals
    """
    source = obj.goals(readonly=True)
    with goalflow.open(target) as destination, tempfile.TemporaryFile() as buffer:
        with _progress("exporting") as progress:
            transfer.export(source, buffer, progress=progress)
        buffer.seek(0)
        with _progress("importing") as progress:
            header = transfer.import_(destination, buffer, progress=progress)
        with _progress("checking") as progress:
            ours = transfer.digest(source, progress)
            theirs = transfer.digest(destination, progress)
    if ours != theirs:
        raise click.ClickException(f"the copy differs: {ours[0]} events ({ours[1][:12]}) here,"
                                   f" {theirs[0]} ({theirs[1][:12]}) there")
    click.echo(f"migrated {header['events']} events and {header['commands']} command ids to"
               f" {destination.store.url}; read models built; counts and content digest"
               f" match (sha256 {ours[1][:16]}...)")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Events by type, goals by status, subjects, store size, first and last recorded time.

    \b
    Example:
      goalflow stats --json
    """
    figures = inspection.stats(obj.goals(readonly=True))
    if as_json:
        click.echo(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"store         {figures['store']} ({figures['store_bytes']:,} bytes)")
    click.echo(f"events        {figures['events']:,}")
    for name, count in figures["events_by_type"].items():
        click.echo(f"  {name:<18}{count:>8,}")
    click.echo(f"goals         {figures['goals']:,}")
    for name, count in figures["goals_by_status"].items():
        click.echo(f"  {name:<18}{count:>8,}")
    click.echo(f"subjects      {figures['subjects']:,}")
    click.echo(f"first event   {figures['first_recorded_at'] or '-'}")
    click.echo(f"last event    {figures['last_recorded_at'] or '-'}")


@cli.command()
@click.argument("subject_id")
@click.option("--all", "include_closed", is_flag=True,
              help="Include completed, cancelled and rejected goals.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one goal per line.")
@click.pass_obj
def plan(obj: Context, subject_id: str, include_closed: bool, as_json: bool) -> None:
    """Print a client's (or group's) current treatment plan.

    \b
    Example:
      goalflow plan client-7 --all
    """
    goals = obj.goals(readonly=True).plan(subject_id, include_closed=include_closed)
    if as_json:
        _json_lines(goals)
        return
    if not goals:
        click.echo(f"No {'' if include_closed else 'open '}goals for {subject_id}.")
    for n, goal in enumerate(goals):
        if n:
            click.echo()
        click.echo(render_plan_goal(goal))


@cli.command()
@click.argument("goal_id", required=False)
@click.option("--actor", help="Only entries by this actor id.")
@click.option("--subject", help="Only goals of this client or group (and group goals a client"
              " is a member of).")
@click.option("--since", metavar="T", help="Recorded at or after T (a date means its start).")
@click.option("--until", metavar="T", help="Recorded at or before T (a date means its end).")
@click.option("--event", "event_type", metavar="TYPE", help="Only this event type, e.g."
              " Revised.")
@click.option("--unagreed", is_flag=True, help="Revisions of previously agreed goals whose"
              " revised terms still await agreement.")
@click.option("--late", is_flag=True, help="Entries recorded more than --days after they"
              " occurred.")
@click.option("--days", type=click.FloatRange(min=0),
              help="How late counts as late, for --late (default 2).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one entry per line.")
@click.pass_obj
def audit(obj: Context, goal_id: str | None, actor: str | None, subject: str | None,
          since: str | None, until: str | None, event_type: str | None, unagreed: bool,
          late: bool, days: float | None, as_json: bool) -> None:
    """Print the audit trail: every event, with who, when, why, and every revision.

    \b
    Examples:
      goalflow audit --subject client-7 --unagreed
      goalflow audit --late --days 3 --json
    """
    if days is not None and not late:
        raise click.UsageError("--days goes with --late")
    late_days = (2.0 if days is None else days) if late else None
    goals = obj.goals(readonly=True)
    entries = goals.audit(
        resolve_goal(goals, goal_id) if goal_id else None, actor=actor, subject=subject,
        since=parse_timestamp("--since", since, end_of_day=False) if since else None,
        until=parse_timestamp("--until", until, end_of_day=True) if until else None,
        event=event_type, unagreed=unagreed, late_days=late_days)
    if as_json:
        _json_lines(entries)
        return
    if not entries:
        click.echo("No entries.")
    for entry in entries:
        click.echo(render_audit_entry(entry, late_days=late_days or 2.0))


@cli.command()
@click.option("--as-of", "as_of", metavar="DATE", help="Judge due and overdue on this date"
              " (default today).")
@click.option("--overdue", is_flag=True, help="Only goals whose review is overdue.")
@click.option("--interval", "interval_days", type=click.IntRange(min=1), default=90,
              show_default=True, envvar="GOALFLOW_REVIEW_INTERVAL_DAYS",
              help="Days between reviews when the last review set no date"
              " ($GOALFLOW_REVIEW_INTERVAL_DAYS).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one goal per line.")
@click.pass_obj
def reviews(obj: Context, as_of: str | None, overdue: bool, interval_days: int,
            as_json: bool) -> None:
    """Print the reviews worklist: active and on-hold goals, oldest due first.

    \b
    Example:
      goalflow reviews --overdue --as-of 2026-12-01
    """
    day = parse_date("--as-of", as_of) if as_of else None
    worklist = obj.goals(readonly=True).reviews(as_of=day, overdue=overdue,
                                               interval_days=interval_days)
    if as_json:
        _json_lines(worklist)
        return
    if not worklist:
        click.echo("No reviews due." if overdue else "No active or on-hold goals.")
        return
    click.echo(render_table(
        ["due", "", "goal", "subject", "status", "basis", "statement"],
        [[item["due_on"], click.style("OVERDUE", fg="red") if item["overdue"] else "",
          item["goal_id"], item["subject_id"], item["status"], item["basis"],
          item["statement"]] for item in worklist]))


@cli.group()
def projections() -> None:
    """Inspect, run and rebuild the read models.

    \b
    Example:
      goalflow projections status
    """


@projections.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one per projection.")
@click.pass_obj
def projections_status(obj: Context, as_json: bool) -> None:
    """Each projection's mode, position, the head of the log, and lag.

    \b
    Example:
      goalflow projections status --json
    """
    rows = obj.goals(readonly=True).projections.status()
    if as_json:
        _json_lines(rows)
        return
    click.echo(render_table(
        ["projection", "mode", "position", "head", "lag", "state"],
        [[r["name"], r["mode"], r["position"], r["head"], r["lag"], r["state"]] for r in rows]))


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@click.option("--restart", is_flag=True, help="Discard an interrupted rebuild and start over.")
@click.pass_obj
def projections_rebuild(obj: Context, names: tuple[str, ...], restart: bool) -> None:
    """Rebuild read models from the log (all, or the NAMEs given); resumes if interrupted.

    Readers keep seeing the old tables until the new ones are complete.

    \b
    Example:
      goalflow projections rebuild audit
    """
    registry = obj.goals().projections
    chosen = list(dict.fromkeys(names)) or sorted(registry.all)
    for name in chosen:
        registry.get(name)
    with _progress(f"rebuilding {', '.join(chosen)}") as progress:
        built = registry.rebuild_many(chosen, restart=restart, progress=progress)
    for name, events in built.items():
        click.echo(f"rebuilt {name} from {events} events")


@projections.command("run")
@click.argument("names", nargs=-1)
@click.option("--poll", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="Seconds between looks at the log when it is quiet.")
@click.pass_obj
def projections_run(obj: Context, names: tuple[str, ...], poll: float) -> None:
    """Keep worker-mode projections current until Ctrl-C (all worker ones, or NAMEs).

    \b
    Example:
      goalflow projections mode plans worker && goalflow projections run
    """
    goals = obj.goals()
    registry = goals.projections
    chosen = list(names) or [n for n, t in sorted(registry.tracking().items())
                             if t.mode == "worker" and n in registry.all]
    if not chosen:
        raise click.ClickException("no projection is in worker mode; set one with"
                                   " goalflow projections mode NAME worker")
    click.echo(f"following the log for {', '.join(chosen)} (Ctrl-C stops)", err=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop ends as cleanly
    try:
        registry.run(chosen, stop=lambda: False, wait=goals.store.wait_for_events, poll=poll,
                     on_batch=lambda name, n: click.echo(f"{name}: applied {n} events",
                                                         err=True),
                     on_fault=lambda e, pause: click.echo(
                         f"Warning: {e}; trying again in {pause:g} s", err=True))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@projections.command("mode")
@click.argument("name")
@click.argument("mode", type=click.Choice(["inline", "worker"]))
@click.pass_obj
def projections_mode(obj: Context, name: str, mode: str) -> None:
    """Set how projection NAME is kept current: inline (in each write) or worker.

    \b
    Example:
      goalflow projections mode plans worker
    """
    with _progress(f"catching {name} up") as progress:
        obj.goals().projections.set_mode(name, mode, progress)
    click.echo(f"{name} now runs {mode}")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def resolve_goal(goals: Goals, text: str) -> UUID:
    """A goal id, or a unique prefix of one (at least 6 hex digits), as git takes hashes."""
    try:
        return parse_goal_id(text)
    except InvalidCommand:
        prefix = text.lower()
        if not 6 <= len(prefix) < 36 or set(prefix) - set("0123456789abcdef-"):
            raise
    matches = [g["goal_id"] for g in goals.goal_index() if g["goal_id"].startswith(prefix)]
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


def render_event_line(record: dict[str, Any], *, full: bool = False) -> str:
    """One event: position, recorded time, goal, version, type, actor, and what it says."""
    if "problem" in record:  # an event this goalflow cannot read, shown raw
        mark = click.style("UNKNOWN" if record["unknown"] else "UNREADABLE", fg="red",
                           bold=True)
        return (f"#{record['position']:<6} {mark} {record['topic']} (goal {record['goal_id']}"
                f" v{record['version']}): {record['problem']}")
    actor = record["actor"]
    who = f"{actor['id']} ({actor['role']})"
    entry = {"event_type": record["type"], "details": record["data"],
             "reason": record["data"].get("reason")}
    summary = "; ".join(_summary(entry))
    # Fixed widths, so lines printed one at a time (--follow) still line up.
    kind = click.style(f"{record['type']:<{_TYPE_WIDTH}}", bold=True)
    recorded = datetime.fromisoformat(record["recorded_at"]).isoformat(timespec="seconds")
    # A narrow terminal gets git-style short ids; every GOAL_ID argument takes them.
    goal = record["goal_id"] if full or _terminal_width() >= 150 else record["goal_id"][:8]
    head = (f"#{record['position']:<6} {recorded}  {goal}"
            f"  v{record['version']:<4} {kind}  {who:<{_ACTOR_WIDTH}}")
    if not full:
        room = _terminal_width() - len(click.unstyle(head)) - 2
        return f"{head}  {shorten(summary, max(room, 20))}".rstrip()
    head = head.rstrip()
    lines = [head, f"       occurred {record['occurred_at']}"]
    for key, value in record["data"].items():
        lines.append(f"       {key}: {_brief_value(value)}")
    return "\n".join(lines)


_TYPE_WIDTH = max(len(name) for name in EVENT_TYPES)
_ACTOR_WIDTH = 24


def _is_regular(file: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # not a real file (a test's BytesIO)
        return False


def _terminal_width() -> int:
    # Piped output keeps every character, as a terminal of generous width would.
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 1000


def _brief_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return "-" if value is None else str(value)


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        yield sys.stdout.buffer
        return
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        yield out
    partial.replace(path)  # whole, or not at all


@contextlib.contextmanager
def _input(path: Path) -> Iterator[IO[bytes]]:
    if str(path) != "-":
        with path.open("rb") as source:
            yield source
        return
    with tempfile.TemporaryFile() as buffer:  # import reads twice: check, then load
        shutil.copyfileobj(sys.stdin.buffer, buffer)
        buffer.seek(0)
        yield buffer


def _json_lines(items: list[dict[str, Any]]) -> None:
    for item in items:
        click.echo(orjson.dumps(item).decode())


class _Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label,
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.length = max(total, 1)
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[_Progress]:
    progress = _Progress(label)
    try:
        yield progress
    finally:
        progress.close()


def shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def render_table(headers: list[str], rows: list[list[Any]]) -> str:
    """Aligned columns that fit the terminal; the last column is shortened to fit."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(click.unstyle(h))] + [len(click.unstyle(r[i])) for r in cells])
              for i, h in enumerate(headers)]
    if sys.stdout.isatty():  # piped output keeps every character
        room = shutil.get_terminal_size().columns - sum(widths[:-1]) - 2 * len(widths[:-1])
        widths[-1] = max(min(widths[-1], room), 10)

    def line(row: list[str]) -> str:
        parts = [c + " " * (w - len(click.unstyle(c))) for c, w in zip(row[:-1], widths,
                                                                      strict=False)]
        return "  ".join([*parts, shorten(row[-1], widths[-1])]).rstrip()

    return "\n".join([click.style(line(headers), bold=True), *(line(r) for r in cells)])


def render_plan_goal(goal: dict[str, Any]) -> str:
    status = click.style(goal["status"], fg=STATUS_COLOURS.get(goal["status"]), bold=True)
    kind = "  (group goal)" if goal["group_goal"] else ""
    lines = [f"{goal['goal_id']}  {status}  terms v{goal['terms_version']}{kind}",
             f"  {goal['statement']}"]
    if goal["awaiting_agreement"]:
        lines.append(f"  awaiting agreement from {', '.join(goal['awaiting_agreement_from'])}")
    lines.append(f"  target {goal['target_date'] or '-'}; next review"
                 f" {goal['next_review_on'] or '-'}")
    for step in goal["steps"]:
        mark = "[x]" if step["status"] == "completed" else "[ ]"
        lines.append(f"  {mark} {step['step_id']} {step['description']}")
    for m in goal["measures"]:
        latest = f", latest {m['latest']} ({m['latest_at'][:10]})" if m["latest"] is not None \
            else ""
        lines.append(f"  {m['name']}: baseline {_number(m['baseline'])}, target"
                     f" {_number(m['target'])} ({m['direction']}){latest}")
    return "\n".join(lines)


def render_audit_entry(entry: dict[str, Any], *, late_days: float = 2.0) -> str:
    who = f"{entry['actor_id']} ({entry['actor_role']}"
    who += f" for {entry['on_behalf_of']})" if entry["on_behalf_of"] else ")"
    late = ""
    if entry["late_seconds"] > late_days * 86400:
        late = click.style(f"  [entered {_duration(entry['late_seconds'])} late]", fg="yellow")
    lines = [f"#{entry['position']:<5} {entry['recorded_at']}  {entry['goal_id']}"
             f" v{entry['version']}  {click.style(entry['event_type'], bold=True)}"
             f"  by {who}{late}"]
    lines += [f"       {shorten(text, 100)}" for text in _summary(entry)]
    if entry["occurred_at"] != entry["recorded_at"]:
        lines.append(f"       occurred {entry['occurred_at']}")
    for change in entry.get("changes", ()):
        if change["change"] == "changed":
            lines.append(f"       {change['field']}: {shorten(_brief(change['before']), 45)}"
                         f" -> {shorten(_brief(change['after']), 45)}")
        elif change["change"] == "step reworded":
            lines.append(f"       step {change['step_id']} reworded: {change['before']!r} ->"
                         f" {change['after']!r}")
        else:
            text = change["after"] if change["change"] == "step added" else change["before"]
            lines.append(f"       {change['change']} {change['step_id']}: {text}")
    agreement = entry.get("agreement")
    if agreement:
        state = agreement["agreement"]
        if state == "agreed":
            state += f" at {agreement['agreed_at']}"
        elif state == "pending":
            waiting = [p for p in agreement["required_parties"]
                       if p not in agreement["agreed_parties"]]
            state += f" (awaiting {', '.join(waiting)})"
        else:
            state += f" by #{agreement['superseded_by']}"
        lines.append(f"       client agreement to terms v{agreement['terms_version']}: {state}")
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds // 86400} days"
    if seconds >= 3600:
        return f"{seconds // 3600} hours"
    return f"{seconds // 60} minutes"


def _summary(entry: dict[str, Any]) -> list[str]:
    """What an entry says, in a line or two, by event type."""
    d = entry["details"]
    kind = entry["event_type"]
    if kind == "Drafted":
        return [d["statement"]]
    if kind == "AgreedByClient":
        witness = f", witnessed by {d['witnessed_by']['id']}" if d["witnessed_by"] else ""
        return [f"{d['party']} agreed to terms v{d['terms_version']} ({d['method']}{witness})"]
    if kind == "ClientDisagreed":
        lines = [f"{d['party']} disagreed: {entry['reason']}"]
        if d["alternative"]:
            lines.append(f"would rather: {d['alternative']}")
        return lines
    if kind in ("StepCompleted", "StepReopened", "StepAdded"):
        text = d.get("description") or d.get("note") or entry["reason"]
        return [f"step {d['step_id']}" + (f": {text}" if text else "")]
    if kind == "ProgressRecorded":
        return [f"{d['measure']} = {_number(d['value'])}"]
    if kind == "ReviewHeld":
        line = f"outcome {d['outcome']}"
        if d["next_review_on"]:
            line += f"; next review {d['next_review_on']}"
        return [line] + ([d["notes"]] if d["notes"] else [])
    text = entry["reason"] or d.get("evidence")
    return [text] if text else []


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(v["name"] if isinstance(v, dict) and "name" in v else str(v)
                         for v in value) or "(none)"
    return "(none)" if value is None else str(value)

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
    cli(prog_name="goalflow")

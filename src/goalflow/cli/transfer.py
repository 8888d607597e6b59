"""Commands that move a store's record: export, import, migrate, and the demo store."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

import click

import goalflow
from goalflow import demo as demo_scenario
from goalflow import private_files, transfer
from goalflow.cli import _complete as complete
from goalflow.cli._context import Context
from goalflow.cli._options import parse_timestamp, resolve_goal
from goalflow.cli._output import progress_bar, render_goal
from goalflow.crypto import master


@click.command()
@click.option("--goal", "goal_ids", metavar="ID", multiple=True,
              shell_complete=complete.goal_ids,
              help="Only this goal (repeatable). Makes a partial export.")
@click.option("--since", metavar="T", help="Only events recorded at or after T. Makes a"
              " partial export.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (default stdout).")
@click.option("--with-keys", is_flag=True, help="An encrypted store: also write its data"
              " keys, wrapped by its master key (still needed to import).")
@click.pass_obj
def export(obj: Context, goal_ids: tuple[str, ...], since: str | None,
           output: Path | None, with_keys: bool) -> None:
    """Export events as JSON Lines; a complete export can rebuild the store with import.

    \b
    Example:
      goalflow export --output goals-2026-11.jsonl
    """
    goals = obj.goals(readonly=True)
    ids = [resolve_goal(goals, g) for g in goal_ids] or None
    moment = parse_timestamp("--since", since, end_of_day=False, goals=goals) if since else None
    with progress_bar("exporting") as progress, _output(output) as out:
        header = transfer.export(goals, out, goal_ids=ids, since=moment, progress=progress,
                                 with_keys=with_keys)
    if output is not None:
        click.echo(f"exported {header['events']} events and {header['commands']} command"
                   f" ids to {output}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path,
                                        allow_dash=True))
@click.pass_obj
def import_command(obj: Context, file: Path) -> None:
    """Load a complete export into an empty store (--db), then build its read models.

    \b
    Example:
      goalflow --db postgresql://ehr@db/goals import goals-2026-11.jsonl
    """
    with _input(file) as source, progress_bar("importing") as progress:
        # The file first: a bad export must not even create the target store.
        header = transfer.check(source)
        source.seek(0)
        done = transfer.import_(obj.goals(), source, progress=progress, header=header)
    if done.get("resumed"):
        click.echo(f"the store already holds these {header['events']} events and"
                   f" {header['commands']} command ids (an earlier import); read models built")
        return
    click.echo(f"imported {header['events']} events and {header['commands']} command ids")


@click.command()
@click.option("--to", "target", required=True, metavar="URL", help="The empty store to fill.")
@click.pass_obj
def migrate(obj: Context, target: str) -> None:
    """Copy the whole store into another (SQLite to PostgreSQL, say) and check both sides.

    \b
    Example:
      goalflow --db sqlite:///goalflow.db migrate --to postgresql://ehr@db/goals
    """
    source = obj.goals(readonly=True)
    encrypted = source.store.encrypted  # the copy is encrypted too, with the same master key
    key = master.from_file(obj.master_key_file) if obj.master_key_file else None
    with goalflow.open(target, master_key=key if encrypted else None) as destination, \
            tempfile.TemporaryFile() as buffer:
        with progress_bar("exporting") as progress:
            transfer.export(source, buffer, progress=progress, with_keys=encrypted)
        buffer.seek(0)
        with progress_bar("importing") as progress:
            header = transfer.import_(destination, buffer, progress=progress)
        with progress_bar("checking") as progress:
            ours = transfer.digest(source, progress)
            theirs = transfer.digest(destination, progress)
        zone, their_zone = source.timezone, destination.timezone
    if ours != theirs:
        raise click.ClickException(f"the copy differs: {ours[0]} events ({ours[1][:12]}) here,"
                                   f" {theirs[0]} ({theirs[1][:12]}) there")
    if zone != their_zone:
        raise click.ClickException(f"the copy takes its dates in time zone {their_zone}, this"
                                   f" store in {zone}")
    click.echo(f"migrated {header['events']} events and {header['commands']} command ids to"
               f" {destination.store.url}; read models built; counts and content digest"
               f" match (sha256 {ours[1][:16]}...)")


@click.command()
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
    # Today in the demo store's zone (UTC), not in this machine's.
    with demo_scenario.run(url, datetime.now(UTC).date()) as goals:
        goal = goals.get(demo_scenario.DEMO_GOAL_ID)
        click.echo(render_goal(goal, goals.tzinfo))
    click.echo(f"\nThe demo store is {out.absolute()}. Look around with:")
    click.echo(f"  goalflow --db {url} show {goal.id} --version 3")


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        yield sys.stdout.buffer
        return
    partial = path.with_name(path.name + ".partial")
    with private_files.open_private(partial, "wb") as out:  # 0600: clients' data
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


COMMANDS: Final = (export, import_command, migrate, demo)

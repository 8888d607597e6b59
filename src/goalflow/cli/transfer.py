"""Commands that move a store's record: export, import, migrate, and the demo store."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import click

import goalflow
from goalflow import demo as demo_scenario
from goalflow import private_files, transfer
from goalflow.cli import _complete as complete
from goalflow.cli._context import Context
from goalflow.cli._options import json_option, parse_timestamp, resolve_goal
from goalflow.cli._output import phases, print_json, progress_bar, render_goal
from goalflow.crypto import master


@click.command()
@click.option("--goal", "goal_ids", metavar="ID", multiple=True,
              shell_complete=complete.goal_ids,
              help="Only this goal (repeatable). Makes a partial export.")
@click.option("--subject", "subjects", metavar="ID", multiple=True,
              help="Only the goals of this client or group (repeatable). Makes a partial"
              " export.")
@click.option("--since", metavar="T", help="Only events recorded at or after T (each goal"
              " from its first such event on). Makes a partial export.")
@click.option("--occurred-since", metavar="T", help="Only events that happened"
              " (clinically) at or after T, whenever recorded (each goal from its first"
              " such event on). Makes a partial export.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (default stdout).")
@click.option("--with-keys", is_flag=True, help="An encrypted store: also write its data"
              " keys, wrapped by its master key (still needed to import).")
@json_option("With --output: print a summary object (the export itself is JSON Lines).")
@click.pass_obj
def export(obj: Context, goal_ids: tuple[str, ...], subjects: tuple[str, ...],
           since: str | None, occurred_since: str | None, output: Path | None,
           with_keys: bool, as_json: bool) -> None:
    """Export events as JSON Lines: a complete export rebuilds the store with import; a
    partial one (--goal, --subject, --since, --occurred-since) imports into any store.

    \b
    Examples:
      goalflow export --output goals-2026-11.jsonl
      goalflow export --subject client-7 --with-keys --output client-7.jsonl
    """
    if as_json and output is None:
        raise click.UsageError("--json needs --output (without it, stdout is the export)")
    goals = obj.goals(readonly=True)
    ids = [resolve_goal(goals, g) for g in goal_ids] or None
    moment = parse_timestamp("--since", since, end_of_day=False, goals=goals) if since else None
    happened = parse_timestamp("--occurred-since", occurred_since, end_of_day=False,
                               goals=goals) if occurred_since else None
    with progress_bar("exporting") as progress, _output(output) as out:
        header = transfer.export(goals, out, goal_ids=ids, subjects=list(subjects) or None,
                                 since=moment, occurred_since=happened, progress=progress,
                                 with_keys=with_keys)
    if as_json:
        print_json({"output": str(output), "events": header["events"],
                    "commands": header["commands"], "scope": header["scope"],
                    "encrypted": header.get("encrypted", False),
                    "with_keys": with_keys})
    elif output is not None:
        click.echo(f"exported {header['events']} events and {header['commands']} command"
                   f" ids to {output}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path,
                                        allow_dash=True))
@json_option("Print a JSON summary (what was imported, added and already held).")
@click.pass_obj
def import_command(obj: Context, file: Path, as_json: bool) -> None:
    """Load an export, then build its read models: a complete export into an empty store
    (--db), a partial one into any store it agrees with (merging; conflicts refused).

    \b
    Examples:
      goalflow --db postgresql://ehr@db/goals import goals-2026-11.jsonl
      goalflow --db sqlite:///clinic-b.db import client-7.jsonl
    """
    with _input(file) as source, phases(quiet=as_json) as phase:
        # The file first: a bad export must not even create the target store.
        header = transfer.check(source)
        source.seek(0)
        done = transfer.import_(obj.goals(), source, header=header, phase=phase)
    summary = _import_summary(done, obj.goals().store.url)
    if as_json:
        print_json(summary)
    elif done.get("resumed"):
        click.echo(f"the store already holds these {header['events']} events and"
                   f" {header['commands']} command ids (an earlier import); read models built")
    elif summary["complete"]:
        click.echo(f"imported {header['events']} events and {header['commands']} command ids")
    elif not summary["added"] and not summary["commands_added"]:
        click.echo(f"the store already holds these {header['events']} events and"
                   f" {header['commands']} command ids: nothing to import")
    else:
        held = f" ({summary['held']} events and {summary['commands_held']} command ids" \
            " already held)" if summary["held"] or summary["commands_held"] else ""
        click.echo(f"imported {summary['added']} events and {summary['commands_added']}"
                   f" command ids{held}")


def _import_summary(done: dict[str, Any], url: object) -> dict[str, Any]:
    """What ``import --json`` prints."""
    complete = bool(done.get("complete"))
    events, commands = done["events"], done["commands"]
    resumed = bool(done.get("resumed"))
    added = 0 if resumed else done.get("added", events)
    commands_added = 0 if resumed else done.get("commands_added", commands)
    return {"store": str(url), "complete": complete, "resumed": resumed,
            "events": events, "commands": commands, "added": added,
            "commands_added": commands_added, "held": events - added,
            "commands_held": commands - commands_added,
            "timezone": done["timezone"], "encrypted": bool(done.get("encrypted"))}


@click.command()
@click.option("--to", "target", required=True, metavar="URL", help="The empty store to fill.")
@json_option("Print a JSON summary (counts, digest, time zone).")
@click.pass_obj
def migrate(obj: Context, target: str, as_json: bool) -> None:
    """Copy the whole store into another (SQLite to PostgreSQL, say) and check both sides.

    \b
    Example:
      goalflow --db sqlite:///goalflow.db migrate --to postgresql://ehr@db/goals
    """
    source = obj.goals(readonly=True)
    encrypted = source.store.encrypted  # the copy is encrypted too, with the same master key
    key = master.from_file(obj.master_key_file) if obj.master_key_file else None
    with goalflow.open(target, master_key=key if encrypted else None) as destination, \
            tempfile.TemporaryFile() as buffer, phases(quiet=as_json) as phase:
        transfer.export(source, buffer, progress=phase("exporting"), with_keys=encrypted)
        buffer.seek(0)
        header = transfer.import_(destination, buffer, phase=phase)
        ours = transfer.digest(source, phase("checking this store's digest"))
        theirs = transfer.digest(destination, phase("checking the copy's digest"))
        zone, their_zone = source.timezone, destination.timezone
        url = destination.store.url
    if ours != theirs:
        raise click.ClickException(f"the copy differs: {ours[0]} events ({ours[1][:12]}) here,"
                                   f" {theirs[0]} ({theirs[1][:12]}) there")
    if zone != their_zone:
        raise click.ClickException(f"the copy takes its dates in time zone {their_zone}, this"
                                   f" store in {zone}")
    if as_json:
        print_json({"source": str(source.store.url), "target": str(url),
                    "events": header["events"], "commands": header["commands"],
                    "sha256": ours[1], "timezone": zone, "encrypted": encrypted,
                    "read_models_built": True, "digests_match": True})
        return
    click.echo(f"migrated {header['events']} events and {header['commands']} command ids to"
               f" {url}; read models built; counts and content digest"
               f" match (sha256 {ours[1][:16]}...)")


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to create the demo store (default: a new temporary directory).")
@json_option("Print a JSON summary (the store, its url, the goal) instead of the goal.")
@click.pass_obj
def demo(obj: Context, out: Path | None, as_json: bool) -> None:
    """Run the bundled anxiety-goal scenario into a fresh SQLite file and show the goal.

    \b
    Examples:
      goalflow demo --out demo.db
      goalflow demo --out demo.db --json
    """
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="goalflow-demo-")) / "demo.db"
    if out.exists():
        raise click.ClickException(f"{out} already exists; the demo needs a fresh file")
    url = f"sqlite:///{out.absolute()}"
    # Today in the demo store's zone (UTC), not in this machine's.
    with demo_scenario.run(url, datetime.now(UTC).date()) as goals:
        goal = goals.get(demo_scenario.DEMO_GOAL_ID)
        if as_json:
            with goals.store.recorder.transaction(commit=False) as tx:
                events = goals.store.head(tx)
            print_json({"path": str(out.absolute()), "url": url, "goal_id": str(goal.id),
                        "events": events, "goal": goal.to_dict()})
            return
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

"""Commands that inspect, run and rebuild the read models."""

from __future__ import annotations

from typing import Any, Final

import click
import orjson

import goalflow
from goalflow.application import Goals
from goalflow.cli import _complete as complete
from goalflow.cli._context import Context, stop_on_sigterm
from goalflow.cli._options import json_option, poll_option
from goalflow.cli._output import json_lines, print_json, progress_bar, render_table
from goalflow.persistence.replicas import Replay


@click.group()
def projections() -> None:
    """Inspect, run and rebuild the read models.

    \b
    Example:
      goalflow projections status
    """


@projections.command("status")
@click.option("--primary", metavar="URL", help="On a replica: the primary's store url, to"
              " say how many of its events the replica has yet to replay.")
@json_option("Print JSON Lines, one per projection (and, on a replica, one for its replay).")
@click.pass_obj
def projections_status(obj: Context, primary: str | None, as_json: bool) -> None:
    """Each projection's mode, position, the head of the log, and lag; on a replica, how
    far it has replayed the primary's log (position, and lag in seconds).

    \b
    Examples:
      goalflow projections status --json
      goalflow --db "$REPLICA" projections status --primary "$PRIMARY"
    """
    goals = obj.goals(readonly=True)
    rows = goals.projections.status()
    replay = _replay(goals, primary)
    if as_json:
        json_lines(rows + ([] if replay is None else [{"replica": replay.to_dict()}]))
        return
    click.echo(render_table(
        ["projection", "mode", "position", "head", "lag", "state"],
        [[r["name"], r["mode"], r["position"], r["head"], r["lag"], r["state"]] for r in rows]))
    if replay is not None:
        click.echo(replay.describe())


def _replay(goals: Goals, primary: str | None) -> Replay | None:
    """The store's replay state if it is a replica (against ``primary``, if given)."""
    if primary is None:
        return goals.replay()
    if not goals.store.replica:
        raise click.UsageError(f"--primary: store {goals.store.url} is not a replica")
    with goalflow.open(primary, readonly=True) as primary_goals:
        if primary_goals.store.replica:
            raise click.UsageError(f"--primary: store {primary_goals.store.url} is a"
                                   " replica, not the primary")
        return goals.replay(primary_goals)


@projections.command("rebuild")
@click.argument("names", nargs=-1, shell_complete=complete.projection_names)
@click.option("--restart", is_flag=True, help="Discard an interrupted rebuild and start over.")
@json_option("Print a JSON object: each projection rebuilt and the events it took.")
@click.pass_obj
def projections_rebuild(obj: Context, names: tuple[str, ...], restart: bool,
                        as_json: bool) -> None:
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
    with progress_bar(f"rebuilding {', '.join(chosen)}") as progress:
        built = registry.rebuild_many(chosen, restart=restart,
                                      progress=None if as_json else progress)
    if as_json:
        print_json({"rebuilt": [{"name": name, "events": events}
                                for name, events in built.items()]})
        return
    for name, events in built.items():
        click.echo(f"rebuilt {name} from {events} events")


@projections.command("run")
@click.argument("names", nargs=-1, shell_complete=complete.projection_names)
@poll_option("Seconds between looks at the log when it is quiet.")
@json_option("Print JSON Lines on stderr: one object per batch applied, and on stopping.")
@click.pass_obj
def projections_run(obj: Context, names: tuple[str, ...], poll: float, as_json: bool) -> None:
    """Keep worker-mode projections current until Ctrl-C (all worker ones, or NAMEs).

    \b
    Example:
      goalflow projections mode plans worker && goalflow projections run
    """
    goals = obj.goals()
    goals.store.refuse_writes("projections run")
    registry = goals.projections
    chosen = list(names) or [n for n, t in sorted(registry.tracking().items())
                             if t.mode == "worker" and n in registry.all]
    if not chosen:
        raise click.ClickException("no projection is in worker mode; set one with"
                                   " goalflow projections mode NAME worker")
    def say(text: str, **record: Any) -> None:
        click.echo(orjson.dumps(record).decode() if as_json else text, err=True)

    say(f"following the log for {', '.join(chosen)} (Ctrl-C stops)", following=chosen)
    stop_on_sigterm()
    try:
        registry.run(chosen, stop=lambda: False, wait=goals.store.wait_for_events, poll=poll,
                     on_batch=lambda name, n: say(f"{name}: applied {n} events",
                                                  projection=name, applied=n),
                     on_fault=lambda e, pause: say(
                         f"Warning: {e}; trying again in {pause:g} s", warning=str(e),
                         retry_in=pause))
    except KeyboardInterrupt:
        say("stopped", stopped=True)


@projections.command("mode")
@click.argument("name", shell_complete=complete.projection_names)
@click.argument("mode", type=click.Choice(["inline", "worker"]))
@json_option("Print a JSON object: the projection and its mode.")
@click.pass_obj
def projections_mode(obj: Context, name: str, mode: str, as_json: bool) -> None:
    """Set how projection NAME is kept current: inline (in each write) or worker.

    \b
    Example:
      goalflow projections mode plans worker
    """
    with progress_bar(f"catching {name} up") as progress:
        obj.goals().projections.set_mode(name, mode, None if as_json else progress)
    if as_json:
        print_json({"name": name, "mode": mode})
        return
    click.echo(f"{name} now runs {mode}")


COMMANDS: Final = (projections,)

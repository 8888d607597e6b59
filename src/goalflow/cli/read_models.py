"""Commands that inspect, run and rebuild the read models."""

from __future__ import annotations

from typing import Any, Final

import click
import orjson

from goalflow.cli import _complete as complete
from goalflow.cli._context import Context, stop_on_sigterm
from goalflow.cli._options import json_option, poll_option
from goalflow.cli._output import json_lines, print_json, progress_bar, render_table


@click.group()
def projections() -> None:
    """Inspect, run and rebuild the read models.

    \b
    Example:
      goalflow projections status
    """


@projections.command("status")
@json_option("Print JSON Lines, one per projection.")
@click.pass_obj
def projections_status(obj: Context, as_json: bool) -> None:
    """Each projection's mode, position, the head of the log, and lag.

    \b
    Example:
      goalflow projections status --json
    """
    rows = obj.goals(readonly=True).projections.status()
    if as_json:
        json_lines(rows)
        return
    click.echo(render_table(
        ["projection", "mode", "position", "head", "lag", "state"],
        [[r["name"], r["mode"], r["position"], r["head"], r["lag"], r["state"]] for r in rows]))


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

"""Commands that show and change the store's settings: its clinic time zone."""

from __future__ import annotations

from typing import Final

import click

from goalflow import zones
from goalflow.cli._context import Context
from goalflow.cli._options import json_option
from goalflow.cli._output import print_json


@click.group()
def config() -> None:
    """Show or change the store's settings.

    \b
    Example:
      goalflow config timezone America/Chicago
    """


@config.command("timezone")
@click.argument("name", required=False)
@click.option("--force", is_flag=True, help="Change it on a store that holds goals (review"
              " due dates worked out from agreement and review times may move by a day).")
@json_option("Print JSON: the zone, whether it is the default, and every change of it (with"
             " NAME: the zone, the one before, whether it changed).")
@click.pass_obj
def timezone(obj: Context, name: str | None, force: bool, as_json: bool) -> None:
    """Show the store's clinic time zone, or set it to NAME (an IANA name).

    Every calendar date is taken in it: the day of an agreement or a review, review due
    dates, the worklist's today, and a bare date given to --as-of, --since or --until. A
    store with none set is in UTC. Setting one on a store that does not exist yet creates
    it. On a store that holds goals a change needs --force; nothing recorded changes, and
    the read models follow at once.

    \b
    Examples:
      goalflow config timezone
      goalflow config timezone America/Chicago
      goalflow config timezone Europe/London --force --json
    """
    if name is None:
        if force:
            raise click.UsageError("--force goes with a NAME to set")
        _show(obj, as_json)
        return
    zones.clinic_zone(name)  # a name that is not a zone creates no store
    before = obj.goals().set_timezone(name, force=force)
    if as_json:
        print_json({"timezone": name, "previous": before, "changed": before != name})
    elif before == name:
        click.echo(f"the store's time zone is already {name}")
    else:
        click.echo(f"the store's time zone is now {name} (was {before})")


def _show(obj: Context, as_json: bool) -> None:
    goals = obj.goals(readonly=True)
    name, changes = goals.timezone, goals.timezone_history()
    if as_json:
        print_json({"timezone": name, "default": not changes, "changes": changes})
    elif not changes:
        click.echo(f"{name} (the default: no time zone set)")
    else:
        last = changes[-1]
        click.echo(f"{name} (set {last['set_at']}, from log position {last['position']})")


COMMANDS: Final = (config,)

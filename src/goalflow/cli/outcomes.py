"""The ``outcomes`` command: measurement-based care results for a subject, or the service."""

from __future__ import annotations

from typing import Any, Final

import click

from goalflow.cli._context import Context
from goalflow.cli._options import json_option, parse_date, parse_timestamp
from goalflow.cli._output import json_lines, print_json, render_outcomes, render_service


@click.command()
@click.argument("subject_id", required=False)
@click.option("--as-of", "as_of", metavar="T", help="As recorded at this moment (a date"
              " means its end, in the store's time zone).")
@click.option("--service", is_flag=True, help="Service-level figures over goals that ended,"
              " as NHS Talking Therapies reports them, instead of one subject's.")
@click.option("--since", metavar="DATE", help="With --service: goals that ended on or after"
              " this date (the clinic's calendar).")
@json_option("Print JSON: one line per goal and one for GAS (a subject), or one object"
             " (--service).")
@click.pass_obj
def outcomes(obj: Context, subject_id: str | None, as_of: str | None, service: bool,
             since: str | None, as_json: bool) -> None:
    """Print a subject's outcomes: each measure's change, reliable change (and the rule),
    clinical range, recovery and target; each goal's paired result and achievementStatus;
    the GAS T-scores. Or, with --service, the service's outcome rates.

    \b
    Examples:
      goalflow outcomes client-7
      goalflow outcomes client-7 --as-of 2026-03-01 --json
      goalflow outcomes --service --since 2026-01-01
    """
    if service == (subject_id is not None):
        raise click.UsageError("give a SUBJECT_ID or --service (not both)")
    if not service and since is not None:
        raise click.UsageError("--since goes with --service")
    if service and as_of is not None:
        raise click.UsageError("--as-of goes with a SUBJECT_ID")
    goals = obj.goals(readonly=True)
    if service:
        figures = goals.service_outcomes(
            since=None if since is None else parse_date("--since", since))
        if as_json:
            print_json(figures.to_dict())
        else:
            click.echo(render_service(figures.to_dict()))
        return
    assert subject_id is not None
    moment = None if as_of is None else parse_timestamp("--as-of", as_of, end_of_day=True,
                                                        goals=goals)
    result = goals.outcomes(subject_id, as_of=moment)
    if as_json:
        lines: list[dict[str, Any]] = [{"goal": g.to_dict()} for g in result.goals]
        json_lines([*lines, {"gas": result.gas.to_dict()}])
        return
    click.echo(render_outcomes(result.to_dict(), goals.tzinfo))


COMMANDS: Final = (outcomes,)

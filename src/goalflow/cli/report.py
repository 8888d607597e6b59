"""``goalflow report``: a goal's (or a client's goals') whole life as one HTML page, or PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click

from goalflow.cli import _complete as complete
from goalflow.cli._context import Context
from goalflow.cli._options import json_option, parse_timestamp, resolve_goal
from goalflow.cli._output import print_json
from goalflow.errors import StoreError
from goalflow.private_files import open_private
from goalflow.report.pdf import write_pdf


@click.command()
@click.argument("goal_id", required=False, shell_complete=complete.goal_ids)
@click.option("--subject", metavar="ID", help="Every goal of this client or group (and the"
              " group goals a client is a member of).")
@click.option("--as-of", "as_of", metavar="TIMESTAMP", help="The goal as recorded at this"
              " moment (a date means its end, in the store's time zone).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML page here (default: stdout).")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path),
              help="Also print it to this PDF file (needs a headless Chromium).")
@click.option("--late-days", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Mark entries recorded more than this many days after they occurred.")
@click.option("--interval", "interval_days", type=click.IntRange(min=1), default=90,
              show_default=True, envvar="GOALFLOW_REVIEW_INTERVAL_DAYS",
              help="Days between reviews when a review set no date, to judge on time.")
@json_option("With -o or --pdf: print a summary object of the files written.")
@click.pass_obj
def report(obj: Context, goal_id: str | None, subject: str | None, as_of: str | None,
           output: Path | None, pdf: Path | None, late_days: float,
           interval_days: int, as_json: bool) -> None:
    """Write one self-contained HTML page of a goal's life: terms, agreement, timeline,
    charts of its measures, and the log's verification.

    \b
    Examples:
      goalflow report 7a1f3e2c -o goal.html --pdf goal.pdf
      goalflow report --subject client-7 -o client-7.html
    """
    if (goal_id is None) == (subject is None):
        raise click.UsageError("give GOAL_ID or --subject, not both nor neither")
    if as_json and output is None and pdf is None:
        raise click.UsageError("--json needs -o or --pdf (without them, stdout is the page)")
    goals = obj.goals(readonly=True)
    moment = parse_timestamp("--as-of", as_of, end_of_day=True, goals=goals) if as_of else None
    chosen = resolve_goal(goals, goal_id) if goal_id else None
    html = goals.report(chosen, subject=subject,
                        as_of=moment, late_days=late_days, interval_days=interval_days)
    if pdf is not None:
        write_pdf(html, pdf)
    if output is None and pdf is None:
        click.echo(html, nl=False)
        return
    if output is not None:
        try:
            with open_private(output) as file:  # a report holds clients' words: 0600
                file.write(html.encode("utf-8"))
        except OSError as e:
            raise StoreError(f"cannot write {output}: {e.strerror}") from None
    if as_json:
        print_json({"output": None if output is None else str(output),
                    "pdf": None if pdf is None else str(pdf),
                    "goal_id": None if chosen is None else str(chosen),
                    "subject": subject, "bytes": len(html.encode("utf-8"))})


COMMANDS: Final = (report,)

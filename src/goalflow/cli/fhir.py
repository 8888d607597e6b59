"""Commands that speak FHIR: a goal, its history or a subject's goals as FHIR resources, and
FHIR Goals brought in."""

from __future__ import annotations

from typing import IO, Final

import click
import orjson

from goalflow.cli import _complete as complete
from goalflow.cli._context import Context
from goalflow.cli._options import parse_timestamp, resolve_goal
from goalflow.cli._output import print_json
from goalflow.domain.values import Actor
from goalflow.errors import InvalidCommand
from goalflow.fhir.codes import RELEASES

release_option = click.option("--release", type=click.Choice(RELEASES), default="R5",
                              show_default=True, help="The FHIR release to write.")


@click.command()
@click.argument("goal_id", required=False, shell_complete=complete.goal_ids)
@click.option("--version", "version", type=click.IntRange(min=1),
              help="The goal at this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="The goal as recorded at this moment (a date means its end).")
@click.option("--history", is_flag=True,
              help="A history Bundle: every version, newest first, each with its Provenance.")
@click.option("--subject", metavar="ID", help="A Bundle of this client's or group's goals.")
@click.option("--all", "include_closed", is_flag=True,
              help="With --subject: closed goals too (not those entered in error).")
@release_option
@click.pass_obj
def fhir(obj: Context, goal_id: str | None, version: int | None, as_of: str | None,
         history: bool, subject: str | None, include_closed: bool, release: str) -> None:
    """Print a goal as a FHIR Goal (JSON), or its history, or a subject's goals, as a Bundle.
    Never creates a store.

    \b
    Examples:
      goalflow fhir 7a1f3e2c --release R4B
      goalflow fhir 7a1f3e2c --history
      goalflow fhir --subject client-7 --all
    """
    if (goal_id is None) == (subject is None):
        raise click.UsageError("give a GOAL_ID or --subject, one of them")
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    if subject is not None and (version or as_of or history):
        raise click.UsageError("--subject takes no --version, --as-of or --history")
    if include_closed and subject is None:
        raise click.UsageError("--all goes with --subject")
    if history and (version or as_of):
        raise click.UsageError("--history gives every version; it takes no --version or"
                               " --as-of")
    goals = obj.goals(readonly=True)
    if subject is not None:
        print_json(goals.fhir_subject(subject, include_closed=include_closed,
                                      release=release), indent=True)
        return
    assert goal_id is not None
    gid = resolve_goal(goals, goal_id)
    if history:
        print_json(goals.fhir_history(gid, release=release), indent=True)
        return
    moment = parse_timestamp("--as-of", as_of, end_of_day=True, goals=goals) if as_of else None
    print_json(goals.fhir(gid, version=version, as_of=moment, release=release), indent=True)


@click.command("import-fhir")
@click.argument("file", type=click.File("rb"))
@click.option("--by", "by_id", metavar="ID", required=True,
              help="The clinician (or supervisor) bringing the goals in.")
@click.option("--role", type=click.Choice(("clinician", "supervisor")), default="clinician",
              show_default=True, help="Their role.")
@click.pass_obj
def import_fhir(obj: Context, file: IO[bytes], by_id: str, role: str) -> None:
    """Bring in a FHIR Goal, or a Bundle of Goals (R4B or R5; - for stdin).

    Prints one JSON result per command recorded (replayed: true when the same resource was
    imported before). What cannot be mapped is an error naming the element, and nothing is
    recorded.

    \b
    Example:
      goalflow import-fhir goal.json --by dr-lee
    """
    try:
        resource = orjson.loads(file.read())
    except orjson.JSONDecodeError as e:
        name = getattr(file, "name", "<stdin>")
        raise InvalidCommand(f"{name}: not JSON: {e}", field="file") from None
    goals = obj.goals()
    for outcome in goals.import_fhir(resource, by=Actor(by_id, role)):  # type: ignore[arg-type]
        print_json(outcome.to_dict())


COMMANDS: Final = (fhir, import_fhir)

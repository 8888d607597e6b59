"""The ``goalflow`` command line: the only place that imports click and wires things up.

The root group is here; the commands live in the modules named in ``COMMAND_MODULES``,
each with a ``COMMANDS`` list. Errors are said in one place (:mod:`goalflow.cli._context`),
shared options in :mod:`goalflow.cli._options`, output in :mod:`goalflow.cli._output`.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Final

import click

from goalflow.cli._context import Context, GoalflowGroup
from goalflow.cli._options import db_option, min_position_options

COMMAND_MODULES: Final = ("writing", "inspection", "read_models", "transfer", "integrity",
                          "config", "outcomes", "privacy", "report", "fhir")
"""The modules of ``goalflow.cli`` that hold commands: a new module is one more name here."""


@click.group(cls=GoalflowGroup)
@db_option
@click.option("--master-key-file", metavar="FILE", help="The store's master key (base64 of 32"
              " bytes): makes a new store encrypted, opens an encrypted one (default"
              " $GOALFLOW_MASTER_KEY).")
@click.option("--keys", metavar="URL", help="The encrypted store's key store (default: beside"
              " it, goals.db -> goals.keys.db).")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("--no-color", is_flag=True,
              help="No colours, even on a terminal (also when $NO_COLOR is set).")
@click.option("--no-pager", is_flag=True,
              help="Print long lists straight to the terminal, not through $PAGER.")
@functools.partial(min_position_options, expose=True)
@click.version_option(package_name="goalflow")
@click.pass_context
def cli(ctx: click.Context, url: str | None, master_key_file: str | None, keys: str | None,
        debug: bool, no_color: bool, no_pager: bool, min_position: int | None,
        wait: float | None) -> None:
    """goalflow: treatment goals as an event-sourced record.

    Every command takes the store from --db or $GOALFLOW_DB. Inspection
    commands open it read-only.

    \b
    Store urls:
      sqlite:///relative/path.db, sqlite:////absolute/path.db, memory://,
      postgresql://user[:password]@host[:port]/dbname[?schema=name&option=value...]
      (options: libpq's, such as sslmode, sslrootcert, application_name)

    --min-position reads a replica only once it has replayed the primary's
    log up to a command's position (apply prints it), for any command.

    \b
    Example:
      goalflow demo --out demo.db
      goalflow --db sqlite:///demo.db audit --event Revised
      goalflow --db "$REPLICA" --min-position 1042 plan client-7
    """
    if no_color or os.environ.get("NO_COLOR"):  # https://no-color.org: any value but ""
        ctx.color = False
    ctx.obj = Context(url, debug, master_key_file=master_key_file, keys=keys)
    ctx.obj.no_pager = no_pager
    ctx.obj.min_position, ctx.obj.wait = min_position, wait
    ctx.call_on_close(ctx.obj.close)


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_name}").COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="goalflow")

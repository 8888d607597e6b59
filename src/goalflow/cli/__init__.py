"""The ``goalflow`` command line: the only place that imports click and wires things up.

The root group is here; the commands live in the modules named in ``COMMAND_MODULES``,
each with a ``COMMANDS`` list. Errors are said in one place (:mod:`goalflow.cli._context`),
shared options in :mod:`goalflow.cli._options`, output in :mod:`goalflow.cli._output`.
"""

from __future__ import annotations

import importlib
from typing import Final

import click

from goalflow.cli._context import Context, GoalflowGroup
from goalflow.cli._options import db_option

COMMAND_MODULES: Final = ("writing", "inspection", "read_models", "transfer", "integrity",
                          "config", "fhir")
"""The modules of ``goalflow.cli`` that hold commands: a new module is one more name here."""


@click.group(cls=GoalflowGroup)
@db_option
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


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_name}").COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="goalflow")

"""Write the README's command reference from click: every command, its arguments and options.

``scripts/cli-reference`` rewrites the part of README.md between the two markers below;
``scripts/cli-reference --check`` exits 1 if it differs (tests/e2e/test_cli_reference.py does
the same, so the reference cannot fall behind the commands).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import click

from goalflow.cli import cli

README: Final = Path(__file__).resolve().parents[1] / "README.md"
BEGIN: Final = "<!-- cli-reference: begin (written by scripts/cli-reference; do not edit) -->"
END: Final = "<!-- cli-reference: end -->"


def render(group: click.Group = cli) -> str:
    """The reference as Markdown: the root options, then each command (and subcommand) in
    alphabetical order with its usage line, first help line, and a table of its options."""
    ctx = click.Context(group, info_name="goalflow")
    parts = ["Written from the commands themselves by `scripts/cli-reference` (a test fails"
             " when this differs from what they say); `goalflow COMMAND --help` says the same,"
             " with examples. Every command takes `--help`.", ""]
    parts += _command(ctx, group, "goalflow", root=True)
    for name, command, sub in _walk(ctx, group, "goalflow"):
        parts += _command(sub, command, name)
    return "\n".join(parts).rstrip() + "\n"


def _walk(ctx: click.Context, group: click.Group, prefix: str
          ) -> list[tuple[str, click.Command, click.Context]]:
    found = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        found.append((f"{prefix} {name}", command, sub))
        if isinstance(command, click.Group):
            found += _walk(sub, command, f"{prefix} {name}")
    return found


def _command(ctx: click.Context, command: click.Command, name: str, *, root: bool = False
             ) -> list[str]:
    usage = " ".join(command.collect_usage_pieces(ctx))
    title = "`goalflow` (options of every command, given before it)" if root else f"`{name}`"
    lines = [f"### {title}", "", f"`{name} {usage}`".replace("  ", " "), ""]
    summary = command.get_short_help_str(limit=200)
    if summary and not root:
        lines += [_cell(summary), ""]
    rows = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and (param.hidden or
                                                ("--help" in param.opts and not root)):
            continue  # every command takes --help: said once, at the root
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:
            if isinstance(param, click.Argument):
                rows.append((param.make_metavar(ctx), "argument"
                             + ("" if param.required else " (optional)")
                             + (", repeatable" if param.nargs == -1 else "")))
            continue
        rows.append(record)
    if rows:
        lines += ["| option | what it does |", "|---|---|"]
        lines += [f"| `{_cell(spec)}` | {_cell(text)} |" for spec, text in rows]
        lines.append("")
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def replaced(readme: str, reference: str) -> str:
    """The README with its reference section (between the markers) replaced."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {BEGIN!r} ... {END!r} section")
    return readme[: start + len(BEGIN)] + "\n\n" + reference + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    readme = README.read_text()
    wanted = replaced(readme, render())
    if argv[1:] == ["--check"]:
        if wanted != readme:
            print("README.md's command reference is out of date: run scripts/cli-reference",
                  file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print("usage: scripts/cli-reference [--check]", file=sys.stderr)
        return 2
    if wanted != readme:
        README.write_text(wanted)
        print("README.md: command reference rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

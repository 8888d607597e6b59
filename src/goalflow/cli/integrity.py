"""Commands for auditors: the log's digest, its verification, one goal's proof (checked
with no store), and read-only access on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson

from goalflow import private_files
from goalflow.cli import _complete as complete
from goalflow.cli._context import Context
from goalflow.cli._options import json_option, resolve_goal
from goalflow.cli._output import print_json, progress_bar, render_event_line
from goalflow.errors import StoreError
from goalflow.integrity import proofs
from goalflow.integrity.auditor import grant_auditor
from goalflow.integrity.digest import Digest, DigestError
from goalflow.integrity.verify import Verification

digest_option = click.option(
    "--digest", "kept", metavar="FILE|JSON",
    help="A digest kept from `goalflow digest --json`: its file, or its JSON itself.")


def _seconds(moment: str | None) -> str:
    """A recorded time as people read it, to the second."""
    return "?" if moment is None else datetime.fromisoformat(moment).isoformat("T", "seconds")


@click.command()
@json_option("Print the digest as JSON (what to keep).")
@click.pass_obj
def digest(obj: Context, as_json: bool) -> None:
    """The log's size and Merkle root now, with the time: keep it outside the system.

    \b
    Example:
      goalflow digest --json > digest-$(date +%F).json
    """
    taken = obj.goals(readonly=True).digest()
    if as_json:
        print_json(taken.as_json())
    else:
        click.echo(f"size {taken.size}  root {taken.root}  at {_seconds(taken.at)}")


@click.command()
@digest_option
@json_option("Print what was found as one JSON document.")
@click.pass_context
def verify(ctx: click.Context, kept: str | None, as_json: bool) -> None:
    """Recompute every leaf and the root from the stored events; exit 1 on damage.

    Names each kind of damage with the first position it affects. With --digest, also
    proves that the log still begins with the events that digest covered.

    \b
    Example:
      goalflow verify --digest digest-2026-12-03.json
    """
    obj: Context = ctx.obj
    goals = obj.goals(readonly=True)
    expected = None if kept is None else Digest.load(kept)
    with progress_bar("verifying the log") as bar:
        result = goals.verify(expected, progress=bar)
    if as_json:
        print_json(result.as_json(), indent=True)
    else:
        for line in _verification_lines(result):
            click.echo(line)
    if not result.intact:
        ctx.exit(1)


def _verification_lines(result: Verification) -> list[str]:
    lines = []
    if result.intact:
        lines.append(f"intact: {result.size} events, root {result.root}")
    else:
        lines.append(f"DAMAGED: {result.size} events checked, {len(result.damage)} kind(s)"
                     " of damage")
        lines += [f"  {d.kind}: {d.message}" for d in result.damage]
    began = result.began
    if began is not None:
        lines.append(f"chained from the store's creation ({_seconds(began.at)})"
                     if began.how == "created" else
                     f"chained from upgrade at position {began.position} on"
                     f" {_seconds(began.at)}: events up to it were chained as they were then")
    if result.digest is not None and result.intact:
        lines.append(f"the log begins with the {result.digest.size} events digested at"
                     f" {_seconds(result.digest.at)}")
    return lines


@click.command()
@click.argument("goal_id", shell_complete=complete.goal_ids)
@digest_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the proof to FILE (default: stdout).")
@json_option("With -o: print a summary object (the proof itself is JSON).")
@click.pass_obj
def prove(obj: Context, goal_id: str, kept: str | None, output: Path | None,
          as_json: bool) -> None:
    """One goal's events with their inclusion proofs against a kept digest, as JSON.

    \b
    Example:
      goalflow prove 7a1f3e2c --digest digest.json -o goal.proof.json
    """
    if kept is None:
        raise click.UsageError("prove needs --digest (a digest kept from goalflow digest)")
    if as_json and output is None:
        raise click.UsageError("--json needs -o (without it, stdout is the proof)")
    goals = obj.goals(readonly=True)
    proof = goals.prove(resolve_goal(goals, goal_id), Digest.load(kept))
    data = orjson.dumps(proof, option=orjson.OPT_INDENT_2) + b"\n"
    if output is None:
        click.echo(data, nl=False)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with private_files.open_private(partial, "wb") as out:  # 0600: it holds events
            out.write(data)
        partial.replace(output)  # all or nothing
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {output}: {e.strerror}") from None
    later = proof["events_after_digest"]
    if as_json:
        print_json({"output": str(output), "goal_id": proof["goal_id"],
                    "events": len(proof["events"]), "tree_size": proof["tree_size"],
                    "events_after_digest": later})
        return
    click.echo(f"proved {len(proof['events'])} events of goal {proof['goal_id']} against the"
               f" digest of {proof['tree_size']} events"
               + (f"; {later} later event(s) are not covered" if later else ""), err=True)


@click.command("check-proof")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@digest_option
@json_option("Print the proved events as JSON Lines.")
def check_proof(file: Path, kept: str | None, as_json: bool) -> None:
    """Check a goal's proof against a kept digest, with no store at all.

    Prints the goal's history when every event is proved; exits 1 naming the first bad
    event otherwise.

    \b
    Example:
      goalflow check-proof goal.proof.json --digest digest.json
    """
    if kept is None:
        raise click.UsageError("check-proof needs --digest (the digest the proof is against)")
    expected = Digest.load(kept)
    try:
        proof: Any = orjson.loads(file.read_bytes())
    except OSError as e:
        raise DigestError(f"cannot read proof {file}: {e.strerror}") from None
    except orjson.JSONDecodeError as e:
        raise DigestError(f"proof {file} is not JSON ({e})") from None
    try:
        events = proofs.check(proof, expected)
    except DigestError as e:
        raise DigestError(f"proof {file} is refused: {e}") from None
    if as_json:
        for event in events:
            print_json(event)
        return
    click.echo(f"proof {file}: {len(events)} events of goal {proof['goal_id']}, each in the"
               f" log of {expected.size} events with root {expected.root[:16]}...")
    for event in events:
        click.echo(render_event_line(event))
    if proof["events_after_digest"]:
        click.echo(f"({proof['note']})")


@click.command("grant-auditor")
@click.argument("role")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Set the role's password to this file's first line.")
@json_option("Print the role and the tables it can read as JSON.")
@click.pass_obj
def grant_auditor_command(obj: Context, role: str, password_file: Path | None,
                          as_json: bool) -> None:
    """PostgreSQL: a login role that can read this store's goalflow tables, nothing else.

    \b
    Example:
      goalflow --db postgresql://postgres@db/clinic grant-auditor auditor \\
        --password-file auditor.pw
    """
    password = None
    if password_file is not None:
        try:
            password = password_file.read_text().splitlines()[0].strip()
        except (OSError, IndexError):
            raise StoreError(f"cannot read a password from {password_file}") from None
        if not password:
            raise StoreError(f"{password_file} holds an empty password")
    goals = obj.goals()
    tables = grant_auditor(goals.store, role, password)
    if as_json:
        print_json({"role": role, "tables": tables})
        return
    click.echo(f"role {role} can read {len(tables)} tables of {goals.store.url} and write"
               " none" + ("" if password is None else "; its password was set"))


COMMANDS = (digest, verify, prove, check_proof, grant_auditor_command)

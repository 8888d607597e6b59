"""Commands of an encrypted store: forget a subject, retention holds, the master key."""

from __future__ import annotations

import os
from typing import Final

import click

from goalflow import private_files
from goalflow.cli._context import Context
from goalflow.cli._options import json_option, parse_date
from goalflow.cli._output import print_json
from goalflow.crypto import master
from goalflow.domain.values import Actor
from goalflow.errors import InvalidCommand

by_option = click.option("--by", "by", required=True, metavar="ACTOR",
                         help="Who does it: ID or ID:ROLE (role default clinician).")
reason_option = click.option("--reason", required=True, metavar="TEXT", help="Why.")


def _actor(text: str) -> Actor:
    actor_id, _, role = text.partition(":")
    return Actor(actor_id, role or "clinician")  # type: ignore[arg-type]  # Actor checks it


@click.command()
@click.argument("subject_id")
@by_option
@reason_option
@click.option("--override-hold", metavar="REASON",
              help="Forget even under a retention hold, for this reason (recorded).")
@json_option("Print JSON: the subject, its goals, the events' positions.")
@click.pass_obj
def forget(obj: Context, subject_id: str, by: str, reason: str, override_hold: str | None,
           as_json: bool) -> None:
    """Forget SUBJECT_ID (a client or group) for good: destroy their data key.

    Each of their goals gets a SubjectForgotten event (who, when, why; nothing they
    said), their read-model rows are deleted, and none of their events can be read again,
    in this store or in any copy of it. Refused while a retention hold is in force.

    \b
    Example:
      goalflow --master-key-file master.key forget client-7 --by dr-lee:clinician \\
        --reason "retention period ended"
    """
    done = obj.goals().forget(subject_id, by=_actor(by), reason=reason,
                              override_hold=override_hold)
    if as_json:
        print_json(done)
    else:
        click.echo(f"forgot {subject_id}: {len(done['goals'])} goal(s) erased, data key"
                   " destroyed")


@click.command("hold-retention")
@click.argument("subject_id")
@click.option("--until", required=True, metavar="DATE", help="Last day of the hold.")
@by_option
@reason_option
@json_option("Print the hold as JSON.")
@click.pass_obj
def hold_retention(obj: Context, subject_id: str, until: str, by: str, reason: str,
                   as_json: bool) -> None:
    """Hold SUBJECT_ID's data until DATE: forget is refused meanwhile.

    \b
    Example:
      goalflow hold-retention client-7 --until 2027-06-30 --by dr-achebe:supervisor \\
        --reason "subpoena 24-118"
    """
    held = obj.goals().hold_retention(subject_id, until=parse_date("--until", until),
                                      by=_actor(by), reason=reason)
    if as_json:
        print_json(held)
    else:
        click.echo(f"{subject_id} is held until {held['until']}")


@click.command("release-retention")
@click.argument("subject_id")
@by_option
@reason_option
@json_option("Print the released hold as JSON.")
@click.pass_obj
def release_retention(obj: Context, subject_id: str, by: str, reason: str,
                      as_json: bool) -> None:
    """End the retention hold on SUBJECT_ID.

    \b
    Example:
      goalflow release-retention client-7 --by dr-achebe:supervisor --reason "case closed"
    """
    released = obj.goals().release_retention(subject_id, by=_actor(by), reason=reason)
    if as_json:
        print_json(released)
    else:
        click.echo(f"the hold on {subject_id} (until {released['until']}) is released")


@click.command("retention-holds")
@json_option("Print the holds as a JSON list.")
@click.pass_obj
def retention_holds(obj: Context, as_json: bool) -> None:
    """List the retention holds in force.

    \b
    Example:
      goalflow --master-key-file master.key retention-holds --json
    """
    holds = obj.goals(readonly=True).retention_holds()
    if as_json:
        print_json(holds)
        return
    for h in holds:
        click.echo(f"{h['subject_id']}  until {h['until']}  by {h['by']}: {h['reason']}")
    if not holds:
        click.echo("no retention holds in force")


@click.command("rotate-master-key")
@click.option("--new-key-file", required=True, metavar="FILE", help="The new master key.")
@json_option("Print a JSON object: the data keys re-wrapped.")
@click.pass_obj
def rotate_master_key(obj: Context, new_key_file: str, as_json: bool) -> None:
    """Re-wrap every data key with the master key in FILE, in one transaction.

    No event is touched. Afterwards only the new key opens the store: give it as
    --master-key-file (or $GOALFLOW_MASTER_KEY) from now on. The count includes the
    data keys made ahead for subjects not yet seen (they are made 32 at a time).

    \b
    Example:
      goalflow new-master-key new.key
      goalflow --master-key-file master.key rotate-master-key --new-key-file new.key
    """
    count = obj.goals().rotate_master_key(master.from_file(new_key_file))
    if as_json:
        print_json({"rewrapped": count, "new_key_file": new_key_file})
    else:
        click.echo(f"{count} data key(s) re-wrapped (with those made ahead for new subjects);"
                   f" the store now opens with {new_key_file}")


@click.command("new-master-key")
@click.argument("file")
@json_option("Print a JSON object naming the file (never the key).")
def new_master_key(file: str, as_json: bool) -> None:
    """Write a new random master key (base64 of 32 bytes) to FILE, readable by you only.

    Keep it apart from the store and its backups: without it, nothing can be read.

    \b
    Example:
      goalflow new-master-key master.key
      goalflow --db sqlite:///goals.db --master-key-file master.key stats
    """
    if os.path.exists(file):
        raise InvalidCommand(f"{file} exists: a master key is never overwritten", field="file")
    with private_files.open_private(file, "x") as out:
        out.write(master.new_key_text() + "\n")
    if as_json:
        print_json({"written": file, "mode": "0600"})
    else:
        click.echo(f"master key written to {file} (mode 0600)")


COMMANDS: Final = (forget, hold_retention, release_retention, retention_holds,
                   rotate_master_key, new_master_key)

"""Importing a partial export: into an empty store, or merged into one holding other goals.

A partial export (``goalflow export --goal/--subject/--since/--occurred-since``) carries
some goals' events, each goal from some version on, with the command ids of those events
and, for a goal taken up past version 1, the count and SHA-256 of the versions left out
(``bases``). Importing it appends, in one transaction, what the target lacks:

- a goal the target does not hold is added with its ids, versions and bytes as exported
  (one taken up past version 1 is refused: the target must hold what it continues);
- a goal the target holds must agree with the file on every version both have, and on the
  versions the file leaves out (its base); the versions past the target's are appended;
- a command id the target holds must name the same command (goal, command, fingerprint,
  version, event); one the target lacks is added, pointing at the event here.

Anything else (a goal with different events, a command id used for another command, a
subject whose data key differs, a time zone that differs) is refused with one line naming
it, before anything is written. Importing the same file twice is therefore a no-op the
second time: everything in it is held, identical, and the result says so (``held``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import IO, Any
from uuid import UUID

from goalflow import transfer, zones
from goalflow.application import Goals
from goalflow.crypto import sealing
from goalflow.errors import StoreError
from goalflow.integrity import chain
from goalflow.persistence import settings
from goalflow.persistence.recorders import COMMANDS_TABLE, Tx

Progress = Callable[[int, int], None]
Phase = Callable[[str], Progress]
"""Starts a labelled phase of a long run and returns the callback of its progress."""

COMMAND_FIELDS = ("goal_id", "command", "fingerprint", "version", "event")
"""What makes a command record the same command in two stores (its position is the
event's, numbered by each store)."""


class MergeConflict(StoreError):
    """A partial export disagrees with the store it is imported into; names the goal (and
    the command id, or the subject) it disagrees on."""

    def __init__(self, message: str, *, goal_id: UUID | str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.goal_id = None if goal_id is None else UUID(str(goal_id))
        self.field = field


class _Goal:
    """One goal of the file: the versions it holds and their SHA-256s."""

    def __init__(self, goal_id: str, first: int) -> None:
        self.goal_id = goal_id
        self.first = first
        self.shas: list[str] = []
        self.positions: list[int] = []  # in the exported store


def merge(goals: Goals, source: IO[bytes], header: dict[str, Any],
          phase: Phase | None = None) -> dict[str, Any]:
    """Import a checked partial export (see the module's docstring); returns its header
    with ``added`` (events), ``commands_added`` and ``held`` (events already here)."""
    store = goals.store
    transfer.check_encryption(store, header)
    in_file, commands = _read(source, header)
    if header.get("keys"):  # before the events: keys without events are harmless
        assert store.sealer is not None
        store.sealer.keys.add_wrapped(header["keys"])
    progress = phase(transfer.COPYING) if phase else None
    with store.recorder.transaction(commit=True) as tx:
        store.lock_writers(tx)
        empty = not store.head(tx) and not tx.execute(
            f"SELECT 1 FROM {tx.table(COMMANDS_TABLE)} LIMIT 1").fetchone()
        ours = _check_zone(tx, store, header, empty)
        _check_subject_keys(tx, store, header)
        here = {g.goal_id: _compare(tx, store, g, header["bases"]) for g in in_file.values()}
        positions = {p: pos for g in in_file.values() for p, pos in
                     zip(g.positions, here[g.goal_id], strict=False) if pos is not None}
        new_commands = _new_commands(tx, store, commands)
        added = header["events"] - len(positions)
        if added or new_commands:
            _write_events(tx, store, source, positions, added, progress)
            for record in new_commands:
                transfer.insert_command(tx, record, positions)
            if header.get("subject_keys"):
                sealing.record_subject_keys(tx, [(str(s), str(k)) for s, k in
                                                 header["subject_keys"]])
            if empty and ours is None:
                transfer.insert_settings(tx, header["settings"], positions)
            store.notify_listeners(tx)
    transfer.finish_read_models(goals, phase)
    return {**header, "added": added, "commands_added": len(new_commands),
            "held": header["events"] - added,
            "commands_held": len(commands) - len(new_commands)}


def _read(source: IO[bytes], header: dict[str, Any]
          ) -> tuple[dict[str, _Goal], list[dict[str, Any]]]:
    """The file's goals (versions, SHA-256s) and command records, the events' states
    left in the file (read again when they are written)."""
    in_file: dict[str, _Goal] = {}
    commands: list[dict[str, Any]] = []
    for record in transfer.records(source):
        if record["kind"] == "event":
            goal = in_file.setdefault(record["goal_id"],
                                      _Goal(record["goal_id"], record["version"]))
            goal.shas.append(record["sha256"])
            goal.positions.append(record["position"])
        else:
            commands.append(record)
    return in_file, commands


def _check_zone(tx: Tx, store: Any, header: dict[str, Any], empty: bool
                ) -> settings.Setting | None:
    """The target must keep its dates in the exported store's zone (an empty store with
    none set takes it, with its history)."""
    ours = settings.current(tx, settings.TIMEZONE)
    if ours is None and empty:
        return None
    zone = ours.value if ours is not None else zones.DEFAULT_TIMEZONE
    if zone != header["timezone"]:
        raise StoreError(f"store {store.url} keeps its dates in time zone {zone}, but the"
                         f" exported store in {header['timezone']}: import into a store in"
                         f" {header['timezone']} (goalflow config timezone"
                         f" {header['timezone']}), or an empty one")
    return ours


def _check_subject_keys(tx: Tx, store: Any, header: dict[str, Any]) -> None:
    for subject, key_id in header.get("subject_keys") or []:
        theirs = sealing.subject_key(tx, str(subject))
        if theirs is not None and str(theirs) != str(key_id):
            raise MergeConflict(f"subject {subject} has another data key in store"
                                f" {store.url} than in the exported store (each store made"
                                " one): their goals cannot be merged into it", field="subject")


def _compare(tx: Tx, store: Any, goal: _Goal, bases: dict[str, Any]) -> list[int | None]:
    """Refuse a goal the target holds otherwise; returns, for each of the file's versions,
    its position here if the target holds it (identical), else None."""
    rows = tx.execute(
        f"SELECT originator_version, topic, state, {tx.position_column} FROM"
        f" {tx.table(store.events_table)} WHERE originator_id = ?"
        " ORDER BY originator_version", (tx.goal_id(UUID(goal.goal_id)),)).fetchall()
    held = len(rows)
    if goal.first > 1:
        if held < goal.first - 1:
            where = f"holds it only to version {held}" if held else "does not hold it"
            raise MergeConflict(f"goal {goal.goal_id}: the export takes it up at version"
                                f" {goal.first}, but store {store.url} {where}: import first"
                                " the export of its earlier versions", goal_id=goal.goal_id)
        base = hashlib.sha256()
        for version, topic, state, _ in rows[:goal.first - 1]:
            transfer.digest_event(base, UUID(goal.goal_id), version, topic, bytes(state))
        if base.hexdigest() != bases[goal.goal_id]["sha256"]:
            raise MergeConflict(f"goal {goal.goal_id} already exists in store {store.url}"
                                f" with different events (before version {goal.first})",
                                goal_id=goal.goal_id)
    found: list[int | None] = []
    for offset, sha in enumerate(goal.shas):
        version = goal.first + offset
        if version > held:
            found.append(None)
            continue
        _, topic, state, position = rows[version - 1]
        if transfer.event_sha(goal.goal_id, version, topic, bytes(state)) != sha:
            raise MergeConflict(f"goal {goal.goal_id} already exists in store {store.url}"
                                f" with different events (version {version} differs)",
                                goal_id=goal.goal_id)
        found.append(int(position))
    return found


def _new_commands(tx: Tx, store: Any, commands: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """The command records the target lacks; refuses one whose id it uses otherwise."""
    new = []
    for record in commands:
        row = tx.execute(f"SELECT goal_id, command, fingerprint, version, event FROM"
                         f" {tx.table(COMMANDS_TABLE)} WHERE command_id = ?",
                         (record["command_id"],)).fetchone()
        if row is None:
            new.append(record)
            continue
        held = (str(UUID(str(row[0]))), row[1], row[2], row[3], row[4])
        if held != tuple(record[f] for f in COMMAND_FIELDS):
            raise MergeConflict(f"command id {record['command_id']} is already used in store"
                                f" {store.url} for a different command (goal {held[0]}); the"
                                f" export's is of goal {record['goal_id']}",
                                goal_id=record["goal_id"], field="command_id")
    return new


def _write_events(tx: Tx, store: Any, source: IO[bytes], positions: dict[int, int],
                  added: int, progress: Progress | None) -> None:
    """Insert the file's events the target lacks, in the file's order, and chain them;
    ``positions`` gains each one's position here."""
    done = 0
    chained: list[chain.Row] = []
    for record in transfer.records(source):
        if record["kind"] != "event" or record["position"] in positions:
            continue
        chained.append(transfer.insert_event(tx, store, record))
        positions[record["position"]] = chained[-1][0]
        done += 1
        if done % transfer.BATCH == 0 or done == added:
            chain.append(tx, chained)
            chained.clear()
            if progress:
                progress(done, added)
    chain.append(tx, chained)

"""Moving a store: export to JSON Lines, import (a complete export into an empty store, a
partial one into any store it agrees with: :mod:`goalflow.merging`), digest to compare.

An export's first line says what it is::

    {"format": "goalflow-export", "format_version": 3, "complete": true, "events": 15,
     "timezone": "America/Chicago", "settings": [...], ...}

then one line per event, in log order, with its stored state as JSON and the
SHA-256 of the stored bytes, then one line per command id (the idempotency
record). A complete export rebuilds an identical store: the same goals,
versions, times, order, event bytes and command ids. Import checks the whole
file before it writes, then writes it in one transaction, so a bad or
truncated file leaves the target untouched. The store's clinic time zone goes with its
events: the header names it (``timezone``) and holds every change of it (``settings``),
which an import into a store with no zone set copies, in the events' transaction.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from uuid import UUID

from goalflow import zones
from goalflow.application import Goals
from goalflow.crypto import sealing
from goalflow.domain.goal import Goal
from goalflow.errors import GoalflowError, InvalidCommand, StoreError, UnreadableEvent
from goalflow.integrity import chain
from goalflow.persistence import formats, settings
from goalflow.persistence.codec import KNOWN_TOPICS, dumps, loads
from goalflow.persistence.recorders import COMMANDS_TABLE, Tx
from goalflow.version import goalflow_version

FORMAT = "goalflow-export"
FORMAT_VERSION = 3
"""Version 2 adds each command record's ``fingerprint_rule``; version 3 the header's
``timezone`` and ``settings`` (a goalflow that would drop them, taking the store's dates in
UTC, cannot read it). Files of versions 1 (goalflow 0.1, every record made by rule 1) and 2
still import, as stores in UTC, which they were."""
READABLE_VERSIONS = (1, 2, 3)
BATCH = 1000

Progress = Callable[[int, int], None]
Phase = Callable[[str], Progress]
"""Starts a labelled phase of a long run (an import's events, each read model) and
returns the callback that follows its progress."""
COPYING = "copying events"


class ExportFileError(GoalflowError, ValueError):
    """An export file cannot be imported; the message names the line."""


def export(
    goals: Goals,
    out: IO[bytes],
    *,
    goal_ids: list[UUID] | None = None,
    subjects: list[str] | None = None,
    since: datetime | None = None,
    occurred_since: datetime | None = None,
    progress: Progress | None = None,
    source: str | None = None,
    with_keys: bool = False,
) -> dict[str, Any]:
    """Write the store's events (all, or a part) to ``out``.

    A part is chosen by goal (``goal_ids``), by client or group (``subjects``), and by
    time: ``since`` (recorded at or after) and ``occurred_since`` (happened, clinically, at
    or after). A goal chosen by time is exported from its first event that matches,
    with every later version (a goal's versions cannot have gaps), and the header's
    ``bases`` names the versions left out before it (count and SHA-256), which the target
    of an import must hold. A partial export carries the command ids of its events.

    An encrypted store's events are written as they are stored, sealed (``ciphertext``,
    base64), the header saying ``encrypted``; ``with_keys`` adds its data keys, wrapped
    by its master key (``keys``), without which an import cannot read them."""
    store = goals.store
    if with_keys and store.sealer is None:
        raise InvalidCommand(f"store {store.url} is not encrypted: it has no keys to export",
                             field="with_keys")
    with store.recorder.transaction(commit=False) as tx:
        head = store.head(tx)
    complete = goal_ids is None and subjects is None and since is None \
        and occurred_since is None
    chosen = _chosen_goals(goals, goal_ids, subjects)
    picked = _Selection(goals, head, chosen, since, occurred_since)
    commands = _commands(goals, head, None if complete else picked.positions)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source or str(store.url), "complete": complete,
        "scope": {"goals": [str(g) for g in goal_ids] if goal_ids is not None else None,
                  "subjects": subjects,
                  "since": since.isoformat() if since else None,
                  "occurred_since": occurred_since.isoformat() if occurred_since else None},
        "events": picked.events, "commands": len(commands), "head": head,
        "timezone": goals.timezone,
        "settings": [s.to_dict() for s in store.setting_history(settings.TIMEZONE)],
    }
    if not complete:
        header["bases"] = picked.bases
    if store.sealer is not None:
        header["encrypted"] = True
        with store.recorder.transaction(commit=False) as tx:
            subject_keys = sealing.subject_keys(tx)
            if not complete:  # only the keys of the subjects whose goals go
                used = {str(key) for key in sealing.keys_of_goals(tx, picked.goal_ids)}
                subject_keys = [(s, k) for s, k in subject_keys if k in used]
        header["subject_keys"] = [list(row) for row in subject_keys]
        if with_keys:  # the subjects' keys (not those made ahead for subjects to come)
            header["keys"] = store.sealer.keys.wrapped_keys(
                [UUID(key_id) for _, key_id in subject_keys])
    out.write(dumps(header) + b"\n")
    events = picked.events
    for done, (position, notification) in enumerate(picked.notifications(), start=1):
        record: dict[str, Any] = {
            "kind": "event", "position": position,
            "goal_id": str(notification.originator_id),
            "version": notification.originator_version, "topic": notification.topic,
            "sha256": event_sha(str(notification.originator_id),
                                notification.originator_version, notification.topic,
                                notification.state),
        }
        try:
            if store.sealer is not None and sealing.key_id_of(notification.state):
                record["state"] = None
                record["ciphertext"] = base64.b64encode(notification.state).decode()
            else:
                record["state"] = loads(notification.state)
        except ValueError:  # damaged in the store: exported as it is, marked, not imported
            record["state"] = None
            record["unreadable_state"] = base64.b64encode(notification.state).decode()
        out.write(dumps(record) + b"\n")
        if progress and (done % BATCH == 0 or done == events):
            progress(done, events)
    for command in commands:
        out.write(dumps({"kind": "command", **command, "sha256": _command_sha(command)})
                  + b"\n")
    return header


def _chosen_goals(goals: Goals, goal_ids: list[UUID] | None, subjects: list[str] | None
                  ) -> list[UUID] | None:
    """The goals named, and those of the subjects named (None: every goal)."""
    if goal_ids is None and subjects is None:
        return None
    chosen = dict.fromkeys(goal_ids or [])
    for subject in subjects or []:
        theirs = [g.goal_id for g in goals.goal_index(subject=subject)]
        if not theirs:
            raise InvalidCommand(f"subject {subject!r} has no goals in store"
                                 f" {goals.store.url}", field="subject")
        chosen.update(dict.fromkeys(sorted(theirs)))
    return list(chosen)


class _Selection:
    """The events an export writes: of the chosen goals, each from its first event that
    matches the times given (every later version with it), read in one pass over the
    log; with, for a goal that starts past version 1, the digest of what it leaves out."""

    def __init__(self, goals: Goals, head: int, goal_ids: list[UUID] | None,
                 since: datetime | None, occurred_since: datetime | None) -> None:
        self._store = goals.store
        self._head = head
        self._goal_ids = goal_ids
        self.starts: dict[str, int] = {}  # goal id: its first version exported
        self.positions: set[int] = set()
        self.everything = goal_ids is None and since is None and occurred_since is None
        earlier: dict[str, Any] = {}  # goal id: SHA-256 of its versions before it starts
        self.events = 0
        if self.everything:  # a complete export: counted, no positions kept
            self.events = sum(1 for _ in self._scan())
            self.goal_ids: list[UUID] = []
            self.bases: dict[str, Any] = {}
            return
        for notification in self._scan():
            goal_id = str(notification.originator_id)
            if goal_id not in self.starts:
                if not self._matches(notification, since, occurred_since):
                    digest_event(earlier.setdefault(goal_id, hashlib.sha256()),
                                 UUID(goal_id), notification.originator_version,
                                 notification.topic, notification.state)
                    continue
                self.starts[goal_id] = notification.originator_version
            self.positions.add(notification.id)
        self.events = len(self.positions)
        self.goal_ids = [UUID(g) for g in self.starts]
        self.bases = {goal_id: {"version": start - 1,
                                "sha256": earlier[goal_id].hexdigest()}
                      for goal_id, start in self.starts.items() if start > 1}

    def _scan(self) -> Iterator[Any]:
        return iter(self._store.scan(upto=self._head, goal_ids=self._goal_ids, page=BATCH))

    def _matches(self, notification: Any, since: datetime | None,
                 occurred_since: datetime | None) -> bool:
        """Whether the event was recorded (and happened) at or after the times given; one
        that cannot be read is kept (a partial export must not silently drop what it
        cannot judge)."""
        if since is None and occurred_since is None:
            return True
        try:
            event = self._store.decode(notification)
        except UnreadableEvent:
            return True
        return (since is None or event.timestamp >= since) and \
            (occurred_since is None or event.occurred_at >= occurred_since)

    def notifications(self) -> Iterator[tuple[int, Any]]:
        for notification in self._scan():
            if self.everything or notification.id in self.positions:
                yield notification.id, notification


def _commands(goals: Goals, head: int, positions: set[int] | None) -> list[dict[str, Any]]:
    """The command ids (the idempotency records) of the events exported (None: all)."""
    with goals.store.recorder.transaction(commit=False) as tx:
        # A store not yet upgraded (inspection never upgrades) made every record by rule 1.
        rule = "fingerprint_rule" if formats.has_fingerprint_rules(tx) else "1"
        rows = tx.execute(
            "SELECT command_id, goal_id, command, fingerprint, version, event,"
            f" notification_id, {rule} FROM {tx.table(COMMANDS_TABLE)}"
            " WHERE notification_id <= ? ORDER BY notification_id, command_id", (head,)
        ).fetchall()
    return [
        {"command_id": r[0], "goal_id": str(UUID(str(r[1]))), "command": r[2],
         "fingerprint": r[3], "fingerprint_rule": r[7], "version": r[4], "event": r[5],
         "position": r[6]}
        for r in rows if positions is None or r[6] in positions
    ]


def event_sha(goal_id: str, version: int, topic: str, state: bytes) -> str:
    """SHA-256 of what makes an event: its goal, version, topic and stored bytes."""
    return hashlib.sha256(f"{goal_id}\n{version}\n{topic}\n".encode() + state).hexdigest()


def _command_sha(command: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(command)).hexdigest()


def check(source: IO[bytes]) -> dict[str, Any]:
    """Read a whole export and check it can be imported; returns its header."""
    header: dict[str, Any] | None = None
    events = commands = 0
    versions: dict[str, int] = {}
    positions: set[int] = set()
    last_position = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except Exception:
            raise ExportFileError(f"line {number}: not valid JSON") from None
        if header is None:
            header = _check_header(record)
            continue
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind == "event":
            _check_event(number, record, versions, last_position, header["bases"])
            last_position = record["position"]
            positions.add(last_position)
            events += 1
        elif kind == "command":
            fields = {k: v for k, v in record.items() if k not in ("kind", "sha256")}
            if _command_sha(fields) != record.get("sha256"):
                raise ExportFileError(f"line {number}: the command record does not match its"
                                      " SHA-256")
            if fields.get("fingerprint_rule", 1) not in (1, 2):
                raise ExportFileError(f"line {number}: fingerprint_rule"
                                      f" {fields.get('fingerprint_rule')!r} is not one this"
                                      " goalflow knows (1, 2)")
            if fields.get("position") not in positions:
                raise ExportFileError(f"line {number}: the command record points at no event"
                                      " in the file")
            commands += 1
        else:
            raise ExportFileError(f"line {number}: neither an event nor a command")
    if header is None:
        raise ExportFileError("the file is empty: not a goalflow export")
    if (events, commands) != (header["events"], header["commands"]):
        raise ExportFileError(
            f"the export says {header['events']} events and {header['commands']} commands"
            f" but holds {events} and {commands}: it is truncated or was edited")
    return header


def _check_header(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ExportFileError("line 1: not a goalflow export (no goalflow-export header)")
    if record.get("format_version") not in READABLE_VERSIONS:
        raise ExportFileError(f"line 1: export format version {record.get('format_version')!r}"
                              " is not one this goalflow reads"
                              f" ({', '.join(map(str, READABLE_VERSIONS))})")
    _check_settings(record)
    _check_bases(record)
    return record


def _check_bases(header: dict[str, Any]) -> None:
    """A partial export's ``bases``: for each goal it takes up past version 1, how many
    versions it leaves out and their SHA-256 (a complete export has none)."""
    bases = header.setdefault("bases", {})
    if header.get("complete") and bases:
        raise ExportFileError("line 1: a complete export cannot leave out versions (bases)")
    if not isinstance(bases, dict) or not all(
            isinstance(b, dict) and isinstance(b.get("version"), int) and b["version"] >= 1
            and isinstance(b.get("sha256"), str) for b in bases.values()):
        raise ExportFileError("line 1: bases must map goal ids to {version, sha256}")


def is_partial(header: dict[str, Any]) -> bool:
    """Whether a (checked) export holds part of a store: some goals, or since a time."""
    return not header.get("complete")


def _check_settings(header: dict[str, Any]) -> None:
    """The header's time zone and its changes (version 3): well formed, and zones this
    machine knows, so that the store they rebuild reads its dates as the one exported."""
    zone = header.setdefault("timezone", zones.DEFAULT_TIMEZONE)
    changes = header.setdefault("settings", [])
    try:
        zones.clinic_zone(zone)
        if not isinstance(changes, list):
            raise ValueError("settings must be a list")
        for change in changes:
            if not isinstance(change, dict) or change.get("name") != settings.TIMEZONE:
                raise ValueError("a setting this goalflow does not know")
            zones.clinic_zone(change.get("value"))
            datetime.fromisoformat(change["set_at"])
            if not all(isinstance(change.get(k), int) and change[k] >= 0
                       for k in ("seq", "position")) or not isinstance(change["goalflow"], str):
                raise ValueError("a setting's seq, position and goalflow are missing")
        last = changes[-1]["value"] if changes else zones.DEFAULT_TIMEZONE
        if last != zone:
            raise ValueError(f"the time zone {zone} is not the last one set ({last})")
    except (GoalflowError, ValueError, KeyError, TypeError) as e:
        raise ExportFileError(f"line 1: the store's time zone: {e}") from None


def _check_event(number: int, record: dict[str, Any], versions: dict[str, int],
                 last_position: int, bases: dict[str, Any]) -> None:
    if "unreadable_state" in record:
        raise ExportFileError(f"line {number}: the event at position {record.get('position')}"
                              " was unreadable in the store it came from (damaged); it cannot"
                              " be imported")
    try:
        state = _stored_state(record)
        goal_id, version, position = record["goal_id"], record["version"], record["position"]
        topic = str(record["topic"])
        UUID(goal_id)
    except (KeyError, TypeError, ValueError):
        raise ExportFileError(f"line {number}: an event needs goal_id, version, position,"
                              " topic, state and sha256") from None
    if event_sha(goal_id, version, topic, state) != record.get("sha256"):
        raise ExportFileError(f"line {number}: the event's content does not match its SHA-256")
    cls = KNOWN_TOPICS.get(topic)
    if cls is None or cls is Goal.Snapshot:
        newer = " this goalflow knows (exported by a newer goalflow?)" \
            if topic.startswith("goalflow:Goal.") else ""
        raise ExportFileError(f"line {number}: {topic!r} is not a goalflow event{newer}")
    stored_version = record["state"].get("class_version", 1) \
        if isinstance(record["state"], dict) else 1  # (a ciphertext's is sealed within)
    if stored_version != 1 and (not isinstance(stored_version, int)
                                or stored_version > cls.class_version):  # type: ignore[attr-defined]
        raise ExportFileError(
            f"line {number}: {topic} version {stored_version!r} is newer than this goalflow"
            f" {goalflow_version()} knows ({cls.class_version}): it was exported by a newer"  # type: ignore[attr-defined]
            " goalflow")
    if not isinstance(position, int) or position <= last_position:
        raise ExportFileError(f"line {number}: positions must increase")
    expected = versions.get(goal_id, bases.get(goal_id, {}).get("version", 0)) + 1
    if version != expected:
        raise ExportFileError(f"line {number}: goal {goal_id} jumps to version {version}"
                           f" (expected {expected})")
    versions[goal_id] = version


def import_(goals: Goals, source: IO[bytes], *, progress: Progress | None = None,
            header: dict[str, Any] | None = None, phase: Phase | None = None
            ) -> dict[str, Any]:
    """Load an export, in one transaction, then build the read models.

    A complete export goes into an empty store. A store that already holds exactly this
    export (an import stopped while its read models were built) is finished instead of
    refused, so an import can be run again. A partial export goes into any store whose
    record agrees with it (:mod:`goalflow.merging`).

    The whole file is checked first, unless the caller just did and passes the
    ``header`` that :func:`check` returned. ``phase`` starts each labelled phase (the
    events copied, then each read model built) and takes its progress; ``progress``
    alone follows the events copied.
    """
    goals.store.refuse_writes("import")
    if header is None:
        header = check(source)
    if phase is None and progress is not None:
        phase = _events_only(progress)
    if is_partial(header):
        from goalflow import merging  # (it builds on this module's records)
        return merging.merge(goals, source, header, phase)
    source.seek(0)
    store = goals.store
    if _holds_anything(goals):
        # Imported before (the run was stopped while the read models were built)?
        # Then finish that; anything else is refused.
        if digest(goals) != _file_digest(source) or _command_count(goals) != header["commands"]:
            raise StoreError(f"store {store.url} is not empty (and does not hold this export);"
                             " import only into an empty store")
        finish_read_models(goals, phase)
        return {**header, "resumed": True}
    source.seek(0)
    check_encryption(store, header)
    if header.get("keys"):  # before the events: keys without events are harmless
        assert store.sealer is not None
        store.sealer.keys.add_wrapped(header["keys"])
    positions: dict[int, int] = {}
    progress = phase(COPYING) if phase else None
    with store.recorder.transaction(commit=True) as tx:
        store.lock_writers(tx)
        if store.head(tx) or tx.execute(
                f"SELECT 1 FROM {tx.table(COMMANDS_TABLE)} LIMIT 1").fetchone():
            raise StoreError(f"store {store.url} is not empty; import only into an empty"
                             " store")
        ours = settings.current(tx, settings.TIMEZONE)
        if ours is not None and ours.value != header["timezone"]:
            raise StoreError(f"store {store.url} is set to time zone {ours.value}, but the"
                             f" exported store kept its dates in {header['timezone']}; import"
                             " into a store with no time zone set, or set to that one")
        done = 0
        chained: list[chain.Row] = []  # inserted, to be chained in a batch
        for record in records(source):
            if record["kind"] == "event":
                chained.append(insert_event(tx, store, record))
                positions[record["position"]] = chained[-1][0]
                done += 1
                if done % BATCH == 0 or done == header["events"]:
                    chain.append(tx, chained)
                    chained.clear()
                    if progress:
                        progress(done, header["events"])
            else:
                insert_command(tx, record, positions)
        chain.append(tx, chained)
        if header.get("subject_keys"):
            sealing.record_subject_keys(tx, [(str(s), str(k)) for s, k in
                                             header["subject_keys"]])
        if ours is None:  # a store whose zone was set keeps its own record of it
            insert_settings(tx, header["settings"], positions)
        store.notify_listeners(tx)  # as the recorder's own inserts do, so followers wake
    finish_read_models(goals, phase)
    return header


def finish_read_models(goals: Goals, phase: Phase | None = None) -> None:
    """Bring every read model up to the log, each as a phase of its own."""
    for name in sorted(goals.projections.all):
        goals.projections.catch_up(name, phase(f"building read model {name}") if phase
                                   else None)


def _events_only(progress: Progress) -> Phase:
    """Phases of which only the events copied are followed, by ``progress``."""
    def phase(label: str) -> Progress:
        return progress if label == COPYING else _ignore
    return phase


def _ignore(done: int, total: int) -> None:
    """A phase's progress nobody follows."""


def _holds_anything(goals: Goals) -> bool:
    with goals.store.recorder.transaction(commit=False) as tx:
        return bool(goals.store.head(tx)) or _command_count(goals, tx) > 0


def _command_count(goals: Goals, tx: Tx | None = None) -> int:
    if tx is None:
        with goals.store.recorder.transaction(commit=False) as tx:
            return _command_count(goals, tx)
    row = tx.execute(f"SELECT COUNT(*) FROM {tx.table(COMMANDS_TABLE)}").fetchone()
    return int(row[0]) if row else 0


def records(source: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The records of a (checked) export after its header, in the file's order (its
    first line that is not blank: :func:`check` allows blank lines anywhere)."""
    source.seek(0)
    lines = (line for line in source if line.strip())
    next(lines, None)  # the header
    for line in lines:
        yield loads(line)


def _file_digest(source: IO[bytes]) -> tuple[int, str]:
    """:func:`digest` of the events in a (checked) export, as they would be stored (an
    encrypted export's: their ciphertext)."""
    sha = hashlib.sha256()
    count = 0
    for record in records(source):
        if record["kind"] == "event":
            digest_event(sha, UUID(record["goal_id"]), record["version"], record["topic"],
                          _stored_state(record))
            count += 1
    return count, sha.hexdigest()


def digest_event(sha: Any, goal_id: UUID, version: int, topic: str, state: bytes) -> None:
    sha.update(goal_id.bytes + version.to_bytes(8, "big") + topic.encode() + b"\0"
               + len(state).to_bytes(8, "big") + state)


def _stored_state(record: dict[str, Any]) -> bytes:
    """An exported event's bytes as they were stored: its JSON state, or its ciphertext."""
    if record.get("ciphertext") is not None:
        state = base64.b64decode(record["ciphertext"], validate=True)
        if sealing.key_id_of(state) is None:
            raise ValueError("not a sealed state")
        return state
    return dumps(record["state"])


def check_encryption(store: Any, header: dict[str, Any]) -> None:
    """An encrypted export goes into an encrypted store (with the same master key) and
    brings its keys; an unencrypted one into an unencrypted store."""
    if header.get("encrypted") and store.sealer is None:
        raise StoreError(f"the export is of an encrypted store; import it into a store opened"
                         f" with its master key (store {store.url} is not encrypted)")
    if store.sealer is not None and not header.get("encrypted"):
        raise StoreError(f"store {store.url} is encrypted; this export is not (importing it"
                         " would keep its events in clear): import it into an unencrypted store")
    if header.get("encrypted") and "keys" not in header:
        raise StoreError("the export carries no data keys, so its events could not be read:"
                         " export it again with --with-keys")


def insert_event(tx: Tx, store: Any, record: dict[str, Any]) -> chain.Row:
    """Store an exported event; returns it as stored, with its position, for the chain."""
    goal_id = UUID(record["goal_id"])
    table = tx.table(store.events_table)
    state = _stored_state(record)
    key_id = sealing.key_id_of(state)
    if key_id is not None and record["version"] == 1:
        tx.execute(f"INSERT INTO {tx.table(sealing.GOAL_KEYS_TABLE)} (goal_id, key_id) VALUES"
                   " (?, ?)", (tx.goal_id(goal_id), str(key_id)))
    if tx.dialect == "sqlite":
        tx.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
                   " VALUES (?, ?, ?, ?)", (tx.goal_id(goal_id), record["version"],
                                            record["topic"], state))
        position = int(tx.cursor.lastrowid)
    else:
        row = tx.execute(f"INSERT INTO {table} (originator_id, originator_version, topic,"
                         " state) VALUES (?, ?, ?, ?) RETURNING notification_id",
                         (goal_id, record["version"], record["topic"], state)).fetchone()
        assert row is not None
        position = int(row[0])
    return position, goal_id, record["version"], record["topic"], state


def insert_settings(tx: Tx, changes: list[dict[str, Any]], positions: dict[int, int]
                     ) -> None:
    """Copy the exported store's changes of its time zone, each at the position here of
    the last event it came after."""
    exported = sorted(positions)
    for seq, change in enumerate(changes, start=1):
        before = bisect.bisect_right(exported, change["position"])
        position = positions[exported[before - 1]] if before else 0
        settings.insert(tx, settings.Setting(
            change["name"], seq, change["value"], datetime.fromisoformat(change["set_at"]),
            position, change["goalflow"]))


def insert_command(tx: Tx, record: dict[str, Any], positions: dict[int, int]) -> None:
    goal_id = UUID(record["goal_id"])
    tx.execute(
        f"INSERT INTO {tx.table(COMMANDS_TABLE)} (command_id, goal_id, command, fingerprint,"
        " version, event, notification_id, fingerprint_rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (record["command_id"], tx.goal_id(goal_id),
         record["command"], record["fingerprint"], record["version"], record["event"],
         positions.get(record["position"], record["position"]),
         record.get("fingerprint_rule", 1)))


def digest(goals: Goals, progress: Progress | None = None) -> tuple[int, str]:
    """(events, SHA-256) over every event's goal, version, topic and stored bytes, in order.

    Positions are left out: a PostgreSQL sequence can skip numbers, so two stores
    with the same events in the same order can number them differently.
    """
    store = goals.store
    sha = hashlib.sha256()
    count = 0
    with store.recorder.transaction(commit=False) as tx:
        head = store.head(tx)
    for n in store.scan(upto=head, page=BATCH):
        digest_event(sha, UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
        count += 1
        if progress and count % BATCH == 0:
            progress(n.id, head)
    if progress:
        progress(head, head)
    return count, sha.hexdigest()


"""Each event's (and snapshot's) stored state encrypted with its subject's data key.

A sealed state is ``\\x00gfe1`` + the data key's id (16 bytes) + a fresh 96-bit nonce +
AES-256-GCM ciphertext and tag. The associated data is the event's identity, (goal id,
version, topic): a ciphertext copied onto another event, or a snapshot's onto an event,
does not open. What stays in clear beside it: the goal id, version, topic, the
position in the log and the row's own columns; the time an event was recorded is inside the
ciphertext. ``SubjectForgotten`` events are stored in clear (they hold no client data).

In the event store, ``goalflow_encryption`` marks a store as encrypted (its ``store_id``,
which its key store must name), ``goalflow_retention_holds`` keeps retention holds
(:mod:`goalflow.crypto.erasure`), ``goalflow_subject_keys`` says which data key is each
subject's (written with the subject's first goal, in its transaction; the key store itself
knows no subjects) and ``goalflow_goal_keys`` maps each goal id to the id of
the data key its events are sealed with (an id, never a key, nor the subject's id), so that
forgetting a subject finds its goals.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from goalflow.crypto.keystore import KeyStore
from goalflow.crypto.master import NONCE_BYTES
from goalflow.domain.goal import EVENT_CLASSES, Goal
from goalflow.errors import InvalidCommand, StoreError
from goalflow.persistence.recorders import Dialect, Tx

MAGIC = b"\x00gfe1"
_KEY_ID = slice(len(MAGIC), len(MAGIC) + 16)
_NONCE = slice(_KEY_ID.stop, _KEY_ID.stop + NONCE_BYTES)
HEADER = _NONCE.stop

ENCRYPTION_TABLE = "goalflow_encryption"
GOAL_KEYS_TABLE = "goalflow_goal_keys"
SUBJECT_KEYS_TABLE = "goalflow_subject_keys"
SPARE_KEYS = 32
"""Data keys a process makes at a time, ahead of the new subjects that will need them."""
HOLDS_TABLE = "goalflow_retention_holds"
PLAIN_TOPICS = frozenset({Goal.SubjectForgotten.TOPIC})
"""Events stored in clear in an encrypted store: they hold no client data."""


class KeyDestroyed(Exception):
    """The data key an event was sealed with is no longer in the key store."""

    def __init__(self, key_id: UUID) -> None:
        super().__init__(f"its data key {key_id} was destroyed")
        self.key_id = key_id


def tables(dialect: Dialect, schema: str) -> list[str]:
    """CREATE statements of the encryption tables in the event store."""
    def name(table: str) -> str:
        return f'"{schema}"."{table}"' if schema else f'"{table}"'

    text, uuid, suffix = (("TEXT", "TEXT", " WITHOUT ROWID") if dialect == "sqlite"
                          else ("text", "uuid", ""))
    serial = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "bigserial PRIMARY KEY"
    return [
        f"CREATE TABLE IF NOT EXISTS {name(ENCRYPTION_TABLE)} (name {text} PRIMARY KEY,"
        f" value {text} NOT NULL){suffix}",
        f"CREATE TABLE IF NOT EXISTS {name(GOAL_KEYS_TABLE)} (goal_id {uuid} PRIMARY KEY,"
        f" key_id {text} NOT NULL){suffix}",
        f"CREATE TABLE IF NOT EXISTS {name(SUBJECT_KEYS_TABLE)} (subject_id {text} PRIMARY KEY,"
        f" key_id {text} NOT NULL){suffix}",
        f"CREATE TABLE IF NOT EXISTS {name(HOLDS_TABLE)} (seq {serial}, subject_id {text}"
        f" NOT NULL, action {text} NOT NULL, until {text}, by_id {text} NOT NULL, by_role"
        f" {text} NOT NULL, reason {text} NOT NULL, recorded_at {text} NOT NULL)",
        # (an index's name takes no schema: it goes in its table's)
        f'CREATE INDEX IF NOT EXISTS "{GOAL_KEYS_TABLE}_by_key" ON {name(GOAL_KEYS_TABLE)}'
        " (key_id)",
    ]


def has_table(tx: Tx, table: str) -> bool:
    if tx.dialect == "sqlite":
        return tx.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)
                          ).fetchone() is not None
    row = tx.execute("SELECT to_regclass(?)", (tx.table(table),)).fetchone()
    return row is not None and row[0] is not None


def store_id(tx: Tx) -> str | None:
    """The store's id if it is encrypted, else None."""
    if not has_table(tx, ENCRYPTION_TABLE):
        return None
    row = tx.execute(f"SELECT value FROM {tx.table(ENCRYPTION_TABLE)} WHERE name = 'store_id'"
                     ).fetchone()
    return None if row is None else str(row[0])


def mark_encrypted(tx: Tx, new_store_id: str) -> None:
    for statement in tables(tx.dialect, tx.schema):
        tx.execute(statement)
    tx.executemany(f"INSERT INTO {tx.table(ENCRYPTION_TABLE)} (name, value) VALUES (?, ?)",
                   [("store_id", new_store_id), ("scheme", "aes-256-gcm per-subject v1")])


def subject_key(tx: Tx, subject_id: str) -> UUID | None:
    """The id of the subject's data key, as recorded with their first goal."""
    row = tx.execute(f"SELECT key_id FROM {tx.table(SUBJECT_KEYS_TABLE)} WHERE subject_id = ?",
                     (subject_id,)).fetchone()
    return None if row is None else UUID(str(row[0]))


def subject_keys(tx: Tx) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in tx.execute(
        f"SELECT subject_id, key_id FROM {tx.table(SUBJECT_KEYS_TABLE)} ORDER BY subject_id"
    ).fetchall()]


def record_subject_keys(tx: Tx, rows: Sequence[tuple[str, str]]) -> list[str]:
    """Record which key is each subject's; returns the subjects whose row another writer
    recorded first, with another key."""
    tx.executemany(f"INSERT INTO {tx.table(SUBJECT_KEYS_TABLE)} (subject_id, key_id) VALUES"
                   " (?, ?) ON CONFLICT (subject_id) DO NOTHING", rows)
    return [subject for subject, key_id in rows
            if str(subject_key(tx, subject)) != key_id]


def goals_of_key(tx: Tx, key_id: UUID) -> list[UUID]:
    rows = tx.execute(f"SELECT goal_id FROM {tx.table(GOAL_KEYS_TABLE)} WHERE key_id = ?"
                      " ORDER BY goal_id", (str(key_id),)).fetchall()
    return [r[0] if isinstance(r[0], UUID) else UUID(str(r[0])) for r in rows]


def keys_of_goals(tx: Tx, goal_ids: Sequence[UUID]) -> set[UUID]:
    """The ids of the data keys the goals' events are sealed with."""
    found: set[UUID] = set()
    wanted = [tx.goal_id(g) for g in goal_ids]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = tx.execute(f"SELECT key_id FROM {tx.table(GOAL_KEYS_TABLE)} WHERE goal_id IN"
                          f" ({', '.join('?' for _ in chunk)})", chunk).fetchall()
        found.update(UUID(str(r[0])) for r in rows)
    return found


_TOPIC_BYTES: dict[str, bytes] = {cls.TOPIC: cls.TOPIC.encode()  # type: ignore[attr-defined]
                                  for cls in (*EVENT_CLASSES, Goal.Snapshot)}


_VERSIONS_KEPT = 4096
_VERSION_BYTES = {v: v.to_bytes(8, "big", signed=True) for v in range(1, _VERSIONS_KEPT)}
"""The associated data's version bytes of a goal's first versions, made once."""


def associated_data(goal_id: UUID, version: int, topic: str) -> bytes:
    """What binds a ciphertext to its event: the goal, the version and the topic."""
    return goal_id.bytes + version.to_bytes(8, "big", signed=True) + topic.encode()


class Sealer:
    """Seals and opens stored states with data keys from a key store (kept in memory
    once read: a process that opened the store before another one forgot a subject keeps
    that subject's key until it closes).

    Keys are kept by their ids' 16 bytes as they are in the envelope: opening an event
    costs a dict look-up and the decryption, no UUID made (goal load, scripts/bench)."""

    def __init__(self, keys: KeyStore, store_id: str,
                 lookup: Callable[[str], UUID | None]) -> None:
        self.keys = keys
        self.store_id = store_id
        self._lookup = lookup  # a subject's key id as the event store records it
        self._lock = threading.Lock()
        self._aeads: dict[bytes, AESGCM] = {}
        self._subjects: dict[str, bytes] = {}
        self._spare: list[tuple[UUID, bytes]] = []
        # Subjects given a key here whose first goal is not yet known to be recorded.
        self.new_subjects: dict[str, bytes] = {}
        self.goal_keys: dict[UUID, bytes] = {}  # goal id -> key id bytes, as read or written
        self._last: tuple[UUID | None, bytes] = (None, b"")  # the goal last opened, its bytes

    def expect(self, goal_id: UUID, subject_id: str) -> UUID:
        """The key id the goal's events are sealed with: its subject's, or (a new subject)
        a new one, recorded for the subject with the goal (:attr:`new_subjects`)."""
        key_id = self.goal_keys.get(goal_id)
        if key_id is not None:
            return UUID(bytes=key_id)
        with self._lock:
            key_id = self._subjects.get(subject_id)
            if key_id is None:
                found = self._lookup(subject_id)
                if found is None:
                    if not self._spare:
                        self._spare = self.keys.new_keys(SPARE_KEYS)
                    made, key = self._spare.pop()
                    key_id = made.bytes
                    self._aeads[key_id] = AESGCM(key)
                    self.new_subjects[subject_id] = key_id
                else:
                    key_id = found.bytes
                    try:
                        self._aead(key_id)
                    except KeyDestroyed:
                        raise InvalidCommand(
                            f"subject {subject_id} was forgotten but the erasure did not"
                            f" finish: run goalflow forget {subject_id} again first",
                            field="subject") from None
                self._subjects[subject_id] = key_id
            self.goal_keys[goal_id] = key_id
        return UUID(bytes=key_id)

    def recorded(self, subject_ids: Sequence[str]) -> None:
        """The subjects' keys are recorded with their goals."""
        with self._lock:
            for subject_id in subject_ids:
                self.new_subjects.pop(subject_id, None)

    def lost(self, subject_id: str) -> None:
        """Another writer recorded a key for the subject first: look it up next time."""
        with self._lock:
            key_id = self.new_subjects.pop(subject_id, None)
            self._subjects.pop(subject_id, None)
            self.goal_keys = {g: k for g, k in self.goal_keys.items() if k != key_id}

    def new_goal_keys(self, goal_ids: Sequence[UUID]) -> list[tuple[UUID, UUID]]:
        return [(g, UUID(bytes=self.goal_keys[g])) for g in goal_ids]

    def seal(self, goal_id: UUID, version: int, topic: str, data: bytes) -> bytes:
        if topic in PLAIN_TOPICS:
            return data
        key_id = self.goal_keys.get(goal_id)
        if key_id is None:
            raise StoreError(f"goal {goal_id}: no data key known to seal its events with")
        nonce = os.urandom(NONCE_BYTES)
        return (MAGIC + key_id + nonce
                + self._aead(key_id).encrypt(nonce, data,
                                             associated_data(goal_id, version, topic)))

    def unseal(self, goal_id: UUID, version: int, topic: str, data: bytes) -> bytes:
        if not data.startswith(MAGIC):
            if topic in PLAIN_TOPICS:
                return data
            raise ValueError("it is stored in clear in an encrypted store")
        key_id = data[_KEY_ID]
        aead = self._aeads.get(key_id) or self._aead(key_id)
        # A goal's events are opened one after another: its id's bytes are worked out
        # once (one tuple, so that threads never pair one goal's id with another's bytes).
        last = self._last
        if last[0] is not goal_id and last[0] != goal_id:
            last = self._last = (goal_id, goal_id.bytes)
            self.goal_keys.setdefault(goal_id, key_id)
        try:
            plain = aead.decrypt(
                data[_NONCE], data[HEADER:],
                last[1] + (_VERSION_BYTES.get(version)
                           or version.to_bytes(8, "big", signed=True))
                + (_TOPIC_BYTES.get(topic) or topic.encode()))
        except InvalidTag:
            raise ValueError("its ciphertext does not belong to this event (moved from"
                             " another event, or altered)") from None
        return plain

    def open_goal(self, goal_id: UUID, rows: Sequence[Sequence[Any]]) -> list[bytes] | None:
        """The states of one goal's (version, topic, state) rows (states as bytes), opened
        as :meth:`unseal` opens each (its own nonce, its own associated data), with one key
        look-up for the goal; None when a row is not sealed with the first row's key or does
        not open.

        The fast path of goal load: the caller then opens the rows one at a time with
        :meth:`unseal`, which says which row and why (erased, in clear, moved, altered)."""
        if not rows:
            return []
        first = rows[0][2]
        if not isinstance(first, bytes) or not first.startswith(MAGIC):
            return None
        key_id = first[_KEY_ID]
        try:
            aead = self._aeads.get(key_id) or self._aead(key_id)
        except Exception:  # a destroyed key, an unreadable key store: unseal says it
            return None
        self.goal_keys.setdefault(goal_id, key_id)
        goal, decrypt, versions, topics = goal_id.bytes, aead.decrypt, _VERSION_BYTES, _TOPIC_BYTES
        # No row is checked for the first row's key id: a row sealed with another key, or
        # in clear, fails its tag here (its 12 "nonce" bytes and the rest are no key's).
        try:
            try:
                return [decrypt(state[_NONCE], state[HEADER:],
                                goal + versions[version] + topics[topic])
                        for version, topic, state in rows]
            except KeyError:  # a version or a topic beyond the tables
                return [decrypt(state[_NONCE], state[HEADER:],
                                associated_data(goal_id, version, topic))
                        for version, topic, state in rows]
        except (InvalidTag, TypeError, ValueError):  # ValueError: a nonce cut short
            return None

    def _aead(self, key_id: bytes) -> AESGCM:
        aead = self._aeads.get(key_id)
        if aead is None:
            key = self.keys.key(UUID(bytes=key_id))
            if key is None:
                raise KeyDestroyed(UUID(bytes=key_id))
            aead = self._aeads[key_id] = AESGCM(key)
        return aead

    def drop(self, key_id: UUID) -> None:
        """Forget a destroyed key in memory too."""
        raw = key_id.bytes
        with self._lock:
            self._aeads.pop(raw, None)
            self._subjects = {s: k for s, k in self._subjects.items() if k != raw}
            self.goal_keys = {g: k for g, k in self.goal_keys.items() if k != raw}


def key_id_of(data: bytes) -> UUID | None:
    """The id of the data key a stored state is sealed with (None: it is in clear)."""
    return UUID(bytes=data[_KEY_ID]) if data.startswith(MAGIC) else None

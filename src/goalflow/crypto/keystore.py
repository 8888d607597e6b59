"""The key store: each subject's data key, wrapped by the master key, apart from the events.

A SQLite file beside the store by default (``goals.db`` -> ``goals.keys.db``), or any store
url (``--keys``, ``goalflow.open(url, keys=...)``), e.g. another PostgreSQL database. Its
tables::

    goalflow_keyring   (name PRIMARY KEY, value)  -- 'store_id': the event store it serves;
                                                   -- 'check': a value wrapped by the master
                                                   -- key, to tell a wrong key at once
    goalflow_data_keys (key_id PRIMARY KEY, wrapped, created_at)

It knows no subjects: which subject a key is for is the event store's
(``goalflow_subject_keys``, written with the subject's first goal). Keys are made ahead, a
batch per transaction (:meth:`KeyStore.new_keys`), so a new subject costs the key store no
commit of its own; one made and never given to a subject is harmless. A data key is never
stored in clear: ``wrapped`` is nonce + AES-256-GCM of it under the master
key, bound to its key id. Forgetting a subject deletes its row; on SQLite with
``secure_delete`` on, so the freed bytes are overwritten in the file, then VACUUM; on
PostgreSQL, then VACUUM FULL of the keys table (a deleted row stays in the table's pages until
the table is rewritten; README, "Forgetting a subject").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg

from goalflow import private_files
from goalflow.crypto.master import KEY_BYTES, MasterKey, WrongKey
from goalflow.errors import StoreError, first_line
from goalflow.persistence.urls import StoreUrl

KEYRING = "goalflow_keyring"
DATA_KEYS = "goalflow_data_keys"
CHECK = b"goalflow master key check"


def default_url(store: StoreUrl) -> StoreUrl:
    """Where a store keeps its keys unless told: ``goals.db`` -> ``goals.keys.db``; for a
    PostgreSQL store, a schema of its own (``<schema>_keys``) in the same database."""
    if store.kind == "sqlite":
        assert store.path is not None
        path = store.path
        stem = path.name[:-3] if path.name.endswith(".db") else path.name
        return StoreUrl(kind="sqlite", path=path.with_name(f"{stem}.keys.db"))
    if store.kind == "postgresql":
        return StoreUrl(kind="postgresql", host=store.host, port=store.port,
                        user=store.user, password=store.password, dbname=store.dbname,
                        schema=f"{store.schema}_keys"[:63], options=store.options)
    return StoreUrl(kind="memory")


class KeyStore:
    """The data keys of one event store, opened with its master key."""

    def __init__(self, url: StoreUrl, master: MasterKey, *, store_id: str, create: bool,
                 readonly: bool = False) -> None:
        self.url = url
        self._master = master
        self._lock = threading.RLock()
        self.readonly = readonly
        self._conn = _connect(url, create=create, readonly=readonly)
        self.dialect = "sqlite" if url.kind != "postgresql" else "postgresql"
        self.schema = url.schema if url.kind == "postgresql" else ""
        try:
            with self._tx() as cur:
                if create:
                    self._create(cur, store_id)
                self._check(cur, store_id)
        except BaseException:
            self.close()
            raise

    # -- plumbing --------------------------------------------------------------------

    def _t(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction on the key store: committed at the end, or rolled back."""
        with self._lock, _faults(self.url):
            if self.dialect == "sqlite":
                cur = self._conn.cursor()
                cur.execute("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
                try:
                    yield _Cursor(cur, self._q)
                except BaseException:
                    self._conn.rollback()
                    raise
                self._conn.commit()
            else:
                with self._conn.transaction():
                    yield _Cursor(self._conn.cursor(), self._q)

    def _create(self, cur: _Cursor, store_id: str) -> None:
        blob = "BLOB" if self.dialect == "sqlite" else "bytea"
        if self.dialect == "postgresql":
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self._t(KEYRING)} (name TEXT PRIMARY KEY,"
                    f" value {blob} NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self._t(DATA_KEYS)} (key_id TEXT PRIMARY"
                    f" KEY, wrapped {blob} NOT NULL, created_at TEXT NOT NULL)")
        row = cur.execute(f"SELECT value FROM {self._t(KEYRING)} WHERE name = 'store_id'"
                          ).fetchone()
        owner = None if row is None else bytes(row[0]).decode()
        if owner not in (None, store_id):
            keys = cur.execute(f"SELECT COUNT(*) FROM {self._t(DATA_KEYS)}").fetchone()
            if keys and keys[0]:
                raise StoreError(f"key store {self.url} holds the keys of another store"
                                 f" ({owner}); give a key store of this store's own (--keys)")
        cur.execute(f"DELETE FROM {self._t(KEYRING)}")
        cur.executemany(f"INSERT INTO {self._t(KEYRING)} (name, value) VALUES (?, ?)",
                        [("store_id", store_id.encode()),
                         ("check", self._master.wrap(CHECK, _check_context(store_id)))])

    def _check(self, cur: _Cursor, store_id: str) -> None:
        try:
            rows = dict(cur.execute(f"SELECT name, value FROM {self._t(KEYRING)}").fetchall())
        except (sqlite3.Error, psycopg.Error) as e:
            raise StoreError(f"no key store at {self.url} ({first_line(e)}): an encrypted"
                             " store's keys are there (give --keys URL if they were put"
                             " elsewhere)") from e
        if bytes(rows.get("store_id", b"")).decode() != store_id:
            raise StoreError(f"key store {self.url} is not this store's (it holds the keys of"
                             f" store {bytes(rows.get('store_id', b'?')).decode()})")
        try:
            self._master.unwrap(bytes(rows["check"]), _check_context(store_id))
        except WrongKey:
            raise StoreError(f"wrong master key: it does not open key store {self.url}"
                             ) from None

    # -- data keys ---------------------------------------------------------------------

    def new_keys(self, count: int) -> list[tuple[UUID, bytes]]:
        """``count`` new random 256-bit data keys, stored (wrapped) in one transaction."""
        made = [(uuid4(), os.urandom(KEY_BYTES)) for _ in range(count)]
        now = datetime.now(UTC).isoformat()
        with self._tx() as cur:
            cur.executemany(f"INSERT INTO {self._t(DATA_KEYS)} (key_id, wrapped, created_at)"
                            " VALUES (?, ?, ?)",
                            [(str(k), self._master.wrap(key, _context(k)), now)
                             for k, key in made])
        return made

    def key(self, key_id: UUID) -> bytes | None:
        """The data key with that id, or None if there is none (destroyed)."""
        with self._tx() as cur:
            row = cur.execute(f"SELECT wrapped FROM {self._t(DATA_KEYS)} WHERE key_id = ?",
                              (str(key_id),)).fetchone()
        return None if row is None else self._unwrap(key_id, bytes(row[0]))

    def destroy(self, key_id: UUID) -> bool:
        """Delete the data key (its bytes overwritten in a SQLite file); whether it was there."""
        with self._tx() as cur:
            cur.execute(f"DELETE FROM {self._t(DATA_KEYS)} WHERE key_id = ?", (str(key_id),))
            gone = bool(cur.rowcount > 0)
        self._compact()
        return gone

    def _compact(self) -> None:
        """Rewrite the key store so no freed copy of a key is left in it: SQLite's VACUUM
        (secure_delete has zeroed the freed cells already); PostgreSQL's VACUUM FULL of
        the keys table (a deleted row otherwise stays in its pages until vacuumed; the
        server's WAL and backups are the operator's, README "Forgetting a subject")."""
        with self._lock, _faults(self.url):
            if self.url.kind == "sqlite":
                self._conn.execute("VACUUM")
            elif self.url.kind == "postgresql":
                self._conn.execute(f"VACUUM FULL {self._t(DATA_KEYS)}")

    def wrapped_keys(self, key_ids: Sequence[UUID] | None = None) -> list[dict[str, str]]:
        """The data keys (all, or those of ``key_ids``) as stored (wrapped), for an export
        ``--with-keys``."""
        with self._tx() as cur:
            rows = cur.execute(f"SELECT key_id, wrapped, created_at FROM"
                               f" {self._t(DATA_KEYS)} ORDER BY created_at, key_id").fetchall()
        wanted = None if key_ids is None else {str(k) for k in key_ids}
        return [{"key_id": r[0], "wrapped": bytes(r[1]).hex(), "created_at": r[2]}
                for r in rows if wanted is None or r[0] in wanted]

    def add_wrapped(self, keys: Sequence[dict[str, str]]) -> None:
        """Add keys as exported (wrapped by this store's master key), checking each opens;
        a key already here is let be."""
        try:
            for k in keys:
                self._unwrap(UUID(k["key_id"]), bytes.fromhex(k["wrapped"]))
        except (KeyError, TypeError, ValueError) as e:
            raise StoreError(f"the export's data keys are malformed: {first_line(e)}") from e
        except StoreError:
            raise StoreError(f"the export's data keys do not open with the master key of"
                             f" key store {self.url}: open the store with the master key of"
                             " the store exported") from None
        with self._tx() as cur:
            cur.executemany(f"INSERT INTO {self._t(DATA_KEYS)} (key_id, wrapped, created_at)"
                            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                            [(k["key_id"], bytes.fromhex(k["wrapped"]), k["created_at"])
                             for k in keys])

    def rotate(self, new: MasterKey, store_id: str) -> int:
        """Re-wrap every data key under ``new`` in one transaction; returns how many."""
        with self._tx() as cur:
            rows = cur.execute(f"SELECT key_id, wrapped FROM {self._t(DATA_KEYS)}").fetchall()
            rewrapped = []
            for key_id, wrapped in rows:
                key = self._unwrap(UUID(key_id), bytes(wrapped))
                rewrapped.append((new.wrap(key, _context(UUID(key_id))), key_id))
            cur.executemany(f"UPDATE {self._t(DATA_KEYS)} SET wrapped = ? WHERE key_id = ?",
                            rewrapped)
            cur.execute(f"UPDATE {self._t(KEYRING)} SET value = ? WHERE name = 'check'",
                        (new.wrap(CHECK, _check_context(store_id)),))
        self._master = new
        self._compact()  # the keys as the old master key wrapped them
        return len(rewrapped)

    def _unwrap(self, key_id: UUID, wrapped: bytes) -> bytes:
        try:
            return self._master.unwrap(wrapped, _context(key_id))
        except WrongKey:
            raise StoreError(f"key store {self.url}: data key {key_id} does not open with the"
                             " master key (altered, or wrapped by another key)") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def _context(key_id: UUID) -> bytes:
    return b"goalflow data key " + key_id.bytes


def _check_context(store_id: str) -> bytes:
    return b"goalflow keyring " + store_id.encode()


class _Cursor:
    """A DB-API cursor with ``?`` placeholders on both databases."""

    def __init__(self, cursor: Any, q: Any) -> None:
        self._cursor = cursor
        self._q = q

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cursor.execute(self._q(sql), params)
        return self._cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(self._q(sql), rows)


@contextlib.contextmanager
def _faults(url: StoreUrl) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, psycopg.Error) as e:
        raise StoreError(f"key store {url}: {first_line(e)}") from e


def _connect(url: StoreUrl, *, create: bool, readonly: bool) -> Any:
    if url.kind == "postgresql":
        from goalflow.persistence.store import _connect as pg_connect

        return pg_connect(url)
    conn: sqlite3.Connection
    if url.kind == "memory":
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    else:
        assert url.path is not None
        path = url.path.expanduser().absolute()
        if not create and not path.is_file():
            raise StoreError(f"no key store at {path}: an encrypted store's keys are there"
                             " (give --keys URL if they were put elsewhere)")
        try:
            if create:
                private_files.create(path)
            name = f"file:{path.as_uri()[len('file://'):]}" + ("?mode=ro" if readonly else "")
            conn = sqlite3.connect(name, uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=10)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open key store {path}: {first_line(e)}") from e
    conn.execute("PRAGMA secure_delete = ON")
    return conn

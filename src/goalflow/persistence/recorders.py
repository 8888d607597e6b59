"""eventsourcing's recorders, extended to write more in the same transaction.

``insert_events(stored_events, writes=[...])`` inserts the events and then
calls each write with the open transaction and the events' notification ids,
before anything commits. If a write fails, the events are not recorded either:
neither or both. This is how the idempotency record of a command (and, later,
read-model rows with their tracking position) stay in step with the log.

The PostgreSQL recorder replaces the library's pipelined ``insert_events``,
which commits the transaction when code after the insert raises.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, cast
from uuid import UUID

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row
from psycopg.sql import SQL

from goalflow.integrity import chain
from goalflow.persistence.settings import tables as settings_tables

Dialect = Literal["sqlite", "postgresql"]


class Tx:
    """An open transaction, the same to callers on SQLite and PostgreSQL.

    Statements use ``?`` placeholders; table names go through :meth:`table`.
    """

    def __init__(self, cursor: Any, dialect: Dialect, schema: str = "") -> None:
        # eventsourcing wraps sqlite3's cursor; use the real one underneath. Its PostgreSQL
        # cursors give dicts: goalflow's statements read tuples (no dict made per row).
        self.cursor = getattr(cursor, "sqlite_cursor", cursor)
        if dialect == "postgresql":
            self.cursor.row_factory = tuple_row
        self.dialect = dialect
        self.schema = schema

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    @property
    def position_column(self) -> str:
        """The events table's column that holds an event's position (notification id)."""
        return "rowid" if self.dialect == "sqlite" else "notification_id"

    def goal_id(self, goal_id: UUID) -> Any:
        """A goal id as goalflow's tables keep it (hex text on SQLite, uuid on PostgreSQL)."""
        return goal_id.hex if self.dialect == "sqlite" else goal_id

    def execute(self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
                ) -> Tx:
        """Run a statement; ``binary``: PostgreSQL sends its results in binary form (a
        bytea arrives as it is, not as hex to decode: for reads of many events)."""
        if self.dialect == "postgresql":
            self._statement_cursor().execute(_postgres_sql(statement), params, binary=binary)
        else:
            self.cursor.execute(statement, params)
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> Tx:
        if self.dialect == "postgresql":
            self._statement_cursor().executemany(_postgres_sql(statement), rows)
        else:
            self.cursor.executemany(statement, rows)
        return self

    def _statement_cursor(self) -> Any:
        """The PostgreSQL cursor for the next statement, whose results fetch* and rowcount
        give: each statement gets a cursor of its own, for in a pipeline results queue up
        per cursor, so a read after writes gets its own rows, not a write's."""
        self.cursor = self.cursor.connection.cursor(row_factory=tuple_row)
        return self.cursor

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.cursor.fetchone()
        if row is None or self.dialect == "postgresql":  # (tuples already)
            return row  # type: ignore[no-any-return]
        return tuple(row)  # sqlite3.Row

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self.cursor.fetchall()
        if self.dialect == "postgresql":
            return rows  # type: ignore[no-any-return]
        return [tuple(row) for row in rows]


@functools.lru_cache(maxsize=1024)
def _postgres_sql(statement: str) -> SQL:
    """A statement with ``?`` placeholders as psycopg takes it (made once per statement:
    a goal load runs the same few)."""
    return SQL(statement.replace("?", "%s"))


Write = Callable[[Tx, Sequence[int]], None]
"""Something to write in the events' transaction, given their notification ids."""

COMMANDS_TABLE = "goalflow_commands"
PROJECTIONS_TABLE = "goalflow_projections"


def goalflow_tables(dialect: Dialect, schema: str) -> list[str]:
    """goalflow's own tables beside the events.

    ``goalflow_commands`` is the idempotency record of commands that carried a
    command id; ``goalflow_projections`` is each read model's mode and position; the
    chain's tables (:mod:`goalflow.integrity.chain`) hold the log's Merkle tree;
    ``goalflow_settings`` (:mod:`goalflow.persistence.settings`) the clinic's time zone.
    These are the current formats (:mod:`goalflow.persistence.formats` upgrades older
    stores to them).
    """

    def name(table: str) -> str:
        return f'"{schema}"."{table}"' if schema else f'"{table}"'

    if dialect == "sqlite":
        text, uuid, integer, suffix = "TEXT", "TEXT", "INTEGER", " WITHOUT ROWID"
    else:
        text, uuid, integer, suffix = "text", "uuid", "bigint", ""
    return [
        f"CREATE TABLE IF NOT EXISTS {name(COMMANDS_TABLE)} ("
        f"command_id {text} PRIMARY KEY, goal_id {uuid} NOT NULL, command {text} NOT NULL,"
        f" fingerprint {text} NOT NULL, version {integer} NOT NULL, event {text} NOT NULL,"
        f" notification_id {integer} NOT NULL, fingerprint_rule {integer} NOT NULL){suffix}",
        f"CREATE TABLE IF NOT EXISTS {name(PROJECTIONS_TABLE)} ("
        f"name {text} PRIMARY KEY, mode {text} NOT NULL, generation {integer} NOT NULL,"
        f" position {integer} NOT NULL, building_generation {integer},"
        f" building_position {integer}, version {integer} NOT NULL DEFAULT 1){suffix}",
        *chain.tables(dialect, schema),
        *settings_tables(dialect, schema),
    ]


def chain_rows(notification_ids: Sequence[int], stored_events: Sequence[StoredEvent]
               ) -> list[chain.Row]:
    """The newly inserted events as the chain takes them, in position order."""
    return sorted((position, s.originator_id, s.originator_version, s.topic, s.state)
                  for position, s in zip(notification_ids, stored_events, strict=True))


class GoalflowRecorder:
    """What goalflow needs of a recorder beyond eventsourcing's interface."""

    dialect: Dialect
    _held: threading.local

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Tx]:
        """A transaction, committed at the end if ``commit``; inside :meth:`one_transaction`
        (in the same thread), that one, which ends with it."""
        held: Tx | None = getattr(self._held, "tx", None)
        if held is not None:
            yield held
            return
        with self._begin(commit=commit) as tx:
            yield tx

    @contextmanager
    def statement(self) -> Iterator[Tx]:
        """For one read statement, which the database runs atomically by itself: on
        PostgreSQL no transaction around it (BEGIN and ROLLBACK were two round trips more
        than the query: a goal load is one query). Inside :meth:`one_transaction`, that
        one; on SQLite a read transaction, as :meth:`transaction` (in process: no cost)."""
        held: Tx | None = getattr(self._held, "tx", None)
        if held is not None:
            yield held
            return
        with self._bare() as tx:
            yield tx

    def _bare(self) -> Any:
        return self._begin(commit=False)

    @contextmanager
    def one_transaction(self) -> Iterator[Tx]:
        """One write transaction that every :meth:`transaction` of this thread joins until
        it ends: all written in it commits together at the end, or, if anything in it
        raises, nothing does. For making a store's schema: several steps of their own
        (eventsourcing's tables, goalflow's formats, the read models), all or nothing.

        Only goalflow's own statements may run in it: eventsourcing's (which take a
        connection of their own) would wait for it to end.
        """
        with self._begin(commit=True, immediate=True) as tx:
            self._held.tx = tx
            try:
                yield tx
            finally:
                self._held.tx = None

    def _begin(self, *, commit: bool, immediate: bool = False
               ) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class SQLiteRecorder(SQLiteApplicationRecorder, GoalflowRecorder):
    dialect: Dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self.chain_frontier: chain.Frontier | None = None  # as this recorder's last commit left it
        self._held = threading.local()
        # An encrypted store's: what a transaction deletes (a forgotten subject's read-model
        # rows, a row's version before an update) is overwritten in the file, not freed.
        self.secure_delete = False

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return statements + goalflow_tables("sqlite", "")

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        made: list[chain.Frontier] = []
        notification_ids = super().insert_events(stored_events, chain_made=made, **kwargs)
        if made:  # returned, so committed: the tree now ends as this append left it
            self.chain_frontier = made[0]
        return notification_ids

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs) or ()
        tx = Tx(c, "sqlite")
        if self.secure_delete:
            tx.execute("PRAGMA secure_delete = ON")
        made = chain.append(tx, chain_rows(notification_ids, stored_events),
                            self.chain_frontier)
        for write in kwargs.get("writes", ()):
            write(tx, notification_ids)
        if made is not None and "chain_made" in kwargs:
            kwargs["chain_made"].append(made)
        return notification_ids

    @contextmanager
    def _begin(self, *, commit: bool, immediate: bool = False) -> Iterator[Tx]:
        with self.datastore.transaction(commit=commit) as c:
            if immediate:
                # eventsourcing begins deferred: the write lock comes with the first write,
                # and a transaction that read first fails at once ("database is locked")
                # if another writer committed meanwhile. End that empty transaction and
                # take the write lock now, waiting for it (eventsourcing ends this one).
                c.execute("COMMIT")
                c.execute("BEGIN IMMEDIATE")
            if self.secure_delete and commit:  # only writes free pages; a read needs none
                c.execute("PRAGMA secure_delete = ON")
            yield Tx(c, "sqlite")


STATEMENT_CACHE = 256
"""Prepared statements each SQLite connection keeps. eventsourcing opens its connections
with ``cached_statements=True``, which sqlite3 takes as 1: every statement but a repeat
of the last one was compiled again, and a command runs a dozen different ones (events,
chain, tracking, each read model's rows). Compiling them was about a quarter of a
command's own work."""


class SQLiteStorePool(SQLiteConnectionPool):
    """eventsourcing's SQLite connection pool, its connections keeping
    ``STATEMENT_CACHE`` prepared statements (eventsourcing 9.5's ``_create_connection``,
    that one argument changed)."""

    def _create_connection(self) -> SQLiteConnection:
        try:
            c = sqlite3.connect(database=self.db_name, uri=True, check_same_thread=False,
                                isolation_level=None, cached_statements=STATEMENT_CACHE,
                                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            mode = c.execute("PRAGMA journal_mode;").fetchone()[0]
            if mode.lower() != "wal":
                c.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class SQLiteStoreFactory(SQLiteFactory):
    """eventsourcing's SQLite factory, with :class:`SQLiteStorePool` for connections."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        library = self.datastore.pool  # (opens its connections lazily: none yet)
        self.datastore.pool = SQLiteStorePool(db_name=library.db_name,
                                              lock_timeout=library.lock_timeout)
        library.close()


class PostgresRecorder(PostgresApplicationRecorder, GoalflowRecorder):
    dialect: Dialect = "postgresql"

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_frontier: chain.Frontier | None = None  # as this recorder's last commit left it
        self._held = threading.local()
        self.sql_create_statements.extend(
            SQL(s).format() for s in goalflow_tables("postgresql", self.datastore.schema)
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert in one transaction with the writes, tried again (as eventsourcing's own
        insert_events is) when the connection failed before the commit was sent: such a
        transaction wrote nothing. Never after (the commit may have landed: the caller
        must judge, by its command id), nor for the server's refusals (a lock not had in
        time, a full disk), which the caller is told at once."""
        sent_commit: list[bool] = []
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                return self._insert_with_writes(stored_events, kwargs.get("writes", ()),
                                                sent_commit)
            except (InterfaceError, OperationalError) as e:
                if attempt == INSERT_ATTEMPTS or sent_commit or not _connection_lost(e):
                    raise
                time.sleep(0.2 * (1 + 0.1 * (random.random() - 0.5)))  # as eventsourcing
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert_with_writes(self, stored_events: Sequence[StoredEvent],
                            writes: Sequence[Write], sent_commit: list[bool]
                            ) -> Sequence[int] | None:
        with self.datastore.transaction(commit=True) as curs:
            if not stored_events:
                return []
            tx = Tx(curs, "postgresql", self.datastore.schema)  # (curs: tuples now)
            # Takes the table lock, notifies listeners, inserts with RETURNING, and reads
            # the chain's tail: the four sent at once (a pipeline), so that no round trip
            # waits while the lock that holds every other writer up is held (scripts/bench,
            # "PostgreSQL writers").
            with curs.connection.pipeline():
                self._insert_stored_events(curs, stored_events)
                chain.send_tail(tx)
            notification_ids = [row[0] for row in cast("list[tuple[int]]", curs.fetchall())]
            # Still under the table lock that ordered the positions: leaves go in that order.
            made = chain.append(tx, chain_rows(notification_ids, stored_events),
                                self.chain_frontier, at=chain.tail_of(tx.fetchone()))
            for write in writes:
                write(tx, notification_ids)
            sent_commit.append(True)  # leaving the block commits
        if made is not None:  # left the block without an error, so committed
            self.chain_frontier = made
        return notification_ids

    @contextmanager
    def _bare(self) -> Iterator[Tx]:
        # A connection from the pool without its pre-ping (a round trip as long as the
        # query): if it was dropped while idle, the statement fails at once and is sent
        # again on a connection the pool checks (a read: safe to send twice). Taken from
        # the pool itself, not through eventsourcing's datastore.cursor() (its layers of
        # context managers, a pool.open() and an unused cursor each time: goal load went
        # from 2.56 to 2.75 x the baseline without them, scripts/bench); a read needs none
        # of its type adapters, and psycopg's errors are storage faults to goalflow as
        # eventsourcing's are.
        pool = self.datastore.pool
        if pool.closed:
            pool.open()
        _unchecked.on = True
        try:
            conn = pool.getconn()  # autocommit: the statement is its own transaction
        finally:
            _unchecked.on = False
        try:
            tx = _RetriedRead(conn.cursor(row_factory=tuple_row), self.datastore)
            try:
                yield tx
            finally:
                tx.release()
        finally:
            pool.putconn(conn)

    @contextmanager
    def _begin(self, *, commit: bool, immediate: bool = False) -> Iterator[Tx]:
        # (PostgreSQL's transactions wait for the locks they need; nothing more to do.)
        with self.datastore.transaction(commit=commit) as curs:
            yield Tx(curs, "postgresql", self.datastore.schema)


class _RetriedRead(Tx):
    """A bare read's Tx: its first statement, failed for a lost connection, is sent again
    once on a checked connection of the pool (returned to it by :meth:`release`). Its
    first statement runs on the cursor it was made with (no pipeline here)."""

    def __init__(self, cursor: Any, datastore: PostgresDatastore) -> None:
        super().__init__(cursor, "postgresql", datastore.schema)
        self._datastore = datastore
        self._sent = False
        self._unused = True  # self.cursor: no statement has run on it
        self._fresh: Any = None

    def _statement_cursor(self) -> Any:
        if self._unused:
            self._unused = False
            return self.cursor
        return super()._statement_cursor()

    def execute(self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
                ) -> Tx:
        if self._sent:
            return super().execute(statement, params, binary=binary)
        self._sent = True
        try:
            return super().execute(statement, params, binary=binary)
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            if not _connection_lost(e):
                raise
        self._fresh = self._datastore.pool.getconn()  # pre-pinged: alive, or a new one
        self.cursor, self._unused = self._fresh.cursor(row_factory=tuple_row), True
        return super().execute(statement, params, binary=binary)

    def release(self) -> None:
        if self._fresh is not None:
            self._datastore.pool.putconn(self._fresh)
            self._fresh = None


_unchecked = threading.local()
"""``on`` while a bare read takes its connection: the pre-ping is skipped for it."""


def _pre_ping(conn: Any) -> None:
    """The pool's check of a connection it hands out (psycopg_pool's own), but for a
    bare read, which sends its statement again if the connection was lost."""
    if not getattr(_unchecked, "on", False):
        psycopg_pool.ConnectionPool.check_connection(conn)


INSERT_ATTEMPTS = 10
"""How often an insert whose connection failed is tried (eventsourcing's own number)."""


def _connection_lost(error: BaseException) -> bool:
    """A fault of the connection itself: psycopg's own (no SQLSTATE), a connection
    exception (class 08), or the server shutting the session (57P01-57P03); not the
    server's refusals (a lock timeout, a full disk)."""
    cause = error.__cause__ or error.__context__ or error
    if not isinstance(cause, psycopg.Error):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def with_settings(options: str, *settings: str) -> str:
    """libpq's ``options`` with server settings added (``-c name=value``) after those
    given, so that where both set one, ours win."""
    return " ".join([options.strip(), *(f"-c {setting}" for setting in settings)]).strip()


class PostgresStoreFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory whose pooled connections get more libpq options.

    ``POSTGRES_LIBPQ_OPTIONS`` (a libpq connection string) holds them: whatever the store
    url adds to host, port, user, password and dbname (TLS, ``application_name``, ...)
    and the session settings goalflow wants on every connection (a bounded lock wait).
    They reach each pooled connection when it is opened (the pool opens lazily, after
    this). eventsourcing's own settings give none of them.
    """

    LIBPQ_OPTIONS = "POSTGRES_LIBPQ_OPTIONS"
    session_settings: tuple[str, ...] = ()

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs.update(conninfo_to_dict(self.env.get(self.LIBPQ_OPTIONS) or ""))
        for name in ("user", "password"):
            # eventsourcing gives them even when empty; not given, libpq takes them from
            # its environment (PGUSER, PGPASSWORD, ~/.pgpass) as on goalflow's own
            # connections. (Given empty, it reads ~/.pgpass but not PGPASSWORD.)
            if not kwargs.get(name):
                kwargs.pop(name, None)
        if self.session_settings:
            kwargs["options"] = with_settings(kwargs.get("options", ""),
                                              *self.session_settings)
        pool = self.datastore.pool
        if getattr(pool, "_check", None) is not None:  # POSTGRES_PRE_PING: psycopg_pool's
            pool._check = _pre_ping


class ReadOnlyPostgresFactory(PostgresStoreFactory):
    """The store factory whose every session is read-only, so that no statement through
    it can write."""

    session_settings = ("default_transaction_read_only=on",)

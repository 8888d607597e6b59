"""The event store: opening it from a url, loading goals, appending their events."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID, uuid4

import attrs
import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, PersistenceError
from eventsourcing.utils import Environment, EnvType, get_topic
from psycopg.conninfo import make_conninfo

from goalflow import private_files
from goalflow.crypto import sealing
from goalflow.crypto.keystore import KeyStore
from goalflow.crypto.keystore import default_url as default_keys_url
from goalflow.crypto.master import MasterKey
from goalflow.domain.goal import Goal, replay
from goalflow.errors import (
    ErasedEvent,
    GoalErased,
    GoalflowError,
    GoalNotFound,
    ReadOnlyReplica,
    StoreError,
    UnreadableEvent,
    VersionNotFound,
    first_line,
)
from goalflow.persistence import formats, replicas, settings
from goalflow.persistence.codec import GoalflowMapper, StaleSnapshot
from goalflow.persistence.recorders import (
    COMMANDS_TABLE,
    PROJECTIONS_TABLE,
    GoalflowRecorder,
    PostgresRecorder,
    PostgresStoreFactory,
    ReadOnlyPostgresFactory,
    SQLiteRecorder,
    SQLiteStoreFactory,
    Tx,
    Write,
    with_settings,
)
from goalflow.persistence.settings import Setting
from goalflow.persistence.urls import StoreUrl
from goalflow.version import goalflow_version

P = ParamSpec("P")
R = TypeVar("R")

SNAPSHOT_INTERVAL = 100
"""A snapshot is taken every this many events of a goal.

Not eventsourcing's ``snapshotting_intervals``, which ``Application.save`` acts on after the
events are committed: it loads the goal again through ``repository.get`` (7 ms for 100
events on SQLite here; goalflow has the goal in hand) and writes the snapshot in a second
transaction whose failure ("database is locked", a full disk, a snapshot already there)
``save`` raises. goalflow would then report a recorded command as failed, or, taking the
``IntegrityError`` for a lost race, record it again. A snapshot is a cache: see
``_maybe_snapshot``."""

RECENT_GOALS = 8192
"""How many goals a store keeps after writing them, to change them again quickly (a goal
takes a few kilobytes: some tens of megabytes at most).

Not eventsourcing's ``AGGREGATE_CACHE_MAXSIZE``: its cache serves ``repository.get``, which
goalflow does not load through (:meth:`GoalStore.load` reads the snapshot and the events in
one query and replays without ``project_aggregate``'s per-event checks: 3.2 times as fast
on SQLite, 1.5 on PostgreSQL in scripts/bench's "goal load"). On a hit it costs a deepcopy
(0.2 ms for a goal of 100 events) and a query for newer events (0.1 ms on SQLite, 0.4 ms
on PostgreSQL here) per command; without that query (``AGGREGATE_CACHE_FASTFORWARD=n``) a
goal another process moved on stays stale in it, and every later command on it conflicts.
:meth:`GoalStore.take` hands the kept goal over (no copy, no query) and keeps it again only
once its events are appended; a lost race loads it afresh."""

LOCK_TIMEOUT = 10
"""Seconds any wait for a lock (another writer's, another opener's) lasts before giving up."""

CONNECT_TIMEOUT = 5
"""Seconds to wait for a PostgreSQL connection."""

# Serialises table creation across processes opening one PostgreSQL store.
_CREATE_LOCK_KEY = 0x60A1F10


class _EventsourcingApp(Application[UUID]):
    """eventsourcing's application, configured from our url and nothing else."""

    name = "goalflow"

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Deliberately ignores os.environ: a stray GOALFLOW_* or PERSISTENCE_MODULE
        # variable in a user's shell must not change which store is opened.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> GoalflowMapper:
        mapper = GoalflowMapper()
        mapper.cipher = self.factory.cipher()
        mapper.compressor = self.factory.compressor()
        return mapper


@attrs.frozen
class CommandRecord:
    """What the store remembers of a command that carried a ``command_id``."""

    command_id: str
    goal_id: UUID
    command: str
    fingerprint: str
    version: int
    event: str
    notification_id: int
    fingerprint_rule: int


# Faults of the database under a store, as the drivers and eventsourcing raise them.
STORAGE_FAULTS = (PersistenceError, sqlite3.Error, psycopg.Error, OSError)


@contextlib.contextmanager
def storage_errors(url: object, doing: str = "") -> Iterator[None]:
    """Turn a database fault (locked, gone, full) into a one-line StoreError.

    A write that lost to another (IntegrityError) stays as it is, for the caller to
    retry; goalflow's own errors pass through (StoreError itself is an OSError).
    """
    try:
        yield
    except (IntegrityError, GoalflowError):
        raise
    except STORAGE_FAULTS as e:
        raise StoreError(f"{doing or 'store'} {url}: {describe_fault(e)}") from e


def describe_fault(error: BaseException) -> str:
    """The first line of a database error, said plainly where we know what it means."""
    message = first_line(error)
    # SQLite's busy timeout, and PostgreSQL's lock_timeout (any lock goalflow waits for).
    if "database is locked" in message or "canceling statement due to lock timeout" in message:
        return f"database is locked (another process holds a write lock; waited {LOCK_TIMEOUT} s)"
    if "couldn't get a connection" in message:
        waited = re.search(r"after (\d+)(\.0+)? sec", message)
        return (f"cannot connect within {waited[1] if waited else CONNECT_TIMEOUT} s (is the"
                f" server running and reachable?): {message}")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"the disk is full: {message}"
    if "in a read-only transaction" in message:
        return (f"the store is read-only here (a read replica, or a read-only role or"
                f" session): {message}; send writes to the primary")
    if "conflict with recovery" in message:
        return (f"the replica cancelled this read to replay the primary's changes"
                f" ({message}); run it again, or give the replica a longer"
                " max_standby_streaming_delay or hot_standby_feedback = on")
    return message


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Method decorator: database faults become StoreErrors naming ``self.url``."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with storage_errors(getattr(args[0], "url", "?")):
            return method(*args, **kwargs)

    return wrapper


class GoalStore:
    """Where goals' events live: SQLite (file or memory) or PostgreSQL."""

    def __init__(self, url: StoreUrl, *, readonly: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 prepare: Callable[[GoalStore], None] | None = None,
                 master_key: MasterKey | None = None, keys: StoreUrl | None = None) -> None:
        """Open the store at ``url``; a writer makes goalflow's tables if they are not there.

        ``master_key``: a new store is made encrypted (:mod:`goalflow.crypto`), with its
        data keys in the key store at ``keys`` (default: beside it); an encrypted store
        needs it to be opened, an unencrypted one refuses it.

        ``progress`` hears of long work on opening (chaining an older store's events).
        ``prepare`` is what else a writer makes ready on open (the read models' tables).
        For a new store it runs in the one transaction that makes goalflow's tables, so
        that a store is made whole or not at all: a failure on the way (a full disk, a
        Ctrl-C, a read model that cannot be created) leaves none of goalflow's tables.

        A PostgreSQL hot standby (a read replica) is opened read-only, whatever was asked
        (``replica``: :mod:`goalflow.persistence.replicas`); a write there is refused.
        """
        self.url = url
        self.replica = False
        self._listener: psycopg.Connection[Any] | None = None
        self.sealer: sealing.Sealer | None = None
        # PostgreSQL: the lock on making tables, held until a new store's are made.
        creating = contextlib.ExitStack()
        new = False
        try:
            if url.kind == "postgresql":
                # Fails fast and plainly ("connection refused"); says whether it is a standby.
                conn = creating.enter_context(_connect(url))
                self.replica = replicas.in_recovery(conn)
                readonly = readonly or self.replica
                if readonly:
                    creating.close()
                else:
                    new = creating.enter_context(_create_lock(conn, url))
            # (SQLite: refuses a file it cannot open, plainly, before looking inside it.)
            env = _environment(url, readonly=readonly)
            if url.kind != "postgresql":
                new = not readonly and _new_sqlite(url)
            if new:
                env["CREATE_TABLE"] = "n"  # made below, with the rest, in one transaction
            self._app = _EventsourcingApp(env)
        except BaseException as e:
            creating.close()
            if isinstance(e, STORAGE_FAULTS) and not isinstance(e, StoreError):
                raise StoreError(f"cannot open store {url}: {describe_fault(e)}") from e
            raise
        self.readonly = readonly
        if not new:
            creating.close()
        if readonly:
            self._check_is_goalflow_store()
        recorder = self._app.recorder
        assert isinstance(recorder, GoalflowRecorder)
        self.recorder: GoalflowRecorder = recorder
        self.mapper = cast(GoalflowMapper, self._app.mapper)
        self._snapshots = self._app.snapshots
        self._snapshots_table: str = (
            "" if self._snapshots is None
            else self._snapshots.recorder.events_table_name)  # type: ignore[attr-defined]
        self._events_table: str = recorder.events_table_name  # type: ignore[attr-defined]
        self.inline_writes: Callable[[Sequence[Goal.Event], Sequence[Goal]], Write] | None = None
        self._recent: dict[UUID, Goal] = {}
        self._recent_lock = threading.Lock()
        self._settings_table = False  # known to exist (tables format 4 on)
        try:
            if new:
                store_id = None
                if master_key is not None:
                    store_id = uuid4().hex
                    self._open_keys(master_key, keys, store_id, create=True)
                with creating, storage_errors(url, "cannot create store"), \
                        self.recorder.one_transaction() as tx:
                    self._create_tables(tx)
                    if store_id is not None:
                        sealing.mark_encrypted(tx, store_id)
                    self.written_by = self.mapper.written_by = self._check_formats(progress)
                    if prepare:
                        prepare(self)
                self._register_types()
            else:
                self._check_encryption(master_key, keys)
                self.written_by = self.mapper.written_by = self._check_formats(progress)
                if prepare and not readonly:
                    prepare(self)
        except BaseException:
            creating.close()
            self.close()
            raise

    def _open_keys(self, master_key: MasterKey, keys: StoreUrl | None, store_id: str, *,
                   create: bool) -> None:
        key_store = KeyStore(keys or default_keys_url(self.url), master_key,
                             store_id=store_id, create=create, readonly=self.readonly)
        self.sealer = self.mapper.sealer = sealing.Sealer(key_store, store_id,
                                                          self.subject_key_id)
        if isinstance(self._app.recorder, SQLiteRecorder):
            self._app.recorder.secure_delete = True

    def _check_encryption(self, master_key: MasterKey | None, keys: StoreUrl | None) -> None:
        """An encrypted store opens only with its master key; an unencrypted one never
        becomes encrypted."""
        with storage_errors(self.url, "cannot open store"), \
                self.recorder.transaction(commit=False) as tx:
            store_id = sealing.store_id(tx)
        if store_id is None and master_key is not None:
            raise StoreError(f"store {self.url} is not encrypted (it was made without a master"
                             " key, and stays so): open it without one")
        if store_id is not None and master_key is None:
            raise StoreError(f"store {self.url} is encrypted: give its master key"
                             " (--master-key-file FILE, or $GOALFLOW_MASTER_KEY)")
        if store_id is not None and master_key is not None:
            self._open_keys(master_key, keys, store_id, create=False)

    @property
    def encrypted(self) -> bool:
        return self.sealer is not None

    def subject_key_id(self, subject_id: str) -> UUID | None:
        """The id of the subject's data key in an encrypted store, if it has one."""
        with storage_errors(self.url), self.recorder.transaction(commit=False) as tx:
            return sealing.subject_key(tx, subject_id)

    def _create_tables(self, tx: Tx) -> None:
        """Run eventsourcing's CREATE statements (its events and snapshots tables, with
        goalflow's beside them) in ``tx``, where its recorders' ``create_table`` would run
        them each in a transaction of its own."""
        recorders: list[Any] = [self._app.recorder]
        if self._snapshots is not None:
            recorders.append(self._snapshots.recorder)
        for recorder in recorders:
            if tx.dialect == "sqlite":
                for statement in recorder.create_table_statements:
                    tx.cursor.execute(statement)
                continue
            for statement in recorder.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    # There is no CREATE TYPE IF NOT EXISTS, and each recorder declares
                    # the same types: one made already is let be (in a savepoint, as the
                    # error would end the transaction).
                    with contextlib.suppress(psycopg.errors.DuplicateObject), \
                            tx.cursor.connection.transaction():
                        tx.cursor.execute(statement, prepare=False)
                else:
                    tx.cursor.execute(statement, prepare=False)

    def _register_types(self) -> None:
        """What eventsourcing's ``create_table`` does after the tables are made: register
        the composite types its PostgreSQL statements use with its connections."""
        if self.url.kind == "postgresql":
            self._app.recorder.datastore.register_type_adapters()  # type: ignore[attr-defined]

    def _check_formats(self, progress: Callable[[int, int], None] | None) -> str | None:
        """Refuse formats this goalflow cannot read (or write); a writer upgrades older
        ones. Returns the goalflow that last wrote the store, if known."""
        with storage_errors(self.url, "cannot open store"):
            with self.recorder.transaction(commit=False) as tx:
                if self.readonly:
                    return formats.check_readable(tx, self.url)
                current = formats.versions(tx)
            if current == (formats.TABLES_FORMAT, formats.EVENTS_SCHEMA,
                           goalflow_version()):
                return current[2]
            with self.recorder.transaction(commit=True) as tx:
                self.lock_writers(tx)  # one writer upgrades; the others then find it done
                formats.upgrade(tx, self.url, self._events_table, progress)
            return goalflow_version()

    def _check_is_goalflow_store(self) -> None:
        """Refuse, in one clear line, a store without goalflow's tables.

        (A SQLite file was checked before eventsourcing opened it; this covers
        PostgreSQL schemas and ``memory://``.)
        """
        recorder: Any = self._app.recorder
        try:
            with recorder.transaction(commit=False) as tx:
                tx.execute(f"SELECT 1 FROM {tx.table(recorder.events_table_name)} LIMIT 1")
                tx.execute(f"SELECT 1 FROM {tx.table(COMMANDS_TABLE)} LIMIT 1")
        except PersistenceError as e:
            self.close()
            message = first_line(e)
            if "no such table" in message or "does not exist" in message:
                raise StoreError(f"{self.url} is not a goalflow store (it has no goalflow"
                                 " tables)") from e
            raise StoreError(f"cannot read store {self.url}: {message}") from e

    def refuse_writes(self, what: str | None = None) -> None:
        """Refuse to write (``what``: the write, for the message) to a store opened
        read-only: :class:`ReadOnlyReplica` on a replica, else a StoreError."""
        if self.replica:
            raise ReadOnlyReplica(f"store {self.url} is a read-only replica (a PostgreSQL hot"
                                  f" standby): {what or 'writing'} refused; send writes to the"
                                  " primary")
        if self.readonly:
            raise StoreError(f"store {self.url} is open read-only"
                             + (f"; {what} refused" if what else ""))

    def require_chain(self) -> None:
        """Refuse, in one line, to verify or prove a store written before the log was
        chained (its first writable open, or ``goalflow migrate``, chains it)."""
        with self.recorder.transaction(commit=False) as tx:
            tables = formats.versions(tx)[0]
        if tables < 3:
            raise StoreError(f"store {self.url} has no chain yet: it was written by goalflow"
                             f" {self.written_by or '0.1'}, before the log was chained; open"
                             " it once for writing (or run goalflow migrate) to chain it")

    # -- settings ------------------------------------------------------------

    @guarded
    def setting(self, name: str) -> Setting | None:
        """A setting's value as recorded (:mod:`goalflow.persistence.settings`), or None
        when it was never set."""
        with self.recorder.transaction(commit=False) as tx:
            return settings.current(tx, name) if self._has_settings(tx) else None

    @guarded
    def setting_history(self, name: str) -> list[Setting]:
        """Every value a setting was given, oldest first."""
        with self.recorder.transaction(commit=False) as tx:
            return settings.history(tx, name) if self._has_settings(tx) else []

    @guarded
    def change_setting(self, name: str, value: str, *, set_at: datetime,
                       check: Callable[[Setting | None, int], None]) -> Setting | None:
        """Give a setting a new value, as a new row; None if it has that value already.

        ``check(current, head)`` may refuse the change (by raising), judged in the same
        transaction as the write, with every writer of events held off: no event can be
        recorded between the check and the change."""
        self.refuse_writes(f"setting {name}")
        with self.recorder.transaction(commit=True) as tx:
            self.lock_writers(tx)
            current = settings.current(tx, name)
            if current is not None and current.value == value:
                return None
            head = self.head(tx)
            check(current, head)
            return settings.record(tx, name, value, set_at=set_at, position=head)

    def _has_settings(self, tx: Tx) -> bool:
        # A store from before tables format 4, opened read-only (inspection never
        # upgrades), has no settings table: every setting has its default there.
        if not self._settings_table:
            self._settings_table = formats.versions(tx)[0] >= 4
        return self._settings_table

    # -- reading -------------------------------------------------------------

    @guarded
    def take(self, goal_id: UUID) -> Goal:
        """The goal to change and append: the one kept from the last append, else loaded.

        A kept goal is taken as it is, without a look at the store: if another process
        has moved the goal on since, appending to it fails (the version is taken) and
        the caller loads it afresh, as after any lost race. A caller whose command a
        kept goal refuses should judge it again on :meth:`load`. A goal taken is the
        caller's: it is kept again only when its new events are appended.
        """
        with self._recent_lock:
            kept = self._recent.pop(goal_id, None)
        return self.load(goal_id) if kept is None else kept

    @guarded
    def take_many(self, goal_ids: Iterable[UUID]) -> dict[UUID, Goal]:
        """:meth:`take` for several goals at once (those that exist), in fewer queries."""
        wanted = set(goal_ids)
        with self._recent_lock:
            kept = {g: self._recent.pop(g) for g in wanted if g in self._recent}
        taken: dict[UUID, Goal] = {}
        if kept:
            with self.recorder.transaction(commit=False) as tx:
                latest = self._latest_versions(tx, list(kept))
            for goal_id, goal in kept.items():
                if latest.get(goal_id, 0) > goal.version:
                    for event in self._events_of(goal_id, gt=goal.version):
                        goal = cast(Goal, event.mutate(goal))
                taken[goal_id] = goal
        for goal_id in wanted - set(kept):
            with contextlib.suppress(GoalNotFound):
                taken[goal_id] = self.load(goal_id)
        return taken

    def _latest_versions(self, tx: Tx, goal_ids: Sequence[UUID]) -> dict[UUID, int]:
        marks = ", ".join("?" for _ in goal_ids)
        tx.execute(f"SELECT originator_id, MAX(originator_version) FROM"
                   f" {tx.table(self._events_table)} WHERE originator_id IN ({marks})"
                   " GROUP BY originator_id",
                   [tx.goal_id(g) for g in goal_ids])
        return {_uuid(row[0]): row[1] for row in tx.fetchall()}

    def remember(self, goals: Iterable[Goal]) -> None:
        """Keep goals as recorded (appended, or taken and unchanged) for the next take."""
        with self._recent_lock:
            for goal in goals:
                self._recent.pop(goal.id, None)
                self._recent[goal.id] = goal
            while len(self._recent) > RECENT_GOALS:
                del self._recent[next(iter(self._recent))]

    @guarded
    def load(
        self, goal_id: UUID, *, version: int | None = None, as_of: datetime | None = None,
        clinical: bool = False,
    ) -> Goal:
        """The goal at its latest version, at ``version``, or as recorded at ``as_of``
        (``clinical``: with every event that happened by ``as_of``, whenever recorded).

        Raises :class:`GoalErased` for a goal whose subject was forgotten."""
        with self._erased(goal_id):
            if clinical:
                assert as_of is not None
                return self._load_clinical(goal_id, as_of)
            return self._load(goal_id, version=version, as_of=as_of)

    def _load_clinical(self, goal_id: UUID, as_of: datetime) -> Goal:
        """The events whose ``occurred_at`` is at or before ``as_of``, replayed in log
        order (the order they were recorded in), the others skipped: the goal's version is
        that of the last one replayed."""
        goal: Goal | None = None
        for event in self._events_of(goal_id):
            if isinstance(event, Goal.SubjectForgotten):
                raise GoalErased(goal_id, self.erasure(goal_id))
            if event.occurred_at > as_of:
                continue
            if goal is not None:  # the library checks versions follow; some were skipped
                goal.version = event.originator_version - 1
            goal = event.mutate(goal)
        if goal is None:
            if self.exists(goal_id):
                raise GoalNotFound(f"{goal_id} (nothing of it had happened by"
                                   f" {as_of.isoformat()})")
            raise GoalNotFound(goal_id)
        return goal

    @contextlib.contextmanager
    def _erased(self, goal_id: UUID) -> Iterator[None]:
        """Say a goal whose subject was forgotten is erased, and by whom, when and why."""
        try:
            yield
        except ErasedEvent:
            raise GoalErased(goal_id, self.erasure(goal_id)) from None

    def erasure(self, goal_id: UUID) -> str | None:
        """"DATE by WHO (REASON)" of the goal's SubjectForgotten event, if it has one."""
        with self.recorder.transaction(commit=False) as tx:
            row = tx.execute(f"SELECT originator_version, topic, state FROM"
                             f" {tx.table(self._events_table)} WHERE originator_id = ? AND"
                             " topic = ?", (tx.goal_id(goal_id), Goal.SubjectForgotten.TOPIC)
                             ).fetchone()
        if row is None:
            return None
        event = self.mapper.decode_event(goal_id, row[0], row[1], bytes(row[2]))
        return (f"{event.occurred_at.date().isoformat()} by {event.actor.id} ({event.reason})")

    def erasures(self, subject_id: str) -> list[str]:
        """"DATE by WHO (REASON)" of each time the subject was forgotten (read from the
        log's SubjectForgotten events, which are in clear)."""
        found: dict[str, None] = {}
        for notification in self.scan(topics=[Goal.SubjectForgotten.TOPIC]):
            event = self.decode(notification)
            if event.subject_id == subject_id:  # type: ignore[attr-defined]
                found[self.erasure(event.originator_id) or ""] = None
        return [e for e in found if e]

    def _load(self, goal_id: UUID, *, version: int | None, as_of: datetime | None) -> Goal:
        goal: Goal | None = None
        if as_of is None and self._snapshots is not None:
            snapshot, events = self._latest_snapshot_and_events(goal_id, lte=version)
            if snapshot is not None:
                goal = cast(Goal, snapshot.mutate(None))
        else:
            events = self._events_of(goal_id, lte=version)
        goal = replay(goal, events, recorded_by=as_of)
        # (A store whose key is still there.) Nothing is recorded after SubjectForgotten.
        if goal is not None and events and type(events[-1]) is Goal.SubjectForgotten \
                and goal.version == events[-1].originator_version:
            raise GoalErased(goal_id, self.erasure(goal_id))
        if goal is None:
            if as_of is not None and self.exists(goal_id):
                raise GoalNotFound(f"{goal_id} (not yet recorded at {as_of.isoformat()})")
            raise GoalNotFound(goal_id)
        if version is not None and goal.version != version:
            raise VersionNotFound(goal_id, version, goal.version)
        return goal

    @guarded
    def exists(self, goal_id: UUID) -> bool:
        return bool(self.recorder.select_events(goal_id, limit=1))  # type: ignore[attr-defined]

    @guarded
    def events(self, goal_id: UUID) -> list[Goal.Event]:
        """Every event of one goal, oldest first, decoded (:class:`GoalErased` if its
        subject was forgotten)."""
        with self._erased(goal_id):
            events = self._events_of(goal_id)
        if events and isinstance(events[-1], Goal.SubjectForgotten):
            raise GoalErased(goal_id, self.erasure(goal_id))
        return events

    def _latest_snapshot_and_events(self, goal_id: UUID, *, lte: int | None
                                    ) -> tuple[Goal.Snapshot | None, list[Goal.Event]]:
        """A goal's latest snapshot (up to version ``lte``) and its events after it, read
        by one query: on PostgreSQL every query costs round trips."""
        upto = "" if lte is None else " AND originator_version <= ?"
        with self.recorder.statement() as tx:
            goal = tx.goal_id(goal_id)
            events, snapshots = tx.table(self._events_table), tx.table(self._snapshots_table)
            rows = tx.execute(
                f"WITH s AS (SELECT originator_version, topic, state FROM {snapshots}"
                f" WHERE originator_id = ?{upto} ORDER BY originator_version DESC LIMIT 1)"
                " SELECT 0, originator_version, topic, state FROM s UNION ALL"
                f" SELECT 1, originator_version, topic, state FROM {events}"
                f" WHERE originator_id = ?{upto} AND originator_version >"
                " COALESCE((SELECT originator_version FROM s), 0)"
                " ORDER BY 1, 2",
                [goal, *([lte] if upto else []), goal, *([lte] if upto else [])],
                binary=True).fetchall()
        if rows and rows[0][0] == 0:
            try:
                snapshot = self._decoded(goal_id, [rows[0][1:]])[0]
            except StaleSnapshot:  # of an older Goal: replay from the first event
                return None, self._events_of(goal_id, lte=lte)
            return cast(Goal.Snapshot, snapshot), self._decoded(goal_id,
                                                                [row[1:] for row in rows[1:]])
        return None, self._decoded(goal_id, [row[1:] for row in rows])

    def _events_of(self, goal_id: UUID, *, gt: int | None = None, lte: int | None = None
                   ) -> list[Goal.Event]:
        """A goal's events (after version ``gt``, up to ``lte``), oldest first."""
        with self.recorder.statement() as tx:
            where = "originator_id = ?"
            params: list[Any] = [tx.goal_id(goal_id)]
            if gt is not None:
                where += " AND originator_version > ?"
                params.append(gt)
            if lte is not None:
                where += " AND originator_version <= ?"
                params.append(lte)
            rows = tx.execute(f"SELECT originator_version, topic, state FROM"
                              f" {tx.table(self._events_table)} WHERE {where}"
                              " ORDER BY originator_version", params, binary=True).fetchall()
        return self._decoded(goal_id, rows)

    def _decoded(self, goal_id: UUID, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Decode a goal's (version, topic, state) rows; an error names the position."""
        decode = self.mapper.decode_stored  # (event, stored version): tens per load
        try:
            if self.sealer is not None:  # encrypted: the goal's states opened in one go
                opened = self.sealer.open_goal(goal_id, rows)
                if opened is not None:
                    return [decode(goal_id, row[0], row[1], state, True)[0]
                            for row, state in zip(rows, opened, strict=True)]
            return [decode(goal_id, version, topic, bytes(state))[0]
                    for version, topic, state in rows]
        except UnreadableEvent as e:
            if e.topic != Goal.Snapshot.TOPIC:
                self._locate(e)
            raise

    def _locate(self, error: UnreadableEvent) -> None:
        """Name the log position of the event an error is about (looked up only then)."""
        with self.recorder.transaction(commit=False) as tx:
            row = tx.execute(f"SELECT {tx.position_column} FROM"
                             f" {tx.table(self._events_table)} WHERE originator_id = ? AND"
                             " originator_version = ?",
                             (tx.goal_id(error.goal_id), error.version)).fetchone()
        if row is not None:
            error.position = int(row[0])
            error.message = f"position {error.position}: {error.message}"

    @guarded
    def find_commands(self, command_ids: Sequence[str]) -> dict[str, CommandRecord]:
        """The records of those of the command ids that were recorded."""
        found: dict[str, CommandRecord] = {}
        if not command_ids:
            return found
        with self.recorder.transaction(commit=False) as tx:
            for start in range(0, len(command_ids), 500):
                chunk = command_ids[start:start + 500]
                tx.execute(
                    f"SELECT {_COMMAND_COLUMNS} FROM {tx.table(COMMANDS_TABLE)} WHERE command_id IN"
                    f" ({', '.join('?' for _ in chunk)})", chunk)
                for row in tx.fetchall():
                    found[row[0]] = _command_record(row)
        return found

    @guarded
    def find_command(self, command_id: str) -> CommandRecord | None:
        with self.recorder.transaction(commit=False) as tx:
            row = tx.execute(
                f"SELECT {_COMMAND_COLUMNS} FROM {tx.table(COMMANDS_TABLE)} WHERE command_id = ?",
                (command_id,),
            ).fetchone()
        return None if row is None else _command_record(row)

    # -- writing -------------------------------------------------------------

    @guarded
    def append(
        self, goal: Goal, events: Sequence[Goal.Event], *, command: CommandRecord | None = None,
        writes: Sequence[Write] = (),
    ) -> list[int]:
        """Record the events, and whatever ``writes`` add, in one transaction.

        Raises eventsourcing's ``IntegrityError`` if another writer got there first
        (the goal's version, or the command id, is taken).
        """
        commands = [] if command is None else [(command, len(events) - 1)]
        return self.append_many([(goal, events)], commands=commands, writes=writes)

    @guarded
    def append_many(
        self, changes: Sequence[tuple[Goal, Sequence[Goal.Event]]], *,
        commands: Sequence[tuple[CommandRecord, int]] = (), writes: Sequence[Write] = (),
        remember: bool = False,
    ) -> list[int]:
        """Record several goals' new events in one transaction, in the order given.

        ``commands`` pairs each command record with the index (in all the events, in
        order) of the event it recorded. ``remember``: keep the goals for :meth:`take`
        (only for goals nobody else holds). Returns the events' positions in the log.
        """
        self.refuse_writes()
        events = [event for _, goal_events in changes for event in goal_events]
        all_writes = list(writes)
        if self.sealer is not None:
            all_writes.append(self._goal_keys(changes))
        if commands:
            all_writes.insert(0, _command_writes(commands))
        if self.inline_writes is not None:
            all_writes.append(self.inline_writes(events, [goal for goal, _ in changes]))
        recordings = self._app.events.put(events, writes=all_writes)
        if self.sealer is not None:
            self.sealer.recorded([goal.subject.id for goal, _ in changes])
        for goal, goal_events in changes:
            self._maybe_snapshot(goal, goal_events)
        if remember:
            self.remember(goal for goal, _ in changes)
        return [r.notification.id for r in recordings]

    def _goal_keys(self, changes: Sequence[tuple[Goal, Sequence[Goal.Event]]]) -> Write:
        """Seal the goals' events with their subjects' keys; the write that records which
        key each new goal's events are sealed with, and each new subject's key."""
        sealer = self.sealer
        assert sealer is not None
        new = []
        for goal, goal_events in changes:
            sealer.expect(goal.id, goal.subject.id)
            if any(isinstance(e, Goal.Drafted) for e in goal_events):
                new.append(goal.id)
        rows = sealer.new_goal_keys(new)
        subjects = sorted({goal.subject.id for goal, _ in changes} & set(sealer.new_subjects))
        subject_rows = [(s, str(UUID(bytes=sealer.new_subjects[s]))) for s in subjects]

        def write(tx: Tx, _notification_ids: Sequence[int]) -> None:
            if rows:
                tx.executemany(f"INSERT INTO {tx.table(sealing.GOAL_KEYS_TABLE)} (goal_id,"
                               " key_id) VALUES (?, ?)",
                               [(tx.goal_id(g), str(k)) for g, k in rows])
            if subject_rows:
                lost = sealing.record_subject_keys(tx, subject_rows)
                for subject in lost:
                    sealer.lost(subject)
                if lost:  # another writer gave the subject a key first: roll back, retry
                    raise IntegrityError(f"subject {lost[0]} was given a key meanwhile")

        return write

    @guarded
    def record_erasures(self, events: Sequence[Goal.Event], writes: Sequence[Write] = ()
                        ) -> list[int]:
        """Record SubjectForgotten events (in clear), with the read models' writes, in one
        transaction; the goals are no longer kept for :meth:`take`."""
        self.refuse_writes()
        all_writes = list(writes)
        if self.inline_writes is not None:
            all_writes.append(self.inline_writes(events, []))
        recordings = self._app.events.put(list(events), writes=all_writes)
        with self._recent_lock:
            for event in events:
                self._recent.pop(event.originator_id, None)
        if self.url.kind == "sqlite":
            # The rows' versions before the deletions are still in the write-ahead log:
            # move what it holds into the file, and empty it (best effort: a reader that
            # holds it open keeps it until the next checkpoint).
            with self.recorder.transaction(commit=False) as tx:
                tx.execute("COMMIT")
                tx.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                tx.execute("BEGIN")
        return [r.notification.id for r in recordings]

    @property
    def events_table(self) -> str:
        return self._events_table

    def notifications(
        self, tx: Tx, *, after: int, limit: int, upto: int | None = None,
        goal_ids: Sequence[UUID] | None = None, topics: Sequence[str] = (),
        newest_first: bool = False,
    ) -> list[Notification]:
        """Events recorded after position ``after`` (up to ``upto``; only of the given
        goals and topics), in log order (``newest_first``: from ``upto`` back), read in
        the given transaction."""
        position = tx.position_column
        where = [f"{position} > ?"]
        params: list[Any] = [after]
        if upto is not None:
            where.append(f"{position} <= ?")
            params.append(upto)
        if goal_ids is not None:
            where.append(f"originator_id IN ({', '.join('?' for _ in goal_ids) or 'NULL'})")
            params += [tx.goal_id(g) for g in goal_ids]
        if topics:
            where.append(f"topic IN ({', '.join('?' for _ in topics)})")
            params += list(topics)
        rows = tx.execute(
            f"SELECT {position}, originator_id, originator_version, topic, state FROM"
            f" {tx.table(self._events_table)} WHERE {' AND '.join(where)}"
            f" ORDER BY {position}{' DESC' if newest_first else ''} LIMIT ?",
            [*params, limit], binary=True).fetchall()
        return [
            Notification(id=row[0], originator_id=_uuid(row[1]), originator_version=row[2],
                         topic=row[3], state=bytes(row[4]))
            for row in rows
        ]

    def scan(self, *, after: int = 0, upto: int | None = None,
             goal_ids: Sequence[UUID] | None = None, topics: Sequence[str] = (),
             page: int = 1000, newest_first: bool = False) -> Iterator[Notification]:
        """The log in order from ``after`` (``newest_first``: from ``upto``, or the end,
        back to ``after``), read a page per transaction (memory stays flat)."""
        while True:
            with self.recorder.transaction(commit=False) as tx:
                notifications = self.notifications(
                    tx, after=after, limit=page, upto=upto, goal_ids=goal_ids,
                    topics=topics, newest_first=newest_first)
            if not notifications:
                return
            yield from notifications
            if newest_first:
                upto = notifications[-1].id - 1
            else:
                after = notifications[-1].id

    def decode(self, notification: Notification) -> Goal.Event:
        return self.decode_stored(notification)[0]

    def decode_stored(self, notification: Notification) -> tuple[Goal.Event, int]:
        """An event from the log and the schema version it was stored in; an error
        reading it names its position."""
        try:
            return cast(tuple[Goal.Event, int], self.mapper.decode_stored(
                _uuid(notification.originator_id), notification.originator_version,
                notification.topic, notification.state))
        except UnreadableEvent as e:
            e.position = notification.id
            e.message = f"position {notification.id}: {e.message}"
            raise

    def count(self, tx: Tx, *, upto: int) -> int:
        """How many events the log holds up to position ``upto``."""
        position = tx.position_column
        row = tx.execute(f"SELECT COUNT(*) FROM {tx.table(self._events_table)}"
                         f" WHERE {position} <= ?", (upto,)).fetchone()
        return int(row[0]) if row else 0

    def head(self, tx: Tx) -> int:
        """The position of the last recorded event (0 for an empty log)."""
        position = tx.position_column
        row = tx.execute(f"SELECT MAX({position}) FROM {tx.table(self._events_table)}"
                         ).fetchone()
        return int(row[0] or 0) if row else 0

    def notify_listeners(self, tx: Tx) -> None:
        """Wake whoever waits for new events (:meth:`wait_for_events`) when ``tx``
        commits: for events written other than through the recorder, whose inserts
        notify by themselves. (SQLite followers poll: nothing to do.)"""
        if tx.dialect == "postgresql":
            tx.execute(f'NOTIFY "{self.recorder.channel_name}"')  # type: ignore[attr-defined]

    def wait_for_events(self, timeout: float) -> None:
        """Return when new events may have been recorded, or after ``timeout`` seconds.

        PostgreSQL: woken by the NOTIFY every insert sends. SQLite: a plain sleep.
        """
        # Not eventsourcing's recorder.subscribe(): its subscription is an iterator of the
        # notifications themselves, read by two threads of its own on a pooled connection
        # kept for LISTEN, and its next() waits without a timeout. goalflow's waiters want
        # only a wake-up, and to return every `timeout` seconds (to see a stop, a SIGTERM):
        # the worker reads its batch in its own transaction with its tracking row claimed,
        # `events --follow` with its own filters. A subscription also ends with the first
        # connection fault, which a worker must outlive, and SQLite has none to give.
        if self.url.kind != "postgresql" or self.replica:  # (a standby cannot LISTEN)
            time.sleep(timeout)
            return
        try:
            if self._listener is None:
                self._listener = _connect(self.url)
                channel = self.recorder.channel_name  # type: ignore[attr-defined]
                self._listener.execute(f'LISTEN "{channel}"')
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                break
        except (psycopg.Error, StoreError):
            # The server went away: wait as SQLite does; the next look at the log
            # reports the fault, and the next wait listens on a new connection.
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            time.sleep(timeout)

    def size(self, tx: Tx) -> int:
        """Bytes the store takes: the SQLite file (with its WAL), or the schema's tables."""
        if tx.dialect == "sqlite":
            if self.url.path is None:
                return 0
            path = self.url.path.expanduser().absolute()
            wal = path.with_name(path.name + "-wal")
            return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        row = tx.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ?"
            " AND c.relkind = 'r'", (self.url.schema,)).fetchone()
        return int(row[0]) if row else 0

    def claim_write(self, tx: Tx) -> None:
        """Take SQLite's write lock before reading in a transaction that will write.

        A deferred SQLite transaction that reads and then writes fails at once
        ("database is locked") if another writer committed in between; writing
        first makes it wait its turn instead. PostgreSQL needs nothing here.
        """
        self.refuse_writes()
        if tx.dialect == "sqlite":
            tx.execute(f"UPDATE {tx.table(PROJECTIONS_TABLE)} SET name = name WHERE 0 = 1")

    def lock_writers(self, tx: Tx) -> None:
        """Hold off every other writer of events until this transaction ends."""
        self.refuse_writes()
        if tx.dialect == "sqlite":
            self.claim_write(tx)
        else:
            tx.execute(f"LOCK TABLE {tx.table(self._events_table)} IN EXCLUSIVE MODE")

    def _maybe_snapshot(self, goal: Goal, events: Sequence[Goal.Event]) -> None:
        if self._snapshots is None:
            return
        if any(e.originator_version % SNAPSHOT_INTERVAL == 0 for e in events):
            # A snapshot is a cache: losing a race for one, or failing to write
            # one, costs speed only, never correctness.
            with contextlib.suppress(PersistenceError):
                self._snapshots.put([Goal.Snapshot.take(goal)])

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self.sealer is not None:
            self.sealer.keys.close()
        self._app.close()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _position_column(tx: Tx) -> str:
    """The column that holds an event's position in the log (its notification id)."""
    return "rowid" if tx.dialect == "sqlite" else "notification_id"


_COMMAND_COLUMNS = ("command_id, goal_id, command, fingerprint, version, event, notification_id,"
                    " fingerprint_rule")


def _command_record(row: Sequence[Any]) -> CommandRecord:
    return CommandRecord(row[0], _uuid(row[1]), *row[2:])


def _command_writes(commands: Sequence[tuple[CommandRecord, int]]) -> Write:
    """Remember commands, each with the log position of the event it recorded."""

    def write(tx: Tx, notification_ids: Sequence[int]) -> None:
        tx.executemany(
            f"INSERT INTO {tx.table(COMMANDS_TABLE)} ({_COMMAND_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.command_id, tx.goal_id(c.goal_id), c.command, c.fingerprint, c.version,
              c.event, notification_ids[index], c.fingerprint_rule)
             for c, index in commands],
        )

    return write


def _environment(url: StoreUrl, *, readonly: bool) -> dict[str, str]:
    env = {
        "IS_SNAPSHOTTING_ENABLED": "y",
        "CREATE_TABLE": "n" if readonly else "y",
    }
    if url.kind in ("sqlite", "memory"):
        env["PERSISTENCE_MODULE"] = get_topic(SQLiteStoreFactory)
        env["APPLICATION_RECORDER_TOPIC"] = get_topic(SQLiteRecorder)
        env["SQLITE_DBNAME"] = _sqlite_name(url, readonly=readonly)
        env["SQLITE_LOCK_TIMEOUT"] = str(LOCK_TIMEOUT)
    else:
        env.update({
            "PERSISTENCE_MODULE": get_topic(ReadOnlyPostgresFactory if readonly
                                            else PostgresStoreFactory),
            "APPLICATION_RECORDER_TOPIC": get_topic(PostgresRecorder),
            "POSTGRES_DBNAME": url.dbname,
            "POSTGRES_HOST": url.host,
            "POSTGRES_PORT": str(url.port),
            "POSTGRES_USER": url.user,
            "POSTGRES_PASSWORD": url.password,
            "POSTGRES_SCHEMA": url.schema,
            # How long to wait for a pooled connection: as long as libpq waits for one.
            "POSTGRES_CONNECT_TIMEOUT": _libpq_options(url)["connect_timeout"],
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
            PostgresStoreFactory.LIBPQ_OPTIONS: make_conninfo("", **_libpq_options(url)),
            # Check a pooled connection before use, so that one dropped while idle
            # (a server restart, a firewall) is replaced instead of failing a command.
            "POSTGRES_PRE_PING": "y",
        })
    return env


def _sqlite_name(url: StoreUrl, *, readonly: bool) -> str:
    if url.kind == "memory":
        return f"file:goalflow-{uuid4().hex}?mode=memory&cache=shared"
    assert url.path is not None
    path = url.path.expanduser().absolute()
    if readonly:
        if not path.is_file():
            raise StoreError(f"no goalflow store at {path}")
        name = f"file:{path.as_uri()[len('file://'):]}?mode=ro"
        wal = path.with_name(path.name + "-wal")
        if _cannot_write_beside(path) and not (wal.exists() and wal.stat().st_size):
            # SQLite cannot make the -shm file a WAL database needs to be read there (a
            # read-only filesystem, or an auditor's read-only copy in a directory they
            # cannot write); with no WAL to apply, it may read the file as immutable.
            name += "&immutable=1"
        _check_sqlite_file(path, name)
        return name
    if not path.parent.is_dir():
        raise StoreError(f"cannot create store {path}: directory {path.parent} does not exist")
    if path.exists() and not path.is_file():
        raise StoreError(f"cannot open store {path}: not a file")
    if _on_read_only_filesystem(path):
        raise StoreError(f"cannot open store {path} for writing: {path.parent} is on a"
                         " read-only filesystem (inspection commands can still read it)")
    if not path.exists():
        # Owner-only from the start, whatever the umask: SQLite gives the -wal and -shm
        # files the store's own mode.
        with storage_errors(path, "cannot create store"):
            private_files.create(path)
    if path.exists() and path.stat().st_size:
        _refuse_foreign_file(path)
    return str(path)


def _new_sqlite(url: StoreUrl) -> bool:
    """Whether a writer opening ``url`` makes a new store: a new memory store, a new or
    empty file, or a file without goalflow's tables (one with another application's
    tables is refused before this)."""
    if url.kind == "memory":
        return True
    assert url.path is not None
    path = url.path.expanduser().absolute()
    if not path.exists() or not path.stat().st_size:
        return True
    with contextlib.closing(sqlite3.connect(f"file:{path.as_uri()[len('file://'):]}?mode=ro",
                                            uri=True)) as conn:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                            (COMMANDS_TABLE,)).fetchone() is None


def _on_read_only_filesystem(path: Path) -> bool:
    return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)


def _cannot_write_beside(path: Path) -> bool:
    return _on_read_only_filesystem(path) or not os.access(path.parent, os.W_OK)


def _refuse_foreign_file(path: Path) -> None:
    """Refuse to add goalflow's tables to another application's SQLite file."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path.as_uri()[len('file://'):]}"
                                                "?mode=ro", uri=True)) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    except sqlite3.Error as e:
        raise StoreError(f"{path} is not a goalflow store (corrupt, or not a database:"
                         f" {first_line(e)})") from e
    # goalflow creates its command table with the events' table, in one transaction: a
    # file with tables but not that one is another application's (maybe another
    # eventsourcing application's, with a stored_events table of its own).
    foreign = [] if COMMANDS_TABLE in tables else sorted(
        t for t in tables if not t.startswith("sqlite_"))
    if foreign:
        raise StoreError(f"{path} is not a goalflow store: it holds another application's"
                         f" tables ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''});"
                         " goalflow will not add its own to it")


def _check_sqlite_file(path: Path, name: str) -> None:
    """Refuse a file that is not a SQLite database, or not a goalflow store, before use."""
    try:
        with contextlib.closing(sqlite3.connect(name, uri=True)) as conn:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as e:
        raise StoreError(f"{path} is not a goalflow store (corrupt, or not a database:"
                         f" {first_line(e)})") from e
    if not {"stored_events", COMMANDS_TABLE} <= tables:
        raise StoreError(f"{path} is not a goalflow store (it has no goalflow tables)")


def _libpq_options(url: StoreUrl) -> dict[str, str]:
    """What every connection to a PostgreSQL store is given besides host, port, user,
    password and dbname: the url's options (TLS, application_name, ...), a bounded connect
    and a bounded wait for any lock (eventsourcing bounds only the wait for its own lock
    on the events table).

    libpq fills in what a connection is not given from its environment (PGPASSWORD,
    ~/.pgpass, PGUSER, PGSSLMODE, PGSSLROOTCERT, PGAPPNAME, a PGSERVICE entry, ...), as
    users of libpq expect: a password or TLS policy kept out of the url. Never where the
    store is: host, port and dbname are always given, and so is ``hostaddr`` (empty,
    which libpq reads as none, unless the url gives one), or PGHOSTADDR (or a service's
    hostaddr) would take the connection to another server than the url's host names.
    """
    options = {"connect_timeout": str(CONNECT_TIMEOUT), "hostaddr": "", **dict(url.options)}
    options["options"] = with_settings(options.get("options", ""),
                                       f"lock_timeout={LOCK_TIMEOUT}s")
    return options


def _connect(url: StoreUrl) -> psycopg.Connection[Any]:
    # A user or password the url leaves out is not given (an empty one would be a value:
    # libpq would then not read PGUSER and PGPASSWORD, yet still read ~/.pgpass).
    who = {k: v for k, v in (("user", url.user), ("password", url.password)) if v}
    try:
        return psycopg.connect(make_conninfo(
            "", host=url.host, port=url.port, dbname=url.dbname, **who,
            **_libpq_options(url)), autocommit=True)
    except psycopg.Error as e:
        raise StoreError(f"cannot connect to {url}: {first_line(e)}") from e


@contextlib.contextmanager
def _create_lock(conn: psycopg.Connection[Any], url: StoreUrl) -> Iterator[bool]:
    """Hold a PostgreSQL advisory lock (on ``conn``) while tables are created; yields
    whether the schema is new to goalflow (it has no goalflow tables).

    eventsourcing runs CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE FUNCTION
    on every start; two processes doing it at once can fail with "tuple
    concurrently updated". The lock makes them take turns; waiting for it is bounded,
    as every lock is (LOCK_TIMEOUT), for the connection's lock_timeout.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_LOCK_KEY,))
    try:
        if url.schema != "public":
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
        row = conn.execute("SELECT to_regclass(%s)",
                           (f'"{url.schema}"."{COMMANDS_TABLE}"',)).fetchone()
        yield row is None or row[0] is None
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_CREATE_LOCK_KEY,))


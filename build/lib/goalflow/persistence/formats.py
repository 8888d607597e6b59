"""The formats of a store: versions of goalflow's own tables and of its events, upgrades.

A store records, in ``goalflow_formats``, the version of each format it holds and the
goalflow that last wrote it:

- ``tables``: goalflow's own tables beside the events (command ids, read-model tracking).
  Version 1 is goalflow 0.1's (no such table yet: a store without it is version 1).
  Version 2 adds ``goalflow_commands.fingerprint_rule`` (see :mod:`goalflow.fingerprints`),
  ``goalflow_projections.version`` (see ``Projection.version``) and the formats tables.
  Version 3 adds the log's Merkle tree (:mod:`goalflow.integrity.chain`): the upgrade
  chains every event already stored, and records that chaining began then.
  Version 4 adds ``goalflow_settings`` (:mod:`goalflow.persistence.settings`), where the
  clinic's time zone is kept; a store upgraded to it has none set, and reads in UTC as
  before. A goalflow that knows only format 3 would take dates in UTC whatever the zone
  set, so it is refused such a store, as for any newer format.
- ``events``: the newest event schema written into the store (:data:`EVENTS_SCHEMA`),
  which rises whenever an event gains a version or a type is added (the schema lock,
  ``src/goalflow/domain/events.lock.json``, says which).

Opening a store for writing upgrades it (:func:`upgrade`): each step runs once, in one
transaction with the writers held off, and is recorded in ``goalflow_migrations`` (from,
to, which goalflow, when). Inspection never upgrades: it reads every older format, and
refuses (:func:`check_readable`) only what it cannot read. A store holding formats newer
than this goalflow knows is refused for writing, with the goalflow version that wrote it,
before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from goalflow.errors import StoreError
from goalflow.integrity import chain
from goalflow.persistence.recorders import COMMANDS_TABLE, PROJECTIONS_TABLE, Tx
from goalflow.version import goalflow_version

FORMATS_TABLE: Final = "goalflow_formats"
MIGRATIONS_TABLE: Final = "goalflow_migrations"

TABLES_FORMAT: Final = 4
"""The version of goalflow's own tables this code writes."""
EVENTS_SCHEMA: Final = 2
"""The event schema this code writes: 1 for goalflow 0.1's events; 2 adds the measure's
instrument fields (Drafted, Revised and Goal snapshots at class version 2)."""


def format_tables(tx: Tx) -> list[str]:
    """CREATE statements of the formats tables (for a new store, and the upgrade to 2)."""
    text, integer, suffix = (("TEXT", "INTEGER", " WITHOUT ROWID") if tx.dialect == "sqlite"
                             else ("text", "bigint", ""))
    return [
        f"CREATE TABLE IF NOT EXISTS {tx.table(FORMATS_TABLE)} (name {text} PRIMARY KEY,"
        f" version {integer} NOT NULL, written_by {text} NOT NULL){suffix}",
        f"CREATE TABLE IF NOT EXISTS {tx.table(MIGRATIONS_TABLE)} (name {text} NOT NULL,"
        f" from_version {integer} NOT NULL, to_version {integer} NOT NULL,"
        f" goalflow {text} NOT NULL, migrated_at {text} NOT NULL,"
        f" PRIMARY KEY (name, to_version)){suffix}",
    ]


def read(tx: Tx) -> dict[str, tuple[int, str]]:
    """Each format's (version, goalflow that last wrote it); {} for a goalflow 0.1 store."""
    if not _has_table(tx, FORMATS_TABLE):
        return {}
    rows = tx.execute(f"SELECT name, version, written_by FROM {tx.table(FORMATS_TABLE)}"
                      ).fetchall()
    return {name: (int(v), written_by) for name, v, written_by in rows}


def versions(tx: Tx) -> tuple[int, int, str | None]:
    """(tables format, events schema, goalflow that last wrote the store, if known)."""
    formats = read(tx)
    tables, by_tables = formats.get("tables", (1, None))
    events, by_events = formats.get("events", (1, None))
    return tables, events, by_events or by_tables


def check_readable(tx: Tx, url: object) -> str | None:
    """Refuse a store written in formats this goalflow cannot read; returns who wrote it."""
    tables, _events, written_by = versions(tx)
    if tables > TABLES_FORMAT:
        raise StoreError(f"store {url} was written by goalflow {written_by}, whose tables"
                         f" (format {tables}) this goalflow {goalflow_version()} cannot read:"
                         f" use goalflow {written_by} or later")
    return written_by


def check_writable(tx: Tx, url: object) -> None:
    """Refuse to write a store holding formats newer than this goalflow knows."""
    tables, events, written_by = versions(tx)
    if tables > TABLES_FORMAT or events > EVENTS_SCHEMA:
        raise StoreError(
            f"store {url} was written by goalflow {written_by} (tables format {tables},"
            f" event schema {events}); this goalflow {goalflow_version()} knows up to"
            f" {TABLES_FORMAT} and {EVENTS_SCHEMA}: upgrade goalflow to {written_by} or"
            " later; nothing was written")


def upgrade(tx: Tx, url: object, events_table: str,
            progress: chain.Progress | None = None) -> list[tuple[int, int]]:
    """Bring the store's tables to this goalflow's formats; returns the steps run.

    Run by a writer on open, in a transaction that holds off other writers;
    ``progress`` hears of the events chained by the upgrade to format 3.
    """
    check_writable(tx, url)
    formats = read(tx)
    # Created just now, by this goalflow's CREATE statements: already in today's format.
    new_store = not formats and has_fingerprint_rules(tx)
    for statement in format_tables(tx):
        tx.execute(statement)
    steps: list[tuple[int, int]] = []
    current = formats.get("tables", (1, ""))[0]
    if new_store:
        current = TABLES_FORMAT  # created in the current format: nothing to migrate
        chain.start(tx, events_table)
    for to_version in sorted(_STEPS):
        if current < to_version:
            _STEPS[to_version](tx, events_table, progress)
            record_migration(tx, "tables", to_version - 1, to_version)
            steps.append((to_version - 1, to_version))
            current = to_version
    events_schema = formats.get("events", (1, ""))[0]
    if events_schema < EVENTS_SCHEMA and not new_store:
        record_migration(tx, "events", events_schema, EVENTS_SCHEMA)
    _set(tx, "tables", TABLES_FORMAT, formats)
    _set(tx, "events", EVENTS_SCHEMA, formats)
    return steps


def _tables_v2(tx: Tx, _events_table: str, _progress: chain.Progress | None) -> None:
    """Command records say which fingerprint rule made them (those before: rule 1), and
    read models which version of their projection built them (those before: 1)."""
    integer = "INTEGER" if tx.dialect == "sqlite" else "bigint"
    for table, column in ((COMMANDS_TABLE, "fingerprint_rule"), (PROJECTIONS_TABLE, "version")):
        if column not in _columns(tx, table):
            tx.execute(f"ALTER TABLE {tx.table(table)} ADD COLUMN {column} {integer} NOT NULL"
                       " DEFAULT 1")


def _tables_v3(tx: Tx, events_table: str, progress: chain.Progress | None) -> None:
    """The log's Merkle tree: its tables were created (empty) with the others on open;
    every event already stored is chained now, and that chaining began now recorded."""
    chain.start(tx, events_table, progress=progress)


def _tables_v4(_tx: Tx, _events_table: str, _progress: chain.Progress | None) -> None:
    """The settings table: created (empty) with the others on open. Nothing to move: a
    store with no time zone set takes its dates in UTC, as every store did before."""


_STEPS: Final[dict[int, Callable[[Tx, str, chain.Progress | None], None]]] = {
    2: _tables_v2, 3: _tables_v3, 4: _tables_v4}
"""Each upgrade of the tables format, by the version it brings the store to."""


def record_migration(tx: Tx, name: str, before: int, after: int) -> None:
    """Record that ``name`` (a format, or a read model) moved from one version to another."""
    tx.execute(f"INSERT INTO {tx.table(MIGRATIONS_TABLE)} (name, from_version, to_version,"
               " goalflow, migrated_at) VALUES (?, ?, ?, ?, ?)",
               (name, before, after, goalflow_version(), datetime.now(UTC).isoformat()))


def _set(tx: Tx, name: str, value: int, formats: dict[str, tuple[int, str]]) -> None:
    """Record the format (and this goalflow as its writer) unless it says so already."""
    known = formats.get(name)
    if known == (value, goalflow_version()):
        return
    if known is None:
        tx.execute(f"INSERT INTO {tx.table(FORMATS_TABLE)} (name, version, written_by)"
                   " VALUES (?, ?, ?)", (name, value, goalflow_version()))
    elif known[0] < value or (known[0] == value and known[1] != goalflow_version()):
        tx.execute(f"UPDATE {tx.table(FORMATS_TABLE)} SET version = ?, written_by = ?"
                   " WHERE name = ?", (value, goalflow_version(), name))


def _has_table(tx: Tx, name: str) -> bool:
    if tx.dialect == "sqlite":
        row = tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (name,)).fetchone()
    else:
        row = tx.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = ?"
                         " AND table_name = ?", (tx.schema or "public", name)).fetchone()
    return row is not None


def _columns(tx: Tx, table: str) -> set[str]:
    if tx.dialect == "sqlite":
        return {row[1] for row in tx.execute(f"PRAGMA table_info({tx.table(table)})"
                                             ).fetchall()}
    return {row[0] for row in tx.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND"
        " table_name = ?", (tx.schema or "public", table)).fetchall()}


def has_fingerprint_rules(tx: Tx) -> bool:
    """Whether the command records say their fingerprint rule (tables format 2 on)."""
    return "fingerprint_rule" in _columns(tx, COMMANDS_TABLE)

"""The read models' row writer: their tables and columns, SQL values, the Writer and Reader.

A :class:`Table` declares typed columns; a :class:`Writer` holds a batch's rows by primary
key and writes them to one generation of a projection's tables, a :class:`Reader` queries
their views; both turn values to and from what SQLite and PostgreSQL store, the same way.
Read models import these names from :mod:`goalflow.projection`, which keeps them current;
this module knows nothing of that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from goalflow.domain.goal import Goal
from goalflow.errors import ProjectionError
from goalflow.persistence.codec import dumps, loads
from goalflow.persistence.recorders import Tx

ColumnType = Literal["uuid", "text", "int", "numeric", "bool", "date", "timestamp", "json"]

_SQL_TYPES: Final[dict[str, dict[str, str]]] = {
    "sqlite": {"uuid": "TEXT", "text": "TEXT", "int": "INTEGER", "numeric": "NUMERIC",
               "bool": "INTEGER", "date": "TEXT", "timestamp": "TEXT", "json": "TEXT"},
    "postgresql": {"uuid": "uuid", "text": "text", "int": "bigint", "numeric": "numeric",
                   "bool": "boolean", "date": "date", "timestamp": "timestamptz",
                   "json": "json"},
}


@attrs.frozen(cache_hash=True)  # the writer looks its facts up by table, per row
class Table:
    """A read-model table: its (logical) name, typed columns, key and indexes."""

    name: str
    columns: tuple[tuple[str, ColumnType], ...]
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_types(self) -> dict[str, ColumnType]:
        return dict(self.columns)

    def physical(self, generation: int) -> str:
        return f"{self.name}__g{generation}"


class TableSet(Protocol):
    """A named set of tables: what the row writer and reader know of a projection."""

    @property
    def name(self) -> str: ...
    @property
    def tables(self) -> tuple[Table, ...]: ...
    @property
    def column_types(self) -> dict[str, ColumnType]: ...
    def table(self, name: str) -> Table: ...


def create_table(tx: Tx, table: Table, generation: int) -> None:
    """Create one generation of the table, with its primary key and indexes."""
    types = _SQL_TYPES[tx.dialect]
    physical = table.physical(generation)
    columns = ", ".join(f"{name} {types[kind]}" for name, kind in table.columns)
    tx.execute(f"CREATE TABLE {tx.table(physical)} ({columns},"
               f" PRIMARY KEY ({', '.join(table.primary_key)}))")
    for n, index in enumerate(table.indexes, start=1):
        tx.execute(f"CREATE INDEX {_quote(f'{physical}_ix{n}')} ON {tx.table(physical)}"
                   f" ({', '.join(index)})")


def _quote(identifier: str) -> str:
    return f'"{identifier}"'


class Json:
    """Marks a value to be stored in a json column (TEXT on SQLite, json on PostgreSQL).

    PostgreSQL's ``json`` (not ``jsonb``) keeps the text as written: numbers such as
    1e300 read back as they were, and keys in goalflow's canonical (sorted) order.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def as_json_read(value: Any) -> Any:
    """A value as a json column gives it back: plain JSON data (lists, dicts, numbers,
    strings), whatever was written (dates, value objects)."""
    return loads(dumps(value))


def _to_sql(dialect: str, value: Any) -> Any:
    """A Python value as the database wants it; SQLite keeps ISO text in UTC."""
    convert = _converter(dialect, type(value))
    return value if convert is None else convert(value)


def _converter(dialect: str, kind: type) -> Callable[[Any], Any] | None:
    """How values of a type go to the database: by the type, else the nearest base
    type that has a way (a datetime subclass, from a test clock, is a datetime)."""
    try:
        return _CONVERTERS[dialect, kind]
    except KeyError:
        table = _TO_SQL[dialect]
        found = next((table[base] for base in kind.__mro__ if base in table), None)
        _CONVERTERS[dialect, kind] = found
        return found


_CONVERTERS: dict[tuple[str, type], Callable[[Any], Any] | None] = {}
_BY_TYPE: dict[str, dict[type, Callable[[Any], Any] | None]] = {}  # the same, by dialect


def _pg_json(value: Json) -> Any:
    from psycopg.types.json import Json as PgJson

    return PgJson(value.value, dumps=lambda v: dumps(v).decode())


# By type (see _converter); values of any other type go to the driver as they are.
_TO_SQL: Final[dict[str, dict[type, Callable[[Any], Any]]]] = {
    "sqlite": {
        Json: lambda v: dumps(v.value).decode(),
        datetime: lambda v: v.astimezone(UTC).isoformat(timespec="microseconds"),
        date: date.isoformat,
        UUID: str,
        bool: int,
    },
    "postgresql": {
        Json: _pg_json,
        datetime: lambda v: v.astimezone(UTC),
        # As numeric, exactly as recorded: a float8 parameter would be cut to 15 digits.
        float: lambda v: Decimal(repr(v)),
    },
}


def _from_sql(dialect: str, kind: ColumnType | None, value: Any) -> Any:
    """A stored value as JSON-ready data, the same from SQLite and PostgreSQL."""
    if value is None:
        return None
    if kind == "json":
        # SQLite keeps JSON as text; psycopg has already decoded json (where a str
        # is a JSON string, and must not be parsed again).
        return loads(value) if dialect == "sqlite" else value
    if kind == "timestamp":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(UTC).isoformat()
    if kind == "date":
        return value if isinstance(value, str) else value.isoformat()
    if kind == "bool":
        return bool(value)
    if kind == "uuid":
        return str(value)
    if isinstance(value, Decimal | float) and kind == "numeric":
        # Whole numbers goalflow accepts fit in 64 bits; a whole value beyond that was
        # a float (1e300), and PostgreSQL's numeric shows it with every digit.
        whole = value == int(value) and -(2**63) <= value < 2**63
        return int(value) if whole else float(value)
    return value


class Writer:
    """What a projection writes through: one transaction, one table generation.

    Writes by primary key (``insert``, ``update``, ``delete``, and ``select``) are kept
    in memory and sent to the database by :meth:`flush`, a statement per table and kind
    (executemany), so a row changed by several events of a batch is written once. Reads
    see the pending writes. ``execute`` (any other SQL) flushes first.
    """

    def __init__(self, tx: Tx, projection: TableSet, generation: int, *,
                 goals: Mapping[UUID, Goal] | None = None) -> None:
        self.tx = tx
        # The goals the events belong to, as they stand after them, when the writer
        # knows them (inline, in a command's transaction): what never changes about a
        # goal (its subject) can be read here instead of from a table.
        self.goals: Mapping[UUID, Goal] = goals or {}
        self.dialect = tx.dialect
        self.projection = projection
        self.generation = generation
        self.position = 0
        # For a projection to remember facts that never change (a goal's subject)
        # for as long as this writer lives: one write, or one batch.
        self.memo: dict[Any, Any] = {}
        self._rows: dict[str, dict[tuple[Any, ...], _Row]] = {}

    def table(self, name: str) -> str:
        return self.tx.table(self.projection.table(name).physical(self.generation))

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Tx:
        self.flush()
        return self.tx.execute(statement, [_to_sql(self.dialect, p) for p in params])

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        spec = self.projection.table(table)
        try:
            raw = tuple([row[k] for k in spec.primary_key])
        except KeyError as e:
            raise ProjectionError(f"{self.projection.name}: a {table} row needs {e}") from None
        key = self._identity(spec, raw)
        pending = self._rows.setdefault(table, {})
        if key in pending and pending[key].state == "blind":
            self._row(table, key, pending, raw)  # does it exist? (then this is a mistake)
        if key in pending and pending[key].state != "deleted":
            raise ProjectionError(f"{table} already has a row with key {raw}")
        replaced = key in pending  # deleted earlier in this batch: delete, then insert
        # One dict for what reads see and what goes: a new row only ever changes in both.
        values = dict(row)
        pending[key] = _Row("replaced" if replaced else "new", values, values, raw)

    def update(self, table: str, where: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        raw = self._raw_key(table, where)
        if raw is None:
            sets = ", ".join(f"{k} = ?" for k in values)
            self.execute(f"UPDATE {self.table(table)} SET {sets} WHERE {_conditions(where)}",
                         [*values.values(), *where.values()])
            return
        key = self._identity(self.projection.table(table), raw)
        pending = self._rows.setdefault(table, {})
        found = pending.get(key)
        if found is None:  # not read yet: no need to, until someone asks
            pending[key] = _Row("blind", {}, dict(values), raw)
        elif found.state != "deleted":  # (an UPDATE of a deleted row changes nothing)
            found.seen.update(values)
            found.written.update(values)
            if found.state == "clean":
                found.state = "dirty"

    def delete(self, table: str, where: Mapping[str, Any]) -> None:
        raw = self._raw_key(table, where)
        if raw is None:
            self.execute(f"DELETE FROM {self.table(table)} WHERE {_conditions(where)}",
                         list(where.values()))
            return
        key = self._identity(self.projection.table(table), raw)
        pending = self._rows.setdefault(table, {})
        if key in pending and pending[key].state == "new":
            # Never sent; but had the database the row already, that insert was a mistake.
            if self._stored(table, pending[key].key):
                raise ProjectionError(f"{table} already has a row with key"
                                      f" {pending[key].key}")
            del pending[key]
        else:
            pending[key] = _Row("deleted", {}, {}, raw)

    def select(self, table: str, where: Mapping[str, Any], columns: str = "*",
               order: str = "") -> list[dict[str, Any]]:
        """The rows matching ``where``: by primary key, from what this writer holds."""
        raw = self._raw_key(table, where)
        kinds = _kinds(self.projection.table(table))
        names = list(kinds) if columns.strip() == "*" else [c.strip() for c in columns.split(",")]
        if raw is None or not all(name in kinds for name in names):
            order_by = f" ORDER BY {order}" if order else ""
            tx = self.execute(f"SELECT {columns} FROM {self.table(table)} WHERE"
                              f" {_conditions(where)}{order_by}", list(where.values()))
            return _dicts(tx, kinds)
        key = self._identity(self.projection.table(table), raw)
        pending = self._rows.setdefault(table, {})
        found = self._row(table, key, pending, raw)
        if found is None:
            return []
        # (A column an insert left out is NULL, as the database would say.)
        return [{name: _as_read(self.dialect, kinds[name], found.seen.get(name))
                 for name in names}]

    def flush(self) -> None:
        """Send the pending writes to the database."""
        for table, pending in self._rows.items():
            physical = self.table(table)
            conds = _conditions(self.projection.table(table).primary_key)
            gone = [row.key for row in pending.values() if row.state in ("deleted", "replaced")]
            if gone:
                self._executemany(f"DELETE FROM {physical} WHERE {conds}", gone)
            inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for row in pending.values():
                if row.state in ("new", "replaced"):
                    inserts.setdefault(tuple(row.written), []).append(
                        tuple(row.written.values()))
                elif row.state in ("dirty", "blind"):
                    updates.setdefault(tuple(row.written), []).append(
                        (*row.written.values(), *row.key))
            for names, values in inserts.items():
                marks = ", ".join("?" for _ in names)
                self._executemany(
                    f"INSERT INTO {physical} ({', '.join(names)}) VALUES ({marks})", values)
            for names, values in updates.items():
                sets = ", ".join(f"{n} = ?" for n in names)
                self._executemany(f"UPDATE {physical} SET {sets} WHERE {conds}", values)
        self._rows.clear()

    def _executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        dialect = self.dialect
        ways = _BY_TYPE.setdefault(dialect, {})  # by the value's type: no key to make
        params = []
        for row in rows:
            values = []
            for v in row:
                kind = type(v)
                try:
                    convert = ways[kind]
                except KeyError:
                    convert = ways[kind] = _converter(dialect, kind)
                values.append(v if convert is None else convert(v))
            params.append(values)
        self.tx.executemany(statement, params)

    def _raw_key(self, table: str, where: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The primary key ``where`` names exactly, as given, or None (other columns)."""
        primary_key = self.projection.table(table).primary_key
        if len(where) != len(primary_key):
            return None
        if len(primary_key) == 1:
            value = where.get(primary_key[0], _NO_KEY)
            return None if value is _NO_KEY else (value,)
        try:
            return tuple([where[k] for k in primary_key])
        except KeyError:
            return None

    def _identity(self, spec: Table, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        """A row's key as this writer tells rows apart: equal keys given as different
        types (a UUID and its string) are one row, as in the database."""
        uuids = _uuid_columns(spec)
        if not uuids:
            return raw
        if len(raw) == 1 and type(raw[0]) is UUID:  # a goal's row, keyed as events give it
            return raw
        return tuple([_as_uuid(value) if i in uuids else value for i, value in enumerate(raw)])

    def _stored(self, table: str, raw: tuple[Any, ...]) -> bool:
        conds = _conditions(self.projection.table(table).primary_key)
        return self.tx.execute(f"SELECT 1 FROM {self.table(table)} WHERE {conds}",
                               [_to_sql(self.dialect, v) for v in raw]).fetchone() is not None

    def _row(self, table: str, key: tuple[Any, ...], pending: dict[tuple[Any, ...], _Row],
             raw: tuple[Any, ...]) -> _Row | None:
        """The row as this writer holds it, read from the database if need be; ``raw`` is
        its primary key as given, for the query."""
        found = pending.get(key)
        if found is not None and found.state != "blind":
            return None if found.state == "deleted" else found
        spec = self.projection.table(table)
        kinds = _kinds(spec)
        row = self.tx.execute(f"SELECT {', '.join(kinds)} FROM {self.table(table)}"
                              f" WHERE {_conditions(spec.primary_key)}",
                              [_to_sql(self.dialect, v) for v in raw]).fetchone()
        if row is None:
            pending.pop(key, None)  # an update of it, not yet sent, would change nothing
            return None
        seen = {name: _from_sql(self.dialect, kind, value)
                for (name, kind), value in zip(kinds.items(), row, strict=True)}
        seen.update(zip(spec.primary_key, raw, strict=True))  # keep the key's own types
        if found is None:
            pending[key] = found = _Row("clean", seen, {}, raw)
        else:  # updates made before the row was read go on top of it
            seen.update(found.written)
            found.state, found.seen = "dirty", seen
        return found


@functools.cache
def _kinds(spec: Table) -> dict[str, ColumnType]:
    """The table's columns and their kinds, in order (made once; not to be changed)."""
    return spec.column_types


@functools.cache
def _uuid_columns(spec: Table) -> frozenset[int]:
    """Which places of the table's primary key hold UUIDs."""
    kinds = _kinds(spec)
    return frozenset(i for i, name in enumerate(spec.primary_key) if kinds[name] == "uuid")


def _as_uuid(value: Any) -> Any:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return value  # not a UUID at all: the database will say so


_NO_KEY: Final = object()


def _conditions(columns: Iterable[str]) -> str:
    """``a = ? AND b = ?`` for the columns (or the keys of a mapping)."""
    return " AND ".join(f"{k} = ?" for k in columns)


@attrs.define
class _Row:
    """A row a Writer holds: what reads see, and what the flush will write."""

    # new: not in the database; replaced: deleted there, to be inserted again; clean: as
    # read; dirty: read, then changed; blind: changed without being read; deleted.
    state: Literal["new", "replaced", "clean", "dirty", "blind", "deleted"]
    seen: dict[str, Any]      # every column, as given (or as read); nothing when blind
    written: dict[str, Any]   # what to send: the whole row (new), or the changed columns
    key: tuple[Any, ...]      # the primary key as given, for the statements


def _as_read(dialect: str, kind: ColumnType, value: Any) -> Any:
    """A value held in memory as ``select`` returns it from the database."""
    if isinstance(value, Json):
        return as_json_read(value.value)  # as stored: plain JSON, whatever was given
    if kind == "timestamp" and isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if kind in ("date", "uuid") and value is not None and not isinstance(value, str):
        return str(value) if kind == "uuid" else value.isoformat()
    return _from_sql(dialect, kind, value) if kind in ("bool", "numeric") else value


class Reader:
    """Read access to projections' views, returning JSON-ready rows."""

    def __init__(self, tx: Tx, projection: TableSet, *, version: int | None = None) -> None:
        self.tx = tx
        self.dialect = tx.dialect
        self.projection = projection
        # The version of the projection that wrote the rows: on a store opened read-only,
        # an earlier one's (whose tables may lack a column added since).
        self.version: int = getattr(projection, "version", 1) if version is None else version

    def column(self, name: str, *, since: int) -> str:
        """SQL for a column added in version ``since`` of the projection: NULL in rows an
        earlier version wrote (a store opened read-only, not yet rebuilt)."""
        return name if self.version >= since else f"NULL AS {name}"

    def require(self, since: int, what: str) -> None:
        """Refuse ``what`` (a filter) on rows an earlier version than ``since`` wrote."""
        if self.version < since:
            raise ProjectionError(
                f"{what} needs the {self.projection.name} read model as goalflow now writes"
                f" it (version {since}; this store's is version {self.version}): open the"
                " store for writing once to rebuild it")

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT and decode its rows; ``{gf_name}`` stands for that table's view."""
        sql = statement
        for table in self.projection.tables:
            sql = sql.replace("{" + table.name + "}", self.tx.table(table.name))
        tx = self.tx.execute(sql, [_to_sql(self.dialect, p) for p in params])
        return _dicts(tx, self.projection.column_types)


    def day_in_zone(self, moment: str, zone: ZoneInfo) -> str:
        """SQL: the calendar date (a date on PostgreSQL, ISO text on SQLite) of the
        timestamp column or expression ``moment`` in ``zone``; NULL for NULL."""
        if self.dialect == "postgresql":
            # (An IANA key is letters, digits and ``/_+-``: safe as a literal.)
            return f"CAST(({moment}) AT TIME ZONE '{_zone_key(zone)}' AS date)"
        self.tx.cursor.connection.create_function(
            "gf_day_in_zone", 1, functools.partial(_day_in_zone, zone), deterministic=True)
        return f"gf_day_in_zone({moment})"

    def plus_days(self, day: str, days: int) -> str:
        """SQL: the date expression ``day`` plus a whole number of ``days``."""
        if self.dialect == "postgresql":
            return f"(({day}) + {int(days)})"
        return f"date({day}, '{int(days):+d} days')"

    def page(self, limit: int | None, offset: int) -> str:
        """SQL: ``LIMIT``/``OFFSET`` for at most ``limit`` rows (all when None) after the
        first ``offset``."""
        if limit is None and not offset:
            return ""
        if limit is None:  # SQLite takes OFFSET only after a LIMIT; -1 is none
            return f" LIMIT -1 OFFSET {int(offset)}" if self.dialect == "sqlite" \
                else f" OFFSET {int(offset)}"
        return f" LIMIT {int(limit)} OFFSET {int(offset)}"


def _zone_key(zone: ZoneInfo) -> str:
    key = zone.key
    if not key or not set(key) <= _ZONE_KEY_CHARACTERS:
        raise ProjectionError(f"time zone {key!r} is not an IANA name")
    return key


_ZONE_KEY_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-")


def _day_in_zone(zone: ZoneInfo, moment: str | None) -> str | None:
    return None if moment is None else \
        datetime.fromisoformat(moment).astimezone(zone).date().isoformat()


def _dicts(tx: Tx, kinds: Mapping[str, ColumnType]) -> list[dict[str, Any]]:
    rows = tx.fetchall()  # first: in a pipeline, the description comes with the rows
    names = [d[0] for d in tx.cursor.description]
    return [
        {name: _from_sql(tx.dialect, kinds.get(name), value)
         for name, value in zip(names, row, strict=True)}
        for row in rows
    ]
